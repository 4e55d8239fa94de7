/* scorefield: exact Gaussian-mixture score fields of diffusion models, on the CPU and on CUDA.
 * The whole public C API. Every fallible function returns an sf_status; on failure
 * sf_last_error() gives a one-line message naming the input and the problem.
 * Every function validates its pointers, indices and sizes: a NULL where an object or an array
 * is needed, an index out of range or a count whose array cannot fit in memory is SF_ERR_INVALID
 * (accessors that return values return the sentinel stated beside them and set the message).
 * The library never exits or aborts, and keeps no global state besides that message and the list
 * of the temporary files it is writing (so that an interrupted program can remove them). */
#ifndef SCOREFIELD_H
#define SCOREFIELD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SF_VERSION "0.1.0"

/* Marks the exported API: the shared library is built with hidden visibility, so everything else
 * stays internal to it. */
#if defined(_WIN32)
#if defined(SF_BUILDING_LIBRARY)
#define SF_API __declspec(dllexport)
#else
#define SF_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define SF_API __attribute__((visibility("default")))
#else
#define SF_API
#endif

/* Growable structs. sf_schedule, sf_time, sf_sampler and sf_outputs begin with `size`, the
 * sizeof the struct as the caller's header declared it, so that fields can be appended in later
 * versions without breaking programs built against this one (the library reads only the fields
 * that `size` covers, and refuses a larger struct whose unknown trailing fields are not zero).
 * The library's constructors set it (sf_schedule_default, sf_sampler_default, sf_schedule_at,
 * sf_time_heat: header inlines that pass sizeof to the exported sf_*_init functions); a struct
 * written by hand sets `.size = sizeof(T)` (SF_OUTPUTS_INIT does) or leaves it 0, which means the
 * layout of this version (0.1). A field added later means "as before" when zero.
 * Result structs that the library fills (sf_speciation_summary, sf_tanh_layer, sf_amplification,
 * sf_branching_summary, sf_blowup_row, sf_doublewell_summary, sf_peak_check, sf_budget) grow the
 * same way: their functions are header inlines passing sizeof to an exported *_sized function,
 * which writes only the fields the caller's version has. The small value types nested in them
 * (sf_estimate, sf_gain, sf_pair_peak) and sf_array keep their layout. */

/* ---------------------------------------------------------------- status */

typedef enum {
    SF_OK = 0,
    SF_ERR_INVALID = 1,   /* bad argument or bad input data (the message says which) */
    SF_ERR_IO = 2,        /* a file could not be opened, read or written */
    SF_ERR_FORMAT = 3,    /* a file was read but its contents are malformed */
    SF_ERR_NOMEM = 4,     /* host allocation failed */
    SF_ERR_NO_CUDA = 5,   /* CUDA backend asked for, but not built in or no device present */
    SF_ERR_CUDA = 6,      /* a CUDA, cuBLAS or cuFFT call failed (message names call, file, line) */
    SF_ERR_NUMERIC = 7,   /* a result is not finite where it must be */
    SF_ERR_CANCELLED = 8, /* the work was cancelled (sf_context_cancel) */
    SF_ERR_CALLBACK = 9   /* a caller's callback failed (its own status is passed on when it gives one) */
} sf_status;

/* The library's version, e.g. "0.1.0" (SF_VERSION is the header's). */
SF_API const char *sf_version(void);

/* Message of the last failure on this thread ("" if none). */
SF_API const char *sf_last_error(void);
/* Short name of a status code, e.g. "invalid input". */
SF_API const char *sf_status_name(sf_status status);

/* Element types of caller arrays (particles, .npy files). */
typedef enum { SF_DTYPE_F64 = 0, SF_DTYPE_F32 = 1 } sf_dtype;

/* ---------------------------------------------------------------- context */

/* CPU: the default on a machine without a GPU. REFERENCE: the plain float64 CPU path, the oracle
 * every other backend is checked against. AUTO: CUDA when a device is present, else CPU. */
typedef enum { SF_BACKEND_CPU = 0, SF_BACKEND_CUDA = 1, SF_BACKEND_AUTO = 2, SF_BACKEND_REFERENCE = 3 } sf_backend;
typedef enum { SF_PRECISION_F64 = 0, SF_PRECISION_F32 = 1 } sf_precision;

typedef struct sf_context sf_context;

/* AUTO picks CUDA when a device is present, the CPU otherwise. precision applies to the GPU;
 * the CPU paths are always float64. device is the CUDA ordinal (ignored on the CPU). */
SF_API sf_status sf_context_create(sf_context **ctx, sf_backend backend, sf_precision precision, int device);
SF_API void sf_context_destroy(sf_context *ctx);
SF_API sf_backend sf_context_backend(const sf_context *ctx);     /* the resolved backend (never AUTO; AUTO for NULL) */
/* Parses "cpu", "cuda", "auto", "reference"; the name of a backend. */
SF_API sf_status sf_backend_parse(const char *name, sf_backend *backend);
SF_API const char *sf_backend_name(sf_backend backend);
SF_API sf_precision sf_context_precision(const sf_context *ctx); /* (sf_precision)-1 for NULL */
/* Cancellation: asks the work running on ctx to stop. The running call, and every later one on
 * ctx until sf_context_resume, returns SF_ERR_CANCELLED at its next check: between chunks of
 * particles in an evaluation (so in every sampler stage, likelihood or Burgers step and analysis
 * that evaluates the field) and before each call of a score model (sf_sample_model). Safe from
 * any thread and from a signal handler (a lock-free atomic store). Not checked inside: the grid
 * routes' steps and device-resident sampling (sf_sample with the mixture's score on CUDA). */
SF_API void sf_context_cancel(sf_context *ctx);
SF_API void sf_context_resume(sf_context *ctx);
SF_API int sf_context_cancelled(const sf_context *ctx);
/* Caps the particles per GPU batch (0: derive from free device memory, the default). */
SF_API void sf_context_set_max_batch(sf_context *ctx, size_t max_batch);

/* The GEMMs that screen components at large d on the GPU in float32 (float64 always uses exact
 * DGEMM): EXACT = float32 GEMM (the default); TF32 = tensor cores on inputs rounded to 10 mantissa
 * bits (about 8x the float32 rate on an H100/H200); 3XTF32 = three TF32 passes on the inputs split
 * into a TF32 part and its remainder (about float32 accuracy, 2-3x the float32 rate). The
 * screening bound includes the mode's input rounding and every surviving component is recomputed
 * in float32, so the results keep float32 accuracy in every mode; a coarser mode only lets more
 * components survive screening. The benchmark bench_gpu reports each mode's measured error. */
typedef enum { SF_GEMM_EXACT = 0, SF_GEMM_TF32 = 1, SF_GEMM_3XTF32 = 2 } sf_gemm_math;
SF_API sf_status sf_context_set_gemm_math(sf_context *ctx, sf_gemm_math math);

/* Several processes sharing one Monte Carlo estimate (MPI ranks; the library itself never uses
 * MPI). With a share set, the estimates that draw their own particles (sf_bandwidth,
 * sf_label_entropy_moments, sf_pair_peak_check, sf_entropy_budget) take only draws
 * [rank n / ranks, (rank + 1) n / ranks) of their n (balanced contiguous ranges of the global draw
 * indices, so every draw is the one a single process makes) and combine the sums they need with
 * `sum`, which must add `count` doubles in place over every process of the share (each calling it
 * in the same order) and return 0, or nonzero when it failed (then the estimate fails with
 * SF_ERR_IO). Adding the parts in rank order gives the same bits for the same number of ranks; a
 * single process's sums agree to rounding (about 1e-15 relative). ranks = 1 (or sum = NULL) ends
 * the sharing: every estimate is local again, the default. */
typedef int (*sf_sum_fn)(void *data, double *values, int count);
SF_API sf_status sf_context_set_share(sf_context *ctx, int rank, int ranks, sf_sum_fn sum, void *data);

/* 1 if this library was built with CUDA. */
SF_API int sf_cuda_built(void);
/* Number of usable CUDA devices; 0 with a reason in *why (static string) when none. */
SF_API int sf_cuda_device_count(const char **why);
/* One-line description of CUDA device `device` into buf (name, memory, compute capability). */
SF_API sf_status sf_cuda_device_describe(int device, char *buf, size_t len);

