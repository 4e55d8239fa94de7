/* The CPU reference path of score evaluation, written to be read against docs/fields.md line by line:
 * float64, e_k = x - alpha mu_k as a direct difference, log-sum-exp for log p and r_k, and the
 * centred delta_k = g_k - s for every derivative (div, Laplacian, H v, Hessian, d/dt). OpenMP over
 * particles. It is the oracle for the GPU path, so it favours plainness over speed: component
 * scores are recomputed in each pass rather than stored (K x d per particle). */
#include "score_cpu.h"
#include "backend.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Work (particles x components x dimension) below which the loops run on one thread. */
#define SF_PARALLEL_WORK 32768

/* Per-thread scratch for one particle. */
typedef struct {
    double *r;      /* [K] logits, then responsibilities r_k */
    double *dlogit; /* [K] d l_k / dt */
    double *g;      /* [d] component score g_k */
    double *resid;  /* [d] e_k (or another vector) minus its projection on k's basis rows */
    double *delta;  /* [d] delta_k = g_k - s */
    double *tmp;    /* [d] */
    double *tmp2;   /* [d] */
    double *proj;   /* [max rank] projections on the basis rows */
    double *own_score; /* [d] when the caller did not ask for the score */
    double *dir;    /* [d] the H v direction when built from s and x */
} scratch;

static int max_rank(const sf_field *f)
{
    int r = 0;
    for (int k = 0; k < f->K; k++)
        if (f->rank_offset[k + 1] - f->rank_offset[k] > r) r = f->rank_offset[k + 1] - f->rank_offset[k];
    return r;
}

/* resid = v - sum_j (u_j.v) u_j and proj_j = u_j.v over component k's basis rows. */
static void split_on_basis(const sf_field *f, int k, const double *v, double *resid, double *proj)
{
    int d = f->d, j0 = f->rank_offset[k], rank = f->rank_offset[k + 1] - j0;
    memcpy(resid, v, (size_t)d * sizeof(double));
    for (int j = 0; j < rank; j++) {
        const double *u = f->basis + (size_t)(j0 + j) * d;
        double c = 0;
        for (int i = 0; i < d; i++) c += u[i] * v[i];
        proj[j] = c;
    }
    for (int j = 0; j < rank; j++) {
        const double *u = f->basis + (size_t)(j0 + j) * d;
        for (int i = 0; i < d; i++) resid[i] -= proj[j] * u[i];
    }
}

/* out = P_k v = p (v - U U^T v) + U diag(1/e_j) U^T v (docs/fields.md, without cancellation). */
static void apply_prec(const sf_field *f, int k, const double *v, double *out, scratch *w)
{
    int d = f->d, j0 = f->rank_offset[k], rank = f->rank_offset[k + 1] - j0;
    const double *p = f->prec_diag + (size_t)k * d;
    split_on_basis(f, k, v, w->resid, w->proj);
    for (int i = 0; i < d; i++) out[i] = p[i] * w->resid[i];
    for (int j = 0; j < rank; j++) {
        const double *u = f->basis + (size_t)(j0 + j) * d;
        double c = f->prec_basis[j0 + j] * w->proj[j];
        for (int i = 0; i < d; i++) out[i] += c * u[i];
    }
}

/* out = C_k v = diag(c_k) v + U diag(lambda) U^T v (the data covariance). */
static void apply_cov(const sf_field *f, int k, const double *v, double *out)
{
    int d = f->d;
    const double *c = f->cov_diag + (size_t)k * d;
    for (int i = 0; i < d; i++) out[i] = c[i] * v[i];
    for (int j = f->rank_offset[k]; j < f->rank_offset[k + 1]; j++) {
        const double *u = f->basis + (size_t)j * d;
        double uv = 0;
        for (int i = 0; i < d; i++) uv += u[i] * v[i];
        uv *= f->cov_lowrank[j];
        for (int i = 0; i < d; i++) out[i] += uv * u[i];
    }
}

