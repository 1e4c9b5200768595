/* stats, section (A): every case of the R oracle (/work/shared/oracle, via
 * $DOLOR_ORACLE) for t tests, Mann-Whitney, Wilcoxon signed rank,
 * Shapiro-Wilk, Levene, ANOVA/pairwise, correlation, chi-square and Fisher;
 * plus descriptives, CSV reading, bad input and the Table 1 builder.
 * Tolerances: p-values 1e-6 relative (or 1e-12 absolute), statistics, df and
 * CIs 1e-8 relative (or 1e-12 absolute). */
#define _GNU_SOURCE
#include "check.h"
#include "dolor/stats.h"

#include <ctype.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json_fx.h"
#include "test_util.h"
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
    jv *root = json_load_file(path);
    jv *cases = jget(root, "cases");
    CHECKF(cases && cases->t == J_ARR && cases->n > 0, "%s: no cases", path);
    return root;
}

/* ------------------------------------------------------------------ */
static int n_compared;
static double max_rel_p, max_rel_s;

static double rel_diff(double got, double want)
{
    if (got == want)
        return 0;
    return fabs(got - want) / fmax(fabs(want), 1e-300);
}

/* p-values: 1e-6 relative or 1e-12 absolute */
static void cmp_p(const char *fam, const char *cs, const char *key, double got, double want)
{
    n_compared++;
    if (want != 0 && rel_diff(got, want) > max_rel_p)
        max_rel_p = rel_diff(got, want);
    int ok = fabs(got - want) <= 1e-12 || fabs(got - want) <= 1e-6 * fabs(want) || (isinf(got) && got == want);
    CHECKF(ok, "%s/%s %s: got %.17g, R %.17g (rel %.3g)", fam, cs, key, got, want, fabs(got - want) / fabs(want));
}

/* statistics, df, CIs: 1e-8 relative or 1e-12 absolute */
static void cmp_s(const char *fam, const char *cs, const char *key, double got, double want)
{
    n_compared++;
    if (want != 0 && rel_diff(got, want) > max_rel_s)
        max_rel_s = rel_diff(got, want);
    int ok = fabs(got - want) <= 1e-12 || fabs(got - want) <= 1e-8 * fabs(want) || (isinf(got) && got == want);
    CHECKF(ok, "%s/%s %s: got %.17g, R %.17g (rel %.3g)", fam, cs, key, got, want, fabs(got - want) / fabs(want));
}

/* a two-sided CI against R's [lower, upper] */
static void cmp_ci(const char *fam, const char *cs, const char *key, const dolor_test_result *r, const jv *want)
{
    int n;
    double *ci = jvec(want, &n, NULL);
    char k[160];
    snprintf(k, sizeof k, "%s[0]", key);
    cmp_s(fam, cs, k, r->ci_lo, n == 2 ? ci[0] : NAN);
    snprintf(k, sizeof k, "%s[1]", key);
    cmp_s(fam, cs, k, r->ci_hi, n == 2 ? ci[1] : NAN);
    free(ci);
}

/* every case of every oracle family, through the family's checker */
/* x[nx], y[ny]: the case's inputs "x" and "y" where it has them (NULL, 0 otherwise) */
typedef void (*oracle_fn)(const char *F, jv *c, const char *name, jv *out, jv *in, const double *x, int nx,
                          const double *y, int ny);


static void oracle_ttests(const char *F, jv *c, const char *name, jv *out, jv *in, const double *x, int nx,
                           const double *y, int ny)
{
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
    cmp_ci(F, name, "conf_int_95", &r, jget(out, "conf_int_95"));
}

static void oracle_mannwhitney(const char *F, jv *c, const char *name, jv *out, jv *in, const double *x, int nx,
                           const double *y, int ny)
{
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
}

static void oracle_signrank(const char *F, jv *c, const char *name, jv *out, jv *in, const double *x, int nx,
                           const double *y, int ny)
{
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
}

