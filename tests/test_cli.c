/* The real `scorefield` binary. Suite cli: help, info, check without a device, and a score run
 * whose files equal the library's results. Suite bad_input: bad input to `scorefield score`: every class of bad mixture file, particles file,
 * time and option must be refused with exit status 2 and a one-line "scorefield: ..." message on
 * stderr naming the offending file (or, where there is none, the option or value), and must leave
 * no output file and no temporary file (".tmp.") behind (DESIGN.md, "Interfaces that outside checks
 * rely on"). Each test runs the CLI by fork + execv in a fresh directory under /tmp. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* mkdtemp */
#endif
#include <criterion/criterion.h>
#include <scorefield.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SF_CLI_PATH
#error "SF_CLI_PATH (the scorefield binary) must be defined by the build"
#endif
#ifndef SF_EXAMPLES_DIR
#define SF_EXAMPLES_DIR "examples"
#endif

#define PATH_LEN 512
#define ERR_LEN 8192

/* ---------------------------------------------------------------- fixture: a fresh directory per test */

static char tmpdir[64];
/* The paths most tests use: the mixture, the particles and two outputs, all inside tmpdir. */
static char mix_path[PATH_LEN], x_path[PATH_LEN], out_path[PATH_LEN], logp_path[PATH_LEN];

static void tmp_path(char *buf, const char *name) { snprintf(buf, PATH_LEN, "%s/%s", tmpdir, name); }

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sf_test_cli_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
    tmp_path(mix_path, "mixture.json");
    tmp_path(x_path, "particles.npy");
    tmp_path(out_path, "score.npy");
    tmp_path(logp_path, "logp.npy");
}

static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char p[PATH_LEN * 2];
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        if (unlink(p) != 0) rmdir(p);
    }
    closedir(d);
    rmdir(tmpdir);
}

TestSuite(bad_input, .init = make_tmpdir, .fini = remove_tmpdir);
TestSuite(cli, .init = make_tmpdir, .fini = remove_tmpdir);

/* ---------------------------------------------------------------- writing inputs */

static void write_file(const char *path, const void *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(bytes, 1, len, f), len, "cannot write %s", path);
    cr_assert_eq(fclose(f), 0, "cannot close %s", path);
}

static void write_text(const char *path, const char *text) { write_file(path, text, strlen(text)); }

/* A v1.0 .npy header for dtype `descr` and shape text `shape` (e.g. "(3, 2)"), padded with spaces
 * and a final '\n' so that the data starts at a multiple of 64 bytes; returns its length. */
static size_t write_npy_header(unsigned char *buf, size_t cap, const char *descr, const char *shape)
{
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    cr_assert(n > 0 && (size_t)n < sizeof dict);
    size_t total = (10 + (size_t)n + 1 + 63) / 64 * 64, hlen = total - 10;
    cr_assert_leq(total, cap);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memset(buf + 10, ' ', hlen);
    memcpy(buf + 10, dict, (size_t)n);
    buf[total - 1] = '\n';
    return total;
}

/* A .npy file: the header for (descr, shape) followed by `nbytes` bytes of data (which need not
 * match the shape: that is how truncated files are made). Data are in host order (little-endian). */
static void write_npy(const char *path, const char *descr, const char *shape, const void *data, size_t nbytes)
{
    unsigned char *buf = malloc(256 + nbytes);
    cr_assert_not_null(buf);
    size_t h = write_npy_header(buf, 256, descr, shape);
    if (nbytes) memcpy(buf + h, data, nbytes);
    write_file(path, buf, h + nbytes);
    free(buf);
}

static const double particles_3x2[6] = {0.1, -0.2, 1.0, 0.5, -0.7, 1.9};

/* Valid 3 x 2 float64 particles at x_path. */
static void write_valid_particles(void) { write_npy(x_path, "<f8", "(3, 2)", particles_3x2, sizeof particles_3x2); }

/* A valid 2-d mixture of every covariance kind (the DESIGN.md example). */
static const char valid_mixture[] =
    "{\"dim\": 2,\n"
    " \"components\": [\n"
    "   {\"weight\": 0.5, \"mean\": [1.0, 0.0], \"var\": 0.04},\n"
    "   {\"weight\": 0.3, \"mean\": [-1.0, 0.0], \"var\": [0.04, 0.09]},\n"
    "   {\"weight\": 0.2, \"mean\": [0.0, 2.0], \"var\": 0.0, \"basis\": [[0.6, 0.8]], \"eig\": [0.5]}]}\n";

/* A mixture file with one bad component `bad` after a good one, plus valid particles. */
static void write_inputs_with_component(const char *bad)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"dim\": 2, \"components\": [\n"
             "  {\"weight\": 0.5, \"mean\": [1.0, 0.0], \"var\": 0.04},\n"
             "  %s]}\n", bad);
    write_text(mix_path, text);
    write_valid_particles();
}

/* ---------------------------------------------------------------- running the CLI */

typedef struct {
    int status;        /* exit status; 128 + signal if killed; -1 if it could not be run */
    char err[ERR_LEN]; /* everything written to stderr (NUL-terminated, truncated to ERR_LEN - 1) */
    size_t err_len;
    char out[ERR_LEN]; /* the same for stdout */
} cli_result;

/* Reads what a child wrote to fd (from the start) into buf, NUL-terminated; returns the length. */
static size_t slurp(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    ssize_t got;
    lseek(fd, 0, SEEK_SET);
    while (len < cap - 1 && (got = read(fd, buf + len, cap - 1 - len)) > 0) len += (size_t)got;
    buf[len] = '\0';
    return len;
}

/* Runs SF_CLI_PATH with args (NULL-terminated, without argv[0]) in tmpdir; stdout and stderr are
 * captured through files outside tmpdir (so tmpdir holds only what the CLI sees). */
