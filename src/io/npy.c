/* .npy arrays (NumPy format 1.0, 2.0 and 3.0): a strict reader and an atomic writer.
 * Only little-endian float64/float32 in C order is read; anything else is refused by name. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* fsync, fileno, fdopen */
#endif
#include "npy_reader.h"
#include "npy_rows.h"
#include "staging.h"
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The data bytes are copied to and from memory as they are: the host must match the file. */
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "scorefield's .npy I/O assumes a little-endian host"
#endif
_Static_assert(sizeof(double) == 8 && sizeof(float) == 4, ".npy I/O needs 8-byte double, 4-byte float");

static const unsigned char NPY_MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
#define NPY_PREAMBLE_V1 10     /* magic, version, 2-byte header length */
#define NPY_HEADER_ALIGN 64    /* writers pad the whole header to a multiple of this */
#define NPY_SHAPE_TEXT 256     /* "(d0, d1, ...)" for SF_NPY_MAX_DIMS dimensions of 20 digits */
#define NPY_DESCR_LEN 64
#define NPY_CHUNK 1024         /* float32 values converted per step */

/* Runtime fallback for compilers that do not say their byte order. */
static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

size_t sf_array_size(const sf_array *a)
{
    if (!a || a->ndim < 0 || a->ndim > SF_NPY_MAX_DIMS) return 0;
    size_t n = 1;
    for (int i = 0; i < a->ndim; i++) n *= a->shape[i];
    return n;
}

void sf_array_free(sf_array *a)
{
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* Python's repr of a shape tuple: "()", "(5,)", "(3, 4)". */
static void format_shape(char *buf, size_t cap, int ndim, const size_t *shape)
{
    size_t used = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < ndim && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%zu", i ? ", " : "", shape[i]);
    if (used < cap) snprintf(buf + used, cap - used, ndim == 1 ? ",)" : ")");
}

/* Element count of a shape, or 0 with *overflow set when count * sizeof(double) overflows. */
static size_t shape_count(int ndim, const size_t *shape, int *overflow)
{
    size_t n = 1;
    *overflow = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] != 0 && n > SIZE_MAX / sizeof(double) / shape[i]) {
            *overflow = 1;
            return 0;
        }
        n *= shape[i];
    }
    return n;
}

/* ---------------------------------------------------------------- header parsing */

/* What the header dict says. */
typedef struct {
    char descr[NPY_DESCR_LEN];
    int fortran_order;
    int ndim;
    size_t shape[SF_NPY_MAX_DIMS];
} npy_header;

/* A cursor over the header text (not NUL-terminated). */
typedef struct {
    const char *p, *end;
    const char *path;
} cursor;

static sf_status malformed(const cursor *c, const char *what)
{
    return sfi_fail(SF_ERR_FORMAT, "%s: malformed .npy header: %s", c->path, what);
}

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* Consumes `ch` if it is next. */
static int take(cursor *c, char ch)
{
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A Python string literal in single or double quotes (no escapes: none occur in valid headers). */
static sf_status parse_string(cursor *c, char *buf, size_t cap)
{
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return malformed(c, "expected a quoted string");
    char quote = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != quote) {
        if (*c->p == '\\' || n + 1 >= cap) return malformed(c, "unexpected string");
        buf[n++] = *c->p++;
    }
    if (!take(c, quote)) return malformed(c, "unterminated string");
    buf[n] = '\0';
    return SF_OK;
}

static sf_status parse_bool(cursor *c, int *value)
{
    size_t left = (size_t)(c->end - c->p);
    if (left >= 4 && memcmp(c->p, "True", 4) == 0) {
        *value = 1;
        c->p += 4;
    } else if (left >= 5 && memcmp(c->p, "False", 5) == 0) {
        *value = 0;
        c->p += 5;
    } else {
        return malformed(c, "fortran_order is not True or False");
    }
    return SF_OK;
}

