/* libFuzzer target: the mixture reader (sf_mixture_read_json), both forms. The input is a JSON text
 * optionally followed by up to three .npy files, each introduced by the separator line
 * "\n--npy--\n": they are written beside the JSON as a.npy, b.npy and c.npy, the names the seeds'
 * compact form uses ("weights": "a.npy", "means": "b.npy", "var": "c.npy"). Whatever the bytes, the
 * reader must return a status without crashing, leaking or reading out of bounds, and an accepted
 * mixture must answer every accessor for every component and be checked against a time. Seeds in
 * tests/fuzz/corpus/mixture_json; run by tests/fuzz/run.sh. */
#include "fuzz_files.h"

#include <scorefield.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char separator[] = "\n--npy--\n";

/* The next part of the input: up to the separator (or the end); *rest points after it. */
static size_t next_part(const uint8_t *data, size_t size, const uint8_t **rest)
{
    size_t sep = sizeof separator - 1;
    for (size_t i = 0; i + sep <= size; i++)
        if (memcmp(data + i, separator, sep) == 0) {
            *rest = data + i + sep;
            return i;
        }
    *rest = data + size;
    return size;
}

static void check_mixture(const sf_mixture *m)
{
    int d = sf_mixture_dim(m), K = sf_mixture_count(m);
    if (d < 1 || K < 1) abort();
    double total = 0;
    for (int k = 0; k < K; k++) {
        int rank = -2;
        const double *mean = sf_mixture_mean(m, k), *var = sf_mixture_variances(m, k);
        const double *basis = sf_mixture_basis(m, k, &rank);
        if (!mean || !var || rank < 0 || rank > d || (rank > 0) != (basis != NULL)) abort();
        if (sf_mixture_codimension(m, k) < 0 || (int)sf_mixture_kind(m, k) < 0) abort();
        double w = sf_mixture_weight(m, k);
        if (!(w >= 0) || !isfinite(w)) abort(); /* normalised weights of finite, positive raw weights */
        total += w;
    }
    if (!(fabs(total - 1) < 1e-9)) abort();
    sf_time t;
    if (sf_time_heat(0.25, &t) != SF_OK || sf_mixture_check_time(m, &t) != SF_OK) abort(); /* sigma > 0 */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const npy_names[3] = {"a.npy", "b.npy", "c.npy"};
    const uint8_t *rest;
    size_t json_len = next_part(data, size, &rest);
    const char *path = fuzz_write_file("mixture.json", data, json_len);
    char json_path[1024];
    strncpy(json_path, path, sizeof json_path - 1);
    json_path[sizeof json_path - 1] = '\0';
    for (int f = 0; f < 3; f++) {
        const uint8_t *part = rest;
        size_t len = part < data + size ? next_part(part, (size_t)(data + size - part), &rest) : 0;
        fuzz_write_file(npy_names[f], part, len);
    }
    sf_mixture *m = NULL;
    if (sf_mixture_read_json(&m, json_path) == SF_OK) check_mixture(m);
    else if (m) abort(); /* a refused file yields no mixture */
    sf_mixture_destroy(m);
    return 0;
}
