/* Internal: the numerical building blocks the analyses share, written once — fixed-step RK4, adaptive Dormand-Prince,
 * bisection, golden-section search, symmetric eigenvalues (cyclic Jacobi), composite
 * Gauss-Legendre quadrature and Monte Carlo moments (sf_power_law_exponent, public, is here too). */
#ifndef SF_NUMERICS_H
#define SF_NUMERICS_H

#include "scorefield.h"

#include <stddef.h>

/* dy/dt at (t, y) for an m-vector y; a failure status stops the integration. */
typedef sf_status (*sf_ode_rate)(void *data, double t, const double *y, double *dy);

/* Classical RK4 on the m-vector y (in place) from t0 to t1 (either direction) in `steps` equal
 * steps. path (may be NULL) receives y at every node, (steps + 1) x m. */
sf_status sfi_rk4(sf_ode_rate rate, void *data, size_t m, double t0, double t1, int steps, double *y, double *path);

/* Adaptive Dormand-Prince 5(4) on the m-vector y (in place) from t0 to t1 (either direction), one
 * step size for the whole vector (so each rate call covers every component: batches of particles),
 * a step accepted when every component's local error is below atol + rtol |y|. `what` names the
 * problem in messages; steps_taken (may be NULL) receives the accepted steps. */
sf_status sfi_dopri5(sf_ode_rate rate, void *data, size_t m, double t0, double t1, double rtol, double atol,
                     const char *what, double *y, int *steps_taken);

/* Least-squares fit of log y = a + slope log x over the points with x, y > 0: the slope (NaN
 * without two such points at distinct x) and, in slope_se (may be NULL), its standard error from
 * the residuals (NaN with fewer than 3 points). */
void sfi_power_law_fit(const double *x, const double *y, size_t n, double *slope, double *slope_se);

/* A scalar function that may fail (it evaluates fields). */
typedef sf_status (*sf_scalar_fn)(void *data, double x, double *value);

/* A sign change of f inside [lo, hi]: f(lo) and f(hi) must have opposite signs (else
 * SF_ERR_INVALID naming `what`); bisects until the bracket is below xtol (or cannot shrink), and
 * returns its midpoint. A NaN value stops it with SF_ERR_NUMERIC. */
sf_status sfi_bisect(sf_scalar_fn f, void *data, double lo, double hi, double xtol, const char *what, double *root);

/* The minimum of a unimodal f on [lo, hi] by golden-section search, until the bracket is below
 * xtol; the abscissa in *xmin and the value in *fmin (either may be NULL). */
sf_status sfi_golden_min(sf_scalar_fn f, void *data, double lo, double hi, double xtol, double *xmin, double *fmin);

/* The eigenvalues of a symmetric d x d matrix (row-major; destroyed) by cyclic Jacobi rotations,
 * in eig (d values, unsorted). Returns the largest. */
double sfi_symmetric_eigenvalues(double *a, int d, double *eig);

/* Nodes and weights of composite Gauss-Legendre quadrature on [a, b]: `panels` equal panels of
 * SF_GL_POINTS points each, panels x SF_GL_POINTS values in x and w. Exact for polynomials of
 * degree 2 SF_GL_POINTS - 1 on each panel; smooth integrands converge geometrically. */
enum { SF_GL_POINTS = 16 };
void sfi_gauss_legendre(double a, double b, int panels, double *x, double *w);

/* Mean, variance and their standard errors of n values (n >= 2): two passes, the variance's
 * standard error from the fourth central moment, sqrt((m4 - var^2) / n). */
void sfi_estimate_of(const double *v, size_t n, sf_estimate *out);
/* Its parts, for values spread over processes: the sums of squared and fourth-power deviations
 * from `mean` of count values (m[0], m[1]), and the estimate of n values from their mean and the
 * whole sums. */
void sfi_central_sums(const double *v, size_t count, double mean, double m[2]);
void sfi_estimate_from(double mean, double m2, double m4, size_t n, sf_estimate *out);

#endif
