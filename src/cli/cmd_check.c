/* scorefield check: the same random workload on the reference path and on another backend (the
 * GPU, or the fast CPU backend), and the worst element-wise error of each output against its
 * tolerance. */
#include "commands.h"
#include "options.h"
#include "parse.h"
#include "progress.h"
#include "shard.h"
#include "workload.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char check_help[] =
    "usage: scorefield check [--backend cuda|cpu|auto] [--dim D] [--components K] [--n N] [--seed S]\n"
    "                        [--kinds all|iso|diag|lowrank] [--precision f64|f32] [--device N] [--quiet] [<time>]\n"
    "Builds a random mixture (default d = 16, K = 8, all covariance kinds) and N = 20000 particles\n"
    "(2% outliers far from every mean), evaluates score, log p, responsibilities, divergence and\n"
    "denoiser on the float64 reference path and on the backend checked (default cuda; cpu: the fast\n"
    "CPU backend; auto: CUDA when a device is present, else cpu), and prints per output the worst\n"
    "|got - ref| / (tol (rms(ref) + |ref|)): pass when <= 1. tol = 1e-11 for the GPU in f64, 1e-4 in f32;\n"
    "1e-10 for the fast CPU backend, whose r_k = exp(l_k - max) / sum is more accurate than the\n"
    "reference's exp(l_k - log p) when |log p| is large (far particles in high d), by up to |log p| eps.\n"
    "Default time: --schedule vp-linear --t 0.3. Bounds: D and K 1 to 1e5, N 1 to 1e9, device 0 to 255.\n"
    "A run longer than 2 s reports progress on stderr. --quiet prints nothing; the exit status tells.\n"
    "exit status: 0 all within tolerance, 1 some output outside it, 2 bad input, 3 no CUDA device\n";

static int parse_kinds(const char *v, sf_workload_kinds *k)
{
    static const char *const names[] = {"all", "iso", "diag", "lowrank"};
    for (int i = 0; i < 4; i++)
        if (strcmp(v, names[i]) == 0) {
            *k = (sf_workload_kinds)i;
            return 1;
        }
    cli_bad_input("option --kinds: '%s' is not one of all, iso, diag, lowrank", v);
    return 0;
}

/* The worst error of each output over every rank's particles (mine of them from `first`, n in all;
 * per[o]: values per particle of output o): the tolerance's scale is the RMS of the whole reference,
 * and the worst element the first one (global index) with the largest ratio, as in one process. */
static int compare_over_ranks(const sf_outputs *ref, const sf_outputs *got, size_t first, size_t mine, size_t n,
                              const size_t per[5], double tol, sf_output_diff diffs[5], double *worst)
{
    double scales[5], mine_worst[5 * 4];
    sfi_outputs_square_sums(ref, mine, (int)per[0], (int)per[2], scales);
    int status = cli_shard_sum(SF_EXIT_OK, scales, 5);
    if (status != SF_EXIT_OK) return status;
    for (int o = 0; o < 5; o++) scales[o] = n * per[o] > 0 ? sqrt(scales[o] / (double)(n * per[o])) : 0;
    sfi_compare_outputs_scaled(ref, got, mine, (int)per[0], (int)per[2], tol, scales, diffs);
    for (int o = 0; o < 5; o++) {
        double *w = mine_worst + 4 * o;
        w[0] = mine ? diffs[o].worst : -1, w[1] = (double)(diffs[o].at + first * per[o]), w[2] = diffs[o].ref, w[3] = diffs[o].got;
    }
    double *all = malloc((size_t)cli_ranks() * 20 * sizeof(double));
    status = all ? cli_shard_gather(SF_EXIT_OK, mine_worst, 20, all) : cli_failure("out of memory");
    *worst = 0;
    for (int o = 0; status == SF_EXIT_OK && o < 5; o++) {
        int best = -1; /* in rank order: the first rank wins ties, as the first element does in one process */
        for (int r = 0; r < cli_ranks(); r++)
            if (all[20 * r + 4 * o] >= 0 && (best < 0 || all[20 * r + 4 * o] > all[20 * best + 4 * o])) best = r;
        if (best < 0) continue;
        const double *w = all + 20 * best + 4 * o;
        diffs[o].worst = w[0], diffs[o].at = (size_t)w[1], diffs[o].ref = w[2], diffs[o].got = w[3];
        if (!(diffs[o].worst <= *worst)) *worst = diffs[o].worst;
    }
    free(all);
    return status;
}

