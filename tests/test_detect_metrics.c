/* Detection metrics: COCO AP / mAP for boxes, masks and keypoints against pycocotools
 * (tests/fixtures/detect/coco_*.txt from tools/gen_detect_fixtures.py), hand-computed small cases,
 * Ultralytics' AP style, precision / recall / F1, keypoint error in pixels and mm. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "dolor/detect.h"

#define MAXTOK 8192

/* ---------------- fixture reader ---------------- */

typedef struct fixture {
    dolor_det_eval_params p;
    double sigmas[32];
    int nimg, h, w, nkpt;
    dolor_det_list *gt, *dt;
    double ap[64][DOLOR_DET_NIOU];
    double map[DOLOR_DET_NIOU], map5095, umap50, umap5095;
    long tp, fp, npos, kn;
    int npoly, poly_bad;
    double kerr;
} fixture;

static int decode_runs(char **tok, int *pos, int ntok, uint8_t *m, size_t n)
{
    int nr = atoi(tok[(*pos)++]);
    size_t at = 0;
    for (int r = 0; r < nr && *pos < ntok; r++) {
        long len = atol(tok[(*pos)++]);
        if (at + (size_t)len > n)
            return -1;
        memset(m + at, r & 1, (size_t)len);
        at += (size_t)len;
    }
    return at == n ? 0 : -1;
}

static int fixture_load(fixture *fx, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/detect/%s", DOLOR_TEST_FIXTURES, name);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    memset(fx, 0, sizeof *fx);
    static char line[1 << 17];
    char *tok[MAXTOK];
    int img = -1;
    uint8_t *mask = NULL;
    while (fgets(line, sizeof line, fp)) {
        int nt = 0;
        for (char *s = strtok(line, " \n"); s && nt < MAXTOK; s = strtok(NULL, " \n"))
            tok[nt++] = s;
        if (nt == 0)
            continue;
        if (!strcmp(tok[0], "set")) {
            const char *kind = tok[1];
            int ncls = atoi(tok[3]);
            fx->nimg = atoi(tok[5]);
            fx->h = atoi(tok[7]);
            fx->w = atoi(tok[9]);
            fx->nkpt = atoi(tok[11]);
            fx->p = dolor_det_eval_defaults(ncls);
            fx->p.kind = !strcmp(kind, "box") ? DOLOR_DET_BOX : !strcmp(kind, "mask") ? DOLOR_DET_MASK : DOLOR_DET_KPT;
            fx->p.max_dets = atoi(tok[13]);
            fx->p.conf = atof(tok[15]);
            fx->p.nkpt = fx->nkpt;
            fx->gt = calloc((size_t)fx->nimg, sizeof *fx->gt);
            fx->dt = calloc((size_t)fx->nimg, sizeof *fx->dt);
            for (int i = 0; i < fx->nimg; i++) {
                dolor_det_list_init(&fx->gt[i], fx->h, fx->w, fx->nkpt);
                dolor_det_list_init(&fx->dt[i], fx->h, fx->w, fx->nkpt);
            }
            mask = malloc((size_t)fx->h * (size_t)fx->w);
        } else if (!strcmp(tok[0], "sigmas")) {
            for (int i = 1; i < nt && i <= 32; i++)
                fx->sigmas[i - 1] = atof(tok[i]);
            fx->p.sigmas = fx->sigmas;
        } else if (!strcmp(tok[0], "img")) {
            img = atoi(tok[1]);
        } else if (!strcmp(tok[0], "gt") || !strcmp(tok[0], "dt")) {
            int isgt = tok[0][0] == 'g', pos = 1;
            int cls = atoi(tok[pos++]);
            double score = isgt ? 1.0 : atof(tok[pos++]);
            double box[4], area = 0, kpt[96];
            for (int j = 0; j < 4; j++)
                box[j] = atof(tok[pos++]);
            int has_k = 0, has_m = 0;
            while (pos < nt) {
                if (!strcmp(tok[pos], "area")) {
                    area = atof(tok[pos + 1]);
                    pos += 2;
                } else if (!strcmp(tok[pos], "kpt")) {
                    pos++;
                    for (int j = 0; j < 3 * fx->nkpt; j++)
                        kpt[j] = atof(tok[pos++]);
                    has_k = 1;
                } else if (!strcmp(tok[pos], "mask")) {
                    pos++;
                    if (decode_runs(tok, &pos, nt, mask, (size_t)fx->h * (size_t)fx->w) != 0) {
                        fprintf(stderr, "%s: bad mask runs\n", path);
                        fclose(fp);
                        return -1;
                    }
                    has_m = 1;
                } else if (!strcmp(tok[pos], "poly")) {
                    /* pycocotools rasterised this polygon into the mask just read: dolor's COCO fill must agree */
                    int k = atoi(tok[pos + 1]);
                    double xy[64];
                    pos += 2;
                    for (int j = 0; j < 2 * k && j < 64; j++)
                        xy[j] = strtod(tok[pos++], NULL);
                    size_t np = (size_t)fx->h * (size_t)fx->w;
                    uint8_t *mine = calloc(np, 1);
                    dolor_det_polygon_fill_coco(xy, k, fx->h, fx->w, mine);
                    fx->npoly++;
                    fx->poly_bad += memcmp(mine, mask, np) != 0;
                    free(mine);
                } else {
                    fprintf(stderr, "%s: unknown field %s\n", path, tok[pos]);
                    fclose(fp);
                    return -1;
                }
            }
            dolor_det_list *l = isgt ? &fx->gt[img] : &fx->dt[img];
            if (dolor_det_list_add(l, cls, score, box, has_m ? mask : NULL, has_k ? kpt : NULL) != DOLOR_OK) {
                fprintf(stderr, "%s: %s\n", path, dolor_errmsg());
                fclose(fp);
                return -1;
            }
            l->obj[l->n - 1].area = area;
        } else if (!strcmp(tok[0], "ap")) {
            fx->ap[atoi(tok[1])][atoi(tok[2])] = strtod(tok[3], NULL);
        } else if (!strcmp(tok[0], "map")) {
            fx->map[atoi(tok[1])] = strtod(tok[2], NULL);
        } else if (!strcmp(tok[0], "map5095")) {
            fx->map5095 = strtod(tok[1], NULL);
        } else if (!strcmp(tok[0], "umap50")) {
            fx->umap50 = strtod(tok[1], NULL);
        } else if (!strcmp(tok[0], "umap5095")) {
            fx->umap5095 = strtod(tok[1], NULL);
        } else if (!strcmp(tok[0], "prf")) {
            fx->tp = atol(tok[1]);
            fx->fp = atol(tok[2]);
            fx->npos = atol(tok[3]);
        } else if (!strcmp(tok[0], "kerr")) {
            fx->kn = atol(tok[1]);
            fx->kerr = strtod(tok[2], NULL);
        }
    }
    free(mask);
    fclose(fp);
    return 0;
}

