/* scorefield doublewell (docs/analyses.md, "The quartic double well"): parses the options, calls
 * the library for the well's critical time, moments, surrogate, layer widths and Burgers residual
 * (or the ring's), prints them and writes the profiles (CSV + SVG). */
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

static const char doublewell_help[] =
    "usage: scorefield doublewell [--eps E] [--dim 1|2] [--radial] [--out-dir DIR] [--quiet]\n"
    "The data density p0 ~ exp(-(x^2 - 1)^2 / E) (default E = 0.3) diffused in heat time, its score by\n"
    "quadrature of the posterior. Prints the critical heat time (E[x^2 | y = 0; tau] = tau), E x^2 and\n"
    "E|x| under p0, the moment surrogate a_eff^2 - s_eff^2 (a_eff = E|x|, s_eff^2 = E x^2 - a_eff^2)\n"
    "against tau_c, the layer width 2/phi'(0) at tau_c (phi = log(q_+/q_-), the halves x > 0 and x < 0)\n"
    "against the surrogate (s_eff^2 + tau_c)/a_eff and a tanh fit, and the largest Burgers residual\n"
    "|d_tau u - u_yy/2 - u u_y| / scale over a grid of points and times;\n"
    "writes DIR/profiles.csv and profiles.svg (default DIR scorefield-doublewell). With --dim 2 the data\n"
    "are the product of two wells (four modes, speciating in both coordinates at tau_c): the residual is\n"
    "the vector one, d_tau u - Lap u / 2 - (u . grad) u, on a 2-D grid of points, and DIR/field2d.csv\n"
    "holds u on that grid. With --radial the 2-D data are the ring p0 ~ exp(-(|x|^2 - 1)^2 / E): the\n"
    "continuous symmetry breaks when the centre turns from a maximum of log q into a minimum,\n"
    "E[|x|^2 | y = 0; tau] = 2 tau; the profiles are the radial score along y = (r, 0).\n"
    "The formulas and their checks: docs/analyses.md, \"The quartic double well\".\n"
    "The files are written all or none. --quiet prints nothing but errors.\n";

/* The ring: critical time, vector Burgers residual on a grid, radial profiles. */
static int ring(double eps, const char *dir)
{
    static const char *const files[2] = {"ring_profiles.csv", "ring_profiles.svg"};
    int status = cli_outputs_folder(dir, files, 2); /* checked before any work */
    if (status != SF_EXIT_OK) return status;
    enum { NP = 61, NT = 4, G = 9, NR = 3 };
    cli_progress progress; /* stages: the critical time, NT profiles, NR residual times */
    cli_progress_start(&progress, "doublewell", 1 + NT + NR);
    double tau_c;
    sf_status st = sf_ringwell_tau_c(eps, &tau_c);
    if (st != SF_OK) return cli_library_error(st);
    cli_progress_update(&progress, 1);
    static const double factors[NT] = {0.25, 0.5, 1, 2};
    double r[NP], pts[2 * NP], u[2 * NP], prof[NT][NP], worst;
    for (int q = 0; q < NP; q++) r[q] = 2.5 * q / (NP - 1), pts[2 * q] = r[q], pts[2 * q + 1] = 0;
    for (int k = 0; k < NT; k++) {
        if ((st = sf_ringwell_field(eps, factors[k] * tau_c, pts, NP, u, NULL, NULL, NULL)) != SF_OK) return cli_library_error(st);
        for (int q = 0; q < NP; q++) prof[k][q] = u[2 * q];
        cli_progress_update(&progress, 2 + k);
    }
    double grid[2 * G * G], taus[NR] = {0.5 * tau_c, tau_c, 2 * tau_c};
    for (int a = 0; a < G; a++)
        for (int b = 0; b < G; b++) grid[2 * (a * G + b)] = -2 + 4.0 * a / (G - 1), grid[2 * (a * G + b) + 1] = -2 + 4.0 * b / (G - 1);
    worst = 0;
    for (int k = 0; k < NR; k++) { /* one time at a time, for the progress */
        double at_k;
        if ((st = sf_ringwell_burgers_residual(eps, taus + k, 1, grid, G * G, &at_k)) != SF_OK) return cli_library_error(st);
        worst = fmax(worst, at_k);
        cli_progress_update(&progress, 2 + NT + k);
    }
    printf("scorefield doublewell: the ring p0 ~ exp(-(|x|^2 - 1)^2 / %g) in 2-D\n", eps);
    printf("  critical heat time  tau_c = %.10g (E[|x|^2 | y = 0; tau] = 2 tau: the centre becomes a minimum)\n", tau_c);
    printf("  Burgers residual    max |d_tau u - Lap u/2 - (u.grad) u| / (largest term) = %.3g (%d x %d points x %d times)\n",
           worst, G, G, (int)NR);
    const double *curves[NT] = {prof[0], prof[1], prof[2], prof[3]};
    if ((st = sfi_write_profiles(dir, "ring_profiles", "ring: the radial score, the centre turning into a minimum", "r",
                                "radial score u_r", r, curves, factors, "tau_c", NT, NP)) != SF_OK)
        return cli_write_error(st);
    printf("  figures             %s/ring_profiles.svg (data: %s/ring_profiles.csv)\n", dir, dir);
    return SF_EXIT_OK;
}

