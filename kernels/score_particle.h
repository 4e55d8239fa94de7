/* Per-particle logic of the CUDA score kernel, written once for the device (one warp per particle,
 * lanes striding over coordinates) and for the host (one "lane"), so CPU tests run exactly this
 * code against the float64 reference path (tests/test_gpu_logic.c).
 *
 * Instantiated per precision: define SF_REAL (double or float) and SF_NAME(x) (a suffix), then
 * include this file; it undefines both at the end. No CUDA headers are needed.
 *
 * The algorithm (DESIGN.md "The GPU path", docs/fields.md):
 *  1. Approximate logits from the GEMM form |x - a mu|_P^2 = x.Px - 2 x.P(a mu) + (a mu).P(a mu)
 *     with a rounding bound on each (logit_bound). The GEMM form cancels when |x| >> |x - a mu|.
 *  2. Screening: components whose approximate logit, even at the top of its error bound, lies more
 *     than `cutoff` below the best lower bound carry r_k < exp(-cutoff) and are skipped.
 *  3. Every surviving component is recomputed directly from e = x - a mu (no cancellation), with
 *     log-sum-exp for log p and r, and the centred delta_k = g_k - s for the divergence. */

#ifndef SF_SCORE_PARTICLE_COMMON
#define SF_SCORE_PARTICLE_COMMON
#include "field_pack.h"
#include <math.h>
#if defined(__CUDACC__)
#define SF_HD __host__ __device__
#else
#define SF_HD
#endif
#endif

/* A diffused mixture in one precision, as flat arrays (device or host memory). Layout as sf_field. */
typedef struct {
    int d, K, R;
    SF_REAL alpha;
    const SF_REAL *alpha_mean;  /* [K x d] */
    const SF_REAL *prec_diag;   /* [K x d] */
    const SF_REAL *mean;        /* [K x d] */
    const SF_REAL *cov_diag;    /* [K x d] */
    const SF_REAL *basis;       /* [R x d] */
    const SF_REAL *prec_basis;  /* [R] */
    const SF_REAL *cov_lowrank; /* [R] */
    const int *rank_offset;     /* [K + 1] */
    const SF_REAL *log_norm;    /* [K] */
    const SF_REAL *trace_prec;  /* [K] */
    const SF_REAL *trace_rate;  /* [K] tr(P_k dSigma_k), for d/dt */
    SF_REAL dalpha, dsigma2;    /* the frame's rates (0 when it has none) */
    /* GEMM-form constants */
    const SF_REAL *mean_quad;   /* [K] (a mu_k) . P_diag (a mu_k) */
    const SF_REAL *basis_mean;  /* [R] u_j . (a mu_k) for the component k owning row j */
    const SF_REAL *prec_mean;   /* [K x d] P_diag_k (a mu_k): the GEMM operand of x.P(a mu) */
} SF_NAME(sf_field_view);

/* The view of a packed field (src/field_pack.h) at `base` (host or device memory). */
static inline SF_NAME(sf_field_view) SF_NAME(sf_field_view_at)(const sf_field *f, const sf_field_layout *L,
                                                               const SF_REAL *base, const int *rank_offset)
{
    SF_NAME(sf_field_view) v;
    v.d = f->d, v.K = f->K, v.R = f->R, v.alpha = (SF_REAL)f->alpha;
    v.dalpha = (SF_REAL)f->dalpha, v.dsigma2 = (SF_REAL)f->dsigma2, v.trace_rate = base + L->trace_rate;
    v.alpha_mean = base + L->alpha_mean, v.prec_diag = base + L->prec_diag, v.mean = base + L->mean;
    v.cov_diag = base + L->cov_diag, v.basis = base + L->basis, v.prec_basis = base + L->prec_basis;
    v.cov_lowrank = base + L->cov_lowrank, v.log_norm = base + L->log_norm, v.trace_prec = base + L->trace_prec;
    v.mean_quad = base + L->mean_quad, v.basis_mean = base + L->basis_mean, v.prec_mean = base + L->prec_mean;
    v.rank_offset = rank_offset;
    return v;
}

