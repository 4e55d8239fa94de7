/* Reading a .npy file in blocks of rows, for inputs larger than memory (internal: the CLI's score
 * streams its particles through it). The header and the file's size are checked at open exactly as
 * sf_npy_read checks them; values come converted to float64, in C order. */
#ifndef SF_NPY_READER_H
#define SF_NPY_READER_H

#include "scorefield.h"

#include <stddef.h>

typedef struct sf_npy_reader sf_npy_reader;

/* shape must hold SF_NPY_MAX_DIMS values. `path` must outlive the reader (it names the file in
 * messages). */
sf_status sfi_npy_reader_open(sf_npy_reader **reader, const char *path, int *ndim, size_t *shape);
/* The next `count` values (at most as many as are left). */
sf_status sfi_npy_reader_read(sf_npy_reader *reader, double *data, size_t count);
/* Passes over the next `count` values without reading them (a seek: the file must be seekable). */
sf_status sfi_npy_reader_skip(sf_npy_reader *reader, size_t count);
void sfi_npy_reader_close(sf_npy_reader *reader);

#endif
