/* eval: segmentation metrics against hand-computed values and against the
 * fixtures of tools/gen_eval_fixtures.py (NumPy counts and metrics, R
 * mean/sd/quantile(type = 7)); empty-case rules, CSV files, the table, error
 * paths and the `dolor eval` command. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "test_util.h"
#include "dolor/eval.h"
#include "dolor/image.h"
#include "dolor/io.h"

#include <stdint.h>

#define FIX DOLOR_TEST_FIXTURES "/eval"

/* ---- tiny CSV reader (no quoting needed for the fixtures) ---- */
typedef struct table {
    int nrows, ncols;
    char *cells[512][16];
} table;

static table *read_table(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    table *t = calloc(1, sizeof *t);
    char line[4096];
    while (fgets(line, sizeof line, fp) && t->nrows < 512) {
        line[strcspn(line, "\r\n")] = 0;
        int c = 0;
        char *save = NULL;
        for (char *tok = strtok_r(line, ",", &save); tok && c < 16; tok = strtok_r(NULL, ",", &save))
            t->cells[t->nrows][c++] = strdup(tok);
        if (c > t->ncols)
            t->ncols = c;
        t->nrows++;
    }
    fclose(fp);
    return t;
}

static void free_table(table *t)
{
    if (!t)
        return;
    for (int r = 0; r < t->nrows; r++)
        for (int c = 0; c < 16; c++)
            free(t->cells[r][c]);
    free(t);
}

static double num(const char *s)
{
    return (!s || strcmp(s, "NA") == 0) ? NAN : strtod(s, NULL);
}

/* ---- hand-computed case ----
 * truth 3x4           pred 3x4
 *   0 0 1 1             0 1 1 1
 *   0 1 1 1             0 0 1 2
 *   2 2 0 0             2 0 0 0
 * class 1: truth at 5 px, pred at 4 px, overlap 3 -> TP 3, FP 1, FN 2, TN 6
 *   IoU 3/6 = 0.5, Dice 6/9, precision 3/4, recall 3/5, specificity 6/7, accuracy 9/12
 * class 2: truth 2 px, pred 2 px, overlap 1 -> TP 1, FP 1, FN 1, TN 9
 *   IoU 1/3, Dice 2/4, precision 1/2, recall 1/2, specificity 9/10, accuracy 10/12
 * class 0: truth 5 px, pred 6 px, overlap 4 -> TP 4, FP 2, FN 1, TN 5
 *   IoU 4/7, Dice 8/11, precision 4/6, recall 4/5, specificity 5/7, accuracy 9/12
 * confusion (rows truth): [4 1 0; 1 3 1; 1 0 1] */
static const uint8_t hand_t[12] = {0, 0, 1, 1, 0, 1, 1, 1, 2, 2, 0, 0};
static const uint8_t hand_p[12] = {0, 1, 1, 1, 0, 0, 1, 2, 2, 0, 0, 0};

static void test_hand(void)
{
    const char *names[] = {"background", "nerve", "vessel"};
    dolor_seg_eval *ev = NULL;
    CHECK_OK(dolor_seg_eval_create(3, names, &ev));
    if (!ev)
        return;
    CHECK_OK(dolor_seg_eval_add(ev, "hand", hand_t, hand_p, 12));
    CHECK(dolor_seg_eval_count(ev) == 1);
    dolor_seg_counts k1 = dolor_seg_eval_case_counts(ev, 0, 1);
    CHECK(k1.tp == 3 && k1.fp == 1 && k1.fn == 2 && k1.tn == 6);
    dolor_seg_counts k2 = dolor_seg_eval_case_counts(ev, 0, 2);
    CHECK(k2.tp == 1 && k2.fp == 1 && k2.fn == 1 && k2.tn == 9);
    dolor_seg_counts k0 = dolor_seg_eval_case_counts(ev, 0, 0);
    CHECK(k0.tp == 4 && k0.fp == 2 && k0.fn == 1 && k0.tn == 5);
    const double e1[6] = {0.5, 6.0 / 9, 0.75, 0.6, 6.0 / 7, 0.75};
    const double e2[6] = {1.0 / 3, 0.5, 0.5, 0.5, 0.9, 10.0 / 12};
    const double e0[6] = {4.0 / 7, 8.0 / 11, 4.0 / 6, 0.8, 5.0 / 7, 0.75};
    for (int m = 0; m < DOLOR_SEG_HD95; m++) {
        CHECK_NEAR(dolor_seg_eval_case_metric(ev, 0, 1, (dolor_seg_metric)m), e1[m], 1e-15);
        CHECK_NEAR(dolor_seg_eval_case_metric(ev, 0, 2, (dolor_seg_metric)m), e2[m], 1e-15);
        CHECK_NEAR(dolor_seg_eval_case_metric(ev, 0, 0, (dolor_seg_metric)m), e0[m], 1e-15);
    }
    const uint64_t conf[9] = {4, 1, 0, 1, 3, 1, 1, 0, 1};
    for (int t = 0; t < 3; t++)
        for (int p = 0; p < 3; p++)
            CHECKF(dolor_seg_eval_confusion(ev, t, p) == conf[t * 3 + p], "conf[%d][%d] = %llu", t, p,
                   (unsigned long long)dolor_seg_eval_confusion(ev, t, p));
    CHECK_NEAR(dolor_seg_eval_mean_dice(ev, 1), 6.0 / 9, 1e-15);
    CHECK_NEAR(dolor_seg_eval_mean_iou(ev, 2), 1.0 / 3, 1e-15);
    CHECK_NEAR(dolor_seg_eval_mean_fg_dice(ev), (6.0 / 9 + 0.5) / 2, 1e-15);

    /* a second case: the same maps with roles swapped (pred as truth) ->
     * class 1 TP 3, FP 2, FN 1: Dice 6/9 again, IoU 0.5; precision 3/5, recall 3/4 */
    CHECK_OK(dolor_seg_eval_add(ev, "swapped", hand_p, hand_t, 12));
    CHECK_NEAR(dolor_seg_eval_case_metric(ev, 1, 1, DOLOR_SEG_PRECISION), 0.6, 1e-15);
    CHECK_NEAR(dolor_seg_eval_case_metric(ev, 1, 1, DOLOR_SEG_RECALL), 0.75, 1e-15);
    dolor_seg_summary s = dolor_seg_eval_summary(ev, 1, DOLOR_SEG_PRECISION);
    CHECK(s.n == 2 && s.n_empty == 0);
    CHECK_NEAR(s.mean, 0.675, 1e-15);
    CHECK_NEAR(s.sd, sqrt(2 * 0.075 * 0.075), 1e-15); /* sample SD of {0.75, 0.6} */
    CHECK_NEAR(s.median, 0.675, 1e-15);
    CHECK_NEAR(s.p25, 0.6375, 1e-15); /* type 7: 0.6 + 0.25 * 0.15 */
    CHECK_NEAR(s.p75, 0.7125, 1e-15);
    /* pooled confusion = conf + its transpose */
    CHECK(dolor_seg_eval_confusion(ev, 0, 1) == 2 && dolor_seg_eval_confusion(ev, 2, 0) == 1 &&
          dolor_seg_eval_confusion(ev, 0, 2) == 1 && dolor_seg_eval_confusion(ev, 1, 1) == 6);
    /* global Dice of class 1: 2*6 / (2*6 + 3 + 3) */
    CHECK_NEAR(dolor_seg_eval_global_dice(ev, 1), 12.0 / 18, 1e-15);
    CHECK(strcmp(dolor_seg_eval_case_id(ev, 1), "swapped") == 0);
    CHECK(dolor_seg_eval_case_id(ev, 2) == NULL);
    CHECK(strcmp(dolor_seg_eval_class_name(ev, 2), "vessel") == 0);
    CHECK(strcmp(dolor_seg_eval_class_name(ev, 3), "?") == 0);
    CHECK(isnan(dolor_seg_eval_mean_dice(ev, 3)));

    /* add_confusion gives the same counts as add */
    dolor_seg_eval *ev2 = NULL;
    CHECK_OK(dolor_seg_eval_create(3, NULL, &ev2));
    CHECK_OK(dolor_seg_eval_add_confusion(ev2, NULL, conf));
    dolor_seg_counts c1 = dolor_seg_eval_case_counts(ev2, 0, 1);
    CHECK(c1.tp == 3 && c1.fp == 1 && c1.fn == 2 && c1.tn == 6);
    CHECK(strcmp(dolor_seg_eval_case_id(ev2, 0), "case0") == 0);
    CHECK(strcmp(dolor_seg_eval_class_name(ev2, 0), "background") == 0);
    CHECK(strcmp(dolor_seg_eval_class_name(ev2, 2), "class2") == 0);
    const uint64_t zero[9] = {0};
    CHECK_ERR(dolor_seg_eval_add_confusion(ev2, "z", zero), DOLOR_EINVAL, "z: empty case");
    dolor_seg_eval_free(ev2);

    dolor_seg_eval_reset(ev);
    CHECK(dolor_seg_eval_count(ev) == 0);
    CHECK(dolor_seg_eval_confusion(ev, 0, 0) == 0);
    CHECK(isnan(dolor_seg_eval_mean_dice(ev, 1)));
    CHECK(isnan(dolor_seg_eval_mean_fg_dice(ev)));
    dolor_seg_summary e = dolor_seg_eval_summary(ev, 1, DOLOR_SEG_DICE);
    CHECK(e.n == 0 && isnan(e.mean) && isnan(e.median));
    CHECK_OK(dolor_seg_eval_add(ev, "again", hand_t, hand_p, 12));
    CHECK_NEAR(dolor_seg_eval_mean_dice(ev, 1), 6.0 / 9, 1e-15);
    dolor_seg_eval_free(ev);
    dolor_seg_eval_free(NULL);
}

