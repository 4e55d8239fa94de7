/* scorefield: the command-line front end. */
#include "commands.h"
#include "options.h"
#include "outputs.h"
#include "shard.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: scorefield <command> [options]     (scorefield <command> --help for each)\n"
    "commands:\n"
    "  demo     the speciation story on a default mixture, with figures (start here)\n"
    "  score    evaluate score, log p, divergence, responsibilities, denoiser at particles\n"
    "  info     build configuration and the CUDA devices found (or why none)\n"
    "  check    run one random workload on the CPU and the GPU and compare them\n"
    "  burgers-residual  the Burgers residual of the score at particles (heat or VP form)\n"
    "  burgers  the score on a periodic grid by heat propagation or by integrating Burgers\n"
    "  sample   generate particles: reverse SDE, PF-ODE, h-family, DDPM, DDIM, DPM-Solver, guidance\n"
    "  draw     exact samples of p_t at a given time\n"
    "  loglik   log p_t0 of points by the probability-flow ODE\n"
    "  speciation  critical times, tanh layer, amplification and branching of a binary split\n"
    "  bandwidth   information flow: b(t) = dH(X0|Xt)/dt, label-entropy variance, pathwise rates\n"
    "  blowup   the score near t = 0 for data on subspaces: rates against the codimension\n"
    "  wkb      the h-family's likelihood against its first-order WKB prediction (path integral)\n"
    "  sampler-error  samplers' error against the exact distribution: endpoints, orders, W2, NLL\n"
    "  doublewell  speciation for non-Gaussian data: the quartic double well by quadrature\n"
    "every command takes --help, and --quiet (nothing but errors)\n"
    "under mpirun (MPI builds), score, sample, draw, loglik, burgers-residual, check and bandwidth share\n"
    "their particles out over the ranks, with the same results (README, \"Many processes: MPI\")\n"
    "outputs: each run writes all of its files or none; existing special files and symbolic links are\n"
    "never replaced, and an interrupted run removes its temporary files\n"
    "exit status: 0 success, 1 failure of the run (memory, disk, a non-finite result), 2 bad input or\n"
    "usage (one-line message on stderr), 3 no CUDA device, 129/130/143 interrupted (SIGHUP/INT/TERM)\n";

int main(int argc, char **argv)
{
    static const struct { const char *name; int (*run)(int, char **); } commands[] = {
        {"score", cmd_score}, {"info", cmd_info}, {"check", cmd_check}, {"burgers-residual", cmd_burgers_residual},
        {"burgers", cmd_burgers}, {"sample", cmd_sample}, {"draw", cmd_draw}, {"loglik", cmd_loglik},
        {"speciation", cmd_speciation}, {"demo", cmd_demo}, {"bandwidth", cmd_bandwidth}, {"blowup", cmd_blowup}, {"wkb", cmd_wkb},
        {"doublewell", cmd_doublewell}, {"sampler-error", cmd_sampler_error}};
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? SF_EXIT_BAD_INPUT : SF_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("scorefield %s\n", SF_VERSION);
        return SF_EXIT_OK;
    }
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
        if (strcmp(argv[1], commands[c].name) == 0) {
            cli_signals_start(); /* before the command (or MPI) starts any thread */
            cli_shard_start(&argc, &argv);
            return cli_shard_finish(cli_outputs_finish(commands[c].run(argc - 2, argv + 2)));
        }
    return cli_bad_input("unknown command '%s' (see scorefield --help)", argv[1]);
}
