/* bench_gpu: score + log p + divergence of an isotropic mixture on the GPU (vp-linear t = 0.3, the
 * mixture and particles of bench_score), at the shapes issue 11 sets targets for, against the
 * ceilings measured here in the same run and against PyTorch eager on the same GPU doing the same
 * work in the same precision (bench/torch_score.py):
 *   - ceilings: cuBLAS GEMM of n = 8192 on random data in the default math mode and pedantic
 *     (float64, float32, TF32, 3xTF32), and a device-to-device copy (HBM roofline);
 *   - scorefield from device arrays (sf_plan_evaluate_device, x and outputs already on the GPU) and
 *     from host arrays (sf_plan_evaluate: pinned staging, transfers included), best of R runs;
 *   - flops by docs/fields.md's count (7Kd per particle) and the GEMM flops the large-d route performs
 *     (2Kd: screening skips the rest), each as a fraction of the GEMM ceiling; bytes of x in and
 *     the outputs out as a multiple of the copy roofline;
 *   - the worst error of each precision and GEMM mode against the float64 CPU path on 2000
 *     particles (TF32 and 3xTF32's error reported here);
 *   - PyTorch's time for the same evaluation and the ratio (issue 11's target: >= 3x).
 * usage: bench_gpu [--shapes small,medium,large] [--repeat R] [--python PY] [--script PATH] [--no-torch] */
#include "workload.h"

#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sf_cuda.h"
#include "context.h"

#define CHECKED 2000

typedef struct {
    const char *name;
    int d, K;
    size_t n;
} shape;

static const shape shapes[] = {{"small", 2, 8, 10000000}, {"medium", 64, 256, 1000000}, {"large", 1024, 1024, 200000}};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* The benchmark's mixture as arrays, and as a scorefield mixture. */
typedef struct {
    int d, K;
    double *w, *mu, *var;
    sf_mixture *m;
} iso_mixture;

static iso_mixture make_mixture(int d, int K)
{
    sf_rng rng;
    sfi_rng_seed(&rng, 2026);
    iso_mixture im = {d, K, malloc(K * 8), malloc((size_t)K * d * 8), malloc(K * 8), NULL};
    for (int k = 0; k < K; k++) {
        im.w[k] = 0.5 + sfi_rng_uniform(&rng);
        im.var[k] = 0.01 + 0.1 * sfi_rng_uniform(&rng);
        for (int i = 0; i < d; i++) im.mu[(size_t)k * d + i] = sfi_rng_normal(&rng);
    }
    sf_mixture_create_isotropic(&im.m, d, K, im.w, im.mu, im.var);
    return im;
}

static void free_mixture(iso_mixture *im) { free(im->w), free(im->mu), free(im->var), sf_mixture_destroy(im->m); }

/* ---------------------------------------------------------------- ceilings */

typedef struct {
    double gemm[2][4]; /* [pedantic][f64, f32, tf32, 3xtf32] FLOP/s */
    double copy;       /* bytes/s, read + write */
} ceilings;

static int measure_ceilings(ceilings *c)
{
    sf_context *ctx = NULL;
    if (sf_context_create(&ctx, SF_BACKEND_CUDA, SF_PRECISION_F64, 0) != SF_OK) return 0;
    static const char *const names[4] = {"f64", "f32", "tf32", "3xtf32"};
    for (int ped = 0; ped < 2; ped++)
        for (int k = 0; k < 4; k++) {
            sf_precision p = k ? SF_PRECISION_F32 : SF_PRECISION_F64;
            sf_gemm_math m = k == 2 ? SF_GEMM_TF32 : k == 3 ? SF_GEMM_3XTF32 : SF_GEMM_EXACT;
            if (sfi_cuda_gemm_peak(ctx->cuda, p, m, ped, 8192, &c->gemm[ped][k]) != SF_OK) c->gemm[ped][k] = NAN;
            printf("ceiling: cuBLAS GEMM 8192^3 %-6s %-8s %8.1f TFLOP/s (random data)\n", names[k],
                   ped ? "pedantic" : "default", c->gemm[ped][k] * 1e-12);
        }
    if (sfi_cuda_copy_peak(ctx->cuda, (size_t)2 << 30, &c->copy) != SF_OK) c->copy = NAN;
    printf("ceiling: device-to-device copy of 2 GiB: %.0f GB/s (read + write)\n", c->copy * 1e-9);
    sf_context_destroy(ctx);
    return 1;
}

/* Seconds to move `bytes` (read once, written once, together) at the measured copy rate. */
static double roof_time(double bytes, const ceilings *c) { return bytes / c->copy; }

/* ---------------------------------------------------------------- scorefield */

typedef struct {
    double device_s, host_s; /* best times */
    double worst;            /* worst relative error against the float64 CPU path (CHECKED particles) */
} result;

