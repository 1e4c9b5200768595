/* Preprocessing for texture features: images as doubles, masks, crop, two-region normalisation. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/radiomics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

dolor_status dolor_image_to_double(const dolor_image *img, double **out)
{
    if (img->ncomp != 1)
        return dolor_error(DOLOR_EUNSUPPORTED, "image has %d components per voxel; features need one (grey)", img->ncomp);
    if (img->ndim > 3 && img->size[3] > 1)
        return dolor_error(DOLOR_EUNSUPPORTED, "image is 4D (%lld frames); features need a 2D or 3D region",
                           (long long)img->size[3]);
    size_t n = dolor_image_nvox(img);
    double *x = malloc((n ? n : 1) * sizeof *x);
    if (!x)
        return dolor_error(DOLOR_ENOMEM, "out of memory for %zu voxels", n);
    if (img->dtype == DOLOR_U8) {
        const uint8_t *p = img->data;
        for (size_t i = 0; i < n; i++)
            x[i] = p[i];
    } else {
        for (size_t i = 0; i < n; i++)
            x[i] = dolor_image_get(img, i);
    }
    *out = x;
    return DOLOR_OK;
}

static void img_size3(const dolor_image *img, int64_t s[3])
{
    s[0] = img->size[0];
    s[1] = img->ndim > 1 ? img->size[1] : 1;
    s[2] = img->ndim > 2 ? img->size[2] : 1;
}

dolor_status dolor_mask_from_image(const dolor_image *mask, const dolor_image *img, const char *name, uint8_t **out)
{
    int64_t a[3], b[3];
    img_size3(mask, a);
    img_size3(img, b);
    if (a[0] != b[0] || a[1] != b[1] || a[2] != b[2])
        return dolor_error(DOLOR_ESHAPE, "%s: mask is %lldx%lldx%lld but the image is %lldx%lldx%lld", name,
                           (long long)a[0], (long long)a[1], (long long)a[2], (long long)b[0], (long long)b[1],
                           (long long)b[2]);
    size_t n = dolor_image_nvox(img), cnt = 0;
    uint8_t *m = malloc(n ? n : 1);
    if (!m)
        return dolor_error(DOLOR_ENOMEM, "out of memory for a mask of %zu voxels", n);
    for (size_t i = 0; i < n; i++) {
        m[i] = dolor_image_get(mask, i * (size_t)mask->ncomp) != 0;
        cnt += m[i];
    }
    if (!cnt) {
        free(m);
        return dolor_error(DOLOR_EINVAL, "%s: the mask is empty (no non-zero voxel)", name);
    }
    *out = m;
    return DOLOR_OK;
}

dolor_status dolor_box_parse(const char *s, dolor_box *out)
{
    long long v[6];
    int k = 0;
    const char *p = s;
    while (k < 6) {
        char *end;
        v[k] = strtoll(p, &end, 10);
        if (end == p)
            break;
        k++;
        p = end;
        if (*p == ',')
            p++;
        else
            break;
    }
    if (*p || (k != 4 && k != 6))
        return dolor_error(DOLOR_EINVAL, "box '%s': expected x0,y0,x1,y1 or x0,y0,z0,x1,y1,z1 (voxels, end exclusive)", s);
    if (k == 4)
        *out = (dolor_box){v[0], v[1], 0, v[2], v[3], 1};
    else
        *out = (dolor_box){v[0], v[1], v[2], v[3], v[4], v[5]};
    return DOLOR_OK;
}

static dolor_status box_check(const dolor_box *b, const int64_t s[3], const char *what)
{
    if (b->x0 < 0 || b->y0 < 0 || b->z0 < 0 || b->x1 > s[0] || b->y1 > s[1] || b->z1 > s[2] || b->x1 <= b->x0 ||
        b->y1 <= b->y0 || b->z1 <= b->z0)
        return dolor_error(DOLOR_EINVAL,
                           "%s: box [%lld,%lld) x [%lld,%lld) x [%lld,%lld) is empty or outside the image %lldx%lldx%lld",
                           what, (long long)b->x0, (long long)b->x1, (long long)b->y0, (long long)b->y1,
                           (long long)b->z0, (long long)b->z1, (long long)s[0], (long long)s[1], (long long)s[2]);
    return DOLOR_OK;
}

dolor_status dolor_image_crop(const dolor_image *img, const dolor_box *box, const char *what, dolor_image **out)
{
    int64_t s[3];
    img_size3(img, s);
    dolor_status st = box_check(box, s, what);
    if (st)
        return st;
    int64_t ns[3] = {box->x1 - box->x0, box->y1 - box->y0, box->z1 - box->z0};
    dolor_image *o;
    int ndim = img->ndim < 3 ? 2 : 3;
    if ((st = dolor_image_create(&o, img->dtype, img->ncomp, ndim, ns)))
        return st;
    dolor_image_copy_geometry(o, img);
    double ijk[3] = {(double)box->x0, (double)box->y0, (double)box->z0};
    dolor_image_index_to_point(img, ijk, o->origin);
    size_t es = dolor_dtype_size(img->dtype) * (size_t)img->ncomp, row = (size_t)ns[0] * es;
    for (int64_t z = 0; z < ns[2]; z++)
        for (int64_t y = 0; y < ns[1]; y++) {
            const char *src = (const char *)img->data + (((box->z0 + z) * s[1] + box->y0 + y) * s[0] + box->x0) * es;
            memcpy((char *)o->data + ((size_t)(z * ns[1] + y)) * row, src, row);
        }
    *out = o;
    return DOLOR_OK;
}

dolor_status dolor_mask_bbox(const uint8_t *mask, const int64_t size[3], const char *what, dolor_box *out)
{
    dolor_box b = {size[0], size[1], size[2], -1, -1, -1};
    for (int64_t z = 0; z < size[2]; z++)
        for (int64_t y = 0; y < size[1]; y++)
            for (int64_t x = 0; x < size[0]; x++)
                if (mask[(z * size[1] + y) * size[0] + x]) {
                    if (x < b.x0) b.x0 = x;
                    if (y < b.y0) b.y0 = y;
                    if (z < b.z0) b.z0 = z;
                    if (x > b.x1) b.x1 = x;
                    if (y > b.y1) b.y1 = y;
                    if (z > b.z1) b.z1 = z;
                }
    if (b.x1 < 0)
        return dolor_error(DOLOR_EINVAL, "%s: the mask is empty (no non-zero voxel)", what);
    b.x1++;
    b.y1++;
    b.z1++;
    *out = b;
    return DOLOR_OK;
}

dolor_status dolor_region_mean(const double *x, const int64_t size[3], const dolor_region *r, double *mean)
{
    double s = 0;
    size_t k = 0;
    const char *nm = r->name ? r->name : "region";
    if (r->mask) {
        size_t n = (size_t)(size[0] * size[1] * size[2]);
        for (size_t i = 0; i < n; i++)
            if (r->mask[i]) {
                s += x[i];
                k++;
            }
        if (!k)
            return dolor_error(DOLOR_EINVAL, "%s: the reference mask is empty (no non-zero voxel)", nm);
    } else {
        dolor_status st = box_check(&r->box, size, nm);
        if (st)
            return st;
        for (int64_t z = r->box.z0; z < r->box.z1; z++)
            for (int64_t y = r->box.y0; y < r->box.y1; y++)
                for (int64_t xx = r->box.x0; xx < r->box.x1; xx++) {
                    s += x[(z * size[1] + y) * size[0] + xx];
                    k++;
                }
    }
    *mean = s / (double)k;
    if (!isfinite(*mean))
        return dolor_error(DOLOR_ENUMERIC, "%s: the reference region holds NaN or Inf", nm);
    return DOLOR_OK;
}

dolor_status dolor_normalise_two_regions(double *x, const int64_t size[3], const dolor_region *bright,
                                         const dolor_region *dark, double out_lo, double out_hi, int clamp)
{
    double b, d;
    dolor_status st;
    if ((st = dolor_region_mean(x, size, bright, &b)) || (st = dolor_region_mean(x, size, dark, &d)))
        return st;
    if (!(b > d))
        return dolor_error(DOLOR_ENUMERIC,
                           "normalisation: the bright region %s (mean %g) is not brighter than the dark region %s (mean %g)",
                           bright->name ? bright->name : "", b, dark->name ? dark->name : "", d);
    size_t n = (size_t)(size[0] * size[1] * size[2]);
    double sc = (out_hi - out_lo) / (b - d);
    for (size_t i = 0; i < n; i++) {
        double v = out_lo + (x[i] - d) * sc;
        if (clamp)
            v = v < out_lo ? out_lo : v > out_hi ? out_hi : v;
        x[i] = v;
    }
    return DOLOR_OK;
}

dolor_status dolor_resample_linear(const double *x, const uint8_t *labels, const int64_t size[3], const double sp_in[3],
                                   const double sp_out[3], double **out, uint8_t **out_labels, int64_t out_size[3])
{
    static const char axis[3] = {'x', 'y', 'z'};
    int64_t no[3];
    double step[3];
    for (int a = 0; a < 3; a++) {
        if (!(sp_in[a] > 0) || !(sp_out[a] > 0) || !isfinite(sp_in[a]) || !isfinite(sp_out[a]))
            return dolor_error(DOLOR_EINVAL, "resample: spacing along %c is %g mm -> %g mm (both must be > 0)", axis[a],
                               sp_in[a], sp_out[a]);
        no[a] = size[a] == 1 ? 1 : (int64_t)llround((double)size[a] * sp_in[a] / sp_out[a]);
        if (no[a] < 1)
            no[a] = 1;
        step[a] = size[a] == 1 ? 0 : sp_out[a] / sp_in[a];
    }
    size_t n = (size_t)(no[0] * no[1] * no[2]);
    double *o = malloc((n ? n : 1) * sizeof *o);
    uint8_t *ol = labels ? malloc(n ? n : 1) : NULL;
    if (!o || (labels && !ol)) {
        free(o);
        free(ol);
        return dolor_error(DOLOR_ENOMEM, "resample: out of memory for %zu voxels", n);
    }
    const int64_t nx = size[0], ny = size[1], nz = size[2];
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < no[2]; k++) {
        double fz = k * step[2];
        int64_t z0 = (int64_t)floor(fz);
        if (z0 > nz - 1) z0 = nz - 1;
        int64_t z1 = z0 + 1 < nz ? z0 + 1 : z0;
        double wz = fz - z0 > 1 ? 1 : fz - z0;
        for (int64_t j = 0; j < no[1]; j++) {
            double fy = j * step[1];
            int64_t y0 = (int64_t)floor(fy);
            if (y0 > ny - 1) y0 = ny - 1;
            int64_t y1 = y0 + 1 < ny ? y0 + 1 : y0;
            double wy = fy - y0 > 1 ? 1 : fy - y0;
            for (int64_t i = 0; i < no[0]; i++) {
                double fx = i * step[0];
                int64_t x0 = (int64_t)floor(fx);
                if (x0 > nx - 1) x0 = nx - 1;
                int64_t x1 = x0 + 1 < nx ? x0 + 1 : x0;
                double wx = fx - x0 > 1 ? 1 : fx - x0;
#define V(zz, yy, xx) x[((zz) * ny + (yy)) * nx + (xx)]
                double c00 = V(z0, y0, x0) * (1 - wx) + V(z0, y0, x1) * wx;
                double c01 = V(z0, y1, x0) * (1 - wx) + V(z0, y1, x1) * wx;
                double c10 = V(z1, y0, x0) * (1 - wx) + V(z1, y0, x1) * wx;
                double c11 = V(z1, y1, x0) * (1 - wx) + V(z1, y1, x1) * wx;
#undef V
                size_t oi = (size_t)((k * no[1] + j) * no[0] + i);
                o[oi] = (c00 * (1 - wy) + c01 * wy) * (1 - wz) + (c10 * (1 - wy) + c11 * wy) * wz;
                if (ol) {
                    int64_t xn = (int64_t)llround(fx), yn = (int64_t)llround(fy), zn = (int64_t)llround(fz);
                    xn = xn > nx - 1 ? nx - 1 : xn;
                    yn = yn > ny - 1 ? ny - 1 : yn;
                    zn = zn > nz - 1 ? nz - 1 : zn;
                    ol[oi] = labels[(zn * ny + yn) * nx + xn];
                }
            }
        }
    }
    *out = o;
    if (out_labels)
        *out_labels = ol;
    else
        free(ol);
    memcpy(out_size, no, sizeof no);
    return DOLOR_OK;
}
