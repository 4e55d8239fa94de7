/* bench_score: throughput of score evaluation (score + log p + divergence) for an isotropic
 * mixture, on the CPU reference path and on CUDA when a device is present, with
 *  - flops counted by SPEC.md B's operation counts (isotropic: 5Kd for log p, r, s; +2Kd for div),
 *  - the fraction of a ceiling measured here (CPU: an FMA loop on all threads and a STREAM triad;
 *    GPU: a large cuBLAS GEMM in the same precision),
 *  - for the CPU path, the time of a NumPy implementation of the same evaluation on the same
 *    input (bench/numpy_score.py), reported as the ratio scorefield / NumPy. */
#include "sf_cuda.h"
#include "ceilings.h"
#include "workload.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


static double time_evaluate(sf_context *ctx, const sf_mixture *m, const sf_time *t, const double *x, size_t n,
                            int repeat, double *score, double *logp, double *div)
{
    sf_outputs out = {.score = score, .logp = logp, .div = div};
    double best = INFINITY;
    for (int r = 0; r <= repeat; r++) { /* r = 0 warms up (first-touch, device allocation) */
        double t0 = bench_now();
        if (sf_evaluate(ctx, m, t, x, n, &out) != SF_OK) {
            fprintf(stderr, "bench_score: %s\n", sf_last_error());
            return NAN;
        }
        double dt = bench_now() - t0;
        if (r > 0 && dt < best) best = dt;
    }
    return best;
}

/* The benchmark's mixture as arrays (isotropic: weights, K x d means, variances). */
typedef struct {
    int d, K;
    double *w, *mu, *var;
} iso_mixture;

/* Runs bench/numpy_score.py on the same input; returns its best time, or NAN. */
static double numpy_time(const char *python, const char *script, const iso_mixture *im, const sf_time *t,
                         const double *x, size_t n, const double *logp_ref, int repeat)
{
    char dir[] = "/tmp/sf_benchXXXXXX", path[5][512], cmd[4096];
    if (!mkdtemp(dir)) return NAN;
    size_t s1[1] = {(size_t)im->K}, s2[2] = {(size_t)im->K, (size_t)im->d}, sx[2] = {n, (size_t)im->d}, sl[1] = {n};
    static const char *const names[5] = {"x.npy", "w.npy", "mu.npy", "var.npy", "logp.npy"};
    for (int i = 0; i < 5; i++) snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
    int ok = sf_npy_write(path[0], x, 2, sx, SF_DTYPE_F64) == SF_OK && sf_npy_write(path[1], im->w, 1, s1, SF_DTYPE_F64) == SF_OK &&
             sf_npy_write(path[2], im->mu, 2, s2, SF_DTYPE_F64) == SF_OK &&
             sf_npy_write(path[3], im->var, 1, s1, SF_DTYPE_F64) == SF_OK &&
             sf_npy_write(path[4], logp_ref, 1, sl, SF_DTYPE_F64) == SF_OK;
    double seconds = NAN, diff = NAN;
    if (ok) {
        snprintf(cmd, sizeof cmd,
                 "%s %s --x %s --weights %s --means %s --vars %s --alpha %.17g --sigma2 %.17g --repeat %d --logp-ref %s",
                 python, script, path[0], path[1], path[2], path[3], t->alpha, t->sigma2, repeat, path[4]);
        FILE *p = popen(cmd, "r");
        char line[256];
        while (p && fgets(line, sizeof line, p)) {
            sscanf(line, "seconds %lf", &seconds);
            sscanf(line, "max_logp_diff %lf", &diff);
        }
        if (p) pclose(p);
        if (!(diff <= 1e-6))
            fprintf(stderr, "bench_score: warning: NumPy log p differs from scorefield by %.3g\n", diff);
    }
    for (int i = 0; i < 5; i++) remove(path[i]);
    rmdir(dir);
    return seconds;
}

static void report(const char *what, double seconds, size_t n, double flops, double bytes, double peak_flops,
                   double peak_bytes)
{
    printf("%-12s %10.4g s  %10.4g particles/s  %8.2f GFLOP/s (%5.1f%% of %.1f GFLOP/s measured)",
           what, seconds, n / seconds, flops / seconds * 1e-9, 100 * flops / seconds / peak_flops, peak_flops * 1e-9);
    if (peak_bytes > 0) printf("  %6.2f GB/s (%4.1f%% of %.1f GB/s)", bytes / seconds * 1e-9, 100 * bytes / seconds / peak_bytes, peak_bytes * 1e-9);
    printf("\n");
}

static const char usage[] =
    "usage: bench_score [--dim D] [--components K] [--n N] [--repeat R] [--backend cpu|cuda|all]\n"
    "                   [--python PYTHON] [--no-numpy]\n"
    "Times score + log p + divergence of a random isotropic mixture at vp-linear t = 0.3.\n"
    "Defaults: d = 64, K = 256, N = 100000, R = 3, backend all (CUDA when a device is present),\n"
    "PYTHON = python3 (needs numpy) running bench/numpy_score.py beside this program's source.\n";

