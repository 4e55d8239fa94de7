/* Internal layout of sf_mixture: K components, each a mean and a covariance
 *   C_k = diag(var_diag_k) + U_k diag(eig_k) U_k^T,
 * with var_diag constant for isotropic and low-rank components (docs/fields.md). */
#ifndef SF_MIXTURE_H
#define SF_MIXTURE_H

#include "scorefield.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sf_mixture {
    int dim, count, capacity;
    double *weight;      /* [K] as given (positive); normalised on use */
    double weight_total; /* their sum (kept finite: a weight that would overflow it is refused) */
    double *mean;        /* [K x dim] */
    double *var_diag;    /* [K x dim] the diagonal part of C_k */
    sf_cov_kind *kind;   /* [K] */
    int *rank_offset;    /* [K + 1] rows of `basis` owned by component k: [offset[k], offset[k+1]) */
    double *basis;       /* [R x dim] orthonormal rows, R = rank_offset[K] */
    double *eig;         /* [R] */
    int basis_capacity;
};

/* Sum of the raw weights (normalisation constant). */
double sfi_mixture_weight_sum(const sf_mixture *mix);

/* A draw x0 ~ p_0 from a uniform u in [0, 1) (picks the component by weight) and standard
 * normals z_diag[d] and z_rank[max rank]: x0 = mu_k + sqrt(c_k) z_diag + sum_j sqrt(lambda_j) z_rank_j u_j.
 * One routine for every sampler of p_0, whatever the generator behind u and z. */
void sfi_mixture_draw(const sf_mixture *mix, double u, const double *z_diag, const double *z_rank, double *x0);
/* The largest basis rank of any component (sizes z_rank). */
int sfi_mixture_max_rank(const sf_mixture *mix);

/* The sub-mixture of the listed components (weights renormalised on use): a class for guidance. */
sf_status sfi_mixture_subset(const sf_mixture *mix, const int *components, int count, sf_mixture **out);

#ifdef __cplusplus
}
#endif
#endif
