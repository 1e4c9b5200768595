/* dolor stats diag | roc | delong: diagnostic accuracy from a 2x2 table, ROC curves and DeLong's test. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_cli.h"

static void print_prop(stats_ctx *c, const char *name, const dolor_prop_ci *p)
{
    fprintf(c->fp, "%-12s %6zu/%-6zu %9s   %s .. %s\n", name, p->x, p->n, fmt_fixed(p->estimate, 4),
            fmt_fixed(p->lower, 4), fmt_fixed(p->upper, 4));
    out_record(c);
    out_str(c, "measure", name);
    out_int(c, "x", (long)p->x);
    out_int(c, "n", (long)p->n);
    out_num(c, "estimate", p->estimate);
    out_num(c, "ci_lower", p->lower);
    out_num(c, "ci_upper", p->upper);
}

static int run_diag(stats_ctx *c)
{
    static const char *cnames[4] = {"tp", "fp", "fn", "tn"};
    const char *tcol = stats_str(c, "truth"), *xcol = stats_str(c, "test"), *ci = stats_str(c, "ci");
    long cnt[4] = {-1, -1, -1, -1};
    size_t tp = 0, fp = 0, fn = 0, tn = 0;
    dolor_ci_method method = DOLOR_CI_WILSON;
    double conf, *a = NULL, *b = NULL;
    stats_data d;
    memset(&d, 0, sizeof d);
    dolor_status s = stats_conf(c, &conf);
    for (int i = 0; !s && i < 4; i++)
        s = stats_long(c, cnames[i], -1, 0, 1000000000L, &cnt[i]);
    if (!s && ci)
        s = dolor_ci_method_parse(ci, &method);
    if (!s && c->file)
        s = stats_reject(c, "with a CSV file (--truth, --test)", "tp", "fp", "fn", "tn", NULL);
    else if (!s)
        s = stats_reject(c, "without a CSV file", "truth", "test", NULL);
    if (!s && c->file) {
        if (!tcol || !xcol)
            s = dolor_error(DOLOR_EINVAL, "--truth and --test are required with a CSV file");
        if (!s)
            s = stats_load(c, &d, 0);
        if (!s)
            s = stats_column_complete(d.csv, tcol, &a);
        if (!s)
            s = stats_column_complete(d.csv, xcol, &b);
        if (!s && (s = dolor_diag_tabulate(a, b, d.csv->nrow, &tp, &fp, &fn, &tn)))
            dolor_error_prefix(s, "%s", c->file);
    } else if (!s) {
        for (int i = 0; !s && i < 4; i++)
            if (cnt[i] < 0)
                s = dolor_error(DOLOR_EINVAL, "give --tp, --fp, --fn and --tn, or a CSV file");
        tp = (size_t)cnt[0], fp = (size_t)cnt[1], fn = (size_t)cnt[2], tn = (size_t)cnt[3];
    }
    dolor_diag_result r;
    if (!s)
        s = dolor_diag_compute(tp, fp, fn, tn, conf, method, &r);
    if (!s) {
        fprintf(c->fp, "Diagnostic accuracy: TP = %zu, FP = %zu, FN = %zu, TN = %zu (N = %zu)\n", tp, fp, fn, tn,
                tp + fp + fn + tn);
        fprintf(c->fp, "%-12s %13s %9s   %g%% CI (%s)\n", "measure", "x/n", "estimate", conf * 100,
                dolor_ci_method_name(method));
        print_prop(c, "sensitivity", &r.sensitivity);
        print_prop(c, "specificity", &r.specificity);
        print_prop(c, "PPV", &r.ppv);
        print_prop(c, "NPV", &r.npv);
        print_prop(c, "accuracy", &r.accuracy);
        fprintf(c->fp, "prevalence %s, LR+ %s, LR- %s, Youden J %s\n", fmt_fixed(r.prevalence, 4),
                fmt_sig(r.lr_pos, 4), fmt_sig(r.lr_neg, 4), fmt_fixed(r.youden, 4));
        static const char *more[4] = {"prevalence", "LR+", "LR-", "Youden J"};
        const double mv[4] = {r.prevalence, r.lr_pos, r.lr_neg, r.youden};
        for (int i = 0; i < 4; i++) {
            out_record(c);
            out_str(c, "measure", more[i]);
            out_num(c, "estimate", mv[i]);
        }
    }
    free(a);
    free(b);
    return stats_done(c, s, &d);
}

static dolor_status write_curve(const char *path, const dolor_roc *r)
{
    dolor_outfile f;
    dolor_status s = dolor_outfile_open(&f, path, 1);
    if (s)
        return s;
    fprintf(f.fp, "threshold,sensitivity,specificity\n");
    for (size_t i = 0; i < r->n_thresholds; i++) {
        double th = r->thresholds[i];
        if (isinf(th))
            fprintf(f.fp, "%sInf,%.17g,%.17g\n", th < 0 ? "-" : "", r->sensitivity[i], r->specificity[i]);
        else
            fprintf(f.fp, "%.17g,%.17g,%.17g\n", th, r->sensitivity[i], r->specificity[i]);
    }
    return dolor_outfile_commit(&f);
}

static int run_roc_common(stats_ctx *c, int two)
{
    const char *tcol = stats_str(c, "truth"), *s1 = stats_str(c, two ? "score1" : "score");
    const char *s2 = two ? stats_str(c, "score2") : NULL, *dirs = stats_str(c, "direction");
    const char *curve = two ? NULL : stats_str(c, "curve");
    int unpaired = two ? stats_flag(c, "unpaired", 0) : 0;
    dolor_roc_direction dir = DOLOR_ROC_LT;
    double conf, *y = NULL, *a = NULL, *b = NULL;
    dolor_roc *ra = NULL, *rb = NULL;
    stats_data d;
    memset(&d, 0, sizeof d);
    dolor_status s = stats_conf(c, &conf);
    if (!s && dirs)
        s = dolor_roc_direction_parse(dirs, &dir);
    if (!s && (!tcol || !s1 || (two && !s2)))
        s = dolor_error(DOLOR_EINVAL, two ? "--truth, --score1 and --score2 are required"
                                          : "--truth and --score are required");
    if (!s)
        s = stats_load(c, &d, 0);
    if (!s)
        s = stats_column_complete(d.csv, tcol, &y);
    if (!s)
        s = stats_column_complete(d.csv, s1, &a);
    if (!s && two)
        s = stats_column_complete(d.csv, s2, &b);
    if (!s && (s = dolor_roc_create(y, a, d.csv->nrow, dir, &ra)))
        dolor_error_prefix(s, "%s: column '%s'", c->file, s1);
    if (!s && two && (s = dolor_roc_create(y, b, d.csv->nrow, dir, &rb)))
        dolor_error_prefix(s, "%s: column '%s'", c->file, s2);
    const dolor_roc *rs[2] = {ra, rb};
    const char *nm[2] = {s1, s2};
    for (int i = 0; !s && i < (two ? 2 : 1); i++) {
        double lo, hi;
        dolor_roc_ci(rs[i], conf, &lo, &hi);
        fprintf(c->fp, "ROC of %s: %zu cases (%s = 1), %zu controls (%s = 0), direction: controls %s cases\n", nm[i],
                rs[i]->n_cases, tcol, rs[i]->n_controls, tcol, dolor_roc_direction_name(rs[i]->direction));
        fprintf(c->fp, "  AUC %s, DeLong variance %s (SE %s), %g%% CI %s .. %s\n", fmt_sig(rs[i]->auc, 7),
                fmt_sig(rs[i]->var_delong, 7), fmt_sig(sqrt(rs[i]->var_delong), 7), conf * 100, fmt_sig(lo, 7),
                fmt_sig(hi, 7));
        out_record(c);
        out_str(c, "score", nm[i]);
        out_int(c, "cases", (long)rs[i]->n_cases);
        out_int(c, "controls", (long)rs[i]->n_controls);
        out_str(c, "direction", dolor_roc_direction_name(rs[i]->direction));
        out_num(c, "auc", rs[i]->auc);
        out_num(c, "var_delong", rs[i]->var_delong);
        out_num(c, "ci_lower", lo);
        out_num(c, "ci_upper", hi);
    }
    if (!s && two) {
        dolor_delong_test t;
        s = dolor_roc_test_delong(ra, rb, !unpaired, &t);
        if (!s) {
            fprintf(c->fp, "\n%s DeLong's test for two ROC curves\n", unpaired ? "Unpaired" : "Paired");
            fprintf(c->fp, "Z = %s, p-value = %s (two-sided); AUC difference %s", fmt_sig(t.z, 7), fmt_p(t.p_value),
                    fmt_sig(t.auc1 - t.auc2, 7));
            if (!unpaired)
                fprintf(c->fp, ", covariance %s", fmt_sig(t.cov, 7));
            fprintf(c->fp, "\n");
            out_record(c);
            out_str(c, "test", unpaired ? "unpaired DeLong" : "paired DeLong");
            out_num(c, "z", t.z);
            out_pval(c, "p", t.p_value);
            out_num(c, "auc_difference", t.auc1 - t.auc2);
            if (!unpaired)
                out_num(c, "covariance", t.cov);
        }
    }
    if (!s && curve) {
        s = write_curve(curve, ra);
        if (!s)
            fprintf(stderr, "dolor %s: curve (%zu thresholds) written to %s\n", c->name, ra->n_thresholds, curve);
    }
    dolor_roc_free(ra);
    dolor_roc_free(rb);
    free(y), free(a), free(b);
    return stats_done(c, s, &d);
}

static int run_roc(stats_ctx *c)
{
    return run_roc_common(c, 0);
}

static int run_delong(stats_ctx *c)
{
    return run_roc_common(c, 1);
}

static const dolor_opt_spec diag_opts[] = {
    {.name = "tp", .type = OPT_INT, .help = "true positives (test +, reference +)"},
    {.name = "fp", .type = OPT_INT, .help = "false positives (test +, reference -)"},
    {.name = "fn", .type = OPT_INT, .help = "false negatives (test -, reference +)"},
    {.name = "tn", .type = OPT_INT, .help = "true negatives (test -, reference -)"},
    {.name = "truth", .type = OPT_STR, .metavar = "COL", .help = "column of the reference standard, 0/1 (1 = disease present)"},
    {.name = "test", .type = OPT_STR, .metavar = "COL", .help = "column of the index test, 0/1 (1 = positive)"},
    {.name = "ci", .type = OPT_STR, .metavar = "wilson|wilson-cc|clopper-pearson", .def = "wilson",
     .help = "confidence intervals of the proportions"},
    STATS_OPT_CONF,
    STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_diag = {
    .name = "diag",
    .topic = "diagnostic accuracy and ROC",
    .usage = "--tp N --fp N --fn N --tn N | FILE.csv --truth COL --test COL [--ci wilson|wilson-cc|clopper-pearson]",
    .summary = "sensitivity, specificity, PPV, NPV, accuracy with CIs (R prop.test / binom.test), LR+, LR-",
    .details = "wilson = prop.test(correct = FALSE), wilson-cc = prop.test(correct = TRUE), clopper-pearson =\n"
               "binom.test.\n",
    .opts = diag_opts,
    .nopts = sizeof diag_opts / sizeof *diag_opts,
    .npos_min = 0,
    .npos_max = 1,
    .formats = STATS_FORMATS,
    .run = run_diag,
};

static const dolor_opt_spec roc_opts[] = {
    {.name = "truth", .type = OPT_STR, .help = "column: 0 = control, 1 = case"},
    {.name = "score", .type = OPT_STR, .help = "column of the marker"},
    {.name = "direction", .type = OPT_STR,
     .help = "'<' (default: higher scores mean cases), '>' or auto (pROC's median rule; AUC >= 0.5)"},
    {.name = "curve", .type = OPT_STR, .metavar = "FILE.csv",
     .help = "write the curve (threshold, sensitivity, specificity) to FILE.csv"},
    STATS_OPT_CONF,
    STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_roc = {
    .name = "roc",
    .topic = "diagnostic accuracy and ROC",
    .usage = "FILE.csv --truth COL --score COL [--direction '<'|'>'|auto] [--curve OUT.csv]",
    .summary = "ROC curve, AUC with DeLong variance and CI (pROC roc, ci.auc(method = \"delong\"))",
    .opts = roc_opts,
    .nopts = sizeof roc_opts / sizeof *roc_opts,
    .npos_min = 1,
    .npos_max = 1,
    .formats = STATS_FORMATS,
    .run = run_roc,
};

static const dolor_opt_spec delong_opts[] = {
    {.name = "truth", .type = OPT_STR, .help = "column: 0 = control, 1 = case"},
    {.name = "score1", .type = OPT_STR, .help = "column of the first marker"},
    {.name = "score2", .type = OPT_STR, .help = "column of the second marker"},
    {.name = "direction", .type = OPT_STR, .help = "'<' (default), '>' or auto"},
    {.name = "unpaired", .type = OPT_FLAG, .help = "the two AUCs are independent (different subjects)"},
    STATS_OPT_CONF,
    STATS_OUTPUT_OPTS,
};

const stats_cmd stats_cmd_delong = {
    .name = "delong",
    .topic = "diagnostic accuracy and ROC",
    .usage = "FILE.csv --truth COL --score1 COL --score2 COL [--direction '<'|'>'|auto] [--unpaired]",
    .summary = "DeLong test of two AUCs on the same subjects (pROC roc.test(method = \"delong\", paired = TRUE))",
    .opts = delong_opts,
    .nopts = sizeof delong_opts / sizeof *delong_opts,
    .npos_min = 1,
    .npos_max = 1,
    .formats = STATS_FORMATS,
    .run = run_delong,
};
