/* The distributional errors of samples against the exact p_t (docs/samplers.md, "Exact sampler
 * error"): mode occupation, per-mode means and covariances, sliced Wasserstein-2 and the mean
 * negative log-likelihood gap, each with a Monte Carlo standard error and the floor that n exact
 * draws reach. */
#include "abi.h"
#include "distribution_error.h"
#include "mixture.h"
#include "noise.h"
#include "numerics.h"
#include "philox.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Philox "steps" of this file's draws: distinct from real sampler steps (< 1e8) and from the
 * sampler's reserved initial-draw steps (0xFFFFFFFC and above). */
#define STEP_DIRECTION 0xFFFFFFF0u
#define STEP_BOOTSTRAP 0xFFFFFFF1u

enum { TV, MEAN, COV, SW2, MEASURES }; /* the bootstrapped measures */

/* A projection and the sample it came from: each direction's projections are sorted once, and
 * every bootstrap resample (a count per sample) walks them in order without sorting again. */
typedef struct {
    double value;
    size_t sample;
} ranked;

/* What the samples are compared with: the exact per-mode moments at t, the projection directions
 * and the projections of the comparison set (exact draws). */
struct sfi_comparison {
    sf_context *ctx;
    const sf_mixture *mix;
    sf_time time;
    size_t n;
    int d, K;
    uint64_t seed;
    double *w;        /* [K] normalised weights */
    double *mean;     /* [K x d] alpha mu_k */
    double *cov;      /* [K x d x d] alpha^2 C_k + sigma^2 I */
    double *dir;      /* [L x d] unit directions */
    ranked *compared; /* [L x n] projections of the comparison set, sorted along each direction */
    sf_error_metric floor[MEASURES]; /* the measures of the exact set */
    const double *exact;             /* the exact set paired with the samples (the caller's or drawn) */
    double *drawn, *exact_logp;      /* [n x d] the drawn exact set, [n] its log p_t */
};

/* The bootstrapped measures on one resample. */
typedef struct {
    double v[MEASURES];
} measures;

void sfi_comparison_destroy(sfi_comparison *r)
{
    if (!r) return;
    free(r->w), free(r->mean), free(r->cov), free(r->dir), free(r->compared), free(r->drawn), free(r->exact_logp);
    free(r);
}

/* The exact moments of component k at t, dense. */
static void exact_moments(const sf_mixture *mix, const sf_time *t, int k, double *mean, double *cov)
{
    int d = mix->dim;
    const double *mu = mix->mean + (size_t)k * d, *c = mix->var_diag + (size_t)k * d;
    double a2 = t->alpha * t->alpha;
    memset(cov, 0, (size_t)d * d * sizeof(double));
    for (int i = 0; i < d; i++) mean[i] = t->alpha * mu[i], cov[i * d + i] = a2 * c[i] + t->sigma2;
    for (int j = mix->rank_offset[k]; j < mix->rank_offset[k + 1]; j++) {
        const double *u = mix->basis + (size_t)j * d;
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++) cov[a * d + b] += a2 * mix->eig[j] * u[a] * u[b];
    }
}

static int by_value(const void *a, const void *b)
{
    double x = ((const ranked *)a)->value, y = ((const ranked *)b)->value;
    return (x > y) - (x < y);
}

/* Projections of the n points x on every direction, each direction's sorted: [L x n]. */
static void project(const sfi_comparison *r, const double *x, ranked *out)
{
    int d = r->d;
#pragma omp parallel for schedule(static)
    for (int l = 0; l < SF_SW2_PROJECTIONS; l++) {
        ranked *row = out + (size_t)l * r->n;
        for (size_t i = 0; i < r->n; i++) {
            double p = 0;
            for (int j = 0; j < d; j++) p += r->dir[(size_t)l * d + j] * x[i * d + j];
            row[i] = (ranked){p, i};
        }
        qsort(row, r->n, sizeof *row, by_value);
    }
}

