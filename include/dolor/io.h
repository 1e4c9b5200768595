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
 * Errors: DOLOR_ENOTFOUND (no such file), DOLOR_EIO (cannot open),
 * DOLOR_EFORMAT (malformed/truncated, or an empty file),
 * DOLOR_EUNSUPPORTED (format or feature not supported, named). */
dolor_status dolor_image_read(const char *path, dolor_image **out);

/* Write by extension: .png (2D, uint8/uint16, 1/3/4 components), .nii /
 * .nii.gz, .mha / .mhd. Atomic (temporary file + rename).
 * Errors: DOLOR_EINVAL (dtype/ncomp/ndim the format cannot hold, unknown
 * extension), DOLOR_EIO. */
dolor_status dolor_image_write(const char *path, const dolor_image *img);

/* Length of the stem of a file name (or path) ending in one of exts
 * (compared case-insensitively, first match wins: list ".nii.gz" before
 * ".gz"-less ".nii"), and the index of that extension in *which (may be
 * NULL); 0 and *which = -1 when none matches. Used to pair images with
 * masks and predictions with truth by stem. */
size_t dolor_path_stem_len(const char *name, const char *const *exts, int nexts, int *which);

/* ======================= PNG and JPEG ======================= */

/* PNG (libpng 1.6): 8/16-bit grey -> uint8/uint16 x1; grey+alpha -> x2;
 * RGB -> x3; RGBA -> x4 (16-bit samples in host byte order; the file's
 * big-endian order is swapped on read). 1/2/4-bit grey and palette images
 * are unpacked to one uint8 per pixel with the values as stored
 * (0..2^bits-1, NOT scaled to 0..255). Palette images are read as their
 * palette INDICES (uint8 x1), never as colours: LabelMe/usgra masks store
 * label values that way. tRNS transparency is ignored (no alpha is added).
 * Interlaced (Adam7) files are de-interlaced. Spacing (mm) from pHYs if its
 * unit is the metre (1000 / pixels-per-metre), else 1 mm. ndim 2, origin 0,
 * identity direction. Width and height up to 65536, decoded size up to 4 GB
 * (larger: DOLOR_EUNSUPPORTED).
 * Errors: DOLOR_EIO (cannot open), DOLOR_EFORMAT (not a PNG, truncated, CRC
 * error, bad zlib data, invalid header; the message names the file and
 * quotes libpng: "x.png: corrupt or truncated PNG: IDAT: CRC error"; a
 * header whose rows cannot fit in the file even at deflate's largest ratio,
 * 1032:1, is refused before the image is allocated),
 * DOLOR_ENOMEM. Never crashes or leaks on a corrupt file. */
dolor_status dolor_png_read(const char *path, dolor_image **out);
/* Decode a PNG held in memory (len bytes; used by the fuzz target); name is
 * used in messages (NULL: "PNG data"). Same output and errors as
 * dolor_png_read (DOLOR_EFORMAT, never DOLOR_EIO, for data that ends early). */
dolor_status dolor_png_decode(const uint8_t *buf, size_t len, const char *name, dolor_image **out);

/* Write a 2D uint8/uint16 image with 1 (grey), 2 (grey+alpha), 3 (RGB) or
 * 4 (RGBA) components (ndim 3/4 accepted when the extra extents are 1).
 * Spacing other than 1 mm x 1 mm is stored in pHYs (pixels per metre,
 * rounded: reads back within 0.05%). Atomic (temporary file + rename).
 * Errors: DOLOR_EINVAL (other dtype, ncomp, a 3D image, larger than 65536),
 * DOLOR_EIO (cannot create or write; no partial file is left). */
dolor_status dolor_png_write(const char *path, const dolor_image *img);

