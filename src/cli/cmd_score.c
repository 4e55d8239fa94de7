/* scorefield score: evaluate the diffused mixture's fields at particles from a .npy file. */
#include "cli_io.h"
#include "commands.h"
#include "status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char score_help[] =
    "usage: scorefield score --mixture M.json <time> --in X.npy --out S.npy [outputs] [options]\n"
    "Evaluates the score grad log p_t of the mixture diffused to the given time at the particles\n"
    "X (N x d, float64 or float32 .npy) and writes float64 .npy files.\n"
    "outputs:\n"
    "  --out S.npy        score, N x d (required)\n"
    "  --logp L.npy       log p_t, N\n"
    "  --div D.npy        divergence of the score, N\n"
    "  --resp R.npy       responsibilities (component posteriors), N x K\n"
    "  --denoise E.npy    denoiser E[x_0 | x_t = x], N x d\n"
    "  --lap L.npy        vector Laplacian of the score, N x d\n"
    "  --hvp HV.npy       Hessian of log p_t times the directions of --hvp-dir V.npy (N x d), N x d\n"
    "  --hvp-score HS.npy H s = (s . grad) s, the Burgers nonlinearity, N x d\n"
    "  --hessian H.npy    full Hessian, N x d x d (memory N d^2: for small d)\n"
    "  --dt DT.npy        d s/dt at fixed x (needs --schedule), N x d; --dt-logp: d log p/dt, N\n"
    "  --dtau DU.npy      d u/d tau in heat coordinates y = x/alpha, N x d; --dtau-logp: N\n"
    "options:\n"
    "  --backend cpu|cuda|auto   (default auto: CUDA when a device is present)\n"
    "  --precision f64|f32       GPU arithmetic (default f64; the CPU path is always f64)\n"
    "  --device N                CUDA device ordinal, 0 to 255 (default 0)\n"
    "  --quiet                   nothing but errors\n"
    "Every output is written completely or not at all (see README, \"Outputs, errors and exit codes\").\n";

enum { OUT_SCORE, OUT_LOGP, OUT_DIV, OUT_RESP, OUT_DENOISE, OUT_LAP, OUT_HVP, OUT_HESSIAN, OUT_DT, OUT_DT_LOGP,
       OUT_DTAU, OUT_DTAU_LOGP, OUT_HVP_SCORE, N_OUT };

