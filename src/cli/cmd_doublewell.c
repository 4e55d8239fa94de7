/* scorefield doublewell: speciation for non-Gaussian data, the quartic double well
 * p0 ~ exp(-(x^2 - 1)^2 / eps) (SPEC.md D): its critical time, the moment surrogate, the tanh
 * width at tau_c, the Burgers residual of its quadrature score, and profiles sharpening. */
#include "cli_io.h"
#include "commands.h"
#include "report.h"
#include "staging.h"
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
    "quadrature of the posterior. Prints the critical heat time (E[x^2 | y = 0; tau] = tau), the moment\n"
    "surrogate a_eff^2 - s_eff^2, the tanh width fitted at tau_c against (s_eff^2 + tau_c)/a_eff, and the\n"
    "largest Burgers residual |d_tau u - u_yy/2 - u u_y| / scale over a grid of points and times;\n"
    "writes DIR/profiles.csv and profiles.svg (default DIR scorefield-doublewell). With --dim 2 the data\n"
    "are the product of two wells (four modes, speciating in both coordinates at tau_c): the residual is\n"
    "the vector one, d_tau u - Lap u / 2 - (u . grad) u, on a 2-D grid of points, and DIR/field2d.csv\n"
    "holds u on that grid. With --radial the 2-D data are the ring p0 ~ exp(-(|x|^2 - 1)^2 / E): the\n"
    "continuous symmetry breaks when the centre turns from a maximum of log q into a minimum,\n"
    "E[|x|^2 | y = 0; tau] = 2 tau; the profiles are the radial score along y = (r, 0).\n"
    "The files are written all or none. --quiet prints nothing but errors.\n";

