/* Post-processing of decoded YOLOv8 candidates as Ultralytics' non_max_suppression and process_mask
 * do (ultralytics/utils/ops.py): confidence threshold, class-aware greedy NMS, max detections, instance
 * masks from prototypes, keypoints carried with their box. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dolor/detect.h"

dolor_det_nms_params dolor_det_nms_defaults(void)
{
    dolor_det_nms_params p;
    memset(&p, 0, sizeof p);
    p.conf = 0.25;
    p.iou = 0.7;
    p.max_det = 300;
    p.max_nms = 30000;
    return p;
}

typedef struct cand {
    size_t box;  /* candidate index */
    int cls;
    float score;
} cand;

/* descending score, ties by candidate then class index (a stable order) */
static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score > y->score)
        return -1;
    if (x->score < y->score)
        return 1;
    if (x->box != y->box)
        return x->box < y->box ? -1 : 1;
    return (x->cls > y->cls) - (x->cls < y->cls);
}

/* torchvision.ops.box_iou on xyxy: area (x2 - x1)(y2 - y1), intersection clamped at 0 */
static double iou_xyxy(const float *a, const float *b)
{
    double iw = fmin(a[2], b[2]) - fmax(a[0], b[0]), ih = fmin(a[3], b[3]) - fmax(a[1], b[1]);
    if (iw <= 0 || ih <= 0)
        return 0.0;
    double in = iw * ih;
    double u = ((double)a[2] - a[0]) * ((double)a[3] - a[1]) + ((double)b[2] - b[0]) * ((double)b[3] - b[1]) - in;
    return u > 0 ? in / u : 0.0;
}

/* sigmoid(coef . protos) on the prototype grid, zero outside the box scaled to the grid (crop_mask:
 * column c kept when x1 <= c < x2, row r when y1 <= r < y2), bilinear upsampling with half-pixel centres
 * (F.interpolate(mode='bilinear', align_corners=False)) to h x w, then > 0.5. In float32, the arithmetic
 * of Ultralytics' process_mask on a float32 tensor. */
static void assemble_mask(const dolor_det_candidates *c, size_t i, const float *box, float *grid, uint8_t *out)
{
    const int ph = c->proto_h, pw = c->proto_w, H = c->img_h, W = c->img_w;
    const size_t np = (size_t)ph * (size_t)pw;
    const float *coef = c->coef + i * (size_t)c->nm;
    float sx = (float)((double)pw / W), sy = (float)((double)ph / H);
    float x1 = box[0] * sx, x2 = box[2] * sx, y1 = box[1] * sy, y2 = box[3] * sy;
    for (int r = 0; r < ph; r++)
        for (int q = 0; q < pw; q++) {
            size_t e = (size_t)r * pw + q;
            if (!((float)q >= x1 && (float)q < x2 && (float)r >= y1 && (float)r < y2)) {
                grid[e] = 0.0f;
                continue;
            }
            float s = 0;
            for (int k = 0; k < c->nm; k++)
                s += coef[k] * c->protos[(size_t)k * np + e];
            grid[e] = 1.0f / (1.0f + expf(-s));
        }
    float ry = (float)ph / (float)H, rx = (float)pw / (float)W;
    for (int y = 0; y < H; y++) {
        float fy = ry * ((float)y + 0.5f) - 0.5f;
        if (fy < 0)
            fy = 0;
        int y0 = (int)fy, y1i = y0 < ph - 1 ? y0 + 1 : y0;
        float ly1 = fy - (float)y0, ly0 = 1.0f - ly1;
        for (int x = 0; x < W; x++) {
            float fx = rx * ((float)x + 0.5f) - 0.5f;
            if (fx < 0)
                fx = 0;
            int x0 = (int)fx, x1i = x0 < pw - 1 ? x0 + 1 : x0;
            float lx1 = fx - (float)x0, lx0 = 1.0f - lx1;
            float v = ly0 * (lx0 * grid[(size_t)y0 * pw + x0] + lx1 * grid[(size_t)y0 * pw + x1i]) +
                      ly1 * (lx0 * grid[(size_t)y1i * pw + x0] + lx1 * grid[(size_t)y1i * pw + x1i]);
            out[(size_t)y * W + x] = v > 0.5f;
        }
    }
}

