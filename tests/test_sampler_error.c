/* Samplers measured against the exact distribution (docs/samplers.md, "Exact sampler error"): the
 * reference flow against the affine closed form of Gaussian data, the observed orders of known
 * solvers, the significance of the distributional measures on exact draws and on a bad sampler,
 * and the sliced W2 against the closed-form W2 of two 1-D Gaussians. */
#include "test_helpers.h"

#include <criterion/criterion.h>
#include <scorefield.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One diagonal Gaussian N(mu, diag(c)) in d = 2. */
static const double gauss_mu[2] = {1.0, -0.5}, gauss_var[2] = {0.5, 2.0};
static sf_mixture *one_gaussian(void)
{
    sf_mixture *m = NULL;
    cr_assert_eq(sf_mixture_create(&m, 2), SF_OK);
    cr_assert_eq(sf_mixture_add_diagonal(m, 1.0, gauss_mu, gauss_var), SF_OK);
    return m;
}

/* For Gaussian data every marginal is Gaussian, v_t = alpha_t^2 c + sigma_t^2 per coordinate, and
 * the flow is the monotone affine map between them: x_t0 = alpha_t0 mu + sqrt(v_t0 / v_t1) (x_t1 -
 * alpha_t1 mu). The adaptive solve reproduces it to its tolerance, both ways. */
Test(sampler_error, reference_flow_matches_the_affine_closed_form)
{
    sf_mixture *m = one_gaussian();
    sf_context *ctx = cpu_context();
    sf_schedule_kind kinds[2] = {SF_SCHEDULE_VP_LINEAR, SF_SCHEDULE_VE};
    for (int s = 0; s < 2; s++) {
        sf_schedule sched = sf_schedule_default(kinds[s]);
        double t1 = 1.0, t0 = 1e-3;
        sf_time a, b;
        cr_assert_eq(sf_schedule_at(&sched, t1, &a), SF_OK);
        cr_assert_eq(sf_schedule_at(&sched, t0, &b), SF_OK);
        enum { N = 64 };
        double x[N * 2], x0[N * 2], back[N * 2];
        cr_assert_eq(sf_sample_marginal(m, &a, 3, 0, x, N), SF_OK);
        memcpy(x0, x, sizeof x);
        int steps = 0;
        cr_assert_eq(sf_flow_ode(ctx, m, &sched, t1, t0, x0, N, 1e-10, 1e-10, &steps), SF_OK, "%s", sf_last_error());
        double worst = 0;
        for (int p = 0; p < N; p++)
            for (int j = 0; j < 2; j++) {
                double va = a.alpha * a.alpha * gauss_var[j] + a.sigma2, vb = b.alpha * b.alpha * gauss_var[j] + b.sigma2;
                double want = b.alpha * gauss_mu[j] + sqrt(vb / va) * (x[2 * p + j] - a.alpha * gauss_mu[j]);
                worst = fmax(worst, fabs(x0[2 * p + j] - want));
            }
        cr_expect(worst < 1e-8, "%s: flow off the closed form by %g (%d steps)", sf_schedule_kind_name(kinds[s]), worst, steps);
        cr_expect(steps > 1, "an adaptive solve takes steps");
        memcpy(back, x0, sizeof back); /* and back: the flow map is invertible */
        cr_assert_eq(sf_flow_ode(ctx, m, &sched, t0, t1, back, N, 1e-10, 1e-10, NULL), SF_OK);
        double off = 0;
        for (int i = 0; i < 2 * N; i++) off = fmax(off, fabs(back[i] - x[i]));
        cr_expect(off < 1e-7, "%s: round trip off by %g", sf_schedule_kind_name(kinds[s]), off);
        /* a loose tolerance is visibly worse: the check can fail */
        memcpy(x0, x, sizeof x);
        cr_assert_eq(sf_flow_ode(ctx, m, &sched, t1, t0, x0, N, 1e-3, 1e-3, NULL), SF_OK);
        double loose = 0;
        for (int p = 0; p < N; p++)
            for (int j = 0; j < 2; j++) {
                double va = a.alpha * a.alpha * gauss_var[j] + a.sigma2, vb = b.alpha * b.alpha * gauss_var[j] + b.sigma2;
                loose = fmax(loose, fabs(x0[2 * p + j] - (b.alpha * gauss_mu[j] + sqrt(vb / va) * (x[2 * p + j] - a.alpha * gauss_mu[j]))));
            }
        cr_expect(loose > 100 * worst, "%s: tolerance 1e-3 gives %g, 1e-10 %g", sf_schedule_kind_name(kinds[s]), loose, worst);
    }
    sf_context_destroy(ctx);
    sf_mixture_destroy(m);
}

