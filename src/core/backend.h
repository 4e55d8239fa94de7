/* Internal: what a score backend implements. A plan (plan.c) holds a mixture's field at one time
 * in each frame it needs; for each such field the backend keeps its own prepared copy (nothing on
 * the reference path, packed arrays for the fast CPU path, device memory on CUDA), made once per
 * plan and refreshed when the plan's time changes. Backends see only sf_field and sf_request. */
#ifndef SF_BACKEND_H
#define SF_BACKEND_H

#include "request.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sf_context;

typedef struct {
    const char *name; /* "reference", "cpu", "cuda" */
    /* Prepares the backend's copy of `field` for the context (*state may stay NULL). */
    sf_status (*prepare)(struct sf_context *ctx, const sf_field *field, void **state);
    /* The field's time-dependent arrays changed (same mixture, same sizes). */
    sf_status (*update)(void *state, const sf_field *field);
    /* The requested outputs at n particles x (host, n x d, float64). */
    sf_status (*evaluate)(void *state, const sf_field *field, const double *x, size_t n, const sf_request *rq);
    void (*release)(void *state);
} sf_backend_ops;

/* The reference CPU path (src/cpu/score_cpu.c), the fast CPU path (src/cpu/score_fast.c) and the
 * CUDA path (kernels/, through sf_cuda.h). */
extern const sf_backend_ops sfi_backend_reference;
extern const sf_backend_ops sfi_backend_cpu;
extern const sf_backend_ops sfi_backend_cuda;

/* The CUDA backend only: its evaluate checks the particles on the device (plans skip the host
 * pass), and it also evaluates on device arrays (in its precision) on a CUDA stream. */
sf_status sfi_backend_cuda_evaluate_device(void *state, const sf_field *field, const void *x, size_t n,
                                          const sf_device_request *rq, void *stream);

#ifdef __cplusplus
}
#endif
#endif