/* x (n x d, float64 host) as device arrays in the precision, and the outputs there. */
static int run_scorefield(const iso_mixture *im, const sf_time *t, const double *x, size_t n, sf_precision prec,
                          sf_gemm_math math, int repeat, const double *ref, result *r)
{
    int d = im->d, single = prec == SF_PRECISION_F32;
    size_t elem = single ? 4 : 8, nd = n * d;
    sf_context *ctx = NULL;
    sf_plan *plan = NULL;
    if (sf_context_create(&ctx, SF_BACKEND_CUDA, prec, 0) != SF_OK || sf_context_set_gemm_math(ctx, math) != SF_OK ||
        sf_plan_create(&plan, ctx, im->m, t) != SF_OK) {
        fprintf(stderr, "bench_gpu: %s\n", sf_last_error());
        return 0;
    }
    void *dx = NULL, *ds = NULL, *dl = NULL, *dd = NULL;
    if (cudaMalloc(&dx, nd * elem) || cudaMalloc(&ds, nd * elem) || cudaMalloc(&dl, n * elem) || cudaMalloc(&dd, n * elem)) {
        fprintf(stderr, "bench_gpu: cudaMalloc of the arrays failed\n");
        return 0;
    }
    void *hx = malloc(nd * elem);
    for (size_t i = 0; i < nd; i++)
        if (single) ((float *)hx)[i] = (float)x[i];
        else ((double *)hx)[i] = x[i];
    cudaMemcpy(dx, hx, nd * elem, cudaMemcpyHostToDevice);
    free(hx);
    sf_device_outputs out = {.score = ds, .logp = dl, .div = dd};
    r->device_s = r->host_s = INFINITY;
    r->worst = NAN;
    int ok = 1;
    for (int k = 0; ok && k <= repeat; k++) { /* k = 0 warms up (allocation, cuBLAS heuristics) */
        double t0 = now();
        ok = sf_plan_evaluate_device(plan, single ? SF_DTYPE_F32 : SF_DTYPE_F64, dx, n, &out, NULL) == SF_OK;
        double dt = now() - t0;
        if (k > 0 && dt < r->device_s) r->device_s = dt;
    }
    /* accuracy at the first CHECKED particles (their score and log p) */
    size_t m = n < CHECKED ? n : CHECKED;
    double *s = malloc(m * d * 8), *l = malloc(m * 8);
    if (ok) {
        void *tmp = malloc(m * d * elem);
        cudaMemcpy(tmp, ds, m * d * elem, cudaMemcpyDeviceToHost);
        for (size_t i = 0; i < m * d; i++) s[i] = single ? ((float *)tmp)[i] : ((double *)tmp)[i];
        cudaMemcpy(tmp, dl, m * elem, cudaMemcpyDeviceToHost);
        for (size_t i = 0; i < m; i++) l[i] = single ? ((float *)tmp)[i] : ((double *)tmp)[i];
        free(tmp);
        double ws = sfi_compare(ref, s, m * d, 1.0, NULL), wl = sfi_compare(ref + m * d, l, m, 1.0, NULL);
        r->worst = ws > wl ? ws : wl;
    }
    /* host arrays: transfers included */
    double *hs = malloc(nd * 8), *hl = malloc(n * 8), *hd = malloc(n * 8);
    sf_outputs ho = {.score = hs, .logp = hl, .div = hd};
    for (int k = 0; ok && k <= repeat; k++) {
        double t0 = now();
        ok = sf_plan_evaluate(plan, x, n, &ho) == SF_OK;
        double dt = now() - t0;
        if (k > 0 && dt < r->host_s) r->host_s = dt;
    }
    if (!ok) fprintf(stderr, "bench_gpu: %s\n", sf_last_error());
    free(s), free(l), free(hs), free(hl), free(hd);
    cudaFree(dx), cudaFree(ds), cudaFree(dl), cudaFree(dd);
    sf_plan_destroy(plan);
    sf_context_destroy(ctx);
    return ok;
}

/* ---------------------------------------------------------------- PyTorch */

/* Runs torch_score.py on the same mixture and time, n particles drawn there; its log p on the
 * first CHECKED of our particles is compared with ours. Returns its best time, or NAN. */
