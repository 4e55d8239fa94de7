/* The per-time arithmetic of a diffused component (docs/fields.md, spectral form), shared by the host
 * field (src/core/field.c) and the device field update (kernels/field_device.cu), so both compute
 * each eigenvalue, precision and normaliser by the same formulas. Plain C, __host__ __device__. */
#ifndef SF_FRAME_MATH_H
#define SF_FRAME_MATH_H

#include <math.h>

#if defined(__CUDACC__)
#define SF_FRAME_HD __host__ __device__
#else
#define SF_FRAME_HD
#endif

#define SF_LOG_2PI 1.8378770664093454836

/* One eigen-direction of Sigma = alpha^2 C + sigma^2 I with data variance c along it. */
typedef struct {
    double e;     /* eigenvalue alpha^2 c + sigma^2 */
    double p;     /* its precision 1 / e */
    double log_e; /* ln e, for log det Sigma */
    double rate;  /* (d e / dt) / e = (2 alpha alpha' c + (sigma^2)') / e, for tr(P dSigma) */
} sf_eigen_terms;

/* a2 = alpha^2, s2 = sigma^2; rate_c = 2 alpha alpha' and rate_1 = (sigma^2)' (0 without rates). */
static SF_FRAME_HD inline sf_eigen_terms sf_eigen_at(double a2, double s2, double rate_c, double rate_1, double c)
{
    sf_eigen_terms t;
    t.e = a2 * c + s2;
    t.p = 1.0 / t.e;
    t.log_e = log(t.e);
    t.rate = (rate_c * c + rate_1) / t.e;
    return t;
}

/* ln w_k - (d ln 2 pi + log det Sigma_k) / 2 with log_weight = ln(w_k / sum w). */
static SF_FRAME_HD inline double sf_log_normaliser(double log_weight, int d, double log_det)
{
    return log_weight - 0.5 * (d * SF_LOG_2PI + log_det);
}

#endif
