/* CUDA backend against the CPU reference path on fresh random inputs with outliers mixed in,
 * element by element with tol * (rms(ref) + |ref|): tol = 1e-11 in float64, 1e-4 in float32
 * (the same tolerances as `scorefield check`). Skipped where there is no CUDA device.
 * Nothing here touches CUDA outside a test body: Criterion forks, and CUDA is not fork-safe. */
#include "test_helpers.h"

#include <string.h>

static void compare_backends(int d, int K, sf_workload_kinds kinds, sf_schedule_kind sched, double t,
                             sf_precision precision, size_t n, size_t max_batch, uint64_t seed)
{
    sf_rng rng;
    sf_rng_seed(&rng, seed);
    sf_mixture *m;
    cr_assert_eq(sf_workload_mixture(&m, &rng, d, K, kinds, 1.0), SF_OK);
    sf_time time = time_at(sched, t);
    double *x = malloc(n * d * sizeof(double));
    sf_workload_particles(x, n, m, &time, &rng, 0.03, precision == SF_PRECISION_F64 ? 30.0 : 4.0);
    sf_context *cpu = cpu_context(), *gpu = NULL;
    cr_assert_eq(sf_context_create(&gpu, SF_BACKEND_CUDA, precision, 0), SF_OK, "%s", sf_last_error());
    cr_assert_eq(sf_context_backend(gpu), SF_BACKEND_CUDA);
    sf_context_set_max_batch(gpu, max_batch);
    sf_outputs want = eval_all(cpu, m, &time, x, n), got = eval_all(gpu, m, &time, x, n);
    double tol = precision == SF_PRECISION_F64 ? 1e-11 : 1e-4;
    char what[96];
    snprintf(what, sizeof what, "d = %d K = %d %s", d, K, precision == SF_PRECISION_F64 ? "f64" : "f32");
    expect_outputs_close(&want, &got, n, d, K, tol, what);
    /* only some outputs asked for: the same values */
    double *score_only = malloc(n * d * sizeof(double));
    sf_outputs o = {.score = score_only};
    cr_assert_eq(sf_evaluate(gpu, m, &time, x, n, &o), SF_OK, "%s", sf_last_error());
    cr_expect(sf_compare(got.score, score_only, n * d, 1e-15, NULL) <= 1.0, "score alone differs from score with all outputs");
    free(score_only);
    free_outputs(&want);
    free_outputs(&got);
    free(x);
    sf_context_destroy(cpu);
    sf_context_destroy(gpu);
    sf_mixture_destroy(m);
}

Test(gpu, f64_all_kinds_every_schedule)
{
    require_device();
    static const sf_schedule_kind s[] = {SF_SCHEDULE_VE, SF_SCHEDULE_VP_LINEAR, SF_SCHEDULE_VP_COSINE, SF_SCHEDULE_OU};
    for (int i = 0; i < 4; i++) compare_backends(3 + 11 * i, 2 + 9 * i, SF_WORKLOAD_ALL, s[i], 0.1 + 0.2 * i, SF_PRECISION_F64, 3000, 0, 10 + i);
}

Test(gpu, f64_each_kind_large_dimension)
{
    require_device();
    for (int kind = SF_WORKLOAD_ISOTROPIC; kind <= SF_WORKLOAD_LOWRANK; kind++)
        compare_backends(256, 64, (sf_workload_kinds)kind, SF_SCHEDULE_VP_LINEAR, 0.2, SF_PRECISION_F64, 2000, 0, 20 + kind);
}

Test(gpu, f64_many_components)
{
    require_device();
    compare_backends(32, 1500, SF_WORKLOAD_ISOTROPIC, SF_SCHEDULE_VE, 0.3, SF_PRECISION_F64, 4000, 0, 30);
}

Test(gpu, f64_batches_smaller_than_n)
{
    require_device();
    compare_backends(5, 7, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_COSINE, 0.4, SF_PRECISION_F64, 1001, 37, 40);
}

Test(gpu, f32_all_kinds)
{
    require_device();
    compare_backends(8, 10, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.3, SF_PRECISION_F32, 3000, 0, 50);
    compare_backends(64, 32, SF_WORKLOAD_ISOTROPIC, SF_SCHEDULE_VE, 0.5, SF_PRECISION_F32, 3000, 0, 51);
}

Test(gpu, subspace_near_t0_and_single_particle)
{
    require_device();
    compare_backends(6, 4, SF_WORKLOAD_LOWRANK, SF_SCHEDULE_VP_LINEAR, 0.001, SF_PRECISION_F64, 500, 0, 60);
    compare_backends(3, 2, SF_WORKLOAD_ALL, SF_SCHEDULE_VE, 0.2, SF_PRECISION_F64, 1, 0, 61);
}

/* The derivative outputs and both residuals, GPU against CPU (the Laplacian at the scale of its
 * terms, rms(div) rms(score), as in tests/test_gpu_logic.c). */
