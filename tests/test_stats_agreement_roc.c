/* stats: agreement (kappa, ICC), binomial CIs and diagnostic
 * accuracy, ROC/DeLong, sample size and randomisation.
 *
 * Every case of the R oracle families cohen_kappa, icc, binomial_ci and
 * roc_delong (../shared/oracle, flattened in expected_outputs.csv and
 * inputs_long.csv) is reproduced: statistics and CIs within 1e-8 relative,
 * p-values within 1e-6 relative or 1e-12 absolute. Sample sizes are checked
 * against R 4.2.2's power.prop.test / power.t.test and published formulas,
 * the ROC curve against pROC 1.18.0 (values written by
 * tools/gen_stats_agreement_roc_reference.R, pasted below with the R call). */
#include "check.h"
#include "dolor/core.h"
#include "dolor/stats.h"

#include <errno.h>
#include <unistd.h>

/* ------------------------------------------------------------ oracle CSVs */

typedef struct {
    char *family, *cas, *key, *index, *value;
} orow;

typedef struct {
    orow *rows;
    size_t n, cap;
} otable;

static char *xstrdup(const char *s)
{
    size_t l = strlen(s) + 1;
    char *p = malloc(l);
    if (p)
        memcpy(p, s, l);
    return p;
}

/* Reads a 5-column CSV (family,case,key,index,value; no quoted fields in
 * the families used here), keeping rows of the wanted families. */
static int otable_load(otable *t, const char *path)
{
    static const char *fams[] = {"cohen_kappa", "icc", "binomial_ci", "roc_delong"};
    memset(t, 0, sizeof *t);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "FAIL: cannot open %s: %s\n", path, strerror(errno));
        dolor_test_failed++;
        return 0;
    }
    char line[4096];
    int first = 1;
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = 0;
        if (first) {
            first = 0;
            continue;
        }
        char *f[5];
        char *p = line;
        int nf = 0;
        for (; nf < 5; nf++) {
            f[nf] = p;
            char *c = strchr(p, ',');
            if (!c) {
                nf++;
                break;
            }
            *c = 0;
            p = c + 1;
        }
        if (nf != 5)
            continue;
        int want = 0;
        for (size_t i = 0; i < sizeof fams / sizeof *fams; i++)
            want |= strcmp(f[0], fams[i]) == 0;
        if (!want)
            continue;
        if (t->n == t->cap) {
            t->cap = t->cap ? 2 * t->cap : 1024;
            t->rows = realloc(t->rows, t->cap * sizeof *t->rows);
        }
        orow *r = &t->rows[t->n++];
        r->family = xstrdup(f[0]);
        r->cas = xstrdup(f[1]);
        r->key = xstrdup(f[2]);
        r->index = xstrdup(f[3]);
        r->value = xstrdup(f[4]);
    }
    fclose(fp);
    return 1;
}

static void otable_free(otable *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->rows[i].family);
        free(t->rows[i].cas);
        free(t->rows[i].key);
        free(t->rows[i].index);
        free(t->rows[i].value);
    }
    free(t->rows);
}

/* distinct case names of a family, in file order; returns count */
static int ocases(const otable *t, const char *family, const char **names, int max)
{
    int n = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->rows[i].family, family))
            continue;
        int seen = 0;
        for (int j = 0; j < n; j++)
            seen |= strcmp(names[j], t->rows[i].cas) == 0;
        if (!seen && n < max)
            names[n++] = t->rows[i].cas;
    }
    return n;
}

/* scalar value (index ""), NAN and a failure if absent */
static double oget(const otable *t, const char *family, const char *cas, const char *key)
{
    for (size_t i = 0; i < t->n; i++) {
        const orow *r = &t->rows[i];
        if (!strcmp(r->family, family) && !strcmp(r->cas, cas) && !strcmp(r->key, key) && !r->index[0])
            return strtod(r->value, NULL);
    }
    fprintf(stderr, "FAIL: oracle %s/%s has no key %s\n", family, cas, key);
    dolor_test_failed++;
    return NAN;
}

/* vector or matrix (index "i" or "i;j", row-major) -> malloc'ed doubles;
 * *rows, *cols receive the shape (cols = 1 for vectors) */
/* 1 if row r holds an element of family/cas/key, with its index "a" or "a;b" in *a, *b */
static int array_elem(const orow *r, const char *family, const char *cas, const char *key, size_t *a, size_t *b)
{
    if (strcmp(r->family, family) || strcmp(r->cas, cas) || strcmp(r->key, key) || !r->index[0])
        return 0;
    *a = strtoul(r->index, NULL, 10);
    const char *sc = strchr(r->index, ';');
    *b = sc ? strtoul(sc + 1, NULL, 10) : 0;
    return 1;
}

static double *oget_array(const otable *t, const char *family, const char *cas, const char *key, size_t *rows,
                          size_t *cols)
{
    size_t nr = 0, nc = 0, cnt = 0, a, b;
    for (size_t i = 0; i < t->n; i++) {
        if (!array_elem(&t->rows[i], family, cas, key, &a, &b))
            continue;
        if (a + 1 > nr)
            nr = a + 1;
        if (b + 1 > nc)
            nc = b + 1;
        cnt++;
    }
    if (cnt == 0 || cnt != nr * nc) {
        fprintf(stderr, "FAIL: oracle %s/%s: array %s missing or ragged\n", family, cas, key);
        dolor_test_failed++;
        *rows = *cols = 0;
        return NULL;
    }
    double *v = calloc(cnt, sizeof *v);
    for (size_t i = 0; i < t->n; i++)
        if (array_elem(&t->rows[i], family, cas, key, &a, &b))
            v[a * nc + b] = strtod(t->rows[i].value, NULL);
    *rows = nr;
    *cols = nc;
    return v;
}

