/* scorefield info: what this build can do and which CUDA devices it sees. */
#include "commands.h"
#include "options.h"
#include "parse.h"
#include "shard.h"

#include <stdio.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static const char info_help[] =
    "usage: scorefield info [--quiet]\nPrints the version, the build configuration and the CUDA devices found.\n";

int cmd_info(int argc, char **argv)
{
    const cli_option none[] = {{NULL, CLI_FLAG, NULL, 0}};
    CLI_PARSE_OR_RETURN(cli_parse("info", info_help, NULL, none, argc, argv, NULL, NULL, NULL));
    printf("scorefield %s\n", SF_VERSION);
    printf("  CPU path     float64 reference");
#ifdef _OPENMP
    printf(", OpenMP, %d threads\n", omp_get_max_threads());
#else
    printf(", no OpenMP\n");
#endif
    if (!cli_shard_built()) printf("  MPI          not built (the CLI runs as one process)\n");
    else printf("  MPI          built in: under mpirun the particles are shared out (this run: rank %d of %d)\n", cli_rank(),
                cli_ranks());
    printf("  CUDA backend %s\n", sf_cuda_built() ? "built in" : "not built");
    const char *why = NULL;
    int n = sf_cuda_device_count(&why);
    if (n == 0) {
        printf("  CUDA devices none: %s\n", why ? why : "unknown reason");
        return SF_EXIT_OK;
    }
    for (int dev = 0; dev < n; dev++) {
        char desc[256];
        if (sf_cuda_device_describe(dev, desc, sizeof desc) == SF_OK) printf("  device %d     %s\n", dev, desc);
        else printf("  device %d     (could not query: %s)\n", dev, sf_last_error());
    }
    return SF_EXIT_OK;
}
