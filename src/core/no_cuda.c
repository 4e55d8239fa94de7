/* The CUDA entry points of a build without CUDA (SF_CUDA=OFF or no nvcc): each says so. */
#include "sf_cuda.h"
#include "status.h"

#include <stdio.h>

static const char no_cuda_reason[] = "this build of scorefield has no CUDA backend (configured with SF_CUDA=OFF or without nvcc)";

static sf_status no_cuda(void) { return sfi_fail(SF_ERR_NO_CUDA, "%s", no_cuda_reason); }

int sfi_cuda_compiled(void) { return 0; }

int sfi_cuda_count(const char **why)
{
    if (why) *why = no_cuda_reason;
    return 0;
}

int sfi_cuda_current_device(void) { return -1; }

sf_status sfi_cuda_describe(int device, char *buf, size_t len)
{
    if (len) buf[0] = '\0';
    return sfi_fail(SF_ERR_NO_CUDA, "CUDA device %d: %s", device, no_cuda_reason);
}

sf_status sfi_cuda_state_create(sf_cuda_state **state, int device)
{
    *state = NULL;
    return sfi_fail(SF_ERR_NO_CUDA, "CUDA device %d: %s", device, no_cuda_reason);
}

void sfi_cuda_state_destroy(sf_cuda_state *state) { (void)state; }

void sfi_cuda_state_set_gemm_math(sf_cuda_state *state, sf_gemm_math math) { (void)state, (void)math; }

sf_status sfi_cuda_plan_create(sf_cuda_plan **plan, sf_cuda_state *state, const sf_field *field, sf_precision precision)
{
    (void)state, (void)field, (void)precision;
    *plan = NULL;
    return no_cuda();
}

sf_status sfi_cuda_plan_set_frame(sf_cuda_plan *plan, double alpha, double sigma2, int has_rates, double dalpha,
                                 double dsigma2)
{
    (void)plan, (void)alpha, (void)sigma2, (void)has_rates, (void)dalpha, (void)dsigma2;
    return no_cuda();
}

void sfi_cuda_plan_destroy(sf_cuda_plan *plan) { (void)plan; }

sf_status sfi_cuda_plan_evaluate(sf_cuda_plan *plan, size_t max_batch, const double *x, size_t n, const sf_request *rq)
{
    (void)plan, (void)max_batch, (void)x, (void)n, (void)rq;
    return no_cuda();
}

sf_status sfi_cuda_plan_evaluate_device(sf_cuda_plan *plan, const void *x, size_t n, const sf_device_request *rq,
                                       void *stream)
{
    (void)plan, (void)x, (void)n, (void)rq, (void)stream;
    return no_cuda();
}

sf_status sfi_cuda_gemm_peak(sf_cuda_state *state, sf_precision precision, sf_gemm_math math, int pedantic, int n,
                            double *flops_per_second)
{
    (void)state, (void)precision, (void)math, (void)pedantic, (void)n;
    *flops_per_second = 0;
    return no_cuda();
}

sf_status sfi_cuda_copy_peak(sf_cuda_state *state, size_t bytes, double *bytes_per_second)
{
    (void)state, (void)bytes;
    *bytes_per_second = 0;
    return no_cuda();
}

sf_status sfi_cuda_grid_create(struct sf_cuda_grid **grid, sf_cuda_state *state, const sf_grid_shape *shape,
                              sf_precision precision)
{
    (void)state, (void)shape, (void)precision;
    *grid = NULL;
    return no_cuda();
}

void sfi_cuda_grid_destroy(struct sf_cuda_grid *grid) { (void)grid; }

sf_status sfi_cuda_grid_heat(struct sf_cuda_grid *grid, const double *density, double dtau, double *u)
{
    (void)grid, (void)density, (void)dtau, (void)u;
    return no_cuda();
}

sf_status sfi_cuda_grid_burgers(struct sf_cuda_grid *grid, double *u, double dtau, int steps, sf_progress progress,
                               void *data)
{
    (void)grid, (void)u, (void)dtau, (void)steps, (void)progress, (void)data;
    return no_cuda();
}

sf_status sfi_cuda_grid_fft_seconds(struct sf_cuda_grid *grid, int reps, double *seconds)
{
    (void)grid, (void)reps;
    *seconds = 0;
    return no_cuda();
}

void sfi_cuda_grid_work_area(const struct sf_cuda_grid *grid, size_t *shared_bytes, size_t *separate_bytes)
{
    (void)grid;
    *shared_bytes = *separate_bytes = 0;
}

sf_status sfi_cuda_sample(sf_cuda_state *state, sf_precision precision, size_t max_batch, const sf_mixture *mix,
                         const sf_mixture *cls, double gamma, const sf_schedule *schedule, const sf_step_plan *plans,
                         const double *times, int steps, uint64_t seed, uint32_t first_step, double *x, size_t n,
                         size_t first_particle, sf_trajectory_fn trajectory, void *data, int every)
{
    (void)state, (void)precision, (void)max_batch, (void)mix, (void)cls, (void)gamma, (void)schedule, (void)plans;
    (void)times, (void)steps, (void)seed, (void)first_step, (void)x, (void)n, (void)first_particle, (void)trajectory;
    (void)data, (void)every;
    return no_cuda();
}
