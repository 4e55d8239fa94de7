/* Speciation (docs/analyses.md): the closed-form critical heat time of symmetric pairs against the
 * reference table (t_c per schedule) and against the normal criterion computed from the field (bisection on the
 * sign of n^T H n at the interface, no closed form used), the midpoint curvature against
 * (a^2 - v)/v^2, and Biroli et al.'s spectral time. */
#include "test_helpers.h"

static sf_mixture *iso_pair(double a, double s2, int d)
{
    double mu[2 * 8] = {0};
    mu[0] = a, mu[d] = -a;
    sf_mixture *m;
    sf_mixture_create(&m, d);
    cr_assert_eq(sf_mixture_add_isotropic(m, 0.5, mu, s2), SF_OK);
    cr_assert_eq(sf_mixture_add_isotropic(m, 0.5, mu + d, s2), SF_OK);
    return m;
}

static const int A[1] = {0}, B[1] = {1};

Test(speciation, closed_form_matches_spec_table)
{
    static const double rows[3][2] = {{1, 0}, {1, 0.1}, {2, 0.25}};
    static const double t_c[3][4] = {{0.5406910566, 0.2589602624, 0.4960498640, 0.3465735903},
                                     {0.5345058901, 0.2490086913, 0.4791575777, 0.3209269431},
                                     {0.6182844498, 0.3907307346, 0.6941343752, 0.7790723090}};
    for (int r = 0; r < 3; r++) {
        sf_mixture *m = iso_pair(rows[r][0], rows[r][1], 3);
        double tau;
        cr_assert_eq(sf_speciation_tau_closed_form(m, &tau), SF_OK, "%s", sf_last_error());
        expect_rel(tau, rows[r][0] * rows[r][0] - rows[r][1], 1e-13, "tau_c = a^2 - s^2");
        for (int k = 0; k < 4; k++) {
            sf_schedule s = sf_schedule_default((sf_schedule_kind)k);
            double t;
            cr_assert_eq(sf_schedule_t_of_tau(&s, tau, &t), SF_OK);
            cr_expect(fabs(t - t_c[r][k]) < 6e-11, "row %d %s: t_c %.12f, table %.10f", r, sf_schedule_kind_name(k), t, t_c[r][k]);
        }
        sf_mixture_destroy(m);
    }
}

