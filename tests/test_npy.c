/* .npy reader and writer: round trips, files written by NumPy (tests/data, made by
 * tests/data/make_npy_fixtures.py), and hand-made malformed files that must be refused. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* mkdtemp, mkfifo */
#endif
#include <criterion/criterion.h>

#include "scorefield.h"

#include <dirent.h>
#include <math.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SF_TEST_DATA_DIR
#define SF_TEST_DATA_DIR "tests/data"
#endif

#define PATH_LEN 512

/* ---------------------------------------------------------------- fixture: a fresh directory per test */

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sf_test_npy_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char p[PATH_LEN * 2];
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        if (unlink(p) != 0) rmdir(p);
    }
    closedir(d);
    rmdir(tmpdir);
}

TestSuite(npy, .init = make_tmpdir, .fini = remove_tmpdir);

static void tmp_path(char *buf, const char *name) { snprintf(buf, PATH_LEN, "%s/%s", tmpdir, name); }

static void data_path(char *buf, const char *name) { snprintf(buf, PATH_LEN, "%s/%s", SF_TEST_DATA_DIR, name); }

/* Entries in the temporary directory (to see that no temporary file is left behind). */
static int tmpdir_entries(void)
{
    DIR *d = opendir(tmpdir);
    cr_assert_not_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

/* ---------------------------------------------------------------- hand-made files */

static void write_bytes(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(bytes, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

/* A .npy file of the given version with header dict `dict` (padded as NumPy does), followed
 * by `nbytes` bytes of `data`. Returns the file's size. */
static size_t build_npy(unsigned char *buf, size_t cap, int major, const char *dict, const void *data,
                        size_t nbytes)
{
    size_t len_bytes = major == 1 ? 2 : 4, pre = 8 + len_bytes;
    size_t dict_len = strlen(dict);
    size_t total = (pre + dict_len + 1 + 63) / 64 * 64;
    cr_assert_leq(total + nbytes, cap);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    size_t hlen = total - pre;
    for (size_t i = 0; i < len_bytes; i++) buf[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(buf + pre, dict, dict_len);
    memset(buf + pre + dict_len, ' ', total - pre - dict_len);
    buf[total - 1] = '\n';
    if (nbytes) memcpy(buf + total, data, nbytes);
    return total + nbytes;
}

static void write_npy(const char *path, int major, const char *dict, const void *data, size_t nbytes)
{
    unsigned char buf[4096];
    write_bytes(path, buf, build_npy(buf, sizeof buf, major, dict, data, nbytes));
}

static const double six[6] = {1, 2, 3, 4, 5, 6};

#define DICT_F8_3 "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"

/* The file must be refused with `status`, a message naming it and containing `fragment`,
 * and the output array reset. */
static void expect_refused(const char *path, sf_status status, const char *fragment)
{
    double dummy;
    sf_array a = {.ndim = 3, .data = &dummy};
    sf_status st = sf_npy_read(path, &a);
    const char *msg = sf_last_error();
    cr_assert_eq(st, status, "status %d (%s), expected %d: %s", st, sf_status_name(st), status, msg);
    cr_assert_not_null(strstr(msg, path), "message does not name the file: %s", msg);
    cr_assert_not_null(strstr(msg, fragment), "message lacks '%s': %s", fragment, msg);
    cr_assert_null(strchr(msg, '\n'), "message is not one line: %s", msg);
    cr_assert_null(a.data);
    cr_assert_eq(a.ndim, 0);
}

/* ---------------------------------------------------------------- round trips */

static void round_trip(const char *name, int ndim, const size_t *shape, sf_dtype dtype)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    double *x = malloc((n ? n : 1) * sizeof *x);
    /* Quarter steps are exact in float32 too; for f64 add a third to use all the bits. */
    for (size_t i = 0; i < n; i++) x[i] = 0.25 * (double)i - 3.0 + (dtype == SF_DTYPE_F64 ? 1.0 / 3.0 : 0.0);
    char path[PATH_LEN];
    tmp_path(path, name);
    cr_assert_eq(sf_npy_write(path, x, ndim, shape, dtype), SF_OK, "%s", sf_last_error());
    sf_array a;
    cr_assert_eq(sf_npy_read(path, &a), SF_OK, "%s", sf_last_error());
    cr_assert_eq(a.ndim, ndim);
    for (int i = 0; i < ndim; i++) cr_assert_eq(a.shape[i], shape[i]);
    cr_assert_eq(sf_array_size(&a), n);
    for (size_t i = 0; i < n; i++) cr_assert_eq(a.data[i], x[i], "element %zu: %.17g != %.17g", i, a.data[i], x[i]);
    sf_array_free(&a);
    cr_assert_null(a.data);
    free(x);
    cr_assert_eq(tmpdir_entries(), 1, "a temporary file was left behind");
}

Test(npy, round_trip_f64_1d) { round_trip("a.npy", 1, (size_t[]){5}, SF_DTYPE_F64); }
Test(npy, round_trip_f64_2d) { round_trip("a.npy", 2, (size_t[]){3, 4}, SF_DTYPE_F64); }
Test(npy, round_trip_f32_1d) { round_trip("a.npy", 1, (size_t[]){7}, SF_DTYPE_F32); }
Test(npy, round_trip_f32_2d) { round_trip("a.npy", 2, (size_t[]){4, 3}, SF_DTYPE_F32); }
Test(npy, round_trip_f64_0d) { round_trip("a.npy", 0, NULL, SF_DTYPE_F64); }
Test(npy, round_trip_empty) { round_trip("a.npy", 2, (size_t[]){0, 3}, SF_DTYPE_F64); }
Test(npy, round_trip_3d_f32_large) { round_trip("a.npy", 3, (size_t[]){5, 7, 100}, SF_DTYPE_F32); }

/* The header as NumPy writes it: v1.0, dict text, spaces, '\n', total a multiple of 64. */
static void check_header(sf_dtype dtype, int ndim, const size_t *shape, const char *expected_dict)
{
    char path[PATH_LEN];
    tmp_path(path, "h.npy");
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    double x[64] = {0};
    cr_assert_eq(sf_npy_write(path, x, ndim, shape, dtype), SF_OK, "%s", sf_last_error());
    unsigned char buf[1024];
    FILE *f = fopen(path, "rb");
    size_t size = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert_eq(memcmp(buf, "\x93NUMPY\x01\x00", 8), 0);
    size_t hlen = buf[8] | (size_t)buf[9] << 8;
    cr_assert_eq((10 + hlen) % 64, 0, "header of %zu bytes is not 64-aligned", 10 + hlen);
    cr_assert_eq(size, 10 + hlen + n * (dtype == SF_DTYPE_F32 ? 4 : 8));
    cr_assert_eq(buf[10 + hlen - 1], '\n');
    size_t dict_len = strlen(expected_dict);
    cr_assert_eq(memcmp(buf + 10, expected_dict, dict_len), 0, "header: %.*s", (int)hlen, buf + 10);
    for (size_t i = 10 + dict_len; i < 10 + hlen - 1; i++) cr_assert_eq(buf[i], ' ');
}

Test(npy, header_2d_f64)
{
    check_header(SF_DTYPE_F64, 2, (size_t[]){3, 2}, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }");
}

Test(npy, header_1d_f32_trailing_comma)
{
    check_header(SF_DTYPE_F32, 1, (size_t[]){5}, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }");
}

Test(npy, header_0d)
{
    check_header(SF_DTYPE_F64, 0, NULL, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }");
}

Test(npy, header_8d_stays_aligned)
{
    check_header(SF_DTYPE_F64, 8, (size_t[]){1, 2, 1, 2, 1, 2, 1, 2},
                 "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2, 1, 2, 1, 2, 1, 2), }");
}

/* ---------------------------------------------------------------- writer behaviour */

Test(npy, write_replaces_an_existing_file)
{
    char path[PATH_LEN];
    tmp_path(path, "a.npy");
    cr_assert_eq(sf_npy_write(path, six, 1, (size_t[]){6}, SF_DTYPE_F64), SF_OK);
    const double y[2] = {-1, -2};
    cr_assert_eq(sf_npy_write(path, y, 1, (size_t[]){2}, SF_DTYPE_F64), SF_OK);
    sf_array a;
    cr_assert_eq(sf_npy_read(path, &a), SF_OK, "%s", sf_last_error());
    cr_assert_eq(a.shape[0], 2);
    cr_assert_eq(a.data[1], -2.0);
    sf_array_free(&a);
    cr_assert_eq(tmpdir_entries(), 1);
}

Test(npy, write_mode_follows_umask)
{
    char path[PATH_LEN];
    tmp_path(path, "a.npy");
    umask(022);
    cr_assert_eq(sf_npy_write(path, six, 1, (size_t[]){6}, SF_DTYPE_F64), SF_OK);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0644, "mode %o", (unsigned)(sb.st_mode & 0777));
}

Test(npy, write_into_missing_directory_fails)
{
    char path[PATH_LEN];
    tmp_path(path, "no_such_dir/a.npy");
    sf_status st = sf_npy_write(path, six, 1, (size_t[]){6}, SF_DTYPE_F64);
    cr_assert_eq(st, SF_ERR_IO, "%s", sf_last_error());
    cr_assert_not_null(strstr(sf_last_error(), path), "%s", sf_last_error());
    cr_assert_eq(access(path, F_OK), -1);
    cr_assert_eq(tmpdir_entries(), 0);
}

/* The target is a folder: refused before anything is written (it is never replaced), and no
 * temporary file is left. */
Test(npy, write_over_a_folder_is_refused)
{
    char path[PATH_LEN];
    tmp_path(path, "taken");
    cr_assert_eq(mkdir(path, 0700), 0);
    sf_status st = sf_npy_write(path, six, 1, (size_t[]){6}, SF_DTYPE_F64);
    cr_assert_eq(st, SF_ERR_INVALID, "%s", sf_last_error());
    cr_assert_not_null(strstr(sf_last_error(), path), "%s", sf_last_error());
    cr_assert_not_null(strstr(sf_last_error(), "folder"), "%s", sf_last_error());
    cr_assert_eq(tmpdir_entries(), 1, "a temporary file was left behind");
}

Test(npy, write_refuses_bad_arguments)
{
    char path[PATH_LEN];
    tmp_path(path, "a.npy");
    size_t shape[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    cr_assert_eq(sf_npy_write(path, six, 9, shape, SF_DTYPE_F64), SF_ERR_INVALID);
    cr_assert_eq(sf_npy_write(path, NULL, 1, (size_t[]){6}, SF_DTYPE_F64), SF_ERR_INVALID);
    cr_assert_eq(sf_npy_write(path, six, 2, (size_t[]){SIZE_MAX / 4, 4}, SF_DTYPE_F64), SF_ERR_INVALID);
    cr_assert_eq(sf_npy_write(path, six, 1, (size_t[]){6}, (sf_dtype)7), SF_ERR_INVALID);
    cr_assert_eq(tmpdir_entries(), 0);
}

/* ---------------------------------------------------------------- files written by NumPy */

static sf_array read_fixture(const char *name)
{
    char path[PATH_LEN];
    data_path(path, name);
    sf_array a;
    cr_assert_eq(sf_npy_read(path, &a), SF_OK, "%s", sf_last_error());
    return a;
}

Test(npy, numpy_f64_2d)
{
    sf_array a = read_fixture("numpy_f64_3x2.npy");
    cr_assert_eq(a.ndim, 2);
    cr_assert_eq(a.shape[0], 3);
    cr_assert_eq(a.shape[1], 2);
    const double expected[6] = {1.5, -2.25, 1.0 / 3.0, 1e-300, -0.0, 6.02e23};
    for (int i = 0; i < 6; i++) cr_assert_eq(a.data[i], expected[i], "element %d: %.17g", i, a.data[i]);
    cr_assert(signbit(a.data[4]), "-0.0 lost its sign");
    sf_array_free(&a);
}

Test(npy, numpy_f32_converted)
{
    sf_array a = read_fixture("numpy_f32_4.npy");
    cr_assert_eq(a.ndim, 1);
    cr_assert_eq(a.shape[0], 4);
    const double expected[4] = {1.5, -0.25, 3.0, (double)1e-3f};
    for (int i = 0; i < 4; i++) cr_assert_eq(a.data[i], expected[i], "element %d: %.17g", i, a.data[i]);
    sf_array_free(&a);
}

static void check_2x3(const char *name)
{
    sf_array a = read_fixture(name);
    cr_assert_eq(a.ndim, 2);
    cr_assert_eq(a.shape[0], 2);
    cr_assert_eq(a.shape[1], 3);
    for (int i = 0; i < 6; i++) cr_assert_eq(a.data[i], i - 2.5);
    sf_array_free(&a);
}

Test(npy, numpy_version_2) { check_2x3("numpy_v2_2x3.npy"); }
Test(npy, numpy_version_3) { check_2x3("numpy_v3_2x3.npy"); }

Test(npy, numpy_scalar)
{
    sf_array a = read_fixture("numpy_scalar.npy");
    cr_assert_eq(a.ndim, 0);
    cr_assert_eq(sf_array_size(&a), 1);
    cr_assert_eq(a.data[0], 42.5);
    sf_array_free(&a);
}

Test(npy, numpy_empty)
{
    sf_array a = read_fixture("numpy_empty_0x3.npy");
    cr_assert_eq(a.ndim, 2);
    cr_assert_eq(a.shape[0], 0);
    cr_assert_eq(a.shape[1], 3);
    cr_assert_eq(sf_array_size(&a), 0);
    sf_array_free(&a);
}

/* ---------------------------------------------------------------- accepted variations */

Test(npy, header_key_order_and_spacing)
{
    char path[PATH_LEN];
    tmp_path(path, "odd.npy");
    const float x[6] = {1, 2, 3, 4, 5, 6};
    write_npy(path, 1, "{ \"shape\" :( 2 ,3 ) ,'fortran_order':False,\t'descr':  '<f4'  }", x, sizeof x);
    sf_array a;
    cr_assert_eq(sf_npy_read(path, &a), SF_OK, "%s", sf_last_error());
    cr_assert_eq(a.ndim, 2);
    cr_assert_eq(a.shape[0], 2);
    cr_assert_eq(a.shape[1], 3);
    for (int i = 0; i < 6; i++) cr_assert_eq(a.data[i], i + 1.0);
    sf_array_free(&a);
}

Test(npy, large_padding_version_2)
{
    char path[PATH_LEN];
    tmp_path(path, "padded.npy");
    char dict[3000];
    int n = snprintf(dict, sizeof dict, "%s", DICT_F8_3);
    memset(dict + n, ' ', 2500);
    dict[n + 2500] = '\0';
    write_npy(path, 2, dict, six, 3 * sizeof(double));
    sf_array a;
    cr_assert_eq(sf_npy_read(path, &a), SF_OK, "%s", sf_last_error());
    cr_assert_eq(a.shape[0], 3);
    cr_assert_eq(a.data[2], 3.0);
    sf_array_free(&a);
}

/* ---------------------------------------------------------------- refused files */

static void refuse_dict(const char *dict, const void *data, size_t nbytes, const char *fragment)
{
    char path[PATH_LEN];
    tmp_path(path, "bad.npy");
    write_npy(path, 1, dict, data, nbytes);
    expect_refused(path, SF_ERR_FORMAT, fragment);
}

Test(npy, refuses_big_endian)
{
    refuse_dict("{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }", six, 24, "big-endian");
}

Test(npy, refuses_fortran_order)
{
    refuse_dict("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", six, 48, "Fortran");
}

Test(npy, refuses_object_arrays)
{
    refuse_dict("{'descr': '|O', 'fortran_order': False, 'shape': (3,), }", six, 24, "object");
}

Test(npy, refuses_int_dtype)
{
    refuse_dict("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", six, 24,
                "dtype '<i8' is not supported");
}

Test(npy, refuses_structured_dtype)
{
    refuse_dict("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,), }", six, 24, "structured");
}

Test(npy, refuses_truncated_data) { refuse_dict(DICT_F8_3, six, 16, "truncated data"); }

Test(npy, refuses_trailing_bytes) { refuse_dict(DICT_F8_3, six, 32, "trailing bytes"); }

Test(npy, refuses_too_many_dims)
{
    refuse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }", six, 8,
                "more than 8 dimensions");
}

Test(npy, refuses_shape_overflow)
{
    refuse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", six, 8,
                "shape overflow");
    refuse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (123456789012345678901234567890,), }", six,
                8, "shape overflow");
}

