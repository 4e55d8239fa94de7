/* Non-Gaussian data: the quartic double well p0 ~ exp(-(x^2 - 1)^2 / eps) (SPEC.md D), its
 * diffused score and derivatives by quadrature of the posterior, and its critical heat time. */
#include "status.h"

#include <math.h>
#include <stdlib.h>

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
