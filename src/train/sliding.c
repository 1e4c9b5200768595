/* Sliding-window inference at native resolution with Gaussian importance weighting, as nnU-Net v2 defines it
 * (nnunetv2/inference/sliding_window_prediction.py: compute_gaussian, compute_steps_for_sliding_window;
 * predict_sliding_window_return_logits). */
#include "dolor/data.h"
#include "dolor/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int dolor_sliding_steps(int image, int tile, double step_fraction, int *steps, int cap)
{
    if (image < tile || tile < 1 || !(step_fraction > 0 && step_fraction <= 1))
        return -1;
    double target = tile * step_fraction;
    int n = (int)ceil((double)(image - tile) / target) + 1;
    if (n > cap)
        return -1;
    double actual = n > 1 ? (double)(image - tile) / (double)(n - 1) : 0.0;
    for (int i = 0; i < n; i++)
        steps[i] = (int)nearbyint(actual * i); /* numpy round: half to even, as nearbyint */
    return n;
}

void dolor_gaussian_importance(int h, int w, double sigma_scale, float *out)
{
    /* gaussian_filter of a centred delta, divided by its maximum: exp(-(dy^2/sy^2 + dx^2/sx^2) / 2) inside
     * SciPy's truncation radius (4 sigma), 0 outside, zeros then set to the smallest non-zero value */
    double sy = h * sigma_scale, sx = w * sigma_scale;
    int cy = h / 2, cx = w / 2, ry = (int)(4.0 * sy + 0.5), rx = (int)(4.0 * sx + 0.5);
    float mn = INFINITY;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int dy = y - cy, dx = x - cx;
            float v = 0;
            if (abs(dy) <= ry && abs(dx) <= rx)
                v = (float)exp(-0.5 * ((double)dy * dy / (sy * sy) + (double)dx * dx / (sx * sx)));
            out[(size_t)y * w + x] = v;
            if (v > 0 && v < mn)
                mn = v;
        }
    for (size_t i = 0; i < (size_t)h * (size_t)w; i++)
        if (out[i] == 0)
            out[i] = mn;
}

dolor_status dolor_sliding_window(int height, int width, int th, int tw, double step_fraction, int k,
                                  dolor_tile_fn fn, void *ctx, float *out)
{
    enum { CAP = 4096 };
    int ys[CAP], xs[CAP];
    int ny = dolor_sliding_steps(height, th, step_fraction, ys, CAP);
    int nx = dolor_sliding_steps(width, tw, step_fraction, xs, CAP);
    if (ny < 0 || nx < 0)
        return dolor_error(DOLOR_EINVAL, "sliding window: image %dx%d, tile %dx%d, step %g (the image must be at least "
                           "the tile and the step in (0, 1])", width, height, tw, th, step_fraction);
    size_t plane = (size_t)height * (size_t)width, tp = (size_t)th * (size_t)tw;
    float *g = malloc(tp * sizeof *g), *tile = malloc((size_t)k * tp * sizeof *tile);
    double *acc = calloc((size_t)k * plane, sizeof *acc), *wsum = calloc(plane, sizeof *wsum);
    dolor_status s = DOLOR_OK;
    if (!g || !tile || !acc || !wsum)
        s = dolor_error(DOLOR_ENOMEM, "sliding window: out of memory for %dx%d", width, height);
    if (!s)
        dolor_gaussian_importance(th, tw, 1.0 / 8.0, g);
    int t = 0;
    for (int a = 0; !s && a < ny; a++)
        for (int b = 0; !s && b < nx; b++, t++) {
            s = fn(ctx, ys[a], xs[b], t, tile);
            for (int y = 0; !s && y < th; y++)
                for (int x = 0; x < tw; x++) {
                    size_t p = (size_t)(ys[a] + y) * (size_t)width + (size_t)(xs[b] + x), q = (size_t)y * tw + x;
                    wsum[p] += g[q];
                    for (int c = 0; c < k; c++)
                        acc[(size_t)c * plane + p] += (double)tile[(size_t)c * tp + q] * g[q];
                }
        }
    for (size_t p = 0; !s && p < plane; p++)
        for (int c = 0; c < k; c++)
            out[(size_t)c * plane + p] = (float)(acc[(size_t)c * plane + p] / wsum[p]);
    free(g);
    free(tile);
    free(acc);
    free(wsum);
    return s;
}

typedef struct {
    dolor_net *net;
    const float *x; /* [C, H, W] the preprocessed (padded) image */
    int c, h, w, th, tw;
    dolor_tensor *in, *logits;
} slide_ctx;

