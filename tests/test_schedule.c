/* Schedules (docs/conventions.md) against closed forms, central differences of alpha(t) and sigma^2(t),
 * the heat-time inverse, and the docs/analyses.md tables. */
#include "test_helpers.h"

#include <string.h>

static const sf_schedule_kind kinds[] = {SF_SCHEDULE_VE, SF_SCHEDULE_VP_LINEAR, SF_SCHEDULE_VP_COSINE, SF_SCHEDULE_OU};

/* Textbook forms, written independently of schedule.c (naive where that is accurate enough). */
static void textbook(sf_schedule_kind kind, double t, double *alpha, double *sigma2)
{
    switch (kind) {
    case SF_SCHEDULE_VE: *alpha = 1, *sigma2 = pow(0.01 * pow(5000.0, t), 2); break;
    case SF_SCHEDULE_VP_LINEAR: {
        double B = 0.1 * t + 0.5 * 19.9 * t * t;
        *alpha = exp(-B / 2), *sigma2 = 1 - exp(-B);
        break;
    }
    case SF_SCHEDULE_VP_COSINE: {
        double s = 0.008, f = cos(M_PI / 2 * (t + s) / (1 + s)), f0 = cos(M_PI / 2 * s / (1 + s));
        *alpha = f / f0, *sigma2 = 1 - (f / f0) * (f / f0);
        break;
    }
    default: *alpha = exp(-t), *sigma2 = 1 - exp(-2 * t); break;
    }
}

Test(schedule, matches_textbook_forms)
{
    for (int k = 0; k < 4; k++)
        for (double t = 0.05; t < 0.96; t += 0.1) {
            sf_time o = time_at(kinds[k], t);
            double a, s2;
            textbook(kinds[k], t, &a, &s2);
            expect_rel(o.alpha, a, 1e-14, "%s alpha(%g)", sf_schedule_kind_name(kinds[k]), t);
            cr_expect(fabs(o.sigma2 - s2) <= 1e-13 * fmax(1, s2), "%s sigma2(%g): %.17g vs %.17g",
                      sf_schedule_kind_name(kinds[k]), t, o.sigma2, s2);
            expect_rel(o.sigma * o.sigma, o.sigma2, 1e-15, "sigma^2 consistent");
            expect_rel(o.tau, o.sigma2 / (o.alpha * o.alpha), 1e-14, "tau = sigma^2 / alpha^2");
            if (kinds[k] != SF_SCHEDULE_VE)
                expect_rel(o.alpha * o.alpha + o.sigma2, 1.0, 1e-15, "variance preserving");
        }
}

/* Derivatives against fourth-order central differences of the library's own alpha and sigma^2. */
Test(schedule, derivatives_match_central_differences)
{
    for (int k = 0; k < 4; k++)
        for (double t = 0.05; t < 0.96; t += 0.1) {
            double h = 1e-4, a[4], s2[4], tau[4], off[4] = {-2, -1, 1, 2};
            for (int q = 0; q < 4; q++) {
                sf_time o = time_at(kinds[k], t + off[q] * h);
                a[q] = o.alpha, s2[q] = o.sigma2, tau[q] = o.tau;
            }
#define D4(v) (((v)[0] - 8 * (v)[1] + 8 * (v)[2] - (v)[3]) / (12 * h))
            sf_time o = time_at(kinds[k], t);
            const char *name = sf_schedule_kind_name(kinds[k]);
            cr_expect(o.has_time_derivatives);
            expect_rel(o.dalpha, D4(a), 1e-9, "%s alpha'(%g)", name, t);
            cr_expect(fabs(o.dsigma2 - D4(s2)) <= 1e-9 * fmax(1, fabs(o.dsigma2)), "%s (sigma^2)'(%g): %.12g vs %.12g",
                      name, t, o.dsigma2, D4(s2));
            cr_expect(fabs(o.dtau - D4(tau)) <= 1e-8 * fmax(1, fabs(o.dtau)), "%s tau'(%g): %.12g vs %.12g", name, t,
                      o.dtau, D4(tau));
            expect_rel(o.f, D4(a) / o.alpha, 1e-9, "%s f(%g)", name, t);
            expect_rel(o.g2, D4(s2) - 2 * o.f * o.sigma2, 1e-8, "%s g^2(%g)", name, t);
#undef D4
        }
}

