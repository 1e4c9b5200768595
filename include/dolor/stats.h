/*
 * dolor/stats.h - statistics that match R: descriptives, hypothesis tests,
 * confidence intervals, agreement, diagnostic accuracy, ROC/DeLong, sample
 * size, randomisation and study tables.
 *
 * Conventions: inputs are double arrays with their length; NaN is an error
 * (DOLOR_ENUMERIC naming the variable) unless a function says it skips
 * missing values. Results come back in structs; p-values are two-sided
 * unless a field says otherwise. Every function names the R function (and
 * options) it reproduces.
 *
 * Topics, in this order: descriptives; t, rank, normality, k-group and
 * correlation tests; contingency tables; a small CSV reader; study tables
 * ("Table 1"); proportions and diagnostic accuracy; agreement (kappa, ICC);
 * ROC and DeLong; sample size; randomisation. Distribution functions come
 * from Rmath (R's own code), so p-values are the numbers R prints; see
 * docs/stats.md.
 */
#ifndef DOLOR_STATS_H
#define DOLOR_STATS_H

#include "dolor/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Missing values, groups ----
 * Functions below reject NaN/Inf with DOLOR_ENUMERIC (message names the
 * argument and the index) unless they say they skip missing values. Grouped
 * functions take y[n] and g[n] with g[i] in 0..k-1 (group index, as R's
 * factor levels in order); every group must hold at least the number of
 * observations stated, else DOLOR_ENUMERIC naming the group index. */

/* ---- Descriptives ---- */

/* Quantile definitions: R's quantile(type = 7) (the R default:
 * h = (n-1)p) and type 6 (SPSS/Minitab: h = (n+1)p, clamped to the data). */
typedef enum dolor_quantile_type {
    DOLOR_QUANTILE_R7 = 7,
    DOLOR_QUANTILE_SPSS6 = 6
} dolor_quantile_type;

/* p-quantile (p in [0,1]) of x[n] (n >= 1, finite). Errors: DOLOR_EINVAL (p
 * outside [0,1], unknown type), DOLOR_ENUMERIC (n == 0 or NaN/Inf), ENOMEM. */
dolor_status dolor_stats_quantile(const double *x, size_t n, double p, dolor_quantile_type type, double *out);

typedef struct dolor_describe {
    size_t n;          /* observations used (non-missing) */
    size_t n_missing;  /* NaN values skipped */
    double mean;
    double sd;         /* sample SD (n-1 denominator, R's sd()) or population (n) if asked; NaN if n < 2 */
    double median;
    double p25, p75;   /* quartiles by the requested quantile type */
    double min, max;
} dolor_describe;

/* Summary of x[n]; NaN values are skipped and counted as missing (Inf is an
 * error). population_sd != 0 divides by n instead of n-1. Errors:
 * DOLOR_ENUMERIC (no non-missing value; Inf), DOLOR_EINVAL, DOLOR_ENOMEM. */
dolor_status dolor_stats_describe(const double *x, size_t n, int population_sd, dolor_quantile_type qtype,
                                  dolor_describe *out);

/* Sample mean and variance (R's mean(), var()); var is NaN for n < 2. */
double dolor_stats_mean(const double *x, size_t n);
double dolor_stats_var(const double *x, size_t n);

/* Average ranks of x[n] (R's rank(ties.method = "average")), 1-based, into
 * r[n]. Returns the tie term sum(t^3 - t) over tie groups through *tie_term
 * (may be NULL). Errors: DOLOR_ENOMEM. */
dolor_status dolor_stats_rank(const double *x, size_t n, double *r, double *tie_term);

/* ---- Results of a test ----
 * Fields that a test does not define are NaN (df, estimate, CI, z) or 0. */
typedef struct dolor_test_result {
    double statistic;  /* t, W, V, F, chi-square, S, ... (the R statistic) */
    double df, df2;    /* degrees of freedom (df2: denominator df of F tests) */
    double p;          /* two-sided p (or the only p, for F and chi-square tests) */
    double p_less;     /* one-sided p, alternative "less" (NaN where R has none) */
    double p_greater;  /* one-sided p, alternative "greater" */
    double estimate;   /* mean difference, r, rho, odds ratio, location shift ... */
    double ci_lo, ci_hi;  /* two-sided CI for estimate at the requested level */
    double se;         /* standard error of the estimate (t tests) */
    double z;          /* normal deviate of an approximate rank test (with the
                          continuity correction when it applied), two-sided */
    double sigma;      /* its tie-corrected standard deviation */
    int exact;         /* 1: exact distribution used, 0: approximation */
    size_t n;          /* observations (pairs) used */
    char method[96];   /* R's method string, e.g. "Welch Two Sample t-test" */
} dolor_test_result;

/* ---- t tests (R stats::t.test) ----
 * conf: confidence level of the two-sided CI, in (0,1), usually 0.95.
 * Two-sample: estimate = mean(x) - mean(y), df = n_x + n_y - 2 (var_equal)
 * or the Welch-Satterthwaite df. Errors: DOLOR_ENUMERIC (NaN/Inf; fewer than
 * 2 per group; zero variance -> "data are essentially constant" as R),
 * DOLOR_EINVAL (conf). */
dolor_status dolor_stats_ttest(const double *x, size_t nx, const double *y, size_t ny, int var_equal, double conf,
                               dolor_test_result *out);
/* Paired: d = x - y (pairs), t.test(x, y, paired = TRUE). n >= 2. */
dolor_status dolor_stats_ttest_paired(const double *x, const double *y, size_t n, double conf,
                                      dolor_test_result *out);
