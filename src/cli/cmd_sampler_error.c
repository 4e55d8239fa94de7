/* scorefield sampler-error (docs/samplers.md, "Exact sampler error"): parses the options, runs the
 * library's sf_sampler_error, prints the table and writes the CSV and the log-log figure. */
#include "cli_io.h"
#include "commands.h"
#include "parse.h"
#include "progress.h"
#include "report.h"
#include "status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAMPLERS 16
#define MAX_BUDGETS 32
#define NFE_MAX 10000000

static const char sampler_error_help[] =
    "usage: scorefield sampler-error --mixture M.json --schedule S --samplers A,B,... [--nfe N1,N2,...] [--n N]\n"
    "                                [--seed S] [--t1 T1] [--t0 T0] [--spacing t|lambda|karras] [--rho R]\n"
    "                                [--reference-tol TOL]\n"
    "                                [--out-dir DIR] [--backend cpu|cuda|auto|reference] [--quiet]\n"
    "Runs each sampler (any of `scorefield sample`: em, ode-euler, heun, ddpm, ddim, dpm1-3, euler-ancestral,\n"
    "edm-heun, dpmpp-2m, dpmpp-3m, dpmpp-2m-sde, dpmpp-2s-ancestral, unipc; each with its default options:\n"
    "em with h = 1, ddim with eta = 0, edm-heun without churn, unipc of order 2) at each budget of score evaluations (NFE, default 5,10,20,50,100: steps = NFE over\n"
    "the evaluations of one step, rounded down, at least 1; the NFE used is reported) from the same N\n"
    "exact draws of p_t1 (default 2000; particles 0..N-1 of SEED, as `sample` draws them), and measures\n"
    "the samples against the exact distribution at t0:\n"
    "  deterministic samplers: the RMS and largest distance of each endpoint from the exact probability-flow\n"
    "    solution of the same draw (adaptive Dormand-Prince to TOL, default 1e-10; its error, bounded by\n"
    "    the distance to a solve at 100 TOL, is printed), and the observed order p of RMS ~ NFE^-p\n"
    "    (least squares over the budgets, with its standard error);\n"
    "  every sampler: occupation TV (1/2 sum_k |mean r_k - w_k|), per-mode mean and covariance errors\n"
    "    (responsibility-weighted, sum_k w_k |.|), sliced W2 to exact draws, and the mean NLL gap\n"
    "    E[log p_t0(exact)] - E[log p_t0(sample)], paired; each +- its Monte Carlo standard error, printed\n"
    "    as n.s. unless it differs from what N exact draws score (the floor) by more than 3 standard errors.\n"
    "  --schedule ve|vp-linear|vp-cosine|ou|edm|flow (and its parameters, as for sample); --t1 (1; vp-cosine\n"
    "  0.995, flow 0.99, edm sigma-max), --t0 (0.001; edm sigma-min), --spacing t|lambda|karras (t; edm: karras),\n"
    "  --rho (7, with karras).\n"
    "Writes DIR/sampler_error.csv (one row per sampler and budget: every measure and its standard error)\n"
    "and DIR/sampler_error.svg (error against NFE, log-log, one line per sampler, the orders in the legend)\n"
    "(default DIR scorefield-sampler-error). Both files are written or neither.\n"
    "Bounds: at most 16 samplers and 32 budgets, each 1 to 1e7 and increasing; N 2 to 1e8; SEED 0 to 2^64-1.\n"
    "Definitions: docs/samplers.md, \"Exact sampler error\". --quiet prints nothing but errors.\n";

/* Splits a comma-separated list into words (text is modified); returns the count or 0 with the error. */
static int split_list(const char *option, char *text, char **words, int cap)
{
    int count = 0;
    for (char *w = text;; w++) {
        char *end = strchr(w, ',');
        if (end) *end = '\0';
        if (!*w) return cli_bad_input("option %s: '%s' has an empty entry", option, text), 0;
        if (count == cap) return cli_bad_input("option %s: more than %d entries", option, cap), 0;
        words[count++] = w;
        if (!end) break;
        w = end;
    }
    return count;
}

