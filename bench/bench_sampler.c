/* bench_sampler: particle-steps per second of every sampler with the exact score (score
 * evaluations per step: 1, except Heun and DPM-Solver-2 (2) and DPM-Solver-3 (3)), and the
 * probability-flow likelihood (score and divergence at each of its Dormand-Prince stages). */
#include "ceilings.h"
#include "workload.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    int d = 16, K = 32, steps = 20;
    size_t n = 50000;
    sf_backend backend = SF_BACKEND_CPU;
    sf_precision precision = SF_PRECISION_F64;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v && !strcmp(a, "--dim")) d = atoi(v), i++;
        else if (v && !strcmp(a, "--components")) K = atoi(v), i++;
        else if (v && !strcmp(a, "--n")) n = strtoull(v, NULL, 10), i++;
        else if (v && !strcmp(a, "--steps")) steps = atoi(v), i++;
        else if (v && !strcmp(a, "--backend") && sf_backend_parse(v, &backend) == SF_OK) i++;
        else if (v && !strcmp(a, "--precision")) precision = strcmp(v, "f32") ? SF_PRECISION_F64 : SF_PRECISION_F32, i++;
        else {
            fprintf(stderr, "usage: bench_sampler [--dim D] [--components K] [--n N] [--steps S] [--backend cpu|reference|cuda] "
                            "[--precision f64|f32]\n");
            return 2;
        }
    }
    sf_context *ctx;
    sf_mixture *m;
    sf_rng rng;
    sfi_rng_seed(&rng, 2026);
    if (sf_context_create(&ctx, backend, precision, 0) != SF_OK ||
        sfi_workload_mixture(&m, &rng, d, K, SF_WORKLOAD_ISOTROPIC, 1.0) != SF_OK) {
        fprintf(stderr, "bench_sampler: %s\n", sf_last_error());
        return 1;
    }
    sf_schedule s = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    sf_time start;
    sf_schedule_at(&s, 1.0, &start);
    double *x = malloc(n * d * sizeof(double));
    printf("bench_sampler: d = %d, K = %d, N = %zu, %d steps vp-linear 1 -> 0.01, backend %s (%s)\n", d, K, n, steps,
           sf_backend_name(sf_context_backend(ctx)), precision == SF_PRECISION_F32 ? "f32" : "f64");
    static const int evals[8] = {1, 1, 2, 1, 1, 1, 2, 3};
    for (int kind = SF_SAMPLER_EM; kind <= SF_SAMPLER_DPM3; kind++) {
        sf_sampler smp = sf_sampler_default((sf_sampler_kind)kind);
        smp.steps = steps, smp.t1 = 1.0, smp.t0 = 0.01, smp.seed = 1;
        sf_sample_marginal(m, &start, 1, 0, x, n);
        double t0 = bench_now();
        if (sf_sample(ctx, m, &s, &smp, x, n, 0, NULL, NULL, 0) != SF_OK) {
            fprintf(stderr, "bench_sampler: %s\n", sf_last_error());
            return 1;
        }
        double secs = bench_now() - t0, rate = n * (double)steps / secs;
        printf("  %-10s %8.3g particle-steps/s  (%d score evaluations per step: %.3g evaluations/s)\n",
               sf_sampler_kind_name((sf_sampler_kind)kind), rate, evals[kind], rate * evals[kind]);
    }
    /* the likelihood of exact draws at t0 = 0.01: PF-ODE to t1 = 1 with the exact divergence */
    sf_time low;
    sf_schedule_at(&s, 0.01, &low);
    sf_sample_marginal(m, &low, 2, 0, x, n);
    double *logp = malloc(n * sizeof(double));
    int taken = 0;
    double t0 = bench_now();
    if (sf_loglik_ode(ctx, m, &s, 0.01, 1.0, x, n, 1e-6, 1e-8, logp, &taken) != SF_OK) {
        fprintf(stderr, "bench_sampler: %s\n", sf_last_error());
        return 1;
    }
    double secs = bench_now() - t0;
    printf("  %-10s %8.3g particles/s  (%d accepted steps, rtol 1e-6: %.3g particle-steps/s)\n", "loglik", n / secs,
           taken, n * (double)taken / secs);
    free(x), free(logp);
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
    return 0;
}
