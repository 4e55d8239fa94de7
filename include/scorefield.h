/* scorefield: exact Gaussian-mixture score fields of diffusion models, on the CPU and on CUDA.
 * The whole public C API. Every fallible function returns an sf_status; on failure
 * sf_last_error() gives a one-line message naming the input and the problem.
 * The library never exits or aborts, and keeps no global state besides that message. */
#ifndef SCOREFIELD_H
#define SCOREFIELD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SF_VERSION "0.1.0"

/* ---------------------------------------------------------------- status */

typedef enum {
    SF_OK = 0,
    SF_ERR_INVALID = 1,   /* bad argument or bad input data (the message says which) */
    SF_ERR_IO = 2,        /* a file could not be opened, read or written */
    SF_ERR_FORMAT = 3,    /* a file was read but its contents are malformed */
    SF_ERR_NOMEM = 4,     /* host allocation failed */
    SF_ERR_NO_CUDA = 5,   /* CUDA backend asked for, but not built in or no device present */
    SF_ERR_CUDA = 6,      /* a CUDA, cuBLAS or cuFFT call failed (message names call, file, line) */
    SF_ERR_NUMERIC = 7    /* a result is not finite where it must be */
} sf_status;

/* Message of the last failure on this thread ("" if none). */
const char *sf_last_error(void);
/* Short name of a status code, e.g. "invalid input". */
const char *sf_status_name(sf_status status);

/* ---------------------------------------------------------------- context */

/* CPU: the default on a machine without a GPU. REFERENCE: the plain float64 CPU path, the oracle
 * every other backend is checked against. AUTO: CUDA when a device is present, else CPU. */
typedef enum { SF_BACKEND_CPU = 0, SF_BACKEND_CUDA = 1, SF_BACKEND_AUTO = 2, SF_BACKEND_REFERENCE = 3 } sf_backend;
typedef enum { SF_PRECISION_F64 = 0, SF_PRECISION_F32 = 1 } sf_precision;

typedef struct sf_context sf_context;

/* AUTO picks CUDA when a device is present, the CPU otherwise. precision applies to the GPU;
 * the CPU paths are always float64. device is the CUDA ordinal (ignored on the CPU). */
sf_status sf_context_create(sf_context **ctx, sf_backend backend, sf_precision precision, int device);
void sf_context_destroy(sf_context *ctx);
sf_backend sf_context_backend(const sf_context *ctx);     /* the resolved backend (never AUTO) */
/* Parses "cpu", "cuda", "auto", "reference"; the name of a backend. */
sf_status sf_backend_parse(const char *name, sf_backend *backend);
const char *sf_backend_name(sf_backend backend);
sf_precision sf_context_precision(const sf_context *ctx);
/* Caps the particles per GPU batch (0: derive from free device memory, the default). */
void sf_context_set_max_batch(sf_context *ctx, size_t max_batch);

/* The GEMMs that screen components at large d on the GPU in float32 (float64 always uses exact
 * DGEMM): EXACT = float32 GEMM (the default); TF32 = tensor cores on inputs rounded to 10 mantissa
 * bits (about 8x the float32 rate on an H100/H200); 3XTF32 = three TF32 passes on the inputs split
 * into a TF32 part and its remainder (about float32 accuracy, 2-3x the float32 rate). The
 * screening bound includes the mode's input rounding and every surviving component is recomputed
 * in float32, so the results keep float32 accuracy in every mode; a coarser mode only lets more
 * components survive screening. The benchmark bench_gpu reports each mode's measured error. */
typedef enum { SF_GEMM_EXACT = 0, SF_GEMM_TF32 = 1, SF_GEMM_3XTF32 = 2 } sf_gemm_math;
sf_status sf_context_set_gemm_math(sf_context *ctx, sf_gemm_math math);

/* 1 if this library was built with CUDA. */
int sf_cuda_built(void);
/* Number of usable CUDA devices; 0 with a reason in *why (static string) when none. */
int sf_cuda_device_count(const char **why);
/* One-line description of CUDA device `device` into buf (name, memory, compute capability). */
sf_status sf_cuda_device_describe(int device, char *buf, size_t len);

