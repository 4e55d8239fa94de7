/* The fast backend's prepared field (fast_field.h). */
#include "fast_field.h"

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

sf_status sf_fast_field_prepare(sf_fast_field *ff, const sf_field *field)
{
    memset(ff, 0, sizeof *ff);
    ff->layout = sf_field_layout_of(field);
    ff->packed = malloc((ff->layout.total + 1) * sizeof(double));
    if (!ff->packed)
        return sf_fail(SF_ERR_NOMEM, "out of memory preparing the field (K = %d, d = %d)", field->K, field->d);
    sf_fast_field_update(ff, field);
    return SF_OK;
}

void sf_fast_field_update(sf_fast_field *ff, const sf_field *field)
{
    sf_field_pack(field, &ff->layout, 0, ff->packed);
    ff->view = sf_field_view_at_f64(field, &ff->layout, ff->packed, field->rank_offset);
    ff->uniform_diag = diagonal_is_uniform(field);
}

void sf_fast_field_release(sf_fast_field *ff)
{
    free(ff->packed);
    memset(ff, 0, sizeof *ff);
}
