/* Augmentation for 2D segmentation: rotation + left-right flip (one resampling), gamma, contrast, brightness. */
#include "data_priv.h"

#include <math.h>
#include <string.h>

void dolor_augment_config_default(dolor_augment_config *a)
{
    a->rotate_deg = 15.0;
    a->hflip = 1;
    a->brightness = 0.1;
    a->contrast = 0.2;
    a->gamma = 0.2;
}

void dolor_augment_draw(const dolor_augment_config *a, dolor_rng *rng, dolor_augment_params *p)
{
    double u0 = dolor_rng_uniform(rng), u1 = dolor_rng_uniform(rng), u2 = dolor_rng_uniform(rng),
           u3 = dolor_rng_uniform(rng), u4 = dolor_rng_uniform(rng);
    p->angle_deg = (2.0 * u0 - 1.0) * a->rotate_deg;
    p->flip = a->hflip ? (u1 < 0.5) : 0;
    p->brightness = (2.0 * u2 - 1.0) * a->brightness;
    p->contrast = 1.0 + (2.0 * u3 - 1.0) * a->contrast;
    p->gamma = 1.0 + (2.0 * u4 - 1.0) * a->gamma;
}

size_t dolor_augment_work_size(int h, int w) { return (size_t)h * (size_t)w * (sizeof(float) + 1); }

/* Tolerance for sample positions just outside the grid (cos(90 deg) is 6e-17, not 0). */
#define EDGE_EPS 1e-6

static void rotate_flip(double angle_deg, int flip, float *img, uint8_t *mask, int h, int w, void *work)
{
    size_t n = (size_t)h * w;
    float *src = work;
    uint8_t *msrc = (uint8_t *)work + n * sizeof(float);
    memcpy(src, img, n * sizeof(float));
    if (mask)
        memcpy(msrc, mask, n);
    float fill = src[0];
    for (size_t i = 1; i < n; i++)
        if (src[i] < fill)
            fill = src[i];
    double th = angle_deg * M_PI / 180.0, c = cos(th), s = sin(th);
    double cx = 0.5 * (w - 1), cy = 0.5 * (h - 1);
    /* Output pixel (x, y): un-flip, then rotate by -angle about the centre (inverse of a counter-clockwise on-screen
       rotation with y pointing down): dx = c*dx' - s*dy', dy = s*dx' + c*dy'. */
    for (int y = 0; y < h; y++) {
        double dy = y - cy;
        for (int x = 0; x < w; x++) {
            double dx = (flip ? (w - 1 - x) : x) - cx;
            double sx = cx + c * dx - s * dy, sy = cy + s * dx + c * dy;
            size_t o = (size_t)y * w + x;
            if (sx < -EDGE_EPS || sy < -EDGE_EPS || sx > w - 1 + EDGE_EPS || sy > h - 1 + EDGE_EPS) {
                img[o] = fill;
                if (mask)
                    mask[o] = 0;
                continue;
            }
            img[o] = dolor_bilinear_at(src, w, h, sx, sy);
            if (sx < 0)
                sx = 0;
            if (sy < 0)
                sy = 0;
            if (mask) {
                int nx = (int)floor(sx + 0.5), ny = (int)floor(sy + 0.5);
                if (nx > w - 1)
                    nx = w - 1;
                if (ny > h - 1)
                    ny = h - 1;
                mask[o] = msrc[(size_t)ny * w + nx];
            }
        }
    }
}

void dolor_augment_apply_params(const dolor_augment_params *p, float *img, uint8_t *mask, int h, int w, void *work)
{
    size_t n = (size_t)h * w;
    if (n == 0)
        return;
    if (p->angle_deg != 0.0) {
        rotate_flip(p->angle_deg, p->flip, img, mask, h, w, work);
    } else if (p->flip) { /* exact mirror */
        for (int y = 0; y < h; y++) {
            float *r = img + (size_t)y * w;
            uint8_t *m = mask ? mask + (size_t)y * w : NULL;
            for (int a = 0, b = w - 1; a < b; a++, b--) {
                float t = r[a];
                r[a] = r[b];
                r[b] = t;
                if (m) {
                    uint8_t u = m[a];
                    m[a] = m[b];
                    m[b] = u;
                }
            }
        }
    }
    if (p->gamma != 1.0) {
        float mn = img[0], mx = img[0];
        for (size_t i = 1; i < n; i++) {
            if (img[i] < mn)
                mn = img[i];
            if (img[i] > mx)
                mx = img[i];
        }
        double range = (double)mx - mn;
        if (range >= 1e-12)
            for (size_t i = 0; i < n; i++) {
                double t = ((double)img[i] - mn) / range;
                if (t < 0)
                    t = 0;
                img[i] = (float)(mn + range * pow(t, p->gamma));
            }
    }
    if (p->contrast != 1.0 || p->brightness != 0.0) {
        float cf = (float)p->contrast, bf = (float)p->brightness;
        for (size_t i = 0; i < n; i++)
            img[i] = img[i] * cf + bf;
    }
}

void dolor_augment_apply(const dolor_augment_config *a, dolor_rng *rng, float *img, uint8_t *mask, int h, int w,
                         void *work)
{
    dolor_augment_params p;
    dolor_augment_draw(a, rng, &p);
    dolor_augment_apply_params(&p, img, mask, h, w, work);
}
