/* Non-Gaussian data: the quartic double well p0 ~ exp(-(x^2 - 1)^2 / eps) (SPEC.md D), its
 * diffused score and derivatives by quadrature of the posterior, and its critical heat time. */
#include "status.h"

#include <math.h>
#include <stdlib.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* Quadrature grid: p0 is negligible beyond |x| = 1 + 6 sqrt(eps) + 3; trapezoid (spectrally
 * accurate for smooth integrands that vanish at the ends). */

static double log_p0(double x, double eps)
{
    double q = x * x - 1;
    return -q * q / eps;
}

/* Posterior moments at y: m = E[x], central moments V, k3, and the tau-derivative of m at fixed y,
 * dm/dtau = Cov(x, (x - y)^2) / (2 tau^2). Two passes: the mean first, then central sums (raw
 * moments would cancel when the posterior is narrow). */
static void posterior(double tau, double y, const double *xs, const double *lp0, int count, double *m, double *V,
                      double *k3, double *dm_dtau)
{
    double best = -INFINITY;
    for (int i = 0; i < count; i++) {
        double l = lp0[i] - (y - xs[i]) * (y - xs[i]) / (2 * tau);
        if (l > best) best = l;
    }
    double w0 = 0, w1 = 0;
    for (int i = 0; i < count; i++) {
        double w = exp(lp0[i] - (y - xs[i]) * (y - xs[i]) / (2 * tau) - best);
        w0 += w, w1 += w * xs[i];
    }
    double mean = w1 / w0, c2 = 0, c3 = 0, cq = 0;
    for (int i = 0; i < count; i++) {
        double w = exp(lp0[i] - (y - xs[i]) * (y - xs[i]) / (2 * tau) - best), e = xs[i] - mean;
        double q = (xs[i] - y) * (xs[i] - y);
        c2 += w * e * e, c3 += w * e * e * e, cq += w * e * q;
    }
    *m = mean;
    *V = c2 / w0;
    *k3 = c3 / w0;
    *dm_dtau = cq / w0 / (2 * tau * tau); /* Cov(x, q) = E[(x - m) q] */
}

/* Quadrature points: the trapezoid rule needs the spacing well below the narrowest scale of the
 * integrand, min(sqrt(eps), sqrt(tau)); p0 is negligible beyond |x| = 1 + 6 sqrt(eps) + 3. */
static int grid_points(double eps, double tau)
{
    double L = 1 + 6 * sqrt(eps) + 3, h = fmin(sqrt(eps), sqrt(tau)) / 16;
    double n = 2 * L / h + 1;
    return n > 20001 ? (n > 4000001 ? -1 : (int)n) : 20001;
}

static int grid(double eps, int count, double **xs, double **lp0)
{
    double L = 1 + 6 * sqrt(eps) + 3;
    *xs = malloc((size_t)count * sizeof(double));
    *lp0 = malloc((size_t)count * sizeof(double));
    if (!*xs || !*lp0) return 0;
    for (int i = 0; i < count; i++) {
        (*xs)[i] = -L + 2 * L * i / (count - 1);
        (*lp0)[i] = log_p0((*xs)[i], eps);
    }
    return 1;
}

sf_status sf_doublewell_field(double eps, double tau, const double *y, size_t n, double *u, double *u_y, double *u_yy,
                              double *u_tau)
{
    sf_error_clear();
    if (n > 0 && !y) return sf_fail(SF_ERR_INVALID, "sf_doublewell_field: y is NULL");
    if (!(eps > 0) || !(tau > 0)) return sf_fail(SF_ERR_INVALID, "double well: need eps > 0 and tau > 0 (got %g, %g)", eps, tau);
    int count = grid_points(eps, tau);
    if (count < 0) return sf_fail(SF_ERR_INVALID, "double well: eps = %g, tau = %g need more than 4e6 quadrature points", eps, tau);
    double *xs, *lp0;
    if (!grid(eps, count, &xs, &lp0)) {
        free(xs), free(lp0);
        return sf_fail(SF_ERR_NOMEM, "out of memory");
    }
#pragma omp parallel for schedule(static) if (n > 64)
    for (size_t i = 0; i < n; i++) {
        double m, V, k3, dm;
        posterior(tau, y[i], xs, lp0, count, &m, &V, &k3, &dm);
        if (u) u[i] = (m - y[i]) / tau;
        if (u_y) u_y[i] = (V - tau) / (tau * tau);
        if (u_yy) u_yy[i] = k3 / (tau * tau * tau);
        if (u_tau) u_tau[i] = dm / tau - (m - y[i]) / (tau * tau);
    }
    free(xs), free(lp0);
    return SF_OK;
}

