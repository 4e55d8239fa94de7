/* Issue 8, "Never lose a user's data": each defect found as a regression test on the real binary
 * (cli_harness.h), and the contract of README "Outputs, errors and exit codes": a run leaves every
 * output it was asked for, complete, or the file system as it found it; special files and symbolic
 * links are never replaced; counts are strict; non-finite results are failures; interruption
 * removes the run's temporaries; exit codes 0 / 1 / 2 / 3 / 129 / 130 / 143; --quiet prints only
 * errors. The library side of the output sets is in test_staging.c. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* mkfifo, symlink, kill */
#endif
#include "cli_harness.h"

#include <criterion/criterion.h>
#include <scorefield.h>

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

TestSuite(safety, .init = cli_make_tmpdir, .fini = cli_remove_tmpdir);

#define THREE_KINDS SF_EXAMPLES_DIR "/three_kinds.json"

/* ---------------------------------------------------------------- helpers */

/* The whole content of a file (up to 1 MB), for before/after comparisons; caller frees. */
static char *snapshot(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot read %s: %s", path, strerror(errno));
    char *buf = malloc(1 << 20);
    cr_assert_not_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void expect_unchanged(const char *path, const char *before, size_t len)
{
    size_t now_len;
    char *now = snapshot(path, &now_len);
    cr_expect(now_len == len && memcmp(now, before, len) == 0, "%s was changed by a failed or interrupted run", path);
    free(now);
}

static void expect_no_temporaries(void)
{
    char names[2048];
    cr_expect_eq(leftover_temporaries(names, sizeof names), 0, "temporary files left:%s", names);
}

/* The standard inputs plus earlier outputs at out_path and logp_path from a successful run. */
static void earlier_run(void)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    cr_assert_eq(r.status, 0, "%s", r.err);
}

/* N x d float64 particles at `path`, spread over [-2, 2) (a fixed sequence: no randomness needed). */
static void write_particles(const char *path, size_t n, int d)
{
    double *x = malloc(n * d * sizeof(double));
    cr_assert_not_null(x);
    for (size_t i = 0; i < n * d; i++) x[i] = 4.0 * ((i * 2654435761u) % 1000003) / 1000003.0 - 2.0;
    char shape[64];
    snprintf(shape, sizeof shape, "(%zu, %d)", n, d);
    write_npy(path, "<f8", shape, x, n * d * sizeof(double));
    free(x);
}

/* Starts the CLI, waits until its temporary files exist (the outputs are prepared and the work has
 * begun), and sends `sig`. */
static cli_result interrupt_when_working(const char *const *args, int sig)
{
    cli_process p = cli_start(args);
    char names[2048] = "";
    for (int i = 0; i < 3000 && temporaries_under(tmpdir, names, sizeof names) == 0; i++) {
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
        names[0] = '\0';
    }
    cr_expect(names[0] != '\0', "no temporary file appeared within 30 s");
    kill(p.pid, sig);
    return cli_wait(&p);
}

/* ---------------------------------------------------------------- 1. a failed run deletes nothing */

/* The reproducer: --out names the input and --logp a missing folder. Exit 2, the input intact. */
Test(safety, failed_run_keeps_its_input)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    size_t len;
    char *before = snapshot(x_path, &len);
    char nodir[PATH_LEN];
    tmp_path(nodir, "nodir/l.npy");
    cli_result r = run_cli((const char *const[]){"score", "--mixture", mix_path, "--schedule", "ve", "--t", "0.3", "--in",
                                                 x_path, "--out", x_path, "--logp", nodir, NULL});
    cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
    cr_expect(file_exists(x_path), "the input was removed");
    if (file_exists(x_path)) expect_unchanged(x_path, before, len);
    free(before);
    expect_no_temporaries();
}

