/* The fast CPU backend (src/cpu/score_fast.c) against the reference path on every output, on random
 * mixtures of every kind with 2% far outliers, subspace data near t = 0, large d and K, d = 1, and
 * enough particles for several blocks on several threads; score-only requests separately (their
 * score is summed by GEMM where that is accurate). Its pieces against independent routes: the SIMD
 * exp against libm, the fused log-sum-exp against a long double one, the GEMM screening bound
 * against direct logits, and the GEMM-form score sums against direct sums in long double. */
#include "fast_field.h"
#include "screen.h"
#include "simd_exp.h"
#include "softmax.h"
#include "matrix_score.h"
#include "test_helpers.h"

#include <float.h>
#include <string.h>

#define TOL 1e-10 /* normwise-relative agreement asked of the fast backend */

/* ---------------------------------------------------------------- end to end against the reference */

enum { OUT_SCORE, OUT_LOGP, OUT_RESP, OUT_DIV, OUT_DENOISE, OUT_LAP, OUT_HVP, OUT_HVP_SCORE, OUT_HESSIAN, OUT_DT_SCORE,
       OUT_DT_LOGP, OUT_DTAU_SCORE, OUT_DTAU_LOGP, OUT_RESIDUAL, OUT_RESIDUAL_SCALE, OUT_RESIDUAL_T,
       OUT_RESIDUAL_T_SCALE, OUT_COUNT };
static const char *const out_names[OUT_COUNT] = {
    "score", "logp", "resp", "div", "denoise", "lap", "hvp", "hvp_score", "hessian", "dt_score", "dt_logp",
    "dtau_score", "dtau_logp", "residual", "residual_scale", "residual_t", "residual_t_scale"};

typedef struct {
    double *a[OUT_COUNT];
    size_t size[OUT_COUNT];
    sf_outputs o;
} all_outputs;

/* Every output (score_only: score, log p and r alone; the Hessian only when d is small). */
static all_outputs alloc_outputs(size_t n, int d, int K, const double *dir, int score_only)
{
    all_outputs r;
    memset(&r, 0, sizeof r);
    size_t nd = n * d;
    size_t sizes[OUT_COUNT] = {nd, n, n * K, n, nd, nd, nd, nd, d <= 40 ? nd * d : 0, nd, n, nd, n, nd, n, nd, n};
    for (int o = 0; o < OUT_COUNT; o++) {
        if (score_only && o > OUT_RESP) break;
        r.size[o] = sizes[o];
        if (sizes[o]) r.a[o] = malloc(sizes[o] * sizeof(double));
    }
    sf_outputs o = {.score = r.a[OUT_SCORE], .logp = r.a[OUT_LOGP], .resp = r.a[OUT_RESP], .div = r.a[OUT_DIV],
                    .denoise = r.a[OUT_DENOISE], .lap = r.a[OUT_LAP], .hvp_dir = r.a[OUT_HVP] ? dir : NULL,
                    .hvp = r.a[OUT_HVP], .hvp_score = r.a[OUT_HVP_SCORE], .hessian = r.a[OUT_HESSIAN],
                    .dt_score = r.a[OUT_DT_SCORE], .dt_logp = r.a[OUT_DT_LOGP], .dtau_score = r.a[OUT_DTAU_SCORE],
                    .dtau_logp = r.a[OUT_DTAU_LOGP], .residual = r.a[OUT_RESIDUAL],
                    .residual_scale = r.a[OUT_RESIDUAL_SCALE], .residual_t = r.a[OUT_RESIDUAL_T],
                    .residual_t_scale = r.a[OUT_RESIDUAL_T_SCALE]};
    r.o = o;
    return r;
}

static void free_outputs_all(all_outputs *r)
{
    for (int o = 0; o < OUT_COUNT; o++) free(r->a[o]);
}

/* The scale each output is compared at: its RMS, except for sums of cancelling terms, which are
 * compared at the size of their terms (the Laplacian: rms(div) rms(score); the residuals: their
 * scale outputs). */
static double output_scale(const all_outputs *ref, int o)
{
    if (o == OUT_LAP) return sfi_rms(ref->a[OUT_DIV], ref->size[OUT_DIV]) * sfi_rms(ref->a[OUT_SCORE], ref->size[OUT_SCORE]);
    if (o == OUT_RESIDUAL) return sfi_rms(ref->a[OUT_RESIDUAL_SCALE], ref->size[OUT_RESIDUAL_SCALE]);
    if (o == OUT_RESIDUAL_T) return sfi_rms(ref->a[OUT_RESIDUAL_T_SCALE], ref->size[OUT_RESIDUAL_T_SCALE]);
    return sfi_rms(ref->a[o], ref->size[o]);
}

