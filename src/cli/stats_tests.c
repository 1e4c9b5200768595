/* dolor stats ttest | mannwhitney | wilcoxon | levene | anova | kruskal | pairwise | cor: hypothesis tests on
 * CSV columns, printed as R prints them. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_cli.h"

/* exact: --exact 1, --no-exact / --approx 0, neither -1 (R's default) */
static int exact_choice(const stats_ctx *c)
{
    int e = stats_flag(c, "exact", -1);
    if (stats_flag(c, "approx", 0))
        e = 0;
    return e;
}

/* the two flags that choose one thing must not both be given */
static dolor_status one_of(const stats_ctx *c, const char *a, const char *b)
{
    if (stats_flag(c, a, 0) && stats_flag(c, b, 0))
        return dolor_error(DOLOR_EINVAL, "give --%s or --%s, not both", a, b);
    return DOLOR_OK;
}

/* the options of the rank tests, checked, and the CSV (with --by for the two-sample test) */
static dolor_status rank_setup(stats_ctx *c, stats_data *d, int need_by, int *exact, int *correct)
{
    *exact = exact_choice(c);
    *correct = stats_flag(c, "correct", 1);
    dolor_status s = one_of(c, "exact", "approx");
    if (s) {
        memset(d, 0, sizeof *d);
        return s;
    }
    return stats_load(c, d, need_by);
}

/* "W = .., p-value = ..", the one-sided p, the normal approximation used, and the record */
static void rank_print(stats_ctx *c, const char *stat, const dolor_test_result *r, int correct)
{
    fprintf(c->fp, "%s = %s, p-value = %s\n", stat, fmt_est(r->statistic), fmt_p(r->p));
    stats_print_one_sided(c, r);
    if (!r->exact)
        fprintf(c->fp, "normal approximation: z = %s (tie-corrected sigma %s)%s\n", fmt_est(r->z), fmt_est(r->sigma),
                correct ? "" : ", no continuity correction");
    fprintf(c->fp, "alternative hypothesis: true location shift is not equal to 0\n");
    out_test(c, r);
    out_int(c, "continuity_correction", !r->exact && correct);
}

