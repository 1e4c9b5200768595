/* Preprocessing: grey conversion, bilinear/nearest resizing with PyTorch F.interpolate semantics, z-score,
 * label value -> class index mapping. */
#include "data_priv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* PyTorch area_pixel_compute_source_index (align_corners=False, not cubic):
 * src = scale * (dst + 0.5) - 0.5 clamped below at 0, scale = in / out. Then
 * i0 = (int)src, i1 = i0 + (i0 < in - 1), lambda = src - i0
 * (aten/src/ATen/native/UpSample.h, upsample_bilinear2d). */
static void lin_coeffs(int in, int out, int *i0, int *i1, float *l1)
{
    double scale = (double)in / (double)out;
    for (int o = 0; o < out; o++) {
        double s = scale * (o + 0.5) - 0.5;
        if (s < 0)
            s = 0;
        int a = (int)s;
        if (a > in - 1)
            a = in - 1;
        i0[o] = a;
        i1[o] = a + (a < in - 1 ? 1 : 0);
        l1[o] = (float)(s - a);
    }
}

float dolor_bilinear_at(const float *im, int w, int h, double x, double y)
{
    if (x < 0)
        x = 0;
    if (y < 0)
        y = 0;
    if (x > w - 1)
        x = w - 1;
    if (y > h - 1)
        y = h - 1;
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
    double fx = x - x0, fy = y - y0;
    const float *r0 = im + (size_t)y0 * w, *r1 = im + (size_t)y1 * w;
    return (float)((1 - fy) * ((1 - fx) * r0[x0] + fx * r0[x1]) + fy * ((1 - fx) * r1[x0] + fx * r1[x1]));
}

void dolor_resize_bilinear(const float *src, int c, int sh, int sw, float *dst, int dh, int dw)
{
    int *x0 = malloc(sizeof(int) * (size_t)(2 * dw + 2 * dh));
    float *lx = malloc(sizeof(float) * (size_t)(dw + dh));
    if (!x0 || !lx) { /* tiny allocations; fall back to an unbuffered loop */
        free(x0);
        free(lx);
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < dh; y++)
                for (int x = 0; x < dw; x++) {
                    int a0, a1, b0, b1;
                    float la, lb;
                    double sy = (double)sh / dh * (y + 0.5) - 0.5, sx = (double)sw / dw * (x + 0.5) - 0.5;
                    sy = sy < 0 ? 0 : sy;
                    sx = sx < 0 ? 0 : sx;
                    a0 = (int)sy; a0 = a0 > sh - 1 ? sh - 1 : a0; a1 = a0 + (a0 < sh - 1);
                    b0 = (int)sx; b0 = b0 > sw - 1 ? sw - 1 : b0; b1 = b0 + (b0 < sw - 1);
                    la = (float)(sy - a0);
                    lb = (float)(sx - b0);
                    const float *p = src + (size_t)ch * sh * sw;
                    dst[((size_t)ch * dh + y) * dw + x] =
                        (1 - la) * ((1 - lb) * p[(size_t)a0 * sw + b0] + lb * p[(size_t)a0 * sw + b1]) +
                        la * ((1 - lb) * p[(size_t)a1 * sw + b0] + lb * p[(size_t)a1 * sw + b1]);
                }
        return;
    }
    int *x1 = x0 + dw, *y0 = x1 + dw, *y1 = y0 + dh;
    float *ly = lx + dw;
    lin_coeffs(sw, dw, x0, x1, lx);
    lin_coeffs(sh, dh, y0, y1, ly);
    for (int ch = 0; ch < c; ch++) {
        const float *p = src + (size_t)ch * sh * sw;
        float *q = dst + (size_t)ch * dh * dw;
        for (int y = 0; y < dh; y++) {
            const float *r0 = p + (size_t)y0[y] * sw, *r1 = p + (size_t)y1[y] * sw;
            float b = ly[y], a = 1.0f - b;
            float *o = q + (size_t)y * dw;
            for (int x = 0; x < dw; x++) {
                float l = lx[x], k = 1.0f - l;
                o[x] = a * (k * r0[x0[x]] + l * r0[x1[x]]) + b * (k * r1[x0[x]] + l * r1[x1[x]]);
            }
        }
    }
    free(x0);
    free(lx);
}

