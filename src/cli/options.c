/* Command-line parsing shared by the scorefield commands. */
#include "options.h"
#include "shard.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "scorefield: <message>\n" on stderr, or kept for the one rank that reports (shard.h). */
static void print_error(const char *fmt, va_list ap)
{
    char line[2048];
    int len = snprintf(line, sizeof line, "scorefield: ");
    vsnprintf(line + len, sizeof line - (size_t)len - 1, fmt, ap);
    strcat(line, "\n");
    cli_shard_error(line);
}

static void print_line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_error(fmt, ap);
    va_end(ap);
}

int cli_bad_input(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_error(fmt, ap);
    va_end(ap);
    return SF_EXIT_BAD_INPUT;
}

int cli_failure(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_error(fmt, ap);
    va_end(ap);
    return SF_EXIT_FAILED;
}

int cli_library_error(sf_status status)
{
    print_line("%s", sf_last_error());
    switch (status) {
    case SF_ERR_INVALID:
    case SF_ERR_IO:
    case SF_ERR_FORMAT: return SF_EXIT_BAD_INPUT;
    case SF_ERR_NO_CUDA: return SF_EXIT_NO_DEVICE;
    default: return SF_EXIT_FAILED;
    }
}

int cli_write_error(sf_status status)
{
    print_line("%s", sf_last_error());
    return status == SF_ERR_INVALID || status == SF_ERR_FORMAT ? SF_EXIT_BAD_INPUT
         : status == SF_ERR_NO_CUDA                           ? SF_EXIT_NO_DEVICE
                                                              : SF_EXIT_FAILED;
}

