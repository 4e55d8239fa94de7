/* Measured ceilings for the benchmarks: a large square cuBLAS GEMM on random data in a given
 * precision and math mode, and a device-to-device copy. */
#include "cuda_state.h"
#include "philox.h"

/* Device memory freed on every path. */
struct device_buffer {
    void *p;
    device_buffer() : p(NULL) {}
    ~device_buffer() { if (p) cudaFree(p); }
};

/* Uniform numbers in (-1, 1) from Philox, so the GEMM sees random data (zeros run faster). */
template <typename T> __global__ void fill_random(T *a, size_t n, uint64_t seed)
{
    SF_GRID_LOOP(i, n)
    {
        sf_philox_ctr c = {{(uint32_t)i, (uint32_t)(i >> 32), 0, 0}};
        sf_philox_key k = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
        a[i] = (T)(2.0 * sf_philox_uniform(sf_philox4x32_10(c, k).v[0]) - 1.0);
    }
}

struct gemm_job {
    cublasHandle_t h;
    int n, reps;
    sf_precision precision;
    sf_gemm_math math;
    const void *a, *b;
    void *c;
};

static sf_status run_gemms(void *data)
{
    gemm_job *g = (gemm_job *)data;
    const double one = 1, zero = 0;
    const float onef = 1, zerof = 0;
    for (int r = 0; r < g->reps; r++) {
        if (g->precision == SF_PRECISION_F64) {
            SF_CUBLAS_TRY(cublasGemmEx(g->h, CUBLAS_OP_N, CUBLAS_OP_N, g->n, g->n, g->n, &one, g->a, CUDA_R_64F, g->n, g->b,
                                       CUDA_R_64F, g->n, &zero, g->c, CUDA_R_64F, g->n, CUBLAS_COMPUTE_64F,
                                       CUBLAS_GEMM_DEFAULT));
        } else {
            cublasComputeType_t type = g->math == SF_GEMM_EXACT ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_32F_FAST_TF32;
            int passes = g->math == SF_GEMM_3XTF32 ? 3 : 1; /* the three TF32 passes of 3xTF32 */
            for (int p = 0; p < passes; p++)
                SF_CUBLAS_TRY(cublasGemmEx(g->h, CUBLAS_OP_N, CUBLAS_OP_N, g->n, g->n, g->n, &onef, g->a, CUDA_R_32F, g->n,
                                           g->b, CUDA_R_32F, g->n, p ? &onef : &zerof, g->c, CUDA_R_32F, g->n, type,
                                           CUBLAS_GEMM_DEFAULT));
        }
    }
    return SF_OK;
}

static sf_status gemm_peak(sf_cuda_state *s, sf_precision precision, sf_gemm_math math, int pedantic, int n, double *flops)
{
    size_t elem = precision == SF_PRECISION_F64 ? 8 : 4, count = (size_t)n * n;
    device_buffer buf;
    SF_CUDA_TRY(cudaMalloc(&buf.p, 3 * count * elem));
    char *base = (char *)buf.p;
    if (precision == SF_PRECISION_F64) fill_random<double><<<sf_blocks_for(2 * count, 256), 256, 0, s->stream>>>((double *)base, 2 * count, 7);
    else fill_random<float><<<sf_blocks_for(2 * count, 256), 256, 0, s->stream>>>((float *)base, 2 * count, 7);
    SF_LAUNCH_CHECK("fill_random");
    SF_CUBLAS_TRY(cublasSetMathMode(s->blas, pedantic ? CUBLAS_PEDANTIC_MATH : CUBLAS_DEFAULT_MATH));
    gemm_job g = {s->blas, n, 1, precision, math, base, base + count * elem, base + 2 * count * elem};
    float best = 1e30f;
    sf_status st = SF_OK;
    for (int r = 0; st == SF_OK && r <= 5; r++) { /* run 0 warms up */
        float ms = 0;
        st = sfi_cuda_time_ms(s->stream, run_gemms, &g, &ms);
        if (st == SF_OK && r > 0 && ms < best) best = ms;
    }
    cublasSetMathMode(s->blas, CUBLAS_DEFAULT_MATH);
    if (st != SF_OK) return st;
    *flops = 2.0 * n * (double)n * n / (best * 1e-3);
    return SF_OK;
}

extern "C" sf_status sfi_cuda_gemm_peak(sf_cuda_state *s, sf_precision precision, sf_gemm_math math, int pedantic, int n,
                                       double *flops_per_second)
{
    *flops_per_second = 0;
    int caller;
    sf_status st = sfi_cuda_enter(s, &caller);
    if (st != SF_OK) return st;
    return sfi_cuda_leave(s, caller, gemm_peak(s, precision, math, pedantic, n > 0 ? n : 8192, flops_per_second));
}

struct copy_job {
    void *dst;
    const void *src;
    size_t bytes;
    cudaStream_t stream;
};

static sf_status run_copy(void *data)
{
    copy_job *c = (copy_job *)data;
    SF_CUDA_TRY(cudaMemcpyAsync(c->dst, c->src, c->bytes, cudaMemcpyDeviceToDevice, c->stream));
    return SF_OK;
}

static sf_status copy_peak(sf_cuda_state *s, size_t bytes, double *rate)
{
    device_buffer buf;
    SF_CUDA_TRY(cudaMalloc(&buf.p, 2 * bytes));
    SF_CUDA_TRY(cudaMemsetAsync(buf.p, 1, 2 * bytes, s->stream));
    copy_job c = {(char *)buf.p + bytes, buf.p, bytes, s->stream};
    float best = 1e30f;
    for (int r = 0; r <= 5; r++) {
        float ms = 0;
        sf_status st = sfi_cuda_time_ms(s->stream, run_copy, &c, &ms);
        if (st != SF_OK) return st;
        if (r > 0 && ms < best) best = ms;
    }
    *rate = 2.0 * bytes / (best * 1e-3);
    return SF_OK;
}

extern "C" sf_status sfi_cuda_copy_peak(sf_cuda_state *s, size_t bytes, double *bytes_per_second)
{
    *bytes_per_second = 0;
    int caller;
    sf_status st = sfi_cuda_enter(s, &caller);
    if (st != SF_OK) return st;
    return sfi_cuda_leave(s, caller, copy_peak(s, bytes, bytes_per_second));
}