static int run_ttest(stats_ctx *c)
{
    stats_data d;
    const char *col = stats_str(c, "col"), *vs = stats_str(c, "vs"), *by = stats_str(c, "by");
    int paired = stats_flag(c, "paired", 0), welch = stats_flag(c, "welch", 0), has_mu = stats_str(c, "mu") != NULL;
    double conf, mu;
    dolor_status s = stats_conf(c, &conf);
    if (!s)
        s = stats_num(c, "mu", 0, -HUGE_VAL, HUGE_VAL, 1, 1, &mu);
    if (!s)
        s = one_of(c, "welch", "student");
    int grouped_t = !paired && !has_mu;
    if (!s && paired && has_mu)
        s = dolor_error(DOLOR_EINVAL, "give --paired (with --vs) or --mu, not both");
    if (!s && (paired || has_mu))
        s = stats_reject(c, paired ? "with --paired" : "with --mu", "by", "welch", "student", "ref-group", "levels",
                         NULL);
    if (!s && !paired)
        s = stats_reject(c, has_mu ? "with --mu" : "by the two-sample t test (use --paired)", "vs", NULL);
    if (!s)
        s = stats_load(c, &d, grouped_t);
    else
        memset(&d, 0, sizeof d);
    dolor_test_result r;
    double *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    if (!s && !col)
        s = dolor_error(DOLOR_EINVAL, "--col is required");
    if (s)
        return stats_done(c, s, &d);
    if (paired) {
        if (!vs)
            s = dolor_error(DOLOR_EINVAL, "--paired needs --vs COLUMN (differences = --col minus --vs)");
        if (!s)
            s = stats_pairs(&d, col, vs, &a, &b, &na);
        if (!s)
            s = dolor_stats_ttest_paired(a, b, na, conf, &r);
        if (!s) {
            fprintf(c->fp, "\n\tPaired t-test\n\ndata:  %s and %s (%zu complete pairs)\n", col, vs, na);
            fprintf(c->fp, "t = %s, df = %s, p-value = %s\n", fmt_est(r.statistic), fmt_est(r.df), fmt_p(r.p));
            stats_print_one_sided(c, &r);
            fprintf(c->fp, "alternative hypothesis: true mean difference is not equal to 0\n");
            fprintf(c->fp, "%g percent confidence interval:\n %s %s\n", 100 * conf, fmt_est(r.ci_lo),
                    fmt_est(r.ci_hi));
            fprintf(c->fp, "sample estimates:\nmean difference\n%15s\n\n", fmt_est(r.estimate));
        }
    } else if (has_mu) {
        double *v = NULL;
        s = dolor_csv_numeric(d.csv, col, &v);
        if (!s) {
            a = malloc((d.csv->nrow + 1) * sizeof *a);
            for (size_t i = 0; a && i < d.csv->nrow; i++)
                if (!isnan(v[i]))
                    a[na++] = v[i];
            s = a ? dolor_stats_ttest_one(a, na, mu, conf, &r) : dolor_error(DOLOR_ENOMEM, "out of memory");
        }
        free(v);
        if (!s) {
            fprintf(c->fp, "\n\tOne Sample t-test\n\ndata:  %s (n = %zu)\n", col, na);
            fprintf(c->fp, "t = %s, df = %s, p-value = %s\n", fmt_est(r.statistic), fmt_est(r.df), fmt_p(r.p));
            stats_print_one_sided(c, &r);
            fprintf(c->fp, "alternative hypothesis: true mean is not equal to %g\n", mu);
            fprintf(c->fp, "%g percent confidence interval:\n %s %s\n", 100 * conf, fmt_est(r.ci_lo),
                    fmt_est(r.ci_hi));
            fprintf(c->fp, "sample estimates:\nmean of x\n%9s\n\n", fmt_est(r.estimate));
        }
    } else {
        s = stats_two_groups(&d, col, &a, &na, &b, &nb);
        if (!s)
            s = dolor_stats_ttest(a, na, b, nb, !welch, conf, &r);
        if (!s) {
            fprintf(c->fp, "\n\t%s\n\ndata:  %s by %s (%s: n = %zu, %s: n = %zu)\n", r.method, col, by, d.glev[0], na,
                    d.glev[1], nb);
            fprintf(c->fp, "t = %s, df = %s, p-value = %s\n", fmt_est(r.statistic), fmt_est(r.df), fmt_p(r.p));
            stats_print_one_sided(c, &r);
            fprintf(c->fp,
                    "alternative hypothesis: true difference in means between group %s and group %s is not equal "
                    "to 0\n",
                    d.glev[0], d.glev[1]);
            fprintf(c->fp, "%g percent confidence interval:\n %s %s\n", 100 * conf, fmt_est(r.ci_lo),
                    fmt_est(r.ci_hi));
            fprintf(c->fp, "sample estimates:\nmean in group %s  mean in group %s\n%s  %s\n\n", d.glev[0], d.glev[1],
                    fmt_est(r.estimate + dolor_stats_mean(b, nb)), fmt_est(dolor_stats_mean(b, nb)));
            out_str(c, "group1", d.glev[0]);
            out_str(c, "group2", d.glev[1]);
        }
    }
    if (!s)
        out_test(c, &r);
    if (s)
        s = stats_prefix_column(s, col);
    free(a);
    free(b);
    return stats_done(c, s, &d);
}

static int run_mannwhitney(stats_ctx *c)
{
    stats_data d;
    const char *col = stats_str(c, "col"), *by = stats_str(c, "by");
    int exact, correct;
    dolor_status s = rank_setup(c, &d, 1, &exact, &correct);
    double *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    dolor_test_result r;
    if (!s && !col)
        s = dolor_error(DOLOR_EINVAL, "--col is required");
    if (!s)
        s = stats_two_groups(&d, col, &a, &na, &b, &nb);
    if (!s)
        s = dolor_stats_mannwhitney(a, na, b, nb, exact, correct, &r);
    if (!s) {
        /* R: exact is asked for, or the default with both groups below 50, but ties force the approximation */
        if (!r.exact && (exact == 1 || (exact == -1 && na < 50 && nb < 50)))
            out_warn(c, "cannot compute exact p-value with ties (normal approximation used)");
        fprintf(c->fp, "\n\t%s\n\ndata:  %s by %s (%s: n = %zu, %s: n = %zu)\n", r.method, col, by, d.glev[0], na,
                d.glev[1], nb);
        out_str(c, "group1", d.glev[0]);
        out_str(c, "group2", d.glev[1]);
        rank_print(c, "W", &r, correct);
        fprintf(c->fp, "Hodges-Lehmann shift (median of %s - %s differences): %s\n\n", d.glev[0], d.glev[1],
                fmt_est(r.estimate));
    }
    free(a);
    free(b);
    return stats_done(c, s, &d);
}

