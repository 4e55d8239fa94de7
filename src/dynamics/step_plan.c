/* The step grid and every sampler's step plan (docs/samplers.md). The samplers of k-diffusion and
 * diffusers are written in the noise level sigma_e = sigma / alpha = sqrt(tau) (the VE/EDM level) and
 * the frame y = x / alpha, where eps and the denoiser D = y - sigma_e eps = x0^ are the schedule's own;
 * a step in y maps back by x_t = alpha_t y_t, so each is defined on every schedule with a time axis,
 * with intermediate and churned times from the heat-time inverse. Log-SNR: lambda = -log sigma_e. */
#include "step_plan.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

sf_status sfi_sampler_time(const sf_schedule *s, double t, sf_time *out)
{
    sf_status st = sf_schedule_at(s, t, out);
    if (st == SF_OK && !(out->sigma > 0))
        st = sfi_fail(SF_ERR_INVALID, "sigma(t = %g) = 0: samplers evaluate the score only where sigma > 0 (t0 > 0; "
                                     "the step to sigma = 0 is the last one, see to_zero, the CLI's --to-zero)", t);
    return st;
}

/* lambda = log(alpha / sigma) = -log(tau) / 2, and its inverse through the heat time */
static double lambda_of(const sf_time *t) { return -0.5 * log(t->tau); }

static sf_status t_of_lambda(const sf_schedule *s, double lambda, double *t)
{
    return sf_schedule_t_of_tau(s, exp(-2.0 * lambda), t);
}

/* The noise level sigma_e = sigma / alpha of a time. */
static double level_of(const sf_time *t) { return t->sigma / t->alpha; }

/* The time whose level is sigma_e, and its schedule values. */
static sf_status time_of_level(const sf_schedule *s, double level, double *t, sf_time *out)
{
    sf_status st = sf_schedule_t_of_tau(s, level * level, t);
    return st == SF_OK ? sfi_sampler_time(s, *t, out) : st;
}

/* ---------------------------------------------------------------- the grid */

sf_status sfi_step_times(const sf_sampler *smp, const sf_schedule *sched, double *times)
{
    int K = smp->steps, n = smp->to_zero ? K - 1 : K; /* intervals from t1 to t0 */
    if (smp->spacing == SF_SPACING_GIVEN) {
        if (!smp->times) return sfi_fail(SF_ERR_INVALID, "given spacing needs the times");
        for (int i = 0; i <= K; i++) {
            times[i] = smp->times[i];
            if (i > 0 && !(times[i] < times[i - 1]))
                return sfi_fail(SF_ERR_INVALID, "given times must decrease strictly (times[%d] = %g)", i, times[i]);
        }
        return SF_OK;
    }
    sf_status st = SF_OK;
    if (smp->spacing == SF_SPACING_T) {
        for (int i = 0; i <= n; i++) times[i] = smp->t1 + (smp->t0 - smp->t1) * (n ? (double)i / n : 0);
    } else {
        sf_time a, b;
        st = sfi_sampler_time(sched, smp->t1, &a);
        if (st == SF_OK) st = sfi_sampler_time(sched, smp->t0, &b);
        if (st != SF_OK) return st;
        for (int i = 0; st == SF_OK && i <= n; i++) {
            double f = n ? (double)i / n : 0, tau;
            if (smp->spacing == SF_SPACING_LAMBDA) { /* uniform in lambda = -log(tau) / 2 */
                tau = exp(log(a.tau) + (log(b.tau) - log(a.tau)) * f);
            } else { /* Karras: sigma_e^(1/rho) uniform */
                double lo = pow(level_of(&b), 1.0 / smp->rho), hi = pow(level_of(&a), 1.0 / smp->rho);
                double level = pow(hi + f * (lo - hi), smp->rho);
                tau = level * level;
            }
            st = sf_schedule_t_of_tau(sched, tau, &times[i]);
        }
        if (st == SF_OK) times[0] = smp->t1; /* exact ends (n = 0: t1 alone, then 0) */
        if (st == SF_OK && n > 0) times[n] = smp->t0;
    }
    if (st == SF_OK && smp->to_zero) times[K] = 0.0;
    return st;
}