/* Called during long runs with the fraction done, for progress reports; may be NULL. */
typedef void (*sf_progress)(void *data, double fraction);

/* ---------------------------------------------------------------- schedules (docs/conventions.md) */

typedef enum {
    SF_SCHEDULE_VE = 0,        /* sigma = sigma_min (sigma_max/sigma_min)^t, alpha = 1 */
    SF_SCHEDULE_VP_LINEAR = 1, /* beta from beta_min to beta_max over t in [0, 1] */
    SF_SCHEDULE_VP_COSINE = 2, /* Nichol-Dhariwal, offset s; t in [0, 1) */
    SF_SCHEDULE_OU = 3,        /* dx = -x dt + sqrt(2) dW (reference only) */
    SF_SCHEDULE_DIRECT = 4,    /* a given (alpha, sigma) pair; no time derivatives */
    SF_SCHEDULE_EDM = 5,       /* Karras et al. 2022: alpha = 1, sigma = t, t in [0, sigma_max] */
    SF_SCHEDULE_FLOW = 6       /* rectified flow: alpha = 1 - t, sigma = t, t in [0, 1) */
} sf_schedule_kind;

typedef struct {
    size_t size;                 /* sizeof(sf_schedule), set by sf_schedule_default */
    sf_schedule_kind kind;
    double sigma_min, sigma_max; /* ve: defaults 0.01, 50; edm: 0.002, 80 (its sampling range) */
    double beta_min, beta_max;   /* vp-linear: defaults 0.1, 20 */
    double cosine_s;             /* vp-cosine: default 0.008 */
    double alpha, sigma;         /* direct */
} sf_schedule;

/* A schedule of the given kind with the default parameters of DESIGN.md. */
SF_API sf_status sf_schedule_init(sf_schedule *schedule, size_t size, sf_schedule_kind kind);
static inline sf_schedule sf_schedule_default(sf_schedule_kind kind)
{
    sf_schedule s;
    sf_schedule_init(&s, sizeof s, kind);
    return s;
}
/* Parses "ve", "vp-linear", "vp-cosine", "ou", "edm", "flow". */
SF_API sf_status sf_schedule_kind_parse(const char *name, sf_schedule_kind *kind);
SF_API const char *sf_schedule_kind_name(sf_schedule_kind kind);

/* Everything a time t gives, in the stable forms of docs/conventions.md. */
typedef struct {
    size_t size;                 /* sizeof(sf_time), set by the functions that fill it */
    double t;
    double alpha, sigma, sigma2; /* sigma2 = sigma^2 computed without cancellation */
    double tau;                  /* heat time sigma^2 / alpha^2 */
    int has_time_derivatives;    /* 0 for a direct (alpha, sigma) pair */
    double dalpha, dsigma2;      /* d alpha/dt, d sigma^2/dt */
    double f, g2;                /* drift coefficient alpha'/alpha and g^2 = d sigma^2/dt - 2 f sigma^2 */
    double dtau;                 /* d tau/dt = g^2/alpha^2 */
} sf_time;

/* Fills *out for time t. Refuses t outside the schedule's range, alpha <= 0, sigma < 0. */
SF_API sf_status sf_schedule_time(const sf_schedule *schedule, double t, sf_time *out, size_t size);
static inline sf_status sf_schedule_at(const sf_schedule *schedule, double t, sf_time *out)
{
    return sf_schedule_time(schedule, t, out, sizeof *out);
}
/* The heat frame of docs/conventions.md at heat time tau >= 0 as a time: alpha = 1, sigma^2 = tau (a
 * direct pair, so heat-frame outputs of sf_evaluate are the fields u(y, tau) themselves). */
SF_API sf_status sf_heat_time(double tau, sf_time *out, size_t size);
static inline sf_status sf_time_heat(double tau, sf_time *out) { return sf_heat_time(tau, out, sizeof *out); }
/* Inverse of the heat time: the t with tau(t) = tau (docs/conventions.md, log-SNR inverse). */
SF_API sf_status sf_schedule_t_of_tau(const sf_schedule *schedule, double tau, double *t);

/* ---------------------------------------------------------------- mixtures (docs/fields.md) */

typedef enum { SF_COV_ISOTROPIC = 0, SF_COV_DIAGONAL = 1, SF_COV_LOWRANK = 2 } sf_cov_kind;

typedef struct sf_mixture sf_mixture;

/* An empty mixture in R^dim; add components, each validated as it is added. Weights are
 * normalised to sum 1 when the mixture is used. */
SF_API sf_status sf_mixture_create(sf_mixture **mix, int dim);
SF_API void sf_mixture_destroy(sf_mixture *mix);
/* Covariance var * I (var >= 0). */
SF_API sf_status sf_mixture_add_isotropic(sf_mixture *mix, double weight, const double *mean, double var);
/* Covariance diag(var[0..dim-1]) (each >= 0). */
SF_API sf_status sf_mixture_add_diagonal(sf_mixture *mix, double weight, const double *mean, const double *var);
/* Covariance U diag(eig) U^T + var * I, U given as `rank` orthonormal rows of length dim
 * (row-major rank x dim), eig > 0, var >= 0 (var = 0: data on an affine subspace). */
SF_API sf_status sf_mixture_add_lowrank(sf_mixture *mix, double weight, const double *mean, double var,
                                 int rank, const double *basis, const double *eig);
/* K isotropic components at once: weights[K], means[K x dim], vars[K]. */
SF_API sf_status sf_mixture_create_isotropic(sf_mixture **mix, int dim, int K, const double *weights,
                                      const double *means, const double *vars);

/* Reads the JSON formats of DESIGN.md (components form, or the compact form naming .npy files
 * relative to the JSON file). */
SF_API sf_status sf_mixture_read_json(sf_mixture **mix, const char *path);

/* Accessors of component k (0 <= k < count). For a NULL mixture or a k out of range they return the
 * sentinel given (0, -1, NaN or NULL; sf_mixture_basis sets *rank = -1) and set the message. */
SF_API int sf_mixture_dim(const sf_mixture *mix);                  /* 0 for NULL */
SF_API int sf_mixture_count(const sf_mixture *mix);                /* 0 for NULL */
SF_API sf_cov_kind sf_mixture_kind(const sf_mixture *mix, int k);  /* (sf_cov_kind)-1 */
SF_API int sf_mixture_rank(const sf_mixture *mix, int k);          /* 0 unless low-rank; -1 */
SF_API double sf_mixture_weight(const sf_mixture *mix, int k);     /* normalised; NaN */
SF_API const double *sf_mixture_mean(const sf_mixture *mix, int k);
/* Component k's diagonal covariance part (dim values; constant for isotropic and low-rank). */
SF_API const double *sf_mixture_variances(const sf_mixture *mix, int k);
/* Component k's basis rows (rank x dim, row-major; NULL when rank 0). */
SF_API const double *sf_mixture_basis(const sf_mixture *mix, int k, int *rank); /* rank may be NULL */
/* The number of zero eigenvalues of C_k: the codimension of the affine subspace component k lives
 * on (0 for a full-rank covariance, dim for a point mass). */
SF_API int sf_mixture_codimension(const sf_mixture *mix, int k); /* -1 */

/* SF_OK if every component's noised covariance is non-singular at `time` (refuses, e.g., data on
 * a subspace at sigma = 0), with a message naming the component otherwise. */
SF_API sf_status sf_mixture_check_time(const sf_mixture *mix, const sf_time *time);

/* ---------------------------------------------------------------- score evaluation */

/* SF_OK if all n x d values are finite; otherwise names the first bad particle and coordinate. */
SF_API sf_status sf_particles_check(const double *x, size_t n, int d);

/* Caller-owned host arrays, row-major; a NULL pointer means "not wanted". Data-frame outputs are
 * at x and time t; heat-frame outputs are in heat coordinates (docs/conventions.md): y = x / alpha,
 * tau = sigma^2 / alpha^2, u(y, tau) = grad_y log q = alpha s. */
