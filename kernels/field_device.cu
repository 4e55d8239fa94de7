/* A plan's field on the device (field_device.cuh): created once from the mixture's arrays, moved
 * in time by a kernel that computes every time-dependent array from (alpha, sigma^2) and their
 * rates with the host field's formulas (frame_math.h). */
#include "field_device.cuh"
#include "frame_math.h"

#include <stdlib.h>
#include <string.h>

#define SF_UPDATE_THREADS 128

static size_t aligned(size_t bytes) { return (bytes + 255) & ~(size_t)255; }

/* The layout for a field of d, K, R with kdiag diagonal components in precision T (elem bytes). */
static sf_field_layout_device layout_for(int d, int K, int R, int kdiag, size_t elem)
{
    size_t kd = (size_t)K * d, rd = (size_t)R * d, at = 0;
    sf_field_layout_device L;
#define SF_PLACE(field, bytes) (L.field = at, at += aligned(bytes))
    SF_PLACE(mean64, kd * 8);
    SF_PLACE(cov64, kd * 8);
    SF_PLACE(basis64, rd * 8);
    SF_PLACE(eig64, (size_t)R * 8);
    SF_PLACE(log_weight, (size_t)K * 8);
    SF_PLACE(rank_offset, ((size_t)K + 1) * sizeof(int));
    SF_PLACE(diag_slot, (size_t)K * sizeof(int));
    L.static_end = at;
    if (elem == 8) {
        L.mean = L.mean64, L.cov = L.cov64, L.basis = L.basis64, L.cov_lowrank = L.eig64;
    } else {
        SF_PLACE(mean, kd * elem);
        SF_PLACE(cov, kd * elem);
        SF_PLACE(basis, rd * elem);
        SF_PLACE(cov_lowrank, (size_t)R * elem);
    }
    SF_PLACE(alpha_mean, kd * elem);
    SF_PLACE(prec_mean, kd * elem);
    SF_PLACE(prec_diag_gemm, (size_t)kdiag * d * elem);
    SF_PLACE(prec_diag, kd * 8);
    SF_PLACE(prec_basis, (size_t)R * 8);
    SF_PLACE(log_norm, (size_t)K * 8);
    SF_PLACE(trace_prec, (size_t)K * 8);
    SF_PLACE(trace_rate, (size_t)K * 8);
    SF_PLACE(mean_quad, (size_t)K * 8);
    SF_PLACE(prec_lead, (size_t)K * 8);
    SF_PLACE(basis_mean, (size_t)R * 8);
    SF_PLACE(frame, 4 * 8);
#undef SF_PLACE
    L.total = at;
    return L;
}

/* 1 if component k's diagonal variance is one number (isotropic, low-rank): then x.P_diag x is
 * |x|^2 p_k, a rank-one term, not a GEMM. */
static int uniform_diagonal(const sf_field *f, int k)
{
    const double *c = f->cov_diag + (size_t)k * f->d;
    for (int i = 1; i < f->d; i++)
        if (c[i] != c[0]) return 0;
    return 1;
}

/* The static part as uploaded: float64 arrays, log weights, rank offsets, diagonal slots. */
static void fill_static_image(const sf_field *f, const sf_field_layout_device *L, char *image, int *kdiag)
{
    size_t kd = (size_t)f->K * f->d, rd = (size_t)f->R * f->d;
    memcpy(image + L->mean64, f->mean, kd * 8);
    memcpy(image + L->cov64, f->cov_diag, kd * 8);
    if (f->R) {
        memcpy(image + L->basis64, f->basis, rd * 8);
        memcpy(image + L->eig64, f->cov_lowrank, (size_t)f->R * 8);
    }
    double *log_weight = (double *)(image + L->log_weight);
    for (int k = 0; k < f->K; k++) log_weight[k] = log(f->weight[k]) - f->log_weight_sum;
    memcpy(image + L->rank_offset, f->rank_offset, ((size_t)f->K + 1) * sizeof(int));
    int *slot = (int *)(image + L->diag_slot), n = 0;
    for (int k = 0; k < f->K; k++) slot[k] = uniform_diagonal(f, k) ? -1 : n++;
    *kdiag = n;
}

