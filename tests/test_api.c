/* The library as an installed API: user score models in the samplers (the exact score as a model
 * reproduces the built-in run; a closed-form model agrees with the mixture's), cancellation from
 * a callback, another thread and a signal handler, and the growable structs' size rules. */
#include "test_helpers.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/* ---------------------------------------------------------------- score models */

typedef struct {
    sf_context *ctx;
    const sf_mixture *mix;
    sf_schedule schedule;
    int calls;
    int cancel_at; /* cancel ctx on this call (0: never) */
} exact_model;

/* The mixture's own score, evaluated through the public API as a user would. */
static sf_status exact_score(void *data, double t, const double *x, size_t n, int d, double *s)
{
    exact_model *m = data;
    (void)d;
    if (++m->calls == m->cancel_at) sf_context_cancel(m->ctx);
    sf_time tm;
    sf_status st = sf_schedule_at(&m->schedule, t, &tm);
    sf_outputs o = {.score = s};
    return st == SF_OK ? sf_evaluate(m->ctx, m->mix, &tm, x, n, &o) : st;
}

static sf_mixture *random_mixture(int d, int K, uint64_t seed)
{
    sf_rng rng;
    sfi_rng_seed(&rng, seed);
    sf_mixture *m;
    cr_assert_eq(sfi_workload_mixture(&m, &rng, d, K, SF_WORKLOAD_ALL, 1.0), SF_OK, "%s", sf_last_error());
    return m;
}

static double *marginal(const sf_mixture *m, const sf_schedule *s, double t, size_t n)
{
    sf_time tm;
    cr_assert_eq(sf_schedule_at(s, t, &tm), SF_OK);
    double *x = malloc(n * sf_mixture_dim(m) * sizeof(double));
    cr_assert_eq(sf_sample_marginal(m, &tm, 3, 0, x, n), SF_OK, "%s", sf_last_error());
    return x;
}

Test(model, exact_score_as_a_model_reproduces_every_sampler)
{
    sf_context *ctx = cpu_context();
    const int d = 3;
    const size_t n = 40;
    sf_mixture *mix = random_mixture(d, 4, 17);
    static const sf_schedule_kind kinds[2] = {SF_SCHEDULE_VP_LINEAR, SF_SCHEDULE_VE};
    for (int k = 0; k < 2; k++) {
        sf_schedule sched = sf_schedule_default(kinds[k]);
        for (int kind = SF_SAMPLER_EM; kind <= SF_SAMPLER_UNIPC; kind++) {
            sf_sampler smp = sf_sampler_default((sf_sampler_kind)kind);
            smp.steps = 9, smp.t1 = 0.8, smp.t0 = 0.05, smp.seed = 11, smp.h = 0.7, smp.eta = 0.4, smp.churn = 4;
            smp.spacing = kind % 2 ? SF_SPACING_LAMBDA : SF_SPACING_T;
            double *a = marginal(mix, &sched, smp.t1, n), *b = malloc(n * d * sizeof(double));
            memcpy(b, a, n * d * sizeof(double));
            cr_assert_eq(sf_sample(ctx, mix, &sched, &smp, a, n, 5, NULL, NULL, 0), SF_OK, "%s", sf_last_error());
            exact_model em = {ctx, mix, sched, 0, 0};
            cr_assert_eq(sf_sample_model(ctx, d, exact_score, &em, &sched, &smp, b, n, 5, NULL, NULL, 0), SF_OK, "%s",
                         sf_last_error());
            int stages = kind == SF_SAMPLER_HEUN || kind == SF_SAMPLER_DPM2 || kind == SF_SAMPLER_EDM_HEUN ||
                                 kind == SF_SAMPLER_DPMPP_2S_ANCESTRAL
                             ? 2
                             : kind == SF_SAMPLER_DPM3 ? 3 : 1;
            cr_expect_eq(em.calls, smp.steps * stages, "%s: %d model calls", sf_sampler_kind_name(smp.kind), em.calls);
            for (size_t i = 0; i < n * d; i++)
                expect_rel(b[i], a[i], 1e-14, "%s %s element %zu", sf_schedule_kind_name(kinds[k]),
                           sf_sampler_kind_name(smp.kind), i);
            free(a), free(b);
        }
    }
    sf_mixture_destroy(mix);
    sf_context_destroy(ctx);
}