static void fixture_free(fixture *fx)
{
    for (int i = 0; i < fx->nimg; i++) {
        dolor_det_list_free(&fx->gt[i]);
        dolor_det_list_free(&fx->dt[i]);
    }
    free(fx->gt);
    free(fx->dt);
}

static void test_fixture(const char *name)
{
    fixture fx;
    if (fixture_load(&fx, name) != 0) {
        CHECKF(0, "fixture %s", name);
        return;
    }
    if (fx.p.kind == DOLOR_DET_MASK)
        CHECKF(fx.npoly > 20 && fx.poly_bad == 0, "%s: %d of %d polygons rasterised unlike pycocotools", name,
               fx.poly_bad, fx.npoly);
    dolor_det_eval ev;
    CHECK_OK(dolor_det_evaluate(fx.gt, fx.dt, (size_t)fx.nimg, &fx.p, &ev));
    int bad = 0;
    for (int k = 0; k < fx.p.ncls; k++)
        for (int t = 0; t < DOLOR_DET_NIOU; t++) {
            double a = ev.ap[k * DOLOR_DET_NIOU + t], b = fx.ap[k][t];
            if (!((isnan(a) && isnan(b)) || fabs(a - b) <= 1e-12)) {
                fprintf(stderr, "%s: class %d t %d: dolor %.17g pycocotools %.17g\n", name, k, t, a, b);
                bad++;
            }
        }
    CHECKF(bad == 0, "%s: %d per-class APs differ from pycocotools", name, bad);
    CHECK_NEAR(ev.map50, fx.map[0], 1e-12);
    CHECK_NEAR(ev.map75, fx.map[5], 1e-12);
    CHECK_NEAR(ev.map5095, fx.map5095, 1e-12);
    CHECKF(ev.tp == (size_t)fx.tp && ev.fp == (size_t)fx.fp && ev.tp + ev.fn == (size_t)fx.npos,
           "%s: tp %zu fp %zu fn %zu, pycocotools matches give tp %ld fp %ld npos %ld", name, ev.tp, ev.fp, ev.fn,
           fx.tp, fx.fp, fx.npos);
    CHECK_NEAR(ev.precision, (double)fx.tp / (double)(fx.tp + fx.fp), 1e-15);
    CHECK_NEAR(ev.recall, (double)fx.tp / (double)fx.npos, 1e-15);
    CHECK_NEAR(ev.f1, 2.0 * fx.tp / (double)(2 * fx.tp + fx.fp + (fx.npos - fx.tp)), 1e-15);
    CHECKF(ev.kpt_n == (size_t)fx.kn, "%s: keypoints %zu vs %ld", name, ev.kpt_n, fx.kn);
    CHECK_NEAR(ev.kpt_err_px, fx.kerr, 1e-12);
    /* a sanity line for the log: the fixture is not trivial */
    fprintf(stderr, "%s: mAP50 %.4f mAP50:95 %.4f (pycocotools %.4f), P %.3f R %.3f F1 %.3f\n", name, ev.map50,
            ev.map5095, fx.map5095, ev.precision, ev.recall, ev.f1);
    CHECK(ev.map5095 > 0.01 && ev.map5095 < 0.99);
    /* Ultralytics' style on the same set, against the numpy transcription of its ap_per_class */
    dolor_det_eval eu;
    fx.p.style = DOLOR_DET_AP_ULTRALYTICS;
    CHECK_OK(dolor_det_evaluate(fx.gt, fx.dt, (size_t)fx.nimg, &fx.p, &eu));
    CHECK_NEAR(eu.map50, fx.umap50, 1e-12);
    CHECK_NEAR(eu.map5095, fx.umap5095, 1e-12);
    fprintf(stderr, "%s: Ultralytics style mAP50 %.4f mAP50:95 %.4f\n", name, eu.map50, eu.map5095);
    dolor_det_eval_free(&eu);
    dolor_det_eval_free(&ev);
    fixture_free(&fx);
}

