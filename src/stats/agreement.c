/* Agreement: Cohen's kappa (unweighted, linear, quadratic; Fleiss, Cohen &
 * Everitt 1969 standard errors) and the six Shrout-Fleiss intraclass
 * correlations with psych::ICC's F tests and confidence intervals.
 * See include/dolor/stats.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_internal.h"

const char *dolor_kappa_weights_name(dolor_kappa_weights w)
{
    switch (w) {
    case DOLOR_KAPPA_UNWEIGHTED: return "unweighted";
    case DOLOR_KAPPA_LINEAR: return "linear";
    case DOLOR_KAPPA_QUADRATIC: return "quadratic";
    }
    return "unknown";
}

static double kappa_weight(dolor_kappa_weights w, int i, int j, int k)
{
    double d = (double)(i > j ? i - j : j - i) / (double)(k - 1);
    switch (w) {
    case DOLOR_KAPPA_LINEAR: return 1.0 - d;
    case DOLOR_KAPPA_QUADRATIC: return 1.0 - d * d;
    default: return i == j ? 1.0 : 0.0;
    }
}

dolor_status dolor_kappa_compute(const double *table, int k, dolor_kappa_weights weights, double conf,
                               dolor_kappa_result *out)
{
    if (!table || !out)
        return dolor_error(DOLOR_EINVAL, "kappa: NULL argument");
    if (k < 2)
        return dolor_error(DOLOR_EINVAL, "kappa: %d categories (needs at least 2)", k);
    if (weights != DOLOR_KAPPA_UNWEIGHTED && weights != DOLOR_KAPPA_LINEAR && weights != DOLOR_KAPPA_QUADRATIC)
        return dolor_error(DOLOR_EINVAL, "kappa: unknown weights %d", (int)weights);
    if (!(conf > 0.0 && conf < 1.0))
        return dolor_error(DOLOR_EINVAL, "kappa: confidence level %g is outside (0, 1)", conf);
    double n = 0.0;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            double c = table[i * k + j];
            if (!isfinite(c) || c < 0.0)
                return dolor_error(DOLOR_EINVAL, "kappa: table cell (%d, %d) is %g (counts must be finite and >= 0)",
                                   i + 1, j + 1, c);
            n += c;
        }
    if (n <= 0.0)
        return dolor_error(DOLOR_ENUMERIC, "kappa: the table is empty (total count 0)");
    size_t kk = (size_t)k;
    double *row = calloc(kk, sizeof *row), *col = calloc(kk, sizeof *col);
    double *wr = calloc(kk, sizeof *wr), *wc = calloc(kk, sizeof *wc);
    if (!row || !col || !wr || !wc) {
        free(row), free(col), free(wr), free(wc);
        return dolor_error(DOLOR_ENOMEM, "kappa: out of memory");
    }
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            double p = table[i * k + j] / n;
            row[i] += p;
            col[j] += p;
        }
    double po = 0.0, pe = 0.0;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            double w = kappa_weight(weights, i, j, k);
            po += w * table[i * k + j] / n;
            pe += w * row[i] * col[j];
        }
    /* weighted mean agreement of each row category over rater 2's margin and
     * of each column category over rater 1's margin */
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            double w = kappa_weight(weights, i, j, k);
            wr[i] += w * col[j];
            wc[j] += w * row[i];
        }
    dolor_status st = DOLOR_OK;
    if (1.0 - pe <= 1e-15) {
        st = dolor_error(DOLOR_ENUMERIC,
                         "kappa: chance agreement is 1 (all ratings fall in one category), kappa is undefined");
        goto done;
    }
    double kap = (po - pe) / (1.0 - pe);
    /* Fleiss, Cohen & Everitt (1969): non-null and null variances */
    double s1 = 0.0, s0 = 0.0;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            double w = kappa_weight(weights, i, j, k);
            double p = table[i * k + j] / n;
            double d1 = w - (wr[i] + wc[j]) * (1.0 - kap);
            s1 += p * d1 * d1;
            double d0 = w - (wr[i] + wc[j]);
            s0 += row[i] * col[j] * d0 * d0;
        }
    double t = kap - pe * (1.0 - kap);
    double var1 = (s1 - t * t) / (n * (1.0 - pe) * (1.0 - pe));
    double var0 = (s0 - pe * pe) / (n * (1.0 - pe) * (1.0 - pe));
    memset(out, 0, sizeof *out);
    out->k = k;
    out->n = n;
    out->po = po;
    out->pe = pe;
    out->kappa = kap;
    out->weights = weights;
    out->conf = conf;
    out->se = var1 > 0.0 ? sqrt(var1) : 0.0;
    out->se0 = var0 > 0.0 ? sqrt(var0) : 0.0;
    if (out->se0 > 0.0) {
        out->z = kap / out->se0;
        out->p_value = 2.0 * pnorm(-fabs(out->z), 0.0, 1.0, 1, 0);
    } else {
        out->z = NAN;
        out->p_value = NAN;
    }
    double zc = qnorm(0.5 + conf / 2.0, 0.0, 1.0, 1, 0);
    out->ci_lower = kap - zc * out->se;
    out->ci_upper = kap + zc * out->se;
    if (out->ci_lower < -1.0)
        out->ci_lower = -1.0;
    if (out->ci_upper > 1.0)
        out->ci_upper = 1.0;
