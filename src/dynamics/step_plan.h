/* Internal: the step grid of a sampler run and each step's plan (kernels/sampler_step.h). */
#ifndef SF_STEP_PLAN_H
#define SF_STEP_PLAN_H

#include "sampler_step.h"
#include "scorefield.h"

/* times[0..steps]: t1 down to t0 (then 0 with to_zero) by the sampler's spacing, or as given. */
sf_status sfi_step_times(const sf_sampler *smp, const sf_schedule *sched, double *times);

/* plans[k] advances times[k] -> times[k + 1], k < K (multistep methods look at earlier times). */
sf_status sfi_step_plans(const sf_sampler *smp, const sf_schedule *sched, const double *times, int K, sf_step_plan *plans);

/* The schedule at t, refused where sigma = 0 (every stage time needs sigma > 0). */
sf_status sfi_sampler_time(const sf_schedule *sched, double t, sf_time *out);

#endif
