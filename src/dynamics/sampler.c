/* Samplers over many particles with the exact mixture score (docs/samplers.md): the names and
 * defaults, exact marginal samples, guidance, and the loops that run the step plans of
 * step_plan.c (linear multistage plans in eps = -sigma s, kernels/sampler_step.h) on the host or on
 * the device. Noise is Philox4x32-10 keyed by (seed, particle, step, dimension), so any split of the
 * particles gives the same trajectories. */
#include "abi.h"
#include "noise.h"
#include "philox.h"
#include "sampler_step.h"
#include "step_plan.h"
#include "sf_cuda.h"
#include "context.h"
#include "mixture.h"
#include "status.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reserved Philox "steps" for the initial draw, far above any real step index. */
#define SF_STEP_PICK 0xFFFFFFFFu
#define SF_STEP_DIAG 0xFFFFFFFEu
#define SF_STEP_RANK 0xFFFFFFFDu
#define SF_STEP_NOISE 0xFFFFFFFCu

static const char *const sampler_names[] = {"em",       "ode-euler",    "heun",         "ddpm",
                                            "ddim",     "dpm1",         "dpm2",         "dpm3",
                                            "euler-ancestral", "edm-heun", "dpmpp-2m", "dpmpp-3m",
                                            "dpmpp-2m-sde", "dpmpp-2s-ancestral", "unipc"};

const char *sf_sampler_kind_name(sf_sampler_kind kind)
{
    return (unsigned)kind < sizeof sampler_names / sizeof sampler_names[0] ? sampler_names[kind] : "?";
}

sf_status sf_sampler_kind_parse(const char *name, sf_sampler_kind *kind)
{
    if (!name || !kind) return sfi_fail(SF_ERR_INVALID, "sf_sampler_kind_parse: name and kind must not be NULL");
    for (int k = 0; k < (int)(sizeof sampler_names / sizeof sampler_names[0]); k++)
        if (strcmp(name, sampler_names[k]) == 0) {
            *kind = (sf_sampler_kind)k;
            return SF_OK;
        }
    return sfi_fail(SF_ERR_INVALID, "unknown sampler '%s' (em, ode-euler, heun, ddpm, ddim, dpm1, dpm2, dpm3, "
                                   "euler-ancestral, edm-heun, dpmpp-2m, dpmpp-3m, dpmpp-2m-sde, dpmpp-2s-ancestral, unipc)", name);
}

sf_status sf_sampler_init(sf_sampler *sampler, size_t size, sf_sampler_kind kind)
{
    if (!sampler) return sfi_fail(SF_ERR_INVALID, "sf_sampler_init: sampler is NULL");
    sf_sampler s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.h = 1.0;
    s.eta = kind == SF_SAMPLER_DDPM ? 1.0 : 0.0;
    s.steps = 100;
    s.spacing = SF_SPACING_T;
    s.t1 = 1.0;
    s.t0 = 1e-3;
    s.s_tmax = INFINITY, s.s_noise = 1.0, s.order = 2, s.rho = 7.0;
    sf_status st = sfi_struct_store(sampler, size, &s, SF_SAMPLER_SIZE_0_1, sizeof s, "sf_sampler");
    if (st == SF_OK) sampler->size = size;
    return st;
}

/* ---------------------------------------------------------------- exact marginal samples */

sf_status sf_sample_marginal(const sf_mixture *mix, const sf_time *time, uint64_t seed, size_t first_particle,
                             double *x, size_t n)
{
    if (!mix || !time || (n > 0 && !x)) return sfi_fail(SF_ERR_INVALID, "sf_sample_marginal: mix, time and x must not be NULL");
    if (mix->count < 1) return sfi_fail(SF_ERR_INVALID, "sf_sample_marginal: the mixture has no components");
    sf_status checked = sfi_check_doubles(__func__, n, (size_t)mix->dim);
    if (checked != SF_OK) return checked;
    int d = mix->dim, rmax = sfi_mixture_max_rank(mix);
    int failed = 0;
#pragma omp parallel if (n > 256)
    {
        double *z = malloc((2 * (size_t)d + rmax + 1) * sizeof(double)); /* diagonal, rank, noise */
        if (!z) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (size_t i = 0; i < n; i++) {
            if (!z) continue;
            uint64_t p = first_particle + i;
            sf_philox_ctr c = {{(uint32_t)p, (uint32_t)(p >> 32), SF_STEP_PICK, 0}};
            sf_philox_key k = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
            double u = sf_philox_uniform(sf_philox4x32_10(c, k).v[0]);
            double *noise = z + d + rmax;
            sfi_noise_row(seed, p, SF_STEP_DIAG, d, z);
            sfi_noise_row(seed, p, SF_STEP_RANK, rmax, z + d);
            sfi_noise_row(seed, p, SF_STEP_NOISE, d, noise);
            double *row = x + i * d;
            sfi_mixture_draw(mix, u >= 1 ? 0.999999999999 : u, z, z + d, row);
            for (int j = 0; j < d; j++) row[j] = time->alpha * row[j] + time->sigma * noise[j];
        }
        free(z);
    }
    return failed ? sfi_fail(SF_ERR_NOMEM, "out of memory drawing %zu particles", n) : SF_OK;
}

