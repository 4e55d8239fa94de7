/* Gaussian mixtures: construction and validation of components (docs/fields.md). */
#include "mixture.h"
#include "status.h"

#include <limits.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Tolerance on max |U U^T - I| for a low-rank basis (docs/fields.md: the spectral form needs it). */
#define SF_ORTHONORMAL_TOL 1e-12

sf_status sf_mixture_create(sf_mixture **out, int dim)
{
    if (!out) return sfi_fail(SF_ERR_INVALID, "sf_mixture_create: mix is NULL");
    *out = NULL;
    if (dim < 1) return sfi_fail(SF_ERR_INVALID, "mixture dimension %d must be >= 1", dim);
    sf_mixture *m = calloc(1, sizeof *m);
    if (!m) return sfi_fail(SF_ERR_NOMEM, "out of memory creating a mixture");
    m->dim = dim;
    m->rank_offset = calloc(1, sizeof *m->rank_offset);
    if (!m->rank_offset) {
        free(m);
        return sfi_fail(SF_ERR_NOMEM, "out of memory creating a mixture");
    }
    *out = m;
    return SF_OK;
}

void sf_mixture_destroy(sf_mixture *m)
{
    if (!m) return;
    free(m->weight);
    free(m->mean);
    free(m->var_diag);
    free(m->kind);
    free(m->rank_offset);
    free(m->basis);
    free(m->eig);
    free(m);
}

static int grow(void **p, size_t elem, size_t count)
{
    if (count && elem > SIZE_MAX / count) return 0; /* the size itself does not fit */
    void *q = realloc(*p, elem * count);
    if (!q) return 0;
    *p = q;
    return 1;
}

/* Makes room for one more component with `rank` basis rows. */
static sf_status reserve(sf_mixture *m, int rank)
{
    if (m->count == INT_MAX || m->rank_offset[m->count] > INT_MAX - rank)
        return sfi_fail(SF_ERR_INVALID, "a mixture holds at most %d components and basis rows", INT_MAX);
    if (m->count == m->capacity) {
        int cap = m->capacity > INT_MAX / 2 ? INT_MAX : m->capacity ? 2 * m->capacity : 4;
        size_t d = (size_t)m->dim;
        if (!grow((void **)&m->weight, sizeof(double), cap) ||
            !grow((void **)&m->mean, sizeof(double) * d, cap) ||
            !grow((void **)&m->var_diag, sizeof(double) * d, cap) ||
            !grow((void **)&m->kind, sizeof(sf_cov_kind), cap) ||
            !grow((void **)&m->rank_offset, sizeof(int), (size_t)cap + 1))
            return sfi_fail(SF_ERR_NOMEM, "out of memory adding mixture component %d", m->count);
        m->capacity = cap;
    }
    int need = m->rank_offset[m->count] + rank;
    if (need > m->basis_capacity) {
        int cap = m->basis_capacity ? m->basis_capacity : 4;
        while (cap < need) cap = cap > INT_MAX / 2 ? INT_MAX : 2 * cap;
        if (!grow((void **)&m->basis, sizeof(double) * (size_t)m->dim, cap) ||
            !grow((void **)&m->eig, sizeof(double), cap))
            return sfi_fail(SF_ERR_NOMEM, "out of memory adding mixture component %d", m->count);
        m->basis_capacity = cap;
    }
    return SF_OK;
}

/* Every pointer an addition needs, before anything is read through it. */
static sf_status check_pointers(const char *function, const sf_mixture *m, const double *mean, const void *more,
                                const void *more2)
{
    if (!m || !mean || !more || !more2)
        return sfi_fail(SF_ERR_INVALID, "%s: a required argument (mixture, mean, variances, basis or eig) is NULL", function);
    return SF_OK;
}

