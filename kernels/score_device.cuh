/* The device pipeline of score evaluation, shared by kernels/score.cu (host arrays in and out)
 * and kernels/sample.cu (particles resident on the device across sampler steps):
 *   1. X (float64) -> X and X^2 in the working precision;
 *   2. cuBLAS: x^2.P_diag (B x K), x.P_diag(a mu) (B x K), x.u_j (B x R) — the N K d work;
 *   3. approximate logits with rounding bounds, one thread per (particle, component);
 *   4. one warp per particle: screening, direct recomputation of the surviving components,
 *      log-sum-exp, score and every requested derivative (kernels/score_particle.h, shared with
 *      the CPU tests of this logic).
 * Internal to kernels/: templates and static functions only. */
#ifndef SF_SCORE_DEVICE_CUH
#define SF_SCORE_DEVICE_CUH

#include "cuda_state.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#define SF_REAL double
#define SF_NAME(x) x##_f64
#include "score_particle.h"
#define SF_REAL float
#define SF_NAME(x) x##_f32
#include "score_particle.h"

/* Screening cutoffs: a skipped component has r_k < exp(-cutoff) relative to the best one. */
#define SF_CUTOFF_F64 80.0
#define SF_CUTOFF_F32 40.0
#define SF_WARPS_PER_BLOCK 4
#define SF_THREADS 256

/* Precision traits: the view and rows types of score_particle.h, and the cuBLAS GEMM. */
template <typename T> struct prec;
template <> struct prec<double> {
    typedef sf_field_view_f64 view;
    typedef sf_particle_rows_f64 rows;
    static constexpr double eps = DBL_EPSILON, cutoff = SF_CUTOFF_F64;
    static view view_at(const sf_field *f, const sf_field_layout *L, const double *b, const int *ro) { return sf_field_view_at_f64(f, L, b, ro); }
    static cublasStatus_t gemm_tn(cublasHandle_t h, int m, int n, int k, const double *A, const double *B, double *C)
    {
        const double one = 1, zero = 0;
        return cublasDgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, A, k, B, k, &zero, C, m);
    }
};
template <> struct prec<float> {
    typedef sf_field_view_f32 view;
    typedef sf_particle_rows_f32 rows;
    static constexpr float eps = FLT_EPSILON, cutoff = (float)SF_CUTOFF_F32;
    static view view_at(const sf_field *f, const sf_field_layout *L, const float *b, const int *ro) { return sf_field_view_at_f32(f, L, b, ro); }
    static cublasStatus_t gemm_tn(cublasHandle_t h, int m, int n, int k, const float *A, const float *B, float *C)
    {
        const float one = 1, zero = 0;
        return cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, A, k, B, k, &zero, C, m);
    }
};

static __device__ inline void logit_bound(const sf_field_view_f64 *v, int k, double a, double b, const double *p, double *l, double *e) { sf_logit_bound_f64(v, k, a, b, p, DBL_EPSILON, l, e); }
static __device__ inline void logit_bound(const sf_field_view_f32 *v, int k, float a, float b, const float *p, float *l, float *e) { sf_logit_bound_f32(v, k, a, b, p, FLT_EPSILON, l, e); }
static __device__ inline void evaluate_particle(const sf_field_view_f64 *v, const double *x, const double *a, const double *b, double c, sf_particle_rows_f64 *r, int lane) { sf_evaluate_particle_f64(v, x, a, b, c, r, lane, 32); }
static __device__ inline void evaluate_particle(const sf_field_view_f32 *v, const float *x, const float *a, const float *b, float c, sf_particle_rows_f32 *r, int lane) { sf_evaluate_particle_f32(v, x, a, b, c, r, lane, 32); }

template <typename T> __global__ void convert_input(const double *x64, size_t count, T *x, T *x2)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count; i += (size_t)gridDim.x * blockDim.x) {
        T v = (T)x64[i];
        x[i] = v;
        x2[i] = v * v;
    }
}

template <typename T> __global__ void convert_output(const T *src, size_t count, double *dst)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count; i += (size_t)gridDim.x * blockDim.x)
        dst[i] = (double)src[i];
}

template <typename T>
__global__ void approximate_logits(typename prec<T>::view v, const T *xpx, const T *xpm, const T *proj, size_t nb,
                                   T *approx, T *bound)
{
    size_t total = nb * (size_t)v.K;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        size_t b = i / v.K;
        int k = (int)(i % v.K);
        logit_bound(&v, k, xpx[i], xpm[i], proj + b * v.R + v.rank_offset[k], approx + i, bound + i);
    }
}

/* Per-particle batch buffers, each [B x width]. */
template <typename T> struct batch {
    double *x64, *dir64, *out64;
    T *x, *x2, *xpx, *xpm, *proj, *approx, *bound;
    T *g, *resid, *delta, *tmp, *tmp2, *dir, *logit, *dlogit;
    T *score, *denoise, *resp, *logp, *div, *lap, *hvp, *hvp_dir, *hessian, *dt_score, *dt_logp;
};

/* Which optional outputs a request wants, as flags the kernel can take by value. */
struct wants {
    int denoise, resp, div, lap, hvp, hvp_dir, hessian, dt_score, dt_logp;
};