/* ---------------- hand-computed cases ---------------- */

static void add_box(dolor_det_list *l, int cls, double score, double x1, double y1, double x2, double y2)
{
    double b[4] = {x1, y1, x2, y2};
    CHECK_OK(dolor_det_list_add(l, cls, score, b, NULL, NULL));
}

static void test_iou(void)
{
    double a[4] = {0, 0, 10, 10}, b[4] = {5, 0, 15, 10}, c[4] = {10, 0, 20, 10}, d[4] = {2, 2, 4, 4};
    CHECK_NEAR(dolor_det_box_iou(a, a), 1.0, 1e-15);
    CHECK_NEAR(dolor_det_box_iou(a, b), 50.0 / 150.0, 1e-16); /* half overlap: 1/3 */
    CHECK_NEAR(dolor_det_box_iou(a, c), 0.0, 0);              /* touching edges */
    CHECK_NEAR(dolor_det_box_iou(a, d), 4.0 / 100.0, 1e-16);  /* inside */
    uint8_t m1[6] = {1, 1, 0, 0, 1, 0}, m2[6] = {0, 1, 1, 0, 1, 0}, z[6] = {0};
    CHECK_NEAR(dolor_det_mask_iou(m1, m2, 6), 2.0 / 4.0, 0);
    CHECK_NEAR(dolor_det_mask_iou(z, z, 6), 0.0, 0);
    /* OKS: one keypoint off by d, sigma s, area A: exp(-d^2 / (2 A (2s)^2)) */
    double g[6] = {10, 10, 2, 20, 20, 0}, p[6] = {13, 14, 1, 0, 0, 1}, s[2] = {0.1, 0.1}, gb[4] = {0, 0, 10, 10};
    CHECK_NEAR(dolor_det_oks(p, g, s, 2, 100.0, gb), exp(-25.0 / (2 * 100.0 * 0.04)), 1e-12);
}

static dolor_det_eval run1(dolor_det_list *g, dolor_det_list *d, size_t n, int ncls, dolor_det_ap_style st)
{
    dolor_det_eval_params p = dolor_det_eval_defaults(ncls);
    p.style = st;
    p.conf = 0.0;
    dolor_det_eval ev;
    dolor_status s = dolor_det_evaluate(g, d, n, &p, &ev);
    CHECKF(s == DOLOR_OK, "%s", dolor_errmsg());
    return ev;
}

