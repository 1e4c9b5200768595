/* dolor stats table: study tables ("Table 1": characteristics by group with the test chosen per variable, and
 * changes from baseline within groups), as text, Markdown, CSV or JSON; --spss for SPSS's choices. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_cli.h"

static dolor_status parse_vars(const stats_ctx *c, char **items, int ni, dolor_table1_var *vars)
{
    const char *labels[STATS_MAX_REPEAT];
    int nl = stats_repeated(c, "label", labels, STATS_MAX_REPEAT);
    for (int i = 0; i < ni; i++) {
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
                return dolor_error(DOLOR_EINVAL, "--vars: type '%s' of '%s' is not c, cat or ord", ty, items[i]);
        }
        vars[i].column = items[i];
        for (int l = 0; l < nl; l++) {
            const char *eq = strchr(labels[l], '=');
            if (!eq)
                return dolor_error(DOLOR_EINVAL, "--label: '%s' is not COLUMN=Text", labels[l]);
            if ((size_t)(eq - labels[l]) == strlen(items[i]) && !strncmp(labels[l], items[i], strlen(items[i])))
                vars[i].label = eq + 1;
        }
    }
    return DOLOR_OK;
}

/* CSV with --change and --out: the change table goes to FILE's stem + _change.csv */
static dolor_status write_change_csv(const stats_ctx *c, const char *out, const dolor_table *ct)
{
    char path2[4096];
    const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    int stem = (dot && (!slash || dot > slash)) ? (int)(dot - out) : (int)strlen(out);
    snprintf(path2, sizeof path2, "%.*s_change%s", stem, out, out + stem);
    dolor_outfile of;
    dolor_status s = dolor_outfile_open(&of, path2, 1);
    if (s)
        return s;
    s = dolor_table_write(ct, DOLOR_TABLE_CSV, of.fp);
    if (s)
        dolor_outfile_abort(&of);
    else
        s = dolor_outfile_commit(&of);
    if (!s)
        fprintf(stderr, "dolor %s: wrote %s\n", c->name, path2);
    return s;
}