const char *cli_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        cli_bad_input("option %s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int cli_parse_double(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = isspace((unsigned char)text[0]) ? NAN : strtod(text, &end);
    if (isnan(v) || end == text || *end != '\0' || errno == ERANGE || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

int cli_double(const char *option, const char *text, double *out)
{
    if (cli_parse_double(text, out)) return 1;
    cli_bad_input("option %s: '%s' is not a finite number", option, text);
    return 0;
}

/* The digits at text as a count: the number of digits read (0: none, or too large for size_t). */
static size_t read_digits(const char *text, size_t *value)
{
    size_t v = 0, n = 0;
    for (; text[n] >= '0' && text[n] <= '9'; n++) {
        size_t digit = (size_t)(text[n] - '0');
        if (v > (SIZE_MAX - digit) / 10) return 0;
        v = v * 10 + digit;
    }
    *value = v;
    return n;
}

int cli_count(const char *option, const char *text, size_t max, size_t *out)
{
    size_t v = 0, n = read_digits(text, &v);
    if (n == 0 && text[0] >= '0' && text[0] <= '9') {
        cli_bad_input("option %s: '%s' is out of range (at most %zu)", option, text, max);
        return 0;
    }
    if (n == 0 || text[n] != '\0') {
        cli_bad_input("option %s: '%s' is not a count (decimal digits only)", option, text);
        return 0;
    }
    if (v > max) {
        cli_bad_input("option %s: %s is out of range (at most %zu)", option, text, max);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_index_list(const char *option, const char *text, size_t limit, int *out, int cap, const char **end)
{
    int count = 0;
    const char *c = text;
    for (;;) {
        size_t v = 0, n = read_digits(c, &v);
        if (n == 0) break;
        if (v >= limit) {
            cli_bad_input("option %s: component %.*s does not exist (there are %zu)", option, (int)n, c, limit);
            return 0;
        }
        if (count == cap) {
            cli_bad_input("option %s: more than %d indices", option, cap);
            return 0;
        }
        out[count++] = (int)v;
        c += n;
        if (*c != ',') break;
        c++;
    }
    int clean = count > 0 && c[-1] != ',' && (end ? *c != ',' : *c == '\0');
    if (!clean) {
        cli_bad_input("option %s: '%s' is not a comma-separated list of component indices", option, text);
        return 0;
    }
    if (end) *end = c;
    return count;
}

/* Options renamed so that one quantity has one name in every command; the old names are refused
 * with the new one (README, "Command line"). */
static const struct {
    const char *old, *new;
} renamed[] = {{"--scales", "--model-scale"}, {"--shift", "--model-shift"}, {"--tau-max", "--tau1"}, {"--tau-min", "--tau0"}};

int cli_first_use(cli_once *once, const char *arg)
{
    if (arg[0] != '-') return 1;
    for (size_t k = 0; k < sizeof renamed / sizeof renamed[0]; k++)
        if (strcmp(arg, renamed[k].old) == 0) {
            cli_bad_input("option %s is now %s (one name for one quantity in every command)", arg, renamed[k].new);
            return 0;
        }
    for (int k = 0; k < once->count; k++)
        if (strcmp(once->seen[k], arg) == 0) {
            cli_bad_input("option %s is given twice", arg);
            return 0;
        }
    if (once->count < (int)(sizeof once->seen / sizeof once->seen[0])) once->seen[once->count++] = arg;
    return 1;
}

int cli_once_seen(const cli_once *once, const char *option)
{
    for (int k = 0; k < once->count; k++)
        if (strcmp(once->seen[k], option) == 0) return 1;
    return 0;
}

static int quiet;

void cli_set_quiet(void)
{
    fflush(stdout);
    FILE *sink = freopen("/dev/null", "w", stdout); /* on failure stdout is closed: quiet as well */
    (void)sink;
    quiet = 1;
}

int cli_quiet(void) { return quiet; }

int cli_is_help(const char *arg) { return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0; }

const char cli_time_help[] =
    "time (one of):\n"
    "  --schedule ve|vp-linear|vp-cosine|ou|edm|flow --t T   t in [0, 1] (vp-cosine, flow: [0, 1);\n"
    "                                              edm: sigma = t in [0, sigma-max])\n"
    "  --alpha A --sigma S                         a direct pair, alpha > 0, sigma >= 0\n"
    "schedule parameters (defaults): --sigma-min 0.01 --sigma-max 50 (ve; edm: 0.002, 80),\n"
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
        sf_schedule given = ct->schedule, defaults = sf_schedule_default(kind);
        ct->schedule.kind = kind; /* the kind's own sigma range (edm's differs from ve's) unless given */
        ct->schedule.sigma_min = ct->have_sigma_range[0] ? given.sigma_min : defaults.sigma_min;
        ct->schedule.sigma_max = ct->have_sigma_range[1] ? given.sigma_max : defaults.sigma_max;
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
        if (n == 3 || n == 4) ct->have_sigma_range[n - 3] = 1;
        return 1;
    }
    return 0;
}

/* The --spacing names, indexed by sf_spacing. */
static const char *const spacing_names[] = {"t", "lambda", "given", "karras"};

const char *cli_spacing_name(sf_spacing spacing)
{
    return (unsigned)spacing < sizeof spacing_names / sizeof spacing_names[0] ? spacing_names[spacing] : "?";
}

int cli_spacing(const char *name, const sf_schedule *schedule, sf_spacing *out)
{
    if (!name) {
        double t1, t0;
        *out = SF_SPACING_T;
        sf_sampler_interval_default(schedule, &t1, &t0, out);
        return 1;
    }
    for (int k = 0; k < (int)(sizeof spacing_names / sizeof spacing_names[0]); k++)
        if (k != SF_SPACING_GIVEN && strcmp(name, spacing_names[k]) == 0) {
            *out = (sf_spacing)k;
            return 1;
        }
    cli_bad_input("option --spacing: '%s' is not t, lambda or karras", name);
    return 0;
}

void cli_interval_defaults(const sf_schedule *schedule, double *t1, double *t0)
{
    double d1, d0;
    sf_spacing spacing;
    if (sf_sampler_interval_default(schedule, &d1, &d0, &spacing) != SF_OK) return; /* a schedule of the parser's own */
    if (isnan(*t1)) *t1 = d1;
    if (isnan(*t0)) *t0 = d0;
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
