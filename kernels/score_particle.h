/* Per-particle logic of the CUDA score kernels, written once for the device (a group of `lanes`
 * lanes per particle, each owning the coordinates i = lane, lane + lanes, ...) and for the host
 * (one lane), so CPU tests run exactly this code against the float64 reference path
 * (tests/test_gpu_logic.c), and the fast CPU backend shares it.
 *
 * Instantiated per precision: define SF_REAL (double or float) and SF_NAME(x) (a suffix), and for
 * float also SF_REAL_IS_FLOAT, then include this file; it undefines all three at the end
 * (kernels/particle_logic.h instantiates it with small_particle.h). No CUDA headers are needed.
 *
 * The algorithm (DESIGN.md "The GPU path", docs/fields.md):
 *  1. Approximate logits from the GEMM form |x - a mu|_P^2 = x.Px - 2 x.P(a mu) + (a mu).P(a mu)
 *     with a rigorous bound on their rounding error (sf_logit_bound_in). The GEMM form cancels
 *     when |x| >> |x - a mu|; the bound grows with it.
 *  2. Screening: a component whose approximate logit, even at the top of its bound, lies more than
 *     `cutoff` below the best lower bound carries r_k < exp(-cutoff) and is skipped
 *     (sf_screen_survives); the survivors form a list.
 *  3. Every survivor is recomputed directly from e = x - a mu (no cancellation), in one pass with
 *     an online log-sum-exp and a weighted Welford update of the score, the denoiser and the
 *     centred second moment sum_k r_k |g_k - s|^2 that the divergence needs
 *     (sf_evaluate_survivors); the further derivatives take a second pass in the centred form.
 * Precision: per-coordinate arithmetic in SF_REAL; every sum over coordinates (the quadratic form,
 * projections, |delta|^2), the logits, the log-sum-exp and the weights in double, and the
 * per-component normalisers are double arrays in both precisions (issue 11 defect 5: in float,
 * log-normaliser ~ 700 minus quadratic ~ 1000 lost 1e-4 at d = 1024). */

#ifndef SF_SCORE_PARTICLE_COMMON
#define SF_SCORE_PARTICLE_COMMON
#include "field_pack.h"
#include <math.h>
#if defined(__CUDACC__)
#define SF_HD __host__ __device__
#else
#define SF_HD
#endif

/* Warp-group reductions. A particle's lanes are `lanes` consecutive lanes of a warp (a power of
 * two up to 32, aligned), named by the mask below; on the host there is one lane and these are
 * identities. Sums by the xor butterfly give every lane the same bits (each step adds the same two
 * numbers, and IEEE addition is commutative). The maximum uses fmax, which is symmetric with NaN
 * (fmax(NaN, v) = fmax(v, NaN) = v), and then takes lane 0's value, so every lane of the group
 * holds one threshold and takes the same branches afterwards (issue 11 defect 2: `o > v ? o : v`
 * let lanes disagree, and a divergent full-mask shuffle followed). */
#if defined(__CUDA_ARCH__)
static __device__ inline unsigned sf_group_mask(int lanes)
{
    if (lanes >= 32) return 0xffffffffu;
    unsigned base = (threadIdx.x & 31u) & ~(unsigned)(lanes - 1);
    return ((1u << lanes) - 1u) << base;
}
#endif

static SF_HD inline double sf_group_sum(double v, int lanes)
{
#if defined(__CUDA_ARCH__)
    unsigned mask = sf_group_mask(lanes);
    for (int offset = lanes / 2; offset > 0; offset >>= 1) v += __shfl_xor_sync(mask, v, offset);
#else
    (void)lanes;
#endif
    return v;
}

/* The combining step of the maximum: symmetric in its arguments, NaN ignored. */
static SF_HD inline double sf_max_combine(double a, double b) { return fmax(a, b); }

static SF_HD inline double sf_group_max(double v, int lanes)
{
#if defined(__CUDA_ARCH__)
    unsigned mask = sf_group_mask(lanes);
    for (int offset = lanes / 2; offset > 0; offset >>= 1) v = sf_max_combine(v, __shfl_xor_sync(mask, v, offset));
    v = __shfl_sync(mask, v, __ffs(mask) - 1); /* lane 0 of the group decides for all */
#else
    (void)lanes;
#endif
    return v;
}

