/* scorefield blowup: the score near t = 0 for data on subspaces (SPEC.md E, Lu-Wang-Bal): over a
 * geometric range of heat times, tau E|u|^2 against its limit sum_k w_k (d - r_k) (the
 * codimensions), tau |u(y)| / dist(y, M) at a point off the subspace against 1, the fitted
 * exponent of E|u|^2 against -1, and the bounded denoiser E[x0 | x]; CSV + SVG. */
#include "cli_io.h"
#include "commands.h"
#include "report.h"
#include "status.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char blowup_help[] =
    "usage: scorefield blowup [--mixture M.json] [--tau-max T] [--tau-min T] [--points P] [--n N]\n"
    "                         [--seed S] [--out-dir DIR] [--backend cpu|cuda|auto] [--quiet]\n"
    "For a mixture with components on affine subspaces (a basis with var 0; default: a plane in R^6,\n"
    "codimension 4), over P heat times from tau-max (0.1) down to tau-min (1e-6), with N exact draws\n"
    "of q_tau each (default 20000):\n"
    "  tau E|u|^2  -> sum_k w_k codim_k     (the codimension of component k's subspace; full rank: 0)\n"
    "  tau |u(y)| / dist(y, M_0) -> 1        at a point y off component 0's subspace\n"
    "  the slope of log E|u|^2 against log tau -> -1 (fitted on the smallest three tau)\n"
    "  max |E[x0 | x]| over the draws stays bounded (the target Lu-Wang-Bal propose to learn)\n"
    "Writes DIR/blowup.csv and blowup.svg (default DIR scorefield-blowup), both or neither.\n"
    "Bounds: P 3 to 1e5, N 2 to 1e8, S 0 to 2^64-1. --quiet prints nothing but errors.\n";

