/*
 * dolor/stats.h - statistics that match R: descriptives, hypothesis tests,
 * confidence intervals, agreement, diagnostic accuracy, ROC/DeLong, sample
 * size, randomisation and study tables.
 *
 * Conventions: inputs are double arrays with their length; NaN is an error
 * (DOLOR_ENUMERIC naming the variable) unless a function says it skips
 * missing values. Results come back in structs; p-values are two-sided
 * unless a field says otherwise. Every function names the R function (and
 * options) it reproduces.
 *
 * Two sections, kept by different people: (A) descriptives, tests and study
 * tables; (B) agreement, diagnostic accuracy, ROC, sample size and
 * randomisation.
 */
#ifndef DOLOR_STATS_H
#define DOLOR_STATS_H

#include "dolor/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================= (A) descriptives, tests, study tables ======================= */

/* ======================= end of section (A) ======================= */

/* ======================= (B) agreement, diagnostic accuracy, ROC, sample size, randomisation ======================= */

/* ======================= end of section (B) ======================= */

#ifdef __cplusplus
}
#endif
#endif
