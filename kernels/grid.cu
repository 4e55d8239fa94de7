/* The periodic spectral grid on the GPU with cuFFT (docs/burgers.md, grid form): the same two routes as
 * src/dynamics/grid_cpu.c (FFTW), with the per-mode arithmetic from grid_modes.h shared between
 * them. float64 uses D2Z/Z2D, float32 R2C/C2R; plans are made once per grid and reused, and the
 * four share one work area (they never run at the same time: one stream). */
#include "cuda_state.h"

#include <stdlib.h>

#define SF_GRID_THREADS 256

/* Precision traits: complex type and the cuFFT transforms. */
template <typename T> struct fft;
template <> struct fft<double> {
    typedef cufftDoubleComplex complex;
    static const cufftType r2c = CUFFT_D2Z, c2r = CUFFT_Z2D;
    static cufftResult forward(cufftHandle p, double *in, complex *out) { return cufftExecD2Z(p, in, out); }
    static cufftResult inverse(cufftHandle p, complex *in, double *out) { return cufftExecZ2D(p, in, out); }
};
template <> struct fft<float> {
    typedef cufftComplex complex;
    static const cufftType r2c = CUFFT_R2C, c2r = CUFFT_C2R;
    static cufftResult forward(cufftHandle p, float *in, complex *out) { return cufftExecR2C(p, in, out); }
    static cufftResult inverse(cufftHandle p, complex *in, float *out) { return cufftExecC2R(p, in, out); }
};

struct sf_cuda_grid {
    sf_cuda_state *state;
    sf_grid_shape g;
    sf_precision precision;
    cufftHandle plans[4]; /* r2c of one field, c2r of one, r2c of d fields, c2r of d */
    int plans_made;
    size_t work_each[4];  /* what each plan would allocate on its own */
    void *work;           /* the one work area they share */
    size_t work_bytes;
    void *buffer; /* all device arrays, carved by carve() */
    size_t buffer_bytes;
};

enum { R2C_ONE, C2R_ONE, R2C_MANY, C2R_MANY };

/* Device arrays of one grid in precision T. */
template <typename T> struct grid_arrays {
    typedef typename fft<T>::complex C;
    double *io64;                 /* d x P float64 staging for host transfers */
    T *real_one, *real_many;      /* P, d x P */
    C *spec_one, *spec_many;      /* M, d x M */
    C *uh, *ka, *kb, *kc, *kd, *stage;
    T *e_full, *e_half;           /* M */
};

static size_t align_up(size_t b) { return (b + 255) & ~(size_t)255; }

template <typename T> static size_t carve(void *base, const sf_grid_shape *g, grid_arrays<T> *a)
{
    typedef typename fft<T>::complex C;
    size_t P = g->points, M = g->modes, d = (size_t)g->dim, at = 0;
#define SF_TAKE(ptr, type, count) (a->ptr = (type *)((char *)base + at), at += align_up((count) * sizeof(type)))
    SF_TAKE(io64, double, d * P);
    SF_TAKE(real_one, T, P);
    SF_TAKE(real_many, T, d * P);
    SF_TAKE(spec_one, C, M);
    SF_TAKE(spec_many, C, d * M);
    SF_TAKE(uh, C, d * M);
    SF_TAKE(ka, C, d * M);
    SF_TAKE(kb, C, d * M);
    SF_TAKE(kc, C, d * M);
    SF_TAKE(kd, C, d * M);
    SF_TAKE(stage, C, d * M);
    SF_TAKE(e_full, T, M);
    SF_TAKE(e_half, T, M);
#undef SF_TAKE
    return at;
}

static unsigned blocks_for(size_t n) { return sf_blocks_for(n, SF_GRID_THREADS); }


/* (i k) z for a complex z */
template <typename C, typename T> static __device__ inline C times_ik(T k, C z)
{
    C r;
    r.x = -k * z.y;
    r.y = k * z.x;
    return r;
}

template <typename T> __global__ void to_real(const double *in, size_t n, T *out) { SF_GRID_LOOP(i, n) out[i] = (T)in[i]; }
template <typename T> __global__ void to_double(const T *in, size_t n, T scale, double *out)
{
    SF_GRID_LOOP(i, n) out[i] = (double)(in[i] * scale);
}

