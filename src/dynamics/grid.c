/* The periodic grid (docs/burgers.md, grid form): creation, coordinates, the exact periodised field by
 * the score engine, and the two routes dispatched to FFTW (src/grid_cpu.c) or cuFFT
 * (kernels/grid.cu). Public arrays are point-major (N^d x d); the backends work component-major. */
#include "grid.h"
#include "sf_cuda.h"
#include "context.h"
#include "mixture.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

sf_status sf_grid_create(sf_grid **out, sf_context *ctx, int dim, int n, double box)
{
    sfi_error_clear();
    if (!out || !ctx) return sfi_fail(SF_ERR_INVALID, "sf_grid_create: grid and ctx must not be NULL");
    *out = NULL;
    if (dim < 1 || dim > 3) return sfi_fail(SF_ERR_INVALID, "grid dimension %d: must be 1, 2 or 3", dim);
    if (n < 4 || n % 2 || n > 4096) return sfi_fail(SF_ERR_INVALID, "grid size %d: must be even, 4 to 4096", n);
    if (!(box > 0) || !isfinite(box)) return sfi_fail(SF_ERR_INVALID, "box length %g must be positive", box);
    sf_grid *g = calloc(1, sizeof *g);
    if (!g) return sfi_fail(SF_ERR_NOMEM, "out of memory creating the grid");
    g->shape.dim = dim, g->shape.n = n, g->shape.box = box, g->ctx = ctx;
    g->shape.points = 1;
    for (int a = 0; a < dim; a++) g->shape.points *= (size_t)n;
    g->shape.modes = g->shape.points / (size_t)n * ((size_t)n / 2 + 1);
    sf_status st = sf_context_backend(ctx) == SF_BACKEND_CUDA
                       ? sfi_cuda_grid_create(&g->cuda, ctx->cuda, &g->shape, ctx->precision)
                       : sfi_grid_cpu_create(&g->cpu, &g->shape);
    if (st != SF_OK) {
        sf_grid_destroy(g);
        return st;
    }
    *out = g;
    return SF_OK;
}

void sf_grid_destroy(sf_grid *g)
{
    if (!g) return;
    sfi_grid_cpu_destroy(g->cpu);
    sfi_cuda_grid_destroy(g->cuda);
    free(g);
}

size_t sf_grid_points(const sf_grid *g)
{
    if (!g) sfi_fail(SF_ERR_INVALID, "sf_grid_points: grid is NULL");
    return g ? g->shape.points : 0;
}

void sf_grid_coordinates(const sf_grid *g, double *y)
{
    if (!g || !y) {
        sfi_fail(SF_ERR_INVALID, "sf_grid_coordinates: grid and y must not be NULL");
        return;
    }
    const sf_grid_shape *s = &g->shape;
    for (size_t p = 0; p < s->points; p++) {
        size_t rest = p;
        for (int a = s->dim - 1; a >= 0; a--) {
            int j = (int)(rest % (size_t)s->n);
            rest /= (size_t)s->n;
            y[p * s->dim + a] = (j - s->n / 2) * s->box / s->n;
        }
    }
}

/* Transposes between point-major (P x d) and component-major (d x P). */
static void transpose(const double *in, double *out, size_t rows, size_t cols)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) out[c * rows + r] = in[r * cols + c];
}

