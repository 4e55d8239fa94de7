/* The fuzz targets' inputs as files (the readers take paths): one private folder per process. */
#ifndef SF_FUZZ_FILES_H
#define SF_FUZZ_FILES_H

#include <stddef.h>
#include <stdint.h>

/* Writes `size` bytes to `name` in the process's fuzz folder (created on first use, under
 * $TMPDIR or /tmp, removed at exit) and returns the file's path (valid until the next call). */
const char *fuzz_write_file(const char *name, const uint8_t *data, size_t size);

#endif
