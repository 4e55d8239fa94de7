/* Noise schedules (docs/conventions.md): alpha, sigma, their derivatives, f, g^2 and the heat time
 * tau = sigma^2/alpha^2, each in a form that does not cancel at small t. */
#include "abi.h"
#include "status.h"

#include <math.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* The defaults, in the library's own layout. */
static sf_schedule schedule_defaults(sf_schedule_kind kind)
{
    sf_schedule s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    s.kind = kind;
    s.sigma_min = kind == SF_SCHEDULE_EDM ? 0.002 : 0.01;
    s.sigma_max = kind == SF_SCHEDULE_EDM ? 80.0 : 50.0;
    s.beta_min = 0.1;
    s.beta_max = 20.0;
    s.cosine_s = 0.008;
    s.alpha = 1.0;
    s.sigma = 1.0;
    return s;
}

sf_status sf_schedule_init(sf_schedule *schedule, size_t size, sf_schedule_kind kind)
{
    if (!schedule) return sfi_fail(SF_ERR_INVALID, "sf_schedule_init: schedule is NULL");
    sf_schedule s = schedule_defaults(kind);
    sf_status st = sfi_struct_store(schedule, size, &s, SF_SCHEDULE_SIZE_0_1, sizeof s, "sf_schedule");
    if (st == SF_OK) schedule->size = size;
    return st;
}

static const char *const kind_names[] = {"ve", "vp-linear", "vp-cosine", "ou", "direct", "edm", "flow"};
#define KIND_COUNT (int)(sizeof kind_names / sizeof kind_names[0])

const char *sf_schedule_kind_name(sf_schedule_kind kind)
{
    return (unsigned)kind < sizeof kind_names / sizeof kind_names[0] ? kind_names[kind] : "?";
}

sf_status sf_schedule_kind_parse(const char *name, sf_schedule_kind *kind)
{
    if (!name || !kind) return sfi_fail(SF_ERR_INVALID, "sf_schedule_kind_parse: name and kind must not be NULL");
    for (int k = 0; k < KIND_COUNT; k++)
        if (k != SF_SCHEDULE_DIRECT && strcmp(name, kind_names[k]) == 0) {
            *kind = (sf_schedule_kind)k;
            return SF_OK;
        }
    return sfi_fail(SF_ERR_INVALID, "unknown schedule '%s' (ve, vp-linear, vp-cosine, ou, edm or flow)", name);
}

static sf_status check_parameters(const sf_schedule *s)
{
    switch (s->kind) {
    case SF_SCHEDULE_VE:
        if (!(s->sigma_min > 0) || !(s->sigma_max > s->sigma_min) || !isfinite(s->sigma_max))
            return sfi_fail(SF_ERR_INVALID, "ve schedule needs 0 < sigma-min < sigma-max (got %g, %g)",
                           s->sigma_min, s->sigma_max);
        return SF_OK;
    case SF_SCHEDULE_VP_LINEAR:
        if (!(s->beta_min >= 0) || !(s->beta_max >= s->beta_min) || !(s->beta_max > 0) ||
            !isfinite(s->beta_max))
            return sfi_fail(SF_ERR_INVALID, "vp-linear schedule needs 0 <= beta-min <= beta-max, beta-max > 0 (got %g, %g)",
                           s->beta_min, s->beta_max);
        return SF_OK;
    case SF_SCHEDULE_VP_COSINE:
        if (!(s->cosine_s >= 0) || !isfinite(s->cosine_s))
            return sfi_fail(SF_ERR_INVALID, "vp-cosine schedule needs offset s >= 0 (got %g)", s->cosine_s);
        return SF_OK;
    case SF_SCHEDULE_EDM:
        if (!(s->sigma_max > 0) || !isfinite(s->sigma_max))
            return sfi_fail(SF_ERR_INVALID, "edm schedule needs 0 < sigma-max < inf (got %g)", s->sigma_max);
        return SF_OK;
    case SF_SCHEDULE_OU:
    case SF_SCHEDULE_FLOW:
        return SF_OK;
    case SF_SCHEDULE_DIRECT:
        if (!(s->alpha > 0) || !isfinite(s->alpha))
            return sfi_fail(SF_ERR_INVALID, "alpha must be positive and finite (got %g)", s->alpha);
        if (!(s->sigma >= 0) || !isfinite(s->sigma))
            return sfi_fail(SF_ERR_INVALID, "sigma must be >= 0 and finite (got %g)", s->sigma);
        return SF_OK;
    }
    return sfi_fail(SF_ERR_INVALID, "unknown schedule kind %d", (int)s->kind);
}