/* A run whose --logp cannot be written leaves the previous run's --out and --div files alone. */
Test(safety, failed_run_keeps_earlier_outputs)
{
    char div_path[PATH_LEN], nodir[PATH_LEN];
    tmp_path(div_path, "div.npy"), tmp_path(nodir, "nodir/l.npy");
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = run_cli((const char *const[]){"score", "--mixture", mix_path, "--schedule", "ve", "--t", "0.3", "--in",
                                                 x_path, "--out", out_path, "--div", div_path, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    size_t out_len, div_len;
    char *out_before = snapshot(out_path, &out_len), *div_before = snapshot(div_path, &div_len);
    r = run_cli((const char *const[]){"score", "--mixture", mix_path, "--schedule", "ve", "--t", "0.7", "--in", x_path,
                                      "--out", out_path, "--div", div_path, "--logp", nodir, NULL});
    cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.err, nodir) != NULL, "the message names the bad path: %s", r.err);
    cr_expect(file_exists(out_path) && file_exists(div_path), "earlier outputs were removed");
    if (file_exists(out_path)) expect_unchanged(out_path, out_before, out_len);
    if (file_exists(div_path)) expect_unchanged(div_path, div_before, div_len);
    free(out_before), free(div_before);
    expect_no_temporaries();
}

/* ---------------------------------------------------------------- 2. special files are never replaced */

Test(safety, special_file_outputs_are_refused)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    char fifo[PATH_LEN], link[PATH_LEN], victim[PATH_LEN], folder[PATH_LEN];
    tmp_path(fifo, "fifo.npy"), tmp_path(link, "link.npy"), tmp_path(victim, "victim.npy"), tmp_path(folder, "folder.npy");
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    write_text(victim, "victim\n");
    cr_assert_eq(symlink(victim, link), 0);
    cr_assert_eq(mkdir(folder, 0700), 0);
    const char *outs[3] = {fifo, link, folder};
    for (int k = 0; k < 3; k++) {
        cli_result r = run_cli((const char *const[]){"score", "--mixture", mix_path, "--schedule", "ve", "--t", "0.3",
                                                     "--in", x_path, "--out", outs[k], NULL});
        cr_expect_eq(r.status, 2, "%s: exit %d", outs[k], r.status);
        cr_expect(strstr(r.err, outs[k]) != NULL, "the message names %s: %s", outs[k], r.err);
    }
    struct stat sb;
    cr_expect(lstat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode), "the FIFO was replaced");
    cr_expect(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode), "the symbolic link was replaced");
    cr_expect(lstat(folder, &sb) == 0 && S_ISDIR(sb.st_mode));
    size_t len;
    char *v = snapshot(victim, &len);
    cr_expect(len == 7 && memcmp(v, "victim\n", 7) == 0, "the link's target was written");
    free(v);
    expect_no_temporaries();
}

/* An analysis whose folder holds a folder where a figure goes: refused before any work, so no
 * CSV is left beside it (before issue 8 the CSV was written and the command then failed). */
Test(safety, analysis_outputs_are_checked_before_any_work)
{
    char dir[PATH_LEN], blocker[PATH_LEN + 32], csv[PATH_LEN + 32], file[PATH_LEN];
    tmp_path(dir, "dw");
    snprintf(blocker, sizeof blocker, "%s/profiles.svg", dir);
    snprintf(csv, sizeof csv, "%s/profiles.csv", dir);
    cr_assert_eq(mkdir(dir, 0700), 0);
    cr_assert_eq(mkdir(blocker, 0700), 0);
    cli_result r = run_cli((const char *const[]){"doublewell", "--out-dir", dir, NULL});
    cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.err, "profiles.svg") != NULL, "%s", r.err);
    cr_expect(!file_exists(csv), "a partial CSV was left");
    tmp_path(file, "plain");
    write_text(file, "not a folder\n");
    r = run_cli((const char *const[]){"doublewell", "--out-dir", file, NULL});
    cr_expect_eq(r.status, 2, "--out-dir naming a file: exit %d", r.status);
    expect_no_temporaries();
}

/* A failed analysis removes the folder it created (before issue 8 an empty folder was left). */
Test(safety, failed_analysis_removes_the_folder_it_created)
{
    write_text(mix_path, "{\"dim\": 1, \"components\": [{\"weight\": 1, \"mean\": [0.0], \"var\": 0}]}");
    char dir[PATH_LEN];
    tmp_path(dir, "new_folder");
    cli_result r = run_cli((const char *const[]){"wkb", "--mixture", mix_path, "--schedule", "vp-linear", "--out-dir", dir, NULL});
    cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
    cr_expect(!file_exists(dir), "the folder created by the failed run is still there");
}