/* Write a 2D label map (1 component; uint8, or any integer dtype whose
 * values lie in 0..255) as an 8-bit palette PNG whose indices are the label
 * values, so dolor_png_read gives the labels back. palette[3*v..3*v+2] is
 * the RGB colour of value v for v < ncolors (1..256); values without a
 * colour (or all, with palette NULL) get dolor_label_colour(v) (dolor's one
 * colour table, below). The PLTE chunk holds
 * max(max label + 1, ncolors) entries. Viewers show colours, readers get
 * labels. Atomic. Errors: DOLOR_EINVAL (ncomp != 1, float dtype, value out
 * of 0..255 named with its pixel, ncolors out of 1..256), DOLOR_EIO. */
dolor_status dolor_png_write_labels(const char *path, const dolor_image *labels,
                                    const uint8_t *palette, int ncolors);

/* JPEG (baseline/progressive, libjpeg-turbo, islow IDCT as PIL): grey ->
 * uint8 x1, YCbCr/RGB -> uint8 x3 RGB. Spacing from a JFIF density in dots
 * per cm (10 / density mm), else 1 mm (dots per inch are ignored).
 * Errors: DOLOR_EIO (cannot open), DOLOR_EFORMAT (not a JPEG, corrupt, or
 * truncated: libjpeg's "Premature end of JPEG file" warning is an error
 * here, never a grey-padded image; or a header declaring more than 1024
 * samples per byte of data, which no JPEG compresses to), DOLOR_EUNSUPPORTED (CMYK/YCCK),
 * DOLOR_ENOMEM. */
dolor_status dolor_jpeg_read(const char *path, dolor_image **out);
/* Decode a JPEG held in memory (len bytes; used by DICOM); name is used in
 * messages (NULL: "JPEG data"). Same output and errors as dolor_jpeg_read. */
dolor_status dolor_jpeg_decode(const uint8_t *buf, size_t len, const char *name, dolor_image **out);

/* ======================= NIfTI ======================= */

/* NIfTI-1 or NIfTI-2 (.nii, .nii.gz, .hdr/.img, byte-swapped or not) via
 * libnifti, after our own validation of the header (dim[0] 1..7, extents
 * >= 1, datatype, vox_offset, extension sizes) and, for single-file .nii /
 * .nii.gz, of the voxel-data length, so a malformed or truncated file is an
 * error naming the field, never a crash.
 * Voxels keep the file's datatype: uint8/int8/uint16/int16/uint32/int32/
 * uint64/int64/float32/float64, RGB24 -> uint8 x3, RGBA32 -> uint8 x4
 * (scl_slope/scl_inter are NOT applied here; see dolor_nifti_read_scaled).
 * dim[0] <= 2 gives ndim 2; dim[0] = 3 gives ndim 3 (even when nz = 1);
 * dim[0] >= 4 gives ndim 4 (spacing[3] = pixdim[4] in ms, converted from
 * the time units s/us). Dimensions 5..7 must be 1.
 * Geometry (NIfTI-1 spec, nifti1.h "methods" 1-3), in this order:
 *   sform_code > 0: the srow affine;  else qform_code > 0: the quaternion
 *   affine (qfac in pixdim[0] gives a negative determinant);  else
 *   "method 1" (also Analyze 7.5): RAS = diag(pixdim[1..3]) * ijk, origin 0.
 * The chosen RAS affine A becomes LPS by negating its first two rows;
 * spacing[a] = norm of column a, direction column a = column a / spacing[a],
 * origin = translation. Any scaling/shear in an sform is therefore kept
 * exactly (direction is then not orthogonal). Spatial units metre/micron
 * are converted to mm. ITK (NiftiImageIO, >= 5.2) differs: it takes spacing
 * from pixdim, uses the sform only when sform_code is SCANNER_ANAT (1) or
 * the sform agrees with the qform, and only when it decomposes into a
 * rotation (else the qform); with both codes 0 it uses Analyze orientation.
 * For files written by scanners/ITK/nibabel (sform = qform) the results
 * agree. Errors: DOLOR_EIO (cannot open), DOLOR_EFORMAT (not NIfTI, bad
 * field named, truncated: "header says 400x400x29 int16 (9.3 MB) but only
 * 1.2 MB of voxel data", corrupt gzip), DOLOR_EUNSUPPORTED (complex,
 * float128, binary datatypes; > 4 dimensions such as CIFTI), DOLOR_ENOMEM. */