int cmd_blowup(int argc, char **argv)
{
    const char *mixture_path = NULL, *dir = "scorefield-blowup";
    size_t points = 11, n = 20000, seed = 1;
    double tau_max = 0.1, tau_min = 1e-6;
    sf_backend backend = SF_BACKEND_AUTO;
    cli_once once = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) {
            fputs(blowup_help, stdout);
            return SF_EXIT_OK;
        }
        if (!cli_first_use(&once, a)) return SF_EXIT_BAD_INPUT;
        size_t *count = !strcmp(a, "--points") ? &points : !strcmp(a, "--n") ? &n : !strcmp(a, "--seed") ? &seed : NULL;
        double *num = !strcmp(a, "--tau-max") ? &tau_max : !strcmp(a, "--tau-min") ? &tau_min : NULL;
        size_t max = count == &points ? 100000 : count == &n ? 100000000 : SIZE_MAX;
        if (count) { if (!(v = cli_value(argc, argv, &i)) || !cli_count(a, v, max, count)) return SF_EXIT_BAD_INPUT; }
        else if (!strcmp(a, "--quiet")) cli_set_quiet();
        else if (num) { if (!(v = cli_value(argc, argv, &i)) || !cli_double(a, v, num)) return SF_EXIT_BAD_INPUT; }
        else if (!strcmp(a, "--mixture")) { if (!(mixture_path = cli_value(argc, argv, &i))) return SF_EXIT_BAD_INPUT; }
        else if (!strcmp(a, "--out-dir")) { if (!(dir = cli_value(argc, argv, &i))) return SF_EXIT_BAD_INPUT; }
        else if (!strcmp(a, "--backend")) { if (!(v = cli_value(argc, argv, &i)) || !cli_backend(v, &backend)) return SF_EXIT_BAD_INPUT; }
        else return cli_bad_input("blowup: unknown option '%s' (see scorefield blowup --help)", a);
    }
    if (points < 3 || n < 2 || !(tau_max > tau_min) || !(tau_min > 0))
        return cli_bad_input("blowup: need --points >= 3, --n >= 2 and tau-max > tau-min > 0");
    sf_mixture *mix = NULL;
    sf_status st;
    if (mixture_path) {
        if ((st = sf_mixture_read_json(&mix, mixture_path)) != SF_OK) return cli_library_error(st);
    } else { /* a plane through the origin in R^6 */
        const double mu[6] = {0}, U[12] = {1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, eig[2] = {1.0, 0.5};
        sf_mixture_create(&mix, 6);
        sf_mixture_add_lowrank(mix, 1.0, mu, 0.0, 2, U, eig);
    }
    int d = sf_mixture_dim(mix), K = sf_mixture_count(mix);
    /* the limit sum_k w_k codim_k (full-rank components count 0) */
    double limit = 0;
    int sub = -1;
    for (int k = 0; k < K; k++) {
        int codim = sf_mixture_codimension(mix, k);
        limit += sf_mixture_weight(mix, k) * codim;
        if (codim > 0 && sub < 0) sub = k;
    }
    if (sub < 0) {
        sf_mixture_destroy(mix);
        return cli_bad_input("%s: no component lies on a subspace (a basis with \"var\": 0): nothing blows up",
                             mixture_path ? mixture_path : "mixture");
    }
    static const char *const files[2] = {"blowup.csv", "blowup.svg"};
    int status;
    if ((status = cli_outputs_folder(dir, files, 2)) != SF_EXIT_OK) { /* checked before any work */
        sf_mixture_destroy(mix);
        return status;
    }
    /* a point off component `sub`'s subspace: its mean plus 0.5 along a direction normal to it */
    double *y = calloc((size_t)d, sizeof(double)), *normal = calloc((size_t)d, sizeof(double)), dist = 0.5;
    const double *mu = sf_mixture_mean(mix, sub);
    for (int i = 0; i < d; i++) normal[i] = 1.0 / sqrt((double)d) * ((i % 2) ? 1 : -1);
    /* keep only directions of zero variance: off the basis rows (low rank), or along the axes of
     * zero variance (diagonal, isotropic) */
    int rank;
    const double *U = sf_mixture_basis(mix, sub, &rank), *var = sf_mixture_variances(mix, sub);
    for (int j = 0; j < rank; j++) {
        double p = 0;
        for (int i = 0; i < d; i++) p += U[(size_t)j * d + i] * normal[i];
        for (int i = 0; i < d; i++) normal[i] -= p * U[(size_t)j * d + i];
    }
    if (rank == 0)
        for (int i = 0; i < d; i++)
            if (var[i] > 0) normal[i] = 0;
    double nn = 0;
    for (int i = 0; i < d; i++) nn += normal[i] * normal[i];
    if (!(nn > 1e-20)) { /* the pattern projected to nothing: take a unit axis of the null space */
        for (int a = 0; a < d && !(nn > 1e-20); a++) {
            for (int i = 0; i < d; i++) normal[i] = i == a ? 1.0 : 0.0;
            for (int j = 0; j < rank; j++) {
                double p = U[(size_t)j * d + a];
                for (int i = 0; i < d; i++) normal[i] -= p * U[(size_t)j * d + i];
            }
            if (rank == 0 && var[a] > 0) normal[a] = 0;
            nn = 0;
            for (int i = 0; i < d; i++) nn += normal[i] * normal[i];
        }
    }
    for (int i = 0; i < d; i++) normal[i] /= sqrt(nn), y[i] = mu[i] + dist * normal[i];
    size_t P = points;
    double *cols[7];
    for (int c = 0; c < 7; c++) cols[c] = malloc(P * sizeof(double));
    double *TAU = cols[0], *TU2 = cols[1], *TU2se = cols[2], *RATIO = cols[3], *DEN = cols[4], *U2 = cols[5], *LIM = cols[6];
    double *x = malloc(n * (size_t)d * sizeof(double)), *s = malloc(n * (size_t)d * sizeof(double));
    double *den = malloc(n * (size_t)d * sizeof(double));
    double *su = malloc((size_t)d * sizeof(double));
    sf_context *ctx = NULL;
    int ok = x && s && den && su && y && normal;
    for (int c = 0; c < 7; c++) ok = ok && cols[c];
    if (!ok) {
        status = cli_failure("out of memory for %zu draws", n);
        goto done;
    }
    if ((st = sf_context_create(&ctx, backend, SF_PRECISION_F64, 0)) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    printf("scorefield blowup: d = %d, %d components, limit of tau E|u|^2 = sum_k w_k codim_k = %.6g\n", d, K, limit);
    printf("  %-10s %-22s %-16s %s\n", "tau", "tau E|u|^2 +- s.e.", "tau|u(y)|/dist", "max |E[x0|x]|");
    for (size_t q = 0; q < P; q++) {
        TAU[q] = exp(log(tau_max) + (log(tau_min) - log(tau_max)) * q / (P - 1));
        sf_time t;
        sf_time_heat(TAU[q], &t);
        sf_outputs o = {.score = s, .denoise = den}, oy = {.score = su};
        if ((st = sf_sample_marginal(mix, &t, seed, 0, x, n)) != SF_OK || (st = sf_evaluate(ctx, mix, &t, x, n, &o)) != SF_OK ||
            (st = sf_evaluate(ctx, mix, &t, y, 1, &oy)) != SF_OK) {
            status = cli_library_error(st);
            goto done;
        }
        double mean = 0, m2 = 0, dmax = 0, uy2 = 0;
        for (size_t p = 0; p < n; p++) {
            double v = 0, dn = 0;
            for (int i = 0; i < d; i++) v += s[p * d + i] * s[p * d + i], dn += den[p * d + i] * den[p * d + i];
            v *= TAU[q];
            double delta = v - mean;
            mean += delta / (double)(p + 1);
            m2 += delta * (v - mean);
            dmax = fmax(dmax, sqrt(dn));
        }
        for (int i = 0; i < d; i++) uy2 += su[i] * su[i];
        TU2[q] = mean, TU2se[q] = sqrt(m2 / (n - 1) / n), RATIO[q] = TAU[q] * sqrt(uy2) / dist, DEN[q] = dmax;
        U2[q] = mean / TAU[q], LIM[q] = limit;
        printf("  %-10.3g %10.6f +- %-9.2g %-16.6f %.4g\n", TAU[q], TU2[q], TU2se[q], RATIO[q], DEN[q]);
    }
    {
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (size_t q = P - 3; q < P; q++) {
            double lx = log(TAU[q]), ly = log(U2[q]);
            sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly;
        }
        double slope = (3 * sxy - sx * sy) / (3 * sxx - sx * sx);
        printf("  fitted exponent of E|u|^2 ~ tau^p on the smallest three tau: p = %.5f (theory -1)\n", slope);
        char path[4096];
        const char *names[7] = {"tau", "tau_E_u2", "tau_E_u2_se", "tau_u_over_dist", "max_denoiser", "E_u2", "limit"};
        snprintf(path, sizeof path, "%s/blowup.csv", dir);
        if ((st = sf_csv_write(path, 7, names, (const double *const *)cols, P)) != SF_OK) status = cli_write_error(st);
        sf_series series[3] = {{TAU, TU2, P, "tau E|u|^2", NULL, 0, 0}, {TAU, LIM, P, "limit: codimension", "#000", 1, 0},
                               {TAU, RATIO, P, "tau |u(y)| / dist", NULL, 0, 0}};
        sf_plot plot = {"score blow-up near t = 0 for data on a subspace", "heat time tau", "rescaled score", 1, 0, 0, {0}, {0}};
        snprintf(path, sizeof path, "%s/blowup.svg", dir);
        if ((st = sf_plot_svg(path, &plot, series, 3)) != SF_OK) status = cli_write_error(st);
        printf("  figures             %s/blowup.svg (data: %s/blowup.csv)\n", dir, dir);
    }
done:
    for (int c = 0; c < 7; c++) free(cols[c]);
    free(x), free(s), free(den), free(su), free(y), free(normal);
    sf_context_destroy(ctx);
    sf_mixture_destroy(mix);
    return status;
}
