/* The first-order WKB coefficient of the h-family for an affine score model of Gaussian data
 * (SPEC.md F). With data N(mu, diag(c)) and s_theta = scale * s + shift, every coordinate is an
 * independent linear problem: in coordinate i, with V = alpha^2 c_i + sigma^2,
 *   s_theta(y) = -scale (y - alpha mu_i) / V + shift_i,
 *   drift of the h-sampler b_h(y) = f y - (1 + h^2) g^2 s_theta(y) / 2 = a_h y + k_h,
 *   its marginals q^h_t = N(m_h, S_h) with, in t,  dm/dt = a_h m + k_h,  dS/dt = 2 a_h S - h^2 g^2,
 * started from the exact p_t1 = N(alpha_t1 mu_i, V_t1) at t1 and run down to t0. */
#include "mixture.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

typedef struct {
    const sf_schedule *sched;
    double c, mu, scale, shift;
} coordinate;

/* a_h and k_h of coordinate problem `q` at time t (the data frame of the schedule) */
static sf_status drift(const coordinate *q, double t, double h, double *a, double *k, double *g2, double *V,
                       double *alpha)
{
    sf_time tm;
    *a = *k = *g2 = *V = *alpha = 0;
    sf_status st = sf_schedule_at(q->sched, t, &tm);
    if (st != SF_OK) return st;
    *V = tm.alpha * tm.alpha * q->c + tm.sigma2;
    if (!(*V > 0)) return sf_fail(SF_ERR_INVALID, "the data variance at t = %g is zero: the model score is singular", t);
    double w = 0.5 * (1 + h * h) * tm.g2;
    *a = tm.f + w * q->scale / *V;
    *k = -w * (q->scale * tm.alpha * q->mu / *V + q->shift);
    *g2 = tm.g2, *alpha = tm.alpha;
    return SF_OK;
}

/* (m, S)' in t for the h-marginals */
static sf_status moments_rate(const coordinate *q, double t, double h, const double y[2], double dy[2])
{
    double a, k, g2, V, alpha;
    sf_status st = drift(q, t, h, &a, &k, &g2, &V, &alpha);
    dy[0] = a * y[0] + k;
    dy[1] = 2 * a * y[1] - h * h * g2;
    return st;
}

/* m_h, S_h at the 2 steps + 1 half-step nodes t_j = t0 + j (t1 - t0) / (2 steps), by RK4 backward
 * from t1 (the probability-flow pass of l_1 needs them at RK4 midpoints). */
static sf_status moments(const coordinate *q, double t0, double t1, double h, int steps, double *m, double *S)
{
    int nodes = 2 * steps;
    double dt = (t1 - t0) / nodes;
    sf_time end;
    sf_status st = sf_schedule_at(q->sched, t1, &end);
    if (st != SF_OK) return st;
    m[nodes] = end.alpha * q->mu;
    S[nodes] = end.alpha * end.alpha * q->c + end.sigma2;
    for (int j = nodes; st == SF_OK && j > 0; j--) {
        /* t1 itself at the last node: t0 + nodes dt may round past the end of the schedule (t = 1) */
        double t = j == nodes ? t1 : t0 + j * dt, y[2] = {m[j], S[j]}, k1[2] = {0}, k2[2] = {0}, k3[2] = {0},
               k4[2] = {0}, tmp[2];
        st = moments_rate(q, t, h, y, k1);
        for (int e = 0; e < 2; e++) tmp[e] = y[e] - 0.5 * dt * k1[e];
        if (st == SF_OK) st = moments_rate(q, t - 0.5 * dt, h, tmp, k2);
        for (int e = 0; e < 2; e++) tmp[e] = y[e] - 0.5 * dt * k2[e];
        if (st == SF_OK) st = moments_rate(q, t - 0.5 * dt, h, tmp, k3);
        for (int e = 0; e < 2; e++) tmp[e] = y[e] - dt * k3[e];
        if (st == SF_OK) st = moments_rate(q, t - dt, h, tmp, k4);
        m[j - 1] = y[0] - dt / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]);
        S[j - 1] = y[1] - dt / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]);
    }
    return st;
}

/* (y, l)' at node j: the probability-flow trajectory and the l_1 integrand -g^2 [div d + d . grad log q0] / 2 */
static sf_status trajectory_rate(const coordinate *q, double t, double m0, double S0, const double z[2], double dz[2])
{
    double a, k, g2, V, alpha;
    sf_status st = drift(q, t, 0.0, &a, &k, &g2, &V, &alpha);
    double y = z[0], s_model = -q->scale * (y - alpha * q->mu) / V + q->shift, s_q0 = -(y - m0) / S0;
    double delta = s_model - s_q0, div_delta = -q->scale / V + 1.0 / S0;
    dz[0] = a * y + k;
    dz[1] = -0.5 * g2 * (div_delta + delta * s_q0);
    return st;
}

