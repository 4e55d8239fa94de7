/* Particles sharded over MPI ranks: the ranks, their ranges and the status-first collectives (see
 * shard.h). Compiled with MPI when the build has it (SF_HAVE_MPI); the library never sees MPI. */
#include "shard.h"
#include "options.h"
#include "outputs.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef SF_HAVE_MPI
#include <mpi.h>
#include <omp.h>
#endif

static int rank_, ranks_ = 1, active_;
static int local_rank_; /* among the ranks on this node */
static int induced_; /* this rank stopped because another rank failed */

/* The errors of this rank, kept under MPI until cli_shard_finish picks the one rank that prints. */
static char kept_[4096];
static size_t kept_len_;

int cli_rank(void) { return rank_; }
int cli_ranks(void) { return ranks_; }
int cli_shard_active(void) { return active_; }

static size_t granule_ = 1;

void cli_shard_set_granule(size_t items) { granule_ = items ? items : 1; }

void cli_shard_range_of(int rank, size_t n, size_t *first, size_t *count)
{
    size_t units = n / granule_ + (n % granule_ != 0); /* whole granules, the last one possibly short */
    size_t base = units / (size_t)ranks_, extra = units % (size_t)ranks_, r = (size_t)rank;
    size_t u0 = r * base + (r < extra ? r : extra), u1 = u0 + base + (r < extra);
    *first = u0 * granule_ < n ? u0 * granule_ : n;
    *count = (u1 * granule_ < n ? u1 * granule_ : n) - *first;
}

void cli_shard_range(size_t n, size_t *first, size_t *count) { cli_shard_range_of(rank_, n, first, count); }

void cli_shard_error(const char *line)
{
    if (!active_ || ranks_ == 1) {
        fputs(line, stderr);
        return;
    }
    size_t len = strlen(line);
    if (kept_len_ + len >= sizeof kept_) len = sizeof kept_ - 1 - kept_len_;
    memcpy(kept_ + kept_len_, line, len);
    kept_len_ += len;
    kept_[kept_len_] = '\0';
}

void cli_shard_print_ranks(size_t n, const char *items)
{
    if (!active_) return;
    printf("  ranks      %d rank%s (MPI):", ranks_, ranks_ == 1 ? "" : "s");
    for (int r = 0; r < ranks_; r++) {
        if (ranks_ > 8 && r == 3) { /* a long job: the first ranks and the last */
            printf(", ...");
            r = ranks_ - 3;
        }
        size_t first, count;
        cli_shard_range_of(r, n, &first, &count);
        printf("%s rank %d %s %zu..%zu", r ? "," : "", r, items, first, first + count);
    }
    printf("\n");
}

/* Sums in rank order (all[r * count + i]), so that the result does not depend on arrival order. */
static void combine(double *values, const double *all, int count, int how)
{
    for (int i = 0; i < count; i++) {
        double v = all[i];
        for (int r = 1; r < ranks_; r++) {
            double w = all[(size_t)r * count + i];
            v = how == 0 ? v + w : how < 0 ? (w < v ? w : v) : (w > v ? w : v);
        }
        values[i] = v;
    }
}

static int reduce(int status, double *values, int count, int how)
{
    double *all = malloc(((size_t)ranks_ * (count > 0 ? count : 1)) * sizeof(double));
    if (!all && status == SF_EXIT_OK) status = cli_failure("out of memory for a reduction over %d ranks", ranks_);
    status = cli_shard_gather(status, values, count, all);
    if (status == SF_EXIT_OK) combine(values, all, count, how);
    free(all);
    return status;
}

int cli_shard_sum(int status, double *values, int count) { return reduce(status, values, count, 0); }
int cli_shard_min(int status, double *values, int count) { return reduce(status, values, count, -1); }
int cli_shard_max(int status, double *values, int count) { return reduce(status, values, count, 1); }
int cli_shard_agree(int status) { return cli_shard_gather(status, NULL, 0, NULL); }

/* sf_sum_fn over the ranks: 0 when every rank took part. */
static int sum_over_ranks(void *data, double *values, int count)
{
    (void)data;
    return cli_shard_sum(SF_EXIT_OK, values, count) == SF_EXIT_OK ? 0 : 1;
}

int cli_shard_share(sf_context *ctx)
{
    sf_status st = sf_context_set_share(ctx, rank_, ranks_, sum_over_ranks, NULL);
    return st == SF_OK ? SF_EXIT_OK : cli_library_error(st);
}

#ifdef SF_HAVE_MPI

enum { PHASE_RUNNING = 0, PHASE_FINISHED = 1 };

/* What each rank says at a collective: where it is, its status, whether it failed by itself. */
typedef struct {
    int phase, status, own;
} word;

static word *words_; /* [ranks_] */

/* Whether an MPI launcher started this process (OpenMPI, MPICH/Hydra and Slurm's PMI, PMIx,
 * MVAPICH): a plain run never initialises MPI, so it starts as fast as before. */