/* One non-negative dimension; an 'L' suffix (Python 2 longs) is tolerated. */
static sf_status parse_dim(cursor *c, size_t *value)
{
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') return malformed(c, "expected a dimension in shape");
    size_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        size_t digit = (size_t)(*c->p++ - '0');
        if (v > (SIZE_MAX - digit) / 10)
            return sfi_fail(SF_ERR_FORMAT, "%s: shape overflow (a dimension does not fit in size_t)", c->path);
        v = v * 10 + digit;
    }
    take(c, 'L');
    *value = v;
    return SF_OK;
}

/* A tuple of dimensions: "()", "(5,)", "(3, 4)", "(3, 4,)". "(5)" is an int, not a tuple. */
static sf_status parse_shape(cursor *c, npy_header *h)
{
    if (!take(c, '(')) return malformed(c, "shape is not a tuple");
    h->ndim = 0;
    for (;;) {
        skip_ws(c);
        if (take(c, ')')) return SF_OK;
        if (h->ndim == SF_NPY_MAX_DIMS)
            return sfi_fail(SF_ERR_FORMAT, "%s: arrays of more than %d dimensions are not supported",
                           c->path, SF_NPY_MAX_DIMS);
        sf_status st = parse_dim(c, &h->shape[h->ndim++]);
        if (st != SF_OK) return st;
        skip_ws(c);
        if (take(c, ',')) continue;
        if (h->ndim == 1) return malformed(c, "shape is not a tuple");
        if (take(c, ')')) return SF_OK;
        return malformed(c, "expected ',' or ')' in shape");
    }
}

/* descr is a string for plain dtypes and a list for structured ones. */
static sf_status parse_descr(cursor *c, npy_header *h)
{
    if (c->p < c->end && *c->p == '[')
        return sfi_fail(SF_ERR_FORMAT, "%s: structured dtypes are not supported (float64 or float32 expected)",
                       c->path);
    return parse_string(c, h->descr, sizeof h->descr);
}

/* Parses the value of `key`, refusing unknown and repeated keys. */
static sf_status parse_entry(cursor *c, const char *key, npy_header *h, int seen[3])
{
    static const char *const keys[3] = {"descr", "fortran_order", "shape"};
    int which = 0;
    while (which < 3 && strcmp(key, keys[which]) != 0) which++;
    if (which == 3) return sfi_fail(SF_ERR_FORMAT, "%s: unexpected key '%s' in the .npy header", c->path, key);
    if (seen[which]++) return sfi_fail(SF_ERR_FORMAT, "%s: key '%s' appears twice in the .npy header", c->path, key);
    if (which == 0) return parse_descr(c, h);
    if (which == 1) return parse_bool(c, &h->fortran_order);
    return parse_shape(c, h);
}

/* The header dict, in any key order, with any whitespace and padding. */
static sf_status parse_dict(cursor *c, npy_header *h)
{
    int seen[3] = {0, 0, 0};
    skip_ws(c);
    if (!take(c, '{')) return malformed(c, "the header is not a dict");
    for (;;) {
        skip_ws(c);
        if (take(c, '}')) break;
        char key[32];
        sf_status st = parse_string(c, key, sizeof key);
        if (st != SF_OK) return st;
        skip_ws(c);
        if (!take(c, ':')) return malformed(c, "expected ':' after a key");
        skip_ws(c);
        if ((st = parse_entry(c, key, h, seen)) != SF_OK) return st;
        skip_ws(c);
        if (take(c, ',')) continue;
        if (take(c, '}')) break;
        return malformed(c, "expected ',' or '}' after a value");
    }
    skip_ws(c);
    if (c->p != c->end) return malformed(c, "unexpected text after the dict");
    if (!seen[0]) return sfi_fail(SF_ERR_FORMAT, "%s: the .npy header lacks 'descr'", c->path);
    if (!seen[1]) return sfi_fail(SF_ERR_FORMAT, "%s: the .npy header lacks 'fortran_order'", c->path);
    if (!seen[2]) return sfi_fail(SF_ERR_FORMAT, "%s: the .npy header lacks 'shape'", c->path);
    return SF_OK;
}

