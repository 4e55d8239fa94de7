/* Information flow (docs/analyses.md, "Information flow"): the heat-time rate of the conditional
 * entropy per particle and its mean, the generative bandwidth b(t); the label entropy and its
 * moments; the symmetric pair's peaks checked by Monte Carlo; and the entropy budget, the rate
 * integrated along sampler paths against the integral of b. */
#include "abi.h"
#include "context.h"
#include "mixture.h"
#include "numerics.h"
#include "status.h"

#include <math.h>
#include <string.h>
#include <stdlib.h>

/* h' = alpha^2 (div s + d/sigma^2)/2 from the divergence at the particles */
static void rate_from_divergence(const sf_time *time, int d, double *v, size_t n)
{
    double a2 = time->alpha * time->alpha;
    for (size_t i = 0; i < n; i++) v[i] = 0.5 * a2 * (v[i] + d / time->sigma2);
}

sf_status sf_entropy_rate(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x, size_t n,
                          double *rate)
{
    sfi_error_clear();
    if (!ctx || !mix || !time || (n > 0 && (!x || !rate)))
        return sfi_fail(SF_ERR_INVALID, "sf_entropy_rate: ctx, mix, time, x and rate must not be NULL");
    if (!(time->sigma2 > 0)) return sfi_fail(SF_ERR_INVALID, "the entropy rate needs sigma > 0 (t > 0 for VP schedules)");
    sf_outputs o = {.div = rate};
    sf_status st = sf_evaluate(ctx, mix, time, x, n, &o);
    if (st == SF_OK) rate_from_divergence(time, mix->dim, rate, n);
    return st;
}

/* The estimate of n values of which this process holds v[0 .. count) (all n without a share, as
 * sfi_estimate_of): the sums added over the processes of the context's share. */
static sf_status estimate_shared(const sf_context *ctx, const double *v, size_t count, size_t n, sf_estimate *out)
{
    if (!ctx->sum) {
        sfi_estimate_of(v, n, out);
        return SF_OK;
    }
    double total = 0, m[2];
    for (size_t i = 0; i < count; i++) total += v[i];
    sf_status st = sfi_context_sum(ctx, &total, 1);
    if (st != SF_OK) return st;
    double mean = total / (double)n;
    sfi_central_sums(v, count, mean, m);
    if ((st = sfi_context_sum(ctx, m, 2)) == SF_OK) sfi_estimate_from(mean, m[0], m[1], n, out);
    return st;
}

/* The values of `statistic` at n exact draws of p_t (this process's share of them), summarised. */
typedef sf_status (*per_particle)(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x, size_t n,
                                  double *out);

static sf_status draw_and_estimate(sf_context *ctx, const sf_mixture *mix, const sf_time *time, size_t n, uint64_t seed,
                                   per_particle statistic, sf_estimate *out)
{
    if (!ctx || !mix || !time || !out) return sfi_fail(SF_ERR_INVALID, "a required argument (ctx, mix, time or out) is NULL");
    if (mix->count < 1) return sfi_fail(SF_ERR_INVALID, "the mixture has no components");
    sf_status sized = sfi_check_doubles("the Monte Carlo draws", n, (size_t)mix->dim);
    if (sized != SF_OK) return sized;
    if (n < 2) return sfi_fail(SF_ERR_INVALID, "a Monte Carlo estimate needs at least 2 draws");
    size_t first, count;
    sfi_context_share(ctx, n, &first, &count);
    double *x = malloc(count * (size_t)mix->dim * sizeof(double) + 1), *v = malloc(count * sizeof(double) + 1);
    sf_status st = x && v ? SF_OK : sfi_fail(SF_ERR_NOMEM, "out of memory for %zu draws", count);
    if (st == SF_OK) st = sf_sample_marginal(mix, time, seed, first, x, count);
    if (st == SF_OK) st = statistic(ctx, mix, time, x, count, v);
    if (st == SF_OK) st = estimate_shared(ctx, v, count, n, out);
    free(x), free(v);
    return st;
}

