/* Samplers with exact scores (docs/samplers.md): DDIM(0) = DPM-Solver-1; observed convergence orders
 * against a fine solution of another method; all h of the interpolating family give the same
 * marginals (Monte Carlo bands computed here); mode occupation matches the weights (binomial
 * bands); guidance concentrates on the class; the PF-ODE likelihood matches the exact log p;
 * exact marginal draws; noise independent of how particles are split. */
#include "test_helpers.h"

#include <string.h>

static sf_mixture *two_modes_1d(double w0, double a, double v)
{
    const double means[2] = {-a, a}, w[2] = {w0, 1 - w0}, vars[2] = {v, v};
    sf_mixture *m;
    cr_assert_eq(sf_mixture_create_isotropic(&m, 1, 2, w, means, vars), SF_OK);
    return m;
}

static double *draw(const sf_mixture *m, const sf_schedule *s, double t, uint64_t seed, size_t n)
{
    sf_time tm;
    cr_assert_eq(sf_schedule_at(s, t, &tm), SF_OK);
    double *x = malloc(n * sf_mixture_dim(m) * sizeof(double));
    cr_assert_eq(sf_sample_marginal(m, &tm, seed, 0, x, n), SF_OK, "%s", sf_last_error());
    return x;
}

static void run(sf_context *ctx, const sf_mixture *m, const sf_schedule *s, sf_sampler smp, double *x, size_t n)
{
    cr_assert_eq(sf_sample(ctx, m, s, &smp, x, n, 0, NULL, NULL, 0), SF_OK, "%s", sf_last_error());
}

