/* stats, section (A): every case of the R oracle (/work/shared/oracle, via
 * $DOLOR_ORACLE) for t tests, Mann-Whitney, Wilcoxon signed rank,
 * Shapiro-Wilk, Levene, ANOVA/pairwise, correlation, chi-square and Fisher;
 * plus descriptives, CSV reading, bad input and the Table 1 builder.
 * Tolerances: p-values 1e-6 relative (or 1e-12 absolute), statistics, df and
 * CIs 1e-8 relative (or 1e-12 absolute). */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "dolor/stats.h"

#include <ctype.h>
#include <stdint.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* A tiny JSON reader (objects, arrays, numbers, strings, true/false/null) */
typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;
typedef struct jv {
    jtype t;
    double num;
    char *str;
    int n;
    struct jv **items;
    char **keys;
} jv;

static void jskip(const char **p)
{
    while (isspace((unsigned char)**p))
        (*p)++;
}

static jv *jnew(jtype t)
{
    jv *v = calloc(1, sizeof *v);
    v->t = t;
    return v;
}

static char *jstring(const char **p)
{
    /* *p at opening quote; escapes limited to \" \\ \/ \n \t (enough here) */
    (*p)++;
    size_t cap = 16, len = 0;
    char *s = malloc(cap);
    while (**p && **p != '"') {
        char ch = **p;
        if (ch == '\\') {
            (*p)++;
            ch = **p == 'n' ? '\n' : **p == 't' ? '\t' : **p;
        }
        if (len + 2 > cap)
            s = realloc(s, cap *= 2);
        s[len++] = ch;
        (*p)++;
    }
    if (**p == '"')
        (*p)++;
    s[len] = 0;
    return s;
}

static jv *jparse(const char **p)
{
    jskip(p);
    jv *v;
    if (**p == '{' || **p == '[') {
        int obj = **p == '{';
        v = jnew(obj ? J_OBJ : J_ARR);
        (*p)++;
        int cap = 0;
        for (;;) {
            jskip(p);
            if (**p == (obj ? '}' : ']')) {
                (*p)++;
                break;
            }
            if (v->n == cap) {
                cap = cap ? cap * 2 : 8;
                v->items = realloc(v->items, (size_t)cap * sizeof *v->items);
                if (obj)
                    v->keys = realloc(v->keys, (size_t)cap * sizeof *v->keys);
            }
            if (obj) {
                v->keys[v->n] = jstring(p);
                jskip(p);
                (*p)++; /* ':' */
            }
            v->items[v->n++] = jparse(p);
            jskip(p);
            if (**p == ',')
                (*p)++;
        }
    } else if (**p == '"') {
        v = jnew(J_STR);
        v->str = jstring(p);
    } else if (!strncmp(*p, "true", 4) || !strncmp(*p, "false", 5)) {
        v = jnew(J_BOOL);
        v->num = **p == 't';
        *p += v->num ? 4 : 5;
    } else if (!strncmp(*p, "null", 4)) {
        v = jnew(J_NULL);
        v->num = NAN;
        *p += 4;
    } else {
        v = jnew(J_NUM);
        char *end;
        v->num = strtod(*p, &end);
        *p = end;
    }
    return v;
}