/* statistic / CI: relative 1e-8 (absolute 1e-14 when the reference is 0) */
#define STAT_REL 1e-8
static void check_stat(const char *cas, const char *what, double got, double want)
{
    double tol = STAT_REL * fabs(want);
    if (tol < 1e-14)
        tol = 1e-14;
    CHECKF(fabs(got - want) <= tol, "%s: %s = %.17g, R gives %.17g (rel diff %.3g)", cas, what, got, want,
           want != 0 ? fabs(got - want) / fabs(want) : fabs(got - want));
}

/* p-value: relative 1e-6 or absolute 1e-12 */
static void check_p(const char *cas, const char *what, double got, double want)
{
    CHECKF(fabs(got - want) <= 1e-6 * fabs(want) || fabs(got - want) <= 1e-12,
           "%s: %s = %.17g, R gives %.17g", cas, what, got, want);
}

/* ------------------------------------------------------------ binomial CIs */

static void oracle_binomial(const char *cs, const otable *out, const otable *in)
{
    size_t x = (size_t)oget(in, "binomial_ci", cs, "x"), n = (size_t)oget(in, "binomial_ci", cs, "n");
    static const struct {
        dolor_ci_method m;
        const char *lo, *hi;
    } ms[3] = {{DOLOR_CI_WILSON, "wilson_lower", "wilson_upper"},
               {DOLOR_CI_WILSON_CC, "wilson_cc_lower", "wilson_cc_upper"},
               {DOLOR_CI_CLOPPER_PEARSON, "clopper_pearson_lower", "clopper_pearson_upper"}};
    for (int m = 0; m < 3; m++) {
        dolor_prop_ci ci;
        CHECK_OK(dolor_prop_ci_compute(x, n, 0.95, ms[m].m, &ci));
        check_stat(cs, "estimate", ci.estimate, oget(out, "binomial_ci", cs, "estimate"));
        check_stat(cs, ms[m].lo, ci.lower, oget(out, "binomial_ci", cs, ms[m].lo));
        check_stat(cs, ms[m].hi, ci.upper, oget(out, "binomial_ci", cs, ms[m].hi));
    }
}

static void test_diag(void)
{
    /* the oracle's sensitivity/specificity/PPV/NPV cases come from this table:
     * tp 45, fn 7, tn 86, fp 12 (sens 45/52, spec 86/98, PPV 45/57, NPV 86/93) */
    dolor_diag_result d;
    CHECK_OK(dolor_diag_compute(45, 12, 7, 86, 0.95, DOLOR_CI_WILSON, &d));
    check_stat("diag", "sensitivity lower", d.sensitivity.lower, 0.7472667983480621);
    check_stat("diag", "specificity upper", d.specificity.upper, 0.9285479975789058);
    check_stat("diag", "ppv lower", d.ppv.lower, 0.667138789168095);
    check_stat("diag", "npv upper", d.npv.upper, 0.9630633160183196);
    CHECK(d.accuracy.x == 131 && d.accuracy.n == 150);
    check_stat("diag", "LR+", d.lr_pos, (45.0 / 52) / (12.0 / 98));
    check_stat("diag", "LR-", d.lr_neg, (7.0 / 52) / (86.0 / 98));
    check_stat("diag", "youden", d.youden, 45.0 / 52 + 86.0 / 98 - 1);
    CHECK_OK(dolor_diag_compute(45, 12, 7, 86, 0.95, DOLOR_CI_CLOPPER_PEARSON, &d));
    check_stat("diag", "sensitivity CP lower", d.sensitivity.lower, 0.742121414960492);
    /* zero margins and bad counts */
    CHECK_ERR(dolor_diag_compute(0, 3, 0, 5, 0.95, DOLOR_CI_WILSON, &d), DOLOR_ENUMERIC, "tp+fn");
    CHECK_ERR(dolor_diag_compute(3, 0, 2, 0, 0.95, DOLOR_CI_WILSON, &d), DOLOR_ENUMERIC, "tn+fp");
    CHECK_ERR(dolor_diag_compute(0, 0, 2, 3, 0.95, DOLOR_CI_WILSON, &d), DOLOR_ENUMERIC, "tp+fp");
    CHECK_ERR(dolor_prop_ci_compute(5, 4, 0.95, DOLOR_CI_WILSON, &d.ppv), DOLOR_EINVAL, "x is 5");
    CHECK_ERR(dolor_prop_ci_compute(1, 4, 1.5, DOLOR_CI_WILSON, &d.ppv), DOLOR_EINVAL, "1.5");
    /* counts from vectors */
    double truth[8] = {1, 1, 1, 0, 0, 0, 0, 1}, test[8] = {1, 0, 1, 0, 1, 0, 0, 1};
    size_t tp, fp, fn, tn;
    CHECK_OK(dolor_diag_tabulate(truth, test, 8, &tp, &fp, &fn, &tn));
    CHECK(tp == 3 && fn == 1 && fp == 1 && tn == 3);
    test[5] = 2;
    CHECK_ERR(dolor_diag_tabulate(truth, test, 8, &tp, &fp, &fn, &tn), DOLOR_EINVAL, "test: row 6 is 2");
    truth[2] = NAN;
    CHECK_ERR(dolor_diag_tabulate(truth, test, 8, &tp, &fp, &fn, &tn), DOLOR_ENUMERIC, "truth: row 3");
    dolor_ci_method m;
    CHECK_OK(dolor_ci_method_parse("exact", &m));
    CHECK(m == DOLOR_CI_CLOPPER_PEARSON);
    CHECK_ERR(dolor_ci_method_parse("wald", &m), DOLOR_EINVAL, "wald");
}

