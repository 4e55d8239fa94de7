/* Error amplification across the layer (docs/analyses.md, "Speciation"): the tangent (variational)
 * equation of the heat-time flows dy/dtau = -c u(y, tau), c = 1/2 (probability flow) or 1 (the
 * reverse SDE's drift), integrated with the path, in s = log tau:
 *   dy/ds = -c tau u(y, tau),   d delta/ds = -c tau H(y, tau) delta. */
#include "abi.h"
#include "numerics.h"
#include "pair.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sf_context *ctx;
    const sf_mixture *mix;
    int d;
    double c;
    sf_plan *plan; /* the field, moved to each RK4 stage's time */
} tangent_flow;

/* state = (y, delta), 2d values */
static sf_status tangent_rate(void *data, double s, const double *z, double *dz)
{
    const tangent_flow *f = data;
    double tau = exp(s);
    sf_time t;
    sf_status st = sf_time_heat(tau, &t);
    sf_outputs o = {.score = dz, .hvp = dz + f->d, .hvp_dir = z + f->d};
    if (st == SF_OK) st = sf_plan_set_time(f->plan, &t);
    if (st == SF_OK) st = sf_plan_evaluate(f->plan, z, 1, &o);
    for (int i = 0; i < 2 * f->d; i++) dz[i] *= -f->c * tau;
    return st;
}

/* |delta(tau0)| for delta(tau1) = dir / |dir|, in `steps` RK4 steps; the path's end in y_end. */
static sf_status gain_once(const tangent_flow *f, const double *y, const double *dir, double tau1, double tau0, int steps,
                           double *gain, double *y_end)
{
    int d = f->d;
    double *z = malloc(2 * (size_t)d * sizeof(double)), norm = 0;
    if (!z) return sfi_fail(SF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < d; i++) norm += dir[i] * dir[i];
    norm = sqrt(norm);
    for (int i = 0; i < d; i++) z[i] = y[i], z[d + i] = dir[i] / norm;
    tangent_flow flow = *f;
    sf_time start;
    sf_status st = sf_time_heat(tau1, &start);
    if (st == SF_OK) st = sf_plan_create(&flow.plan, f->ctx, f->mix, &start);
    if (st == SF_OK) st = sfi_rk4(tangent_rate, &flow, 2 * (size_t)d, log(tau1), log(tau0), steps, z, NULL);
    sf_plan_destroy(flow.plan);
    double g = 0;
    for (int i = 0; i < d; i++) g += z[d + i] * z[d + i];
    *gain = sqrt(g);
    if (y_end) memcpy(y_end, z, (size_t)d * sizeof(double));
    free(z);
    return st;
}

/* Steps doubled until successive gains agree to rtol (RK4: the error falls 16-fold per doubling,
 * so the difference over 15 estimates the finer one's error); Richardson-extrapolated result. */
static sf_status gain_converged(const tangent_flow *f, const double *y, const double *dir, double tau1, double tau0,
                                double rtol, double *gain, double *error, double *y_end)
{
    int steps = 32 * (int)ceil(log(tau1 / tau0) + 1);
    double coarse, fine;
    sf_status st = gain_once(f, y, dir, tau1, tau0, steps, &coarse, NULL);
    while (st == SF_OK) {
        steps *= 2;
        if ((st = gain_once(f, y, dir, tau1, tau0, steps, &fine, y_end)) != SF_OK) break;
        double err = fabs(fine - coarse) / 15;
        if (!isfinite(fine)) return sfi_fail(SF_ERR_NUMERIC, "the tangent flow overflowed between tau = %g and %g", tau1, tau0);
        if (err <= rtol * fabs(fine) || steps >= (1 << 22)) {
            *gain = fine + (fine - coarse) / 15;
            *error = err / fabs(fine);
            break;
        }
        coarse = fine;
    }
    return st;
}

static sf_status check_gain_args(const sf_mixture *mix, const double *dir, double tau1, double tau0, double rtol)
{
    double norm = 0;
    for (int i = 0; i < sf_mixture_dim(mix); i++) norm += dir[i] * dir[i];
    if (!(tau1 > tau0) || !(tau0 > 0) || !isfinite(tau1) || !(rtol > 0))
        return sfi_fail(SF_ERR_INVALID, "the gain needs tau1 > tau0 > 0 and rtol > 0 (got %g, %g, %g)", tau1, tau0, rtol);
    if (!(norm > 0) || !isfinite(norm)) return sfi_fail(SF_ERR_INVALID, "the perturbation's direction must be finite and non-zero");
    return SF_OK;
}

