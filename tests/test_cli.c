/* The real `scorefield` binary. Suite cli: help, info, check without a device, and a score run
 * whose files equal the library's results. Suite bad_input: bad input to `scorefield score`: every class of bad mixture file, particles file,
 * time and option must be refused with exit status 2 and a one-line "scorefield: ..." message on
 * stderr naming the offending file (or, where there is none, the option or value), and must leave
 * no output file and no temporary file (".tmp.") behind (DESIGN.md, "Interfaces that outside checks
 * rely on"). Each test runs the CLI by fork + execv in a fresh directory under /tmp (cli_harness.h). */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* mkdtemp */
#endif
#include "cli_harness.h"

#include <criterion/criterion.h>
#include <scorefield.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(bad_input, .init = cli_make_tmpdir, .fini = cli_remove_tmpdir);
TestSuite(cli, .init = cli_make_tmpdir, .fini = cli_remove_tmpdir);

/* ---------------------------------------------------------------- the harness works */

Test(bad_input, positive_control_valid_run_writes_outputs)
{
    write_valid_particles();
    cli_result r = run_cli((const char *const[]){"score", "--mixture", SF_EXAMPLES_DIR "/three_kinds.json", "--in",
                                                 x_path, "--out", out_path, "--logp", logp_path, "--backend", "cpu",
                                                 "--quiet", "--schedule", "ve", "--t", "0.3", NULL});
    cr_expect_eq(r.status, 0, "a valid run exited %d; stderr: \"%s\"", r.status, r.err);
    cr_expect_eq(r.err_len, 0, "a valid run wrote to stderr: \"%s\"", r.err);
    cr_expect(file_exists(out_path), "the --out file %s was not created", out_path);
    cr_expect(file_exists(logp_path), "the --logp file %s was not created", logp_path);
    char names[1024];
    cr_expect_eq(leftover_temporaries(names, sizeof names), 0, "temporary files left in %s:%s", tmpdir, names);
    /* The score file is a float64 .npy of shape (3, 2). */
    FILE *f = fopen(out_path, "rb");
    cr_assert_not_null(f);
    char head[128] = {0};
    size_t n = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    cr_expect(n > 10 && memcmp(head, "\x93NUMPY", 6) == 0, "the --out file is not a .npy file");
    cr_expect(strstr(head + 10, "'<f8'") && strstr(head + 10, "(3, 2)"), "unexpected header: %s", head + 10);
}

/* ---------------------------------------------------------------- mixture files */

Test(bad_input, malformed_json)
{
    write_text(mix_path, "{\"dim\": 2, \"components\": [{\"weight\": 0.5,, \"mean\": [1, 0], \"var\": 0.1}]}\n");
    write_valid_particles();
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, NULL);
}

Test(bad_input, truncated_json)
{
    size_t half = strlen(valid_mixture) / 2;
    write_file(mix_path, valid_mixture, half);
    write_valid_particles();
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, NULL);
}

Test(bad_input, negative_weight)
{
    write_inputs_with_component("{\"weight\": -0.3, \"mean\": [-1.0, 0.0], \"var\": 0.04}");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "weight");
}

Test(bad_input, zero_weight)
{
    write_inputs_with_component("{\"weight\": 0, \"mean\": [-1.0, 0.0], \"var\": 0.04}");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "weight");
}

Test(bad_input, negative_variance)
{
    write_inputs_with_component("{\"weight\": 0.3, \"mean\": [-1.0, 0.0], \"var\": -0.04}");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "var");
}

Test(bad_input, negative_diagonal_variance)
{
    write_inputs_with_component("{\"weight\": 0.3, \"mean\": [-1.0, 0.0], \"var\": [0.04, -0.09]}");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "var");
}

Test(bad_input, non_numeric_variance)
{
    write_inputs_with_component("{\"weight\": 0.3, \"mean\": [-1.0, 0.0], \"var\": \"abc\"}");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "var");
}

Test(bad_input, non_orthonormal_basis)
{
    write_inputs_with_component(
        "{\"weight\": 0.2, \"mean\": [0.0, 2.0], \"var\": 0.0, \"basis\": [[0.6, 0.6]], \"eig\": [0.5]}");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "orthonormal");
}

Test(bad_input, basis_without_eig)
{
    write_inputs_with_component("{\"weight\": 0.2, \"mean\": [0.0, 2.0], \"var\": 0.0, \"basis\": [[0.6, 0.8]]}");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "eig");
}

Test(bad_input, eig_not_positive)
{
    write_inputs_with_component(
        "{\"weight\": 0.2, \"mean\": [0.0, 2.0], \"var\": 0.0, \"basis\": [[0.6, 0.8]], \"eig\": [0.0]}");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "eig");
}

Test(bad_input, mean_of_wrong_length)
{
    write_inputs_with_component("{\"weight\": 0.3, \"mean\": [-1.0, 0.0, 4.0], \"var\": 0.04}");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "mean");
}

Test(bad_input, unknown_key_in_component)
{
    write_inputs_with_component("{\"weight\": 0.3, \"mean\": [-1.0, 0.0], \"varr\": 0.04}");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "varr");
}

Test(bad_input, missing_mixture_file)
{
    write_valid_particles(); /* mix_path is never written */
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, NULL);
}

Test(bad_input, compact_form_naming_missing_npy)
{
    double means[4] = {1, 0, -1, 0};
    char m[PATH_LEN];
    tmp_path(m, "means.npy");
    write_npy(m, "<f8", "(2, 2)", means, sizeof means);
    write_text(mix_path, "{\"dim\": 2, \"weights\": \"no_such_weights.npy\", \"means\": \"means.npy\", \"var\": 0.1}");
    write_valid_particles();
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "no_such_weights.npy");
}

Test(bad_input, compact_form_means_of_wrong_shape)
{
    double weights[2] = {0.4, 0.6}, means[6] = {1, 0, 0, -1, 0, 0};
    char w[PATH_LEN], m[PATH_LEN];
    tmp_path(w, "weights.npy");
    tmp_path(m, "means.npy");
    write_npy(w, "<f8", "(2,)", weights, sizeof weights);
    write_npy(m, "<f8", "(2, 3)", means, sizeof means); /* dim is 2 */
    write_text(mix_path, "{\"dim\": 2, \"weights\": \"weights.npy\", \"means\": \"means.npy\", \"var\": 0.1}");
    write_valid_particles();
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, mix_path, "means");
}

/* ---------------------------------------------------------------- particles files */

Test(bad_input, particles_of_wrong_width)
{
    write_text(mix_path, valid_mixture);
    double x[6] = {0, 1, 2, 3, 4, 5};
    write_npy(x_path, "<f8", "(2, 3)", x, sizeof x); /* the mixture has dim 2 */
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, x_path, NULL);
}

Test(bad_input, particles_containing_nan)
{
    write_text(mix_path, valid_mixture);
    double x[6] = {0.1, -0.2, 1.0, NAN, -0.7, 1.9};
    write_npy(x_path, "<f8", "(3, 2)", x, sizeof x);
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, x_path, NULL);
}

Test(bad_input, particles_containing_inf)
{
    write_text(mix_path, valid_mixture);
    double x[6] = {0.1, -0.2, 1.0, 0.5, -INFINITY, 1.9};
    write_npy(x_path, "<f8", "(3, 2)", x, sizeof x);
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, x_path, NULL);
}

Test(bad_input, particles_of_wrong_dtype)
{
    write_text(mix_path, valid_mixture);
    int64_t x[6] = {0, 1, 2, 3, 4, 5};
    write_npy(x_path, "<i8", "(3, 2)", x, sizeof x);
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, x_path, "<i8");
}

Test(bad_input, particles_of_wrong_rank)
{
    write_text(mix_path, valid_mixture);
    double x[12] = {0};
    write_npy(x_path, "<f8", "(3, 2, 2)", x, sizeof x);
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, x_path, NULL);
}

