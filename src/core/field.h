/* Internal: a mixture diffused to one time, in the spectral form of docs/fields.md.
 * Sigma_k = alpha^2 C_k + sigma^2 I has eigenvalues e_ki = alpha^2 c_ki + sigma^2 along the axes for
 * isotropic and diagonal components; a low-rank component (constant diagonal part, e_perp) has
 * e_j = e_perp + alpha^2 lambda_j along its basis rows u_j. Its precision is applied in the form
 *   P v = (v - sum_j (u_j.v) u_j) / e_perp + sum_j (u_j.v) u_j / e_j,
 * which, unlike v/e_perp + sum_j (1/e_j - 1/e_perp)(u_j.v) u_j, does not cancel when
 * e_perp << e_j (data on a subspace near t = 0). One representation covers all three kinds;
 * it is built once per time
 * on the host in float64; the CPU path and the CUDA path both evaluate from it. */
#ifndef SF_FIELD_H
#define SF_FIELD_H

#include "mixture.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int d, K, R;               /* dimension, components, total basis rows */
    double alpha, sigma2;
    int has_rates;             /* d alpha and d sigma^2 below are set (time derivatives wanted) */
    double dalpha, dsigma2;    /* rates of the frame: d/dt in a schedule, (0, 1) in heat time */
    const double *mean;        /* [K x d] data-space means mu_k (borrowed from the mixture) */
    const double *cov_diag;    /* [K x d] diagonal part of C_k (borrowed) */
    const double *basis;       /* [R x d] rows u_j (borrowed) */
    const double *cov_lowrank; /* [R] lambda_j (borrowed) */
    const int *rank_offset;    /* [K + 1] (borrowed) */
    const double *weight;      /* [K] raw weights (borrowed); normalised by log_weight_sum */
    double log_weight_sum;     /* ln sum_k w_k */
    double *alpha_mean;        /* [K x d] alpha mu_k */
    double *prec_diag;         /* [K x d] 1 / (alpha^2 c_ki + sigma^2) */
    double *prec_basis;        /* [R] 1/e_j along basis row j */
    double *log_norm;          /* [K] ln w_k - (d ln 2 pi + log det Sigma_k) / 2 */
    double *trace_prec;        /* [K] tr P_k */
    double *trace_rate;        /* [K] tr(P_k dSigma_k), dSigma_k = 2 alpha dalpha C_k + dsigma^2 I (if has_rates) */
} sf_field;

/* Builds the field of `mix` at `time` (with the time's rates when it has derivatives); refuses a
 * time at which a component is singular. */
sf_status sfi_field_build(sf_field *field, const sf_mixture *mix, const sf_time *time);
/* The same for a frame given directly: (alpha, sigma^2) and, if has_rates, their rates.
 * The heat frame of docs/conventions.md is (1, tau) with rates (0, 1). */
sf_status sfi_field_build_frame(sf_field *field, const sf_mixture *mix, double alpha, double sigma2, int has_rates,
                               double dalpha, double dsigma2);
/* The two halves of sfi_field_build_frame, for plans that change time: sfi_field_init allocates
 * (per mixture), sfi_field_set_frame fills the time-dependent arrays in place (per time; the
 * field keeps its allocation if this fails). */
sf_status sfi_field_init(sf_field *field, const sf_mixture *mix);
sf_status sfi_field_set_frame(sf_field *field, const sf_mixture *mix, double alpha, double sigma2, int has_rates,
                             double dalpha, double dsigma2);
void sfi_field_free(sf_field *field);

#ifdef __cplusplus
}
#endif
#endif