/* resize along one axis: src viewed as [outer, in, inner] -> dst [outer, out, inner]; 0 when out of memory */
static int resize_axis(const float *src, float *dst, size_t outer, int in, int out, size_t inner)
{
    int *i0 = malloc(2 * (size_t)out * sizeof *i0);
    float *l1 = malloc((size_t)out * sizeof *l1);
    if (!i0 || !l1) {
        free(i0);
        free(l1);
        return 0;
    }
    int *i1 = i0 + out;
    lin_coeffs(in, out, i0, i1, l1);
    for (size_t a = 0; a < outer; a++)
        for (int o = 0; o < out; o++) {
            const float *p0 = src + (a * (size_t)in + (size_t)i0[o]) * inner;
            const float *p1 = src + (a * (size_t)in + (size_t)i1[o]) * inner;
            float *q = dst + (a * (size_t)out + (size_t)o) * inner;
            float l = l1[o], k = 1.f - l;
            for (size_t j = 0; j < inner; j++)
                q[j] = k * p0[j] + l * p1[j];
        }
    free(i0);
    free(l1);
    return 1;
}

dolor_status dolor_resize_trilinear(const float *src, int c, int sd, int sh, int sw, float *dst, int dd, int dh,
                                    int dw)
{
    size_t m1 = (size_t)c * sd * sh * dw, m2 = (size_t)c * sd * dh * dw;
    float *a = malloc(m1 * sizeof *a), *b = malloc(m2 * sizeof *b);
    int ok = a && b && resize_axis(src, a, (size_t)c * sd * sh, sw, dw, 1) &&
             resize_axis(a, b, (size_t)c * sd, sh, dh, (size_t)dw) &&
             resize_axis(b, dst, (size_t)c, sd, dd, (size_t)dh * dw);
    free(a);
    free(b);
    return ok ? DOLOR_OK
              : dolor_error(DOLOR_ENOMEM, "out of memory resizing %d planes of %dx%dx%d to %dx%dx%d", c, sd, sh, sw,
                            dd, dh, dw);
}

static dolor_status check_2d(const dolor_image *img, const char *what)
{
    for (int i = 2; i < img->ndim; i++)
        if (img->size[i] != 1)
            return dolor_error(DOLOR_ESHAPE, "%s: is %dD (size[%d] = %lld); 2D images only", what, img->ndim, i,
                               (long long)img->size[i]);
    return DOLOR_OK;
}

dolor_status dolor_data_grey(const dolor_image *img, float *grey)
{
    size_t n = (size_t)img->size[0] * (size_t)img->size[1];
    int c = img->ncomp;
    if (img->dtype == DOLOR_U8) {
        const uint8_t *d = img->data;
        if (c <= 2)
            for (size_t i = 0; i < n; i++)
                grey[i] = d[i * c];
        else
            for (size_t i = 0; i < n; i++)
                grey[i] = (float)(0.299 * d[i * c] + 0.587 * d[i * c + 1] + 0.114 * d[i * c + 2]);
        return DOLOR_OK;
    }
    if (c <= 2)
        for (size_t i = 0; i < n; i++)
            grey[i] = (float)dolor_image_get(img, i * c);
    else
        for (size_t i = 0; i < n; i++)
            grey[i] = (float)(0.299 * dolor_image_get(img, i * c) + 0.587 * dolor_image_get(img, i * c + 1) +
                              0.114 * dolor_image_get(img, i * c + 2));
    return DOLOR_OK;
}