static int has_ties(const double *x, size_t n)
{
    double *v = malloc((n + 1) * sizeof *v);
    int t = 0;
    if (!v)
        return 0;
    for (size_t i = 0; i < n; i++)
        v[i] = fabs(x[i]);
    for (size_t i = 0; i < n && !t; i++) /* n is small where R would try the exact test (< 50) */
        for (size_t j = i + 1; j < n && !t; j++)
            t = v[i] == v[j];
    free(v);
    return t;
}

static int run_wilcoxon(stats_ctx *c)
{
    stats_data d;
    const char *col = stats_str(c, "col"), *vs = stats_str(c, "vs");
    int exact, correct;
    dolor_status s = rank_setup(c, &d, 0, &exact, &correct);
    double *a = NULL, *b = NULL;
    size_t n = 0;
    dolor_test_result r;
    if (!s && (!col || !vs))
        s = dolor_error(DOLOR_EINVAL, "--col A --vs B are required (signed rank on A - B)");
    if (!s)
        s = stats_pairs(&d, col, vs, &a, &b, &n);
    if (!s)
        s = dolor_stats_wilcoxon_signed(a, b, n, exact, correct, &r);
    if (!s) {
        if (!r.exact && (exact == 1 || (exact == -1 && r.n < 50))) {
            double *dd = malloc((n + 1) * sizeof *dd);
            size_t m = 0, zeros = 0;
            for (size_t i = 0; dd && i < n; i++) {
                if (a[i] == b[i])
                    zeros++;
                else
                    dd[m++] = a[i] - b[i];
            }
            if (dd && has_ties(dd, m))
                out_warn(c, "cannot compute exact p-value with ties (normal approximation used)");
            if (zeros)
                out_warn(c, "cannot compute exact p-value with zeroes (normal approximation used)");
            free(dd);
        }
        fprintf(c->fp, "\n\t%s\n\ndata:  %s and %s (%zu complete pairs, %zu non-zero differences)\n", r.method, col,
                vs, n, r.n);
        rank_print(c, "V", &r, correct);
        fprintf(c->fp, "median difference: %s\n\n", fmt_est(r.estimate));
    }
    free(a);
    free(b);
    return stats_done(c, s, &d);
}

/* levene, anova, kruskal, pairwise: y by k groups */
typedef enum { KS_LEVENE, KS_ANOVA, KS_KRUSKAL, KS_PAIRWISE } ksample;

