/* scorefield burgers: the score of a periodised mixture on a d = 1, 2, 3 grid, advanced from tau0
 * to tau1 by exact heat propagation (route A) or by integrating Burgers directly (route B), with
 * the error against the exact periodised score (docs/burgers.md, the grid). */
#include "cli_io.h"
#include "commands.h"
#include "parse.h"
#include "progress.h"
#include "status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char burgers_help[] =
    "usage: scorefield burgers --mixture M.json --grid N --box L --tau0 T0 --tau1 T1\n"
    "                          [--route exact|direct] [--steps S] [--dim D] [--floor F] [--images I]\n"
    "                          [--out U.npy] [--exact-out E.npy] [--backend cpu|cuda|auto|reference] [--precision f64|f32]\n"
    "                          [--quiet]\n"
    "On the periodic box [-L/2, L/2)^d with N points per axis (N even, d = 1, 2, 3: the mixture's\n"
    "dimension, checked against --dim if given), takes the exact periodised density\n"
    "  q(y, tau) = F / L^d + (1 - F) sum_k w_k sum_{|n| <= I} N(y + n L; mu_k, C_k + tau I)\n"
    "(floor F default 0.01, images I default 2) at heat time tau0 and computes the score u at tau1:\n"
    "  --route exact   (default) heat propagation of q in Fourier space, u = grad q / q (route A)\n"
    "  --route direct  integrating-factor RK4 on d_tau u = Lap u / 2 + grad |u|^2 / 2, 2/3-rule\n"
    "                  dealiasing, S steps (default 100) (route B)\n"
    "Prints the max error against the exact periodised score at tau1, relative to max |u|; writes u\n"
    "(and the exact score) as .npy of shape (N, ..., N, d). A run longer than 2 s reports its progress\n"
    "with the elapsed time and an estimate of the rest on stderr (not with --quiet).\n"
    "Bounds: N 4 to 4096 (even), S 1 to 1e8, I 0 to 8.\n";

/* The route's progress as the third of the run's three stages (exact at tau1, exact at tau0, route). */
static void report_progress(void *data, double fraction) { cli_progress_update(data, 2 + fraction); }