/* ---------------------------------------------------------------- plans in the level frame */

/* A one-stage step written in the level frame:
 *   y_t = gy y + gD[0] D_k + sum_{m >= 1} gD[m] D_{k-m} + gz z,   D_k = y - sigma_e,s eps_0 */
typedef struct {
    double gy, gD[1 + SF_MAX_HISTORY], gz;
} level_step;

/* The plan of a level-frame step from ts to tt (x = alpha y; D of this step kept in the history). */
static void plan_from_level_step(const level_step *f, const sf_time *ts, const sf_time *tt, sf_step_plan *p)
{
    double ls = level_of(ts);
    p->A = tt->alpha * (f->gy + f->gD[0]) / ts->alpha;
    p->B[0] = -tt->alpha * f->gD[0] * ls;
    for (int m = 0; m < SF_MAX_HISTORY; m++) p->H[m] = tt->alpha * f->gD[m + 1];
    p->C = tt->alpha * f->gz;
    p->push = 1, p->P_x = 1.0 / ts->alpha, p->P_eps = -ls;
}

/* The last step to sigma = 0: the denoiser at the last positive-sigma time (diffusers'
 * final_sigmas_type "zero"), x_t = alpha_t x0^(x_s). */
static void denoiser_plan(const sf_time *ts, const sf_time *tt, sf_step_plan *p)
{
    level_step f = {.gD = {1.0}};
    plan_from_level_step(&f, ts, tt, p);
    p->push = 0;
}

/* Above this ratio of a log-SNR step to the one before it, third-order multistep steps drop to
 * second order (see multistep_order). */
#define MULTISTEP_THIRD_ORDER_MAX_RATIO 2.0

/* The order of a multistep method of order `order` at step k of K (lam: lambda at each time):
 * lower at the start (no history yet), at the end when the run is short (diffusers'
 * lower_order_final: fewer than 15 steps), and second order where a step is more than twice as
 * long in log-SNR as the one before it: the quadratic extrapolation through the last three
 * denoised values then amplifies their errors (uniform-t grids end with such a step: on flow with
 * 20 steps the last is 5 times the previous, and third order there collapsed the samples' variance
 * across the modes tenfold). For long runs the ratio tends to 1 and the order is kept. */
static int multistep_order(int order, int k, int K, const double *lam)
{
    int q = order < k + 1 ? order : k + 1;
    if (K < 15 && k == K - 1) q = 1;
    if (K < 15 && k == K - 2 && q > 2) q = 2;
    if (q > 2 && lam[k + 1] - lam[k] > MULTISTEP_THIRD_ORDER_MAX_RATIO * (lam[k] - lam[k - 1])) q = 2;
    return q;
}

/* DPM-Solver++(2M), (3M) and (2M) SDE (Lu et al. 2022; diffusers' midpoint form). lam[m] is lambda
 * at times[k - m]; h = lambda_t - lambda_s, r0 = (lambda_s - lambda_{k-1}) / h, r1 likewise. */
