/* Whole-image inference (preprocess -> forward -> resize back -> argmax) and overlays. */
#include "dolor/io.h"
#include "dolor/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct dolor_segment_scratch {
    int h, w, k, c;
    dolor_tensor *x, *logits;
    float *full;        /* [K, oh, ow] logits at the image's size */
    size_t full_cap;    /* floats */
    float *acc;         /* [K, oh, ow] summed probabilities (ensembles, TTA) */
    size_t acc_cap;
    float *x0;          /* [C, h, w] the preprocessed image before mirroring */
    size_t x0_cap;
};

void dolor_segment_scratch_free(dolor_segment_scratch *s)
{
    if (!s)
        return;
    dolor_tensor_free(s->x);
    dolor_tensor_free(s->logits);
    dolor_free_aligned(s->full);
    dolor_free_aligned(s->acc);
    dolor_free_aligned(s->x0);
    free(s);
}

static dolor_status scratch_ensure(dolor_segment_scratch **sp, const dolor_model_meta *meta, int channels,
                                   size_t full_floats)
{
    dolor_segment_scratch *s = *sp;
    if (s && (s->h != meta->height || s->w != meta->width || s->k != meta->num_classes || s->c != channels)) {
        /* another network size: new tensors, the image-size buffers are kept */
        dolor_tensor_free(s->x);
        dolor_tensor_free(s->logits);
        s->x = s->logits = NULL;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return dolor_error(DOLOR_ENOMEM, "segment: out of memory");
        *sp = s;
    }
    if (!s->x) {
        s->h = meta->height;
        s->w = meta->width;
        s->k = meta->num_classes;
        s->c = channels;
        dolor_status st = dolor_tensor_create4(&s->x, 1, channels, s->h, s->w);
        if (!st)
            st = dolor_tensor_create4(&s->logits, 1, s->k, s->h, s->w);
        if (st) {
            dolor_tensor_free(s->x);
            s->x = NULL;
            return st;
        }
    }
    if (s->full_cap < full_floats) {
        dolor_free_aligned(s->full);
        s->full = dolor_alloc_aligned(full_floats * sizeof(float));
        s->full_cap = s->full ? full_floats : 0;
        if (!s->full)
            return dolor_error(DOLOR_ENOMEM, "segment: out of memory for %zu floats", full_floats);
    }
    return DOLOR_OK;
}

dolor_status dolor_segment_image(dolor_net *net, const dolor_model_meta *meta, const dolor_image *img,
                                 dolor_segment_scratch **scratch, dolor_image **classes)
{
    return dolor_segment_image_probs(net, meta, img, scratch, classes, NULL);
}

dolor_status dolor_segment_image_probs(dolor_net *net, const dolor_model_meta *meta, const dolor_image *img,
                                       dolor_segment_scratch **scratch, dolor_image **classes, float *probs)
{
    *classes = NULL;
    if (img->ndim > 3 || (img->ndim == 3 && img->size[2] != 1))
        return dolor_error(DOLOR_EINVAL, "segment: image is %dD (%lldx%lldx%lld); this model segments 2D images",
                           img->ndim, (long long)img->size[0], (long long)img->size[1], (long long)img->size[2]);
    int ndim;
    int64_t in_dims[5];
    dolor_status s = dolor_net_input_shape(net, 0, &ndim, in_dims);
    if (s)
        return s;
    if (ndim != 4 || in_dims[1] < 1 || in_dims[1] > DOLOR_MAX_CHANNELS)
        return dolor_error(DOLOR_EUNSUPPORTED, "segment: model (%s) expects %lld input channels in %dD (2D models of "
                           "1..%d channels segment images)", dolor_net_arch(net), (long long)in_dims[1], ndim - 2,
                           DOLOR_MAX_CHANNELS);
    const int channels = (int)in_dims[1];
    int ow = (int)img->size[0], oh = (int)img->size[1], k = meta->num_classes;
    dolor_segment_scratch *local = NULL;
    dolor_segment_scratch **sp = scratch ? scratch : &local;
    s = scratch_ensure(sp, meta, channels, (size_t)k * (size_t)ow * (size_t)oh);
    if (s)
        goto done;
    dolor_segment_scratch *sc = *sp;
    s = dolor_preprocess_channels(img, channels, meta->height, meta->width, sc->x->data);
    if (!s)
        s = dolor_net_forward(net, sc->x, sc->logits, 0);
    if (s)
        goto done;
    dolor_resize_bilinear(sc->logits->data, k, meta->height, meta->width, sc->full, oh, ow);
    int64_t size[2] = {ow, oh};
    s = dolor_image_create(classes, DOLOR_U8, 1, 2, size);
    if (s)
        goto done;
    dolor_image_copy_geometry(*classes, img);
    if (img->ndim == 3) {
        (*classes)->ndim = 3;
        (*classes)->size[2] = 1;
    }
    uint8_t *out = (*classes)->data;
    size_t plane = (size_t)ow * (size_t)oh;
    for (size_t p = 0; p < plane; p++) {
        int best = 0;
        float bv = sc->full[p];
        for (int c = 1; c < k; c++) {
            float v = sc->full[(size_t)c * plane + p];
            if (v > bv) {
                bv = v;
                best = c;
            }
        }
        out[p] = (uint8_t)best;
        if (probs) {
            /* softmax over the classes, shifted by the largest logit (bv) */
            double z = 0;
            for (int c = 0; c < k; c++)
                z += exp((double)sc->full[(size_t)c * plane + p] - (double)bv);
            for (int c = 0; c < k; c++)
                probs[(size_t)c * plane + p] = (float)(exp((double)sc->full[(size_t)c * plane + p] - (double)bv) / z);
        }
    }
done:
    if (!scratch)
        dolor_segment_scratch_free(local);
    return s;
}