/* The budgets: counts >= 1, strictly increasing. Returns the count or 0 with the error printed. */
static int parse_budgets(char *text, int *nfe)
{
    char *words[MAX_BUDGETS];
    int count = split_list("--nfe", text, words, MAX_BUDGETS);
    for (int j = 0; j < count; j++) {
        size_t v;
        if (!cli_count("--nfe", words[j], NFE_MAX, &v)) return 0;
        if (v < 1 || (j > 0 && (int)v <= nfe[j - 1]))
            return cli_bad_input("option --nfe: the budgets must be >= 1 and increasing (%s after %d)", words[j], j ? nfe[j - 1] : 0), 0;
        nfe[j] = (int)v;
    }
    return count;
}

static void on_progress(void *data, double fraction) { cli_progress_update(data, fraction); }

/* "value +- se" when significant, "n.s." otherwise. */
static const char *metric_text(const sf_error_metric *m, char *buf, size_t len)
{
    if (m->significant) snprintf(buf, len, "%.3g+-%.1g", m->value, m->se);
    else snprintf(buf, len, "n.s.");
    return buf;
}

static void print_table(const sf_sampler_error_setup *s, const sf_sampler_error_row *rows, size_t count)
{
    const sf_sampler_error_row *r0 = &rows[0];
    printf("  reference: probability-flow ODE to rtol = atol = %.3g; largest distance to the solve at 100x that: %.3g\n",
           s->reference_tol, r0->reference_error);
    printf("  floors (what %zu exact draws score): TV %.3g+-%.1g, mean %.3g+-%.1g, cov %.3g+-%.1g, SW2 %.3g+-%.1g, NLL gap 0\n",
           s->n, r0->occupation_tv.floor, r0->occupation_tv.floor_se, r0->mean_error.floor, r0->mean_error.floor_se,
           r0->cov_error.floor, r0->cov_error.floor_se, r0->sw2.floor, r0->sw2.floor_se);
    printf("  %-18s %6s %6s %10s %10s %15s %15s %15s %15s %15s\n", "sampler", "nfe", "steps", "rms", "max", "TV", "mean",
           "cov", "SW2", "NLL gap");
    for (size_t r = 0; r < count; r++) {
        const sf_sampler_error_row *w = &rows[r];
        char b[5][48], rms[16] = "-", max[16] = "-"; /* "-": no endpoint error (a stochastic sampler) */
        if (!isnan(w->endpoint_rms)) snprintf(rms, sizeof rms, "%.3g", w->endpoint_rms);
        if (!isnan(w->endpoint_max)) snprintf(max, sizeof max, "%.3g", w->endpoint_max);
        printf("  %-18s %6zu %6d %10s %10s %15s %15s %15s %15s %15s\n", s->samplers[w->sampler], w->nfe, w->steps,
               rms, max, metric_text(&w->occupation_tv, b[0], 48),
               metric_text(&w->mean_error, b[1], 48), metric_text(&w->cov_error, b[2], 48), metric_text(&w->sw2, b[3], 48),
               metric_text(&w->nll_gap, b[4], 48));
    }
    for (int i = 0; i < s->nsamplers; i++) {
        const sf_sampler_error_row *w = &rows[(size_t)i * s->nnfe];
        if (w->stochastic) printf("  %-18s stochastic: no endpoint error or order (the distributional errors apply)\n", s->samplers[i]);
        else if (isnan(w->order)) printf("  %-18s no order: fewer than two distinct runs with errors above the reference's\n", s->samplers[i]);
        else if (isnan(w->order_se)) printf("  %-18s observed order %.3f from two runs (no standard error)\n", s->samplers[i], w->order);
        else printf("  %-18s observed order %.3f +- %.2g (RMS ~ NFE^-p, least squares over the budgets)\n", s->samplers[i],
                    w->order, w->order_se);
    }
}

enum { C_NFE_ASKED, C_NFE, C_STEPS, C_STOCHASTIC, C_RMS, C_MAX, C_ORDER, C_ORDER_SE, C_REF, C_METRICS, NCOL = C_METRICS + 5 * 5 };