/* The cost and the noise of a run come from its plans: stages x steps, noise only where drawn. */
Test(sampler_error, cost_and_randomness_from_the_plans)
{
    sf_schedule sched = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    static const struct { sf_sampler_kind kind; int stages, stochastic; } cases[] = {
        {SF_SAMPLER_EM, 1, 1}, {SF_SAMPLER_ODE_EULER, 1, 0}, {SF_SAMPLER_HEUN, 2, 0}, {SF_SAMPLER_DDPM, 1, 1},
        {SF_SAMPLER_DDIM, 1, 0}, {SF_SAMPLER_DPM1, 1, 0}, {SF_SAMPLER_DPM2, 2, 0}, {SF_SAMPLER_DPM3, 3, 0},
        {SF_SAMPLER_EULER_ANCESTRAL, 1, 1}, {SF_SAMPLER_EDM_HEUN, 2, 0}, {SF_SAMPLER_DPMPP_2M, 1, 0},
        {SF_SAMPLER_DPMPP_3M, 1, 0}, {SF_SAMPLER_DPMPP_2M_SDE, 1, 1}, {SF_SAMPLER_DPMPP_2S_ANCESTRAL, 2, 1},
        {SF_SAMPLER_UNIPC, 1, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        sf_sampler smp = sf_sampler_default(cases[c].kind);
        smp.steps = 7;
        size_t evals = 0;
        int noisy = -1;
        cr_assert_eq(sf_sampler_cost(&sched, &smp, &evals, &noisy), SF_OK);
        cr_expect_eq(evals, (size_t)(7 * cases[c].stages), "%s: %zu evaluations", sf_sampler_kind_name(cases[c].kind), evals);
        cr_expect_eq(noisy, cases[c].stochastic, "%s", sf_sampler_kind_name(cases[c].kind));
    }
    sf_sampler em = sf_sampler_default(SF_SAMPLER_EM), ddim = sf_sampler_default(SF_SAMPLER_DDIM);
    em.h = 0, ddim.eta = 0.5;
    int noisy = -1;
    cr_assert_eq(sf_sampler_cost(&sched, &em, NULL, &noisy), SF_OK);
    cr_expect_eq(noisy, 0, "em with h = 0 is the probability-flow ODE");
    cr_assert_eq(sf_sampler_cost(&sched, &ddim, NULL, &noisy), SF_OK);
    cr_expect_eq(noisy, 1, "ddim with eta > 0 draws noise");
    sf_sampler churn = sf_sampler_default(SF_SAMPLER_EDM_HEUN);
    churn.churn = 10;
    cr_assert_eq(sf_sampler_cost(&sched, &churn, NULL, &noisy), SF_OK);
    cr_expect_eq(noisy, 1, "edm-heun with churn draws noise");
    sf_sampler last = sf_sampler_default(SF_SAMPLER_HEUN); /* the last step to t = 0: one denoiser evaluation */
    last.steps = 7, last.to_zero = 1;
    size_t evals = 0;
    cr_assert_eq(sf_sampler_cost(&sched, &last, &evals, NULL), SF_OK);
    cr_expect_eq(evals, (size_t)13, "heun with to_zero: 6 steps of 2 and the denoising step, not %zu", evals);
}

/* A t0 with sigma = 0 makes the last step a denoiser evaluation: the budgets still hold (a budget of
 * 20 buys heun 10 steps, 19 evaluations, not 20 steps and 39), and each run is the longest that fits. */
Test(sampler_error, budgets_hold_when_the_last_step_denoises)
{
    sf_mixture *mix = one_gaussian();
    sf_schedule sched = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    const char *names[] = {"heun", "dpm3", "dpmpp-2m", "dpmpp-2s-ancestral"};
    const int nfe[] = {6, 20, 41};
    sf_sampler_error_setup setup = sf_sampler_error_setup_default();
    setup.samplers = names, setup.nsamplers = 4, setup.nfe = nfe, setup.nnfe = 3, setup.n = 50, setup.t0 = 0;
    sf_sampler_error_row rows[12];
    sf_context *ctx = cpu_context();
    cr_assert_eq(sf_sampler_error(ctx, mix, &sched, &setup, rows), SF_OK, "%s", sf_last_error());
    for (int r = 0; r < 12; r++) {
        sf_sampler_kind kind;
        cr_assert_eq(sf_sampler_kind_parse(names[rows[r].sampler], &kind), SF_OK);
        sf_sampler longer = sf_sampler_default(kind);
        longer.t0 = 0, longer.steps = rows[r].steps + 1;
        size_t more;
        cr_assert_eq(sf_sampler_cost(&sched, &longer, &more, NULL), SF_OK);
        cr_expect(rows[r].nfe <= (size_t)rows[r].nfe_asked, "%s: %zu evaluations for a budget of %d", names[rows[r].sampler],
                  rows[r].nfe, rows[r].nfe_asked);
        cr_expect(more > (size_t)rows[r].nfe_asked, "%s: %d steps fit a budget of %d, %d taken", names[rows[r].sampler],
                  rows[r].steps + 1, rows[r].nfe_asked, rows[r].steps);
    }
    sf_context_destroy(ctx), sf_mixture_destroy(mix);
}

/* The samplers of k-diffusion and diffusers on edm with the Karras spacing (its default there):
 * each budget buys what the plans cost, the deterministic ones have endpoint errors that fall with
 * the budget, and rho changes the grid (so the run). */
Test(sampler_error, new_samplers_on_edm_with_karras_spacing)
{
    sf_mixture *m = one_gaussian();
    sf_context *ctx = cpu_context();
    sf_schedule edm = sf_schedule_default(SF_SCHEDULE_EDM);
    const char *names[4] = {"dpmpp-2m", "edm-heun", "unipc", "dpmpp-2m-sde"};
    const int nfe[2] = {8, 32};
    sf_sampler_error_setup setup = sf_sampler_error_setup_default();
    setup.samplers = names, setup.nsamplers = 4, setup.nfe = nfe, setup.nnfe = 2, setup.n = 64, setup.seed = 5;
    setup.t1 = 80.0, setup.t0 = 0.002, setup.spacing = SF_SPACING_KARRAS;
    sf_sampler_error_row rows[8], other[8];
    cr_assert_eq(sf_sampler_error(ctx, m, &edm, &setup, rows), SF_OK, "%s", sf_last_error());
    static const int steps[4][2] = {{8, 32}, {4, 16}, {8, 32}, {8, 32}};
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 2; j++)
            cr_expect(rows[2 * i + j].steps == steps[i][j] && rows[2 * i + j].nfe == (size_t)nfe[j], "%s at %d: %d steps, nfe %zu",
                      names[i], nfe[j], rows[2 * i + j].steps, rows[2 * i + j].nfe);
        cr_expect_eq(rows[2 * i].stochastic, i == 3, "%s", names[i]);
        if (i < 3)
            cr_expect(rows[2 * i + 1].endpoint_rms < 0.5 * rows[2 * i].endpoint_rms, "%s: rms %g at 8, %g at 32", names[i],
                      rows[2 * i].endpoint_rms, rows[2 * i + 1].endpoint_rms);
    }
    setup.rho = 3.0;
    cr_assert_eq(sf_sampler_error(ctx, m, &edm, &setup, other), SF_OK, "%s", sf_last_error());
    cr_expect(other[0].endpoint_rms != rows[0].endpoint_rms, "rho = 3 runs another grid");
    setup.rho = -1;
    cr_expect_eq(sf_sampler_error(ctx, m, &edm, &setup, other), SF_ERR_INVALID);
    sf_context_destroy(ctx);
    sf_mixture_destroy(m);
}

