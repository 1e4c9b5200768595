/* dolor stats subcommands of section (B): kappa, icc, diag, roc, delong,
 * samplesize, randomise, score. Called by cmd_stats.c (section A) through
 * dolor_cli_stats_extra() for subcommands it does not know itself. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "dolor/clinical.h"
#include "dolor/stats.h"

int dolor_cli_stats_extra(int argc, char **argv);

/* ------------------------------------------------------------------ CSV */

/* A view of a table read by the stats module's CSV reader (dolor_csv_read:
 * RFC 4180 quoting, CRLF/LF, empty or NA = missing), with missing cells as "". */
typedef struct {
    const char *path;
    int ncol;
    char **names; /* [ncol], owned by src */
    size_t nrow;
    const char **cells; /* [nrow * ncol], "" = missing */
    dolor_csv *src;
} sb_csv;

static void sb_csv_free(sb_csv *t)
{
    if (!t)
        return;
    free(t->cells);
    dolor_csv_free(t->src);
    memset(t, 0, sizeof *t);
}

static dolor_status sb_csv_read(const char *path, sb_csv *t)
{
    memset(t, 0, sizeof *t);
    t->path = path;
    dolor_status st = dolor_csv_read(path, &t->src);
    if (st)
        return st;
    t->ncol = t->src->ncol;
    t->names = t->src->names;
    t->nrow = t->src->nrow;
    size_t n = t->nrow * (size_t)t->ncol;
    t->cells = malloc((n ? n : 1) * sizeof *t->cells);
    if (!t->cells) {
        sb_csv_free(t);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        t->cells[i] = t->src->cells[i] ? t->src->cells[i] : "";
    return DOLOR_OK;
}

static int sb_csv_find(const sb_csv *t, const char *name)
{
    for (int i = 0; i < t->ncol; i++)
        if (!strcmp(t->names[i], name))
            return i;
    return -1;
}

static dolor_status sb_no_column(const sb_csv *t, const char *name)
{
    char list[512] = "";
    size_t used = 0;
    for (int i = 0; i < t->ncol && used < sizeof list - 8; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", t->names[i]);
    return dolor_error(DOLOR_ENOTFOUND, "%s: no column '%s' (columns: %s)", t->path, name, list);
}

static int sb_is_missing(const char *s)
{
    return !*s || !strcmp(s, "NA");
}

/* numeric column; blank/"NA" -> NaN when allow_missing, else an error */
static dolor_status sb_csv_col(const sb_csv *t, const char *name, int allow_missing, double **out)
{
    *out = NULL;
    int c = sb_csv_find(t, name);
    if (c < 0)
        return sb_no_column(t, name);
    if (t->nrow == 0)
        return dolor_error(DOLOR_ENUMERIC, "%s: no data rows", t->path);
    double *v = malloc(t->nrow * sizeof *v);
    if (!v)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    for (size_t r = 0; r < t->nrow; r++) {
        const char *s = t->cells[r * (size_t)t->ncol + (size_t)c];
        if (sb_is_missing(s)) {
            if (allow_missing) {
                v[r] = NAN;
                continue;
            }
            free(v);
            return dolor_error(DOLOR_ENUMERIC, "%s: column '%s', row %zu is empty", t->path, name, r + 1);
        }
        char *end;
        errno = 0;
        double x = strtod(s, &end);
        if (end == s || *end || errno == ERANGE || !isfinite(x)) {
            free(v);
            return dolor_error(DOLOR_EFORMAT, "%s: column '%s', row %zu: '%s' is not a finite number", t->path, name,
                               r + 1, s);
        }
        v[r] = x;
    }
    *out = v;
    return DOLOR_OK;
}

/* ------------------------------------------------------------------ printing helpers */

static void sb_pval(char *buf, size_t n, double p)
{
    if (isnan(p))
        snprintf(buf, n, "NA");
    else if (p < 2.2e-16)
        snprintf(buf, n, "< 2.2e-16");
    else
        snprintf(buf, n, "%.4g", p);
}


/* common parsing of --conf */
static dolor_status sb_conf(const char *cmd, const char *s, double *conf)
{
    (void)cmd;
    return dolor_cli_parse_double("--conf", s, 1e-9, 1 - 1e-9, conf);
}

/* ------------------------------------------------------------------ kappa */

static int cmd_kappa(int argc, char **argv)
{
    const char *cmd = "stats kappa";
    static const struct option opts[] = {{"r1", required_argument, 0, '1'},   {"r2", required_argument, 0, '2'},
                                         {"weights", required_argument, 0, 'w'}, {"categories", required_argument, 0, 'c'},
                                         {"conf", required_argument, 0, 'C'},  {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *c1 = NULL, *c2 = NULL, *wts = "all", *cats = NULL;
    double conf = 0.95;
    dolor_status s;
    int o;
    optind = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case '1': c1 = optarg; break;
        case '2': c2 = optarg; break;
        case 'w': wts = optarg; break;
        case 'c': cats = optarg; break;
        case 'C':
            if ((s = sb_conf(cmd, optarg, &conf)))
                return dolor_cli_fail(cmd, s);
            break;
        case 'h':
            printf("usage: dolor stats kappa FILE.csv --r1 COL --r2 COL [--weights unweighted|linear|quadratic|all]\n"
                   "                         [--categories 1,2,3,4] [--conf 0.95]\n"
                   "Cohen's kappa of two raters with the Fleiss-Cohen-Everitt (1969) standard error\n"
                   "(= vcd::Kappa / SAS PROC FREQ; psych::cohen.kappa for the unweighted kappa).\n"
                   "Linear weights 1-|i-j|/(K-1), quadratic 1-(i-j)^2/(K-1)^2 over the ordered categories\n"
                   "(default: the sorted distinct ratings). z and p test kappa = 0 with the null SE.\n");
            return DOLOR_EXIT_OK;
        default: return dolor_cli_usage_error(cmd, "unknown option");
        }
    }
    if (optind != argc - 1)
        return dolor_cli_usage_error(cmd, "expected one CSV file");
    if (!c1 || !c2)
        return dolor_cli_usage_error(cmd, "--r1 and --r2 are required");
    int wsel[3] = {0, 0, 0};
    if (!strcmp(wts, "all"))
        wsel[0] = wsel[1] = wsel[2] = 1;
    else if (!strcmp(wts, "unweighted") || !strcmp(wts, "none"))
        wsel[0] = 1;
    else if (!strcmp(wts, "linear"))
        wsel[1] = 1;
    else if (!strcmp(wts, "quadratic"))
        wsel[2] = 1;
    else
        return dolor_cli_usage_error(cmd, "--weights '%s' is not unweighted, linear, quadratic or all", wts);
    double *catv = NULL;
    int k = 0;
    if (cats) {
        char **items;
        if ((s = dolor_cli_split_list("--categories", cats, &items, &k)))
            return dolor_cli_fail(cmd, s);
        catv = malloc((size_t)k * sizeof *catv);
        for (int i = 0; catv && i < k; i++)
            if ((s = dolor_cli_parse_double("--categories", items[i], -1e300, 1e300, &catv[i]))) {
                dolor_cli_free_list(items);
                free(catv);
                return dolor_cli_fail(cmd, s);
            }
        dolor_cli_free_list(items);
    }
    sb_csv t;
    double *a = NULL, *b = NULL;
    if ((s = sb_csv_read(argv[optind], &t))) {
        free(catv);
        return dolor_cli_fail(cmd, s);
    }
    int rc = DOLOR_EXIT_OK;
    if ((s = sb_csv_col(&t, c1, 0, &a)) || (s = sb_csv_col(&t, c2, 0, &b))) {
        rc = dolor_cli_fail(cmd, s);
        goto out;
    }
    printf("Cohen's kappa: rater 1 = %s, rater 2 = %s, n = %zu\n", c1, c2, t.nrow);
    printf("%-11s %10s %10s %10s %10s   %-23s %9s %10s\n", "weights", "kappa", "po", "pe", "SE", "CI", "z", "p");
    for (int w = 0; w < 3; w++) {
        if (!wsel[w])
            continue;
        dolor_kappa_result r;
        if ((s = dolor_kappa_ratings(a, b, t.nrow, catv, k, (dolor_kappa_weights)w, conf, &r))) {
            rc = dolor_cli_fail(cmd, s);
            goto out;
        }
        char ci[64], p[32];
        snprintf(ci, sizeof ci, "%.6f .. %.6f", r.ci_lower, r.ci_upper);
        sb_pval(p, sizeof p, r.p_value);
        printf("%-11s %10.6f %10.6f %10.6f %10.6f   %-23s %9.4f %10s\n", dolor_kappa_weights_name(r.weights), r.kappa,
               r.po, r.pe, r.se, ci, r.z, p);
    }
    printf("%g%% CI = kappa -/+ z * SE (Fleiss, Cohen & Everitt 1969); z, p: H0 kappa = 0 (null SE)\n", conf * 100);
out:
    free(a);
    free(b);
    free(catv);
    sb_csv_free(&t);
    return rc;
}

/* ------------------------------------------------------------------ icc */

static int cmd_icc(int argc, char **argv)
{
    const char *cmd = "stats icc";
    static const struct option opts[] = {{"cols", required_argument, 0, 'c'},
                                         {"conf", required_argument, 0, 'C'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *cols = NULL;
    double conf = 0.95;
    dolor_status s;
    int o;
    optind = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'c': cols = optarg; break;
        case 'C':
            if ((s = sb_conf(cmd, optarg, &conf)))
                return dolor_cli_fail(cmd, s);
            break;
        case 'h':
            printf("usage: dolor stats icc FILE.csv [--cols R1,R2,R3] [--conf 0.95]\n"
                   "Six Shrout-Fleiss intraclass correlations as psych::ICC(x, lmer = FALSE): rows = subjects,\n"
                   "the rater columns (default: every column) = raters. ICC2 = ICC(2,1), two-way random,\n"
                   "absolute agreement, single rater.\n");
            return DOLOR_EXIT_OK;
        default: return dolor_cli_usage_error(cmd, "unknown option");
        }
    }
    if (optind != argc - 1)
        return dolor_cli_usage_error(cmd, "expected one CSV file");
    sb_csv t;
    if ((s = sb_csv_read(argv[optind], &t)))
        return dolor_cli_fail(cmd, s);
    char **names = NULL;
    int k = 0, rc = DOLOR_EXIT_OK;
    double *m = NULL;
    if (cols) {
        if ((s = dolor_cli_split_list("--cols", cols, &names, &k))) {
            rc = dolor_cli_fail(cmd, s);
            goto out;
        }
    } else {
        k = t.ncol;
        names = calloc((size_t)k + 1, sizeof *names);
        for (int i = 0; names && i < k; i++)
            names[i] = strdup(t.names[i]);
    }
    if (k < 2) {
        rc = dolor_cli_usage_error(cmd, "ICC needs at least 2 rater columns (got %d)", k);
        goto out;
    }
    m = malloc(t.nrow * (size_t)k * sizeof *m + 1);
    for (int j = 0; m && j < k; j++) {
        double *v;
        if ((s = sb_csv_col(&t, names[j], 0, &v))) {
            rc = dolor_cli_fail(cmd, s);
            goto out;
        }
        for (size_t i = 0; i < t.nrow; i++)
            m[i * (size_t)k + (size_t)j] = v[i];
        free(v);
    }
    dolor_icc_result r;
    if ((s = dolor_icc(m, t.nrow, (size_t)k, conf, &r))) {
        rc = dolor_cli_fail(cmd, s);
        goto out;
    }
    printf("Intraclass correlation coefficients (Shrout & Fleiss; psych::ICC, lmer = FALSE)\n");
    printf("subjects = %zu, raters = %zu; MSB = %.7g, MSJ = %.7g, MSE = %.7g, MSW = %.7g\n\n", r.n, r.k, r.msb, r.msj,
           r.mse, r.msw);
    printf("%-6s %10s %10s %5s %7s %10s %10s %10s\n", "type", "ICC", "F", "df1", "df2", "p", "lower", "upper");
    for (int i = 0; i < 6; i++) {
        const dolor_icc_row *x = &r.icc[i];
        char p[32];
        sb_pval(p, sizeof p, x->p_value);
        printf("%-6s %10.6f %10.4f %5g %7g %10s %10.6f %10.6f\n", dolor_icc_type_name((dolor_icc_type)i), x->icc,
               x->f, x->df1, x->df2, p, x->ci_lower, x->ci_upper);
    }
    printf("\n%g%% confidence bounds; ICC2 bounds by McGraw & Wong (1996) as in psych\n", conf * 100);
out:
    dolor_cli_free_list(names);
    free(m);
    sb_csv_free(&t);
    return rc;
}

/* ------------------------------------------------------------------ diag */

static void print_prop(const char *name, const dolor_prop_ci *p)
{
    printf("%-12s %6ld/%-6ld %9.4f   %.4f .. %.4f\n", name, p->x, p->n, p->estimate, p->lower, p->upper);
}

static int cmd_diag(int argc, char **argv)
{
    const char *cmd = "stats diag";
    static const struct option opts[] = {
        {"tp", required_argument, 0, 'a'},   {"fp", required_argument, 0, 'b'},  {"fn", required_argument, 0, 'c'},
        {"tn", required_argument, 0, 'd'},   {"truth", required_argument, 0, 't'}, {"test", required_argument, 0, 'x'},
        {"ci", required_argument, 0, 'm'},   {"conf", required_argument, 0, 'C'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    long cnt[4] = {-1, -1, -1, -1};
    const char *tcol = NULL, *xcol = NULL;
    dolor_ci_method method = DOLOR_CI_WILSON;
    double conf = 0.95;
    dolor_status s;
    int o;
    optind = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'a': case 'b': case 'c': case 'd': {
            static const char *on[4] = {"--tp", "--fp", "--fn", "--tn"};
            if ((s = dolor_cli_parse_int(on[o - 'a'], optarg, 0, 1000000000L, &cnt[o - 'a'])))
                return dolor_cli_fail(cmd, s);
            break;
        }
        case 't': tcol = optarg; break;
        case 'x': xcol = optarg; break;
        case 'm':
            if ((s = dolor_ci_method_parse(optarg, &method)))
                return dolor_cli_fail(cmd, s);
            break;
        case 'C':
            if ((s = sb_conf(cmd, optarg, &conf)))
                return dolor_cli_fail(cmd, s);
            break;
        case 'h':
            printf("usage: dolor stats diag --tp N --fp N --fn N --tn N [--ci wilson|wilson-cc|clopper-pearson]\n"
                   "       dolor stats diag FILE.csv --truth COL --test COL [--ci ...] [--conf 0.95]\n"
                   "Sensitivity, specificity, PPV, NPV and accuracy with CIs: wilson = prop.test(correct=FALSE),\n"
                   "wilson-cc = prop.test(correct=TRUE), clopper-pearson = binom.test. Columns hold 0/1\n"
                   "(truth: 1 = disease present; test: 1 = positive).\n");
            return DOLOR_EXIT_OK;
        default: return dolor_cli_usage_error(cmd, "unknown option");
        }
    }
    long tp, fp, fn, tn;
    if (optind == argc - 1) {
        if (!tcol || !xcol)
            return dolor_cli_usage_error(cmd, "--truth and --test are required with a CSV file");
        sb_csv t;
        if ((s = sb_csv_read(argv[optind], &t)))
            return dolor_cli_fail(cmd, s);
        double *a = NULL, *b = NULL;
        if ((s = sb_csv_col(&t, tcol, 0, &a)) || (s = sb_csv_col(&t, xcol, 0, &b)) ||
            (s = dolor_diag_counts(a, b, t.nrow, &tp, &fp, &fn, &tn))) {
            dolor_error_prefix(s, "%s", argv[optind]);
            free(a), free(b);
            sb_csv_free(&t);
            return dolor_cli_fail(cmd, s);
        }
        free(a), free(b);
        sb_csv_free(&t);
    } else if (optind == argc) {
        for (int i = 0; i < 4; i++)
            if (cnt[i] < 0)
                return dolor_cli_usage_error(cmd, "give --tp, --fp, --fn and --tn, or a CSV file");
        tp = cnt[0], fp = cnt[1], fn = cnt[2], tn = cnt[3];
    } else {
        return dolor_cli_usage_error(cmd, "expected at most one CSV file");
    }
    dolor_diag_result r;
    if ((s = dolor_diag_2x2(tp, fp, fn, tn, conf, method, &r)))
        return dolor_cli_fail(cmd, s);
    printf("Diagnostic accuracy: TP = %ld, FP = %ld, FN = %ld, TN = %ld (N = %ld)\n", tp, fp, fn, tn,
           tp + fp + fn + tn);
    printf("%-12s %13s %9s   %g%% CI (%s)\n", "measure", "x/n", "estimate", conf * 100, dolor_ci_method_name(method));
    print_prop("sensitivity", &r.sensitivity);
    print_prop("specificity", &r.specificity);
    print_prop("PPV", &r.ppv);
    print_prop("NPV", &r.npv);
    print_prop("accuracy", &r.accuracy);
    printf("prevalence %.4f, LR+ %.4g, LR- %.4g, Youden J %.4f\n", r.prevalence, r.lr_pos, r.lr_neg, r.youden);
    return DOLOR_EXIT_OK;
}

/* ------------------------------------------------------------------ roc / delong */

static int cmd_roc_common(int argc, char **argv, int two)
{
    const char *cmd = two ? "stats delong" : "stats roc";
    static const struct option opts[] = {
        {"truth", required_argument, 0, 't'},  {"score", required_argument, 0, 's'},
        {"score1", required_argument, 0, 's'}, {"score2", required_argument, 0, 'S'},
        {"direction", required_argument, 0, 'd'}, {"conf", required_argument, 0, 'C'},
        {"curve", required_argument, 0, 'o'},  {"unpaired", no_argument, 0, 'u'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *tcol = NULL, *s1 = NULL, *s2 = NULL, *curve = NULL;
    dolor_roc_direction dir = DOLOR_ROC_LT;
    double conf = 0.95;
    int unpaired = 0;
    dolor_status s;
    int o;
    optind = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 't': tcol = optarg; break;
        case 's': s1 = optarg; break;
        case 'S': s2 = optarg; break;
        case 'o': curve = optarg; break;
        case 'u': unpaired = 1; break;
        case 'd':
            if ((s = dolor_roc_direction_parse(optarg, &dir)))
                return dolor_cli_fail(cmd, s);
            break;
        case 'C':
            if ((s = sb_conf(cmd, optarg, &conf)))
                return dolor_cli_fail(cmd, s);
            break;
        case 'h':
            if (two)
                printf("usage: dolor stats delong FILE.csv --truth COL --score1 COL --score2 COL\n"
                       "                          [--direction '<'|'>'|auto] [--conf 0.95] [--unpaired]\n"
                       "DeLong test of two correlated AUCs on the same subjects (pROC roc.test(method =\n"
                       "\"delong\", paired = TRUE)); --unpaired treats them as independent.\n");
            else
                printf("usage: dolor stats roc FILE.csv --truth COL --score COL [--direction '<'|'>'|auto]\n"
                       "                       [--conf 0.95] [--curve OUT.csv]\n"
                       "ROC curve (pROC thresholds), AUC with DeLong variance and CI (pROC ci.auc(method =\n"
                       "\"delong\")). truth: 0 = control, 1 = case. Direction '<' (default): higher scores mean\n"
                       "cases; '>' lower; auto: pROC's median rule (always gives AUC >= 0.5: report it).\n");
            return DOLOR_EXIT_OK;
        default: return dolor_cli_usage_error(cmd, "unknown option");
        }
    }
    if (optind != argc - 1)
        return dolor_cli_usage_error(cmd, "expected one CSV file");
    if (!tcol || !s1 || (two && !s2))
        return dolor_cli_usage_error(cmd, two ? "--truth, --score1 and --score2 are required"
                                              : "--truth and --score are required");
    sb_csv t;
    if ((s = sb_csv_read(argv[optind], &t)))
        return dolor_cli_fail(cmd, s);
    double *y = NULL, *a = NULL, *b = NULL;
    dolor_roc *ra = NULL, *rb = NULL;
    int rc = DOLOR_EXIT_OK;
    if ((s = sb_csv_col(&t, tcol, 0, &y)) || (s = sb_csv_col(&t, s1, 0, &a)) ||
        (two && (s = sb_csv_col(&t, s2, 0, &b)))) {
        rc = dolor_cli_fail(cmd, s);
        goto out;
    }
    if ((s = dolor_roc_create(y, a, t.nrow, dir, &ra))) {
        dolor_error_prefix(s, "%s: column '%s'", argv[optind], s1);
        rc = dolor_cli_fail(cmd, s);
        goto out;
    }
    if (two && (s = dolor_roc_create(y, b, t.nrow, dir, &rb))) {
        dolor_error_prefix(s, "%s: column '%s'", argv[optind], s2);
        rc = dolor_cli_fail(cmd, s);
        goto out;
    }
    const dolor_roc *rs[2] = {ra, rb};
    const char *nm[2] = {s1, s2};
    for (int i = 0; i < (two ? 2 : 1); i++) {
        double lo, hi;
        dolor_roc_ci(rs[i], conf, &lo, &hi);
        printf("ROC of %s: %zu cases (%s = 1), %zu controls (%s = 0), direction: controls %s cases\n", nm[i],
               rs[i]->n_cases, tcol, rs[i]->n_controls, tcol, dolor_roc_direction_name(rs[i]->direction));
        printf("  AUC %.7g, DeLong variance %.7g (SE %.7g), %g%% CI %.7g .. %.7g\n", rs[i]->auc, rs[i]->var_delong,
               sqrt(rs[i]->var_delong), conf * 100, lo, hi);
    }
    if (two) {
        dolor_delong_test d;
        if ((s = dolor_roc_test_delong(ra, rb, !unpaired, &d))) {
            rc = dolor_cli_fail(cmd, s);
            goto out;
        }
        char p[32];
        sb_pval(p, sizeof p, d.p_value);
        printf("\n%s DeLong's test for two ROC curves\n", unpaired ? "Unpaired" : "Paired");
        printf("Z = %.7g, p-value = %s (two-sided); AUC difference %.7g", d.z, p, d.auc1 - d.auc2);
        if (!unpaired)
            printf(", covariance %.7g", d.cov);
        printf("\n");
    }
    if (curve) {
        dolor_outfile f;
        if ((s = dolor_outfile_open(&f, curve, 1))) {
            rc = dolor_cli_fail(cmd, s);
            goto out;
        }
        fprintf(f.fp, "threshold,sensitivity,specificity\n");
        for (size_t i = 0; i < ra->n_thresholds; i++)
        {
            double th = ra->thresholds[i];
            if (isinf(th))
                fprintf(f.fp, "%sInf,%.17g,%.17g\n", th < 0 ? "-" : "", ra->sensitivity[i], ra->specificity[i]);
            else
                fprintf(f.fp, "%.17g,%.17g,%.17g\n", th, ra->sensitivity[i], ra->specificity[i]);
        }
        if ((s = dolor_outfile_commit(&f))) {
            rc = dolor_cli_fail(cmd, s);
            goto out;
        }
        printf("curve (%zu thresholds) written to %s\n", ra->n_thresholds, curve);
    }
out:
    dolor_roc_free(ra);
    dolor_roc_free(rb);
    free(y), free(a), free(b);
    sb_csv_free(&t);
    return rc;
}

/* ------------------------------------------------------------------ samplesize */

static dolor_status sb_two_doubles(const char *opt, const char *s, double *a, double *b)
{
    char **it;
    int n;
    dolor_status st = dolor_cli_split_list(opt, s, &it, &n);
    if (st)
        return st;
    if (n != 2) {
        dolor_cli_free_list(it);
        return dolor_error(DOLOR_EINVAL, "%s: expected two comma-separated numbers, got '%s'", opt, s);
    }
    st = dolor_cli_parse_double(opt, it[0], -1e300, 1e300, a);
    if (!st)
        st = dolor_cli_parse_double(opt, it[1], -1e300, 1e300, b);
    dolor_cli_free_list(it);
    return st;
}

static int cmd_samplesize(int argc, char **argv)
{
    const char *cmd = "stats samplesize";
    static const struct option opts[] = {
        {"proportions", required_argument, 0, 'p'}, {"means", required_argument, 0, 'm'},
        {"alpha", required_argument, 0, 'a'},       {"power", required_argument, 0, 'w'},
        {"one-sided", no_argument, 0, '1'},         {"cc", no_argument, 0, 'c'},
        {"t", no_argument, 0, 't'},                 {"dropout", required_argument, 0, 'd'},
        {"help", no_argument, 0, 'h'},              {0, 0, 0, 0}};
    const char *props = NULL, *means = NULL;
    double alpha = 0.05, power = 0.8, dropout = 0.0;
    int sides = 2, cc = 0, tb = 0;
    dolor_status s;
    int o;
    optind = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'p': props = optarg; break;
        case 'm': means = optarg; break;
        case '1': sides = 1; break;
        case 'c': cc = 1; break;
        case 't': tb = 1; break;
        case 'a':
            if ((s = dolor_cli_parse_double("--alpha", optarg, 1e-12, 0.999, &alpha)))
                return dolor_cli_fail(cmd, s);
            break;
        case 'w':
            if ((s = dolor_cli_parse_double("--power", optarg, 1e-6, 1 - 1e-12, &power)))
                return dolor_cli_fail(cmd, s);
            break;
        case 'd':
            if ((s = dolor_cli_parse_double("--dropout", optarg, 0, 0.99, &dropout)))
                return dolor_cli_fail(cmd, s);
            break;
        case 'h':
            printf("usage: dolor stats samplesize --proportions P1,P2 [--cc] | --means DELTA,SD [--t]\n"
                   "                              [--alpha 0.05] [--power 0.8] [--one-sided] [--dropout 0.1]\n"
                   "Per-group n. Proportions: pooled normal approximation = the root of power.prop.test\n"
                   "(strict = FALSE); --cc adds Fleiss' continuity correction. Means: normal approximation\n"
                   "2(z_a+z_b)^2 sd^2/delta^2, or --t for power.t.test's noncentral-t solution.\n"
                   "--dropout D inflates to ceil(n / (1 - D)).\n");
            return DOLOR_EXIT_OK;
        default: return dolor_cli_usage_error(cmd, "unknown option");
        }
    }
    if (optind != argc)
        return dolor_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!!props + !!means != 1)
        return dolor_cli_usage_error(cmd, "give exactly one of --proportions and --means");
    dolor_samplesize r;
    double x, y;
    if (props) {
        if ((s = sb_two_doubles("--proportions", props, &x, &y)) ||
            (s = dolor_samplesize_two_proportions(x, y, alpha, power, sides, cc, &r)))
            return dolor_cli_fail(cmd, s);
        printf("Two proportions: p1 = %g, p2 = %g, alpha = %g (%s), power = %g%s\n", x, y, alpha,
               sides == 2 ? "two-sided" : "one-sided", power, cc ? ", Fleiss continuity correction" : "");
    } else {
        if ((s = sb_two_doubles("--means", means, &x, &y)) ||
            (s = dolor_samplesize_two_means(x, y, alpha, power, sides, tb, &r)))
            return dolor_cli_fail(cmd, s);
        printf("Two means: delta = %g, sd = %g, alpha = %g (%s), power = %g, %s\n", x, y, alpha,
               sides == 2 ? "two-sided" : "one-sided", power,
               tb ? "t test (power.t.test)" : "normal approximation");
    }
    printf("n per group = %.4f -> %ld (total %ld)\n", r.n, r.n_ceil, r.total);
    if (dropout > 0) {
        long nd;
        if ((s = dolor_samplesize_dropout((double)r.n_ceil, dropout, &nd)))
            return dolor_cli_fail(cmd, s);
        printf("with %g%% dropout: %ld per group (total %ld)\n", dropout * 100, nd, 2 * nd);
    }
    return DOLOR_EXIT_OK;
}

