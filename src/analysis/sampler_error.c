/* Samplers measured against the exact distribution (docs/samplers.md, "Exact sampler error"): each
 * sampler at each budget of score evaluations, from the same exact draws of p_t1; deterministic
 * runs against the exact probability-flow map of those draws (an adaptive solve far tighter than
 * the errors) with the observed order of convergence, every run against p_t0 itself
 * (sf_distribution_error's measures). Samplers are taken by name and run through sf_sample, so
 * every kind the library knows is measured the same way. */
#include "abi.h"
#include "distribution_error.h"
#include "mixture.h"
#include "numerics.h"
#include "status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_REFERENCE_TOL 1e-10

sf_status sf_sampler_error_setup_init(sf_sampler_error_setup *setup, size_t size)
{
    if (!setup) return sfi_fail(SF_ERR_INVALID, "sf_sampler_error_setup_init: setup is NULL");
    sf_sampler_error_setup s;
    memset(&s, 0, sizeof s);
    s.n = 2000, s.t1 = 1.0, s.t0 = 1e-3, s.spacing = SF_SPACING_T, s.reference_tol = DEFAULT_REFERENCE_TOL;
    sf_status st = sfi_struct_store(setup, size, &s, SF_SAMPLER_ERROR_SETUP_SIZE_0_1, sizeof s, "sf_sampler_error_setup");
    if (st == SF_OK) setup->size = size;
    return st;
}

static sf_status check_setup(const sf_sampler_error_setup *s)
{
    if (s->nsamplers < 1 || !s->samplers) return sfi_fail(SF_ERR_INVALID, "sf_sampler_error: no samplers given");
    for (int i = 0; i < s->nsamplers; i++) {
        sf_sampler_kind kind;
        if (!s->samplers[i]) return sfi_fail(SF_ERR_INVALID, "sf_sampler_error: sampler name %d is NULL", i);
        sf_status st = sf_sampler_kind_parse(s->samplers[i], &kind);
        if (st != SF_OK) return st;
    }
    if (s->nnfe < 1 || !s->nfe) return sfi_fail(SF_ERR_INVALID, "sf_sampler_error: no budgets (nfe) given");
    for (int j = 0; j < s->nnfe; j++)
        if (s->nfe[j] < 1 || (j > 0 && s->nfe[j] <= s->nfe[j - 1]))
            return sfi_fail(SF_ERR_INVALID, "the budgets must be >= 1 and increasing (nfe %d is %d%s)", j, s->nfe[j],
                            j > 0 ? " after a larger or equal one" : "");
    if (s->n < 2) return sfi_fail(SF_ERR_INVALID, "sf_sampler_error: need n >= 2 particles (got %zu)", s->n);
    if (!(isfinite(s->t1) && isfinite(s->t0) && s->t1 > s->t0))
        return sfi_fail(SF_ERR_INVALID, "generation runs from t1 down to t0: need t1 > t0 (got %g, %g)", s->t1, s->t0);
    if (s->spacing != SF_SPACING_T && s->spacing != SF_SPACING_LAMBDA && s->spacing != SF_SPACING_KARRAS)
        return sfi_fail(SF_ERR_INVALID, "sf_sampler_error: spacing must be uniform in t, in lambda, or Karras'");
    if (!(s->rho >= 0) || !isfinite(s->rho)) return sfi_fail(SF_ERR_INVALID, "sf_sampler_error: rho = %g must be > 0 (0: 7)", s->rho);
    if (!(s->reference_tol >= 0) || !(s->reference_tol < 1e-3))
        return sfi_fail(SF_ERR_INVALID, "the reference tolerance %g must be in [0, 1e-3) (0: the default)", s->reference_tol);
    return SF_OK;
}

/* The exact flow of the initial draws x1 to t0 (x_ref), and the largest distance to the same solve
 * at a 100 times looser tolerance: the reference's error is far below it. */
static sf_status reference_flow(sf_context *ctx, const sf_mixture *mix, const sf_schedule *sched,
                                const sf_sampler_error_setup *s, const double *x1, double *x_ref, double *error)
{
    size_t n = s->n, nd = n * (size_t)mix->dim;
    double tol = s->reference_tol > 0 ? s->reference_tol : DEFAULT_REFERENCE_TOL, *loose = malloc(nd * sizeof(double));
    if (!loose) return sfi_fail(SF_ERR_NOMEM, "out of memory for %zu particles", n);
    memcpy(x_ref, x1, nd * sizeof(double)), memcpy(loose, x1, nd * sizeof(double));
    sf_status st = sf_flow_ode(ctx, mix, sched, s->t1, s->t0, x_ref, n, tol, tol, NULL);
    if (st == SF_OK) st = sf_flow_ode(ctx, mix, sched, s->t1, s->t0, loose, n, 100 * tol, 100 * tol, NULL);
    *error = 0;
    for (size_t i = 0; st == SF_OK && i < nd; i++) *error = fmax(*error, fabs(x_ref[i] - loose[i]));
    free(loose);
    return st;
}