/* The ring: critical time, vector Burgers residual on a grid, radial profiles. */
static int ring(double eps, const char *dir)
{
    static const char *const files[2] = {"ring_profiles.csv", "ring_profiles.svg"};
    int status = cli_outputs_folder(dir, files, 2); /* checked before any work */
    if (status != SF_EXIT_OK) return status;
    double tau_c;
    sf_status st = sf_ringwell_tau_c(eps, &tau_c);
    if (st != SF_OK) return cli_library_error(st);
    enum { NP = 61, NT = 4, G = 9 };
    static const double factors[NT] = {0.25, 0.5, 1, 2};
    double r[NP], pts[2 * NP], u[2 * NP], prof[NT][NP], worst = 0;
    for (int q = 0; q < NP; q++) r[q] = 2.5 * q / (NP - 1), pts[2 * q] = r[q], pts[2 * q + 1] = 0;
    for (int k = 0; k < NT; k++) {
        if ((st = sf_ringwell_field(eps, factors[k] * tau_c, pts, NP, u, NULL, NULL, NULL)) != SF_OK) return cli_library_error(st);
        for (int q = 0; q < NP; q++) prof[k][q] = u[2 * q];
    }
    double grid[2 * G * G], gu[2 * G * G], J[4 * G * G], L[2 * G * G], ut[2 * G * G];
    for (int a = 0; a < G; a++)
        for (int b = 0; b < G; b++) grid[2 * (a * G + b)] = -2 + 4.0 * a / (G - 1), grid[2 * (a * G + b) + 1] = -2 + 4.0 * b / (G - 1);
    for (int k = 0; k < 3; k++) {
        double tau = tau_c * pow(2, k - 1), scale = 0, rmax = 0;
        if ((st = sf_ringwell_field(eps, tau, grid, G * G, gu, J, L, ut)) != SF_OK) return cli_library_error(st);
        for (int p = 0; p < G * G; p++)
            for (int i = 0; i < 2; i++) {
                double adv = J[4 * p + 2 * i] * gu[2 * p] + J[4 * p + 2 * i + 1] * gu[2 * p + 1];
                scale = fmax(scale, fmax(fabs(ut[2 * p + i]), fmax(0.5 * fabs(L[2 * p + i]), fabs(adv))));
                rmax = fmax(rmax, fabs(ut[2 * p + i] - 0.5 * L[2 * p + i] - adv));
            }
        worst = fmax(worst, rmax / scale);
    }
    printf("scorefield doublewell: the ring p0 ~ exp(-(|x|^2 - 1)^2 / %g) in 2-D\n", eps);
    printf("  critical heat time  tau_c = %.10g (E[|x|^2 | y = 0; tau] = 2 tau: the centre becomes a minimum)\n", tau_c);
    printf("  Burgers residual    max |d_tau u - Lap u/2 - (u.grad) u| / (largest term) = %.3g (%d x %d points x 3 times)\n",
           worst, G, G);
    const double *curves[NT] = {prof[0], prof[1], prof[2], prof[3]};
    if ((st = sf_write_profiles(dir, "ring_profiles", "ring: the radial score, the centre turning into a minimum", "r",
                                "radial score u_r", r, curves, factors, NT, NP)) != SF_OK)
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
    cli_once once = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) {
            fputs(doublewell_help, stdout);
            return SF_EXIT_OK;
        }
        if (!cli_first_use(&once, a)) return SF_EXIT_BAD_INPUT;
        if (!strcmp(a, "--eps")) { if (!(v = cli_value(argc, argv, &i)) || !cli_double(a, v, &eps)) return SF_EXIT_BAD_INPUT; }
        else if (!strcmp(a, "--out-dir")) { if (!(dir = cli_value(argc, argv, &i))) return SF_EXIT_BAD_INPUT; }
        else if (!strcmp(a, "--radial")) radial = 1;
        else if (!strcmp(a, "--quiet")) cli_set_quiet();
        else if (!strcmp(a, "--dim")) { if (!(v = cli_value(argc, argv, &i)) || !cli_count(a, v, 2, &dim)) return SF_EXIT_BAD_INPUT; }
        else return cli_bad_input("doublewell: unknown option '%s' (see scorefield doublewell --help)", a);
    }
    if (!(eps > 0) || eps > 100) return cli_bad_input("option --eps: %g must be in (0, 100]", eps);
    if (dim != 1 && dim != 2) return cli_bad_input("option --dim: %zu is not 1 or 2", dim);
    if (radial) return ring(eps, dir);
    static const char *const files[3] = {"profiles.csv", "profiles.svg", "field2d.csv"};
    int status = cli_outputs_folder(dir, files, dim == 2 ? 3 : 2); /* checked before any work */
    if (status != SF_EXIT_OK) return status;
    double tau_c, surrogate;
    sf_status st = sf_doublewell_tau_c(eps, &tau_c, &surrogate);
    if (st != SF_OK) return cli_library_error(st);
    enum { NP = 241, NT = 4 };
    static const double factors[NT] = {0.1, 1.0 / 3, 1, 3};
    double r[NP], prof[NT][NP];
    for (int q = 0; q < NP; q++) r[q] = -3 + 6.0 * q / (NP - 1);
    double width = NAN, worst = 0;
    for (int k = 0; k < NT; k++) {
        if ((st = sf_doublewell_field(eps, factors[k] * tau_c, r, NP, prof[k], NULL, NULL, NULL)) != SF_OK)
            return cli_library_error(st);
        if (k == 2) sf_fit_tanh_layer(r, prof[k], NP, 1e-3, 30, &width, NULL, NULL);
    }
    for (int k = 0; k < 6; k++) { /* the Burgers residual on a grid of times */
        double tau = tau_c * pow(3, k - 3), u[NP], uy[NP], uyy[NP], ut[NP];
        if ((st = sf_doublewell_field(eps, tau, r, NP, u, uy, uyy, ut)) != SF_OK) return cli_library_error(st);
        /* relative to the largest term on this time's grid: at y = 0 every term vanishes by symmetry */
        double scale = 0, rmax = 0;
        for (int q = 0; q < NP; q++) {
            scale = fmax(scale, fmax(fabs(ut[q]), fmax(0.5 * fabs(uyy[q]), fabs(u[q] * uy[q]))));
            rmax = fmax(rmax, fabs(ut[q] - 0.5 * uyy[q] - u[q] * uy[q]));
        }
        worst = fmax(worst, rmax / scale);
    }
    /* the surrogate's layer width: (s_eff^2 + tau_c) / a_eff, with a_eff^2 - s_eff^2 = surrogate;
     * a_eff from the well's first absolute moment is needed separately: report the surrogate time */
    printf("scorefield doublewell: p0 ~ exp(-(x^2 - 1)^2 / %g)\n", eps);
    printf("  critical heat time  tau_c = %.10g (E[x^2 | y = 0; tau] = tau, by quadrature)\n", tau_c);
    printf("  moment surrogate    a_eff^2 - s_eff^2 = %.6g (the symmetric-pair formula with the well's moments)\n", surrogate);
    printf("  tanh width at tau_c %.6g (fitted to the profile through y = 0)\n", width);
    printf("  Burgers residual    max |d_tau u - u_yy/2 - u u_y| / (largest term) = %.3g over %d points x 6 times\n", worst, NP);
    const double *curves[NT] = {prof[0], prof[1], prof[2], prof[3]};
    if ((st = sf_write_profiles(dir, "profiles", "double-well score sharpening through speciation", "y", "score u(y, tau)", r,
                                curves, factors, NT, NP)) != SF_OK)
        return cli_write_error(st);
    char path[4096];
    if (dim == 2) { /* the product of two wells: u_i depends on y_i only; the vector residual on a grid */
        enum { G = 61 };
        double ys[G], f[6][G], *field = malloc(3 * G * G * sizeof(double)), worst2 = 0;
        for (int q = 0; q < G; q++) ys[q] = -2.5 + 5.0 * q / (G - 1);
        for (int k = 0; k < 6 && st == SF_OK; k++) {
            double tau = tau_c * pow(3, k - 3);
            st = sf_doublewell_field(eps, tau, ys, G, f[0], f[1], f[2], f[3]);
            double scale = 0, rmax = 0;
            for (int a1 = 0; a1 < G; a1++)
                for (int a2 = 0; a2 < G; a2++) {
                    int idx[2] = {a1, a2};
                    for (int i = 0; i < 2; i++) { /* R_i = d_tau u_i - (u_i,11 + u_i,22)/2 - (u_1 d_1 + u_2 d_2) u_i */
                        int c = idx[i];
                        double lap = f[2][c], adv = f[0][c] * f[1][c]; /* d_j u_i = 0 for j != i */
                        scale = fmax(scale, fmax(fabs(f[3][c]), fmax(0.5 * fabs(lap), fabs(adv))));
                        rmax = fmax(rmax, fabs(f[3][c] - 0.5 * lap - adv));
                        if (k == 3) field[(a1 * G + a2) * 3 + 1 + i] = f[0][c];
                    }
                    if (k == 3) field[(a1 * G + a2) * 3] = 0;
                }
            worst2 = fmax(worst2, rmax / scale);
        }
        if (st != SF_OK) {
            free(field);
            return cli_library_error(st);
        }
        snprintf(path, sizeof path, "%s/field2d.csv", dir);
        sf_staged *staged; /* through the run's output set (staging.h) */
        FILE *fp;
        if ((st = sf_staged_open(&staged, path, &fp)) == SF_OK) {
            fprintf(fp, "y1,y2,u1,u2\n");
            for (int a1 = 0; a1 < G; a1++)
                for (int a2 = 0; a2 < G; a2++)
                    fprintf(fp, "%.6g,%.6g,%.10g,%.10g\n", ys[a1], ys[a2], field[(a1 * G + a2) * 3 + 1], field[(a1 * G + a2) * 3 + 2]);
            st = sf_staged_close(staged, 1);
        }
        free(field);
        if (st != SF_OK) return cli_write_error(st);
        printf("  2-D product         four modes, speciating in both coordinates at tau_c; vector Burgers residual\n"
               "                      %.3g of the largest term on a %d x %d grid x 6 times; u at tau_c in %s/field2d.csv\n",
               worst2, G, G, dir);
    }
    printf("  figures             %s/profiles.svg (data: %s/profiles.csv)\n", dir, dir);
    return SF_EXIT_OK;
}
