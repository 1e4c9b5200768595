/*
 * dolor/io.h - reading and writing images with their geometry.
 *
 * Formats: PNG (libpng), JPEG (libjpeg-turbo), NIfTI-1/2 (libnifti),
 * MetaImage, DICOM, and ITK-SNAP label descriptions. Every reader returns a
 * dolor_image (see image.h) whose voxel values equal what the file stores
 * and whose geometry (spacing in mm, origin, direction, LPS) is kept; every
 * writer writes a temporary file and renames it (core.h dolor_outfile), so a
 * failed write never leaves a partial file behind. Errors name the file and
 * the problem ("scan.nii.gz: truncated: header says 400x400x29 int16 but
 * only 1.2 MB of voxel data").
 *
 * Sections are kept by different people; add to your own section.
 */
#ifndef DOLOR_IO_H
#define DOLOR_IO_H

#include "dolor/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================= generic dispatch ======================= */

/* Read any supported file, chosen by content (magic bytes) and extension:
 * .png, .jpg/.jpeg, .nii/.nii.gz, .mha/.mhd, .dcm or DICOM magic, or a
 * folder holding one DICOM series.
 * Errors: DOLOR_EIO (cannot open), DOLOR_EFORMAT (malformed/truncated),
 * DOLOR_EUNSUPPORTED (format or feature not supported, named). */
dolor_status dolor_image_read(const char *path, dolor_image **out);

/* Write by extension: .png (2D, uint8/uint16, 1/3/4 components), .nii /
 * .nii.gz, .mha / .mhd. Atomic (temporary file + rename).
 * Errors: DOLOR_EINVAL (dtype/ncomp/ndim the format cannot hold, unknown
 * extension), DOLOR_EIO. */
dolor_status dolor_image_write(const char *path, const dolor_image *img);

/* ======================= PNG and JPEG ======================= */

/* PNG: 8/16-bit grey -> uint8/uint16 x1; grey+alpha -> x2; RGB -> x3;
 * RGBA -> x4; 1/2/4-bit grey expanded to 8-bit values 0..2^bits-1 unscaled
 * only for palette images. Palette images are read as their palette
 * INDICES (uint8 x1): LabelMe/usgra masks store label values that way.
 * Spacing from pHYs if present in metres, else 1 mm. ndim 2.
 * Errors: DOLOR_EIO, DOLOR_EFORMAT (not a PNG, truncated, CRC error). */
dolor_status dolor_png_read(const char *path, dolor_image **out);

/* Write a 2D uint8/uint16 image with 1 (grey), 2, 3 (RGB) or 4 (RGBA)
 * components. Other dtypes: DOLOR_EINVAL. Atomic. */
dolor_status dolor_png_write(const char *path, const dolor_image *img);

/* Write a 2D uint8 label map (1 component) as a palette PNG whose indices
 * are the label values and whose palette gives each label a colour
 * (palette[3*v..3*v+2] for value v; ncolors <= 256; NULL = a default
 * colour table with 0 = black). Viewers show colours, readers get labels. */
dolor_status dolor_png_write_labels(const char *path, const dolor_image *labels,
                                    const uint8_t *palette, int ncolors);

/* JPEG (baseline/progressive, libjpeg-turbo): grey -> uint8 x1, colour ->
 * uint8 x3 RGB (CMYK: DOLOR_EUNSUPPORTED). Errors: DOLOR_EIO, DOLOR_EFORMAT. */
dolor_status dolor_jpeg_read(const char *path, dolor_image **out);
/* Decode a JPEG held in memory (used by DICOM); name is used in messages. */
dolor_status dolor_jpeg_decode(const uint8_t *buf, size_t len, const char *name, dolor_image **out);

/* ======================= NIfTI ======================= */

/* NIfTI-1 or NIfTI-2 (.nii, .nii.gz, .hdr/.img) via libnifti. Voxels keep
 * the file's datatype (scl_slope/scl_inter are NOT applied here; see
 * dolor_nifti_read_scaled); geometry from sform if sform_code > 0, else
 * qform, else pixdim, converted from NIfTI's RAS to LPS. 2D files (nz=1,
 * dim[0]=2) give ndim 2; a 4th dimension gives ndim 4 (spacing[3] in ms).
 * RGB24/RGBA32 give ncomp 3/4. Errors: DOLOR_EIO, DOLOR_EFORMAT,
 * DOLOR_EUNSUPPORTED (complex types, > 4 dimensions). */
dolor_status dolor_nifti_read(const char *path, dolor_image **out);

/* Write NIfTI-1 (NIfTI-2 if a dimension exceeds 32767) with qform and sform
 * (codes 1 = scanner) from the image's LPS geometry converted to RAS.
 * .nii.gz is gzip-compressed. Atomic. Errors: DOLOR_EINVAL, DOLOR_EIO. */
dolor_status dolor_nifti_write(const char *path, const dolor_image *img);

/* ======================= MetaImage (formats helper) ======================= */

/* ======================= ITK-SNAP label descriptions (formats helper) ======================= */

/* ======================= DICOM (DICOM helper) ======================= */

#ifdef __cplusplus
}
#endif
#endif