/* sigma^2 at small t keeps full relative accuracy (no 1 - alpha^2 cancellation): compare with
 * the series of 1 - exp(-B) for vp-linear and with expm1 for ou. */
Test(schedule, small_time_sigma_is_accurate)
{
    double t = 1e-7;
    sf_time o = time_at(SF_SCHEDULE_VP_LINEAR, t);
    double B = 0.1 * t + 0.5 * 19.9 * t * t;
    double series = B - B * B / 2 + B * B * B / 6;
    cr_expect(fabs(o.sigma2 / series - 1) < 1e-15, "vp-linear sigma^2(1e-7) = %.17g, series %.17g", o.sigma2, series);
    o = time_at(SF_SCHEDULE_VP_COSINE, 1e-6);
    /* cosine: sigma^2 ~ sin(theta-theta0) sin(theta+theta0)/cos^2 theta0 with theta - theta0 = rate t */
    double rate = M_PI / 2 / 1.008, th0 = rate * 0.008;
    double approx = sin(rate * 1e-6) * sin(2 * th0 + rate * 1e-6) / (cos(th0) * cos(th0));
    expect_rel(o.sigma2 / approx, 1.0, 1e-15, "vp-cosine sigma^2(1e-6)");
    o = time_at(SF_SCHEDULE_VP_LINEAR, 0.0);
    cr_expect_eq(o.sigma2, 0.0);
    cr_expect_eq(o.alpha, 1.0);
    o = time_at(SF_SCHEDULE_VE, 0.0);
    expect_rel(o.sigma, 0.01, 1e-16, "ve sigma(0) = sigma_min");
    o = time_at(SF_SCHEDULE_VE, 1.0);
    expect_rel(o.sigma, 50.0, 1e-14, "ve sigma(1) = sigma_max");
}

Test(schedule, heat_time_inverse_round_trips)
{
    for (int k = 0; k < 4; k++) {
        sf_schedule s = sf_schedule_default(kinds[k]);
        for (double t = 0.02; t < 0.97; t += 0.05) {
            sf_time o = time_at(kinds[k], t);
            double back;
            cr_assert_eq(sf_schedule_t_of_tau(&s, o.tau, &back), SF_OK);
            expect_rel(back, t, 1e-13, "%s t(tau(%g))", sf_schedule_kind_name(kinds[k]), t);
        }
    }
}

/* docs/analyses.md: critical times t_c with tau(t_c) = tau_c, and alpha, sigma^2, tau at three times. */
Test(schedule, spec_golden_tables)
{
    static const double tau_c[3] = {1.0, 0.9, 3.75};
    static const double t_c[3][4] = {{0.5406910566, 0.2589602624, 0.4960498640, 0.3465735903},
                                     {0.5345058901, 0.2490086913, 0.4791575777, 0.3209269431},
                                     {0.6182844498, 0.3907307346, 0.6941343752, 0.7790723090}};
    for (int row = 0; row < 3; row++)
        for (int k = 0; k < 4; k++) {
            sf_schedule s = sf_schedule_default(kinds[k]);
            double t;
            cr_assert_eq(sf_schedule_t_of_tau(&s, tau_c[row], &t), SF_OK);
            cr_expect(fabs(t - t_c[row][k]) < 6e-11, "%s t_c(tau_c = %g) = %.12f, table %.10f",
                      sf_schedule_kind_name(kinds[k]), tau_c[row], t, t_c[row][k]);
        }
    static const struct { sf_schedule_kind kind; double t, alpha, sigma2, tau; } rows[] = {
        {SF_SCHEDULE_VE, 0.4, 1, 0.0910282102, 0.0910282102},
        {SF_SCHEDULE_VP_LINEAR, 0.2, 0.8113952356, 0.3416377716, 0.5189206744},
        {SF_SCHEDULE_VP_COSINE, 0.5, 0.7027400589, 0.5061564096, 1.0249326292}};
    for (int r = 0; r < 3; r++) {
        sf_time o = time_at(rows[r].kind, rows[r].t);
        cr_expect(fabs(o.alpha - rows[r].alpha) < 6e-11 && fabs(o.sigma2 - rows[r].sigma2) < 6e-11 &&
                      fabs(o.tau - rows[r].tau) < 6e-11,
                  "%s t = %g: alpha %.10f sigma^2 %.10f tau %.10f", sf_schedule_kind_name(rows[r].kind), rows[r].t,
                  o.alpha, o.sigma2, o.tau);
    }
}