dolor_status dolor_nifti_read(const char *path, dolor_image **out);

/* As dolor_nifti_read, then applied the NIfTI scaling: float32 voxels =
 * stored * scl_slope + scl_inter when scl_slope is finite and non-zero
 * (nifti1.h: scl_slope = 0 means no scaling); otherwise the stored values
 * converted to float32. RGB images are converted without scaling (the
 * standard does not scale RGB). Same geometry and errors. */
dolor_status dolor_nifti_read_scaled(const char *path, dolor_image **out);

/* Parse NIfTI bytes held in memory (plain or gzip-compressed; name is used
 * in messages): written to a temporary file in /tmp and read with
 * dolor_nifti_read (libnifti only reads files). Used by the fuzzer.
 * Errors: those of dolor_nifti_read, DOLOR_EIO (temporary file). */
dolor_status dolor_nifti_read_mem(const void *buf, size_t len, const char *name, dolor_image **out);

/* Write NIfTI-1 (NIfTI-2 if a dimension exceeds 32767), single file, with
 * qform and sform (codes 1 = scanner) from the image's LPS geometry
 * converted to RAS: sform = F * [direction * diag(spacing) | origin] with
 * F = diag(-1, -1, 1); qform = the same through nifti_dmat44_to_quatern
 * (a direction with negative determinant gives qfac = -1; a non-orthogonal
 * direction is kept exactly only in the sform). pixdim = spacing, units mm
 * (and ms for a 4th dimension), scl_slope 0. ncomp 1 any dtype; ncomp 3/4
 * only uint8 (RGB24/RGBA32). .nii.gz is gzip-compressed. Atomic.
 * Errors: DOLOR_EINVAL (extension not .nii/.nii.gz, ncomp/dtype NIfTI
 * cannot hold), DOLOR_EIO (cannot create/write, checked by size after
 * libnifti's write), DOLOR_ENOMEM. */
dolor_status dolor_nifti_write(const char *path, const dolor_image *img);

/* ======================= MetaImage (formats helper) ======================= */

/* MetaImage (ITK MetaIO "Image" object, our own parser): .mha (header and
 * data in one file) or .mhd (header) + a data file. Header lines are
 * "Key = Value" (keys matched without case) up to ElementDataFile, which must
 * be LOCAL (data follow that line) or one file name (relative to the
 * header's folder; HeaderSize n skips n bytes of it, -1 takes its last
 * bytes). Read: NDims 2..4, DimSize, ElementType MET_UCHAR/CHAR/USHORT/
 * SHORT/UINT/INT/ULONG/LONG (4 bytes, as MetaIO)/ULONG_LONG/LONG_LONG/FLOAT/
 * DOUBLE (an "_ARRAY" suffix is accepted), ElementNumberOfChannels 1..4
 * (ncomp), ElementSpacing (else ElementSize, else 1), Offset = Origin =
 * Position, TransformMatrix = Orientation = Rotation, BinaryDataByteOrderMSB
 * = ElementByteOrderMSB, CompressedData (zlib or gzip stream, inflated;
 * CompressedDataSize optional, bounds the input when present). Unknown keys
 * (Kinds, CenterOfRotation, AnatomicalOrientation, PLUS Seq_Frame* fields
 * of tracked sequences, ...) are ignored: a PLUS .igs.mha sequence of N
 * frames reads as a 3D image with size[2] = N.
 * Geometry: MetaIO coordinates are ITK's LPS, so they are kept as they are:
 * origin = Offset, spacing = ElementSpacing, and direction from
 * TransformMatrix read COLUMN-WISE, as ITK writes it (ITK MetaImageIO:
 * axis i's direction is TransformMatrix[i*NDims .. i*NDims+NDims-1]).
 * AnatomicalOrientation is informative only (ITK ignores it too). For NDims
 * 2 the 2x2 matrix fills the upper-left of direction; for NDims 4 the
 * spatial 3x3 block is used and spacing[3] = ElementSpacing[3].
 * Errors: DOLOR_EIO (cannot open the header or data file), DOLOR_EFORMAT
 * (line N: no '=', field with a wrong number of values or a bad value, a
 * required field missing, truncated or corrupt data: "truncated: header says
 * ... (N bytes) but only M bytes of voxel data"), DOLOR_EUNSUPPORTED
 * (ObjectType other than Image, NDims 1 or > 4, more than 4 channels, ASCII
 * data, ElementDataFile LIST or a file pattern, other ElementTypes),
 * DOLOR_ENOMEM. */
