/* Sampling with the particles resident on the device (docs/samplers.md; the step plans of
 * kernels/sampler_step.h, made on the host by src/dynamics/sampler.c). The mixture's field (and
 * the guidance class's) is uploaded once as a device plan; each stage moves it to the stage time
 * on the device, forms the stage input, evaluates the score and keeps eps = -sigma s~ in float64;
 * each step adds Philox noise keyed by (seed, particle, first_step + step, dimension), the same
 * numbers as the CPU path. Every time-dependent number a step needs is read from a device table
 * indexed by a device step counter, so one step's launches, captured once as a CUDA graph, are
 * replayed for every step when the particles are few (launch overhead dominates there). The
 * graph's evaluations ask for the score only: the kernels then read nothing of the plans' views
 * but device arrays that the stage's update rewrites (the views' by-value alpha and rates serve
 * the denoiser and d/dt). */
#include "batch.h"
#include "evaluate.cuh"
#include "philox.h"

#include <stdlib.h>
#include <string.h>

#define SF_SAMPLE_THREADS 256
/* Graph replay below this many particle coordinates (launch-bound); direct launches above. */
#define SF_GRAPH_MAX_ELEMENTS ((size_t)1 << 22)

/* What step k needs on the device: its plan and, per stage, the frame (alpha, sigma^2, no rates)
 * and sigma. */
typedef struct {
    sf_step_plan plan;
    double frame[SF_MAX_STAGES][4];
    double sigma[SF_MAX_STAGES];
} device_step;

/* This step's normal for coordinate e (0 when the step draws none): Philox keyed by (seed,
 * particle, first_step + step, dimension), the numbers of the CPU path. */
static __device__ double step_normal(const sf_step_plan *plan, uint64_t seed, uint64_t first_particle, uint32_t key,
                                     size_t e, int d)
{
    return sf_step_noisy(plan) ? sf_philox_normal(seed, first_particle + e / d, key, (uint32_t)(e % d)) : 0.0;
}

/* u = a_i x + sum_{j<i} b_ij eps_j + n_i z in the working precision (eps holds the stages `stride` apart) */
template <typename T>
__global__ void stage_input(const device_step *table, const int *step, int stage, const double *x, const double *eps,
                            size_t stride, size_t nd, int d, uint64_t seed, uint64_t first_particle, uint32_t first_step,
                            T *u)
{
    const sf_step_plan *plan = &table[*step].plan;
    uint32_t key = first_step + (uint32_t)*step;
    SF_GRID_LOOP(e, nd)
    {
        double prev[SF_MAX_STAGES];
        for (int j = 0; j < stage; j++) prev[j] = eps[j * stride + e];
        double z = plan->n[stage] != 0 ? step_normal(plan, seed, first_particle, key, e, d) : 0.0;
        u[e] = (T)sf_step_stage_input(plan, stage, x[e], prev, z);
    }
}

/* The plan's frame for this step's stage, read by the update that follows. */
__global__ void select_frame(const device_step *table, const int *step, int stage, double *frame)
{
    for (int i = 0; i < 4; i++) frame[i] = table[*step].frame[stage][i];
}

/* eps = -sigma (s + gamma (s_c - s)), or -sigma s without guidance (sc == NULL) */
template <typename T>
__global__ void noise_prediction(const device_step *table, const int *step, int stage, const T *s, const T *sc, double gamma,
                                 size_t nd, double *eps)
{
    double sigma = table[*step].sigma[stage];
    SF_GRID_LOOP(e, nd)
    {
        double v = (double)s[e];
        if (sc) v += gamma * ((double)sc[e] - v);
        eps[e] = -sigma * v;
    }
}

/* x <- A x + sum_j B_j eps_j + sum_m H_m D_{k-1-m} + C z, and this step's D into the history ring
 * (hist holds SF_MAX_HISTORY slots `stride` apart; NULL without history) */
