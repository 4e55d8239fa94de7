/* Mixtures: construction, validation on creation, and the two JSON forms of DESIGN.md. */
#include "test_helpers.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

static void make_tmpdir(void)
{
    strcpy(tmpdir, "/tmp/sf_mixtureXXXXXX");
    cr_assert(mkdtemp(tmpdir));
}

static const char *write_text(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
    return path;
}

Test(mixture, components_form_reads_all_three_kinds)
{
    sf_mixture *m;
    cr_assert_eq(sf_mixture_read_json(&m, SF_EXAMPLES_DIR "/three_kinds.json"), SF_OK, "%s", sf_last_error());
    cr_expect_eq(sf_mixture_dim(m), 2);
    cr_expect_eq(sf_mixture_count(m), 3);
    cr_expect_eq(sf_mixture_kind(m, 0), SF_COV_ISOTROPIC);
    cr_expect_eq(sf_mixture_kind(m, 1), SF_COV_DIAGONAL);
    cr_expect_eq(sf_mixture_kind(m, 2), SF_COV_LOWRANK);
    cr_expect_eq(sf_mixture_rank(m, 2), 1);
    expect_rel(sf_mixture_weight(m, 1), 0.3, 1e-15, "weight");
    expect_rel(sf_mixture_mean(m, 2)[1], 2.0, 0, "mean");
    sf_mixture_destroy(m);
}

/* The compact form (weights, means, var from .npy files relative to the JSON) gives the same
 * fields as the same mixture built from arrays. */
Test(mixture, compact_form_matches_arrays)
{
    make_tmpdir();
    const double w[3] = {1.0, 2.0, 1.0}, mu[6] = {0, 0, 1, 1, -1, 2}, v[3] = {0.1, 0.2, 0.3};
    size_t s1[1] = {3}, s2[2] = {3, 2};
    char p[256];
    snprintf(p, sizeof p, "%s/w.npy", tmpdir);
    cr_assert_eq(sf_npy_write(p, w, 1, s1, SF_DTYPE_F64), SF_OK);
    snprintf(p, sizeof p, "%s/m.npy", tmpdir);
    cr_assert_eq(sf_npy_write(p, mu, 2, s2, SF_DTYPE_F32), SF_OK); /* float32 accepted on input */
    snprintf(p, sizeof p, "%s/v.npy", tmpdir);
    cr_assert_eq(sf_npy_write(p, v, 1, s1, SF_DTYPE_F64), SF_OK);
    const char *json = write_text("c.json", "{\"dim\": 2, \"weights\": \"w.npy\", \"means\": \"m.npy\", \"var\": \"v.npy\"}");
    sf_mixture *a, *b;
    cr_assert_eq(sf_mixture_read_json(&a, json), SF_OK, "%s", sf_last_error());
    cr_assert_eq(sf_mixture_create_isotropic(&b, 2, 3, w, mu, v), SF_OK);
    sf_time t = time_at(SF_SCHEDULE_VE, 0.4);
    double x[4] = {0.3, -0.2, 1.5, 0.7};
    sf_context *ctx = cpu_context();
    sf_outputs oa = eval_all(ctx, a, &t, x, 2), ob = eval_all(ctx, b, &t, x, 2);
    for (int i = 0; i < 4; i++) expect_rel(oa.score[i], ob.score[i], 0, "score %d", i);
    /* scalar var and a K x d var array */
    json = write_text("c2.json", "{\"dim\": 2, \"weights\": \"w.npy\", \"means\": \"m.npy\", \"var\": 0.25}");
    sf_mixture *c;
    cr_assert_eq(sf_mixture_read_json(&c, json), SF_OK, "%s", sf_last_error());
    cr_expect_eq(sf_mixture_kind(c, 2), SF_COV_ISOTROPIC);
    snprintf(p, sizeof p, "%s/vd.npy", tmpdir);
    const double vd[6] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
    cr_assert_eq(sf_npy_write(p, vd, 2, s2, SF_DTYPE_F64), SF_OK);
    json = write_text("c3.json", "{\"dim\": 2, \"weights\": \"w.npy\", \"means\": \"m.npy\", \"var\": \"vd.npy\"}");
    sf_mixture *e;
    cr_assert_eq(sf_mixture_read_json(&e, json), SF_OK, "%s", sf_last_error());
    cr_expect_eq(sf_mixture_kind(e, 0), SF_COV_DIAGONAL);
    free_outputs(&oa);
    free_outputs(&ob);
    sf_context_destroy(ctx);
    sf_mixture_destroy(a), sf_mixture_destroy(b), sf_mixture_destroy(c), sf_mixture_destroy(e);
}