/* A smooth target (two broad components): the observed orders of Euler (1) and of Heun and
 * DPM-Solver-2 (2) within 0.3, in log-SNR spacing where the steps resolve the flow evenly. */
Test(sampler_error, observed_orders_of_known_solvers)
{
    sf_mixture *m = NULL;
    const double w[2] = {0.4, 0.6}, mu[4] = {-1.0, 0.5, 1.0, -0.3}, var[2] = {0.6, 0.9};
    cr_assert_eq(sf_mixture_create_isotropic(&m, 2, 2, w, mu, var), SF_OK);
    sf_context *ctx = cpu_context();
    sf_schedule sched = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    const char *names[3] = {"ode-euler", "heun", "dpm2"};
    const int nfe[4] = {40, 80, 160, 320};
    sf_sampler_error_setup setup = sf_sampler_error_setup_default();
    setup.samplers = names, setup.nsamplers = 3, setup.nfe = nfe, setup.nnfe = 4, setup.n = 64, setup.seed = 5;
    setup.spacing = SF_SPACING_LAMBDA;
    sf_sampler_error_row rows[12];
    cr_assert_eq(sf_sampler_error(ctx, m, &sched, &setup, rows), SF_OK, "%s", sf_last_error());
    const double theory[3] = {1, 2, 2};
    for (int i = 0; i < 3; i++) cr_log_info("%s order %g +- %g, rms %g .. %g, reference %g", names[i], rows[4 * i].order, rows[4 * i].order_se, rows[4 * i].endpoint_rms, rows[4 * i + 3].endpoint_rms, rows[0].reference_error);
    for (int i = 0; i < 3; i++) {
        const sf_sampler_error_row *r = &rows[i * 4];
        cr_expect(fabs(r->order - theory[i]) < 0.3, "%s: order %g +- %g (theory %g)", names[i], r->order, r->order_se, theory[i]);
        cr_expect(r->order_se < 0.3, "%s: the fit's standard error %g", names[i], r->order_se);
        cr_expect_eq(r->stochastic, 0);
        for (int j = 0; j < 4; j++) {
            cr_expect(r[j].endpoint_rms > 100 * r[j].reference_error, "%s: the reference (%g) is far below the error (%g)",
                      names[i], r[j].reference_error, r[j].endpoint_rms);
            cr_expect(r[j].endpoint_max >= r[j].endpoint_rms);
            cr_expect(r[j].nfe <= (size_t)nfe[j] && r[j].nfe_asked == nfe[j]);
        }
    }
    cr_expect_eq(rows[4].steps, 20, "heun: 40 evaluations are 20 steps");
    sf_context_destroy(ctx);
    sf_mixture_destroy(m);
}

