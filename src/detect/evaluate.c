/* COCO-style detection metrics (pycocotools cocoeval.py: evaluateImg + accumulate) and Ultralytics'
 * ap_per_class over its match_predictions, for boxes, masks and keypoints (OKS). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dolor/detect.h"

dolor_det_eval_params dolor_det_eval_defaults(int ncls)
{
    dolor_det_eval_params p;
    memset(&p, 0, sizeof p);
    p.kind = DOLOR_DET_BOX;
    p.style = DOLOR_DET_AP_COCO;
    p.ncls = ncls;
    p.max_dets = 100;
    p.conf = 0.25;
    return p;
}

void dolor_det_eval_free(dolor_det_eval *e)
{
    if (!e)
        return;
    free(e->ap);
    free(e->ap50);
    free(e->ap5095);
    free(e->npos);
    free(e->cls_precision);
    free(e->cls_recall);
    free(e->cls_f1);
    memset(e, 0, sizeof *e);
}

/* np.linspace(.5, .95, 10) and np.linspace(0, 1, 101): start + i * step, the last exactly stop */
static double iou_thr(int t)
{
    if (t == DOLOR_DET_NIOU - 1)
        return 0.95;
    return (double)t * ((0.95 - 0.5) / 9.0) + 0.5;
}
static double rec_thr(int r)
{
    if (r == DOLOR_DET_NREC - 1)
        return 1.0;
    return (double)r * (1.0 / 100.0);
}

/* one prediction of a class, pooled over images */
typedef struct pooled {
    double score;
    size_t seq;               /* order of arrival: image order, then score order within the image */
    uint16_t tp, ig;          /* bit t: matched / ignored at threshold t */
} pooled;

