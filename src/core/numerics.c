/* The shared numerical building blocks (see numerics.h). */
#include "numerics.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

sf_status sfi_rk4(sf_ode_rate rate, void *data, size_t m, double t0, double t1, int steps, double *y, double *path)
{
    if (steps < 1) return sfi_fail(SF_ERR_INVALID, "RK4 needs at least one step (got %d)", steps);
    double *k = malloc(5 * m * sizeof(double) + 1);
    if (!k) return sfi_fail(SF_ERR_NOMEM, "out of memory for an ODE of %zu unknowns", m);
    double *k1 = k, *k2 = k + m, *k3 = k + 2 * m, *k4 = k + 3 * m, *stage = k + 4 * m;
    double h = (t1 - t0) / steps;
    sf_status st = SF_OK;
    if (path) memcpy(path, y, m * sizeof(double));
    for (int s = 0; st == SF_OK && s < steps; s++) {
        double t = t0 + s * h; /* from the step index, not accumulated: no drift in t */
        st = rate(data, t, y, k1);
        for (size_t i = 0; i < m; i++) stage[i] = y[i] + 0.5 * h * k1[i];
        if (st == SF_OK) st = rate(data, t + 0.5 * h, stage, k2);
        for (size_t i = 0; i < m; i++) stage[i] = y[i] + 0.5 * h * k2[i];
        if (st == SF_OK) st = rate(data, t + 0.5 * h, stage, k3);
        for (size_t i = 0; i < m; i++) stage[i] = y[i] + h * k3[i];
        if (st == SF_OK) st = rate(data, s + 1 == steps ? t1 : t + h, stage, k4);
        if (st != SF_OK) break;
        for (size_t i = 0; i < m; i++) y[i] += h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
        if (path) memcpy(path + (size_t)(s + 1) * m, y, m * sizeof(double));
    }
    free(k);
    return st;
}

sf_status sfi_bisect(sf_scalar_fn f, void *data, double lo, double hi, double xtol, const char *what, double *root)
{
    double flo, fhi;
    sf_status st = f(data, lo, &flo);
    if (st == SF_OK) st = f(data, hi, &fhi);
    if (st != SF_OK) return st;
    if (isnan(flo) || isnan(fhi)) return sfi_fail(SF_ERR_NUMERIC, "%s: not a number at the ends of [%g, %g]", what, lo, hi);
    if (flo == 0 || fhi == 0) {
        *root = flo == 0 ? lo : hi;
        return SF_OK;
    }
    if ((flo > 0) == (fhi > 0))
        return sfi_fail(SF_ERR_INVALID, "%s: no sign change in [%g, %g] (values %g, %g)", what, lo, hi, flo, fhi);
    for (int it = 0; it < 2000 && hi - lo > xtol; it++) {
        double mid = 0.5 * (lo + hi), fm;
        if (mid <= lo || mid >= hi) break; /* adjacent doubles: the bracket cannot shrink */
        if ((st = f(data, mid, &fm)) != SF_OK) return st;
        if (isnan(fm)) return sfi_fail(SF_ERR_NUMERIC, "%s: not a number at %g", what, mid);
        if (fm == 0) {
            lo = hi = mid;
            break;
        }
        if ((fm > 0) == (flo > 0)) lo = mid;
        else hi = mid;
    }
    *root = 0.5 * (lo + hi);
    return SF_OK;
}

sf_status sfi_golden_min(sf_scalar_fn f, void *data, double lo, double hi, double xtol, double *xmin, double *fmin)
{
    const double g = 0.6180339887498949; /* (sqrt 5 - 1) / 2 */
    double x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo), f1, f2;
    sf_status st = f(data, x1, &f1);
    if (st == SF_OK) st = f(data, x2, &f2);
    for (int it = 0; st == SF_OK && it < 2000 && hi - lo > xtol; it++) {
        if (f1 < f2) {
            hi = x2, x2 = x1, f2 = f1, x1 = hi - g * (hi - lo);
            st = f(data, x1, &f1);
        } else {
            lo = x1, x1 = x2, f1 = f2, x2 = lo + g * (hi - lo);
            st = f(data, x2, &f2);
        }
    }
    if (st != SF_OK) return st;
    double x = 0.5 * (lo + hi), fx;
    if ((st = f(data, x, &fx)) != SF_OK) return st;
    if (isnan(fx)) return sfi_fail(SF_ERR_NUMERIC, "golden-section search: the function is not a number at %g", x);
    if (xmin) *xmin = x;
    if (fmin) *fmin = fx;
    return SF_OK;
}

