/* Internal: the analyses' outputs — CSV tables and SVG line plots written directly (no plotting
 * dependency), each atomically (a temporary name, then renamed). */
#ifndef SF_REPORT_H
#define SF_REPORT_H

#include "scorefield.h"

/* A table of `cols` named columns of `rows` values each (column-major: data[c][r]). */
sf_status sfi_csv_write(const char *path, int cols, const char *const *names, const double *const *data, size_t rows);
/* The same with a first text column `label_name` holding labels[r] (plain words: no commas) in row r. */
sf_status sfi_csv_write_labelled(const char *path, const char *label_name, const char *const *labels, int cols,
                               const char *const *names, const double *const *data, size_t rows);

typedef struct {
    const double *x, *y;
    size_t n;
    const char *label; /* legend text, or NULL */
    const char *color; /* SVG colour, or NULL for the palette */
    int dashed, points; /* line style; points: markers only, no line */
    const double *err;  /* error bars: half-heights at each point (e.g. 2 standard errors), or NULL */
} sf_series;

typedef struct {
    const char *title, *xlabel, *ylabel;
    int logx, logy;
    int nmarks;           /* vertical reference lines */
    double marks[4];
    const char *mark_labels[4];
    double symlog_y;      /* > 0: a symmetric log y axis, linear within +-symlog_y (signed data over decades) */
} sf_plot;

/* A line plot: log or symmetric-log axes as asked, error bars where a series has them, the
 * legend in a column right of the plot box (never over the data; each labelled series once, in
 * its own colour and dash), mark labels kept inside the box. */
sf_status sfi_plot_svg(const char *path, const sf_plot *plot, const sf_series *series, int nseries);

/* Curves of one quantity at several times, y[k] over the common x (n points), the times being
 * factors[k] times a reference time named `reference` (e.g. "tau_c"): writes DIR/STEM.csv
 * (columns x and "tau = <factor> <reference>") and DIR/STEM.svg. */
sf_status sfi_write_profiles(const char *dir, const char *stem, const char *title, const char *xlabel,
                            const char *ylabel, const double *x, const double *const *y, const double *factors,
                            const char *reference, int count, size_t n);

#endif