/* ------------------------------------------------------------ kappa */

static void oracle_kappa(const char *cs, const otable *out, const otable *in)
{
    size_t n1, n2, k, one;
    double *r1 = oget_array(in, "cohen_kappa", cs, "rater1", &n1, &one);
    double *r2 = oget_array(in, "cohen_kappa", cs, "rater2", &n2, &one);
    double *cat = oget_array(in, "cohen_kappa", cs, "categories", &k, &one);
    size_t tr, tc;
    double *tab = oget_array(out, "cohen_kappa", cs, "table_rater1_rows", &tr, &tc);
    CHECK(r1 && r2 && cat && tab && n1 == n2 && tr == k && tc == k);
    if (!(r1 && r2 && cat && tab && n1 == n2 && tr == k && tc == k))
        goto next;
    static const struct {
        dolor_kappa_weights w;
        const char *key;
    } ws[3] = {{DOLOR_KAPPA_UNWEIGHTED, "fce1969_unweighted"},
               {DOLOR_KAPPA_LINEAR, "fce1969_linear"},
               {DOLOR_KAPPA_QUADRATIC, "fce1969_quadratic"}};
    for (int w = 0; w < 3; w++) {
        dolor_kappa_result kr, kt;
        CHECK_OK(dolor_kappa_compute_ratings(r1, r2, n1, cat, (int)k, ws[w].w, 0.95, &kr));
        CHECK_OK(dolor_kappa_compute(tab, (int)k, ws[w].w, 0.95, &kt));
        char key[128], what[160];
        static const char *fields[4] = {"kappa", "se", "ci95_lower", "ci95_upper"};
        double got[4] = {kr.kappa, kr.se, kr.ci_lower, kr.ci_upper};
        double gott[4] = {kt.kappa, kt.se, kt.ci_lower, kt.ci_upper};
        for (int f = 0; f < 4; f++) {
            snprintf(key, sizeof key, "%s.%s", ws[w].key, fields[f]);
            double want = oget(out, "cohen_kappa", cs, key);
            check_stat(cs, key, got[f], want);
            snprintf(what, sizeof what, "%s (from table)", key);
            check_stat(cs, what, gott[f], want);
        }
        /* psych's weighted kappa values (its weighted SE is the known slip) */
        if (ws[w].w != DOLOR_KAPPA_UNWEIGHTED) {
            snprintf(key, sizeof key, "psych_%s_call.weighted.kappa",
                     ws[w].w == DOLOR_KAPPA_LINEAR ? "linear" : "quadratic");
            check_stat(cs, key, kr.kappa, oget(out, "cohen_kappa", cs, key));
        } else {
            static const char *pf[4] = {"kappa", "se", "ci95_lower", "ci95_upper"};
            for (int f = 0; f < 4; f++) {
                snprintf(key, sizeof key, "psych_linear_call.unweighted.%s", pf[f]);
                check_stat(cs, key, got[f], oget(out, "cohen_kappa", cs, key));
            }
            check_stat(cs, "psych unweighted var", kr.se * kr.se,
                       oget(out, "cohen_kappa", cs, "psych_quadratic_call.unweighted.var"));
        }
        CHECK(kr.p_value >= 0 && kr.p_value < 1e-6); /* strong agreement in all three cases */
    }
    /* categories inferred from the data give the same table here */
    dolor_kappa_result a, b;
    CHECK_OK(dolor_kappa_compute_ratings(r1, r2, n1, NULL, 0, DOLOR_KAPPA_QUADRATIC, 0.95, &a));
    CHECK_OK(dolor_kappa_compute_ratings(r1, r2, n1, cat, (int)k, DOLOR_KAPPA_QUADRATIC, 0.95, &b));
    CHECK(a.k == (int)k && a.kappa == b.kappa);
next:
    free(r1), free(r2), free(cat), free(tab);
}