typedef struct {
    size_t size;     /* sizeof(sf_outputs) or 0 (see "Growable structs") */
    double *score;   /* N x d: grad log p_t */
    double *logp;    /* N: log p_t */
    double *resp;    /* N x K: responsibilities r_k (posterior component probabilities) */
    double *div;     /* N: divergence of the score (trace of the Hessian of log p_t) */
    double *denoise; /* N x d: E[x_0 | x_t = x] */
    /* derivatives of the score (docs/fields.md) */
    double *lap;           /* N x d: vector Laplacian of the score */
    const double *hvp_dir; /* N x d input: directions v for hvp */
    double *hvp;           /* N x d: H v, H the Hessian of log p_t */
    double *hvp_score;     /* N x d: H s = (s . grad) s, the Burgers nonlinearity */
    double *hessian;       /* N x d x d: the full Hessian (memory N d^2: for small d) */
    double *dt_score;      /* N x d: d s / dt at fixed x (needs a schedule) */
    double *dt_logp;       /* N: d log p_t / dt at fixed x (needs a schedule) */
    /* heat frame and the Burgers structure (docs/burgers.md) */
    double *dtau_score;       /* N x d: d u / d tau at y = x / alpha */
    double *dtau_logp;        /* N: d log q / d tau at y */
    double *residual;         /* N x d: Burgers residual d_tau u - Lap u / 2 - H u (defined for direct pairs too) */
    double *residual_scale;   /* N: max(|d_tau u|, |Lap u| / 2, |H u|) */
    double *residual_t;       /* N x d: VP form d_t s - g^2 (Lap s / 2 + H s) + f (s + H x) (needs a schedule) */
    double *residual_t_scale; /* N: max(|d_t s|, g^2 |Lap s| / 2, |H (g^2 s - f x)|, |f s|) */
} sf_outputs;
#define SF_OUTPUTS_INIT {.size = sizeof(sf_outputs)}

/* A plan: the mixture's field at one time, prepared once for the context's backend (on CUDA,
 * uploaded once) and evaluated over any number of particle batches, as FFTW and FINUFFT plans
 * are. sf_plan_set_time moves it to another time, refreshing only the time-dependent parts (what
 * a sampler stage does). The plan borrows ctx and mix: both must outlive it. A plan is used by
 * one thread at a time. */
typedef struct sf_plan sf_plan;

SF_API sf_status sf_plan_create(sf_plan **plan, sf_context *ctx, const sf_mixture *mix, const sf_time *time);
/* Refuses a time at which a component is singular; the plan then keeps no time and refuses to
 * evaluate until a valid time is set. */
SF_API sf_status sf_plan_set_time(sf_plan *plan, const sf_time *time);
/* Evaluates the requested fields at the n particles x (n x d, row-major). Work shared by several
 * outputs is done once. The particle range is the caller's: evaluate x + i*d for a sub-range to
 * split work across calls, threads (one plan each) or processes. */
SF_API sf_status sf_plan_evaluate(sf_plan *plan, const double *x, size_t n, const sf_outputs *out);
/* sf_plan_evaluate on particles of either dtype (SF_DTYPE_F64, SF_DTYPE_F32): float32 particles are widened to float64 a bounded chunk at a time
 * inside the library, so the caller's array is read in place. Outputs and hvp_dir are float64. */
SF_API sf_status sf_plan_evaluate_typed(sf_plan *plan, const void *x, sf_dtype dtype, size_t n,
                                        const sf_outputs *out);
SF_API void sf_plan_destroy(sf_plan *plan);

/* One-shot: sf_plan_create, sf_plan_evaluate, sf_plan_destroy. */
SF_API sf_status sf_evaluate(sf_context *ctx, const sf_mixture *mix, const sf_time *time,
                      const double *x, size_t n, const sf_outputs *out);

/* ---------------------------------------------------------------- Burgers structure at particles (docs/burgers.md) */

/* Advances the score carried by particles at fixed heat coordinates y (n x d) from heat time tau0
 * to tau1 in `steps` equal RK4 steps of d_tau u = Lap u_mix / 2 + H_mix u, the Laplacian and the
 * Hessian taken from the mixture at each stage. u (n x d) holds u(y, tau0) on entry (usually the
 * mixture's score there) and the advanced field on return: compare it with the exact u(y, tau1). */
SF_API sf_status sf_burgers_advance(sf_context *ctx, const sf_mixture *mix, const double *y, size_t n, double tau0,
                             double tau1, int steps, double *u);

/* Irrotationality at particles: the antisymmetric part of the Jacobian J of the score, measured by
 * central differences of the evaluated field (the Hessian output is symmetric by construction, so
 * it cannot show curl). Per particle, curl[i] is the largest |w.Jv - v.Jw| / (|Jv||w| + |Jw||v|)
 * over `probes` random Gaussian pairs (v, w), or, with probes = 0, ||J - J^T|| / (2 ||J||)
 * (Frobenius) from the full d x d Jacobian (2d evaluations per particle: for small d). */
SF_API sf_status sf_score_curl(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x, size_t n,
                        int probes, uint64_t seed, double *curl);

/* ---------------------------------------------------------------- samplers (docs/samplers.md) */

typedef enum {
    SF_SAMPLER_EM = 0,        /* Euler-Maruyama for the h-family (h = 1 reverse SDE, h = 0 PF-ODE) */
    SF_SAMPLER_ODE_EULER = 1, /* probability-flow ODE, Euler */
    SF_SAMPLER_HEUN = 2,      /* probability-flow ODE, Heun (2nd order) */
    SF_SAMPLER_DDPM = 3,      /* ancestral sampling = DDIM(eta = 1) */
    SF_SAMPLER_DDIM = 4,      /* DDIM(eta) */
    SF_SAMPLER_DPM1 = 5,      /* DPM-Solver orders 1, 2, 3 (steps in log-SNR) */
    SF_SAMPLER_DPM2 = 6,
    SF_SAMPLER_DPM3 = 7,
    SF_SAMPLER_EULER_ANCESTRAL = 8,    /* k-diffusion's Euler ancestral (eta = 1) */
    SF_SAMPLER_EDM_HEUN = 9,           /* Karras et al. Algorithm 2 (churn, s_tmin, s_tmax, s_noise) */
    SF_SAMPLER_DPMPP_2M = 10,          /* DPM-Solver++(2M), multistep in the denoiser */
    SF_SAMPLER_DPMPP_3M = 11,          /* DPM-Solver++(3M) */
    SF_SAMPLER_DPMPP_2M_SDE = 12,      /* DPM-Solver++(2M) SDE (eta = 1, midpoint) */
    SF_SAMPLER_DPMPP_2S_ANCESTRAL = 13, /* DPM-Solver++(2S) ancestral (eta = 1) */
    SF_SAMPLER_UNIPC = 14              /* UniPC-bh2 predictor-corrector, order 2 or 3 */
} sf_sampler_kind;

/* Step grids: uniform in t, uniform in log-SNR lambda, the given `times`, or Karras et al.'s
 * rho-spacing of the noise level sigma/alpha = sqrt(tau) (docs/samplers.md). */
typedef enum { SF_SPACING_T = 0, SF_SPACING_LAMBDA = 1, SF_SPACING_GIVEN = 2, SF_SPACING_KARRAS = 3 } sf_spacing;

typedef struct {
    size_t size;           /* sizeof(sf_sampler), set by sf_sampler_default */
    sf_sampler_kind kind;
    double h;              /* EM: noise level of the h-family (default 1) */
    double eta;            /* DDIM: 0 deterministic, 1 = DDPM */
    int steps;
    sf_spacing spacing;    /* uniform in t, uniform in log-SNR lambda, or `times` */
    const double *times;   /* SF_SPACING_GIVEN: steps + 1 decreasing times from t1 to t0 */
    double t1, t0;         /* generation runs from t1 down to t0 < t1 */
    uint64_t seed;         /* noise: Philox4x32-10 keyed by (seed, particle, first_step + step, dimension) */
    const int *class_components; /* guidance: the class as a set of component indices (NULL: none) */
    int class_size;
    double guidance;       /* classifier-free weight w: s~ = s + (1 + w)(s_c - s); w = -1 samples p_t */
    uint32_t first_step;   /* the global index of this run's first step (default 0): a run continued
                              by another call (t1 -> tm, then tm -> t0) passes the steps already taken,
                              so the continuation draws fresh noise and the two calls equal one run */
    /* appended fields (the samplers of docs/samplers.md): zero means the default stated */
    double churn;          /* edm-heun: S_churn >= 0 (default 0: deterministic Heun) */
    double s_tmin, s_tmax; /* edm-heun: churn where s_tmin <= sigma/alpha <= s_tmax (0, 0 = infinity) */
    double s_noise;        /* edm-heun: S_noise > 0 (0 = default 1) */
    int order;             /* unipc: 2 or 3 (0 = default 2) */
    double rho;            /* karras spacing: rho > 0 (0 = default 7) */
    int to_zero;           /* 1: the last step goes from t0 to t = 0 (sigma = 0) as the denoiser x0^,
                              after steps - 1 steps from t1 to t0 (ve never reaches sigma = 0) */
} sf_sampler;

