/* dolor stats: statistics on CSV columns, printed the way R prints them.
 * Section (A) subcommands live here; an unknown subcommand is offered to
 * dolor_cli_stats_extra() (helper B's kappa, icc, diag, roc, ... in
 * cmd_stats_b.c) with argv[0] = the subcommand name; it returns -1 when it
 * does not know the subcommand either. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dolor/stats.h"

int dolor_cli_stats_extra(int argc, char **argv) __attribute__((weak));

static void stats_help(FILE *fp)
{
    fprintf(fp,
            "usage: dolor stats <test> FILE.csv [options]\n\n"
            "Tests and tables on the columns of a CSV (header row; empty cell or NA = missing).\n"
            "Results match R 4.2 (t.test, wilcox.test, shapiro.test, car::leveneTest, aov, oneway.test,\n"
            "pairwise.t.test, cor.test, chisq.test, fisher.test). Rows with a missing value are dropped\n"
            "(paired tests: incomplete pairs).\n\n"
            "descriptives and tests (section A):\n"
            "  describe    --col A[,B..] [--by G] [--population] [--quantile 7|6]\n"
            "              --col A[,B..] --counts [--by G]   n (%%) of each value (categorical)\n"
            "  ttest       --col Y --by G [--welch]        two-sample t (Student; --welch: Welch)\n"
            "              --col A --vs B --paired         paired t on A - B\n"
            "              --col Y --mu M                  one-sample t\n"
            "  mannwhitney --col Y --by G [--exact|--approx] [--no-correct]\n"
            "  wilcoxon    --col A --vs B [--exact|--approx] [--no-correct]   signed rank on A - B\n"
            "  shapiro     --col Y [--by G]\n"
            "  levene      --col Y --by G [--center mean|median]   (mean: Levene/SPSS; median: Brown-Forsythe)\n"
            "  anova       --col Y --by G [--welch]         one-way ANOVA table (or Welch ANOVA)\n"
            "  kruskal     --col Y --by G\n"
            "  pairwise    --col Y --by G [--adjust bonferroni|holm|none] [--no-pool]\n"
            "  cor         --col X --vs Y [--method pearson|spearman]\n"
            "  chisq       --col A --by G [--correct] | --table '1,37;7,32'\n"
            "  fisher      --col A --by G | --table '1,37;7,32'\n"
            "  table       --group G --vars age:c,sex:cat,grade:ord [--label col=Text]...\n"
            "              [--change base=fu1,fu2]... [--format text|md|csv] [--out FILE]\n"
            "              (csv with --change: the changes go to FILE's stem + _change.csv)\n"
            "              [--alpha 0.05] [--digits 1] [--quantile 7|6]\n"
            "agreement, diagnosis, ROC, planning (section B):\n"
            "  kappa, icc, diag, roc, delong, samplesize, randomise, score\n"
            "              (dolor stats <name> --help for their options)\n\n"
            "common options: --conf 0.95 (confidence level)\n"
            "exit codes: 0 success, 1 runtime failure, 2 bad input (unknown column, non-numeric cell,\n"
            "empty group, zero margin, too few observations)\n");
}

/* "column 'X': " in front of an error, unless the message already names that column */
static dolor_status prefix_column(dolor_status s, const char *col)
{
    char tag[512];
    snprintf(tag, sizeof tag, "column '%s'", col);
    return strstr(dolor_errmsg(), tag) ? s : dolor_error_prefix(s, "%s", tag);
}

typedef struct {
    const char *file;
    const char *col, *by, *vs, *table, *method, *center, *adjust, *group, *vars, *format, *out;
    char *labels[256];
    int nlabels;
    char *changes[64];
    int nchanges;
    double conf, mu, alpha;
    int has_mu, welch, paired, exact, correct, pool, population, quantile, digits, yates, counts;
} sopts;

enum {
    O_COL = 1000, O_BY, O_VS, O_TABLE, O_METHOD, O_CENTER, O_ADJUST, O_GROUP, O_VARS, O_FORMAT, O_OUT, O_LABEL,
    O_CHANGE, O_CONF, O_MU, O_ALPHA, O_WELCH, O_STUDENT, O_PAIRED, O_EXACT, O_APPROX, O_NOCORRECT, O_NOPOOL,
    O_POPULATION, O_QUANTILE, O_DIGITS, O_CORRECT, O_COUNTS, O_HELP
};

static const struct option long_opts[] = {
    {"col", required_argument, 0, O_COL},         {"by", required_argument, 0, O_BY},
    {"vs", required_argument, 0, O_VS},           {"table", required_argument, 0, O_TABLE},
    {"method", required_argument, 0, O_METHOD},   {"center", required_argument, 0, O_CENTER},
    {"adjust", required_argument, 0, O_ADJUST},   {"group", required_argument, 0, O_GROUP},
    {"vars", required_argument, 0, O_VARS},       {"format", required_argument, 0, O_FORMAT},
    {"out", required_argument, 0, O_OUT},         {"label", required_argument, 0, O_LABEL},
    {"change", required_argument, 0, O_CHANGE},   {"conf", required_argument, 0, O_CONF},
    {"mu", required_argument, 0, O_MU},           {"alpha", required_argument, 0, O_ALPHA},
    {"welch", no_argument, 0, O_WELCH},           {"student", no_argument, 0, O_STUDENT},
    {"paired", no_argument, 0, O_PAIRED},         {"exact", no_argument, 0, O_EXACT},
    {"approx", no_argument, 0, O_APPROX},         {"no-correct", no_argument, 0, O_NOCORRECT},
    {"correct", no_argument, 0, O_CORRECT},       {"no-pool", no_argument, 0, O_NOPOOL},
    {"population", no_argument, 0, O_POPULATION}, {"quantile", required_argument, 0, O_QUANTILE},
    {"digits", required_argument, 0, O_DIGITS},   {"help", no_argument, 0, O_HELP},
    {"counts", no_argument, 0, O_COUNTS},
    {0, 0, 0, 0}};

