/* Internal to kernels/: evaluation of a plan on particles already on the device (arrays in the
 * plan's precision), shared by the host-array and device-array entry points (plan.cu) and the
 * device-resident sampler (sample.cu). Three routes (DESIGN.md "The GPU path"):
 *   small d (d <= 32) without derivatives: one kernel, a particle per thread (or 4 or 8 lanes),
 *     the components in shared-memory tiles, an online log-sum-exp (small_particle.h);
 *   large d: per tile of particles, the logits' GEMM products by cuBLAS (|x|^2 p_k as a rank-one
 *     term where the diagonal is uniform), a screening epilogue that compacts the survivors by
 *     warp ballot, and the survivors evaluated exactly, a warp per particle (score_particle.h);
 *   small d with derivatives: every component as a survivor, a lane group per particle.
 * Only requested outputs are written; scratch is only what the route and request need. */
#ifndef SF_EVALUATE_CUH
#define SF_EVALUATE_CUH

#include "field_device.cuh"

/* Per-tile scratch of an evaluation: bytes per particle of the tile and bytes regardless of it.
 * tile_cap is the largest tile the route may use (int sizes of cuBLAS, and no gain past it);
 * per_particle == 0 means the route needs no scratch (one launch over every particle). */
typedef struct {
    size_t per_particle, fixed, tile_cap;
} sf_eval_scratch;

sf_eval_scratch sfi_eval_scratch_of(const sf_cuda_plan *p, const sf_device_request *rq, sf_gemm_math math);
/* The exact bytes of the scratch for tiles of `tile` particles (what sfi_eval_launch lays out). */
size_t sfi_eval_scratch_bytes(const sf_cuda_plan *p, const sf_device_request *rq, sf_gemm_math math, size_t tile);

/* Enqueues the evaluation of the n particles x (device, n x d) into rq's arrays on `stream`, with
 * `scratch` (device, at least fixed + tile x per_particle bytes) and tiles of at most `tile`
 * particles. bad (device) receives, by atomicMin, the index of the first input element that is
 * not finite (or, in float32, is outside the float32 range), plus `index_base`. The cuBLAS handle
 * must be on `stream`. */
sf_status sfi_eval_launch(const sf_cuda_plan *p, const void *x, size_t n, const sf_device_request *rq, void *scratch,
                         size_t tile, unsigned long long *bad, unsigned long long index_base, cudaStream_t stream,
                         cublasHandle_t blas, sf_gemm_math math);

/* GEMM flops the large-d route performs per particle for plan p (benchmarks). */
double sfi_eval_gemm_flops(const sf_cuda_plan *p, sf_gemm_math math);

#endif
