/* Internal: the antisymmetric part of a vector field's Jacobian by central differences, for any
 * field given as a callback (so tests can show it detects curl in a field that is not a gradient). */
#ifndef SF_CURL_H
#define SF_CURL_H

#include "scorefield.h"

/* Evaluates the field at m points (m x d) into values (m x d). */
typedef sf_status (*sf_vector_field)(void *data, const double *points, size_t m, double *values);

/* See sf_score_curl; h is the central-difference step. The random probes of particle i are keyed by
 * first + i, its global index (first > 0: a share of a larger set, as an MPI rank holds). */
sf_status sfi_field_curl(sf_vector_field field, void *data, int d, const double *x, size_t n, size_t first, int probes,
                        uint64_t seed, double h, double *curl);
/* sf_score_curl for particles first ... first + n - 1 of a larger set (probes keyed by global index). */
sf_status sfi_score_curl_from(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x, size_t n,
                              size_t first, int probes, uint64_t seed, double *curl);

#endif
