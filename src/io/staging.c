/* Writing files without ever losing what was there: staged files, output sets and the registry of
 * temporaries (see staging.h). */
#include "staging.h"
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- the registry of temporaries */

/* A temporary file, or a folder a set created, that exists only for the current run. */
typedef struct live {
    char *path;
    int folder;
    int listed;
    struct live *prev, *next;
} live;

/* Held while anything is created, renamed or removed, so that sfi_staging_abandon (on another
 * thread) sees every temporary and never races a commit. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static live *registry; /* newest first */

static void registry_add(live *e)
{
    e->prev = NULL, e->next = registry, e->listed = 1;
    if (registry) registry->prev = e;
    registry = e;
}

static void registry_remove(live *e)
{
    if (!e->listed) return;
    if (e->prev) e->prev->next = e->next;
    else registry = e->next;
    if (e->next) e->next->prev = e->prev;
    e->listed = 0;
}

void sfi_staging_abandon(void)
{
    pthread_mutex_lock(&registry_lock); /* never unlocked: the process ends next */
    for (live *e = registry; e; e = e->next)
        if (!e->folder) unlink(e->path);
    for (live *e = registry; e; e = e->next) /* newest first: inner folders before outer ones */
        if (e->folder) rmdir(e->path);
}

/* ---------------------------------------------------------------- names */

/* 64 unpredictable bits for a temporary name. */
static uint64_t random_bits(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, 0) == (ssize_t)sizeof v) return v;
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f ? fread(&v, sizeof v, 1, f) : 0;
    if (f) fclose(f);
    if (got == 1) return v;
    /* no entropy source: mix the clock, the process and a counter (splitmix64); O_EXCL still
     * guarantees that nothing existing is opened */
    static _Thread_local uint64_t counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    v = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 17) ^ ++counter;
    v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ULL;
    v = (v ^ (v >> 27)) * 0x94d049bb133111ebULL;
    return v ^ (v >> 31);
}

/* PATH.tmp.<16 hex digits>, newly allocated (NULL when out of memory). */
static char *beside(const char *path)
{
    size_t cap = strlen(path) + 24;
    char *name = malloc(cap);
    if (name) snprintf(name, cap, "%s.tmp.%016llx", path, (unsigned long long)random_bits());
    return name;
}

/* Creates a new temporary file beside `path` (exclusively) and registers it; returns its
 * descriptor, or -1 with errno set. The caller holds registry_lock. */
static int create_temporary(const char *path, live *temp)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        if (!(temp->path = beside(path))) {
            errno = ENOMEM;
            return -1;
        }
        int fd = open(temp->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            temp->folder = 0;
            registry_add(temp);
            return fd;
        }
        int err = errno;
        free(temp->path);
        temp->path = NULL;
        errno = err;
        if (err != EEXIST) break;
    }
    return -1;
}

/* Removes a registered temporary file. The caller holds registry_lock. */
static void remove_temporary(live *temp)
{
    if (temp->listed) unlink(temp->path);
    registry_remove(temp);
    free(temp->path);
    temp->path = NULL;
}

/* The folder part of a path ("." for a bare name) and the name in it. */
static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    char *dir = malloc(len + 1);
    if (dir) memcpy(dir, path, len), dir[len] = '\0';
    return dir;
}

static const char *name_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* "label path" or "path", for messages. */
static const char *describe(char *buf, size_t cap, const char *label, const char *path)
{
    if (label) snprintf(buf, cap, "%s %s", label, path);
    else snprintf(buf, cap, "%s", path);
    return buf;
}

static const char *kind_of(mode_t mode)
{
    return S_ISDIR(mode) ? "a folder" : S_ISFIFO(mode) ? "a FIFO" : S_ISCHR(mode) ? "a character device"
         : S_ISBLK(mode) ? "a block device" : S_ISSOCK(mode) ? "a socket" : "not a regular file";
}

/* What is at an output path: nothing (*exists = 0) or a regular file (*exists = 1, *sb its
 * status); a symbolic link or any other kind of file is refused. */