/* The step grid and every step's plan, as a run of smp makes them; *times and *plans are the
 * caller's to free (also on failure). */
static sf_status plan_run(const sf_sampler *smp, const sf_schedule *sched, double **times, sf_step_plan **plans)
{
    int K = smp->steps;
    *times = malloc(((size_t)K + 1) * sizeof(double));
    *plans = malloc((size_t)K * sizeof(sf_step_plan));
    sf_status st = *times && *plans ? SF_OK : sfi_fail(SF_ERR_NOMEM, "out of memory for %d steps", K);
    if (st == SF_OK) st = sfi_step_times(smp, sched, *times);
    if (st == SF_OK) st = sfi_step_plans(smp, sched, *times, K, *plans);
    return st;
}

/* ---------------------------------------------------------------- the sampling loop */

/* What a sampler stage evaluates: the mixture's (optionally guided) score through plans, or a
 * caller's score model. */
typedef struct {
    sf_context *ctx;
    int dim;
    sf_score_fn model;        /* a caller's model, or NULL for the mixture's score */
    void *model_data;
    const sf_mixture *mix;
    sf_mixture *cls;          /* guidance class, or NULL */
    sf_plan *plan, *cls_plan; /* their fields, moved to each stage time */
    double gamma;             /* 1 + w */
    double *s, *sc;           /* n x d scratch */
} eps_model;

/* The caller's model at (u, t) into em->s, refused when it fails or returns non-finite values. */
static sf_status eval_model(eps_model *em, double t, const double *u, size_t n)
{
    sf_status st = sfi_context_poll(em->ctx);
    if (st != SF_OK) return st;
    sfi_error_clear();
    st = em->model(em->model_data, t, u, n, em->dim, em->s);
    if (st != SF_OK) {
        if (!*sf_last_error()) sfi_fail(st, "the score model failed at t = %g (%s)", t, sf_status_name(st));
        return st;
    }
    if (sf_particles_check(em->s, n, em->dim) != SF_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", sf_last_error());
        return sfi_fail(SF_ERR_NUMERIC, "the score model returned a non-finite score at t = %g: %s", t, why);
    }
    return SF_OK;
}

/* eps = -sigma s~ at (u, t), s~ = s + gamma (s_c - s) with guidance. */
static sf_status eval_eps(eps_model *em, const sf_schedule *sched, double t, const double *u, size_t n, double *eps)
{
    int d = em->dim;
    sf_time tm;
    sf_status st = sfi_sampler_time(sched, t, &tm);
    if (st == SF_OK && em->model) {
        st = eval_model(em, t, u, n);
    } else if (st == SF_OK) {
        sf_outputs o = {.score = em->s};
        st = sf_plan_set_time(em->plan, &tm);
        if (st == SF_OK) st = sf_plan_evaluate(em->plan, u, n, &o);
        if (st == SF_OK && em->cls) {
            sf_outputs oc = {.score = em->sc};
            st = sf_plan_set_time(em->cls_plan, &tm);
            if (st == SF_OK) st = sf_plan_evaluate(em->cls_plan, u, n, &oc);
        }
    }
    if (st != SF_OK) return st;
#pragma omp parallel for schedule(static) if (n * (size_t)d > 16384)
    for (size_t i = 0; i < n * (size_t)d; i++) {
        double s = em->cls ? em->s[i] + em->gamma * (em->sc[i] - em->s[i]) : em->s[i];
        eps[i] = -tm.sigma * s;
    }
    return SF_OK;
}

/* The appended fields of an older caller's struct are zero: their defaults. */
static void sampler_defaults_for_zeros(sf_sampler *smp)
{
    if (smp->s_tmax == 0) smp->s_tmax = INFINITY;
    if (smp->s_noise == 0) smp->s_noise = 1.0;
    if (smp->order == 0) smp->order = 2;
    if (smp->rho == 0) smp->rho = 7.0;
}