static void test_kappa_errors(void)
{
    double r1[5] = {1, 2, 3, 1, 2}, r2[5] = {1, 2, 3, 2, 2}, cat[3] = {1, 2, 3};
    dolor_kappa_result k;
    r2[3] = 4;
    CHECK_ERR(dolor_kappa_compute_ratings(r1, r2, 5, cat, 3, DOLOR_KAPPA_LINEAR, 0.95, &k), DOLOR_EINVAL,
              "rater2: row 4 is 4");
    r2[3] = NAN;
    CHECK_ERR(dolor_kappa_compute_ratings(r1, r2, 5, cat, 3, DOLOR_KAPPA_LINEAR, 0.95, &k), DOLOR_ENUMERIC, "rater2: row 4");
    double dupcat[3] = {1, 2, 1};
    CHECK_ERR(dolor_kappa_compute_ratings(r1, r1, 5, dupcat, 3, DOLOR_KAPPA_LINEAR, 0.95, &k), DOLOR_EINVAL,
              "category 1 is listed twice");
    double same[4] = {2, 2, 2, 2};
    CHECK_ERR(dolor_kappa_compute_ratings(same, same, 4, NULL, 0, DOLOR_KAPPA_UNWEIGHTED, 0.95, &k), DOLOR_ENUMERIC,
              "single category");
    double zero[4] = {0, 0, 0, 0};
    CHECK_ERR(dolor_kappa_compute(zero, 2, DOLOR_KAPPA_UNWEIGHTED, 0.95, &k), DOLOR_ENUMERIC, "empty");
    double neg[4] = {1, -1, 0, 3};
    CHECK_ERR(dolor_kappa_compute(neg, 2, DOLOR_KAPPA_UNWEIGHTED, 0.95, &k), DOLOR_EINVAL, "(1, 2)");
    /* textbook 2x2: po = 0.7, pe = 0.5 -> kappa 0.4 */
    double t2[4] = {25, 10, 5, 10};
    CHECK_OK(dolor_kappa_compute(t2, 2, DOLOR_KAPPA_UNWEIGHTED, 0.95, &k));
    CHECK_NEAR(k.kappa, (0.7 - (35.0 * 30 + 15.0 * 20) / 2500) / (1 - (35.0 * 30 + 15.0 * 20) / 2500), 1e-15);
    /* null SE of the simple kappa in its textbook closed form (Fleiss, Cohen &
     * Everitt 1969; SAS PROC FREQ documentation):
     * var0 = [pe + pe^2 - sum_i p_i. p_.i (p_i. + p_.i)] / (n (1 - pe)^2) */
    {
        double pr[2] = {0.7, 0.3}, pc[2] = {0.6, 0.4}, pe = 0.54, sum = 0;
        for (int i = 0; i < 2; i++)
            sum += pr[i] * pc[i] * (pr[i] + pc[i]);
        double var0 = (pe + pe * pe - sum) / (50 * (1 - pe) * (1 - pe));
        CHECK_NEAR(k.se0, sqrt(var0), 1e-14);
        CHECK_NEAR(k.z, k.kappa / sqrt(var0), 1e-12);
        CHECK_NEAR(k.p_value, 2 * (1 - 0.5 * erfc(-(k.kappa / sqrt(var0)) / sqrt(2.0))), 1e-12);
    }
}

/* ------------------------------------------------------------ ICC */

static void oracle_icc(const char *cs, const otable *out, const otable *in)
{
    size_t n, k;
    double *m = oget_array(in, "icc", cs, "ratings", &n, &k);
    if (!m)
        return;
    CHECK(n == (size_t)oget(out, "icc", cs, "n_subjects") && k == (size_t)oget(out, "icc", cs, "k_raters"));
    dolor_icc_result r;
    CHECK_OK(dolor_icc_compute(m, n, k, 0.95, &r));
    check_stat(cs, "MSB", r.msb, oget(out, "icc", cs, "MSB_subjects"));
    check_stat(cs, "MSJ", r.msj, oget(out, "icc", cs, "MSJ_raters"));
    check_stat(cs, "MSE", r.mse, oget(out, "icc", cs, "MSE_residual"));
    check_stat(cs, "MSW", r.msw, oget(out, "icc", cs, "MSW_within"));
    for (int t = 0; t < 6; t++) {
        const char *tn = dolor_icc_type_name((dolor_icc_type)t);
        char key[64];
        const dolor_icc_row *row = &r.icc[t];
#define ICCF(field, val)                                                                                          \
snprintf(key, sizeof key, "%s.%s", tn, field);                                                                \
check_stat(cs, key, val, oget(out, "icc", cs, key))
        ICCF("ICC", row->icc);
        ICCF("F", row->f);
        ICCF("df1", row->df1);
        ICCF("df2", row->df2);
        ICCF("ci95_lower", row->ci_lower);
        ICCF("ci95_upper", row->ci_upper);
#undef ICCF
        snprintf(key, sizeof key, "%s.p_value", tn);
        check_p(cs, key, row->p_value, oget(out, "icc", cs, key));
    }
    /* errors: NaN cell named by row and rater; too few subjects */
    m[1 * k + 1] = NAN;
    CHECK_ERR(dolor_icc_compute(m, n, k, 0.95, &r), DOLOR_ENUMERIC, "row 2, rater 2");
    CHECK_ERR(dolor_icc_compute(m, 1, k, 0.95, &r), DOLOR_EINVAL, "1 subjects");
    free(m);
}

static void test_icc_flat(void)
{
    double flat[6] = {3, 3, 5, 5, 7, 7};
    dolor_icc_result r;
    CHECK_ERR(dolor_icc_compute(flat, 3, 2, 0.95, &r), DOLOR_ENUMERIC, "within-subject");
}

/* ------------------------------------------------------------ ROC / DeLong */

