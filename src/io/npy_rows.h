/* Internal: writing some rows of a .npy file that several processes write together (MPI ranks, each
 * its contiguous rows), inside a run's output set (staging.h). The file is laid out exactly as one
 * process would write it: the header once, then rows in order. */
#ifndef SF_NPY_ROWS_H
#define SF_NPY_ROWS_H

#include "scorefield.h"

#include <stddef.h>

/* A writer for rows [first_row, first_row + rows) of an array of the given shape (rows along the
 * first axis); exactly rows x (values per row) values are appended before a committing close.
 * header_too: this writer also writes the header (one writer per file does, usually the one
 * with first_row 0). The whole array (first_row 0, all rows, header_too) is sf_npy_writer_open. */
sf_status sfi_npy_writer_open_rows(sf_npy_writer **writer, const char *path, int ndim, const size_t *shape, sf_dtype dtype,
                                   size_t first_row, size_t rows, int header_too);

#endif
