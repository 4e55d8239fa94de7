/* scorefield draw: exact samples of the diffused mixture p_t, streamed to a .npy file in batches. */
#include "cli_io.h"
#include "commands.h"
#include "parse.h"
#include "progress.h"
#include "shard.h"
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRAW_N_MAX 1000000000000ULL /* streamed, so bounded by the disk (checked) */
#define DRAW_BATCH_MAX 100000000

static const char draw_help[] =
    "usage: scorefield draw --mixture M.json <time> --n N --out X.npy [--seed S] [--batch B] [--quiet]\n"
    "Writes N exact draws of p_t, the mixture diffused to the given time (a component at alpha mu with\n"
    "covariance alpha^2 C + sigma^2 I), as an N x d float64 .npy file: the starting particles of\n"
    "`sample`, or reference draws to compare a sampler's output with. Draw i depends only on (S, i):\n"
    "the same seed gives the same particles whatever the batch size.\n"
    "  --n N 1 to 1e12, --batch B (262144) 1 to 1e8, --seed S (0) 0 to 2^64-1\n"
    "The file must fit in the free space of its file system (checked before drawing) and is written\n"
    "completely or not at all. --quiet prints nothing but errors.\n";

int cmd_draw(int argc, char **argv)
{
    const char *mixture_path = NULL, *out_path = NULL;
    size_t n = 0, batch = 262144, seed = 0;
    cli_time ct;
    cli_time_init(&ct);
    const cli_option table[] = {{"--mixture", CLI_TEXT, &mixture_path, 0}, {"--out", CLI_TEXT, &out_path, 0},
                                {"--n", CLI_COUNT, &n, (size_t)DRAW_N_MAX}, {"--batch", CLI_COUNT, &batch, DRAW_BATCH_MAX},
                                {"--seed", CLI_COUNT, &seed, SIZE_MAX}, {NULL, CLI_FLAG, NULL, 0}};
    CLI_PARSE_OR_RETURN(cli_parse("draw", draw_help, cli_time_help, table, argc, argv, cli_time_extra, &ct, NULL));
    if (!mixture_path || !out_path) return cli_bad_input("draw: --mixture, a time, --n and --out are required");
    if (!n) return cli_bad_input("option --n: give at least 1 particle");
    if (!batch) return cli_bad_input("option --batch: must be >= 1");
    sf_time time;
    if (!cli_time_resolve(&ct, &time)) return SF_EXIT_BAD_INPUT;
    int status = cli_outputs_add_input("--mixture", mixture_path);
    if (status != SF_EXIT_OK) return status;
    sf_mixture *mix = NULL;
    sf_npy_writer *out = NULL;
    double *x = NULL;
    sf_status st = sf_mixture_read_json(&mix, mixture_path);
    if (st != SF_OK) return cli_library_error(st);
    int d = sf_mixture_dim(mix);
    size_t nb_max = batch < n ? batch : n, shape[2] = {n, (size_t)d}, first, mine; /* this rank's draws */
    cli_shard_range(n, &first, &mine);
    uint64_t bytes = cli_npy_bytes("--out", 2, shape);
    if ((st = sf_mixture_check_time(mix, &time)) != SF_OK) {
        sfi_error_prefix(mixture_path);
        status = cli_library_error(st);
    } else if (!bytes) {
        status = SF_EXIT_BAD_INPUT;
    } else if ((status = cli_outputs_add("--out", out_path, bytes)) == SF_EXIT_OK && (status = cli_outputs_prepare()) == SF_EXIT_OK) {
        if (nb_max > SIZE_MAX / sizeof(double) / (size_t)d || !(x = malloc(nb_max * (size_t)d * sizeof(double))))
            status = cli_failure("out of memory for a batch of %zu particles (use a smaller --batch)", nb_max);
        else if ((st = cli_open_rank_rows(&out, out_path, 2, shape)) != SF_OK)
            status = cli_write_error(st);
    }
    cli_progress progress;
    cli_progress_start(&progress, "draw", (double)mine);
    for (size_t b0 = 0; status == SF_EXIT_OK && b0 < mine; b0 += nb_max) {
        size_t nb = mine - b0 < nb_max ? mine - b0 : nb_max;
        if ((st = sf_sample_marginal(mix, &time, seed, first + b0, x, nb)) != SF_OK) status = cli_library_error(st);
        else if ((st = sf_npy_writer_append(out, x, nb * (size_t)d)) != SF_OK) status = cli_write_error(st);
        cli_progress_update(&progress, (double)(b0 + nb));
    }
    if (status == SF_EXIT_OK) {
        st = sf_npy_writer_close(out, 1);
        out = NULL;
        status = st == SF_OK ? cli_outputs_commit() : cli_write_error(st);
    }
    if (status == SF_EXIT_OK) {
        printf("scorefield draw: %zu exact draws of p_t, d = %d, K = %d components, seed %zu\n", n, d, sf_mixture_count(mix), seed);
        cli_shard_print_ranks(n, "draws");
        printf("  time       alpha = %.6g, sigma = %.6g, heat time tau = %.6g\n", time.alpha, time.sigma, time.tau);
        printf("  wrote      %s (%zu x %d)\n", out_path, n, d);
    }
    sf_npy_writer_close(out, 0);
    free(x);
    sf_mixture_destroy(mix);
    return status;
}
