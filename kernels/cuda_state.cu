/* Device discovery and the per-context state: device, streams, cuBLAS handle, workspaces. */
#include "cuda_state.h"

#include <stdio.h>
#include <stdlib.h>

extern "C" int sfi_cuda_compiled(void) { return 1; }

extern "C" int sfi_cuda_count(const char **why)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        /* no driver gives cudaErrorInsufficientDriver (35), no device cudaErrorNoDevice (100): both "none" */
        cudaGetLastError(); /* clear the error so later calls start clean */
        if (why) *why = cudaGetErrorString(e);
        return 0;
    }
    if (n == 0 && why) *why = "the CUDA runtime reports no device";
    return n;
}

extern "C" sf_status sfi_cuda_describe(int device, char *buf, size_t len)
{
    cudaDeviceProp prop;
    SF_CUDA_TRY(cudaGetDeviceProperties(&prop, device));
    snprintf(buf, len, "%s, %.1f GiB, compute capability %d.%d, %d SMs", prop.name,
             prop.totalGlobalMem / 1073741824.0, prop.major, prop.minor, prop.multiProcessorCount);
    return SF_OK;
}

extern "C" int sfi_cuda_current_device(void)
{
    int device = -1;
    return cudaGetDevice(&device) == cudaSuccess ? device : -1;
}

static sf_status create(sf_cuda_state *s, int device)
{
    const char *why = NULL;
    int n = sfi_cuda_count(&why);
    if (n == 0) return sfi_fail(SF_ERR_NO_CUDA, "no CUDA device: %s", why);
    if (device < 0 || device >= n)
        return sfi_fail(SF_ERR_NO_CUDA, "CUDA device %d does not exist (%d device%s found)", device, n, n == 1 ? "" : "s");
    s->device = device;
    SF_CUDA_TRY(cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking));
    SF_CUDA_TRY(cudaStreamCreateWithFlags(&s->copy_stream, cudaStreamNonBlocking));
    SF_CUBLAS_TRY(cublasCreate(&s->blas));
    SF_CUBLAS_TRY(cublasSetStream(s->blas, s->stream));
    SF_CUDA_TRY(cudaMalloc(&s->blas_workspace, SF_BLAS_WORKSPACE_BYTES));
    SF_CUBLAS_TRY(cublasSetWorkspace(s->blas, s->blas_workspace, SF_BLAS_WORKSPACE_BYTES));
    /* TF32 only where asked for: the GEMMs name their compute type (kernels/gemm.cuh) */
    SF_CUBLAS_TRY(cublasSetMathMode(s->blas, CUBLAS_DEFAULT_MATH));
    SF_CUDA_TRY(cudaMalloc((void **)&s->bad, 2 * sizeof(unsigned long long)));
    SF_CUDA_TRY(cudaMallocHost((void **)&s->bad_host, 2 * sizeof(unsigned long long)));
    return SF_OK;
}

extern "C" sf_status sfi_cuda_state_create(sf_cuda_state **out, int device)
{
    *out = NULL;
    sf_cuda_state *s = (sf_cuda_state *)calloc(1, sizeof *s);
    if (!s) return sfi_fail(SF_ERR_NOMEM, "out of memory creating the CUDA state");
    int caller = 0;
    sf_status st = SF_OK;
    if (cudaGetDevice(&caller) != cudaSuccess) { /* no driver or no device: say so by create() */
        cudaGetLastError();
        caller = -1;
    }
    if (device >= 0 && sfi_cuda_count(NULL) > device) {
        cudaError_t e = cudaSetDevice(device);
        if (e != cudaSuccess) st = sfi_fail(SF_ERR_CUDA, "cudaSetDevice(%d) failed: %s", device, cudaGetErrorString(e));
    }
    if (st == SF_OK) st = create(s, device);
    if (caller >= 0) cudaSetDevice(caller); /* leave the caller's device as it was */
    if (st != SF_OK) {
        sfi_cuda_state_destroy(s);
        return st;
    }
    *out = s;
    return SF_OK;
}