/* 0 ok, 1 help printed, 2 error (message printed) */
static int parse_opts(const char *cmd, int argc, char **argv, sopts *o)
{
    memset(o, 0, sizeof *o);
    o->conf = 0.95;
    o->exact = -1;
    o->correct = 1;
    o->pool = 1;
    o->quantile = 7;
    o->digits = 1;
    o->alpha = 0.05;
    optind = 1;
    opterr = 0;
    int c;
    long lv;
    while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        dolor_status s = DOLOR_OK;
        switch (c) {
        case O_COL: o->col = optarg; break;
        case O_BY: o->by = optarg; break;
        case O_VS: o->vs = optarg; break;
        case O_TABLE: o->table = optarg; break;
        case O_METHOD: o->method = optarg; break;
        case O_CENTER: o->center = optarg; break;
        case O_ADJUST: o->adjust = optarg; break;
        case O_GROUP: o->group = optarg; break;
        case O_VARS: o->vars = optarg; break;
        case O_FORMAT: o->format = optarg; break;
        case O_OUT: o->out = optarg; break;
        case O_LABEL:
            if (o->nlabels < 256)
                o->labels[o->nlabels++] = optarg;
            break;
        case O_CHANGE:
            if (o->nchanges < 64)
                o->changes[o->nchanges++] = optarg;
            break;
        case O_CONF: s = dolor_cli_parse_double("--conf", optarg, 1e-9, 1 - 1e-9, &o->conf); break;
        case O_ALPHA: s = dolor_cli_parse_double("--alpha", optarg, 1e-9, 0.5, &o->alpha); break;
        case O_MU:
            s = dolor_cli_parse_double("--mu", optarg, -1e300, 1e300, &o->mu);
            o->has_mu = 1;
            break;
        case O_WELCH: o->welch = 1; break;
        case O_STUDENT: o->welch = 0; break;
        case O_PAIRED: o->paired = 1; break;
        case O_EXACT: o->exact = 1; break;
        case O_APPROX: o->exact = 0; break;
        case O_NOCORRECT: o->correct = 0; break;
        case O_CORRECT: o->yates = 1; break;
        case O_NOPOOL: o->pool = 0; break;
        case O_POPULATION: o->population = 1; break;
        case O_COUNTS: o->counts = 1; break;
        case O_QUANTILE:
            s = dolor_cli_parse_int("--quantile", optarg, 6, 7, &lv);
            o->quantile = (int)lv;
            break;
        case O_DIGITS:
            s = dolor_cli_parse_int("--digits", optarg, 0, 10, &lv);
            o->digits = (int)lv;
            break;
        case 'h':
        case O_HELP: return 1;
        default:
            dolor_cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
            return 2;
        }
        if (s) {
            dolor_cli_fail(cmd, s);
            return 2;
        }
    }
    if (optind < argc)
        o->file = argv[optind++];
    if (optind < argc) {
        dolor_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
        return 2;
    }
    return 0;
}

/* ---- number formatting as R prints ---- */
static void fmt_g(char *b, size_t n, double v)
{
    if (isnan(v))
        snprintf(b, n, "NA");
    else if (isinf(v))
        snprintf(b, n, v > 0 ? "Inf" : "-Inf");
    else
        snprintf(b, n, "%.5g", v);
}

static void fmt_pval(char *b, size_t n, double p)
{
    if (isnan(p))
        snprintf(b, n, "NA");
    else if (p < 2.2e-16)
        snprintf(b, n, "< 2.2e-16");
    else
        snprintf(b, n, "%.4g", p);
}

static const char *G(double v)
{
    static char buf[8][48];
    static int i;
    i = (i + 1) % 8;
    fmt_g(buf[i], sizeof buf[i], v);
    return buf[i];
}

static const char *P(double v)
{
    static char buf[8][48];
    static int i;
    i = (i + 1) % 8;
    fmt_pval(buf[i], sizeof buf[i], v);
    return buf[i];
}

static void print_p_line(const dolor_test_result *r)
{
    if (!isnan(r->p_less))
        printf("one-sided: p (less) = %s, p (greater) = %s\n", P(r->p_less), P(r->p_greater));
}

/* ---- data access ---- */
typedef struct {
    dolor_csv *csv;
    char **glev;
    int k;
    int *gcode;
} data_t;

static void data_free(data_t *d)
{
    dolor_csv_free(d->csv);
    dolor_stats_free_strings(d->glev);
    free(d->gcode);
}

static dolor_status load(const char *cmd, const sopts *o, data_t *d, int need_by)
{
    memset(d, 0, sizeof *d);
    if (!o->file)
        return dolor_error(DOLOR_EINVAL, "no CSV file given");
    dolor_status s = dolor_csv_read(o->file, &d->csv);
    if (s)
        return s;
    if (need_by) {
        if (!o->by)
            return dolor_error(DOLOR_EINVAL, "--by GROUP_COLUMN is required for '%s'", cmd);
        if ((s = dolor_csv_factor(d->csv, o->by, &d->glev, &d->k, &d->gcode)))
            return s;
    }
    return DOLOR_OK;
}

