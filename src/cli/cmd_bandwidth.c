/* scorefield bandwidth: information flow over time (docs/analyses.md, "Information flow"): parses
 * the options, calls the library for b(t), the label entropy's moments, the symmetric pair's peaks
 * and the entropy budget, prints them and writes CSV + SVG figures. */
#include "cli_io.h"
#include "commands.h"
#include "parse.h"
#include "progress.h"
#include "report.h"
#include "shard.h"
#include "status.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char bandwidth_help[] =
    "usage: scorefield bandwidth [--mixture M.json] [--schedule S] [--t0 T0] [--t1 T1] [--points P]\n"
    "                            [--n N] [--seed S] [--out-dir DIR] [--backend cpu|cuda|auto|reference] [--quiet]\n"
    "Over P times (default 40, uniform in t from t0 = 0.02 to t1 = 0.98, vp-linear; default mixture:\n"
    "the symmetric pair +-(1, 0), variance 0.1), with N exact draws of p_t per time (default 20000):\n"
    "  b(t) = g^2 E[div s + d/sigma^2] / 2 = dH(X0 | Xt)/dt  with its standard error,\n"
    "  E and Var of the label entropy h_Y = -sum_k r_k ln r_k, with standard errors.\n"
    "For a symmetric pair, h_Y and the normalised rate rho = nu (div u + d/tau)/2 depend on\n"
    "kappa = mu^T (C + tau I)^-1 mu alone: the peaks of their variances are located by golden-section\n"
    "search on an exact quadrature (printed with their tolerances) and compared with Monte Carlo at\n"
    "this pair's peak time by a z-score. The entropy budget: the rate integrated along probability-flow\n"
    "paths against the integral of b (along noising paths), equal in mean for every marginal-preserving\n"
    "sampler, compared by a z-score. Writes DIR/bandwidth.csv, bandwidth.svg, entropy.svg (default DIR\n"
    "scorefield-bandwidth), all or none. The formulas and their checks: docs/analyses.md, \"Information flow\".\n"
    "Bounds: P 2 to 1e5, N 2 to 1e8, S 0 to 2^64-1. --quiet prints nothing but errors.\n";

/* The symmetric pair's peak of one statistic against Monte Carlo at its time. */
static int print_peak(sf_context *ctx, const sf_mixture *mix, const sf_schedule *schedule, sf_pair_statistic which,
                      size_t n, uint64_t seed)
{
    sf_peak_check c;
    sf_status st = sf_pair_peak_check(ctx, mix, which, n, seed, &c);
    if (st != SF_OK) return cli_library_error(st);
    double t = NAN;
    sf_schedule_t_of_tau(schedule, c.tau, &t);
    printf("  %-19s kappa* = %.9f +- %.1g, max Var = %.9f +- %.1g (golden-section search on the exact quadrature)\n",
           which == SF_PAIR_LABEL_ENTROPY ? "Var[h_Y] peak" : "Var[rho] peak", c.exact.kappa, c.exact.kappa_tol, c.exact.var,
           c.exact.var_tol);
    printf("                      this pair reaches it at tau = %.6g (t = %.6f): Monte Carlo Var = %.6f +- %.2g (%zu draws), "
           "z = %.2f\n", c.tau, t, c.mc.var, c.mc.var_se, c.mc.n, c.z);
    return SF_EXIT_OK;
}

static int print_budget(sf_context *ctx, const sf_mixture *mix, const sf_schedule *schedule, double t0, double t1, size_t n,
                        uint64_t seed)
{
    enum { STEPS = 400 }; /* log-SNR steps of the probability-flow paths */
    sf_budget b;
    sf_status st = sf_entropy_budget(ctx, mix, schedule, t0, t1, n, STEPS, seed, &b);
    if (st != SF_OK) return cli_library_error(st);
    printf("  entropy budget      H(X0|X_t0) - H(X0|X_t1) as the rate integrated along %zu probability-flow paths (Heun,\n"
           "                      %d log-SNR steps): %.6f +- %.2g (sd %.4g over paths); as int b dt (noising paths): %.6f +- %.2g\n"
           "                      z = %.2f: %s\n", b.pathwise.n, (int)STEPS, b.pathwise.mean, b.pathwise.mean_se, sqrt(b.pathwise.var),
           b.integral.mean, b.integral.mean_se, b.z,
           fabs(b.z) < 3 ? "they agree within 3 standard errors" : "they DIFFER by more than 3 standard errors");
    return SF_EXIT_OK;
}

enum { COL_T, COL_TAU, COL_B, COL_B_SE, COL_H_MEAN, COL_H_VAR, COL_H_VAR_SE, COL_KAPPA, COL_H_VAR_EXACT, NCOL };