template <typename T>
__global__ void evaluate_particles(typename prec<T>::view v, batch<T> w, size_t nb, T cutoff, wants want, T hvp_s, T hvp_x)
{
    size_t p = (blockIdx.x * (size_t)blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x % 32;
    if (p >= nb) return; /* uniform across the warp: all its lanes share p */
    size_t d = v.d, K = v.K;
    typename prec<T>::rows rows;
    rows.g = w.g + p * d, rows.resid = w.resid + p * d, rows.delta = w.delta + p * d;
    rows.tmp = w.tmp + p * d, rows.tmp2 = w.tmp2 + p * d, rows.dir = w.dir + p * d;
    rows.logit = w.logit + p * K, rows.dlogit = w.dlogit + p * K;
    rows.score = w.score + p * d;
    rows.denoise = want.denoise ? w.denoise + p * d : NULL;
    rows.resp = want.resp ? w.resp + p * K : NULL;
    rows.logp = w.logp + p;
    rows.div = want.div ? w.div + p : NULL;
    rows.lap = want.lap ? w.lap + p * d : NULL;
    rows.hvp = want.hvp ? w.hvp + p * d : NULL;
    rows.hvp_dir = want.hvp_dir ? w.hvp_dir + p * d : NULL;
    rows.hvp_s = hvp_s, rows.hvp_x = hvp_x;
    rows.hessian = want.hessian ? w.hessian + p * d * d : NULL;
    rows.dt_score = want.dt_score ? w.dt_score + p * d : NULL;
    rows.dt_logp = want.dt_logp ? w.dt_logp + p : NULL;
    evaluate_particle(&v, w.x + p * d, w.approx + p * K, w.bound + p * K, cutoff, &rows, lane);
}

static size_t round_up(size_t bytes) { return (bytes + 255) & ~(size_t)255; }

/* Carves the workspace for B particles (each array aligned to 256 bytes); with base == NULL it
 * only counts, so the same code sizes the allocation and lays it out. Returns the bytes used. */
template <typename T> static size_t carve(void *base, size_t B, size_t d, size_t K, size_t R, int want_hessian, batch<T> *w)
{
    size_t at = 0;
    size_t wide = d > K ? d : K;
    if (want_hessian && d * d > wide) wide = d * d;
#define SF_TAKE(ptr, type, count) (w->ptr = (type *)((char *)base + at), at += round_up((count) * sizeof(type)))
    SF_TAKE(x64, double, B * d);
    SF_TAKE(dir64, double, B * d);
    SF_TAKE(out64, double, B * wide);
    SF_TAKE(x, T, B * d);
    SF_TAKE(x2, T, B * d);
    SF_TAKE(xpx, T, B * K);
    SF_TAKE(xpm, T, B * K);
    SF_TAKE(approx, T, B * K);
    SF_TAKE(bound, T, B * K);
    SF_TAKE(proj, T, B * (R ? R : 1));
    SF_TAKE(g, T, B * d);
    SF_TAKE(resid, T, B * d);
    SF_TAKE(delta, T, B * d);
    SF_TAKE(tmp, T, B * d);
    SF_TAKE(tmp2, T, B * d);
    SF_TAKE(dir, T, B * d);
    SF_TAKE(logit, T, B * K);
    SF_TAKE(dlogit, T, B * K);
    SF_TAKE(score, T, B * d);
    SF_TAKE(denoise, T, B * d);
    SF_TAKE(resp, T, B * K);
    SF_TAKE(logp, T, B);
    SF_TAKE(div, T, B);
    SF_TAKE(lap, T, B * d);
    SF_TAKE(hvp, T, B * d);
    SF_TAKE(hvp_dir, T, B * d);
    SF_TAKE(hessian, T, B * (want_hessian ? d * d : 1));
    SF_TAKE(dt_score, T, B * d);
    SF_TAKE(dt_logp, T, B);
#undef SF_TAKE
    return at;
}

static unsigned grid_for(size_t threads) { return sf_blocks_for(threads, SF_THREADS); }

/* Copies `count` values of a device array in precision T to host float64. */
template <typename T>
static sf_status download(sf_cuda_state *s, const T *src, size_t count, double *staging, double *host)
{
    const double *from = (const double *)src;
    if (sizeof(T) != sizeof(double)) {
        convert_output<T><<<grid_for(count), SF_THREADS, 0, s->stream>>>(src, count, staging);
        SF_LAUNCH_CHECK("convert_output");
        from = staging;
    }
    SF_CUDA_TRY(cudaMemcpyAsync(host, from, count * sizeof(double), cudaMemcpyDeviceToHost, s->stream));
    /* the staging buffer is reused by the next download */
    SF_CUDA_TRY(cudaStreamSynchronize(s->stream));
    return SF_OK;
}

/* Largest batch the free device memory allows (70% of it, counting extra_per_particle bytes of
 * the caller's own per-particle state), capped by max_batch and by int GEMM sizes. */
template <typename T>
static sf_status choose_batch(sf_cuda_state *s, size_t n, size_t max_batch, size_t d, size_t K, size_t R,
                              int want_hessian, size_t extra_per_particle, size_t *B)
{
    size_t free_bytes = 0, total_bytes = 0;
    SF_CUDA_TRY(cudaMemGetInfo(&free_bytes, &total_bytes));
    /* what this state already holds is reusable */
    size_t budget = (size_t)(0.7 * (double)(free_bytes + s->workspace_bytes + s->particles_bytes));
    batch<T> probe;
    size_t per = carve<T>(NULL, 1024, d, K, R, want_hessian, &probe) / 1024 + 1 + extra_per_particle;
    size_t b = budget / per;
    size_t widest = d > K ? d : K;
    widest = widest > R ? widest : R;
    size_t int_cap = (size_t)0x7fffffff / (widest ? widest : 1);
    if (b > int_cap) b = int_cap;
    if (b > ((size_t)1 << 24)) b = (size_t)1 << 24;
    if (max_batch && b > max_batch) b = max_batch;
    if (b > n) b = n;
    if (b < 1)
        return sf_fail(SF_ERR_CUDA, "not enough free device memory for one particle (d = %zu, K = %zu): %zu bytes free",
                       d, K, free_bytes);
    *B = b;
    return SF_OK;
}


/* Packs the field on the host in precision T (plus rank offsets) and uploads it into *buffer on
 * the work stream (a default-stream copy would not be ordered before the kernels reading it). */
template <typename T>
static sf_status upload_field(sf_cuda_state *s, const sf_field *f, void **buffer, size_t *capacity,
                              typename prec<T>::view *view)
{
    sf_field_layout L = sf_field_layout_of(f);
    size_t offsets_at = round_up(L.total * sizeof(T)), bytes = offsets_at + ((size_t)f->K + 1) * sizeof(int);
    void *packed = malloc(bytes);
    if (!packed) return sf_fail(SF_ERR_NOMEM, "out of memory packing the mixture for the GPU");
    sf_field_pack(f, &L, sizeof(T) == sizeof(float), packed);
    memcpy((char *)packed + offsets_at, f->rank_offset, ((size_t)f->K + 1) * sizeof(int));
    sf_status st = sf_cuda_reserve(buffer, capacity, bytes);
    if (st == SF_OK) {
        /* pageable source: the call returns once the data are staged, so packed may be freed */
        cudaError_t e = cudaMemcpyAsync(*buffer, packed, bytes, cudaMemcpyHostToDevice, s->stream);
        if (e != cudaSuccess)
            st = sf_fail(SF_ERR_CUDA, "cudaMemcpyAsync of the mixture (%zu bytes) failed: %s (%s:%d)", bytes,
                         cudaGetErrorString(e), __FILE__, __LINE__);
    }
    free(packed);
    if (st == SF_OK) *view = prec<T>::view_at(f, &L, (const T *)*buffer, (const int *)((char *)*buffer + offsets_at));
    return st;
}

/* Steps 1-4 for nb particles already in w.x64 (and, if want.hvp_dir, directions in w.dir64). */
template <typename T>
static sf_status evaluate_batch(sf_cuda_state *s, const typename prec<T>::view &v, const batch<T> &w, size_t nb,
                                const wants &want, double hvp_s, double hvp_x)
{
    typedef prec<T> P;
    size_t d = v.d, K = v.K, R = v.R;
    convert_input<T><<<grid_for(nb * d), SF_THREADS, 0, s->stream>>>(w.x64, nb * d, w.x, w.x2);
    SF_LAUNCH_CHECK("convert_input");
    if (want.hvp_dir) {
        convert_input<T><<<grid_for(nb * d), SF_THREADS, 0, s->stream>>>(w.dir64, nb * d, w.hvp_dir, w.tmp);
        SF_LAUNCH_CHECK("convert_input (hvp directions)");
    }
    /* row-major (nb x d) . (K x d)^T as column-major K x nb: C = A^T B with A = d x K, B = d x nb */
    SF_CUBLAS_TRY(P::gemm_tn(s->blas, (int)K, (int)nb, (int)d, v.prec_diag, w.x2, w.xpx));
    SF_CUBLAS_TRY(P::gemm_tn(s->blas, (int)K, (int)nb, (int)d, v.prec_mean, w.x, w.xpm));
    if (R) SF_CUBLAS_TRY(P::gemm_tn(s->blas, (int)R, (int)nb, (int)d, v.basis, w.x, w.proj));
    approximate_logits<T><<<grid_for(nb * K), SF_THREADS, 0, s->stream>>>(v, w.xpx, w.xpm, w.proj, nb, w.approx, w.bound);
    SF_LAUNCH_CHECK("approximate_logits");
    size_t blocks = (nb + SF_WARPS_PER_BLOCK - 1) / SF_WARPS_PER_BLOCK;
    evaluate_particles<T><<<(unsigned)blocks, 32 * SF_WARPS_PER_BLOCK, 0, s->stream>>>(v, w, nb, (T)P::cutoff, want,
                                                                                      (T)hvp_s, (T)hvp_x);
    SF_LAUNCH_CHECK("evaluate_particles");
    return SF_OK;
}

#endif