static void test_empty_rules(void)
{
    dolor_seg_eval *ev = NULL;
    CHECK_OK(dolor_seg_eval_create(3, NULL, &ev));
    if (!ev)
        return;
    /* A: class 2 in neither -> Dice/IoU NaN, empty; class 1 perfect */
    const uint8_t at[4] = {0, 1, 1, 0}, ap[4] = {0, 1, 1, 0};
    /* B: class 2 predicted but not in truth -> Dice 0, IoU 0, recall NaN, precision 0 */
    const uint8_t bt[4] = {0, 1, 1, 0}, bp[4] = {2, 1, 1, 0};
    /* C: class 1 in truth, nothing predicted -> Dice 0, precision NaN, recall 0 */
    const uint8_t ct[4] = {1, 1, 0, 0}, cp[4] = {0, 0, 0, 0};
    CHECK_OK(dolor_seg_eval_add(ev, "A", at, ap, 4));
    CHECK_OK(dolor_seg_eval_add(ev, "B", bt, bp, 4));
    CHECK_OK(dolor_seg_eval_add(ev, "C", ct, cp, 4));
    CHECK(isnan(dolor_seg_eval_case_metric(ev, 0, 2, DOLOR_SEG_DICE)));
    CHECK(isnan(dolor_seg_eval_case_metric(ev, 0, 2, DOLOR_SEG_IOU)));
    CHECK(isnan(dolor_seg_eval_case_metric(ev, 0, 2, DOLOR_SEG_PRECISION)));
    CHECK(isnan(dolor_seg_eval_case_metric(ev, 0, 2, DOLOR_SEG_RECALL)));
    CHECK_NEAR(dolor_seg_eval_case_metric(ev, 0, 2, DOLOR_SEG_SPECIFICITY), 1.0, 0);
    CHECK_NEAR(dolor_seg_eval_case_metric(ev, 0, 2, DOLOR_SEG_ACCURACY), 1.0, 0);
    CHECK(dolor_seg_eval_case_metric(ev, 1, 2, DOLOR_SEG_DICE) == 0.0);
    CHECK(dolor_seg_eval_case_metric(ev, 1, 2, DOLOR_SEG_IOU) == 0.0);
    CHECK(dolor_seg_eval_case_metric(ev, 1, 2, DOLOR_SEG_PRECISION) == 0.0);
    CHECK(isnan(dolor_seg_eval_case_metric(ev, 1, 2, DOLOR_SEG_RECALL)));
    CHECK_NEAR(dolor_seg_eval_case_metric(ev, 1, 2, DOLOR_SEG_SPECIFICITY), 0.75, 0);
    CHECK(dolor_seg_eval_case_metric(ev, 2, 1, DOLOR_SEG_DICE) == 0.0);
    CHECK(isnan(dolor_seg_eval_case_metric(ev, 2, 1, DOLOR_SEG_PRECISION)));
    CHECK(dolor_seg_eval_case_metric(ev, 2, 1, DOLOR_SEG_RECALL) == 0.0);
    /* class 2 summary: A empty (excluded), B = 0, C empty -> n 1, n_empty 2, mean 0 */
    dolor_seg_summary s = dolor_seg_eval_summary(ev, 2, DOLOR_SEG_DICE);
    CHECK(s.n == 1 && s.n_empty == 2);
    CHECK_NEAR(s.mean, 0.0, 0);
    CHECK(isnan(s.sd)); /* n < 2 */
    CHECK_NEAR(s.median, 0.0, 0);
    CHECK_NEAR(dolor_seg_eval_mean_dice(ev, 2), 0.0, 0);
    /* class 1: Dice 1, 1, 0 -> mean 2/3 */
    CHECK_NEAR(dolor_seg_eval_mean_dice(ev, 1), 2.0 / 3, 1e-15);
    CHECK_NEAR(dolor_seg_eval_mean_fg_dice(ev), 1.0 / 3, 1e-15);
    dolor_seg_eval_free(ev);

    /* a class that never occurs is skipped by the foreground mean */
    CHECK_OK(dolor_seg_eval_create(3, NULL, &ev));
    CHECK_OK(dolor_seg_eval_add(ev, "A", at, ap, 4));
    CHECK(isnan(dolor_seg_eval_mean_dice(ev, 2)));
    CHECK_NEAR(dolor_seg_eval_mean_fg_dice(ev), 1.0, 0);
    CHECK(isnan(dolor_seg_eval_global_dice(ev, 2)));
    dolor_seg_eval_free(ev);
}