static void oracle_roc(const char *cs, const otable *out, const otable *in)
{
    size_t n, n1, n2, one;
    double *y = oget_array(in, "roc_delong", cs, "y", &n, &one);
    double *m1 = oget_array(in, "roc_delong", cs, "marker1", &n1, &one);
    double *m2 = oget_array(in, "roc_delong", cs, "marker2", &n2, &one);
    dolor_roc *a = NULL, *b = NULL;
    if (!y || !m1 || !m2 || n1 != n || n2 != n)
        goto next;
    CHECK_OK(dolor_roc_create(y, m1, n, DOLOR_ROC_LT, &a));
    CHECK_OK(dolor_roc_create(y, m2, n, DOLOR_ROC_LT, &b));
    if (!a || !b)
        goto next;
    CHECK(a->n_cases == (size_t)oget(out, "roc_delong", cs, "n_cases"));
    CHECK(a->n_controls == (size_t)oget(out, "roc_delong", cs, "n_controls"));
    const dolor_roc *rs[2] = {a, b};
    const char *mk[2] = {"marker1", "marker2"};
    for (int i = 0; i < 2; i++) {
        char key[64];
        double lo, hi;
        CHECK_OK(dolor_roc_ci(rs[i], 0.95, &lo, &hi));
        snprintf(key, sizeof key, "%s.auc", mk[i]);
        check_stat(cs, key, rs[i]->auc, oget(out, "roc_delong", cs, key));
        snprintf(key, sizeof key, "%s.var_delong", mk[i]);
        check_stat(cs, key, rs[i]->var_delong, oget(out, "roc_delong", cs, key));
        snprintf(key, sizeof key, "%s.ci95_lower", mk[i]);
        check_stat(cs, key, lo, oget(out, "roc_delong", cs, key));
        snprintf(key, sizeof key, "%s.ci95_upper", mk[i]);
        check_stat(cs, key, hi, oget(out, "roc_delong", cs, key));
    }
    double cov;
    CHECK_OK(dolor_roc_cov_delong(a, b, &cov));
    check_stat(cs, "cov_delong", cov, oget(out, "roc_delong", cs, "cov_delong"));
    dolor_delong_test t;
    CHECK_OK(dolor_roc_test_delong(a, b, 1, &t));
    check_stat(cs, "paired_delong_test.Z", t.z, oget(out, "roc_delong", cs, "paired_delong_test.Z"));
    check_p(cs, "paired_delong_test.p_value", t.p_value,
            oget(out, "roc_delong", cs, "paired_delong_test.p_value"));
    check_stat(cs, "paired_delong_test.auc1", t.auc1, oget(out, "roc_delong", cs, "paired_delong_test.auc1"));
    check_stat(cs, "paired_delong_test.auc2", t.auc2, oget(out, "roc_delong", cs, "paired_delong_test.auc2"));
    if (!strcmp(cs, "ordinal_5point_reader_n100")) {
        /* pROC 1.18.0 on this case (tools/gen_stats_agreement_roc_reference.R):
         * roc(y, marker1, levels = c(0, 1), direction = "<") and
         * roc(y, marker2, levels = c(0, 1), direction = ">"), auc 0.36875 */
        static const double th[6] = {-INFINITY, 1.5, 2.5, 3.5, 4.5, INFINITY};
        static const double se1[6] = {1, 1, 0.925, 0.625, 0.25, 0};
        static const double sp1[6] = {0, 7.0 / 60, 0.4, 44.0 / 60, 58.0 / 60, 1};
        static const double se2[6] = {1, 0.825, 0.6, 0.275, 0.05, 0};
        static const double sp2[6] = {0, 0, 11.0 / 60, 0.65, 50.0 / 60, 1};
        dolor_roc *g2 = NULL;
        CHECK_OK(dolor_roc_create(y, m2, n, DOLOR_ROC_GT, &g2));
        CHECK(a->n_thresholds == 6 && g2 && g2->n_thresholds == 6);
        for (int i = 0; g2 && i < 6 && a->n_thresholds == 6 && g2->n_thresholds == 6; i++) {
            CHECKF(a->thresholds[i] == th[i] && g2->thresholds[i] == th[5 - i], "%s: threshold %d", cs, i);
            check_stat(cs, "pROC sensitivity '<'", a->sensitivity[i], se1[i]);
            check_stat(cs, "pROC specificity '<'", a->specificity[i], sp1[i]);
            check_stat(cs, "pROC sensitivity '>'", g2->sensitivity[i], se2[i]);
            check_stat(cs, "pROC specificity '>'", g2->specificity[i], sp2[i]);
        }
        if (g2)
            check_stat(cs, "pROC auc '>' marker2", g2->auc, 0.36875);
        dolor_roc_free(g2);
    }
    /* direction: ">" on the negated marker is the same curve; auto picks "<" here */
    for (size_t i = 0; i < n; i++)
        m1[i] = -m1[i];
    dolor_roc *g = NULL, *au = NULL;
    CHECK_OK(dolor_roc_create(y, m1, n, DOLOR_ROC_GT, &g));
    CHECK_OK(dolor_roc_create(y, m1, n, DOLOR_ROC_AUTO, &au));
    if (g && au) {
        check_stat(cs, "auc with '>' on -marker1", g->auc, a->auc);
        check_stat(cs, "var with '>' on -marker1", g->var_delong, a->var_delong);
        CHECK(au->direction == DOLOR_ROC_GT);
        double c2;
        CHECK_OK(dolor_roc_cov_delong(g, b, &c2));
        check_stat(cs, "cov with '>' on -marker1", c2, cov);
    }
    dolor_roc_free(g);
    dolor_roc_free(au);
next:
    dolor_roc_free(a);
    dolor_roc_free(b);
    free(y), free(m1), free(m2);
}