static void oracle_shapiro(const char *F, jv *c, const char *name, jv *out, jv *in, const double *x, int nx,
                           const double *y, int ny)
{
    dolor_test_result r;
    CHECK_OK(dolor_stats_shapiro(x, (size_t)nx, &r));
    cmp_s(F, name, "W", r.statistic, jnum(out, "W"));
    cmp_p(F, name, "p_value", r.p, jnum(out, "p_value"));
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

static void oracle_levene(const char *F, jv *c, const char *name, jv *out, jv *in, const double *x, int nx,
                           const double *y, int ny)
{
    int n = ny, k;
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
    free(g);
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

static void oracle_anova(const char *F, jv *c, const char *name, jv *out, jv *in, const double *x, int nx,
                           const double *y, int ny)
{
    int n = ny, k;
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
    free(g);
}

static void oracle_correlation(const char *F, jv *c, const char *name, jv *out, jv *in, const double *x, int nx,
                           const double *y, int ny)
{
    int n = nx;
    dolor_test_result r;
    jv *po = jget(out, "pearson");
    CHECK_OK(dolor_stats_pearson(x, y, (size_t)n, 0.95, &r));
    cmp_s(F, name, "pearson.r", r.estimate, jnum(po, "r"));
    cmp_s(F, name, "pearson.t", r.statistic, jnum(po, "t"));
    cmp_s(F, name, "pearson.df", r.df, jnum(po, "df"));
    cmp_p(F, name, "pearson.p_value", r.p, jnum(po, "p_value"));
    cmp_ci(F, name, "pearson.ci", &r, jget(po, "conf_int_95_fisher_z"));
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
}

static void oracle_chisq(const char *F, jv *c, const char *name, jv *out, jv *in, const double *x, int nx,
                           const double *y, int ny)
{
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
}

static void oracle_fisher(const char *F, jv *c, const char *name, jv *out, jv *in, const double *x, int nx,
                           const double *y, int ny)
{
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
}

static void test_oracles(void)
{
    static const struct {
        const char *family;
        oracle_fn check;
    } fams[] = {
        {"t_tests", oracle_ttests},
        {"mann_whitney", oracle_mannwhitney},
        {"wilcoxon_signed_rank", oracle_signrank},
        {"shapiro_wilk", oracle_shapiro},
        {"levene", oracle_levene},
        {"anova_bonferroni", oracle_anova},
        {"correlation", oracle_correlation},
        {"chi_square", oracle_chisq},
        {"fisher_exact", oracle_fisher},
    };
    for (size_t f = 0; f < sizeof fams / sizeof *fams; f++) {
        jv *root = load_family(fams[f].family);
        jv *cases = root ? jget(root, "cases") : NULL;
        for (int i = 0; cases && i < cases->n; i++) {
            jv *c = cases->items[i], *in = jget(c, "inputs");
            int nx, ny;
            double *x = jvec(jget(in, "x"), &nx, NULL), *y = jvec(jget(in, "y"), &ny, NULL);
            fams[f].check(fams[f].family, c, jget(c, "name")->str, jget(c, "outputs"), in, x, nx, y, ny);
            free(x);
            free(y);
        }
        jfree(root);
    }
}


/* ------------------------------------------------------------------ */
/* Tests beyond the shared oracle: reference values from R written by
 * examples/table1/r_reference.R into examples/table1/r_reference.csv. */

static const char *src_dir(void)
{
    const char *d = getenv("DOLOR_SOURCE_DIR");
    return d ? d : "..";
}

typedef struct {
    char key[128], test[64];
    double p, p1;
} refrow;

static int load_ref(refrow *rows, int max)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/table1/r_reference.csv", src_dir());
    FILE *fp = fopen(path, "r");
    CHECKF(fp != NULL, "cannot open %s", path);
    if (!fp)
        return 0;
    char line[512];
    int n = 0;
    if (!fgets(line, sizeof line, fp)) {
        fclose(fp);
        return 0;
    }
    while (n < max && fgets(line, sizeof line, fp)) {
        char *q1 = strchr(line, '"'), *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
        if (!q2)
            continue;
        *q2 = 0;
        snprintf(rows[n].key, sizeof rows[n].key, "%s", q1 + 1);
        char *t = q2 + 2, *c = strchr(t, ',');
        if (!c)
            continue;
        *c = 0;
        snprintf(rows[n].test, sizeof rows[n].test, "%s", t);
        char *e;
        rows[n].p = strtod(c + 1, &e);
        rows[n].p1 = (*e == ',' && e[1] != '\n' && e[1] != 0) ? strtod(e + 1, NULL) : NAN;
        n++;
    }
    fclose(fp);
    return n;
}

static double ref_value(const refrow *r, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(r[i].key, key))
            return r[i].p;
    CHECKF(0, "reference key '%s' missing", key);
    return NAN;
}

static dolor_csv *load_trial(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/table1/trial.csv", src_dir());
    dolor_csv *t = NULL;
    CHECK_OK(dolor_csv_read(path, &t));
    return t;
}