static double torch_time(const char *python, const char *script, const iso_mixture *im, const sf_time *t, size_t n,
                         sf_precision prec, int repeat, const double *x, const double *logp_ref, double *diff)
{
    char dir[] = "/tmp/sf_bench_gpuXXXXXX", path[5][600], cmd[4096];
    if (!mkdtemp(dir)) return NAN;
    size_t m = n < CHECKED ? n : CHECKED;
    size_t s1[1] = {(size_t)im->K}, s2[2] = {(size_t)im->K, (size_t)im->d}, sx[2] = {m, (size_t)im->d}, sl[1] = {m};
    static const char *const names[5] = {"w.npy", "mu.npy", "var.npy", "x.npy", "logp.npy"};
    for (int i = 0; i < 5; i++) snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
    int ok = sf_npy_write(path[0], im->w, 1, s1, SF_DTYPE_F64) == SF_OK &&
             sf_npy_write(path[1], im->mu, 2, s2, SF_DTYPE_F64) == SF_OK &&
             sf_npy_write(path[2], im->var, 1, s1, SF_DTYPE_F64) == SF_OK &&
             sf_npy_write(path[3], x, 2, sx, SF_DTYPE_F64) == SF_OK &&
             sf_npy_write(path[4], logp_ref, 1, sl, SF_DTYPE_F64) == SF_OK;
    double seconds = NAN;
    *diff = NAN;
    if (ok) {
        snprintf(cmd, sizeof cmd,
                 "%s %s --weights %s --means %s --vars %s --alpha %.17g --sigma2 %.17g --n %zu --dtype %s --repeat %d "
                 "--check-x %s --check-logp %s",
                 python, script, path[0], path[1], path[2], t->alpha, t->sigma2, n,
                 prec == SF_PRECISION_F32 ? "float32" : "float64", repeat, path[3], path[4]);
        FILE *p = popen(cmd, "r");
        char line[512];
        while (p && fgets(line, sizeof line, p)) {
            sscanf(line, "seconds %lf", &seconds);
            sscanf(line, "max_logp_rel_diff %lf", diff);
        }
        if (p && pclose(p) != 0) seconds = NAN;
    }
    for (int i = 0; i < 5; i++) remove(path[i]);
    rmdir(dir);
    return seconds;
}

/* ---------------------------------------------------------------- main */

static const char usage[] =
    "usage: bench_gpu [--shapes small,medium,large] [--repeat R] [--python PY] [--script PATH] [--no-torch]\n"
    "Score + log p + div of a random isotropic mixture (vp-linear t = 0.3) on the GPU: small d = 2, K = 8,\n"
    "N = 1e7; medium d = 64, K = 256, N = 1e6; large d = K = 1024, N = 2e5. PATH: bench/torch_score.py.\n";

