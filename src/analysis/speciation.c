/* Speciation of a binary split (SPEC.md D): the closed-form critical heat time of a symmetric
 * pair, the normal criterion on the interface computed from the field for any split, its sign
 * change as the numerical critical time, and the data covariance's top eigenvalue for Biroli
 * et al.'s spectral time. */
#include "mixture.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* mu^T (C_k + tau I)^{-1} mu in the spectral form of C_k (diagonal part plus orthonormal rows). */
static double quad_inverse(const sf_mixture *m, int k, const double *mu, double tau)
{
    int d = m->dim;
    const double *c = m->var_diag + (size_t)k * d;
    double sum = 0, mu2 = 0, *resid = malloc((size_t)d * sizeof(double));
    if (!resid) return NAN;
    memcpy(resid, mu, (size_t)d * sizeof(double));
    for (int i = 0; i < d; i++) mu2 += mu[i] * mu[i];
    for (int j = m->rank_offset[k]; j < m->rank_offset[k + 1]; j++) {
        const double *u = m->basis + (size_t)j * d;
        double p = 0;
        for (int i = 0; i < d; i++) p += u[i] * mu[i];
        for (int i = 0; i < d; i++) resid[i] -= p * u[i];
        sum += p * p / (c[0] + m->eig[j] + tau); /* low-rank: constant diagonal part */
    }
    for (int i = 0; i < d; i++) {
        double r2 = resid[i] * resid[i];
        if (c[i] + tau > 0) sum += r2 / (c[i] + tau);
        else if (r2 > 1e-24 * mu2) sum = INFINITY; /* mu leaves the support: always separated at tau = 0 */
        /* else: a rounding remainder along an axis of zero variance, not a component of mu */
    }
    free(resid);
    return sum;
}

sf_status sf_speciation_tau_closed_form(const sf_mixture *m, double *tau_c)
{
    sf_error_clear();
    if (!m || !tau_c) return sf_fail(SF_ERR_INVALID, "sf_speciation_tau_closed_form: mix and tau_c must not be NULL");
    int d = m->dim;
    if (m->count != 2 || fabs(m->weight[0] - m->weight[1]) > 1e-12 * (m->weight[0] + m->weight[1]))
        return sf_fail(SF_ERR_INVALID, "the closed form needs two components of equal weight (a symmetric pair)");
    int r0 = m->rank_offset[1], r1 = m->rank_offset[2] - r0;
    int same = r0 == r1 && memcmp(m->var_diag, m->var_diag + d, (size_t)d * sizeof(double)) == 0 &&
               (r0 == 0 || (memcmp(m->basis, m->basis + (size_t)r0 * d, (size_t)r0 * d * sizeof(double)) == 0 &&
                            memcmp(m->eig, m->eig + r0, (size_t)r0 * sizeof(double)) == 0));
    if (!same) return sf_fail(SF_ERR_INVALID, "the closed form needs the two components to share one covariance");
    double *mu = malloc((size_t)d * sizeof(double));
    if (!mu) return sf_fail(SF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < d; i++) mu[i] = 0.5 * (m->mean[i] - m->mean[d + i]);
    /* f(tau) = mu^T (C + tau)^{-1} mu - 1 decreases in tau; f(0) <= 0: no speciation */
    double lo = 0, f0 = quad_inverse(m, 0, mu, 0);
    sf_status st = SF_OK;
    if (isnan(f0)) {
        st = sf_fail(SF_ERR_NOMEM, "out of memory");
    } else if (!(f0 > 1)) {
        *tau_c = 0;
    } else {
        double hi = 1;
        while (quad_inverse(m, 0, mu, hi) > 1 && hi < 1e300) hi *= 2;
        for (int it = 0; it < 200 && hi - lo > 1e-15 * hi; it++) {
            double mid = 0.5 * (lo + hi);
            if (quad_inverse(m, 0, mu, mid) > 1) lo = mid;
            else hi = mid;
        }
        *tau_c = 0.5 * (lo + hi);
    }
    free(mu);
    return st;
}

/* The heat frame at tau (sf_time_heat; tau is validated by the callers' ranges). */
static sf_time heat_time(double tau)
{
    sf_time t;
    sf_time_heat(tau, &t);
    return t;
}