sf_status sf_doublewell_tau_c(double eps, double *tau_c, double *surrogate)
{
    sf_error_clear();
    if (!tau_c) return sf_fail(SF_ERR_INVALID, "sf_doublewell_tau_c: tau_c is NULL");
    if (!(eps > 0)) return sf_fail(SF_ERR_INVALID, "double well: need eps > 0 (got %g)", eps);
    /* the grid for the narrowest posterior the bisection visits (tau down to 1e-6) */
    int count = grid_points(eps, fmax(1e-6, fmin(eps, 1.0)));
    if (count < 0) return sf_fail(SF_ERR_INVALID, "double well: eps = %g needs more than 4e6 quadrature points", eps);
    double *xs, *lp0;
    if (!grid(eps, count, &xs, &lp0)) {
        free(xs), free(lp0);
        return sf_fail(SF_ERR_NOMEM, "out of memory");
    }
    /* E[x^2 | y = 0; tau] - tau: positive for small tau (bimodal posterior at +-1), negative for large */
    double lo = 1e-6, hi = 10, m, V, k3, dm, y0 = 0;
    posterior(hi, y0, xs, lp0, count, &m, &V, &k3, &dm);
    sf_status st = SF_OK;
    if (!(V < hi)) st = sf_fail(SF_ERR_NUMERIC, "double well: no critical time below tau = %g", hi);
    for (int it = 0; st == SF_OK && it < 200 && hi - lo > 1e-14 * hi; it++) {
        double mid = 0.5 * (lo + hi);
        posterior(mid, y0, xs, lp0, count, &m, &V, &k3, &dm);
        if (V + m * m > mid) lo = mid;
        else hi = mid;
    }
    if (st == SF_OK) *tau_c = 0.5 * (lo + hi);
    if (st == SF_OK && surrogate) { /* moments of p0 itself */
        double best = -INFINITY, w0 = 0, a1 = 0, a2 = 0;
        for (int i = 0; i < count; i++) best = fmax(best, lp0[i]);
        for (int i = 0; i < count; i++) {
            double w = exp(lp0[i] - best);
            w0 += w, a1 += w * fabs(xs[i]), a2 += w * xs[i] * xs[i];
        }
        double a_eff = a1 / w0, s_eff2 = a2 / w0 - a_eff * a_eff;
        *surrogate = a_eff * a_eff - s_eff2;
    }
    free(xs), free(lp0);
    return st;
}

/* ---------------------------------------------------------------- the radial well (a ring) in 2-D */

/* Polar quadrature nodes for the ring at heat time tau: radii to 1 + 6 sqrt(eps) + 3, spacings
 * below the narrowest scales (sqrt(eps) radially, sqrt(tau) along arcs of radius up to R). */
typedef struct {
    int nr, nt;
    double R, dr, dt;
} polar;

static polar polar_grid(double eps, double tau)
{
    polar g;
    g.R = 1 + 6 * sqrt(eps) + 3;
    double h = fmin(sqrt(eps), sqrt(tau)) / 12;
    g.nr = (int)ceil(g.R / h) + 1;
    g.nt = (int)ceil(2 * M_PI * g.R / h);
    if (g.nt > 8192) g.nt = 8192;
    if (g.nr < 64) g.nr = 64;
    if (g.nt < 64) g.nt = 64;
    g.dr = g.R / (g.nr - 1), g.dt = 2 * M_PI / g.nt;
    return g;
}

/* Posterior moments at y: mean m (2), covariance C (3: xx, xy, yy), third central moments
 * k3 = (k_xxx, k_xxy, k_xyy, k_yyy) and dm/dtau = Cov(x, |x - y|^2) / (2 tau^2). Two passes. */
