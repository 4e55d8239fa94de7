/* scorefield sample: generate particles with the exact (optionally guided) score from exact draws
 * of p_{t1} down to t0, in batches streamed to the output file; trajectories on request. */
#include "cli_io.h"
#include "commands.h"
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
    "usage: scorefield sample --mixture M.json --schedule S --sampler KIND --n N --out X.npy [options]\n"
    "Draws N particles exactly from the mixture diffused to t1 and integrates them down to t0 with\n"
    "the exact score. KIND: em (Euler-Maruyama for dx = [f x - (1+h^2) g^2 s/2] dt + h g dW; h = 1 the\n"
    "reverse SDE, h = 0 the probability-flow ODE), ode-euler, heun, ddpm, ddim, dpm1, dpm2, dpm3.\n"
    "options (counts are decimal digits: N 1 to 1e12, K and J 1 to 1e7, B 1 to 1e8, SEED 0 to 2^64-1):\n"
    "  --schedule ve|vp-linear|vp-cosine|ou   (and --sigma-min, --sigma-max, --beta-min, --beta-max, --cosine-s)\n"
    "  --steps K (100)  --spacing t|lambda (t)  --t1 T1 (1; vp-cosine 0.995)  --t0 T0 (0.001)\n"
    "  --h H (1, em)  --eta E (0, ddim)  --seed SEED (0): Philox noise keyed by (seed, particle, step, dim)\n"
    "  --class K1,K2,... --guidance W   guide toward the components listed: s~ = s + (1 + W)(s_c - s)\n"
    "                                   (W = 0: conditional sampling; classifier and classifier-free\n"
    "                                   guidance coincide for exact scores)\n"
    "  --trajectory T.npy --every J    particles every J steps (and at both ends), shape (N, frames, d)\n"
    "  --batch B (262144)  particles per batch; batches are streamed to the files\n"
    "  --backend cpu|cuda|auto  --precision f64|f32  --quiet (nothing but errors, no progress)\n"
    "The outputs must fit in the free space of their file system (checked before sampling); both are\n"
    "written completely or not at all.\n";

