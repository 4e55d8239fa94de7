/* Evaluating a device plan (sf_cuda.h): on host arrays, through pinned staging with copies on one
 * stream overlapping the kernels on the other; and on caller-owned device arrays, on the caller's
 * stream. Both check the input on the device and synchronise once per batch (or call). */
#include "batch.h"
#include "evaluate.cuh"

#include <stdlib.h>
#include <string.h>

/* Pinned staging is reused across calls; above this it is not worth more (the copies are already
 * long enough to overlap). */
#define SF_PINNED_CAP ((size_t)512 << 20)
#define SF_NO_BAD_INPUT (~0ull)

/* ---------------------------------------------------------------- the input check's report */

/* The error for a bad element at global element index `at` with value v (from the caller's x). */
static sf_status bad_input(const sf_cuda_plan *p, unsigned long long at, double v)
{
    size_t particle = (size_t)(at / (unsigned long long)p->d);
    int coordinate = (int)(at % (unsigned long long)p->d);
    if (!isfinite(v))
        return sfi_fail(SF_ERR_INVALID, "particle %zu, coordinate %d is not finite (%g)", particle, coordinate, v);
    return sfi_fail(SF_ERR_INVALID,
                   "particle %zu, coordinate %d is %g: outside the range of a float32 evaluation (|x| <= 2^60, so "
                   "that squares and their sums stay finite): use float64",
                   particle, coordinate, v);
}

/* ---------------------------------------------------------------- host arrays */

/* One output of the host request: its array and its width per particle. */
typedef struct {
    double *host;
    size_t width;
} host_output;

typedef struct {
    host_output out[10];
    int count;
    size_t in_width, out_width; /* elements per particle: x (+ directions), all outputs */
} host_io;

static host_io io_of(const sf_cuda_plan *p, const sf_request *rq)
{
    host_io io;
    memset(&io, 0, sizeof io);
    size_t d = p->d, K = p->K;
    double *arrays[10] = {rq->score, rq->logp, rq->resp, rq->div, rq->denoise, rq->lap, rq->hvp, rq->hessian, rq->dt_score,
                          rq->dt_logp};
    size_t widths[10] = {d, 1, K, 1, d, d, d, d * d, d, 1};
    for (int o = 0; o < 10; o++) {
        io.out[o].host = arrays[o], io.out[o].width = arrays[o] ? widths[o] : 0;
        io.out_width += io.out[o].width;
    }
    io.count = 10;
    io.in_width = d * (rq->hvp && rq->hvp_dir ? 2 : 1);
    return io;
}

/* A batch slot: device input and outputs, pinned input and outputs, and the device request over them. */
template <typename T> struct slot {
    T *in, *out;               /* device [B x in_width], [B x out_width] */
    T *stage_in, *stage_out;   /* pinned, the same sizes */
    sf_device_request rq;      /* over `in` and `out` */
};

template <typename T> static void lay_out_slot(slot<T> *s, const host_io &io, const sf_request *rq, size_t B, size_t d)
{
    T *at = s->out;
    void **fields[10] = {&s->rq.score, &s->rq.logp, &s->rq.resp, &s->rq.div, &s->rq.denoise, &s->rq.lap, &s->rq.hvp,
                         &s->rq.hessian, &s->rq.dt_score, &s->rq.dt_logp};
    for (int o = 0; o < io.count; o++) {
        *fields[o] = io.out[o].width ? at : NULL;
        at += B * io.out[o].width;
    }
    s->rq.hvp_dir = io.in_width > d ? s->in + B * d : NULL;
    s->rq.hvp_s = rq->hvp_s, s->rq.hvp_x = rq->hvp_x;
}

/* Events of the pipeline, destroyed on every path. */
struct pipeline_events {
    cudaEvent_t copied_in[2], computed[2], copied_out[2];
    int made;
    pipeline_events() : made(0) {}
    sf_status create()
    {
        cudaEvent_t *all[6] = {&copied_in[0], &copied_in[1], &computed[0], &computed[1], &copied_out[0], &copied_out[1]};
        for (; made < 6; made++) SF_CUDA_TRY(cudaEventCreateWithFlags(all[made], cudaEventDisableTiming));
        return SF_OK;
    }
    ~pipeline_events()
    {
        cudaEvent_t all[6] = {copied_in[0], copied_in[1], computed[0], computed[1], copied_out[0], copied_out[1]};
        for (int i = 0; i < made; i++) cudaEventDestroy(all[i]);
    }
};

