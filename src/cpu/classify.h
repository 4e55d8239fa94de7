/* Internal: how the fast CPU backend treats each component at one particle, from its GEMM-form
 * logit a_k and rounding bound b_k (screen.h). With r_max = exp(min(0, a_k + b_k - best lower bound)),
 * the most r_k can be:
 *  - skipped: a_k + b_k below the best lower bound by more than SF_FAST_CUTOFF (r_k < e^-80);
 *  - the GEMM-form logit is kept when r_max b_k <= SF_FAST_LOGIT_ERROR (its error moves the outputs
 *    by less than that, relative), else l_k is recomputed directly from e = x - alpha mu_k;
 *  - r_k g_k is summed by GEMM (matrix_score.h) when the logit is kept, the request wants only the
 *    score, and r_max times the GEMM form's relative error on g_k (sf_fast_field.sum_error) is
 *    below SF_FAST_SUM_ERROR; else it is summed directly (fast_particle.h).
 * Far from the data (|x| >> |x - alpha mu_k|) the GEMM forms cancel and the components that carry
 * the weight are recomputed; where the components overlap (large t) nothing cancels and the whole
 * evaluation is matrix products. */
#ifndef SF_CLASSIFY_H
#define SF_CLASSIFY_H

#include "fast_field.h"

#define SF_FAST_CUTOFF 80.0
#define SF_FAST_LOGIT_ERROR 1e-12
#define SF_FAST_SUM_ERROR 1e-12

/* what[k]: how component k enters the sums */
enum { SF_SUM_NONE = 0, SF_SUM_MATRIX = 1, SF_SUM_DIRECT = 2 };

/* For one particle x: logits[k] (a_k on entry) becomes l_k (direct, or a_k where kept, or -inf when
 * skipped), what[k] says how its r_k g_k is summed (SF_SUM_MATRIX only if matrix_sums). w: scratch
 * (w->dlogit included).
 * Returns the number of components summed by GEMM. */
int sfi_classify_particle(const sf_fast_field *ff, const double *x, double *logits, const double *bound,
                         double best_lower, int matrix_sums, unsigned char *what, sf_particle_rows_f64 *w);

#endif