sf_status sf_wkb_gaussian(const sf_mixture *mix, const sf_schedule *sched, double t0, double t1, double scale,
                          const double *shift, double h, const double *x, size_t n, int steps, double *ell1,
                          double *log_q)
{
    sf_error_clear();
    if (mix->count != 1 || mix->rank_offset[1] != 0)
        return sf_fail(SF_ERR_INVALID, "the WKB coefficient is computed for Gaussian data: a mixture of one isotropic or "
                                       "diagonal component (this one has %d component%s%s)",
                       mix->count, mix->count == 1 ? "" : "s", mix->count == 1 ? ", low-rank" : "");
    if (sched->kind == SF_SCHEDULE_DIRECT) return sf_fail(SF_ERR_INVALID, "the WKB coefficient needs a schedule");
    if (!(t1 > t0) || steps < 1 || !isfinite(scale) || !(h >= 0))
        return sf_fail(SF_ERR_INVALID, "WKB needs t1 > t0, steps >= 1, a finite scale and h >= 0");
    sf_time at0;
    sf_status chk = sf_schedule_at(sched, t0, &at0);
    if (chk == SF_OK) chk = sf_mixture_check_time(mix, &at0); /* a point mass at sigma = 0 has no density */
    if (chk != SF_OK) return chk;
    int d = mix->dim, nodes = 2 * steps;
    double *m0 = malloc((size_t)(nodes + 1) * d * sizeof(double)), *S0 = malloc((size_t)(nodes + 1) * d * sizeof(double));
    double *mh = malloc((size_t)(nodes + 1) * sizeof(double)), *Sh = malloc((size_t)(nodes + 1) * sizeof(double));
    sf_status st = m0 && S0 && mh && Sh ? SF_OK : sf_fail(SF_ERR_NOMEM, "out of memory for %d WKB steps", steps);
    coordinate *qs = malloc((size_t)d * sizeof(coordinate));
    if (!qs) st = sf_fail(SF_ERR_NOMEM, "out of memory");
    for (int i = 0; st == SF_OK && i < d; i++) {
        qs[i] = (coordinate){sched, mix->var_diag[i], mix->mean[i], scale, shift ? shift[i] : 0.0};
        st = moments(&qs[i], t0, t1, 0.0, steps, m0 + (size_t)i * (nodes + 1), S0 + (size_t)i * (nodes + 1));
    }
    if (st == SF_OK && log_q) memset(log_q, 0, n * sizeof(double));
    for (int i = 0; st == SF_OK && log_q && i < d; i++) { /* log q^h_t0(x) = sum_i log N(x_i; m_h, S_h) */
        st = moments(&qs[i], t0, t1, h, steps, mh, Sh);
        for (size_t p = 0; st == SF_OK && p < n; p++) {
            double e = x[p * d + i] - mh[0];
            log_q[p] += -0.5 * log(2 * M_PI * Sh[0]) - 0.5 * e * e / Sh[0];
        }
    }
    double dt = (t1 - t0) / steps;
    for (size_t p = 0; st == SF_OK && ell1 && p < n; p++) {
        double total = 0;
        for (int i = 0; st == SF_OK && i < d; i++) {
            const double *m = m0 + (size_t)i * (nodes + 1), *S = S0 + (size_t)i * (nodes + 1);
            double z[2] = {x[p * d + i], 0}, k1[2] = {0}, k2[2] = {0}, k3[2] = {0}, k4[2] = {0}, tmp[2];
            for (int j = 0; st == SF_OK && j < steps; j++) { /* RK4 forward; node 2j is t, 2j+1 the midpoint */
                double t = t0 + j * dt;
                st = trajectory_rate(&qs[i], t, m[2 * j], S[2 * j], z, k1);
                for (int e = 0; e < 2; e++) tmp[e] = z[e] + 0.5 * dt * k1[e];
                if (st == SF_OK) st = trajectory_rate(&qs[i], t + 0.5 * dt, m[2 * j + 1], S[2 * j + 1], tmp, k2);
                for (int e = 0; e < 2; e++) tmp[e] = z[e] + 0.5 * dt * k2[e];
                if (st == SF_OK) st = trajectory_rate(&qs[i], t + 0.5 * dt, m[2 * j + 1], S[2 * j + 1], tmp, k3);
                for (int e = 0; e < 2; e++) tmp[e] = z[e] + dt * k3[e];
                double next = j + 1 == steps ? t1 : t + dt; /* never rounded past t1 */
                if (st == SF_OK) st = trajectory_rate(&qs[i], next, m[2 * j + 2], S[2 * j + 2], tmp, k4);
                for (int e = 0; e < 2; e++) z[e] += dt / 6 * (k1[e] + 2 * k2[e] + 2 * k3[e] + k4[e]);
            }
            total += z[1];
        }
        ell1[p] = total;
    }
    free(m0), free(S0), free(mh), free(Sh), free(qs);
    return st;
}
