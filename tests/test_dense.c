/* The CPU reference path against an independent dense route (d x d covariances, Cholesky in long
 * double) on random mixtures of every covariance kind, d from 1 to 128, K from 1 to 33, every
 * schedule: agreement to 1e-9 relative (tol * (rms + |ref|), see sfi_compare). */
#include "dense_reference.h"
#include "test_helpers.h"

#define DENSE_TOL 1e-9

static void check_against_dense_at(int d, int K, sf_workload_kinds kinds, sf_time time, uint64_t seed)
{
    sf_rng rng;
    sfi_rng_seed(&rng, seed);
    sf_mixture *m = NULL;
    cr_assert_eq(sfi_workload_mixture(&m, &rng, d, K, kinds, 1.0), SF_OK, "%s", sf_last_error());
    enum { N = 6 };
    double *x = malloc(N * d * sizeof(double));
    sfi_workload_particles(x, N, m, &time, &rng, 0.0, 0.0);
    for (int i = 0; i < d; i++) x[(N - 1) * d + i] = 3.0 * sfi_rng_normal(&rng); /* one far-ish particle */
    sf_context *ctx = cpu_context();
    sf_outputs got = eval_all(ctx, m, &time, x, N);
    double *want[5] = {malloc(N * d * sizeof(double)), malloc(N * sizeof(double)), malloc(N * K * sizeof(double)),
                       malloc(N * sizeof(double)), malloc(N * d * sizeof(double))};
    for (int p = 0; p < N; p++)
        cr_assert(dense_fields(m, &time, x + p * d, want[1] + p, want[0] + p * d, want[2] + p * K, want[3] + p,
                               want[4] + p * d), "dense route failed (d = %d, K = %d)", d, K);
    sf_outputs dense = {.score = want[0], .logp = want[1], .resp = want[2], .div = want[3], .denoise = want[4]};
    char what[96];
    snprintf(what, sizeof what, "d = %d K = %d alpha = %g sigma = %g (dense vs cpu)", d, K, time.alpha, time.sigma);
    expect_outputs_close(&dense, &got, N, d, K, DENSE_TOL, what);
    for (int o = 0; o < 5; o++) free(want[o]);
    free_outputs(&got);
    free(x);
    sf_context_destroy(ctx);
    sf_mixture_destroy(m);
}

static void check_against_dense(int d, int K, sf_workload_kinds kinds, sf_schedule_kind sched, double t, uint64_t seed)
{
    check_against_dense_at(d, K, kinds, time_at(sched, t), seed);
}

static const sf_schedule_kind schedules[] = {SF_SCHEDULE_VE, SF_SCHEDULE_VP_LINEAR, SF_SCHEDULE_VP_COSINE, SF_SCHEDULE_OU};
static const double times[] = {0.3, 0.15, 0.5, 0.2};

Test(dense, all_kinds_small_dimensions)
{
    uint64_t seed = 100;
    for (int d = 1; d <= 8; d++)
        for (int s = 0; s < 4; s++) check_against_dense(d, 1 + (d * 5 + s * 7) % 33, SF_WORKLOAD_ALL, schedules[s], times[s], seed++);
}

Test(dense, each_kind_alone)
{
    uint64_t seed = 200;
    for (int kind = SF_WORKLOAD_ISOTROPIC; kind <= SF_WORKLOAD_LOWRANK; kind++)
        for (int s = 0; s < 4; s++) check_against_dense(12, 9, (sf_workload_kinds)kind, schedules[s], times[s], seed++);
}

Test(dense, large_dimensions_and_components)
{
    static const int dims[] = {16, 33, 64, 128};
    static const int comps[] = {33, 17, 5, 33};
    uint64_t seed = 300;
    for (int i = 0; i < 4; i++) check_against_dense(dims[i], comps[i], SF_WORKLOAD_ALL, schedules[i], times[i], seed++);
}

Test(dense, small_and_large_times)
{
    /* near the data (subspace components barely smoothed) and deep in the noise */
    check_against_dense(6, 7, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.01, 400);
    check_against_dense(6, 7, SF_WORKLOAD_ALL, SF_SCHEDULE_VE, 0.0, 401);
    check_against_dense(6, 7, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_COSINE, 0.99, 402);
    check_against_dense(6, 7, SF_WORKLOAD_ALL, SF_SCHEDULE_VE, 1.0, 403);
}

Test(dense, direct_alpha_sigma_pairs)
{
    static const double pairs[3][2] = {{0.9, 0.05}, {0.3, 1.2}, {2.0, 0.4}};
    for (int i = 0; i < 3; i++) {
        sf_schedule s = sf_schedule_default(SF_SCHEDULE_DIRECT);
        s.alpha = pairs[i][0], s.sigma = pairs[i][1];
        sf_time t;
        cr_assert_eq(sf_schedule_at(&s, 0, &t), SF_OK);
        check_against_dense_at(5 + 7 * i, 4 + 9 * i, SF_WORKLOAD_ALL, t, 500 + i);
    }
}
