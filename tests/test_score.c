/* Score fields against independent routes: central differences of log p and of the score, the
 * closed form of a single Gaussian, Tweedie's formula, subspace data near t = 0, far particles. */
#include "test_helpers.h"

static double logp_at(sf_context *ctx, const sf_mixture *m, const sf_time *t, const double *x)
{
    double lp;
    sf_outputs o = {.logp = &lp};
    cr_assert_eq(sf_evaluate(ctx, m, t, x, 1, &o), SF_OK, "%s", sf_last_error());
    return lp;
}

static void score_at(sf_context *ctx, const sf_mixture *m, const sf_time *t, const double *x, double *s)
{
    sf_outputs o = {.score = s};
    cr_assert_eq(sf_evaluate(ctx, m, t, x, 1, &o), SF_OK, "%s", sf_last_error());
}

/* Fourth-order central difference of f along coordinate i: error O(h^4). */
#define CENTRAL4(f, x, i, h, out)                                                                  \
    do {                                                                                           \
        double x0_ = x[i], v_[4], off_[4] = {-2, -1, 1, 2};                                        \
        for (int q_ = 0; q_ < 4; q_++) {                                                           \
            x[i] = x0_ + off_[q_] * (h);                                                           \
            v_[q_] = (f);                                                                          \
        }                                                                                          \
        x[i] = x0_;                                                                                \
        out = (v_[0] - 8 * v_[1] + 8 * v_[2] - v_[3]) / (12 * (h));                                \
    } while (0)

Test(score, gradient_of_log_p)
{
    sf_rng rng;
    sfi_rng_seed(&rng, 11);
    sf_context *ctx = cpu_context();
    for (int trial = 0; trial < 12; trial++) {
        int d = 1 + trial % 6, K = 1 + (trial * 5) % 9;
        sf_mixture *m;
        cr_assert_eq(sfi_workload_mixture(&m, &rng, d, K, SF_WORKLOAD_ALL, 1.0), SF_OK);
        sf_time t = time_at((sf_schedule_kind)(trial % 4), 0.2 + 0.05 * (trial % 3));
        double x[8], s[8];
        sfi_workload_particles(x, 1, m, &t, &rng, 0.0, 0.0);
        score_at(ctx, m, &t, x, s);
        double h = 1e-3 * sqrt(t.sigma2 + t.alpha * t.alpha * 0.01);
        for (int i = 0; i < d; i++) {
            double fd;
            CENTRAL4(logp_at(ctx, m, &t, x), x, i, h, fd);
            expect_rel(s[i], fd, 2e-7, "trial %d: d log p / dx_%d", trial, i);
        }
        sf_mixture_destroy(m);
    }
    sf_context_destroy(ctx);
}

Test(score, divergence_is_trace_of_score_jacobian)
{
    sf_rng rng;
    sfi_rng_seed(&rng, 12);
    sf_context *ctx = cpu_context();
    for (int trial = 0; trial < 12; trial++) {
        int d = 1 + trial % 5, K = 1 + (trial * 3) % 7;
        sf_mixture *m;
        cr_assert_eq(sfi_workload_mixture(&m, &rng, d, K, SF_WORKLOAD_ALL, 1.0), SF_OK);
        sf_time t = time_at((sf_schedule_kind)(trial % 4), 0.25);
        double x[8], s[8], div, fd_div = 0;
        sfi_workload_particles(x, 1, m, &t, &rng, 0.0, 0.0);
        sf_outputs o = {.div = &div};
        cr_assert_eq(sf_evaluate(ctx, m, &t, x, 1, &o), SF_OK);
        double h = 1e-3 * sqrt(t.sigma2 + t.alpha * t.alpha * 0.01);
        for (int i = 0; i < d; i++) {
            double fd;
            CENTRAL4((score_at(ctx, m, &t, x, s), s[i]), x, i, h, fd);
            fd_div += fd;
        }
        expect_rel(div, fd_div, 1e-6 * fmax(1.0, fabs(fd_div) > 1e3 ? 10 : 1), "trial %d: div s", trial);
        sf_mixture_destroy(m);
    }
    sf_context_destroy(ctx);
}

