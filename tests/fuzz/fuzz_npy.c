/* libFuzzer target: the .npy reader (sf_npy_read) on arbitrary bytes. Whatever the bytes, it must
 * return a status without crashing, leaking or reading out of bounds (ASan + UBSan), and an accepted
 * array must be consistent: at most SF_NPY_MAX_DIMS dimensions, data present, the element count the
 * shape says. Seeds in tests/fuzz/corpus/npy; run by tests/fuzz/run.sh. */
#include "fuzz_files.h"

#include <scorefield.h>

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file("input.npy", data, size);
    sf_array a;
    if (sf_npy_read(path, &a) == SF_OK) {
        if (a.ndim < 0 || a.ndim > SF_NPY_MAX_DIMS || !a.data) abort();
        size_t n = sf_array_size(&a);
        volatile double sum = 0; /* touch every value: the reader must have allocated them all */
        for (size_t i = 0; i < n; i++) sum += a.data[i];
        (void)sum;
    } else if (a.data || a.ndim != 0) {
        abort(); /* a refused file leaves the array empty */
    }
    sf_array_free(&a);
    return 0;
}