/* One-sample t.test(x, mu = mu). n >= 2. */
dolor_status dolor_stats_ttest_one(const double *x, size_t n, double mu, double conf, dolor_test_result *out);

/* ---- Rank tests (R stats::wilcox.test) ----
 * exact: -1 = R's default (exact iff n_x < 50 and n_y < 50 [signed rank: n
 * non-zero < 50] and no ties [and no zeros]), 0 = normal approximation, 1 =
 * exact when possible (as R, ties or zeros force the approximation).
 * correct: continuity correction of the normal approximation (R default 1).
 * Normal approximation: z = (W - E[W] - CORR) / sigma with CORR = sign*0.5
 * (two-sided), +0.5 (greater), -0.5 (less), sigma tie-corrected.
 * Exact distributions are Rmath's pwilcox/psignrank (which keep a static
 * cache: not thread-safe). */

/* Mann-Whitney U / Wilcoxon rank sum: statistic W = sum of ranks of x -
 * n_x(n_x+1)/2 (U of x); estimate = Hodges-Lehmann shift median(x_i - y_j)
 * (equal to R's estimate when R uses the exact test; no CI; NaN when
 * n_x * n_y > 4e6). n_x, n_y >= 1.
 * Errors: DOLOR_ENUMERIC (NaN/Inf, empty sample), DOLOR_ENOMEM. */
dolor_status dolor_stats_mannwhitney(const double *x, size_t nx, const double *y, size_t ny, int exact, int correct,
                                     dolor_test_result *out);
/* Wilcoxon signed rank on d = x - y (y NULL: one-sample on x vs 0): zeros
 * dropped, V = sum of ranks of |d| with d > 0, n = non-zero differences.
 * estimate = median of d (the pseudo-median is not computed).
 * Errors: DOLOR_ENUMERIC (NaN/Inf; all differences zero), DOLOR_ENOMEM. */
dolor_status dolor_stats_wilcoxon_signed(const double *x, const double *y, size_t n, int exact, int correct,
                                         dolor_test_result *out);

/* Shapiro-Wilk W and p (R stats::shapiro.test, Royston 1995 algorithm AS R94),
 * 3 <= n <= 5000. Errors: DOLOR_ENUMERIC (n outside 3..5000, NaN/Inf, all
 * values identical), DOLOR_ENOMEM. */
dolor_status dolor_stats_shapiro(const double *x, size_t n, dolor_test_result *out);

/* ---- k-group tests: y[n], g[n] in 0..k-1, k >= 2 ---- */

typedef enum dolor_levene_center {
    DOLOR_LEVENE_MEAN = 0,   /* Levene (1960), as SPSS; car::leveneTest(center = mean) */
    DOLOR_LEVENE_MEDIAN = 1  /* Brown-Forsythe; car::leveneTest default (center = median) */
} dolor_levene_center;

/* Levene / Brown-Forsythe: one-way ANOVA F on |y - centre of its group|.
 * statistic F, df = k-1, df2 = n-k, p. Every group needs >= 1 value and n > k.
 * Errors: DOLOR_ENUMERIC, DOLOR_EINVAL (g out of range), DOLOR_ENOMEM. */
dolor_status dolor_stats_levene(const double *y, const int *g, size_t n, int k, dolor_levene_center center,
                                dolor_test_result *out);

typedef struct dolor_anova {
    double df_between, df_within;
    double ss_between, ss_within;
    double ms_between, ms_within;
    double F, p;
} dolor_anova;
/* One-way ANOVA table, summary(aov(y ~ g)). Errors as dolor_stats_levene.
 * means[k] and counts[k] (each may be NULL) receive the group means and n. */
dolor_status dolor_stats_anova(const double *y, const int *g, size_t n, int k, dolor_anova *out, double *means,
                               size_t *counts);
/* Welch ANOVA, oneway.test(y ~ g, var.equal = FALSE): statistic F, df, df2, p.
 * Every group needs >= 2 values and non-zero variance. */
dolor_status dolor_stats_welch_anova(const double *y, const int *g, size_t n, int k, dolor_test_result *out);
/* Kruskal-Wallis rank sum test, kruskal.test(y, g): statistic chi-square
 * (tie-corrected), df = k-1, p. */
dolor_status dolor_stats_kruskal(const double *y, const int *g, size_t n, int k, dolor_test_result *out);

typedef enum dolor_p_adjust {
    DOLOR_P_ADJUST_NONE = 0,
    DOLOR_P_ADJUST_BONFERRONI = 1,  /* min(1, m p) */
    DOLOR_P_ADJUST_HOLM = 2         /* Holm (1979) step-down, R's p.adjust("holm") */
} dolor_p_adjust;
/* Adjust p[m] into out[m] (may alias p) as R's p.adjust. NaN entries are
 * kept and not counted in m. Errors: DOLOR_EINVAL (method), DOLOR_ENOMEM. */
dolor_status dolor_stats_p_adjust(const double *p, size_t m, dolor_p_adjust method, double *out);

/* Pairwise t tests, pairwise.t.test(y, g, p.adjust.method, pool.sd).
 * p[k*k] and t[k*k] (t may be NULL) receive, for i > j, the comparison of
 * group i with group j at [i*k + j] (R's lower-triangle layout); other
 * entries are NaN. pool_sd: pooled SD of all groups, df = n - k (R default);
 * else a Welch t test per pair. Adjustment over the k(k-1)/2 pairs. */
dolor_status dolor_stats_pairwise_t(const double *y, const int *g, size_t n, int k, int pool_sd,
                                    dolor_p_adjust adjust, double *p, double *t);

/* ---- Repeated measures: y[n * k] row-major, y[i*k + j] = subject i under condition j (complete blocks) ----
 * Used for reader studies: subjects are images, conditions are readers (senior, junior, model, ...). */

