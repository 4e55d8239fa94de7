/* The command line's consistency (issue 9): sample from given particles and a given time grid, the
 * frame times beside the frames, the draw command, options refused where they do not apply, the
 * guided target's weights, the subspace-variance warning, progress on long runs, and score in
 * batches. Each runs the real binary in a fresh folder (cli_harness.h); results are checked against
 * the library or against the exact moments of the mixture, never against numbers copied here. */
#include "cli_harness.h"

#include <criterion/criterion.h>
#include <scorefield.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(commands, .init = cli_make_tmpdir, .fini = cli_remove_tmpdir);

#define THREE SF_EXAMPLES_DIR "/three_kinds.json"

/* A mixture on a line in d = 2 (variance 1 along x, none along y): the normal variance at t0 is
 * sigma^2(t0) exactly. */
static const char line_mixture[] =
    "{\"dim\": 2, \"components\": [{\"weight\": 1.0, \"mean\": [0.0, 0.0], \"var\": 0.0, \"basis\": [[1.0, 0.0]], \"eig\": [1.0]}]}";

static double column_variance(const sf_array *a, int column)
{
    size_t n = a->shape[0], d = a->shape[1];
    double mean = 0, var = 0;
    for (size_t p = 0; p < n; p++) mean += a->data[p * d + column];
    mean /= n;
    for (size_t p = 0; p < n; p++) var += (a->data[p * d + column] - mean) * (a->data[p * d + column] - mean);
    return var / (n - 1);
}

