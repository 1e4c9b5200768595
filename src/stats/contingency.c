/* Contingency tables as R computes them: chisq.test (Pearson, Yates for 2x2
 * capped as R caps it) and fisher.test (2x2 with the conditional MLE odds
 * ratio and its exact CI; r x c by complete enumeration). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_internal.h"

static dolor_status check_table(const double *t, int r, int c, const char *what, double *rs, double *cs,
                                double *N)
{
    if (r < 2 || c < 2)
        return dolor_error(DOLOR_EINVAL, "%s: table is %dx%d; need at least 2x2", what, r, c);
    for (int i = 0; i < r; i++)
        rs[i] = 0;
    for (int j = 0; j < c; j++)
        cs[j] = 0;
    *N = 0;
    for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++) {
            double v = t[i * c + j];
            if (!isfinite(v) || v < 0 || v != floor(v))
                return dolor_error(DOLOR_EINVAL, "%s: cell [%d,%d] is %g; counts must be non-negative integers", what,
                                   i + 1, j + 1, v);
            rs[i] += v;
            cs[j] += v;
            *N += v;
        }
    for (int i = 0; i < r; i++)
        if (rs[i] == 0)
            return dolor_error(DOLOR_ENUMERIC, "%s: row %d has a zero margin", what, i + 1);
    for (int j = 0; j < c; j++)
        if (cs[j] == 0)
            return dolor_error(DOLOR_ENUMERIC, "%s: column %d has a zero margin", what, j + 1);
    return DOLOR_OK;
}

dolor_status dolor_stats_chisq(const double *counts, int r, int c, int correct, dolor_test_result *out,
                               double *expected)
{
    int yates = correct && r == 2 && c == 2;
    dolor__result_init(out, yates ? "Pearson's Chi-squared test with Yates' continuity correction"
                                  : "Pearson's Chi-squared test");
    if (r < 2 || c < 2)
        return dolor_error(DOLOR_EINVAL, "chi-square: table is %dx%d; need at least 2x2", r, c);
    double *rs = malloc((size_t)(r + c) * sizeof *rs);
    if (!rs)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    double *cs = rs + r, N;
    dolor_status s = check_table(counts, r, c, "chi-square", rs, cs, &N);
    if (s) {
        free(rs);
        return s;
    }
    double corr = 0;
    if (yates) {
        corr = 0.5;
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
                corr = fmin(corr, fabs(counts[i * 2 + j] - rs[i] * cs[j] / N));
    }
    double st = 0;
    for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++) {
            double E = rs[i] * cs[j] / N;
            if (expected)
                expected[i * c + j] = E;
            double d = fabs(counts[i * c + j] - E) - corr;
            st += d * d / E;
        }
    free(rs);
    out->statistic = st;
    out->df = (double)(r - 1) * (c - 1);
    out->p = pchisq(st, out->df, 0, 0);
    out->n = (size_t)N;
    return DOLOR_OK;
}

/* ---- Fisher 2x2: noncentral hypergeometric of a = table[0][0] given the
 * margins; m = column-1 total, nn = column-2 total, k = row-1 total. ---- */
typedef struct {
    int lo, hi, x;
    double *logdc; /* log dhyper over lo..hi */
} nchyper;

/* densities at odds ratio exp(lt) (normalised) into d */
static void nc_density(const nchyper *h, double lt, double *d)
{
    int len = h->hi - h->lo + 1;
    double mx = -INFINITY;
    for (int i = 0; i < len; i++) {
        d[i] = h->logdc[i] + lt * (h->lo + i);
        if (d[i] > mx)
            mx = d[i];
    }
    double s = 0;
    for (int i = 0; i < len; i++) {
        d[i] = exp(d[i] - mx);
        s += d[i];
    }
    for (int i = 0; i < len; i++)
        d[i] /= s;
}

static double nc_mean(const nchyper *h, double lt, double *d)
{
    nc_density(h, lt, d);
    double m = 0;
    for (int i = 0; i <= h->hi - h->lo; i++)
        m += (h->lo + i) * d[i];
    return m;
}