Test(schedule, refuses_bad_times_and_parameters)
{
    sf_time o;
    sf_schedule s = sf_schedule_default(SF_SCHEDULE_VP_COSINE);
    cr_expect_eq(sf_schedule_at(&s, 1.0, &o), SF_ERR_INVALID, "cosine refuses t = 1");
    cr_expect(strstr(sf_last_error(), "[0, 1)") != NULL, "%s", sf_last_error());
    s = sf_schedule_default(SF_SCHEDULE_VE);
    cr_expect_eq(sf_schedule_at(&s, -0.1, &o), SF_ERR_INVALID);
    cr_expect_eq(sf_schedule_at(&s, 1.5, &o), SF_ERR_INVALID);
    cr_expect_eq(sf_schedule_at(&s, NAN, &o), SF_ERR_INVALID);
    s.sigma_min = -1;
    cr_expect_eq(sf_schedule_at(&s, 0.5, &o), SF_ERR_INVALID);
    s = sf_schedule_default(SF_SCHEDULE_DIRECT);
    s.alpha = 0;
    cr_expect_eq(sf_schedule_at(&s, 0, &o), SF_ERR_INVALID, "alpha <= 0 refused");
    s.alpha = 1, s.sigma = -0.1;
    cr_expect_eq(sf_schedule_at(&s, 0, &o), SF_ERR_INVALID, "sigma < 0 refused");
    s.alpha = 0.5, s.sigma = 0.2;
    cr_assert_eq(sf_schedule_at(&s, 0, &o), SF_OK);
    cr_expect(!o.has_time_derivatives);
    expect_rel(o.tau, 0.16, 1e-15, "direct tau");
}

/* edm (alpha = 1, sigma = t) and flow (alpha = 1 - t, sigma = t) against their closed forms, their
 * rates against fourth-order central differences, and the heat-time inverse. */
