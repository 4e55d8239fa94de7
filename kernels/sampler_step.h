/* One sampler step as a linear multistage scheme in the noise prediction eps = -sigma s
 * (docs/samplers.md): every sampler of scorefield advances x from s to t < s by
 *   stage inputs   u_i = a_i x + sum_{j<i} b_ij eps_j + n_i z,      eps_j = eps(u_j, time_j)
 *   result         x_t = A x + sum_j B_j eps_j + sum_m H_m D_{k-1-m} + C z,   z ~ N(0, I) (Philox)
 * where D_{k-1-m} are the denoised values x0^ = (u_0 - sigma eps_0) / alpha of the first stage of
 * the m + 1'th previous step (multistep methods keep them in a ring of SF_MAX_HISTORY; a step that
 * pushes stores its own D = P_x x + P_eps eps_0 + P_z z). A predictor-corrector's correction is
 * linear in the same values, so it is folded into A, B and H. The same z enters the stage inputs
 * (churn) and the result. The coefficients depend only on the schedule and the times; the plan is
 * made on the host (src/dynamics/step_plan.c) and the element-wise combinations below are shared
 * by the CPU loop and the CUDA loop (kernels/sample.cu). */
#ifndef SF_SAMPLER_STEP_H
#define SF_SAMPLER_STEP_H

#if defined(__CUDACC__)
#define SF_STEP_HD __host__ __device__
#else
#define SF_STEP_HD
#endif

#define SF_MAX_STAGES 3
#define SF_MAX_HISTORY 3

typedef struct {
    int stages;                               /* score evaluations per step */
    double time[SF_MAX_STAGES];               /* stage times (time[0] = s, or the churned time) */
    double a[SF_MAX_STAGES];                  /* a_0 = 1 unless the stage changes time first (churn) */
    double b[SF_MAX_STAGES][SF_MAX_STAGES];   /* b_ij, j < i */
    double n[SF_MAX_STAGES];                  /* the noise in the stage inputs */
    double A, B[SF_MAX_STAGES], C;            /* the result */
    double H[SF_MAX_HISTORY];                 /* on the denoised values of previous steps */
    int push;                                 /* 1: keep this step's D in the history ring */
    double P_x, P_eps, P_z;                   /* D = P_x x + P_eps eps_0 + P_z z */
} sf_step_plan;

/* Whether the step draws z (noise in a stage input or in the result). */
static SF_STEP_HD inline int sf_step_noisy(const sf_step_plan *p)
{
    int noisy = p->C != 0;
    for (int i = 0; i < p->stages; i++) noisy |= p->n[i] != 0;
    return noisy;
}

/* Whether stage i's input is x itself (no copy needed). */
static SF_STEP_HD inline int sf_step_input_is_x(const sf_step_plan *p, int i)
{
    return i == 0 && p->a[0] == 1 && p->n[0] == 0;
}

/* u_i for one coordinate, from x, the eps of earlier stages (eps[j] for j < i) and z. */
static SF_STEP_HD inline double sf_step_stage_input(const sf_step_plan *p, int i, double x, const double *eps, double z)
{
    double u = p->a[i] * x + p->n[i] * z;
    for (int j = 0; j < i; j++) u += p->b[i][j] * eps[j];
    return u;
}

/* The step's denoised value D for the history ring. */
static SF_STEP_HD inline double sf_step_denoised(const sf_step_plan *p, double x, const double *eps, double z)
{
    return p->P_x * x + p->P_eps * eps[0] + p->P_z * z;
}

/* x_t for one coordinate, from x, every stage's eps, the history (hist[m] = D_{k-1-m}) and z. */
static SF_STEP_HD inline double sf_step_result(const sf_step_plan *p, double x, const double *eps, const double *hist,
                                               double z)
{
    double r = p->A * x + p->C * z;
    for (int j = 0; j < p->stages; j++) r += p->B[j] * eps[j];
    for (int m = 0; m < SF_MAX_HISTORY; m++)
        if (p->H[m] != 0) r += p->H[m] * hist[m];
    return r;
}

/* The ring slot of D_{k-1-m} at step k (slot of step j: j mod SF_MAX_HISTORY). */
static SF_STEP_HD inline int sf_step_slot(int k, int m) { return ((k - 1 - m) % SF_MAX_HISTORY + SF_MAX_HISTORY) % SF_MAX_HISTORY; }

#endif
