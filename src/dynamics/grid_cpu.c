/* The periodic spectral grid on the CPU with FFTW (double precision): route A (exact heat
 * propagation) and route B (integrating-factor RK4 for Burgers), docs/burgers.md grid form. The
 * per-mode arithmetic comes from kernels/grid_modes.h, shared with the cuFFT path. */
#include <complex.h>
#include <fftw3.h>

#include "grid.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sf_grid_cpu {
    sf_grid_shape g;
    fftw_plan r2c_one, c2r_one, r2c_many, c2r_many; /* single field, and d fields at once */
    double *real_one, *real_many;                   /* N^d and d x N^d */
    fftw_complex *spec_one, *spec_many;             /* modes and d x modes (plan buffers) */
    fftw_complex *uh, *ka, *kb, *kc, *kd, *stage;   /* d x modes: route B state and stages */
    double *e_full, *e_half;                        /* modes: integrating factors for the current h */
    double *k, *k2;                                 /* d x modes derivative wavenumbers (grid_modes.h), modes |k|^2 */
    double *k_kept;                                 /* d x modes: k, zeroed outside the 2/3 band */
    double e_step;                                  /* the h they were made for */
};

void sfi_grid_cpu_destroy(sf_grid_cpu *c)
{
    if (!c) return;
    fftw_plan plans[4] = {c->r2c_one, c->c2r_one, c->r2c_many, c->c2r_many};
    for (int i = 0; i < 4; i++)
        if (plans[i]) fftw_destroy_plan(plans[i]);
    fftw_free(c->real_one), fftw_free(c->real_many), fftw_free(c->spec_one), fftw_free(c->spec_many);
    fftw_free(c->uh), fftw_free(c->ka), fftw_free(c->kb), fftw_free(c->kc), fftw_free(c->kd), fftw_free(c->stage);
    free(c->e_full), free(c->e_half), free(c->k), free(c->k2), free(c->k_kept);
    free(c);
}

sf_status sfi_grid_cpu_create(sf_grid_cpu **out, const sf_grid_shape *g)
{
    *out = NULL;
    sf_grid_cpu *c = calloc(1, sizeof *c);
    if (!c) return sfi_fail(SF_ERR_NOMEM, "out of memory creating the grid");
    c->g = *g;
    size_t P = g->points, M = g->modes, d = (size_t)g->dim;
    c->real_one = fftw_alloc_real(P);
    c->real_many = fftw_alloc_real(P * d);
    c->spec_one = fftw_alloc_complex(M);
    c->spec_many = fftw_alloc_complex(M * d);
    fftw_complex **state[] = {&c->uh, &c->ka, &c->kb, &c->kc, &c->kd, &c->stage};
    int ok = c->real_one && c->real_many && c->spec_one && c->spec_many;
    for (int i = 0; i < 6; i++) ok = (*state[i] = fftw_alloc_complex(M * d)) && ok;
    c->e_full = malloc(M * sizeof(double));
    c->e_half = malloc(M * sizeof(double));
    c->k = malloc(d * M * sizeof(double)), c->k_kept = malloc(d * M * sizeof(double)), c->k2 = malloc(M * sizeof(double));
    if (!ok || !c->e_full || !c->e_half || !c->k || !c->k_kept || !c->k2) {
        sfi_grid_cpu_destroy(c);
        return sfi_fail(SF_ERR_NOMEM, "out of memory for a %d-d grid of %d points per axis", g->dim, g->n);
    }
    int dims[3] = {g->n, g->n, g->n};
    c->r2c_one = fftw_plan_dft_r2c(g->dim, dims, c->real_one, c->spec_one, FFTW_ESTIMATE);
    c->c2r_one = fftw_plan_dft_c2r(g->dim, dims, c->spec_one, c->real_one, FFTW_ESTIMATE);
    c->r2c_many = fftw_plan_many_dft_r2c(g->dim, dims, g->dim, c->real_many, NULL, 1, (int)P, c->spec_many, NULL, 1,
                                         (int)M, FFTW_ESTIMATE);
    c->c2r_many = fftw_plan_many_dft_c2r(g->dim, dims, g->dim, c->spec_many, NULL, 1, (int)M, c->real_many, NULL, 1,
                                         (int)P, FFTW_ESTIMATE);
    if (!c->r2c_one || !c->c2r_one || !c->r2c_many || !c->c2r_many) {
        sfi_grid_cpu_destroy(c);
        return sfi_fail(SF_ERR_INVALID, "FFTW could not plan a %d-d transform of %d points per axis", g->dim, g->n);
    }
    /* the per-mode symbols, once: the integer index arithmetic is not repeated every step */
    for (size_t m = 0; m < M; m++) {
        c->k2[m] = sf_grid_k2(g, m);
        for (size_t a = 0; a < d; a++) {
            c->k[a * M + m] = sf_grid_derivative_k(g, m, (int)a);
            c->k_kept[a * M + m] = sf_grid_kept(g, m) ? c->k[a * M + m] : 0.0;
        }
    }
    c->e_step = NAN;
    *out = c;
    return SF_OK;
}

