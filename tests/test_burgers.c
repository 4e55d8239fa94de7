/* The Burgers structure at particles (docs/fields.md, C): every derivative of the score against central
 * differences, the residuals at rounding level in heat time and in VP form, a guided (non-Burgers)
 * field's residual of the predicted size, fourth-order convergence of the RK4 Burgers update, and
 * the curl probe on exact scores and on a field with known curl. */
#include "curl.h"
#include "test_helpers.h"

#include <string.h>

static sf_mixture *random_mixture(sf_rng *rng, int d, int K)
{
    sf_mixture *m;
    cr_assert_eq(sfi_workload_mixture(&m, rng, d, K, SF_WORKLOAD_ALL, 1.0), SF_OK);
    return m;
}

static void eval(sf_context *ctx, const sf_mixture *m, const sf_time *t, const double *x, size_t n, sf_outputs o)
{
    cr_assert_eq(sf_evaluate(ctx, m, t, x, n, &o), SF_OK, "%s", sf_last_error());
}

/* a step of 1e-3 of the narrowest noised standard deviation (fourth-order differences) */
static double fd_step(const sf_time *t) { return 1e-3 * sqrt(t->sigma2 + 0.0025 * t->alpha * t->alpha); }

/* f'(0) from f(-2h), f(-h), f(h), f(2h) */
static double d4(const double v[4], double h) { return (v[0] - 8 * v[1] + 8 * v[2] - v[3]) / (12 * h); }

Test(burgers, hessian_and_hvp_match_differences_of_the_score)
{
    sf_rng rng;
    sfi_rng_seed(&rng, 31);
    sf_context *ctx = cpu_context();
    for (int trial = 0; trial < 8; trial++) {
        int d = 1 + trial % 5, K = 2 + trial;
        sf_mixture *m = random_mixture(&rng, d, K);
        sf_time t = time_at((sf_schedule_kind)(trial % 4), 0.25);
        double x[8], v[8], H[64], hv[8], hs[8], s0[8], s[4][8], h = fd_step(&t);
        sfi_workload_particles(x, 1, m, &t, &rng, 0, 0);
        for (int j = 0; j < d; j++) v[j] = sfi_rng_normal(&rng);
        eval(ctx, m, &t, x, 1, (sf_outputs){.score = s0, .hessian = H, .hvp = hv, .hvp_dir = v, .hvp_score = hs});
        double scale = 0;
        for (int j = 0; j < d * d; j++) scale = fmax(scale, fabs(H[j]));
        for (int b = 0; b < d; b++) { /* column b: d s / d x_b */
            double off[4] = {-2, -1, 1, 2}, x0 = x[b];
            for (int q = 0; q < 4; q++) {
                x[b] = x0 + off[q] * h;
                eval(ctx, m, &t, x, 1, (sf_outputs){.score = s[q]});
            }
            x[b] = x0;
            for (int a = 0; a < d; a++) {
                double col[4] = {s[0][a], s[1][a], s[2][a], s[3][a]};
                cr_expect(fabs(H[a * d + b] - d4(col, h)) <= 1e-6 * scale, "trial %d H_%d%d = %.12g, differences %.12g",
                          trial, a, b, H[a * d + b], d4(col, h));
            }
        }
        for (int a = 0; a < d; a++) {
            double want = 0, want_s = 0;
            for (int b = 0; b < d; b++) want += H[a * d + b] * v[b], want_s += H[a * d + b] * s0[b];
            expect_rel(hv[a], want, 1e-12 * fmax(1, scale), "trial %d (H v)_%d", trial, a);
            expect_rel(hs[a], want_s, 1e-12 * fmax(1, scale), "trial %d (H s)_%d", trial, a);
        }
        sf_mixture_destroy(m);
    }
    sf_context_destroy(ctx);
}

/* Lap s = grad(div s) (docs/fields.md), by differences of the divergence output */
Test(burgers, laplacian_is_gradient_of_divergence)
{
    sf_rng rng;
    sfi_rng_seed(&rng, 32);
    sf_context *ctx = cpu_context();
    for (int trial = 0; trial < 8; trial++) {
        int d = 1 + trial % 6, K = 1 + trial;
        sf_mixture *m = random_mixture(&rng, d, K);
        sf_time t = time_at((sf_schedule_kind)(trial % 4), 0.3);
        double x[8], lap[8], h = fd_step(&t), scale = 0;
        sfi_workload_particles(x, 1, m, &t, &rng, 0, 0);
        eval(ctx, m, &t, x, 1, (sf_outputs){.lap = lap});
        double fd[8];
        for (int a = 0; a < d; a++) {
            double v[4], off[4] = {-2, -1, 1, 2}, x0 = x[a];
            for (int q = 0; q < 4; q++) {
                x[a] = x0 + off[q] * h;
                eval(ctx, m, &t, x, 1, (sf_outputs){.div = &v[q]});
            }
            x[a] = x0;
            fd[a] = d4(v, h);
            scale = fmax(scale, fabs(fd[a]));
        }
        for (int a = 0; a < d; a++)
            cr_expect(fabs(lap[a] - fd[a]) <= 1e-5 * fmax(1, scale), "trial %d Lap s_%d = %.12g, grad div %.12g", trial,
                      a, lap[a], fd[a]);
        sf_mixture_destroy(m);
    }
    sf_context_destroy(ctx);
}