static sf_status check_common(const sf_mixture *m, double weight, const double *mean)
{
    if (!(weight > 0) || !isfinite(weight))
        return sfi_fail(SF_ERR_INVALID, "component %d: weight %g must be positive and finite", m->count, weight);
    if (!isfinite(m->weight_total + weight))
        return sfi_fail(SF_ERR_INVALID, "component %d: weight %g makes the sum of the weights overflow (scale them down)",
                       m->count, weight);
    for (int i = 0; i < m->dim; i++)
        if (!isfinite(mean[i]))
            return sfi_fail(SF_ERR_INVALID, "component %d: mean[%d] = %g is not finite", m->count, i, mean[i]);
    return SF_OK;
}

static sf_status check_variance(const sf_mixture *m, double v, int i)
{
    if (!(v >= 0) || !isfinite(v))
        return sfi_fail(SF_ERR_INVALID, "component %d: variance%s = %g must be >= 0 and finite", m->count,
                       i < 0 ? "" : "[i]", v);
    return SF_OK;
}

/* Appends a validated component; basis/eig are copied when rank > 0. */
static sf_status append(sf_mixture *m, sf_cov_kind kind, double weight, const double *mean,
                        const double *var_diag, int rank, const double *basis, const double *eig)
{
    sf_status st = reserve(m, rank);
    if (st != SF_OK) return st;
    size_t d = (size_t)m->dim, k = (size_t)m->count;
    int off = m->rank_offset[k];
    m->weight[k] = weight;
    m->weight_total += weight;
    m->kind[k] = kind;
    memcpy(m->mean + k * d, mean, d * sizeof(double));
    memcpy(m->var_diag + k * d, var_diag, d * sizeof(double));
    if (rank > 0) {
        memcpy(m->basis + (size_t)off * d, basis, (size_t)rank * d * sizeof(double));
        memcpy(m->eig + off, eig, (size_t)rank * sizeof(double));
    }
    m->rank_offset[k + 1] = off + rank;
    m->count++;
    return SF_OK;
}

/* The diagonal part as a d-vector with every entry v (scratch allocated here). */
static sf_status append_constant_diag(sf_mixture *m, sf_cov_kind kind, double weight, const double *mean,
                                      double v, int rank, const double *basis, const double *eig)
{
    double *diag = malloc((size_t)m->dim * sizeof(double));
    if (!diag) return sfi_fail(SF_ERR_NOMEM, "out of memory adding mixture component %d", m->count);
    for (int i = 0; i < m->dim; i++) diag[i] = v;
    sf_status st = append(m, kind, weight, mean, diag, rank, basis, eig);
    free(diag);
    return st;
}

sf_status sf_mixture_add_isotropic(sf_mixture *m, double weight, const double *mean, double var)
{
    sf_status st = check_pointers(__func__, m, mean, mean, mean);
    if (st == SF_OK) st = check_common(m, weight, mean);
    if (st == SF_OK) st = check_variance(m, var, -1);
    if (st != SF_OK) return st;
    return append_constant_diag(m, SF_COV_ISOTROPIC, weight, mean, var, 0, NULL, NULL);
}

sf_status sf_mixture_add_diagonal(sf_mixture *m, double weight, const double *mean, const double *var)
{
    sf_status st = check_pointers(__func__, m, mean, var, var);
    if (st != SF_OK) return st;
    st = check_common(m, weight, mean);
    for (int i = 0; st == SF_OK && i < m->dim; i++) {
        if (!(var[i] >= 0) || !isfinite(var[i]))
            return sfi_fail(SF_ERR_INVALID, "component %d: variance[%d] = %g must be >= 0 and finite",
                           m->count, i, var[i]);
    }
    if (st != SF_OK) return st;
    return append(m, SF_COV_DIAGONAL, weight, mean, var, 0, NULL, NULL);
}