/* Budgets that round to the same run (heun: 2 and 3 evaluations are one step) enter the order fit
 * once: the order equals the slope through the distinct runs. */
Test(sampler_error, budgets_of_one_run_count_once_in_the_order)
{
    sf_mixture *m = one_gaussian();
    sf_context *ctx = cpu_context();
    sf_schedule sched = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    const char *names[1] = {"heun"};
    const int nfe[4] = {2, 3, 8, 32};
    sf_sampler_error_setup setup = sf_sampler_error_setup_default();
    setup.samplers = names, setup.nsamplers = 1, setup.nfe = nfe, setup.nnfe = 4, setup.n = 32, setup.seed = 1;
    setup.spacing = SF_SPACING_LAMBDA;
    sf_sampler_error_row rows[4];
    cr_assert_eq(sf_sampler_error(ctx, m, &sched, &setup, rows), SF_OK, "%s", sf_last_error());
    cr_expect(rows[0].steps == 1 && rows[1].steps == 1 && rows[0].nfe == 2 && rows[1].nfe == 2);
    cr_expect_eq(rows[0].endpoint_rms, rows[1].endpoint_rms, "the same run");
    double x[3] = {2, 8, 32}, y[3] = {rows[0].endpoint_rms, rows[2].endpoint_rms, rows[3].endpoint_rms};
    double slope = sf_power_law_exponent(x, y, 3);
    cr_expect(fabs(rows[0].order + slope) < 1e-12, "order %g, slope through the distinct runs %g", rows[0].order, slope);
    cr_expect(isfinite(rows[0].order_se), "three distinct runs give a standard error");
    sf_context_destroy(ctx);
    sf_mixture_destroy(m);
}