/* Orders the group's memory writes before its later reads of each other's writes. */
static SF_HD inline void sf_group_sync(int lanes)
{
#if defined(__CUDA_ARCH__)
    __syncwarp(sf_group_mask(lanes));
#else
    (void)lanes;
#endif
}

/* Screening rule: component k survives unless its upper logit is certainly below the threshold
 * (the best lower logit minus the cutoff). NaN (inf - inf in the GEMM form) survives and is
 * recomputed directly. */
static SF_HD inline int sf_screen_survives(double logit, double bound, double threshold)
{
    return !(logit + bound < threshold);
}

/* a / b for b >= 1 (weight sums: the largest weight is 1). On the device without the division's
 * slow-path subroutine (whose call makes ptxas save registers, counted as spills): the hardware
 * reciprocal estimate, two Newton steps and a final correction, within an ulp of a / b. */
static SF_HD inline double sf_div_by_weight(double a, double b)
{
#if defined(__CUDA_ARCH__)
    double r;
    asm("rcp.approx.ftz.f64 %0, %1;" : "=d"(r) : "d"(b));
    r = fma(fma(-b, r, 1.0), r, r);
    r = fma(fma(-b, r, 1.0), r, r);
    double q = a * r;
    return fma(fma(-b, q, a), r, q);
#else
    return a / b;
#endif
}

/* Unit roundoff bound of a length-d dot product, gamma_d = d u / (1 - d u). */
static SF_HD inline double sf_gamma(int d, double unit)
{
    double du = d * unit;
    return du < 0.5 ? du / (1.0 - du) : 2.0 * du;
}

/* The bound on the logit error of the diagonal part x.Px - 2 x.P(a mu) + (a mu).P(a mu) of the GEMM
 * form (see sf_logit_bound_in): (gamma_d(gemm_unit) + 2 input_unit + (rank + 4) real_unit) times
 * (sqrt(xpx) + sqrt(mq))^2, safety factor 2 included. One formula for every caller (the fast CPU
 * backend's vector loop over rank-free fields calls it with rank 0, input_unit 0). */
static SF_HD inline double sf_diagonal_logit_bound(int d, double xpx, double mq, double gemm_unit, double input_unit,
                                                   int rank, double real_unit)
{
    double root = sqrt(xpx > 0 ? xpx : 0) + sqrt(mq > 0 ? mq : 0);
    return (sf_gamma(d, gemm_unit) + 2.01 * input_unit + (rank + 4) * real_unit) * root * root;
}
#endif /* SF_SCORE_PARTICLE_COMMON */

/* A diffused mixture in one precision, as flat arrays (device or host memory). Layout as sf_field.
 * The per-component constants and the precisions are double in both precisions. */
typedef struct {
    int d, K, R;
    SF_REAL alpha;
    const SF_REAL *alpha_mean;  /* [K x d] */
    const double *prec_diag;    /* [K x d]: double, as the quadratic form is summed (in float its
                                   rounding, u |e.Pe|, moved logits by 1e-4 at d = 1024) */
    const SF_REAL *mean;        /* [K x d] */
    const SF_REAL *cov_diag;    /* [K x d] */
    const SF_REAL *basis;       /* [R x d] */
    const double *prec_basis;   /* [R] */
    const SF_REAL *cov_lowrank; /* [R] */
    const int *rank_offset;     /* [K + 1] */
    const double *log_norm;     /* [K] */
    const double *trace_prec;   /* [K] */
    const double *trace_rate;   /* [K] tr(P_k dSigma_k), for d/dt */
    SF_REAL dalpha, dsigma2;    /* the frame's rates (0 when it has none) */
    /* GEMM-form constants */
    const double *mean_quad;    /* [K] (a mu_k) . P_diag (a mu_k) */
    const double *basis_mean;   /* [R] u_j . (a mu_k) for the component k owning row j */
    const SF_REAL *prec_mean;   /* [K x d] P_diag_k (a mu_k): the GEMM operand of x.P(a mu) */
} SF_NAME(sf_field_view);

/* exp of a logit difference (<= 0) as a weight: in the working precision (float exp on the device
 * is several times cheaper than double), returned as double for the sums. */
static SF_HD inline double SF_NAME(sf_weight_exp)(double z)
{
#ifdef SF_REAL_IS_FLOAT
    return (double)expf((float)z);
#else
    return exp(z);
#endif
}

