/* Evaluation of a plan on device arrays (evaluate.cuh): the small-d kernel, the large-d pipeline
 * (GEMMs, screening epilogue, exact survivors) and the all-survivor route for derivatives at
 * small d. */
#include "evaluate.cuh"

#include <string.h>

#define SF_SMALL_THREADS 256
#define SF_SMALL_SMEM 49152 /* dynamic shared memory of a small-d tile: the default limit, no opt-in */
#define SF_SCREEN_WARPS 8
#define SF_EXACT_WARPS 4
#define SF_PREP_WARPS 8
#define SF_LARGE_TILE_CAP 16384 /* particles per large-d tile: GEMMs are at full speed well before */
/* Blocks per SM the register budget must allow. Naming it fixes the register limit (65536 / (threads
 * x blocks)) and keeps ptxas from trading spills for occupancy, which it does by default: with these
 * the kernels compile for sm_90 without spills (tests/gpu_bundle.sh checks it). */
/* small-d: fewer slots need fewer registers, so more blocks fit (occupancy hides the memory
 * latency of this memory-bound kernel): <= 64 registers at 1-2 slots, 85 at 4 on one lane, 128 at
 * 8 slots or on lane groups (their shuffles hold more live values) */
#define SF_SMALL_MIN_BLOCKS(slots, lanes) ((slots) <= 2 ? 4 : (slots) <= 4 && (lanes) == 1 ? 3 : 2)
#define SF_EXACT_MIN_BLOCKS 4 /* <= 128 registers at 128 threads */

/* ---------------------------------------------------------------- the logic's names per precision */

static __device__ inline void evaluate_survivors(const sf_field_view_f64 *f, const double *x, const int *list, int count,
                                                 sf_particle_rows_f64 *rows, int lane, int lanes)
{
    sf_evaluate_survivors_f64(f, x, list, count, rows, lane, lanes);
}
static __device__ inline void evaluate_survivors(const sf_field_view_f32 *f, const float *x, const int *list, int count,
                                                 sf_particle_rows_f32 *rows, int lane, int lanes)
{
    sf_evaluate_survivors_f32(f, x, list, count, rows, lane, lanes);
}
static __device__ inline void logit_bound_in(const sf_field_view_f64 *f, int k, double xpx, double xpm, const double *proj,
                                             double gu, double iu, double *l, double *b)
{
    sf_logit_bound_in_f64(f, k, xpx, xpm, proj, gu, iu, l, b);
}
static __device__ inline void logit_bound_in(const sf_field_view_f32 *f, int k, double xpx, double xpm, const float *proj,
                                             double gu, double iu, double *l, double *b)
{
    sf_logit_bound_in_f32(f, k, xpx, xpm, proj, gu, iu, l, b);
}

template <typename T> struct small_names;
template <> struct small_names<double> {
    typedef sf_small_state_f64 state;
    typedef sf_particle_rows_f64 rows;
    static __device__ void begin(state *s, const double *x, int d, int slots, int lane, int lanes) { sf_small_begin_f64(s, x, d, slots, lane, lanes); }
    static __device__ void add(const sf_field_view_f64 *f, int k, state *s, int den, int d, int slots, int lane, int lanes) { sf_small_add_f64(f, k, s, den, d, slots, lane, lanes); }
    static __device__ double logit(const sf_field_view_f64 *f, int k, const state *s, int d, int slots, int lane, int lanes) { return sf_small_logit_f64(f, k, s, d, slots, lane, lanes); }
    static __device__ double logp(const state *s) { return sf_small_logp_f64(s); }
    static __device__ double weight(double z) { return sf_weight_exp_f64(z); }
    static __device__ void finish(const state *s, double *score, double *logp, double *div, double *den, int d, int slots, int lane, int lanes) { sf_small_finish_f64(s, score, logp, div, den, d, slots, lane, lanes); }
};
template <> struct small_names<float> {
    typedef sf_small_state_f32 state;
    typedef sf_particle_rows_f32 rows;
    static __device__ void begin(state *s, const float *x, int d, int slots, int lane, int lanes) { sf_small_begin_f32(s, x, d, slots, lane, lanes); }
    static __device__ void add(const sf_field_view_f32 *f, int k, state *s, int den, int d, int slots, int lane, int lanes) { sf_small_add_f32(f, k, s, den, d, slots, lane, lanes); }
    static __device__ double logit(const sf_field_view_f32 *f, int k, const state *s, int d, int slots, int lane, int lanes) { return sf_small_logit_f32(f, k, s, d, slots, lane, lanes); }
    static __device__ double logp(const state *s) { return sf_small_logp_f32(s); }
    static __device__ double weight(double z) { return sf_weight_exp_f32(z); }
    static __device__ void finish(const state *s, float *score, float *logp, float *div, float *den, int d, int slots, int lane, int lanes) { sf_small_finish_f32(s, score, logp, div, den, d, slots, lane, lanes); }
};

