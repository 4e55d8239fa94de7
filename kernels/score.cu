/* Score evaluation on the GPU (DESIGN.md "The GPU path"), per particle batch:
 *   1. X (float64 from the host) -> X and X^2 in the working precision;
 *   2. cuBLAS: x^2.P_diag (B x K), x.P_diag(a mu) (B x K), x.u_j (B x R) — the N K d work;
 *   3. approximate logits with rounding bounds, one thread per (particle, component);
 *   4. one warp per particle: screening, direct recomputation of the surviving components,
 *      log-sum-exp, score, denoiser, centred divergence (kernels/score_particle.h, shared with
 *      the CPU tests of this logic);
 *   5. outputs back to float64 on the host.
 * The batch size comes from free device memory, so any N runs. */
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
    double *x64, *out64;
    T *x, *x2, *xpx, *xpm, *proj, *approx, *bound, *g, *resid, *logit, *score, *denoise, *resp, *logp, *div;
};

template <typename T>
__global__ void evaluate_particles(typename prec<T>::view v, batch<T> w, size_t nb, T cutoff, int want_denoise,
                                   int want_resp, int want_div)
{
    size_t p = (blockIdx.x * (size_t)blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x % 32;
    if (p >= nb) return; /* uniform across the warp: all its lanes share p */
    size_t d = v.d, K = v.K;
    typename prec<T>::rows rows = {w.g + p * d, w.resid + p * d, w.logit + p * K, w.score + p * d,
                                   want_denoise ? w.denoise + p * d : NULL, want_resp ? w.resp + p * K : NULL,
                                   w.logp + p, want_div ? w.div + p : NULL};
    evaluate_particle(&v, w.x + p * d, w.approx + p * K, w.bound + p * K, cutoff, &rows, lane);
}

static size_t round_up(size_t bytes) { return (bytes + 255) & ~(size_t)255; }

/* Bytes of workspace for B particles (each array aligned to 256 bytes). */
template <typename T> static size_t batch_bytes(size_t B, size_t d, size_t K, size_t R)
{
    size_t t = sizeof(T);
    return round_up(B * d * 8) + round_up(B * (d > K ? d : K) * 8) + 2 * round_up(B * d * t) + 4 * round_up(B * K * t) +
           round_up(B * (R ? R : 1) * t) + 4 * round_up(B * d * t) + 2 * round_up(B * K * t) + 2 * round_up(B * t);
}

template <typename T> static batch<T> carve(void *base, size_t B, size_t d, size_t K, size_t R)
{
    char *at = (char *)base;
    batch<T> w;
    size_t t = sizeof(T);
#define SF_TAKE(ptr, type, count) (ptr = (type *)at, at += round_up((count) * sizeof(type)))
    SF_TAKE(w.x64, double, B * d);
    SF_TAKE(w.out64, double, B * (d > K ? d : K));
    SF_TAKE(w.x, T, B * d);
    SF_TAKE(w.x2, T, B * d);
    SF_TAKE(w.xpx, T, B * K);
    SF_TAKE(w.xpm, T, B * K);
    SF_TAKE(w.approx, T, B * K);
    SF_TAKE(w.bound, T, B * K);
    SF_TAKE(w.proj, T, B * (R ? R : 1));
    SF_TAKE(w.g, T, B * d);
    SF_TAKE(w.resid, T, B * d);
    SF_TAKE(w.score, T, B * d);
    SF_TAKE(w.denoise, T, B * d);
    SF_TAKE(w.logit, T, B * K);
    SF_TAKE(w.resp, T, B * K);
    SF_TAKE(w.logp, T, B);
    SF_TAKE(w.div, T, B);
#undef SF_TAKE
    (void)t;
    return w;
}

static unsigned grid_for(size_t threads)
{
    size_t blocks = (threads + SF_THREADS - 1) / SF_THREADS;
    return (unsigned)(blocks < 65536 * 16 ? (blocks ? blocks : 1) : 65536 * 16);
}

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
    return SF_OK;
}

