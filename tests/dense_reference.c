/* Test-only dense route (see dense_reference.h). */
#include "dense_reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef long double real;

/* Dense C_k from the public accessors plus the mixture's internals (mixture.h). */
#include "mixture.h"

static void dense_cov(const sf_mixture *m, int k, real *C)
{
    int d = m->dim;
    memset(C, 0, sizeof(real) * d * d);
    for (int i = 0; i < d; i++) C[i * d + i] = m->var_diag[(size_t)k * d + i];
    for (int j = m->rank_offset[k]; j < m->rank_offset[k + 1]; j++) {
        const double *u = m->basis + (size_t)j * d;
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++) C[a * d + b] += (real)m->eig[j] * u[a] * u[b];
    }
}

/* In-place Cholesky A = L L^T (lower); returns 0 if not positive definite. */
static int cholesky(real *A, int d)
{
    for (int j = 0; j < d; j++) {
        real s = A[j * d + j];
        for (int k = 0; k < j; k++) s -= A[j * d + k] * A[j * d + k];
        if (!(s > 0)) return 0;
        A[j * d + j] = sqrtl(s);
        for (int i = j + 1; i < d; i++) {
            real t = A[i * d + j];
            for (int k = 0; k < j; k++) t -= A[i * d + k] * A[j * d + k];
            A[i * d + j] = t / A[j * d + j];
        }
    }
    return 1;
}

/* Solves L L^T y = b in place. */
static void chol_solve(const real *L, int d, real *b)
{
    for (int i = 0; i < d; i++) {
        for (int k = 0; k < i; k++) b[i] -= L[i * d + k] * b[k];
        b[i] /= L[i * d + i];
    }
    for (int i = d - 1; i >= 0; i--) {
        for (int k = i + 1; k < d; k++) b[i] -= L[k * d + i] * b[k];
        b[i] /= L[i * d + i];
    }
}

int dense_fields(const sf_mixture *m, const sf_time *time, const double *x, double *logp_out, double *score,
                 double *resp, double *div_out, double *denoise)
{
    int d = m->dim, K = m->count, ok = 1;
    real a = time->alpha, s2 = time->sigma2;
    real *C = malloc(sizeof(real) * d * d), *S = malloc(sizeof(real) * d * d);
    real *g = malloc(sizeof(real) * K * d), *col = malloc(sizeof(real) * d);
    real *logit = malloc(sizeof(real) * K), *trace = malloc(sizeof(real) * K);
    real *mk = malloc(sizeof(real) * K * d);
    if (!C || !S || !g || !col || !logit || !trace || !mk) ok = 0;
    real wsum = 0;
    for (int k = 0; k < K; k++) wsum += m->weight[k];
    for (int k = 0; ok && k < K; k++) {
        dense_cov(m, k, C);
        for (int i = 0; i < d * d; i++) S[i] = a * a * C[i];
        for (int i = 0; i < d; i++) S[i * d + i] += s2;
        if (!cholesky(S, d)) {
            ok = 0;
            break;
        }
        real logdet = 0;
        for (int i = 0; i < d; i++) logdet += 2 * logl(S[i * d + i]);
        /* g_k = -Sigma^{-1}(x - alpha mu) */
        real *gk = g + (size_t)k * d, quad = 0;
        for (int i = 0; i < d; i++) gk[i] = (real)x[i] - a * (real)m->mean[(size_t)k * d + i];
        for (int i = 0; i < d; i++) col[i] = gk[i];
        chol_solve(S, d, gk);
        for (int i = 0; i < d; i++) {
            quad += col[i] * gk[i];
            gk[i] = -gk[i];
        }
        logit[k] = logl(m->weight[k] / wsum) - 0.5L * (d * logl(2 * 3.14159265358979323846264338327950288L) + logdet + quad);
        /* tr Sigma^{-1}: solve for each unit vector */
        real tr = 0;
        for (int j = 0; j < d; j++) {
            for (int i = 0; i < d; i++) col[i] = i == j;
            chol_solve(S, d, col);
            tr += col[j];
        }
        trace[k] = tr;
        /* posterior mean of component k: mu_k + alpha C_k Sigma^{-1} (x - alpha mu_k) = mu_k - alpha C_k g_k */
        for (int i = 0; i < d; i++) {
            real v = m->mean[(size_t)k * d + i];
            for (int j = 0; j < d; j++) v -= a * C[i * d + j] * gk[j];
            mk[(size_t)k * d + i] = v;
        }
    }
    if (ok) {
        real mx = -INFINITY, sum = 0;
        for (int k = 0; k < K; k++) mx = logit[k] > mx ? logit[k] : mx;
        for (int k = 0; k < K; k++) sum += expl(logit[k] - mx);
        real logp = mx + logl(sum), divv = 0, s_norm2 = 0;
        for (int i = 0; i < d; i++) {
            real si = 0, di = 0;
            for (int k = 0; k < K; k++) {
                real r = expl(logit[k] - logp);
                si += r * g[(size_t)k * d + i];
                di += r * mk[(size_t)k * d + i];
            }
            if (score) score[i] = (double)si;
            if (denoise) denoise[i] = (double)di;
            s_norm2 += si * si;
        }
        for (int k = 0; k < K; k++) {
            real r = expl(logit[k] - logp), gg = 0;
            for (int i = 0; i < d; i++) gg += g[(size_t)k * d + i] * g[(size_t)k * d + i];
            divv += r * (gg - trace[k]);
            if (resp) resp[k] = (double)r;
        }
        if (logp_out) *logp_out = (double)logp;
        if (div_out) *div_out = (double)(divv - s_norm2);
    }
    free(C), free(S), free(g), free(col), free(logit), free(trace), free(mk);
    return ok;
}