/* Friedman rank sum test, R friedman.test(y) with y an n x k matrix: ranks within each subject (average
 * ranks for ties), statistic = 12 sum_j (R_j - n(k+1)/2)^2 / (n k (k+1) - sum(t^3 - t)/(k - 1)), df = k - 1,
 * p = P(chi-square_df > statistic). Errors: DOLOR_EINVAL (k < 2), DOLOR_ENUMERIC (n < 2, NaN/Inf naming the
 * subject and condition, every block tied), DOLOR_ENOMEM. */
dolor_status dolor_stats_friedman(const double *y, size_t n, int k, dolor_test_result *out);

/* One-way repeated-measures ANOVA, R summary(aov(y ~ condition + Error(subject/condition))): the
 * subject stratum holds SS_subjects (df n - 1); the within stratum F = MS_conditions / MS_error with
 * df k - 1 and (n - 1)(k - 1), sphericity assumed (no Greenhouse-Geisser correction). */
typedef struct dolor_rm_anova {
    double ss_subjects, ss_conditions, ss_error;
    double df_subjects, df_conditions, df_error;
    double ms_conditions, ms_error;
    double F, p;
} dolor_rm_anova;
/* Errors: as dolor_stats_friedman; DOLOR_ENUMERIC when the residual variance is zero. */
dolor_status dolor_stats_rm_anova(const double *y, size_t n, int k, dolor_rm_anova *out);

/* Post-hoc paired comparisons, R pairwise.wilcox.test(y, condition, paired = TRUE, p.adjust.method): for
 * i > j, Wilcoxon signed rank of condition i against condition j (exact and correct as
 * dolor_stats_wilcoxon_signed) into p[i*k + j] and V[i*k + j] (V may be NULL; R's lower triangle), the
 * p-values adjusted over the k(k-1)/2 pairs; other entries NaN, as is a pair whose differences are all 0.
 * Errors: as dolor_stats_friedman. */
dolor_status dolor_stats_pairwise_wilcoxon_paired(const double *y, size_t n, int k, int exact, int correct,
                                                  dolor_p_adjust adjust, double *p, double *V);

/* ---- Correlation (R stats::cor.test) ---- */
/* Pearson r: statistic t = r sqrt(n-2)/sqrt(1-r^2), df = n-2, p two-sided and
 * one-sided, estimate r, CI by Fisher z (n >= 4 for the CI). n >= 3.
 * Errors: DOLOR_ENUMERIC (NaN/Inf, n < 3, zero variance), DOLOR_EINVAL. */
dolor_status dolor_stats_pearson(const double *x, const double *y, size_t n, double conf, dolor_test_result *out);
/* Spearman rho (Pearson r of average ranks), statistic S = (n^3-n)(1-rho)/6.
 * exact: -1 = R default (exact iff n < 1290 and no ties), 0 = t
 * approximation t = rho sqrt((n-2)/(1-rho^2)) on n-2 df, 1 = exact where
 * possible. "Exact" follows R's pRho: the permutation distribution for
 * n <= 9, the Edgeworth series of Best & Roberts (1975, AS 89) above.
 * No CI (as R). n >= 3. Errors as dolor_stats_pearson. */
dolor_status dolor_stats_spearman(const double *x, const double *y, size_t n, int exact, dolor_test_result *out);

/* ---- Contingency tables: counts[r*c] row-major, non-negative integers ---- */
/* Pearson chi-square test of independence, chisq.test(m, correct): statistic,
 * df = (r-1)(c-1), p. Yates' correction (2x2 only, when correct != 0) reduces
 * every |O-E| by min(0.5, min |O-E|) as R does. expected[r*c] may be NULL.
 * Errors: DOLOR_EINVAL (r or c < 2, negative count), DOLOR_ENUMERIC (a zero
 * row or column margin, naming it). */
dolor_status dolor_stats_chisq(const double *counts, int r, int c, int correct, dolor_test_result *out,
                               double *expected);
/* Fisher's exact test, fisher.test(m). 2x2: p two-sided (sum of table
 * probabilities <= P(observed) * (1 + 1e-7), R's rule), p_less, p_greater,
 * estimate = conditional maximum-likelihood odds ratio and its exact CI at
 * level conf (solved to machine precision; R's uniroot stops near 1e-4).
 * r x c: two-sided p only, by complete enumeration of the tables with the
 * observed margins (exact; refused with DOLOR_EUNSUPPORTED beyond 5e7
 * tables, where R's network algorithm is needed). Errors: DOLOR_EINVAL,
 * DOLOR_ENUMERIC (zero margin), DOLOR_EUNSUPPORTED, DOLOR_ENOMEM. */
dolor_status dolor_stats_fisher(const double *counts, int r, int c, double conf, dolor_test_result *out);

/* ---- CSV tables (one row per patient) ----
 * Comma-separated, first row = column names, RFC 4180 quoting ("a,b",
 * "say ""x"""), CRLF or LF. An empty cell (or NA) is a missing value. */
typedef struct dolor_csv {
    char *path;
    int ncol;
    size_t nrow;     /* data rows (header excluded) */
    char **names;    /* [ncol] */
    char **cells;    /* [nrow * ncol], row-major; NULL = missing */
    size_t *line;    /* [nrow] file line (1-based) where each data row starts */
} dolor_csv;

/* Errors: DOLOR_ENOTFOUND (no such file), DOLOR_EIO (cannot open or read), DOLOR_EFORMAT (no header, a row with a
 * different number of fields or an unterminated quote: names the line),
 * DOLOR_ENOMEM. */
