/* Philox4x32-10 (kernels/philox.h): Random123's published known-answer vectors, determinism and
 * independence of the counter fields, the moments of the normals, the open-interval uniforms, and
 * one-dimension vs four-at-a-time draws agreeing. */
#include "philox.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* The "philox4x32 10" lines of tests/kat_vectors in github.com/DEShawResearch/random123
 * (commit 9545ff6413f258be2f04c1d319d99aaef7521150): CTR (4 words), KEY (2 words), EXPECTED. */
static const struct {
    uint32_t ctr[4], key[2], expected[4];
} kat[] = {
    {{0x00000000, 0x00000000, 0x00000000, 0x00000000}, {0x00000000, 0x00000000},
     {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}, /* digits of pi */
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};

Test(philox, known_answer_vectors)
{
    for (size_t t = 0; t < sizeof kat / sizeof kat[0]; t++) {
        sf_philox_ctr c;
        sf_philox_key k;
        memcpy(c.v, kat[t].ctr, sizeof c.v);
        memcpy(k.v, kat[t].key, sizeof k.v);
        sf_philox_ctr out = sf_philox4x32_10(c, k);
        for (int i = 0; i < 4; i++)
            cr_expect_eq(out.v[i], kat[t].expected[i], "vector %zu word %d: got %08x want %08x", t, i,
                         (unsigned)out.v[i], (unsigned)kat[t].expected[i]);
    }
}

/* Same inputs give the same bits; changing any one of seed (either half), particle (either half),
 * step or block gives different output. */
Test(philox, deterministic_and_independent)
{
    const uint64_t seed = 0x0123456789abcdefull, particle = 0x0000000500000007ull;
    const uint32_t step = 11, block = 3;
    double a[4], b[4];
    sf_philox_normal4(seed, particle, step, block, a);
    sf_philox_normal4(seed, particle, step, block, b);
    cr_expect(memcmp(a, b, sizeof a) == 0, "same inputs must give identical output");

    double v[8][4];
    sf_philox_normal4(seed ^ 1, particle, step, block, v[0]);
    sf_philox_normal4(seed ^ (1ull << 32), particle, step, block, v[1]);
    sf_philox_normal4(seed, particle ^ 1, step, block, v[2]);
    sf_philox_normal4(seed, particle ^ (1ull << 32), step, block, v[3]);
    sf_philox_normal4(seed, particle, step + 1, block, v[4]);
    sf_philox_normal4(seed, particle, step, block + 1, v[5]);
    sf_philox_normal4(seed, particle, block, step, v[6]); /* step and block are not interchangeable */
    sf_philox_normal4(seed, particle >> 32 | particle << 32, step, block, v[7]); /* nor the halves */
    for (int j = 0; j < 8; j++)
        for (int i = 0; i < 4; i++) cr_expect_neq(v[j][i], a[i], "variant %d element %d equals the base draw", j, i);
}

/* n draws of sf_philox_normal across particles and dimensions: mean 0 and variance 1 within five
 * standard errors (sqrt(1/n) for the mean; sqrt(2/n) for the variance, as Var z^2 = 2). */
Test(philox, normal_moments)
{
    const int n = 200000, dims = 8;
    double sum = 0, sumsq = 0;
    for (int i = 0; i < n; i++) {
        double z = sf_philox_normal(42, (uint64_t)(i / dims), 7, (uint32_t)(i % dims));
        cr_assert(isfinite(z), "draw %d is not finite", i);
        sum += z;
        sumsq += z * z;
    }
    double mean = sum / n, var = sumsq / n - mean * mean;
    double se_mean = sqrt(1.0 / n), se_var = sqrt(2.0 / n);
    cr_expect(fabs(mean) < 5 * se_mean, "mean %.6g not within 5 SE (%.3g) of 0", mean, se_mean);
    cr_expect(fabs(var - 1) < 5 * se_var, "variance %.6g not within 5 SE (%.3g) of 1", var, se_var);
}

/* The uniforms lie in the open interval (0, 1), at the extremes and for Philox output. */
Test(philox, uniform_open_interval)
{
    cr_expect_eq(sf_philox_uniform(0), ldexp(1.0, -33));
    cr_expect_eq(sf_philox_uniform(UINT32_MAX), 1.0 - ldexp(1.0, -33));
    cr_expect(sf_philox_uniform(UINT32_MAX) < 1.0);
    sf_philox_key k = {{1, 2}};
    for (uint32_t i = 0; i < 50000; i++) {
        sf_philox_ctr c = {{i, 0, 0, 0}};
        sf_philox_ctr w = sf_philox4x32_10(c, k);
        for (int j = 0; j < 4; j++) {
            double u = sf_philox_uniform(w.v[j]);
            cr_assert(u > 0.0 && u < 1.0, "uniform %.17g outside (0, 1)", u);
        }
    }
}

/* z[dim] is the same whether asked for one dimension at a time or a block of four at a time. */
Test(philox, normal_matches_normal4)
{
    const uint64_t seeds[] = {0, 1, 0xfedcba9876543210ull};
    const uint64_t particles[] = {0, 5, 0x100000003ull};
    for (int s = 0; s < 3; s++)
        for (int p = 0; p < 3; p++)
            for (uint32_t dim = 0; dim < 13; dim++) {
                double z4[4];
                sf_philox_normal4(seeds[s], particles[p], 9, dim / 4, z4);
                double z = sf_philox_normal(seeds[s], particles[p], 9, dim);
                cr_expect_eq(z, z4[dim % 4], "seed %d particle %d dim %u: %.17g vs %.17g", s, p, (unsigned)dim, z,
                             z4[dim % 4]);
            }
}

/* The samplers' noise rows (src/dynamics/noise.c: Philox in vector lanes, Box-Muller once per
 * pair) are the very doubles sf_philox_normal draws one dimension at a time, so trajectories are
 * byte-identical to those drawn before rows existed (and to any split of the dimensions). */
#include "noise.h"

Test(philox, noise_rows_are_byte_identical_to_single_draws)
{
    const int dims[] = {1, 2, 3, 4, 5, 7, 8, 31, 32, 33, 35, 100, 257};
    const uint64_t seeds[] = {0, 1, 0x123456789abcdef0ull}, particles[] = {0, 1, 4294967295ull, 4294967301ull, 1ull << 40};
    const uint32_t steps[] = {0, 7, 0xFFFFFFFCu, 0xFFFFFFFFu};
    double row[257], one[257];
    int rows = 0;
    for (size_t a = 0; a < sizeof dims / sizeof dims[0]; a++)
        for (size_t b = 0; b < sizeof seeds / sizeof seeds[0]; b++)
            for (size_t c = 0; c < sizeof particles / sizeof particles[0]; c++)
                for (size_t e = 0; e < sizeof steps / sizeof steps[0]; e++) {
                    int d = dims[a];
                    memset(row, 0xAB, sizeof row);
                    sfi_noise_row(seeds[b], particles[c], steps[e], d, row);
                    for (int j = 0; j < d; j++) one[j] = sf_philox_normal(seeds[b], particles[c], steps[e], (uint32_t)j);
                    cr_expect(memcmp(row, one, (size_t)d * sizeof(double)) == 0,
                              "d = %d seed %llu particle %llu step %u: rows differ from single draws", d,
                              (unsigned long long)seeds[b], (unsigned long long)particles[c], (unsigned)steps[e]);
                    unsigned char past[8];
                    memset(past, 0xAB, sizeof past);
                    if (d < 257) cr_expect(memcmp(&row[d], past, sizeof past) == 0, "d = %d: wrote past the row", d);
                    rows++;
                }
    cr_expect_eq(rows, 13 * 3 * 5 * 4);
}
