/* GEMM screening of a particle block (screen.h). */
#include "screen.h"
#include "simd_target.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

sf_status sfi_screen_scratch_alloc(sf_screen_scratch *s, const sf_fast_field *ff, int rows)
{
    const sf_field_view_f64 *f = &ff->view;
    s->xpx = s->xsq = s->proj = NULL;
    int ok = 1;
    if (!ff->uniform_diag) {
        ok = (s->xpx = malloc((size_t)rows * f->K * sizeof(double))) && ok;
        ok = (s->xsq = malloc((size_t)rows * f->d * sizeof(double))) && ok;
    }
    if (f->R > 0) ok = (s->proj = malloc((size_t)rows * f->R * sizeof(double))) && ok;
    if (!ok) {
        sfi_screen_scratch_free(s);
        return sfi_fail(SF_ERR_NOMEM, "out of memory for a screening block (%d particles, K = %d)", rows, f->K);
    }
    return SF_OK;
}

void sfi_screen_scratch_free(sf_screen_scratch *s)
{
    free(s->xpx), free(s->xsq), free(s->proj);
    s->xpx = s->xsq = s->proj = NULL;
}

/* C (n x cols) = A (n x d) B^T, B given as cols rows of length d. */
static void gemm_rows(const double *a, int n, int d, const double *b, int cols, double *c)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, cols, d, 1.0, a, d, b, d, 0.0, c, cols);
}

SF_SIMD_CLONES
void sfi_screen_rank_free_bounds(const sf_field_view_f64 *f, double sq, double *a, double *b)
{
    int d = f->d;
    for (int k = 0; k < f->K; k++) {
        double xpx = sq * f->prec_diag[(size_t)k * d], xpm = a[k];
        double quad = xpx - 2 * xpm + f->mean_quad[k];
        quad = quad < 0 ? 0 : quad;
        a[k] = f->log_norm[k] - (double)0.5 * quad;
        /* the shared bound of kernels/score_particle.h, with sf_logit_bound_f64's units */
        b[k] = sf_diagonal_logit_bound(d, xpx, f->mean_quad[k], DBL_EPSILON / 2, 0, 0, DBL_EPSILON / 2);
    }
}

void sfi_screen_block(const sf_fast_field *ff, const double *x, int n, double *approx, double *bound,
                     double *best_lower, sf_screen_scratch *s)
{
    const sf_field_view_f64 *f = &ff->view;
    int d = f->d, K = f->K, R = f->R;
    gemm_rows(x, n, d, f->prec_mean, K, approx); /* x . P_diag (a mu_k), turned into logits below */
    if (!ff->uniform_diag) {
        for (size_t e = 0; e < (size_t)n * d; e++) s->xsq[e] = x[e] * x[e];
        gemm_rows(s->xsq, n, d, f->prec_diag, K, s->xpx);
    }
    if (R > 0) gemm_rows(x, n, d, f->basis, R, s->proj);
    for (int i = 0; i < n; i++) {
        const double *xi = x + (size_t)i * d;
        double sq = 0;
        if (ff->uniform_diag)
            for (int j = 0; j < d; j++) sq += xi[j] * xi[j];
        double *a = approx + (size_t)i * K, *b = bound + (size_t)i * K;
        if (R == 0 && ff->uniform_diag) sfi_screen_rank_free_bounds(f, sq, a, b);
        else
            for (int k = 0; k < K; k++) {
                double xpx = ff->uniform_diag ? sq * f->prec_diag[(size_t)k * d] : s->xpx[(size_t)i * K + k];
                const double *proj = R > 0 ? s->proj + (size_t)i * R + f->rank_offset[k] : NULL;
                sf_logit_bound_f64(f, k, xpx, a[k], proj, DBL_EPSILON, &a[k], &b[k]);
            }
        double best = -INFINITY;
        for (int k = 0; k < K; k++) best = a[k] - b[k] > best ? a[k] - b[k] : best;
        best_lower[i] = best;
    }
}