static void test_errors(void)
{
    dolor_seg_eval *ev = NULL;
    CHECK_ERR(dolor_seg_eval_create(1, NULL, &ev), DOLOR_EINVAL, "num_classes is 1");
    CHECK(ev == NULL);
    CHECK_ERR(dolor_seg_eval_create(257, NULL, &ev), DOLOR_EINVAL, "257");
    const char *dup[] = {"bg", "nerve", "nerve"};
    CHECK_ERR(dolor_seg_eval_create(3, dup, &ev), DOLOR_EINVAL, "same name 'nerve'");
    const char *empty[] = {"bg", ""};
    CHECK_ERR(dolor_seg_eval_create(2, empty, &ev), DOLOR_EINVAL, "class 1 has an empty name");
    CHECK_OK(dolor_seg_eval_create(3, NULL, &ev));
    if (!ev)
        return;
    const uint8_t t[5] = {0, 1, 2, 0, 1}, bad[5] = {0, 1, 2, 7, 1};
    CHECK_ERR(dolor_seg_eval_add(ev, "case42", t, bad, 5), DOLOR_EINVAL, "case42: pred value 7 at position 3");
    CHECK_ERR(dolor_seg_eval_add(ev, "case43", bad, t, 5), DOLOR_EINVAL, "case43: truth value 7 at position 3");
    CHECK_ERR(dolor_seg_eval_add(ev, "case44", t, t, 0), DOLOR_EINVAL, "case44: empty case");
    CHECK(dolor_seg_eval_count(ev) == 0); /* nothing added on error */
    CHECK(dolor_seg_eval_confusion(ev, 0, 0) == 0);
    /* 256 classes accept every uint8 value */
    dolor_seg_eval *big = NULL;
    CHECK_OK(dolor_seg_eval_create(256, NULL, &big));
    const uint8_t hi[2] = {255, 0};
    CHECK_OK(dolor_seg_eval_add(big, NULL, hi, hi, 2));
    CHECK(dolor_seg_eval_confusion(big, 255, 255) == 1);
    dolor_seg_eval_free(big);
    dolor_seg_eval_free(ev);
}

static void test_quantile7(void)
{
    table *v = read_table(FIX "/quantile7_vectors.csv");
    table *q = read_table(FIX "/quantile7_expected.csv");
    CHECKF(v && q, "quantile fixtures missing in %s", FIX);
    if (!v || !q) {
        free_table(v);
        free_table(q);
        return;
    }
    int checked = 0;
    for (int vi = 0; vi < 16; vi++) {
        double x[64];
        size_t n = 0;
        for (int r = 1; r < v->nrows; r++)
            if (atoi(v->cells[r][0]) == vi && n < 64)
                x[n++] = num(v->cells[r][1]);
        if (!n)
            continue;
        for (int r = 1; r < q->nrows; r++) {
            if (atoi(q->cells[r][0]) != vi)
                continue;
            double p = num(q->cells[r][1]), want = num(q->cells[r][2]);
            double got = dolor_eval_quantile7(x, n, p);
            CHECKF(fabs(got - want) <= 1e-12 * (1 + fabs(want)), "vector %d p %g: %.17g vs R %.17g", vi, p, got,
                   want);
            checked++;
        }
    }
    CHECKF(checked == 49, "checked %d quantiles", checked);
    double one = 3;
    CHECK(isnan(dolor_eval_quantile7(&one, 0, 0.5)));
    CHECK(isnan(dolor_eval_quantile7(&one, 1, 1.5)));
    CHECK(isnan(dolor_eval_quantile7(&one, 1, NAN)));
    free_table(v);
    free_table(q);
}

static const char *fg_names[] = {"nerve", "vessel"};

/* Compare a per-case table (ours or the evaluator's CSV) with the expected one. */
/* A fixture's column name in unit px: the fixtures are written with the mm names ("hd95_mm"); the
 * truth PNGs of tests/fixtures/eval/truth carry no pixel size, so dolor names those columns "_px". */
static const char *in_unit(const char *name, const char *unit, char *buf, size_t n)
{
    size_t l = strlen(name);
    if (!strcmp(unit, "px") && l > 3 && !strcmp(name + l - 3, "_mm")) {
        snprintf(buf, n, "%.*s_px", (int)(l - 3), name);
        return buf;
    }
    return name;
}

static void compare_per_case(const table *got, const table *want, double rel, const char *unit)
{
    CHECKF(got->nrows == want->nrows, "per_case rows %d vs %d", got->nrows, want->nrows);
    int n = got->nrows < want->nrows ? got->nrows : want->nrows;
    for (int c = 0; c < 14; c++) {
        char buf[64];
        CHECKF(got->cells[0][c] && want->cells[0][c] &&
                   strcmp(got->cells[0][c], in_unit(want->cells[0][c], unit, buf, sizeof buf)) == 0,
               "header column %d: %s", c, got->cells[0][c]);
    }
    int bad = 0;
    for (int r = 1; r < n; r++) {
        for (int c = 0; c < 2; c++)
            bad += strcmp(got->cells[r][c], want->cells[r][c]) != 0;
        for (int c = 2; c < 14; c++) {
            double a = num(got->cells[r][c]), b = num(want->cells[r][c]);
            if (!(fabs(a - b) <= rel * (1 + fabs(b)) || (isnan(a) && isnan(b)))) {
                if (bad < 5)
                    fprintf(stderr, "per_case row %d col %d: %s vs %s\n", r, c, got->cells[r][c], want->cells[r][c]);
                bad++;
            }
        }
    }
    CHECKF(bad == 0, "%d per_case cells differ", bad);
}

