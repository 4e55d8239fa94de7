/* Non-Gaussian data (docs/analyses.md, "The quartic double well"): p0 ~ exp(-(x^2 - 1)^2 / eps),
 * its diffused score and derivatives by quadrature of the posterior, its critical heat time, the
 * moment surrogate and layer width, the Burgers residual; and the radial well (a ring) in 2-D. */
#include "abi.h"
#include "numerics.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The points' distinct values, sorted (a product of wells repeats each coordinate value along a
 * grid: the quadrature is done once per value). Returns the count, 0 when out of memory. */
static size_t distinct_values(const double *y, size_t n, double **values)
{
    *values = malloc(n * sizeof(double) + 1);
    if (!*values) return 0;
    memcpy(*values, y, n * sizeof(double));
    qsort(*values, n, sizeof(double), compare_doubles);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || (*values)[i] != (*values)[m - 1]) (*values)[m++] = (*values)[i];
    return m;
}

sf_status sf_doublewell_field(double eps, double tau, const double *y, size_t n, double *u, double *u_y, double *u_yy,
                              double *u_tau)
{
    sfi_error_clear();
    if (n > 0 && !y) return sfi_fail(SF_ERR_INVALID, "sf_doublewell_field: y is NULL");
    if (!(eps > 0) || !(tau > 0)) return sfi_fail(SF_ERR_INVALID, "double well: need eps > 0 and tau > 0 (got %g, %g)", eps, tau);
    int count = grid_points(eps, tau);
    if (count < 0) return sfi_fail(SF_ERR_INVALID, "double well: eps = %g, tau = %g need more than 4e6 quadrature points", eps, tau);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(y[i])) return sfi_fail(SF_ERR_INVALID, "double well: point %zu is not finite (%g)", i, y[i]);
    double *xs, *lp0, *values = NULL, *f = NULL;
    size_t m = n ? distinct_values(y, n, &values) : 0;
    if (!grid(eps, count, &xs, &lp0) || (n && !m) || !(f = malloc(4 * m * sizeof(double) + 1))) {
        free(xs), free(lp0), free(values), free(f);
        return sfi_fail(SF_ERR_NOMEM, "out of memory");
    }
#pragma omp parallel for schedule(static) if (m > 64)
    for (size_t i = 0; i < m; i++) {
        double mean, V, k3, dm, v = values[i];
        posterior(tau, v, xs, lp0, count, &mean, &V, &k3, &dm);
        f[4 * i] = (mean - v) / tau, f[4 * i + 1] = (V - tau) / (tau * tau), f[4 * i + 2] = k3 / (tau * tau * tau);
        f[4 * i + 3] = dm / tau - (mean - v) / (tau * tau);
    }
    for (size_t i = 0; i < n; i++) {
        const double *at = bsearch(&y[i], values, m, sizeof(double), compare_doubles), *fi = f + 4 * (size_t)(at - values);
        if (u) u[i] = fi[0];
        if (u_y) u_y[i] = fi[1];
        if (u_yy) u_yy[i] = fi[2];
        if (u_tau) u_tau[i] = fi[3];
    }
    free(xs), free(lp0), free(values), free(f);
    return SF_OK;
}

/* E[x^2 | y = 0; tau] - tau: positive for small tau (the posterior sits at +-1), negative for large */
typedef struct {
    const double *xs, *lp0;
    int count;
} well_grid;

static sf_status midpoint_excess(void *data, double tau, double *value)
{
    const well_grid *g = data;
    double m, V, k3, dm;
    posterior(tau, 0, g->xs, g->lp0, g->count, &m, &V, &k3, &dm);
    *value = V + m * m - tau;
    return SF_OK;
}

/* Moments of x^0, |x|, x^2 under p0(x) exp(-x^2 / (2 tau)) (tau = INFINITY: p0 itself), by
 * composite Gauss-Legendre on [0, L]: the density is even, and on the half line |x| = x is smooth,
 * so the kink that limits a rule across x = 0 is avoided. */
static void half_line_moments(double eps, double tau, double *eabs, double *ex2)
{
    double L = 1 + 6 * sqrt(eps) + 3, width = 0.25 * fmin(sqrt(eps), sqrt(tau));
    int panels = (int)ceil(L / width);
    if (panels > 100000) panels = 100000;
    double *x = malloc((size_t)panels * SF_GL_POINTS * sizeof(double)), *w = malloc((size_t)panels * SF_GL_POINTS * sizeof(double));
    double best = -INFINITY, s0 = 0, s1 = 0, s2 = 0;
    if (x && w) {
        sfi_gauss_legendre(0, L, panels, x, w);
        for (int i = 0; i < panels * SF_GL_POINTS; i++) best = fmax(best, log_p0(x[i], eps) - x[i] * x[i] / (2 * tau));
        for (int i = 0; i < panels * SF_GL_POINTS; i++) {
            double p = w[i] * exp(log_p0(x[i], eps) - x[i] * x[i] / (2 * tau) - best);
            s0 += p, s1 += p * x[i], s2 += p * x[i] * x[i];
        }
    }
    *eabs = x && w ? s1 / s0 : NAN;
    if (ex2) *ex2 = x && w ? s2 / s0 : NAN;
    free(x), free(w);
}

