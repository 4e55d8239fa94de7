/* Per-particle classification of the components (classify.h). */
#include "classify.h"
#include "simd_exp.h"
#include "simd_target.h"

#include <math.h>

/* Decided before any recompute, in a loop without branches (it vectorises). */
enum { RECOMPUTE = 3 };
_Static_assert(SF_SUM_MATRIX == 1 && SF_SUM_DIRECT == 2, "what[k] is computed arithmetically");

SF_SIMD_CLONES
int sf_classify_particle(const sf_fast_field *ff, const double *x, double *logits, const double *bound,
                         double best_lower, int matrix_sums, unsigned char *what, sf_particle_rows_f64 *w)
{
    const sf_field_view_f64 *f = &ff->view;
    int d = f->d, K = f->K, matrix = 0;
    double xnorm = 0;
    for (int i = 0; i < d; i++) xnorm += x[i] * x[i];
    xnorm = sqrt(xnorm);
    for (int k = 0; k < K; k++) {
        double a = logits[k], b = bound[k], gap = a + b - best_lower;
        double r_max = sf_exp_lane(gap < 0 ? gap : 0.0);
        double quad = 2.0 * (f->log_norm[k] - a); /* the GEMM form's e.P e */
        double error = ff->sum_error[k] * (xnorm + ff->mean_norm[k]) / sqrt(quad);
        /* a NaN anywhere fails every test: the component is recomputed, not skipped */
        int skip = gap < -SF_FAST_CUTOFF, keep = r_max * b <= SF_FAST_LOGIT_ERROR;
        int by_matrix = matrix_sums & keep & (quad > 0) & (r_max * error <= SF_FAST_SUM_ERROR);
        /* NONE (0) if skipped, else MATRIX (1), DIRECT (2) or RECOMPUTE (3): by_matrix implies keep */
        what[k] = (unsigned char)((1 - skip) * (RECOMPUTE - keep - by_matrix));
    }
    for (int k = 0; k < K; k++) {
        if (what[k] == SF_SUM_NONE) logits[k] = -INFINITY;
        else if (what[k] == SF_SUM_MATRIX) matrix++;
        else if (what[k] == RECOMPUTE) {
            logits[k] = f->log_norm[k] - 0.5 * sf_component_score_f64(f, k, x, w, 0, 1);
            what[k] = SF_SUM_DIRECT;
        }
    }
    return matrix;
}