static void test_hand(void)
{
    dolor_det_list g, d;
    dolor_det_eval ev;
    /* perfect detection: AP 1 at every threshold; Ultralytics 0.995 (trapezoid down to 0 at recall 1) */
    dolor_det_list_init(&g, 0, 0, 0);
    dolor_det_list_init(&d, 0, 0, 0);
    add_box(&g, 0, 1, 0, 0, 10, 10);
    add_box(&d, 0, 0.9, 0, 0, 10, 10);
    ev = run1(&g, &d, 1, 1, DOLOR_DET_AP_COCO);
    CHECK_NEAR(ev.map50, 1.0, 1e-15);
    CHECK_NEAR(ev.map5095, 1.0, 1e-15);
    CHECK(ev.tp == 1 && ev.fp == 0 && ev.fn == 0);
    dolor_det_eval_free(&ev);
    ev = run1(&g, &d, 1, 1, DOLOR_DET_AP_ULTRALYTICS);
    CHECK_NEAR(ev.map50, 0.995, 1e-12);
    CHECK_NEAR(ev.map5095, 0.995, 1e-12);
    dolor_det_eval_free(&ev);

    /* IoU 1/3 (half-overlapping box): below 0.5, a miss and a false positive: AP 0 */
    dolor_det_list_free(&d);
    add_box(&d, 0, 0.9, 5, 0, 15, 10);
    ev = run1(&g, &d, 1, 1, DOLOR_DET_AP_COCO);
    CHECK_NEAR(ev.map50, 0.0, 0);
    CHECK(ev.tp == 0 && ev.fp == 1 && ev.fn == 1);
    CHECK(isnan(ev.kpt_err_px));
    dolor_det_eval_free(&ev);

    /* IoU 0.64 box (8x8 inside 10x10, shifted): matched at 0.50..0.60 (3 of 10 thresholds) */
    dolor_det_list_free(&d);
    add_box(&d, 0, 0.9, 1, 1, 9, 9);
    ev = run1(&g, &d, 1, 1, DOLOR_DET_AP_COCO);
    CHECK_NEAR(ev.ap[0], 1.0, 1e-15);
    CHECK_NEAR(ev.ap[2], 1.0, 1e-15); /* 0.60 */
    CHECK_NEAR(ev.ap[3], 0.0, 0); /* 0.65 */
    CHECK_NEAR(ev.map5095, 0.3, 1e-15);
    dolor_det_eval_free(&ev);

    /* one false positive ranked first, then the true positive: precision 1/2 at recall 1 -> COCO AP 0.5
     * (COCO's precision tp / (tp + fp + eps) makes a perfect AP 1 - 1.1e-16, hence the 1e-15 tolerances) */
    dolor_det_list_free(&d);
    add_box(&d, 0, 0.95, 50, 50, 60, 60);
    add_box(&d, 0, 0.90, 0, 0, 10, 10);
    ev = run1(&g, &d, 1, 1, DOLOR_DET_AP_COCO);
    CHECK_NEAR(ev.map50, 0.5, 1e-15);
    CHECK(ev.tp == 1 && ev.fp == 1);
    CHECK_NEAR(ev.precision, 0.5, 0);
    CHECK_NEAR(ev.f1, 2.0 / 3.0, 1e-15);
    dolor_det_eval_free(&ev);
    /* Ultralytics: mrec [0, 0, 1, 1], mpre [1, 0, 0.5, 0], envelope [1, 0.5, 0.5, 0]; np.interp takes the last
     * of the tied recalls 0, so 0.5 on [0, 0.99] and 0 at recall 1: 0.99 * 0.5 + 0.01 * 0.25 = 0.4975 */
    ev = run1(&g, &d, 1, 1, DOLOR_DET_AP_ULTRALYTICS);
    CHECK_NEAR(ev.map50, 0.4975, 1e-12);
    dolor_det_eval_free(&ev);

    /* the true positive first, then the false positive: COCO AP 1 (recall 1 reached at precision 1) */
    dolor_det_list_free(&d);
    add_box(&d, 0, 0.95, 0, 0, 10, 10);
    add_box(&d, 0, 0.90, 50, 50, 60, 60);
    ev = run1(&g, &d, 1, 1, DOLOR_DET_AP_COCO);
    CHECK_NEAR(ev.map50, 1.0, 1e-15);
    dolor_det_eval_free(&ev);

    /* a duplicate: the second prediction of the same object is a false positive */
    dolor_det_list_free(&d);
    add_box(&d, 0, 0.95, 0, 0, 10, 10);
    add_box(&d, 0, 0.90, 0, 0, 10, 9);
    ev = run1(&g, &d, 1, 1, DOLOR_DET_AP_COCO);
    CHECK(ev.tp == 1 && ev.fp == 1);
    CHECK_NEAR(ev.map50, 1.0, 1e-15);
    dolor_det_eval_free(&ev);

    /* two truths, two classes; class 1 found, class 0 missed (its prediction has class 1 elsewhere):
     * AP class 0 = 0, class 1 = 1, class 2 no truth (NaN, not in the mean): mAP 0.5 */
    dolor_det_list_free(&g);
    dolor_det_list_free(&d);
    add_box(&g, 0, 1, 0, 0, 10, 10);
    add_box(&g, 1, 1, 20, 20, 30, 30);
    add_box(&d, 1, 0.8, 20, 20, 30, 30);
    add_box(&d, 1, 0.7, 0, 0, 10, 10); /* right place, wrong class: no match */
    add_box(&d, 2, 0.6, 40, 40, 50, 50);
    ev = run1(&g, &d, 1, 3, DOLOR_DET_AP_COCO);
    CHECK_NEAR(ev.ap50[0], 0.0, 0);
    CHECK_NEAR(ev.ap50[1], 1.0, 1e-15);
    CHECK(isnan(ev.ap50[2]) && ev.npos[2] == 0);
    CHECK_NEAR(ev.map50, 0.5, 1e-15);
    /* at conf 0: tp 1, fp 2 (class 1 wrong place, class 2), fn 1 */
    CHECK(ev.tp == 1 && ev.fp == 2 && ev.fn == 1);
    CHECK_NEAR(ev.cls_recall[1], 1.0, 1e-15);
    CHECK_NEAR(ev.cls_precision[1], 0.5, 0);
    CHECK(isnan(ev.cls_precision[0]));
    dolor_det_eval_free(&ev);

    /* two images, one truth each; the higher score misses: pooled ranking over images:
     * [FP 0.9, TP 0.8]: precision 1/2 at recall 1/2; then no more: recall stops at 0.5 -> AP = 51/101 * 0.5 */
    dolor_det_list imgs_g[2], imgs_d[2];
    for (int i = 0; i < 2; i++) {
        dolor_det_list_init(&imgs_g[i], 0, 0, 0);
        dolor_det_list_init(&imgs_d[i], 0, 0, 0);
        add_box(&imgs_g[i], 0, 1, 0, 0, 10, 10);
    }
    add_box(&imgs_d[0], 0, 0.9, 30, 30, 40, 40);
    add_box(&imgs_d[1], 0, 0.8, 0, 0, 10, 10);
    ev = run1(imgs_g, imgs_d, 2, 1, DOLOR_DET_AP_COCO);
    CHECK_NEAR(ev.map50, 51.0 / 101.0 * 0.5, 1e-15);
    dolor_det_eval_free(&ev);
    for (int i = 0; i < 2; i++) {
        dolor_det_list_free(&imgs_g[i]);
        dolor_det_list_free(&imgs_d[i]);
    }

    /* max_dets: with max_dets 1 only the best-scored prediction per image and class counts */
    dolor_det_list_free(&g);
    dolor_det_list_free(&d);
    add_box(&g, 0, 1, 0, 0, 10, 10);
    add_box(&g, 0, 1, 20, 20, 30, 30);
    add_box(&d, 0, 0.9, 0, 0, 10, 10);
    add_box(&d, 0, 0.8, 20, 20, 30, 30);
    dolor_det_eval_params p = dolor_det_eval_defaults(1);
    p.max_dets = 1;
    CHECK_OK(dolor_det_evaluate(&g, &d, 1, &p, &ev));
    CHECK_NEAR(ev.map50, 51.0 / 101.0, 1e-15); /* recall 0.5 at precision 1 */
    dolor_det_eval_free(&ev);
    dolor_det_list_free(&g);
    dolor_det_list_free(&d);
}

