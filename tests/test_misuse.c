/* Library misuse: every public function of include/scorefield.h called with NULL pointers and
 * out-of-range indices, counts and sizes. None may crash (each Test runs in its own process, so a
 * crash is reported as one), every fallible one returns SF_ERR_INVALID with a message, and the
 * accessors return their documented sentinel with a message. The last test reads the header and
 * fails if a public function is missing from the list of functions exercised here. Run under the
 * sanitizer build too (tests/run.sh). */
#include "status.h"

#include <criterion/criterion.h>
#include <scorefield.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SF_PROJECT_DIR
#error "SF_PROJECT_DIR (the project root, to read include/scorefield.h) must be defined by the build"
#endif

/* A call that must be refused as invalid, with a message. */
#define EXPECT_INVALID(call)                                                                                     \
    do {                                                                                                         \
        sfi_error_clear();                                                                                       \
        sf_status st_ = (call);                                                                                  \
        cr_expect_eq(st_, SF_ERR_INVALID, "%s returned %d (%s), expected SF_ERR_INVALID", #call, (int)st_,        \
                     sf_last_error());                                                                           \
        cr_expect(sf_last_error()[0] != '\0', "%s: no message", #call);                                          \
    } while (0)

/* An accessor given bad arguments: its sentinel, and a message. */
#define EXPECT_SENTINEL(call, equal)                                                                             \
    do {                                                                                                         \
        sfi_error_clear();                                                                                       \
        cr_expect(equal(call), "%s did not return its sentinel", #call);                                         \
        cr_expect(sf_last_error()[0] != '\0', "%s: no message", #call);                                          \
    } while (0)

/* A void function given bad arguments: it returns, with a message. */
#define EXPECT_MESSAGE(call)                                                                                     \
    do {                                                                                                         \
        sfi_error_clear();                                                                                       \
        call;                                                                                                    \
        cr_expect(sf_last_error()[0] != '\0', "%s: no message", #call);                                          \
    } while (0)

#define IS_NULL(v) ((v) == NULL)
#define IS_ZERO(v) ((v) == 0)
#define IS_MINUS_ONE(v) ((int)(v) == -1)
#define IS_NAN(v) isnan(v)

/* A huge count: with the dimension or the component count its product overflows size_t. */
#define HUGE_N ((size_t)1 << 62)

/* ---------------------------------------------------------------- fixture */

static sf_context *ctx;
static sf_mixture *mix, *empty;
static sf_time t;
static sf_schedule vp;
static double x[6] = {0.1, -0.2, 1.0, 0.5, -0.7, 1.9}, out6[6], out3[3], scalar, scalar2;
static const double mu[2] = {1, 0}, var2[2] = {0.1, 0.2}, basis[2] = {0.6, 0.8}, eig[1] = {0.5};

static void setup(void)
{
    cr_assert_eq(sf_context_create(&ctx, SF_BACKEND_CPU, SF_PRECISION_F64, 0), SF_OK);
    cr_assert_eq(sf_mixture_create(&mix, 2), SF_OK);
    cr_assert_eq(sf_mixture_add_isotropic(mix, 0.5, mu, 0.1), SF_OK);
    cr_assert_eq(sf_mixture_add_diagonal(mix, 0.3, mu, var2), SF_OK);
    cr_assert_eq(sf_mixture_add_lowrank(mix, 0.2, mu, 0.0, 1, basis, eig), SF_OK);
    cr_assert_eq(sf_mixture_create(&empty, 2), SF_OK);
    vp = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    cr_assert_eq(sf_schedule_at(&vp, 0.5, &t), SF_OK);
}

static void teardown(void)
{
    sf_mixture_destroy(mix);
    sf_mixture_destroy(empty);
    sf_context_destroy(ctx);
}

TestSuite(misuse, .init = setup, .fini = teardown);

/* ---------------------------------------------------------------- status, names, context */

Test(misuse, names_of_unknown_values)
{
    cr_expect_not_null(sf_last_error());
    cr_expect_not_null(sf_status_name((sf_status)99));
    cr_expect_not_null(sf_backend_name((sf_backend)99));
    cr_expect_not_null(sf_schedule_kind_name((sf_schedule_kind)-5));
    cr_expect_not_null(sf_sampler_kind_name((sf_sampler_kind)99));
    sf_schedule s = sf_schedule_default((sf_schedule_kind)99); /* a value, checked when used */
    sf_time tm;
    EXPECT_INVALID(sf_schedule_at(&s, 0.5, &tm));
    sf_sampler smp = sf_sampler_default((sf_sampler_kind)99);
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &smp, x, 3, 0, NULL, NULL, 1));
}

Test(misuse, context)
{
    sf_context *c;
    sf_backend b;
    char buf[64];
    EXPECT_INVALID(sf_context_create(NULL, SF_BACKEND_CPU, SF_PRECISION_F64, 0));
    EXPECT_INVALID(sf_context_create(&c, (sf_backend)77, SF_PRECISION_F64, 0));
    EXPECT_INVALID(sf_context_create(&c, SF_BACKEND_CPU, (sf_precision)77, 0));
    EXPECT_INVALID(sf_backend_parse(NULL, &b));
    EXPECT_INVALID(sf_backend_parse("cpu", NULL));
    EXPECT_INVALID(sf_cuda_device_describe(0, NULL, 64));
    EXPECT_INVALID(sf_cuda_device_describe(0, buf, 0));
    EXPECT_INVALID(sf_cuda_device_describe(-1, buf, sizeof buf));
    EXPECT_SENTINEL(sf_context_backend(NULL), SF_BACKEND_AUTO ==);
    EXPECT_SENTINEL(sf_context_precision(NULL), IS_MINUS_ONE);
    EXPECT_MESSAGE(sf_context_set_max_batch(NULL, 10));
    sf_context_destroy(NULL);
    cr_expect(sf_cuda_built() == 0 || sf_cuda_built() == 1);
    cr_expect_geq(sf_cuda_device_count(NULL), 0);
}

/* ---------------------------------------------------------------- schedules */

Test(misuse, schedules)
{
    sf_schedule_kind k;
    sf_time tm;
    double tt;
    EXPECT_INVALID(sf_schedule_kind_parse(NULL, &k));
    EXPECT_INVALID(sf_schedule_kind_parse("ve", NULL));
    EXPECT_INVALID(sf_schedule_at(NULL, 0.5, &tm));
    EXPECT_INVALID(sf_schedule_at(&vp, 0.5, NULL));
    EXPECT_INVALID(sf_schedule_at(&vp, 2.0, &tm));
    EXPECT_INVALID(sf_schedule_at(&vp, NAN, &tm));
    EXPECT_INVALID(sf_time_heat(0.5, NULL));
    EXPECT_INVALID(sf_time_heat(-1.0, &tm));
    EXPECT_INVALID(sf_schedule_t_of_tau(NULL, 0.5, &tt));
    EXPECT_INVALID(sf_schedule_t_of_tau(&vp, 0.5, NULL));
    EXPECT_INVALID(sf_schedule_t_of_tau(&vp, -1.0, &tt));
}

/* ---------------------------------------------------------------- mixtures */

Test(misuse, mixture_construction)
{
    sf_mixture *m;
    const double w[2] = {1, 1}, means[4] = {0, 0, 1, 1}, vars[2] = {0.1, 0.1};
    EXPECT_INVALID(sf_mixture_create(NULL, 2));
    EXPECT_INVALID(sf_mixture_create(&m, 0));
    EXPECT_INVALID(sf_mixture_add_isotropic(NULL, 1, mu, 0.1));
    EXPECT_INVALID(sf_mixture_add_isotropic(mix, 1, NULL, 0.1));
    EXPECT_INVALID(sf_mixture_add_diagonal(NULL, 1, mu, var2));
    EXPECT_INVALID(sf_mixture_add_diagonal(mix, 1, NULL, var2));
    EXPECT_INVALID(sf_mixture_add_diagonal(mix, 1, mu, NULL));
    EXPECT_INVALID(sf_mixture_add_lowrank(NULL, 1, mu, 0.1, 1, basis, eig));
    EXPECT_INVALID(sf_mixture_add_lowrank(mix, 1, NULL, 0.1, 1, basis, eig));
    EXPECT_INVALID(sf_mixture_add_lowrank(mix, 1, mu, 0.1, 1, NULL, eig));
    EXPECT_INVALID(sf_mixture_add_lowrank(mix, 1, mu, 0.1, 1, basis, NULL));
    EXPECT_INVALID(sf_mixture_add_lowrank(mix, 1, mu, 0.1, 3, basis, eig));
    EXPECT_INVALID(sf_mixture_add_lowrank(mix, 1, mu, 0.1, -1, basis, eig));
    EXPECT_INVALID(sf_mixture_create_isotropic(NULL, 2, 2, w, means, vars));
    EXPECT_INVALID(sf_mixture_create_isotropic(&m, 2, 0, w, means, vars));
    EXPECT_INVALID(sf_mixture_create_isotropic(&m, 2, -3, w, means, vars));
    EXPECT_INVALID(sf_mixture_create_isotropic(&m, 2, 2, NULL, means, vars));
    EXPECT_INVALID(sf_mixture_create_isotropic(&m, 2, 2, w, NULL, vars));
    EXPECT_INVALID(sf_mixture_create_isotropic(&m, 2, 2, w, means, NULL));
    EXPECT_INVALID(sf_mixture_create_isotropic(&m, 0, 2, w, means, vars));
    EXPECT_INVALID(sf_mixture_read_json(NULL, SF_PROJECT_DIR "/examples/three_kinds.json"));
    EXPECT_INVALID(sf_mixture_read_json(&m, NULL));
    EXPECT_INVALID(sf_mixture_check_time(NULL, &t));
    EXPECT_INVALID(sf_mixture_check_time(mix, NULL));
    EXPECT_INVALID(sf_mixture_check_time(empty, &t));
    sf_mixture_destroy(NULL);
    cr_expect_eq(sf_mixture_count(mix), 3, "refused additions left the mixture as it was");
}

Test(misuse, mixture_accessors)
{
    int rank = 7;
    EXPECT_SENTINEL(sf_mixture_dim(NULL), IS_ZERO);
    EXPECT_SENTINEL(sf_mixture_count(NULL), IS_ZERO);
    static const int bad[3] = {-1, 3, 1000000};
    for (int b = 0; b < 3; b++) {
        int k = bad[b];
        EXPECT_SENTINEL(sf_mixture_kind(mix, k), IS_MINUS_ONE);
        EXPECT_SENTINEL(sf_mixture_rank(mix, k), IS_MINUS_ONE);
        EXPECT_SENTINEL(sf_mixture_weight(mix, k), IS_NAN);
        EXPECT_SENTINEL(sf_mixture_mean(mix, k), IS_NULL);
        EXPECT_SENTINEL(sf_mixture_variances(mix, k), IS_NULL);
        EXPECT_SENTINEL(sf_mixture_basis(mix, k, &rank), IS_NULL);
        cr_expect_eq(rank, -1, "sf_mixture_basis(k = %d) rank %d", k, rank);
        EXPECT_SENTINEL(sf_mixture_codimension(mix, k), IS_MINUS_ONE);
    }
    EXPECT_SENTINEL(sf_mixture_kind(NULL, 0), IS_MINUS_ONE);
    EXPECT_SENTINEL(sf_mixture_rank(NULL, 0), IS_MINUS_ONE);
    EXPECT_SENTINEL(sf_mixture_weight(NULL, 0), IS_NAN);
    EXPECT_SENTINEL(sf_mixture_mean(NULL, 0), IS_NULL);
    EXPECT_SENTINEL(sf_mixture_variances(NULL, 0), IS_NULL);
    EXPECT_SENTINEL(sf_mixture_basis(NULL, 0, &rank), IS_NULL);
    EXPECT_SENTINEL(sf_mixture_codimension(NULL, 0), IS_MINUS_ONE);
    /* valid calls still work, rank may be NULL */
    cr_expect_not_null(sf_mixture_basis(mix, 2, NULL));
    cr_expect_eq(sf_mixture_rank(mix, 2), 1);
}

/* ---------------------------------------------------------------- evaluation */

Test(misuse, evaluation)
{
    sf_plan *p;
    sf_outputs o = {.score = out6}, none = {0}, hvp_alone = {.hvp = out6};
    EXPECT_INVALID(sf_particles_check(NULL, 3, 2));
    EXPECT_INVALID(sf_particles_check(x, 3, 0));
    EXPECT_INVALID(sf_plan_create(NULL, ctx, mix, &t));
    EXPECT_INVALID(sf_plan_create(&p, NULL, mix, &t));
    EXPECT_INVALID(sf_plan_create(&p, ctx, NULL, &t));
    EXPECT_INVALID(sf_plan_create(&p, ctx, mix, NULL));
    EXPECT_INVALID(sf_plan_create(&p, ctx, empty, &t));
    cr_assert_eq(sf_plan_create(&p, ctx, mix, &t), SF_OK, "%s", sf_last_error());
    EXPECT_INVALID(sf_plan_set_time(NULL, &t));
    EXPECT_INVALID(sf_plan_set_time(p, NULL));
    EXPECT_INVALID(sf_plan_evaluate(NULL, x, 3, &o));
    EXPECT_INVALID(sf_plan_evaluate(p, NULL, 3, &o));
    EXPECT_INVALID(sf_plan_evaluate(p, x, 3, NULL));
    EXPECT_INVALID(sf_plan_evaluate(p, x, 3, &hvp_alone));
    EXPECT_INVALID(sf_plan_evaluate(p, x, HUGE_N, &o));
    cr_expect_eq(sf_plan_evaluate(p, x, 3, &none), SF_OK, "no outputs: nothing to do");
    sf_plan_destroy(p);
    sf_plan_destroy(NULL);
    EXPECT_INVALID(sf_evaluate(NULL, mix, &t, x, 3, &o));
    EXPECT_INVALID(sf_evaluate(ctx, NULL, &t, x, 3, &o));
    EXPECT_INVALID(sf_evaluate(ctx, mix, NULL, x, 3, &o));
    EXPECT_INVALID(sf_evaluate(ctx, mix, &t, NULL, 3, &o));
    EXPECT_INVALID(sf_evaluate(ctx, mix, &t, x, 3, NULL));
    EXPECT_INVALID(sf_evaluate(ctx, empty, &t, x, 3, &o));
    EXPECT_INVALID(sf_evaluate(ctx, mix, &t, x, HUGE_N, &o));
}

Test(misuse, burgers_at_particles)
{
    double u[6] = {0};
    EXPECT_INVALID(sf_burgers_advance(NULL, mix, x, 3, 0.1, 0.2, 4, u));
    EXPECT_INVALID(sf_burgers_advance(ctx, NULL, x, 3, 0.1, 0.2, 4, u));
    EXPECT_INVALID(sf_burgers_advance(ctx, mix, NULL, 3, 0.1, 0.2, 4, u));
    EXPECT_INVALID(sf_burgers_advance(ctx, mix, x, 3, 0.1, 0.2, 4, NULL));
    EXPECT_INVALID(sf_burgers_advance(ctx, mix, x, 3, 0.1, 0.2, 0, u));
    EXPECT_INVALID(sf_burgers_advance(ctx, mix, x, 3, -0.1, 0.2, 4, u));
    EXPECT_INVALID(sf_burgers_advance(ctx, mix, x, HUGE_N, 0.1, 0.2, 4, u));
    EXPECT_INVALID(sf_burgers_advance(ctx, empty, x, 3, 0.1, 0.2, 4, u));
    EXPECT_INVALID(sf_score_curl(NULL, mix, &t, x, 3, 2, 1, out3));
    EXPECT_INVALID(sf_score_curl(ctx, NULL, &t, x, 3, 2, 1, out3));
    EXPECT_INVALID(sf_score_curl(ctx, mix, NULL, x, 3, 2, 1, out3));
    EXPECT_INVALID(sf_score_curl(ctx, mix, &t, NULL, 3, 2, 1, out3));
    EXPECT_INVALID(sf_score_curl(ctx, mix, &t, x, 3, 2, 1, NULL));
    EXPECT_INVALID(sf_score_curl(ctx, mix, &t, x, 3, -1, 1, out3));
    EXPECT_INVALID(sf_score_curl(ctx, mix, &t, x, HUGE_N, 2, 1, out3));
    EXPECT_INVALID(sf_score_curl(ctx, empty, &t, x, 3, 2, 1, out3));
}

/* ---------------------------------------------------------------- samplers and likelihoods */

Test(misuse, samplers)
{
    sf_sampler smp = sf_sampler_default(SF_SAMPLER_HEUN), s2;
    sf_sampler_kind k;
    smp.steps = 3;
    EXPECT_INVALID(sf_sampler_kind_parse(NULL, &k));
    EXPECT_INVALID(sf_sampler_kind_parse("heun", NULL));
    double grid[4];
    EXPECT_INVALID(sf_sampler_times(NULL, &smp, grid));
    EXPECT_INVALID(sf_sampler_times(&vp, NULL, grid));
    EXPECT_INVALID(sf_sampler_times(&vp, &smp, NULL));
    s2 = smp, s2.t0 = s2.t1; /* an empty interval */
    EXPECT_INVALID(sf_sampler_times(&vp, &s2, grid));
    sf_schedule flow = sf_schedule_default(SF_SCHEDULE_FLOW);
    s2 = smp, s2.t1 = 1.0; /* alpha = 0: outside the flow schedule, which sf_sample refuses too */
    EXPECT_INVALID(sf_sampler_times(&flow, &s2, grid));
    s2.t1 = 0.99;
    cr_expect_eq(sf_sampler_times(&flow, &s2, grid), SF_OK, "%s", sf_last_error());
    cr_expect_eq(sf_sampler_times(&vp, &smp, grid), SF_OK, "%s", sf_last_error());
    double t1, t0;
    sf_spacing spacing;
    EXPECT_INVALID(sf_sampler_interval_default(NULL, &t1, &t0, &spacing));
    EXPECT_INVALID(sf_sampler_interval_default(&vp, NULL, &t0, &spacing));
    EXPECT_INVALID(sf_sampler_interval_default(&vp, &t1, NULL, &spacing));
    EXPECT_INVALID(sf_sampler_interval_default(&vp, &t1, &t0, NULL));
    EXPECT_INVALID(sf_sample_marginal(NULL, &t, 1, 0, x, 3));
    EXPECT_INVALID(sf_sample_marginal(mix, NULL, 1, 0, x, 3));
    EXPECT_INVALID(sf_sample_marginal(mix, &t, 1, 0, NULL, 3));
    EXPECT_INVALID(sf_sample_marginal(empty, &t, 1, 0, x, 3));
    EXPECT_INVALID(sf_sample_marginal(mix, &t, 1, 0, x, HUGE_N));
    EXPECT_INVALID(sf_sample(NULL, mix, &vp, &smp, x, 3, 0, NULL, NULL, 1));
    EXPECT_INVALID(sf_sample(ctx, NULL, &vp, &smp, x, 3, 0, NULL, NULL, 1));
    EXPECT_INVALID(sf_sample(ctx, mix, NULL, &smp, x, 3, 0, NULL, NULL, 1));
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, NULL, x, 3, 0, NULL, NULL, 1));
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &smp, NULL, 3, 0, NULL, NULL, 1));
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &smp, x, HUGE_N, 0, NULL, NULL, 1));
    EXPECT_INVALID(sf_sample(ctx, empty, &vp, &smp, x, 3, 0, NULL, NULL, 1));
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &smp, x, 3, 0, NULL, NULL, -1));
    s2 = smp, s2.spacing = (sf_spacing)9;
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &s2, x, 3, 0, NULL, NULL, 1));
    s2 = smp, s2.spacing = SF_SPACING_GIVEN, s2.times = NULL;
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &s2, x, 3, 0, NULL, NULL, 1));
    s2 = smp, s2.class_components = NULL, s2.class_size = 2;
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &s2, x, 3, 0, NULL, NULL, 1));
    const int cls[2] = {0, 5};
    s2 = smp, s2.class_components = cls, s2.class_size = 2;
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &s2, x, 3, 0, NULL, NULL, 1));
    s2 = smp, s2.class_components = cls, s2.class_size = -1;
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &s2, x, 3, 0, NULL, NULL, 1));
    s2 = smp, s2.steps = 0;
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &s2, x, 3, 0, NULL, NULL, 1));
    /* the appended options: out of range is refused, zero is the default */
    s2 = smp, s2.kind = (sf_sampler_kind)(SF_SAMPLER_UNIPC + 1);
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &s2, x, 3, 0, NULL, NULL, 1));
    s2 = smp, s2.kind = SF_SAMPLER_EDM_HEUN, s2.churn = -1;
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &s2, x, 3, 0, NULL, NULL, 1));
    s2 = smp, s2.churn = NAN;
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &s2, x, 3, 0, NULL, NULL, 1));
    s2 = smp, s2.s_tmin = 2, s2.s_tmax = 1;
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &s2, x, 3, 0, NULL, NULL, 1));
    s2 = smp, s2.s_tmin = -1;
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &s2, x, 3, 0, NULL, NULL, 1));
    s2 = smp, s2.s_noise = -0.5;
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &s2, x, 3, 0, NULL, NULL, 1));
    s2 = smp, s2.kind = SF_SAMPLER_UNIPC, s2.order = 4;
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &s2, x, 3, 0, NULL, NULL, 1));
    s2 = smp, s2.order = 1;
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &s2, x, 3, 0, NULL, NULL, 1));
    s2 = smp, s2.spacing = SF_SPACING_KARRAS, s2.rho = -7;
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &s2, x, 3, 0, NULL, NULL, 1));
    s2 = smp, s2.to_zero = 2;
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &s2, x, 3, 0, NULL, NULL, 1));
    sf_schedule ve = sf_schedule_default(SF_SCHEDULE_VE);
    s2 = smp, s2.to_zero = 1; /* ve never reaches sigma = 0 */
    EXPECT_INVALID(sf_sample(ctx, mix, &ve, &s2, x, 3, 0, NULL, NULL, 1));
    cr_expect(strstr(sf_last_error(), "never reaches sigma = 0") != NULL, "%s", sf_last_error());
    s2 = smp, s2.t0 = 0.0, s2.spacing = SF_SPACING_LAMBDA; /* log-SNR is infinite at sigma = 0 */
    EXPECT_INVALID(sf_sample(ctx, mix, &vp, &s2, x, 3, 0, NULL, NULL, 1));
    s2 = smp, s2.churn = s2.s_tmin = s2.s_tmax = s2.s_noise = s2.rho = 0, s2.order = 0; /* an older caller's zeros */
    s2.kind = SF_SAMPLER_UNIPC, s2.spacing = SF_SPACING_KARRAS;
    cr_expect_eq(sf_sample(ctx, mix, &vp, &s2, x, 3, 0, NULL, NULL, 1), SF_OK, "%s", sf_last_error());
    sf_schedule edm = sf_schedule_default(SF_SCHEDULE_EDM);
    s2 = smp, s2.t1 = 81; /* beyond sigma_max */
    EXPECT_INVALID(sf_sample(ctx, mix, &edm, &s2, x, 3, 0, NULL, NULL, 1));
    edm.sigma_max = -1;
    sf_time tm;
    EXPECT_INVALID(sf_schedule_at(&edm, 0.5, &tm));
}

