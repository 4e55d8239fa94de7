/* log p_{t0}(x) by the probability-flow ODE and the instantaneous change of variables
 * (docs/samplers.md): along dx/dt = b(x, t) = f x - g^2 s / 2, d/dt log p_t(x(t)) = -div b, so
 *   log p_{t0}(x(t0)) = log p_{t1}(x(t1)) + int_{t0}^{t1} div b dt,  div b = f d - g^2 div s / 2.
 * Integrated forward in t by Dormand-Prince 5(4) with one step size for the batch, so every
 * score evaluation covers all particles; a step is accepted when every component's local error
 * is below atol + rtol |y|. */
#include "mixture.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Dormand-Prince coefficients */
static const double C[7] = {0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1};
static const double A[7][6] = {{0},
                               {1.0 / 5},
                               {3.0 / 40, 9.0 / 40},
                               {44.0 / 45, -56.0 / 15, 32.0 / 9},
                               {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
                               {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
                               {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84}};
/* fifth-order weights (= A[6]) minus the embedded fourth-order ones: the error estimate */
static const double E[7] = {35.0 / 384 - 5179.0 / 57600, 0, 500.0 / 1113 - 7571.0 / 16695, 125.0 / 192 - 393.0 / 640,
                            -2187.0 / 6784 + 92097.0 / 339200, 11.0 / 84 - 187.0 / 2100, -1.0 / 40};

typedef struct {
    sf_plan *plan; /* the field, moved to each stage time */
    const sf_schedule *sched;
    size_t n;
    int d;
    double *score, *div; /* scratch */
} ode;

/* dy/dt for the state y = (x [n x d], l [n]): (b(x, t), div b(x, t)). */
static sf_status rhs(ode *o, double t, const double *y, double *dy)
{
    sf_time tm;
    sf_status st = sf_schedule_at(o->sched, t, &tm);
    sf_outputs out = {.score = o->score, .div = o->div};
    if (st == SF_OK) st = sf_plan_set_time(o->plan, &tm);
    if (st == SF_OK) st = sf_plan_evaluate(o->plan, y, o->n, &out);
    if (st != SF_OK) return st;
    size_t nd = o->n * (size_t)o->d;
    for (size_t i = 0; i < nd; i++) dy[i] = tm.f * y[i] - 0.5 * tm.g2 * o->score[i];
    for (size_t p = 0; p < o->n; p++) dy[nd + p] = tm.f * o->d - 0.5 * tm.g2 * o->div[p];
    return SF_OK;
}

sf_status sf_loglik_ode(sf_context *ctx, const sf_mixture *mix, const sf_schedule *sched, double t0, double t1,
                        const double *x, size_t n, double rtol, double atol, double *logp, int *steps_taken)
{
    sfi_error_clear();
    if (!ctx || !mix || !sched || (n > 0 && (!x || !logp)))
        return sfi_fail(SF_ERR_INVALID, "sf_loglik_ode: ctx, mix, schedule, x and logp must not be NULL");
    sf_status checked = sfi_check_doubles(__func__, n, (size_t)mix->dim + 1); /* the ODE state */
    if (checked != SF_OK) return checked;
    if (sched->kind == SF_SCHEDULE_DIRECT) return sfi_fail(SF_ERR_INVALID, "the likelihood needs a schedule with a time axis");
    if (!(t1 > t0)) return sfi_fail(SF_ERR_INVALID, "need t1 > t0 (got %g, %g)", t1, t0);
    if (!(rtol > 0) || !(atol > 0)) return sfi_fail(SF_ERR_INVALID, "tolerances must be positive (rtol %g, atol %g)", rtol, atol);
    int d = mix->dim;
    size_t m = n * (size_t)d + n; /* state size */
    ode o = {NULL, sched, n, d, malloc(n * (size_t)d * sizeof(double) + 1), malloc(n * sizeof(double) + 1)};
    double *y = malloc(m * sizeof(double)), *ynew = malloc(m * sizeof(double)), *tmp = malloc(m * sizeof(double));
    double *k[7];
    int ok = o.score && o.div && y && ynew && tmp;
    for (int i = 0; i < 7; i++) ok = (k[i] = malloc(m * sizeof(double))) && ok;
    sf_status st = ok ? SF_OK : sfi_fail(SF_ERR_NOMEM, "out of memory for the likelihood of %zu points", n);
    sf_time start;
    if (st == SF_OK) st = sf_schedule_at(sched, t0, &start);
    if (st == SF_OK) st = sf_plan_create(&o.plan, ctx, mix, &start);
    if (st == SF_OK) {
        memcpy(y, x, n * (size_t)d * sizeof(double));
        memset(y + n * (size_t)d, 0, n * sizeof(double));
        st = rhs(&o, t0, y, k[0]);
    }
    double t = t0, h = (t1 - t0) / 64;
    int accepted = 0, attempts = 0;
    while (st == SF_OK && t < t1) {
        if (++attempts > 1000000) {
            st = sfi_fail(SF_ERR_NUMERIC, "the likelihood ODE needed more than 1e6 steps (rtol %g, atol %g)", rtol, atol);
            break;
        }
        if (t + h > t1) h = t1 - t;
        for (int s = 1; st == SF_OK && s < 7; s++) {
            for (size_t i = 0; i < m; i++) {
                double acc = y[i];
                for (int j = 0; j < s; j++) acc += h * A[s][j] * k[j][i];
                tmp[i] = acc;
            }
            st = rhs(&o, t + C[s] * h, tmp, k[s]);
            if (s == 6) memcpy(ynew, tmp, m * sizeof(double)); /* the fifth-order solution (A[6] = b) */
        }
        if (st != SF_OK) break;
        double worst = 0;
        for (size_t i = 0; i < m; i++) {
            double err = 0;
            for (int j = 0; j < 7; j++) err += E[j] * k[j][i];
            err = fabs(h * err) / (atol + rtol * fmax(fabs(y[i]), fabs(ynew[i])));
            if (!(err <= worst)) worst = err; /* NaN becomes the worst */
        }
        if (!isfinite(worst)) {
            st = sfi_fail(SF_ERR_NUMERIC, "the likelihood ODE produced a non-finite value at t = %g", t);
            break;
        }
        if (worst <= 1.0) { /* accept; first same as last: k7 is the next step's k1 */
            t += h;
            memcpy(y, ynew, m * sizeof(double));
            double *swap = k[0];
            k[0] = k[6], k[6] = swap;
            accepted++;
        }
        h *= fmin(5.0, fmax(0.2, 0.9 * pow(fmax(worst, 1e-16), -0.2)));
    }
    if (st == SF_OK) { /* add the exact log p_{t1} at the end point */
        sf_time tm;
        st = sf_schedule_at(sched, t1, &tm);
        sf_outputs out = {.logp = logp};
        if (st == SF_OK) st = sf_plan_set_time(o.plan, &tm);
        if (st == SF_OK) st = sf_plan_evaluate(o.plan, y, n, &out);
        if (st == SF_OK)
            for (size_t p = 0; p < n; p++) logp[p] += y[n * (size_t)d + p];
    }
    if (steps_taken) *steps_taken = accepted;
    sf_plan_destroy(o.plan);
    free(o.score), free(o.div), free(y), free(ynew), free(tmp);
    for (int i = 0; i < 7; i++) free(k[i]);
    return st;
}
