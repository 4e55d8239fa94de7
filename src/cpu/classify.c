/* Per-particle classification of the components (classify.h). */
#include "classify.h"
#include "simd_exp.h"
#include "simd_target.h"

#include <math.h>

/* What each component needs, decided before any recompute in a branch-free loop over restrict
 * arrays (it vectorises): code[k] = 0 skipped, 1 summed by GEMM, 2 summed directly with the GEMM
 * logit, 3 recomputed. A NaN anywhere fails every test: such a component is recomputed. */
enum { RECOMPUTE = 3 };
_Static_assert(SF_SUM_NONE == 0 && SF_SUM_MATRIX == 1 && SF_SUM_DIRECT == 2, "codes are computed arithmetically");

SF_SIMD_CLONES
static void decide(int K, const double *restrict logits, const double *restrict bound, double best_lower,
                   const double *restrict log_norm, const double *restrict sum_error, const double *restrict mean_norm,
                   double xnorm, int matrix_sums, double *restrict code)
{
    for (int k = 0; k < K; k++) {
        double a = logits[k], b = bound[k], gap = a + b - best_lower;
        double r_max = sf_exp_lane(gap < 0 ? gap : 0.0);
        double quad = 2.0 * (log_norm[k] - a); /* the GEMM form's e.P e */
        double error = sum_error[k] * (xnorm + mean_norm[k]) / sqrt(quad);
        double kept = gap < -SF_FAST_CUTOFF ? 0.0 : 1.0;
        double keep = r_max * b <= SF_FAST_LOGIT_ERROR ? 1.0 : 0.0;
        double by_matrix = matrix_sums && quad > 0 && r_max * error <= SF_FAST_SUM_ERROR ? keep : 0.0;
        code[k] = kept * (RECOMPUTE - keep - by_matrix);
    }
}

SF_SIMD_CLONES
int sfi_classify_particle(const sf_fast_field *ff, const double *x, double *logits, const double *bound,
                         double best_lower, int matrix_sums, unsigned char *what, sf_particle_rows_f64 *w)
{
    const sf_field_view_f64 *f = &ff->view;
    int d = f->d, K = f->K, matrix = 0;
    double xnorm = 0;
    for (int i = 0; i < d; i++) xnorm += x[i] * x[i];
    double *code = w->dlogit; /* K doubles of scratch */
    decide(K, logits, bound, best_lower, f->log_norm, ff->sum_error, ff->mean_norm, sqrt(xnorm), matrix_sums, code);
    for (int k = 0; k < K; k++) {
        what[k] = (unsigned char)code[k];
        if (what[k] == SF_SUM_NONE) logits[k] = -INFINITY;
        else if (what[k] == SF_SUM_MATRIX) matrix++;
        else if (what[k] == RECOMPUTE) {
            logits[k] = f->log_norm[k] - 0.5 * sf_component_score_f64(f, k, x, w, 0, 1);
            what[k] = SF_SUM_DIRECT;
        }
    }
    return matrix;
}