dolor_status dolor_csv_read(const char *path, dolor_csv **out);
/* The same for len bytes of CSV text in memory (need not end in NUL);
 * name (NULL: "CSV data") is used in messages and kept as t->path. */
dolor_status dolor_csv_read_mem(const char *data, size_t len, const char *name, dolor_csv **out);
void dolor_csv_free(dolor_csv *t); /* NULL-safe */
/* Column index, or -1 if absent. */
int dolor_csv_column(const dolor_csv *t, const char *name);
/* Column as numbers into a new array *vals[nrow] (free()), NaN = missing.
 * Errors: DOLOR_ENOTFOUND (no such column), DOLOR_EFORMAT (a non-numeric
 * cell: names the file, column, row and text), DOLOR_ENOMEM. */
dolor_status dolor_csv_numeric(const dolor_csv *t, const char *name, double **vals);
/* Distinct non-missing values of a column in R's factor order (numbers
 * numerically when all cells are numeric, else strcmp order) into *levels
 * (NULL-terminated, free with dolor_stats_free_strings) and, if codes is
 * non-NULL, each row's level index into a new array *codes[nrow] (-1 =
 * missing). Errors: DOLOR_ENOTFOUND, DOLOR_ENOMEM. */
dolor_status dolor_csv_factor(const dolor_csv *t, const char *name, char ***levels, int *nlevels, int **codes);
void dolor_stats_free_strings(char **s); /* NULL-safe */
/* Reorder the levels of a factor (from dolor_csv_factor) and recode codes[n] to match: the levels named in
 * want[nwant] come first, in that order; keep_rest != 0 keeps the others after them in their order (R's
 * relevel(f, ref) for nwant = 1), keep_rest == 0 drops them (their rows get code -1, as R's
 * factor(x, levels = want)). what (e.g. "--levels") and column name the value in messages.
 * Errors: DOLOR_EINVAL (a wanted level that the factor lacks, naming it and listing the levels; a level
 * wanted twice), DOLOR_ENOMEM. */
dolor_status dolor_factor_reorder(char ***levels, int *nlevels, int *codes, size_t n, const char *const *want,
                                  int nwant, int keep_rest, const char *what, const char *column);

/* ---- Study tables ("Table 1") ---- */
typedef enum dolor_var_type {
    DOLOR_VAR_CONTINUOUS = 0, /* mean +/- SD or median [P25, P75] by the test chosen */
    DOLOR_VAR_CATEGORICAL = 1,/* n (%) per level; chi-square or Fisher exact */
    DOLOR_VAR_ORDINAL = 2     /* median [P25, P75]; Mann-Whitney (2 groups) or Kruskal-Wallis */
} dolor_var_type;

typedef struct dolor_table1_var {
    const char *column;  /* CSV column */
    const char *label;   /* display label (NULL: the column name) */
    dolor_var_type type;
} dolor_table1_var;

/* A comparison of follow-up columns with a baseline column within each group
 * (wide format: one column per time point). */
typedef struct dolor_table1_change {
    const char *baseline;     /* e.g. "vas_0" */
    const char *const *followup; /* e.g. {"vas_1m", "vas_6m"} */
    int nfollowup;
} dolor_table1_change;

typedef struct dolor_table1_spec {
    const char *group;              /* group column (2+ levels) */
    const dolor_table1_var *vars;
    int nvars;
    const dolor_table1_change *changes; /* may be NULL */
    int nchanges;
    double alpha;                   /* for Shapiro-Wilk and Levene decisions; 0 means 0.05 */
    int digits;                     /* decimals for summaries; < 0 means 1 */
    dolor_quantile_type qtype;      /* quartiles; 0 means R type 7 (SPSS preset: type 6) */
    int spss;                       /* 1: the SPSS preset (see dolor_table1_build) */
    int p_digits;                   /* P value cells: 0 as journals print them ("0.477", "<0.001"),
                                       N > 0: N significant digits */
    const char *const *levels;      /* group order (may be NULL: R's factor order): these groups first, in this
                                       order (dolor_factor_reorder) ... */
    int nlevels;
    int levels_only;                /* ... and, when != 0, only these (rows of other groups left out) */
} dolor_table1_spec;

/* Which test a row of the table used. */
typedef enum dolor_test_kind {
    DOLOR_TEST_NONE = 0, DOLOR_TEST_STUDENT_T, DOLOR_TEST_WELCH_T, DOLOR_TEST_MANN_WHITNEY, DOLOR_TEST_ANOVA,
    DOLOR_TEST_WELCH_ANOVA, DOLOR_TEST_KRUSKAL, DOLOR_TEST_CHISQ, DOLOR_TEST_FISHER, DOLOR_TEST_PAIRED_T,
    DOLOR_TEST_WILCOXON_SIGNED
} dolor_test_kind;
/* Short display name ("Welch t", "Mann-Whitney U", ...). Never NULL. */
const char *dolor_test_kind_name(dolor_test_kind k);

/* A rendered table: ncol columns, row 0 is the header; cells are strings. */
typedef struct dolor_table {
    char *title;
    int ncol;
    int nrow;
    char **cells;      /* [nrow * ncol] */
    int nnotes;
    char **notes;      /* footnotes */
} dolor_table;
void dolor_table_free(dolor_table *t); /* NULL-safe */

typedef struct dolor_table1_row {
    char *label;        /* "Age (years)" or "sex = F" */
    dolor_test_kind test;
    double p;           /* two-sided p of the test; NaN if none */
    double p_one_sided; /* the smaller one-sided p (2 groups, where defined) */
    const char *variant;/* the exact variant of the test (static text), e.g. "Mann-Whitney U, normal
                           approximation with tie correction, no continuity correction"; "-" if none */
} dolor_table1_row;

