/* scorefield burgers-residual: the Burgers residual of the mixture's score at particles (docs/burgers.md),
 * in heat time or in the VP form, with the scale it is measured against. */
#include "cli_io.h"
#include "commands.h"
#include "curl.h"
#include "parse.h"
#include "progress.h"
#include "shard.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char residual_help[] =
    "usage: scorefield burgers-residual --mixture M.json <time> --in X.npy --out R.npy [--scale S.npy]\n"
    "                                   [--form heat|vp] [--curl P] [--backend cpu|cuda|auto|reference] [--precision f64|f32]\n"
    "                                   [--quiet]\n"
    "The score of every diffused density solves viscous Burgers (docs/burgers.md). Writes, per particle,\n"
    "  heat form (default):  R = d_tau u - Lap u / 2 - H u   at y = x / alpha, tau = sigma^2 / alpha^2\n"
    "                        scale = max(|d_tau u|, |Lap u| / 2, |H u|)\n"
    "  vp form:              R = d_t s - g^2 (Lap s / 2 + H s) + f (s + H x)   (needs --schedule)\n"
    "                        scale = max(|d_t s|, g^2 |Lap s| / 2, |H (g^2 s - f x)|, |f s|)\n"
    "and prints the worst and median |R| / scale: rounding level (~1e-15) for an exact score.\n"
    "--curl P also measures irrotationality: the largest antisymmetric part of the score's Jacobian,\n"
    "|w.Jv - v.Jw| / (|Jv||w| + |Jw||v|) over P random probe pairs per particle (P = 0: the full\n"
    "Jacobian, ||J - J^T|| / 2||J||), J by central differences (~1e-8 for a gradient field); P is 0 to 10000.\n"
    "The residual is evaluated in blocks of particles; a run longer than 2 s reports its progress\n"
    "(elapsed, estimate of the rest) on stderr. --quiet prints nothing but errors.\n";

/* Particles per evaluation: about a twentieth of the run, so progress can be reported, and no
 * fewer than enough to keep every backend busy. */
#define RESIDUAL_BLOCK_MIN 65536

/* The residual over blocks of particles through one plan (the field prepared once), reporting
 * progress; `out` points at particle 0 and is advanced per block. */
static sf_status evaluate_in_blocks(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x,
                                    size_t n, const sf_outputs *out)
{
    int d = sf_mixture_dim(mix);
    size_t block = n / 20 > RESIDUAL_BLOCK_MIN ? n / 20 : RESIDUAL_BLOCK_MIN;
    sf_plan *plan = NULL;
    sf_status st = sf_plan_create(&plan, ctx, mix, time);
    cli_progress progress;
    cli_progress_start(&progress, "burgers-residual", (double)n);
    for (size_t i = 0; st == SF_OK && i < n; i += block) {
        size_t m = n - i < block ? n - i : block;
        sf_outputs o = *out;
        if (o.residual) o.residual += i * d, o.residual_scale += i;
        if (o.residual_t) o.residual_t += i * d, o.residual_t_scale += i;
        st = sf_plan_evaluate(plan, x + i * d, m, &o);
        cli_progress_update(&progress, (double)(i + m));
    }
    sf_plan_destroy(plan);
    return st;
}

/* The k-th smallest (from 0) of the nonnegative values v of every rank (n on this rank): a bisection
 * on the bit patterns, which order nonnegative doubles as their values do, counting over the ranks
 * at each step. Exact, and the same value a sort of all the values in one process gives. */
static int kth_smallest(const double *v, size_t n, size_t k, double *out)
{
    uint64_t lo = 0, hi = 0x7ff0000000000000ULL; /* +0 ... +inf */
    int status = SF_EXIT_OK;
    while (status == SF_EXIT_OK && lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2, bits;
        double count = 0;
        for (size_t i = 0; i < n; i++) {
            memcpy(&bits, &v[i], sizeof bits);
            count += bits <= mid;
        }
        status = cli_shard_sum(SF_EXIT_OK, &count, 1);
        if (count >= (double)k + 1) hi = mid;
        else lo = mid + 1;
    }
    memcpy(out, &lo, sizeof *out);
    return status;
}

/* The largest ratio over every rank, the first particle that has it (global index) and its scale. */
static int worst_of_all(const double *ratio, const double *scale, size_t n, size_t first, double worst[3])
{
    size_t at = 0;
    for (size_t i = 1; i < n; i++)
        if (ratio[i] > ratio[at]) at = i;
    double mine[3] = {n ? ratio[at] : -1, (double)(first + at), n ? scale[at] : 0}; /* -1: no particles here */
    double *all = malloc((size_t)cli_ranks() * 3 * sizeof(double));
    worst[0] = 0, worst[1] = 0, worst[2] = 0;
    int status = all ? cli_shard_gather(SF_EXIT_OK, mine, 3, all) : cli_failure("out of memory");
    int best = -1;
    for (int r = 0; status == SF_EXIT_OK && r < cli_ranks(); r++) /* in rank order: the first one wins ties */
        if (all[3 * r] >= 0 && (best < 0 || all[3 * r] > all[3 * best])) best = r;
    if (best >= 0) memcpy(worst, all + 3 * best, 3 * sizeof(double));
    free(all);
    return status;
}

