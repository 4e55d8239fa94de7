/* Philox4x32-10, a counter-based random number generator (Salmon, Moraes, Dror, Shaw, "Parallel
 * random numbers: as easy as 1, 2, 3", SC'11), bit-for-bit the philox4x32 of Random123 with its
 * default 10 rounds (checked against Random123's tests/kat_vectors in tests/test_philox.c).
 *
 * Why counter-based: a draw is a pure function of (key, counter), so there is no generator state
 * to store, advance or split. Every particle, step and dimension names its own counter, and the CPU
 * and the GPU draw identical noise from the same (seed, particle, step, dim) whatever the thread
 * layout, batch split or evaluation order. The 32-bit words are bit-identical on both sides; the
 * normals go through log, sqrt, sin and cos, so they agree to within the last-place rounding of the
 * host libm and the CUDA maths library (a few ulps), not necessarily bit for bit.
 *
 * Plain C11, usable from host C and from CUDA device code (SF_PHILOX_HD). */
#ifndef SF_PHILOX_H
#define SF_PHILOX_H

#include <math.h>
#include <stdint.h>

#if defined(__CUDACC__)
#define SF_PHILOX_HD __host__ __device__
#else
#define SF_PHILOX_HD
#endif

typedef struct { uint32_t v[4]; } sf_philox_ctr;
typedef struct { uint32_t v[2]; } sf_philox_key;

/* The round multipliers and the Weyl-sequence key increments (golden ratio and sqrt(3) - 1,
 * as 32-bit fractions) of Random123's philox4x32. */
#define SF_PHILOX_M0 0xD2511F53u
#define SF_PHILOX_M1 0xCD9E8D57u
#define SF_PHILOX_W0 0x9E3779B9u
#define SF_PHILOX_W1 0xBB67AE85u

/* One Philox S-box round. The 32x32 -> 64-bit product gives mulhi and mullo portably (no compiler
 * intrinsics; nvcc turns it into mul.wide / mul.hi). The output word order is Random123's. */
static SF_PHILOX_HD inline sf_philox_ctr sf_philox_round_(sf_philox_ctr c, sf_philox_key k)
{
    uint64_t p0 = (uint64_t)SF_PHILOX_M0 * c.v[0];
    uint64_t p1 = (uint64_t)SF_PHILOX_M1 * c.v[2];
    sf_philox_ctr o;
    o.v[0] = (uint32_t)(p1 >> 32) ^ c.v[1] ^ k.v[0];
    o.v[1] = (uint32_t)p1;
    o.v[2] = (uint32_t)(p0 >> 32) ^ c.v[3] ^ k.v[1];
    o.v[3] = (uint32_t)p0;
    return o;
}

/* Ten rounds; the key is bumped by the Weyl increments between rounds (not before the first). */
static SF_PHILOX_HD inline sf_philox_ctr sf_philox4x32_10(sf_philox_ctr ctr, sf_philox_key key)
{
    for (int r = 0; r < 10; r++) {
        if (r > 0) {
            key.v[0] += SF_PHILOX_W0;
            key.v[1] += SF_PHILOX_W1;
        }
        ctr = sf_philox_round_(ctr, key);
    }
    return ctr;
}

/* A 32-bit word to a double in the OPEN interval (0, 1): (u + 1/2) 2^-32, the midpoint of the
 * u-th of 2^32 equal cells. Exact in double (u + 0.5 needs 33 bits), never 0 (so log(u) is finite
 * in Box-Muller) and never 1; the smallest value is 2^-33, the largest 1 - 2^-33. */
static SF_PHILOX_HD inline double sf_philox_uniform(uint32_t u)
{
    return ((double)u + 0.5) * (1.0 / 4294967296.0);
}

/* Four independent standard normals for (seed, particle, step, block), block = dim / 4.
 * key = the two halves of seed; counter = {particle low, particle high, step, block}, so distinct
 * (particle, step, block) never share a counter under one seed. Box-Muller maps the word pairs
 * (w0, w1) and (w2, w3) to r = sqrt(-2 ln u1), theta = 2 pi u2 and returns r cos, r sin of each. */
static SF_PHILOX_HD inline void sf_philox_normal4(uint64_t seed, uint64_t particle, uint32_t step, uint32_t block,
                                                  double out[4])
{
    const double two_pi = 6.283185307179586476925286766559;
    sf_philox_key k = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
    sf_philox_ctr c = {{(uint32_t)particle, (uint32_t)(particle >> 32), step, block}};
    sf_philox_ctr w = sf_philox4x32_10(c, k);
    for (int i = 0; i < 4; i += 2) {
        double r = sqrt(-2.0 * log(sf_philox_uniform(w.v[i])));
        double theta = two_pi * sf_philox_uniform(w.v[i + 1]);
        out[i] = r * cos(theta);
        out[i + 1] = r * sin(theta);
    }
}

/* The standard normal for one dimension: element dim % 4 of block dim / 4, so z[0..d-1] is the same
 * whether drawn one dimension at a time or four at a time with sf_philox_normal4. (One call costs a
 * whole block; callers filling long vectors can use sf_philox_normal4 directly.) */
static SF_PHILOX_HD inline double sf_philox_normal(uint64_t seed, uint64_t particle, uint32_t step, uint32_t dim)
{
    double z[4];
    sf_philox_normal4(seed, particle, step, dim / 4u, z);
    return z[dim % 4u];
}

#endif /* SF_PHILOX_H */