/* Per-particle scratch and outputs: rows of the batch arrays, each coordinate owned by one lane. */
typedef struct {
    SF_REAL *g, *resid;   /* [d] scratch: component score, residual off the basis rows */
    SF_REAL *delta, *tmp, *tmp2, *dir; /* [d] scratch for the derivatives */
    SF_REAL *logit;       /* [K] scratch: exact logits of active components, -inf for skipped */
    SF_REAL *dlogit;      /* [K] scratch: d l_k / dt */
    SF_REAL *score;       /* [d] always computed (everything else needs it) */
    SF_REAL *denoise;     /* [d] or NULL */
    SF_REAL *resp;        /* [K] or NULL */
    SF_REAL *logp, *div;  /* [1] each, or NULL; written by lane 0 */
    SF_REAL *lap;         /* [d] or NULL */
    SF_REAL *hvp;         /* [d] or NULL: H v, v = hvp_dir if given, else hvp_s s + hvp_x x */
    const SF_REAL *hvp_dir;
    SF_REAL hvp_s, hvp_x;
    SF_REAL *hessian;     /* [d x d] or NULL */
    SF_REAL *dt_score;    /* [d] or NULL */
    SF_REAL *dt_logp;     /* [1] or NULL; lane 0 */
} SF_NAME(sf_particle_rows);

static SF_HD inline SF_REAL SF_NAME(sf_lane_sum)(SF_REAL v)
{
#if defined(__CUDA_ARCH__)
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
#endif
    return v;
}

static SF_HD inline SF_REAL SF_NAME(sf_lane_max)(SF_REAL v)
{
#if defined(__CUDA_ARCH__)
    for (int offset = 16; offset > 0; offset >>= 1) {
        SF_REAL o = __shfl_xor_sync(0xffffffffu, v, offset);
        v = o > v ? o : v;
    }
#endif
    return v;
}

/* Step 1 for one (particle, component): approximate logit from the GEMM products
 *   xpx = x^2 . P_diag_k,  xpm = x . P_diag_k (a mu_k),  proj_x[j] = u_j . x  (j over k's rows),
 * and a bound on its rounding error (|error| of a length-d dot product <= d eps sum|terms|). */
static SF_HD inline void SF_NAME(sf_logit_bound)(const SF_NAME(sf_field_view) *f, int k, SF_REAL xpx, SF_REAL xpm,
                                                 const SF_REAL *proj_x, SF_REAL eps, SF_REAL *logit, SF_REAL *bound)
{
    SF_REAL quad = xpx - 2 * xpm + f->mean_quad[k];
    SF_REAL size = xpx + 2 * (xpm < 0 ? -xpm : xpm) + f->mean_quad[k];
    int j0 = f->rank_offset[k];
    /* low-rank: P = p_perp (I - U U^T) + U diag(1/e_j) U^T = p_perp I + U diag(1/e_j - p_perp) U^T */
    SF_REAL p_perp = f->prec_diag[(size_t)k * f->d];
    for (int j = j0; j < f->rank_offset[k + 1]; j++) {
        SF_REAL c = f->prec_basis[j] - p_perp, pr = proj_x[j - j0] - f->basis_mean[j];
        SF_REAL pa = (proj_x[j - j0] < 0 ? -proj_x[j - j0] : proj_x[j - j0]) +
                     (f->basis_mean[j] < 0 ? -f->basis_mean[j] : f->basis_mean[j]);
        quad += c * pr * pr;
        size += (c < 0 ? -c : c) * pa * pa;
    }
    if (quad < 0) quad = 0; /* a quadratic form; negative only through cancellation */
    *logit = f->log_norm[k] - (SF_REAL)0.5 * quad;
    *bound = (SF_REAL)0.5 * (SF_REAL)(f->d + 8) * eps * size * 4;
}

/* g = -P_k e and resid = e - sum_j (u_j.e) u_j for e = x - a mu_k, on this lane's coordinates;
 * returns e.P_k e (the same on every lane). */
