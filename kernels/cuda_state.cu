/* Device discovery and the per-context state: device, stream, cuBLAS handle, workspaces. */
#include "cuda_state.h"

#include <stdio.h>
#include <stdlib.h>

extern "C" int sf_cuda_compiled(void) { return 1; }

extern "C" int sf_cuda_count(const char **why)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        /* no driver gives cudaErrorInsufficientDriver (35), no device cudaErrorNoDevice (100): both "none" */
        cudaGetLastError(); /* clear the sticky-free error so later calls start clean */
        if (why) *why = cudaGetErrorString(e);
        return 0;
    }
    if (n == 0 && why) *why = "the CUDA runtime reports no device";
    return n;
}

extern "C" sf_status sf_cuda_describe(int device, char *buf, size_t len)
{
    cudaDeviceProp prop;
    SF_CUDA_TRY(cudaGetDeviceProperties(&prop, device));
    snprintf(buf, len, "%s, %.1f GiB, compute capability %d.%d, %d SMs", prop.name,
             prop.totalGlobalMem / 1073741824.0, prop.major, prop.minor, prop.multiProcessorCount);
    return SF_OK;
}

static sf_status create(sf_cuda_state *s, int device)
{
    const char *why = NULL;
    int n = sf_cuda_count(&why);
    if (n == 0) return sf_fail(SF_ERR_NO_CUDA, "no CUDA device: %s", why);
    if (device < 0 || device >= n)
        return sf_fail(SF_ERR_NO_CUDA, "CUDA device %d does not exist (%d device%s found)", device, n, n == 1 ? "" : "s");
    s->device = device;
    SF_CUDA_TRY(cudaSetDevice(device));
    SF_CUDA_TRY(cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking));
    SF_CUBLAS_TRY(cublasCreate(&s->blas));
    SF_CUBLAS_TRY(cublasSetStream(s->blas, s->stream));
    /* exact float32/float64 GEMMs: no TF32 unless asked for (DESIGN.md: tensor-core modes are opt-in) */
    SF_CUBLAS_TRY(cublasSetMathMode(s->blas, CUBLAS_PEDANTIC_MATH));
    return SF_OK;
}

extern "C" sf_status sf_cuda_state_create(sf_cuda_state **out, int device)
{
    *out = NULL;
    sf_cuda_state *s = (sf_cuda_state *)calloc(1, sizeof *s);
    if (!s) return sf_fail(SF_ERR_NOMEM, "out of memory creating the CUDA state");
    sf_status st = create(s, device);
    if (st != SF_OK) {
        sf_cuda_state_destroy(s);
        return st;
    }
    *out = s;
    return SF_OK;
}

extern "C" void sf_cuda_state_destroy(sf_cuda_state *s)
{
    if (!s) return;
    /* teardown: errors here cannot be reported to anyone and must not mask the caller's status */
    if (s->stream) cudaSetDevice(s->device);
    if (s->workspace) cudaFree(s->workspace);
    if (s->field) cudaFree(s->field);
    if (s->class_field) cudaFree(s->class_field);
    if (s->particles) cudaFree(s->particles);
    if (s->blas) cublasDestroy(s->blas);
    if (s->stream) cudaStreamDestroy(s->stream);
    free(s);
}

sf_status sf_cuda_reserve(void **buffer, size_t *capacity, size_t bytes)
{
    if (*capacity >= bytes && *buffer) return SF_OK;
    void *old = *buffer;
    *buffer = NULL; /* never keep a pointer that may have been freed */
    *capacity = 0;
    if (old) SF_CUDA_TRY(cudaFree(old));
    SF_CUDA_TRY(cudaMalloc(buffer, bytes));
    *capacity = bytes;
    return SF_OK;
}

sf_status sf_cuda_enter(sf_cuda_state *s, int *caller_device)
{
    SF_CUDA_TRY(cudaGetDevice(caller_device));
    SF_CUDA_TRY(cudaSetDevice(s->device));
    return SF_OK;
}

sf_status sf_cuda_leave(sf_cuda_state *s, int caller_device, sf_status status)
{
    if (status != SF_OK) cudaStreamSynchronize(s->stream);
    cudaError_t e = cudaSetDevice(caller_device);
    if (status == SF_OK && e != cudaSuccess)
        return sf_fail(SF_ERR_CUDA, "cudaSetDevice(%d) failed: %s (%s:%d)", caller_device, cudaGetErrorString(e),
                       __FILE__, __LINE__);
    return status;
}
