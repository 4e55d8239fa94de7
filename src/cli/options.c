/* Command-line parsing shared by the scorefield commands. */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_bad_input(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("scorefield: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return SF_EXIT_BAD_INPUT;
}

int cli_library_error(sf_status status)
{
    fprintf(stderr, "scorefield: %s\n", sf_last_error());
    switch (status) {
    case SF_ERR_INVALID:
    case SF_ERR_IO:
    case SF_ERR_FORMAT: return SF_EXIT_BAD_INPUT;
    case SF_ERR_NO_CUDA: return SF_EXIT_NO_DEVICE;
    default: return SF_EXIT_FAILED;
    }
}

const char *cli_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        cli_bad_input("option %s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int cli_double(const char *option, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v)) {
        cli_bad_input("option %s: '%s' is not a finite number", option, text);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_size(const char *option, const char *text, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE || text[0] == '-') {
        cli_bad_input("option %s: '%s' is not a non-negative integer", option, text);
        return 0;
    }
    *out = (size_t)v;
    return 1;
}

int cli_is_help(const char *arg) { return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0; }

const char cli_time_help[] =
    "time (one of):\n"
    "  --schedule ve|vp-linear|vp-cosine|ou --t T   t in [0, 1] (vp-cosine: [0, 1))\n"
    "  --alpha A --sigma S                         a direct pair, alpha > 0, sigma >= 0\n"
    "schedule parameters (defaults): --sigma-min 0.01 --sigma-max 50 (ve),\n"
    "  --beta-min 0.1 --beta-max 20 (vp-linear), --cosine-s 0.008 (vp-cosine)\n";

void cli_time_init(cli_time *ct)
{
    memset(ct, 0, sizeof *ct);
    ct->schedule = sf_schedule_default(SF_SCHEDULE_VE);
}

int cli_time_option(cli_time *ct, int argc, char **argv, int *i)
{
    static const char *const names[] = {"--t", "--alpha", "--sigma", "--sigma-min", "--sigma-max",
                                        "--beta-min", "--beta-max", "--cosine-s"};
    const char *opt = argv[*i];
    if (strcmp(opt, "--schedule") == 0) {
        const char *v = cli_value(argc, argv, i);
        if (!v) return -1;
        sf_schedule_kind kind;
        if (sf_schedule_kind_parse(v, &kind) != SF_OK) {
            cli_bad_input("option --schedule: %s", sf_last_error());
            return -1;
        }
        ct->schedule.kind = kind;
        ct->have_schedule = 1;
        return 1;
    }
    double *targets[] = {&ct->t, &ct->schedule.alpha, &ct->schedule.sigma, &ct->schedule.sigma_min,
                         &ct->schedule.sigma_max, &ct->schedule.beta_min, &ct->schedule.beta_max,
                         &ct->schedule.cosine_s};
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
        if (strcmp(opt, names[n]) != 0) continue;
        const char *v = cli_value(argc, argv, i);
        if (!v || !cli_double(opt, v, targets[n])) return -1;
        if (n == 0) ct->have_t = 1;
        if (n == 1) ct->have_alpha = 1;
        if (n == 2) ct->have_sigma = 1;
        return 1;
    }
    return 0;
}

int cli_time_resolve(const cli_time *ct, sf_time *out)
{
    sf_schedule s = ct->schedule;
    if (ct->have_alpha || ct->have_sigma) {
        if (!(ct->have_alpha && ct->have_sigma)) {
            cli_bad_input("--alpha and --sigma go together");
            return 0;
        }
        if (ct->have_schedule || ct->have_t) {
            cli_bad_input("give either --schedule with --t, or --alpha with --sigma, not both");
            return 0;
        }
        s.kind = SF_SCHEDULE_DIRECT;
    } else if (!ct->have_schedule || !ct->have_t) {
        cli_bad_input("no time given: use --schedule S --t T, or --alpha A --sigma S");
        return 0;
    }
    if (sf_schedule_at(&s, ct->t, out) != SF_OK) {
        cli_bad_input("%s", sf_last_error());
        return 0;
    }
    return 1;
}

int cli_backend(const char *text, sf_backend *out)
{
    if (sf_backend_parse(text, out) != SF_OK) {
        cli_bad_input("option --backend: '%s' is not one of cpu, cuda, auto, reference", text);
        return 0;
    }
    return 1;
}

int cli_precision(const char *text, sf_precision *out)
{
    if (strcmp(text, "f64") == 0) *out = SF_PRECISION_F64;
    else if (strcmp(text, "f32") == 0) *out = SF_PRECISION_F32;
    else {
        cli_bad_input("option --precision: '%s' is not one of f64, f32", text);
        return 0;
    }
    return 1;
}