/* Mirror planes [c][h][w] in place along x (left-right) and/or y (up-down). */
static void mirror(float *d, int c, int h, int w, int mx, int my)
{
    for (int k = 0; k < c; k++) {
        float *p = d + (size_t)k * (size_t)h * (size_t)w;
        if (mx)
            for (int y = 0; y < h; y++)
                for (int a = 0, b = w - 1; a < b; a++, b--) {
                    float t = p[(size_t)y * w + a];
                    p[(size_t)y * w + a] = p[(size_t)y * w + b];
                    p[(size_t)y * w + b] = t;
                }
        if (my)
            for (int a = 0, b = h - 1; a < b; a++, b--)
                for (int x = 0; x < w; x++) {
                    float t = p[(size_t)a * w + x];
                    p[(size_t)a * w + x] = p[(size_t)b * w + x];
                    p[(size_t)b * w + x] = t;
                }
    }
}

static dolor_status ensure_buf(float **b, size_t *cap, size_t n)
{
    if (*cap >= n)
        return DOLOR_OK;
    dolor_free_aligned(*b);
    *b = dolor_alloc_aligned(n * sizeof(float));
    *cap = *b ? n : 0;
    return *b ? DOLOR_OK : dolor_error(DOLOR_ENOMEM, "segment: out of memory for %zu floats", n);
}