static void test_table1_vs_r(void)
{
    refrow ref[128];
    int nref = load_ref(ref, 128);
    CHECK(nref > 30);
    dolor_csv *csv = load_trial();
    if (!csv || !nref) {
        dolor_csv_free(csv);
        return;
    }
    CHECK(csv->nrow == 82 && csv->ncol == 14);
    const dolor_table1_var vars[] = {
        {"age", NULL, DOLOR_VAR_CONTINUOUS},          {"sex", NULL, DOLOR_VAR_CATEGORICAL},
        {"bmi", NULL, DOLOR_VAR_CONTINUOUS},          {"duration_months", NULL, DOLOR_VAR_CONTINUOUS},
        {"vas_0", NULL, DOLOR_VAR_CONTINUOUS},        {"odi_0", NULL, DOLOR_VAR_CONTINUOUS},
        {"vas_1m", NULL, DOLOR_VAR_CONTINUOUS},       {"vas_6m", NULL, DOLOR_VAR_CONTINUOUS},
        {"odi_1m", NULL, DOLOR_VAR_CONTINUOUS},       {"odi_6m", NULL, DOLOR_VAR_CONTINUOUS},
        {"complication", NULL, DOLOR_VAR_CATEGORICAL}, {"pfirrmann", NULL, DOLOR_VAR_ORDINAL}};
    const char *fv[] = {"vas_1m", "vas_6m"}, *fo[] = {"odi_1m", "odi_6m"};
    const dolor_table1_change ch[] = {{"vas_0", fv, 2}, {"odi_0", fo, 2}};
    dolor_table1_spec sp = {.group = "arm", .vars = vars, .nvars = 12, .changes = ch, .nchanges = 2, .digits = -1};
    dolor_table *mt = NULL, *ct = NULL;
    dolor_table1_row *rows = NULL;
    int nrows = 0;
    CHECK_OK(dolor_table1_build(csv, &sp, &mt, &ct, &rows, &nrows));
    CHECK(nrows == 12 + 8);
    int matched = 0;
    for (int i = 0; i < nrows; i++) {
        int found = 0;
        for (int j = 0; j < nref; j++) {
            if (strcmp(ref[j].key, rows[i].label))
                continue;
            found = 1;
            matched++;
            CHECKF(!strcmp(ref[j].test, dolor_test_kind_name(rows[i].test)), "table1 %s: test '%s', R chose '%s'",
                   rows[i].label, dolor_test_kind_name(rows[i].test), ref[j].test);
            cmp_p("table1", rows[i].label, "p", rows[i].p, ref[j].p);
            if (!isnan(ref[j].p1))
                cmp_p("table1", rows[i].label, "p_one_sided", rows[i].p_one_sided, ref[j].p1);
        }
        CHECKF(found, "table1 row '%s' has no R reference", rows[i].label);
    }
    CHECK(matched == nrows);
    /* table layout: header + rows; categorical levels; notes and warnings */
    CHECK(mt && mt->ncol == 6);
    CHECK(mt && !strcmp(mt->cells[1], "ESI (n = 41)") && !strcmp(mt->cells[2], "PRF (n = 41)"));
    int saw_fisher_note = 0, saw_one_sided = 0, saw_level = 0;
    for (int i = 0; mt && i < mt->nrow; i++) {
        const char *note = mt->cells[i * mt->ncol + 5];
        saw_fisher_note |= strstr(note, "expected count < 5: Fisher exact used") != NULL;
        saw_one_sided |= strstr(note, "only the one-sided p (greater, p = 0.043) is below 0.05") != NULL &&
                         strstr(mt->cells[i * mt->ncol], "vas_1m") != NULL;
        saw_level |= !strcmp(mt->cells[i * mt->ncol], "  F") && !strcmp(mt->cells[i * mt->ncol + 1], "24 (58.5%)");
        if (!strcmp(mt->cells[i * mt->ncol], "age, mean \xC2\xB1 SD")) {
            CHECKF(!strcmp(mt->cells[i * mt->ncol + 1], "52.8 \xC2\xB1 11.7"), "age ESI cell '%s'",
                   mt->cells[i * mt->ncol + 1]);
            CHECK(!strcmp(mt->cells[i * mt->ncol + 3], "0.477"));
        }
        if (!strncmp(mt->cells[i * mt->ncol], "duration_months", 15))
            CHECKF(strstr(mt->cells[i * mt->ncol], "median [P25, P75]") != NULL, "duration row '%s'",
                   mt->cells[i * mt->ncol]);
    }
    CHECK(saw_fisher_note);
    CHECK(saw_one_sided);
    CHECK(saw_level);
    CHECK(ct && ct->ncol == 9 && ct->nrow == 9);
    /* renderers */
    char *buf = NULL;
    size_t len = 0;
    FILE *ms = open_memstream(&buf, &len);
    CHECK_OK(dolor_table_write(mt, DOLOR_TABLE_MARKDOWN, ms));
    fclose(ms);
    CHECK(buf && strstr(buf, "| Characteristic | ESI (n = 41) | PRF (n = 41) | P value | Test | Note |") != NULL);
    CHECK(buf && strstr(buf, "|---|---|---|---|---|---|") != NULL);
    free(buf);
    ms = open_memstream(&buf, &len);
    CHECK_OK(dolor_table_write(mt, DOLOR_TABLE_CSV, ms));
    fclose(ms);
    CHECK(buf && !strncmp(buf, "Characteristic,ESI (n = 41),PRF (n = 41),P value,Test,Note\n", 58));
    CHECK(buf && strstr(buf, "\"Categorical: n (% of the group's non-missing values); Pearson chi-square") != NULL);
    /* CSV output reads back with the same reader: same number of cells */
    char tmpl[] = "/tmp/dolor_stats_csv_XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd >= 0 && buf) {
        CHECK(write(fd, buf, strlen(buf)) == (ssize_t)strlen(buf));
        close(fd);
        dolor_csv *back = NULL;
        CHECK_OK(dolor_csv_read(tmpl, &back));
        CHECK(back && back->ncol == 6 && back->nrow == (size_t)(mt->nrow - 1 + mt->nnotes));
        dolor_csv_free(back);
        unlink(tmpl);
    }
    free(buf);
    ms = open_memstream(&buf, &len);
    CHECK_OK(dolor_table_write(ct, DOLOR_TABLE_TEXT, ms));
    fclose(ms);
    CHECK(buf && strstr(buf, "Changes from baseline within groups\n") == buf);
    CHECK(buf && strstr(buf, "vas_1m vs vas_0  ESI    41  7.3 \xC2\xB1 0.9") != NULL);
    free(buf);
    dolor_table_free(mt);
    dolor_table_free(ct);
    dolor_table1_rows_free(rows, nrows);

    /* extra values */
    double *age = NULL, *dur = NULL, q;
    CHECK_OK(dolor_csv_numeric(csv, "age", &age));
    CHECK_OK(dolor_csv_numeric(csv, "duration_months", &dur));
    if (age && dur) {
        dolor_describe ds;
        CHECK_OK(dolor_stats_describe(age, csv->nrow, 0, DOLOR_QUANTILE_R7, &ds));
        cmp_s("r_reference", "age", "p25 type 7", ds.p25, ref_value(ref, nref, "quantile7.age.p25"));
        cmp_s("r_reference", "age", "p75 type 7", ds.p75, ref_value(ref, nref, "quantile7.age.p75"));
        cmp_s("r_reference", "age", "sd", ds.sd, ref_value(ref, nref, "sd.age"));
        CHECK_OK(dolor_stats_describe(age, csv->nrow, 0, DOLOR_QUANTILE_SPSS6, &ds));
        cmp_s("r_reference", "age", "p25 type 6", ds.p25, ref_value(ref, nref, "quantile6.age.p25"));
        cmp_s("r_reference", "age", "p75 type 6", ds.p75, ref_value(ref, nref, "quantile6.age.p75"));
        CHECK_OK(dolor_stats_quantile(dur, csv->nrow, 0.10, DOLOR_QUANTILE_SPSS6, &q));
        cmp_s("r_reference", "duration", "p10 type 6", q, ref_value(ref, nref, "quantile6.duration.p10"));
        CHECK_OK(dolor_stats_describe(age, csv->nrow, 1, DOLOR_QUANTILE_R7, &ds));
        cmp_s("r_reference", "age", "population sd", ds.sd,
              ref_value(ref, nref, "sd.age") * sqrt((double)(csv->nrow - 1) / (double)csv->nrow));
        char **lev = NULL;
        int nl = 0, *code = NULL;
        CHECK_OK(dolor_csv_factor(csv, "pfirrmann", &lev, &nl, &code));
        CHECK(nl == 4 && lev && !strcmp(lev[0], "2") && !strcmp(lev[3], "5"));
        if (nl == 4 && code) {
            dolor_test_result r;
            CHECK_OK(dolor_stats_kruskal(age, code, csv->nrow, 4, &r));
            cmp_s("r_reference", "kruskal", "statistic", r.statistic, ref_value(ref, nref, "kruskal.age.pfirrmann.stat"));
            cmp_p("r_reference", "kruskal", "p", r.p, ref_value(ref, nref, "kruskal.age.pfirrmann.p"));
            double p[16];
            CHECK_OK(dolor_stats_pairwise_t(age, code, csv->nrow, 4, 1, DOLOR_P_ADJUST_HOLM, p, NULL));
            for (int i = 1; i < 4; i++)
                for (int j = 0; j < i; j++) {
                    char key[64];
                    snprintf(key, sizeof key, "holm.age.pfirrmann.%d.%d", i, j);
                    cmp_p("r_reference", "pairwise holm", key, p[i * 4 + j], ref_value(ref, nref, key));
                }
        }
        dolor_stats_free_strings(lev);
        free(code);
    }
    free(age);
    free(dur);
    double *v0 = NULL, *o0 = NULL;
    CHECK_OK(dolor_csv_numeric(csv, "vas_0", &v0));
    CHECK_OK(dolor_csv_numeric(csv, "odi_0", &o0));
    if (v0 && o0) {
        dolor_test_result r;
        CHECK_OK(dolor_stats_spearman(v0, o0, csv->nrow, -1, &r));
        CHECK(r.exact == 0); /* ties -> t approximation as R */
        cmp_p("r_reference", "spearman vas_0 odi_0", "p", r.p, ref_value(ref, nref, "spearman.vas0.odi0.p"));
    }
    free(v0);
    free(o0);
    /* Hodges-Lehmann (exact case) and the n <= 9 Spearman permutation branch */
    const double hx[] = {0.286, -0.345, 0.326, -1.697, -1.285, -0.075, 0.267, 0.056, -2.304, 0.189, 0.693, 0.224};
    const double hy[] = {1.198, 1.813, 0.152, 1.448, 1.007, 0.864, 1.469, 0.426, 0.556, -0.188, 2.042, -0.883,
                         2.243, 0.335, 1.494};
    dolor_test_result r;
    CHECK_OK(dolor_stats_mannwhitney(hx, 12, hy, 15, -1, 1, &r));
    cmp_s("r_reference", "mann_whitney", "hodges_lehmann", r.estimate,
          ref_value(ref, nref, "hodges_lehmann.exact_n12_n15"));
    const double sx[] = {3.1, 1.2, 5.5, 4.4, 2.0, 6.7, 7.1}, sy[] = {2.2, 1.0, 4.1, 6.3, 3.3, 5.0, 7.7};
    CHECK_OK(dolor_stats_spearman(sx, sy, 7, -1, &r));
    cmp_p("r_reference", "spearman n7", "p", r.p, ref_value(ref, nref, "spearman.n7.p"));
    cmp_p("r_reference", "spearman n7", "p_greater", r.p_greater, ref_value(ref, nref, "spearman.n7.p_greater"));
    dolor_csv_free(csv);
}