done:
    free(row), free(col), free(wr), free(wc);
    return st;
}

dolor_status dolor_kappa_compute_ratings(const double *rater1, const double *rater2, size_t n, const double *categories,
                                 int k, dolor_kappa_weights weights, double conf, dolor_kappa_result *out)
{
    if (!rater1 || !rater2 || !out)
        return dolor_error(DOLOR_EINVAL, "kappa: NULL argument");
    if (n == 0)
        return dolor_error(DOLOR_ENUMERIC, "kappa: no observations");
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(rater1[i]))
            return dolor_error(DOLOR_ENUMERIC, "rater1: row %zu is %g (ratings must be finite)", i + 1, rater1[i]);
        if (!isfinite(rater2[i]))
            return dolor_error(DOLOR_ENUMERIC, "rater2: row %zu is %g (ratings must be finite)", i + 1, rater2[i]);
    }
    double *cats = NULL;
    int K = k;
    if (categories) {
        if (k < 2)
            return dolor_error(DOLOR_EINVAL, "kappa: %d categories (needs at least 2)", k);
        cats = malloc((size_t)k * sizeof *cats);
        if (!cats)
            return dolor_error(DOLOR_ENOMEM, "kappa: out of memory");
        memcpy(cats, categories, (size_t)k * sizeof *cats);
        for (int i = 0; i < k; i++)
            for (int j = 0; j < i; j++)
                if (cats[i] == cats[j]) {
                    double dup = cats[i];
                    free(cats);
                    return dolor_error(DOLOR_EINVAL, "kappa: category %g is listed twice", dup);
                }
    } else {
        cats = malloc(2 * n * sizeof *cats);
        if (!cats)
            return dolor_error(DOLOR_ENOMEM, "kappa: out of memory");
        memcpy(cats, rater1, n * sizeof *cats);
        memcpy(cats + n, rater2, n * sizeof *cats);
        qsort(cats, 2 * n, sizeof *cats, dolor__cmp_double);
        size_t m = 0;
        for (size_t i = 0; i < 2 * n; i++)
            if (m == 0 || cats[i] != cats[m - 1])
                cats[m++] = cats[i];
        if (m < 2) {
            free(cats);
            return dolor_error(DOLOR_ENUMERIC, "kappa: both raters used a single category (%g): kappa is undefined",
                               rater1[0]);
        }
        K = (int)m;
    }
    double *tab = calloc((size_t)K * (size_t)K, sizeof *tab);
    if (!tab) {
        free(cats);
        return dolor_error(DOLOR_ENOMEM, "kappa: out of memory");
    }
    dolor_status st = DOLOR_OK;
    for (size_t r = 0; r < n && st == DOLOR_OK; r++) {
        int a = -1, b = -1;
        for (int c = 0; c < K; c++) {
            if (cats[c] == rater1[r])
                a = c;
            if (cats[c] == rater2[r])
                b = c;
        }
        if (a < 0)
            st = dolor_error(DOLOR_EINVAL, "rater1: row %zu is %g, not one of the %d categories", r + 1, rater1[r], K);
        else if (b < 0)
            st = dolor_error(DOLOR_EINVAL, "rater2: row %zu is %g, not one of the %d categories", r + 1, rater2[r], K);
        else
            tab[a * K + b] += 1.0;
    }
    if (st == DOLOR_OK)
        st = dolor_kappa_compute(tab, K, weights, conf, out);
    free(tab);
    free(cats);
    return st;
}

/* ------------------------------------------------------------------ ICC */

const char *dolor_icc_type_name(dolor_icc_type t)
{
    static const char *names[6] = {"ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"};
    return (int)t >= 0 && (int)t < 6 ? names[t] : "unknown";
}

