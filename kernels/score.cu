/* Score evaluation on the GPU for host arrays (DESIGN.md "The GPU path"): the field uploaded once,
 * particles in batches sized from free device memory (so any N runs), each batch through the
 * device pipeline of kernels/score_device.cuh, every requested output back to float64. */
#include "score_device.cuh"

template <typename T>
static sf_status score_on_device(sf_cuda_state *s, const sf_field *f, size_t max_batch, const double *x, size_t n,
                                 const sf_request *rq)
{
    typedef prec<T> P;
    size_t d = f->d, K = f->K, R = f->R;
    /* a recoverable error of an earlier call (say, a failed cudaMalloc) must not be reported by
     * this call's first launch check; sticky errors are not cleared by this */
    (void)cudaGetLastError();

    typename P::view v;
    sf_status st = upload_field<T>(s, f, &s->field, &s->field_bytes, &v);
    if (st != SF_OK) return st;

    wants want = {rq->denoise != NULL, rq->resp != NULL, rq->div != NULL, rq->lap != NULL, rq->hvp != NULL,
                  rq->hvp && rq->hvp_dir, rq->hessian != NULL, rq->dt_score != NULL, rq->dt_logp != NULL};
    size_t B;
    if ((st = choose_batch<T>(s, n, max_batch, d, K, R, want.hessian, 0, &B)) != SF_OK) return st;
    batch<T> w;
    if ((st = sf_cuda_reserve(&s->workspace, &s->workspace_bytes, carve<T>(NULL, B, d, K, R, want.hessian, &w))) != SF_OK)
        return st;
    carve<T>(s->workspace, B, d, K, R, want.hessian, &w);

    for (size_t b0 = 0; b0 < n; b0 += B) {
        size_t nb = n - b0 < B ? n - b0 : B;
        SF_CUDA_TRY(cudaMemcpyAsync(w.x64, x + b0 * d, nb * d * sizeof(double), cudaMemcpyHostToDevice, s->stream));
        if (want.hvp_dir)
            SF_CUDA_TRY(cudaMemcpyAsync(w.dir64, rq->hvp_dir + b0 * d, nb * d * sizeof(double), cudaMemcpyHostToDevice,
                                        s->stream));
        if ((st = evaluate_batch<T>(s, v, w, nb, want, rq->hvp_s, rq->hvp_x)) != SF_OK) return st;
        const struct { int on; const T *src; size_t width; double *dst; } outs[] = {
            {rq->score != NULL, w.score, d, rq->score},       {want.denoise, w.denoise, d, rq->denoise},
            {want.resp, w.resp, K, rq->resp},                 {rq->logp != NULL, w.logp, 1, rq->logp},
            {want.div, w.div, 1, rq->div},                    {want.lap, w.lap, d, rq->lap},
            {want.hvp, w.hvp, d, rq->hvp},                    {want.hessian, w.hessian, d * d, rq->hessian},
            {want.dt_score, w.dt_score, d, rq->dt_score},     {want.dt_logp, w.dt_logp, 1, rq->dt_logp}};
        for (size_t o = 0; o < sizeof outs / sizeof outs[0]; o++)
            if (outs[o].on && (st = download<T>(s, outs[o].src, nb * outs[o].width, w.out64,
                                                outs[o].dst + b0 * outs[o].width)) != SF_OK)
                return st;
    }
    return SF_OK;
}

extern "C" sf_status sf_cuda_score(sf_cuda_state *s, const sf_field *field, sf_precision precision, size_t max_batch,
                                   const double *x, size_t n, const sf_request *out)
{
    if (!s) return sf_fail(SF_ERR_NO_CUDA, "the context has no CUDA state");
    if (sf_request_needs_rates(out) && !field->has_rates)
        return sf_fail(SF_ERR_INVALID, "time derivatives need a schedule (a direct alpha, sigma pair has none)");
    if (n == 0) return SF_OK;
    int caller_device = 0;
    sf_status st = sf_cuda_enter(s, &caller_device);
    if (st != SF_OK) return st;
    st = precision == SF_PRECISION_F32 ? score_on_device<float>(s, field, max_batch, x, n, out)
                                       : score_on_device<double>(s, field, max_batch, x, n, out);
    return sf_cuda_leave(s, caller_device, st);
}