/* every case of the oracle families (with the number of cases each must hold) through its checker */
static void test_oracles(const otable *out, const otable *in)
{
    static const struct {
        const char *family;
        int ncases;
        void (*check)(const char *cs, const otable *out, const otable *in);
    } fams[] = {
        {"binomial_ci", 14, oracle_binomial},
        {"cohen_kappa", 3, oracle_kappa},
        {"icc", 2, oracle_icc},
        {"roc_delong", 2, oracle_roc},
    };
    for (size_t f = 0; f < sizeof fams / sizeof *fams; f++) {
        const char *cases[64];
        int nc = ocases(out, fams[f].family, cases, 64);
        CHECKF(nc == fams[f].ncases, "%s: %d cases, expected %d", fams[f].family, nc, fams[f].ncases);
        for (int c = 0; c < nc; c++)
            fams[f].check(cases[c], out, in);
    }
}

static void test_roc_curve(void)
{
    /* pROC 1.18.0: r <- roc(y, x, levels = c(0, 1), direction = "<");
     * cbind(r$thresholds, r$sensitivities, r$specificities); auc(r) = 0.8
     * (tools/gen_stats_agreement_roc_reference.R) */
    double y[10] = {0, 0, 1, 1, 0, 1, 0, 1, 1, 0};
    double x[10] = {0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2, 0.4, 0.7, 0.55};
    static const double th[9] = {-INFINITY, 0.15, 0.275, 0.375, 0.475, 0.625, 0.75, 0.85, INFINITY};
    static const double se[9] = {1, 1, 1, 0.8, 0.6, 0.6, 0.4, 0.2, 0};
    static const double sp[9] = {0, 0.2, 0.4, 0.4, 0.8, 1, 1, 1, 1};
    dolor_roc *r = NULL;
    CHECK_OK(dolor_roc_create(y, x, 10, DOLOR_ROC_LT, &r));
    if (r) {
        CHECK(r->n_thresholds == 9);
        for (size_t i = 0; i < 9 && i < r->n_thresholds; i++) {
            CHECKF(r->thresholds[i] == th[i] || fabs(r->thresholds[i] - th[i]) < 1e-15, "threshold %zu: %g vs %g", i,
                   r->thresholds[i], th[i]);
            CHECK_NEAR(r->sensitivity[i], se[i], 1e-15);
            CHECK_NEAR(r->specificity[i], sp[i], 1e-15);
        }
        CHECK_NEAR(r->auc, 0.8, 1e-15);
    }
    dolor_roc_free(r);
    /* ">" on -x: pROC lists thresholds from +Inf down, same se/sp sequence */
    double nx[10];
    for (int i = 0; i < 10; i++)
        nx[i] = -x[i];
    CHECK_OK(dolor_roc_create(y, nx, 10, DOLOR_ROC_GT, &r));
    if (r) {
        for (size_t i = 0; i < 9 && i < r->n_thresholds; i++) {
            CHECKF(r->thresholds[i] == -th[i] || fabs(r->thresholds[i] + th[i]) < 1e-15, "'>' threshold %zu: %g", i,
                   r->thresholds[i]);
            CHECK_NEAR(r->sensitivity[i], se[i], 1e-15);
            CHECK_NEAR(r->specificity[i], sp[i], 1e-15);
        }
        CHECK_NEAR(r->auc, 0.8, 1e-15);
    }
    dolor_roc_free(r);
    /* errors */
    y[3] = 2;
    CHECK_ERR(dolor_roc_create(y, x, 10, DOLOR_ROC_LT, &r), DOLOR_EINVAL, "truth: row 4 is 2");
    y[3] = 1;
    x[6] = NAN;
    CHECK_ERR(dolor_roc_create(y, x, 10, DOLOR_ROC_LT, &r), DOLOR_ENUMERIC, "score: row 7");
    x[6] = 0.2;
    double y1[4] = {1, 0, 0, 0}, x1[4] = {1, 2, 3, 4};
    CHECK_ERR(dolor_roc_create(y1, x1, 4, DOLOR_ROC_LT, &r), DOLOR_EINVAL, "1 cases");
    /* pairing check */
    dolor_roc *a = NULL, *b = NULL;
    double y2[6] = {1, 1, 0, 0, 1, 0}, x2[6] = {3, 2, 1, 2, 5, 0};
    CHECK_OK(dolor_roc_create(y, x, 10, DOLOR_ROC_LT, &a));
    CHECK_OK(dolor_roc_create(y2, x2, 6, DOLOR_ROC_LT, &b));
    double cov;
    dolor_delong_test t;
    if (a && b) {
        CHECK_ERR(dolor_roc_cov_delong(a, b, &cov), DOLOR_ESHAPE, "same subjects");
        CHECK_ERR(dolor_roc_test_delong(a, a, 1, &t), DOLOR_ENUMERIC, "variance");
        CHECK_OK(dolor_roc_test_delong(a, b, 0, &t));
        CHECK_NEAR(t.z, (a->auc - b->auc) / sqrt(a->var_delong + b->var_delong), 1e-15);
    }
    dolor_roc_free(a);
    dolor_roc_free(b);
}

