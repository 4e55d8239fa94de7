/* scorefield sample: generate particles with the exact (optionally guided) score from exact draws
 * of p_{t1} down to t0, in batches streamed to the output file; trajectories on request. */
#include "cli_io.h"
#include "commands.h"
#include "parse.h"
#include "progress.h"
#include "shard.h"
#include "status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds of the count options (stated in the help). */
#define SAMPLE_N_MAX 1000000000000ULL /* particles: streamed, so bounded by the disk (checked) */
#define SAMPLE_STEPS_MAX 10000000
#define SAMPLE_BATCH_MAX 100000000

static const char sample_help[] =
    "usage: scorefield sample --mixture M.json --schedule S --sampler KIND (--n N | --in X1.npy) --out X.npy [options]\n"
    "Draws N particles exactly from the mixture diffused to t1 (or starts from the particles of --in)\n"
    "and integrates them down to t0 with the exact score. KIND: em (Euler-Maruyama for dx = [f x - (1+h^2) g^2 s/2] dt + h g dW; h = 1 the\n"
    "reverse SDE, h = 0 the probability-flow ODE), ode-euler, heun, ddpm, ddim, dpm1, dpm2, dpm3, and the samplers of\n"
    "k-diffusion and diffusers: euler-ancestral, edm-heun (Karras et al. Algorithm 2), dpmpp-2m, dpmpp-3m,\n"
    "dpmpp-2m-sde, dpmpp-2s-ancestral, unipc (UniPC-bh2). All run on every schedule (formulas: docs/samplers.md).\n"
    "options (counts are decimal digits: N 1 to 1e12, K and J 1 to 1e7, B 1 to 1e8, SEED 0 to 2^64-1):\n"
    "  --schedule ve|vp-linear|vp-cosine|ou|edm|flow   (and --sigma-min, --sigma-max, --beta-min, --beta-max, --cosine-s)\n"
    "  --steps K (100)  --spacing t|lambda|karras (t; edm: karras)  --rho R (7; only with karras: sigma/alpha\n"
    "                   spaced uniformly in its 1/R'th power)\n"
    "  --t1 T1 (1; vp-cosine 0.995, flow 0.99, edm sigma-max)  --t0 T0 (0.001; edm sigma-min)\n"
    "  --to-zero        the last of the K steps goes from t0 to t = 0 (sigma = 0) as the denoiser x0^ (not ve)\n"
    "  --times FILE     the time grid itself (.npy, or text: numbers separated by spaces or newlines),\n"
    "                   strictly decreasing from t1 to t0 (a last time with sigma = 0 is a denoising step);\n"
    "                   replaces --steps, --spacing, --t1 and --t0; every sampler accepts it\n"
    "  --in X1.npy      start from these particles (N x d) at t1 instead of exact draws of p_t1\n"
    "  --h H (1)  only with em;  --eta E (0)  only with ddim (refused with the other samplers)\n"
    "  --churn C (0) --s-tmin A (0) --s-tmax B (infinity) --s-noise S (1)   only with edm-heun: raise the\n"
    "                   level sigma/alpha by min(C/K, sqrt 2 - 1) where A <= sigma/alpha <= B, noise scaled by S\n"
    "  --order P (2)    only with unipc: predictor order 2 or 3 (the corrector makes it order P + 1)\n"
    "  --seed SEED (0): Philox noise keyed by (seed, particle, step, dim)\n"
    "  --class K1,K2,... --guidance W   guide toward the components listed: s~ = s + (1 + W)(s_c - s)\n"
    "                                   (W = 0: conditional sampling; classifier and classifier-free\n"
    "                                   guidance coincide for exact scores)\n"
    "  --trajectory T.npy --every J    particles every J steps (and at both ends), shape (N, frames, d);\n"
    "                                  their times go to T.times.npy (frames), written with the frames\n"
    "  --batch B (262144)  particles per batch; batches are streamed to the files\n"
    "  --backend cpu|cuda|auto|reference  --precision f64|f32  --quiet (nothing but errors, no progress)\n"
    "The outputs must fit in the free space of their file system (checked before sampling); all are\n"
    "written completely or not at all. The occupations printed (most responsible component at t0) are\n"
    "set beside the target's weights where they are known: the mixture's weights without guidance or\n"
    "with W = -1, the class's renormalised weights for W = 0; for other W the guided target is not a\n"
    "Gaussian mixture and has no closed-form weights.\n"
    "Subspace data (a component with zero variance in some direction): em, ode-euler and heun are not\n"
    "exact for the Gaussian part of the flow, and when their last step grows the noise variance\n"
    "sigma^2 by more than 10% of sigma^2(t0) they visibly distort the variance normal to the subspace\n"
    "(too wide for em and ode-euler); a warning on stderr says so. More steps, --spacing lambda, or\n"
    "ddim/ddpm/dpm1-3 (exact for Gaussian data) avoid it. Details: docs/samplers.md.\n";