static void dpmpp_step(sf_sampler_kind kind, int q, double h, const double *lam, double ratio, double level_t,
                       level_step *f)
{
    double r0 = q > 1 ? (lam[0] - lam[1]) / h : 1, r1 = q > 2 ? (lam[1] - lam[2]) / h : 1;
    memset(f, 0, sizeof *f);
    if (kind == SF_SAMPLER_DPMPP_2M_SDE) { /* y_t = e^-h (s_t/s_s) y + (1 - e^-2h)(D + (D - D_-1)/(2 r0)) + s_t sqrt(1 - e^-2h) z */
        double c = -expm1(-2.0 * h);
        f->gy = ratio * exp(-h), f->gD[0] = c, f->gz = level_t * sqrt(c);
        if (q > 1) f->gD[0] += 0.5 * c / r0, f->gD[1] = -0.5 * c / r0;
        return;
    }
    double e1 = expm1(-h); /* y_t = (s_t/s_s) y - (e^-h - 1) D0 + ... */
    f->gy = ratio, f->gD[0] = -e1;
    if (q == 2) {
        f->gD[0] += -0.5 * e1 / r0, f->gD[1] = 0.5 * e1 / r0;
    } else if (q == 3) { /* + ((e^-h - 1)/h + 1) D1 - ((e^-h - 1 + h)/h^2 - 1/2) D2 */
        double c2 = e1 / h + 1.0, c3 = (e1 + h) / (h * h) - 0.5;
        double diff[3] = {1 / r0, -1 / r0 - 1 / r1, 1 / r1}; /* D1_0 - D1_1 on (D_k, D_k-1, D_k-2) */
        double d10[3] = {1 / r0, -1 / r0, 0};
        for (int m = 0; m < 3; m++) {
            double D1 = d10[m] + r0 / (r0 + r1) * diff[m], D2 = diff[m] / (r0 + r1);
            f->gD[m] += c2 * D1 - 2 * c3 * D2;
        }
    }
}

/* Solves the n x n system R rho = b (n <= 3) by elimination with partial pivoting. */
static void solve_small(int n, double R[3][3], double *b, double *rho)
{
    for (int c = 0; c < n; c++) {
        int piv = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(R[r][c]) > fabs(R[piv][c])) piv = r;
        for (int j = 0; j < n; j++) {
            double t = R[c][j];
            R[c][j] = R[piv][j], R[piv][j] = t;
        }
        double t = b[c];
        b[c] = b[piv], b[piv] = t;
        for (int r = c + 1; r < n; r++) {
            double m = R[r][c] / R[c][c];
            for (int j = c; j < n; j++) R[r][j] -= m * R[c][j];
            b[r] -= m * b[c];
        }
    }
    for (int r = n - 1; r >= 0; r--) {
        double s = b[r];
        for (int j = r + 1; j < n; j++) s -= R[r][j] * rho[j];
        rho[r] = s / R[r][r];
    }
}

/* UniPC-bh2 (Zhao et al. 2023) over one segment of log-SNR step h and order q, with
 * r[j] = (lambda_{k-1-j} - lambda_s) / h for the q - 1 earlier points: the predictor's rho_p (q - 1
 * values) and the corrector's rho_c (q values, the last on D_t - D_s); B(h) = e^-h - 1. */
static void unipc_rhos(int q, double h, const double *r, double *rho_p, double *rho_c)
{
    double hh = -h, B = expm1(hh), phi = B / hh - 1.0, fact = 1.0, R[3][3] = {{0}}, b[3] = {0};
    double rk[3];
    for (int j = 0; j < q - 1; j++) rk[j] = r[j];
    rk[q - 1] = 1.0;
    for (int i = 1; i <= q; i++) { /* R_ij = r_j^(i-1), b_i = (i)! phi_{i+1}(h) h / B(h) */
        for (int j = 0; j < q; j++) R[i - 1][j] = pow(rk[j], i - 1);
        b[i - 1] = phi * fact / B;
        fact *= i + 1;
        phi = phi / hh - 1.0 / fact;
    }
    if (q == 2) rho_p[0] = 0.5;
    if (q == 3) {
        double Rp[3][3] = {{R[0][0], R[0][1]}, {R[1][0], R[1][1]}}, bp[3] = {b[0], b[1]};
        solve_small(2, Rp, bp, rho_p);
    }
    if (q == 1) rho_c[0] = 0.5;
    else solve_small(q, R, b, rho_c);
}