dolor_status dolor_metaimage_read(const char *path, dolor_image **out);

/* The same from bytes in memory (LOCAL data only; a data file name gives
 * DOLOR_EUNSUPPORTED). name is used in messages. Used by the fuzzer. */
dolor_status dolor_metaimage_read_mem(const void *buf, size_t len, const char *name, dolor_image **out);

/* Write .mha (one file) or .mhd + .raw (.zraw when compressed) next to it,
 * little endian, ElementType from the dtype (uint64/int64 as
 * MET_ULONG_LONG/MET_LONG_LONG), ElementNumberOfChannels = ncomp, Offset =
 * origin, ElementSpacing = spacing, TransformMatrix = direction written
 * column-wise (as ITK), AnatomicalOrientation from the direction (ITK's
 * letters: identity = RAI) for 3D. compress != 0: zlib (compress2, default
 * level) with CompressedDataSize. Numbers are written with 17 significant
 * digits, so geometry round-trips exactly. Atomic (each file through a
 * temporary; the data file is renamed first).
 * Errors: DOLOR_EINVAL (extension not .mha/.mhd, ndim/ncomp out of range),
 * DOLOR_EIO, DOLOR_ENOMEM. */
dolor_status dolor_metaimage_write(const char *path, const dolor_image *img, int compress);

/* ======================= ITK-SNAP label descriptions (formats helper) ======================= */

/* One label of an ITK-SNAP label description file (Segmentation > Export
 * Label Descriptions): a text file of '#' comment lines, then one line per
 * label:  IDX -R- -G- -B- -A-- VIS MSH "LABEL"
 * IDX 0..65535 (label value in the segmentation), R/G/B 0..255, A (opacity)
 * 0..1, VIS and MSH 0/1 (visible in slices / in the 3D mesh view), LABEL the
 * quoted name (may hold spaces; index 0 is ITK-SNAP's "Clear Label"). */
typedef struct dolor_label {
    int index;
    uint8_t rgb[3];
    double alpha;
    int visible;
    int mesh_visible;
    char name[256];
} dolor_label;

typedef struct dolor_label_table {
    int n;               /* number of labels */
    dolor_label *labels; /* in file order */
} dolor_label_table;

/* A zeroed table of n labels (0..65536). Errors: DOLOR_EINVAL, DOLOR_ENOMEM. */
dolor_status dolor_label_table_create(int n, dolor_label_table **out);
void dolor_label_table_free(dolor_label_table *t); /* NULL-safe */

/* Read a label description file (blank lines and '#' lines skipped, CRLF
 * accepted). Errors: DOLOR_EIO (cannot open), DOLOR_EFORMAT naming the line
 * number and the field ("labels.txt: line 17: field -G- is 300 (must be
 * 0..255)"; missing field, unquoted LABEL, duplicate IDX, no label lines,
 * NUL bytes), DOLOR_ENOMEM. */
dolor_status dolor_label_table_read(const char *path, dolor_label_table **out);
/* The same from memory (name used in messages). Used by the fuzzer. */
dolor_status dolor_label_table_read_mem(const void *buf, size_t len, const char *name, dolor_label_table **out);

