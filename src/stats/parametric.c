/* Parametric tests as R computes them: t.test (Student, Welch, paired,
 * one-sample), aov (one-way), oneway.test (Welch ANOVA), car::leveneTest,
 * pairwise.t.test with p.adjust, cor.test (Pearson). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_internal.h"

static dolor_status check_conf(double conf)
{
    if (!(conf > 0 && conf < 1))
        return dolor_error(DOLOR_EINVAL, "confidence level %g is outside (0, 1)", conf);
    return DOLOR_OK;
}

dolor_status dolor_stats_ttest_one(const double *x, size_t n, double mu, double conf, dolor_test_result *out)
{
    dolor__result_init(out, "One Sample t-test");
    dolor_status s = check_conf(conf);
    if (s || (s = dolor__check_finite(x, n, "x")))
        return s;
    if (n < 2)
        return dolor_error(DOLOR_ENUMERIC, "t test: %zu observation(s); need at least 2", n);
    double m = dolor_stats_mean(x, n), v = dolor_stats_var(x, n);
    double se = sqrt(v / (double)n);
    if (se < 10 * 2.220446049250313e-16 * fabs(m))
        return dolor_error(DOLOR_ENUMERIC, "t test: data are essentially constant");
    double df = (double)n - 1;
    double t = (m - mu) / se;
    out->statistic = t;
    out->df = df;
    out->estimate = m;
    out->se = se;
    out->n = n;
    dolor__t_pvalues(t, df, out);
    double q = qt(1 - (1 - conf) / 2, df, 1, 0);
    out->ci_lo = mu + (t - q) * se;
    out->ci_hi = mu + (t + q) * se;
    return DOLOR_OK;
}

dolor_status dolor_stats_ttest_paired(const double *x, const double *y, size_t n, double conf,
                                      dolor_test_result *out)
{
    dolor_status s;
    if ((s = dolor__check_finite(x, n, "x")) || (s = dolor__check_finite(y, n, "y")))
        return s;
    double *d = malloc((n ? n : 1) * sizeof *d);
    if (!d)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        d[i] = x[i] - y[i];
    s = dolor_stats_ttest_one(d, n, 0.0, conf, out);
    free(d);
    if (!s)
        strcpy(out->method, "Paired t-test");
    return s;
}

dolor_status dolor_stats_ttest(const double *x, size_t nx, const double *y, size_t ny, int var_equal, double conf,
                               dolor_test_result *out)
{
    dolor__result_init(out, var_equal ? " Two Sample t-test" : "Welch Two Sample t-test");
    dolor_status s = check_conf(conf);
    if (s || (s = dolor__check_finite(x, nx, "x")) || (s = dolor__check_finite(y, ny, "y")))
        return s;
    if (nx < 2 || ny < 2)
        return dolor_error(DOLOR_ENUMERIC, "t test: groups have %zu and %zu observations; need at least 2 each", nx,
                           ny);
    double mx = dolor_stats_mean(x, nx), my = dolor_stats_mean(y, ny);
    double vx = dolor_stats_var(x, nx), vy = dolor_stats_var(y, ny);
    double df, se;
    if (var_equal) {
        df = (double)nx + (double)ny - 2;
        double v = ((double)(nx - 1) * vx + (double)(ny - 1) * vy) / df;
        se = sqrt(v * (1.0 / (double)nx + 1.0 / (double)ny));
    } else {
        double sx = vx / (double)nx, sy = vy / (double)ny;
        se = sqrt(sx + sy);
        df = (se * se) * (se * se) / (sx * sx / (double)(nx - 1) + sy * sy / (double)(ny - 1));
    }
    if (se < 10 * 2.220446049250313e-16 * fmax(fabs(mx), fabs(my)))
        return dolor_error(DOLOR_ENUMERIC, "t test: data are essentially constant");
    double t = (mx - my) / se;
    out->statistic = t;
    out->df = df;
    out->estimate = mx - my;
    out->se = se;
    out->n = nx + ny;
    dolor__t_pvalues(t, df, out);
    double q = qt(1 - (1 - conf) / 2, df, 1, 0);
    out->ci_lo = (t - q) * se;
    out->ci_hi = (t + q) * se;
    return DOLOR_OK;
}

/* one-way ANOVA core on (y, g); counts already validated */
static void anova_core(const double *y, const int *g, size_t n, int k, const size_t *counts, double *means,
                       dolor_anova *a)
{
    long double tot = 0;
    for (int j = 0; j < k; j++) {
        long double sj = 0;
        for (size_t i = 0; i < n; i++)
            if (g[i] == j)
                sj += y[i];
        tot += sj;
        means[j] = (double)(sj / (long double)counts[j]);
    }
    double gm = (double)(tot / (long double)n);
    long double ssw = 0, ssb = 0;
    for (size_t i = 0; i < n; i++) {
        long double d = (long double)y[i] - means[g[i]];
        ssw += d * d;
    }
    for (int j = 0; j < k; j++) {
        long double d = (long double)means[j] - gm;
        ssb += (long double)counts[j] * d * d;
    }
    a->df_between = k - 1;
    a->df_within = (double)n - k;
    a->ss_between = (double)ssb;
    a->ss_within = (double)ssw;
    a->ms_between = a->ss_between / a->df_between;
    a->ms_within = a->ss_within / a->df_within;
    a->F = a->ms_between / a->ms_within;
    a->p = pf(a->F, a->df_between, a->df_within, 0, 0);
}