/* Everything a host-array evaluation sizes once. */
template <typename T> struct host_run {
    sf_cuda_plan *p;
    const sf_request *rq;
    sf_device_request shape; /* which outputs (its pointers are the host's: only their presence counts) */
    host_io io;
    sf_eval_scratch scratch;
    size_t B, tile;
    slot<T> slots[2];
    void *work; /* scratch of the evaluation (device) */
};

static size_t tile_of(const sf_eval_scratch &sc, size_t B) { return sc.tile_cap && B > sc.tile_cap ? sc.tile_cap : B; }

/* Device bytes of a run with batches of B. */
template <typename T> static size_t device_bytes(const host_run<T> &r, size_t B)
{
    size_t io = (r.io.in_width + r.io.out_width) * sizeof(T);
    return 2 * (B * io + 512) + 256 + sfi_eval_scratch_bytes(r.p, &r.shape, r.p->state->math, tile_of(r.scratch, B));
}

template <typename T> static sf_status allocate_batches(void *data, size_t B, int *oom)
{
    host_run<T> *r = (host_run<T> *)data;
    sf_cuda_state *s = r->p->state;
    return sfi_cuda_reserve(&s->workspace, &s->workspace_bytes, device_bytes(*r, B), oom);
}

template <typename T> static sf_status size_run(host_run<T> *r, size_t max_batch, size_t n)
{
    sf_cuda_state *s = r->p->state;
    size_t free_bytes = 0, total = 0;
    SF_CUDA_TRY(cudaMemGetInfo(&free_bytes, &total));
    size_t io = (r->io.in_width + r->io.out_width) * sizeof(T);
    sf_batch_budget b;
    b.free_bytes = free_bytes, b.reusable_bytes = s->workspace_bytes; /* only the workspace: this path frees it */
    b.fixed_bytes = r->scratch.fixed + 1024, b.per_particle = 2 * io + r->scratch.per_particle;
    b.n = n, b.max_batch = max_batch;
    b.hard_cap = SF_PINNED_CAP / (2 * io);
    if (b.hard_cap < 1) b.hard_cap = 1;
    size_t first = sf_batch_size(&b);
    if (first == 0)
        return sfi_fail(SF_ERR_CUDA, "not enough free device memory for one particle (d = %d, K = %d): %zu bytes free",
                       r->p->d, r->p->K, free_bytes);
    sf_status st = sf_batch_reserve(first, allocate_batches<T>, r, &r->B);
    if (st != SF_OK) return st;
    r->tile = tile_of(r->scratch, r->B);
    st = sfi_cuda_reserve_pinned(&s->pinned, &s->pinned_bytes, 2 * r->B * io);
    if (st != SF_OK) return st;
    char *dev = (char *)s->workspace, *pin = (char *)s->pinned;
    for (int k = 0; k < 2; k++) {
        slot<T> *sl = &r->slots[k];
        sl->in = (T *)dev, dev += r->B * r->io.in_width * sizeof(T) + 256;
        sl->out = (T *)dev, dev += r->B * r->io.out_width * sizeof(T) + 256;
        sl->stage_in = (T *)pin, pin += r->B * r->io.in_width * sizeof(T);
        sl->stage_out = (T *)pin, pin += r->B * r->io.out_width * sizeof(T);
        lay_out_slot<T>(sl, r->io, r->rq, r->B, r->p->d);
    }
    r->work = (void *)(((size_t)dev + 255) & ~(size_t)255);
    return SF_OK;
}

/* Host side of a batch: particles [b0, b0 + nb) into the slot's pinned input, in T. */
template <typename T> static void pack_input(const host_run<T> &r, const slot<T> &sl, const double *x, size_t b0, size_t nb)
{
    size_t d = r.p->d, count = nb * d;
    const double *src = x + b0 * d, *dir = r.io.in_width > d ? r.rq->hvp_dir + b0 * d : NULL;
    T *dst = sl.stage_in, *dst_dir = sl.stage_in + r.B * d;
#pragma omp parallel for schedule(static) if (count > 65536)
    for (size_t i = 0; i < count; i++) {
        dst[i] = (T)src[i];
        if (dir) dst_dir[i] = (T)dir[i];
    }
}

/* Host side of a finished batch: the slot's pinned outputs into the caller's arrays. */
template <typename T> static void unpack_output(const host_run<T> &r, const slot<T> &sl, size_t b0, size_t nb)
{
    const T *at = sl.stage_out;
    for (int o = 0; o < r.io.count; o++) {
        size_t w = r.io.out[o].width, count = nb * w;
        if (!w) continue;
        double *dst = r.io.out[o].host + b0 * w;
#pragma omp parallel for schedule(static) if (count > 65536)
        for (size_t i = 0; i < count; i++) dst[i] = (double)at[i];
        at += r.B * w;
    }
}

