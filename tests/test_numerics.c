/* The shared numerics (src/core/numerics): each routine against a known answer that does not use
 * it — RK4 at fourth order on an ODE with a closed-form solution, bisection and golden section
 * on functions with known roots and minima, Jacobi on a matrix built from chosen eigenvalues,
 * Gauss-Legendre exact on polynomials of the rule's degree, and the Monte Carlo moments against
 * direct sums. */
#include "numerics.h"
#include "test_helpers.h"

/* y' = y cos t: y = exp(sin t) */
static sf_status growth(void *data, double t, const double *y, double *dy)
{
    (void)data;
    dy[0] = y[0] * cos(t);
    return SF_OK;
}

Test(numerics, rk4_is_fourth_order_in_either_direction)
{
    double err[2];
    for (int k = 0; k < 2; k++) {
        double y = exp(sin(2.0)), path[41 * 1];
        cr_assert_eq(sfi_rk4(growth, NULL, 1, 2.0, 0.0, 20 << k, &y, k ? NULL : path), SF_OK);
        err[k] = fabs(y - 1.0);
        if (!k) expect_rel(path[0], exp(sin(2.0)), 1e-15, "the path starts at the initial value");
    }
    double order = log2(err[0] / err[1]);
    cr_expect(order > 3.8 && order < 4.2, "observed order %.3f (errors %.3g, %.3g)", order, err[0], err[1]);
}

static sf_status cubic(void *data, double x, double *v)
{
    (void)data;
    *v = x * x * x - 2; /* root 2^(1/3) */
    return SF_OK;
}

static sf_status bowl(void *data, double x, double *v)
{
    (void)data;
    *v = (x - 0.3) * (x - 0.3) + 1;
    return SF_OK;
}

Test(numerics, bisection_and_golden_section)
{
    double root, xmin, fmin;
    cr_assert_eq(sfi_bisect(cubic, NULL, 0, 3, 1e-15, "cube root", &root), SF_OK);
    expect_rel(root * root * root, 2.0, 1e-14, "root^3 = 2");
    cr_expect_eq(sfi_bisect(cubic, NULL, 2, 3, 1e-15, "cube root", &root), SF_ERR_INVALID, "no sign change is refused");
    cr_assert_eq(sfi_golden_min(bowl, NULL, -1, 2, 1e-10, &xmin, &fmin), SF_OK);
    cr_expect(fabs(xmin - 0.3) < 1e-7 && fabs(fmin - 1) < 1e-14, "minimum at %.12f, value %.15f", xmin, fmin);
}

Test(numerics, jacobi_recovers_chosen_eigenvalues)
{
    enum { D = 5 };
    const double lambda[D] = {3.5, -1.25, 0.5, 2.0, -4.0};
    double q[D][D], a[D * D], eig[D];
    /* an orthogonal matrix from Householder: Q = I - 2 v v^T / |v|^2 */
    const double v[D] = {1, -2, 0.5, 3, 1.5};
    double vv = 0;
    for (int i = 0; i < D; i++) vv += v[i] * v[i];
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) q[i][j] = (i == j) - 2 * v[i] * v[j] / vv;
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) {
            a[i * D + j] = 0;
            for (int k = 0; k < D; k++) a[i * D + j] += q[i][k] * lambda[k] * q[j][k];
        }
    double top = sfi_symmetric_eigenvalues(a, D, eig);
    expect_rel(top, 3.5, 1e-13, "largest eigenvalue");
    for (int k = 0; k < D; k++) {
        int found = 0;
        for (int j = 0; j < D; j++) found += fabs(eig[j] - lambda[k]) < 1e-12;
        cr_expect_eq(found, 1, "eigenvalue %g recovered once", lambda[k]);
    }
}

Test(numerics, gauss_legendre_is_exact_to_its_degree)
{
    double x[3 * SF_GL_POINTS], w[3 * SF_GL_POINTS];
    sfi_gauss_legendre(-0.5, 2.0, 3, x, w);
    double p31 = 0, ex = 0;
    for (int i = 0; i < 3 * SF_GL_POINTS; i++) p31 += w[i] * pow(x[i], 31), ex += w[i] * exp(x[i]);
    expect_rel(p31, (pow(2.0, 32) - pow(-0.5, 32)) / 32, 1e-14, "x^31 (degree 2n - 1 per panel)");
    expect_rel(ex, exp(2.0) - exp(-0.5), 1e-14, "exp");
}

Test(numerics, monte_carlo_moments)
{
    const double v[6] = {1, 2, 4, 4, 5, 8};
    sf_estimate e;
    sfi_estimate_of(v, 6, &e);
    double mean = 4, m2 = (9 + 4 + 0 + 0 + 1 + 16) / 6.0, m4 = (81 + 16 + 0 + 0 + 1 + 256) / 6.0;
    expect_rel(e.mean, mean, 1e-15, "mean");
    expect_rel(e.var, m2 * 6 / 5, 1e-15, "unbiased variance");
    expect_rel(e.mean_se, sqrt(m2 * 6 / 5 / 6), 1e-15, "standard error of the mean");
    expect_rel(e.var_se, sqrt((m4 - m2 * m2) / 6), 1e-15, "standard error of the variance");
    const double x[4] = {1, 2, 4, 8}, y[4] = {3, 3 * pow(2, -1.5), 3 * pow(4, -1.5), 3 * pow(8, -1.5)};
    expect_rel(sf_power_law_exponent(x, y, 4), -1.5, 1e-13, "power-law exponent");
}

/* The slope's standard error by hand: log y = 0, 1 + delta, 2 at log x = 0, 1, 2 has slope 1,
 * residuals (-1, 2, -1) delta / 3, RSS = 2 delta^2 / 3 over one degree of freedom, and
 * sum (log x - 1)^2 = 2, so se = delta / sqrt(3). Two points: no standard error; one: no slope. */
Test(numerics, power_law_fit_and_its_standard_error)
{
    const double delta = 0.1, x[3] = {1, exp(1.0), exp(2.0)}, y[3] = {1, exp(1 + delta), exp(2)};
    double slope, se;
    sfi_power_law_fit(x, y, 3, &slope, &se);
    expect_rel(slope, 1.0, 1e-13, "slope");
    expect_rel(se, delta / sqrt(3.0), 1e-12, "standard error");
    sfi_power_law_fit(x, y, 2, &slope, &se);
    cr_expect(isfinite(slope) && isnan(se), "two points: slope %g, se %g", slope, se);
    const double same[2] = {2, 2};
    sfi_power_law_fit(same, y, 2, &slope, &se);
    cr_expect(isnan(slope), "two points at one x: no slope");
}
