/* Sampling with the particles resident on the device (docs/samplers.md; the plans of
 * kernels/sampler_step.h made on the host by src/sampler.c): per stage the stage input is formed
 * on the device, the field at the stage time is uploaded, the score runs through the device
 * pipeline of score_device.cuh, and eps = -sigma s~ is kept in float64; the step result adds
 * Philox noise keyed by (seed, particle, step, dimension), the same numbers as the CPU path. */
#include "philox.h"
#include "score_device.cuh"

#define SF_LOOP(i, n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

/* u = a_i x + sum_{j<i} b_ij eps_j; eps holds the stages `stride` values apart */
__global__ void stage_input(sf_step_plan plan, int stage, const double *x, const double *eps, size_t stride, size_t nd,
                            double *u)
{
    SF_LOOP(e, nd)
    {
        double prev[SF_MAX_STAGES];
        for (int j = 0; j < stage; j++) prev[j] = eps[j * stride + e];
        u[e] = sf_step_stage_input(&plan, stage, x[e], prev);
    }
}

/* eps = -sigma (s + gamma (s_c - s)), or -sigma s without guidance (sc == NULL) */
template <typename T> __global__ void noise_prediction(const T *s, const double *sc, double gamma, double sigma, size_t nd, double *eps)
{
    SF_LOOP(e, nd)
    {
        double v = (double)s[e];
        if (sc) v += gamma * (sc[e] - v);
        eps[e] = -sigma * v;
    }
}

template <typename T> __global__ void to_double(const T *in, size_t n, double *out) { SF_LOOP(e, n) out[e] = (double)in[e]; }

/* x <- A x + sum_j B_j eps_j + C z */
__global__ void step_result(sf_step_plan plan, double *x, const double *eps, size_t stride, size_t nd, int d,
                            uint64_t seed, uint64_t first_particle, uint32_t step)
{
    SF_LOOP(e, nd)
    {
        double all[SF_MAX_STAGES];
        for (int j = 0; j < plan.stages; j++) all[j] = eps[j * stride + e];
        double z = plan.C != 0 ? sf_philox_normal(seed, first_particle + e / d, step, (uint32_t)(e % d)) : 0.0;
        x[e] = sf_step_result(&plan, x[e], all, z);
    }
}

/* The score s~ of the stage input in w.x64 at time t, as eps into `eps`. */
template <typename T>
static sf_status stage_eps(sf_cuda_state *s, const sf_mixture *mix, const sf_mixture *cls, double gamma, const sf_time *t,
                           const batch<T> &w, size_t n, double *class_score, double *eps)
{
    size_t nd = n * (size_t)mix->dim;
    wants want = {0, 0, 0, 0, 0, 0, 0, 0, 0};
    sf_field f;
    sf_status st;
    typename prec<T>::view v;
    if (cls) { /* the class score first: it lands in w.score, then moves to class_score */
        if ((st = sf_field_build(&f, cls, t)) != SF_OK) return st;
        st = upload_field<T>(s, &f, &s->class_field, &s->class_field_bytes, &v);
        if (st == SF_OK) st = evaluate_batch<T>(s, v, w, n, want, 0, 0);
        sf_field_free(&f);
        if (st != SF_OK) return st;
        to_double<T><<<grid_for(nd), SF_THREADS, 0, s->stream>>>(w.score, nd, class_score);
        SF_LAUNCH_CHECK("to_double");
    }
    if ((st = sf_field_build(&f, mix, t)) != SF_OK) return st;
    st = upload_field<T>(s, &f, &s->field, &s->field_bytes, &v);
    if (st == SF_OK) st = evaluate_batch<T>(s, v, w, n, want, 0, 0);
    sf_field_free(&f);
    if (st != SF_OK) return st;
    noise_prediction<T><<<grid_for(nd), SF_THREADS, 0, s->stream>>>(w.score, cls ? class_score : NULL, gamma, t->sigma, nd, eps);
    SF_LAUNCH_CHECK("noise_prediction");
    return SF_OK;
}

/* The largest K and R of the mixture and the class: the workspace must hold either. */
static void widest(const sf_mixture *mix, const sf_mixture *cls, int *K, int *R)
{
    *K = mix->count, *R = mix->rank_offset[mix->count];
    if (cls) {
        if (cls->count > *K) *K = cls->count;
        if (cls->rank_offset[cls->count] > *R) *R = cls->rank_offset[cls->count];
    }
}

/* Bytes of device-resident sampler state per particle: x, the eps of every stage, the class score. */
static size_t state_per_particle(int d) { return (2 + SF_MAX_STAGES) * (size_t)d * sizeof(double); }

/* The workspace for n particles, carved (again after a callback, which may have regrown it). */
template <typename T> static sf_status workspace(sf_cuda_state *s, size_t n, int d, int K, int R, batch<T> *w)
{
    sf_status st = sf_cuda_reserve(&s->workspace, &s->workspace_bytes, carve<T>(NULL, n, d, K, R, 0, w));
    if (st == SF_OK) carve<T>(s->workspace, n, d, K, R, 0, w);
    return st;
}