static SF_HD inline SF_REAL SF_NAME(sf_component_score)(const SF_NAME(sf_field_view) *f, int k, const SF_REAL *x,
                                                        SF_NAME(sf_particle_rows) *rows, int lane, int lanes)
{
    int d = f->d;
    const SF_REAL *am = f->alpha_mean + (size_t)k * d, *p = f->prec_diag + (size_t)k * d;
    for (int i = lane; i < d; i += lanes) {
        rows->resid[i] = x[i] - am[i];
        rows->g[i] = 0;
    }
    SF_REAL quad = 0;
    for (int j = f->rank_offset[k]; j < f->rank_offset[k + 1]; j++) {
        const SF_REAL *u = f->basis + (size_t)j * d;
        SF_REAL part = 0;
        for (int i = lane; i < d; i += lanes) part += u[i] * (x[i] - am[i]);
        SF_REAL proj = SF_NAME(sf_lane_sum)(part), pj = f->prec_basis[j];
        quad += pj * proj * proj;
        for (int i = lane; i < d; i += lanes) {
            rows->resid[i] -= proj * u[i];
            rows->g[i] -= pj * proj * u[i];
        }
    }
    SF_REAL part = 0;
    for (int i = lane; i < d; i += lanes) {
        rows->g[i] -= p[i] * rows->resid[i];
        part += p[i] * rows->resid[i] * rows->resid[i];
    }
    return quad + SF_NAME(sf_lane_sum)(part);
}

/* out = P_k v = p (v - U U^T v) + U diag(1/e_j) U^T v on this lane's coordinates (uses resid). */
static SF_HD inline void SF_NAME(sf_apply_prec)(const SF_NAME(sf_field_view) *f, int k, const SF_REAL *v, SF_REAL *out,
                                               SF_REAL *resid, int lane, int lanes)
{
    int d = f->d;
    const SF_REAL *p = f->prec_diag + (size_t)k * d;
    for (int i = lane; i < d; i += lanes) {
        resid[i] = v[i];
        out[i] = 0;
    }
    for (int j = f->rank_offset[k]; j < f->rank_offset[k + 1]; j++) {
        const SF_REAL *u = f->basis + (size_t)j * d;
        SF_REAL part = 0;
        for (int i = lane; i < d; i += lanes) part += u[i] * v[i];
        SF_REAL proj = SF_NAME(sf_lane_sum)(part), c = f->prec_basis[j] * proj;
        for (int i = lane; i < d; i += lanes) {
            resid[i] -= proj * u[i];
            out[i] += c * u[i];
        }
    }
    for (int i = lane; i < d; i += lanes) out[i] += p[i] * resid[i];
}

/* out = C_k v (the data covariance) on this lane's coordinates. */
static SF_HD inline void SF_NAME(sf_apply_cov)(const SF_NAME(sf_field_view) *f, int k, const SF_REAL *v, SF_REAL *out,
                                              int lane, int lanes)
{
    int d = f->d;
    const SF_REAL *c = f->cov_diag + (size_t)k * d;
    for (int i = lane; i < d; i += lanes) out[i] = c[i] * v[i];
    for (int j = f->rank_offset[k]; j < f->rank_offset[k + 1]; j++) {
        const SF_REAL *u = f->basis + (size_t)j * d;
        SF_REAL part = 0;
        for (int i = lane; i < d; i += lanes) part += u[i] * v[i];
        SF_REAL uv = SF_NAME(sf_lane_sum)(part) * f->cov_lowrank[j];
        for (int i = lane; i < d; i += lanes) out[i] += uv * u[i];
    }
}

/* d l_k/dt = -alpha' mu.g + g.dSigma g / 2 - tr(P dSigma) / 2 (g from sf_component_score); leaves
 * dSigma g = 2 alpha alpha' C g + (sigma^2)' g in rows->tmp. */
static SF_HD inline SF_REAL SF_NAME(sf_component_dlogit)(const SF_NAME(sf_field_view) *f, int k,
                                                         SF_NAME(sf_particle_rows) *rows, int lane, int lanes)
{
    int d = f->d;
    const SF_REAL *mu = f->mean + (size_t)k * d;
    SF_NAME(sf_apply_cov)(f, k, rows->g, rows->tmp, lane, lanes);
    SF_REAL mg = 0, gsg = 0;
    for (int i = lane; i < d; i += lanes) {
        rows->tmp[i] = 2 * f->alpha * f->dalpha * rows->tmp[i] + f->dsigma2 * rows->g[i];
        mg += mu[i] * rows->g[i];
        gsg += rows->g[i] * rows->tmp[i];
    }
    return -f->dalpha * SF_NAME(sf_lane_sum)(mg) + (SF_REAL)0.5 * SF_NAME(sf_lane_sum)(gsg) -
           (SF_REAL)0.5 * f->trace_rate[k];
}

