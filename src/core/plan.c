/* Plans (sf_plan_*) and the one-shot sf_evaluate: a plan keeps the mixture's field at its time in
 * each frame it needs, prepared once by the backend; evaluation validates the request, hands each
 * frame's request to the backend, and assembles the Burgers residuals (docs/burgers.md) from the
 * backend's outputs. */
#include "abi.h"
#include "context.h"
#include "mixture.h"
#include "request.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Particles per chunk when the residuals need temporaries (bounds their memory). */
#define SF_RESIDUAL_CHUNK ((size_t)1 << 16)
/* Particles per chunk between two checks for cancellation. */
#define SF_CANCEL_CHUNK ((size_t)1 << 18)
/* Values per chunk when float32 particles are widened to float64 (32 MiB). */
#define SF_CONVERT_VALUES ((size_t)1 << 22)

/* 1 if every value is finite: x * 0 is 0 for finite x and NaN otherwise, summed in partial sums
 * that vectorise (the check runs on every evaluation, over every coordinate). */
static int all_finite(const double *x, size_t count)
{
    double part[8] = {0};
    size_t e = 0;
    for (; e + 8 <= count; e += 8)
        for (int j = 0; j < 8; j++) part[j] += x[e + j] * 0.0;
    for (; e < count; e++) part[0] += x[e] * 0.0;
    double sum = 0;
    for (int j = 0; j < 8; j++) sum += part[j];
    return sum == 0.0;
}

sf_status sf_particles_check(const double *x, size_t n, int d)
{
    if (n > 0 && !x) return sfi_fail(SF_ERR_INVALID, "sf_particles_check: x is NULL");
    if (d < 1) return sfi_fail(SF_ERR_INVALID, "sf_particles_check: dimension %d must be >= 1", d);
    sf_status st = sfi_check_doubles(__func__, n, (size_t)d);
    if (st != SF_OK) return st;
    if (all_finite(x, n * (size_t)d)) return SF_OK;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++)
            if (!isfinite(x[i * (size_t)d + j]))
                return sfi_fail(SF_ERR_INVALID, "particle %zu, coordinate %d is not finite (%g)", i, j,
                               x[i * (size_t)d + j]);
    return SF_OK;
}

/* One frame of a plan: the field, the backend's prepared copy, and whether it matches the time. */
typedef struct {
    sf_field field;
    void *state;
    int prepared; /* field allocated and backend state made */
    int current;  /* field set for the plan's time */
} plan_frame;

struct sf_plan {
    sf_context *ctx;
    const sf_mixture *mix;
    sf_time time;
    int has_time;
    plan_frame data; /* x at (alpha, sigma^2), with the schedule's rates when it has them */
    plan_frame heat; /* y = x / alpha at (1, tau) with rates (0, 1): made on first need */
};

/* Brings a frame to (alpha, sigma2) and its rates: allocated and prepared the first time,
 * refreshed in place (backend update) when the plan's time changed. */
static sf_status frame_set(sf_plan *p, plan_frame *fr, double alpha, double sigma2, int has_rates, double dalpha,
                           double dsigma2)
{
    if (fr->current) return SF_OK;
    const sf_backend_ops *ops = p->ctx->ops;
    sf_status st = SF_OK;
    if (!fr->prepared) {
        if ((st = sfi_field_init(&fr->field, p->mix)) != SF_OK) return st;
        st = sfi_field_set_frame(&fr->field, p->mix, alpha, sigma2, has_rates, dalpha, dsigma2);
        if (st == SF_OK) st = ops->prepare(p->ctx, &fr->field, &fr->state);
        if (st != SF_OK) {
            sfi_field_free(&fr->field);
            return st;
        }
        fr->prepared = 1;
    } else {
        st = sfi_field_set_frame(&fr->field, p->mix, alpha, sigma2, has_rates, dalpha, dsigma2);
        if (st == SF_OK) st = ops->update(fr->state, &fr->field);
        if (st != SF_OK) return st;
    }
    fr->current = 1;
    return SF_OK;
}

