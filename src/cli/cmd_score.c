/* scorefield score: evaluate the diffused mixture's fields at particles from a .npy file. */
#include "commands.h"
#include "options.h"
#include "status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char score_help[] =
    "usage: scorefield score --mixture M.json <time> --in X.npy --out S.npy [outputs] [options]\n"
    "Evaluates the score grad log p_t of the mixture diffused to the given time at the particles\n"
    "X (N x d, float64 or float32 .npy) and writes float64 .npy files.\n"
    "outputs:\n"
    "  --out S.npy       score, N x d (required)\n"
    "  --logp L.npy      log p_t, N\n"
    "  --div D.npy       divergence of the score, N\n"
    "  --resp R.npy      responsibilities (component posteriors), N x K\n"
    "  --denoise E.npy   denoiser E[x_0 | x_t = x], N x d\n"
    "options:\n"
    "  --backend cpu|cuda|auto   (default auto: CUDA when a device is present)\n"
    "  --precision f64|f32       GPU arithmetic (default f64; the CPU path is always f64)\n"
    "  --device N                CUDA device ordinal (default 0)\n"
    "  --quiet                   no summary on stdout\n";

typedef struct {
    const char *flag, *path;
    double *data;
    int ndim;
    size_t shape[2];
} output_file;

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void print_summary(const char *what, const double *v, size_t n, size_t stride)
{
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    for (size_t i = 0; i < n; i++) {
        double x = 0;
        if (stride == 1) x = v[i];
        else
            for (size_t j = 0; j < stride; j++) x += v[i * stride + j] * v[i * stride + j];
        if (stride != 1) x = sqrt(x);
        lo = fmin(lo, x);
        hi = fmax(hi, x);
        sum += x;
    }
    printf("  %-10s mean %-12.6g min %-12.6g max %.6g\n", what, n ? sum / n : 0.0, lo, hi);
}