static cli_result run_cli(const char *const *args)
{
    static cli_result r;
    memset(&r, 0, sizeof r);
    const char *argv[64];
    int argc = 0;
    argv[argc++] = SF_CLI_PATH;
    for (; *args; args++) {
        cr_assert_lt(argc, 63);
        argv[argc++] = *args;
    }
    argv[argc] = NULL;

    char err_path[] = "/tmp/sf_test_cli_stderr_XXXXXX", out_file[] = "/tmp/sf_test_cli_stdout_XXXXXX";
    int err_fd = mkstemp(err_path), out_fd = mkstemp(out_file);
    cr_assert(err_fd >= 0 && out_fd >= 0, "mkstemp: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (dup2(out_fd, STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0 || chdir(tmpdir) != 0)
            _exit(127);
        execv(SF_CLI_PATH, (char *const *)argv);
        _exit(127);
    }
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
    r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : -1;

    r.err_len = slurp(err_fd, r.err, ERR_LEN);
    slurp(out_fd, r.out, ERR_LEN);
    close(err_fd), close(out_fd);
    unlink(err_path), unlink(out_file);
    return r;
}

/* `scorefield score` on the standard paths (with --logp, so two outputs are at stake), CPU backend,
 * followed by the given time arguments. */
#define RUN_SCORE(...)                                                                                 \
    run_cli((const char *const[]){"score", "--mixture", mix_path, "--in", x_path, "--out", out_path,  \
                                  "--logp", logp_path, "--backend", "cpu", "--quiet", __VA_ARGS__, NULL})

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Names in tmpdir containing ".tmp." (temporary files left behind), for the message. */
static int leftover_temporaries(char *names, size_t cap)
{
    int count = 0;
    names[0] = '\0';
    DIR *d = opendir(tmpdir);
    cr_assert_not_null(d, "opendir %s: %s", tmpdir, strerror(errno));
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strstr(e->d_name, ".tmp.")) {
            count++;
            size_t used = strlen(names);
            snprintf(names + used, cap - used, " %s", e->d_name);
        }
    closedir(d);
    return count;
}

static void expect_no_outputs(void)
{
    cr_expect(!file_exists(out_path), "the --out file %s exists after a refused run", out_path);
    cr_expect(!file_exists(logp_path), "the --logp file %s exists after a refused run", logp_path);
    char names[1024];
    cr_expect_eq(leftover_temporaries(names, sizeof names), 0, "temporary files left in %s:%s", tmpdir, names);
}

/* The contract for bad input: exit 2; stderr is exactly one line starting "scorefield: " and contains
 * `name` (the offending file, or the option/value) and, if not NULL, `also`; no output is left. */
static void expect_refused(const cli_result *r, const char *name, const char *also)
{
    cr_expect_eq(r->status, 2, "exit status %d, expected 2 (bad input); stderr: \"%s\"", r->status, r->err);
    size_t newlines = 0;
    for (size_t i = 0; i < r->err_len; i++) newlines += r->err[i] == '\n';
    cr_expect(newlines == 1 && r->err_len > 0 && r->err[r->err_len - 1] == '\n' && strlen(r->err) == r->err_len,
              "stderr must be exactly one line ending in a newline; got %zu newline(s), %zu bytes: \"%s\"", newlines,
              r->err_len, r->err);
    cr_expect(strncmp(r->err, "scorefield: ", 12) == 0, "stderr does not start with \"scorefield: \": \"%s\"", r->err);
    cr_expect(strstr(r->err, name) != NULL, "stderr does not name \"%s\": \"%s\"", name, r->err);
    if (also) cr_expect(strstr(r->err, also) != NULL, "stderr does not mention \"%s\": \"%s\"", also, r->err);
    expect_no_outputs();
}

/* ---------------------------------------------------------------- the harness works */

Test(bad_input, positive_control_valid_run_writes_outputs)
{
    write_valid_particles();
    cli_result r = run_cli((const char *const[]){"score", "--mixture", SF_EXAMPLES_DIR "/three_kinds.json", "--in",
                                                 x_path, "--out", out_path, "--logp", logp_path, "--backend", "cpu",
                                                 "--quiet", "--schedule", "ve", "--t", "0.3", NULL});
    cr_expect_eq(r.status, 0, "a valid run exited %d; stderr: \"%s\"", r.status, r.err);
    cr_expect_eq(r.err_len, 0, "a valid run wrote to stderr: \"%s\"", r.err);
    cr_expect(file_exists(out_path), "the --out file %s was not created", out_path);
    cr_expect(file_exists(logp_path), "the --logp file %s was not created", logp_path);
    char names[1024];
    cr_expect_eq(leftover_temporaries(names, sizeof names), 0, "temporary files left in %s:%s", tmpdir, names);
    /* The score file is a float64 .npy of shape (3, 2). */
    FILE *f = fopen(out_path, "rb");
    cr_assert_not_null(f);
    char head[128] = {0};
    size_t n = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    cr_expect(n > 10 && memcmp(head, "\x93NUMPY", 6) == 0, "the --out file is not a .npy file");
    cr_expect(strstr(head + 10, "'<f8'") && strstr(head + 10, "(3, 2)"), "unexpected header: %s", head + 10);
}

/* ---------------------------------------------------------------- mixture files */

Test(bad_input, malformed_json)
{
    write_text(mix_path, "{\"dim\": 2, \"components\": [{\"weight\": 0.5,, \"mean\": [1, 0], \"var\": 0.1}]}\n");
    write_valid_particles();
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, NULL);
}

Test(bad_input, truncated_json)
{
    size_t half = strlen(valid_mixture) / 2;
    write_file(mix_path, valid_mixture, half);
    write_valid_particles();
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, NULL);
}

Test(bad_input, negative_weight)
{
    write_inputs_with_component("{\"weight\": -0.3, \"mean\": [-1.0, 0.0], \"var\": 0.04}");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "weight");
}

Test(bad_input, zero_weight)
{
    write_inputs_with_component("{\"weight\": 0, \"mean\": [-1.0, 0.0], \"var\": 0.04}");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "weight");
}