/* ---------------------------------------------------------------- 4, 8. strict counts */

/* --every values that overflowed the heap, corrupted it or divided by zero. */
Test(safety, every_values_that_corrupted_memory_are_refused)
{
    char traj[PATH_LEN];
    tmp_path(traj, "traj.npy");
    static const char *const bad[3] = {"4294967297", " -1", "4294967296"};
    for (int k = 0; k < 3; k++) {
        cli_result r = run_cli((const char *const[]){"sample", "--mixture", THREE_KINDS, "--schedule", "ve", "--sampler",
                                                     "em", "--n", "10", "--out", out_path, "--trajectory", traj,
                                                     "--every", bad[k], NULL});
        expect_refused(&r, "--every", NULL);
        cr_expect(!file_exists(traj));
    }
}

/* n * d * 8 overflowed and segfaulted in the analyses. */
Test(safety, huge_counts_are_refused_by_the_analyses)
{
    char dir[PATH_LEN];
    tmp_path(dir, "figs");
    static const char *const commands[3] = {"bandwidth", "blowup", "speciation"};
    for (int c = 0; c < 3; c++) {
        cli_result r = run_cli((const char *const[]){commands[c], "--n", "2305843009213693952", "--out-dir", dir, NULL});
        expect_refused(&r, "--n", "at most");
        cr_expect(!file_exists(dir), "%s created its folder before refusing", commands[c]);
    }
}

/* Counts are decimal digits only: no space, sign, exponent, suffix or overflow; the bound applies. */
Test(safety, counts_are_strict)
{
    static const char *const bad[] = {" 5", "5 ", "+5", "-1", "0x10", "1e3", "", "5x", "18446744073709551616",
                                      "10000001"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        cli_result r = run_cli((const char *const[]){"sample", "--mixture", THREE_KINDS, "--schedule", "ve", "--sampler",
                                                     "em", "--n", "10", "--steps", bad[k], "--out", out_path, NULL});
        expect_refused(&r, "--steps", NULL);
    }
    cli_result r = run_cli((const char *const[]){"sample", "--mixture", THREE_KINDS, "--schedule", "ve", "--sampler", "em",
                                                 "--n", "10", "--class", " 1", "--out", out_path, NULL});
    expect_refused(&r, "--class", NULL);
}

/* --n 1e15 is not a count, and a count above the stated bound is refused. */
Test(safety, absurd_particle_counts_are_refused)
{
    static const char *const bad[2] = {"1e15", "1000000000000000"};
    for (int k = 0; k < 2; k++) {
        cli_result r = run_cli((const char *const[]){"sample", "--mixture", THREE_KINDS, "--schedule", "ve", "--sampler",
                                                     "em", "--n", bad[k], "--out", out_path, NULL});
        expect_refused(&r, "--n", NULL);
    }
}

/* Outputs that cannot fit on the disk are refused before sampling starts: exit 1 (the file
 * system, not the input), nothing written. */
Test(safety, outputs_beyond_the_free_space_are_refused)
{
    char traj[PATH_LEN];
    tmp_path(traj, "traj.npy");
    cli_result r = run_cli((const char *const[]){"sample", "--mixture", THREE_KINDS, "--schedule", "ve", "--sampler", "em",
                                                 "--n", "100000000000", "--steps", "100000", "--every", "1", "--out",
                                                 out_path, "--trajectory", traj, NULL});
    cr_expect_eq(r.status, 1, "exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.err, "free space") != NULL, "%s", r.err);
    cr_expect(!file_exists(out_path) && !file_exists(traj));
    expect_no_temporaries();
}

/* An option given twice is refused, not silently overridden. */
Test(safety, repeated_options_are_refused)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    char other[PATH_LEN];
    tmp_path(other, "other.npy");
    cli_result r = run_cli((const char *const[]){"score", "--mixture", mix_path, "--schedule", "ve", "--t", "0.3", "--in",
                                                 x_path, "--out", out_path, "--out", other, NULL});
    expect_refused(&r, "--out", "twice");
    cr_expect(!file_exists(other));
    r = run_cli((const char *const[]){"score", "--mixture", mix_path, "--schedule", "ve", "--t", "0.3", "--t", "0.5",
                                      "--in", x_path, "--out", out_path, NULL});
    expect_refused(&r, "--t", "twice");
    r = run_cli((const char *const[]){"sample", "--mixture", THREE_KINDS, "--schedule", "ve", "--sampler", "em", "--n",
                                      "5", "--n", "6", "--out", out_path, NULL});
    expect_refused(&r, "--n", "twice");
}