void dolor_data_zscore(float *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    double mean = n ? s / (double)n : 0.0, ss = 0;
    for (size_t i = 0; i < n; i++) {
        double d = v[i] - mean;
        ss += d * d;
    }
    double sd = n ? sqrt(ss / (double)n) : 0.0;
    if (sd < 1e-6)
        sd = 1.0;
    for (size_t i = 0; i < n; i++)
        v[i] = (float)((v[i] - mean) / sd);
}

dolor_status dolor_preprocess_image(const dolor_image *img, int height, int width, float *out)
{
    if (height < 1 || width < 1)
        return dolor_error(DOLOR_EINVAL, "preprocess: output size %dx%d (must be >= 1)", width, height);
    if (img->ncomp < 1 || img->ncomp > 4)
        return dolor_error(DOLOR_EINVAL, "preprocess: %d components per pixel (must be 1..4)", img->ncomp);
    dolor_status s = check_2d(img, "preprocess: image");
    if (s)
        return s;
    int sw = (int)img->size[0], sh = (int)img->size[1];
    float *grey = malloc(sizeof(float) * (size_t)sw * (size_t)sh);
    if (!grey)
        return dolor_error(DOLOR_ENOMEM, "preprocess: out of memory for a %dx%d image", sw, sh);
    dolor_data_grey(img, grey);
    /* a NaN or Inf would spread through the z-score to every pixel and to the network */
    for (size_t i = 0; i < (size_t)sw * (size_t)sh; i++)
        if (!isfinite(grey[i])) {
            dolor_status bad = dolor_error(DOLOR_ENUMERIC, "pixel (%zu, %zu) is %g (NaN and Inf are not images)",
                                           i % (size_t)sw, i / (size_t)sw, (double)grey[i]);
            free(grey);
            return bad;
        }
    if (sw == width && sh == height)
        memcpy(out, grey, sizeof(float) * (size_t)sw * (size_t)sh);
    else
        dolor_resize_bilinear(grey, 1, sh, sw, out, height, width);
    free(grey);
    dolor_data_zscore(out, (size_t)height * (size_t)width);
    return DOLOR_OK;
}

/* Per-pixel label value of a mask (see data.h for multi-component masks). */
dolor_status dolor_data_mask_values(const dolor_image *m, int64_t *vals, const char *name)
{
    size_t n = (size_t)m->size[0] * (size_t)m->size[1];
    int c = m->ncomp;
    if (m->dtype == DOLOR_U8 && c == 1) {
        const uint8_t *d = m->data;
        for (size_t i = 0; i < n; i++)
            vals[i] = d[i];
        return DOLOR_OK;
    }
    int isfloat = m->dtype == DOLOR_F32 || m->dtype == DOLOR_F64;
    int grey = 1;
    if (c >= 3)
        for (size_t i = 0; i < n && grey; i++)
            grey = dolor_image_get(m, i * c) == dolor_image_get(m, i * c + 1) &&
                   dolor_image_get(m, i * c) == dolor_image_get(m, i * c + 2);
    for (size_t i = 0; i < n; i++) {
        double v;
        if (c >= 3 && !grey) {
            int64_t r = (int64_t)dolor_image_get(m, i * c), g = (int64_t)dolor_image_get(m, i * c + 1),
                    b = (int64_t)dolor_image_get(m, i * c + 2);
            if (r < 0 || r > 255 || g < 0 || g > 255 || b < 0 || b > 255)
                return dolor_error(DOLOR_EINVAL, "%s: colour mask with a sample outside 0..255 at pixel %zu", name, i);
            vals[i] = (r << 16) | (g << 8) | b;
            continue;
        }
        v = dolor_image_get(m, i * c);
        if (isfloat && (v != floor(v) || !isfinite(v) || fabs(v) > 9e15))
            return dolor_error(DOLOR_EINVAL, "%s: mask value %g at pixel %zu is not an integer label", name, v, i);
        vals[i] = (int64_t)v;
    }
    return DOLOR_OK;
}

/* Maps vals[n] (original size) through label_values, checking every pixel; on success
 * idx[i] = class index. */