Test(npy, refuses_missing_key)
{
    refuse_dict("{'descr': '<f8', 'shape': (3,), }", six, 24, "lacks 'fortran_order'");
}

Test(npy, refuses_unknown_key)
{
    refuse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'extra': 1}", six, 24, "'extra'");
}

Test(npy, refuses_shape_that_is_not_a_tuple)
{
    refuse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (3), }", six, 24, "malformed");
}

Test(npy, refuses_bad_magic)
{
    char path[PATH_LEN];
    tmp_path(path, "bad.npy");
    write_bytes(path, "\x93NUMPX\x01\x00\x00\x00", 10);
    expect_refused(path, SF_ERR_FORMAT, "bad magic");
    write_bytes(path, "", 0);
    expect_refused(path, SF_ERR_FORMAT, "bad magic");
}

Test(npy, refuses_unknown_version)
{
    char path[PATH_LEN];
    tmp_path(path, "bad.npy");
    unsigned char buf[256];
    size_t n = build_npy(buf, sizeof buf, 1, DICT_F8_3, six, 24);
    buf[6] = 4;
    write_bytes(path, buf, n);
    expect_refused(path, SF_ERR_FORMAT, "version 4.0");
}

Test(npy, refuses_truncated_header)
{
    char path[PATH_LEN];
    tmp_path(path, "bad.npy");
    unsigned char buf[256];
    build_npy(buf, sizeof buf, 1, DICT_F8_3, six, 24);
    write_bytes(path, buf, 40); /* cut inside the dict */
    expect_refused(path, SF_ERR_FORMAT, "truncated header");
    write_bytes(path, buf, 9); /* cut inside the length field */
    expect_refused(path, SF_ERR_FORMAT, "truncated header");
}