/* Largest batch the free device memory allows (70% of it), capped by max_batch and by int GEMM sizes. */
template <typename T>
static sf_status choose_batch(sf_cuda_state *s, size_t n, size_t max_batch, size_t d, size_t K, size_t R, size_t *B)
{
    size_t free_bytes = 0, total_bytes = 0;
    SF_CUDA_TRY(cudaMemGetInfo(&free_bytes, &total_bytes));
    size_t budget = (size_t)(0.7 * (double)(free_bytes + s->workspace_bytes));
    size_t per = batch_bytes<T>(1024, d, K, R) / 1024 + 1;
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

template <typename T>
static sf_status score_on_device(sf_cuda_state *s, const sf_field *f, size_t max_batch, const double *x, size_t n,
                                 const sf_outputs *out)
{
    typedef prec<T> P;
    size_t d = f->d, K = f->K, R = f->R;
    /* a recoverable error of an earlier call (say, a failed cudaMalloc) must not be reported by
     * this call's first launch check; sticky errors are not cleared by this */
    (void)cudaGetLastError();

    /* the field: packed on the host in precision T (plus rank offsets), one upload */
    sf_field_layout L = sf_field_layout_of(f);
    size_t field_values = L.total * sizeof(T), offsets_at = round_up(field_values);
    size_t field_bytes = offsets_at + (K + 1) * sizeof(int);
    void *packed = malloc(field_bytes);
    if (!packed) return sf_fail(SF_ERR_NOMEM, "out of memory packing the mixture for the GPU");
    sf_field_pack(f, &L, sizeof(T) == sizeof(float), packed);
    memcpy((char *)packed + offsets_at, f->rank_offset, (K + 1) * sizeof(int));
    sf_status st = sf_cuda_reserve(&s->field, &s->field_bytes, field_bytes);
    if (st == SF_OK) {
        /* on the work stream: a default-stream copy is not ordered before the kernels reading it */
        cudaError_t e = cudaMemcpyAsync(s->field, packed, field_bytes, cudaMemcpyHostToDevice, s->stream);
        if (e != cudaSuccess)
            st = sf_fail(SF_ERR_CUDA, "cudaMemcpyAsync of the mixture (%zu bytes) failed: %s (%s:%d)", field_bytes,
                         cudaGetErrorString(e), __FILE__, __LINE__);
    }
    free(packed);
    if (st != SF_OK) return st;
    typename P::view v = P::view_at(f, &L, (const T *)s->field, (const int *)((char *)s->field + offsets_at));

    size_t B;
    if ((st = choose_batch<T>(s, n, max_batch, d, K, R, &B)) != SF_OK) return st;
    if ((st = sf_cuda_reserve(&s->workspace, &s->workspace_bytes, batch_bytes<T>(B, d, K, R))) != SF_OK) return st;
    batch<T> w = carve<T>(s->workspace, B, d, K, R);

    for (size_t b0 = 0; b0 < n; b0 += B) {
        size_t nb = n - b0 < B ? n - b0 : B;
        SF_CUDA_TRY(cudaMemcpyAsync(w.x64, x + b0 * d, nb * d * sizeof(double), cudaMemcpyHostToDevice, s->stream));
        convert_input<T><<<grid_for(nb * d), SF_THREADS, 0, s->stream>>>(w.x64, nb * d, w.x, w.x2);
        SF_LAUNCH_CHECK("convert_input");
        /* row-major (nb x d) . (K x d)^T as column-major K x nb: C = A^T B with A = d x K, B = d x nb */
        SF_CUBLAS_TRY(P::gemm_tn(s->blas, (int)K, (int)nb, (int)d, v.prec_diag, w.x2, w.xpx));
        SF_CUBLAS_TRY(P::gemm_tn(s->blas, (int)K, (int)nb, (int)d, v.prec_mean, w.x, w.xpm));
        if (R) SF_CUBLAS_TRY(P::gemm_tn(s->blas, (int)R, (int)nb, (int)d, v.basis, w.x, w.proj));
        approximate_logits<T><<<grid_for(nb * K), SF_THREADS, 0, s->stream>>>(v, w.xpx, w.xpm, w.proj, nb, w.approx, w.bound);
        SF_LAUNCH_CHECK("approximate_logits");
        size_t warps_blocks = (nb + SF_WARPS_PER_BLOCK - 1) / SF_WARPS_PER_BLOCK;
        evaluate_particles<T><<<(unsigned)warps_blocks, 32 * SF_WARPS_PER_BLOCK, 0, s->stream>>>(
            v, w, nb, (T)P::cutoff, out->denoise != NULL, out->resp != NULL, out->div != NULL);
        SF_LAUNCH_CHECK("evaluate_particles");
        /* downloads share one staging buffer, so each waits for the previous (same stream) */
        if (out->score && (st = download<T>(s, w.score, nb * d, w.out64, out->score + b0 * d)) != SF_OK) return st;
        SF_CUDA_TRY(cudaStreamSynchronize(s->stream));
        if (out->denoise && (st = download<T>(s, w.denoise, nb * d, w.out64, out->denoise + b0 * d)) != SF_OK) return st;
        SF_CUDA_TRY(cudaStreamSynchronize(s->stream));
        if (out->resp && (st = download<T>(s, w.resp, nb * K, w.out64, out->resp + b0 * K)) != SF_OK) return st;
        SF_CUDA_TRY(cudaStreamSynchronize(s->stream));
        if (out->logp && (st = download<T>(s, w.logp, nb, w.out64, out->logp + b0)) != SF_OK) return st;
        SF_CUDA_TRY(cudaStreamSynchronize(s->stream));
        if (out->div && (st = download<T>(s, w.div, nb, w.out64, out->div + b0)) != SF_OK) return st;
        SF_CUDA_TRY(cudaStreamSynchronize(s->stream));
    }
    return SF_OK;
}

extern "C" sf_status sf_cuda_score(sf_cuda_state *s, const sf_field *field, sf_precision precision, size_t max_batch,
                                   const double *x, size_t n, const sf_outputs *out)
{
    if (!s) return sf_fail(SF_ERR_NO_CUDA, "the context has no CUDA state");
    if (n == 0) return SF_OK;
    int caller_device = 0;
    SF_CUDA_TRY(cudaGetDevice(&caller_device));
    SF_CUDA_TRY(cudaSetDevice(s->device));
    sf_status st = precision == SF_PRECISION_F32 ? score_on_device<float>(s, field, max_batch, x, n, out)
                                                 : score_on_device<double>(s, field, max_batch, x, n, out);
    /* after a failure work may still be queued on the stream: let it finish before buffers are reused */
    if (st != SF_OK) cudaStreamSynchronize(s->stream);
    cudaError_t e = cudaSetDevice(caller_device);
    if (st == SF_OK && e != cudaSuccess)
        return sf_fail(SF_ERR_CUDA, "cudaSetDevice(%d) failed: %s (%s:%d)", caller_device, cudaGetErrorString(e),
                       __FILE__, __LINE__);
    return st;
}