static int write_csv(const char *dir, const sf_sampler_error_setup *s, const sf_sampler_error_row *rows, size_t count)
{
    static const char *const metric_names[5] = {"tv", "mean_err", "cov_err", "sw2", "nll_gap"};
    static const char *const parts[5] = {"", "_se", "_floor", "_floor_se", "_significant"};
    const char *names[NCOL] = {"nfe_asked", "nfe", "steps", "stochastic", "endpoint_rms", "endpoint_max", "order", "order_se",
                               "reference_error"};
    char metric_cols[25][32];
    double *cols[NCOL];
    const char **labels = malloc(count * sizeof *labels);
    int ok = labels != NULL;
    for (int c = 0; c < NCOL; c++) ok = (cols[c] = malloc(count * sizeof(double))) && ok;
    for (int m = 0; m < 5; m++)
        for (int q = 0; q < 5; q++) {
            snprintf(metric_cols[m * 5 + q], 32, "%s%s", metric_names[m], parts[q]);
            names[C_METRICS + m * 5 + q] = metric_cols[m * 5 + q];
        }
    for (size_t r = 0; ok && r < count; r++) {
        const sf_sampler_error_row *w = &rows[r];
        labels[r] = s->samplers[w->sampler];
        double v[C_METRICS] = {w->nfe_asked, (double)w->nfe, w->steps, w->stochastic, w->endpoint_rms, w->endpoint_max,
                               w->order, w->order_se, w->reference_error};
        for (int c = 0; c < C_METRICS; c++) cols[c][r] = v[c];
        const sf_error_metric *m[5] = {&w->occupation_tv, &w->mean_error, &w->cov_error, &w->sw2, &w->nll_gap};
        for (int k = 0; k < 5; k++) {
            double *dst[5] = {&cols[C_METRICS + k * 5][r], &cols[C_METRICS + k * 5 + 1][r], &cols[C_METRICS + k * 5 + 2][r],
                              &cols[C_METRICS + k * 5 + 3][r], &cols[C_METRICS + k * 5 + 4][r]};
            *dst[0] = m[k]->value, *dst[1] = m[k]->se, *dst[2] = m[k]->floor, *dst[3] = m[k]->floor_se, *dst[4] = m[k]->significant;
        }
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/sampler_error.csv", dir);
    sf_status st = ok ? sfi_csv_write_labelled(path, "sampler", labels, NCOL, names, (const double *const *)cols, count)
                      : sfi_fail(SF_ERR_NOMEM, "out of memory for the table");
    for (int c = 0; c < NCOL; c++) free(cols[c]);
    free(labels);
    return st == SF_OK ? SF_EXIT_OK : cli_write_error(st);
}

/* Endpoint RMS (solid, deterministic samplers, the order in the legend) and sliced W2 with 2-s.e.
 * bars (dashed, every sampler) against the NFE used, and the SW2 floor of exact draws. */
static int write_figure(const char *dir, const sf_sampler_error_setup *s, const sf_sampler_error_row *rows)
{
    int S = s->nsamplers, J = s->nnfe;
    size_t per = (size_t)J;
    double *buf = malloc((size_t)S * 4 * per * sizeof(double) + 2 * per * sizeof(double));
    sf_series series[2 * MAX_SAMPLERS + 1];
    char labels[2 * MAX_SAMPLERS][96];
    int count = 0;
    if (!buf) return cli_failure("out of memory for the figure");
    static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};
    double *floor_x = buf + (size_t)S * 4 * per, *floor_y = floor_x + per;
    for (int i = 0; i < S; i++) {
        const sf_sampler_error_row *w = &rows[(size_t)i * J];
        double *x = buf + (size_t)i * 4 * per, *rms = x + per, *sw2 = x + 2 * per, *err = x + 3 * per;
        for (int j = 0; j < J; j++) {
            x[j] = (double)w[j].nfe, rms[j] = w[j].endpoint_rms, sw2[j] = w[j].sw2.value, err[j] = 2 * w[j].sw2.se;
            floor_x[j] = (double)s->nfe[j], floor_y[j] = w[j].sw2.floor;
        }
        const char *color = palette[i % 8];
        if (!w->stochastic) {
            if (isnan(w->order)) snprintf(labels[2 * i], 96, "%s endpoint RMS (no order)", s->samplers[i]);
            else if (isnan(w->order_se)) snprintf(labels[2 * i], 96, "%s endpoint RMS: order %.2f (2 runs)", s->samplers[i], w->order);
            else snprintf(labels[2 * i], 96, "%s endpoint RMS: order %.2f +- %.2f", s->samplers[i], w->order, w->order_se);
            series[count++] = (sf_series){.x = x, .y = rms, .n = per, .label = labels[2 * i], .color = color};
        }
        snprintf(labels[2 * i + 1], 96, "%s sliced W2 +- 2 s.e.", s->samplers[i]);
        series[count++] = (sf_series){.x = x, .y = sw2, .n = per, .label = labels[2 * i + 1], .color = color, .dashed = 1, .err = err};
    }
    series[count++] = (sf_series){.x = floor_x, .y = floor_y, .n = per, .label = "sliced W2 of exact draws (floor)", .color = "#000",
                                  .dashed = 1};
    sf_plot plot = {.title = "sampler error against the exact distribution", .xlabel = "score evaluations (NFE)",
                    .ylabel = "error", .logx = 1, .logy = 1};
    char path[4096];
    snprintf(path, sizeof path, "%s/sampler_error.svg", dir);
    sf_status st = sfi_plot_svg(path, &plot, series, count);
    free(buf);
    return st == SF_OK ? SF_EXIT_OK : cli_write_error(st);
}