/* A sampler of the given kind with defaults: h = 1, eta = 0, 100 steps uniform in t, no guidance,
 * churn 0, s_tmin 0, s_tmax infinity, s_noise 1, order 2, rho 7. */
SF_API sf_status sf_sampler_init(sf_sampler *sampler, size_t size, sf_sampler_kind kind);
static inline sf_sampler sf_sampler_default(sf_sampler_kind kind)
{
    sf_sampler s;
    sf_sampler_init(&s, sizeof s, kind);
    return s;
}
/* em, ode-euler, heun, ddpm, ddim, dpm1-3, euler-ancestral, edm-heun, dpmpp-2m, dpmpp-3m, dpmpp-2m-sde,
 * dpmpp-2s-ancestral, unipc */
SF_API sf_status sf_sampler_kind_parse(const char *name, sf_sampler_kind *kind);
SF_API const char *sf_sampler_kind_name(sf_sampler_kind kind);

/* The run's step grid: times[0..steps] (steps + 1 values) from t1 down to t0 (then 0 with to_zero)
 * by the sampler's spacing, or its given times; the same grid sf_sample runs. Refuses what sf_sample
 * would refuse of the schedule and sampler. */
SF_API sf_status sf_sampler_times(const sf_schedule *schedule, const sf_sampler *sampler, double *times);

/* The interval and spacing a run takes on this schedule when none is given (the defaults of
 * `scorefield sample` and `sampler-error`, and of Python's sf.sample): t1 = 1 (vp-cosine 0.995,
 * flow 0.99, edm sigma_max), t0 = 1e-3 (edm sigma_min), spacing uniform in t (edm: Karras). */
SF_API sf_status sf_sampler_interval_default(const sf_schedule *schedule, double *t1, double *t0, sf_spacing *spacing);

/* Called every `every` steps (and at the start and the end) with the particles at time t. */
typedef sf_status (*sf_trajectory_fn)(void *data, int step, double t, const double *x, size_t n, int d);

/* Exact samples of the mixture diffused to `time`: x = alpha x0 + sigma z, x0 ~ p_0, drawn with
 * Philox from (seed, first_particle + i): any split of particles across calls gives the same set. */
SF_API sf_status sf_sample_marginal(const sf_mixture *mix, const sf_time *time, uint64_t seed, size_t first_particle,
                             double *x, size_t n);

/* Runs the sampler on particles x (n x d, in place) from t1 down to t0 with the exact (optionally
 * guided) score. first_particle numbers the particles for the noise keys (shard-independent).
 * trajectory (may be NULL) is called every `every` steps. */
SF_API sf_status sf_sample(sf_context *ctx, const sf_mixture *mix, const sf_schedule *schedule, const sf_sampler *sampler,
                    double *x, size_t n, size_t first_particle, sf_trajectory_fn trajectory, void *data, int every);

/* A score model: writes the score s(x, t) = grad log p_t(x) of the n points x (n x d, row-major)
 * into s (n x d). Returns SF_OK, or any other status to stop the sampler, which then returns it. x
 * and s are the sampler's host arrays, valid during the call only. */
typedef sf_status (*sf_score_fn)(void *data, double t, const double *x, size_t n, int d, double *s);

/* sf_sample with a caller's score model in place of the mixture's: the same step grid, stages,
 * coefficients and Philox noise, so with the exact score as the model it reproduces sf_sample to
 * rounding. Runs on the host on any context (ctx gives cancellation); the model is called once
 * per stage with all n particles. Guidance toward components (class_components) is refused: a
 * model carries its own. */
SF_API sf_status sf_sample_model(sf_context *ctx, int dim, sf_score_fn score, void *score_data,
                                 const sf_schedule *schedule, const sf_sampler *sampler, double *x, size_t n,
                                 size_t first_particle, sf_trajectory_fn trajectory, void *data, int every);

/* log p_{t0}(x) of points x (n x d) by integrating the probability-flow ODE from t0 to t1 with
 * the exact divergence (instantaneous change of variables) and adding the exact log p_{t1}:
 * adaptive Dormand-Prince 5(4), step size shared by the batch, local error per step below
 * atol + rtol |y| for every particle. steps_taken (may be NULL) reports the accepted steps. */
SF_API sf_status sf_loglik_ode(sf_context *ctx, const sf_mixture *mix, const sf_schedule *schedule, double t0, double t1,
                        const double *x, size_t n, double rtol, double atol, double *logp, int *steps_taken);

/* The probability-flow ODE dx/dt = f x - g^2 s / 2 for the n points x (n x d, in place) from
 * t_from to t_to (either direction; t_from > t_to generates): the exact flow map, which carries
 * p_{t_from} to p_{t_to}, up to the tolerance. Adaptive Dormand-Prince 5(4) as in sf_loglik_ode
 * (local error of every coordinate below atol + rtol |x|). steps_taken may be NULL. */
SF_API sf_status sf_flow_ode(sf_context *ctx, const sf_mixture *mix, const sf_schedule *schedule, double t_from, double t_to,
                             double *x, size_t n, double rtol, double atol, int *steps_taken);

/* What a run of sf_sample costs and whether it is random, from the step plans it would run: the
 * score evaluations of all its steps (*evaluations: the stages, per particle) and *stochastic = 1
 * when some step draws noise (em with h > 0, ddpm, ddim with eta > 0), 0 when the run is a
 * deterministic map of its initial particles. Either output may be NULL. */
SF_API sf_status sf_sampler_cost(const sf_schedule *schedule, const sf_sampler *sampler, size_t *evaluations,
                                 int *stochastic);

/* ---------------------------------------------------------------- samplers' error against the exact distribution (docs/samplers.md, "Exact sampler error") */

/* One error measure: its value with a Monte Carlo standard error, the same measure for n exact
 * draws (floor: what an exact sampler scores at this n) with its standard error, and significant =
 * 1 when |value - floor| > 3 sqrt(se^2 + floor_se^2). */
typedef struct {
    double value, se;
    double floor, floor_se;
    int significant;
} sf_error_metric;

/* The distributional errors of n samples of p_t at one time (docs/samplers.md defines each):
 * occupation_tv  (1/2) sum_k |mean_i r_k(x_i) - w_k|, r_k the exact responsibilities at t;
 * mean_error     sum_k w_k |m_k - alpha mu_k|, m_k the r_k-weighted mean of the samples;
 * cov_error      sum_k w_k |S_k - (alpha^2 C_k + sigma^2 I)|_F, S_k their r_k-weighted covariance;
 * sw2            sliced Wasserstein-2 to n exact draws of p_t over SF_SW2_PROJECTIONS fixed random
 *                directions: sqrt(mean over directions of W2^2 of the projections);
 * nll_gap        mean_i [log p_t(e_i) - log p_t(x_i)] over exact draws e_i paired with the samples:
 *                estimates E_q[-log p_t] - E_p[-log p_t] = KL(q | p) + H(q) - H(p), 0 for q = p
 *                (its floor is 0). Standard errors: the bootstrap (SF_BOOTSTRAP resamples) for
 *                the first four, the paired differences for nll_gap. */
enum { SF_SW2_PROJECTIONS = 64, SF_BOOTSTRAP = 48 };
typedef struct {
    size_t size; /* sizeof(sf_distribution_errors), set by sf_distribution_error */
    size_t n;
    sf_error_metric occupation_tv, mean_error, cov_error, sw2, nll_gap;
} sf_distribution_errors;

