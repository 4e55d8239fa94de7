/* Internal: the growable public structs (see "Growable structs" in scorefield.h). Each begins with
 * `size`, the caller's sizeof; 0 means the layout of the first version (0.1). */
#ifndef SF_ABI_H
#define SF_ABI_H

#include "scorefield.h"

#include <stddef.h>

/* The end of a struct's last field in version 0.1: the smallest size a caller may pass. */
#define SF_FIELD_END(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))
#define SF_SCHEDULE_SIZE_0_1 SF_FIELD_END(sf_schedule, sigma)
#define SF_TIME_SIZE_0_1 SF_FIELD_END(sf_time, dtau)
#define SF_OUTPUTS_SIZE_0_1 SF_FIELD_END(sf_outputs, residual_t_scale)
#define SF_SAMPLER_SIZE_0_1 SF_FIELD_END(sf_sampler, guidance)
/* analysis results */
#define SF_SPECIATION_SUMMARY_SIZE_0_1 SF_FIELD_END(sf_speciation_summary, isotropic_s2)
#define SF_TANH_LAYER_SIZE_0_1 SF_FIELD_END(sf_tanh_layer, predicted_width)
#define SF_AMPLIFICATION_SIZE_0_1 SF_FIELD_END(sf_amplification, end_offset)
#define SF_BRANCHING_SUMMARY_SIZE_0_1 SF_FIELD_END(sf_branching_summary, side_a)
#define SF_BLOWUP_ROW_SIZE_0_1 SF_FIELD_END(sf_blowup_row, max_denoiser)
#define SF_DOUBLEWELL_SUMMARY_SIZE_0_1 SF_FIELD_END(sf_doublewell_summary, fitted_width)
#define SF_PEAK_CHECK_SIZE_0_1 SF_FIELD_END(sf_peak_check, z)
#define SF_BUDGET_SIZE_0_1 SF_FIELD_END(sf_budget, z)
#define SF_DISTRIBUTION_ERROR_SIZE_0_1 SF_FIELD_END(sf_distribution_errors, nll_gap)
#define SF_SAMPLER_ERROR_SETUP_SIZE_0_1 SF_FIELD_END(sf_sampler_error_setup, progress_data)
#define SF_SAMPLER_ERROR_ROW_SIZE_0_1 SF_FIELD_END(sf_sampler_error_row, nll_gap)

/* Reads a caller's struct of `size` bytes at src (size 0: first_size) into the library's own
 * (known_size bytes at dst): fields the caller's version lacks are zero ("as before"). Refuses a
 * size below first_size, and fields of a newer version (beyond known_size) that are set. `what`
 * names the struct in the message. */
sf_status sfi_struct_load(void *dst, size_t known_size, const void *src, size_t size, size_t first_size,
                         const char *what);

/* Stores the library's struct (known_size bytes at src) into a caller's struct of `size` bytes:
 * the fields the caller knows, the rest of a larger struct zeroed; dst->size is set by the caller
 * of this function. Refuses sizes below first_size. */
sf_status sfi_struct_store(void *dst, size_t size, const void *src, size_t first_size, size_t known_size,
                          const char *what);

/* local = *p in the library's layout; p must not be NULL. */
#define SF_LOAD_STRUCT(local, p, first_size, what) \
    sfi_struct_load(&(local), sizeof(local), (p), (p)->size, (first_size), (what))

#endif
