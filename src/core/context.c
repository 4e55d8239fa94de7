/* Contexts: the backend choice, the GPU precision and the device state they own. */
#include "sf_cuda.h"
#include "context.h"
#include "status.h"

#include <stdlib.h>

sf_status sf_context_create(sf_context **out, sf_backend backend, sf_precision precision, int device)
{
    *out = NULL;
    if (backend != SF_BACKEND_CPU && backend != SF_BACKEND_CUDA && backend != SF_BACKEND_AUTO)
        return sf_fail(SF_ERR_INVALID, "unknown backend %d", (int)backend);
    if (precision != SF_PRECISION_F64 && precision != SF_PRECISION_F32)
        return sf_fail(SF_ERR_INVALID, "unknown precision %d", (int)precision);
    sf_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return sf_fail(SF_ERR_NOMEM, "out of memory creating a context");
    ctx->precision = precision;
    ctx->device = device;
    ctx->backend = SF_BACKEND_CPU;
    if (backend == SF_BACKEND_AUTO && sf_cuda_count(NULL) > 0) backend = SF_BACKEND_CUDA;
    if (backend == SF_BACKEND_CUDA) {
        sf_status st = sf_cuda_state_create(&ctx->cuda, device);
        if (st != SF_OK) {
            free(ctx);
            return st;
        }
        ctx->backend = SF_BACKEND_CUDA;
    }
    *out = ctx;
    return SF_OK;
}

void sf_context_destroy(sf_context *ctx)
{
    if (!ctx) return;
    sf_cuda_state_destroy(ctx->cuda);
    free(ctx);
}

sf_backend sf_context_backend(const sf_context *ctx) { return ctx->backend; }
sf_precision sf_context_precision(const sf_context *ctx) { return ctx->precision; }
void sf_context_set_max_batch(sf_context *ctx, size_t max_batch) { ctx->max_batch = max_batch; }

int sf_cuda_built(void) { return sf_cuda_compiled(); }
int sf_cuda_device_count(const char **why) { return sf_cuda_count(why); }
sf_status sf_cuda_device_describe(int device, char *buf, size_t len) { return sf_cuda_describe(device, buf, len); }