static void compare_derivatives(int d, int K, sf_schedule_kind sched, double t, sf_precision precision, uint64_t seed)
{
    sf_rng rng;
    sf_rng_seed(&rng, seed);
    sf_mixture *m;
    cr_assert_eq(sf_workload_mixture(&m, &rng, d, K, SF_WORKLOAD_ALL, 1.0), SF_OK);
    sf_time time = time_at(sched, t);
    size_t n = 500, nd = n * d;
    double *x = malloc(nd * 8), *v = malloc(nd * 8);
    sf_workload_particles(x, n, m, &time, &rng, 0.03, precision == SF_PRECISION_F64 ? 30.0 : 4.0);
    for (size_t i = 0; i < nd; i++) v[i] = sf_rng_normal(&rng);
    double *buf[2][12];
    size_t sizes[12] = {nd, nd, nd, nd * d, nd, n, nd, n, nd, n, nd, n};
    static const char *const names[12] = {"score", "lap", "hvp", "hessian", "dt_score", "dt_logp", "dtau_score",
                                          "dtau_logp", "residual", "residual_scale", "residual_t", "residual_t_scale"};
    sf_context *ctx[2] = {cpu_context(), NULL};
    cr_assert_eq(sf_context_create(&ctx[1], SF_BACKEND_CUDA, precision, 0), SF_OK, "%s", sf_last_error());
    for (int b = 0; b < 2; b++) {
        for (int o = 0; o < 12; o++) buf[b][o] = malloc(sizes[o] * 8);
        sf_outputs out = {.score = buf[b][0], .lap = buf[b][1], .hvp = buf[b][2], .hvp_dir = v, .hessian = buf[b][3],
                          .dt_score = buf[b][4], .dt_logp = buf[b][5], .dtau_score = buf[b][6], .dtau_logp = buf[b][7],
                          .residual = buf[b][8], .residual_scale = buf[b][9], .residual_t = buf[b][10],
                          .residual_t_scale = buf[b][11]};
        cr_assert_eq(sf_evaluate(ctx[b], m, &time, x, n, &out), SF_OK, "%s", sf_last_error());
    }
    double tol = precision == SF_PRECISION_F64 ? 1e-11 : 1e-4;
    for (int o = 0; o < 12; o++) {
        size_t at;
        double scale = o == 1 ? 0 : sf_rms(buf[0][o], sizes[o]);
        if (o == 1) { /* the Laplacian at the scale of its terms */
            double *div = malloc(n * 8);
            sf_outputs od = {.div = div};
            sf_evaluate(ctx[0], m, &time, x, n, &od);
            scale = sf_rms(div, n) * sf_rms(buf[0][0], nd);
            free(div);
        }
        if (o == 8 || o == 10) scale = sf_rms(buf[0][o + 1], n); /* residuals: at the scale of their terms */
        double worst = sf_compare_scaled(buf[0][o], buf[1][o], sizes[o], tol, scale, &at);
        cr_expect(worst <= 1.0, "%s d = %d K = %d: worst %.3g x tol %g at %zu (cpu %.17g, gpu %.17g)", names[o], d, K,
                  worst, tol, at, buf[0][o][at], buf[1][o][at]);
    }
    for (int b = 0; b < 2; b++) {
        for (int o = 0; o < 12; o++) free(buf[b][o]);
        sf_context_destroy(ctx[b]);
    }
    free(x), free(v);
    sf_mixture_destroy(m);
}

Test(gpu, derivatives_and_residuals_f64)
{
    require_device();
    compare_derivatives(3, 5, SF_SCHEDULE_VP_LINEAR, 0.2, SF_PRECISION_F64, 70);
    compare_derivatives(17, 9, SF_SCHEDULE_VE, 0.4, SF_PRECISION_F64, 71);
    compare_derivatives(40, 3, SF_SCHEDULE_VP_COSINE, 0.3, SF_PRECISION_F64, 72);
}

Test(gpu, derivatives_and_residuals_f32)
{
    require_device();
    compare_derivatives(4, 6, SF_SCHEDULE_VP_LINEAR, 0.3, SF_PRECISION_F32, 73);
}

/* Sampling with particles resident on the device: the same seed gives the CPU trajectories to
 * float64 rounding accumulated over the steps (1e-8 relative to the particles' rms). */
