/* Detection lists and the overlap measures (box IoU, mask IoU, OKS). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dolor/detect.h"
#include "dolor/image.h"

void dolor_det_list_init(dolor_det_list *l, int h, int w, int nkpt)
{
    memset(l, 0, sizeof *l);
    l->h = h;
    l->w = w;
    l->nkpt = nkpt;
}

void dolor_det_list_free(dolor_det_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->obj[i].mask);
        free(l->obj[i].kpt);
    }
    free(l->obj);
    l->obj = NULL;
    l->n = l->cap = 0;
}

dolor_status dolor_det_list_add(dolor_det_list *l, int cls, double score, const double box[4],
                                const uint8_t *mask, const double *kpt)
{
    if (!l || !box)
        return dolor_error(DOLOR_EINVAL, "dolor_det_list_add: NULL list or box");
    if (cls < 0)
        return dolor_error(DOLOR_EINVAL, "dolor_det_list_add: class %d < 0", cls);
    for (int j = 0; j < 4; j++)
        if (!isfinite(box[j]))
            return dolor_error(DOLOR_EINVAL, "dolor_det_list_add: box coordinate %d is not finite", j);
    if (mask && (l->h < 1 || l->w < 1))
        return dolor_error(DOLOR_EINVAL, "dolor_det_list_add: a mask but the list's size is %dx%d", l->w, l->h);
    if (kpt && l->nkpt < 1)
        return dolor_error(DOLOR_EINVAL, "dolor_det_list_add: keypoints but the list has nkpt %d", l->nkpt);
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        dolor_det_object *o = realloc(l->obj, cap * sizeof *o);
        if (!o)
            return dolor_error(DOLOR_ENOMEM, "dolor_det_list_add: out of memory");
        l->obj = o;
        l->cap = cap;
    }
    dolor_det_object *o = &l->obj[l->n];
    memset(o, 0, sizeof *o);
    o->cls = cls;
    o->score = score;
    memcpy(o->box, box, sizeof o->box);
    if (mask) {
        size_t n = (size_t)l->h * (size_t)l->w;
        o->mask = malloc(n);
        if (!o->mask)
            return dolor_error(DOLOR_ENOMEM, "dolor_det_list_add: out of memory");
        for (size_t i = 0; i < n; i++)
            o->mask[i] = mask[i] != 0;
    }
    if (kpt) {
        o->kpt = malloc((size_t)l->nkpt * 3 * sizeof(double));
        if (!o->kpt) {
            free(o->mask);
            return dolor_error(DOLOR_ENOMEM, "dolor_det_list_add: out of memory");
        }
        memcpy(o->kpt, kpt, (size_t)l->nkpt * 3 * sizeof(double));
    }
    l->n++;
    return DOLOR_OK;
}

/* pycocotools' bbIou works on x, y, w, h: the right edge is x + w. */
double dolor_det_box_iou(const double a[4], const double b[4])
{
    double aw = a[2] - a[0], ah = a[3] - a[1], bw = b[2] - b[0], bh = b[3] - b[1];
    double w = fmin(a[0] + aw, b[0] + bw) - fmax(a[0], b[0]);
    if (!(w > 0))
        return 0.0;
    double h = fmin(a[1] + ah, b[1] + bh) - fmax(a[1], b[1]);
    if (!(h > 0))
        return 0.0;
    double i = w * h, u = aw * ah + bw * bh - i;
    return u > 0 ? i / u : 0.0;
}

double dolor_det_mask_iou(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t in = 0, un = 0;
    for (size_t i = 0; i < n; i++) {
        in += a[i] & b[i];
        un += a[i] | b[i];
    }
    return in ? (double)in / (double)un : 0.0;
}

const double dolor_det_coco_sigmas[17] = {.26 / 10, .25 / 10, .25 / 10, .35 / 10, .35 / 10, .79 / 10,
                                          .79 / 10, .72 / 10, .72 / 10, .62 / 10, .62 / 10, 1.07 / 10,
                                          1.07 / 10, .87 / 10, .87 / 10, .89 / 10, .89 / 10};

double dolor_det_oks(const double *dt, const double *gt, const double *sigmas, int nkpt, double area,
                     const double gt_box[4])
{
    const double eps = 2.220446049250313e-16; /* np.spacing(1) */
    int k1 = 0;
    for (int i = 0; i < nkpt; i++)
        k1 += gt[3 * i + 2] > 0;
    double bx = gt_box[0], by = gt_box[1], bw = gt_box[2] - gt_box[0], bh = gt_box[3] - gt_box[1];
    double x0 = bx - bw, x1 = bx + bw * 2, y0 = by - bh, y1 = by + bh * 2;
    double s = 0;
    int cnt = 0;
    for (int i = 0; i < nkpt; i++) {
        double dx, dy;
        if (k1 > 0) {
            if (!(gt[3 * i + 2] > 0))
                continue;
            dx = dt[3 * i] - gt[3 * i];
            dy = dt[3 * i + 1] - gt[3 * i + 1];
        } else {
            double xd = dt[3 * i], yd = dt[3 * i + 1];
            dx = fmax(0.0, x0 - xd) + fmax(0.0, xd - x1);
            dy = fmax(0.0, y0 - yd) + fmax(0.0, yd - y1);
        }
        double var = (sigmas[i] * 2) * (sigmas[i] * 2);
        double e = (dx * dx + dy * dy) / var / (area + eps) / 2;
        s += exp(-e);
        cnt++;
    }
    return cnt ? s / cnt : 0.0;
}

void dolor_det_pixel_to_mm(const dolor_image *img, double x, double y, double z, double xyz[3])
{
    if (!img || !xyz)
        return;
    double ijk[3] = {x - 0.5, y - 0.5, z};
    dolor_image_index_to_point(img, ijk, xyz);
}