template <typename T> static sf_status copy_outputs_back(const host_run<T> &r, const slot<T> &sl, size_t nb, cudaStream_t copy)
{
    /* the outputs lie in one block per output, each B wide: copy the first nb rows of each */
    size_t off = 0;
    for (int o = 0; o < r.io.count; o++) {
        size_t w = r.io.out[o].width;
        if (!w) continue;
        SF_CUDA_TRY(cudaMemcpyAsync(sl.stage_out + off, sl.out + off, nb * w * sizeof(T), cudaMemcpyDeviceToHost, copy));
        off += r.B * w;
    }
    return SF_OK;
}

template <typename T> static sf_status evaluate_host(sf_cuda_plan *p, size_t max_batch, const double *x, size_t n,
                                                     const sf_request *rq)
{
    sf_cuda_state *s = p->state;
    host_run<T> r;
    memset(&r, 0, sizeof r);
    r.p = p, r.rq = rq, r.io = io_of(p, rq);
    sf_device_request shape = {rq->score, rq->logp, rq->resp, rq->div, rq->denoise, rq->lap, rq->hvp, rq->hessian,
                               rq->dt_score, rq->dt_logp, rq->hvp_dir, rq->hvp_s, rq->hvp_x};
    r.shape = shape;
    r.scratch = sfi_eval_scratch_of(p, &shape, s->math);
    sf_status st = size_run<T>(&r, max_batch, n);
    if (st != SF_OK) return st;
    pipeline_events ev;
    if ((st = ev.create()) != SF_OK) return st;
    size_t batches = (n + r.B - 1) / r.B;
    /* batch i uses slot i % 2: while the device works on one, the host drains and refills the
     * other. Iteration i hands batch i - 2 back, then starts batch i. */
    for (size_t i = 0; i < batches + 2; i++) {
        if (i >= 2 && i - 2 < batches) {
            size_t j = i - 2, b0 = j * r.B, nb = n - b0 < r.B ? n - b0 : r.B;
            int k = (int)(j % 2);
            SF_CUDA_TRY(cudaEventSynchronize(ev.copied_out[k])); /* the one synchronisation per batch */
            if (s->bad_host[k] != SF_NO_BAD_INPUT) return bad_input(p, s->bad_host[k], x[s->bad_host[k]]);
            unpack_output<T>(r, r.slots[k], b0, nb);
        }
        if (i >= batches) continue;
        size_t b0 = i * r.B, nb = n - b0 < r.B ? n - b0 : r.B;
        int k = (int)(i % 2);
        slot<T> &sl = r.slots[k];
        pack_input<T>(r, sl, x, b0, nb);
        SF_CUDA_TRY(cudaMemcpyAsync(sl.in, sl.stage_in, nb * p->d * sizeof(T), cudaMemcpyHostToDevice, s->copy_stream));
        if (r.io.in_width > (size_t)p->d)
            SF_CUDA_TRY(cudaMemcpyAsync(sl.in + r.B * p->d, sl.stage_in + r.B * p->d, nb * p->d * sizeof(T),
                                        cudaMemcpyHostToDevice, s->copy_stream));
        SF_CUDA_TRY(cudaEventRecord(ev.copied_in[k], s->copy_stream));
        SF_CUDA_TRY(cudaStreamWaitEvent(s->stream, ev.copied_in[k], 0));
        SF_CUDA_TRY(cudaMemsetAsync(s->bad + k, 0xff, sizeof(unsigned long long), s->stream));
        st = sfi_eval_launch(p, sl.in, nb, &sl.rq, r.work, r.tile, s->bad + k, (unsigned long long)b0 * p->d, s->stream,
                            s->blas, s->math);
        if (st != SF_OK) return st;
        SF_CUDA_TRY(cudaEventRecord(ev.computed[k], s->stream));
        SF_CUDA_TRY(cudaStreamWaitEvent(s->copy_stream, ev.computed[k], 0));
        if ((st = copy_outputs_back<T>(r, sl, nb, s->copy_stream)) != SF_OK) return st;
        SF_CUDA_TRY(cudaMemcpyAsync(s->bad_host + k, s->bad + k, sizeof(unsigned long long), cudaMemcpyDeviceToHost,
                                    s->copy_stream));
        SF_CUDA_TRY(cudaEventRecord(ev.copied_out[k], s->copy_stream));
    }
    return SF_OK;
}

