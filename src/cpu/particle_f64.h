/* Internal: the float64 host instantiation of the GPU's per-particle logic (kernels/score_particle.h:
 * the packed field view, the GEMM-form logit bound, the direct component score, P v, C v, d l_k/dt),
 * which the fast CPU backend shares rather than writing it again. One lane: lane = 0, lanes = 1. */
#ifndef SF_PARTICLE_F64_H
#define SF_PARTICLE_F64_H

#define SF_REAL double
#define SF_NAME(x) x##_f64
#include "score_particle.h"

#endif
