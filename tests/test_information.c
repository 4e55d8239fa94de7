/* Information flow (SPEC.md G): the Monte Carlo bandwidth against the closed form of a single
 * Gaussian, and the label-entropy variance of a symmetric pair at the universal peak. */
#include "test_helpers.h"

/* b = g^2/2 sum_j alpha^2 c_j / (sigma^2 (alpha^2 c_j + sigma^2)) for N(mu, diag(c)) */
Test(information, bandwidth_of_a_gaussian)
{
    sf_context *ctx = cpu_context();
    const double mu[3] = {0.3, -1, 2}, c[3] = {0.5, 0.1, 2.0};
    sf_mixture *m;
    sf_mixture_create(&m, 3);
    cr_assert_eq(sf_mixture_add_diagonal(m, 1, mu, c), SF_OK);
    static const sf_schedule_kind kinds[3] = {SF_SCHEDULE_VP_LINEAR, SF_SCHEDULE_VE, SF_SCHEDULE_VP_COSINE};
    for (int k = 0; k < 3; k++)
        for (double t = 0.1; t < 0.95; t += 0.2) {
            sf_time tm = time_at(kinds[k], t);
            double b, se, want = 0;
            cr_assert_eq(sf_bandwidth(ctx, m, &tm, 20000, 3, &b, &se), SF_OK, "%s", sf_last_error());
            for (int j = 0; j < 3; j++) {
                double v = tm.alpha * tm.alpha * c[j];
                want += 0.5 * tm.g2 * v / (tm.sigma2 * (v + tm.sigma2));
            }
            /* a single Gaussian has constant div s: the estimate is exact up to rounding */
            cr_expect(fabs(b - want) <= 5 * se + 1e-9 * fabs(want), "%s t = %.1f: b = %.10g +- %.2g, closed form %.10g",
                      sf_schedule_kind_name(kinds[k]), t, b, se, want);
        }
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* Var[h_Y] of a symmetric pair depends only on kappa = a^2/(s^2 + tau); its maximum 0.0536289 is at
 * kappa* = 1.3454777 (SPEC.md G, I). Monte Carlo with 4e5 draws: the value within 5 standard
 * errors, and smaller at 0.6 kappa* and 1.6 kappa*. */
Test(information, label_entropy_variance_peak)
{
    sf_context *ctx = cpu_context();
    double a = 1.0, s2 = 0.2;
    const double means[2] = {a, -a}, w[2] = {0.5, 0.5}, v[2] = {s2, s2};
    sf_mixture *m;
    cr_assert_eq(sf_mixture_create_isotropic(&m, 1, 2, w, means, v), SF_OK);
    size_t n = 400000;
    double *x = malloc(n * sizeof(double)), *h = malloc(n * sizeof(double)), var[3], se[3];
    static const double factor[3] = {1.0, 0.6, 1.6};
    for (int i = 0; i < 3; i++) {
        double kappa = 1.3454777 * factor[i], tau = a * a / kappa - s2;
        sf_schedule direct = sf_schedule_default(SF_SCHEDULE_DIRECT);
        direct.alpha = 1, direct.sigma = sqrt(tau);
        sf_time t;
        cr_assert_eq(sf_schedule_at(&direct, 0, &t), SF_OK);
        cr_assert_eq(sf_sample_marginal(m, &t, 9, 0, x, n), SF_OK);
        cr_assert_eq(sf_label_entropy(ctx, m, &t, x, n, h), SF_OK);
        double mean = 0, m2 = 0, m4 = 0;
        for (size_t p = 0; p < n; p++) mean += h[p];
        mean /= n;
        for (size_t p = 0; p < n; p++) {
            double e = h[p] - mean;
            m2 += e * e, m4 += e * e * e * e;
        }
        var[i] = m2 / (n - 1), se[i] = sqrt((m4 / n - var[i] * var[i]) / n);
    }
    cr_expect(fabs(var[0] - 0.0536289) < 5 * se[0], "Var[h_Y] at kappa* = %.6f +- %.2g, universal 0.0536289", var[0], se[0]);
    cr_expect(var[1] < var[0] && var[2] < var[0], "the peak: %.5f (0.6 kappa*), %.5f (kappa*), %.5f (1.6 kappa*)", var[1], var[0], var[2]);
    free(x), free(h);
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}
