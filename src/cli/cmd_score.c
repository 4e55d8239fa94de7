/* scorefield score: evaluate the diffused mixture's fields at particles from a .npy file. */
#include "cli_io.h"
#include "commands.h"
#include "parse.h"
#include "npy_reader.h"
#include "progress.h"
#include "shard.h"
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
    "  --backend cpu|cuda|auto|reference   (default auto: CUDA when a device is present)\n"
    "  --precision f64|f32       GPU arithmetic (default f64; the CPU path is always f64)\n"
    "  --device N                CUDA device ordinal, 0 to 255 (default 0)\n"
    "  --batch B                 particles per batch, 1 to 1e8 (default 65536): the input is read and\n"
    "                            every output written in blocks of B rows, so memory stays flat in N;\n"
    "                            the results do not depend on B\n"
    "  --quiet                   nothing but errors\n"
    "Every output is written completely or not at all (see README, \"Outputs, errors and exit codes\").\n";

enum { OUT_SCORE, OUT_LOGP, OUT_DIV, OUT_RESP, OUT_DENOISE, OUT_LAP, OUT_HVP, OUT_HESSIAN, OUT_DT, OUT_DT_LOGP,
       OUT_DTAU, OUT_DTAU_LOGP, OUT_HVP_SCORE, N_OUT };

/* The mixture, declared as an input and checked against the time. */
static int load_mixture(const char *path, const sf_time *time, sf_mixture **mix)
{
    int status = cli_outputs_add_input("--mixture", path);
    if (status != SF_EXIT_OK) return status;
    sf_status st = sf_mixture_read_json(mix, path);
    if (st != SF_OK) return cli_library_error(st);
    if ((st = sf_mixture_check_time(*mix, time)) != SF_OK) {
        sfi_error_prefix(path);
        status = cli_library_error(st);
        sf_mixture_destroy(*mix);
        *mix = NULL;
    }
    return status;
}

/* A particles file read through in blocks of `batch` rows: shape (N, d) (or (N,) when d = 1), every
 * value of this rank's rows (all of them in a single process) finite. With rows_expected, N must
 * equal it; otherwise *rows receives N. */
static int check_particles_file(const char *path, int d, size_t batch, const size_t *rows_expected, size_t *rows)
{
    sf_npy_reader *r = NULL;
    int ndim, status = SF_EXIT_OK;
    size_t shape[SF_NPY_MAX_DIMS];
    sf_status st = sfi_npy_reader_open(&r, path, &ndim, shape);
    if (st != SF_OK) return cli_library_error(st);
    size_t n = shape[0];
    if (!(ndim == 2 && shape[1] == (size_t)d) && !(ndim == 1 && d == 1))
        status = rows_expected ? cli_bad_input("%s: directions must have the particles' shape (%zu, %d)", path, *rows_expected, d)
                               : cli_bad_input("%s: particles must have shape (N, %d) for this mixture (dim %d), got a %d-d array%s",
                                               path, d, d, ndim, ndim == 2 ? " with another width" : "");
    else if (rows_expected && n != *rows_expected)
        status = cli_bad_input("%s: directions must have the particles' shape (%zu, %d)", path, *rows_expected, d);
    size_t first = 0, mine = 0;
    if (status == SF_EXIT_OK) cli_shard_range(n, &first, &mine);
    if (status == SF_EXIT_OK && (st = sfi_npy_reader_skip(r, first * (size_t)d)) != SF_OK) status = cli_library_error(st);
    size_t rows_per = batch < n ? batch : (n ? n : 1);
    double *block = status == SF_EXIT_OK ? malloc(rows_per * (size_t)d * sizeof(double)) : NULL;
    if (status == SF_EXIT_OK && !block) status = cli_failure("out of memory for a batch of %zu particles (use a smaller --batch)", rows_per);
    for (size_t b0 = first; status == SF_EXIT_OK && b0 < first + mine; b0 += rows_per) {
        size_t nb = first + mine - b0 < rows_per ? first + mine - b0 : rows_per;
        if ((st = sfi_npy_reader_read(r, block, nb * (size_t)d)) != SF_OK) {
            status = cli_library_error(st);
            break;
        }
        for (size_t i = 0; status == SF_EXIT_OK && i < nb * (size_t)d; i++)
            if (!isfinite(block[i]))
                status = cli_bad_input("%s: particle %zu, coordinate %d is not finite (%g)", path, b0 + i / d, (int)(i % d), block[i]);
    }
    if (status == SF_EXIT_OK && mine == 0 && first == n && (st = sfi_npy_reader_read(r, block, 0)) != SF_OK)
        status = cli_library_error(st);
    free(block);
    sfi_npy_reader_close(r);
    if (rows) *rows = n;
    return status;
}