/* ------------------------------------------------------------ sample size */

static void test_samplesize(void)
{
    dolor_samplesize s;
    /* R 4.2.2 (tools/gen_stats_agreement_roc_reference.R):
     * power.prop.test(p1 = 0.5, p2 = 0.75, power = 0.9, tol = 1e-12)$n = 76.7069284517774
     * (default tol gives 76.7069301141077); the closed form is its exact root. */
    CHECK_OK(dolor_samplesize_compute_proportions(0.5, 0.75, 0.05, 0.9, 2, 0, &s));
    CHECK_NEAR(s.n, 76.7069284517774, 1e-7);
    CHECK(s.n_ceil == 77 && s.total == 154);
    /* closed form by hand: za = 1.959964, zb = 1.281552, pbar = 0.625 */
    {
        double za = 1.959963984540054, zb = 1.2815515655446004;
        double t = za * sqrt(2 * 0.625 * 0.375) + zb * sqrt(0.25 + 0.1875);
        CHECK_NEAR(s.n, t * t / 0.0625, 1e-9);
    }
    /* one-sided: power.prop.test(p1 = 0.2, p2 = 0.35, power = 0.8,
     * alternative = "one.sided", tol = 1e-12)$n = 108.517365949289 */
    CHECK_OK(dolor_samplesize_compute_proportions(0.2, 0.35, 0.05, 0.8, 1, 0, &s));
    CHECK_NEAR(s.n, 108.517365949289, 1e-7);
    CHECK(s.n_ceil == 109);
    /* Fleiss continuity correction (Fleiss, Tytun & Ury 1980; Fleiss, Levin &
     * Paik 2003, eq. 4.14) for p1 = 0.3, p2 = 0.45 (alpha .05 two-sided, power
     * .80): n' = 162.34 uncorrected -> n = n'/4 (1 + sqrt(1 + 4/(n' |p1-p2|)))^2 */
    CHECK_OK(dolor_samplesize_compute_proportions(0.3, 0.45, 0.05, 0.8, 2, 0, &s));
    double n0 = s.n;
    CHECK_OK(dolor_samplesize_compute_proportions(0.3, 0.45, 0.05, 0.8, 2, 1, &s));
    double r = 1 + sqrt(1 + 4 / (n0 * 0.15));
    CHECK_NEAR(s.n, n0 / 4 * r * r, 1e-9);
    CHECK(s.n > n0 + 2 / 0.15 - 1 && s.n < n0 + 2 / 0.15 + 1); /* ~ n + 2/|d| (Fleiss) */
    /* two means, normal: 2 (1.959964 + 0.841621)^2 / 0.5^2 = 62.79 -> 63 */
    CHECK_OK(dolor_samplesize_compute_means(0.5, 1.0, 0.05, 0.8, 2, 0, &s));
    CHECK_NEAR(s.n, 2 * pow(1.959963984540054 + 0.8416212335729143, 2) / 0.25, 1e-9);
    CHECK(s.n_ceil == 63);
    /* t-based: power.t.test(delta = 0.5, sd = 1, power = 0.8, tol = 1e-12)$n = 63.7657637248468 */
    CHECK_OK(dolor_samplesize_compute_means(0.5, 1.0, 0.05, 0.8, 2, 1, &s));
    CHECK_NEAR(s.n, 63.7657637248468, 1e-7);
    CHECK(s.n_ceil == 64);
    /* power.t.test(delta = 10, sd = 15, power = 0.9, alternative = "one.sided", tol = 1e-12)$n
     * = 39.2326985118776 */
    CHECK_OK(dolor_samplesize_compute_means(10, 15, 0.05, 0.9, 1, 1, &s));
    CHECK_NEAR(s.n, 39.2326985118776, 1e-7);
    CHECK(s.n_ceil == 40);
    /* dropout */
    size_t nd;
    CHECK_OK(dolor_samplesize_inflate(100, 0.2, &nd));
    CHECK(nd == 125);
    CHECK_OK(dolor_samplesize_inflate(63, 0.1, &nd));
    CHECK(nd == 70);
    CHECK_OK(dolor_samplesize_inflate(64, 0.15, &nd));
    CHECK(nd == 76); /* 75.29 -> 76 */
    CHECK_ERR(dolor_samplesize_inflate(64, 1.0, &nd), DOLOR_EINVAL, "fraction 1");
    CHECK_ERR(dolor_samplesize_compute_proportions(0.5, 0.5, 0.05, 0.8, 2, 0, &s), DOLOR_EINVAL, "p1 and p2");
    CHECK_ERR(dolor_samplesize_compute_proportions(0.5, 1.2, 0.05, 0.8, 2, 0, &s), DOLOR_EINVAL, "p2 1.2");
    CHECK_ERR(dolor_samplesize_compute_means(0.5, 1, 0.05, 0.8, 3, 0, &s), DOLOR_EINVAL, "sides is 3");
    CHECK_ERR(dolor_samplesize_compute_means(0.5, -1, 0.05, 0.8, 2, 0, &s), DOLOR_EINVAL, "sd is -1");
}

/* ------------------------------------------------------------ randomisation */

