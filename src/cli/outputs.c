/* The run's output set and the signal thread that protects it (see outputs.h). */
#include "outputs.h"
#include "options.h"
#include "shard.h"
#include "staging.h"
#include "status.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static sf_output_set *run_set; /* one command per process: one set */
static int shared_committed;   /* under MPI: every rank has agreed and rank 0 has committed */
static volatile sig_atomic_t ending_status = -1; /* the run is over: a signal now ends it quietly */

static void *take_signals(void *arg)
{
    const sigset_t *mask = arg;
    int sig;
    if (sigwait(mask, &sig) != 0) return NULL;
    if (ending_status >= 0) _exit(ending_status); /* mpirun ending the job's last ranks: nothing is left to remove */
    sfi_staging_abandon();
    const char *name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP";
    char line[96];
    int len = snprintf(line, sizeof line, "scorefield: interrupted by %s: this run's temporary files were removed\n", name);
    if (len > 0 && cli_rank() == 0 && write(STDERR_FILENO, line, (size_t)len) < 0) { /* one line: rank 0's */ }
    _exit(SF_EXIT_SIGNAL_BASE + sig);
}

void cli_signals_start(void)
{
    static sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0) return;
    pthread_attr_t attr;
    pthread_t thread;
    int started = pthread_attr_init(&attr) == 0 && pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
                  pthread_create(&thread, &attr, take_signals, &mask) == 0;
    pthread_attr_destroy(&attr);
    if (!started) pthread_sigmask(SIG_UNBLOCK, &mask, NULL); /* default actions: no worse than before */
}

void cli_signals_ending(int status) { ending_status = status; }

static int ensure_set(void)
{
    if (run_set) return SF_EXIT_OK;
    sf_status st = sfi_output_set_create(&run_set);
    return st == SF_OK ? SF_EXIT_OK : cli_write_error(st);
}

int cli_outputs_add(const char *label, const char *path, uint64_t bytes)
{
    int status = ensure_set();
    sf_status st = status == SF_EXIT_OK ? sfi_output_set_add(run_set, path, label, bytes) : SF_OK;
    return status != SF_EXIT_OK ? status : st == SF_OK ? SF_EXIT_OK : cli_write_error(st);
}

int cli_outputs_add_input(const char *label, const char *path)
{
    int status = ensure_set();
    sf_status st = status == SF_EXIT_OK ? sfi_output_set_add_input(run_set, path, label) : SF_OK;
    return status != SF_EXIT_OK ? status : st == SF_OK ? SF_EXIT_OK : cli_write_error(st);
}

/* Tests only: SCOREFIELD_TEST_UNWRITABLE_RANK=R makes rank R behave as if the folder of its
 * outputs refused it (EACCES) when it joins the shared temporaries: a failure on one rank only,
 * which cannot be arranged with permissions when the tests run as root on one machine. */
static int injected_unwritable(void)
{
    const char *text = getenv("SCOREFIELD_TEST_UNWRITABLE_RANK");
    return text && *text && atoi(text) == cli_rank();
}

/* Under MPI: rank 0 prepares the set (every check, every temporary file), the other ranks join its
 * temporaries; then all agree. */
static int prepare_shared(int status)
{
    char *names = NULL;
    size_t len = 0;
    sf_status st;
    if (status == SF_EXIT_OK && cli_rank() == 0) {
        if ((st = sfi_output_set_prepare(run_set)) != SF_OK || (st = sfi_output_set_temporaries(run_set, &names, &len)) != SF_OK)
            status = cli_write_error(st);
    }
    status = cli_shard_agree(status);
    if (status == SF_EXIT_OK) status = cli_shard_broadcast(&names, &len);
    if (status == SF_EXIT_OK && cli_rank() != 0) {
        if (injected_unwritable())
            status = cli_bad_input("%s: cannot open the shared temporary file of the outputs: Permission denied "
                                   "(injected by SCOREFIELD_TEST_UNWRITABLE_RANK)", names);
        else if ((st = sfi_output_set_join(run_set, names, len)) != SF_OK)
            status = cli_write_error(st);
    }
    free(names);
    if (status == SF_EXIT_OK) sfi_output_set_activate(run_set);
    return cli_shard_agree(status);
}

int cli_outputs_prepare(void)
{
    int status = ensure_set();
    if (cli_ranks() > 1) return prepare_shared(status);
    if (status != SF_EXIT_OK) return status;
    sf_status st = sfi_output_set_prepare(run_set);
    if (st != SF_OK) return cli_write_error(st);
    sfi_output_set_activate(run_set);
    return SF_EXIT_OK;
}

int cli_outputs_folder(const char *dir, const char *const *names, int count)
{
    int status = ensure_set();
    if (status != SF_EXIT_OK) return status;
    sf_status st = sfi_output_set_add_folder(run_set, dir);
    for (int i = 0; st == SF_OK && i < count; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *path = malloc(len);
        if (!path) return cli_failure("out of memory");
        snprintf(path, len, "%s/%s", dir, names[i]);
        st = sfi_output_set_add(run_set, path, NULL, 0);
        free(path);
    }
    return st == SF_OK ? cli_outputs_prepare() : cli_write_error(st);
}

/* Under MPI: every rank agrees that its rows are written, rank 0 renames, every rank learns the
 * outcome. */
static int commit_shared(void)
{
    int status = cli_shard_agree(SF_EXIT_OK);
    if (status == SF_EXIT_OK && cli_rank() == 0) {
        sf_status st = sfi_output_set_commit(run_set);
        if (st != SF_OK) status = cli_write_error(st);
    }
    status = cli_shard_agree(status);
    if (status == SF_EXIT_OK) {
        if (cli_rank() != 0) sfi_output_set_release(run_set);
        shared_committed = 1;
    }
    return status;
}

int cli_outputs_commit(void)
{
    if (cli_ranks() > 1) return !run_set || shared_committed ? SF_EXIT_OK : commit_shared();
    sf_status st = run_set ? sfi_output_set_commit(run_set) : SF_OK;
    return st == SF_OK ? SF_EXIT_OK : cli_write_error(st);
}

int cli_outputs_finish(int status)
{
    if (status == SF_EXIT_OK) status = cli_outputs_commit();
    sfi_output_set_destroy(run_set); /* removes whatever was not committed */
    run_set = NULL;
    return status;
}

uint64_t cli_npy_bytes(const char *label, int ndim, const size_t *shape)
{
    uint64_t count = 1;
    for (int a = 0; a < ndim; a++) {
        if (shape[a] != 0 && count > (UINT64_MAX / 8 - 4096) / shape[a]) {
            cli_bad_input("%s: an array of this shape does not fit in memory", label);
            return 0;
        }
        count *= shape[a];
    }
    return 8 * count + 4096; /* the header: at most a few hundred bytes */
}