static void jfree(jv *v)
{
    if (!v)
        return;
    for (int i = 0; i < v->n; i++) {
        jfree(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

static jv *jget(const jv *o, const char *key)
{
    if (!o || o->t != J_OBJ)
        return NULL;
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->keys[i], key))
            return o->items[i];
    return NULL;
}

static double jnum(const jv *o, const char *key)
{
    jv *v = jget(o, key);
    return v && (v->t == J_NUM || v->t == J_NULL) ? v->num : NAN;
}

/* array of numbers (or of arrays of numbers, flattened row-major) */
static double *jvec(const jv *a, int *n, int *ncol)
{
    if (!a || a->t != J_ARR) {
        *n = 0;
        return NULL;
    }
    int tot = 0, nc = 1;
    for (int i = 0; i < a->n; i++)
        tot += a->items[i]->t == J_ARR ? (nc = a->items[i]->n) : 1;
    double *v = malloc((size_t)(tot ? tot : 1) * sizeof *v);
    int k = 0;
    for (int i = 0; i < a->n; i++) {
        if (a->items[i]->t == J_ARR)
            for (int j = 0; j < a->items[i]->n; j++)
                v[k++] = a->items[i]->items[j]->num;
        else
            v[k++] = a->items[i]->num;
    }
    *n = a->n;
    if (ncol)
        *ncol = nc;
    return v;
}

static jv *load_family(const char *name)
{
    const char *dir = getenv("DOLOR_ORACLE");
    if (!dir)
        dir = "../shared/oracle";
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    if (!DOLOR_TEST_NEED_DATA(path))
        return NULL;
    FILE *fp = fopen(path, "rb");
    CHECKF(fp != NULL, "cannot open %s", path);
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)sz + 1);
    size_t got = fread(buf, 1, (size_t)sz, fp);
    buf[got] = 0;
    fclose(fp);
    const char *p = buf;
    jv *root = jparse(&p);
    free(buf);
    jv *cases = jget(root, "cases");
    CHECKF(cases && cases->t == J_ARR && cases->n > 0, "%s: no cases", path);
    return root;
}

/* ------------------------------------------------------------------ */
static int n_compared;

/* p-values: 1e-6 relative or 1e-12 absolute */
static void cmp_p(const char *fam, const char *cs, const char *key, double got, double want)
{
    n_compared++;
    int ok = fabs(got - want) <= 1e-12 || fabs(got - want) <= 1e-6 * fabs(want) || (isinf(got) && got == want);
    CHECKF(ok, "%s/%s %s: got %.17g, R %.17g (rel %.3g)", fam, cs, key, got, want, fabs(got - want) / fabs(want));
}

/* statistics, df, CIs: 1e-8 relative or 1e-12 absolute */
static void cmp_s(const char *fam, const char *cs, const char *key, double got, double want)
{
    n_compared++;
    int ok = fabs(got - want) <= 1e-12 || fabs(got - want) <= 1e-8 * fabs(want) || (isinf(got) && got == want);
    CHECKF(ok, "%s/%s %s: got %.17g, R %.17g (rel %.3g)", fam, cs, key, got, want, fabs(got - want) / fabs(want));
}

