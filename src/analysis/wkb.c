/* The first-order WKB coefficient of the h-family for an affine score model of Gaussian data
 * (docs/analyses.md, "The path-integral view"). With data N(mu, diag(c)) and s_theta = scale * s + shift, every coordinate is an
 * independent linear problem: in coordinate i, with V = alpha^2 c_i + sigma^2,
 *   s_theta(y) = -scale (y - alpha mu_i) / V + shift_i,
 *   drift of the h-sampler b_h(y) = f y - (1 + h^2) g^2 s_theta(y) / 2 = a_h y + k_h,
 *   its marginals q^h_t = N(m_h, S_h) with, in t,  dm/dt = a_h m + k_h,  dS/dt = 2 a_h S - h^2 g^2,
 * started from the exact p_t1 = N(alpha_t1 mu_i, V_t1) at t1 and run down to t0. */
#include "mixture.h"
#include "numerics.h"
#include "status.h"

#include <limits.h>
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
    if (!(*V > 0)) return sfi_fail(SF_ERR_INVALID, "the data variance at t = %g is zero: the model score is singular", t);
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

typedef struct {
    const coordinate *q;
    double h;
} moment_problem;

static sf_status moments_ode(void *data, double t, const double *y, double *dy)
{
    const moment_problem *p = data;
    return moments_rate(p->q, t, p->h, y, dy);
}

/* m_h, S_h at the 2 steps + 1 half-step nodes t_j = t0 + j (t1 - t0) / (2 steps), by RK4 backward
 * from t1 (the probability-flow pass of l_1 needs them at RK4 midpoints). */
static sf_status moments(const coordinate *q, double t0, double t1, double h, int steps, double *m, double *S)
{
    int nodes = 2 * steps;
    sf_time end;
    sf_status st = sf_schedule_at(q->sched, t1, &end);
    if (st != SF_OK) return st;
    double y[2] = {end.alpha * q->mu, end.alpha * end.alpha * q->c + end.sigma2};
    double *path = malloc(2 * ((size_t)nodes + 1) * sizeof(double));
    if (!path) return sfi_fail(SF_ERR_NOMEM, "out of memory for %d WKB steps", steps);
    moment_problem p = {q, h};
    st = sfi_rk4(moments_ode, &p, 2, t1, t0, nodes, y, path);
    for (int s = 0; st == SF_OK && s <= nodes; s++) /* the path runs from t1: node j = nodes - s */
        m[nodes - s] = path[2 * s], S[nodes - s] = path[2 * s + 1];
    free(path);
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

/* The l_1 pass along the model's probability-flow trajectory forward from t0: state (y, l), the
 * q^0 moments looked up at the RK4 stage times, which fall on the half-step nodes. */
typedef struct {
    const coordinate *q;
    const double *m, *S;
    double t0, half; /* node spacing */
} l1_problem;

static sf_status l1_ode(void *data, double t, const double *z, double *dz)
{
    const l1_problem *p = data;
    long j = lround((t - p->t0) / p->half);
    return trajectory_rate(p->q, t, p->m[j], p->S[j], z, dz);
}

sf_status sf_wkb_gaussian(const sf_mixture *mix, const sf_schedule *sched, double t0, double t1, double scale,
                          const double *shift, double h, const double *x, size_t n, int steps, double *ell1,
                          double *log_q)
{
    sfi_error_clear();
    if (!mix || !sched || (n > 0 && !x))
        return sfi_fail(SF_ERR_INVALID, "sf_wkb_gaussian: mix, schedule and x must not be NULL");
    if (steps > INT_MAX / 2 - 1) return sfi_fail(SF_ERR_INVALID, "sf_wkb_gaussian: %d steps are too many", steps);
    sf_status sized = sfi_check_doubles(__func__, n, (size_t)mix->dim);
    if (sized == SF_OK && steps > 0) sized = sfi_check_doubles(__func__, 2 * (size_t)steps + 1, (size_t)mix->dim);
    if (sized != SF_OK) return sized;
    if (mix->count != 1 || mix->rank_offset[1] != 0)
        return sfi_fail(SF_ERR_INVALID, "the WKB coefficient is computed for Gaussian data: a mixture of one isotropic or "
                                       "diagonal component (this one has %d component%s%s)",
                       mix->count, mix->count == 1 ? "" : "s", mix->count == 1 ? ", low-rank" : "");
    if (sched->kind == SF_SCHEDULE_DIRECT) return sfi_fail(SF_ERR_INVALID, "the WKB coefficient needs a schedule");
    if (!(t1 > t0) || steps < 1 || !isfinite(scale) || !(h >= 0))
        return sfi_fail(SF_ERR_INVALID, "WKB needs t1 > t0, steps >= 1, a finite scale and h >= 0");
    sf_time at0;
    sf_status chk = sf_schedule_at(sched, t0, &at0);
    if (chk == SF_OK) chk = sf_mixture_check_time(mix, &at0); /* a point mass at sigma = 0 has no density */
    if (chk != SF_OK) return chk;
    int d = mix->dim, nodes = 2 * steps;
    double *m0 = malloc((size_t)(nodes + 1) * d * sizeof(double)), *S0 = malloc((size_t)(nodes + 1) * d * sizeof(double));
    double *mh = malloc((size_t)(nodes + 1) * sizeof(double)), *Sh = malloc((size_t)(nodes + 1) * sizeof(double));
    sf_status st = m0 && S0 && mh && Sh ? SF_OK : sfi_fail(SF_ERR_NOMEM, "out of memory for %d WKB steps", steps);
    coordinate *qs = malloc((size_t)d * sizeof(coordinate));
    if (!qs) st = sfi_fail(SF_ERR_NOMEM, "out of memory");
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
    for (size_t p = 0; st == SF_OK && ell1 && p < n; p++) {
        double total = 0;
        for (int i = 0; st == SF_OK && i < d; i++) {
            l1_problem prob = {&qs[i], m0 + (size_t)i * (nodes + 1), S0 + (size_t)i * (nodes + 1), t0, 0.5 * (t1 - t0) / steps};
            double z[2] = {x[p * d + i], 0};
            st = sfi_rk4(l1_ode, &prob, 2, t0, t1, steps, z, NULL);
            total += z[1];
        }
        ell1[p] = total;
    }
    free(m0), free(S0), free(mh), free(Sh), free(qs);
    return st;
}

sf_status sf_wkb_curve(const sf_mixture *mix, const sf_schedule *schedule, double t0, double t1, double scale,
                       const double *shift, const double *x, const double *h, int nh, int steps, double *log_q,
                       double *log_q_wkb, double *l1, double *log_q0)
{
    sfi_error_clear();
    if (nh < 0 || (nh > 0 && (!h || !log_q || !log_q_wkb)))
        return sfi_fail(SF_ERR_INVALID, "sf_wkb_curve: h, log_q and log_q_wkb must not be NULL, nh >= 0");
    double ell = NAN, q0 = NAN;
    sf_status st = sf_wkb_gaussian(mix, schedule, t0, t1, scale, shift, 0.0, x, 1, steps, &ell, &q0);
    for (int i = 0; st == SF_OK && i < nh; i++) {
        st = sf_wkb_gaussian(mix, schedule, t0, t1, scale, shift, h[i], x, 1, steps, NULL, &log_q[i]);
        log_q_wkb[i] = q0 + h[i] * h[i] * ell;
    }
    if (st == SF_OK && l1) *l1 = ell;
    if (st == SF_OK && log_q0) *log_q0 = q0;
    return st;
}
