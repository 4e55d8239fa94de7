/* CSV tables and SVG line plots for the analyses (see report.h). */
#include "report.h"
#include "staging.h"
#include "status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sf_status sfi_csv_write_labelled(const char *path, const char *label_name, const char *const *labels, int cols,
                               const char *const *names, const double *const *data, size_t rows)
{
    sf_staged *staged; /* an exclusive temporary file, renamed at the commit (staging.h) */
    FILE *f;
    sf_status opened = sfi_staged_open(&staged, path, &f);
    if (opened != SF_OK) return opened;
    if (labels) fprintf(f, "%s%s", label_name, cols ? "," : "");
    for (int c = 0; c < cols; c++) fprintf(f, "%s%s", c ? "," : "", names[c]);
    fputc('\n', f);
    for (size_t r = 0; r < rows; r++) {
        if (labels) fprintf(f, "%s%s", labels[r], cols ? "," : "");
        for (int c = 0; c < cols; c++) fprintf(f, "%s%.10g", c ? "," : "", data[c][r]);
        fputc('\n', f);
    }
    return sfi_staged_close(staged, 1);
}

sf_status sfi_csv_write(const char *path, int cols, const char *const *names, const double *const *data, size_t rows)
{
    return sfi_csv_write_labelled(path, NULL, NULL, cols, names, data, rows);
}

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};

/* One axis: linear, log10, or symmetric log sign(v) log10(1 + |v|/c); lo, hi in transformed units. */
typedef struct {
    int kind; /* 0 linear, 1 log, 2 symmetric log */
    double c, lo, hi;
} axis;

static int usable(const axis *a, double v) { return isfinite(v) && (a->kind != 1 || v > 0); }
static double transform(const axis *a, double v)
{
    if (a->kind == 1) return log10(v);
    if (a->kind == 2) return (v < 0 ? -1 : 1) * log10(1 + fabs(v) / a->c);
    return v;
}
static void widen(axis *a, double v)
{
    if (!usable(a, v)) return;
    double t = transform(a, v);
    a->lo = fmin(a->lo, t), a->hi = fmax(a->hi, t);
}

/* The plot box in pixels and the two axes. */
typedef struct {
    axis x, y;
    double left, top, width, height;
} frame;

static double fx(const frame *f, double x) { return f->left + f->width * (transform(&f->x, x) - f->x.lo) / (f->x.hi - f->x.lo); }
static double fy(const frame *f, double y) { return f->top + f->height * (1 - (transform(&f->y, y) - f->y.lo) / (f->y.hi - f->y.lo)); }

/* Round tick spacing: 1, 2 or 5 times a power of ten, about 6 ticks over the range. */
static double tick_step(double span)
{
    double raw = span / 6, p = pow(10, floor(log10(raw))), m = raw / p;
    return p * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
}

/* Approximate width in pixels of text at font size 12 (for keeping labels inside the image). */
static double text_width(const char *text) { return 6.6 * (double)strlen(text ? text : ""); }

static void finish_range(axis *a)
{
    if (!(a->hi >= a->lo)) a->lo = 0, a->hi = 1;
    if (a->hi == a->lo) a->lo -= 0.5, a->hi += 0.5;
}

/* Tick values of an axis (at most 64): round steps, decades, or 0 and +-10^k for symmetric log. */
static int ticks(const axis *a, double *values)
{
    int count = 0;
    if (a->kind == 0) {
        double step = tick_step(a->hi - a->lo);
        for (double v = ceil(a->lo / step) * step; v <= a->hi + 1e-9 * step && count < 64; v += step)
            values[count++] = fabs(v) < 1e-12 * step ? 0 : v;
    } else if (a->kind == 1) {
        double step = fmax(1, round(tick_step(a->hi - a->lo)));
        for (double v = ceil(a->lo / step) * step; v <= a->hi + 1e-9 && count < 64; v += step) values[count++] = pow(10, v);
    } else {
        if (a->lo <= 0 && a->hi >= 0) values[count++] = 0;
        double span = fmax(fabs(a->lo), fabs(a->hi)), top = a->c * (pow(10, span) - 1);
        int k0 = (int)floor(log10(a->c)), k1 = (int)ceil(log10(top > 0 ? top : 1)), every = (k1 - k0) / 5 + 1;
        for (int k = k0; k <= k1 && count < 62; k += every)
            for (int sign = -1; sign <= 1; sign += 2) {
                double v = sign * pow(10, k), t = transform(a, v);
                if (t >= a->lo && t <= a->hi) values[count++] = v;
            }
    }
    return count;
}

