/* Internal: the antisymmetric part of a vector field's Jacobian by central differences, for any
 * field given as a callback (so tests can show it detects curl in a field that is not a gradient). */
#ifndef SF_CURL_H
#define SF_CURL_H

#include "scorefield.h"

/* Evaluates the field at m points (m x d) into values (m x d). */
typedef sf_status (*sf_vector_field)(void *data, const double *points, size_t m, double *values);

/* See sf_score_curl; h is the central-difference step. */
sf_status sfi_field_curl(sf_vector_field field, void *data, int d, const double *x, size_t n, int probes,
                        uint64_t seed, double h, double *curl);

#endif
