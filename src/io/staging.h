/* Internal: writing files without ever losing what was there (README, "Outputs, errors and exit
 * codes").
 *
 * Every file the library writes (.npy, CSV, SVG) goes to a new temporary file beside its final
 * path, created exclusively (O_EXCL) under an unpredictable name (PATH.tmp.<64 random bits>), and
 * is renamed over the final path only once complete. An existing final path that is not a regular
 * file (a folder, FIFO, device, socket) or that is a symbolic link is refused, never replaced.
 *
 * An output set groups the outputs of one run so that they are committed together: every path is
 * checked and every temporary created before any work (sfi_output_set_prepare), and the commit
 * renames all of them or, if one rename fails, undoes the others (a file about to be replaced is
 * kept as a hard link until every rename has succeeded). While a set is active on a thread, files
 * that thread opens through sfi_staged_open must be outputs of the set and are committed with it.
 *
 * The temporary files and the folders a set created are listed in one process-wide registry, so
 * that a program interrupted by a signal can remove exactly them (sfi_staging_abandon). */
#ifndef SF_STAGING_H
#define SF_STAGING_H

#include "scorefield.h"

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- one file */

typedef struct sf_staged sf_staged;

/* Opens `path` for writing: *stream writes a temporary file that replaces `path` only when
 * sfi_staged_close commits it. Refuses (SF_ERR_INVALID) a path that is a symbolic link or an
 * existing non-regular file, and, while an output set is active, a path that is not one of its
 * outputs. Other failures to create the file are SF_ERR_IO. */
sf_status sfi_staged_open(sf_staged **staged, const char *path, FILE **stream);
/* The same for this process's part of a file that several processes write (MPI ranks, each its
 * rows): the stream starts at byte `offset` of the output's temporary, which is not truncated.
 * Only inside an active, prepared output set. */
sf_status sfi_staged_open_at(sf_staged **staged, const char *path, long long offset, FILE **stream);
/* Flushes, syncs and closes the stream. commit = 1: the file becomes final (renamed into place, or,
 * inside an output set, complete and waiting for the set's commit); commit = 0: discarded. Returns
 * the first write error (then nothing is committed). */
sf_status sfi_staged_close(sf_staged *staged, int commit);

/* ---------------------------------------------------------------- the outputs of one run */

typedef struct sf_output_set sf_output_set;

sf_status sfi_output_set_create(sf_output_set **set);
/* A folder outputs go into: created by prepare if it does not exist (and removed again if the run
 * does not commit); an existing path that is not a folder is refused. */
sf_status sfi_output_set_add_folder(sf_output_set *set, const char *dir);
/* An output file; `label` names it in messages (an option such as "--logp", or NULL for the
 * path), `bytes` is its expected size for the free-space check (0: unknown, small). */
sf_status sfi_output_set_add(sf_output_set *set, const char *path, const char *label, uint64_t bytes);
/* A file the run reads: refused as an output (compared by device and inode). */
sf_status sfi_output_set_add_input(sf_output_set *set, const char *path, const char *label);
/* Checks everything before any work and creates the folders and every temporary file. Path
 * problems (a special file, a symbolic link, a missing or unwritable folder, two outputs naming one
 * file, an output that is an input) are SF_ERR_INVALID; too little free space for the outputs'
 * expected sizes, and other failures of the file system, SF_ERR_IO. On failure nothing is left. */
sf_status sfi_output_set_prepare(sf_output_set *set);
/* Makes `set` the active set of the calling thread (NULL: none). */
void sfi_output_set_activate(sf_output_set *set);
/* Several processes writing one set of outputs (MPI ranks): one process, the leader, prepares the
 * set and commits it; the others add the same outputs in the same order and join its temporary
 * files instead of preparing. sfi_output_set_temporaries gives the leader's temporary names as one
 * block of NUL-ended strings (*text is the caller's to free); sfi_output_set_join opens them
 * (without creating anything) and makes the set a follower: its parts are written with
 * sfi_staged_open_at, its whole files go to /dev/null (the leader writes the same bytes), and it is
 * never committed. sfi_output_set_release ends a follower once the leader has committed (or
 * discarded): it closes the files and removes nothing. */
sf_status sfi_output_set_temporaries(const sf_output_set *set, char **text, size_t *len);
sf_status sfi_output_set_join(sf_output_set *set, const char *text, size_t len);
void sfi_output_set_release(sf_output_set *set);
/* Renames every output into place, all or none; every output must have been written and closed
 * with commit = 1. On failure the file system is as it was before prepare. */
sf_status sfi_output_set_commit(sf_output_set *set);
/* Removes what an uncommitted set created (temporary files, then the folders it made, if empty),
 * deactivates it and frees it. */
void sfi_output_set_destroy(sf_output_set *set);

/* ---------------------------------------------------------------- interruption */

/* Removes every registered temporary file and created folder of the process and keeps the registry
 * locked, so that nothing is created or committed afterwards: for a signal-handling thread just
 * before it ends the process. Waits for a commit in progress to finish. */
void sfi_staging_abandon(void);

#ifdef __cplusplus
}
#endif
#endif
