/* The run's outputs and their protection: every command writes its files through one
 * all-or-nothing output set (src/io/staging.h), checked before any work and committed at the end;
 * SIGINT, SIGTERM and SIGHUP remove what the run has not committed. Each function returns an exit
 * status, with the error printed. */
#ifndef SF_CLI_OUTPUTS_H
#define SF_CLI_OUTPUTS_H

#include <stddef.h>
#include <stdint.h>

/* Takes SIGINT, SIGTERM and SIGHUP on a thread of its own (blocked everywhere else): on one of them
 * the run's temporary files and the folders it created are removed and the process exits
 * 128 + the signal. Call first in main, before any other thread exists. */
void cli_signals_start(void);
/* The run is over with this exit status (its outputs committed or removed): a signal from now on
 * (mpirun ending the ranks once one has exited with a failure) ends the process quietly with it. */
void cli_signals_ending(int status);

/* An output file (`label` the option that named it, e.g. "--logp"; `bytes` its expected size, for
 * the free-space check) and an input file (refused as an output). */
int cli_outputs_add(const char *label, const char *path, uint64_t bytes);
int cli_outputs_add_input(const char *label, const char *path);
/* Checks every output and creates its temporary file: exit 2 for a bad path, 1 when the outputs
 * cannot fit on their file system. From here on the library writes declared paths into the set. */
int cli_outputs_prepare(void);
/* The analyses' outputs: the folder `dir` (created if missing, removed again if the run fails) and
 * the files dir/names[i]; prepared at once. */
int cli_outputs_folder(const char *dir, const char *const *names, int count);
/* Renames every output into place, all or none. */
int cli_outputs_commit(void);
/* After the command: commits what a successful command left uncommitted, or discards everything;
 * returns the command's final exit status. */
int cli_outputs_finish(int status);

/* The size of a float64 .npy file of the given shape (header included), or 0 with the error
 * printed (exit 2 is then the caller's) when it does not fit in 64 bits. */
uint64_t cli_npy_bytes(const char *label, int ndim, const size_t *shape);

#endif