#define FOR_CASES(root, c, name, out, in)                                                                    \
    jv *cases_ = jget(root, "cases");                                                                        \
    for (int ci_ = 0; cases_ && ci_ < cases_->n; ci_++) {                                                    \
        jv *c = cases_->items[ci_];                                                                          \
        const char *name = jget(c, "name")->str;                                                             \
        jv *out = jget(c, "outputs");                                                                        \
        jv *in = jget(c, "inputs");                                                                          \
        (void)in;                                                                                            \
        (void)out;

#define END_CASES }

static void test_oracle_ttests(void)
{
    const char *F = "t_tests";
    jv *root = load_family(F);
    if (!root)
        return;
    FOR_CASES(root, c, name, out, in)
    int nx, ny;
    double *x = jvec(jget(in, "x"), &nx, NULL), *y = jvec(jget(in, "y"), &ny, NULL);
    dolor_test_result r;
    const char *test = jget(c, "test")->str;
    if (strstr(test, "Paired")) {
        CHECK_OK(dolor_stats_ttest_paired(x, y, (size_t)nx, 0.95, &r));
        cmp_s(F, name, "mean_diff", r.estimate, jnum(out, "mean_diff"));
    } else {
        int ve = strstr(test, "Student") != NULL;
        CHECK_OK(dolor_stats_ttest(x, (size_t)nx, y, (size_t)ny, ve, 0.95, &r));
        cmp_s(F, name, "mean_x", dolor_stats_mean(x, (size_t)nx), jnum(out, "mean_x"));
        cmp_s(F, name, "mean_y", dolor_stats_mean(y, (size_t)ny), jnum(out, "mean_y"));
        cmp_s(F, name, "sd_x", sqrt(dolor_stats_var(x, (size_t)nx)), jnum(out, "sd_x"));
        cmp_s(F, name, "sd_y", sqrt(dolor_stats_var(y, (size_t)ny)), jnum(out, "sd_y"));
    }
    cmp_s(F, name, "t", r.statistic, jnum(out, "t"));
    cmp_s(F, name, "df", r.df, jnum(out, "df"));
    cmp_s(F, name, "stderr", r.se, jnum(out, "stderr"));
    cmp_p(F, name, "p_two_sided", r.p, jnum(out, "p_two_sided"));
    cmp_p(F, name, "p_less", r.p_less, jnum(out, "p_less"));
    cmp_p(F, name, "p_greater", r.p_greater, jnum(out, "p_greater"));
    int nci;
    double *ci = jvec(jget(out, "conf_int_95"), &nci, NULL);
    cmp_s(F, name, "conf_int_95[0]", r.ci_lo, ci[0]);
    cmp_s(F, name, "conf_int_95[1]", r.ci_hi, ci[1]);
    free(ci);
    free(x);
    free(y);
    END_CASES
    jfree(root);
}

static void test_oracle_mannwhitney(void)
{
    const char *F = "mann_whitney";
    jv *root = load_family(F);
    if (!root)
        return;
    FOR_CASES(root, c, name, out, in)
    int nx, ny;
    double *x = jvec(jget(in, "x"), &nx, NULL), *y = jvec(jget(in, "y"), &ny, NULL);
    dolor_test_result d, a1, a0;
    CHECK_OK(dolor_stats_mannwhitney(x, (size_t)nx, y, (size_t)ny, -1, 1, &d));
    CHECK_OK(dolor_stats_mannwhitney(x, (size_t)nx, y, (size_t)ny, 0, 1, &a1));
    CHECK_OK(dolor_stats_mannwhitney(x, (size_t)nx, y, (size_t)ny, 0, 0, &a0));
    cmp_s(F, name, "W", d.statistic, jnum(out, "W"));
    CHECKF(strcmp(d.method, jget(out, "default_method")->str) == 0, "%s/%s method '%s' vs R '%s'", F, name,
           d.method, jget(out, "default_method")->str);
    cmp_p(F, name, "p_default_two_sided", d.p, jnum(out, "p_default_two_sided"));
    cmp_p(F, name, "p_default_less", d.p_less, jnum(out, "p_default_less"));
    cmp_p(F, name, "p_default_greater", d.p_greater, jnum(out, "p_default_greater"));
    cmp_p(F, name, "p_normal_cc_two_sided", a1.p, jnum(out, "p_normal_cc_two_sided"));
    cmp_p(F, name, "p_normal_cc_less", a1.p_less, jnum(out, "p_normal_cc_less"));
    cmp_p(F, name, "p_normal_cc_greater", a1.p_greater, jnum(out, "p_normal_cc_greater"));
    cmp_p(F, name, "p_normal_nocc_two_sided", a0.p, jnum(out, "p_normal_nocc_two_sided"));
    cmp_s(F, name, "z_cc", a1.z, jnum(out, "z_cc"));
    cmp_s(F, name, "z_nocc", a0.z, jnum(out, "z_nocc"));
    cmp_s(F, name, "sigma_tie_corrected", a1.sigma, jnum(out, "sigma_tie_corrected"));
    double tt;
    double *all = malloc((size_t)(nx + ny) * sizeof *all), *rk = malloc((size_t)(nx + ny) * sizeof *rk);
    memcpy(all, x, (size_t)nx * sizeof *x);
    memcpy(all + nx, y, (size_t)ny * sizeof *y);
    CHECK_OK(dolor_stats_rank(all, (size_t)(nx + ny), rk, &tt));
    cmp_s(F, name, "tie_term_sum_t3_minus_t", tt, jnum(out, "tie_term_sum_t3_minus_t"));
    free(all);
    free(rk);
    if (jget(out, "p_exact_two_sided")) {
        dolor_test_result e;
        CHECK_OK(dolor_stats_mannwhitney(x, (size_t)nx, y, (size_t)ny, 1, 1, &e));
        CHECK(e.exact == 1);
        cmp_p(F, name, "p_exact_two_sided", e.p, jnum(out, "p_exact_two_sided"));
        cmp_p(F, name, "p_exact_less", e.p_less, jnum(out, "p_exact_less"));
        cmp_p(F, name, "p_exact_greater", e.p_greater, jnum(out, "p_exact_greater"));
    }
    free(x);
    free(y);
    END_CASES
    jfree(root);
}

static void test_oracle_signrank(void)
{
    const char *F = "wilcoxon_signed_rank";
    jv *root = load_family(F);
    if (!root)
        return;
    FOR_CASES(root, c, name, out, in)
    int nx, ny;
    double *x = jvec(jget(in, "x"), &nx, NULL), *y = jvec(jget(in, "y"), &ny, NULL);
    dolor_test_result d, a1, a0;
    CHECK_OK(dolor_stats_wilcoxon_signed(x, y, (size_t)nx, -1, 1, &d));
    CHECK_OK(dolor_stats_wilcoxon_signed(x, y, (size_t)nx, 0, 1, &a1));
    CHECK_OK(dolor_stats_wilcoxon_signed(x, y, (size_t)nx, 0, 0, &a0));
    cmp_s(F, name, "V", d.statistic, jnum(out, "V"));
    cmp_s(F, name, "n_nonzero", (double)d.n, jnum(out, "n_nonzero"));
    CHECKF(strcmp(d.method, jget(out, "default_method")->str) == 0, "%s/%s method '%s' vs R '%s'", F, name,
           d.method, jget(out, "default_method")->str);
    cmp_p(F, name, "p_default_two_sided", d.p, jnum(out, "p_default_two_sided"));
    cmp_p(F, name, "p_default_less", d.p_less, jnum(out, "p_default_less"));
    cmp_p(F, name, "p_default_greater", d.p_greater, jnum(out, "p_default_greater"));
    cmp_p(F, name, "p_normal_cc_two_sided", a1.p, jnum(out, "p_normal_cc_two_sided"));
    cmp_p(F, name, "p_normal_nocc_two_sided", a0.p, jnum(out, "p_normal_nocc_two_sided"));
    cmp_s(F, name, "z_cc", a1.z, jnum(out, "z_cc"));
    cmp_s(F, name, "z_nocc", a0.z, jnum(out, "z_nocc"));
    cmp_s(F, name, "sigma_tie_corrected", a1.sigma, jnum(out, "sigma_tie_corrected"));
    if (jget(out, "p_exact_two_sided")) {
        dolor_test_result e;
        CHECK_OK(dolor_stats_wilcoxon_signed(x, y, (size_t)nx, 1, 1, &e));
        cmp_p(F, name, "p_exact_two_sided", e.p, jnum(out, "p_exact_two_sided"));
    }
    free(x);
    free(y);
    END_CASES
    jfree(root);
}

static void test_oracle_shapiro(void)
{
    const char *F = "shapiro_wilk";
    jv *root = load_family(F);
    if (!root)
        return;
    FOR_CASES(root, c, name, out, in)
    int nx;
    double *x = jvec(jget(in, "x"), &nx, NULL);
    dolor_test_result r;
    CHECK_OK(dolor_stats_shapiro(x, (size_t)nx, &r));
    cmp_s(F, name, "W", r.statistic, jnum(out, "W"));
    cmp_p(F, name, "p_value", r.p, jnum(out, "p_value"));
    free(x);
    END_CASES
    jfree(root);
}

/* group labels of the oracle -> indices in sorted (factor) order */
static int *group_codes(const jv *labels, int *k)
{
    int n = labels->n;
    int *g = malloc((size_t)n * sizeof *g);
    const char *lv[64];
    int nl = 0;
    for (int i = 0; i < n; i++) {
        const char *s = labels->items[i]->str;
        int f = -1;
        for (int j = 0; j < nl; j++)
            if (!strcmp(lv[j], s))
                f = j;
        if (f < 0 && nl < 64)
            lv[nl++] = s;
    }
    /* sort levels */
    for (int a = 0; a < nl; a++)
        for (int b = a + 1; b < nl; b++)
            if (strcmp(lv[a], lv[b]) > 0) {
                const char *t = lv[a];
                lv[a] = lv[b];
                lv[b] = t;
            }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < nl; j++)
            if (!strcmp(lv[j], labels->items[i]->str))
                g[i] = j;
    *k = nl;
    return g;
}