#ifndef SF_REAL_IS_FLOAT
/* The view of a float64 packed field (src/core/field_pack.h) at `base` (host or device memory). */
static inline SF_NAME(sf_field_view) SF_NAME(sf_field_view_at)(const sf_field *f, const sf_field_layout *L,
                                                               const double *base, const int *rank_offset)
{
    SF_NAME(sf_field_view) v;
    v.d = f->d, v.K = f->K, v.R = f->R, v.alpha = f->alpha;
    v.dalpha = f->dalpha, v.dsigma2 = f->dsigma2, v.trace_rate = base + L->trace_rate;
    v.alpha_mean = base + L->alpha_mean, v.prec_diag = base + L->prec_diag, v.mean = base + L->mean;
    v.cov_diag = base + L->cov_diag, v.basis = base + L->basis, v.prec_basis = base + L->prec_basis;
    v.cov_lowrank = base + L->cov_lowrank, v.log_norm = base + L->log_norm, v.trace_prec = base + L->trace_prec;
    v.mean_quad = base + L->mean_quad, v.basis_mean = base + L->basis_mean, v.prec_mean = base + L->prec_mean;
    v.rank_offset = rank_offset;
    return v;
}
#endif

/* Per-particle scratch and outputs: rows of the batch arrays, each coordinate owned by one lane. */
typedef struct {
    SF_REAL *g;           /* [d] scratch: component score */
    double *resid;        /* [d] scratch: residual off the basis rows (double: its square is summed) */
    SF_REAL *delta, *tmp, *tmp2, *dir; /* [d] scratch for the derivatives */
    SF_REAL *logit;       /* [K] unused by sf_evaluate_survivors (kept for the CPU backend) */
    SF_REAL *dlogit;      /* [K] scratch: d l_k / dt of each survivor */
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
    double *survivor_logit; /* [K] scratch: exact logit of each survivor, in list order */
} SF_NAME(sf_particle_rows);

/* Step 1 for one (particle, component): the approximate logit from the GEMM products
 *   xpx = x.P_diag_k x (x^2 . P_diag_k, or |x|^2 p_k when the diagonal is one number),
 *   xpm = x . P_diag_k (a mu_k),  proj_x[j] = u_j . x  (j over k's basis rows),
 * and a bound on |approximate - exact| for the field as stored (SF_REAL values, exact arithmetic):
 *   every dot product is off by at most (gamma_d(gemm_unit) + 2 input_unit) sum_i |a_i b_i|
 *   (input_unit: the rounding of the GEMM's inputs, as TF32 does; 0 otherwise), the constants
 *   computed in double from the unrounded field differ from the stored ones by a few units of
 *   SF_REAL, and sum_i |x_i P_i a mu_i| <= sqrt(xpx mq) by Cauchy-Schwarz in the P-weighted inner
 *   product, so size = (sqrt(xpx) + sqrt(mq))^2 bounds every term of the diagonal part. For a
 *   low-rank component (P_diag = p I), |x| = sqrt(xpx / p) and |a mu| = sqrt(mq / p) bound the
 *   projections. The bound carries a safety factor of 2. */
static SF_HD inline void SF_NAME(sf_logit_bound_in)(const SF_NAME(sf_field_view) *f, int k, double xpx, double xpm,
                                                    const SF_REAL *proj_x, double gemm_unit, double input_unit,
                                                    double *logit, double *bound)
{
    const double u_real = sizeof(SF_REAL) == sizeof(float) ? 5.9604644775390625e-8 : 1.1102230246251565e-16;
    int j0 = f->rank_offset[k], rank = f->rank_offset[k + 1] - j0;
    double dot_err = sf_gamma(f->d, gemm_unit) + 2.01 * input_unit;
    double mq = f->mean_quad[k], xp = xpx > 0 ? xpx : 0;
    double quad = xpx - 2 * xpm + mq;
    double err = sf_diagonal_logit_bound(f->d, xpx, mq, gemm_unit, input_unit, rank, u_real);
    if (rank > 0) {
        /* P = p_perp (I - U U^T) + U diag(1/e_j) U^T = p_perp I + U diag(1/e_j - p_perp) U^T */
        double p_perp = f->prec_diag[(size_t)k * f->d];
        double xnorm = sqrt(xp / p_perp), amnorm = sqrt((mq > 0 ? mq : 0) / p_perp);
        double delta = (dot_err + u_real) * xnorm + 3 * u_real * amnorm; /* error of one projection */
        for (int j = j0; j < j0 + rank; j++) {
            double c = f->prec_basis[j] - p_perp, pr = (double)proj_x[j - j0] - f->basis_mean[j];
            quad += c * pr * pr;
            err += fabs(c) * (2 * fabs(pr) * delta + delta * delta + 2 * u_real * pr * pr);
        }
    }
    if (quad < 0) quad = 0; /* a quadratic form; negative only through rounding (within the bound) */
    *logit = f->log_norm[k] - 0.5 * quad;
    *bound = err; /* 0.5 (from the logit's 1/2) x 2 (safety) */
}