static int run_ksample(stats_ctx *c, ksample which)
{
    stats_data d;
    const char *col = stats_str(c, "col"), *by = stats_str(c, "by");
    dolor_status s = stats_load(c, &d, 1);
    double *y = NULL;
    int *g = NULL;
    size_t n = 0, *cnt = NULL;
    if (!s && !col)
        s = dolor_error(DOLOR_EINVAL, "--col is required");
    if (!s)
        s = stats_grouped(&d, col, &y, &g, &n, &cnt, 2);
    if (!s && which == KS_LEVENE) {
        const char *center = stats_str(c, "center");
        dolor_levene_center ce = DOLOR_LEVENE_MEAN;
        if (center && !strcmp(center, "median"))
            ce = DOLOR_LEVENE_MEDIAN;
        else if (center && strcmp(center, "mean"))
            s = dolor_error(DOLOR_EINVAL, "--center: '%s' is not mean or median", center);
        dolor_test_result r;
        if (!s)
            s = dolor_stats_levene(y, g, n, d.k, ce, &r);
        if (!s) {
            fprintf(c->fp, "Levene's Test for Homogeneity of Variance (center = %s)\n", ce ? "median" : "mean");
            fprintf(c->fp, "       Df F value    Pr(>F)\ngroup %3g %7.4f %9s\n      %3g\n\n", r.df, r.statistic,
                    fmt_p(r.p), r.df2);
            out_str(c, "center", ce ? "median" : "mean");
            out_test(c, &r);
        }
    } else if (!s && which == KS_ANOVA) {
        if (stats_flag(c, "welch", 0)) {
            dolor_test_result r;
            s = dolor_stats_welch_anova(y, g, n, d.k, &r);
            if (!s) {
                fprintf(c->fp, "\n\t%s\n\ndata:  %s and %s\nF = %s, num df = %s, denom df = %s, p-value = %s\n\n",
                        r.method, col, by, fmt_est(r.statistic), fmt_est(r.df), fmt_est(r.df2), fmt_p(r.p));
                out_test(c, &r);
            }
        } else {
            dolor_anova a;
            double *m = malloc((size_t)d.k * sizeof *m);
            size_t *cn = malloc((size_t)d.k * sizeof *cn);
            s = m && cn ? dolor_stats_anova(y, g, n, d.k, &a, m, cn) : dolor_error(DOLOR_ENOMEM, "out of memory");
            if (!s) {
                fprintf(c->fp, "            Df  Sum Sq Mean Sq F value   Pr(>F)\n");
                fprintf(c->fp, "%-10s %3g %7s %7s %7s %8s\n", by, a.df_between, fmt_est(a.ss_between),
                        fmt_est(a.ms_between), fmt_est(a.F), fmt_p(a.p));
                fprintf(c->fp, "Residuals  %3g %7s %7s\n\n", a.df_within, fmt_est(a.ss_within), fmt_est(a.ms_within));
                for (int j = 0; j < d.k; j++)
                    fprintf(c->fp, "  %s: n = %zu, mean = %s\n", d.glev[j], cn[j], fmt_est(m[j]));
                fprintf(c->fp, "\n");
                out_str(c, "method", "One-way analysis of variance");
                out_num(c, "F", a.F);
                out_num(c, "df", a.df_between);
                out_num(c, "df2", a.df_within);
                out_pval(c, "p", a.p);
                out_num(c, "ss_between", a.ss_between);
                out_num(c, "ss_within", a.ss_within);
                out_num(c, "ms_between", a.ms_between);
                out_num(c, "ms_within", a.ms_within);
            }
            free(m);
            free(cn);
        }
    } else if (!s && which == KS_KRUSKAL) {
        dolor_test_result r;
        s = dolor_stats_kruskal(y, g, n, d.k, &r);
        if (!s) {
            fprintf(c->fp, "\n\t%s\n\ndata:  %s by %s\nKruskal-Wallis chi-squared = %s, df = %s, p-value = %s\n\n",
                    r.method, col, by, fmt_est(r.statistic), fmt_est(r.df), fmt_p(r.p));
            out_test(c, &r);
        }
    } else if (!s && which == KS_PAIRWISE) {
        const char *adjust = stats_str(c, "adjust");
        int pool = stats_flag(c, "pool", 1);
        dolor_p_adjust adj = DOLOR_P_ADJUST_HOLM; /* R's default */
        if (adjust && !strcmp(adjust, "bonferroni"))
            adj = DOLOR_P_ADJUST_BONFERRONI;
        else if (adjust && !strcmp(adjust, "none"))
            adj = DOLOR_P_ADJUST_NONE;
        else if (adjust && strcmp(adjust, "holm"))
            s = dolor_error(DOLOR_EINVAL, "--adjust: '%s' is not bonferroni, holm or none", adjust);
        size_t kk = (size_t)d.k * (size_t)d.k;
        double *p = malloc(kk * sizeof *p);
        if (!s)
            s = p ? dolor_stats_pairwise_t(y, g, n, d.k, pool, adj, p, NULL) : dolor_error(DOLOR_ENOMEM, "out of memory");
        if (!s) {
            const char *an =
                adj == DOLOR_P_ADJUST_HOLM ? "holm" : adj == DOLOR_P_ADJUST_BONFERRONI ? "bonferroni" : "none";
            fprintf(c->fp, "\n\tPairwise comparisons using t tests with %s SD\n\ndata:  %s and %s\n\n",
                    pool ? "pooled" : "non-pooled", col, by);
            fprintf(c->fp, "%-10s", "");
            for (int j = 0; j < d.k - 1; j++)
                fprintf(c->fp, " %-10s", d.glev[j]);
            fprintf(c->fp, "\n");
            for (int i = 1; i < d.k; i++) {
                fprintf(c->fp, "%-10s", d.glev[i]);
                for (int j = 0; j < d.k - 1; j++) {
                    fprintf(c->fp, " %-10s", j < i ? fmt_p(p[(size_t)i * d.k + j]) : "-");
                    if (j < i) {
                        out_record(c);
                        out_str(c, "group1", d.glev[i]);
                        out_str(c, "group2", d.glev[j]);
                        out_pval(c, "p", p[(size_t)i * d.k + j]);
                        out_str(c, "adjust", an);
                    }
                }
                fprintf(c->fp, "\n");
            }
            fprintf(c->fp, "\nP value adjustment method: %s\n\n", an);
        }
        free(p);
    }
    if (s)
        s = stats_prefix_column(s, col ? col : "");
    free(y);
    free(g);
    free(cnt);
    return stats_done(c, s, &d);
}

