/* Per-mode and per-point logic of the periodic spectral grid (docs/burgers.md, grid form), shared by the
 * FFTW path (src/grid_cpu.c) and the cuFFT path (kernels/grid.cu). Plain C, __host__ __device__.
 *
 * Real fields live on N^d points (row-major, the last axis fastest); their real-to-complex
 * transforms on N^(d-1) x (N/2 + 1) modes. Axis a of mode m has the signed frequency
 * f = i (i < N/2) or i - N (full axes), f = i (the last, halved axis); the wavenumber is
 * k = 2 pi f / L. */
#ifndef SF_GRID_MODES_H
#define SF_GRID_MODES_H

#if defined(__CUDACC__)
#define SF_GRID_HD __host__ __device__
#else
#define SF_GRID_HD
#endif

#include <stddef.h>

typedef struct {
    int dim, n;        /* dimension (1, 2, 3) and points per axis (even) */
    double box;        /* L: the box is [-L/2, L/2)^d */
    size_t points;     /* N^d */
    size_t modes;      /* N^(d-1) (N/2 + 1) */
} sf_grid_shape;

/* Signed frequency of mode m along axis a. */
static SF_GRID_HD inline int sf_grid_frequency(const sf_grid_shape *g, size_t m, int a)
{
    size_t half = (size_t)g->n / 2 + 1;
    if (a == g->dim - 1) return (int)(m % half); /* the halved last axis */
    size_t rest = m / half;
    for (int b = g->dim - 2; b > a; b--) rest /= (size_t)g->n;
    int i = (int)(rest % (size_t)g->n);
    return i < g->n / 2 ? i : i - g->n;
}

/* Wavenumber of mode m along axis a for a first derivative: 0 at the Nyquist frequency, whose
 * derivative of a real field is not representable. */
static SF_GRID_HD inline double sf_grid_derivative_k(const sf_grid_shape *g, size_t m, int a)
{
    int f = sf_grid_frequency(g, m, a);
    if (f == g->n / 2 || f == -g->n / 2) return 0.0;
    return 6.283185307179586476925 * f / g->box;
}

/* |k|^2 of mode m (the Laplacian's symbol, Nyquist included). */
static SF_GRID_HD inline double sf_grid_k2(const sf_grid_shape *g, size_t m)
{
    double s = 0;
    for (int a = 0; a < g->dim; a++) {
        double k = 6.283185307179586476925 * sf_grid_frequency(g, m, a) / g->box;
        s += k * k;
    }
    return s;
}

/* The 2/3 rule: 1 if every |frequency| <= N/3, else 0 (the product's aliased band). */
static SF_GRID_HD inline int sf_grid_kept(const sf_grid_shape *g, size_t m)
{
    for (int a = 0; a < g->dim; a++) {
        int f = sf_grid_frequency(g, m, a);
        if (3 * (f < 0 ? -f : f) > g->n) return 0;
    }
    return 1;
}

#endif
