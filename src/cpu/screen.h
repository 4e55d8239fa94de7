/* Internal: screening of a block of particles by GEMM, as on the GPU (kernels/score_particle.h):
 * the logits in the form |x - a mu|_P^2 = x.Px - 2 x.P(a mu) + (a mu).P(a mu), whose products over
 * the block are BLAS matrix products, with a rounding bound on each. A component whose logit,
 * even at the top of its bound, lies more than a cutoff below the best lower bound carries
 * r_k < exp(-cutoff) and is skipped; the rest are recomputed directly. */
#ifndef SF_SCREEN_H
#define SF_SCREEN_H

#include "fast_field.h"

/* Scratch of one block of at most `rows` particles. */
typedef struct {
    double *xpx;   /* [rows x K] x.P_diag x for fields without a uniform diagonal, else NULL */
    double *xsq;   /* [rows x d] x * x for that product, else NULL */
    double *proj;  /* [rows x R] u_j . x (NULL when R = 0) */
} sf_screen_scratch;

sf_status sfi_screen_scratch_alloc(sf_screen_scratch *s, const sf_fast_field *ff, int rows);
void sfi_screen_scratch_free(sf_screen_scratch *s);

/* For the n <= rows particles x (n x d): approx[i, k], the GEMM-form logit, and bound[i, k], its
 * rounding bound (n x K each), and best_lower[i] = max_k (approx - bound). s->proj keeps the
 * projections u_j . x. BLAS is called from the calling thread (inside an OpenMP team it runs on
 * that one thread). */
void sfi_screen_block(const sf_fast_field *ff, const double *x, int n, double *approx, double *bound,
                     double *best_lower, sf_screen_scratch *s);

/* sf_logit_bound_f64 over all components of a field without basis rows and with uniform
 * diagonals (isotropic), written out so that the loop vectorises: the same expressions, so the same
 * doubles (tests/test_fast_backend.c checks). sq = |x|^2; a[k] holds x . P(a mu_k) on entry and the
 * approximate logit on return, b[k] its bound. */
void sfi_screen_rank_free_bounds(const sf_field_view_f64 *f, double sq, double *a, double *b);

#endif
