/* The fused log-sum-exp pass (softmax.h): max, exp(l - max) and the sum in vector sweeps over
 * each row; the division by the sum is exact to rounding (no reciprocal). The max and the sum
 * keep SF_LANES partial results, an order the compiler may vectorise without -ffast-math. */
#include "softmax.h"
#include "simd_exp.h"
#include "simd_target.h"

#include <math.h>

#define SF_LANES 8

static inline double row_max(const double *l, int K)
{
    double part[SF_LANES];
    for (int j = 0; j < SF_LANES; j++) part[j] = -INFINITY;
    int k = 0;
    for (; k + SF_LANES <= K; k += SF_LANES)
        for (int j = 0; j < SF_LANES; j++) part[j] = l[k + j] > part[j] ? l[k + j] : part[j];
    for (; k < K; k++) part[0] = l[k] > part[0] ? l[k] : part[0];
    double m = part[0];
    for (int j = 1; j < SF_LANES; j++) m = part[j] > m ? part[j] : m;
    return m;
}

static inline double row_sum(const double *l, int K)
{
    double part[SF_LANES] = {0};
    int k = 0;
    for (; k + SF_LANES <= K; k += SF_LANES)
        for (int j = 0; j < SF_LANES; j++) part[j] += l[k + j];
    for (; k < K; k++) part[0] += l[k];
    double s = 0;
    for (int j = 0; j < SF_LANES; j++) s += part[j];
    return s;
}

SF_SIMD_CLONES
void sfi_softmax_rows(double *logits, size_t rows, int K, double *logp)
{
    for (size_t i = 0; i < rows; i++) {
        double *l = logits + i * (size_t)K;
        double m = row_max(l, K);
        for (int k = 0; k < K; k++) l[k] = sf_exp_lane(l[k] - m); /* exp(-inf) = 0: skipped components */
        double sum = row_sum(l, K);
        for (int k = 0; k < K; k++) l[k] /= sum;
        logp[i] = m + log(sum);
    }
}
