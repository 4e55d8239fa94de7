/* Per-particle classification of the components (classify.h). */
#include "classify.h"
#include "simd_exp.h"
#include "simd_target.h"

#include <math.h>

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
        /* skip only what is certainly below: a NaN bound (inf - inf) fails every test and is recomputed */
        if (gap < -SF_FAST_CUTOFF) {
            logits[k] = -INFINITY, what[k] = SF_SUM_NONE;
            continue;
        }
        double r_max = gap < 0 ? sf_exp_lane(gap) : 1.0;
        what[k] = SF_SUM_DIRECT;
        if (!(r_max * b <= SF_FAST_LOGIT_ERROR)) {
            logits[k] = f->log_norm[k] - 0.5 * sf_component_score_f64(f, k, x, w, 0, 1);
            continue;
        }
        double quad = 2.0 * (f->log_norm[k] - a); /* the GEMM form's e.P e */
        double error = ff->sum_error[k] * (xnorm + ff->mean_norm[k]) / sqrt(quad);
        if (matrix_sums && quad > 0 && r_max * error <= SF_FAST_SUM_ERROR) what[k] = SF_SUM_MATRIX, matrix++;
    }
    return matrix;
}