static int pooled_cmp(const void *a, const void *b)
{
    const pooled *x = a, *y = b;
    if (x->score > y->score)
        return -1;
    if (x->score < y->score)
        return 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

typedef struct idx_score {
    size_t i;
    double s;
} idx_score;

static int idx_score_cmp(const void *a, const void *b)
{
    const idx_score *x = a, *y = b;
    if (x->s > y->s)
        return -1;
    if (x->s < y->s)
        return 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static double gt_area(const dolor_det_list *l, const dolor_det_object *g)
{
    if (g->area > 0)
        return g->area;
    if (g->mask) {
        size_t n = (size_t)l->h * (size_t)l->w, a = 0;
        for (size_t i = 0; i < n; i++)
            a += g->mask[i];
        return (double)a;
    }
    return (g->box[2] - g->box[0]) * (g->box[3] - g->box[1]);
}

static int kpt_visible(const dolor_det_object *g, int nkpt)
{
    int k = 0;
    for (int i = 0; i < nkpt; i++)
        k += g->kpt[3 * i + 2] > 0;
    return k;
}

/* A mask's extent (the rectangle of its non-zero pixels, x1 and y1 exclusive) and pixel count, so that the
 * IoU of two masks only visits their common rectangle: the same value as dolor_det_mask_iou on 0/1 masks. */
typedef struct mask_ext {
    int x0, y0, x1, y1;
    size_t area;
} mask_ext;

static void mask_extent(const uint8_t *m, int w, int h, mask_ext *e)
{
    e->x0 = w;
    e->y0 = h;
    e->x1 = e->y1 = 0;
    e->area = 0;
    for (int y = 0; y < h; y++) {
        const uint8_t *r = m + (size_t)y * w;
        size_t n = 0;
        int lo = w, hi = -1;
        for (int x = 0; x < w; x++)
            if (r[x]) {
                n++;
                lo = x < lo ? x : lo;
                hi = x;
            }
        if (!n)
            continue;
        e->area += n;
        e->x0 = lo < e->x0 ? lo : e->x0;
        e->x1 = hi + 1 > e->x1 ? hi + 1 : e->x1;
        e->y0 = y < e->y0 ? y : e->y0;
        e->y1 = y + 1;
    }
}

static double mask_iou_ext(const uint8_t *a, const mask_ext *ea, const uint8_t *b, const mask_ext *eb, int w)
{
    int x0 = ea->x0 > eb->x0 ? ea->x0 : eb->x0, x1 = ea->x1 < eb->x1 ? ea->x1 : eb->x1;
    int y0 = ea->y0 > eb->y0 ? ea->y0 : eb->y0, y1 = ea->y1 < eb->y1 ? ea->y1 : eb->y1;
    size_t in = 0;
    for (int y = y0; y < y1; y++) {
        const uint8_t *ra = a + (size_t)y * w, *rb = b + (size_t)y * w;
        for (int x = x0; x < x1; x++)
            in += (ra[x] != 0) & (rb[x] != 0);
    }
    return in ? (double)in / (double)(ea->area + eb->area - in) : 0.0;
}

static double overlap(const dolor_det_eval_params *p, const dolor_det_list *gl, const dolor_det_object *g,
                      const dolor_det_object *d)
{
    switch (p->kind) {
    case DOLOR_DET_BOX:
        return dolor_det_box_iou(d->box, g->box);
    case DOLOR_DET_MASK:
        return dolor_det_mask_iou(d->mask, g->mask, (size_t)gl->h * (size_t)gl->w);
    case DOLOR_DET_KPT:
        return dolor_det_oks(d->kpt, g->kpt, p->sigmas, p->nkpt, gt_area(gl, g), g->box);
    }
    return 0.0;
}

static dolor_status check_lists(const dolor_det_list *ls, size_t nimg, const dolor_det_eval_params *p,
                                const char *which, const dolor_det_list *ref)
{
    for (size_t i = 0; i < nimg; i++) {
        const dolor_det_list *l = &ls[i];
        if (l->n && !l->obj)
            return dolor_error(DOLOR_EINVAL, "detection eval: %s image %zu: NULL objects", which, i);
        if (p->kind == DOLOR_DET_MASK && ref && (l->h != ref[i].h || l->w != ref[i].w))
            return dolor_error(DOLOR_EINVAL, "detection eval: %s image %zu: masks %dx%d but truth %dx%d", which, i,
                               l->w, l->h, ref[i].w, ref[i].h);
        if (p->kind == DOLOR_DET_KPT && l->n && l->nkpt != p->nkpt)
            return dolor_error(DOLOR_EINVAL, "detection eval: %s image %zu: %d keypoints but sigmas for %d", which, i,
                               l->nkpt, p->nkpt);
        for (size_t j = 0; j < l->n; j++) {
            const dolor_det_object *o = &l->obj[j];
            if (o->cls < 0 || o->cls >= p->ncls)
                return dolor_error(DOLOR_EINVAL, "detection eval: %s image %zu object %zu: class %d outside 0..%d",
                                   which, i, j, o->cls, p->ncls - 1);
            if (p->kind == DOLOR_DET_MASK && !o->mask)
                return dolor_error(DOLOR_EINVAL, "detection eval: %s image %zu object %zu: no mask for mask AP", which,
                                   i, j);
            if (p->kind == DOLOR_DET_KPT && !o->kpt)
                return dolor_error(DOLOR_EINVAL, "detection eval: %s image %zu object %zu: no keypoints for OKS", which,
                                   i, j);
            if (!isfinite(o->score))
                return dolor_error(DOLOR_EINVAL, "detection eval: %s image %zu object %zu: score is not finite", which,
                                   i, j);
        }
    }
    return DOLOR_OK;
}

/* COCO's accumulate for one class and threshold t: 101-point AP */
static double coco_ap(const pooled *pd, size_t nd, int t, size_t npos)
{
    double *pr = malloc((nd ? nd : 1) * sizeof *pr), *rc = malloc((nd ? nd : 1) * sizeof *rc);
    if (!pr || !rc) {
        free(pr);
        free(rc);
        return NAN;
    }
    double tp = 0, fp = 0;
    for (size_t i = 0; i < nd; i++) {
        int ig = (pd[i].ig >> t) & 1, m = (pd[i].tp >> t) & 1;
        if (!ig) {
            if (m)
                tp += 1;
            else
                fp += 1;
        }
        rc[i] = tp / (double)npos;
        pr[i] = tp / (fp + tp + DBL_EPSILON);
    }
    for (size_t i = nd; i-- > 1;)
        if (pr[i] > pr[i - 1])
            pr[i - 1] = pr[i];
    double s = 0;
    size_t j = 0;
    for (int r = 0; r < DOLOR_DET_NREC; r++) {
        double thr = rec_thr(r);
        while (j < nd && rc[j] < thr) /* searchsorted(rc, thr, side='left') */
            j++;
        if (j >= nd)
            break;
        s += pr[j];
    }
    free(pr);
    free(rc);
    return s / DOLOR_DET_NREC;
}

/* np.interp(x, xp, fp) for non-decreasing xp */
static double interp(double x, const double *xp, const double *fp, size_t n)
{
    if (x >= xp[n - 1])
        return fp[n - 1];
    if (x < xp[0])
        return fp[0];
    size_t lo = 0, hi = n - 1; /* largest j with xp[j] <= x */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (xp[mid] <= x)
            lo = mid;
        else
            hi = mid;
    }
    double slope = (fp[lo + 1] - fp[lo]) / (xp[lo + 1] - xp[lo]);
    return slope * (x - xp[lo]) + fp[lo];
}

/* Ultralytics' compute_ap: precision envelope on [0, recall, 1] x [1, precision, 0], 101-point
 * np.interp, trapezoidal integral (np.trapz) */
static double ultra_ap(const pooled *pd, size_t nd, int t, size_t npos)
{
    size_t n = nd + 2;
    double *mrec = malloc(n * sizeof *mrec), *mpre = malloc(n * sizeof *mpre);
    if (!mrec || !mpre) {
        free(mrec);
        free(mpre);
        return NAN;
    }
    double tp = 0, fp = 0;
    mrec[0] = 0.0;
    mpre[0] = 1.0;
    for (size_t i = 0; i < nd; i++) {
        if ((pd[i].tp >> t) & 1)
            tp += 1;
        else
            fp += 1;
        mrec[i + 1] = tp / ((double)npos + 1e-16);
        mpre[i + 1] = tp / (tp + fp);
    }
    mrec[n - 1] = 1.0;
    mpre[n - 1] = 0.0;
    for (size_t i = n - 1; i-- > 0;)
        if (mpre[i + 1] > mpre[i])
            mpre[i] = mpre[i + 1];
    double s = 0, yprev = interp(0.0, mrec, mpre, n), xprev = 0.0;
    for (int r = 1; r < DOLOR_DET_NREC; r++) {
        double x = rec_thr(r), y = interp(x, mrec, mpre, n);
        s += (x - xprev) * (y + yprev) / 2.0;
        xprev = x;
        yprev = y;
    }
    free(mrec);
    free(mpre);
    return s;
}

/* Ultralytics' match_predictions at one threshold: each prediction's truth of highest IoU >= thr, then for
 * each truth the first prediction (lowest index, the highest score) that chose it; res[d] = truth or -1 */
static void ultra_match(const double *ious, size_t nd, size_t ng, double thr, long *gtm, long *res)
{
    for (size_t g = 0; g < ng; g++)
        gtm[g] = -1;
    for (size_t d = 0; d < nd; d++) {
        long m = -1;
        double best = -1;
        for (size_t g = 0; g < ng; g++) {
            double v = ious[d * ng + g];
            if (v >= thr && v > best) {
                best = v;
                m = (long)g;
            }
        }
        if (m >= 0 && gtm[m] < 0)
            gtm[m] = (long)d;
        else
            m = -1;
        res[d] = m;
    }
}

static double ratio(double a, double b) { return b > 0 ? a / b : NAN; }

dolor_status dolor_det_evaluate(const dolor_det_list *gt, const dolor_det_list *dt, size_t nimg,
                                const dolor_det_eval_params *p, dolor_det_eval *out)
{
    if (!gt || !dt || !p || !out)
        return dolor_error(DOLOR_EINVAL, "dolor_det_evaluate: NULL argument");
    memset(out, 0, sizeof *out);
    if (nimg == 0)
        return dolor_error(DOLOR_EINVAL, "dolor_det_evaluate: no images");
    if (p->ncls < 1)
        return dolor_error(DOLOR_EINVAL, "dolor_det_evaluate: ncls %d < 1", p->ncls);
    if (p->max_dets < 1)
        return dolor_error(DOLOR_EINVAL, "dolor_det_evaluate: max_dets %d < 1", p->max_dets);
    if (p->kind == DOLOR_DET_KPT && (!p->sigmas || p->nkpt < 1))
        return dolor_error(DOLOR_EINVAL, "dolor_det_evaluate: keypoint OKS needs nkpt >= 1 sigmas");
    if (p->kind != DOLOR_DET_BOX && p->kind != DOLOR_DET_MASK && p->kind != DOLOR_DET_KPT)
        return dolor_error(DOLOR_EINVAL, "dolor_det_evaluate: unknown kind %d", (int)p->kind);
    if (p->style != DOLOR_DET_AP_COCO && p->style != DOLOR_DET_AP_ULTRALYTICS)
        return dolor_error(DOLOR_EINVAL, "dolor_det_evaluate: unknown AP style %d", (int)p->style);
    dolor_status st = check_lists(gt, nimg, p, "truth", NULL);
    if (st == DOLOR_OK)
        st = check_lists(dt, nimg, p, "prediction", gt);
    if (st != DOLOR_OK)
        return st;
    const int K = p->ncls, ultra = p->style == DOLOR_DET_AP_ULTRALYTICS;
    out->ncls = K;
    out->ap = malloc((size_t)K * DOLOR_DET_NIOU * sizeof(double));
    out->ap50 = malloc((size_t)K * sizeof(double));
    out->ap5095 = malloc((size_t)K * sizeof(double));
    out->npos = calloc((size_t)K, sizeof(size_t));
    out->cls_precision = malloc((size_t)K * sizeof(double));
    out->cls_recall = malloc((size_t)K * sizeof(double));
    out->cls_f1 = malloc((size_t)K * sizeof(double));
    size_t maxg = 1, maxd = 1, totd = 0;
    for (size_t i = 0; i < nimg; i++) {
        maxg = gt[i].n > maxg ? gt[i].n : maxg;
        maxd = dt[i].n > maxd ? dt[i].n : maxd;
        totd += dt[i].n;
    }
    size_t *gidx = malloc(maxg * sizeof *gidx);
    mask_ext *gext = malloc(maxg * sizeof *gext);
    int *gig = malloc(maxg * sizeof *gig);
    idx_score *didx = malloc(maxd * sizeof *didx);
    double *ious = malloc(maxd * maxg * sizeof *ious);
    long *gtm = malloc(maxg * sizeof *gtm);
    long *dtm0 = malloc(maxd * sizeof *dtm0), *dtm1 = malloc(maxd * sizeof *dtm1);
    pooled *pd = malloc((totd ? totd : 1) * sizeof *pd);
    if (!out->ap || !out->ap50 || !out->ap5095 || !out->npos || !out->cls_precision || !out->cls_recall ||
        !out->cls_f1 || !gidx || !gext || !gig || !didx || !ious || !gtm || !dtm0 || !dtm1 || !pd) {
        st = dolor_error(DOLOR_ENOMEM, "dolor_det_evaluate: out of memory");
        goto done;
    }
    size_t all_tp = 0, all_fp = 0, all_pos = 0, kn = 0;
    double kpx = 0, kmm = 0;
    double sum50 = 0, sum75 = 0, sum = 0;
    int nvalid = 0;
    for (int k = 0; k < K; k++) {
        size_t nd = 0, npos = 0, ctp = 0, cfp = 0;
        for (size_t im = 0; im < nimg; im++) {
            const dolor_det_list *G = &gt[im], *D = &dt[im];
            size_t ng = 0, ndi = 0, nig = 0;
            /* truths: not ignored first, then ignored (stable) */
            for (int pass = 0; pass < 2; pass++)
                for (size_t j = 0; j < G->n; j++) {
                    if (G->obj[j].cls != k)
                        continue;
                    /* COCO ignores a keypoint truth without visible keypoints; Ultralytics counts every truth */
                    int ig = !ultra && p->kind == DOLOR_DET_KPT && kpt_visible(&G->obj[j], p->nkpt) == 0;
                    if (ig != pass)
                        continue;
                    gidx[ng] = j;
                    gig[ng++] = ig;
                    nig += ig;
                }
            for (size_t j = 0; j < D->n; j++)
                if (D->obj[j].cls == k) {
                    didx[ndi].i = j;
                    didx[ndi++].s = D->obj[j].score;
                }
            if (ng == 0 && ndi == 0)
                continue;
            npos += ng - nig;
            qsort(didx, ndi, sizeof *didx, idx_score_cmp);
            if (!ultra && ndi > (size_t)p->max_dets)
                ndi = (size_t)p->max_dets;
            if (p->kind == DOLOR_DET_MASK) {
                for (size_t g = 0; g < ng; g++)
                    mask_extent(G->obj[gidx[g]].mask, G->w, G->h, &gext[g]);
                for (size_t d = 0; d < ndi; d++) {
                    mask_ext de;
                    mask_extent(D->obj[didx[d].i].mask, G->w, G->h, &de);
                    for (size_t g = 0; g < ng; g++)
                        ious[d * ng + g] = mask_iou_ext(D->obj[didx[d].i].mask, &de, G->obj[gidx[g]].mask, &gext[g],
                                                        G->w);
                }
            } else
                for (size_t d = 0; d < ndi; d++)
                    for (size_t g = 0; g < ng; g++)
                        ious[d * ng + g] = overlap(p, G, &G->obj[gidx[g]], &D->obj[didx[d].i]);
            size_t base = nd;
            for (size_t d = 0; d < ndi; d++) {
                pd[nd].score = didx[d].s;
                pd[nd].seq = nd;
                pd[nd].tp = pd[nd].ig = 0;
                nd++;
            }
            for (int t = 0; t < DOLOR_DET_NIOU; t++) {
                double thr = iou_thr(t);
                for (size_t g = 0; g < ng; g++)
                    gtm[g] = -1;
                if (!ultra) {
                    /* cocoeval.py evaluateImg */
                    for (size_t d = 0; d < ndi; d++) {
                        double best = fmin(thr, 1 - 1e-10);
                        long m = -1;
                        for (size_t g = 0; g < ng; g++) {
                            if (gtm[g] >= 0)
                                continue;
                            if (m > -1 && gig[m] == 0 && gig[g] == 1)
                                break;
                            if (ious[d * ng + g] < best)
                                continue;
                            best = ious[d * ng + g];
                            m = (long)g;
                        }
                        if (t == 0)
                            dtm0[d] = m;
                        if (m == -1)
                            continue;
                        gtm[m] = (long)d;
                        pd[base + d].tp |= (uint16_t)(1u << t);
                        if (gig[m])
                            pd[base + d].ig |= (uint16_t)(1u << t);
                    }
                } else {
                    ultra_match(ious, ndi, ng, thr, gtm, dtm1);
                    for (size_t d = 0; d < ndi; d++)
                        if (dtm1[d] >= 0)
                            pd[base + d].tp |= (uint16_t)(1u << t);
                    if (t == 0)
                        memcpy(dtm0, dtm1, ndi * sizeof *dtm0);
                }
            }
            /* precision / recall / F1 and keypoint error at IoU 0.50, score >= conf */
            for (size_t d = 0; d < ndi; d++) {
                if (didx[d].s < p->conf)
                    continue;
                long m = dtm0[d];
                if (m >= 0 && gig[m])
                    continue;
                if (m < 0) {
                    cfp++;
                    continue;
                }
                ctp++;
                const dolor_det_object *go = &G->obj[gidx[m]], *dd = &D->obj[didx[d].i];
                if (go->kpt && dd->kpt && G->nkpt == D->nkpt)
                    for (int q = 0; q < G->nkpt; q++) {
                        if (!(go->kpt[3 * q + 2] > 0))
                            continue;
                        double dx = dd->kpt[3 * q] - go->kpt[3 * q], dy = dd->kpt[3 * q + 1] - go->kpt[3 * q + 1];
                        kpx += sqrt(dx * dx + dy * dy);
                        kmm += sqrt(dx * p->col_spacing_mm * dx * p->col_spacing_mm +
                                    dy * p->row_spacing_mm * dy * p->row_spacing_mm);
                        kn++;
                    }
            }
        }
        out->npos[k] = npos;
        double cp = ratio((double)ctp, (double)(ctp + cfp)), cr = ratio((double)ctp, (double)npos);
        out->cls_precision[k] = cp;
        out->cls_recall[k] = cr;
        out->cls_f1[k] = ratio(2.0 * (double)ctp, (double)(2 * ctp + cfp + (npos - ctp)));
        all_tp += ctp;
        all_fp += cfp;
        all_pos += npos;
        if (npos == 0) {
            for (int t = 0; t < DOLOR_DET_NIOU; t++)
                out->ap[k * DOLOR_DET_NIOU + t] = NAN;
            out->ap50[k] = out->ap5095[k] = NAN;
            continue;
        }
        qsort(pd, nd, sizeof *pd, pooled_cmp);
        double s = 0;
        for (int t = 0; t < DOLOR_DET_NIOU; t++) {
            double a = ultra ? (nd ? ultra_ap(pd, nd, t, npos) : 0.0) : coco_ap(pd, nd, t, npos);
            out->ap[k * DOLOR_DET_NIOU + t] = a;
            s += a;
        }
        out->ap50[k] = out->ap[k * DOLOR_DET_NIOU];
        out->ap5095[k] = s / DOLOR_DET_NIOU;
        sum50 += out->ap50[k];
        sum75 += out->ap[k * DOLOR_DET_NIOU + 5];
        sum += out->ap5095[k];
        nvalid++;
    }
    out->map50 = nvalid ? sum50 / nvalid : NAN;
    out->map75 = nvalid ? sum75 / nvalid : NAN;
    out->map5095 = nvalid ? sum / nvalid : NAN;
    out->tp = all_tp;
    out->fp = all_fp;
    out->fn = all_pos - all_tp;
    out->precision = ratio((double)all_tp, (double)(all_tp + all_fp));
    out->recall = ratio((double)all_tp, (double)all_pos);
    out->f1 = ratio(2.0 * (double)all_tp, (double)(2 * all_tp + all_fp + out->fn));
    out->kpt_n = kn;
    out->kpt_err_px = kn ? kpx / (double)kn : NAN;
    out->kpt_err_mm = kn && p->row_spacing_mm > 0 && p->col_spacing_mm > 0 ? kmm / (double)kn : NAN;
    st = DOLOR_OK;
done:
    free(gidx);
    free(gext);
    free(gig);
    free(didx);
    free(ious);
    free(gtm);
    free(dtm0);
    free(dtm1);
    free(pd);
    if (st != DOLOR_OK)
        dolor_det_eval_free(out);
    return st;
}