/* Bytes per element of a supported dtype and layout; refuses the others by name. */
static sf_status check_supported(const char *path, const npy_header *h, size_t *itemsize)
{
    const char *d = h->descr;
    if (strcmp(d, "<f8") == 0) *itemsize = 8;
    else if (strcmp(d, "<f4") == 0) *itemsize = 4;
    else if (d[0] == '>')
        return sfi_fail(SF_ERR_FORMAT,
                       "%s: big-endian dtype '%s' is not supported (little-endian float64 or float32 expected)",
                       path, d);
    else if (strcmp(d, "|O") == 0 || strcmp(d, "O") == 0)
        return sfi_fail(SF_ERR_FORMAT, "%s: object arrays (dtype '%s') are not supported", path, d);
    else
        return sfi_fail(SF_ERR_FORMAT, "%s: dtype '%s' is not supported (float64 or float32 expected)", path, d);
    if (h->fortran_order)
        return sfi_fail(SF_ERR_FORMAT, "%s: Fortran-order arrays (fortran_order True) are not supported", path);
    return SF_OK;
}

/* ---------------------------------------------------------------- reading */

/* The status for a short read: an I/O error if the stream says so, else a truncated file. */
static sf_status short_read(FILE *f, const char *path, const char *what)
{
    if (ferror(f)) return sfi_fail(SF_ERR_IO, "%s: read error: %s", path, strerror(errno));
    return sfi_fail(SF_ERR_FORMAT, "%s: truncated %s", path, what);
}

/* Magic, version and header length; *offset is where the header text starts. */
static sf_status read_preamble(FILE *f, const char *path, size_t *header_len, size_t *offset)
{
    unsigned char b[12];
    size_t n = fread(b, 1, 8, f);
    if (n < 8 && ferror(f)) return short_read(f, path, "header");
    if (n < 6 || memcmp(b, NPY_MAGIC, 6) != 0)
        return sfi_fail(SF_ERR_FORMAT, "%s: not a .npy file (bad magic)", path);
    if (n < 8) return short_read(f, path, "header");
    int major = b[6], minor = b[7];
    size_t len_bytes = major == 1 ? 2 : (major == 2 || major == 3) ? 4 : 0;
    if (len_bytes == 0 || minor != 0)
        return sfi_fail(SF_ERR_FORMAT, "%s: .npy format version %d.%d is not supported (1.0, 2.0 or 3.0 expected)",
                       path, major, minor);
    if (fread(b + 8, 1, len_bytes, f) != len_bytes) return short_read(f, path, "header");
    size_t len = 0;
    for (size_t i = len_bytes; i-- > 0;) len = len << 8 | b[8 + i]; /* little-endian */
    *header_len = len;
    *offset = 8 + len_bytes;
    return SF_OK;
}

/* Reads and parses the header text that follows the preamble. */
static sf_status read_header(FILE *f, const char *path, long long file_size, npy_header *h,
                             size_t *data_offset)
{
    size_t len = 0, offset = 0;
    sf_status st = read_preamble(f, path, &len, &offset);
    if (st != SF_OK) return st;
    /* Check against the file size before allocating what a corrupt length says. */
    if (file_size >= 0 && (unsigned long long)len > (unsigned long long)(file_size - (long long)offset))
        return sfi_fail(SF_ERR_FORMAT, "%s: truncated header (%zu bytes declared, %lld present)", path, len,
                       file_size - (long long)offset);
    char *text = malloc(len ? len : 1);
    if (!text) return sfi_fail(SF_ERR_NOMEM, "%s: out of memory reading a %zu-byte header", path, len);
    if (fread(text, 1, len, f) != len) {
        free(text);
        return short_read(f, path, "header");
    }
    cursor c = {text, text + len, path};
    memset(h, 0, sizeof *h);
    st = parse_dict(&c, h);
    free(text);
    *data_offset = offset + len;
    return st;
}

