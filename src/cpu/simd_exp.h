/* Internal: exp written for vector loops. The fast backend's softmax takes K exponentials per
 * particle, so at small d it is bound by exp; libm's exp is a call per value (it cannot be
 * vectorised). sf_exp_lane is branch-free on purpose: inlined into a loop over an array, the
 * compiler turns it into SIMD code (2, 4 or 8 values per instruction, see softmax.c).
 *
 * Method: exp(x) = 2^n e^r with n = round(x / ln 2) and r = x - n ln 2 (|r| <= ln 2 / 2), ln 2 in
 * two parts (Cody-Waite: n ln2_hi is exact for |n| < 2^11), e^r by its Taylor polynomial of degree
 * 13 (truncation below 5e-18 relative), and 2^n applied as two exactly representable powers of
 * two, so that results down in the subnormal range are rounded once. Accurate to about one ulp
 * (tests/test_fast_backend.c checks it against libm); exp(-inf) = 0, exp(+inf) = inf, NaN stays NaN. */
#ifndef SF_SIMD_EXP_H
#define SF_SIMD_EXP_H

#include <stdint.h>
#include <string.h>

static inline double sf_exp_lane(double x)
{
    const double log2e = 1.4426950408889634074, shifter = 0x1.8p52;
    const double ln2_hi = 0x1.62e42fee00000p-1, ln2_lo = 0x1.a39ef35793c76p-33;
    /* beyond these exp is 0 or inf in double anyway; the clamp also maps -inf to 0 and +inf to inf */
    x = x < -746.0 ? -746.0 : x;
    x = x > 710.0 ? 710.0 : x;
    double kd = x * log2e + shifter; /* n in the low mantissa bits */
    uint64_t kbits, shift_bits;
    memcpy(&kbits, &kd, sizeof kbits);
    memcpy(&shift_bits, &shifter, sizeof shift_bits);
    kd -= shifter;
    double r = (x - kd * ln2_hi) - kd * ln2_lo;
    double p = 1.0 / 6227020800.0; /* 1/13! */
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    /* n in [-1077, 1025]; split it as n1 + n2 (logical shifts only: n + 1100 > 0) so that each 2^ni
     * is a normal double */
    uint64_t biased = kbits - shift_bits + 1100u; /* n + 1100, as an unsigned value */
    uint64_t n1 = (biased >> 1) - 550u + 1023u, n2 = biased - (biased >> 1) - 550u + 1023u;
    uint64_t b1 = n1 << 52, b2 = n2 << 52;
    double s1, s2;
    memcpy(&s1, &b1, sizeof s1);
    memcpy(&s2, &b2, sizeof s2);
    return p * s1 * s2;
}

/* y[i] = exp(x[i]) for i < n (x and y may be the same array), vectorised for the machine it runs on. */
void sfi_exp_array(const double *x, double *y, size_t n);

#endif
