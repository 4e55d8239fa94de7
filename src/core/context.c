/* Contexts: the backend choice, the GPU precision and the device state they own. */
#include "sf_cuda.h"
#include "context.h"
#include "status.h"

#include <stdlib.h>
#include <string.h>

sf_status sf_context_create(sf_context **out, sf_backend backend, sf_precision precision, int device)
{
    *out = NULL;
    if (!out) return sf_fail(SF_ERR_INVALID, "sf_context_create: ctx is NULL");
    if (backend != SF_BACKEND_CPU && backend != SF_BACKEND_CUDA && backend != SF_BACKEND_AUTO &&
        backend != SF_BACKEND_REFERENCE)
        return sf_fail(SF_ERR_INVALID, "unknown backend %d", (int)backend);
    if (precision != SF_PRECISION_F64 && precision != SF_PRECISION_F32)
        return sf_fail(SF_ERR_INVALID, "unknown precision %d", (int)precision);
    sf_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return sf_fail(SF_ERR_NOMEM, "out of memory creating a context");
    ctx->precision = precision;
    ctx->device = device;
    ctx->backend = backend == SF_BACKEND_REFERENCE ? SF_BACKEND_REFERENCE : SF_BACKEND_CPU;
    ctx->ops = &sf_backend_reference;
    if (backend == SF_BACKEND_AUTO && sf_cuda_count(NULL) > 0) backend = SF_BACKEND_CUDA;
    if (backend == SF_BACKEND_CUDA) {
        sf_status st = sf_cuda_state_create(&ctx->cuda, device);
        if (st != SF_OK) {
            free(ctx);
            return st;
        }
        ctx->backend = SF_BACKEND_CUDA;
        ctx->ops = &sf_backend_cuda;
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

static const char *const backend_names[] = {"cpu", "cuda", "auto", "reference"};

sf_status sf_backend_parse(const char *name, sf_backend *backend)
{
    if (!name || !backend) return sf_fail(SF_ERR_INVALID, "sf_backend_parse: a required argument is NULL");
    for (int b = 0; b < (int)(sizeof backend_names / sizeof backend_names[0]); b++)
        if (strcmp(name, backend_names[b]) == 0) {
            *backend = (sf_backend)b;
            return SF_OK;
        }
    return sf_fail(SF_ERR_INVALID, "unknown backend '%s' (cpu, cuda, auto, reference)", name);
}

const char *sf_backend_name(sf_backend backend)
{
    return (unsigned)backend < sizeof backend_names / sizeof backend_names[0] ? backend_names[backend] : "?";
}
sf_precision sf_context_precision(const sf_context *ctx) { return ctx->precision; }
void sf_context_set_max_batch(sf_context *ctx, size_t max_batch) { ctx->max_batch = max_batch; }

sf_status sf_context_set_gemm_math(sf_context *ctx, sf_gemm_math math)
{
    sf_error_clear();
    if (!ctx) return sf_fail(SF_ERR_INVALID, "sf_context_set_gemm_math: ctx is NULL");
    if (math != SF_GEMM_EXACT && math != SF_GEMM_TF32 && math != SF_GEMM_3XTF32)
        return sf_fail(SF_ERR_INVALID, "unknown GEMM math mode %d (exact, tf32, 3xtf32)", (int)math);
    ctx->gemm_math = math; /* float64 and the CPU paths ignore it */
    if (ctx->cuda) sf_cuda_state_set_gemm_math(ctx->cuda, math);
    return SF_OK;
}

int sf_cuda_built(void) { return sf_cuda_compiled(); }
int sf_cuda_device_count(const char **why) { return sf_cuda_count(why); }
sf_status sf_cuda_device_describe(int device, char *buf, size_t len) { return sf_cuda_describe(device, buf, len); }