/* Build Table 1 from a CSV: per variable a row (categorical: a header row and
 * one row per level) with the group summaries, the test chosen and the p
 * value with any warning. Continuous, 2 groups: Shapiro-Wilk in every group
 * (alpha) -> Levene (mean-centred, as SPSS) -> Student t or Welch t, else
 * Mann-Whitney; 3+ groups: ANOVA / Welch ANOVA / Kruskal-Wallis. Categorical:
 * chi-square (no correction) when every expected count >= 5, Fisher exact
 * otherwise. Ordinal: Mann-Whitney / Kruskal-Wallis. Changes: for each
 * follow-up column and group, paired t on the differences when Shapiro-Wilk
 * does not reject, else Wilcoxon signed rank (rows in *change, may be NULL).
 * The footnotes name the exact variant of every test used (the row's `variant`).
 * SPSS preset (spec->spss): the tests SPSS prints for the same choices: Mann-Whitney U and Wilcoxon signed
 * rank by SPSS's "Asymp. Sig.", the normal approximation with tie correction and no continuity correction
 * (R wilcox.test(x, y, exact = FALSE, correct = FALSE)) even in small samples; categorical rows as above
 * (SPSS Crosstabs' "Pearson Chi-Square" without continuity correction, or "Fisher's Exact Test", Exact Sig.
 * 2-sided, when an expected count is below 5; r x c tables by the Fisher-Freeman-Halton test that SPSS Exact
 * gives); quartiles by SPSS's definition (type 6) unless qtype says otherwise. The t tests, ANOVA, Welch ANOVA,
 * Kruskal-Wallis and the Shapiro-Wilk and Levene (mean-centred) decisions are the same in both modes.
 * rows (may be NULL) receives one dolor_table1_row per test in table order
 * (free with dolor_table1_rows_free); *nrows its count.
 * Errors: DOLOR_ENOTFOUND (missing column), DOLOR_EFORMAT (non-numeric cell),
 * DOLOR_ENUMERIC (an empty group, too few observations), DOLOR_EINVAL. */
dolor_status dolor_table1_build(const dolor_csv *csv, const dolor_table1_spec *spec, dolor_table **main,
                                dolor_table **change, dolor_table1_row **rows, int *nrows);
void dolor_table1_rows_free(dolor_table1_row *rows, int nrows);

typedef enum dolor_table_format {
    DOLOR_TABLE_TEXT = 0,     /* aligned plain text */
    DOLOR_TABLE_MARKDOWN = 1, /* GitHub pipe table */
    DOLOR_TABLE_CSV = 2       /* RFC 4180 */
} dolor_table_format;
/* Write a table (title and notes included except in CSV, where notes become
 * rows of the first column). Errors: DOLOR_EIO. */
dolor_status dolor_table_write(const dolor_table *t, dolor_table_format fmt, FILE *fp);


/* ---- Proportions: confidence intervals (binomial) ----
 * Methods (conf = confidence level in (0, 1), z = qnorm((1 + conf) / 2)):
 *   DOLOR_CI_WILSON       Wilson score interval = R prop.test(x, n, correct = FALSE)$conf.int.
 *   DOLOR_CI_WILSON_CC    Wilson with continuity correction exactly as R prop.test(x, n,
 *                         correct = TRUE): the correction is min(0.5, |x - n/2|), so it
 *                         vanishes at x = n/2 (R's quirk, kept for agreement with R); the
 *                         bounds are clipped to [0, 1] (0 when x - cc <= 0, 1 when x + cc >= n).
 *   DOLOR_CI_CLOPPER_PEARSON  exact interval = R binom.test(x, n)$conf.int:
 *                         qbeta((1-conf)/2, x, n-x+1), qbeta((1+conf)/2, x+1, n-x), 0 at x = 0
 *                         and 1 at x = n. */
typedef enum dolor_ci_method {
    DOLOR_CI_WILSON = 0,
    DOLOR_CI_WILSON_CC = 1,
    DOLOR_CI_CLOPPER_PEARSON = 2
} dolor_ci_method;

/* Name of a CI method ("wilson", "wilson-cc", "clopper-pearson"); never NULL. */
const char *dolor_ci_method_name(dolor_ci_method m);
/* Parse "wilson", "wilson-cc" / "wilsoncc", "clopper-pearson" / "exact".
 * Errors: DOLOR_EINVAL naming the string. */
dolor_status dolor_ci_method_parse(const char *s, dolor_ci_method *out);

typedef struct dolor_prop_ci {
    size_t x, n;        /* successes and trials */
    double estimate;    /* x / n */
    double lower, upper;/* confidence bounds */
    double conf;        /* confidence level used */
    dolor_ci_method method;
} dolor_prop_ci;

/* CI for the proportion x/n. Errors: DOLOR_EINVAL (n < 1, x > n,
 * conf outside (0, 1), unknown method; the message names the value). */
dolor_status dolor_prop_ci_compute(size_t x, size_t n, double conf, dolor_ci_method method, dolor_prop_ci *out);

/* ---- Diagnostic accuracy from a 2x2 table ----
 *               reference +   reference -
 *   test +          tp            fp
 *   test -          fn            tn
 * sensitivity = tp/(tp+fn), specificity = tn/(tn+fp), PPV = tp/(tp+fp),
 * NPV = tn/(tn+fn), accuracy = (tp+tn)/N, each with a CI by `method`.
 * LR+ = sens/(1-spec) and LR- = (1-sens)/spec (Inf when the denominator is
 * 0); Youden J = sens + spec - 1; prevalence = (tp+fn)/N.
 * Errors: DOLOR_EINVAL (conf outside (0, 1)); DOLOR_ENUMERIC
 * when a margin is 0 (the message names it, e.g. "reference-positive margin
 * tp+fn is 0"), since the corresponding proportion is undefined. */
