/* Descriptives: mean, variance, quantiles (R types 7 and 6), ranks, and the
 * shared helpers of the module. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_internal.h"

int dolor__cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

dolor_status dolor__check_finite(const double *x, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return dolor_error(DOLOR_ENUMERIC, "%s[%zu] is %g (missing or not finite)", what, i, x[i]);
    return DOLOR_OK;
}

void dolor__result_init(dolor_test_result *r, const char *method)
{
    memset(r, 0, sizeof *r);
    r->statistic = r->df = r->df2 = r->p = r->p_less = r->p_greater = NAN;
    r->estimate = r->ci_lo = r->ci_hi = r->se = r->z = r->sigma = NAN;
    if (method) {
        strncpy(r->method, method, sizeof r->method - 1);
    }
}

dolor_status dolor__check_groups(const double *y, const int *g, size_t n, int k, size_t min_per_group,
                                 size_t *counts)
{
    if (k < 2)
        return dolor_error(DOLOR_EINVAL, "number of groups is %d; need at least 2", k);
    dolor_status s = dolor__check_finite(y, n, "y");
    if (s)
        return s;
    for (int j = 0; j < k; j++)
        counts[j] = 0;
    for (size_t i = 0; i < n; i++) {
        if (g[i] < 0 || g[i] >= k)
            return dolor_error(DOLOR_EINVAL, "g[%zu] is %d; group indices must be in 0..%d", i, g[i], k - 1);
        counts[g[i]]++;
    }
    for (int j = 0; j < k; j++)
        if (counts[j] < min_per_group)
            return dolor_error(DOLOR_ENUMERIC, "group %d has %zu observations; need at least %zu", j, counts[j],
                               min_per_group);
    return DOLOR_OK;
}

void dolor__t_pvalues(double t, double df, dolor_test_result *r)
{
    r->p = 2.0 * pt(-fabs(t), df, 1, 0);
    r->p_less = pt(t, df, 1, 0);
    r->p_greater = pt(t, df, 0, 0);
}

double dolor_stats_mean(const double *x, size_t n)
{
    if (n == 0)
        return NAN;
    /* two passes as R's mean(): sum / n, then add the mean residual */
    long double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    long double m = s / (long double)n;
    long double t = 0;
    for (size_t i = 0; i < n; i++)
        t += x[i] - m;
    return (double)(m + t / (long double)n);
}

double dolor_stats_var(const double *x, size_t n)
{
    if (n < 2)
        return NAN;
    double m = dolor_stats_mean(x, n);
    long double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += ((long double)x[i] - m) * ((long double)x[i] - m);
    return (double)(ss / (long double)(n - 1));
}

/* quantile of sorted data */
double dolor__median_inplace(double *v, size_t n)
{
    qsort(v, n, sizeof *v, dolor__cmp_double);
    return (n % 2) ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double quantile_sorted(const double *s, size_t n, double p, dolor_quantile_type type)
{
    double h;
    if (type == DOLOR_QUANTILE_SPSS6)
        h = ((double)n + 1.0) * p - 1.0;
    else
        h = ((double)n - 1.0) * p;
    if (h <= 0)
        return s[0];
    if (h >= (double)(n - 1))
        return s[n - 1];
    /* R's quantile uses a fuzz of 4 eps when taking floor(h) */
    double fh = floor(h + 4.0 * 2.220446049250313e-16);
    size_t lo = (size_t)fh;
    double frac = h - fh;
    if (frac < 0)
        frac = 0;
    if (lo + 1 >= n)
        return s[n - 1];
    return s[lo] + frac * (s[lo + 1] - s[lo]);
}

dolor_status dolor_stats_quantile(const double *x, size_t n, double p, dolor_quantile_type type, double *out)
{
    if (!(p >= 0 && p <= 1))
        return dolor_error(DOLOR_EINVAL, "quantile probability %g is outside [0, 1]", p);
    if (type != DOLOR_QUANTILE_R7 && type != DOLOR_QUANTILE_SPSS6)
        return dolor_error(DOLOR_EINVAL, "quantile type %d is not 6 or 7", (int)type);
    if (n == 0)
        return dolor_error(DOLOR_ENUMERIC, "quantile of an empty sample");
    dolor_status s = dolor__check_finite(x, n, "x");
    if (s)
        return s;
    double *c = malloc(n * sizeof *c);
    if (!c)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    memcpy(c, x, n * sizeof *c);
    qsort(c, n, sizeof *c, dolor__cmp_double);
    *out = quantile_sorted(c, n, p, type);
    free(c);
    return DOLOR_OK;
}

dolor_status dolor_stats_describe(const double *x, size_t n, int population_sd, dolor_quantile_type qtype,
                                  dolor_describe *out)
{
    memset(out, 0, sizeof *out);
    if (qtype == 0)
        qtype = DOLOR_QUANTILE_R7;
    if (qtype != DOLOR_QUANTILE_R7 && qtype != DOLOR_QUANTILE_SPSS6)
        return dolor_error(DOLOR_EINVAL, "quantile type %d is not 6 or 7", (int)qtype);
    double *c = malloc((n ? n : 1) * sizeof *c);
    if (!c)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i])) {
            out->n_missing++;
            continue;
        }
        if (!isfinite(x[i])) {
            free(c);
            return dolor_error(DOLOR_ENUMERIC, "x[%zu] is %g (not finite)", i, x[i]);
        }
        c[m++] = x[i];
    }
    out->n = m;
    if (m == 0) {
        free(c);
        return dolor_error(DOLOR_ENUMERIC, "no non-missing values (%zu missing)", out->n_missing);
    }
    out->mean = dolor_stats_mean(c, m);
    if (population_sd)
        out->sd = m >= 1 ? sqrt(dolor_stats_var(c, m) * (double)(m - 1) / (double)m) : NAN;
    else
        out->sd = sqrt(dolor_stats_var(c, m));
    if (m == 1 && population_sd)
        out->sd = 0;
    qsort(c, m, sizeof *c, dolor__cmp_double);
    out->min = c[0];
    out->max = c[m - 1];
    out->median = (m % 2) ? c[m / 2] : 0.5 * (c[m / 2 - 1] + c[m / 2]);
    out->p25 = quantile_sorted(c, m, 0.25, qtype);
    out->p75 = quantile_sorted(c, m, 0.75, qtype);
    free(c);
    return DOLOR_OK;
}

typedef struct {
    double v;
    size_t i;
} val_idx;

static int cmp_vi(const void *a, const void *b)
{
    const val_idx *x = a, *y = b;
    if (x->v < y->v)
        return -1;
    if (x->v > y->v)
        return 1;
    return (x->i > y->i) - (x->i < y->i);
}

dolor_status dolor_stats_rank(const double *x, size_t n, double *r, double *tie_term)
{
    if (tie_term)
        *tie_term = 0;
    if (n == 0)
        return DOLOR_OK;
    val_idx *v = malloc(n * sizeof *v);
    if (!v)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        v[i].v = x[i];
        v[i].i = i;
    }
    qsort(v, n, sizeof *v, cmp_vi);
    double tt = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && v[j + 1].v == v[i].v)
            j++;
        double avg = 0.5 * ((double)(i + 1) + (double)(j + 1));
        for (size_t q = i; q <= j; q++)
            r[v[q].i] = avg;
        double t = (double)(j - i + 1);
        tt += t * t * t - t;
        i = j + 1;
    }
    if (tie_term)
        *tie_term = tt;
    free(v);
    return DOLOR_OK;
}