sf_status sf_bandwidth(sf_context *ctx, const sf_mixture *mix, const sf_time *time, size_t n, uint64_t seed, double *b,
                       double *std_error)
{
    sfi_error_clear();
    if (!ctx || !mix || !time || !b) return sfi_fail(SF_ERR_INVALID, "sf_bandwidth: ctx, mix, time and b must not be NULL");
    if (mix->count < 1) return sfi_fail(SF_ERR_INVALID, "sf_bandwidth: the mixture has no components");
    sf_status sized = sfi_check_doubles(__func__, n, (size_t)mix->dim);
    if (sized != SF_OK) return sized;
    if (!time->has_time_derivatives) return sfi_fail(SF_ERR_INVALID, "the bandwidth is a rate in t: it needs a schedule");
    sf_estimate e;
    sf_status st = draw_and_estimate(ctx, mix, time, n, seed, sf_entropy_rate, &e);
    if (st != SF_OK) return st;
    *b = time->dtau * e.mean; /* b = (d tau/dt) E[h'] = g^2 E[div s + d/sigma^2] / 2 */
    if (std_error) *std_error = time->dtau * e.mean_se;
    return SF_OK;
}

sf_status sf_label_entropy(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x, size_t n,
                           double *h)
{
    sfi_error_clear();
    if (!ctx || !mix || !time || (n > 0 && (!x || !h)))
        return sfi_fail(SF_ERR_INVALID, "sf_label_entropy: ctx, mix, time, x and h must not be NULL");
    if (mix->count < 1) return sfi_fail(SF_ERR_INVALID, "sf_label_entropy: the mixture has no components");
    sf_status sized = sfi_check_doubles(__func__, n, (size_t)mix->count);
    if (sized != SF_OK) return sized;
    int K = mix->count;
    double *r = malloc(n * (size_t)K * sizeof(double) + 1);
    if (!r) return sfi_fail(SF_ERR_NOMEM, "out of memory for %zu particles", n);
    sf_outputs o = {.resp = r};
    sf_status st = sf_evaluate(ctx, mix, time, x, n, &o);
    for (size_t i = 0; st == SF_OK && i < n; i++) {
        double e = 0;
        for (int k = 0; k < K; k++) {
            double p = r[i * K + k];
            if (p > 0) e -= p * log(p);
        }
        h[i] = e;
    }
    free(r);
    return st;
}

sf_status sf_label_entropy_moments(sf_context *ctx, const sf_mixture *mix, const sf_time *time, size_t n, uint64_t seed,
                                   sf_estimate *h)
{
    sfi_error_clear();
    return draw_and_estimate(ctx, mix, time, n, seed, sf_label_entropy, h);
}

static sf_status pair_peak_check_into(sf_context *ctx, const sf_mixture *mix, sf_pair_statistic which, size_t n,
                                      uint64_t seed,
                             sf_peak_check *out)
{
    sfi_error_clear();
    if (!ctx || !mix || !out) return sfi_fail(SF_ERR_INVALID, "sf_pair_peak_check: ctx, mix and out must not be NULL");
    sf_time t;
    double nu;
    sf_status st = sf_pair_variance_peak(which, &out->exact);
    if (st == SF_OK) st = sf_pair_tau_of_kappa(mix, out->exact.kappa, &out->tau);
    if (st == SF_OK) st = sf_pair_kappa(mix, out->tau, NULL, &nu);
    if (st == SF_OK) st = sf_time_heat(out->tau, &t);
    if (st == SF_OK)
        st = draw_and_estimate(ctx, mix, &t, n, seed, which == SF_PAIR_LABEL_ENTROPY ? sf_label_entropy : sf_entropy_rate, &out->mc);
    if (st != SF_OK) return st;
    if (which == SF_PAIR_NORMALISED_RATE) { /* rho = nu h' */
        out->mc.mean *= nu, out->mc.mean_se *= nu;
        out->mc.var *= nu * nu, out->mc.var_se *= nu * nu;
    }
    out->z = (out->mc.var - out->exact.var) / out->mc.var_se;
    return SF_OK;
}

/* ---------------------------------------------------------------- the entropy budget */