template <typename T> __global__ void to_working(const double *in, size_t n, T *out) { SF_GRID_LOOP(i, n) out[i] = (T)in[i]; }

/* Sum over the block (SF_UPDATE_THREADS threads); every thread gets the result. */
static __device__ double block_sum(double v)
{
    __shared__ double partial[SF_UPDATE_THREADS / 32];
    v = sf_group_sum(v, 32);
    int warp = threadIdx.x / 32, lane = threadIdx.x & 31;
    __syncthreads(); /* partial[] may still be read by the previous call */
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    double s = 0;
    for (int w = 0; w < SF_UPDATE_THREADS / 32; w++) s += partial[w];
    return s;
}

struct update_arrays {
    const double *mean64, *cov64, *basis64, *eig64, *log_weight;
    const int *rank_offset, *diag_slot;
    double *prec_diag, *prec_basis, *log_norm, *trace_prec, *trace_rate, *mean_quad, *prec_lead, *basis_mean;
};

/* One block per component: docs/fields.md's per-time precomputation, as sfi_field_set_frame and
 * sfi_field_pack do on the host. */
template <typename T>
__global__ void __launch_bounds__(SF_UPDATE_THREADS) update_field(update_arrays a, T *alpha_mean, T *prec_mean,
                                                                   T *prec_diag_gemm, const double *frame, int d)
{
    int k = blockIdx.x;
    double alpha = frame[0], s2 = frame[1], a2 = alpha * alpha;
    double rate_c = 2.0 * alpha * frame[2], rate_1 = frame[3];
    int slot = a.diag_slot[k];
    double log_det = 0, trace = 0, trace_rate = 0, mean_quad = 0;
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        size_t ki = (size_t)k * d + i;
        sf_eigen_terms t = sf_eigen_at(a2, s2, rate_c, rate_1, a.cov64[ki]);
        double am = alpha * a.mean64[ki];
        alpha_mean[ki] = (T)am;
        a.prec_diag[ki] = t.p;
        prec_mean[ki] = (T)(t.p * am);
        if (slot >= 0) prec_diag_gemm[(size_t)slot * d + i] = (T)t.p;
        log_det += t.log_e, trace += t.p, trace_rate += t.rate, mean_quad += t.p * am * am;
    }
    log_det = block_sum(log_det), trace = block_sum(trace), trace_rate = block_sum(trace_rate);
    mean_quad = block_sum(mean_quad);
    int j0 = a.rank_offset[k], rank = a.rank_offset[k + 1] - j0;
    if (rank > 0) { /* d - r directions at e_perp, the r basis rows at e_perp + alpha^2 lambda_j */
        double c_perp = a.cov64[(size_t)k * d];
        sf_eigen_terms perp = sf_eigen_at(a2, s2, rate_c, rate_1, c_perp);
        log_det = (d - rank) * perp.log_e, trace = (d - rank) * perp.p, trace_rate = (d - rank) * perp.rate;
        for (int j = j0; j < j0 + rank; j++) {
            sf_eigen_terms row = sf_eigen_at(a2, s2, rate_c, rate_1, c_perp + a.eig64[j]);
            log_det += row.log_e, trace += row.p, trace_rate += row.rate;
            double um = 0;
            for (int i = threadIdx.x; i < d; i += blockDim.x) um += a.basis64[(size_t)j * d + i] * alpha * a.mean64[(size_t)k * d + i];
            um = block_sum(um);
            if (threadIdx.x == 0) a.prec_basis[j] = row.p, a.basis_mean[j] = um;
        }
    }
    if (threadIdx.x == 0) {
        a.log_norm[k] = sf_log_normaliser(a.log_weight[k], d, log_det);
        a.trace_prec[k] = trace;
        a.trace_rate[k] = trace_rate;
        a.mean_quad[k] = mean_quad;
        a.prec_lead[k] = sf_eigen_at(a2, s2, rate_c, rate_1, a.cov64[(size_t)k * d]).p;
    }
}