/* The same with the GEMM's machine epsilon `eps` (= 2 u) and exact inputs, in SF_REAL: the form
 * the fast CPU backend calls. */
static SF_HD inline void SF_NAME(sf_logit_bound)(const SF_NAME(sf_field_view) *f, int k, double xpx, double xpm,
                                                 const SF_REAL *proj_x, SF_REAL eps, SF_REAL *logit, SF_REAL *bound)
{
    double l, b;
    SF_NAME(sf_logit_bound_in)(f, k, xpx, xpm, proj_x, 0.5 * (double)eps, 0.0, &l, &b);
    *logit = (SF_REAL)l;
    *bound = (SF_REAL)b;
}

/* g = -P_k e (and, for a component with basis rows, resid = e - sum_j (u_j.e) u_j) for
 * e = x - a mu_k, on this lane's coordinates;
 * returns e.P_k e (the same on every lane), summed in double. e is formed in double (exact for
 * float operands), so in float the subtraction does not round: at |x| >> |a mu| its rounding,
 * u |e|^2 per coordinate, was the largest error left in the logits. */
static SF_HD inline double SF_NAME(sf_component_score)(const SF_NAME(sf_field_view) *f, int k, const SF_REAL *x,
                                                       SF_NAME(sf_particle_rows) *rows, int lane, int lanes)
{
    int d = f->d;
    const SF_REAL *am = f->alpha_mean + (size_t)k * d;
    const double *p = f->prec_diag + (size_t)k * d;
    int j0 = f->rank_offset[k], j1 = f->rank_offset[k + 1];
    double part = 0;
    if (j0 == j1) { /* no basis rows: P_k is diagonal, and resid (= e) is not needed after */
        for (int i = lane; i < d; i += lanes) {
            double e = (double)x[i] - (double)am[i], pe = p[i] * e;
            rows->g[i] = (SF_REAL)-pe;
            part += pe * e;
        }
        return sf_group_sum(part, lanes);
    }
    for (int i = lane; i < d; i += lanes) {
        rows->resid[i] = (double)x[i] - (double)am[i];
        rows->g[i] = 0;
    }
    double quad = 0;
    for (int j = j0; j < j1; j++) {
        const SF_REAL *u = f->basis + (size_t)j * d;
        double proj_part = 0;
        for (int i = lane; i < d; i += lanes) proj_part += (double)u[i] * ((double)x[i] - (double)am[i]);
        double proj = sf_group_sum(proj_part, lanes), pj = f->prec_basis[j];
        quad += pj * proj * proj;
        for (int i = lane; i < d; i += lanes) {
            rows->resid[i] -= proj * (double)u[i];
            rows->g[i] -= (SF_REAL)(pj * proj * (double)u[i]);
        }
    }
    for (int i = lane; i < d; i += lanes) {
        double pr = p[i] * rows->resid[i];
        rows->g[i] -= (SF_REAL)pr;
        part += pr * rows->resid[i];
    }
    return quad + sf_group_sum(part, lanes);
}

