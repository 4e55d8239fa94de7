/* Per-particle logic of the small-d score kernel (d up to about 32, Burgers grids included), as
 * KeOps evaluates such reductions: every component is visited once, in order, from a tile of the
 * field staged in shared memory, and one particle's state stays in registers: its coordinates, the
 * running maximum m and weight sum W of an online log-sum-exp, and weighted Welford means of the
 * score and the denoiser with the centred second moment the divergence needs (the same updates as
 * sf_evaluate_survivors in score_particle.h, whose per-component algebra this shares in spirit but
 * not in storage: there the coordinates live in memory rows, here in registers).
 *
 * A particle belongs to `lanes` lanes (1, 4 or 8 on the device), each owning up to `slots`
 * coordinates i = lane + lanes * j, j < slots <= SF_SMALL_SLOTS. Loops run over the constant
 * SF_SMALL_SLOTS with `j < slots` tests, so once the kernel's compile-time `slots` is inlined they
 * unroll and the arrays below stay in registers. On the host, lanes = 1.
 *
 * Instantiated with score_particle.h by kernels/particle_logic.h (needs its view type and
 * helpers). Outputs here: score, log p, divergence, denoiser and (second pass) responsibilities;
 * requests with further derivatives go to sf_evaluate_survivors. */

#ifndef SF_SMALL_SLOTS
#define SF_SMALL_SLOTS 8
#endif

typedef struct {
    SF_REAL x[SF_SMALL_SLOTS], s[SF_SMALL_SLOTS], den[SF_SMALL_SLOTS];
    double m, W, M2, trace; /* online log-sum-exp, centred second moment, sum of w_k tr P_k */
} SF_NAME(sf_small_state);

/* 1 if slot j of this lane holds a coordinate. */
static SF_HD inline int SF_NAME(sf_small_owns)(int j, int d, int slots, int lane, int lanes)
{
    return j < slots && lane + lanes * j < d;
}

static SF_HD inline void SF_NAME(sf_small_begin)(SF_NAME(sf_small_state) *st, const SF_REAL *x, int d, int slots,
                                                 int lane, int lanes)
{
    for (int j = 0; j < SF_SMALL_SLOTS; j++) {
        st->x[j] = SF_NAME(sf_small_owns)(j, d, slots, lane, lanes) ? x[lane + lanes * j] : 0;
        st->s[j] = 0;
        st->den[j] = 0;
    }
    st->m = -INFINITY;
    st->W = st->M2 = st->trace = 0;
}

/* g = -P_k e on this lane's slots for e = x - a mu_k; returns e.P_k e (summed in double; e formed
 * in double, as in sf_component_score). With cp non-NULL also cp = C_k P_k e in the spectral form
 * of sf_apply_cov_prec (the denoiser's term, without cancellation). */
static SF_HD inline double SF_NAME(sf_small_component)(const SF_NAME(sf_field_view) *f, int k,
                                                        const SF_NAME(sf_small_state) *st, SF_REAL g[SF_SMALL_SLOTS],
                                                        SF_REAL *cp, int d, int slots, int lane, int lanes)
{
    const SF_REAL *am = f->alpha_mean + (size_t)k * d;
    const double *p = f->prec_diag + (size_t)k * d;
    const SF_REAL *c = f->cov_diag + (size_t)k * d;
    double e[SF_SMALL_SLOTS];
    for (int j = 0; j < SF_SMALL_SLOTS; j++) {
        e[j] = SF_NAME(sf_small_owns)(j, d, slots, lane, lanes) ? (double)st->x[j] - (double)am[lane + lanes * j] : 0;
        g[j] = 0;
        if (cp) cp[j] = 0;
    }
    double quad = 0;
    for (int r = f->rank_offset[k]; r < f->rank_offset[k + 1]; r++) { /* resid = e - sum_r (u_r.e) u_r, in place */
        const SF_REAL *u = f->basis + (size_t)r * d;
        double part = 0;
        for (int j = 0; j < SF_SMALL_SLOTS; j++)
            if (SF_NAME(sf_small_owns)(j, d, slots, lane, lanes)) part += (double)u[lane + lanes * j] * e[j];
        double proj = sf_group_sum(part, lanes), pj = f->prec_basis[r];
        double cpj = cp ? ((double)c[0] + (double)f->cov_lowrank[r]) * pj * proj : 0;
        quad += pj * proj * proj;
        for (int j = 0; j < SF_SMALL_SLOTS; j++)
            if (SF_NAME(sf_small_owns)(j, d, slots, lane, lanes)) {
                e[j] -= proj * (double)u[lane + lanes * j];
                g[j] -= (SF_REAL)(pj * proj * (double)u[lane + lanes * j]);
                if (cp) cp[j] += (SF_REAL)(cpj * (double)u[lane + lanes * j]);
            }
    }
    double part = 0;
    for (int j = 0; j < SF_SMALL_SLOTS; j++)
        if (SF_NAME(sf_small_owns)(j, d, slots, lane, lanes)) {
            double pr = p[lane + lanes * j] * e[j];
            g[j] -= (SF_REAL)pr;
            part += pr * e[j];
            if (cp) cp[j] += (SF_REAL)((double)c[lane + lanes * j] * pr);
        }
    return quad + sf_group_sum(part, lanes);
}