static sf_status check_output_path(const char *path, const char *label, struct stat *sb, int *exists)
{
    char who[512];
    describe(who, sizeof who, label, path);
    *exists = 0;
    if (!*name_of(path)) return sfi_fail(SF_ERR_INVALID, "%s: names a folder, not a file", who);
    if (lstat(path, sb) != 0) {
        if (errno == ENOENT) return SF_OK;
        return sfi_fail(SF_ERR_INVALID, "%s: cannot be written: %s", who, strerror(errno));
    }
    if (S_ISLNK(sb->st_mode))
        return sfi_fail(SF_ERR_INVALID, "%s is a symbolic link: outputs are never written through symbolic links "
                                       "(give the path of the file itself)", who);
    if (!S_ISREG(sb->st_mode))
        return sfi_fail(SF_ERR_INVALID, "%s exists and is %s: only regular files are replaced", who, kind_of(sb->st_mode));
    *exists = 1;
    return SF_OK;
}

/* A new file replacing an existing one keeps its permissions (a private file stays private); a new
 * file gets the umask's, as any other. */
static void keep_mode(int fd, int existed, const struct stat *old)
{
    if (existed) fchmod(fd, old->st_mode & 07777);
}

/* Flushes a folder's entries to disk after renames in it (best effort). */
static void sync_folder_of(const char *path)
{
    char *dir = folder_of(path);
    int fd = dir ? open(dir, O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

/* ---------------------------------------------------------------- output sets */

typedef struct {
    char *path, *label;
    uint64_t bytes;
    live temp;       /* created by prepare */
    int fd;          /* open on the temporary from prepare to commit */
    int open, written;
    dev_t dir_dev;   /* identity: the folder (device, inode) and the name in it */
    ino_t dir_ino;
    int existed;     /* a regular file is at the path: its status */
    struct stat old;
    char *backup;    /* the replaced file during the commit: a hard link, or the file itself (moved) */
    int moved;       /* backup is the file itself (no hard links on this file system) */
} output;

typedef struct {
    char *path;
    live created; /* listed while the folder exists only for this run */
} folder;

typedef struct {
    char *path, *label;
} input;

struct sf_output_set {
    output **outputs;
    folder **folders;
    input **inputs;
    int n_outputs, n_folders, n_inputs;
    int prepared, committed;
    int follower; /* joined another process's temporaries (sfi_output_set_join): that process commits */
};

static _Thread_local sf_output_set *active_set;

sf_status sfi_output_set_create(sf_output_set **set)
{
    if (!set) return sfi_fail(SF_ERR_INVALID, "sfi_output_set_create: set is NULL");
    *set = calloc(1, sizeof **set);
    return *set ? SF_OK : sfi_fail(SF_ERR_NOMEM, "out of memory");
}

/* Appends item to a growing array of pointers. */
static int push(void ***items, int *count, void *item)
{
    void **grown = realloc(*items, ((size_t)*count + 1) * sizeof *grown);
    if (!grown) return 0;
    grown[(*count)++] = item;
    *items = grown;
    return 1;
}

static char *copy_or_null(const char *s) { return s ? strdup(s) : NULL; }

sf_status sfi_output_set_add_folder(sf_output_set *set, const char *dir)
{
    if (!set || !dir) return sfi_fail(SF_ERR_INVALID, "sfi_output_set_add_folder: a required argument is NULL");
    if (set->prepared) return sfi_fail(SF_ERR_INVALID, "sfi_output_set_add_folder: the set is already prepared");
    folder *f = calloc(1, sizeof *f);
    if (f && (f->path = strdup(dir)) && push((void ***)&set->folders, &set->n_folders, f)) return SF_OK;
    if (f) free(f->path);
    free(f);
    return sfi_fail(SF_ERR_NOMEM, "out of memory");
}

sf_status sfi_output_set_add(sf_output_set *set, const char *path, const char *label, uint64_t bytes)
{
    if (!set || !path) return sfi_fail(SF_ERR_INVALID, "sfi_output_set_add: a required argument is NULL");
    if (set->prepared) return sfi_fail(SF_ERR_INVALID, "sfi_output_set_add: the set is already prepared");
    output *o = calloc(1, sizeof *o);
    if (o) o->fd = -1, o->bytes = bytes;
    if (o && (o->path = strdup(path)) && (!label || (o->label = strdup(label))) &&
        push((void ***)&set->outputs, &set->n_outputs, o))
        return SF_OK;
    if (o) free(o->path), free(o->label);
    free(o);
    return sfi_fail(SF_ERR_NOMEM, "out of memory");
}

sf_status sfi_output_set_add_input(sf_output_set *set, const char *path, const char *label)
{
    if (!set || !path) return sfi_fail(SF_ERR_INVALID, "sfi_output_set_add_input: a required argument is NULL");
    input *in = calloc(1, sizeof *in);
    if (in && (in->path = strdup(path)) && (!label || (in->label = copy_or_null(label))) &&
        push((void ***)&set->inputs, &set->n_inputs, in))
        return SF_OK;
    if (in) free(in->path), free(in->label);
    free(in);
    return sfi_fail(SF_ERR_NOMEM, "out of memory");
}

/* Removes what the set created and has not committed. */
static void discard(sf_output_set *set)
{
    pthread_mutex_lock(&registry_lock);
    for (int i = 0; i < set->n_outputs; i++) {
        output *o = set->outputs[i];
        if (o->fd >= 0) close(o->fd);
        o->fd = -1;
        remove_temporary(&o->temp);
    }
    for (int i = set->n_folders; i-- > 0;) {
        folder *f = set->folders[i];
        if (f->created.listed) rmdir(f->path); /* only if empty: it may hold what others wrote */
        registry_remove(&f->created);
    }
    pthread_mutex_unlock(&registry_lock);
}

/* Creates the folders that do not exist yet; refuses paths that exist and are not folders. */
static sf_status prepare_folders(sf_output_set *set)
{
    for (int i = 0; i < set->n_folders; i++) {
        folder *f = set->folders[i];
        struct stat sb;
        if (stat(f->path, &sb) == 0) {
            if (!S_ISDIR(sb.st_mode))
                return sfi_fail(SF_ERR_INVALID, "%s: exists and is not a folder (%s)", f->path, kind_of(sb.st_mode));
            continue;
        }
        if (errno != ENOENT) return sfi_fail(SF_ERR_INVALID, "%s: cannot use this folder: %s", f->path, strerror(errno));
        pthread_mutex_lock(&registry_lock);
        int made = mkdir(f->path, 0777) == 0, err = errno;
        if (made) {
            f->created.path = f->path, f->created.folder = 1;
            registry_add(&f->created);
        }
        pthread_mutex_unlock(&registry_lock);
        if (!made) return sfi_fail(SF_ERR_INVALID, "%s: cannot create the output folder: %s", f->path, strerror(err));
    }
    return SF_OK;
}

/* Each output's identity and what is at its path now; refuses special files, missing folders,
 * two outputs naming one file and outputs that are inputs. */
static sf_status check_outputs(sf_output_set *set)
{
    char who[512], other[512];
    for (int i = 0; i < set->n_outputs; i++) {
        output *o = set->outputs[i];
        describe(who, sizeof who, o->label, o->path);
        struct stat sb;
        sf_status st = check_output_path(o->path, o->label, &sb, &o->existed);
        if (st != SF_OK) return st;
        if (o->existed) o->old = sb;
        char *dir = folder_of(o->path);
        if (!dir) return sfi_fail(SF_ERR_NOMEM, "out of memory");
        int found = stat(dir, &sb) == 0, err = errno;
        if (!found || !S_ISDIR(sb.st_mode)) {
            st = sfi_fail(SF_ERR_INVALID, "%s: the folder %s %s", who, dir,
                         !found && err == ENOENT ? "does not exist" : !found ? strerror(err) : "is not a folder");
            free(dir);
            return st;
        }
        free(dir);
        o->dir_dev = sb.st_dev, o->dir_ino = sb.st_ino;
        for (int j = 0; j < i; j++) {
            output *p = set->outputs[j];
            int same = (p->dir_dev == o->dir_dev && p->dir_ino == o->dir_ino && !strcmp(name_of(p->path), name_of(o->path))) ||
                       (p->existed && o->existed && p->old.st_dev == o->old.st_dev && p->old.st_ino == o->old.st_ino);
            if (same)
                return sfi_fail(SF_ERR_INVALID, "%s and %s name the same file: give each output its own path", who,
                               describe(other, sizeof other, p->label, p->path));
        }
        for (int j = 0; o->existed && j < set->n_inputs; j++) {
            input *in = set->inputs[j];
            if (stat(in->path, &sb) == 0 && sb.st_dev == o->old.st_dev && sb.st_ino == o->old.st_ino)
                return sfi_fail(SF_ERR_INVALID, "%s is also an input (%s): write the output to another file", who,
                               describe(other, sizeof other, in->label, in->path));
        }
    }
    return SF_OK;
}

/* The outputs' expected sizes against the free space of each file system they go to. */
static sf_status check_free_space(sf_output_set *set)
{
    for (int i = 0; i < set->n_outputs; i++) {
        output *o = set->outputs[i];
        int first = 1;
        uint64_t need = 0;
        for (int j = 0; j < set->n_outputs; j++) {
            output *p = set->outputs[j];
            if (p->dir_dev != o->dir_dev) continue;
            if (j < i) first = 0;
            need = p->bytes > UINT64_MAX - need ? UINT64_MAX : need + p->bytes;
        }
        if (!first || need == 0) continue;
        char *dir = folder_of(o->path);
        struct statvfs vfs;
        int known = dir && statvfs(dir, &vfs) == 0;
        free(dir);
        if (!known) continue; /* nothing to compare with: the writes themselves will tell */
        uint64_t avail = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
        char who[512];
        if (need > avail)
            return sfi_fail(SF_ERR_IO, "%s: not enough free space: the outputs on this file system need %.4g GB, %.4g GB are "
                                      "free", describe(who, sizeof who, o->label, o->path), need / 1e9, avail / 1e9);
    }
    return SF_OK;
}

/* Path problems are the user's (bad input); the rest is the file system's (runtime). */
static sf_status creation_failure(const output *o, int err)
{
    char who[512];
    describe(who, sizeof who, o->label, o->path);
    int path_problem = err == EACCES || err == EPERM || err == EROFS || err == ENOENT || err == ENOTDIR ||
                       err == ENAMETOOLONG || err == ELOOP || err == EISDIR;
    return sfi_fail(path_problem ? SF_ERR_INVALID : SF_ERR_IO, "%s: cannot create a file in its folder: %s", who,
                   strerror(err));
}

static sf_status create_temporaries(sf_output_set *set)
{
    for (int i = 0; i < set->n_outputs; i++) {
        output *o = set->outputs[i];
        pthread_mutex_lock(&registry_lock);
        o->fd = create_temporary(o->path, &o->temp);
        int err = errno;
        pthread_mutex_unlock(&registry_lock);
        if (o->fd < 0) return err == ENOMEM ? sfi_fail(SF_ERR_NOMEM, "out of memory") : creation_failure(o, err);
        keep_mode(o->fd, o->existed, &o->old);
    }
    return SF_OK;
}

sf_status sfi_output_set_prepare(sf_output_set *set)
{
    if (!set) return sfi_fail(SF_ERR_INVALID, "sfi_output_set_prepare: set is NULL");
    if (set->prepared) return sfi_fail(SF_ERR_INVALID, "sfi_output_set_prepare: the set is already prepared");
    sf_status st = prepare_folders(set);
    if (st == SF_OK) st = check_outputs(set);
    if (st == SF_OK) st = check_free_space(set);
    if (st == SF_OK) st = create_temporaries(set);
    if (st != SF_OK) {
        discard(set);
        return st;
    }
    set->prepared = 1;
    return SF_OK;
}

void sfi_output_set_activate(sf_output_set *set) { active_set = set; }

sf_status sfi_output_set_temporaries(const sf_output_set *set, char **text, size_t *len)
{
    if (!set || !text || !len) return sfi_fail(SF_ERR_INVALID, "sfi_output_set_temporaries: a required argument is NULL");
    if (!set->prepared || set->follower) return sfi_fail(SF_ERR_INVALID, "sfi_output_set_temporaries: the set did not prepare its outputs");
    size_t total = 1;
    for (int i = 0; i < set->n_outputs; i++) total += strlen(set->outputs[i]->temp.path) + 1;
    if (!(*text = malloc(total))) return sfi_fail(SF_ERR_NOMEM, "out of memory");
    size_t at = 0;
    for (int i = 0; i < set->n_outputs; i++) {
        size_t n = strlen(set->outputs[i]->temp.path) + 1;
        memcpy(*text + at, set->outputs[i]->temp.path, n);
        at += n;
    }
    (*text)[at] = '\0';
    *len = total;
    return SF_OK;
}

sf_status sfi_output_set_join(sf_output_set *set, const char *text, size_t len)
{
    if (!set || !text) return sfi_fail(SF_ERR_INVALID, "sfi_output_set_join: a required argument is NULL");
    if (set->prepared) return sfi_fail(SF_ERR_INVALID, "sfi_output_set_join: the set is already prepared");
    size_t at = 0;
    for (int i = 0; i < set->n_outputs; i++) {
        output *o = set->outputs[i];
        size_t n = at < len ? strnlen(text + at, len - at) : 0;
        if (at + n >= len) return sfi_fail(SF_ERR_INVALID, "sfi_output_set_join: %d temporary names for %d outputs", i, set->n_outputs);
        /* no O_CREAT: the file must be the one the leader created; it stays the leader's to remove */
        char *dir = folder_of(o->path);
        struct stat sb;
        int found = dir && stat(dir, &sb) == 0;
        free(dir);
        if (found) o->dir_dev = sb.st_dev, o->dir_ino = sb.st_ino; /* its identity, for sfi_staged_open */
        if (!found || (o->fd = open(text + at, O_WRONLY | O_CLOEXEC)) < 0) {
            char who[512];
            sf_status st = sfi_fail(SF_ERR_IO, "%s: cannot open the shared temporary file %s: %s",
                                    describe(who, sizeof who, o->label, o->path), text + at, strerror(errno));
            discard(set);
            return st;
        }
        at += n + 1;
    }
    set->prepared = set->follower = 1;
    return SF_OK;
}

/* The output of the active set that `path` names (same folder and name), or NULL. */
static output *find_output(const sf_output_set *set, const char *path)
{
    char *dir = folder_of(path);
    struct stat sb;
    int found = dir && stat(dir, &sb) == 0;
    free(dir);
    for (int i = 0; found && i < set->n_outputs; i++) {
        output *o = set->outputs[i];
        if (o->dir_dev == sb.st_dev && o->dir_ino == sb.st_ino && !strcmp(name_of(o->path), name_of(path))) return o;
    }
    return NULL;
}

/* Undoes a commit that renamed outputs [0, done): the replaced files go back (or the new ones are
 * removed where there was none), and files moved aside for outputs not yet renamed return. */
static void undo_renames(sf_output_set *set, int done)
{
    for (int j = 0; j < set->n_outputs; j++) {
        output *o = set->outputs[j];
        if (o->backup && (j < done || o->moved)) {
            if (rename(o->backup, o->path) == 0) {
                free(o->backup);
                o->backup = NULL;
            }
        } else if (j < done) {
            unlink(o->path); /* the new file: nothing was there before */
        }
    }
}

/* Keeps every file about to be replaced under a temporary name until the commit is over: a hard
 * link, or, where the file system has none, the file itself moved aside. Refuses a path that has
 * become a special file since prepare. */
static sf_status keep_replaced_files(sf_output_set *set)
{
    for (int i = 0; i < set->n_outputs; i++) {
        output *o = set->outputs[i];
        struct stat sb;
        int exists;
        sf_status st = check_output_path(o->path, o->label, &sb, &exists);
        if (st != SF_OK) return st;
        for (int attempt = 0; exists && attempt < 16 && !o->backup; attempt++) {
            if (!(o->backup = beside(o->path))) return sfi_fail(SF_ERR_NOMEM, "out of memory");
            if (link(o->path, o->backup) == 0) break;
            int err = errno;
            if (err != EEXIST && rename(o->path, o->backup) == 0) {
                o->moved = 1;
                break;
            }
            free(o->backup);
            o->backup = NULL;
            if (err != EEXIST)
                return sfi_fail(SF_ERR_IO, "%s: cannot keep the file it replaces until the commit is over: %s", o->path,
                               strerror(err));
        }
    }
    return SF_OK;
}

static void drop_backups(sf_output_set *set)
{
    for (int i = 0; i < set->n_outputs; i++) {
        output *o = set->outputs[i];
        if (o->backup) unlink(o->backup);
        free(o->backup);
        o->backup = NULL;
    }
}

sf_status sfi_output_set_commit(sf_output_set *set)
{
    if (!set) return sfi_fail(SF_ERR_INVALID, "sfi_output_set_commit: set is NULL");
    if (set->committed) return SF_OK;
    if (!set->prepared) return sfi_fail(SF_ERR_INVALID, "sfi_output_set_commit: the set was not prepared");
    if (set->follower) return sfi_fail(SF_ERR_INVALID, "sfi_output_set_commit: a set that joined another's temporaries is committed there");
    for (int i = 0; i < set->n_outputs; i++) {
        output *o = set->outputs[i];
        if (!o->written || o->open)
            return sfi_fail(SF_ERR_INVALID, "%s: the output was %s", o->path, o->open ? "not closed" : "never written");
    }
    pthread_mutex_lock(&registry_lock);
    sf_status st = keep_replaced_files(set);
    int done = 0;
    for (; st == SF_OK && done < set->n_outputs; done++) {
        output *o = set->outputs[done];
        if (rename(o->temp.path, o->path) != 0) {
            st = sfi_fail(SF_ERR_IO, "%s: cannot rename the temporary file into place: %s (no output was changed)",
                         o->path, strerror(errno));
            break;
        }
        registry_remove(&o->temp); /* it is the output now */
    }
    if (st != SF_OK) undo_renames(set, done);
    drop_backups(set);
    if (st == SF_OK) {
        for (int i = 0; i < set->n_outputs; i++) {
            output *o = set->outputs[i];
            free(o->temp.path);
            o->temp.path = NULL;
            close(o->fd);
            o->fd = -1;
        }
        for (int i = 0; i < set->n_folders; i++) registry_remove(&set->folders[i]->created);
        set->committed = 1;
    }
    pthread_mutex_unlock(&registry_lock);
    if (st == SF_OK)
        for (int i = 0; i < set->n_outputs; i++) sync_folder_of(set->outputs[i]->path);
    return st;
}

void sfi_output_set_release(sf_output_set *set)
{
    if (!set) return;
    for (int i = 0; i < set->n_outputs; i++) {
        output *o = set->outputs[i];
        if (o->fd >= 0) close(o->fd);
        o->fd = -1;
    }
    set->committed = 1;
}

void sfi_output_set_destroy(sf_output_set *set)
{
    if (!set) return;
    if (active_set == set) active_set = NULL;
    discard(set);
    for (int i = 0; i < set->n_outputs; i++) {
        free(set->outputs[i]->path), free(set->outputs[i]->label);
        free(set->outputs[i]);
    }
    for (int i = 0; i < set->n_folders; i++) free(set->folders[i]->path), free(set->folders[i]);
    for (int i = 0; i < set->n_inputs; i++) free(set->inputs[i]->path), free(set->inputs[i]->label), free(set->inputs[i]);
    free(set->outputs), free(set->folders), free(set->inputs);
    free(set);
}

/* ---------------------------------------------------------------- one file */

struct sf_staged {
    char *path;     /* the final name */
    long long offset; /* -1: the whole file; else where this process's part of a shared file starts */
    int sink;         /* a follower's whole file: written to /dev/null (which cannot be synced) */
    live temp;      /* standalone: the temporary file */
    output *owner;  /* inside an output set: the output written */
    FILE *stream;
};

/* A descriptor on a fresh temporary for `path`: the active set's output, or a new file. */
static sf_status open_descriptor(sf_staged *s, int *fd)
{
    if (active_set) {
        output *o = active_set->prepared ? find_output(active_set, s->path) : NULL;
        if (!o) return sfi_fail(SF_ERR_INVALID, "%s: not one of this run's declared outputs", s->path);
        if (o->open) return sfi_fail(SF_ERR_INVALID, "%s: already open for writing", s->path);
        if (s->offset < 0 && active_set->follower) { /* whole files are the leader's: the same bytes go nowhere */
            if ((*fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
                return sfi_fail(SF_ERR_IO, "%s: cannot open /dev/null: %s", s->path, strerror(errno));
            s->sink = 1;
        } else if (s->offset < 0 ? ftruncate(o->fd, 0) != 0 || lseek(o->fd, 0, SEEK_SET) != 0 || (*fd = dup(o->fd)) < 0
                                 : (*fd = dup(o->fd)) < 0 || lseek(*fd, (off_t)s->offset, SEEK_SET) < 0) {
            return sfi_fail(SF_ERR_IO, "%s: cannot write: %s", s->path, strerror(errno));
        }
        s->owner = o;
        o->open = 1, o->written = 0;
        return SF_OK;
    }
    struct stat sb;
    int exists;
    sf_status st = check_output_path(s->path, NULL, &sb, &exists);
    if (st != SF_OK) return st;
    pthread_mutex_lock(&registry_lock);
    *fd = create_temporary(s->path, &s->temp);
    int err = errno;
    pthread_mutex_unlock(&registry_lock);
    if (*fd < 0)
        return err == ENOMEM ? sfi_fail(SF_ERR_NOMEM, "out of memory")
                             : sfi_fail(SF_ERR_IO, "%s: cannot create a temporary file beside it: %s", s->path, strerror(err));
    keep_mode(*fd, exists, &sb);
    return SF_OK;
}

/* Ends a stream's life: the set's output is marked, a standalone temporary renamed or removed. */
static sf_status finish(sf_staged *s, int commit, sf_status st)
{
    if (s->owner) {
        s->owner->open = 0;
        s->owner->written = commit && st == SF_OK;
        return st;
    }
    pthread_mutex_lock(&registry_lock);
    if (commit && st == SF_OK) {
        struct stat sb;
        int exists;
        st = check_output_path(s->path, NULL, &sb, &exists); /* nothing special has appeared there */
        if (st == SF_OK && rename(s->temp.path, s->path) != 0)
            st = sfi_fail(SF_ERR_IO, "%s: cannot rename the temporary file into place: %s", s->path, strerror(errno));
        if (st == SF_OK) registry_remove(&s->temp);
    }
    remove_temporary(&s->temp); /* unlinks only what is still registered */
    pthread_mutex_unlock(&registry_lock);
    if (commit && st == SF_OK) sync_folder_of(s->path);
    return st;
}

sf_status sfi_staged_open(sf_staged **out, const char *path, FILE **stream)
{
    return sfi_staged_open_at(out, path, -1, stream);
}

sf_status sfi_staged_open_at(sf_staged **out, const char *path, long long offset, FILE **stream)
{
    if (!out || !stream || !path) return sfi_fail(SF_ERR_INVALID, "sfi_staged_open: a required argument is NULL");
    *out = NULL, *stream = NULL;
    if (offset >= 0 && !active_set)
        return sfi_fail(SF_ERR_INVALID, "%s: a part of a file is written only into a run's output set", path);
    sf_staged *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return sfi_fail(SF_ERR_NOMEM, "%s: out of memory", path);
    }
    s->offset = offset < 0 ? -1 : offset;
    int fd = -1;
    sf_status st = open_descriptor(s, &fd);
    if (st == SF_OK && !(s->stream = fdopen(fd, "wb"))) {
        st = sfi_fail(SF_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        close(fd);
    }
    if (st != SF_OK) {
        if (s->owner || s->temp.listed) finish(s, 0, st);
        free(s->path);
        free(s);
        return st;
    }
    *out = s, *stream = s->stream;
    return SF_OK;
}

sf_status sfi_staged_close(sf_staged *s, int commit)
{
    if (!s) return SF_OK;
    sf_status st = SF_OK;
    int failed = ferror(s->stream), err = 0;
    if (fflush(s->stream) != 0) failed = 1, err = errno;
    if (!failed && commit && !s->sink && fsync(fileno(s->stream)) != 0) failed = 1, err = errno;
    if (fclose(s->stream) != 0 && !failed) failed = 1, err = errno;
    if (commit && failed)
        st = sfi_fail(SF_ERR_IO, "%s: write failed%s%s", s->path, err ? ": " : "", err ? strerror(err) : "");
    st = finish(s, commit, st);
    free(s->path);
    free(s);
    return st;
}