/* out = P_k v = p (v - U U^T v) + U diag(1/e_j) U^T v on this lane's coordinates (uses resid). */
static SF_HD inline void SF_NAME(sf_apply_prec)(const SF_NAME(sf_field_view) *f, int k, const SF_REAL *v, SF_REAL *out,
                                               double *resid, int lane, int lanes)
{
    int d = f->d;
    const double *p = f->prec_diag + (size_t)k * d;
    for (int i = lane; i < d; i += lanes) {
        resid[i] = v[i];
        out[i] = 0;
    }
    for (int j = f->rank_offset[k]; j < f->rank_offset[k + 1]; j++) {
        const SF_REAL *u = f->basis + (size_t)j * d;
        double part = 0;
        for (int i = lane; i < d; i += lanes) part += (double)u[i] * (double)v[i];
        double proj = sf_group_sum(part, lanes);
        SF_REAL c = (SF_REAL)(f->prec_basis[j] * proj);
        for (int i = lane; i < d; i += lanes) {
            resid[i] -= proj * (double)u[i];
            out[i] += c * u[i];
        }
    }
    for (int i = lane; i < d; i += lanes) out[i] += (SF_REAL)(p[i] * resid[i]);
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
        double part = 0;
        for (int i = lane; i < d; i += lanes) part += (double)u[i] * (double)v[i];
        SF_REAL uv = (SF_REAL)(sf_group_sum(part, lanes) * f->cov_lowrank[j]);
        for (int i = lane; i < d; i += lanes) out[i] += uv * u[i];
    }
}

/* out = C_k P_k e for e = x - a mu_k, on this lane's coordinates, in the spectral form
 *   C P e = (c p) resid + sum_j (c_perp + lambda_j) / e_j (u_j.e) u_j,
 * so that nothing cancels: the denoiser's C_k g_k = -C_k P_k e, formed as C (P e), adds and then
 * annihilates the large p_perp resid of data on a subspace near t = 0 (in float32, off by 1e-4).
 * Needs rows->resid from sf_component_score for a component with basis rows. */
static SF_HD inline void SF_NAME(sf_apply_cov_prec)(const SF_NAME(sf_field_view) *f, int k, const SF_REAL *x,
                                                    SF_NAME(sf_particle_rows) *rows, SF_REAL *out, int lane, int lanes)
{
    int d = f->d, j0 = f->rank_offset[k], j1 = f->rank_offset[k + 1];
    const SF_REAL *am = f->alpha_mean + (size_t)k * d, *c = f->cov_diag + (size_t)k * d;
    const double *p = f->prec_diag + (size_t)k * d;
    for (int i = lane; i < d; i += lanes) {
        double r = j0 == j1 ? (double)x[i] - (double)am[i] : rows->resid[i];
        out[i] = (SF_REAL)((double)c[i] * p[i] * r);
    }
    for (int j = j0; j < j1; j++) {
        const SF_REAL *u = f->basis + (size_t)j * d;
        double part = 0;
        for (int i = lane; i < d; i += lanes) part += (double)u[i] * ((double)x[i] - (double)am[i]);
        double coef = ((double)c[0] + (double)f->cov_lowrank[j]) * f->prec_basis[j] * sf_group_sum(part, lanes);
        for (int i = lane; i < d; i += lanes) out[i] += (SF_REAL)(coef * (double)u[i]);
    }
}

/* d l_k/dt = -alpha' mu.g + g.dSigma g / 2 - tr(P dSigma) / 2 (g from sf_component_score); leaves
 * dSigma g = 2 alpha alpha' C g + (sigma^2)' g in rows->tmp. */
static SF_HD inline double SF_NAME(sf_component_dlogit)(const SF_NAME(sf_field_view) *f, int k,
                                                        SF_NAME(sf_particle_rows) *rows, int lane, int lanes)
{
    int d = f->d;
    const SF_REAL *mu = f->mean + (size_t)k * d;
    SF_NAME(sf_apply_cov)(f, k, rows->g, rows->tmp, lane, lanes);
    double mg = 0, gsg = 0;
    SF_REAL rate_c = 2 * f->alpha * f->dalpha;
    for (int i = lane; i < d; i += lanes) {
        rows->tmp[i] = rate_c * rows->tmp[i] + f->dsigma2 * rows->g[i];
        mg += (double)mu[i] * (double)rows->g[i];
        gsg += (double)rows->g[i] * (double)rows->tmp[i];
    }
    return -(double)f->dalpha * sf_group_sum(mg, lanes) + 0.5 * sf_group_sum(gsg, lanes) - 0.5 * f->trace_rate[k];
}