/* The request's device arrays, typed. */
template <typename T> struct typed_request {
    T *score, *logp, *resp, *div, *denoise, *lap, *hvp, *hessian, *dt_score, *dt_logp;
    const T *hvp_dir;
    T hvp_s, hvp_x;
};

template <typename T> static typed_request<T> typed(const sf_device_request *rq)
{
    typed_request<T> t = {(T *)rq->score, (T *)rq->logp, (T *)rq->resp, (T *)rq->div, (T *)rq->denoise, (T *)rq->lap,
                          (T *)rq->hvp, (T *)rq->hessian, (T *)rq->dt_score, (T *)rq->dt_logp, (const T *)rq->hvp_dir,
                          (T)rq->hvp_s, (T)rq->hvp_x};
    return t;
}

/* The request's arrays from particle b0 on. */
template <typename T> static typed_request<T> from_particle(typed_request<T> t, size_t b0, int d, int K)
{
#define SF_SHIFT(ptr, width) (t.ptr = t.ptr ? t.ptr + b0 * (size_t)(width) : NULL)
    SF_SHIFT(score, d), SF_SHIFT(logp, 1), SF_SHIFT(resp, K), SF_SHIFT(div, 1), SF_SHIFT(denoise, d), SF_SHIFT(lap, d);
    SF_SHIFT(hvp, d), SF_SHIFT(hessian, (size_t)d * d), SF_SHIFT(dt_score, d), SF_SHIFT(dt_logp, 1), SF_SHIFT(hvp_dir, d);
#undef SF_SHIFT
    return t;
}

static int wants_derivatives(const sf_device_request *rq)
{
    return rq->lap || rq->hvp || rq->hessian || rq->dt_score || rq->dt_logp;
}

typedef enum { ROUTE_SMALL, ROUTE_ALL_SURVIVORS, ROUTE_SCREENED } eval_route;

static eval_route route_of(const sf_cuda_plan *p, const sf_device_request *rq)
{
    if (p->d > 32) return ROUTE_SCREENED;
    return wants_derivatives(rq) ? ROUTE_ALL_SURVIVORS : ROUTE_SMALL;
}

/* Lanes per particle of the survivor kernel: a warp at large d, else the power of two >= d. */
static int survivor_lanes(const sf_cuda_plan *p)
{
    if (p->d > 32) return 32;
    int lanes = 1;
    while (lanes < p->d) lanes <<= 1;
    return lanes;
}

static int uses_split(const sf_cuda_plan *p, sf_gemm_math math)
{
    return p->precision == SF_PRECISION_F32 && math == SF_GEMM_3XTF32;
}

/* ---------------------------------------------------------------- scratch */

template <typename T> struct tile_scratch {
    double *xx;                /* [B] |x|^2 */
    T *x2;                     /* [B x d] x * x (diagonal components only) */
    T *x_split[2], *x2_split[2]; /* [B x d] TF32 halves of x and x^2 (3xTF32) */
    T *field_split[3][2];      /* TF32 halves of P(a mu), the diagonal P rows and the basis (3xTF32) */
    T *xpm, *xpd, *proj;       /* [B x K], [B x kdiag], [B x R] GEMM products */
    int *list, *count;         /* [B x K] survivors, [B] their number */
    double *slog;              /* [B x K] upper logits, then the survivors' exact logits */
    T *g;                      /* [B x d] */
    double *resid;             /* [B x d] */
    T *score;                  /* [B x d] when the score is not requested */
    T *delta, *tmp, *tmp2, *dir, *dlogit; /* derivatives: [B x d] each, [B x K] */
};

static size_t round_up(size_t bytes) { return (bytes + 255) & ~(size_t)255; }

