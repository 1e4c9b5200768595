/* Rank tests as R computes them: wilcox.test (rank sum and signed rank,
 * exact via Rmath's pwilcox/psignrank or the tie-corrected normal
 * approximation), kruskal.test, and cor.test(method = "spearman") with the
 * AS 89 p-value. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_internal.h"

/* normal-approximation p-values for a statistic centred at mean, with the
 * continuity correction of R's wilcox.test */
static void normal_pvalues(double stat, double mean, double sigma, int correct, dolor_test_result *r)
{
    double z0 = stat - mean;
    double corr = correct ? (z0 > 0 ? 0.5 : (z0 < 0 ? -0.5 : 0.0)) : 0.0;
    double z = (z0 - corr) / sigma;
    r->z = z;
    r->sigma = sigma;
    r->p = 2 * fmin(pnorm(z, 0, 1, 1, 0), pnorm(z, 0, 1, 0, 0));
    double zl = (z0 - (correct ? -0.5 : 0.0)) / sigma;
    double zg = (z0 - (correct ? 0.5 : 0.0)) / sigma;
    r->p_less = pnorm(zl, 0, 1, 1, 0);
    r->p_greater = pnorm(zg, 0, 1, 0, 0);
    r->exact = 0;
}

dolor_status dolor_stats_mannwhitney(const double *x, size_t nx, const double *y, size_t ny, int exact, int correct,
                                     dolor_test_result *out)
{
    dolor__result_init(out, "Wilcoxon rank sum test");
    dolor_status s;
    if ((s = dolor__check_finite(x, nx, "x")) || (s = dolor__check_finite(y, ny, "y")))
        return s;
    if (nx < 1 || ny < 1)
        return dolor_error(DOLOR_ENUMERIC, "Mann-Whitney: groups have %zu and %zu observations; need at least 1 each",
                           nx, ny);
    size_t n = nx + ny;
    double *all = malloc(n * sizeof *all), *r = malloc(n * sizeof *r);
    if (!all || !r) {
        free(all);
        free(r);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    memcpy(all, x, nx * sizeof *all);
    memcpy(all + nx, y, ny * sizeof *all);
    double tt;
    if ((s = dolor_stats_rank(all, n, r, &tt))) {
        free(all);
        free(r);
        return s;
    }
    double rs = 0;
    for (size_t i = 0; i < nx; i++)
        rs += r[i];
    double W = rs - (double)nx * ((double)nx + 1) / 2;
    double m = (double)nx, nn = (double)ny;
    out->statistic = W;
    out->n = n;
    int want_exact = exact < 0 ? (nx < 50 && ny < 50) : exact;
    if (want_exact && tt == 0) {
        out->exact = 1;
        strcpy(out->method, "Wilcoxon rank sum exact test");
        double p;
        if (W > m * nn / 2)
            p = pwilcox(W - 1, m, nn, 0, 0);
        else
            p = pwilcox(W, m, nn, 1, 0);
        out->p = fmin(2 * p, 1.0);
        out->p_less = pwilcox(W, m, nn, 1, 0);
        out->p_greater = pwilcox(W - 1, m, nn, 0, 0);
        wilcox_free();
    } else {
        double sigma = sqrt((m * nn / 12) * ((m + nn + 1) - tt / ((m + nn) * (m + nn - 1))));
        if (!(sigma > 0)) {
            free(all);
            free(r);
            return dolor_error(DOLOR_ENUMERIC, "Mann-Whitney: all values are equal");
        }
        normal_pvalues(W, m * nn / 2, sigma, correct, out);
        strcpy(out->method, correct ? "Wilcoxon rank sum test with continuity correction" : "Wilcoxon rank sum test");
    }
    /* Hodges-Lehmann shift: median of the nx*ny differences */
    if ((double)nx * (double)ny <= 4e6) { /* 32 MB at most */
        double *d = malloc(nx * ny * sizeof *d);
        if (d) {
            size_t q = 0;
            for (size_t i = 0; i < nx; i++)
                for (size_t j = 0; j < ny; j++)
                    d[q++] = x[i] - y[j];
            out->estimate = dolor__median_inplace(d, q);
            free(d);
        }
    }
    free(all);
    free(r);
    return DOLOR_OK;
}

dolor_status dolor_stats_wilcoxon_signed(const double *x, const double *y, size_t n, int exact, int correct,
                                         dolor_test_result *out)
{
    dolor__result_init(out, "Wilcoxon signed rank test");
    dolor_status s;
    if ((s = dolor__check_finite(x, n, "x")) || (y && (s = dolor__check_finite(y, n, "y"))))
        return s;
    double *d = malloc((n ? n : 1) * sizeof *d), *ad = malloc((n ? n : 1) * sizeof *ad),
           *r = malloc((n ? n : 1) * sizeof *r);
    if (!d || !ad || !r) {
        free(d);
        free(ad);
        free(r);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    size_t m = 0;
    int zeros = 0;
    for (size_t i = 0; i < n; i++) {
        double v = y ? x[i] - y[i] : x[i];
        if (v == 0) {
            zeros = 1;
            continue;
        }
        d[m] = v;
        ad[m] = fabs(v);
        m++;
    }
    if (m == 0) {
        free(d);
        free(ad);
        free(r);
        return dolor_error(DOLOR_ENUMERIC, "Wilcoxon signed rank: %s", n ? "all differences are zero" : "no pairs");
    }
    double tt;
    if ((s = dolor_stats_rank(ad, m, r, &tt))) {
        free(d);
        free(ad);
        free(r);
        return s;
    }
    double V = 0;
    for (size_t i = 0; i < m; i++)
        if (d[i] > 0)
            V += r[i];
    double nn = (double)m;
    out->statistic = V;
    out->n = m;
    int want_exact = exact < 0 ? (m < 50) : exact;
    if (want_exact && tt == 0 && !zeros) {
        out->exact = 1;
        strcpy(out->method, "Wilcoxon signed rank exact test");
        double p;
        if (V > nn * (nn + 1) / 4)
            p = psignrank(V - 1, nn, 0, 0);
        else
            p = psignrank(V, nn, 1, 0);
        out->p = fmin(2 * p, 1.0);
        out->p_less = psignrank(V, nn, 1, 0);
        out->p_greater = psignrank(V - 1, nn, 0, 0);
        signrank_free();
    } else {
        double sigma = sqrt(nn * (nn + 1) * (2 * nn + 1) / 24 - tt / 48);
        normal_pvalues(V, nn * (nn + 1) / 4, sigma, correct, out);
        strcpy(out->method,
               correct ? "Wilcoxon signed rank test with continuity correction" : "Wilcoxon signed rank test");
    }
    out->estimate = dolor__median_inplace(d, m);
    free(d);
    free(ad);
    free(r);
    return DOLOR_OK;
}

dolor_status dolor_stats_kruskal(const double *y, const int *g, size_t n, int k, dolor_test_result *out)
{
    dolor__result_init(out, "Kruskal-Wallis rank sum test");
    size_t *cnt = malloc((size_t)(k > 0 ? k : 1) * sizeof *cnt);
    double *r = malloc((n ? n : 1) * sizeof *r);
    double *rs = calloc((size_t)(k > 0 ? k : 1), sizeof *rs);
    dolor_status s = DOLOR_OK;
    if (!cnt || !r || !rs) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    if ((s = dolor__check_groups(y, g, n, k, 1, cnt)))
        goto done;
    double tt;
    if ((s = dolor_stats_rank(y, n, r, &tt)))
        goto done;
    for (size_t i = 0; i < n; i++)
        rs[g[i]] += r[i];
    double N = (double)n, st = 0;
    for (int j = 0; j < k; j++)
        st += rs[j] * rs[j] / (double)cnt[j];
    double denom = 1 - tt / (N * N * N - N);
    if (!(denom > 0)) {
        s = dolor_error(DOLOR_ENUMERIC, "Kruskal-Wallis: all values are equal");
        goto done;
    }
    out->statistic = (12 * st / (N * (N + 1)) - 3 * (N + 1)) / denom;
    out->df = k - 1;
    out->p = pchisq(out->statistic, out->df, 0, 0);
    out->n = n;
done:
    free(cnt);
    free(r);
    free(rs);
    return s;
}

/* ---- Spearman: P(S >= is) (upper) or P(S < is) (lower) for n > 1, by the
 * permutation distribution (n <= 9) or the Edgeworth series of AS 89. ---- */
static void perm_count(int *p, int n, int k, double is, double *count)
{
    /* permutations of p[k..n-1]; S accumulated at the end */
    if (k == n) {
        double S = 0;
        for (int i = 0; i < n; i++) {
            double d = (double)(i + 1 - p[i]);
            S += d * d;
        }
        if (S >= is)
            *count += 1;
        return;
    }
    for (int i = k; i < n; i++) {
        int t = p[k];
        p[k] = p[i];
        p[i] = t;
        perm_count(p, n, k + 1, is, count);
        t = p[k];
        p[k] = p[i];
        p[i] = t;
    }
}

static double spearman_tail(double is, int n, int lower)
{
    double pv = lower ? 0.0 : 1.0;
    if (is <= 0)
        return pv;
    double nd = n;
    double n3 = nd * (nd * nd - 1) / 3;
    if (is > n3)
        return 1 - pv;
    if (n <= 9) {
        int p[9];
        for (int i = 0; i < n; i++)
            p[i] = i + 1;
        double cnt = 0, nf = 1;
        for (int i = 2; i <= n; i++)
            nf *= i;
        perm_count(p, n, 0, is, &cnt);
        return lower ? (nf - cnt) / nf : cnt / nf;
    }
    static const double c1 = 0.2274, c2 = 0.2531, c3 = 0.1745, c4 = 0.0758, c5 = 0.1033, c6 = 0.3932, c7 = 0.0879,
                        c8 = 0.0151, c9 = 0.0072, c10 = 0.0831, c11 = 0.0131, c12 = 4.6e-4;
    double b = 1 / nd;
    double x = (6 * (is - 1) * b / (nd * nd - 1) - 1) * sqrt(1 / b - 1);
    double y = x * x;
    double u = x * b *
               (c1 + b * (c2 + c3 * b) +
                y * (-c4 + b * (c5 + c6 * b) - y * b * (c7 + c8 * b - y * (c9 - c10 * b + y * b * (c11 - c12 * y)))));
    double up = u / exp(y / 2) + pnorm(x, 0, 1, 0, 0);
    if (up < 0)
        up = 0;
    if (up > 1)
        up = 1;
    return lower ? 1 - up : up;
}

/* R's pspearman(q, n, lower.tail) */
static double pspearman(double q, int n, int lower, int exact)
{
    if (exact && n <= 1290)
        return spearman_tail(nearbyint(q) + 2 * lower, n, lower);
    double nd = n;
    double den = nd * (nd * nd - 1) / 6;
    double r = 1 - q / den;
    return pt(r / sqrt((1 - r * r) / (nd - 2)), nd - 2, !lower, 0);
}

dolor_status dolor_stats_spearman(const double *x, const double *y, size_t n, int exact, dolor_test_result *out)
{
    dolor__result_init(out, "Spearman's rank correlation rho");
    dolor_status s;
    if ((s = dolor__check_finite(x, n, "x")) || (s = dolor__check_finite(y, n, "y")))
        return s;
    if (n < 3)
        return dolor_error(DOLOR_ENUMERIC, "Spearman correlation: %zu pairs; need at least 3", n);
    double *rx = malloc(n * sizeof *rx), *ry = malloc(n * sizeof *ry);
    if (!rx || !ry) {
        free(rx);
        free(ry);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    double tx, ty;
    dolor_stats_rank(x, n, rx, &tx);
    dolor_stats_rank(y, n, ry, &ty);
    dolor_test_result pr;
    s = dolor_stats_pearson(rx, ry, n, 0.95, &pr);
    free(rx);
    free(ry);
    if (s) {
        if (s == DOLOR_ENUMERIC)
            return dolor_error(DOLOR_ENUMERIC, "Spearman correlation: %s is constant", tx > 0 ? "x" : "y");
        return s;
    }
    double rho = pr.estimate, nd = (double)n;
    int ties = tx > 0 || ty > 0;
    int ex = exact < 0 ? (n < 1290) : exact;
    if (ties)
        ex = 0;
    double q = (nd * nd * nd - nd) * (1 - rho) / 6;
    out->statistic = q;
    out->estimate = rho;
    out->n = n;
    out->exact = ex;
    double p = q > (nd * nd * nd - nd) / 6 ? pspearman(q, (int)n, 0, ex) : pspearman(q, (int)n, 1, ex);
    out->p = fmin(2 * p, 1.0);
    out->p_greater = pspearman(q, (int)n, 1, ex);
    out->p_less = pspearman(q, (int)n, 0, ex);
    if (!ex) {
        out->df = nd - 2;
    }
    return DOLOR_OK;
}