dolor_status dolor_det_postprocess(const dolor_det_candidates *c, const dolor_det_nms_params *p,
                                   dolor_det_list *out)
{
    if (!c || !p || !out)
        return dolor_error(DOLOR_EINVAL, "dolor_det_postprocess: NULL argument");
    if (c->nc < 1 || (c->n && (!c->boxes || !c->scores)))
        return dolor_error(DOLOR_EINVAL, "dolor_det_postprocess: %d classes, boxes or scores NULL", c->nc);
    if (!(p->conf >= 0 && p->conf < 1) || !(p->iou >= 0 && p->iou <= 1) || p->max_det < 1 || p->max_nms < 1)
        return dolor_error(DOLOR_EINVAL, "dolor_det_postprocess: conf %g (0..1), iou %g (0..1), max_det %d, max_nms %d",
                           p->conf, p->iou, p->max_det, p->max_nms);
    if (c->img_h < 1 || c->img_w < 1)
        return dolor_error(DOLOR_EINVAL, "dolor_det_postprocess: input size %dx%d", c->img_w, c->img_h);
    int masks = c->nm > 0 || c->protos || c->coef;
    if (masks && (c->nm < 1 || !c->protos || !c->coef || c->proto_h < 1 || c->proto_w < 1))
        return dolor_error(DOLOR_EINVAL, "dolor_det_postprocess: masks need nm >= 1 (got %d), coef, protos and a "
                           "prototype size (got %dx%d)", c->nm, c->proto_w, c->proto_h);
    int kp = c->kpt != NULL;
    if (kp && (c->nkpt < 1 || (c->kdim != 2 && c->kdim != 3)))
        return dolor_error(DOLOR_EINVAL, "dolor_det_postprocess: keypoints need nkpt >= 1 (got %d) and kdim 2 or 3 "
                           "(got %d)", c->nkpt, c->kdim);
    dolor_det_list_free(out);
    dolor_det_list_init(out, c->img_h, c->img_w, kp ? c->nkpt : 0);
    /* candidates above the threshold: the best class of each box, or every class (multi_label) */
    size_t cap = 0, nc = 0;
    for (size_t i = 0; i < c->n; i++)
        for (int k = 0; k < c->nc; k++)
            cap += c->scores[i * (size_t)c->nc + k] > p->conf;
    cand *cd = malloc((cap ? cap : 1) * sizeof *cd);
    if (!cd)
        return dolor_error(DOLOR_ENOMEM, "dolor_det_postprocess: out of memory");
    for (size_t i = 0; i < c->n; i++) {
        const float *s = c->scores + i * (size_t)c->nc;
        if (p->multi_label) {
            for (int k = 0; k < c->nc; k++)
                if (s[k] > p->conf)
                    cd[nc++] = (cand){i, k, s[k]};
        } else {
            int best = 0;
            for (int k = 1; k < c->nc; k++)
                if (s[k] > s[best])
                    best = k;
            if (s[best] > p->conf)
                cd[nc++] = (cand){i, best, s[best]};
        }
    }
    qsort(cd, nc, sizeof *cd, cand_cmp);
    if (nc > (size_t)p->max_nms)
        nc = (size_t)p->max_nms;
    /* greedy NMS in score order: keep a candidate unless a kept one of its class (any class when
     * agnostic) overlaps it with IoU > iou */
    size_t *keep = malloc((nc ? nc : 1) * sizeof *keep), nk = 0;
    float *grid = masks ? malloc((size_t)c->proto_h * (size_t)c->proto_w * sizeof *grid) : NULL;
    uint8_t *m = masks ? malloc((size_t)c->img_h * (size_t)c->img_w) : NULL;
    double *kv = kp ? malloc((size_t)c->nkpt * 3 * sizeof *kv) : NULL;
    dolor_status st = DOLOR_OK;
    if (!keep || (masks && (!grid || !m)) || (kp && !kv)) {
        st = dolor_error(DOLOR_ENOMEM, "dolor_det_postprocess: out of memory");
        goto done;
    }
    for (size_t i = 0; i < nc && nk < (size_t)p->max_det; i++) {
        const float *bi = c->boxes + cd[i].box * 4;
        int sup = 0;
        for (size_t j = 0; j < nk && !sup; j++) {
            if (!p->agnostic && cd[keep[j]].cls != cd[i].cls)
                continue;
            sup = iou_xyxy(c->boxes + cd[keep[j]].box * 4, bi) > p->iou;
        }
        if (!sup)
            keep[nk++] = i;
    }
    for (size_t j = 0; j < nk; j++) {
        const cand *q = &cd[keep[j]];
        const float *b = c->boxes + q->box * 4;
        double box[4] = {b[0], b[1], b[2], b[3]};
        if (masks)
            assemble_mask(c, q->box, b, grid, m);
        if (kp) {
            const float *src = c->kpt + q->box * (size_t)c->nkpt * (size_t)c->kdim;
            for (int k = 0; k < c->nkpt; k++) {
                kv[3 * k] = src[k * c->kdim];
                kv[3 * k + 1] = src[k * c->kdim + 1];
                kv[3 * k + 2] = c->kdim == 3 ? src[k * c->kdim + 2] : 2.0;
            }
        }
        st = dolor_det_list_add(out, q->cls, q->score, box, m, kv);
        if (st != DOLOR_OK)
            break;
    }
done:
    free(cd);
    free(keep);
    free(grid);
    free(m);
    free(kv);
    if (st != DOLOR_OK)
        dolor_det_list_free(out);
    return st;
}