/* Two outputs naming one file (also through another spelling), or an output naming an input. */
Test(safety, one_file_for_two_roles_is_refused)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    char dotted[PATH_LEN + 8];
    snprintf(dotted, sizeof dotted, "%s/./%s", tmpdir, strrchr(out_path, '/') + 1);
    const char *second[2] = {out_path, dotted};
    for (int k = 0; k < 2; k++) {
        cli_result r = run_cli((const char *const[]){"score", "--mixture", mix_path, "--schedule", "ve", "--t", "0.3",
                                                     "--in", x_path, "--out", out_path, "--logp", second[k], NULL});
        expect_refused(&r, "same file", NULL);
    }
    size_t len;
    char *before = snapshot(mix_path, &len);
    cli_result r = run_cli((const char *const[]){"score", "--mixture", mix_path, "--schedule", "ve", "--t", "0.3", "--in",
                                                 x_path, "--out", out_path, "--logp", mix_path, NULL});
    cr_expect_eq(r.status, 2, "exit %d", r.status);
    cr_expect(strstr(r.err, "also an input") != NULL, "%s", r.err);
    expect_unchanged(mix_path, before, len);
    free(before);
}

/* ---------------------------------------------------------------- 5. interruption */

/* SIGINT while sampling: exit 130, no temporary left, the earlier output intact. */
Test(safety, sigint_during_sample_leaves_nothing_behind)
{
    write_text(out_path, "earlier output\n");
    char traj[PATH_LEN];
    tmp_path(traj, "traj.npy");
    cli_result r = interrupt_when_working((const char *const[]){"sample", "--mixture", THREE_KINDS, "--schedule", "ve",
                                                                "--sampler", "em", "--n", "2000", "--steps", "100000",
                                                                "--out", out_path, "--trajectory", traj, "--every",
                                                                "100000", "--backend", "cpu", "--quiet", NULL},
                                          SIGINT);
    cr_expect_eq(r.status, 130, "exit %d: %s", r.status, r.err);
    expect_unchanged(out_path, "earlier output\n", 15);
    cr_expect(!file_exists(traj));
    expect_no_temporaries();
}

/* SIGTERM and SIGHUP: 143 and 129, nothing left. */
Test(safety, sigterm_and_sighup_exit_codes)
{
    static const int signals[2] = {SIGTERM, SIGHUP};
    static const int codes[2] = {143, 129};
    for (int k = 0; k < 2; k++) {
        cli_result r = interrupt_when_working((const char *const[]){"sample", "--mixture", THREE_KINDS, "--schedule",
                                                                    "ve", "--sampler", "heun", "--n", "2000", "--steps",
                                                                    "100000", "--out", out_path, "--backend", "cpu",
                                                                    NULL},
                                              signals[k]);
        cr_expect_eq(r.status, codes[k], "signal %d: exit %d", signals[k], r.status);
        cr_expect(strstr(r.err, "interrupted") != NULL, "%s", r.err);
        cr_expect(!file_exists(out_path));
        expect_no_temporaries();
    }
}

/* SIGTERM while `score` works on many particles: the earlier outputs stay as they were (never a
 * mix of new and old files), no temporaries. */