/* Along the sampler's paths: per particle, the trapezoid rule in log tau of tau h', which is
 * int h' dtau = int (rate in t) dt. */
typedef struct {
    sf_plan *plan; /* the field, moved to each step's time */
    const sf_schedule *schedule;
    double *g_prev, *g, *integral, log_tau_prev;
    int started;
} path_budget;

static sf_status accumulate(void *data, int step, double t, const double *x, size_t n, int d)
{
    (void)step;
    path_budget *pb = data;
    sf_time tm;
    sf_outputs o = {.div = pb->g};
    sf_status st = sf_schedule_at(pb->schedule, t, &tm);
    if (st == SF_OK && !(tm.sigma2 > 0)) st = sfi_fail(SF_ERR_INVALID, "the entropy rate needs sigma > 0");
    if (st == SF_OK) st = sf_plan_set_time(pb->plan, &tm);
    if (st == SF_OK) st = sf_plan_evaluate(pb->plan, x, n, &o);
    if (st != SF_OK) return st;
    rate_from_divergence(&tm, d, pb->g, n);
    double log_tau = log(tm.tau);
    for (size_t i = 0; i < n; i++) {
        double g = tm.tau * pb->g[i];
        if (pb->started) pb->integral[i] += 0.5 * (g + pb->g_prev[i]) * (pb->log_tau_prev - log_tau);
        pb->g_prev[i] = g;
    }
    pb->log_tau_prev = log_tau, pb->started = 1;
    return SF_OK;
}

static sf_status pathwise_budget(sf_context *ctx, const sf_mixture *mix, const sf_schedule *schedule, double t0, double t1,
                                 size_t n, int steps, uint64_t seed, sf_estimate *out)
{
    sf_sampler smp = sf_sampler_default(SF_SAMPLER_HEUN);
    smp.t1 = t1, smp.t0 = t0, smp.steps = steps, smp.spacing = SF_SPACING_LAMBDA, smp.seed = seed;
    size_t first, count; /* this process's paths */
    sfi_context_share(ctx, n, &first, &count);
    double *x = malloc(count * (size_t)mix->dim * sizeof(double) + 1);
    path_budget pb = {NULL, schedule, malloc(count * sizeof(double) + 1), malloc(count * sizeof(double) + 1),
                      calloc(count + 1, sizeof(double)), 0, 0};
    sf_status st = x && pb.g_prev && pb.g && pb.integral ? SF_OK : sfi_fail(SF_ERR_NOMEM, "out of memory for %zu paths", count);
    sf_time start;
    if (st == SF_OK) st = sf_schedule_at(schedule, t1, &start);
    if (st == SF_OK) st = sf_plan_create(&pb.plan, ctx, mix, &start);
    if (st == SF_OK) st = sf_sample_marginal(mix, &start, seed, first, x, count);
    if (st == SF_OK) st = sf_sample(ctx, mix, schedule, &smp, x, count, first, accumulate, &pb, 1);
    if (st == SF_OK) st = estimate_shared(ctx, pb.integral, count, n, out);
    sf_plan_destroy(pb.plan);
    free(x), free(pb.g_prev), free(pb.g), free(pb.integral);
    return st;
}

/* Along noising paths y = x0 + sqrt(tau) z (the same draw at every tau): per draw, composite
 * Gauss-Legendre in log tau of tau h'(y, tau); each node's draws are exact samples of q_tau, so
 * the mean over draws is int h' dtau averaged, i.e. int b dt. */
