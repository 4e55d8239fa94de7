/* Progress lines with elapsed time and an estimate of the rest (see progress.h). */
#include "progress.h"
#include "cli_io.h"
#include "shard.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Runs shorter than this print no progress at all; SCOREFIELD_PROGRESS_AFTER (seconds) overrides it. */
#define PROGRESS_QUIET_SECONDS 2.0

static double quiet_seconds(void)
{
    const char *text = getenv("SCOREFIELD_PROGRESS_AFTER");
    char *end;
    double v = text ? strtod(text, &end) : NAN;
    return text && end != text && !*end && v >= 0 ? v : PROGRESS_QUIET_SECONDS;
}

void cli_progress_start(cli_progress *p, const char *command, double total)
{
    p->command = command, p->total = total > 0 ? total : 1, p->start = cli_seconds(), p->tenth = 0;
    p->after = quiet_seconds();
}

void cli_progress_update(cli_progress *p, double done)
{
    int tenth = (int)(10 * done / p->total);
    if (tenth <= p->tenth || cli_quiet() || cli_rank() != 0) return; /* rank 0 speaks for all */
    double elapsed = cli_seconds() - p->start;
    if (elapsed < p->after) return; /* keep the tenth: the next line reports from here */
    p->tenth = tenth;
    double left = done > 0 ? elapsed * (p->total - done) / done : 0;
    fprintf(stderr, "scorefield %s: %3d%% after %.1f s, about %.1f s left\n", p->command, 10 * tenth, elapsed, left);
}