typedef struct {
    double *frames;     /* [nb x F x d] for the current batch, or NULL */
    int frame, count, every, steps, d;
    size_t nb;
    double *times;      /* [F] */
    double done, total; /* particle-steps, for progress */
    int tenth, progress;
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
    int tenth = (int)(10 * r->done / r->total);
    if (r->progress && tenth > r->tenth) {
        r->tenth = tenth;
        fprintf(stderr, "scorefield sample: %d%%\n", 10 * tenth);
    }
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

int cmd_sample(int argc, char **argv)
{
    const char *mixture_path = NULL, *out_path = NULL, *traj_path = NULL, *sampler_name = NULL, *class_text = NULL;
    size_t n = 0, steps = 100, every = 10, batch = 262144, seed = 0;
    int have_every = 0;
    double t1 = NAN, t0 = 1e-3, h = 1.0, eta = 0.0, guidance = 0.0;
    const char *spacing = "t";
    sf_backend backend = SF_BACKEND_AUTO;
    sf_precision precision = SF_PRECISION_F64;
    cli_once once = {0};
    cli_time ct;
    cli_time_init(&ct);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) {
            fputs(sample_help, stdout);
            return SF_EXIT_OK;
        }
        if (!cli_first_use(&once, a)) return SF_EXIT_BAD_INPUT;
        if (!strcmp(a, "--t") || !strcmp(a, "--alpha") || !strcmp(a, "--sigma"))
            return cli_bad_input("sample: %s does not apply: the sampler runs from --t1 to --t0", a);
        int t = cli_time_option(&ct, argc, argv, &i);
        if (t < 0) return SF_EXIT_BAD_INPUT;
        if (t > 0) continue;
        size_t *count = !strcmp(a, "--n") ? &n : !strcmp(a, "--steps") ? &steps : !strcmp(a, "--every") ? &every
                      : !strcmp(a, "--batch") ? &batch : !strcmp(a, "--seed") ? &seed : NULL;
        size_t max = count == &n ? (size_t)SAMPLE_N_MAX : count == &batch ? (size_t)SAMPLE_BATCH_MAX
                   : count == &seed ? SIZE_MAX : (size_t)SAMPLE_STEPS_MAX;
        double *num = !strcmp(a, "--t1") ? &t1 : !strcmp(a, "--t0") ? &t0 : !strcmp(a, "--h") ? &h : !strcmp(a, "--eta") ? &eta
                    : !strcmp(a, "--guidance") ? &guidance : NULL;
        const char **text = !strcmp(a, "--mixture") ? &mixture_path : !strcmp(a, "--out") ? &out_path
                          : !strcmp(a, "--trajectory") ? &traj_path : !strcmp(a, "--sampler") ? &sampler_name
                          : !strcmp(a, "--class") ? &class_text : !strcmp(a, "--spacing") ? &spacing : NULL;
        if (count) { if (!(v = cli_value(argc, argv, &i)) || !cli_count(a, v, max, count)) return SF_EXIT_BAD_INPUT; have_every |= count == &every; }
        else if (num) { if (!(v = cli_value(argc, argv, &i)) || !cli_double(a, v, num)) return SF_EXIT_BAD_INPUT; }
        else if (text) { if (!(*text = cli_value(argc, argv, &i))) return SF_EXIT_BAD_INPUT; }
        else if (!strcmp(a, "--quiet")) cli_set_quiet();
        else if (!strcmp(a, "--backend")) { if (!(v = cli_value(argc, argv, &i)) || !cli_backend(v, &backend)) return SF_EXIT_BAD_INPUT; }
        else if (!strcmp(a, "--precision")) { if (!(v = cli_value(argc, argv, &i)) || !cli_precision(v, &precision)) return SF_EXIT_BAD_INPUT; }
        else return cli_bad_input("sample: unknown option '%s' (see scorefield sample --help)", a);
    }
    if (!mixture_path || !out_path || !sampler_name || !ct.have_schedule)
        return cli_bad_input("sample: --mixture, --schedule, --sampler, --n and --out are required");
    if (!n) return cli_bad_input("option --n: give at least 1 particle");
    sf_sampler smp;
    sf_sampler_kind kind;
    if (sf_sampler_kind_parse(sampler_name, &kind) != SF_OK) return cli_bad_input("option --sampler: %s", sf_last_error());
    if (!class_text && guidance != 0) return cli_bad_input("option --guidance needs --class (the components to guide toward)");
    if (have_every && !traj_path) return cli_bad_input("option --every needs --trajectory (the file the frames go to)");
    if (!(eta >= 0 && eta <= 1)) return cli_bad_input("option --eta: %g must be in [0, 1]", eta);
    if (!(h >= 0)) return cli_bad_input("option --h: %g must be >= 0", h);
    smp = sf_sampler_default(kind);
    if (strcmp(spacing, "t") && strcmp(spacing, "lambda")) return cli_bad_input("option --spacing: '%s' is not t or lambda", spacing);
    if (!every || !batch || !steps) return cli_bad_input("sample: --steps, --every and --batch must be >= 1");
    smp.steps = (int)steps, smp.spacing = strcmp(spacing, "t") ? SF_SPACING_LAMBDA : SF_SPACING_T;
    smp.t1 = isnan(t1) ? (ct.schedule.kind == SF_SCHEDULE_VP_COSINE ? 0.995 : 1.0) : t1, smp.t0 = t0;
    if (kind == SF_SAMPLER_EM) smp.h = h;
    if (kind == SF_SAMPLER_DDIM) smp.eta = eta;
    smp.seed = seed, smp.guidance = guidance;

    sf_mixture *mix = NULL;
    sf_context *ctx = NULL;
    sf_npy_writer *out = NULL, *traj = NULL;
    double *x = NULL, *resp = NULL, *occupation = NULL;
    int *cls = NULL, status = cli_outputs_add_input("--mixture", mixture_path);
    recorder rec = {0};
    if (status != SF_EXIT_OK) return status;
    sf_status st = sf_mixture_read_json(&mix, mixture_path);
    if (st != SF_OK) return cli_library_error(st);
    int d = sf_mixture_dim(mix), K = sf_mixture_count(mix);
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
    if ((st = sf_context_create(&ctx, backend, precision, 0)) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    if ((st = sf_sample(ctx, mix, &ct.schedule, &smp, NULL, 0, 0, NULL, NULL, 0)) != SF_OK) {
        /* name the option behind the refusal where there is one */
        sf_error_prefix(strstr(sf_last_error(), "class") ? "option --class" : "sample");
        status = cli_library_error(st);
        goto done;
    }
    sf_time start, end;
    if ((st = sf_schedule_at(&ct.schedule, smp.t1, &start)) != SF_OK || (st = sf_schedule_at(&ct.schedule, smp.t0, &end)) != SF_OK) {
        status = cli_library_error(st);
        goto done;
    }
    size_t nb_max = batch < n ? batch : n;
    rec.every = (int)every, rec.steps = (int)steps, rec.d = d;
    rec.count = 1 + (int)(steps / every) + (steps % every ? 1 : 0);
    rec.total = (double)n * steps, rec.progress = rec.total >= 2e6 && !cli_quiet();
    /* the files, checked against the free space before any work */
    size_t shape[3] = {n, (size_t)d, 0}, tshape[3] = {n, (size_t)rec.count, (size_t)d};
    uint64_t out_bytes = cli_npy_bytes("--out", 2, shape), traj_bytes = traj_path ? cli_npy_bytes("--trajectory", 3, tshape) : 1;
    if (!out_bytes || !traj_bytes) {
        status = SF_EXIT_BAD_INPUT;
        goto done;
    }
    if ((status = cli_outputs_add("--out", out_path, out_bytes)) != SF_EXIT_OK ||
        (traj_path && (status = cli_outputs_add("--trajectory", traj_path, traj_bytes)) != SF_EXIT_OK) ||
        (status = cli_outputs_prepare()) != SF_EXIT_OK)
        goto done;
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
    rec.times = malloc((size_t)rec.count * sizeof(double));
    if (traj_path) rec.frames = malloc(f_count * sizeof(double));
    if (!x || !resp || !occupation || !rec.times || (traj_path && !rec.frames)) {
        status = cli_failure("out of memory for a batch of %zu particles (use a smaller --batch)", nb_max);
        goto done;
    }
    if ((st = sf_npy_writer_open(&out, out_path, 2, shape, SF_DTYPE_F64)) != SF_OK ||
        (traj_path && (st = sf_npy_writer_open(&traj, traj_path, 3, tshape, SF_DTYPE_F64)) != SF_OK)) {
        status = cli_write_error(st);
        goto done;
    }
    double t_start = cli_seconds();
    for (size_t b0 = 0; b0 < n; b0 += nb_max) {
        size_t nb = n - b0 < nb_max ? n - b0 : nb_max;
        rec.frame = 0, rec.nb = nb;
        sf_outputs o = {.resp = resp};
        if ((st = sf_sample_marginal(mix, &start, seed, b0, x, nb)) != SF_OK ||
            (st = sf_sample(ctx, mix, &ct.schedule, &smp, x, nb, b0, record, &rec, 1)) != SF_OK) {
            status = cli_library_error(st);
            goto done;
        }
        if ((status = check_batch(x, nb, d, b0)) != SF_EXIT_OK) goto done;
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
    if (st != SF_OK) {
        status = cli_write_error(st);
        goto done;
    }
    if ((status = cli_outputs_commit()) != SF_EXIT_OK) goto done; /* both files or neither */
    printf("scorefield sample: %zu particles, d = %d, K = %d, %s sampler, %s schedule\n", n, d, K,
           sf_sampler_kind_name(kind), sf_schedule_kind_name(ct.schedule.kind));
    printf("  time       t = %g -> %g in %zu steps uniform in %s", smp.t1, smp.t0, steps,
           smp.spacing == SF_SPACING_T ? "t" : "log-SNR");
    if (kind == SF_SAMPLER_EM) printf(", h = %g", smp.h);
    if (kind == SF_SAMPLER_DDIM) printf(", eta = %g", smp.eta);
    printf("\n  speed      %.3g s, %.3g particle-steps/s (%s)\n", elapsed, n * (double)steps / fmax(elapsed, 1e-9),
           sf_context_backend(ctx) == SF_BACKEND_CUDA ? "cuda" : "cpu");
    if (cls) printf("  guidance   toward components %s with weight w = %g\n", class_text, guidance);
    printf("  occupation (most responsible component at t0) vs weight:\n");
    for (int k = 0; k < K && k < 12; k++)
        printf("    component %-3d %.4f  (weight %.4f)\n", k, occupation[k] / n, sf_mixture_weight(mix, k));
    printf("  wrote      %s (%zu x %d)", out_path, n, d);
    if (traj_path) printf(", %s (%zu x %d frames x %d; frame times %g ... %g)", traj_path, n, rec.count, d,
                          rec.times[0], rec.times[rec.count - 1]);
    printf("\n");
done:
    sf_npy_writer_close(out, 0);
    sf_npy_writer_close(traj, 0);
    free(x), free(resp), free(occupation), free(rec.times), free(rec.frames), free(cls);
    sf_context_destroy(ctx);
    sf_mixture_destroy(mix);
    return status;
}