Test(misuse, likelihoods)
{
    int steps;
    EXPECT_INVALID(sf_loglik_ode(NULL, mix, &vp, 0.1, 1, x, 3, 1e-6, 1e-6, out3, &steps));
    EXPECT_INVALID(sf_loglik_ode(ctx, NULL, &vp, 0.1, 1, x, 3, 1e-6, 1e-6, out3, &steps));
    EXPECT_INVALID(sf_loglik_ode(ctx, mix, NULL, 0.1, 1, x, 3, 1e-6, 1e-6, out3, &steps));
    EXPECT_INVALID(sf_loglik_ode(ctx, mix, &vp, 0.1, 1, NULL, 3, 1e-6, 1e-6, out3, &steps));
    EXPECT_INVALID(sf_loglik_ode(ctx, mix, &vp, 0.1, 1, x, 3, 1e-6, 1e-6, NULL, &steps));
    EXPECT_INVALID(sf_loglik_ode(ctx, mix, &vp, 0.1, 1, x, 3, -1, 1e-6, out3, &steps));
    EXPECT_INVALID(sf_loglik_ode(ctx, mix, &vp, 0.1, 1, x, 3, 1e-6, NAN, out3, &steps));
    EXPECT_INVALID(sf_loglik_ode(ctx, mix, &vp, 0.1, 1, x, HUGE_N, 1e-6, 1e-6, out3, &steps));
    EXPECT_INVALID(sf_loglik_ode(ctx, empty, &vp, 0.1, 1, x, 3, 1e-6, 1e-6, out3, &steps));
    sf_mixture *g;
    cr_assert_eq(sf_mixture_create(&g, 2), SF_OK);
    cr_assert_eq(sf_mixture_add_isotropic(g, 1, mu, 0.5), SF_OK);
    EXPECT_INVALID(sf_wkb_gaussian(NULL, &vp, 0.1, 1, 0.9, NULL, 0, x, 3, 10, out3, NULL));
    EXPECT_INVALID(sf_wkb_gaussian(g, NULL, 0.1, 1, 0.9, NULL, 0, x, 3, 10, out3, NULL));
    EXPECT_INVALID(sf_wkb_gaussian(g, &vp, 0.1, 1, 0.9, NULL, 0, NULL, 3, 10, out3, NULL));
    EXPECT_INVALID(sf_wkb_gaussian(g, &vp, 0.1, 1, 0.9, NULL, 0, x, 3, 0, out3, NULL));
    EXPECT_INVALID(sf_wkb_gaussian(g, &vp, 0.1, 1, 0.9, NULL, 0, x, HUGE_N, 10, out3, NULL));
    EXPECT_INVALID(sf_wkb_gaussian(empty, &vp, 0.1, 1, 0.9, NULL, 0, x, 3, 10, out3, NULL));
    const double hs[3] = {0, 0.1, 0.2};
    double lq[3], lw[3];
    EXPECT_INVALID(sf_wkb_curve(NULL, &vp, 0.1, 1, 0.9, NULL, x, hs, 3, 10, lq, lw, &scalar, &scalar2));
    EXPECT_INVALID(sf_wkb_curve(g, NULL, 0.1, 1, 0.9, NULL, x, hs, 3, 10, lq, lw, &scalar, &scalar2));
    EXPECT_INVALID(sf_wkb_curve(g, &vp, 0.1, 1, 0.9, NULL, NULL, hs, 3, 10, lq, lw, &scalar, &scalar2));
    EXPECT_INVALID(sf_wkb_curve(g, &vp, 0.1, 1, 0.9, NULL, x, NULL, 3, 10, lq, lw, &scalar, &scalar2));
    EXPECT_INVALID(sf_wkb_curve(g, &vp, 0.1, 1, 0.9, NULL, x, hs, 3, 10, NULL, lw, &scalar, &scalar2));
    EXPECT_INVALID(sf_wkb_curve(g, &vp, 0.1, 1, 0.9, NULL, x, hs, 3, 10, lq, NULL, &scalar, &scalar2));
    EXPECT_INVALID(sf_wkb_curve(g, &vp, 0.1, 1, 0.9, NULL, x, hs, -3, 10, lq, lw, &scalar, &scalar2));
    sf_mixture_destroy(g);
}

