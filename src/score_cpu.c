/* The CPU reference path of score evaluation, written to be read against SPEC.md B line by line:
 * float64, e_k = x - alpha mu_k as a direct difference, log-sum-exp for log p and r_k, and the
 * centred delta_k = g_k - s for the divergence. OpenMP over particles. It is the oracle for the
 * GPU path, so it favours plainness over speed: component scores are recomputed per pass rather
 * than stored (K x d per particle). */
#include "score_cpu.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Per-thread scratch for one particle. */
typedef struct {
    double *logit; /* [K] l_k, then r_k */
    double *g;     /* [d] component score g_k */
    double *resid; /* [d] e_k minus its projection on component k's basis rows */
    double *proj;  /* [max rank] u_j . e_k (and u_j . g_k for the denoiser) */
} scratch;

static int max_rank(const sf_field *f)
{
    int r = 0;
    for (int k = 0; k < f->K; k++)
        if (f->rank_offset[k + 1] - f->rank_offset[k] > r) r = f->rank_offset[k + 1] - f->rank_offset[k];
    return r;
}

/* g = -P_k e with e = x - alpha mu_k; returns the quadratic form e . P_k e. */
static double component_score(const sf_field *f, int k, const double *x, scratch *w)
{
    int d = f->d, j0 = f->rank_offset[k], rank = f->rank_offset[k + 1] - j0;
    const double *am = f->alpha_mean + (size_t)k * d, *p = f->prec_diag + (size_t)k * d;
    double quad = 0;
    for (int i = 0; i < d; i++) w->resid[i] = x[i] - am[i];
    /* Low-rank: split e into its part along the basis rows (eigenvalues e_j) and the rest (e_perp). */
    for (int j = 0; j < rank; j++) {
        const double *u = f->basis + (size_t)(j0 + j) * d;
        double c = 0;
        for (int i = 0; i < d; i++) c += u[i] * (x[i] - am[i]);
        w->proj[j] = c;
    }
    for (int j = 0; j < rank; j++) {
        const double *u = f->basis + (size_t)(j0 + j) * d;
        for (int i = 0; i < d; i++) w->resid[i] -= w->proj[j] * u[i];
    }
    for (int i = 0; i < d; i++) {
        w->g[i] = -p[i] * w->resid[i];
        quad += p[i] * w->resid[i] * w->resid[i];
    }
    for (int j = 0; j < rank; j++) {
        const double *u = f->basis + (size_t)(j0 + j) * d;
        double pj = f->prec_basis[j0 + j];
        quad += pj * w->proj[j] * w->proj[j];
        for (int i = 0; i < d; i++) w->g[i] -= pj * w->proj[j] * u[i];
    }
    return quad;
}

/* out += r * (mu_k - alpha C_k g): the posterior mean of component k, weighted (SPEC.md B). */
static void add_component_denoiser(const sf_field *f, int k, double r, scratch *w, double *out)
{
    int d = f->d, j0 = f->rank_offset[k], rank = f->rank_offset[k + 1] - j0;
    const double *mu = f->mean + (size_t)k * d, *c = f->cov_diag + (size_t)k * d;
    for (int i = 0; i < d; i++) out[i] += r * (mu[i] - f->alpha * c[i] * w->g[i]);
    for (int j = 0; j < rank; j++) {
        const double *u = f->basis + (size_t)(j0 + j) * d;
        double ug = 0;
        for (int i = 0; i < d; i++) ug += u[i] * w->g[i];
        double coef = r * f->alpha * f->cov_lowrank[j0 + j] * ug;
        for (int i = 0; i < d; i++) out[i] -= coef * u[i];
    }
}

static void evaluate_particle(const sf_field *f, const double *x, scratch *w, double *score,
                              double *logp_out, double *resp, double *div_out, double *denoise)
{
    int d = f->d, K = f->K;
    /* log p = m + ln sum_k exp(l_k - m), m = max_k l_k */
    double m = -INFINITY;
    for (int k = 0; k < K; k++) {
        w->logit[k] = f->log_norm[k] - 0.5 * component_score(f, k, x, w);
        if (w->logit[k] > m) m = w->logit[k];
    }
    double sum = 0;
    for (int k = 0; k < K; k++) sum += exp(w->logit[k] - m);
    double logp = m + log(sum);
    for (int k = 0; k < K; k++) w->logit[k] = exp(w->logit[k] - logp); /* now r_k */

    /* s = sum_k r_k g_k, and the denoiser sum_k r_k m_k */
    memset(score, 0, (size_t)d * sizeof(double));
    if (denoise) memset(denoise, 0, (size_t)d * sizeof(double));
    for (int k = 0; k < K; k++) {
        double r = w->logit[k];
        if (r == 0) continue; /* exact zero contributes nothing (and g may be huge) */
        component_score(f, k, x, w);
        for (int i = 0; i < d; i++) score[i] += r * w->g[i];
        if (denoise) add_component_denoiser(f, k, r, w, denoise);
    }

    /* div s = sum_k r_k (|delta_k|^2 - tr P_k), delta_k = g_k - s (centred: no cancellation) */
    if (div_out) {
        double div = 0;
        for (int k = 0; k < K; k++) {
            double r = w->logit[k];
            if (r == 0) continue;
            component_score(f, k, x, w);
            double dd = 0;
            for (int i = 0; i < d; i++) {
                double delta = w->g[i] - score[i];
                dd += delta * delta;
            }
            div += r * (dd - f->trace_prec[k]);
        }
        *div_out = div;
    }
    if (logp_out) *logp_out = logp;
    if (resp) memcpy(resp, w->logit, (size_t)K * sizeof(double));
}

sf_status sf_score_cpu(const sf_field *f, const double *x, size_t n, const sf_outputs *out)
{
    int d = f->d, K = f->K, rmax = max_rank(f);
    int failed = 0;
#pragma omp parallel
    {
        scratch w;
        w.logit = malloc((size_t)K * sizeof(double));
        w.g = malloc((size_t)d * sizeof(double));
        w.resid = malloc((size_t)d * sizeof(double));
        w.proj = malloc(((size_t)rmax + 1) * sizeof(double));
        /* The score is needed for the divergence even when not asked for. */
        double *own_score = out->score ? NULL : malloc((size_t)d * sizeof(double));
        if (!w.logit || !w.g || !w.resid || !w.proj || (!out->score && !own_score)) {
#pragma omp atomic write
            failed = 1;
        }
        /* Every thread must meet the worksharing loop, or none: agree on `failed` first. */
#pragma omp barrier
        int skip;
#pragma omp atomic read
        skip = failed;
        if (!skip) {
#pragma omp for schedule(dynamic, 64)
            for (size_t i = 0; i < n; i++) {
                evaluate_particle(f, x + i * d, &w, out->score ? out->score + i * d : own_score,
                                  out->logp ? out->logp + i : NULL, out->resp ? out->resp + i * K : NULL,
                                  out->div ? out->div + i : NULL, out->denoise ? out->denoise + i * d : NULL);
            }
        }
        free(w.logit);
        free(w.g);
        free(w.resid);
        free(w.proj);
        free(own_score);
    }
    if (failed) return sf_fail(SF_ERR_NOMEM, "out of memory allocating per-thread scratch (K = %d, d = %d)", K, d);
    return SF_OK;
}
