/* The CUDA kernels' per-particle logic (kernels/score_particle.h, kernels/small_particle.h), run on
 * the CPU with one lane, against the float64 reference path (src/cpu/score_cpu.c), in float64 and
 * float32 with the same arithmetic types as the device (coordinates in the working precision;
 * precisions, normalisers, sums, logits and weights in double):
 *  - GEMM-form screening: the GEMM products are formed here by loops in the working precision (and
 *    with TF32 input rounding emulated), the bound is checked to hold against the exact quadratic
 *    form of the stored field (long double), survivors are evaluated by sf_evaluate_survivors and
 *    every output compared; approximations moved within their bound, or NaN, change nothing;
 *  - the small-d register logic (every component once, online log-sum-exp, Welford);
 *  - the NaN-symmetric warp maximum, on an emulated 32-lane butterfly (issue 11 defect 2);
 *  - float32 at d = 1024 (issue 11 defect 5);
 *  - batch sizing and the halving retry (issue 11 defect 1);
 *  - the sampler's history ring as kernels/sample.cu indexes it (sf_step_slot). */
#define SF_SMALL_SLOTS 32 /* one lane owns every coordinate up to d = 32 (the device: 8 per lane) */
#include "batch.h"
#include "field.h"
#include "particle_logic.h"
#include "request.h"
#include "score_cpu.h"
#include "step_plan.h"
#include "test_helpers.h"

#include <float.h>
#include <stdint.h>
#include <string.h>

/* ---------------------------------------------------------------- the field as the kernels see it */

/* The packed float64 field (src/core/field_pack.h) and its float copy: per-coordinate arrays in
 * the working precision, per-component constants double (as the device field keeps them). */
typedef struct {
    double *packed;
    float *single;
    sf_field_view_f64 v64;
    sf_field_view_f32 v32;
} host_views;

static host_views make_views(const sf_field *f)
{
    host_views h;
    sf_field_layout L = sfi_field_layout_of(f);
    h.packed = malloc((L.total + 1) * sizeof(double));
    h.single = malloc((L.total + 1) * sizeof(float));
    sfi_field_pack(f, &L, 0, h.packed);
    for (size_t i = 0; i < L.total; i++) h.single[i] = (float)h.packed[i];
    h.v64 = sf_field_view_at_f64(f, &L, h.packed, f->rank_offset);
    sf_field_view_f32 *v = &h.v32;
    v->d = f->d, v->K = f->K, v->R = f->R;
    v->alpha = (float)f->alpha, v->dalpha = (float)f->dalpha, v->dsigma2 = (float)f->dsigma2;
    v->alpha_mean = h.single + L.alpha_mean, v->prec_diag = h.packed + L.prec_diag, v->mean = h.single + L.mean;
    v->cov_diag = h.single + L.cov_diag, v->basis = h.single + L.basis, v->prec_basis = h.packed + L.prec_basis;
    v->cov_lowrank = h.single + L.cov_lowrank, v->prec_mean = h.single + L.prec_mean;
    v->rank_offset = f->rank_offset;
    v->log_norm = h.packed + L.log_norm, v->trace_prec = h.packed + L.trace_prec, v->trace_rate = h.packed + L.trace_rate;
    v->mean_quad = h.packed + L.mean_quad, v->basis_mean = h.packed + L.basis_mean;
    return h;
}

static void free_views(host_views *h) { free(h->packed), free(h->single); }

/* TF32 keeps 10 of float's 23 mantissa bits: round to nearest (ties away), as cvt.rna.tf32.f32. */
static float tf32_round(float v)
{
    uint32_t b;
    memcpy(&b, &v, 4);
    b = (b + 0x1000u) & ~0x1fffu;
    memcpy(&v, &b, 4);
    return v;
}

/* ---------------------------------------------------------------- requests */

static sf_request alloc_request(size_t n, int d, int K, const double *hvp_dir, double hvp_s, double hvp_x, int derivatives)
{
    size_t nd = n * d;
    sf_request rq = {.score = malloc(nd * 8), .logp = malloc(n * 8), .resp = malloc(n * K * 8), .div = malloc(n * 8),
                     .denoise = malloc(nd * 8), .hvp_dir = hvp_dir, .hvp_s = hvp_s, .hvp_x = hvp_x};
    if (derivatives) {
        rq.lap = malloc(nd * 8), rq.hvp = malloc(nd * 8), rq.hessian = malloc(nd * d * 8);
        rq.dt_score = malloc(nd * 8), rq.dt_logp = malloc(n * 8);
    }
    return rq;
}

static void free_request(sf_request *rq)
{
    free(rq->score), free(rq->logp), free(rq->resp), free(rq->div), free(rq->denoise), free(rq->lap);
    free(rq->hvp), free(rq->hessian), free(rq->dt_score), free(rq->dt_logp);
}

