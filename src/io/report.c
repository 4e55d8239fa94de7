/* CSV tables and SVG line plots for the analyses (see report.h). */
#include "report.h"
#include "staging.h"
#include "status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sf_status sf_csv_write(const char *path, int cols, const char *const *names, const double *const *data, size_t rows)
{
    sf_staged *staged; /* an exclusive temporary file, renamed at the commit (staging.h) */
    FILE *f;
    sf_status opened = sf_staged_open(&staged, path, &f);
    if (opened != SF_OK) return opened;
    for (int c = 0; c < cols; c++) fprintf(f, "%s%s", c ? "," : "", names[c]);
    fputc('\n', f);
    for (size_t r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) fprintf(f, "%s%.10g", c ? "," : "", data[c][r]);
        fputc('\n', f);
    }
    return sf_staged_close(staged, 1);
}

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};

/* Maps data to the plot box (log axes when asked). */
typedef struct {
    double x0, x1, y0, y1; /* data range (log10 when log) */
    int logx, logy;
    double left, top, width, height;
} frame;

static double fx(const frame *f, double x) { return f->left + f->width * ((f->logx ? log10(x) : x) - f->x0) / (f->x1 - f->x0); }
static double fy(const frame *f, double y) { return f->top + f->height * (1 - ((f->logy ? log10(y) : y) - f->y0) / (f->y1 - f->y0)); }

static int usable(double v, int log_axis) { return isfinite(v) && (!log_axis || v > 0); }

/* Round tick spacing: 1, 2 or 5 times a power of ten, about 6 ticks over the range. */
static double tick_step(double span)
{
    double raw = span / 6, p = pow(10, floor(log10(raw))), m = raw / p;
    return p * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
}