/* The errors of the samples x (n x d, n >= 2) against p_t (`time`). exact (may be NULL): n exact
 * draws of p_t paired with x (e.g. the exact flow of the sampler's initial particles), the floors'
 * sample; NULL draws them (particles n .. 2n - 1 of `seed`, sf_sample_marginal). The comparison set
 * of sw2 is particles 2n .. 3n - 1 of `seed`; the directions and the bootstrap come from `seed`. */
SF_API sf_status sf_distribution_error_sized(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x,
                                             const double *exact, size_t n, uint64_t seed, sf_distribution_errors *out,
                                             size_t size);
static inline sf_status sf_distribution_error(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x,
                                              const double *exact, size_t n, uint64_t seed, sf_distribution_errors *out)
{
    return sf_distribution_error_sized(ctx, mix, time, x, exact, n, seed, out, sizeof *out);
}

/* What sf_sampler_error measures: each sampler (by name, sf_sampler_kind_parse; default options)
 * at each budget of score evaluations nfe[0] < nfe[1] < ... (steps = the largest count whose run
 * costs at most nfe, at least 1), n >= 2 particles from exact draws of p_t1 (particles 0 .. n - 1
 * of seed, as `sample` draws them), t1 > t0, spacing SF_SPACING_T, SF_SPACING_LAMBDA or
 * SF_SPACING_KARRAS (with rho). Every sampler runs with its default options. The
 * reference is the probability-flow ODE from the same draws solved to rtol = atol = reference_tol
 * (0: 1e-10). progress (may be NULL) is called with the fraction done. */
typedef struct {
    size_t size; /* sizeof(sf_sampler_error_setup), set by sf_sampler_error_setup_default */
    const char *const *samplers;
    int nsamplers;
    const int *nfe;
    int nnfe;
    size_t n;
    uint64_t seed;
    double t1, t0;
    sf_spacing spacing;
    double reference_tol;
    sf_progress progress;
    void *progress_data;
    double rho;  /* SF_SPACING_KARRAS: the exponent rho (0: 7) */
} sf_sampler_error_setup;

SF_API sf_status sf_sampler_error_setup_init(sf_sampler_error_setup *setup, size_t size);
/* No samplers yet; n 2000, seed 0, t1 1, t0 1e-3, uniform in t, reference_tol 1e-10. */
static inline sf_sampler_error_setup sf_sampler_error_setup_default(void)
{
    sf_sampler_error_setup s;
    sf_sampler_error_setup_init(&s, sizeof s);
    return s;
}

/* One sampler at one budget. */
typedef struct {
    size_t size;       /* sizeof(sf_sampler_error_row) */
    int sampler;       /* index into setup.samplers */
    int nfe_asked;     /* the budget */
    int steps;         /* the steps run */
    size_t nfe;        /* the score evaluations they used (<= nfe_asked unless one step costs more) */
    int stochastic;    /* sf_sampler_cost's: endpoint errors and orders only for deterministic runs */
    double endpoint_rms, endpoint_max; /* |x - x_ref| over the particles, x_ref the reference flow
                                          of the same initial draw (NaN for stochastic runs) */
    double order, order_se; /* -slope of log endpoint_rms against log nfe over this sampler's budgets
                               (least squares, each distinct run once; budgets with endpoint_rms <=
                               reference_error left out) and its standard error: NaN when
                               stochastic or too few points (order_se: fewer than 3) */
    double reference_error; /* max |x_ref - x_ref'| with x_ref' solved to 100 reference_tol: bounds
                               the reference's error (about 100 times smaller) */
    sf_error_metric occupation_tv, mean_error, cov_error, sw2, nll_gap; /* sf_distribution_error's at t0 */
} sf_sampler_error_row;

/* Runs every sampler at every budget: rows (nsamplers x nnfe, sampler-major, each row_size bytes:
 * sizeof in the caller's header) receive the results. */
SF_API sf_status sf_sampler_error_sized(sf_context *ctx, const sf_mixture *mix, const sf_schedule *schedule,
                                        const sf_sampler_error_setup *setup, sf_sampler_error_row *rows, size_t row_size);
static inline sf_status sf_sampler_error(sf_context *ctx, const sf_mixture *mix, const sf_schedule *schedule,
                                         const sf_sampler_error_setup *setup, sf_sampler_error_row *rows)
{
    return sf_sampler_error_sized(ctx, mix, schedule, setup, rows, sizeof *rows);
}

/* First-order WKB coefficient (docs/analyses.md, "The path-integral view") for a perturbed score
 * model s_theta = scale * s + shift of Gaussian data (a mixture of one isotropic or diagonal
 * component): the model's samplers of the h-family have marginals q^h with
 * log q^h_t0 = log q^0_t0 + h^2 l_1 + O(h^4), and
 *   l_1(x) = - int_t0^t1 g^2 [div d + d . grad log q^0_t] / 2 dt,   d = s_theta - grad log q^0_t,
 * along the model's probability-flow trajectory from x at t0 (q^h_t1 = p_t1 for every h). The
 * model is affine in x, so every q^h is Gaussian and is computed here by ODEs for its mean and
 * variance (RK4, `steps` steps). Outputs (each may be NULL): ell1 = l_1(x); log_q = log q^h_t0(x)
 * for the given h (h = 0: the model's probability-flow likelihood). shift may be NULL (zero). */
SF_API sf_status sf_wkb_gaussian(const sf_mixture *mix, const sf_schedule *schedule, double t0, double t1, double scale,
                          const double *shift, double h, const double *x, size_t n, int steps, double *ell1,
                          double *log_q);
/* The likelihood curve over h at one point x (d values): for each of the nh noise levels h[i],
 * log_q[i] = log q^h_t0(x) of the model's h-sampler (from its Gaussian marginals) and
 * log_q_wkb[i] = log q^0_t0(x) + h^2 l_1(x), the first-order prediction; l1 and log_q0 (may be
 * NULL) receive l_1(x) and log q^0_t0(x). */
SF_API sf_status sf_wkb_curve(const sf_mixture *mix, const sf_schedule *schedule, double t0, double t1, double scale,
                       const double *shift, const double *x, const double *h, int nh, int steps, double *log_q,
                       double *log_q_wkb, double *l1, double *log_q0);

/* ---------------------------------------------------------------- Monte Carlo estimates */

/* Mean and variance of n Monte Carlo values with their standard errors (the variance's from the
 * fourth central moment: sqrt((m4 - var^2) / n)). */
typedef struct {
    double mean, mean_se, var, var_se;
    size_t n;
} sf_estimate;

/* Least-squares slope of log y against log x over n points (non-positive values skipped): the
 * exponent p of y ~ x^p; NaN with fewer than 2 usable points (and, with a message, for NULL arrays). */
SF_API double sf_power_law_exponent(const double *x, const double *y, size_t n);

/* ---------------------------------------------------------------- speciation (docs/analyses.md, "Speciation") */

/* A symmetric binary split: mix has two components of equal weight and equal covariance C, means
 * c +- mu. Critical heat time: the root of mu^T (C + tau I)^{-1} mu = 1 (0 if mu^T C^{-1} mu <= 1:
 * no speciation). Refuses mixtures that are not such a pair. */
SF_API sf_status sf_speciation_tau_closed_form(const sf_mixture *mix, double *tau_c);

/* The curvature of log q at the interface, numerically, for any binary split of a mixture into
 * the component sets A and B at heat time tau: the interface point y* on the line through the
 * two sub-mixture means where log q_A = log q_B, the normal criterion kappa_n = n^T H n / |n|^2
 * with n = grad log(q_A / q_B), and the largest eigenvalue `top` of H (the Hessian of log q at
 * y*; full d x d, for moderate d). top > 0: y* is a saddle between two basins. For a symmetric
 * pair kappa_n changes sign at the closed-form tau_c only when mu is an eigenvector of C; top
 * changes sign there always. Any output may be NULL. */
SF_API sf_status sf_speciation_normal_curvature(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na,
                                         const int *set_b, int nb, double tau, double *kappa_n, double *top,
                                         double *y_star);
/* The heat time where the top curvature changes sign (bisection in log tau over [tau_lo, tau_hi],
 * to relative tolerance rtol): the numerical critical time. */
SF_API sf_status sf_speciation_tau_numeric(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na, const int *set_b,
                                    int nb, double tau_lo, double tau_hi, double rtol, double *tau_c);