sf_status sf_doublewell_tau_c(double eps, double *tau_c, double *surrogate)
{
    sfi_error_clear();
    if (!tau_c) return sfi_fail(SF_ERR_INVALID, "sf_doublewell_tau_c: tau_c is NULL");
    if (!(eps > 0) || !isfinite(eps)) return sfi_fail(SF_ERR_INVALID, "double well: need eps > 0 (got %g)", eps);
    /* the grid for the narrowest posterior the bisection visits (tau down to 1e-6) */
    int count = grid_points(eps, fmax(1e-6, fmin(eps, 1.0)));
    if (count < 0) return sfi_fail(SF_ERR_INVALID, "double well: eps = %g needs more than 4e6 quadrature points", eps);
    double *xs, *lp0;
    if (!grid(eps, count, &xs, &lp0)) {
        free(xs), free(lp0);
        return sfi_fail(SF_ERR_NOMEM, "out of memory");
    }
    well_grid g = {xs, lp0, count};
    double hi = 10, excess;
    midpoint_excess(&g, hi, &excess);
    sf_status st = excess < 0 ? SF_OK : sfi_fail(SF_ERR_NUMERIC, "double well: no critical time below tau = %g", hi);
    if (st == SF_OK) st = sfi_bisect(midpoint_excess, &g, 1e-6, hi, 1e-14 * hi, "the double well's critical time", tau_c);
    if (st == SF_OK && surrogate) {
        double a_eff, ex2;
        half_line_moments(eps, INFINITY, &a_eff, &ex2);
        *surrogate = a_eff * a_eff - (ex2 - a_eff * a_eff);
    }
    free(xs), free(lp0);
    return st;
}

static sf_status doublewell_summarize_into(double eps, sf_doublewell_summary *out)
{
    if (!out) return sfi_fail(SF_ERR_INVALID, "sf_doublewell_summarize: out is NULL");
    sf_status st = sf_doublewell_tau_c(eps, &out->tau_c, &out->surrogate_tau_c);
    if (st != SF_OK) return st;
    double cond_abs;
    half_line_moments(eps, INFINITY, &out->eabs, &out->ex2);
    half_line_moments(eps, out->tau_c, &cond_abs, NULL); /* E[|x| | y = 0; tau_c] */
    out->a_eff = out->eabs, out->s_eff2 = out->ex2 - out->eabs * out->eabs;
    /* phi = log(q_+/q_-) is odd, so phi'(0) = 2 u_+(0) = 2 E[|x| | y = 0] / tau */
    out->width = out->tau_c / cond_abs;
    out->surrogate_width = (out->s_eff2 + out->tau_c) / out->a_eff;
    out->surrogate_tau_error = (out->surrogate_tau_c - out->tau_c) / out->tau_c;
    out->surrogate_width_error = (out->surrogate_width - out->width) / out->width;
    enum { NP = 241 };
    double r[NP], u[NP];
    for (int q = 0; q < NP; q++) r[q] = -3 + 6.0 * q / (NP - 1);
    st = sf_doublewell_field(eps, out->tau_c, r, NP, u, NULL, NULL, NULL);
    if (st == SF_OK) st = sf_fit_tanh_layer(r, u, NP, 1e-3, 30, &out->fitted_width, NULL, NULL);
    return st;
}

/* max |R| / max(|d_tau u|, |Lap u| / 2, |(u.grad) u|) over one time's points, per coordinate
 * value array of the 1-D well (the product's components are 1-D wells in each coordinate) */
