/* One table-driven option parser for every command: each command lists its options (name, kind,
 * where the value goes, the bound of a count) and cli_parse does the rest the same way everywhere:
 * --help, --quiet, values parsed strictly (cli_count, cli_double), an option given twice refused,
 * the old names of renamed options refused with the new one, unknown options refused. Options that
 * take several values or belong to a family (the time options, the score outputs) go through the
 * command's `extra` callback. */
#ifndef SF_CLI_PARSE_H
#define SF_CLI_PARSE_H

#include "options.h"

typedef enum {
    CLI_TEXT,      /* const char **: a path or a word */
    CLI_COUNT,     /* size_t *: decimal digits, at most `max` */
    CLI_NUMBER,    /* double *: a finite number */
    CLI_FLAG,      /* int *: set to 1, takes no value */
    CLI_BACKEND,   /* sf_backend *: cpu|cuda|auto|reference */
    CLI_PRECISION  /* sf_precision *: f64|f32 */
} cli_kind;

typedef struct {
    const char *name;
    cli_kind kind;
    void *target;
    size_t max; /* CLI_COUNT only */
} cli_option;

/* A command's options outside the table: 1 consumed (argv[*i] and its values), 0 not one of them,
 * -1 bad value (error printed). */
typedef int (*cli_extra_fn)(void *data, int argc, char **argv, int *i);

/* cli_parse's result besides the exit statuses: --help was printed, the command has nothing to do. */
enum { CLI_HELP_SHOWN = -1 };

/* Parses argv (the arguments after the command's name) against `table` (ended by a NULL name).
 * `help` is printed for --help, followed by `more_help` when not NULL. `once` (may be NULL) receives
 * the options seen. Returns SF_EXIT_OK, SF_EXIT_BAD_INPUT (error printed) or CLI_HELP_SHOWN. */
int cli_parse(const char *command, const char *help, const char *more_help, const cli_option *table, int argc,
              char **argv, cli_extra_fn extra, void *data, cli_once *once);

/* The time options (cli_time_option) as an `extra` callback; data is the cli_time. */
int cli_time_extra(void *data, int argc, char **argv, int *i);

/* The schedule options of a command that runs from t1 to t0: --t, --alpha and --sigma refused. */
int interval_time_extra(void *data, int argc, char **argv, int *i);

/* Run a command's parse: return from the command on help (exit 0) or a bad option. */
#define CLI_PARSE_OR_RETURN(call)                                                                    \
    do {                                                                                             \
        int parsed_ = (call);                                                                        \
        if (parsed_ != SF_EXIT_OK) return parsed_ == CLI_HELP_SHOWN ? SF_EXIT_OK : parsed_;          \
    } while (0)

#endif