/* Steps 3 for one particle over the components list[0..count) (list NULL: 0..count-1). Pass 1,
 * over the survivors once: exact logit l_k; online log-sum-exp with running maximum m and weight
 * sum W = sum_k exp(l_k - m); weighted Welford updates of s = sum_k r_k g_k, of the denoiser
 * sum_k r_k (mu_k - a C_k g_k) and of M2 = sum_k w_k |g_k - s|^2, so that
 *   log p = m + log W,  div s = sum_k r_k (|delta_k|^2 - tr P_k) = (M2 - sum_k w_k tr P_k) / W
 * with delta_k = g_k - s centred at the final s (docs/fields.md: no cancellation). A rise of the
 * maximum rescales W, M2 and the trace sum by exp(m_old - m_new); the means are unchanged by it.
 * Pass 2, only for Laplacian, H v, Hessian and d/dt: every survivor again with the final s and
 * log p, as in docs/fields.md. Lanes write only their own coordinates, and everything a lane branches
 * on is the same on every lane of the group. */
static SF_HD inline void SF_NAME(sf_evaluate_survivors)(const SF_NAME(sf_field_view) *f, const SF_REAL *x,
                                                        const int *list, int count, SF_NAME(sf_particle_rows) *rows,
                                                        int lane, int lanes)
{
    int d = f->d, K = f->K;
    double m = -INFINITY, W = 0, M2 = 0, trace = 0;
    for (int i = lane; i < d; i += lanes) {
        rows->score[i] = 0;
        if (rows->denoise) rows->denoise[i] = 0;
    }
    for (int j = 0; j < count; j++) {
        int k = list ? list[j] : j;
        double l = f->log_norm[k] - 0.5 * SF_NAME(sf_component_score)(f, k, x, rows, lane, lanes);
        rows->survivor_logit[j] = l; /* every lane writes the same value and reads back its own */
        if (l == -INFINITY) continue; /* r_k = 0, and exp(l - m) would be NaN while m = -inf */
        double w = 1; /* exp(l - m), one exp per survivor either way */
        if (l > m) {
            double c = SF_NAME(sf_weight_exp)(m - l);
            W *= c, M2 *= c, trace *= c;
            m = l;
        } else {
            w = SF_NAME(sf_weight_exp)(l - m);
        }
        double W_new = W + w, frac = sf_div_by_weight(w, W_new);
        SF_REAL fr = (SF_REAL)frac;
        double dd = 0;
        for (int i = lane; i < d; i += lanes) {
            SF_REAL delta = rows->g[i] - rows->score[i];
            dd += (double)delta * (double)delta;
            rows->score[i] += fr * delta;
        }
        M2 += w * sf_div_by_weight(W, W_new) * sf_group_sum(dd, lanes);
        trace += w * f->trace_prec[k];
        W = W_new;
        if (rows->denoise) { /* posterior mean of component k: mu_k - a C_k g_k = mu_k + a C_k P_k e */
            const SF_REAL *mu = f->mean + (size_t)k * d;
            SF_NAME(sf_apply_cov_prec)(f, k, x, rows, rows->tmp, lane, lanes);
            for (int i = lane; i < d; i += lanes)
                rows->denoise[i] += fr * (mu[i] + f->alpha * rows->tmp[i] - rows->denoise[i]);
        }
    }
    double logp = m + log(W);
    if (rows->resp) { /* zeros, then the survivors' r_k: two lanes may own a survivor's column */
        for (int k = lane; k < K; k += lanes) rows->resp[k] = 0;
        sf_group_sync(lanes);
        for (int j = lane; j < count; j += lanes) rows->resp[list ? list[j] : j] = (SF_REAL)SF_NAME(sf_weight_exp)(rows->survivor_logit[j] - logp);
    }

    /* pass 2: everything built on delta_k = g_k - s: Laplacian, H v, Hessian, d log p/dt */
    SF_REAL *lap = rows->lap, *hvp = rows->hvp, *hess = rows->hessian;
    const SF_REAL *v = rows->hvp_dir;
    int want_dt = rows->dt_score || rows->dt_logp;
    double dlogp = 0;
    if (lap || hvp || hess || want_dt) {
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
        for (int j = 0; j < count; j++) {
            int k = list ? list[j] : j;
            double r = SF_NAME(sf_weight_exp)(rows->survivor_logit[j] - logp);
            if (r == 0) continue;
            SF_REAL rr = (SF_REAL)r;
            SF_NAME(sf_component_score)(f, k, x, rows, lane, lanes);
            if (want_dt) {
                double dl = SF_NAME(sf_component_dlogit)(f, k, rows, lane, lanes);
                rows->dlogit[j] = (SF_REAL)dl;
                dlogp += r * dl;
            }
            double dd = 0;
            for (int i = lane; i < d; i += lanes) {
                rows->delta[i] = rows->g[i] - rows->score[i];
                dd += (double)rows->delta[i] * (double)rows->delta[i];
            }
            SF_REAL coef = (SF_REAL)(sf_group_sum(dd, lanes) - f->trace_prec[k]);
            if (lap) { /* Lap s = sum_k r_k [ (|delta|^2 - tr P) delta - 2 P delta ] */
                SF_NAME(sf_apply_prec)(f, k, rows->delta, rows->tmp2, rows->resid, lane, lanes);
                for (int i = lane; i < d; i += lanes) lap[i] += rr * (coef * rows->delta[i] - 2 * rows->tmp2[i]);
            }
            if (hvp) { /* H v = sum_k r_k [ -P v + (delta . v) delta ] */
                SF_NAME(sf_apply_prec)(f, k, v, rows->tmp2, rows->resid, lane, lanes);
                double dv = 0;
                for (int i = lane; i < d; i += lanes) dv += (double)rows->delta[i] * (double)v[i];
                SF_REAL dvr = (SF_REAL)sf_group_sum(dv, lanes);
                for (int i = lane; i < d; i += lanes) hvp[i] += rr * (dvr * rows->delta[i] - rows->tmp2[i]);
            }
            if (hess) { /* H = sum_k r_k (-P + delta delta^T), P column by column (lane a owns row a) */
                for (int b = 0; b < d; b++) {
                    for (int i = lane; i < d; i += lanes) rows->tmp[i] = i == b ? 1 : 0;
                    SF_NAME(sf_apply_prec)(f, k, rows->tmp, rows->tmp2, rows->resid, lane, lanes);
                    double own = 0; /* delta_b lives on lane b % lanes: broadcast it */
                    for (int i = lane; i < d; i += lanes) own += i == b ? (double)rows->delta[i] : 0;
                    SF_REAL delta_b = (SF_REAL)sf_group_sum(own, lanes);
                    for (int a = lane; a < d; a += lanes)
                        hess[(size_t)a * d + b] += rr * (rows->delta[a] * delta_b - rows->tmp2[a]);
                }
            }
        }
    }
    if (rows->dt_score) {
        /* d s/dt = sum_k r_k [ (dl_k - dlog p) delta_k + dg_k ],  dg_k = P_k (alpha' mu_k - dSigma_k g_k) */
        SF_REAL *dts = rows->dt_score;
        for (int i = lane; i < d; i += lanes) dts[i] = 0;
        for (int j = 0; j < count; j++) {
            int k = list ? list[j] : j;
            double r = SF_NAME(sf_weight_exp)(rows->survivor_logit[j] - logp);
            if (r == 0) continue;
            SF_REAL rr = (SF_REAL)r;
            SF_NAME(sf_component_score)(f, k, x, rows, lane, lanes);
            SF_NAME(sf_component_dlogit)(f, k, rows, lane, lanes); /* dSigma g in tmp */
            const SF_REAL *mu = f->mean + (size_t)k * d;
            SF_REAL c = (SF_REAL)((double)rows->dlogit[j] - dlogp);
            for (int i = lane; i < d; i += lanes) {
                rows->delta[i] = f->dalpha * mu[i] - rows->tmp[i];
                dts[i] += rr * c * (rows->g[i] - rows->score[i]);
            }
            SF_NAME(sf_apply_prec)(f, k, rows->delta, rows->tmp2, rows->resid, lane, lanes);
            for (int i = lane; i < d; i += lanes) dts[i] += rr * rows->tmp2[i];
        }
    }
    if (lane == 0) {
        if (rows->logp) *rows->logp = (SF_REAL)logp;
        if (rows->div) *rows->div = (SF_REAL)sf_div_by_weight(M2 - trace, W);
        if (rows->dt_logp) *rows->dt_logp = (SF_REAL)dlogp;
    }
}

#undef SF_REAL
#undef SF_NAME
#undef SF_REAL_IS_FLOAT
