/* Packing a diffused mixture into one buffer (see field_pack.h). */
#include "field_pack.h"

sf_field_layout sfi_field_layout_of(const sf_field *f)
{
    size_t kd = (size_t)f->K * f->d, rd = (size_t)f->R * f->d, R = (size_t)f->R, K = (size_t)f->K, at = 0;
    sf_field_layout L;
    L.alpha_mean = at, at += kd;
    L.prec_diag = at, at += kd;
    L.mean = at, at += kd;
    L.cov_diag = at, at += kd;
    L.basis = at, at += rd;
    L.prec_basis = at, at += R;
    L.cov_lowrank = at, at += R;
    L.log_norm = at, at += K;
    L.trace_prec = at, at += K;
    L.trace_rate = at, at += K;
    L.mean_quad = at, at += K;
    L.basis_mean = at, at += R;
    L.prec_mean = at, at += kd;
    L.total = at;
    return L;
}

static void put(void *buffer, int single, size_t index, double value)
{
    if (single) ((float *)buffer)[index] = (float)value;
    else ((double *)buffer)[index] = value;
}

static void put_array(void *buffer, int single, size_t offset, const double *src, size_t n)
{
    for (size_t i = 0; i < n; i++) put(buffer, single, offset + i, src[i]);
}

void sfi_field_pack(const sf_field *f, const sf_field_layout *L, int single, void *buffer)
{
    size_t d = (size_t)f->d, kd = (size_t)f->K * d, rd = (size_t)f->R * d;
    put_array(buffer, single, L->alpha_mean, f->alpha_mean, kd);
    put_array(buffer, single, L->prec_diag, f->prec_diag, kd);
    put_array(buffer, single, L->mean, f->mean, kd);
    put_array(buffer, single, L->cov_diag, f->cov_diag, kd);
    put_array(buffer, single, L->basis, f->basis, rd);
    put_array(buffer, single, L->prec_basis, f->prec_basis, (size_t)f->R);
    put_array(buffer, single, L->cov_lowrank, f->cov_lowrank, (size_t)f->R);
    put_array(buffer, single, L->log_norm, f->log_norm, (size_t)f->K);
    put_array(buffer, single, L->trace_prec, f->trace_prec, (size_t)f->K);
    put_array(buffer, single, L->trace_rate, f->trace_rate, (size_t)f->K);
    for (int k = 0; k < f->K; k++) {
        const double *am = f->alpha_mean + k * d, *p = f->prec_diag + k * d;
        double q = 0;
        for (size_t i = 0; i < d; i++) {
            q += p[i] * am[i] * am[i];
            put(buffer, single, L->prec_mean + k * d + i, p[i] * am[i]);
        }
        put(buffer, single, L->mean_quad + k, q);
        for (int j = f->rank_offset[k]; j < f->rank_offset[k + 1]; j++) {
            const double *u = f->basis + (size_t)j * d;
            double c = 0;
            for (size_t i = 0; i < d; i++) c += u[i] * am[i];
            put(buffer, single, L->basis_mean + j, c);
        }
    }
}