/* The exact moments, the directions and the sorted projections of the comparison set. */
static sf_status comparison_make(sfi_comparison *r)
{
    const sf_mixture *mix = r->mix;
    int d = r->d = mix->dim, K = r->K = mix->count;
    size_t n = r->n;
    sf_status st = sfi_check_doubles("sf_distribution_error", (size_t)K * d, (size_t)d + 1); /* the dense covariances */
    if (st == SF_OK) /* sorted projections (value and index), responsibilities, counts */
        st = sfi_check_doubles("sf_distribution_error", n, 2 * (size_t)SF_SW2_PROJECTIONS + (size_t)K + d + 2);
    if (st != SF_OK) return st;
    r->w = malloc(K * sizeof(double)), r->mean = malloc((size_t)K * d * sizeof(double));
    r->cov = malloc((size_t)K * d * d * sizeof(double)), r->dir = malloc((size_t)SF_SW2_PROJECTIONS * d * sizeof(double));
    r->compared = malloc((size_t)SF_SW2_PROJECTIONS * n * sizeof(ranked));
    double *draws = malloc(n * (size_t)d * sizeof(double) + 1);
    if (!r->w || !r->mean || !r->cov || !r->dir || !r->compared || !draws)
        st = sfi_fail(SF_ERR_NOMEM, "out of memory comparing %zu samples", n);
    for (int k = 0; st == SF_OK && k < K; k++) {
        r->w[k] = sf_mixture_weight(mix, k);
        exact_moments(mix, &r->time, k, r->mean + (size_t)k * d, r->cov + (size_t)k * d * d);
    }
    for (int l = 0; st == SF_OK && l < SF_SW2_PROJECTIONS; l++) { /* uniform on the sphere */
        double *v = r->dir + (size_t)l * d, len = 0;
        sfi_noise_row(r->seed, (uint64_t)l, STEP_DIRECTION, d, v);
        for (int j = 0; j < d; j++) len += v[j] * v[j];
        for (int j = 0; j < d; j++) v[j] /= sqrt(len);
    }
    if (st == SF_OK) st = sf_sample_marginal(mix, &r->time, r->seed, 2 * n, draws, n);
    if (st == SF_OK) project(r, draws, r->compared);
    free(draws);
    return st;
}

/* How often each sample is drawn in bootstrap resample b (stream 0: the samples, 1: the comparison
 * set): n draws with replacement from Philox; b = 0 is the sample itself (every count 1). */
static void resample_counts(const sfi_comparison *r, int b, int stream, double *count)
{
    size_t n = r->n;
    for (size_t i = 0; i < n; i++) count[i] = b == 0;
    if (b == 0) return;
    sf_philox_key key = {{(uint32_t)r->seed, (uint32_t)(r->seed >> 32)}};
    for (size_t i = 0; i < n; i++) {
        sf_philox_ctr c = {{(uint32_t)i, (uint32_t)(i >> 32), STEP_BOOTSTRAP, (uint32_t)(b * 2 + stream)}};
        size_t j = (size_t)(sf_philox_uniform(sf_philox4x32_10(c, key).v[0]) * (double)n);
        count[j < n ? j : n - 1] += 1;
    }
}

/* W2^2 between two sorted sets of n values drawn cu[i] and cv[i] times (each sums to n): the
 * quantile functions matched in order, a run of equal values at a time. */
static double w2_squared(const ranked *u, const double *cu, const ranked *v, const double *cv, size_t n)
{
    size_t i = 0, j = 0;
    double left_u = cu[u[0].sample], left_v = cv[v[0].sample], sum = 0;
    for (;;) {
        while (left_u == 0 && ++i < n) left_u = cu[u[i].sample];
        while (left_v == 0 && ++j < n) left_v = cv[v[j].sample];
        if (i >= n || j >= n) break;
        double take = fmin(left_u, left_v), e = u[i].value - v[j].value;
        sum += take * e * e;
        left_u -= take, left_v -= take;
    }
    return sum / (double)n;
}

/* The sliced W2 between resamples (counts) of the samples' sorted projections and the comparison set's. */
static double sliced_w2(const sfi_comparison *r, const ranked *projected, const double *cx, const double *ca)
{
    size_t n = r->n;
    double total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total)
    for (int l = 0; l < SF_SW2_PROJECTIONS; l++)
        total += w2_squared(projected + (size_t)l * n, cx, r->compared + (size_t)l * n, ca, n);
    return sqrt(total / SF_SW2_PROJECTIONS);
}

/* Occupation and per-mode moment errors of the samples x drawn count[i] times, with
 * responsibilities resp. */
