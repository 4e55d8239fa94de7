/* Command-line parsing shared by the scorefield commands. */
#ifndef SF_CLI_OPTIONS_H
#define SF_CLI_OPTIONS_H

#include "scorefield.h"

#include <stddef.h>

/* Exit statuses of every command (README, "Outputs, errors and exit codes"); a run ended by
 * SIGHUP, SIGINT or SIGTERM exits 128 + the signal: 129, 130, 143. */
enum { SF_EXIT_OK = 0, SF_EXIT_FAILED = 1, SF_EXIT_BAD_INPUT = 2, SF_EXIT_NO_DEVICE = 3, SF_EXIT_SIGNAL_BASE = 128 };

/* Prints "scorefield: <message>" on stderr (one line) and returns SF_EXIT_BAD_INPUT. */
int cli_bad_input(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* The same for a failure of the run itself (memory, disk, a non-finite result): SF_EXIT_FAILED. */
int cli_failure(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Reports a library failure while reading inputs or computing: exit 2 for bad input and input files
 * that cannot be read, 3 for no CUDA device, 1 for the rest (memory, CUDA, numeric). */
int cli_library_error(sf_status status);
/* Reports a failure while writing outputs: exit 2 for a bad output path, 1 for the file system
 * (disk full, I/O error) and the rest. */
int cli_write_error(sf_status status);

/* Takes the value of option argv[*i] (which must follow it); NULL, with the error printed, if missing. */
const char *cli_value(int argc, char **argv, int *i);
/* Strict number parsing: the whole string must be a finite number, without leading spaces.
 * cli_double returns 0 and prints (naming the option) on failure; cli_parse_double prints nothing,
 * for callers whose message names a file instead. */
int cli_double(const char *option, const char *text, double *out);
int cli_parse_double(const char *text, double *out);
/* A count: decimal digits only (no sign, space, exponent or suffix), at most `max` (which the
 * command's --help states). Returns 0 and prints on failure. */
int cli_count(const char *option, const char *text, size_t max, size_t *out);
/* A comma-separated list of indices, each a count below `limit`, at most `cap` of them; *end
 * (may be NULL) receives the character that ended the list (',' never does). Returns the number
 * read, or 0 with the error printed. */
int cli_index_list(const char *option, const char *text, size_t limit, int *out, int cap, const char **end);
int cli_is_help(const char *arg);

/* Options seen so far in one command line: an option given twice is refused, not silently
 * overridden. */
typedef struct {
    const char *seen[64];
    int count;
} cli_once;
/* Returns 1 if `arg` (argv[i] at an option position) is not a repeated option nor an old name of a
 * renamed one (--scales, --shift, --tau-max, --tau-min); otherwise prints the error and returns 0. */
int cli_first_use(cli_once *once, const char *arg);
/* Whether `option` was given. */
int cli_once_seen(const cli_once *once, const char *option);

/* --quiet: nothing on stdout for the rest of the run (stdout goes to /dev/null, so no report needs a
 * quiet branch), and no progress on stderr; errors are still printed. */
void cli_set_quiet(void);
int cli_quiet(void);

/* The time of an evaluation: --schedule S --t T, or --alpha A --sigma S, with overrides. */
typedef struct {
    sf_schedule schedule;
    int have_schedule, have_t, have_alpha, have_sigma;
    int have_sigma_range[2]; /* --sigma-min, --sigma-max given (else the kind's defaults) */
    double t;
} cli_time;

void cli_time_init(cli_time *ct);
/* Consumes a time option at argv[*i] if it is one: returns 1 (consumed), 0 (not a time option),
 * or -1 (bad value, error printed). */
int cli_time_option(cli_time *ct, int argc, char **argv, int *i);
/* Resolves the options into a time; prints the error and returns 0 if incomplete or invalid. */
int cli_time_resolve(const cli_time *ct, sf_time *out);

/* The generation interval of a sampler run where not given (NaN): sf_sampler_interval_default's. */
void cli_interval_defaults(const sf_schedule *schedule, double *t1, double *t0);
/* --spacing NAME (t, lambda or karras; NULL: the schedule's default, sf_sampler_interval_default's)
 * as an sf_spacing. Returns 0 with the error printed for another name. */
int cli_spacing(const char *name, const sf_schedule *schedule, sf_spacing *out);
/* The --spacing name of a spacing ("given" for SF_SPACING_GIVEN). */
const char *cli_spacing_name(sf_spacing spacing);
extern const char cli_time_help[];

int cli_backend(const char *text, sf_backend *out);
int cli_precision(const char *text, sf_precision *out);

#endif