Test(misuse, sampler_error)
{
    sf_sampler smp = sf_sampler_default(SF_SAMPLER_HEUN), bad = smp;
    size_t evals;
    int noisy;
    EXPECT_INVALID(sf_sampler_cost(NULL, &smp, &evals, &noisy));
    EXPECT_INVALID(sf_sampler_cost(&vp, NULL, &evals, &noisy));
    bad.steps = 0;
    EXPECT_INVALID(sf_sampler_cost(&vp, &bad, &evals, &noisy));
    bad = smp, bad.spacing = (sf_spacing)9;
    EXPECT_INVALID(sf_sampler_cost(&vp, &bad, &evals, &noisy));
    cr_expect_eq(sf_sampler_cost(&vp, &smp, NULL, NULL), SF_OK, "outputs may be NULL");
    double y[6];
    memcpy(y, x, sizeof y);
    EXPECT_INVALID(sf_flow_ode(NULL, mix, &vp, 1, 0.1, y, 3, 1e-6, 1e-6, NULL));
    EXPECT_INVALID(sf_flow_ode(ctx, NULL, &vp, 1, 0.1, y, 3, 1e-6, 1e-6, NULL));
    EXPECT_INVALID(sf_flow_ode(ctx, mix, NULL, 1, 0.1, y, 3, 1e-6, 1e-6, NULL));
    EXPECT_INVALID(sf_flow_ode(ctx, mix, &vp, 1, 0.1, NULL, 3, 1e-6, 1e-6, NULL));
    EXPECT_INVALID(sf_flow_ode(ctx, mix, &vp, 1, 0.1, y, 3, 0, 1e-6, NULL));
    EXPECT_INVALID(sf_flow_ode(ctx, mix, &vp, NAN, 0.1, y, 3, 1e-6, 1e-6, NULL));
    EXPECT_INVALID(sf_flow_ode(ctx, mix, &vp, 1, 0.1, y, HUGE_N, 1e-6, 1e-6, NULL));
    sf_distribution_errors e;
    EXPECT_INVALID(sf_distribution_error(NULL, mix, &t, x, NULL, 3, 1, &e));
    EXPECT_INVALID(sf_distribution_error(ctx, NULL, &t, x, NULL, 3, 1, &e));
    EXPECT_INVALID(sf_distribution_error(ctx, mix, NULL, x, NULL, 3, 1, &e));
    EXPECT_INVALID(sf_distribution_error(ctx, mix, &t, NULL, NULL, 3, 1, &e));
    EXPECT_INVALID(sf_distribution_error(ctx, mix, &t, x, NULL, 3, 1, NULL));
    EXPECT_INVALID(sf_distribution_error(ctx, mix, &t, x, NULL, 1, 1, &e));
    EXPECT_INVALID(sf_distribution_error(ctx, empty, &t, x, NULL, 3, 1, &e));
    EXPECT_INVALID(sf_distribution_error(ctx, mix, &t, x, NULL, HUGE_N, 1, &e));
    EXPECT_INVALID(sf_distribution_error_sized(ctx, mix, &t, x, NULL, 3, 1, &e, 3));
    EXPECT_INVALID(sf_sampler_error_setup_init(NULL, sizeof(sf_sampler_error_setup)));
    const char *names[2] = {"heun", "no-such-sampler"};
    const int nfe[3] = {4, 8, 8};
    sf_sampler_error_setup s = sf_sampler_error_setup_default(), b;
    s.samplers = names, s.nsamplers = 1, s.nfe = nfe, s.nnfe = 2, s.n = 3;
    sf_sampler_error_row rows[4];
    EXPECT_INVALID(sf_sampler_error(NULL, mix, &vp, &s, rows));
    EXPECT_INVALID(sf_sampler_error(ctx, NULL, &vp, &s, rows));
    EXPECT_INVALID(sf_sampler_error(ctx, mix, NULL, &s, rows));
    EXPECT_INVALID(sf_sampler_error(ctx, mix, &vp, NULL, rows));
    EXPECT_INVALID(sf_sampler_error(ctx, mix, &vp, &s, NULL));
    EXPECT_INVALID(sf_sampler_error(ctx, empty, &vp, &s, rows));
    EXPECT_INVALID(sf_sampler_error_sized(ctx, mix, &vp, &s, rows, 5));
    b = s, b.nsamplers = 2; /* an unknown name */
    EXPECT_INVALID(sf_sampler_error(ctx, mix, &vp, &b, rows));
    b = s, b.samplers = NULL;
    EXPECT_INVALID(sf_sampler_error(ctx, mix, &vp, &b, rows));
    b = s, b.nnfe = 3; /* not increasing */
    EXPECT_INVALID(sf_sampler_error(ctx, mix, &vp, &b, rows));
    b = s, b.nfe = NULL;
    EXPECT_INVALID(sf_sampler_error(ctx, mix, &vp, &b, rows));
    const int zero[1] = {0};
    b = s, b.nfe = zero, b.nnfe = 1;
    EXPECT_INVALID(sf_sampler_error(ctx, mix, &vp, &b, rows));
    b = s, b.n = 1;
    EXPECT_INVALID(sf_sampler_error(ctx, mix, &vp, &b, rows));
    b = s, b.n = HUGE_N;
    EXPECT_INVALID(sf_sampler_error(ctx, mix, &vp, &b, rows));
    b = s, b.t0 = 2;
    EXPECT_INVALID(sf_sampler_error(ctx, mix, &vp, &b, rows));
    b = s, b.spacing = SF_SPACING_GIVEN;
    EXPECT_INVALID(sf_sampler_error(ctx, mix, &vp, &b, rows));
    b = s, b.reference_tol = -1;
    EXPECT_INVALID(sf_sampler_error(ctx, mix, &vp, &b, rows));
    b = s, b.size = 3;
    EXPECT_INVALID(sf_sampler_error(ctx, mix, &vp, &b, rows));
}

