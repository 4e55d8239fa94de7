/* Plans: a plan moved through several times by sf_plan_set_time gives, at each time, what the
 * independent dense route gives there (so a stale time-dependent array would show), including
 * the heat-frame outputs; a refused time leaves the plan refusing to evaluate until a valid time
 * is set; argument errors are reported, not crashed on. Every backend the build has. */
#include "dense_reference.h"
#include "test_helpers.h"

#include <string.h>

/* Score, log p, resp, div, denoiser at each of the times, from one plan, against the dense route. */
static void plan_follows_time(sf_backend backend, sf_workload_kinds kinds, uint64_t seed)
{
    enum { N = 5, D = 6, K = 7 };
    sf_rng rng;
    sfi_rng_seed(&rng, seed);
    sf_mixture *m = NULL;
    cr_assert_eq(sfi_workload_mixture(&m, &rng, D, K, kinds, 1.0), SF_OK, "%s", sf_last_error());
    sf_context *ctx = NULL;
    cr_assert_eq(sf_context_create(&ctx, backend, SF_PRECISION_F64, 0), SF_OK, "%s", sf_last_error());
    const double ts[] = {0.9, 0.4, 0.05, 0.4, 0.7};
    sf_plan *plan = NULL;
    sf_time t0 = time_at(SF_SCHEDULE_VP_LINEAR, ts[0]);
    cr_assert_eq(sf_plan_create(&plan, ctx, m, &t0), SF_OK, "%s", sf_last_error());
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        sf_time t = time_at(SF_SCHEDULE_VP_LINEAR, ts[i]);
        cr_assert_eq(sf_plan_set_time(plan, &t), SF_OK, "%s", sf_last_error());
        double x[N * D];
        sfi_workload_particles(x, N, m, &t, &rng, 0.2, 5.0);
        double score[N * D], logp[N], resp[N * K], div[N], den[N * D];
        sf_outputs got = {.score = score, .logp = logp, .resp = resp, .div = div, .denoise = den};
        cr_assert_eq(sf_plan_evaluate(plan, x, N, &got), SF_OK, "%s", sf_last_error());
        double ws[N * D], wl[N], wr[N * K], wd[N], we[N * D];
        for (int p = 0; p < N; p++)
            cr_assert(dense_fields(m, &t, x + p * D, wl + p, ws + p * D, wr + p * K, wd + p, we + p * D));
        sf_outputs want = {.score = ws, .logp = wl, .resp = wr, .div = wd, .denoise = we};
        char what[96];
        snprintf(what, sizeof what, "%s plan moved to t = %g (step %zu)", sf_backend_name(backend), ts[i], i);
        expect_outputs_close(&want, &got, N, D, K, 1e-9, what);
    }
    sf_plan_destroy(plan);
    sf_context_destroy(ctx);
    sf_mixture_destroy(m);
}

Test(plan, follows_its_time_reference)
{
    plan_follows_time(SF_BACKEND_REFERENCE, SF_WORKLOAD_ALL, 11);
}

Test(plan, follows_its_time_cpu)
{
    plan_follows_time(SF_BACKEND_CPU, SF_WORKLOAD_ALL, 12);
}

Test(gpu, plan_follows_its_time)
{
    require_device();
    plan_follows_time(SF_BACKEND_CUDA, SF_WORKLOAD_ALL, 13);
}

/* Heat-frame outputs (d u / d tau) from a plan moved in time equal those of a fresh plan (each is
 * checked against differences elsewhere: test_burgers); the data frame must not leak into them. */
Test(plan, heat_frame_follows_time)
{
    sf_rng rng;
    sfi_rng_seed(&rng, 21);
    sf_mixture *m = NULL;
    cr_assert_eq(sfi_workload_mixture(&m, &rng, 3, 4, SF_WORKLOAD_ALL, 1.0), SF_OK);
    sf_context *ctx = cpu_context();
    sf_time a = time_at(SF_SCHEDULE_VE, 0.6), b = time_at(SF_SCHEDULE_VE, 0.2);
    double x[3 * 4];
    sfi_workload_particles(x, 4, m, &b, &rng, 0.0, 0.0);
    sf_plan *plan = NULL;
    cr_assert_eq(sf_plan_create(&plan, ctx, m, &a), SF_OK);
    double moved[12], fresh[12], scratch[12];
    sf_outputs o = {.dtau_score = scratch};
    cr_assert_eq(sf_plan_evaluate(plan, x, 4, &o), SF_OK); /* builds the heat frame at a */
    cr_assert_eq(sf_plan_set_time(plan, &b), SF_OK);
    o.dtau_score = moved;
    cr_assert_eq(sf_plan_evaluate(plan, x, 4, &o), SF_OK);
    o.dtau_score = fresh;
    cr_assert_eq(sf_evaluate(ctx, m, &b, x, 4, &o), SF_OK);
    for (int i = 0; i < 12; i++) cr_expect_eq(moved[i], fresh[i], "element %d: %.17g vs %.17g", i, moved[i], fresh[i]);
    cr_expect(memcmp(moved, scratch, sizeof moved) != 0, "the heat frame did not move");
    sf_plan_destroy(plan);
    sf_context_destroy(ctx);
    sf_mixture_destroy(m);
}