/* A random mixture of `kinds` in R^d with K components, n particles at `sched`(t) with 2% of them
 * `outlier_scale` spreads away, every requested output on both backends, compared at TOL. */
static void compare_backends(int d, int K, size_t n, sf_workload_kinds kinds, sf_schedule_kind sched, double t,
                             double outlier_scale, int score_only, uint64_t seed)
{
    sf_rng rng;
    sfi_rng_seed(&rng, seed);
    sf_mixture *m = NULL;
    cr_assert_eq(sfi_workload_mixture(&m, &rng, d, K, kinds, 1.0), SF_OK, "%s", sf_last_error());
    sf_time time = time_at(sched, t);
    double *x = malloc(n * d * sizeof(double)), *dir = malloc(n * d * sizeof(double));
    sfi_workload_particles(x, n, m, &time, &rng, 0.02, outlier_scale);
    for (size_t i = 0; i < n * (size_t)d; i++) dir[i] = sfi_rng_normal(&rng);
    all_outputs ref = alloc_outputs(n, d, K, dir, score_only), got = alloc_outputs(n, d, K, dir, score_only);
    sf_context *reference = NULL, *fast = NULL;
    cr_assert_eq(sf_context_create(&reference, SF_BACKEND_REFERENCE, SF_PRECISION_F64, 0), SF_OK);
    cr_assert_eq(sf_context_create(&fast, SF_BACKEND_CPU, SF_PRECISION_F64, 0), SF_OK);
    cr_assert_eq(sf_evaluate(reference, m, &time, x, n, &ref.o), SF_OK, "%s", sf_last_error());
    cr_assert_eq(sf_evaluate(fast, m, &time, x, n, &got.o), SF_OK, "%s", sf_last_error());
    for (int o = 0; o < OUT_COUNT; o++) {
        if (!ref.a[o]) continue;
        size_t at;
        double worst = sfi_compare_scaled(ref.a[o], got.a[o], ref.size[o], TOL, output_scale(&ref, o), &at);
        cr_expect(worst <= 1.0,
                  "%s d = %d K = %d n = %zu t = %g%s: worst %.3g x tol %g at %zu (reference %.17g, fast %.17g)",
                  out_names[o], d, K, n, t, score_only ? " (score only)" : "", worst, TOL, at, ref.a[o][at],
                  got.a[o][at]);
    }
    free_outputs_all(&ref), free_outputs_all(&got);
    sf_context_destroy(reference), sf_context_destroy(fast);
    free(x), free(dir);
    sf_mixture_destroy(m);
}

Test(fast_backend, every_output_all_kinds_with_outliers)
{
    compare_backends(7, 12, 400, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.1, 30.0, 0, 1);
    compare_backends(40, 24, 200, SF_WORKLOAD_ALL, SF_SCHEDULE_VE, 0.3, 30.0, 0, 2);
    compare_backends(16, 9, 300, SF_WORKLOAD_DIAGONAL, SF_SCHEDULE_VP_COSINE, 0.6, 1e4, 0, 3);
}

Test(fast_backend, every_output_subspace_data_near_t0)
{
    compare_backends(12, 10, 400, SF_WORKLOAD_LOWRANK, SF_SCHEDULE_VP_LINEAR, 1e-3, 30.0, 0, 4);
    compare_backends(24, 16, 200, SF_WORKLOAD_LOWRANK, SF_SCHEDULE_VP_COSINE, 1e-3, 30.0, 0, 5);
    compare_backends(24, 16, 300, SF_WORKLOAD_LOWRANK, SF_SCHEDULE_VE, 0.0, 30.0, 1, 6);
}

Test(fast_backend, every_output_large_d_and_K)
{
    compare_backends(256, 96, 60, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.3, 30.0, 0, 7);
    compare_backends(300, 400, 100, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.05, 30.0, 1, 8);
}

Test(fast_backend, every_output_in_one_dimension)
{
    compare_backends(1, 5, 500, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.05, 30.0, 0, 9);
    compare_backends(1, 40, 500, SF_WORKLOAD_ISOTROPIC, SF_SCHEDULE_VE, 0.5, 30.0, 1, 10);
}