/* The UniPC segment from times[j] to times[j + 1] (order q): h, B(h), the r's and the rhos. */
typedef struct {
    int q;
    double h, B, r[2], rho_p[2], rho_c[3];
} unipc_segment;

static unipc_segment unipc_segment_at(const double *lam_of_step, int j, int q)
{
    unipc_segment g;
    memset(&g, 0, sizeof g);
    g.q = q, g.h = lam_of_step[j + 1] - lam_of_step[j], g.B = expm1(-g.h);
    for (int i = 1; i < q; i++) g.r[i - 1] = (lam_of_step[j - i] - lam_of_step[j]) / g.h;
    unipc_rhos(q, g.h, g.r, g.rho_p, g.rho_c);
    return g;
}

/* ---------------------------------------------------------------- each sampler's plan */

typedef struct {
    const sf_sampler *smp;
    const sf_schedule *sched;
    const double *times;
    const double *lam;   /* lambda at each time with sigma > 0 */
    int k, K;
} step_ctx;

static sf_status classic_plan(const step_ctx *c, const sf_time *ts, const sf_time *tt, sf_step_plan *p)
{
    const sf_sampler *smp = c->smp;
    const sf_schedule *sched = c->sched;
    double s = c->times[c->k], t = c->times[c->k + 1], D = s - t, h = lambda_of(tt) - lambda_of(ts);
    sf_status st;
    switch (smp->kind) {
    case SF_SAMPLER_EM:
    case SF_SAMPLER_ODE_EULER: { /* x_t = x - D [f x - (1 + h^2) g^2 s / 2] + h g sqrt(D) z */
        double hh = smp->kind == SF_SAMPLER_EM ? smp->h : 0.0;
        p->A = 1.0 - D * ts->f;
        p->B[0] = -D * 0.5 * (1.0 + hh * hh) * ts->g2 / ts->sigma;
        p->C = hh * sqrt(ts->g2 * D);
        break;
    }
    case SF_SAMPLER_HEUN: { /* k1 = b(x, s), x~ = x - D k1, x_t = x - D (k1 + b(x~, t)) / 2, b = f x + g^2 eps / (2 sigma) */
        double cs = 0.5 * ts->g2 / ts->sigma, ct = 0.5 * tt->g2 / tt->sigma;
        p->stages = 2, p->time[1] = t;
        p->a[1] = 1.0 - D * ts->f;
        p->b[1][0] = -D * cs;
        p->A = 1.0 - 0.5 * D * (ts->f + tt->f * p->a[1]);
        p->B[0] = -0.5 * D * (cs + tt->f * p->b[1][0]);
        p->B[1] = -0.5 * D * ct;
        break;
    }
    case SF_SAMPLER_DDPM:
    case SF_SAMPLER_DDIM: { /* x_t = alpha_t x0^ + sqrt(sigma_t^2 - eta^2 s~^2) eps + eta s~ z */
        double eta = smp->kind == SF_SAMPLER_DDPM ? 1.0 : smp->eta;
        /* s~^2 = sigma_{s|t}^2 sigma_t^2 / sigma_s^2 with sigma_{s|t}^2 = alpha_s^2 (tau_s - tau_t): no cancellation */
        double post = (ts->tau - tt->tau) * tt->sigma2 / ts->tau;
        p->A = tt->alpha / ts->alpha;
        p->B[0] = -tt->alpha * ts->sigma / ts->alpha + sqrt(fmax(0.0, tt->sigma2 - eta * eta * post));
        p->C = eta * sqrt(post);
        break;
    }
    case SF_SAMPLER_DPM1: /* x_t = (alpha_t / alpha_s) x - sigma_t (e^h - 1) eps */
        p->A = tt->alpha / ts->alpha;
        p->B[0] = -tt->sigma * expm1(h);
        break;
    case SF_SAMPLER_DPM2: {
        double s1;
        sf_time t1;
        if ((st = t_of_lambda(sched, lambda_of(ts) + 0.5 * h, &s1)) != SF_OK || (st = sfi_sampler_time(sched, s1, &t1)) != SF_OK)
            return st;
        p->stages = 2, p->time[1] = s1;
        p->a[1] = t1.alpha / ts->alpha;
        p->b[1][0] = -t1.sigma * expm1(0.5 * h);
        p->A = tt->alpha / ts->alpha;
        p->B[1] = -tt->sigma * expm1(h);
        break;
    }
    case SF_SAMPLER_DPM3: {
        const double r1 = 1.0 / 3.0, r2 = 2.0 / 3.0;
        double s1, s2;
        sf_time t1, t2;
        if ((st = t_of_lambda(sched, lambda_of(ts) + r1 * h, &s1)) != SF_OK || (st = sfi_sampler_time(sched, s1, &t1)) != SF_OK ||
            (st = t_of_lambda(sched, lambda_of(ts) + r2 * h, &s2)) != SF_OK || (st = sfi_sampler_time(sched, s2, &t2)) != SF_OK)
            return st;
        double phi2 = expm1(r2 * h) / (r2 * h) - 1.0, phi = expm1(h) / h - 1.0;
        p->stages = 3, p->time[1] = s1, p->time[2] = s2;
        p->a[1] = t1.alpha / ts->alpha;
        p->b[1][0] = -t1.sigma * expm1(r1 * h);
        /* u2 = (a_s2/a_s) x - sig_s2 (e^{r2 h} - 1) eps0 - sig_s2 (r2/r1) phi2 (eps1 - eps0) */
        p->a[2] = t2.alpha / ts->alpha;
        p->b[2][0] = -t2.sigma * expm1(r2 * h) + t2.sigma * (r2 / r1) * phi2;
        p->b[2][1] = -t2.sigma * (r2 / r1) * phi2;
        /* x_t = (a_t/a_s) x - sig_t (e^h - 1) eps0 - (sig_t / r2) phi (eps2 - eps0) */
        p->A = tt->alpha / ts->alpha;
        p->B[0] = -tt->sigma * expm1(h) + (tt->sigma / r2) * phi;
        p->B[2] = -(tt->sigma / r2) * phi;
        break;
    }
    default:
        return sfi_fail(SF_ERR_INVALID, "unknown sampler kind %d", (int)smp->kind);
    }
    return SF_OK;
}

