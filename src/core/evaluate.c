/* sf_evaluate: validate the request, prepare the field in each frame it needs, hand each request
 * to the backend, and assemble the Burgers residuals (SPEC.md C) from the backend's outputs. */
#include "sf_cuda.h"
#include "context.h"
#include "mixture.h"
#include "request.h"
#include "score_cpu.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Particles per chunk when the residuals need temporaries (bounds their memory). */
#define SF_RESIDUAL_CHUNK ((size_t)1 << 16)

sf_status sf_particles_check(const double *x, size_t n, int d)
{
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++)
            if (!isfinite(x[i * (size_t)d + j]))
                return sf_fail(SF_ERR_INVALID, "particle %zu, coordinate %d is not finite (%g)", i, j,
                               x[i * (size_t)d + j]);
    return SF_OK;
}

static sf_status run_backend(sf_context *ctx, const sf_field *f, const double *x, size_t n, const sf_request *rq)
{
    if (ctx->backend == SF_BACKEND_CUDA) return sf_cuda_score(ctx->cuda, f, ctx->precision, ctx->max_batch, x, n, rq);
    return sf_score_cpu(f, x, n, rq);
}

static double norm(const double *v, int d)
{
    double s = 0;
    for (int j = 0; j < d; j++) s += v[j] * v[j];
    return sqrt(s);
}

/* The data-frame outputs in one request. */
static sf_status evaluate_data_frame(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x,
                                     size_t n, const sf_outputs *out)
{
    sf_request rq = {out->score, out->logp, out->resp, out->div, out->denoise, out->lap, out->hvp,
                     out->hvp_dir, 0, 0, out->hessian, out->dt_score, out->dt_logp};
    if (!rq.score && !rq.logp && !rq.resp && !rq.div && !rq.denoise && !rq.lap && !rq.hvp && !rq.hessian &&
        !sf_request_needs_rates(&rq) && !out->hvp_score)
        return SF_OK;
    if (rq.hvp && !rq.hvp_dir) return sf_fail(SF_ERR_INVALID, "hvp output requested without hvp_dir directions");
    sf_field f;
    sf_status st = sf_field_build(&f, mix, time);
    if (st == SF_OK) st = run_backend(ctx, &f, x, n, &rq);
    if (st == SF_OK && out->hvp_score) { /* a second direction: H s, built from s itself */
        sf_request hs = {.hvp = out->hvp_score, .hvp_s = 1.0, .hvp_x = 0.0};
        st = run_backend(ctx, &f, x, n, &hs);
    }
    sf_field_free(&f);
    return st;
}

/* Heat frame: y = x/alpha, q(y, tau) with u = grad_y log q; d_tau u, d_tau log q and the residual
 * d_tau u - Lap u / 2 - H u, chunk by chunk. */
static sf_status evaluate_heat_frame(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x,
                                     size_t n, const sf_outputs *out)
{
    int want_residual = out->residual || out->residual_scale;
    if (!out->dtau_score && !out->dtau_logp && !want_residual) return SF_OK;
    int d = mix->dim;
    size_t chunk = n < SF_RESIDUAL_CHUNK ? n : SF_RESIDUAL_CHUNK, cd = chunk * (size_t)d;
    sf_field f;
    sf_status st = sf_field_build_frame(&f, mix, 1.0, time->tau, 1, 0.0, 1.0);
    if (st != SF_OK) return st;
    double *y = malloc(cd * sizeof(double) + 1), *u = malloc(cd * sizeof(double) + 1);
    double *dtau = malloc(cd * sizeof(double) + 1), *lap = NULL, *hu = NULL;
    if (want_residual) lap = malloc(cd * sizeof(double) + 1), hu = malloc(cd * sizeof(double) + 1);
    if (!y || !u || !dtau || (want_residual && (!lap || !hu)))
        st = sf_fail(SF_ERR_NOMEM, "out of memory for the heat-frame outputs of %zu particles", chunk);
    for (size_t i0 = 0; st == SF_OK && i0 < n; i0 += chunk) {
        size_t m = n - i0 < chunk ? n - i0 : chunk;
        for (size_t j = 0; j < m * (size_t)d; j++) y[j] = x[i0 * d + j] / time->alpha;
        sf_request rq = {.score = u, .dt_score = dtau, .dt_logp = out->dtau_logp ? out->dtau_logp + i0 : NULL,
                         .lap = lap, .hvp = hu, .hvp_s = 1.0, .hvp_x = 0.0};
        if (!want_residual) rq.hvp = NULL;
        if ((st = run_backend(ctx, &f, y, m, &rq)) != SF_OK) break;
        for (size_t i = 0; i < m; i++) {
            const double *a = dtau + i * d;
            if (out->dtau_score) memcpy(out->dtau_score + (i0 + i) * d, a, (size_t)d * sizeof(double));
            if (!want_residual) continue;
            const double *l = lap + i * d, *h = hu + i * d;
            if (out->residual)
                for (int j = 0; j < d; j++) out->residual[(i0 + i) * d + j] = a[j] - 0.5 * l[j] - h[j];
            if (out->residual_scale)
                out->residual_scale[i0 + i] = fmax(norm(a, d), fmax(0.5 * norm(l, d), norm(h, d)));
        }
    }
    free(y), free(u), free(dtau), free(lap), free(hu);
    sf_field_free(&f);
    return st;
}