/* Fills the derivative fields from alpha', (sigma^2)' using g^2 = (sigma^2)' - 2 f sigma^2. */
static void set_rates(sf_time *o, double dalpha, double f, double g2)
{
    o->has_time_derivatives = 1;
    o->dalpha = dalpha;
    o->f = f;
    o->g2 = g2;
    o->dsigma2 = g2 + 2.0 * f * o->sigma2;
    o->dtau = g2 / (o->alpha * o->alpha);
}

/* Fills the library's own sf_time (sf_schedule_time stores it in the caller's layout). */
static sf_status time_at(const sf_schedule *s, double t, sf_time *o)
{
    if (!s || !o) return sfi_fail(SF_ERR_INVALID, "sf_schedule_at: schedule and out must not be NULL");
    sf_status st = check_parameters(s);
    if (st != SF_OK) return st;
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->t = t;
    if (s->kind == SF_SCHEDULE_EDM) {
        if (!isfinite(t) || t < 0 || t > s->sigma_max)
            return sfi_fail(SF_ERR_INVALID, "time t = %g is outside [0, sigma-max = %g] for the edm schedule", t,
                           s->sigma_max);
    } else if (s->kind != SF_SCHEDULE_DIRECT) {
        int open_end = s->kind == SF_SCHEDULE_VP_COSINE || s->kind == SF_SCHEDULE_FLOW;
        if (!isfinite(t) || t < 0 || (open_end ? t >= 1 : t > 1))
            return sfi_fail(SF_ERR_INVALID, "time t = %g is outside %s for the %s schedule", t,
                           open_end ? "[0, 1)" : "[0, 1]", sf_schedule_kind_name(s->kind));
    }
    switch (s->kind) {
    case SF_SCHEDULE_VE: {
        double log_ratio = log(s->sigma_max / s->sigma_min);
        o->alpha = 1.0;
        o->sigma = s->sigma_min * exp(t * log_ratio);
        o->sigma2 = o->sigma * o->sigma;
        o->tau = o->sigma2;
        set_rates(o, 0.0, 0.0, 2.0 * o->sigma2 * log_ratio);
        break;
    }
    case SF_SCHEDULE_VP_LINEAR: {
        double db = s->beta_max - s->beta_min;
        double B = s->beta_min * t + 0.5 * db * t * t; /* integral of beta */
        double beta = s->beta_min + db * t;
        o->alpha = exp(-0.5 * B);
        o->sigma2 = -expm1(-B);
        o->sigma = sqrt(o->sigma2);
        o->tau = expm1(B);
        set_rates(o, -0.5 * beta * o->alpha, -0.5 * beta, beta);
        break;
    }
    case SF_SCHEDULE_VP_COSINE: {
        double c = s->cosine_s, rate = 0.5 * M_PI / (1.0 + c); /* d theta / dt */
        double theta = rate * (t + c), theta0 = rate * c;
        double cos0 = cos(theta0);
        double beta = 2.0 * rate * tan(theta);
        /* sin(theta - theta0) sin(theta + theta0) = cos^2 theta0 - cos^2 theta, without cancellation;
         * theta - theta0 = rate t exactly (forming it as a difference loses digits at small t) */
        double sinprod = sin(rate * t) * sin(theta + theta0);
        o->alpha = cos(theta) / cos0;
        o->sigma2 = sinprod / (cos0 * cos0);
        o->sigma = sqrt(o->sigma2);
        o->tau = sinprod / (cos(theta) * cos(theta));
        set_rates(o, -0.5 * beta * o->alpha, -0.5 * beta, beta);
        break;
    }
    case SF_SCHEDULE_OU:
        o->alpha = exp(-t);
        o->sigma2 = -expm1(-2.0 * t);
        o->sigma = sqrt(o->sigma2);
        o->tau = expm1(2.0 * t);
        set_rates(o, -o->alpha, -1.0, 2.0);
        break;
    case SF_SCHEDULE_EDM: /* the VE parametrisation of Karras et al.: sigma = t, so g^2 = 2t */
        o->alpha = 1.0;
        o->sigma = t;
        o->sigma2 = t * t;
        o->tau = o->sigma2;
        set_rates(o, 0.0, 0.0, 2.0 * t);
        break;
    case SF_SCHEDULE_FLOW: { /* f = -1/(1 - t), g^2 = (sigma^2)' - 2 f sigma^2 = 2t / (1 - t) */
        double a = 1.0 - t;
        o->alpha = a;
        o->sigma = t;
        o->sigma2 = t * t;
        o->tau = (t / a) * (t / a);
        set_rates(o, -1.0, -1.0 / a, 2.0 * t / a);
        break;
    }
    case SF_SCHEDULE_DIRECT:
        o->alpha = s->alpha;
        o->sigma = s->sigma;
        o->sigma2 = s->sigma * s->sigma;
        o->tau = o->sigma2 / (o->alpha * o->alpha);
        o->has_time_derivatives = 0;
        break;
    }
    if (!(o->alpha > 0) || !isfinite(o->tau))
        return sfi_fail(SF_ERR_INVALID, "time t = %g gives alpha = %g, sigma^2 = %g: not usable", t,
                       o->alpha, o->sigma2);
    return SF_OK;
}