/* The sampler-specific options and the samplers they apply to (refused with the others). */
typedef struct {
    double h, eta, churn, s_tmin, s_tmax, s_noise, rho;
    size_t order;
} sampler_options;

static int refuse_inapplicable(const sampler_options *o, sf_sampler_kind kind, int karras)
{
    const char *name = sf_sampler_kind_name(kind);
    if (!isnan(o->h) && kind != SF_SAMPLER_EM)
        return cli_bad_input("option --h: applies to the em sampler only (not %s)", name);
    if (!isnan(o->eta) && kind != SF_SAMPLER_DDIM)
        return cli_bad_input("option --eta: applies to the ddim sampler only (not %s; ddpm is ddim with eta = 1)", name);
    const double *edm[4] = {&o->churn, &o->s_tmin, &o->s_tmax, &o->s_noise};
    static const char *const edm_names[4] = {"--churn", "--s-tmin", "--s-tmax", "--s-noise"};
    for (int i = 0; i < 4; i++)
        if (!isnan(*edm[i]) && kind != SF_SAMPLER_EDM_HEUN)
            return cli_bad_input("option %s: applies to the edm-heun sampler only (not %s)", edm_names[i], name);
    if (o->order && kind != SF_SAMPLER_UNIPC) return cli_bad_input("option --order: applies to the unipc sampler only (not %s)", name);
    if (!isnan(o->rho) && !karras) return cli_bad_input("option --rho: applies to --spacing karras only");
    if (!isnan(o->eta) && !(o->eta >= 0 && o->eta <= 1)) return cli_bad_input("option --eta: %g must be in [0, 1]", o->eta);
    if (!isnan(o->h) && !(o->h >= 0)) return cli_bad_input("option --h: %g must be >= 0", o->h);
    if (!isnan(o->churn) && !(o->churn >= 0)) return cli_bad_input("option --churn: %g must be >= 0", o->churn);
    if (!isnan(o->s_tmin) && !(o->s_tmin >= 0)) return cli_bad_input("option --s-tmin: %g must be >= 0", o->s_tmin);
    if (!isnan(o->s_tmax) && !(o->s_tmax >= (isnan(o->s_tmin) ? 0 : o->s_tmin)))
        return cli_bad_input("option --s-tmax: %g must be >= --s-tmin", o->s_tmax);
    if (!isnan(o->s_noise) && !(o->s_noise > 0)) return cli_bad_input("option --s-noise: %g must be > 0", o->s_noise);
    if (o->order && o->order != 2 && o->order != 3) return cli_bad_input("option --order: %zu must be 2 or 3", o->order);
    if (!isnan(o->rho) && !(o->rho > 0)) return cli_bad_input("option --rho: %g must be > 0", o->rho);
    return SF_EXIT_OK;
}

