/* scorefield speciation and scorefield demo: the speciation story of a binary split (SPEC.md D)
 * with tables on stdout and CSV + SVG figures in a folder: critical times (closed form, from the
 * field, per schedule, Biroli et al.'s spectral time), the score sharpening into a tanh layer of
 * the predicted width, the error amplification across it, and sampled trajectories branching. */
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

static const char speciation_help[] =
    "usage: scorefield speciation [--mixture M.json] [--split A1,A2:B1,B2] [--out-dir DIR] [--n N]\n"
    "                             [--steps K] [--seed S] [--backend cpu|cuda|auto] [--quiet]\n"
    "The speciation of a binary split of a mixture into component sets A and B (default: the first\n"
    "component against the rest; default mixture: the symmetric pair +-(1, 0) with variance 0.1).\n"
    "Prints the critical heat time tau_c (closed form for symmetric pairs; from the field: the sign\n"
    "change of the top Hessian eigenvalue at the interface), t_c for every schedule, Biroli et al.'s\n"
    "spectral time, the tanh width of the score across the interface against (s^2 + tau)/a, and the\n"
    "error amplification G across the layer; writes to DIR (default scorefield-speciation):\n"
    "  profiles.csv/.svg      the normal score through the interface at tau_c x {1/10, 1/3, 1, 3}\n"
    "  curvature.csv/.svg     the interface curvature against tau, tau_c marked\n"
    "  trajectories.csv/.svg  N particles (default 300) of the vp-linear probability-flow ODE: their\n"
    "                         denoisers E[x0 | x_t] along the split's axis, branching at t_c\n"
    "All six files are written or none. Bounds: N 1 to 1e5, K 10 to 1e6, S 0 to 2^64-1.\n"
    "--quiet prints nothing but errors.\n";

typedef struct {
    const char *mixture_path, *split, *out_dir;
    size_t n, steps, seed;
    sf_backend backend;
    int demo; /* the newcomer's summary */
} options;



/* Each frame: the denoiser E[x0 | x_t] of every particle projected on the split axis. At high noise
 * it is the data mean for everyone; at speciation it branches to one group's mean or the other's. */
typedef struct {
    double *t, *proj; /* frames x particles */
    int frames, cap;
    size_t n;
    const double *center, *axis;
    sf_context *ctx;
    const sf_mixture *mix;
    const sf_schedule *schedule;
    double *denoised; /* n x d scratch */
} trajectory_log;

static sf_status log_frame(void *data, int step, double t, const double *x, size_t n, int d)
{
    (void)step;
    trajectory_log *lg = data;
    if (lg->frames >= lg->cap) return SF_OK;
    sf_time tm;
    sf_status st = sf_schedule_at(lg->schedule, t, &tm);
    sf_outputs o = {.denoise = lg->denoised};
    if (st == SF_OK) st = sf_evaluate(lg->ctx, lg->mix, &tm, x, n, &o);
    if (st != SF_OK) return st;
    lg->t[lg->frames] = t;
    for (size_t p = 0; p < n; p++) {
        double v = 0;
        for (int i = 0; i < d; i++) v += (lg->denoised[p * d + i] - lg->center[i]) * lg->axis[i];
        lg->proj[(size_t)lg->frames * n + p] = v;
    }
    lg->frames++;
    return SF_OK;
}