/* ---------------------------------------------------------------- schedules (SPEC.md A) */

typedef enum {
    SF_SCHEDULE_VE = 0,        /* sigma = sigma_min (sigma_max/sigma_min)^t, alpha = 1 */
    SF_SCHEDULE_VP_LINEAR = 1, /* beta from beta_min to beta_max over t in [0, 1] */
    SF_SCHEDULE_VP_COSINE = 2, /* Nichol-Dhariwal, offset s; t in [0, 1) */
    SF_SCHEDULE_OU = 3,        /* dx = -x dt + sqrt(2) dW (reference only) */
    SF_SCHEDULE_DIRECT = 4     /* a given (alpha, sigma) pair; no time derivatives */
} sf_schedule_kind;

typedef struct {
    sf_schedule_kind kind;
    double sigma_min, sigma_max; /* ve: defaults 0.01, 50 */
    double beta_min, beta_max;   /* vp-linear: defaults 0.1, 20 */
    double cosine_s;             /* vp-cosine: default 0.008 */
    double alpha, sigma;         /* direct */
} sf_schedule;

/* A schedule of the given kind with the default parameters of DESIGN.md. */
sf_schedule sf_schedule_default(sf_schedule_kind kind);
/* Parses "ve", "vp-linear", "vp-cosine", "ou". */
sf_status sf_schedule_kind_parse(const char *name, sf_schedule_kind *kind);
const char *sf_schedule_kind_name(sf_schedule_kind kind);

/* Everything a time t gives, in the stable forms of SPEC.md A. */
typedef struct {
    double t;
    double alpha, sigma, sigma2; /* sigma2 = sigma^2 computed without cancellation */
    double tau;                  /* heat time sigma^2 / alpha^2 */
    int has_time_derivatives;    /* 0 for a direct (alpha, sigma) pair */
    double dalpha, dsigma2;      /* d alpha/dt, d sigma^2/dt */
    double f, g2;                /* drift coefficient alpha'/alpha and g^2 = d sigma^2/dt - 2 f sigma^2 */
    double dtau;                 /* d tau/dt = g^2/alpha^2 */
} sf_time;

/* Fills *out for time t. Refuses t outside the schedule's range, alpha <= 0, sigma < 0. */
sf_status sf_schedule_at(const sf_schedule *schedule, double t, sf_time *out);
/* The heat frame of SPEC.md 0 at heat time tau >= 0 as a time: alpha = 1, sigma^2 = tau (a
 * direct pair, so heat-frame outputs of sf_evaluate are the fields u(y, tau) themselves). */
sf_status sf_time_heat(double tau, sf_time *out);
/* Inverse of the heat time: the t with tau(t) = tau (SPEC.md A, log-SNR inverse). */
sf_status sf_schedule_t_of_tau(const sf_schedule *schedule, double tau, double *t);

/* ---------------------------------------------------------------- mixtures (SPEC.md B) */

typedef enum { SF_COV_ISOTROPIC = 0, SF_COV_DIAGONAL = 1, SF_COV_LOWRANK = 2 } sf_cov_kind;

typedef struct sf_mixture sf_mixture;

/* An empty mixture in R^dim; add components, each validated as it is added. Weights are
 * normalised to sum 1 when the mixture is used. */
sf_status sf_mixture_create(sf_mixture **mix, int dim);
void sf_mixture_destroy(sf_mixture *mix);
/* Covariance var * I (var >= 0). */
sf_status sf_mixture_add_isotropic(sf_mixture *mix, double weight, const double *mean, double var);
/* Covariance diag(var[0..dim-1]) (each >= 0). */
sf_status sf_mixture_add_diagonal(sf_mixture *mix, double weight, const double *mean, const double *var);
/* Covariance U diag(eig) U^T + var * I, U given as `rank` orthonormal rows of length dim
 * (row-major rank x dim), eig > 0, var >= 0 (var = 0: data on an affine subspace). */