/* An independent route: the closed-form score of one Gaussian N(mu, v I), written by hand. */
typedef struct {
    sf_schedule schedule;
    double mu[2], v, scale;
} gaussian_model;

static sf_status gaussian_score(void *data, double t, const double *x, size_t n, int d, double *s)
{
    gaussian_model *g = data;
    sf_time tm;
    sf_status st = sf_schedule_at(&g->schedule, t, &tm);
    for (size_t i = 0; st == SF_OK && i < n; i++)
        for (int j = 0; j < d; j++)
            s[i * d + j] = -g->scale * (x[i * d + j] - tm.alpha * g->mu[j]) / (tm.alpha * tm.alpha * g->v + tm.sigma2);
    return st;
}

Test(model, closed_form_gaussian_model_agrees_with_the_mixture)
{
    sf_context *ctx = cpu_context();
    const size_t n = 64;
    gaussian_model g = {sf_schedule_default(SF_SCHEDULE_VP_COSINE), {0.4, -1.2}, 0.25, 1.0};
    const double var = g.v, w = 1.0;
    sf_mixture *mix;
    cr_assert_eq(sf_mixture_create_isotropic(&mix, 2, 1, &w, g.mu, &var), SF_OK);
    sf_sampler smp = sf_sampler_default(SF_SAMPLER_DDPM);
    smp.steps = 20, smp.t1 = 0.9, smp.t0 = 0.02, smp.seed = 4;
    double *a = marginal(mix, &g.schedule, smp.t1, n), *b = malloc(n * 2 * sizeof(double));
    double *c = malloc(n * 2 * sizeof(double));
    memcpy(b, a, n * 2 * sizeof(double));
    memcpy(c, a, n * 2 * sizeof(double));
    cr_assert_eq(sf_sample(ctx, mix, &g.schedule, &smp, a, n, 0, NULL, NULL, 0), SF_OK, "%s", sf_last_error());
    cr_assert_eq(sf_sample_model(ctx, 2, gaussian_score, &g, &g.schedule, &smp, b, n, 0, NULL, NULL, 0), SF_OK);
    double moved = 0;
    for (size_t i = 0; i < n * 2; i++) expect_rel(b[i], a[i], 1e-11, "element %zu", i);
    /* a perturbed model (score scaled by 0.8) lands elsewhere: the model is really used */
    g.scale = 0.8;
    cr_assert_eq(sf_sample_model(ctx, 2, gaussian_score, &g, &g.schedule, &smp, c, n, 0, NULL, NULL, 0), SF_OK);
    for (size_t i = 0; i < n * 2; i++) moved = fmax(moved, fabs(c[i] - a[i]));
    cr_expect_gt(moved, 1e-2, "the perturbed model moved particles by at most %g", moved);
    free(a), free(b), free(c);
    sf_mixture_destroy(mix);
    sf_context_destroy(ctx);
}

static sf_status failing_model(void *data, double t, const double *x, size_t n, int d, double *s)
{
    (void)t, (void)x;
    int *calls = data;
    for (size_t i = 0; i < n * (size_t)d; i++) s[i] = ++*calls == 2 ? NAN : 0.0;
    return *calls > 100 ? SF_ERR_NOMEM : SF_OK;
}

static sf_status refusing_model(void *data, double t, const double *x, size_t n, int d, double *s)
{
    (void)data, (void)t, (void)x, (void)n, (void)d, (void)s;
    return SF_ERR_NOMEM;
}

