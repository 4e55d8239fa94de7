/* Internal: the fast CPU backend's copy of a field (backend.h "prepare"): the field packed in
 * float64 with the GEMM-form constants (field_pack.h), viewed as the GPU logic views it. Moving
 * the plan in time repacks it: O(K d + R d), no allocation. */
#ifndef SF_FAST_FIELD_H
#define SF_FAST_FIELD_H

#include "particle_f64.h"
#include "status.h"

typedef struct {
    sf_field_layout layout;
    double *packed;         /* layout.total doubles */
    sf_field_view_f64 view; /* over packed */
    int uniform_diag;       /* every component's diagonal precision is one number p_k (isotropic and
                               low-rank components): then x.P_diag x = |x|^2 p_k, no second GEMM */
    double *mean_norm;      /* [K] |a mu_k| */
    double *sum_error;      /* [K] sqrt(d) eps (p_max / p_min) sqrt(p_max), p the eigenvalues of P_k: the
                               GEMM form of g_k is wrong by at most sum_error (|x| + |a mu_k|) / sqrt(e.P e)
                               relative to |g_k| (classify.h) */
} sf_fast_field;

sf_status sfi_fast_field_prepare(sf_fast_field *ff, const sf_field *field);
/* The field's time-dependent arrays changed (same mixture). */
void sfi_fast_field_update(sf_fast_field *ff, const sf_field *field);
void sfi_fast_field_release(sf_fast_field *ff);

#endif
