/* Detection training samples: Ultralytics-style mosaic (4 images around a random centre of a 2S x 2S
 * canvas, each resized to long side S), a random scale and translation (its random_perspective without
 * rotation, shear or perspective, which its YOLOv8 defaults leave at 0), an intensity gain (the V of its
 * HSV jitter; these are grey images), an optional left-right flip with keypoint pairs swapped, or the
 * centred letterbox without augmentation. Every output pixel is sampled once through the composed map
 * (bilinear; Ultralytics resizes and then warps, two interpolations). Objects follow the same map:
 * boxes from the object's mask sampled at every output pixel (so a crop shrinks the box as Ultralytics'
 * segment-derived boxes do) or from the box corners; masks at S/4 (the prototype grid) sampled at its
 * cell centres; keypoints moved and made invisible outside the picture. An object is dropped, as by its
 * box_candidates, unless width and height exceed 2 px and at least 10% of its scaled box area is left. */
#include "detect_priv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct tile {
    size_t img;
    double r, ox, oy;         /* canvas = src * r + o */
    double x0, y0, x1, y1;    /* the tile's canvas rectangle */
} tile;

struct det_sampler {
    const dolor_det_train_data *d;
    int S, S4, nkpt, seg;
    int cap;                  /* objects per sample */
    det_sample_obj *objs;
    float *kpts;              /* [cap, nkpt, 3] */
    uint8_t *masks;           /* [cap, S4, S4] when seg */
};

dolor_status det_sampler_create(const dolor_det_train_data *data, int S, int nkpt, int seg, det_sampler **out)
{
    *out = NULL;
    if (!data || data->n == 0 || S < 32 || S % 32)
        return dolor_error(DOLOR_EINVAL, "detection samples: %zu images, size %d (need >= 1 images and a multiple of "
                                         "32)",
                           data ? data->n : (size_t)0, S);
    size_t most = 0;
    for (size_t i = 0; i < data->n; i++)
        most = data->lists[i].n > most ? data->lists[i].n : most;
    det_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return dolor_error(DOLOR_ENOMEM, "detection samples: out of memory");
    s->d = data;
    s->S = S;
    s->S4 = S / 4;
    s->nkpt = nkpt;
    s->seg = seg;
    s->cap = (int)(4 * most + 1);
    s->objs = calloc((size_t)s->cap, sizeof *s->objs);
    s->kpts = nkpt ? calloc((size_t)s->cap * (size_t)nkpt * 3, sizeof *s->kpts) : NULL;
    s->masks = seg ? calloc((size_t)s->cap * (size_t)s->S4 * (size_t)s->S4, 1) : NULL;
    if (!s->objs || (nkpt && !s->kpts) || (seg && !s->masks)) {
        det_sampler_free(s);
        return dolor_error(DOLOR_ENOMEM, "detection samples: out of memory for %d objects", 4 * (int)most + 1);
    }
    *out = s;
    return DOLOR_OK;
}

void det_sampler_free(det_sampler *s)
{
    if (!s)
        return;
    free(s->objs);
    free(s->kpts);
    free(s->masks);
    free(s);
}

/* coordinates from the pixel edges, as cv2.warpAffine */
static float bilinear(const float *im, int w, int h, double x, double y)
{
    return dolor_bilinear_at(im, w, h, x - 0.5, y - 0.5);
}

void det_letterbox(const float *in, int w, int h, int S, float *out, double *r, double *padx, double *pady)
{
    double rr = (double)S / (w > h ? w : h);
    double px = (S - w * rr) / 2, py = (S - h * rr) / 2;
    for (int v = 0; v < S; v++)
        for (int u = 0; u < S; u++) {
            double x = (u + 0.5 - px) / rr, y = (v + 0.5 - py) / rr;
            out[(size_t)v * S + u] = x >= 0 && y >= 0 && x < w && y < h ? bilinear(in, w, h, x, y) : 114.0f / 255.0f;
        }
    *r = rr;
    *padx = px;
    *pady = py;
}

static int in_tile(const tile *t, double x, double y) { return x >= t->x0 && x < t->x1 && y >= t->y0 && y < t->y1; }