/* values of col (non-missing, with a group when grouped) into y[], g[] */
static dolor_status grouped(const data_t *d, const char *col, double **y, int **g, size_t *n, size_t **cnt,
                            int min_groups)
{
    double *v;
    *y = NULL;
    *g = NULL;
    *cnt = NULL;
    *n = 0;
    dolor_status s = dolor_csv_numeric(d->csv, col, &v);
    if (s)
        return s;
    *y = malloc((d->csv->nrow + 1) * sizeof **y);
    *g = malloc((d->csv->nrow + 1) * sizeof **g);
    *cnt = calloc((size_t)d->k + 1, sizeof **cnt);
    if (!*y || !*g || !*cnt) {
        free(v);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    *n = 0;
    for (size_t i = 0; i < d->csv->nrow; i++)
        if (d->gcode[i] >= 0 && !isnan(v[i])) {
            (*y)[*n] = v[i];
            (*g)[*n] = d->gcode[i];
            (*cnt)[d->gcode[i]]++;
            (*n)++;
        }
    free(v);
    if (d->k < min_groups)
        return dolor_error(DOLOR_ENUMERIC, "%s: group column has %d level(s); need at least %d", d->csv->path, d->k,
                           min_groups);
    for (int j = 0; j < d->k; j++)
        if ((*cnt)[j] == 0)
            return dolor_error(DOLOR_ENUMERIC, "%s: column '%s' has no values in group '%s'", d->csv->path, col,
                               d->glev[j]);
    return DOLOR_OK;
}

/* split two groups out of (y, g) */
static dolor_status two_groups(const data_t *d, const char *col, double **a, size_t *na, double **b, size_t *nb)
{
    double *y;
    int *g;
    size_t n, *cnt;
    *a = *b = NULL;
    dolor_status s = grouped(d, col, &y, &g, &n, &cnt, 2);
    if (!s && d->k != 2)
        s = dolor_error(DOLOR_EINVAL, "%s: group column has %d levels; this test needs exactly 2", d->csv->path,
                        d->k);
    if (!s) {
        *a = malloc((cnt[0] + 1) * sizeof **a);
        *b = malloc((cnt[1] + 1) * sizeof **b);
        *na = *nb = 0;
        if (!*a || !*b)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
        for (size_t i = 0; !s && i < n; i++) {
            if (g[i] == 0)
                (*a)[(*na)++] = y[i];
            else
                (*b)[(*nb)++] = y[i];
        }
    }
    free(y);
    free(g);
    free(cnt);
    return s;
}

/* complete pairs of two columns */
static dolor_status pairs(const data_t *d, const char *ca, const char *cb, double **a, double **b, size_t *n)
{
    double *va = NULL, *vb = NULL;
    dolor_status s = dolor_csv_numeric(d->csv, ca, &va);
    if (!s)
        s = dolor_csv_numeric(d->csv, cb, &vb);
    *a = *b = NULL;
    *n = 0;
    if (!s) {
        *a = malloc((d->csv->nrow + 1) * sizeof **a);
        *b = malloc((d->csv->nrow + 1) * sizeof **b);
        if (!*a || !*b)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
        for (size_t i = 0; !s && i < d->csv->nrow; i++)
            if (!isnan(va[i]) && !isnan(vb[i])) {
                (*a)[*n] = va[i];
                (*b)[*n] = vb[i];
                (*n)++;
            }
    }
    free(va);
    free(vb);
    return s;
}

static int finish(const char *cmd, dolor_status s, data_t *d)
{
    if (d)
        data_free(d);
    if (s)
        return dolor_cli_fail(cmd, s);
    return DOLOR_EXIT_OK;
}

/* ---- subcommands ---- */
static int cmd_describe(const char *cmd, const sopts *o)
{
    data_t d;
    dolor_status s = load(cmd, o, &d, o->by != NULL);
    char **cols = NULL;
    int nc = 0;
    if (!s && !o->col)
        s = dolor_error(DOLOR_EINVAL, "--col is required");
    if (!s)
        s = dolor_cli_split_list("--col", o->col, &cols, &nc);
    if (!s && o->counts) {
        for (int c = 0; !s && c < nc; c++) {
            char **lev = NULL;
            int nl = 0, *code = NULL;
            if ((s = dolor_csv_factor(d.csv, cols[c], &lev, &nl, &code)))
                break;
            int ng = o->by ? d.k : 1;
            printf("%s%s\n%-16s", c ? "\n" : "", cols[c], "");
            for (int j = 0; j < ng; j++)
                printf(" %18s", o->by ? d.glev[j] : "all");
            printf("\n");
            for (int q = -1; q < nl; q++) {
                printf("%-16s", q < 0 ? "(missing)" : lev[q]);
                for (int j = 0; j < ng; j++) {
                    size_t cnt = 0, tot = 0;
                    for (size_t i = 0; i < d.csv->nrow; i++) {
                        if (o->by && d.gcode[i] != j)
                            continue;
                        cnt += code[i] == q;
                        tot += code[i] >= 0;
                    }
                    if (q < 0)
                        printf(" %18zu", cnt);
                    else
                        printf(" %9zu (%5.1f%%)", cnt, tot ? 100.0 * (double)cnt / (double)tot : 0.0);
                }
                printf("\n");
            }
            dolor_stats_free_strings(lev);
            free(code);
        }
        dolor_cli_free_list(cols);
        return finish(cmd, s, &d);
    }
    if (!s) {
        printf("%-14s %-10s %6s %6s %10s %10s %10s %10s %10s %10s %10s\n", "variable", "group", "n", "miss", "mean",
               o->population ? "SD(pop)" : "SD", "median", o->quantile == 6 ? "P25(SPSS)" : "P25", "P75", "min",
               "max");
    }
    for (int c = 0; !s && c < nc; c++) {
        double *v;
        if ((s = dolor_csv_numeric(d.csv, cols[c], &v)))
            break;
        int ng = o->by ? d.k : 1;
        double *buf = malloc((d.csv->nrow + 1) * sizeof *buf);
        for (int j = 0; !s && j < ng; j++) {
            size_t m = 0;
            for (size_t i = 0; i < d.csv->nrow; i++)
                if (!o->by || d.gcode[i] == j)
                    buf[m++] = v[i];
            dolor_describe ds;
            s = dolor_stats_describe(buf, m, o->population, (dolor_quantile_type)o->quantile, &ds);
            if (s) {
                s = dolor_error_prefix(s, "column '%s'%s%s", cols[c], o->by ? ", group " : "", o->by ? d.glev[j] : "");
                break;
            }
            printf("%-14s %-10s %6zu %6zu %10s %10s %10s %10s %10s %10s %10s\n", cols[c], o->by ? d.glev[j] : "all",
                   ds.n, ds.n_missing, G(ds.mean), G(ds.sd), G(ds.median), G(ds.p25), G(ds.p75), G(ds.min),
                   G(ds.max));
        }
        free(buf);
        free(v);
    }
    dolor_cli_free_list(cols);
    return finish(cmd, s, &d);
}

static int cmd_ttest(const char *cmd, const sopts *o)
{
    data_t d;
    int grouped_t = !o->paired && !o->has_mu;
    dolor_status s = load(cmd, o, &d, grouped_t);
    dolor_test_result r;
    double *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    if (!s && !o->col)
        s = dolor_error(DOLOR_EINVAL, "--col is required");
    if (s)
        return finish(cmd, s, &d);
    if (o->paired) {
        if (!o->vs)
            s = dolor_error(DOLOR_EINVAL, "--paired needs --vs COLUMN (differences = --col minus --vs)");
        if (!s)
            s = pairs(&d, o->col, o->vs, &a, &b, &na);
        if (!s)
            s = dolor_stats_ttest_paired(a, b, na, o->conf, &r);
        if (!s) {
            printf("\n\tPaired t-test\n\ndata:  %s and %s (%zu complete pairs)\n", o->col, o->vs, na);
            printf("t = %s, df = %s, p-value = %s\n", G(r.statistic), G(r.df), P(r.p));
            print_p_line(&r);
            printf("alternative hypothesis: true mean difference is not equal to 0\n");
            printf("%g percent confidence interval:\n %s %s\n", 100 * o->conf, G(r.ci_lo), G(r.ci_hi));
            printf("sample estimates:\nmean difference\n%15s\n\n", G(r.estimate));
        }
    } else if (o->has_mu) {
        double *v = NULL;
        s = dolor_csv_numeric(d.csv, o->col, &v);
        if (!s) {
            a = malloc((d.csv->nrow + 1) * sizeof *a);
            for (size_t i = 0; i < d.csv->nrow; i++)
                if (!isnan(v[i]))
                    a[na++] = v[i];
            s = dolor_stats_ttest_one(a, na, o->mu, o->conf, &r);
        }
        free(v);
        if (!s) {
            printf("\n\tOne Sample t-test\n\ndata:  %s (n = %zu)\n", o->col, na);
            printf("t = %s, df = %s, p-value = %s\n", G(r.statistic), G(r.df), P(r.p));
            print_p_line(&r);
            printf("alternative hypothesis: true mean is not equal to %g\n", o->mu);
            printf("%g percent confidence interval:\n %s %s\n", 100 * o->conf, G(r.ci_lo), G(r.ci_hi));
            printf("sample estimates:\nmean of x\n%9s\n\n", G(r.estimate));
        }
    } else {
        s = two_groups(&d, o->col, &a, &na, &b, &nb);
        if (!s)
            s = dolor_stats_ttest(a, na, b, nb, !o->welch, o->conf, &r);
        if (!s) {
            printf("\n\t%s\n\ndata:  %s by %s (%s: n = %zu, %s: n = %zu)\n", r.method, o->col, o->by, d.glev[0], na,
                   d.glev[1], nb);
            printf("t = %s, df = %s, p-value = %s\n", G(r.statistic), G(r.df), P(r.p));
            print_p_line(&r);
            printf("alternative hypothesis: true difference in means between group %s and group %s is not equal to "
                   "0\n",
                   d.glev[0], d.glev[1]);
            printf("%g percent confidence interval:\n %s %s\n", 100 * o->conf, G(r.ci_lo), G(r.ci_hi));
            printf("sample estimates:\nmean in group %s  mean in group %s\n%s  %s\n\n", d.glev[0], d.glev[1],
                   G(r.estimate + dolor_stats_mean(b, nb)), G(dolor_stats_mean(b, nb)));
        }
    }
    if (s)
        s = prefix_column(s, o->col);
    free(a);
    free(b);
    return finish(cmd, s, &d);
}

static int cmd_mannwhitney(const char *cmd, const sopts *o)
{
    data_t d;
    dolor_status s = load(cmd, o, &d, 1);
    double *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    dolor_test_result r;
    if (!s && !o->col)
        s = dolor_error(DOLOR_EINVAL, "--col is required");
    if (!s)
        s = two_groups(&d, o->col, &a, &na, &b, &nb);
    if (!s)
        s = dolor_stats_mannwhitney(a, na, b, nb, o->exact, o->correct, &r);
    if (!s) {
        printf("\n\t%s\n\ndata:  %s by %s (%s: n = %zu, %s: n = %zu)\n", r.method, o->col, o->by, d.glev[0], na,
               d.glev[1], nb);
        printf("W = %s, p-value = %s\n", G(r.statistic), P(r.p));
        print_p_line(&r);
        if (!r.exact)
            printf("normal approximation: z = %s (tie-corrected sigma %s)\n", G(r.z), G(r.sigma));
        printf("alternative hypothesis: true location shift is not equal to 0\n");
        printf("Hodges-Lehmann shift (median of %s - %s differences): %s\n\n", d.glev[0], d.glev[1], G(r.estimate));
    }
    free(a);
    free(b);
    return finish(cmd, s, &d);
}

static int cmd_wilcoxon(const char *cmd, const sopts *o)
{
    data_t d;
    dolor_status s = load(cmd, o, &d, 0);
    double *a = NULL, *b = NULL;
    size_t n = 0;
    dolor_test_result r;
    if (!s && (!o->col || !o->vs))
        s = dolor_error(DOLOR_EINVAL, "--col A --vs B are required (signed rank on A - B)");
    if (!s)
        s = pairs(&d, o->col, o->vs, &a, &b, &n);
    if (!s)
        s = dolor_stats_wilcoxon_signed(a, b, n, o->exact, o->correct, &r);
    if (!s) {
        printf("\n\t%s\n\ndata:  %s and %s (%zu complete pairs, %zu non-zero differences)\n", r.method, o->col, o->vs,
               n, r.n);
        printf("V = %s, p-value = %s\n", G(r.statistic), P(r.p));
        print_p_line(&r);
        if (!r.exact)
            printf("normal approximation: z = %s (tie-corrected sigma %s)\n", G(r.z), G(r.sigma));
        printf("alternative hypothesis: true location shift is not equal to 0\n");
        printf("median difference: %s\n\n", G(r.estimate));
    }
    free(a);
    free(b);
    return finish(cmd, s, &d);
}

static int cmd_shapiro(const char *cmd, const sopts *o)
{
    data_t d;
    dolor_status s = load(cmd, o, &d, o->by != NULL);
    if (!s && !o->col)
        s = dolor_error(DOLOR_EINVAL, "--col is required");
    double *v = NULL;
    if (!s)
        s = dolor_csv_numeric(d.csv, o->col, &v);
    double *buf = v ? malloc((d.csv->nrow + 1) * sizeof *buf) : NULL;
    int ng = o->by ? d.k : 1;
    for (int j = 0; !s && j < ng; j++) {
        size_t m = 0;
        for (size_t i = 0; i < d.csv->nrow; i++)
            if ((!o->by || d.gcode[i] == j) && !isnan(v[i]))
                buf[m++] = v[i];
        dolor_test_result r;
        if ((s = dolor_stats_shapiro(buf, m, &r))) {
            s = dolor_error_prefix(s, "column '%s'%s%s", o->col, o->by ? ", group " : "", o->by ? d.glev[j] : "");
            break;
        }
        printf("\n\tShapiro-Wilk normality test\n\ndata:  %s%s%s (n = %zu)\nW = %s, p-value = %s\n", o->col,
               o->by ? " in group " : "", o->by ? d.glev[j] : "", m, G(r.statistic), P(r.p));
    }
    if (!s)
        printf("\n");
    free(v);
    free(buf);
    return finish(cmd, s, &d);
}

static int cmd_ksample(const char *cmd, const char *which, const sopts *o)
{
    data_t d;
    dolor_status s = load(cmd, o, &d, 1);
    double *y = NULL;
    int *g = NULL;
    size_t n = 0, *cnt = NULL;
    if (!s && !o->col)
        s = dolor_error(DOLOR_EINVAL, "--col is required");
    if (!s)
        s = grouped(&d, o->col, &y, &g, &n, &cnt, 2);
    if (!s && !strcmp(which, "levene")) {
        dolor_levene_center c = DOLOR_LEVENE_MEAN;
        if (o->center && !strcmp(o->center, "median"))
            c = DOLOR_LEVENE_MEDIAN;
        else if (o->center && strcmp(o->center, "mean"))
            s = dolor_error(DOLOR_EINVAL, "--center: '%s' is not mean or median", o->center);
        dolor_test_result r;
        if (!s)
            s = dolor_stats_levene(y, g, n, d.k, c, &r);
        if (!s) {
            printf("Levene's Test for Homogeneity of Variance (center = %s)\n", c ? "median" : "mean");
            printf("       Df F value    Pr(>F)\ngroup %3g %7.4f %9s\n      %3g\n\n", r.df, r.statistic, P(r.p), r.df2);
        }
    } else if (!s && !strcmp(which, "anova")) {
        if (o->welch) {
            dolor_test_result r;
            s = dolor_stats_welch_anova(y, g, n, d.k, &r);
            if (!s)
                printf("\n\t%s\n\ndata:  %s and %s\nF = %s, num df = %s, denom df = %s, p-value = %s\n\n", r.method,
                       o->col, o->by, G(r.statistic), G(r.df), G(r.df2), P(r.p));
        } else {
            dolor_anova a;
            double *m = malloc((size_t)d.k * sizeof *m);
            size_t *c = malloc((size_t)d.k * sizeof *c);
            s = dolor_stats_anova(y, g, n, d.k, &a, m, c);
            if (!s) {
                printf("            Df  Sum Sq Mean Sq F value   Pr(>F)\n");
                printf("%-10s %3g %7s %7s %7s %8s\n", o->by, a.df_between, G(a.ss_between), G(a.ms_between), G(a.F),
                       P(a.p));
                printf("Residuals  %3g %7s %7s\n\n", a.df_within, G(a.ss_within), G(a.ms_within));
                for (int j = 0; j < d.k; j++)
                    printf("  %s: n = %zu, mean = %s\n", d.glev[j], c[j], G(m[j]));
                printf("\n");
            }
            free(m);
            free(c);
        }
    } else if (!s && !strcmp(which, "kruskal")) {
        dolor_test_result r;
        s = dolor_stats_kruskal(y, g, n, d.k, &r);
        if (!s)
            printf("\n\t%s\n\ndata:  %s by %s\nKruskal-Wallis chi-squared = %s, df = %s, p-value = %s\n\n", r.method,
                   o->col, o->by, G(r.statistic), G(r.df), P(r.p));
    } else if (!s && !strcmp(which, "pairwise")) {
        dolor_p_adjust adj = DOLOR_P_ADJUST_HOLM; /* R's default */
        if (o->adjust && !strcmp(o->adjust, "bonferroni"))
            adj = DOLOR_P_ADJUST_BONFERRONI;
        else if (o->adjust && !strcmp(o->adjust, "none"))
            adj = DOLOR_P_ADJUST_NONE;
        else if (o->adjust && strcmp(o->adjust, "holm"))
            s = dolor_error(DOLOR_EINVAL, "--adjust: '%s' is not bonferroni, holm or none", o->adjust);
        size_t kk = (size_t)d.k * (size_t)d.k;
        double *p = malloc(kk * sizeof *p);
        if (!s)
            s = dolor_stats_pairwise_t(y, g, n, d.k, o->pool, adj, p, NULL);
        if (!s) {
            printf("\n\tPairwise comparisons using t tests with %s SD\n\ndata:  %s and %s\n\n",
                   o->pool ? "pooled" : "non-pooled", o->col, o->by);
            printf("%-10s", "");
            for (int j = 0; j < d.k - 1; j++)
                printf(" %-10s", d.glev[j]);
            printf("\n");
            for (int i = 1; i < d.k; i++) {
                printf("%-10s", d.glev[i]);
                for (int j = 0; j < d.k - 1; j++)
                    printf(" %-10s", j < i ? P(p[(size_t)i * d.k + j]) : "-");
                printf("\n");
            }
            printf("\nP value adjustment method: %s\n\n",
                   adj == DOLOR_P_ADJUST_HOLM ? "holm" : adj == DOLOR_P_ADJUST_BONFERRONI ? "bonferroni" : "none");
        }
        free(p);
    }
    if (s)
        s = prefix_column(s, o->col ? o->col : "");
    free(y);
    free(g);
    free(cnt);
    return finish(cmd, s, &d);
}

static int cmd_cor(const char *cmd, const sopts *o)
{
    data_t d;
    dolor_status s = load(cmd, o, &d, 0);
    double *a = NULL, *b = NULL;
    size_t n = 0;
    dolor_test_result r;
    int spear = o->method && !strcmp(o->method, "spearman");
    if (!s && o->method && !spear && strcmp(o->method, "pearson"))
        s = dolor_error(DOLOR_EINVAL, "--method: '%s' is not pearson or spearman", o->method);
    if (!s && (!o->col || !o->vs))
        s = dolor_error(DOLOR_EINVAL, "--col X --vs Y are required");
    if (!s)
        s = pairs(&d, o->col, o->vs, &a, &b, &n);
    if (!s)
        s = spear ? dolor_stats_spearman(a, b, n, o->exact, &r) : dolor_stats_pearson(a, b, n, o->conf, &r);
    if (!s) {
        printf("\n\t%s\n\ndata:  %s and %s (%zu complete pairs)\n", r.method, o->col, o->vs, n);
        if (spear) {
            printf("S = %s, p-value = %s%s\n", G(r.statistic), P(r.p),
                   r.exact ? "" : "  (t approximation: ties or n >= 1290)");
            print_p_line(&r);
            printf("alternative hypothesis: true rho is not equal to 0\nsample estimates:\n      rho\n%9s\n\n",
                   G(r.estimate));
        } else {
            printf("t = %s, df = %s, p-value = %s\n", G(r.statistic), G(r.df), P(r.p));
            print_p_line(&r);
            printf("alternative hypothesis: true correlation is not equal to 0\n");
            if (!isnan(r.ci_lo))
                printf("%g percent confidence interval:\n %s %s\n", 100 * o->conf, G(r.ci_lo), G(r.ci_hi));
            printf("sample estimates:\n      cor\n%9s\n\n", G(r.estimate));
        }
    }
    free(a);
    free(b);
    return finish(cmd, s, &d);
}

/* "1,37;7,32" -> counts */
static dolor_status parse_table(const char *s, double **t, int *r, int *c)
{
    *t = NULL;
    *r = *c = 0;
    size_t cap = 16, n = 0;
    double *v = malloc(cap * sizeof *v);
    if (!v)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    int rows = 1, cols = 0, cur = 0;
    const char *p = s;
    for (;;) {
        char *e;
        double x = strtod(p, &e);
        if (e == p) {
            free(v);
            return dolor_error(DOLOR_EINVAL, "--table: '%s' is not a list of counts like '1,37;7,32'", s);
        }
        if (n == cap) {
            double *nv = realloc(v, (cap *= 2) * sizeof *nv);
            if (!nv) {
                free(v);
                return dolor_error(DOLOR_ENOMEM, "out of memory");
            }
            v = nv;
        }
        v[n++] = x;
        cur++;
        p = e;
        while (*p == ' ')
            p++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == ';' || *p == 0) {
            if (cols == 0)
                cols = cur;
            else if (cur != cols) {
                free(v);
                return dolor_error(DOLOR_EINVAL, "--table: row %d has %d counts but row 1 has %d", rows, cur, cols);
            }
            cur = 0;
            if (*p == 0)
                break;
            p++;
            rows++;
            continue;
        }
        free(v);
        return dolor_error(DOLOR_EINVAL, "--table: unexpected '%c' in '%s'", *p, s);
    }
    *t = v;
    *r = rows;
    *c = cols;
    return DOLOR_OK;
}