/* Every output both requests have, element by element (the Laplacian at the scale of its terms). */
static void expect_requests_close(const sf_request *ref, const sf_request *got, size_t n, int d, int K, double tol,
                                  const char *what)
{
    size_t nd = n * d;
    const struct { const char *name; const double *a, *b; size_t size; } outs[] = {
        {"score", ref->score, got->score, nd},      {"logp", ref->logp, got->logp, n},
        {"resp", ref->resp, got->resp, n * K},      {"div", ref->div, got->div, n},
        {"denoise", ref->denoise, got->denoise, nd}, {"lap", ref->lap, got->lap, nd},
        {"hvp", ref->hvp, got->hvp, nd},            {"hessian", ref->hessian, got->hessian, nd * d},
        {"dt_score", ref->dt_score, got->dt_score, nd}, {"dt_logp", ref->dt_logp, got->dt_logp, n}};
    double lap_scale = sfi_rms(ref->div, n) * sfi_rms(ref->score, nd); /* the size of the Laplacian's terms */
    for (size_t o = 0; o < sizeof outs / sizeof outs[0]; o++) {
        if (!outs[o].a || !outs[o].b) continue;
        size_t at;
        double scale = outs[o].a == ref->lap ? lap_scale : sfi_rms(outs[o].a, outs[o].size);
        double worst = sfi_compare_scaled(outs[o].a, outs[o].b, outs[o].size, tol, scale, &at);
        cr_expect(worst <= 1.0, "%s %s: worst %.3g x tol %g at %zu (cpu %.17g, kernel logic %.17g)", what, outs[o].name,
                  worst, tol, at, outs[o].a[at], outs[o].b[at]);
    }
}

/* ---------------------------------------------------------------- the large-d logic: screening and survivors */

typedef struct {
    double cutoff;      /* screening cutoff (the kernels': 80 in float64, 40 in float32) */
    double perturb;     /* move each approximate logit by up to this fraction of its bound */
    int tf32;           /* form the GEMM products with TF32-rounded inputs */
    int nan_every;      /* make every nan_every-th approximate logit NaN (0: none) */
    int screened;       /* out: components skipped, over all particles */
    double bound_usage; /* out: the largest |approx - exact| / bound seen */
    int bound_violations; /* out: pairs whose error exceeded the bound */
} screen_run;

/* The exact quadratic form e.P_k e of the stored field at x, in long double. */
#define DEFINE_EXACT_QUAD(T, SUFFIX)                                                                       \
    static long double exact_quad_##SUFFIX(const sf_field_view_##SUFFIX *v, int k, const T *x)             \
    {                                                                                                      \
        int d = v->d;                                                                                      \
        long double quad = 0, e[1024], r[1024];                                                            \
        for (int i = 0; i < d; i++) r[i] = e[i] = (long double)x[i] - v->alpha_mean[(size_t)k * d + i];    \
        for (int j = v->rank_offset[k]; j < v->rank_offset[k + 1]; j++) {                                  \
            long double pr = 0;                                                                            \
            for (int i = 0; i < d; i++) pr += (long double)v->basis[(size_t)j * d + i] * e[i];             \
            quad += (long double)v->prec_basis[j] * pr * pr;                                               \
            for (int i = 0; i < d; i++) r[i] -= pr * v->basis[(size_t)j * d + i];                          \
        }                                                                                                  \
        for (int i = 0; i < d; i++) quad += (long double)v->prec_diag[(size_t)k * d + i] * r[i] * r[i];    \
        return quad;                                                                                       \
    }
DEFINE_EXACT_QUAD(double, f64)
DEFINE_EXACT_QUAD(float, f32)

