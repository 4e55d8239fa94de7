/* Loading a command's inputs and writing its outputs (see cli_io.h). */
#include "cli_io.h"
#include "npy_reader.h"
#include "npy_rows.h"
#include "shard.h"
#include "status.h"

#include <math.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

/* Reads `count` rows of d values from r into x->data and checks them, naming particle first + i. */
static int read_rows(sf_npy_reader *r, const char *path, int d, size_t first, size_t count, sf_array *x)
{
    size_t values = count * (size_t)d;
    if (!(x->data = malloc((values ? values : 1) * sizeof(double))))
        return cli_failure("%s: out of memory for %zu particles", path, count);
    sf_status st = sfi_npy_reader_read(r, x->data, values);
    if (st != SF_OK) return cli_library_error(st);
    for (size_t i = 0; i < values; i++)
        if (!isfinite(x->data[i]))
            return cli_bad_input("%s: particle %zu, coordinate %d is not finite (%g)", path, first + i / (size_t)d,
                                 (int)(i % (size_t)d), x->data[i]);
    return SF_EXIT_OK;
}

int cli_read_rank_particles(const char *path, int d, sf_array *x, size_t *total)
{
    memset(x, 0, sizeof *x);
    *total = 0;
    sf_npy_reader *r = NULL;
    int ndim, status = SF_EXIT_OK;
    size_t shape[SF_NPY_MAX_DIMS], first = 0, count = 0;
    sf_status st = sfi_npy_reader_open(&r, path, &ndim, shape);
    if (st != SF_OK) return cli_library_error(st);
    if (!(ndim == 2 && shape[1] == (size_t)d) && !(ndim == 1 && d == 1)) {
        status = cli_bad_input("%s: particles must have shape (N, %d) for this mixture (dim %d), got a %d-d array%s", path, d,
                               d, ndim, ndim == 2 ? " with another width" : "");
    } else {
        cli_shard_range(shape[0], &first, &count);
        x->ndim = ndim, x->shape[0] = count, x->shape[1] = ndim == 2 ? (size_t)d : 0;
        *total = shape[0];
        if ((st = sfi_npy_reader_skip(r, first * (size_t)d)) != SF_OK) status = cli_library_error(st);
        else status = read_rows(r, path, d, first, count, x);
    }
    sfi_npy_reader_close(r);
    if (status != SF_EXIT_OK) sf_array_free(x);
    return status;
}

int cli_load_inputs(const char *mixture_path, const char *in_path, const sf_time *time, sf_mixture **mix, sf_array *x,
                    size_t *total)
{
    *mix = NULL;
    memset(x, 0, sizeof *x);
    int declared = cli_outputs_add_input("--mixture", mixture_path);
    if (declared == SF_EXIT_OK) declared = cli_outputs_add_input("--in", in_path);
    if (declared != SF_EXIT_OK) return declared;
    sf_status st = sf_mixture_read_json(mix, mixture_path);
    if (st != SF_OK) return cli_library_error(st);
    int status = SF_EXIT_OK;
    if ((st = sf_mixture_check_time(*mix, time)) != SF_OK) {
        sfi_error_prefix(mixture_path);
        status = cli_library_error(st);
    } else {
        status = cli_read_rank_particles(in_path, sf_mixture_dim(*mix), x, total);
    }
    if (status != SF_EXIT_OK) {
        sf_mixture_destroy(*mix);
        *mix = NULL;
    }
    return status;
}

int cli_prepare_outputs(const cli_output *outs, int count)
{
    for (int o = 0; o < count; o++) {
        if (!outs[o].path) continue;
        uint64_t bytes = cli_npy_bytes(outs[o].path, outs[o].ndim, outs[o].shape);
        int status = bytes ? cli_outputs_add(outs[o].flag, outs[o].path, bytes) : SF_EXIT_BAD_INPUT;
        if (status != SF_EXIT_OK) return status;
    }
    return cli_outputs_prepare();
}

/* The rows of an output this rank holds: [*first, *first + count). */
static size_t rank_rows(const cli_output *out, size_t *first)
{
    size_t count = out->shape[0];
    *first = 0;
    if (out->sharded) cli_shard_range(out->shape[0], first, &count);
    return count;
}