static sf_status noising_budget(sf_context *ctx, const sf_mixture *mix, double tau0, double tau1, size_t n, uint64_t seed,
                                sf_estimate *out)
{
    int panels = 2 * (int)ceil(log(tau1 / tau0) + 1), nodes = panels * SF_GL_POINTS;
    double *s = malloc((size_t)nodes * sizeof(double)), *w = malloc((size_t)nodes * sizeof(double));
    size_t first, count; /* this process's draws */
    sfi_context_share(ctx, n, &first, &count);
    double *x = malloc(count * (size_t)mix->dim * sizeof(double) + 1), *g = malloc(count * sizeof(double) + 1);
    double *sum = calloc(count + 1, sizeof(double));
    sf_status st = s && w && x && g && sum ? SF_OK : sfi_fail(SF_ERR_NOMEM, "out of memory for %zu draws", count);
    if (st == SF_OK) sfi_gauss_legendre(log(tau0), log(tau1), panels, s, w);
    for (int q = 0; st == SF_OK && q < nodes; q++) {
        sf_time t;
        double tau = exp(s[q]);
        if ((st = sf_time_heat(tau, &t)) != SF_OK || (st = sf_sample_marginal(mix, &t, seed, first, x, count)) != SF_OK ||
            (st = sf_entropy_rate(ctx, mix, &t, x, count, g)) != SF_OK)
            break;
        for (size_t i = 0; i < count; i++) sum[i] += w[q] * tau * g[i];
    }
    if (st == SF_OK) st = estimate_shared(ctx, sum, count, n, out);
    free(s), free(w), free(x), free(g), free(sum);
    return st;
}

static sf_status entropy_budget_into(sf_context *ctx, const sf_mixture *mix, const sf_schedule *schedule, double t0,
                                     double t1,
                            size_t n, int steps, uint64_t seed, sf_budget *out)
{
    sfi_error_clear();
    if (!ctx || !mix || !schedule || !out)
        return sfi_fail(SF_ERR_INVALID, "sf_entropy_budget: ctx, mix, schedule and out must not be NULL");
    if (mix->count < 1) return sfi_fail(SF_ERR_INVALID, "sf_entropy_budget: the mixture has no components");
    sf_status sized = sfi_check_doubles(__func__, n, (size_t)mix->dim);
    if (sized != SF_OK) return sized;
    if (n < 2 || steps < 2 || !(t1 > t0)) return sfi_fail(SF_ERR_INVALID, "the entropy budget needs n >= 2, steps >= 2 and t1 > t0");
    sf_time a, b;
    sf_status st = sf_schedule_at(schedule, t0, &a);
    if (st == SF_OK) st = sf_schedule_at(schedule, t1, &b);
    if (st == SF_OK && !(a.tau > 0)) st = sfi_fail(SF_ERR_INVALID, "the entropy budget needs sigma(t0) > 0");
    if (st == SF_OK) st = pathwise_budget(ctx, mix, schedule, t0, t1, n, steps, seed, &out->pathwise);
    if (st == SF_OK) st = noising_budget(ctx, mix, a.tau, b.tau, n, seed + 1, &out->integral);
    if (st == SF_OK)
        out->z = (out->pathwise.mean - out->integral.mean) /
                 sqrt(out->pathwise.mean_se * out->pathwise.mean_se + out->integral.mean_se * out->integral.mean_se);
    return st;
}

/* sf_pair_peak_check for a caller's sf_peak_check of `size` bytes (sizeof in its header): the fields it knows. */
sf_status sf_pair_peak_check_sized(sf_context *ctx, const sf_mixture *mix, sf_pair_statistic which, size_t n,
                                   uint64_t seed, sf_peak_check *out, size_t size)
{
    sf_peak_check result;
    memset(&result, 0, sizeof result);
    sf_status st = pair_peak_check_into(ctx, mix, which, n, seed, out ? &result : NULL);
    if (st == SF_OK && out) st = sfi_struct_store(out, size, &result, SF_PEAK_CHECK_SIZE_0_1, sizeof result,
        "sf_peak_check");
    return st;
}

/* sf_entropy_budget for a caller's sf_budget of `size` bytes (sizeof in its header): the fields it knows. */
sf_status sf_entropy_budget_sized(sf_context *ctx, const sf_mixture *mix, const sf_schedule *schedule, double t0,
                                  double t1, size_t n, int steps, uint64_t seed, sf_budget *out, size_t size)
{
    sf_budget result;
    memset(&result, 0, sizeof result);
    sf_status st = entropy_budget_into(ctx, mix, schedule, t0, t1, n, steps, seed, out ? &result : NULL);
    if (st == SF_OK && out) st = sfi_struct_store(out, size, &result, SF_BUDGET_SIZE_0_1, sizeof result, "sf_budget");
    return st;
}