static sf_status check_sampler(const sf_sampler *smp, const sf_schedule *sched)
{
    if (smp->spacing != SF_SPACING_T && smp->spacing != SF_SPACING_LAMBDA && smp->spacing != SF_SPACING_GIVEN &&
        smp->spacing != SF_SPACING_KARRAS)
        return sfi_fail(SF_ERR_INVALID, "unknown step spacing %d", (int)smp->spacing);
    if ((unsigned)smp->kind > SF_SAMPLER_UNIPC) return sfi_fail(SF_ERR_INVALID, "unknown sampler kind %d", (int)smp->kind);
    if (smp->class_size < 0 || (smp->class_size > 0 && !smp->class_components))
        return sfi_fail(SF_ERR_INVALID, "guidance class of %d components given without its component list",
                       smp->class_size);
    if (sched->kind == SF_SCHEDULE_DIRECT) return sfi_fail(SF_ERR_INVALID, "samplers need a schedule with a time axis");
    if (smp->steps < 1 || smp->steps > 100000000) return sfi_fail(SF_ERR_INVALID, "steps %d must be >= 1", smp->steps);
    if (smp->spacing != SF_SPACING_GIVEN && !(smp->t1 > smp->t0))
        return sfi_fail(SF_ERR_INVALID, "generation runs from t1 down to t0: need t1 > t0 (got %g, %g)", smp->t1, smp->t0);
    if (!(smp->h >= 0) || !isfinite(smp->h)) return sfi_fail(SF_ERR_INVALID, "h = %g must be >= 0", smp->h);
    if (!(smp->eta >= 0 && smp->eta <= 1)) return sfi_fail(SF_ERR_INVALID, "eta = %g must be in [0, 1]", smp->eta);
    if (!isfinite(smp->guidance)) return sfi_fail(SF_ERR_INVALID, "guidance weight must be finite");
    if (!(smp->churn >= 0) || !isfinite(smp->churn)) return sfi_fail(SF_ERR_INVALID, "churn = %g must be >= 0", smp->churn);
    if (!(smp->s_tmin >= 0) || !(smp->s_tmax >= smp->s_tmin) || isnan(smp->s_tmax))
        return sfi_fail(SF_ERR_INVALID, "s_tmin = %g, s_tmax = %g: need 0 <= s_tmin <= s_tmax", smp->s_tmin, smp->s_tmax);
    if (!(smp->s_noise > 0) || !isfinite(smp->s_noise))
        return sfi_fail(SF_ERR_INVALID, "s_noise = %g must be > 0", smp->s_noise);
    if (smp->order != 2 && smp->order != 3) return sfi_fail(SF_ERR_INVALID, "order = %d must be 2 or 3 (unipc)", smp->order);
    if (!(smp->rho > 0) || !isfinite(smp->rho)) return sfi_fail(SF_ERR_INVALID, "rho = %g must be > 0", smp->rho);
    if (smp->to_zero != 0 && smp->to_zero != 1) return sfi_fail(SF_ERR_INVALID, "to_zero = %d must be 0 or 1", smp->to_zero);
    if (smp->to_zero && smp->spacing == SF_SPACING_GIVEN)
        return sfi_fail(SF_ERR_INVALID, "to_zero (--to-zero) with given times: end the given times at t = 0 instead");
    if (smp->spacing != SF_SPACING_GIVEN) { /* both ends within the schedule's range (flow: t < 1) */
        sf_time end;
        sf_status st = sf_schedule_at(sched, smp->t1, &end);
        if (st == SF_OK) st = sf_schedule_at(sched, smp->t0, &end);
        if (st != SF_OK) return st;
    }
    if (smp->to_zero) {
        sf_time zero;
        sf_status st = sf_schedule_at(sched, 0.0, &zero);
        if (st != SF_OK) return st;
        if (zero.sigma > 0)
            return sfi_fail(SF_ERR_INVALID, "to_zero (--to-zero): the %s schedule never reaches sigma = 0 (sigma(0) = %g)",
                           sf_schedule_kind_name(sched->kind), zero.sigma);
    }
    return SF_OK;
}

/* The history ring of denoised values (multistep samplers), nd doubles per slot. */
typedef struct {
    double *slot[SF_MAX_HISTORY];
} history_ring;