static void draw_series(FILE *f, const frame *fr, const sf_series *se, const char *color)
{
    if (se->err) { /* error bars first, under the curve */
        fprintf(f, "<g clip-path=\"url(#box)\" stroke=\"%s\" stroke-opacity=\"0.6\">\n", color);
        for (size_t i = 0; i < se->n; i++) {
            double lo = se->y[i] - se->err[i], hi = se->y[i] + se->err[i];
            if (!usable(&fr->x, se->x[i]) || !usable(&fr->y, hi)) continue;
            double ylo = usable(&fr->y, lo) ? fy(fr, lo) : fr->top + fr->height, px = fx(fr, se->x[i]);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", px, ylo, px, fy(fr, hi));
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", px - 3, ylo, px + 3, ylo);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", px - 3, fy(fr, hi), px + 3, fy(fr, hi));
        }
        fprintf(f, "</g>\n");
    }
    if (se->points) {
        fprintf(f, "<g clip-path=\"url(#box)\" fill=\"%s\" fill-opacity=\"0.5\">\n", color);
        for (size_t i = 0; i < se->n; i++)
            if (usable(&fr->x, se->x[i]) && usable(&fr->y, se->y[i]))
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\"/>\n", fx(fr, se->x[i]), fy(fr, se->y[i]));
        fprintf(f, "</g>\n");
        return;
    }
    fprintf(f, "<polyline clip-path=\"url(#box)\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s points=\"", color,
            se->dashed ? " stroke-dasharray=\"6,4\"" : "");
    for (size_t i = 0; i < se->n; i++)
        if (usable(&fr->x, se->x[i]) && usable(&fr->y, se->y[i])) fprintf(f, "%.1f,%.1f ", fx(fr, se->x[i]), fy(fr, se->y[i]));
    fprintf(f, "\"/>\n");
}

