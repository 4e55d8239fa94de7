/* Internal: one evaluation of a diffused mixture's fields in one frame, as the backends see it.
 * sf_evaluate turns the public sf_outputs into one or more requests (the data frame, the heat
 * frame, the VP residual), so each backend implements only this. NULL pointers are not wanted. */
#ifndef SF_REQUEST_H
#define SF_REQUEST_H

#include "field.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    double *score;   /* N x d (the backend uses scratch if NULL: other outputs need it) */
    double *logp;    /* N */
    double *resp;    /* N x K */
    double *div;     /* N */
    double *denoise; /* N x d */
    double *lap;     /* N x d: vector Laplacian of the score */
    double *hvp;     /* N x d: H v with v = hvp_dir (N x d) if given, else v = hvp_s * s + hvp_x * x */
    const double *hvp_dir;
    double hvp_s, hvp_x;
    double *hessian;  /* N x d x d */
    double *dt_score; /* N x d: derivative along the field's rates (d alpha, d sigma^2) at fixed x */
    double *dt_logp;  /* N */
} sf_request;

/* The same outputs as device arrays in the backend's working precision (double or float), for
 * sf_plan_evaluate_device. */
typedef struct {
    void *score, *logp, *resp, *div, *denoise, *lap, *hvp, *hessian, *dt_score, *dt_logp;
    const void *hvp_dir;
    double hvp_s, hvp_x;
} sf_device_request;

/* 1 if the request needs the field's rates (time derivatives). */
static inline int sf_request_needs_rates(const sf_request *rq) { return rq->dt_score || rq->dt_logp; }

#ifdef __cplusplus
}
#endif
#endif