/* d s/dt and d log p/dt at fixed x against differences in t, every schedule; d u/d tau at fixed y
 * against differences in tau of the heat-frame score (direct alpha = 1, sigma^2 = tau) */
Test(burgers, time_derivatives_match_differences)
{
    sf_rng rng;
    sfi_rng_seed(&rng, 33);
    sf_context *ctx = cpu_context();
    for (int trial = 0; trial < 8; trial++) {
        int d = 1 + trial % 4, K = 2 + trial % 5;
        sf_schedule_kind kind = (sf_schedule_kind)(trial % 4);
        sf_mixture *m = random_mixture(&rng, d, K);
        double t0 = 0.2 + 0.05 * trial, ht = 1e-4;
        sf_time t = time_at(kind, t0);
        double x[8], dts[8], dtl, dtau[8], dtaul, s[4][8], l[4];
        sfi_workload_particles(x, 1, m, &t, &rng, 0, 0);
        eval(ctx, m, &t, x, 1, (sf_outputs){.dt_score = dts, .dt_logp = &dtl, .dtau_score = dtau, .dtau_logp = &dtaul});
        double off[4] = {-2, -1, 1, 2};
        for (int q = 0; q < 4; q++) {
            sf_time tq = time_at(kind, t0 + off[q] * ht);
            eval(ctx, m, &tq, x, 1, (sf_outputs){.score = s[q], .logp = &l[q]});
        }
        expect_rel(dtl, d4(l, ht), 1e-7, "trial %d d log p/dt", trial);
        for (int a = 0; a < d; a++) {
            double col[4] = {s[0][a], s[1][a], s[2][a], s[3][a]};
            expect_rel(dts[a], d4(col, ht), 1e-7 * fmax(1, fabs(dts[a])), "trial %d d s_%d/dt", trial, a);
        }
        /* heat frame: y = x / alpha, q(y, tau) */
        double y[8], htau = 1e-4 * t.tau;
        for (int a = 0; a < d; a++) y[a] = x[a] / t.alpha;
        for (int q = 0; q < 4; q++) {
            sf_schedule direct = sf_schedule_default(SF_SCHEDULE_DIRECT);
            direct.alpha = 1, direct.sigma = sqrt(t.tau + off[q] * htau);
            sf_time tq;
            cr_assert_eq(sf_schedule_at(&direct, 0, &tq), SF_OK);
            eval(ctx, m, &tq, y, 1, (sf_outputs){.score = s[q], .logp = &l[q]});
        }
        expect_rel(dtaul, d4(l, htau), 1e-7 * fmax(1, fabs(dtaul)), "trial %d d log q/d tau", trial);
        for (int a = 0; a < d; a++) {
            double col[4] = {s[0][a], s[1][a], s[2][a], s[3][a]};
            expect_rel(dtau[a], d4(col, htau), 1e-7 * fmax(1, fabs(dtau[a])), "trial %d d u_%d/d tau", trial, a);
        }
        sf_mixture_destroy(m);
    }
    sf_context_destroy(ctx);
}

/* The residuals vanish to rounding (<= 1e-10 of their scale) on random mixtures of every kind,
 * d up to 128, every schedule (and a direct pair for the heat form). */