sf_status cli_open_rank_rows(sf_npy_writer **writer, const char *path, int ndim, const size_t *shape)
{
    if (cli_ranks() == 1) return sf_npy_writer_open(writer, path, ndim, shape, SF_DTYPE_F64);
    size_t first, count;
    cli_shard_range(shape[0], &first, &count);
    return sfi_npy_writer_open_rows(writer, path, ndim, shape, SF_DTYPE_F64, first, count, cli_rank() == 0);
}

int cli_allocate_outputs(cli_output *outs, int count)
{
    for (int o = 0; o < count; o++) {
        if (!outs[o].path) continue;
        size_t first, total = rank_rows(&outs[o], &first);
        for (int a = 1; a < outs[o].ndim; a++) {
            if (outs[o].shape[a] && total > SIZE_MAX / sizeof(double) / outs[o].shape[a])
                return cli_bad_input("%s: an array of this shape does not fit in memory", outs[o].path);
            total *= outs[o].shape[a];
        }
        if (!(outs[o].data = malloc((total ? total : 1) * sizeof(double))))
            return cli_failure("out of memory for %s (%zu values)", outs[o].path, total);
    }
    return SF_EXIT_OK;
}

/* Values per row of an output (the product of its shape after the first axis). */
static size_t row_size(const cli_output *out)
{
    size_t row = 1;
    for (int a = 1; a < out->ndim; a++) row *= out->shape[a];
    return row;
}

/* Exit 1 naming the first value of `rows` rows (the first being row `first`) that is not finite (a
 * result the mathematics says is finite). */
static int check_finite_rows(const cli_output *out, size_t rows, size_t first)
{
    size_t row = row_size(out);
    for (size_t i = 0; i < rows * row; i++)
        if (!isfinite(out->data[i]))
            return cli_failure("%s %s: the result for %s %zu is not finite (%g): the input lies beyond the range "
                               "that float64 can evaluate here", out->flag, out->path, out->item ? out->item : "particle",
                               first + (row ? i / row : i), out->data[i]);
    return SF_EXIT_OK;
}

static int check_finite(const cli_output *out)
{
    size_t first, rows = rank_rows(out, &first);
    return check_finite_rows(out, rows, first);
}

int cli_open_batched_outputs(cli_output *outs, int count, size_t rows)
{
    for (int o = 0; o < count; o++) {
        if (!outs[o].path) continue;
        size_t row = row_size(&outs[o]);
        if (row && rows > SIZE_MAX / sizeof(double) / row)
            return cli_bad_input("%s: a batch of %zu rows does not fit in memory", outs[o].path, rows);
        if (!(outs[o].data = malloc((rows * row > 0 ? rows * row : 1) * sizeof(double))))
            return cli_failure("out of memory for a batch of %zu rows of %s", rows, outs[o].path);
        sf_status st = outs[o].sharded ? cli_open_rank_rows(&outs[o].writer, outs[o].path, outs[o].ndim, outs[o].shape)
                                       : sf_npy_writer_open(&outs[o].writer, outs[o].path, outs[o].ndim, outs[o].shape, SF_DTYPE_F64);
        if (st != SF_OK) return cli_write_error(st);
    }
    return SF_EXIT_OK;
}

int cli_append_outputs(const cli_output *outs, int count, size_t rows, size_t first)
{
    for (int o = 0; o < count; o++) {
        int status = outs[o].path ? check_finite_rows(&outs[o], rows, first) : SF_EXIT_OK;
        if (status != SF_EXIT_OK) return status;
    }
    for (int o = 0; o < count; o++) {
        if (!outs[o].path) continue;
        sf_status st = sf_npy_writer_append(outs[o].writer, outs[o].data, rows * row_size(&outs[o]));
        if (st != SF_OK) return cli_write_error(st);
    }
    return SF_EXIT_OK;
}

int cli_close_batched_outputs(cli_output *outs, int count)
{
    for (int o = 0; o < count; o++) {
        if (!outs[o].writer) continue;
        sf_status st = sf_npy_writer_close(outs[o].writer, 1);
        outs[o].writer = NULL;
        if (st != SF_OK) return cli_write_error(st); /* the run's output set removes what was written */
    }
    return cli_outputs_commit();
}

