/* Internal: recording failures for sf_last_error(). */
#ifndef SF_STATUS_H
#define SF_STATUS_H

#include "scorefield.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Records a one-line message for sf_last_error() and returns `status`, so callers write
 * `return sfi_fail(SF_ERR_INVALID, "%s: weight %g is not positive", path, w);` */
sf_status sfi_fail(sf_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prefixes the current message with "prefix: " (used to add a file name to an inner error). */
void sfi_error_prefix(const char *prefix);

/* Clears the message (at the start of a public call that may later fail). */
void sfi_error_clear(void);

/* SF_OK if n x per doubles fit in the address space (checked before an allocation of that size, and
 * before indexing a caller's array of that shape); otherwise SF_ERR_INVALID naming `function`. */
sf_status sfi_check_doubles(const char *function, size_t n, size_t per);

#ifdef __cplusplus
}
#endif
#endif
