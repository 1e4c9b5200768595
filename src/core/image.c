/* The image type: typed voxels plus LPS geometry. */
#include "dolor/image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t dolor_dtype_size(dolor_dtype t)
{
    switch (t) {
    case DOLOR_U8: case DOLOR_I8: return 1;
    case DOLOR_U16: case DOLOR_I16: return 2;
    case DOLOR_U32: case DOLOR_I32: case DOLOR_F32: return 4;
    case DOLOR_U64: case DOLOR_I64: case DOLOR_F64: return 8;
    }
    return 0;
}

const char *dolor_dtype_name(dolor_dtype t)
{
    static const char *names[] = {"uint8", "int8", "uint16", "int16", "uint32",
                                  "int32", "uint64", "int64", "float32", "float64"};
    return (unsigned)t < sizeof names / sizeof *names ? names[t] : "unknown";
}

dolor_status dolor_image_create(dolor_image **out, dolor_dtype dtype, int ncomp, int ndim, const int64_t *size)
{
    *out = NULL;
    if (ndim < 2 || ndim > DOLOR_IMAGE_MAXDIM)
        return dolor_error(DOLOR_EINVAL, "image: ndim %d is not in 2..%d", ndim, DOLOR_IMAGE_MAXDIM);
    if (ncomp < 1 || ncomp > 4)
        return dolor_error(DOLOR_EINVAL, "image: %d components per voxel (must be 1..4)", ncomp);
    if (dolor_dtype_size(dtype) == 0)
        return dolor_error(DOLOR_EINVAL, "image: unknown data type %d", (int)dtype);
    size_t n = (size_t)ncomp * dolor_dtype_size(dtype);
    for (int i = 0; i < ndim; i++) {
        if (size[i] < 1)
            return dolor_error(DOLOR_EINVAL, "image: size[%d] is %lld (must be >= 1)", i, (long long)size[i]);
        if ((uint64_t)size[i] > (SIZE_MAX / 2) / n)
            return dolor_error(DOLOR_EINVAL, "image: size too large");
        n *= (size_t)size[i];
    }
    dolor_image *img = calloc(1, sizeof *img);
    if (!img)
        return dolor_error(DOLOR_ENOMEM, "image: out of memory");
    img->data = dolor_alloc_aligned(n);
    if (!img->data) {
        free(img);
        return dolor_error(DOLOR_ENOMEM, "image: out of memory for %zu bytes", n);
    }
    img->ndim = ndim;
    img->ncomp = ncomp;
    img->dtype = dtype;
    for (int i = 0; i < DOLOR_IMAGE_MAXDIM; i++) {
        img->size[i] = i < ndim ? size[i] : 1;
        img->spacing[i] = 1.0;
    }
    for (int i = 0; i < 3; i++)
        img->direction[i * 3 + i] = 1.0;
    *out = img;
    return DOLOR_OK;
}

dolor_status dolor_image_create2d(dolor_image **out, dolor_dtype dtype, int ncomp, int64_t nx, int64_t ny)
{
    int64_t s[2] = {nx, ny};
    return dolor_image_create(out, dtype, ncomp, 2, s);
}

void dolor_image_free(dolor_image *img)
{
    if (!img)
        return;
    dolor_free_aligned(img->data);
    free(img);
}

size_t dolor_image_nvox(const dolor_image *img)
{
    size_t n = 1;
    for (int i = 0; i < img->ndim; i++)
        n *= (size_t)img->size[i];
    return n;
}

double dolor_image_get(const dolor_image *img, size_t e)
{
    const void *d = img->data;
    switch (img->dtype) {
    case DOLOR_U8: return ((const uint8_t *)d)[e];
    case DOLOR_I8: return ((const int8_t *)d)[e];
    case DOLOR_U16: return ((const uint16_t *)d)[e];
    case DOLOR_I16: return ((const int16_t *)d)[e];
    case DOLOR_U32: return ((const uint32_t *)d)[e];
    case DOLOR_I32: return ((const int32_t *)d)[e];
    case DOLOR_U64: return (double)((const uint64_t *)d)[e];
    case DOLOR_I64: return (double)((const int64_t *)d)[e];
    case DOLOR_F32: return ((const float *)d)[e];
    case DOLOR_F64: return ((const double *)d)[e];
    }
    return 0.0;
}