int cli_write_outputs(const cli_output *outs, int count)
{
    for (int o = 0; o < count; o++) {
        int status = outs[o].path ? check_finite(&outs[o]) : SF_EXIT_OK;
        if (status != SF_EXIT_OK) return status;
    }
    for (int o = 0; o < count; o++) {
        if (!outs[o].path) continue;
        size_t first, rows = rank_rows(&outs[o], &first);
        sf_npy_writer *w = NULL;
        sf_status st = outs[o].sharded ? cli_open_rank_rows(&w, outs[o].path, outs[o].ndim, outs[o].shape)
                                       : sf_npy_writer_open(&w, outs[o].path, outs[o].ndim, outs[o].shape, SF_DTYPE_F64);
        if (st == SF_OK) st = sf_npy_writer_append(w, outs[o].data, rows * row_size(&outs[o]));
        sf_status closed = w ? sf_npy_writer_close(w, st == SF_OK) : SF_OK;
        if (st == SF_OK) st = closed;
        if (st != SF_OK) return cli_write_error(st); /* the run's output set removes what was written */
    }
    return cli_outputs_commit();
}

void cli_free_outputs(cli_output *outs, int count)
{
    for (int o = 0; o < count; o++) {
        sf_npy_writer_close(outs[o].writer, 0);
        free(outs[o].data);
        outs[o].data = NULL, outs[o].writer = NULL;
    }
}

int cli_output_option(cli_output *outs, int count, int argc, char **argv, int *i)
{
    for (int o = 0; o < count; o++)
        if (strcmp(argv[*i], outs[o].flag) == 0) return (outs[o].path = cli_value(argc, argv, i)) ? 1 : -1;
    return 0;
}

void cli_stats_init(cli_stats *s) { *s = (cli_stats){INFINITY, -INFINITY, 0, 0}; }

void cli_stats_add(cli_stats *s, const double *v, size_t n, size_t stride)
{
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        if (stride != 1) {
            x = 0;
            for (size_t j = 0; j < stride; j++) x += v[i * stride + j] * v[i * stride + j];
            x = sqrt(x);
        }
        s->lo = fmin(s->lo, x);
        s->hi = fmax(s->hi, x);
        s->sum += x;
    }
    s->n += n;
}

void cli_stats_print(const char *label, const cli_stats *s)
{
    printf("  %-10s mean %-12.6g min %-12.6g max %.6g\n", label, s->n ? s->sum / s->n : 0.0, s->lo, s->hi);
}

int cli_stats_reduce(int status, cli_stats *s, int count)
{
    double *v = malloc((size_t)(count > 0 ? count : 1) * 4 * sizeof(double));
    if (!v && status == SF_EXIT_OK) status = cli_failure("out of memory");
    for (int i = 0; v && i < count; i++) v[i] = s[i].sum, v[count + i] = (double)s[i].n, v[2 * count + i] = s[i].lo, v[3 * count + i] = s[i].hi;
    if (status == SF_EXIT_OK) status = cli_shard_sum(status, v, 2 * count);
    if (status == SF_EXIT_OK) status = cli_shard_min(status, v + 2 * count, count);
    if (status == SF_EXIT_OK) status = cli_shard_max(status, v + 3 * count, count);
    for (int i = 0; status == SF_EXIT_OK && i < count; i++)
        s[i] = (cli_stats){v[2 * count + i], v[3 * count + i], v[i], (size_t)v[count + i]};
    free(v);
    return status;
}

void cli_print_stats(const char *label, const double *v, size_t n, size_t stride)
{
    cli_stats s;
    cli_stats_init(&s);
    cli_stats_add(&s, v, n, stride);
    cli_stats_print(label, &s);
}

double cli_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

sf_mixture *cli_default_pair(void)
{
    const double mu[4] = {1.0, 0.0, -1.0, 0.0};
    sf_mixture *m = NULL;
    if (sf_mixture_create(&m, 2) != SF_OK) return NULL;
    sf_mixture_add_isotropic(m, 0.5, mu, 0.1);
    sf_mixture_add_isotropic(m, 0.5, mu + 2, 0.1);
    return m;
}

int cli_time_and_outputs_extra(void *data, int argc, char **argv, int *i)
{
    cli_time_and_outputs *t = data;
    int taken = t->time ? cli_time_option(t->time, argc, argv, i) : 0;
    return taken ? taken : cli_output_option(t->outs, t->count, argc, argv, i);
}
