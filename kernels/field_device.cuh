/* Internal to kernels/: a plan's field on the device (struct sf_cuda_plan) and the precision traits
 * of the kernels. One device allocation per plan:
 *   static   (uploaded once at creation, from pinned memory): means, diagonal variances, basis rows
 *            and their eigenvalues in float64, log weights, rank offsets, the diagonal components'
 *            slots; their copies in the working precision T;
 *   dynamic  (rewritten on the device by update_field at each time): alpha mu, P_diag (double),
 *            P_diag (a mu) (T: the logits' GEMM operand), the diagonal components' P_diag rows (T:
 *            the x^2 GEMM operand), P along the basis rows, and per component the log normaliser,
 *            tr P, tr(P dSigma), (a mu).P(a mu) and the leading precision (double);
 *   frame    alpha, sigma^2 and their rates, in device memory, so that a captured CUDA graph reads
 *            the time of each replay. */
#ifndef SF_FIELD_DEVICE_CUH
#define SF_FIELD_DEVICE_CUH

#include "cuda_state.h"
#include "particle_logic.h"

#include <float.h>

/* Precision traits: the logic's view type, cuBLAS types, screening constants and input range. */
template <typename T> struct prec;
template <> struct prec<double> {
    typedef sf_field_view_f64 view;
    static constexpr cudaDataType_t cuda_type = CUDA_R_64F;
    static constexpr double unit = DBL_EPSILON / 2;
    static constexpr double cutoff = 80.0;  /* skipped components: r_k < e^-80 of the best */
    static constexpr double input_limit = DBL_MAX; /* finite */
};
template <> struct prec<float> {
    typedef sf_field_view_f32 view;
    static constexpr cudaDataType_t cuda_type = CUDA_R_32F;
    static constexpr double unit = FLT_EPSILON / 2;
    static constexpr double cutoff = 40.0;
    /* |x| <= 2^60: squares (2^120) and their sums stay far inside float's 2^128 (issue 11 defect 2:
     * inputs near 1e19-1e30 overflowed x^2 and made NaN logits) */
    static constexpr double input_limit = 1152921504606846976.0;
};

/* Byte offsets of the plan's arrays in its one allocation. */
typedef struct {
    size_t mean64, cov64, basis64, eig64, log_weight, rank_offset, diag_slot, static_end; /* uploaded */
    size_t mean, cov, basis, cov_lowrank;                     /* T copies (== the float64 ones for double) */
    size_t alpha_mean, prec_mean, prec_diag_gemm;             /* T, dynamic */
    size_t prec_diag, prec_basis, log_norm, trace_prec, trace_rate, mean_quad, prec_lead, basis_mean; /* double */
    size_t frame;                                             /* double [4] */
    size_t total;
} sf_field_layout_device;

struct sf_cuda_plan {
    sf_cuda_state *state;
    sf_precision precision;
    int d, K, R, kdiag, max_rank;
    int *rank_offset;              /* host copy [K + 1]: tiles of the small-d kernel */
    double alpha, dalpha, dsigma2; /* the current frame on the host (the views' by-value scalars) */
    char *base;                    /* device memory */
    sf_field_layout_device L;
    cudaEvent_t updated;           /* recorded after each update: a caller's stream waits on it */
};

template <typename T> static inline T *plan_array(const sf_cuda_plan *p, size_t offset) { return (T *)(p->base + offset); }

/* The view of the plan's field for the per-particle logic (device pointers). */
template <typename T> static inline typename prec<T>::view plan_view(const sf_cuda_plan *p)
{
    typename prec<T>::view v;
    const sf_field_layout_device &L = p->L;
    v.d = p->d, v.K = p->K, v.R = p->R;
    v.alpha = (T)p->alpha, v.dalpha = (T)p->dalpha, v.dsigma2 = (T)p->dsigma2;
    v.alpha_mean = plan_array<T>(p, L.alpha_mean), v.prec_diag = plan_array<double>(p, L.prec_diag);
    v.mean = plan_array<T>(p, L.mean), v.cov_diag = plan_array<T>(p, L.cov), v.basis = plan_array<T>(p, L.basis);
    v.prec_basis = plan_array<double>(p, L.prec_basis), v.cov_lowrank = plan_array<T>(p, L.cov_lowrank);
    v.rank_offset = plan_array<int>(p, L.rank_offset), v.log_norm = plan_array<double>(p, L.log_norm);
    v.trace_prec = plan_array<double>(p, L.trace_prec), v.trace_rate = plan_array<double>(p, L.trace_rate);
    v.mean_quad = plan_array<double>(p, L.mean_quad), v.basis_mean = plan_array<double>(p, L.basis_mean);
    v.prec_mean = plan_array<T>(p, L.prec_mean);
    return v;
}

/* Launches the update of the plan's dynamic arrays from the frame at `frame` (device memory,
 * alpha, sigma^2, d alpha, d sigma^2) on `stream`: what a sampler stage replays. */
sf_status sfi_plan_update_from(const sf_cuda_plan *p, const double *frame, cudaStream_t stream);

#endif