static void test_folders(void)
{
    table *wp = read_table(FIX "/expected_per_case.csv");
    table *ws = read_table(FIX "/expected_summary.csv");
    table *wc = read_table(FIX "/expected_confusion.csv");
    CHECKF(wp && ws && wc, "fixtures missing in %s", FIX);
    if (!wp || !ws || !wc) {
        free_table(wp);
        free_table(ws);
        free_table(wc);
        return;
    }
    char *warnbuf = NULL;
    size_t warnlen = 0;
    FILE *warn = open_memstream(&warnbuf, &warnlen);
    dolor_seg_folder_opts o = {0};
    o.pred_dir = FIX "/pred";
    o.truth_dir = FIX "/truth";
    o.class_names = fg_names;
    o.nnames = 2;
    o.warn = warn;
    dolor_seg_eval *ev = NULL;
    CHECK_OK(dolor_seg_eval_folders(&o, &ev));
    fclose(warn);
    CHECKF(warnbuf && strstr(warnbuf, "z_extra.png has no ground truth"), "warnings: %s", warnbuf);
    CHECKF(warnbuf && !strstr(warnbuf, "notes.txt"), "warnings: %s", warnbuf);
    free(warnbuf);
    if (!ev) {
        free_table(wp);
        free_table(ws);
        free_table(wc);
        return;
    }
    CHECK(dolor_seg_eval_count(ev) == 8);
    CHECK(dolor_seg_eval_num_classes(ev) == 3);
    /* HD95 units follow the spacing: these truth PNGs have no pHYs chunk, so distances are pixels */
    CHECK(strcmp(dolor_seg_eval_distance_unit(ev), "px") == 0);
    CHECK(strcmp(dolor_seg_eval_metric_column(ev, DOLOR_SEG_HD95), "hd95_px") == 0 &&
          strcmp(dolor_seg_eval_metric_column(ev, DOLOR_SEG_ASSD), "assd_px") == 0 &&
          strcmp(dolor_seg_eval_metric_column(ev, DOLOR_SEG_DICE), "dice") == 0);
    CHECK(strcmp(dolor_seg_eval_case_id(ev, 6), "c07") == 0); /* the NIfTI prediction */
    CHECK(strcmp(dolor_seg_eval_class_name(ev, 1), "nerve") == 0);

    /* per-case values straight from the evaluator */
    int bad = 0;
    for (int r = 1; r < wp->nrows; r++) {
        size_t i = (size_t)(r - 1) / 3;
        int c = (r - 1) % 3;
        dolor_seg_counts k = dolor_seg_eval_case_counts(ev, i, c);
        bad += strcmp(dolor_seg_eval_case_id(ev, i), wp->cells[r][0]) != 0;
        bad += strcmp(dolor_seg_eval_class_name(ev, c), wp->cells[r][1]) != 0;
        bad += k.tp != (uint64_t)atoll(wp->cells[r][2]) || k.fp != (uint64_t)atoll(wp->cells[r][3]) ||
               k.fn != (uint64_t)atoll(wp->cells[r][4]) || k.tn != (uint64_t)atoll(wp->cells[r][5]);
        for (int m = 0; m < DOLOR_SEG_NMETRICS; m++) {
            double a = dolor_seg_eval_case_metric(ev, i, c, (dolor_seg_metric)m), b = num(wp->cells[r][6 + m]);
            if (!(fabs(a - b) <= 1e-12 || (isnan(a) && isnan(b)))) {
                fprintf(stderr, "%s %s %s: %.17g vs %.17g\n", wp->cells[r][0], wp->cells[r][1],
                        dolor_seg_metric_name((dolor_seg_metric)m), a, b);
                bad++;
            }
        }
    }
    CHECKF(bad == 0, "%d per-case values differ from NumPy/SciPy", bad);

    /* summaries against R */
    bad = 0;
    for (int r = 1; r < ws->nrows; r++) {
        int c = -1, m = -1;
        for (int j = 0; j < 3; j++)
            if (!strcmp(dolor_seg_eval_class_name(ev, j), ws->cells[r][0]))
                c = j;
        for (int j = 0; j < DOLOR_SEG_NMETRICS; j++)
            if (!strcmp(dolor_seg_metric_name((dolor_seg_metric)j), ws->cells[r][1]))
                m = j;
        if (c < 0 || m < 0) {
            bad++;
            continue;
        }
        dolor_seg_summary s = dolor_seg_eval_summary(ev, c, (dolor_seg_metric)m);
        double got[5] = {s.mean, s.sd, s.median, s.p25, s.p75};
        for (int j = 0; j < 5; j++) {
            double want = num(ws->cells[r][3 + j]);
            if (!(fabs(got[j] - want) <= 1e-12 || (isnan(got[j]) && isnan(want)))) {
                fprintf(stderr, "summary %s/%s col %d: %.17g vs R %.17g\n", ws->cells[r][0], ws->cells[r][1], j,
                        got[j], want);
                bad++;
            }
        }
        bad += s.n != (size_t)atoi(ws->cells[r][2]) || s.n_empty != (size_t)atoi(ws->cells[r][8]);
    }
    CHECKF(bad == 0, "%d summary values differ from R", bad);
    CHECK(ws->nrows == 1 + 3 * DOLOR_SEG_NMETRICS);
    /* the documented empty rules show in the fixture: vessel empty in c06 and c08 */
    CHECK(dolor_seg_eval_summary(ev, 2, DOLOR_SEG_DICE).n_empty == 2);
    CHECK(dolor_seg_eval_summary(ev, 2, DOLOR_SEG_DICE).n == 6);
    CHECK(dolor_seg_eval_case_metric(ev, 6, 2, DOLOR_SEG_DICE) == 0.0);

    /* confusion */
    bad = 0;
    for (int t = 0; t < 3; t++)
        for (int p = 0; p < 3; p++)
            bad += dolor_seg_eval_confusion(ev, t, p) != (uint64_t)atoll(wc->cells[1 + t][1 + p]);
    CHECKF(bad == 0, "%d confusion cells differ", bad);
    const int ndr = 1 + DOLOR_SEG_NMETRICS + DOLOR_SEG_DICE, vdr = 1 + 2 * DOLOR_SEG_NMETRICS + DOLOR_SEG_DICE;
    CHECK(strcmp(ws->cells[ndr][0], "nerve") == 0 && strcmp(ws->cells[ndr][1], "dice") == 0);
    CHECK(strcmp(ws->cells[vdr][0], "vessel") == 0 && strcmp(ws->cells[vdr][1], "dice") == 0);
    CHECK_NEAR(dolor_seg_eval_mean_dice(ev, 1), num(ws->cells[ndr][3]), 1e-12);
    CHECK_NEAR(dolor_seg_eval_mean_fg_dice(ev), (num(ws->cells[ndr][3]) + num(ws->cells[vdr][3])) / 2, 1e-12);

    /* CSV files */
    char dir[] = "/tmp/dolor_eval_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char out[512], path[600];
    snprintf(out, sizeof out, "%s/a/b", dir); /* parents created */
    CHECK_OK(dolor_seg_eval_write_csv(ev, out));
    snprintf(path, sizeof path, "%s/per_case.csv", out);
    table *gp = read_table(path);
    CHECK(gp != NULL);
    if (gp)
        compare_per_case(gp, wp, 1e-9, "px"); /* %.10g */
    free_table(gp);
    snprintf(path, sizeof path, "%s/summary.csv", out);
    table *gs = read_table(path);
    CHECK(gs != NULL);
    if (gs) {
        CHECK(gs->nrows == ws->nrows);
        bad = 0;
        for (int r = 0; r < gs->nrows && r < ws->nrows; r++)
            for (int c = 0; c < 9; c++) {
                if (r == 0 || c < 3 || c == 8) {
                    char buf[64];
                    bad += strcmp(gs->cells[r][c], in_unit(ws->cells[r][c], "px", buf, sizeof buf)) != 0;
                } else {
                    double a = num(gs->cells[r][c]), b = num(ws->cells[r][c]);
                    bad += !(fabs(a - b) <= 1e-9 * (1 + fabs(b)) || (isnan(a) && isnan(b)));
                }
            }
        CHECKF(bad == 0, "%d summary.csv cells differ", bad);
    }
    free_table(gs);
    snprintf(path, sizeof path, "%s/confusion.csv", out);
    char *conf = dolor_test_slurp(path, NULL), *wconf = dolor_test_slurp(FIX "/expected_confusion.csv", NULL);
    CHECKF(conf && wconf && strcmp(conf, wconf) == 0, "confusion.csv:\n%s\nexpected:\n%s", conf, wconf);
    free(conf);
    free(wconf);

    /* printed table */
    char *pbuf = NULL;
    size_t plen = 0;
    FILE *pf = open_memstream(&pbuf, &plen);
    dolor_seg_eval_print(ev, pf);
    fclose(pf);
    char want_line[128];
    dolor_seg_summary nd = dolor_seg_eval_summary(ev, 1, DOLOR_SEG_DICE);
    snprintf(want_line, sizeof want_line, "%.3f +/- %.3f", nd.mean, nd.sd);
    CHECKF(pbuf && strstr(pbuf, "8 cases, 3 classes") && strstr(pbuf, want_line) && strstr(pbuf, "vessel") &&
               strstr(pbuf, "Pixel confusion matrix") && strstr(pbuf, "row %"),
           "table:\n%s", pbuf);
    snprintf(want_line, sizeof want_line, "%.3f [%.3f, %.3f]", nd.median, nd.p25, nd.p75);
    CHECKF(pbuf && strstr(pbuf, want_line), "missing '%s'", want_line);
    CHECKF(pbuf && strstr(pbuf, "HD95 px median") && !strstr(pbuf, "HD95 mm") && strstr(pbuf, "in pixels (px)"),
           "table does not give HD95 in pixels:\n%s", pbuf);
    /* vessel row: n 6, empty 2 */
    CHECKF(pbuf && strstr(pbuf, "vessel         6     2"), "table:\n%s", pbuf);
    free(pbuf);
    dolor_seg_eval_free(ev);

    /* labels given: vessel only (nerve counted as background), and reordered classes */
    long only2[] = {2};
    const char *vname[] = {"vessel"};
    dolor_seg_folder_opts o2 = o;
    o2.labels = only2;
    o2.nlabels = 1;
    o2.class_names = vname;
    o2.nnames = 1;
    warnbuf = NULL;
    warn = open_memstream(&warnbuf, &warnlen);
    o2.warn = warn;
    CHECK_OK(dolor_seg_eval_folders(&o2, &ev));
    fclose(warn);
    CHECKF(warnbuf && strstr(warnbuf, "label value 1 is not in --labels; counted as background"), "warn: %s",
           warnbuf);
    free(warnbuf);
    if (ev) {
        CHECK(dolor_seg_eval_num_classes(ev) == 2);
        bad = 0;
        for (size_t i = 0; i < 8; i++) {
            dolor_seg_counts k = dolor_seg_eval_case_counts(ev, i, 1);
            int r = 1 + (int)i * 3 + 2;
            bad += k.tp != (uint64_t)atoll(wp->cells[r][2]) || k.fp != (uint64_t)atoll(wp->cells[r][3]) ||
                   k.fn != (uint64_t)atoll(wp->cells[r][4]);
        }
        CHECKF(bad == 0, "%d vessel-only counts differ", bad);
        dolor_seg_eval_free(ev);
    }
    long rev[] = {2, 1};
    const char *rnames[] = {"vessel", "nerve"};
    o2.labels = rev;
    o2.nlabels = 2;
    o2.class_names = rnames;
    o2.nnames = 2;
    o2.warn = NULL;
    CHECK_OK(dolor_seg_eval_folders(&o2, &ev));
    if (ev) {
        CHECK(strcmp(dolor_seg_eval_class_name(ev, 1), "vessel") == 0);
        /* c01 vessel counts (expected row 3) are class 1 now; nerve (row 2) class 2 */
        dolor_seg_counts k = dolor_seg_eval_case_counts(ev, 0, 1);
        CHECK(k.tp == (uint64_t)atoll(wp->cells[3][2]) && k.fp == (uint64_t)atoll(wp->cells[3][3]));
        k = dolor_seg_eval_case_counts(ev, 0, 2);
        CHECK(k.tp == (uint64_t)atoll(wp->cells[2][2]) && k.fn == (uint64_t)atoll(wp->cells[2][4]));
        CHECK(dolor_seg_eval_confusion(ev, 1, 2) == (uint64_t)atoll(wc->cells[3][2]));
        dolor_seg_eval_free(ev);
    }
    /* default names and discovered labels */
    dolor_seg_folder_opts o3 = {0};
    o3.pred_dir = FIX "/pred";
    o3.truth_dir = FIX "/truth";
    CHECK_OK(dolor_seg_eval_folders(&o3, &ev));
    if (ev) {
        CHECK(dolor_seg_eval_num_classes(ev) == 3);
        CHECK(strcmp(dolor_seg_eval_class_name(ev, 1), "class1") == 0);
        CHECK(strcmp(dolor_seg_eval_class_name(ev, 2), "class2") == 0);
        dolor_seg_eval_free(ev);
    }
    /* names count must match the values found */
    o3.class_names = vname;
    o3.nnames = 1;
    CHECK_ERR(dolor_seg_eval_folders(&o3, &ev), DOLOR_EINVAL, "1 class names given but 2 label values found (1,2)");
    CHECK(ev == NULL);
    /* bad options */
    long zero[] = {0};
    o3.labels = zero;
    o3.nlabels = 1;
    CHECK_ERR(dolor_seg_eval_folders(&o3, &ev), DOLOR_EINVAL, "label value 0");
    long twice[] = {1, 1};
    o3.labels = twice;
    o3.nlabels = 2;
    o3.class_names = NULL;
    CHECK_ERR(dolor_seg_eval_folders(&o3, &ev), DOLOR_EINVAL, "given twice");
    dolor_test_rm_rf(dir);
    free_table(wp);
    free_table(ws);
    free_table(wc);
}

