/* Internal: the score's weighted sum over components as matrix products, for the components of a
 * block where that form is accurate enough (classify.h): E[.|x] is R M-shaped, so
 *   sum_k r_k g_k = W PM - x o (W PD) - C U,  g_k = P_k (a mu_k - x) in the GEMM form
 * (PM = P_diag (a mu), PD = P_diag, both K x d; U the basis rows, C_ij = r_k (1/e_j - p_perp)
 * (u_j . x - u_j . a mu_k) for row j of component k). The GEMM form loses digits when
 * |x| >> |x - a mu_k|: such components, where they carry weight, are summed directly
 * (fast_particle.h). */
#ifndef SF_MATRIX_SCORE_H
#define SF_MATRIX_SCORE_H

#include "fast_field.h"

/* score (n x d) = the sum for weights (n x K; r_k for the GEMM components, 0 elsewhere), x (n x d),
 * proj (n x R, u_j . x; unused when R = 0). scratch: n x d doubles, plus n x R for `coef`. */
void sfi_matrix_score(const sf_fast_field *ff, const double *x, int n, const double *weights, const double *proj,
                   double *score, double *scratch, double *coef);

#endif
