/* The samplers of k-diffusion and diffusers (docs/samplers.md) with exact scores: observed orders
 * of the deterministic solvers against a fine solution of another method; marginal statistics of
 * every new sampler; equalities with independent routes (euler-ancestral = ddpm, edm-heun without
 * churn = heun on edm); reproducibility and batching; no NaN at sigma = 0; the score-model path. */
#include "test_helpers.h"

#include <string.h>

static double *draw(const sf_mixture *m, const sf_schedule *s, double t, uint64_t seed, size_t n)
{
    sf_time tm;
    cr_assert_eq(sf_schedule_at(s, t, &tm), SF_OK, "%s", sf_last_error());
    double *x = malloc(n * sf_mixture_dim(m) * sizeof(double));
    cr_assert_eq(sf_sample_marginal(m, &tm, seed, 0, x, n), SF_OK, "%s", sf_last_error());
    return x;
}

static void run(sf_context *ctx, const sf_mixture *m, const sf_schedule *s, sf_sampler smp, double *x, size_t n)
{
    cr_assert_eq(sf_sample(ctx, m, s, &smp, x, n, 0, NULL, NULL, 0), SF_OK, "%s: %s", sf_sampler_kind_name(smp.kind),
                 sf_last_error());
}

static double *copy(const double *x, size_t count)
{
    double *y = malloc(count * sizeof(double));
    memcpy(y, x, count * sizeof(double));
    return y;
}

/* max |x - ref| over the particles after the run from x0 */
static double run_error(sf_context *ctx, const sf_mixture *m, const sf_schedule *s, sf_sampler smp, const double *x0,
                        const double *ref, size_t count)
{
    double *x = copy(x0, count), err = 0;
    run(ctx, m, s, smp, x, count / sf_mixture_dim(m));
    for (size_t i = 0; i < count; i++) err = fmax(err, fabs(x[i] - ref[i]));
    free(x);
    return err;
}

/* Three isotropic components of variance 0.3 in d = 5: smooth enough for the asymptotic regime. */
static sf_mixture *smooth_mixture(void)
{
    sf_rng rng;
    sf_rng_seed(&rng, 42);
    double w[3] = {0.5, 0.3, 0.2}, v[3] = {0.3, 0.3, 0.3}, mu[15];
    for (int i = 0; i < 15; i++) mu[i] = sf_rng_normal(&rng);
    sf_mixture *m;
    cr_assert_eq(sf_mixture_create_isotropic(&m, 5, 3, w, mu, v), SF_OK);
    return m;
}

/* Observed order: the least-squares slope of log error against log steps over N, 2N, 4N. */
Test(modern, convergence_orders)
{
    sf_context *ctx = cpu_context();
    sf_mixture *m = smooth_mixture();
    size_t n = 16, count = n * 5;
    /* theory: Euler 1; Heun 2; DPM-Solver++(2M) 2; DPM-Solver++(3M) 3 per step (its first step is
     * first order, which is negligible from t1 = 1 on vp-linear, where the denoiser barely moves);
     * UniPC with a predictor of order p: p + 1 */
    static const struct { sf_sampler_kind kind; sf_schedule_kind sched; sf_spacing spacing; int order, steps; double want; } cases[] = {
        {SF_SAMPLER_ODE_EULER, SF_SCHEDULE_FLOW, SF_SPACING_T, 0, 64, 1},
        {SF_SAMPLER_EDM_HEUN, SF_SCHEDULE_EDM, SF_SPACING_KARRAS, 0, 32, 2},
        {SF_SAMPLER_EDM_HEUN, SF_SCHEDULE_VP_LINEAR, SF_SPACING_LAMBDA, 0, 32, 2},
        {SF_SAMPLER_DPMPP_2M, SF_SCHEDULE_VP_LINEAR, SF_SPACING_LAMBDA, 0, 32, 2},
        {SF_SAMPLER_DPMPP_2M, SF_SCHEDULE_FLOW, SF_SPACING_KARRAS, 0, 32, 2},
        {SF_SAMPLER_DPMPP_3M, SF_SCHEDULE_VP_LINEAR, SF_SPACING_LAMBDA, 0, 64, 3},
        {SF_SAMPLER_UNIPC, SF_SCHEDULE_VP_LINEAR, SF_SPACING_LAMBDA, 2, 64, 3},
        {SF_SAMPLER_UNIPC, SF_SCHEDULE_VP_LINEAR, SF_SPACING_LAMBDA, 3, 128, 4},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        sf_schedule s = sf_schedule_default(cases[c].sched);
        double t1 = 1.0, t0 = 0.05;
        if (cases[c].sched == SF_SCHEDULE_EDM) t1 = 20.0, t0 = 0.05;
        if (cases[c].sched == SF_SCHEDULE_FLOW) t1 = 0.95, t0 = 0.05;
        double *x0 = draw(m, &s, t1, 9, n), *ref = copy(x0, count);
        sf_sampler fine = sf_sampler_default(SF_SAMPLER_DPM3); /* another method: DPM-Solver-3, 4096 steps */
        fine.t1 = t1, fine.t0 = t0, fine.steps = 4096, fine.spacing = SF_SPACING_LAMBDA;
        run(ctx, m, &s, fine, ref, n);
        sf_sampler smp = sf_sampler_default(cases[c].kind);
        smp.t1 = t1, smp.t0 = t0, smp.spacing = cases[c].spacing;
        if (cases[c].order) smp.order = cases[c].order;
        double lx[3], ly[3];
        for (int i = 0; i < 3; i++) {
            smp.steps = cases[c].steps << i;
            lx[i] = log(smp.steps), ly[i] = log(run_error(ctx, m, &s, smp, x0, ref, count));
        }
        double mx = (lx[0] + lx[1] + lx[2]) / 3, my = (ly[0] + ly[1] + ly[2]) / 3, sxy = 0, sxx = 0;
        for (int i = 0; i < 3; i++) sxy += (lx[i] - mx) * (ly[i] - my), sxx += (lx[i] - mx) * (lx[i] - mx);
        double order = -sxy / sxx;
        cr_log_info("%s on %s: observed order %.3f (errors %.3g %.3g %.3g)", sf_sampler_kind_name(cases[c].kind),
                    sf_schedule_kind_name(cases[c].sched), order, exp(ly[0]), exp(ly[1]), exp(ly[2]));
        cr_expect(fabs(order - cases[c].want) < 0.3, "%s (order %d) on %s: observed order %.3f (errors %.3g %.3g %.3g), theory %g",
                  sf_sampler_kind_name(cases[c].kind), cases[c].order, sf_schedule_kind_name(cases[c].sched), order,
                  exp(ly[0]), exp(ly[1]), exp(ly[2]), cases[c].want);
        free(x0), free(ref);
    }
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}