dolor_status det_sampler_make(det_sampler *s, size_t idx, const dolor_det_augment *aug, int use_mosaic,
                              dolor_rng *rng, float *img, det_sample_obj **objs, int *nobj)
{
    const dolor_det_train_data *d = s->d;
    const int S = s->S, S4 = s->S4;
    tile t[4];
    int nt = 0;
    double C = S / 2.0, sc = 1, Tx = S / 2.0, Ty = S / 2.0;
    if (idx >= d->n)
        return dolor_error(DOLOR_EINVAL, "detection samples: image %zu of %zu", idx, d->n);
    if (use_mosaic && aug) {
        double xc = S / 2.0 + dolor_rng_uniform(rng) * S, yc = S / 2.0 + dolor_rng_uniform(rng) * S;
        for (int k = 0; k < 4; k++) {
            size_t im = k == 0 ? idx : (size_t)dolor_rng_below(rng, d->n);
            int w = d->w[im], h = d->h[im];
            double r = (double)S / (w > h ? w : h), ww = w * r, hh = h * r;
            tile *q = &t[nt++];
            q->img = im;
            q->r = r;
            q->ox = k == 0 || k == 2 ? xc - ww : xc;
            q->oy = k < 2 ? yc - hh : yc;
            q->x0 = q->ox > 0 ? q->ox : 0;
            q->y0 = q->oy > 0 ? q->oy : 0;
            q->x1 = q->ox + ww < 2.0 * S ? q->ox + ww : 2.0 * S;
            q->y1 = q->oy + hh < 2.0 * S ? q->oy + hh : 2.0 * S;
        }
        C = S;
    } else {
        int w = d->w[idx], h = d->h[idx];
        double r = (double)S / (w > h ? w : h);
        tile *q = &t[nt++];
        q->img = idx;
        q->r = r;
        q->ox = (S - w * r) / 2;
        q->oy = (S - h * r) / 2;
        q->x0 = q->ox;
        q->y0 = q->oy;
        q->x1 = q->ox + w * r;
        q->y1 = q->oy + h * r;
    }
    if (aug) {
        sc = 1 + (2 * dolor_rng_uniform(rng) - 1) * aug->scale;
        Tx = (0.5 + (2 * dolor_rng_uniform(rng) - 1) * aug->translate) * S;
        Ty = (0.5 + (2 * dolor_rng_uniform(rng) - 1) * aug->translate) * S;
    }
    double gain = aug ? 1 + (2 * dolor_rng_uniform(rng) - 1) * aug->hsv_v : 1;
    int flip = aug && aug->fliplr > 0 && dolor_rng_uniform(rng) < aug->fliplr;
    const float pad = 114.0f / 255.0f;
    /* the picture */
    for (int v = 0; v < S; v++) {
        double cy = (v + 0.5 - Ty) / sc + C;
        for (int u = 0; u < S; u++) {
            double cx = (u + 0.5 - Tx) / sc + C;
            float val = pad;
            for (int k = 0; k < nt; k++)
                if (in_tile(&t[k], cx, cy)) {
                    const tile *q = &t[k];
                    val = bilinear(d->pixels[q->img], d->w[q->img], d->h[q->img], (cx - q->ox) / q->r,
                                   (cy - q->oy) / q->r);
                    break;
                }
            val *= (float)gain;
            img[(size_t)v * S + (flip ? S - 1 - u : u)] = val < 0 ? 0 : val > 1 ? 1 : val;
        }
    }
    /* the objects */
    int n = 0;
    for (int k = 0; k < nt; k++) {
        const tile *q = &t[k];
        const dolor_det_list *l = &d->lists[q->img];
        const int w = d->w[q->img], h = d->h[q->img];
        double f = sc * q->r; /* src -> out scale */
        double bx = sc * (q->ox - C) + Tx, by = sc * (q->oy - C) + Ty; /* out = src * f + b */
        /* the tile's rectangle in output pixels, clipped to the picture */
        double rx0 = fmax(0, sc * (q->x0 - C) + Tx), ry0 = fmax(0, sc * (q->y0 - C) + Ty);
        double rx1 = fmin(S, sc * (q->x1 - C) + Tx), ry1 = fmin(S, sc * (q->y1 - C) + Ty);
        for (size_t i = 0; i < l->n && n < s->cap; i++) {
            const dolor_det_object *o = &l->obj[i];
            double X1 = o->box[0] * f + bx, Y1 = o->box[1] * f + by, X2 = o->box[2] * f + bx, Y2 = o->box[3] * f + by;
            double area0 = (X2 - X1) * (Y2 - Y1);
            double b[4];
            if (o->mask && l->w == w && l->h == h) {
                int u0 = (int)floor(fmax(X1, rx0)), u1 = (int)ceil(fmin(X2, rx1));
                int v0 = (int)floor(fmax(Y1, ry0)), v1 = (int)ceil(fmin(Y2, ry1));
                int umin = S, vmin = S, umax = -1, vmax = -1;
                for (int v = v0; v < v1; v++) {
                    double yc = v + 0.5;
                    if (yc < ry0 || yc >= ry1)
                        continue;
                    int ys = (int)floor((yc - by) / f);
                    if (ys < 0 || ys >= h)
                        continue;
                    const uint8_t *mrow = o->mask + (size_t)ys * w;
                    for (int u = u0; u < u1; u++) {
                        double xc = u + 0.5;
                        if (xc < rx0 || xc >= rx1)
                            continue;
                        int xs = (int)floor((xc - bx) / f);
                        if (xs < 0 || xs >= w || !mrow[xs])
                            continue;
                        umin = u < umin ? u : umin;
                        umax = u > umax ? u : umax;
                        vmin = v < vmin ? v : vmin;
                        vmax = v > vmax ? v : vmax;
                    }
                }
                if (umax < 0)
                    continue;
                b[0] = umin;
                b[1] = vmin;
                b[2] = umax + 1;
                b[3] = vmax + 1;
            } else {
                b[0] = fmax(X1, rx0);
                b[1] = fmax(Y1, ry0);
                b[2] = fmin(X2, rx1);
                b[3] = fmin(Y2, ry1);
            }
            double bw = b[2] - b[0], bh = b[3] - b[1];
            if (!(bw > 2 && bh > 2 && bw * bh > 0.1 * area0))
                continue;
            det_sample_obj *so = &s->objs[n];
            so->cls = o->cls;
            for (int j = 0; j < 4; j++)
                so->box[j] = (float)b[j];
            so->kpt = NULL;
            so->mask4 = NULL;
            so->area4 = 0;
            if (s->nkpt) {
                float *kp = s->kpts + (size_t)n * (size_t)s->nkpt * 3;
                for (int j = 0; j < s->nkpt; j++) {
                    double x = 0, y = 0, vis = 0;
                    if (o->kpt && o->kpt[3 * j + 2] > 0) {
                        x = o->kpt[3 * j] * f + bx;
                        y = o->kpt[3 * j + 1] * f + by;
                        vis = o->kpt[3 * j + 2];
                        if (!(x >= rx0 && x < rx1 && y >= ry0 && y < ry1))
                            x = y = vis = 0;
                    }
                    kp[3 * j] = (float)x;
                    kp[3 * j + 1] = (float)y;
                    kp[3 * j + 2] = (float)vis;
                }
                so->kpt = kp;
            }
            if (s->seg) {
                uint8_t *m4 = s->masks + (size_t)n * S4 * S4;
                memset(m4, 0, (size_t)S4 * S4);
                int cnt = 0;
                for (int V = 0; V < S4; V++) {
                    double yc = (V + 0.5) * 4;
                    if (yc < ry0 || yc >= ry1)
                        continue;
                    int ys = (int)floor((yc - by) / f);
                    if (ys < 0 || ys >= h)
                        continue;
                    for (int U = 0; U < S4; U++) {
                        double xc = (U + 0.5) * 4;
                        if (xc < rx0 || xc >= rx1)
                            continue;
                        int xs = (int)floor((xc - bx) / f);
                        if (xs < 0 || xs >= w)
                            continue;
                        int in = o->mask && l->w == w ? o->mask[(size_t)ys * w + xs] != 0
                                                      : (xs + 0.5 >= o->box[0] && xs + 0.5 < o->box[2] &&
                                                         ys + 0.5 >= o->box[1] && ys + 0.5 < o->box[3]);
                        if (in) {
                            m4[(size_t)V * S4 + U] = 1;
                            cnt++;
                        }
                    }
                }
                so->mask4 = m4;
                so->area4 = cnt;
            }
            n++;
        }
    }
    if (flip)
        for (int i = 0; i < n; i++) {
            det_sample_obj *so = &s->objs[i];
            float x1 = so->box[0];
            so->box[0] = (float)S - so->box[2];
            so->box[2] = (float)S - x1;
            if (so->kpt) {
                float tmp[3 * 64];
                int K = s->nkpt < 64 ? s->nkpt : 64;
                memcpy(tmp, so->kpt, (size_t)K * 3 * sizeof *tmp);
                for (int j = 0; j < K; j++) {
                    int src = aug->flip_idx ? aug->flip_idx[j] : j;
                    so->kpt[3 * j] = tmp[3 * src + 2] > 0 ? (float)S - tmp[3 * src] : 0;
                    so->kpt[3 * j + 1] = tmp[3 * src + 1];
                    so->kpt[3 * j + 2] = tmp[3 * src + 2];
                }
            }
            if (so->mask4)
                for (int V = 0; V < S4; V++) {
                    uint8_t *row = so->mask4 + (size_t)V * S4;
                    for (int U = 0; U < S4 / 2; U++) {
                        uint8_t a = row[U];
                        row[U] = row[S4 - 1 - U];
                        row[S4 - 1 - U] = a;
                    }
                }
        }
    *objs = s->objs;
    *nobj = n;
    return DOLOR_OK;
}