static void test_randomise(void)
{
    const char *arms[2] = {"control", "block"};
    const char *strata[3] = {"L4-5", "L5-S1", "other"};
    int ratio[2] = {1, 1}, bs[2] = {4, 6};
    dolor_rand_opts o = {.n_arms = 2, .arm_names = arms, .ratio = ratio, .method = DOLOR_RAND_BLOCKS,
                         .block_sizes = bs, .n_block_sizes = 2, .n_strata = 3, .strata_names = strata,
                         .n_per_stratum = 48, .seed = 2024};
    dolor_randlist *l = NULL, *l2 = NULL;
    CHECK_OK(dolor_randlist_create(&o, &l));
    CHECK_OK(dolor_randlist_create(&o, &l2));
    if (l && l2) {
        CHECK(l->n == 144);
        CHECK(memcmp(l->arm, l2->arm, l->n * sizeof *l->arm) == 0); /* same seed, same list */
        /* every complete block is balanced; both block sizes occur */
        int seen4 = 0, seen6 = 0, unbalanced = 0;
        for (size_t i = 0; i < l->n;) {
            size_t j = i;
            int c = 0;
            while (j < l->n && l->stratum[j] == l->stratum[i] && l->block[j] == l->block[i])
                c += l->arm[j] == 1, j++;
            int size = (int)(j - i);
            if (size == l->block_size[i])
                unbalanced += c * 2 != size;
            seen4 |= l->block_size[i] == 4;
            seen6 |= l->block_size[i] == 6;
            CHECK(l->seq[i] >= 1 && l->seq[i] <= 48);
            i = j;
        }
        CHECK(unbalanced == 0 && seen4 && seen6);
        /* a different seed gives a different list */
        dolor_randlist_free(l2);
        o.seed = 2025;
        l2 = NULL;
        CHECK_OK(dolor_randlist_create(&o, &l2));
        CHECK(l2 && memcmp(l->arm, l2->arm, l->n * sizeof *l->arm) != 0);
        /* CSV round trip: header and row count */
        char path[] = "/tmp/dolor_randXXXXXX";
        int fd = mkstemp(path);
        if (fd >= 0)
            close(fd);
        CHECK_OK(dolor_randlist_write_csv(l, path));
        FILE *fp = fopen(path, "r");
        char line[256];
        int rows = 0;
        CHECK(fp && fgets(line, sizeof line, fp) && strcmp(line, "id,stratum,sequence,block,block_size,arm\n") == 0);
        while (fp && fgets(line, sizeof line, fp))
            rows++;
        if (fp)
            fclose(fp);
        CHECK(rows == 144);
        remove(path);
    }
    dolor_randlist_free(l);
    dolor_randlist_free(l2);
    /* 2:1 ratio, simple randomisation: proportions near 2/3 for a large list */
    int r21[2] = {2, 1};
    dolor_rand_opts s = {.n_arms = 2, .ratio = r21, .method = DOLOR_RAND_SIMPLE, .n_strata = 1,
                         .n_per_stratum = 30000, .seed = 7};
    CHECK_OK(dolor_randlist_create(&s, &l));
    if (l) {
        long a = 0;
        for (size_t i = 0; i < l->n; i++)
            a += l->arm[i] == 0;
        CHECK(fabs((double)a / 30000 - 2.0 / 3) < 0.01);
        CHECK(strcmp(l->arm_names[0], "A") == 0 && strcmp(l->strata_names[0], "all") == 0);
    }
    dolor_randlist_free(l);
    /* 2:1 blocks of 3 and 6: each complete block has exactly 2/3 in arm A */
    int b36[2] = {3, 6};
    s.method = DOLOR_RAND_BLOCKS;
    s.block_sizes = b36;
    s.n_block_sizes = 2;
    s.n_per_stratum = 60;
    l = NULL;
    CHECK_OK(dolor_randlist_create(&s, &l));
    if (l) {
        int bad = 0;
        for (size_t i = 0; i < l->n;) {
            size_t j = i;
            int c = 0;
            while (j < l->n && l->block[j] == l->block[i])
                c += l->arm[j] == 0, j++;
            if ((int)(j - i) == l->block_size[i])
                bad += 3 * c != 2 * l->block_size[i];
            i = j;
        }
        CHECK(bad == 0);
    }
    dolor_randlist_free(l);
    int bad_bs[1] = {4};
    s.block_sizes = bad_bs;
    s.n_block_sizes = 1;
    CHECK_ERR(dolor_randlist_create(&s, &l), DOLOR_EINVAL, "block size 4");
    s.n_arms = 1;
    CHECK_ERR(dolor_randlist_create(&s, &l), DOLOR_EINVAL, "1 arms");
}

int main(void)
{
    test_diag();
    test_kappa_errors();
    test_icc_flat();
    test_roc_curve();
    test_samplesize();
    test_randomise();
    const char *dir = getenv("DOLOR_ORACLE");
    if (!dir)
        dir = "../shared/oracle";
    char p_out[1024], p_in[1024];
    snprintf(p_out, sizeof p_out, "%s/expected_outputs.csv", dir);
    snprintf(p_in, sizeof p_in, "%s/inputs_long.csv", dir);
    if (DOLOR_TEST_NEED_DATA(p_out) && DOLOR_TEST_NEED_DATA(p_in)) {
        otable out, in;
        if (otable_load(&out, p_out) && otable_load(&in, p_in)) {
            test_oracles(&out, &in);
        }
        otable_free(&out);
        otable_free(&in);
    }
    return dolor_test_finish();
}