/* Score-only requests sum by GEMM the components where that form is accurate: well-separated
 * components in high d and overlapping ones, every kind, with outliers. */
Test(fast_backend, score_only_with_matrix_sums)
{
    compare_backends(64, 64, 400, SF_WORKLOAD_ISOTROPIC, SF_SCHEDULE_VP_LINEAR, 0.3, 30.0, 1, 11);
    compare_backends(32, 48, 400, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.6, 30.0, 1, 12);
    compare_backends(48, 40, 300, SF_WORKLOAD_DIAGONAL, SF_SCHEDULE_VP_LINEAR, 0.45, 1e4, 1, 13);
    compare_backends(20, 32, 300, SF_WORKLOAD_LOWRANK, SF_SCHEDULE_VP_LINEAR, 0.3, 30.0, 1, 14);
}

/* Several blocks per thread and a ragged last block (block rows depend on K). */
Test(fast_backend, many_blocks_on_all_threads)
{
    compare_backends(9, 300, 3001, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.2, 30.0, 1, 15);
    compare_backends(3, 8, 20001, SF_WORKLOAD_ALL, SF_SCHEDULE_VP_LINEAR, 0.2, 30.0, 0, 16);
}

/* ---------------------------------------------------------------- the pieces */

static double ulps(double got, double want)
{
    if (got == want) return 0;
    if (!isfinite(got) || !isfinite(want)) return INFINITY;
    double ulp = want == 0 ? DBL_TRUE_MIN : nextafter(fabs(want), INFINITY) - fabs(want);
    return fabs(got - want) / ulp;
}

Test(fast_backend, simd_exp_within_one_ulp_of_libm)
{
    sf_rng rng;
    sfi_rng_seed(&rng, 21);
    size_t n = 1 << 20;
    double *x = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) /* the whole range (into subnormal results), and [-1, 1] densely */
        x[i] = i % 2 ? -745.5 + 1455.0 * sfi_rng_uniform(&rng) : 2.0 * sfi_rng_uniform(&rng) - 1.0;
    sfi_exp_array(x, y, n);
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double u = ulps(y[i], exp(x[i]));
        if (u > worst) worst = u, at = i;
    }
    cr_expect(worst <= 1.0, "worst %.3g ulp at x = %.17g: %.17g, libm %.17g", worst, x[at], y[at], exp(x[at]));
    const double special[] = {-INFINITY, INFINITY, 0.0, -0.0, 709.78, 709.79, -708.4, -744.0, -745.13, -745.14, -800.0};
    double got[11];
    sfi_exp_array(special, got, 11);
    for (int i = 0; i < 11; i++)
        cr_expect(ulps(got[i], exp(special[i])) <= 1.0, "exp(%g) = %.17g, libm %.17g", special[i], got[i], exp(special[i]));
    double nan_in = NAN, nan_out = 0;
    sfi_exp_array(&nan_in, &nan_out, 1);
    cr_expect(isnan(nan_out), "exp(NaN) = %g", nan_out);
    free(x), free(y);
}

Test(fast_backend, softmax_rows_match_long_double_log_sum_exp)
{
    sf_rng rng;
    sfi_rng_seed(&rng, 22);
    enum { ROWS = 50, K = 37 };
    double l[ROWS * K], r[ROWS * K], logp[ROWS];
    for (int i = 0; i < ROWS * K; i++) /* wide ranges, and skipped components (-inf) */
        l[i] = i % 11 == 3 ? -INFINITY : (i % 2 ? -700.0 : 0.0) + 200.0 * (sfi_rng_uniform(&rng) - 0.5);
    memcpy(r, l, sizeof l);
    sfi_softmax_rows(r, ROWS, K, logp);
    for (int i = 0; i < ROWS; i++) {
        long double m = -INFINITY, sum = 0;
        for (int k = 0; k < K; k++) m = l[i * K + k] > m ? l[i * K + k] : m;
        for (int k = 0; k < K; k++) sum += expl(l[i * K + k] - m);
        long double want = m + logl(sum);
        expect_rel(logp[i], (double)want, 1e-15, "row %d log p", i);
        for (int k = 0; k < K; k++) {
            /* exp's condition number: a double l - max carries a rounding of its own size times eps */
            double rk = (double)expl(l[i * K + k] - want), cond = 1.0 + fabs(l[i * K + k] - (double)want);
            cr_expect(r[i * K + k] == rk || fabs(r[i * K + k] - rk) <= 4 * DBL_EPSILON * cond * rk + DBL_TRUE_MIN,
                      "row %d r_%d = %.17g, want %.17g", i, k, r[i * K + k], rk);
        }
    }
}

