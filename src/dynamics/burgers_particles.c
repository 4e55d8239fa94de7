/* The Burgers structure at particles (docs/burgers.md): advancing a carried score with the Burgers
 * right-hand side, and measuring the curl of the score field. */
#include "curl.h"
#include "mixture.h"
#include "numerics.h"
#include "status.h"
#include "philox.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Particles per chunk for the finite-difference stencils (bounds the temporaries). */
#define SF_STENCIL_CHUNK 4096

/* F(tau, u) = Lap u_mix(y, tau) / 2 + H_mix(y, tau) u */
static sf_status burgers_rhs(sf_plan *plan, int d, const double *y, size_t n, double tau, const double *u,
                             double *lap, double *out)
{
    sf_time t;
    sf_status st = sf_time_heat(tau, &t);
    if (st == SF_OK) st = sf_plan_set_time(plan, &t);
    if (st != SF_OK) return st;
    sf_outputs o = {.lap = lap, .hvp = out, .hvp_dir = u};
    if ((st = sf_plan_evaluate(plan, y, n, &o)) != SF_OK) return st;
    for (size_t i = 0; i < n * (size_t)d; i++) out[i] += 0.5 * lap[i];
    return SF_OK;
}

typedef struct {
    sf_plan *plan; /* the mixture's field, moved to each stage time */
    int d;
    const double *y;
    size_t n;
    double *lap; /* scratch */
} burgers_problem;

static sf_status burgers_ode(void *data, double tau, const double *u, double *du)
{
    const burgers_problem *p = data;
    return burgers_rhs(p->plan, p->d, p->y, p->n, tau, u, p->lap, du);
}

sf_status sf_burgers_advance(sf_context *ctx, const sf_mixture *mix, const double *y, size_t n, double tau0,
                             double tau1, int steps, double *u)
{
    sfi_error_clear();
    if (!ctx || !mix || (n > 0 && (!y || !u)))
        return sfi_fail(SF_ERR_INVALID, "sf_burgers_advance: ctx, mix, y and u must not be NULL");
    sf_status st = sfi_check_doubles(__func__, n, (size_t)mix->dim);
    if (st != SF_OK) return st;
    if (steps < 1 || !(tau0 >= 0) || !(tau1 >= 0) || !isfinite(tau0) || !isfinite(tau1))
        return sfi_fail(SF_ERR_INVALID, "Burgers advance needs steps >= 1 and finite tau0, tau1 >= 0 (got %d, %g, %g)",
                       steps, tau0, tau1);
    size_t nd = n * (size_t)mix->dim;
    burgers_problem p = {NULL, mix->dim, y, n, malloc(nd * sizeof(double) + 1)};
    st = p.lap ? SF_OK : sfi_fail(SF_ERR_NOMEM, "out of memory advancing %zu particles", n);
    sf_time start;
    if (st == SF_OK) st = sf_time_heat(tau0, &start);
    if (st == SF_OK) st = sf_plan_create(&p.plan, ctx, mix, &start);
    if (st == SF_OK) st = sfi_rk4(burgers_ode, &p, nd, tau0, tau1, steps, u, NULL);
    sf_plan_destroy(p.plan);
    free(p.lap);
    return st;
}

/* ---------------------------------------------------------------- curl */

static double dot(const double *a, const double *b, int d)
{
    double s = 0;
    for (int j = 0; j < d; j++) s += a[j] * b[j];
    return s;
}