int cmd_doublewell(int argc, char **argv)
{
    double eps = 0.3;
    size_t dim = 1;
    int radial = 0;
    const char *dir = "scorefield-doublewell";
    const cli_option table[] = {{"--eps", CLI_NUMBER, &eps, 0}, {"--out-dir", CLI_TEXT, &dir, 0}, {"--radial", CLI_FLAG, &radial, 0},
                                {"--dim", CLI_COUNT, &dim, 2},
                                {NULL, CLI_FLAG, NULL, 0}};
    CLI_PARSE_OR_RETURN(cli_parse("doublewell", doublewell_help, NULL, table, argc, argv, NULL, NULL, NULL));
    if (!(eps > 0) || eps > 100) return cli_bad_input("option --eps: %g must be in (0, 100]", eps);
    if (dim != 1 && dim != 2) return cli_bad_input("option --dim: %zu is not 1 or 2", dim);
    if (radial) return ring(eps, dir);
    static const char *const files[3] = {"profiles.csv", "profiles.svg", "field2d.csv"};
    int status = cli_outputs_folder(dir, files, dim == 2 ? 3 : 2); /* checked before any work */
    if (status != SF_EXIT_OK) return status;
    sf_doublewell_summary w;
    sf_status st = sf_doublewell_summarize(eps, &w);
    if (st != SF_OK) return cli_library_error(st);
    enum { NP = 241, NT = 4, G = 61 };
    static const double factors[NT] = {0.1, 1.0 / 3, 1, 3};
    double r[NP], prof[NT][NP], taus[6], worst, worst2, ys[2 * G * G], field[2 * G * G];
    for (int q = 0; q < NP; q++) r[q] = -3 + 6.0 * q / (NP - 1);
    for (int k = 0; k < 6; k++) taus[k] = w.tau_c * pow(3, k - 3);
    for (int k = 0; k < NT; k++)
        if ((st = sf_doublewell_field(eps, factors[k] * w.tau_c, r, NP, prof[k], NULL, NULL, NULL)) != SF_OK) return cli_library_error(st);
    if ((st = sf_doublewell_burgers_residual(eps, 1, taus, 6, r, NP, &worst)) != SF_OK) return cli_library_error(st);
    printf("scorefield doublewell: p0 ~ exp(-(x^2 - 1)^2 / %g)\n", eps);
    printf("  critical heat time  tau_c = %.10g (E[x^2 | y = 0; tau] = tau, by quadrature)\n", w.tau_c);
    printf("  moments of p0       E x^2 = %.12f, E|x| = %.12f (Gauss-Legendre on the half line)\n", w.ex2, w.eabs);
    printf("  moment surrogate    a_eff^2 - s_eff^2 = %.12f (a_eff = E|x|, s_eff^2 = E x^2 - a_eff^2 = %.12f): relative\n"
           "                      to tau_c %+.3g (the symmetric-pair formula with the well's moments)\n",
           w.surrogate_tau_c, w.s_eff2, w.surrogate_tau_error);
    printf("  layer width at tau_c 2/phi'(0) = %.8f (phi = log(q_+/q_-), halves x > 0 and x < 0); surrogate\n"
           "                      (s_eff^2 + tau_c)/a_eff = %.8f (relative %+.3g); tanh fit through y = 0: %.8f\n",
           w.width, w.surrogate_width, w.surrogate_width_error, w.fitted_width);
    printf("  Burgers residual    max |d_tau u - u_yy/2 - u u_y| / (largest term) = %.3g over %d points x 6 times\n", worst, NP);
    const double *curves[NT] = {prof[0], prof[1], prof[2], prof[3]};
    if ((st = sfi_write_profiles(dir, "profiles", "double-well score sharpening through speciation", "y", "score u(y, tau)", r,
                                curves, factors, "tau_c", NT, NP)) != SF_OK)
        return cli_write_error(st);
    if (dim == 2) { /* the product of two wells: u_i depends on y_i only; the vector residual on a grid */
        for (int a1 = 0; a1 < G; a1++)
            for (int a2 = 0; a2 < G; a2++) ys[2 * (a1 * G + a2)] = -2.5 + 5.0 * a1 / (G - 1), ys[2 * (a1 * G + a2) + 1] = -2.5 + 5.0 * a2 / (G - 1);
        if ((st = sf_doublewell_burgers_residual(eps, 2, taus, 6, ys, G * G, &worst2)) != SF_OK ||
            (st = sf_doublewell_field(eps, w.tau_c, ys, 2 * G * G, field, NULL, NULL, NULL)) != SF_OK)
            return cli_library_error(st);
        double c0[G * G], c1[G * G], c2[G * G], c3[G * G];
        for (int p = 0; p < G * G; p++) c0[p] = ys[2 * p], c1[p] = ys[2 * p + 1], c2[p] = field[2 * p], c3[p] = field[2 * p + 1];
        const double *cols[4] = {c0, c1, c2, c3};
        const char *names[4] = {"y1", "y2", "u1", "u2"};
        char path[4096];
        snprintf(path, sizeof path, "%s/field2d.csv", dir);
        if ((st = sfi_csv_write(path, 4, names, cols, G * G)) != SF_OK) return cli_write_error(st);
        printf("  2-D product         four modes, speciating in both coordinates at tau_c; vector Burgers residual\n"
               "                      %.3g of the largest term on a %d x %d grid x 6 times; u at tau_c in %s/field2d.csv\n",
               worst2, G, G, dir);
    }
    printf("  figures             %s/profiles.svg (data: %s/profiles.csv)\n", dir, dir);
    return SF_EXIT_OK;
}
