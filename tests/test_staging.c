/* Staged outputs and output sets (src/io/staging.h): what exists is never lost. Every test works in
 * a fresh folder and checks, besides the outcome, that the files that were there before keep their
 * contents and that no temporary file (".tmp.") is left behind. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* mkdtemp, mkfifo, symlink */
#endif
#include "cli_harness.h"
#include "report.h"
#include "npy_rows.h"
#include "staging.h"

#include <criterion/criterion.h>
#include <scorefield.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

TestSuite(staging, .init = cli_make_tmpdir, .fini = cli_remove_tmpdir);

/* The whole content of a small file, NUL-terminated ("" if it cannot be read). */
static const char *contents(const char *path)
{
    static char buf[4096];
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return buf;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void expect_no_temporaries(void)
{
    char names[2048];
    cr_expect_eq(leftover_temporaries(names, sizeof names), 0, "temporary files left:%s", names);
}

/* Writes `text` to `path` through a staged stream and closes it with `commit`. */
static sf_status staged_text(const char *path, const char *text, int commit)
{
    sf_staged *s;
    FILE *f;
    sf_status st = sfi_staged_open(&s, path, &f);
    if (st != SF_OK) return st;
    fputs(text, f);
    return sfi_staged_close(s, commit);
}

/* A set of two outputs in tmpdir, prepared. */
static sf_output_set *prepared_pair(const char *a, const char *b)
{
    sf_output_set *set;
    cr_assert_eq(sfi_output_set_create(&set), SF_OK);
    cr_assert_eq(sfi_output_set_add(set, a, "--first", 10), SF_OK);
    cr_assert_eq(sfi_output_set_add(set, b, "--second", 10), SF_OK);
    cr_assert_eq(sfi_output_set_prepare(set), SF_OK, "%s", sf_last_error());
    return set;
}

/* Defect 3 of issue 8: the CSV/SVG writer wrote PATH.tmp.<pid> with a plain fopen, so a symbolic
 * link planted at that predictable name overwrote its target. Links at every name the old writers
 * used are planted; the victim must keep its contents. */
Test(staging, planted_symlink_at_a_predictable_temporary_name_is_not_followed)
{
    char path[PATH_LEN], victim[PATH_LEN], trap[PATH_LEN + 64];
    tmp_path(path, "table.csv");
    tmp_path(victim, "victim.txt");
    write_text(victim, "precious\n");
    snprintf(trap, sizeof trap, "%s.tmp.%ld", path, (long)getpid());
    cr_assert_eq(symlink(victim, trap), 0, "symlink: %s", strerror(errno));
    for (int k = 0; k < 4; k++) {
        snprintf(trap, sizeof trap, "%s.tmp.%ld.%d", path, (long)getpid(), k);
        cr_assert_eq(symlink(victim, trap), 0);
    }
    const double col[2] = {1, 2};
    const double *cols[1] = {col};
    const char *names[1] = {"x"};
    cr_assert_eq(sfi_csv_write(path, 1, names, cols, 2), SF_OK, "%s", sf_last_error());
    cr_expect_str_eq(contents(victim), "precious\n", "the symbolic link's target was overwritten");
    cr_expect_str_eq(contents(path), "x\n1\n2\n");
}

/* An existing special file or symbolic link at an output path is refused before anything is
 * written, and stays what it was. */
Test(staging, special_files_and_symlinks_are_never_replaced)
{
    char fifo[PATH_LEN], link[PATH_LEN], target[PATH_LEN], folder[PATH_LEN], sock_path[PATH_LEN];
    tmp_path(fifo, "fifo"), tmp_path(link, "link.npy"), tmp_path(target, "target.npy");
    tmp_path(folder, "folder"), tmp_path(sock_path, "socket");
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    write_text(target, "target\n");
    cr_assert_eq(symlink(target, link), 0);
    cr_assert_eq(mkdir(folder, 0700), 0);
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    cr_assert_lt(strlen(sock_path), sizeof addr.sun_path);
    memcpy(addr.sun_path, sock_path, strlen(sock_path) + 1);
    cr_assert(sock >= 0 && bind(sock, (struct sockaddr *)&addr, sizeof addr) == 0, "socket: %s", strerror(errno));
    const char *paths[4] = {fifo, link, folder, sock_path};
    const char *kinds[4] = {"FIFO", "symbolic link", "folder", "socket"};
    for (int k = 0; k < 4; k++) {
        cr_expect_eq(staged_text(paths[k], "new\n", 1), SF_ERR_INVALID, "%s accepted", kinds[k]);
        cr_expect(strstr(sf_last_error(), paths[k]) && strstr(sf_last_error(), kinds[k]), "message: %s", sf_last_error());
        sf_output_set *set;
        cr_assert_eq(sfi_output_set_create(&set), SF_OK);
        cr_assert_eq(sfi_output_set_add(set, paths[k], "--out", 4), SF_OK);
        cr_expect_eq(sfi_output_set_prepare(set), SF_ERR_INVALID, "%s accepted by a set", kinds[k]);
        sfi_output_set_destroy(set);
    }
    struct stat sb;
    cr_expect(lstat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode));
    cr_expect(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode));
    cr_expect(lstat(folder, &sb) == 0 && S_ISDIR(sb.st_mode));
    cr_expect(lstat(sock_path, &sb) == 0 && S_ISSOCK(sb.st_mode));
    cr_expect_str_eq(contents(target), "target\n");
    close(sock);
    expect_no_temporaries();
}