typedef struct dolor_diag_result {
    size_t tp, fp, fn, tn;
    dolor_prop_ci sensitivity, specificity, ppv, npv, accuracy;
    double prevalence, lr_pos, lr_neg, youden;
} dolor_diag_result;

dolor_status dolor_diag_compute(size_t tp, size_t fp, size_t fn, size_t tn, double conf, dolor_ci_method method,
                                dolor_diag_result *out);

/* Build the 2x2 counts from paired 0/1 vectors of length n (truth = reference
 * standard, test = index test). Values other than 0 and 1 (or NaN) are an
 * error naming the variable ("truth"/"test") and the 1-based row.
 * Errors: DOLOR_EINVAL, DOLOR_ENUMERIC. */
dolor_status dolor_diag_tabulate(const double *truth, const double *test, size_t n, size_t *tp, size_t *fp,
                                 size_t *fn, size_t *tn);

/* ---- Cohen's kappa for two raters ----
 * K x K contingency table `table` (row-major, rows = rater 1, columns =
 * rater 2, counts >= 0) with agreement weights
 *   unweighted: w_ij = [i == j]; linear: 1 - |i-j|/(K-1); quadratic:
 *   1 - (i-j)^2/(K-1)^2 (Fleiss-Cohen), i.e. psych::cohen.kappa's defaults
 *   and vcd::Kappa "Equal-Spacing" / "Fleiss-Cohen".
 * kappa = (po - pe) / (1 - pe) with po = sum w_ij p_ij, pe = sum w_ij p_i. p_.j.
 * se: the large-sample (non-null) standard error of Fleiss, Cohen & Everitt
 *   (1969, Psychol Bull 72:323) = vcd::Kappa's ASE = SAS PROC FREQ; for the
 *   unweighted kappa it equals psych::cohen.kappa's. (psych 2.2.9's weighted
 *   variance differs: a known slip, see shared/oracle/README.md.)
 * se0: the standard error under H0 kappa = 0 (same paper); z = kappa / se0,
 *   p_value = 2 * pnorm(-|z|) (as SAS's "test of H0: kappa = 0").
 * CI: kappa -/+ qnorm((1+conf)/2) * se, clipped to [-1, 1].
 * Errors: DOLOR_EINVAL (K < 2, negative or non-finite count, conf outside
 * (0, 1)); DOLOR_ENUMERIC (total 0, or pe == 1 so kappa is undefined: all
 * ratings in one category). */
typedef enum dolor_kappa_weights {
    DOLOR_KAPPA_UNWEIGHTED = 0,
    DOLOR_KAPPA_LINEAR = 1,
    DOLOR_KAPPA_QUADRATIC = 2
} dolor_kappa_weights;

typedef struct dolor_kappa_result {
    int k;              /* number of categories */
    double n;           /* total count */
    double po, pe;      /* observed and chance (weighted) agreement */
    double kappa, se, se0, z, p_value;
    double ci_lower, ci_upper, conf;
    dolor_kappa_weights weights;
} dolor_kappa_result;

const char *dolor_kappa_weights_name(dolor_kappa_weights w); /* "unweighted", "linear", "quadratic" */

dolor_status dolor_kappa_compute(const double *table, int k, dolor_kappa_weights weights, double conf,
                               dolor_kappa_result *out);

/* Kappa from two raters' ratings (length n). `categories` lists the K
 * category values in order (weights use their positions 0..K-1, as psych
 * with levels = categories); with categories == NULL the sorted distinct
 * values seen in either rater are used. A rating that is NaN or not among
 * `categories` is an error naming the rater ("rater1"/"rater2"), the 1-based
 * row and the value. Errors as dolor_kappa_compute, plus DOLOR_ENOMEM. */
dolor_status dolor_kappa_compute_ratings(const double *rater1, const double *rater2, size_t n, const double *categories,
                                 int k, dolor_kappa_weights weights, double conf, dolor_kappa_result *out);

/* ---- Intraclass correlation (Shrout & Fleiss 1979; McGraw & Wong 1996) ----
 * ratings: [n, k] row-major, rows = subjects (targets), columns = raters;
 * complete data (no NaN). Reproduces psych::ICC(ratings, lmer = FALSE):
 * two-way ANOVA mean squares MSB (subjects), MSJ (raters), MSE (residual),
 * MSW = within-subject (SSJ + SSE) / (n (k-1));
 *   ICC1 = (MSB-MSW)/(MSB+(k-1)MSW)                 F = MSB/MSW, df (n-1, n(k-1))
 *   ICC2 = (MSB-MSE)/(MSB+(k-1)MSE+k(MSJ-MSE)/n)   F = MSB/MSE, df (n-1, (n-1)(k-1))
 *   ICC3 = (MSB-MSE)/(MSB+(k-1)MSE)                 F = MSB/MSE
 *   ICC1k = (MSB-MSW)/MSB, ICC2k = (MSB-MSE)/(MSB+(MSJ-MSE)/n), ICC3k = (MSB-MSE)/MSB
 * p = P(F' > F) (upper tail, computed directly). CIs: F-based (Shrout-Fleiss)
 * for ICC1/ICC3 and their k forms; for ICC2/ICC2k the McGraw-Wong
 * approximation with Satterthwaite degrees of freedom, as coded in psych.
 * ICC(2,1) (two-way random, absolute agreement, single rater) is icc[DOLOR_ICC2].
 * Errors: DOLOR_EINVAL (n < 2 or k < 2, conf outside (0, 1)); DOLOR_ENUMERIC
 * (a NaN/Inf rating, named by 1-based row and rater; no within-subject
 * variation, MSE or MSW = 0, where the F ratios are undefined). */