Test(bad_input, negative_variance)
{
    write_inputs_with_component("{\"weight\": 0.3, \"mean\": [-1.0, 0.0], \"var\": -0.04}");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "var");
}

Test(bad_input, negative_diagonal_variance)
{
    write_inputs_with_component("{\"weight\": 0.3, \"mean\": [-1.0, 0.0], \"var\": [0.04, -0.09]}");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "var");
}

Test(bad_input, non_numeric_variance)
{
    write_inputs_with_component("{\"weight\": 0.3, \"mean\": [-1.0, 0.0], \"var\": \"abc\"}");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "var");
}

Test(bad_input, non_orthonormal_basis)
{
    write_inputs_with_component(
        "{\"weight\": 0.2, \"mean\": [0.0, 2.0], \"var\": 0.0, \"basis\": [[0.6, 0.6]], \"eig\": [0.5]}");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "orthonormal");
}

Test(bad_input, basis_without_eig)
{
    write_inputs_with_component("{\"weight\": 0.2, \"mean\": [0.0, 2.0], \"var\": 0.0, \"basis\": [[0.6, 0.8]]}");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "eig");
}

Test(bad_input, eig_not_positive)
{
    write_inputs_with_component(
        "{\"weight\": 0.2, \"mean\": [0.0, 2.0], \"var\": 0.0, \"basis\": [[0.6, 0.8]], \"eig\": [0.0]}");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "eig");
}

Test(bad_input, mean_of_wrong_length)
{
    write_inputs_with_component("{\"weight\": 0.3, \"mean\": [-1.0, 0.0, 4.0], \"var\": 0.04}");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "mean");
}

Test(bad_input, unknown_key_in_component)
{
    write_inputs_with_component("{\"weight\": 0.3, \"mean\": [-1.0, 0.0], \"varr\": 0.04}");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "varr");
}

Test(bad_input, missing_mixture_file)
{
    write_valid_particles(); /* mix_path is never written */
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, NULL);
}

Test(bad_input, compact_form_naming_missing_npy)
{
    double means[4] = {1, 0, -1, 0};
    char m[PATH_LEN];
    tmp_path(m, "means.npy");
    write_npy(m, "<f8", "(2, 2)", means, sizeof means);
    write_text(mix_path, "{\"dim\": 2, \"weights\": \"no_such_weights.npy\", \"means\": \"means.npy\", \"var\": 0.1}");
    write_valid_particles();
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "no_such_weights.npy");
}

Test(bad_input, compact_form_means_of_wrong_shape)
{
    double weights[2] = {0.4, 0.6}, means[6] = {1, 0, 0, -1, 0, 0};
    char w[PATH_LEN], m[PATH_LEN];
    tmp_path(w, "weights.npy");
    tmp_path(m, "means.npy");
    write_npy(w, "<f8", "(2,)", weights, sizeof weights);
    write_npy(m, "<f8", "(2, 3)", means, sizeof means); /* dim is 2 */
    write_text(mix_path, "{\"dim\": 2, \"weights\": \"weights.npy\", \"means\": \"means.npy\", \"var\": 0.1}");
    write_valid_particles();
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "means");
}

/* ---------------------------------------------------------------- particles files */

Test(bad_input, particles_of_wrong_width)
{
    write_text(mix_path, valid_mixture);
    double x[6] = {0, 1, 2, 3, 4, 5};
    write_npy(x_path, "<f8", "(2, 3)", x, sizeof x); /* the mixture has dim 2 */
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, x_path, NULL);
}

Test(bad_input, particles_containing_nan)
{
    write_text(mix_path, valid_mixture);
    double x[6] = {0.1, -0.2, 1.0, NAN, -0.7, 1.9};
    write_npy(x_path, "<f8", "(3, 2)", x, sizeof x);
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, x_path, NULL);
}

Test(bad_input, particles_containing_inf)
{
    write_text(mix_path, valid_mixture);
    double x[6] = {0.1, -0.2, 1.0, 0.5, -INFINITY, 1.9};
    write_npy(x_path, "<f8", "(3, 2)", x, sizeof x);
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, x_path, NULL);
}

Test(bad_input, particles_of_wrong_dtype)
{
    write_text(mix_path, valid_mixture);
    int64_t x[6] = {0, 1, 2, 3, 4, 5};
    write_npy(x_path, "<i8", "(3, 2)", x, sizeof x);
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, x_path, "<i8");
}

Test(bad_input, particles_of_wrong_rank)
{
    write_text(mix_path, valid_mixture);
    double x[12] = {0};
    write_npy(x_path, "<f8", "(3, 2, 2)", x, sizeof x);
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, x_path, NULL);
}

Test(bad_input, particles_with_bad_magic)
{
    write_text(mix_path, valid_mixture);
    unsigned char buf[256];
    size_t h = write_npy_header(buf, sizeof buf, "<f8", "(3, 2)");
    memcpy(buf + h, particles_3x2, sizeof particles_3x2);
    buf[1] = 'X'; /* "\x93XUMPY" */
    write_file(x_path, buf, h + sizeof particles_3x2);
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, x_path, NULL);
}

Test(bad_input, particles_with_truncated_data)
{
    write_text(mix_path, valid_mixture);
    write_npy(x_path, "<f8", "(3, 2)", particles_3x2, sizeof particles_3x2 - 12); /* 36 of 48 bytes */
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, x_path, NULL);
}

/* ---------------------------------------------------------------- time */

Test(bad_input, ve_time_above_one)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "1.5");
    expect_refused(&r, "1.5", NULL);
}

Test(bad_input, vp_cosine_time_one)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = RUN_SCORE("--schedule", "vp-cosine", "--t", "1");
    expect_refused(&r, "t = 1", "vp-cosine");
}

Test(bad_input, direct_alpha_zero)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = RUN_SCORE("--alpha", "0", "--sigma", "1");
    expect_refused(&r, "alpha", NULL);
}

Test(bad_input, direct_sigma_negative)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = RUN_SCORE("--alpha", "1", "--sigma", "-1");
    expect_refused(&r, "sigma", "-1");
}