/* On a single Gaussian, exact draws score nothing significant; one Euler step from t1 scores
 * significant mean, covariance, sliced W2 and NLL errors (the occupation of a single component is
 * 1 whatever the samples). Stochastic samplers have no endpoint error or order. */
Test(sampler_error, exact_draws_are_not_significant_and_one_step_is)
{
    sf_mixture *m = one_gaussian();
    sf_context *ctx = cpu_context();
    sf_schedule sched = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    enum { N = 2000 };
    sf_time t0;
    cr_assert_eq(sf_schedule_at(&sched, 1e-3, &t0), SF_OK);
    double *x = malloc(N * 2 * sizeof(double));
    cr_assert_eq(sf_sample_marginal(m, &t0, 11, 0, x, N), SF_OK);
    sf_distribution_errors e;
    cr_assert_eq(sf_distribution_error(ctx, m, &t0, x, NULL, N, 11, &e), SF_OK, "%s", sf_last_error());
    const sf_error_metric *all[5] = {&e.occupation_tv, &e.mean_error, &e.cov_error, &e.sw2, &e.nll_gap};
    for (int k = 0; k < 5; k++) {
        cr_expect(!all[k]->significant, "measure %d of exact draws: %g +- %g against the floor %g +- %g", k, all[k]->value,
                  all[k]->se, all[k]->floor, all[k]->floor_se);
        cr_expect(all[k]->se > 0 || k == 0, "measure %d has a standard error", k);
    }
    cr_expect(e.occupation_tv.value < 1e-12, "one component: occupation 1");
    cr_expect(e.sw2.floor > 0 && e.mean_error.floor > 0, "a finite sample has a noise floor");
    free(x);

    const char *names[2] = {"ode-euler", "em"};
    const int nfe[1] = {1};
    sf_sampler_error_setup setup = sf_sampler_error_setup_default();
    setup.samplers = names, setup.nsamplers = 2, setup.nfe = nfe, setup.nnfe = 1, setup.n = N, setup.seed = 11;
    sf_sampler_error_row rows[2];
    cr_assert_eq(sf_sampler_error(ctx, m, &sched, &setup, rows), SF_OK, "%s", sf_last_error());
    for (int k = 0; k < 5; k++) cr_log_info("exact %d: %g +- %g floor %g +- %g", k, all[k]->value, all[k]->se, all[k]->floor, all[k]->floor_se);
    cr_log_info("euler1: mean %g+-%g cov %g+-%g sw2 %g+-%g nll %g+-%g rms %g", rows[0].mean_error.value, rows[0].mean_error.se, rows[0].cov_error.value, rows[0].cov_error.se, rows[0].sw2.value, rows[0].sw2.se, rows[0].nll_gap.value, rows[0].nll_gap.se, rows[0].endpoint_rms);
    const sf_error_metric *bad[4] = {&rows[0].mean_error, &rows[0].cov_error, &rows[0].sw2, &rows[0].nll_gap};
    for (int k = 0; k < 4; k++)
        cr_expect(bad[k]->significant, "measure %d of one Euler step: %g +- %g against the floor %g", k, bad[k]->value, bad[k]->se,
                  bad[k]->floor);
    cr_expect(!rows[0].occupation_tv.significant);
    cr_expect(isfinite(rows[0].endpoint_rms) && rows[0].endpoint_rms > 0.1, "one step lands far from the flow");
    cr_expect(isnan(rows[0].order), "one budget: no order");
    cr_expect(rows[1].stochastic && isnan(rows[1].endpoint_rms) && isnan(rows[1].order), "em (h = 1) is stochastic");
    sf_context_destroy(ctx);
    sf_mixture_destroy(m);
}

