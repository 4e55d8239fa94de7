/* The fields at one particle from its responsibilities (fast_particle.h). The per-component
 * algebra is the GPU's (score_particle.h, one lane); the order of the sums is the reference's. */
#include "fast_particle.h"

#include "simd_target.h"

#include <string.h>

#define LANE 0, 1 /* one lane: this thread owns every coordinate */

/* s = sum_k r_k g_k (over the `direct` components, added to the rest already in s) and the
 * denoiser sum_k r_k (mu_k - alpha C_k g_k). */
static void score_and_denoiser(const sf_field_view_f64 *f, const double *x, const double *r,
                               const unsigned char *direct, sf_particle_rows_f64 *w)
{
    int d = f->d, K = f->K;
    if (!direct) memset(w->score, 0, (size_t)d * sizeof(double));
    if (w->denoise) memset(w->denoise, 0, (size_t)d * sizeof(double));
    for (int k = 0; k < K; k++) {
        if (r[k] == 0) continue; /* skipped, or exactly zero: contributes nothing (and g may be huge) */
        int sum_here = !direct || direct[k];
        if (!sum_here && !w->denoise) continue;
        sf_component_score_f64(f, k, x, w, LANE);
        if (sum_here)
            for (int i = 0; i < d; i++) w->score[i] += r[k] * w->g[i];
        if (!w->denoise) continue;
        const double *mu = f->mean + (size_t)k * d;
        sf_apply_cov_f64(f, k, w->g, w->tmp, LANE);
        for (int i = 0; i < d; i++) w->denoise[i] += r[k] * (mu[i] - f->alpha * w->tmp[i]);
    }
}

/* Component k's terms of div, Lap s, H v and H (g in w->g, delta = g - s in w->delta); returns its
 * divergence coefficient |delta|^2 - tr P_k. */
static double add_centred_terms(const sf_field_view_f64 *f, int k, double r, const double *v, sf_particle_rows_f64 *w)
{
    int d = f->d;
    double dd = 0;
    for (int i = 0; i < d; i++) dd += w->delta[i] * w->delta[i];
    double coef = dd - f->trace_prec[k];
    if (w->lap) { /* Lap s = sum_k r_k [ (|delta|^2 - tr P) delta - 2 P delta ] */
        sf_apply_prec_f64(f, k, w->delta, w->tmp2, w->resid, LANE);
        for (int i = 0; i < d; i++) w->lap[i] += r * (coef * w->delta[i] - 2.0 * w->tmp2[i]);
    }
    if (w->hvp) { /* H v = sum_k r_k [ -P v + (delta . v) delta ] */
        sf_apply_prec_f64(f, k, v, w->tmp2, w->resid, LANE);
        double dv = 0;
        for (int i = 0; i < d; i++) dv += w->delta[i] * v[i];
        for (int i = 0; i < d; i++) w->hvp[i] += r * (dv * w->delta[i] - w->tmp2[i]);
    }
    if (w->hessian) { /* H = sum_k r_k (-P + delta delta^T), P column by column */
        for (int b = 0; b < d; b++) {
            memset(w->tmp, 0, (size_t)d * sizeof(double));
            w->tmp[b] = 1.0;
            sf_apply_prec_f64(f, k, w->tmp, w->tmp2, w->resid, LANE);
            for (int a = 0; a < d; a++) w->hessian[(size_t)a * d + b] += r * (w->delta[a] * w->delta[b] - w->tmp2[a]);
        }
    }
    return coef;
}

/* d s/dt = sum_k r_k [ (dl_k - dlog p) delta_k + dg_k ],  dg_k = P_k (alpha' mu_k - dSigma_k g_k). */
static void time_derivative(const sf_field_view_f64 *f, const double *x, const double *r, double dlogp,
                            sf_particle_rows_f64 *w)
{
    int d = f->d, K = f->K;
    memset(w->dt_score, 0, (size_t)d * sizeof(double));
    for (int k = 0; k < K; k++) {
        if (r[k] == 0) continue;
        sf_component_score_f64(f, k, x, w, LANE);
        sf_component_dlogit_f64(f, k, w, LANE); /* dSigma g in tmp */
        const double *mu = f->mean + (size_t)k * d;
        double c = w->dlogit[k] - dlogp;
        for (int i = 0; i < d; i++) {
            w->delta[i] = f->dalpha * mu[i] - w->tmp[i];
            w->dt_score[i] += r[k] * c * (w->g[i] - w->score[i]);
        }
        sf_apply_prec_f64(f, k, w->delta, w->tmp2, w->resid, LANE);
        for (int i = 0; i < d; i++) w->dt_score[i] += r[k] * w->tmp2[i];
    }
}

SF_SIMD_CLONES
void sfi_fast_particle_fields(const sf_field_view_f64 *f, const double *x, const double *r, const unsigned char *direct,
                             sf_particle_rows_f64 *w)
{
    int d = f->d, K = f->K;
    score_and_denoiser(f, x, r, direct, w);
    const double *v = w->hvp_dir;
    if (w->hvp && !v) {
        for (int i = 0; i < d; i++) w->dir[i] = w->hvp_s * w->score[i] + w->hvp_x * x[i];
        v = w->dir;
    }
    if (w->lap) memset(w->lap, 0, (size_t)d * sizeof(double));
    if (w->hvp) memset(w->hvp, 0, (size_t)d * sizeof(double));
    if (w->hessian) memset(w->hessian, 0, (size_t)d * d * sizeof(double));
    int want_dt = w->dt_score || w->dt_logp;
    double div = 0, dlogp = 0;
    if (w->div || w->lap || w->hvp || w->hessian || want_dt) {
        for (int k = 0; k < K; k++) {
            if (r[k] == 0) continue;
            sf_component_score_f64(f, k, x, w, LANE);
            if (want_dt) {
                w->dlogit[k] = sf_component_dlogit_f64(f, k, w, LANE);
                dlogp += r[k] * w->dlogit[k];
            }
            for (int i = 0; i < d; i++) w->delta[i] = w->g[i] - w->score[i];
            div += r[k] * add_centred_terms(f, k, r[k], v, w);
        }
    }
    if (w->dt_score) time_derivative(f, x, r, dlogp, w);
    if (w->div) *w->div = div;
    if (w->dt_logp) *w->dt_logp = dlogp;
}