/* vp-linear at t = 0 has sigma = 0, where a component with "var": 0 and a basis has a singular
 * covariance: refused, and the message names the mixture file whose component it is. */
Test(bad_input, singular_subspace_component_at_time_zero)
{
    write_text(mix_path, valid_mixture); /* component 2: var 0 with a rank-1 basis */
    write_valid_particles();
    cli_result r = RUN_SCORE("--schedule", "vp-linear", "--t", "0");
    expect_refused(&r, mix_path, NULL);
}

/* ---------------------------------------------------------------- options and commands */

Test(bad_input, unknown_option)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3", "--frobnicate");
    expect_refused(&r, "--frobnicate", NULL);
}

Test(bad_input, unknown_command)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = run_cli((const char *const[]){"frobnicate", "--mixture", mix_path, "--in", x_path, "--out",
                                                 out_path, "--schedule", "ve", "--t", "0.3", NULL});
    expect_refused(&r, "frobnicate", NULL);
}

Test(bad_input, unknown_schedule)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = RUN_SCORE("--schedule", "ve-linear", "--t", "0.3");
    expect_refused(&r, "ve-linear", NULL);
}

Test(bad_input, missing_in)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = run_cli((const char *const[]){"score", "--mixture", mix_path, "--out", out_path, "--logp",
                                                 logp_path, "--schedule", "ve", "--t", "0.3", NULL});
    expect_refused(&r, "--in", NULL);
}

Test(bad_input, missing_out)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = run_cli((const char *const[]){"score", "--mixture", mix_path, "--in", x_path, "--logp", logp_path,
                                                 "--schedule", "ve", "--t", "0.3", NULL});
    expect_refused(&r, "--out", NULL);
}

Test(bad_input, missing_mixture_option)
{
    write_valid_particles();
    cli_result r = run_cli((const char *const[]){"score", "--in", x_path, "--out", out_path, "--logp", logp_path,
                                                 "--schedule", "ve", "--t", "0.3", NULL});
    expect_refused(&r, "--mixture", NULL);
}

/* ---------------------------------------------------------------- failure while writing */

/* --out is written first; then --logp cannot be written (its directory does not exist): exit 2,
 * and the --out file already written is removed again. */
Test(bad_input, second_output_unwritable_removes_first)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    tmp_path(logp_path, "no_such_directory/logp.npy");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, logp_path, NULL);
}

/* ---------------------------------------------------------------- suite cli: what works */

Test(cli, help_for_every_command)
{
    static const char *const commands[] = {"score", "info", "check"};
    for (int c = 0; c < 3; c++) {
        cli_result r = run_cli((const char *const[]){commands[c], "--help", NULL});
        cr_expect_eq(r.status, 0, "%s --help exited %d", commands[c], r.status);
        cr_expect(strstr(r.out, "usage: scorefield") != NULL, "%s --help printed: %s", commands[c], r.out);
    }
    cli_result r = run_cli((const char *const[]){"--help", NULL});
    cr_expect_eq(r.status, 0);
    cr_expect(strstr(r.out, "score") && strstr(r.out, "check") && strstr(r.out, "info"), "%s", r.out);
}

Test(cli, info_reports_cuda_state)
{
    cli_result r = run_cli((const char *const[]){"info", NULL});
    cr_expect_eq(r.status, 0);
    cr_expect(strstr(r.out, "CUDA backend") && (strstr(r.out, "device 0") || strstr(r.out, "CUDA devices none:")),
              "info printed: %s", r.out);
}

Test(cli, check_without_device_says_so)
{
    const char *why;
    if (sf_cuda_device_count(&why) > 0) cr_skip_test("a CUDA device is present: gpu tests cover check");
    cli_result r = run_cli((const char *const[]){"check", "--n", "10", NULL});
    cr_expect_eq(r.status, 3, "check without a device exited %d", r.status);
    cr_expect(strstr(r.out, "no CUDA device") != NULL, "%s", r.out);
}

/* The files `scorefield score` writes hold what the library computes for the same input. */
Test(cli, score_files_equal_library_results)
{
    write_valid_particles();
    char div_path[PATH_LEN], resp_path[PATH_LEN], den_path[PATH_LEN];
    tmp_path(div_path, "div.npy"), tmp_path(resp_path, "resp.npy"), tmp_path(den_path, "denoise.npy");
    cli_result r = run_cli((const char *const[]){"score", "--mixture", SF_EXAMPLES_DIR "/three_kinds.json", "--in",
                                                 x_path, "--out", out_path, "--logp", logp_path, "--div", div_path,
                                                 "--resp", resp_path, "--denoise", den_path, "--backend", "cpu",
                                                 "--schedule", "vp-cosine", "--t", "0.45", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "3 particles, d = 2, K = 3") != NULL, "summary: %s", r.out);
    sf_mixture *m;
    cr_assert_eq(sf_mixture_read_json(&m, SF_EXAMPLES_DIR "/three_kinds.json"), SF_OK);
    sf_schedule s = sf_schedule_default(SF_SCHEDULE_VP_COSINE);
    sf_time t;
    sf_schedule_at(&s, 0.45, &t);
    double score[6], logp[3], div[3], resp[9], den[6];
    sf_context *ctx;
    sf_context_create(&ctx, SF_BACKEND_CPU, SF_PRECISION_F64, 0);
    sf_outputs o = {.score = score, .logp = logp, .resp = resp, .div = div, .denoise = den};
    cr_assert_eq(sf_evaluate(ctx, m, &t, particles_3x2, 3, &o), SF_OK);
    const char *paths[5] = {out_path, logp_path, resp_path, div_path, den_path};
    const double *want[5] = {score, logp, resp, div, den};
    size_t count[5] = {6, 3, 9, 3, 6};
    int ndim[5] = {2, 1, 2, 1, 2};
    for (int f = 0; f < 5; f++) {
        sf_array a;
        cr_assert_eq(sf_npy_read(paths[f], &a), SF_OK, "%s", sf_last_error());
        cr_expect_eq(a.ndim, ndim[f], "%s: ndim %d", paths[f], a.ndim);
        cr_assert_eq(sf_array_size(&a), count[f], "%s: %zu values", paths[f], sf_array_size(&a));
        for (size_t i = 0; i < count[f]; i++) cr_expect_eq(a.data[i], want[f][i], "%s[%zu]", paths[f], i);
        sf_array_free(&a);
    }
    sf_context_destroy(ctx);
    sf_mixture_destroy(m);
}