/* A single Gaussian N(mu, C): p_t = N(alpha mu, alpha^2 C + sigma^2 I) in closed form. */
Test(score, single_gaussian_closed_form)
{
    sf_context *ctx = cpu_context();
    const double mu[3] = {0.5, -1.0, 2.0}, var[3] = {0.3, 0.05, 1.2}, x[3] = {0.2, 0.7, -0.4};
    const double basis[3] = {0.6, 0.0, 0.8}, eig[1] = {2.0};
    for (int kind = 0; kind < 3; kind++) {
        sf_mixture *m;
        sf_mixture_create(&m, 3);
        if (kind == 0) sf_mixture_add_isotropic(m, 1.0, mu, 0.3);
        if (kind == 1) sf_mixture_add_diagonal(m, 1.0, mu, var);
        if (kind == 2) sf_mixture_add_lowrank(m, 1.0, mu, 0.1, 1, basis, eig);
        sf_time t = time_at(SF_SCHEDULE_VP_LINEAR, 0.3);
        double a = t.alpha, s2 = t.sigma2;
        /* eigen-decomposition by hand: axes for iso/diag; for the low-rank case, u and its complement */
        double logp_want = -1.5 * log(2 * M_PI), score_want[3], div_want = 0;
        if (kind < 2) {
            for (int i = 0; i < 3; i++) {
                double v = a * a * (kind == 0 ? 0.3 : var[i]) + s2, e = x[i] - a * mu[i];
                logp_want += -0.5 * log(v) - 0.5 * e * e / v;
                score_want[i] = -e / v;
                div_want -= 1 / v;
            }
        } else {
            double e_perp = a * a * 0.1 + s2, e_u = e_perp + a * a * 2.0, e[3], proj = 0;
            for (int i = 0; i < 3; i++) e[i] = x[i] - a * mu[i], proj += basis[i] * e[i];
            double rest2 = 0;
            for (int i = 0; i < 3; i++) rest2 += (e[i] - proj * basis[i]) * (e[i] - proj * basis[i]);
            logp_want += -0.5 * (2 * log(e_perp) + log(e_u)) - 0.5 * (rest2 / e_perp + proj * proj / e_u);
            for (int i = 0; i < 3; i++) score_want[i] = -(e[i] - proj * basis[i]) / e_perp - proj * basis[i] / e_u;
            div_want = -(2 / e_perp + 1 / e_u);
        }
        double lp, s[3], div;
        sf_outputs o = {.score = s, .logp = &lp, .div = &div};
        cr_assert_eq(sf_evaluate(ctx, m, &t, x, 1, &o), SF_OK);
        expect_rel(lp, logp_want, 1e-14, "kind %d log p", kind);
        expect_rel(div, div_want, 1e-14, "kind %d div", kind);
        for (int i = 0; i < 3; i++) expect_rel(s[i], score_want[i], 1e-14, "kind %d s_%d", kind, i);
        sf_mixture_destroy(m);
    }
    sf_context_destroy(ctx);
}

/* Tweedie: E[x0 | x] = (x + sigma^2 s) / alpha, an independent route to the denoiser at moderate sigma. */
Test(score, denoiser_matches_tweedie)
{
    sf_rng rng;
    sfi_rng_seed(&rng, 13);
    sf_context *ctx = cpu_context();
    for (int trial = 0; trial < 8; trial++) {
        int d = 2 + trial, K = 3 + trial;
        sf_mixture *m;
        cr_assert_eq(sfi_workload_mixture(&m, &rng, d, K, SF_WORKLOAD_ALL, 1.0), SF_OK);
        sf_time t = time_at((sf_schedule_kind)(trial % 4), 0.4);
        double x[16 * 10];
        sfi_workload_particles(x, 10, m, &t, &rng, 0.1, 3.0);
        sf_outputs o = eval_all(ctx, m, &t, x, 10);
        for (int p = 0; p < 10; p++)
            for (int i = 0; i < d; i++)
                expect_rel(o.denoise[p * d + i], (x[p * d + i] + t.sigma2 * o.score[p * d + i]) / t.alpha, 1e-11,
                           "trial %d particle %d coordinate %d", trial, p, i);
        free_outputs(&o);
        sf_mixture_destroy(m);
    }
    sf_context_destroy(ctx);
}

/* Data on a line in R^3 (zero isotropic part) near t = 0 (docs/analyses.md): the score is finite and
 * equals the closed form -(x - P x)/e_perp - ..., |u| ~ dist/tau, and div ~ -m/tau with m = 2. */
