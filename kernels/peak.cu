/* The measured GPU ceiling used by the benchmarks: a large square cuBLAS GEMM. */
#include "cuda_state.h"

template <typename T> static cublasStatus_t gemm(cublasHandle_t h, int n, const T *a, T *c);
template <> cublasStatus_t gemm<double>(cublasHandle_t h, int n, const double *a, double *c)
{
    const double one = 1, zero = 0;
    return cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, n, a, n, &zero, c, n);
}
template <> cublasStatus_t gemm<float>(cublasHandle_t h, int n, const float *a, float *c)
{
    const float one = 1, zero = 0;
    return cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, n, a, n, &zero, c, n);
}

template <typename T> static sf_status peak(sf_cuda_state *s, double *flops)
{
    const int n = 4096, runs = 5;
    size_t bytes = 2 * (size_t)n * n * sizeof(T);
    sf_status st = sf_cuda_reserve(&s->workspace, &s->workspace_bytes, bytes);
    if (st != SF_OK) return st;
    T *a = (T *)s->workspace, *c = a + (size_t)n * n;
    SF_CUDA_TRY(cudaMemsetAsync(a, 0, bytes, s->stream));
    cudaEvent_t start, stop;
    SF_CUDA_TRY(cudaEventCreate(&start));
    SF_CUDA_TRY(cudaEventCreate(&stop));
    float best_ms = 1e30f;
    for (int r = 0; r <= runs; r++) { /* run 0 warms up */
        SF_CUDA_TRY(cudaEventRecord(start, s->stream));
        SF_CUBLAS_TRY(gemm<T>(s->blas, n, a, c));
        SF_CUDA_TRY(cudaEventRecord(stop, s->stream));
        SF_CUDA_TRY(cudaEventSynchronize(stop));
        float ms;
        SF_CUDA_TRY(cudaEventElapsedTime(&ms, start, stop));
        if (r > 0 && ms < best_ms) best_ms = ms;
    }
    SF_CUDA_TRY(cudaEventDestroy(start));
    SF_CUDA_TRY(cudaEventDestroy(stop));
    *flops = 2.0 * n * (double)n * n / (best_ms * 1e-3);
    return SF_OK;
}

extern "C" sf_status sf_cuda_gemm_peak(sf_cuda_state *s, sf_precision precision, double *flops_per_second)
{
    SF_CUDA_TRY(cudaSetDevice(s->device));
    return precision == SF_PRECISION_F32 ? peak<float>(s, flops_per_second) : peak<double>(s, flops_per_second);
}