sf_status sf_grid_exact(sf_grid *g, const sf_mixture *mix, double floor, int images, double tau, double *density,
                        double *u)
{
    sfi_error_clear();
    if (!g || !mix) return sfi_fail(SF_ERR_INVALID, "sf_grid_exact: grid and mix must not be NULL");
    const sf_grid_shape *s = &g->shape;
    int d = s->dim;
    if (mix->dim != d) return sfi_fail(SF_ERR_INVALID, "the mixture has dimension %d, the grid %d", mix->dim, d);
    if (!(floor >= 0 && floor < 1)) return sfi_fail(SF_ERR_INVALID, "density floor %g must be in [0, 1)", floor);
    if (images < 0 || images > 8) return sfi_fail(SF_ERR_INVALID, "periodic images %d: must be 0 to 8", images);
    if (!(tau >= 0) || !isfinite(tau)) return sfi_fail(SF_ERR_INVALID, "heat time tau = %g must be >= 0", tau);
    size_t P = s->points, Pd = P * (size_t)d;
    sf_time t;
    sf_status st = sf_time_heat(tau, &t);
    if (st != SF_OK) return st;
    /* per point, a running log-sum-exp over images: log q = m + log(sum), grad q / q = gsum / sum */
    double *y = malloc(Pd * sizeof(double)), *shifted = malloc(Pd * sizeof(double)), *lp = malloc(P * sizeof(double));
    double *sc = malloc(Pd * sizeof(double)), *m = malloc(P * sizeof(double)), *sum = malloc(P * sizeof(double));
    double *gsum = calloc(Pd, sizeof(double));
    if (!y || !shifted || !lp || !sc || !m || !sum || !gsum) st = sfi_fail(SF_ERR_NOMEM, "out of memory for %zu grid points", P);
    sf_plan *plan = NULL;
    if (st == SF_OK) st = sf_plan_create(&plan, g->ctx, mix, &t);
    if (st == SF_OK) {
        sf_grid_coordinates(g, y);
        double log_floor = floor > 0 ? log(floor) - d * log(s->box) : -INFINITY, log_mass = log1p(-floor);
        for (size_t p = 0; p < P; p++) m[p] = log_floor, sum[p] = floor > 0 ? 1.0 : 0.0;
        int side = 2 * images + 1, count = 1;
        for (int a = 0; a < d; a++) count *= side;
        for (int image = 0; st == SF_OK && image < count; image++) {
            int shift[3] = {0, 0, 0}, rest = image;
            for (int a = 0; a < d; a++) shift[a] = rest % side - images, rest /= side;
            for (size_t p = 0; p < P; p++)
                for (int a = 0; a < d; a++) shifted[p * d + a] = y[p * d + a] + shift[a] * s->box;
            sf_outputs o = {.score = sc, .logp = lp};
            if ((st = sf_plan_evaluate(plan, shifted, P, &o)) != SF_OK) break;
            for (size_t p = 0; p < P; p++) {
                double l = lp[p] + log_mass;
                if (l > m[p]) { /* rescale what was summed to the new maximum */
                    double r = exp(m[p] - l);
                    sum[p] *= r;
                    for (int a = 0; a < d; a++) gsum[p * d + a] *= r;
                    m[p] = l;
                }
                double w = exp(l - m[p]);
                sum[p] += w;
                for (int a = 0; a < d; a++) gsum[p * d + a] += w * sc[p * d + a];
            }
        }
    }
    if (st == SF_OK)
        for (size_t p = 0; p < P; p++) {
            if (density) density[p] = exp(m[p]) * sum[p];
            if (u)
                for (int a = 0; a < d; a++) u[p * d + a] = gsum[p * d + a] / sum[p];
        }
    sf_plan_destroy(plan);
    free(y), free(shifted), free(lp), free(sc), free(m), free(sum), free(gsum);
    return st;
}

sf_status sf_grid_heat_route(sf_grid *g, const double *density, double dtau, double *u)
{
    sfi_error_clear();
    if (!g || !density || !u) return sfi_fail(SF_ERR_INVALID, "sf_grid_heat_route: grid, density and u must not be NULL");
    if (!(dtau >= 0) || !isfinite(dtau)) return sfi_fail(SF_ERR_INVALID, "heat-time step %g must be >= 0", dtau);
    size_t P = g->shape.points, d = (size_t)g->shape.dim;
    for (size_t p = 0; p < P; p++)
        if (!(density[p] > 0) || !isfinite(density[p]))
            return sfi_fail(SF_ERR_INVALID, "density at grid point %zu is %g: route A needs a positive density (add a floor)",
                           p, density[p]);
    double *cm = malloc(P * d * sizeof(double));
    if (!cm) return sfi_fail(SF_ERR_NOMEM, "out of memory for %zu grid points", P);
    sf_status st = g->cuda ? sfi_cuda_grid_heat(g->cuda, density, dtau, cm) : sfi_grid_cpu_heat(g->cpu, density, dtau, cm);
    if (st == SF_OK) transpose(cm, u, d, P);
    free(cm);
    return st;
}

sf_status sf_grid_burgers_route(sf_grid *g, double *u, double dtau, int steps, sf_progress progress, void *data)
{
    sfi_error_clear();
    if (!g || !u) return sfi_fail(SF_ERR_INVALID, "sf_grid_burgers_route: grid and u must not be NULL");
    if (steps < 1 || !isfinite(dtau)) return sfi_fail(SF_ERR_INVALID, "route B needs steps >= 1 and a finite dtau");
    size_t P = g->shape.points, d = (size_t)g->shape.dim;
    double *cm = malloc(P * d * sizeof(double));
    if (!cm) return sfi_fail(SF_ERR_NOMEM, "out of memory for %zu grid points", P);
    transpose(u, cm, P, d);
    sf_status st = g->cuda ? sfi_cuda_grid_burgers(g->cuda, cm, dtau, steps, progress, data)
                           : sfi_grid_cpu_burgers(g->cpu, cm, dtau, steps, progress, data);
    if (st == SF_OK) transpose(cm, u, d, P);
    free(cm);
    return st;
}

sf_status sfi_grid_fft_seconds_per_step(sf_grid *g, int reps, double *seconds)
{
    if (reps < 1) return sfi_fail(SF_ERR_INVALID, "reps must be >= 1");
    return g->cuda ? sfi_cuda_grid_fft_seconds(g->cuda, reps, seconds) : sfi_grid_cpu_fft_seconds(g->cpu, reps, seconds);
}