/* Largest |(U U^T - I)_ab| over the rank x rank Gram matrix of the rows. */
static double orthonormality_defect(const double *basis, int rank, int d)
{
    double worst = 0;
    for (int a = 0; a < rank; a++)
        for (int b = 0; b <= a; b++) {
            double dot = 0;
            for (int i = 0; i < d; i++) dot += basis[(size_t)a * d + i] * basis[(size_t)b * d + i];
            double dev = fabs(dot - (a == b ? 1.0 : 0.0));
            if (!(dev <= worst)) worst = dev; /* NaN propagates as "worst" */
        }
    return worst;
}

sf_status sf_mixture_add_lowrank(sf_mixture *m, double weight, const double *mean, double var, int rank,
                                 const double *basis, const double *eig)
{
    sf_status st = check_pointers(__func__, m, mean, basis, eig);
    if (st == SF_OK) st = check_common(m, weight, mean);
    if (st == SF_OK) st = check_variance(m, var, -1);
    if (st != SF_OK) return st;
    if (rank < 1 || rank > m->dim)
        return sfi_fail(SF_ERR_INVALID, "component %d: rank %d must be between 1 and the dimension %d",
                       m->count, rank, m->dim);
    for (int j = 0; j < rank; j++)
        if (!(eig[j] > 0) || !isfinite(eig[j]))
            return sfi_fail(SF_ERR_INVALID, "component %d: eig[%d] = %g must be positive and finite",
                           m->count, j, eig[j]);
    double defect = orthonormality_defect(basis, rank, m->dim);
    if (!(defect <= SF_ORTHONORMAL_TOL))
        return sfi_fail(SF_ERR_INVALID, "component %d: basis rows are not orthonormal (max |U U^T - I| = %.3g > %g)",
                       m->count, defect, SF_ORTHONORMAL_TOL);
    return append_constant_diag(m, SF_COV_LOWRANK, weight, mean, var, rank, basis, eig);
}

sf_status sf_mixture_create_isotropic(sf_mixture **out, int dim, int K, const double *weights,
                                      const double *means, const double *vars)
{
    if (!out || !weights || !means || !vars)
        return sfi_fail(SF_ERR_INVALID, "sf_mixture_create_isotropic: a required argument is NULL");
    *out = NULL;
    if (K < 1) return sfi_fail(SF_ERR_INVALID, "sf_mixture_create_isotropic: K = %d components (at least 1)", K);
    sf_status st = sf_mixture_create(out, dim);
    for (int k = 0; st == SF_OK && k < K; k++)
        st = sf_mixture_add_isotropic(*out, weights[k], means + (size_t)k * dim, vars[k]);
    if (st != SF_OK) {
        sf_mixture_destroy(*out);
        *out = NULL;
    }
    return st;
}

double sfi_mixture_weight_sum(const sf_mixture *m) { return m->weight_total; }

/* The accessors' argument check: 1 if component k of m exists; otherwise 0 with the message set. */
static int component_exists(const char *function, const sf_mixture *m, int k)
{
    if (!m) sfi_fail(SF_ERR_INVALID, "%s: mix is NULL", function);
    else if (k < 0 || k >= m->count)
        sfi_fail(SF_ERR_INVALID, "%s: component %d does not exist (the mixture has %d)", function, k, m->count);
    return m && k >= 0 && k < m->count;
}

int sf_mixture_dim(const sf_mixture *m)
{
    if (!m) sfi_fail(SF_ERR_INVALID, "sf_mixture_dim: mix is NULL");
    return m ? m->dim : 0;
}

int sf_mixture_count(const sf_mixture *m)
{
    if (!m) sfi_fail(SF_ERR_INVALID, "sf_mixture_count: mix is NULL");
    return m ? m->count : 0;
}

sf_cov_kind sf_mixture_kind(const sf_mixture *m, int k)
{
    return component_exists(__func__, m, k) ? m->kind[k] : (sf_cov_kind)-1;
}

int sf_mixture_rank(const sf_mixture *m, int k)
{
    return component_exists(__func__, m, k) ? m->rank_offset[k + 1] - m->rank_offset[k] : -1;
}

