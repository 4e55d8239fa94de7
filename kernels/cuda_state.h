/* Internal to kernels/: the per-context device state behind sf_cuda_state. */
#ifndef SF_CUDA_STATE_H
#define SF_CUDA_STATE_H

#include "cuda_check.h"
#include "sf_cuda.h"

struct sf_cuda_state {
    int device;
    cudaStream_t stream;
    cublasHandle_t blas;
    void *workspace; /* particle-batch buffers, grown on demand and reused across calls */
    size_t workspace_bytes;
    void *field;     /* the packed field of the current evaluation (src/field_pack.h) */
    size_t field_bytes;
    void *class_field; /* a second field alive at the same time (the guidance class) */
    size_t class_field_bytes;
    void *particles; /* device-resident sampler state: x, eps of every stage, the class score */
    size_t particles_bytes;
};

/* Makes sure state->workspace (or ->field) holds at least `bytes`, reallocating if needed. */
sf_status sf_cuda_reserve(void **buffer, size_t *capacity, size_t bytes);

/* Every entry point runs on the state's device and leaves the caller's current device as it was:
 * sf_cuda_enter makes the state's device current and remembers the caller's; sf_cuda_leave lets
 * the stream drain after a failure (its buffers are reused next time), restores the device and
 * returns `status` (or the restore's error when status is SF_OK). */
sf_status sf_cuda_enter(sf_cuda_state *state, int *caller_device);
sf_status sf_cuda_leave(sf_cuda_state *state, int caller_device, sf_status status);

#endif
