/* The quartic double well (docs/analyses.md): the quadrature score against central differences of log q
 * (computed by its own quadrature here), the derivatives against differences of the score, the
 * Burgers residual d_tau u - u_yy/2 - u u_y at quadrature precision, and the critical time as the
 * sign change of u_y(0) measured by differences. */
#include "test_helpers.h"

/* log q(y, tau) up to a constant, by the trapezoid rule (independent of the library's moments) */
static double log_q(double eps, double tau, double y)
{
    double L = 1 + 6 * sqrt(eps) + 3, best = -INFINITY, sum = 0;
    int n = 40001;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            double x = -L + 2 * L * i / (n - 1), q = x * x - 1;
            double l = -q * q / eps - (y - x) * (y - x) / (2 * tau) - 0.5 * log(2 * M_PI * tau);
            if (pass == 0) best = fmax(best, l);
            else sum += exp(l - best);
        }
    return best + log(sum * 2 * L / (n - 1));
}

Test(doublewell, score_and_derivatives_match_differences)
{
    double eps = 0.3;
    for (double tau = 0.05; tau < 2; tau *= 3)
        for (double y = -1.3; y < 1.5; y += 0.7) {
            double u, uy, uyy, ut, h = 1e-3;
            cr_assert_eq(sf_doublewell_field(eps, tau, &y, 1, &u, &uy, &uyy, &ut), SF_OK);
            double fd = (log_q(eps, tau, y + h) - log_q(eps, tau, y - h)) / (2 * h);
            expect_rel(u, fd, 1e-5, "u at tau = %g, y = %g", tau, y);
            double yp = y + h, ym = y - h, up, um, uyp, uym;
            sf_doublewell_field(eps, tau, &yp, 1, &up, &uyp, NULL, NULL);
            sf_doublewell_field(eps, tau, &ym, 1, &um, &uym, NULL, NULL);
            expect_rel(uy, (up - um) / (2 * h), 1e-5, "u_y at tau = %g, y = %g", tau, y);
            expect_rel(uyy, (uyp - uym) / (2 * h), 1e-4, "u_yy at tau = %g, y = %g", tau, y);
            double ht = 1e-4 * tau, tp = tau + ht, tm = tau - ht, utp, utm;
            sf_doublewell_field(eps, tp, &y, 1, &utp, NULL, NULL, NULL);
            sf_doublewell_field(eps, tm, &y, 1, &utm, NULL, NULL, NULL);
            expect_rel(ut, (utp - utm) / (2 * ht), 1e-5, "u_tau at tau = %g, y = %g", tau, y);
            /* Burgers: d_tau u = u_yy / 2 + u u_y */
            double R = ut - 0.5 * uyy - u * uy, scale = fmax(fabs(ut), fmax(0.5 * fabs(uyy), fabs(u * uy)));
            cr_expect(fabs(R) <= 1e-9 * fmax(1, scale), "residual %.3g (scale %.3g) at tau = %g, y = %g", R, scale, tau, y);
        }
}

Test(doublewell, critical_time_is_where_the_midpoint_slope_turns)
{
    double eps = 0.3, tau_c, surrogate;
    cr_assert_eq(sf_doublewell_tau_c(eps, &tau_c, &surrogate), SF_OK);
    /* u_y(0) by differences of u just below and above tau_c */
    double h = 1e-4, y[2] = {-h, h}, u[2];
    sf_doublewell_field(eps, tau_c * 0.99, y, 2, u, NULL, NULL, NULL);
    double below = (u[1] - u[0]) / (2 * h);
    sf_doublewell_field(eps, tau_c * 1.01, y, 2, u, NULL, NULL, NULL);
    double above = (u[1] - u[0]) / (2 * h);
    cr_expect(below > 0 && above < 0, "u_y(0): %g below tau_c = %g, %g above", below, tau_c, above);
    cr_expect(fabs(surrogate - tau_c) < 0.3 * tau_c, "moment surrogate %g vs tau_c %g", surrogate, tau_c);
}

/* The radial well in 2-D: the score against differences of log q from an independent Cartesian
 * quadrature, the Jacobian, Laplacian and d/d tau against differences of the score, the vector
 * Burgers residual at rounding level, and the critical time where the centre's slope turns. */
static double log_q_ring(double eps, double tau, double y1, double y2)
{
    int n = 1201;
    double L = 1 + 6 * sqrt(eps) + 3, h = 2 * L / (n - 1), best = -INFINITY, sum = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double x1 = -L + i * h, x2 = -L + j * h, q = x1 * x1 + x2 * x2 - 1;
                double l = -q * q / eps - ((x1 - y1) * (x1 - y1) + (x2 - y2) * (x2 - y2)) / (2 * tau);
                if (pass == 0) best = fmax(best, l);
                else sum += exp(l - best);
            }
    return best + log(sum);
}

