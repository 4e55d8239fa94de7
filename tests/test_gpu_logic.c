/* The CUDA kernel's per-particle logic (kernels/score_particle.h), run on the CPU with one lane,
 * against the float64 reference path (src/cpu/score_cpu.c): GEMM-form screening, direct recomputation
 * of the surviving components, log-sum-exp, centred divergence, denoiser, Laplacian, H v (given
 * directions and the s/x-built one), full Hessian and d/dt; in float64 and float32. The GEMM
 * products are formed here by plain loops in the working precision, as cuBLAS would form them. */
#include "field.h"
#include "request.h"
#include "score_cpu.h"
#include "test_helpers.h"

#include <float.h>
#include <string.h>

#define SF_REAL double
#define SF_NAME(x) x##_f64
#include "score_particle.h"
#define SF_REAL float
#define SF_NAME(x) x##_f32
#include "score_particle.h"

/* Every output of a request, allocated for n particles (hvp_dir given or not). */
static sf_request alloc_request(size_t n, int d, int K, const double *hvp_dir, double hvp_s, double hvp_x)
{
    size_t nd = n * d;
    sf_request rq = {.score = malloc(nd * 8), .logp = malloc(n * 8), .resp = malloc(n * K * 8), .div = malloc(n * 8),
                     .denoise = malloc(nd * 8), .lap = malloc(nd * 8), .hvp = malloc(nd * 8), .hvp_dir = hvp_dir,
                     .hvp_s = hvp_s, .hvp_x = hvp_x, .hessian = malloc(nd * d * 8), .dt_score = malloc(nd * 8),
                     .dt_logp = malloc(n * 8)};
    return rq;
}

static void free_request(sf_request *rq)
{
    free(rq->score), free(rq->logp), free(rq->resp), free(rq->div), free(rq->denoise), free(rq->lap);
    free(rq->hvp), free(rq->hessian), free(rq->dt_score), free(rq->dt_logp);
}

/* Instantiates "run the per-particle logic over n particles into request `out`" for one precision;
 * returns how many components screening skipped, over all particles. */
#define DEFINE_RUN(T, SUFFIX, EPS)                                                                          \
    static int run_##SUFFIX(const sf_field *f, const double *x64, size_t n, double cutoff, double perturb,  \
                            sf_request *out)                                                               \
    {                                                                                                      \
        sf_field_layout L = sf_field_layout_of(f);                                                         \
        T *packed = malloc(L.total * sizeof(T));                                                           \
        sf_field_pack(f, &L, sizeof(T) == sizeof(float), packed);                                          \
        sf_field_view_##SUFFIX v = sf_field_view_at_##SUFFIX(f, &L, packed, f->rank_offset);               \
        int d = f->d, K = f->K, screened = 0;                                                              \
        size_t dd = (size_t)d * sizeof(T), kk = (size_t)K * sizeof(T);                                     \
        T *x = malloc(dd), *dir = malloc(dd), *approx = malloc(kk), *bound = malloc(kk);                   \
        T *proj = malloc((f->R + 1) * sizeof(T)), *buf = malloc(dd * 14 + dd * d + kk * 3 + 3 * sizeof(T)); \
        sf_particle_rows_##SUFFIX rows;                                                                    \
        T *at = buf;                                                                                       \
        rows.g = at, at += d, rows.resid = at, at += d, rows.delta = at, at += d, rows.tmp = at, at += d;  \
        rows.tmp2 = at, at += d, rows.dir = at, at += d, rows.score = at, at += d, rows.denoise = at, at += d; \
        rows.lap = at, at += d, rows.hvp = at, at += d, rows.dt_score = at, at += d;                       \
        rows.hessian = at, at += (size_t)d * d, rows.logit = at, at += K, rows.dlogit = at, at += K;       \
        rows.resp = at, at += K, rows.logp = at++, rows.div = at++, rows.dt_logp = at++;                   \
        rows.hvp_s = (T)out->hvp_s, rows.hvp_x = (T)out->hvp_x;                                            \
        for (size_t p = 0; p < n; p++) {                                                                   \
            for (int i = 0; i < d; i++) x[i] = (T)x64[p * d + i];                                          \
            if (out->hvp_dir)                                                                              \
                for (int i = 0; i < d; i++) dir[i] = (T)out->hvp_dir[p * d + i];                           \
            rows.hvp_dir = out->hvp_dir ? dir : NULL;                                                      \
            for (int k = 0; k < K; k++) {                                                                  \
                T xpx = 0, xpm = 0;                                                                        \
                for (int i = 0; i < d; i++) {                                                              \
                    xpx += x[i] * x[i] * v.prec_diag[k * d + i];                                           \
                    xpm += x[i] * v.prec_mean[k * d + i];                                                  \
                }                                                                                          \
                for (int j = f->rank_offset[k]; j < f->rank_offset[k + 1]; j++) {                           \
                    T c = 0;                                                                               \
                    for (int i = 0; i < d; i++) c += v.basis[j * d + i] * x[i];                            \
                    proj[j - f->rank_offset[k]] = c;                                                       \
                }                                                                                          \
                sf_logit_bound_##SUFFIX(&v, k, xpx, xpm, proj, (T)(EPS), approx + k, bound + k);           \
                /* any approximation within the stated bound must give the same answer */                  \
                approx[k] += (T)(perturb * ((k % 3) - 1)) * bound[k];                                      \
            }                                                                                              \
            sf_evaluate_particle_##SUFFIX(&v, x, approx, bound, (T)cutoff, &rows, 0, 1);                   \
            for (int k = 0; k < K; k++) screened += isinf(rows.logit[k]) ? 1 : 0;                          \
            for (int i = 0; i < d; i++) {                                                                  \
                size_t o = p * d + i;                                                                      \
                out->score[o] = rows.score[i], out->denoise[o] = rows.denoise[i], out->lap[o] = rows.lap[i]; \
                out->hvp[o] = rows.hvp[i], out->dt_score[o] = rows.dt_score[i];                            \
            }                                                                                              \
            for (int i = 0; i < d * d; i++) out->hessian[p * d * d + i] = rows.hessian[i];                 \
            for (int k = 0; k < K; k++) out->resp[p * K + k] = rows.resp[k];                               \
            out->logp[p] = *rows.logp, out->div[p] = *rows.div, out->dt_logp[p] = *rows.dt_logp;           \
        }                                                                                                  \
        free(packed), free(x), free(dir), free(approx), free(bound), free(proj), free(buf);                \
        return screened;                                                                                   \
    }

