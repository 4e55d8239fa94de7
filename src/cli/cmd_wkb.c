/* scorefield wkb (docs/analyses.md, "The path-integral view"): parses the options, calls the
 * library for the h-family's likelihood curve and its first-order WKB prediction per score model,
 * prints them and writes CSV + SVG. */
#include "cli_io.h"
#include "commands.h"
#include "parse.h"
#include "progress.h"
#include "report.h"
#include "status.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char wkb_help[] =
    "usage: scorefield wkb [--mixture M.json] [--schedule S] [--t0 T0] [--t1 T1] [--x X]\n"
    "                      [--model-scale C1,C2,...] [--model-shift B] [--h-max H] [--out-dir DIR] [--quiet]\n"
    "For Gaussian data (a mixture of one isotropic or diagonal component; default N(0, 0.5) in 1-D,\n"
    "VE from t0 = 0 to t1 = 1) and score models s_theta = C s + B (default C = 1, 1/1.3, 0.7; B = 0),\n"
    "prints log q^h_t0(x) of the model's h-sampler at the point x (default 0.3 in every coordinate)\n"
    "for h from 0 to h-max (default 1), computed from the model's Gaussian marginals, beside the WKB\n"
    "prediction log q^0 + h^2 l_1; writes DIR/wkb.csv and wkb.svg (default DIR scorefield-wkb).\n"
    "For the exact score (C = 1, B = 0) every h gives the same likelihood: l_1 = 0. The formulas and\n"
    "their checks: docs/analyses.md, \"The path-integral view\". Both files are written or neither.\n"
    "A run longer than 2 s reports progress (elapsed, estimate of the rest) on stderr;\n"
    "--quiet prints nothing but errors. --model-scale and --model-shift are loglik's names too (the old\n"
    "--scales and --shift are refused).\n";