static dolor_status net_tile(void *ctx, int y0, int x0, int index, float *logits)
{
    (void)index;
    slide_ctx *sc = ctx;
    for (int c = 0; c < sc->c; c++)
        for (int y = 0; y < sc->th; y++)
            memcpy(sc->in->data + ((size_t)c * sc->th + y) * sc->tw,
                   sc->x + ((size_t)c * sc->h + (size_t)(y0 + y)) * sc->w + x0, sizeof(float) * (size_t)sc->tw);
    dolor_status s = dolor_net_forward(sc->net, sc->in, sc->logits, 0);
    if (!s)
        memcpy(logits, sc->logits->data, sizeof(float) * (size_t)sc->logits->shape[1] * sc->th * sc->tw);
    return s;
}

dolor_status dolor_segment_sliding(dolor_net *net, const dolor_model_meta *meta, const dolor_image *img,
                                   double overlap, dolor_image **classes)
{
    *classes = NULL;
    if (!(overlap >= 0 && overlap < 1))
        return dolor_error(DOLOR_EINVAL, "sliding window: overlap %g (must be 0 <= overlap < 1)", overlap);
    if (img->ndim > 3 || (img->ndim == 3 && img->size[2] != 1))
        return dolor_error(DOLOR_EINVAL, "segment: image is %dD; sliding windows are 2D here", img->ndim);
    int ndim;
    int64_t in_dims[5];
    dolor_status s = dolor_net_input_shape(net, 0, &ndim, in_dims);
    if (s)
        return s;
    if (ndim != 4 || in_dims[1] < 1 || in_dims[1] > DOLOR_MAX_CHANNELS)
        return dolor_error(DOLOR_EUNSUPPORTED, "segment: model (%s) expects %lld input channels in %dD",
                           dolor_net_arch(net), (long long)in_dims[1], ndim - 2);
    const int C = (int)in_dims[1], K = meta->num_classes, th = meta->height, tw = meta->width;
    const int ow = (int)img->size[0], oh = (int)img->size[1];
    /* z-score at native size (no resizing), then pad to at least one tile with 0 (the mean), centred */
    const int H = oh > th ? oh : th, W = ow > tw ? ow : tw, py = (H - oh) / 2, px = (W - ow) / 2;
    size_t oplane = (size_t)ow * (size_t)oh, plane = (size_t)H * (size_t)W;
    float *x0 = malloc(sizeof(float) * (size_t)C * oplane), *x = calloc((size_t)C * plane, sizeof(float));
    float *prob = malloc(sizeof(float) * (size_t)K * plane);
    slide_ctx sc = {net, x, C, H, W, th, tw, NULL, NULL};
    if (!x0 || !x || !prob)
        s = dolor_error(DOLOR_ENOMEM, "sliding window: out of memory for %dx%d", ow, oh);
    if (!s)
        s = dolor_preprocess_channels(img, C, oh, ow, x0);
    for (int c = 0; !s && c < C; c++)
        for (int y = 0; y < oh; y++)
            memcpy(x + ((size_t)c * H + (size_t)(y + py)) * W + px, x0 + ((size_t)c * oh + y) * ow,
                   sizeof(float) * (size_t)ow);
    if (!s)
        s = dolor_tensor_create4(&sc.in, 1, C, th, tw);
    if (!s)
        s = dolor_tensor_create4(&sc.logits, 1, K, th, tw);
    double step = 1.0 - overlap;
    if (!s)
        s = dolor_sliding_window(H, W, th, tw, step, K, net_tile, &sc, prob);
    if (!s) {
        int64_t size[2] = {ow, oh};
        s = dolor_image_create(classes, DOLOR_U8, 1, 2, size);
    }
    if (!s) {
        dolor_image_copy_geometry(*classes, img);
        if (img->ndim == 3) {
            (*classes)->ndim = 3;
            (*classes)->size[2] = 1;
        }
        uint8_t *o = (*classes)->data;
        for (int y = 0; y < oh; y++)
            for (int xx = 0; xx < ow; xx++) {
                size_t p = (size_t)(y + py) * W + (size_t)(xx + px);
                int best = 0;
                float bv = prob[p];
                for (int c = 1; c < K; c++)
                    if (prob[(size_t)c * plane + p] > bv) {
                        bv = prob[(size_t)c * plane + p];
                        best = c;
                    }
                o[(size_t)y * ow + xx] = (uint8_t)best;
            }
    }
    dolor_tensor_free(sc.in);
    dolor_tensor_free(sc.logits);
    free(x0);
    free(x);
    free(prob);
    return s;
}