extern "C" sf_status sfi_cuda_plan_evaluate(sf_cuda_plan *p, size_t max_batch, const double *x, size_t n, const sf_request *rq)
{
    if (n == 0) return SF_OK;
    int caller = 0;
    sf_status st = sfi_cuda_enter(p->state, &caller);
    if (st != SF_OK) return st;
    st = p->precision == SF_PRECISION_F32 ? evaluate_host<float>(p, max_batch, x, n, rq)
                                          : evaluate_host<double>(p, max_batch, x, n, rq);
    return sfi_cuda_leave(p->state, caller, st);
}

/* ---------------------------------------------------------------- device arrays */

typedef struct {
    sf_cuda_plan *p;
    const sf_device_request *rq;
    sf_eval_scratch scratch;
} device_run;

static sf_status allocate_tile(void *data, size_t tile, int *oom)
{
    device_run *r = (device_run *)data;
    sf_cuda_state *s = r->p->state;
    return sfi_cuda_reserve(&s->workspace, &s->workspace_bytes, sfi_eval_scratch_bytes(r->p, r->rq, s->math, tile), oom);
}

static sf_status evaluate_device(sf_cuda_plan *p, const void *x, size_t n, const sf_device_request *rq, cudaStream_t stream)
{
    sf_cuda_state *s = p->state;
    device_run r = {p, rq, sfi_eval_scratch_of(p, rq, s->math)};
    size_t tile = 0;
    if (r.scratch.per_particle) {
        size_t free_bytes = 0, total = 0;
        SF_CUDA_TRY(cudaMemGetInfo(&free_bytes, &total));
        sf_batch_budget b = {free_bytes, s->workspace_bytes, r.scratch.fixed + 256, r.scratch.per_particle, n, 0,
                             r.scratch.tile_cap};
        size_t first = sf_batch_size(&b);
        if (first == 0)
            return sfi_fail(SF_ERR_CUDA, "not enough free device memory for one particle's scratch (d = %d, K = %d)", p->d,
                           p->K);
        sf_status st = sf_batch_reserve(first, allocate_tile, &r, &tile);
        if (st != SF_OK) return st;
    }
    SF_CUDA_TRY(cudaStreamWaitEvent(stream, p->updated, 0)); /* the field's last update, on the state's stream */
    SF_CUBLAS_TRY(cublasSetStream(s->blas, stream));
    SF_CUDA_TRY(cudaMemsetAsync(s->bad, 0xff, sizeof(unsigned long long), stream));
    sf_status st = sfi_eval_launch(p, x, n, rq, s->workspace, tile, s->bad, 0, stream, s->blas, s->math);
    cudaError_t e = cudaSuccess;
    if (st == SF_OK) e = cudaMemcpyAsync(s->bad_host, s->bad, sizeof(unsigned long long), cudaMemcpyDeviceToHost, stream);
    if (e == cudaSuccess) e = cudaStreamSynchronize(stream);
    cublasSetStream(s->blas, s->stream);
    if (st != SF_OK) return st;
    if (e != cudaSuccess)
        return sfi_fail(SF_ERR_CUDA, "evaluating on device arrays failed: %s (%s:%d)", cudaGetErrorString(e), __FILE__,
                       __LINE__);
    if (s->bad_host[0] != SF_NO_BAD_INPUT) { /* fetch the one bad value for the message */
        unsigned long long at = s->bad_host[0];
        double v = 0;
        if (p->precision == SF_PRECISION_F32) {
            float f = 0;
            SF_CUDA_TRY(cudaMemcpy(&f, (const float *)x + at, sizeof f, cudaMemcpyDeviceToHost));
            v = f;
        } else {
            SF_CUDA_TRY(cudaMemcpy(&v, (const double *)x + at, sizeof v, cudaMemcpyDeviceToHost));
        }
        return bad_input(p, at, v);
    }
    return SF_OK;
}

extern "C" sf_status sfi_cuda_plan_evaluate_device(sf_cuda_plan *p, const void *x, size_t n, const sf_device_request *rq,
                                                  void *stream)
{
    if (n == 0) return SF_OK;
    int caller = 0;
    sf_status st = sfi_cuda_enter(p->state, &caller);
    if (st != SF_OK) return st;
    return sfi_cuda_leave(p->state, caller, evaluate_device(p, x, n, rq, (cudaStream_t)stream));
}