/* Lays the scratch of tiles of B particles out at base (NULL: only counts); returns its bytes. */
template <typename T>
static size_t carve(void *base, const sf_cuda_plan *p, const sf_device_request *rq, sf_gemm_math math, size_t B,
                    tile_scratch<T> *s)
{
    memset(s, 0, sizeof *s);
    eval_route route = route_of(p, rq);
    if (route == ROUTE_SMALL) return 0;
    size_t d = p->d, K = p->K, at = 0;
    int split = uses_split(p, math) && route == ROUTE_SCREENED, deriv = wants_derivatives(rq);
#define SF_TAKE(ptr, type, count) (s->ptr = base ? (type *)((char *)base + at) : NULL, at += round_up((count) * sizeof(type)))
    if (split) { /* the fixed part: the field's halves */
        size_t sizes[3] = {K * d, (size_t)p->kdiag * d, (size_t)p->R * d};
        for (int a = 0; a < 3; a++)
            for (int h = 0; h < 2; h++) SF_TAKE(field_split[a][h], T, sizes[a]);
    }
    SF_TAKE(xx, double, B);
    if (route == ROUTE_SCREENED) {
        if (p->kdiag) SF_TAKE(x2, T, B * d);
        if (split) {
            for (int h = 0; h < 2; h++) SF_TAKE(x_split[h], T, B * d);
            if (p->kdiag)
                for (int h = 0; h < 2; h++) SF_TAKE(x2_split[h], T, B * d);
        }
        SF_TAKE(xpm, T, B * K);
        if (p->kdiag) SF_TAKE(xpd, T, B * p->kdiag);
        if (p->R) SF_TAKE(proj, T, B * p->R);
        SF_TAKE(list, int, B * K);
        SF_TAKE(count, int, B);
    }
    SF_TAKE(slog, double, B * K);
    SF_TAKE(g, T, B * d);
    SF_TAKE(resid, double, B * d);
    if (!rq->score) SF_TAKE(score, T, B * d);
    if (deriv) {
        SF_TAKE(delta, T, B * d);
        SF_TAKE(tmp, T, B * d);
        SF_TAKE(tmp2, T, B * d);
        if (rq->hvp && !rq->hvp_dir) SF_TAKE(dir, T, B * d);
        if (rq->dt_score || rq->dt_logp) SF_TAKE(dlogit, T, B * K);
    }
#undef SF_TAKE
    return at;
}

template <typename T> static sf_eval_scratch scratch_of(const sf_cuda_plan *p, const sf_device_request *rq, sf_gemm_math math)
{
    sf_eval_scratch e = {0, 0, 0};
    tile_scratch<T> s;
    if (route_of(p, rq) == ROUTE_SMALL) return e;
    const size_t probe = 4096;
    e.fixed = carve<T>(NULL, p, rq, math, 0, &s);
    e.per_particle = (carve<T>(NULL, p, rq, math, probe, &s) - e.fixed) / probe + 1;
    /* cuBLAS sizes are int: B x K, B x d must fit */
    size_t widest = (size_t)(p->K > p->d ? p->K : p->d);
    e.tile_cap = (size_t)0x7fffffff / widest;
    if (e.tile_cap > SF_LARGE_TILE_CAP) e.tile_cap = SF_LARGE_TILE_CAP;
    return e;
}

sf_eval_scratch sfi_eval_scratch_of(const sf_cuda_plan *p, const sf_device_request *rq, sf_gemm_math math)
{
    return p->precision == SF_PRECISION_F32 ? scratch_of<float>(p, rq, math) : scratch_of<double>(p, rq, math);
}

size_t sfi_eval_scratch_bytes(const sf_cuda_plan *p, const sf_device_request *rq, sf_gemm_math math, size_t tile)
{
    tile_scratch<float> f;
    tile_scratch<double> d;
    return p->precision == SF_PRECISION_F32 ? carve<float>(NULL, p, rq, math, tile, &f)
                                            : carve<double>(NULL, p, rq, math, tile, &d);
}

double sfi_eval_gemm_flops(const sf_cuda_plan *p, sf_gemm_math math)
{
    double per = 2.0 * p->d * ((double)p->K + p->kdiag + p->R);
    return uses_split(p, math) ? 3 * per : per;
}

/* ---------------------------------------------------------------- small d: a particle per thread */

/* Offsets of a tile of kt components with `rows` basis rows in shared memory: doubles first, then
 * T, then ints (each region keeps its alignment). Host and device use the same layout. */
typedef struct {
    size_t prec_diag, log_norm, trace_prec, prec_basis, alpha_mean, basis, mean, cov, cov_lowrank, rank_offset, bytes;
} tile_layout;

static __host__ __device__ tile_layout tile_layout_of(int d, int kt, int rows, int den, size_t elem)
{
    tile_layout t;
    size_t at = 0, kd = (size_t)kt * d;
    t.prec_diag = at, at += kd * 8;
    t.log_norm = at, at += (size_t)kt * 8;
    t.trace_prec = at, at += (size_t)kt * 8;
    t.prec_basis = at, at += (size_t)rows * 8;
    t.alpha_mean = at, at += kd * elem;
    t.basis = at, at += (size_t)rows * d * elem;
    t.mean = at, at += den ? kd * elem : 0;
    t.cov = at, at += den ? kd * elem : 0;
    t.cov_lowrank = at, at += den ? (size_t)rows * elem : 0;
    at = (at + 7) & ~(size_t)7;
    t.rank_offset = at, at += ((size_t)kt + 1) * sizeof(int);
    t.bytes = at;
    return t;
}