dolor_status dolor_segment_ensemble(dolor_net *const *nets, const dolor_model_meta *metas, int nnets,
                                    const dolor_image *img, const dolor_segment_opts *opts,
                                    dolor_segment_scratch **scratch, dolor_image **classes)
{
    *classes = NULL;
    dolor_segment_opts none = {0};
    if (!opts)
        opts = &none;
    if (nnets < 1 || !nets || !metas)
        return dolor_error(DOLOR_EINVAL, "segment: no model");
    if (img->ndim > 3 || (img->ndim == 3 && img->size[2] != 1))
        return dolor_error(DOLOR_EINVAL, "segment: image is %dD (%lldx%lldx%lld); this model segments 2D images",
                           img->ndim, (long long)img->size[0], (long long)img->size[1], (long long)img->size[2]);
    const int k = metas[0].num_classes;
    int channels = 0;
    for (int m = 0; m < nnets; m++) {
        int ndim;
        int64_t in_dims[5];
        dolor_status s = dolor_net_input_shape(nets[m], 0, &ndim, in_dims);
        if (s)
            return s;
        if (ndim != 4 || in_dims[1] < 1 || in_dims[1] > DOLOR_MAX_CHANNELS)
            return dolor_error(DOLOR_EUNSUPPORTED, "segment: model %d (%s) expects %lld input channels in %dD", m + 1,
                               dolor_net_arch(nets[m]), (long long)in_dims[1], ndim - 2);
        if (m == 0)
            channels = (int)in_dims[1];
        if (in_dims[1] != channels)
            return dolor_error(DOLOR_EINVAL, "segment: model %d takes %lld input channels but model 1 takes %d", m + 1,
                               (long long)in_dims[1], channels);
        if (metas[m].num_classes != k)
            return dolor_error(DOLOR_EINVAL, "segment: model %d has %d classes but model 1 has %d", m + 1,
                               metas[m].num_classes, k);
        for (int c = 0; c < k; c++)
            if (metas[m].label_values[c] != metas[0].label_values[c] ||
                strcmp(metas[m].class_names[c], metas[0].class_names[c]))
                return dolor_error(DOLOR_EINVAL, "segment: model %d's class %d is %s=%d but model 1's is %s=%d", m + 1,
                                   c, metas[m].class_names[c], metas[m].label_values[c], metas[0].class_names[c],
                                   metas[0].label_values[c]);
    }
    int ow = (int)img->size[0], oh = (int)img->size[1];
    size_t plane = (size_t)ow * (size_t)oh;
    dolor_segment_scratch *local = NULL;
    dolor_segment_scratch **sp = scratch ? scratch : &local;
    dolor_status s = DOLOR_OK;
    /* mirrorings: none, x, y, x and y (nnU-Net's test-time mirroring: every combination of the allowed axes) */
    int variants[4][2] = {{0, 0}, {1, 0}, {0, 1}, {1, 1}}, nvar = 0, use[4];
    for (int v = 0; v < 4; v++)
        if ((!variants[v][0] || opts->mirror_x) && (!variants[v][1] || opts->mirror_y))
            use[nvar++] = v;
    int count = 0;
    for (int m = 0; !s && m < nnets; m++) {
        const dolor_model_meta *meta = &metas[m];
        s = scratch_ensure(sp, meta, channels, (size_t)k * plane);
        dolor_segment_scratch *sc = *sp;
        size_t chw = (size_t)channels * (size_t)meta->height * (size_t)meta->width;
        if (!s)
            s = ensure_buf(&sc->acc, &sc->acc_cap, (size_t)k * plane);
        if (!s)
            s = ensure_buf(&sc->x0, &sc->x0_cap, chw);
        if (!s && m == 0)
            memset(sc->acc, 0, sizeof(float) * (size_t)k * plane);
        if (!s)
            s = dolor_preprocess_channels(img, channels, meta->height, meta->width, sc->x0);
        for (int vi = 0; !s && vi < nvar; vi++) {
            int mx = variants[use[vi]][0], my = variants[use[vi]][1];
            memcpy(sc->x->data, sc->x0, chw * sizeof(float));
            mirror(sc->x->data, channels, meta->height, meta->width, mx, my);
            s = dolor_net_forward(nets[m], sc->x, sc->logits, 0);
            if (s)
                break;
            mirror(sc->logits->data, k, meta->height, meta->width, mx, my);
            dolor_resize_bilinear(sc->logits->data, k, meta->height, meta->width, sc->full, oh, ow);
            /* softmax per pixel, summed */
            for (size_t p = 0; p < plane; p++) {
                float mxv = sc->full[p];
                for (int c = 1; c < k; c++)
                    mxv = sc->full[(size_t)c * plane + p] > mxv ? sc->full[(size_t)c * plane + p] : mxv;
                double sum = 0;
                for (int c = 0; c < k; c++)
                    sum += exp((double)sc->full[(size_t)c * plane + p] - mxv);
                for (int c = 0; c < k; c++)
                    sc->acc[(size_t)c * plane + p] += (float)(exp((double)sc->full[(size_t)c * plane + p] - mxv) / sum);
            }
            count++;
        }
    }
    if (!s) {
        int64_t size[2] = {ow, oh};
        s = dolor_image_create(classes, DOLOR_U8, 1, 2, size);
    }
    if (!s) {
        dolor_segment_scratch *sc = *sp;
        dolor_image_copy_geometry(*classes, img);
        if (img->ndim == 3) {
            (*classes)->ndim = 3;
            (*classes)->size[2] = 1;
        }
        uint8_t *out = (*classes)->data;
        float inv = 1.0f / (float)count;
        for (size_t p = 0; p < plane; p++) {
            int best = 0;
            float bv = sc->acc[p] * inv;
            for (int c = 1; c < k; c++) {
                float v = sc->acc[(size_t)c * plane + p] * inv;
                if (v > bv) {
                    bv = v;
                    best = c;
                }
            }
            out[p] = (uint8_t)best;
        }
    }
    if (!scratch)
        dolor_segment_scratch_free(local);
    return s;
}