Test(safety, sigterm_during_score_keeps_the_earlier_outputs)
{
    earlier_run();
    size_t out_len, logp_len;
    char *out_before = snapshot(out_path, &out_len), *logp_before = snapshot(logp_path, &logp_len);
    write_particles(x_path, 2000000, 2);
    char hess[PATH_LEN], lap[PATH_LEN];
    tmp_path(hess, "hessian.npy"), tmp_path(lap, "lap.npy");
    cli_result r = interrupt_when_working((const char *const[]){"score", "--mixture", mix_path, "--schedule", "ve", "--t",
                                                                "0.3", "--in", x_path, "--out", out_path, "--logp",
                                                                logp_path, "--hessian", hess, "--lap", lap, "--backend", "cpu",
                                                                NULL},
                                          SIGTERM);
    cr_expect_eq(r.status, 143, "exit %d: %s", r.status, r.err);
    expect_unchanged(out_path, out_before, out_len);
    expect_unchanged(logp_path, logp_before, logp_len);
    cr_expect(!file_exists(hess) && !file_exists(lap));
    free(out_before), free(logp_before);
    expect_no_temporaries();
}

/* ---------------------------------------------------------------- 6. no silent NaN */

/* Particles near 1e200 overflow |x - mu|^2: a failure of the run naming the particle, no output. */
Test(safety, results_that_overflow_are_failures)
{
    write_text(mix_path, valid_mixture);
    const double x[4] = {0.1, 0.2, 1e200, 0.0};
    write_npy(x_path, "<f8", "(2, 2)", x, sizeof x);
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    cr_expect_eq(r.status, 1, "exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.err, "particle 1") && strstr(r.err, "not finite"), "%s", r.err);
    expect_no_outputs();
}

/* Weights whose sum overflows are refused as out of range (exit 2, naming the file). */
Test(safety, weights_whose_sum_overflows_are_refused)
{
    write_valid_particles();
    write_text(mix_path, "{\"dim\": 2, \"components\": [{\"weight\": 1e308, \"mean\": [1.0, 0.0], \"var\": 0.04},\n"
                         "  {\"weight\": 1e308, \"mean\": [-1.0, 0.0], \"var\": 0.04}]}\n");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "weight");
}

/* A subnormal variance at sigma = 0 makes the precision overflow: refused as out of range. */
Test(safety, subnormal_variance_at_sigma_zero_is_refused)
{
    write_text(mix_path, "{\"dim\": 2, \"components\": [{\"weight\": 1, \"mean\": [1.0, 0.0], \"var\": 5e-324}]}\n");
    write_valid_particles();
    cli_result r = RUN_SCORE("--alpha", "1", "--sigma", "0");
    expect_refused(&r, mix_path, "variance");
}

/* ---------------------------------------------------------------- 8. exit codes and --quiet */

/* Out of memory is a failure of the run (exit 1) in every command: the address space is limited
 * so that the outputs' allocation fails. The limit leaves room for the libraries' own start-up
 * (OpenBLAS allocates its buffers when it is loaded and hangs if that fails; CUDA's libraries map
 * hundreds of MB). */
