/* The CUDA kernel's per-particle logic (kernels/score_particle.h), run on the CPU with one lane,
 * against the float64 reference path: GEMM-form screening, direct recomputation of the surviving
 * components, log-sum-exp, centred divergence, denoiser; in float64 and float32. The GEMM products
 * are formed here by plain loops in the working precision, as cuBLAS would form them. */
#include "field.h"
#include "test_helpers.h"

#include <float.h>

#define SF_REAL double
#define SF_NAME(x) x##_f64
#include "score_particle.h"
#define SF_REAL float
#define SF_NAME(x) x##_f32
#include "score_particle.h"

typedef struct {
    int screened; /* components skipped by screening, over all particles */
} logic_stats;

/* Instantiates "run the per-particle logic over n particles" for one precision. */
#define DEFINE_RUN(T, SUFFIX, EPS)                                                                         \
    static logic_stats run_##SUFFIX(const sf_field *f, const double *x64, size_t n, double cutoff,        \
                                    double perturb, double *score, double *logp, double *resp, double *div, \
                                    double *denoise)                                                      \
    {                                                                                                     \
        sf_field_layout L = sf_field_layout_of(f);                                                        \
        T *packed = malloc(L.total * sizeof(T));                                                          \
        sf_field_pack(f, &L, sizeof(T) == sizeof(float), packed);                                         \
        sf_field_view_##SUFFIX v = sf_field_view_at_##SUFFIX(f, &L, packed, f->rank_offset);              \
        int d = f->d, K = f->K;                                                                           \
        T *x = malloc(d * sizeof(T)), *approx = malloc(K * sizeof(T)), *bound = malloc(K * sizeof(T));     \
        T *proj = malloc((f->R + 1) * sizeof(T)), *g = malloc(d * sizeof(T)), *resid = malloc(d * sizeof(T)); \
        T *logit = malloc(K * sizeof(T)), *s = malloc(d * sizeof(T)), *den = malloc(d * sizeof(T));       \
        T *r = malloc(K * sizeof(T)), lp, dv;                                                             \
        logic_stats stats = {0};                                                                          \
        for (size_t p = 0; p < n; p++) {                                                                  \
            for (int i = 0; i < d; i++) x[i] = (T)x64[p * d + i];                                         \
            for (int k = 0; k < K; k++) {                                                                 \
                T xpx = 0, xpm = 0;                                                                       \
                for (int i = 0; i < d; i++) {                                                             \
                    xpx += x[i] * x[i] * v.prec_diag[k * d + i];                                          \
                    xpm += x[i] * v.prec_mean[k * d + i];                                                           \
                }                                                                                         \
                for (int j = f->rank_offset[k]; j < f->rank_offset[k + 1]; j++) {                          \
                    T c = 0;                                                                              \
                    for (int i = 0; i < d; i++) c += v.basis[j * d + i] * x[i];                           \
                    proj[j - f->rank_offset[k]] = c;                                                      \
                }                                                                                         \
                sf_logit_bound_##SUFFIX(&v, k, xpx, xpm, proj, (T)(EPS), approx + k, bound + k);          \
                /* any approximation within the stated bound must give the same answer */                 \
                approx[k] += (T)(perturb * ((k % 3) - 1)) * bound[k];                                     \
            }                                                                                             \
            sf_particle_rows_##SUFFIX rows = {g, resid, logit, s, den, r, &lp, &dv};                      \
            sf_evaluate_particle_##SUFFIX(&v, x, approx, bound, (T)cutoff, &rows, 0, 1);                  \
            for (int k = 0; k < K; k++) stats.screened += isinf(logit[k]) ? 1 : 0;                         \
            for (int i = 0; i < d; i++) score[p * d + i] = s[i], denoise[p * d + i] = den[i];             \
            for (int k = 0; k < K; k++) resp[p * K + k] = r[k];                                           \
            logp[p] = lp, div[p] = dv;                                                                    \
        }                                                                                                 \
        free(packed), free(x), free(approx), free(bound), free(proj), free(g), free(resid);               \
        free(logit), free(s), free(den), free(r);                                                         \
        return stats;                                                                                     \
    }

