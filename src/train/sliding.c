/* Sliding-window inference at native resolution with Gaussian importance weighting, as nnU-Net v2 defines it
 * (nnunetv2/inference/sliding_window_prediction.py: compute_gaussian, compute_steps_for_sliding_window;
 * predict_sliding_window_return_logits). */
#include "dolor/data.h"
#include "dolor/train.h"

#include <math.h>
#include <stdio.h>
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

/* Sizes of nsp (2 or 3) axes as 3 with leading 1s, so one loop nest serves 2D and 3D. */
static int to3(int nsp, const int *v, int o[3])
{
    if (nsp < 1 || nsp > 3)
        return -1;
    for (int a = 0; a < 3; a++)
        o[a] = a < 3 - nsp ? 1 : v[a - (3 - nsp)];
    return 0;
}

void dolor_gaussian_importance_nd(int nsp, const int *tile, double sigma_scale, float *out)
{
    /* gaussian_filter of a centred delta, divided by its maximum: exp(-sum_a d_a^2 / s_a^2 / 2) inside
     * SciPy's truncation radius (4 sigma) on every axis, 0 outside, zeros then set to the smallest
     * non-zero value. SciPy filters axis by axis with kernels normalised to sum 1, so the map at an
     * offset is the product of the 1D kernels there and its maximum the product at the centre. */
    int t[3];
    if (to3(nsp, tile, t))
        return;
    double sg[3];
    int c[3], r[3];
    for (int a = 0; a < 3; a++) {
        sg[a] = t[a] * sigma_scale;
        c[a] = t[a] / 2;
        r[a] = (int)(4.0 * sg[a] + 0.5);
    }
    float mn = INFINITY;
    size_t i = 0;
    for (int z = 0; z < t[0]; z++)
        for (int y = 0; y < t[1]; y++)
            for (int x = 0; x < t[2]; x++, i++) {
                int d[3] = {z - c[0], y - c[1], x - c[2]}, inside = 1;
                double e = 0;
                for (int a = 0; a < 3; a++) {
                    if (a < 3 - nsp)
                        continue; /* a padding axis */
                    inside &= abs(d[a]) <= r[a];
                    e += (double)d[a] * d[a] / (sg[a] * sg[a]);
                }
                float v = inside ? (float)exp(-0.5 * e) : 0.f;
                out[i] = v;
                if (v > 0 && v < mn)
                    mn = v;
            }
    for (size_t k = 0; k < i; k++)
        if (out[k] == 0)
            out[k] = mn;
}

void dolor_gaussian_importance(int h, int w, double sigma_scale, float *out)
{
    const int t[2] = {h, w};
    dolor_gaussian_importance_nd(2, t, sigma_scale, out);
}

/* "13x20x11": sizes x first (width x height x depth), as messages name images */
static void fmt_size(char *b, size_t n, int nsp, const int *v)
{
    int k = 0;
    b[0] = 0;
    for (int a = nsp - 1; a >= 0 && k >= 0 && (size_t)k < n; a--)
        k += snprintf(b + k, n - (size_t)k, a == nsp - 1 ? "%d" : "x%d", v[a]);
}

dolor_status dolor_sliding_window_nd(int nsp, const int *size, const int *tile, double step_fraction, int k,
                                     dolor_tile_nd_fn fn, void *ctx, float *out)
{
    enum { CAP = 4096 };
    static const char *const what = "sliding window";
    int S[3], T[3], n[3];
    if (nsp < 2 || nsp > 3 || k < 1)
        return dolor_error(DOLOR_EINVAL, "%s: %d spatial axes and %d classes (2 or 3 axes, >= 1 class)", what, nsp, k);
    to3(nsp, size, S);
    to3(nsp, tile, T);
    int *st[3] = {NULL, NULL, NULL};
    dolor_status s = DOLOR_OK;
    for (int a = 0; a < 3 && !s; a++) {
        st[a] = malloc(CAP * sizeof(int));
        if (!st[a])
            s = dolor_error(DOLOR_ENOMEM, "%s: out of memory", what);
        else if ((n[a] = dolor_sliding_steps(S[a], T[a], step_fraction, st[a], CAP)) < 0) {
            char bi[64], bt[64];
            fmt_size(bi, sizeof bi, nsp, size);
            fmt_size(bt, sizeof bt, nsp, tile);
            s = dolor_error(DOLOR_EINVAL, "%s: image %s, tile %s, step %g (the image must be at least the tile and the "
                            "step in (0, 1])", what, bi, bt, step_fraction);
        }
    }
    size_t vox = (size_t)S[0] * S[1] * S[2], tv = (size_t)T[0] * T[1] * T[2];
    float *g = NULL, *tl = NULL;
    double *acc = NULL, *wsum = NULL;
    if (!s) {
        g = malloc(tv * sizeof *g);
        tl = malloc((size_t)k * tv * sizeof *tl);
        acc = calloc((size_t)k * vox, sizeof *acc);
        wsum = calloc(vox, sizeof *wsum);
        if (!g || !tl || !acc || !wsum) {
            char bi[64];
            fmt_size(bi, sizeof bi, nsp, size);
            s = dolor_error(DOLOR_ENOMEM, "%s: out of memory for %s x %d classes", what, bi, k);
        }
    }
    if (!s)
        dolor_gaussian_importance_nd(nsp, tile, 1.0 / 8.0, g);
    int t = 0;
    for (int a = 0; !s && a < n[0]; a++)
        for (int b = 0; !s && b < n[1]; b++)
            for (int e = 0; !s && e < n[2]; e++, t++) {
                const int o3[3] = {st[0][a], st[1][b], st[2][e]};
                s = fn(ctx, o3 + (3 - nsp), t, tl);
                for (int z = 0; !s && z < T[0]; z++)
                    for (int y = 0; y < T[1]; y++) {
                        size_t p = ((size_t)(o3[0] + z) * S[1] + (size_t)(o3[1] + y)) * S[2] + (size_t)o3[2];
                        size_t q = ((size_t)z * T[1] + y) * T[2];
                        for (int x = 0; x < T[2]; x++) {
                            wsum[p + x] += g[q + x];
                            for (int c = 0; c < k; c++)
                                acc[(size_t)c * vox + p + x] += (double)tl[(size_t)c * tv + q + x] * g[q + x];
                        }
                    }
            }
    for (size_t p = 0; !s && p < vox; p++)
        for (int c = 0; c < k; c++)
            out[(size_t)c * vox + p] = (float)(acc[(size_t)c * vox + p] / wsum[p]);
    for (int a = 0; a < 3; a++)
        free(st[a]);
    free(g);
    free(tl);
    free(acc);
    free(wsum);
    return s;
}

typedef struct {
    dolor_tile_fn fn;
    void *ctx;
} tile2d_ctx;

static dolor_status tile2d(void *ctx, const int *origin, int index, float *logits)
{
    tile2d_ctx *c = ctx;
    return c->fn(c->ctx, origin[0], origin[1], index, logits);
}

dolor_status dolor_sliding_window(int height, int width, int th, int tw, double step_fraction, int k,
                                  dolor_tile_fn fn, void *ctx, float *out)
{
    const int size[2] = {height, width}, tile[2] = {th, tw};
    tile2d_ctx c = {fn, ctx};
    return dolor_sliding_window_nd(2, size, tile, step_fraction, k, tile2d, &c, out);
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