/* Steps 2 and 3 for one particle. approx/bound: [K] from sf_logit_bound. */
static SF_HD inline void SF_NAME(sf_evaluate_particle)(const SF_NAME(sf_field_view) *f, const SF_REAL *x,
                                                       const SF_REAL *approx, const SF_REAL *bound, SF_REAL cutoff,
                                                       SF_NAME(sf_particle_rows) *rows, int lane, int lanes)
{
    int d = f->d, K = f->K;
    /* 2. screening threshold: the best lower bound minus the cutoff */
    SF_REAL best = -(SF_REAL)INFINITY;
    for (int k = lane; k < K; k += lanes) {
        SF_REAL lo = approx[k] - bound[k];
        best = lo > best ? lo : best;
    }
    SF_REAL threshold = SF_NAME(sf_lane_max)(best) - cutoff;

    /* 3a. exact logits of the surviving components; online log-sum-exp. Every lane computes the
     * same values (all inputs are reduced across the warp) and writes them, so each lane later
     * reads back its own writes: no cross-lane memory dependence. */
    SF_REAL m = -(SF_REAL)INFINITY, sum = 0;
    for (int k = 0; k < K; k++) {
        /* skip only what is certainly below the threshold: a NaN (inf - inf) survives and is recomputed */
        if (approx[k] + bound[k] < threshold) {
            rows->logit[k] = -(SF_REAL)INFINITY;
            continue;
        }
        SF_REAL l = f->log_norm[k] - (SF_REAL)0.5 * SF_NAME(sf_component_score)(f, k, x, rows, lane, lanes);
        rows->logit[k] = l;
        if (l == -(SF_REAL)INFINITY) continue; /* r_k = 0; and exp(l - m) would be NaN while m = -inf */
        if (l > m) {
            sum = sum * exp(m - l) + 1;
            m = l;
        } else {
            sum += exp(l - m);
        }
    }
    SF_REAL logp = m + log(sum);

    /* 3b. s = sum_k r_k g_k and the denoiser sum_k r_k (mu_k - a C_k g_k) */
    for (int i = lane; i < d; i += lanes) {
        rows->score[i] = 0;
        if (rows->denoise) rows->denoise[i] = 0;
    }
    for (int k = 0; k < K; k++) {
        SF_REAL r = exp(rows->logit[k] - logp);
        if (rows->resp && lane == 0) rows->resp[k] = r;
        if (r == 0) continue;
        SF_NAME(sf_component_score)(f, k, x, rows, lane, lanes);
        for (int i = lane; i < d; i += lanes) rows->score[i] += r * rows->g[i];
        if (!rows->denoise) continue;
        const SF_REAL *mu = f->mean + (size_t)k * d, *c = f->cov_diag + (size_t)k * d;
        for (int i = lane; i < d; i += lanes) rows->denoise[i] += r * (mu[i] - f->alpha * c[i] * rows->g[i]);
        for (int j = f->rank_offset[k]; j < f->rank_offset[k + 1]; j++) {
            const SF_REAL *u = f->basis + (size_t)j * d;
            SF_REAL ug = 0;
            for (int i = lane; i < d; i += lanes) ug += u[i] * rows->g[i];
            SF_REAL coef = r * f->alpha * f->cov_lowrank[j] * SF_NAME(sf_lane_sum)(ug);
            for (int i = lane; i < d; i += lanes) rows->denoise[i] -= coef * u[i];
        }
    }

    /* 3c. everything built on delta_k = g_k - s: div, Laplacian, H v, Hessian, d log p/dt */
    SF_REAL *lap = rows->lap, *hvp = rows->hvp, *hess = rows->hessian;
    const SF_REAL *v = rows->hvp_dir;
    int want_dt = rows->dt_score || rows->dt_logp;
    if (hvp && !v) {
        for (int i = lane; i < d; i += lanes) rows->dir[i] = rows->hvp_s * rows->score[i] + rows->hvp_x * x[i];
        v = rows->dir;
    }
    for (int i = lane; i < d; i += lanes) {
        if (lap) lap[i] = 0;
        if (hvp) hvp[i] = 0;
    }
    if (hess) /* lane a owns row a, here as below */
        for (int a = lane; a < d; a += lanes)
            for (int b = 0; b < d; b++) hess[(size_t)a * d + b] = 0;
    SF_REAL div = 0, dlogp = 0;
    if (rows->div || lap || hvp || hess || want_dt) {
        for (int k = 0; k < K; k++) {
            SF_REAL r = exp(rows->logit[k] - logp);
            if (r == 0) continue;
            SF_NAME(sf_component_score)(f, k, x, rows, lane, lanes);
            if (want_dt) {
                SF_REAL dl = SF_NAME(sf_component_dlogit)(f, k, rows, lane, lanes);
                rows->dlogit[k] = dl;
                dlogp += r * dl;
            }
            SF_REAL dd = 0;
            for (int i = lane; i < d; i += lanes) {
                rows->delta[i] = rows->g[i] - rows->score[i];
                dd += rows->delta[i] * rows->delta[i];
            }
            SF_REAL coef = SF_NAME(sf_lane_sum)(dd) - f->trace_prec[k];
            div += r * coef;
            if (lap) { /* Lap s = sum_k r_k [ (|delta|^2 - tr P) delta - 2 P delta ] */
                SF_NAME(sf_apply_prec)(f, k, rows->delta, rows->tmp2, rows->resid, lane, lanes);
                for (int i = lane; i < d; i += lanes) lap[i] += r * (coef * rows->delta[i] - 2 * rows->tmp2[i]);
            }
            if (hvp) { /* H v = sum_k r_k [ -P v + (delta . v) delta ] */
                SF_NAME(sf_apply_prec)(f, k, v, rows->tmp2, rows->resid, lane, lanes);
                SF_REAL dv = 0;
                for (int i = lane; i < d; i += lanes) dv += rows->delta[i] * v[i];
                dv = SF_NAME(sf_lane_sum)(dv);
                for (int i = lane; i < d; i += lanes) hvp[i] += r * (dv * rows->delta[i] - rows->tmp2[i]);
            }
            if (hess) { /* H = sum_k r_k (-P + delta delta^T), P column by column (lane a owns row a) */
                for (int b = 0; b < d; b++) {
                    for (int i = lane; i < d; i += lanes) rows->tmp[i] = i == b ? 1 : 0;
                    SF_NAME(sf_apply_prec)(f, k, rows->tmp, rows->tmp2, rows->resid, lane, lanes);
                    SF_REAL own = 0; /* delta_b lives on lane b % lanes: broadcast it */
                    for (int i = lane; i < d; i += lanes) own += i == b ? rows->delta[i] : 0;
                    SF_REAL delta_b = SF_NAME(sf_lane_sum)(own);
                    for (int a = lane; a < d; a += lanes)
                        hess[(size_t)a * d + b] += r * (rows->delta[a] * delta_b - rows->tmp2[a]);
                }
            }
        }
    }
    if (rows->dt_score) {
        /* d s/dt = sum_k r_k [ (dl_k - dlog p) delta_k + dg_k ],  dg_k = P_k (alpha' mu_k - dSigma_k g_k) */
        SF_REAL *dts = rows->dt_score;
        for (int i = lane; i < d; i += lanes) dts[i] = 0;
        for (int k = 0; k < K; k++) {
            SF_REAL r = exp(rows->logit[k] - logp);
            if (r == 0) continue;
            SF_NAME(sf_component_score)(f, k, x, rows, lane, lanes);
            SF_NAME(sf_component_dlogit)(f, k, rows, lane, lanes); /* dSigma g in tmp */
            const SF_REAL *mu = f->mean + (size_t)k * d;
            SF_REAL c = rows->dlogit[k] - dlogp;
            for (int i = lane; i < d; i += lanes) {
                rows->delta[i] = f->dalpha * mu[i] - rows->tmp[i];
                dts[i] += r * c * (rows->g[i] - rows->score[i]);
            }
            SF_NAME(sf_apply_prec)(f, k, rows->delta, rows->tmp2, rows->resid, lane, lanes);
            for (int i = lane; i < d; i += lanes) dts[i] += r * rows->tmp2[i];
        }
    }
    if (rows->div && lane == 0) *rows->div = div;
    if (rows->dt_logp && lane == 0) *rows->dt_logp = dlogp;
    if (rows->logp && lane == 0) *rows->logp = logp;
}

#undef SF_REAL
#undef SF_NAME