int cmd_burgers_residual(int argc, char **argv)
{
    const char *mixture_path = NULL, *in_path = NULL, *form = "heat";
    size_t curl_probes = 0;
    int want_curl = 0;
    cli_output outs[2] = {{.flag = "--out"}, {.flag = "--scale"}};
    sf_backend backend = SF_BACKEND_AUTO;
    sf_precision precision = SF_PRECISION_F64;
    cli_once once = {0};
    cli_time ct;
    cli_time_init(&ct);
    cli_time_and_outputs extra = {&ct, outs, 2};
    const cli_option table[] = {{"--mixture", CLI_TEXT, &mixture_path, 0}, {"--in", CLI_TEXT, &in_path, 0}, {"--form", CLI_TEXT, &form, 0},
                                {"--curl", CLI_COUNT, &curl_probes, 10000}, {"--backend", CLI_BACKEND, &backend, 0},
                                {"--precision", CLI_PRECISION, &precision, 0},
                                {NULL, CLI_FLAG, NULL, 0}};
    CLI_PARSE_OR_RETURN(cli_parse("burgers-residual", residual_help, cli_time_help, table, argc, argv, cli_time_and_outputs_extra, &extra, &once));
    want_curl = cli_once_seen(&once, "--curl");
    if (!mixture_path || !in_path || !outs[0].path)
        return cli_bad_input("burgers-residual: --mixture, --in and --out are required");
    int vp = strcmp(form, "vp") == 0;
    if (!vp && strcmp(form, "heat") != 0) return cli_bad_input("option --form: '%s' is not one of heat, vp", form);
    sf_time time;
    if (!cli_time_resolve(&ct, &time)) return SF_EXIT_BAD_INPUT;
    if (vp && !time.has_time_derivatives)
        return cli_bad_input("burgers-residual: --form vp needs --schedule and --t (use --form heat for a direct pair)");

    sf_mixture *mix = NULL;
    sf_context *ctx = NULL;
    sf_array x = {0};
    double *scale_own = NULL, *ratio = NULL;
    size_t n_all = 0, first = 0, unused;
    int status = cli_load_inputs(mixture_path, in_path, &time, &mix, &x, &n_all);
    if (status != SF_EXIT_OK) return status;
    int d = sf_mixture_dim(mix);
    size_t n = x.shape[0]; /* this rank's particles: first ... first + n - 1 */
    cli_shard_range(n_all, &first, &unused);
    outs[0].ndim = 2, outs[0].shape[0] = n_all, outs[0].shape[1] = (size_t)d, outs[0].sharded = 1;
    outs[1].ndim = 1, outs[1].shape[0] = n_all, outs[1].sharded = 1;
    if ((status = cli_prepare_outputs(outs, 2)) != SF_EXIT_OK || (status = cli_allocate_outputs(outs, 2)) != SF_EXIT_OK)
        goto done;
    double *scale = outs[1].data ? outs[1].data : (scale_own = malloc((n ? n : 1) * sizeof(double)));
    ratio = malloc((n ? n : 1) * sizeof(double));
    if (!scale || !ratio) {
        status = cli_failure("out of memory for %zu particles", n);
        goto done;
    }
    sf_outputs out = {0};
    if (vp) out.residual_t = outs[0].data, out.residual_t_scale = scale;
    else out.residual = outs[0].data, out.residual_scale = scale;
    sf_status st;
    if ((st = sf_context_create(&ctx, backend, precision, cli_shard_device(0))) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    double t0 = cli_seconds();
    if ((st = evaluate_in_blocks(ctx, mix, &time, x.data, n, &out)) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    double elapsed = cli_seconds() - t0;
    if ((status = cli_write_outputs(outs, 2)) != SF_EXIT_OK) goto done;
    for (size_t i = 0; i < n; i++) {
        double r2 = 0;
        for (int j = 0; j < d; j++) r2 += outs[0].data[i * d + j] * outs[0].data[i * d + j];
        ratio[i] = scale[i] > 0 ? sqrt(r2) / scale[i] : sqrt(r2);
    }
    double worst[3], median = 0; /* worst: ratio, particle, scale */
    if ((status = worst_of_all(ratio, scale, n, first, worst)) != SF_EXIT_OK ||
        (n_all && (status = kth_smallest(ratio, n, n_all / 2, &median)) != SF_EXIT_OK) ||
        (status = cli_shard_max(SF_EXIT_OK, &elapsed, 1)) != SF_EXIT_OK)
        goto done;
    printf("scorefield burgers-residual: %zu particles, d = %d, %s form, tau = %.6g (alpha = %.6g, sigma = %.6g)\n", n_all, d,
           vp ? "VP" : "heat-time", time.tau, time.alpha, time.sigma);
    cli_shard_print_ranks(n_all, "particles");
    printf("  |R| / scale  worst %.3g (particle %zu, scale %.3g)  median %.3g\n", worst[0], (size_t)worst[1], worst[2],
           median);
    printf("  %s, %.3g s, %.3g particles/s\n", sf_context_backend(ctx) == SF_BACKEND_CUDA ? "cuda" : "cpu", elapsed,
           n_all / fmax(elapsed, 1e-9));
    if (want_curl) {
        if ((st = sfi_score_curl_from(ctx, mix, &time, x.data, n, first, (int)curl_probes, 1, ratio)) != SF_OK) {
            status = cli_library_error(st);
            goto done;
        }
        double worst_curl = 0;
        for (size_t i = 0; i < n; i++) worst_curl = fmax(worst_curl, ratio[i]);
        if ((status = cli_shard_max(SF_EXIT_OK, &worst_curl, 1)) != SF_EXIT_OK) goto done;
        printf("  curl       worst antisymmetric part of the Jacobian %.3g (%s)\n", worst_curl,
               curl_probes ? "random probe pairs" : "full Jacobian");
    }
    printf("  wrote      %s (%zu x %d)%s%s\n", outs[0].path, n_all, d, outs[1].path ? ", " : "", outs[1].path ? outs[1].path : "");
done:
    cli_free_outputs(outs, 2);
    free(scale_own), free(ratio);
    sf_array_free(&x);
    sf_context_destroy(ctx);
    sf_mixture_destroy(mix);
    return status;
}
