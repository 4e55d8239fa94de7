/* gpu_stress: the GPU suite's large cases (issue 11), each checked against the CPU reference path
 * on a random subset of particles. A program rather than a Criterion test: it takes most of the
 * device's memory and tens of GB of host memory, and only the GPU suite runs it.
 *   memory  a sampler run whose particles hold about half of the device's free memory; in its
 *           last trajectory callback, with those particles still on the device, a score + log p
 *           evaluation of all of them in the same context, and another after the run. The
 *           evaluation's batches must fit in what is left (issue 11 defect 1: v1 counted the
 *           sampler's buffer as reusable and failed with SF_ERR_CUDA); the sampler's own result
 *           is checked too;
 *   large   more than 2^31 elements: float32 device arrays of n x 2 coordinates evaluated by
 *           sf_plan_evaluate_device, particles beyond element 2^31 checked;
 *   range   a float32 coordinate of 1e30 beyond element 2^31 is refused and its particle named.
 * usage: gpu_stress [--fraction F] [--elements E]
 * exit status: 0 every case passed, 1 a case failed, 2 bad arguments, 3 no CUDA device */
#include "scorefield.h"
#include "workload.h"

#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECKED 2000 /* particles compared with the CPU per case */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int fail(const char *what, const char *why)
{
    printf("%s: FAIL: %s\n", what, why);
    return 1;
}

/* n particles as copies of a block of `block` exact samples (fast to make at any n). */
static void tile_samples(const sf_mixture *m, const sf_time *t, double *x, size_t n, size_t block)
{
    int d = sf_mixture_dim(m);
    if (block > n) block = n;
    sf_sample_marginal(m, t, 11, 0, x, block);
    for (size_t at = block; at < n; at += block) {
        size_t count = n - at < block ? n - at : block;
        memcpy(x + at * d, x, count * d * sizeof(double));
    }
}

/* Worst relative disagreement of `got` with the CPU path at the listed particles. */
static double compare_subset(sf_context *cpu, const sf_mixture *m, const sf_time *t, const double *x_of,
                             size_t x_stride_particles, const size_t *idx, size_t count, const double *score,
                             const double *logp, double tol)
{
    int d = sf_mixture_dim(m);
    double *x = malloc(count * d * 8), *s = malloc(count * d * 8), *l = malloc(count * 8);
    for (size_t i = 0; i < count; i++)
        memcpy(x + i * d, x_of + (idx[i] % x_stride_particles) * d, d * sizeof(double));
    sf_outputs o = {.score = s, .logp = l};
    double worst = INFINITY;
    if (sf_evaluate(cpu, m, t, x, count, &o) == SF_OK) {
        double ws = sfi_compare(s, score, count * d, tol, NULL), wl = sfi_compare(l, logp, count, tol, NULL);
        worst = ws > wl ? ws : wl;
    }
    free(x), free(s), free(l);
    return worst;
}

/* ---------------------------------------------------------------- memory */

typedef struct {
    sf_context *gpu;
    const sf_mixture *m;
    const sf_schedule *sched;
    double *score, *logp;
    sf_status status;
    double seconds;
    int called;
} memory_case;

/* The last frame: evaluate every particle while the sampler still holds its device memory. */
static sf_status evaluate_in_callback(void *data, int step, double t, const double *x, size_t n, int d)
{
    (void)d;
    memory_case *c = data;
    if (step == 0) return SF_OK;
    sf_time tm;
    sf_schedule_at(c->sched, t, &tm);
    sf_outputs o = {.score = c->score, .logp = c->logp};
    double t0 = now();
    c->status = sf_evaluate(c->gpu, c->m, &tm, x, n, &o);
    c->seconds = now() - t0;
    c->called = 1;
    return SF_OK; /* the run goes on either way; the status is checked after */
}