Test(gpu, sampler_trajectories_match_the_cpu)
{
    require_device();
    sf_rng rng;
    sf_rng_seed(&rng, 80);
    sf_mixture *m;
    cr_assert_eq(sf_workload_mixture(&m, &rng, 6, 5, SF_WORKLOAD_ALL, 1.0), SF_OK);
    sf_schedule s = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    sf_time start;
    sf_schedule_at(&s, 1.0, &start);
    size_t n = 2000, nd = n * 6;
    static const int cls[2] = {1, 3};
    static const sf_sampler_kind kinds[4] = {SF_SAMPLER_EM, SF_SAMPLER_HEUN, SF_SAMPLER_DDPM, SF_SAMPLER_DPM3};
    sf_context *cpu = cpu_context(), *gpu = NULL;
    cr_assert_eq(sf_context_create(&gpu, SF_BACKEND_CUDA, SF_PRECISION_F64, 0), SF_OK, "%s", sf_last_error());
    for (int k = 0; k < 4; k++) {
        sf_sampler smp = sf_sampler_default(kinds[k]);
        smp.t1 = 1.0, smp.t0 = 0.02, smp.steps = 40, smp.seed = 11;
        if (k == 3) smp.class_components = cls, smp.class_size = 2, smp.guidance = 1.5;
        double *a = malloc(nd * 8), *b = malloc(nd * 8);
        cr_assert_eq(sf_sample_marginal(m, &start, 5, 0, a, n), SF_OK);
        memcpy(b, a, nd * 8);
        cr_assert_eq(sf_sample(cpu, m, &s, &smp, a, n, 7, NULL, NULL, 0), SF_OK, "%s", sf_last_error());
        /* on the device: in chunks of 300 particles (max batch), shifted by 7 like the CPU run */
        sf_context_set_max_batch(gpu, 300);
        cr_assert_eq(sf_sample(gpu, m, &s, &smp, b, n, 7, NULL, NULL, 0), SF_OK, "%s", sf_last_error());
        sf_context_set_max_batch(gpu, 0);
        size_t at;
        double worst = sf_compare_scaled(a, b, nd, 1e-8, sf_rms(a, nd), &at);
        cr_expect(worst <= 1.0, "%s: worst %.3g x tol at %zu (cpu %.17g, gpu %.17g)", sf_sampler_kind_name(kinds[k]), worst,
                  at, a[at], b[at]);
        free(a), free(b);
    }
    sf_context_destroy(cpu), sf_context_destroy(gpu);
    sf_mixture_destroy(m);
}

/* A trajectory callback that itself evaluates on the same context (it may regrow the device
 * workspace) must not disturb the run: frames equal a plain run's result at the end. */
static sf_status frame_evaluates(void *data, int step, double t, const double *x, size_t n, int d)
{
    (void)step, (void)d;
    void **args = data;
    sf_context *ctx = args[0];
    const sf_mixture *m = args[1];
    const sf_schedule *s = args[2];
    sf_time tm;
    sf_schedule_at(s, t, &tm);
    double *div = malloc(n * sizeof(double));
    sf_outputs o = {.div = div, .hessian = NULL};
    sf_status st = sf_evaluate(ctx, m, &tm, x, n, &o);
    free(div);
    return st;
}

Test(gpu, sampler_with_trajectory_callback)
{
    require_device();
    sf_rng rng;
    sf_rng_seed(&rng, 81);
    sf_mixture *m;
    cr_assert_eq(sf_workload_mixture(&m, &rng, 4, 3, SF_WORKLOAD_ALL, 1.0), SF_OK);
    sf_schedule s = sf_schedule_default(SF_SCHEDULE_VE);
    sf_time start;
    sf_schedule_at(&s, 0.9, &start);
    size_t n = 500, nd = n * 4;
    sf_context *gpu = NULL;
    cr_assert_eq(sf_context_create(&gpu, SF_BACKEND_CUDA, SF_PRECISION_F64, 0), SF_OK, "%s", sf_last_error());
    sf_sampler smp = sf_sampler_default(SF_SAMPLER_DPM2);
    smp.t1 = 0.9, smp.t0 = 0.05, smp.steps = 20;
    double *a = malloc(nd * 8), *b = malloc(nd * 8);
    sf_sample_marginal(m, &start, 3, 0, a, n);
    memcpy(b, a, nd * 8);
    void *args[3] = {gpu, m, &s};
    cr_assert_eq(sf_sample(gpu, m, &s, &smp, a, n, 0, frame_evaluates, args, 3), SF_OK, "%s", sf_last_error());
    cr_assert_eq(sf_sample(gpu, m, &s, &smp, b, n, 0, NULL, NULL, 0), SF_OK, "%s", sf_last_error());
    for (size_t i = 0; i < nd; i++) cr_expect_eq(a[i], b[i], "element %zu", i);
    free(a), free(b);
    sf_context_destroy(gpu);
    sf_mixture_destroy(m);
}

Test(gpu, bad_device_is_reported)
{
    require_device();
    sf_context *ctx = NULL;
    cr_expect_eq(sf_context_create(&ctx, SF_BACKEND_CUDA, SF_PRECISION_F64, 999), SF_ERR_NO_CUDA);
    cr_expect(strstr(sf_last_error(), "999") != NULL, "%s", sf_last_error());
}

/* Runs everywhere: without a device the CUDA backend says so, and AUTO falls back to the CPU. */
Test(backend, cuda_without_device_says_why)
{
    const char *why = NULL;
    if (sf_cuda_device_count(&why) > 0) cr_skip_test("a CUDA device is present; this test is for machines without one");
    sf_context *ctx = NULL;
    cr_expect_eq(sf_context_create(&ctx, SF_BACKEND_CUDA, SF_PRECISION_F64, 0), SF_ERR_NO_CUDA);
    cr_expect(strlen(sf_last_error()) > 0);
    cr_assert_eq(sf_context_create(&ctx, SF_BACKEND_AUTO, SF_PRECISION_F64, 0), SF_OK);
    cr_expect_eq(sf_context_backend(ctx), SF_BACKEND_CPU);
    sf_context_destroy(ctx);
}