dolor_status dolor_stats_anova(const double *y, const int *g, size_t n, int k, dolor_anova *out, double *means,
                               size_t *counts)
{
    memset(out, 0, sizeof *out);
    size_t *cnt = malloc((size_t)(k > 0 ? k : 1) * sizeof *cnt);
    double *mv = malloc((size_t)(k > 0 ? k : 1) * sizeof *mv);
    if (!cnt || !mv) {
        free(cnt);
        free(mv);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    dolor_status s = dolor__check_groups(y, g, n, k, 1, cnt);
    if (!s && n <= (size_t)k)
        s = dolor_error(DOLOR_ENUMERIC, "ANOVA: %zu observations in %d groups; need more observations than groups",
                        n, k);
    if (!s) {
        anova_core(y, g, n, k, cnt, mv, out);
        for (int j = 0; j < k; j++) {
            if (means)
                means[j] = mv[j];
            if (counts)
                counts[j] = cnt[j];
        }
    }
    free(cnt);
    free(mv);
    return s;
}

dolor_status dolor_stats_levene(const double *y, const int *g, size_t n, int k, dolor_levene_center center,
                                dolor_test_result *out)
{
    dolor__result_init(out, center == DOLOR_LEVENE_MEDIAN ? "Levene's test (center = median, Brown-Forsythe)"
                                                          : "Levene's test (center = mean)");
    if (center != DOLOR_LEVENE_MEAN && center != DOLOR_LEVENE_MEDIAN)
        return dolor_error(DOLOR_EINVAL, "Levene centre %d is not mean (0) or median (1)", (int)center);
    size_t *cnt = malloc((size_t)(k > 0 ? k : 1) * sizeof *cnt);
    double *ctr = malloc((size_t)(k > 0 ? k : 1) * sizeof *ctr);
    double *z = malloc((n ? n : 1) * sizeof *z);
    double *buf = malloc((n ? n : 1) * sizeof *buf);
    dolor_status s = DOLOR_OK;
    if (!cnt || !ctr || !z || !buf) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    if ((s = dolor__check_groups(y, g, n, k, 1, cnt)))
        goto done;
    if (n <= (size_t)k) {
        s = dolor_error(DOLOR_ENUMERIC, "Levene: %zu observations in %d groups; need more observations than groups",
                        n, k);
        goto done;
    }
    for (int j = 0; j < k; j++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (g[i] == j)
                buf[m++] = y[i];
        if (center == DOLOR_LEVENE_MEAN) {
            ctr[j] = dolor_stats_mean(buf, m);
        } else {
            ctr[j] = dolor__median_inplace(buf, m);
        }
    }
    for (size_t i = 0; i < n; i++)
        z[i] = fabs(y[i] - ctr[g[i]]);
    dolor_anova a;
    anova_core(z, g, n, k, cnt, buf, &a);
    out->statistic = a.F;
    out->df = a.df_between;
    out->df2 = a.df_within;
    out->p = a.p;
    out->n = n;
done:
    free(cnt);
    free(ctr);
    free(z);
    free(buf);
    return s;
}

dolor_status dolor_stats_welch_anova(const double *y, const int *g, size_t n, int k, dolor_test_result *out)
{
    dolor__result_init(out, "One-way analysis of means (not assuming equal variances)");
    size_t *cnt = malloc((size_t)(k > 0 ? k : 1) * sizeof *cnt);
    double *m = malloc((size_t)(k > 0 ? k : 1) * 2 * sizeof *m);
    double *buf = malloc((n ? n : 1) * sizeof *buf);
    dolor_status s = DOLOR_OK;
    if (!cnt || !m || !buf) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    if ((s = dolor__check_groups(y, g, n, k, 2, cnt)))
        goto done;
    double *v = m + k;
    for (int j = 0; j < k; j++) {
        size_t q = 0;
        for (size_t i = 0; i < n; i++)
            if (g[i] == j)
                buf[q++] = y[i];
        m[j] = dolor_stats_mean(buf, q);
        v[j] = dolor_stats_var(buf, q);
        if (!(v[j] > 0)) {
            s = dolor_error(DOLOR_ENUMERIC, "Welch ANOVA: group %d has zero variance", j);
            goto done;
        }
    }
    double sw = 0, swm = 0;
    for (int j = 0; j < k; j++) {
        double w = (double)cnt[j] / v[j];
        sw += w;
        swm += w * m[j];
    }
    double mm = swm / sw, tmp = 0, num = 0;
    for (int j = 0; j < k; j++) {
        double w = (double)cnt[j] / v[j];
        double a = 1 - w / sw;
        tmp += a * a / ((double)cnt[j] - 1);
        num += w * (m[j] - mm) * (m[j] - mm);
    }
    tmp /= (double)k * k - 1;
    out->statistic = num / (((double)k - 1) * (1 + 2 * ((double)k - 2) * tmp));
    out->df = k - 1;
    out->df2 = 1 / (3 * tmp);
    out->p = pf(out->statistic, out->df, out->df2, 0, 0);
    out->n = n;
done:
    free(cnt);
    free(m);
    free(buf);
    return s;
}

typedef struct {
    double p;
    size_t i;
} p_idx;

static int cmp_pidx(const void *a, const void *b)
{
    const p_idx *x = a, *y = b;
    if (x->p < y->p)
        return -1;
    if (x->p > y->p)
        return 1;
    return (x->i > y->i) - (x->i < y->i);
}

dolor_status dolor_stats_p_adjust(const double *p, size_t m, dolor_p_adjust method, double *out)
{
    if (method != DOLOR_P_ADJUST_NONE && method != DOLOR_P_ADJUST_BONFERRONI && method != DOLOR_P_ADJUST_HOLM)
        return dolor_error(DOLOR_EINVAL, "p adjustment method %d is unknown", (int)method);
    p_idx *v = malloc((m ? m : 1) * sizeof *v);
    if (!v)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < m; i++)
        if (!isnan(p[i])) {
            v[k].p = p[i];
            v[k].i = i;
            k++;
        }
    for (size_t i = 0; i < m; i++)
        out[i] = p[i];
    if (method == DOLOR_P_ADJUST_BONFERRONI) {
        for (size_t q = 0; q < k; q++)
            out[v[q].i] = fmin(1.0, (double)k * v[q].p);
    } else if (method == DOLOR_P_ADJUST_HOLM) {
        qsort(v, k, sizeof *v, cmp_pidx);
        double run = 0;
        for (size_t q = 0; q < k; q++) {
            double a = fmin(1.0, (double)(k - q) * v[q].p);
            if (a > run)
                run = a;
            out[v[q].i] = run;
        }
    }
    free(v);
    return DOLOR_OK;
}

