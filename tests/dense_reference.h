/* Test-only dense route: each component's noised covariance written out as a d x d matrix,
 * Cholesky-factored in long double. Independent of the library's spectral form (docs/fields.md). */
#ifndef SF_DENSE_REFERENCE_H
#define SF_DENSE_REFERENCE_H

#include "scorefield.h"

/* Fields of `mix` at `time` at one particle x, by the dense route. Any output may be NULL.
 * div uses the uncentred sum_k r_k(|g_k|^2 - tr P_k) - |s|^2 in long double. Returns 0 on failure. */
int dense_fields(const sf_mixture *mix, const sf_time *time, const double *x, double *logp, double *score,
                 double *resp, double *div, double *denoise);

#endif
