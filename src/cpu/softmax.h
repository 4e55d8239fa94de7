/* Internal: the fused log-sum-exp pass of the fast CPU backend. */
#ifndef SF_SOFTMAX_H
#define SF_SOFTMAX_H

#include <stddef.h>

/* Each of `rows` rows of K logits (row-major, -inf for a component with r_k = 0) becomes its
 * responsibilities r_k = exp(l_k - log p) in place, and logp[i] = log sum_k exp(l_k): the maximum,
 * the shifted exponentials and their sum in vector loops (simd_exp.h), one division per entry. */
void sfi_softmax_rows(double *logits, size_t rows, int K, double *logp);

#endif
