/* Both precisions of the per-particle logic: the survivor evaluation and screening bound
 * (score_particle.h) and the small-d register kernel's logic (small_particle.h), for the CUDA
 * kernels and for the CPU tests that run the same code (tests/test_gpu_logic.c). Names end in _f64
 * or _f32. A test may define SF_SMALL_SLOTS first (the device uses 8 slots per lane). */
#ifndef SF_PARTICLE_LOGIC_H
#define SF_PARTICLE_LOGIC_H

#define SF_REAL double
#define SF_NAME(x) x##_f64
#include "score_particle.h"
#define SF_REAL double
#define SF_NAME(x) x##_f64
#include "small_particle.h"
#undef SF_REAL
#undef SF_NAME

#define SF_REAL float
#define SF_REAL_IS_FLOAT
#define SF_NAME(x) x##_f32
#include "score_particle.h"
#define SF_REAL float
#define SF_REAL_IS_FLOAT
#define SF_NAME(x) x##_f32
#include "small_particle.h"
#undef SF_REAL
#undef SF_REAL_IS_FLOAT
#undef SF_NAME

#endif