int cmd_check(int argc, char **argv)
{
    size_t d = 16, K = 8, n = 20000, seed = 1, device = 0;
    sf_precision precision = SF_PRECISION_F64;
    sf_backend backend = SF_BACKEND_CUDA;
    sf_workload_kinds kinds = SF_WORKLOAD_ALL;
    const char *kinds_name = NULL;
    cli_time ct;
    cli_time_init(&ct);
    const cli_option table[] = {{"--dim", CLI_COUNT, &d, 100000},          {"--components", CLI_COUNT, &K, 100000},
                                {"--n", CLI_COUNT, &n, 1000000000},        {"--seed", CLI_COUNT, &seed, SIZE_MAX},
                                {"--device", CLI_COUNT, &device, 255},     {"--backend", CLI_BACKEND, &backend, 0},
                                {"--precision", CLI_PRECISION, &precision, 0}, {"--kinds", CLI_TEXT, &kinds_name, 0},
                                {NULL, CLI_FLAG, NULL, 0}};
    CLI_PARSE_OR_RETURN(cli_parse("check", check_help, cli_time_help, table, argc, argv, cli_time_extra, &ct, NULL));
    if (backend == SF_BACKEND_REFERENCE)
        return cli_bad_input("check: --backend reference is what the others are checked against: choose cpu, cuda or auto");
    if (kinds_name && !parse_kinds(kinds_name, &kinds)) return SF_EXIT_BAD_INPUT;
    if (d < 1 || K < 1 || n < 1) return cli_bad_input("check: --dim, --components and --n must be >= 1");
    if (!ct.have_schedule && !ct.have_alpha && !ct.have_sigma) {
        ct.schedule = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
        ct.have_schedule = 1;
        if (!ct.have_t) ct.t = 0.3, ct.have_t = 1;
    }
    sf_time time;
    if (!cli_time_resolve(&ct, &time)) return SF_EXIT_BAD_INPUT;

    const char *why = NULL;
    int devices = sf_cuda_device_count(&why);
    if (backend == SF_BACKEND_AUTO) backend = devices > 0 ? SF_BACKEND_CUDA : SF_BACKEND_CPU;
    if (backend == SF_BACKEND_CUDA && devices == 0) {
        fprintf(stderr, "scorefield: check: no CUDA device: %s; nothing was compared (--backend cpu checks the fast "
                        "CPU backend)\n", why);
        return SF_EXIT_NO_DEVICE;
    }
    if (backend == SF_BACKEND_CPU && precision == SF_PRECISION_F32)
        return cli_bad_input("check: --precision f32 applies to the GPU (the CPU backends are float64)");

    int status = SF_EXIT_FAILED;
    sf_rng rng;
    sfi_rng_seed(&rng, seed);
    sf_mixture *mix = NULL;
    sf_context *ref = NULL, *got = NULL;
    sf_status st = sfi_workload_mixture(&mix, &rng, (int)d, (int)K, kinds, 1.0);
    size_t first, mine; /* this rank's particles; every rank draws the whole workload (one random stream) */
    cli_shard_range(n, &first, &mine);
    size_t per[5] = {d, 1, K, 1, d}, sizes[5] = {mine * d, mine, mine * K, mine, mine * d}; /* below 1e14 doubles */
    double *buf[2][5] = {{0}}, *x = malloc(n * d * sizeof(double));
    int ok = x != NULL;
    for (int b = 0; b < 2; b++)
        for (int o = 0; o < 5; o++) ok = ok && (buf[b][o] = malloc((sizes[o] ? sizes[o] : 1) * sizeof(double)));
    if (st != SF_OK || !ok) {
        status = st == SF_OK ? cli_failure("out of memory for the check workload") : cli_library_error(st);
        goto done;
    }
    sfi_workload_particles(x, n, mix, &time, &rng, 0.02, precision == SF_PRECISION_F64 ? 30.0 : 4.0);
    if ((st = sf_context_create(&ref, SF_BACKEND_REFERENCE, SF_PRECISION_F64, 0)) != SF_OK ||
        (st = sf_context_create(&got, backend, precision, cli_shard_device((int)device))) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    cli_progress progress; /* the reference's evaluation, then the backend's */
    cli_progress_start(&progress, "check", 2);
    for (int b = 0; b < 2; b++) {
        sf_outputs out = {.score = buf[b][0], .logp = buf[b][1], .resp = buf[b][2], .div = buf[b][3], .denoise = buf[b][4]};
        if ((st = sf_evaluate(b ? got : ref, mix, &time, x + first * d, mine, &out)) != SF_OK) {
            status = cli_library_error(st);
            goto done;
        }
        cli_progress_update(&progress, b + 1);
    }
    double tol = backend == SF_BACKEND_CPU ? 1e-10 : precision == SF_PRECISION_F64 ? 1e-11 : 1e-4;
    const char *name = sf_backend_name(backend);
    printf("scorefield check: d = %zu, K = %zu, N = %zu, %s, %s %s against reference, tol = %g\n", d, K, n,
           time.has_time_derivatives ? sf_schedule_kind_name(ct.schedule.kind) : "direct", name,
           precision == SF_PRECISION_F64 ? "f64" : "f32", tol);
    cli_shard_print_ranks(n, "particles");
    sf_outputs ref_out = {.score = buf[0][0], .logp = buf[0][1], .resp = buf[0][2], .div = buf[0][3], .denoise = buf[0][4]};
    sf_outputs got_out = {.score = buf[1][0], .logp = buf[1][1], .resp = buf[1][2], .div = buf[1][3], .denoise = buf[1][4]};
    sf_output_diff diffs[5];
    double worst;
    if ((status = compare_over_ranks(&ref_out, &got_out, first, mine, n, per, tol, diffs, &worst)) != SF_EXIT_OK) goto done;
    for (int o = 0; o < 5; o++)
        printf("  %-8s worst %.3g of tolerance at element %zu (reference %.17g, %s %.17g)  %s\n", diffs[o].name,
               diffs[o].worst, diffs[o].at, diffs[o].ref, name, diffs[o].got, diffs[o].worst <= 1.0 ? "ok" : "FAIL");
    status = worst <= 1.0 ? SF_EXIT_OK : SF_EXIT_FAILED;
done:
    for (int b = 0; b < 2; b++)
        for (int o = 0; o < 5; o++) free(buf[b][o]);
    free(x);
    sf_context_destroy(ref);
    sf_context_destroy(got);
    sf_mixture_destroy(mix);
    return status;
}