/* route A: q_hat *= e^{-|k|^2 dtau / 2} / P; then (i k_a q_hat) for every axis */
template <typename T, typename C> __global__ void heat_modes(sf_grid_shape g, C *q, C *grad, double dtau)
{
    SF_GRID_LOOP(m, g.modes)
    {
        T f = (T)(exp(-0.5 * sf_grid_k2(&g, m) * dtau) / (double)g.points);
        C z = q[m];
        z.x *= f, z.y *= f;
        q[m] = z;
        for (int a = 0; a < g.dim; a++) grad[a * g.modes + m] = times_ik<C, T>((T)sf_grid_derivative_k(&g, m, a), z);
    }
}

template <typename T> __global__ void divide_fields(sf_grid_shape g, const T *grad, const T *q, double *u)
{
    SF_GRID_LOOP(i, (size_t)g.dim * g.points) u[i] = (double)grad[i] / (double)q[i % g.points];
}

/* route B: |u|^2 / 2 at every point (u from an unnormalised inverse: scale 1/P) */
template <typename T> __global__ void half_square(sf_grid_shape g, const T *u, T *w)
{
    T s = (T)(1.0 / (double)g.points);
    SF_GRID_LOOP(p, g.points)
    {
        T sum = 0;
        for (int a = 0; a < g.dim; a++) {
            T v = u[a * g.points + p] * s;
            sum += v * v;
        }
        w[p] = (T)0.5 * sum;
    }
}

/* out_a = i k_a w_hat, with the 2/3 rule applied to w_hat */
template <typename T, typename C> __global__ void gradient_modes(sf_grid_shape g, const C *w, C *out)
{
    SF_GRID_LOOP(m, g.modes)
    {
        C z = w[m];
        if (!sf_grid_kept(&g, m)) z.x = 0, z.y = 0;
        for (int a = 0; a < g.dim; a++) out[a * g.modes + m] = times_ik<C, T>((T)sf_grid_derivative_k(&g, m, a), z);
    }
}

template <typename T> __global__ void factors(sf_grid_shape g, double h, T *e_full, T *e_half)
{
    SF_GRID_LOOP(m, g.modes)
    {
        double k2 = sf_grid_k2(&g, m);
        e_full[m] = (T)exp(-0.5 * k2 * h);
        e_half[m] = (T)exp(-0.25 * k2 * h);
    }
}

/* The IF-RK4 combinations (docs/burgers.md, route B); stage selects which. */
template <typename T, typename C>
__global__ void rk_combine(size_t dm, size_t M, int stage, T h, const T *E, const T *E2, C *uh, const C *ka,
                           const C *kb, const C *kc, const C *kd, C *out)
{
    SF_GRID_LOOP(i, dm)
    {
        T e = E[i % M], e2 = E2[i % M];
        C u = uh[i], r;
        if (stage == 1) { /* E2 (u + h a / 2) */
            r.x = e2 * (u.x + (T)0.5 * h * ka[i].x), r.y = e2 * (u.y + (T)0.5 * h * ka[i].y);
        } else if (stage == 2) { /* E2 u + h b / 2 */
            r.x = e2 * u.x + (T)0.5 * h * kb[i].x, r.y = e2 * u.y + (T)0.5 * h * kb[i].y;
        } else if (stage == 3) { /* E u + h E2 c */
            r.x = e * u.x + h * e2 * kc[i].x, r.y = e * u.y + h * e2 * kc[i].y;
        } else { /* u <- E u + (h/6)(E a + 2 E2 (b + c) + d) */
            r.x = e * u.x + h / 6 * (e * ka[i].x + 2 * e2 * (kb[i].x + kc[i].x) + kd[i].x);
            r.y = e * u.y + h / 6 * (e * ka[i].y + 2 * e2 * (kb[i].y + kc[i].y) + kd[i].y);
            uh[i] = r;
            continue;
        }
        out[i] = r;
    }
}