Test(bad_input, particles_with_bad_magic)
{
    write_text(mix_path, valid_mixture);
    unsigned char buf[256];
    size_t h = write_npy_header(buf, sizeof buf, "<f8", "(3, 2)");
    memcpy(buf + h, particles_3x2, sizeof particles_3x2);
    buf[1] = 'X'; /* "\x93XUMPY" */
    write_file(x_path, buf, h + sizeof particles_3x2);
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, x_path, NULL);
}

Test(bad_input, particles_with_truncated_data)
{
    write_text(mix_path, valid_mixture);
    write_npy(x_path, "<f8", "(3, 2)", particles_3x2, sizeof particles_3x2 - 12); /* 36 of 48 bytes */
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, x_path, NULL);
}

/* ---------------------------------------------------------------- time */

Test(bad_input, ve_time_above_one)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "1.5");
    expect_refused(&r, "1.5", NULL);
}

Test(bad_input, vp_cosine_time_one)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = RUN_SCORE("--schedule", "vp-cosine", "--t", "1");
    expect_refused(&r, "t = 1", "vp-cosine");
}

Test(bad_input, direct_alpha_zero)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = RUN_SCORE("--alpha", "0", "--sigma", "1");
    expect_refused(&r, "alpha", NULL);
}

Test(bad_input, direct_sigma_negative)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = RUN_SCORE("--alpha", "1", "--sigma", "-1");
    expect_refused(&r, "sigma", "-1");
}

/* vp-linear at t = 0 has sigma = 0, where a component with "var": 0 and a basis has a singular
 * covariance: refused, and the message names the mixture file whose component it is. */
Test(bad_input, singular_subspace_component_at_time_zero)
{
    write_text(mix_path, valid_mixture); /* component 2: var 0 with a rank-1 basis */
    write_valid_particles();
    cli_result r = RUN_SCORE("--schedule", "vp-linear", "--t", "0");
    expect_refused(&r, mix_path, NULL);
}

/* ---------------------------------------------------------------- options and commands */

Test(bad_input, unknown_option)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3", "--frobnicate");
    expect_refused(&r, "--frobnicate", NULL);
}

Test(bad_input, unknown_command)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = run_cli((const char *const[]){"frobnicate", "--mixture", mix_path, "--in", x_path, "--out",
                                                 out_path, "--schedule", "ve", "--t", "0.3", NULL});
    expect_refused(&r, "frobnicate", NULL);
}

Test(bad_input, unknown_schedule)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = RUN_SCORE("--schedule", "ve-linear", "--t", "0.3");
    expect_refused(&r, "ve-linear", NULL);
}

Test(bad_input, missing_in)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = run_cli((const char *const[]){"score", "--mixture", mix_path, "--out", out_path, "--logp",
                                                 logp_path, "--schedule", "ve", "--t", "0.3", NULL});
    expect_refused(&r, "--in", NULL);
}

Test(bad_input, missing_out)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    cli_result r = run_cli((const char *const[]){"score", "--mixture", mix_path, "--in", x_path, "--logp", logp_path,
                                                 "--schedule", "ve", "--t", "0.3", NULL});
    expect_refused(&r, "--out", NULL);
}

Test(bad_input, missing_mixture_option)
{
    write_valid_particles();
    cli_result r = run_cli((const char *const[]){"score", "--in", x_path, "--out", out_path, "--logp", logp_path,
                                                 "--schedule", "ve", "--t", "0.3", NULL});
    expect_refused(&r, "--mixture", NULL);
}

/* ---------------------------------------------------------------- failure while writing */

/* --out is written first; then --logp cannot be written (its directory does not exist): exit 2,
 * and the --out file already written is removed again. */
Test(bad_input, second_output_unwritable_removes_first)
{
    write_text(mix_path, valid_mixture);
    write_valid_particles();
    tmp_path(logp_path, "no_such_directory/logp.npy");
    cli_result r = RUN_SCORE("--schedule", "ve", "--t", "0.3");
    expect_refused(&r, logp_path, NULL);
}

/* ---------------------------------------------------------------- suite cli: what works */

Test(cli, help_for_every_command)
{
    static const char *const commands[] = {"score", "info", "check"};
    for (int c = 0; c < 3; c++) {
        cli_result r = run_cli((const char *const[]){commands[c], "--help", NULL});
        cr_expect_eq(r.status, 0, "%s --help exited %d", commands[c], r.status);
        cr_expect(strstr(r.out, "usage: scorefield") != NULL, "%s --help printed: %s", commands[c], r.out);
    }
    cli_result r = run_cli((const char *const[]){"--help", NULL});
    cr_expect_eq(r.status, 0);
    cr_expect(strstr(r.out, "score") && strstr(r.out, "check") && strstr(r.out, "info"), "%s", r.out);
}

Test(cli, info_reports_cuda_state)
{
    cli_result r = run_cli((const char *const[]){"info", NULL});
    cr_expect_eq(r.status, 0);
    cr_expect(strstr(r.out, "CUDA backend") && (strstr(r.out, "device 0") || strstr(r.out, "CUDA devices none:")),
              "info printed: %s", r.out);
}

Test(cli, check_without_device_says_so)
{
    const char *why;
    if (sf_cuda_device_count(&why) > 0) cr_skip_test("a CUDA device is present: gpu tests cover check");
    cli_result r = run_cli((const char *const[]){"check", "--n", "10", NULL});
    cr_expect_eq(r.status, 3, "check without a device exited %d", r.status);
    cr_expect(strstr(r.err, "no CUDA device") != NULL, "the message goes to stderr: \"%s\"", r.err);
    cr_expect_eq(r.out[0], '\0', "nothing on stdout: \"%s\"", r.out);
}

/* The files `scorefield score` writes hold what the library computes for the same input. */
Test(cli, score_files_equal_library_results)
{
    write_valid_particles();
    char div_path[PATH_LEN], resp_path[PATH_LEN], den_path[PATH_LEN];
    tmp_path(div_path, "div.npy"), tmp_path(resp_path, "resp.npy"), tmp_path(den_path, "denoise.npy");
    cli_result r = run_cli((const char *const[]){"score", "--mixture", SF_EXAMPLES_DIR "/three_kinds.json", "--in",
                                                 x_path, "--out", out_path, "--logp", logp_path, "--div", div_path,
                                                 "--resp", resp_path, "--denoise", den_path, "--backend", "cpu",
                                                 "--schedule", "vp-cosine", "--t", "0.45", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "3 particles, d = 2, K = 3") != NULL, "summary: %s", r.out);
    sf_mixture *m;
    cr_assert_eq(sf_mixture_read_json(&m, SF_EXAMPLES_DIR "/three_kinds.json"), SF_OK);
    sf_schedule s = sf_schedule_default(SF_SCHEDULE_VP_COSINE);
    sf_time t;
    sf_schedule_at(&s, 0.45, &t);
    double score[6], logp[3], div[3], resp[9], den[6];
    sf_context *ctx;
    sf_context_create(&ctx, SF_BACKEND_CPU, SF_PRECISION_F64, 0);
    sf_outputs o = {.score = score, .logp = logp, .resp = resp, .div = div, .denoise = den};
    cr_assert_eq(sf_evaluate(ctx, m, &t, particles_3x2, 3, &o), SF_OK);
    const char *paths[5] = {out_path, logp_path, resp_path, div_path, den_path};
    const double *want[5] = {score, logp, resp, div, den};
    size_t count[5] = {6, 3, 9, 3, 6};
    int ndim[5] = {2, 1, 2, 1, 2};
    for (int f = 0; f < 5; f++) {
        sf_array a;
        cr_assert_eq(sf_npy_read(paths[f], &a), SF_OK, "%s", sf_last_error());
        cr_expect_eq(a.ndim, ndim[f], "%s: ndim %d", paths[f], a.ndim);
        cr_assert_eq(sf_array_size(&a), count[f], "%s: %zu values", paths[f], sf_array_size(&a));
        for (size_t i = 0; i < count[f]; i++) cr_expect_eq(a.data[i], want[f][i], "%s[%zu]", paths[f], i);
        sf_array_free(&a);
    }
    sf_context_destroy(ctx);
    sf_mixture_destroy(m);
}