/* log q_A - log q_B and the scores of both sub-mixtures at y */
static sf_status log_ratio(sf_context *ctx, const sf_mixture *a, const sf_mixture *b, const sf_time *t, const double *y,
                           double *phi, double *sa, double *sb)
{
    double la, lb;
    sf_outputs oa = {.logp = &la, .score = sa}, ob = {.logp = &lb, .score = sb};
    sf_status st = sf_evaluate(ctx, a, t, y, 1, &oa);
    if (st == SF_OK) st = sf_evaluate(ctx, b, t, y, 1, &ob);
    /* the sub-mixtures are normalised: add their masses back */
    if (st == SF_OK) *phi = la - lb + log(sf_mixture_weight_sum(a)) - log(sf_mixture_weight_sum(b));
    return st;
}

/* Largest eigenvalue of a symmetric d x d matrix (cyclic Jacobi rotations; a is destroyed). */
static double top_eigenvalue(double *a, int d)
{
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, diag = 0;
        for (int p = 0; p < d; p++) {
            diag += a[p * d + p] * a[p * d + p];
            for (int q = p + 1; q < d; q++) off += a[p * d + q] * a[p * d + q];
        }
        if (off <= 1e-30 * diag) break;
        for (int p = 0; p < d; p++)
            for (int q = p + 1; q < d; q++) {
                double apq = a[p * d + q];
                if (apq == 0) continue;
                double theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1)), c = 1 / sqrt(t * t + 1), sn = t * c;
                for (int k = 0; k < d; k++) { /* columns p, q */
                    double akp = a[k * d + p], akq = a[k * d + q];
                    a[k * d + p] = c * akp - sn * akq, a[k * d + q] = sn * akp + c * akq;
                }
                for (int k = 0; k < d; k++) { /* rows p, q */
                    double apk = a[p * d + k], aqk = a[q * d + k];
                    a[p * d + k] = c * apk - sn * aqk, a[q * d + k] = sn * apk + c * aqk;
                }
            }
    }
    double top = -INFINITY;
    for (int p = 0; p < d; p++) top = fmax(top, a[p * d + p]);
    return top;
}

sf_status sf_speciation_normal_curvature(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na,
                                         const int *set_b, int nb, double tau, double *kappa_n, double *top, double *y_star)
{
    sf_error_clear();
    if (!ctx || !mix || !set_a || !set_b)
        return sf_fail(SF_ERR_INVALID, "sf_speciation_normal_curvature: ctx, mix and both sets must not be NULL");
    int d = mix->dim;
    sf_mixture *a = NULL, *b = NULL;
    sf_status st = sf_mixture_subset(mix, set_a, na, &a);
    if (st == SF_OK) st = sf_mixture_subset(mix, set_b, nb, &b);
    double *ma = calloc((size_t)d, sizeof(double)), *mb = calloc((size_t)d, sizeof(double));
    double *y = malloc((size_t)d * sizeof(double)), *sa = malloc((size_t)d * sizeof(double));
    double *sb = malloc((size_t)d * sizeof(double)), *hn = malloc((size_t)d * sizeof(double));
    if (st == SF_OK && (!ma || !mb || !y || !sa || !sb || !hn)) st = sf_fail(SF_ERR_NOMEM, "out of memory");
    if (st == SF_OK) { /* the two sub-mixture means (weighted) */
        const sf_mixture *parts[2] = {a, b};
        double *means[2] = {ma, mb};
        for (int p = 0; p < 2; p++)
            for (int k = 0; k < parts[p]->count; k++)
                for (int i = 0; i < d; i++) means[p][i] += sf_mixture_weight(parts[p], k) * parts[p]->mean[(size_t)k * d + i];
    }
    sf_time t = heat_time(tau);
    /* bisection for phi = 0 on the line ma + c (mb - ma): phi > 0 towards A, < 0 towards B. With
     * unequal weights the interface can leave the segment [0, 1]: widen the bracket until it holds */
    double lo = 0, hi = 1, phi = 0, phi_lo = 0, phi_hi = 0;
    for (int widen = 0; st == SF_OK && widen < 12; widen++) {
        for (int i = 0; i < d; i++) y[i] = ma[i] + lo * (mb[i] - ma[i]);
        if ((st = log_ratio(ctx, a, b, &t, y, &phi_lo, sa, sb)) != SF_OK) break;
        for (int i = 0; i < d; i++) y[i] = ma[i] + hi * (mb[i] - ma[i]);
        if ((st = log_ratio(ctx, a, b, &t, y, &phi_hi, sa, sb)) != SF_OK) break;
        if (phi_lo > 0 && phi_hi < 0) break;
        lo = lo * 2 - 1, hi = hi * 2; /* [0,1] -> [-1,2] -> [-3,4] ... */
    }
    if (st == SF_OK && !(phi_lo > 0 && phi_hi < 0))
        st = sf_fail(SF_ERR_INVALID,
                     "no interface log q_A = log q_B on the line through the two groups' means at tau = %g "
                     "(log q_A/q_B = %g, %g at the ends searched)",
                     tau, phi_lo, phi_hi);
    for (int it = 0; st == SF_OK && it < 200 && hi - lo > 1e-15 * (1 + fabs(lo)); it++) {
        double mid = 0.5 * (lo + hi);
        for (int i = 0; i < d; i++) y[i] = ma[i] + mid * (mb[i] - ma[i]);
        if ((st = log_ratio(ctx, a, b, &t, y, &phi, sa, sb)) != SF_OK) break;
        if (phi > 0) lo = mid;
        else hi = mid;
    }
    if (st == SF_OK) {
        for (int i = 0; i < d; i++) y[i] = ma[i] + 0.5 * (lo + hi) * (mb[i] - ma[i]);
        st = log_ratio(ctx, a, b, &t, y, &phi, sa, sb);
    }
    if (st == SF_OK) { /* n = grad phi = s_A - s_B; kappa = n^T H n / |n|^2 with H of the whole mixture */
        double norm2 = 0;
        for (int i = 0; i < d; i++) sa[i] -= sb[i], norm2 += sa[i] * sa[i];
        sf_outputs o = {.hvp = hn, .hvp_dir = sa};
        st = sf_evaluate(ctx, mix, &t, y, 1, &o);
        double q = 0;
        for (int i = 0; i < d; i++) q += sa[i] * hn[i];
        if (st == SF_OK && kappa_n) *kappa_n = norm2 > 0 ? q / norm2 : NAN;
        if (st == SF_OK && y_star) memcpy(y_star, y, (size_t)d * sizeof(double));
        if (st == SF_OK && top) { /* the largest Hessian eigenvalue at y* */
            st = sf_check_doubles("the Hessian at the interface", (size_t)d, (size_t)d);
            double *H = st == SF_OK ? malloc((size_t)d * d * sizeof(double)) : NULL;
            sf_outputs oh = {.hessian = H};
            if (st == SF_OK) st = H ? sf_evaluate(ctx, mix, &t, y, 1, &oh) : sf_fail(SF_ERR_NOMEM, "out of memory");
            if (st == SF_OK) *top = top_eigenvalue(H, d);
            free(H);
        }
    }
    free(ma), free(mb), free(y), free(sa), free(sb), free(hn);
    sf_mixture_destroy(a), sf_mixture_destroy(b);
    return st;
}

