/* The CUDA entry points of a build without CUDA (SF_CUDA=OFF or no nvcc): each says so. */
#include "sf_cuda.h"
#include "status.h"

#include <stdio.h>

static const char no_cuda_reason[] = "this build of scorefield has no CUDA backend (configured with SF_CUDA=OFF or without nvcc)";

int sf_cuda_compiled(void) { return 0; }

int sf_cuda_count(const char **why)
{
    if (why) *why = no_cuda_reason;
    return 0;
}

sf_status sf_cuda_describe(int device, char *buf, size_t len)
{
    if (len) buf[0] = '\0';
    return sf_fail(SF_ERR_NO_CUDA, "CUDA device %d: %s", device, no_cuda_reason);
}

sf_status sf_cuda_state_create(sf_cuda_state **state, int device)
{
    *state = NULL;
    return sf_fail(SF_ERR_NO_CUDA, "CUDA device %d: %s", device, no_cuda_reason);
}

void sf_cuda_state_destroy(sf_cuda_state *state) { (void)state; }

sf_status sf_cuda_score(sf_cuda_state *state, const sf_field *field, sf_precision precision,
                        size_t max_batch, const double *x, size_t n, const sf_request *out)
{
    (void)state, (void)field, (void)precision, (void)max_batch, (void)x, (void)n, (void)out;
    return sf_fail(SF_ERR_NO_CUDA, "%s", no_cuda_reason);
}

sf_status sf_cuda_gemm_peak(sf_cuda_state *state, sf_precision precision, double *flops_per_second)
{
    (void)state, (void)precision;
    *flops_per_second = 0;
    return sf_fail(SF_ERR_NO_CUDA, "%s", no_cuda_reason);
}

sf_status sf_cuda_grid_create(struct sf_cuda_grid **grid, sf_cuda_state *state, const sf_grid_shape *shape,
                              sf_precision precision)
{
    (void)state, (void)shape, (void)precision;
    *grid = NULL;
    return sf_fail(SF_ERR_NO_CUDA, "%s", no_cuda_reason);
}

void sf_cuda_grid_destroy(struct sf_cuda_grid *grid) { (void)grid; }

sf_status sf_cuda_grid_heat(struct sf_cuda_grid *grid, const double *density, double dtau, double *u)
{
    (void)grid, (void)density, (void)dtau, (void)u;
    return sf_fail(SF_ERR_NO_CUDA, "%s", no_cuda_reason);
}

sf_status sf_cuda_grid_burgers(struct sf_cuda_grid *grid, double *u, double dtau, int steps, sf_progress progress,
                               void *data)
{
    (void)grid, (void)u, (void)dtau, (void)steps, (void)progress, (void)data;
    return sf_fail(SF_ERR_NO_CUDA, "%s", no_cuda_reason);
}

sf_status sf_cuda_grid_fft_seconds(struct sf_cuda_grid *grid, int reps, double *seconds)
{
    (void)grid, (void)reps;
    *seconds = 0;
    return sf_fail(SF_ERR_NO_CUDA, "%s", no_cuda_reason);
}

sf_status sf_cuda_sample(sf_cuda_state *state, sf_precision precision, size_t max_batch, const sf_mixture *mix, const sf_mixture *cls,
                         double gamma, const sf_schedule *schedule, const sf_step_plan *plans, const double *times,
                         int steps, uint64_t seed, double *x, size_t n, size_t first_particle,
                         sf_trajectory_fn trajectory, void *data, int every)
{
    (void)state, (void)precision, (void)max_batch, (void)mix, (void)cls, (void)gamma, (void)schedule, (void)plans, (void)times;
    (void)steps, (void)seed, (void)x, (void)n, (void)first_particle, (void)trajectory, (void)data, (void)every;
    return sf_fail(SF_ERR_NO_CUDA, "%s", no_cuda_reason);
}