sf_status sf_doublewell_burgers_residual(double eps, int dim, const double *tau, int ntau, const double *y, size_t n,
                                         double *worst)
{
    sfi_error_clear();
    if (!worst || ntau < 0 || (ntau > 0 && !tau) || (n > 0 && !y))
        return sfi_fail(SF_ERR_INVALID, "sf_doublewell_burgers_residual: tau, y and worst must not be NULL, ntau >= 0");
    sf_status sized = sfi_check_doubles(__func__, n, 8); /* four fields of up to 2 coordinates per point */
    if (sized != SF_OK) return sized;
    if (dim != 1 && dim != 2) return sfi_fail(SF_ERR_INVALID, "double well: dim must be 1 or 2 (got %d)", dim);
    size_t m = n * (size_t)dim; /* u_i depends on y_i alone: d_j u_i = 0 for j != i */
    double *f = malloc(4 * m * sizeof(double) + 1);
    if (!f) return sfi_fail(SF_ERR_NOMEM, "out of memory for %zu points", n);
    double *u = f, *uy = f + m, *uyy = f + 2 * m, *ut = f + 3 * m;
    sf_status st = SF_OK;
    *worst = 0;
    for (int k = 0; st == SF_OK && k < ntau; k++) {
        if ((st = sf_doublewell_field(eps, tau[k], y, m, u, uy, uyy, ut)) != SF_OK) break;
        double scale = 0, rmax = 0; /* relative to the time's largest term: at y = 0 all vanish by symmetry */
        for (size_t q = 0; q < m; q++) { /* R_i = d_tau u_i - u_i,ii / 2 - u_i u_i,i */
            scale = fmax(scale, fmax(fabs(ut[q]), fmax(0.5 * fabs(uyy[q]), fabs(u[q] * uy[q]))));
            rmax = fmax(rmax, fabs(ut[q] - 0.5 * uyy[q] - u[q] * uy[q]));
        }
        *worst = fmax(*worst, rmax / scale);
    }
    free(f);
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
    sfi_error_clear();
    if (n > 0 && !y) return sfi_fail(SF_ERR_INVALID, "sf_ringwell_field: y is NULL");
    sf_status sized = sfi_check_doubles(__func__, n, 4); /* the Jacobian: n x 4 */
    if (sized != SF_OK) return sized;
    if (!(eps > 0) || !(tau > 0)) return sfi_fail(SF_ERR_INVALID, "ring well: need eps > 0 and tau > 0 (got %g, %g)", eps, tau);
    polar g = polar_grid(eps, tau);
    if ((double)g.nr * g.nt > 4e7)
        return sfi_fail(SF_ERR_INVALID, "ring well: eps = %g, tau = %g need too fine a quadrature", eps, tau);
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

/* at y = 0, E[|x|^2] - 2 tau: positive while the posterior sits on the ring, negative once the
 * Gaussian factor pulls it to the centre */
static sf_status ring_centre_excess(void *data, double tau, double *value)
{
    double eps = *(const double *)data, y0[2] = {0, 0}, m[2], C[3], k3[4], dm[2];
    polar g = polar_grid(eps, tau);
    ring_posterior(eps, tau, &g, y0, m, C, k3, dm);
    *value = C[0] + C[2] + m[0] * m[0] + m[1] * m[1] - 2 * tau;
    return SF_OK;
}

sf_status sf_ringwell_tau_c(double eps, double *tau_c)
{
    sfi_error_clear();
    if (!tau_c) return sfi_fail(SF_ERR_INVALID, "sf_ringwell_tau_c: tau_c is NULL");
    if (!(eps > 0) || !isfinite(eps)) return sfi_fail(SF_ERR_INVALID, "ring well: need eps > 0 (got %g)", eps);
    return sfi_bisect(ring_centre_excess, &eps, 1e-3, 20, 1e-12 * 20, "the ring's critical time", tau_c);
}

sf_status sf_ringwell_burgers_residual(double eps, const double *tau, int ntau, const double *y, size_t n, double *worst)
{
    sfi_error_clear();
    if (!worst || ntau < 0 || (ntau > 0 && !tau) || (n > 0 && !y))
        return sfi_fail(SF_ERR_INVALID, "sf_ringwell_burgers_residual: tau, y and worst must not be NULL, ntau >= 0");
    sf_status sized = sfi_check_doubles(__func__, n, 10); /* u, Jacobian, Laplacian, d/d tau per point */
    if (sized != SF_OK) return sized;
    double *f = malloc(10 * n * sizeof(double) + 1);
    if (!f) return sfi_fail(SF_ERR_NOMEM, "out of memory for %zu points", n);
    double *u = f, *J = f + 2 * n, *L = f + 6 * n, *ut = f + 8 * n;
    sf_status st = SF_OK;
    *worst = 0;
    for (int k = 0; st == SF_OK && k < ntau; k++) {
        if ((st = sf_ringwell_field(eps, tau[k], y, n, u, J, L, ut)) != SF_OK) break;
        double scale = 0, rmax = 0;
        for (size_t p = 0; p < n; p++)
            for (int i = 0; i < 2; i++) { /* R_i = d_tau u_i - (Lap u)_i / 2 - sum_j u_j d_j u_i */
                double adv = J[4 * p + 2 * i] * u[2 * p] + J[4 * p + 2 * i + 1] * u[2 * p + 1];
                scale = fmax(scale, fmax(fabs(ut[2 * p + i]), fmax(0.5 * fabs(L[2 * p + i]), fabs(adv))));
                rmax = fmax(rmax, fabs(ut[2 * p + i] - 0.5 * L[2 * p + i] - adv));
            }
        *worst = fmax(*worst, rmax / scale);
    }
    free(f);
    return st;
}

/* sf_doublewell_summarize for a caller's sf_doublewell_summary of `size` bytes (sizeof in its header): the fields it knows. */
sf_status sf_doublewell_summarize_sized(double eps, sf_doublewell_summary *out, size_t size)
{
    sf_doublewell_summary result;
    memset(&result, 0, sizeof result);
    sf_status st = doublewell_summarize_into(eps, out ? &result : NULL);
    if (st == SF_OK && out) st = sfi_struct_store(out, size, &result, SF_DOUBLEWELL_SUMMARY_SIZE_0_1, sizeof result,
        "sf_doublewell_summary");
    return st;
}