/* Reads count values of itemsize 8 or 4 into data as doubles; returns how many were read. */
static size_t read_values(FILE *f, size_t itemsize, double *data, size_t count)
{
    if (itemsize == 8) return fread(data, 8, count, f);
    float chunk[NPY_CHUNK];
    size_t done = 0;
    while (done < count) {
        size_t want = count - done < NPY_CHUNK ? count - done : NPY_CHUNK;
        size_t got = fread(chunk, 4, want, f);
        for (size_t i = 0; i < got; i++) data[done + i] = chunk[i];
        done += got;
        if (got < want) break;
    }
    return done;
}

/* The data section of a file of known size holds exactly count * itemsize bytes; *count is the
 * number of values the shape says. */
static sf_status check_data_size(const char *path, long long file_size, size_t data_offset, const npy_header *h,
                                 size_t itemsize, size_t *count)
{
    char shape_text[NPY_SHAPE_TEXT];
    format_shape(shape_text, sizeof shape_text, h->ndim, h->shape);
    int overflow;
    *count = shape_count(h->ndim, h->shape, &overflow);
    if (overflow || *count > SIZE_MAX / itemsize)
        return sfi_fail(SF_ERR_FORMAT, "%s: shape overflow: shape %s is too large", path, shape_text);
    size_t need = *count * itemsize;
    if (file_size >= 0) {
        long long have = file_size - (long long)data_offset;
        if ((unsigned long long)have < (unsigned long long)need)
            return sfi_fail(SF_ERR_FORMAT, "%s: truncated data: shape %s of dtype '%s' needs %zu bytes, found %lld",
                           path, shape_text, h->descr, need, have);
        if ((unsigned long long)have > (unsigned long long)need)
            return sfi_fail(SF_ERR_FORMAT, "%s: %lld trailing bytes after the data of shape %s", path,
                           have - (long long)need, shape_text);
    }
    return SF_OK;
}

/* The data section: exactly count * itemsize bytes, nothing after them. */
static sf_status read_data(FILE *f, const char *path, long long file_size, size_t data_offset,
                           const npy_header *h, sf_array *out)
{
    size_t itemsize = 0;
    sf_status st = check_supported(path, h, &itemsize);
    if (st != SF_OK) return st;
    char shape_text[NPY_SHAPE_TEXT];
    format_shape(shape_text, sizeof shape_text, h->ndim, h->shape);
    size_t count;
    if ((st = check_data_size(path, file_size, data_offset, h, itemsize, &count)) != SF_OK) return st;
    out->data = malloc(count ? count * sizeof(double) : sizeof(double));
    if (!out->data) return sfi_fail(SF_ERR_NOMEM, "%s: out of memory for shape %s", path, shape_text);
    if (read_values(f, itemsize, out->data, count) != count) return short_read(f, path, "data");
    /* Files of unknown size (pipes) get the trailing check here. */
    if (fgetc(f) != EOF) return sfi_fail(SF_ERR_FORMAT, "%s: trailing bytes after the data of shape %s", path, shape_text);
    out->ndim = h->ndim;
    memcpy(out->shape, h->shape, sizeof out->shape);
    return SF_OK;
}

static sf_status read_file(FILE *f, const char *path, sf_array *out)
{
    long long file_size = -1; /* unknown unless a regular file */
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) return sfi_fail(SF_ERR_IO, "%s: is a directory", path);
        if (S_ISREG(sb.st_mode)) file_size = (long long)sb.st_size;
    }
    npy_header h;
    size_t data_offset = 0;
    sf_status st = read_header(f, path, file_size, &h, &data_offset);
    if (st != SF_OK) return st;
    return read_data(f, path, file_size, data_offset, &h, out);
}

