/* Internal: the analyses' outputs — CSV tables and SVG line plots written directly (no plotting
 * dependency), each atomically (a temporary name, then renamed). */
#ifndef SF_REPORT_H
#define SF_REPORT_H

#include "scorefield.h"

/* A table of `cols` named columns of `rows` values each (column-major: data[c][r]). */
sf_status sf_csv_write(const char *path, int cols, const char *const *names, const double *const *data, size_t rows);

typedef struct {
    const double *x, *y;
    size_t n;
    const char *label; /* legend text, or NULL */
    const char *color; /* SVG colour, or NULL for the palette */
    int dashed, points; /* line style; points: markers only, no line */
} sf_series;

typedef struct {
    const char *title, *xlabel, *ylabel;
    int logx, logy;
    int nmarks;           /* vertical reference lines */
    double marks[4];
    const char *mark_labels[4];
} sf_plot;

sf_status sf_plot_svg(const char *path, const sf_plot *plot, const sf_series *series, int nseries);

/* Curves of one quantity at several times, y[k] over the common x (n points), the times being
 * factors[k] x tau_c: writes DIR/STEM.csv (columns x and "<factor> tau_c") and DIR/STEM.svg. */
sf_status sf_write_profiles(const char *dir, const char *stem, const char *title, const char *xlabel,
                            const char *ylabel, const double *x, const double *const *y, const double *factors,
                            int count, size_t n);

#endif