sf_status sf_mixture_add_lowrank(sf_mixture *mix, double weight, const double *mean, double var,
                                 int rank, const double *basis, const double *eig);
/* K isotropic components at once: weights[K], means[K x dim], vars[K]. */
sf_status sf_mixture_create_isotropic(sf_mixture **mix, int dim, int K, const double *weights,
                                      const double *means, const double *vars);

/* Reads the JSON formats of DESIGN.md (components form, or the compact form naming .npy files
 * relative to the JSON file). */
sf_status sf_mixture_read_json(sf_mixture **mix, const char *path);

int sf_mixture_dim(const sf_mixture *mix);
int sf_mixture_count(const sf_mixture *mix);
sf_cov_kind sf_mixture_kind(const sf_mixture *mix, int k);
int sf_mixture_rank(const sf_mixture *mix, int k);          /* 0 unless low-rank */
double sf_mixture_weight(const sf_mixture *mix, int k);     /* normalised */
const double *sf_mixture_mean(const sf_mixture *mix, int k);
/* Component k's diagonal covariance part (dim values; constant for isotropic and low-rank). */
const double *sf_mixture_variances(const sf_mixture *mix, int k);
/* Component k's basis rows (rank x dim, row-major; NULL when rank 0). */
const double *sf_mixture_basis(const sf_mixture *mix, int k, int *rank);
/* The number of zero eigenvalues of C_k: the codimension of the affine subspace component k lives
 * on (0 for a full-rank covariance, dim for a point mass). */
int sf_mixture_codimension(const sf_mixture *mix, int k);

/* SF_OK if every component's noised covariance is non-singular at `time` (refuses, e.g., data on
 * a subspace at sigma = 0), with a message naming the component otherwise. */
sf_status sf_mixture_check_time(const sf_mixture *mix, const sf_time *time);

/* ---------------------------------------------------------------- score evaluation */

/* SF_OK if all n x d values are finite; otherwise names the first bad particle and coordinate. */
sf_status sf_particles_check(const double *x, size_t n, int d);

/* Caller-owned host arrays, row-major; a NULL pointer means "not wanted". Data-frame outputs are
 * at x and time t; heat-frame outputs are in heat coordinates (SPEC.md 0): y = x / alpha,
 * tau = sigma^2 / alpha^2, u(y, tau) = grad_y log q = alpha s. */
typedef struct {
    double *score;   /* N x d: grad log p_t */
    double *logp;    /* N: log p_t */
    double *resp;    /* N x K: responsibilities r_k (posterior component probabilities) */
    double *div;     /* N: divergence of the score (trace of the Hessian of log p_t) */
    double *denoise; /* N x d: E[x_0 | x_t = x] */
    /* derivatives of the score (SPEC.md B) */
    double *lap;           /* N x d: vector Laplacian of the score */
    const double *hvp_dir; /* N x d input: directions v for hvp */
    double *hvp;           /* N x d: H v, H the Hessian of log p_t */
    double *hvp_score;     /* N x d: H s = (s . grad) s, the Burgers nonlinearity */
    double *hessian;       /* N x d x d: the full Hessian (memory N d^2: for small d) */
    double *dt_score;      /* N x d: d s / dt at fixed x (needs a schedule) */
    double *dt_logp;       /* N: d log p_t / dt at fixed x (needs a schedule) */
    /* heat frame and the Burgers structure (SPEC.md C) */
    double *dtau_score;       /* N x d: d u / d tau at y = x / alpha */
    double *dtau_logp;        /* N: d log q / d tau at y */
    double *residual;         /* N x d: Burgers residual d_tau u - Lap u / 2 - H u (defined for direct pairs too) */
    double *residual_scale;   /* N: max(|d_tau u|, |Lap u| / 2, |H u|) */
    double *residual_t;       /* N x d: VP form d_t s - g^2 (Lap s / 2 + H s) + f (s + H x) (needs a schedule) */
    double *residual_t_scale; /* N: max(|d_t s|, g^2 |Lap s| / 2, |H (g^2 s - f x)|, |f s|) */
} sf_outputs;

