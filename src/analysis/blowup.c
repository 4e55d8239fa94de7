/* Blow-up near t = 0 for data on subspaces (docs/analyses.md, "Blow-up near t = 0"): tau E|u|^2
 * against the codimensions, tau |u| / dist(y, M_k) at points where component k dominates, and the
 * bounded denoiser, by Monte Carlo over exact draws. */
#include "abi.h"
#include "mixture.h"
#include "numerics.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

sf_status sf_blowup_limit(const sf_mixture *mix, double *limit, int *component)
{
    sfi_error_clear();
    if (!mix) return sfi_fail(SF_ERR_INVALID, "sf_blowup_limit: mix is NULL");
    double sum = 0, heaviest = 0;
    int k_sub = -1;
    for (int k = 0; k < mix->count; k++) {
        int codim = sf_mixture_codimension(mix, k);
        double w = sf_mixture_weight(mix, k);
        sum += w * codim;
        if (codim > 0 && w > heaviest) heaviest = w, k_sub = k;
    }
    if (k_sub < 0) return sfi_fail(SF_ERR_INVALID, "no component lies on a subspace (a basis with \"var\": 0): nothing blows up");
    if (limit) *limit = sum;
    if (component) *component = k_sub;
    return SF_OK;
}

/* |P (y - mu_k)|, P the projection onto the null space of C_k (the normal space of M_k). */
static double distance_to_subspace(const sf_mixture *mix, int k, const double *y, double *e)
{
    int d = mix->dim;
    const double *mu = mix->mean + (size_t)k * d, *c = mix->var_diag + (size_t)k * d;
    for (int i = 0; i < d; i++) e[i] = c[i] > 0 ? 0 : y[i] - mu[i];
    for (int j = mix->rank_offset[k]; j < mix->rank_offset[k + 1]; j++) { /* low rank with var 0: remove the basis */
        const double *u = mix->basis + (size_t)j * d;
        double p = 0;
        for (int i = 0; i < d; i++) p += u[i] * e[i];
        for (int i = 0; i < d; i++) e[i] -= p * u[i];
    }
    double s = 0;
    for (int i = 0; i < d; i++) s += e[i] * e[i];
    return sqrt(s);
}

/* tau |u|^2 and |E[x0 | x]| at n draws of q_tau */
static sf_status typical_points(sf_context *ctx, const sf_mixture *mix, const sf_time *t, size_t n, uint64_t seed,
                                sf_blowup_row *row)
{
    int d = mix->dim;
    double *x = malloc(n * (size_t)d * sizeof(double)), *u = malloc(n * (size_t)d * sizeof(double));
    double *den = malloc(n * (size_t)d * sizeof(double)), *v = malloc(n * sizeof(double));
    sf_status st = x && u && den && v ? SF_OK : sfi_fail(SF_ERR_NOMEM, "out of memory for %zu draws", n);
    if (st == SF_OK) st = sf_sample_marginal(mix, t, seed, 0, x, n);
    sf_outputs o = {.score = u, .denoise = den};
    if (st == SF_OK) st = sf_evaluate(ctx, mix, t, x, n, &o);
    row->max_denoiser = 0;
    for (size_t p = 0; st == SF_OK && p < n; p++) {
        double u2 = 0, d2 = 0;
        for (int i = 0; i < d; i++) u2 += u[p * d + i] * u[p * d + i], d2 += den[p * d + i] * den[p * d + i];
        v[p] = t->tau * u2;
        row->max_denoiser = fmax(row->max_denoiser, sqrt(d2));
    }
    if (st == SF_OK) sfi_estimate_of(v, n, &row->tau_u2);
    row->u2 = row->tau_u2.mean / t->tau;
    free(x), free(u), free(den), free(v);
    return st;
}

/* tau |u(y)| / dist(y, M_k) at n draws y of component k's own noised law */
static sf_status near_component(sf_context *ctx, const sf_mixture *mix, int k, const sf_time *t, size_t n, uint64_t seed,
                                sf_estimate *ratio)
{
    int d = mix->dim;
    sf_mixture *one = NULL;
    double *y = malloc(n * (size_t)d * sizeof(double)), *u = malloc(n * (size_t)d * sizeof(double));
    double *v = malloc(n * sizeof(double)), *e = malloc((size_t)d * sizeof(double));
    sf_status st = y && u && v && e ? SF_OK : sfi_fail(SF_ERR_NOMEM, "out of memory for %zu draws", n);
    if (st == SF_OK) st = sfi_mixture_subset(mix, &k, 1, &one);
    if (st == SF_OK) st = sf_sample_marginal(one, t, seed, 0, y, n);
    sf_outputs o = {.score = u};
    if (st == SF_OK) st = sf_evaluate(ctx, mix, t, y, n, &o);
    for (size_t p = 0; st == SF_OK && p < n; p++) {
        double u2 = 0;
        for (int i = 0; i < d; i++) u2 += u[p * d + i] * u[p * d + i];
        v[p] = t->tau * sqrt(u2) / distance_to_subspace(mix, k, y + p * d, e);
    }
    if (st == SF_OK) sfi_estimate_of(v, n, ratio);
    sf_mixture_destroy(one);
    free(y), free(u), free(v), free(e);
    return st;
}

static sf_status blowup_at_into(sf_context *ctx, const sf_mixture *mix, double tau, size_t n, uint64_t seed,
                                sf_blowup_row *row)
{
    sfi_error_clear();
    if (!ctx || !mix || !row) return sfi_fail(SF_ERR_INVALID, "sf_blowup_at: ctx, mix and row must not be NULL");
    sf_status sized = sfi_check_doubles(__func__, n, 2 * (size_t)mix->dim); /* draws and their denoisers */
    if (sized != SF_OK) return sized;
    if (n < 2 || !(tau > 0) || !isfinite(tau)) return sfi_fail(SF_ERR_INVALID, "the blow-up scan needs n >= 2 draws and tau > 0 (got %g)", tau);
    int k = -1;
    sf_time t;
    sf_status st = sf_blowup_limit(mix, NULL, &k);
    if (st == SF_OK) st = sf_time_heat(tau, &t);
    row->tau = tau;
    if (st == SF_OK) st = typical_points(ctx, mix, &t, n, seed, row);
    if (st == SF_OK) st = near_component(ctx, mix, k, &t, n, seed + 1, &row->ratio);
    return st;
}

/* sf_blowup_at for a caller's sf_blowup_row of `size` bytes (sizeof in its header): the fields it knows. */
sf_status sf_blowup_at_sized(sf_context *ctx, const sf_mixture *mix, double tau, size_t n, uint64_t seed,
                             sf_blowup_row *row, size_t size)
{
    sf_blowup_row result;
    memset(&result, 0, sizeof result);
    sf_status st = blowup_at_into(ctx, mix, tau, n, seed, row ? &result : NULL);
    if (st == SF_OK && row) st = sfi_struct_store(row, size, &result, SF_BLOWUP_ROW_SIZE_0_1, sizeof result,
        "sf_blowup_row");
    return st;
}
