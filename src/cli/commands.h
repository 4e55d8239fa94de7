/* The scorefield commands; each takes the arguments after its name and returns an exit status. */
#ifndef SF_CLI_COMMANDS_H
#define SF_CLI_COMMANDS_H

int cmd_score(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_burgers_residual(int argc, char **argv);
int cmd_burgers(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_draw(int argc, char **argv);
int cmd_loglik(int argc, char **argv);
int cmd_speciation(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_bandwidth(int argc, char **argv);
int cmd_blowup(int argc, char **argv);
int cmd_wkb(int argc, char **argv);
int cmd_doublewell(int argc, char **argv);
int cmd_sampler_error(int argc, char **argv);

#endif