int cmd_score(int argc, char **argv)
{
    const char *mixture_path = NULL, *in_path = NULL;
    output_file outs[] = {{"--out", NULL, NULL, 2, {0}}, {"--logp", NULL, NULL, 1, {0}},
                          {"--div", NULL, NULL, 1, {0}}, {"--resp", NULL, NULL, 2, {0}},
                          {"--denoise", NULL, NULL, 2, {0}}};
    enum { N_OUT = sizeof outs / sizeof outs[0] };
    sf_backend backend = SF_BACKEND_AUTO;
    sf_precision precision = SF_PRECISION_F64;
    size_t device = 0;
    int quiet = 0;
    cli_time ct;
    cli_time_init(&ct);

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) {
            fputs(score_help, stdout);
            fputs(cli_time_help, stdout);
            return SF_EXIT_OK;
        }
        int t = cli_time_option(&ct, argc, argv, &i);
        if (t < 0) return SF_EXIT_BAD_INPUT;
        if (t > 0) continue;
        int matched = 0;
        for (int o = 0; o < N_OUT && !matched; o++)
            if (strcmp(a, outs[o].flag) == 0) {
                if (!(outs[o].path = cli_value(argc, argv, &i))) return SF_EXIT_BAD_INPUT;
                matched = 1;
            }
        if (matched) continue;
        if (strcmp(a, "--quiet") == 0) quiet = 1;
        else if (strcmp(a, "--mixture") == 0) { if (!(mixture_path = cli_value(argc, argv, &i))) return SF_EXIT_BAD_INPUT; }
        else if (strcmp(a, "--in") == 0) { if (!(in_path = cli_value(argc, argv, &i))) return SF_EXIT_BAD_INPUT; }
        else if (strcmp(a, "--backend") == 0) { if (!(v = cli_value(argc, argv, &i)) || !cli_backend(v, &backend)) return SF_EXIT_BAD_INPUT; }
        else if (strcmp(a, "--precision") == 0) { if (!(v = cli_value(argc, argv, &i)) || !cli_precision(v, &precision)) return SF_EXIT_BAD_INPUT; }
        else if (strcmp(a, "--device") == 0) { if (!(v = cli_value(argc, argv, &i)) || !cli_size(a, v, &device)) return SF_EXIT_BAD_INPUT; }
        else return cli_bad_input("score: unknown option '%s' (see scorefield score --help)", a);
    }
    if (!mixture_path) return cli_bad_input("score: --mixture M.json is required");
    if (!in_path) return cli_bad_input("score: --in X.npy is required");
    if (!outs[0].path) return cli_bad_input("score: --out S.npy is required");
    sf_time time;
    if (!cli_time_resolve(&ct, &time)) return SF_EXIT_BAD_INPUT;

    int status = SF_EXIT_OK;
    sf_mixture *mix = NULL;
    sf_context *ctx = NULL;
    sf_array x = {0};
    double *logp_own = NULL;
    sf_status st = sf_mixture_read_json(&mix, mixture_path);
    if (st != SF_OK) return cli_library_error(st);
    int d = sf_mixture_dim(mix), K = sf_mixture_count(mix);
    if ((st = sf_npy_read(in_path, &x)) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    size_t n = x.ndim >= 1 ? x.shape[0] : 0;
    if (!(x.ndim == 2 && x.shape[1] == (size_t)d) && !(x.ndim == 1 && d == 1)) {
        status = cli_bad_input("%s: particles must have shape (N, %d) for this mixture (dim %d), got a %d-d array%s",
                               in_path, d, d, x.ndim, x.ndim == 2 ? " with another width" : "");
        goto done;
    }

    if ((st = sf_mixture_check_time(mix, &time)) != SF_OK) {
        sf_error_prefix(mixture_path);
        status = cli_library_error(st);
        goto done;
    }
    if ((st = sf_particles_check(x.data, n, d)) != SF_OK) {
        sf_error_prefix(in_path);
        status = cli_library_error(st);
        goto done;
    }

    sf_outputs out = {0};
    size_t rows[N_OUT][2] = {{n, (size_t)d}, {n, 1}, {n, 1}, {n, (size_t)K}, {n, (size_t)d}};
    for (int o = 0; o < N_OUT; o++) {
        outs[o].shape[0] = rows[o][0];
        outs[o].shape[1] = rows[o][1];
        if (outs[o].path && !(outs[o].data = malloc((n ? n : 1) * rows[o][1] * sizeof(double)))) {
            status = cli_bad_input("out of memory for %zu particles", n);
            goto done;
        }
    }
    out.score = outs[0].data;
    out.logp = outs[1].data ? outs[1].data : (logp_own = malloc((n ? n : 1) * sizeof(double)));
    out.div = outs[2].data;
    out.resp = outs[3].data;
    out.denoise = outs[4].data;

    if ((st = sf_context_create(&ctx, backend, precision, (int)device)) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    double t0 = seconds_now();
    if ((st = sf_evaluate(ctx, mix, &time, x.data, n, &out)) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    double elapsed = seconds_now() - t0;

    /* Write every output; if one fails, remove those already written so nothing partial is left. */
    for (int o = 0; o < N_OUT; o++) {
        if (!outs[o].path) continue;
        if ((st = sf_npy_write(outs[o].path, outs[o].data, outs[o].ndim, outs[o].shape, SF_DTYPE_F64)) != SF_OK) {
            status = cli_library_error(st);
            for (int p = 0; p < o; p++)
                if (outs[p].path) remove(outs[p].path);
            goto done;
        }
    }
    if (!quiet) {
        int cuda = sf_context_backend(ctx) == SF_BACKEND_CUDA;
        printf("scorefield score: %zu particles, d = %d, K = %d components\n", n, d, K);
        if (time.has_time_derivatives)
            printf("  time       %s t = %g: alpha = %.6g, sigma = %.6g, heat time tau = %.6g\n",
                   sf_schedule_kind_name(ct.schedule.kind), time.t, time.alpha, time.sigma, time.tau);
        else
            printf("  time       alpha = %.6g, sigma = %.6g, heat time tau = %.6g\n", time.alpha, time.sigma, time.tau);
        printf("  backend    %s (%s), %.3g s, %.3g particles/s\n", cuda ? "cuda" : "cpu",
               cuda && precision == SF_PRECISION_F32 ? "float32" : "float64", elapsed, n / fmax(elapsed, 1e-9));
        print_summary("log p", out.logp, n, 1);
        print_summary("|score|", out.score, n, (size_t)d);
        if (out.div) print_summary("div score", out.div, n, 1);
        if (out.denoise) print_summary("|E[x0|x]|", out.denoise, n, (size_t)d);
        for (int o = 0; o < N_OUT; o++)
            if (outs[o].path && outs[o].ndim == 1) printf("  wrote      %s (%zu)\n", outs[o].path, outs[o].shape[0]);
            else if (outs[o].path) printf("  wrote      %s (%zu x %zu)\n", outs[o].path, outs[o].shape[0], outs[o].shape[1]);
    }
done:
    for (int o = 0; o < N_OUT; o++) free(outs[o].data);
    free(logp_own);
    sf_array_free(&x);
    sf_context_destroy(ctx);
    sf_mixture_destroy(mix);
    return status;
}
