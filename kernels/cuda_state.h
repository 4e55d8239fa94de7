/* Internal to kernels/: the per-context device state behind sf_cuda_state. */
#ifndef SF_CUDA_STATE_H
#define SF_CUDA_STATE_H

#include "cuda_check.h"
#include "sf_cuda.h"

/* cuBLAS's workspace, owned by the state so that a captured CUDA graph never allocates
 * (cublasSetWorkspace; 32 MiB is NVIDIA's recommendation for Hopper). */
#define SF_BLAS_WORKSPACE_BYTES ((size_t)32 << 20)

struct sf_cuda_state {
    int device;
    cudaStream_t stream;      /* kernels and GEMMs */
    cudaStream_t copy_stream; /* host <-> device copies of the host-array path, overlapping compute */
    cublasHandle_t blas;
    void *blas_workspace;
    sf_gemm_math math;        /* GEMM mode for float32 screening (sf_context_set_gemm_math) */
    void *workspace;          /* per-call scratch (batches, tiles), grown on demand, freed and regrown */
    size_t workspace_bytes;
    void *pinned;             /* pinned host staging of the host-array path, grown on demand */
    size_t pinned_bytes;
    unsigned long long *bad;  /* device [2]: the first bad input element of the current batch per slot */
    unsigned long long *bad_host; /* pinned [2]: its copy */
};

/* Makes sure *buffer (device memory) holds at least `bytes`: frees the old buffer first, so that
 * its memory counts for the new one. *oom (may be NULL) is set when cudaMalloc ran out of memory;
 * that error is then cleared, so the caller may retry smaller. */
sf_status sfi_cuda_reserve(void **buffer, size_t *capacity, size_t bytes, int *oom);
/* The same for pinned host memory (cudaMallocHost). */
sf_status sfi_cuda_reserve_pinned(void **buffer, size_t *capacity, size_t bytes);

/* Every entry point runs on the state's device and leaves the caller's current device as it was:
 * sfi_cuda_enter makes the state's device current and remembers the caller's, and clears a
 * recoverable error left by an earlier call; sfi_cuda_leave lets the streams drain after a failure
 * (their buffers are reused next time), restores the device and returns `status` (or the
 * restore's error when status is SF_OK). */
sf_status sfi_cuda_enter(sf_cuda_state *state, int *caller_device);
sf_status sfi_cuda_leave(sf_cuda_state *state, int caller_device, sf_status status);

/* Elapsed milliseconds between two events recorded around work on a stream; the events are
 * created and destroyed here on every path (no leak on failure). */
typedef sf_status (*sf_cuda_timed_fn)(void *data);
sf_status sfi_cuda_time_ms(cudaStream_t stream, sf_cuda_timed_fn work, void *data, float *ms);

#endif
