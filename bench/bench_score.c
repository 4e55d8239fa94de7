/* bench_score: compute-only throughput of score evaluation for an isotropic mixture, in one run on
 * the same input: the fast CPU backend, the reference path, CUDA when a device is present, and
 * NumPy and PyTorch-CPU (bench/python_score.py), each reported against ceilings measured in the
 * same run:
 *  - flops: the two matrix products a dense evaluation of the score needs, the logits x . mu and
 *    the weighted sum r M (2Kd each: 4Kd per particle); with --outputs score,logp,div, docs/fields.md's
 *    counts (5Kd for log p, r, s; +2Kd for div). The K exp are not counted;
 *  - CPU ceilings: OpenBLAS DGEMM (n = 2048, all threads) and an FMA loop; GPU: a cuBLAS GEMM.
 * A rate above 100% of DGEMM is possible: screening skips most of the second product. */
#include "sf_cuda.h"
#include "ceilings.h"
#include "workload.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A timed run stops repeating once one run takes this long (the reference path at large sizes). */
#define SLOW_RUN_SECONDS 3.0

typedef struct {
    int d, K;
    double *w, *mu, *var; /* weights, K x d means, variances */
} iso_mixture;

typedef struct {
    int all;           /* score, log p and div (else the score only) */
    double *score, *logp, *div;
} outputs;

/* Best wall time of up to `repeat` runs after a warm-up run (first touch, device allocation);
 * a run slower than SLOW_RUN_SECONDS is timed once. */
static double time_evaluate(sf_context *ctx, const sf_mixture *m, const sf_time *t, const double *x, size_t n,
                            int repeat, outputs *o)
{
    sf_outputs out = {.score = o->score, .logp = o->all ? o->logp : NULL, .div = o->all ? o->div : NULL};
    double best = INFINITY;
    for (int r = 0; r <= repeat; r++) {
        double t0 = bench_now();
        if (sf_evaluate(ctx, m, t, x, n, &out) != SF_OK) {
            fprintf(stderr, "bench_score: %s\n", sf_last_error());
            return NAN;
        }
        double dt = bench_now() - t0;
        if (r > 0 || dt > SLOW_RUN_SECONDS) best = dt < best ? dt : best;
        if (dt > SLOW_RUN_SECONDS) break;
    }
    return best;
}

/* Runs bench/python_score.py with `framework` on the same input; returns its best time (NAN if it
 * could not run) and prints its version line and the score's agreement with scorefield's. */
static double python_time(const char *python, const char *script, const char *framework, const iso_mixture *im,
                          const sf_time *t, const double *x, size_t n, const outputs *o, int repeat)
{
    char dir[] = "/tmp/sf_benchXXXXXX", path[5][512], cmd[4096];
    if (!mkdtemp(dir)) return NAN;
    size_t s1[1] = {(size_t)im->K}, s2[2] = {(size_t)im->K, (size_t)im->d}, sx[2] = {n, (size_t)im->d};
    static const char *const names[5] = {"x.npy", "w.npy", "mu.npy", "var.npy", "score.npy"};
    for (int i = 0; i < 5; i++) snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
    int ok = sf_npy_write(path[0], x, 2, sx, SF_DTYPE_F64) == SF_OK && sf_npy_write(path[1], im->w, 1, s1, SF_DTYPE_F64) == SF_OK &&
             sf_npy_write(path[2], im->mu, 2, s2, SF_DTYPE_F64) == SF_OK &&
             sf_npy_write(path[3], im->var, 1, s1, SF_DTYPE_F64) == SF_OK &&
             sf_npy_write(path[4], o->score, 2, sx, SF_DTYPE_F64) == SF_OK;
    double seconds = NAN, diff = NAN;
    char version[256] = "";
    if (ok) {
        snprintf(cmd, sizeof cmd,
                 "%s %s --framework %s --x %s --weights %s --means %s --vars %s --alpha %.17g --sigma2 %.17g "
                 "--repeat %d --score-ref %s%s",
                 python, script, framework, path[0], path[1], path[2], path[3], t->alpha, t->sigma2, repeat, path[4],
                 o->all ? " --all" : "");
        FILE *p = popen(cmd, "r");
        char line[256];
        while (p && fgets(line, sizeof line, p)) {
            sscanf(line, "seconds %lf", &seconds);
            sscanf(line, "max_score_rel_diff %lf", &diff);
            if (!strncmp(line, "version ", 8)) snprintf(version, sizeof version, "%s", line + 8);
        }
        if (p) pclose(p);
        version[strcspn(version, "\n")] = '\0';
        if (isfinite(seconds)) printf("%s: %s; score agrees with scorefield to %.2g (relative to its largest entry)\n",
                                      framework, version, diff);
        if (isfinite(seconds) && !(diff <= 1e-8))
            fprintf(stderr, "bench_score: warning: the %s score differs from scorefield's by %.3g\n", framework, diff);
    }
    for (int i = 0; i < 5; i++) remove(path[i]);
    rmdir(dir);
    return seconds;
}