static int write_figures(const char *dir, double *const *cols, size_t P, int pair, double kappa_peak, double t_c)
{
    char path[4096];
    static const char *const names[NCOL] = {"t", "tau", "b", "b_se", "h_mean", "h_var", "h_var_se", "kappa", "h_var_exact"};
    snprintf(path, sizeof path, "%s/bandwidth.csv", dir);
    sf_status st = sfi_csv_write(path, pair ? NCOL : NCOL - 2, names, (const double *const *)cols, P);
    double *b_err = malloc(P * sizeof(double)), *h_err = malloc(P * sizeof(double));
    if (!b_err || !h_err) st = sfi_fail(SF_ERR_NOMEM, "out of memory");
    for (size_t q = 0; st == SF_OK && q < P; q++) b_err[q] = 2 * cols[COL_B_SE][q], h_err[q] = 2 * cols[COL_H_VAR_SE][q];
    const double *x = pair ? cols[COL_KAPPA] : cols[COL_T];
    sf_series sb[1] = {{.x = cols[COL_T], .y = cols[COL_B], .n = P, .label = "b(t), Monte Carlo +- 2 s.e.", .points = 1, .err = b_err}};
    sf_series se[2] = {{.x = x, .y = cols[COL_H_VAR], .n = P, .label = "Monte Carlo +- 2 s.e.", .points = 1, .err = h_err},
                       {.x = x, .y = cols[COL_H_VAR_EXACT], .n = P, .label = "exact (quadrature)"}};
    sf_plot pb = {.title = "generative bandwidth b(t) = dH(X0|Xt)/dt", .xlabel = "time t", .ylabel = "b(t)", .logy = 1,
                  .nmarks = isnan(t_c) ? 0 : 1, .marks = {t_c}, .mark_labels = {"t_c"}};
    sf_plot pe = {.title = "variance of the label entropy", .xlabel = pair ? "kappa = mu^T (C + tau I)^-1 mu" : "time t",
                  .ylabel = "Var[h_Y]", .logx = pair, .nmarks = pair, .marks = {kappa_peak}, .mark_labels = {"kappa*"}};
    if (st == SF_OK) {
        snprintf(path, sizeof path, "%s/bandwidth.svg", dir);
        st = sfi_plot_svg(path, &pb, sb, 1);
    }
    if (st == SF_OK) {
        snprintf(path, sizeof path, "%s/entropy.svg", dir);
        st = sfi_plot_svg(path, &pe, se, pair ? 2 : 1);
    }
    free(b_err), free(h_err);
    if (st != SF_OK) return cli_write_error(st);
    printf("  figures             %s/bandwidth.svg, %s/entropy.svg (data: %s/bandwidth.csv)\n", dir, dir, dir);
    return SF_EXIT_OK;
}

/* One row per time: b(t), the label entropy's moments, and for a pair kappa(tau) and the exact Var. */
static int scan(sf_context *ctx, const sf_mixture *mix, const sf_schedule *schedule, double t0, double t1, size_t n,
                uint64_t seed, int pair, double *const *cols, size_t P, cli_progress *progress)
{
    printf("  %-8s %-10s %-22s %-10s %-22s %s\n", "t", "tau", "b(t) +- s.e.", "E[h_Y]", "Var[h_Y] +- s.e.", pair ? "kappa   exact Var" : "");
    for (size_t q = 0; q < P; q++) {
        sf_time tm;
        sf_estimate h;
        cols[COL_T][q] = t1 + (t0 - t1) * q / (P - 1);
        sf_status st = sf_schedule_at(schedule, cols[COL_T][q], &tm);
        if (st == SF_OK) st = sf_bandwidth(ctx, mix, &tm, n, seed, &cols[COL_B][q], &cols[COL_B_SE][q]);
        if (st == SF_OK) st = sf_label_entropy_moments(ctx, mix, &tm, n, seed, &h);
        if (st == SF_OK && pair) st = sf_pair_kappa(mix, tm.tau, &cols[COL_KAPPA][q], NULL);
        if (st == SF_OK && pair) st = sf_pair_variance(SF_PAIR_LABEL_ENTROPY, cols[COL_KAPPA][q], &cols[COL_H_VAR_EXACT][q]);
        if (st != SF_OK) return cli_library_error(st);
        cols[COL_TAU][q] = tm.tau, cols[COL_H_MEAN][q] = h.mean, cols[COL_H_VAR][q] = h.var, cols[COL_H_VAR_SE][q] = h.var_se;
        printf("  %-8.4f %-10.4g %10.5g +- %-9.2g %-10.5f %10.6f +- %-9.2g", cols[COL_T][q], tm.tau, cols[COL_B][q],
               cols[COL_B_SE][q], h.mean, h.var, h.var_se);
        if (pair) printf(" %-7.4f %.6f", cols[COL_KAPPA][q], cols[COL_H_VAR_EXACT][q]);
        printf("\n");
        fflush(stdout); /* the table before any progress line */
        cli_progress_update(progress, (double)(q + 1));
    }
    return SF_EXIT_OK;
}

