/* The symmetric binary pair (see pair.h): kappa(tau) = mu^T (C + tau I)^-1 mu, its inverse (the
 * closed-form critical time is kappa = 1), and the universal variance curves of the label entropy
 * and of the normalised entropy rate, with their peaks. */
#include "pair.h"
#include "mixture.h"
#include "numerics.h"
#include "status.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

sf_status sfi_pair_check(const sf_mixture *m, double *mu)
{
    int d = m->dim;
    if (m->count != 2 || fabs(m->weight[0] - m->weight[1]) > 1e-12 * (m->weight[0] + m->weight[1]))
        return sfi_fail(SF_ERR_INVALID, "not a symmetric pair: needs two components of equal weight");
    int r0 = m->rank_offset[1], r1 = m->rank_offset[2] - r0;
    int same = r0 == r1 && memcmp(m->var_diag, m->var_diag + d, (size_t)d * sizeof(double)) == 0 &&
               (r0 == 0 || (memcmp(m->basis, m->basis + (size_t)r0 * d, (size_t)r0 * d * sizeof(double)) == 0 &&
                            memcmp(m->eig, m->eig + r0, (size_t)r0 * sizeof(double)) == 0));
    if (!same) return sfi_fail(SF_ERR_INVALID, "not a symmetric pair: the two components must share one covariance");
    if (mu)
        for (int i = 0; i < d; i++) mu[i] = 0.5 * (m->mean[i] - m->mean[d + i]);
    return SF_OK;
}

double sfi_pair_quadratic(const sf_mixture *m, const double *mu, double tau, int power)
{
    int d = m->dim;
    const double *c = m->var_diag; /* component 0; the pair shares it */
    double sum = 0, mu2 = 0, *resid = malloc((size_t)d * sizeof(double));
    if (!resid) return NAN;
    memcpy(resid, mu, (size_t)d * sizeof(double));
    for (int i = 0; i < d; i++) mu2 += mu[i] * mu[i];
    for (int j = m->rank_offset[0]; j < m->rank_offset[1]; j++) { /* low rank: constant diagonal part */
        const double *u = m->basis + (size_t)j * d;
        double p = 0;
        for (int i = 0; i < d; i++) p += u[i] * mu[i];
        for (int i = 0; i < d; i++) resid[i] -= p * u[i];
        sum += p * p / pow(c[0] + m->eig[j] + tau, power);
    }
    for (int i = 0; i < d; i++) {
        double r2 = resid[i] * resid[i];
        if (c[i] + tau > 0) sum += r2 / pow(c[i] + tau, power);
        else if (r2 > 1e-24 * mu2) sum = INFINITY; /* mu leaves the support: separated at tau = 0 */
        /* else: a rounding remainder along an axis of zero variance, not a component of mu */
    }
    free(resid);
    return sum;
}

int sfi_pair_isotropic(const sf_mixture *m, double *a, double *s2)
{
    double *mu = malloc((size_t)m->dim * sizeof(double));
    int iso = mu && sfi_pair_check(m, mu) == SF_OK && m->kind[0] == SF_COV_ISOTROPIC && m->kind[1] == SF_COV_ISOTROPIC;
    if (iso) {
        double n2 = 0;
        for (int i = 0; i < m->dim; i++) n2 += mu[i] * mu[i];
        *a = sqrt(n2), *s2 = m->var_diag[0];
    }
    free(mu);
    sfi_error_clear();
    return iso;
}

sf_status sf_pair_kappa(const sf_mixture *m, double tau, double *kappa, double *nu)
{
    sfi_error_clear();
    if (!m) return sfi_fail(SF_ERR_INVALID, "sf_pair_kappa: mix is NULL");
    if (!(tau >= 0) || !isfinite(tau)) return sfi_fail(SF_ERR_INVALID, "heat time tau = %g must be finite and >= 0", tau);
    double *mu = malloc((size_t)m->dim * sizeof(double));
    if (!mu) return sfi_fail(SF_ERR_NOMEM, "out of memory");
    sf_status st = sfi_pair_check(m, mu);
    double k = st == SF_OK ? sfi_pair_quadratic(m, mu, tau, 1) : NAN;
    double k2 = st == SF_OK ? sfi_pair_quadratic(m, mu, tau, 2) : NAN;
    free(mu);
    if (st != SF_OK) return st;
    if (isnan(k) || isnan(k2)) return sfi_fail(SF_ERR_NOMEM, "out of memory");
    if (kappa) *kappa = k;
    if (nu) *nu = k / k2; /* = s^2 + tau for an isotropic pair */
    return SF_OK;
}