double sfi_symmetric_eigenvalues(double *a, int d, double *eig)
{
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, diag = 0;
        for (int p = 0; p < d; p++) {
            diag += a[p * d + p] * a[p * d + p];
            for (int q = p + 1; q < d; q++) off += a[p * d + q] * a[p * d + q];
        }
        if (off <= 1e-30 * diag) break;
        for (int p = 0; p < d; p++)
            for (int q = p + 1; q < d; q++) {
                double apq = a[p * d + q];
                if (apq == 0) continue;
                /* the rotation that zeroes a[p][q], in the stable form t = sgn(theta) / (|theta| + sqrt(theta^2 + 1)) */
                double theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1)), c = 1 / sqrt(t * t + 1), sn = t * c;
                for (int k = 0; k < d; k++) { /* columns p, q */
                    double akp = a[k * d + p], akq = a[k * d + q];
                    a[k * d + p] = c * akp - sn * akq, a[k * d + q] = sn * akp + c * akq;
                }
                for (int k = 0; k < d; k++) { /* rows p, q */
                    double apk = a[p * d + k], aqk = a[q * d + k];
                    a[p * d + k] = c * apk - sn * aqk, a[q * d + k] = sn * apk + c * aqk;
                }
            }
    }
    double top = -INFINITY;
    for (int p = 0; p < d; p++) {
        if (eig) eig[p] = a[p * d + p];
        top = fmax(top, a[p * d + p]);
    }
    return top;
}

/* Nodes and weights of the SF_GL_POINTS-point Gauss-Legendre rule on [-1, 1]: Newton on P_n from
 * the Chebyshev-like first guesses, P_n and P_n' by the three-term recurrence. */
static void legendre_rule(double *node, double *weight)
{
    const int n = SF_GL_POINTS;
    for (int i = 0; i < n; i++) {
        double x = cos(M_PI * (i + 0.75) / (n + 0.5)), dp = 1;
        for (int it = 0; it < 100; it++) {
            double p0 = 1, p1 = x;
            for (int k = 2; k <= n; k++) {
                double p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
                p0 = p1, p1 = p2;
            }
            dp = n * (x * p1 - p0) / (x * x - 1);
            double dx = p1 / dp;
            x -= dx;
            if (fabs(dx) < 1e-16) break;
        }
        node[i] = x;
        weight[i] = 2 / ((1 - x * x) * dp * dp);
    }
}

void sfi_gauss_legendre(double a, double b, int panels, double *x, double *w)
{
    double node[SF_GL_POINTS], weight[SF_GL_POINTS], h = (b - a) / panels;
    legendre_rule(node, weight);
    for (int p = 0; p < panels; p++) {
        double mid = a + (p + 0.5) * h;
        for (int i = 0; i < SF_GL_POINTS; i++) {
            x[p * SF_GL_POINTS + i] = mid + 0.5 * h * node[i];
            w[p * SF_GL_POINTS + i] = 0.5 * h * weight[i];
        }
    }
}

void sfi_power_law_fit(const double *x, const double *y, size_t n, double *slope, double *slope_se)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(x[i] > 0) || !(y[i] > 0)) continue;
        double lx = log(x[i]), ly = log(y[i]);
        sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly;
        used++;
    }
    double den = used * sxx - sx * sx, b = used >= 2 && den > 0 ? (used * sxy - sx * sy) / den : NAN;
    double a = used ? (sy - b * sx) / used : NAN, rss = 0;
    for (size_t i = 0; used > 2 && i < n; i++)
        if (x[i] > 0 && y[i] > 0) rss += (log(y[i]) - a - b * log(x[i])) * (log(y[i]) - a - b * log(x[i]));
    /* the slope's variance: residual variance (used - 2 degrees of freedom) over sum (lx - mean lx)^2 */
    if (slope) *slope = b;
    if (slope_se) *slope_se = used > 2 && den > 0 ? sqrt(rss / (double)(used - 2) * used / den) : NAN;
}

double sf_power_law_exponent(const double *x, const double *y, size_t n)
{
    if (n > 0 && (!x || !y)) {
        sfi_fail(SF_ERR_INVALID, "sf_power_law_exponent: x and y must not be NULL");
        return NAN;
    }
    double slope;
    sfi_power_law_fit(x, y, n, &slope, NULL);
    return slope;
}

/* Dormand-Prince 5(4) nodes, stage coefficients (A[6] = the fifth-order weights: first same as last)
 * and the fifth- minus fourth-order weights (the local error estimate) */