typedef struct {
    int components; /* per tile */
    int rows;       /* the most basis rows any tile holds */
    int den;        /* the tile carries the denoiser's arrays */
    size_t bytes;
} small_tile;

static small_tile plan_small_tile(const sf_cuda_plan *p, int den, size_t elem)
{
    small_tile t = {1, 0, den, 0};
    for (int kt = p->K < 1024 ? p->K : 1024;; kt = (kt + 1) / 2) {
        int rows = 0;
        for (int k0 = 0; k0 < p->K; k0 += kt) {
            int k1 = k0 + kt < p->K ? k0 + kt : p->K, r = p->rank_offset[k1] - p->rank_offset[k0];
            rows = r > rows ? r : rows;
        }
        size_t bytes = tile_layout_of(p->d, kt, rows, den, elem).bytes;
        if (bytes <= SF_SMALL_SMEM || kt == 1) { /* one component with d <= 32 always fits */
            t.components = kt, t.rows = rows, t.bytes = bytes;
            return t;
        }
    }
}

/* Stages components [k0, k0 + kt) in shared memory; every thread of the block calls this. */
template <typename T>
static __device__ typename prec<T>::view load_tile(const typename prec<T>::view &v, int k0, int kt, const small_tile &tile,
                                                   char *smem)
{
    tile_layout L = tile_layout_of(v.d, tile.components, tile.rows, tile.den, sizeof(T));
    int d = v.d, j0 = v.rank_offset[k0], rows = v.rank_offset[k0 + kt] - j0;
    size_t kd = (size_t)kt * d, rd = (size_t)rows * d;
    double *pd = (double *)(smem + L.prec_diag), *ln = (double *)(smem + L.log_norm), *tp = (double *)(smem + L.trace_prec);
    double *pb = (double *)(smem + L.prec_basis);
    T *am = (T *)(smem + L.alpha_mean), *ba = (T *)(smem + L.basis), *mu = (T *)(smem + L.mean), *cv = (T *)(smem + L.cov);
    T *cl = (T *)(smem + L.cov_lowrank);
    int *ro = (int *)(smem + L.rank_offset);
    __syncthreads(); /* the previous tile is no longer read */
    size_t first = (size_t)k0 * d;
    for (size_t i = threadIdx.x; i < kd; i += blockDim.x) {
        pd[i] = v.prec_diag[first + i];
        am[i] = v.alpha_mean[first + i];
        if (tile.den) mu[i] = v.mean[first + i], cv[i] = v.cov_diag[first + i];
    }
    for (size_t i = threadIdx.x; i < rd; i += blockDim.x) ba[i] = v.basis[(size_t)j0 * d + i];
    for (int i = threadIdx.x; i < rows; i += blockDim.x) {
        pb[i] = v.prec_basis[j0 + i];
        if (tile.den) cl[i] = v.cov_lowrank[j0 + i];
    }
    for (int i = threadIdx.x; i < kt; i += blockDim.x) ln[i] = v.log_norm[k0 + i], tp[i] = v.trace_prec[k0 + i];
    for (int i = threadIdx.x; i <= kt; i += blockDim.x) ro[i] = v.rank_offset[k0 + i] - j0;
    __syncthreads();
    typename prec<T>::view t = v;
    t.K = kt, t.R = rows;
    t.prec_diag = pd, t.log_norm = ln, t.trace_prec = tp, t.prec_basis = pb, t.alpha_mean = am, t.basis = ba;
    t.mean = mu, t.cov_diag = cv, t.cov_lowrank = cl, t.rank_offset = ro;
    t.trace_rate = NULL, t.mean_quad = NULL, t.basis_mean = NULL, t.prec_mean = NULL; /* not used by this logic */
    return t;
}

/* A particle per LANES lanes (SLOTS coordinates each): every component once, from shared-memory
 * tiles, with an online log-sum-exp; responsibilities, when asked for, in a second pass. The
 * input is checked as it is read. */