typedef struct {
    const sf_mixture *mix;
    const double *mu;
    double kappa;
} kappa_target;

static sf_status kappa_excess(void *data, double tau, double *value)
{
    const kappa_target *k = data;
    *value = sfi_pair_quadratic(k->mix, k->mu, tau, 1) - k->kappa;
    return isnan(*value) ? sfi_fail(SF_ERR_NOMEM, "out of memory") : SF_OK;
}

/* The root of kappa(tau) = kappa, or 0 when kappa(0) <= kappa (never reached). */
static sf_status tau_of_kappa(const sf_mixture *m, double kappa, double *tau, int *reached)
{
    double *mu = malloc((size_t)m->dim * sizeof(double));
    if (!mu) return sfi_fail(SF_ERR_NOMEM, "out of memory");
    sf_status st = sfi_pair_check(m, mu);
    kappa_target target = {m, mu, kappa};
    double f0 = 0;
    if (st == SF_OK) st = kappa_excess(&target, 0, &f0);
    *reached = st == SF_OK && f0 > 0;
    if (st == SF_OK && !*reached) *tau = 0;
    if (st == SF_OK && *reached) { /* kappa(tau) decreases: double hi until below the target */
        double hi = 1, fhi = 0;
        while ((st = kappa_excess(&target, hi, &fhi)) == SF_OK && fhi > 0 && hi < 1e300) hi *= 2;
        if (st == SF_OK) st = sfi_bisect(kappa_excess, &target, 0, hi, 1e-15 * hi, "kappa(tau) = kappa", tau);
    }
    free(mu);
    return st;
}

sf_status sf_speciation_tau_closed_form(const sf_mixture *m, double *tau_c)
{
    sfi_error_clear();
    if (!m || !tau_c) return sfi_fail(SF_ERR_INVALID, "sf_speciation_tau_closed_form: mix and tau_c must not be NULL");
    int reached;
    sf_status st = tau_of_kappa(m, 1.0, tau_c, &reached);
    if (st != SF_OK) sfi_error_prefix("the closed form");
    return st;
}

sf_status sf_pair_tau_of_kappa(const sf_mixture *m, double kappa, double *tau)
{
    sfi_error_clear();
    if (!m || !tau) return sfi_fail(SF_ERR_INVALID, "sf_pair_tau_of_kappa: mix and tau must not be NULL");
    if (!(kappa > 0) || !isfinite(kappa)) return sfi_fail(SF_ERR_INVALID, "kappa = %g must be positive and finite", kappa);
    int reached;
    sf_status st = tau_of_kappa(m, kappa, tau, &reached);
    if (st == SF_OK && !reached)
        return sfi_fail(SF_ERR_INVALID, "this pair never reaches kappa = %g (kappa(0) = mu^T C^-1 mu is smaller)", kappa);
    return st;
}

/* ---------------------------------------------------------------- the universal curves */

/* log(1 + e^x) without overflow */
static double softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

/* The statistic at logit phi = 2 sqrt(kappa) z: the binary entropy of r = logistic(phi), or the
 * varying part of the normalised rate, 2 kappa r (1 - r). */
static double statistic(sf_pair_statistic which, double kappa, double phi)
{
    double r = 1 / (1 + exp(-phi)), rc = 1 / (1 + exp(phi));
    if (which == SF_PAIR_LABEL_ENTROPY) return r * softplus(-phi) + rc * softplus(phi); /* -r ln r - (1-r) ln(1-r) */
    return 2 * kappa * r * rc;
}

/* Gauss-Legendre nodes for E over xi ~ N(0, 1) on [-12, 12] (the tail beyond is e^-72): panels no
 * wider than 1/sqrt(kappa), so the logistic's poles at distance pi/(2 sqrt kappa) from the real
 * axis are far from every panel (geometric convergence far below rounding). */
