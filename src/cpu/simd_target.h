/* Internal: the vector code paths of the fast CPU backend. A function marked SF_SIMD_CLONES is
 * compiled once per listed instruction set (x86-64 v4 = AVX-512, v3 = AVX2 + FMA, and the baseline)
 * and the loader picks the best the CPU has (GCC/Clang function multiversioning), so the library
 * needs no -march flag and runs anywhere. Elsewhere the attribute is empty: plain portable code. */
#ifndef SF_SIMD_TARGET_H
#define SF_SIMD_TARGET_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define SF_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SF_SIMD_CLONES
#endif

#endif