double sf_mixture_weight(const sf_mixture *m, int k)
{
    return component_exists(__func__, m, k) ? m->weight[k] / sfi_mixture_weight_sum(m) : NAN;
}

const double *sf_mixture_mean(const sf_mixture *m, int k)
{
    return component_exists(__func__, m, k) ? m->mean + (size_t)k * m->dim : NULL;
}

sf_status sfi_mixture_subset(const sf_mixture *m, const int *components, int count, sf_mixture **out)
{
    *out = NULL;
    if (count < 1) return sfi_fail(SF_ERR_INVALID, "a class needs at least one component");
    sf_status st = sf_mixture_create(out, m->dim);
    for (int c = 0; st == SF_OK && c < count; c++) {
        int k = components[c];
        if (k < 0 || k >= m->count) {
            st = sfi_fail(SF_ERR_INVALID, "class component %d does not exist (the mixture has %d)", k, m->count);
            break;
        }
        for (int e = 0; e < c; e++)
            if (components[e] == k) st = sfi_fail(SF_ERR_INVALID, "class component %d is listed twice", k);
        if (st != SF_OK) break;
        int off = m->rank_offset[k], rank = m->rank_offset[k + 1] - off;
        /* components were validated when added: append them as they are */
        st = append(*out, m->kind[k], m->weight[k], m->mean + (size_t)k * m->dim, m->var_diag + (size_t)k * m->dim,
                        rank, m->basis + (size_t)off * m->dim, m->eig + off);
    }
    if (st != SF_OK) {
        sf_mixture_destroy(*out);
        *out = NULL;
    }
    return st;
}

void sfi_mixture_draw(const sf_mixture *m, double u, const double *z_diag, const double *z_rank, double *x0)
{
    int d = m->dim, k = 0;
    double left = u * sfi_mixture_weight_sum(m);
    while (k < m->count - 1 && (left -= m->weight[k]) > 0) k++;
    const double *mu = m->mean + (size_t)k * d, *c = m->var_diag + (size_t)k * d;
    for (int i = 0; i < d; i++) x0[i] = mu[i] + sqrt(c[i]) * z_diag[i];
    for (int j = m->rank_offset[k]; j < m->rank_offset[k + 1]; j++) {
        double a = sqrt(m->eig[j]) * z_rank[j - m->rank_offset[k]];
        for (int i = 0; i < d; i++) x0[i] += a * m->basis[(size_t)j * d + i];
    }
}

int sfi_mixture_max_rank(const sf_mixture *m)
{
    int r = 0;
    for (int k = 0; k < m->count; k++)
        if (m->rank_offset[k + 1] - m->rank_offset[k] > r) r = m->rank_offset[k + 1] - m->rank_offset[k];
    return r;
}

const double *sf_mixture_basis(const sf_mixture *m, int k, int *rank)
{
    if (!component_exists(__func__, m, k)) {
        if (rank) *rank = -1;
        return NULL;
    }
    int r = m->rank_offset[k + 1] - m->rank_offset[k];
    if (rank) *rank = r;
    return r ? m->basis + (size_t)m->rank_offset[k] * m->dim : NULL;
}

int sf_mixture_codimension(const sf_mixture *m, int k)
{
    if (!component_exists(__func__, m, k)) return -1;
    int d = m->dim, rank = m->rank_offset[k + 1] - m->rank_offset[k], zeros = 0;
    const double *c = m->var_diag + (size_t)k * d;
    if (rank > 0) return c[0] == 0 ? d - rank : 0; /* constant diagonal part: e_perp along d - r directions */
    for (int i = 0; i < d; i++) zeros += c[i] == 0;
    return zeros;
}

const double *sf_mixture_variances(const sf_mixture *m, int k)
{
    return component_exists(__func__, m, k) ? m->var_diag + (size_t)k * m->dim : NULL;
}