__global__ void step_result(const device_step *table, const int *step, double *x, const double *eps, double *hist,
                            size_t stride, size_t nd, int d, uint64_t seed, uint64_t first_particle, uint32_t first_step)
{
    const sf_step_plan *plan = &table[*step].plan;
    int k = *step;
    uint32_t key = first_step + (uint32_t)k;
    SF_GRID_LOOP(e, nd)
    {
        double all[SF_MAX_STAGES], past[SF_MAX_HISTORY] = {0};
        for (int j = 0; j < plan->stages; j++) all[j] = eps[j * stride + e];
        for (int m = 0; hist && m < SF_MAX_HISTORY; m++)
            if (plan->H[m] != 0) past[m] = hist[sf_step_slot(k, m) * stride + e];
        double z = step_normal(plan, seed, first_particle, key, e, d), x_old = x[e];
        x[e] = sf_step_result(plan, x_old, all, past, z);
        if (hist && plan->push) hist[sf_step_slot(k + 1, 0) * stride + e] = sf_step_denoised(plan, x_old, all, z);
    }
}

__global__ void next_step(int *step) { *step += 1; }

/* One run's device memory and launches. */
typedef struct {
    sf_cuda_state *s;
    sf_cuda_plan *mix, *cls;
    double gamma;
    sf_gemm_math math;      /* the context's at the start: the scratch is sized for it, and a
                               trajectory callback may change the context's */
    int d, steps, history;  /* history: whether any step keeps denoised values */
    size_t n, nd, stride;  /* particles of this chunk, coordinates, the eps stride (256-byte aligned) */
    size_t tile;
    char *memory;          /* the run's own allocation: a trajectory callback may regrow the workspace */
    size_t bytes;
    device_step *table;
    int *step;
    double *x, *eps, *hist; /* hist: SF_MAX_HISTORY slots, or NULL */
    void *u, *score, *class_score, *scratch;
    uint64_t seed, first_particle;
    uint32_t first_step;
} sample_run;

static size_t round_up(size_t b) { return (b + 255) & ~(size_t)255; }

static size_t element_bytes(const sample_run *r) { return r->mix->precision == SF_PRECISION_F32 ? 4 : 8; }

/* The score-only request (only the presence of its pointer matters for sizing). */
static sf_device_request score_only(void)
{
    sf_device_request rq;
    memset(&rq, 0, sizeof rq);
    rq.score = (void *)1;
    return rq;
}

/* The tile of n particles' score evaluations and its scratch bytes, for the wider of the plans. */
static size_t tile_for(const sample_run *r, size_t n)
{
    sf_device_request rq = score_only();
    sf_eval_scratch a = sfi_eval_scratch_of(r->mix, &rq, r->math);
    size_t cap = a.tile_cap;
    if (r->cls) {
        sf_eval_scratch b = sfi_eval_scratch_of(r->cls, &rq, r->math);
        if (b.tile_cap && (!cap || b.tile_cap < cap)) cap = b.tile_cap;
    }
    return cap && n > cap ? cap : n;
}

static size_t scratch_bytes(const sample_run *r, size_t tile)
{
    sf_device_request rq = score_only();
    size_t a = sfi_eval_scratch_bytes(r->mix, &rq, r->math, tile);
    size_t b = r->cls ? sfi_eval_scratch_bytes(r->cls, &rq, r->math, tile) : 0;
    return a > b ? a : b;
}

/* Bytes of a run of n particles over `steps` steps. */
static size_t run_bytes(const sample_run *r, size_t n, int steps)
{
    size_t nd = n * (size_t)r->d, e = element_bytes(r);
    return round_up((size_t)steps * sizeof(device_step)) + 256 +
           round_up(nd * 8) * (1 + SF_MAX_STAGES + (r->history ? SF_MAX_HISTORY : 0)) +
           round_up(nd * e) * (r->cls ? 3 : 2) + scratch_bytes(r, tile_for(r, n)) + 256;
}

static sf_status allocate_run(void *data, size_t n, int *oom)
{
    sample_run *r = (sample_run *)data;
    *oom = 0;
    r->bytes = run_bytes(r, n, r->steps);
    cudaError_t e = cudaMalloc((void **)&r->memory, r->bytes);
    if (e == cudaSuccess) return SF_OK;
    r->memory = NULL;
    if (e == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        *oom = 1;
    }
    return sfi_fail(SF_ERR_CUDA, "cudaMalloc of %zu bytes for %zu sampler particles failed: %s", r->bytes, n,
                   cudaGetErrorString(e));
}