/* A device node (a copy of /dev/full made here with mknod, which needs root; /dev itself is never
 * touched): refused like any special file. */
Test(staging, device_node_is_never_replaced)
{
    char dev[PATH_LEN];
    tmp_path(dev, "full");
    if (mknod(dev, S_IFCHR | 0666, makedev(1, 7)) != 0) {
        cr_log_info("mknod needs root (%s): the device case is covered by the FIFO and socket cases", strerror(errno));
        return;
    }
    cr_expect_eq(staged_text(dev, "new\n", 1), SF_ERR_INVALID);
    cr_expect(strstr(sf_last_error(), "character device"), "%s", sf_last_error());
    struct stat sb;
    cr_expect(lstat(dev, &sb) == 0 && S_ISCHR(sb.st_mode), "the device node was replaced");
    expect_no_temporaries();
}

/* Two outputs naming one file, directly or through another spelling of the path, and an output
 * that is an input (also through a symbolic link to it): refused before anything is created. */
Test(staging, same_file_twice_and_output_equal_to_input_are_refused)
{
    char a[PATH_LEN], dot_a[PATH_LEN + 8], in[PATH_LEN], in_link[PATH_LEN];
    tmp_path(a, "a.npy"), tmp_path(in, "in.npy"), tmp_path(in_link, "in_link.npy");
    snprintf(dot_a, sizeof dot_a, "%s/./a.npy", tmpdir);
    sf_output_set *set;
    cr_assert_eq(sfi_output_set_create(&set), SF_OK);
    sfi_output_set_add(set, a, "--out", 1), sfi_output_set_add(set, dot_a, "--logp", 1);
    cr_expect_eq(sfi_output_set_prepare(set), SF_ERR_INVALID);
    cr_expect(strstr(sf_last_error(), "same file"), "%s", sf_last_error());
    sfi_output_set_destroy(set);
    write_text(in, "input\n");
    cr_assert_eq(symlink(in, in_link), 0);
    cr_assert_eq(sfi_output_set_create(&set), SF_OK);
    sfi_output_set_add_input(set, in_link, "--in");
    sfi_output_set_add(set, a, "--out", 1), sfi_output_set_add(set, in, "--logp", 1);
    cr_expect_eq(sfi_output_set_prepare(set), SF_ERR_INVALID);
    cr_expect(strstr(sf_last_error(), "also an input"), "%s", sf_last_error());
    sfi_output_set_destroy(set);
    cr_expect_str_eq(contents(in), "input\n");
    cr_expect(!file_exists(a));
    expect_no_temporaries();
}

/* An output path that has become a special file since prepare is refused by the commit before
 * anything is renamed. */