/* burgers-residual writes the residual and scale; for an exact score |R| / scale is at rounding level. */
Test(cli, burgers_residual_is_at_rounding_level)
{
    write_valid_particles();
    char scale_path[PATH_LEN];
    tmp_path(scale_path, "scale.npy");
    static const char *const forms[2] = {"heat", "vp"};
    for (int f = 0; f < 2; f++) {
        cli_result r = run_cli((const char *const[]){"burgers-residual", "--mixture", SF_EXAMPLES_DIR "/three_kinds.json",
                                                     "--in", x_path, "--out", out_path, "--scale", scale_path, "--form",
                                                     forms[f], "--schedule", "vp-linear", "--t", "0.2", NULL});
        cr_assert_eq(r.status, 0, "%s", r.err);
        cr_expect(strstr(r.out, "|R| / scale") != NULL, "%s", r.out);
        sf_array R, S;
        cr_assert_eq(sf_npy_read(out_path, &R), SF_OK);
        cr_assert_eq(sf_npy_read(scale_path, &S), SF_OK);
        cr_expect(R.ndim == 2 && R.shape[0] == 3 && R.shape[1] == 2 && S.ndim == 1 && S.shape[0] == 3);
        for (int i = 0; i < 3; i++) {
            double norm = hypot(R.data[2 * i], R.data[2 * i + 1]);
            cr_expect(S.data[i] > 0 && norm <= 1e-12 * S.data[i], "%s form particle %d: |R| = %g, scale %g", forms[f], i,
                      norm, S.data[i]);
        }
        sf_array_free(&R), sf_array_free(&S);
    }
}