Test(model, failures_and_bad_arguments_are_reported)
{
    sf_context *ctx = cpu_context();
    sf_schedule sched = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    sf_sampler smp = sf_sampler_default(SF_SAMPLER_DPM1);
    smp.steps = 5;
    double x[4] = {0.1, 0.2, 0.3, 0.4};
    int calls = 0;
    cr_expect_eq(sf_sample_model(ctx, 2, failing_model, &calls, &sched, &smp, x, 2, 0, NULL, NULL, 0), SF_ERR_NUMERIC);
    cr_expect(strstr(sf_last_error(), "non-finite") != NULL, "%s", sf_last_error());
    cr_expect_eq(sf_sample_model(ctx, 2, refusing_model, NULL, &sched, &smp, x, 2, 0, NULL, NULL, 0), SF_ERR_NOMEM);
    cr_expect(strstr(sf_last_error(), "score model failed") != NULL, "%s", sf_last_error());
    cr_expect_eq(sf_sample_model(ctx, 2, NULL, NULL, &sched, &smp, x, 2, 0, NULL, NULL, 0), SF_ERR_INVALID);
    cr_expect_eq(sf_sample_model(ctx, 0, refusing_model, NULL, &sched, &smp, x, 2, 0, NULL, NULL, 0), SF_ERR_INVALID);
    int cls = 0;
    smp.class_components = &cls, smp.class_size = 1;
    cr_expect_eq(sf_sample_model(ctx, 2, refusing_model, NULL, &sched, &smp, x, 2, 0, NULL, NULL, 0), SF_ERR_INVALID);
    cr_expect(strstr(sf_last_error(), "guidance") != NULL, "%s", sf_last_error());
    sf_context_destroy(ctx);
}

/* ---------------------------------------------------------------- cancellation */

Test(cancel, a_cancelled_context_refuses_work_until_resumed)
{
    sf_context *ctx = cpu_context();
    sf_mixture *mix = random_mixture(2, 3, 5);
    sf_time t = time_at(SF_SCHEDULE_VE, 0.5);
    double x[2] = {0.3, -0.2}, s[2];
    sf_outputs o = {.score = s};
    cr_expect_eq(sf_context_cancelled(ctx), 0);
    sf_context_cancel(ctx);
    cr_expect_eq(sf_context_cancelled(ctx), 1);
    cr_expect_eq(sf_evaluate(ctx, mix, &t, x, 1, &o), SF_ERR_CANCELLED);
    cr_expect(strstr(sf_last_error(), "cancelled") != NULL, "%s", sf_last_error());
    sf_context_resume(ctx);
    cr_expect_eq(sf_evaluate(ctx, mix, &t, x, 1, &o), SF_OK, "%s", sf_last_error());
    sf_mixture_destroy(mix);
    sf_context_destroy(ctx);
}

Test(cancel, a_model_run_stops_at_the_next_call)
{
    sf_context *ctx = cpu_context();
    sf_mixture *mix = random_mixture(2, 3, 6);
    sf_schedule sched = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    sf_sampler smp = sf_sampler_default(SF_SAMPLER_EM);
    smp.steps = 50;
    double *x = marginal(mix, &sched, 1.0, 10);
    /* the model cancels during its third call: that call's sf_evaluate already refuses */
    exact_model em = {ctx, mix, sched, 0, 3};
    cr_expect_eq(sf_sample_model(ctx, 2, exact_score, &em, &sched, &smp, x, 10, 0, NULL, NULL, 0), SF_ERR_CANCELLED);
    cr_expect_eq(em.calls, 3, "the model ran %d times", em.calls);
    free(x);
    sf_mixture_destroy(mix);
    sf_context_destroy(ctx);
}

static void *cancel_later(void *ctx)
{
    struct timespec pause = {0, 50000000};
    nanosleep(&pause, NULL);
    sf_context_cancel(ctx);
    return NULL;
}

