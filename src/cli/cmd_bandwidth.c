/* scorefield bandwidth: information flow over time (SPEC.md G) — the generative bandwidth
 * b(t) = g^2 E[div s + d/sigma^2] / 2 by Monte Carlo with error bars, the label entropy's mean and
 * variance (the symmetry-breaking peak), and the pathwise rate integrated along probability-flow
 * paths; CSV + SVG figures in a folder. */
#include "cli_io.h"
#include "commands.h"
#include "report.h"
#include "status.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char bandwidth_help[] =
    "usage: scorefield bandwidth [--mixture M.json] [--schedule S] [--t0 T0] [--t1 T1] [--points P]\n"
    "                            [--n N] [--seed S] [--out-dir DIR] [--backend cpu|cuda|auto] [--quiet]\n"
    "Over P times (default 40, uniform in t from t0 = 0.02 to t1 = 0.98, vp-linear; default mixture:\n"
    "the symmetric pair +-(1, 0), variance 0.1), with N exact draws of p_t per time (default 20000):\n"
    "  b(t) = g^2 E[div s + d/sigma^2] / 2 = dH(X0 | Xt)/dt  with its standard error,\n"
    "  E and Var of the label entropy h_Y = -sum_k r_k ln r_k (its variance peaks just after speciation;\n"
    "  for a symmetric isotropic pair the peak is at kappa = a^2/(s^2 + tau) = 1.3454777),\n"
    "  the pathwise rate g^2 (div s + d/sigma^2)/2 integrated along probability-flow paths: its mean\n"
    "  equals the integral of b (any marginal-preserving sampler), its spread depends on the sampler.\n"
    "Writes DIR/bandwidth.csv, bandwidth.svg, entropy.svg (default DIR scorefield-bandwidth), all or none.\n"
    "Bounds: P 2 to 1e5, N 2 to 1e8, S 0 to 2^64-1. --quiet prints nothing but errors.\n";

typedef struct {
    sf_context *ctx;
    const sf_mixture *mix;
    const sf_schedule *schedule;
    double *rate_prev, *integral, *div, t_prev;
    int started;
} path_rate;

/* Trapezoid integral over frames of the per-particle rate g^2 (div s + d/sigma^2)/2 along the path. */
static sf_status accumulate(void *data, int step, double t, const double *x, size_t n, int d)
{
    (void)step;
    path_rate *pr = data;
    sf_time tm;
    sf_status st = sf_schedule_at(pr->schedule, t, &tm);
    sf_outputs o = {.div = pr->div};
    if (st == SF_OK) st = sf_evaluate(pr->ctx, pr->mix, &tm, x, n, &o);
    if (st != SF_OK) return st;
    for (size_t i = 0; i < n; i++) {
        double rate = 0.5 * tm.g2 * (pr->div[i] + d / tm.sigma2);
        if (pr->started) pr->integral[i] += 0.5 * (rate + pr->rate_prev[i]) * (pr->t_prev - t);
        pr->rate_prev[i] = rate;
    }
    pr->t_prev = t, pr->started = 1;
    return SF_OK;
}