static void mode_errors(const sfi_comparison *r, const double *x, const double *resp, const double *count, double *scratch,
                        measures *m)
{
    int d = r->d, K = r->K;
    size_t n = r->n;
    double *mean = scratch, *cov = scratch + d; /* d, d x d */
    m->v[TV] = m->v[MEAN] = m->v[COV] = 0;
    for (int k = 0; k < K; k++) {
        double W = 0;
        memset(mean, 0, (size_t)d * sizeof(double));
        for (size_t i = 0; i < n; i++) {
            double rk = count[i] * resp[i * K + k];
            W += rk;
            for (int a = 0; a < d; a++) mean[a] += rk * x[i * d + a];
        }
        m->v[TV] += 0.5 * fabs(W / (double)n - r->w[k]);
        if (!(W > 0)) continue; /* no sample reaches the component: the occupation shows it */
        for (int a = 0; a < d; a++) mean[a] /= W;
        memset(cov, 0, (size_t)d * d * sizeof(double));
        for (size_t i = 0; i < n; i++) {
            double rk = count[i] * resp[i * K + k];
            if (rk == 0) continue;
            for (int a = 0; a < d; a++)
                for (int c = 0; c <= a; c++) cov[a * d + c] += rk * (x[i * d + a] - mean[a]) * (x[i * d + c] - mean[c]);
        }
        const double *tm = r->mean + (size_t)k * d, *tc = r->cov + (size_t)k * d * d;
        double dm = 0, dc = 0;
        for (int a = 0; a < d; a++) {
            dm += (mean[a] - tm[a]) * (mean[a] - tm[a]);
            for (int c = 0; c <= a; c++) {
                double e = cov[a * d + c] / W - tc[a * d + c];
                dc += (a == c ? 1 : 2) * e * e;
            }
        }
        m->v[MEAN] += r->w[k] * sqrt(dm), m->v[COV] += r->w[k] * sqrt(dc);
    }
}

/* The bootstrapped measures of the samples x (value and standard error), and their log p_t. */
static sf_status measure(const sfi_comparison *r, const double *x, sf_error_metric out[MEASURES], double *logp)
{
    int d = r->d, K = r->K;
    size_t n = r->n;
    double *resp = malloc(n * (size_t)K * sizeof(double)), *counts = malloc(2 * n * sizeof(double));
    ranked *projected = malloc((size_t)SF_SW2_PROJECTIONS * n * sizeof(ranked));
    double *scratch = malloc(((size_t)d + (size_t)d * d) * sizeof(double));
    measures *m = malloc((SF_BOOTSTRAP + 1) * sizeof(measures));
    sf_status st = resp && counts && projected && scratch && m ? SF_OK
                                                               : sfi_fail(SF_ERR_NOMEM, "out of memory comparing %zu samples", n);
    sf_outputs o = {.resp = resp, .logp = logp};
    if (st == SF_OK) st = sf_evaluate(r->ctx, r->mix, &r->time, x, n, &o);
    if (st == SF_OK) project(r, x, projected);
    for (int b = 0; st == SF_OK && b <= SF_BOOTSTRAP; b++) { /* b = 0: the samples themselves */
        resample_counts(r, b, 0, counts), resample_counts(r, b, 1, counts + n);
        mode_errors(r, x, resp, counts, scratch, &m[b]);
        m[b].v[SW2] = sliced_w2(r, projected, counts, counts + n);
    }
    for (int q = 0; st == SF_OK && q < MEASURES; q++) {
        double s = 0, s2 = 0;
        for (int b = 1; b <= SF_BOOTSTRAP; b++) s += m[b].v[q], s2 += m[b].v[q] * m[b].v[q];
        double avg = s / SF_BOOTSTRAP;
        out[q].value = m[0].v[q];
        out[q].se = sqrt(fmax(0, (s2 - SF_BOOTSTRAP * avg * avg) / (SF_BOOTSTRAP - 1)));
    }
    free(resp), free(counts), free(projected), free(scratch), free(m);
    return st;
}