static sf_context *alarm_ctx;
static void on_alarm(int sig)
{
    (void)sig;
    sf_context_cancel(alarm_ctx);
}

/* A built-in run far longer than the test (10^5 steps of 1000 particles, a minute or so) stopped
 * from elsewhere, promptly. */
static void expect_long_run_cancelled(sf_context *ctx, const char *who)
{
    sf_mixture *mix = random_mixture(4, 8, 7);
    sf_schedule sched = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    sf_sampler smp = sf_sampler_default(SF_SAMPLER_HEUN);
    smp.steps = 100000;
    double *x = marginal(mix, &sched, 1.0, 1000);
    struct timeval a, b;
    gettimeofday(&a, NULL);
    cr_expect_eq(sf_sample(ctx, mix, &sched, &smp, x, 1000, 0, NULL, NULL, 0), SF_ERR_CANCELLED, "%s: %s", who,
                 sf_last_error());
    gettimeofday(&b, NULL);
    double seconds = (double)(b.tv_sec - a.tv_sec) + 1e-6 * (double)(b.tv_usec - a.tv_usec);
    cr_expect_lt(seconds, 5.0, "%s: cancelled after %.2f s", who, seconds);
    free(x);
    sf_mixture_destroy(mix);
}

Test(cancel, from_another_thread)
{
    sf_context *ctx = cpu_context();
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, cancel_later, ctx), 0);
    expect_long_run_cancelled(ctx, "thread");
    pthread_join(thread, NULL);
    sf_context_destroy(ctx);
}

Test(cancel, from_a_signal_handler)
{
    alarm_ctx = cpu_context();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
    struct itimerval timer = {{0, 0}, {0, 50000}};
    cr_assert_eq(setitimer(ITIMER_REAL, &timer, NULL), 0);
    expect_long_run_cancelled(alarm_ctx, "signal");
    sf_context_destroy(alarm_ctx);
}

/* ---------------------------------------------------------------- growable structs */

Test(abi, constructors_fill_the_callers_layout)
{
    /* a program built against a newer header: its struct is longer, the tail must come back zero */
    unsigned char big[sizeof(sf_schedule) + 32];
    memset(big, 0xAB, sizeof big);
    sf_schedule *s = (sf_schedule *)big;
    cr_assert_eq(sf_schedule_init(s, sizeof big, SF_SCHEDULE_VP_LINEAR), SF_OK, "%s", sf_last_error());
    cr_expect_eq(s->size, sizeof big);
    cr_expect_eq(s->beta_max, 20.0);
    for (size_t i = sizeof(sf_schedule); i < sizeof big; i++) cr_expect_eq(big[i], 0, "byte %zu", i);
    unsigned char tbig[sizeof(sf_time) + 16];
    memset(tbig, 0xCD, sizeof tbig);
    cr_assert_eq(sf_schedule_time(s, 0.3, (sf_time *)tbig, sizeof tbig), SF_OK, "%s", sf_last_error());
    sf_time ref = time_at(SF_SCHEDULE_VP_LINEAR, 0.3);
    cr_expect_eq(((sf_time *)tbig)->tau, ref.tau);
    cr_expect_eq(((sf_time *)tbig)->size, sizeof tbig);
    for (size_t i = sizeof(sf_time); i < sizeof tbig; i++) cr_expect_eq(tbig[i], 0, "time byte %zu", i);
    /* a set field the library does not know: refused, naming the struct */
    big[sizeof(sf_schedule) + 3] = 1;
    sf_time t;
    cr_expect_eq(sf_schedule_at(s, 0.3, &t), SF_ERR_INVALID);
    cr_expect(strstr(sf_last_error(), "newer library") != NULL, "%s", sf_last_error());
    /* sizes below the first version's are refused */
    sf_sampler smp;
    cr_expect_eq(sf_sampler_init(&smp, 8, SF_SAMPLER_EM), SF_ERR_INVALID);
    cr_expect_eq(sf_schedule_time(s, 0.3, &t, 8), SF_ERR_INVALID);
    cr_expect_eq(sf_schedule_init(NULL, sizeof(sf_schedule), SF_SCHEDULE_VE), SF_ERR_INVALID);
}