/* kappa_n at the midpoint of an isotropic pair is (a^2 - v)/v^2, v = s^2 + tau (docs/analyses.md). */
Test(speciation, midpoint_curvature_matches_closed_form)
{
    sf_context *ctx = cpu_context();
    sf_mixture *m = iso_pair(1.3, 0.2, 4);
    for (double tau = 0.2; tau < 3; tau *= 1.7) {
        double kappa, y[4];
        cr_assert_eq(sf_speciation_normal_curvature(ctx, m, A, 1, B, 1, tau, &kappa, NULL, y), SF_OK, "%s", sf_last_error());
        double v = 0.2 + tau, want = (1.69 - v) / (v * v);
        expect_rel(kappa, want, 1e-10, "tau = %g", tau);
        cr_expect(fabs(y[0]) < 1e-9, "the interface of a symmetric pair is at the midpoint (y = %g)", y[0]);
    }
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* The numerical critical time (sign change of kappa_n, bisection) equals the root of
 * mu^T (C + tau I)^{-1} mu = 1 for isotropic, diagonal and low-rank covariances. */
Test(speciation, numeric_critical_time_matches_closed_form)
{
    sf_context *ctx = cpu_context();
    const double mu[5] = {0.9, -0.4, 0.3, 0.5, -0.2}, neg[5] = {-0.9, 0.4, -0.3, -0.5, 0.2};
    const double var[5] = {0.05, 0.2, 0.1, 0.3, 0.15}, U[5] = {0.6, 0.0, 0.8, 0.0, 0.0}, eig[1] = {0.4};
    for (int kind = 0; kind < 3; kind++) {
        sf_mixture *m;
        sf_mixture_create(&m, 5);
        for (int c = 0; c < 2; c++) {
            const double *mean = c ? neg : mu;
            if (kind == 0) cr_assert_eq(sf_mixture_add_isotropic(m, 1, mean, 0.1), SF_OK);
            if (kind == 1) cr_assert_eq(sf_mixture_add_diagonal(m, 1, mean, var), SF_OK);
            if (kind == 2) cr_assert_eq(sf_mixture_add_lowrank(m, 1, mean, 0.05, 1, U, eig), SF_OK);
        }
        double closed, numeric;
        cr_assert_eq(sf_speciation_tau_closed_form(m, &closed), SF_OK, "%s", sf_last_error());
        cr_assert_eq(sf_speciation_tau_numeric(ctx, m, A, 1, B, 1, 1e-3, 1e2, 1e-12, &numeric), SF_OK, "%s", sf_last_error());
        expect_rel(numeric, closed, 1e-9, "kind %d: numeric tau_c %.12f, closed form %.12f", kind, numeric, closed);
        /* the normal criterion along n = grad phi: exact for isotropic C, early otherwise (kappa_n <= 0 at tau_c
         * by Cauchy-Schwarz, with equality iff mu is an eigenvector of C) */
        double kappa;
        cr_assert_eq(sf_speciation_normal_curvature(ctx, m, A, 1, B, 1, closed, &kappa, NULL, NULL), SF_OK);
        if (kind == 0) cr_expect(fabs(kappa) < 1e-9, "isotropic: kappa_n(tau_c) = %g", kappa);
        else cr_expect(kappa < 0, "anisotropic: kappa_n(tau_c) = %g should be negative", kappa);
        sf_mixture_destroy(m);
    }
    sf_context_destroy(ctx);
}

/* Biroli et al.: Lambda = a^2 + s^2 for an isotropic pair; t_s = ln(Lambda)/2 equals the exact OU
 * midpoint time ln(1 + a^2 - s^2)/2 iff s^2 = 1/2 (docs/analyses.md). */
Test(speciation, biroli_spectral_time)
{
    static const double s2s[3] = {0.1, 0.5, 0.9};
    for (int i = 0; i < 3; i++) {
        sf_mixture *m = iso_pair(2.0, s2s[i], 3);
        double lambda, tau;
        cr_assert_eq(sf_data_covariance_top_eigenvalue(m, &lambda), SF_OK);
        expect_rel(lambda, 4.0 + s2s[i], 1e-12, "Lambda");
        cr_assert_eq(sf_speciation_tau_closed_form(m, &tau), SF_OK);
        sf_schedule ou = sf_schedule_default(SF_SCHEDULE_OU);
        double t_c;
        sf_schedule_t_of_tau(&ou, tau, &t_c);
        double t_s = 0.5 * log(lambda);
        if (i == 1) expect_rel(t_s, t_c, 1e-12, "s^2 = 1/2: spectral time = exact time");
        else cr_expect(fabs(t_s - t_c) > 1e-3, "s^2 = %g: the times differ (%g vs %g)", s2s[i], t_s, t_c);
        sf_mixture_destroy(m);
    }
}

/* The field of a symmetric isotropic pair along the axis is exactly -r/v + (a/v) tanh(a r / v):
 * the fit returns the width v/a = (s^2 + tau)/a. */
Test(speciation, tanh_layer_width)
{
    sf_context *ctx = cpu_context();
    double a = 1.5, s2 = 0.1;
    sf_mixture *m = iso_pair(a, s2, 2);
    for (double tau = 0.2; tau < 2.5; tau *= 2) {
        sf_schedule direct = sf_schedule_default(SF_SCHEDULE_DIRECT);
        direct.alpha = 1, direct.sigma = sqrt(tau);
        sf_time t;
        sf_schedule_at(&direct, 0, &t);
        enum { N = 201 };
        double r[N], u[N], y[2 * N], s[2 * N];
        for (int i = 0; i < N; i++) r[i] = -3 + 6.0 * i / (N - 1), y[2 * i] = r[i], y[2 * i + 1] = 0.3;
        sf_outputs o = {.score = s};
        cr_assert_eq(sf_evaluate(ctx, m, &t, y, N, &o), SF_OK);
        for (int i = 0; i < N; i++) u[i] = s[2 * i];
        double w, amp, rms;
        cr_assert_eq(sf_fit_tanh_layer(r, u, N, 1e-3, 1e3, &w, &amp, &rms), SF_OK);
        expect_rel(w, (s2 + tau) / a, 1e-6, "tau = %g: fitted width", tau);
        expect_rel(amp, a / (s2 + tau), 1e-6, "tau = %g: amplitude a/v", tau);
    }
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* G across the layer at its centre: sqrt(v0/v1) exp(a^2 (1/v0 - 1/v1) / 2), and G_SDE = G_ODE^2
 * (docs/analyses.md), up to a gain of 6e9 (a = 1, s^2 = 0, tau 1 -> 0.02), where a finite
 * perturbation of the flow saturates: the tangent equation must not. */
Test(speciation, amplification_matches_closed_form_at_any_gain)
{
    sf_context *ctx = cpu_context();
    static const double cases[3][4] = {{1.2, 0.05, 2.0, 0.15}, {1.0, 0.0, 1.0, 0.02}, {2.0, 0.25, 10.0, 0.5}};
    for (int c = 0; c < 3; c++) {
        double a = cases[c][0], s2 = cases[c][1], tau1 = cases[c][2], tau0 = cases[c][3];
        sf_mixture *m = iso_pair(a, s2, 2);
        double y[2] = {0, 0}, dir[2] = {1, 0};
        sf_gain g;
        cr_assert_eq(sf_flow_gain(ctx, m, y, dir, tau1, tau0, 1e-12, &g), SF_OK, "%s", sf_last_error());
        double v0 = s2 + tau0, v1 = s2 + tau1, want = sqrt(v0 / v1) * exp(0.5 * a * a * (1 / v0 - 1 / v1));
        expect_rel(g.ode / want, 1.0, 1e-10, "case %d: G_ODE = %.13g, closed form %.13g", c, g.ode, want);
        expect_rel(g.sde / (want * want), 1.0, 1e-10, "case %d: G_SDE = %.13g, closed form squared %.13g", c, g.sde, want * want);
        cr_expect(g.ode_error < 1e-11 && g.sde_error < 1e-11, "case %d: stated errors %.2g, %.2g", c, g.ode_error, g.sde_error);
        sf_mixture_destroy(m);
    }
    sf_context_destroy(ctx);
}

/* The nonlinear flow dy/dtau = -c u from y +- eps dir with the test's own RK4 in tau (many small
 * steps): |y+ - y-| / (2 eps) for small eps, the route the tangent equation replaces. */
static double finite_gain(sf_context *ctx, const sf_mixture *m, const double *y, const double *dir, double tau1, double tau0,
                          double c, double eps)
{
    enum { D = 2, STEPS = 40000 };
    double z[2][D], k[4][D], tmp[D], h = (tau0 - tau1) / STEPS;
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < D; i++) z[s][i] = y[i] + (s ? -eps : eps) * dir[i];
    for (int step = 0; step < STEPS; step++)
        for (int s = 0; s < 2; s++) {
            static const double at[4] = {0, 0.5, 0.5, 1};
            for (int q = 0; q < 4; q++) {
                for (int i = 0; i < D; i++) tmp[i] = z[s][i] + (q ? at[q] * h * k[q - 1][i] : 0);
                sf_time t;
                sf_time_heat(tau1 + step * h + at[q] * h, &t);
                sf_outputs o = {.score = k[q]};
                cr_assert_eq(sf_evaluate(ctx, m, &t, tmp, 1, &o), SF_OK);
                for (int i = 0; i < D; i++) k[q][i] *= -c;
            }
            for (int i = 0; i < D; i++) z[s][i] += h / 6 * (k[0][i] + 2 * k[1][i] + 2 * k[2][i] + k[3][i]);
        }
    double sep = 0;
    for (int i = 0; i < D; i++) sep += (z[0][i] - z[1][i]) * (z[0][i] - z[1][i]);
    return sqrt(sep) / (2 * eps);
}

/* No closed form: three components in 2-D, a point off every symmetry line. */
Test(speciation, amplification_matches_the_perturbed_nonlinear_flow)
{
    sf_context *ctx = cpu_context();
    const double w[3] = {0.5, 0.3, 0.2}, mu[6] = {1.0, 0.2, -0.8, 0.5, 0.1, -1.1}, v[3] = {0.05, 0.1, 0.02};
    sf_mixture *m;
    cr_assert_eq(sf_mixture_create_isotropic(&m, 2, 3, w, mu, v), SF_OK);
    double y[2] = {0.1, -0.05}, dir[2] = {0.6, 0.8};
    sf_gain g;
    cr_assert_eq(sf_flow_gain(ctx, m, y, dir, 1.5, 0.1, 1e-12, &g), SF_OK, "%s", sf_last_error());
    double ode = finite_gain(ctx, m, y, dir, 1.5, 0.1, 0.5, 1e-6 / g.ode);
    double sde = finite_gain(ctx, m, y, dir, 1.5, 0.1, 1.0, 1e-6 / g.sde);
    expect_rel(g.ode / ode, 1.0, 1e-6, "G_ODE %.10g, finite perturbation %.10g", g.ode, ode);
    expect_rel(g.sde / sde, 1.0, 1e-6, "G_SDE %.10g, finite perturbation %.10g", g.sde, sde);
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* The summary of a split: a symmetric isotropic pair (pitchfork, closed form, Biroli's time beside
 * the OU midpoint time) and an unequal pair (saddle-node time, modes 2 then 1). */
Test(speciation, summary_of_symmetric_and_unequal_splits)
{
    sf_context *ctx = cpu_context();
    sf_mixture *m = iso_pair(3.0, 1.0, 2);
    sf_speciation_summary s;
    cr_assert_eq(sf_speciation_summarize(ctx, m, A, 1, B, 1, &s), SF_OK, "%s", sf_last_error());
    cr_expect_eq(s.kind, SF_SPECIATION_PITCHFORK);
    expect_rel(s.tau_c, 8.0, 1e-10, "tau_c = a^2 - s^2");
    expect_rel(s.tau_closed, 8.0, 1e-13, "closed form");
    expect_rel(s.t_midpoint_ou, 0.5 * log(9.0), 1e-10, "OU midpoint time ln(1 + tau_c)/2 (> 1: outside the range)");
    expect_rel(s.t_spectral, 0.5 * log(10.0), 1e-12, "Biroli: Lambda = a^2 + s^2");
    expect_rel(s.isotropic_s2, 1.0, 0, "s^2");
    sf_mixture_destroy(m);
    const double means[2] = {-1, 1}, ws[2] = {0.3, 0.7}, vs[2] = {0.05, 0.05};
    cr_assert_eq(sf_mixture_create_isotropic(&m, 1, 2, ws, means, vs), SF_OK);
    cr_assert_eq(sf_speciation_summarize(ctx, m, A, 1, B, 1, &s), SF_OK, "%s", sf_last_error());
    double tau_sn;
    cr_assert_eq(sf_speciation_tau_asymmetric(0.3, 1.0, 0.05, &tau_sn), SF_OK);
    cr_expect_eq(s.kind, SF_SPECIATION_SADDLE_NODE);
    expect_rel(s.tau_c, tau_sn, 1e-15, "the critical time is the saddle-node time");
    cr_expect(fabs(s.tau_interface - tau_sn) > 1e-3, "the interface criterion differs (%g vs %g)", s.tau_interface, tau_sn);
    cr_expect(s.modes_below == 2 && s.modes_above == 1, "modes %d below, %d above", s.modes_below, s.modes_above);
    cr_expect(isnan(s.tau_closed) && isnan(s.isotropic_s2), "no closed form for unequal weights");
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* Unequal weights: the saddle-node tau_c against mode counting on a 4e5-point line (docs/analyses.md):
 * two modes just below tau_c, one just above, for five weight/variance cases. */
Test(speciation, asymmetric_weights_against_mode_counting)
{
    sf_context *ctx = cpu_context();
    static const double cases[5][3] = {{0.3, 1.0, 0.05}, {0.1, 1.0, 0.0}, {0.45, 2.0, 0.25}, {0.2, 1.5, 0.1}, {0.4, 1.0, 0.2}};
    for (int c = 0; c < 5; c++) {
        double w = cases[c][0], a = cases[c][1], s2 = cases[c][2], tau_c;
        cr_assert_eq(sf_speciation_tau_asymmetric(w, a, s2, &tau_c), SF_OK);
        cr_assert(tau_c > 0, "case %d: no bimodal range", c);
        const double means[2] = {-a, a}, ws[2] = {w, 1 - w}, vs[2] = {s2, s2};
        sf_mixture *m;
        cr_assert_eq(sf_mixture_create_isotropic(&m, 1, 2, ws, means, vs), SF_OK);
        double origin = 0, dir = 1, v_c = s2 + tau_c;
        int below, above;
        /* 1e-3 relative in v, where the reference check counted modes */
        cr_assert_eq(sf_count_modes_on_line(ctx, m, v_c * (1 - 1e-3) - s2, &origin, &dir, a + 8 * sqrt(v_c), 400000, &below), SF_OK);
        cr_assert_eq(sf_count_modes_on_line(ctx, m, v_c * (1 + 1e-3) - s2, &origin, &dir, a + 8 * sqrt(v_c), 400000, &above), SF_OK);
        cr_expect_eq(below, 2, "case %d (w = %g): %d modes just below tau_c = %g", c, w, below, tau_c);
        cr_expect_eq(above, 1, "case %d (w = %g): %d modes just above tau_c = %g", c, w, above, tau_c);
        sf_mixture_destroy(m);
    }
    /* equal weights: the pitchfork, tau_c = a^2 - s^2 */
    double tau;
    cr_assert_eq(sf_speciation_tau_asymmetric(0.5, 1.2, 0.1, &tau), SF_OK);
    expect_rel(tau, 1.44 - 0.1, 1e-12, "w = 1/2 gives a^2 - s^2");
    sf_context_destroy(ctx);
}

/* A pair on a line through the origin with mu inside the line and mu^T C^+ mu < 1 never speciates:
 * tau_c = 0, however the rounding of the projection falls. */
Test(speciation, closed_form_no_speciation_on_a_subspace)
{
    const double r3 = 1 / sqrt(3.0), U[3] = {r3, r3, r3}, eig[1] = {1.0};
    const double mu[3] = {0.3 * r3, 0.3 * r3, 0.3 * r3}, neg[3] = {-0.3 * r3, -0.3 * r3, -0.3 * r3};
    sf_mixture *m;
    sf_mixture_create(&m, 3);
    cr_assert_eq(sf_mixture_add_lowrank(m, 1, mu, 0.0, 1, U, eig), SF_OK);
    cr_assert_eq(sf_mixture_add_lowrank(m, 1, neg, 0.0, 1, U, eig), SF_OK);
    double tau;
    cr_assert_eq(sf_speciation_tau_closed_form(m, &tau), SF_OK);
    cr_expect_eq(tau, 0.0, "mu^T C^+ mu = 0.09 < 1: no speciation (got tau_c = %g)", tau);
    sf_mixture_destroy(m);
}