sf_status sf_plot_svg(const char *path, const sf_plot *plot, const sf_series *series, int nseries)
{
    frame fr = {INFINITY, -INFINITY, INFINITY, -INFINITY, plot->logx, plot->logy, 70, 40, 520, 330};
    for (int s = 0; s < nseries; s++)
        for (size_t i = 0; i < series[s].n; i++) {
            double x = series[s].x[i], y = series[s].y[i];
            if (!usable(x, fr.logx) || !usable(y, fr.logy)) continue;
            x = fr.logx ? log10(x) : x, y = fr.logy ? log10(y) : y;
            fr.x0 = fmin(fr.x0, x), fr.x1 = fmax(fr.x1, x), fr.y0 = fmin(fr.y0, y), fr.y1 = fmax(fr.y1, y);
        }
    if (!(fr.x1 >= fr.x0)) fr.x0 = 0, fr.x1 = 1;
    if (!(fr.y1 >= fr.y0)) fr.y0 = 0, fr.y1 = 1;
    if (fr.x1 == fr.x0) fr.x0 -= 0.5, fr.x1 += 0.5;
    if (fr.y1 == fr.y0) fr.y0 -= 0.5, fr.y1 += 0.5;
    double pad = 0.05 * (fr.y1 - fr.y0);
    fr.y0 -= pad, fr.y1 += pad;
    sf_staged *staged; /* an exclusive temporary file, renamed at the commit (staging.h) */
    FILE *f;
    sf_status opened = sf_staged_open(&staged, path, &f);
    if (opened != SF_OK) return opened;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"430\" font-family=\"sans-serif\" font-size=\"12\">\n");
    fprintf(f, "<rect width=\"640\" height=\"430\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"320\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">%s</text>\n", plot->title ? plot->title : "");
    fprintf(f, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#444\"/>\n", fr.left, fr.top, fr.width, fr.height);
    /* ticks: linear steps, or decades on log axes */
    for (int axis = 0; axis < 2; axis++) {
        double lo = axis ? fr.y0 : fr.x0, hi = axis ? fr.y1 : fr.x1;
        int is_log = axis ? fr.logy : fr.logx;
        double step = is_log ? fmax(1, round(tick_step(hi - lo))) : tick_step(hi - lo);
        for (double v = ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) {
            double value = is_log ? pow(10, v) : v;
            if (fabs(value) < 1e-12 * step) value = 0;
            if (axis == 0) {
                double px = fx(&fr, is_log ? value : v);
                fprintf(f, "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" stroke=\"#ddd\"/>\n", px, fr.top, px, fr.top + fr.height);
                fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%g</text>\n", px, fr.top + fr.height + 16, value);
            } else {
                double py = fy(&fr, is_log ? value : v);
                fprintf(f, "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", fr.left, py, fr.left + fr.width, py);
                fprintf(f, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", fr.left - 6, py + 4, value);
            }
        }
    }
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%s</text>\n", fr.left + fr.width / 2, fr.top + fr.height + 36,
            plot->xlabel ? plot->xlabel : "");
    fprintf(f, "<text x=\"16\" y=\"%g\" text-anchor=\"middle\" transform=\"rotate(-90 16 %g)\">%s</text>\n",
            fr.top + fr.height / 2, fr.top + fr.height / 2, plot->ylabel ? plot->ylabel : "");
    for (int m = 0; m < plot->nmarks; m++) {
        if (!usable(plot->marks[m], fr.logx)) continue;
        double px = fx(&fr, plot->marks[m]);
        if (px < fr.left || px > fr.left + fr.width) continue;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" stroke=\"#000\" stroke-dasharray=\"2,3\"/>\n", px, fr.top, px,
                fr.top + fr.height);
        fprintf(f, "<text x=\"%.1f\" y=\"%g\" font-size=\"11\">%s</text>\n", px + 3, fr.top + fr.height - 6 - 13 * m,
                plot->mark_labels[m] ? plot->mark_labels[m] : "");
    }
    fprintf(f, "<clipPath id=\"box\"><rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\"/></clipPath>\n", fr.left, fr.top, fr.width, fr.height);
    for (int s = 0; s < nseries; s++) {
        const sf_series *se = &series[s];
        const char *color = se->color ? se->color : palette[s % 8];
        if (se->points) {
            fprintf(f, "<g clip-path=\"url(#box)\" fill=\"%s\" fill-opacity=\"0.5\">\n", color);
            for (size_t i = 0; i < se->n; i++)
                if (usable(se->x[i], fr.logx) && usable(se->y[i], fr.logy))
                    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.6\"/>\n", fx(&fr, se->x[i]), fy(&fr, se->y[i]));
            fprintf(f, "</g>\n");
        } else {
            fprintf(f, "<polyline clip-path=\"url(#box)\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s points=\"", color,
                    se->dashed ? " stroke-dasharray=\"6,4\"" : "");
            for (size_t i = 0; i < se->n; i++)
                if (usable(se->x[i], fr.logx) && usable(se->y[i], fr.logy))
                    fprintf(f, "%.1f,%.1f ", fx(&fr, se->x[i]), fy(&fr, se->y[i]));
            fprintf(f, "\"/>\n");
        }
        if (se->label) {
            double ly = fr.top + 14 + 16 * s;
            fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"%s\" stroke-width=\"2\"%s/>\n", fr.left + fr.width - 150,
                    ly - 4, fr.left + fr.width - 128, ly - 4, color, se->dashed ? " stroke-dasharray=\"6,4\"" : "");
            fprintf(f, "<text x=\"%g\" y=\"%g\">%s</text>\n", fr.left + fr.width - 124, ly, se->label);
        }
    }
    fprintf(f, "</svg>\n");
    return sf_staged_close(staged, 1);
}

sf_status sf_write_profiles(const char *dir, const char *stem, const char *title, const char *xlabel,
                            const char *ylabel, const double *x, const double *const *y, const double *factors,
                            int count, size_t n)
{
    enum { MAX = 8 };
    if (count > MAX) return sf_fail(SF_ERR_INVALID, "at most %d profiles", MAX);
    char path[4096], labels[MAX][48];
    const char *names[MAX + 1] = {xlabel};
    const double *cols[MAX + 1] = {x};
    sf_series series[MAX];
    for (int k = 0; k < count; k++) {
        snprintf(labels[k], sizeof labels[k], "tau = %.3g tau_c", factors[k]);
        names[k + 1] = labels[k], cols[k + 1] = y[k];
        series[k] = (sf_series){x, y[k], n, labels[k], NULL, 0, 0};
    }
    snprintf(path, sizeof path, "%s/%s.csv", dir, stem);
    sf_status st = sf_csv_write(path, count + 1, names, cols, n);
    if (st != SF_OK) return st;
    sf_plot plot = {title, xlabel, ylabel, 0, 0, 0, {0}, {0}};
    snprintf(path, sizeof path, "%s/%s.svg", dir, stem);
    return sf_plot_svg(path, &plot, series, count);
}