Test(staging, path_turned_special_before_the_commit_is_refused)
{
    char a[PATH_LEN], b[PATH_LEN];
    tmp_path(a, "a.npy"), tmp_path(b, "b.npy");
    write_text(a, "old a\n");
    sf_output_set *set = prepared_pair(a, b);
    sfi_output_set_activate(set);
    cr_assert_eq(staged_text(a, "new a\n", 1), SF_OK, "%s", sf_last_error());
    cr_assert_eq(staged_text(b, "new b\n", 1), SF_OK, "%s", sf_last_error());
    cr_assert_eq(mkfifo(b, 0600), 0);
    cr_expect_eq(sfi_output_set_commit(set), SF_ERR_INVALID, "%s", sf_last_error());
    sfi_output_set_destroy(set);
    cr_expect_str_eq(contents(a), "old a\n");
    struct stat sb;
    cr_expect(lstat(b, &sb) == 0 && S_ISFIFO(sb.st_mode));
    unlink(b);
    expect_no_temporaries();
}

/* The name of the one temporary file beside `path` in tmpdir. */
static void temporary_of(const char *path, char *name, size_t cap)
{
    char names[2048] = "";
    cr_assert_eq(temporaries_under(tmpdir, names, sizeof names), 2, "%s", names);
    char prefix[PATH_LEN + 8];
    snprintf(prefix, sizeof prefix, " %s.tmp.", path);
    const char *at = strstr(names, prefix);
    cr_assert_not_null(at, "no temporary for %s in:%s", path, names);
    snprintf(name, cap, "%s", at + 1);
    char *space = strchr(name, ' ');
    if (space) *space = '\0';
}

/* A commit whose second rename fails (its temporary was removed behind the set's back) undoes the
 * first: the replaced file is back, the output that did not exist before is absent again. Before
 * issue 8 a failed run removed its outputs after renaming them, taking earlier runs' files along. */
Test(staging, failed_rename_undoes_the_renames_before_it)
{
    char a[PATH_LEN], b[PATH_LEN], temp_b[PATH_LEN + 32];
    tmp_path(a, "a.npy"), tmp_path(b, "b.npy");
    write_text(a, "old a\n");
    sf_output_set *set = prepared_pair(a, b);
    sfi_output_set_activate(set);
    cr_assert_eq(staged_text(a, "new a\n", 1), SF_OK);
    cr_assert_eq(staged_text(b, "new b\n", 1), SF_OK);
    temporary_of(b, temp_b, sizeof temp_b);
    cr_assert_eq(unlink(temp_b), 0);
    cr_expect_eq(sfi_output_set_commit(set), SF_ERR_IO);
    cr_expect(strstr(sf_last_error(), b) && strstr(sf_last_error(), "no output was changed"), "%s", sf_last_error());
    cr_expect_str_eq(contents(a), "old a\n", "a was left replaced although b failed");
    cr_expect(!file_exists(b));
    sfi_output_set_destroy(set);
    cr_expect_str_eq(contents(a), "old a\n");
    expect_no_temporaries();
}

/* A set destroyed without a commit (a failed run) leaves the file system as it was: old files
 * untouched, new ones absent, a folder it created removed. */
Test(staging, uncommitted_set_leaves_everything_as_it_was)
{
    char dir[PATH_LEN], a[PATH_LEN], b[PATH_LEN + 16];
    tmp_path(dir, "new_folder"), tmp_path(a, "a.npy");
    snprintf(b, sizeof b, "%s/b.csv", dir);
    write_text(a, "old a\n");
    sf_output_set *set;
    cr_assert_eq(sfi_output_set_create(&set), SF_OK);
    sfi_output_set_add_folder(set, dir);
    sfi_output_set_add(set, a, NULL, 1), sfi_output_set_add(set, b, NULL, 1);
    cr_assert_eq(sfi_output_set_prepare(set), SF_OK, "%s", sf_last_error());
    cr_expect(file_exists(dir), "prepare creates the folder");
    sfi_output_set_activate(set);
    cr_assert_eq(staged_text(a, "new a\n", 1), SF_OK);
    sfi_output_set_destroy(set);
    cr_expect_str_eq(contents(a), "old a\n");
    cr_expect(!file_exists(dir), "the folder the run created is still there");
    expect_no_temporaries();
}