DEFINE_RUN(double, f64, DBL_EPSILON)
DEFINE_RUN(float, f32, FLT_EPSILON)

static void compare_logic(int single, int d, int K, sf_workload_kinds kinds, sf_schedule_kind sched, double t,
                          double spread, double outliers, double outlier_scale, double perturb, uint64_t seed,
                          int expect_screening)
{
    sf_rng rng;
    sf_rng_seed(&rng, seed);
    sf_mixture *m;
    cr_assert_eq(sf_workload_mixture(&m, &rng, d, K, kinds, spread), SF_OK);
    sf_time time = time_at(sched, t);
    size_t n = 200;
    double *x = malloc(n * d * sizeof(double));
    sf_workload_particles(x, n, m, &time, &rng, outliers, outlier_scale);
    sf_context *ctx = cpu_context();
    sf_outputs ref = eval_all(ctx, m, &time, x, n);
    sf_field field;
    cr_assert_eq(sf_field_build(&field, m, &time), SF_OK);
    double *got[5] = {malloc(n * d * sizeof(double)), malloc(n * sizeof(double)), malloc(n * K * sizeof(double)),
                      malloc(n * sizeof(double)), malloc(n * d * sizeof(double))};
    logic_stats st = single ? run_f32(&field, x, n, 40, perturb, got[0], got[1], got[2], got[3], got[4])
                            : run_f64(&field, x, n, 80, perturb, got[0], got[1], got[2], got[3], got[4]);
    double tol = single ? 1e-4 : 1e-11; /* as scorefield check: GPU vs CPU */
    sf_outputs have = {got[0], got[1], got[2], got[3], got[4]};
    char what[96];
    snprintf(what, sizeof what, "%s d = %d K = %d (kernel logic vs cpu)", single ? "f32" : "f64", d, K);
    expect_outputs_close(&ref, &have, n, d, K, tol, what);
    for (int o = 0; o < 5; o++) free(got[o]);
    if (expect_screening) cr_expect(st.screened > 0, "screening skipped no component: the test exercises nothing");
    sf_field_free(&field);
    free_outputs(&ref);
    free(x);
    sf_context_destroy(ctx);
    sf_mixture_destroy(m);
}

Test(gpu_logic, f64_matches_reference_all_kinds)
{
    compare_logic(0, 7, 12, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.1, 1.0, 0.05, 30.0, 0.0, 1, 1);
    compare_logic(0, 40, 9, SF_WORKLOAD_ALL, SF_SCHEDULE_VE, 0.3, 1.0, 0.05, 30.0, 0.0, 2, 0);
    compare_logic(0, 3, 33, SF_WORKLOAD_LOWRANK, SF_SCHEDULE_VP_COSINE, 0.05, 1.0, 0.02, 10.0, 0.0, 3, 1);
}

Test(gpu_logic, f64_screening_tolerates_bounded_gemm_error)
{
    /* approximate logits moved by up to +-1x their rounding bound: results unchanged */
    compare_logic(0, 7, 12, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.1, 1.0, 0.05, 30.0, 1.0, 4, 1);
    /* far outliers: the GEMM form cancels badly, the bound widens, and survivors are recomputed */
    compare_logic(0, 16, 8, SF_WORKLOAD_ISOTROPIC, SF_SCHEDULE_VE, 0.05, 1.0, 0.5, 1e4, 1.0, 5, 1);
}

Test(gpu_logic, f32_matches_reference_within_f32_tolerance)
{
    compare_logic(1, 7, 12, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.3, 1.0, 0.05, 4.0, 0.0, 6, 0);
    compare_logic(1, 32, 6, SF_WORKLOAD_ISOTROPIC, SF_SCHEDULE_VE, 0.4, 1.0, 0.05, 4.0, 1.0, 7, 0);
}