/* Surface distances: by hand, against SciPy (MONAI recipe) in 3D with
 * anisotropic spacing, and add_image == folder evaluation. */
static void test_surface(void)
{
    /* one voxel each, spacing 0.5 x 2 mm: truth (1,1), pred (4,5) ->
     * distance sqrt((3*0.5)^2 + (4*2)^2) both ways = HD95 = ASSD */
    dolor_image *t = NULL, *p = NULL;
    CHECK_OK(dolor_image_create2d(&t, DOLOR_U8, 1, 6, 7));
    CHECK_OK(dolor_image_create2d(&p, DOLOR_I16, 1, 6, 7));
    dolor_seg_eval *ev = NULL;
    CHECK_OK(dolor_seg_eval_create(3, NULL, &ev));
    if (!t || !p || !ev)
        return;
    t->spacing[0] = 0.5;
    t->spacing[1] = 2.0;
    ((uint8_t *)t->data)[1 * 6 + 1] = 1;
    ((int16_t *)p->data)[5 * 6 + 4] = 1;
    CHECK_OK(dolor_seg_eval_add_image(ev, "dot", t, p));
    double want = sqrt(1.5 * 1.5 + 8.0 * 8.0);
    CHECK_NEAR(dolor_seg_eval_case_metric(ev, 0, 1, DOLOR_SEG_HD95), want, 1e-12);
    CHECK_NEAR(dolor_seg_eval_case_metric(ev, 0, 1, DOLOR_SEG_ASSD), want, 1e-12);
    CHECK(isnan(dolor_seg_eval_case_metric(ev, 0, 2, DOLOR_SEG_HD95))); /* class 2 absent */
    CHECK(isnan(dolor_seg_eval_case_metric(ev, 0, 0, DOLOR_SEG_HD95))); /* background */
    CHECK(strcmp(dolor_seg_eval_distance_unit(ev), "mm") == 0);
    /* a truth without a pixel size after one with: an error naming the case, nothing added */
    t->spacing_unknown = 1;
    CHECK_ERR(dolor_seg_eval_add_image(ev, "nopx", t, p), DOLOR_EINVAL, "nopx: the ground truth has no pixel size");
    CHECK(dolor_seg_eval_count(ev) == 1 && strcmp(dolor_seg_eval_distance_unit(ev), "mm") == 0);
    t->spacing_unknown = 0;
    CHECK(dolor_seg_eval_case_counts(ev, 0, 1).fp == 1 && dolor_seg_eval_case_counts(ev, 0, 1).fn == 1);
    /* 2x2 square truth at x 1..2, y 1..2; pred the same square plus a pixel at
     * (5, 6): from pred's surface to truth's: 0 (4x) and sqrt(3^2 + 4^2) *
     * spacing... with spacing 0.5 x 2: (5,6)->(2,2) = sqrt(1.5^2 + 8^2); truth->pred all 0.
     * P95 of {0,0,0,0,d} = 0.8 * d (type 7: h = 3.8); ASSD = d / 9 */
    memset(t->data, 0, 42);
    memset(p->data, 0, 42 * 2);
    for (int y = 1; y <= 2; y++)
        for (int x = 1; x <= 2; x++) {
            ((uint8_t *)t->data)[y * 6 + x] = 1;
            ((int16_t *)p->data)[y * 6 + x] = 1;
        }
    ((int16_t *)p->data)[6 * 6 + 5] = 1;
    CHECK_OK(dolor_seg_eval_add_image(ev, "square", t, p));
    double d = sqrt(1.5 * 1.5 + 8.0 * 8.0);
    CHECK_NEAR(dolor_seg_eval_case_metric(ev, 1, 1, DOLOR_SEG_HD95), 0.8 * d, 1e-12);
    CHECK_NEAR(dolor_seg_eval_case_metric(ev, 1, 1, DOLOR_SEG_ASSD), d / 9, 1e-12);
    /* summary over the two cases (R type 7 of two values) */
    dolor_seg_summary hs = dolor_seg_eval_summary(ev, 1, DOLOR_SEG_HD95);
    CHECK(hs.n == 2);
    CHECK_NEAR(hs.median, 0.9 * d, 1e-12);
    /* errors: bad value, size, components; nothing added */
    ((int16_t *)p->data)[7] = 3;
    CHECK_ERR(dolor_seg_eval_add_image(ev, "bad", t, p), DOLOR_EINVAL, "bad: pred value 3 at voxel 7");
    ((int16_t *)p->data)[7] = -1;
    CHECK_ERR(dolor_seg_eval_add_image(ev, "bad", t, p), DOLOR_EINVAL, "bad: pred value -1 at voxel 7");
    dolor_image *small = NULL, *rgb = NULL;
    CHECK_OK(dolor_image_create2d(&small, DOLOR_U8, 1, 6, 6));
    CHECK_ERR(dolor_seg_eval_add_image(ev, "sz", t, small), DOLOR_ESHAPE, "sz: pred is 6x6 but truth is 6x7");
    CHECK_OK(dolor_image_create2d(&rgb, DOLOR_U8, 3, 6, 7));
    CHECK_ERR(dolor_seg_eval_add_image(ev, "rgb", rgb, t), DOLOR_EUNSUPPORTED, "1 component");
    CHECK(dolor_seg_eval_count(ev) == 2);
    dolor_image_free(small);
    dolor_image_free(rgb);
    dolor_image_free(t);
    dolor_image_free(p);
    dolor_seg_eval_free(ev);

    /* 3D volume, masks in one slice: every voxel of a one-slice square is
     * surface (z faces). truth = 3x3 square at z 2, pred = its centre voxel;
     * spacing 1 x 2 x 3 mm. pred->truth: {0}; truth->pred: 0, 1, 1, 2, 2 and
     * 4x sqrt(5). HD95 = P95 of the nine = sqrt(5) (h = 7.6 between two
     * sqrt(5)); ASSD = (2 + 4 + 4 sqrt(5)) / 10. */
    {
        const int64_t sz[3] = {5, 5, 5};
        dolor_image *t3 = NULL, *p3 = NULL;
        dolor_seg_eval *e3 = NULL;
        CHECK_OK(dolor_image_create(&t3, DOLOR_U8, 1, 3, sz));
        CHECK_OK(dolor_image_create(&p3, DOLOR_U8, 1, 3, sz));
        CHECK_OK(dolor_seg_eval_create(2, NULL, &e3));
        if (t3 && p3 && e3) {
            t3->spacing[0] = 1;
            t3->spacing[1] = 2;
            t3->spacing[2] = 3;
            for (int y = 1; y <= 3; y++)
                for (int x = 1; x <= 3; x++)
                    ((uint8_t *)t3->data)[(2 * 5 + y) * 5 + x] = 1;
            ((uint8_t *)p3->data)[(2 * 5 + 2) * 5 + 2] = 1;
            CHECK_OK(dolor_seg_eval_add_image(e3, "slab", t3, p3));
            CHECK_NEAR(dolor_seg_eval_case_metric(e3, 0, 1, DOLOR_SEG_HD95), sqrt(5.0), 1e-12);
            CHECK_NEAR(dolor_seg_eval_case_metric(e3, 0, 1, DOLOR_SEG_ASSD), (6 + 4 * sqrt(5.0)) / 10, 1e-12);
        }
        dolor_image_free(t3);
        dolor_image_free(p3);
        dolor_seg_eval_free(e3);
    }

    /* 3D, anisotropic, against SciPy */
    table *w3 = read_table(FIX "/expected_3d.csv");
    CHECKF(w3 != NULL, "missing %s/expected_3d.csv", FIX);
    dolor_seg_folder_opts o = {0};
    o.pred_dir = FIX "/pred3d";
    o.truth_dir = FIX "/truth3d";
    o.class_names = fg_names;
    o.nnames = 2;
    CHECK_OK(dolor_seg_eval_folders(&o, &ev));
    if (w3 && ev) {
        CHECK(dolor_seg_eval_count(ev) == 2);
        CHECK(strcmp(dolor_seg_eval_distance_unit(ev), "mm") == 0); /* NIfTI: the spacing is known */
        CHECK(strcmp(dolor_seg_eval_metric_column(ev, DOLOR_SEG_HD95), "hd95_mm") == 0);
        int bad = 0;
        for (int r = 1; r < w3->nrows; r++) {
            size_t i = (size_t)(r - 1) / 2;
            int c = 1 + (r - 1) % 2;
            dolor_seg_counts k = dolor_seg_eval_case_counts(ev, i, c);
            bad += strcmp(dolor_seg_eval_case_id(ev, i), w3->cells[r][0]) != 0;
            bad += k.tp != (uint64_t)atoll(w3->cells[r][2]) || k.fp != (uint64_t)atoll(w3->cells[r][3]) ||
                   k.fn != (uint64_t)atoll(w3->cells[r][4]) || k.tn != (uint64_t)atoll(w3->cells[r][5]);
            double hd = dolor_seg_eval_case_metric(ev, i, c, DOLOR_SEG_HD95);
            double as = dolor_seg_eval_case_metric(ev, i, c, DOLOR_SEG_ASSD);
            if (fabs(hd - num(w3->cells[r][6])) > 1e-12 || fabs(as - num(w3->cells[r][7])) > 1e-12) {
                fprintf(stderr, "3d %s %s: hd95 %.17g vs %s, assd %.17g vs %s\n", w3->cells[r][0], w3->cells[r][1],
                        hd, w3->cells[r][6], as, w3->cells[r][7]);
                bad++;
            }
        }
        CHECKF(bad == 0, "%d 3D values differ from SciPy", bad);
    }
    dolor_seg_eval_free(ev);
    ev = NULL;
    free_table(w3);

    /* add_image on the 2D fixture files == folder evaluation */
    dolor_seg_eval *ref = NULL;
    o.pred_dir = FIX "/pred";
    o.truth_dir = FIX "/truth";
    CHECK_OK(dolor_seg_eval_folders(&o, &ref));
    const char *names[] = {"background", "nerve", "vessel"};
    CHECK_OK(dolor_seg_eval_create(3, names, &ev));
    const char *ids[] = {"c01", "c02", "c03", "c04", "c05", "c06", "c07", "c08"};
    int bad = 0;
    for (int i = 0; i < 8 && ev && ref; i++) {
        char tp[600], pp[600];
        snprintf(tp, sizeof tp, "%s/truth/%s.png", FIX, ids[i]);
        snprintf(pp, sizeof pp, i == 6 ? "%s/pred/%s.nii.gz" : "%s/pred/%s.png", FIX, ids[i]);
        dolor_image *ti = NULL, *pi = NULL;
        CHECK_OK(dolor_image_read(tp, &ti));
        CHECK_OK(dolor_image_read(pp, &pi));
        if (ti && pi) {
            CHECK_OK(dolor_seg_eval_add_image(ev, ids[i], ti, pi));
            for (int c = 0; c < 3; c++)
                for (int m = 0; m < DOLOR_SEG_NMETRICS; m++) {
                    double a = dolor_seg_eval_case_metric(ev, (size_t)i, c, (dolor_seg_metric)m);
                    double b = dolor_seg_eval_case_metric(ref, (size_t)i, c, (dolor_seg_metric)m);
                    bad += !(a == b || (isnan(a) && isnan(b)));
                }
        }
        dolor_image_free(ti);
        dolor_image_free(pi);
    }
    CHECKF(bad == 0, "%d values differ between add_image and the folder evaluation", bad);
    dolor_seg_eval_free(ev);
    dolor_seg_eval_free(ref);
}

