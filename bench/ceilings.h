/* Ceilings measured on the spot, shared by the benchmark programs. */
#ifndef SF_BENCH_CEILINGS_H
#define SF_BENCH_CEILINGS_H

/* Monotonic wall time in seconds. */
double bench_now(void);
/* CPU ceiling: FLOP/s of 16 independent multiply-add chains per thread on all OpenMP threads
 * (as vectorised as the project's compiler flags allow). */
double bench_cpu_fma_peak(void);
/* CPU memory ceiling: bytes/s of a STREAM triad over 3 x 64 MiB. */
double bench_cpu_triad_bandwidth(void);
/* CPU matrix ceiling: FLOP/s of OpenBLAS DGEMM (square, n = 2048, all OpenMP threads), best of 3. */
double bench_cpu_dgemm_rate(void);

#endif