static void test_keypoints(void)
{
    /* keypoint error: one object, 2 keypoints (the second invisible in the truth), spacing 0.5 mm rows,
     * 0.8 mm columns: error (3, 4) px -> 5 px, sqrt((3 * 0.8)^2 + (4 * 0.5)^2) mm */
    dolor_det_list g, d;
    dolor_det_list_init(&g, 0, 0, 2);
    dolor_det_list_init(&d, 0, 0, 2);
    double b[4] = {0, 0, 40, 40};
    double gk[6] = {10, 10, 2, 30, 30, 0}, dk[6] = {13, 14, 0.9, 0, 0, 0.1};
    CHECK_OK(dolor_det_list_add(&g, 0, 1, b, NULL, gk));
    CHECK_OK(dolor_det_list_add(&d, 0, 0.9, b, NULL, dk));
    double sig[2] = {0.1, 0.1};
    dolor_det_eval_params p = dolor_det_eval_defaults(1);
    p.kind = DOLOR_DET_KPT;
    p.sigmas = sig;
    p.nkpt = 2;
    p.max_dets = 20;
    p.row_spacing_mm = 0.5;
    p.col_spacing_mm = 0.8;
    dolor_det_eval ev;
    CHECK_OK(dolor_det_evaluate(&g, &d, 1, &p, &ev));
    /* OKS = exp(-25 / (2 * 1600 * 0.04)) = 0.8226: matched at 0.50..0.80 (7 thresholds) */
    CHECK_NEAR(ev.map5095, 0.7, 1e-15);
    CHECK(ev.kpt_n == 1);
    CHECK_NEAR(ev.kpt_err_px, 5.0, 1e-15);
    CHECK_NEAR(ev.kpt_err_mm, sqrt(2.4 * 2.4 + 2.0 * 2.0), 1e-12);
    dolor_det_eval_free(&ev);
    /* the same prediction evaluated as boxes: no spacing -> mm NaN */
    p.kind = DOLOR_DET_BOX;
    p.row_spacing_mm = 0;
    CHECK_OK(dolor_det_evaluate(&g, &d, 1, &p, &ev));
    CHECK_NEAR(ev.kpt_err_px, 5.0, 1e-15);
    CHECK(isnan(ev.kpt_err_mm));
    dolor_det_eval_free(&ev);
    /* a truth without visible keypoints is ignored: no truth left -> NaN mAP */
    dolor_det_list_free(&g);
    double gk0[6] = {0, 0, 0, 0, 0, 0};
    CHECK_OK(dolor_det_list_add(&g, 0, 1, b, NULL, gk0));
    p.kind = DOLOR_DET_KPT;
    CHECK_OK(dolor_det_evaluate(&g, &d, 1, &p, &ev));
    CHECK(ev.npos[0] == 0 && isnan(ev.map5095));
    dolor_det_eval_free(&ev);
    dolor_det_list_free(&g);
    dolor_det_list_free(&d);

    /* COCO's rule that a prediction matched to a real truth never moves to an ignored one: truth A (visible
     * keypoint (10, 10), area 100) has OKS exp(-1 / (2 * 100 * 0.04)) = 0.8825 with the prediction (11, 10);
     * truth B (no visible keypoint, box (0,0)-(20,20) around the prediction) has OKS 1 but is ignored.
     * At 0.50..0.85 the prediction takes A (AP 1), at 0.90 and 0.95 it falls to B (ignored: neither TP nor
     * FP, AP 0): mAP50:95 = 0.8 (pycocotools gives 0.8 on this case too); without the rule it would take B
     * everywhere (0). */
    dolor_det_list_init(&g, 0, 0, 1);
    dolor_det_list_init(&d, 0, 0, 1);
    double ba[4] = {5, 5, 15, 15}, bb[4] = {0, 0, 20, 20}, ka[3] = {10, 10, 2}, kb[3] = {0, 0, 0}, kd[3] = {11, 10, 1};
    CHECK_OK(dolor_det_list_add(&g, 0, 1, ba, NULL, ka));
    CHECK_OK(dolor_det_list_add(&g, 0, 1, bb, NULL, kb));
    CHECK_OK(dolor_det_list_add(&d, 0, 0.9, ba, NULL, kd));
    double s1[1] = {0.1};
    p.sigmas = s1;
    p.nkpt = 1;
    CHECK_OK(dolor_det_evaluate(&g, &d, 1, &p, &ev));
    CHECK(ev.npos[0] == 1);
    CHECK_NEAR(ev.map5095, 0.8, 1e-15);
    CHECK_NEAR(ev.ap[7], 1.0, 1e-15); /* 0.85 */
    CHECK_NEAR(ev.ap[8], 0.0, 0);     /* 0.90 */
    dolor_det_eval_free(&ev);
    dolor_det_list_free(&g);
    dolor_det_list_free(&d);
}