/* Ancestral steps (eta = 1): to the level d = sigma_t^2 / sigma_s (sigma_down) and noise
 * u = sqrt(sigma_t^2 - d^2) (sigma_up), in the level frame. Euler: y_t = y + (d - s) eps + u z;
 * DPM-Solver++(2S): a midpoint stage at sqrt(s d) on the way to d. */
static sf_status ancestral_plan(const step_ctx *c, const sf_time *ts, const sf_time *tt, sf_step_plan *p)
{
    double ls = level_of(ts), lt = level_of(tt), down = lt * (lt / ls);
    double up = lt * sqrt(-expm1(2.0 * log(lt / ls))); /* sigma_t sqrt(1 - sigma_t^2 / sigma_s^2) */
    p->A = tt->alpha / ts->alpha;
    p->C = tt->alpha * up;
    if (c->smp->kind == SF_SAMPLER_EULER_ANCESTRAL) {
        p->B[0] = tt->alpha * (down - ls);
        return SF_OK;
    }
    double h = log(ls / down), mid = ls * exp(-0.5 * h), s1; /* lambda_down - lambda_s */
    sf_time t1;
    sf_status st = time_of_level(c->sched, mid, &s1, &t1);
    if (st != SF_OK) return st;
    /* y_2 = y + s (e^{-h/2} - 1) eps_0; y_d = y - (e^-h - 1)(s (e^{-h/2} - 1) eps_0 - mid eps_1) */
    p->stages = 2, p->time[1] = s1;
    p->a[1] = t1.alpha / ts->alpha;
    p->b[1][0] = t1.alpha * ls * expm1(-0.5 * h);
    p->B[0] = -tt->alpha * expm1(-h) * ls * expm1(-0.5 * h);
    p->B[1] = tt->alpha * expm1(-h) * mid;
    return SF_OK;
}