/* ---------------------------------------------------------------- analyses */

Test(misuse, speciation)
{
    sf_mixture *pair = NULL;
    const double w[2] = {1, 1}, means[4] = {1, 0, -1, 0}, vars[2] = {0.1, 0.1};
    cr_assert_eq(sf_mixture_create_isotropic(&pair, 2, 2, w, means, vars), SF_OK);
    const int a[1] = {0}, b[1] = {1}, bad[1] = {7}, negative[1] = {-1};
    double y2[2], width, amp, rms;
    int modes;
    EXPECT_INVALID(sf_speciation_tau_closed_form(NULL, &scalar));
    EXPECT_INVALID(sf_speciation_tau_closed_form(pair, NULL));
    EXPECT_INVALID(sf_speciation_normal_curvature(NULL, pair, a, 1, b, 1, 0.5, &scalar, &scalar2, y2));
    EXPECT_INVALID(sf_speciation_normal_curvature(ctx, NULL, a, 1, b, 1, 0.5, &scalar, &scalar2, y2));
    EXPECT_INVALID(sf_speciation_normal_curvature(ctx, pair, NULL, 1, b, 1, 0.5, &scalar, &scalar2, y2));
    EXPECT_INVALID(sf_speciation_normal_curvature(ctx, pair, a, 1, NULL, 1, 0.5, &scalar, &scalar2, y2));
    EXPECT_INVALID(sf_speciation_normal_curvature(ctx, pair, bad, 1, b, 1, 0.5, &scalar, &scalar2, y2));
    EXPECT_INVALID(sf_speciation_normal_curvature(ctx, pair, a, 1, negative, 1, 0.5, &scalar, &scalar2, y2));
    EXPECT_INVALID(sf_speciation_normal_curvature(ctx, pair, a, 0, b, 1, 0.5, &scalar, &scalar2, y2));
    EXPECT_INVALID(sf_speciation_normal_curvature(ctx, pair, a, 1, b, -2, 0.5, &scalar, &scalar2, y2));
    EXPECT_INVALID(sf_speciation_tau_numeric(NULL, pair, a, 1, b, 1, 1e-3, 10, 1e-6, &scalar));
    EXPECT_INVALID(sf_speciation_tau_numeric(ctx, NULL, a, 1, b, 1, 1e-3, 10, 1e-6, &scalar));
    EXPECT_INVALID(sf_speciation_tau_numeric(ctx, pair, NULL, 1, b, 1, 1e-3, 10, 1e-6, &scalar));
    EXPECT_INVALID(sf_speciation_tau_numeric(ctx, pair, a, 1, bad, 1, 1e-3, 10, 1e-6, &scalar));
    EXPECT_INVALID(sf_speciation_tau_numeric(ctx, pair, a, 1, b, 1, 1e-3, 10, 1e-6, NULL));
    EXPECT_INVALID(sf_speciation_tau_asymmetric(0.3, 1, 0.1, NULL));
    EXPECT_INVALID(sf_speciation_tau_asymmetric(1.5, 1, 0.1, &scalar));
    EXPECT_INVALID(sf_count_modes_on_line(NULL, pair, 0.5, mu, mu, 2, 100, &modes));
    EXPECT_INVALID(sf_count_modes_on_line(ctx, NULL, 0.5, mu, mu, 2, 100, &modes));
    EXPECT_INVALID(sf_count_modes_on_line(ctx, pair, 0.5, NULL, mu, 2, 100, &modes));
    EXPECT_INVALID(sf_count_modes_on_line(ctx, pair, 0.5, mu, NULL, 2, 100, &modes));
    EXPECT_INVALID(sf_count_modes_on_line(ctx, pair, 0.5, mu, mu, 2, 100, NULL));
    EXPECT_INVALID(sf_count_modes_on_line(ctx, pair, 0.5, mu, mu, 2, 2, &modes));
    EXPECT_INVALID(sf_count_modes_on_line(ctx, pair, 0.5, mu, mu, 2, HUGE_N, &modes));
    EXPECT_INVALID(sf_fit_tanh_layer(NULL, x, 6, 0.1, 1, &width, &amp, &rms));
    EXPECT_INVALID(sf_fit_tanh_layer(x, NULL, 6, 0.1, 1, &width, &amp, &rms));
    cr_expect_eq(sf_fit_tanh_layer(x, x, 6, 0.1, 1, NULL, NULL, NULL), SF_OK, "every output is optional");
    EXPECT_INVALID(sf_fit_tanh_layer(x, x, 2, 0.1, 1, &width, &amp, &rms));
    EXPECT_INVALID(sf_fit_tanh_layer(x, x, 6, 1, 0.1, &width, &amp, &rms));
    sf_gain gain;
    sf_amplification amplification;
    sf_speciation_summary summary;
    sf_tanh_layer fit;
    double axis[2], t_frames[8], proj[8 * 3], profile[6];
    int frames;
    sf_branching_summary branching;
    EXPECT_INVALID(sf_flow_gain(NULL, pair, mu, mu, 1, 0.1, 1e-6, &gain));
    EXPECT_INVALID(sf_flow_gain(ctx, NULL, mu, mu, 1, 0.1, 1e-6, &gain));
    EXPECT_INVALID(sf_flow_gain(ctx, pair, NULL, mu, 1, 0.1, 1e-6, &gain));
    EXPECT_INVALID(sf_flow_gain(ctx, pair, mu, NULL, 1, 0.1, 1e-6, &gain));
    EXPECT_INVALID(sf_flow_gain(ctx, pair, mu, mu, 1, 0.1, 1e-6, NULL));
    EXPECT_INVALID(sf_flow_gain(ctx, pair, mu, mu, 0.1, 1, 1e-6, &gain));
    EXPECT_INVALID(sf_speciation_amplification(NULL, pair, a, 1, b, 1, 1, 0.1, 1e-6, &amplification));
    EXPECT_INVALID(sf_speciation_amplification(ctx, NULL, a, 1, b, 1, 1, 0.1, 1e-6, &amplification));
    EXPECT_INVALID(sf_speciation_amplification(ctx, pair, NULL, 1, b, 1, 1, 0.1, 1e-6, &amplification));
    EXPECT_INVALID(sf_speciation_amplification(ctx, pair, a, 1, bad, 1, 1, 0.1, 1e-6, &amplification));
    EXPECT_INVALID(sf_speciation_amplification(ctx, pair, a, 1, b, 1, 1, 0.1, 1e-6, NULL));
    EXPECT_INVALID(sf_speciation_axis(NULL, a, 1, b, 1, axis, NULL));
    EXPECT_INVALID(sf_speciation_axis(pair, NULL, 1, b, 1, axis, NULL));
    EXPECT_INVALID(sf_speciation_axis(pair, a, 1, b, 1, NULL, NULL));
    EXPECT_INVALID(sf_speciation_axis(pair, a, 1, negative, 1, axis, NULL));
    EXPECT_INVALID(sf_speciation_axis(pair, a, 0, b, 1, axis, NULL));
    EXPECT_INVALID(sf_speciation_summarize(NULL, pair, a, 1, b, 1, &summary));
    EXPECT_INVALID(sf_speciation_summarize(ctx, NULL, a, 1, b, 1, &summary));
    EXPECT_INVALID(sf_speciation_summarize(ctx, pair, a, 1, NULL, 1, &summary));
    EXPECT_INVALID(sf_speciation_summarize(ctx, pair, a, 1, bad, 1, &summary));
    EXPECT_INVALID(sf_speciation_summarize(ctx, pair, a, 1, b, 1, NULL));
    EXPECT_INVALID(sf_speciation_layer(NULL, pair, a, 1, b, 1, 0.5, x, 6, profile, &fit));
    EXPECT_INVALID(sf_speciation_layer(ctx, NULL, a, 1, b, 1, 0.5, x, 6, profile, &fit));
    EXPECT_INVALID(sf_speciation_layer(ctx, pair, NULL, 1, b, 1, 0.5, x, 6, profile, &fit));
    EXPECT_INVALID(sf_speciation_layer(ctx, pair, a, 1, b, 1, 0.5, NULL, 6, profile, &fit));
    EXPECT_INVALID(sf_speciation_layer(ctx, pair, a, 1, b, 1, 0.5, x, 6, NULL, &fit));
    EXPECT_INVALID(sf_speciation_layer(ctx, pair, a, 1, bad, 1, 0.5, x, 6, profile, &fit));
    EXPECT_INVALID(sf_speciation_layer(ctx, pair, a, 1, b, 1, 0.5, x, HUGE_N, profile, &fit));
    sf_sampler smp = sf_sampler_default(SF_SAMPLER_HEUN);
    sf_schedule vpl = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    smp.steps = 10, smp.t0 = 0.01;
#define BRANCHING(ctx_, mix_, a_, b_, sched_, smp_, n_, capacity_, t_, proj_, frames_)                               \
    sf_speciation_branching(ctx_, mix_, a_, 1, b_, 1, 0.9, sched_, smp_, n_, 1, 2, capacity_, t_, proj_, frames_, 10, \
                            &branching)
    EXPECT_INVALID(BRANCHING(NULL, pair, a, b, &vpl, &smp, 3, 8, t_frames, proj, &frames));
    EXPECT_INVALID(BRANCHING(ctx, NULL, a, b, &vpl, &smp, 3, 8, t_frames, proj, &frames));
    EXPECT_INVALID(BRANCHING(ctx, pair, NULL, b, &vpl, &smp, 3, 8, t_frames, proj, &frames));
    EXPECT_INVALID(BRANCHING(ctx, pair, a, b, NULL, &smp, 3, 8, t_frames, proj, &frames));
    EXPECT_INVALID(BRANCHING(ctx, pair, a, b, &vpl, NULL, 3, 8, t_frames, proj, &frames));
    EXPECT_INVALID(BRANCHING(ctx, pair, a, b, &vpl, &smp, 3, 8, NULL, proj, &frames));
    EXPECT_INVALID(BRANCHING(ctx, pair, a, b, &vpl, &smp, 3, 8, t_frames, NULL, &frames));
    EXPECT_INVALID(BRANCHING(ctx, pair, a, b, &vpl, &smp, 3, 8, t_frames, proj, NULL));
    EXPECT_INVALID(BRANCHING(ctx, pair, a, bad, &vpl, &smp, 3, 8, t_frames, proj, &frames));
    EXPECT_INVALID(BRANCHING(ctx, pair, a, b, &vpl, &smp, HUGE_N, 8, t_frames, proj, &frames));
    EXPECT_INVALID(BRANCHING(ctx, pair, a, b, &vpl, &smp, 3, 0, t_frames, proj, &frames));
#undef BRANCHING
    EXPECT_INVALID(sf_data_covariance_top_eigenvalue(NULL, &scalar));
    EXPECT_INVALID(sf_data_covariance_top_eigenvalue(pair, NULL));
    EXPECT_INVALID(sf_data_covariance_top_eigenvalue(empty, &scalar));
    sf_mixture_destroy(pair);
}