template <typename T>
static sf_status sample_on_device(sf_cuda_state *s, const sf_mixture *mix, const sf_mixture *cls, double gamma,
                                  const sf_schedule *sched, const sf_step_plan *plans, const double *times, int steps,
                                  uint64_t seed, double *x, size_t n, size_t first_particle, sf_trajectory_fn trajectory,
                                  void *data, int every)
{
    (void)cudaGetLastError();
    int d = mix->dim, K, R;
    widest(mix, cls, &K, &R);
    size_t nd = n * (size_t)d;
    /* particles: x, the eps of every stage, the class score; then the pipeline's workspace */
    size_t stride = round_up(nd * sizeof(double)) / sizeof(double); /* 256-byte aligned arrays of nd doubles */
    sf_status st = sf_cuda_reserve(&s->particles, &s->particles_bytes, stride * sizeof(double) * (2 + SF_MAX_STAGES));
    if (st != SF_OK) return st;
    double *xd = (double *)s->particles, *eps = xd + stride, *class_score = eps + SF_MAX_STAGES * stride;
    batch<T> w;
    if ((st = workspace<T>(s, n, d, K, R, &w)) != SF_OK) return st;
    SF_CUDA_TRY(cudaMemcpyAsync(xd, x, nd * sizeof(double), cudaMemcpyHostToDevice, s->stream));
    if (trajectory) {
        if ((st = trajectory(data, 0, times[0], x, n, d)) != SF_OK) return st;
        SF_CUDA_TRY(cudaSetDevice(s->device));
        if ((st = workspace<T>(s, n, d, K, R, &w)) != SF_OK) return st;
    }
    for (int k = 0; k < steps; k++) {
        const sf_step_plan *p = &plans[k];
        for (int i = 0; i < p->stages; i++) {
            if (i == 0) {
                SF_CUDA_TRY(cudaMemcpyAsync(w.x64, xd, nd * sizeof(double), cudaMemcpyDeviceToDevice, s->stream));
            } else {
                stage_input<<<grid_for(nd), SF_THREADS, 0, s->stream>>>(*p, i, xd, eps, stride, nd, w.x64);
                SF_LAUNCH_CHECK("stage_input");
            }
            sf_time t;
            if ((st = sf_schedule_at(sched, p->time[i], &t)) != SF_OK) return st;
            if ((st = stage_eps<T>(s, mix, cls, gamma, &t, w, n, class_score, eps + i * stride)) != SF_OK) return st;
        }
        step_result<<<grid_for(nd), SF_THREADS, 0, s->stream>>>(*p, xd, eps, stride, nd, d, seed, first_particle,
                                                                (uint32_t)k);
        SF_LAUNCH_CHECK("step_result");
        if (trajectory && ((every > 0 && (k + 1) % every == 0) || k + 1 == steps)) {
            SF_CUDA_TRY(cudaMemcpyAsync(x, xd, nd * sizeof(double), cudaMemcpyDeviceToHost, s->stream));
            SF_CUDA_TRY(cudaStreamSynchronize(s->stream));
            if ((st = trajectory(data, k + 1, times[k + 1], x, n, d)) != SF_OK) return st;
            /* the callback may have used this context: restore the device and the workspace */
            SF_CUDA_TRY(cudaSetDevice(s->device));
            if ((st = workspace<T>(s, n, d, K, R, &w)) != SF_OK) return st;
        }
    }
    SF_CUDA_TRY(cudaMemcpyAsync(x, xd, nd * sizeof(double), cudaMemcpyDeviceToHost, s->stream));
    SF_CUDA_TRY(cudaStreamSynchronize(s->stream));
    return SF_OK;
}

extern "C" sf_status sf_cuda_sample(sf_cuda_state *s, sf_precision precision, size_t max_batch, const sf_mixture *mix,
                                    const sf_mixture *cls, double gamma, const sf_schedule *schedule,
                                    const sf_step_plan *plans, const double *times, int steps, uint64_t seed, double *x,
                                    size_t n, size_t first_particle, sf_trajectory_fn trajectory, void *data, int every)
{
    if (!s) return sf_fail(SF_ERR_NO_CUDA, "the context has no CUDA state");
    if (n == 0) return SF_OK;
    int caller_device = 0, K, R;
    sf_status st = sf_cuda_enter(s, &caller_device);
    if (st != SF_OK) return st;
    widest(mix, cls, &K, &R);
    size_t B;
    st = precision == SF_PRECISION_F32
                       ? choose_batch<float>(s, n, max_batch, mix->dim, K, R, 0, state_per_particle(mix->dim), &B)
                       : choose_batch<double>(s, n, max_batch, mix->dim, K, R, 0, state_per_particle(mix->dim), &B);
    if (st == SF_OK && B < n && trajectory)
        st = sf_fail(SF_ERR_CUDA, "%zu particles with a trajectory do not fit on the device at once (at most %zu here): "
                                  "run them in smaller batches", n, B);
    /* particles are independent (noise keyed per particle): chunks give the same results */
    for (size_t b0 = 0; st == SF_OK && b0 < n; b0 += B) {
        size_t nb = n - b0 < B ? n - b0 : B;
        st = precision == SF_PRECISION_F32
                 ? sample_on_device<float>(s, mix, cls, gamma, schedule, plans, times, steps, seed, x + b0 * mix->dim, nb,
                                           first_particle + b0, trajectory, data, every)
                 : sample_on_device<double>(s, mix, cls, gamma, schedule, plans, times, steps, seed, x + b0 * mix->dim, nb,
                                            first_particle + b0, trajectory, data, every);
    }
    return sf_cuda_leave(s, caller_device, st);
}
