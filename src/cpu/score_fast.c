/* The fast CPU backend (DESIGN.md "The CPU backends"): the GPU's algorithm on the CPU. Particles
 * go in blocks whose n x K logits fit in cache, one block per thread at a time:
 *  1. the GEMM-form logits of the block by BLAS, with a rounding bound each (screen.h);
 *  2. per particle (classify.h): components certainly below the best by 80 in log are skipped;
 *     the logits whose error would matter are recomputed directly from e = x - alpha mu_k (no
 *     cancellation), as the reference computes them;
 *  3. log p and r_k by one fused vectorised log-sum-exp pass over the block (softmax.h);
 *  4. the score: by GEMM (matrix_score.h) for the components where that form is accurate enough and
 *     only the score is wanted, directly for the others; the denoiser and the derivatives per
 *     particle over every component with r_k > 0, in the centred form delta_k = g_k - s
 *     (fast_particle.h).
 * Threads: OpenMP over blocks, each thread with its own scratch kept in the plan's state; BLAS is
 * the OpenMP build of OpenBLAS, which runs single-threaded inside a parallel region, so the two
 * never oversubscribe the cores. */
#include "backend.h"
#include "classify.h"
#include "fast_field.h"
#include "fast_particle.h"
#include "screen.h"
#include "softmax.h"
#include "matrix_score.h"
#include "status.h"

#include <omp.h>
#include <stdlib.h>

/* A block's n x K logits and n x d rows take at most this many bytes each (a share of L2), within
 * these rows. */
#define SF_FAST_BLOCK_BYTES ((size_t)1 << 21)
#define SF_FAST_MIN_ROWS 16
#define SF_FAST_MAX_ROWS 512
/* Work (particles x components x dimension) below which one thread does everything. */
#define SF_FAST_PARALLEL_WORK 65536

/* One thread's scratch for a block of `rows` particles. */
typedef struct {
    double *logits, *bound;             /* [rows x K] each; bound becomes the GEMM sums' weights */
    unsigned char *what;                /* [rows x K] how each r_k g_k is summed (classify.h) */
    double *logp, *best_lower;          /* [rows] each */
    double *score, *matrix_scratch;       /* [rows x d] each: the score when the request has none */
    double *coef;                       /* [rows x R] */
    sf_screen_scratch screen;
    sf_particle_rows_f64 rows;          /* per-particle scratch (d and K vectors) */
    double *buffer;
} block_scratch;

static int block_rows(int K, int d, size_t n)
{
    size_t rows = SF_FAST_BLOCK_BYTES / ((size_t)(K > d ? K : d) * sizeof(double));
    rows = rows < SF_FAST_MIN_ROWS ? SF_FAST_MIN_ROWS : rows > SF_FAST_MAX_ROWS ? SF_FAST_MAX_ROWS : rows;
    return (int)(n < rows ? n : rows);
}

static int scratch_alloc(block_scratch *s, const sf_fast_field *ff, int rows)
{
    int d = ff->view.d, K = ff->view.K, R = ff->view.R;
    size_t nk = (size_t)rows * K, nd = (size_t)rows * d;
    size_t doubles = 2 * nk + 2 * (size_t)rows + 2 * nd + (size_t)rows * R + 6 * (size_t)d + (size_t)K;
    s->buffer = malloc(doubles * sizeof(double));
    s->what = malloc(nk);
    if (!s->buffer || !s->what || sfi_screen_scratch_alloc(&s->screen, ff, rows) != SF_OK) {
        free(s->buffer), free(s->what);
        s->buffer = NULL, s->what = NULL;
        return 0;
    }
    double *at = s->buffer;
    s->logits = at, at += nk;
    s->bound = at, at += nk;
    s->logp = at, at += rows;
    s->best_lower = at, at += rows;
    s->score = at, at += nd;
    s->matrix_scratch = at, at += nd;
    s->coef = at, at += (size_t)rows * R;
    sf_particle_rows_f64 *w = &s->rows;
    w->g = at, at += d, w->resid = at, at += d, w->delta = at, at += d, w->tmp = at, at += d;
    w->tmp2 = at, at += d, w->dir = at, at += d, w->dlogit = at;
    return 1;
}

static void scratch_free(block_scratch *s)
{
    free(s->buffer), free(s->what);
    sfi_screen_scratch_free(&s->screen);
}

/* Only the score, log p and r: then the score may be summed by GEMM. */
static int wants_score_only(const sf_request *rq)
{
    return !rq->denoise && !rq->div && !rq->lap && !rq->hvp && !rq->hessian && !rq->dt_score && !rq->dt_logp;
}

/* The per-particle outputs of particle i (global index) in the request's arrays. */
static sf_particle_rows_f64 particle_rows(const block_scratch *s, const sf_request *rq, size_t i, int d)
{
    sf_particle_rows_f64 w = s->rows;
    size_t id = i * (size_t)d;
    w.denoise = rq->denoise ? rq->denoise + id : NULL;
    w.div = rq->div ? rq->div + i : NULL;
    w.lap = rq->lap ? rq->lap + id : NULL;
    w.hvp = rq->hvp ? rq->hvp + id : NULL;
    w.hvp_dir = rq->hvp && rq->hvp_dir ? rq->hvp_dir + id : NULL;
    w.hvp_s = rq->hvp_s, w.hvp_x = rq->hvp_x;
    w.hessian = rq->hessian ? rq->hessian + id * d : NULL;
    w.dt_score = rq->dt_score ? rq->dt_score + id : NULL;
    w.dt_logp = rq->dt_logp ? rq->dt_logp + i : NULL;
    w.logp = w.resp = w.logit = NULL; /* written by the block (steps 2 and 3) */
    return w;
}

