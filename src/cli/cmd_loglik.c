/* scorefield loglik: log p_{t0} of points by the probability-flow ODE (instantaneous change of
 * variables, adaptive Dormand-Prince), checked against the mixture's exact log p_{t0}. */
#include "cli_io.h"
#include "commands.h"
#include "parse.h"
#include "progress.h"
#include "shard.h"
#include "status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Points per call of the ODE solver (each block takes its own adaptive steps). */
#define LOGLIK_BLOCK 4096
#define TEXT_OF(x) #x
#define TEXT(x) TEXT_OF(x)

static const char loglik_help[] =
    "usage: scorefield loglik --mixture M.json --schedule S --t0 T0 --in X.npy --out L.npy\n"
    "                         [--t1 T1] [--rtol R] [--atol A] [--backend cpu|cuda|auto|reference] [--quiet]\n"
    "Integrates dx/dt = f x - g^2 s / 2 from t0 to t1 (default 1; vp-cosine 0.995) with\n"
    "d l/dt = f d - g^2 div s / 2 (the exact divergence), adaptive Dormand-Prince 5(4) with local\n"
    "error below atol + rtol |y| (defaults 1e-8, 1e-8), and adds the exact log p_{t1}: log p_{t0}(x).\n"
    "Points are integrated in blocks of " TEXT(LOGLIK_BLOCK) ", each with its own steps; progress on stderr after 2 s.\n"
    "Prints the mean and the largest difference from the mixture's exact log p_{t0}.\n"
    "WKB (docs/analyses.md; Gaussian data: a mixture of one isotropic or diagonal component):\n"
    "  --wkb L1.npy --model-scale C [--model-shift B]  for the score model s_theta = C s + B (B a number\n"
    "  added to every coordinate) writes the first-order coefficient l_1(x) of log q^h = log q^0 + h^2 l_1,\n"
    "  and prints the model's probability-flow log-likelihood log q^0.\n";