Test(safety, out_of_memory_exits_1)
{
    enum { D = 2000, N = 200 };
    char *json = malloc(16 * D + 256);
    cr_assert_not_null(json);
    size_t used = (size_t)sprintf(json, "{\"dim\": %d, \"components\": [{\"weight\": 1, \"var\": 0.5, \"mean\": [", D);
    for (int i = 0; i < D; i++) used += (size_t)sprintf(json + used, "%s0.1", i ? ", " : "");
    sprintf(json + used, "]}]}\n");
    write_text(mix_path, json);
    free(json);
    write_particles(x_path, N, D);
    char hess[PATH_LEN];
    tmp_path(hess, "hessian.npy");
    cli_limits limits = {.address_space = (size_t)4 << 30}; /* the Hessian needs 6.4 GB */
    cli_result r = run_cli_limited((const char *const[]){"score", "--mixture", mix_path, "--schedule", "ve", "--t", "0.3",
                                                         "--in", x_path, "--out", out_path, "--hessian", hess,
                                                         "--backend", "cpu", NULL},
                                   &limits);
    cr_expect_eq(r.status, 1, "score: exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.err, "out of memory") != NULL, "%s", r.err);
    cr_expect(!file_exists(out_path) && !file_exists(hess));
    /* one batch of 10^6 particles in d = 2000: 16 GB, beyond the limit (and beyond ASan's cap on one
     * allocation), so it fails at once instead of running */
    r = run_cli_limited((const char *const[]){"sample", "--mixture", mix_path, "--schedule", "ve", "--sampler", "em",
                                              "--n", "1000000", "--batch", "1000000", "--out", out_path, "--backend",
                                              "cpu", NULL},
                        &limits);
    cr_expect_eq(r.status, 1, "sample: exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.err, "out of memory") != NULL, "%s", r.err);
    cr_expect(!file_exists(out_path));
    expect_no_temporaries();
}

/* A write that fails (here: beyond a file-size limit, as on a full disk) is a failure of the run,
 * exit 1, and the earlier outputs stay as they were. */
Test(safety, failed_write_exits_1_and_keeps_the_earlier_outputs)
{
    earlier_run();
    size_t out_len;
    char *out_before = snapshot(out_path, &out_len);
    write_particles(x_path, 20000, 2);
    cli_limits limits = {.file_size = 64 * 1024}; /* the score file needs 320 kB */
    cli_result r = run_cli_limited((const char *const[]){"score", "--mixture", mix_path, "--schedule", "ve", "--t", "0.3",
                                                         "--in", x_path, "--out", out_path, "--backend", "cpu", NULL},
                                   &limits);
    cr_expect_eq(r.status, 1, "exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.err, out_path) != NULL, "%s", r.err);
    expect_unchanged(out_path, out_before, out_len);
    free(out_before);
    expect_no_temporaries();
}

/* --quiet: nothing on stdout or stderr from any command that succeeds, progress included. */
Test(safety, quiet_prints_nothing_on_success)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    char dir[PATH_LEN], u[PATH_LEN], l[PATH_LEN];
    tmp_path(dir, "figs"), tmp_path(u, "u.npy"), tmp_path(l, "l.npy");
    const char *const runs[][32] = {
        {"score", "--mixture", mix_path, "--schedule", "ve", "--t", "0.3", "--in", x_path, "--out", out_path, "--quiet", NULL},
        {"burgers-residual", "--mixture", mix_path, "--schedule", "ve", "--t", "0.3", "--in", x_path, "--out", out_path,
         "--quiet", NULL},
        {"loglik", "--mixture", mix_path, "--schedule", "vp-linear", "--t0", "0.3", "--in", x_path, "--out", l, "--quiet", NULL},
        {"sample", "--mixture", mix_path, "--schedule", "vp-linear", "--sampler", "ddim", "--n", "20000", "--steps", "100",
         "--out", out_path, "--backend", "cpu", "--quiet", NULL}, /* 2e6 particle-steps: progress without --quiet */
        {"burgers", "--mixture", SF_EXAMPLES_DIR "/symmetric_binary.json", "--grid", "16", "--box", "8", "--tau0", "0.1",
         "--tau1", "0.2", "--route", "direct", "--steps", "60", "--out", u, "--quiet", NULL},
        {"info", "--quiet", NULL},
        {"doublewell", "--out-dir", dir, "--quiet", NULL},
        {"wkb", "--out-dir", dir, "--quiet", NULL},
        {"blowup", "--out-dir", dir, "--n", "200", "--points", "3", "--quiet", NULL},
        {"bandwidth", "--out-dir", dir, "--n", "100", "--points", "2", "--quiet", NULL},
        {"speciation", "--out-dir", dir, "--n", "5", "--steps", "20", "--quiet", NULL},
    };
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        cli_result r = run_cli(runs[k]);
        cr_expect_eq(r.status, 0, "%s --quiet: exit %d: %s", runs[k][0], r.status, r.err);
        cr_expect(r.out[0] == '\0' && r.err[0] == '\0', "%s --quiet printed: \"%s\" / \"%s\"", runs[k][0], r.out, r.err);
    }
}