static const double DP_C[7] = {0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1};
static const double DP_A[7][6] = {{0},
                                  {1.0 / 5},
                                  {3.0 / 40, 9.0 / 40},
                                  {44.0 / 45, -56.0 / 15, 32.0 / 9},
                                  {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
                                  {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
                                  {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84}};
static const double DP_E[7] = {35.0 / 384 - 5179.0 / 57600, 0, 500.0 / 1113 - 7571.0 / 16695, 125.0 / 192 - 393.0 / 640,
                               -2187.0 / 6784 + 92097.0 / 339200, 11.0 / 84 - 187.0 / 2100, -1.0 / 40};

/* The largest local error of a step over every component, in units of atol + rtol |y| (NaN: infinite). */
static double dopri_error(double *const *k, const double *y, const double *ynew, size_t m, double h, double rtol,
                          double atol)
{
    double worst = 0;
    for (size_t i = 0; i < m; i++) {
        double err = 0;
        for (int j = 0; j < 7; j++) err += DP_E[j] * k[j][i];
        err = fabs(h * err) / (atol + rtol * fmax(fabs(y[i]), fabs(ynew[i])));
        if (!(err <= worst)) worst = err; /* NaN becomes the worst */
    }
    return isfinite(worst) ? worst : INFINITY;
}

sf_status sfi_dopri5(sf_ode_rate rate, void *data, size_t m, double t0, double t1, double rtol, double atol,
                     const char *what, double *y, int *steps_taken)
{
    if (steps_taken) *steps_taken = 0;
    if (!(rtol > 0) || !(atol > 0)) return sfi_fail(SF_ERR_INVALID, "tolerances must be positive (rtol %g, atol %g)", rtol, atol);
    double *buf = malloc(9 * m * sizeof(double) + 1), *k[7];
    if (!buf) return sfi_fail(SF_ERR_NOMEM, "out of memory for %s (%zu unknowns)", what, m);
    double *ynew = buf + 7 * m, *stage = buf + 8 * m;
    for (int i = 0; i < 7; i++) k[i] = buf + (size_t)i * m;
    double t = t0, h = (t1 - t0) / 64, dir = t1 > t0 ? 1 : -1;
    int accepted = 0, attempts = 0;
    sf_status st = t1 != t0 ? rate(data, t0, y, k[0]) : SF_OK;
    while (st == SF_OK && (t1 - t) * dir > 0) {
        if (++attempts > 1000000) {
            st = sfi_fail(SF_ERR_NUMERIC, "%s needed more than 1e6 steps (rtol %g, atol %g)", what, rtol, atol);
            break;
        }
        int last = (t + h - t1) * dir >= 0;
        if (last) h = t1 - t;
        for (int s = 1; st == SF_OK && s < 7; s++) {
            for (size_t i = 0; i < m; i++) {
                double acc = y[i];
                for (int j = 0; j < s; j++) acc += h * DP_A[s][j] * k[j][i];
                stage[i] = acc;
            }
            st = rate(data, last && DP_C[s] == 1 ? t1 : t + DP_C[s] * h, stage, k[s]);
            if (s == 6) memcpy(ynew, stage, m * sizeof(double)); /* the fifth-order solution (A[6] = b) */
        }
        if (st != SF_OK) break;
        double worst = dopri_error(k, y, ynew, m, h, rtol, atol);
        if (isinf(worst)) {
            st = sfi_fail(SF_ERR_NUMERIC, "%s produced a non-finite value at t = %g", what, t);
            break;
        }
        if (worst <= 1.0) { /* accept; first same as last: k7 is the next step's k1 */
            t = last ? t1 : t + h;
            memcpy(y, ynew, m * sizeof(double));
            double *swap = k[0];
            k[0] = k[6], k[6] = swap;
            accepted++;
        }
        h *= fmin(5.0, fmax(0.2, 0.9 * pow(fmax(worst, 1e-16), -0.2)));
    }
    free(buf);
    if (steps_taken) *steps_taken = accepted;
    return st;
}

void sfi_estimate_of(const double *v, size_t n, sf_estimate *out)
{
    double mean = 0, m[2];
    for (size_t i = 0; i < n; i++) mean += v[i];
    mean /= (double)n;
    sfi_central_sums(v, n, mean, m);
    sfi_estimate_from(mean, m[0], m[1], n, out);
}

void sfi_central_sums(const double *v, size_t count, double mean, double m[2])
{
    m[0] = 0, m[1] = 0;
    for (size_t i = 0; i < count; i++) {
        double e = (v[i] - mean) * (v[i] - mean);
        m[0] += e, m[1] += e * e;
    }
}

void sfi_estimate_from(double mean, double m2, double m4, size_t n, sf_estimate *out)
{
    out->n = n;
    out->mean = mean;
    out->var = n > 1 ? m2 / (double)(n - 1) : NAN;
    out->mean_se = sqrt(out->var / (double)n);
    out->var_se = sqrt(fmax(0, m4 / (double)n - (m2 / (double)n) * (m2 / (double)n)) / (double)n);
}
