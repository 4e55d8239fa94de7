/* Reading mixtures from the JSON formats of DESIGN.md: the components form, and the compact
 * form naming .npy files relative to the JSON file. Every error names the file and the problem. */
#include "mixture.h"
#include "status.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Reads a JSON number or a list of `n` numbers into out; returns 1 (scalar), 2 (list) or 0 (error,
 * recorded with `what` and `path`). */
static int read_numbers(const char *path, const char *what, json_t *v, int n, double *out)
{
    if (json_is_number(v)) {
        out[0] = json_number_value(v);
        return 1;
    }
    if (!json_is_array(v)) {
        sfi_fail(SF_ERR_FORMAT, "%s: %s must be a number or a list of numbers", path, what);
        return 0;
    }
    if ((int)json_array_size(v) != n) {
        sfi_fail(SF_ERR_FORMAT, "%s: %s has %zu entries, expected %d", path, what, json_array_size(v), n);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        json_t *e = json_array_get(v, (size_t)i);
        if (!json_is_number(e)) {
            sfi_fail(SF_ERR_FORMAT, "%s: %s[%d] is not a number", path, what, i);
            return 0;
        }
        out[i] = json_number_value(e);
    }
    return 2;
}

static sf_status check_keys(const char *path, const char *where, json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++) ok |= strcmp(key, *a) == 0;
        if (!ok) return sfi_fail(SF_ERR_FORMAT, "%s: %s: unknown key \"%s\"", path, where, key);
    }
    return SF_OK;
}

/* One entry of "components". */
static sf_status read_component(const char *path, sf_mixture *m, json_t *c, int k, double *buf)
{
    static const char *const keys[] = {"weight", "mean", "var", "basis", "eig", NULL};
    int d = m->dim;
    char where[64];
    snprintf(where, sizeof where, "component %d", k);
    if (!json_is_object(c)) return sfi_fail(SF_ERR_FORMAT, "%s: %s is not an object", path, where);
    sf_status st = check_keys(path, where, c, keys);
    if (st != SF_OK) return st;
    json_t *w = json_object_get(c, "weight"), *mean = json_object_get(c, "mean"), *var = json_object_get(c, "var");
    json_t *basis = json_object_get(c, "basis"), *eig = json_object_get(c, "eig");
    if (!json_is_number(w)) return sfi_fail(SF_ERR_FORMAT, "%s: %s: \"weight\" must be a number", path, where);
    if (!mean || !json_is_array(mean))
        return sfi_fail(SF_ERR_FORMAT, "%s: %s: \"mean\" must be a list of %d numbers", path, where, d);
    if (!var) return sfi_fail(SF_ERR_FORMAT, "%s: %s: \"var\" is missing", path, where);
    double *mu = buf, *v = buf + d;
    char what[160];
    snprintf(what, sizeof what, "%s: \"mean\"", where);
    if (read_numbers(path, what, mean, d, mu) != 2) return SF_ERR_FORMAT;
    snprintf(what, sizeof what, "%s: \"var\"", where);
    int var_kind = read_numbers(path, what, var, d, v);
    if (!var_kind) return SF_ERR_FORMAT;
    double weight = json_number_value(w);

    if (!basis && !eig) {
        st = var_kind == 1 ? sf_mixture_add_isotropic(m, weight, mu, v[0]) : sf_mixture_add_diagonal(m, weight, mu, v);
    } else {
        if (!basis || !eig)
            return sfi_fail(SF_ERR_FORMAT, "%s: %s: \"basis\" and \"eig\" go together", path, where);
        if (var_kind != 1)
            return sfi_fail(SF_ERR_FORMAT, "%s: %s: with \"basis\", \"var\" must be a number (isotropic part)", path, where);
        if (!json_is_array(basis) || json_array_size(basis) < 1 || json_array_size(basis) > (size_t)d)
            return sfi_fail(SF_ERR_FORMAT, "%s: %s: \"basis\" must be a list of 1 to %d rows", path, where, d);
        int r = (int)json_array_size(basis);
        double *U = malloc(((size_t)r * d + r) * sizeof(double));
        if (!U) return sfi_fail(SF_ERR_NOMEM, "%s: out of memory", path);
        int ok = 1;
        for (int j = 0; ok && j < r; j++) {
            snprintf(what, sizeof what, "%s: \"basis\" row %d", where, j);
            json_t *row = json_array_get(basis, (size_t)j);
            ok = json_is_array(row) ? read_numbers(path, what, row, d, U + (size_t)j * d) == 2
                                    : (sfi_fail(SF_ERR_FORMAT, "%s: %s is not a list", path, what), 0);
        }
        snprintf(what, sizeof what, "%s: \"eig\"", where);
        if (ok && !json_is_array(eig)) {
            sfi_fail(SF_ERR_FORMAT, "%s: %s must be a list of %d numbers", path, what, r);
            ok = 0;
        }
        if (ok) ok = read_numbers(path, what, eig, r, U + (size_t)r * d) == 2;
        st = ok ? sf_mixture_add_lowrank(m, weight, mu, v[0], r, U, U + (size_t)r * d) : SF_ERR_FORMAT;
        free(U);
        if (!ok) return st;
    }
    if (st != SF_OK) sfi_error_prefix(path);
    return st;
}

/* The directory part of path (with trailing '/'), or "" — .npy names are relative to it. */
static void directory_of(const char *path, char *dir, size_t len)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path + 1) : 0;
    if (n >= len) n = 0;
    memcpy(dir, path, n);
    dir[n] = '\0';
}