sf_status sfi_grid_cpu_heat(sf_grid_cpu *c, const double *density, double dtau, double *u)
{
    const sf_grid_shape *g = &c->g;
    size_t P = g->points, M = g->modes;
    memcpy(c->real_one, density, P * sizeof(double));
    fftw_execute(c->r2c_one);
    /* heat flow over dtau, and the 1/N^d of the unnormalised inverse */
    for (size_t m = 0; m < M; m++) c->spec_one[m] *= exp(-0.5 * c->k2[m] * dtau) / (double)P;
    for (size_t i = 0; i < (size_t)g->dim * M; i++) c->spec_many[i] = I * c->k[i] * c->spec_one[i % M];
    fftw_execute(c->c2r_one);  /* q (destroys spec_one, no longer needed) */
    fftw_execute(c->c2r_many); /* grad q */
    for (int a = 0; a < g->dim; a++)
        for (size_t p = 0; p < P; p++) u[a * P + p] = c->real_many[a * P + p] / c->real_one[p];
    return SF_OK;
}

/* out = i k FFT(|u|^2 / 2), dealiased, for u = IFFT(uh) (d x modes each). */
static void nonlinear(sf_grid_cpu *c, const fftw_complex *uh, fftw_complex *out)
{
    const sf_grid_shape *g = &c->g;
    size_t P = g->points, M = g->modes, d = (size_t)g->dim;
    memcpy(c->spec_many, uh, d * M * sizeof(fftw_complex)); /* c2r destroys its input */
    fftw_execute(c->c2r_many);
    double scale = 1.0 / (double)P;
    for (size_t p = 0; p < P; p++) {
        double w = 0;
        for (size_t a = 0; a < d; a++) {
            double v = c->real_many[a * P + p] * scale;
            w += v * v;
        }
        c->real_one[p] = 0.5 * w;
    }
    fftw_execute(c->r2c_one);
    for (size_t i = 0; i < d * M; i++) out[i] = I * c->k_kept[i] * c->spec_one[i % M];
}

sf_status sfi_grid_cpu_burgers(sf_grid_cpu *c, double *u, double dtau, int steps, sf_progress progress, void *data)
{
    const sf_grid_shape *g = &c->g;
    size_t M = g->modes, DM = (size_t)g->dim * M;
    double h = dtau / steps;
    if (!(c->e_step == h))
        for (size_t m = 0; m < M; m++) {
            c->e_full[m] = exp(-0.5 * c->k2[m] * h);
            c->e_half[m] = exp(-0.25 * c->k2[m] * h);
        }
    c->e_step = h;
    memcpy(c->real_many, u, (size_t)g->dim * g->points * sizeof(double));
    fftw_execute(c->r2c_many);
    memcpy(c->uh, c->spec_many, DM * sizeof(fftw_complex));
    for (int step = 0; step < steps; step++) {
        /* a = N(u), b = N(E2 (u + h a / 2)), c = N(E2 u + h b / 2), d = N(E u + h E2 c) */
        nonlinear(c, c->uh, c->ka);
        for (size_t i = 0; i < DM; i++) c->stage[i] = c->e_half[i % M] * (c->uh[i] + 0.5 * h * c->ka[i]);
        nonlinear(c, c->stage, c->kb);
        for (size_t i = 0; i < DM; i++) c->stage[i] = c->e_half[i % M] * c->uh[i] + 0.5 * h * c->kb[i];
        nonlinear(c, c->stage, c->kc);
        for (size_t i = 0; i < DM; i++) c->stage[i] = c->e_full[i % M] * c->uh[i] + h * c->e_half[i % M] * c->kc[i];
        nonlinear(c, c->stage, c->kd);
        /* u <- E u + (h/6)(E a + 2 E2 (b + c) + d) */
        for (size_t i = 0; i < DM; i++) {
            double e = c->e_full[i % M], e2 = c->e_half[i % M];
            c->uh[i] = e * c->uh[i] + h / 6.0 * (e * c->ka[i] + 2.0 * e2 * (c->kb[i] + c->kc[i]) + c->kd[i]);
        }
        if (progress) progress(data, (double)(step + 1) / steps);
    }
    memcpy(c->spec_many, c->uh, DM * sizeof(fftw_complex));
    fftw_execute(c->c2r_many);
    double scale = 1.0 / (double)g->points;
    for (size_t i = 0; i < (size_t)g->dim * g->points; i++) u[i] = c->real_many[i] * scale;
    return SF_OK;
}

sf_status sfi_grid_cpu_fft_seconds(sf_grid_cpu *c, int reps, double *seconds)
{
    struct timespec a, b;
    memset(c->spec_many, 0, (size_t)c->g.dim * c->g.modes * sizeof(fftw_complex));
    memset(c->real_one, 0, c->g.points * sizeof(double));
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int r = 0; r < reps; r++)
        for (int stage = 0; stage < 4; stage++) {
            fftw_execute(c->c2r_many);
            fftw_execute(c->r2c_one);
        }
    clock_gettime(CLOCK_MONOTONIC, &b);
    *seconds = ((b.tv_sec - a.tv_sec) + 1e-9 * (b.tv_nsec - a.tv_nsec)) / reps;
    return SF_OK;
}