/* ------------------------------------------------------------------ randomise */

static dolor_status sb_int_list(const char *opt, const char *s, int **out, int *n)
{
    char **it;
    dolor_status st = dolor_cli_split_list(opt, s, &it, n);
    if (st)
        return st;
    *out = malloc((size_t)*n * sizeof **out);
    for (int i = 0; *out && i < *n; i++) {
        long v;
        if ((st = dolor_cli_parse_int(opt, it[i], 1, 100000, &v))) {
            free(*out);
            *out = NULL;
            break;
        }
        (*out)[i] = (int)v;
    }
    dolor_cli_free_list(it);
    return st;
}

static int cmd_randomise(int argc, char **argv)
{
    const char *cmd = "stats randomise";
    static const struct option opts[] = {
        {"n", required_argument, 0, 'n'},      {"arms", required_argument, 0, 'a'},
        {"ratio", required_argument, 0, 'r'},  {"blocks", required_argument, 0, 'b'},
        {"simple", no_argument, 0, 's'},       {"strata", required_argument, 0, 'S'},
        {"seed", required_argument, 0, 'e'},   {"csv", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    long n = -1, seed = -1;
    char **arms = NULL, **strata = NULL;
    int narms = 0, nstrata = 0, nratio = 0, nblocks = 0, simple = 0, rc = DOLOR_EXIT_OK;
    int *ratio = NULL, *blocks = NULL;
    const char *csv = NULL;
    dolor_status s = DOLOR_OK;
    int o;
    optind = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'n': s = dolor_cli_parse_int("--n", optarg, 1, 100000000L, &n); break;
        case 'e': s = dolor_cli_parse_int("--seed", optarg, 0, 0x7fffffffffffffffL, &seed); break;
        case 'a': dolor_cli_free_list(arms); s = dolor_cli_split_list("--arms", optarg, &arms, &narms); break;
        case 'S': dolor_cli_free_list(strata); s = dolor_cli_split_list("--strata", optarg, &strata, &nstrata); break;
        case 'r': free(ratio); s = sb_int_list("--ratio", optarg, &ratio, &nratio); break;
        case 'b': free(blocks); s = sb_int_list("--blocks", optarg, &blocks, &nblocks); break;
        case 's': simple = 1; break;
        case 'o': csv = optarg; break;
        case 'h':
            printf("usage: dolor stats randomise --n N --seed S [--arms A,B] [--ratio 1,1]\n"
                   "                             [--blocks 4,6 | --simple] [--strata S1,S2] [--csv OUT.csv]\n"
                   "Randomisation list: permuted blocks (block size drawn at random among --blocks, default 4;\n"
                   "each a multiple of the ratio sum) or simple randomisation; with --strata, N subjects per\n"
                   "stratum. The same seed gives the same list.\n");
            rc = DOLOR_EXIT_OK;
            goto out_help;
        default: rc = dolor_cli_usage_error(cmd, "unknown option"); goto out_help;
        }
        if (s) {
            rc = dolor_cli_fail(cmd, s);
            goto out_help;
        }
    }
    if (optind != argc) {
        rc = dolor_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
        goto out_help;
    }
    if (n < 0 || seed < 0) {
        rc = dolor_cli_usage_error(cmd, "--n and --seed are required");
        goto out_help;
    }
    if (!arms) {
        narms = nratio > 0 ? nratio : 2;
    }
    if (ratio && nratio != narms) {
        rc = dolor_cli_usage_error(cmd, "--ratio has %d values but there are %d arms", nratio, narms);
        goto out_help;
    }
    int dflt_block = 0;
    if (!simple && !blocks) {
        int sum = 0;
        for (int i = 0; i < narms; i++)
            sum += ratio ? ratio[i] : 1;
        dflt_block = 2 * sum;
    }
    dolor_rand_opts opt = {.n_arms = narms,
                           .arm_names = (const char *const *)arms,
                           .ratio = ratio,
                           .method = simple ? DOLOR_RAND_SIMPLE : DOLOR_RAND_BLOCKS,
                           .block_sizes = blocks ? blocks : &dflt_block,
                           .n_block_sizes = blocks ? nblocks : 1,
                           .n_strata = strata ? nstrata : 1,
                           .strata_names = (const char *const *)strata,
                           .n_per_stratum = n,
                           .seed = (uint64_t)seed};
    dolor_randlist *l = NULL;
    if ((s = dolor_randomise(&opt, &l))) {
        rc = dolor_cli_fail(cmd, s);
        goto out_help;
    }
    if (csv) {
        if ((s = dolor_randlist_write_csv(l, csv)))
            rc = dolor_cli_fail(cmd, s);
        else
            printf("randomisation list (%zu subjects) written to %s\n", l->n, csv);
    } else {
        dolor_randlist_print(l, stdout);
    }
    dolor_randlist_free(l);
out_help:
    dolor_cli_free_list(arms);
    dolor_cli_free_list(strata);
    free(ratio);
    free(blocks);
    return rc;
}

