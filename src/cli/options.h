/* Command-line parsing shared by the scorefield commands. */
#ifndef SF_CLI_OPTIONS_H
#define SF_CLI_OPTIONS_H

#include "scorefield.h"

#include <stddef.h>

/* Exit statuses of every command. */
enum { SF_EXIT_OK = 0, SF_EXIT_FAILED = 1, SF_EXIT_BAD_INPUT = 2, SF_EXIT_NO_DEVICE = 3 };

/* Prints "scorefield: <message>" on stderr (one line) and returns SF_EXIT_BAD_INPUT. */
int cli_bad_input(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Reports a library failure: exit 2 for bad input or files, 1 for everything else. */
int cli_library_error(sf_status status);

/* Takes the value of option argv[*i] (which must follow it); NULL, with the error printed, if missing. */
const char *cli_value(int argc, char **argv, int *i);
/* Strict number parsing: the whole string must be a finite number. Returns 0 and prints on failure. */
int cli_double(const char *option, const char *text, double *out);
int cli_size(const char *option, const char *text, size_t *out);
int cli_is_help(const char *arg);

/* The time of an evaluation: --schedule S --t T, or --alpha A --sigma S, with overrides. */
typedef struct {
    sf_schedule schedule;
    int have_schedule, have_t, have_alpha, have_sigma;
    double t;
} cli_time;

void cli_time_init(cli_time *ct);
/* Consumes a time option at argv[*i] if it is one: returns 1 (consumed), 0 (not a time option),
 * or -1 (bad value, error printed). */
int cli_time_option(cli_time *ct, int argc, char **argv, int *i);
/* Resolves the options into a time; prints the error and returns 0 if incomplete or invalid. */
int cli_time_resolve(const cli_time *ct, sf_time *out);
extern const char cli_time_help[];

int cli_backend(const char *text, sf_backend *out);
int cli_precision(const char *text, sf_precision *out);

#endif