/* The four plans without their own work areas, then one area of the largest size for all. */
static sf_status make_plans(sf_cuda_grid *G, cufftType r2c, cufftType c2r)
{
    int dims[3] = {G->g.n, G->g.n, G->g.n}, P = (int)G->g.points, M = (int)G->g.modes, dim = G->g.dim;
    struct { cufftType type; int in_dist, out_dist, batch; } spec[4] = {
        {r2c, P, M, 1}, {c2r, M, P, 1}, {r2c, P, M, dim}, {c2r, M, P, dim}};
    for (int i = 0; i < 4; i++) {
        SF_CUFFT_TRY(cufftCreate(&G->plans[i]));
        G->plans_made = i + 1;
        SF_CUFFT_TRY(cufftSetAutoAllocation(G->plans[i], 0));
        SF_CUFFT_TRY(cufftMakePlanMany(G->plans[i], dim, dims, NULL, 1, spec[i].in_dist, NULL, 1, spec[i].out_dist,
                                       spec[i].type, spec[i].batch, &G->work_each[i]));
        if (G->work_each[i] > G->work_bytes) G->work_bytes = G->work_each[i];
    }
    SF_CUDA_TRY(cudaMalloc(&G->work, G->work_bytes ? G->work_bytes : 1));
    for (int i = 0; i < 4; i++) {
        SF_CUFFT_TRY(cufftSetWorkArea(G->plans[i], G->work));
        SF_CUFFT_TRY(cufftSetStream(G->plans[i], G->state->stream));
    }
    return SF_OK;
}

static sf_status create_on_device(sf_cuda_grid *G, sf_precision precision)
{
    sf_status st;
    if (precision == SF_PRECISION_F32) {
        grid_arrays<float> a;
        G->buffer_bytes = carve<float>(NULL, &G->g, &a);
        st = make_plans(G, fft<float>::r2c, fft<float>::c2r);
    } else {
        grid_arrays<double> a;
        G->buffer_bytes = carve<double>(NULL, &G->g, &a);
        st = make_plans(G, fft<double>::r2c, fft<double>::c2r);
    }
    if (st != SF_OK) return st;
    cudaError_t e = cudaMalloc(&G->buffer, G->buffer_bytes);
    if (e != cudaSuccess) {
        G->buffer = NULL;
        cudaGetLastError();
        return sfi_fail(SF_ERR_CUDA, "cudaMalloc of %zu bytes for the grid failed: %s (%s:%d)", G->buffer_bytes,
                       cudaGetErrorString(e), __FILE__, __LINE__);
    }
    return SF_OK;
}

extern "C" sf_status sfi_cuda_grid_create(sf_cuda_grid **out, sf_cuda_state *s, const sf_grid_shape *shape,
                                         sf_precision precision)
{
    *out = NULL;
    if (!s) return sfi_fail(SF_ERR_NO_CUDA, "the context has no CUDA state");
    sf_cuda_grid *G = (sf_cuda_grid *)calloc(1, sizeof *G);
    if (!G) return sfi_fail(SF_ERR_NOMEM, "out of memory creating the CUDA grid");
    G->state = s, G->g = *shape, G->precision = precision;
    int caller = 0;
    sf_status st = sfi_cuda_enter(s, &caller);
    if (st == SF_OK) st = sfi_cuda_leave(s, caller, create_on_device(G, precision));
    if (st != SF_OK) {
        sfi_cuda_grid_destroy(G);
        return st;
    }
    *out = G;
    return SF_OK;
}

extern "C" void sfi_cuda_grid_destroy(sf_cuda_grid *G)
{
    if (!G) return;
    int caller = -1;
    if (cudaGetDevice(&caller) != cudaSuccess) caller = -1;
    cudaSetDevice(G->state->device);
    for (int i = 0; i < G->plans_made; i++) cufftDestroy(G->plans[i]);
    if (G->work) cudaFree(G->work);
    if (G->buffer) cudaFree(G->buffer);
    if (caller >= 0) cudaSetDevice(caller);
    free(G);
}

extern "C" void sfi_cuda_grid_work_area(const sf_cuda_grid *G, size_t *shared_bytes, size_t *separate_bytes)
{
    *shared_bytes = G->work_bytes;
    *separate_bytes = 0;
    for (int i = 0; i < 4; i++) *separate_bytes += G->work_each[i];
}