/* Karras et al. Algorithm 2 in the level frame: churn raises the level s to s^ = s (1 + gamma)
 * (gamma = min(churn / N, sqrt 2 - 1) where s_tmin <= s <= s_tmax; s^ capped at the start level) with
 * noise sqrt(s^2 - s^2) s_noise z, then Heun in the level with eps: y_t = y^ + (t - s^)(eps_0 + eps_1)/2. */
static sf_status edm_heun_plan(const step_ctx *c, const sf_time *ts, const sf_time *tt, sf_step_plan *p)
{
    const sf_sampler *smp = c->smp;
    double ls = level_of(ts), lt = level_of(tt), gamma = 0, s_hat = c->times[c->k];
    sf_time th = *ts, start;
    sf_status st = sfi_sampler_time(c->sched, c->times[0], &start);
    if (st != SF_OK) return st;
    if (smp->churn > 0 && ls >= smp->s_tmin && ls <= smp->s_tmax)
        gamma = fmin(smp->churn / c->K, sqrt(2.0) - 1.0);
    double lh = ls * (1.0 + gamma);
    if (lh >= level_of(&start)) /* capped at the run's start (the schedule may end there) */
        lh = fmax(level_of(&start), ls), s_hat = fmax(c->times[0], s_hat), th = lh > ls ? start : *ts;
    else if (lh > ls && (st = time_of_level(c->sched, lh, &s_hat, &th)) != SF_OK)
        return st;
    double noise = ls * sqrt(fmax(0.0, (lh / ls - 1.0) * (lh / ls + 1.0))) * smp->s_noise;
    p->time[0] = s_hat;
    p->a[0] = th.alpha / ts->alpha, p->n[0] = th.alpha * noise;
    p->A = tt->alpha / ts->alpha, p->C = tt->alpha * noise;
    p->B[0] = tt->alpha * (lt - lh);
    if (!(lt > 0)) return SF_OK; /* the last step to sigma = 0: Euler only (y_t = D(y^)) */
    p->stages = 2, p->time[1] = c->times[c->k + 1];
    p->a[1] = p->A, p->n[1] = p->C, p->b[1][0] = p->B[0];
    p->B[0] = p->B[1] = 0.5 * tt->alpha * (lt - lh);
    return SF_OK;
}