/* Checks the run's inputs as the library will (schedule times, each sampler's one-step plan). */
static int check_inputs(const sf_schedule *sched, const sf_sampler_error_setup *s)
{
    sf_time t;
    sf_status st = sf_schedule_at(sched, s->t1, &t);
    if (st == SF_OK) st = sf_schedule_at(sched, s->t0, &t);
    for (int i = 0; st == SF_OK && i < s->nsamplers; i++) {
        sf_sampler_kind kind;
        if (sf_sampler_kind_parse(s->samplers[i], &kind) != SF_OK) return cli_bad_input("option --samplers: %s", sf_last_error());
        sf_sampler smp = sf_sampler_default(kind);
        smp.steps = 1, smp.spacing = s->spacing, smp.t1 = s->t1, smp.t0 = s->t0, smp.rho = s->rho;
        st = sf_sampler_cost(sched, &smp, NULL, NULL);
    }
    if (st != SF_OK) sfi_error_prefix("sampler-error");
    return st == SF_OK ? SF_EXIT_OK : cli_library_error(st);
}

int cmd_sampler_error(int argc, char **argv)
{
    const char *mixture_path = NULL, *dir = "scorefield-sampler-error", *samplers_text = NULL, *nfe_text = "5,10,20,50,100";
    const char *spacing = NULL;
    size_t n = 2000, seed = 0;
    double t1 = NAN, t0 = NAN, tol = 1e-10, rho = NAN;
    sf_backend backend = SF_BACKEND_AUTO;
    cli_time ct;
    cli_time_init(&ct);
    const cli_option table[] = {{"--mixture", CLI_TEXT, &mixture_path, 0}, {"--out-dir", CLI_TEXT, &dir, 0},
                                {"--samplers", CLI_TEXT, &samplers_text, 0}, {"--nfe", CLI_TEXT, &nfe_text, 0},
                                {"--spacing", CLI_TEXT, &spacing, 0}, {"--n", CLI_COUNT, &n, 100000000},
                                {"--seed", CLI_COUNT, &seed, SIZE_MAX}, {"--t1", CLI_NUMBER, &t1, 0}, {"--t0", CLI_NUMBER, &t0, 0},
                                {"--rho", CLI_NUMBER, &rho, 0},
                                {"--reference-tol", CLI_NUMBER, &tol, 0}, {"--backend", CLI_BACKEND, &backend, 0},
                                {NULL, CLI_FLAG, NULL, 0}};
    CLI_PARSE_OR_RETURN(cli_parse("sampler-error", sampler_error_help, NULL, table, argc, argv, interval_time_extra, &ct, NULL));
    if (!mixture_path || !ct.have_schedule || !samplers_text)
        return cli_bad_input("sampler-error: --mixture, --schedule and --samplers are required");
    if (n < 2) return cli_bad_input("option --n: need at least 2 particles (got %zu)", n);
    sf_spacing spacing_kind;
    if (!cli_spacing(spacing, &ct.schedule, &spacing_kind)) return SF_EXIT_BAD_INPUT;
    if (!isnan(rho) && spacing_kind != SF_SPACING_KARRAS) return cli_bad_input("option --rho: applies to --spacing karras only");
    if (!isnan(rho) && !(rho > 0)) return cli_bad_input("option --rho: %g must be > 0", rho);
    if (!(tol > 0 && tol < 1e-3)) return cli_bad_input("option --reference-tol: %g must be in (0, 1e-3)", tol);
    char samplers_copy[1024], nfe_copy[1024], *names[MAX_SAMPLERS];
    int nfe[MAX_BUDGETS];
    if (strlen(samplers_text) >= sizeof samplers_copy || strlen(nfe_text) >= sizeof nfe_copy)
        return cli_bad_input("sampler-error: --samplers or --nfe is too long");
    strcpy(samplers_copy, samplers_text), strcpy(nfe_copy, nfe_text);
    sf_sampler_error_setup setup = sf_sampler_error_setup_default();
    setup.samplers = (const char *const *)names;
    if (!(setup.nsamplers = split_list("--samplers", samplers_copy, names, MAX_SAMPLERS))) return SF_EXIT_BAD_INPUT;
    if (!(setup.nnfe = parse_budgets(nfe_copy, nfe))) return SF_EXIT_BAD_INPUT;
    cli_interval_defaults(&ct.schedule, &t1, &t0);
    setup.nfe = nfe, setup.n = n, setup.seed = seed, setup.t1 = t1, setup.t0 = t0, setup.reference_tol = tol;
    setup.spacing = spacing_kind;
    setup.rho = isnan(rho) ? 0 : rho;
    if (!(setup.t1 > setup.t0)) return cli_bad_input("sampler-error: need --t1 > --t0 (got %g, %g)", setup.t1, setup.t0);
    int status = check_inputs(&ct.schedule, &setup);
    if (status != SF_EXIT_OK) return status;
    sf_mixture *mix = NULL;
    sf_status st;
    if ((status = cli_outputs_add_input("--mixture", mixture_path)) != SF_EXIT_OK) return status;
    if ((st = sf_mixture_read_json(&mix, mixture_path)) != SF_OK) return cli_library_error(st);
    static const char *const files[2] = {"sampler_error.csv", "sampler_error.svg"};
    status = cli_outputs_folder(dir, files, 2); /* checked before any work */
    size_t count = (size_t)setup.nsamplers * setup.nnfe;
    sf_sampler_error_row *rows = calloc(count, sizeof *rows);
    sf_context *ctx = NULL;
    if (status == SF_EXIT_OK && !rows) status = cli_failure("out of memory for %zu rows", count);
    if (status == SF_EXIT_OK && (st = sf_context_create(&ctx, backend, SF_PRECISION_F64, 0)) != SF_OK) status = cli_library_error(st);
    cli_progress progress;
    cli_progress_start(&progress, "sampler-error", 1.0);
    setup.progress = on_progress, setup.progress_data = &progress;
    if (status == SF_EXIT_OK) {
        printf("scorefield sampler-error: %s, d = %d, %d components, %s schedule, t1 = %g -> t0 = %g (%s spacing), n = %zu, seed %zu\n",
               mixture_path, sf_mixture_dim(mix), sf_mixture_count(mix), sf_schedule_kind_name(ct.schedule.kind), setup.t1,
               setup.t0, cli_spacing_name(spacing_kind), n, seed);
        fflush(stdout); /* the header before any progress line */
        if ((st = sf_sampler_error(ctx, mix, &ct.schedule, &setup, rows)) != SF_OK) {
            sfi_error_prefix(mixture_path);
            status = cli_library_error(st);
        }
    }
    if (status == SF_EXIT_OK) print_table(&setup, rows, count);
    if (status == SF_EXIT_OK) status = write_csv(dir, &setup, rows, count);
    if (status == SF_EXIT_OK) status = write_figure(dir, &setup, rows);
    if (status == SF_EXIT_OK) printf("  figure              %s/sampler_error.svg (data: %s/sampler_error.csv)\n", dir, dir);
    free(rows);
    sf_context_destroy(ctx);
    sf_mixture_destroy(mix);
    return status;
}