__global__ void write_frame(double *frame, double alpha, double sigma2, double dalpha, double dsigma2)
{
    frame[0] = alpha, frame[1] = sigma2, frame[2] = dalpha, frame[3] = dsigma2;
}

template <typename T> static sf_status launch_update(const sf_cuda_plan *p, const double *frame, cudaStream_t stream)
{
    const sf_field_layout_device &L = p->L;
    update_arrays a = {plan_array<double>(p, L.mean64), plan_array<double>(p, L.cov64), plan_array<double>(p, L.basis64),
                       plan_array<double>(p, L.eig64), plan_array<double>(p, L.log_weight),
                       plan_array<int>(p, L.rank_offset), plan_array<int>(p, L.diag_slot),
                       plan_array<double>(p, L.prec_diag), plan_array<double>(p, L.prec_basis),
                       plan_array<double>(p, L.log_norm), plan_array<double>(p, L.trace_prec),
                       plan_array<double>(p, L.trace_rate), plan_array<double>(p, L.mean_quad),
                       plan_array<double>(p, L.prec_lead), plan_array<double>(p, L.basis_mean)};
    update_field<T><<<p->K, SF_UPDATE_THREADS, 0, stream>>>(a, plan_array<T>(p, L.alpha_mean), plan_array<T>(p, L.prec_mean),
                                                            plan_array<T>(p, L.prec_diag_gemm), frame, p->d);
    SF_LAUNCH_CHECK("update_field");
    return SF_OK;
}

sf_status sfi_plan_update_from(const sf_cuda_plan *p, const double *frame, cudaStream_t stream)
{
    return p->precision == SF_PRECISION_F32 ? launch_update<float>(p, frame, stream) : launch_update<double>(p, frame, stream);
}

/* Uploads the static image through pinned memory, waiting for the copy before the staging is freed
 * (issue 11 defect 3: a pageable source was freed right after cudaMemcpyAsync). */
static sf_status upload_static(sf_cuda_plan *p, const sf_field *f)
{
    char *image = NULL;
    SF_CUDA_TRY(cudaMallocHost((void **)&image, p->L.static_end));
    fill_static_image(f, &p->L, image, &p->kdiag);
    cudaError_t e = cudaMemcpyAsync(p->base, image, p->L.static_end, cudaMemcpyHostToDevice, p->state->stream);
    if (e == cudaSuccess) e = cudaStreamSynchronize(p->state->stream);
    cudaFreeHost(image);
    if (e != cudaSuccess)
        return sfi_fail(SF_ERR_CUDA, "uploading the mixture (%zu bytes) failed: %s (%s:%d)", p->L.static_end,
                       cudaGetErrorString(e), __FILE__, __LINE__);
    if (p->precision == SF_PRECISION_F32) {
        const sf_field_layout_device &L = p->L;
        struct { size_t from, to, count; } copies[4] = {{L.mean64, L.mean, (size_t)p->K * p->d},
                                                        {L.cov64, L.cov, (size_t)p->K * p->d},
                                                        {L.basis64, L.basis, (size_t)p->R * p->d},
                                                        {L.eig64, L.cov_lowrank, (size_t)p->R}};
        for (int c = 0; c < 4; c++) {
            if (!copies[c].count) continue;
            to_working<float><<<sf_blocks_for(copies[c].count, 256), 256, 0, p->state->stream>>>(
                plan_array<double>(p, copies[c].from), copies[c].count, plan_array<float>(p, copies[c].to));
            SF_LAUNCH_CHECK("to_working");
        }
    }
    return SF_OK;
}