sf_status sfi_plot_svg(const char *path, const sf_plot *plot, const sf_series *series, int nseries)
{
    frame fr = {{plot->logx ? 1 : 0, 0, INFINITY, -INFINITY},
                {plot->symlog_y > 0 ? 2 : plot->logy ? 1 : 0, plot->symlog_y, INFINITY, -INFINITY},
                78, 40, 520, 330};
    double legend = 0; /* the legend column's width: the longest label plus its swatch */
    for (int s = 0; s < nseries; s++) {
        for (size_t i = 0; i < series[s].n; i++) {
            if (!usable(&fr.x, series[s].x[i]) || !usable(&fr.y, series[s].y[i])) continue;
            widen(&fr.x, series[s].x[i]), widen(&fr.y, series[s].y[i]);
            if (series[s].err) widen(&fr.y, series[s].y[i] - series[s].err[i]), widen(&fr.y, series[s].y[i] + series[s].err[i]);
        }
        if (series[s].label) legend = fmax(legend, 40 + text_width(series[s].label));
    }
    finish_range(&fr.x), finish_range(&fr.y);
    double pad = 0.05 * (fr.y.hi - fr.y.lo);
    fr.y.lo -= pad, fr.y.hi += pad;
    double width = fr.left + fr.width + (legend > 0 ? legend + 16 : 24);
    width = fmax(width, text_width(plot->title) * 14 / 12 + 40);
    sf_staged *staged; /* an exclusive temporary file, renamed at the commit (staging.h) */
    FILE *f;
    sf_status opened = sfi_staged_open(&staged, path, &f);
    if (opened != SF_OK) return opened;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"430\" font-family=\"sans-serif\" font-size=\"12\">\n", width);
    fprintf(f, "<rect width=\"%.0f\" height=\"430\" fill=\"white\"/>\n", width);
    fprintf(f, "<text x=\"%.0f\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">%s</text>\n", width / 2, plot->title ? plot->title : "");
    fprintf(f, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#444\"/>\n", fr.left, fr.top, fr.width, fr.height);
    double values[64];
    int count = ticks(&fr.x, values);
    for (int k = 0; k < count; k++) {
        double px = fx(&fr, values[k]);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" stroke=\"#ddd\"/>\n", px, fr.top, px, fr.top + fr.height);
        fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%g</text>\n", px, fr.top + fr.height + 16, values[k]);
    }
    count = ticks(&fr.y, values);
    for (int k = 0; k < count; k++) {
        double py = fy(&fr, values[k]);
        fprintf(f, "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", fr.left, py, fr.left + fr.width, py);
        fprintf(f, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", fr.left - 6, py + 4, values[k]);
    }
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%s</text>\n", fr.left + fr.width / 2, fr.top + fr.height + 36,
            plot->xlabel ? plot->xlabel : "");
    fprintf(f, "<text x=\"14\" y=\"%g\" text-anchor=\"middle\" transform=\"rotate(-90 14 %g)\">%s</text>\n",
            fr.top + fr.height / 2, fr.top + fr.height / 2, plot->ylabel ? plot->ylabel : "");
    fprintf(f, "<clipPath id=\"box\"><rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\"/></clipPath>\n", fr.left, fr.top, fr.width, fr.height);
    for (int m = 0; m < plot->nmarks; m++) {
        if (!usable(&fr.x, plot->marks[m])) continue;
        double px = fx(&fr, plot->marks[m]);
        if (px < fr.left || px > fr.left + fr.width) continue;
        const char *label = plot->mark_labels[m] ? plot->mark_labels[m] : "";
        int flip = px + 3 + text_width(label) > fr.left + fr.width; /* keep the label inside the box */
        fprintf(f, "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" stroke=\"#000\" stroke-dasharray=\"2,3\"/>\n", px, fr.top, px,
                fr.top + fr.height);
        fprintf(f, "<text x=\"%.1f\" y=\"%g\" font-size=\"11\" text-anchor=\"%s\">%s</text>\n", flip ? px - 3 : px + 3,
                fr.top + 14 + 13 * m, flip ? "end" : "start", label);
    }
    int entry = 0;
    for (int s = 0; s < nseries; s++) {
        const sf_series *se = &series[s];
        const char *color = se->color ? se->color : palette[s % 8];
        draw_series(f, &fr, se, color);
        if (!se->label) continue;
        double lx = fr.left + fr.width + 12, ly = fr.top + 10 + 18 * entry++;
        if (se->points)
            fprintf(f, "<circle cx=\"%g\" cy=\"%g\" r=\"3\" fill=\"%s\"/>\n", lx + 11, ly - 4, color);
        else
            fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"%s\" stroke-width=\"2\"%s/>\n", lx, ly - 4, lx + 24,
                    ly - 4, color, se->dashed ? " stroke-dasharray=\"6,4\"" : "");
        fprintf(f, "<text x=\"%g\" y=\"%g\">%s</text>\n", lx + 30, ly, se->label);
    }
    fprintf(f, "</svg>\n");
    return sfi_staged_close(staged, 1);
}

sf_status sfi_write_profiles(const char *dir, const char *stem, const char *title, const char *xlabel,
                            const char *ylabel, const double *x, const double *const *y, const double *factors,
                            const char *reference, int count, size_t n)
{
    enum { MAX = 8 };
    if (count > MAX) return sfi_fail(SF_ERR_INVALID, "at most %d profiles", MAX);
    char path[4096], labels[MAX][48];
    const char *names[MAX + 1] = {xlabel};
    const double *cols[MAX + 1] = {x};
    sf_series series[MAX];
    for (int k = 0; k < count; k++) {
        snprintf(labels[k], sizeof labels[k], "tau = %.3g %s", factors[k], reference);
        names[k + 1] = labels[k], cols[k + 1] = y[k];
        series[k] = (sf_series){.x = x, .y = y[k], .n = n, .label = labels[k]};
    }
    snprintf(path, sizeof path, "%s/%s.csv", dir, stem);
    sf_status st = sfi_csv_write(path, count + 1, names, cols, n);
    if (st != SF_OK) return st;
    sf_plot plot = {.title = title, .xlabel = xlabel, .ylabel = ylabel};
    snprintf(path, sizeof path, "%s/%s.svg", dir, stem);
    return sfi_plot_svg(path, &plot, series, count);
}