/* e . P_k e in long double, by the spectral form of docs/fields.md written out: the diagonal part on the
 * residual off the basis rows, 1/e_j along each row. */
static long double direct_quad(const sf_field *f, int k, const double *x, long double *g)
{
    int d = f->d;
    long double e[512], proj[8], quad = 0;
    for (int i = 0; i < d; i++) e[i] = (long double)x[i] - f->alpha_mean[(size_t)k * d + i];
    int j0 = f->rank_offset[k], rank = f->rank_offset[k + 1] - j0;
    for (int j = 0; j < rank; j++) {
        proj[j] = 0;
        for (int i = 0; i < d; i++) proj[j] += (long double)f->basis[(size_t)(j0 + j) * d + i] * e[i];
    }
    long double resid[512];
    for (int i = 0; i < d; i++) {
        resid[i] = e[i];
        for (int j = 0; j < rank; j++) resid[i] -= proj[j] * f->basis[(size_t)(j0 + j) * d + i];
        quad += (long double)f->prec_diag[(size_t)k * d + i] * resid[i] * resid[i];
        g[i] = -(long double)f->prec_diag[(size_t)k * d + i] * resid[i];
    }
    for (int j = 0; j < rank; j++) {
        quad += (long double)f->prec_basis[j0 + j] * proj[j] * proj[j];
        for (int i = 0; i < d; i++) g[i] -= (long double)f->prec_basis[j0 + j] * proj[j] * f->basis[(size_t)(j0 + j) * d + i];
    }
    return quad;
}

/* The screening bound holds (|approx - exact| <= bound) on every kind, far outliers included, and
 * best_lower is the largest lower bound. */
Test(fast_backend, screening_bound_holds)
{
    const sf_workload_kinds kinds[] = {SF_WORKLOAD_ISOTROPIC, SF_WORKLOAD_DIAGONAL, SF_WORKLOAD_LOWRANK, SF_WORKLOAD_ALL};
    for (int c = 0; c < 4; c++) {
        sf_rng rng;
        sfi_rng_seed(&rng, 30 + c);
        int d = 33, K = 20, n = 64;
        sf_mixture *m = NULL;
        cr_assert_eq(sfi_workload_mixture(&m, &rng, d, K, kinds[c], 1.0), SF_OK);
        sf_time time = time_at(SF_SCHEDULE_VP_LINEAR, 0.05);
        sf_field field;
        cr_assert_eq(sfi_field_build(&field, m, &time), SF_OK);
        sf_fast_field ff;
        cr_assert_eq(sfi_fast_field_prepare(&ff, &field), SF_OK);
        sf_screen_scratch s;
        cr_assert_eq(sfi_screen_scratch_alloc(&s, &ff, n), SF_OK);
        double *x = malloc((size_t)n * d * sizeof(double)), approx[64 * 20], bound[64 * 20], best[64];
        sfi_workload_particles(x, n, m, &time, &rng, 0.2, 1e4);
        sfi_screen_block(&ff, x, n, approx, bound, best, &s);
        for (int i = 0; i < n; i++) {
            double top = -INFINITY;
            for (int k = 0; k < K; k++) {
                long double g[512];
                double exact = (double)(field.log_norm[k] - 0.5L * direct_quad(&field, k, x + (size_t)i * d, g));
                double a = approx[i * K + k], b = bound[i * K + k];
                cr_expect(fabs(a - exact) <= b, "kinds %d particle %d component %d: approx %.17g exact %.17g bound %.3g",
                          c, i, k, a, exact, b);
                top = a - b > top ? a - b : top;
            }
            cr_expect_eq(best[i], top, "particle %d best lower bound", i);
        }
        sfi_screen_scratch_free(&s);
        sfi_fast_field_release(&ff);
        sfi_field_free(&field);
        sf_mixture_destroy(m);
        free(x);
    }
}

/* For isotropic fields screen.c writes the bound out for vector loops: it must give the very doubles
 * of the shared sf_logit_bound (kernels/score_particle.h) on the same products. */
