/* Running the real `scorefield` binary from Criterion tests: a fresh folder per test, input files
 * written into it, the CLI run there by fork + execv with stdout and stderr captured (optionally
 * under resource limits, or in the background to be interrupted), and the checks of the bad-input
 * contract (exit 2, one line on stderr naming the file, nothing left behind). */
#ifndef SF_TEST_CLI_HARNESS_H
#define SF_TEST_CLI_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#ifndef SF_CLI_PATH
#error "SF_CLI_PATH (the scorefield binary) must be defined by the build"
#endif
#ifndef SF_EXAMPLES_DIR
#define SF_EXAMPLES_DIR "examples"
#endif

#define PATH_LEN 512
#define ERR_LEN 8192

/* ---------------------------------------------------------------- fixture: a fresh folder per test */

extern char tmpdir[64];
/* The paths most tests use: the mixture, the particles and two outputs, all inside tmpdir. */
extern char mix_path[PATH_LEN], x_path[PATH_LEN], out_path[PATH_LEN], logp_path[PATH_LEN];

void tmp_path(char *buf, const char *name);
/* .init and .fini of the suites: creates tmpdir (and the paths above); removes it with everything in it. */
void cli_make_tmpdir(void);
void cli_remove_tmpdir(void);

/* ---------------------------------------------------------------- writing inputs */

void write_file(const char *path, const void *bytes, size_t len);
void write_text(const char *path, const char *text);
/* A .npy file: the header for (descr, shape) followed by `nbytes` bytes of data (which need not
 * match the shape: that is how truncated files are made). Data are in host order (little-endian). */
/* A v1.0 .npy header for dtype `descr` and shape text `shape` (e.g. "(3, 2)"), padded so that the
 * data start at a multiple of 64 bytes; returns its length. */
size_t write_npy_header(unsigned char *buf, size_t cap, const char *descr, const char *shape);
void write_npy(const char *path, const char *descr, const char *shape, const void *data, size_t nbytes);

extern const double particles_3x2[6];
/* Valid 3 x 2 float64 particles at x_path. */
void write_valid_particles(void);
/* A valid 2-d mixture of every covariance kind (the DESIGN.md example). */
extern const char valid_mixture[];
/* A mixture file with one bad component `bad` after a good one, plus valid particles. */
void write_inputs_with_component(const char *bad);

/* ---------------------------------------------------------------- running the CLI */

typedef struct {
    int status;        /* exit status; 128 + signal if killed; -1 if it could not be run */
    char err[ERR_LEN]; /* everything written to stderr (NUL-terminated, truncated to ERR_LEN - 1) */
    size_t err_len;
    char out[ERR_LEN]; /* the same for stdout */
    long max_rss_kb;   /* the child's peak resident memory (getrusage), in KiB */
} cli_result;

/* Resource limits for the child (0: none): its address space, and the largest file it may write
 * (SIGXFSZ ignored, so a write beyond it fails with EFBIG as on a full disk). */
typedef struct {
    size_t address_space, file_size;
} cli_limits;

/* Runs SF_CLI_PATH with args (NULL-terminated, without argv[0]) in tmpdir; stdout and stderr are
 * captured through files outside tmpdir (so tmpdir holds only what the CLI sees). */
cli_result run_cli(const char *const *args);
cli_result run_cli_limited(const char *const *args, const cli_limits *limits);

/* A run in the background: cli_start returns at once; cli_wait collects the result. */
typedef struct {
    pid_t pid;
    int out_fd, err_fd;
    char out_file[64], err_file[64];
} cli_process;
cli_process cli_start(const char *const *args);
cli_result cli_wait(cli_process *p);

/* `scorefield score` on the standard paths (with --logp, so two outputs are at stake), CPU backend,
 * followed by the given time arguments. */
#define RUN_SCORE(...)                                                                                 \
    run_cli((const char *const[]){"score", "--mixture", mix_path, "--in", x_path, "--out", out_path,  \
                                  "--logp", logp_path, "--backend", "cpu", "--quiet", __VA_ARGS__, NULL})

/* ---------------------------------------------------------------- checks */

int file_exists(const char *path);
/* Names under `dir` (recursively) containing ".tmp." (temporary files left behind), listed in names. */
int temporaries_under(const char *dir, char *names, size_t cap);
/* The same for tmpdir. */
int leftover_temporaries(char *names, size_t cap);
void expect_no_outputs(void);
/* The contract for bad input: exit 2; stderr is exactly one line starting "scorefield: " and contains
 * `name` (the offending file, or the option/value) and, if not NULL, `also`; no output is left. */
void expect_refused(const cli_result *r, const char *name, const char *also);

#endif
