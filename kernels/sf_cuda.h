/* The one internal header between the host library (src/) and the CUDA kernels (kernels/).
 * Plain C: nothing here needs CUDA headers, so src/ builds without CUDA. In a build without CUDA,
 * src/no_cuda.c provides these functions and they report SF_ERR_NO_CUDA. */
#ifndef SF_CUDA_H
#define SF_CUDA_H

#include "request.h"
#include "grid_modes.h"
#include "sampler_step.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sf_cuda_state sf_cuda_state;

/* 1 when the library was compiled with the CUDA backend. */
int sf_cuda_compiled(void);
/* Usable devices; 0 with a static reason in *why when there are none. */
int sf_cuda_count(const char **why);
sf_status sf_cuda_describe(int device, char *buf, size_t len);

/* Per-context device state: the device, a stream, the cuBLAS handle and a reusable workspace. */
sf_status sf_cuda_state_create(sf_cuda_state **state, int device);
void sf_cuda_state_destroy(sf_cuda_state *state);

/* Score evaluation on the device in the given precision, in batches of at most max_batch particles
 * (0: as many as free device memory allows). Host arrays in and out, float64. */
sf_status sf_cuda_score(sf_cuda_state *state, const sf_field *field, sf_precision precision,
                        size_t max_batch, const double *x, size_t n, const sf_request *out);

/* A sampler run with the particles resident on the device (kernels/sample.cu): plans[k] advances
 * times[k] -> times[k+1]; per stage the host only uploads the field at the stage time and launches
 * kernels; particles come back only for trajectory frames and at the end. cls (may be NULL) and
 * gamma give guidance s~ = s + gamma (s_c - s). Particles that do not fit at once run in chunks (at
 * most max_batch, 0: from free memory), except with a trajectory, which needs them all. */
sf_status sf_cuda_sample(sf_cuda_state *state, sf_precision precision, size_t max_batch, const sf_mixture *mix, const sf_mixture *cls,
                         double gamma, const sf_schedule *schedule, const sf_step_plan *plans, const double *times,
                         int steps, uint64_t seed, double *x, size_t n, size_t first_particle,
                         sf_trajectory_fn trajectory, void *data, int every);

/* The periodic grid on the device (kernels/grid.cu): cuFFT plans made once, the two routes with
 * component-major fields (d x N^d) in and out, float64 on the host side. */
struct sf_cuda_grid;
sf_status sf_cuda_grid_create(struct sf_cuda_grid **grid, sf_cuda_state *state, const sf_grid_shape *shape,
                              sf_precision precision);
void sf_cuda_grid_destroy(struct sf_cuda_grid *grid);
sf_status sf_cuda_grid_heat(struct sf_cuda_grid *grid, const double *density, double dtau, double *u);
sf_status sf_cuda_grid_burgers(struct sf_cuda_grid *grid, double *u, double dtau, int steps, sf_progress progress,
                               void *data);

/* Seconds of the FFTs alone of one route-B step (benchmarks). */
sf_status sf_cuda_grid_fft_seconds(struct sf_cuda_grid *grid, int reps, double *seconds);

/* Measured ceiling for benchmarks: the FLOP/s of a large square cuBLAS GEMM (n = 4096) in the
 * given precision, best of a few runs. */
sf_status sf_cuda_gemm_peak(sf_cuda_state *state, sf_precision precision, double *flops_per_second);

#ifdef __cplusplus
}
#endif
#endif
