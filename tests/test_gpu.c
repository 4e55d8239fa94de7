/* CUDA backend against the CPU reference path on fresh random inputs with outliers mixed in,
 * element by element with tol * (rms(ref) + |ref|): tol = 1e-11 in float64, 1e-4 in float32
 * (the same tolerances as `scorefield check`). Skipped where there is no CUDA device.
 * Nothing here touches CUDA outside a test body: Criterion forks, and CUDA is not fork-safe. */
#include "test_helpers.h"

#include <string.h>

static void require_device(void)
{
    const char *why = NULL;
    if (sf_cuda_device_count(&why) == 0) cr_skip_test("no CUDA device: %s", why ? why : "none found");
}

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