static void frame_release(sf_plan *p, plan_frame *fr)
{
    if (!fr->prepared) return;
    p->ctx->ops->release(fr->state);
    sfi_field_free(&fr->field);
    memset(fr, 0, sizeof *fr);
}

static sf_status data_frame(sf_plan *p)
{
    const sf_time *t = &p->time;
    return frame_set(p, &p->data, t->alpha, t->sigma2, t->has_time_derivatives, t->dalpha, t->dsigma2);
}

static sf_status heat_frame(sf_plan *p) { return frame_set(p, &p->heat, 1.0, p->time.tau, 1, 0.0, 1.0); }

sf_status sf_plan_set_time(sf_plan *p, const sf_time *time)
{
    sfi_error_clear();
    if (!p || !time) return sfi_fail(SF_ERR_INVALID, "sf_plan_set_time: a required argument is NULL");
    p->has_time = 0;
    sf_status st = SF_LOAD_STRUCT(p->time, time, SF_TIME_SIZE_0_1, "sf_time");
    if (st != SF_OK) return st;
    p->data.current = p->heat.current = 0;
    st = data_frame(p); /* validates the time (singular components) and prepares the field */
    p->has_time = st == SF_OK;
    return st;
}

sf_status sf_plan_create(sf_plan **out, sf_context *ctx, const sf_mixture *mix, const sf_time *time)
{
    sfi_error_clear();
    if (!out) return sfi_fail(SF_ERR_INVALID, "sf_plan_create: plan is NULL");
    *out = NULL;
    if (!ctx || !mix || !time) return sfi_fail(SF_ERR_INVALID, "sf_plan_create: a required argument is NULL");
    sf_plan *p = calloc(1, sizeof *p);
    if (!p) return sfi_fail(SF_ERR_NOMEM, "out of memory creating a plan");
    p->ctx = ctx;
    p->mix = mix;
    sf_status st = sf_plan_set_time(p, time);
    if (st != SF_OK) {
        sf_plan_destroy(p);
        return st;
    }
    *out = p;
    return SF_OK;
}

void sf_plan_destroy(sf_plan *p)
{
    if (!p) return;
    frame_release(p, &p->data);
    frame_release(p, &p->heat);
    free(p);
}

static sf_status run_backend(sf_plan *p, plan_frame *fr, const double *x, size_t n, const sf_request *rq)
{
    return p->ctx->ops->evaluate(fr->state, &fr->field, x, n, rq);
}

static double norm(const double *v, int d)
{
    double s = 0;
    for (int j = 0; j < d; j++) s += v[j] * v[j];
    return sqrt(s);
}

/* The data-frame outputs in one request. */
static sf_status evaluate_data_frame(sf_plan *p, const double *x, size_t n, const sf_outputs *out)
{
    sf_request rq = {out->score, out->logp, out->resp, out->div, out->denoise, out->lap, out->hvp,
                     out->hvp_dir, 0, 0, out->hessian, out->dt_score, out->dt_logp};
    if (!rq.score && !rq.logp && !rq.resp && !rq.div && !rq.denoise && !rq.lap && !rq.hvp && !rq.hessian &&
        !sf_request_needs_rates(&rq) && !out->hvp_score)
        return SF_OK;
    if (rq.hvp && !rq.hvp_dir) return sfi_fail(SF_ERR_INVALID, "hvp output requested without hvp_dir directions");
    sf_status st = data_frame(p);
    if (st == SF_OK) st = run_backend(p, &p->data, x, n, &rq);
    if (st == SF_OK && out->hvp_score) { /* a second direction: H s, built from s itself */
        sf_request hs = {.hvp = out->hvp_score, .hvp_s = 1.0, .hvp_x = 0.0};
        st = run_backend(p, &p->data, x, n, &hs);
    }
    return st;
}

/* Heat frame: y = x/alpha, q(y, tau) with u = grad_y log q; d_tau u, d_tau log q and the residual
 * d_tau u - Lap u / 2 - H u, chunk by chunk. */
