/* The run's place among MPI ranks (README, "Many processes: MPI"): particles sharded over ranks.
 *
 * Without MPI, or without an MPI launcher, the process is the only rank and every function here is
 * the identity. Under mpirun each rank takes a contiguous range of global particle indices
 * (cli_shard_range), writes its rows into the shared temporary files of the run's outputs, and the
 * ranks meet only at collectives, each of which first agrees on every rank's status:
 *
 * - a rank that fails stops its command at once; its error is kept, not printed;
 * - every collective returns failure on every rank as soon as one rank has failed (the others stop
 *   there), and cli_shard_finish, called once at the end of every rank, takes part in the
 *   collectives of the ranks still running until every rank has finished: nobody waits forever;
 * - at the end the lowest rank that failed by itself prints its error once, prefixed with "rank R
 *   of P", and every rank exits with its exit status; rank 0 removes the temporary files.
 *
 * Only rank 0 writes to stdout (the others' stdout is /dev/null) and reports progress. */
#ifndef SF_CLI_SHARD_H
#define SF_CLI_SHARD_H

#include "scorefield.h"

#include <stddef.h>

/* Joins the MPI job when launched by an MPI launcher (mpirun, srun): call in main after
 * cli_signals_start, so that MPI's threads inherit the blocked signals. */
void cli_shard_start(int *argc, char ***argv);
/* The end of every rank: the final agreement (see above); returns the run's exit status. */
int cli_shard_finish(int status);

/* Whether the CLI was built with MPI. */
int cli_shard_built(void);
int cli_rank(void);
int cli_ranks(void);
/* Whether the process is one rank of an MPI job (also with one rank). */
int cli_shard_active(void);

/* This rank's contiguous share of n items: items [*first, *first + *count). */
void cli_shard_range(size_t n, size_t *first, size_t *count);
/* Shares in whole granules of `items` (default 1): for a command whose results depend on how items
 * are grouped (loglik's blocks of points with their own adaptive steps), so that every rank groups
 * them as a single process does. Set before any range is taken. */
void cli_shard_set_granule(size_t items);
/* The share of rank r. */
void cli_shard_range_of(int rank, size_t n, size_t *first, size_t *count);

/* Every rank's `count` values, in rank order, into all[ranks x count], once every rank has reached
 * this point with status SF_EXIT_OK; otherwise (this rank failed: status, another rank failed: its
 * status) the exit status, and `all` untouched. Sums combined from `all` in rank order do not
 * depend on timing: the same P gives the same bits. */
int cli_shard_gather(int status, const double *mine, int count, double *all);
/* Every rank's status: SF_EXIT_OK when all succeeded, otherwise the failing rank's status. */
int cli_shard_agree(int status);
/* A block of bytes from rank 0 to every rank (after an agreement: every rank calls it). The other
 * ranks receive a newly allocated copy in *data (theirs to free) and *len. Returns an exit status. */
int cli_shard_broadcast(char **data, size_t *len);
/* Sums (in rank order), minima and maxima of every rank's values, in place. */
int cli_shard_sum(int status, double *values, int count);
int cli_shard_min(int status, double *values, int count);
int cli_shard_max(int status, double *values, int count);

/* Shares the Monte Carlo estimates of ctx over the ranks (sf_context_set_share, summing with
 * cli_shard_sum); nothing outside MPI. Returns an exit status. */
int cli_shard_share(sf_context *ctx);

/* An error line: printed now in a single process; kept until cli_shard_finish under MPI. */
void cli_shard_error(const char *line);

/* The summary's line naming the ranks and each one's particle range (nothing outside MPI). */
void cli_shard_print_ranks(size_t n, const char *items);

/* The CUDA device this rank uses: the node-local rank modulo the device count (the requested
 * ordinal outside MPI). */
int cli_shard_device(int requested);

#endif