template <typename T, int SLOTS, int LANES>
__global__ void __launch_bounds__(SF_SMALL_THREADS, SF_SMALL_MIN_BLOCKS(SLOTS, LANES)) small_kernel(typename prec<T>::view v, small_tile tile, const T *x,
                                                                 size_t n, typed_request<T> out, double limit,
                                                                 unsigned long long *bad, unsigned long long base)
{
    typedef small_names<T> S;
    extern __shared__ double smem_words[];
    char *smem = (char *)smem_words;
    size_t p = (blockIdx.x * (size_t)blockDim.x + threadIdx.x) / LANES;
    int lane = threadIdx.x % LANES, d = v.d, K = v.K, valid = p < n;
    typename S::state st;
    if (valid) {
        const T *row = x + p * d;
        for (int j = 0; j < SLOTS; j++) {
            int i = lane + LANES * j;
            if (i < d && !(fabs((double)row[i]) <= limit)) atomicMin(bad, base + p * d + i);
        }
        S::begin(&st, row, d, SLOTS, lane, LANES);
    }
    for (int k0 = 0; k0 < K; k0 += tile.components) {
        int kt = K - k0 < tile.components ? K - k0 : tile.components;
        typename prec<T>::view tv = load_tile<T>(v, k0, kt, tile, smem);
        if (valid)
            for (int k = 0; k < kt; k++) S::add(&tv, k, &st, tile.den, d, SLOTS, lane, LANES);
    }
    if (valid)
        S::finish(&st, out.score ? out.score + p * d : NULL, out.logp ? out.logp + p : NULL, out.div ? out.div + p : NULL,
                  out.denoise ? out.denoise + p * d : NULL, d, SLOTS, lane, LANES);
    if (!out.resp) return; /* uniform across the grid */
    double logp = valid ? S::logp(&st) : 0;
    for (int k0 = 0; k0 < K; k0 += tile.components) {
        int kt = K - k0 < tile.components ? K - k0 : tile.components;
        typename prec<T>::view tv = load_tile<T>(v, k0, kt, tile, smem);
        if (valid)
            for (int k = 0; k < kt; k++) {
                double l = S::logit(&tv, k, &st, d, SLOTS, lane, LANES);
                if (lane == 0) out.resp[p * K + k0 + k] = (T)S::weight(l - logp);
            }
    }
}

template <typename T, int SLOTS, int LANES>
static sf_status launch_small_kernel(const typename prec<T>::view &v, const small_tile &tile, const T *x, size_t n,
                                     const typed_request<T> &out, unsigned long long *bad, unsigned long long base,
                                     cudaStream_t stream)
{
    size_t threads = n * LANES, blocks = (threads + SF_SMALL_THREADS - 1) / SF_SMALL_THREADS;
    if (blocks > 0x7fffffff) return sfi_fail(SF_ERR_INVALID, "%zu particles exceed one launch of the small-d kernel", n);
    small_kernel<T, SLOTS, LANES><<<(unsigned)blocks, SF_SMALL_THREADS, tile.bytes, stream>>>(v, tile, x, n, out,
                                                                                             prec<T>::input_limit, bad, base);
    SF_LAUNCH_CHECK("small_kernel");
    return SF_OK;
}

template <typename T>
static sf_status launch_small(const sf_cuda_plan *p, const T *x, size_t n, const typed_request<T> &out,
                              unsigned long long *bad, unsigned long long base, cudaStream_t stream)
{
    typename prec<T>::view v = plan_view<T>(p);
    small_tile tile = plan_small_tile(p, out.denoise != NULL, sizeof(T));
    int d = p->d;
    /* slots x lanes covers d with no idle lane for d = 1, 2, 4, 8, 16, 32; above d = 8 four slots
     * per lane (more lanes, fewer registers: eight slots on two lanes spilled at 128 registers) */
    if (d <= 1) return launch_small_kernel<T, 1, 1>(v, tile, x, n, out, bad, base, stream);
    if (d <= 2) return launch_small_kernel<T, 2, 1>(v, tile, x, n, out, bad, base, stream);
    if (d <= 4) return launch_small_kernel<T, 4, 1>(v, tile, x, n, out, bad, base, stream);
    if (d <= 8) return launch_small_kernel<T, 8, 1>(v, tile, x, n, out, bad, base, stream);
    if (d <= 16) return launch_small_kernel<T, 4, 4>(v, tile, x, n, out, bad, base, stream);
    return launch_small_kernel<T, 4, 8>(v, tile, x, n, out, bad, base, stream);
}

/* ---------------------------------------------------------------- large d: GEMM, screen, survivors */

