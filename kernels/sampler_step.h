/* One sampler step as a linear multistage scheme in the noise prediction eps = -sigma s
 * (docs/samplers.md): every sampler of scorefield (Euler-Maruyama for the h-family, PF-ODE Euler and
 * Heun, DDPM, DDIM(eta), DPM-Solver 1-3) advances x from s to t < s by
 *   stage inputs   u_i = a_i x + sum_{j<i} b_ij eps_j,      eps_j = eps(u_j, time_j)
 *   result         x_t = A x + sum_j B_j eps_j + C z,        z ~ N(0, I) (Philox)
 * with coefficients that depend only on the schedule and the two times. The plan is made on the
 * host (src/sampler.c); the element-wise combinations below are shared by the CPU path and, for
 * a device-resident loop, the GPU. */
#ifndef SF_SAMPLER_STEP_H
#define SF_SAMPLER_STEP_H

#if defined(__CUDACC__)
#define SF_STEP_HD __host__ __device__
#else
#define SF_STEP_HD
#endif

#define SF_MAX_STAGES 3

typedef struct {
    int stages;                               /* score evaluations per step */
    double time[SF_MAX_STAGES];               /* stage times (time[0] = s) */
    double a[SF_MAX_STAGES];                  /* a_0 = 1 */
    double b[SF_MAX_STAGES][SF_MAX_STAGES];   /* b_ij, j < i */
    double A, B[SF_MAX_STAGES], C;            /* the result */
} sf_step_plan;

/* u_i for one coordinate, from x and the eps of earlier stages (eps[j] for j < i). */
static SF_STEP_HD inline double sf_step_stage_input(const sf_step_plan *p, int i, double x, const double *eps)
{
    double u = p->a[i] * x;
    for (int j = 0; j < i; j++) u += p->b[i][j] * eps[j];
    return u;
}

/* x_t for one coordinate, from x, every stage's eps and the standard normal z. */
static SF_STEP_HD inline double sf_step_result(const sf_step_plan *p, double x, const double *eps, double z)
{
    double r = p->A * x + p->C * z;
    for (int j = 0; j < p->stages; j++) r += p->B[j] * eps[j];
    return r;
}

#endif
