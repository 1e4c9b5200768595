/* Private helpers of the stats module (the .c files of src/stats): Rmath, argument checks, result defaults, the
 * comparator. */
#ifndef DOLOR_STATS_INTERNAL_H
#define DOLOR_STATS_INTERNAL_H

#include <math.h>
#include <stddef.h>

#include "dolor/stats.h"

/* Rmath (R's own distribution functions) in standalone mode. */
#ifndef MATHLIB_STANDALONE
#define MATHLIB_STANDALONE 1
#endif
#include <Rmath.h>

/* DOLOR_ENUMERIC naming what and the index if some x[i] is NaN/Inf. */
dolor_status dolor__check_finite(const double *x, size_t n, const char *what);
/* Fill a test result with NaN/0 defaults. */
void dolor__result_init(dolor_test_result *r, const char *method);
/* Validate grouped data: g in 0..k-1, finite y, each group >= min_per_group;
 * counts[k] receives the group sizes (caller-provided). */
dolor_status dolor__check_groups(const double *y, const int *g, size_t n, int k, size_t min_per_group,
                                 size_t *counts);
/* qsort comparator for doubles. */
int dolor__cmp_double(const void *a, const void *b);
/* Median of v[n] (n >= 1), sorting v in place: the middle value or the mean of the two middle values
 * (R's median()). */
double dolor__median_inplace(double *v, size_t n);
/* Two-sided, less and greater p of a t statistic on df. */
void dolor__t_pvalues(double t, double df, dolor_test_result *r);

#endif
