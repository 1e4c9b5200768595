/* Shapiro-Wilk W test: Royston (1995), "A remark on algorithm AS 181: the
 * W-test for normality", Applied Statistics 44(4):547-551 (AS R94), the
 * algorithm behind R's shapiro.test. Coefficients a_i from Royston's
 * polynomial approximations to the normal-order-statistic weights; p from
 * his normalising transformations (n = 4..11: log-gamma transformation of
 * 1 - W; n >= 12: log(1 - W) normal with log-n polynomials; n = 3: exact). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_internal.h"

/* c[0] + c[1] x + ... + c[m-1] x^(m-1) */
static double polyval(const double *c, int m, double x)
{
    double r = c[m - 1];
    for (int i = m - 2; i >= 0; i--)
        r = r * x + c[i];
    return r;
}

dolor_status dolor_stats_shapiro(const double *xin, size_t n, dolor_test_result *out)
{
    dolor__result_init(out, "Shapiro-Wilk normality test");
    dolor_status s = dolor__check_finite(xin, n, "x");
    if (s)
        return s;
    if (n < 3 || n > 5000)
        return dolor_error(DOLOR_ENUMERIC, "Shapiro-Wilk: sample size %zu is outside 3..5000", n);
    double *x = malloc(n * sizeof *x);
    size_t h = n / 2;
    double *a = malloc((h + 1) * sizeof *a); /* a[1..h] */
    if (!x || !a) {
        free(x);
        free(a);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    memcpy(x, xin, n * sizeof *x);
    qsort(x, n, sizeof *x, dolor__cmp_double);
    double range = x[n - 1] - x[0];
    if (range < 1e-10) {
        free(x);
        free(a);
        return dolor_error(DOLOR_ENUMERIC, "Shapiro-Wilk: all values are identical");
    }
    double an = (double)n;
    /* weights a_1..a_h of the smallest order statistics (sign: positive,
     * applied as a_i (x_(n+1-i) - x_(i))) */
    if (n == 3) {
        a[1] = sqrt(0.5);
    } else {
        static const double c1[6] = {0.0, 0.221157, -0.147981, -2.07119, 4.434685, -2.706056};
        static const double c2[6] = {0.0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633};
        double *mm = malloc((h + 1) * sizeof *mm);
        if (!mm) {
            free(x);
            free(a);
            return dolor_error(DOLOR_ENOMEM, "out of memory");
        }
        double summ2 = 0;
        for (size_t i = 1; i <= h; i++) {
            mm[i] = qnorm(((double)i - 0.375) / (an + 0.25), 0, 1, 1, 0); /* negative */
            summ2 += mm[i] * mm[i];
        }
        summ2 *= 2;
        double ssumm2 = sqrt(summ2), rsn = 1 / sqrt(an);
        double a1 = polyval(c1, 6, rsn) - mm[1] / ssumm2;
        size_t first;
        double fac;
        if (n > 5) {
            double a2 = -mm[2] / ssumm2 + polyval(c2, 6, rsn);
            fac = sqrt((summ2 - 2 * mm[1] * mm[1] - 2 * mm[2] * mm[2]) / (1 - 2 * a1 * a1 - 2 * a2 * a2));
            a[2] = a2;
            first = 3;
        } else {
            fac = sqrt((summ2 - 2 * mm[1] * mm[1]) / (1 - 2 * a1 * a1));
            first = 2;
        }
        a[1] = a1;
        for (size_t i = first; i <= h; i++)
            a[i] = -mm[i] / fac;
        free(mm);
    }
    /* W = squared correlation of the full antisymmetric weight vector with x */
    double *wv = malloc(n * sizeof *wv);
    if (!wv) {
        free(x);
        free(a);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        wv[i] = 0;
    for (size_t i = 1; i <= h; i++) {
        wv[i - 1] = -a[i];
        wv[n - i] = a[i];
    }
    long double sa = 0, sx = 0;
    for (size_t i = 0; i < n; i++) {
        sa += wv[i];
        sx += x[i] / range;
    }
    sa /= an;
    sx /= an;
    long double ssa = 0, ssx = 0, sax = 0;
    for (size_t i = 0; i < n; i++) {
        long double asa = wv[i] - sa, xsx = x[i] / range - sx;
        ssa += asa * asa;
        ssx += xsx * xsx;
        sax += asa * xsx;
    }
    long double ssassx = sqrtl(ssa * ssx);
    double w1 = (double)((ssassx - sax) * (ssassx + sax) / (ssa * ssx));
    double w = 1 - w1;
    free(wv);
    free(x);
    free(a);
    out->statistic = w;
    out->n = n;
    double pw;
    if (n == 3) {
        const double pi6 = 6 / M_PI, stqr = M_PI / 3;
        pw = pi6 * (asin(sqrt(w)) - stqr);
        if (pw < 0)
            pw = 0;
        if (pw > 1)
            pw = 1;
    } else {
        double y = log(w1), m, sd;
        if (n <= 11) {
            static const double g[2] = {-2.273, 0.459};
            static const double c3[4] = {0.544, -0.39978, 0.025054, -6.714e-4};
            static const double c4[4] = {1.3822, -0.77857, 0.062767, -0.0020322};
            double gamma = polyval(g, 2, an);
            if (y >= gamma) {
                out->p = 1e-99;
                return DOLOR_OK;
            }
            y = -log(gamma - y);
            m = polyval(c3, 4, an);
            sd = exp(polyval(c4, 4, an));
        } else {
            static const double c5[4] = {-1.5861, -0.31082, -0.083751, 0.0038915};
            static const double c6[3] = {-0.4803, -0.082676, 0.0030302};
            double xx = log(an);
            m = polyval(c5, 4, xx);
            sd = exp(polyval(c6, 3, xx));
        }
        pw = pnorm(y, m, sd, 0, 0);
    }
    out->p = pw;
    return DOLOR_OK;
}