/* Lays the run's memory out for n particles and `steps` steps. */
static void lay_out(sample_run *r, size_t n, int steps)
{
    size_t e = element_bytes(r);
    char *at = r->memory;
    r->n = n, r->nd = n * (size_t)r->d, r->stride = round_up(r->nd * 8) / 8;
    r->table = (device_step *)at, at += round_up((size_t)steps * sizeof(device_step));
    r->step = (int *)at, at += 256;
    r->x = (double *)at, at += round_up(r->nd * 8);
    r->eps = (double *)at, at += round_up(r->nd * 8) * SF_MAX_STAGES;
    r->hist = r->history ? (double *)at : NULL, at += r->history ? round_up(r->nd * 8) * SF_MAX_HISTORY : 0;
    r->u = at, at += round_up(r->nd * e);
    r->score = at, at += round_up(r->nd * e);
    r->class_score = r->cls ? at : NULL, at += r->cls ? round_up(r->nd * e) : 0;
    r->tile = tile_for(r, n);
    r->scratch = at;
}

/* The score of `plan` at the stage input into `out`, after moving the plan to the stage's time. */
static sf_status stage_score(sample_run *r, sf_cuda_plan *plan, int stage, void *out)
{
    cudaStream_t st = r->s->stream;
    double *frame = plan_array<double>(plan, plan->L.frame);
    select_frame<<<1, 1, 0, st>>>(r->table, r->step, stage, frame);
    SF_LAUNCH_CHECK("select_frame");
    sf_status s = sfi_plan_update_from(plan, frame, st);
    if (s != SF_OK) return s;
    sf_device_request rq;
    memset(&rq, 0, sizeof rq);
    rq.score = out;
    return sfi_eval_launch(plan, r->u, r->n, &rq, r->scratch, r->tile, r->s->bad, 0, st, r->s->blas, r->math);
}

/* Enqueues one step of `stages` stages (the step number lives on the device). */
template <typename T> static sf_status launch_step(sample_run *r, int stages)
{
    cudaStream_t st = r->s->stream;
    unsigned blocks = sf_blocks_for(r->nd, SF_SAMPLE_THREADS);
    sf_status s;
    for (int i = 0; i < stages; i++) {
        stage_input<T><<<blocks, SF_SAMPLE_THREADS, 0, st>>>(r->table, r->step, i, r->x, r->eps, r->stride, r->nd, r->d,
                                                             r->seed, r->first_particle, r->first_step, (T *)r->u);
        SF_LAUNCH_CHECK("stage_input");
        if (r->cls && (s = stage_score(r, r->cls, i, r->class_score)) != SF_OK) return s;
        if ((s = stage_score(r, r->mix, i, r->score)) != SF_OK) return s;
        noise_prediction<T><<<blocks, SF_SAMPLE_THREADS, 0, st>>>(r->table, r->step, i, (const T *)r->score,
                                                                  (const T *)r->class_score, r->gamma, r->nd,
                                                                  r->eps + i * r->stride);
        SF_LAUNCH_CHECK("noise_prediction");
    }
    step_result<<<blocks, SF_SAMPLE_THREADS, 0, st>>>(r->table, r->step, r->x, r->eps, r->hist, r->stride, r->nd, r->d,
                                                       r->seed, r->first_particle, r->first_step);
    SF_LAUNCH_CHECK("step_result");
    next_step<<<1, 1, 0, st>>>(r->step);
    SF_LAUNCH_CHECK("next_step");
    return SF_OK;
}

/* One step of a given stage count captured as a graph, replayed for every step of that count;
 * destroyed on every path. */
struct step_graph {
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    step_graph() : graph(NULL), exec(NULL) {}
    ~step_graph()
    {
        if (exec) cudaGraphExecDestroy(exec);
        if (graph) cudaGraphDestroy(graph);
    }
    template <typename T> sf_status capture(sample_run *r, int stages)
    {
        cudaStream_t st = r->s->stream;
        SF_CUDA_TRY(cudaStreamBeginCapture(st, cudaStreamCaptureModeRelaxed));
        sf_status s = launch_step<T>(r, stages);
        cudaError_t e = cudaStreamEndCapture(st, &graph);
        if (s != SF_OK) return s;
        if (e != cudaSuccess)
            return sfi_fail(SF_ERR_CUDA, "capturing a sampler step as a CUDA graph failed: %s (%s:%d)",
                           cudaGetErrorString(e), __FILE__, __LINE__);
        SF_CUDA_TRY(cudaGraphInstantiate(&exec, graph, 0));
        return SF_OK;
    }
};