static sf_status evaluate_heat_frame(sf_plan *p, const double *x, size_t n, const sf_outputs *out)
{
    int want_residual = out->residual || out->residual_scale;
    if (!out->dtau_score && !out->dtau_logp && !want_residual) return SF_OK;
    int d = p->mix->dim;
    size_t chunk = n < SF_RESIDUAL_CHUNK ? n : SF_RESIDUAL_CHUNK, cd = chunk * (size_t)d;
    sf_status st = heat_frame(p);
    if (st != SF_OK) return st;
    double *y = malloc(cd * sizeof(double) + 1), *u = malloc(cd * sizeof(double) + 1);
    double *dtau = malloc(cd * sizeof(double) + 1), *lap = NULL, *hu = NULL;
    if (want_residual) lap = malloc(cd * sizeof(double) + 1), hu = malloc(cd * sizeof(double) + 1);
    if (!y || !u || !dtau || (want_residual && (!lap || !hu)))
        st = sfi_fail(SF_ERR_NOMEM, "out of memory for the heat-frame outputs of %zu particles", chunk);
    for (size_t i0 = 0; st == SF_OK && i0 < n; i0 += chunk) {
        size_t m = n - i0 < chunk ? n - i0 : chunk;
        for (size_t j = 0; j < m * (size_t)d; j++) y[j] = x[i0 * d + j] / p->time.alpha;
        sf_request rq = {.score = u, .dt_score = dtau, .dt_logp = out->dtau_logp ? out->dtau_logp + i0 : NULL,
                         .lap = lap, .hvp = hu, .hvp_s = 1.0, .hvp_x = 0.0};
        if (!want_residual) rq.hvp = NULL;
        if ((st = run_backend(p, &p->heat, y, m, &rq)) != SF_OK) break;
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
    return st;
}

/* VP form in the data frame: R_t = d_t s - g^2 Lap s / 2 - H (g^2 s - f x) + f s (docs/burgers.md). */
static sf_status evaluate_vp_residual(sf_plan *p, const double *x, size_t n, const sf_outputs *out)
{
    if (!out->residual_t && !out->residual_t_scale) return SF_OK;
    if (!p->time.has_time_derivatives)
        return sfi_fail(SF_ERR_INVALID, "the VP-form residual needs a schedule (a direct alpha, sigma pair has no d/dt)");
    int d = p->mix->dim;
    size_t chunk = n < SF_RESIDUAL_CHUNK ? n : SF_RESIDUAL_CHUNK, cd = chunk * (size_t)d;
    sf_status st = data_frame(p);
    if (st != SF_OK) return st;
    double *s = malloc(cd * sizeof(double) + 1), *dts = malloc(cd * sizeof(double) + 1);
    double *lap = malloc(cd * sizeof(double) + 1), *hw = malloc(cd * sizeof(double) + 1);
    if (!s || !dts || !lap || !hw) st = sfi_fail(SF_ERR_NOMEM, "out of memory for the VP residual of %zu particles", chunk);
    double g2 = p->time.g2, fc = p->time.f;
    for (size_t i0 = 0; st == SF_OK && i0 < n; i0 += chunk) {
        size_t m = n - i0 < chunk ? n - i0 : chunk;
        sf_request rq = {.score = s, .dt_score = dts, .lap = lap, .hvp = hw, .hvp_s = g2, .hvp_x = -fc};
        if ((st = run_backend(p, &p->data, x + i0 * d, m, &rq)) != SF_OK) break;
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
    return st;
}

/* The outputs of particles [i0, ...) of a request: every array advanced by i0 rows. */
static sf_outputs outputs_from(const sf_outputs *o, size_t i0, int d, int K)
{
    size_t v = i0 * (size_t)d;
#define SF_ROWS(p, width) ((p) ? (p) + i0 * (size_t)(width) : NULL)
    sf_outputs c = *o;
    c.score = SF_ROWS(o->score, d), c.logp = SF_ROWS(o->logp, 1), c.resp = SF_ROWS(o->resp, K);
    c.div = SF_ROWS(o->div, 1), c.denoise = SF_ROWS(o->denoise, d), c.lap = SF_ROWS(o->lap, d);
    c.hvp_dir = SF_ROWS(o->hvp_dir, d), c.hvp = SF_ROWS(o->hvp, d), c.hvp_score = SF_ROWS(o->hvp_score, d);
    c.hessian = o->hessian ? o->hessian + v * (size_t)d : NULL;
    c.dt_score = SF_ROWS(o->dt_score, d), c.dt_logp = SF_ROWS(o->dt_logp, 1);
    c.dtau_score = SF_ROWS(o->dtau_score, d), c.dtau_logp = SF_ROWS(o->dtau_logp, 1);
    c.residual = SF_ROWS(o->residual, d), c.residual_scale = SF_ROWS(o->residual_scale, 1);
    c.residual_t = SF_ROWS(o->residual_t, d), c.residual_t_scale = SF_ROWS(o->residual_t_scale, 1);
#undef SF_ROWS
    return c;
}

/* The outputs of n float64 particles x, SF_CANCEL_CHUNK at a time with a cancellation check
 * before each; `first` numbers x[0] among the caller's particles (the outputs' row). */
static sf_status evaluate_rows(sf_plan *p, const double *x, size_t first, size_t n, const sf_outputs *out)
{
    int d = p->mix->dim, K = p->mix->count;
    sf_status st = SF_OK;
    for (size_t i0 = 0; st == SF_OK && i0 < n; i0 += SF_CANCEL_CHUNK) {
        size_t m = n - i0 < SF_CANCEL_CHUNK ? n - i0 : SF_CANCEL_CHUNK;
        sf_outputs chunk = outputs_from(out, first + i0, d, K);
        const double *xc = x + i0 * (size_t)d;
        st = sfi_context_poll(p->ctx);
        if (st == SF_OK) st = evaluate_data_frame(p, xc, m, &chunk);
        if (st == SF_OK) st = evaluate_heat_frame(p, xc, m, &chunk);
        if (st == SF_OK) st = evaluate_vp_residual(p, xc, m, &chunk);
    }
    return st;
}

/* float32 particles, widened to float64 a bounded chunk at a time (no full-size copy). */
static sf_status evaluate_f32(sf_plan *p, const float *x, size_t n, const sf_outputs *out)
{
    int d = p->mix->dim;
    size_t chunk = SF_CONVERT_VALUES / (size_t)d > 0 ? SF_CONVERT_VALUES / (size_t)d : 1;
    if (chunk > n) chunk = n;
    double *wide = malloc(chunk * (size_t)d * sizeof(double) + 1);
    sf_status st = wide ? SF_OK : sfi_fail(SF_ERR_NOMEM, "out of memory widening %zu float32 particles", chunk);
    for (size_t i0 = 0; st == SF_OK && i0 < n; i0 += chunk) {
        size_t m = n - i0 < chunk ? n - i0 : chunk;
        for (size_t e = 0; st == SF_OK && e < m * (size_t)d; e++) {
            wide[e] = x[i0 * (size_t)d + e];
            if (!isfinite(wide[e]))
                st = sfi_fail(SF_ERR_INVALID, "particle %zu, coordinate %d is not finite (%g)", i0 + e / (size_t)d,
                             (int)(e % (size_t)d), wide[e]);
        }
        if (st == SF_OK) st = evaluate_rows(p, wide, i0, m, out);
    }
    free(wide);
    return st;
}

sf_status sf_plan_evaluate_typed(sf_plan *p, const void *x, sf_dtype dtype, size_t n, const sf_outputs *requested)
{
    sfi_error_clear();
    if (!p || !requested || (n > 0 && !x))
        return sfi_fail(SF_ERR_INVALID, "sf_plan_evaluate: a required argument is NULL");
    if (dtype != SF_DTYPE_F64 && dtype != SF_DTYPE_F32)
        return sfi_fail(SF_ERR_INVALID, "sf_plan_evaluate: unknown particle dtype %d", (int)dtype);
    if (!p->has_time) return sfi_fail(SF_ERR_INVALID, "sf_plan_evaluate: the plan has no valid time (set one first)");
    sf_outputs outputs;
    sf_status st = SF_LOAD_STRUCT(outputs, requested, SF_OUTPUTS_SIZE_0_1, "sf_outputs");
    if (st != SF_OK) return st;
    const sf_outputs *out = &outputs;
    if ((out->dt_score || out->dt_logp) && !p->time.has_time_derivatives)
        return sfi_fail(SF_ERR_INVALID, "d/dt outputs need a schedule (a direct alpha, sigma pair has no time axis): "
                                       "use the heat-time outputs instead");
    size_t d = (size_t)p->mix->dim;
    st = sfi_check_doubles(__func__, n, out->hessian ? d * d : d); /* d * d < 2^62: d is an int */
    if (st == SF_OK && out->resp) st = sfi_check_doubles(__func__, n, (size_t)p->mix->count);
    if (st != SF_OK) return st;
    if (out->hvp_dir && (st = sf_particles_check(out->hvp_dir, n, p->mix->dim)) != SF_OK) return st;
    if (dtype == SF_DTYPE_F32) return evaluate_f32(p, x, n, out);
    /* a backend that checks on the device (CUDA) spares the host this pass over every coordinate */
    st = p->ctx->ops == &sfi_backend_cuda ? SF_OK : sf_particles_check(x, n, p->mix->dim);
    return st == SF_OK ? evaluate_rows(p, x, 0, n, out) : st;
}

sf_status sf_plan_evaluate(sf_plan *p, const double *x, size_t n, const sf_outputs *out)
{
    return sf_plan_evaluate_typed(p, x, SF_DTYPE_F64, n, out);
}

sf_status sf_plan_evaluate_device(sf_plan *p, sf_dtype dtype, const void *x, size_t n, const sf_device_outputs *out,
                                  void *stream)
{
    sfi_error_clear();
    if (!p || !out || (n > 0 && !x))
        return sfi_fail(SF_ERR_INVALID, "sf_plan_evaluate_device: a required argument is NULL");
    if (!p->has_time) return sfi_fail(SF_ERR_INVALID, "sf_plan_evaluate_device: the plan has no valid time (set one first)");
    const sf_backend_ops *ops = p->ctx->ops;
    if (ops != &sfi_backend_cuda)
        return sfi_fail(SF_ERR_INVALID, "sf_plan_evaluate_device needs a CUDA context (this plan's backend is %s)", ops->name);
    sf_dtype want = p->ctx->precision == SF_PRECISION_F32 ? SF_DTYPE_F32 : SF_DTYPE_F64;
    if (dtype != want)
        return sfi_fail(SF_ERR_INVALID, "sf_plan_evaluate_device: %s arrays given to a %s context: the arrays must be in "
                                       "the context's precision",
                       dtype == SF_DTYPE_F32 ? "float32" : "float64", want == SF_DTYPE_F32 ? "float32" : "float64");
    if ((out->dt_score || out->dt_logp) && !p->time.has_time_derivatives)
        return sfi_fail(SF_ERR_INVALID, "d/dt outputs need a schedule (a direct alpha, sigma pair has no time axis)");
    if (out->hvp && !out->hvp_dir) return sfi_fail(SF_ERR_INVALID, "hvp output requested without hvp_dir directions");
    sf_device_request rq = {out->score, out->logp, out->resp,     out->div,      out->denoise, out->lap,
                            out->hvp,   out->hessian, out->dt_score, out->dt_logp, out->hvp_dir, 0.0, 0.0};
    if (!rq.score && !rq.logp && !rq.resp && !rq.div && !rq.denoise && !rq.lap && !rq.hvp && !rq.hessian &&
        !rq.dt_score && !rq.dt_logp)
        return SF_OK;
    sf_status st = data_frame(p);
    return st == SF_OK ? sfi_backend_cuda_evaluate_device(p->data.state, &p->data.field, x, n, &rq, stream) : st;
}

sf_status sf_evaluate(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x, size_t n,
                      const sf_outputs *out)
{
    sf_plan *p = NULL;
    sf_status st = sf_plan_create(&p, ctx, mix, time);
    if (st == SF_OK) st = sf_plan_evaluate(p, x, n, out);
    sf_plan_destroy(p);
    return st;
}
