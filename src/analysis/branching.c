/* Branching (docs/analyses.md, "Speciation"): particles of a sampler, each recorded as its
 * denoiser E[x0 | x_t] projected on the split's axis about the interface point, and what the
 * frame nearest t_c shows against exact draws of p_t there. */
#include "abi.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sf_context *ctx;
    const sf_mixture *mix;
    sf_plan *plan; /* the field, moved to each frame's time */
    const sf_schedule *schedule;
    const double *centre, *axis;
    double *denoised; /* n x d scratch */
    double *t, *proj;
    int frames, capacity;
} frame_log;

/* The projections (E[x0 | x] - centre) . axis of n particles, the plan at their time. */
static sf_status project(sf_plan *plan, int d, const double *x, size_t n, const double *centre, const double *axis,
                         double *denoised, double *proj)
{
    sf_outputs o = {.denoise = denoised};
    sf_status st = sf_plan_evaluate(plan, x, n, &o);
    for (size_t p = 0; st == SF_OK && p < n; p++) {
        double v = 0;
        for (int i = 0; i < d; i++) v += (denoised[p * d + i] - centre[i]) * axis[i];
        proj[p] = v;
    }
    return st;
}

static sf_status record(void *data, int step, double t, const double *x, size_t n, int d)
{
    (void)step;
    frame_log *lg = data;
    if (lg->frames >= lg->capacity) return sfi_fail(SF_ERR_INVALID, "more trajectory frames than the %d given room for", lg->capacity);
    sf_time tm;
    sf_status st = sf_schedule_at(lg->schedule, t, &tm);
    if (st == SF_OK) st = sf_plan_set_time(lg->plan, &tm);
    if (st == SF_OK) st = project(lg->plan, d, x, n, lg->centre, lg->axis, lg->denoised, lg->proj + (size_t)lg->frames * n);
    if (st == SF_OK) lg->t[lg->frames++] = t;
    return st;
}

/* The frame nearest t_c, the fractions leaning (|proj| > a/2) and committed there, and the
 * leaning fraction over exact draws of p_t at that frame's time. */
static sf_status summarize(const frame_log *lg, size_t n, double t_c, double a, size_t n_exact, uint64_t seed,
                           sf_branching_summary *out)
{
    int best = 0;
    for (int f = 1; f < lg->frames; f++)
        if (fabs(lg->t[f] - t_c) < fabs(lg->t[best] - t_c)) best = f;
    const double *at = lg->proj + (size_t)best * n, *last = lg->proj + (size_t)(lg->frames - 1) * n;
    size_t leaning = 0, committed = 0, side_a = 0;
    for (size_t p = 0; p < n; p++) {
        leaning += fabs(at[p]) > 0.5 * a;
        committed += (at[p] < 0) == (last[p] < 0);
        side_a += last[p] < 0;
    }
    out->frame = best, out->t = lg->t[best];
    out->leaning = (double)leaning / n, out->committed = (double)committed / n, out->side_a = (double)side_a / n;
    int d = sf_mixture_dim(lg->mix);
    double *x = malloc(n_exact * (size_t)d * sizeof(double) + 1), *den = malloc(n_exact * (size_t)d * sizeof(double) + 1);
    double *proj = malloc(n_exact * sizeof(double) + 1);
    sf_status st = x && den && proj ? SF_OK : sfi_fail(SF_ERR_NOMEM, "out of memory for %zu exact draws", n_exact);
    sf_time tm;
    if (st == SF_OK) st = sf_schedule_at(lg->schedule, out->t, &tm);
    if (st == SF_OK) st = sf_sample_marginal(lg->mix, &tm, seed, 0, x, n_exact);
    if (st == SF_OK) st = sf_plan_set_time(lg->plan, &tm);
    if (st == SF_OK) st = project(lg->plan, d, x, n_exact, lg->centre, lg->axis, den, proj);
    size_t exact = 0;
    for (size_t p = 0; st == SF_OK && p < n_exact; p++) exact += fabs(proj[p]) > 0.5 * a;
    double f = n_exact ? (double)exact / n_exact : NAN;
    out->leaning_exact = f, out->leaning_exact_se = n_exact ? sqrt(f * (1 - f) / n_exact) : NAN;
    free(x), free(den), free(proj);
    return st;
}