/* Unequal weights: w N(-a, v) + (1 - w) N(a, v) along the axis, v = s^2 + tau, is bimodal iff
 * delta = a / sqrt(v) > 1 and |ln(w / (1 - w))| < 2 delta sqrt(delta^2 - 1) - 2 arccosh(delta)
 * (a saddle-node, not a pitchfork); tau_c solves the equality (0: never bimodal). */
SF_API sf_status sf_speciation_tau_asymmetric(double w, double a, double s2, double *tau_c);

/* Local maxima of log q (heat time tau) along origin + r dir, r in [-half_length, half_length],
 * on `points` equally spaced points: the numerical mode count. */
SF_API sf_status sf_count_modes_on_line(sf_context *ctx, const sf_mixture *mix, double tau, const double *origin,
                                 const double *dir, double half_length, size_t points, int *modes);

/* Least-squares fit of u(r) = c0 + c1 r + b tanh(r / width) to n samples (the tanh layer: for a
 * symmetric isotropic pair along the axis, width = (s^2 + tau)/a exactly). The width is found by
 * golden-section search over [wmin, wmax]; rms is the fit's residual. */
SF_API sf_status sf_fit_tanh_layer(const double *r, const double *u, size_t n, double wmin, double wmax, double *width,
                            double *amplitude, double *rms);

/* Top eigenvalue of the data covariance (Biroli et al.'s spectral time t_s = ln(Lambda) / 2 for
 * the OU process dx = -x dt + sqrt(2) dW). */
SF_API sf_status sf_data_covariance_top_eigenvalue(const sf_mixture *mix, double *lambda);

/* The split's axis: the unit vector (d values) from the weighted mean of A to that of B, and half
 * the distance between the two means. */
SF_API sf_status sf_speciation_axis(const sf_mixture *mix, const int *set_a, int na, const int *set_b, int nb, double *axis,
                             double *half_separation);

typedef enum {
    SF_SPECIATION_PITCHFORK = 0,   /* the interface point turns into a saddle at tau_c (equal weights) */
    SF_SPECIATION_SADDLE_NODE = 1, /* two isotropic components of one variance, unequal weights: the
                                      lighter side's mode appears at tau_c */
    SF_SPECIATION_NEVER = 2        /* weights too unequal: one mode at every tau */
} sf_speciation_kind;

typedef struct {
    sf_speciation_kind kind;
    double half_separation;  /* a: half the distance between the two groups' means */
    double tau_interface;    /* sign change of the top Hessian eigenvalue at the interface point */
    double tau_closed;       /* symmetric pairs: the root of mu^T (C + tau I)^-1 mu = 1; NaN otherwise */
    double tau_c;            /* the critical heat time: tau_interface for a pitchfork, the saddle-node
                                time for unequal weights, NaN when the density never splits */
    int modes_below, modes_above; /* saddle-node: modes on the axis at tau_c (1 -+ 1e-3); 0 otherwise */
    double lambda;           /* top eigenvalue of the data covariance */
    double t_spectral;       /* Biroli et al.'s t_s = ln(Lambda)/2 (OU process; negative when Lambda < 1) */
    double t_midpoint_ou;    /* ln(1 + tau)/2 at tau_c (tau_interface when NaN): the OU midpoint time
                                t_s approximates (equal iff s^2 = 1/2 for an isotropic pair) */
    double isotropic_s2;     /* symmetric isotropic pairs: the component variance s^2; NaN otherwise */
} sf_speciation_summary;

/* The critical times of a split (sets A, B) and the quantities printed beside them. */
SF_API sf_status sf_speciation_summarize_sized(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na,
                                               const int *set_b, int nb, sf_speciation_summary *out, size_t size);
static inline sf_status sf_speciation_summarize(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na,
                                                const int *set_b, int nb, sf_speciation_summary *out)
{
    return sf_speciation_summarize_sized(ctx, mix, set_a, na, set_b, nb, out, sizeof *out);
}

typedef struct {
    double width, amplitude, rms; /* the tanh fit of the profile (sf_fit_tanh_layer) */
    double predicted_width;       /* (s^2 + tau)/a for a symmetric isotropic pair; NaN otherwise */
} sf_tanh_layer;

/* The normal score u . axis at heat time tau at the n points y*(tau) + r_i axis (y* the interface
 * point, axis from sf_speciation_axis) into profile (n values), and its tanh fit (widths searched
 * over [1e-3, 10] x max|r|). */
SF_API sf_status sf_speciation_layer_sized(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na,
                                           const int *set_b, int nb, double tau, const double *r, size_t n,
                                           double *profile, sf_tanh_layer *fit, size_t size);
static inline sf_status sf_speciation_layer(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na,
                                            const int *set_b, int nb, double tau, const double *r, size_t n,
                                            double *profile, sf_tanh_layer *fit)
{
    return sf_speciation_layer_sized(ctx, mix, set_a, na, set_b, nb, tau, r, n, profile, fit, sizeof *fit);
}

/* Tangent gains in heat time from tau1 down to tau0 > 0 of a perturbation along dir at y (d
 * values): `ode` for the probability-flow ODE dy/dtau = -u/2, `sde` for the mean of the reverse
 * SDE dy = -u dtau + dW linearised about its drift path dy/dtau = -u. Each is |delta(tau0)| /
 * |delta(tau1)| from the variational equation d delta/dtau = -c H(y(tau), tau) delta (c = 1/2, 1)
 * integrated together with the path: linear in delta, so exact for any gain (a finite
 * perturbation would saturate). RK4 in log tau, the steps doubled until two successive estimates
 * agree to rtol; the Richardson-extrapolated values are returned with their estimated relative
 * errors. For a symmetric pair at its centre, sde = ode^2. */
typedef struct {
    double ode, sde, ode_error, sde_error;
} sf_gain;
SF_API sf_status sf_flow_gain(sf_context *ctx, const sf_mixture *mix, const double *y, const double *dir, double tau1,
                       double tau0, double rtol, sf_gain *gain);

typedef struct {
    sf_gain gain;        /* from the interface point y*(tau1) along the split's axis */
    sf_gain closed_form; /* symmetric isotropic pair: ode = sqrt(v0/v1) exp(a^2 (1/v0 - 1/v1)/2),
                            v = s^2 + tau, sde = ode^2; NaN otherwise */
    int stationary;      /* 1 when the interface point is itself a trajectory (a symmetric pair's
                            centre): the gain is the layer's; 0 otherwise */
    double end_offset;   /* distance at tau0 between the probability-flow path from y*(tau1) and the
                            interface point y*(tau0) */
} sf_amplification;

/* Error amplification across the layer of a split between heat times tau1 > tau0 > 0: the gains
 * of sf_flow_gain at the interface point along the split's axis. */
SF_API sf_status sf_speciation_amplification_sized(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na,
                                                   const int *set_b, int nb, double tau1, double tau0, double rtol,
                                                   sf_amplification *out, size_t size);
static inline sf_status sf_speciation_amplification(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na,
                                                    const int *set_b, int nb, double tau1, double tau0, double rtol,
                                                    sf_amplification *out)
{
    return sf_speciation_amplification_sized(ctx, mix, set_a, na, set_b, nb, tau1, tau0, rtol, out, sizeof *out);
}

typedef struct {
    int frame;                /* the recorded frame nearest t_c */
    double t;                 /* its time */
    double leaning;           /* fraction of particles with |projection| > a/2 at that frame */
    double leaning_exact;     /* the same fraction over exact draws of p_t at that time */
    double leaning_exact_se;  /* its binomial standard error */
    double committed;         /* fraction of particles already on the side where they end */
    double side_a;            /* fraction ending on A's side (projection < 0) */
} sf_branching_summary;

/* Branching: n exact draws of p_t1 run by the sampler under `schedule`; every `every` steps (and
 * at both ends) each particle's denoiser E[x0 | x_t] minus the interface point y*(tau_c),
 * projected on the split's axis, into proj (frames x n) with the frame times in t (frames).
 * `capacity` bounds the frames (steps / every + 2 suffice); *frames receives the count. The
 * summary compares the frame nearest t_c (the time of tau_c) with n_exact exact draws of p_t_c. */
SF_API sf_status sf_speciation_branching_sized(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na,
                                               const int *set_b, int nb, double tau_c, const sf_schedule *schedule,
                                               const sf_sampler *sampler, size_t n, uint64_t seed, int every,
                                               int capacity, double *t, double *proj, int *frames, size_t n_exact,
                                               sf_branching_summary *summary, size_t size);
