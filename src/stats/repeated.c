/* Tests for repeated measures: Friedman rank sum test, one-way repeated-measures ANOVA, and the paired
 * post-hoc comparisons (Wilcoxon signed rank, adjusted) that go with them. y is [n subjects x k conditions],
 * row-major: y[i*k + j] = subject i under condition j (R: a matrix with subjects in rows). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_internal.h"

static dolor_status check_design(const double *y, size_t n, int k, const char *what)
{
    if (k < 2)
        return dolor_error(DOLOR_EINVAL, "%s: %d conditions (need at least 2)", what, k);
    if (n < 2)
        return dolor_error(DOLOR_ENUMERIC, "%s: %zu subjects (need at least 2)", what, n);
    for (size_t i = 0; i < n * (size_t)k; i++)
        if (!isfinite(y[i]))
            return dolor_error(DOLOR_ENUMERIC, "%s: subject %zu, condition %zu is %g (complete blocks needed)", what,
                               i / (size_t)k + 1, i % (size_t)k + 1, y[i]);
    return DOLOR_OK;
}

dolor_status dolor_stats_friedman(const double *y, size_t n, int k, dolor_test_result *out)
{
    dolor__result_init(out, "Friedman rank sum test");
    dolor_status s = check_design(y, n, k, "Friedman test");
    if (s)
        return s;
    double *r = malloc((size_t)k * sizeof *r), *col = calloc((size_t)k, sizeof *col);
    if (!r || !col) {
        free(r);
        free(col);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    double ties = 0;
    for (size_t i = 0; i < n && !s; i++) {
        double tt = 0;
        s = dolor_stats_rank(y + i * (size_t)k, (size_t)k, r, &tt);
        ties += tt;
        for (int j = 0; j < k; j++)
            col[j] += r[j];
    }
    if (!s) {
        double dn = (double)n, dk = (double)k, ss = 0;
        for (int j = 0; j < k; j++)
            ss += (col[j] - dn * (dk + 1) / 2) * (col[j] - dn * (dk + 1) / 2);
        double den = dn * dk * (dk + 1) - ties / (dk - 1);
        if (den <= 0)
            s = dolor_error(DOLOR_ENUMERIC, "Friedman test: every subject has all conditions tied");
        else {
            out->statistic = 12 * ss / den;
            out->df = dk - 1;
            out->p = pchisq(out->statistic, out->df, 0, 0);
            out->n = n;
        }
    }
    free(r);
    free(col);
    return s;
}

dolor_status dolor_stats_rm_anova(const double *y, size_t n, int k, dolor_rm_anova *out)
{
    memset(out, 0, sizeof *out);
    dolor_status s = check_design(y, n, k, "repeated-measures ANOVA");
    if (s)
        return s;
    double grand = 0;
    for (size_t i = 0; i < n * (size_t)k; i++)
        grand += y[i];
    grand /= (double)(n * (size_t)k);
    double ss_t = 0, ss_c = 0, ss_s = 0;
    for (size_t i = 0; i < n; i++) {
        double m = 0;
        for (int j = 0; j < k; j++) {
            m += y[i * (size_t)k + (size_t)j];
            ss_t += (y[i * (size_t)k + (size_t)j] - grand) * (y[i * (size_t)k + (size_t)j] - grand);
        }
        m /= k;
        ss_s += (double)k * (m - grand) * (m - grand);
    }
    for (int j = 0; j < k; j++) {
        double m = 0;
        for (size_t i = 0; i < n; i++)
            m += y[i * (size_t)k + (size_t)j];
        m /= (double)n;
        ss_c += (double)n * (m - grand) * (m - grand);
    }
    out->ss_subjects = ss_s;
    out->ss_conditions = ss_c;
    out->ss_error = ss_t - ss_s - ss_c;
    if (out->ss_error < 0)
        out->ss_error = 0;
    out->df_subjects = (double)n - 1;
    out->df_conditions = (double)k - 1;
    out->df_error = ((double)n - 1) * ((double)k - 1);
    out->ms_conditions = ss_c / out->df_conditions;
    out->ms_error = out->ss_error / out->df_error;
    if (!(out->ms_error > 0))
        return dolor_error(DOLOR_ENUMERIC, "repeated-measures ANOVA: no residual variance (the differences between "
                           "conditions are the same for every subject)");
    out->F = out->ms_conditions / out->ms_error;
    out->p = pf(out->F, out->df_conditions, out->df_error, 0, 0);
    return DOLOR_OK;
}

dolor_status dolor_stats_pairwise_wilcoxon_paired(const double *y, size_t n, int k, int exact, int correct,
                                                  dolor_p_adjust adjust, double *p, double *V)
{
    dolor_status s = check_design(y, n, k, "pairwise Wilcoxon signed rank");
    if (s)
        return s;
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *raw = malloc((size_t)(k * k) * sizeof *raw);
    if (!a || !b || !raw) {
        free(a);
        free(b);
        free(raw);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    size_t m = 0;
    for (int i = 0; i < k * k; i++) {
        p[i] = NAN;
        if (V)
            V[i] = NAN;
    }
    double *lst = malloc((size_t)(k * k) * sizeof *lst);
    for (int i = 1; i < k && lst; i++)
        for (int j = 0; j < i; j++) {
            for (size_t r = 0; r < n; r++) {
                a[r] = y[r * (size_t)k + (size_t)i];
                b[r] = y[r * (size_t)k + (size_t)j];
            }
            dolor_test_result t;
            dolor_status e = dolor_stats_wilcoxon_signed(a, b, n, exact, correct, &t);
            /* all differences zero: R gives NaN for that pair */
            double pv = e ? NAN : t.p;
            if (!e && V)
                V[i * k + j] = t.statistic;
            raw[i * k + j] = pv;
            lst[m++] = pv;
        }
    if (!lst)
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
    if (!s)
        s = dolor_stats_p_adjust(lst, m, adjust, lst);
    m = 0;
    for (int i = 1; i < k && !s; i++)
        for (int j = 0; j < i; j++)
            p[i * k + j] = lst[m++];
    free(lst);
    free(a);
    free(b);
    free(raw);
    return s;
}