sf_status sfi_comparison_create(sfi_comparison **out, sf_context *ctx, const sf_mixture *mix, const sf_time *time,
                                const double *exact, size_t n, uint64_t seed)
{
    *out = NULL;
    if (!ctx || !mix || !time) return sfi_fail(SF_ERR_INVALID, "sf_distribution_error: ctx, mix and time must not be NULL");
    if (n < 2) return sfi_fail(SF_ERR_INVALID, "sf_distribution_error: need n >= 2 samples (got %zu)", n);
    if (mix->count < 1) return sfi_fail(SF_ERR_INVALID, "sf_distribution_error: the mixture has no components");
    sfi_comparison *r = calloc(1, sizeof *r);
    if (!r) return sfi_fail(SF_ERR_NOMEM, "out of memory comparing %zu samples", n);
    r->ctx = ctx, r->mix = mix, r->n = n, r->seed = seed;
    sf_status st = SF_LOAD_STRUCT(r->time, time, SF_TIME_SIZE_0_1, "sf_time");
    if (st == SF_OK && exact) st = sf_particles_check(exact, n, mix->dim);
    if (st == SF_OK) st = comparison_make(r);
    if (st == SF_OK) {
        r->exact_logp = malloc(n * sizeof(double));
        r->drawn = exact ? NULL : malloc(n * (size_t)mix->dim * sizeof(double));
        if (!r->exact_logp || (!exact && !r->drawn)) st = sfi_fail(SF_ERR_NOMEM, "out of memory comparing %zu samples", n);
    }
    if (st == SF_OK && !exact) st = sf_sample_marginal(mix, &r->time, seed, n, r->drawn, n);
    r->exact = exact ? exact : r->drawn;
    if (st == SF_OK) st = measure(r, r->exact, r->floor, r->exact_logp);
    if (st != SF_OK) sfi_comparison_destroy(r), r = NULL;
    *out = r;
    return st;
}

static void judge(sf_error_metric *e)
{
    e->significant = fabs(e->value - e->floor) > 3 * sqrt(e->se * e->se + e->floor_se * e->floor_se);
}

sf_status sfi_comparison_measure(const sfi_comparison *r, const double *x, sf_distribution_errors *out)
{
    if (!x || !out) return sfi_fail(SF_ERR_INVALID, "sf_distribution_error: x and out must not be NULL");
    sf_status st = sf_particles_check(x, r->n, r->d);
    double *logp = st == SF_OK ? malloc(r->n * sizeof(double)) : NULL;
    if (st == SF_OK && !logp) st = sfi_fail(SF_ERR_NOMEM, "out of memory comparing %zu samples", r->n);
    sf_error_metric m[MEASURES];
    if (st == SF_OK) st = measure(r, x, m, logp);
    if (st == SF_OK) {
        for (int q = 0; q < MEASURES; q++) m[q].floor = r->floor[q].value, m[q].floor_se = r->floor[q].se, judge(&m[q]);
        out->n = r->n;
        out->occupation_tv = m[TV], out->mean_error = m[MEAN], out->cov_error = m[COV], out->sw2 = m[SW2];
        for (size_t i = 0; i < r->n; i++) logp[i] = r->exact_logp[i] - logp[i]; /* paired: exact minus sample */
        sf_estimate gap;
        sfi_estimate_of(logp, r->n, &gap);
        out->nll_gap = (sf_error_metric){.value = gap.mean, .se = gap.mean_se}; /* floor 0: exact draws' mean gap */
        judge(&out->nll_gap);
    }
    free(logp);
    return st;
}

sf_status sf_distribution_error_sized(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x,
                                      const double *exact, size_t n, uint64_t seed, sf_distribution_errors *out,
                                      size_t size)
{
    sfi_error_clear();
    if (!x || !out) return sfi_fail(SF_ERR_INVALID, "sf_distribution_error: x and out must not be NULL");
    sf_distribution_errors result;
    memset(&result, 0, sizeof result);
    sfi_comparison *cmp = NULL;
    sf_status st = sfi_comparison_create(&cmp, ctx, mix, time, exact, n, seed);
    if (st == SF_OK) st = sfi_comparison_measure(cmp, x, &result);
    sfi_comparison_destroy(cmp);
    if (st == SF_OK) st = sfi_struct_store(out, size, &result, SF_DISTRIBUTION_ERROR_SIZE_0_1, sizeof result,
                                           "sf_distribution_errors");
    if (st == SF_OK) out->size = size;
    return st;
}
