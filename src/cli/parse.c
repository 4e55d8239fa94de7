/* The table-driven option parser (see parse.h). */
#include "parse.h"

#include <stdio.h>
#include <string.h>

static int take_value(const cli_option *o, int argc, char **argv, int *i)
{
    if (o->kind == CLI_FLAG) {
        *(int *)o->target = 1;
        return 1;
    }
    const char *v = cli_value(argc, argv, i);
    if (!v) return 0;
    switch (o->kind) {
    case CLI_TEXT: *(const char **)o->target = v; return 1;
    case CLI_COUNT: return cli_count(o->name, v, o->max, (size_t *)o->target);
    case CLI_NUMBER: return cli_double(o->name, v, (double *)o->target);
    case CLI_BACKEND: return cli_backend(v, (sf_backend *)o->target);
    case CLI_PRECISION: return cli_precision(v, (sf_precision *)o->target);
    default: return 0;
    }
}

int cli_parse(const char *command, const char *help, const char *more_help, const cli_option *table, int argc,
              char **argv, cli_extra_fn extra, void *data, cli_once *once)
{
    cli_once own = {0};
    if (!once) once = &own;
    for (int i = 0; i < argc; i++)
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            if (more_help) fputs(more_help, stdout);
            return CLI_HELP_SHOWN;
        }
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!cli_first_use(once, a)) return SF_EXIT_BAD_INPUT;
        if (strcmp(a, "--quiet") == 0) {
            cli_set_quiet();
            continue;
        }
        const cli_option *o = table;
        while (o->name && strcmp(o->name, a) != 0) o++;
        if (o->name) {
            if (!take_value(o, argc, argv, &i)) return SF_EXIT_BAD_INPUT;
            continue;
        }
        int taken = extra ? extra(data, argc, argv, &i) : 0;
        if (taken < 0) return SF_EXIT_BAD_INPUT;
        if (taken == 0) return cli_bad_input("%s: unknown option '%s' (see scorefield %s --help)", command, a, command);
    }
    return SF_EXIT_OK;
}

int cli_time_extra(void *data, int argc, char **argv, int *i) { return cli_time_option(data, argc, argv, i); }

int interval_time_extra(void *data, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--t") || !strcmp(a, "--alpha") || !strcmp(a, "--sigma")) {
        cli_bad_input("%s does not apply: this command runs between two times (--t1 and --t0)", a);
        return -1;
    }
    return cli_time_option(data, argc, argv, i);
}
