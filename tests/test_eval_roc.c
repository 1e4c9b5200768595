/* Pixel-level ROC one class against the rest (src/eval/roc_pixel.c) against scikit-learn's roc_auc_score and
 * roc_curve (tests/fixtures/eval/pixel_roc.txt, tools/gen_pixel_roc_fixture.py), hand-computed cases, the
 * study tables (confusion row percentages, pooled per-class metrics) by hand. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "dolor/eval.h"
#include "test_util.h"

static void sklearn_fixture(void)
{
    FILE *fp = fopen(DOLOR_TEST_FIXTURES "/eval/pixel_roc.txt", "r");
    CHECK(fp != NULL);
    if (!fp)
        return;
    char line[512];
    size_t n = 0;
    int K = 0;
    while (fgets(line, sizeof line, fp))
        if (line[0] != '#' && sscanf(line, "%zu %d", &n, &K) == 2)
            break;
    float *p = malloc(sizeof(float) * n * (size_t)K);
    uint8_t *t = malloc(n);
    for (size_t i = 0; i < n; i++) {
        int tv;
        double a, b, c;
        if (!fgets(line, sizeof line, fp) || sscanf(line, "%d %lf %lf %lf", &tv, &a, &b, &c) != 4)
            break;
        t[i] = (uint8_t)tv;
        p[i] = (float)a;
        p[n + i] = (float)b;
        p[2 * n + i] = (float)c;
    }
    dolor_pixel_roc *r = NULL;
    CHECK_OK(dolor_pixel_roc_create(K, NULL, &r));
    /* added in two parts, as images are */
    size_t h = n / 3;
    float *p1 = malloc(sizeof(float) * h * (size_t)K), *p2 = malloc(sizeof(float) * (n - h) * (size_t)K);
    for (int c = 0; c < K; c++) {
        memcpy(p1 + (size_t)c * h, p + (size_t)c * n, h * sizeof(float));
        memcpy(p2 + (size_t)c * (n - h), p + (size_t)c * n + h, (n - h) * sizeof(float));
    }
    CHECK_OK(dolor_pixel_roc_add(r, p1, t, h));
    CHECK_OK(dolor_pixel_roc_add(r, p2, t + h, n - h));
    int c;
    double v;
    size_t m;
    int ncurves = 0, nauc = 0;
    while (fgets(line, sizeof line, fp)) {
        if (sscanf(line, "auc %d %lf", &c, &v) == 2) {
            dolor_roc_curve cv;
            CHECK_OK(dolor_pixel_roc_curve(r, c, 0, &cv));
            CHECK_NEAR(cv.auc, v, 1e-12);
            dolor_roc_curve_free(&cv);
            nauc++;
        } else if (sscanf(line, "curve %d %zu", &c, &m) == 2) {
            dolor_roc_curve cv;
            CHECK_OK(dolor_pixel_roc_curve(r, c, 1, &cv));
            CHECKF(cv.n == m, "class %d: %zu points, sklearn %zu", c, cv.n, m);
            int bad = 0;
            for (size_t i = 0; i < m; i++) {
                double a, b;
                if (!fgets(line, sizeof line, fp) || sscanf(line, "%lf %lf", &a, &b) != 2)
                    break;
                if (i < cv.n)
                    bad += fabs(cv.fpr[i] - a) > 1e-12 || fabs(cv.tpr[i] - b) > 1e-12;
            }
            CHECKF(bad == 0, "class %d: %d curve points differ from sklearn", c, bad);
            /* the thinned curve keeps the AUC and its end points */
            dolor_roc_curve th;
            CHECK_OK(dolor_pixel_roc_curve(r, c, 0, &th));
            CHECK(th.n <= cv.n && th.n >= 2 && th.fpr[th.n - 1] == 1 && th.tpr[th.n - 1] == 1);
            double auc = 0;
            for (size_t i = 1; i < th.n; i++)
                auc += (th.fpr[i] - th.fpr[i - 1]) * (th.tpr[i] + th.tpr[i - 1]) / 2;
            CHECK_NEAR(auc, cv.auc, 1e-12);
            dolor_roc_curve_free(&th);
            dolor_roc_curve_free(&cv);
            ncurves++;
        }
    }
    CHECK(nauc == 3 && ncurves == 3);
    fclose(fp);
    free(p);
    free(p1);
    free(p2);
    free(t);
    dolor_pixel_roc_free(r);
}

