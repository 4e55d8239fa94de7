/* The CUDA backend as a backend (backend.h): the prepared state is the context, whose device
 * state, precision and batch cap each evaluation uses (kernels/score.cu uploads the field). */
#include "backend.h"
#include "context.h"
#include "sf_cuda.h"

static sf_status cuda_prepare(struct sf_context *ctx, const sf_field *field, void **state)
{
    (void)field;
    *state = ctx;
    return SF_OK;
}

static sf_status cuda_update(void *state, const sf_field *field)
{
    (void)state, (void)field;
    return SF_OK;
}

static sf_status cuda_evaluate(void *state, const sf_field *field, const double *x, size_t n, const sf_request *rq)
{
    struct sf_context *ctx = state;
    return sf_cuda_score(ctx->cuda, field, ctx->precision, ctx->max_batch, x, n, rq);
}

static void cuda_release(void *state) { (void)state; }

const sf_backend_ops sf_backend_cuda = {"cuda", cuda_prepare, cuda_update, cuda_evaluate, cuda_release};