/* Write in ITK-SNAP's layout (its comment header, then
 * "%5d %5d %4d %4d %8.6g %2d %2d    \"name\"" per label, file order).
 * Atomic. Errors: DOLOR_EINVAL (index out of range, alpha outside 0..1, a
 * name with '"' or a newline), DOLOR_EIO. */
dolor_status dolor_label_table_write(const char *path, const dolor_label_table *t);

/* The label with this index, or NULL. */
const dolor_label *dolor_label_table_find(const dolor_label_table *t, int index);

/* dolor's one colour table, used for every label colour it shows: label-map
 * PNG palettes, overlays and their legends, ITK-SNAP labels.txt, reports.
 * Class (or label) index 0 (background) and negative indices are black;
 * 1..7 are the Okabe-Ito colour-blind-safe palette (Okabe & Ito 2008,
 * "Color Universal Design"; Wong, Nature Methods 8:441, 2011): 1 orange
 * (230,159,0), 2 sky blue (86,180,233), 3 bluish green (0,158,115),
 * 4 yellow (240,228,66), 5 blue (0,114,178), 6 vermillion (213,94,0),
 * 7 reddish purple (204,121,167); 8 and above are hues spread by the golden
 * ratio (HSV with h = frac(0.618034 index), s 0.75, v 0.95). */
void dolor_label_colour(int index, uint8_t rgb[3]);

/* A 256-entry RGB palette for a label map whose class c (0..n-1) is stored
 * as label value values[c]: entry values[c] gets dolor_label_colour(c), so
 * the palette PNG, the overlay and labels.txt show each class in one colour
 * even when label values are not class indices (e.g. 0/255 masks); other
 * entries v get dolor_label_colour(v). values NULL: entry v gets colour v. */
void dolor_label_palette(const int *values, int n, uint8_t pal[256 * 3]);

/* Table for a segmentation task whose class c (0..n-1) has label value c:
 * names[0] is the background (alpha 0, hidden, black), class c gets
 * dolor_label_colour(c). Errors: DOLOR_EINVAL (n < 1, a NULL, too long
 * or quoted name), DOLOR_ENOMEM. */
dolor_status dolor_label_table_from_classes(const char *const *names, int n, dolor_label_table **out);

/* Class names and label values of a table, sorted by label value; the
 * "Clear Label" (index 0) is left out unless include_clear. names is
 * NULL-terminated (free with dolor_label_names_free), values has *n entries
 * (free()). Errors: DOLOR_EINVAL, DOLOR_ENOMEM. */
dolor_status dolor_label_table_classes(const dolor_label_table *t, int include_clear, char ***names, int **values,
                                       int *n);
void dolor_label_names_free(char **names); /* NULL-safe */

/* Write the table next to a label map: "<dir>/<stem>_labels.txt" for
 * "<dir>/<stem>.nii.gz" (.nii, .mha, .mhd, .png, .jpg, .dcm stripped the
 * same way), so ITK-SNAP can load it with the prediction. The path written
 * is copied to written (cap bytes) when written is not NULL. Atomic.
 * Errors: those of dolor_label_table_write. */
dolor_status dolor_label_table_write_beside(const char *image_path, const dolor_label_table *t, char *written,
                                            size_t cap);

/* ======================= DICOM (DICOM helper) ======================= */

/* A parsed DICOM Part 10 file (PS3.10), our own strict parser: preamble +
 * "DICM" or no preamble; implicit VR little endian, explicit VR little and
 * big endian, deflated explicit VR little endian (zlib); undefined-length
 * sequences and items; encapsulated pixel data (Basic Offset Table and
 * fragments). A length that runs past the end of its file, item or sequence
 * is an error naming the tag, its offset and its length. The whole file is
 * held in memory. See docs/dicom.md. */
typedef struct dolor_dicom dolor_dicom;