/* rows of a built table against reference keys "<prefix><label>" */
static void check_rows_vs_ref(const char *what, const dolor_table1_row *rows, int nrows, const refrow *ref, int nref,
                              const char *prefix)
{
    for (int i = 0; i < nrows; i++) {
        char key[256];
        snprintf(key, sizeof key, "%s%s", prefix, rows[i].label);
        int found = 0;
        for (int j = 0; j < nref; j++)
            if (!strcmp(ref[j].key, key)) {
                found = 1;
                CHECKF(!strcmp(ref[j].test, dolor_test_kind_name(rows[i].test)), "%s %s: test '%s', R chose '%s'",
                       what, key, dolor_test_kind_name(rows[i].test), ref[j].test);
                cmp_p(what, key, "p", rows[i].p, ref[j].p);
            }
        CHECKF(found, "%s row '%s' has no R reference", what, key);
    }
}

static void test_table1_k_groups(void)
{
    refrow ref[160];
    int nref = load_ref(ref, 160);
    dolor_csv *csv = load_trial();
    if (!csv || !nref) {
        dolor_csv_free(csv);
        return;
    }
    const dolor_table1_var vars[] = {
        {"age", NULL, DOLOR_VAR_CONTINUOUS},    {"bmi", NULL, DOLOR_VAR_CONTINUOUS},
        {"duration_months", NULL, DOLOR_VAR_CONTINUOUS}, {"vas_0", NULL, DOLOR_VAR_CONTINUOUS},
        {"vas_1m", NULL, DOLOR_VAR_CONTINUOUS}, {"vas_6m", NULL, DOLOR_VAR_CONTINUOUS},
        {"odi_0", NULL, DOLOR_VAR_CONTINUOUS},  {"odi_1m", NULL, DOLOR_VAR_CONTINUOUS},
        {"odi_6m", NULL, DOLOR_VAR_CONTINUOUS}, {"sex", NULL, DOLOR_VAR_CATEGORICAL},
        {"complication", NULL, DOLOR_VAR_CATEGORICAL}, {"arm", NULL, DOLOR_VAR_CATEGORICAL}};
    dolor_table1_spec sp = {.group = "pfirrmann", .vars = vars, .nvars = 12, .digits = 2};
    dolor_table *mt = NULL;
    dolor_table1_row *rows = NULL;
    int nrows = 0;
    CHECK_OK(dolor_table1_build(csv, &sp, &mt, NULL, &rows, &nrows));
    CHECK(nrows == 12);
    CHECK(mt && mt->ncol == 4 + 4 && !strcmp(mt->cells[1], "2 (n = 15)"));
    check_rows_vs_ref("table1 4 groups", rows, nrows, ref, nref, "g4:");
    dolor_table_free(mt);
    dolor_table1_rows_free(rows, nrows);
    dolor_csv_free(csv);
    /* Welch ANOVA branch */
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/table1/welch3.csv", src_dir());
    CHECK_OK(dolor_csv_read(path, &csv));
    if (csv) {
        const dolor_table1_var y = {"y", NULL, DOLOR_VAR_CONTINUOUS};
        dolor_table1_spec s3 = {.group = "g", .vars = &y, .nvars = 1};
        CHECK_OK(dolor_table1_build(csv, &s3, &mt, NULL, &rows, &nrows));
        CHECK(nrows == 1 && rows && rows[0].test == DOLOR_TEST_WELCH_ANOVA);
        check_rows_vs_ref("table1 Welch ANOVA", rows, nrows, ref, nref, "w3:");
        CHECK(mt && strstr(mt->cells[1 * mt->ncol + 6], "unequal variances (Levene p ") != NULL);
        dolor_table_free(mt);
        dolor_table1_rows_free(rows, nrows);
        dolor_csv_free(csv);
    }
}