Test(burgers, residual_is_at_rounding_level)
{
    sf_rng rng;
    sfi_rng_seed(&rng, 34);
    sf_context *ctx = cpu_context();
    static const int dims[] = {1, 2, 5, 16, 64, 128};
    for (int i = 0; i < 6; i++)
        for (int kind = 0; kind < 5; kind++) {
            int d = dims[i], K = 1 + (3 * i + kind) % 12;
            size_t n = 40;
            sf_mixture *m = random_mixture(&rng, d, K);
            sf_time t;
            if (kind < 4) {
                t = time_at((sf_schedule_kind)kind, 0.1 + 0.15 * kind);
            } else {
                sf_schedule s = sf_schedule_default(SF_SCHEDULE_DIRECT);
                s.alpha = 0.7, s.sigma = 0.3;
                cr_assert_eq(sf_schedule_at(&s, 0, &t), SF_OK);
            }
            double *x = malloc(n * d * sizeof(double)), *R = malloc(n * d * sizeof(double)), sc[40];
            double *Rt = malloc(n * d * sizeof(double)), sct[40];
            sfi_workload_particles(x, n, m, &t, &rng, 0.1, 3.0);
            sf_outputs o = {.residual = R, .residual_scale = sc};
            if (kind < 4) o.residual_t = Rt, o.residual_t_scale = sct;
            eval(ctx, m, &t, x, n, o);
            double worst = 0, worst_t = 0;
            for (size_t p = 0; p < n; p++) {
                double r2 = 0, rt2 = 0;
                for (int j = 0; j < d; j++) r2 += R[p * d + j] * R[p * d + j], rt2 += Rt[p * d + j] * Rt[p * d + j];
                worst = fmax(worst, sqrt(r2) / sc[p]);
                if (kind < 4) worst_t = fmax(worst_t, sqrt(rt2) / sct[p]);
            }
            cr_expect(worst <= 1e-10, "heat residual d = %d K = %d frame %d: %.3g of scale", d, K, kind, worst);
            cr_expect(worst_t <= 1e-10, "VP residual d = %d K = %d schedule %d: %.3g of scale", d, K, kind, worst_t);
            free(x), free(R), free(Rt);
            sf_mixture_destroy(m);
        }
    sf_context_destroy(ctx);
}

/* A guided field u_g = (1 - g) u + g u_c (u_c: the score of a sub-mixture, the "class") is not a
 * Burgers solution: R_g = grad(g (1 - g) |u - u_c|^2 / 2) (docs/burgers.md). Its residual, assembled from
 * the library's d_tau u, Lap u and H v of both mixtures, matches the predicted gradient taken by
 * central differences of the scalar g (1 - g) |u - u_c|^2 / 2. */
Test(burgers, guided_field_has_the_predicted_residual)
{
    sf_context *ctx = cpu_context();
    const double means[6] = {1.0, 0.2, -0.8, 0.5, 0.1, -1.1}, w[3] = {0.5, 0.3, 0.2}, v[3] = {0.2, 0.3, 0.15};
    sf_mixture *all, *cls;
    cr_assert_eq(sf_mixture_create_isotropic(&all, 2, 3, w, means, v), SF_OK);
    cr_assert_eq(sf_mixture_create_isotropic(&cls, 2, 1, w, means, v), SF_OK); /* class = component 0 */
    sf_schedule direct = sf_schedule_default(SF_SCHEDULE_DIRECT);
    direct.alpha = 1, direct.sigma = sqrt(0.3);
    sf_time t;
    cr_assert_eq(sf_schedule_at(&direct, 0, &t), SF_OK);
    double gamma = 2.5, y[2] = {0.3, -0.4};
    double u[2], uc[2], dtu[2], dtuc[2], lu[2], luc[2], ug[2], hu[2], huc[2];
    eval(ctx, all, &t, y, 1, (sf_outputs){.score = u, .dtau_score = dtu, .lap = lu});
    eval(ctx, cls, &t, y, 1, (sf_outputs){.score = uc, .dtau_score = dtuc, .lap = luc});
    for (int j = 0; j < 2; j++) ug[j] = (1 - gamma) * u[j] + gamma * uc[j];
    eval(ctx, all, &t, y, 1, (sf_outputs){.hvp = hu, .hvp_dir = ug});
    eval(ctx, cls, &t, y, 1, (sf_outputs){.hvp = huc, .hvp_dir = ug});
    /* R_g = d_tau u_g - Lap u_g / 2 - (grad u_g) u_g, grad u_g = (1 - g) H + g H_c */
    double R[2], pred[2], h = 1e-4, size = 0;
    for (int j = 0; j < 2; j++) {
        R[j] = (1 - gamma) * (dtu[j] - 0.5 * lu[j]) + gamma * (dtuc[j] - 0.5 * luc[j]) - ((1 - gamma) * hu[j] + gamma * huc[j]);
        size = fmax(size, fabs(R[j]));
    }
    for (int j = 0; j < 2; j++) {
        double phi[4], off[4] = {-2, -1, 1, 2}, y0 = y[j];
        for (int q = 0; q < 4; q++) {
            y[j] = y0 + off[q] * h;
            double a[2], b[2];
            eval(ctx, all, &t, y, 1, (sf_outputs){.score = a});
            eval(ctx, cls, &t, y, 1, (sf_outputs){.score = b});
            phi[q] = 0.5 * gamma * (1 - gamma) * ((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]));
        }
        y[j] = y0;
        pred[j] = d4(phi, h);
    }
    cr_expect(size > 1e-2, "the guided residual should be far from zero (got %g)", size);
    for (int j = 0; j < 2; j++)
        cr_expect(fabs(R[j] - pred[j]) <= 1e-7 * fmax(1, size), "R_%d = %.12g, predicted %.12g", j, R[j], pred[j]);
    sf_mixture_destroy(all), sf_mixture_destroy(cls);
    sf_context_destroy(ctx);
}

