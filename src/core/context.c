/* Contexts: the backend choice, the GPU precision and the device state they own. */
#include "sf_cuda.h"
#include "context.h"
#include "status.h"

#include <stdlib.h>
#include <string.h>

sf_status sf_context_create(sf_context **out, sf_backend backend, sf_precision precision, int device)
{
    if (!out) return sfi_fail(SF_ERR_INVALID, "sf_context_create: ctx is NULL");
    *out = NULL;
    if (backend != SF_BACKEND_CPU && backend != SF_BACKEND_CUDA && backend != SF_BACKEND_AUTO &&
        backend != SF_BACKEND_REFERENCE)
        return sfi_fail(SF_ERR_INVALID, "unknown backend %d", (int)backend);
    if (precision != SF_PRECISION_F64 && precision != SF_PRECISION_F32)
        return sfi_fail(SF_ERR_INVALID, "unknown precision %d", (int)precision);
    sf_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return sfi_fail(SF_ERR_NOMEM, "out of memory creating a context");
    ctx->precision = precision;
    ctx->device = device;
    ctx->backend = backend == SF_BACKEND_REFERENCE ? SF_BACKEND_REFERENCE : SF_BACKEND_CPU;
    ctx->ops = backend == SF_BACKEND_REFERENCE ? &sfi_backend_reference : &sfi_backend_cpu;
    if (backend == SF_BACKEND_AUTO && sfi_cuda_count(NULL) > 0) backend = SF_BACKEND_CUDA;
    if (backend == SF_BACKEND_CUDA) {
        sf_status st = sfi_cuda_state_create(&ctx->cuda, device);
        if (st != SF_OK) {
            free(ctx);
            return st;
        }
        ctx->backend = SF_BACKEND_CUDA;
        ctx->ops = &sfi_backend_cuda;
    }
    *out = ctx;
    return SF_OK;
}

void sf_context_destroy(sf_context *ctx)
{
    if (!ctx) return;
    sfi_cuda_state_destroy(ctx->cuda);
    free(ctx);
}

sf_backend sf_context_backend(const sf_context *ctx)
{
    if (!ctx) {
        sfi_fail(SF_ERR_INVALID, "sf_context_backend: ctx is NULL");
        return SF_BACKEND_AUTO; /* never a resolved backend */
    }
    return ctx->backend;
}

static const char *const backend_names[] = {"cpu", "cuda", "auto", "reference"};

sf_status sf_backend_parse(const char *name, sf_backend *backend)
{
    if (!name || !backend) return sfi_fail(SF_ERR_INVALID, "sf_backend_parse: a required argument is NULL");
    for (int b = 0; b < (int)(sizeof backend_names / sizeof backend_names[0]); b++)
        if (strcmp(name, backend_names[b]) == 0) {
            *backend = (sf_backend)b;
            return SF_OK;
        }
    return sfi_fail(SF_ERR_INVALID, "unknown backend '%s' (cpu, cuda, auto, reference)", name);
}

const char *sf_backend_name(sf_backend backend)
{
    return (unsigned)backend < sizeof backend_names / sizeof backend_names[0] ? backend_names[backend] : "?";
}
sf_precision sf_context_precision(const sf_context *ctx)
{
    if (!ctx) {
        sfi_fail(SF_ERR_INVALID, "sf_context_precision: ctx is NULL");
        return (sf_precision)-1;
    }
    return ctx->precision;
}

void sf_context_set_max_batch(sf_context *ctx, size_t max_batch)
{
    if (!ctx) {
        sfi_fail(SF_ERR_INVALID, "sf_context_set_max_batch: ctx is NULL");
        return;
    }
    ctx->max_batch = max_batch;
}

sf_status sf_context_set_share(sf_context *ctx, int rank, int ranks, sf_sum_fn sum, void *data)
{
    if (!ctx) return sfi_fail(SF_ERR_INVALID, "sf_context_set_share: ctx is NULL");
    if (ranks < 1 || rank < 0 || rank >= ranks)
        return sfi_fail(SF_ERR_INVALID, "sf_context_set_share: rank %d of %d ranks is not one of them", rank, ranks);
    int shared = ranks > 1 && sum;
    ctx->rank = shared ? rank : 0, ctx->ranks = shared ? ranks : 1;
    ctx->sum = shared ? sum : NULL, ctx->sum_data = shared ? data : NULL;
    return SF_OK;
}

void sfi_context_share(const sf_context *ctx, size_t n, size_t *first, size_t *count)
{
    size_t ranks = ctx->sum ? (size_t)ctx->ranks : 1, r = ctx->sum ? (size_t)ctx->rank : 0;
    size_t base = n / ranks, extra = n % ranks;
    *first = r * base + (r < extra ? r : extra);
    *count = base + (r < extra);
}

sf_status sfi_context_sum(const sf_context *ctx, double *values, int count)
{
    if (!ctx->sum) return SF_OK;
    return ctx->sum(ctx->sum_data, values, count) == 0
               ? SF_OK
               : sfi_fail(SF_ERR_IO, "the sum over the processes sharing the estimate failed (another process stopped)");
}

void sf_context_cancel(sf_context *ctx)
{
    if (ctx) atomic_store(&ctx->cancel, 1);
}

void sf_context_resume(sf_context *ctx)
{
    if (ctx) atomic_store(&ctx->cancel, 0);
}

int sf_context_cancelled(const sf_context *ctx) { return ctx ? atomic_load(&((sf_context *)ctx)->cancel) : 0; }

sf_status sfi_context_poll(const sf_context *ctx)
{
    return sf_context_cancelled(ctx) ? sfi_fail(SF_ERR_CANCELLED, "cancelled (sf_context_cancel)") : SF_OK;
}

sf_status sf_context_set_gemm_math(sf_context *ctx, sf_gemm_math math)
{
    sfi_error_clear();
    if (!ctx) return sfi_fail(SF_ERR_INVALID, "sf_context_set_gemm_math: ctx is NULL");
    if (math != SF_GEMM_EXACT && math != SF_GEMM_TF32 && math != SF_GEMM_3XTF32)
        return sfi_fail(SF_ERR_INVALID, "unknown GEMM math mode %d (exact, tf32, 3xtf32)", (int)math);
    ctx->gemm_math = math; /* float64 and the CPU paths ignore it */
    if (ctx->cuda) sfi_cuda_state_set_gemm_math(ctx->cuda, math);
    return SF_OK;
}

int sf_cuda_built(void) { return sfi_cuda_compiled(); }
int sf_cuda_device_count(const char **why) { return sfi_cuda_count(why); }
sf_status sf_cuda_device_describe(int device, char *buf, size_t len)
{
    if (!buf || len == 0) return sfi_fail(SF_ERR_INVALID, "sf_cuda_device_describe: buf is NULL or empty");
    if (device < 0) return sfi_fail(SF_ERR_INVALID, "sf_cuda_device_describe: device %d is negative", device);
    return sfi_cuda_describe(device, buf, len);
}