Test(npy, refuses_missing_file)
{
    char path[PATH_LEN];
    tmp_path(path, "missing.npy");
    expect_refused(path, SF_ERR_IO, strerror(ENOENT));
}

Test(npy, refuses_directory)
{
    expect_refused(tmpdir, SF_ERR_IO, "directory");
}

/* ---------------------------------------------------------------- streams of unknown size */

/* Reads `n` bytes through a FIFO, so the reader cannot know the size in advance. */
static sf_status read_via_fifo(const void *bytes, size_t n, sf_array *a, char *path)
{
    tmp_path(path, "fifo.npy");
    cr_assert_eq(mkfifo(path, 0600), 0, "mkfifo: %s", strerror(errno));
    pid_t child = fork();
    cr_assert_neq(child, -1);
    if (child == 0) {
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(bytes, 1, n, f);
            fclose(f);
        }
        _exit(0);
    }
    sf_status st = sf_npy_read(path, a);
    waitpid(child, NULL, 0);
    return st;
}

Test(npy, fifo_accepted)
{
    unsigned char buf[256];
    size_t n = build_npy(buf, sizeof buf, 1, DICT_F8_3, six, 24);
    char path[PATH_LEN];
    sf_array a;
    cr_assert_eq(read_via_fifo(buf, n, &a, path), SF_OK, "%s", sf_last_error());
    cr_assert_eq(a.data[2], 3.0);
    sf_array_free(&a);
}