int main(int argc, char **argv)
{
    int d = 64, K = 256, repeat = 3, use_numpy = 1, want_cpu = 1, want_cuda = 1;
    size_t n = 100000;
    const char *python = "python3", *script = SF_BENCH_DIR "/numpy_score.py";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-numpy")) use_numpy = 0;
        else if (v && !strcmp(a, "--dim")) d = atoi(v), i++;
        else if (v && !strcmp(a, "--components")) K = atoi(v), i++;
        else if (v && !strcmp(a, "--n")) n = strtoull(v, NULL, 10), i++;
        else if (v && !strcmp(a, "--repeat")) repeat = atoi(v), i++;
        else if (v && !strcmp(a, "--python")) python = v, i++;
        else if (v && !strcmp(a, "--backend")) want_cpu = strcmp(v, "cuda") != 0, want_cuda = strcmp(v, "cpu") != 0, i++;
        else {
            fprintf(stderr, "bench_score: bad argument '%s'\n%s", a, usage);
            return 2;
        }
    }
    if (d < 1 || K < 1 || n < 1 || repeat < 1) {
        fprintf(stderr, "bench_score: need d, K, N, R >= 1\n");
        return 2;
    }
    sf_rng rng;
    sf_rng_seed(&rng, 2026);
    iso_mixture im = {d, K, malloc(K * sizeof(double)), malloc((size_t)K * d * sizeof(double)), malloc(K * sizeof(double))};
    for (int k = 0; k < K; k++) {
        im.w[k] = 0.5 + sf_rng_uniform(&rng);
        im.var[k] = 0.01 + 0.1 * sf_rng_uniform(&rng);
        for (int i = 0; i < d; i++) im.mu[(size_t)k * d + i] = sf_rng_normal(&rng);
    }
    sf_mixture *m;
    if (sf_mixture_create_isotropic(&m, d, K, im.w, im.mu, im.var) != SF_OK) {
        fprintf(stderr, "bench_score: %s\n", sf_last_error());
        return 1;
    }
    sf_schedule sched = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    sf_time t;
    sf_schedule_at(&sched, 0.3, &t);
    double *x = malloc(n * d * sizeof(double)), *score = malloc(n * d * sizeof(double));
    double *logp = malloc(n * sizeof(double)), *div = malloc(n * sizeof(double));
    sf_workload_particles(x, n, m, &t, &rng, 0.0, 0.0);

    /* SPEC.md B operation counts, isotropic: log p, r, s = 5Kd; div = +2Kd; plus K exp (not counted) */
    double flops = 7.0 * K * d * (double)n;
    /* minimum traffic: particles in, score/log p/div out (the means stay in cache) */
    double bytes = 8.0 * n * (2.0 * d + 2) + 8.0 * K * d;
    char host[128] = "";
    gethostname(host, sizeof host);
    printf("bench_score: d = %d, K = %d, N = %zu, vp-linear t = 0.3, score + log p + div, best of %d\n", d, K, n, repeat);

    if (want_cpu) {
        double peak = bench_cpu_fma_peak(), bw = bench_cpu_triad_bandwidth();
        sf_context *cpu;
        sf_context_create(&cpu, SF_BACKEND_CPU, SF_PRECISION_F64, 0);
        double secs = time_evaluate(cpu, m, &t, x, n, repeat, score, logp, div);
        printf("CPU: %d OpenMP threads; ceilings measured here: FMA loop %.1f GFLOP/s, triad %.1f GB/s\n",
               omp_get_max_threads(), peak * 1e-9, bw * 1e-9);
        report("cpu f64", secs, n, flops, bytes, peak, bw);
        if (use_numpy) {
            double np_secs = numpy_time(python, script, &im, &t, x, n, logp, repeat);
            if (isfinite(np_secs)) {
                report("numpy f64", np_secs, n, flops, bytes, peak, bw);
                printf("ratio scorefield/NumPy (time): %.3g  (scorefield is %.3gx %s)\n", secs / np_secs,
                       secs < np_secs ? np_secs / secs : secs / np_secs, secs < np_secs ? "faster" : "slower");
            } else {
                printf("numpy: not run (%s with numpy not found, or the script failed)\n", python);
            }
        }
        sf_context_destroy(cpu);
    }
    if (want_cuda) {
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
                if (sf_cuda_state_create(&state, 0) != SF_OK || sf_cuda_gemm_peak(state, prec, SF_GEMM_EXACT, 0, 4096, &peak) != SF_OK ||
                    sf_context_create(&gpu, SF_BACKEND_CUDA, prec, 0) != SF_OK) {
                    fprintf(stderr, "bench_score: %s\n", sf_last_error());
                    return 1;
                }
                sf_cuda_state_destroy(state);
                double secs = time_evaluate(gpu, m, &t, x, n, repeat, score, logp, div);
                report(p ? "cuda f32" : "cuda f64", secs, n, flops, 0, peak, 0);
                sf_context_destroy(gpu);
            }
            printf("(GPU times include host<->device transfers of particles and outputs; ceiling = cuBLAS GEMM n = 4096)\n");
        }
    }
    printf("host: %s\n", host);
    free(x), free(score), free(logp), free(div), free(im.w), free(im.mu), free(im.var);
    sf_mixture_destroy(m);
    return 0;
}