/* Reads the .npy file named by string `name` (relative to the JSON file's directory). */
static sf_status read_named_npy(const char *path, const char *key, json_t *name, sf_array *a)
{
    char dir[4096], full[8192];
    directory_of(path, dir, sizeof dir);
    const char *s = json_string_value(name);
    snprintf(full, sizeof full, "%s%s", s[0] == '/' ? "" : dir, s);
    sf_status st = sf_npy_read(full, a);
    if (st != SF_OK) {
        char prefix[4200];
        snprintf(prefix, sizeof prefix, "%s: \"%s\"", path, key);
        sfi_error_prefix(prefix);
    }
    return st;
}

/* {"dim": d, "weights": "w.npy", "means": "m.npy", "var": number | "v.npy"} */
static sf_status read_compact(const char *path, sf_mixture *m, json_t *root)
{
    int d = m->dim;
    json_t *jw = json_object_get(root, "weights"), *jm = json_object_get(root, "means"), *jv = json_object_get(root, "var");
    if (!json_is_string(jw) || !json_is_string(jm))
        return sfi_fail(SF_ERR_FORMAT, "%s: compact form needs \"weights\" and \"means\" as .npy file names", path);
    if (!jv || !(json_is_number(jv) || json_is_string(jv)))
        return sfi_fail(SF_ERR_FORMAT, "%s: compact form needs \"var\": a number or a .npy file name", path);
    sf_array w = {0}, mu = {0}, v = {0};
    sf_status st = read_named_npy(path, "weights", jw, &w);
    if (st == SF_OK) st = read_named_npy(path, "means", jm, &mu);
    if (st == SF_OK && json_is_string(jv)) st = read_named_npy(path, "var", jv, &v);
    size_t K = w.ndim == 1 ? w.shape[0] : 0;
    if (st == SF_OK && (w.ndim != 1 || K < 1 || K > INT_MAX))
        st = sfi_fail(SF_ERR_FORMAT, "%s: \"weights\" must be a 1-d array of K >= 1 numbers (at most %d)", path, INT_MAX);
    if (st == SF_OK && (mu.ndim != 2 || mu.shape[0] != K || mu.shape[1] != (size_t)d))
        st = sfi_fail(SF_ERR_FORMAT, "%s: \"means\" must have shape (%zu, %d) to match weights and dim", path, K, d);
    int diagonal = v.ndim == 2;
    if (st == SF_OK && v.data &&
        !((v.ndim == 1 && v.shape[0] == K) || (v.ndim == 2 && v.shape[0] == K && v.shape[1] == (size_t)d)))
        st = sfi_fail(SF_ERR_FORMAT, "%s: \"var\" array must have shape (%zu,) or (%zu, %d)", path, K, K, d);
    for (size_t k = 0; st == SF_OK && k < K; k++) {
        const double *mean = mu.data + k * d;
        if (diagonal)
            st = sf_mixture_add_diagonal(m, w.data[k], mean, v.data + k * d);
        else
            st = sf_mixture_add_isotropic(m, w.data[k], mean, v.data ? v.data[k] : json_number_value(jv));
        if (st != SF_OK) sfi_error_prefix(path);
    }
    sf_array_free(&w);
    sf_array_free(&mu);
    sf_array_free(&v);
    return st;
}

sf_status sf_mixture_read_json(sf_mixture **out, const char *path)
{
    sfi_error_clear();
    if (!out || !path) return sfi_fail(SF_ERR_INVALID, "sf_mixture_read_json: mix and path must not be NULL");
    *out = NULL;
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        if (err.line < 0) return sfi_fail(SF_ERR_IO, "%s: %s", path, err.text);
        return sfi_fail(SF_ERR_FORMAT, "%s: line %d, column %d: %s", path, err.line, err.column, err.text);
    }
    sf_status st = SF_OK;
    sf_mixture *m = NULL;
    json_t *dim = json_object_get(root, "dim"), *components = json_object_get(root, "components");
    if (!json_is_object(root)) {
        st = sfi_fail(SF_ERR_FORMAT, "%s: top level must be an object", path);
    } else if (!json_is_integer(dim) || json_integer_value(dim) < 1 || json_integer_value(dim) > (1 << 24)) {
        st = sfi_fail(SF_ERR_FORMAT, "%s: \"dim\" must be a positive integer", path);
    } else {
        static const char *const full_keys[] = {"dim", "components", NULL};
        static const char *const compact_keys[] = {"dim", "weights", "means", "var", NULL};
        st = check_keys(path, "top level", root, components ? full_keys : compact_keys);
        if (st == SF_OK) st = sf_mixture_create(&m, (int)json_integer_value(dim));
        if (st == SF_OK && components) {
            if (!json_is_array(components) || json_array_size(components) == 0) {
                st = sfi_fail(SF_ERR_FORMAT, "%s: \"components\" must be a non-empty list", path);
            } else {
                double *buf = malloc(2 * (size_t)m->dim * sizeof(double));
                if (!buf) st = sfi_fail(SF_ERR_NOMEM, "%s: out of memory", path);
                for (size_t k = 0; st == SF_OK && k < json_array_size(components); k++)
                    st = read_component(path, m, json_array_get(components, k), (int)k, buf);
                free(buf);
            }
        } else if (st == SF_OK) {
            st = read_compact(path, m, root);
        }
    }
    json_decref(root);
    if (st != SF_OK) {
        sf_mixture_destroy(m);
        return st;
    }
    *out = m;
    return SF_OK;
}
