/* The fast backend's prepared field (fast_field.h). */
#include "fast_field.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int diagonal_is_uniform(const sf_field *f)
{
    for (int k = 0; k < f->K; k++) {
        const double *p = f->prec_diag + (size_t)k * f->d;
        for (int i = 1; i < f->d; i++)
            if (p[i] != p[0]) return 0;
    }
    return 1;
}

/* |a mu_k| and the GEMM form's error factor of each component (fast_field.h). */
static void component_sizes(const sf_field *f, sf_fast_field *ff)
{
    int d = f->d;
    for (int k = 0; k < f->K; k++) {
        const double *am = f->alpha_mean + (size_t)k * d, *p = f->prec_diag + (size_t)k * d;
        double norm = 0, pmax = 0, pmin = INFINITY;
        for (int i = 0; i < d; i++) {
            norm += am[i] * am[i];
            pmax = fmax(pmax, p[i]), pmin = fmin(pmin, p[i]);
        }
        for (int j = f->rank_offset[k]; j < f->rank_offset[k + 1]; j++)
            pmax = fmax(pmax, f->prec_basis[j]), pmin = fmin(pmin, f->prec_basis[j]);
        ff->mean_norm[k] = sqrt(norm);
        ff->sum_error[k] = sqrt((double)d) * DBL_EPSILON * (pmax / pmin) * sqrt(pmax);
    }
}

sf_status sfi_fast_field_prepare(sf_fast_field *ff, const sf_field *field)
{
    memset(ff, 0, sizeof *ff);
    ff->layout = sfi_field_layout_of(field);
    ff->packed = malloc((ff->layout.total + 1) * sizeof(double));
    ff->mean_norm = malloc(2 * (size_t)field->K * sizeof(double));
    if (!ff->packed || !ff->mean_norm) {
        sfi_fast_field_release(ff);
        return sfi_fail(SF_ERR_NOMEM, "out of memory preparing the field (K = %d, d = %d)", field->K, field->d);
    }
    ff->sum_error = ff->mean_norm + field->K;
    sfi_fast_field_update(ff, field);
    return SF_OK;
}

void sfi_fast_field_update(sf_fast_field *ff, const sf_field *field)
{
    sfi_field_pack(field, &ff->layout, 0, ff->packed);
    ff->view = sf_field_view_at_f64(field, &ff->layout, ff->packed, field->rank_offset);
    ff->uniform_diag = diagonal_is_uniform(field);
    component_sizes(field, ff);
}

void sfi_fast_field_release(sf_fast_field *ff)
{
    free(ff->packed);
    free(ff->mean_norm);
    memset(ff, 0, sizeof *ff);
}