/* The options given into the sampler (the others keep sf_sampler_default's values). */
static void apply_options(const sampler_options *o, sf_sampler *smp)
{
    if (!isnan(o->h)) smp->h = o->h;
    if (!isnan(o->eta)) smp->eta = o->eta;
    if (!isnan(o->churn)) smp->churn = o->churn;
    if (!isnan(o->s_tmin)) smp->s_tmin = o->s_tmin;
    if (!isnan(o->s_tmax)) smp->s_tmax = o->s_tmax;
    if (!isnan(o->s_noise)) smp->s_noise = o->s_noise;
    if (!isnan(o->rho)) smp->rho = o->rho;
    if (o->order) smp->order = (int)o->order;
}

typedef struct {
    double *frames;     /* [nb x F x d] for the current batch, or NULL */
    int frame, count, every, steps, d;
    size_t nb;
    double *times;      /* [F] */
    double done;        /* particle-steps, for progress */
    cli_progress progress;
} recorder;

static sf_status record(void *data, int step, double t, const double *x, size_t n, int d)
{
    recorder *r = data;
    if (r->frames && (step % r->every == 0 || step == r->steps)) {
        for (size_t p = 0; p < n; p++)
            memcpy(r->frames + (p * r->count + r->frame) * d, x + p * d, (size_t)d * sizeof(double));
        r->times[r->frame++] = t;
    }
    if (step > 0) r->done += (double)n;
    cli_progress_update(&r->progress, r->done);
    return SF_OK;
}

/* a * b * c, or 0 when the product of nonzero factors overflows size_t. */
static size_t product3(size_t a, size_t b, size_t c)
{
    if (b && a > SIZE_MAX / b) return 0;
    if (c && a * b > SIZE_MAX / c) return 0;
    return a * b * c;
}

/* Exit 1 naming the first particle of the batch that is not finite. */
static int check_batch(const double *x, size_t nb, int d, size_t first)
{
    for (size_t i = 0; i < nb * (size_t)d; i++)
        if (!isfinite(x[i]))
            return cli_failure("sampling produced a non-finite particle %zu (coordinate %d = %g): the steps are too "
                               "large for this schedule, or the mixture too far from the origin",
                               first + i / d, (int)(i % d), x[i]);
    return SF_EXIT_OK;
}

/* The time grid of --times: a .npy vector or numbers in a text file, strictly decreasing. Returns an
 * exit status; *times (count values) is the caller's to free. */
static int read_times(const char *path, double **times, size_t *count)
{
    *times = NULL, *count = 0;
    size_t len = strlen(path);
    if (len >= 4 && !strcmp(path + len - 4, ".npy")) {
        sf_array a = {0};
        sf_status st = sf_npy_read(path, &a);
        if (st != SF_OK) return cli_library_error(st);
        if (!(a.ndim == 1 || (a.ndim == 2 && a.shape[1] == 1))) {
            sf_array_free(&a);
            return cli_bad_input("%s: the time grid must be a vector (K + 1,), got a %d-d array", path, a.ndim);
        }
        *times = a.data, *count = a.shape[0]; /* the array's data is plain malloc'd memory */
    } else {
        FILE *f = fopen(path, "r");
        if (!f) return cli_bad_input("%s: cannot read the time grid", path);
        char word[128];
        size_t cap = 0;
        while (fscanf(f, "%127s", word) == 1) {
            double v;
            if (!cli_parse_double(word, &v)) {
                fclose(f);
                free(*times);
                return cli_bad_input("%s: time %zu ('%s') is not a number", path, *count, word);
            }
            if (*count == cap) {
                double *grown = realloc(*times, (cap = cap ? 2 * cap : 64) * sizeof(double));
                if (!grown) {
                    fclose(f);
                    free(*times);
                    return cli_failure("out of memory reading %s", path);
                }
                *times = grown;
            }
            (*times)[(*count)++] = v;
        }
        fclose(f);
    }
    int status = SF_EXIT_OK;
    if (*count < 2) status = cli_bad_input("%s: a time grid needs at least two times (t1 and t0)", path);
    for (size_t k = 0; status == SF_EXIT_OK && k < *count; k++)
        if (!isfinite((*times)[k]) || (k > 0 && !((*times)[k] < (*times)[k - 1])))
            status = cli_bad_input("%s: the times must be finite and strictly decreasing (time %zu is %g after %g)", path, k,
                                   (*times)[k], k ? (*times)[k - 1] : NAN);
    if (status == SF_EXIT_OK && *count - 1 > SAMPLE_STEPS_MAX)
        status = cli_bad_input("%s: at most %d steps", path, SAMPLE_STEPS_MAX);
    if (status != SF_EXIT_OK) free(*times), *times = NULL;
    return status;
}

