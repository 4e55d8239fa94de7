/* The docs/analyses.md golden field vectors (tests/data/golden_fields.json, a copy of
 * shared/reference/golden_fields.json: 40-digit mpmath finite differences on dense covariances):
 * log p, responsibilities, score, divergence, Hessian, Laplacian of the score, d s/dt and
 * d log p/dt at 3 points x 3 schedules, read from the same
 * mixture JSON the CLI reads. */
#include "test_helpers.h"

#include <jansson.h>
#include <unistd.h>

static double num(json_t *v) { return json_is_string(v) ? strtod(json_string_value(v), NULL) : json_number_value(v); }

Test(golden, spec_field_vectors)
{
    json_error_t err;
    json_t *root = json_load_file(SF_TEST_DATA_DIR "/golden_fields.json", 0, &err);
    cr_assert(root, "golden file: %s", err.text);
    /* write the embedded mixture to a temporary JSON file and read it the way users do */
    char path[] = "/tmp/sf_golden_mixtureXXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(json_dump_file(json_object_get(root, "mixture"), path, JSON_REAL_PRECISION(17)), 0);
    sf_mixture *m;
    cr_assert_eq(sf_mixture_read_json(&m, path), SF_OK, "%s", sf_last_error());
    remove(path);
    sf_context *ctx = cpu_context();
    json_t *fields = json_object_get(root, "fields"), *f;
    size_t index;
    int checked = 0;
    json_array_foreach(fields, index, f) {
        sf_schedule_kind kind;
        cr_assert_eq(sf_schedule_kind_parse(json_string_value(json_object_get(f, "schedule")), &kind), SF_OK);
        sf_time t = time_at(kind, num(json_object_get(f, "t")));
        expect_rel(t.alpha, num(json_object_get(f, "alpha")), 1e-15, "field %zu alpha", index);
        expect_rel(t.sigma, num(json_object_get(f, "sigma")), 1e-15, "field %zu sigma", index);
        double x[3], s[3], r[3], lp, div, hess[9], lap[3], dts[3], dtl;
        for (int i = 0; i < 3; i++) x[i] = num(json_array_get(json_object_get(f, "x"), i));
        sf_outputs o = {.score = s, .logp = &lp, .resp = r, .div = &div, .hessian = hess, .lap = lap,
                        .dt_score = dts, .dt_logp = &dtl};
        cr_assert_eq(sf_evaluate(ctx, m, &t, x, 1, &o), SF_OK, "%s", sf_last_error());
        expect_rel(lp, num(json_object_get(f, "logp")), 2e-15, "field %zu log p", index);
        expect_rel(div, num(json_object_get(f, "div")), 2e-15, "field %zu div", index);
        /* the golden values are 40-digit finite differences: docs/ reports the float64 formulas
         * reproduce them to 1.1e-15, the Laplacian to 2.7e-13 (docs/analyses.md); the same bounds here */
        expect_rel(dtl, num(json_object_get(f, "dt_logp")), 1e-14, "field %zu d log p / dt", index);
        for (int i = 0; i < 3; i++) {
            expect_rel(s[i], num(json_array_get(json_object_get(f, "score"), i)), 2e-15, "field %zu s_%d", index, i);
            expect_rel(r[i], num(json_array_get(json_object_get(f, "resp"), i)), 2e-15, "field %zu r_%d", index, i);
            expect_rel(lap[i], num(json_array_get(json_object_get(f, "lap_score"), i)), 3e-13, "field %zu lap_%d", index, i);
            expect_rel(dts[i], num(json_array_get(json_object_get(f, "dt_score"), i)), 1e-14, "field %zu dt s_%d", index, i);
            for (int j = 0; j < 3; j++)
                expect_rel(hess[i * 3 + j], num(json_array_get(json_array_get(json_object_get(f, "hessian"), i), j)),
                           2e-15, "field %zu H_%d%d", index, i, j);
        }
        checked++;
    }
    cr_expect_eq(checked, 9);
    json_decref(root);
    sf_mixture_destroy(m);
    sf_context_destroy(ctx);
}