/* A committed set: every output in place, the created folder kept, no temporaries. */
Test(staging, committed_set_writes_every_output)
{
    char dir[PATH_LEN], a[PATH_LEN], b[PATH_LEN + 16];
    tmp_path(dir, "figs"), tmp_path(a, "a.npy");
    snprintf(b, sizeof b, "%s/b.csv", dir);
    write_text(a, "old a\n");
    sf_output_set *set;
    cr_assert_eq(sfi_output_set_create(&set), SF_OK);
    sfi_output_set_add_folder(set, dir);
    sfi_output_set_add(set, a, NULL, 1), sfi_output_set_add(set, b, NULL, 1);
    cr_assert_eq(sfi_output_set_prepare(set), SF_OK, "%s", sf_last_error());
    sfi_output_set_activate(set);
    cr_assert_eq(staged_text(a, "new a\n", 1), SF_OK);
    cr_expect_str_eq(contents(a), "old a\n", "written before the commit");
    cr_assert_eq(staged_text(b, "new b\n", 1), SF_OK);
    cr_assert_eq(sfi_output_set_commit(set), SF_OK, "%s", sf_last_error());
    sfi_output_set_destroy(set);
    cr_expect_str_eq(contents(a), "new a\n");
    cr_expect_str_eq(contents(b), "new b\n");
    expect_no_temporaries();
}

/* While a set is active, a file that is not one of its outputs cannot be written, and an output
 * never written cannot be committed. */
Test(staging, active_set_accepts_only_its_outputs)
{
    char a[PATH_LEN], b[PATH_LEN], other[PATH_LEN];
    tmp_path(a, "a.npy"), tmp_path(b, "b.npy"), tmp_path(other, "other.npy");
    sf_output_set *set = prepared_pair(a, b);
    sfi_output_set_activate(set);
    cr_expect_eq(staged_text(other, "x\n", 1), SF_ERR_INVALID);
    cr_expect(strstr(sf_last_error(), "not one of this run's declared outputs"), "%s", sf_last_error());
    cr_assert_eq(staged_text(a, "a\n", 1), SF_OK);
    cr_expect_eq(sfi_output_set_commit(set), SF_ERR_INVALID, "b was never written");
    sfi_output_set_destroy(set);
    cr_expect(!file_exists(a) && !file_exists(b) && !file_exists(other));
    expect_no_temporaries();
}

/* Outputs that cannot fit in the free space of their file system are refused before anything is
 * created (an SF_ERR_IO: the file system, not the path, is the problem). */
Test(staging, outputs_larger_than_the_free_space_are_refused)
{
    char a[PATH_LEN];
    tmp_path(a, "huge.npy");
    sf_output_set *set;
    cr_assert_eq(sfi_output_set_create(&set), SF_OK);
    sfi_output_set_add(set, a, "--out", UINT64_MAX / 2);
    cr_expect_eq(sfi_output_set_prepare(set), SF_ERR_IO);
    cr_expect(strstr(sf_last_error(), "free space") && strstr(sf_last_error(), "--out"), "%s", sf_last_error());
    sfi_output_set_destroy(set);
    cr_expect(!file_exists(a));
    expect_no_temporaries();
}

/* A missing folder is a bad path (SF_ERR_INVALID) named in the message. */
Test(staging, output_in_a_missing_folder_is_refused)
{
    char a[PATH_LEN];
    tmp_path(a, "nodir/l.npy");
    sf_output_set *set;
    cr_assert_eq(sfi_output_set_create(&set), SF_OK);
    sfi_output_set_add(set, a, "--logp", 1);
    cr_expect_eq(sfi_output_set_prepare(set), SF_ERR_INVALID);
    cr_expect(strstr(sf_last_error(), "does not exist") && strstr(sf_last_error(), "--logp"), "%s", sf_last_error());
    sfi_output_set_destroy(set);
    expect_no_temporaries();
}

/* The temporary name is new each time (64 random bits as 16 hex digits), so it cannot be planted in
 * advance: two staged streams for one path get two different temporaries beside it. */
