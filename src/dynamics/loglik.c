/* The probability-flow ODE dx/dt = b(x, t) = f x - g^2 s / 2 solved accurately (docs/samplers.md):
 * the flow map itself (sf_flow_ode, the reference the samplers' endpoints are measured against) and
 * log p_{t0} by the instantaneous change of variables: along the flow d/dt log p_t(x(t)) = -div b, so
 *   log p_{t0}(x(t0)) = log p_{t1}(x(t1)) + int_{t0}^{t1} div b dt,  div b = f d - g^2 div s / 2.
 * Both integrate by adaptive Dormand-Prince 5(4) (sfi_dopri5) with one step size for the batch, so
 * every score evaluation covers all particles. */
#include "mixture.h"
#include "numerics.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sf_plan *plan; /* the field, moved to each stage time */
    const sf_schedule *sched;
    size_t n;
    int d;
    int with_logp;       /* the state carries the log-density increment after the n x d positions */
    double *score, *div; /* scratch */
} flow;

/* dy/dt for the state y = (x [n x d], l [n] when with_logp): (b(x, t), div b(x, t)). */
static sf_status flow_rate(void *data, double t, const double *y, double *dy)
{
    flow *o = data;
    sf_time tm;
    sf_status st = sf_schedule_at(o->sched, t, &tm);
    sf_outputs out = {.score = o->score, .div = o->with_logp ? o->div : NULL};
    if (st == SF_OK) st = sf_plan_set_time(o->plan, &tm);
    if (st == SF_OK) st = sf_plan_evaluate(o->plan, y, o->n, &out);
    if (st != SF_OK) return st;
    size_t nd = o->n * (size_t)o->d;
    for (size_t i = 0; i < nd; i++) dy[i] = tm.f * y[i] - 0.5 * tm.g2 * o->score[i];
    for (size_t p = 0; o->with_logp && p < o->n; p++) dy[nd + p] = tm.f * o->d - 0.5 * tm.g2 * o->div[p];
    return SF_OK;
}

static sf_status check_flow(const char *who, const sf_mixture *mix, const sf_schedule *sched, size_t n, double rtol,
                            double atol)
{
    if (sched->kind == SF_SCHEDULE_DIRECT) return sfi_fail(SF_ERR_INVALID, "%s needs a schedule with a time axis", who);
    if (!(rtol > 0) || !(atol > 0)) return sfi_fail(SF_ERR_INVALID, "tolerances must be positive (rtol %g, atol %g)", rtol, atol);
    return sfi_check_doubles(who, n, (size_t)mix->dim + 1); /* positions and the log-density increment */
}

/* The flow of y (positions, then the increments when with_logp) from `from` to `to`; the plan is
 * left at time `to` for the caller. */
static sf_status solve_flow(flow *o, sf_context *ctx, const sf_mixture *mix, double from, double to, double rtol,
                            double atol, const char *what, double *y, int *steps_taken)
{
    size_t m = o->n * (size_t)o->d + (o->with_logp ? o->n : 0);
    o->score = malloc(o->n * (size_t)o->d * sizeof(double) + 1), o->div = malloc(o->n * sizeof(double) + 1);
    sf_status st = o->score && o->div ? SF_OK : sfi_fail(SF_ERR_NOMEM, "out of memory for %s of %zu points", what, o->n);
    sf_time start;
    if (st == SF_OK) st = sf_schedule_at(o->sched, from, &start);
    if (st == SF_OK) st = sf_plan_create(&o->plan, ctx, mix, &start);
    if (st == SF_OK) st = sfi_dopri5(flow_rate, o, m, from, to, rtol, atol, what, y, steps_taken);
    free(o->score), free(o->div);
    o->score = o->div = NULL;
    return st;
}

sf_status sf_flow_ode(sf_context *ctx, const sf_mixture *mix, const sf_schedule *sched, double t_from, double t_to,
                      double *x, size_t n, double rtol, double atol, int *steps_taken)
{
    sfi_error_clear();
    if (steps_taken) *steps_taken = 0;
    if (!ctx || !mix || !sched || (n > 0 && !x))
        return sfi_fail(SF_ERR_INVALID, "sf_flow_ode: ctx, mix, schedule and x must not be NULL");
    sf_status st = check_flow(__func__, mix, sched, n, rtol, atol);
    if (st == SF_OK && !(isfinite(t_from) && isfinite(t_to)))
        st = sfi_fail(SF_ERR_INVALID, "sf_flow_ode: times must be finite (got %g, %g)", t_from, t_to);
    if (st == SF_OK) st = sf_particles_check(x, n, mix->dim);
    if (st != SF_OK || n == 0) return st;
    flow o = {.sched = sched, .n = n, .d = mix->dim};
    st = solve_flow(&o, ctx, mix, t_from, t_to, rtol, atol, "the probability-flow ODE", x, steps_taken);
    sf_plan_destroy(o.plan);
    return st;
}

sf_status sf_loglik_ode(sf_context *ctx, const sf_mixture *mix, const sf_schedule *sched, double t0, double t1,
                        const double *x, size_t n, double rtol, double atol, double *logp, int *steps_taken)
{
    sfi_error_clear();
    if (steps_taken) *steps_taken = 0;
    if (!ctx || !mix || !sched || (n > 0 && (!x || !logp)))
        return sfi_fail(SF_ERR_INVALID, "sf_loglik_ode: ctx, mix, schedule, x and logp must not be NULL");
    sf_status st = check_flow(__func__, mix, sched, n, rtol, atol);
    if (st == SF_OK && !(t1 > t0)) st = sfi_fail(SF_ERR_INVALID, "need t1 > t0 (got %g, %g)", t1, t0);
    if (st != SF_OK) return st;
    int d = mix->dim;
    flow o = {.sched = sched, .n = n, .d = d, .with_logp = 1};
    double *y = malloc((n * (size_t)d + n) * sizeof(double) + 1);
    if (!y) return sfi_fail(SF_ERR_NOMEM, "out of memory for the likelihood of %zu points", n);
    memcpy(y, x, n * (size_t)d * sizeof(double));
    memset(y + n * (size_t)d, 0, n * sizeof(double));
    st = solve_flow(&o, ctx, mix, t0, t1, rtol, atol, "the likelihood ODE", y, steps_taken);
    if (st == SF_OK) { /* add the exact log p_{t1} at the end point */
        sf_time tm;
        st = sf_schedule_at(sched, t1, &tm);
        sf_outputs out = {.logp = logp};
        if (st == SF_OK) st = sf_plan_set_time(o.plan, &tm);
        if (st == SF_OK) st = sf_plan_evaluate(o.plan, y, n, &out);
        if (st == SF_OK)
            for (size_t p = 0; p < n; p++) logp[p] += y[n * (size_t)d + p];
    }
    sf_plan_destroy(o.plan);
    free(y);
    return st;
}