Test(commands, draw_gives_the_exact_marginal)
{
    cli_result r = run_cli((const char *const[]){"draw", "--mixture", THREE, "--schedule", "vp-linear", "--t", "0.3", "--n",
                                                 "20000", "--seed", "9", "--batch", "777", "--out", out_path, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    sf_array x;
    cr_assert_eq(sf_npy_read(out_path, &x), SF_OK);
    cr_assert(x.ndim == 2 && x.shape[0] == 20000 && x.shape[1] == 2);
    /* the same particles as the library's draws (batches do not change them) */
    sf_mixture *mix;
    sf_schedule vp = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    sf_time t;
    cr_assert_eq(sf_mixture_read_json(&mix, THREE), SF_OK);
    cr_assert_eq(sf_schedule_at(&vp, 0.3, &t), SF_OK);
    double *y = malloc(20000 * 2 * sizeof(double));
    cr_assert_eq(sf_sample_marginal(mix, &t, 9, 0, y, 20000), SF_OK);
    cr_expect_eq(memcmp(x.data, y, 20000 * 2 * sizeof(double)), 0, "draw equals sf_sample_marginal");
    /* and their mean is alpha sum_k w_k mu_k within 4 standard errors */
    for (int i = 0; i < 2; i++) {
        double mean = 0, exact = 0;
        for (size_t p = 0; p < 20000; p++) mean += x.data[p * 2 + i] / 20000;
        for (int k = 0; k < sf_mixture_count(mix); k++) exact += t.alpha * sf_mixture_weight(mix, k) * sf_mixture_mean(mix, k)[i];
        double se = sqrt(column_variance(&x, i) / 20000);
        cr_expect(fabs(mean - exact) < 4 * se, "coordinate %d: mean %g, exact %g (s.e. %g)", i, mean, exact, se);
    }
    free(y), sf_array_free(&x), sf_mixture_destroy(mix);
}

Test(commands, sample_from_given_particles_equals_the_default_start)
{
    char start[PATH_LEN], again[PATH_LEN];
    tmp_path(start, "start.npy"), tmp_path(again, "again.npy");
    cli_result r = run_cli((const char *const[]){"draw", "--mixture", THREE, "--schedule", "vp-linear", "--t", "1", "--n", "40",
                                                 "--seed", "5", "--out", start, "--quiet", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    r = run_cli((const char *const[]){"sample", "--mixture", THREE, "--schedule", "vp-linear", "--sampler", "heun", "--steps",
                                      "30", "--seed", "5", "--n", "40", "--out", out_path, "--quiet", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    r = run_cli((const char *const[]){"sample", "--mixture", THREE, "--schedule", "vp-linear", "--sampler", "heun", "--steps",
                                      "30", "--seed", "5", "--in", start, "--out", again, "--quiet", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    sf_array a, b;
    cr_assert_eq(sf_npy_read(out_path, &a), SF_OK);
    cr_assert_eq(sf_npy_read(again, &b), SF_OK);
    cr_assert_eq(sf_array_size(&a), sf_array_size(&b));
    cr_expect_eq(memcmp(a.data, b.data, sf_array_size(&a) * sizeof(double)), 0, "--in with the exact draws = the default start");
    sf_array_free(&a), sf_array_free(&b);
}

Test(commands, sample_on_a_given_time_grid_and_its_frame_times)
{
    char grid[PATH_LEN], traj[PATH_LEN], times[PATH_LEN], uniform[PATH_LEN];
    tmp_path(grid, "grid.txt"), tmp_path(traj, "T.npy"), tmp_path(times, "T.times.npy"), tmp_path(uniform, "uniform.npy");
    enum { K = 12 };
    double t1 = 1, t0 = 0.01, g[K + 1];
    char text[1024] = "", number[40];
    for (int k = 0; k <= K; k++) { /* the uniform grid, written out */
        g[k] = t1 + (t0 - t1) * k / K;
        snprintf(number, sizeof number, "%.17g%s", g[k], k % 3 == 2 ? "\n" : " ");
        strcat(text, number);
    }
    write_text(grid, text);
    cli_result r = run_cli((const char *const[]){"sample", "--mixture", THREE, "--schedule", "vp-linear", "--sampler", "ddim",
                                                 "--n", "30", "--times", grid, "--out", out_path, "--trajectory", traj,
                                                 "--every", "5", "--quiet", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    r = run_cli((const char *const[]){"sample", "--mixture", THREE, "--schedule", "vp-linear", "--sampler", "ddim", "--n", "30",
                                      "--steps", "12", "--t1", "1", "--t0", "0.01", "--out", uniform, "--quiet", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    sf_array a, b, ft;
    cr_assert_eq(sf_npy_read(out_path, &a), SF_OK);
    cr_assert_eq(sf_npy_read(uniform, &b), SF_OK);
    for (size_t i = 0; i < sf_array_size(&a); i++)
        cr_expect(fabs(a.data[i] - b.data[i]) <= 1e-12 * (1 + fabs(b.data[i])), "value %zu: %.17g vs %.17g", i, a.data[i], b.data[i]);
    /* frames at steps 0, 5, 10 and 12, their times the grid's */
    cr_assert_eq(sf_npy_read(times, &ft), SF_OK, "%s", sf_last_error());
    cr_assert(ft.ndim == 1 && ft.shape[0] == 4, "4 frame times");
    const int steps[4] = {0, 5, 10, 12};
    for (int f = 0; f < 4; f++) cr_expect(fabs(ft.data[f] - g[steps[f]]) < 1e-15, "frame %d at t = %.17g, not %.17g", f, ft.data[f], g[steps[f]]);
    sf_array_free(&a), sf_array_free(&b), sf_array_free(&ft);
}

Test(commands, sample_refuses_what_does_not_apply)
{
    char grid[PATH_LEN], start[PATH_LEN];
    tmp_path(grid, "grid.txt"), tmp_path(start, "start.npy");
    write_text(grid, "1 0.5 0.5 0.1\n");
    cli_result r = run_cli((const char *const[]){"sample", "--mixture", THREE, "--schedule", "vp-linear", "--sampler", "heun",
                                                 "--n", "5", "--times", grid, "--out", out_path, NULL});
    expect_refused(&r, grid, "decreasing");
    write_text(grid, "1 0.5 abc 0.1\n"); /* one line naming the file, not a second naming --times */
    r = run_cli((const char *const[]){"sample", "--mixture", THREE, "--schedule", "vp-linear", "--sampler", "heun",
                                      "--n", "5", "--times", grid, "--out", out_path, NULL});
    expect_refused(&r, grid, "not a number");
    write_text(grid, "1 0.5 0.1\n");
    r = run_cli((const char *const[]){"sample", "--mixture", THREE, "--schedule", "vp-linear", "--sampler", "heun", "--n", "5",
                                      "--times", grid, "--steps", "7", "--out", out_path, NULL});
    expect_refused(&r, "--steps", "--times");
    r = run_cli((const char *const[]){"sample", "--mixture", THREE, "--schedule", "vp-linear", "--sampler", "heun", "--n", "5",
                                      "--h", "0.5", "--out", out_path, NULL});
    expect_refused(&r, "--h", "em");
    r = run_cli((const char *const[]){"sample", "--mixture", THREE, "--schedule", "vp-linear", "--sampler", "em", "--n", "5",
                                      "--eta", "0.5", "--out", out_path, NULL});
    expect_refused(&r, "--eta", "ddim");
    r = run_cli((const char *const[]){"sample", "--mixture", THREE, "--schedule", "edm", "--sampler", "dpmpp-2m", "--n", "5",
                                      "--churn", "3", "--out", out_path, NULL});
    expect_refused(&r, "--churn", "edm-heun");
    r = run_cli((const char *const[]){"sample", "--mixture", THREE, "--schedule", "edm", "--sampler", "heun", "--n", "5",
                                      "--order", "3", "--out", out_path, NULL});
    expect_refused(&r, "--order", "unipc");
    r = run_cli((const char *const[]){"sample", "--mixture", THREE, "--schedule", "vp-linear", "--sampler", "unipc", "--n", "5",
                                      "--rho", "3", "--out", out_path, NULL});
    expect_refused(&r, "--rho", "karras");
    r = run_cli((const char *const[]){"sample", "--mixture", THREE, "--schedule", "ve", "--sampler", "unipc", "--n", "5",
                                      "--to-zero", "--out", out_path, NULL});
    expect_refused(&r, "to_zero", "never reaches sigma = 0");
    r = run_cli((const char *const[]){"sample", "--mixture", THREE, "--schedule", "edm", "--sampler", "edm-heun", "--n", "5",
                                      "--s-noise", "-1", "--out", out_path, NULL});
    expect_refused(&r, "--s-noise", "> 0");
    write_valid_particles();
    r = run_cli((const char *const[]){"sample", "--mixture", THREE, "--schedule", "vp-linear", "--sampler", "em", "--n", "5",
                                      "--in", x_path, "--out", out_path, NULL});
    expect_refused(&r, "--n", "--in");
    write_npy(start, "<f8", "(2, 3)", particles_3x2, sizeof particles_3x2);
    r = run_cli((const char *const[]){"sample", "--mixture", THREE, "--schedule", "vp-linear", "--sampler", "em", "--in", start,
                                      "--out", out_path, NULL});
    expect_refused(&r, start, "shape");
}

/* --times is accepted by every sampler, also a grid ending at t = 0 (the last step denoises). */
Test(commands, every_sampler_takes_a_time_grid_to_zero)
{
    char grid[PATH_LEN];
    tmp_path(grid, "grid_zero.txt");
    write_text(grid, "0.9 0.6 0.3 0.1 0.02 0\n");
    for (int k = 0; k <= SF_SAMPLER_UNIPC; k++) {
        const char *name = sf_sampler_kind_name((sf_sampler_kind)k);
        cli_result r = run_cli((const char *const[]){"sample", "--mixture", THREE, "--schedule", "vp-cosine", "--sampler", name,
                                                     "--n", "20", "--times", grid, "--out", out_path, "--seed", "4", NULL});
        cr_expect_eq(r.status, 0, "%s: %s", name, r.err);
        sf_array a = {0};
        cr_assert_eq(sf_npy_read(out_path, &a), SF_OK, "%s: %s", name, sf_last_error());
        cr_expect_eq(sf_particles_check(a.data, a.shape[0], (int)a.shape[1]), SF_OK, "%s: %s", name, sf_last_error());
        sf_array_free(&a);
    }
}

/* The printed "(weight w)" of component k, or NAN. */
static double printed_weight(const char *out, int k)
{
    char key[32];
    snprintf(key, sizeof key, "component %-3d", k);
    const char *at = strstr(out, key), *w = at ? strstr(at, "(weight ") : NULL;
    return w ? strtod(w + 8, NULL) : NAN;
}

Test(commands, guided_occupations_beside_the_guided_weights)
{
    sf_mixture *mix;
    cr_assert_eq(sf_mixture_read_json(&mix, THREE), SF_OK);
    double w0 = sf_mixture_weight(mix, 0), w1 = sf_mixture_weight(mix, 1);
    sf_mixture_destroy(mix);
    cli_result r = run_cli((const char *const[]){"sample", "--mixture", THREE, "--schedule", "vp-linear", "--sampler", "ddim",
                                                 "--n", "50", "--class", "0,1", "--guidance", "0", "--out", out_path, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(fabs(printed_weight(r.out, 0) - w0 / (w0 + w1)) < 1e-4, "%s", r.out);
    cr_expect(fabs(printed_weight(r.out, 1) - w1 / (w0 + w1)) < 1e-4, "%s", r.out);
    cr_expect(printed_weight(r.out, 2) == 0, "%s", r.out);
    r = run_cli((const char *const[]){"sample", "--mixture", THREE, "--schedule", "vp-linear", "--sampler", "ddim", "--n", "50",
                                      "--class", "0,1", "--guidance", "2", "--out", out_path, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "(weight") == NULL && strstr(r.out, "no closed form"), "%s", r.out);
}

Test(commands, subspace_variance_warning_matches_the_measured_distortion)
{
    write_text(mix_path, line_mixture);
    sf_schedule vp = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    sf_time end;
    cr_assert_eq(sf_schedule_at(&vp, 0.001, &end), SF_OK);
    /* em on 400 uniform steps: warned, and the normal variance is off by more than 10% */
    cli_result r = run_cli((const char *const[]){"sample", "--mixture", mix_path, "--schedule", "vp-linear", "--sampler", "em",
                                                 "--steps", "400", "--n", "4000", "--out", out_path, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.err, "warning") != NULL, "%s", r.err);
    sf_array x;
    cr_assert_eq(sf_npy_read(out_path, &x), SF_OK);
    double ratio = column_variance(&x, 1) / end.sigma2;
    cr_expect(ratio > 1.1, "warned, but the normal variance ratio is %g", ratio);
    sf_array_free(&x);
    /* the same em with 400 steps uniform in log-SNR: no warning, and within 10% (the s.e. of a
     * variance from 4000 draws is 2.2%) */
    r = run_cli((const char *const[]){"sample", "--mixture", mix_path, "--schedule", "vp-linear", "--sampler", "em", "--steps",
                                      "400", "--spacing", "lambda", "--n", "4000", "--out", out_path, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.err, "warning") == NULL, "%s", r.err);
    cr_assert_eq(sf_npy_read(out_path, &x), SF_OK);
    ratio = column_variance(&x, 1) / end.sigma2;
    cr_expect(fabs(ratio - 1) < 0.1, "not warned, but the normal variance ratio is %g", ratio);
    sf_array_free(&x);
    /* ddim is exact for Gaussian data: never warned */
    r = run_cli((const char *const[]){"sample", "--mixture", mix_path, "--schedule", "vp-linear", "--sampler", "ddim", "--steps",
                                      "20", "--n", "100", "--out", out_path, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.err, "warning") == NULL, "%s", r.err);
}

Test(commands, long_runs_report_progress_and_quiet_ones_do_not)
{
    /* a run shorter than 2 s is silent; SCOREFIELD_PROGRESS_AFTER=0 makes this short run "long" */
    const char *args[] = {"sample", "--mixture", THREE, "--schedule", "vp-linear", "--sampler", "em", "--steps", "50",
                          "--n", "200", "--out", out_path, NULL, NULL};
    cli_result r = run_cli(args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.err, "left") == NULL, "a short run reports no progress: %s", r.err);
    setenv("SCOREFIELD_PROGRESS_AFTER", "0", 1);
    r = run_cli(args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.err, "100% after") && strstr(r.err, "s left"), "progress with elapsed and remaining time: %s", r.err);
    const char *draw[] = {"draw", "--mixture", THREE, "--schedule", "ve", "--t", "0.5", "--n", "100", "--batch", "10", "--out",
                          out_path, NULL, NULL};
    r = run_cli(draw);
    cr_expect(strstr(r.err, "scorefield draw:  50% after"), "draw reports progress too: %s", r.err);
    args[13] = "--quiet", draw[13] = "--quiet";
    r = run_cli(args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_eq(r.err_len, 0, "--quiet: %s", r.err);
    cr_expect_eq(r.out[0], '\0', "--quiet: %s", r.out);
    r = run_cli(draw);
    cr_expect_eq(r.err_len, 0, "--quiet: %s", r.err);
    unsetenv("SCOREFIELD_PROGRESS_AFTER");
}

Test(commands, score_names_its_backend)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = run_cli((const char *const[]){"score", "--mixture", mix_path, "--in", x_path, "--out", out_path, "--schedule",
                                                 "vp-linear", "--t", "0.5", "--backend", "reference", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "backend    reference") != NULL, "%s", r.out);
}

/* n x 2 particles spread over the mixture's region, deterministic. */
static void write_particles(const char *path, size_t n)
{
    double *x = malloc(n * 2 * sizeof(double));
    for (size_t p = 0; p < n; p++) x[2 * p] = 2 * sin(0.37 * p + 0.1), x[2 * p + 1] = 1.5 * cos(0.23 * p) + 0.5;
    char shape[64];
    snprintf(shape, sizeof shape, "(%zu, 2)", n);
    write_npy(path, "<f8", shape, x, n * 2 * sizeof(double));
    free(x);
}

static char *read_bytes(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    rewind(f);
    char *b = malloc(*len + 1);
    cr_assert_eq(fread(b, 1, *len, f), (size_t)*len);
    fclose(f);
    return b;
}

Test(commands, score_in_batches_equals_one_batch_byte_for_byte)
{
    write_text(mix_path, valid_mixture);
    write_particles(x_path, 57);
    char dirs[PATH_LEN], names[2][7][PATH_LEN];
    tmp_path(dirs, "dirs.npy");
    write_particles(dirs, 57);
    static const char *const flags[7] = {"--out", "--logp", "--div", "--resp", "--hessian", "--hvp", "--dtau"};
    for (int run = 0; run < 2; run++) {
        const char *args[40];
        int a = 0;
        static const char *const head[] = {"score", "--mixture", NULL, "--in", NULL, "--schedule", "vp-linear", "--t", "0.3",
                                           "--backend", "cpu", "--quiet", "--hvp-dir", NULL, "--batch"};
        for (int i = 0; i < 15; i++) args[a++] = head[i];
        args[2] = mix_path, args[4] = x_path, args[13] = dirs;
        args[a++] = run ? "5" : "100000";
        for (int o = 0; o < 7; o++) {
            char name[32];
            snprintf(name, sizeof name, "r%d_%d.npy", run, o);
            tmp_path(names[run][o], name);
            args[a++] = flags[o], args[a++] = names[run][o];
        }
        args[a] = NULL;
        cli_result r = run_cli(args);
        cr_assert_eq(r.status, 0, "%s", r.err);
    }
    for (int o = 0; o < 7; o++) {
        long la, lb;
        char *a = read_bytes(names[0][o], &la), *b = read_bytes(names[1][o], &lb);
        cr_expect(la == lb && memcmp(a, b, la) == 0, "%s: batches of 5 differ from one batch", flags[o]);
        free(a), free(b);
    }
}

Test(commands, score_memory_stays_flat_in_n)
{
#if defined(__SANITIZE_ADDRESS__)
    /* ASan's shadow memory and quarantine dominate the resident set: the byte-for-byte test above
     * still runs */
    cr_skip_test("peak memory is not the program's under AddressSanitizer");
#endif
    write_text(mix_path, valid_mixture);
    char big[PATH_LEN];
    tmp_path(big, "big.npy");
    write_particles(x_path, 4096);
    write_particles(big, 600000); /* 9.6 MB in, 9.6 MB score and 4.8 MB log p out */
    /* peak resident memory of the child: 146 batches of 4096 need no more than one batch of 4096
     * (within 8 MB of slack), while the same 600000 particles in one batch need the whole input and
     * outputs (24 MB more) */
    const char *const small_run[] = {"score", "--mixture", mix_path, "--in", x_path, "--out", out_path, "--logp",
                                     logp_path, "--schedule", "vp-linear", "--t", "0.3", "--backend", "cpu",
                                     "--batch", "4096", "--quiet", NULL};
    cli_result r = run_cli(small_run);
    cr_assert_eq(r.status, 0, "%s", r.err);
    long small = r.max_rss_kb;
    r = run_cli((const char *const[]){"score", "--mixture", mix_path, "--in", big, "--out", out_path, "--logp",
                                      logp_path, "--schedule", "vp-linear", "--t", "0.3", "--backend", "cpu", "--batch",
                                      "4096", "--quiet", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    long batched = r.max_rss_kb;
    r = run_cli((const char *const[]){"score", "--mixture", mix_path, "--in", big, "--out", out_path, "--logp",
                                      logp_path, "--schedule", "vp-linear", "--t", "0.3", "--backend", "cpu", "--batch",
                                      "600000", "--quiet", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    long whole = r.max_rss_kb;
    cr_expect(batched <= small + 8 * 1024, "600000 particles in batches of 4096 peaked at %ld KiB, 4096 alone at %ld KiB",
              batched, small);
    cr_expect(whole >= batched + 16 * 1024, "one batch of 600000 peaked at %ld KiB, batches of 4096 at %ld KiB (the "
              "measure does not see the input)", whole, batched);
}

Test(commands, loglik_bandwidth_and_the_ring_report_progress)
{
    char dir[PATH_LEN];
    tmp_path(dir, "figures");
    write_valid_particles();
    setenv("SCOREFIELD_PROGRESS_AFTER", "0", 1); /* report as a long run would */
    cli_result r = run_cli((const char *const[]){"loglik", "--mixture", THREE, "--schedule", "vp-linear", "--t0", "0.1", "--in",
                                                 x_path, "--out", out_path, NULL});
    cr_expect(r.status == 0 && strstr(r.err, "scorefield loglik: 100% after"), "%s", r.err);
    r = run_cli((const char *const[]){"bandwidth", "--points", "3", "--n", "200", "--out-dir", dir, NULL});
    cr_expect(r.status == 0 && strstr(r.err, "scorefield bandwidth: 100% after"), "%s", r.err);
    r = run_cli((const char *const[]){"doublewell", "--radial", "--out-dir", dir, NULL});
    cr_expect(r.status == 0 && strstr(r.err, "scorefield doublewell: 100% after"), "%s", r.err);
    r = run_cli((const char *const[]){"bandwidth", "--points", "3", "--n", "200", "--out-dir", dir, "--quiet", NULL});
    cr_expect(r.status == 0 && r.err_len == 0, "--quiet: %s", r.err);
    unsetenv("SCOREFIELD_PROGRESS_AFTER");
}

Test(commands, renamed_options_are_refused_with_their_new_name)
{
    static const char *const runs[4][4] = {{"wkb", "--scales", "1", "--model-scale"}, {"wkb", "--shift", "0.1", "--model-shift"},
                                           {"blowup", "--tau-max", "0.1", "--tau1"}, {"blowup", "--tau-min", "1e-5", "--tau0"}};
    for (int k = 0; k < 4; k++) {
        cli_result r = run_cli((const char *const[]){runs[k][0], runs[k][1], runs[k][2], NULL});
        expect_refused(&r, runs[k][1], runs[k][3]);
    }
}

Test(commands, every_command_takes_help_and_quiet_and_refuses_the_same_way)
{
    static const char *const commands[] = {"score", "info", "check", "burgers-residual", "burgers", "sample", "draw", "loglik",
                                           "speciation", "demo", "bandwidth", "blowup", "wkb", "doublewell", "sampler-error"};
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++) {
        cli_result r = run_cli((const char *const[]){commands[c], "--help", NULL});
        char usage[64];
        snprintf(usage, sizeof usage, "usage: scorefield %s", commands[c]);
        cr_expect(r.status == 0 && strstr(r.out, usage), "%s --help: %d %s", commands[c], r.status, r.out);
        r = run_cli((const char *const[]){commands[c], "--quiet", "--no-such-option", NULL});
        expect_refused(&r, "--no-such-option", NULL);
        r = run_cli((const char *const[]){commands[c], "--quiet", "--quiet", NULL});
        expect_refused(&r, "--quiet", "twice");
    }
}

/* burgers (both routes), burgers-residual, wkb and check report progress with elapsed time and an estimate
 * of the rest when the run is long (SCOREFIELD_PROGRESS_AFTER=0 makes these short runs "long"). */
Test(commands, burgers_residual_wkb_and_check_report_progress)
{
    char dir[PATH_LEN];
    tmp_path(dir, "figures");
    write_valid_particles();
    setenv("SCOREFIELD_PROGRESS_AFTER", "0", 1);
    static const char *const routes[2] = {"exact", "direct"};
    for (int k = 0; k < 2; k++) {
        cli_result r = run_cli((const char *const[]){"burgers", "--mixture", SF_EXAMPLES_DIR "/symmetric_binary.json", "--grid",
                                                     "32", "--box", "8", "--tau0", "0.05", "--tau1", "0.3", "--route",
                                                     routes[k], "--steps", "20", NULL});
        cr_expect(r.status == 0 && strstr(r.err, "scorefield burgers: 100% after") && strstr(r.err, "s left"),
                  "burgers --route %s: %s", routes[k], r.err);
    }
    cli_result r = run_cli((const char *const[]){"burgers-residual", "--mixture", THREE, "--in", x_path, "--out", out_path,
                                                 "--schedule", "vp-linear", "--t", "0.2", NULL});
    cr_expect(r.status == 0 && strstr(r.err, "scorefield burgers-residual: 100% after"), "%s", r.err);
    r = run_cli((const char *const[]){"wkb", "--out-dir", dir, "--model-scale", "1,0.8", NULL});
    cr_expect(r.status == 0 && strstr(r.err, "scorefield wkb:  50% after") && strstr(r.err, "scorefield wkb: 100% after"),
              "%s", r.err);
    r = run_cli((const char *const[]){"wkb", "--out-dir", dir, "--model-scale", "1,0.8", "--quiet", NULL});
    cr_expect(r.status == 0 && r.err_len == 0, "--quiet: %s", r.err);
    r = run_cli((const char *const[]){"check", "--backend", "cpu", "--n", "500", NULL});
    cr_expect(r.status == 0 && strstr(r.err, "scorefield check:  50% after"), "check: %s", r.err);
    unsetenv("SCOREFIELD_PROGRESS_AFTER");
}