int cmd_bandwidth(int argc, char **argv)
{
    const char *mixture_path = NULL, *dir = "scorefield-bandwidth";
    size_t points = 40, n = 20000, seed = 1;
    double t0 = 0.02, t1 = 0.98;
    sf_backend backend = SF_BACKEND_AUTO;
    cli_time ct;
    cli_time_init(&ct);
    ct.schedule = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    cli_once once = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) {
            fputs(bandwidth_help, stdout);
            return SF_EXIT_OK;
        }
        if (!cli_first_use(&once, a)) return SF_EXIT_BAD_INPUT;
        if (!strcmp(a, "--t") || !strcmp(a, "--alpha") || !strcmp(a, "--sigma"))
            return cli_bad_input("bandwidth: %s does not apply: give --t0 and --t1", a);
        int t = cli_time_option(&ct, argc, argv, &i);
        if (t < 0) return SF_EXIT_BAD_INPUT;
        if (t > 0) continue;
        size_t *count = !strcmp(a, "--points") ? &points : !strcmp(a, "--n") ? &n : !strcmp(a, "--seed") ? &seed : NULL;
        double *num = !strcmp(a, "--t0") ? &t0 : !strcmp(a, "--t1") ? &t1 : NULL;
        size_t max = count == &points ? 100000 : count == &n ? 100000000 : SIZE_MAX;
        if (count) { if (!(v = cli_value(argc, argv, &i)) || !cli_count(a, v, max, count)) return SF_EXIT_BAD_INPUT; }
        else if (!strcmp(a, "--quiet")) cli_set_quiet();
        else if (num) { if (!(v = cli_value(argc, argv, &i)) || !cli_double(a, v, num)) return SF_EXIT_BAD_INPUT; }
        else if (!strcmp(a, "--mixture")) { if (!(mixture_path = cli_value(argc, argv, &i))) return SF_EXIT_BAD_INPUT; }
        else if (!strcmp(a, "--out-dir")) { if (!(dir = cli_value(argc, argv, &i))) return SF_EXIT_BAD_INPUT; }
        else if (!strcmp(a, "--backend")) { if (!(v = cli_value(argc, argv, &i)) || !cli_backend(v, &backend)) return SF_EXIT_BAD_INPUT; }
        else return cli_bad_input("bandwidth: unknown option '%s' (see scorefield bandwidth --help)", a);
    }
    if (points < 2 || n < 2 || !(t1 > t0)) return cli_bad_input("bandwidth: need --points >= 2, --n >= 2, --t1 > --t0");
    sf_time probe;
    if (sf_schedule_at(&ct.schedule, t0, &probe) != SF_OK || sf_schedule_at(&ct.schedule, t1, &probe) != SF_OK)
        return cli_bad_input("bandwidth: %s", sf_last_error());

    sf_mixture *mix = NULL;
    sf_context *ctx = NULL;
    sf_status st;
    int status = SF_EXIT_OK;
    if (mixture_path) {
        if ((st = sf_mixture_read_json(&mix, mixture_path)) != SF_OK) return cli_library_error(st);
    } else {
        mix = cli_default_pair();
    }
    int d = sf_mixture_dim(mix);
    double tau_c = NAN, a = NAN, s2 = NAN;
    if (sf_speciation_tau_closed_form(mix, &tau_c) == SF_OK && sf_mixture_kind(mix, 0) == SF_COV_ISOTROPIC) {
        const double *m0 = sf_mixture_mean(mix, 0), *m1 = sf_mixture_mean(mix, 1);
        double sep = 0;
        for (int i = 0; i < d; i++) sep += (m0[i] - m1[i]) * (m0[i] - m1[i]);
        a = 0.5 * sqrt(sep), s2 = sf_mixture_variances(mix, 0)[0];
    }
    static const char *const files[3] = {"bandwidth.csv", "bandwidth.svg", "entropy.svg"};
    if ((status = cli_outputs_folder(dir, files, 3)) != SF_EXIT_OK) { /* checked before any work */
        sf_mixture_destroy(mix);
        return status;
    }
    size_t P = points;
    double *cols[8];
    for (int c = 0; c < 8; c++) cols[c] = malloc(P * sizeof(double));
    double *x = malloc(n * (size_t)d * sizeof(double)), *h = malloc(n * sizeof(double));
    int ok = x && h;
    for (int c = 0; c < 8; c++) ok = ok && cols[c];
    if (!ok) {
        status = cli_failure("out of memory for %zu draws", n);
        goto done;
    }
    if ((st = sf_context_create(&ctx, backend, SF_PRECISION_F64, 0)) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    printf("scorefield bandwidth: %s schedule, t = %g ... %g (%zu times), %zu draws per time, d = %d\n",
           sf_schedule_kind_name(ct.schedule.kind), t0, t1, P, n, d);
    printf("  %-8s %-10s %-22s %-10s %-12s %s\n", "t", "tau", "b(t) +- s.e.", "E[h_Y]", "Var[h_Y]", isnan(a) ? "" : "kappa");
    double *T = cols[0], *TAU = cols[1], *Bv = cols[2], *Bse = cols[3], *HM = cols[4], *HV = cols[5], *HVse = cols[6], *KAP = cols[7];
    size_t peak = 0;
    for (size_t q = 0; q < P; q++) {
        T[q] = t1 + (t0 - t1) * q / (P - 1);
        sf_time tm;
        sf_schedule_at(&ct.schedule, T[q], &tm);
        TAU[q] = tm.tau;
        if ((st = sf_bandwidth(ctx, mix, &tm, n, seed, &Bv[q], &Bse[q])) != SF_OK ||
            (st = sf_sample_marginal(mix, &tm, seed, 0, x, n)) != SF_OK || (st = sf_label_entropy(ctx, mix, &tm, x, n, h)) != SF_OK) {
            status = cli_library_error(st);
            goto done;
        }
        double mean = 0, m2 = 0, m4 = 0;
        for (size_t i = 0; i < n; i++) mean += h[i];
        mean /= n;
        for (size_t i = 0; i < n; i++) {
            double e = h[i] - mean;
            m2 += e * e, m4 += e * e * e * e;
        }
        m2 /= n - 1, m4 /= n;
        HM[q] = mean, HV[q] = m2, HVse[q] = sqrt(fmax(0, m4 - m2 * m2) / n);
        KAP[q] = isnan(a) ? NAN : a * a / (s2 + tm.tau);
        if (HV[q] > HV[peak]) peak = q;
        printf("  %-8.4f %-10.4g %10.5g +- %-9.2g %-10.5f %-12.6f", T[q], TAU[q], Bv[q], Bse[q], HM[q], HV[q]);
        if (!isnan(a)) printf(" %.4f", KAP[q]);
        printf("\n");
    }
    printf("  label-entropy variance peaks at t = %.4f (tau = %.4g)", T[peak], TAU[peak]);
    if (!isnan(a)) printf(", kappa = %.4f; universal symmetric-pair peak kappa* = 1.3454777, Var = 0.0536289", KAP[peak]);
    printf("\n");

    /* the pathwise rate along probability-flow paths from t1 to t0 */
    {
        sf_sampler smp = sf_sampler_default(SF_SAMPLER_HEUN);
        smp.t1 = t1, smp.t0 = t0, smp.steps = 200;
        size_t m = n < 4000 ? n : 4000;
        sf_time start;
        sf_schedule_at(&ct.schedule, t1, &start);
        path_rate pr = {ctx, mix, &ct.schedule, calloc(m, sizeof(double)), calloc(m, sizeof(double)), malloc(m * sizeof(double)), 0, 0};
        if ((st = sf_sample_marginal(mix, &start, seed + 1, 0, x, m)) != SF_OK ||
            (st = sf_sample(ctx, mix, &ct.schedule, &smp, x, m, 0, accumulate, &pr, 1)) != SF_OK) {
            status = cli_library_error(st);
            free(pr.rate_prev), free(pr.integral), free(pr.div);
            goto done;
        }
        double mean = 0, var = 0, integral_b = 0;
        for (size_t i = 0; i < m; i++) mean += pr.integral[i];
        mean /= m;
        for (size_t i = 0; i < m; i++) var += (pr.integral[i] - mean) * (pr.integral[i] - mean);
        var /= m - 1;
        /* int b dt by the trapezoid rule on 400 times uniform in log tau (b rises steeply as t -> t0) */
        sf_time ta, tb;
        sf_schedule_at(&ct.schedule, t0, &ta);
        sf_schedule_at(&ct.schedule, t1, &tb);
        double prev_t = NAN, prev_b = NAN;
        for (int q = 0; q < 400 && st == SF_OK; q++) {
            double tau = exp(log(ta.tau) + (log(tb.tau) - log(ta.tau)) * q / 399.0), tq, bq;
            sf_time tm;
            if ((st = sf_schedule_t_of_tau(&ct.schedule, tau, &tq)) != SF_OK) break;
            tq = fmin(fmax(tq, t0), t1);
            if ((st = sf_schedule_at(&ct.schedule, tq, &tm)) != SF_OK ||
                (st = sf_bandwidth(ctx, mix, &tm, n < 2000 ? n : 2000, seed + 2, &bq, NULL)) != SF_OK)
                break;
            if (q > 0) integral_b += 0.5 * (bq + prev_b) * (tq - prev_t);
            prev_t = tq, prev_b = bq;
        }
        if (st != SF_OK) {
            status = cli_library_error(st);
            free(pr.rate_prev), free(pr.integral), free(pr.div);
            goto done;
        }
        printf("  pathwise            S = int_t0^t1 rate dt along PF-ODE paths: mean %.5g, sd %.4g (%zu paths);\n"
               "                      int b dt = %.5g (the two agree: H(X0|X_t0) - H(X0|X_t1) is the same for every sampler)\n",
               mean, sqrt(var), m, integral_b);
        free(pr.rate_prev), free(pr.integral), free(pr.div);
    }
    {
        char path[4096];
        const char *names[8] = {"t", "tau", "b", "b_se", "h_mean", "h_var", "h_var_se", "kappa"};
        snprintf(path, sizeof path, "%s/bandwidth.csv", dir);
        if ((st = sf_csv_write(path, 8, names, (const double *const *)cols, P)) != SF_OK) {
            status = cli_write_error(st);
            goto done;
        }
        double *lo = malloc(P * sizeof(double)), *hi = malloc(P * sizeof(double));
        for (size_t q = 0; q < P; q++) lo[q] = Bv[q] - 2 * Bse[q], hi[q] = Bv[q] + 2 * Bse[q];
        double t_c = NAN;
        if (tau_c > 0) sf_schedule_t_of_tau(&ct.schedule, tau_c, &t_c);
        sf_series sb[3] = {{T, Bv, P, "b(t)", NULL, 0, 0}, {T, lo, P, "+- 2 s.e.", "#999", 1, 0}, {T, hi, P, NULL, "#999", 1, 0}};
        sf_plot pb = {"generative bandwidth b(t) = dH(X0|Xt)/dt", "time t", "b(t)", 0, 0, isnan(t_c) ? 0 : 1, {t_c}, {"t_c"}};
        snprintf(path, sizeof path, "%s/bandwidth.svg", dir);
        sf_plot_svg(path, &pb, sb, 3);
        for (size_t q = 0; q < P; q++) lo[q] = HV[q] - 2 * HVse[q], hi[q] = HV[q] + 2 * HVse[q];
        int by_kappa = !isnan(a);
        sf_series se[3] = {{by_kappa ? KAP : T, HV, P, "Var[h_Y]", NULL, 0, 0}, {by_kappa ? KAP : T, lo, P, "+- 2 s.e.", "#999", 1, 0},
                           {by_kappa ? KAP : T, hi, P, NULL, "#999", 1, 0}};
        sf_plot pe = {"variance of the label entropy", by_kappa ? "kappa = a^2 / (s^2 + tau)" : "time t", "Var[h_Y]",
                      by_kappa, 0, 1, {by_kappa ? 1.3454777 : T[peak]}, {by_kappa ? "kappa* = 1.3455" : "peak"}};
        snprintf(path, sizeof path, "%s/entropy.svg", dir);
        if ((st = sf_plot_svg(path, &pe, se, 3)) != SF_OK) status = cli_write_error(st);
        free(lo), free(hi);
        printf("  figures             %s/bandwidth.svg, %s/entropy.svg (data: %s/bandwidth.csv)\n", dir, dir, dir);
    }
done:
    for (int c = 0; c < 8; c++) free(cols[c]);
    free(x), free(h);
    sf_context_destroy(ctx);
    sf_mixture_destroy(mix);
    return status;
}
