/* Internal layout of sf_context. */
#ifndef SF_CONTEXT_H
#define SF_CONTEXT_H

#include "backend.h"
#include "scorefield.h"

#include <stdatomic.h>

struct sf_cuda_state;

struct sf_context {
    sf_backend backend;     /* resolved: CPU, REFERENCE or CUDA */
    const sf_backend_ops *ops; /* the backend's implementation */
    sf_precision precision; /* GPU arithmetic; the CPU path is always float64 */
    int device;
    size_t max_batch;       /* 0: from free device memory */
    sf_gemm_math gemm_math; /* float32 screening GEMMs on the GPU */
    struct sf_cuda_state *cuda;
    atomic_int cancel;      /* set by sf_context_cancel (any thread, signal handlers) */
    int rank, ranks;        /* sf_context_set_share: this process's part of the Monte Carlo draws */
    sf_sum_fn sum;          /* adds over the processes of the share; NULL: estimates are local */
    void *sum_data;
};

/* The draws of n this process takes: [*first, *first + *count) (all of them without a share). */
void sfi_context_share(const sf_context *ctx, size_t n, size_t *first, size_t *count);
/* Adds values over the share's processes (nothing without a share); SF_ERR_IO when that failed. */
sf_status sfi_context_sum(const sf_context *ctx, double *values, int count);

/* SF_ERR_CANCELLED with its message once sf_context_cancel has been called on ctx, else SF_OK:
 * polled between particle chunks and between steps. */
sf_status sfi_context_poll(const sf_context *ctx);

#endif
