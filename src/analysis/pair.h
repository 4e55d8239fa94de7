/* Internal: the symmetric binary pair 1/2 N(c + mu, C) + 1/2 N(c - mu, C), whose speciation,
 * label entropy and amplification have closed forms or universal curves (docs/analyses.md). */
#ifndef SF_PAIR_H
#define SF_PAIR_H

#include "scorefield.h"

/* SF_OK if mix is a symmetric pair (two components, equal weights, one covariance), with the
 * half-difference of the means in mu (d values; may be NULL); SF_ERR_INVALID with a message
 * otherwise. */
sf_status sfi_pair_check(const sf_mixture *mix, double *mu);

/* mu^T (C + tau I)^-power mu for power 1 or 2 (INFINITY at tau = 0 when mu leaves the support of
 * a singular C); NaN when out of memory. */
double sfi_pair_quadratic(const sf_mixture *mix, const double *mu, double tau, int power);

/* 1 if mix is a symmetric pair of isotropic components: a = |mu| and s2 = the variance. */
int sfi_pair_isotropic(const sf_mixture *mix, double *a, double *s2);

#endif