static void ring_posterior(double eps, double tau, const polar *g, const double y[2], double m[2], double C[3],
                           double k3[4], double dm[2])
{
    double best = -INFINITY;
    for (int pass = 0; pass < 3; pass++) {
        double w0 = 0, s1 = 0, s2 = 0, cxx = 0, cxy = 0, cyy = 0, kxxx = 0, kxxy = 0, kxyy = 0, kyyy = 0, qx = 0, qy = 0;
        for (int i = 0; i < g->nr; i++) {
            /* trapezoid in r on r F(r): r = 0 gets the Euler-Maclaurin end correction dr/12 (the
             * integrand r F has slope F(0) there), which makes the rule fourth order */
            double r = i * g->dr, q = r * r - 1, lr = -q * q / eps;
            double wr = i == 0 ? g->dr / 12 : i == g->nr - 1 ? 0.5 * r : r;
            for (int j = 0; j < g->nt; j++) {
                double x1 = r * cos(j * g->dt), x2 = r * sin(j * g->dt);
                double d1 = x1 - y[0], d2 = x2 - y[1], l = lr - (d1 * d1 + d2 * d2) / (2 * tau);
                if (pass == 0) {
                    if (l > best) best = l;
                    continue;
                }
                double w = wr * exp(l - best);
                if (pass == 1) {
                    w0 += w, s1 += w * x1, s2 += w * x2;
                } else {
                    double e1 = x1 - m[0], e2 = x2 - m[1], qq = d1 * d1 + d2 * d2;
                    w0 += w;
                    cxx += w * e1 * e1, cxy += w * e1 * e2, cyy += w * e2 * e2;
                    kxxx += w * e1 * e1 * e1, kxxy += w * e1 * e1 * e2, kxyy += w * e1 * e2 * e2, kyyy += w * e2 * e2 * e2;
                    qx += w * e1 * qq, qy += w * e2 * qq;
                }
            }
        }
        if (pass == 1) m[0] = s1 / w0, m[1] = s2 / w0;
        if (pass == 2) {
            C[0] = cxx / w0, C[1] = cxy / w0, C[2] = cyy / w0;
            k3[0] = kxxx / w0, k3[1] = kxxy / w0, k3[2] = kxyy / w0, k3[3] = kyyy / w0;
            dm[0] = qx / w0 / (2 * tau * tau), dm[1] = qy / w0 / (2 * tau * tau);
        }
    }
}

sf_status sf_ringwell_field(double eps, double tau, const double *y, size_t n, double *u, double *jacobian, double *lap,
                            double *u_tau)
{
    sf_error_clear();
    if (n > 0 && !y) return sf_fail(SF_ERR_INVALID, "sf_ringwell_field: y is NULL");
    sf_status sized = sf_check_doubles(__func__, n, 4); /* the Jacobian: n x 4 */
    if (sized != SF_OK) return sized;
    if (!(eps > 0) || !(tau > 0)) return sf_fail(SF_ERR_INVALID, "ring well: need eps > 0 and tau > 0 (got %g, %g)", eps, tau);
    polar g = polar_grid(eps, tau);
    if ((double)g.nr * g.nt > 4e7)
        return sf_fail(SF_ERR_INVALID, "ring well: eps = %g, tau = %g need too fine a quadrature", eps, tau);
#pragma omp parallel for schedule(dynamic, 1) if (n > 1)
    for (size_t i = 0; i < n; i++) {
        double m[2], C[3], k3[4], dm[2];
        ring_posterior(eps, tau, &g, y + 2 * i, m, C, k3, dm);
        for (int a = 0; a < 2; a++) {
            if (u) u[2 * i + a] = (m[a] - y[2 * i + a]) / tau;
            if (u_tau) u_tau[2 * i + a] = dm[a] / tau - (m[a] - y[2 * i + a]) / (tau * tau);
        }
        if (jacobian) {
            double *J = jacobian + 4 * i;
            J[0] = (C[0] - tau) / (tau * tau), J[1] = J[2] = C[1] / (tau * tau), J[3] = (C[2] - tau) / (tau * tau);
        }
        if (lap) { /* (Lap u)_1 = (k_xxx + k_xyy)/tau^3, (Lap u)_2 = (k_xxy + k_yyy)/tau^3 */
            lap[2 * i] = (k3[0] + k3[2]) / (tau * tau * tau);
            lap[2 * i + 1] = (k3[1] + k3[3]) / (tau * tau * tau);
        }
    }
    return SF_OK;
}

sf_status sf_ringwell_tau_c(double eps, double *tau_c)
{
    sf_error_clear();
    if (!tau_c) return sf_fail(SF_ERR_INVALID, "sf_ringwell_tau_c: tau_c is NULL");
    if (!(eps > 0)) return sf_fail(SF_ERR_INVALID, "ring well: need eps > 0 (got %g)", eps);
    /* at y = 0, E[|x|^2] - 2 tau: positive while the posterior sits on the ring, negative once the
     * Gaussian factor pulls it to the centre */
    double lo = 1e-3, hi = 20, y0[2] = {0, 0};
    for (int it = 0; it < 80 && hi - lo > 1e-12 * hi; it++) {
        double mid = 0.5 * (lo + hi), m[2], C[3], k3[4], dm[2];
        polar g = polar_grid(eps, mid);
        ring_posterior(eps, mid, &g, y0, m, C, k3, dm);
        double second = C[0] + C[2] + m[0] * m[0] + m[1] * m[1];
        if (second > 2 * mid) lo = mid;
        else hi = mid;
    }
    *tau_c = 0.5 * (lo + hi);
    return SF_OK;
}