static int run_levene(stats_ctx *c)
{
    return run_ksample(c, KS_LEVENE);
}
static int run_anova(stats_ctx *c)
{
    return run_ksample(c, KS_ANOVA);
}
static int run_kruskal(stats_ctx *c)
{
    return run_ksample(c, KS_KRUSKAL);
}
static int run_pairwise(stats_ctx *c)
{
    return run_ksample(c, KS_PAIRWISE);
}

static int run_cor(stats_ctx *c)
{
    stats_data d;
    const char *col = stats_str(c, "col"), *vs = stats_str(c, "vs"), *method = stats_str(c, "method");
    int exact = exact_choice(c);
    double conf;
    dolor_status s = stats_conf(c, &conf);
    if (!s)
        s = one_of(c, "exact", "approx");
    if (!s)
        s = stats_load(c, &d, 0);
    else
        memset(&d, 0, sizeof d);
    double *a = NULL, *b = NULL;
    size_t n = 0;
    dolor_test_result r;
    int spear = method && !strcmp(method, "spearman");
    if (!s)
        s = spear ? stats_reject(c, "with --method spearman (R gives no CI)", "conf", NULL)
                  : stats_reject(c, "by Pearson's test (--method spearman)", "exact", "approx", NULL);
    if (!s && method && !spear && strcmp(method, "pearson"))
        s = dolor_error(DOLOR_EINVAL, "--method: '%s' is not pearson or spearman", method);
    if (!s && (!col || !vs))
        s = dolor_error(DOLOR_EINVAL, "--col X --vs Y are required");
    if (!s)
        s = stats_pairs(&d, col, vs, &a, &b, &n);
    if (!s)
        s = spear ? dolor_stats_spearman(a, b, n, exact, &r) : dolor_stats_pearson(a, b, n, conf, &r);
    if (!s) {
        fprintf(c->fp, "\n\t%s\n\ndata:  %s and %s (%zu complete pairs)\n", r.method, col, vs, n);
        if (spear) {
            if (!r.exact && exact != 0 && n < 1290)
                out_warn(c, "cannot compute exact p-value with ties (t approximation used)");
            fprintf(c->fp, "S = %s, p-value = %s%s\n", fmt_est(r.statistic), fmt_p(r.p),
                    r.exact ? "" : "  (t approximation: ties or n >= 1290)");
            stats_print_one_sided(c, &r);
            fprintf(c->fp, "alternative hypothesis: true rho is not equal to 0\nsample estimates:\n      rho\n%9s\n\n",
                    fmt_est(r.estimate));
        } else {
            fprintf(c->fp, "t = %s, df = %s, p-value = %s\n", fmt_est(r.statistic), fmt_est(r.df), fmt_p(r.p));
            stats_print_one_sided(c, &r);
            fprintf(c->fp, "alternative hypothesis: true correlation is not equal to 0\n");
            if (!isnan(r.ci_lo))
                fprintf(c->fp, "%g percent confidence interval:\n %s %s\n", 100 * conf, fmt_est(r.ci_lo),
                        fmt_est(r.ci_hi));
            fprintf(c->fp, "sample estimates:\n      cor\n%9s\n\n", fmt_est(r.estimate));
        }
        out_test(c, &r);
    }
    free(a);
    free(b);
    return stats_done(c, s, &d);
}