int cmd_score(int argc, char **argv)
{
    const char *mixture_path = NULL, *in_path = NULL, *dir_path = NULL;
    cli_output outs[N_OUT] = {{.flag = "--out"}, {.flag = "--logp"}, {.flag = "--div"}, {.flag = "--resp"}, {.flag = "--denoise"}, {.flag = "--lap"}, {.flag = "--hvp"},
                              {.flag = "--hessian"}, {.flag = "--dt"}, {.flag = "--dt-logp"}, {.flag = "--dtau"}, {.flag = "--dtau-logp"}, {.flag = "--hvp-score"}};
    sf_backend backend = SF_BACKEND_AUTO;
    sf_precision precision = SF_PRECISION_F64;
    size_t device = 0, batch = 65536;
    cli_time ct;
    cli_time_init(&ct);

    cli_time_and_outputs extra = {&ct, outs, N_OUT};
    const cli_option table[] = {{"--mixture", CLI_TEXT, &mixture_path, 0}, {"--in", CLI_TEXT, &in_path, 0}, {"--hvp-dir", CLI_TEXT, &dir_path, 0},
                                {"--backend", CLI_BACKEND, &backend, 0}, {"--precision", CLI_PRECISION, &precision, 0},
                                {"--device", CLI_COUNT, &device, 255}, {"--batch", CLI_COUNT, &batch, 100000000},
                                {NULL, CLI_FLAG, NULL, 0}};
    CLI_PARSE_OR_RETURN(cli_parse("score", score_help, cli_time_help, table, argc, argv, cli_time_and_outputs_extra, &extra, NULL));
    if (!mixture_path) return cli_bad_input("score: --mixture M.json is required");
    if (!in_path) return cli_bad_input("score: --in X.npy is required");
    if (!outs[OUT_SCORE].path) return cli_bad_input("score: --out S.npy is required");
    if (!outs[OUT_HVP].path != !dir_path) return cli_bad_input("score: --hvp and --hvp-dir go together");
    if (!batch) return cli_bad_input("option --batch: must be >= 1");
    sf_time time;
    if (!cli_time_resolve(&ct, &time)) return SF_EXIT_BAD_INPUT;
    if ((outs[OUT_DT].path || outs[OUT_DT_LOGP].path) && !time.has_time_derivatives)
        return cli_bad_input("score: --dt and --dt-logp need --schedule and --t (a direct --alpha, --sigma pair has no "
                             "time axis; --dtau works for it)");

    sf_mixture *mix = NULL;
    sf_context *ctx = NULL;
    sf_plan *plan = NULL;
    sf_npy_reader *in = NULL, *dir_in = NULL;
    double *xb = NULL, *db = NULL, *logp_own = NULL;
    size_t n = 0;
    int status = load_mixture(mixture_path, &time, &mix);
    if (status != SF_EXIT_OK) return status;
    int d = sf_mixture_dim(mix), K = sf_mixture_count(mix);
    sf_status st;
    /* the particles (and directions) checked in blocks before any output exists */
    if ((status = cli_outputs_add_input("--in", in_path)) != SF_EXIT_OK ||
        (status = check_particles_file(in_path, d, batch, NULL, &n)) != SF_EXIT_OK)
        goto done;
    if (dir_path && ((status = cli_outputs_add_input("--hvp-dir", dir_path)) != SF_EXIT_OK ||
                     (status = check_particles_file(dir_path, d, batch, &n, NULL)) != SF_EXIT_OK))
        goto done;
    size_t dims[N_OUT][3] = {{n, d}, {n}, {n}, {n, K}, {n, d}, {n, d}, {n, d}, {n, d, d}, {n, d}, {n}, {n, d}, {n}, {n, d}};
    for (int o = 0; o < N_OUT; o++) {
        outs[o].ndim = dims[o][2] ? 3 : dims[o][1] ? 2 : 1, outs[o].sharded = 1;
        memcpy(outs[o].shape, dims[o], sizeof dims[o]);
    }
    size_t rows = batch < n ? batch : (n ? n : 1), first, mine; /* this rank's particles: [first, first + mine) */
    cli_shard_range(n, &first, &mine);
    if ((status = cli_prepare_outputs(outs, N_OUT)) != SF_EXIT_OK) goto done; /* before any work */
    if ((status = cli_open_batched_outputs(outs, N_OUT, rows)) != SF_EXIT_OK) goto done;
    xb = malloc(rows * (size_t)d * sizeof(double)), logp_own = malloc(rows * sizeof(double));
    if (dir_path) db = malloc(rows * (size_t)d * sizeof(double));
    if (!xb || !logp_own || (dir_path && !db)) {
        status = cli_failure("out of memory for a batch of %zu particles (use a smaller --batch)", rows);
        goto done;
    }
    sf_outputs out = {.score = outs[OUT_SCORE].data, .logp = outs[OUT_LOGP].data ? outs[OUT_LOGP].data : logp_own,
                      .div = outs[OUT_DIV].data, .resp = outs[OUT_RESP].data, .denoise = outs[OUT_DENOISE].data,
                      .lap = outs[OUT_LAP].data, .hvp = outs[OUT_HVP].data, .hvp_dir = db,
                      .hessian = outs[OUT_HESSIAN].data, .dt_score = outs[OUT_DT].data, .dt_logp = outs[OUT_DT_LOGP].data,
                      .dtau_score = outs[OUT_DTAU].data, .dtau_logp = outs[OUT_DTAU_LOGP].data,
                      .hvp_score = outs[OUT_HVP_SCORE].data};
    if ((st = sf_context_create(&ctx, backend, precision, cli_shard_device((int)device))) != SF_OK ||
        (st = sf_plan_create(&plan, ctx, mix, &time)) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    int ndim;
    size_t shape[SF_NPY_MAX_DIMS];
    if ((st = sfi_npy_reader_open(&in, in_path, &ndim, shape)) != SF_OK || (st = sfi_npy_reader_skip(in, first * (size_t)d)) != SF_OK ||
        (dir_path && ((st = sfi_npy_reader_open(&dir_in, dir_path, &ndim, shape)) != SF_OK ||
                      (st = sfi_npy_reader_skip(dir_in, first * (size_t)d)) != SF_OK))) {
        status = cli_library_error(st);
        goto done;
    }
    cli_stats s_logp, s_score, s_div, s_den, s_lap, s_dt;
    cli_stats_init(&s_logp), cli_stats_init(&s_score), cli_stats_init(&s_div), cli_stats_init(&s_den);
    cli_stats_init(&s_lap), cli_stats_init(&s_dt);
    cli_progress progress;
    cli_progress_start(&progress, "score", (double)mine);
    double compute = 0;
    for (size_t b0 = 0; b0 < mine; b0 += rows) {
        size_t nb = mine - b0 < rows ? mine - b0 : rows;
        if ((st = sfi_npy_reader_read(in, xb, nb * (size_t)d)) != SF_OK ||
            (dir_in && (st = sfi_npy_reader_read(dir_in, db, nb * (size_t)d)) != SF_OK)) {
            status = cli_library_error(st);
            goto done;
        }
        double t_start = cli_seconds();
        if ((st = sf_plan_evaluate(plan, xb, nb, &out)) != SF_OK) {
            status = cli_library_error(st);
            goto done;
        }
        compute += cli_seconds() - t_start;
        if ((status = cli_append_outputs(outs, N_OUT, nb, first + b0)) != SF_EXIT_OK) goto done;
        cli_stats_add(&s_logp, out.logp, nb, 1), cli_stats_add(&s_score, out.score, nb, (size_t)d);
        if (out.div) cli_stats_add(&s_div, out.div, nb, 1);
        if (out.denoise) cli_stats_add(&s_den, out.denoise, nb, (size_t)d);
        if (out.lap) cli_stats_add(&s_lap, out.lap, nb, (size_t)d);
        if (out.dt_score) cli_stats_add(&s_dt, out.dt_score, nb, (size_t)d);
        cli_progress_update(&progress, (double)(b0 + nb));
    }
    if ((status = cli_close_batched_outputs(outs, N_OUT)) != SF_EXIT_OK) goto done;
    cli_stats all[6] = {s_logp, s_score, s_div, s_den, s_lap, s_dt};
    if ((status = cli_stats_reduce(SF_EXIT_OK, all, 6)) != SF_EXIT_OK || (status = cli_shard_max(status, &compute, 1)) != SF_EXIT_OK)
        goto done;
    s_logp = all[0], s_score = all[1], s_div = all[2], s_den = all[3], s_lap = all[4], s_dt = all[5];
    {
        sf_backend used = sf_context_backend(ctx);
        int cuda = used == SF_BACKEND_CUDA;
        printf("scorefield score: %zu particles, d = %d, K = %d components, batches of %zu\n", n, d, K, rows);
        cli_shard_print_ranks(n, "particles");
        if (time.has_time_derivatives)
            printf("  time       %s t = %g: alpha = %.6g, sigma = %.6g, heat time tau = %.6g\n",
                   sf_schedule_kind_name(ct.schedule.kind), time.t, time.alpha, time.sigma, time.tau);
        else
            printf("  time       alpha = %.6g, sigma = %.6g, heat time tau = %.6g\n", time.alpha, time.sigma, time.tau);
        printf("  backend    %s (%s), %.3g s, %.3g particles/s\n", sf_backend_name(used),
               cuda && precision == SF_PRECISION_F32 ? "float32" : "float64", compute, n / fmax(compute, 1e-9));
        cli_stats_print("log p", &s_logp);
        cli_stats_print("|score|", &s_score);
        if (out.div) cli_stats_print("div score", &s_div);
        if (out.denoise) cli_stats_print("|E[x0|x]|", &s_den);
        if (out.lap) cli_stats_print("|Lap s|", &s_lap);
        if (out.dt_score) cli_stats_print("|ds/dt|", &s_dt);
        for (int o = 0; o < N_OUT; o++) {
            if (!outs[o].path) continue;
            printf("  wrote      %s (%zu", outs[o].path, outs[o].shape[0]);
            for (int a = 1; a < outs[o].ndim; a++) printf(" x %zu", outs[o].shape[a]);
            printf(")\n");
        }
    }
done:
    cli_free_outputs(outs, N_OUT);
    free(logp_own), free(xb), free(db);
    sfi_npy_reader_close(in);
    sfi_npy_reader_close(dir_in);
    sf_plan_destroy(plan);
    sf_context_destroy(ctx);
    sf_mixture_destroy(mix);
    return status;
}