/* RK4 in tau of d_tau u = Lap u / 2 + H u from the exact u(y, tau0) reaches the exact u(y, tau1)
 * with error O(h^4): the observed order from halving the step is 4 within 0.3. */
Test(burgers, rk4_update_converges_at_fourth_order)
{
    sf_rng rng;
    sfi_rng_seed(&rng, 35);
    sf_context *ctx = cpu_context();
    sf_mixture *m = random_mixture(&rng, 3, 4);
    size_t n = 16;
    double tau0 = 0.05, tau1 = 0.3, y[48], exact[48], err[3];
    sf_time t0, t1;
    sf_schedule direct = sf_schedule_default(SF_SCHEDULE_DIRECT);
    direct.sigma = sqrt(tau0);
    sf_schedule_at(&direct, 0, &t0);
    direct.sigma = sqrt(tau1);
    sf_schedule_at(&direct, 0, &t1);
    sfi_workload_particles(y, n, m, &t0, &rng, 0, 0);
    eval(ctx, m, &t1, y, n, (sf_outputs){.score = exact});
    static const int steps[3] = {16, 32, 64};
    for (int r = 0; r < 3; r++) {
        double u[48];
        eval(ctx, m, &t0, y, n, (sf_outputs){.score = u});
        cr_assert_eq(sf_burgers_advance(ctx, m, y, n, tau0, tau1, steps[r], u), SF_OK, "%s", sf_last_error());
        err[r] = 0;
        for (size_t i = 0; i < n * 3; i++) err[r] = fmax(err[r], fabs(u[i] - exact[i]));
    }
    double order1 = log2(err[0] / err[1]), order2 = log2(err[1] / err[2]);
    cr_expect(err[2] < 1e-4, "error with 64 steps: %g", err[2]);
    cr_expect(fabs(order2 - 4) < 0.3, "observed orders %.3f, %.3f (errors %.3g %.3g %.3g)", order1, order2, err[0], err[1], err[2]);
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* Curl: exact scores are gradients (tiny antisymmetric part, from the differences alone); the
 * field s(x) + c A x with A antisymmetric has the known relative curl. */
typedef struct {
    sf_context *ctx;
    sf_mixture *m;
    sf_time t;
    double c;
} rotated;

static sf_status rotated_field(void *data, const double *pts, size_t k, double *out)
{
    rotated *r = data;
    sf_outputs o = {.score = out};
    sf_status st = sf_evaluate(r->ctx, r->m, &r->t, pts, k, &o);
    for (size_t i = 0; i < k; i++) { /* A = [[0, -1], [1, 0]] in the first two coordinates */
        out[i * 3 + 0] += -r->c * pts[i * 3 + 1];
        out[i * 3 + 1] += r->c * pts[i * 3 + 0];
    }
    return st;
}

Test(burgers, curl_probe_sees_gradients_and_rotation)
{
    sf_rng rng;
    sfi_rng_seed(&rng, 36);
    sf_context *ctx = cpu_context();
    sf_mixture *m = random_mixture(&rng, 3, 5);
    sf_time t = time_at(SF_SCHEDULE_VP_LINEAR, 0.3);
    size_t n = 20;
    double x[60], curl[20], curl_full[20];
    sfi_workload_particles(x, n, m, &t, &rng, 0, 0);
    cr_assert_eq(sf_score_curl(ctx, m, &t, x, n, 4, 7, curl), SF_OK, "%s", sf_last_error());
    cr_assert_eq(sf_score_curl(ctx, m, &t, x, n, 0, 7, curl_full), SF_OK, "%s", sf_last_error());
    for (size_t i = 0; i < n; i++) {
        cr_expect(curl[i] < 1e-6, "particle %zu: probe curl %.3g of an exact score", i, curl[i]);
        cr_expect(curl_full[i] < 1e-6, "particle %zu: Jacobian curl %.3g of an exact score", i, curl_full[i]);
    }
    /* rotated field: J = H + c A; ||J - J^T|| / (2 ||J||) = c sqrt(2) / ||H + c A|| */
    rotated r = {ctx, m, t, 5.0};
    cr_assert_eq(sfi_field_curl(rotated_field, &r, 3, x, n, 0, 0, 7, 1e-5, curl_full), SF_OK);
    for (size_t i = 0; i < n; i++) {
        double H[9];
        eval(ctx, m, &t, x + 3 * i, 1, (sf_outputs){.hessian = H});
        H[1] -= r.c, H[3] += r.c; /* J = H + c A, A_01 = -1, A_10 = 1 */
        double norm = 0;
        for (int j = 0; j < 9; j++) norm += H[j] * H[j];
        double want = r.c * sqrt(2.0) / sqrt(norm);
        expect_rel(curl_full[i], want, 1e-6, "particle %zu: curl of the rotated field", i);
    }
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}