template <typename T> static sf_status heat(sf_cuda_grid *G, const double *density, double dtau, double *u)
{
    typedef fft<T> F;
    grid_arrays<T> a;
    carve<T>(G->buffer, &G->g, &a);
    cudaStream_t st = G->state->stream;
    size_t P = G->g.points, d = (size_t)G->g.dim;
    SF_CUDA_TRY(cudaMemcpyAsync(a.io64, density, P * sizeof(double), cudaMemcpyHostToDevice, st));
    to_real<T><<<blocks_for(P), SF_GRID_THREADS, 0, st>>>(a.io64, P, a.real_one);
    SF_LAUNCH_CHECK("to_real");
    SF_CUFFT_TRY(F::forward(G->plans[R2C_ONE], a.real_one, a.spec_one));
    heat_modes<T, typename F::complex><<<blocks_for(G->g.modes), SF_GRID_THREADS, 0, st>>>(G->g, a.spec_one, a.spec_many, dtau);
    SF_LAUNCH_CHECK("heat_modes");
    SF_CUFFT_TRY(F::inverse(G->plans[C2R_ONE], a.spec_one, a.real_one));
    SF_CUFFT_TRY(F::inverse(G->plans[C2R_MANY], a.spec_many, a.real_many));
    divide_fields<T><<<blocks_for(d * P), SF_GRID_THREADS, 0, st>>>(G->g, a.real_many, a.real_one, a.io64);
    SF_LAUNCH_CHECK("divide_fields");
    SF_CUDA_TRY(cudaMemcpyAsync(u, a.io64, d * P * sizeof(double), cudaMemcpyDeviceToHost, st));
    SF_CUDA_TRY(cudaStreamSynchronize(st));
    return SF_OK;
}

/* out = i k FFT(|u|^2 / 2), dealiased, for u = IFFT(uh) */
template <typename T> static sf_status nonlinear(sf_cuda_grid *G, grid_arrays<T> *a, const typename fft<T>::complex *uh,
                                                 typename fft<T>::complex *out)
{
    typedef fft<T> F;
    cudaStream_t st = G->state->stream;
    size_t dm = (size_t)G->g.dim * G->g.modes;
    /* C2R overwrites its input: transform a copy */
    SF_CUDA_TRY(cudaMemcpyAsync(a->spec_many, uh, dm * sizeof(typename F::complex), cudaMemcpyDeviceToDevice, st));
    SF_CUFFT_TRY(F::inverse(G->plans[C2R_MANY], a->spec_many, a->real_many));
    half_square<T><<<blocks_for(G->g.points), SF_GRID_THREADS, 0, st>>>(G->g, a->real_many, a->real_one);
    SF_LAUNCH_CHECK("half_square");
    SF_CUFFT_TRY(F::forward(G->plans[R2C_ONE], a->real_one, a->spec_one));
    gradient_modes<T, typename F::complex><<<blocks_for(G->g.modes), SF_GRID_THREADS, 0, st>>>(G->g, a->spec_one, out);
    SF_LAUNCH_CHECK("gradient_modes");
    return SF_OK;
}

template <typename T>
static sf_status burgers(sf_cuda_grid *G, double *u, double dtau, int steps, sf_progress progress, void *data)
{
    typedef fft<T> F;
    typedef typename F::complex C;
    grid_arrays<T> a;
    carve<T>(G->buffer, &G->g, &a);
    cudaStream_t st = G->state->stream;
    size_t P = G->g.points, M = G->g.modes, d = (size_t)G->g.dim, dm = d * M;
    T h = (T)(dtau / steps);
    factors<T><<<blocks_for(M), SF_GRID_THREADS, 0, st>>>(G->g, dtau / steps, a.e_full, a.e_half);
    SF_LAUNCH_CHECK("factors");
    SF_CUDA_TRY(cudaMemcpyAsync(a.io64, u, d * P * sizeof(double), cudaMemcpyHostToDevice, st));
    to_real<T><<<blocks_for(d * P), SF_GRID_THREADS, 0, st>>>(a.io64, d * P, a.real_many);
    SF_LAUNCH_CHECK("to_real");
    SF_CUFFT_TRY(F::forward(G->plans[R2C_MANY], a.real_many, a.uh));
    sf_status s;
    for (int step = 0; step < steps; step++) {
        C *k[4] = {a.ka, a.kb, a.kc, a.kd};
        if ((s = nonlinear<T>(G, &a, a.uh, a.ka)) != SF_OK) return s;
        for (int q = 1; q <= 3; q++) {
            rk_combine<T, C><<<blocks_for(dm), SF_GRID_THREADS, 0, st>>>(dm, M, q, h, a.e_full, a.e_half, a.uh, a.ka,
                                                                           a.kb, a.kc, a.kd, a.stage);
            SF_LAUNCH_CHECK("rk_combine");
            if ((s = nonlinear<T>(G, &a, a.stage, k[q])) != SF_OK) return s;
        }
        rk_combine<T, C><<<blocks_for(dm), SF_GRID_THREADS, 0, st>>>(dm, M, 4, h, a.e_full, a.e_half, a.uh, a.ka, a.kb,
                                                                       a.kc, a.kd, a.stage);
        SF_LAUNCH_CHECK("rk_combine");
        if (progress) {
            SF_CUDA_TRY(cudaStreamSynchronize(st));
            progress(data, (double)(step + 1) / steps);
            SF_CUDA_TRY(cudaSetDevice(G->state->device)); /* the callback may have changed it */
        }
    }
    SF_CUDA_TRY(cudaMemcpyAsync(a.spec_many, a.uh, dm * sizeof(C), cudaMemcpyDeviceToDevice, st));
    SF_CUFFT_TRY(F::inverse(G->plans[C2R_MANY], a.spec_many, a.real_many));
    to_double<T><<<blocks_for(d * P), SF_GRID_THREADS, 0, st>>>(a.real_many, d * P, (T)(1.0 / (double)P), a.io64);
    SF_LAUNCH_CHECK("to_double");
    SF_CUDA_TRY(cudaMemcpyAsync(u, a.io64, d * P * sizeof(double), cudaMemcpyDeviceToHost, st));
    SF_CUDA_TRY(cudaStreamSynchronize(st));
    return SF_OK;
}