Test(misuse, double_well)
{
    EXPECT_INVALID(sf_doublewell_field(0.3, 0.5, NULL, 3, out3, NULL, NULL, NULL));
    EXPECT_INVALID(sf_doublewell_field(-0.3, 0.5, x, 3, out3, NULL, NULL, NULL));
    EXPECT_INVALID(sf_doublewell_field(0.3, -0.5, x, 3, out3, NULL, NULL, NULL));
    EXPECT_INVALID(sf_doublewell_tau_c(0.3, NULL, &scalar));
    EXPECT_INVALID(sf_doublewell_tau_c(-1, &scalar, &scalar2));
    EXPECT_INVALID(sf_ringwell_field(0.3, 0.5, NULL, 3, out6, NULL, NULL, NULL));
    EXPECT_INVALID(sf_ringwell_field(0.3, 0.5, x, HUGE_N, out6, NULL, NULL, NULL));
    EXPECT_INVALID(sf_ringwell_field(0.0, 0.5, x, 3, out6, NULL, NULL, NULL));
    EXPECT_INVALID(sf_ringwell_tau_c(0.3, NULL));
    EXPECT_INVALID(sf_ringwell_tau_c(NAN, &scalar));
    const double taus[2] = {0.2, 0.4};
    sf_doublewell_summary summary;
    EXPECT_INVALID(sf_doublewell_summarize(0.3, NULL));
    EXPECT_INVALID(sf_doublewell_summarize(-0.3, &summary));
    EXPECT_INVALID(sf_doublewell_burgers_residual(0.3, 1, NULL, 2, x, 3, &scalar));
    EXPECT_INVALID(sf_doublewell_burgers_residual(0.3, 1, taus, 2, NULL, 3, &scalar));
    EXPECT_INVALID(sf_doublewell_burgers_residual(0.3, 1, taus, 2, x, 3, NULL));
    EXPECT_INVALID(sf_doublewell_burgers_residual(0.3, 3, taus, 2, x, 3, &scalar));
    EXPECT_INVALID(sf_doublewell_burgers_residual(0.3, 1, taus, -2, x, 3, &scalar));
    EXPECT_INVALID(sf_doublewell_burgers_residual(0.3, 1, taus, 2, x, HUGE_N, &scalar));
    EXPECT_INVALID(sf_ringwell_burgers_residual(0.3, NULL, 2, x, 3, &scalar));
    EXPECT_INVALID(sf_ringwell_burgers_residual(0.3, taus, 2, NULL, 3, &scalar));
    EXPECT_INVALID(sf_ringwell_burgers_residual(0.3, taus, 2, x, 3, NULL));
    EXPECT_INVALID(sf_ringwell_burgers_residual(0.3, taus, 2, x, HUGE_N, &scalar));
}