Test(fast_backend, isotropic_bounds_are_the_shared_formula)
{
    sf_rng rng;
    sfi_rng_seed(&rng, 35);
    int d = 9, K = 23;
    sf_mixture *m = NULL;
    cr_assert_eq(sfi_workload_mixture(&m, &rng, d, K, SF_WORKLOAD_ISOTROPIC, 1.0), SF_OK);
    sf_time time = time_at(SF_SCHEDULE_VE, 0.3);
    sf_field field;
    cr_assert_eq(sfi_field_build(&field, m, &time), SF_OK);
    sf_fast_field ff;
    cr_assert_eq(sfi_fast_field_prepare(&ff, &field), SF_OK);
    cr_assert(ff.uniform_diag && field.R == 0);
    for (int trial = 0; trial < 50; trial++) {
        double sq = 100.0 * sfi_rng_uniform(&rng), a[23], b[23];
        for (int k = 0; k < K; k++) a[k] = 20.0 * (sfi_rng_uniform(&rng) - 0.5);
        double xpm[23];
        memcpy(xpm, a, sizeof xpm);
        sfi_screen_rank_free_bounds(&ff.view, sq, a, b);
        for (int k = 0; k < K; k++) {
            double want_a, want_b;
            sf_logit_bound_f64(&ff.view, k, sq * ff.view.prec_diag[(size_t)k * d], xpm[k], NULL, DBL_EPSILON, &want_a,
                               &want_b);
            cr_expect(a[k] == want_a && b[k] == want_b, "component %d: (%.17g, %.17g), shared (%.17g, %.17g)", k, a[k],
                      b[k], want_a, want_b);
        }
    }
    sfi_fast_field_release(&ff);
    sfi_field_free(&field);
    sf_mixture_destroy(m);
}

/* The GEMM-form sums equal sum_k w_k g_k summed directly in long double, on every kind. */
Test(fast_backend, matrix_sums_equal_direct_sums)
{
    const sf_workload_kinds kinds[] = {SF_WORKLOAD_ISOTROPIC, SF_WORKLOAD_DIAGONAL, SF_WORKLOAD_LOWRANK, SF_WORKLOAD_ALL};
    for (int c = 0; c < 4; c++) {
        sf_rng rng;
        sfi_rng_seed(&rng, 40 + c);
        int d = 17, K = 11, n = 30;
        sf_mixture *m = NULL;
        cr_assert_eq(sfi_workload_mixture(&m, &rng, d, K, kinds[c], 1.0), SF_OK);
        sf_time time = time_at(SF_SCHEDULE_VE, 0.4);
        sf_field field;
        cr_assert_eq(sfi_field_build(&field, m, &time), SF_OK);
        sf_fast_field ff;
        cr_assert_eq(sfi_fast_field_prepare(&ff, &field), SF_OK);
        sf_screen_scratch s;
        cr_assert_eq(sfi_screen_scratch_alloc(&s, &ff, n), SF_OK);
        double x[30 * 17], w[30 * 11], approx[30 * 11], bound[30 * 11], best[30], score[30 * 17], scratch[30 * 17];
        double coef[30 * 44 + 1];
        sfi_workload_particles(x, n, m, &time, &rng, 0.0, 0.0);
        for (int e = 0; e < n * K; e++) w[e] = e % 4 == 1 ? 0.0 : sfi_rng_uniform(&rng);
        sfi_screen_block(&ff, x, n, approx, bound, best, &s); /* the projections u_j . x */
        sfi_matrix_score(&ff, x, n, w, s.proj, score, scratch, coef);
        for (int i = 0; i < n; i++) {
            long double want[17] = {0}, g[512], norm = 0;
            for (int k = 0; k < K; k++) {
                direct_quad(&field, k, x + i * d, g);
                for (int j = 0; j < d; j++) want[j] += w[i * K + k] * g[j];
            }
            for (int j = 0; j < d; j++) norm += want[j] * want[j];
            for (int j = 0; j < d; j++)
                cr_expect(fabsl(score[i * d + j] - want[j]) <= 1e-12L * sqrtl(norm + 1),
                          "kinds %d particle %d coordinate %d: %.17g, direct %.17Lg", c, i, j, score[i * d + j], want[j]);
        }
        sfi_screen_scratch_free(&s);
        sfi_fast_field_release(&ff);
        sfi_field_free(&field);
        sf_mixture_destroy(m);
    }
}