static int memory_pressure(sf_context *gpu, sf_context *cpu, const sf_mixture *m, double fraction)
{
    const char *what = "memory";
    int d = sf_mixture_dim(m);
    size_t free_bytes = 0, total = 0;
    if (cudaMemGetInfo(&free_bytes, &total) != cudaSuccess) return fail(what, "cudaMemGetInfo failed");
    /* the sampler's device bytes per particle: x and three stages of eps in double, the stage input
     * and score in double */
    size_t per = (1 + 3 + 2) * (size_t)d * sizeof(double), n = (size_t)(fraction * free_bytes / per);
    sf_schedule sched = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    sf_time start;
    sf_schedule_at(&sched, 0.5, &start);
    double *x = malloc(n * d * 8), *score = malloc(n * d * 8), *logp = malloc(n * 8);
    size_t idx[CHECKED];
    double *x0 = malloc(CHECKED * (size_t)d * 8);
    if (!x || !score || !logp || !x0) return fail(what, "not enough host memory");
    tile_samples(m, &start, x, n, (size_t)1 << 20);
    sf_rng rng;
    sfi_rng_seed(&rng, 5);
    for (int i = 0; i < CHECKED; i++) {
        idx[i] = (size_t)(sfi_rng_uniform(&rng) * n);
        memcpy(x0 + (size_t)i * d, x + idx[i] * d, d * sizeof(double));
    }
    memory_case c = {gpu, m, &sched, score, logp, SF_OK, 0, 0};
    sf_sampler smp = sf_sampler_default(SF_SAMPLER_DDPM);
    smp.t1 = 0.5, smp.t0 = 0.3, smp.steps = 2, smp.seed = 8;
    double t0 = now();
    sf_status st = sf_sample(gpu, m, &sched, &smp, x, n, 0, evaluate_in_callback, &c, smp.steps);
    double elapsed = now() - t0;
    int bad = 0;
    char why[512];
    if (st != SF_OK) {
        snprintf(why, sizeof why, "the sampler failed: %s", sf_last_error());
        bad = fail(what, why);
    } else if (!c.called || c.status != SF_OK) {
        snprintf(why, sizeof why, "evaluating %zu particles beside the sampler's %.1f GB failed: %s", n, per * (double)n / 1e9,
                 c.called ? sf_last_error() : "no callback");
        bad = fail(what, why);
    } else {
        /* the sampler's particles (each one's noise is keyed by its index: rerun it alone on the CPU) */
        double worst_x = 0;
        for (int i = 0; i < CHECKED && i < 200; i++) {
            double xi[64];
            memcpy(xi, x0 + (size_t)i * d, d * sizeof(double));
            if (sf_sample(cpu, m, &sched, &smp, xi, 1, idx[i], NULL, NULL, 0) != SF_OK) worst_x = INFINITY;
            for (int j = 0; j < d; j++) {
                double e = fabs(xi[j] - x[idx[i] * d + j]) / (1e-9 * (1 + fabs(xi[j])));
                worst_x = e > worst_x ? e : worst_x;
            }
        }
        /* the evaluation at t0, at the sampler's results */
        sf_time end;
        sf_schedule_at(&sched, smp.t0, &end);
        double *s_sub = malloc(CHECKED * (size_t)d * 8), *l_sub = malloc(CHECKED * 8);
        for (int i = 0; i < CHECKED; i++) {
            memcpy(s_sub + (size_t)i * d, score + idx[i] * d, d * sizeof(double));
            l_sub[i] = logp[idx[i]];
        }
        double worst = compare_subset(cpu, m, &end, x, n, idx, CHECKED, s_sub, l_sub, 1e-11);
        free(s_sub), free(l_sub);
        /* and after the run, in the same context: its memory is free again */
        sf_outputs again = {.logp = logp};
        double t1 = now();
        sf_status after = sf_evaluate(gpu, m, &end, x, n, &again);
        double after_s = now() - t1;
        printf("%s: %zu particles (%.1f GB on the device) sampled in %.2f s; their evaluation inside the run took %.2f s, "
               "after it %.2f s; sampler worst %.3g, evaluation worst %.3g of tolerance\n",
               what, n, per * (double)n / 1e9, elapsed, c.seconds, after_s, worst_x, worst);
        if (after != SF_OK) {
            snprintf(why, sizeof why, "evaluating after the sampler run failed: %s", sf_last_error());
            bad = fail(what, why);
        } else if (!(worst_x <= 1) || !(worst <= 1)) {
            bad = fail(what, "results differ from the CPU path");
        } else {
            printf("%s: pass\n", what);
        }
    }
    free(x), free(score), free(logp), free(x0);
    return bad;
}

/* ---------------------------------------------------------------- large and range */

