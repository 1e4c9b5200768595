/* Thin C++ shim over DCMTK's IJG decoders (libdcmjpeg: DJDecompressIJG8Bit / 12Bit / 16Bit) for the JPEG
 * frames that Debian 12's libjpeg-turbo 2.1 cannot decode: lossless process 14 (SOF3, transfer syntaxes
 * 1.2.840.10008.1.2.4.57 and .70) and 12-bit extended process 4 (1.2.840.10008.1.2.4.51).
 *
 * Why DCMTK and not GDCM (both in Debian 12, both decode the 4 such files of formats/dicom bit-exactly, equal
 * to pydicom + GDCM): DCMTK's decoder classes take one frame as a memory buffer and write into a caller's
 * buffer (no DataElement / SequenceOfFragments / PixelFormat objects to build), report errors as an
 * OFCondition instead of exceptions, and Debian's libdcmjpeg has no assert() on the decoding path, whereas
 * Debian's libgdcmMSFF (built without NDEBUG) has ~3,400 live assert() calls that abort the process on
 * malformed input, which a fuzzed decoder must not do.
 *
 * Everything the library is given is checked first (dimensions, precision, buffer sizes); the SOF of the
 * stream has been matched against the data set by the caller (dicom_pixel.c). Every C++ exception is caught
 * here; none reaches C. */
#include "dicom_jpeg_ijg.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmjpeg/djcparam.h>
#include <dcmtk/dcmjpeg/djdijg12.h>
#include <dcmtk/dcmjpeg/djdijg16.h>
#include <dcmtk/dcmjpeg/djdijg8.h>
#include <dcmtk/dcmjpeg/djutils.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>

namespace {

/* DCMTK logs IJG warnings ("Invalid SOS parameters for sequential JPEG", ...) to stderr at WARN level; a
 * library must not write to stderr, so only errors are let through (they come back as statuses anyway). */
void quiet_dcmjpeg_logger()
{
    static std::once_flag once;
    std::call_once(once, [] { DCM_dcmjpegLogger.setLogLevel(OFLogger::ERROR_LOG_LEVEL); });
}

std::unique_ptr<DJDecoder> make_decoder(const DJCodecParameter &cp, int precision)
{
    /* isYBR is irrelevant with EDC_never: the components come out as coded */
    if (precision <= 8)
        return std::unique_ptr<DJDecoder>(new DJDecompressIJG8Bit(cp, OFFalse));
    if (precision <= 12)
        return std::unique_ptr<DJDecoder>(new DJDecompressIJG12Bit(cp, OFFalse));
    return std::unique_ptr<DJDecoder>(new DJDecompressIJG16Bit(cp, OFFalse));
}

} // namespace

extern "C" const char *dcm_jpeg_ijg_codec_name(int precision)
{
    if (precision <= 8)
        return "DCMTK " PACKAGE_VERSION " IJG 8-bit";
    if (precision <= 12)
        return "DCMTK " PACKAGE_VERSION " IJG 12-bit";
    return "DCMTK " PACKAGE_VERSION " IJG 16-bit";
}

extern "C" dolor_status dcm_jpeg_ijg_decode(const char *name, long frame, const uint8_t *buf, size_t len,
                                            int precision, long rows, long cols, long spp, void *out,
                                            size_t out_bytes)
{
    const char *codec = dcm_jpeg_ijg_codec_name(precision);
    if (!name)
        name = "(memory)";
    if (!buf || !out || len < 4 || len > UINT32_MAX || precision < 2 || precision > 16 || rows < 1 ||
        rows > 65535 || cols < 1 || cols > 65535 || (spp != 1 && spp != 3))
        return dolor_error(DOLOR_EINVAL, "%s: frame %ld: %s: bad arguments (%zu bytes, %d bits, %ldx%ld x%ld)", name,
                           frame, codec, len, precision, cols, rows, spp);
    size_t bps = precision > 8 ? 2 : 1;
    size_t need = (size_t)rows * (size_t)cols * (size_t)spp * bps;
    if (out_bytes != need || need > UINT32_MAX)
        return dolor_error(DOLOR_EINVAL, "%s: frame %ld: %s: output buffer of %zu bytes, %zu needed", name, frame,
                           codec, out_bytes, need);
    try {
        quiet_dcmjpeg_logger();
        /* decompression: no colour conversion (EDC_never), planar configuration and UIDs unused */
        DJCodecParameter cp(ECC_lossyYCbCr, EDC_never, EUC_never, EPC_default);
        std::unique_ptr<DJDecoder> dec = make_decoder(cp, precision);
        OFCondition c = dec->init();
        if (c.good())
            c = dec->decode(const_cast<Uint8 *>(buf), (Uint32)len, static_cast<Uint8 *>(out), (Uint32)out_bytes,
                            OFFalse);
        if (c == EJ_Suspension)
            return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: %s: truncated JPEG (the stream ends before the image)",
                               name, frame, codec);
        if (c.bad()) {
            dolor_status s = c == EC_MemoryExhausted ? DOLOR_ENOMEM : DOLOR_EFORMAT;
            return dolor_error(s, "%s: frame %ld: %s: corrupt JPEG: %s", name, frame, codec, c.text());
        }
        return DOLOR_OK;
    } catch (const std::bad_alloc &) {
        return dolor_error(DOLOR_ENOMEM, "%s: frame %ld: %s: out of memory", name, frame, codec);
    } catch (const std::exception &e) {
        return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: %s: %s", name, frame, codec, e.what());
    } catch (...) {
        return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: %s: unknown C++ exception", name, frame, codec);
    }
}