static void test_errors(void)
{
    dolor_det_list g, d;
    dolor_det_eval ev;
    dolor_det_list_init(&g, 0, 0, 0);
    dolor_det_list_init(&d, 0, 0, 0);
    add_box(&g, 0, 1, 0, 0, 10, 10);
    add_box(&d, 3, 0.5, 0, 0, 10, 10);
    dolor_det_eval_params p = dolor_det_eval_defaults(2);
    CHECK_ERR(dolor_det_evaluate(&g, &d, 1, &p, &ev), DOLOR_EINVAL, "prediction image 0 object 0: class 3 outside 0..1");
    CHECK_ERR(dolor_det_evaluate(&g, &d, 0, &p, &ev), DOLOR_EINVAL, "no images");
    d.obj[0].cls = 0;
    p.kind = DOLOR_DET_MASK;
    CHECK_ERR(dolor_det_evaluate(&g, &d, 1, &p, &ev), DOLOR_EINVAL, "no mask");
    p.kind = DOLOR_DET_KPT;
    CHECK_ERR(dolor_det_evaluate(&g, &d, 1, &p, &ev), DOLOR_EINVAL, "sigmas");
    double bad[4] = {0, NAN, 1, 1};
    CHECK_ERR(dolor_det_list_add(&g, 0, 1, bad, NULL, NULL), DOLOR_EINVAL, "not finite");
    dolor_det_list_free(&g);
    dolor_det_list_free(&d);
}

/* The same sets as COCO files (<set>_gt.json with polygons, <set>_dt.json with compressed RLE): read by
 * dolor's COCO readers, objects equal to the fixture's (pycocotools' masks) and AP equal to pycocotools' */
