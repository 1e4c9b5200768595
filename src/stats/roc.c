/* ROC curve (pROC's thresholds), AUC with DeLong variance, DeLong
 * covariance of two correlated AUCs and the DeLong test.
 * See include/dolor/stats.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_internal.h"

const char *dolor_roc_direction_name(dolor_roc_direction d)
{
    switch (d) {
    case DOLOR_ROC_AUTO: return "auto";
    case DOLOR_ROC_LT: return "<";
    case DOLOR_ROC_GT: return ">";
    }
    return "unknown";
}

dolor_status dolor_roc_direction_parse(const char *s, dolor_roc_direction *out)
{
    if (!s)
        return dolor_error(DOLOR_EINVAL, "ROC direction: missing");
    if (!strcmp(s, "auto"))
        *out = DOLOR_ROC_AUTO;
    else if (!strcmp(s, "<") || !strcmp(s, "lt"))
        *out = DOLOR_ROC_LT;
    else if (!strcmp(s, ">") || !strcmp(s, "gt"))
        *out = DOLOR_ROC_GT;
    else
        return dolor_error(DOLOR_EINVAL, "ROC direction '%s' is not one of auto, <, >", s);
    return DOLOR_OK;
}

void dolor_roc_free(dolor_roc *r)
{
    if (!r)
        return;
    free(r->thresholds);
    free(r->sensitivity);
    free(r->specificity);
    free(r->v10);
    free(r->v01);
    free(r->truth);
    free(r);
}

dolor_status dolor_roc_create(const double *truth, const double *score, size_t n, dolor_roc_direction direction,
                              dolor_roc **out)
{
    if (!truth || !score || !out)
        return dolor_error(DOLOR_EINVAL, "ROC: NULL argument");
    *out = NULL;
    if (direction != DOLOR_ROC_AUTO && direction != DOLOR_ROC_LT && direction != DOLOR_ROC_GT)
        return dolor_error(DOLOR_EINVAL, "ROC: unknown direction %d", (int)direction);
    size_t m = 0, k = 0; /* cases, controls */
    for (size_t i = 0; i < n; i++) {
        if (isnan(truth[i]))
            return dolor_error(DOLOR_EINVAL, "truth: row %zu is NaN (expected 0 = control or 1 = case)", i + 1);
        if (truth[i] != 0.0 && truth[i] != 1.0)
            return dolor_error(DOLOR_EINVAL, "truth: row %zu is %g (expected 0 = control or 1 = case)", i + 1,
                               truth[i]);
        if (!isfinite(score[i]))
            return dolor_error(DOLOR_ENUMERIC, "score: row %zu is %g (scores must be finite)", i + 1, score[i]);
        if (truth[i] == 1.0)
            m++;
        else
            k++;
    }
    if (m < 2 || k < 2)
        return dolor_error(DOLOR_EINVAL, "ROC: %zu cases and %zu controls (DeLong needs at least 2 of each)", m, k);

    dolor_roc *r = calloc(1, sizeof *r);
    double *xs = malloc(m * sizeof *xs), *ys = malloc(k * sizeof *ys);
    double *all = malloc(n * sizeof *all), *rall = malloc(n * sizeof *rall);
    double *rx = malloc(m * sizeof *rx), *ry = malloc(k * sizeof *ry);
    double *sorted = malloc(n * sizeof *sorted);
    dolor_status st = DOLOR_OK;
    if (!r || !xs || !ys || !all || !rall || !rx || !ry || !sorted) {
        st = dolor_error(DOLOR_ENOMEM, "ROC: out of memory");
        goto fail;
    }
    r->n = n;
    r->n_cases = m;
    r->n_controls = k;
    r->truth = malloc(n);
    r->v10 = malloc(m * sizeof *r->v10);
    r->v01 = malloc(k * sizeof *r->v01);
    if (!r->truth || !r->v10 || !r->v01) {
        st = dolor_error(DOLOR_ENOMEM, "ROC: out of memory");
        goto fail;
    }
    size_t a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        r->truth[i] = truth[i] == 1.0;
        if (truth[i] == 1.0)
            xs[a++] = score[i];
        else
            ys[b++] = score[i];
    }
    if (direction == DOLOR_ROC_AUTO) {
        double med_cases, med_controls;
        if ((st = dolor_stats_quantile(xs, m, 0.5, DOLOR_QUANTILE_R7, &med_cases)) ||
            (st = dolor_stats_quantile(ys, k, 0.5, DOLOR_QUANTILE_R7, &med_controls)))
            goto fail;
        direction = med_controls <= med_cases ? DOLOR_ROC_LT : DOLOR_ROC_GT;
    }
    r->direction = direction;
    /* work with "<" on possibly negated scores */
    double sgn = direction == DOLOR_ROC_LT ? 1.0 : -1.0;
    for (size_t i = 0; i < m; i++)
        all[i] = xs[i] * sgn;
    for (size_t j = 0; j < k; j++)
        all[m + j] = ys[j] * sgn;
    if ((st = dolor_stats_rank(all, n, rall, NULL)) || (st = dolor_stats_rank(all, m, rx, NULL)) ||
        (st = dolor_stats_rank(all + m, k, ry, NULL)))
        goto fail;
    /* V10_i = (#controls below case i + 1/2 #tied) / k = (rank in all - rank among cases) / k
     * V01_j = (#cases above control j + 1/2 #tied) / m = 1 - (rank in all - rank among controls) / m */
    double s10 = 0.0, s01 = 0.0;
    for (size_t i = 0; i < m; i++) {
        r->v10[i] = (rall[i] - rx[i]) / (double)k;
        s10 += r->v10[i];
    }
    for (size_t j = 0; j < k; j++) {
        r->v01[j] = 1.0 - (rall[m + j] - ry[j]) / (double)m;
        s01 += r->v01[j];
    }
    r->auc = s10 / (double)m;
    double mean01 = s01 / (double)k;
    double q10 = 0.0, q01 = 0.0;
    for (size_t i = 0; i < m; i++)
        q10 += (r->v10[i] - r->auc) * (r->v10[i] - r->auc);
    for (size_t j = 0; j < k; j++)
        q01 += (r->v01[j] - mean01) * (r->v01[j] - mean01);
    r->var_delong = q10 / ((double)m - 1.0) / (double)m + q01 / ((double)k - 1.0) / (double)k;

    /* curve: thresholds at -Inf, midpoints of distinct sorted scores, +Inf */
    memcpy(sorted, score, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, dolor__cmp_double);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || sorted[i] != sorted[u - 1])
            sorted[u++] = sorted[i];
    size_t nt = u + 1;
    r->n_thresholds = nt;
    r->thresholds = malloc(nt * sizeof *r->thresholds);
    r->sensitivity = malloc(nt * sizeof *r->sensitivity);
    r->specificity = malloc(nt * sizeof *r->specificity);
    if (!r->thresholds || !r->sensitivity || !r->specificity) {
        st = dolor_error(DOLOR_ENOMEM, "ROC: out of memory");
        goto fail;
    }
    r->thresholds[0] = -INFINITY;
    for (size_t t = 1; t < u; t++)
        r->thresholds[t] = 0.5 * (sorted[t - 1] + sorted[t]);
    r->thresholds[u] = INFINITY;
    /* counts of cases and controls with score > threshold, by sweeping the
     * sorted scores (xs, ys sorted ascending) */
    qsort(xs, m, sizeof *xs, dolor__cmp_double);
    qsort(ys, k, sizeof *ys, dolor__cmp_double);
    size_t ia = 0, ib = 0; /* number of cases / controls with score <= threshold */
    for (size_t t = 0; t < nt; t++) {
        double th = r->thresholds[t];
        while (ia < m && xs[ia] <= th)
            ia++;
        while (ib < k && ys[ib] <= th)
            ib++;
        if (direction == DOLOR_ROC_LT) {
            r->sensitivity[t] = (double)(m - ia) / (double)m;
            r->specificity[t] = (double)ib / (double)k;
        } else { /* ">": positive when score < threshold */
            r->sensitivity[t] = (double)ia / (double)m;
            r->specificity[t] = (double)(k - ib) / (double)k;
        }
    }
    if (direction == DOLOR_ROC_GT) /* pROC lists ">" curves from +Inf down to -Inf */
        for (size_t t = 0; t < nt / 2; t++) {
            size_t w = nt - 1 - t;
            double tmp = r->thresholds[t];
            r->thresholds[t] = r->thresholds[w], r->thresholds[w] = tmp;
            tmp = r->sensitivity[t];
            r->sensitivity[t] = r->sensitivity[w], r->sensitivity[w] = tmp;
            tmp = r->specificity[t];
            r->specificity[t] = r->specificity[w], r->specificity[w] = tmp;
        }
    free(xs), free(ys), free(all), free(rall), free(rx), free(ry), free(sorted);
    *out = r;
    return DOLOR_OK;