/* One step's per-particle result: z (if the step is noisy), the history read before the push, x_t. */
static void host_step_result(const sf_step_plan *plan, int k, double *const *eps, history_ring *ring, const double *z,
                             double *x, size_t first, size_t count)
{
    for (size_t e = first; e < first + count; e++) {
        double all[SF_MAX_STAGES], hist[SF_MAX_HISTORY] = {0};
        for (int j = 0; j < plan->stages; j++) all[j] = eps[j][e];
        for (int m = 0; m < SF_MAX_HISTORY; m++)
            if (plan->H[m] != 0) hist[m] = ring->slot[sf_step_slot(k, m)][e];
        double zz = z ? z[e - first] : 0.0, x_old = x[e];
        x[e] = sf_step_result(plan, x_old, all, hist, zz);
        if (plan->push) ring->slot[sf_step_slot(k + 1, 0)][e] = sf_step_denoised(plan, x_old, all, zz);
    }
}

/* The CPU loop over the step plans: stage inputs, eps through the field's plan at each stage time,
 * the result with Philox noise (the same z in the stage inputs and the result). */
static sf_status sample_on_host(eps_model *em, const sf_schedule *sched, const sf_step_plan *plans, const double *times,
                                int K, uint64_t seed, uint32_t first_step, double *x, size_t n, size_t first_particle,
                                sf_trajectory_fn trajectory, void *data, int every)
{
    int d = em->dim, uses_history = 0, noisy = 0;
    size_t nd = n * (size_t)d;
    for (int k = 0; k < K; k++) uses_history |= plans[k].push, noisy |= sf_step_noisy(&plans[k]);
    double *u = malloc(nd * sizeof(double) + 1), *eps[SF_MAX_STAGES];
    double *z = noisy ? malloc(nd * sizeof(double) + 1) : NULL; /* this step's normals */
    history_ring ring = {{NULL}};
    int ok = u != NULL && (!noisy || z != NULL);
    for (int i = 0; i < SF_MAX_STAGES; i++) ok = (eps[i] = malloc(nd * sizeof(double) + 1)) && ok;
    for (int m = 0; uses_history && m < SF_MAX_HISTORY; m++) ok = (ring.slot[m] = calloc(nd + 1, sizeof(double))) && ok;
    sf_status st = ok ? SF_OK : sfi_fail(SF_ERR_NOMEM, "out of memory for %zu particles", n);
    if (st == SF_OK && trajectory) st = trajectory(data, 0, times[0], x, n, d);
    for (int k = 0; st == SF_OK && k < K; k++) {
        const sf_step_plan *plan = &plans[k];
        int draw = sf_step_noisy(plan);
        if (draw) {
#pragma omp parallel for schedule(static) if (nd > 16384)
            for (size_t p = 0; p < n; p++) /* keyed by the global step: a continued run never reuses a step's noise */
                sfi_noise_row(seed, first_particle + p, first_step + (uint32_t)k, d, z + p * d);
        }
        for (int i = 0; st == SF_OK && i < plan->stages; i++) {
            const double *in = x;
            if (!sf_step_input_is_x(plan, i)) {
#pragma omp parallel for schedule(static) if (nd > 16384)
                for (size_t e = 0; e < nd; e++) {
                    double prev[SF_MAX_STAGES];
                    for (int j = 0; j < i; j++) prev[j] = eps[j][e];
                    u[e] = sf_step_stage_input(plan, i, x[e], prev, draw ? z[e] : 0.0);
                }
                in = u;
            }
            st = eval_eps(em, sched, plan->time[i], in, n, eps[i]);
        }
        if (st != SF_OK) break;
#pragma omp parallel for schedule(static) if (nd > 16384)
        for (size_t p = 0; p < n; p++)
            host_step_result(plan, k, eps, &ring, draw ? z + p * d : NULL, x, p * d, (size_t)d);
        if (sf_particles_check(x, n, d) != SF_OK) { /* the step, not the caller, produced it */
            char why[256];
            snprintf(why, sizeof why, "%s", sf_last_error());
            st = sfi_fail(SF_ERR_NUMERIC, "sampling produced a non-finite particle at t = %g (step %d): %s",
                         times[k + 1], k + 1, why);
            break;
        }
        if (trajectory && ((every > 0 && (k + 1) % every == 0) || k + 1 == K))
            st = trajectory(data, k + 1, times[k + 1], x, n, d);
    }
    free(u), free(z);
    for (int i = 0; i < SF_MAX_STAGES; i++) free(eps[i]);
    for (int m = 0; m < SF_MAX_HISTORY; m++) free(ring.slot[m]);
    return st;
}