/* Parse a file. Errors: DOLOR_EIO (cannot open/read), DOLOR_EFORMAT (not
 * DICOM, truncated, a length past the end, bad item structure; the message
 * names the tag, offset and length), DOLOR_ENOMEM. */
dolor_status dolor_dicom_open(const char *path, dolor_dicom **out);
/* Same from memory (buf is copied; name is used in messages). Used by the
 * fuzzer. Errors as dolor_dicom_open. */
dolor_status dolor_dicom_open_memory(const uint8_t *buf, size_t len, const char *name, dolor_dicom **out);
void dolor_dicom_free(dolor_dicom *d); /* NULL-safe */

/* Transfer syntax UID of the data set ("1.2.840.10008.1.2.1"), never NULL;
 * and the name of a transfer syntax UID ("JPEG Baseline (Process 1)"), or
 * "unknown transfer syntax". */
const char *dolor_dicom_transfer_syntax(const dolor_dicom *d);
const char *dolor_dicom_ts_name(const char *uid);

/* Attribute access. key is a keyword ("PixelSpacing"), a tag "(0028,0030)"
 * or "00280030", or a path through sequences with item indices from 0:
 * "SequenceOfUltrasoundRegions[0].PhysicalDeltaX". File meta attributes
 * (group 0002) are found too.
 * dolor_dicom_has: 1 if present (even empty), else 0.
 * dolor_dicom_get_string: the value as text, trailing/leading spaces and
 *   NULs removed; binary numbers (US, SS, UL, SL, FL, FD, AT) are printed
 *   and joined by '\'; other binary VRs (OB, OW, UN, ...) and sequences give
 *   "<VR, N bytes>"/"<SQ, N items>". Truncated to cap-1 bytes.
 * dolor_dicom_get_number: value number `index` (0-based) of a numeric
 *   binary VR or of a DS/IS/text value split at '\'.
 * dolor_dicom_vm: number of values (0 if empty).
 * Errors: DOLOR_EINVAL (malformed key), DOLOR_ENOTFOUND (no such attribute,
 * item index out of range, index >= number of values), DOLOR_EFORMAT (the
 * text is not a number). */
int dolor_dicom_has(const dolor_dicom *d, const char *key);
dolor_status dolor_dicom_get_string(const dolor_dicom *d, const char *key, char *buf, size_t cap);
dolor_status dolor_dicom_get_number(const dolor_dicom *d, const char *key, int index, double *out);
int dolor_dicom_vm(const dolor_dicom *d, const char *key);

/* Keyword dictionary (a few hundred common attributes): keyword -> tag
 * (group << 16 | element) and back. Unknown: DOLOR_ENOTFOUND / NULL. */
dolor_status dolor_dicom_tag_of(const char *keyword, uint32_t *tag);
const char *dolor_dicom_keyword_of(uint32_t tag);
/* 1 if the attribute can identify a patient (PS3.15 Annex E Basic Profile:
 * names, IDs, dates, times, addresses, institution and device identity,
 * all of group 0010, every PN/DA/DT/TM value): such attributes are never
 * printed or copied unless the user asks (dolor info --show-phi). */
int dolor_dicom_tag_is_phi(uint32_t tag, const char *vr);

/* Iterate the top-level attributes, file meta (group 0002) first, then the
 * data set: index 0..dolor_dicom_count()-1 gives its tag and VR; read the
 * value with dolor_dicom_get_string(d, "(gggg,eeee)", ...). */
int dolor_dicom_count(const dolor_dicom *d);
void dolor_dicom_attr(const dolor_dicom *d, int index, uint32_t *tag, char vr[3]);