extern "C" sf_status sfi_cuda_grid_heat(sf_cuda_grid *G, const double *density, double dtau, double *u)
{
    int caller;
    sf_status st = sfi_cuda_enter(G->state, &caller);
    if (st != SF_OK) return st;
    st = G->precision == SF_PRECISION_F32 ? heat<float>(G, density, dtau, u) : heat<double>(G, density, dtau, u);
    return sfi_cuda_leave(G->state, caller, st);
}

extern "C" sf_status sfi_cuda_grid_burgers(sf_cuda_grid *G, double *u, double dtau, int steps, sf_progress progress,
                                          void *data)
{
    int caller;
    sf_status st = sfi_cuda_enter(G->state, &caller);
    if (st != SF_OK) return st;
    st = G->precision == SF_PRECISION_F32 ? burgers<float>(G, u, dtau, steps, progress, data)
                                          : burgers<double>(G, u, dtau, steps, progress, data);
    return sfi_cuda_leave(G->state, caller, st);
}

template <typename T> struct fft_reps {
    sf_cuda_grid *G;
    grid_arrays<T> a;
    int reps;
};

template <typename T> static sf_status run_ffts(void *data)
{
    fft_reps<T> *f = (fft_reps<T> *)data;
    typedef fft<T> F;
    for (int r = 0; r < f->reps; r++)
        for (int stage = 0; stage < 4; stage++) {
            SF_CUFFT_TRY(F::inverse(f->G->plans[C2R_MANY], f->a.spec_many, f->a.real_many));
            SF_CUFFT_TRY(F::forward(f->G->plans[R2C_ONE], f->a.real_one, f->a.spec_one));
        }
    return SF_OK;
}

template <typename T> static sf_status fft_seconds(sf_cuda_grid *G, int reps, double *seconds)
{
    fft_reps<T> f;
    f.G = G, f.reps = reps;
    carve<T>(G->buffer, &G->g, &f.a);
    SF_CUDA_TRY(cudaMemsetAsync(G->buffer, 0, G->buffer_bytes, G->state->stream));
    float ms = 0;
    sf_status st = sfi_cuda_time_ms(G->state->stream, run_ffts<T>, &f, &ms);
    *seconds = 1e-3 * ms / reps;
    return st;
}

extern "C" sf_status sfi_cuda_grid_fft_seconds(sf_cuda_grid *G, int reps, double *seconds)
{
    int caller;
    sf_status st = sfi_cuda_enter(G->state, &caller);
    if (st != SF_OK) return st;
    st = G->precision == SF_PRECISION_F32 ? fft_seconds<float>(G, reps, seconds) : fft_seconds<double>(G, reps, seconds);
    return sfi_cuda_leave(G->state, caller, st);
}