DEFINE_RUN(double, f64, DBL_EPSILON)
DEFINE_RUN(float, f32, FLT_EPSILON)

static void compare_logic(int single, int d, int K, sf_workload_kinds kinds, sf_schedule_kind sched, double t,
                          double outliers, double outlier_scale, double perturb, int given_directions, uint64_t seed,
                          int expect_screening)
{
    sf_rng rng;
    sf_rng_seed(&rng, seed);
    sf_mixture *m;
    cr_assert_eq(sf_workload_mixture(&m, &rng, d, K, kinds, 1.0), SF_OK);
    sf_time time = time_at(sched, t);
    size_t n = 120, nd = n * d;
    double *x = malloc(nd * sizeof(double)), *v = malloc(nd * sizeof(double));
    sf_workload_particles(x, n, m, &time, &rng, outliers, outlier_scale);
    for (size_t i = 0; i < nd; i++) v[i] = sf_rng_normal(&rng);
    sf_field field;
    cr_assert_eq(sf_field_build(&field, m, &time), SF_OK);
    const double *dir = given_directions ? v : NULL;
    sf_request ref = alloc_request(n, d, K, dir, 0.7, -0.3), got = alloc_request(n, d, K, dir, 0.7, -0.3);
    cr_assert_eq(sf_score_cpu(&field, x, n, &ref), SF_OK, "%s", sf_last_error());
    int screened = single ? run_f32(&field, x, n, 40, perturb, &got) : run_f64(&field, x, n, 80, perturb, &got);
    double tol = single ? 1e-4 : 1e-11; /* as scorefield check: GPU vs CPU */
    const struct { const char *name; const double *a, *b; size_t size; } outs[] = {
        {"score", ref.score, got.score, nd},      {"logp", ref.logp, got.logp, n},
        {"resp", ref.resp, got.resp, n * K},      {"div", ref.div, got.div, n},
        {"denoise", ref.denoise, got.denoise, nd}, {"lap", ref.lap, got.lap, nd},
        {"hvp", ref.hvp, got.hvp, nd},            {"hessian", ref.hessian, got.hessian, nd * d},
        {"dt_score", ref.dt_score, got.dt_score, nd}, {"dt_logp", ref.dt_logp, got.dt_logp, n}};
    double lap_scale = sf_rms(ref.div, n) * sf_rms(ref.score, nd); /* the size of the Laplacian's terms */
    for (size_t o = 0; o < sizeof outs / sizeof outs[0]; o++) {
        size_t at;
        double scale = outs[o].a == ref.lap ? lap_scale : sf_rms(outs[o].a, outs[o].size);
        double worst = sf_compare_scaled(outs[o].a, outs[o].b, outs[o].size, tol, scale, &at);
        cr_expect(worst <= 1.0, "%s %s d = %d K = %d: worst %.3g x tol %g at %zu (cpu %.17g, kernel logic %.17g)",
                  single ? "f32" : "f64", outs[o].name, d, K, worst, tol, at, outs[o].a[at], outs[o].b[at]);
    }
    if (expect_screening) cr_expect(screened > 0, "screening skipped no component: the test exercises nothing");
    free_request(&ref), free_request(&got);
    sf_field_free(&field);
    free(x), free(v);
    sf_mixture_destroy(m);
}

Test(gpu_logic, f64_matches_reference_all_kinds)
{
    compare_logic(0, 7, 12, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.1, 0.05, 30.0, 0.0, 1, 1, 1);
    compare_logic(0, 40, 9, SF_WORKLOAD_ALL, SF_SCHEDULE_VE, 0.3, 0.05, 30.0, 0.0, 0, 2, 0);
    compare_logic(0, 3, 33, SF_WORKLOAD_LOWRANK, SF_SCHEDULE_VP_COSINE, 0.05, 0.02, 10.0, 0.0, 1, 3, 1);
}

Test(gpu_logic, f64_screening_tolerates_bounded_gemm_error)
{
    /* approximate logits moved by up to +-0.9 of their rounding bound: results unchanged */
    compare_logic(0, 7, 12, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.1, 0.05, 30.0, 0.9, 0, 4, 1);
    /* far outliers: the GEMM form cancels badly, the bound widens, and survivors are recomputed */
    compare_logic(0, 16, 8, SF_WORKLOAD_ISOTROPIC, SF_SCHEDULE_VE, 0.05, 0.5, 1e4, 0.9, 1, 5, 1);
}

Test(gpu_logic, f32_matches_reference_within_f32_tolerance)
{
    compare_logic(1, 7, 12, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.3, 0.05, 4.0, 0.0, 1, 6, 0);
    compare_logic(1, 32, 6, SF_WORKLOAD_ISOTROPIC, SF_SCHEDULE_VE, 0.4, 0.05, 4.0, 0.9, 0, 7, 0);
}
