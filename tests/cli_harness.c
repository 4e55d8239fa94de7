/* Running the real `scorefield` binary from Criterion tests (see cli_harness.h). */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* mkdtemp */
#define _DEFAULT_SOURCE   /* wait4 */
#endif
#include "cli_harness.h"

#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---------------------------------------------------------------- fixture: a fresh directory per test */

char tmpdir[64];
/* The paths most tests use: the mixture, the particles and two outputs, all inside tmpdir. */
char mix_path[PATH_LEN], x_path[PATH_LEN], out_path[PATH_LEN], logp_path[PATH_LEN];

void tmp_path(char *buf, const char *name) { snprintf(buf, PATH_LEN, "%s/%s", tmpdir, name); }

void cli_make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sf_test_cli_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
    tmp_path(mix_path, "mixture.json");
    tmp_path(x_path, "particles.npy");
    tmp_path(out_path, "score.npy");
    tmp_path(logp_path, "logp.npy");
}

/* Removes path and, if it is a folder, everything in it (not following symbolic links). */
static void remove_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char p[PATH_LEN * 2];
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            remove_tree(p);
        }
        if (d) closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

void cli_remove_tmpdir(void) { remove_tree(tmpdir); }

/* ---------------------------------------------------------------- writing inputs */

void write_file(const char *path, const void *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(bytes, 1, len, f), len, "cannot write %s", path);
    cr_assert_eq(fclose(f), 0, "cannot close %s", path);
}

void write_text(const char *path, const char *text) { write_file(path, text, strlen(text)); }

/* A v1.0 .npy header for dtype `descr` and shape text `shape` (e.g. "(3, 2)"), padded with spaces
 * and a final '\n' so that the data starts at a multiple of 64 bytes; returns its length. */
size_t write_npy_header(unsigned char *buf, size_t cap, const char *descr, const char *shape)
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
void write_npy(const char *path, const char *descr, const char *shape, const void *data, size_t nbytes)
{
    unsigned char *buf = malloc(256 + nbytes);
    cr_assert_not_null(buf);
    size_t h = write_npy_header(buf, 256, descr, shape);
    if (nbytes) memcpy(buf + h, data, nbytes);
    write_file(path, buf, h + nbytes);
    free(buf);
}

const double particles_3x2[6] = {0.1, -0.2, 1.0, 0.5, -0.7, 1.9};

/* Valid 3 x 2 float64 particles at x_path. */
void write_valid_particles(void) { write_npy(x_path, "<f8", "(3, 2)", particles_3x2, sizeof particles_3x2); }

/* A valid 2-d mixture of every covariance kind (the DESIGN.md example). */
const char valid_mixture[] =
    "{\"dim\": 2,\n"
    " \"components\": [\n"
    "   {\"weight\": 0.5, \"mean\": [1.0, 0.0], \"var\": 0.04},\n"
    "   {\"weight\": 0.3, \"mean\": [-1.0, 0.0], \"var\": [0.04, 0.09]},\n"
    "   {\"weight\": 0.2, \"mean\": [0.0, 2.0], \"var\": 0.0, \"basis\": [[0.6, 0.8]], \"eig\": [0.5]}]}\n";

/* A mixture file with one bad component `bad` after a good one, plus valid particles. */
void write_inputs_with_component(const char *bad)
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

/* argv for SF_CLI_PATH: args (NULL-terminated, without argv[0]) after the binary's path. */
static void make_argv(const char *const *args, const char **argv, int cap)
{
    int argc = 0;
    argv[argc++] = SF_CLI_PATH;
    for (; *args; args++) {
        cr_assert_lt(argc, cap - 1);
        argv[argc++] = *args;
    }
    argv[argc] = NULL;
}

