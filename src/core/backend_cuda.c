/* The CUDA backend (backend.h): a plan frame's prepared state is a device plan (kernels/plan.cu):
 * the mixture uploaded once, each time's arrays computed on the device by update, and every
 * evaluation batched through pinned staging (host arrays) or run on the caller's device arrays. */
#include "backend.h"
#include "context.h"
#include "sf_cuda.h"
#include "status.h"

#include <stdlib.h>

typedef struct {
    sf_context *ctx;
    sf_cuda_plan *plan;
} cuda_frame;

static sf_status cuda_update(void *state, const sf_field *field)
{
    cuda_frame *c = state;
    return sfi_cuda_plan_set_frame(c->plan, field->alpha, field->sigma2, field->has_rates, field->dalpha, field->dsigma2);
}

static void cuda_release(void *state)
{
    cuda_frame *c = state;
    if (!c) return;
    sfi_cuda_plan_destroy(c->plan);
    free(c);
}

static sf_status cuda_prepare(struct sf_context *ctx, const sf_field *field, void **state)
{
    *state = NULL;
    cuda_frame *c = calloc(1, sizeof *c);
    if (!c) return sfi_fail(SF_ERR_NOMEM, "out of memory preparing a CUDA plan");
    c->ctx = ctx;
    sf_status st = sfi_cuda_plan_create(&c->plan, ctx->cuda, field, ctx->precision);
    if (st == SF_OK) st = cuda_update(c, field);
    if (st != SF_OK) {
        cuda_release(c);
        return st;
    }
    *state = c;
    return SF_OK;
}

static sf_status needs_rates(const sf_field *field, int wanted)
{
    if (wanted && !field->has_rates)
        return sfi_fail(SF_ERR_INVALID, "time derivatives need a schedule (a direct alpha, sigma pair has none)");
    return SF_OK;
}

static sf_status cuda_evaluate(void *state, const sf_field *field, const double *x, size_t n, const sf_request *rq)
{
    cuda_frame *c = state;
    sf_status st = needs_rates(field, sf_request_needs_rates(rq));
    return st == SF_OK ? sfi_cuda_plan_evaluate(c->plan, c->ctx->max_batch, x, n, rq) : st;
}

sf_status sfi_backend_cuda_evaluate_device(void *state, const sf_field *field, const void *x, size_t n,
                                      const sf_device_request *rq, void *stream)
{
    cuda_frame *c = state;
    sf_status st = needs_rates(field, rq->dt_score || rq->dt_logp);
    return st == SF_OK ? sfi_cuda_plan_evaluate_device(c->plan, x, n, rq, stream) : st;
}

const sf_backend_ops sfi_backend_cuda = {"cuda", cuda_prepare, cuda_update, cuda_evaluate, cuda_release};