Test(doublewell, ring_fields_match_differences)
{
    double eps = 0.3, tau = 0.4, y[2] = {0.7, -0.3}, u[2], J[4], lap[2], ut[2], hd = 1e-3;
    cr_assert_eq(sf_ringwell_field(eps, tau, y, 1, u, J, lap, ut), SF_OK, "%s", sf_last_error());
    double fd0 = (log_q_ring(eps, tau, y[0] + hd, y[1]) - log_q_ring(eps, tau, y[0] - hd, y[1])) / (2 * hd);
    double fd1 = (log_q_ring(eps, tau, y[0], y[1] + hd) - log_q_ring(eps, tau, y[0], y[1] - hd)) / (2 * hd);
    expect_rel(u[0], fd0, 1e-5, "u_1");
    expect_rel(u[1], fd1, 1e-5, "u_2");
    /* Jacobian and Laplacian by differences of the score itself */
    double p[2], mns[2], up[2], um[2], Jp[4], Jm[4], lap_fd[2] = {0, 0};
    for (int b = 0; b < 2; b++) {
        p[0] = y[0], p[1] = y[1], mns[0] = y[0], mns[1] = y[1];
        p[b] += hd, mns[b] -= hd;
        sf_ringwell_field(eps, tau, p, 1, up, Jp, NULL, NULL);
        sf_ringwell_field(eps, tau, mns, 1, um, Jm, NULL, NULL);
        for (int a = 0; a < 2; a++) {
            expect_rel(J[2 * a + b], (up[a] - um[a]) / (2 * hd), 1e-5, "J_%d%d", a, b);
            lap_fd[a] += (Jp[2 * a + b] - Jm[2 * a + b]) / (2 * hd);
        }
    }
    for (int a = 0; a < 2; a++) expect_rel(lap[a], lap_fd[a], 1e-4, "Lap u_%d", a);
    double ht = 1e-4 * tau, utp[2], utm[2];
    sf_ringwell_field(eps, tau + ht, y, 1, utp, NULL, NULL, NULL);
    sf_ringwell_field(eps, tau - ht, y, 1, utm, NULL, NULL, NULL);
    for (int a = 0; a < 2; a++) {
        expect_rel(ut[a], (utp[a] - utm[a]) / (2 * ht), 1e-5, "d u_%d / d tau", a);
        double R = ut[a] - 0.5 * lap[a] - (J[2 * a] * u[0] + J[2 * a + 1] * u[1]);
        cr_expect(fabs(R) < 1e-10 * fmax(1, fabs(ut[a])), "Burgers residual %g", R);
    }
}

Test(doublewell, ring_centre_turns_at_the_critical_time)
{
    double eps = 0.3, tau_c;
    cr_assert_eq(sf_ringwell_tau_c(eps, &tau_c), SF_OK);
    double h = 1e-4, y[4] = {-h, 0, h, 0}, u[4];
    sf_ringwell_field(eps, tau_c * 0.98, y, 2, u, NULL, NULL, NULL);
    double below = (u[2] - u[0]) / (2 * h);
    sf_ringwell_field(eps, tau_c * 1.02, y, 2, u, NULL, NULL, NULL);
    double above = (u[2] - u[0]) / (2 * h);
    cr_expect(below > 0 && above < 0, "d u_1/d y_1 at the centre: %g below tau_c = %g, %g above", below, tau_c, above);
}

/* The moments of p0 ~ exp(-a x^4 + b x^2) (a = 1/eps, b = 2/eps) in closed form:
 *   Z = int e^(-a x^4 + b x^2) dx = (pi/2) sqrt(b/(2a)) e^z (I_{-1/4}(z) + I_{1/4}(z)),  z = b^2/(8a),
 *   E x^2 = d ln Z / db,   E|x| = sqrt(pi/(4a)) e^(2z) erfc(-b/(2 sqrt a)) / Z  (u = x^2 on each half),
 * the Bessel functions by their series (all terms positive). The surrogate a_eff^2 - s_eff^2 must
 * match to 1e-10: a trapezoid rule across the kink of |x| at 0 is limited to ~1e-8. */
static void bessel_sum(double z, double *S, double *dS)
{
    *S = *dS = 0;
    for (int s = -1; s <= 1; s += 2) {
        double nu = 0.25 * s;
        for (int k = 0; k < 200; k++) {
            double p = 2 * k + nu, term = exp(p * log(z / 2) - lgamma(k + 1.0)) / tgamma(k + nu + 1);
            *S += term, *dS += term * p / z;
        }
    }
}