/* In 1-D the sliced W2 is W2, and between Gaussians W2^2 = (m1 - m2)^2 + (s1 - s2)^2: samples of
 * N(0.3, 0.8^2) against the target N(-0.2, 1.3^2), within 3 standard errors. */
Test(sampler_error, sliced_w2_of_two_gaussians_in_1d)
{
    sf_mixture *target = NULL, *other = NULL;
    const double m1 = 0.3, s1 = 0.8, m2 = -0.2, s2 = 1.3;
    cr_assert_eq(sf_mixture_create(&target, 1), SF_OK);
    cr_assert_eq(sf_mixture_add_isotropic(target, 1.0, &m2, s2 * s2), SF_OK);
    cr_assert_eq(sf_mixture_create(&other, 1), SF_OK);
    cr_assert_eq(sf_mixture_add_isotropic(other, 1.0, &m1, s1 * s1), SF_OK);
    sf_context *ctx = cpu_context();
    sf_time t;
    cr_assert_eq(sf_time_heat(0.0, &t), SF_OK); /* the data themselves */
    enum { N = 20000 };
    double *x = malloc(N * sizeof(double));
    cr_assert_eq(sf_sample_marginal(other, &t, 21, 0, x, N), SF_OK);
    sf_distribution_errors e;
    cr_assert_eq(sf_distribution_error(ctx, target, &t, x, NULL, N, 21, &e), SF_OK, "%s", sf_last_error());
    double w2 = sqrt((m1 - m2) * (m1 - m2) + (s1 - s2) * (s1 - s2));
    cr_log_info("SW2 %g +- %g floor %g +- %g closed %g; mean %g +- %g; cov %g +- %g", e.sw2.value, e.sw2.se, e.sw2.floor, e.sw2.floor_se, w2, e.mean_error.value, e.mean_error.se, e.cov_error.value, e.cov_error.se);
    cr_expect(fabs(e.sw2.value - w2) < 3 * e.sw2.se, "SW2 %g +- %g, closed form %g", e.sw2.value, e.sw2.se, w2);
    cr_expect(e.sw2.se < 0.05 * w2, "a tight check: s.e. %g", e.sw2.se);
    cr_expect(e.sw2.significant && e.mean_error.significant && e.cov_error.significant);
    /* the per-mode errors in closed form too: |m1 - m2| and |s1^2 - s2^2| */
    cr_expect(fabs(e.mean_error.value - fabs(m1 - m2)) < 3 * e.mean_error.se + 1e-3, "mean error %g", e.mean_error.value);
    cr_expect(fabs(e.cov_error.value - fabs(s1 * s1 - s2 * s2)) < 3 * e.cov_error.se + 1e-3, "cov error %g", e.cov_error.value);
    free(x);
    sf_context_destroy(ctx);
    sf_mixture_destroy(target);
    sf_mixture_destroy(other);
}