sf_status sfi_field_curl(sf_vector_field field, void *data, int d, const double *x, size_t n, size_t first, int probes,
                        uint64_t seed, double h, double *curl)
{
    int dirs = probes > 0 ? 2 * probes : d; /* directions per particle */
    size_t chunk = n < SF_STENCIL_CHUNK ? n : SF_STENCIL_CHUNK;
    size_t pts = chunk * (size_t)dirs * 2; /* x + h v and x - h v for each direction */
    double *points = malloc(pts * d * sizeof(double) + 1), *values = malloc(pts * d * sizeof(double) + 1);
    double *dir = malloc(chunk * (size_t)dirs * d * sizeof(double) + 1), *jv = malloc((size_t)dirs * d * sizeof(double) + 1);
    sf_status st = points && values && dir && jv ? SF_OK : sfi_fail(SF_ERR_NOMEM, "out of memory for the curl stencil");
    for (size_t i0 = 0; st == SF_OK && i0 < n; i0 += chunk) {
        size_t m = n - i0 < chunk ? n - i0 : chunk;
        for (size_t i = 0; i < m; i++)
            for (int q = 0; q < dirs; q++) {
                double *v = dir + (i * dirs + q) * d;
                for (int j = 0; j < d; j++) v[j] = probes > 0 ? sf_philox_normal(seed, first + i0 + i, (uint32_t)q, (uint32_t)j) /* keyed by particle */
                                      : (j == q ? 1.0 : 0.0);
                for (int sgn = 0; sgn < 2; sgn++) {
                    double *p = points + ((i * dirs + q) * 2 + sgn) * d;
                    for (int j = 0; j < d; j++) p[j] = x[(i0 + i) * d + j] + (sgn ? -h : h) * v[j];
                }
            }
        if ((st = field(data, points, m * dirs * 2, values)) != SF_OK) break;
        for (size_t i = 0; i < m; i++) {
            for (int q = 0; q < dirs; q++) /* J v_q by central differences */
                for (int j = 0; j < d; j++)
                    jv[q * d + j] = (values[((i * dirs + q) * 2) * d + j] - values[((i * dirs + q) * 2 + 1) * d + j]) / (2 * h);
            double worst = 0;
            if (probes > 0) {
                for (int q = 0; q < probes; q++) {
                    const double *v = dir + (i * dirs + 2 * q) * d, *w = v + d;
                    const double *Jv = jv + 2 * q * d, *Jw = Jv + d;
                    double asym = fabs(dot(w, Jv, d) - dot(v, Jw, d));
                    double size = sqrt(dot(Jv, Jv, d) * dot(w, w, d)) + sqrt(dot(Jw, Jw, d) * dot(v, v, d));
                    double rel = size > 0 ? asym / size : 0;
                    if (rel > worst) worst = rel;
                }
            } else { /* column q of J is J e_q */
                double anti = 0, all = 0;
                for (int a = 0; a < d; a++)
                    for (int b = 0; b < d; b++) {
                        double jab = jv[b * d + a], jba = jv[a * d + b];
                        anti += (jab - jba) * (jab - jba);
                        all += jab * jab;
                    }
                worst = all > 0 ? sqrt(anti) / (2 * sqrt(all)) : 0;
            }
            curl[i0 + i] = worst;
        }
    }
    free(points), free(values), free(dir), free(jv);
    return st;
}

static sf_status evaluate_score(void *plan, const double *points, size_t m, double *values)
{
    sf_outputs o = {.score = values};
    return sf_plan_evaluate(plan, points, m, &o);
}

sf_status sf_score_curl(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x, size_t n,
                        int probes, uint64_t seed, double *curl)
{
    return sfi_score_curl_from(ctx, mix, time, x, n, 0, probes, seed, curl);
}

sf_status sfi_score_curl_from(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x, size_t n,
                              size_t first, int probes, uint64_t seed, double *curl)
{
    sfi_error_clear();
    if (!ctx || !mix || !time || (n > 0 && (!x || !curl)))
        return sfi_fail(SF_ERR_INVALID, "sf_score_curl: ctx, mix, time, x and curl must not be NULL");
    if (probes < 0) return sfi_fail(SF_ERR_INVALID, "curl probes must be >= 0 (got %d)", probes);
    size_t dirs = probes > 0 ? 2 * (size_t)probes : (size_t)mix->dim; /* the stencil of one chunk: */
    sf_status checked = sfi_check_doubles(__func__, n, (size_t)mix->dim);
    if (checked == SF_OK) checked = sfi_check_doubles(__func__, 2 * SF_STENCIL_CHUNK * dirs, (size_t)mix->dim);
    if (checked != SF_OK) return checked;
    /* step: 1e-4 of the narrowest noised component's standard deviation */
    double smallest = INFINITY, a2 = time->alpha * time->alpha;
    for (size_t i = 0; i < (size_t)mix->count * mix->dim; i++) smallest = fmin(smallest, a2 * mix->var_diag[i] + time->sigma2);
    if (!(smallest > 0))
        return sfi_fail(SF_ERR_INVALID, "the score is singular at this time (a component has zero variance and sigma = 0)");
    sf_plan *plan = NULL;
    sf_status st = sf_plan_create(&plan, ctx, mix, time);
    if (st == SF_OK) st = sfi_field_curl(evaluate_score, plan, mix->dim, x, n, first, probes, seed, 1e-4 * sqrt(smallest), curl);
    sf_plan_destroy(plan);
    return st;
}
