/* scorefield blowup (docs/analyses.md, "Blow-up near t = 0"): parses the options, calls the
 * library's blow-up scan over a geometric range of heat times, prints it and writes CSV + SVG. */
#include "cli_io.h"
#include "commands.h"
#include "progress.h"
#include "parse.h"
#include "report.h"
#include "status.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char blowup_help[] =
    "usage: scorefield blowup [--mixture M.json] [--tau1 T1] [--tau0 T0] [--points P] [--n N]\n"
    "                         [--seed S] [--out-dir DIR] [--backend cpu|cuda|auto|reference] [--quiet]\n"
    "For a mixture with components on affine subspaces (a basis with var 0; default: a plane in R^6,\n"
    "codimension 4), over P heat times from tau1 (0.1) down to tau0 (1e-6), with N exact draws\n"
    "of q_tau each (default 20000):\n"
    "  tau E|u|^2  -> sum_k w_k codim_k     (the codimension of component k's subspace; full rank: 0)\n"
    "  tau |u(y)| / dist(y, M_k) -> 1        at N exact draws y of the heaviest subspace component k's\n"
    "                                        own noised law: points at distance ~ sqrt(codim tau) from\n"
    "                                        its subspace M_k, where that component dominates\n"
    "  the slope of log E|u|^2 against log tau -> -1 (fitted on the smallest three tau)\n"
    "  max |E[x0 | x]| over the draws stays bounded (the target Lu-Wang-Bal propose to learn)\n"
    "(--tau-max and --tau-min, the old names, are refused: --tau1 > --tau0 in every command.)\n"
    "Writes DIR/blowup.csv and blowup.svg (default DIR scorefield-blowup). The formulas and their\n"
    "checks: docs/analyses.md, \"Blow-up near t = 0\". Both files are written or neither.\n"
    "Bounds: P 3 to 1e5, N 2 to 1e8, S 0 to 2^64-1. --quiet prints nothing but errors.\n";