static void test_coco_files(const char *name, const char *prefix)
{
    fixture fx;
    if (fixture_load(&fx, name) != 0) {
        CHECKF(0, "fixture %s", name);
        return;
    }
    char gp[1024], dp[1024];
    snprintf(gp, sizeof gp, "%s/detect/%s_gt.json", DOLOR_TEST_FIXTURES, prefix);
    snprintf(dp, sizeof dp, "%s/detect/%s_dt.json", DOLOR_TEST_FIXTURES, prefix);
    dolor_det_dataset ds;
    int *cat_ids = NULL;
    dolor_det_list *dl = NULL;
    CHECK_OK(dolor_det_coco_read(gp, fx.nkpt, &ds, &cat_ids));
    if (ds.nimg != (size_t)fx.nimg) {
        CHECKF(0, "%s: %zu images, fixture %d", gp, ds.nimg, fx.nimg);
        fixture_free(&fx);
        return;
    }
    CHECK_OK(dolor_det_coco_read_results(dp, &ds, cat_ids, &dl));
    int same = 1;
    size_t np = (size_t)fx.h * fx.w;
    for (int i = 0; i < fx.nimg && dl; i++) {
        same &= ds.lists[i].n == fx.gt[i].n && dl[i].n == fx.dt[i].n;
        for (size_t j = 0; same && j < ds.lists[i].n; j++) {
            const dolor_det_object *a = &ds.lists[i].obj[j], *b = &fx.gt[i].obj[j];
            same &= a->cls == b->cls && a->area == b->area;
            for (int q = 0; q < 4; q++)
                same &= a->box[q] == b->box[q];
            if (b->mask)
                same &= a->mask && memcmp(a->mask, b->mask, np) == 0;
            if (b->kpt)
                same &= a->kpt && memcmp(a->kpt, b->kpt, (size_t)fx.nkpt * 3 * sizeof(double)) == 0;
        }
        for (size_t j = 0; same && j < dl[i].n; j++) {
            const dolor_det_object *a = &dl[i].obj[j], *b = &fx.dt[i].obj[j];
            same &= a->cls == b->cls && a->score == b->score;
            if (b->mask)
                same &= a->mask && memcmp(a->mask, b->mask, np) == 0;
            else if (!b->kpt)
                for (int q = 0; q < 4; q++)
                    same &= a->box[q] == b->box[q];
            if (b->kpt)
                same &= a->kpt && memcmp(a->kpt, b->kpt, (size_t)fx.nkpt * 3 * sizeof(double)) == 0;
        }
    }
    CHECKF(same, "%s: objects read from the COCO files differ from the fixture's", prefix);
    /* dolor's compressed RLE of each predicted mask is pycocotools' string in the file */
    if (fx.p.kind == DOLOR_DET_MASK && dl) {
        char *txt = NULL;
        FILE *jf = fopen(dp, "rb");
        if (jf) {
            fseek(jf, 0, SEEK_END);
            long n = ftell(jf);
            fseek(jf, 0, SEEK_SET);
            txt = calloc((size_t)n + 1, 1);
            if (txt && fread(txt, 1, (size_t)n, jf) != (size_t)n)
                txt[0] = 0;
            fclose(jf);
        }
        cJSON *arr = txt ? cJSON_Parse(txt) : NULL;
        size_t *at = calloc(ds.nimg, sizeof *at);
        int nstr = 0, badstr = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, arr)
        {
            double iid = cJSON_GetObjectItem(it, "image_id")->valuedouble;
            size_t im = 0;
            while (im < ds.nimg && ds.image_ids[im] != iid)
                im++;
            const char *want = cJSON_GetObjectItem(cJSON_GetObjectItem(it, "segmentation"), "counts")->valuestring;
            char *mine = dolor_det_mask_to_coco_rle(dl[im].obj[at[im]++].mask, dl[im].h, dl[im].w);
            badstr += !mine || strcmp(mine, want) != 0;
            nstr++;
            free(mine);
        }
        CHECKF(nstr > 10 && badstr == 0, "%s: %d of %d RLE strings differ from pycocotools'", prefix, badstr, nstr);
        free(at);
        cJSON_Delete(arr);
        free(txt);
    }
    /* written back as a results file and read again: the same objects */
    if (dl) {
        char wp[1024];
        snprintf(wp, sizeof wp, "/tmp/dolor_detect_res_%d.json", (int)getpid());
        CHECK_OK(dolor_det_coco_write_results(wp, dl, ds.nimg, ds.image_ids, cat_ids));
        dolor_det_list *back = NULL;
        CHECK_OK(dolor_det_coco_read_results(wp, &ds, cat_ids, &back));
        int eq = back != NULL;
        for (size_t i = 0; eq && i < ds.nimg; i++) {
            eq &= back[i].n == dl[i].n;
            for (size_t j = 0; eq && j < dl[i].n; j++) {
                const dolor_det_object *a = &back[i].obj[j], *b = &dl[i].obj[j];
                eq &= a->cls == b->cls && a->score == b->score;
                for (int q = 0; q < 4; q++)
                    eq &= fabs(a->box[q] - b->box[q]) <= 1e-12 * (1 + fabs(b->box[q]));
                if (b->mask)
                    eq &= a->mask && memcmp(a->mask, b->mask, np) == 0;
                if (b->kpt)
                    eq &= a->kpt && memcmp(a->kpt, b->kpt, (size_t)fx.nkpt * 3 * sizeof(double)) == 0;
            }
        }
        CHECKF(eq, "%s: results written and read back differ", prefix);
        if (back) {
            for (size_t i = 0; i < ds.nimg; i++)
                dolor_det_list_free(&back[i]);
            free(back);
        }
        remove(wp);
    }
    if (dl) {
        dolor_det_eval ev;
        CHECK_OK(dolor_det_evaluate(ds.lists, dl, ds.nimg, &fx.p, &ev));
        int bad = 0;
        for (int k = 0; k < fx.p.ncls; k++)
            for (int t = 0; t < DOLOR_DET_NIOU; t++) {
                double a = ev.ap[k * DOLOR_DET_NIOU + t], b = fx.ap[k][t];
                bad += !((isnan(a) && isnan(b)) || fabs(a - b) <= 1e-12);
            }
        CHECKF(bad == 0, "%s: %d APs from the COCO files differ from pycocotools", prefix, bad);
        CHECK_NEAR(ev.map5095, fx.map5095, 1e-12);
        dolor_det_eval_free(&ev);
        for (size_t i = 0; i < ds.nimg; i++)
            dolor_det_list_free(&dl[i]);
        free(dl);
    }
    /* a results file that names an image the truth does not have */
    char bp[1024];
    snprintf(bp, sizeof bp, "/tmp/dolor_detect_bad_%d.json", (int)getpid());
    FILE *fp = fopen(bp, "w");
    if (fp) {
        fprintf(fp, "[{\"image_id\": 999, \"category_id\": %d, \"score\": 0.5, \"bbox\": [0, 0, 1, 1]}]", cat_ids[0]);
        fclose(fp);
        CHECK_ERR(dolor_det_coco_read_results(bp, &ds, cat_ids, &dl), DOLOR_EFORMAT, "results[0].image_id 999 is not in");
        remove(bp);
    }
    free(cat_ids);
    dolor_det_dataset_free(&ds);
    fixture_free(&fx);
}