static void report(const char *what, double seconds, size_t n, double flops, double gemm_rate)
{
    printf("%-14s %10.4g s  %10.4g particles/s  %8.2f GFLOP/s  %6.1f%% of DGEMM (%.1f GFLOP/s measured)\n", what,
           seconds, n / seconds, flops / seconds * 1e-9, 100 * flops / seconds / gemm_rate, gemm_rate * 1e-9);
}

static int has(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; (p = strstr(p, name)); p += len)
        if ((p == list || p[-1] == ',') && (p[len] == ',' || p[len] == '\0')) return 1;
    return 0;
}

static const char usage[] =
    "usage: bench_score [--dim D] [--components K] [--n N] [--repeat R] [--outputs score|score,logp,div]\n"
    "                   [--backend LIST] [--python PYTHON] [--frameworks LIST] [--no-numpy] [--markdown]\n"
    "Times a random isotropic mixture at vp-linear t = 0.3 (compute only, best of R after a warm-up).\n"
    "LIST: comma-separated; backends cpu, reference, cuda (default cpu,reference,cuda: CUDA when a device\n"
    "is present); frameworks numpy, torch (default numpy,torch), run by PYTHON (default python3) on\n"
    "bench/python_score.py beside this program's source; --no-numpy runs none. --markdown adds one table\n"
    "row: shape, then seconds and % of DGEMM for each, then the fast backend's speed-ups.\n"
    "Defaults: d = 64, K = 256, N = 100000, R = 3, outputs score,logp,div.\n";