Test(doublewell, moments_and_surrogate_match_the_closed_form)
{
    static const double epss[3] = {0.2, 0.3, 0.5};
    for (int c = 0; c < 3; c++) {
        double eps = epss[c], a = 1 / eps, b = 2 / eps, z = b * b / (8 * a), S, dS;
        bessel_sum(z, &S, &dS);
        double Z = 0.5 * M_PI * sqrt(b / (2 * a)) * exp(z) * S;
        double ex2 = 1 / (2 * b) + b / (4 * a) * (1 + dS / S);
        double eabs = sqrt(M_PI / (4 * a)) * exp(2 * z) * erfc(-b / (2 * sqrt(a))) / Z;
        double surrogate = eabs * eabs - (ex2 - eabs * eabs), tau_c, got;
        sf_doublewell_summary w;
        cr_assert_eq(sf_doublewell_summarize(eps, &w), SF_OK, "%s", sf_last_error());
        cr_assert_eq(sf_doublewell_tau_c(eps, &tau_c, &got), SF_OK);
        expect_rel(w.ex2, ex2, 1e-12, "eps = %g: E x^2", eps);
        expect_rel(w.eabs, eabs, 1e-12, "eps = %g: E|x|", eps);
        expect_rel(got, surrogate, 1e-10, "eps = %g: surrogate %.15f, closed form %.15f", eps, got, surrogate);
        expect_rel(w.surrogate_tau_c, surrogate, 1e-10, "eps = %g: summary's surrogate", eps);
        expect_rel(w.tau_c, tau_c, 0, "eps = %g: tau_c", eps);
        expect_rel(w.surrogate_tau_error, (surrogate - tau_c) / tau_c, 1e-9, "eps = %g: relative error", eps);
    }
}

/* The layer width 2/phi'(0), phi = log(q_+ / q_-) for the halves x > 0 and x < 0 of p0: phi by the
 * test's own quadrature of each half (a fine trapezoid rule), phi'(0) by central differences. */
static double log_half(double eps, double tau, double y, int sign)
{
    int n = 400001;
    double L = 1 + 6 * sqrt(eps) + 3, h = L / (n - 1), best = -INFINITY, sum = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            double x = sign * i * h, q = x * x - 1, l = -q * q / eps - (y - x) * (y - x) / (2 * tau);
            if (pass == 0) best = fmax(best, l);
            else sum += (i == 0 || i == n - 1 ? 0.5 : 1) * exp(l - best);
        }
    return best + log(sum);
}

Test(doublewell, layer_width_is_two_over_phi_prime)
{
    double eps = 0.3, hd = 1e-3;
    sf_doublewell_summary w;
    cr_assert_eq(sf_doublewell_summarize(eps, &w), SF_OK, "%s", sf_last_error());
    double phi_p = (log_half(eps, w.tau_c, hd, 1) - log_half(eps, w.tau_c, hd, -1) - log_half(eps, w.tau_c, -hd, 1) +
                    log_half(eps, w.tau_c, -hd, -1)) / (2 * hd);
    expect_rel(w.width, 2 / phi_p, 1e-6, "2/phi'(0) = %.10f, differences %.10f", w.width, 2 / phi_p);
    expect_rel(w.surrogate_width, (w.s_eff2 + w.tau_c) / w.a_eff, 1e-15, "surrogate width");
    expect_rel(w.s_eff2, w.ex2 - w.eabs * w.eabs, 1e-15, "s_eff^2");
    cr_expect(fabs(w.fitted_width - w.width) < 0.05 * w.width, "tanh fit %.6f vs 2/phi'(0) %.6f", w.fitted_width, w.width);
}

/* The residual functions: rounding level for the 1-D well, the product of two wells and the ring. */
Test(doublewell, burgers_residuals_at_rounding_level)
{
    double eps = 0.3, taus[3] = {0.2, 0.8, 2.4}, y1[21], y2[2 * 49], worst;
    for (int i = 0; i < 21; i++) y1[i] = -2 + 0.2 * i;
    for (int i = 0; i < 49; i++) y2[2 * i] = -1.5 + 0.5 * (i % 7), y2[2 * i + 1] = -1.5 + 0.5 * (i / 7);
    cr_assert_eq(sf_doublewell_burgers_residual(eps, 1, taus, 3, y1, 21, &worst), SF_OK);
    cr_expect(worst < 1e-10, "1-D residual %g", worst);
    cr_assert_eq(sf_doublewell_burgers_residual(eps, 2, taus, 3, y2, 49, &worst), SF_OK);
    cr_expect(worst < 1e-10, "product residual %g", worst);
    cr_assert_eq(sf_ringwell_burgers_residual(eps, taus, 3, y2, 49, &worst), SF_OK);
    cr_expect(worst < 1e-10, "ring residual %g", worst);
    /* a wrong field (tau mislabelled) is caught: the residual of u(tau) measured as if at 1.01 tau */
    double u[21], uy[21], uyy[21], ut[21], ut2[21], scale = 0, rmax = 0;
    sf_doublewell_field(eps, 0.8, y1, 21, u, uy, uyy, ut);
    sf_doublewell_field(eps, 0.808, y1, 21, NULL, NULL, NULL, ut2);
    for (int i = 0; i < 21; i++) {
        scale = fmax(scale, fabs(ut2[i]));
        rmax = fmax(rmax, fabs(ut2[i] - 0.5 * uyy[i] - u[i] * uy[i]));
    }
    cr_expect(rmax / scale > 1e-4, "the residual sees a mismatch (%g)", rmax / scale);
}