/* dolor_det_polygon_fill_coco against pycocotools' frPyObjects + decode on random polygons */
static void test_polygons(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/detect/coco_polygons.txt", DOLOR_TEST_FIXTURES);
    FILE *fp = fopen(path, "r");
    CHECKF(fp != NULL, "cannot open %s", path);
    if (!fp)
        return;
    static char line[1 << 16];
    int n = 0, bad = 0;
    size_t inside = 0, pixdiff = 0;
    while (fgets(line, sizeof line, fp)) {
        char *s = line + 5;
        int h = (int)strtol(s, &s, 10), w = (int)strtol(s, &s, 10), k = (int)strtol(s, &s, 10);
        double xy[64];
        for (int j = 0; j < 2 * k; j++)
            xy[j] = strtod(s, &s);
        s = strstr(s, "mask ") + 5;
        int nr = (int)strtol(s, &s, 10);
        uint8_t *ref = calloc((size_t)h * w, 1), *mine = calloc((size_t)h * w, 1);
        size_t at = 0;
        for (int r = 0; r < nr; r++) {
            long len = strtol(s, &s, 10);
            memset(ref + at, r & 1, (size_t)len);
            at += (size_t)len;
        }
        dolor_det_polygon_fill_coco(xy, k, h, w, mine);
        size_t d = 0;
        for (size_t e = 0; e < (size_t)h * w; e++) {
            d += mine[e] != ref[e];
            inside += ref[e];
        }
        bad += d != 0;
        pixdiff += d;
        n++;
        free(ref);
        free(mine);
    }
    fclose(fp);
    CHECKF(n == 80 && bad == 0, "%d of %d polygons differ from pycocotools (%zu pixels)", bad, n, pixdiff);
    CHECK(inside > 1000);
    /* the pixel-centre fill (YOLO polygons) is another rasteriser: a square on integer corners agrees */
    double sq[8] = {2, 3, 6, 3, 6, 7, 2, 7};
    uint8_t a[100] = {0}, b[100] = {0};
    dolor_det_polygon_fill(sq, 4, 10, 10, a);
    dolor_det_polygon_fill_coco(sq, 4, 10, 10, b);
    int na = 0, nb = 0;
    for (int i = 0; i < 100; i++) {
        na += a[i];
        nb += b[i];
    }
    fprintf(stderr, "square 4x4: pixel-centre fill %d pixels, COCO fill %d pixels\n", na, nb);
    CHECK(na == 16);
}

int main(void)
{
    test_polygons();
    test_iou();
    test_hand();
    test_keypoints();
    test_errors();
    test_fixture("coco_box_a.txt");
    test_fixture("coco_box_b.txt");
    test_fixture("coco_mask.txt");
    test_fixture("coco_kpt.txt");
    test_coco_files("coco_box_a.txt", "coco_box_a");
    test_coco_files("coco_mask.txt", "coco_mask");
    test_coco_files("coco_kpt.txt", "coco_kpt");
    return dolor_test_finish();
}
