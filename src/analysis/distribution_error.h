/* Internal: the comparison of sample sets with the exact p_t, prepared once (the exact moments,
 * the directions, the comparison set and the floors) and applied to many sample sets. */
#ifndef SF_DISTRIBUTION_ERROR_H
#define SF_DISTRIBUTION_ERROR_H

#include "scorefield.h"

typedef struct sfi_comparison sfi_comparison;

/* As sf_distribution_error's arguments; exact (may be NULL) must outlive the comparison. */
sf_status sfi_comparison_create(sfi_comparison **cmp, sf_context *ctx, const sf_mixture *mix, const sf_time *time,
                                const double *exact, size_t n, uint64_t seed);
/* The errors of n samples x (out in the library's layout). */
sf_status sfi_comparison_measure(const sfi_comparison *cmp, const double *x, sf_distribution_errors *out);
void sfi_comparison_destroy(sfi_comparison *cmp);

#endif