dolor_status dolor_stats_pairwise_t(const double *y, const int *g, size_t n, int k, int pool_sd,
                                    dolor_p_adjust adjust, double *p, double *t)
{
    if (k < 2)
        return dolor_error(DOLOR_EINVAL, "number of groups is %d; need at least 2", k);
    size_t kk = (size_t)k * (size_t)k;
    for (size_t i = 0; i < kk; i++) {
        p[i] = NAN;
        if (t)
            t[i] = NAN;
    }
    size_t *cnt = malloc((size_t)k * sizeof *cnt);
    double *means = malloc((size_t)k * sizeof *means);
    double *bi = malloc((n ? n : 1) * sizeof *bi), *bj = malloc((n ? n : 1) * sizeof *bj);
    double *raw = malloc(kk * sizeof *raw);
    dolor_status s = DOLOR_OK;
    if (!cnt || !means || !bi || !bj || !raw) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    if ((s = dolor__check_groups(y, g, n, k, pool_sd ? 1 : 2, cnt)))
        goto done;
    double sd = NAN, df = NAN;
    if (pool_sd) {
        dolor_anova a;
        if (n <= (size_t)k) {
            s = dolor_error(DOLOR_ENUMERIC, "pairwise t: %zu observations in %d groups; need more", n, k);
            goto done;
        }
        anova_core(y, g, n, k, cnt, means, &a);
        sd = sqrt(a.ms_within);
        df = a.df_within;
    }
    for (size_t i = 0; i < kk; i++)
        raw[i] = NAN;
    for (int i = 1; i < k; i++)
        for (int j = 0; j < i; j++) {
            double tv, pv;
            if (pool_sd) {
                tv = (means[i] - means[j]) / (sd * sqrt(1.0 / (double)cnt[i] + 1.0 / (double)cnt[j]));
                pv = 2 * pt(-fabs(tv), df, 1, 0);
            } else {
                size_t ni = 0, nj = 0;
                for (size_t q = 0; q < n; q++) {
                    if (g[q] == i)
                        bi[ni++] = y[q];
                    else if (g[q] == j)
                        bj[nj++] = y[q];
                }
                dolor_test_result r;
                if ((s = dolor_stats_ttest(bi, ni, bj, nj, 0, 0.95, &r))) {
                    dolor_error_prefix(s, "pairwise t, groups %d and %d", i, j);
                    goto done;
                }
                tv = r.statistic;
                pv = r.p;
            }
            raw[(size_t)i * k + j] = pv;
            if (t)
                t[(size_t)i * k + j] = tv;
        }
    /* adjust over the lower triangle, in R's column-major order (order does
     * not change Bonferroni or Holm) */
    s = dolor_stats_p_adjust(raw, kk, adjust, p);
done:
    free(cnt);
    free(means);
    free(bi);
    free(bj);
    free(raw);
    return s;
}