/* Each malformed description is refused with a message naming the file and the problem. */
Test(mixture, json_errors_name_file_and_problem)
{
    make_tmpdir();
    static const struct { const char *text, *needle; } cases[] = {
        {"{\"dim\": 2, \"components\": [", "line"},
        {"{\"dim\": 2, \"components\": [{\"weight\": -1, \"mean\": [0, 0], \"var\": 1}]}", "weight"},
        {"{\"dim\": 2, \"components\": [{\"weight\": 1, \"mean\": [0, 0], \"var\": -0.5}]}", "variance"},
        {"{\"dim\": 2, \"components\": [{\"weight\": 1, \"mean\": [0, 0, 0], \"var\": 1}]}", "mean"},
        {"{\"dim\": 2, \"components\": [{\"weight\": 1, \"mean\": [0, 0], \"var\": [1, 1, 1]}]}", "var"},
        {"{\"dim\": 2, \"components\": [{\"weight\": 1, \"mean\": [0, 0], \"var\": 0, \"basis\": [[1, 1]], \"eig\": [1]}]}", "orthonormal"},
        {"{\"dim\": 2, \"components\": [{\"weight\": 1, \"mean\": [0, 0], \"var\": 0, \"basis\": [[1, 0]], \"eig\": [0]}]}", "eig"},
        {"{\"dim\": 2, \"components\": [{\"weight\": 1, \"mean\": [0, 0], \"var\": 0, \"basis\": [[1, 0]]}]}", "eig"},
        {"{\"dim\": 2, \"components\": [{\"weight\": 1, \"mean\": [0, 0], \"varr\": 1}]}", "varr"},
        {"{\"dim\": 0, \"components\": []}", "dim"},
        {"{\"dim\": 2, \"components\": []}", "components"},
        {"{\"dim\": 2, \"weights\": \"missing.npy\", \"means\": \"m.npy\", \"var\": 1}", "missing.npy"},
        {"[1, 2]", "object"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *path = write_text("bad.json", cases[c].text);
        sf_mixture *m = (sf_mixture *)1;
        sf_status st = sf_mixture_read_json(&m, path);
        cr_expect(st == SF_ERR_FORMAT || st == SF_ERR_INVALID || st == SF_ERR_IO, "case %zu accepted", c);
        cr_expect_null(m, "case %zu: no mixture on failure", c);
        cr_expect(strstr(sf_last_error(), path) != NULL, "case %zu: message does not name the file: %s", c, sf_last_error());
        cr_expect(strstr(sf_last_error(), cases[c].needle) != NULL, "case %zu: message does not say '%s': %s", c,
                  cases[c].needle, sf_last_error());
        cr_expect(strchr(sf_last_error(), '\n') == NULL, "case %zu: message is not one line", c);
    }
    sf_mixture *m;
    cr_expect_eq(sf_mixture_read_json(&m, "/nonexistent/mixture.json"), SF_ERR_IO);
}

Test(mixture, validation_on_creation)
{
    sf_mixture *m;
    cr_assert_eq(sf_mixture_create(&m, 3), SF_OK);
    double mu[3] = {0, 0, 0}, var[3] = {1, -1, 1}, U[6] = {1, 0, 0, 0, 1, 0}, eig[2] = {1, 2};
    cr_expect_eq(sf_mixture_add_isotropic(m, 0.0, mu, 1.0), SF_ERR_INVALID, "zero weight");
    cr_expect_eq(sf_mixture_add_isotropic(m, INFINITY, mu, 1.0), SF_ERR_INVALID, "infinite weight");
    cr_expect_eq(sf_mixture_add_diagonal(m, 1.0, mu, var), SF_ERR_INVALID, "negative variance");
    mu[1] = NAN;
    cr_expect_eq(sf_mixture_add_isotropic(m, 1.0, mu, 1.0), SF_ERR_INVALID, "NaN mean");
    mu[1] = 0;
    cr_expect_eq(sf_mixture_add_lowrank(m, 1.0, mu, 0.0, 4, U, eig), SF_ERR_INVALID, "rank > dim");
    U[4] = 1e-9;
    cr_expect_eq(sf_mixture_add_lowrank(m, 1.0, mu, 0.0, 2, U, eig), SF_ERR_INVALID, "basis off by 1e-9");
    U[4] = 1;
    cr_expect_eq(sf_mixture_add_lowrank(m, 1.0, mu, 0.0, 2, U, eig), SF_OK, "%s", sf_last_error());
    cr_expect_eq(sf_mixture_count(m), 1, "refused components are not added");
    /* data on a subspace at sigma = 0 is singular: refused at evaluation, by name */
    sf_time t0 = time_at(SF_SCHEDULE_VP_LINEAR, 0.0);
    sf_context *ctx = cpu_context();
    double x[3] = {0.1, 0.2, 0.3}, s[3];
    sf_outputs o = {.score = s};
    cr_expect_eq(sf_evaluate(ctx, m, &t0, x, 1, &o), SF_ERR_INVALID);
    cr_expect(strstr(sf_last_error(), "singular") != NULL, "%s", sf_last_error());
    /* non-finite particles refused */
    sf_time t = time_at(SF_SCHEDULE_VP_LINEAR, 0.5);
    x[2] = NAN;
    cr_expect_eq(sf_evaluate(ctx, m, &t, x, 1, &o), SF_ERR_INVALID);
    cr_expect(strstr(sf_last_error(), "particle 0, coordinate 2") != NULL, "%s", sf_last_error());
    sf_context_destroy(ctx);
    sf_mixture_destroy(m);
}
