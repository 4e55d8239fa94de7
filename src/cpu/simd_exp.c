/* exp over an array (simd_exp.h), compiled for several instruction sets and picked at load time
 * (GCC function multiversioning), so one binary uses AVX-512 or AVX2 where the CPU has them. */
#include "simd_exp.h"
#include "simd_target.h"

SF_SIMD_CLONES
void sfi_exp_array(const double *x, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = sf_exp_lane(x[i]);
}
