/* Internal: random mixtures and particles for checks, tests and benchmarks (not for science:
 * a small xoshiro256** generator, seeded, reproducible on every platform). */
#ifndef SF_WORKLOAD_H
#define SF_WORKLOAD_H

#include "scorefield.h"

#include <stdint.h>

typedef struct { uint64_t s[4]; } sf_rng;

void sfi_rng_seed(sf_rng *rng, uint64_t seed);
double sfi_rng_uniform(sf_rng *rng);  /* in [0, 1) */
double sfi_rng_normal(sf_rng *rng);   /* standard normal (Box-Muller) */

/* Which covariance kinds a random mixture may use. */
typedef enum { SF_WORKLOAD_ALL = 0, SF_WORKLOAD_ISOTROPIC, SF_WORKLOAD_DIAGONAL, SF_WORKLOAD_LOWRANK } sf_workload_kinds;

/* A random K-component mixture in R^d: means ~ N(0, spread^2 I), variances log-uniform in
 * [0.01, 1] * spread^2 / 4 (zero isotropic part for some low-rank components), weights in
 * [0.2, 1], orthonormal bases of rank 1..min(d, 4) by Gram-Schmidt. */
sf_status sfi_workload_mixture(sf_mixture **mix, sf_rng *rng, int d, int K, sf_workload_kinds kinds, double spread);

/* n particles drawn near the components (mixture samples diffused to `time`), with a fraction
 * `outlier_fraction` placed `outlier_scale` times the spread away from every mean. */
void sfi_workload_particles(double *x, size_t n, const sf_mixture *mix, const sf_time *time, sf_rng *rng,
                           double outlier_fraction, double outlier_scale);

/* Element-wise comparison with tolerance tol * (scale + |ref_i|), scale = RMS of ref: returns the
 * worst ratio |got_i - ref_i| / (tol * (scale + |ref_i|)) (pass: <= 1; NaN anywhere: infinity)
 * and its index. */
double sfi_compare(const double *ref, const double *got, size_t n, double tol, size_t *worst_index);
/* The same with a given scale in place of rms(ref) (for outputs that are sums of cancelling
 * terms: the Laplacian of the score is compared at the scale rms(div) rms(score) of its terms). */
double sfi_compare_scaled(const double *ref, const double *got, size_t n, double tol, double scale, size_t *worst_index);
double sfi_rms(const double *v, size_t n);

/* The worst disagreement of one output. */
typedef struct {
    const char *name;   /* "score", "logp", "resp", "div", "denoise" */
    double worst;       /* sfi_compare ratio: pass when <= 1 */
    size_t at;          /* index of the worst element */
    double ref, got;    /* the values there */
} sf_output_diff;

/* Compares every output present in both ref and got (n particles, d dims, K components) with
 * sfi_compare at tolerance tol; fills diffs[0..4] in the order above (worst = 0 where absent) and
 * returns the largest ratio. */
double sfi_compare_outputs(const sf_outputs *ref, const sf_outputs *got, size_t n, int d, int K, double tol,
                          sf_output_diff diffs[5]);
/* The same in parts, for particles shared out over processes: each output's sum of squares of ref
 * (sfi_outputs_square_sums), and the comparison against given scales (the RMS of the whole ref,
 * sqrt(sum / elements), which sfi_compare_outputs computes from the n particles it has). */
void sfi_outputs_square_sums(const sf_outputs *ref, size_t n, int d, int K, double sums[5]);
double sfi_compare_outputs_scaled(const sf_outputs *ref, const sf_outputs *got, size_t n, int d, int K, double tol,
                                 const double scales[5], sf_output_diff diffs[5]);

#endif