/* Steps 1-4 for particles [i0, i0 + n). */
static void evaluate_block(const sf_fast_field *ff, const double *x, size_t i0, int n, const sf_request *rq,
                           block_scratch *s)
{
    const sf_field_view_f64 *f = &ff->view;
    int d = f->d, K = f->K, matrix_sums = wants_score_only(rq), matrix = 0;
    const double *xb = x + i0 * d;
    double *logits = rq->resp ? rq->resp + i0 * K : s->logits; /* r_k in place: straight into the output */
    double *logp = rq->logp ? rq->logp + i0 : s->logp;
    double *score = rq->score ? rq->score + i0 * d : s->score;
    sfi_screen_block(ff, xb, n, logits, s->bound, s->best_lower, &s->screen);
    for (int i = 0; i < n; i++)
        matrix += sfi_classify_particle(ff, xb + (size_t)i * d, logits + (size_t)i * K, s->bound + (size_t)i * K,
                                       s->best_lower[i], matrix_sums, s->what + (size_t)i * K, &s->rows);
    sfi_softmax_rows(logits, (size_t)n, K, logp);
    if (matrix) { /* the GEMM share's weights replace the bounds, and its score sum goes first */
        for (size_t e = 0; e < (size_t)n * K; e++) s->bound[e] = s->what[e] == SF_SUM_MATRIX ? logits[e] : 0.0;
        sfi_matrix_score(ff, xb, n, s->bound, s->screen.proj, score, s->matrix_scratch, s->coef);
    }
    for (int i = 0; i < n; i++) {
        unsigned char *what = s->what + (size_t)i * K;
        for (int k = 0; matrix && k < K; k++) what[k] = what[k] == SF_SUM_DIRECT; /* the direct flags */
        sf_particle_rows_f64 w = particle_rows(s, rq, i0 + i, d);
        w.score = score + (size_t)i * d;
        sfi_fast_particle_fields(f, xb + (size_t)i * d, logits + (size_t)i * K, matrix ? what : NULL, &w);
    }
}

/* The prepared state: the field, and each thread's block scratch, kept between evaluations (a
 * sampler evaluates at every stage) and grown when a call needs more threads or larger blocks. */
typedef struct {
    sf_fast_field field;
    block_scratch *scratch; /* [threads] */
    int threads, rows;
} fast_state;

static void scratch_release(fast_state *st)
{
    for (int t = 0; t < st->threads; t++) scratch_free(&st->scratch[t]);
    free(st->scratch);
    st->scratch = NULL, st->threads = st->rows = 0;
}

static sf_status scratch_reserve(fast_state *st, int threads, int rows)
{
    if (st->threads >= threads && st->rows >= rows) return SF_OK;
    if (st->rows > rows) rows = st->rows;
    scratch_release(st);
    st->scratch = calloc((size_t)threads, sizeof *st->scratch);
    int ok = st->scratch != NULL;
    for (int t = 0; ok && t < threads; t++) {
        ok = scratch_alloc(&st->scratch[t], &st->field, rows);
        st->threads = t + 1; /* a failed one holds only NULLs: freeing it is harmless */
    }
    if (!ok) {
        scratch_release(st);
        return sfi_fail(SF_ERR_NOMEM, "out of memory for %d threads' blocks of %d particles (K = %d, d = %d)", threads,
                       rows, st->field.view.K, st->field.view.d);
    }
    st->rows = rows;
    return SF_OK;
}

static sf_status fast_evaluate(void *state, const sf_field *field, const double *x, size_t n, const sf_request *rq)
{
    fast_state *st = state;
    int d = field->d, K = field->K;
    if (sf_request_needs_rates(rq) && !field->has_rates)
        return sfi_fail(SF_ERR_INVALID, "time derivatives need a schedule (a direct alpha, sigma pair has none)");
    if (n == 0) return SF_OK;
    int rows = block_rows(K, d, n);
    size_t blocks = (n + rows - 1) / rows;
    int parallel = blocks > 1 && n * (size_t)K * (size_t)d > SF_FAST_PARALLEL_WORK;
    sf_status status = scratch_reserve(st, parallel ? omp_get_max_threads() : 1, rows);
    if (status != SF_OK) return status;
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
    for (size_t b = 0; b < blocks; b++) {
        size_t i0 = b * (size_t)rows;
        int m = (int)(n - i0 < (size_t)rows ? n - i0 : (size_t)rows);
        evaluate_block(&st->field, x, i0, m, rq, &st->scratch[omp_get_thread_num()]);
    }
    return SF_OK;
}

static sf_status fast_prepare(struct sf_context *ctx, const sf_field *field, void **state)
{
    (void)ctx;
    *state = NULL;
    fast_state *st = calloc(1, sizeof *st);
    if (!st) return sfi_fail(SF_ERR_NOMEM, "out of memory preparing the fast CPU backend");
    sf_status status = sfi_fast_field_prepare(&st->field, field);
    if (status != SF_OK) {
        free(st);
        return status;
    }
    *state = st;
    return SF_OK;
}

static sf_status fast_update(void *state, const sf_field *field)
{
    sfi_fast_field_update(&((fast_state *)state)->field, field);
    return SF_OK;
}

static void fast_release(void *state)
{
    fast_state *st = state;
    if (!st) return;
    scratch_release(st);
    sfi_fast_field_release(&st->field);
    free(st);
}

const sf_backend_ops sfi_backend_cpu = {"cpu", fast_prepare, fast_update, fast_evaluate, fast_release};
