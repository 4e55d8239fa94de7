/* The one internal header between the host library (src/) and the CUDA kernels (kernels/).
 * Plain C: nothing here needs CUDA headers, so src/ builds without CUDA. In a build without CUDA,
 * src/core/no_cuda.c provides these functions and they report SF_ERR_NO_CUDA. */
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
int sfi_cuda_compiled(void);
/* Usable devices; 0 with a static reason in *why when there are none. */
int sfi_cuda_count(const char **why);
sf_status sfi_cuda_describe(int device, char *buf, size_t len);
/* The calling thread's current CUDA device (-1 if it cannot be read): tests check that entry
 * points leave it as they found it. */
int sfi_cuda_current_device(void);

/* Per-context device state: the device, two streams, the cuBLAS handle, reusable workspaces. */
sf_status sfi_cuda_state_create(sf_cuda_state **state, int device);
void sfi_cuda_state_destroy(sf_cuda_state *state);
void sfi_cuda_state_set_gemm_math(sf_cuda_state *state, sf_gemm_math math);

/* ---------------------------------------------------------------- plans on the device (kernels/plan.cu) */

/* A mixture's field on the device: the time-independent arrays uploaded once at creation, the
 * time-dependent ones computed on the device from (alpha, sigma^2) and their rates by
 * sfi_cuda_plan_set_frame, in the state's stream. */
typedef struct sf_cuda_plan sf_cuda_plan;

/* The static arrays come from `field` (its borrowed mixture arrays and weights); its time is unused. */
sf_status sfi_cuda_plan_create(sf_cuda_plan **plan, sf_cuda_state *state, const sf_field *field, sf_precision precision);
sf_status sfi_cuda_plan_set_frame(sf_cuda_plan *plan, double alpha, double sigma2, int has_rates, double dalpha,
                                 double dsigma2);
void sfi_cuda_plan_destroy(sf_cuda_plan *plan);

/* Host float64 arrays in and out: particles in batches (at most max_batch, 0: from free device
 * memory) through pinned staging, copies on one stream overlapping the kernels on the other, one
 * synchronisation per batch; the input's finiteness (and, in float32, its range) is checked on
 * the device. */
sf_status sfi_cuda_plan_evaluate(sf_cuda_plan *plan, size_t max_batch, const double *x, size_t n, const sf_request *rq);

/* Caller-owned device arrays (sf_device_request, request.h: in the plan's precision, NULL where
 * not wanted; hvp_dir gives the directions of hvp, else hvp = H (hvp_s s + hvp_x x)), all work on the caller's stream (a cudaStream_t; NULL: the legacy
 * default stream), no host copies of the data; returns after one synchronisation of that stream,
 * having checked the input on the device. */
sf_status sfi_cuda_plan_evaluate_device(sf_cuda_plan *plan, const void *x, size_t n, const sf_device_request *rq,
                                       void *stream);

/* ---------------------------------------------------------------- sampling (kernels/sample.cu) */

/* A sampler run with the particles resident on the device: plans[k] advances times[k] ->
 * times[k+1]; the fields are uploaded once and moved to each stage time on the device; the
 * Philox noise of step k is keyed by first_step + k. Small runs replay each step as a CUDA graph.
 * cls (may be NULL) and gamma give guidance s~ = s + gamma (s_c - s). Particles that do not fit at
 * once run in chunks (at most max_batch, 0: from free memory), except with a trajectory, which
 * needs them all. */
sf_status sfi_cuda_sample(sf_cuda_state *state, sf_precision precision, size_t max_batch, const sf_mixture *mix,
                         const sf_mixture *cls, double gamma, const sf_schedule *schedule, const sf_step_plan *plans,
                         const double *times, int steps,
                         uint64_t seed, uint32_t first_step, double *x, size_t n, size_t first_particle,
                         sf_trajectory_fn trajectory, void *data, int every);

/* ---------------------------------------------------------------- the periodic grid (kernels/grid.cu) */

/* cuFFT plans made once with one shared work area, the two routes with component-major fields
 * (d x N^d) in and out, float64 on the host side. */
struct sf_cuda_grid;
sf_status sfi_cuda_grid_create(struct sf_cuda_grid **grid, sf_cuda_state *state, const sf_grid_shape *shape,
                              sf_precision precision);
void sfi_cuda_grid_destroy(struct sf_cuda_grid *grid);
sf_status sfi_cuda_grid_heat(struct sf_cuda_grid *grid, const double *density, double dtau, double *u);
sf_status sfi_cuda_grid_burgers(struct sf_cuda_grid *grid, double *u, double dtau, int steps, sf_progress progress,
                               void *data);
/* Seconds of the FFTs alone of one route-B step (benchmarks). */
sf_status sfi_cuda_grid_fft_seconds(struct sf_cuda_grid *grid, int reps, double *seconds);
/* The bytes of the one cuFFT work area the grid's plans share, and what the plans would have
 * allocated each on their own (tests). */
void sfi_cuda_grid_work_area(const struct sf_cuda_grid *grid, size_t *shared_bytes, size_t *separate_bytes);

/* ---------------------------------------------------------------- measured ceilings (kernels/peak.cu) */

/* The FLOP/s of a square cuBLAS GEMM of size n (0: 8192) on random data in the given precision
 * and math (pedantic: CUBLAS_PEDANTIC_MATH, else the default math mode; math: exact, TF32 or
 * three TF32 passes), best of a few runs. */
sf_status sfi_cuda_gemm_peak(sf_cuda_state *state, sf_precision precision, sf_gemm_math math, int pedantic, int n,
                            double *flops_per_second);
/* The bytes per second of a device-to-device copy of `bytes` bytes (read + write counted). */
sf_status sfi_cuda_copy_peak(sf_cuda_state *state, size_t bytes, double *bytes_per_second);

#ifdef __cplusplus
}
#endif
#endif
