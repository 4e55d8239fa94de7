/* Progress of a long run on stderr, shared by every command: nothing during the first 2 s (short
 * runs stay silent), then a line at each further tenth of the work with the elapsed time and an
 * estimate of the time left (the rate so far, extrapolated). Silent under --quiet. The environment
 * variable SCOREFIELD_PROGRESS_AFTER sets another delay in seconds (0: report every tenth). */
#ifndef SF_CLI_PROGRESS_H
#define SF_CLI_PROGRESS_H

typedef struct {
    const char *command;
    double total, start, after;
    int tenth;
} cli_progress;

/* `total` units of work (particle-steps, times, stages: any measure that grows evenly). */
void cli_progress_start(cli_progress *p, const char *command, double total);
/* `done` units finished so far (0 to total). */
void cli_progress_update(cli_progress *p, double done);

#endif