/* The step grid and plans, then the device loop (the mixture's score on CUDA) or the host loop. */
static sf_status run_sampler(eps_model *em, const sf_schedule *sched, sf_sampler *smp, double *x, size_t n,
                             size_t first_particle, sf_trajectory_fn trajectory, void *data, int every)
{
    if (every < 0) return sfi_fail(SF_ERR_INVALID, "sf_sample: every = %d must be >= 0", every);
    sampler_defaults_for_zeros(smp);
    sf_status st = sfi_check_doubles(__func__, n, (size_t)em->dim);
    if (st == SF_OK) st = check_sampler(smp, sched);
    if (st != SF_OK) return st;
    int d = em->dim, K = smp->steps;
    size_t nd = n * (size_t)d;
    double *times = NULL;
    sf_step_plan *plans = NULL;
    st = plan_run(smp, sched, &times, &plans);
    if (st == SF_OK && smp->class_components)
        st = sfi_mixture_subset(em->mix, smp->class_components, smp->class_size, &em->cls);
    if (st == SF_OK) st = sf_particles_check(x, n, d);
    if (st == SF_OK && !em->model && em->ctx->backend == SF_BACKEND_CUDA) {
        sf_context *ctx = em->ctx;
        st = sfi_cuda_sample(ctx->cuda, ctx->precision, ctx->max_batch, em->mix, em->cls, em->gamma, sched, plans, times,
                            K, smp->seed, smp->first_step, x, n, first_particle, trajectory, data, every);
        /* the device loop does not check every stage as sf_evaluate does: check the result */
        if (st == SF_OK && sf_particles_check(x, n, d) != SF_OK) {
            char why[256];
            snprintf(why, sizeof why, "%s", sf_last_error());
            st = sfi_fail(SF_ERR_NUMERIC, "sampling produced non-finite particles: %s", why);
        }
    } else if (st == SF_OK) {
        em->s = malloc(nd * sizeof(double) + 1);
        if (em->cls) em->sc = malloc(nd * sizeof(double) + 1);
        if (!em->s || (em->cls && !em->sc)) st = sfi_fail(SF_ERR_NOMEM, "out of memory for %zu particles", n);
        sf_time start;
        if (st == SF_OK && !em->model) {
            st = sfi_sampler_time(sched, plans[0].time[0], &start);
            if (st == SF_OK) st = sf_plan_create(&em->plan, em->ctx, em->mix, &start);
            if (st == SF_OK && em->cls) st = sf_plan_create(&em->cls_plan, em->ctx, em->cls, &start);
        }
        if (st == SF_OK)
            st = sample_on_host(em, sched, plans, times, K, smp->seed, smp->first_step, x, n, first_particle, trajectory,
                                data, every);
    }
    free(times), free(plans), free(em->s), free(em->sc);
    sf_plan_destroy(em->plan), sf_plan_destroy(em->cls_plan);
    sf_mixture_destroy(em->cls);
    return st;
}

/* The caller's schedule and sampler (of any struct size) as full structs, the sampler's zero
 * fields given their defaults, both checked as a run checks them. */
static sf_status load_run(const sf_schedule *sched, const sf_sampler *smp, sf_schedule *schedule, sf_sampler *sampler)
{
    sf_status st = SF_LOAD_STRUCT(*schedule, sched, SF_SCHEDULE_SIZE_0_1, "sf_schedule");
    if (st == SF_OK) st = SF_LOAD_STRUCT(*sampler, smp, SF_SAMPLER_SIZE_0_1, "sf_sampler");
    if (st != SF_OK) return st;
    sampler_defaults_for_zeros(sampler);
    return check_sampler(sampler, schedule);
}

sf_status sf_sampler_times(const sf_schedule *sched, const sf_sampler *smp, double *times)
{
    sfi_error_clear();
    if (!sched || !smp || !times) return sfi_fail(SF_ERR_INVALID, "sf_sampler_times: schedule, sampler and times must not be NULL");
    sf_schedule schedule;
    sf_sampler sampler;
    sf_status st = load_run(sched, smp, &schedule, &sampler);
    return st == SF_OK ? sfi_step_times(&sampler, &schedule, times) : st;
}