/* |x|^2 per particle (double), x * x for the diagonal components' GEMM, and the input check. */
template <typename T>
__global__ void __launch_bounds__(32 * SF_PREP_WARPS) prep_rows(const T *x, size_t nb, int d, double limit, double *xx,
                                                                 T *x2, unsigned long long *bad, unsigned long long base)
{
    size_t p = (blockIdx.x * (size_t)blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x & 31;
    if (p >= nb) return; /* uniform across the warp */
    const T *row = x + p * d;
    double s = 0;
    for (int i = lane; i < d; i += 32) {
        T v = row[i];
        if (!(fabs((double)v) <= limit)) atomicMin(bad, base + p * d + i);
        s += (double)v * (double)v;
        if (x2) x2[p * d + i] = v * v;
    }
    s = sf_group_sum(s, 32);
    if (lane == 0) xx[p] = s;
}

/* The TF32 halves of v: big = v rounded to TF32's 10-bit mantissa (to nearest, ties away, as
 * cvt.rna.tf32.f32), small = v - big (exact in float). */
__global__ void split_tf32(const float *v, size_t n, float *big, float *small)
{
    SF_GRID_LOOP(i, n)
    {
        float b = __uint_as_float((__float_as_uint(v[i]) + 0x1000u) & ~0x1fffu);
        big[i] = b;
        small[i] = v[i] - b;
    }
}

static sf_status split(const float *v, size_t n, float *const halves[2], cudaStream_t stream)
{
    if (!n) return SF_OK;
    split_tf32<<<sf_blocks_for(n, 256), 256, 0, stream>>>(v, n, halves[0], halves[1]);
    SF_LAUNCH_CHECK("split_tf32");
    return SF_OK;
}

/* C (rows-of-A x n, column-major, = n x rows row-major) = A^T X for A (k x m column-major: the
 * field's m rows of length k) and X (k x n: n particles of length k). */
template <typename T>
static sf_status gemm_rows(cublasHandle_t h, sf_gemm_math math, int m, int n, int k, const T *A, const T *X, T *C,
                           T *const A_split[2], T *const X_split[2])
{
    if (sizeof(T) == sizeof(double)) {
        const double one = 1, zero = 0;
        SF_CUBLAS_TRY(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, A, CUDA_R_64F, k, X, CUDA_R_64F, k, &zero, C,
                                   CUDA_R_64F, m, CUBLAS_COMPUTE_64F, CUBLAS_GEMM_DEFAULT));
        return SF_OK;
    }
    const float one = 1, zero = 0;
    if (math != SF_GEMM_3XTF32) {
        cublasComputeType_t type = math == SF_GEMM_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
        SF_CUBLAS_TRY(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, A, CUDA_R_32F, k, X, CUDA_R_32F, k, &zero, C,
                                   CUDA_R_32F, m, type, CUBLAS_GEMM_DEFAULT));
        return SF_OK;
    }
    /* three TF32 passes, the small products first: A_s X_b + A_b X_s + A_b X_b */
    const void *a[3] = {A_split[1], A_split[0], A_split[0]}, *x[3] = {X_split[0], X_split[1], X_split[0]};
    for (int pass = 0; pass < 3; pass++)
        SF_CUBLAS_TRY(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, a[pass], CUDA_R_32F, k, x[pass], CUDA_R_32F, k,
                                   pass ? &one : &zero, C, CUDA_R_32F, m, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT));
    return SF_OK;
}

/* The screening epilogue, a warp per particle: approximate logits and their bounds from the GEMM
 * rows, a running threshold (the best lower logit so far minus the cutoff), candidates compacted
 * by ballot as they pass it, then the candidates filtered again by the final threshold. Writes
 * the survivors' component indices in order and their number. */
