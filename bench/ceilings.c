/* Ceilings measured on the spot for the benchmarks' "fraction of the measured ceiling". */
#include "ceilings.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* CPU ceiling: 16 independent multiply-add chains per thread (as vectorised as the compiler's flags allow). */
double bench_cpu_fma_peak(void)
{
    const long iters = 20000000;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = bench_now(), sink = 0;
#pragma omp parallel reduction(+ : sink)
        {
            double a[16], b = 0.999999, c = 1e-7;
            for (int j = 0; j < 16; j++) a[j] = j * 1e-3 + omp_get_thread_num();
            for (long i = 0; i < iters; i++)
#pragma omp simd
                for (int j = 0; j < 16; j++) a[j] = a[j] * b + c;
            for (int j = 0; j < 16; j++) sink += a[j];
        }
        double dt = bench_now() - t0, flops = 2.0 * 16 * iters * omp_get_max_threads() / dt;
        if (sink == 42.0) puts(""); /* keep the loop alive */
        if (flops > best) best = flops;
    }
    return best;
}

/* CPU memory ceiling: STREAM triad a = b + s c over 3 x 64 MiB. */
double bench_cpu_triad_bandwidth(void)
{
    size_t n = (size_t)8 << 20;
    double *a = malloc(n * 8), *b = malloc(n * 8), *c = malloc(n * 8), best = 0;
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) a[i] = 0, b[i] = 1, c[i] = 2;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = bench_now();
#pragma omp parallel for
        for (size_t i = 0; i < n; i++) a[i] = b[i] + 0.5 * c[i];
        double bw = 3.0 * 8 * n / (bench_now() - t0);
        if (bw > best) best = bw;
    }
    free(a), free(b), free(c);
    return best;
}


/* CPU matrix ceiling: C = A B with n = 2048 (2 n^3 flops), OpenBLAS on all threads. */
double bench_cpu_dgemm_rate(void)
{
    const int n = 2048;
    size_t nn = (size_t)n * n;
    double *a = malloc(nn * sizeof(double)), *b = malloc(nn * sizeof(double)), *c = malloc(nn * sizeof(double));
    double best = 0;
    if (a && b && c) {
        for (size_t i = 0; i < nn; i++) a[i] = 1.0 + (double)(i % 7) * 1e-3, b[i] = 1.0 - (double)(i % 5) * 1e-3;
        for (int rep = 0; rep < 4; rep++) { /* the first call warms up the thread pool and the pages */
            double t0 = bench_now();
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
            double rate = 2.0 * n * (double)nn / (bench_now() - t0);
            if (rep > 0 && rate > best) best = rate;
        }
    }
    free(a), free(b), free(c);
    return best;
}