sf_status sf_npy_read(const char *path, sf_array *out)
{
    sfi_error_clear();
    if (!out) return sfi_fail(SF_ERR_INVALID, "sf_npy_read: output array is NULL");
    memset(out, 0, sizeof *out);
    if (!path) return sfi_fail(SF_ERR_INVALID, "sf_npy_read: path is NULL");
    if (!host_is_little_endian())
        return sfi_fail(SF_ERR_INVALID, "%s: .npy reading needs a little-endian host", path);
    FILE *f = fopen(path, "rb");
    if (!f) return sfi_fail(SF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    sf_status st = read_file(f, path, out);
    fclose(f);
    if (st != SF_OK) sf_array_free(out); /* leaves data NULL, ndim 0 */
    return st;
}

/* ---------------------------------------------------------------- reading in blocks */

struct sf_npy_reader {
    FILE *f;
    const char *path;
    size_t itemsize, remaining;
};

sf_status sfi_npy_reader_open(sf_npy_reader **out, const char *path, int *ndim, size_t *shape)
{
    sfi_error_clear();
    if (!out || !path || !ndim || !shape) return sfi_fail(SF_ERR_INVALID, "sfi_npy_reader_open: no argument may be NULL");
    *out = NULL;
    if (!host_is_little_endian()) return sfi_fail(SF_ERR_INVALID, "%s: .npy reading needs a little-endian host", path);
    FILE *f = fopen(path, "rb");
    if (!f) return sfi_fail(SF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    long long file_size = -1;
    struct stat sb;
    sf_status st = SF_OK;
    if (fstat(fileno(f), &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) st = sfi_fail(SF_ERR_IO, "%s: is a directory", path);
        if (S_ISREG(sb.st_mode)) file_size = (long long)sb.st_size;
    }
    npy_header h;
    size_t data_offset = 0, itemsize = 0, count = 0;
    if (st == SF_OK) st = read_header(f, path, file_size, &h, &data_offset);
    if (st == SF_OK) st = check_supported(path, &h, &itemsize);
    if (st == SF_OK) st = check_data_size(path, file_size, data_offset, &h, itemsize, &count);
    sf_npy_reader *r = st == SF_OK ? malloc(sizeof *r) : NULL;
    if (st == SF_OK && !r) st = sfi_fail(SF_ERR_NOMEM, "%s: out of memory", path);
    if (st != SF_OK) {
        fclose(f);
        return st;
    }
    *r = (sf_npy_reader){f, path, itemsize, count};
    *ndim = h.ndim;
    memcpy(shape, h.shape, sizeof h.shape);
    *out = r;
    return SF_OK;
}

sf_status sfi_npy_reader_read(sf_npy_reader *r, double *data, size_t count)
{
    if (!r || (count && !data)) return sfi_fail(SF_ERR_INVALID, "sfi_npy_reader_read: reader and data must not be NULL");
    if (count > r->remaining)
        return sfi_fail(SF_ERR_INVALID, "%s: %zu values asked for, %zu left", r->path, count, r->remaining);
    if (read_values(r->f, r->itemsize, data, count) != count) return short_read(r->f, r->path, "data");
    r->remaining -= count;
    /* files of unknown size (pipes) get the trailing check at the end */
    if (r->remaining == 0 && fgetc(r->f) != EOF) return sfi_fail(SF_ERR_FORMAT, "%s: trailing bytes after the data", r->path);
    return SF_OK;
}

sf_status sfi_npy_reader_skip(sf_npy_reader *r, size_t count)
{
    if (!r) return sfi_fail(SF_ERR_INVALID, "sfi_npy_reader_skip: reader is NULL");
    if (count > r->remaining)
        return sfi_fail(SF_ERR_INVALID, "%s: %zu values skipped, %zu left", r->path, count, r->remaining);
    if (count && fseeko(r->f, (off_t)(count * r->itemsize), SEEK_CUR) != 0)
        return sfi_fail(SF_ERR_IO, "%s: cannot seek: %s", r->path, strerror(errno));
    r->remaining -= count;
    return SF_OK;
}

void sfi_npy_reader_close(sf_npy_reader *r)
{
    if (!r) return;
    fclose(r->f);
    free(r);
}

/* ---------------------------------------------------------------- writing */

/* A version 1.0 header padded with spaces and a final '\n' to a multiple of 64 bytes;
 * returns its length. buf must hold NPY_PREAMBLE_V1 + NPY_SHAPE_TEXT + 128 bytes. */
static size_t build_header(char *buf, size_t cap, sf_dtype dtype, int ndim, const size_t *shape)
{
    char shape_text[NPY_SHAPE_TEXT];
    format_shape(shape_text, sizeof shape_text, ndim, shape);
    char *dict = buf + NPY_PREAMBLE_V1;
    int dict_len = snprintf(dict, cap - NPY_PREAMBLE_V1, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                            dtype == SF_DTYPE_F32 ? "<f4" : "<f8", shape_text);
    size_t total = NPY_PREAMBLE_V1 + (size_t)dict_len + 1;
    total = (total + NPY_HEADER_ALIGN - 1) / NPY_HEADER_ALIGN * NPY_HEADER_ALIGN;
    memset(dict + dict_len, ' ', total - NPY_PREAMBLE_V1 - (size_t)dict_len);
    buf[total - 1] = '\n';
    size_t len = total - NPY_PREAMBLE_V1; /* fits in 2 bytes: at most a few hundred */
    memcpy(buf, NPY_MAGIC, 6);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (char)(len & 0xff);
    buf[9] = (char)(len >> 8);
    return total;
}

/* Writes count doubles as itemsize 8 or 4; returns 1 on success. */
static int write_values(FILE *f, sf_dtype dtype, const double *data, size_t count)
{
    if (dtype == SF_DTYPE_F64) return fwrite(data, 8, count, f) == count;
    float chunk[NPY_CHUNK];
    for (size_t done = 0; done < count;) {
        size_t n = count - done < NPY_CHUNK ? count - done : NPY_CHUNK;
        for (size_t i = 0; i < n; i++) chunk[i] = (float)data[done + i];
        if (fwrite(chunk, 4, n, f) != n) return 0;
        done += n;
    }
    return 1;
}

/* Header and data into the open temporary file, closed on return. */
static sf_status check_write_args(const char *path, const double *data, int ndim, const size_t *shape,
                                  sf_dtype dtype, size_t *count)
{
    if (!path) return sfi_fail(SF_ERR_INVALID, "sf_npy_write: path is NULL");
    if (ndim < 0 || ndim > SF_NPY_MAX_DIMS)
        return sfi_fail(SF_ERR_INVALID, "%s: %d dimensions requested (0 to %d supported)", path, ndim,
                       SF_NPY_MAX_DIMS);
    if (ndim > 0 && !shape) return sfi_fail(SF_ERR_INVALID, "%s: shape is NULL", path);
    if (dtype != SF_DTYPE_F64 && dtype != SF_DTYPE_F32)
        return sfi_fail(SF_ERR_INVALID, "%s: unknown dtype %d", path, (int)dtype);
    int overflow;
    *count = shape_count(ndim, shape, &overflow);
    if (overflow) return sfi_fail(SF_ERR_INVALID, "%s: shape overflow", path);
    if (*count > 0 && !data) return sfi_fail(SF_ERR_INVALID, "%s: data is NULL", path);
    if (!host_is_little_endian())
        return sfi_fail(SF_ERR_INVALID, "%s: .npy writing needs a little-endian host", path);
    return SF_OK;
}

struct sf_npy_writer {
    char *path;
    sf_staged *staged; /* the temporary file written until commit (staging.h) */
    FILE *f;
    sf_dtype dtype;
    size_t expected, written;
};

sf_status sf_npy_writer_open(sf_npy_writer **out, const char *path, int ndim, const size_t *shape, sf_dtype dtype)
{
    return sfi_npy_writer_open_rows(out, path, ndim, shape, dtype, 0, ndim > 0 && shape ? shape[0] : 1, 1);
}

sf_status sfi_npy_writer_open_rows(sf_npy_writer **out, const char *path, int ndim, const size_t *shape, sf_dtype dtype,
                                   size_t first_row, size_t rows, int header_too)
{
    if (!out) return sfi_fail(SF_ERR_INVALID, "sf_npy_writer_open: writer is NULL");
    *out = NULL;
    size_t count = 0;
    static const double nothing = 0;
    sf_status st = check_write_args(path, &nothing, ndim, shape, dtype, &count);
    if (st != SF_OK) return st;
    size_t all_rows = ndim > 0 ? shape[0] : 1, row = all_rows ? count / all_rows : 0;
    if (first_row > all_rows || rows > all_rows - first_row)
        return sfi_fail(SF_ERR_INVALID, "%s: rows %zu to %zu of an array of %zu rows", path, first_row, first_row + rows, all_rows);
    int whole = first_row == 0 && rows == all_rows && header_too;
    sf_npy_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return sfi_fail(SF_ERR_NOMEM, "%s: out of memory", path);
    }
    w->dtype = dtype, w->expected = rows * row;
    char header[NPY_PREAMBLE_V1 + NPY_SHAPE_TEXT + 128];
    size_t header_len = build_header(header, sizeof header, dtype, ndim, shape);
    /* a part: the stream starts at the header (when this writer writes it) or at its first row */
    long long offset = header_too ? 0 : (long long)(header_len + first_row * row * (dtype == SF_DTYPE_F32 ? 4 : 8));
    st = whole ? sfi_staged_open(&w->staged, path, &w->f) : sfi_staged_open_at(&w->staged, path, offset, &w->f);
    if (st == SF_OK && header_too &&
        (fwrite(header, 1, header_len, w->f) != header_len ||
         fseeko(w->f, (off_t)(header_len + first_row * row * (dtype == SF_DTYPE_F32 ? 4 : 8)), SEEK_SET) != 0)) {
        st = sfi_fail(SF_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        sfi_staged_close(w->staged, 0);
    }
    if (st != SF_OK) {
        free(w->path);
        free(w);
        return st;
    }
    *out = w;
    return SF_OK;
}

sf_status sf_npy_writer_append(sf_npy_writer *w, const double *data, size_t count)
{
    if (!w) return sfi_fail(SF_ERR_INVALID, "sf_npy_writer_append: writer is NULL");
    if (count && !data) return sfi_fail(SF_ERR_INVALID, "%s: data is NULL", w->path);
    if (count > w->expected - w->written)
        return sfi_fail(SF_ERR_INVALID, "%s: %zu values appended to an array of %zu (%zu written)", w->path, count,
                       w->expected, w->written);
    if (count && !write_values(w->f, w->dtype, data, count))
        return sfi_fail(SF_ERR_IO, "%s: write failed: %s", w->path, strerror(errno));
    w->written += count;
    return SF_OK;
}

sf_status sf_npy_writer_close(sf_npy_writer *w, int commit)
{
    if (!w) return SF_OK;
    sf_status st = SF_OK;
    if (commit && w->written != w->expected)
        st = sfi_fail(SF_ERR_INVALID, "%s: %zu of %zu values written", w->path, w->written, w->expected);
    sf_status closed = sfi_staged_close(w->staged, commit && st == SF_OK); /* no half-written file is left */
    free(w->path);
    free(w);
    return st != SF_OK ? st : closed;
}

sf_status sf_npy_write(const char *path, const double *data, int ndim, const size_t *shape, sf_dtype dtype)
{
    sfi_error_clear();
    size_t count = 0;
    sf_status st = check_write_args(path, data, ndim, shape, dtype, &count);
    if (st != SF_OK) return st;
    sf_npy_writer *w;
    if ((st = sf_npy_writer_open(&w, path, ndim, shape, dtype)) != SF_OK) return st;
    st = sf_npy_writer_append(w, data, count);
    sf_status closed = sf_npy_writer_close(w, st == SF_OK);
    return st != SF_OK ? st : closed;
}