sf_status sf_sampler_interval_default(const sf_schedule *sched, double *t1, double *t0, sf_spacing *spacing)
{
    sfi_error_clear();
    if (!sched || !t1 || !t0 || !spacing)
        return sfi_fail(SF_ERR_INVALID, "sf_sampler_interval_default: schedule, t1, t0 and spacing must not be NULL");
    sf_schedule schedule;
    sf_status st = SF_LOAD_STRUCT(schedule, sched, SF_SCHEDULE_SIZE_0_1, "sf_schedule");
    if (st != SF_OK) return st;
    int edm = schedule.kind == SF_SCHEDULE_EDM;
    /* vp-cosine and flow end (alpha = 0) at t = 1; edm's time is its noise level */
    *t1 = schedule.kind == SF_SCHEDULE_VP_COSINE ? 0.995 : schedule.kind == SF_SCHEDULE_FLOW ? 0.99 : edm ? schedule.sigma_max : 1.0;
    *t0 = edm ? schedule.sigma_min : 1e-3;
    *spacing = edm ? SF_SPACING_KARRAS : SF_SPACING_T;
    return SF_OK;
}

sf_status sf_sample(sf_context *ctx, const sf_mixture *mix, const sf_schedule *sched, const sf_sampler *smp, double *x,
                    size_t n, size_t first_particle, sf_trajectory_fn trajectory, void *data, int every)
{
    sfi_error_clear();
    if (!ctx || !mix || !sched || !smp || (n > 0 && !x))
        return sfi_fail(SF_ERR_INVALID, "sf_sample: ctx, mix, schedule, sampler and x must not be NULL");
    if (mix->count < 1) return sfi_fail(SF_ERR_INVALID, "sf_sample: the mixture has no components");
    sf_schedule schedule;
    sf_sampler sampler;
    sf_status st = SF_LOAD_STRUCT(schedule, sched, SF_SCHEDULE_SIZE_0_1, "sf_schedule");
    if (st == SF_OK) st = SF_LOAD_STRUCT(sampler, smp, SF_SAMPLER_SIZE_0_1, "sf_sampler");
    if (st != SF_OK) return st;
    eps_model em = {.ctx = ctx, .dim = mix->dim, .mix = mix, .gamma = 1.0 + sampler.guidance};
    return run_sampler(&em, &schedule, &sampler, x, n, first_particle, trajectory, data, every);
}

sf_status sf_sample_model(sf_context *ctx, int dim, sf_score_fn score, void *score_data, const sf_schedule *sched,
                          const sf_sampler *smp, double *x, size_t n, size_t first_particle, sf_trajectory_fn trajectory,
                          void *data, int every)
{
    sfi_error_clear();
    if (!ctx || !score || !sched || !smp || (n > 0 && !x))
        return sfi_fail(SF_ERR_INVALID, "sf_sample_model: a required argument is NULL");
    if (dim < 1) return sfi_fail(SF_ERR_INVALID, "sf_sample_model: dimension %d must be >= 1", dim);
    sf_schedule schedule;
    sf_sampler sampler;
    sf_status st = SF_LOAD_STRUCT(schedule, sched, SF_SCHEDULE_SIZE_0_1, "sf_schedule");
    if (st == SF_OK) st = SF_LOAD_STRUCT(sampler, smp, SF_SAMPLER_SIZE_0_1, "sf_sampler");
    if (st != SF_OK) return st;
    if (sampler.class_components)
        return sfi_fail(SF_ERR_INVALID, "guidance toward mixture components needs the mixture's score: a score model "
                                       "carries its own guidance");
    eps_model em = {.ctx = ctx, .dim = dim, .model = score, .model_data = score_data, .gamma = 1.0};
    return run_sampler(&em, &schedule, &sampler, x, n, first_particle, trajectory, data, every);
}

sf_status sf_sampler_cost(const sf_schedule *sched, const sf_sampler *smp, size_t *evaluations, int *stochastic)
{
    sfi_error_clear();
    if (!sched || !smp) return sfi_fail(SF_ERR_INVALID, "sf_sampler_cost: schedule and sampler must not be NULL");
    sf_schedule schedule;
    sf_sampler sampler;
    sf_status st = load_run(sched, smp, &schedule, &sampler);
    if (st != SF_OK) return st;
    double *times = NULL;
    sf_step_plan *plans = NULL;
    st = plan_run(&sampler, &schedule, &times, &plans);
    size_t count = 0;
    int noisy = 0;
    for (int k = 0; st == SF_OK && k < sampler.steps; k++) count += (size_t)plans[k].stages, noisy |= sf_step_noisy(&plans[k]);
    if (st == SF_OK && evaluations) *evaluations = count;
    if (st == SF_OK && stochastic) *stochastic = noisy;
    free(times), free(plans);
    return st;
}