extern "C" void sfi_cuda_state_destroy(sf_cuda_state *s)
{
    if (!s) return;
    /* teardown: errors here cannot be reported to anyone and must not mask the caller's status */
    int caller = -1;
    if (cudaGetDevice(&caller) != cudaSuccess) caller = -1;
    if (s->stream) cudaSetDevice(s->device);
    if (s->workspace) cudaFree(s->workspace);
    if (s->pinned) cudaFreeHost(s->pinned);
    if (s->bad) cudaFree(s->bad);
    if (s->bad_host) cudaFreeHost(s->bad_host);
    if (s->blas) cublasDestroy(s->blas);
    if (s->blas_workspace) cudaFree(s->blas_workspace);
    if (s->stream) cudaStreamDestroy(s->stream);
    if (s->copy_stream) cudaStreamDestroy(s->copy_stream);
    if (caller >= 0) cudaSetDevice(caller);
    free(s);
}

extern "C" void sfi_cuda_state_set_gemm_math(sf_cuda_state *s, sf_gemm_math math) { s->math = math; }

sf_status sfi_cuda_reserve(void **buffer, size_t *capacity, size_t bytes, int *oom)
{
    if (oom) *oom = 0;
    if (*capacity >= bytes && *buffer) return SF_OK;
    void *old = *buffer;
    *buffer = NULL; /* never keep a pointer that may have been freed */
    *capacity = 0;
    if (old) SF_CUDA_TRY(cudaFree(old));
    cudaError_t e = cudaMalloc(buffer, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        *buffer = NULL;
        if (e == cudaErrorMemoryAllocation) {
            cudaGetLastError(); /* not sticky: clear it so the retry starts clean */
            if (oom) *oom = 1;
        }
        return sfi_fail(SF_ERR_CUDA, "cudaMalloc of %zu bytes failed: %s (%s:%d)", bytes, cudaGetErrorString(e), __FILE__,
                       __LINE__);
    }
    *capacity = bytes;
    return SF_OK;
}

sf_status sfi_cuda_reserve_pinned(void **buffer, size_t *capacity, size_t bytes)
{
    if (*capacity >= bytes && *buffer) return SF_OK;
    void *old = *buffer;
    *buffer = NULL;
    *capacity = 0;
    if (old) SF_CUDA_TRY(cudaFreeHost(old));
    cudaError_t e = cudaMallocHost(buffer, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        *buffer = NULL;
        cudaGetLastError();
        return sfi_fail(SF_ERR_NOMEM, "cudaMallocHost of %zu bytes of pinned staging failed: %s", bytes,
                       cudaGetErrorString(e));
    }
    *capacity = bytes;
    return SF_OK;
}

sf_status sfi_cuda_enter(sf_cuda_state *s, int *caller_device)
{
    SF_CUDA_TRY(cudaGetDevice(caller_device));
    SF_CUDA_TRY(cudaSetDevice(s->device));
    /* a recoverable error of an earlier call (say, a failed cudaMalloc) must not be reported by
     * this call's first launch check; sticky errors are not cleared by this */
    (void)cudaGetLastError();
    return SF_OK;
}

sf_status sfi_cuda_leave(sf_cuda_state *s, int caller_device, sf_status status)
{
    if (status != SF_OK) {
        cudaStreamSynchronize(s->stream);
        cudaStreamSynchronize(s->copy_stream);
    }
    cudaError_t e = cudaSetDevice(caller_device);
    if (status == SF_OK && e != cudaSuccess)
        return sfi_fail(SF_ERR_CUDA, "cudaSetDevice(%d) failed: %s (%s:%d)", caller_device, cudaGetErrorString(e),
                       __FILE__, __LINE__);
    return status;
}

sf_status sfi_cuda_time_ms(cudaStream_t stream, sf_cuda_timed_fn work, void *data, float *ms)
{
    cudaEvent_t ev[2] = {NULL, NULL};
    sf_status st = SF_OK;
    cudaError_t e = cudaEventCreate(&ev[0]);
    if (e == cudaSuccess) e = cudaEventCreate(&ev[1]);
    if (e == cudaSuccess) e = cudaEventRecord(ev[0], stream);
    if (e == cudaSuccess) st = work(data);
    if (e == cudaSuccess && st == SF_OK) e = cudaEventRecord(ev[1], stream);
    if (e == cudaSuccess && st == SF_OK) e = cudaEventSynchronize(ev[1]);
    if (e == cudaSuccess && st == SF_OK) e = cudaEventElapsedTime(ms, ev[0], ev[1]);
    if (e != cudaSuccess && st == SF_OK)
        st = sfi_fail(SF_ERR_CUDA, "timing with CUDA events failed: %s (%s:%d)", cudaGetErrorString(e), __FILE__, __LINE__);
    for (int i = 0; i < 2; i++)
        if (ev[i]) cudaEventDestroy(ev[i]);
    return st;
}