typedef enum dolor_icc_type {
    DOLOR_ICC1 = 0, DOLOR_ICC2 = 1, DOLOR_ICC3 = 2, DOLOR_ICC1K = 3, DOLOR_ICC2K = 4, DOLOR_ICC3K = 5
} dolor_icc_type;

typedef struct dolor_icc_row {
    double icc, f, df1, df2, p_value, ci_lower, ci_upper;
} dolor_icc_row;

typedef struct dolor_icc_result {
    size_t n, k;
    double msb, msj, mse, msw, conf;
    dolor_icc_row icc[6]; /* indexed by dolor_icc_type */
} dolor_icc_result;

const char *dolor_icc_type_name(dolor_icc_type t); /* "ICC1", ..., "ICC3k" (psych's labels) */

dolor_status dolor_icc_compute(const double *ratings, size_t n, size_t k, double conf, dolor_icc_result *out);

/* ---- ROC curve, AUC and DeLong ----
 * truth: 0 = control, 1 = case (pROC's levels = c(0, 1)); score: the marker.
 * direction (pROC's): DOLOR_ROC_LT "<": controls < cases, a higher score
 * means a case; DOLOR_ROC_GT ">": controls > cases; DOLOR_ROC_AUTO: "<" if
 * median(controls) <= median(cases), else ">" (pROC's rule; note that auto
 * makes the AUC >= 0.5 by construction, so report the direction used).
 * Curve (as pROC): thresholds are -Inf, the midpoints between consecutive
 * distinct sorted scores, and +Inf; for "<" a subject is called positive
 * when score > threshold and the thresholds ascend, for ">" when score <
 * threshold and they descend (pROC's order: sensitivity falls from 1 to 0
 * along the arrays in both cases).
 * auc = Mann-Whitney estimate (ties count 1/2) = mean of the DeLong
 * structural components V10 (one per case); var_delong = var(V10)/n_cases +
 * var(V01)/n_controls (DeLong, DeLong & Clarke-Pearson 1988; pROC
 * var(method = "delong")), computed from mid-ranks in O(N log N) (Sun & Xu
 * 2014). Errors: DOLOR_EINVAL (truth not 0/1 naming the 1-based row, fewer
 * than 2 cases or 2 controls, bad direction); DOLOR_ENUMERIC (NaN or
 * infinite score, naming the row); DOLOR_ENOMEM. */
typedef enum dolor_roc_direction {
    DOLOR_ROC_AUTO = 0,
    DOLOR_ROC_LT = 1, /* "<" */
    DOLOR_ROC_GT = 2  /* ">" */
} dolor_roc_direction;

typedef struct dolor_roc {
    size_t n;                   /* subjects */
    size_t n_cases, n_controls;
    dolor_roc_direction direction; /* resolved: DOLOR_ROC_LT or DOLOR_ROC_GT */
    size_t n_thresholds;
    double *thresholds;         /* [n_thresholds], -Inf..+Inf ("<") or +Inf..-Inf (">") */
    double *sensitivity;        /* [n_thresholds] */
    double *specificity;        /* [n_thresholds] */
    double auc, var_delong;
    double *v10;                /* [n_cases] structural components, in input order of cases */
    double *v01;                /* [n_controls] in input order of controls */
    unsigned char *truth;       /* [n] copy of truth, to check pairing */
} dolor_roc;

dolor_status dolor_roc_create(const double *truth, const double *score, size_t n, dolor_roc_direction direction,
                              dolor_roc **out);
void dolor_roc_free(dolor_roc *r); /* NULL-safe */

/* "<", ">" or "auto" <-> enum. Errors: DOLOR_EINVAL naming the string. */
const char *dolor_roc_direction_name(dolor_roc_direction d);
dolor_status dolor_roc_direction_parse(const char *s, dolor_roc_direction *out);

/* DeLong CI: auc -/+ qnorm((1+conf)/2) * sqrt(var_delong), clipped to [0, 1]
 * (pROC ci.auc(method = "delong")). Errors: DOLOR_EINVAL (conf). */
dolor_status dolor_roc_ci(const dolor_roc *r, double conf, double *lower, double *upper);

/* DeLong covariance of two AUCs measured on the same subjects (same truth
 * vector, same order): cov(V10a, V10b)/n_cases + cov(V01a, V01b)/n_controls
 * (pROC cov(r1, r2, method = "delong")). Errors: DOLOR_ESHAPE (different
 * subjects or truth). */
dolor_status dolor_roc_cov_delong(const dolor_roc *a, const dolor_roc *b, double *cov);

/* DeLong test of AUC a = AUC b (two-sided).
 * paired != 0: same subjects, z = (auc_a - auc_b)/sqrt(var_a + var_b - 2 cov)
 * (pROC roc.test(method = "delong", paired = TRUE)); paired == 0: independent
 * samples, z = (auc_a - auc_b)/sqrt(var_a + var_b). p = 2 * pnorm(-|z|).
 * Errors: DOLOR_ESHAPE (paired but different subjects); DOLOR_ENUMERIC (the
 * variance of the difference is <= 0, e.g. identical markers). */
typedef struct dolor_delong_test {
    double auc1, auc2, var1, var2, cov, z, p_value;
    int paired;
} dolor_delong_test;

dolor_status dolor_roc_test_delong(const dolor_roc *a, const dolor_roc *b, int paired, dolor_delong_test *out);