Test(abi, outputs_of_any_known_size)
{
    sf_context *ctx = cpu_context();
    sf_mixture *mix = random_mixture(2, 3, 8);
    sf_time t = time_at(SF_SCHEDULE_VE, 0.4);
    double x[2] = {0.3, -0.2}, s0[2], s1[2], s2[2];
    sf_outputs zero = {.score = s0}, sized = SF_OUTPUTS_INIT;
    sized.score = s1;
    cr_assert_eq(sf_evaluate(ctx, mix, &t, x, 1, &zero), SF_OK, "%s", sf_last_error());
    cr_assert_eq(sf_evaluate(ctx, mix, &t, x, 1, &sized), SF_OK, "%s", sf_last_error());
    struct {
        sf_outputs o;
        double *later_field;
    } newer = {.o = {.size = sizeof newer, .score = s2}, .later_field = NULL};
    cr_assert_eq(sf_evaluate(ctx, mix, &t, x, 1, &newer.o), SF_OK, "%s", sf_last_error());
    for (int j = 0; j < 2; j++) cr_expect(s0[j] == s1[j] && s1[j] == s2[j], "coordinate %d", j);
    newer.later_field = s2;
    cr_expect_eq(sf_evaluate(ctx, mix, &t, x, 1, &newer.o), SF_ERR_INVALID);
    sized.size = 3;
    cr_expect_eq(sf_evaluate(ctx, mix, &t, x, 1, &sized), SF_ERR_INVALID);
    cr_expect(strstr(sf_last_error(), "sf_outputs") != NULL, "%s", sf_last_error());
    sf_mixture_destroy(mix);
    sf_context_destroy(ctx);
}

/* A caller built before the samplers' appended fields (size ends at first_step): the library reads
 * them as zero, which means the defaults (order 2, rho 7, s_noise 1, s_tmax infinity), so the run
 * equals one with the current struct's defaults. */
Test(abi, sampler_of_an_earlier_layout)
{
    sf_context *ctx = cpu_context();
    sf_mixture *mix = random_mixture(2, 3, 9);
    sf_schedule s = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    static const sf_sampler_kind kinds[2] = {SF_SAMPLER_UNIPC, SF_SAMPLER_EDM_HEUN};
    for (int k = 0; k < 2; k++) {
        sf_sampler now = sf_sampler_default(kinds[k]), old;
        now.steps = 9, now.spacing = SF_SPACING_KARRAS, now.t1 = 0.9, now.t0 = 0.02;
        memset(&old, 0xEE, sizeof old);
        memcpy(&old, &now, offsetof(sf_sampler, churn));
        old.size = offsetof(sf_sampler, first_step) + sizeof old.first_step;
        double a[4] = {0.3, -0.2, 1.1, 0.4}, b[4];
        memcpy(b, a, sizeof a);
        cr_assert_eq(sf_sample(ctx, mix, &s, &now, a, 2, 0, NULL, NULL, 0), SF_OK, "%s", sf_last_error());
        cr_assert_eq(sf_sample(ctx, mix, &s, &old, b, 2, 0, NULL, NULL, 0), SF_OK, "%s", sf_last_error());
        cr_expect(memcmp(a, b, sizeof a) == 0, "%s: the earlier layout runs with the defaults", sf_sampler_kind_name(kinds[k]));
    }
    sf_mixture_destroy(mix);
    sf_context_destroy(ctx);
}