static inline sf_status sf_speciation_branching(sf_context *ctx, const sf_mixture *mix, const int *set_a, int na,
                                                const int *set_b, int nb, double tau_c, const sf_schedule *schedule,
                                                const sf_sampler *sampler, size_t n, uint64_t seed, int every,
                                                int capacity, double *t, double *proj, int *frames, size_t n_exact,
                                                sf_branching_summary *summary)
{
    return sf_speciation_branching_sized(ctx, mix, set_a, na, set_b, nb, tau_c, schedule, sampler, n, seed, every,
                                         capacity, t, proj, frames, n_exact, summary, sizeof *summary);
}

/* ---------------------------------------------------------------- blow-up near t = 0 (docs/analyses.md, "Blow-up") */

/* sum_k w_k codim_k, the limit of tau E|u|^2 as tau -> 0, and the subspace component the
 * pointwise ratio is measured at (the heaviest with codim > 0); refuses mixtures without one. */
SF_API sf_status sf_blowup_limit(const sf_mixture *mix, double *limit, int *component);

typedef struct {
    double tau;
    sf_estimate tau_u2;  /* tau |u|^2 over n exact draws of q_tau: its mean tends to the limit */
    double u2;           /* E|u|^2 = tau_u2.mean / tau: ~ tau^-1 */
    sf_estimate ratio;   /* tau |u(y)| / dist(y, M_k) over n exact draws y of component k's own
                            noised law (distance ~ sqrt(codim tau) from its subspace M_k, where
                            that component dominates the posterior): tends to 1 */
    double max_denoiser; /* the largest |E[x0 | x]| over the draws of q_tau: bounded */
} sf_blowup_row;

/* One heat time of the blow-up scan, k from sf_blowup_limit. */
SF_API sf_status sf_blowup_at_sized(sf_context *ctx, const sf_mixture *mix, double tau, size_t n, uint64_t seed,
                                    sf_blowup_row *row, size_t size);
static inline sf_status sf_blowup_at(sf_context *ctx, const sf_mixture *mix, double tau, size_t n, uint64_t seed,
                                     sf_blowup_row *row)
{
    return sf_blowup_at_sized(ctx, mix, tau, n, seed, row, sizeof *row);
}

/* ---------------------------------------------------------------- non-Gaussian data: the quartic double well */

/* p0(x) proportional to exp(-(x^2 - 1)^2 / eps) in 1-D, diffused to heat time tau, by quadrature
 * of the posterior p(x | y) ~ p0(x) exp(-(y - x)^2 / (2 tau)) on a fine grid: at the points y
 * (n) the score u = (E[x|y] - y)/tau and its derivatives u_y = (Var - tau)/tau^2,
 * u_yy = k3/tau^3 (k3 the third central moment) and d u/d tau at fixed y; any output may be NULL.
 * A d-dimensional product of such wells has the score of each coordinate. */
SF_API sf_status sf_doublewell_field(double eps, double tau, const double *y, size_t n, double *u, double *u_y, double *u_yy,
                              double *u_tau);
/* The critical heat time: the root of E[x^2 | y = 0; tau] = tau (where u_y(0) changes sign), and
 * the moment surrogate a_eff^2 - s_eff^2 with a_eff = E|x|, s_eff^2 = E x^2 - (E|x|)^2 under p0. */
SF_API sf_status sf_doublewell_tau_c(double eps, double *tau_c, double *surrogate);

typedef struct {
    double tau_c;           /* E[x^2 | y = 0; tau] = tau */
    double ex2, eabs;       /* E x^2 and E|x| under p0 (Gauss-Legendre on [0, L]: no kink) */
    double a_eff, s_eff2;   /* E|x| and E x^2 - (E|x|)^2 */
    double surrogate_tau_c; /* a_eff^2 - s_eff^2: the symmetric-pair formula with the well's moments */
    double surrogate_tau_error; /* (surrogate_tau_c - tau_c) / tau_c */
    double width;           /* 2 / phi'(0) at tau_c, phi = log(q_+ / q_-) for the halves x > 0, x < 0:
                               tau_c / E[|x| | y = 0; tau_c] */
    double surrogate_width; /* (s_eff^2 + tau_c) / a_eff */
    double surrogate_width_error; /* (surrogate_width - width) / width */
    double fitted_width;    /* tanh fit of u(y, tau_c) over |y| <= 3 */
} sf_doublewell_summary;
SF_API sf_status sf_doublewell_summarize_sized(double eps, sf_doublewell_summary *out, size_t size);
static inline sf_status sf_doublewell_summarize(double eps, sf_doublewell_summary *out)
{
    return sf_doublewell_summarize_sized(eps, out, sizeof *out);
}

/* The largest |d_tau u - Lap u / 2 - (u . grad) u| relative to the largest of the three terms,
 * over n points y and ntau heat times: dim = 1 (y has n values) or dim = 2, the product of two
 * wells (y is n x 2). */
SF_API sf_status sf_doublewell_burgers_residual(double eps, int dim, const double *tau, int ntau, const double *y, size_t n,
                                         double *worst);

/* The radial double well in 2-D, p0(x) ~ exp(-(|x|^2 - 1)^2 / eps) (a ring), diffused to heat
 * time tau, by quadrature of the posterior in polar coordinates: at the points y (n x 2) the score
 * u = (E[x|y] - y)/tau (n x 2), its Jacobian H = (Cov[x|y] - tau I)/tau^2 (n x 4, row-major), its
 * Laplacian (Lap u)_i = sum_j k3_ijj / tau^3 (third central moments) and d u/d tau at fixed y;
 * any output may be NULL. */
SF_API sf_status sf_ringwell_field(double eps, double tau, const double *y, size_t n, double *u, double *jacobian, double *lap,
                            double *u_tau);
/* The ring's critical heat time: the centre turns from a maximum of log q into a minimum (the
 * continuous symmetry breaks) where E[|x|^2 | y = 0; tau] = 2 tau. */
SF_API sf_status sf_ringwell_tau_c(double eps, double *tau_c);
/* The ring's vector Burgers residual, as sf_doublewell_burgers_residual, at n points y (n x 2). */
SF_API sf_status sf_ringwell_burgers_residual(double eps, const double *tau, int ntau, const double *y, size_t n,
                                       double *worst);

/* ---------------------------------------------------------------- information flow (docs/analyses.md, "Information flow") */

/* Generative bandwidth b(t) = dH(X0 | Xt)/dt = g^2 E_{p_t}[div s + d / sigma^2] / 2 by Monte Carlo
 * over n exact draws of p_t (Philox, seed), with its standard error. */
SF_API sf_status sf_bandwidth(sf_context *ctx, const sf_mixture *mix, const sf_time *time, size_t n, uint64_t seed,
                       double *b, double *std_error);

/* Per particle, the heat-time rate of the conditional entropy, h'(x) = alpha^2 (div s + d/sigma^2)/2
 * = (div u + d/tau)/2 at y = x/alpha (tr Cov[X0 | x] / (2 tau^2) >= 0); the rate in t is
 * (d tau/dt) h', and b(t) its mean. */
SF_API sf_status sf_entropy_rate(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x, size_t n,
                          double *rate);

/* Label entropy h_Y(x) = -sum_k r_k ln r_k at each particle (the conditional entropy of the
 * component label given x_t = x). */
SF_API sf_status sf_label_entropy(sf_context *ctx, const sf_mixture *mix, const sf_time *time, const double *x, size_t n,
                           double *h);
/* Mean and variance of h_Y over n exact draws of p_t, with standard errors. */
SF_API sf_status sf_label_entropy_moments(sf_context *ctx, const sf_mixture *mix, const sf_time *time, size_t n,
                                   uint64_t seed, sf_estimate *h);

/* The symmetric pair's universal curves. For a symmetric pair (sf_speciation_tau_closed_form's
 * conditions) at heat time tau, the label posterior is r = logistic(2 mu^T Sigma^-1 (y - c)),
 * Sigma = C + tau I, so h_Y depends on kappa = mu^T Sigma^-1 mu alone, and so does the normalised
 * rate rho = nu h' = 2 kappa r (1 - r) + const with nu = kappa / |Sigma^-1 mu|^2 (= s^2 + tau for
 * an isotropic pair, = tau for point masses). */