int cmd_bandwidth(int argc, char **argv)
{
    const char *mixture_path = NULL, *dir = "scorefield-bandwidth";
    size_t points = 40, n = 20000, seed = 1;
    double t0 = 0.02, t1 = 0.98;
    sf_backend backend = SF_BACKEND_AUTO;
    cli_time ct;
    cli_time_init(&ct);
    ct.schedule = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    const cli_option table[] = {{"--mixture", CLI_TEXT, &mixture_path, 0}, {"--out-dir", CLI_TEXT, &dir, 0},
                                {"--points", CLI_COUNT, &points, 100000}, {"--n", CLI_COUNT, &n, 100000000}, {"--seed", CLI_COUNT, &seed, SIZE_MAX},
                                {"--t0", CLI_NUMBER, &t0, 0}, {"--t1", CLI_NUMBER, &t1, 0}, {"--backend", CLI_BACKEND, &backend, 0},
                                {NULL, CLI_FLAG, NULL, 0}};
    CLI_PARSE_OR_RETURN(cli_parse("bandwidth", bandwidth_help, NULL, table, argc, argv, interval_time_extra, &ct, NULL));
    if (points < 2 || n < 2 || !(t1 > t0)) return cli_bad_input("bandwidth: need --points >= 2, --n >= 2, --t1 > --t0");
    sf_time probe;
    if (sf_schedule_at(&ct.schedule, t0, &probe) != SF_OK || sf_schedule_at(&ct.schedule, t1, &probe) != SF_OK)
        return cli_bad_input("bandwidth: %s", sf_last_error());

    sf_mixture *mix = NULL;
    sf_context *ctx = NULL;
    sf_status st;
    int status = SF_EXIT_OK;
    if (mixture_path) {
        if ((st = sf_mixture_read_json(&mix, mixture_path)) != SF_OK) return cli_library_error(st);
    } else {
        mix = cli_default_pair();
    }
    double tau_c = NAN, t_c = NAN;
    sf_pair_peak peak = {NAN, NAN, NAN, NAN};
    int pair = sf_pair_kappa(mix, 0, NULL, NULL) == SF_OK;
    if (pair && (st = sf_pair_variance_peak(SF_PAIR_LABEL_ENTROPY, &peak)) != SF_OK) {
        sf_mixture_destroy(mix);
        return cli_library_error(st);
    }
    if (pair && sf_speciation_tau_closed_form(mix, &tau_c) == SF_OK && tau_c > 0) sf_schedule_t_of_tau(&ct.schedule, tau_c, &t_c);
    static const char *const files[3] = {"bandwidth.csv", "bandwidth.svg", "entropy.svg"};
    if ((status = cli_outputs_folder(dir, files, 3)) != SF_EXIT_OK) { /* checked before any work */
        sf_mixture_destroy(mix);
        return status;
    }
    size_t P = points;
    cli_progress progress; /* the P times, the two peaks, the budget */
    cli_progress_start(&progress, "bandwidth", (double)(P + 3));
    double *cols[NCOL];
    int ok = 1;
    for (int c = 0; c < NCOL; c++) ok = (cols[c] = malloc(P * sizeof(double))) && ok;
    if (!ok) status = cli_failure("out of memory for %zu times", P);
    if (status == SF_EXIT_OK && (st = sf_context_create(&ctx, backend, SF_PRECISION_F64, cli_shard_device(0))) != SF_OK)
        status = cli_library_error(st);
    if (status == SF_EXIT_OK) status = cli_shard_share(ctx); /* each rank takes its part of every estimate's draws */
    if (status == SF_EXIT_OK) {
        printf("scorefield bandwidth: %s schedule, t = %g ... %g (%zu times), %zu draws per time, d = %d\n",
               sf_schedule_kind_name(ct.schedule.kind), t0, t1, P, n, sf_mixture_dim(mix));
        cli_shard_print_ranks(n, "draws");
        status = scan(ctx, mix, &ct.schedule, t0, t1, n, seed, pair, cols, P, &progress);
    }
    for (int which = 0; pair && status == SF_EXIT_OK && which < 2; which++) {
        status = print_peak(ctx, mix, &ct.schedule, (sf_pair_statistic)which, n, seed + 3);
        cli_progress_update(&progress, (double)(P + 1 + which));
    }
    if (status == SF_EXIT_OK) status = print_budget(ctx, mix, &ct.schedule, t0, t1, n < 4000 ? n : 4000, seed + 1);
    cli_progress_update(&progress, (double)(P + 3));
    if (status == SF_EXIT_OK) status = write_figures(dir, cols, P, pair, peak.kappa, t_c);
    for (int c = 0; c < NCOL; c++) free(cols[c]);
    sf_context_destroy(ctx);
    sf_mixture_destroy(mix);
    return status;
}