Test(score, subspace_component_near_t0)
{
    sf_context *ctx = cpu_context();
    const double mu[3] = {0, 0, 0}, u[3] = {0, 0.6, 0.8}, eig[1] = {1.0}, x[3] = {0.3, 0.2, -0.1};
    sf_mixture *m;
    sf_mixture_create(&m, 3);
    cr_assert_eq(sf_mixture_add_lowrank(m, 1.0, mu, 0.0, 1, u, eig), SF_OK, "%s", sf_last_error());
    double proj = u[1] * x[1] + u[2] * x[2], dist2 = 0;
    for (int i = 0; i < 3; i++) dist2 += (x[i] - proj * u[i]) * (x[i] - proj * u[i]);
    for (double t = 1e-2; t >= 1e-6; t /= 10) {
        sf_time tm = time_at(SF_SCHEDULE_VP_LINEAR, t);
        double tau = tm.tau, s[3], div, lp;
        sf_outputs o = {.score = s, .div = &div, .logp = &lp};
        cr_assert_eq(sf_evaluate(ctx, m, &tm, x, 1, &o), SF_OK, "%s", sf_last_error());
        double a = tm.alpha, e_perp = tm.sigma2, e_u = a * a + tm.sigma2, norm = 0;
        for (int i = 0; i < 3; i++) {
            double e = x[i], want = -(e - proj * u[i]) / e_perp - proj * u[i] / e_u;
            expect_rel(s[i], want, 1e-12, "t = %g s_%d", t, i);
            norm += s[i] * s[i];
        }
        /* heat coordinates: |u| = alpha |s|, dist measured in y = x/alpha */
        double ratio = tau * a * sqrt(norm) / (sqrt(dist2) / a);
        cr_expect(fabs(ratio - 1) < 10 * tau + 1e-9, "t = %g: tau |u| / dist = %.12g", t, ratio);
        expect_rel(div, -(2 / e_perp + 1 / e_u), 1e-12, "t = %g div", t);
        cr_expect(isfinite(lp));
    }
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* Particles far from every mean (logits around -1e5) stay finite and correct: two components
 * of equal variance, where log p and r have closed forms in the distances. */
Test(score, far_particles_have_finite_exact_fields)
{
    sf_context *ctx = cpu_context();
    const double means[4] = {1.0, 0.0, -1.0, 0.5}, w[2] = {0.3, 0.7}, v[2] = {0.01, 0.01};
    sf_mixture *m;
    cr_assert_eq(sf_mixture_create_isotropic(&m, 2, 2, w, means, v), SF_OK);
    sf_time t = time_at(SF_SCHEDULE_VE, 0.0); /* sigma = 0.01: variance 0.0101 */
    double var = 0.01 + t.sigma2, x[2] = {45.0, -3.0};
    double s[2], lp, r[2], div;
    sf_outputs o = {.score = s, .logp = &lp, .resp = r, .div = &div};
    cr_assert_eq(sf_evaluate(ctx, m, &t, x, 1, &o), SF_OK);
    double q[2];
    for (int k = 0; k < 2; k++) {
        double dx = x[0] - means[2 * k], dy = x[1] - means[2 * k + 1];
        q[k] = (dx * dx + dy * dy) / var;
    }
    cr_expect(q[0] / 2 > 9e4, "the test needs logits around -1e5 (got %g)", -q[0] / 2);
    double l0 = log(w[0]) - q[0] / 2, l1 = log(w[1]) - q[1] / 2, mx = fmax(l0, l1);
    double lse = mx + log(exp(l0 - mx) + exp(l1 - mx)) - log(2 * M_PI * var);
    expect_rel(lp, lse, 1e-14, "log p far away");
    double r0 = 1 / (1 + exp(l1 - l0));
    expect_rel(r[0], r0, 1e-14, "r_0");
    expect_rel(r[1], 1 - r0, 1e-14, "r_1");
    for (int i = 0; i < 2; i++) {
        double want = -(x[i] - (r[0] * means[i] + r[1] * means[2 + i])) / var;
        expect_rel(s[i], want, 1e-13, "s_%d", i);
    }
    cr_expect(isfinite(div));
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

Test(score, weights_are_normalised)
{
    sf_context *ctx = cpu_context();
    const double means[2] = {-1.0, 1.0}, v[2] = {0.1, 0.2}, w1[2] = {0.25, 0.75}, w2[2] = {2.0, 6.0};
    sf_mixture *a, *b;
    cr_assert_eq(sf_mixture_create_isotropic(&a, 1, 2, w1, means, v), SF_OK);
    cr_assert_eq(sf_mixture_create_isotropic(&b, 1, 2, w2, means, v), SF_OK);
    expect_rel(sf_mixture_weight(b, 1), 0.75, 1e-15, "normalised weight");
    sf_time t = time_at(SF_SCHEDULE_VP_COSINE, 0.3);
    double x = 0.3, la, lb;
    sf_outputs oa = {.logp = &la}, ob = {.logp = &lb};
    sf_evaluate(ctx, a, &t, &x, 1, &oa);
    sf_evaluate(ctx, b, &t, &x, 1, &ob);
    expect_rel(lb, la, 1e-15, "log p independent of the weights' scale");
    /* and log p integrates to 1 over the line (trapezoid on a fine grid) */
    double h = 1e-3, integral = 0;
    for (double y = -12; y <= 12; y += h) {
        double l;
        sf_outputs o = {.logp = &l};
        sf_evaluate(ctx, b, &t, &y, 1, &o);
        integral += exp(l) * h;
    }
    expect_rel(integral, 1.0, 1e-9, "p_t integrates to 1");
    sf_mixture_destroy(a);
    sf_mixture_destroy(b);
    sf_context_destroy(ctx);
}
