/* The score's GEMM share as matrix products (matrix_score.h). */
#include "matrix_score.h"

#include <cblas.h>

void sfi_matrix_score(const sf_fast_field *ff, const double *x, int n, const double *weights, const double *proj,
                   double *score, double *scratch, double *coef)
{
    const sf_field_view_f64 *f = &ff->view;
    int d = f->d, K = f->K, R = f->R;
    /* sum_k r_k P_diag,k (a mu_k) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, K, 1.0, weights, K, f->prec_mean, d, 0.0, score, d);
    /* - sum_k r_k P_diag,k x */
    if (ff->uniform_diag) {
        for (int i = 0; i < n; i++) {
            const double *w = weights + (size_t)i * K;
            double rp = 0;
            for (int k = 0; k < K; k++) rp += w[k] * f->prec_diag[(size_t)k * d];
            for (int j = 0; j < d; j++) score[(size_t)i * d + j] -= rp * x[(size_t)i * d + j];
        }
    } else {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, K, 1.0, weights, K, f->prec_diag, d, 0.0, scratch, d);
        for (size_t e = 0; e < (size_t)n * d; e++) score[e] -= scratch[e] * x[e];
    }
    if (R == 0) return;
    /* - sum_k r_k sum_j (1/e_j - p_perp) (u_j . (x - a mu_k)) u_j over the low-rank rows */
    for (int i = 0; i < n; i++) {
        const double *w = weights + (size_t)i * K, *pr = proj + (size_t)i * R;
        double *c = coef + (size_t)i * R;
        for (int k = 0; k < K; k++) {
            double p_perp = f->prec_diag[(size_t)k * d];
            for (int j = f->rank_offset[k]; j < f->rank_offset[k + 1]; j++)
                c[j] = w[k] == 0 ? 0.0 : w[k] * (f->prec_basis[j] - p_perp) * (pr[j] - f->basis_mean[j]);
        }
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, R, -1.0, coef, R, f->basis, d, 1.0, score, d);
}