Test(misuse, information)
{
    EXPECT_INVALID(sf_bandwidth(NULL, mix, &t, 10, 1, &scalar, &scalar2));
    EXPECT_INVALID(sf_bandwidth(ctx, NULL, &t, 10, 1, &scalar, &scalar2));
    EXPECT_INVALID(sf_bandwidth(ctx, mix, NULL, 10, 1, &scalar, &scalar2));
    EXPECT_INVALID(sf_bandwidth(ctx, mix, &t, 10, 1, NULL, &scalar2));
    EXPECT_INVALID(sf_bandwidth(ctx, mix, &t, 2305843009213693952u, 1, &scalar, &scalar2));
    EXPECT_INVALID(sf_bandwidth(ctx, empty, &t, 10, 1, &scalar, &scalar2));
    EXPECT_INVALID(sf_label_entropy(NULL, mix, &t, x, 3, out3));
    EXPECT_INVALID(sf_label_entropy(ctx, NULL, &t, x, 3, out3));
    EXPECT_INVALID(sf_label_entropy(ctx, mix, NULL, x, 3, out3));
    EXPECT_INVALID(sf_label_entropy(ctx, mix, &t, NULL, 3, out3));
    EXPECT_INVALID(sf_label_entropy(ctx, mix, &t, x, 3, NULL));
    EXPECT_INVALID(sf_label_entropy(ctx, mix, &t, x, HUGE_N, out3));
    EXPECT_INVALID(sf_label_entropy(ctx, empty, &t, x, 3, out3));
    sf_estimate h;
    sf_budget budget;
    EXPECT_INVALID(sf_label_entropy_moments(NULL, mix, &t, 10, 1, &h));
    EXPECT_INVALID(sf_label_entropy_moments(ctx, NULL, &t, 10, 1, &h));
    EXPECT_INVALID(sf_label_entropy_moments(ctx, mix, NULL, 10, 1, &h));
    EXPECT_INVALID(sf_label_entropy_moments(ctx, mix, &t, 10, 1, NULL));
    EXPECT_INVALID(sf_label_entropy_moments(ctx, mix, &t, HUGE_N, 1, &h));
    EXPECT_INVALID(sf_label_entropy_moments(ctx, empty, &t, 10, 1, &h));
    EXPECT_INVALID(sf_entropy_rate(NULL, mix, &t, x, 3, out3));
    EXPECT_INVALID(sf_entropy_rate(ctx, NULL, &t, x, 3, out3));
    EXPECT_INVALID(sf_entropy_rate(ctx, mix, NULL, x, 3, out3));
    EXPECT_INVALID(sf_entropy_rate(ctx, mix, &t, NULL, 3, out3));
    EXPECT_INVALID(sf_entropy_rate(ctx, mix, &t, x, 3, NULL));
    EXPECT_INVALID(sf_entropy_rate(ctx, mix, &t, x, HUGE_N, out3));
    EXPECT_INVALID(sf_entropy_budget(NULL, mix, &vp, 0.1, 0.9, 10, 10, 1, &budget));
    EXPECT_INVALID(sf_entropy_budget(ctx, NULL, &vp, 0.1, 0.9, 10, 10, 1, &budget));
    EXPECT_INVALID(sf_entropy_budget(ctx, mix, NULL, 0.1, 0.9, 10, 10, 1, &budget));
    EXPECT_INVALID(sf_entropy_budget(ctx, mix, &vp, 0.1, 0.9, 10, 10, 1, NULL));
    EXPECT_INVALID(sf_entropy_budget(ctx, mix, &vp, 0.9, 0.1, 10, 10, 1, &budget));
    EXPECT_INVALID(sf_entropy_budget(ctx, mix, &vp, 0.1, 0.9, HUGE_N, 10, 1, &budget));
    EXPECT_INVALID(sf_entropy_budget(ctx, empty, &vp, 0.1, 0.9, 10, 10, 1, &budget));
}

Test(misuse, grid)
{
    sf_grid *g;
    EXPECT_INVALID(sf_grid_create(NULL, ctx, 1, 8, 4.0));
    EXPECT_INVALID(sf_grid_create(&g, NULL, 1, 8, 4.0));
    EXPECT_INVALID(sf_grid_create(&g, ctx, 0, 8, 4.0));
    EXPECT_INVALID(sf_grid_create(&g, ctx, 4, 8, 4.0));
    EXPECT_INVALID(sf_grid_create(&g, ctx, 1, 7, 4.0));
    EXPECT_INVALID(sf_grid_create(&g, ctx, 1, -8, 4.0));
    EXPECT_INVALID(sf_grid_create(&g, ctx, 1, 8, -4.0));
    EXPECT_INVALID(sf_grid_create(&g, ctx, 3, 1 << 22, 4.0));
    cr_assert_eq(sf_grid_create(&g, ctx, 2, 8, 4.0), SF_OK, "%s", sf_last_error());
    double density[64], u[128];
    EXPECT_SENTINEL(sf_grid_points(NULL), IS_ZERO);
    EXPECT_MESSAGE(sf_grid_coordinates(NULL, u));
    EXPECT_MESSAGE(sf_grid_coordinates(g, NULL));
    EXPECT_INVALID(sf_grid_exact(NULL, mix, 0.01, 1, 0.5, density, u));
    EXPECT_INVALID(sf_grid_exact(g, NULL, 0.01, 1, 0.5, density, u));
    EXPECT_INVALID(sf_grid_exact(g, mix, 0.01, -1, 0.5, density, u));
    EXPECT_INVALID(sf_grid_exact(g, mix, 1.5, 1, 0.5, density, u));
    EXPECT_INVALID(sf_grid_exact(g, empty, 0.01, 1, 0.5, density, u));
    EXPECT_INVALID(sf_grid_heat_route(NULL, density, 0.1, u));
    EXPECT_INVALID(sf_grid_heat_route(g, NULL, 0.1, u));
    EXPECT_INVALID(sf_grid_heat_route(g, density, 0.1, NULL));
    EXPECT_INVALID(sf_grid_burgers_route(NULL, u, 0.1, 4, NULL, NULL));
    EXPECT_INVALID(sf_grid_burgers_route(g, NULL, 0.1, 4, NULL, NULL));
    EXPECT_INVALID(sf_grid_burgers_route(g, u, 0.1, 0, NULL, NULL));
    sf_grid_destroy(g);
    sf_grid_destroy(NULL);
}

