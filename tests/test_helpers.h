/* Small helpers shared by the tests. */
#ifndef SF_TEST_HELPERS_H
#define SF_TEST_HELPERS_H

#include "scorefield.h"
#include "workload.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* |got - want| <= tol * max(1, |want|) ("rel" in docs/). */
#define expect_rel(got, want, tol, ...)                                                                \
    do {                                                                                               \
        double g_ = (got), w_ = (want);                                                                \
        cr_expect(fabs(g_ - w_) <= (tol) * fmax(1.0, fabs(w_)), __VA_ARGS__);                          \
        if (!(fabs(g_ - w_) <= (tol) * fmax(1.0, fabs(w_))))                                           \
            cr_log_error("  got %.17g want %.17g (diff %.3g)", g_, w_, g_ - w_);                       \
    } while (0)

/* GPU tests call this first: without a device they skip (ctest reports them as skipped), except
 * under SF_REQUIRE_DEVICE=1 (the GPU suite on a GPU machine), where a missing device is a failure. */
static inline void require_device(void)
{
    const char *why = NULL;
    if (sf_cuda_device_count(&why) > 0) return;
    const char *required = getenv("SF_REQUIRE_DEVICE");
    if (required && required[0] == '1') cr_assert_fail("no CUDA device although SF_REQUIRE_DEVICE=1: %s", why ? why : "none found");
    cr_skip_test("no CUDA device: %s", why ? why : "none found");
}

static inline sf_time time_at(sf_schedule_kind kind, double t)
{
    sf_schedule s = sf_schedule_default(kind);
    sf_time out;
    cr_assert_eq(sf_schedule_at(&s, t, &out), SF_OK, "%s", sf_last_error());
    return out;
}

static inline sf_context *cpu_context(void)
{
    sf_context *ctx = NULL;
    cr_assert_eq(sf_context_create(&ctx, SF_BACKEND_CPU, SF_PRECISION_F64, 0), SF_OK, "%s", sf_last_error());
    return ctx;
}

/* Evaluates everything for n particles; arrays allocated here, caller frees with free_outputs. */
static inline sf_outputs eval_all(sf_context *ctx, const sf_mixture *m, const sf_time *t, const double *x, size_t n)
{
    int d = sf_mixture_dim(m), K = sf_mixture_count(m);
    sf_outputs o = {.score = malloc(n * d * sizeof(double)), .logp = malloc(n * sizeof(double)), .resp = malloc(n * K * sizeof(double)), .div = malloc(n * sizeof(double)), .denoise = malloc(n * d * sizeof(double))};
    cr_assert_eq(sf_evaluate(ctx, m, t, x, n, &o), SF_OK, "%s", sf_last_error());
    return o;
}

static inline void free_outputs(sf_outputs *o)
{
    free(o->score), free(o->logp), free(o->resp), free(o->div), free(o->denoise);
}

/* Every output of got within tol of ref (sfi_compare_outputs); `what` describes the case. */
static inline void expect_outputs_close(const sf_outputs *ref, const sf_outputs *got, size_t n, int d, int K,
                                        double tol, const char *what)
{
    sf_output_diff diffs[5];
    sfi_compare_outputs(ref, got, n, d, K, tol, diffs);
    for (int o = 0; o < 5; o++)
        cr_expect(diffs[o].worst <= 1.0, "%s: %s worst %.3g x tol %g at %zu (ref %.17g, got %.17g)", what,
                  diffs[o].name, diffs[o].worst, tol, diffs[o].at, diffs[o].ref, diffs[o].got);
}

#endif
