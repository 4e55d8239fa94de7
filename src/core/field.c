/* Per-time precomputation of a diffused mixture (docs/fields.md, "Per-time precomputation"). */
#include "field.h"
#include "frame_math.h"
#include "status.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void sfi_field_free(sf_field *f)
{
    free(f->alpha_mean);
    free(f->prec_diag);
    free(f->prec_basis);
    free(f->log_norm);
    free(f->trace_prec);
    free(f->trace_rate);
    memset(f, 0, sizeof *f);
}

sf_status sfi_field_build(sf_field *f, const sf_mixture *mix, const sf_time *time)
{
    return sfi_field_build_frame(f, mix, time->alpha, time->sigma2, time->has_time_derivatives, time->dalpha,
                                time->dsigma2);
}

sf_status sfi_field_build_frame(sf_field *f, const sf_mixture *mix, double alpha, double sigma2, int has_rates,
                               double dalpha, double dsigma2)
{
    sf_status st = sfi_field_init(f, mix);
    if (st == SF_OK) st = sfi_field_set_frame(f, mix, alpha, sigma2, has_rates, dalpha, dsigma2);
    if (st != SF_OK) sfi_field_free(f);
    return st;
}

sf_status sfi_field_init(sf_field *f, const sf_mixture *mix)
{
    memset(f, 0, sizeof *f);
    if (mix->count < 1) return sfi_fail(SF_ERR_INVALID, "the mixture has no components");
    int d = mix->dim, K = mix->count, R = mix->rank_offset[K];
    size_t kd = (size_t)K * d;
    sf_status sized = sfi_check_doubles("the mixture's field", (size_t)K, (size_t)d);
    if (sized != SF_OK) return sized;
    f->d = d;
    f->K = K;
    f->R = R;
    f->mean = mix->mean;
    f->cov_diag = mix->var_diag;
    f->basis = mix->basis;
    f->cov_lowrank = mix->eig;
    f->rank_offset = mix->rank_offset;
    f->weight = mix->weight;
    f->log_weight_sum = log(sfi_mixture_weight_sum(mix));
    f->alpha_mean = malloc(kd * sizeof(double));
    f->prec_diag = malloc(kd * sizeof(double));
    f->prec_basis = malloc(((size_t)R + 1) * sizeof(double));
    f->log_norm = malloc((size_t)K * sizeof(double));
    f->trace_prec = malloc((size_t)K * sizeof(double));
    f->trace_rate = malloc((size_t)K * sizeof(double));
    if (!f->alpha_mean || !f->prec_diag || !f->prec_basis || !f->log_norm || !f->trace_prec || !f->trace_rate) {
        sfi_field_free(f);
        return sfi_fail(SF_ERR_NOMEM, "out of memory preparing the mixture (K = %d, d = %d)", K, d);
    }
    return SF_OK;
}

sf_status sfi_field_set_frame(sf_field *f, const sf_mixture *mix, double alpha, double sigma2, int has_rates,
                             double dalpha, double dsigma2)
{
    if (!(alpha > 0) || !isfinite(alpha) || !(sigma2 >= 0) || !isfinite(sigma2))
        return sfi_fail(SF_ERR_INVALID, "alpha = %g, sigma^2 = %g: need alpha > 0 and sigma >= 0", alpha, sigma2);
    int d = f->d, K = f->K;
    double a2 = alpha * alpha, s2 = sigma2;
    /* eigenvalue rates: d/dt (alpha^2 c + sigma^2) = rate_c c + dsigma2 */
    double rate_c = has_rates ? 2.0 * alpha * dalpha : 0.0, rate_1 = has_rates ? dsigma2 : 0.0;
    f->alpha = alpha;
    f->sigma2 = s2;
    f->has_rates = has_rates;
    f->dalpha = has_rates ? dalpha : 0.0;
    f->dsigma2 = rate_1;

    for (int k = 0; k < K; k++) {
        double log_det = 0, trace = 0, trace_rate = 0;
        for (int i = 0; i < d; i++) {
            size_t ki = (size_t)k * d + i;
            sf_eigen_terms t = sf_eigen_at(a2, s2, rate_c, rate_1, mix->var_diag[ki]);
            if (!(t.e > 0))
                return sfi_fail(SF_ERR_INVALID,
                               "component %d is singular at this time (zero variance along coordinate %d "
                               "and sigma = 0): choose t > 0 or a component with positive variance",
                               k, i);
            if (!(t.e >= DBL_MIN)) /* subnormal: its precision 1/e overflows */
                return sfi_fail(SF_ERR_INVALID,
                               "component %d: its variance along coordinate %d at this time, %g, is below the smallest "
                               "normal double (%g): out of range (choose a larger variance or t > 0)",
                               k, i, t.e, DBL_MIN);
            f->alpha_mean[ki] = alpha * mix->mean[ki];
            f->prec_diag[ki] = t.p;
            log_det += t.log_e;
            trace += t.p;
            trace_rate += t.rate;
        }
        /* A low-rank component has a constant diagonal part e_perp; along its basis rows u_j the
         * eigenvalue is e_j = e_perp + alpha^2 lambda_j instead. Sum the r rows and the d - r
         * remaining directions separately so that nothing cancels when e_perp << e_j. */
        int rank = mix->rank_offset[k + 1] - mix->rank_offset[k];
        if (rank > 0) {
            sf_eigen_terms perp = sf_eigen_at(a2, s2, rate_c, rate_1, mix->var_diag[(size_t)k * d]);
            log_det = (d - rank) * perp.log_e;
            trace = (d - rank) * perp.p;
            trace_rate = (d - rank) * perp.rate;
            for (int j = mix->rank_offset[k]; j < mix->rank_offset[k + 1]; j++) {
                sf_eigen_terms row = sf_eigen_at(a2, s2, rate_c, rate_1, mix->var_diag[(size_t)k * d] + mix->eig[j]);
                f->prec_basis[j] = row.p;
                log_det += row.log_e;
                trace += row.p;
                trace_rate += row.rate;
            }
        }
        f->log_norm[k] = sf_log_normaliser(log(mix->weight[k]) - f->log_weight_sum, d, log_det);
        f->trace_prec[k] = trace;
        f->trace_rate[k] = trace_rate;
    }
    return SF_OK;
}

sf_status sf_mixture_check_time(const sf_mixture *mix, const sf_time *time)
{
    if (!mix || !time) return sfi_fail(SF_ERR_INVALID, "sf_mixture_check_time: mix and time must not be NULL");
    sf_field f;
    sf_status st = sfi_field_build(&f, mix, time);
    if (st == SF_OK) sfi_field_free(&f);
    return st;
}