/* Data on a subspace is singular at sigma = 0: the plan refuses that time and then refuses to
 * evaluate until it is given a valid one. */
Test(plan, refused_time_blocks_evaluation)
{
    const double mean[2] = {0, 0}, basis[2] = {1, 0}, eig[1] = {1};
    sf_mixture *m = NULL;
    cr_assert_eq(sf_mixture_create(&m, 2), SF_OK);
    cr_assert_eq(sf_mixture_add_lowrank(m, 1.0, mean, 0.0, 1, basis, eig), SF_OK);
    sf_context *ctx = cpu_context();
    sf_time good = time_at(SF_SCHEDULE_VP_LINEAR, 0.3), zero = time_at(SF_SCHEDULE_VP_LINEAR, 0.0);
    sf_plan *plan = NULL;
    cr_assert_eq(sf_plan_create(&plan, ctx, m, &good), SF_OK);
    cr_expect_eq(sf_plan_set_time(plan, &zero), SF_ERR_INVALID);
    cr_expect(strstr(sf_last_error(), "singular") != NULL, "%s", sf_last_error());
    double x[2] = {0.1, 0.2}, s[2];
    sf_outputs o = {.score = s};
    cr_expect_eq(sf_plan_evaluate(plan, x, 1, &o), SF_ERR_INVALID);
    cr_assert_eq(sf_plan_set_time(plan, &good), SF_OK);
    cr_expect_eq(sf_plan_evaluate(plan, x, 1, &o), SF_OK, "%s", sf_last_error());
    sf_plan *none = (sf_plan *)1;
    cr_expect_eq(sf_plan_create(&none, ctx, m, &zero), SF_ERR_INVALID);
    cr_expect_null(none);
    sf_plan_destroy(plan);
    sf_context_destroy(ctx);
    sf_mixture_destroy(m);
}

Test(plan, null_arguments_are_errors)
{
    sf_mixture *m = NULL;
    const double mean[1] = {0};
    cr_assert_eq(sf_mixture_create(&m, 1), SF_OK);
    cr_assert_eq(sf_mixture_add_isotropic(m, 1.0, mean, 1.0), SF_OK);
    sf_context *ctx = cpu_context();
    sf_time t = time_at(SF_SCHEDULE_VE, 0.5);
    sf_plan *plan = NULL;
    cr_expect_eq(sf_plan_create(NULL, ctx, m, &t), SF_ERR_INVALID);
    cr_expect_eq(sf_plan_create(&plan, NULL, m, &t), SF_ERR_INVALID);
    cr_expect_eq(sf_plan_create(&plan, ctx, NULL, &t), SF_ERR_INVALID);
    cr_expect_eq(sf_plan_create(&plan, ctx, m, NULL), SF_ERR_INVALID);
    cr_assert_eq(sf_plan_create(&plan, ctx, m, &t), SF_OK);
    double s[1];
    sf_outputs o = {.score = s};
    cr_expect_eq(sf_plan_evaluate(NULL, s, 1, &o), SF_ERR_INVALID);
    cr_expect_eq(sf_plan_evaluate(plan, NULL, 1, &o), SF_ERR_INVALID);
    cr_expect_eq(sf_plan_evaluate(plan, s, 1, NULL), SF_ERR_INVALID);
    cr_expect_eq(sf_plan_set_time(NULL, &t), SF_ERR_INVALID);
    cr_expect_eq(sf_plan_set_time(plan, NULL), SF_ERR_INVALID);
    sf_plan_destroy(NULL);
    sf_plan_destroy(plan);
    sf_context_destroy(ctx);
    sf_mixture_destroy(m);
}