int cmd_burgers(int argc, char **argv)
{
    const char *mixture_path = NULL, *route = "exact";
    cli_output outs[2] = {{.flag = "--out"}, {.flag = "--exact-out"}};
    size_t n = 0, steps = 100, dim = 0, images = 2;
    double box = NAN, tau0 = NAN, tau1 = NAN, floor = 0.01;
    sf_backend backend = SF_BACKEND_AUTO;
    sf_precision precision = SF_PRECISION_F64;
    cli_time_and_outputs extra = {NULL, outs, 2};
    const cli_option table[] = {{"--mixture", CLI_TEXT, &mixture_path, 0}, {"--route", CLI_TEXT, &route, 0}, {"--grid", CLI_COUNT, &n, 4096},
                                {"--steps", CLI_COUNT, &steps, 100000000}, {"--dim", CLI_COUNT, &dim, 3}, {"--images", CLI_COUNT, &images, 8},
                                {"--box", CLI_NUMBER, &box, 0}, {"--tau0", CLI_NUMBER, &tau0, 0}, {"--tau1", CLI_NUMBER, &tau1, 0},
                                {"--floor", CLI_NUMBER, &floor, 0}, {"--backend", CLI_BACKEND, &backend, 0},
                                {"--precision", CLI_PRECISION, &precision, 0},
                                {NULL, CLI_FLAG, NULL, 0}};
    CLI_PARSE_OR_RETURN(cli_parse("burgers", burgers_help, NULL, table, argc, argv, cli_time_and_outputs_extra, &extra, NULL));
    if (!mixture_path) return cli_bad_input("burgers: --mixture M.json is required");
    if (!n) return cli_bad_input("burgers: --grid N is required");
    if (!isfinite(box) || !isfinite(tau0) || !isfinite(tau1)) return cli_bad_input("burgers: --box, --tau0 and --tau1 are required");
    int direct = !strcmp(route, "direct");
    if (!direct && strcmp(route, "exact")) return cli_bad_input("option --route: '%s' is not one of exact, direct", route);
    if (!(tau0 >= 0) || !(tau1 >= tau0)) return cli_bad_input("burgers: need 0 <= --tau0 <= --tau1 (got %g, %g)", tau0, tau1);
    if (steps < 1) return cli_bad_input("option --steps: at least 1 step");

    sf_mixture *mix = NULL;
    sf_context *ctx = NULL;
    sf_grid *grid = NULL;
    double *q0 = NULL;
    int status = SF_EXIT_OK;
    if ((status = cli_outputs_add_input("--mixture", mixture_path)) != SF_EXIT_OK) return status;
    sf_status st = sf_mixture_read_json(&mix, mixture_path);
    if (st != SF_OK) return cli_library_error(st);
    int d = sf_mixture_dim(mix);
    if (dim && dim != (size_t)d) {
        status = cli_bad_input("%s: the mixture has dimension %d, not --dim %zu", mixture_path, d, dim);
        goto done;
    }
    if (d > 3) {
        status = cli_bad_input("%s: the grid needs a mixture of dimension 1, 2 or 3 (this one has %d)", mixture_path, d);
        goto done;
    }
    if ((st = sf_context_create(&ctx, backend, precision, 0)) != SF_OK ||
        (st = sf_grid_create(&grid, ctx, d, (int)n, box)) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    size_t P = sf_grid_points(grid);
    for (int o = 0; o < 2; o++) {
        outs[o].ndim = d + 1;
        for (int a = 0; a < d; a++) outs[o].shape[a] = n;
        outs[o].shape[d] = (size_t)d;
        outs[o].item = "grid point";
    }
    if ((status = cli_prepare_outputs(outs, 2)) != SF_EXIT_OK) goto done;
    const char *keep = outs[1].path;
    outs[1].path = "(exact)"; /* always computed: the error needs it */
    status = cli_allocate_outputs(outs, 2);
    outs[1].path = keep;
    if (status != SF_EXIT_OK) goto done;
    double *u = outs[0].data ? outs[0].data : (outs[0].data = malloc(P * d * sizeof(double)));
    q0 = malloc(P * sizeof(double));
    if (!u || !q0) {
        status = cli_failure("out of memory for %zu grid points", P);
        goto done;
    }
    cli_progress progress;
    cli_progress_start(&progress, "burgers", 3);
    double t0 = cli_seconds();
    if ((st = sf_grid_exact(grid, mix, floor, (int)images, tau1, NULL, outs[1].data)) != SF_OK ||
        (cli_progress_update(&progress, 1),
         st = sf_grid_exact(grid, mix, floor, (int)images, tau0, direct ? NULL : q0, direct ? u : NULL)) != SF_OK) {
        if (st == SF_ERR_INVALID) sfi_error_prefix(mixture_path);
        status = cli_library_error(st);
        goto done;
    }
    double t_exact = cli_seconds() - t0;
    cli_progress_update(&progress, 2);
    t0 = cli_seconds();
    st = direct ? sf_grid_burgers_route(grid, u, tau1 - tau0, (int)steps, report_progress, &progress)
                : sf_grid_heat_route(grid, q0, tau1 - tau0, u);
    cli_progress_update(&progress, 3);
    if (st != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    double t_route = cli_seconds() - t0, err = 0, size = 0;
    for (size_t i = 0; i < P * d; i++) {
        err = fmax(err, fabs(u[i] - outs[1].data[i]));
        size = fmax(size, fabs(outs[1].data[i]));
    }
    if ((status = cli_write_outputs(outs, 2)) != SF_EXIT_OK) goto done;
    printf("scorefield burgers: d = %d, N = %zu (%zu points), box %g, tau %g -> %g, floor %g, %zu images\n", d, n, P,
           box, tau0, tau1, floor, images);
    printf("  route      %s%s, %s\n", direct ? "direct Burgers (IF-RK4, 2/3 dealiasing)" : "exact heat propagation",
           direct ? "" : " (Cole-Hopf)", sf_context_backend(ctx) == SF_BACKEND_CUDA ? "cuFFT" : "FFTW");
    if (direct) printf("  steps      %zu (h = %.3g), %.3g s, %.3g s per step\n", steps, (tau1 - tau0) / steps, t_route, t_route / steps);
    else printf("  time       %.3g s\n", t_route);
    printf("  exact      periodised score by the score engine, %.3g s\n", t_exact);
    printf("  error      max |u - u_exact| = %.3g, relative to max |u_exact| = %.3g: %.3g\n", err, size, size > 0 ? err / size : err);
    for (int o = 0; o < 2; o++)
        if (outs[o].path) printf("  wrote      %s\n", outs[o].path);
done:
    cli_free_outputs(outs, 2);
    free(q0);
    sf_grid_destroy(grid);
    sf_context_destroy(ctx);
    sf_mixture_destroy(mix);
    return status;
}
