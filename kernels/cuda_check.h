/* Checking every CUDA, cuBLAS and cuFFT call: each failure becomes an sf_status with a message
 * naming the call, the error and the file and line. Used inside functions returning sf_status. */
#ifndef SF_CUDA_CHECK_H
#define SF_CUDA_CHECK_H

#include "status.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cufft.h>

#define SF_CUDA_TRY(call)                                                                              \
    do {                                                                                               \
        cudaError_t sf_e_ = (call);                                                                    \
        if (sf_e_ != cudaSuccess)                                                                      \
            return sfi_fail(SF_ERR_CUDA, "%s failed: %s (%s:%d)", #call, cudaGetErrorString(sf_e_),    \
                           __FILE__, __LINE__);                                                        \
    } while (0)

#define SF_CUBLAS_TRY(call)                                                                            \
    do {                                                                                               \
        cublasStatus_t sf_s_ = (call);                                                                 \
        if (sf_s_ != CUBLAS_STATUS_SUCCESS)                                                            \
            return sfi_fail(SF_ERR_CUDA, "%s failed: %s (%s:%d)", #call, cublasGetStatusString(sf_s_), \
                           __FILE__, __LINE__);                                                        \
    } while (0)

#define SF_CUFFT_TRY(call)                                                                             \
    do {                                                                                               \
        cufftResult sf_r_ = (call);                                                                    \
        if (sf_r_ != CUFFT_SUCCESS)                                                                    \
            return sfi_fail(SF_ERR_CUDA, "%s failed: cuFFT error %d (%s:%d)", #call, (int)sf_r_,       \
                           __FILE__, __LINE__);                                                        \
    } while (0)

/* After every kernel launch: launch-configuration errors and earlier asynchronous faults. */
#define SF_LAUNCH_CHECK(kernel_name)                                                                   \
    do {                                                                                               \
        cudaError_t sf_e_ = cudaGetLastError();                                                        \
        if (sf_e_ != cudaSuccess)                                                                      \
            return sfi_fail(SF_ERR_CUDA, "launch of %s failed: %s (%s:%d)", kernel_name,               \
                           cudaGetErrorString(sf_e_), __FILE__, __LINE__);                             \
    } while (0)

/* Blocks of `block` threads for a grid-stride loop over n elements: enough to cover n, at least
 * one, capped (the loops stride over the rest). */
static inline unsigned sf_blocks_for(size_t n, unsigned block)
{
    size_t b = (n + block - 1) / block;
    return (unsigned)(b < 65536 * 16 ? (b ? b : 1) : 65536 * 16);
}

/* A grid-stride loop with 64-bit indices (arrays of more than 2^31 elements). */
#define SF_GRID_LOOP(i, n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

#endif
