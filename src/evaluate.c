/* sf_evaluate: validate the request, prepare the field at the time, hand it to the backend. */
#include "../kernels/sf_cuda.h"
#include "context.h"
#include "mixture.h"
#include "score_cpu.h"
#include "status.h"

#include <math.h>

sf_status sf_particles_check(const double *x, size_t n, int d)
{
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++)
            if (!isfinite(x[i * (size_t)d + j]))
                return sf_fail(SF_ERR_INVALID, "particle %zu, coordinate %d is not finite (%g)", i, j,
                               x[i * (size_t)d + j]);
    return SF_OK;
}

sf_status sf_evaluate(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x,
                      size_t n, const sf_outputs *out)
{
    sf_error_clear();
    if (!ctx || !mix || !time || !out || (n > 0 && !x))
        return sf_fail(SF_ERR_INVALID, "sf_evaluate: a required argument is NULL");
    if (!out->score && !out->logp && !out->resp && !out->div && !out->denoise) return SF_OK;
    sf_status st = sf_particles_check(x, n, mix->dim);
    if (st != SF_OK) return st;
    sf_field field;
    st = sf_field_build(&field, mix, time);
    if (st != SF_OK) return st;
    if (ctx->backend == SF_BACKEND_CUDA)
        st = sf_cuda_score(ctx->cuda, &field, ctx->precision, ctx->max_batch, x, n, out);
    else
        st = sf_score_cpu(&field, x, n, out);
    sf_field_free(&field);
    return st;
}