/* A plan: the mixture's field at one time, prepared once for the context's backend (on CUDA,
 * uploaded once) and evaluated over any number of particle batches, as FFTW and FINUFFT plans
 * are. sf_plan_set_time moves it to another time, refreshing only the time-dependent parts (what
 * a sampler stage does). The plan borrows ctx and mix: both must outlive it. A plan is used by
 * one thread at a time. */
typedef struct sf_plan sf_plan;

sf_status sf_plan_create(sf_plan **plan, sf_context *ctx, const sf_mixture *mix, const sf_time *time);
/* Refuses a time at which a component is singular; the plan then keeps no time and refuses to
 * evaluate until a valid time is set. */
sf_status sf_plan_set_time(sf_plan *plan, const sf_time *time);
/* Evaluates the requested fields at the n particles x (n x d, row-major). Work shared by several
 * outputs is done once. The particle range is the caller's: evaluate x + i*d for a sub-range to
 * split work across calls, threads (one plan each) or processes. */
sf_status sf_plan_evaluate(sf_plan *plan, const double *x, size_t n, const sf_outputs *out);
void sf_plan_destroy(sf_plan *plan);

/* One-shot: sf_plan_create, sf_plan_evaluate, sf_plan_destroy. */
sf_status sf_evaluate(sf_context *ctx, const sf_mixture *mix, const sf_time *time,
                      const double *x, size_t n, const sf_outputs *out);

/* ---------------------------------------------------------------- Burgers structure at particles (SPEC.md C) */

/* Advances the score carried by particles at fixed heat coordinates y (n x d) from heat time tau0
 * to tau1 in `steps` equal RK4 steps of d_tau u = Lap u_mix / 2 + H_mix u, the Laplacian and the
 * Hessian taken from the mixture at each stage. u (n x d) holds u(y, tau0) on entry (usually the
 * mixture's score there) and the advanced field on return: compare it with the exact u(y, tau1). */
sf_status sf_burgers_advance(sf_context *ctx, const sf_mixture *mix, const double *y, size_t n, double tau0,
                             double tau1, int steps, double *u);

/* Irrotationality at particles: the antisymmetric part of the Jacobian J of the score, measured by
 * central differences of the evaluated field (the Hessian output is symmetric by construction, so
 * it cannot show curl). Per particle, curl[i] is the largest |w.Jv - v.Jw| / (|Jv||w| + |Jw||v|)
 * over `probes` random Gaussian pairs (v, w), or, with probes = 0, ||J - J^T|| / (2 ||J||)
 * (Frobenius) from the full d x d Jacobian (2d evaluations per particle: for small d). */
sf_status sf_score_curl(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x, size_t n,
                        int probes, uint64_t seed, double *curl);

/* ---------------------------------------------------------------- samplers (SPEC.md F, H) */

typedef enum {
    SF_SAMPLER_EM = 0,        /* Euler-Maruyama for the h-family (h = 1 reverse SDE, h = 0 PF-ODE) */
    SF_SAMPLER_ODE_EULER = 1, /* probability-flow ODE, Euler */
    SF_SAMPLER_HEUN = 2,      /* probability-flow ODE, Heun (2nd order) */
    SF_SAMPLER_DDPM = 3,      /* ancestral sampling = DDIM(eta = 1) */
    SF_SAMPLER_DDIM = 4,      /* DDIM(eta) */
    SF_SAMPLER_DPM1 = 5,      /* DPM-Solver orders 1, 2, 3 (steps in log-SNR) */
    SF_SAMPLER_DPM2 = 6,
    SF_SAMPLER_DPM3 = 7
} sf_sampler_kind;

typedef enum { SF_SPACING_T = 0, SF_SPACING_LAMBDA = 1, SF_SPACING_GIVEN = 2 } sf_spacing;