static dolor_status map_values(const int64_t *vals, size_t n, int num_classes, const int *lv, uint8_t *idx,
                               const char *name)
{
    int64_t last_v = INT64_MIN;
    int last_k = -1;
    size_t nbad = 0;
    int64_t minbad = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        int64_t v = vals[i];
        if (v != last_v) {
            last_v = v;
            last_k = -1;
            for (int k = 0; k < num_classes; k++)
                if ((lv ? lv[k] : k) == v) {
                    last_k = k;
                    break;
                }
        }
        if (last_k < 0) {
            nbad++;
            if (v < minbad)
                minbad = v;
            idx[i] = 0;
        } else {
            idx[i] = (uint8_t)last_k;
        }
    }
    if (!nbad)
        return DOLOR_OK;
    size_t cnt = 0;
    for (size_t i = 0; i < n; i++)
        cnt += vals[i] == minbad;
    char allowed[512];
    size_t o = 0;
    allowed[0] = '\0';
    for (int k = 0; k < num_classes && o < sizeof allowed - 16; k++)
        o += (size_t)snprintf(allowed + o, sizeof allowed - o, "%s%d", k ? "," : "", lv ? lv[k] : k);
    if (nbad > cnt)
        return dolor_error(DOLOR_EINVAL,
                           "%s: label value %lld (%zu pixels) is not one of %s (%zu pixels in all have unlisted values)",
                           name, (long long)minbad, cnt, allowed, nbad);
    return dolor_error(DOLOR_EINVAL, "%s: label value %lld (%zu pixels) is not one of %s", name, (long long)minbad, cnt,
                       allowed);
}

/* Nearest (PyTorch legacy 'nearest'): src = min((int)floor(dst * in / out), in - 1). */
static void nearest_index(int in, int out, int *idx)
{
    double scale = (double)in / (double)out;
    for (int o = 0; o < out; o++) {
        int s = (int)floor(o * scale);
        idx[o] = s > in - 1 ? in - 1 : s;
    }
}

void dolor_data_resize_nearest_u8(const uint8_t *src, int sh, int sw, uint8_t *dst, int dh, int dw, int *tmp)
{
    int *xi = tmp, *yi = tmp + dw;
    nearest_index(sw, dw, xi);
    nearest_index(sh, dh, yi);
    for (int y = 0; y < dh; y++) {
        const uint8_t *r = src + (size_t)yi[y] * sw;
        uint8_t *o = dst + (size_t)y * dw;
        for (int x = 0; x < dw; x++)
            o[x] = r[xi[x]];
    }
}

dolor_status dolor_preprocess_mask(const dolor_image *mask, int num_classes, const int *label_values, int height,
                                   int width, uint8_t *out, const char *name)
{
    if (!name)
        name = "mask";
    if (height < 1 || width < 1)
        return dolor_error(DOLOR_EINVAL, "%s: output size %dx%d (must be >= 1)", name, width, height);
    if (num_classes < 1 || num_classes > 256)
        return dolor_error(DOLOR_EINVAL, "%s: num_classes %d (must be 1..256)", name, num_classes);
    dolor_status s = check_2d(mask, name);
    if (s)
        return s;
    int sw = (int)mask->size[0], sh = (int)mask->size[1];
    size_t n = (size_t)sw * (size_t)sh;
    int64_t *vals = malloc(sizeof(int64_t) * n);
    uint8_t *idx = malloc(n);
    int *tmp = malloc(sizeof(int) * (size_t)(width + height));
    if (!vals || !idx || !tmp) {
        free(vals);
        free(idx);
        free(tmp);
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", name);
    }
    s = dolor_data_mask_values(mask, vals, name);
    if (!s)
        s = map_values(vals, n, num_classes, label_values, idx, name);
    if (!s)
        dolor_data_resize_nearest_u8(idx, sh, sw, out, height, width, tmp);
    free(vals);
    free(idx);
    free(tmp);
    return s;
}
