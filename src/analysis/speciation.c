/* Speciation of a binary split (docs/analyses.md, "Speciation"): the interface point between the
 * two groups and the curvature of log q there, its sign change as the numerical critical time,
 * unequal weights' saddle-node time checked by mode counting, the data covariance's top eigenvalue
 * for Biroli et al.'s spectral time, the split's axis, and the summary the commands print. The
 * symmetric pair's closed form is in pair.c. */
#include "abi.h"
#include "mixture.h"
#include "numerics.h"
#include "pair.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The heat frame at tau (sf_time_heat; tau is validated by the callers' ranges). */
static sf_time heat_time(double tau)
{
    sf_time t;
    sf_time_heat(tau, &t);
    return t;
}

/* The two groups of a split as sub-mixtures, and their weighted means (d values each). */
typedef struct {
    sf_mixture *a, *b;
    double *mean_a, *mean_b;
} split_parts;

static void split_free(split_parts *p)
{
    sf_mixture_destroy(p->a), sf_mixture_destroy(p->b);
    free(p->mean_a), free(p->mean_b);
}

static sf_status split_make(const sf_mixture *mix, const int *set_a, int na, const int *set_b, int nb, split_parts *p)
{
    memset(p, 0, sizeof *p);
    if (!mix || !set_a || !set_b) return sfi_fail(SF_ERR_INVALID, "a split needs a mixture and both sets (not NULL)");
    int d = mix->dim;
    sf_status st = sfi_mixture_subset(mix, set_a, na, &p->a);
    if (st == SF_OK) st = sfi_mixture_subset(mix, set_b, nb, &p->b);
    p->mean_a = calloc((size_t)d, sizeof(double)), p->mean_b = calloc((size_t)d, sizeof(double));
    if (st == SF_OK && (!p->mean_a || !p->mean_b)) st = sfi_fail(SF_ERR_NOMEM, "out of memory");
    for (int g = 0; st == SF_OK && g < 2; g++) {
        const sf_mixture *part = g ? p->b : p->a;
        double *mean = g ? p->mean_b : p->mean_a;
        for (int k = 0; k < part->count; k++)
            for (int i = 0; i < d; i++) mean[i] += sf_mixture_weight(part, k) * part->mean[(size_t)k * d + i];
    }
    if (st != SF_OK) split_free(p);
    return st;
}

sf_status sf_speciation_axis(const sf_mixture *mix, const int *set_a, int na, const int *set_b, int nb, double *axis,
                             double *half_separation)
{
    sfi_error_clear();
    if (!axis) return sfi_fail(SF_ERR_INVALID, "sf_speciation_axis: axis is NULL");
    split_parts p;
    sf_status st = split_make(mix, set_a, na, set_b, nb, &p);
    if (st != SF_OK) return st;
    double norm = 0;
    for (int i = 0; i < mix->dim; i++) axis[i] = p.mean_b[i] - p.mean_a[i], norm += axis[i] * axis[i];
    norm = sqrt(norm);
    split_free(&p);
    if (!(norm > 0)) return sfi_fail(SF_ERR_INVALID, "the two groups of the split have the same mean: no axis between them");
    for (int i = 0; i < mix->dim; i++) axis[i] /= norm;
    if (half_separation) *half_separation = 0.5 * norm;
    return SF_OK;
}

/* log q_A - log q_B at the point mean_a + c (mean_b - mean_a), with the sub-mixtures' scores. */
typedef struct {
    const split_parts *parts;
    sf_plan *plan_a, *plan_b; /* the two groups' fields at the heat time, for every bisection step */
    int d;
    double *y, *sa, *sb;
} interface_line;

static sf_status log_ratio_at(void *data, double c, double *phi)
{
    interface_line *l = data;
    for (int i = 0; i < l->d; i++) l->y[i] = l->parts->mean_a[i] + c * (l->parts->mean_b[i] - l->parts->mean_a[i]);
    double la, lb;
    sf_outputs oa = {.logp = &la, .score = l->sa}, ob = {.logp = &lb, .score = l->sb};
    sf_status st = sf_plan_evaluate(l->plan_a, l->y, 1, &oa);
    if (st == SF_OK) st = sf_plan_evaluate(l->plan_b, l->y, 1, &ob);
    /* the sub-mixtures are normalised: add their masses back */
    if (st == SF_OK) *phi = la - lb + log(sfi_mixture_weight_sum(l->parts->a)) - log(sfi_mixture_weight_sum(l->parts->b));
    return st;
}