/* Runs steps 1-3 of score_particle.h over n particles into `out` (float64 arrays). */
#define DEFINE_RUN_SCREENED(T, SUFFIX, UNIT)                                                               \
    static void run_screened_##SUFFIX(const sf_field_view_##SUFFIX *v, const double *x64, size_t n,        \
                                      screen_run *sr, sf_request *out)                                     \
    {                                                                                                      \
        int d = v->d, K = v->K;                                                                            \
        size_t dd = (size_t)d * sizeof(T), kk = (size_t)K * sizeof(T);                                     \
        T *x = malloc(dd), *xg = malloc(dd), *dir = malloc(dd), *proj = malloc((v->R + 1) * sizeof(T));    \
        T *buf = malloc(dd * 12 + dd * d + kk * 4 + 4 * sizeof(T));                                        \
        double *approx = malloc(K * 8), *bound = malloc(K * 8), *slog = malloc(K * 8), *resid = malloc(d * 8); \
        int *list = malloc(K * sizeof(int));                                                               \
        sf_particle_rows_##SUFFIX rows;                                                                    \
        T *at = buf;                                                                                       \
        rows.g = at, at += d, rows.resid = resid, rows.delta = at, at += d, rows.tmp = at, at += d;        \
        rows.tmp2 = at, at += d, rows.dir = at, at += d, rows.score = at, at += d;                         \
        rows.denoise = out->denoise ? at : NULL, at += d, rows.lap = out->lap ? at : NULL, at += d;        \
        rows.hvp = out->hvp ? at : NULL, at += d, rows.dt_score = out->dt_score ? at : NULL, at += d;      \
        rows.hessian = out->hessian ? at : NULL, at += (size_t)d * d;                                      \
        rows.logit = at, at += K, rows.dlogit = at, at += K, rows.resp = out->resp ? at : NULL, at += K;  \
        rows.logp = at++, rows.div = at++, rows.dt_logp = out->dt_logp ? at : NULL, at++;                  \
        rows.survivor_logit = slog;                                                                        \
        rows.hvp_s = (T)out->hvp_s, rows.hvp_x = (T)out->hvp_x;                                            \
        double gemm_unit = (UNIT), input_unit = sr->tf32 ? 0x1p-11 : 0.0;                                  \
        for (size_t p = 0; p < n; p++) {                                                                   \
            for (int i = 0; i < d; i++) x[i] = (T)x64[p * d + i];                                          \
            for (int i = 0; i < d; i++) xg[i] = sr->tf32 ? (T)tf32_round((float)x[i]) : x[i];              \
            if (out->hvp_dir)                                                                              \
                for (int i = 0; i < d; i++) dir[i] = (T)out->hvp_dir[p * d + i];                           \
            rows.hvp_dir = out->hvp_dir ? dir : NULL;                                                      \
            double best = -INFINITY;                                                                       \
            for (int k = 0; k < K; k++) {                                                                  \
                T xpx = 0, xpm = 0; /* GEMM products accumulated in T, as cuBLAS would */                 \
                for (int i = 0; i < d; i++) {                                                              \
                    T pd = (T)v->prec_diag[(size_t)k * d + i], pm = v->prec_mean[(size_t)k * d + i];           \
                    if (sr->tf32) pd = (T)tf32_round((float)pd), pm = (T)tf32_round((float)pm);            \
                    T x2 = x[i] * x[i];                                                                    \
                    xpx += (sr->tf32 ? (T)tf32_round((float)x2) : x2) * pd;                                \
                    xpm += xg[i] * pm;                                                                     \
                }                                                                                          \
                for (int j = v->rank_offset[k]; j < v->rank_offset[k + 1]; j++) {                          \
                    T c = 0;                                                                               \
                    for (int i = 0; i < d; i++) {                                                          \
                        T u = v->basis[(size_t)j * d + i];                                                 \
                        c += (sr->tf32 ? (T)tf32_round((float)u) : u) * xg[i];                             \
                    }                                                                                      \
                    proj[j - v->rank_offset[k]] = c;                                                       \
                }                                                                                          \
                sf_logit_bound_in_##SUFFIX(v, k, xpx, xpm, proj, gemm_unit, input_unit, approx + k, bound + k); \
                double err = fabs(approx[k] - (double)(v->log_norm[k] - 0.5L * exact_quad_##SUFFIX(v, k, x))); \
                if (err > bound[k]) sr->bound_violations++;                                                \
                if (bound[k] > 0 && err / bound[k] > sr->bound_usage) sr->bound_usage = err / bound[k];    \
                /* any approximation within the stated bound must give the same answer */                  \
                approx[k] += sr->perturb * ((k % 3) - 1) * bound[k];                                       \
                if (sr->nan_every && k % sr->nan_every == 1) approx[k] = NAN;                              \
                best = sf_max_combine(best, approx[k] - bound[k]);                                         \
            }                                                                                              \
            int count = 0;                                                                                 \
            for (int k = 0; k < K; k++)                                                                    \
                if (sf_screen_survives(approx[k], bound[k], best - sr->cutoff)) list[count++] = k;         \
            sr->screened += K - count;                                                                     \
            sf_evaluate_survivors_##SUFFIX(v, x, list, count, &rows, 0, 1);                                \
            for (int i = 0; i < d; i++) {                                                                  \
                size_t o = p * d + i;                                                                      \
                out->score[o] = rows.score[i];                                                             \
                if (out->denoise) out->denoise[o] = rows.denoise[i];                                       \
                if (out->lap) out->lap[o] = rows.lap[i];                                                   \
                if (out->hvp) out->hvp[o] = rows.hvp[i];                                                   \
                if (out->dt_score) out->dt_score[o] = rows.dt_score[i];                                    \
            }                                                                                              \
            if (out->hessian)                                                                              \
                for (int i = 0; i < d * d; i++) out->hessian[p * d * d + i] = rows.hessian[i];             \
            if (out->resp)                                                                                 \
                for (int k = 0; k < K; k++) out->resp[p * K + k] = rows.resp[k];                           \
            out->logp[p] = *rows.logp, out->div[p] = *rows.div;                                            \
            if (out->dt_logp) out->dt_logp[p] = *rows.dt_logp;                                             \
        }                                                                                                  \
        free(x), free(xg), free(dir), free(proj), free(buf), free(approx), free(bound), free(slog), free(list), free(resid); \
    }
DEFINE_RUN_SCREENED(double, f64, DBL_EPSILON / 2)
DEFINE_RUN_SCREENED(float, f32, FLT_EPSILON / 2)

typedef struct {
    int single, d, K;
    sf_workload_kinds kinds;
    sf_schedule_kind sched;
    double t, outliers, outlier_scale;
    size_t n;
    int given_directions, derivatives;
    uint64_t seed;
} logic_case;

/* The reference's outputs and the kernel logic's for one case; returns the screening run. */
static screen_run compare_screened(const logic_case *c, screen_run sr)
{
    sf_rng rng;
    sfi_rng_seed(&rng, c->seed);
    sf_mixture *m;
    cr_assert_eq(sfi_workload_mixture(&m, &rng, c->d, c->K, c->kinds, 1.0), SF_OK);
    sf_time time = time_at(c->sched, c->t);
    size_t n = c->n, nd = n * c->d;
    double *x = malloc(nd * sizeof(double)), *v = malloc(nd * sizeof(double));
    sfi_workload_particles(x, n, m, &time, &rng, c->outliers, c->outlier_scale);
    for (size_t i = 0; i < nd; i++) v[i] = sfi_rng_normal(&rng);
    sf_field field;
    cr_assert_eq(sfi_field_build(&field, m, &time), SF_OK);
    const double *dir = c->given_directions ? v : NULL;
    sf_request ref = alloc_request(n, c->d, c->K, dir, 0.7, -0.3, c->derivatives);
    sf_request got = alloc_request(n, c->d, c->K, dir, 0.7, -0.3, c->derivatives);
    cr_assert_eq(sfi_score_cpu(&field, x, n, &ref), SF_OK, "%s", sf_last_error());
    host_views h = make_views(&field);
    if (c->single) run_screened_f32(&h.v32, x, n, &sr, &got);
    else run_screened_f64(&h.v64, x, n, &sr, &got);
    char what[128];
    snprintf(what, sizeof what, "%s%s d = %d K = %d", c->single ? "f32" : "f64", sr.tf32 ? " tf32" : "", c->d, c->K);
    expect_requests_close(&ref, &got, n, c->d, c->K, c->single ? 1e-4 : 1e-11, what);
    cr_expect_eq(sr.bound_violations, 0, "%s: the GEMM-form error exceeded its bound %d times (worst %.3g x bound)", what,
                 sr.bound_violations, sr.bound_usage);
    free_views(&h);
    free_request(&ref), free_request(&got);
    sfi_field_free(&field);
    free(x), free(v);
    sf_mixture_destroy(m);
    return sr;
}

static const screen_run f64_screen = {.cutoff = 80}, f32_screen = {.cutoff = 40};

Test(gpu_logic, f64_survivors_match_reference_all_kinds)
{
    logic_case c = {0, 7, 12, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.1, 0.05, 30.0, 120, 1, 1, 1};
    screen_run r = compare_screened(&c, f64_screen);
    cr_expect(r.screened > 0, "screening skipped no component: the case exercises nothing");
    c = (logic_case){0, 40, 9, SF_WORKLOAD_ALL, SF_SCHEDULE_VE, 0.3, 0.05, 30.0, 60, 0, 1, 2};
    compare_screened(&c, f64_screen);
    c = (logic_case){0, 3, 33, SF_WORKLOAD_LOWRANK, SF_SCHEDULE_VP_COSINE, 0.05, 0.02, 10.0, 120, 1, 1, 3};
    r = compare_screened(&c, f64_screen);
    cr_expect(r.screened > 0, "screening skipped no component on subspace data");
    c = (logic_case){0, 200, 24, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.2, 0.05, 30.0, 30, 0, 0, 4};
    r = compare_screened(&c, f64_screen);
    cr_expect(r.screened > 0, "screening skipped no component at d = 200");
}

Test(gpu_logic, f64_screening_tolerates_bounded_error_and_nan)
{
    /* approximate logits moved by up to +-0.9 of their bound: results unchanged */
    screen_run s = f64_screen;
    s.perturb = 0.9;
    logic_case c = {0, 7, 12, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.1, 0.05, 30.0, 120, 0, 1, 5};
    cr_expect(compare_screened(&c, s).screened > 0);
    /* far outliers: the GEMM form cancels badly, the bound widens, survivors are recomputed */
    c = (logic_case){0, 16, 8, SF_WORKLOAD_ISOTROPIC, SF_SCHEDULE_VE, 0.05, 0.5, 1e4, 80, 1, 1, 6};
    compare_screened(&c, s);
    /* NaN approximations (inf - inf in the GEMM form) are never skipped (defect 2) */
    s.perturb = 0, s.nan_every = 3;
    c = (logic_case){0, 7, 12, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.1, 0.05, 30.0, 120, 0, 0, 7};
    cr_expect(compare_screened(&c, s).screened > 0);
}

Test(gpu_logic, f32_survivors_match_reference)
{
    logic_case c = {1, 7, 12, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.3, 0.05, 4.0, 120, 1, 1, 8};
    compare_screened(&c, f32_screen);
    screen_run s = f32_screen;
    s.perturb = 0.9;
    c = (logic_case){1, 32, 6, SF_WORKLOAD_ISOTROPIC, SF_SCHEDULE_VE, 0.4, 0.05, 4.0, 120, 0, 1, 9};
    compare_screened(&c, s);
}

/* issue 11 defect 5: the check that failed on the H200 (d = 64, K = 128, 2% outliers at 4x) and
 * d = 1024, where float logits lost 1e-4 before the sums moved to double. */
Test(gpu_logic, f32_large_dimension_within_tolerance)
{
    logic_case c = {1, 64, 128, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.3, 0.02, 4.0, 300, 0, 0, 1};
    compare_screened(&c, f32_screen);
    c = (logic_case){1, 1024, 48, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.3, 0.05, 4.0, 40, 0, 0, 10};
    compare_screened(&c, f32_screen);
    c = (logic_case){1, 1024, 16, SF_WORKLOAD_ISOTROPIC, SF_SCHEDULE_VE, 0.6, 0.05, 4.0, 40, 0, 0, 11};
    compare_screened(&c, f32_screen);
    /* overlapping components (t = 0.95): many comparable responsibilities, where logit errors show */
    c = (logic_case){1, 1024, 24, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.95, 0.05, 4.0, 40, 0, 0, 14};
    compare_screened(&c, f32_screen);
    c = (logic_case){1, 256, 64, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.7, 0.05, 4.0, 100, 0, 0, 15};
    compare_screened(&c, f32_screen);
}

/* TF32 GEMM inputs (10-bit mantissa): the bound widens by the input rounding and still holds;
 * survivors are recomputed in float, so the results keep float32 accuracy. */
Test(gpu_logic, tf32_screening_bound_holds)
{
    screen_run s = f32_screen;
    s.tf32 = 1;
    logic_case c = {1, 256, 32, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.3, 0.05, 4.0, 60, 0, 0, 12};
    screen_run r = compare_screened(&c, s);
    cr_expect(r.screened > 0, "TF32 screening skipped nothing at d = 256: its bound is too loose to be useful");
    c = (logic_case){1, 12, 40, SF_WORKLOAD_ALL, SF_SCHEDULE_VE, 0.1, 0.1, 4.0, 120, 0, 0, 13};
    compare_screened(&c, s);
}

/* ---------------------------------------------------------------- the small-d register logic */

#define DEFINE_RUN_SMALL(T, SUFFIX)                                                                        \
    static void run_small_##SUFFIX(const sf_field_view_##SUFFIX *v, const double *x64, size_t n, int slots,\
                                   sf_request *out)                                                        \
    {                                                                                                      \
        int d = v->d, K = v->K;                                                                            \
        T x[SF_SMALL_SLOTS], score[SF_SMALL_SLOTS], den[SF_SMALL_SLOTS], logp, div;                        \
        for (size_t p = 0; p < n; p++) {                                                                   \
            for (int i = 0; i < d; i++) x[i] = (T)x64[p * d + i];                                          \
            sf_small_state_##SUFFIX st;                                                                    \
            sf_small_begin_##SUFFIX(&st, x, d, slots, 0, 1);                                               \
            for (int k = 0; k < K; k++) sf_small_add_##SUFFIX(v, k, &st, out->denoise != NULL, d, slots, 0, 1); \
            sf_small_finish_##SUFFIX(&st, score, &logp, &div, out->denoise ? den : NULL, d, slots, 0, 1); \
            double lp = sf_small_logp_##SUFFIX(&st);                                                       \
            for (int i = 0; i < d; i++) {                                                                  \
                out->score[p * d + i] = score[i];                                                          \
                if (out->denoise) out->denoise[p * d + i] = den[i];                                        \
            }                                                                                              \
            out->logp[p] = logp, out->div[p] = div;                                                        \
            if (out->resp) /* the second pass */                                                           \
                for (int k = 0; k < K; k++)                                                                \
                    out->resp[p * K + k] =                                                                 \
                        (T)sf_weight_exp_##SUFFIX(sf_small_logit_##SUFFIX(v, k, &st, d, slots, 0, 1) - lp); \
        }                                                                                                  \
    }
DEFINE_RUN_SMALL(double, f64)
DEFINE_RUN_SMALL(float, f32)

static void compare_small(int single, int d, int K, sf_workload_kinds kinds, sf_schedule_kind sched, double t,
                          int slots, uint64_t seed)
{
    sf_rng rng;
    sfi_rng_seed(&rng, seed);
    sf_mixture *m;
    cr_assert_eq(sfi_workload_mixture(&m, &rng, d, K, kinds, 1.0), SF_OK);
    sf_time time = time_at(sched, t);
    size_t n = 200, nd = n * d;
    double *x = malloc(nd * sizeof(double));
    sfi_workload_particles(x, n, m, &time, &rng, 0.05, single ? 4.0 : 30.0);
    sf_field field;
    cr_assert_eq(sfi_field_build(&field, m, &time), SF_OK);
    sf_request ref = alloc_request(n, d, K, NULL, 0, 0, 0), got = alloc_request(n, d, K, NULL, 0, 0, 0);
    cr_assert_eq(sfi_score_cpu(&field, x, n, &ref), SF_OK, "%s", sf_last_error());
    host_views h = make_views(&field);
    if (single) run_small_f32(&h.v32, x, n, slots, &got);
    else run_small_f64(&h.v64, x, n, slots, &got);
    char what[96];
    snprintf(what, sizeof what, "small-d %s d = %d K = %d slots %d", single ? "f32" : "f64", d, K, slots);
    expect_requests_close(&ref, &got, n, d, K, single ? 1e-4 : 1e-11, what);
    free_views(&h);
    free_request(&ref), free_request(&got);
    sfi_field_free(&field);
    free(x);
    sf_mixture_destroy(m);
}

Test(gpu_logic, small_d_matches_reference)
{
    compare_small(0, 2, 8, SF_WORKLOAD_ISOTROPIC, SF_SCHEDULE_VP_LINEAR, 0.3, 2, 20);
    compare_small(0, 5, 9, SF_WORKLOAD_ALL, SF_SCHEDULE_VE, 0.2, 8, 21);
    compare_small(0, 3, 12, SF_WORKLOAD_LOWRANK, SF_SCHEDULE_VP_COSINE, 0.02, 4, 22);
    compare_small(0, 32, 20, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.1, 32, 23);
    compare_small(1, 2, 8, SF_WORKLOAD_ISOTROPIC, SF_SCHEDULE_VP_LINEAR, 0.3, 2, 24);
    compare_small(1, 7, 16, SF_WORKLOAD_ALL, SF_SCHEDULE_VE, 0.3, 8, 25);
    compare_small(1, 30, 40, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.4, 32, 26);
}

/* Data on subspaces near t = 0 in float32: g_k carries p_perp resid (1/sigma^2 large), which C_k
 * annihilates; the denoiser is formed as C_k P_k e in spectral form so that nothing cancels (as
 * C_k g_k it was off by 2.6 x the tolerance here). */
Test(gpu_logic, f32_subspace_near_t0)
{
    logic_case c = {1, 8, 16, SF_WORKLOAD_LOWRANK, SF_SCHEDULE_VP_LINEAR, 0.001, 0.02, 4.0, 400, 0, 0, 31};
    compare_screened(&c, f32_screen);
    c = (logic_case){1, 40, 16, SF_WORKLOAD_LOWRANK, SF_SCHEDULE_VP_COSINE, 0.002, 0.02, 4.0, 200, 0, 0, 37};
    compare_screened(&c, f32_screen);
    compare_small(1, 8, 16, SF_WORKLOAD_LOWRANK, SF_SCHEDULE_VP_LINEAR, 0.001, 8, 32);
}

/* ---------------------------------------------------------------- the warp maximum with NaN (defect 2) */

/* The xor butterfly of a 32-lane warp with a combining step, emulated: lane i's value after the
 * reduction. With a symmetric step every lane ends with one value. */
static void butterfly(double lanes[32], double (*combine)(double, double))
{
    for (int offset = 16; offset > 0; offset >>= 1) {
        double next[32];
        for (int i = 0; i < 32; i++) next[i] = combine(lanes[i], lanes[i ^ offset]); /* (own, partner's) */
        memcpy(lanes, next, sizeof next);
    }
}

static double old_max(double v, double o) { return o > v ? o : v; } /* v1's step */

Test(gpu_logic, warp_maximum_agrees_across_lanes_with_nan)
{
    sf_rng rng;
    sfi_rng_seed(&rng, 30);
    int old_disagreed = 0;
    for (int trial = 0; trial < 200; trial++) {
        double a[32], b[32], best = -INFINITY;
        for (int i = 0; i < 32; i++) {
            a[i] = sfi_rng_uniform(&rng) < 0.2 ? NAN : sfi_rng_normal(&rng);
            if (!isnan(a[i]) && a[i] > best) best = a[i];
            b[i] = a[i];
        }
        butterfly(a, sf_max_combine);
        for (int i = 0; i < 32; i++) cr_expect(a[i] == best, "trial %d lane %d: %g, want %g", trial, i, a[i], best);
        butterfly(b, old_max);
        for (int i = 1; i < 32; i++) old_disagreed += !(b[i] == b[0]) && !(isnan(b[i]) && isnan(b[0]));
    }
    /* the test can fail: the v1 step lets lanes disagree on exactly these inputs */
    cr_expect(old_disagreed > 0, "the v1 maximum never disagreed: the inputs do not exercise defect 2");
    double lone[32];
    for (int i = 0; i < 32; i++) lone[i] = NAN;
    butterfly(lone, sf_max_combine);
    cr_expect(isnan(lone[5]), "all NaN: the maximum is NaN (every component then survives screening)");
    cr_expect(sf_screen_survives(NAN, 1, 0) && sf_screen_survives(1, 1, NAN) && !sf_screen_survives(-50, 1, 0));
}

/* ---------------------------------------------------------------- batch sizing (defect 1) */

Test(gpu_logic, batch_budget_counts_only_what_the_path_frees)
{
    /* 10 GB free, the path's own 2 GB workspace reusable, 1 MB per particle */
    sf_batch_budget b = {.free_bytes = 10ull << 30, .reusable_bytes = 2ull << 30, .fixed_bytes = 0,
                         .per_particle = 1 << 20, .n = 100000, .hard_cap = 1 << 24};
    size_t B = sf_batch_size(&b);
    cr_expect(B <= (size_t)(SF_BATCH_FRACTION * 12 * 1024) && B > 9000, "B = %zu", B);
    b.max_batch = 300;
    cr_expect_eq(sf_batch_size(&b), 300);
    b.max_batch = 0, b.n = 7;
    cr_expect_eq(sf_batch_size(&b), 7);
    b.n = 100000, b.free_bytes = 0, b.reusable_bytes = 0;
    cr_expect_eq(sf_batch_size(&b), 0, "nothing free: not one particle");
}

typedef struct {
    size_t limit; /* the largest batch that "fits" */
    int calls, other_error_at;
} fake_device;

static sf_status fake_allocate(void *data, size_t batch, int *oom)
{
    fake_device *f = data;
    f->calls++;
    if (f->other_error_at && f->calls == f->other_error_at) return sfi_fail(SF_ERR_CUDA, "a launch failed");
    if (batch <= f->limit) return SF_OK;
    *oom = 1;
    return sfi_fail(SF_ERR_CUDA, "cudaMalloc: out of memory");
}

Test(gpu_logic, batch_halves_on_allocation_failure)
{
    fake_device f = {.limit = 1000};
    size_t B = 0;
    cr_expect_eq(sf_batch_reserve(6000, fake_allocate, &f, &B), SF_OK);
    cr_expect_eq(B, 750, "6000 -> 3000 -> 1500 -> 750: got %zu", B);
    cr_expect_eq(f.calls, 4);
    f = (fake_device){.limit = 0};
    cr_expect_eq(sf_batch_reserve(64, fake_allocate, &f, &B), SF_ERR_CUDA, "nothing fits, not even one");
    cr_expect_eq(f.calls, 7);
    f = (fake_device){.limit = 10, .other_error_at = 2};
    cr_expect_eq(sf_batch_reserve(64, fake_allocate, &f, &B), SF_ERR_CUDA);
    cr_expect_eq(f.calls, 2, "a failure other than out-of-memory is returned at once");
}

/* ---------------------------------------------------------------- noise keys of a continued run (defect 4) */

/* The CPU half (the device half is gpu.sampler_continued_run_draws_fresh_noise): Philox noise is
 * keyed by the global step first_step + k, so t1 -> tm then tm -> t0 with first_step = the steps
 * taken equals one run t1 -> t0 bit for bit; continuing with first_step = 0 reuses noise. */
Test(gpu_logic, continued_sampler_run_draws_fresh_noise)
{
    sf_rng rng;
    sfi_rng_seed(&rng, 40);
    sf_mixture *m;
    cr_assert_eq(sfi_workload_mixture(&m, &rng, 3, 4, SF_WORKLOAD_ALL, 1.0), SF_OK);
    sf_schedule sched = sf_schedule_default(SF_SCHEDULE_VE);
    sf_time start;
    sf_schedule_at(&sched, 1.0, &start);
    enum { N = 200, D = 3, STEPS = 10, SPLIT = 4 };
    double times[STEPS + 1];
    for (int i = 0; i <= STEPS; i++) times[i] = 1.0 - 0.9 * i / STEPS;
    double whole[N * D], parts[N * D], reused[N * D];
    sf_sample_marginal(m, &start, 2, 0, whole, N);
    memcpy(parts, whole, sizeof whole), memcpy(reused, whole, sizeof whole);
    sf_context *cpu = cpu_context();
    sf_sampler smp = sf_sampler_default(SF_SAMPLER_DDPM);
    smp.spacing = SF_SPACING_GIVEN, smp.seed = 3, smp.steps = STEPS, smp.times = times;
    cr_assert_eq(sf_sample(cpu, m, &sched, &smp, whole, N, 0, NULL, NULL, 0), SF_OK, "%s", sf_last_error());
    smp.steps = SPLIT;
    cr_assert_eq(sf_sample(cpu, m, &sched, &smp, parts, N, 0, NULL, NULL, 0), SF_OK);
    cr_assert_eq(sf_sample(cpu, m, &sched, &smp, reused, N, 0, NULL, NULL, 0), SF_OK);
    smp.steps = STEPS - SPLIT, smp.times = times + SPLIT, smp.first_step = SPLIT;
    cr_assert_eq(sf_sample(cpu, m, &sched, &smp, parts, N, 0, NULL, NULL, 0), SF_OK);
    smp.first_step = 0;
    cr_assert_eq(sf_sample(cpu, m, &sched, &smp, reused, N, 0, NULL, NULL, 0), SF_OK);
    cr_expect(memcmp(whole, parts, sizeof whole) == 0, "a continued run differs from one run");
    cr_expect(memcmp(whole, reused, sizeof whole) != 0, "restarting the step count reproduced the run");
    sf_context_destroy(cpu);
    sf_mixture_destroy(m);
}

/* ---------------------------------------------------------------- the sampler's history ring */

/* The device loop (kernels/sample.cu, step_result) keeps SF_MAX_HISTORY denoised values in a ring:
 * step k reads D_{k-1-m} from sf_step_slot(k, m) for each H_m != 0, then writes its own D into
 * sf_step_slot(k + 1, 0), the slot of D_{k-3}. Replayed here on step stamps for every multistep
 * plan: each read finds the step it names, written earlier in this run (never an empty slot,
 * which on the device held garbage, nor one already overwritten), and reading D_{k-3} from the
 * slot that the same step then overwrites does occur (unipc, order 3). */
Test(gpu_logic, history_ring_reads_the_steps_it_names)
{
    static const sf_sampler_kind kinds[] = {SF_SAMPLER_DPMPP_2M, SF_SAMPLER_DPMPP_3M, SF_SAMPLER_DPMPP_2M_SDE,
                                            SF_SAMPLER_UNIPC};
    static const int step_counts[] = {1, 2, 3, 4, 5, 14, 15, 16, 25};
    enum { MAX_STEPS = 25 };
    sf_schedule sched = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    int reads = 0, reads_of_the_slot_overwritten = 0;
    for (size_t s = 0; s < sizeof kinds / sizeof kinds[0]; s++)
        for (int order = 2; order <= 3; order++)
            for (size_t c = 0; c < sizeof step_counts / sizeof step_counts[0]; c++)
                for (int to_zero = 0; to_zero <= 1; to_zero++) {
                    int K = step_counts[c];
                    sf_sampler smp = sf_sampler_default(kinds[s]);
                    smp.steps = K, smp.order = order, smp.to_zero = to_zero, smp.spacing = SF_SPACING_KARRAS;
                    smp.t1 = 0.98, smp.t0 = 0.005;
                    double times[MAX_STEPS + 1];
                    sf_step_plan plans[MAX_STEPS];
                    cr_assert_eq(sfi_step_times(&smp, &sched, times), SF_OK, "%s", sf_last_error());
                    cr_assert_eq(sfi_step_plans(&smp, &sched, times, K, plans), SF_OK, "%s", sf_last_error());
                    int stamp[SF_MAX_HISTORY] = {-1, -1, -1}; /* the step whose D each slot holds */
                    for (int k = 0; k < K; k++) {
                        for (int m = 0; m < SF_MAX_HISTORY; m++) {
                            if (plans[k].H[m] == 0) continue;
                            cr_expect_eq(stamp[sf_step_slot(k, m)], k - 1 - m,
                                         "%s order %d, %d steps%s: step %d reads D_%d from a slot holding step %d's",
                                         sf_sampler_kind_name(kinds[s]), order, K, to_zero ? " to zero" : "", k, k - 1 - m,
                                         stamp[sf_step_slot(k, m)]);
                            reads++;
                            reads_of_the_slot_overwritten += plans[k].push && sf_step_slot(k, m) == sf_step_slot(k + 1, 0);
                        }
                        if (plans[k].push) stamp[sf_step_slot(k + 1, 0)] = k;
                    }
                }
    cr_expect(reads > 0 && reads_of_the_slot_overwritten > 0, "%d reads, %d of the slot the step overwrites", reads,
              reads_of_the_slot_overwritten);
}