/* g = -P_k e with e = x - alpha mu_k; returns the quadratic form e . P_k e = p |resid|^2 + sum_j proj_j^2 / e_j. */
static double component_score(const sf_field *f, int k, const double *x, scratch *w)
{
    int d = f->d, j0 = f->rank_offset[k], rank = f->rank_offset[k + 1] - j0;
    const double *am = f->alpha_mean + (size_t)k * d, *p = f->prec_diag + (size_t)k * d;
    for (int i = 0; i < d; i++) w->tmp[i] = x[i] - am[i];
    split_on_basis(f, k, w->tmp, w->resid, w->proj);
    double quad = 0;
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

/* out += r * (mu_k - alpha C_k g): the posterior mean of component k, weighted (docs/fields.md). */
static void add_component_denoiser(const sf_field *f, int k, double r, scratch *w, double *out)
{
    int d = f->d;
    const double *mu = f->mean + (size_t)k * d;
    apply_cov(f, k, w->g, w->tmp);
    for (int i = 0; i < d; i++) out[i] += r * (mu[i] - f->alpha * w->tmp[i]);
}

/* d l_k / dt = -alpha' mu.g + g.dSigma g / 2 - tr(P dSigma) / 2, with dSigma = 2 alpha alpha' C + (sigma^2)' I;
 * leaves dSigma g in w->tmp. */
static double component_dlogit(const sf_field *f, int k, scratch *w)
{
    int d = f->d;
    const double *mu = f->mean + (size_t)k * d;
    apply_cov(f, k, w->g, w->tmp);
    double mg = 0, gsg = 0;
    for (int i = 0; i < d; i++) {
        w->tmp[i] = 2.0 * f->alpha * f->dalpha * w->tmp[i] + f->dsigma2 * w->g[i];
        mg += mu[i] * w->g[i];
        gsg += w->g[i] * w->tmp[i];
    }
    return -f->dalpha * mg + 0.5 * gsg - 0.5 * f->trace_rate[k];
}

/* All requested fields at one particle (docs/fields.md). i is the particle's index in the request. */
static void evaluate_particle(const sf_field *f, const sf_request *rq, size_t i, const double *x, scratch *w)
{
    int d = f->d, K = f->K;
    size_t id = i * (size_t)d;
    double *s = rq->score ? rq->score + id : w->own_score;

    /* log p = m + ln sum_k exp(l_k - m), m = max_k l_k; r_k = exp(l_k - log p) */
    double m = -INFINITY;
    for (int k = 0; k < K; k++) {
        w->r[k] = f->log_norm[k] - 0.5 * component_score(f, k, x, w);
        if (w->r[k] > m) m = w->r[k];
    }
    double sum = 0;
    for (int k = 0; k < K; k++) sum += exp(w->r[k] - m);
    double logp = m + log(sum);
    for (int k = 0; k < K; k++) w->r[k] = exp(w->r[k] - logp);

    /* s = sum_k r_k g_k, and the denoiser sum_k r_k m_k */
    double *denoise = rq->denoise ? rq->denoise + id : NULL;
    memset(s, 0, (size_t)d * sizeof(double));
    if (denoise) memset(denoise, 0, (size_t)d * sizeof(double));
    for (int k = 0; k < K; k++) {
        if (w->r[k] == 0) continue; /* exact zero contributes nothing (and g may be huge) */
        component_score(f, k, x, w);
        for (int j = 0; j < d; j++) s[j] += w->r[k] * w->g[j];
        if (denoise) add_component_denoiser(f, k, w->r[k], w, denoise);
    }

    /* everything built on delta_k = g_k - s */
    double *lap = rq->lap ? rq->lap + id : NULL, *hvp = rq->hvp ? rq->hvp + id : NULL;
    double *hess = rq->hessian ? rq->hessian + id * d : NULL;
    const double *v = NULL;
    if (hvp) {
        if (rq->hvp_dir) {
            v = rq->hvp_dir + id;
        } else {
            for (int j = 0; j < d; j++) w->dir[j] = rq->hvp_s * s[j] + rq->hvp_x * x[j];
            v = w->dir;
        }
        memset(hvp, 0, (size_t)d * sizeof(double));
    }
    if (lap) memset(lap, 0, (size_t)d * sizeof(double));
    if (hess) memset(hess, 0, (size_t)d * d * sizeof(double));
    int want_dt = rq->dt_score || rq->dt_logp;
    double div = 0, dlogp = 0;
    if (rq->div || lap || hvp || hess || want_dt) {
        for (int k = 0; k < K; k++) {
            double r = w->r[k];
            if (r == 0) continue;
            component_score(f, k, x, w);
            if (want_dt) {
                w->dlogit[k] = component_dlogit(f, k, w);
                dlogp += r * w->dlogit[k];
            }
            double dd = 0;
            for (int j = 0; j < d; j++) {
                w->delta[j] = w->g[j] - s[j];
                dd += w->delta[j] * w->delta[j];
            }
            double lap_coef = dd - f->trace_prec[k];
            div += r * lap_coef;
            if (lap) { /* Lap s = sum_k r_k [ (|delta|^2 - tr P) delta - 2 P delta ] */
                apply_prec(f, k, w->delta, w->tmp2, w);
                for (int j = 0; j < d; j++) lap[j] += r * (lap_coef * w->delta[j] - 2.0 * w->tmp2[j]);
            }
            if (hvp) { /* H v = sum_k r_k [ -P v + (delta . v) delta ] */
                apply_prec(f, k, v, w->tmp2, w);
                double dv = 0;
                for (int j = 0; j < d; j++) dv += w->delta[j] * v[j];
                for (int j = 0; j < d; j++) hvp[j] += r * (dv * w->delta[j] - w->tmp2[j]);
            }
            if (hess) { /* H = sum_k r_k (-P + delta delta^T), P column by column */
                for (int b = 0; b < d; b++) {
                    memset(w->tmp, 0, (size_t)d * sizeof(double));
                    w->tmp[b] = 1.0;
                    apply_prec(f, k, w->tmp, w->tmp2, w);
                    for (int a = 0; a < d; a++) hess[(size_t)a * d + b] += r * (w->delta[a] * w->delta[b] - w->tmp2[a]);
                }
            }
        }
    }
    if (rq->dt_score) {
        /* d s/dt = sum_k r_k [ (dl_k - dlog p) delta_k + dg_k ],  dg_k = P_k (alpha' mu_k - dSigma_k g_k) */
        double *dts = rq->dt_score + id;
        memset(dts, 0, (size_t)d * sizeof(double));
        for (int k = 0; k < K; k++) {
            double r = w->r[k];
            if (r == 0) continue;
            component_score(f, k, x, w);
            component_dlogit(f, k, w); /* dSigma g in tmp */
            const double *mu = f->mean + (size_t)k * d;
            for (int j = 0; j < d; j++) w->delta[j] = f->dalpha * mu[j] - w->tmp[j];
            double c = w->dlogit[k] - dlogp;
            for (int j = 0; j < d; j++) dts[j] += r * c * (w->g[j] - s[j]);
            apply_prec(f, k, w->delta, w->tmp2, w);
            for (int j = 0; j < d; j++) dts[j] += r * w->tmp2[j];
        }
    }
    if (rq->logp) rq->logp[i] = logp;
    if (rq->resp) memcpy(rq->resp + i * K, w->r, (size_t)K * sizeof(double));
    if (rq->div) rq->div[i] = div;
    if (rq->dt_logp) rq->dt_logp[i] = dlogp;
}

sf_status sfi_score_cpu(const sf_field *f, const double *x, size_t n, const sf_request *rq)
{
    int d = f->d, K = f->K, rmax = max_rank(f);
    if (sf_request_needs_rates(rq) && !f->has_rates)
        return sfi_fail(SF_ERR_INVALID, "time derivatives need a schedule (a direct alpha, sigma pair has none)");
    int failed = 0;
    /* a team for a handful of particles costs more than it saves (and spins against other work) */
#pragma omp parallel if (n * (size_t)K * (size_t)d > SF_PARALLEL_WORK)
    {
        scratch w;
        size_t dd = (size_t)d * sizeof(double);
        w.r = malloc((size_t)K * sizeof(double));
        w.dlogit = malloc((size_t)K * sizeof(double));
        w.g = malloc(dd), w.resid = malloc(dd), w.delta = malloc(dd), w.tmp = malloc(dd), w.tmp2 = malloc(dd);
        w.own_score = malloc(dd), w.dir = malloc(dd);
        w.proj = malloc(((size_t)rmax + 1) * sizeof(double));
        if (!w.r || !w.dlogit || !w.g || !w.resid || !w.delta || !w.tmp || !w.tmp2 || !w.own_score || !w.dir || !w.proj) {
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
            for (size_t i = 0; i < n; i++) evaluate_particle(f, rq, i, x + i * d, &w);
        }
        free(w.r), free(w.dlogit), free(w.g), free(w.resid), free(w.delta), free(w.tmp), free(w.tmp2);
        free(w.own_score), free(w.dir), free(w.proj);
    }
    if (failed) return sfi_fail(SF_ERR_NOMEM, "out of memory allocating per-thread scratch (K = %d, d = %d)", K, d);
    return SF_OK;
}

/* ---------------------------------------------------------------- as a backend (backend.h) */

static sf_status reference_prepare(struct sf_context *ctx, const sf_field *field, void **state)
{
    (void)ctx, (void)field;
    *state = NULL; /* the reference path reads the field as it is */
    return SF_OK;
}

static sf_status reference_update(void *state, const sf_field *field)
{
    (void)state, (void)field;
    return SF_OK;
}

static sf_status reference_evaluate(void *state, const sf_field *field, const double *x, size_t n, const sf_request *rq)
{
    (void)state;
    return sfi_score_cpu(field, x, n, rq);
}

static void reference_release(void *state) { (void)state; }

const sf_backend_ops sfi_backend_reference = {"reference", reference_prepare, reference_update, reference_evaluate,
                                             reference_release};