Test(abi, results_in_the_callers_layout)
{
    sf_doublewell_summary ref;
    cr_assert_eq(sf_doublewell_summarize(0.3, &ref), SF_OK, "%s", sf_last_error());
    unsigned char big[sizeof(sf_doublewell_summary) + 24];
    memset(big, 0xEE, sizeof big);
    cr_assert_eq(sf_doublewell_summarize_sized(0.3, (sf_doublewell_summary *)big, sizeof big), SF_OK);
    cr_expect(memcmp(big, &ref, sizeof ref) == 0, "the known fields");
    for (size_t i = sizeof ref; i < sizeof big; i++) cr_expect_eq(big[i], 0, "byte %zu", i);
    cr_expect_eq(sf_doublewell_summarize_sized(0.3, &ref, sizeof(double)), SF_ERR_INVALID);
    cr_expect(strstr(sf_last_error(), "sf_doublewell_summary") != NULL, "%s", sf_last_error());
}

/* ---------------------------------------------------------------- particle dtypes */

Test(dtype, float32_particles_are_read_in_place)
{
    sf_context *ctx = cpu_context();
    const int d = 64;
    const size_t n = 70000; /* more than one widening chunk (2^22 / 64 = 65536 particles) */
    double means[2 * 64], w[2] = {0.3, 0.7}, vars[2] = {0.5, 1.5};
    for (int j = 0; j < 2 * d; j++) means[j] = sin(1.0 + j);
    sf_mixture *mix;
    cr_assert_eq(sf_mixture_create_isotropic(&mix, d, 2, w, means, vars), SF_OK);
    float *x32 = malloc(n * d * sizeof(float));
    double *x64 = malloc(n * d * sizeof(double)), *a = malloc(n * d * sizeof(double)), *b = malloc(n * d * sizeof(double));
    double la[4], lb[4];
    for (size_t e = 0; e < n * d; e++) x64[e] = x32[e] = (float)(1.5 * sin(0.37 * (double)e));
    sf_time t = time_at(SF_SCHEDULE_VP_COSINE, 0.4);
    sf_plan *plan;
    cr_assert_eq(sf_plan_create(&plan, ctx, mix, &t), SF_OK);
    sf_outputs oa = {.score = a}, ob = {.score = b};
    cr_assert_eq(sf_plan_evaluate(plan, x64, n, &oa), SF_OK, "%s", sf_last_error());
    cr_assert_eq(sf_plan_evaluate_typed(plan, x32, SF_DTYPE_F32, n, &ob), SF_OK, "%s", sf_last_error());
    cr_expect(memcmp(a, b, n * d * sizeof(double)) == 0, "float32 particles give the float64 results of their values");
    /* outputs of the last particles, past the first chunk, land in their own rows */
    sf_outputs la_o = {.logp = la}, lb_o = {.logp = lb};
    cr_assert_eq(sf_plan_evaluate(plan, x64 + (n - 4) * d, 4, &la_o), SF_OK);
    double *lfull = malloc(n * sizeof(double));
    sf_outputs lf_o = {.logp = lfull};
    cr_assert_eq(sf_plan_evaluate_typed(plan, x32, SF_DTYPE_F32, n, &lf_o), SF_OK);
    for (int i = 0; i < 4; i++) lb[i] = lfull[n - 4 + i];
    for (int i = 0; i < 4; i++) cr_expect_eq(la[i], lb[i], "logp of particle %zu", n - 4 + i);
    (void)lb_o;
    x32[(n - 2) * d + 5] = NAN;
    cr_expect_eq(sf_plan_evaluate_typed(plan, x32, SF_DTYPE_F32, n, &ob), SF_ERR_INVALID);
    char want[64];
    snprintf(want, sizeof want, "particle %zu, coordinate 5 is not finite", n - 2);
    cr_expect(strstr(sf_last_error(), want) != NULL, "%s", sf_last_error());
    cr_expect_eq(sf_plan_evaluate_typed(plan, x32, (sf_dtype)7, n, &ob), SF_ERR_INVALID);
    free(x32), free(x64), free(a), free(b), free(lfull);
    sf_plan_destroy(plan);
    sf_mixture_destroy(mix);
    sf_context_destroy(ctx);
}