/* The step table from the plans: each stage's frame from the schedule at its time. */
static sf_status fill_table(device_step *host, const sf_schedule *sched, const sf_step_plan *plans, int steps)
{
    for (int k = 0; k < steps; k++) {
        memset(&host[k], 0, sizeof host[k]);
        host[k].plan = plans[k];
        for (int i = 0; i < plans[k].stages; i++) {
            sf_time t;
            sf_status st = sf_schedule_at(sched, plans[k].time[i], &t);
            if (st != SF_OK) return st;
            host[k].frame[i][0] = t.alpha, host[k].frame[i][1] = t.sigma2;
            host[k].sigma[i] = t.sigma;
        }
    }
    return SF_OK;
}

template <typename T>
static sf_status run_chunk(sample_run *r, const sf_schedule *sched, const sf_step_plan *plans, const double *times, int steps,
                           double *x, sf_trajectory_fn trajectory, void *data, int every)
{
    cudaStream_t st = r->s->stream;
    sf_status s;
    device_step *host = (device_step *)malloc((size_t)steps * sizeof(device_step) + 1);
    if (!host) return sfi_fail(SF_ERR_NOMEM, "out of memory for %d sampler steps", steps);
    s = fill_table(host, sched, plans, steps);
    /* On the run's stream, not with cudaMemcpy: that copies on the legacy default stream, which a
     * non-blocking stream does not wait for, and returns from a pageable source before its DMA
     * lands. The wait lets the staging go. */
    cudaError_t e = cudaSuccess;
    if (s == SF_OK) e = cudaMemcpyAsync(r->table, host, (size_t)steps * sizeof(device_step), cudaMemcpyHostToDevice, st);
    if (s == SF_OK && e == cudaSuccess) e = cudaMemcpyAsync(r->x, x, r->nd * sizeof(double), cudaMemcpyHostToDevice, st);
    if (s == SF_OK && e == cudaSuccess) e = cudaStreamSynchronize(st);
    free(host);
    if (s != SF_OK) return s;
    if (e != cudaSuccess)
        return sfi_fail(SF_ERR_CUDA, "uploading the sampler steps and particles failed: %s", cudaGetErrorString(e));
    SF_CUDA_TRY(cudaMemsetAsync(r->step, 0, sizeof(int), st));
    /* an empty ring, as the CPU loop's: a slot read before any step wrote it gives 0, not garbage */
    if (r->hist) SF_CUDA_TRY(cudaMemsetAsync(r->hist, 0, r->stride * sizeof(double) * SF_MAX_HISTORY, st));
    if (trajectory) {
        if ((s = trajectory(data, 0, times[0], x, r->n, r->d)) != SF_OK) return s;
        SF_CUDA_TRY(cudaSetDevice(r->s->device)); /* the callback may have changed it */
    }
    step_graph graph[SF_MAX_STAGES + 1]; /* by stage count (a last step to sigma = 0 has one) */
    int replay = r->nd <= SF_GRAPH_MAX_ELEMENTS;
    for (int k = 0; k < steps; k++) {
        int stages = plans[k].stages;
        if (replay && !graph[stages].exec && (s = graph[stages].capture<T>(r, stages)) != SF_OK) return s;
        if (replay) SF_CUDA_TRY(cudaGraphLaunch(graph[stages].exec, st));
        else if ((s = launch_step<T>(r, stages)) != SF_OK) return s;
        if (trajectory && ((every > 0 && (k + 1) % every == 0) || k + 1 == steps)) {
            SF_CUDA_TRY(cudaMemcpyAsync(x, r->x, r->nd * sizeof(double), cudaMemcpyDeviceToHost, st));
            SF_CUDA_TRY(cudaStreamSynchronize(st));
            if ((s = trajectory(data, k + 1, times[k + 1], x, r->n, r->d)) != SF_OK) return s;
            SF_CUDA_TRY(cudaSetDevice(r->s->device));
        }
    }
    SF_CUDA_TRY(cudaMemcpyAsync(x, r->x, r->nd * sizeof(double), cudaMemcpyDeviceToHost, st));
    SF_CUDA_TRY(cudaStreamSynchronize(st));
    return SF_OK;
}

/* A plan of mix's static arrays (its field at no time yet). */
static sf_status device_plan(sf_cuda_state *s, const sf_mixture *mix, sf_precision precision, sf_cuda_plan **plan)
{
    sf_field f;
    sf_status st = sfi_field_init(&f, mix);
    if (st == SF_OK) st = sfi_cuda_plan_create(plan, s, &f, precision);
    sfi_field_free(&f);
    return st;
}