static int pair_panels(double kappa) { return (int)ceil(24 / fmin(0.5, 1 / sqrt(kappa))); }

static int pair_nodes(double kappa, double **x, double **w)
{
    int panels = pair_panels(kappa);
    *x = malloc((size_t)panels * SF_GL_POINTS * sizeof(double));
    *w = malloc((size_t)panels * SF_GL_POINTS * sizeof(double));
    if (!*x || !*w) return 0;
    sfi_gauss_legendre(-12, 12, panels, *x, *w);
    return panels * SF_GL_POINTS;
}

sf_status sf_pair_variance(sf_pair_statistic which, double kappa, double *var)
{
    if (!var) return sfi_fail(SF_ERR_INVALID, "sf_pair_variance: var is NULL");
    if (which != SF_PAIR_LABEL_ENTROPY && which != SF_PAIR_NORMALISED_RATE)
        return sfi_fail(SF_ERR_INVALID, "unknown pair statistic %d", (int)which);
    if (!(kappa > 0) || kappa > 1e6) return sfi_fail(SF_ERR_INVALID, "kappa = %g must lie in (0, 1e6]", kappa);
    double *x, *w;
    int count = pair_nodes(kappa, &x, &w);
    if (!count) {
        free(x), free(w);
        return sfi_fail(SF_ERR_NOMEM, "out of memory");
    }
    /* by symmetry E over q equals E over one component: z = mu^T Sigma^-1 (y - c) / sqrt(kappa) ~ N(sqrt(kappa), 1) */
    double norm = 0, mean = 0, m2 = 0, root = sqrt(kappa);
    for (int i = 0; i < count; i++) {
        double g = w[i] * exp(-0.5 * x[i] * x[i]);
        norm += g, mean += g * statistic(which, kappa, 2 * root * (root + x[i]));
    }
    mean /= norm;
    for (int i = 0; i < count; i++) {
        double e = statistic(which, kappa, 2 * root * (root + x[i])) - mean;
        m2 += w[i] * exp(-0.5 * x[i] * x[i]) * e * e;
    }
    *var = m2 / norm;
    free(x), free(w);
    return SF_OK;
}

typedef struct {
    sf_pair_statistic which;
} peak_search;

static sf_status minus_variance(void *data, double log_kappa, double *value)
{
    double v;
    sf_status st = sf_pair_variance(((const peak_search *)data)->which, exp(log_kappa), &v);
    *value = -v;
    return st;
}

sf_status sf_pair_variance_peak(sf_pair_statistic which, sf_pair_peak *peak)
{
    sfi_error_clear();
    if (!peak) return sfi_fail(SF_ERR_INVALID, "sf_pair_variance_peak: peak is NULL");
    if (which != SF_PAIR_LABEL_ENTROPY && which != SF_PAIR_NORMALISED_RATE)
        return sfi_fail(SF_ERR_INVALID, "unknown pair statistic %d", (int)which);
    peak_search s = {which};
    double lk, minus;
    /* both curves vanish as kappa -> 0 and as kappa -> infinity, with one maximum between */
    sf_status st = sfi_golden_min(minus_variance, &s, log(0.05), log(50.0), 1e-10, &lk, &minus);
    if (st != SF_OK) return st;
    double k = exp(lk), v = -minus, h = 1e-3 * k, vp, vm;
    if ((st = sf_pair_variance(which, k + h, &vp)) != SF_OK || (st = sf_pair_variance(which, k - h, &vm)) != SF_OK) return st;
    double curvature = fabs(vp - 2 * v + vm) / (h * h);
    /* rounding of a quadrature over N nodes, 16 sqrt(N) eps |V|, limits where a flat maximum can be
     * located: |V(k) - V(k*)| = |V''| (k - k*)^2 / 2 is invisible below it */
    double nodes = (double)pair_panels(k) * SF_GL_POINTS;
    double delta = 16 * sqrt(nodes) * DBL_EPSILON * v;
    peak->kappa = k;
    peak->kappa_tol = 1e-10 * k + sqrt(2 * delta / curvature);
    peak->var = v;
    peak->var_tol = delta + 0.5 * curvature * peak->kappa_tol * peak->kappa_tol;
    return SF_OK;
}