/* The derivative outputs of `score` as files: shapes, and the Hessian file equals the library's. */
Test(cli, score_derivative_outputs)
{
    write_valid_particles();
    char hess_path[PATH_LEN], hvp_path[PATH_LEN];
    tmp_path(hess_path, "hessian.npy"), tmp_path(hvp_path, "hvp.npy");
    cli_result r = run_cli((const char *const[]){"score", "--mixture", SF_EXAMPLES_DIR "/three_kinds.json", "--in", x_path,
                                                 "--out", out_path, "--hessian", hess_path, "--hvp", hvp_path,
                                                 "--hvp-dir", x_path, "--schedule", "ve", "--t", "0.35", "--quiet", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    sf_array H, HV;
    cr_assert_eq(sf_npy_read(hess_path, &H), SF_OK);
    cr_assert_eq(sf_npy_read(hvp_path, &HV), SF_OK);
    cr_assert(H.ndim == 3 && H.shape[0] == 3 && H.shape[1] == 2 && H.shape[2] == 2, "Hessian shape");
    for (int i = 0; i < 3; i++) /* H v with v = x, from the Hessian file */
        for (int a = 0; a < 2; a++) {
            double want = H.data[i * 4 + a * 2] * particles_3x2[2 * i] + H.data[i * 4 + a * 2 + 1] * particles_3x2[2 * i + 1];
            cr_expect(fabs(HV.data[2 * i + a] - want) <= 1e-12 * (1 + fabs(want)), "particle %d (H x)_%d", i, a);
        }
    sf_array_free(&H), sf_array_free(&HV);
}

Test(bad_input, time_derivative_without_schedule)
{
    write_inputs_with_component("{\"weight\": 0.5, \"mean\": [-1.0, 0.0], \"var\": 0.04}");
    char dt_path[PATH_LEN];
    tmp_path(dt_path, "dt.npy");
    cli_result r = RUN_SCORE("--dt", dt_path, "--alpha", "0.9", "--sigma", "0.2");
    expect_refused(&r, "--dt", NULL);
    cr_expect(!file_exists(dt_path));
}

Test(bad_input, hvp_directions_of_wrong_shape)
{
    write_inputs_with_component("{\"weight\": 0.5, \"mean\": [-1.0, 0.0], \"var\": 0.04}");
    char dir_path[PATH_LEN], hvp_path[PATH_LEN];
    tmp_path(dir_path, "dirs.npy"), tmp_path(hvp_path, "hvp.npy");
    write_npy(dir_path, "<f8", "(2, 2)", particles_3x2, 4 * sizeof(double));
    cli_result r = RUN_SCORE("--hvp", hvp_path, "--hvp-dir", dir_path, "--schedule", "ve", "--t", "0.3");
    expect_refused(&r, dir_path, "shape");
    cr_expect(!file_exists(hvp_path));
    r = RUN_SCORE("--hvp", hvp_path, "--schedule", "ve", "--t", "0.3");
    expect_refused(&r, "--hvp-dir", NULL);
}

/* burgers: both routes from tau0 to tau1 land on the exact periodised score they also write. */
Test(cli, burgers_routes_reach_the_exact_score)
{
    char exact_path[PATH_LEN];
    tmp_path(exact_path, "exact.npy");
    static const char *const routes[2] = {"exact", "direct"};
    static const double tol[2] = {1e-10, 1e-3}; /* route B at N = 64 is limited by space (tests/test_grid.c) */
    for (int r = 0; r < 2; r++) {
        cli_result res = run_cli((const char *const[]){"burgers", "--mixture", SF_EXAMPLES_DIR "/symmetric_binary.json",
                                                       "--grid", "64", "--box", "8", "--tau0", "0.05", "--tau1", "0.3",
                                                       "--route", routes[r], "--steps", "40", "--out", out_path,
                                                       "--exact-out", exact_path, NULL});
        cr_assert_eq(res.status, 0, "%s", res.err);
        cr_expect(strstr(res.out, "error") != NULL, "%s", res.out);
        sf_array u, e;
        cr_assert_eq(sf_npy_read(out_path, &u), SF_OK);
        cr_assert_eq(sf_npy_read(exact_path, &e), SF_OK);
        cr_expect(u.ndim == 3 && u.shape[0] == 64 && u.shape[1] == 64 && u.shape[2] == 2, "shape (64, 64, 2)");
        double err = 0, size = 0;
        for (size_t i = 0; i < sf_array_size(&e); i++) err = fmax(err, fabs(u.data[i] - e.data[i])), size = fmax(size, fabs(e.data[i]));
        cr_expect(err <= tol[r] * size, "route %s: error %.3g of max |u| %.3g", routes[r], err, size);
        sf_array_free(&u), sf_array_free(&e);
    }
}

Test(bad_input, burgers_options)
{
    const char *mix = SF_EXAMPLES_DIR "/symmetric_binary.json";
    cli_result r = run_cli((const char *const[]){"burgers", "--mixture", mix, "--grid", "63", "--box", "8", "--tau0",
                                                 "0.1", "--tau1", "0.2", "--out", out_path, NULL});
    expect_refused(&r, "63", "even");
    r = run_cli((const char *const[]){"burgers", "--mixture", mix, "--grid", "64", "--box", "8", "--tau0", "0.1",
                                      "--tau1", "0.2", "--route", "sideways", "--out", out_path, NULL});
    expect_refused(&r, "--route", "sideways");
    r = run_cli((const char *const[]){"burgers", "--mixture", mix, "--grid", "64", "--box", "8", "--tau0", "0.3",
                                      "--tau1", "0.2", "--out", out_path, NULL});
    expect_refused(&r, "--tau0", NULL);
    r = run_cli((const char *const[]){"burgers", "--mixture", mix, "--dim", "3", "--grid", "64", "--box", "8", "--tau0",
                                      "0.1", "--tau1", "0.2", "--out", out_path, NULL});
    expect_refused(&r, mix, "dimension");
}

/* --curl: the score is a gradient, so the antisymmetric part of its Jacobian is at difference level. */
Test(cli, burgers_residual_curl)
{
    write_valid_particles();
    cli_result r = run_cli((const char *const[]){"burgers-residual", "--mixture", SF_EXAMPLES_DIR "/three_kinds.json",
                                                 "--in", x_path, "--out", out_path, "--curl", "3", "--schedule", "ve",
                                                 "--t", "0.4", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *at = strstr(r.out, "Jacobian ");
    cr_assert_not_null(at, "%s", r.out);
    double worst = strtod(at + 9, NULL);
    cr_expect(worst < 1e-6, "curl of an exact score: %g", worst);
}

/* sample: shapes, the trajectory's last frame is the output, the same seed gives the same file. */
Test(cli, sample_writes_particles_and_trajectories)
{
    char traj_path[PATH_LEN], again_path[PATH_LEN];
    tmp_path(traj_path, "traj.npy"), tmp_path(again_path, "again.npy");
    const char *const common[] = {"sample", "--mixture", SF_EXAMPLES_DIR "/three_kinds.json", "--schedule", "vp-linear",
                                  "--sampler", "em", "--steps", "20", "--n", "50", "--seed", "4", "--batch", "16", "--t0",
                                  "0.01", "--quiet"};
    const char *args[32];
    int a = 0;
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++) args[a++] = common[i];
    args[a++] = "--out", args[a++] = out_path, args[a++] = "--trajectory", args[a++] = traj_path;
    args[a++] = "--every", args[a++] = "7", args[a] = NULL;
    cli_result r = run_cli(args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    args[a - 6 + 1] = again_path; /* same run, other output, no trajectory */
    args[a - 4] = NULL;
    r = run_cli(args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    sf_array x, t, y;
    cr_assert_eq(sf_npy_read(out_path, &x), SF_OK);
    cr_assert_eq(sf_npy_read(traj_path, &t), SF_OK);
    cr_assert_eq(sf_npy_read(again_path, &y), SF_OK);
    cr_expect(x.ndim == 2 && x.shape[0] == 50 && x.shape[1] == 2, "particles (50, 2)");
    /* frames at steps 0, 7, 14 and the end (20): 4 */
    cr_assert(t.ndim == 3 && t.shape[0] == 50 && t.shape[1] == 4 && t.shape[2] == 2, "trajectory (50, 4, 2)");
    for (size_t p = 0; p < 50; p++)
        for (int j = 0; j < 2; j++) {
            cr_expect_eq(t.data[(p * 4 + 3) * 2 + j], x.data[p * 2 + j], "last frame = output, particle %zu", p);
            cr_expect_eq(y.data[p * 2 + j], x.data[p * 2 + j], "same seed, same particles (batch split 16)");
        }
    sf_array_free(&x), sf_array_free(&t), sf_array_free(&y);
}

Test(cli, loglik_matches_exact_log_p)
{
    write_valid_particles();
    cli_result r = run_cli((const char *const[]){"loglik", "--mixture", SF_EXAMPLES_DIR "/three_kinds.json", "--schedule",
                                                 "vp-cosine", "--t0", "0.1", "--in", x_path, "--out", out_path, "--rtol",
                                                 "1e-10", "--atol", "1e-10", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *at = strstr(r.out, "exact log p_t0| = ");
    cr_assert_not_null(at, "%s", r.out);
    cr_expect(strtod(at + 18, NULL) < 1e-6, "%s", r.out);
}

Test(bad_input, sample_options)
{
    const char *mix = SF_EXAMPLES_DIR "/three_kinds.json";
    cli_result r = run_cli((const char *const[]){"sample", "--mixture", mix, "--schedule", "ve", "--sampler", "leapfrog",
                                                 "--n", "5", "--out", out_path, NULL});
    expect_refused(&r, "leapfrog", NULL);
    r = run_cli((const char *const[]){"sample", "--mixture", mix, "--schedule", "ve", "--sampler", "ddpm", "--n", "5",
                                      "--class", "0,7", "--out", out_path, NULL});
    expect_refused(&r, "7", "component");
    r = run_cli((const char *const[]){"sample", "--mixture", mix, "--schedule", "ve", "--sampler", "heun", "--n", "5",
                                      "--t1", "0.2", "--t0", "0.5", "--out", out_path, NULL});
    expect_refused(&r, "t1", NULL);
    r = run_cli((const char *const[]){"sample", "--mixture", mix, "--schedule", "vp-linear", "--sampler", "heun", "--n",
                                      "5", "--t0", "0", "--out", out_path, NULL});
    expect_refused(&r, "sigma", NULL);
}

Test(bad_input, wkb_needs_gaussian_data)
{
    write_valid_particles();
    char wkb_path[PATH_LEN];
    tmp_path(wkb_path, "wkb.npy");
    const char *mix = SF_EXAMPLES_DIR "/three_kinds.json";
    cli_result r = run_cli((const char *const[]){"loglik", "--mixture", mix, "--schedule", "ve", "--t0", "0.1", "--in",
                                                 x_path, "--out", out_path, "--wkb", wkb_path, "--model-scale", "0.9", NULL});
    expect_refused(&r, mix, "Gaussian");
    cr_expect(!file_exists(wkb_path));
}

/* demo / speciation: the figures and their data are written; the CSV data agree with the theory
 * (the tanh profile at tau_c of the default pair a = 1, s^2 = 0.1: u_n(r) = -r/v + (a/v) tanh(a r/v), v = 1). */
Test(cli, demo_writes_figures_and_data)
{
    char dir[PATH_LEN];
    tmp_path(dir, "figs");
    cli_result r = run_cli((const char *const[]){"demo", "--out-dir", dir, "--n", "40", "--steps", "50", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "tau_c = 0.9") != NULL, "%s", r.out);
    static const char *const files[6] = {"profiles.svg", "profiles.csv", "curvature.svg", "curvature.csv",
                                         "trajectories.svg", "trajectories.csv"};
    for (int f = 0; f < 6; f++) {
        char path[2 * PATH_LEN];
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        struct stat sb;
        cr_expect(stat(path, &sb) == 0 && sb.st_size > 200, "%s missing or nearly empty", files[f]);
        if (strstr(files[f], ".svg")) {
            FILE *fp = fopen(path, "r");
            char head[16] = {0};
            if (fp) fread(head, 1, 4, fp), fclose(fp);
            cr_expect(strncmp(head, "<svg", 4) == 0, "%s is not an SVG", files[f]);
        }
    }
    char path[2 * PATH_LEN];
    snprintf(path, sizeof path, "%s/profiles.csv", dir);
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp);
    char line[512];
    cr_assert_not_null(fgets(line, sizeof line, fp)); /* header: r, tau/10, tau/3, tau_c, 3 tau_c */
    int rows = 0;
    double worst = 0;
    while (fgets(line, sizeof line, fp)) {
        double rr, p0, p1, pc, p3;
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf", &rr, &p0, &p1, &pc, &p3) != 5) continue;
        worst = fmax(worst, fabs(pc - (-rr + tanh(rr))));
        rows++;
    }
    fclose(fp);
    cr_expect(rows > 100, "profiles.csv has %d rows", rows);
    cr_expect(worst < 1e-6, "the profile at tau_c differs from -r + tanh(r) by %g", worst);
    /* remove the folder's files so the fixture can remove the folder */
    for (int f = 0; f < 6; f++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        unlink(path);
    }
    rmdir(dir);
}

Test(cli, bandwidth_writes_figures_and_data)
{
    char dir[PATH_LEN];
    tmp_path(dir, "bw");
    cli_result r = run_cli((const char *const[]){"bandwidth", "--out-dir", dir, "--points", "8", "--n", "500", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "label-entropy variance peaks") && strstr(r.out, "pathwise"), "%s", r.out);
    static const char *const files[3] = {"bandwidth.csv", "bandwidth.svg", "entropy.svg"};
    for (int f = 0; f < 3; f++) {
        char path[2 * PATH_LEN];
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        struct stat sb;
        cr_expect(stat(path, &sb) == 0 && sb.st_size > 200, "%s missing or nearly empty", files[f]);
        if (f == 0) {
            FILE *fp = fopen(path, "r");
            char line[256] = {0};
            int rows = 0;
            if (fp) {
                if (fgets(line, sizeof line, fp)) cr_expect(strncmp(line, "t,tau,b,b_se", 12) == 0, "header %s", line);
                while (fgets(line, sizeof line, fp)) rows++;
                fclose(fp);
            }
            cr_expect_eq(rows, 8);
        }
        unlink(path);
    }
    rmdir(dir);
}

/* blowup on the default plane in R^6 (a single Gaussian on a subspace, eigenvalues 1 and 0.5):
 * tau E|u|^2 = tau tr Sigma^-1 = 4 + tau (1/(1 + tau) + 1/(0.5 + tau)) exactly (SPEC.md E: 4.2576
 * at tau = 0.1); the Monte Carlo values within 5 standard errors, and the limit 4. */
Test(cli, blowup_rates_match_the_codimension)
{
    char dir[PATH_LEN], path[2 * PATH_LEN];
    tmp_path(dir, "blow");
    cli_result r = run_cli((const char *const[]){"blowup", "--out-dir", dir, "--n", "20000", "--points", "6", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *at = strstr(r.out, "p = ");
    cr_assert_not_null(at, "%s", r.out);
    cr_expect(fabs(strtod(at + 4, NULL) + 1) < 1e-3, "fitted exponent: %s", at);
    snprintf(path, sizeof path, "%s/blowup.csv", dir);
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp);
    char line[512];
    cr_assert_not_null(fgets(line, sizeof line, fp));
    int rows = 0;
    while (fgets(line, sizeof line, fp)) {
        double tau, tu2, se, ratio, dmax, u2, limit;
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf,%lf", &tau, &tu2, &se, &ratio, &dmax, &u2, &limit) != 7) continue;
        double want = 4 + tau * (1 / (1 + tau) + 1 / (0.5 + tau));
        cr_expect(fabs(tu2 - want) < 5 * se, "tau = %g: tau E|u|^2 = %.5f +- %.2g, exact %.5f", tau, tu2, se, want);
        cr_expect(fabs(ratio - 1) < 1e-9, "tau |u| / dist = %.12f", ratio);
        cr_expect_eq(limit, 4.0);
        cr_expect(dmax < 10, "the denoiser stays bounded (%g)", dmax);
        rows++;
    }
    fclose(fp);
    cr_expect_eq(rows, 6);
    unlink(path);
    snprintf(path, sizeof path, "%s/blowup.svg", dir);
    struct stat sb;
    cr_expect(stat(path, &sb) == 0 && sb.st_size > 200);
    unlink(path);
    rmdir(dir);
}

/* wkb: for the exact score every h gives log q^0; for a perturbed score the CSV's exact curve and
 * WKB prediction agree at small h to O(h^4). */
Test(cli, wkb_curves)
{
    char dir[PATH_LEN], path[2 * PATH_LEN];
    tmp_path(dir, "wkb");
    cli_result r = run_cli((const char *const[]){"wkb", "--out-dir", dir, "--scales", "1,0.8", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    snprintf(path, sizeof path, "%s/wkb.csv", dir);
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp);
    char line[1024];
    cr_assert_not_null(fgets(line, sizeof line, fp));
    double first_exact = NAN;
    while (fgets(line, sizeof line, fp)) {
        double h, q1, w1, q2, w2;
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf", &h, &q1, &w1, &q2, &w2) != 5) continue;
        if (isnan(first_exact)) first_exact = q1;
        cr_expect(fabs(q1 - first_exact) < 1e-9 && fabs(w1 - first_exact) < 1e-9, "exact score: h = %g gives %g", h, q1);
        if (h > 0 && h <= 0.1) cr_expect(fabs(q2 - w2) < 50 * h * h * h * h, "C = 0.8, h = %g: %g vs WKB %g", h, q2, w2);
    }
    fclose(fp);
    unlink(path);
    snprintf(path, sizeof path, "%s/wkb.svg", dir);
    unlink(path);
    rmdir(dir);
}

Test(cli, doublewell_reports_and_draws)
{
    char dir[PATH_LEN], path[2 * PATH_LEN];
    tmp_path(dir, "dw");
    cli_result r = run_cli((const char *const[]){"doublewell", "--out-dir", dir, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *at = strstr(r.out, "(largest term) = ");
    cr_assert_not_null(at, "%s", r.out);
    cr_expect(strtod(at + 17, NULL) < 1e-9, "Burgers residual of the quadrature score: %s", at);
    r = run_cli((const char *const[]){"doublewell", "--out-dir", dir, "--dim", "2", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    at = strstr(r.out, "vector Burgers residual");
    cr_assert_not_null(at, "%s", r.out);
    cr_expect(strtod(at + 24, NULL) < 1e-9, "2-D residual: %s", at);
    static const char *const files[3] = {"profiles.csv", "profiles.svg", "field2d.csv"};
    for (int f = 0; f < 3; f++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        struct stat sb;
        cr_expect(stat(path, &sb) == 0 && sb.st_size > 200, "%s", files[f]);
        unlink(path);
    }
    rmdir(dir);
}

/* wkb on a point mass at sigma = 0 (vp-linear, t0 = 0) has no density: refused, not NaN */
Test(bad_input, wkb_singular_data)
{
    write_text(mix_path, "{\"dim\": 1, \"components\": [{\"weight\": 1, \"mean\": [0.0], \"var\": 0}]}");
    char dir[PATH_LEN];
    tmp_path(dir, "wkbdir");
    cli_result r = run_cli((const char *const[]){"wkb", "--mixture", mix_path, "--schedule", "vp-linear", "--out-dir", dir, NULL});
    expect_refused(&r, mix_path, "singular");
    rmdir(dir);
}

Test(cli, doublewell_ring)
{
    char dir[PATH_LEN], path[2 * PATH_LEN];
    tmp_path(dir, "ring");
    cli_result r = run_cli((const char *const[]){"doublewell", "--radial", "--out-dir", dir, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *at = strstr(r.out, "(largest term) = ");
    cr_assert_not_null(at, "%s", r.out);
    cr_expect(strtod(at + 17, NULL) < 1e-9, "ring Burgers residual: %s", at);
    static const char *const files[2] = {"ring_profiles.csv", "ring_profiles.svg"};
    for (int f = 0; f < 2; f++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        struct stat sb;
        cr_expect(stat(path, &sb) == 0 && sb.st_size > 200, "%s", files[f]);
        unlink(path);
    }
    rmdir(dir);
}

/* check --backend cpu compares the fast CPU backend with the reference (both run here: the
 * comparison itself is sf_compare_outputs, tested with the library); the reference cannot be
 * checked against itself, and f32 is the GPU's. */
Test(cli, check_cpu_backend_against_reference)
{
    cli_result r = run_cli((const char *const[]){"check", "--backend", "cpu", "--dim", "12", "--n", "3000", NULL});
    cr_expect_eq(r.status, 0, "check --backend cpu exited %d: %s %s", r.status, r.out, r.err);
    cr_expect(strstr(r.out, "cpu f64 against reference") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "FAIL") == NULL && strstr(r.out, "denoise") != NULL, "%s", r.out);
    r = run_cli((const char *const[]){"check", "--backend", "reference", NULL});
    cr_expect_eq(r.status, 2, "check --backend reference exited %d", r.status);
    r = run_cli((const char *const[]){"check", "--backend", "cpu", "--precision", "f32", NULL});
    cr_expect_eq(r.status, 2, "check --backend cpu --precision f32 exited %d", r.status);
}
