/*
 * dolor/image.h - the image type: voxels plus physical geometry.
 *
 * An image holds 2D, 3D or 4D voxels with 1..4 components each (grey, RGB,
 * RGBA), in one of several data types, plus its geometry in the ITK/DICOM
 * (LPS) convention:
 *
 *   physical point (mm) = origin + direction * diag(spacing) * (i, j, k)
 *
 * where i runs along x (columns), j along y (rows) and k along z (slices);
 * direction is a 3x3 matrix stored row-major whose column a is the unit
 * vector of index axis a in patient coordinates (LPS: +x to the patient's
 * left, +y posterior, +z superior). A 2D image has k = 0 and size[2] = 1.
 * Geometry travels with the image from file to prediction, so a label map
 * written back lines up with the source in ITK-SNAP or 3D Slicer.
 *
 * Memory layout: components interleaved, then x fastest, then y, z, t:
 *   offset(i, j, k, t, c) = ((((t*nz + k)*ny + j)*nx + i)*ncomp + c)
 */
#ifndef DOLOR_IMAGE_H
#define DOLOR_IMAGE_H

#include "dolor/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dolor_dtype {
    DOLOR_U8 = 0,
    DOLOR_I8,
    DOLOR_U16,
    DOLOR_I16,
    DOLOR_U32,
    DOLOR_I32,
    DOLOR_U64,
    DOLOR_I64,
    DOLOR_F32,
    DOLOR_F64
} dolor_dtype;

#define DOLOR_IMAGE_MAXDIM 4

typedef struct dolor_image {
    int ndim;                     /* 2, 3 or 4 */
    int64_t size[DOLOR_IMAGE_MAXDIM]; /* nx, ny, nz, nt; unused extents are 1 */
    int ncomp;                    /* components per voxel: 1..4 */
    dolor_dtype dtype;
    double spacing[DOLOR_IMAGE_MAXDIM]; /* mm for x, y, z; ms per frame for t */
    double origin[3];             /* mm, LPS, centre of voxel (0,0,0) */
    double direction[9];          /* row-major 3x3, columns are axis unit vectors */
    void *data;                   /* nvox * ncomp elements of dtype, 64-byte aligned */
    int spacing_unknown;          /* 1: the file gave no pixel size (a PNG without pHYs, a JPEG without a
                                     density in dots per cm, a DICOM without PixelSpacing or ultrasound
                                     regions): spacing[0..1] are the 1 mm default, and distances measured
                                     on the image are in pixels. 0 (dolor_image_create's default): known */
} dolor_image;

/* Bytes per element of a dtype (1, 2, 4 or 8). */
size_t dolor_dtype_size(dolor_dtype t);
/* Lower-case name: "uint8", "int16", "float32", ... Never NULL. */
const char *dolor_dtype_name(dolor_dtype t);

/* Create a zero-filled image. ndim 2..4; size has ndim extents (>= 1);
 * ncomp 1..4. Geometry: spacing 1 mm, origin 0, identity direction.
 * Errors: DOLOR_EINVAL (bad dims/extents/ncomp), DOLOR_ENOMEM. */
dolor_status dolor_image_create(dolor_image **out, dolor_dtype dtype, int ncomp,
                                int ndim, const int64_t *size);
/* Convenience for a 2D image nx x ny. */
dolor_status dolor_image_create2d(dolor_image **out, dolor_dtype dtype, int ncomp,
                                  int64_t nx, int64_t ny);
void dolor_image_free(dolor_image *img); /* NULL-safe */

/* Number of voxels (product of size[0..ndim-1]), not counting components. */
size_t dolor_image_nvox(const dolor_image *img);

/* Read element e (0 <= e < nvox*ncomp) as double, or write it (values are
 * rounded and clamped to the dtype's range for integer types). */
double dolor_image_get(const dolor_image *img, size_t e);
void dolor_image_set(dolor_image *img, size_t e, double v);

/* Deep copy. Errors: DOLOR_ENOMEM. */
dolor_status dolor_image_clone(const dolor_image *src, dolor_image **out);
/* New image with the same size, geometry and ncomp, converted to dtype
 * (rounded and clamped for integer targets). Errors: DOLOR_ENOMEM. */
dolor_status dolor_image_convert(const dolor_image *src, dolor_dtype dtype, dolor_image **out);
/* Copy spacing (with spacing_unknown), origin and direction from src to dst. */
void dolor_image_copy_geometry(dolor_image *dst, const dolor_image *src);

/* Index (i, j, k) -> physical point (mm), and back (continuous index). */
void dolor_image_index_to_point(const dolor_image *img, const double ijk[3], double xyz[3]);
void dolor_image_point_to_index(const dolor_image *img, const double xyz[3], double ijk[3]);

#ifdef __cplusplus
}
#endif
#endif