dolor_status dolor_classes_to_labels(const dolor_image *classes, const dolor_model_meta *meta, dolor_image **labels)
{
    int maxv = 0;
    for (int c = 0; c < meta->num_classes; c++)
        maxv = meta->label_values[c] > maxv ? meta->label_values[c] : maxv;
    dolor_dtype dt = maxv > 255 ? DOLOR_U16 : DOLOR_U8;
    dolor_status s = dolor_image_create(labels, dt, 1, classes->ndim, classes->size);
    if (s)
        return s;
    dolor_image_copy_geometry(*labels, classes);
    const uint8_t *src = classes->data;
    size_t n = dolor_image_nvox(classes);
    for (size_t i = 0; i < n; i++) {
        int c = src[i] < meta->num_classes ? src[i] : 0;
        dolor_image_set(*labels, i, meta->label_values[c]);
    }
    return DOLOR_OK;
}

dolor_status dolor_overlay_make(const dolor_image *img, const dolor_image *classes, int num_classes,
                                const uint8_t *colours, dolor_image **rgb)
{
    *rgb = NULL;
    if (classes->dtype != DOLOR_U8 || classes->ncomp != 1)
        return dolor_error(DOLOR_EINVAL, "overlay: class map must be uint8 with 1 component (is %s x%d)",
                           dolor_dtype_name(classes->dtype), classes->ncomp);
    if (img->size[0] != classes->size[0] || img->size[1] != classes->size[1])
        return dolor_error(DOLOR_ESHAPE, "overlay: label map is %lldx%lld but image is %lldx%lld",
                           (long long)classes->size[0], (long long)classes->size[1], (long long)img->size[0],
                           (long long)img->size[1]);
    uint8_t table[DOLOR_MAX_CLASSES * 3];
    if (!colours) {
        for (int c = 0; c < DOLOR_MAX_CLASSES; c++)
            dolor_label_colour(c, table + 3 * c);
        colours = table;
    }
    int w = (int)img->size[0], h = (int)img->size[1];
    dolor_status s = dolor_image_create2d(rgb, DOLOR_U8, 3, w, h);
    if (s)
        return s;
    dolor_image_copy_geometry(*rgb, img);
    size_t n = (size_t)w * (size_t)h;
    /* base grey/RGB scaled to 0..255 by the image's range (uint8 kept as is) */
    double lo = 0, hi = 255;
    if (img->dtype != DOLOR_U8) {
        lo = INFINITY;
        hi = -INFINITY;
        for (size_t e = 0; e < n * (size_t)img->ncomp; e++) {
            double v = dolor_image_get(img, e);
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        if (!(hi > lo))
            hi = lo + 1;
    }
    uint8_t *o = (*rgb)->data;
    const uint8_t *cl = classes->data;
    for (size_t p = 0; p < n; p++) {
        for (int c = 0; c < 3; c++) {
            int ic = img->ncomp >= 3 ? c : 0;
            double v = (dolor_image_get(img, p * (size_t)img->ncomp + (size_t)ic) - lo) / (hi - lo) * 255.0;
            o[p * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
        }
    }
    const double alpha = 0.45;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            size_t p = (size_t)y * (size_t)w + (size_t)x;
            int c = cl[p];
            if (c <= 0 || c >= num_classes || c >= DOLOR_MAX_CLASSES)
                continue;
            int edge = (x > 0 && cl[p - 1] != c) || (x < w - 1 && cl[p + 1] != c) ||
                       (y > 0 && cl[p - (size_t)w] != c) || (y < h - 1 && cl[p + (size_t)w] != c);
            for (int k = 0; k < 3; k++) {
                double v = edge ? colours[c * 3 + k] : (1 - alpha) * o[p * 3 + k] + alpha * colours[c * 3 + k];
                o[p * 3 + k] = (uint8_t)(v + 0.5);
            }
        }
    }
    return DOLOR_OK;
}
