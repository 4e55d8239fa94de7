/* Internal: a diffused mixture packed into one contiguous buffer of float64 or float32, for the
 * GPU (one upload per evaluation) and for the CPU tests of the GPU's per-particle logic. */
#ifndef SF_FIELD_PACK_H
#define SF_FIELD_PACK_H

#include "field.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element offsets of each array inside the packed buffer (see sf_field_view in score_particle.h). */
typedef struct {
    size_t alpha_mean, prec_diag, mean, cov_diag, basis, prec_basis, cov_lowrank, log_norm, trace_prec, trace_rate,
        mean_quad, basis_mean, prec_mean, total;
} sf_field_layout;

sf_field_layout sfi_field_layout_of(const sf_field *field);
/* Writes the arrays into buffer (layout.total elements of double, or of float if single != 0),
 * with the GEMM-form constants mean_quad[k] = (a mu_k).P_diag(a mu_k) and
 * basis_mean[j] = u_j.(a mu_k) and prec_mean = P_diag (a mu_k) (K x d) computed in float64 first. */
void sfi_field_pack(const sf_field *field, const sf_field_layout *layout, int single, void *buffer);

#ifdef __cplusplus
}
#endif
#endif