Test(npy, fifo_trailing_bytes_refused)
{
    unsigned char buf[256];
    size_t n = build_npy(buf, sizeof buf, 1, DICT_F8_3, six, 32);
    char path[PATH_LEN];
    sf_array a;
    cr_assert_eq(read_via_fifo(buf, n, &a, path), SF_ERR_FORMAT);
    cr_assert_not_null(strstr(sf_last_error(), "trailing bytes"), "%s", sf_last_error());
    cr_assert_null(a.data);
}

Test(npy, fifo_truncated_data_refused)
{
    unsigned char buf[256];
    size_t n = build_npy(buf, sizeof buf, 1, DICT_F8_3, six, 20);
    char path[PATH_LEN];
    sf_array a;
    cr_assert_eq(read_via_fifo(buf, n, &a, path), SF_ERR_FORMAT);
    cr_assert_not_null(strstr(sf_last_error(), "truncated data"), "%s", sf_last_error());
    cr_assert_null(a.data);
}

/* The streaming writer: appended pieces read back as one array; an uncommitted or incomplete
 * stream leaves no file behind. */
Test(npy, streaming_writer)
{
    char path[PATH_LEN];
    tmp_path(path, "stream.npy");
    const double values[6] = {1, 2, 3, 4, 5, 6};
    size_t shape[2] = {3, 2};
    sf_npy_writer *w;
    cr_assert_eq(sf_npy_writer_open(&w, path, 2, shape, SF_DTYPE_F64), SF_OK, "%s", sf_last_error());
    cr_assert_eq(sf_npy_writer_append(w, values, 2), SF_OK);
    cr_assert_eq(sf_npy_writer_append(w, values + 2, 4), SF_OK);
    cr_expect_eq(sf_npy_writer_append(w, values, 1), SF_ERR_INVALID, "more values than the shape holds");
    cr_expect(access(path, F_OK) != 0, "nothing at the final name before the commit");
    cr_assert_eq(sf_npy_writer_close(w, 1), SF_OK, "%s", sf_last_error());
    sf_array a;
    cr_assert_eq(sf_npy_read(path, &a), SF_OK);
    cr_expect(a.ndim == 2 && a.shape[0] == 3 && a.shape[1] == 2);
    for (int i = 0; i < 6; i++) cr_expect_eq(a.data[i], values[i]);
    sf_array_free(&a);
    char other[PATH_LEN];
    tmp_path(other, "incomplete.npy");
    cr_assert_eq(sf_npy_writer_open(&w, other, 2, shape, SF_DTYPE_F64), SF_OK);
    cr_assert_eq(sf_npy_writer_append(w, values, 5), SF_OK);
    cr_expect_eq(sf_npy_writer_close(w, 1), SF_ERR_INVALID, "5 of 6 values cannot be committed");
    cr_expect(access(other, F_OK) != 0, "an incomplete stream leaves no file");
    cr_assert_eq(sf_npy_writer_open(&w, other, 2, shape, SF_DTYPE_F64), SF_OK);
    cr_expect_eq(sf_npy_writer_close(w, 0), SF_OK);
    cr_expect(access(other, F_OK) != 0, "a discarded stream leaves no file");
    /* only stream.npy is left in the directory: no temporaries */
    DIR *d = opendir(tmpdir);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) entries += e->d_name[0] != '.';
    closedir(d);
    cr_expect_eq(entries, 1, "temporary files left behind");
}
