/* Random mixtures and particles for checks, tests and benchmarks. */
#include "workload.h"
#include "mixture.h"
#include "status.h"

#include <math.h>
#include <string.h>
#include <stdlib.h>

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void sfi_rng_seed(sf_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&seed);
}

static uint64_t next_u64(sf_rng *r)
{
    uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double sfi_rng_uniform(sf_rng *rng) { return (double)(next_u64(rng) >> 11) * 0x1.0p-53; }

double sfi_rng_normal(sf_rng *rng)
{
    double u = 1.0 - sfi_rng_uniform(rng), v = sfi_rng_uniform(rng);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* `rank` orthonormal rows of length d (Gram-Schmidt, twice for orthogonality to rounding). */
static void random_basis(sf_rng *rng, int d, int rank, double *U)
{
    for (int j = 0; j < rank; j++) {
        double *u = U + (size_t)j * d;
        for (int i = 0; i < d; i++) u[i] = sfi_rng_normal(rng);
        for (int pass = 0; pass < 2; pass++) {
            for (int l = 0; l < j; l++) {
                const double *v = U + (size_t)l * d;
                double dot = 0;
                for (int i = 0; i < d; i++) dot += u[i] * v[i];
                for (int i = 0; i < d; i++) u[i] -= dot * v[i];
            }
            double norm = 0;
            for (int i = 0; i < d; i++) norm += u[i] * u[i];
            norm = sqrt(norm);
            for (int i = 0; i < d; i++) u[i] /= norm;
        }
    }
}

static double log_uniform(sf_rng *rng, double lo, double hi) { return lo * pow(hi / lo, sfi_rng_uniform(rng)); }

sf_status sfi_workload_mixture(sf_mixture **out, sf_rng *rng, int d, int K, sf_workload_kinds kinds, double spread)
{
    int max_rank = d < 4 ? d : 4;
    double *buf = malloc(((size_t)2 * d + (size_t)max_rank * d + max_rank) * sizeof(double));
    if (!buf) return sfi_fail(SF_ERR_NOMEM, "out of memory building a random mixture");
    double *mean = buf, *var = buf + d, *U = buf + 2 * d, *eig = U + (size_t)max_rank * d;
    double vscale = 0.25 * spread * spread;
    sf_status st = sf_mixture_create(out, d);
    for (int k = 0; st == SF_OK && k < K; k++) {
        for (int i = 0; i < d; i++) mean[i] = spread * sfi_rng_normal(rng);
        double weight = 0.2 + 0.8 * sfi_rng_uniform(rng);
        int kind = kinds == SF_WORKLOAD_ALL ? (int)(3 * sfi_rng_uniform(rng)) : (int)kinds - 1;
        if (kind == 0) {
            st = sf_mixture_add_isotropic(*out, weight, mean, log_uniform(rng, 0.01, 1) * vscale);
        } else if (kind == 1) {
            for (int i = 0; i < d; i++) var[i] = log_uniform(rng, 0.01, 1) * vscale;
            st = sf_mixture_add_diagonal(*out, weight, mean, var);
        } else {
            int rank = 1 + (int)(max_rank * sfi_rng_uniform(rng));
            random_basis(rng, d, rank, U);
            for (int j = 0; j < rank; j++) eig[j] = log_uniform(rng, 0.1, 1) * vscale * 4;
            double iso = sfi_rng_uniform(rng) < 0.5 ? 0.0 : log_uniform(rng, 0.01, 0.3) * vscale;
            st = sf_mixture_add_lowrank(*out, weight, mean, iso, rank, U, eig);
        }
    }
    free(buf);
    if (st != SF_OK) {
        sf_mixture_destroy(*out);
        *out = NULL;
    }
    return st;
}

void sfi_workload_particles(double *x, size_t n, const sf_mixture *m, const sf_time *time, sf_rng *rng,
                           double outlier_fraction, double outlier_scale)
{
    int d = m->dim, rmax = sfi_mixture_max_rank(m);
    double spread = 0;
    for (size_t i = 0; i < (size_t)m->count * d; i++) spread += m->mean[i] * m->mean[i];
    spread = sqrt(spread / ((double)m->count * d)) + 1e-300;
    double *z = malloc(((size_t)d + rmax + 1) * sizeof(double));
    for (size_t p = 0; p < n; p++) {
        double *row = x + p * d;
        if (sfi_rng_uniform(rng) < outlier_fraction) {
            for (int i = 0; i < d; i++) row[i] = outlier_scale * spread * sfi_rng_normal(rng);
            continue;
        }
        /* x0 ~ p_0, then x = alpha x0 + sigma z */
        double u = sfi_rng_uniform(rng);
        for (int i = 0; i < d + rmax; i++) z[i] = sfi_rng_normal(rng);
        sfi_mixture_draw(m, u, z, z + d, row);
        for (int i = 0; i < d; i++) row[i] = time->alpha * row[i] + time->sigma * sfi_rng_normal(rng);
    }
    free(z);
}

double sfi_rms(const double *v, size_t n)
{
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += v[i] * v[i];
    return n ? sqrt(ss / n) : 0;
}

double sfi_compare_scaled(const double *ref, const double *got, size_t n, double tol, double scale, size_t *worst_index)
{
    double worst = 0;
    if (worst_index) *worst_index = 0;
    for (size_t i = 0; i < n; i++) {
        double ratio = got[i] == ref[i] ? 0.0 : fabs(got[i] - ref[i]) / (tol * (scale + fabs(ref[i])));
        if (!isfinite(got[i]) || !isfinite(ref[i])) ratio = INFINITY;
        if (ratio > worst || (i == 0 && ratio >= worst)) {
            worst = ratio;
            if (worst_index) *worst_index = i;
        }
    }
    return worst;
}

double sfi_compare(const double *ref, const double *got, size_t n, double tol, size_t *worst_index)
{
    return sfi_compare_scaled(ref, got, n, tol, sfi_rms(ref, n), worst_index);
}

/* The five outputs in sf_output_diff's order, and their element counts. */
static void output_arrays(const sf_outputs *o, size_t n, int d, int K, const double *arrays[5], size_t sizes[5])
{
    const double *a[5] = {o->score, o->logp, o->resp, o->div, o->denoise};
    size_t s[5] = {n * d, n, n * K, n, n * d};
    memcpy(arrays, a, sizeof a);
    memcpy(sizes, s, sizeof s);
}

void sfi_outputs_square_sums(const sf_outputs *ref, size_t n, int d, int K, double sums[5])
{
    const double *a[5];
    size_t sizes[5];
    output_arrays(ref, n, d, K, a, sizes);
    for (int o = 0; o < 5; o++) {
        sums[o] = 0;
        for (size_t i = 0; a[o] && i < sizes[o]; i++) sums[o] += a[o][i] * a[o][i];
    }
}

double sfi_compare_outputs_scaled(const sf_outputs *ref, const sf_outputs *got, size_t n, int d, int K, double tol,
                                 const double scales[5], sf_output_diff diffs[5])
{
    static const char *const names[5] = {"score", "logp", "resp", "div", "denoise"};
    const double *a[5], *b[5];
    size_t sizes[5];
    output_arrays(ref, n, d, K, a, sizes);
    output_arrays(got, n, d, K, b, sizes);
    double worst = 0;
    for (int o = 0; o < 5; o++) {
        sf_output_diff *r = &diffs[o];
        r->name = names[o];
        r->worst = 0, r->at = 0, r->ref = r->got = 0;
        if (!a[o] || !b[o] || sizes[o] == 0) continue;
        r->worst = sfi_compare_scaled(a[o], b[o], sizes[o], tol, scales[o], &r->at);
        r->ref = a[o][r->at], r->got = b[o][r->at];
        if (!(r->worst <= worst)) worst = r->worst;
    }
    return worst;
}

double sfi_compare_outputs(const sf_outputs *ref, const sf_outputs *got, size_t n, int d, int K, double tol,
                          sf_output_diff diffs[5])
{
    const double *a[5];
    size_t sizes[5];
    double scales[5];
    output_arrays(ref, n, d, K, a, sizes);
    sfi_outputs_square_sums(ref, n, d, K, scales);
    for (int o = 0; o < 5; o++) scales[o] = sizes[o] ? sqrt(scales[o] / sizes[o]) : 0; /* sfi_rms */
    return sfi_compare_outputs_scaled(ref, got, n, d, K, tol, scales, diffs);
}