/* ---- option tables and descriptors ---- */
#define EXACT_OPTS                                                                                            \
    {.name = "exact", .type = OPT_FLAG,                                                                       \
     .help = "exact p (R: exact = TRUE; ties force the normal approximation, with a warning); --no-exact = --approx"}, \
    {.name = "approx", .type = OPT_FLAG, .help = "normal approximation (R: exact = FALSE)"},                   \
    {.name = "correct", .type = OPT_FLAG,                                                                     \
     .help = "continuity correction of the normal approximation (default; --no-correct: R correct = FALSE, as SPSS)"}

static const dolor_opt_spec ttest_opts[] = {
    STATS_OPT_COL("column Y (two-sample, one-sample) or A (paired: A - B)"),
    STATS_OPT_BY,
    {.name = "vs", .type = OPT_STR, .metavar = "COL", .help = "column B of a paired t test (with --paired)"},
    {.name = "paired", .type = OPT_FLAG, .help = "paired t test on --col minus --vs"},
    {.name = "mu", .type = OPT_NUM, .metavar = "M", .help = "one-sample t test against this mean"},
    {.name = "welch", .type = OPT_FLAG, .help = "Welch's t (unequal variances); default Student's"},
    {.name = "student", .type = OPT_FLAG, .help = "Student's t (equal variances; the default)"},
    STATS_OPT_CONF,
    STATS_OPT_REF_GROUP,
    STATS_OPT_LEVELS,
    STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_ttest = {
    .name = "ttest",
    .topic = "tests",
    .usage = "FILE.csv --col Y --by G [--welch] | --col A --vs B --paired | --col Y --mu M",
    .summary = "two-sample (Student/Welch), paired or one-sample t test (R t.test)",
    .opts = ttest_opts,
    .nopts = sizeof ttest_opts / sizeof *ttest_opts,
    .npos_min = 1,
    .npos_max = 1,
    .formats = STATS_FORMATS,
    .run = run_ttest,
};

static const dolor_opt_spec mannwhitney_opts[] = {
    STATS_OPT_COL("column Y"), STATS_OPT_BY, EXACT_OPTS, STATS_OPT_REF_GROUP, STATS_OPT_LEVELS, STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_mannwhitney = {
    .name = "mannwhitney",
    .topic = "tests",
    .usage = "FILE.csv --col Y --by G [--exact|--approx] [--no-correct] [--ref-group NAME]",
    .summary = "Mann-Whitney U / Wilcoxon rank sum test (R wilcox.test(x, y, exact, correct))",
    .details = "W is the U of the first group (the reference: R's x); --no-correct --approx gives SPSS's Asymp. Sig.\n",
    .opts = mannwhitney_opts,
    .nopts = sizeof mannwhitney_opts / sizeof *mannwhitney_opts,
    .npos_min = 1,
    .npos_max = 1,
    .formats = STATS_FORMATS,
    .run = run_mannwhitney,
};

static const dolor_opt_spec wilcoxon_opts[] = {
    STATS_OPT_COL("column A (signed rank on A - B)"),
    {.name = "vs", .type = OPT_STR, .metavar = "COL", .help = "column B"},
    EXACT_OPTS,
    STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_wilcoxon = {
    .name = "wilcoxon",
    .topic = "tests",
    .usage = "FILE.csv --col A --vs B [--exact|--approx] [--no-correct]",
    .summary = "Wilcoxon signed rank test on A - B (R wilcox.test(a, b, paired = TRUE))",
    .opts = wilcoxon_opts,
    .nopts = sizeof wilcoxon_opts / sizeof *wilcoxon_opts,
    .npos_min = 1,
    .npos_max = 1,
    .formats = STATS_FORMATS,
    .run = run_wilcoxon,
};

static const dolor_opt_spec levene_opts[] = {
    STATS_OPT_COL("column Y"),
    STATS_OPT_BY,
    {.name = "center", .type = OPT_STR, .metavar = "mean|median", .def = "mean",
     .help = "mean (Levene, as SPSS) or median (Brown-Forsythe)"},
    STATS_OPT_REF_GROUP,
    STATS_OPT_LEVELS,
    STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_levene = {
    .name = "levene",
    .topic = "tests",
    .usage = "FILE.csv --col Y --by G [--center mean|median]",
    .summary = "Levene / Brown-Forsythe test of equal variances (R car::leveneTest)",
    .opts = levene_opts,
    .nopts = sizeof levene_opts / sizeof *levene_opts,
    .npos_min = 1,
    .npos_max = 1,
    .formats = STATS_FORMATS,
    .run = run_levene,
};

static const dolor_opt_spec anova_opts[] = {
    STATS_OPT_COL("column Y"),
    STATS_OPT_BY,
    {.name = "welch", .type = OPT_FLAG, .help = "Welch ANOVA (R oneway.test(var.equal = FALSE))"},
    STATS_OPT_REF_GROUP,
    STATS_OPT_LEVELS,
    STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_anova = {
    .name = "anova",
    .topic = "tests",
    .usage = "FILE.csv --col Y --by G [--welch]",
    .summary = "one-way ANOVA table (R summary(aov(y ~ g))) or Welch ANOVA (oneway.test)",
    .opts = anova_opts,
    .nopts = sizeof anova_opts / sizeof *anova_opts,
    .npos_min = 1,
    .npos_max = 1,
    .formats = STATS_FORMATS,
    .run = run_anova,
};

static const dolor_opt_spec kruskal_opts[] = {
    STATS_OPT_COL("column Y"), STATS_OPT_BY, STATS_OPT_REF_GROUP, STATS_OPT_LEVELS, STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_kruskal = {
    .name = "kruskal",
    .topic = "tests",
    .usage = "FILE.csv --col Y --by G",
    .summary = "Kruskal-Wallis rank sum test (R kruskal.test)",
    .opts = kruskal_opts,
    .nopts = sizeof kruskal_opts / sizeof *kruskal_opts,
    .npos_min = 1,
    .npos_max = 1,
    .formats = STATS_FORMATS,
    .run = run_kruskal,
};

static const dolor_opt_spec pairwise_opts[] = {
    STATS_OPT_COL("column Y"),
    STATS_OPT_BY,
    {.name = "adjust", .type = OPT_STR, .metavar = "holm|bonferroni|none", .def = "holm",
     .help = "p-value adjustment (R p.adjust.method)"},
    {.name = "pool", .type = OPT_FLAG, .help = "pooled SD of all groups (default); --no-pool: Welch t per pair"},
    STATS_OPT_REF_GROUP,
    STATS_OPT_LEVELS,
    STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_pairwise = {
    .name = "pairwise",
    .topic = "tests",
    .usage = "FILE.csv --col Y --by G [--adjust holm|bonferroni|none] [--no-pool]",
    .summary = "pairwise t tests with adjusted p-values (R pairwise.t.test)",
    .opts = pairwise_opts,
    .nopts = sizeof pairwise_opts / sizeof *pairwise_opts,
    .npos_min = 1,
    .npos_max = 1,
    .formats = STATS_FORMATS,
    .run = run_pairwise,
};

static const dolor_opt_spec cor_opts[] = {
    STATS_OPT_COL("column X"),
    {.name = "vs", .type = OPT_STR, .metavar = "COL", .help = "column Y"},
    {.name = "method", .type = OPT_STR, .metavar = "pearson|spearman", .def = "pearson", .help = "the correlation"},
    {.name = "exact", .type = OPT_FLAG, .help = "Spearman: exact p (R exact = TRUE); --no-exact: t approximation"},
    {.name = "approx", .type = OPT_FLAG, .help = "Spearman: t approximation (R exact = FALSE)"},
    STATS_OPT_CONF,
    STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_cor = {
    .name = "cor",
    .topic = "tests",
    .usage = "FILE.csv --col X --vs Y [--method pearson|spearman]",
    .summary = "Pearson or Spearman correlation test (R cor.test)",
    .opts = cor_opts,
    .nopts = sizeof cor_opts / sizeof *cor_opts,
    .npos_min = 1,
    .npos_max = 1,
    .formats = STATS_FORMATS,
    .run = run_cor,
};