/* Decode the pixel data into an image with the STORED values (no rescale):
 * Rows x Columns (x NumberOfFrames: frames along z, ndim 3 when > 1 frame)
 * x SamplesPerPixel components; dtype from BitsAllocated and
 * PixelRepresentation as pydicom's pixel_dtype (1 -> uint8 0/1, 8 -> uint8/
 * int8, 16 -> uint16/int16, 32 -> uint32/int32); values masked to
 * BitsStored (bits above HighBit cleared, sign-extended when signed).
 * Transfer syntaxes: uncompressed (implicit/explicit LE, explicit BE,
 * deflated), RLE Lossless (PS3.5 Annex G, own decoder), JPEG baseline and
 * extended 8-bit (libjpeg-turbo, called directly: pydicom leaves RGB-labelled
 * JPEGs without an Adobe marker untransformed, which dolor_jpeg_decode cannot
 * do), JPEG 2000 (OpenJPEG), JPEG-LS (CharLS), JPEG Lossless (1.2.4.57 any
 * predictor, .70) and 12-bit grayscale JPEG Extended (.51) through DCMTK's IJG
 * decoders (Debian's libjpeg-turbo has neither; values equal pydicom + GDCM;
 * errors name the frame and the codec). Photometric: MONOCHROME1/2 kept as stored
 * (MONOCHROME1 is NOT inverted), RGB (planar configuration 0 or 1),
 * YBR_FULL / YBR_FULL_422 converted to RGB with pydicom 2.3's
 * convert_color_space formula (PS3.3 C.7.6.3.1.2), PALETTE COLOR kept as
 * palette indices (apply the LUT yourself). Geometry: spacing from
 * PixelSpacing (row spacing = y, column spacing = x), else ImagerPixelSpacing,
 * else the first SequenceOfUltrasoundRegions PhysicalDeltaX/Y (cm -> mm);
 * z from SpacingBetweenSlices, else SliceThickness, else 1; origin from
 * ImagePositionPatient and direction from ImageOrientationPatient (LPS),
 * the third axis their cross product; enhanced multi-frame objects (SEG,
 * enhanced MR) take them from the shared / first per-frame functional groups
 * and z spacing from the first two frame positions. Frames of a cine
 * (ultrasound) lie along z with spacing 1 (FrameTime stays an attribute). Errors: DOLOR_ENOTFOUND (no pixel
 * data), DOLOR_EUNSUPPORTED (transfer syntax named by UID and name,
 * photometric interpretation, bit depth), DOLOR_EFORMAT (pixel data shorter
 * than Rows*Columns*..., corrupt codestream), DOLOR_ENOMEM. */
dolor_status dolor_dicom_read_image(const dolor_dicom *d, dolor_image **out);

/* RescaleSlope/RescaleIntercept (PS3.3 C.11.1.1.2) applied: float32 image
 * = stored * slope + intercept (slope 1, intercept 0 when absent), same
 * geometry. Errors: DOLOR_EINVAL (raw has ncomp != 1), DOLOR_EFORMAT
 * (unparsable slope), DOLOR_ENOMEM. */
dolor_status dolor_dicom_rescale(const dolor_dicom *d, const dolor_image *raw, dolor_image **out);

/* Read one file, or a folder holding one series (files whose names start
 * with '.', files that are not DICOM (README, json) and DICOM files without
 * pixel data (DICOMDIR, reports) are skipped; a DICOM file that fails to
 * parse is an error; sub-folders are ignored): the slices are
 * sorted by position along the slice normal (ImageOrientationPatient cross
 * product . ImagePositionPatient) and stacked along z; spacing[2] is the
 * mean distance between successive positions, origin the first slice's.
 * Errors: those of dolor_dicom_open/read_image, DOLOR_ESHAPE (slices differ
 * in size, orientation or type, or several series in the folder; named),
 * DOLOR_EFORMAT (duplicate positions, uneven spacing beyond 5% of the mean: named),
 * DOLOR_ENOTFOUND (no DICOM file in the folder). */
dolor_status dolor_dicom_read(const char *path, dolor_image **out);
dolor_status dolor_dicom_read_series(const char *dir, dolor_image **out);

#ifdef __cplusplus
}
#endif
#endif