int main(int argc, char **argv)
{
    const char *wanted = "small,medium,large", *python = "python3", *script = "bench/torch_score.py";
    int repeat = 3, use_torch = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-torch")) use_torch = 0;
        else if (v && !strcmp(a, "--shapes")) wanted = v, i++;
        else if (v && !strcmp(a, "--repeat")) repeat = atoi(v), i++;
        else if (v && !strcmp(a, "--python")) python = v, i++;
        else if (v && !strcmp(a, "--script")) script = v, i++;
        else {
            fprintf(stderr, "bench_gpu: bad argument '%s'\n%s", a, usage);
            return 2;
        }
    }
    if (repeat < 1) {
        fprintf(stderr, "bench_gpu: --repeat must be >= 1\n");
        return 2;
    }
    const char *why = NULL;
    if (sf_cuda_device_count(&why) == 0) {
        printf("bench_gpu: no CUDA device: %s\n", why);
        return 3;
    }
    char desc[256] = "", host[128] = "";
    sf_cuda_device_describe(0, desc, sizeof desc);
    gethostname(host, sizeof host);
    printf("bench_gpu: %s on %s\n", desc, host);
    ceilings c;
    if (!measure_ceilings(&c)) {
        fprintf(stderr, "bench_gpu: %s\n", sf_last_error());
        return 1;
    }
    sf_schedule sched = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    sf_time t;
    sf_schedule_at(&sched, 0.3, &t);
    printf("\n| shape | precision | device arrays | host arrays | GFLOP/s (7Kd) | of GEMM ceiling (default / pedantic) | "
           "GEMM done / ceiling | bytes / copy roofline | worst rel. error | PyTorch eager | PyTorch / scorefield |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    int failed = 0;
    /* what the targets need: [shape][mode] */
    double fraction_f64 = NAN, gemm_done_f64 = NAN, roofline_multiple[2] = {NAN, NAN}, worst_ratio = INFINITY;
    int torch_runs = 0;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const shape *sh = &shapes[si];
        if (!strstr(wanted, sh->name)) continue;
        iso_mixture im = make_mixture(sh->d, sh->K);
        size_t n = sh->n, nd = n * sh->d, m = n < CHECKED ? n : CHECKED;
        double *x = malloc(nd * 8), *ref = malloc((m * sh->d + m) * 8);
        sf_rng rng;
        sfi_rng_seed(&rng, 7);
        sfi_workload_particles(x, n, im.m, &t, &rng, 0.0, 0.0);
        sf_context *cpu = NULL;
        sf_context_create(&cpu, SF_BACKEND_CPU, SF_PRECISION_F64, 0);
        sf_outputs ro = {.score = ref, .logp = ref + m * sh->d};
        sf_evaluate(cpu, im.m, &t, x, m, &ro);
        sf_context_destroy(cpu);
        struct { sf_precision p; sf_gemm_math g; const char *name; int ceiling; } modes[4] = {
            {SF_PRECISION_F64, SF_GEMM_EXACT, "f64", 0}, {SF_PRECISION_F32, SF_GEMM_EXACT, "f32", 1},
            {SF_PRECISION_F32, SF_GEMM_TF32, "f32 tf32", 2}, {SF_PRECISION_F32, SF_GEMM_3XTF32, "f32 3xtf32", 3}};
        for (int k = 0; k < 4; k++) {
            if (k >= 2 && sh->d <= 32) continue; /* small d has no GEMM */
            result r = {INFINITY, INFINITY, NAN};
            if (!run_scorefield(&im, &t, x, n, modes[k].p, modes[k].g, repeat, ref, &r)) {
                failed = 1;
                continue;
            }
            size_t elem = modes[k].p == SF_PRECISION_F32 ? 4 : 8;
            double flops = 7.0 * sh->K * sh->d * (double)n;
            double gemm = sh->d > 32 ? 2.0 * sh->K * sh->d * (double)n * (k == 3 ? 3 : 1) : 0;
            double bytes = (double)n * (2.0 * sh->d + 2) * elem, roof = roof_time(bytes, &c);
            int ci = modes[k].ceiling;
            double tt = NAN, diff = NAN;
            if (use_torch && k < 2)
                tt = torch_time(python, script, &im, &t, n, modes[k].p, repeat, x, ref + m * sh->d, &diff);
            char gemm_s[32] = "-", torch_s[80] = "-", ratio_s[32] = "-";
            if (gemm > 0) snprintf(gemm_s, sizeof gemm_s, "%.1f%%", 100 * gemm / r.device_s / c.gemm[0][ci]);
            if (use_torch && k < 2) {
                if (isfinite(tt)) {
                    snprintf(torch_s, sizeof torch_s, "%.4g s (log p agrees to %.1e)", tt, diff);
                    snprintf(ratio_s, sizeof ratio_s, "%.2fx", tt / r.device_s);
                } else {
                    snprintf(torch_s, sizeof torch_s, "not run (no torch with a GPU, or the script failed)");
                }
            }
            if (si == 2 && k == 0) fraction_f64 = flops / r.device_s / c.gemm[0][0], gemm_done_f64 = gemm / r.device_s / c.gemm[0][0];
            if (si == 0 && k < 2) roofline_multiple[k] = r.device_s / roof;
            if (use_torch && k < 2) {
                torch_runs++;
                double ratio = isfinite(tt) ? tt / r.device_s : 0;
                if (ratio < worst_ratio) worst_ratio = ratio;
            }
            printf("| %s d=%d K=%d N=%zu | %s | %.4g s | %.4g s | %.0f | %.1f%% / %.1f%% | %s | %.2fx | %.2g | %s | %s |\n",
                   sh->name, sh->d, sh->K, n, modes[k].name, r.device_s, r.host_s, flops / r.device_s * 1e-9,
                   100 * flops / r.device_s / c.gemm[0][ci], 100 * flops / r.device_s / c.gemm[1][ci], gemm_s,
                   r.device_s / roof, r.worst, torch_s, ratio_s);
            fflush(stdout);
        }
        free(x), free(ref);
        free_mixture(&im);
    }
    /* issue 11's targets, measured here (not asserted by any timed test) */
    printf("\n");
    if (isfinite(fraction_f64))
        printf("target f64 d = K = 1024 from device arrays >= 60%% of the DGEMM ceiling: %.1f%% by SPEC's 7Kd count "
               "(the GEMMs screening performs: %.1f%%): %s\n",
               100 * fraction_f64, 100 * gemm_done_f64, fraction_f64 >= 0.6 ? "met" : "NOT met");
    for (int k = 0; k < 2; k++)
        if (isfinite(roofline_multiple[k]))
            printf("target %s d = 2, K = 8, N = 1e7 within 3x of the HBM roofline: %.2fx: %s\n", k ? "f32" : "f64", roofline_multiple[k],
                   roofline_multiple[k] <= 3 ? "met" : "NOT met");
    if (torch_runs)
        printf("target >= 3x faster than PyTorch eager at every shape: the least is %.2fx: %s\n", worst_ratio,
               worst_ratio >= 3 ? "met" : "NOT met");
    return failed;
}
