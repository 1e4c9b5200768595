/* Table 1 in SPSS mode (dolor stats table --spss) against R: every row's test and p-value (two-sided and the
 * smaller one-sided) from `--format json --digits 10` within 1e-9 relative of the R values in
 * tests/fixtures/stats/table1_spss.csv (written by tools/gen_table1_spss_fixture.R: wilcox.test(exact = FALSE,
 * correct = FALSE) for the rank tests); and the footnotes naming the exact variant of every test, in the
 * default and the SPSS mode. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>

#include "check.h"
#include "json_fx.h"
#include "test_util.h"

#include "dolor/stats.h"

#define VARS                                                                                                  \
    "age:c,sex:cat,bmi:c,duration_months:c,vas_0:c,odi_0:c,vas_1m:c,vas_6m:c,odi_1m:c,odi_6m:c,"              \
    "complication:cat,pfirrmann:ord --change vas_0=vas_1m,vas_6m --change odi_0=odi_1m,odi_6m"

static char trial[1024];

static void rel_close(const char *what, const char *key, double got, double want, double tol)
{
    double d = fabs(got - want) / fmax(fabs(want), 1e-300);
    CHECKF(d <= tol, "%s %s: dolor %.17g, R %.17g (relative difference %.3g > %.3g)", key, what, got, want, d, tol);
}

static void test_spss_json(void)
{
    char fx[1024];
    snprintf(fx, sizeof fx, "%s/stats/table1_spss.csv", DOLOR_TEST_FIXTURES);
    dolor_csv *ref = NULL;
    CHECK_OK(dolor_csv_read(fx, &ref));
    if (!ref)
        return;
    char *out = NULL, *err = NULL;
    int rc = dolor_test_run(&out, &err, "stats table '%s' --group arm --vars " VARS " --spss --format json --digits 10",
                            trial);
    CHECKF(rc == 0, "exit %d: %s", rc, err ? err : "");
    const char *p = out ? out : "";
    jv *root = jparse(&p);
    jv *res = jget(root, "results");
    CHECKF(res && res->t == J_ARR && res->n == (int)ref->nrow, "%d results, %zu R rows", res ? res->n : -1,
           ref->nrow);
    int kc = dolor_csv_column(ref, "key"), tc = dolor_csv_column(ref, "test"), pc = dolor_csv_column(ref, "p"),
        p1c = dolor_csv_column(ref, "p1");
    int matched = 0, mw = 0;
    for (int i = 0; res && i < res->n; i++) {
        jv *r = res->items[i], *label = jget(r, "label"), *test = jget(r, "test"), *pv = jget(r, "p"),
           *p1 = jget(r, "p_one_sided"), *var = jget(r, "variant");
        CHECK(label && test && pv && p1 && var);
        if (!label || !test || !pv || !p1 || !var)
            continue;
        for (size_t k = 0; k < ref->nrow; k++) {
            char **row = ref->cells + k * (size_t)ref->ncol;
            if (strcmp(row[kc], label->str))
                continue;
            matched++;
            CHECKF(!strcmp(row[tc], test->str), "%s: test '%s', R '%s'", label->str, test->str, row[tc]);
            rel_close("p", label->str, pv->num, strtod(row[pc], NULL), 1e-9);
            if (row[p1c])
                rel_close("one-sided p", label->str, p1->num, strtod(row[p1c], NULL), 1e-9);
            if (!strcmp(test->str, "Mann-Whitney U")) {
                mw++;
                CHECKF(!strcmp(var->str,
                               "Mann-Whitney U, normal approximation with tie correction, no continuity correction"),
                       "%s: variant '%s'", label->str, var->str);
            }
        }
    }
    CHECKF(matched == (int)ref->nrow, "%d of %zu rows matched", matched, ref->nrow);
    CHECK(mw == 2); /* duration_months and the ordinal pfirrmann */
    jv *w = jget(root, "warnings");
    CHECK(w && w->t == J_ARR && w->n == 1 && strstr(w->items[0]->str, "vas_1m: only the one-sided p"));
    jfree(root);
    free(out);
    free(err);
    dolor_csv_free(ref);
}

static void test_footnotes(void)
{
    char *out = NULL;
    int rc = dolor_test_run(&out, NULL, "stats table '%s' --group arm --vars " VARS " 2>/dev/null", trial);
    CHECK(rc == 0 && out);
    CHECKF(out && strstr(out, "Tests: Student t, equal variances (pooled SD); Pearson chi-square, no continuity "
                              "correction; Mann-Whitney U, normal approximation with tie correction and continuity "
                              "correction; Welch t"),
           "default footnote: %s", out ? out : "");
    CHECK(out && strstr(out, "Fisher exact test (2x2), two-sided") == NULL); /* complication is 2x3 */
    CHECK(out && strstr(out, "Fisher-Freeman-Halton exact test (r x c), two-sided"));
    CHECK(out && strstr(out, "Tests: paired t on the differences."));
    CHECK(out && strstr(out, "P values two-sided; quartiles by R type 7."));
    free(out);
    out = NULL;
    rc = dolor_test_run(&out, NULL, "stats table '%s' --group arm --vars " VARS " --spss 2>/dev/null", trial);
    CHECK(rc == 0 && out);
    CHECKF(out && strstr(out, "Mann-Whitney U, normal approximation with tie correction, no continuity correction"),
           "spss footnote: %s", out ? out : "");
    CHECK(out && strstr(out, "SPSS preset:") && strstr(out, "quartiles by SPSS (type 6)"));
    CHECK(out && strstr(out, "tie correction and continuity correction") == NULL);
    /* duration_months: the SPSS p (0.490) differs from R's default (0.492) in the third decimal */
    CHECK(out && strstr(out, "0.490    Mann-Whitney U"));
    free(out);
}

int main(void)
{
    const char *src = getenv("DOLOR_SOURCE_DIR");
    snprintf(trial, sizeof trial, "%s/examples/table1/trial.csv", src ? src : "..");
    if (dolor_test_bin("stats table")) {
        test_spss_json();
        test_footnotes();
    }
    return dolor_test_finish();
}
