/* bench_burgers: the Burgers structure's throughput.
 *  - particles: the heat-time Burgers residual (score, Laplacian, d_tau u, H u) per second, with
 *    flops by docs/fields.md's counts (isotropic: 5Kd + 4Kd + 7Kd + 5Kd = 21Kd per particle) against
 *    the measured FMA ceiling;
 *  - grid: the time of one route-B step (IF-RK4) against the time of the 4 (d + 1) FFTs it
 *    performs, run alone with the same plans (the step's FFT share). */
#include "ceilings.h"
#include "grid.h"
#include "workload.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: bench_burgers [--dim D] [--components K] [--n N] [--grid-dim G] [--grid N] [--steps S]\n"
    "                     [--backend cpu|cuda] [--precision f64|f32]\n"
    "Defaults: residual at d = 16, K = 32, N = 20000; route B on a G = 2, N = 256 grid, 20 steps; cpu.\n";

static int fail(void)
{
    fprintf(stderr, "bench_burgers: %s\n", sf_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    int d = 16, K = 32, gdim = 2, gn = 256, steps = 20;
    size_t n = 20000;
    sf_backend backend = SF_BACKEND_CPU;
    sf_precision precision = SF_PRECISION_F64;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v && !strcmp(a, "--dim")) d = atoi(v), i++;
        else if (v && !strcmp(a, "--components")) K = atoi(v), i++;
        else if (v && !strcmp(a, "--n")) n = strtoull(v, NULL, 10), i++;
        else if (v && !strcmp(a, "--grid-dim")) gdim = atoi(v), i++;
        else if (v && !strcmp(a, "--grid")) gn = atoi(v), i++;
        else if (v && !strcmp(a, "--steps")) steps = atoi(v), i++;
        else if (v && !strcmp(a, "--backend")) backend = strcmp(v, "cuda") ? SF_BACKEND_CPU : SF_BACKEND_CUDA, i++;
        else if (v && !strcmp(a, "--precision")) precision = strcmp(v, "f32") ? SF_PRECISION_F64 : SF_PRECISION_F32, i++;
        else {
            fprintf(stderr, "bench_burgers: bad argument '%s'\n%s", a, usage);
            return 2;
        }
    }
    sf_context *ctx;
    if (sf_context_create(&ctx, backend, precision, 0) != SF_OK) return fail();
    int cuda = sf_context_backend(ctx) == SF_BACKEND_CUDA;
    printf("bench_burgers: backend %s (%s)\n", cuda ? "cuda" : "cpu", cuda && precision == SF_PRECISION_F32 ? "f32" : "f64");

    /* particles: the heat-time residual */
    sf_rng rng;
    sfi_rng_seed(&rng, 2026);
    sf_mixture *m;
    if (sfi_workload_mixture(&m, &rng, d, K, SF_WORKLOAD_ISOTROPIC, 1.0) != SF_OK) return fail();
    sf_schedule sched = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    sf_time t;
    sf_schedule_at(&sched, 0.3, &t);
    double *x = malloc(n * d * sizeof(double)), *R = malloc(n * d * sizeof(double)), *scale = malloc(n * sizeof(double));
    sfi_workload_particles(x, n, m, &t, &rng, 0.0, 0.0);
    sf_outputs out = {.residual = R, .residual_scale = scale};
    double best = INFINITY;
    for (int r = 0; r <= 3; r++) {
        double t0 = bench_now();
        if (sf_evaluate(ctx, m, &t, x, n, &out) != SF_OK) return fail();
        if (r > 0) best = fmin(best, bench_now() - t0);
    }
    double flops = 21.0 * K * d * (double)n;
    printf("residual     d = %d, K = %d, N = %zu: %.4g s, %.4g particles/s, %.3g GFLOP/s", d, K, n, best, n / best,
           flops / best * 1e-9);
    if (!cuda) {
        double peak = bench_cpu_fma_peak();
        printf(" (%.1f%% of %.1f GFLOP/s measured FMA ceiling, %d threads)", 100 * flops / best / peak, peak * 1e-9,
               omp_get_max_threads());
    }
    printf("\n");

    /* grid: one route-B step against its FFTs */
    sf_mixture *gm;
    if (sfi_workload_mixture(&gm, &rng, gdim, 4, SF_WORKLOAD_ISOTROPIC, 1.0) != SF_OK) return fail();
    sf_grid *g;
    if (sf_grid_create(&g, ctx, gdim, gn, 8.0) != SF_OK) return fail();
    size_t P = sf_grid_points(g);
    double *u = malloc(P * gdim * sizeof(double)), fft_step = 0;
    if (sf_grid_exact(g, gm, 0.01, 1, 0.1, NULL, u) != SF_OK) return fail();
    if (sf_grid_burgers_route(g, u, 0.01, 1, NULL, NULL) != SF_OK) return fail(); /* warm up */
    double t0 = bench_now();
    if (sf_grid_burgers_route(g, u, 0.05, steps, NULL, NULL) != SF_OK) return fail();
    double per_step = (bench_now() - t0) / steps;
    if (sfi_grid_fft_seconds_per_step(g, steps, &fft_step) != SF_OK) return fail();
    printf("grid step    d = %d, N = %d (%zu points), route B: %.4g s per step; its %d FFTs alone %.4g s (%.0f%% of the step)\n",
           gdim, gn, P, per_step, 4 * (gdim + 1), fft_step, 100 * fft_step / per_step);
    printf("(a step also moves u in and out of the route once per call; FFTs of N^d reals: %.3g GFLOP/s by 2.5 N log2 N each)\n",
           4.0 * (gdim + 1) * 2.5 * P * log2((double)P) / fft_step * 1e-9);
    free(x), free(R), free(scale), free(u);
    sf_grid_destroy(g);
    sf_mixture_destroy(m), sf_mixture_destroy(gm);
    sf_context_destroy(ctx);
    return 0;
}