/* DPM-Solver++ multistep and UniPC: one stage, the denoised values of earlier steps. */
static sf_status multistep_plan(const step_ctx *c, const sf_time *ts, const sf_time *tt, sf_step_plan *p)
{
    const sf_sampler *smp = c->smp;
    int k = c->k, K = c->K;
    const double *lam = c->lam;
    double h = lam[k + 1] - lam[k], ratio = level_of(tt) / level_of(ts), back[3] = {lam[k], 0, 0};
    level_step f;
    if (smp->kind != SF_SAMPLER_UNIPC) {
        int q = multistep_order(smp->kind == SF_SAMPLER_DPMPP_3M ? 3 : 2, k, K, lam);
        for (int m = 1; m < q; m++) back[m] = lam[k - m];
        dpmpp_step(smp->kind, q, h, back, ratio, level_of(tt), &f);
        plan_from_level_step(&f, ts, tt, p);
        return SF_OK;
    }
    /* UniPC: predictor of order q (multistep_order); from step 1 on, first the corrector of
     * the previous segment with the model value at the predicted point (which stays in the history) */
    int q = multistep_order(smp->order, k, K, lam);
    memset(&f, 0, sizeof f);
    unipc_segment g = unipc_segment_at(lam, k, q);
    f.gy = ratio, f.gD[0] = -g.B; /* y_t = e^-h y - (e^-h - 1) D_k - B sum rho_p (D_{k-j} - D_k) / r_j */
    for (int j = 1; j < q; j++) {
        f.gD[j] -= g.B * g.rho_p[j - 1] / g.r[j - 1];
        f.gD[0] += g.B * g.rho_p[j - 1] / g.r[j - 1];
    }
    if (k > 0) { /* y <- y - B' [sum_j (rho_c - rho_p')_j (D_{k-1-j} - D_{k-1}) / r'_j + rho_c,last (D_k - D_{k-1})] */
        int qp = multistep_order(smp->order, k - 1, K, lam);
        unipc_segment pg = unipc_segment_at(lam, k - 1, qp);
        double corr[1 + SF_MAX_HISTORY] = {0};
        corr[0] = -pg.B * pg.rho_c[qp - 1];
        corr[1] = pg.B * pg.rho_c[qp - 1];
        for (int j = 1; j < qp; j++) {
            double w = pg.B * (pg.rho_c[j - 1] - pg.rho_p[j - 1]) / pg.r[j - 1];
            corr[1 + j] -= w, corr[1] += w;
        }
        for (int m = 0; m <= SF_MAX_HISTORY; m++) f.gD[m] += ratio * corr[m];
    }
    plan_from_level_step(&f, ts, tt, p);
    return SF_OK;
}

static sf_status make_plan(const step_ctx *c, sf_step_plan *p)
{
    memset(p, 0, sizeof *p);
    double s = c->times[c->k], t = c->times[c->k + 1];
    sf_time ts, tt;
    sf_status st = sfi_sampler_time(c->sched, s, &ts);
    if (st == SF_OK) st = sf_schedule_at(c->sched, t, &tt);
    if (st != SF_OK) return st;
    if (!(tt.sigma > 0) && c->k + 1 < c->K)
        return sfi_fail(SF_ERR_INVALID, "sigma(t = %g) = 0 before the last step: only the last time may have sigma = 0", t);
    p->stages = 1, p->time[0] = s, p->a[0] = 1.0, p->A = 1.0;
    if (!(tt.sigma > 0) && c->smp->kind != SF_SAMPLER_EDM_HEUN) { /* edm-heun's churn comes first */
        denoiser_plan(&ts, &tt, p);
        return SF_OK;
    }
    switch (c->smp->kind) {
    case SF_SAMPLER_EULER_ANCESTRAL:
    case SF_SAMPLER_DPMPP_2S_ANCESTRAL:
        return ancestral_plan(c, &ts, &tt, p);
    case SF_SAMPLER_EDM_HEUN:
        return edm_heun_plan(c, &ts, &tt, p);
    case SF_SAMPLER_DPMPP_2M:
    case SF_SAMPLER_DPMPP_3M:
    case SF_SAMPLER_DPMPP_2M_SDE:
    case SF_SAMPLER_UNIPC:
        return multistep_plan(c, &ts, &tt, p);
    default:
        return classic_plan(c, &ts, &tt, p);
    }
}

sf_status sfi_step_plans(const sf_sampler *smp, const sf_schedule *sched, const double *times, int K, sf_step_plan *plans)
{
    double *lam = malloc(((size_t)K + 1) * sizeof(double));
    if (!lam) return sfi_fail(SF_ERR_NOMEM, "out of memory for %d steps", K);
    sf_status st = SF_OK;
    for (int k = 0; st == SF_OK && k <= K; k++) {
        sf_time tm;
        st = sf_schedule_at(sched, times[k], &tm);
        lam[k] = st == SF_OK && tm.sigma > 0 ? lambda_of(&tm) : INFINITY;
    }
    for (int k = 0; st == SF_OK && k < K; k++) {
        step_ctx c = {smp, sched, times, lam, k, K};
        st = make_plan(&c, &plans[k]);
    }
    free(lam);
    return st;
}