static int large_arrays(sf_context *gpu, sf_context *cpu, const sf_mixture *m, size_t elements)
{
    const char *what = "large";
    int d = sf_mixture_dim(m);
    size_t n = (elements + d - 1) / d, block = (size_t)1 << 20;
    sf_schedule sched = sf_schedule_default(SF_SCHEDULE_VE);
    sf_time t;
    sf_schedule_at(&sched, 0.4, &t);
    double *x64 = malloc(block * d * 8);
    float *x32 = malloc(block * d * 4);
    tile_samples(m, &t, x64, block, block);
    for (size_t i = 0; i < block * d; i++) x64[i] = x32[i] = (float)x64[i]; /* float32 values both sides */
    float *x = NULL, *score = NULL, *logp = NULL;
    if (cudaMalloc((void **)&x, n * d * 4) != cudaSuccess || cudaMalloc((void **)&score, n * d * 4) != cudaSuccess ||
        cudaMalloc((void **)&logp, n * 4) != cudaSuccess)
        return fail(what, "cudaMalloc of the arrays failed");
    for (size_t at = 0; at < n; at += block) {
        size_t count = n - at < block ? n - at : block;
        if (cudaMemcpy(x + at * d, x32, count * d * 4, cudaMemcpyHostToDevice) != cudaSuccess)
            return fail(what, "filling the particles failed");
    }
    sf_plan *plan = NULL;
    int bad = 0;
    char why[512];
    if (sf_plan_create(&plan, gpu, m, &t) != SF_OK) return fail(what, sf_last_error());
    sf_device_outputs out = {.score = score, .logp = logp};
    double t0 = now();
    sf_status st = sf_plan_evaluate_device(plan, SF_DTYPE_F32, x, n, &out, NULL);
    double elapsed = now() - t0;
    if (st != SF_OK) {
        snprintf(why, sizeof why, "%zu elements: %s", n * d, sf_last_error());
        bad = fail(what, why);
    } else {
        size_t idx[CHECKED];
        double s[CHECKED * 8], l[CHECKED];
        sf_rng rng;
        sfi_rng_seed(&rng, 6);
        for (int i = 0; i < CHECKED; i++) { /* half of them beyond element 2^31 */
            size_t lo = i % 2 ? ((size_t)1 << 31) / d : 0;
            idx[i] = lo + (size_t)(sfi_rng_uniform(&rng) * (n - lo));
            float fs[8], fl;
            cudaMemcpy(fs, score + idx[i] * d, d * 4, cudaMemcpyDeviceToHost);
            cudaMemcpy(&fl, logp + idx[i], 4, cudaMemcpyDeviceToHost);
            for (int j = 0; j < d; j++) s[i * d + j] = fs[j];
            l[i] = fl;
        }
        double worst = compare_subset(cpu, m, &t, x64, block, idx, CHECKED, s, l, 1e-4);
        printf("%s: %zu particles, %zu elements (2^31 = %zu), float32 device arrays: %.3f s, %.3g particles/s; worst %.3g "
               "of tolerance\n",
               what, n, n * d, (size_t)1 << 31, elapsed, n / elapsed, worst);
        if (!(worst <= 1)) bad = fail(what, "results beyond 2^31 elements differ from the CPU path");
        else printf("%s: pass\n", what);
    }
    /* range: a float32 coordinate of 1e30 past element 2^31 */
    size_t victim = n - 3;
    float huge = 1e30f;
    cudaMemcpy(x + victim * d + 1, &huge, 4, cudaMemcpyHostToDevice);
    st = sf_plan_evaluate_device(plan, SF_DTYPE_F32, x, n, &out, NULL);
    char want[96];
    snprintf(want, sizeof want, "particle %zu, coordinate 1", victim);
    if (st != SF_ERR_INVALID || !strstr(sf_last_error(), want)) {
        snprintf(why, sizeof why, "1e30 at particle %zu: status %d, \"%s\"", victim, (int)st, sf_last_error());
        bad |= fail("range", why);
    } else {
        printf("range: refused: %s\nrange: pass\n", sf_last_error());
    }
    sf_plan_destroy(plan);
    cudaFree(x), cudaFree(score), cudaFree(logp);
    free(x64), free(x32);
    return bad;
}

int main(int argc, char **argv)
{
    double fraction = 0.5;
    size_t elements = ((size_t)1 << 31) + ((size_t)1 << 26);
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--fraction")) fraction = atof(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--elements")) elements = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: gpu_stress [--fraction F] [--elements E]\n");
            return 2;
        }
    }
    if (!(fraction > 0 && fraction < 0.8) || elements < 2) {
        fprintf(stderr, "gpu_stress: need 0 < fraction < 0.8 and elements >= 2\n");
        return 2;
    }
    const char *why = NULL;
    if (sf_cuda_device_count(&why) == 0) {
        printf("gpu_stress: no CUDA device: %s\n", why);
        return 3;
    }
    sf_rng rng;
    sfi_rng_seed(&rng, 2026);
    sf_mixture *m = NULL;
    sf_context *gpu64 = NULL, *gpu32 = NULL, *cpu = NULL;
    if (sfi_workload_mixture(&m, &rng, 2, 8, SF_WORKLOAD_ISOTROPIC, 1.0) != SF_OK ||
        sf_context_create(&cpu, SF_BACKEND_CPU, SF_PRECISION_F64, 0) != SF_OK ||
        sf_context_create(&gpu64, SF_BACKEND_CUDA, SF_PRECISION_F64, 0) != SF_OK ||
        sf_context_create(&gpu32, SF_BACKEND_CUDA, SF_PRECISION_F32, 0) != SF_OK) {
        fprintf(stderr, "gpu_stress: %s\n", sf_last_error());
        return 1;
    }
    int bad = memory_pressure(gpu64, cpu, m, fraction);
    bad |= large_arrays(gpu32, cpu, m, elements);
    sf_context_destroy(gpu64), sf_context_destroy(gpu32), sf_context_destroy(cpu);
    sf_mixture_destroy(m);
    printf("gpu_stress: %s\n", bad ? "FAILED" : "all cases passed");
    return bad ? 1 : 0;
}
