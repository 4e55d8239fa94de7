/* scorefield check: the same random workload on the CPU reference path and on the GPU, and the
 * worst element-wise error of each output against its tolerance. */
#include "commands.h"
#include "options.h"
#include "workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char check_help[] =
    "usage: scorefield check [--dim D] [--components K] [--n N] [--seed S] [--kinds all|iso|diag|lowrank]\n"
    "                        [--precision f64|f32] [--device N] [--quiet] [<time>]\n"
    "Builds a random mixture (default d = 16, K = 8, all covariance kinds) and N = 20000 particles\n"
    "(2% outliers far from every mean), evaluates score, log p, responsibilities, divergence and\n"
    "denoiser on the CPU (float64 reference) and on the GPU, and prints per output the worst\n"
    "|gpu - cpu| / (tol (rms(cpu) + |cpu|)), tol = 1e-11 (f64) or 1e-4 (f32): pass when <= 1.\n"
    "Default time: --schedule vp-linear --t 0.3. Bounds: D and K 1 to 1e5, N 1 to 1e9, device 0 to 255.\n"
    "--quiet prints nothing; the exit status tells.\n"
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

int cmd_check(int argc, char **argv)
{
    size_t d = 16, K = 8, n = 20000, seed = 1, device = 0;
    sf_precision precision = SF_PRECISION_F64;
    sf_workload_kinds kinds = SF_WORKLOAD_ALL;
    cli_once once = {0};
    cli_time ct;
    cli_time_init(&ct);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) {
            fputs(check_help, stdout);
            fputs(cli_time_help, stdout);
            return SF_EXIT_OK;
        }
        if (!cli_first_use(&once, a)) return SF_EXIT_BAD_INPUT;
        int t = cli_time_option(&ct, argc, argv, &i);
        if (t < 0) return SF_EXIT_BAD_INPUT;
        if (t > 0) continue;
        size_t *target = !strcmp(a, "--dim") ? &d : !strcmp(a, "--components") ? &K : !strcmp(a, "--n") ? &n
                       : !strcmp(a, "--seed") ? &seed : !strcmp(a, "--device") ? &device : NULL;
        size_t max = target == &seed ? SIZE_MAX : target == &n ? 1000000000 : target == &device ? 255 : 100000;
        if (target) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_count(a, v, max, target)) return SF_EXIT_BAD_INPUT;
        } else if (!strcmp(a, "--quiet")) {
            cli_set_quiet();
        } else if (!strcmp(a, "--precision")) {
            if (!(v = cli_value(argc, argv, &i)) || !cli_precision(v, &precision)) return SF_EXIT_BAD_INPUT;
        } else if (!strcmp(a, "--kinds")) {
            if (!(v = cli_value(argc, argv, &i)) || !parse_kinds(v, &kinds)) return SF_EXIT_BAD_INPUT;
        } else {
            return cli_bad_input("check: unknown option '%s' (see scorefield check --help)", a);
        }
    }
    if (d < 1 || K < 1 || n < 1) return cli_bad_input("check: --dim, --components and --n must be >= 1");
    if (!ct.have_schedule && !ct.have_alpha && !ct.have_sigma) {
        ct.schedule = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
        ct.have_schedule = 1;
        if (!ct.have_t) ct.t = 0.3, ct.have_t = 1;
    }
    sf_time time;
    if (!cli_time_resolve(&ct, &time)) return SF_EXIT_BAD_INPUT;

    const char *why = NULL;
    if (sf_cuda_device_count(&why) == 0) {
        fprintf(stderr, "scorefield: check: no CUDA device: %s; nothing was compared\n", why);
        return SF_EXIT_NO_DEVICE;
    }

    int status = SF_EXIT_FAILED;
    sf_rng rng;
    sf_rng_seed(&rng, seed);
    sf_mixture *mix = NULL;
    sf_context *cpu = NULL, *gpu = NULL;
    sf_status st = sf_workload_mixture(&mix, &rng, (int)d, (int)K, kinds, 1.0);
    size_t sizes[5] = {n * d, n, n * K, n, n * d}; /* below 1e14 doubles: no overflow */
    double *buf[2][5] = {{0}}, *x = malloc(n * d * sizeof(double));
    int ok = x != NULL;
    for (int b = 0; b < 2; b++)
        for (int o = 0; o < 5; o++) ok = ok && (buf[b][o] = malloc(sizes[o] * sizeof(double)));
    if (st != SF_OK || !ok) {
        status = st == SF_OK ? cli_failure("out of memory for the check workload") : cli_library_error(st);
        goto done;
    }
    sf_workload_particles(x, n, mix, &time, &rng, 0.02, precision == SF_PRECISION_F64 ? 30.0 : 4.0);
    if ((st = sf_context_create(&cpu, SF_BACKEND_CPU, SF_PRECISION_F64, 0)) != SF_OK ||
        (st = sf_context_create(&gpu, SF_BACKEND_CUDA, precision, (int)device)) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    for (int b = 0; b < 2; b++) {
        sf_outputs out = {.score = buf[b][0], .logp = buf[b][1], .resp = buf[b][2], .div = buf[b][3], .denoise = buf[b][4]};
        if ((st = sf_evaluate(b ? gpu : cpu, mix, &time, x, n, &out)) != SF_OK) {
            status = cli_library_error(st);
            goto done;
        }
    }
    double tol = precision == SF_PRECISION_F64 ? 1e-11 : 1e-4;
    printf("scorefield check: d = %zu, K = %zu, N = %zu, %s, GPU %s, tol = %g\n", d, K, n,
           time.has_time_derivatives ? sf_schedule_kind_name(ct.schedule.kind) : "direct",
           precision == SF_PRECISION_F64 ? "f64" : "f32", tol);
    sf_outputs cpu_out = {.score = buf[0][0], .logp = buf[0][1], .resp = buf[0][2], .div = buf[0][3], .denoise = buf[0][4]};
    sf_outputs gpu_out = {.score = buf[1][0], .logp = buf[1][1], .resp = buf[1][2], .div = buf[1][3], .denoise = buf[1][4]};
    sf_output_diff diffs[5];
    double worst = sf_compare_outputs(&cpu_out, &gpu_out, n, (int)d, (int)K, tol, diffs);
    for (int o = 0; o < 5; o++)
        printf("  %-8s worst %.3g of tolerance at element %zu (cpu %.17g, gpu %.17g)  %s\n", diffs[o].name,
               diffs[o].worst, diffs[o].at, diffs[o].ref, diffs[o].got, diffs[o].worst <= 1.0 ? "ok" : "FAIL");
    status = worst <= 1.0 ? SF_EXIT_OK : SF_EXIT_FAILED;
done:
    for (int b = 0; b < 2; b++)
        for (int o = 0; o < 5; o++) free(buf[b][o]);
    free(x);
    sf_context_destroy(cpu);
    sf_context_destroy(gpu);
    sf_mixture_destroy(mix);
    return status;
}