int cmd_score(int argc, char **argv)
{
    const char *mixture_path = NULL, *in_path = NULL, *dir_path = NULL;
    cli_output outs[N_OUT] = {{.flag = "--out"}, {.flag = "--logp"}, {.flag = "--div"}, {.flag = "--resp"}, {.flag = "--denoise"}, {.flag = "--lap"}, {.flag = "--hvp"},
                              {.flag = "--hessian"}, {.flag = "--dt"}, {.flag = "--dt-logp"}, {.flag = "--dtau"}, {.flag = "--dtau-logp"}, {.flag = "--hvp-score"}};
    sf_backend backend = SF_BACKEND_AUTO;
    sf_precision precision = SF_PRECISION_F64;
    size_t device = 0;
    cli_once once = {0};
    cli_time ct;
    cli_time_init(&ct);

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) {
            fputs(score_help, stdout);
            fputs(cli_time_help, stdout);
            return SF_EXIT_OK;
        }
        if (!cli_first_use(&once, a)) return SF_EXIT_BAD_INPUT;
        int t = cli_time_option(&ct, argc, argv, &i);
        if (t == 0) t = cli_output_option(outs, N_OUT, argc, argv, &i);
        if (t < 0) return SF_EXIT_BAD_INPUT;
        if (t > 0) continue;
        if (strcmp(a, "--quiet") == 0) cli_set_quiet();
        else if (strcmp(a, "--mixture") == 0) { if (!(mixture_path = cli_value(argc, argv, &i))) return SF_EXIT_BAD_INPUT; }
        else if (strcmp(a, "--in") == 0) { if (!(in_path = cli_value(argc, argv, &i))) return SF_EXIT_BAD_INPUT; }
        else if (strcmp(a, "--hvp-dir") == 0) { if (!(dir_path = cli_value(argc, argv, &i))) return SF_EXIT_BAD_INPUT; }
        else if (strcmp(a, "--backend") == 0) { if (!(v = cli_value(argc, argv, &i)) || !cli_backend(v, &backend)) return SF_EXIT_BAD_INPUT; }
        else if (strcmp(a, "--precision") == 0) { if (!(v = cli_value(argc, argv, &i)) || !cli_precision(v, &precision)) return SF_EXIT_BAD_INPUT; }
        else if (strcmp(a, "--device") == 0) { if (!(v = cli_value(argc, argv, &i)) || !cli_count(a, v, 255, &device)) return SF_EXIT_BAD_INPUT; }
        else return cli_bad_input("score: unknown option '%s' (see scorefield score --help)", a);
    }
    if (!mixture_path) return cli_bad_input("score: --mixture M.json is required");
    if (!in_path) return cli_bad_input("score: --in X.npy is required");
    if (!outs[OUT_SCORE].path) return cli_bad_input("score: --out S.npy is required");
    if (!outs[OUT_HVP].path != !dir_path) return cli_bad_input("score: --hvp and --hvp-dir go together");
    sf_time time;
    if (!cli_time_resolve(&ct, &time)) return SF_EXIT_BAD_INPUT;
    if ((outs[OUT_DT].path || outs[OUT_DT_LOGP].path) && !time.has_time_derivatives)
        return cli_bad_input("score: --dt and --dt-logp need --schedule and --t (a direct --alpha, --sigma pair has no "
                             "time axis; --dtau works for it)");

    sf_mixture *mix = NULL;
    sf_context *ctx = NULL;
    sf_array x = {0}, dirs = {0};
    double *logp_own = NULL;
    int status = cli_load_inputs(mixture_path, in_path, &time, &mix, &x);
    if (status != SF_EXIT_OK) return status;
    int d = sf_mixture_dim(mix), K = sf_mixture_count(mix);
    size_t n = x.shape[0];
    sf_status st;
    if (dir_path) {
        if ((status = cli_outputs_add_input("--hvp-dir", dir_path)) != SF_EXIT_OK) goto done;
        if ((st = sf_npy_read(dir_path, &dirs)) != SF_OK) {
            status = cli_library_error(st);
            goto done;
        }
        if (sf_array_size(&dirs) != n * (size_t)d || dirs.shape[0] != n) {
            status = cli_bad_input("%s: directions must have the particles' shape (%zu, %d)", dir_path, n, d);
            goto done;
        }
        if ((st = sf_particles_check(dirs.data, n, d)) != SF_OK) {
            sf_error_prefix(dir_path);
            status = cli_library_error(st);
            goto done;
        }
    }
    size_t dims[N_OUT][3] = {{n, d}, {n}, {n}, {n, K}, {n, d}, {n, d}, {n, d}, {n, d, d}, {n, d}, {n}, {n, d}, {n}, {n, d}};
    for (int o = 0; o < N_OUT; o++) {
        outs[o].ndim = dims[o][2] ? 3 : dims[o][1] ? 2 : 1;
        memcpy(outs[o].shape, dims[o], sizeof dims[o]);
    }
    if ((status = cli_prepare_outputs(outs, N_OUT)) != SF_EXIT_OK) goto done; /* before any work */
    if ((status = cli_allocate_outputs(outs, N_OUT)) != SF_EXIT_OK) goto done;
    if (!outs[OUT_LOGP].data && !(logp_own = malloc((n ? n : 1) * sizeof(double)))) {
        status = cli_failure("out of memory for %zu particles", n);
        goto done;
    }
    sf_outputs out = {.score = outs[OUT_SCORE].data, .logp = outs[OUT_LOGP].data ? outs[OUT_LOGP].data : logp_own,
                      .div = outs[OUT_DIV].data, .resp = outs[OUT_RESP].data, .denoise = outs[OUT_DENOISE].data,
                      .lap = outs[OUT_LAP].data, .hvp = outs[OUT_HVP].data, .hvp_dir = dirs.data,
                      .hessian = outs[OUT_HESSIAN].data, .dt_score = outs[OUT_DT].data, .dt_logp = outs[OUT_DT_LOGP].data,
                      .dtau_score = outs[OUT_DTAU].data, .dtau_logp = outs[OUT_DTAU_LOGP].data,
                      .hvp_score = outs[OUT_HVP_SCORE].data};

    if ((st = sf_context_create(&ctx, backend, precision, (int)device)) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    double t0 = cli_seconds();
    if ((st = sf_evaluate(ctx, mix, &time, x.data, n, &out)) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    double elapsed = cli_seconds() - t0;
    if ((status = cli_write_outputs(outs, N_OUT)) != SF_EXIT_OK) goto done;
    {
        sf_backend used = sf_context_backend(ctx);
        int cuda = used == SF_BACKEND_CUDA;
        printf("scorefield score: %zu particles, d = %d, K = %d components\n", n, d, K);
        if (time.has_time_derivatives)
            printf("  time       %s t = %g: alpha = %.6g, sigma = %.6g, heat time tau = %.6g\n",
                   sf_schedule_kind_name(ct.schedule.kind), time.t, time.alpha, time.sigma, time.tau);
        else
            printf("  time       alpha = %.6g, sigma = %.6g, heat time tau = %.6g\n", time.alpha, time.sigma, time.tau);
        printf("  backend    %s (%s), %.3g s, %.3g particles/s\n", sf_backend_name(used),
               cuda && precision == SF_PRECISION_F32 ? "float32" : "float64", elapsed, n / fmax(elapsed, 1e-9));
        cli_print_stats("log p", out.logp, n, 1);
        cli_print_stats("|score|", out.score, n, (size_t)d);
        if (out.div) cli_print_stats("div score", out.div, n, 1);
        if (out.denoise) cli_print_stats("|E[x0|x]|", out.denoise, n, (size_t)d);
        if (out.lap) cli_print_stats("|Lap s|", out.lap, n, (size_t)d);
        if (out.dt_score) cli_print_stats("|ds/dt|", out.dt_score, n, (size_t)d);
        for (int o = 0; o < N_OUT; o++) {
            if (!outs[o].path) continue;
            printf("  wrote      %s (%zu", outs[o].path, outs[o].shape[0]);
            for (int a = 1; a < outs[o].ndim; a++) printf(" x %zu", outs[o].shape[a]);
            printf(")\n");
        }
    }
done:
    cli_free_outputs(outs, N_OUT);
    free(logp_own);
    sf_array_free(&x);
    sf_array_free(&dirs);
    sf_context_destroy(ctx);
    sf_mixture_destroy(mix);
    return status;
}
