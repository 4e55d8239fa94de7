/* Information flow (docs/analyses.md): the Monte Carlo bandwidth against the closed form of a single
 * Gaussian; the symmetric pair's universal curves against the reference peaks, against the score
 * engine and against Monte Carlo; the entropy budget against the closed form of a Gaussian. */
#include "test_helpers.h"

#include <pthread.h>
#include <string.h>

/* b = g^2/2 sum_j alpha^2 c_j / (sigma^2 (alpha^2 c_j + sigma^2)) for N(mu, diag(c)) */
Test(information, bandwidth_of_a_gaussian)
{
    sf_context *ctx = cpu_context();
    const double mu[3] = {0.3, -1, 2}, c[3] = {0.5, 0.1, 2.0};
    sf_mixture *m;
    sf_mixture_create(&m, 3);
    cr_assert_eq(sf_mixture_add_diagonal(m, 1, mu, c), SF_OK);
    static const sf_schedule_kind kinds[3] = {SF_SCHEDULE_VP_LINEAR, SF_SCHEDULE_VE, SF_SCHEDULE_VP_COSINE};
    for (int k = 0; k < 3; k++)
        for (double t = 0.1; t < 0.95; t += 0.2) {
            sf_time tm = time_at(kinds[k], t);
            double b, se, want = 0;
            cr_assert_eq(sf_bandwidth(ctx, m, &tm, 20000, 3, &b, &se), SF_OK, "%s", sf_last_error());
            for (int j = 0; j < 3; j++) {
                double v = tm.alpha * tm.alpha * c[j];
                want += 0.5 * tm.g2 * v / (tm.sigma2 * (v + tm.sigma2));
            }
            /* a single Gaussian has constant div s: the estimate is exact up to rounding */
            cr_expect(fabs(b - want) <= 5 * se + 1e-9 * fabs(want), "%s t = %.1f: b = %.10g +- %.2g, closed form %.10g",
                      sf_schedule_kind_name(kinds[k]), t, b, se, want);
        }
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* Var[h_Y] of a symmetric pair depends only on kappa = a^2/(s^2 + tau); its maximum 0.0536289 is at
 * kappa* = 1.3454777 (the reference value). Monte Carlo with 4e5 draws: the value within 5 standard
 * errors, and smaller at 0.6 kappa* and 1.6 kappa*. */
Test(information, label_entropy_variance_peak)
{
    sf_context *ctx = cpu_context();
    double a = 1.0, s2 = 0.2;
    const double means[2] = {a, -a}, w[2] = {0.5, 0.5}, v[2] = {s2, s2};
    sf_mixture *m;
    cr_assert_eq(sf_mixture_create_isotropic(&m, 1, 2, w, means, v), SF_OK);
    size_t n = 400000;
    double *x = malloc(n * sizeof(double)), *h = malloc(n * sizeof(double)), var[3], se[3];
    static const double factor[3] = {1.0, 0.6, 1.6};
    for (int i = 0; i < 3; i++) {
        double kappa = 1.3454777 * factor[i], tau = a * a / kappa - s2;
        sf_schedule direct = sf_schedule_default(SF_SCHEDULE_DIRECT);
        direct.alpha = 1, direct.sigma = sqrt(tau);
        sf_time t;
        cr_assert_eq(sf_schedule_at(&direct, 0, &t), SF_OK);
        cr_assert_eq(sf_sample_marginal(m, &t, 9, 0, x, n), SF_OK);
        cr_assert_eq(sf_label_entropy(ctx, m, &t, x, n, h), SF_OK);
        double mean = 0, m2 = 0, m4 = 0;
        for (size_t p = 0; p < n; p++) mean += h[p];
        mean /= n;
        for (size_t p = 0; p < n; p++) {
            double e = h[p] - mean;
            m2 += e * e, m4 += e * e * e * e;
        }
        var[i] = m2 / (n - 1), se[i] = sqrt((m4 / n - var[i] * var[i]) / n);
    }
    cr_expect(fabs(var[0] - 0.0536289) < 5 * se[0], "Var[h_Y] at kappa* = %.6f +- %.2g, universal 0.0536289", var[0], se[0]);
    cr_expect(var[1] < var[0] && var[2] < var[0], "the peak: %.5f (0.6 kappa*), %.5f (kappa*), %.5f (1.6 kappa*)", var[1], var[0], var[2]);
    free(x), free(h);
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* The universal peaks against the reference values (a table computed independently, 7-8 digits), within the stated
 * tolerance plus the reference's rounding; and each a maximum of its curve. */
Test(information, pair_peaks_match_the_reference_values)
{
    static const double ref[2][2] = {{1.3454777, 0.05362889}, {3.7586954, 0.1425150}}, rounding[2][2] = {{5e-8, 5e-9}, {5e-8, 5e-8}};
    for (int which = 0; which < 2; which++) {
        sf_pair_peak p;
        cr_assert_eq(sf_pair_variance_peak((sf_pair_statistic)which, &p), SF_OK, "%s", sf_last_error());
        cr_expect(fabs(p.kappa - ref[which][0]) <= p.kappa_tol + rounding[which][0], "%d: kappa* = %.10f +- %.2g, reference %.7f",
                  which, p.kappa, p.kappa_tol, ref[which][0]);
        cr_expect(fabs(p.var - ref[which][1]) <= p.var_tol + rounding[which][1], "%d: Var = %.10f +- %.2g, reference %.8f", which,
                  p.var, p.var_tol, ref[which][1]);
        cr_expect(p.kappa_tol < 1e-5 && p.var_tol < 1e-12, "%d: tolerances %.2g, %.2g", which, p.kappa_tol, p.var_tol);
        for (double f = 0.5; f < 2.1; f += 0.05) {
            double v;
            cr_assert_eq(sf_pair_variance((sf_pair_statistic)which, p.kappa * f, &v), SF_OK);
            cr_expect(v <= p.var + p.var_tol, "%d: Var(%.3f kappa*) = %.12f above the peak %.12f", which, f, v, p.var);
        }
    }
}

/* The universal curves against a direct route on a concrete pair: the density, responsibilities and
 * divergence from the score engine (sf_evaluate) on a fine y grid, Var by the trapezoid rule. */
Test(information, pair_variance_matches_the_score_engine)
{
    sf_context *ctx = cpu_context();
    double a = 1.3, s2 = 0.2;
    const double means[2] = {a, -a}, w[2] = {0.5, 0.5}, vs[2] = {s2, s2};
    sf_mixture *m;
    cr_assert_eq(sf_mixture_create_isotropic(&m, 1, 2, w, means, vs), SF_OK);
    enum { N = 40001 };
    static double y[N], lp[N], r[2 * N], dv[N];
    static const double kappas[4] = {0.4, 1.3454777, 3.7586954, 7.0};
    for (int c = 0; c < 4; c++) {
        double tau = a * a / kappas[c] - s2, v = s2 + tau, L = a + 14 * sqrt(v), h = 2 * L / (N - 1);
        for (int i = 0; i < N; i++) y[i] = -L + i * h;
        sf_time t;
        cr_assert_eq(sf_time_heat(tau, &t), SF_OK);
        sf_outputs o = {.logp = lp, .resp = r, .div = dv};
        cr_assert_eq(sf_evaluate(ctx, m, &t, y, N, &o), SF_OK);
        double mom[2][3] = {{0}};
        for (int i = 0; i < N; i++) {
            double p = exp(lp[i]) * h, hy = 0;
            for (int k = 0; k < 2; k++) hy -= r[2 * i + k] > 0 ? r[2 * i + k] * log(r[2 * i + k]) : 0;
            double rho = v * 0.5 * (dv[i] + 1 / tau); /* nu = s^2 + tau for an isotropic pair */
            double f[2] = {hy, rho};
            for (int s = 0; s < 2; s++) mom[s][0] += p, mom[s][1] += p * f[s], mom[s][2] += p * f[s] * f[s];
        }
        for (int s = 0; s < 2; s++) {
            double want = mom[s][2] / mom[s][0] - pow(mom[s][1] / mom[s][0], 2), got, nu, kappa;
            cr_assert_eq(sf_pair_variance((sf_pair_statistic)s, kappas[c], &got), SF_OK);
            expect_rel(got, want, 1e-10, "statistic %d at kappa = %g: quadrature %.14f, score engine %.14f", s, kappas[c], got, want);
            cr_assert_eq(sf_pair_kappa(m, tau, &kappa, &nu), SF_OK);
            expect_rel(kappa, kappas[c], 1e-13, "kappa(tau)");
            expect_rel(nu, v, 1e-13, "nu = s^2 + tau");
        }
    }
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* Monte Carlo at the peak time of an anisotropic symmetric pair (diagonal C in 3-D, where kappa and
 * nu need the general forms): the estimates within 4 standard errors of the exact peaks. */
Test(information, pair_peaks_against_monte_carlo)
{
    sf_context *ctx = cpu_context();
    const double mu[3] = {0.9, -0.5, 0.3}, neg[3] = {-0.9, 0.5, -0.3}, var[3] = {0.05, 0.3, 0.1};
    sf_mixture *m;
    sf_mixture_create(&m, 3);
    cr_assert_eq(sf_mixture_add_diagonal(m, 1, mu, var), SF_OK);
    cr_assert_eq(sf_mixture_add_diagonal(m, 1, neg, var), SF_OK);
    for (int which = 0; which < 2; which++) {
        sf_peak_check c;
        cr_assert_eq(sf_pair_peak_check(ctx, m, (sf_pair_statistic)which, 200000, 11, &c), SF_OK, "%s", sf_last_error());
        double kappa;
        cr_assert_eq(sf_pair_kappa(m, c.tau, &kappa, NULL), SF_OK);
        expect_rel(kappa, c.exact.kappa, 1e-12, "the peak time reaches kappa*");
        cr_expect(fabs(c.z) < 4, "%d: Monte Carlo %.6f +- %.2g against %.6f: z = %.2f", which, c.mc.var, c.mc.var_se, c.exact.var, c.z);
        expect_rel(c.z, (c.mc.var - c.exact.var) / c.mc.var_se, 1e-12, "z");
    }
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* For one Gaussian N(mu, diag(c)) the conditional entropy is known: H(X0 | Y_tau) =
 * sum_j ln(2 pi e c_j tau / (c_j + tau)) / 2, so int b dt over [t0, t1] is its difference. The
 * integral along noising paths reproduces it to quadrature precision; the probability-flow paths
 * to their discretisation; and on the default pair the two agree within their standard errors. */
Test(information, entropy_budget)
{
    sf_context *ctx = cpu_context();
    const double mu[2] = {0.3, -1}, c[2] = {0.5, 0.1};
    sf_mixture *g;
    sf_mixture_create(&g, 2);
    cr_assert_eq(sf_mixture_add_diagonal(g, 1, mu, c), SF_OK);
    sf_schedule vp = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    sf_time a = time_at(SF_SCHEDULE_VP_LINEAR, 0.02), b = time_at(SF_SCHEDULE_VP_LINEAR, 0.98);
    double want = 0;
    for (int j = 0; j < 2; j++) want += 0.5 * (log(b.tau / (c[j] + b.tau)) - log(a.tau / (c[j] + a.tau)));
    sf_budget e;
    cr_assert_eq(sf_entropy_budget(ctx, g, &vp, 0.02, 0.98, 500, 400, 5, &e), SF_OK, "%s", sf_last_error());
    expect_rel(e.integral.mean, want, 1e-10, "int b dt along noising paths: %.12f, closed form %.12f", e.integral.mean, want);
    expect_rel(e.pathwise.mean, want, 1e-4, "along probability-flow paths: %.8f, closed form %.8f", e.pathwise.mean, want);
    sf_mixture_destroy(g);
    const double means[4] = {1, 0, -1, 0}, w[2] = {0.5, 0.5}, vs[2] = {0.1, 0.1};
    cr_assert_eq(sf_mixture_create_isotropic(&g, 2, 2, w, means, vs), SF_OK);
    cr_assert_eq(sf_entropy_budget(ctx, g, &vp, 0.02, 0.98, 4000, 400, 5, &e), SF_OK, "%s", sf_last_error());
    cr_expect(fabs(e.z) < 4, "pair: pathwise %.5f +- %.2g, int b dt %.5f +- %.2g, z = %.2f", e.pathwise.mean, e.pathwise.mean_se,
              e.integral.mean, e.integral.mean_se, e.z);
    sf_mixture_destroy(g);
    sf_context_destroy(ctx);
}

/* ---------------------------------------------------------------- estimates shared over processes */

/* Three "processes" as threads, each with its own context and a third of the draws
 * (sf_context_set_share); the sum hook adds their parts in rank order through a barrier, as the
 * CLI's MPI hook does. */
enum { SHARE_RANKS = 3 };

typedef struct {
    pthread_barrier_t barrier;
    double parts[SHARE_RANKS][4];
    int fail; /* the hook reports a failure (another process stopped) */
} share_board;

typedef struct {
    share_board *board;
    int rank;
    sf_context *ctx;
    double b, b_se;
    sf_estimate h;
    sf_budget budget;
    sf_status st;
} share_rank;

static int sum_on_board(void *data, double *values, int count)
{
    share_rank *me = data;
    share_board *board = me->board;
    memcpy(board->parts[me->rank], values, (size_t)count * sizeof(double));
    pthread_barrier_wait(&board->barrier);
    for (int i = 0; i < count; i++) {
        values[i] = board->parts[0][i];
        for (int r = 1; r < SHARE_RANKS; r++) values[i] += board->parts[r][i];
    }
    pthread_barrier_wait(&board->barrier); /* every part read before the next sum writes */
    return board->fail;
}

static sf_mixture *share_pair(void)
{
    const double means[4] = {1, 0.2, -1, -0.2}, w[2] = {0.4, 0.6}, v[2] = {0.1, 0.3};
    sf_mixture *m;
    cr_assert_eq(sf_mixture_create_isotropic(&m, 2, 2, w, means, v), SF_OK);
    return m;
}

static void *run_share_rank(void *arg)
{
    share_rank *me = arg;
    sf_mixture *m = share_pair();
    sf_schedule vp = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    sf_time tm = time_at(SF_SCHEDULE_VP_LINEAR, 0.4);
    me->st = sf_context_set_share(me->ctx, me->rank, SHARE_RANKS, sum_on_board, me);
    if (me->st == SF_OK) me->st = sf_bandwidth(me->ctx, m, &tm, 3001, 5, &me->b, &me->b_se);
    if (me->st == SF_OK) me->st = sf_label_entropy_moments(me->ctx, m, &tm, 3001, 6, &me->h);
    if (me->st == SF_OK) me->st = sf_entropy_budget(me->ctx, m, &vp, 0.05, 0.9, 301, 40, 7, &me->budget);
    sf_mixture_destroy(m);
    return NULL;
}

static void expect_same(double got, double want, const char *what)
{
    cr_expect(fabs(got - want) <= 1e-12 * fabs(want), "%s: shared %.17g, one process %.17g", what, got, want);
}

Test(information, estimates_shared_over_processes)
{
    share_board board = {.fail = 0};
    pthread_barrier_init(&board.barrier, NULL, SHARE_RANKS);
    share_rank ranks[SHARE_RANKS];
    pthread_t threads[SHARE_RANKS];
    for (int r = 0; r < SHARE_RANKS; r++) {
        ranks[r] = (share_rank){.board = &board, .rank = r, .ctx = cpu_context()};
        cr_assert_eq(pthread_create(&threads[r], NULL, run_share_rank, &ranks[r]), 0);
    }
    for (int r = 0; r < SHARE_RANKS; r++) pthread_join(threads[r], NULL);
    pthread_barrier_destroy(&board.barrier);
    /* one process, no share: the same draws summed in one pass */
    share_rank one = {.ctx = cpu_context()};
    sf_mixture *m = share_pair();
    sf_schedule vp = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    sf_time tm = time_at(SF_SCHEDULE_VP_LINEAR, 0.4);
    cr_assert_eq(sf_bandwidth(one.ctx, m, &tm, 3001, 5, &one.b, &one.b_se), SF_OK);
    cr_assert_eq(sf_label_entropy_moments(one.ctx, m, &tm, 3001, 6, &one.h), SF_OK);
    cr_assert_eq(sf_entropy_budget(one.ctx, m, &vp, 0.05, 0.9, 301, 40, 7, &one.budget), SF_OK);
    for (int r = 0; r < SHARE_RANKS; r++) {
        cr_assert_eq(ranks[r].st, SF_OK, "rank %d: %s", r, sf_last_error());
        expect_same(ranks[r].b, one.b, "b");
        expect_same(ranks[r].b_se, one.b_se, "b's standard error");
        expect_same(ranks[r].h.mean, one.h.mean, "E[h_Y]");
        expect_same(ranks[r].h.var, one.h.var, "Var[h_Y]");
        expect_same(ranks[r].h.var_se, one.h.var_se, "Var[h_Y]'s standard error");
        expect_same(ranks[r].budget.pathwise.mean, one.budget.pathwise.mean, "pathwise budget");
        expect_same(ranks[r].budget.integral.mean, one.budget.integral.mean, "integral of b");
        cr_expect_eq(ranks[r].h.n, one.h.n);
        sf_context_destroy(ranks[r].ctx);
    }
    sf_mixture_destroy(m);
    sf_context_destroy(one.ctx);
}

Test(information, shared_estimate_fails_with_its_sum)
{
    share_board board = {.fail = 1};
    pthread_barrier_init(&board.barrier, NULL, 1);
    share_rank me = {.board = &board, .rank = 0, .ctx = cpu_context()};
    sf_mixture *m = share_pair();
    sf_time tm = time_at(SF_SCHEDULE_VP_LINEAR, 0.4);
    double b, se;
    /* a share of one rank is no share: local, the hook never called */
    cr_assert_eq(sf_context_set_share(me.ctx, 0, 1, sum_on_board, &me), SF_OK);
    cr_expect_eq(sf_bandwidth(me.ctx, m, &tm, 100, 5, &b, &se), SF_OK);
    cr_expect_eq(sf_context_set_share(me.ctx, 3, 3, sum_on_board, &me), SF_ERR_INVALID);
    cr_expect_eq(sf_context_set_share(NULL, 0, 2, sum_on_board, &me), SF_ERR_INVALID);
    /* rank 0 of 2 with a hook that reports the other's failure: the estimate fails, named */
    cr_assert_eq(sf_context_set_share(me.ctx, 0, 2, sum_on_board, &me), SF_OK);
    board.fail = 1;
    cr_expect_eq(sf_bandwidth(me.ctx, m, &tm, 100, 5, &b, &se), SF_ERR_IO);
    cr_expect(strstr(sf_last_error(), "sharing the estimate") != NULL, "%s", sf_last_error());
    pthread_barrier_destroy(&board.barrier);
    sf_mixture_destroy(m);
    sf_context_destroy(me.ctx);
}