Test(sampler, ddim_eta0_equals_dpm_solver_1)
{
    sf_context *ctx = cpu_context();
    sf_rng rng;
    sfi_rng_seed(&rng, 41);
    sf_mixture *m;
    cr_assert_eq(sfi_workload_mixture(&m, &rng, 5, 3, SF_WORKLOAD_ALL, 1.0), SF_OK);
    static const sf_schedule_kind kinds[3] = {SF_SCHEDULE_VP_LINEAR, SF_SCHEDULE_VE, SF_SCHEDULE_VP_COSINE};
    for (int k = 0; k < 3; k++) {
        sf_schedule s = sf_schedule_default(kinds[k]);
        size_t n = 16;
        double *a = draw(m, &s, 0.9, 5, n), *b = malloc(n * 5 * sizeof(double));
        memcpy(b, a, n * 5 * sizeof(double));
        sf_sampler ddim = sf_sampler_default(SF_SAMPLER_DDIM), dpm = sf_sampler_default(SF_SAMPLER_DPM1);
        ddim.steps = dpm.steps = 7, ddim.t1 = dpm.t1 = 0.9, ddim.t0 = dpm.t0 = 0.1;
        run(ctx, m, &s, ddim, a, n);
        run(ctx, m, &s, dpm, b, n);
        for (size_t i = 0; i < n * 5; i++) expect_rel(a[i], b[i], 1e-12, "%s element %zu", sf_schedule_kind_name(kinds[k]), i);
        free(a), free(b);
    }
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* max |x - ref| over particles after the run */
static double run_error(sf_context *ctx, const sf_mixture *m, const sf_schedule *s, sf_sampler smp, const double *x0,
                        const double *ref, size_t n, int d)
{
    double *x = malloc(n * d * sizeof(double)), err = 0;
    memcpy(x, x0, n * d * sizeof(double));
    run(ctx, m, s, smp, x, n);
    for (size_t i = 0; i < n * (size_t)d; i++) err = fmax(err, fabs(x[i] - ref[i]));
    free(x);
    return err;
}

/* Observed orders from N and 2N steps: DPM-Solver 1/2/3 (lambda-uniform), Euler and Heun (t-uniform). */
Test(sampler, convergence_orders)
{
    sf_context *ctx = cpu_context();
    sf_rng rng;
    sfi_rng_seed(&rng, 42);
    /* three isotropic components of variance 0.3 in d = 5: smooth enough for the asymptotic regime */
    double w[3] = {0.5, 0.3, 0.2}, v[3] = {0.3, 0.3, 0.3}, mu[15];
    for (int i = 0; i < 15; i++) mu[i] = sfi_rng_normal(&rng);
    sf_mixture *m;
    cr_assert_eq(sf_mixture_create_isotropic(&m, 5, 3, w, mu, v), SF_OK);
    sf_schedule s = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    size_t n = 16;
    double t1 = 1.0, t0 = 0.05, *x0 = draw(m, &s, t1, 9, n);
    /* reference: Heun, 8192 steps, for DPM; DPM-3, 1024 lambda steps, for Euler and Heun */
    double *ref_heun = malloc(n * 5 * sizeof(double)), *ref_dpm = malloc(n * 5 * sizeof(double));
    memcpy(ref_heun, x0, n * 5 * sizeof(double));
    memcpy(ref_dpm, x0, n * 5 * sizeof(double));
    sf_sampler heun = sf_sampler_default(SF_SAMPLER_HEUN), dpm3 = sf_sampler_default(SF_SAMPLER_DPM3);
    heun.t1 = dpm3.t1 = t1, heun.t0 = dpm3.t0 = t0;
    heun.steps = 8192, dpm3.steps = 1024, dpm3.spacing = SF_SPACING_LAMBDA;
    run(ctx, m, &s, heun, ref_heun, n);
    run(ctx, m, &s, dpm3, ref_dpm, n);
    static const struct { sf_sampler_kind kind; sf_spacing spacing; int steps; double order; } cases[] = {
        {SF_SAMPLER_DPM1, SF_SPACING_LAMBDA, 32, 1}, {SF_SAMPLER_DPM2, SF_SPACING_LAMBDA, 32, 2},
        {SF_SAMPLER_DPM3, SF_SPACING_LAMBDA, 32, 3}, {SF_SAMPLER_ODE_EULER, SF_SPACING_T, 128, 1},
        {SF_SAMPLER_HEUN, SF_SPACING_T, 64, 2}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        sf_sampler smp = sf_sampler_default(cases[c].kind);
        smp.t1 = t1, smp.t0 = t0, smp.spacing = cases[c].spacing;
        const double *ref = cases[c].kind >= SF_SAMPLER_DPM1 ? ref_heun : ref_dpm;
        smp.steps = cases[c].steps;
        double e1 = run_error(ctx, m, &s, smp, x0, ref, n, 5);
        smp.steps *= 2;
        double e2 = run_error(ctx, m, &s, smp, x0, ref, n, 5), order = log2(e1 / e2);
        cr_log_info("%s: observed order %.3f (errors %.3g, %.3g)", sf_sampler_kind_name(cases[c].kind), order, e1, e2);
        cr_expect(fabs(order - cases[c].order) < 0.25, "%s: observed order %.3f (errors %.3g, %.3g), expected %g",
                  sf_sampler_kind_name(cases[c].kind), order, e1, e2, cases[c].order);
    }
    free(x0), free(ref_heun), free(ref_dpm);
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* p_t of a 1-D two-component mixture: mean, variance, P(x < 0) by quadrature of exp(log p). */
static void exact_moments(sf_context *ctx, const sf_mixture *m, const sf_time *t, double out[3])
{
    double h = 1e-3, sum = 0, mean = 0, second = 0, neg = 0;
    for (double y = -15; y <= 15; y += h) {
        double l;
        sf_outputs o = {.logp = &l};
        cr_assert_eq(sf_evaluate(ctx, m, t, &y, 1, &o), SF_OK);
        double p = exp(l) * h;
        sum += p, mean += p * y, second += p * y * y, neg += y < 0 ? p : 0;
    }
    out[0] = mean / sum, out[1] = second / sum - (mean / sum) * (mean / sum), out[2] = neg / sum;
}

/* Every h >= 0 of dx = [f x - (1 + h^2) g^2 s / 2] dt + h g dW shares the marginals p_t. */
Test(sampler, all_h_share_the_marginals)
{
    sf_context *ctx = cpu_context();
    sf_mixture *m = two_modes_1d(0.3, 1.0, 0.05);
    sf_schedule s = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    sf_time t0;
    cr_assert_eq(sf_schedule_at(&s, 0.05, &t0), SF_OK);
    double want[3];
    exact_moments(ctx, m, &t0, want);
    size_t n = 10000;
    static const double hs[4] = {0, 0.5, 1, 2};
    for (int i = 0; i < 4; i++) {
        double *x = draw(m, &s, 1.0, 100 + i, n);
        sf_sampler em = sf_sampler_default(SF_SAMPLER_EM);
        em.h = hs[i], em.steps = 500, em.t1 = 1.0, em.t0 = 0.05, em.seed = 7 + i;
        run(ctx, m, &s, em, x, n);
        double mean = 0, second = 0, neg = 0;
        for (size_t p = 0; p < n; p++) mean += x[p], second += x[p] * x[p], neg += x[p] < 0;
        mean /= n, second /= n, neg /= n;
        double var = second - mean * mean;
        /* standard errors from the exact moments; 5 of them, plus 2% of the quantity for the
         * O(step) bias of Euler-Maruyama */
        double se_mean = sqrt(want[1] / n), se_var = want[1] * sqrt(2.0 / n) * 2, se_p = sqrt(want[2] * (1 - want[2]) / n);
        cr_expect(fabs(mean - want[0]) < 5 * se_mean + 0.02 * fabs(want[0]), "h = %g: mean %.4f, exact %.4f", hs[i], mean, want[0]);
        cr_expect(fabs(var - want[1]) < 5 * se_var + 0.02 * want[1], "h = %g: variance %.4f, exact %.4f", hs[i], var, want[1]);
        cr_expect(fabs(neg - want[2]) < 5 * se_p + 0.01, "h = %g: P(x < 0) %.4f, exact %.4f", hs[i], neg, want[2]);
        free(x);
    }
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* Modes are occupied in proportion to the weights: binomial 5-sigma bands. */
Test(sampler, mode_occupation_matches_the_weights)
{
    sf_context *ctx = cpu_context();
    sf_mixture *m = two_modes_1d(0.25, 2.0, 0.04);
    sf_schedule s = sf_schedule_default(SF_SCHEDULE_VP_COSINE);
    size_t n = 4000;
    static const sf_sampler_kind kinds[3] = {SF_SAMPLER_DDPM, SF_SAMPLER_DPM2, SF_SAMPLER_HEUN};
    for (int k = 0; k < 3; k++) {
        double *x = draw(m, &s, 0.95, 200 + k, n);
        sf_sampler smp = sf_sampler_default(kinds[k]);
        smp.t1 = 0.95, smp.t0 = 0.01, smp.steps = 100, smp.seed = 3;
        run(ctx, m, &s, smp, x, n);
        size_t left = 0;
        for (size_t p = 0; p < n; p++) left += x[p] < 0;
        double frac = (double)left / n, band = 5 * sqrt(0.25 * 0.75 / n);
        cr_expect(fabs(frac - 0.25) < band, "%s: %.4f of particles in the left mode, weight 0.25 (band %.4f)",
                  sf_sampler_kind_name(kinds[k]), frac, band);
        free(x);
    }
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* Guidance toward component 0 (weight 0.3): conditional sampling (w = 0) puts the particles there;
 * without a class the fraction is the weight. */
Test(sampler, guidance_concentrates_on_the_class)
{
    sf_context *ctx = cpu_context();
    sf_mixture *m = two_modes_1d(0.3, 2.0, 0.05);
    sf_schedule s = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    size_t n = 4000;
    static const int cls[1] = {0};
    double fractions[3];
    static const double weights[3] = {NAN, 0.0, 2.0};
    for (int g = 0; g < 3; g++) {
        double *x = draw(m, &s, 1.0, 300 + g, n);
        sf_sampler smp = sf_sampler_default(SF_SAMPLER_DPM2);
        smp.t1 = 1.0, smp.t0 = 0.01, smp.steps = 50, smp.spacing = SF_SPACING_LAMBDA;
        if (g > 0) smp.class_components = cls, smp.class_size = 1, smp.guidance = weights[g];
        run(ctx, m, &s, smp, x, n);
        size_t left = 0;
        for (size_t p = 0; p < n; p++) left += x[p] < 0;
        fractions[g] = (double)left / n;
        free(x);
    }
    cr_expect(fabs(fractions[0] - 0.3) < 5 * sqrt(0.21 / n), "unguided: %.4f in the class, weight 0.3", fractions[0]);
    cr_expect(fractions[1] > 0.995, "conditional (w = 0): %.4f in the class", fractions[1]);
    cr_expect(fractions[2] >= fractions[1], "w = 2: %.4f in the class, w = 0: %.4f", fractions[2], fractions[1]);
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* The PF-ODE likelihood (adaptive DOPRI5, rtol 1e-10) matches the mixture's exact log p_t0. */
Test(sampler, pf_ode_likelihood_matches_exact_log_p)
{
    sf_context *ctx = cpu_context();
    sf_rng rng;
    sfi_rng_seed(&rng, 43);
    sf_mixture *m;
    cr_assert_eq(sfi_workload_mixture(&m, &rng, 5, 3, SF_WORKLOAD_ALL, 1.0), SF_OK);
    static const sf_schedule_kind kinds[3] = {SF_SCHEDULE_VP_LINEAR, SF_SCHEDULE_VE, SF_SCHEDULE_VP_COSINE};
    for (int k = 0; k < 3; k++) {
        sf_schedule s = sf_schedule_default(kinds[k]);
        double t0 = 0.05, t1 = kinds[k] == SF_SCHEDULE_VP_COSINE ? 0.95 : 1.0;
        size_t n = 8;
        double *x = draw(m, &s, t0, 17, n), lp[8], exact[8];
        int steps = 0;
        cr_assert_eq(sf_loglik_ode(ctx, m, &s, t0, t1, x, n, 1e-10, 1e-10, lp, &steps), SF_OK, "%s", sf_last_error());
        sf_time tm;
        sf_schedule_at(&s, t0, &tm);
        sf_outputs o = {.logp = exact};
        cr_assert_eq(sf_evaluate(ctx, m, &tm, x, n, &o), SF_OK);
        for (size_t p = 0; p < n; p++)
            cr_expect(fabs(lp[p] - exact[p]) < 1e-6, "%s point %zu: ODE %.12f, exact %.12f (%d steps)",
                      sf_schedule_kind_name(kinds[k]), p, lp[p], exact[p], steps);
        free(x);
    }
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* Exact marginal draws: mean and variance within Monte Carlo bands of the closed forms. */
Test(sampler, marginal_draws_have_the_exact_moments)
{
    sf_mixture *m = two_modes_1d(0.3, 1.0, 0.2);
    sf_schedule s = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    sf_time t;
    sf_schedule_at(&s, 0.2, &t);
    size_t n = 100000;
    double *x = draw(m, &s, 0.2, 1, n), mean = 0, second = 0;
    for (size_t p = 0; p < n; p++) mean += x[p], second += x[p] * x[p];
    mean /= n, second /= n;
    /* x = alpha x0 + sigma z: E x = alpha (0.7 - 0.3), Var = alpha^2 (0.2 + 1 - 0.4^2) + sigma^2 */
    double want_mean = t.alpha * 0.4, want_var = t.alpha * t.alpha * (0.2 + 1 - 0.16) + t.sigma2;
    cr_expect(fabs(mean - want_mean) < 5 * sqrt(want_var / n), "mean %.5f, exact %.5f", mean, want_mean);
    cr_expect(fabs(second - mean * mean - want_var) < 5 * want_var * sqrt(3.0 / n), "variance %.5f, exact %.5f",
              second - mean * mean, want_var);
    free(x);
    sf_mixture_destroy(m);
}

/* The same particles give the same results however they are split into calls. */
Test(sampler, results_do_not_depend_on_the_split)
{
    sf_context *ctx = cpu_context();
    sf_mixture *m = two_modes_1d(0.5, 1.0, 0.1);
    sf_schedule s = sf_schedule_default(SF_SCHEDULE_VE);
    sf_time t;
    sf_schedule_at(&s, 0.8, &t);
    size_t n = 10;
    double all[10], part[10];
    cr_assert_eq(sf_sample_marginal(m, &t, 99, 0, all, n), SF_OK);
    cr_assert_eq(sf_sample_marginal(m, &t, 99, 0, part, 4), SF_OK);
    cr_assert_eq(sf_sample_marginal(m, &t, 99, 4, part + 4, 6), SF_OK);
    for (size_t i = 0; i < n; i++) cr_expect_eq(all[i], part[i], "draw %zu", i);
    sf_sampler em = sf_sampler_default(SF_SAMPLER_EM);
    em.t1 = 0.8, em.t0 = 0.1, em.steps = 20, em.seed = 5;
    cr_assert_eq(sf_sample(ctx, m, &s, &em, all, n, 0, NULL, NULL, 0), SF_OK);
    cr_assert_eq(sf_sample(ctx, m, &s, &em, part, 4, 0, NULL, NULL, 0), SF_OK);
    cr_assert_eq(sf_sample(ctx, m, &s, &em, part + 4, 6, 4, NULL, NULL, 0), SF_OK);
    for (size_t i = 0; i < n; i++) cr_expect_eq(all[i], part[i], "particle %zu", i);
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* WKB (docs/samplers.md) on Gaussian data N(0, 0.5), VE, model s_theta = s / 1.3 (+ a shift): the
 * model's h-marginals, computed by their own mean/variance ODEs, satisfy
 * (log q^h - log q^0) / h^2 -> l_1 with error O(h^2); an exact model has l_1 = 0 and q^0 = p. */
Test(sampler, wkb_coefficient_matches_small_h_limit)
{
    const double mu[1] = {0.0}, shift[1] = {0.2};
    sf_mixture *m;
    sf_mixture_create(&m, 1);
    cr_assert_eq(sf_mixture_add_isotropic(m, 1.0, mu, 0.5), SF_OK);
    sf_schedule s = sf_schedule_default(SF_SCHEDULE_VE);
    double x[2] = {0.3, -1.1}, t0 = 0.0, t1 = 1.0;
    for (int model = 0; model < 2; model++) {
        const double *b = model ? shift : NULL;
        double ell[2], q0[2];
        cr_assert_eq(sf_wkb_gaussian(m, &s, t0, t1, 1 / 1.3, b, 0.0, x, 2, 4000, ell, q0), SF_OK, "%s", sf_last_error());
        static const double hs[3] = {0.1, 0.03, 0.01};
        double rel[3];
        for (int k = 0; k < 3; k++) {
            double qh[2];
            cr_assert_eq(sf_wkb_gaussian(m, &s, t0, t1, 1 / 1.3, b, hs[k], x, 2, 4000, NULL, qh), SF_OK);
            rel[k] = fabs((qh[0] - q0[0]) / (hs[k] * hs[k]) - ell[0]) / fabs(ell[0]);
        }
        cr_log_info("model %d: l_1(0.3) = %.8f, relative errors %.3g %.3g %.3g", model, ell[0], rel[0], rel[1], rel[2]);
        /* docs/samplers.md reports 5.7e-3, 5.1e-4, 5.7e-5 for the scaled model at x = 0.3 */
        double bound = model ? 5e-2 : 1e-2;
        cr_expect(rel[0] < bound && rel[1] < bound / 10 && rel[2] < bound / 100, "model %d: errors %.3g %.3g %.3g", model,
                  rel[0], rel[1], rel[2]);
        cr_expect(rel[1] < rel[0] / 5 && rel[2] < rel[1] / 5, "model %d: the error must fall like h^2", model);
        cr_expect(fabs(ell[0]) > 1e-3, "the perturbed model has a nonzero l_1 (%g)", ell[0]);
    }
    /* exact model: l_1 = 0 and q^0_t0 = p_t0 */
    double ell[2], q0[2], exact[2];
    cr_assert_eq(sf_wkb_gaussian(m, &s, t0, t1, 1.0, NULL, 0.0, x, 2, 2000, ell, q0), SF_OK);
    sf_time tm;
    sf_schedule_at(&s, t0, &tm);
    sf_context *ctx = cpu_context();
    sf_outputs o = {.logp = exact};
    cr_assert_eq(sf_evaluate(ctx, m, &tm, x, 2, &o), SF_OK);
    for (int p = 0; p < 2; p++) {
        cr_expect(fabs(ell[p]) < 1e-9, "exact model: l_1 = %g", ell[p]);
        expect_rel(q0[p], exact[p], 1e-9, "exact model: q^0 = p at x = %g", x[p]);
    }
    sf_context_destroy(ctx);
    sf_mixture_destroy(m);
}