static sf_status create(sf_cuda_plan *p, const sf_field *f)
{
    int kdiag = 0, max_rank = 0;
    for (int k = 0; k < f->K; k++) {
        kdiag += !uniform_diagonal(f, k);
        int r = f->rank_offset[k + 1] - f->rank_offset[k];
        max_rank = r > max_rank ? r : max_rank;
    }
    p->max_rank = max_rank;
    p->rank_offset = (int *)malloc(((size_t)f->K + 1) * sizeof(int));
    if (!p->rank_offset) return sfi_fail(SF_ERR_NOMEM, "out of memory creating a CUDA plan");
    memcpy(p->rank_offset, f->rank_offset, ((size_t)f->K + 1) * sizeof(int));
    p->L = layout_for(f->d, f->K, f->R, kdiag, p->precision == SF_PRECISION_F32 ? 4 : 8);
    SF_CUDA_TRY(cudaEventCreateWithFlags(&p->updated, cudaEventDisableTiming));
    cudaError_t e = cudaMalloc((void **)&p->base, p->L.total);
    if (e != cudaSuccess) {
        p->base = NULL;
        cudaGetLastError();
        return sfi_fail(SF_ERR_CUDA, "no device memory for the mixture (%zu bytes, d = %d, K = %d): %s", p->L.total, f->d,
                       f->K, cudaGetErrorString(e));
    }
    return upload_static(p, f);
}

extern "C" sf_status sfi_cuda_plan_create(sf_cuda_plan **out, sf_cuda_state *s, const sf_field *f, sf_precision precision)
{
    *out = NULL;
    if (!s) return sfi_fail(SF_ERR_NO_CUDA, "the context has no CUDA state");
    sf_cuda_plan *p = (sf_cuda_plan *)calloc(1, sizeof *p);
    if (!p) return sfi_fail(SF_ERR_NOMEM, "out of memory creating a CUDA plan");
    p->state = s, p->precision = precision, p->d = f->d, p->K = f->K, p->R = f->R;
    int caller = 0;
    sf_status st = sfi_cuda_enter(s, &caller);
    if (st != SF_OK) {
        free(p);
        return st;
    }
    st = sfi_cuda_leave(s, caller, create(p, f));
    if (st != SF_OK) {
        sfi_cuda_plan_destroy(p);
        return st;
    }
    *out = p;
    return SF_OK;
}

extern "C" sf_status sfi_cuda_plan_set_frame(sf_cuda_plan *p, double alpha, double sigma2, int has_rates, double dalpha,
                                            double dsigma2)
{
    int caller = 0;
    sf_status st = sfi_cuda_enter(p->state, &caller);
    if (st != SF_OK) return st;
    p->alpha = alpha;
    p->dalpha = has_rates ? dalpha : 0.0;
    p->dsigma2 = has_rates ? dsigma2 : 0.0;
    double *frame = plan_array<double>(p, p->L.frame);
    write_frame<<<1, 1, 0, p->state->stream>>>(frame, alpha, sigma2, p->dalpha, p->dsigma2);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        st = sfi_fail(SF_ERR_CUDA, "launch of write_frame failed: %s (%s:%d)", cudaGetErrorString(e), __FILE__, __LINE__);
    if (st == SF_OK) st = sfi_plan_update_from(p, frame, p->state->stream);
    if (st == SF_OK && (e = cudaEventRecord(p->updated, p->state->stream)) != cudaSuccess)
        st = sfi_fail(SF_ERR_CUDA, "cudaEventRecord failed: %s (%s:%d)", cudaGetErrorString(e), __FILE__, __LINE__);
    return sfi_cuda_leave(p->state, caller, st);
}

extern "C" void sfi_cuda_plan_destroy(sf_cuda_plan *p)
{
    if (!p) return;
    int caller = -1;
    if (cudaGetDevice(&caller) != cudaSuccess) caller = -1;
    cudaSetDevice(p->state->device);
    if (p->base) cudaFree(p->base); /* waits for work still reading it */
    if (p->updated) cudaEventDestroy(p->updated);
    if (caller >= 0) cudaSetDevice(caller);
    free(p->rank_offset);
    free(p);
}
