/* Loading a command's inputs and writing its outputs, shared by the commands that evaluate fields. */
#ifndef SF_CLI_IO_H
#define SF_CLI_IO_H

#include "options.h"
#include "outputs.h"

/* An output .npy file: `path` (NULL: not asked for), and the array it will hold. */
typedef struct {
    const char *flag, *path;
    double *data;
    int ndim;
    size_t shape[3];
    const char *item; /* what a row of the array is, for messages: "particle" when NULL */
    sf_npy_writer *writer; /* batched outputs: the file being streamed */
    int sharded; /* rows are particles shared out over MPI ranks: `data` holds this rank's rows only */
} cli_output;

/* A writer for this rank's rows of a sharded output of `shape` (shard.h): the whole file in a
 * single process; under MPI the rows of cli_shard_range(shape[0]), rank 0 writing the header too. */
sf_status cli_open_rank_rows(sf_npy_writer **writer, const char *path, int ndim, const size_t *shape);

/* Reads the mixture and the particles (N x d; (N,) accepted when d = 1), checks the time against
 * the mixture and the particles for finiteness: each failure printed naming its file. Both files
 * are declared as inputs of the run (no output may replace them). Under MPI x holds this rank's
 * particles only (cli_shard_range of the N in *total). Returns an exit status (SF_EXIT_OK on
 * success; then free with sf_mixture_destroy / sf_array_free). */
int cli_load_inputs(const char *mixture_path, const char *in_path, const sf_time *time, sf_mixture **mix, sf_array *x,
                    size_t *total);
/* This rank's rows (all of them in a single process) of a particles file (N x d, or (N,) for
 * d = 1), checked finite; *total receives N. Returns an exit status (x freed on failure). */
int cli_read_rank_particles(const char *path, int d, sf_array *x, size_t *total);

/* Declares every output with a path in the run's output set (outputs.h), with its file size, and
 * prepares the set: every path is checked before any work. Returns an exit status. */
int cli_prepare_outputs(const cli_output *outs, int count);
/* Allocates data for every output with a path (shape[0] x shape[1] x shape[2] doubles, unused
 * dimensions 1; the product checked; a sharded output: this rank's rows). Returns an exit status. */
int cli_allocate_outputs(cli_output *outs, int count);
/* Writes every output with a path and commits them all (or none). A value that is not finite is a
 * failure of the run (exit 1, naming the first bad row): nothing is written then. */
int cli_write_outputs(const cli_output *outs, int count);
void cli_free_outputs(cli_output *outs, int count);

/* Outputs written in batches of rows (memory flat in N): every output with a path gets a streaming
 * writer for its whole shape and `data` for `rows` rows. Append writes the first `rows` rows of
 * every buffer, after checking that they are finite (a failure names the row `first` + i); close
 * commits every file (all or none). cli_free_outputs discards what is still open. */
int cli_open_batched_outputs(cli_output *outs, int count, size_t rows);
int cli_append_outputs(const cli_output *outs, int count, size_t rows, size_t first);
int cli_close_batched_outputs(cli_output *outs, int count);

/* Matches argv[*i] against the outputs' flags and takes the path: 1 matched, 0 not, -1 error. */
int cli_output_option(cli_output *outs, int count, int argc, char **argv, int *i);
/* The time options (when `time` is not NULL) and the output flags as cli_parse's `extra` callback. */
typedef struct {
    cli_time *time;
    cli_output *outs;
    int count;
} cli_time_and_outputs;
int cli_time_and_outputs_extra(void *data, int argc, char **argv, int *i);

/* The analyses' default mixture: the symmetric pair +-(1, 0) in d = 2 with variance 0.1 (tau_c = 0.9). */
sf_mixture *cli_default_pair(void);

/* Prints "  label  mean .. min .. max .." of v (n values), or of row norms when stride > 1. */
void cli_print_stats(const char *label, const double *v, size_t n, size_t stride);
/* The same summary gathered over batches: add each batch, print once. */
typedef struct {
    double lo, hi, sum;
    size_t n;
} cli_stats;
void cli_stats_init(cli_stats *s);
void cli_stats_add(cli_stats *s, const double *v, size_t n, size_t stride);
void cli_stats_print(const char *label, const cli_stats *s);
/* Combines `count` summaries over the MPI ranks (sums in rank order, minima, maxima); an exit status
 * (see cli_shard_gather). */
int cli_stats_reduce(int status, cli_stats *s, int count);
/* Monotonic seconds, for the timings in summaries. */
double cli_seconds(void);

#endif