/* Write a uint8 label map PNG of w x h filled with v, with pixel 0 = v0. */
static void write_map(const char *path, int w, int h, int v, int v0)
{
    dolor_image *img = NULL;
    if (dolor_image_create2d(&img, DOLOR_U8, 1, w, h) != DOLOR_OK)
        return;
    uint8_t *p = img->data;
    memset(p, v, (size_t)w * (size_t)h);
    p[0] = (uint8_t)v0;
    CHECK_OK(dolor_png_write_labels(path, img, NULL, 0));
    dolor_image_free(img);
}

static void test_folder_errors(void)
{
    char dir[] = "/tmp/dolor_evalerr_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char t[600], p[600], f[700], g[700];
    snprintf(t, sizeof t, "%s/truth", dir);
    snprintf(p, sizeof p, "%s/pred", dir);
    CHECK_OK(dolor_mkdir_p(t));
    CHECK_OK(dolor_mkdir_p(p));
    dolor_seg_folder_opts o = {0};
    o.truth_dir = t;
    o.pred_dir = p;
    dolor_seg_eval *ev = NULL;
    CHECK_ERR(dolor_seg_eval_folders(&o, &ev), DOLOR_ENOTFOUND, "no label maps");

    snprintf(f, sizeof f, "%s/a.png", t);
    write_map(f, 10, 8, 1, 0);
    snprintf(f, sizeof f, "%s/b.png", t);
    write_map(f, 10, 8, 0, 1);
    snprintf(f, sizeof f, "%s/a.png", p);
    write_map(f, 10, 8, 1, 1);
    /* b has no prediction */
    CHECK_ERR(dolor_seg_eval_folders(&o, &ev), DOLOR_ENOTFOUND, "/truth/b.png has no prediction in");
    CHECK(strstr(dolor_errmsg(), "1 of 2 truth files") != NULL);
    /* --allow-missing: b skipped with a warning */
    char *wb = NULL;
    size_t wl = 0;
    FILE *warn = open_memstream(&wb, &wl);
    o.allow_missing = 1;
    o.warn = warn;
    CHECK_OK(dolor_seg_eval_folders(&o, &ev));
    fclose(warn);
    CHECKF(wb && strstr(wb, "b.png has no prediction"), "warn: %s", wb);
    free(wb);
    CHECK(ev && dolor_seg_eval_count(ev) == 1);
    if (ev) /* truth a: 79 ones + one 0; pred all ones -> nerve TP 79, FP 1 */
        CHECK(dolor_seg_eval_case_counts(ev, 0, 1).tp == 79 && dolor_seg_eval_case_counts(ev, 0, 1).fp == 1);
    dolor_seg_eval_free(ev);
    ev = NULL;
    o.allow_missing = 0;
    o.warn = NULL;

    /* size mismatch names both files and sizes */
    snprintf(g, sizeof g, "%s/b.png", p);
    write_map(g, 8, 10, 0, 0);
    CHECK_ERR(dolor_seg_eval_folders(&o, &ev), DOLOR_ESHAPE, "/pred/b.png is 8x10 but ");
    CHECK(strstr(dolor_errmsg(), "/truth/b.png is 10x8") != NULL);
    CHECK(ev == NULL);

    /* same stem twice in one folder */
    snprintf(g, sizeof g, "%s/b.nii.gz", p);
    FILE *fp = fopen(g, "wb");
    if (fp)
        fclose(fp);
    CHECK_ERR(dolor_seg_eval_folders(&o, &ev), DOLOR_EINVAL, "same stem 'b'");
    remove(g);

    /* an RGB file is not a label map */
    dolor_image *rgb = NULL;
    CHECK_OK(dolor_image_create2d(&rgb, DOLOR_U8, 3, 10, 8));
    snprintf(g, sizeof g, "%s/b.png", p);
    CHECK_OK(dolor_png_write(g, rgb));
    dolor_image_free(rgb);
    CHECK_ERR(dolor_seg_eval_folders(&o, &ev), DOLOR_EUNSUPPORTED, "3 components");

    /* a corrupt prediction: the reader's error comes through */
    fp = fopen(g, "wb");
    if (fp) {
        fputs("\x89PNG\r\n\x1a\nnot really", fp);
        fclose(fp);
    }
    dolor_status s = dolor_seg_eval_folders(&o, &ev);
    CHECKF(s != DOLOR_OK && strstr(dolor_errmsg(), "b.png"), "%s: %s", dolor_status_name(s), dolor_errmsg());
    CHECK(ev == NULL);

    /* a non-integer label value (float NIfTI) names the file, value and voxel */
    remove(g);
    dolor_image *fl = NULL;
    CHECK_OK(dolor_image_create2d(&fl, DOLOR_F32, 1, 10, 8));
    if (fl) {
        ((float *)fl->data)[13] = 0.5f;
        snprintf(g, sizeof g, "%s/b.nii", p);
        CHECK_OK(dolor_nifti_write(g, fl));
        CHECK_ERR(dolor_seg_eval_folders(&o, &ev), DOLOR_EINVAL, "b.nii: value 0.5 at voxel 13 is not a label");
        ((float *)fl->data)[13] = -1.0f;
        CHECK_OK(dolor_nifti_write(g, fl));
        CHECK_ERR(dolor_seg_eval_folders(&o, &ev), DOLOR_EINVAL, "value -1 at voxel 13");
        /* integral float values are fine */
        ((float *)fl->data)[13] = 2.0f;
        CHECK_OK(dolor_nifti_write(g, fl));
        CHECK_OK(dolor_seg_eval_folders(&o, &ev));
        if (ev) /* labels found: 1 (truth) and 2 (pred b) */
            CHECK(dolor_seg_eval_num_classes(ev) == 3 && dolor_seg_eval_confusion(ev, 0, 2) == 1);
        dolor_seg_eval_free(ev);
        ev = NULL;
        remove(g);
        dolor_image_free(fl);
    }
    /* a grey image with more than 256 values is not a label map */
    dolor_image *grey = NULL;
    CHECK_OK(dolor_image_create2d(&grey, DOLOR_U16, 1, 10, 8));
    snprintf(g, sizeof g, "%s/b.png", t); /* replace the truth b (10x8) */
    if (grey) {
        for (int i = 0; i < 80; i++)
            ((uint16_t *)grey->data)[i] = (uint16_t)(i * 300);
        CHECK_OK(dolor_png_write(g, grey));
        snprintf(g, sizeof g, "%s/b.png", p);
        CHECK_OK(dolor_png_write(g, grey));
        CHECK_OK(dolor_seg_eval_folders(&o, &ev)); /* 80 values up to 23700, plus label 1 of case a: 81 classes */
        if (ev)
            CHECK(dolor_seg_eval_num_classes(ev) == 81 && strcmp(dolor_seg_eval_class_name(ev, 80), "class23700") == 0);
        dolor_seg_eval_free(ev);
        ev = NULL;
        dolor_image_free(grey);
        grey = NULL;
    }
    CHECK_OK(dolor_image_create2d(&grey, DOLOR_U16, 1, 20, 15));
    if (grey) {
        for (int i = 0; i < 300; i++)
            ((uint16_t *)grey->data)[i] = (uint16_t)(1000 + i);
        snprintf(g, sizeof g, "%s/b.png", t);
        CHECK_OK(dolor_png_write(g, grey));
        snprintf(g, sizeof g, "%s/b.png", p);
        CHECK_OK(dolor_png_write(g, grey));
        CHECK_ERR(dolor_seg_eval_folders(&o, &ev), DOLOR_EINVAL, "more than 256 distinct values");
        dolor_image_free(grey);
    }

    /* missing directory */
    o.pred_dir = "/nonexistent/pred";
    CHECK_ERR(dolor_seg_eval_folders(&o, &ev), DOLOR_ENOTFOUND, "/nonexistent/pred: cannot open directory");
    o.pred_dir = NULL;
    CHECK_ERR(dolor_seg_eval_folders(&o, &ev), DOLOR_EINVAL, "required");
    dolor_test_rm_rf(dir);

    /* CSV quoting of odd case ids; unwritable directory */
    dolor_seg_eval *q = NULL;
    CHECK_OK(dolor_seg_eval_create(2, NULL, &q));
    const uint8_t a[2] = {0, 1};
    CHECK_OK(dolor_seg_eval_add(q, "pat,1 \"x\"", a, a, 2));
    char qd[] = "/tmp/dolor_evalq_XXXXXX";
    CHECK(mkdtemp(qd) != NULL);
    CHECK_OK(dolor_seg_eval_write_csv(q, qd));
    snprintf(f, sizeof f, "%s/per_case.csv", qd);
    char *txt = dolor_test_slurp(f, NULL);
    CHECKF(txt && strstr(txt, "\n\"pat,1 \"\"x\"\"\",class1,1,0,0,1,1,1,1,1,1,1,NA,NA\n"), "per_case.csv:\n%s", txt);
    free(txt);
    dolor_test_rm_rf(qd);
    CHECK_ERR(dolor_seg_eval_write_csv(q, "/proc/dolor-no/such"), DOLOR_EIO, "/proc/dolor-no");
    dolor_seg_eval_free(q);
}