/* ---- Sample size ----
 * All sizes are per group, before rounding (n) and rounded up (n_ceil).
 * alpha: type I error; power: 1 - beta; sides: 1 or 2 (z_a = qnorm(1 - alpha/sides)).
 *
 * Two proportions (p1 != p2, both in (0, 1)), pooled normal approximation:
 *   n = (z_a sqrt(2 pbar qbar) + z_b sqrt(p1 q1 + p2 q2))^2 / (p1 - p2)^2,
 *   pbar = (p1 + p2)/2: the exact root of R power.prop.test(p1 = , p2 = ,
 *   sig.level = alpha, power = , alternative = ) with strict = FALSE
 *   (R finds it with uniroot, to about 1e-4).
 *   continuity != 0 adds the Fleiss, Tytun & Ury (1980, Biometrics 36:343)
 *   correction: n_cc = n/4 (1 + sqrt(1 + 4/(n |p1 - p2|)))^2 (Fleiss, Levin &
 *   Paik, Statistical Methods for Rates and Proportions, 3rd ed., eq. 4.14).
 * Two means (difference delta, common SD sd):
 *   t_based == 0: normal approximation n = 2 (z_a + z_b)^2 sd^2 / delta^2;
 *   t_based != 0: root of R power.t.test(delta =, sd =, sig.level =, power =,
 *   type = "two.sample", alternative =, strict = FALSE): power =
 *   P(T'(df = 2(n-1), ncp = sqrt(n/2) delta/sd) > qt(1 - alpha/sides, df)),
 *   solved to 1e-10 by bisection.
 * Errors: DOLOR_EINVAL naming the argument and value. */
typedef struct dolor_samplesize {
    double n;        /* per group, unrounded */
    size_t n_ceil;   /* per group, ceil(n) */
    size_t total;    /* 2 * n_ceil */
} dolor_samplesize;

dolor_status dolor_samplesize_compute_proportions(double p1, double p2, double alpha, double power, int sides,
                                              int continuity, dolor_samplesize *out);
dolor_status dolor_samplesize_compute_means(double delta, double sd, double alpha, double power, int sides,
                                        int t_based, dolor_samplesize *out);

/* Inflate n for an expected dropout fraction d in [0, 1): ceil(n / (1 - d)),
 * with a 1e-9 guard so that e.g. 100 / 0.8 gives 125, not 126.
 * Errors: DOLOR_EINVAL (n < 0, d outside [0, 1)). */
dolor_status dolor_samplesize_inflate(double n, double dropout, size_t *out);

/* ---- Randomisation lists ----
 * Simple randomisation assigns each subject independently with probability
 * ratio[a] / sum(ratio). Permuted blocks: each block holds ratio[a] * m
 * subjects of arm a where m = block_size / sum(ratio); the block size is
 * drawn uniformly from block_sizes (each must be a multiple of sum(ratio));
 * the block is shuffled (Fisher-Yates, dolor_rng). Stratified: an
 * independent list of n_per_stratum subjects for each stratum, in order.
 * The same seed and options always give the same list (dolor_rng is
 * platform-independent). The last block of a stratum is truncated to
 * n_per_stratum (reported; a complete final block is obtained by choosing
 * n_per_stratum as a multiple of the block sizes). */
typedef enum dolor_rand_method {
    DOLOR_RAND_SIMPLE = 0,
    DOLOR_RAND_BLOCKS = 1
} dolor_rand_method;

typedef struct dolor_rand_opts {
    int n_arms;                 /* >= 2 */
    const char *const *arm_names; /* [n_arms], NULL -> "A", "B", ... */
    const int *ratio;           /* [n_arms] allocation ratio (>= 1), NULL -> all 1 */
    dolor_rand_method method;
    const int *block_sizes;     /* [n_block_sizes] for DOLOR_RAND_BLOCKS */
    int n_block_sizes;
    int n_strata;               /* >= 1 */
    const char *const *strata_names; /* [n_strata], NULL -> one unnamed stratum "all" */
    size_t n_per_stratum;       /* subjects per stratum, >= 1 */
    uint64_t seed;
} dolor_rand_opts;

typedef struct dolor_randlist {
    size_t n;          /* total subjects = n_strata * n_per_stratum */
    int n_arms, n_strata;
    char **arm_names;  /* [n_arms] */
    char **strata_names; /* [n_strata] */
    int *stratum;      /* [n] stratum index */
    size_t *seq;       /* [n] 1-based sequence number within the stratum */
    int *block;        /* [n] 1-based block number within the stratum (0 for simple) */
    int *block_size;   /* [n] size of the block the subject belongs to (0 for simple) */
    int *arm;          /* [n] arm index */
    uint64_t seed;
    dolor_rand_method method;
    int truncated_last_block; /* number of strata whose last block was cut short */
} dolor_randlist;

/* Errors: DOLOR_EINVAL (n_arms < 2, ratio < 1, no block sizes, a block size
 * that is not a positive multiple of sum(ratio), n_per_stratum < 1,
 * n_strata < 1; the message names the option and value); DOLOR_ENOMEM. */
dolor_status dolor_randlist_create(const dolor_rand_opts *opt, dolor_randlist **out);
void dolor_randlist_free(dolor_randlist *l); /* NULL-safe */

/* CSV with header "id,stratum,sequence,block,block_size,arm" (id =
 * stratum-prefixed sequence, e.g. "S1-007"); written atomically to path
 * (dolor_outfile). Errors: DOLOR_EIO. */
dolor_status dolor_randlist_write_csv(const dolor_randlist *l, const char *path);
/* The same table as aligned text plus per-stratum arm totals. */
void dolor_randlist_print(const dolor_randlist *l, FILE *fp);

#ifdef __cplusplus
}
#endif
#endif