Test(schedule, edm_and_flow_closed_forms)
{
    static const sf_schedule_kind two[2] = {SF_SCHEDULE_EDM, SF_SCHEDULE_FLOW};
    for (int k = 0; k < 2; k++) {
        sf_schedule s = sf_schedule_default(two[k]);
        const char *name = sf_schedule_kind_name(two[k]);
        double top = two[k] == SF_SCHEDULE_EDM ? 80.0 : 1.0;
        for (double f = 0.03; f < 0.97; f += 0.07) {
            double t = f * top, h = 1e-4 * top, off[4] = {-2, -1, 1, 2}, a[4], s2[4], tau[4];
            sf_time o;
            cr_assert_eq(sf_schedule_at(&s, t, &o), SF_OK, "%s", sf_last_error());
            double alpha = two[k] == SF_SCHEDULE_EDM ? 1.0 : 1.0 - t;
            expect_rel(o.alpha, alpha, 1e-15, "%s alpha(%g)", name, t);
            expect_rel(o.sigma, t, 1e-15, "%s sigma(%g)", name, t);
            expect_rel(o.tau, t * t / (alpha * alpha), 1e-14, "%s tau(%g)", name, t);
            for (int q = 0; q < 4; q++) {
                sf_time p;
                cr_assert_eq(sf_schedule_at(&s, t + off[q] * h, &p), SF_OK);
                a[q] = p.alpha, s2[q] = p.sigma2, tau[q] = p.tau;
            }
#define D4(v) (((v)[0] - 8 * (v)[1] + 8 * (v)[2] - (v)[3]) / (12 * h))
            expect_rel(o.dalpha, D4(a), 1e-9, "%s alpha'(%g)", name, t);
            expect_rel(o.dsigma2, D4(s2), 1e-9, "%s (sigma^2)'(%g)", name, t);
            cr_expect(fabs(o.dtau - D4(tau)) <= 1e-7 * fmax(1, fabs(o.dtau)), "%s tau'(%g): %.12g vs %.12g", name, t, o.dtau,
                      D4(tau));
            expect_rel(o.f, D4(a) / o.alpha, 1e-9, "%s f(%g)", name, t);
            expect_rel(o.g2, D4(s2) - 2 * o.f * o.sigma2, 1e-8, "%s g^2(%g)", name, t);
#undef D4
            double back;
            cr_assert_eq(sf_schedule_t_of_tau(&s, o.tau, &back), SF_OK);
            expect_rel(back, t, 1e-13, "%s t_of_tau(tau(%g))", name, t);
        }
        sf_time o;
        cr_expect_eq(sf_schedule_at(&s, 0.0, &o), SF_OK);
        cr_expect_eq(o.sigma, 0.0, "%s: sigma(0) = 0", name);
        cr_expect_eq(sf_schedule_at(&s, two[k] == SF_SCHEDULE_EDM ? 80.5 : 1.0, &o), SF_ERR_INVALID, "%s: end of range", name);
        cr_expect_eq(sf_schedule_at(&s, -0.1, &o), SF_ERR_INVALID);
    }
    sf_schedule edm = sf_schedule_default(SF_SCHEDULE_EDM);
    cr_expect(edm.sigma_min == 0.002 && edm.sigma_max == 80.0, "edm defaults (%g, %g)", edm.sigma_min, edm.sigma_max);
    sf_schedule_kind parsed;
    cr_expect(sf_schedule_kind_parse("flow", &parsed) == SF_OK && parsed == SF_SCHEDULE_FLOW);
    cr_expect(sf_schedule_kind_parse("edm", &parsed) == SF_OK && parsed == SF_SCHEDULE_EDM);
}

/* The rectified-flow velocity v = (x - E[x0|x]) / t from the exact denoiser equals the
 * probability-flow drift f x - g^2 s / 2 of the flow schedule (docs/samplers.md derives it). */
Test(schedule, flow_velocity_is_the_probability_flow_drift)
{
    const double w[2] = {0.4, 0.6}, mu[4] = {-1, 0.5, 1.5, -0.2}, v[2] = {0.1, 0.3};
    sf_mixture *m;
    cr_assert_eq(sf_mixture_create_isotropic(&m, 2, 2, w, mu, v), SF_OK);
    sf_context *ctx = cpu_context();
    sf_schedule s = sf_schedule_default(SF_SCHEDULE_FLOW);
    for (double t = 0.1; t < 0.95; t += 0.2) {
        sf_time o;
        cr_assert_eq(sf_schedule_at(&s, t, &o), SF_OK);
        double x[6] = {0.3, -0.7, 1.9, 0.4, -1.2, 2.2}, score[6], den[6];
        sf_outputs out = {.score = score, .denoise = den};
        cr_assert_eq(sf_evaluate(ctx, m, &o, x, 3, &out), SF_OK, "%s", sf_last_error());
        for (int i = 0; i < 6; i++) {
            double velocity = (x[i] - den[i]) / t, drift = o.f * x[i] - 0.5 * o.g2 * score[i];
            expect_rel(velocity, drift, 1e-12, "t = %g, coordinate %d", t, i);
        }
    }
    sf_context_destroy(ctx);
    sf_mixture_destroy(m);
}