typedef struct {
    sf_sampler_kind kind;
    double h;              /* EM: noise level of the h-family (default 1) */
    double eta;            /* DDIM: 0 deterministic, 1 = DDPM */
    int steps;
    sf_spacing spacing;    /* uniform in t, uniform in log-SNR lambda, or `times` */
    const double *times;   /* SF_SPACING_GIVEN: steps + 1 decreasing times from t1 to t0 */
    double t1, t0;         /* generation runs from t1 down to t0 < t1 */
    uint64_t seed;         /* noise: Philox4x32-10 keyed by (seed, particle, first_step + step, dimension) */
    uint32_t first_step;   /* the global index of this run's first step (default 0): a run continued
                              by another call (t1 -> tm, then tm -> t0) passes the steps already taken,
                              so the continuation draws fresh noise and the two calls equal one run */
    const int *class_components; /* guidance: the class as a set of component indices (NULL: none) */
    int class_size;
    double guidance;       /* classifier-free weight w: s~ = s + (1 + w)(s_c - s); w = -1 samples p_t */
} sf_sampler;

/* A sampler of the given kind with defaults: h = 1, eta = 0, 100 steps uniform in t, no guidance. */
sf_sampler sf_sampler_default(sf_sampler_kind kind);
sf_status sf_sampler_kind_parse(const char *name, sf_sampler_kind *kind); /* em, ode-euler, heun, ddpm, ddim, dpm1-3 */
const char *sf_sampler_kind_name(sf_sampler_kind kind);

/* Called every `every` steps (and at the start and the end) with the particles at time t. */
typedef sf_status (*sf_trajectory_fn)(void *data, int step, double t, const double *x, size_t n, int d);

/* Exact samples of the mixture diffused to `time`: x = alpha x0 + sigma z, x0 ~ p_0, drawn with
 * Philox from (seed, first_particle + i): any split of particles across calls gives the same set. */
sf_status sf_sample_marginal(const sf_mixture *mix, const sf_time *time, uint64_t seed, size_t first_particle,
                             double *x, size_t n);

/* Runs the sampler on particles x (n x d, in place) from t1 down to t0 with the exact (optionally
 * guided) score. first_particle numbers the particles for the noise keys (shard-independent).
 * trajectory (may be NULL) is called every `every` steps. */
sf_status sf_sample(sf_context *ctx, const sf_mixture *mix, const sf_schedule *schedule, const sf_sampler *sampler,
                    double *x, size_t n, size_t first_particle, sf_trajectory_fn trajectory, void *data, int every);

/* log p_{t0}(x) of points x (n x d) by integrating the probability-flow ODE from t0 to t1 with
 * the exact divergence (instantaneous change of variables) and adding the exact log p_{t1}:
 * adaptive Dormand-Prince 5(4), step size shared by the batch, local error per step below
 * atol + rtol |y| for every particle. steps_taken (may be NULL) reports the accepted steps. */
sf_status sf_loglik_ode(sf_context *ctx, const sf_mixture *mix, const sf_schedule *schedule, double t0, double t1,
                        const double *x, size_t n, double rtol, double atol, double *logp, int *steps_taken);

/* First-order WKB coefficient (SPEC.md F) for a perturbed score model s_theta = scale * s + shift
 * of Gaussian data (a mixture of one isotropic or diagonal component): the model's samplers of
 * the h-family have marginals q^h with log q^h_t0 = log q^0_t0 + h^2 l_1 + O(h^4), and
 *   l_1(x) = - int_t0^t1 g^2 [div d + d . grad log q^0_t] / 2 dt,   d = s_theta - grad log q^0_t,
 * along the model's probability-flow trajectory from x at t0 (q^h_t1 = p_t1 for every h). The
 * model is affine in x, so every q^h is Gaussian and is computed here by ODEs for its mean and
 * variance (RK4, `steps` steps). Outputs (each may be NULL): ell1 = l_1(x); log_q = log q^h_t0(x)
 * for the given h (h = 0: the model's probability-flow likelihood). shift may be NULL (zero). */