static int cmd_contingency(const char *cmd, int fisher, const sopts *o)
{
    data_t d;
    memset(&d, 0, sizeof d);
    dolor_status s = DOLOR_OK;
    double *t = NULL;
    int r = 0, c = 0;
    char **clev = NULL;
    int nc = 0, *ccode = NULL;
    if (o->table) {
        s = parse_table(o->table, &t, &r, &c);
    } else {
        s = load(cmd, o, &d, 1);
        if (!s && !o->col)
            s = dolor_error(DOLOR_EINVAL, "--col is required (or --table)");
        if (!s)
            s = dolor_csv_factor(d.csv, o->col, &clev, &nc, &ccode);
        if (!s) {
            r = d.k;
            c = nc;
            t = calloc((size_t)(r ? r : 1) * (size_t)(c ? c : 1), sizeof *t);
            for (size_t i = 0; t && i < d.csv->nrow; i++)
                if (d.gcode[i] >= 0 && ccode[i] >= 0)
                    t[d.gcode[i] * c + ccode[i]] += 1;
        }
    }
    dolor_test_result res;
    double *e = NULL;
    if (!s) {
        e = malloc((size_t)(r * c > 0 ? r * c : 1) * sizeof *e);
        printf("\nobserved%s\n", o->table ? "" : " (rows: --by, columns: --col)");
        printf("%-12s", "");
        for (int j = 0; j < c; j++)
            printf(" %10s", clev ? clev[j] : "");
        printf("\n");
        for (int i = 0; i < r; i++) {
            printf("%-12s", d.glev ? d.glev[i] : "");
            for (int j = 0; j < c; j++)
                printf(" %10g", t[i * c + j]);
            printf("\n");
        }
        s = fisher ? dolor_stats_fisher(t, r, c, o->conf, &res) : dolor_stats_chisq(t, r, c, o->yates, &res, e);
    }
    if (!s) {
        printf("\n\t%s\n\n", res.method);
        if (fisher) {
            printf("p-value = %s\n", P(res.p));
            if (r == 2 && c == 2) {
                print_p_line(&res);
                printf("alternative hypothesis: true odds ratio is not equal to 1\n");
                printf("%g percent confidence interval:\n %s %s\n", 100 * o->conf, G(res.ci_lo), G(res.ci_hi));
                printf("sample estimates:\n(conditional MLE) odds ratio\n%s\n", G(res.estimate));
            }
            printf("\n");
        } else {
            printf("X-squared = %s, df = %s, p-value = %s\n", G(res.statistic), G(res.df), P(res.p));
            double emin = INFINITY;
            for (int i = 0; i < r * c; i++)
                emin = fmin(emin, e[i]);
            printf("smallest expected count = %s%s\n\n", G(emin),
                   emin < 5 ? "  (< 5: the approximation may be poor; consider 'dolor stats fisher')" : "");
        }
    }
    if (s && o->col)
        s = dolor_error_prefix(s, "columns '%s' by '%s'", o->col, o->by ? o->by : "");
    free(t);
    free(e);
    dolor_stats_free_strings(clev);
    free(ccode);
    return finish(cmd, s, o->table ? NULL : &d);
}