fail:
    free(xs), free(ys), free(all), free(rall), free(rx), free(ry), free(sorted);
    dolor_roc_free(r);
    return st;
}

dolor_status dolor_roc_ci(const dolor_roc *r, double conf, double *lower, double *upper)
{
    if (!r || !lower || !upper)
        return dolor_error(DOLOR_EINVAL, "ROC CI: NULL argument");
    if (!(conf > 0.0 && conf < 1.0))
        return dolor_error(DOLOR_EINVAL, "ROC CI: confidence level %g is outside (0, 1)", conf);
    double z = qnorm(0.5 + conf / 2.0, 0.0, 1.0, 1, 0);
    double se = sqrt(r->var_delong > 0.0 ? r->var_delong : 0.0);
    *lower = r->auc - z * se;
    *upper = r->auc + z * se;
    if (*lower < 0.0)
        *lower = 0.0;
    if (*upper > 1.0)
        *upper = 1.0;
    return DOLOR_OK;
}

static int same_subjects(const dolor_roc *a, const dolor_roc *b)
{
    return a->n == b->n && a->n_cases == b->n_cases && memcmp(a->truth, b->truth, a->n) == 0;
}

dolor_status dolor_roc_cov_delong(const dolor_roc *a, const dolor_roc *b, double *cov)
{
    if (!a || !b || !cov)
        return dolor_error(DOLOR_EINVAL, "DeLong covariance: NULL argument");
    if (!same_subjects(a, b))
        return dolor_error(DOLOR_ESHAPE,
                           "DeLong covariance: the two ROC curves are not on the same subjects "
                           "(%zu vs %zu subjects, %zu vs %zu cases, or truth differs)",
                           a->n, b->n, a->n_cases, b->n_cases);
    size_t m = a->n_cases, k = a->n_controls;
    double ma = 0, mb = 0;
    for (size_t j = 0; j < k; j++)
        ma += a->v01[j], mb += b->v01[j];
    ma /= (double)k, mb /= (double)k;
    double c10 = 0.0, c01 = 0.0;
    for (size_t i = 0; i < m; i++)
        c10 += (a->v10[i] - a->auc) * (b->v10[i] - b->auc);
    for (size_t j = 0; j < k; j++)
        c01 += (a->v01[j] - ma) * (b->v01[j] - mb);
    *cov = c10 / ((double)m - 1.0) / (double)m + c01 / ((double)k - 1.0) / (double)k;
    return DOLOR_OK;
}

dolor_status dolor_roc_test_delong(const dolor_roc *a, const dolor_roc *b, int paired, dolor_delong_test *out)
{
    if (!a || !b || !out)
        return dolor_error(DOLOR_EINVAL, "DeLong test: NULL argument");
    memset(out, 0, sizeof *out);
    out->paired = paired != 0;
    out->auc1 = a->auc;
    out->auc2 = b->auc;
    out->var1 = a->var_delong;
    out->var2 = b->var_delong;
    if (paired) {
        dolor_status s = dolor_roc_cov_delong(a, b, &out->cov);
        if (s)
            return s;
    }
    double v = out->var1 + out->var2 - 2.0 * out->cov;
    if (!(v > 0.0))
        return dolor_error(DOLOR_ENUMERIC,
                           "DeLong test: the variance of the AUC difference is %g (identical markers?)", v);
    out->z = (out->auc1 - out->auc2) / sqrt(v);
    out->p_value = 2.0 * pnorm(-fabs(out->z), 0.0, 1.0, 1, 0);
    return DOLOR_OK;
}