int cmd_loglik(int argc, char **argv)
{
    const char *mixture_path = NULL, *in_path = NULL, *out_path = NULL, *wkb_path = NULL;
    double t0 = NAN, t1 = NAN, rtol = 1e-8, atol = 1e-8, model_scale = 1.0, model_shift = 0.0;
    sf_backend backend = SF_BACKEND_AUTO;
    cli_time ct;
    cli_time_init(&ct);
    const cli_option table[] = {{"--mixture", CLI_TEXT, &mixture_path, 0}, {"--in", CLI_TEXT, &in_path, 0}, {"--out", CLI_TEXT, &out_path, 0},
                                {"--wkb", CLI_TEXT, &wkb_path, 0}, {"--t0", CLI_NUMBER, &t0, 0}, {"--t1", CLI_NUMBER, &t1, 0},
                                {"--rtol", CLI_NUMBER, &rtol, 0}, {"--atol", CLI_NUMBER, &atol, 0},
                                {"--model-scale", CLI_NUMBER, &model_scale, 0}, {"--model-shift", CLI_NUMBER, &model_shift, 0},
                                {"--backend", CLI_BACKEND, &backend, 0},
                                {NULL, CLI_FLAG, NULL, 0}};
    CLI_PARSE_OR_RETURN(cli_parse("loglik", loglik_help, NULL, table, argc, argv, interval_time_extra, &ct, NULL));
    if (!mixture_path || !in_path || !out_path || !ct.have_schedule || isnan(t0))
        return cli_bad_input("loglik: --mixture, --schedule, --t0, --in and --out are required");
    if (isnan(t1)) t1 = ct.schedule.kind == SF_SCHEDULE_VP_COSINE ? 0.995 : 1.0;
    sf_time at0;
    if (sf_schedule_at(&ct.schedule, t0, &at0) != SF_OK) return cli_bad_input("option --t0: %s", sf_last_error());
    sf_mixture *mix = NULL;
    sf_context *ctx = NULL;
    sf_array x = {0};
    double *exact = NULL;
    size_t n_all = 0;
    cli_shard_set_granule(LOGLIK_BLOCK); /* every rank's blocks are a single process's blocks */
    int status = cli_load_inputs(mixture_path, in_path, &at0, &mix, &x, &n_all);
    if (status != SF_EXIT_OK) return status;
    size_t n = x.shape[0]; /* this rank's points */
    cli_output outs[2] = {{.flag = "--out", .path = out_path, .ndim = 1, .shape = {n_all}, .sharded = 1},
                          {.flag = "--wkb", .path = wkb_path, .ndim = 1, .shape = {n_all}, .sharded = 1}};
    double *shift = NULL, *model_logq = NULL;
    int steps = 0;
    sf_status st;
    if ((status = cli_prepare_outputs(outs, 2)) != SF_EXIT_OK || (status = cli_allocate_outputs(outs, 2)) != SF_EXIT_OK)
        goto done;
    exact = malloc((n ? n : 1) * sizeof(double));
    if (!exact) {
        status = cli_failure("out of memory for %zu points", n);
        goto done;
    }
    if (wkb_path && (sf_mixture_count(mix) != 1 || sf_mixture_rank(mix, 0) != 0)) { /* before the long ODE run */
        status = cli_bad_input("%s: the WKB coefficient is computed for Gaussian data: a mixture of one isotropic or "
                               "diagonal component", mixture_path);
        goto done;
    }
    double t_start = cli_seconds();
    if ((st = sf_context_create(&ctx, backend, SF_PRECISION_F64, cli_shard_device(0))) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    /* in blocks of points (each with its own adaptive steps), so that progress can be reported */
    cli_progress progress;
    cli_progress_start(&progress, "loglik", (double)n);
    for (size_t b0 = 0; b0 < n; b0 += LOGLIK_BLOCK) {
        size_t nb = n - b0 < LOGLIK_BLOCK ? n - b0 : LOGLIK_BLOCK;
        int block_steps = 0;
        if ((st = sf_loglik_ode(ctx, mix, &ct.schedule, t0, t1, x.data + b0 * (size_t)sf_mixture_dim(mix), nb, rtol, atol,
                                outs[0].data + b0, &block_steps)) != SF_OK) {
            status = cli_library_error(st);
            goto done;
        }
        steps = block_steps > steps ? block_steps : steps;
        cli_progress_update(&progress, (double)(b0 + nb));
    }
    double elapsed = cli_seconds() - t_start;
    sf_outputs o = {.logp = exact};
    if ((st = sf_evaluate(ctx, mix, &at0, x.data, n, &o)) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    int d = sf_mixture_dim(mix);
    if (wkb_path) {
        shift = malloc((size_t)d * sizeof(double));
        model_logq = malloc((n ? n : 1) * sizeof(double));
        if (!shift || !model_logq) {
            status = cli_failure("out of memory");
            goto done;
        }
        for (int i = 0; i < d; i++) shift[i] = model_shift;
        if ((st = sf_wkb_gaussian(mix, &ct.schedule, t0, t1, model_scale, shift, 0.0, x.data, n, 4000, outs[1].data,
                                  model_logq)) != SF_OK) {
            sfi_error_prefix(mixture_path);
            status = cli_library_error(st);
            goto done;
        }
    }
    if ((status = cli_write_outputs(outs, 2)) != SF_EXIT_OK) goto done;
    double sums[3] = {0, 0, 0}, most[3] = {0, steps, elapsed}; /* sums: log p, l_1, log q^0; most: error, steps, time */
    for (size_t i = 0; i < n; i++) sums[0] += outs[0].data[i], most[0] = fmax(most[0], fabs(outs[0].data[i] - exact[i]));
    for (size_t i = 0; wkb_path && i < n; i++) sums[1] += outs[1].data[i], sums[2] += model_logq[i];
    if ((status = cli_shard_sum(SF_EXIT_OK, sums, 3)) != SF_EXIT_OK || (status = cli_shard_max(status, most, 3)) != SF_EXIT_OK)
        goto done;
    n = n_all;
    printf("scorefield loglik: %zu points, %s schedule, t0 = %g, t1 = %g, rtol %g, atol %g\n", n,
           sf_schedule_kind_name(ct.schedule.kind), t0, t1, rtol, atol);
    cli_shard_print_ranks(n, "points");
    printf("  mean log p_t0  %.15g   (at most %d accepted steps per block of %d points, %.3g s)\n", n ? sums[0] / n : 0.0,
           (int)most[1], LOGLIK_BLOCK, most[2]);
    printf("  max |ODE - exact log p_t0| = %.3g\n", most[0]);
    if (wkb_path)
        printf("  model s_theta = %g s + %g: mean log q^0_t0 %.10g, mean WKB l_1 %.10g (log q^h ~ log q^0 + h^2 l_1)\n",
               model_scale, model_shift, n ? sums[2] / n : 0.0, n ? sums[1] / n : 0.0);
    printf("  wrote      %s (%zu)%s%s\n", out_path, n, wkb_path ? ", " : "", wkb_path ? wkb_path : "");
done:
    cli_free_outputs(outs, 2);
    free(exact), free(shift), free(model_logq);
    sf_array_free(&x);
    sf_context_destroy(ctx);
    sf_mixture_destroy(mix);
    return status;
}
