/* The periodic spectral grid (docs/burgers.md, grid form): single-mode operator tests of the spectral
 * derivative and the heat factor against closed forms, route A against the exact periodised score,
 * route B at fourth order in the step and with spectral convergence in N, and FFTW against cuFFT. */
#include "test_helpers.h"

#include <string.h>

static sf_grid *make_grid(sf_context *ctx, int dim, int n, double box)
{
    sf_grid *g = NULL;
    cr_assert_eq(sf_grid_create(&g, ctx, dim, n, box), SF_OK, "%s", sf_last_error());
    return g;
}

static double max_abs_diff(const double *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

static double max_abs(const double *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

/* q = 2 + prod_a sin(k_a y_a + phase_a) heat-flows to 2 + e^{-|k|^2 dtau / 2} prod_a sin(...):
 * route A must return grad log of that, exactly (to rounding), for modes up to N/2 - 1. */
Test(grid, single_modes_are_differentiated_and_diffused_exactly)
{
    sf_context *ctx = cpu_context();
    for (int dim = 1; dim <= 3; dim++) {
        int n = dim == 3 ? 16 : 32;
        double L = 3.0;
        sf_grid *g = make_grid(ctx, dim, n, L);
        size_t P = sf_grid_points(g);
        double *y = malloc(P * dim * sizeof(double)), *q = malloc(P * sizeof(double));
        double *u = malloc(P * dim * sizeof(double)), *want = malloc(P * dim * sizeof(double));
        sf_grid_coordinates(g, y);
        int modes[3] = {1, n / 2 - 1, 3};
        double phase[3] = {0.3, -1.1, 2.0};
        for (int trial = 0; trial < 2; trial++) {
            double dtau = trial ? 0.01 : 0.0, k2 = 0, k[3];
            for (int a = 0; a < dim; a++) k[a] = 2 * M_PI * modes[a] / L, k2 += k[a] * k[a];
            double decay = exp(-0.5 * k2 * dtau);
            for (size_t p = 0; p < P; p++) {
                double prod = 1;
                for (int a = 0; a < dim; a++) prod *= sin(k[a] * y[p * dim + a] + phase[a]);
                q[p] = 2 + prod;
                for (int a = 0; a < dim; a++) { /* d/dy_a of decay * prod, over 2 + decay * prod */
                    double part = decay * k[a] * cos(k[a] * y[p * dim + a] + phase[a]);
                    for (int b = 0; b < dim; b++)
                        if (b != a) part *= sin(k[b] * y[p * dim + b] + phase[b]);
                    want[p * dim + a] = part / (2 + decay * prod);
                }
            }
            cr_assert_eq(sf_grid_heat_route(g, q, dtau, u), SF_OK, "%s", sf_last_error());
            double err = max_abs_diff(u, want, P * dim), size = max_abs(want, P * dim);
            cr_expect(err <= 1e-12 * size, "d = %d dtau = %g: max error %.3g (max |u| %.3g)", dim, dtau, err, size);
        }
        free(y), free(q), free(u), free(want);
        sf_grid_destroy(g);
    }
    sf_context_destroy(ctx);
}

static sf_mixture *three_components(int dim)
{
    sf_mixture *m;
    cr_assert_eq(sf_mixture_create(&m, dim), SF_OK);
    const double mu1[3] = {1, 0.3, -0.2}, mu2[3] = {-1, -0.4, 0.5}, mu3[3] = {0.2, 1.2, 0.0};
    const double var[3] = {0.08, 0.12, 0.1};
    cr_assert_eq(sf_mixture_add_isotropic(m, 0.5, mu1, 0.1), SF_OK);
    cr_assert_eq(sf_mixture_add_diagonal(m, 0.3, mu2, var), SF_OK);
    cr_assert_eq(sf_mixture_add_isotropic(m, 0.2, mu3, 0.2), SF_OK);
    return m;
}

/* Route A from the exact density at tau0 = 0.05 reaches the exact periodised score at 0.3 to
 * near rounding (relative to max |u|). */
Test(grid, route_a_matches_the_exact_periodised_score)
{
    sf_context *ctx = cpu_context();
    static const int sizes[3] = {256, 96, 48};
    for (int dim = 1; dim <= 3; dim++) {
        sf_mixture *m = three_components(dim);
        sf_grid *g = make_grid(ctx, dim, sizes[dim - 1], 8.0);
        size_t P = sf_grid_points(g);
        double *q0 = malloc(P * sizeof(double)), *u1 = malloc(P * dim * sizeof(double)), *ua = malloc(P * dim * sizeof(double));
        cr_assert_eq(sf_grid_exact(g, m, 1e-2, 2, 0.05, q0, NULL), SF_OK, "%s", sf_last_error());
        cr_assert_eq(sf_grid_exact(g, m, 1e-2, 2, 0.3, NULL, u1), SF_OK);
        cr_assert_eq(sf_grid_heat_route(g, q0, 0.25, ua), SF_OK);
        double err = max_abs_diff(ua, u1, P * dim) / max_abs(u1, P * dim);
        cr_expect(err < 1e-10, "d = %d N = %d: route A error %.3g of max |u|", dim, sizes[dim - 1], err);
        free(q0), free(u1), free(ua);
        sf_grid_destroy(g);
        sf_mixture_destroy(m);
    }
    sf_context_destroy(ctx);
}

/* Route B in 1-D (N = 256, spatially resolved): error ratio ~16 per halving of the step. */
Test(grid, route_b_is_fourth_order_in_the_step)
{
    sf_context *ctx = cpu_context();
    sf_mixture *m = three_components(1);
    sf_grid *g = make_grid(ctx, 1, 256, 8.0);
    size_t P = sf_grid_points(g);
    double u0[256], u1[256], ub[256], err[3];
    cr_assert_eq(sf_grid_exact(g, m, 1e-3, 2, 0.05, NULL, u0), SF_OK);
    cr_assert_eq(sf_grid_exact(g, m, 1e-3, 2, 0.3, NULL, u1), SF_OK);
    static const int steps[3] = {25, 50, 100};
    for (int r = 0; r < 3; r++) {
        memcpy(ub, u0, sizeof ub);
        cr_assert_eq(sf_grid_burgers_route(g, ub, 0.25, steps[r], NULL, NULL), SF_OK, "%s", sf_last_error());
        err[r] = max_abs_diff(ub, u1, P) / max_abs(u1, P);
    }
    double o1 = log2(err[0] / err[1]), o2 = log2(err[1] / err[2]);
    cr_expect(fabs(o1 - 4) < 0.35 && fabs(o2 - 4) < 0.35, "orders %.3f %.3f (errors %.3g %.3g %.3g)", o1, o2, err[0],
              err[1], err[2]);
    cr_expect(err[2] < 1e-6, "error with 100 steps %.3g", err[2]);
    sf_grid_destroy(g);
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* Route B's error is spatial once the step is small: it falls fast with N (d = 2 and 3). */
Test(grid, route_b_converges_spectrally_in_n)
{
    sf_context *ctx = cpu_context();
    static const int sizes[2][2] = {{48, 96}, {24, 40}};
    static const double factor[2] = {100, 5};
    for (int dim = 2; dim <= 3; dim++) {
        sf_mixture *m = three_components(dim);
        double err[2];
        for (int r = 0; r < 2; r++) {
            sf_grid *g = make_grid(ctx, dim, sizes[dim - 2][r], 8.0);
            size_t P = sf_grid_points(g);
            double *u0 = malloc(P * dim * sizeof(double)), *u1 = malloc(P * dim * sizeof(double));
            cr_assert_eq(sf_grid_exact(g, m, 1e-2, 1, 0.05, NULL, u0), SF_OK);
            cr_assert_eq(sf_grid_exact(g, m, 1e-2, 1, 0.3, NULL, u1), SF_OK);
            cr_assert_eq(sf_grid_burgers_route(g, u0, 0.25, dim == 2 ? 100 : 20, NULL, NULL), SF_OK);
            err[r] = max_abs_diff(u0, u1, P * dim) / max_abs(u1, P * dim);
            free(u0), free(u1);
            sf_grid_destroy(g);
        }
        cr_expect(err[1] * factor[dim - 2] < err[0], "d = %d: errors %.3g (N = %d), %.3g (N = %d)", dim, err[0],
                  sizes[dim - 2][0], err[1], sizes[dim - 2][1]);
        sf_mixture_destroy(m);
    }
    sf_context_destroy(ctx);
}

Test(grid, refuses_bad_shapes_and_densities)
{
    sf_context *ctx = cpu_context();
    sf_grid *g = NULL;
    cr_expect_eq(sf_grid_create(&g, ctx, 4, 16, 1.0), SF_ERR_INVALID);
    cr_expect_eq(sf_grid_create(&g, ctx, 2, 15, 1.0), SF_ERR_INVALID);
    cr_expect_eq(sf_grid_create(&g, ctx, 2, 16, -1.0), SF_ERR_INVALID);
    g = make_grid(ctx, 1, 16, 4.0);
    double q[16] = {0};
    q[3] = 1;
    double u[16];
    cr_expect_eq(sf_grid_heat_route(g, q, 0.1, u), SF_ERR_INVALID, "a zero density is refused");
    cr_expect(strstr(sf_last_error(), "floor") != NULL, "%s", sf_last_error());
    sf_mixture *m = three_components(2);
    cr_expect_eq(sf_grid_exact(g, m, 0.01, 1, 0.1, q, NULL), SF_ERR_INVALID, "dimension mismatch");
    sf_grid_destroy(g);
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}

/* FFTW and cuFFT routes agree (float64 to 1e-12 of max |u|). */
Test(gpu_grid, cufft_matches_fftw)
{
    require_device();
    sf_context *cpu = cpu_context(), *gpu = NULL;
    cr_assert_eq(sf_context_create(&gpu, SF_BACKEND_CUDA, SF_PRECISION_F64, 0), SF_OK, "%s", sf_last_error());
    for (int dim = 1; dim <= 3; dim++) {
        int n = dim == 3 ? 32 : 64;
        sf_mixture *m = three_components(dim);
        sf_grid *gc = make_grid(cpu, dim, n, 8.0), *gg = make_grid(gpu, dim, n, 8.0);
        size_t P = sf_grid_points(gc);
        double *q0 = malloc(P * 8), *u0 = malloc(P * dim * 8), *a[2], *b[2];
        cr_assert_eq(sf_grid_exact(gc, m, 1e-2, 1, 0.05, q0, u0), SF_OK);
        for (int k = 0; k < 2; k++) {
            sf_grid *g = k ? gg : gc;
            a[k] = malloc(P * dim * 8), b[k] = malloc(P * dim * 8);
            memcpy(b[k], u0, P * dim * 8);
            cr_assert_eq(sf_grid_heat_route(g, q0, 0.25, a[k]), SF_OK, "%s", sf_last_error());
            cr_assert_eq(sf_grid_burgers_route(g, b[k], 0.25, 20, NULL, NULL), SF_OK, "%s", sf_last_error());
        }
        double size = max_abs(a[0], P * dim);
        cr_expect(max_abs_diff(a[0], a[1], P * dim) <= 1e-12 * size, "d = %d route A: cuFFT vs FFTW", dim);
        cr_expect(max_abs_diff(b[0], b[1], P * dim) <= 1e-11 * size, "d = %d route B: cuFFT vs FFTW", dim);
        for (int k = 0; k < 2; k++) free(a[k]), free(b[k]);
        free(q0), free(u0);
        sf_grid_destroy(gc), sf_grid_destroy(gg);
        sf_mixture_destroy(m);
    }
    sf_context_destroy(cpu), sf_context_destroy(gpu);
}