static sf_status speciation_branching_into(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na,
                                           const int *set_b,
                                  int nb, double tau_c, const sf_schedule *schedule, const sf_sampler *sampler,
                                  size_t n, uint64_t seed, int every, int capacity, double *t, double *proj,
                                  int *frames, size_t n_exact, sf_branching_summary *summary)
{
    sfi_error_clear();
    if (!ctx || !mix || !set_a || !set_b || !schedule || !sampler || !t || !proj || !frames)
        return sfi_fail(SF_ERR_INVALID, "sf_speciation_branching: a required argument is NULL");
    sf_status sized = sfi_check_doubles(__func__, n, (size_t)sf_mixture_dim(mix));
    if (sized == SF_OK && capacity > 0) sized = sfi_check_doubles(__func__, n, (size_t)capacity); /* proj */
    if (sized == SF_OK) sized = sfi_check_doubles(__func__, n_exact, (size_t)sf_mixture_dim(mix));
    if (sized != SF_OK) return sized;
    if (n < 1 || every < 1 || capacity < 2) return sfi_fail(SF_ERR_INVALID, "branching needs n >= 1, every >= 1 and room for 2 frames");
    int d = sf_mixture_dim(mix);
    double *axis = malloc((size_t)d * sizeof(double)), *centre = malloc((size_t)d * sizeof(double)), a, t_c;
    double *x = malloc(n * (size_t)d * sizeof(double)), *denoised = malloc(n * (size_t)d * sizeof(double));
    sf_status st = axis && centre && x && denoised ? SF_OK : sfi_fail(SF_ERR_NOMEM, "out of memory for %zu particles", n);
    if (st == SF_OK) st = sf_speciation_axis(mix, set_a, na, set_b, nb, axis, &a);
    if (st == SF_OK) st = sf_speciation_normal_curvature(ctx, mix, set_a, na, set_b, nb, tau_c, NULL, NULL, centre);
    if (st == SF_OK) st = sf_schedule_t_of_tau(schedule, tau_c, &t_c);
    sf_time start;
    if (st == SF_OK) st = sf_schedule_at(schedule, sampler->t1, &start);
    if (st == SF_OK) st = sf_sample_marginal(mix, &start, seed, 0, x, n);
    frame_log lg = {ctx, mix, NULL, schedule, centre, axis, denoised, t, proj, 0, capacity};
    if (st == SF_OK) st = sf_plan_create(&lg.plan, ctx, mix, &start);
    if (st == SF_OK) st = sf_sample(ctx, mix, schedule, sampler, x, n, 0, record, &lg, every);
    if (st == SF_OK) *frames = lg.frames;
    if (st == SF_OK && summary) st = summarize(&lg, n, t_c, a, n_exact, seed + 1, summary);
    sf_plan_destroy(lg.plan);
    free(axis), free(centre), free(x), free(denoised);
    return st;
}

/* sf_speciation_branching for a caller's sf_branching_summary of `size` bytes (sizeof in its header): the fields it knows. */
sf_status sf_speciation_branching_sized(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na,
                                        const int *set_b, int nb, double tau_c, const sf_schedule *schedule,
                                        const sf_sampler *sampler, size_t n, uint64_t seed, int every, int capacity,
                                        double *t, double *proj, int *frames, size_t n_exact,
                                        sf_branching_summary *summary, size_t size)
{
    sf_branching_summary result;
    memset(&result, 0, sizeof result);
    sf_status st = speciation_branching_into(ctx, mix, set_a, na, set_b, nb, tau_c, schedule, sampler, n, seed, every,
                                             capacity, t, proj, frames, n_exact, summary ? &result : NULL);
    if (st == SF_OK && summary) st = sfi_struct_store(summary, size, &result, SF_BRANCHING_SUMMARY_SIZE_0_1,
        sizeof result, "sf_branching_summary");
    return st;
}