typedef enum { SF_PAIR_LABEL_ENTROPY = 0, SF_PAIR_NORMALISED_RATE = 1 } sf_pair_statistic;
/* Var over y ~ q_tau of h_Y or rho at kappa > 0, by Gauss-Legendre quadrature of the exact
 * Gaussian expectation (rounding level). */
SF_API sf_status sf_pair_variance(sf_pair_statistic which, double kappa, double *var);
typedef struct {
    double kappa, kappa_tol; /* the maximising kappa and its uncertainty */
    double var, var_tol;     /* the maximum and its uncertainty */
} sf_pair_peak;
/* The maximum of sf_pair_variance over kappa: golden-section search in log kappa on the
 * quadrature. kappa_tol = the final bracket plus the rounding limit sqrt(2 delta / |V''|) (delta
 * the quadrature's rounding, V'' by differences); var_tol = delta + |V''| kappa_tol^2 / 2. */
SF_API sf_status sf_pair_variance_peak(sf_pair_statistic which, sf_pair_peak *peak);
/* kappa(tau) = mu^T (C + tau I)^-1 mu and the rate normalisation nu(tau) of a symmetric pair
 * (either output may be NULL); refuses other mixtures. */
SF_API sf_status sf_pair_kappa(const sf_mixture *mix, double tau, double *kappa, double *nu);
/* The heat time where kappa(tau) = kappa (kappa(tau) decreases); refuses kappa >= kappa(0). */
SF_API sf_status sf_pair_tau_of_kappa(const sf_mixture *mix, double kappa, double *tau);

typedef struct {
    sf_pair_peak exact; /* the universal peak */
    double tau;         /* this pair's heat time of the peak, kappa(tau) = exact.kappa */
    sf_estimate mc;     /* the statistic over n exact draws of q_tau (mc.var estimates exact.var) */
    double z;           /* (mc.var - exact.var) / mc.var_se */
} sf_peak_check;
/* The Monte Carlo variance of h_Y (or rho) at this pair's peak time against the universal peak. */
SF_API sf_status sf_pair_peak_check_sized(sf_context *ctx, const sf_mixture *mix, sf_pair_statistic which, size_t n,
                                          uint64_t seed, sf_peak_check *out, size_t size);
static inline sf_status sf_pair_peak_check(sf_context *ctx, const sf_mixture *mix, sf_pair_statistic which, size_t n,
                                           uint64_t seed, sf_peak_check *out)
{
    return sf_pair_peak_check_sized(ctx, mix, which, n, seed, out, sizeof *out);
}

typedef struct {
    sf_estimate pathwise; /* per path, int_t0^t1 of the rate in t along the sampler's paths */
    sf_estimate integral; /* per draw, int_tau0^tau1 h' dtau along the noising path x0 + sqrt(tau) z:
                             its mean is int_t0^t1 b dt = H(X0|X_t1) - H(X0|X_t0) */
    double z;             /* (pathwise.mean - integral.mean) / sqrt(se^2 + se^2) */
} sf_budget;
/* The conditional entropy removed between t1 and t0 along n probability-flow paths (Heun,
 * `steps` steps uniform in log-SNR, the rate integrated by the trapezoid rule in log tau over
 * every step) against int b dt (n draws, composite Gauss-Legendre in log tau): equal means for
 * every marginal-preserving sampler, so z measures the agreement. */
SF_API sf_status sf_entropy_budget_sized(sf_context *ctx, const sf_mixture *mix, const sf_schedule *schedule, double t0,
                                         double t1, size_t n, int steps, uint64_t seed, sf_budget *out, size_t size);
static inline sf_status sf_entropy_budget(sf_context *ctx, const sf_mixture *mix, const sf_schedule *schedule,
                                          double t0, double t1, size_t n, int steps, uint64_t seed, sf_budget *out)
{
    return sf_entropy_budget_sized(ctx, mix, schedule, t0, t1, n, steps, seed, out, sizeof *out);
}

/* ---------------------------------------------------------------- the periodic grid (docs/burgers.md, grid form) */

/* A spectral grid of N^d points (d = 1, 2, 3; N even) on the periodic box [-L/2, L/2)^d, with
 * plans made once: FFTW on the CPU, cuFFT on CUDA (the context's backend and precision).
 * Point j along an axis is y_j = (j - N/2) L / N; arrays of points are row-major (last axis
 * fastest); vector fields are N^d x d (point-major, like particles). */
typedef struct sf_grid sf_grid;

SF_API sf_status sf_grid_create(sf_grid **grid, sf_context *ctx, int dim, int n, double box);
SF_API void sf_grid_destroy(sf_grid *grid);
SF_API size_t sf_grid_points(const sf_grid *grid); /* 0 for NULL */
/* Coordinates of every point, N^d x d. */
SF_API void sf_grid_coordinates(const sf_grid *grid, double *y);

/* The exact periodised field in heat time tau: the density
 *   q(y) = floor / L^d + (1 - floor) sum_k w_k sum_{|n|_inf <= images} N(y + n L; mu_k, C_k + tau I)
 * (a uniform floor, 0 <= floor < 1, keeps q away from 0) and its score u = grad log q, evaluated
 * through the score engine. density (N^d) or u (N^d x d) may be NULL. */
SF_API sf_status sf_grid_exact(sf_grid *grid, const sf_mixture *mix, double floor, int images, double tau, double *density,
                        double *u);
/* Route A, exact heat propagation (Cole-Hopf): the density at tau0 -> its heat flow over dtau,
 * q_hat e^{-|k|^2 dtau / 2} -> u = IFFT(i k q_hat) / IFFT(q_hat) at tau0 + dtau. */
SF_API sf_status sf_grid_heat_route(sf_grid *grid, const double *density, double dtau, double *u);
/* Route B, direct Burgers: u (N^d x d, a gradient field) advanced in place over dtau by
 * d_tau u_hat = -|k|^2 u_hat / 2 + i k FFT(|u|^2 / 2) (2/3-rule dealiased), integrating-factor RK4
 * in `steps` steps; 4 (d + 1) FFTs per step. */
SF_API sf_status sf_grid_burgers_route(sf_grid *grid, double *u, double dtau, int steps, sf_progress progress, void *data);

/* ---------------------------------------------------------------- device arrays (CUDA contexts) */

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
SF_API sf_status sf_plan_evaluate_device(sf_plan *plan, sf_dtype dtype, const void *x, size_t n, const sf_device_outputs *out,
                                         void *stream);

/* ---------------------------------------------------------------- .npy arrays */

#define SF_NPY_MAX_DIMS 8

typedef struct {
    int ndim;
    size_t shape[SF_NPY_MAX_DIMS];
    double *data; /* converted to float64, C order; free with sf_array_free */
} sf_array;

SF_API size_t sf_array_size(const sf_array *a);
SF_API void sf_array_free(sf_array *a);
/* Reads a little-endian float64 or float32 .npy (v1, v2 or v3 header), C order. */
SF_API sf_status sf_npy_read(const char *path, sf_array *out);
/* Writes float64 (or float32) .npy atomically: to a new temporary file beside path, created
 * exclusively under an unpredictable name, then renamed over path. A path that is a symbolic link or
 * an existing file other than a regular file (a folder, FIFO, device, socket) is refused
 * (SF_ERR_INVALID) and never replaced. */
SF_API sf_status sf_npy_write(const char *path, const double *data, int ndim, const size_t *shape,
                       sf_dtype dtype);

/* Streaming writer for arrays larger than memory: open with the full shape, append values in C
 * order, close with commit = 1 to rename into place (all values must have been appended) or 0 to
 * discard. Until then the data live under a temporary name beside `path`. */
typedef struct sf_npy_writer sf_npy_writer;
SF_API sf_status sf_npy_writer_open(sf_npy_writer **writer, const char *path, int ndim, const size_t *shape, sf_dtype dtype);
SF_API sf_status sf_npy_writer_append(sf_npy_writer *writer, const double *data, size_t count);
SF_API sf_status sf_npy_writer_close(sf_npy_writer *writer, int commit);

#ifdef __cplusplus
}
#endif
#endif