int main(int argc, char **argv)
{
    int d = 64, K = 256, repeat = 3, markdown = 0;
    size_t n = 100000;
    const char *python = "python3", *script = SF_BENCH_DIR "/python_score.py";
    const char *backends = "cpu,reference,cuda", *frameworks = "numpy,torch", *outputs_list = "score,logp,div";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-numpy")) frameworks = "";
        else if (!strcmp(a, "--markdown")) markdown = 1;
        else if (v && !strcmp(a, "--dim")) d = atoi(v), i++;
        else if (v && !strcmp(a, "--components")) K = atoi(v), i++;
        else if (v && !strcmp(a, "--n")) n = strtoull(v, NULL, 10), i++;
        else if (v && !strcmp(a, "--repeat")) repeat = atoi(v), i++;
        else if (v && !strcmp(a, "--python")) python = v, i++;
        else if (v && !strcmp(a, "--backend")) backends = !strcmp(v, "all") ? "cpu,reference,cuda" : v, i++;
        else if (v && !strcmp(a, "--frameworks")) frameworks = v, i++;
        else if (v && !strcmp(a, "--outputs")) outputs_list = v, i++;
        else {
            fprintf(stderr, "bench_score: bad argument '%s'\n%s", a, usage);
            return 2;
        }
    }
    int all = strcmp(outputs_list, "score") != 0;
    if (d < 1 || K < 1 || n < 1 || repeat < 1 || (all && strcmp(outputs_list, "score,logp,div"))) {
        fprintf(stderr, "bench_score: need d, K, N, R >= 1 and --outputs score or score,logp,div\n");
        return 2;
    }
    sf_rng rng;
    sfi_rng_seed(&rng, 2026);
    iso_mixture im = {d, K, malloc(K * sizeof(double)), malloc((size_t)K * d * sizeof(double)), malloc(K * sizeof(double))};
    for (int k = 0; k < K; k++) {
        im.w[k] = 0.5 + sfi_rng_uniform(&rng);
        im.var[k] = 0.01 + 0.1 * sfi_rng_uniform(&rng);
        for (int i = 0; i < d; i++) im.mu[(size_t)k * d + i] = sfi_rng_normal(&rng);
    }
    sf_mixture *m;
    if (sf_mixture_create_isotropic(&m, d, K, im.w, im.mu, im.var) != SF_OK) {
        fprintf(stderr, "bench_score: %s\n", sf_last_error());
        return 1;
    }
    sf_schedule sched = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    sf_time t;
    sf_schedule_at(&sched, 0.3, &t);
    outputs o = {all, malloc(n * d * sizeof(double)), malloc(n * sizeof(double)), malloc(n * sizeof(double))};
    double *x = malloc(n * d * sizeof(double));
    sfi_workload_particles(x, n, m, &t, &rng, 0.0, 0.0);

    double flops = (all ? 7.0 : 4.0) * K * d * (double)n;
    char host[128] = "";
    gethostname(host, sizeof host);
    printf("bench_score: d = %d, K = %d, N = %zu, vp-linear t = 0.3, %s, best of %d, flops %s per particle\n", d, K, n,
           all ? "score + log p + div" : "score", repeat, all ? "7Kd" : "4Kd");

    /* seconds per column of the markdown row: cpu, reference, numpy, torch */
    double secs[4] = {NAN, NAN, NAN, NAN}, gemm = NAN;
    if (has(backends, "cpu") || has(backends, "reference") || frameworks[0]) {
        gemm = bench_cpu_dgemm_rate();
        printf("CPU: %d OpenMP threads; ceilings measured here: OpenBLAS DGEMM %.1f GFLOP/s, FMA loop %.1f GFLOP/s\n",
               omp_get_max_threads(), gemm * 1e-9, bench_cpu_fma_peak() * 1e-9);
    }
    static const sf_backend cpu_backends[2] = {SF_BACKEND_CPU, SF_BACKEND_REFERENCE};
    for (int b = 0; b < 2; b++) {
        if (!has(backends, sf_backend_name(cpu_backends[b]))) continue;
        sf_context *ctx;
        if (sf_context_create(&ctx, cpu_backends[b], SF_PRECISION_F64, 0) != SF_OK) return 1;
        secs[b] = time_evaluate(ctx, m, &t, x, n, repeat, &o);
        report(b ? "reference f64" : "cpu f64", secs[b], n, flops, gemm);
        sf_context_destroy(ctx);
    }
    static const char *const fw[2] = {"numpy", "torch"};
    for (int f = 0; f < 2; f++) {
        if (!has(frameworks, fw[f])) continue;
        /* the score to compare with: the fast backend's (or the reference's) from the runs above */
        secs[2 + f] = python_time(python, script, fw[f], &im, &t, x, n, &o, repeat);
        if (isfinite(secs[2 + f])) report(f ? "torch f64" : "numpy f64", secs[2 + f], n, flops, gemm);
        else printf("%s: not run (%s could not import it, or the script failed)\n", fw[f], python);
    }
    for (int f = 0; f < 3 && isfinite(secs[0]); f++)
        if (isfinite(secs[1 + f]))
            printf("cpu backend vs %s: %.3gx faster\n", f == 0 ? "reference" : fw[f - 1], secs[1 + f] / secs[0]);
    if (markdown) {
        printf("| %.3g, %d, %d |", (double)n, d, K);
        for (int c = 0; c < 4; c++) {
            if (isfinite(secs[c])) printf(" %.3g s (%.0f%%) |", secs[c], 100 * flops / secs[c] / gemm);
            else printf(" - |");
        }
        printf(" %.2gx / %.2gx / %.2gx |\n", secs[1] / secs[0], secs[2] / secs[0], secs[3] / secs[0]);
    }
    if (has(backends, "cuda")) {
        const char *why = NULL;
        if (sf_cuda_device_count(&why) == 0) {
            printf("CUDA: no device (%s)\n", why);
        } else {
            char desc[256] = "";
            sf_cuda_device_describe(0, desc, sizeof desc);
            printf("CUDA: %s\n", desc);
            sf_cuda_state *state;
            for (int p = 0; p < 2; p++) {
                sf_precision prec = p ? SF_PRECISION_F32 : SF_PRECISION_F64;
                double peak = 0;
                sf_context *gpu;
                if (sfi_cuda_state_create(&state, 0) != SF_OK || sfi_cuda_gemm_peak(state, prec, SF_GEMM_EXACT, 0, 4096, &peak) != SF_OK ||
                    sf_context_create(&gpu, SF_BACKEND_CUDA, prec, 0) != SF_OK) {
                    fprintf(stderr, "bench_score: %s\n", sf_last_error());
                    return 1;
                }
                sfi_cuda_state_destroy(state);
                double s = time_evaluate(gpu, m, &t, x, n, repeat, &o);
                printf("%-14s %10.4g s  %10.4g particles/s  %8.2f GFLOP/s  %6.1f%% of cuBLAS GEMM\n",
                       p ? "cuda f32" : "cuda f64", s, n / s, flops / s * 1e-9, 100 * flops / s / peak);
                sf_context_destroy(gpu);
            }
            printf("(GPU times include host<->device transfers of particles and outputs; ceiling = cuBLAS GEMM n = 4096)\n");
        }
    }
    printf("host: %s\n", host);
    free(x), free(o.score), free(o.logp), free(o.div), free(im.w), free(im.mu), free(im.var);
    sf_mixture_destroy(m);
    return 0;
}