static void test_oracle_levene(void)
{
    const char *F = "levene";
    jv *root = load_family(F);
    if (!root)
        return;
    FOR_CASES(root, c, name, out, in)
    int n, k;
    double *y = jvec(jget(in, "y"), &n, NULL);
    int *g = group_codes(jget(in, "group"), &k);
    const char *keys[2] = {"center_mean", "center_median"};
    for (int m = 0; m < 2; m++) {
        dolor_test_result r;
        CHECK_OK(dolor_stats_levene(y, g, (size_t)n, k, m ? DOLOR_LEVENE_MEDIAN : DOLOR_LEVENE_MEAN, &r));
        jv *o = jget(out, keys[m]);
        char key[64];
        snprintf(key, sizeof key, "%s.F", keys[m]);
        cmp_s(F, name, key, r.statistic, jnum(o, "F"));
        snprintf(key, sizeof key, "%s.df1", keys[m]);
        cmp_s(F, name, key, r.df, jnum(o, "df1"));
        snprintf(key, sizeof key, "%s.df2", keys[m]);
        cmp_s(F, name, key, r.df2, jnum(o, "df2"));
        snprintf(key, sizeof key, "%s.p_value", keys[m]);
        cmp_p(F, name, key, r.p, jnum(o, "p_value"));
    }
    free(y);
    free(g);
    END_CASES
    jfree(root);
}