/* The exact logit of component k at this particle. */
static SF_HD inline double SF_NAME(sf_small_logit)(const SF_NAME(sf_field_view) *f, int k,
                                                    const SF_NAME(sf_small_state) *st, int d, int slots, int lane,
                                                    int lanes)
{
    SF_REAL g[SF_SMALL_SLOTS];
    return f->log_norm[k] - 0.5 * SF_NAME(sf_small_component)(f, k, st, g, NULL, d, slots, lane, lanes);
}

/* Adds component k: online log-sum-exp and the weighted Welford updates (see sf_evaluate_survivors). */
static SF_HD inline void SF_NAME(sf_small_add)(const SF_NAME(sf_field_view) *f, int k, SF_NAME(sf_small_state) *st,
                                               int want_denoise, int d, int slots, int lane, int lanes)
{
    SF_REAL g[SF_SMALL_SLOTS], cp[SF_SMALL_SLOTS];
    double l = f->log_norm[k] - 0.5 * SF_NAME(sf_small_component)(f, k, st, g, want_denoise ? cp : NULL, d, slots, lane,
                                                                   lanes);
    if (l == -INFINITY) return; /* r_k = 0 */
    double w = 1;
    if (l > st->m) {
        double c = SF_NAME(sf_weight_exp)(st->m - l);
        st->W *= c, st->M2 *= c, st->trace *= c;
        st->m = l;
    } else {
        w = SF_NAME(sf_weight_exp)(l - st->m);
    }
    double W_new = st->W + w, frac = sf_div_by_weight(w, W_new);
    SF_REAL fr = (SF_REAL)frac;
    double dd = 0;
    for (int j = 0; j < SF_SMALL_SLOTS; j++)
        if (SF_NAME(sf_small_owns)(j, d, slots, lane, lanes)) {
            SF_REAL delta = g[j] - st->s[j];
            dd += (double)delta * (double)delta;
            st->s[j] += fr * delta;
        }
    st->M2 += w * sf_div_by_weight(st->W, W_new) * sf_group_sum(dd, lanes);
    st->trace += w * f->trace_prec[k];
    st->W = W_new;
    if (!want_denoise) return;
    /* posterior mean of component k: mu_k - a C_k g_k = mu_k + a C_k P_k e */
    const SF_REAL *mu = f->mean + (size_t)k * d;
    for (int j = 0; j < SF_SMALL_SLOTS; j++)
        if (SF_NAME(sf_small_owns)(j, d, slots, lane, lanes))
            st->den[j] += fr * (mu[lane + lanes * j] + f->alpha * cp[j] - st->den[j]);
}

static SF_HD inline double SF_NAME(sf_small_logp)(const SF_NAME(sf_small_state) *st) { return st->m + log(st->W); }

/* Writes the particle's outputs (each may be NULL): score and denoiser on this lane's
 * coordinates, log p and the divergence from lane 0. */
static SF_HD inline void SF_NAME(sf_small_finish)(const SF_NAME(sf_small_state) *st, SF_REAL *score, SF_REAL *logp,
                                                  SF_REAL *div, SF_REAL *denoise, int d, int slots, int lane, int lanes)
{
    for (int j = 0; j < SF_SMALL_SLOTS; j++)
        if (SF_NAME(sf_small_owns)(j, d, slots, lane, lanes)) {
            if (score) score[lane + lanes * j] = st->s[j];
            if (denoise) denoise[lane + lanes * j] = st->den[j];
        }
    if (lane == 0) {
        if (logp) *logp = (SF_REAL)SF_NAME(sf_small_logp)(st);
        if (div) *div = (SF_REAL)sf_div_by_weight(st->M2 - st->trace, st->W);
    }
}