Test(staging, temporary_names_are_unpredictable)
{
    char a[PATH_LEN];
    tmp_path(a, "a.npy");
    sf_staged *s1, *s2;
    FILE *f1, *f2;
    cr_assert_eq(sfi_staged_open(&s1, a, &f1), SF_OK);
    cr_assert_eq(sfi_staged_open(&s2, a, &f2), SF_OK);
    char names[2048] = "", first[PATH_LEN + 32], second[PATH_LEN + 32];
    cr_assert_eq(temporaries_under(tmpdir, names, sizeof names), 2, "%s", names);
    cr_assert_eq(sscanf(names, " %543s %543s", first, second), 2);
    size_t len = strlen(a) + strlen(".tmp.") + 16;
    cr_expect(strlen(first) == len && strlen(second) == len, "names: %s, %s", first, second);
    cr_expect(strspn(first + len - 16, "0123456789abcdef") == 16, "%s", first);
    cr_expect_str_neq(first, second);
    sfi_staged_close(s1, 0), sfi_staged_close(s2, 0);
    expect_no_temporaries();
}

/* A replaced file keeps its permissions: a private file stays private (the temporary would otherwise
 * get the umask's 0644). */
Test(staging, replaced_file_keeps_its_permissions)
{
    char a[PATH_LEN], b[PATH_LEN];
    tmp_path(a, "private.csv"), tmp_path(b, "set.npy");
    write_text(a, "old\n");
    write_text(b, "old\n");
    cr_assert_eq(chmod(a, 0600), 0);
    cr_assert_eq(chmod(b, 0640), 0);
    cr_assert_eq(staged_text(a, "new\n", 1), SF_OK, "%s", sf_last_error());
    sf_output_set *set;
    cr_assert_eq(sfi_output_set_create(&set), SF_OK);
    sfi_output_set_add(set, b, NULL, 4);
    cr_assert_eq(sfi_output_set_prepare(set), SF_OK, "%s", sf_last_error());
    sfi_output_set_activate(set);
    cr_assert_eq(staged_text(b, "new\n", 1), SF_OK);
    cr_assert_eq(sfi_output_set_commit(set), SF_OK, "%s", sf_last_error());
    sfi_output_set_destroy(set);
    struct stat sa, sb;
    cr_assert(stat(a, &sa) == 0 && stat(b, &sb) == 0);
    cr_expect_eq(sa.st_mode & 0777, 0600, "mode %o", (unsigned)(sa.st_mode & 0777));
    cr_expect_eq(sb.st_mode & 0777, 0640, "mode %o", (unsigned)(sb.st_mode & 0777));
    cr_expect_str_eq(contents(a), "new\n");
    expect_no_temporaries();
}

/* ---------------------------------------------------------------- one file written by several processes */

/* A follower (another MPI rank, here another thread: the active set is per thread) writing rows
 * 3 ... 7 of a 7 x 2 array into the leader's temporary, and a whole file that only the leader writes. */
typedef struct {
    const char *path, *whole;
    const char *names;
    size_t len;
    const double *rows;
    sf_status st;
} follower_job;

static void *follow(void *arg)
{
    follower_job *job = arg;
    sf_output_set *set;
    sf_npy_writer *w = NULL;
    cr_assert_eq(sfi_output_set_create(&set), SF_OK);
    cr_assert_eq(sfi_output_set_add(set, job->path, "--out", 0), SF_OK);
    cr_assert_eq(sfi_output_set_add(set, job->whole, "--table", 0), SF_OK);
    job->st = sfi_output_set_join(set, job->names, job->len);
    sfi_output_set_activate(set);
    const size_t shape[2] = {7, 2};
    if (job->st == SF_OK) job->st = sfi_npy_writer_open_rows(&w, job->path, 2, shape, SF_DTYPE_F64, 3, 4, 0);
    if (job->st == SF_OK) job->st = sf_npy_writer_append(w, job->rows + 6, 8);
    if (job->st == SF_OK) job->st = sf_npy_writer_close(w, 1);
    if (job->st == SF_OK) job->st = staged_text(job->whole, "not the leader's table\n", 1); /* to /dev/null */
    sfi_output_set_release(set);
    sfi_output_set_destroy(set); /* removes nothing: the temporaries are the leader's */
    return NULL;
}