Test(misuse, pair_statistics_and_blowup)
{
    sf_mixture *pair = NULL;
    const double w[2] = {1, 1}, means[4] = {1, 0, -1, 0}, vars[2] = {0.1, 0.1};
    cr_assert_eq(sf_mixture_create_isotropic(&pair, 2, 2, w, means, vars), SF_OK);
    sf_pair_peak peak;
    sf_peak_check check;
    sf_blowup_row row;
    int component;
    EXPECT_INVALID(sf_pair_kappa(NULL, 0.5, &scalar, &scalar2));
    EXPECT_INVALID(sf_pair_kappa(pair, -0.5, &scalar, &scalar2));
    EXPECT_INVALID(sf_pair_kappa(mix, 0.5, &scalar, &scalar2)); /* three components: not a pair */
    EXPECT_INVALID(sf_pair_tau_of_kappa(NULL, 2, &scalar));
    EXPECT_INVALID(sf_pair_tau_of_kappa(pair, 2, NULL));
    EXPECT_INVALID(sf_pair_tau_of_kappa(pair, -2, &scalar));
    EXPECT_INVALID(sf_pair_variance(SF_PAIR_LABEL_ENTROPY, 1.3, NULL));
    EXPECT_INVALID(sf_pair_variance((sf_pair_statistic)9, 1.3, &scalar));
    EXPECT_INVALID(sf_pair_variance(SF_PAIR_LABEL_ENTROPY, -1, &scalar));
    EXPECT_INVALID(sf_pair_variance_peak(SF_PAIR_LABEL_ENTROPY, NULL));
    EXPECT_INVALID(sf_pair_variance_peak((sf_pair_statistic)9, &peak));
    EXPECT_INVALID(sf_pair_peak_check(NULL, pair, SF_PAIR_LABEL_ENTROPY, 100, 1, &check));
    EXPECT_INVALID(sf_pair_peak_check(ctx, NULL, SF_PAIR_LABEL_ENTROPY, 100, 1, &check));
    EXPECT_INVALID(sf_pair_peak_check(ctx, pair, SF_PAIR_LABEL_ENTROPY, 100, 1, NULL));
    EXPECT_INVALID(sf_pair_peak_check(ctx, pair, (sf_pair_statistic)9, 100, 1, &check));
    EXPECT_INVALID(sf_pair_peak_check(ctx, pair, SF_PAIR_LABEL_ENTROPY, HUGE_N, 1, &check));
    EXPECT_INVALID(sf_blowup_limit(NULL, &scalar, &component));
    EXPECT_INVALID(sf_blowup_limit(pair, &scalar, &component)); /* no component on a subspace */
    EXPECT_INVALID(sf_blowup_at(NULL, mix, 0.1, 10, 1, &row));
    EXPECT_INVALID(sf_blowup_at(ctx, NULL, 0.1, 10, 1, &row));
    EXPECT_INVALID(sf_blowup_at(ctx, mix, 0.1, 10, 1, NULL));
    EXPECT_INVALID(sf_blowup_at(ctx, mix, -0.1, 10, 1, &row));
    EXPECT_INVALID(sf_blowup_at(ctx, mix, 0.1, HUGE_N, 1, &row));
    EXPECT_INVALID(sf_blowup_at(ctx, empty, 0.1, 10, 1, &row));
    sfi_error_clear();
    cr_expect(isnan(sf_power_law_exponent(NULL, x, 3)), "NULL x: NaN");
    cr_expect(sf_last_error()[0] != '\0', "sf_power_law_exponent(NULL, ...): no message");
    cr_expect(isnan(sf_power_law_exponent(x, NULL, 3)), "NULL y: NaN");
    cr_expect(isnan(sf_power_law_exponent(x, x, 1)), "one point: NaN");
    sf_mixture_destroy(pair);
}

/* ---------------------------------------------------------------- .npy */

Test(misuse, npy)
{
    sf_array a;
    sf_npy_writer *w;
    const size_t shape[1] = {3};
    cr_expect_eq(sf_array_size(NULL), 0);
    sf_array_free(NULL);
    EXPECT_INVALID(sf_npy_read(NULL, &a));
    EXPECT_INVALID(sf_npy_read("/nonexistent.npy", NULL));
    EXPECT_INVALID(sf_npy_write(NULL, x, 1, shape, SF_DTYPE_F64));
    EXPECT_INVALID(sf_npy_write("/tmp/sf_misuse.npy", NULL, 1, shape, SF_DTYPE_F64));
    EXPECT_INVALID(sf_npy_write("/tmp/sf_misuse.npy", x, 1, NULL, SF_DTYPE_F64));
    EXPECT_INVALID(sf_npy_write("/tmp/sf_misuse.npy", x, -1, shape, SF_DTYPE_F64));
    EXPECT_INVALID(sf_npy_writer_open(NULL, "/tmp/sf_misuse.npy", 1, shape, SF_DTYPE_F64));
    EXPECT_INVALID(sf_npy_writer_open(&w, NULL, 1, shape, SF_DTYPE_F64));
    EXPECT_INVALID(sf_npy_writer_open(&w, "/tmp/sf_misuse.npy", 1, NULL, SF_DTYPE_F64));
    EXPECT_INVALID(sf_npy_writer_open(&w, "/tmp/sf_misuse.npy", 1, shape, (sf_dtype)5));
    EXPECT_INVALID(sf_npy_writer_append(NULL, x, 3));
    cr_expect_eq(sf_npy_writer_close(NULL, 1), SF_OK, "closing nothing is a no-op");
}

/* ---------------------------------------------------------------- sized entry points, models, cancellation */

static sf_status null_model(void *data, double t, const double *x, size_t n, int d, double *s)
{
    (void)data, (void)t, (void)x, (void)n, (void)d, (void)s;
    return SF_OK;
}