/* `dolor eval` through the program (when DOLOR_BIN points at it). */
static void test_cli(void)
{
    if (!dolor_test_bin("dolor eval checks"))
        return;
    char dir[64], path[700], pd[700], *so = NULL, *se = NULL;
    if (!dolor_test_tmpdir(dir, sizeof dir, "evalcli"))
        return;
    CHECK(dolor_test_run(&so, NULL, "eval --help") == 0);
    CHECKF(so && strstr(so, "--allow-missing") && strstr(so, "--truth DIR"), "help: %s", so);
    free(so);
    CHECK(dolor_test_run(&so, &se, "eval --pred %s/pred --truth %s/truth --classes nerve,vessel -o %s/out", FIX, FIX,
                         dir) == 0);
    snprintf(path, sizeof path, "%s/out/per_case.csv", dir);
    table *got = read_table(path), *want = read_table(FIX "/expected_per_case.csv");
    CHECK(got && want);
    if (got && want)
        compare_per_case(got, want, 1e-9, "px");
    free_table(got);
    free_table(want);
    CHECKF(so && strstr(so, "nerve") && strstr(so, "Pixel confusion matrix"), "stdout: %s", so);
    CHECKF(se && strstr(se, "z_extra.png has no ground truth"), "stderr: %s", se);
    free(so);
    free(se);
    /* usage errors and bad input -> 2 */
    CHECK(dolor_test_run(NULL, &se, "eval --pred %s/pred", FIX) == 2);
    free(se);
    CHECK(dolor_test_run(NULL, &se, "eval --pred %s/pred --truth %s/truth --labels 1,x -o %s/o2", FIX, FIX, dir) == 2);
    free(se);
    CHECK(dolor_test_run(NULL, &se, "eval --pred %s/pred --truth %s/truth --labels 1 --classes a,b -o %s/o2", FIX,
                         FIX, dir) == 2);
    free(se);
    /* truth file without prediction: swap the folders (z_extra has no prediction) */
    CHECK(dolor_test_run(NULL, &se, "eval --pred %s/truth --truth %s/pred -o %s/o3", FIX, FIX, dir) == 2);
    CHECKF(se && strstr(se, "z_extra.png has no prediction"), "stderr: %s", se);
    free(se);
    /* as truth, pred/ mixes PNGs without a pixel size and a NIfTI with one: HD95 in px and mm cannot be
     * summarised together (exit 2, naming the case) */
    CHECK(dolor_test_run(NULL, &se, "eval --pred %s/truth --truth %s/pred --allow-missing -q -o %s/o4", FIX, FIX,
                         dir) == 2);
    CHECKF(se && strstr(se, "c07: the ground truth has a pixel size, but earlier cases' truths have none"),
           "stderr: %s", se);
    free(se);
    /* --allow-missing: skipped with a warning, exit 0 (the PNG predictions only as truth) */
    snprintf(pd, sizeof pd, "%s/predpng", dir);
    CHECK(dolor_test_sh("mkdir -p %s && cp %s/pred/*.png %s/", pd, FIX, pd) == 0);
    CHECK(dolor_test_run(NULL, &se, "eval --pred %s/truth --truth %s --allow-missing -q -o %s/o4", FIX, pd,
                         dir) == 0);
    CHECKF(se && strstr(se, "z_extra.png has no prediction") && strstr(se, "skipped"), "stderr: %s", se);
    free(se);
    /* --labels 2 --classes vessel: two classes, default output folder PRED/eval */
    snprintf(pd, sizeof pd, "%s/predcopy", dir);
    CHECK(dolor_test_sh("mkdir -p %s && cp %s/pred/*.png %s/pred/*.nii.gz %s/", pd, FIX, FIX, pd) == 0);
    CHECK(dolor_test_run(NULL, &se, "eval --pred %s --truth %s/truth --labels 2 --classes vessel -q", pd, FIX) == 0);
    free(se);
    snprintf(path, sizeof path, "%s/eval/confusion.csv", pd);
    so = dolor_test_slurp(path, NULL);
    /* vessel row of the expected confusion: 50 + 2 predicted background/nerve -> 52 background, 93 vessel */
    CHECKF(so && strcmp(so, "truth\\pred,background,vessel\nbackground,3190,55\nvessel,52,93\n") == 0,
           "confusion.csv: %s", so);
    free(so);
    dolor_test_rm_rf(dir);
}

int main(void)
{
    test_hand();
    test_empty_rules();
    test_errors();
    test_quantile7();
    test_folders();
    test_surface();
    test_folder_errors();
    test_cli();
    return dolor_test_finish();
}