sf_status sf_wkb_gaussian(const sf_mixture *mix, const sf_schedule *schedule, double t0, double t1, double scale,
                          const double *shift, double h, const double *x, size_t n, int steps, double *ell1,
                          double *log_q);

/* ---------------------------------------------------------------- speciation (SPEC.md D) */

/* A symmetric binary split: mix has two components of equal weight and equal covariance C, means
 * c +- mu. Critical heat time: the root of mu^T (C + tau I)^{-1} mu = 1 (0 if mu^T C^{-1} mu <= 1:
 * no speciation). Refuses mixtures that are not such a pair. */
sf_status sf_speciation_tau_closed_form(const sf_mixture *mix, double *tau_c);

/* The curvature of log q at the interface, numerically, for any binary split of a mixture into
 * the component sets A and B at heat time tau: the interface point y* on the segment between the
 * two sub-mixture means where log q_A = log q_B, the normal criterion kappa_n = n^T H n / |n|^2
 * with n = grad log(q_A / q_B) (SPEC.md D), and the largest eigenvalue `top` of H (the Hessian of
 * log q at y*; full d x d, for moderate d). top > 0: y* is a saddle between two basins. For a
 * symmetric pair kappa_n changes sign at the closed-form tau_c only when mu is an eigenvector of C;
 * top changes sign there always. Any output may be NULL. */
sf_status sf_speciation_normal_curvature(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na,
                                         const int *set_b, int nb, double tau, double *kappa_n, double *top,
                                         double *y_star);
/* The heat time where the top curvature changes sign (bisection in log tau over [tau_lo, tau_hi],
 * to relative tolerance rtol): the numerical critical time. */
sf_status sf_speciation_tau_numeric(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na, const int *set_b,
                                    int nb, double tau_lo, double tau_hi, double rtol, double *tau_c);

/* Unequal weights (SPEC.md D): w N(-a, v) + (1 - w) N(a, v) along the axis, v = s^2 + tau, is
 * bimodal iff delta = a / sqrt(v) > 1 and |ln(w / (1 - w))| < 2 delta sqrt(delta^2 - 1) -
 * 2 arccosh(delta) (a saddle-node, not a pitchfork); tau_c solves the equality (0: never bimodal). */
sf_status sf_speciation_tau_asymmetric(double w, double a, double s2, double *tau_c);

/* Local maxima of log q (heat time tau) along origin + r dir, r in [-half_length, half_length],
 * on `points` equally spaced points: the numerical mode count. */
sf_status sf_count_modes_on_line(sf_context *ctx, const sf_mixture *mix, double tau, const double *origin,
                                 const double *dir, double half_length, size_t points, int *modes);

/* Least-squares fit of u(r) = c0 + c1 r + b tanh(r / width) to n samples (the tanh layer of
 * SPEC.md D: for a symmetric isotropic pair along the axis, width = (s^2 + tau)/a exactly).
 * The width is found by golden-section search over [wmin, wmax]; rms is the fit's residual. */
sf_status sf_fit_tanh_layer(const double *r, const double *u, size_t n, double wmin, double wmax, double *width,
                            double *amplitude, double *rms);

/* Error amplification across the layer (SPEC.md D): the probability-flow ODE in heat time,
 * dy/d tau = -u(y, tau) / 2, run from tau1 down to tau0 (RK4, `steps` steps) from y +- eps dir;
 * G = |y+(tau0) - y-(tau0)| / (2 eps |dir|). */
sf_status sf_amplification_pf(sf_context *ctx, const sf_mixture *mix, const double *y, const double *dir, double tau1,
                              double tau0, int steps, double eps, double *gain);

/* Top eigenvalue of the data covariance (Biroli et al.'s spectral time t_s = ln(Lambda) / 2 for
 * the OU process dx = -x dt + sqrt(2) dW). */
sf_status sf_data_covariance_top_eigenvalue(const sf_mixture *mix, double *lambda);

/* ---------------------------------------------------------------- non-Gaussian data: the quartic double well */