sf_status sf_speciation_tau_numeric(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na, const int *set_b,
                                    int nb, double tau_lo, double tau_hi, double rtol, double *tau_c)
{
    if (!ctx || !mix || !set_a || !set_b || !tau_c)
        return sf_fail(SF_ERR_INVALID, "sf_speciation_tau_numeric: ctx, mix, both sets and tau_c must not be NULL");
    if (!(tau_lo > 0) || !(tau_hi > tau_lo) || !(rtol > 0) || !isfinite(tau_hi))
        return sf_fail(SF_ERR_INVALID, "need 0 < tau_lo < tau_hi and rtol > 0 (got %g, %g, %g)", tau_lo, tau_hi, rtol);
    double klo = NAN, khi = NAN, kappa;
    sf_status st = sf_speciation_normal_curvature(ctx, mix, set_a, na, set_b, nb, tau_lo, &kappa, &klo, NULL);
    if (st == SF_OK) st = sf_speciation_normal_curvature(ctx, mix, set_a, na, set_b, nb, tau_hi, &kappa, &khi, NULL);
    if (st != SF_OK) return st;
    if (!(klo > 0 && khi < 0))
        return sf_fail(SF_ERR_INVALID, "no speciation bracketed in tau = [%g, %g] (top curvature %g, %g: need > 0 then < 0)",
                       tau_lo, tau_hi, klo, khi);
    double lo = log(tau_lo), hi = log(tau_hi);
    while (st == SF_OK && hi - lo > rtol) {
        double mid = 0.5 * (lo + hi), k = NAN;
        st = sf_speciation_normal_curvature(ctx, mix, set_a, na, set_b, nb, exp(mid), &kappa, &k, NULL);
        if (st != SF_OK) break;
        if (k > 0) lo = mid;
        else hi = mid;
    }
    *tau_c = exp(0.5 * (lo + hi));
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
    if (!m || !lambda) return sf_fail(SF_ERR_INVALID, "sf_data_covariance_top_eigenvalue: mix and lambda must not be NULL");
    if (m->count < 1) return sf_fail(SF_ERR_INVALID, "sf_data_covariance_top_eigenvalue: the mixture has no components");
    int d = m->dim;
    /* small d: the dense covariance and Jacobi (exact to rounding, degenerate tops included);
     * large d: power iteration on the implicit operator */
    int dense = d <= 256;
    double *mean = calloc((size_t)d, sizeof(double)), *v = malloc((size_t)d * sizeof(double));
    double *w = malloc((size_t)d * sizeof(double)), *cov = dense ? malloc((size_t)d * d * sizeof(double)) : NULL;
    if (!mean || !v || !w || (dense && !cov)) {
        free(mean), free(v), free(w), free(cov);
        return sf_fail(SF_ERR_NOMEM, "out of memory");
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
        lam = top_eigenvalue(cov, d);
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

/* Residual of the linear least-squares fit of (1, r, tanh(r/w)) to u; coefficients in c[3]. */
static double tanh_fit(const double *r, const double *u, size_t n, double w, double c[3])
{
    double A[3][3] = {{0}}, b[3] = {0};
    for (size_t i = 0; i < n; i++) {
        double f[3] = {1, r[i], tanh(r[i] / w)};
        for (int a = 0; a < 3; a++) {
            b[a] += f[a] * u[i];
            for (int e = 0; e < 3; e++) A[a][e] += f[a] * f[e];
        }
    }
    /* 3 x 3 solve by Gaussian elimination with partial pivoting */
    for (int col = 0; col < 3; col++) {
        int piv = col;
        for (int row = col + 1; row < 3; row++)
            if (fabs(A[row][col]) > fabs(A[piv][col])) piv = row;
        for (int e = 0; e < 3; e++) {
            double t = A[col][e];
            A[col][e] = A[piv][e], A[piv][e] = t;
        }
        double t = b[col];
        b[col] = b[piv], b[piv] = t;
        for (int row = col + 1; row < 3; row++) {
            double f = A[row][col] / A[col][col];
            for (int e = col; e < 3; e++) A[row][e] -= f * A[col][e];
            b[row] -= f * b[col];
        }
    }
    for (int row = 2; row >= 0; row--) {
        double acc = b[row];
        for (int e = row + 1; e < 3; e++) acc -= A[row][e] * c[e];
        c[row] = acc / A[row][row];
    }
    double ss = 0;
    for (size_t i = 0; i < n; i++) {
        double e = u[i] - (c[0] + c[1] * r[i] + c[2] * tanh(r[i] / w));
        ss += e * e;
    }
    return sqrt(ss / n);
}

sf_status sf_fit_tanh_layer(const double *r, const double *u, size_t n, double wmin, double wmax, double *width,
                            double *amplitude, double *rms)
{
    if (!r || !u) return sf_fail(SF_ERR_INVALID, "sf_fit_tanh_layer: r and u must not be NULL");
    if (n < 4 || !(wmin > 0) || !(wmax > wmin)) return sf_fail(SF_ERR_INVALID, "tanh fit needs n >= 4 and 0 < wmin < wmax");
    /* golden section on log w */
    const double g = 0.6180339887498949;
    double lo = log(wmin), hi = log(wmax), c[3];
    double x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo);
    double f1 = tanh_fit(r, u, n, exp(x1), c), f2 = tanh_fit(r, u, n, exp(x2), c);
    for (int it = 0; it < 200 && hi - lo > 1e-13; it++) {
        if (f1 < f2) hi = x2, x2 = x1, f2 = f1, x1 = hi - g * (hi - lo), f1 = tanh_fit(r, u, n, exp(x1), c);
        else lo = x1, x1 = x2, f1 = f2, x2 = lo + g * (hi - lo), f2 = tanh_fit(r, u, n, exp(x2), c);
    }
    double w = exp(0.5 * (lo + hi)), res = tanh_fit(r, u, n, w, c);
    if (width) *width = w;
    if (amplitude) *amplitude = c[2];
    if (rms) *rms = res;
    return SF_OK;
}

/* dy/dtau = -u(y, tau)/2 for both trajectories at once */
static sf_status pf_rate(sf_context *ctx, const sf_mixture *mix, double tau, const double *y, size_t n, double *dy)
{
    sf_time t = heat_time(tau);
    sf_outputs o = {.score = dy};
    sf_status st = sf_evaluate(ctx, mix, &t, y, n, &o);
    for (size_t i = 0; i < n * (size_t)mix->dim; i++) dy[i] *= -0.5;
    return st;
}

sf_status sf_amplification_pf(sf_context *ctx, const sf_mixture *mix, const double *y, const double *dir, double tau1,
                              double tau0, int steps, double eps, double *gain)
{
    sf_error_clear();
    if (!ctx || !mix || !y || !dir || !gain)
        return sf_fail(SF_ERR_INVALID, "sf_amplification_pf: ctx, mix, y, dir and gain must not be NULL");
    int d = mix->dim;
    if (steps < 1 || !(tau1 > tau0) || !(tau0 > 0) || !(eps > 0))
        return sf_fail(SF_ERR_INVALID, "amplification needs tau1 > tau0 > 0, steps >= 1, eps > 0");
    size_t m = 2 * (size_t)d;
    double *z = malloc(m * sizeof(double)), *k[4], *tmp = malloc(m * sizeof(double)), norm = 0;
    int ok = z && tmp;
    for (int q = 0; q < 4; q++) ok = (k[q] = malloc(m * sizeof(double))) && ok;
    sf_status st = ok ? SF_OK : sf_fail(SF_ERR_NOMEM, "out of memory");
    for (int i = 0; st == SF_OK && i < d; i++) {
        z[i] = y[i] + eps * dir[i], z[d + i] = y[i] - eps * dir[i];
        norm += dir[i] * dir[i];
    }
    double h = (tau0 - tau1) / steps; /* negative: down in tau */
    for (int step = 0; st == SF_OK && step < steps; step++) {
        double tau = tau1 + step * h;
        static const double at[4] = {0, 0.5, 0.5, 1};
        for (int q = 0; st == SF_OK && q < 4; q++) {
            for (size_t i = 0; i < m; i++) tmp[i] = q ? z[i] + at[q] * h * k[q - 1][i] : z[i];
            st = pf_rate(ctx, mix, tau + at[q] * h, tmp, 2, k[q]);
        }
        for (size_t i = 0; st == SF_OK && i < m; i++) z[i] += h / 6 * (k[0][i] + 2 * k[1][i] + 2 * k[2][i] + k[3][i]);
    }
    if (st == SF_OK) {
        double sep = 0;
        for (int i = 0; i < d; i++) sep += (z[i] - z[d + i]) * (z[i] - z[d + i]);
        *gain = sqrt(sep) / (2 * eps * sqrt(norm));
    }
    free(z), free(tmp);
    for (int q = 0; q < 4; q++) free(k[q]);
    return st;
}

/* |ln(w/(1-w))| minus the saddle-node bound at v: negative while bimodal */
static double asymmetry_margin(double w, double a, double v)
{
    double delta = a / sqrt(v);
    if (!(delta > 1)) return INFINITY;
    double bound = 2 * delta * sqrt(delta * delta - 1) - 2 * acosh(delta);
    return fabs(log(w / (1 - w))) - bound;
}

sf_status sf_speciation_tau_asymmetric(double w, double a, double s2, double *tau_c)
{
    if (!tau_c) return sf_fail(SF_ERR_INVALID, "sf_speciation_tau_asymmetric: tau_c is NULL");
    if (!(w > 0 && w < 1) || !(a > 0) || !(s2 >= 0))
        return sf_fail(SF_ERR_INVALID, "need 0 < w < 1, a > 0, s^2 >= 0 (got %g, %g, %g)", w, a, s2);
    /* the margin increases with v: bimodal for v < v_c; tau_c = v_c - s^2 */
    double lo = 0, hi = a * a; /* delta = 1 at v = a^2: never bimodal beyond */
    if (!(asymmetry_margin(w, a, fmax(s2, 1e-300)) < 0)) {
        *tau_c = 0;
        return SF_OK;
    }
    lo = s2;
    for (int it = 0; it < 200 && hi - lo > 1e-15 * hi; it++) {
        double mid = 0.5 * (lo + hi);
        if (asymmetry_margin(w, a, mid) < 0) lo = mid;
        else hi = mid;
    }
    *tau_c = 0.5 * (lo + hi) - s2;
    return SF_OK;
}

sf_status sf_count_modes_on_line(sf_context *ctx, const sf_mixture *mix, double tau, const double *origin,
                                 const double *dir, double half_length, size_t points, int *modes)
{
    if (!ctx || !mix || !origin || !dir || !modes)
        return sf_fail(SF_ERR_INVALID, "sf_count_modes_on_line: ctx, mix, origin, dir and modes must not be NULL");
    int d = mix->dim;
    if (points < 3) return sf_fail(SF_ERR_INVALID, "mode counting needs at least 3 points");
    sf_status sized = sf_check_doubles(__func__, points, (size_t)d);
    if (sized != SF_OK) return sized;
    double *y = malloc(points * (size_t)d * sizeof(double)), *lp = malloc(points * sizeof(double));
    if (!y || !lp) {
        free(y), free(lp);
        return sf_fail(SF_ERR_NOMEM, "out of memory for %zu points", points);
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