/* P(A <= x) (upper = 0) or P(A >= x) (upper = 1) at odds ratio exp(lt) */
static double nc_tail(const nchyper *h, double lt, int upper, double *d)
{
    nc_density(h, lt, d);
    double p = 0;
    for (int i = 0; i <= h->hi - h->lo; i++) {
        int v = h->lo + i;
        if (upper ? v >= h->x : v <= h->x)
            p += d[i];
    }
    return p;
}

/* root in log(odds ratio) of an increasing (sign = 1) or decreasing
 * (sign = -1) function f(lt) - target, by bisection to machine precision */
typedef double (*nc_fn)(const nchyper *, double, double *, int);
static double f_mean(const nchyper *h, double lt, double *d, int aux)
{
    (void)aux;
    return nc_mean(h, lt, d);
}
static double f_tail(const nchyper *h, double lt, double *d, int upper)
{
    return nc_tail(h, lt, upper, d);
}

static double solve_log(const nchyper *h, nc_fn f, int aux, double target, int increasing, double *d)
{
    double lo = -1, hi = 1;
    /* bracket */
    for (int i = 0; i < 200; i++) {
        double v = f(h, lo, d, aux) - target;
        if (increasing ? v < 0 : v > 0)
            break;
        lo *= 2;
    }
    for (int i = 0; i < 200; i++) {
        double v = f(h, hi, d, aux) - target;
        if (increasing ? v > 0 : v < 0)
            break;
        hi *= 2;
    }
    for (int it = 0; it < 400; it++) {
        double mid = 0.5 * (lo + hi);
        if (mid <= lo || mid >= hi)
            break;
        double v = f(h, mid, d, aux) - target;
        if (v == 0)
            return mid;
        if (increasing ? v < 0 : v > 0)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

static dolor_status fisher_2x2(const double *t, double conf, dolor_test_result *out)
{
    double m = t[0] + t[2], nn = t[1] + t[3], k = t[0] + t[1];
    nchyper h;
    h.x = (int)t[0];
    h.lo = (int)fmax(0, k - nn);
    h.hi = (int)fmin(k, m);
    int len = h.hi - h.lo + 1;
    h.logdc = malloc((size_t)len * 2 * sizeof(double));
    if (!h.logdc)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    double *d = h.logdc + len;
    for (int i = 0; i < len; i++)
        h.logdc[i] = dhyper(h.lo + i, m, nn, k, 1);
    /* p values at odds ratio 1 */
    nc_density(&h, 0.0, d);
    double pobs = d[h.x - h.lo], p2 = 0;
    for (int i = 0; i < len; i++)
        if (d[i] <= pobs * (1 + 1e-7))
            p2 += d[i];
    out->p = fmin(1.0, p2);
    out->p_less = phyper(h.x, m, nn, k, 1, 0);
    out->p_greater = phyper(h.x - 1, m, nn, k, 0, 0);
    /* conditional MLE */
    if (h.x == h.lo)
        out->estimate = 0;
    else if (h.x == h.hi)
        out->estimate = INFINITY;
    else
        out->estimate = exp(solve_log(&h, f_mean, 0, (double)h.x, 1, d));
    double alpha = (1 - conf) / 2;
    if (h.x == h.hi)
        out->ci_hi = INFINITY;
    else /* P(A <= x) decreasing in the odds ratio */
        out->ci_hi = exp(solve_log(&h, f_tail, 0, alpha, 0, d));
    if (h.x == h.lo)
        out->ci_lo = 0;
    else /* P(A >= x) increasing */
        out->ci_lo = exp(solve_log(&h, f_tail, 1, alpha, 1, d));
    free(h.logdc);
    return DOLOR_OK;
}

/* ---- r x c: enumerate tables column by column ---- */
typedef struct {
    int r, c;
    int *rem;          /* remaining row margins */
    const int *cs;     /* column margins */
    int *cell;         /* current column being filled */
    double *lfact;     /* log factorials 0..N */
    double lconst;     /* log of sum(log r!) + sum(log c!) - log N! */
    double lobs;       /* log P(observed) + tolerance */
    double psum;
    double count, limit;
    int overflow;
} rxc_state;

static void rxc_col(rxc_state *st, int j, double lp);

static void rxc_fill(rxc_state *st, int j, int i, int left, double lp)
{
    if (st->overflow)
        return;
    if (i == st->r - 1) {
        if (left > st->rem[i])
            return;
        st->rem[i] -= left;
        rxc_col(st, j + 1, lp - st->lfact[left]);
        st->rem[i] += left;
        return;
    }
    /* the rows below i can absorb at most sum(rem[i+1..]) */
    int below = 0;
    for (int q = i + 1; q < st->r; q++)
        below += st->rem[q];
    int lo = left - below > 0 ? left - below : 0;
    int hi = left < st->rem[i] ? left : st->rem[i];
    for (int v = lo; v <= hi; v++) {
        st->rem[i] -= v;
        rxc_fill(st, j, i + 1, left - v, lp - st->lfact[v]);
        st->rem[i] += v;
    }
}

static void rxc_col(rxc_state *st, int j, double lp)
{
    if (st->overflow)
        return;
    if (j == st->c - 1) {
        /* last column is forced: the remaining row margins */
        double l = lp;
        for (int i = 0; i < st->r; i++)
            l -= st->lfact[st->rem[i]];
        if (l <= st->lobs)
            st->psum += exp(l);
        if (++st->count > st->limit)
            st->overflow = 1;
        return;
    }
    rxc_fill(st, j, 0, st->cs[j], lp);
}

static dolor_status fisher_rxc(const double *t, int r, int c, const double *rs, const double *cs, double N,
                               dolor_test_result *out)
{
    /* put the longer dimension in rows, columns enumerate faster when few */
    int R = r, C = c, tr = 0;
    if (c > r) {
        R = c;
        C = r;
        tr = 1;
    }
    int n = (int)N;
    rxc_state st;
    memset(&st, 0, sizeof st);
    st.r = R;
    st.c = C;
    st.rem = malloc((size_t)R * sizeof(int));
    int *csv = malloc((size_t)C * sizeof(int));
    st.lfact = malloc(((size_t)n + 1) * sizeof(double));
    if (!st.rem || !csv || !st.lfact) {
        free(st.rem);
        free(csv);
        free(st.lfact);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    st.lfact[0] = 0;
    for (int i = 1; i <= n; i++)
        st.lfact[i] = lgammafn(i + 1.0);
    for (int i = 0; i < R; i++)
        st.rem[i] = (int)(tr ? cs[i] : rs[i]);
    for (int j = 0; j < C; j++)
        csv[j] = (int)(tr ? rs[j] : cs[j]);
    st.cs = csv;
    double lc = -st.lfact[n];
    for (int i = 0; i < R; i++)
        lc += st.lfact[st.rem[i]];
    for (int j = 0; j < C; j++)
        lc += st.lfact[csv[j]];
    double lobs = lc;
    for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++)
            lobs -= st.lfact[(int)t[i * c + j]];
    st.lobs = lobs + log1p(1e-7);
    st.limit = 5e7;
    rxc_col(&st, 0, lc);
    free(st.rem);
    free(csv);
    free(st.lfact);
    if (st.overflow)
        return dolor_error(DOLOR_EUNSUPPORTED,
                           "Fisher exact: the %dx%d table with n = %d has more than 5e7 tables with its margins; "
                           "use the chi-square test",
                           r, c, n);
    out->p = fmin(1.0, st.psum);
    return DOLOR_OK;
}

dolor_status dolor_stats_fisher(const double *counts, int r, int c, double conf, dolor_test_result *out)
{
    dolor__result_init(out, "Fisher's Exact Test for Count Data");
    if (!(conf > 0 && conf < 1))
        return dolor_error(DOLOR_EINVAL, "confidence level %g is outside (0, 1)", conf);
    if (r < 2 || c < 2)
        return dolor_error(DOLOR_EINVAL, "Fisher exact: table is %dx%d; need at least 2x2", r, c);
    double *rs = malloc((size_t)(r + c) * sizeof *rs);
    if (!rs)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    double *cs = rs + r, N;
    dolor_status s = check_table(counts, r, c, "Fisher exact", rs, cs, &N);
    if (!s && N > 1e6)
        s = dolor_error(DOLOR_EUNSUPPORTED, "Fisher exact: n = %g is too large; use the chi-square test", N);
    if (!s) {
        out->exact = 1;
        out->n = (size_t)N;
        if (r == 2 && c == 2)
            s = fisher_2x2(counts, conf, out);
        else
            s = fisher_rxc(counts, r, c, rs, cs, N, out);
    }
    free(rs);
    return s;
}
