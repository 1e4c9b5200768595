/* dolor stats describe | shapiro: descriptive statistics and the normality test. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_cli.h"

static int run_counts(stats_ctx *c, stats_data *d, char **cols, int nc)
{
    dolor_status s = DOLOR_OK;
    const char *by = stats_str(c, "by");
    for (int ci = 0; !s && ci < nc; ci++) {
        char **lev = NULL;
        int nl = 0, *code = NULL;
        if ((s = dolor_csv_factor(d->csv, cols[ci], &lev, &nl, &code)))
            break;
        int ng = by ? d->k : 1;
        fprintf(c->fp, "%s%s\n%-16s", ci ? "\n" : "", cols[ci], "");
        for (int j = 0; j < ng; j++)
            fprintf(c->fp, " %18s", by ? d->glev[j] : "all");
        fprintf(c->fp, "\n");
        for (int q = -1; q < nl; q++) {
            fprintf(c->fp, "%-16s", q < 0 ? "(missing)" : lev[q]);
            for (int j = 0; j < ng; j++) {
                size_t cnt = 0, tot = 0;
                for (size_t i = 0; i < d->csv->nrow; i++) {
                    if (by && d->gcode[i] != j)
                        continue;
                    cnt += code[i] == q;
                    tot += code[i] >= 0;
                }
                double pct = tot ? 100.0 * (double)cnt / (double)tot : 0.0;
                if (q < 0)
                    fprintf(c->fp, " %18zu", cnt);
                else
                    fprintf(c->fp, " %9zu (%5.1f%%)", cnt, pct);
                out_record(c);
                out_str(c, "variable", cols[ci]);
                out_str(c, "group", by ? d->glev[j] : "all");
                out_str(c, "value", q < 0 ? NULL : lev[q]);
                out_int(c, "n", (long)cnt);
                if (q >= 0)
                    out_num(c, "percent", pct);
            }
            fprintf(c->fp, "\n");
        }
        dolor_stats_free_strings(lev);
        free(code);
    }
    return stats_done(c, s, NULL);
}

static int run_describe(stats_ctx *c)
{
    stats_data d;
    const char *by = stats_str(c, "by"), *col = stats_str(c, "col");
    int population = stats_flag(c, "population", 0);
    long quantile;
    dolor_status s = stats_long(c, "quantile", 7, 6, 7, &quantile);
    if (!s && stats_flag(c, "counts", 0))
        s = stats_reject(c, "with --counts", "population", "quantile", NULL);
    if (!s)
        s = stats_load(c, &d, by != NULL);
    else
        memset(&d, 0, sizeof d);
    char **cols = NULL;
    int nc = 0;
    if (!s && !col)
        s = dolor_error(DOLOR_EINVAL, "--col is required");
    if (!s)
        s = dolor_cli_split_list("--col", col, &cols, &nc);
    if (!s && stats_flag(c, "counts", 0)) {
        int rc = run_counts(c, &d, cols, nc);
        dolor_cli_free_list(cols);
        stats_data_free(&d);
        return rc;
    }
    if (!s)
        fprintf(c->fp, "%-14s %-10s %6s %6s %10s %10s %10s %10s %10s %10s %10s\n", "variable", "group", "n", "miss",
                "mean", population ? "SD(pop)" : "SD", "median", quantile == 6 ? "P25(SPSS)" : "P25", "P75", "min",
                "max");
    for (int ci = 0; !s && ci < nc; ci++) {
        double *v;
        if ((s = dolor_csv_numeric(d.csv, cols[ci], &v)))
            break;
        int ng = by ? d.k : 1;
        double *buf = malloc((d.csv->nrow + 1) * sizeof *buf);
        for (int j = 0; !s && j < ng; j++) {
            size_t m = 0;
            for (size_t i = 0; i < d.csv->nrow; i++)
                if (!by || d.gcode[i] == j)
                    buf[m++] = v[i];
            dolor_describe ds;
            s = dolor_stats_describe(buf, m, population, (dolor_quantile_type)quantile, &ds);
            if (s) {
                s = dolor_error_prefix(s, "column '%s'%s%s", cols[ci], by ? ", group " : "", by ? d.glev[j] : "");
                break;
            }
            fprintf(c->fp, "%-14s %-10s %6zu %6zu %10s %10s %10s %10s %10s %10s %10s\n", cols[ci],
                    by ? d.glev[j] : "all", ds.n, ds.n_missing, fmt_est(ds.mean), fmt_est(ds.sd), fmt_est(ds.median),
                    fmt_est(ds.p25), fmt_est(ds.p75), fmt_est(ds.min), fmt_est(ds.max));
            out_record(c);
            out_str(c, "variable", cols[ci]);
            out_str(c, "group", by ? d.glev[j] : "all");
            out_int(c, "n", (long)ds.n);
            out_int(c, "missing", (long)ds.n_missing);
            out_num(c, "mean", ds.mean);
            out_num(c, "sd", ds.sd);
            out_num(c, "median", ds.median);
            out_num(c, "p25", ds.p25);
            out_num(c, "p75", ds.p75);
            out_num(c, "min", ds.min);
            out_num(c, "max", ds.max);
        }
        free(buf);
        free(v);
    }
    dolor_cli_free_list(cols);
    return stats_done(c, s, &d);
}

static int run_shapiro(stats_ctx *c)
{
    stats_data d;
    const char *by = stats_str(c, "by"), *col = stats_str(c, "col");
    dolor_status s = stats_load(c, &d, by != NULL);
    if (!s && !col)
        s = dolor_error(DOLOR_EINVAL, "--col is required");
    double *v = NULL;
    if (!s)
        s = dolor_csv_numeric(d.csv, col, &v);
    double *buf = v ? malloc((d.csv->nrow + 1) * sizeof *buf) : NULL;
    int ng = by ? d.k : 1;
    for (int j = 0; !s && j < ng; j++) {
        size_t m = 0;
        for (size_t i = 0; i < d.csv->nrow; i++)
            if ((!by || d.gcode[i] == j) && !isnan(v[i]))
                buf[m++] = v[i];
        dolor_test_result r;
        if ((s = dolor_stats_shapiro(buf, m, &r))) {
            s = dolor_error_prefix(s, "column '%s'%s%s", col, by ? ", group " : "", by ? d.glev[j] : "");
            break;
        }
        fprintf(c->fp, "\n\tShapiro-Wilk normality test\n\ndata:  %s%s%s (n = %zu)\nW = %s, p-value = %s\n", col,
                by ? " in group " : "", by ? d.glev[j] : "", m, fmt_est(r.statistic), fmt_p(r.p));
        out_record(c);
        out_str(c, "variable", col);
        out_str(c, "group", by ? d.glev[j] : "all");
        out_int(c, "n", (long)m);
        out_num(c, "W", r.statistic);
        out_pval(c, "p", r.p);
    }
    if (!s)
        fprintf(c->fp, "\n");
    free(v);
    free(buf);
    return stats_done(c, s, &d);
}

static const dolor_opt_spec describe_opts[] = {
    {.name = "col", .type = OPT_LIST, .metavar = "A,B,...", .help = "the columns"},
    STATS_OPT_BY,
    {.name = "population", .type = OPT_FLAG, .help = "population SD (divide by n) instead of the sample SD"},
    {.name = "quantile", .type = OPT_INT, .def = "7", DOLOR_OPT_RANGE(6, 7),
     .help = "quartile definition: 7 (R's default) or 6 (SPSS)"},
    {.name = "counts", .type = OPT_FLAG, .help = "n (%) of each value (categorical columns)"},
    STATS_OPT_REF_GROUP,
    STATS_OPT_LEVELS,
    STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_describe = {
    .name = "describe",
    .topic = "descriptive statistics",
    .usage = "FILE.csv --col A[,B..] [--by G] [--population] [--quantile 7|6] [--counts]",
    .summary = "n, missing, mean, SD, median, quartiles, min, max (R mean, sd, quantile); --counts: n (%)",
    .opts = describe_opts,
    .nopts = sizeof describe_opts / sizeof *describe_opts,
    .npos_min = 1,
    .npos_max = 1,
    .formats = STATS_FORMATS,
    .run = run_describe,
};

static const dolor_opt_spec shapiro_opts[] = {
    STATS_OPT_COL("column Y"), STATS_OPT_BY, STATS_OPT_REF_GROUP, STATS_OPT_LEVELS, STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_shapiro = {
    .name = "shapiro",
    .topic = "descriptive statistics",
    .usage = "FILE.csv --col Y [--by G]",
    .summary = "Shapiro-Wilk normality test, per group with --by (R shapiro.test)",
    .opts = shapiro_opts,
    .nopts = sizeof shapiro_opts / sizeof *shapiro_opts,
    .npos_min = 1,
    .npos_max = 1,
    .formats = STATS_FORMATS,
    .run = run_shapiro,
};