static sf_status sample(sf_cuda_state *s, sf_precision precision, size_t max_batch, const sf_mixture *mix,
                        const sf_mixture *cls, double gamma, const sf_schedule *sched, const sf_step_plan *plans,
                        const double *times, int steps, uint64_t seed, uint32_t first_step, double *x, size_t n,
                        size_t first_particle, sf_trajectory_fn trajectory, void *data, int every)
{
    sample_run r;
    memset(&r, 0, sizeof r);
    r.s = s, r.gamma = gamma, r.math = s->math, r.d = mix->dim, r.steps = steps, r.seed = seed;
    for (int k = 0; k < steps; k++) r.history |= plans[k].push;
    r.first_step = first_step;
    sf_status st = device_plan(s, mix, precision, &r.mix);
    if (st == SF_OK && cls) st = device_plan(s, cls, precision, &r.cls);
    size_t B = 0;
    if (st == SF_OK) {
        size_t free_bytes = 0, total = 0;
        cudaError_t e = cudaMemGetInfo(&free_bytes, &total);
        if (e != cudaSuccess) st = sfi_fail(SF_ERR_CUDA, "cudaMemGetInfo failed: %s", cudaGetErrorString(e));
        size_t fixed = run_bytes(&r, 0, steps), per = (run_bytes(&r, 1024, steps) - fixed) / 1024 + 1;
        sf_batch_budget b = {free_bytes, 0, fixed, per, n, max_batch, (size_t)0x7fffffff / (size_t)r.d};
        if (st == SF_OK && (B = sf_batch_size(&b)) == 0)
            st = sfi_fail(SF_ERR_CUDA, "not enough free device memory to sample one particle (%zu bytes free)", free_bytes);
    }
    if (st == SF_OK && B < n && trajectory)
        st = sfi_fail(SF_ERR_CUDA, "%zu particles with a trajectory do not fit on the device at once (at most %zu here): "
                                  "run them in smaller batches", n, B);
    /* particles are independent (noise keyed per particle): chunks give the same results */
    for (size_t b0 = 0; st == SF_OK && b0 < n; b0 += B) {
        size_t nb = n - b0 < B ? n - b0 : B, fitted = 0;
        st = sf_batch_reserve(nb, allocate_run, &r, &fitted);
        if (st == SF_OK && fitted < nb) { /* it fitted only smaller: this chunk and the next ones take that */
            if (trajectory)
                st = sfi_fail(SF_ERR_CUDA, "%zu particles with a trajectory do not fit on the device at once", n);
            B = nb = fitted;
        }
        if (st == SF_OK) {
            lay_out(&r, nb, steps);
            r.first_particle = first_particle + b0;
            st = precision == SF_PRECISION_F32
                     ? run_chunk<float>(&r, sched, plans, times, steps, x + b0 * r.d, trajectory, data, every)
                     : run_chunk<double>(&r, sched, plans, times, steps, x + b0 * r.d, trajectory, data, every);
        }
        cudaError_t freed = r.memory ? cudaFree(r.memory) : cudaSuccess;
        if (st == SF_OK && freed != cudaSuccess)
            st = sfi_fail(SF_ERR_CUDA, "cudaFree of the sampler's memory failed: %s", cudaGetErrorString(freed));
        r.memory = NULL;
    }
    sfi_cuda_plan_destroy(r.mix);
    sfi_cuda_plan_destroy(r.cls);
    return st;
}

extern "C" sf_status sfi_cuda_sample(sf_cuda_state *s, sf_precision precision, size_t max_batch, const sf_mixture *mix,
                                    const sf_mixture *cls, double gamma, const sf_schedule *schedule,
                                    const sf_step_plan *plans, const double *times, int steps, uint64_t seed,
                                    uint32_t first_step, double *x, size_t n, size_t first_particle,
                                    sf_trajectory_fn trajectory, void *data, int every)
{
    if (!s) return sfi_fail(SF_ERR_NO_CUDA, "the context has no CUDA state");
    if (n == 0 || steps < 1) return SF_OK;
    int caller = 0;
    sf_status st = sfi_cuda_enter(s, &caller);
    if (st != SF_OK) return st;
    st = sample(s, precision, max_batch, mix, cls, gamma, schedule, plans, times, steps, seed, first_step, x, n,
                first_particle, trajectory, data, every);
    return sfi_cuda_leave(s, caller, st);
}