int cmd_wkb(int argc, char **argv)
{
    const char *mixture_path = NULL, *dir = "scorefield-wkb", *scales_text = "1,0.7692307692307692,0.7";
    double t0 = 0, t1 = 1, x0 = 0.3, shift = 0, h_max = 1;
    cli_time ct;
    cli_time_init(&ct);
    ct.schedule = sf_schedule_default(SF_SCHEDULE_VE);
    const cli_option table[] = {{"--mixture", CLI_TEXT, &mixture_path, 0}, {"--model-scale", CLI_TEXT, &scales_text, 0},
                                {"--out-dir", CLI_TEXT, &dir, 0}, {"--t0", CLI_NUMBER, &t0, 0}, {"--t1", CLI_NUMBER, &t1, 0},
                                {"--x", CLI_NUMBER, &x0, 0}, {"--model-shift", CLI_NUMBER, &shift, 0}, {"--h-max", CLI_NUMBER, &h_max, 0},
                                {NULL, CLI_FLAG, NULL, 0}};
    CLI_PARSE_OR_RETURN(cli_parse("wkb", wkb_help, NULL, table, argc, argv, interval_time_extra, &ct, NULL));
    double scales[8];
    int ns = 0;
    if (!(t1 > t0)) return cli_bad_input("wkb: need --t1 > --t0 (got %g, %g)", t1, t0);
    for (const char *c = scales_text; *c;) {
        char *end;
        if (ns == 8) return cli_bad_input("option --model-scale: at most 8 values");
        scales[ns++] = strtod(c, &end);
        if (end == c || (*end && *end != ',') || !isfinite(scales[ns - 1]))
            return cli_bad_input("option --model-scale: '%s' is not a comma-separated list of numbers", scales_text);
        c = *end ? end + 1 : end;
    }
    if (!(h_max > 0)) return cli_bad_input("option --h-max: must be positive");
    sf_mixture *mix = NULL;
    sf_status st;
    if (mixture_path) {
        if ((st = sf_mixture_read_json(&mix, mixture_path)) != SF_OK) return cli_library_error(st);
    } else {
        const double mu[1] = {0};
        sf_mixture_create(&mix, 1);
        sf_mixture_add_isotropic(mix, 1, mu, 0.5);
    }
    int d = sf_mixture_dim(mix), status = SF_EXIT_OK;
    static const char *const files[2] = {"wkb.csv", "wkb.svg"};
    if ((status = cli_outputs_folder(dir, files, 2)) != SF_EXIT_OK) { /* checked before any work */
        sf_mixture_destroy(mix);
        return status;
    }
    double *x = malloc((size_t)d * sizeof(double)), *b = malloc((size_t)d * sizeof(double));
    if (!x || !b) {
        free(x), free(b);
        sf_mixture_destroy(mix);
        return cli_failure("out of memory");
    }
    for (int i = 0; i < d; i++) x[i] = x0, b[i] = shift;
    enum { NH = 21 };
    double hs[NH], cols_data[2 * 8][NH];
    for (int q = 0; q < NH; q++) hs[q] = h_max * q / (NH - 1);
    printf("scorefield wkb: d = %d, %s schedule t0 = %g -> t1 = %g, x = %g, model s_theta = C s + %g\n", d,
           sf_schedule_kind_name(ct.schedule.kind), t0, t1, x0, shift);
    printf("  %-10s %-14s %-14s log q^h (h = %g, %g, %g) vs log q^0 + h^2 l_1\n", "C", "log q^0", "WKB l_1", hs[2], hs[10],
           hs[NH - 1]);
    cli_progress progress;
    cli_progress_start(&progress, "wkb", ns);
    for (int c = 0; c < ns && status == SF_EXIT_OK; c++) {
        double l1, q0;
        if ((st = sf_wkb_curve(mix, &ct.schedule, t0, t1, scales[c], shift != 0 ? b : NULL, x, hs, NH, 2000, cols_data[2 * c],
                               cols_data[2 * c + 1], &l1, &q0)) != SF_OK) {
            if (st == SF_ERR_INVALID && mixture_path) sfi_error_prefix(mixture_path);
            status = cli_library_error(st);
            break;
        }
        printf("  %-10.6g %-14.8f %-14.8f", scales[c], q0, l1);
        static const int shown[3] = {2, 10, NH - 1};
        for (int j = 0; j < 3; j++) printf(" %.6f/%.6f", cols_data[2 * c][shown[j]], cols_data[2 * c + 1][shown[j]]);
        printf("\n");
        fflush(stdout); /* the row before any progress line */
        cli_progress_update(&progress, c + 1);
    }
    if (status == SF_EXIT_OK) {
        char path[4096], names[2 * 8 + 1][32];
        const char *np[2 * 8 + 1];
        const double *cp[2 * 8 + 1];
        snprintf(names[0], 32, "h");
        np[0] = names[0], cp[0] = hs;
        sf_series series[2 * 8];
        char labels[2 * 8][48];
        for (int c = 0; c < ns; c++) {
            snprintf(names[1 + 2 * c], 32, "log_q_h_C%d", c);
            snprintf(names[2 + 2 * c], 32, "wkb_C%d", c);
            np[1 + 2 * c] = names[1 + 2 * c], np[2 + 2 * c] = names[2 + 2 * c];
            cp[1 + 2 * c] = cols_data[2 * c], cp[2 + 2 * c] = cols_data[2 * c + 1];
            static const char *const colors[8] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};
            snprintf(labels[2 * c], 48, "exact, C = %.4g", scales[c]);
            snprintf(labels[2 * c + 1], 48, "WKB, C = %.4g", scales[c]);
            /* one colour per model: solid the exact curve, dashed its prediction */
            series[2 * c] = (sf_series){.x = hs, .y = cols_data[2 * c], .n = NH, .label = labels[2 * c], .color = colors[c]};
            series[2 * c + 1] = (sf_series){.x = hs, .y = cols_data[2 * c + 1], .n = NH, .label = labels[2 * c + 1],
                                            .color = colors[c], .dashed = 1};
        }
        snprintf(path, sizeof path, "%s/wkb.csv", dir);
        if ((st = sfi_csv_write(path, 1 + 2 * ns, np, cp, NH)) != SF_OK) status = cli_write_error(st);
        sf_plot plot = {.title = "likelihood of the h-family: exact against first-order WKB", .xlabel = "noise level h",
                        .ylabel = "log q^h_t0(x)"};
        snprintf(path, sizeof path, "%s/wkb.svg", dir);
        if (status == SF_EXIT_OK && (st = sfi_plot_svg(path, &plot, series, 2 * ns)) != SF_OK) status = cli_write_error(st);
        else if (status == SF_EXIT_OK) printf("  figures             %s/wkb.svg (data: %s/wkb.csv)\n", dir, dir);
    }
    free(x), free(b);
    sf_mixture_destroy(mix);
    return status;
}