/* burgers-residual writes the residual and scale; for an exact score |R| / scale is at rounding level. */
Test(cli, burgers_residual_is_at_rounding_level)
{
    write_valid_particles();
    char scale_path[PATH_LEN];
    tmp_path(scale_path, "scale.npy");
    static const char *const forms[2] = {"heat", "vp"};
    for (int f = 0; f < 2; f++) {
        cli_result r = run_cli((const char *const[]){"burgers-residual", "--mixture", SF_EXAMPLES_DIR "/three_kinds.json",
                                                     "--in", x_path, "--out", out_path, "--scale", scale_path, "--form",
                                                     forms[f], "--schedule", "vp-linear", "--t", "0.2", NULL});
        cr_assert_eq(r.status, 0, "%s", r.err);
        cr_expect(strstr(r.out, "|R| / scale") != NULL, "%s", r.out);
        sf_array R, S;
        cr_assert_eq(sf_npy_read(out_path, &R), SF_OK);
        cr_assert_eq(sf_npy_read(scale_path, &S), SF_OK);
        cr_expect(R.ndim == 2 && R.shape[0] == 3 && R.shape[1] == 2 && S.ndim == 1 && S.shape[0] == 3);
        for (int i = 0; i < 3; i++) {
            double norm = hypot(R.data[2 * i], R.data[2 * i + 1]);
            cr_expect(S.data[i] > 0 && norm <= 1e-12 * S.data[i], "%s form particle %d: |R| = %g, scale %g", forms[f], i,
                      norm, S.data[i]);
        }
        sf_array_free(&R), sf_array_free(&S);
    }
}