/* The interface point on the line through the two means: phi > 0 towards A, < 0 towards B. With
 * unequal weights it can leave the segment [0, 1]: the bracket widens until it holds. */
static sf_status find_interface(interface_line *l, double tau)
{
    double lo = 0, hi = 1, phi_lo = 0, phi_hi = 0, c;
    sf_status st = SF_OK;
    for (int widen = 0; widen < 12; widen++) {
        if ((st = log_ratio_at(l, lo, &phi_lo)) != SF_OK || (st = log_ratio_at(l, hi, &phi_hi)) != SF_OK) return st;
        if (phi_lo > 0 && phi_hi < 0) break;
        lo = lo * 2 - 1, hi = hi * 2; /* [0,1] -> [-1,2] -> [-3,4] ... */
    }
    if (!(phi_lo > 0 && phi_hi < 0))
        return sfi_fail(SF_ERR_INVALID,
                       "no interface log q_A = log q_B on the line through the two groups' means at tau = %g "
                       "(log q_A/q_B = %g, %g at the ends searched)", tau, phi_lo, phi_hi);
    if ((st = sfi_bisect(log_ratio_at, l, lo, hi, 1e-15 * (1 + fabs(lo) + fabs(hi)), "the interface", &c)) != SF_OK) return st;
    double phi;
    return log_ratio_at(l, c, &phi); /* leaves y, sa, sb at the interface point */
}

sf_status sf_speciation_normal_curvature(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na,
                                         const int *set_b, int nb, double tau, double *kappa_n, double *top, double *y_star)
{
    sfi_error_clear();
    if (!ctx || !mix || !set_a || !set_b)
        return sfi_fail(SF_ERR_INVALID, "sf_speciation_normal_curvature: ctx, mix and both sets must not be NULL");
    int d = mix->dim;
    sf_status sized = top ? sfi_check_doubles("the Hessian at the interface", (size_t)d, (size_t)d) : SF_OK;
    if (sized != SF_OK) return sized;
    if (!(tau > 0) || !isfinite(tau)) return sfi_fail(SF_ERR_INVALID, "heat time tau = %g must be positive and finite", tau);
    split_parts parts;
    sf_status st = split_make(mix, set_a, na, set_b, nb, &parts);
    if (st != SF_OK) return st;
    sf_time time = heat_time(tau);
    interface_line l = {&parts, NULL, NULL, d, malloc((size_t)d * sizeof(double)), malloc((size_t)d * sizeof(double)),
                        malloc((size_t)d * sizeof(double))};
    double *hn = malloc((size_t)d * sizeof(double)), *H = top ? malloc((size_t)d * d * sizeof(double)) : NULL;
    if (!l.y || !l.sa || !l.sb || !hn || (top && !H)) st = sfi_fail(SF_ERR_NOMEM, "out of memory");
    if (st == SF_OK) st = sf_plan_create(&l.plan_a, ctx, parts.a, &time);
    if (st == SF_OK) st = sf_plan_create(&l.plan_b, ctx, parts.b, &time);
    if (st == SF_OK) st = find_interface(&l, tau);
    if (st == SF_OK) { /* n = grad phi = s_A - s_B; kappa = n^T H n / |n|^2 with H of the whole mixture */
        double norm2 = 0, q = 0;
        for (int i = 0; i < d; i++) l.sa[i] -= l.sb[i], norm2 += l.sa[i] * l.sa[i];
        sf_outputs o = {.hvp = hn, .hvp_dir = l.sa, .hessian = H};
        st = sf_evaluate(ctx, mix, &time, l.y, 1, &o);
        for (int i = 0; i < d; i++) q += l.sa[i] * hn[i];
        if (st == SF_OK && kappa_n) *kappa_n = norm2 > 0 ? q / norm2 : NAN;
        if (st == SF_OK && y_star) memcpy(y_star, l.y, (size_t)d * sizeof(double));
        if (st == SF_OK && top) *top = sfi_symmetric_eigenvalues(H, d, NULL);
    }
    sf_plan_destroy(l.plan_a), sf_plan_destroy(l.plan_b);
    free(l.y), free(l.sa), free(l.sb), free(hn), free(H);
    split_free(&parts);
    return st;
}

typedef struct {
    sf_context *ctx;
    const sf_mixture *mix;
    const int *a, *b;
    int na, nb;
} split_ref;

static sf_status top_curvature_at(void *data, double log_tau, double *top)
{
    const split_ref *s = data;
    return sf_speciation_normal_curvature(s->ctx, s->mix, s->a, s->na, s->b, s->nb, exp(log_tau), NULL, top, NULL);
}

