/* The quartic double well (SPEC.md D): the quadrature score against central differences of log q
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