/* The Karras spacing: the step times of a run (its trajectory callback) have the levels
 * sigma/alpha = (smax^(1/rho) + i/n (smin^(1/rho) - smax^(1/rho)))^rho, on edm and on vp-linear; with
 * to_zero the last time is 0. */
static sf_status record_time(void *data, int step, double t, const double *x, size_t n, int d)
{
    (void)x, (void)n, (void)d;
    ((double *)data)[step] = t;
    return SF_OK;
}

Test(schedule, karras_spacing_matches_the_formula)
{
    static const sf_schedule_kind two[2] = {SF_SCHEDULE_EDM, SF_SCHEDULE_VP_LINEAR};
    sf_context *ctx = cpu_context();
    const double mu[1] = {0.0}, w[1] = {1.0}, v[1] = {0.5};
    sf_mixture *m;
    cr_assert_eq(sf_mixture_create_isotropic(&m, 1, 1, w, mu, v), SF_OK);
    for (int k = 0; k < 2; k++)
        for (int to_zero = 0; to_zero < 2; to_zero++) {
            sf_schedule s = sf_schedule_default(two[k]);
            sf_sampler smp = sf_sampler_default(SF_SAMPLER_DPMPP_2M);
            smp.spacing = SF_SPACING_KARRAS, smp.steps = 12, smp.rho = 5.0, smp.to_zero = to_zero;
            smp.t1 = two[k] == SF_SCHEDULE_EDM ? 80.0 : 1.0, smp.t0 = two[k] == SF_SCHEDULE_EDM ? 0.002 : 0.01;
            double times[13], x[1] = {0.1};
            cr_assert_eq(sf_sample(ctx, m, &s, &smp, x, 1, 0, record_time, times, 1), SF_OK, "%s", sf_last_error());
            sf_time a, b;
            sf_schedule_at(&s, smp.t1, &a), sf_schedule_at(&s, smp.t0, &b);
            double smax = a.sigma / a.alpha, smin = b.sigma / b.alpha;
            int n = to_zero ? 11 : 12;
            for (int i = 0; i <= n; i++) {
                sf_time o;
                cr_assert_eq(sf_schedule_at(&s, times[i], &o), SF_OK);
                double want = pow(pow(smax, 1 / 5.0) + (double)i / n * (pow(smin, 1 / 5.0) - pow(smax, 1 / 5.0)), 5.0);
                expect_rel(o.sigma / o.alpha, want, 1e-12, "%s level %d", sf_schedule_kind_name(two[k]), i);
            }
            if (to_zero) cr_expect_eq(times[12], 0.0, "the last time is 0");
            double grid[13]; /* sf_sampler_times gives the grid the run took */
            cr_assert_eq(sf_sampler_times(&s, &smp, grid), SF_OK, "%s", sf_last_error());
            for (int i = 0; i <= 12; i++) cr_expect_eq(grid[i], times[i], "sf_sampler_times[%d] = %.17g, run %.17g", i, grid[i], times[i]);
        }
    /* one step with to_zero: from t1 straight to 0 (k-diffusion's one-level Karras grid) */
    sf_schedule edm = sf_schedule_default(SF_SCHEDULE_EDM);
    sf_sampler one = sf_sampler_default(SF_SAMPLER_EULER_ANCESTRAL);
    one.spacing = SF_SPACING_KARRAS, one.steps = 1, one.to_zero = 1, one.t1 = 80.0, one.t0 = 0.002;
    double times[2] = {NAN, NAN}, x[1] = {0.1};
    cr_assert_eq(sf_sample(ctx, m, &edm, &one, x, 1, 0, record_time, times, 1), SF_OK, "%s", sf_last_error());
    cr_expect(times[0] == 80.0 && times[1] == 0.0, "one step: %g -> %g", times[0], times[1]);
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}
