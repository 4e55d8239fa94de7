/* Sizing particle batches on the device (issue 11 defect 1). The budget counts only memory this
 * evaluation can use: what the device has free now plus the buffers the path itself frees before
 * it allocates (its own workspace), never buffers something else still holds (a sampler's
 * particles, a trajectory's state, another plan's field). Free memory moves under us (other
 * contexts, fragmentation), so an allocation may still fail: then the batch is halved and the
 * allocation retried, down to one particle. Plain C (host), shared with the CPU tests. */
#ifndef SF_BATCH_H
#define SF_BATCH_H

#include "status.h"

#include <stddef.h>

typedef struct {
    size_t free_bytes;     /* free device memory now */
    size_t reusable_bytes; /* buffers this path frees before allocating */
    size_t fixed_bytes;    /* bytes needed whatever the batch (per-call buffers) */
    size_t per_particle;   /* bytes per particle of the batch */
    size_t n;              /* particles to evaluate */
    size_t max_batch;      /* the caller's cap (0: none) */
    size_t hard_cap;       /* the largest batch the kernels and cuBLAS's int sizes allow */
} sf_batch_budget;

/* The fraction of the budget a batch may take: the rest is headroom for cuBLAS, cuFFT and the
 * allocator's rounding. */
#define SF_BATCH_FRACTION 0.8

/* The largest batch the budget allows (at most n, max_batch and hard_cap); 0 if not one particle. */
static inline size_t sf_batch_size(const sf_batch_budget *b)
{
    double usable = SF_BATCH_FRACTION * ((double)b->free_bytes + (double)b->reusable_bytes) - (double)b->fixed_bytes;
    if (!(usable >= (double)b->per_particle) || b->per_particle == 0) return b->per_particle == 0 ? b->n : 0;
    double fit = usable / (double)b->per_particle;
    size_t B = fit > 1e18 ? (size_t)1e18 : (size_t)fit;
    if (B > b->n) B = b->n;
    if (b->max_batch && B > b->max_batch) B = b->max_batch;
    if (B > b->hard_cap) B = b->hard_cap;
    return B;
}

/* Tries allocate(data, B) from B = first, halving after each failure the allocator calls an
 * out-of-memory failure (*oom set), until it succeeds or B = 1 fails; any other failure is
 * returned at once. On success *batch is the B that fitted. */
typedef sf_status (*sf_batch_allocate_fn)(void *data, size_t batch, int *oom);

static inline sf_status sf_batch_reserve(size_t first, sf_batch_allocate_fn allocate, void *data, size_t *batch)
{
    sf_status st = SF_ERR_CUDA;
    for (size_t B = first; B >= 1; B /= 2) {
        int oom = 0;
        st = allocate(data, B, &oom);
        if (st == SF_OK) {
            *batch = B;
            return SF_OK;
        }
        if (!oom) return st;
    }
    return st;
}

#endif