template <typename T>
__global__ void __launch_bounds__(32 * SF_SCREEN_WARPS)
    screen(typename prec<T>::view v, const double *xx, const T *xpm, const T *xpd, const T *proj, const double *prec_lead,
           const int *diag_slot, int kdiag, size_t nb, double cutoff, double gemm_unit, double input_unit, int *list,
           int *count, double *upper)
{
    size_t p = (blockIdx.x * (size_t)blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x & 31, K = v.K;
    if (p >= nb) return; /* uniform across the warp */
    const T *row = xpm + p * K;
    int *mine = list + p * K;
    double *hi = upper + p * K, best = -INFINITY, x2 = xx[p];
    int candidates = 0;
    unsigned below = (1u << lane) - 1;
    for (int k0 = 0; k0 < K; k0 += 32) {
        int k = k0 + lane, have = k < K;
        double l = -INFINITY, b = 0;
        if (have) {
            int slot = diag_slot[k];
            double xpx = slot >= 0 ? (double)xpd[p * kdiag + slot] : prec_lead[k] * x2;
            logit_bound_in(&v, k, xpx, (double)row[k], proj ? proj + p * v.R + v.rank_offset[k] : NULL, gemm_unit,
                           input_unit, &l, &b);
            best = sf_max_combine(best, l - b);
        }
        best = sf_group_max(best, 32); /* one value on every lane: the branches below agree */
        int keep = have && sf_screen_survives(l, b, best - cutoff);
        unsigned ballot = __ballot_sync(0xffffffffu, keep);
        if (keep) {
            int at = candidates + __popc(ballot & below);
            mine[at] = k;
            hi[at] = l + b;
        }
        candidates += __popc(ballot);
    }
    double threshold = best - cutoff;
    int kept = 0;
    for (int j0 = 0; j0 < candidates; j0 += 32) {
        int j = j0 + lane, k = -1, keep = 0;
        if (j < candidates) {
            k = mine[j];
            keep = !(hi[j] < threshold); /* NaN stays */
        }
        unsigned ballot = __ballot_sync(0xffffffffu, keep); /* every lane has read its entry */
        if (keep) mine[kept + __popc(ballot & below)] = k;   /* at or before the entries read */
        kept += __popc(ballot);
        __syncwarp();
    }
    if (lane == 0) count[p] = kept;
}

/* The survivors of each particle evaluated exactly (sf_evaluate_survivors), `lanes` lanes per
 * particle; list NULL: every component. DERIV = 0 compiles the derivative passes out. */
template <typename T, bool DERIV>
__global__ void __launch_bounds__(32 * SF_EXACT_WARPS, SF_EXACT_MIN_BLOCKS) exact(typename prec<T>::view v, const T *x, size_t nb,
                                                             int lanes_log2, tile_scratch<T> s, typed_request<T> out)
{
    /* shifts, not 64-bit division (a subroutine call in SASS, whose saved registers count as spills) */
    int lanes = 1 << lanes_log2, lane = threadIdx.x & (lanes - 1), d = v.d, K = v.K;
    size_t p = (blockIdx.x * (size_t)blockDim.x + threadIdx.x) >> lanes_log2;
    if (p >= nb) return; /* uniform across the particle's lanes */
    size_t pd = p * d, pk = p * K;
    typename small_names<T>::rows r;
    r.g = s.g + pd, r.resid = s.resid + pd, r.survivor_logit = s.slog + pk, r.logit = NULL;
    r.score = out.score ? out.score + pd : s.score + pd;
    r.denoise = out.denoise ? out.denoise + pd : NULL;
    r.resp = out.resp ? out.resp + pk : NULL;
    r.logp = out.logp ? out.logp + p : NULL;
    r.div = out.div ? out.div + p : NULL;
    r.delta = r.tmp = r.tmp2 = r.dir = r.dlogit = NULL;
    r.lap = r.hvp = r.hessian = r.dt_score = r.dt_logp = NULL;
    r.hvp_dir = NULL, r.hvp_s = out.hvp_s, r.hvp_x = out.hvp_x;
    if (DERIV) {
        r.delta = s.delta + pd, r.tmp = s.tmp + pd, r.tmp2 = s.tmp2 + pd;
        r.dir = s.dir ? s.dir + pd : NULL, r.dlogit = s.dlogit ? s.dlogit + pk : NULL;
        r.lap = out.lap ? out.lap + pd : NULL;
        r.hvp = out.hvp ? out.hvp + pd : NULL;
        r.hvp_dir = out.hvp_dir ? out.hvp_dir + pd : NULL;
        r.hessian = out.hessian ? out.hessian + p * (size_t)d * d : NULL;
        r.dt_score = out.dt_score ? out.dt_score + pd : NULL;
        r.dt_logp = out.dt_logp ? out.dt_logp + p : NULL;
    }
    evaluate_survivors(&v, x + pd, s.list ? s.list + pk : NULL, s.list ? s.count[p] : K, &r, lane, lanes);
}

template <typename T>
static sf_status launch_exact(const typename prec<T>::view &v, const T *x, size_t nb, int lanes, const tile_scratch<T> &s,
                              const typed_request<T> &out, int deriv, cudaStream_t stream)
{
    size_t threads = nb * lanes, block = 32 * SF_EXACT_WARPS, blocks = (threads + block - 1) / block;
    int log2 = 0;
    while ((1 << log2) < lanes) log2++;
    if (deriv) exact<T, true><<<(unsigned)blocks, (unsigned)block, 0, stream>>>(v, x, nb, log2, s, out);
    else exact<T, false><<<(unsigned)blocks, (unsigned)block, 0, stream>>>(v, x, nb, log2, s, out);
    SF_LAUNCH_CHECK("exact");
    return SF_OK;
}

template <typename T>
static sf_status launch_survivors(const sf_cuda_plan *p, const T *x, size_t n, const sf_device_request *rq,
                                  sf_gemm_math math, void *scratch, size_t tile, unsigned long long *bad,
                                  unsigned long long base, cudaStream_t stream, cublasHandle_t blas)
{
    typename prec<T>::view v = plan_view<T>(p);
    typed_request<T> all = typed<T>(rq);
    tile_scratch<T> s;
    carve<T>(scratch, p, rq, math, tile, &s);
    int d = p->d, K = p->K, R = p->R, kdiag = p->kdiag, lanes = survivor_lanes(p), deriv = wants_derivatives(rq);
    eval_route route = route_of(p, rq);
    int three = uses_split(p, math);
    const sf_field_layout_device &L = p->L;
    const T *pm = plan_array<T>(p, L.prec_mean), *pdg = plan_array<T>(p, L.prec_diag_gemm), *basis = plan_array<T>(p, L.basis);
    sf_status st;
    if (route == ROUTE_SCREENED && three) { /* the field's TF32 halves, once per call */
        const T *src[3] = {pm, pdg, basis};
        size_t sizes[3] = {(size_t)K * d, (size_t)kdiag * d, (size_t)R * d};
        for (int a = 0; a < 3; a++)
            if ((st = split((const float *)src[a], sizes[a], (float *const *)s.field_split[a], stream)) != SF_OK) return st;
    }
    double input_unit = math == SF_GEMM_TF32 && sizeof(T) == 4 ? 0x1p-11 : three ? 0x1p-20 : 0.0;
    for (size_t b0 = 0; b0 < n; b0 += tile) {
        size_t nb = n - b0 < tile ? n - b0 : tile;
        const T *xb = x + b0 * d;
        typed_request<T> out = from_particle<T>(all, b0, d, K);
        unsigned prep_blocks = (unsigned)((nb + SF_PREP_WARPS - 1) / SF_PREP_WARPS);
        prep_rows<T><<<prep_blocks, 32 * SF_PREP_WARPS, 0, stream>>>(xb, nb, d, prec<T>::input_limit, s.xx,
                                                                      route == ROUTE_SCREENED ? s.x2 : NULL, bad,
                                                                      base + b0 * d);
        SF_LAUNCH_CHECK("prep_rows");
        if (route == ROUTE_SCREENED) {
            if (three) {
                if ((st = split((const float *)xb, nb * d, (float *const *)s.x_split, stream)) != SF_OK) return st;
                if (kdiag && (st = split((const float *)s.x2, nb * d, (float *const *)s.x2_split, stream)) != SF_OK) return st;
            }
            if ((st = gemm_rows<T>(blas, math, K, (int)nb, d, pm, xb, s.xpm, s.field_split[0], s.x_split)) != SF_OK) return st;
            if (kdiag && (st = gemm_rows<T>(blas, math, kdiag, (int)nb, d, pdg, s.x2, s.xpd, s.field_split[1], s.x2_split)) != SF_OK)
                return st;
            if (R && (st = gemm_rows<T>(blas, math, R, (int)nb, d, basis, xb, s.proj, s.field_split[2], s.x_split)) != SF_OK)
                return st;
            unsigned screen_blocks = (unsigned)((nb + SF_SCREEN_WARPS - 1) / SF_SCREEN_WARPS);
            screen<T><<<screen_blocks, 32 * SF_SCREEN_WARPS, 0, stream>>>(
                v, s.xx, s.xpm, s.xpd, s.proj, plan_array<double>(p, L.prec_lead), plan_array<int>(p, L.diag_slot), kdiag,
                nb, prec<T>::cutoff, prec<T>::unit, input_unit, s.list, s.count, s.slog);
            SF_LAUNCH_CHECK("screen");
        }
        if ((st = launch_exact<T>(v, xb, nb, lanes, s, out, deriv, stream)) != SF_OK) return st;
    }
    return SF_OK;
}

template <typename T>
static sf_status launch(const sf_cuda_plan *p, const T *x, size_t n, const sf_device_request *rq, void *scratch,
                        size_t tile, unsigned long long *bad, unsigned long long base, cudaStream_t stream,
                        cublasHandle_t blas, sf_gemm_math math)
{
    if (route_of(p, rq) == ROUTE_SMALL) return launch_small<T>(p, x, n, typed<T>(rq), bad, base, stream);
    if (tile == 0) return sfi_fail(SF_ERR_INVALID, "an evaluation tile of 0 particles");
    return launch_survivors<T>(p, x, n, rq, math, scratch, tile, bad, base, stream, blas);
}

sf_status sfi_eval_launch(const sf_cuda_plan *p, const void *x, size_t n, const sf_device_request *rq, void *scratch,
                         size_t tile, unsigned long long *bad, unsigned long long index_base, cudaStream_t stream,
                         cublasHandle_t blas, sf_gemm_math math)
{
    if (n == 0) return SF_OK;
    return p->precision == SF_PRECISION_F32
               ? launch<float>(p, (const float *)x, n, rq, scratch, tile, bad, index_base, stream, blas, math)
               : launch<double>(p, (const double *)x, n, rq, scratch, tile, bad, index_base, stream, blas, math);
}
