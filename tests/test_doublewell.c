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