/* p0(x) proportional to exp(-(x^2 - 1)^2 / eps) in 1-D, diffused to heat time tau, by quadrature
 * of the posterior p(x | y) ~ p0(x) exp(-(y - x)^2 / (2 tau)) on a fine grid (SPEC.md D): at the
 * points y (n) the score u = (E[x|y] - y)/tau and its derivatives u_y = (Var - tau)/tau^2,
 * u_yy = k3/tau^3 (k3 the third central moment) and d u/d tau at fixed y; any output may be NULL.
 * A d-dimensional product of such wells has the score of each coordinate. */
sf_status sf_doublewell_field(double eps, double tau, const double *y, size_t n, double *u, double *u_y, double *u_yy,
                              double *u_tau);
/* The critical heat time: the root of E[x^2 | y = 0; tau] = tau (where u_y(0) changes sign), and
 * the moment surrogate a_eff^2 - s_eff^2 with a_eff = E|x|, s_eff^2 = E x^2 - (E|x|)^2 under p0. */
sf_status sf_doublewell_tau_c(double eps, double *tau_c, double *surrogate);

/* The radial double well in 2-D, p0(x) ~ exp(-(|x|^2 - 1)^2 / eps) (a ring), diffused to heat
 * time tau, by quadrature of the posterior in polar coordinates: at the points y (n x 2) the score
 * u = (E[x|y] - y)/tau (n x 2), its Jacobian H = (Cov[x|y] - tau I)/tau^2 (n x 4, row-major), its
 * Laplacian (Lap u)_i = sum_j k3_ijj / tau^3 (third central moments) and d u/d tau at fixed y;
 * any output may be NULL. */
sf_status sf_ringwell_field(double eps, double tau, const double *y, size_t n, double *u, double *jacobian, double *lap,
                            double *u_tau);
/* The ring's critical heat time: the centre turns from a maximum of log q into a minimum (the
 * continuous symmetry breaks) where E[|x|^2 | y = 0; tau] = 2 tau. */
sf_status sf_ringwell_tau_c(double eps, double *tau_c);

/* ---------------------------------------------------------------- information flow (SPEC.md G) */

/* Generative bandwidth b(t) = dH(X0 | Xt)/dt = g^2 E_{p_t}[div s + d / sigma^2] / 2 by Monte Carlo
 * over n exact draws of p_t (Philox, seed), with its standard error. */
sf_status sf_bandwidth(sf_context *ctx, const sf_mixture *mix, const sf_time *time, size_t n, uint64_t seed,
                       double *b, double *std_error);

/* Label entropy h_Y(x) = -sum_k r_k ln r_k at each particle (the conditional entropy of the
 * component label given x_t = x; SPEC.md G). */
sf_status sf_label_entropy(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x, size_t n,
                           double *h);

/* ---------------------------------------------------------------- the periodic grid (SPEC.md C, grid form) */

/* A spectral grid of N^d points (d = 1, 2, 3; N even) on the periodic box [-L/2, L/2)^d, with
 * plans made once: FFTW on the CPU, cuFFT on CUDA (the context's backend and precision).
 * Point j along an axis is y_j = (j - N/2) L / N; arrays of points are row-major (last axis
 * fastest); vector fields are N^d x d (point-major, like particles). */
typedef struct sf_grid sf_grid;

/* Called during long runs with the fraction done, for progress reports; may be NULL. */
typedef void (*sf_progress)(void *data, double fraction);

sf_status sf_grid_create(sf_grid **grid, sf_context *ctx, int dim, int n, double box);
void sf_grid_destroy(sf_grid *grid);
size_t sf_grid_points(const sf_grid *grid);
/* Coordinates of every point, N^d x d. */
void sf_grid_coordinates(const sf_grid *grid, double *y);

/* The exact periodised field in heat time tau: the density
 *   q(y) = floor / L^d + (1 - floor) sum_k w_k sum_{|n|_inf <= images} N(y + n L; mu_k, C_k + tau I)
 * (a uniform floor, 0 <= floor < 1, keeps q away from 0) and its score u = grad log q, evaluated
 * through the score engine. density (N^d) or u (N^d x d) may be NULL. */