int cmd_blowup(int argc, char **argv)
{
    const char *mixture_path = NULL, *dir = "scorefield-blowup";
    size_t points = 11, n = 20000, seed = 1;
    double tau_max = 0.1, tau_min = 1e-6;
    sf_backend backend = SF_BACKEND_AUTO;
    const cli_option table[] = {{"--mixture", CLI_TEXT, &mixture_path, 0}, {"--out-dir", CLI_TEXT, &dir, 0},
                                {"--points", CLI_COUNT, &points, 100000}, {"--n", CLI_COUNT, &n, 100000000}, {"--seed", CLI_COUNT, &seed, SIZE_MAX},
                                {"--tau1", CLI_NUMBER, &tau_max, 0}, {"--tau0", CLI_NUMBER, &tau_min, 0}, {"--backend", CLI_BACKEND, &backend, 0},
                                {NULL, CLI_FLAG, NULL, 0}};
    CLI_PARSE_OR_RETURN(cli_parse("blowup", blowup_help, NULL, table, argc, argv, NULL, NULL, NULL));
    if (points < 3 || n < 2 || !(tau_max > tau_min) || !(tau_min > 0))
        return cli_bad_input("blowup: need --points >= 3, --n >= 2 and --tau1 > --tau0 > 0");
    sf_mixture *mix = NULL;
    sf_status st;
    if (mixture_path) {
        if ((st = sf_mixture_read_json(&mix, mixture_path)) != SF_OK) return cli_library_error(st);
    } else { /* a plane through the origin in R^6 */
        const double mu[6] = {0}, U[12] = {1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, eig[2] = {1.0, 0.5};
        sf_mixture_create(&mix, 6);
        sf_mixture_add_lowrank(mix, 1.0, mu, 0.0, 2, U, eig);
    }
    double limit;
    int k;
    if ((st = sf_blowup_limit(mix, &limit, &k)) != SF_OK) {
        sfi_error_prefix(mixture_path ? mixture_path : "mixture");
        sf_mixture_destroy(mix);
        return cli_library_error(st);
    }
    static const char *const files[2] = {"blowup.csv", "blowup.svg"};
    int status = cli_outputs_folder(dir, files, 2); /* checked before any work */
    if (status != SF_EXIT_OK) {
        sf_mixture_destroy(mix);
        return status;
    }
    enum { TAU, TU2, TU2_SE, RATIO, RATIO_SE, DEN, U2, LIM, NCOL };
    size_t P = points;
    double *cols[NCOL];
    sf_context *ctx = NULL;
    int ok = 1;
    for (int c = 0; c < NCOL; c++) ok = (cols[c] = malloc(P * sizeof(double))) && ok;
    if (!ok) status = cli_failure("out of memory for %zu times", P);
    if (status == SF_EXIT_OK && (st = sf_context_create(&ctx, backend, SF_PRECISION_F64, 0)) != SF_OK) status = cli_library_error(st);
    if (status == SF_EXIT_OK) {
        printf("scorefield blowup: d = %d, %d components, limit of tau E|u|^2 = sum_k w_k codim_k = %.6g\n"
               "  tau |u| / dist measured at exact draws of component %d's own noised law (codimension %d): points at\n"
               "  distance ~ sqrt(codim tau) from its subspace, where it dominates the posterior\n",
               sf_mixture_dim(mix), sf_mixture_count(mix), limit, k, sf_mixture_codimension(mix, k));
        printf("  %-10s %-22s %-22s %s\n", "tau", "tau E|u|^2 +- s.e.", "tau|u|/dist +- s.e.", "max |E[x0|x]|");
    }
    cli_progress progress;
    cli_progress_start(&progress, "blowup", (double)P);
    for (size_t q = 0; status == SF_EXIT_OK && q < P; q++) {
        sf_blowup_row row;
        double tau = exp(log(tau_max) + (log(tau_min) - log(tau_max)) * q / (P - 1));
        if ((st = sf_blowup_at(ctx, mix, tau, n, seed, &row)) != SF_OK) {
            status = cli_library_error(st);
            break;
        }
        cols[TAU][q] = tau, cols[TU2][q] = row.tau_u2.mean, cols[TU2_SE][q] = row.tau_u2.mean_se, cols[RATIO][q] = row.ratio.mean;
        cols[RATIO_SE][q] = row.ratio.mean_se, cols[DEN][q] = row.max_denoiser, cols[U2][q] = row.u2, cols[LIM][q] = limit;
        printf("  %-10.3g %10.6f +- %-9.2g %10.6f +- %-9.2g %.4g\n", tau, row.tau_u2.mean, row.tau_u2.mean_se, row.ratio.mean,
               row.ratio.mean_se, row.max_denoiser);
        fflush(stdout); /* the row before any progress line */
        cli_progress_update(&progress, (double)(q + 1));
    }
    if (status == SF_EXIT_OK)
        printf("  fitted exponent of E|u|^2 ~ tau^p on the smallest three tau: p = %.5f (theory -1)\n",
               sf_power_law_exponent(cols[TAU] + P - 3, cols[U2] + P - 3, 3));
    if (status == SF_EXIT_OK) {
        char path[4096];
        const char *names[NCOL] = {"tau", "tau_E_u2", "tau_E_u2_se", "tau_u_over_dist", "tau_u_over_dist_se", "max_denoiser", "E_u2", "limit"};
        snprintf(path, sizeof path, "%s/blowup.csv", dir);
        if ((st = sfi_csv_write(path, NCOL, names, (const double *const *)cols, P)) != SF_OK) status = cli_write_error(st);
        double *err = malloc(2 * P * sizeof(double));
        for (size_t q = 0; err && q < P; q++) err[q] = 2 * cols[TU2_SE][q], err[P + q] = 2 * cols[RATIO_SE][q];
        sf_series series[3] = {{.x = cols[TAU], .y = cols[TU2], .n = P, .label = "tau E|u|^2 +- 2 s.e.", .points = 1, .err = err},
                               {.x = cols[TAU], .y = cols[LIM], .n = P, .label = "limit: sum_k w_k codim_k", .color = "#000", .dashed = 1},
                               {.x = cols[TAU], .y = cols[RATIO], .n = P, .label = "tau |u| / dist near M_k +- 2 s.e.", .points = 1,
                                .err = err ? err + P : NULL}};
        sf_plot plot = {.title = "score blow-up near t = 0 for data on a subspace", .xlabel = "heat time tau",
                        .ylabel = "rescaled score", .logx = 1};
        snprintf(path, sizeof path, "%s/blowup.svg", dir);
        if (status == SF_EXIT_OK && (st = err ? sfi_plot_svg(path, &plot, series, 3) : sfi_fail(SF_ERR_NOMEM, "out of memory")) != SF_OK)
            status = cli_write_error(st);
        free(err);
        if (status == SF_EXIT_OK) printf("  figures             %s/blowup.svg (data: %s/blowup.csv)\n", dir, dir);
    }
    for (int c = 0; c < NCOL; c++) free(cols[c]);
    sf_context_destroy(ctx);
    sf_mixture_destroy(mix);
    return status;
}