sf_status sf_flow_gain(sf_context *ctx, const sf_mixture *mix, const double *y, const double *dir, double tau1,
                       double tau0, double rtol, sf_gain *gain)
{
    sfi_error_clear();
    if (!ctx || !mix || !y || !dir || !gain)
        return sfi_fail(SF_ERR_INVALID, "sf_flow_gain: ctx, mix, y, dir and gain must not be NULL");
    sf_status st = check_gain_args(mix, dir, tau1, tau0, rtol);
    tangent_flow ode = {ctx, mix, sf_mixture_dim(mix), 0.5, NULL}, sde = {ctx, mix, sf_mixture_dim(mix), 1.0, NULL};
    if (st == SF_OK) st = gain_converged(&ode, y, dir, tau1, tau0, rtol, &gain->ode, &gain->ode_error, NULL);
    if (st == SF_OK) st = gain_converged(&sde, y, dir, tau1, tau0, rtol, &gain->sde, &gain->sde_error, NULL);
    return st;
}

static sf_status speciation_amplification_into(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na,
                                      const int *set_b, int nb, double tau1, double tau0, double rtol,
                                      sf_amplification *out)
{
    sfi_error_clear();
    if (!ctx || !mix || !set_a || !set_b || !out)
        return sfi_fail(SF_ERR_INVALID, "sf_speciation_amplification: ctx, mix, both sets and out must not be NULL");
    int d = sf_mixture_dim(mix);
    double *axis = malloc((size_t)d * sizeof(double)), *y1 = malloc((size_t)d * sizeof(double));
    double *y0 = malloc((size_t)d * sizeof(double)), *end = malloc((size_t)d * sizeof(double)), a, s2;
    sf_status st = axis && y1 && y0 && end ? SF_OK : sfi_fail(SF_ERR_NOMEM, "out of memory");
    if (st == SF_OK) st = sf_speciation_axis(mix, set_a, na, set_b, nb, axis, NULL);
    if (st == SF_OK) st = check_gain_args(mix, axis, tau1, tau0, rtol);
    if (st == SF_OK) st = sf_speciation_normal_curvature(ctx, mix, set_a, na, set_b, nb, tau1, NULL, NULL, y1);
    if (st == SF_OK) st = sf_speciation_normal_curvature(ctx, mix, set_a, na, set_b, nb, tau0, NULL, NULL, y0);
    tangent_flow ode = {ctx, mix, d, 0.5, NULL}, sde = {ctx, mix, d, 1.0, NULL};
    if (st == SF_OK) st = gain_converged(&ode, y1, axis, tau1, tau0, rtol, &out->gain.ode, &out->gain.ode_error, end);
    if (st == SF_OK) st = gain_converged(&sde, y1, axis, tau1, tau0, rtol, &out->gain.sde, &out->gain.sde_error, NULL);
    if (st == SF_OK) {
        double off = 0;
        for (int i = 0; i < d; i++) off += (end[i] - y0[i]) * (end[i] - y0[i]);
        out->end_offset = sqrt(off);
        /* a symmetric pair's centre has u = 0 at every tau: a trajectory of both flows */
        out->stationary = sfi_pair_check(mix, NULL) == SF_OK;
        sfi_error_clear();
        out->closed_form = (sf_gain){NAN, NAN, 0, 0};
        if (sfi_pair_isotropic(mix, &a, &s2)) {
            double v0 = s2 + tau0, v1 = s2 + tau1, g = sqrt(v0 / v1) * exp(0.5 * a * a * (1 / v0 - 1 / v1));
            out->closed_form.ode = g, out->closed_form.sde = g * g;
        }
    }
    free(axis), free(y1), free(y0), free(end);
    return st;
}

/* sf_speciation_amplification for a caller's sf_amplification of `size` bytes (sizeof in its header): the fields it knows. */
sf_status sf_speciation_amplification_sized(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na,
                                            const int *set_b, int nb, double tau1, double tau0, double rtol,
                                            sf_amplification *out, size_t size)
{
    sf_amplification result;
    memset(&result, 0, sizeof result);
    sf_status st = speciation_amplification_into(ctx, mix, set_a, na, set_b, nb, tau1, tau0, rtol,
                                                 out ? &result : NULL);
    if (st == SF_OK && out) st = sfi_struct_store(out, size, &result, SF_AMPLIFICATION_SIZE_0_1, sizeof result,
        "sf_amplification");
    return st;
}