sf_status sf_grid_exact(sf_grid *grid, const sf_mixture *mix, double floor, int images, double tau, double *density,
                        double *u);
/* Route A, exact heat propagation (Cole-Hopf): the density at tau0 -> its heat flow over dtau,
 * q_hat e^{-|k|^2 dtau / 2} -> u = IFFT(i k q_hat) / IFFT(q_hat) at tau0 + dtau. */
sf_status sf_grid_heat_route(sf_grid *grid, const double *density, double dtau, double *u);
/* Route B, direct Burgers: u (N^d x d, a gradient field) advanced in place over dtau by
 * d_tau u_hat = -|k|^2 u_hat / 2 + i k FFT(|u|^2 / 2) (2/3-rule dealiased), integrating-factor RK4
 * in `steps` steps; 4 (d + 1) FFTs per step. */
sf_status sf_grid_burgers_route(sf_grid *grid, double *u, double dtau, int steps, sf_progress progress, void *data);

/* ---------------------------------------------------------------- device arrays (CUDA contexts) */

typedef enum { SF_DTYPE_F64 = 0, SF_DTYPE_F32 = 1 } sf_dtype; /* element types of arrays (.npy too) */

/* Caller-owned device arrays (CUDA device pointers), row-major as in sf_outputs; NULL: not wanted.
 * The data-frame outputs of sf_outputs; the heat-frame outputs and residuals are host-only. */
typedef struct {
    void *score, *logp, *resp, *div, *denoise, *lap;
    const void *hvp_dir; /* n x d input: directions for hvp */
    void *hvp, *hessian, *dt_score, *dt_logp;
} sf_device_outputs;

/* Evaluates a plan of a CUDA context on n particles x already on the device: x and every output
 * are device arrays of `dtype`, which must be the context's precision (SF_DTYPE_F64 for
 * SF_PRECISION_F64, SF_DTYPE_F32 for F32). All work runs on `stream` (a cudaStream_t; NULL: the
 * legacy default stream), with no host copy of the data, for interoperation with PyTorch, CuPy or
 * JAX arrays. The input is checked on the device (finite; in float32 also |x| <= 2^60, so that
 * squares stay finite), and the call returns after one synchronisation of the stream, with an
 * error naming the first bad particle if there was one. One call at a time per context. */
sf_status sf_plan_evaluate_device(sf_plan *plan, sf_dtype dtype, const void *x, size_t n, const sf_device_outputs *out,
                                  void *stream);

/* ---------------------------------------------------------------- .npy arrays */

#define SF_NPY_MAX_DIMS 8

typedef struct {
    int ndim;
    size_t shape[SF_NPY_MAX_DIMS];
    double *data; /* converted to float64, C order; free with sf_array_free */
} sf_array;

size_t sf_array_size(const sf_array *a);
void sf_array_free(sf_array *a);
/* Reads a little-endian float64 or float32 .npy (v1, v2 or v3 header), C order. */
sf_status sf_npy_read(const char *path, sf_array *out);
/* Writes float64 (or float32) .npy atomically: to a temporary name, then renamed. */
sf_status sf_npy_write(const char *path, const double *data, int ndim, const size_t *shape,
                       sf_dtype dtype);

/* Streaming writer for arrays larger than memory: open with the full shape, append values in C
 * order, close with commit = 1 to rename into place (all values must have been appended) or 0 to
 * discard. Until then the data live under a temporary name beside `path`. */
typedef struct sf_npy_writer sf_npy_writer;
sf_status sf_npy_writer_open(sf_npy_writer **writer, const char *path, int ndim, const size_t *shape, sf_dtype dtype);
sf_status sf_npy_writer_append(sf_npy_writer *writer, const double *data, size_t count);
sf_status sf_npy_writer_close(sf_npy_writer *writer, int commit);

#ifdef __cplusplus
}
#endif
#endif