static void cmp_lower(const char *F, const char *name, const char *key, const double *mine, int k,
                      const jv *mat, int is_p)
{
    /* R matrix rows g2..gk, cols g1..g(k-1): entry [i-1][j] = comparison of i with j, NA above diagonal */
    int nr, nc;
    double *w = jvec(mat, &nr, &nc);
    for (int i = 1; i < k; i++)
        for (int j = 0; j < k - 1; j++) {
            double want = w[(i - 1) * nc + j];
            char kk[96];
            snprintf(kk, sizeof kk, "%s[g%d,g%d]", key, i + 1, j + 1);
            if (j < i) {
                if (is_p)
                    cmp_p(F, name, kk, mine[i * k + j], want);
                else
                    cmp_s(F, name, kk, mine[i * k + j], want);
            } else {
                CHECKF(isnan(want) && isnan(mine[i * k + j]), "%s/%s %s: expected NA", F, name, kk);
            }
        }
    free(w);
}

static void test_oracle_anova(void)
{
    const char *F = "anova_bonferroni";
    jv *root = load_family(F);
    if (!root)
        return;
    FOR_CASES(root, c, name, out, in)
    int n, k;
    double *y = jvec(jget(in, "y"), &n, NULL);
    int *g = group_codes(jget(in, "group"), &k);
    dolor_anova a;
    double means[16];
    size_t counts[16];
    CHECK_OK(dolor_stats_anova(y, g, (size_t)n, k, &a, means, counts));
    cmp_s(F, name, "df_between", a.df_between, jnum(out, "df_between"));
    cmp_s(F, name, "df_within", a.df_within, jnum(out, "df_within"));
    cmp_s(F, name, "ss_between", a.ss_between, jnum(out, "ss_between"));
    cmp_s(F, name, "ss_within", a.ss_within, jnum(out, "ss_within"));
    cmp_s(F, name, "ms_between", a.ms_between, jnum(out, "ms_between"));
    cmp_s(F, name, "ms_within", a.ms_within, jnum(out, "ms_within"));
    cmp_s(F, name, "F", a.F, jnum(out, "F"));
    cmp_p(F, name, "p_value", a.p, jnum(out, "p_value"));
    int nm;
    double *gm = jvec(jget(out, "group_means"), &nm, NULL), *gn = jvec(jget(out, "group_n"), &nm, NULL);
    CHECK(nm == k);
    for (int j = 0; j < k && j < nm; j++) {
        cmp_s(F, name, "group_means", means[j], gm[j]);
        cmp_s(F, name, "group_n", (double)counts[j], gn[j]);
    }
    free(gm);
    free(gn);
    dolor_test_result w;
    CHECK_OK(dolor_stats_welch_anova(y, g, (size_t)n, k, &w));
    jv *wo = jget(out, "welch_anova");
    cmp_s(F, name, "welch_anova.F", w.statistic, jnum(wo, "F"));
    cmp_s(F, name, "welch_anova.df1", w.df, jnum(wo, "df1"));
    cmp_s(F, name, "welch_anova.df2", w.df2, jnum(wo, "df2"));
    cmp_p(F, name, "welch_anova.p_value", w.p, jnum(wo, "p_value"));
    double p[256], t[256];
    CHECK_OK(dolor_stats_pairwise_t(y, g, (size_t)n, k, 1, DOLOR_P_ADJUST_NONE, p, t));
    cmp_lower(F, name, "pairwise_pooled_t_statistic_derived", t, k, jget(out, "pairwise_pooled_t_statistic_derived"),
              0);
    cmp_lower(F, name, "pairwise_pooled_p_raw", p, k, jget(out, "pairwise_pooled_p_raw"), 1);
    CHECK_OK(dolor_stats_pairwise_t(y, g, (size_t)n, k, 1, DOLOR_P_ADJUST_BONFERRONI, p, NULL));
    cmp_lower(F, name, "pairwise_pooled_p_bonferroni", p, k, jget(out, "pairwise_pooled_p_bonferroni"), 1);
    CHECK_OK(dolor_stats_pairwise_t(y, g, (size_t)n, k, 0, DOLOR_P_ADJUST_NONE, p, NULL));
    cmp_lower(F, name, "pairwise_unpooled_p_raw", p, k, jget(out, "pairwise_unpooled_p_raw"), 1);
    CHECK_OK(dolor_stats_pairwise_t(y, g, (size_t)n, k, 0, DOLOR_P_ADJUST_BONFERRONI, p, NULL));
    cmp_lower(F, name, "pairwise_unpooled_p_bonferroni", p, k, jget(out, "pairwise_unpooled_p_bonferroni"), 1);
    free(y);
    free(g);
    END_CASES
    jfree(root);
}