static char *write_tmp(const char *content)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/dolor_stats_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    ssize_t w = write(fd, content, strlen(content));
    (void)w;
    close(fd);
    return path;
}

/* dolor_factor_reorder: R's relevel(f, "C") and factor(x, levels = c("C", "A")) */
static void test_factor_reorder(void)
{
    char *p = write_tmp("g\nA\nB\nC\n\nB\nNA\nC\n"); /* the blank line is skipped, NA is a row */
    dolor_csv *t = NULL;
    CHECK_OK(dolor_csv_read(p, &t));
    char **lev = NULL;
    int k = 0, *code = NULL;
    CHECK_OK(dolor_csv_factor(t, "g", &lev, &k, &code));
    const char *ref[1] = {"C"};
    CHECK_OK(dolor_factor_reorder(&lev, &k, code, t->nrow, ref, 1, 1, "--ref-group", "g"));
    CHECK(k == 3 && !strcmp(lev[0], "C") && !strcmp(lev[1], "A") && !strcmp(lev[2], "B"));
    CHECK(t->nrow == 6 && code[0] == 1 && code[1] == 2 && code[2] == 0 && code[4] == -1 && code[5] == 0);
    const char *two[2] = {"C", "A"};
    CHECK_OK(dolor_factor_reorder(&lev, &k, code, t->nrow, two, 2, 0, "--levels", "g"));
    CHECK(k == 2 && !strcmp(lev[0], "C") && !strcmp(lev[1], "A") && lev[2] == NULL);
    CHECK(code[0] == 1 && code[1] == -1 && code[2] == 0 && code[3] == -1);
    const char *bad[2] = {"A", "Z"};
    CHECK_ERR(dolor_factor_reorder(&lev, &k, code, t->nrow, bad, 2, 0, "--levels", "g"), DOLOR_EINVAL,
              "--levels: column 'g' has no group 'Z' (groups: C, A)");
    const char *twice[2] = {"A", "A"};
    CHECK_ERR(dolor_factor_reorder(&lev, &k, code, t->nrow, twice, 2, 0, "--levels", "g"), DOLOR_EINVAL,
              "'A' is given twice");
    CHECK(k == 2 && !strcmp(lev[0], "C")); /* unchanged after an error */
    dolor_stats_free_strings(lev);
    free(code);
    dolor_csv_free(t);
    unlink(p);
}

