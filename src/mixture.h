/* Internal layout of sf_mixture: K components, each a mean and a covariance
 *   C_k = diag(var_diag_k) + U_k diag(eig_k) U_k^T,
 * with var_diag constant for isotropic and low-rank components (SPEC.md B). */
#ifndef SF_MIXTURE_H
#define SF_MIXTURE_H

#include "scorefield.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sf_mixture {
    int dim, count, capacity;
    double *weight;      /* [K] as given (positive); normalised on use */
    double *mean;        /* [K x dim] */
    double *var_diag;    /* [K x dim] the diagonal part of C_k */
    sf_cov_kind *kind;   /* [K] */
    int *rank_offset;    /* [K + 1] rows of `basis` owned by component k: [offset[k], offset[k+1]) */
    double *basis;       /* [R x dim] orthonormal rows, R = rank_offset[K] */
    double *eig;         /* [R] */
    int basis_capacity;
};

/* Sum of the raw weights (normalisation constant). */
double sf_mixture_weight_sum(const sf_mixture *mix);

#ifdef __cplusplus
}
#endif
#endif