static int launched_by_mpi(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MV2_COMM_WORLD_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

int cli_shard_built(void) { return 1; }

void cli_shard_start(int *argc, char ***argv)
{
    if (!launched_by_mpi() || MPI_Init(argc, argv) != MPI_SUCCESS) return;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks_);
    if (!(words_ = malloc((size_t)ranks_ * sizeof *words_))) {
        fputs("scorefield: out of memory joining the MPI job\n", stderr);
        MPI_Abort(MPI_COMM_WORLD, SF_EXIT_FAILED);
    }
    MPI_Comm node;
    int local_ranks = 1;
    local_rank_ = rank_;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_rank(node, &local_rank_);
        MPI_Comm_size(node, &local_ranks);
        MPI_Comm_free(&node);
    }
    /* the node's cores shared out between its ranks (OpenMP's default, every core for every rank,
     * oversubscribes the node P times over); OMP_NUM_THREADS, when set, decides */
    if (!getenv("OMP_NUM_THREADS")) {
        int threads = omp_get_num_procs() / local_ranks;
        omp_set_num_threads(threads > 1 ? threads : 1);
    }
    active_ = 1;
    if (rank_ != 0 && !freopen("/dev/null", "w", stdout)) fclose(stdout); /* one summary: rank 0's */
}

/* Every rank's word; returns the lowest rank that failed by itself (or any failed rank), or -1. */
static int exchange(word mine)
{
    MPI_Allgather(&mine, 3, MPI_INT, words_, 3, MPI_INT, MPI_COMM_WORLD);
    int failed = -1;
    for (int r = ranks_; r-- > 0;)
        if (words_[r].status != SF_EXIT_OK && (failed < 0 || words_[r].own || !words_[failed].own)) failed = r;
    return failed;
}

int cli_shard_gather(int status, const double *mine, int count, double *all)
{
    if (status != SF_EXIT_OK) return status; /* a failed rank meets the others in cli_shard_finish */
    if (!active_ || ranks_ == 1) {
        if (count) memcpy(all, mine, (size_t)count * sizeof(double));
        return SF_EXIT_OK;
    }
    int failed = exchange((word){PHASE_RUNNING, SF_EXIT_OK, 0});
    int finished = -1;
    for (int r = 0; r < ranks_ && finished < 0; r++)
        if (words_[r].phase == PHASE_FINISHED) finished = r;
    if (failed >= 0 || finished >= 0) {
        induced_ = 1;
        return failed >= 0 ? words_[failed].status : SF_EXIT_FAILED;
    }
    if (count) MPI_Allgather(mine, count, MPI_DOUBLE, all, count, MPI_DOUBLE, MPI_COMM_WORLD);
    return SF_EXIT_OK;
}

int cli_shard_broadcast(char **data, size_t *len)
{
    if (!active_ || ranks_ == 1) return SF_EXIT_OK;
    unsigned long long n = rank_ == 0 ? (unsigned long long)*len : 0;
    MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
    char *buf = rank_ == 0 ? *data : malloc(n ? n : 1);
    int ok = buf != NULL && n < (unsigned long long)INT32_MAX, all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    if (!all_ok) {
        if (rank_ != 0) free(buf);
        return rank_ != 0 && !buf ? cli_failure("out of memory for %llu bytes from rank 0", n) : SF_EXIT_FAILED;
    }
    MPI_Bcast(buf, (int)n, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (rank_ != 0) *data = buf, *len = (size_t)n;
    return SF_EXIT_OK;
}

/* The error a failed run prints once: the kept lines of the rank that failed first, by rank. */
static void print_kept(int failed)
{
    if (failed == rank_ && kept_len_) {
        char *line = kept_;
        while (*line) {
            char *end = strchr(line, '\n');
            size_t len = end ? (size_t)(end - line) : strlen(line);
            const char *text = strncmp(line, "scorefield: ", 12) == 0 ? line + 12 : line;
            fprintf(stderr, "scorefield: rank %d of %d: %.*s\n", rank_, ranks_, (int)(len - (size_t)(text - line)), text);
            line += len + (end ? 1 : 0);
        }
    } else if (failed == rank_) {
        fprintf(stderr, "scorefield: rank %d of %d failed\n", rank_, ranks_);
    }
}

int cli_shard_finish(int status)
{
    if (!active_) return status;
    if (ranks_ > 1) {
        word mine = {PHASE_FINISHED, status, status != SF_EXIT_OK && !induced_};
        int failed, running;
        do { /* answer the collectives of ranks still running until every rank has finished */
            failed = exchange(mine);
            running = 0;
            for (int r = 0; r < ranks_; r++) running |= words_[r].phase != PHASE_FINISHED;
        } while (running);
        if (failed >= 0) {
            status = words_[failed].status;
            print_kept(failed);
        }
        /* mpirun ends every rank when one exits with a failure: the error is printed before any exits */
        cli_signals_ending(status);
        fflush(stderr);
        MPI_Barrier(MPI_COMM_WORLD);
    }
    fflush(stdout);
    MPI_Finalize();
    return status;
}

int cli_shard_device(int requested)
{
    if (!active_) return requested;
    const char *why = NULL;
    int devices = sf_cuda_device_count(&why);
    return devices > 0 ? (requested + local_rank_) % devices : requested;
}

#else /* one process: every collective is the identity */

int cli_shard_built(void) { return 0; }
void cli_shard_start(int *argc, char ***argv) { (void)argc, (void)argv; }
int cli_shard_finish(int status) { return status; }

int cli_shard_gather(int status, const double *mine, int count, double *all)
{
    if (status == SF_EXIT_OK && count) memcpy(all, mine, (size_t)count * sizeof(double));
    return status;
}

int cli_shard_broadcast(char **data, size_t *len)
{
    (void)data, (void)len;
    return SF_EXIT_OK;
}

int cli_shard_device(int requested) { return requested; }

#endif