static void test_csv_and_bad_input(void)
{
    char *p = write_tmp("id,\"group, arm\",score,note\r\n1,A,3.5,\"said \"\"ok\"\"\"\r\n2,A,,x\r\n3,B,4,\r\n4,B,NA,\"multi\nline\"\r\n5,,2,y\r\n");
    dolor_csv *t = NULL;
    CHECK_OK(dolor_csv_read(p, &t));
    if (t) {
        CHECK(t->ncol == 4 && t->nrow == 5);
        CHECK(!strcmp(t->names[1], "group, arm"));
        CHECK(!strcmp(t->cells[0 * 4 + 3], "said \"ok\""));
        CHECK(t->cells[1 * 4 + 2] == NULL && t->cells[3 * 4 + 2] == NULL && t->cells[2 * 4 + 3] == NULL);
        CHECK(!strcmp(t->cells[3 * 4 + 3], "multi\nline"));
        CHECK(t->line[4] == 7); /* the quoted newline moves row 5 to line 7 */
        double *v = NULL;
        CHECK_OK(dolor_csv_numeric(t, "score", &v));
        CHECK(v && v[0] == 3.5 && isnan(v[1]) && v[2] == 4 && isnan(v[3]) && v[4] == 2);
        free(v);
        CHECK_ERR(dolor_csv_numeric(t, "note", &v), DOLOR_EFORMAT, "column 'note', row 1 (line 2): 'said \"ok\"'");
        CHECK_ERR(dolor_csv_numeric(t, "nope", &v), DOLOR_ENOTFOUND, "no column 'nope'");
        char **lev = NULL;
        int nl = 0, *code = NULL;
        CHECK_OK(dolor_csv_factor(t, "group, arm", &lev, &nl, &code));
        CHECK(nl == 2 && code && code[0] == 0 && code[2] == 1 && code[4] == -1);
        dolor_stats_free_strings(lev);
        free(code);
        /* a group with no values of the variable -> error naming column and group */
        dolor_table1_var var = {"score", NULL, DOLOR_VAR_CONTINUOUS};
        dolor_table1_spec sp = {.group = "group, arm", .vars = &var, .nvars = 1};
        dolor_table *mt = NULL;
        dolor_table1_var bad = {"missing_col", NULL, DOLOR_VAR_CONTINUOUS};
        sp.vars = &bad;
        CHECK_ERR(dolor_table1_build(t, &sp, &mt, NULL, NULL, NULL), DOLOR_ENOTFOUND, "no column 'missing_col'");
        dolor_csv_free(t);
    }
    unlink(p);
    p = write_tmp("g,y\nA,1\nA,2\nB,\nB,\n");
    t = NULL;
    CHECK_OK(dolor_csv_read(p, &t));
    if (t) {
        dolor_table1_var var = {"y", NULL, DOLOR_VAR_CONTINUOUS};
        dolor_table1_spec sp = {.group = "g", .vars = &var, .nvars = 1};
        dolor_table *mt = NULL;
        CHECK_ERR(dolor_table1_build(t, &sp, &mt, NULL, NULL, NULL), DOLOR_ENUMERIC,
                  "column 'y' has no values in group 'B'");
        dolor_csv_free(t);
    }
    unlink(p);
    p = write_tmp("a,b\n1,2\n3\n");
    CHECK_ERR(dolor_csv_read(p, &t), DOLOR_EFORMAT, "line 3 has 1 fields but the header has 2");
    unlink(p);
    p = write_tmp("a,b\n1,\"2\n");
    CHECK_ERR(dolor_csv_read(p, &t), DOLOR_EFORMAT, "line 2: unterminated or misplaced quote");
    unlink(p);
    CHECK_ERR(dolor_csv_read("/nonexistent/x.csv", &t), DOLOR_ENOTFOUND, "/nonexistent/x.csv"); /* exit code 2 */

    /* tests refuse what R refuses */
    const double x1[] = {1.0}, x3[] = {1, 2, 3}, c5[] = {2, 2, 2, 2, 2}, nanv[] = {1, NAN, 3};
    dolor_test_result r;
    CHECK_ERR(dolor_stats_ttest(x1, 1, x3, 3, 0, 0.95, &r), DOLOR_ENUMERIC, "need at least 2");
    CHECK_ERR(dolor_stats_ttest(c5, 5, c5, 5, 1, 0.95, &r), DOLOR_ENUMERIC, "essentially constant");
    CHECK_ERR(dolor_stats_ttest(x3, 3, x3, 3, 1, 1.5, &r), DOLOR_EINVAL, "confidence level");
    CHECK_ERR(dolor_stats_shapiro(x3, 2, &r), DOLOR_ENUMERIC, "outside 3..5000");
    CHECK_ERR(dolor_stats_shapiro(c5, 5, &r), DOLOR_ENUMERIC, "identical");
    CHECK_ERR(dolor_stats_shapiro(nanv, 3, &r), DOLOR_ENUMERIC, "x[1]");
    CHECK_ERR(dolor_stats_wilcoxon_signed(c5, c5, 5, -1, 1, &r), DOLOR_ENUMERIC, "all differences are zero");
    CHECK_ERR(dolor_stats_mannwhitney(x3, 3, x3, 0, -1, 1, &r), DOLOR_ENUMERIC, "need at least 1");
    CHECK_ERR(dolor_stats_pearson(x3, x3, 2, 0.95, &r), DOLOR_ENUMERIC, "need at least 3");
    const double zr[] = {3, 0, 4, 0}, neg[] = {3, -1, 4, 2}, ok22[] = {3, 1, 1, 3};
    CHECK_ERR(dolor_stats_chisq(zr, 2, 2, 0, &r, NULL), DOLOR_ENUMERIC, "column 2 has a zero margin");
    CHECK_ERR(dolor_stats_fisher(zr, 2, 2, 0.95, &r), DOLOR_ENUMERIC, "zero margin");
    CHECK_ERR(dolor_stats_chisq(neg, 2, 2, 0, &r, NULL), DOLOR_EINVAL, "cell [1,2] is -1");
    CHECK_ERR(dolor_stats_chisq(ok22, 1, 4, 0, &r, NULL), DOLOR_EINVAL, "need at least 2x2");
    const double yy[] = {1, 2, 3, 4, 5, 6};
    const int g1[] = {0, 0, 0, 1, 1, 1}, gbad[] = {0, 0, 0, 2, 2, 2}, gempty[] = {0, 0, 0, 0, 2, 2};
    CHECK_ERR(dolor_stats_levene(yy, gbad, 6, 2, DOLOR_LEVENE_MEAN, &r), DOLOR_EINVAL, "g[3] is 2");
    CHECK_ERR(dolor_stats_kruskal(yy, gempty, 6, 3, &r), DOLOR_ENUMERIC, "group 1 has 0 observations");
    CHECK_OK(dolor_stats_kruskal(yy, g1, 6, 2, &r));
    double padj[4];
    const double praw[4] = {0.01, NAN, 0.04, 0.03};
    CHECK_OK(dolor_stats_p_adjust(praw, 4, DOLOR_P_ADJUST_HOLM, padj));
    CHECK_NEAR(padj[0], 0.03, 1e-15); /* m = 3 non-missing; holm: 3*.01, max(2*.03, .03), max(1*.04, .06) */
    CHECK_NEAR(padj[3], 0.06, 1e-15);
    CHECK_NEAR(padj[2], 0.06, 1e-15);
    CHECK(isnan(padj[1]));
    double qv;
    CHECK_ERR(dolor_stats_quantile(x3, 3, 1.5, DOLOR_QUANTILE_R7, &qv), DOLOR_EINVAL, "outside [0, 1]");
    CHECK_OK(dolor_stats_quantile(x3, 3, 0.5, DOLOR_QUANTILE_R7, &qv));
    CHECK(qv == 2);
    dolor_describe ds;
    CHECK_ERR(dolor_stats_describe(nanv + 1, 1, 0, DOLOR_QUANTILE_R7, &ds), DOLOR_ENUMERIC, "no non-missing");
    CHECK_OK(dolor_stats_describe(nanv, 3, 0, DOLOR_QUANTILE_R7, &ds));
    CHECK(ds.n == 2 && ds.n_missing == 1 && ds.mean == 2 && ds.median == 2 && ds.min == 1 && ds.max == 3);
}