/* Starting particles of --in: N x d (or N for d = 1), finite; this rank's rows (cli_shard_range),
 * N in *total. */
static int read_start(const char *path, int d, sf_array *x, size_t *total)
{
    int status = cli_outputs_add_input("--in", path);
    if (status == SF_EXIT_OK) status = cli_read_rank_particles(path, d, x, total);
    if (status == SF_EXIT_OK && *total == 0) status = cli_bad_input("%s: no particles", path);
    return status;
}

/* Whether the variance normal to a subspace component is distorted: em, ode-euler and heun (not
 * exact for the linear Gaussian flow) whose last step grows sigma^2 by more than 10% of sigma^2(t0).
 * The measurement behind the threshold: docs/samplers.md. Returns the relative growth, or 0. */
static double subspace_distortion(const sf_mixture *mix, const sf_schedule *schedule, const sf_sampler *smp)
{
    int subspace = 0;
    for (int k = 0; k < sf_mixture_count(mix); k++) subspace |= sf_mixture_codimension(mix, k) > 0;
    if (!subspace || !(smp->kind == SF_SAMPLER_EM || smp->kind == SF_SAMPLER_ODE_EULER || smp->kind == SF_SAMPLER_HEUN))
        return 0;
    if (smp->to_zero) return 0; /* a last denoising step */
    double *times = malloc(((size_t)smp->steps + 1) * sizeof(double));
    sf_time end, one;
    double growth = 0;
    if (times && sf_sampler_times(schedule, smp, times) == SF_OK && sf_schedule_at(schedule, times[smp->steps], &end) == SF_OK &&
        end.sigma2 > 0 && sf_schedule_at(schedule, times[smp->steps - 1], &one) == SF_OK)
        growth = one.sigma2 / end.sigma2 - 1;
    free(times);
    return growth > 0.1 ? growth : 0;
}

/* The weights of the target the occupations estimate, where they are known. */
static void print_occupation(const sf_mixture *mix, const double *occupation, size_t n, const int *cls, int class_size,
                             double guidance)
{
    int K = sf_mixture_count(mix), known = !cls || guidance == -1 || guidance == 0;
    double class_weight = 0;
    for (int j = 0; cls && j < class_size; j++) class_weight += sf_mixture_weight(mix, cls[j]);
    if (!cls || guidance == -1) printf("  occupation (most responsible component at t0) vs the mixture's weight:\n");
    else if (guidance == 0) printf("  occupation (most responsible component at t0) vs the class's renormalised weight (W = 0):\n");
    else printf("  occupation (most responsible component at t0); the guided target p^-W p_c^(1+W) is not a\n"
                "  Gaussian mixture: its weights have no closed form (only W = 0 and W = -1 have)\n");
    for (int k = 0; k < K && k < 12; k++) {
        double w = sf_mixture_weight(mix, k);
        if (cls && guidance == 0) {
            int in = 0;
            for (int j = 0; j < class_size; j++) in |= cls[j] == k;
            w = in ? w / class_weight : 0;
        }
        if (known) printf("    component %-3d %.4f  (weight %.4f)\n", k, occupation[k] / n, w);
        else printf("    component %-3d %.4f\n", k, occupation[k] / n);
    }
}

/* T.npy -> T.times.npy (any other name: NAME.times.npy). */
static void times_path(const char *traj_path, char *out, size_t size)
{
    size_t len = strlen(traj_path);
    int npy = len >= 4 && !strcmp(traj_path + len - 4, ".npy");
    snprintf(out, size, "%.*s.times.npy", (int)(npy ? len - 4 : len), traj_path);
}

