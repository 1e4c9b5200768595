/* JPEG Lossless (process 14, any predictor) and 12-bit JPEG Extended (process 4) frames of DICOM pixel data,
 * decoded by DCMTK's builds of the IJG library (src/io/dicom_jpeg_ijg.cpp, a thin C++ shim; Debian package
 * libdcmtk-dev). Debian 12's libjpeg-turbo 2.1 is 8-bit and lossy only, so 8-bit lossy JPEG stays with it
 * (src/io/dicom_pixel.c). Private to the io module. */
#ifndef DOLOR_DICOM_JPEG_IJG_H
#define DOLOR_DICOM_JPEG_IJG_H

#include "dolor/core.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Decode one JPEG frame `buf` (`len` bytes, a complete SOI..EOI stream) whose SOF says `precision` bits,
 * `rows` x `cols`, `spp` components. `out` receives rows*cols*spp samples, component-interleaved (as the JPEG
 * components come, no colour transform), one byte each when precision <= 8, else one native-endian uint16
 * each; `out_bytes` must be exactly that size. `name` and `frame` are used in messages.
 * Returns DOLOR_OK; DOLOR_EINVAL for arguments out of range (checked before DCMTK is called: 1 <= rows, cols
 * <= 65535, spp 1 or 3, precision 2..16, 4 <= len < 4 GB, out_bytes as above); DOLOR_EFORMAT when the codec
 * reports a corrupt or truncated stream; DOLOR_ENOMEM. Every message names the file, the frame and the codec.
 * No C++ exception leaves this function. Thread-safe (one decoder object per call). */
dolor_status dcm_jpeg_ijg_decode(const char *name, long frame, const uint8_t *buf, size_t len, int precision,
                                 long rows, long cols, long spp, void *out, size_t out_bytes);

/* "DCMTK 3.6.7 IJG 8/12/16-bit": the codec that dcm_jpeg_ijg_decode uses for a precision, for messages. */
const char *dcm_jpeg_ijg_codec_name(int precision);

#ifdef __cplusplus
}
#endif

#endif
