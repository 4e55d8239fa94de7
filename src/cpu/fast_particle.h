/* Internal: the fields at one particle once its responsibilities are known (the fast CPU
 * backend's last step): weighted sums over the components with r_k > 0, each recomputed directly
 * from e = x - alpha mu_k, and every derivative in the centred form delta_k = g_k - s (docs/fields.md). */
#ifndef SF_FAST_PARTICLE_H
#define SF_FAST_PARTICLE_H

#include "particle_f64.h"

/* r: [K] responsibilities (0 for skipped components). direct: NULL, or [K] flags of the
 * components whose r_k g_k the score sums here, rows->score holding the sum over the others on
 * entry (matrix_score.h); every other output sums over all components with r_k > 0.
 * rows: outputs and scratch as for the GPU logic (rows->score always set; logp, resp and logit
 * unused here). Writes score, denoise, div, lap, hvp, hessian, dt_score, dt_logp where their
 * pointers are not NULL. */
void sfi_fast_particle_fields(const sf_field_view_f64 *f, const double *x, const double *r, const unsigned char *direct,
                             sf_particle_rows_f64 *rows);

#endif