static void test_oracle_correlation(void)
{
    const char *F = "correlation";
    jv *root = load_family(F);
    if (!root)
        return;
    FOR_CASES(root, c, name, out, in)
    int n;
    double *x = jvec(jget(in, "x"), &n, NULL), *y = jvec(jget(in, "y"), &n, NULL);
    dolor_test_result r;
    jv *po = jget(out, "pearson");
    CHECK_OK(dolor_stats_pearson(x, y, (size_t)n, 0.95, &r));
    cmp_s(F, name, "pearson.r", r.estimate, jnum(po, "r"));
    cmp_s(F, name, "pearson.t", r.statistic, jnum(po, "t"));
    cmp_s(F, name, "pearson.df", r.df, jnum(po, "df"));
    cmp_p(F, name, "pearson.p_value", r.p, jnum(po, "p_value"));
    int nci;
    double *ci = jvec(jget(po, "conf_int_95_fisher_z"), &nci, NULL);
    cmp_s(F, name, "pearson.ci[0]", r.ci_lo, ci[0]);
    cmp_s(F, name, "pearson.ci[1]", r.ci_hi, ci[1]);
    free(ci);
    jv *so = jget(out, "spearman_t_approx");
    CHECK_OK(dolor_stats_spearman(x, y, (size_t)n, 0, &r));
    cmp_s(F, name, "spearman_t_approx.rho", r.estimate, jnum(so, "rho"));
    cmp_s(F, name, "spearman_t_approx.S", r.statistic, jnum(so, "S"));
    cmp_p(F, name, "spearman_t_approx.p_value", r.p, jnum(so, "p_value"));
    so = jget(out, "spearman_default_AS89");
    if (so) {
        CHECK_OK(dolor_stats_spearman(x, y, (size_t)n, -1, &r));
        CHECK(r.exact == 1);
        cmp_s(F, name, "spearman_default_AS89.rho", r.estimate, jnum(so, "rho"));
        cmp_s(F, name, "spearman_default_AS89.S", r.statistic, jnum(so, "S"));
        cmp_p(F, name, "spearman_default_AS89.p_value", r.p, jnum(so, "p_value"));
    }
    free(x);
    free(y);
    END_CASES
    jfree(root);
}