Test(staging, rows_written_by_two_processes_make_the_one_process_file)
{
    char path[256], whole[256], single[256];
    tmp_path(path, "shared.npy"), tmp_path(whole, "table.csv"), tmp_path(single, "single.npy");
    double data[14];
    for (int i = 0; i < 14; i++) data[i] = 0.25 * i - 1;
    const size_t shape[2] = {7, 2};
    cr_assert_eq(sf_npy_write(single, data, 2, shape, SF_DTYPE_F64), SF_OK);
    sf_output_set *leader;
    cr_assert_eq(sfi_output_set_create(&leader), SF_OK);
    cr_assert_eq(sfi_output_set_add(leader, path, "--out", 0), SF_OK);
    cr_assert_eq(sfi_output_set_add(leader, whole, "--table", 0), SF_OK);
    cr_assert_eq(sfi_output_set_prepare(leader), SF_OK, "%s", sf_last_error());
    char *names;
    size_t len;
    cr_assert_eq(sfi_output_set_temporaries(leader, &names, &len), SF_OK);
    follower_job job = {path, whole, names, len, data, SF_OK};
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, follow, &job), 0);
    /* the leader: the header and rows 0 ... 2, and the whole table */
    sfi_output_set_activate(leader);
    sf_npy_writer *w;
    cr_assert_eq(sfi_npy_writer_open_rows(&w, path, 2, shape, SF_DTYPE_F64, 0, 3, 1), SF_OK, "%s", sf_last_error());
    cr_assert_eq(sf_npy_writer_append(w, data, 6), SF_OK);
    cr_assert_eq(sf_npy_writer_close(w, 1), SF_OK, "%s", sf_last_error());
    cr_assert_eq(staged_text(whole, "t,x\n", 1), SF_OK);
    pthread_join(thread, NULL);
    cr_assert_eq(job.st, SF_OK, "follower: %s", sf_last_error());
    free(names);
    cr_expect(access(path, F_OK) != 0, "the output exists before the commit");
    cr_assert_eq(sfi_output_set_commit(leader), SF_OK, "%s", sf_last_error());
    sfi_output_set_destroy(leader);
    /* byte for byte the file one process writes */
    char one[512], two[512];
    FILE *a = fopen(single, "rb"), *b = fopen(path, "rb");
    cr_assert(a && b);
    size_t na = fread(one, 1, sizeof one, a), nb = fread(two, 1, sizeof two, b);
    fclose(a), fclose(b);
    cr_expect_eq(na, 128 + 14 * 8);
    cr_expect(na == nb && memcmp(one, two, na) == 0, "the shared file differs from one process's (%zu and %zu bytes)", na, nb);
    cr_expect_str_eq(contents(whole), "t,x\n");
    expect_no_temporaries();
}

Test(staging, a_follower_neither_creates_nor_commits)
{
    char path[256];
    tmp_path(path, "joined.npy");
    sf_output_set *set;
    cr_assert_eq(sfi_output_set_create(&set), SF_OK);
    cr_assert_eq(sfi_output_set_add(set, path, "--out", 0), SF_OK);
    /* a temporary name that does not exist: nothing is created in its place */
    char missing[300];
    snprintf(missing, sizeof missing, "%s.tmp.0000000000000000", path);
    cr_expect_eq(sfi_output_set_join(set, missing, strlen(missing) + 1), SF_ERR_IO);
    cr_expect(strstr(sf_last_error(), "shared temporary") != NULL, "%s", sf_last_error());
    cr_expect(access(missing, F_OK) != 0);
    sfi_output_set_destroy(set);
    /* two outputs and the name of one temporary: refused, and the file opened is left alone */
    char other[256], one_name[300];
    tmp_path(other, "other.npy");
    snprintf(one_name, sizeof one_name, "%s.tmp.0123456789abcdef", path);
    FILE *planted = fopen(one_name, "w");
    cr_assert_not_null(planted);
    fputs("the leader's", planted);
    fclose(planted);
    cr_assert_eq(sfi_output_set_create(&set), SF_OK);
    cr_assert_eq(sfi_output_set_add(set, path, "--out", 0), SF_OK);
    cr_assert_eq(sfi_output_set_add(set, other, "--logp", 0), SF_OK);
    cr_expect_eq(sfi_output_set_join(set, one_name, strlen(one_name) + 1), SF_ERR_INVALID);
    sfi_output_set_destroy(set);
    cr_expect_str_eq(contents(one_name), "the leader's");
    unlink(one_name);
    /* parts are written only into a set */
    sf_staged *s;
    FILE *f;
    cr_expect_eq(sfi_staged_open_at(&s, path, 128, &f), SF_ERR_INVALID);
    expect_no_temporaries();
}