Test(misuse, sized_entry_points_models_and_cancellation)
{
    cr_expect(sf_version() != NULL && sf_version()[0] != '\0');
    sf_context_cancel(NULL), sf_context_resume(NULL); /* no-ops on NULL */
    cr_expect_eq(sf_context_cancelled(NULL), 0);
    sf_schedule sch;
    sf_sampler smp;
    sf_time t;
    EXPECT_INVALID(sf_schedule_init(NULL, sizeof sch, SF_SCHEDULE_VE));
    EXPECT_INVALID(sf_schedule_init(&sch, 1, SF_SCHEDULE_VE));
    EXPECT_INVALID(sf_sampler_init(NULL, sizeof smp, SF_SAMPLER_EM));
    EXPECT_INVALID(sf_sampler_init(&smp, 1, SF_SAMPLER_EM));
    cr_assert_eq(sf_schedule_init(&sch, sizeof sch, SF_SCHEDULE_VE), SF_OK);
    cr_assert_eq(sf_sampler_init(&smp, sizeof smp, SF_SAMPLER_EM), SF_OK);
    EXPECT_INVALID(sf_schedule_time(NULL, 0.5, &t, sizeof t));
    EXPECT_INVALID(sf_schedule_time(&sch, 0.5, NULL, sizeof t));
    EXPECT_INVALID(sf_schedule_time(&sch, 0.5, &t, 1));
    EXPECT_INVALID(sf_heat_time(0.5, NULL, sizeof t));
    EXPECT_INVALID(sf_heat_time(0.5, &t, 1));
    double x[2] = {0, 0};
    EXPECT_INVALID(sf_plan_evaluate_typed(NULL, x, SF_DTYPE_F64, 1, NULL));
    sf_context *ctx = NULL;
    cr_assert_eq(sf_context_create(&ctx, SF_BACKEND_REFERENCE, SF_PRECISION_F64, 0), SF_OK);
    EXPECT_INVALID(sf_sample_model(NULL, 1, null_model, NULL, &sch, &smp, x, 1, 0, NULL, NULL, 0));
    EXPECT_INVALID(sf_sample_model(ctx, 1, NULL, NULL, &sch, &smp, x, 1, 0, NULL, NULL, 0));
    EXPECT_INVALID(sf_sample_model(ctx, 0, null_model, NULL, &sch, &smp, x, 1, 0, NULL, NULL, 0));
    EXPECT_INVALID(sf_sample_model(ctx, 1, null_model, NULL, NULL, &smp, x, 1, 0, NULL, NULL, 0));
    EXPECT_INVALID(sf_sample_model(ctx, 1, null_model, NULL, &sch, NULL, x, 1, 0, NULL, NULL, 0));
    EXPECT_INVALID(sf_sample_model(ctx, 1, null_model, NULL, &sch, &smp, NULL, 1, 0, NULL, NULL, 0));
    /* the analyses' sized forms: NULL results and sizes below the first layout are refused */
    sf_mixture *m = NULL;
    const double mu[2] = {1, -1};
    cr_assert_eq(sf_mixture_create(&m, 1), SF_OK);
    cr_assert_eq(sf_mixture_add_isotropic(m, 0.5, mu, 0.1), SF_OK);
    cr_assert_eq(sf_mixture_add_isotropic(m, 0.5, mu + 1, 0.1), SF_OK);
    const int a[1] = {0}, b[1] = {1};
    double r[3] = {-1, 0, 1}, prof[3];
    sf_speciation_summary sum;
    sf_tanh_layer fit;
    sf_amplification amp;
    sf_branching_summary br;
    sf_blowup_row row;
    sf_doublewell_summary dw;
    sf_peak_check pk;
    sf_budget bud;
    EXPECT_INVALID(sf_speciation_summarize_sized(ctx, m, a, 1, b, 1, NULL, sizeof sum));
    EXPECT_INVALID(sf_speciation_summarize_sized(ctx, m, a, 1, b, 1, &sum, 1));
    EXPECT_INVALID(sf_speciation_layer_sized(ctx, m, a, 1, b, 1, 0.5, r, 3, prof, &fit, 1));
    EXPECT_INVALID(sf_speciation_amplification_sized(ctx, m, a, 1, b, 1, 1.0, 0.1, 1e-8, NULL, sizeof amp));
    EXPECT_INVALID(sf_speciation_amplification_sized(ctx, m, a, 1, b, 1, 1.0, 0.1, 1e-8, &amp, 1));
    EXPECT_INVALID(sf_speciation_branching_sized(ctx, m, a, 1, b, 1, 0.9, &sch, &smp, 4, 1, 1, 0, NULL, NULL, NULL,
                                                 4, NULL, sizeof br));
    EXPECT_INVALID(sf_blowup_at_sized(ctx, m, 0.1, 8, 1, NULL, sizeof row));
    EXPECT_INVALID(sf_blowup_at_sized(ctx, m, 0.1, 8, 1, &row, 1));
    EXPECT_INVALID(sf_doublewell_summarize_sized(0.3, NULL, sizeof dw));
    EXPECT_INVALID(sf_doublewell_summarize_sized(0.3, &dw, 1));
    EXPECT_INVALID(sf_pair_peak_check_sized(ctx, m, (sf_pair_statistic)0, 8, 1, NULL, sizeof pk));
    EXPECT_INVALID(sf_pair_peak_check_sized(ctx, m, (sf_pair_statistic)0, 8, 1, &pk, 1));
    EXPECT_INVALID(sf_entropy_budget_sized(ctx, m, &sch, 0.1, 0.9, 8, 4, 1, NULL, sizeof bud));
    EXPECT_INVALID(sf_entropy_budget_sized(ctx, m, &sch, 0.1, 0.9, 8, 4, 1, &bud, 1));
    /* the GEMM math mode and the device-array entry point */
    EXPECT_INVALID(sf_context_set_gemm_math(NULL, SF_GEMM_EXACT));
    EXPECT_INVALID(sf_context_set_gemm_math(ctx, (sf_gemm_math)7));
    /* the share of Monte Carlo draws over processes: a rank outside the share, no context */
    EXPECT_INVALID(sf_context_set_share(NULL, 0, 2, NULL, NULL));
    EXPECT_INVALID(sf_context_set_share(ctx, 2, 2, NULL, NULL));
    EXPECT_INVALID(sf_context_set_share(ctx, -1, 2, NULL, NULL));
    EXPECT_INVALID(sf_context_set_share(ctx, 0, 0, NULL, NULL));
    sf_device_outputs dout = {0};
    EXPECT_INVALID(sf_plan_evaluate_device(NULL, SF_DTYPE_F64, x, 1, &dout, NULL));
    sf_time tm;
    cr_assert_eq(sf_schedule_at(&sch, 0.5, &tm), SF_OK);
    sf_plan *plan = NULL;
    cr_assert_eq(sf_plan_create(&plan, ctx, m, &tm), SF_OK, "%s", sf_last_error());
    EXPECT_INVALID(sf_plan_evaluate_device(plan, SF_DTYPE_F64, x, 1, NULL, NULL));
    EXPECT_INVALID(sf_plan_evaluate_device(plan, SF_DTYPE_F64, NULL, 1, &dout, NULL));
    EXPECT_INVALID(sf_plan_evaluate_device(plan, SF_DTYPE_F64, x, 1, &dout, NULL)); /* not a CUDA context */
    sf_plan_destroy(plan);
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* ---------------------------------------------------------------- coverage of the header */

/* Every function declared in include/scorefield.h is exercised above: the names are listed here,
 * and the header is read to find any that are not. */
Test(misuse, every_public_function_is_exercised)
{
    static const char *const exercised[] = {
        "sf_last_error", "sf_status_name", "sf_context_create", "sf_context_destroy", "sf_context_backend",
        "sf_backend_parse", "sf_backend_name", "sf_context_precision", "sf_context_set_max_batch", "sf_cuda_built",
        "sf_cuda_device_count", "sf_cuda_device_describe", "sf_schedule_default", "sf_schedule_kind_parse",
        "sf_schedule_kind_name", "sf_schedule_at", "sf_time_heat", "sf_schedule_t_of_tau", "sf_mixture_create",
        "sf_mixture_destroy", "sf_mixture_add_isotropic", "sf_mixture_add_diagonal", "sf_mixture_add_lowrank",
        "sf_mixture_create_isotropic", "sf_mixture_read_json", "sf_mixture_dim", "sf_mixture_count", "sf_mixture_kind",
        "sf_mixture_rank", "sf_mixture_weight", "sf_mixture_mean", "sf_mixture_variances", "sf_mixture_basis",
        "sf_mixture_codimension", "sf_mixture_check_time", "sf_particles_check", "sf_plan_create", "sf_plan_set_time",
        "sf_plan_evaluate", "sf_plan_destroy", "sf_evaluate", "sf_burgers_advance", "sf_score_curl",
        "sf_sampler_default", "sf_sampler_kind_parse", "sf_sampler_kind_name", "sf_sampler_times", "sf_sample_marginal", "sf_sample",
        "sf_loglik_ode", "sf_wkb_gaussian", "sf_speciation_tau_closed_form", "sf_speciation_normal_curvature",
        "sf_speciation_tau_numeric", "sf_speciation_tau_asymmetric", "sf_count_modes_on_line", "sf_fit_tanh_layer",
        "sf_flow_gain", "sf_speciation_amplification", "sf_speciation_axis", "sf_speciation_summarize",
        "sf_speciation_layer", "sf_speciation_branching", "sf_pair_kappa", "sf_pair_tau_of_kappa", "sf_pair_variance",
        "sf_pair_variance_peak", "sf_pair_peak_check", "sf_blowup_limit", "sf_blowup_at", "sf_power_law_exponent",
        "sf_doublewell_summarize", "sf_doublewell_burgers_residual", "sf_ringwell_burgers_residual",
        "sf_label_entropy_moments", "sf_entropy_rate", "sf_entropy_budget", "sf_wkb_curve", "sf_data_covariance_top_eigenvalue", "sf_doublewell_field", "sf_doublewell_tau_c",
        "sf_ringwell_field", "sf_ringwell_tau_c", "sf_bandwidth", "sf_label_entropy", "sf_grid_create",
        "sf_grid_destroy", "sf_grid_points", "sf_grid_coordinates", "sf_grid_exact", "sf_grid_heat_route",
        "sf_grid_burgers_route", "sf_array_size", "sf_array_free", "sf_npy_read", "sf_npy_write", "sf_npy_writer_open",
        "sf_npy_writer_append", "sf_npy_writer_close",
        "sf_blowup_at", "sf_blowup_limit", "sf_doublewell_burgers_residual", "sf_doublewell_summarize", "sf_entropy_budget", "sf_entropy_rate", "sf_flow_gain", "sf_label_entropy_moments", "sf_pair_kappa", "sf_pair_peak_check", "sf_pair_tau_of_kappa", "sf_pair_variance", "sf_pair_variance_peak", "sf_power_law_exponent", "sf_ringwell_burgers_residual", "sf_speciation_amplification", "sf_speciation_axis", "sf_speciation_branching", "sf_speciation_layer", "sf_speciation_summarize", "sf_wkb_curve",
        "sf_version", "sf_context_cancel", "sf_context_resume", "sf_context_cancelled", "sf_schedule_init",
        "sf_schedule_time", "sf_heat_time", "sf_plan_evaluate_typed", "sf_sampler_init", "sf_sample_model",
        "sf_speciation_summarize_sized", "sf_speciation_layer_sized", "sf_speciation_amplification_sized",
        "sf_speciation_branching_sized", "sf_blowup_at_sized", "sf_doublewell_summarize_sized",
        "sf_pair_peak_check_sized", "sf_entropy_budget_sized", "sf_context_set_gemm_math", "sf_plan_evaluate_device",
        "sf_flow_ode", "sf_sampler_cost", "sf_sampler_interval_default", "sf_distribution_error", "sf_distribution_error_sized", "sf_sampler_error_setup_init",
        "sf_sampler_error_setup_default", "sf_sampler_error", "sf_sampler_error_sized",
        "sf_context_set_share"};
    FILE *f = fopen(SF_PROJECT_DIR "/include/scorefield.h", "r");
    cr_assert_not_null(f);
    char line[1024];
    int declared = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "/*", 2) == 0 || strncmp(line, " *", 2) == 0 || strncmp(line, "#", 1) == 0) continue;
        for (const char *c = line; (c = strstr(c, "sf_")) != NULL; c++) {
            if (c > line && (c[-1] == '_' || (c[-1] >= 'a' && c[-1] <= 'z'))) continue;
            size_t len = strspn(c, "abcdefghijklmnopqrstuvwxyz0123456789_");
            if (c[len] != '(') continue; /* a declaration: the name followed by its parameters */
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)len, c);
            int found = 0;
            for (size_t e = 0; e < sizeof exercised / sizeof exercised[0]; e++) found |= strcmp(exercised[e], name) == 0;
            cr_expect(found, "%s is declared in scorefield.h but not exercised by tests/test_misuse.c", name);
            declared++;
        }
    }
    fclose(f);
    /* the header was read (the list also names inline wrappers that the scan counts once) */
    cr_expect_geq(declared, 100, "only %d declarations found", declared);
}
