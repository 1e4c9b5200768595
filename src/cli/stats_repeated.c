/* dolor stats friedman | rmanova: repeated-measures tests on a wide CSV (one row per subject, one column per
 * condition or reader), as R's friedman.test(as.matrix(d[, cols])) and
 * summary(aov(y ~ condition + Error(subject/condition))) on the same data in long form. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_cli.h"

/* --cols A,B,C -> y[n * k] row-major, every cell required */
static dolor_status load_wide(stats_ctx *c, stats_data *d, double **y, size_t *n, int *k)
{
    const char *cols = stats_str(c, "cols");
    *y = NULL;
    if (!cols)
        return dolor_error(DOLOR_EINVAL, "--cols A,B,... is required (one column per condition, one row per subject)");
    char **names = NULL;
    int nc = 0;
    dolor_status s = dolor_cli_split_list("--cols", cols, &names, &nc);
    if (!s && nc < 2)
        s = dolor_error(DOLOR_EINVAL, "--cols: %d column (need at least 2 conditions)", nc);
    if (!s)
        s = stats_load(c, d, 0);
    double **v = s ? NULL : calloc((size_t)nc, sizeof *v);
    if (!s && !v)
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
    for (int j = 0; !s && j < nc; j++)
        if ((s = stats_column_complete(d->csv, names[j], &v[j])))
            s = stats_prefix_column(s, names[j]);
    if (!s) {
        *n = d->csv->nrow;
        *k = nc;
        *y = malloc(*n * (size_t)nc * sizeof **y);
        if (!*y)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
        for (size_t i = 0; !s && i < *n; i++)
            for (int j = 0; j < nc; j++)
                (*y)[i * (size_t)nc + (size_t)j] = v[j][i];
    }
    for (int j = 0; v && j < nc; j++)
        free(v[j]);
    free(v);
    dolor_cli_free_list(names);
    return s;
}

static int run_friedman(stats_ctx *c)
{
    stats_data d;
    memset(&d, 0, sizeof d);
    double *y = NULL;
    size_t n = 0;
    int k = 0;
    dolor_test_result r;
    dolor_status s = load_wide(c, &d, &y, &n, &k);
    if (!s)
        s = dolor_stats_friedman(y, n, k, &r);
    if (!s) {
        fprintf(c->fp, "\n\t%s\n\ndata:  %s (%zu subjects, %d conditions)\n", r.method, stats_str(c, "cols"), n, k);
        fprintf(c->fp, "Friedman chi-squared = %s, df = %s, p-value = %s\n\n", fmt_est(r.statistic), fmt_est(r.df),
                fmt_p(r.p));
        out_test(c, &r);
    }
    free(y);
    return stats_done(c, s, &d);
}

static int run_rmanova(stats_ctx *c)
{
    stats_data d;
    memset(&d, 0, sizeof d);
    double *y = NULL;
    size_t n = 0;
    int k = 0;
    dolor_rm_anova a;
    dolor_status s = load_wide(c, &d, &y, &n, &k);
    if (!s)
        s = dolor_stats_rm_anova(y, n, k, &a);
    if (!s) {
        fprintf(c->fp, "\nError: subject\n          Df Sum Sq\nResiduals %3.0f %s\n", a.df_subjects,
                fmt_est(a.ss_subjects));
        fprintf(c->fp, "\nError: subject:condition\n          Df Sum Sq Mean Sq F value Pr(>F)\n"
                       "condition %3.0f %s %s %s %s\nResiduals %3.0f %s %s\n\n",
                a.df_conditions, fmt_est(a.ss_conditions), fmt_est(a.ms_conditions), fmt_est(a.F), fmt_p(a.p),
                a.df_error, fmt_est(a.ss_error), fmt_est(a.ms_error));
        out_record(c);
        out_str(c, "method", "repeated-measures ANOVA");
        out_num(c, "F", a.F);
        out_num(c, "df", a.df_conditions);
        out_num(c, "df2", a.df_error);
        out_pval(c, "p", a.p);
        out_num(c, "ss_conditions", a.ss_conditions);
        out_num(c, "ss_error", a.ss_error);
        out_num(c, "ss_subjects", a.ss_subjects);
        out_int(c, "n", (long)n);
    }
    free(y);
    return stats_done(c, s, &d);
}

static const dolor_opt_spec repeated_opts[] = {
    {.name = "cols", .type = OPT_LIST, .metavar = "A,B,...", .help = "one column per condition (reader); one row per "
     "subject (image); every cell required"},
    STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_friedman = {
    .name = "friedman",
    .topic = "repeated measures",
    .usage = "FILE.csv --cols A,B,C",
    .summary = "Friedman rank sum test across repeated conditions (R friedman.test(as.matrix(d[, cols])))",
    .opts = repeated_opts,
    .nopts = sizeof repeated_opts / sizeof *repeated_opts,
    .npos_min = 1,
    .npos_max = 1,
    .formats = STATS_FORMATS,
    .run = run_friedman,
};

const stats_cmd stats_cmd_rmanova = {
    .name = "rmanova",
    .topic = "repeated measures",
    .usage = "FILE.csv --cols A,B,C",
    .summary = "one-way repeated-measures ANOVA (R aov(y ~ condition + Error(subject/condition)), sphericity assumed)",
    .opts = repeated_opts,
    .nopts = sizeof repeated_opts / sizeof *repeated_opts,
    .npos_min = 1,
    .npos_max = 1,
    .formats = STATS_FORMATS,
    .run = run_rmanova,
};