static int run(const options *o)
{
    sf_mixture *mix = NULL;
    sf_context *ctx = NULL;
    sf_status st;
    int status = SF_EXIT_OK;
    enum { NP = 241, NT = 4 };
    double *ystar = NULL, *axis = NULL, *r = NULL, *pts = NULL, *sc = NULL, *prof[NT] = {NULL};
    if (o->mixture_path) {
        if ((st = sf_mixture_read_json(&mix, o->mixture_path)) != SF_OK) return cli_library_error(st);
    } else {
        mix = cli_default_pair();
    }
    int d = sf_mixture_dim(mix), K = sf_mixture_count(mix), A[64], B[64], na = 1, nb = 0;
    A[0] = 0;
    for (int k = 1; k < K && nb < 64; k++) B[nb++] = k;
    if (o->split) {
        const char *end = "";
        na = cli_index_list("--split", o->split, (size_t)K, A, 64, &end);
        nb = na && *end == ':' ? cli_index_list("--split", end + 1, (size_t)K, B, 64, NULL) : 0;
        if (!na || !nb) {
            sf_mixture_destroy(mix);
            return na && *end != ':' ? cli_bad_input("option --split: '%s' is not A1,A2,...:B1,B2,...", o->split)
                                     : SF_EXIT_BAD_INPUT;
        }
    }
    if (K < 2 || nb < 1) {
        sf_mixture_destroy(mix);
        return cli_bad_input("%s: speciation needs at least two components", o->mixture_path ? o->mixture_path : "mixture");
    }
    const char *dir = o->out_dir ? o->out_dir : (o->demo ? "scorefield-demo" : "scorefield-speciation");
    static const char *const files[6] = {"profiles.csv", "profiles.svg", "curvature.csv", "curvature.svg",
                                         "trajectories.csv", "trajectories.svg"};
    if ((status = cli_outputs_folder(dir, files, 6)) != SF_EXIT_OK) { /* checked before any work */
        sf_mixture_destroy(mix);
        return status;
    }
    if ((st = sf_context_create(&ctx, o->backend, SF_PRECISION_F64, 0)) != SF_OK) {
        sf_mixture_destroy(mix);
        return cli_library_error(st);
    }

    /* 1. critical heat times */
    double tau_closed = NAN, tau_num = NAN, lambda = NAN;
    int symmetric = sf_speciation_tau_closed_form(mix, &tau_closed) == SF_OK;
    /* the isotropic symmetric pair has the closed-form width (s^2 + tau)/a and amplification */
    int iso = symmetric && sf_mixture_kind(mix, 0) == SF_COV_ISOTROPIC && sf_mixture_kind(mix, 1) == SF_COV_ISOTROPIC;
    st = sf_speciation_tau_numeric(ctx, mix, A, na, B, nb, 1e-4, 1e3, 1e-12, &tau_num);
    if (st != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    sf_data_covariance_top_eigenvalue(mix, &lambda);
    double kappa, top;
    ystar = malloc((size_t)d * sizeof(double)), axis = calloc((size_t)d, sizeof(double));
    r = malloc(NP * sizeof(double)), pts = malloc(NP * (size_t)d * sizeof(double)), sc = malloc(NP * (size_t)d * sizeof(double));
    for (int k = 0; k < NT; k++) prof[k] = malloc(NP * sizeof(double));
    if (!ystar || !axis || !r || !pts || !sc || !prof[NT - 1] || !prof[0] || !prof[1] || !prof[2]) {
        status = cli_failure("out of memory");
        goto done;
    }
    if ((st = sf_speciation_normal_curvature(ctx, mix, A, na, B, nb, tau_num, &kappa, &top, ystar)) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    /* the split's axis: from the mean of A to the mean of B */
    double norm = 0;
    for (int c = 0; c < 2; c++) {
        const int *set = c ? B : A;
        int count = c ? nb : na;
        double wsum = 0;
        for (int j = 0; j < count; j++) wsum += sf_mixture_weight(mix, set[j]);
        for (int j = 0; j < count; j++)
            for (int i = 0; i < d; i++) axis[i] += (c ? 1 : -1) * sf_mixture_weight(mix, set[j]) / wsum * sf_mixture_mean(mix, set[j])[i];
    }
    for (int i = 0; i < d; i++) norm += axis[i] * axis[i];
    for (int i = 0; i < d; i++) axis[i] /= sqrt(norm);
    double a = 0.5 * sqrt(norm); /* half the separation of the sub-mixture means */

    /* two isotropic components of one variance and unequal weights: a saddle-node (SPEC.md D); the
     * interface criterion then gives a^2 - s^2 whatever the weights, and the second mode appears later */
    double tau_sn = NAN;
    int below = -1, above = -1;
    if (K == 2 && na == 1 && nb == 1 && sf_mixture_kind(mix, 0) == SF_COV_ISOTROPIC &&
        sf_mixture_kind(mix, 1) == SF_COV_ISOTROPIC && sf_mixture_variances(mix, 0)[0] == sf_mixture_variances(mix, 1)[0] &&
        fabs(sf_mixture_weight(mix, 0) - 0.5) > 1e-12) {
        const double *m0 = sf_mixture_mean(mix, 0), *m1 = sf_mixture_mean(mix, 1);
        double sep = 0, s2v = sf_mixture_variances(mix, 0)[0];
        for (int i = 0; i < d; i++) sep += (m0[i] - m1[i]) * (m0[i] - m1[i]);
        sf_speciation_tau_asymmetric(sf_mixture_weight(mix, 0), 0.5 * sqrt(sep), s2v, &tau_sn);
        if (tau_sn > 0) {
            double *mid = malloc((size_t)d * sizeof(double)), *dirv = malloc((size_t)d * sizeof(double));
            if (mid && dirv) {
                for (int i = 0; i < d; i++) mid[i] = 0.5 * (m0[i] + m1[i]), dirv[i] = (m1[i] - m0[i]) / sqrt(sep);
                double v_c = s2v + tau_sn, L = 0.5 * sqrt(sep) + 8 * sqrt(v_c);
                sf_count_modes_on_line(ctx, mix, v_c * (1 - 1e-3) - s2v, mid, dirv, L, 200000, &below);
                sf_count_modes_on_line(ctx, mix, v_c * (1 + 1e-3) - s2v, mid, dirv, L, 200000, &above);
            }
            free(mid), free(dirv);
        }
    }
    int never = !isnan(tau_sn) && !(tau_sn > 0); /* the lighter group never forms its own mode */
    double tau_report = isnan(tau_sn) || never ? tau_num : tau_sn;
    printf("scorefield %s: %d components in d = %d, split {", o->demo ? "demo" : "speciation", K, d);
    for (int j = 0; j < na; j++) printf("%s%d", j ? "," : "", A[j]);
    printf("} vs {");
    for (int j = 0; j < nb; j++) printf("%s%d", j ? "," : "", B[j]);
    printf("}, half-separation a = %.4g\n", a);
    if (o->demo)
        printf("\nGeneration runs backwards in heat time tau = sigma^2/alpha^2. While tau is large the density\n"
               "has one basin; at the critical time tau_c a barrier appears between the two groups of\n"
               "components and every particle must choose a side: speciation (symmetry breaking).\n\n");
    if (isnan(tau_sn)) {
        printf("  critical heat time  tau_c = %.10g (from the field: top curvature at the interface changes sign)\n", tau_num);
    } else if (never) {
        printf("  no speciation       the weights are too unequal: the density stays unimodal at every tau (saddle-node)\n");
        printf("  interface criterion tau = %.10g (top curvature at log q_A = log q_B)\n", tau_num);
    } else {
        printf("  critical heat time  tau_c = %.10g (unequal weights: saddle-node, the second mode appears; mode count\n"
               "                      on the axis %d just below, %d just above)\n", tau_sn, below, above);
        printf("  interface criterion tau = %.10g (top curvature at log q_A = log q_B: not the speciation time here)\n", tau_num);
    }
    if (symmetric) printf("                      tau_c = %.10g (closed form: mu^T (C + tau I)^-1 mu = 1)\n", tau_closed);
    printf("  %s  ", never ? "t at that tau      " : "critical times t_c");
    for (int kind = 0; kind < 4; kind++) {
        sf_schedule s = sf_schedule_default((sf_schedule_kind)kind);
        double t;
        if (sf_schedule_t_of_tau(&s, tau_report, &t) == SF_OK && t >= 0 && t <= 1)
            printf("%s %.6f  ", sf_schedule_kind_name((sf_schedule_kind)kind), t);
    }
    printf("\n  Biroli et al.       t_s = ln(Lambda)/2 = %.6f (OU; Lambda = %.6g, top eigenvalue of the data covariance)\n",
           0.5 * log(lambda), lambda);
    /* 2. the layer: profiles of the normal score through the interface, tanh fits */
    static const double factors[NT] = {0.1, 1.0 / 3, 1, 3};
    double widths[NT], taus[NT];
    double R = 3 * fmax(a, 0.5);
    for (int q = 0; q < NP; q++) r[q] = -R + 2 * R * q / (NP - 1);
    printf("  tanh layer          tau/tau_c  fitted width  (s^2+tau)/a\n");
    double s2 = iso ? sf_mixture_variances(mix, 0)[0] : 0;
    for (int k = 0; k < NT; k++) {
        taus[k] = factors[k] * tau_num;
        sf_time t;
        sf_time_heat(taus[k], &t);
        double ys[64];
        sf_speciation_normal_curvature(ctx, mix, A, na, B, nb, taus[k], NULL, NULL, d <= 64 ? ys : NULL);
        for (int q = 0; q < NP; q++)
            for (int i = 0; i < d; i++) pts[(size_t)q * d + i] = (d <= 64 ? ys[i] : ystar[i]) + r[q] * axis[i];
        sf_outputs out = {.score = sc};
        if ((st = sf_evaluate(ctx, mix, &t, pts, NP, &out)) != SF_OK) {
            status = cli_library_error(st);
            goto done;
        }
        for (int q = 0; q < NP; q++) {
            double v = 0;
            for (int i = 0; i < d; i++) v += sc[(size_t)q * d + i] * axis[i];
            prof[k][q] = v;
        }
        double amp, rms;
        sf_fit_tanh_layer(r, prof[k], NP, 1e-3 * R, 10 * R, &widths[k], &amp, &rms);
        if (iso) printf("                      %-10.3g %-13.6g %.6g\n", factors[k], widths[k], (s2 + taus[k]) / a);
        else printf("                      %-10.3g %-13.6g n/a (not a symmetric isotropic pair)\n", factors[k], widths[k]);
    }
    if ((st = sf_write_profiles(dir, "profiles", "the score sharpens into a tanh layer (speciation)",
                                "distance r along the split axis", "normal score u_n", r, (const double *const *)prof,
                                factors, NT, NP)) != SF_OK) {
        status = cli_write_error(st);
        goto done;
    }

    /* 3. the interface curvature against tau */
    enum { NC = 80 };
    double ct[NC], cv[NC], ck[NC];
    for (int q = 0; q < NC; q++) {
        ct[q] = tau_num * pow(10, -1.5 + 3.0 * q / (NC - 1));
        sf_speciation_normal_curvature(ctx, mix, A, na, B, nb, ct[q], &ck[q], &cv[q], NULL);
    }
    {
        char path[4096];
        const double *cols[3] = {ct, cv, ck};
        const char *cnames[3] = {"tau", "top_curvature", "normal_curvature"};
        snprintf(path, sizeof path, "%s/curvature.csv", dir);
        if ((st = sf_csv_write(path, 3, cnames, cols, NC)) != SF_OK) {
            status = cli_write_error(st);
            goto done;
        }
        sf_series series[2] = {{ct, cv, NC, "top eigenvalue of H", NULL, 0, 0}, {ct, ck, NC, "n^T H n", NULL, 1, 0}};
        sf_plot plot = {"curvature of log q at the interface", "heat time tau", "curvature", 1, 0, 1, {tau_num}, {"tau_c"}};
        snprintf(path, sizeof path, "%s/curvature.svg", dir);
        sf_plot_svg(path, &plot, series, 2);
    }

    /* 4. error amplification across the layer, from 3 tau_c down to tau_c / 10 */
    double G, tau1 = 3 * tau_num, tau0 = 0.1 * tau_num;
    if ((st = sf_amplification_pf(ctx, mix, ystar, axis, tau1, tau0, 2000, 1e-7, &G)) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    printf("  amplification       G = %.6g across the layer (PF-ODE, tau %.3g -> %.3g)", G, tau1, tau0);
    if (iso) {
        double v0 = s2 + tau0, v1 = s2 + tau1;
        printf("; closed form %.6g", sqrt(v0 / v1) * exp(0.5 * a * a * (1 / v0 - 1 / v1)));
    }
    printf("\n");

    /* 5. trajectories: the reverse SDE on vp-linear, projected on the axis */
    {
        sf_schedule vp = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
        sf_sampler smp = sf_sampler_default(SF_SAMPLER_HEUN);
        smp.steps = (int)o->steps, smp.t1 = 1.0, smp.t0 = 0.01, smp.seed = o->seed;
        size_t n = o->n;
        sf_time start;
        sf_schedule_at(&vp, smp.t1, &start);
        double *x = malloc(n * (size_t)d * sizeof(double)), *center = calloc((size_t)d, sizeof(double));
        for (int i = 0; i < d; i++) center[i] = ystar[i]; /* the interface point at tau_c, in data units */
        int every = smp.steps / 100 > 0 ? smp.steps / 100 : 1, cap = smp.steps / every + 2;
        trajectory_log lg = {malloc((size_t)cap * sizeof(double)), malloc((size_t)cap * n * sizeof(double)), 0, cap, n,
                             center, axis, ctx, mix, &vp, malloc(n * (size_t)d * sizeof(double))};
        if ((st = sf_sample_marginal(mix, &start, o->seed, 0, x, n)) != SF_OK ||
            (st = sf_sample(ctx, mix, &vp, &smp, x, n, 0, log_frame, &lg, every)) != SF_OK) {
            status = cli_library_error(st);
            free(x), free(center), free(lg.t), free(lg.proj), free(lg.denoised);
            goto done;
        }
        double t_c;
        sf_schedule_t_of_tau(&vp, tau_num, &t_c);
        size_t on_a = 0;
        for (size_t p = 0; p < n; p++) on_a += lg.proj[(size_t)(lg.frames - 1) * n + p] < 0;
        printf("  trajectories        %zu particles, vp-linear probability-flow ODE (Heun) 1 -> 0.01 in %zu steps: %.3f end on side A\n",
               n, o->steps, (double)on_a / n);
        char path[4096];
        snprintf(path, sizeof path, "%s/trajectories.csv", dir);
        sf_staged *staged; /* through the run's output set (staging.h) */
        FILE *f;
        if ((st = sf_staged_open(&staged, path, &f)) == SF_OK) {
            fprintf(f, "particle,t,denoiser_projection\n");
            for (size_t p = 0; p < n; p++)
                for (int fr = 0; fr < lg.frames; fr++) fprintf(f, "%zu,%.8g,%.8g\n", p, lg.t[fr], lg.proj[(size_t)fr * n + p]);
            st = sf_staged_close(staged, 1);
        }
        if (st != SF_OK) status = cli_write_error(st);
        size_t shown = n < 150 ? n : 150;
        sf_series *series = malloc(shown * sizeof(sf_series));
        double **cols = malloc(shown * sizeof(double *));
        for (size_t p = 0; p < shown; p++) {
            cols[p] = malloc((size_t)lg.frames * sizeof(double));
            for (int fr = 0; fr < lg.frames; fr++) cols[p][fr] = lg.proj[(size_t)fr * n + p];
            series[p] = (sf_series){lg.t, cols[p], (size_t)lg.frames, NULL,
                                    cols[p][lg.frames - 1] < 0 ? "#1f77b4" : "#d62728", 0, 0};
        }
        sf_plot plot = {"each particle's E[x0 | x_t] chooses a side at speciation", "time t (vp-linear; generation runs right to left)",
                        "denoiser along the split axis", 0, 0, 1, {t_c}, {"t_c"}};
        snprintf(path, sizeof path, "%s/trajectories.svg", dir);
        sf_plot_svg(path, &plot, series, (int)shown);
        for (size_t p = 0; p < shown; p++) free(cols[p]);
        free(cols), free(series), free(x), free(center), free(lg.t), free(lg.proj), free(lg.denoised);
    }
    printf("  figures             %s/{profiles,curvature,trajectories}.svg (data in .csv beside them)\n", dir);
    if (o->demo)
        printf("\nprofiles.svg: the score across the interface sharpens into a tanh step as tau falls below tau_c;\n"
               "curvature.svg: the barrier appears where the curvature turns positive; trajectories.svg:\n"
               "every particle's best guess of its data point, E[x0 | x_t], sits at the common mean until t_c,\n"
               "then branches to one mode or the other.\n");
done:
    for (int k = 0; k < NT; k++) free(prof[k]);
    free(r), free(pts), free(sc), free(ystar), free(axis);
    sf_context_destroy(ctx);
    sf_mixture_destroy(mix);
    return status;
}

static int parse(int argc, char **argv, options *o, const char *name)
{
    cli_once once = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) {
            fputs(speciation_help, stdout);
            return -1;
        }
        if (!cli_first_use(&once, a)) return SF_EXIT_BAD_INPUT;
        size_t *count = !strcmp(a, "--n") ? &o->n : !strcmp(a, "--steps") ? &o->steps : !strcmp(a, "--seed") ? &o->seed : NULL;
        const char **text = !strcmp(a, "--mixture") ? &o->mixture_path : !strcmp(a, "--split") ? &o->split
                          : !strcmp(a, "--out-dir") ? &o->out_dir : NULL;
        size_t max = count == &o->n ? 100000 : count == &o->steps ? 1000000 : SIZE_MAX;
        if (count) { if (!(v = cli_value(argc, argv, &i)) || !cli_count(a, v, max, count)) return SF_EXIT_BAD_INPUT; }
        else if (!strcmp(a, "--quiet")) cli_set_quiet();
        else if (text) { if (!(*text = cli_value(argc, argv, &i))) return SF_EXIT_BAD_INPUT; }
        else if (!strcmp(a, "--backend")) { if (!(v = cli_value(argc, argv, &i)) || !cli_backend(v, &o->backend)) return SF_EXIT_BAD_INPUT; }
        else return cli_bad_input("%s: unknown option '%s' (see scorefield %s --help)", name, a, name);
    }
    if (o->n < 1 || o->steps < 10) return cli_bad_input("%s: need --n >= 1 and --steps >= 10", name);
    return SF_EXIT_OK;
}

int cmd_speciation(int argc, char **argv)
{
    options o = {NULL, NULL, NULL, 300, 400, 1, SF_BACKEND_AUTO, 0};
    int st = parse(argc, argv, &o, "speciation");
    return st < 0 ? SF_EXIT_OK : st ? st : run(&o);
}

int cmd_demo(int argc, char **argv)
{
    options o = {NULL, NULL, NULL, 300, 400, 1, SF_BACKEND_AUTO, 1};
    int st = parse(argc, argv, &o, "demo");
    return st < 0 ? SF_EXIT_OK : st ? st : run(&o);
}