static cli_process spawn(const char *const *args, const cli_limits *limits)
{
    cli_process p;
    memset(&p, 0, sizeof p);
    const char *argv[64];
    make_argv(args, argv, 64);
    snprintf(p.err_file, sizeof p.err_file, "/tmp/sf_test_cli_stderr_XXXXXX");
    snprintf(p.out_file, sizeof p.out_file, "/tmp/sf_test_cli_stdout_XXXXXX");
    p.err_fd = mkstemp(p.err_file), p.out_fd = mkstemp(p.out_file);
    cr_assert(p.err_fd >= 0 && p.out_fd >= 0, "mkstemp: %s", strerror(errno));
    fflush(NULL);
    p.pid = fork();
    cr_assert_geq(p.pid, 0, "fork: %s", strerror(errno));
    if (p.pid == 0) {
        if (dup2(p.out_fd, STDOUT_FILENO) < 0 || dup2(p.err_fd, STDERR_FILENO) < 0 || chdir(tmpdir) != 0) _exit(127);
        if (limits && limits->address_space) {
#if defined(__SANITIZE_ADDRESS__)
            /* AddressSanitizer reserves terabytes of address space for its shadow: limit its allocator
             * instead, which then fails large requests as malloc does */
            char options[128];
            snprintf(options, sizeof options, "allocator_may_return_null=1:max_allocation_size_mb=%zu",
                     limits->address_space >> 20);
            setenv("ASAN_OPTIONS", options, 1);
#else
            struct rlimit rl = {limits->address_space, limits->address_space};
            if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(127);
#endif
            setenv("OMP_NUM_THREADS", "1", 1); /* thread stacks and arenas count against the limit */
        }
        if (limits && limits->file_size) {
            struct rlimit rl = {limits->file_size, limits->file_size};
            signal(SIGXFSZ, SIG_IGN); /* writes beyond the limit then fail with EFBIG */
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(127);
        }
        execv(SF_CLI_PATH, (char *const *)argv);
        _exit(127);
    }
    return p;
}

cli_process cli_start(const char *const *args) { return spawn(args, NULL); }

cli_result cli_wait(cli_process *p)
{
    static cli_result r;
    memset(&r, 0, sizeof r);
    int ws = 0;
    struct rusage usage;
    memset(&usage, 0, sizeof usage);
    while (wait4(p->pid, &ws, 0, &usage) < 0 && errno == EINTR) {}
    r.max_rss_kb = usage.ru_maxrss;
    r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : -1;
    r.err_len = slurp(p->err_fd, r.err, ERR_LEN);
    slurp(p->out_fd, r.out, ERR_LEN);
    close(p->err_fd), close(p->out_fd);
    unlink(p->err_file), unlink(p->out_file);
    return r;
}

cli_result run_cli_limited(const char *const *args, const cli_limits *limits)
{
    cli_process p = spawn(args, limits);
    return cli_wait(&p);
}

cli_result run_cli(const char *const *args) { return run_cli_limited(args, NULL); }

int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

int temporaries_under(const char *dir, char *names, size_t cap)
{
    int count = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char p[PATH_LEN * 2];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (strstr(e->d_name, ".tmp.")) {
            count++;
            size_t used = strlen(names);
            snprintf(names + used, cap - used, " %s", p);
        }
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) count += temporaries_under(p, names, cap);
    }
    closedir(d);
    return count;
}

int leftover_temporaries(char *names, size_t cap)
{
    names[0] = '\0';
    return temporaries_under(tmpdir, names, cap);
}

void expect_no_outputs(void)
{
    cr_expect(!file_exists(out_path), "the --out file %s exists after a refused run", out_path);
    cr_expect(!file_exists(logp_path), "the --logp file %s exists after a refused run", logp_path);
    char names[1024];
    cr_expect_eq(leftover_temporaries(names, sizeof names), 0, "temporary files left in %s:%s", tmpdir, names);
}

/* The contract for bad input: exit 2; stderr is exactly one line starting "scorefield: " and contains
 * `name` (the offending file, or the option/value) and, if not NULL, `also`; no output is left. */
void expect_refused(const cli_result *r, const char *name, const char *also)
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