int cmd_sample(int argc, char **argv)
{
    const char *mixture_path = NULL, *out_path = NULL, *traj_path = NULL, *sampler_name = NULL, *class_text = NULL;
    const char *in_path = NULL, *times_file = NULL;
    size_t n = 0, steps = 100, every = 10, batch = 262144, seed = 0;
    double t1 = NAN, t0 = NAN, guidance = 0.0;
    sampler_options so = {NAN, NAN, NAN, NAN, NAN, NAN, NAN, 0};
    int to_zero = 0;
    const char *spacing = NULL;
    sf_backend backend = SF_BACKEND_AUTO;
    sf_precision precision = SF_PRECISION_F64;
    cli_once once = {0};
    cli_time ct;
    cli_time_init(&ct);
    const cli_option table[] = {
        {"--mixture", CLI_TEXT, &mixture_path, 0}, {"--out", CLI_TEXT, &out_path, 0}, {"--trajectory", CLI_TEXT, &traj_path, 0},
        {"--sampler", CLI_TEXT, &sampler_name, 0}, {"--class", CLI_TEXT, &class_text, 0}, {"--spacing", CLI_TEXT, &spacing, 0},
        {"--in", CLI_TEXT, &in_path, 0}, {"--times", CLI_TEXT, &times_file, 0},
        {"--n", CLI_COUNT, &n, (size_t)SAMPLE_N_MAX}, {"--steps", CLI_COUNT, &steps, SAMPLE_STEPS_MAX},
        {"--every", CLI_COUNT, &every, SAMPLE_STEPS_MAX}, {"--batch", CLI_COUNT, &batch, SAMPLE_BATCH_MAX},
        {"--seed", CLI_COUNT, &seed, SIZE_MAX}, {"--t1", CLI_NUMBER, &t1, 0}, {"--t0", CLI_NUMBER, &t0, 0},
        {"--h", CLI_NUMBER, &so.h, 0}, {"--eta", CLI_NUMBER, &so.eta, 0}, {"--guidance", CLI_NUMBER, &guidance, 0},
        {"--churn", CLI_NUMBER, &so.churn, 0}, {"--s-tmin", CLI_NUMBER, &so.s_tmin, 0}, {"--s-tmax", CLI_NUMBER, &so.s_tmax, 0},
        {"--s-noise", CLI_NUMBER, &so.s_noise, 0}, {"--rho", CLI_NUMBER, &so.rho, 0}, {"--order", CLI_COUNT, &so.order, 3},
        {"--to-zero", CLI_FLAG, &to_zero, 0},
        {"--backend", CLI_BACKEND, &backend, 0}, {"--precision", CLI_PRECISION, &precision, 0}, {NULL, CLI_FLAG, NULL, 0}};
    CLI_PARSE_OR_RETURN(cli_parse("sample", sample_help, NULL, table, argc, argv, interval_time_extra, &ct, &once));
    int have_every = cli_once_seen(&once, "--every");
    if (!mixture_path || !out_path || !sampler_name || !ct.have_schedule || (!n && !in_path))
        return cli_bad_input("sample: --mixture, --schedule, --sampler, --n (or --in) and --out are required");
    if (in_path && cli_once_seen(&once, "--n")) return cli_bad_input("option --n: the particles of --in set N (give one of them)");
    if (!n && !in_path) return cli_bad_input("option --n: give at least 1 particle");
    static const char *const replaced_by_times[] = {"--steps", "--spacing", "--t1", "--t0", "--rho", "--to-zero"};
    for (int k = 0; times_file && k < 6; k++)
        if (cli_once_seen(&once, replaced_by_times[k]))
            return cli_bad_input("option %s: --times gives the whole grid (drop %s)", replaced_by_times[k], replaced_by_times[k]);
    sf_sampler smp;
    sf_sampler_kind kind;
    if (sf_sampler_kind_parse(sampler_name, &kind) != SF_OK) return cli_bad_input("option --sampler: %s", sf_last_error());
    if (!class_text && guidance != 0) return cli_bad_input("option --guidance needs --class (the components to guide toward)");
    if (have_every && !traj_path) return cli_bad_input("option --every needs --trajectory (the file the frames go to)");
    sf_spacing spacing_kind;
    if (!cli_spacing(spacing, &ct.schedule, &spacing_kind)) return SF_EXIT_BAD_INPUT;
    int karras = !times_file && spacing_kind == SF_SPACING_KARRAS;
    int refused = refuse_inapplicable(&so, kind, karras);
    if (refused != SF_EXIT_OK) return refused;
    smp = sf_sampler_default(kind);
    apply_options(&so, &smp);
    if (!every || !batch || !steps) return cli_bad_input("sample: --steps, --every and --batch must be >= 1");
    double *grid = NULL;
    size_t grid_count = 0;
    if (times_file) {
        int read = read_times(times_file, &grid, &grid_count);
        if (read != SF_EXIT_OK) return read;
        steps = grid_count - 1;
        smp.spacing = SF_SPACING_GIVEN, smp.times = grid, smp.t1 = grid[0], smp.t0 = grid[grid_count - 1];
    } else {
        smp.spacing = spacing_kind;
        cli_interval_defaults(&ct.schedule, &t1, &t0);
        smp.t1 = t1, smp.t0 = t0;
        smp.to_zero = to_zero;
    }
    smp.steps = (int)steps;
    smp.seed = seed, smp.guidance = guidance;

    sf_mixture *mix = NULL;
    sf_context *ctx = NULL;
    sf_npy_writer *out = NULL, *traj = NULL;
    double *x = NULL, *resp = NULL, *occupation = NULL;
    sf_array given = {0};
    char frame_times_path[4096] = "";
    int *cls = NULL, status = cli_outputs_add_input("--mixture", mixture_path);
    recorder rec = {0};
    sf_status st = SF_OK;
    if (status == SF_EXIT_OK && times_file) status = cli_outputs_add_input("--times", times_file);
    if (status == SF_EXIT_OK && (st = sf_mixture_read_json(&mix, mixture_path)) != SF_OK) status = cli_library_error(st);
    if (status != SF_EXIT_OK) {
        free(grid);
        return status;
    }
    int d = sf_mixture_dim(mix), K = sf_mixture_count(mix);
    if (in_path) {
        if ((status = read_start(in_path, d, &given, &n)) != SF_EXIT_OK) goto done;
    }
    if (class_text) {
        if (!(cls = malloc((size_t)K * sizeof(int)))) {
            status = cli_failure("out of memory");
            goto done;
        }
        if (!(smp.class_size = cli_index_list("--class", class_text, (size_t)K, cls, K, NULL))) {
            status = SF_EXIT_BAD_INPUT;
            goto done;
        }
        smp.class_components = cls;
    }
    /* validate everything (times, class, schedule) on zero particles before any file is opened */
    if ((st = sf_context_create(&ctx, backend, precision, cli_shard_device(0))) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    if ((st = sf_sample(ctx, mix, &ct.schedule, &smp, NULL, 0, 0, NULL, NULL, 0)) != SF_OK) {
        /* name the option behind the refusal where there is one */
        sfi_error_prefix(strstr(sf_last_error(), "class") ? "option --class" : "sample");
        status = cli_library_error(st);
        goto done;
    }
    sf_time start, end;
    /* occupations at the last time with sigma > 0 (the particles' own end, or the step before t = 0:
     * a component on a subspace has no density at sigma = 0) */
    double t_end = grid && grid[steps] == 0 && steps > 0 ? grid[steps - 1] : smp.t0;
    if ((st = sf_schedule_at(&ct.schedule, smp.t1, &start)) != SF_OK || (st = sf_schedule_at(&ct.schedule, t_end, &end)) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    size_t nb_max = batch < n ? batch : n, first, mine; /* this rank's particles: [first, first + mine) */
    cli_shard_range(n, &first, &mine);
    rec.every = (int)every, rec.steps = (int)steps, rec.d = d;
    rec.count = 1 + (int)(steps / every) + (steps % every ? 1 : 0);
    cli_progress_start(&rec.progress, "sample", (double)mine * steps);
    /* the files, checked against the free space before any work */
    size_t shape[3] = {n, (size_t)d, 0}, tshape[3] = {n, (size_t)rec.count, (size_t)d};
    uint64_t out_bytes = cli_npy_bytes("--out", 2, shape), traj_bytes = traj_path ? cli_npy_bytes("--trajectory", 3, tshape) : 1;
    if (!out_bytes || !traj_bytes) {
        status = SF_EXIT_BAD_INPUT;
        goto done;
    }
    size_t frame_count = (size_t)rec.count;
    if (traj_path) times_path(traj_path, frame_times_path, sizeof frame_times_path);
    if ((status = cli_outputs_add("--out", out_path, out_bytes)) != SF_EXIT_OK ||
        (traj_path && (status = cli_outputs_add("--trajectory", traj_path, traj_bytes)) != SF_EXIT_OK) ||
        (traj_path && (status = cli_outputs_add("--trajectory (frame times)", frame_times_path,
                                                 cli_npy_bytes("--trajectory", 1, &frame_count))) != SF_EXIT_OK) ||
        (status = cli_outputs_prepare()) != SF_EXIT_OK)
        goto done;
    double growth = subspace_distortion(mix, &ct.schedule, &smp);
    if (growth > 0 && !cli_quiet() && cli_rank() == 0)
        fprintf(stderr, "scorefield sample: warning: %s's last step grows sigma^2 by %.0f%% of sigma^2(t0 = %g): for data on a\n"
                        "  subspace the variance normal to it comes out distorted; use more steps, --spacing lambda, or ddim/dpm\n",
                sf_sampler_kind_name(kind), 100 * growth, smp.t0);
    size_t x_count = product3(nb_max, (size_t)d, 1), r_count = product3(nb_max, (size_t)K, 1);
    size_t f_count = traj_path ? product3(nb_max, (size_t)rec.count, (size_t)d) : 1;
    if (!x_count || !r_count || !f_count || f_count > SIZE_MAX / sizeof(double) || x_count > SIZE_MAX / sizeof(double) ||
        r_count > SIZE_MAX / sizeof(double)) {
        status = cli_bad_input("sample: a batch of %zu particles does not fit in memory (use a smaller --batch)", nb_max);
        goto done;
    }
    x = malloc(x_count * sizeof(double));
    resp = malloc(r_count * sizeof(double));
    occupation = calloc((size_t)K, sizeof(double));
    rec.times = calloc((size_t)rec.count, sizeof(double));
    if (traj_path) rec.frames = malloc(f_count * sizeof(double));
    if (!x || !resp || !occupation || !rec.times || (traj_path && !rec.frames)) {
        status = cli_failure("out of memory for a batch of %zu particles (use a smaller --batch)", nb_max);
        goto done;
    }
    if ((st = cli_open_rank_rows(&out, out_path, 2, shape)) != SF_OK ||
        (traj_path && (st = cli_open_rank_rows(&traj, traj_path, 3, tshape)) != SF_OK)) {
        status = cli_write_error(st);
        goto done;
    }
    double t_start = cli_seconds();
    for (size_t b0 = 0; b0 < mine; b0 += nb_max) {
        size_t nb = mine - b0 < nb_max ? mine - b0 : nb_max;
        rec.frame = 0, rec.nb = nb;
        sf_outputs o = {.resp = resp};
        if (in_path) memcpy(x, given.data + b0 * d, nb * (size_t)d * sizeof(double));
        if ((!in_path && (st = sf_sample_marginal(mix, &start, seed, first + b0, x, nb)) != SF_OK) ||
            (st = sf_sample(ctx, mix, &ct.schedule, &smp, x, nb, first + b0, record, &rec, 1)) != SF_OK) {
            status = cli_library_error(st);
            goto done;
        }
        if ((status = check_batch(x, nb, d, first + b0)) != SF_EXIT_OK) goto done;
        if ((st = sf_npy_writer_append(out, x, nb * d)) != SF_OK ||
            (traj && (st = sf_npy_writer_append(traj, rec.frames, nb * rec.count * d)) != SF_OK)) {
            status = cli_write_error(st);
            goto done;
        }
        if ((st = sf_evaluate(ctx, mix, &end, x, nb, &o)) != SF_OK) {
            status = cli_library_error(st);
            goto done;
        }
        for (size_t p = 0; p < nb; p++) { /* occupation: the most responsible component at t0 */
            int best = 0;
            for (int k = 1; k < K; k++)
                if (resp[p * K + k] > resp[p * K + best]) best = k;
            occupation[best] += 1;
        }
    }
    double elapsed = cli_seconds() - t_start;
    st = sf_npy_writer_close(out, 1);
    out = NULL;
    sf_status closed = sf_npy_writer_close(traj, st == SF_OK);
    traj = NULL;
    if (st == SF_OK && closed != SF_OK) st = closed;
    if (st == SF_OK && traj_path) st = sf_npy_write(frame_times_path, rec.times, 1, &frame_count, SF_DTYPE_F64);
    if (st != SF_OK) {
        status = cli_write_error(st);
        goto done;
    }
    if ((status = cli_outputs_commit()) != SF_EXIT_OK) goto done; /* every file or none */
    if ((status = cli_shard_sum(SF_EXIT_OK, occupation, K)) != SF_EXIT_OK || (status = cli_shard_max(status, &elapsed, 1)) != SF_EXIT_OK)
        goto done;
    printf("scorefield sample: %zu particles, d = %d, K = %d, %s sampler, %s schedule\n", n, d, K,
           sf_sampler_kind_name(kind), sf_schedule_kind_name(ct.schedule.kind));
    cli_shard_print_ranks(n, "particles");
    printf("  start      %s\n", in_path ? in_path : "exact draws of p_t1");
    printf("  time       t = %g -> %g in %zu steps %s", smp.t1, smp.t0, steps,
           smp.spacing == SF_SPACING_T ? "uniform in t" : smp.spacing == SF_SPACING_LAMBDA ? "uniform in log-SNR"
           : smp.spacing == SF_SPACING_KARRAS ? "Karras-spaced in sigma/alpha" : "given by");
    if (smp.spacing == SF_SPACING_KARRAS) printf(" (rho = %g)", smp.rho);
    if (smp.to_zero) printf(", the last to t = 0");
    if (times_file) printf(" %s", times_file);
    if (kind == SF_SAMPLER_EM) printf(", h = %g", smp.h);
    if (kind == SF_SAMPLER_DDIM) printf(", eta = %g", smp.eta);
    if (kind == SF_SAMPLER_EDM_HEUN)
        printf(", churn %g on sigma/alpha in [%g, %g], s_noise %g", smp.churn, smp.s_tmin, smp.s_tmax, smp.s_noise);
    if (kind == SF_SAMPLER_UNIPC) printf(", order %d", smp.order);
    printf("\n  speed      %.3g s, %.3g particle-steps/s (%s)\n", elapsed, n * (double)steps / fmax(elapsed, 1e-9),
           sf_backend_name(sf_context_backend(ctx)));
    if (cls) printf("  guidance   toward components %s with weight w = %g\n", class_text, guidance);
    print_occupation(mix, occupation, n, cls, smp.class_size, guidance);
    printf("  wrote      %s (%zu x %d)", out_path, n, d);
    if (traj_path) printf(", %s (%zu x %d frames x %d), %s (frame times %g ... %g)", traj_path, n, rec.count, d,
                          frame_times_path, rec.times[0], rec.times[rec.count - 1]);
    printf("\n");
done:
    sf_npy_writer_close(out, 0);
    sf_npy_writer_close(traj, 0);
    free(x), free(resp), free(occupation), free(rec.times), free(rec.frames), free(cls), free(grid);
    sf_array_free(&given);
    sf_context_destroy(ctx);
    sf_mixture_destroy(mix);
    return status;
}