/* VP form in the data frame: R_t = d_t s - g^2 Lap s / 2 - H (g^2 s - f x) + f s (SPEC.md C). */
static sf_status evaluate_vp_residual(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x,
                                      size_t n, const sf_outputs *out)
{
    if (!out->residual_t && !out->residual_t_scale) return SF_OK;
    if (!time->has_time_derivatives)
        return sf_fail(SF_ERR_INVALID, "the VP-form residual needs a schedule (a direct alpha, sigma pair has no d/dt)");
    int d = mix->dim;
    size_t chunk = n < SF_RESIDUAL_CHUNK ? n : SF_RESIDUAL_CHUNK, cd = chunk * (size_t)d;
    sf_field f;
    sf_status st = sf_field_build(&f, mix, time);
    if (st != SF_OK) return st;
    double *s = malloc(cd * sizeof(double) + 1), *dts = malloc(cd * sizeof(double) + 1);
    double *lap = malloc(cd * sizeof(double) + 1), *hw = malloc(cd * sizeof(double) + 1);
    if (!s || !dts || !lap || !hw) st = sf_fail(SF_ERR_NOMEM, "out of memory for the VP residual of %zu particles", chunk);
    double g2 = time->g2, fc = time->f;
    for (size_t i0 = 0; st == SF_OK && i0 < n; i0 += chunk) {
        size_t m = n - i0 < chunk ? n - i0 : chunk;
        sf_request rq = {.score = s, .dt_score = dts, .lap = lap, .hvp = hw, .hvp_s = g2, .hvp_x = -fc};
        if ((st = run_backend(ctx, &f, x + i0 * d, m, &rq)) != SF_OK) break;
        for (size_t i = 0; i < m; i++) {
            const double *a = dts + i * d, *l = lap + i * d, *h = hw + i * d, *si = s + i * d;
            if (out->residual_t)
                for (int j = 0; j < d; j++) out->residual_t[(i0 + i) * d + j] = a[j] - 0.5 * g2 * l[j] - h[j] + fc * si[j];
            if (out->residual_t_scale)
                out->residual_t_scale[i0 + i] =
                    fmax(fmax(norm(a, d), 0.5 * g2 * norm(l, d)), fmax(norm(h, d), fabs(fc) * norm(si, d)));
        }
    }
    free(s), free(dts), free(lap), free(hw);
    sf_field_free(&f);
    return st;
}

sf_status sf_evaluate(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x, size_t n,
                      const sf_outputs *out)
{
    sf_error_clear();
    if (!ctx || !mix || !time || !out || (n > 0 && !x))
        return sf_fail(SF_ERR_INVALID, "sf_evaluate: a required argument is NULL");
    if ((out->dt_score || out->dt_logp) && !time->has_time_derivatives)
        return sf_fail(SF_ERR_INVALID, "d/dt outputs need a schedule (a direct alpha, sigma pair has no time axis): "
                                       "use the heat-time outputs instead");
    sf_status st = sf_particles_check(x, n, mix->dim);
    if (st == SF_OK && out->hvp_dir) st = sf_particles_check(out->hvp_dir, n, mix->dim);
    if (st == SF_OK) st = evaluate_data_frame(ctx, mix, time, x, n, out);
    if (st == SF_OK) st = evaluate_heat_frame(ctx, mix, time, x, n, out);
    if (st == SF_OK) st = evaluate_vp_residual(ctx, mix, time, x, n, out);
    return st;
}
