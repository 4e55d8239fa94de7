/* Information flow (SPEC.md G): the generative bandwidth b(t) = g^2 E[div s + d/sigma^2] / 2 (the
 * rate at which generation removes uncertainty about x0) by Monte Carlo over exact draws, and the
 * label entropy -sum_k r_k ln r_k at particles. */
#include "mixture.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>

sf_status sf_bandwidth(sf_context *ctx, const sf_mixture *mix, const sf_time *time, size_t n, uint64_t seed, double *b,
                       double *std_error)
{
    sf_error_clear();
    if (!ctx || !mix || !time || !b) return sf_fail(SF_ERR_INVALID, "sf_bandwidth: ctx, mix, time and b must not be NULL");
    if (mix->count < 1) return sf_fail(SF_ERR_INVALID, "sf_bandwidth: the mixture has no components");
    sf_status sized = sf_check_doubles(__func__, n, (size_t)mix->dim);
    if (sized != SF_OK) return sized;
    if (!time->has_time_derivatives) return sf_fail(SF_ERR_INVALID, "the bandwidth is a rate in t: it needs a schedule");
    if (n < 2) return sf_fail(SF_ERR_INVALID, "the bandwidth needs at least 2 draws");
    if (!(time->sigma2 > 0)) return sf_fail(SF_ERR_INVALID, "the bandwidth needs sigma > 0 (t > 0 for VP schedules)");
    int d = mix->dim;
    double *x = malloc(n * (size_t)d * sizeof(double)), *div = malloc(n * sizeof(double));
    sf_status st = x && div ? SF_OK : sf_fail(SF_ERR_NOMEM, "out of memory for %zu draws", n);
    if (st == SF_OK) st = sf_sample_marginal(mix, time, seed, 0, x, n);
    sf_outputs o = {.div = div};
    if (st == SF_OK) st = sf_evaluate(ctx, mix, time, x, n, &o);
    if (st == SF_OK) {
        /* per draw: g^2 (div s + d / sigma^2) / 2; mean and standard error (Welford) */
        double mean = 0, m2 = 0;
        for (size_t i = 0; i < n; i++) {
            double v = 0.5 * time->g2 * (div[i] + d / time->sigma2), delta = v - mean;
            mean += delta / (double)(i + 1);
            m2 += delta * (v - mean);
        }
        *b = mean;
        if (std_error) *std_error = sqrt(m2 / (double)(n - 1) / (double)n);
    }
    free(x), free(div);
    return st;
}

sf_status sf_label_entropy(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x, size_t n,
                           double *h)
{
    sf_error_clear();
    if (!ctx || !mix || !time || (n > 0 && (!x || !h)))
        return sf_fail(SF_ERR_INVALID, "sf_label_entropy: ctx, mix, time, x and h must not be NULL");
    if (mix->count < 1) return sf_fail(SF_ERR_INVALID, "sf_label_entropy: the mixture has no components");
    sf_status sized = sf_check_doubles(__func__, n, (size_t)mix->count);
    if (sized != SF_OK) return sized;
    int K = mix->count;
    double *r = malloc(n * (size_t)K * sizeof(double) + 1);
    if (!r) return sf_fail(SF_ERR_NOMEM, "out of memory for %zu particles", n);
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
