/* Internal: the spectral grid object and its backends (FFTW here, cuFFT in kernels/grid.cu). */
#ifndef SF_GRID_H
#define SF_GRID_H

#include "grid_modes.h"
#include "scorefield.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sf_grid_cpu sf_grid_cpu;
struct sf_cuda_grid;

struct sf_grid {
    sf_grid_shape shape;
    sf_context *ctx;            /* backend choice (borrowed) */
    sf_grid_cpu *cpu;           /* FFTW plans and buffers, or NULL */
    struct sf_cuda_grid *cuda;  /* cuFFT plans and buffers, or NULL */
};

/* The two routes on each backend. u is component-major here: d x N^d. */
sf_status sfi_grid_cpu_create(sf_grid_cpu **cpu, const sf_grid_shape *shape);
void sfi_grid_cpu_destroy(sf_grid_cpu *cpu);
sf_status sfi_grid_cpu_heat(sf_grid_cpu *cpu, const double *density, double dtau, double *u);
sf_status sfi_grid_cpu_burgers(sf_grid_cpu *cpu, double *u, double dtau, int steps, sf_progress progress, void *data);

sf_status sfi_grid_cpu_fft_seconds(sf_grid_cpu *cpu, int reps, double *seconds);

/* For benchmarks: wall seconds of the FFTs alone of one route-B step, 4 x (d inverse + 1
 * forward) transforms with the grid's own plans, averaged over reps. */
sf_status sfi_grid_fft_seconds_per_step(sf_grid *grid, int reps, double *seconds);

#ifdef __cplusplus
}
#endif
#endif