dolor_status dolor_stats_pearson(const double *x, const double *y, size_t n, double conf, dolor_test_result *out)
{
    dolor__result_init(out, "Pearson's product-moment correlation");
    dolor_status s = check_conf(conf);
    if (s || (s = dolor__check_finite(x, n, "x")) || (s = dolor__check_finite(y, n, "y")))
        return s;
    if (n < 3)
        return dolor_error(DOLOR_ENUMERIC, "Pearson correlation: %zu pairs; need at least 3", n);
    double mx = dolor_stats_mean(x, n), my = dolor_stats_mean(y, n);
    long double sxx = 0, syy = 0, sxy = 0;
    for (size_t i = 0; i < n; i++) {
        long double a = (long double)x[i] - mx, b = (long double)y[i] - my;
        sxx += a * a;
        syy += b * b;
        sxy += a * b;
    }
    if (sxx == 0 || syy == 0)
        return dolor_error(DOLOR_ENUMERIC, "Pearson correlation: %s has zero variance", sxx == 0 ? "x" : "y");
    double r = (double)(sxy / sqrtl(sxx * syy));
    if (r > 1)
        r = 1;
    if (r < -1)
        r = -1;
    double df = (double)n - 2;
    out->estimate = r;
    out->df = df;
    out->n = n;
    out->statistic = sqrt(df) * r / sqrt(1 - r * r);
    dolor__t_pvalues(out->statistic, df, out);
    if (n > 3) {
        double z = atanh(r), sg = 1 / sqrt((double)n - 3);
        double q = qnorm(1 - (1 - conf) / 2, 0, 1, 1, 0);
        out->ci_lo = tanh(z - sg * q);
        out->ci_hi = tanh(z + sg * q);
    }
    return DOLOR_OK;
}