static void by_hand(void)
{
    /* 2 classes, 6 pixels: class-1 scores 0.9 (pos), 0.8 (neg), 0.8 (pos), 0.3 (neg), 0.2 (pos), 0.1 (neg).
     * Pairs (pos, neg): 9 in all; pos 0.9 beats 3; pos 0.8 beats 0.3, 0.1 and ties 0.8 (1/2); pos 0.2 beats 0.1:
     * (3 + 2.5 + 1) / 9 = 6.5 / 9 */
    float p[12] = {0.1f, 0.2f, 0.2f, 0.7f, 0.8f, 0.9f, 0.9f, 0.8f, 0.8f, 0.3f, 0.2f, 0.1f};
    uint8_t t[6] = {1, 0, 1, 0, 1, 0};
    dolor_pixel_roc *r = NULL;
    CHECK_OK(dolor_pixel_roc_create(2, NULL, &r));
    CHECK_OK(dolor_pixel_roc_add(r, p, t, 6));
    dolor_roc_curve cv;
    CHECK_OK(dolor_pixel_roc_curve(r, 1, 1, &cv));
    CHECK_NEAR(cv.auc, 6.5 / 9, 1e-15);
    /* points: inf (0,0); 0.9 (0,1/3); 0.8 (1/3,2/3); 0.3 (2/3,2/3); 0.2 (2/3,1); 0.1 (1,1) */
    CHECK(cv.n == 6);
    if (cv.n == 6) {
        CHECK(isinf(cv.threshold[0]) && cv.threshold[2] == 0.8f);
        CHECK_NEAR(cv.fpr[2], 1.0 / 3, 1e-15);
        CHECK_NEAR(cv.tpr[2], 2.0 / 3, 1e-15);
    }
    dolor_roc_curve_free(&cv);
    /* background is the mirror image: AUC of class 0 scored by p0 = 1 - p1 is the same */
    CHECK_OK(dolor_pixel_roc_curve(r, 0, 0, &cv));
    CHECK_NEAR(cv.auc, 6.5 / 9, 1e-7);
    dolor_roc_curve_free(&cv);
    /* errors */
    float bad[4] = {0.5f, NAN, 0.5f, 0.5f};
    uint8_t bt[2] = {0, 1}, bt2[2] = {0, 2};
    CHECK_ERR(dolor_pixel_roc_add(r, bad, bt, 2), DOLOR_EINVAL, "pixel 1");
    CHECK_ERR(dolor_pixel_roc_add(r, p, bt2, 2), DOLOR_EINVAL, "truth value 2 at pixel 1");
    CHECK_ERR(dolor_pixel_roc_curve(r, 2, 0, &cv), DOLOR_EINVAL, "class 2");
    dolor_pixel_roc_free(r);
    CHECK_OK(dolor_pixel_roc_create(2, NULL, &r));
    uint8_t t0[6] = {0};
    CHECK_OK(dolor_pixel_roc_add(r, p, t0, 6));
    CHECK_ERR(dolor_pixel_roc_curve(r, 1, 0, &cv), DOLOR_ENUMERIC, "no pixel");
    dolor_pixel_roc_free(r);
}

static void study_tables(void)
{
    /* one case, 10 pixels, 3 classes: truth 0 0 0 0 1 1 1 2 2 2, pred 0 0 1 0 1 1 2 2 2 0 */
    const char *names[3] = {"background", "bone", "disc"};
    uint8_t tr[10] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2}, pr[10] = {0, 0, 1, 0, 1, 1, 2, 2, 2, 0};
    dolor_seg_eval *ev = NULL;
    CHECK_OK(dolor_seg_eval_create(3, names, &ev));
    CHECK_OK(dolor_seg_eval_add(ev, "a", tr, pr, 10));
    char dir[256];
    if (!dolor_test_tmpdir(dir, sizeof dir, "eval_roc"))
        return;
    CHECK_OK(dolor_seg_eval_write_study(ev, dir));
    char *pct = NULL, *met = NULL;
    FILE *fp = dolor_test_open("%s/confusion_pct.csv", dir);
    CHECK(fp != NULL);
    if (fp) {
        char l[256];
        fgets(l, sizeof l, fp);
        CHECK(strcmp(l, "truth\\pred,background,bone,disc\n") == 0);
        fgets(l, sizeof l, fp); /* background row: 3 of 4, 1 of 4, 0 */
        CHECKF(strcmp(l, "background,75.000000,25.000000,0.000000\n") == 0, "%s", l);
        fgets(l, sizeof l, fp); /* bone: 0, 2/3, 1/3 */
        CHECKF(strcmp(l, "bone,0.000000,66.666667,33.333333\n") == 0, "%s", l);
        fclose(fp);
    }
    fp = dolor_test_open("%s/class_metrics.csv", dir);
    CHECK(fp != NULL);
    if (fp) {
        char l[512];
        fgets(l, sizeof l, fp);
        CHECK(strcmp(l, "class,accuracy,precision,recall,iou,dsc,mean_case_iou,mean_case_dsc\n") == 0);
        fgets(l, sizeof l, fp);
        fgets(l, sizeof l, fp); /* bone: tp 2, fp 1, fn 1, tn 6: acc 0.8, prec 2/3, rec 2/3, IoU 0.5, DSC 2/3 */
        double v[7];
        CHECK(sscanf(l, "bone,%lf,%lf,%lf,%lf,%lf,%lf,%lf", v, v + 1, v + 2, v + 3, v + 4, v + 5, v + 6) == 7);
        CHECK_NEAR(v[0], 0.8, 1e-9);
        CHECK_NEAR(v[1], 2.0 / 3, 1e-9);
        CHECK_NEAR(v[2], 2.0 / 3, 1e-9);
        CHECK_NEAR(v[3], 0.5, 1e-9);
        CHECK_NEAR(v[4], 2.0 / 3, 1e-9);
        CHECK_NEAR(v[6], 2.0 / 3, 1e-9);
        fgets(l, sizeof l, fp); /* disc: tp 2, fp 1, fn 1 as well */
        fgets(l, sizeof l, fp);
        CHECK(sscanf(l, "mean (foreground),%lf,%lf,%lf,%lf,%lf", v, v + 1, v + 2, v + 3, v + 4) == 5);
        CHECK_NEAR(v[3], 0.5, 1e-9);
        fclose(fp);
    }
    size_t len = 0;
    char *svg = dolor_test_slurp(strcat(strcpy((char[300]){0}, dir), "/confusion.svg"), &len);
    CHECK(svg && strstr(svg, "<svg") && strstr(svg, ">66.7%</text>"));
    free(svg);
    free(pct);
    free(met);
    dolor_seg_eval_free(ev);
    dolor_test_rm_rf(dir);
}

int main(void)
{
    sklearn_fixture();
    by_hand();
    study_tables();
    return dolor_test_finish();
}