sf_status sf_speciation_tau_numeric(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na, const int *set_b,
                                    int nb, double tau_lo, double tau_hi, double rtol, double *tau_c)
{
    sfi_error_clear();
    if (!ctx || !mix || !set_a || !set_b || !tau_c)
        return sfi_fail(SF_ERR_INVALID, "sf_speciation_tau_numeric: ctx, mix, both sets and tau_c must not be NULL");
    if (!(tau_lo > 0) || !(tau_hi > tau_lo) || !(rtol > 0) || !isfinite(tau_hi))
        return sfi_fail(SF_ERR_INVALID, "need 0 < tau_lo < tau_hi and rtol > 0 (got %g, %g, %g)", tau_lo, tau_hi, rtol);
    split_ref s = {ctx, mix, set_a, set_b, na, nb};
    double klo, khi, log_tau;
    sf_status st = top_curvature_at(&s, log(tau_lo), &klo);
    if (st == SF_OK) st = top_curvature_at(&s, log(tau_hi), &khi);
    if (st != SF_OK) return st;
    if (!(klo > 0 && khi < 0))
        return sfi_fail(SF_ERR_INVALID, "no speciation bracketed in tau = [%g, %g] (top curvature %g, %g: need > 0 then < 0)",
                       tau_lo, tau_hi, klo, khi);
    st = sfi_bisect(top_curvature_at, &s, log(tau_lo), log(tau_hi), rtol, "the top curvature's sign change", &log_tau);
    if (st == SF_OK) *tau_c = exp(log_tau);
    return st;
}

/* (Cov v): Cov = sum_k w_k (C_k + (mu_k - m)(mu_k - m)^T), applied without forming it */
static void covariance_apply(const sf_mixture *m, const double *mean, const double *v, double *w)
{
    int d = m->dim;
    memset(w, 0, (size_t)d * sizeof(double));
    for (int k = 0; k < m->count; k++) {
        double wk = sf_mixture_weight(m, k), proj = 0;
        const double *mu = m->mean + (size_t)k * d, *c = m->var_diag + (size_t)k * d;
        for (int i = 0; i < d; i++) proj += (mu[i] - mean[i]) * v[i];
        for (int i = 0; i < d; i++) w[i] += wk * (c[i] * v[i] + proj * (mu[i] - mean[i]));
        for (int j = m->rank_offset[k]; j < m->rank_offset[k + 1]; j++) {
            const double *u = m->basis + (size_t)j * d;
            double p = 0;
            for (int i = 0; i < d; i++) p += u[i] * v[i];
            for (int i = 0; i < d; i++) w[i] += wk * m->eig[j] * p * u[i];
        }
    }
}

sf_status sf_data_covariance_top_eigenvalue(const sf_mixture *m, double *lambda)
{
    if (!m || !lambda) return sfi_fail(SF_ERR_INVALID, "sf_data_covariance_top_eigenvalue: mix and lambda must not be NULL");
    if (m->count < 1) return sfi_fail(SF_ERR_INVALID, "sf_data_covariance_top_eigenvalue: the mixture has no components");
    int d = m->dim;
    /* small d: the dense covariance and Jacobi (exact to rounding, degenerate tops included);
     * large d: power iteration on the implicit operator */
    int dense = d <= 256;
    double *mean = calloc((size_t)d, sizeof(double)), *v = malloc((size_t)d * sizeof(double));
    double *w = malloc((size_t)d * sizeof(double)), *cov = dense ? malloc((size_t)d * d * sizeof(double)) : NULL;
    if (!mean || !v || !w || (dense && !cov)) {
        free(mean), free(v), free(w), free(cov);
        return sfi_fail(SF_ERR_NOMEM, "out of memory");
    }
    for (int k = 0; k < m->count; k++)
        for (int i = 0; i < d; i++) mean[i] += sf_mixture_weight(m, k) * m->mean[(size_t)k * d + i];
    double lam = 0;
    if (dense) {
        for (int j = 0; j < d; j++) { /* column j = Cov e_j */
            memset(v, 0, (size_t)d * sizeof(double));
            v[j] = 1;
            covariance_apply(m, mean, v, w);
            for (int i = 0; i < d; i++) cov[i * d + j] = w[i];
        }
        lam = sfi_symmetric_eigenvalues(cov, d, NULL);
    } else {
        double norm = 0;
        for (int i = 0; i < d; i++) v[i] = 1.0 + 0.01 * i, norm += v[i] * v[i];
        for (int i = 0; i < d; i++) v[i] /= sqrt(norm);
        for (int it = 0; it < 5000; it++) {
            covariance_apply(m, mean, v, w);
            double nw = 0, dot = 0;
            for (int i = 0; i < d; i++) nw += w[i] * w[i], dot += w[i] * v[i];
            nw = sqrt(nw);
            double prev = lam;
            lam = dot;
            for (int i = 0; i < d; i++) v[i] = w[i] / nw;
            if (it > 2 && fabs(lam - prev) <= 1e-15 * fabs(lam)) break;
        }
    }
    *lambda = lam;
    free(mean), free(v), free(w), free(cov);
    return SF_OK;
}