/* RMS and largest |x - x_ref| over the particles. */
static void endpoint_error(const double *x, const double *x_ref, size_t n, int d, double *rms, double *worst)
{
    double sum = 0;
    *worst = 0;
    for (size_t p = 0; p < n; p++) {
        double e2 = 0;
        for (int j = 0; j < d; j++) e2 += (x[p * d + j] - x_ref[p * d + j]) * (x[p * d + j] - x_ref[p * d + j]);
        sum += e2, *worst = fmax(*worst, sqrt(e2));
    }
    *rms = sqrt(sum / (double)n);
}

/* Budget -> steps: the most steps whose run costs at most the budget, at least one; the run's actual
 * cost. A run's cost is first + (steps - 1) per: every step but the last costs the same, and the last
 * may cost less (one denoiser evaluation when t0 has sigma = 0). */
static sf_status steps_for(const sf_schedule *sched, sf_sampler *smp, int nfe, size_t *used, int *stochastic)
{
    size_t first, two;
    smp->steps = 1;
    sf_status st = sf_sampler_cost(sched, smp, &first, NULL);
    smp->steps = 2;
    if (st == SF_OK) st = sf_sampler_cost(sched, smp, &two, NULL);
    if (st != SF_OK) return st;
    size_t per = two - first, budget = (size_t)nfe;
    smp->steps = per > 0 && budget > first ? 1 + (int)((budget - first) / per) : 1;
    return sf_sampler_cost(sched, smp, used, stochastic);
}

/* Least-squares order over one sampler's budgets: each distinct run once (budgets that round to
 * the same steps run the same), errors at the reference's level left out. */
static sf_status fit_order(sf_sampler_error_row *rows, int count)
{
    double *x = malloc(2 * (size_t)count * sizeof(double)), *y = x + count, slope, se;
    if (!x) return sfi_fail(SF_ERR_NOMEM, "out of memory for %d budgets", count);
    int used = 0;
    for (int j = 0; j < count; j++)
        if (!rows[j].stochastic && rows[j].endpoint_rms > rows[j].reference_error && (j == 0 || rows[j].nfe != rows[j - 1].nfe))
            x[used] = (double)rows[j].nfe, y[used++] = rows[j].endpoint_rms;
    sfi_power_law_fit(x, y, (size_t)used, &slope, &se);
    for (int j = 0; j < count; j++) rows[j].order = -slope, rows[j].order_se = se;
    free(x);
    return SF_OK;
}

/* One sampler at one budget into *row; previous (may be NULL) is the same sampler's row at the
 * budget before, whose run this one repeats when the budget buys the same steps. */
static sf_status run_one(sf_context *ctx, const sf_mixture *mix, const sf_schedule *sched, const sf_sampler_error_setup *s,
                         const sfi_comparison *cmp, const double *x1, const double *x_ref, double *x, int which, int j,
                         const sf_sampler_error_row *previous, sf_sampler_error_row *row)
{
    sf_sampler_kind kind;
    sf_status st = sf_sampler_kind_parse(s->samplers[which], &kind);
    sf_sampler smp = sf_sampler_default(kind);
    smp.spacing = s->spacing, smp.t1 = s->t1, smp.t0 = s->t0, smp.seed = s->seed, smp.rho = s->rho;
    row->sampler = which, row->nfe_asked = s->nfe[j];
    if (st == SF_OK) st = steps_for(sched, &smp, s->nfe[j], &row->nfe, &row->stochastic);
    row->steps = smp.steps;
    if (st == SF_OK && previous && previous->steps == row->steps) { /* the same run, seed and draws: its results */
        *row = *previous;
        row->nfe_asked = s->nfe[j];
        return SF_OK;
    }
    size_t nd = s->n * (size_t)mix->dim;
    if (st == SF_OK) memcpy(x, x1, nd * sizeof(double));
    if (st == SF_OK) st = sf_sample(ctx, mix, sched, &smp, x, s->n, 0, NULL, NULL, 0);
    row->endpoint_rms = row->endpoint_max = NAN;
    if (st == SF_OK && !row->stochastic) endpoint_error(x, x_ref, s->n, mix->dim, &row->endpoint_rms, &row->endpoint_max);
    sf_distribution_errors dist;
    if (st == SF_OK) st = sfi_comparison_measure(cmp, x, &dist);
    if (st == SF_OK) {
        row->occupation_tv = dist.occupation_tv, row->mean_error = dist.mean_error, row->cov_error = dist.cov_error;
        row->sw2 = dist.sw2, row->nll_gap = dist.nll_gap;
    }
    if (st != SF_OK) { /* name the run that failed */
        char which_run[160];
        snprintf(which_run, sizeof which_run, "sampler %s at %d evaluations", s->samplers[which], s->nfe[j]);
        sfi_error_prefix(which_run);
    }
    return st;
}

