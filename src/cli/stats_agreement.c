/* dolor stats kappa | icc: agreement between raters. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_cli.h"

static dolor_status parse_categories(const char *cats, double **out, int *k)
{
    *out = NULL;
    *k = 0;
    if (!cats)
        return DOLOR_OK;
    char **items;
    dolor_status s = dolor_cli_split_list("--categories", cats, &items, k);
    if (s)
        return s;
    double *v = malloc((size_t)*k * sizeof *v);
    if (!v)
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
    for (int i = 0; !s && i < *k; i++)
        s = dolor_cli_parse_double("--categories", items[i], -HUGE_VAL, HUGE_VAL, &v[i]);
    dolor_cli_free_list(items);
    if (s) {
        free(v);
        *k = 0;
        return s;
    }
    *out = v;
    return DOLOR_OK;
}

static int run_kappa(stats_ctx *c)
{
    const char *c1 = stats_str(c, "r1"), *c2 = stats_str(c, "r2"), *wts = stats_str(c, "weights");
    double conf, *catv = NULL, *a = NULL, *b = NULL;
    int k = 0, wsel[3] = {0, 0, 0};
    stats_data d;
    memset(&d, 0, sizeof d);
    dolor_status s = stats_conf(c, &conf);
    if (!s && (!c1 || !c2))
        s = dolor_error(DOLOR_EINVAL, "--r1 and --r2 are required");
    if (!s) {
        if (!wts || !strcmp(wts, "all"))
            wsel[0] = wsel[1] = wsel[2] = 1;
        else if (!strcmp(wts, "unweighted") || !strcmp(wts, "none"))
            wsel[0] = 1;
        else if (!strcmp(wts, "linear"))
            wsel[1] = 1;
        else if (!strcmp(wts, "quadratic"))
            wsel[2] = 1;
        else
            s = dolor_error(DOLOR_EINVAL, "--weights: '%s' is not unweighted, linear, quadratic or all", wts);
    }
    if (!s)
        s = parse_categories(stats_str(c, "categories"), &catv, &k);
    if (!s)
        s = stats_load(c, &d, 0);
    if (!s)
        s = stats_column_complete(d.csv, c1, &a);
    if (!s)
        s = stats_column_complete(d.csv, c2, &b);
    if (!s) {
        fprintf(c->fp, "Cohen's kappa: rater 1 = %s, rater 2 = %s, n = %zu\n", c1, c2, d.csv->nrow);
        fprintf(c->fp, "%-11s %10s %10s %10s %10s   %-23s %9s %10s\n", "weights", "kappa", "po", "pe", "SE", "CI", "z",
                "p");
    }
    for (int w = 0; !s && w < 3; w++) {
        if (!wsel[w])
            continue;
        dolor_kappa_result r;
        if ((s = dolor_kappa_compute_ratings(a, b, d.csv->nrow, catv, k, (dolor_kappa_weights)w, conf, &r)))
            break;
        char ci[64];
        snprintf(ci, sizeof ci, "%s .. %s", fmt_fixed(r.ci_lower, 6), fmt_fixed(r.ci_upper, 6));
        fprintf(c->fp, "%-11s %10s %10s %10s %10s   %-23s %9s %10s\n", dolor_kappa_weights_name(r.weights),
                fmt_fixed(r.kappa, 6), fmt_fixed(r.po, 6), fmt_fixed(r.pe, 6), fmt_fixed(r.se, 6), ci,
                fmt_fixed(r.z, 4), fmt_p(r.p_value));
        out_record(c);
        out_str(c, "weights", dolor_kappa_weights_name(r.weights));
        out_num(c, "kappa", r.kappa);
        out_num(c, "po", r.po);
        out_num(c, "pe", r.pe);
        out_num(c, "se", r.se);
        out_num(c, "se0", r.se0);
        out_num(c, "ci_lower", r.ci_lower);
        out_num(c, "ci_upper", r.ci_upper);
        out_num(c, "z", r.z);
        out_pval(c, "p", r.p_value);
        out_num(c, "n", r.n);
    }
    if (!s)
        fprintf(c->fp, "%g%% CI = kappa -/+ z * SE (Fleiss, Cohen & Everitt 1969); z, p: H0 kappa = 0 (null SE)\n",
                conf * 100);
    free(a);
    free(b);
    free(catv);
    return stats_done(c, s, &d);
}

static int run_icc(stats_ctx *c)
{
    const char *cols = stats_str(c, "cols");
    double conf, *m = NULL;
    stats_data d;
    memset(&d, 0, sizeof d);
    char **names = NULL;
    int k = 0;
    dolor_status s = stats_conf(c, &conf);
    if (!s)
        s = stats_load(c, &d, 0);
    if (!s && cols)
        s = dolor_cli_split_list("--cols", cols, &names, &k);
    else if (!s) {
        k = d.csv->ncol;
        names = calloc((size_t)k + 1, sizeof *names);
        for (int i = 0; names && i < k; i++)
            names[i] = strdup(d.csv->names[i]);
        if (!names)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    if (!s && k < 2)
        s = dolor_error(DOLOR_EINVAL, "ICC needs at least 2 rater columns (got %d)", k);
    if (!s && !(m = malloc(d.csv->nrow * (size_t)k * sizeof *m + 1)))
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
    for (int j = 0; !s && j < k; j++) {
        double *v;
        if ((s = stats_column_complete(d.csv, names[j], &v)))
            break;
        for (size_t i = 0; i < d.csv->nrow; i++)
            m[i * (size_t)k + (size_t)j] = v[i];
        free(v);
    }
    dolor_icc_result r;
    if (!s)
        s = dolor_icc_compute(m, d.csv->nrow, (size_t)k, conf, &r);
    if (!s) {
        fprintf(c->fp, "Intraclass correlation coefficients (Shrout & Fleiss; psych::ICC, lmer = FALSE)\n");
        fprintf(c->fp, "subjects = %zu, raters = %zu; MSB = %s, MSJ = %s, MSE = %s, MSW = %s\n\n", r.n, r.k,
                fmt_sig(r.msb, 7), fmt_sig(r.msj, 7), fmt_sig(r.mse, 7), fmt_sig(r.msw, 7));
        fprintf(c->fp, "%-6s %10s %10s %5s %7s %10s %10s %10s\n", "type", "ICC", "F", "df1", "df2", "p", "lower",
                "upper");
        for (int i = 0; i < 6; i++) {
            const dolor_icc_row *x = &r.icc[i];
            fprintf(c->fp, "%-6s %10s %10s %5g %7g %10s %10s %10s\n", dolor_icc_type_name((dolor_icc_type)i),
                    fmt_fixed(x->icc, 6), fmt_fixed(x->f, 4), x->df1, x->df2, fmt_p(x->p_value),
                    fmt_fixed(x->ci_lower, 6), fmt_fixed(x->ci_upper, 6));
            out_record(c);
            out_str(c, "type", dolor_icc_type_name((dolor_icc_type)i));
            out_num(c, "icc", x->icc);
            out_num(c, "F", x->f);
            out_num(c, "df1", x->df1);
            out_num(c, "df2", x->df2);
            out_pval(c, "p", x->p_value);
            out_num(c, "ci_lower", x->ci_lower);
            out_num(c, "ci_upper", x->ci_upper);
        }
        fprintf(c->fp, "\n%g%% confidence bounds; ICC2 bounds by McGraw & Wong (1996) as in psych\n", conf * 100);
    }
    dolor_cli_free_list(names);
    free(m);
    return stats_done(c, s, &d);
}

static const dolor_opt_spec kappa_opts[] = {
    {.name = "r1", .type = OPT_STR, .metavar = "COL", .help = "column of rater 1"},
    {.name = "r2", .type = OPT_STR, .metavar = "COL", .help = "column of rater 2"},
    {.name = "weights", .type = OPT_STR, .metavar = "unweighted|linear|quadratic|all", .def = "all",
     .help = "agreement weights"},
    {.name = "categories", .type = OPT_LIST, .help = "the ordered categories (default: the sorted ratings seen)"},
    STATS_OPT_CONF,
    STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_kappa = {
    .name = "kappa",
    .topic = "agreement",
    .usage = "FILE.csv --r1 COL --r2 COL [--weights unweighted|linear|quadratic|all] [--categories 1,2,3]",
    .summary = "Cohen's kappa of two raters, unweighted and weighted (vcd::Kappa, psych::cohen.kappa)",
    .details = "Fleiss-Cohen-Everitt (1969) standard error (= vcd::Kappa / SAS PROC FREQ). Linear weights\n"
               "1-|i-j|/(K-1), quadratic 1-(i-j)^2/(K-1)^2 over the ordered categories. z and p test kappa = 0\n"
               "with the null SE.\n",
    .opts = kappa_opts,
    .nopts = sizeof kappa_opts / sizeof *kappa_opts,
    .npos_min = 1,
    .npos_max = 1,
    .formats = STATS_FORMATS,
    .run = run_kappa,
};

static const dolor_opt_spec icc_opts[] = {
    {.name = "cols", .type = OPT_LIST, .help = "rater columns R1,R2,... (default: every column)"},
    STATS_OPT_CONF,
    STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_icc = {
    .name = "icc",
    .topic = "agreement",
    .usage = "FILE.csv [--cols R1,R2,R3] [--conf 0.95]",
    .summary = "the six Shrout-Fleiss intraclass correlations with F tests and CIs (psych::ICC, lmer = FALSE)",
    .details = "Rows = subjects, rater columns = raters. ICC2 = ICC(2,1), two-way random, absolute agreement,\n"
               "single rater.\n",
    .opts = icc_opts,
    .nopts = sizeof icc_opts / sizeof *icc_opts,
    .npos_min = 1,
    .npos_max = 1,
    .formats = STATS_FORMATS,
    .run = run_icc,
};