/* ------------------------------------------------------------------ score */

static int cmd_score(int argc, char **argv)
{
    const char *cmd = "stats score";
    static const struct option opts[] = {
        {"id", required_argument, 0, 'i'},          {"prefix", required_argument, 0, 'p'},
        {"max-missing", required_argument, 0, 'm'}, {"scale-max", required_argument, 0, 's'},
        {"col", required_argument, 0, 'c'},         {"out", required_argument, 0, 'o'},
        {"conf", required_argument, 0, 'C'},        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *idcol = NULL, *prefix = NULL, *col = NULL, *outp = NULL;
    long maxmiss = DOLOR_ODI_MAX_MISSING;
    double scalemax = 10, conf = 0.95;
    dolor_status s;
    int o;
    optind = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'i': idcol = optarg; break;
        case 'p': prefix = optarg; break;
        case 'c': col = optarg; break;
        case 'o': outp = optarg; break;
        case 'm':
            if ((s = dolor_cli_parse_int("--max-missing", optarg, 0, 9, &maxmiss)))
                return dolor_cli_fail(cmd, s);
            break;
        case 's':
            if ((s = dolor_cli_parse_double("--scale-max", optarg, 1e-9, 1e9, &scalemax)))
                return dolor_cli_fail(cmd, s);
            break;
        case 'C':
            if ((s = sb_conf(cmd, optarg, &conf)))
                return dolor_cli_fail(cmd, s);
            break;
        case 'h':
            printf("usage: dolor stats score TYPE FILE.csv [--id COL] [--out OUT.csv] [options]\n"
                   "TYPE and the item columns it reads (blank or NA cell = item left blank):\n"
                   "  odi     odi1..odi10 (--prefix P: P1..P10), each 0..5; --max-missing M (default 2)\n"
                   "  joa     low_back_pain leg_pain gait slr sensory motor adl_turn_over adl_standing\n"
                   "          adl_washing adl_leaning_forward adl_sitting adl_lifting adl_walking [bladder]\n"
                   "  sf36    sf1..sf36 (--prefix P: P1..P36), RAND 36-Item Health Survey 1.0 scoring\n"
                   "  vas     --col COL, 0..--scale-max (10 = cm, 100 = mm), reported on 0..10\n"
                   "  macnab  --col COL with excellent/good/fair/poor (or 1..4): counts and the\n"
                   "          excellent+good rate with its Wilson %g%% CI (--conf)\n"
                   "One output row per input row (CSV to stdout or --out). See docs/clinical.md.\n",
                   conf * 100);
            return DOLOR_EXIT_OK;
        default: return dolor_cli_usage_error(cmd, "unknown option");
        }
    }
    if (optind != argc - 2)
        return dolor_cli_usage_error(cmd, "expected TYPE and one CSV file");
    const char *type = argv[optind], *path = argv[optind + 1];
    enum { ODI, JOA, SF36, VAS, MACNAB } kind;
    if (!strcmp(type, "odi"))
        kind = ODI;
    else if (!strcmp(type, "joa"))
        kind = JOA;
    else if (!strcmp(type, "sf36") || !strcmp(type, "sf-36"))
        kind = SF36;
    else if (!strcmp(type, "vas"))
        kind = VAS;
    else if (!strcmp(type, "macnab"))
        kind = MACNAB;
    else
        return dolor_cli_usage_error(cmd, "unknown score type '%s' (odi, joa, sf36, vas, macnab)", type);
    if ((kind == VAS || kind == MACNAB) && !col)
        return dolor_cli_usage_error(cmd, "%s needs --col COL", type);
    sb_csv t;
    if ((s = sb_csv_read(path, &t)))
        return dolor_cli_fail(cmd, s);
    int rc = DOLOR_EXIT_OK, nitems = 0;
    double **cols = NULL;
    dolor_macnab *grades = NULL;
    int idc = -1;
    dolor_outfile of = {0};
    FILE *fp = stdout;
    if (idcol && (idc = sb_csv_find(&t, idcol)) < 0) {
        rc = dolor_cli_fail(cmd, sb_no_column(&t, idcol));
        goto out;
    }
    if (kind == MACNAB) {
        int c = sb_csv_find(&t, col);
        if (c < 0) {
            rc = dolor_cli_fail(cmd, sb_no_column(&t, col));
            goto out;
        }
        grades = malloc((t.nrow ? t.nrow : 1) * sizeof *grades);
        for (size_t r = 0; grades && r < t.nrow; r++)
            if ((s = dolor_macnab_parse(t.cells[r * (size_t)t.ncol + (size_t)c], &grades[r]))) {
                dolor_error_prefix(s, "%s: column '%s', row %zu", path, col, r + 1);
                rc = dolor_cli_fail(cmd, s);
                goto out;
            }
        dolor_macnab_summary m;
        if ((s = dolor_macnab_summarise(grades, t.nrow, conf, DOLOR_CI_WILSON, &m))) {
            dolor_error_prefix(s, "%s", path);
            rc = dolor_cli_fail(cmd, s);
            goto out;
        }
        printf("MacNab criteria (%s, n = %ld)\n", col, m.n);
        for (int g = 1; g <= 4; g++)
            printf("  %-10s %5ld  (%.1f%%)\n", dolor_macnab_name((dolor_macnab)g), m.count[g],
                   100.0 * (double)m.count[g] / (double)m.n);
        printf("excellent + good: %ld/%ld = %.1f%%, Wilson %g%% CI %.1f%% .. %.1f%%\n", m.success.x, m.success.n,
               100 * m.success.estimate, conf * 100, 100 * m.success.lower, 100 * m.success.upper);
        goto out;
    }
    /* item columns */
    static const char *joa_cols[DOLOR_JOA_ITEMS];
    char names[DOLOR_SF36_ITEMS][96];
    nitems = kind == ODI ? DOLOR_ODI_SECTIONS : kind == JOA ? DOLOR_JOA_ITEMS : kind == SF36 ? DOLOR_SF36_ITEMS : 1;
    cols = calloc((size_t)nitems, sizeof *cols);
    for (int i = 0; cols && i < nitems; i++) {
        if (kind == ODI)
            snprintf(names[i], sizeof names[i], "%s%d", prefix ? prefix : "odi", i + 1);
        else if (kind == SF36)
            snprintf(names[i], sizeof names[i], "%s%d", prefix ? prefix : "sf", i + 1);
        else if (kind == JOA) {
            joa_cols[i] = dolor_joa_item_name(i);
            snprintf(names[i], sizeof names[i], "%s%s", prefix ? prefix : "", joa_cols[i]);
        } else
            snprintf(names[i], sizeof names[i], "%s", col);
        if (kind == JOA && i == DOLOR_JOA_ITEMS - 1 && sb_csv_find(&t, names[i]) < 0) {
            cols[i] = malloc((t.nrow ? t.nrow : 1) * sizeof **cols); /* bladder not assessed */
            for (size_t r = 0; cols[i] && r < t.nrow; r++)
                cols[i][r] = NAN;
            continue;
        }
        if ((s = sb_csv_col(&t, names[i], kind != VAS, &cols[i]))) {
            rc = dolor_cli_fail(cmd, s);
            goto out;
        }
    }
    if (outp) {
        if ((s = dolor_outfile_open(&of, outp, 1))) {
            rc = dolor_cli_fail(cmd, s);
            goto out;
        }
        fp = of.fp;
    }
    fprintf(fp, "%s", idc >= 0 ? idcol : "row");
    if (kind == ODI)
        fprintf(fp, ",odi_percent,odi_sum,odi_answered,odi_category\n");
    else if (kind == JOA)
        fprintf(fp, ",joa_subjective,joa_signs,joa_adl,joa_bladder,joa_total\n");
    else if (kind == SF36) {
        for (int sc = 0; sc < DOLOR_SF36_NSCALES; sc++)
            fprintf(fp, ",%s", dolor_sf36_scale_name((dolor_sf36_scale)sc));
        fprintf(fp, ",health_change\n");
    } else
        fprintf(fp, ",vas_0_10\n");
    double items[DOLOR_SF36_ITEMS];
    for (size_t r = 0; r < t.nrow; r++) {
        for (int i = 0; i < nitems; i++)
            items[i] = cols[i][r];
        if (idc >= 0)
            fprintf(fp, "%s", t.cells[r * (size_t)t.ncol + (size_t)idc]);
        else
            fprintf(fp, "%zu", r + 1);
        if (kind == ODI) {
            dolor_odi_result x;
            s = dolor_odi_score(items, (int)maxmiss, &x);
            if (!s)
                fprintf(fp, ",%.10g,%d,%d,%s\n", x.percent, x.sum, x.answered, x.category);
        } else if (kind == JOA) {
            dolor_joa_result x;
            s = dolor_joa_score(items, &x);
            if (!s) {
                fprintf(fp, ",%d,%d,%d,", x.subjective, x.signs, x.adl);
                if (x.bladder_assessed)
                    fprintf(fp, "%d", x.bladder);
                fprintf(fp, ",%d\n", x.total);
            }
        } else if (kind == SF36) {
            dolor_sf36_result x;
            s = dolor_sf36_score(items, &x);
            if (!s) {
                for (int sc = 0; sc < DOLOR_SF36_NSCALES; sc++) {
                    if (isnan(x.scale[sc]))
                        fprintf(fp, ",");
                    else
                        fprintf(fp, ",%.10g", x.scale[sc]);
                }
                if (isnan(x.health_change))
                    fprintf(fp, ",\n");
                else
                    fprintf(fp, ",%.10g\n", x.health_change);
            }
        } else {
            double v;
            s = dolor_vas_score(items[0], scalemax, col, &v);
            if (!s)
                fprintf(fp, ",%.10g\n", v);
        }
        if (s) {
            dolor_error_prefix(s, "%s: row %zu", path, r + 1);
            rc = dolor_cli_fail(cmd, s);
            if (outp)
                dolor_outfile_abort(&of);
            goto out;
        }
    }
    if (outp && (s = dolor_outfile_commit(&of)))
        rc = dolor_cli_fail(cmd, s);
out:
    if (cols)
        for (int i = 0; i < nitems; i++)
            free(cols[i]);
    free(cols);
    free(grades);
    sb_csv_free(&t);
    return rc;
}

/* ------------------------------------------------------------------ dispatch */

int dolor_cli_stats_extra(int argc, char **argv)
{
    if (argc < 1 || !argv || !argv[0])
        return -1;
    const char *c = argv[0];
    if (!strcmp(c, "kappa"))
        return cmd_kappa(argc, argv);
    if (!strcmp(c, "icc"))
        return cmd_icc(argc, argv);
    if (!strcmp(c, "diag"))
        return cmd_diag(argc, argv);
    if (!strcmp(c, "roc"))
        return cmd_roc_common(argc, argv, 0);
    if (!strcmp(c, "delong"))
        return cmd_roc_common(argc, argv, 1);
    if (!strcmp(c, "samplesize"))
        return cmd_samplesize(argc, argv);
    if (!strcmp(c, "randomise") || !strcmp(c, "randomize"))
        return cmd_randomise(argc, argv);
    if (!strcmp(c, "score"))
        return cmd_score(argc, argv);
    return -1;
}