sf_status sf_schedule_time(const sf_schedule *s, double t, sf_time *out, size_t size)
{
    if (!s || !out) return sfi_fail(SF_ERR_INVALID, "sf_schedule_at: a required argument is NULL");
    sf_schedule sched;
    sf_time o;
    sf_status st = SF_LOAD_STRUCT(sched, s, SF_SCHEDULE_SIZE_0_1, "sf_schedule");
    if (st == SF_OK) st = time_at(&sched, t, &o);
    if (st == SF_OK) st = sfi_struct_store(out, size, &o, SF_TIME_SIZE_0_1, sizeof o, "sf_time");
    if (st == SF_OK) out->size = size;
    return st;
}

sf_status sf_schedule_t_of_tau(const sf_schedule *s, double tau, double *t)
{
    if (!s || !t) return sfi_fail(SF_ERR_INVALID, "sf_schedule_t_of_tau: schedule and t must not be NULL");
    sf_status st = check_parameters(s);
    if (st != SF_OK) return st;
    if (!(tau >= 0) || !isfinite(tau))
        return sfi_fail(SF_ERR_INVALID, "heat time tau = %g must be finite and >= 0", tau);
    switch (s->kind) {
    case SF_SCHEDULE_VE:
        *t = log(sqrt(tau) / s->sigma_min) / log(s->sigma_max / s->sigma_min);
        break;
    case SF_SCHEDULE_VP_LINEAR: {
        double db = s->beta_max - s->beta_min, B = log1p(tau);
        /* solve beta_min t + db t^2 / 2 = B; the rationalised root is stable for db -> 0 */
        *t = 2.0 * B / (s->beta_min + sqrt(s->beta_min * s->beta_min + 2.0 * db * B));
        break;
    }
    case SF_SCHEDULE_VP_COSINE: {
        double c = s->cosine_s, rate = 0.5 * M_PI / (1.0 + c);
        double theta = acos(cos(rate * c) / sqrt(1.0 + tau));
        *t = theta / rate - c;
        break;
    }
    case SF_SCHEDULE_OU:
        *t = 0.5 * log1p(tau);
        break;
    case SF_SCHEDULE_EDM:
        *t = sqrt(tau);
        break;
    case SF_SCHEDULE_FLOW: { /* sigma/alpha = t/(1 - t) = sqrt(tau) */
        double r = sqrt(tau);
        *t = r / (1.0 + r);
        break;
    }
    case SF_SCHEDULE_DIRECT:
        return sfi_fail(SF_ERR_INVALID, "a direct (alpha, sigma) pair has no time axis to invert");
    }
    return SF_OK;
}

sf_status sf_heat_time(double tau, sf_time *out, size_t size)
{
    if (!out) return sfi_fail(SF_ERR_INVALID, "sf_time_heat: out is NULL");
    if (!(tau >= 0) || !isfinite(tau)) return sfi_fail(SF_ERR_INVALID, "heat time tau = %g must be finite and >= 0", tau);
    sf_schedule s = schedule_defaults(SF_SCHEDULE_DIRECT);
    s.alpha = 1.0;
    s.sigma = sqrt(tau);
    return sf_schedule_time(&s, 0.0, out, size);
}
