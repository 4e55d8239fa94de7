/* Internal: the samplers' Gaussian noise, a whole row at a time. */
#ifndef SF_NOISE_H
#define SF_NOISE_H

#include <stdint.h>

/* z[j] = sf_philox_normal(seed, particle, step, j) for j < d (kernels/philox.h), bit for bit, but
 * one Philox call per block of four dimensions instead of one per dimension, the Philox rounds of
 * SF_NOISE_LANES blocks in vector lanes, and Box-Muller's log, sin and cos once per pair. */
void sfi_noise_row(uint64_t seed, uint64_t particle, uint32_t step, int d, double *z);

#endif