static int run_table(stats_ctx *c)
{
    stats_data d;
    memset(&d, 0, sizeof d);
    const char *group = stats_str(c, "group"), *vlist = stats_str(c, "vars"), *out = stats_str(c, "out");
    const char *chs[64];
    int nch = stats_repeated(c, "change", chs, 64);
    int spss = stats_flag(c, "spss", 0);
    double alpha;
    long decimals, quantile;
    dolor_status s = stats_num(c, "alpha", 0.05, 0, 0.5, 1, 0, &alpha);
    if (!s)
        s = stats_long(c, "decimals", 1, 0, 10, &decimals);
    if (!s)
        s = stats_long(c, "quantile", spss ? 6 : 7, 6, 7, &quantile);
    if (!s)
        s = stats_load(c, &d, 0);
    char **items = NULL;
    int ni = 0;
    dolor_table1_var *vars = NULL;
    dolor_table1_change *ch = NULL;
    char ***fus = NULL;
    char *chcopy[64] = {0};
    dolor_table *mt = NULL, *ct = NULL;
    dolor_table1_row *rows = NULL;
    int nrows = 0;
    const char *ref = stats_str(c, "ref-group"), *levels = stats_str(c, "levels");
    char **want = NULL;
    int nwant = 0;
    if (!s && ref && levels)
        s = dolor_error(DOLOR_EINVAL, "give --levels or --ref-group, not both");
    if (!s && levels)
        s = dolor_cli_split_list("--levels", levels, &want, &nwant);
    if (!s && !group)
        s = dolor_error(DOLOR_EINVAL, "--group COLUMN is required");
    if (!s && !vlist && !nch)
        s = dolor_error(DOLOR_EINVAL, "--vars (e.g. age:c,sex:cat,grade:ord) or --change is required");
    if (!s && vlist)
        s = dolor_cli_split_list("--vars", vlist, &items, &ni);
    if (!s) {
        vars = calloc((size_t)(ni ? ni : 1), sizeof *vars);
        ch = calloc((size_t)(nch ? nch : 1), sizeof *ch);
        fus = calloc((size_t)(nch ? nch : 1), sizeof *fus);
        if (!vars || !ch || !fus)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    if (!s)
        s = parse_vars(c, items, ni, vars);
    for (int k = 0; !s && k < nch; k++) {
        char *eq = strchr(chs[k], '=');
        if (!eq || eq == chs[k]) {
            s = dolor_error(DOLOR_EINVAL, "--change: '%s' is not BASELINE=FOLLOWUP1,FOLLOWUP2", chs[k]);
            break;
        }
        if (!(chcopy[k] = strdup(chs[k]))) {
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
            break;
        }
        chcopy[k][eq - chs[k]] = 0;
        int nf;
        if ((s = dolor_cli_split_list("--change", eq + 1, &fus[k], &nf)))
            break;
        ch[k].baseline = chcopy[k];
        ch[k].followup = (const char *const *)fus[k];
        ch[k].nfollowup = nf;
    }
    if (!s) {
        dolor_table1_spec sp = {.group = group,
                                .vars = vars,
                                .nvars = ni,
                                .changes = ch,
                                .nchanges = nch,
                                .alpha = alpha,
                                .digits = (int)decimals,
                                .qtype = (dolor_quantile_type)quantile,
                                .spss = spss,
                                .p_digits = c->digits,
                                .levels = ref ? &ref : (const char *const *)want,
                                .nlevels = ref ? 1 : nwant,
                                .levels_only = levels != NULL};
        s = dolor_table1_build(d.csv, &sp, &mt, &ct, &rows, &nrows);
    }
    for (int i = 0; !s && i < nrows; i++) {
        const dolor_table1_row *r = &rows[i];
        if (r->p >= alpha && r->p_one_sided < alpha)
            out_warn(c, "%s: only the one-sided p (%s) is below %g; the two-sided p is %s", r->label,
                     fmt_p(r->p_one_sided), alpha, fmt_p(r->p));
        out_record(c);
        out_str(c, "label", r->label);
        out_str(c, "test", dolor_test_kind_name(r->test));
        out_str(c, "variant", r->variant);
        out_pval(c, "p", r->p);
        out_pval(c, "p_one_sided", r->p_one_sided);
    }
    if (!s && c->format != STATS_JSON) {
        /* text, md and csv are the rendered tables: the buffer holds the output */
        dolor_table_format fmt = c->format == STATS_CSV        ? DOLOR_TABLE_CSV
                                 : c->format == STATS_MARKDOWN ? DOLOR_TABLE_MARKDOWN
                                                               : DOLOR_TABLE_TEXT;
        int separate = fmt == DOLOR_TABLE_CSV && ct && out;
        s = dolor_table_write(mt, fmt, c->fp);
        if (!s && ct && !separate) {
            fputc('\n', c->fp);
            s = dolor_table_write(ct, fmt, c->fp);
        }
        if (!s && separate)
            s = write_change_csv(c, out, ct);
        c->format = STATS_TEXT;
    }
    dolor_table1_rows_free(rows, nrows);
    dolor_table_free(mt);
    dolor_table_free(ct);
    dolor_cli_free_list(items);
    dolor_cli_free_list(want);
    for (int k = 0; k < nch; k++) {
        if (fus)
            dolor_cli_free_list(fus[k]);
        free(chcopy[k]);
    }
    free(fus);
    free(vars);
    free(ch);
    return stats_done(c, s, &d);
}

static const dolor_opt_spec table_opts[] = {
    {.name = "group", .type = OPT_STR, .metavar = "COL", .help = "group column (2 or more levels)"},
    {.name = "vars", .type = OPT_LIST, .metavar = "COL:TYPE,...", .help = "COLUMN:TYPE,... with TYPE c (continuous), cat or ord (ordinal)"},
    {.name = "label", .type = OPT_STR, .metavar = "COL=Text", .help = "COLUMN=Text: the row's label (repeatable)"},
    {.name = "change", .type = OPT_STR, .metavar = "BASE=FU1,FU2",
     .help = "BASELINE=FOLLOWUP1,FOLLOWUP2: within-group changes from baseline (repeatable)"},
    {.name = "spss", .type = OPT_FLAG,
     .help = "SPSS preset: rank tests by SPSS's Asymp. Sig. (no continuity correction), SPSS quartiles"},
    {.name = "ref-group", .type = OPT_STR, .metavar = "NAME",
     .help = "the group of the first column (one-sided p and their warnings refer to it); default: R's factor order"},
    {.name = "levels", .type = OPT_LIST, .metavar = "A,B", .help = "the groups to compare, in this order"},
    {.name = "alpha", .type = OPT_NUM, .def = "0.05", .help = "level of the Shapiro-Wilk and Levene decisions, 0 < alpha <= 0.5"},
    {.name = "decimals", .type = OPT_INT, .def = "1", DOLOR_OPT_RANGE(0, 10), .help = "decimals of the summaries"},
    {.name = "quantile", .type = OPT_INT, .def = "7; 6 with --spss", DOLOR_OPT_RANGE(6, 7),
     .help = "quartiles: 7 (R) or 6 (SPSS)"},
    {.name = "format", .type = OPT_STR, .metavar = "text|md|csv|json", .def = "text",
     .help = "csv: with --change and --out the changes go to FILE's stem + _change.csv; json: the tests and "
             "p-values"},
    {.name = "digits", .type = OPT_INT, DOLOR_OPT_RANGE(1, 17),
     .help = "significant digits of the P values (default: journal style 0.477, <0.001; 17 in json)"},
    STATS_OPT_OUT,
};

const stats_cmd stats_cmd_table = {
    .name = "table",
    .topic = "study tables",
    .usage = "FILE.csv --group G --vars age:c,sex:cat,grade:ord [--label col=Text]... [--change base=fu1,fu2]...\n"
             "       [--spss] [--format text|md|csv|json] [--out FILE]",
    .summary = "Table 1: characteristics by group with the test chosen per variable, changes from baseline",
    .details = "Continuous: Shapiro-Wilk in every group, then Student / Welch t by Levene (ANOVA / Welch ANOVA for\n"
               "3+ groups), else Mann-Whitney U (Kruskal-Wallis). Categorical: Pearson chi-square, Fisher exact when\n"
               "an expected count < 5. Ordinal: Mann-Whitney U / Kruskal-Wallis. The footnotes name the exact\n"
               "variant of every test. See docs/stats.md.\n",
    .opts = table_opts,
    .nopts = sizeof table_opts / sizeof *table_opts,
    .npos_min = 1,
    .npos_max = 1,
    .formats = STATS_FORMATS | (1 << STATS_MARKDOWN),
    .run = run_table,
};
