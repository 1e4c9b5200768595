/* dolor stats chisq | fisher: tests on contingency tables (from two CSV columns or typed in with --table). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_cli.h"

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


static int run_contingency(stats_ctx *c, int fisher)
{
    stats_data d;
    memset(&d, 0, sizeof d);
    const char *table = stats_str(c, "table"), *col = stats_str(c, "col"), *by = stats_str(c, "by");
    int yates = fisher ? 0 : stats_flag(c, "correct", 0);
    double conf = 0.95;
    dolor_status s = fisher ? stats_conf(c, &conf) : DOLOR_OK;
    double *t = NULL;
    int r = 0, nc = 0;
    char **clev = NULL;
    int ncl = 0, *ccode = NULL;
    if (!s && table)
        s = stats_reject(c, "with --table", "col", "by", "ref-group", "levels", NULL);
    if (!s && table && c->file)
        s = dolor_error(DOLOR_EINVAL, "give a CSV file with --col and --by, or --table, not both");
    else if (!s && table)
        s = parse_table(table, &t, &r, &nc);
    else if (!s && !c->file)
        s = dolor_error(DOLOR_EINVAL, "no CSV file given (or --table '1,37;7,32')");
    else if (!s) {
        s = stats_load(c, &d, 1);
        if (!s && !col)
            s = dolor_error(DOLOR_EINVAL, "--col is required (or --table)");
        if (!s)
            s = dolor_csv_factor(d.csv, col, &clev, &ncl, &ccode);
        if (!s) {
            r = d.k;
            nc = ncl;
            t = calloc((size_t)(r ? r : 1) * (size_t)(nc ? nc : 1), sizeof *t);
            if (!t)
                s = dolor_error(DOLOR_ENOMEM, "out of memory");
            for (size_t i = 0; t && i < d.csv->nrow; i++)
                if (d.gcode[i] >= 0 && ccode[i] >= 0)
                    t[d.gcode[i] * nc + ccode[i]] += 1;
        }
    }
    dolor_test_result res;
    double *e = NULL;
    if (!s) {
        e = malloc((size_t)(r * nc > 0 ? r * nc : 1) * sizeof *e);
        fprintf(c->fp, "\nobserved%s\n", table ? "" : " (rows: --by, columns: --col)");
        fprintf(c->fp, "%-12s", "");
        for (int j = 0; j < nc; j++)
            fprintf(c->fp, " %10s", clev ? clev[j] : "");
        fprintf(c->fp, "\n");
        for (int i = 0; i < r; i++) {
            fprintf(c->fp, "%-12s", d.glev ? d.glev[i] : "");
            for (int j = 0; j < nc; j++)
                fprintf(c->fp, " %10g", t[i * nc + j]);
            fprintf(c->fp, "\n");
        }
        s = !e ? dolor_error(DOLOR_ENOMEM, "out of memory")
               : fisher ? dolor_stats_fisher(t, r, nc, conf, &res) : dolor_stats_chisq(t, r, nc, yates, &res, e);
    }
    if (!s) {
        fprintf(c->fp, "\n\t%s\n\n", res.method);
        out_int(c, "rows", r);
        out_int(c, "columns", nc);
        if (fisher) {
            fprintf(c->fp, "p-value = %s\n", fmt_p(res.p));
            if (r == 2 && nc == 2) {
                stats_print_one_sided(c, &res);
                fprintf(c->fp, "alternative hypothesis: true odds ratio is not equal to 1\n");
                fprintf(c->fp, "%g percent confidence interval:\n %s %s\n", 100 * conf, fmt_est(res.ci_lo),
                        fmt_est(res.ci_hi));
                fprintf(c->fp, "sample estimates:\n(conditional MLE) odds ratio\n%s\n", fmt_est(res.estimate));
            }
            fprintf(c->fp, "\n");
            out_test(c, &res);
        } else {
            fprintf(c->fp, "X-squared = %s, df = %s, p-value = %s\n", fmt_est(res.statistic), fmt_est(res.df),
                    fmt_p(res.p));
            double emin = INFINITY;
            for (int i = 0; i < r * nc; i++)
                emin = fmin(emin, e[i]);
            fprintf(c->fp, "smallest expected count = %s%s\n\n", fmt_est(emin),
                    emin < 5 ? "  (< 5: consider 'dolor stats fisher')" : "");
            out_test(c, &res);
            out_num(c, "min_expected", emin);
            if (emin < 5) /* R's chisq.test warns the same */
                out_warn(c, "Chi-squared approximation may be incorrect (smallest expected count %s < 5)",
                         fmt_est(emin));
        }
    }
    if (s && col && !table)
        s = dolor_error_prefix(s, "columns '%s' by '%s'", col, by ? by : "");
    free(t);
    free(e);
    dolor_stats_free_strings(clev);
    free(ccode);
    return stats_done(c, s, table ? NULL : &d);
}

static int run_chisq(stats_ctx *c)
{
    return run_contingency(c, 0);
}

static int run_fisher(stats_ctx *c)
{
    return run_contingency(c, 1);
}

#define TABLE_OPTS                                                                                            \
    STATS_OPT_COL("column whose values are the table's columns"),                                             \
    {.name = "by", .type = OPT_STR, .metavar = "COL", .help = "column whose values are the table's rows"},                      \
    {.name = "table", .type = OPT_STR, .metavar = "'1,37;7,32'", .help = "counts typed in, rows separated by ';'"}

static const dolor_opt_spec chisq_opts[] = {
    TABLE_OPTS,
    {.name = "correct", .type = OPT_FLAG, .help = "Yates' continuity correction, 2x2 only (R correct = TRUE)"},
    STATS_OPT_REF_GROUP,
    STATS_OPT_LEVELS,
    STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_chisq = {
    .name = "chisq",
    .topic = "contingency tables",
    .usage = "FILE.csv --col A --by G [--correct] | --table '1,37;7,32'",
    .summary = "Pearson chi-square test of independence (R chisq.test(m, correct = FALSE by default))",
    .details = "Note: R's chisq.test corrects 2x2 tables by default; dolor does only with --correct (SPSS's\n"
               "Pearson Chi-Square row has no correction).\n",
    .opts = chisq_opts,
    .nopts = sizeof chisq_opts / sizeof *chisq_opts,
    .npos_min = 0,
    .npos_max = 1,
    .formats = STATS_FORMATS,
    .run = run_chisq,
};

static const dolor_opt_spec fisher_opts[] = {
    TABLE_OPTS, STATS_OPT_CONF, STATS_OPT_REF_GROUP, STATS_OPT_LEVELS, STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_fisher = {
    .name = "fisher",
    .topic = "contingency tables",
    .usage = "FILE.csv --col A --by G | --table '1,37;7,32'",
    .summary = "Fisher's exact test; 2x2: one-sided p, conditional MLE odds ratio and CI (R fisher.test)",
    .opts = fisher_opts,
    .nopts = sizeof fisher_opts / sizeof *fisher_opts,
    .npos_min = 0,
    .npos_max = 1,
    .formats = STATS_FORMATS,
    .run = run_fisher,
};
