/* The thread-local last-error message behind sf_last_error(). */
#include "status.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SF_MESSAGE_LEN 1024

static _Thread_local char last_message[SF_MESSAGE_LEN];

sf_status sfi_fail(sf_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    /* Keep it one line: a message is printed as "scorefield: <message>". */
    for (char *c = last_message; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    return status;
}

void sfi_error_prefix(const char *prefix)
{
    char copy[SF_MESSAGE_LEN];
    memcpy(copy, last_message, sizeof copy);
    size_t n = strlen(prefix);
    if (n + 2 >= sizeof last_message) return;
    memcpy(last_message, prefix, n);
    memcpy(last_message + n, ": ", 2);
    memcpy(last_message + n + 2, copy, sizeof last_message - n - 2);
    last_message[sizeof last_message - 1] = '\0';
}

void sfi_error_clear(void) { last_message[0] = '\0'; }

sf_status sfi_check_doubles(const char *function, size_t n, size_t per)
{
    if (per != 0 && n > SIZE_MAX / sizeof(double) / per)
        return sfi_fail(SF_ERR_INVALID, "%s: %zu x %zu values do not fit in memory", function, n, per);
    return SF_OK;
}

const char *sf_last_error(void) { return last_message; }

const char *sf_version(void) { return SF_VERSION; }

const char *sf_status_name(sf_status status)
{
    switch (status) {
    case SF_OK: return "ok";
    case SF_ERR_INVALID: return "invalid input";
    case SF_ERR_IO: return "i/o error";
    case SF_ERR_FORMAT: return "malformed file";
    case SF_ERR_NOMEM: return "out of memory";
    case SF_ERR_NO_CUDA: return "no CUDA";
    case SF_ERR_CUDA: return "CUDA error";
    case SF_ERR_NUMERIC: return "non-finite result";
    case SF_ERR_CANCELLED: return "cancelled";
    case SF_ERR_CALLBACK: return "callback failed";
    }
    return "unknown status";
}