static double clampr(double v, double lo, double hi)
{
    if (isnan(v))
        return 0.0;
    v = nearbyint(v);
    return v < lo ? lo : (v > hi ? hi : v);
}

void dolor_image_set(dolor_image *img, size_t e, double v)
{
    void *d = img->data;
    switch (img->dtype) {
    case DOLOR_U8: ((uint8_t *)d)[e] = (uint8_t)clampr(v, 0, 255); break;
    case DOLOR_I8: ((int8_t *)d)[e] = (int8_t)clampr(v, -128, 127); break;
    case DOLOR_U16: ((uint16_t *)d)[e] = (uint16_t)clampr(v, 0, 65535); break;
    case DOLOR_I16: ((int16_t *)d)[e] = (int16_t)clampr(v, -32768, 32767); break;
    case DOLOR_U32: ((uint32_t *)d)[e] = (uint32_t)clampr(v, 0, 4294967295.0); break;
    case DOLOR_I32: ((int32_t *)d)[e] = (int32_t)clampr(v, -2147483648.0, 2147483647.0); break;
    case DOLOR_U64: ((uint64_t *)d)[e] = (uint64_t)clampr(v, 0, 18446744073709549568.0); break;
    case DOLOR_I64: ((int64_t *)d)[e] = (int64_t)clampr(v, -9223372036854775808.0, 9223372036854774784.0); break;
    case DOLOR_F32: ((float *)d)[e] = (float)v; break;
    case DOLOR_F64: ((double *)d)[e] = v; break;
    }
}

void dolor_image_copy_geometry(dolor_image *dst, const dolor_image *src)
{
    memcpy(dst->spacing, src->spacing, sizeof dst->spacing);
    dst->spacing_unknown = src->spacing_unknown;
    memcpy(dst->origin, src->origin, sizeof dst->origin);
    memcpy(dst->direction, src->direction, sizeof dst->direction);
}

dolor_status dolor_image_clone(const dolor_image *src, dolor_image **out)
{
    dolor_status s = dolor_image_create(out, src->dtype, src->ncomp, src->ndim, src->size);
    if (s)
        return s;
    dolor_image_copy_geometry(*out, src);
    memcpy((*out)->data, src->data, dolor_image_nvox(src) * (size_t)src->ncomp * dolor_dtype_size(src->dtype));
    return DOLOR_OK;
}

dolor_status dolor_image_convert(const dolor_image *src, dolor_dtype dtype, dolor_image **out)
{
    dolor_status s = dolor_image_create(out, dtype, src->ncomp, src->ndim, src->size);
    if (s)
        return s;
    dolor_image_copy_geometry(*out, src);
    size_t n = dolor_image_nvox(src) * (size_t)src->ncomp;
    if (dtype == src->dtype) {
        memcpy((*out)->data, src->data, n * dolor_dtype_size(dtype));
        return DOLOR_OK;
    }
    for (size_t e = 0; e < n; e++)
        dolor_image_set(*out, e, dolor_image_get(src, e));
    return DOLOR_OK;
}

void dolor_image_index_to_point(const dolor_image *img, const double ijk[3], double xyz[3])
{
    for (int r = 0; r < 3; r++) {
        double v = img->origin[r];
        for (int c = 0; c < 3; c++)
            v += img->direction[r * 3 + c] * img->spacing[c] * ijk[c];
        xyz[r] = v;
    }
}

void dolor_image_point_to_index(const dolor_image *img, const double xyz[3], double ijk[3])
{
    /* Solve (D * S) ijk = xyz - origin with Cramer's rule on M = D*S. */
    double m[9], d[3];
    for (int r = 0; r < 3; r++) {
        d[r] = xyz[r] - img->origin[r];
        for (int c = 0; c < 3; c++)
            m[r * 3 + c] = img->direction[r * 3 + c] * img->spacing[c];
    }
    double det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
                 m[2] * (m[3] * m[7] - m[4] * m[6]);
    if (det == 0.0) {
        ijk[0] = ijk[1] = ijk[2] = NAN;
        return;
    }
    for (int c = 0; c < 3; c++) {
        double t[9];
        memcpy(t, m, sizeof t);
        for (int r = 0; r < 3; r++)
            t[r * 3 + c] = d[r];
        ijk[c] = (t[0] * (t[4] * t[8] - t[5] * t[7]) - t[1] * (t[3] * t[8] - t[5] * t[6]) +
                  t[2] * (t[3] * t[7] - t[4] * t[6])) / det;
    }
}
