/* Internal: the CPU reference path (float64, direct distances, log-sum-exp, centred forms). */
#ifndef SF_SCORE_CPU_H
#define SF_SCORE_CPU_H

#include "request.h"

sf_status sfi_score_cpu(const sf_field *field, const double *x, size_t n, const sf_request *rq);

#endif