/* the dolor program: exit codes and messages (skipped when not built); stdout then stderr into out */
static int run_cli(const char *args, char *out, size_t outsz)
{
    char *o = NULL, *e = NULL;
    int rc = dolor_test_run(&o, &e, "%s", args);
    snprintf(out, outsz, "%s%s", o ? o : "", e ? e : "");
    free(o);
    free(e);
    return rc;
}

static void test_cli(void)
{
    if (!dolor_test_bin("stats CLI"))
        return;
    static char out[1 << 16];
    char trial[1024], args[4096];
    snprintf(trial, sizeof trial, "%s/examples/table1/trial.csv", src_dir());
    CHECK(run_cli("stats --help", out, sizeof out) == 0 && strstr(out, "mannwhitney") && strstr(out, "delong") &&
          strstr(out, "randomise"));
    snprintf(args, sizeof args, "stats ttest '%s' --col vas_1m --by arm", trial);
    CHECK(run_cli(args, out, sizeof out) == 0 && strstr(out, "Two Sample t-test") && strstr(out, "p-value = 0.08513"));
    snprintf(args, sizeof args, "stats ttest '%s' --col age --by sex --welch", trial);
    CHECK(run_cli(args, out, sizeof out) == 0 && strstr(out, "Welch Two Sample t-test"));
    snprintf(args, sizeof args, "stats ttest '%s' --col vas_1m --vs vas_0 --paired", trial);
    CHECK(run_cli(args, out, sizeof out) == 0 && strstr(out, "Paired t-test") && strstr(out, "82 complete pairs"));
    snprintf(args, sizeof args, "stats mannwhitney '%s' --col duration_months --by arm", trial);
    CHECK(run_cli(args, out, sizeof out) == 0 && strstr(out, "p-value = 0.4925"));
    snprintf(args, sizeof args, "stats table '%s' --group arm --vars age:c,sex:cat --format md", trial);
    CHECK(run_cli(args, out, sizeof out) == 0 && strstr(out, "| age, mean \xC2\xB1 SD | 52.8 \xC2\xB1 11.7 |"));
    snprintf(args, sizeof args, "stats describe '%s' --col age --by arm", trial);
    CHECK(run_cli(args, out, sizeof out) == 0 && strstr(out, "52.78") && strstr(out, "11.702"));
    snprintf(args, sizeof args, "stats describe '%s' --col sex --by arm --counts", trial);
    CHECK(run_cli(args, out, sizeof out) == 0 && strstr(out, "24 ( 58.5%)"));
    char outcsv[] = "/tmp/dolor_stats_table_XXXXXX.csv";
    int fd = mkstemps(outcsv, 4);
    if (fd >= 0) {
        close(fd);
        snprintf(args, sizeof args,
                 "stats table '%s' --group arm --vars duration_months:c --change vas_0=vas_1m --format csv --out '%s'",
                 trial, outcsv);
        CHECK(run_cli(args, out, sizeof out) == 0);
        dolor_csv *t = NULL;
        CHECK_OK(dolor_csv_read(outcsv, &t));
        CHECK(t && t->ncol == 6 && !strcmp(t->cells[0 * 6 + 4], "Mann-Whitney U") &&
              !strcmp(t->cells[0 * 6 + 3], "0.492"));
        dolor_csv_free(t);
        unlink(outcsv);
        char second[64];
        snprintf(second, sizeof second, "%.*s_change.csv", (int)strlen(outcsv) - 4, outcsv);
        t = NULL;
        CHECK_OK(dolor_csv_read(second, &t));
        CHECK(t && t->ncol == 9 && t->nrow >= 2 && !strcmp(t->cells[0 * 9 + 7], "paired t"));
        dolor_csv_free(t);
        unlink(second);
    }
    snprintf(args, sizeof args, "stats fisher --table '1,37;7,32'");
    CHECK(run_cli(args, out, sizeof out) == 0 && strstr(out, "p-value = 0.05642"));
    /* bad input: exit 2 and a message naming the column / row */
    snprintf(args, sizeof args, "stats ttest '%s' --col nope --by arm", trial);
    CHECK(run_cli(args, out, sizeof out) == 2 && strstr(out, "no column 'nope'"));
    snprintf(args, sizeof args, "stats ttest '%s' --col arm --by sex", trial);
    CHECK(run_cli(args, out, sizeof out) == 2 && strstr(out, "column 'arm', row 1 (line 2): 'ESI' is not a number"));
    snprintf(args, sizeof args, "stats chisq --table '3,0;4,0'");
    CHECK(run_cli(args, out, sizeof out) == 2 && strstr(out, "zero margin"));
    snprintf(args, sizeof args, "stats shapiro --table x");
    CHECK(run_cli(args, out, sizeof out) == 2);
    snprintf(args, sizeof args, "stats nosuchtest x.csv");
    CHECK(run_cli(args, out, sizeof out) == 2 && strstr(out, "unknown test 'nosuchtest'"));
    char *p = write_tmp("g,y\nA,1\nA,2\nB,3\n");
    snprintf(args, sizeof args, "stats ttest '%s' --col y --by g", p);
    CHECK(run_cli(args, out, sizeof out) == 2 && strstr(out, "need at least 2"));
    unlink(p);
}

int main(void)
{
    test_oracles();
    test_table1_vs_r();
    test_table1_k_groups();
    test_csv_and_bad_input();
    test_factor_reorder();
    test_cli();
    printf("%d reference values compared; largest relative difference: p-values %.3g, "
           "statistics/CIs %.3g\n", n_compared, max_rel_p, max_rel_s);
    return dolor_test_finish();
}