/* |ln(w/(1-w))| minus the saddle-node bound at v: negative while bimodal, increasing in v */
typedef struct {
    double w, a;
} asymmetric_pair;

static sf_status asymmetry_margin(void *data, double v, double *margin)
{
    const asymmetric_pair *p = data;
    double delta = p->a / sqrt(v);
    *margin = delta > 1 ? fabs(log(p->w / (1 - p->w))) - (2 * delta * sqrt(delta * delta - 1) - 2 * acosh(delta)) : INFINITY;
    return SF_OK;
}

sf_status sf_speciation_tau_asymmetric(double w, double a, double s2, double *tau_c)
{
    sfi_error_clear();
    if (!tau_c) return sfi_fail(SF_ERR_INVALID, "sf_speciation_tau_asymmetric: tau_c is NULL");
    if (!(w > 0 && w < 1) || !(a > 0) || !(s2 >= 0) || !isfinite(a) || !isfinite(s2))
        return sfi_fail(SF_ERR_INVALID, "need 0 < w < 1, a > 0, s^2 >= 0 (got %g, %g, %g)", w, a, s2);
    asymmetric_pair p = {w, a};
    double margin, v_c;
    asymmetry_margin(&p, fmax(s2, 1e-300), &margin);
    if (!(margin < 0)) { /* not bimodal even at tau = 0 */
        *tau_c = 0;
        return SF_OK;
    }
    /* bimodal for v < v_c <= a^2 (delta = 1 at v = a^2) */
    sf_status st = sfi_bisect(asymmetry_margin, &p, fmax(s2, 1e-300), a * a, 1e-15 * a * a, "the saddle-node time", &v_c);
    if (st == SF_OK) *tau_c = v_c - s2;
    return st;
}

sf_status sf_count_modes_on_line(sf_context *ctx, const sf_mixture *mix, double tau, const double *origin,
                                 const double *dir, double half_length, size_t points, int *modes)
{
    sfi_error_clear();
    if (!ctx || !mix || !origin || !dir || !modes)
        return sfi_fail(SF_ERR_INVALID, "sf_count_modes_on_line: ctx, mix, origin, dir and modes must not be NULL");
    int d = mix->dim;
    if (points < 3) return sfi_fail(SF_ERR_INVALID, "mode counting needs at least 3 points");
    sf_status sized = sfi_check_doubles(__func__, points, (size_t)d);
    if (sized != SF_OK) return sized;
    double *y = malloc(points * (size_t)d * sizeof(double)), *lp = malloc(points * sizeof(double));
    if (!y || !lp) {
        free(y), free(lp);
        return sfi_fail(SF_ERR_NOMEM, "out of memory for %zu points", points);
    }
    for (size_t q = 0; q < points; q++) {
        double r = -half_length + 2 * half_length * q / (points - 1);
        for (int i = 0; i < d; i++) y[q * d + i] = origin[i] + r * dir[i];
    }
    sf_time t = heat_time(tau);
    sf_outputs o = {.logp = lp};
    sf_status st = sf_evaluate(ctx, mix, &t, y, points, &o);
    int count = 0;
    for (size_t q = 1; st == SF_OK && q + 1 < points; q++) count += lp[q] > lp[q - 1] && lp[q] >= lp[q + 1];
    *modes = count;
    free(y), free(lp);
    return st;
}

/* Two isotropic components of one variance with unequal weights, split one against the other:
 * the saddle-node case. Fills w (of set A's component), a and s^2. */
static int unequal_isotropic_pair(const sf_mixture *mix, int na, int nb, double *w, double *a, double *s2)
{
    if (mix->count != 2 || na != 1 || nb != 1 || mix->kind[0] != SF_COV_ISOTROPIC || mix->kind[1] != SF_COV_ISOTROPIC ||
        mix->var_diag[0] != mix->var_diag[mix->dim])
        return 0;
    double sep = 0;
    for (int i = 0; i < mix->dim; i++) sep += (mix->mean[i] - mix->mean[mix->dim + i]) * (mix->mean[i] - mix->mean[mix->dim + i]);
    *w = sf_mixture_weight(mix, 0), *a = 0.5 * sqrt(sep), *s2 = mix->var_diag[0];
    return fabs(*w - 0.5) > 1e-12;
}