/* The derivative outputs of `score` as files: shapes, and the Hessian file equals the library's. */
Test(cli, score_derivative_outputs)
{
    write_valid_particles();
    char hess_path[PATH_LEN], hvp_path[PATH_LEN];
    tmp_path(hess_path, "hessian.npy"), tmp_path(hvp_path, "hvp.npy");
    cli_result r = run_cli((const char *const[]){"score", "--mixture", SF_EXAMPLES_DIR "/three_kinds.json", "--in", x_path,
                                                 "--out", out_path, "--hessian", hess_path, "--hvp", hvp_path,
                                                 "--hvp-dir", x_path, "--schedule", "ve", "--t", "0.35", "--quiet", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    sf_array H, HV;
    cr_assert_eq(sf_npy_read(hess_path, &H), SF_OK);
    cr_assert_eq(sf_npy_read(hvp_path, &HV), SF_OK);
    cr_assert(H.ndim == 3 && H.shape[0] == 3 && H.shape[1] == 2 && H.shape[2] == 2, "Hessian shape");
    for (int i = 0; i < 3; i++) /* H v with v = x, from the Hessian file */
        for (int a = 0; a < 2; a++) {
            double want = H.data[i * 4 + a * 2] * particles_3x2[2 * i] + H.data[i * 4 + a * 2 + 1] * particles_3x2[2 * i + 1];
            cr_expect(fabs(HV.data[2 * i + a] - want) <= 1e-12 * (1 + fabs(want)), "particle %d (H x)_%d", i, a);
        }
    sf_array_free(&H), sf_array_free(&HV);
}

Test(bad_input, time_derivative_without_schedule)
{
    write_inputs_with_component("{\"weight\": 0.5, \"mean\": [-1.0, 0.0], \"var\": 0.04}");
    char dt_path[PATH_LEN];
    tmp_path(dt_path, "dt.npy");
    cli_result r = RUN_SCORE("--dt", dt_path, "--alpha", "0.9", "--sigma", "0.2");
    expect_refused(&r, "--dt", NULL);
    cr_expect(!file_exists(dt_path));
}

Test(bad_input, hvp_directions_of_wrong_shape)
{
    write_inputs_with_component("{\"weight\": 0.5, \"mean\": [-1.0, 0.0], \"var\": 0.04}");
    char dir_path[PATH_LEN], hvp_path[PATH_LEN];
    tmp_path(dir_path, "dirs.npy"), tmp_path(hvp_path, "hvp.npy");
    write_npy(dir_path, "<f8", "(2, 2)", particles_3x2, 4 * sizeof(double));
    cli_result r = RUN_SCORE("--hvp", hvp_path, "--hvp-dir", dir_path, "--schedule", "ve", "--t", "0.3");
    expect_refused(&r, dir_path, "shape");
    cr_expect(!file_exists(hvp_path));
    r = RUN_SCORE("--hvp", hvp_path, "--schedule", "ve", "--t", "0.3");
    expect_refused(&r, "--hvp-dir", NULL);
}

/* burgers: both routes from tau0 to tau1 land on the exact periodised score they also write. */
Test(cli, burgers_routes_reach_the_exact_score)
{
    char exact_path[PATH_LEN];
    tmp_path(exact_path, "exact.npy");
    static const char *const routes[2] = {"exact", "direct"};
    static const double tol[2] = {1e-10, 1e-3}; /* route B at N = 64 is limited by space (tests/test_grid.c) */
    for (int r = 0; r < 2; r++) {
        cli_result res = run_cli((const char *const[]){"burgers", "--mixture", SF_EXAMPLES_DIR "/symmetric_binary.json",
                                                       "--grid", "64", "--box", "8", "--tau0", "0.05", "--tau1", "0.3",
                                                       "--route", routes[r], "--steps", "40", "--out", out_path,
                                                       "--exact-out", exact_path, NULL});
        cr_assert_eq(res.status, 0, "%s", res.err);
        cr_expect(strstr(res.out, "error") != NULL, "%s", res.out);
        sf_array u, e;
        cr_assert_eq(sf_npy_read(out_path, &u), SF_OK);
        cr_assert_eq(sf_npy_read(exact_path, &e), SF_OK);
        cr_expect(u.ndim == 3 && u.shape[0] == 64 && u.shape[1] == 64 && u.shape[2] == 2, "shape (64, 64, 2)");
        double err = 0, size = 0;
        for (size_t i = 0; i < sf_array_size(&e); i++) err = fmax(err, fabs(u.data[i] - e.data[i])), size = fmax(size, fabs(e.data[i]));
        cr_expect(err <= tol[r] * size, "route %s: error %.3g of max |u| %.3g", routes[r], err, size);
        sf_array_free(&u), sf_array_free(&e);
    }
}

Test(bad_input, burgers_options)
{
    const char *mix = SF_EXAMPLES_DIR "/symmetric_binary.json";
    cli_result r = run_cli((const char *const[]){"burgers", "--mixture", mix, "--grid", "63", "--box", "8", "--tau0",
                                                 "0.1", "--tau1", "0.2", "--out", out_path, NULL});
    expect_refused(&r, "63", "even");
    r = run_cli((const char *const[]){"burgers", "--mixture", mix, "--grid", "64", "--box", "8", "--tau0", "0.1",
                                      "--tau1", "0.2", "--route", "sideways", "--out", out_path, NULL});
    expect_refused(&r, "--route", "sideways");
    r = run_cli((const char *const[]){"burgers", "--mixture", mix, "--grid", "64", "--box", "8", "--tau0", "0.3",
                                      "--tau1", "0.2", "--out", out_path, NULL});
    expect_refused(&r, "--tau0", NULL);
    r = run_cli((const char *const[]){"burgers", "--mixture", mix, "--dim", "3", "--grid", "64", "--box", "8", "--tau0",
                                      "0.1", "--tau1", "0.2", "--out", out_path, NULL});
    expect_refused(&r, mix, "dimension");
}

/* --curl: the score is a gradient, so the antisymmetric part of its Jacobian is at difference level. */
Test(cli, burgers_residual_curl)
{
    write_valid_particles();
    cli_result r = run_cli((const char *const[]){"burgers-residual", "--mixture", SF_EXAMPLES_DIR "/three_kinds.json",
                                                 "--in", x_path, "--out", out_path, "--curl", "3", "--schedule", "ve",
                                                 "--t", "0.4", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *at = strstr(r.out, "Jacobian ");
    cr_assert_not_null(at, "%s", r.out);
    double worst = strtod(at + 9, NULL);
    cr_expect(worst < 1e-6, "curl of an exact score: %g", worst);
}

/* sample: shapes, the trajectory's last frame is the output, the same seed gives the same file. */
Test(cli, sample_writes_particles_and_trajectories)
{
    char traj_path[PATH_LEN], again_path[PATH_LEN];
    tmp_path(traj_path, "traj.npy"), tmp_path(again_path, "again.npy");
    const char *const common[] = {"sample", "--mixture", SF_EXAMPLES_DIR "/three_kinds.json", "--schedule", "vp-linear",
                                  "--sampler", "em", "--steps", "20", "--n", "50", "--seed", "4", "--batch", "16", "--t0",
                                  "0.01", "--quiet"};
    const char *args[32];
    int a = 0;
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++) args[a++] = common[i];
    args[a++] = "--out", args[a++] = out_path, args[a++] = "--trajectory", args[a++] = traj_path;
    args[a++] = "--every", args[a++] = "7", args[a] = NULL;
    cli_result r = run_cli(args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    args[a - 6 + 1] = again_path; /* same run, other output, no trajectory */
    args[a - 4] = NULL;
    r = run_cli(args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    sf_array x, t, y;
    cr_assert_eq(sf_npy_read(out_path, &x), SF_OK);
    cr_assert_eq(sf_npy_read(traj_path, &t), SF_OK);
    cr_assert_eq(sf_npy_read(again_path, &y), SF_OK);
    cr_expect(x.ndim == 2 && x.shape[0] == 50 && x.shape[1] == 2, "particles (50, 2)");
    /* frames at steps 0, 7, 14 and the end (20): 4 */
    cr_assert(t.ndim == 3 && t.shape[0] == 50 && t.shape[1] == 4 && t.shape[2] == 2, "trajectory (50, 4, 2)");
    for (size_t p = 0; p < 50; p++)
        for (int j = 0; j < 2; j++) {
            cr_expect_eq(t.data[(p * 4 + 3) * 2 + j], x.data[p * 2 + j], "last frame = output, particle %zu", p);
            cr_expect_eq(y.data[p * 2 + j], x.data[p * 2 + j], "same seed, same particles (batch split 16)");
        }
    sf_array_free(&x), sf_array_free(&t), sf_array_free(&y);
}

Test(cli, loglik_matches_exact_log_p)
{
    write_valid_particles();
    cli_result r = run_cli((const char *const[]){"loglik", "--mixture", SF_EXAMPLES_DIR "/three_kinds.json", "--schedule",
                                                 "vp-cosine", "--t0", "0.1", "--in", x_path, "--out", out_path, "--rtol",
                                                 "1e-10", "--atol", "1e-10", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *at = strstr(r.out, "exact log p_t0| = ");
    cr_assert_not_null(at, "%s", r.out);
    cr_expect(strtod(at + 18, NULL) < 1e-6, "%s", r.out);
}

Test(bad_input, sample_options)
{
    const char *mix = SF_EXAMPLES_DIR "/three_kinds.json";
    cli_result r = run_cli((const char *const[]){"sample", "--mixture", mix, "--schedule", "ve", "--sampler", "leapfrog",
                                                 "--n", "5", "--out", out_path, NULL});
    expect_refused(&r, "leapfrog", NULL);
    r = run_cli((const char *const[]){"sample", "--mixture", mix, "--schedule", "ve", "--sampler", "ddpm", "--n", "5",
                                      "--class", "0,7", "--out", out_path, NULL});
    expect_refused(&r, "7", "component");
    r = run_cli((const char *const[]){"sample", "--mixture", mix, "--schedule", "ve", "--sampler", "heun", "--n", "5",
                                      "--t1", "0.2", "--t0", "0.5", "--out", out_path, NULL});
    expect_refused(&r, "t1", NULL);
    r = run_cli((const char *const[]){"sample", "--mixture", mix, "--schedule", "vp-linear", "--sampler", "heun", "--n",
                                      "5", "--t0", "0", "--out", out_path, NULL});
    expect_refused(&r, "sigma", NULL);
}

Test(bad_input, wkb_needs_gaussian_data)
{
    write_valid_particles();
    char wkb_path[PATH_LEN];
    tmp_path(wkb_path, "wkb.npy");
    const char *mix = SF_EXAMPLES_DIR "/three_kinds.json";
    cli_result r = run_cli((const char *const[]){"loglik", "--mixture", mix, "--schedule", "ve", "--t0", "0.1", "--in",
                                                 x_path, "--out", out_path, "--wkb", wkb_path, "--model-scale", "0.9", NULL});
    expect_refused(&r, mix, "Gaussian");
    cr_expect(!file_exists(wkb_path));
}

/* ---------------------------------------------------------------- the analysis commands */

/* Removes the files of a folder the CLI wrote into, then the folder (the fixture removes tmpdir). */
static void remove_folder(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char p[PATH_LEN * 2];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* The number after `key` in text (NaN if absent). */
static double value_after(const char *text, const char *key)
{
    const char *at = strstr(text, key);
    return at ? strtod(at + strlen(key), NULL) : NAN;
}

/* Significant digits of the number printed after `key`. */
static int digits_after(const char *text, const char *key)
{
    const char *at = strstr(text, key);
    if (!at) return 0;
    int count = 0, leading = 1;
    for (at += strlen(key); *at && *at != 'e' && *at != '\n' && *at != ' '; at++) {
        if (*at < '0' || *at > '9') continue;
        if (leading && *at == '0') continue;
        leading = 0, count++;
    }
    return count;
}

static void expect_svg(const char *dir, const char *name)
{
    char path[2 * PATH_LEN], head[8] = {0};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp, "%s missing", name);
    cr_expect(fread(head, 1, 4, fp) == 4 && strncmp(head, "<svg", 4) == 0, "%s is not an SVG", name);
    fclose(fp);
}

/* Reads a whole (small) file into a static buffer. */
static const char *read_text(const char *path)
{
    static char buf[1 << 20];
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp, "cannot open %s", path);
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* demo: the figures and their data; the profile at tau_c of the default pair (a = 1, s^2 = 0.1):
 * u_n(r) = -r/v + (a/v) tanh(a r/v), v = 1; the leaning fraction printed for the frame at t_c is
 * the one in trajectories.csv, and matches exact draws of p_t within binomial error. */
Test(cli, demo_figures_and_caption_agree_with_the_data)
{
    char dir[PATH_LEN], path[2 * PATH_LEN];
    tmp_path(dir, "figs");
    cli_result r = run_cli((const char *const[]){"demo", "--out-dir", dir, "--n", "200", "--steps", "100", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "tau_c = 0.9") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "sits at the common mean until t_c") == NULL, "the old caption contradicted the data");
    static const char *const svgs[3] = {"profiles.svg", "curvature.svg", "trajectories.svg"};
    for (int f = 0; f < 3; f++) expect_svg(dir, svgs[f]);
    snprintf(path, sizeof path, "%s/profiles.csv", dir);
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp);
    char line[512];
    cr_assert_not_null(fgets(line, sizeof line, fp));
    cr_expect(strstr(line, "tau = 1 tau_c") != NULL, "header %s", line);
    int rows = 0;
    double worst = 0;
    while (fgets(line, sizeof line, fp)) {
        double rr, p0, p1, pc, p3;
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf", &rr, &p0, &p1, &pc, &p3) != 5) continue;
        worst = fmax(worst, fabs(pc - (-rr + tanh(rr))));
        rows++;
    }
    fclose(fp);
    cr_expect(rows > 100, "profiles.csv has %d rows", rows);
    cr_expect(worst < 1e-6, "the profile at tau_c differs from -r + tanh(r) by %g", worst);
    /* the frame at t_c in the data */
    double t_frame = value_after(r.out, "(t = "), leaning = value_after(r.out, "from the interface): ");
    double exact = value_after(r.out, "of the\n                      particles, "), committed = value_after(r.out, "they end on: ");
    snprintf(path, sizeof path, "%s/trajectories.csv", dir);
    fp = fopen(path, "r");
    cr_assert_not_null(fp);
    cr_assert_not_null(fgets(line, sizeof line, fp));
    int n = 0, far = 0;
    while (fgets(line, sizeof line, fp)) {
        double p, t, proj;
        if (sscanf(line, "%lf,%lf,%lf", &p, &t, &proj) != 3) continue;
        if (fabs(t - t_frame) < 5e-5) n++, far += fabs(proj) > 0.5; /* a = 1 */
    }
    fclose(fp);
    cr_assert_eq(n, 200, "particles at the frame t = %g: %d", t_frame, n);
    cr_expect(fabs(leaning - (double)far / n) < 1e-3, "printed leaning %g, data %g", leaning, (double)far / n);
    cr_expect(fabs(leaning - exact) < 4 * sqrt(exact * (1 - exact) / n) + 0.01, "leaning %g against exact draws %g", leaning, exact);
    cr_expect(committed == 1.0, "a symmetric pair's probability flow never crosses the interface: %g", committed);
    /* the figure says what the data show: coloured by the side each particle ends on */
    const char *svg = read_text((snprintf(path, sizeof path, "%s/trajectories.svg", dir), path));
    cr_expect(strstr(svg, "coloured by the side") != NULL && strstr(svg, "chooses a side at speciation") == NULL, "title");
    remove_folder(dir);
}

/* speciation of a pair with a = 3, s^2 = 1: tau_c = 8, OU t_c = ln(9)/2 = 1.0986 lies outside
 * [0, 1] and is printed as such; Biroli's time is shown beside the OU midpoint time. */
Test(cli, speciation_prints_every_schedule_and_explains_biroli)
{
    write_text(mix_path, "{\"dim\": 1, \"components\": [{\"weight\": 1, \"mean\": [3.0], \"var\": 1.0},"
                         " {\"weight\": 1, \"mean\": [-3.0], \"var\": 1.0}]}");
    char dir[PATH_LEN];
    tmp_path(dir, "spec");
    cli_result r = run_cli((const char *const[]){"speciation", "--mixture", mix_path, "--out-dir", dir, "--n", "20", "--steps", "20", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    char want[64];
    snprintf(want, sizeof want, "ou %.6f (outside [0, 1])", 0.5 * log(9.0));
    cr_expect(strstr(r.out, want) != NULL, "want '%s' in\n%s", want, r.out);
    cr_expect(fabs(value_after(r.out, "t_s = ln(Lambda)/2 = ") - 0.5 * log(10.0)) < 1e-6, "t_s");
    cr_expect(fabs(value_after(r.out, "OU midpoint time ln(1 + tau_c)/2 = ") - 0.5 * log(9.0)) < 1e-6, "%s", r.out);
    cr_expect(strstr(r.out, "asymptotically") && strstr(r.out, "s^2 = 1/2"), "the agreement is explained");
    remove_folder(dir);
}

/* --amplification TAU1 TAU0: G_ODE and G_SDE to >= 10 significant digits, against the closed form
 * (a = 1, s^2 = 0, tau 1 -> 0.02: G = sqrt(0.02) e^24.5 = 6.18e9, where a finite perturbation
 * saturated at 2.5e6). */
Test(cli, speciation_amplification_interval)
{
    write_text(mix_path, "{\"dim\": 2, \"components\": [{\"weight\": 1, \"mean\": [1.0, 0.0], \"var\": 0.0},"
                         " {\"weight\": 1, \"mean\": [-1.0, 0.0], \"var\": 0.0}]}");
    char dir[PATH_LEN];
    tmp_path(dir, "amp");
    cli_result r = run_cli((const char *const[]){"speciation", "--mixture", mix_path, "--out-dir", dir, "--n", "20", "--steps", "20",
                                                 "--amplification", "1", "0.02", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    double G = sqrt(0.02) * exp(0.5 * (1 / 0.02 - 1)), ode = value_after(r.out, "G_ODE = "), sde = value_after(r.out, "G_SDE = ");
    cr_expect(digits_after(r.out, "G_ODE = ") >= 10 && digits_after(r.out, "G_SDE = ") >= 10, "%s", r.out);
    cr_expect(fabs(ode / G - 1) < 1e-9, "G_ODE = %.12g, closed form %.12g", ode, G);
    cr_expect(fabs(sde / (G * G) - 1) < 1e-9, "G_SDE = %.12g, closed form %.12g", sde, G * G);
    remove_folder(dir);
    r = run_cli((const char *const[]){"speciation", "--mixture", mix_path, "--out-dir", dir, "--amplification", "0.1", "1", NULL});
    cr_expect_eq(r.status, 2, "TAU1 < TAU0 is refused");
    cr_expect(strstr(r.err, "--amplification") != NULL, "%s", r.err);
    remove_folder(dir);
}

/* Unequal weights (0.3 at -1, 0.7 at +1, s^2 = 0.05): tau_c is the saddle-node time, and the layer
 * table and profiles.csv are at multiples of it: the profile at "tau = 1 tau_c" equals the score of
 * the pair, d/dy log(0.3 N(y; -1, v) + 0.7 N(y; 1, v)), v = s^2 + tau_c, through the interface
 * y* = v ln(0.3/0.7)/2 (computed here). */
Test(cli, speciation_unequal_weights_layers_at_tau_c)
{
    write_text(mix_path, "{\"dim\": 1, \"components\": [{\"weight\": 0.3, \"mean\": [-1.0], \"var\": 0.05},"
                         " {\"weight\": 0.7, \"mean\": [1.0], \"var\": 0.05}]}");
    char dir[PATH_LEN], path[2 * PATH_LEN], line[512];
    tmp_path(dir, "uneq");
    cli_result r = run_cli((const char *const[]){"speciation", "--mixture", mix_path, "--out-dir", dir, "--n", "20", "--steps", "20", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    double tau_c = value_after(r.out, "critical heat time  tau_c = "), want_tau;
    cr_assert_eq(sf_speciation_tau_asymmetric(0.3, 1.0, 0.05, &want_tau), SF_OK);
    cr_expect(fabs(tau_c - want_tau) < 1e-8, "tau_c %.10g, saddle-node %.10g", tau_c, want_tau);
    cr_expect(strstr(r.out, "tau/tau_c") != NULL, "the table is labelled by tau_c");
    snprintf(path, sizeof path, "%s/profiles.csv", dir);
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp);
    cr_assert_not_null(fgets(line, sizeof line, fp));
    cr_expect(strstr(line, "tau = 1 tau_c") != NULL, "%s", line);
    double v = 0.05 + want_tau, ystar = v * log(0.3 / 0.7) / 2, worst = 0;
    while (fgets(line, sizeof line, fp)) {
        double rr, p0, p1, pc, p3;
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf", &rr, &p0, &p1, &pc, &p3) != 5) continue;
        double y = ystar + rr, ga = 0.3 * exp(-(y + 1) * (y + 1) / (2 * v)), gb = 0.7 * exp(-(y - 1) * (y - 1) / (2 * v));
        double u = (ga * (-(y + 1) / v) + gb * (-(y - 1) / v)) / (ga + gb);
        worst = fmax(worst, fabs(pc - u) / fmax(1, fabs(u)));
    }
    fclose(fp);
    cr_expect(worst < 1e-6, "the profile at tau_c differs from the pair's score by %g", worst);
    remove_folder(dir);
}

/* bandwidth: the peaks printed are the library's (computed, with tolerances), compared with Monte
 * Carlo by z-scores; the entropy budget by a z-score; no unconditional "agree". */
Test(cli, bandwidth_peaks_and_budget)
{
    char dir[PATH_LEN], path[2 * PATH_LEN], line[256];
    tmp_path(dir, "bw");
    cli_result r = run_cli((const char *const[]){"bandwidth", "--out-dir", dir, "--points", "8", "--n", "4000", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    sf_pair_peak peak[2];
    for (int w = 0; w < 2; w++) cr_assert_eq(sf_pair_variance_peak((sf_pair_statistic)w, &peak[w]), SF_OK);
    const char *rate = strstr(r.out, "Var[rho] peak");
    cr_assert(rate != NULL, "%s", r.out);
    cr_expect(fabs(value_after(r.out, "kappa* = ") - peak[0].kappa) < 1e-9, "label-entropy peak as computed");
    cr_expect(fabs(value_after(rate, "kappa* = ") - peak[1].kappa) < 1e-9, "normalised-rate peak as computed");
    cr_expect(fabs(value_after(r.out, "max Var = ") - peak[0].var) < 1e-9, "peak value as computed");
    double z1 = value_after(r.out, "z = "), z2 = value_after(rate, "z = "), z3 = value_after(strstr(r.out, "entropy budget"), "z = ");
    cr_expect(fabs(z1) < 5 && fabs(z2) < 5 && fabs(z3) < 5, "z-scores %g %g %g\n%s", z1, z2, z3, r.out);
    cr_expect(strstr(r.out, "the two agree") == NULL, "no unconditional agreement");
    snprintf(path, sizeof path, "%s/bandwidth.csv", dir);
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp);
    int rows = 0;
    if (fgets(line, sizeof line, fp)) cr_expect(strncmp(line, "t,tau,b,b_se,h_mean,h_var,h_var_se,kappa,h_var_exact", 52) == 0, "header %s", line);
    while (fgets(line, sizeof line, fp)) rows++;
    fclose(fp);
    cr_expect_eq(rows, 8);
    expect_svg(dir, "bandwidth.svg");
    expect_svg(dir, "entropy.svg");
    remove_folder(dir);
}

/* No number a command prints may be a literal copied from a reference: the reference values of the
 * symmetric pair's peaks appear nowhere in the sources. */
Test(cli, no_reference_values_in_the_sources)
{
    static const char *const files[] = {"cli/cmd_bandwidth.c", "cli/cmd_speciation.c", "cli/cmd_blowup.c", "cli/cmd_doublewell.c",
                                        "cli/cmd_wkb.c", "analysis/information.c", "analysis/pair.c", "analysis/speciation.c",
                                        "analysis/doublewell.c", "analysis/amplification.c"};
    static const char *const refs[] = {"1.345477", "0.053628", "0.0536289", "3.758695", "0.142515", "0.74323"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char path[PATH_LEN];
        snprintf(path, sizeof path, "%s/%s", SF_SOURCE_DIR, files[f]);
        const char *text = read_text(path);
        for (size_t k = 0; k < sizeof refs / sizeof refs[0]; k++)
            cr_expect(strstr(text, refs[k]) == NULL, "%s holds the reference value %s", files[f], refs[k]);
    }
}

/* blowup on the default plane in R^6 (a single Gaussian on a subspace, eigenvalues 1 and 0.5):
 * tau E|u|^2 = tau tr Sigma^-1 = 4 + tau (1/(1 + tau) + 1/(0.5 + tau)) exactly; the Monte Carlo
 * values within 5 standard errors, and the limit 4. The ratio tau |u| / dist is measured at draws
 * of the component (not 1 by construction): above 1 by O(tau). */
Test(cli, blowup_rates_match_the_codimension)
{
    char dir[PATH_LEN], path[2 * PATH_LEN];
    tmp_path(dir, "blow");
    cli_result r = run_cli((const char *const[]){"blowup", "--out-dir", dir, "--n", "20000", "--points", "6", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *at = strstr(r.out, "p = ");
    cr_assert_not_null(at, "%s", r.out);
    cr_expect(fabs(strtod(at + 4, NULL) + 1) < 1e-3, "fitted exponent: %s", at);
    snprintf(path, sizeof path, "%s/blowup.csv", dir);
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp);
    char line[512];
    cr_assert_not_null(fgets(line, sizeof line, fp));
    int rows = 0;
    while (fgets(line, sizeof line, fp)) {
        double tau, tu2, se, ratio, ratio_se, dmax, u2, limit;
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &tau, &tu2, &se, &ratio, &ratio_se, &dmax, &u2, &limit) != 8) continue;
        double want = 4 + tau * (1 / (1 + tau) + 1 / (0.5 + tau));
        cr_expect(fabs(tu2 - want) < 5 * se, "tau = %g: tau E|u|^2 = %.5f +- %.2g, exact %.5f", tau, tu2, se, want);
        cr_expect(ratio >= 1 && ratio - 1 < tau, "tau = %g: tau |u| / dist = %.12f", tau, ratio);
        cr_expect_eq(limit, 4.0);
        cr_expect(dmax < 10, "the denoiser stays bounded (%g)", dmax);
        rows++;
    }
    fclose(fp);
    cr_expect_eq(rows, 6);
    expect_svg(dir, "blowup.svg");
    remove_folder(dir);
}

/* With a full-rank component beside the subspace one, the ratio at a fixed point off the subspace
 * fell to 0 (the full-rank component takes over); at points where the subspace component
 * dominates it tends to 1. */
Test(cli, blowup_ratio_with_a_full_rank_component)
{
    write_text(mix_path, "{\"dim\": 3, \"components\": ["
                         "{\"weight\": 0.5, \"mean\": [0, 0, 0], \"var\": 0, \"basis\": [[1, 0, 0]], \"eig\": [1]},"
                         "{\"weight\": 0.5, \"mean\": [0.5, 0.5, 0], \"var\": 0.3}]}");
    char dir[PATH_LEN], path[2 * PATH_LEN], line[512];
    tmp_path(dir, "blow2");
    cli_result r = run_cli((const char *const[]){"blowup", "--mixture", mix_path, "--out-dir", dir, "--n", "4000", "--points", "5",
                                                 "--tau0", "1e-6", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    snprintf(path, sizeof path, "%s/blowup.csv", dir);
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp);
    double tau = NAN, ratio = NAN, dummy;
    while (fgets(line, sizeof line, fp)) sscanf(line, "%lf,%lf,%lf,%lf,%lf", &tau, &dummy, &dummy, &ratio, &dummy);
    fclose(fp);
    cr_expect(tau == 1e-6 && fabs(ratio - 1) < 1e-3, "tau = %g: ratio %g", tau, ratio);
    remove_folder(dir);
}

/* wkb: for the exact score every h gives log q^0; for a perturbed score the CSV's exact curve and
 * WKB prediction agree at small h to O(h^4). */
Test(cli, wkb_curves)
{
    char dir[PATH_LEN], path[2 * PATH_LEN];
    tmp_path(dir, "wkb");
    cli_result r = run_cli((const char *const[]){"wkb", "--out-dir", dir, "--model-scale", "1,0.8", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    snprintf(path, sizeof path, "%s/wkb.csv", dir);
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp);
    char line[1024];
    cr_assert_not_null(fgets(line, sizeof line, fp));
    double first_exact = NAN;
    while (fgets(line, sizeof line, fp)) {
        double h, q1, w1, q2, w2;
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf", &h, &q1, &w1, &q2, &w2) != 5) continue;
        if (isnan(first_exact)) first_exact = q1;
        cr_expect(fabs(q1 - first_exact) < 1e-9 && fabs(w1 - first_exact) < 1e-9, "exact score: h = %g gives %g", h, q1);
        if (h > 0 && h <= 0.1) cr_expect(fabs(q2 - w2) < 50 * h * h * h * h, "C = 0.8, h = %g: %g vs WKB %g", h, q2, w2);
    }
    fclose(fp);
    unlink(path);
    snprintf(path, sizeof path, "%s/wkb.svg", dir);
    unlink(path);
    rmdir(dir);
}

/* The figures: the legend beside the plot box (never over the data), one distinct swatch (colour
 * and dash) per labelled curve — wkb.svg had three identical grey dashed ones — mark labels inside
 * the box, error bars on Monte Carlo curves, and decades on log axes. */
static double attribute(const char *tag, const char *name)
{
    char key[32];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *at = strstr(tag, key);
    return at ? strtod(at + strlen(key), NULL) : NAN;
}

Test(cli, figures_legends_marks_error_bars_log_axes)
{
    char dir[PATH_LEN], path[2 * PATH_LEN];
    tmp_path(dir, "figs2");
    cli_result r = run_cli((const char *const[]){"wkb", "--out-dir", dir, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    snprintf(path, sizeof path, "%s/wkb.svg", dir);
    const char *svg = read_text(path);
    const char *box = strstr(svg, "fill=\"none\" stroke=\"#444\"");
    cr_assert_not_null(box);
    while (box > svg && *box != '<') box--;
    double right = attribute(box, "x") + attribute(box, "width");
    char swatches[16][96];
    int count = 0;
    for (const char *at = strstr(svg, "stroke-width=\"2\""); at && count < 16; at = strstr(at + 1, "stroke-width=\"2\"")) {
        const char *tag = at;
        while (tag > svg && *tag != '<') tag--;
        cr_expect(attribute(tag, "x1") > right, "legend swatch at x = %g inside the box (right edge %g)", attribute(tag, "x1"), right);
        const char *stroke = strstr(tag, "stroke=\"");
        const char *end = strchr(at, '>');
        snprintf(swatches[count], sizeof swatches[count], "%.*s", (int)(end - stroke), stroke);
        for (int j = 0; j < count; j++) cr_expect(strcmp(swatches[j], swatches[count]) != 0, "identical legend swatches: %s", swatches[j]);
        count++;
    }
    cr_expect_eq(count, 6, "three models, an exact and a WKB curve each");
    remove_folder(dir);
    r = run_cli((const char *const[]){"bandwidth", "--out-dir", dir, "--points", "6", "--n", "500", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    snprintf(path, sizeof path, "%s/bandwidth.svg", dir);
    svg = read_text(path);
    cr_expect(strstr(svg, "stroke-opacity=\"0.6\"") != NULL, "error bars on the Monte Carlo bandwidth");
    int ticks = 0, decades = 0;
    for (const char *at = strstr(svg, "text-anchor=\"end\">"); at; at = strstr(at + 1, "text-anchor=\"end\">")) {
        double v = strtod(at + 18, NULL);
        ticks++, decades += v > 0 && fabs(log10(v) - round(log10(v))) < 1e-9;
    }
    cr_expect(ticks >= 2 && decades == ticks, "b(t) on a log axis: %d of %d y ticks are powers of ten", decades, ticks);
    remove_folder(dir);
    r = run_cli((const char *const[]){"speciation", "--out-dir", dir, "--n", "20", "--steps", "20", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    snprintf(path, sizeof path, "%s/curvature.svg", dir);
    svg = read_text(path);
    box = strstr(svg, "fill=\"none\" stroke=\"#444\"");
    while (box > svg && *box != '<') box--;
    double left = attribute(box, "x");
    right = left + attribute(box, "width");
    const char *mark = strstr(svg, "font-size=\"11\"");
    cr_assert_not_null(mark, "the tau_c mark has a label");
    while (mark > svg && *mark != '<') mark--;
    double x = attribute(mark, "x");
    int end = strstr(mark, "text-anchor=\"end\"") && strstr(mark, "text-anchor=\"end\"") < strchr(mark, '>');
    cr_expect(x > left && x < right, "mark label at %g outside [%g, %g]", x, left, right);
    cr_expect(end ? x - 6.6 * 5 > left : x + 6.6 * 5 < right, "the label's text stays inside the box");
    remove_folder(dir);
}

Test(cli, doublewell_reports_and_draws)
{
    char dir[PATH_LEN];
    tmp_path(dir, "dw");
    cli_result r = run_cli((const char *const[]){"doublewell", "--out-dir", dir, "--eps", "0.5", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *at = strstr(r.out, "(largest term) = ");
    cr_assert_not_null(at, "%s", r.out);
    cr_expect(strtod(at + 17, NULL) < 1e-9, "Burgers residual of the quadrature score: %s", at);
    sf_doublewell_summary w;
    cr_assert_eq(sf_doublewell_summarize(0.5, &w), SF_OK);
    cr_expect(fabs(value_after(r.out, "E x^2 = ") - w.ex2) < 1e-11 && fabs(value_after(r.out, "E|x| = ") - w.eabs) < 1e-11, "%s", r.out);
    cr_expect(fabs(value_after(r.out, "a_eff^2 - s_eff^2 = ") - w.surrogate_tau_c) < 1e-11, "surrogate");
    cr_expect(fabs(value_after(r.out, "2/phi'(0) = ") - w.width) < 1e-7, "width");
    cr_expect(fabs(value_after(r.out, "relative\n                      to tau_c ") - w.surrogate_tau_error) < 1e-3, "%s", r.out);
    r = run_cli((const char *const[]){"doublewell", "--out-dir", dir, "--dim", "2", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    at = strstr(r.out, "vector Burgers residual");
    cr_assert_not_null(at, "%s", r.out);
    cr_expect(strtod(at + 24, NULL) < 1e-9, "2-D residual: %s", at);
    static const char *const files[3] = {"profiles.csv", "profiles.svg", "field2d.csv"};
    for (int f = 0; f < 3; f++) {
        char path[2 * PATH_LEN];
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        struct stat sb;
        cr_expect(stat(path, &sb) == 0 && sb.st_size > 200, "%s", files[f]);
    }
    remove_folder(dir);
}

/* wkb on a point mass at sigma = 0 (vp-linear, t0 = 0) has no density: refused, not NaN */
Test(bad_input, wkb_singular_data)
{
    write_text(mix_path, "{\"dim\": 1, \"components\": [{\"weight\": 1, \"mean\": [0.0], \"var\": 0}]}");
    char dir[PATH_LEN];
    tmp_path(dir, "wkbdir");
    cli_result r = run_cli((const char *const[]){"wkb", "--mixture", mix_path, "--schedule", "vp-linear", "--out-dir", dir, NULL});
    expect_refused(&r, mix_path, "singular");
    rmdir(dir);
}

Test(cli, doublewell_ring)
{
    char dir[PATH_LEN], path[2 * PATH_LEN];
    tmp_path(dir, "ring");
    cli_result r = run_cli((const char *const[]){"doublewell", "--radial", "--out-dir", dir, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *at = strstr(r.out, "(largest term) = ");
    cr_assert_not_null(at, "%s", r.out);
    cr_expect(strtod(at + 17, NULL) < 1e-9, "ring Burgers residual: %s", at);
    static const char *const files[2] = {"ring_profiles.csv", "ring_profiles.svg"};
    for (int f = 0; f < 2; f++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        struct stat sb;
        cr_expect(stat(path, &sb) == 0 && sb.st_size > 200, "%s", files[f]);
        unlink(path);
    }
    rmdir(dir);
}

/* sampler-error: the table, the CSV and the figure hold the library's results for the same setup
 * (the CLI adds no numbers of its own); both files are written, nothing temporary is left. */
Test(cli, sampler_error_writes_the_library_results)
{
    char dir[PATH_LEN], path[2 * PATH_LEN];
    tmp_path(dir, "serr");
    cli_result r = run_cli((const char *const[]){"sampler-error", "--mixture", SF_EXAMPLES_DIR "/three_kinds.json", "--schedule",
                                                 "vp-linear", "--samplers", "heun,em", "--nfe", "4,8,16", "--n", "100", "--seed",
                                                 "3", "--spacing", "lambda", "--backend", "cpu", "--out-dir", dir, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    sf_mixture *m = NULL;
    sf_context *ctx = NULL;
    cr_assert_eq(sf_mixture_read_json(&m, SF_EXAMPLES_DIR "/three_kinds.json"), SF_OK);
    cr_assert_eq(sf_context_create(&ctx, SF_BACKEND_CPU, SF_PRECISION_F64, 0), SF_OK);
    const char *names[2] = {"heun", "em"};
    const int nfe[3] = {4, 8, 16};
    sf_sampler_error_setup setup = sf_sampler_error_setup_default();
    setup.samplers = names, setup.nsamplers = 2, setup.nfe = nfe, setup.nnfe = 3, setup.n = 100, setup.seed = 3;
    setup.spacing = SF_SPACING_LAMBDA;
    sf_schedule sched = sf_schedule_default(SF_SCHEDULE_VP_LINEAR);
    sf_sampler_error_row rows[6];
    cr_assert_eq(sf_sampler_error(ctx, m, &sched, &setup, rows), SF_OK, "%s", sf_last_error());
    cr_expect(fabs(value_after(r.out, "heun               observed order ") - rows[0].order) < 1e-3, "order printed as computed\n%s", r.out);
    snprintf(path, sizeof path, "%s/sampler_error.csv", dir);
    const char *csv = read_text(path);
    cr_expect(strncmp(csv, "sampler,nfe_asked,nfe,steps,stochastic,endpoint_rms,endpoint_max,order,order_se,reference_error,tv,tv_se,", 103) == 0,
              "header %.120s", csv);
    const char *line = strchr(csv, '\n');
    for (int k = 0; k < 6; k++) {
        cr_assert(line && line[1], "row %d missing", k);
        line++;
        cr_expect(strncmp(line, names[k / 3], strlen(names[k / 3])) == 0, "row %d names %s: %.40s", k, names[k / 3], line);
        double v[10];
        const char *c = strchr(line, ',');
        for (int q = 0; q < 10 && c; q++, c = strchr(c + 1, ',')) v[q] = strtod(c + 1, NULL);
        cr_expect_eq((int)v[0], nfe[k % 3]);
        cr_expect_eq((size_t)v[1], rows[k].nfe);
        cr_expect_eq((int)v[2], rows[k].steps);
        cr_expect((isnan(v[4]) && isnan(rows[k].endpoint_rms)) || fabs(v[4] - rows[k].endpoint_rms) <= 1e-9 * rows[k].endpoint_rms,
                  "row %d: rms %g against %g", k, v[4], rows[k].endpoint_rms);
        cr_expect(fabs(v[9] - rows[k].occupation_tv.value) <= 1e-9 + 1e-9 * rows[k].occupation_tv.value, "row %d: TV", k);
        line = strchr(line, '\n');
    }
    expect_svg(dir, "sampler_error.svg");
    snprintf(path, sizeof path, "%s/sampler_error.svg", dir);
    const char *svg = read_text(path);
    cr_expect(strstr(svg, "heun endpoint RMS: order") != NULL, "the order in the legend");
    cr_expect(strstr(svg, "em endpoint RMS") == NULL, "no endpoint line for a stochastic sampler");
    cr_expect(strstr(svg, "stroke-opacity=\"0.6\"") != NULL, "error bars on the sliced W2");
    char names_left[1024];
    cr_expect_eq(temporaries_under(dir, names_left, sizeof names_left), 0, "temporaries: %s", names_left);
    sf_context_destroy(ctx);
    sf_mixture_destroy(m);
    remove_folder(dir);
}

/* sampler-error refuses an unknown sampler, budgets that are not increasing or below 1, and n < 2,
 * with exit 2 naming the option, before any folder or file exists. */
Test(bad_input, sampler_error_lists_and_counts)
{
    char dir[PATH_LEN];
    tmp_path(dir, "serrdir");
    static const char *const cases[][4] = {{"--samplers", "heun,nonsense", "--samplers", "nonsense"},
                                           {"--nfe", "10,5", "--nfe", "increasing"},
                                           {"--nfe", "0,5", "--nfe", "increasing"},
                                           {"--nfe", "5,,10", "--nfe", "empty"},
                                           {"--n", "1", "--n", "2"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *samplers = strcmp(cases[k][0], "--samplers") ? "heun" : cases[k][1];
        const char *nfe = strcmp(cases[k][0], "--nfe") ? "5,10" : cases[k][1];
        const char *n = strcmp(cases[k][0], "--n") ? "50" : cases[k][1];
        cli_result r = run_cli((const char *const[]){"sampler-error", "--mixture", SF_EXAMPLES_DIR "/three_kinds.json", "--schedule",
                                                     "vp-linear", "--samplers", samplers, "--nfe", nfe, "--n", n, "--out-dir", dir, NULL});
        expect_refused(&r, cases[k][2], cases[k][3]);
        cr_expect(!file_exists(dir), "case %zu: the output folder was created", k);
    }
    cli_result r = run_cli((const char *const[]){"sampler-error", "--mixture", mix_path, "--schedule", "vp-linear", "--samplers",
                                                 "heun", "--out-dir", dir, NULL});
    expect_refused(&r, mix_path, NULL); /* a missing mixture file */
    cr_expect(!file_exists(dir), "the output folder was created");
    /* an output that is a folder: refused before any work, the other file not written */
    char blocked[2 * PATH_LEN], csv[2 * PATH_LEN];
    cr_assert_eq(mkdir(dir, 0700), 0);
    snprintf(blocked, sizeof blocked, "%s/sampler_error.svg", dir);
    snprintf(csv, sizeof csv, "%s/sampler_error.csv", dir);
    cr_assert_eq(mkdir(blocked, 0700), 0);
    r = run_cli((const char *const[]){"sampler-error", "--mixture", SF_EXAMPLES_DIR "/three_kinds.json", "--schedule", "vp-linear",
                                      "--samplers", "heun", "--nfe", "2,4", "--n", "20", "--out-dir", dir, NULL});
    expect_refused(&r, blocked, NULL);
    cr_expect(!file_exists(csv), "the CSV was written beside a refused figure");
    char left[1024];
    cr_expect_eq(temporaries_under(dir, left, sizeof left), 0, "temporaries: %s", left);
    rmdir(blocked), rmdir(dir);
}

/* blowup on a mixture with no component on a subspace: refused naming the file, no folder made */
Test(bad_input, blowup_without_a_subspace)
{
    write_text(mix_path, "{\"dim\": 2, \"components\": [{\"weight\": 1, \"mean\": [0.0, 0.0], \"var\": 0.5}]}");
    char dir[PATH_LEN];
    tmp_path(dir, "blowdir");
    cli_result r = run_cli((const char *const[]){"blowup", "--mixture", mix_path, "--out-dir", dir, NULL});
    expect_refused(&r, mix_path, "subspace");
    cr_expect(!file_exists(dir), "the output folder was created");
}

/* speciation --amplification needs TAU1 > TAU0 > 0 and two values */
Test(bad_input, speciation_amplification_interval)
{
    char dir[PATH_LEN];
    tmp_path(dir, "ampdir");
    cli_result r = run_cli((const char *const[]){"speciation", "--out-dir", dir, "--amplification", "0.5", "0", NULL});
    expect_refused(&r, "--amplification", "TAU1 > TAU0 > 0");
    r = run_cli((const char *const[]){"speciation", "--out-dir", dir, "--amplification", "0.5", NULL});
    expect_refused(&r, "--amplification", NULL);
    cr_expect(!file_exists(dir), "the output folder was created");
}

/* check --backend cpu compares the fast CPU backend with the reference (both run here: the
 * comparison itself is sfi_compare_outputs, tested with the library); the reference cannot be
 * checked against itself, and f32 is the GPU's. */
Test(cli, check_cpu_backend_against_reference)
{
    cli_result r = run_cli((const char *const[]){"check", "--backend", "cpu", "--dim", "12", "--n", "3000", NULL});
    cr_expect_eq(r.status, 0, "check --backend cpu exited %d: %s %s", r.status, r.out, r.err);
    cr_expect(strstr(r.out, "cpu f64 against reference") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "FAIL") == NULL && strstr(r.out, "denoise") != NULL, "%s", r.out);
    r = run_cli((const char *const[]){"check", "--backend", "reference", NULL});
    cr_expect_eq(r.status, 2, "check --backend reference exited %d", r.status);
    r = run_cli((const char *const[]){"check", "--backend", "cpu", "--precision", "f32", NULL});
    cr_expect_eq(r.status, 2, "check --backend cpu --precision f32 exited %d", r.status);
}