static int cmd_table(const char *cmd, const sopts *o)
{
    data_t d;
    dolor_status s = load(cmd, o, &d, 0);
    char **items = NULL;
    int ni = 0;
    dolor_table1_var *vars = NULL;
    dolor_table1_change *ch = NULL;
    char ***fus = NULL;
    dolor_table *mt = NULL, *ct = NULL;
    dolor_table_format fmt = DOLOR_TABLE_TEXT;
    if (!s && !o->group)
        s = dolor_error(DOLOR_EINVAL, "--group COLUMN is required");
    if (!s && !o->vars && !o->nchanges)
        s = dolor_error(DOLOR_EINVAL, "--vars (e.g. age:c,sex:cat,grade:ord) or --change is required");
    if (!s && o->format) {
        if (!strcmp(o->format, "text"))
            fmt = DOLOR_TABLE_TEXT;
        else if (!strcmp(o->format, "md") || !strcmp(o->format, "markdown"))
            fmt = DOLOR_TABLE_MARKDOWN;
        else if (!strcmp(o->format, "csv"))
            fmt = DOLOR_TABLE_CSV;
        else
            s = dolor_error(DOLOR_EINVAL, "--format: '%s' is not text, md or csv", o->format);
    }
    if (!s && o->vars)
        s = dolor_cli_split_list("--vars", o->vars, &items, &ni);
    if (!s) {
        vars = calloc((size_t)(ni ? ni : 1), sizeof *vars);
        ch = calloc((size_t)(o->nchanges ? o->nchanges : 1), sizeof *ch);
        fus = calloc((size_t)(o->nchanges ? o->nchanges : 1), sizeof *fus);
        if (!vars || !ch || !fus)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    for (int i = 0; !s && i < ni; i++) {
        char *colon = strrchr(items[i], ':');
        vars[i].type = DOLOR_VAR_CONTINUOUS;
        if (colon) {
            *colon = 0;
            const char *ty = colon + 1;
            if (!strcmp(ty, "c") || !strcmp(ty, "cont") || !strcmp(ty, "continuous"))
                vars[i].type = DOLOR_VAR_CONTINUOUS;
            else if (!strcmp(ty, "cat") || !strcmp(ty, "categorical"))
                vars[i].type = DOLOR_VAR_CATEGORICAL;
            else if (!strcmp(ty, "ord") || !strcmp(ty, "ordinal"))
                vars[i].type = DOLOR_VAR_ORDINAL;
            else
                s = dolor_error(DOLOR_EINVAL, "--vars: type '%s' of '%s' is not c, cat or ord", ty, items[i]);
        }
        vars[i].column = items[i];
        for (int l = 0; l < o->nlabels; l++) {
            const char *eq = strchr(o->labels[l], '=');
            if (!eq) {
                s = dolor_error(DOLOR_EINVAL, "--label: '%s' is not COLUMN=Text", o->labels[l]);
                break;
            }
            if ((size_t)(eq - o->labels[l]) == strlen(items[i]) && !strncmp(o->labels[l], items[i], strlen(items[i])))
                vars[i].label = eq + 1;
        }
    }
    for (int c = 0; !s && c < o->nchanges; c++) {
        char *eq = strchr(o->changes[c], '=');
        if (!eq || eq == o->changes[c]) {
            s = dolor_error(DOLOR_EINVAL, "--change: '%s' is not BASELINE=FOLLOWUP1,FOLLOWUP2", o->changes[c]);
            break;
        }
        *eq = 0;
        int nf;
        if ((s = dolor_cli_split_list("--change", eq + 1, &fus[c], &nf)))
            break;
        ch[c].baseline = o->changes[c];
        ch[c].followup = (const char *const *)fus[c];
        ch[c].nfollowup = nf;
    }
    if (!s) {
        dolor_table1_spec sp = {.group = o->group,
                                .vars = vars,
                                .nvars = ni,
                                .changes = ch,
                                .nchanges = o->nchanges,
                                .alpha = o->alpha,
                                .digits = o->digits,
                                .qtype = (dolor_quantile_type)o->quantile};
        s = dolor_table1_build(d.csv, &sp, &mt, &ct, NULL, NULL);
    }
    if (!s) {
        if (o->out) {
            dolor_outfile of;
            s = dolor_outfile_open(&of, o->out, 1);
            /* CSV: the change table goes to a second file, <stem>_change.csv */
            int separate = fmt == DOLOR_TABLE_CSV && ct;
            if (!s) {
                s = dolor_table_write(mt, fmt, of.fp);
                if (!s && ct && !separate) {
                    fputc('\n', of.fp);
                    s = dolor_table_write(ct, fmt, of.fp);
                }
                if (s)
                    dolor_outfile_abort(&of);
                else
                    s = dolor_outfile_commit(&of);
            }
            if (!s)
                fprintf(stderr, "dolor stats table: wrote %s\n", o->out);
            if (!s && separate) {
                char path2[4096];
                const char *dot = strrchr(o->out, '.'), *slash = strrchr(o->out, '/');
                int stem = (dot && (!slash || dot > slash)) ? (int)(dot - o->out) : (int)strlen(o->out);
                snprintf(path2, sizeof path2, "%.*s_change%s", stem, o->out, o->out + stem);
                s = dolor_outfile_open(&of, path2, 1);
                if (!s) {
                    s = dolor_table_write(ct, fmt, of.fp);
                    if (s)
                        dolor_outfile_abort(&of);
                    else
                        s = dolor_outfile_commit(&of);
                }
                if (!s)
                    fprintf(stderr, "dolor stats table: wrote %s\n", path2);
            }
        } else {
            s = dolor_table_write(mt, fmt, stdout);
            if (!s && ct) {
                fputc('\n', stdout);
                s = dolor_table_write(ct, fmt, stdout);
            }
        }
    }
    dolor_table_free(mt);
    dolor_table_free(ct);
    dolor_cli_free_list(items);
    for (int c = 0; fus && c < o->nchanges; c++)
        dolor_cli_free_list(fus[c]);
    free(fus);
    free(vars);
    free(ch);
    return finish(cmd, s, &d);
}

int dolor_cmd_stats(int argc, char **argv)
{
    if (argc < 2) {
        stats_help(stderr);
        return DOLOR_EXIT_INPUT;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        stats_help(stdout);
        return DOLOR_EXIT_OK;
    }
    static const char *known[] = {"describe", "ttest", "mannwhitney", "wilcoxon", "shapiro", "levene", "anova",
                                  "kruskal", "pairwise", "cor", "chisq", "fisher", "table"};
    int is_known = 0;
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        is_known |= !strcmp(sub, known[i]);
    if (!is_known) {
        if (dolor_cli_stats_extra) {
            int rc = dolor_cli_stats_extra(argc - 1, argv + 1);
            if (rc != -1)
                return rc;
        }
        fprintf(stderr, "dolor stats: error: unknown test '%s'\n\n", sub);
        stats_help(stderr);
        return DOLOR_EXIT_INPUT;
    }
    char cmd[64];
    snprintf(cmd, sizeof cmd, "stats %s", sub);
    sopts o;
    int pr = parse_opts(cmd, argc - 1, argv + 1, &o);
    if (pr == 1) {
        stats_help(stdout);
        return DOLOR_EXIT_OK;
    }
    if (pr)
        return DOLOR_EXIT_INPUT;
    if (!o.file && !(o.table && (!strcmp(sub, "chisq") || !strcmp(sub, "fisher"))))
        return dolor_cli_usage_error(cmd, "no CSV file given");
    if (!strcmp(sub, "describe"))
        return cmd_describe(cmd, &o);
    if (!strcmp(sub, "ttest"))
        return cmd_ttest(cmd, &o);
    if (!strcmp(sub, "mannwhitney"))
        return cmd_mannwhitney(cmd, &o);
    if (!strcmp(sub, "wilcoxon"))
        return cmd_wilcoxon(cmd, &o);
    if (!strcmp(sub, "shapiro"))
        return cmd_shapiro(cmd, &o);
    if (!strcmp(sub, "levene") || !strcmp(sub, "anova") || !strcmp(sub, "kruskal") || !strcmp(sub, "pairwise"))
        return cmd_ksample(cmd, sub, &o);
    if (!strcmp(sub, "cor"))
        return cmd_cor(cmd, &o);
    if (!strcmp(sub, "chisq") || !strcmp(sub, "fisher"))
        return cmd_contingency(cmd, !strcmp(sub, "fisher"), &o);
    return cmd_table(cmd, &o);
}