static void test_oracle_chisq(void)
{
    const char *F = "chi_square";
    jv *root = load_family(F);
    if (!root)
        return;
    FOR_CASES(root, c, name, out, in)
    int r, cc;
    double *t = jvec(jget(in, "table"), &r, &cc);
    double e[64];
    dolor_test_result res;
    CHECK_OK(dolor_stats_chisq(t, r, cc, 0, &res, e));
    cmp_s(F, name, "statistic", res.statistic, jnum(out, "statistic"));
    cmp_s(F, name, "df", res.df, jnum(out, "df"));
    cmp_p(F, name, "p_value", res.p, jnum(out, "p_value"));
    int er, ec;
    double *we = jvec(jget(out, "expected"), &er, &ec);
    CHECK(er == r && ec == cc);
    for (int i = 0; i < r * cc; i++)
        cmp_s(F, name, "expected", e[i], we[i]);
    free(we);
    if (jget(out, "yates_statistic")) {
        CHECK_OK(dolor_stats_chisq(t, r, cc, 1, &res, NULL));
        cmp_s(F, name, "yates_statistic", res.statistic, jnum(out, "yates_statistic"));
        cmp_p(F, name, "yates_p_value", res.p, jnum(out, "yates_p_value"));
    }
    free(t);
    END_CASES
    jfree(root);
}

static void test_oracle_fisher(void)
{
    const char *F = "fisher_exact";
    jv *root = load_family(F);
    if (!root)
        return;
    FOR_CASES(root, c, name, out, in)
    int r, cc;
    double *t = jvec(jget(in, "table"), &r, &cc);
    dolor_test_result res;
    CHECK_OK(dolor_stats_fisher(t, r, cc, 0.95, &res));
    cmp_p(F, name, "p_two_sided", res.p, jnum(out, "p_two_sided"));
    if (r == 2 && cc == 2) {
        cmp_p(F, name, "p_less", res.p_less, jnum(out, "p_less"));
        cmp_p(F, name, "p_greater", res.p_greater, jnum(out, "p_greater"));
        cmp_s(F, name, "odds_ratio_conditional_mle_tight", res.estimate, jnum(out, "odds_ratio_conditional_mle_tight"));
        int nci;
        double *ci = jvec(jget(out, "conf_int_95_conditional_tight"), &nci, NULL);
        cmp_s(F, name, "conf_int_95_conditional_tight[0]", res.ci_lo, ci[0]);
        cmp_s(F, name, "conf_int_95_conditional_tight[1]", res.ci_hi, isnan(ci[1]) ? INFINITY : ci[1]);
        free(ci);
        /* R's own (loose) estimate agrees to its uniroot tolerance */
        double loose = jnum(out, "odds_ratio_conditional_mle");
        CHECKF(fabs(res.estimate - loose) <= 1e-3 * fabs(loose) + 1e-12, "%s/%s loose OR %.10g vs %.10g", F, name,
               res.estimate, loose);
    }
    free(t);
    END_CASES
    jfree(root);
}

int main(void)
{
    test_oracle_ttests();
    test_oracle_mannwhitney();
    test_oracle_signrank();
    test_oracle_shapiro();
    test_oracle_levene();
    test_oracle_anova();
    test_oracle_correlation();
    test_oracle_chisq();
    test_oracle_fisher();
    printf("%d oracle values compared\n", n_compared);
    return dolor_test_finish();
}