/* Mode counts on the axis through the midpoint just below and above the saddle-node time. */
static sf_status count_around(sf_context *ctx, const sf_mixture *mix, double a, double s2, double tau_c, int *below,
                              int *above)
{
    int d = mix->dim;
    double *mid = malloc((size_t)d * sizeof(double)), *dir = malloc((size_t)d * sizeof(double));
    sf_status st = mid && dir ? SF_OK : sfi_fail(SF_ERR_NOMEM, "out of memory");
    for (int i = 0; st == SF_OK && i < d; i++)
        mid[i] = 0.5 * (mix->mean[i] + mix->mean[d + i]), dir[i] = (mix->mean[d + i] - mix->mean[i]) / (2 * a);
    double v_c = s2 + tau_c, L = a + 8 * sqrt(v_c);
    if (st == SF_OK) st = sf_count_modes_on_line(ctx, mix, v_c * (1 - 1e-3) - s2, mid, dir, L, 200000, below);
    if (st == SF_OK) st = sf_count_modes_on_line(ctx, mix, v_c * (1 + 1e-3) - s2, mid, dir, L, 200000, above);
    free(mid), free(dir);
    return st;
}

static sf_status speciation_summarize_into(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na,
                                           const int *set_b,
                                  int nb, sf_speciation_summary *out)
{
    sfi_error_clear();
    if (!ctx || !mix || !set_a || !set_b || !out)
        return sfi_fail(SF_ERR_INVALID, "sf_speciation_summarize: ctx, mix, both sets and out must not be NULL");
    double *axis = malloc((size_t)mix->dim * sizeof(double)), w, a, s2, iso_a;
    if (!axis) return sfi_fail(SF_ERR_NOMEM, "out of memory");
    sf_status st = sf_speciation_axis(mix, set_a, na, set_b, nb, axis, &out->half_separation);
    free(axis);
    if (st == SF_OK) st = sf_speciation_tau_numeric(ctx, mix, set_a, na, set_b, nb, 1e-4, 1e3, 1e-12, &out->tau_interface);
    if (st == SF_OK) st = sf_data_covariance_top_eigenvalue(mix, &out->lambda);
    if (st != SF_OK) return st;
    if (sf_speciation_tau_closed_form(mix, &out->tau_closed) != SF_OK) out->tau_closed = NAN;
    out->isotropic_s2 = sfi_pair_isotropic(mix, &iso_a, &s2) ? s2 : NAN;
    out->kind = SF_SPECIATION_PITCHFORK, out->tau_c = out->tau_interface, out->modes_below = out->modes_above = 0;
    if (unequal_isotropic_pair(mix, na, nb, &w, &a, &s2)) { /* the interface criterion is not the speciation time here */
        double tau_sn;
        if ((st = sf_speciation_tau_asymmetric(w, a, s2, &tau_sn)) != SF_OK) return st;
        out->kind = tau_sn > 0 ? SF_SPECIATION_SADDLE_NODE : SF_SPECIATION_NEVER;
        out->tau_c = tau_sn > 0 ? tau_sn : NAN;
        if (tau_sn > 0 && (st = count_around(ctx, mix, a, s2, tau_sn, &out->modes_below, &out->modes_above)) != SF_OK)
            return st;
    }
    sfi_error_clear();
    out->t_spectral = 0.5 * log(out->lambda);
    out->t_midpoint_ou = 0.5 * log1p(isnan(out->tau_c) ? out->tau_interface : out->tau_c);
    return SF_OK;
}

/* sf_speciation_summarize for a caller's sf_speciation_summary of `size` bytes (sizeof in its header): the fields it knows. */
sf_status sf_speciation_summarize_sized(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na,
                                        const int *set_b, int nb, sf_speciation_summary *out, size_t size)
{
    sf_speciation_summary result;
    memset(&result, 0, sizeof result);
    sf_status st = speciation_summarize_into(ctx, mix, set_a, na, set_b, nb, out ? &result : NULL);
    if (st == SF_OK && out) st = sfi_struct_store(out, size, &result, SF_SPECIATION_SUMMARY_SIZE_0_1, sizeof result,
        "sf_speciation_summary");
    return st;
}
