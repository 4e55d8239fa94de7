/* The tanh layer of a split (docs/analyses.md, "Speciation"): the normal score through the
 * interface point and its least-squares fit by c0 + c1 r + b tanh(r / width). */
#include "abi.h"
#include "numerics.h"
#include "pair.h"
#include "status.h"

#include <math.h>
#include <string.h>
#include <stdlib.h>

/* Residual of the linear least-squares fit of (1, r, tanh(r/w)) to u; coefficients in c[3]. */
static double tanh_fit(const double *r, const double *u, size_t n, double w, double c[3])
{
    double A[3][3] = {{0}}, b[3] = {0};
    for (size_t i = 0; i < n; i++) {
        double f[3] = {1, r[i], tanh(r[i] / w)};
        for (int a = 0; a < 3; a++) {
            b[a] += f[a] * u[i];
            for (int e = 0; e < 3; e++) A[a][e] += f[a] * f[e];
        }
    }
    /* 3 x 3 solve by Gaussian elimination with partial pivoting */
    for (int col = 0; col < 3; col++) {
        int piv = col;
        for (int row = col + 1; row < 3; row++)
            if (fabs(A[row][col]) > fabs(A[piv][col])) piv = row;
        for (int e = 0; e < 3; e++) {
            double t = A[col][e];
            A[col][e] = A[piv][e], A[piv][e] = t;
        }
        double t = b[col];
        b[col] = b[piv], b[piv] = t;
        for (int row = col + 1; row < 3; row++) {
            double f = A[row][col] / A[col][col];
            for (int e = col; e < 3; e++) A[row][e] -= f * A[col][e];
            b[row] -= f * b[col];
        }
    }
    for (int row = 2; row >= 0; row--) {
        double acc = b[row];
        for (int e = row + 1; e < 3; e++) acc -= A[row][e] * c[e];
        c[row] = acc / A[row][row];
    }
    double ss = 0;
    for (size_t i = 0; i < n; i++) {
        double e = u[i] - (c[0] + c[1] * r[i] + c[2] * tanh(r[i] / w));
        ss += e * e;
    }
    return sqrt(ss / n);
}

typedef struct {
    const double *r, *u;
    size_t n;
} profile_data;

static sf_status fit_residual(void *data, double log_w, double *rms)
{
    const profile_data *p = data;
    double c[3];
    *rms = tanh_fit(p->r, p->u, p->n, exp(log_w), c);
    return SF_OK;
}

sf_status sf_fit_tanh_layer(const double *r, const double *u, size_t n, double wmin, double wmax, double *width,
                            double *amplitude, double *rms)
{
    sfi_error_clear();
    if (!r || !u) return sfi_fail(SF_ERR_INVALID, "sf_fit_tanh_layer: r and u must not be NULL");
    if (n < 4 || !(wmin > 0) || !(wmax > wmin)) return sfi_fail(SF_ERR_INVALID, "tanh fit needs n >= 4 and 0 < wmin < wmax");
    profile_data p = {r, u, n};
    double log_w, c[3];
    sf_status st = sfi_golden_min(fit_residual, &p, log(wmin), log(wmax), 1e-13, &log_w, NULL);
    if (st != SF_OK) return st;
    double w = exp(log_w), res = tanh_fit(r, u, n, w, c);
    if (width) *width = w;
    if (amplitude) *amplitude = c[2];
    if (rms) *rms = res;
    return SF_OK;
}

static sf_status speciation_layer_into(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na,
                                       const int *set_b,
                              int nb, double tau, const double *r, size_t n, double *profile, sf_tanh_layer *fit)
{
    sfi_error_clear();
    if (!ctx || !mix || !set_a || !set_b || (n > 0 && (!r || !profile)))
        return sfi_fail(SF_ERR_INVALID, "sf_speciation_layer: ctx, mix, both sets, r and profile must not be NULL");
    sf_status sized = sfi_check_doubles(__func__, n, (size_t)sf_mixture_dim(mix));
    if (sized != SF_OK) return sized;
    int d = sf_mixture_dim(mix);
    double *axis = malloc((size_t)d * sizeof(double)), *y_star = malloc((size_t)d * sizeof(double));
    double *pts = malloc(n * (size_t)d * sizeof(double) + 1), *score = malloc(n * (size_t)d * sizeof(double) + 1), a, s2, R = 0;
    sf_status st = axis && y_star && pts && score ? SF_OK : sfi_fail(SF_ERR_NOMEM, "out of memory for %zu points", n);
    if (st == SF_OK) st = sf_speciation_axis(mix, set_a, na, set_b, nb, axis, NULL);
    if (st == SF_OK) st = sf_speciation_normal_curvature(ctx, mix, set_a, na, set_b, nb, tau, NULL, NULL, y_star);
    for (size_t q = 0; st == SF_OK && q < n; q++) {
        R = fmax(R, fabs(r[q]));
        for (int i = 0; i < d; i++) pts[q * d + i] = y_star[i] + r[q] * axis[i];
    }
    sf_time t;
    if (st == SF_OK) st = sf_time_heat(tau, &t);
    sf_outputs o = {.score = score};
    if (st == SF_OK) st = sf_evaluate(ctx, mix, &t, pts, n, &o);
    for (size_t q = 0; st == SF_OK && q < n; q++) {
        double v = 0;
        for (int i = 0; i < d; i++) v += score[q * d + i] * axis[i];
        profile[q] = v;
    }
    if (st == SF_OK && fit) {
        st = sf_fit_tanh_layer(r, profile, n, 1e-3 * R, 10 * R, &fit->width, &fit->amplitude, &fit->rms);
        /* after a failure nothing more is called: it would clear the message */
        if (st == SF_OK) fit->predicted_width = sfi_pair_isotropic(mix, &a, &s2) ? (s2 + tau) / a : NAN;
    }
    free(axis), free(y_star), free(pts), free(score);
    return st;
}

/* sf_speciation_layer for a caller's sf_tanh_layer of `size` bytes (sizeof in its header): the fields it knows. */
sf_status sf_speciation_layer_sized(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na, const int *set_b,
                                    int nb, double tau, const double *r, size_t n, double *profile, sf_tanh_layer *fit,
                                    size_t size)
{
    sf_tanh_layer result;
    memset(&result, 0, sizeof result);
    sf_status st = speciation_layer_into(ctx, mix, set_a, na, set_b, nb, tau, r, n, profile, fit ? &result : NULL);
    if (st == SF_OK && fit) st = sfi_struct_store(fit, size, &result, SF_TANH_LAYER_SIZE_0_1, sizeof result,
        "sf_tanh_layer");
    return st;
}
