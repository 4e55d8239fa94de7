/* Reading and writing the growable public structs across library versions. */
#include "abi.h"
#include "status.h"

#include <string.h>

sf_status sfi_struct_load(void *dst, size_t known_size, const void *src, size_t size, size_t first_size,
                         const char *what)
{
    if (size == 0) size = first_size;
    if (size < first_size)
        return sfi_fail(SF_ERR_INVALID, "%s: size %zu is smaller than any version of the struct (%zu): set it to "
                                       "sizeof(%s) or 0", what, size, first_size, what);
    const unsigned char *bytes = src;
    for (size_t i = known_size; i < size; i++)
        if (bytes[i])
            return sfi_fail(SF_ERR_INVALID, "%s: fields beyond the %zu bytes this library (scorefield %s) knows are set: "
                                           "the program needs a newer library", what, known_size, SF_VERSION);
    memcpy(dst, src, size < known_size ? size : known_size);
    if (size < known_size) memset((unsigned char *)dst + size, 0, known_size - size);
    return SF_OK;
}

sf_status sfi_struct_store(void *dst, size_t size, const void *src, size_t first_size, size_t known_size,
                          const char *what)
{
    if (size < first_size)
        return sfi_fail(SF_ERR_INVALID, "%s: size %zu is smaller than any version of the struct (%zu)", what, size,
                       first_size);
    memcpy(dst, src, size < known_size ? size : known_size);
    if (size > known_size) memset((unsigned char *)dst + known_size, 0, size - known_size);
    return SF_OK;
}