static sf_status sampler_error(sf_context *ctx, const sf_mixture *mix, const sf_schedule *sched,
                               const sf_sampler_error_setup *s, sf_sampler_error_row *rows)
{
    size_t n = s->n, nd = n * (size_t)mix->dim;
    int total = s->nsamplers * s->nnfe;
    double *x1 = malloc(nd * sizeof(double)), *x_ref = malloc(nd * sizeof(double)), *x = malloc(nd * sizeof(double));
    sf_status st = x1 && x_ref && x ? SF_OK : sfi_fail(SF_ERR_NOMEM, "out of memory for %zu particles", n);
    sf_time start, end;
    if (st == SF_OK) st = sf_schedule_at(sched, s->t1, &start);
    if (st == SF_OK) st = sf_schedule_at(sched, s->t0, &end);
    if (st == SF_OK) st = sf_sample_marginal(mix, &start, s->seed, 0, x1, n);
    double reference_error = NAN;
    if (st == SF_OK) st = reference_flow(ctx, mix, sched, s, x1, x_ref, &reference_error);
    if (s->progress) s->progress(s->progress_data, 1.0 / (total + 1));
    sfi_comparison *cmp = NULL;
    if (st == SF_OK) st = sfi_comparison_create(&cmp, ctx, mix, &end, x_ref, n, s->seed);
    for (int i = 0; st == SF_OK && i < s->nsamplers; i++) {
        sf_sampler_error_row *own = rows + (size_t)i * s->nnfe;
        for (int j = 0; st == SF_OK && j < s->nnfe; j++) {
            own[j].reference_error = reference_error;
            st = run_one(ctx, mix, sched, s, cmp, x1, x_ref, x, i, j, j > 0 ? &own[j - 1] : NULL, &own[j]);
            if (s->progress) s->progress(s->progress_data, (2.0 + i * s->nnfe + j) / (total + 1));
        }
        if (st == SF_OK) st = fit_order(own, s->nnfe);
    }
    sfi_comparison_destroy(cmp);
    free(x1), free(x_ref), free(x);
    return st;
}

sf_status sf_sampler_error_sized(sf_context *ctx, const sf_mixture *mix, const sf_schedule *schedule,
                                 const sf_sampler_error_setup *setup, sf_sampler_error_row *rows, size_t row_size)
{
    sfi_error_clear();
    if (!ctx || !mix || !schedule || !setup || !rows)
        return sfi_fail(SF_ERR_INVALID, "sf_sampler_error: ctx, mix, schedule, setup and rows must not be NULL");
    if (row_size != 0 && row_size < SF_SAMPLER_ERROR_ROW_SIZE_0_1)
        return sfi_fail(SF_ERR_INVALID, "sf_sampler_error_row: size %zu is smaller than any version's", row_size);
    if (mix->count < 1) return sfi_fail(SF_ERR_INVALID, "sf_sampler_error: the mixture has no components");
    sf_sampler_error_setup s;
    sf_schedule sched;
    sf_status st = SF_LOAD_STRUCT(s, setup, SF_SAMPLER_ERROR_SETUP_SIZE_0_1, "sf_sampler_error_setup");
    if (st == SF_OK) st = SF_LOAD_STRUCT(sched, schedule, SF_SCHEDULE_SIZE_0_1, "sf_schedule");
    if (st == SF_OK) st = check_setup(&s);
    if (st == SF_OK) st = sfi_check_doubles(__func__, s.n, 3 * (size_t)mix->dim);
    if (st == SF_OK && (size_t)s.nsamplers * (size_t)s.nnfe > (size_t)1 << 24)
        st = sfi_fail(SF_ERR_INVALID, "sf_sampler_error: %d samplers x %d budgets is too many rows", s.nsamplers, s.nnfe);
    if (st != SF_OK) return st;
    size_t count = (size_t)s.nsamplers * s.nnfe, stride = row_size ? row_size : SF_SAMPLER_ERROR_ROW_SIZE_0_1;
    sf_sampler_error_row *result = calloc(count, sizeof *result);
    if (!result) return sfi_fail(SF_ERR_NOMEM, "out of memory for %zu rows", count);
    st = sampler_error(ctx, mix, &sched, &s, result);
    for (size_t r = 0; st == SF_OK && r < count; r++) {
        sf_sampler_error_row *dst = (sf_sampler_error_row *)((char *)rows + r * stride);
        st = sfi_struct_store(dst, row_size, &result[r], SF_SAMPLER_ERROR_ROW_SIZE_0_1, sizeof result[r],
                              "sf_sampler_error_row");
        if (st == SF_OK) dst->size = stride;
    }
    free(result);
    return st;
}