dolor_status dolor_icc_compute(const double *ratings, size_t n, size_t k, double conf, dolor_icc_result *out)
{
    if (!ratings || !out)
        return dolor_error(DOLOR_EINVAL, "ICC: NULL argument");
    if (n < 2)
        return dolor_error(DOLOR_EINVAL, "ICC: %zu subjects (needs at least 2)", n);
    if (k < 2)
        return dolor_error(DOLOR_EINVAL, "ICC: %zu raters (needs at least 2)", k);
    if (!(conf > 0.0 && conf < 1.0))
        return dolor_error(DOLOR_EINVAL, "ICC: confidence level %g is outside (0, 1)", conf);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < k; j++)
            if (!isfinite(ratings[i * k + j]))
                return dolor_error(DOLOR_ENUMERIC, "ICC: rating at row %zu, rater %zu is %g", i + 1, j + 1,
                                   ratings[i * k + j]);
    double *cm = calloc(k, sizeof *cm);
    if (!cm)
        return dolor_error(DOLOR_ENOMEM, "ICC: out of memory");
    double N = (double)n, K = (double)k;
    double grand = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < k; j++)
            grand += ratings[i * k + j];
    grand /= N * K;
    /* sums of squares about the grand mean */
    double ssr = 0.0, ssc = 0.0, sst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double rm = 0.0;
        for (size_t j = 0; j < k; j++) {
            double d = ratings[i * k + j] - grand;
            rm += ratings[i * k + j];
            cm[j] += ratings[i * k + j];
            sst += d * d;
        }
        rm = rm / K - grand;
        ssr += K * rm * rm;
    }
    for (size_t j = 0; j < k; j++) {
        double d = cm[j] / N - grand;
        ssc += N * d * d;
    }
    free(cm);
    double sse = sst - ssr - ssc;
    if (sse < 0.0)
        sse = 0.0;
    double msb = ssr / (N - 1.0);
    double msj = ssc / (K - 1.0);
    double mse = sse / ((N - 1.0) * (K - 1.0));
    double msw = (ssc + sse) / (N * (K - 1.0));
    if (!(msw > 0.0) || !(mse > 0.0))
        return dolor_error(DOLOR_ENUMERIC, "ICC: no within-subject variation (every subject rated identically "
                                           "by all raters): the F ratios are undefined");
    memset(out, 0, sizeof *out);
    out->n = n;
    out->k = k;
    out->msb = msb;
    out->msj = msj;
    out->mse = mse;
    out->msw = msw;
    out->conf = conf;

    double icc1 = (msb - msw) / (msb + (K - 1.0) * msw);
    double icc2 = (msb - mse) / (msb + (K - 1.0) * mse + K * (msj - mse) / N);
    double icc3 = (msb - mse) / (msb + (K - 1.0) * mse);
    double icc1k = (msb - msw) / msb;
    double icc2k = (msb - mse) / (msb + (msj - mse) / N);
    double icc3k = (msb - mse) / msb;

    double f1 = msb / msw, f1d1 = N - 1.0, f1d2 = N * (K - 1.0);
    double f3 = msb / mse, f3d1 = N - 1.0, f3d2 = (N - 1.0) * (K - 1.0);
    double p1 = pf(f1, f1d1, f1d2, 0, 0);
    double p3 = pf(f3, f3d1, f3d2, 0, 0);
    double a = 1.0 - conf;
    double q = 1.0 - a / 2.0;

    /* one-way and two-way mixed: F-based limits */
    double f1l = f1 / qf(q, f1d1, f1d2, 1, 0);
    double f1u = f1 * qf(q, f1d2, f1d1, 1, 0);
    double f3l = f3 / qf(q, f3d1, f3d2, 1, 0);
    double f3u = f3 * qf(q, f3d2, f3d1, 1, 0);
    double l1 = (f1l - 1.0) / (f1l + K - 1.0), u1 = (f1u - 1.0) / (f1u + K - 1.0);
    double l3 = (f3l - 1.0) / (f3l + K - 1.0), u3 = (f3u - 1.0) / (f3u + K - 1.0);

    /* two-way random, absolute agreement: McGraw & Wong (1996) with
     * Satterthwaite's approximate denominator degrees of freedom v */
    double fj = msj / mse;
    double c = N * (1.0 + (K - 1.0) * icc2) - K * icc2;
    double vn = (K - 1.0) * (N - 1.0) * (K * icc2 * fj + c) * (K * icc2 * fj + c);
    double vd = (N - 1.0) * K * K * icc2 * icc2 * fj * fj + c * c;
    double v = vn / vd;
    double fu = qf(q, N - 1.0, v, 1, 0);
    double fl = qf(q, v, N - 1.0, 1, 0);
    double l2 = N * (msb - fu * mse) / (fu * (K * msj + (K * N - K - N) * mse) + N * msb);
    double u2 = N * (fl * msb - mse) / (K * msj + (K * N - K - N) * mse + N * fl * msb);

    dolor_icc_row *r = out->icc;
    r[DOLOR_ICC1] = (dolor_icc_row){icc1, f1, f1d1, f1d2, p1, l1, u1};
    r[DOLOR_ICC2] = (dolor_icc_row){icc2, f3, f3d1, f3d2, p3, l2, u2};
    r[DOLOR_ICC3] = (dolor_icc_row){icc3, f3, f3d1, f3d2, p3, l3, u3};
    r[DOLOR_ICC1K] = (dolor_icc_row){icc1k, f1, f1d1, f1d2, p1, 1.0 - 1.0 / f1l, 1.0 - 1.0 / f1u};
    r[DOLOR_ICC2K] = (dolor_icc_row){icc2k, f3, f3d1, f3d2, p3, l2 * K / (1.0 + l2 * (K - 1.0)),
                                     u2 * K / (1.0 + u2 * (K - 1.0))};
    r[DOLOR_ICC3K] = (dolor_icc_row){icc3k, f3, f3d1, f3d2, p3, 1.0 - 1.0 / f3l, 1.0 - 1.0 / f3u};
    return DOLOR_OK;
}
