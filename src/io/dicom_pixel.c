/* DICOM pixel data: native (uncompressed) and encapsulated (RLE, JPEG, JPEG 2000,
 * JPEG-LS), photometric handling, BitsStored masking, geometry, rescale.
 * Codecs: own RLE; 8-bit lossy JPEG by libjpeg-turbo; lossless and 12-bit JPEG by DCMTK's IJG builds
 * (dicom_jpeg_ijg.cpp); JPEG 2000 by OpenJPEG; JPEG-LS by CharLS. */
#include "dicom_priv.h"
#include "dicom_jpeg_ijg.h"

#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <charls/charls.h>
#include <jerror.h>
#include <jpeglib.h>
#include <openjpeg.h>

#define MAX_PIXEL_BYTES ((size_t)1 << 30)

typedef struct pix {
    const dolor_dicom *d;
    const char *name;
    long rows, cols, spp, ba, bs, hb, pr, frames, planar;
    char pi[32];
    dolor_dtype dtype;
    size_t esize;       /* bytes per sample in the output */
    size_t frame_elems; /* rows*cols*spp */
    int converted_rgb;  /* decoder already produced RGB from YBR */
} pix;

static int is_ts(const dolor_dicom *d, const char *uid) { return strcmp(d->ts, uid) == 0; }

static dolor_status unsupported_ts(const pix *p)
{
    return dolor_error(DOLOR_EUNSUPPORTED, "%s: transfer syntax %s (%s) is not supported", p->name, p->d->ts,
                       dolor_dicom_ts_name(p->d->ts));
}

/* ---------------- sample store helpers ---------------- */

static void put_sample(void *data, dolor_dtype t, size_t i, int64_t v)
{
    switch (t) {
    case DOLOR_U8: ((uint8_t *)data)[i] = (uint8_t)v; break;
    case DOLOR_I8: ((int8_t *)data)[i] = (int8_t)v; break;
    case DOLOR_U16: ((uint16_t *)data)[i] = (uint16_t)v; break;
    case DOLOR_I16: ((int16_t *)data)[i] = (int16_t)v; break;
    case DOLOR_U32: ((uint32_t *)data)[i] = (uint32_t)v; break;
    case DOLOR_I32: ((int32_t *)data)[i] = (int32_t)v; break;
    default: break;
    }
}

static int64_t get_sample(const void *data, dolor_dtype t, size_t i)
{
    switch (t) {
    case DOLOR_U8: return ((const uint8_t *)data)[i];
    case DOLOR_I8: return ((const int8_t *)data)[i];
    case DOLOR_U16: return ((const uint16_t *)data)[i];
    case DOLOR_I16: return ((const int16_t *)data)[i];
    case DOLOR_U32: return ((const uint32_t *)data)[i];
    case DOLOR_I32: return ((const int32_t *)data)[i];
    default: return 0;
    }
}

/* ---------------- native ---------------- */

static dolor_status decode_native(pix *p, const dcm_elem *e, void *dst)
{
    const uint8_t *src = p->d->buf + e->off;
    size_t have = e->len;
    size_t npix = (size_t)p->rows * (size_t)p->cols * (size_t)p->frames;
    size_t nel = npix * (size_t)p->spp;
    if (p->ba == 1) {
        size_t need = (nel + 7) / 8;
        if (have < need)
            return dolor_error(DOLOR_EFORMAT, "%s: Pixel Data (7FE0,0010) has %zu bytes, %zu needed for %ldx%ldx%ld "
                               "1-bit samples", p->name, have, need, p->cols, p->rows, p->frames);
        for (size_t i = 0; i < nel; i++)
            ((uint8_t *)dst)[i] = (src[i >> 3] >> (i & 7)) & 1;
        return DOLOR_OK;
    }
    size_t bps = (size_t)p->ba / 8;
    int ybr422 = !strcmp(p->pi, "YBR_FULL_422") && p->spp == 3 && p->ba == 8;
    size_t need = ybr422 ? npix * 2 : nel * bps;
    if (have < need)
        return dolor_error(DOLOR_EFORMAT, "%s: Pixel Data (7FE0,0010) has %zu bytes, %zu needed for %ld x %ld x %ld "
                           "frames x %ld samples of %ld bits%s", p->name, have, need, p->cols, p->rows, p->frames,
                           p->spp, p->ba, ybr422 ? " (YBR_FULL_422)" : "");
    int big = e->big && strcmp(e->vr, "OB") != 0;
    if (ybr422) {
        /* Y1 Y2 Cb Cr per pair of pixels (PS3.3 C.7.6.3.1.2), rows of even width */
        uint8_t *o = dst;
        if (p->cols % 2)
            return dolor_error(DOLOR_EUNSUPPORTED, "%s: YBR_FULL_422 with an odd number of columns (%ld)", p->name,
                               p->cols);
        for (size_t i = 0; i < npix / 2; i++) {
            const uint8_t *s = src + 4 * i;
            o[6 * i + 0] = s[0], o[6 * i + 1] = s[2], o[6 * i + 2] = s[3];
            o[6 * i + 3] = s[1], o[6 * i + 4] = s[2], o[6 * i + 5] = s[3];
        }
        return DOLOR_OK;
    }
    for (size_t f = 0; f < (size_t)p->frames; f++) {
        size_t fe = p->frame_elems;
        for (size_t i = 0; i < fe; i++) {
            /* planar configuration 1: RRR..GGG..BBB per frame */
            size_t si = f * fe + i;
            size_t di;
            if (p->planar && p->spp > 1) {
                size_t plane = (size_t)p->rows * (size_t)p->cols;
                size_t c = i / plane, px = i % plane;
                di = f * fe + px * (size_t)p->spp + c;
            } else {
                di = si;
            }
            const uint8_t *s = src + si * bps;
            int64_t v;
            if (bps == 1)
                v = p->pr ? (int8_t)s[0] : s[0];
            else if (bps == 2)
                v = p->pr ? (int16_t)dcm_u16(s, big) : dcm_u16(s, big);
            else
                v = p->pr ? (int64_t)(int32_t)dcm_u32(s, big) : (int64_t)dcm_u32(s, big);
            put_sample(dst, p->dtype, di, v);
        }
    }
    return DOLOR_OK;
}

/* ---------------- frames of encapsulated data ---------------- */

typedef struct frame_buf {
    uint8_t *data;
    size_t len;
    int owned;
} frame_buf;

static int ends_with_eoi(const uint8_t *b, size_t n)
{
    size_t k = 0;
    while (n > 0 && b[n - 1] == 0 && k < 10)
        n--, k++;
    return n >= 2 && b[n - 2] == 0xFF && b[n - 1] == 0xD9;
}

/* Fragment ranges [first, last] of each frame (fragment 0 is the BOT). */
static dolor_status frame_ranges(const pix *p, const dcm_elem *e, int *first, int *last)
{
    int nf = e->nfrag - 1;
    long frames = p->frames;
    if (nf < 1)
        return dolor_error(DOLOR_EFORMAT, "%s: encapsulated Pixel Data has no fragments", p->name);
    if (frames == 1) {
        first[0] = 1, last[0] = nf;
        return DOLOR_OK;
    }
    if (nf == frames) {
        for (long i = 0; i < frames; i++)
            first[i] = last[i] = (int)i + 1;
        return DOLOR_OK;
    }
    if (nf < frames)
        return dolor_error(DOLOR_EFORMAT, "%s: NumberOfFrames is %ld but the Pixel Data has only %d fragments",
                           p->name, frames, nf);
    uint32_t botlen = e->frag_len[0];
    if (botlen >= 4 * (uint32_t)frames) {
        /* Basic Offset Table: offsets of each frame's first fragment item, from the first item after the BOT */
        const uint8_t *bot = p->d->buf + e->frag_off[0];
        size_t base = e->frag_off[1] - 8;
        int j = 1;
        for (long i = 0; i < frames; i++) {
            size_t off = base + dcm_u32(bot + 4 * i, 0);
            int k = -1;
            /* offsets increase: scan forward from the previous frame's fragment */
            while (j <= nf && e->frag_off[j] - 8 < off)
                j++;
            if (j <= nf && e->frag_off[j] - 8 == off)
                k = j++;
            if (k < 0)
                return dolor_error(DOLOR_EFORMAT, "%s: Basic Offset Table entry %ld (%u) does not point at a fragment",
                                   p->name, i, dcm_u32(bot + 4 * i, 0));
            first[i] = k;
            if (i > 0)
                last[i - 1] = k - 1;
        }
        last[frames - 1] = nf;
        return DOLOR_OK;
    }
    /* no offset table: JPEG-family frames end with an EOI marker (as pydicom does) */
    long fi = 0;
    int start = 1;
    for (int j = 1; j <= nf && fi < frames; j++) {
        if (ends_with_eoi(p->d->buf + e->frag_off[j], e->frag_len[j])) {
            first[fi] = start, last[fi] = j;
            fi++;
            start = j + 1;
        }
    }
    if (fi != frames)
        return dolor_error(DOLOR_EFORMAT, "%s: cannot split %d fragments into %ld frames (no Basic Offset Table and "
                           "%ld frame ends found)", p->name, nf, frames, fi);
    last[frames - 1] = nf;
    return DOLOR_OK;
}

static dolor_status get_frame(const pix *p, const dcm_elem *e, int a, int b, frame_buf *fb)
{
    if (a == b) {
        fb->data = p->d->buf + e->frag_off[a];
        fb->len = e->frag_len[a];
        fb->owned = 0;
        return DOLOR_OK;
    }
    size_t n = 0;
    for (int j = a; j <= b; j++)
        n += e->frag_len[j];
    fb->data = malloc(n ? n : 1);
    if (!fb->data)
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", p->name);
    fb->owned = 1;
    fb->len = n;
    n = 0;
    for (int j = a; j <= b; j++) {
        memcpy(fb->data + n, p->d->buf + e->frag_off[j], e->frag_len[j]);
        n += e->frag_len[j];
    }
    return DOLOR_OK;
}

/* ---------------- RLE Lossless (PS3.5 Annex G) ---------------- */

static dolor_status decode_rle(const pix *p, const uint8_t *buf, size_t len, void *dst, long frame)
{
    if (len < 64)
        return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: RLE header needs 64 bytes, fragment has %zu", p->name, frame,
                           len);
    uint32_t nseg = dcm_u32(buf, 0);
    size_t bps = (size_t)p->ba / 8;
    if (p->ba == 1 || nseg != (uint32_t)(p->spp * (long)bps))
        return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: RLE header has %u segments, expected %ld (%ld samples x %ld "
                           "bits)", p->name, frame, nseg, p->spp * (long)bps, p->spp, p->ba);
    size_t plane = (size_t)p->rows * (size_t)p->cols;
    uint8_t *seg = malloc(plane);
    if (!seg)
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", p->name);
    for (uint32_t s = 0; s < nseg; s++) {
        uint32_t off = dcm_u32(buf + 4 + 4 * s, 0);
        uint32_t end = s + 1 < nseg ? dcm_u32(buf + 8 + 4 * s, 0) : (uint32_t)len;
        if (off < 64 || off > len || end > len || end < off) {
            free(seg);
            return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: RLE segment %u offset %u..%u outside the %zu-byte frame",
                               p->name, frame, s, off, end, len);
        }
        size_t i = off, o = 0;
        while (o < plane && i < end) {
            int8_t c = (int8_t)buf[i++];
            if (c >= 0) {
                size_t n = (size_t)c + 1;
                if (n > end - i)
                    n = end - i;
                if (n > plane - o)
                    n = plane - o;
                memcpy(seg + o, buf + i, n);
                o += n;
                i += (size_t)c + 1;
            } else if (c != -128) {
                size_t n = (size_t)(1 - c);
                if (i >= end)
                    break;
                if (n > plane - o)
                    n = plane - o;
                memset(seg + o, buf[i], n);
                o += n;
                i++;
            }
        }
        if (o < plane) {
            free(seg);
            return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: RLE segment %u decodes to %zu bytes, %zu expected",
                               p->name, frame, s, o, plane);
        }
        /* segment s: sample s / bps, byte (s % bps) counted from the most significant */
        size_t sample = s / bps, byte = bps - 1 - s % bps;
        for (size_t k = 0; k < plane; k++) {
            size_t di = (size_t)frame * p->frame_elems + k * (size_t)p->spp + sample;
            int64_t v = get_sample(dst, p->dtype, di);
            uint64_t u = (uint64_t)v & (bps == 1 ? 0xFFu : bps == 2 ? 0xFFFFu : 0xFFFFFFFFu);
            u |= (uint64_t)seg[k] << (8 * byte);
            put_sample(dst, p->dtype, di, (int64_t)u); /* wraps into the signed type when PixelRepresentation=1 */
        }
    }
    free(seg);
    return DOLOR_OK;
}

/* ---------------- JPEG (libjpeg-turbo) ---------------- */

/* Find the SOF marker: returns its type (0xC0..0xCF) and precision, or 0; *height, *width and *ncomp from the
 * same segment (0 when the segment is cut short). */
static int jpeg_sof(const uint8_t *b, size_t n, int *precision, long *height, long *width, int *ncomp)
{
    size_t i = 2;
    *height = *width = 0, *ncomp = 0;
    if (n < 4 || b[0] != 0xFF || b[1] != 0xD8)
        return 0;
    while (i + 4 <= n) {
        if (b[i] != 0xFF) {
            i++;
            continue;
        }
        int m = b[i + 1];
        if (m == 0xFF) {
            i++;
            continue;
        }
        if (m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01) {
            i += 2;
            continue;
        }
        size_t L = (size_t)b[i + 2] << 8 | b[i + 3];
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
            *precision = i + 4 < n ? b[i + 4] : 0;
            if (i + 9 < n && L >= 8) {
                *height = (long)b[i + 5] << 8 | b[i + 6];
                *width = (long)b[i + 7] << 8 | b[i + 8];
                *ncomp = b[i + 9];
            }
            return m;
        }
        if (m == 0xDA)
            return 0;
        i += 2 + L;
    }
    return 0;
}

static int jpeg_has_adobe(const uint8_t *b, size_t n)
{
    for (size_t i = 2; i + 9 < n; i++) {
        /* like Pillow: an APP14 "Adobe" segment counts only if it is long enough to hold the transform flag */
        if (b[i] == 0xFF && b[i + 1] == 0xEE && memcmp(b + i + 4, "Adobe", 5) == 0)
            return ((size_t)b[i + 2] << 8 | b[i + 3]) >= 14;
        if (b[i] == 0xFF && b[i + 1] == 0xDA)
            return 0;
    }
    return 0;
}

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
    int truncated;
} jerr;

static void j_error_exit(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    (*c->err->format_message)(c, e->msg);
    longjmp(e->jb, 1);
}
static void j_emit(j_common_ptr c, int level)
{
    if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF)
        ((jerr *)c->err)->truncated = 1;
}
static void j_output(j_common_ptr c) { (void)c; }

/* Lossless (SOF3, process 14) and 12-bit lossy JPEG: DCMTK's IJG builds through src/io/dicom_jpeg_ijg.cpp.
 * The SOF is matched against the data set here, before the library sees the stream. */
static dolor_status decode_jpeg_ijg(pix *p, const uint8_t *buf, size_t len, void *dst, long frame, int sof, int prec,
                                    long h, long w, int nc)
{
    int lossless = sof == 0xC3 || sof == 0xC7 || sof == 0xCB || sof == 0xCF;
    const char *codec = dcm_jpeg_ijg_codec_name(prec);
    const char *kind = lossless ? "lossless JPEG" : "JPEG";
    if (prec < 2 || prec > 16)
        return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: %s precision %d (2..16 bits)", p->name, frame, kind, prec);
    if (h != p->rows || w != p->cols || nc != p->spp)
        return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: %s is %ldx%ld x%d but the data set says %ldx%ld x%ld",
                           p->name, frame, kind, w, h, nc, p->cols, p->rows, p->spp);
    if (prec > p->ba)
        return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: %d-bit %s with BitsAllocated %ld", p->name, frame, prec, kind,
                           p->ba);
    if (!lossless && p->spp != 1)
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: frame %ld: %d-bit colour JPEG (%ld samples) is not supported",
                           p->name, frame, prec, p->spp);
    size_t bps = prec > 8 ? 2 : 1, n = p->frame_elems;
    uint8_t *tmp = malloc(n * bps);
    if (!tmp)
        return dolor_error(DOLOR_ENOMEM, "%s: frame %ld: out of memory (%s)", p->name, frame, codec);
    dolor_status s = dcm_jpeg_ijg_decode(p->name, frame, buf, len, prec, p->rows, p->cols, p->spp, tmp, n * bps);
    if (!s) {
        /* samples are the JPEG's unsigned words; PixelRepresentation 1 wraps into the signed type, and the
         * BitsStored pass of dolor_dicom_read_image sign-extends narrower values */
        size_t base = (size_t)frame * n;
        for (size_t k = 0; k < n; k++)
            put_sample(dst, p->dtype, base + k, bps == 1 ? tmp[k] : ((const uint16_t *)tmp)[k]);
    }
    free(tmp);
    return s;
}

static dolor_status decode_jpeg(pix *p, const uint8_t *buf, size_t len, uint8_t *dst, long frame)
{
    int prec = 0, nc = 0;
    long h = 0, w = 0;
    int sof = jpeg_sof(buf, len, &prec, &h, &w, &nc);
    if (!sof)
        return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: no JPEG start-of-frame marker in %zu bytes", p->name, frame,
                           len);
    if (sof == 0xC3 || sof == 0xC7 || sof == 0xCB || sof == 0xCF || prec != 8)
        return decode_jpeg_ijg(p, buf, len, dst, frame, sof, prec, h, w, nc);
    if (p->ba != 8)
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: 8-bit JPEG data with BitsAllocated %ld", p->name, p->ba);
    struct jpeg_decompress_struct ci;
    jerr je;
    memset(&je, 0, sizeof je);
    ci.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = j_error_exit;
    je.pub.emit_message = j_emit;
    je.pub.output_message = j_output;
    uint8_t *volatile row = NULL;
    if (setjmp(je.jb)) {
        jpeg_destroy_decompress(&ci);
        free(row);
        return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: corrupt JPEG: %s", p->name, frame, je.msg);
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, buf, (unsigned long)len);
    jpeg_read_header(&ci, TRUE);
    if (ci.num_components != p->spp) {
        jpeg_destroy_decompress(&ci);
        return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: JPEG has %d components, SamplesPerPixel is %ld", p->name,
                           frame, ci.num_components, p->spp);
    }
    if (p->spp == 3) {
        /* as pydicom + Pillow: RGB data without an Adobe marker is not colour-transformed */
        if (!strcmp(p->pi, "RGB") && !jpeg_has_adobe(buf, len))
            ci.jpeg_color_space = JCS_RGB;
        ci.out_color_space = JCS_RGB;
        p->converted_rgb = 1; /* as pydicom + Pillow: what libjpeg gives is taken as RGB (PI YBR_* -> RGB) */
    } else if (p->spp == 1) {
        ci.out_color_space = JCS_GRAYSCALE;
    } else {
        jpeg_destroy_decompress(&ci);
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: JPEG with %ld samples per pixel", p->name, p->spp);
    }
    jpeg_start_decompress(&ci);
    if ((long)ci.output_width != p->cols || (long)ci.output_height != p->rows || ci.output_components != p->spp) {
        snprintf(je.msg, sizeof je.msg, "JPEG is %ux%u x%d but the data set says %ldx%ld x%ld", ci.output_width,
                 ci.output_height, ci.output_components, p->cols, p->rows, p->spp);
        longjmp(je.jb, 1);
    }
    size_t stride = (size_t)p->cols * (size_t)p->spp;
    uint8_t *o = dst + (size_t)frame * p->frame_elems;
    while (ci.output_scanline < ci.output_height && !je.truncated) {
        JSAMPROW r = o + (size_t)ci.output_scanline * stride;
        jpeg_read_scanlines(&ci, &r, 1);
    }
    if (je.truncated) {
        jpeg_destroy_decompress(&ci);
        return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: truncated JPEG", p->name, frame);
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    return DOLOR_OK;
}

/* ---------------- JPEG 2000 (OpenJPEG) ---------------- */

typedef struct memsrc {
    const uint8_t *b;
    size_t n, pos;
} memsrc;

static OPJ_SIZE_T ms_read(void *buf, OPJ_SIZE_T n, void *u)
{
    memsrc *m = u;
    if (m->pos >= m->n)
        return (OPJ_SIZE_T)-1;
    size_t k = m->n - m->pos < n ? m->n - m->pos : n;
    memcpy(buf, m->b + m->pos, k);
    m->pos += k;
    return k;
}
static OPJ_OFF_T ms_skip(OPJ_OFF_T n, void *u)
{
    memsrc *m = u;
    if (n < 0) {
        if ((size_t)-n > m->pos)
            return -1;
        m->pos -= (size_t)-n;
        return n;
    }
    if ((size_t)n > m->n - m->pos)
        n = (OPJ_OFF_T)(m->n - m->pos);
    m->pos += (size_t)n;
    return n;
}
static OPJ_BOOL ms_seek(OPJ_OFF_T n, void *u)
{
    memsrc *m = u;
    if (n < 0 || (size_t)n > m->n)
        return OPJ_FALSE;
    m->pos = (size_t)n;
    return OPJ_TRUE;
}
static void opj_quiet(const char *msg, void *u) { (void)msg, (void)u; }
static void opj_err(const char *msg, void *u)
{
    char *dst = u;
    if (!dst[0])
        snprintf(dst, 256, "%s", msg);
}

/* The image and tile sizes of the SIZ marker segment (right after SOC, also inside a JP2 box), checked before
 * OpenJPEG sees the stream: it builds every tile the header declares before it decodes anything, so a corrupt
 * size (found by fuzz_dicom: 100 x 3801188 pixels in 38012 tiles for a 100x100 data set) cost many seconds. */
static dolor_status j2k_check_siz(const pix *p, const uint8_t *b, size_t n, long frame)
{
    for (size_t i = 0; i + 42 <= n; i++) {
        if (!(b[i] == 0xFF && b[i + 1] == 0x4F && b[i + 2] == 0xFF && b[i + 3] == 0x51))
            continue;
        uint32_t v[8];
        for (int k = 0; k < 8; k++)
            v[k] = dcm_u32(b + i + 8 + 4 * k, 1);
        uint64_t w = v[0] > v[2] ? v[0] - v[2] : 0, h = v[1] > v[3] ? v[1] - v[3] : 0;
        if (w != (uint64_t)p->cols || h != (uint64_t)p->rows)
            return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: JPEG 2000 header says %llux%llu pixels, the data set %ldx%ld",
                               p->name, frame, (unsigned long long)w, (unsigned long long)h, p->cols, p->rows);
        uint64_t tw = v[4] && v[0] > v[6] ? (v[0] - v[6] + (uint64_t)v[4] - 1) / v[4] : 0;
        uint64_t th = v[5] && v[1] > v[7] ? (v[1] - v[7] + (uint64_t)v[5] - 1) / v[5] : 0;
        if (tw * th < 1 || tw * th > 65535)
            return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: JPEG 2000 header declares %llu x %llu tiles", p->name,
                               frame, (unsigned long long)tw, (unsigned long long)th);
        return DOLOR_OK;
    }
    return DOLOR_OK; /* no SIZ: OpenJPEG reports the stream as corrupt */
}

static dolor_status decode_j2k(pix *p, const uint8_t *buf, size_t len, void *dst, long frame)
{
    if (len < 12)
        return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: JPEG 2000 stream of %zu bytes", p->name, frame, len);
    dolor_status chk = j2k_check_siz(p, buf, len, frame);
    if (chk)
        return chk;
    /* skip anything before the SOC marker (some files carry a JP2 box) */
    OPJ_CODEC_FORMAT fmt = OPJ_CODEC_J2K;
    if (!(buf[0] == 0xFF && buf[1] == 0x4F))
        fmt = OPJ_CODEC_JP2;
    memsrc ms = {buf, len, 0};
    char emsg[256] = "";
    opj_codec_t *codec = opj_create_decompress(fmt);
    opj_stream_t *st = opj_stream_create(1 << 16, OPJ_TRUE);
    opj_image_t *im = NULL;
    dolor_status s = DOLOR_OK;
    if (!codec || !st) {
        s = dolor_error(DOLOR_ENOMEM, "%s: OpenJPEG init failed", p->name);
        goto done;
    }
    opj_set_info_handler(codec, opj_quiet, NULL);
    opj_set_warning_handler(codec, opj_quiet, NULL);
    opj_set_error_handler(codec, opj_err, emsg);
    opj_stream_set_user_data(st, &ms, NULL);
    opj_stream_set_user_data_length(st, len);
    opj_stream_set_read_function(st, ms_read);
    opj_stream_set_skip_function(st, ms_skip);
    opj_stream_set_seek_function(st, ms_seek);
    opj_dparameters_t prm;
    opj_set_default_decoder_parameters(&prm);
    if (!opj_setup_decoder(codec, &prm) || !opj_read_header(st, codec, &im)) {
        s = dolor_error(DOLOR_EFORMAT, "%s: frame %ld: bad JPEG 2000 header: %s", p->name, frame, emsg);
        goto done;
    }
    if ((long)im->numcomps != p->spp || (long)(im->x1 - im->x0) != p->cols || (long)(im->y1 - im->y0) != p->rows) {
        s = dolor_error(DOLOR_EFORMAT, "%s: frame %ld: JPEG 2000 image is %ux%u x%u, the data set says %ldx%ld x%ld",
                        p->name, frame, im->x1 - im->x0, im->y1 - im->y0, im->numcomps, p->cols, p->rows, p->spp);
        goto done;
    }
    if (!opj_decode(codec, st, im) || !opj_end_decompress(codec, st)) {
        s = dolor_error(DOLOR_EFORMAT, "%s: frame %ld: corrupt JPEG 2000 data: %s", p->name, frame, emsg);
        goto done;
    }
    for (long c = 0; c < p->spp; c++) {
        opj_image_comp_t *cp = &im->comps[c];
        if (!cp->data || cp->w != (OPJ_UINT32)p->cols || cp->h != (OPJ_UINT32)p->rows || cp->dx != 1 || cp->dy != 1) {
            s = dolor_error(DOLOR_EUNSUPPORTED, "%s: frame %ld: JPEG 2000 component %ld is subsampled or empty",
                            p->name, frame, c);
            goto done;
        }
        if (cp->prec > (OPJ_UINT32)p->ba) {
            s = dolor_error(DOLOR_EFORMAT, "%s: frame %ld: JPEG 2000 precision %u exceeds BitsAllocated %ld", p->name,
                            frame, cp->prec, p->ba);
            goto done;
        }
        size_t np = (size_t)p->rows * (size_t)p->cols;
        for (size_t k = 0; k < np; k++)
            put_sample(dst, p->dtype, (size_t)frame * p->frame_elems + k * (size_t)p->spp + (size_t)c, cp->data[k]);
    }
    if (p->spp == 3 && (!strcmp(p->pi, "YBR_ICT") || !strcmp(p->pi, "YBR_RCT")))
        p->converted_rgb = 1;
done:
    if (im)
        opj_image_destroy(im);
    if (st)
        opj_stream_destroy(st);
    if (codec)
        opj_destroy_codec(codec);
    return s;
}

/* ---------------- JPEG-LS (CharLS) ---------------- */

static dolor_status decode_jls(pix *p, const uint8_t *buf, size_t len, void *dst, long frame)
{
    /* CharLS 2.4 can spin for many seconds on a stream cut off before its end (found by fuzz_dicom_pixel: 17 s on
     * a 6x4 near-lossless frame missing its last 4 bytes), so a frame must end with its EOI marker. */
    if (!ends_with_eoi(buf, len))
        return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: JPEG-LS data of %zu bytes is truncated (no end-of-image "
                           "marker)", p->name, frame, len);
    charls_jpegls_decoder *dec = charls_jpegls_decoder_create();
    if (!dec)
        return dolor_error(DOLOR_ENOMEM, "%s: CharLS init failed", p->name);
    charls_frame_info fi;
    charls_interleave_mode im = CHARLS_INTERLEAVE_MODE_NONE;
    charls_jpegls_errc rc = charls_jpegls_decoder_set_source_buffer(dec, buf, len);
    if (!rc)
        rc = charls_jpegls_decoder_read_header(dec);
    if (!rc)
        rc = charls_jpegls_decoder_get_frame_info(dec, &fi);
    if (!rc)
        rc = charls_jpegls_decoder_get_interleave_mode(dec, &im);
    if (rc) {
        charls_jpegls_decoder_destroy(dec);
        return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: bad JPEG-LS header (CharLS): %s", p->name, frame,
                           charls_get_error_message(rc));
    }
    if ((long)fi.width != p->cols || (long)fi.height != p->rows || fi.component_count != p->spp ||
        fi.bits_per_sample > p->ba || fi.bits_per_sample < 2) {
        charls_jpegls_decoder_destroy(dec);
        return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: JPEG-LS image is %ux%u x%d, %d bits; the data set says "
                           "%ldx%ld x%ld, %ld bits", p->name, frame, fi.width, fi.height, fi.component_count,
                           fi.bits_per_sample, p->cols, p->rows, p->spp, p->ba);
    }
    size_t bps = fi.bits_per_sample > 8 ? 2 : 1;
    size_t np = (size_t)p->rows * (size_t)p->cols, need = np * (size_t)p->spp * bps;
    uint8_t *tmp = malloc(need);
    if (!tmp) {
        charls_jpegls_decoder_destroy(dec);
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", p->name);
    }
    rc = charls_jpegls_decoder_decode_to_buffer(dec, tmp, need, 0);
    charls_jpegls_decoder_destroy(dec);
    if (rc) {
        free(tmp);
        return dolor_error(DOLOR_EFORMAT, "%s: frame %ld: corrupt JPEG-LS data (CharLS): %s", p->name, frame,
                           charls_get_error_message(rc));
    }
    for (size_t k = 0; k < np; k++)
        for (long c = 0; c < p->spp; c++) {
            size_t si = (p->spp > 1 && im == CHARLS_INTERLEAVE_MODE_NONE) ? (size_t)c * np + k
                                                                           : k * (size_t)p->spp + (size_t)c;
            int64_t v = bps == 1 ? tmp[si] : ((const uint16_t *)tmp)[si];
            put_sample(dst, p->dtype, (size_t)frame * p->frame_elems + k * (size_t)p->spp + (size_t)c, v);
        }
    free(tmp);
    return DOLOR_OK;
}

/* ---------------- main entry ---------------- */

static void ybr_to_rgb(uint8_t *a, size_t npix)
{
    /* pydicom 2.3 convert_color_space (YBR_FULL -> RGB), float32 arithmetic, floor(x + 0.5), clip */
    const float m10 = (float)(-0.114 * 1.772 / 0.587), m12 = 1.772f, m20 = 1.402f, m21 = (float)(-0.299 * 1.402 / 0.587);
    for (size_t i = 0; i < npix; i++) {
        float y = a[3 * i], cb = (float)a[3 * i + 1] - 128.0f, cr = (float)a[3 * i + 2] - 128.0f;
        float r = y + m20 * cr;
        float g = y + m10 * cb + m21 * cr;
        float b = y + m12 * cb;
        float v[3] = {r, g, b};
        for (int c = 0; c < 3; c++) {
            float x = floorf(v[c] + 0.5f);
            a[3 * i + c] = (uint8_t)(x < 0 ? 0 : x > 255 ? 255 : x);
        }
    }
}

/* number i of the first of several keys that exists and parses */
static int num_of(const dolor_dicom *d, const char *const *keys, int i, double *v)
{
    for (int k = 0; keys[k]; k++)
        if (dolor_dicom_get_number(d, keys[k], i, v) == DOLOR_OK && isfinite(*v))
            return 1;
    return 0;
}

/* Geometry (PS3.3 C.7.6.2 Image Plane; C.7.6.16 functional groups of enhanced objects; C.8.5.5 US regions). */
static void set_geometry(const dolor_dicom *d, dolor_image *img, long frames)
{
    static const char *const ps[] = {"PixelSpacing", "SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing",
                                     "PerFrameFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing",
                                     "ImagerPixelSpacing", NULL};
    static const char *const sbs[] = {"SpacingBetweenSlices",
                                      "SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].SpacingBetweenSlices",
                                      NULL};
    static const char *const st[] = {"SliceThickness",
                                     "SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].SliceThickness",
                                     "PerFrameFunctionalGroupsSequence[0].PixelMeasuresSequence[0].SliceThickness",
                                     NULL};
    static const char *const iop[] = {"ImageOrientationPatient",
                                      "SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0].ImageOrientationPatient",
                                      "PerFrameFunctionalGroupsSequence[0].PlaneOrientationSequence[0].ImageOrientationPatient",
                                      NULL};
    static const char *const ipp[] = {"ImagePositionPatient",
                                      "PerFrameFunctionalGroupsSequence[0].PlanePositionSequence[0].ImagePositionPatient",
                                      NULL};
    static const char *const ipp1[] = {"PerFrameFunctionalGroupsSequence[1].PlanePositionSequence[0].ImagePositionPatient",
                                       NULL};
    double v[6], w[3];
    if (num_of(d, ps, 0, &v[0]) && num_of(d, ps, 1, &v[1]) && v[0] > 0 && v[1] > 0) {
        img->spacing[1] = v[0]; /* row spacing: distance between rows = y */
        img->spacing[0] = v[1]; /* column spacing = x */
    } else if (!dolor_dicom_get_number(d, "SequenceOfUltrasoundRegions[0].PhysicalDeltaX", 0, &v[0]) &&
               !dolor_dicom_get_number(d, "SequenceOfUltrasoundRegions[0].PhysicalDeltaY", 0, &v[1]) &&
               fabs(v[0]) > 0 && fabs(v[1]) > 0 && isfinite(v[0]) && isfinite(v[1])) {
        img->spacing[0] = fabs(v[0]) * 10.0; /* cm -> mm (PhysicalUnits 3 = cm) */
        img->spacing[1] = fabs(v[1]) * 10.0;
    } else {
        img->spacing_unknown = 1;
    }
    if (num_of(d, sbs, 0, &v[0]) && v[0] > 0)
        img->spacing[2] = v[0];
    else if (num_of(d, st, 0, &v[0]) && v[0] > 0)
        img->spacing[2] = v[0];
    int ok = 1;
    for (int i = 0; i < 3 && ok; i++)
        ok = num_of(d, ipp, i, &v[i]);
    if (ok)
        memcpy(img->origin, v, sizeof(double) * 3);
    int have_pos = ok;
    ok = 1;
    for (int i = 0; i < 6 && ok; i++)
        ok = num_of(d, iop, i, &v[i]);
    if (ok) {
        double *r = v, *c = v + 3;
        double nr = sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]), nc = sqrt(c[0] * c[0] + c[1] * c[1] + c[2] * c[2]);
        if (nr > 1e-6 && nc > 1e-6) {
            double n[3] = {r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0]};
            double nn = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
            if (nn > 1e-6) {
                for (int i = 0; i < 3; i++) {
                    img->direction[3 * i + 0] = r[i] / nr;
                    img->direction[3 * i + 1] = c[i] / nc;
                    img->direction[3 * i + 2] = n[i] / nn;
                }
                /* enhanced multi-frame: z spacing from the first two frame positions along the normal */
                ok = have_pos && frames > 1;
                for (int i = 0; i < 3 && ok; i++)
                    ok = num_of(d, ipp1, i, &w[i]);
                if (ok) {
                    double dz = ((w[0] - img->origin[0]) * n[0] + (w[1] - img->origin[1]) * n[1] +
                                 (w[2] - img->origin[2]) * n[2]) / nn;
                    if (dz > 1e-6)
                        img->spacing[2] = dz;
                }
            }
        }
    }
    dolor_error_clear();
}

static dolor_status read_attrs(const dolor_dicom *d, pix *p)
{
    memset(p, 0, sizeof *p);
    p->d = d;
    p->name = d->name;
    p->rows = dcm_int(d, 0x00280010u, -1);
    p->cols = dcm_int(d, 0x00280011u, -1);
    p->spp = dcm_int(d, 0x00280002u, 1);
    p->ba = dcm_int(d, 0x00280100u, -1);
    p->bs = dcm_int(d, 0x00280101u, p->ba);
    p->hb = dcm_int(d, 0x00280102u, p->bs - 1);
    p->pr = dcm_int(d, 0x00280103u, 0);
    p->frames = dcm_int(d, 0x00280008u, 1);
    const dcm_elem *nfe = dcm_find(&d->ds, 0x00280008u);
    double nfv;
    if (nfe && dcm_elem_number(d, nfe, 0, &nfv) < 0) {
        char tmp[64];
        dcm_elem_string(d, nfe, tmp, sizeof tmp);
        return dolor_error(DOLOR_EFORMAT, "%s: NumberOfFrames (0028,0008) is '%s', not a number", d->name, tmp);
    }
    p->planar = dcm_int(d, 0x00280006u, 0);
    const dcm_elem *pe = dcm_find(&d->ds, 0x00280004u);
    if (pe)
        dcm_elem_string(d, pe, p->pi, sizeof p->pi);
    if (!p->pi[0])
        strcpy(p->pi, p->spp == 3 ? "RGB" : "MONOCHROME2");
    if (p->frames < 1)
        p->frames = 1; /* pydicom: NumberOfFrames 0 or empty means 1 */
    if (!dcm_find(&d->ds, 0x00280010u) || !dcm_find(&d->ds, 0x00280011u))
        return dolor_error(DOLOR_EFORMAT, "%s: Pixel Data without Rows (0028,0010) or Columns (0028,0011)", p->name);
    if (!dcm_find(&d->ds, 0x00280100u))
        return dolor_error(DOLOR_EFORMAT, "%s: Pixel Data without BitsAllocated (0028,0100)", p->name);
    if (p->rows < 1 || p->cols < 1 || p->rows > 65535 || p->cols > 65535)
        return dolor_error(DOLOR_EFORMAT, "%s: Rows/Columns (0028,0010/0011) are %ld/%ld", p->name, p->rows, p->cols);
    if (p->spp != 1 && p->spp != 3)
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: SamplesPerPixel (0028,0002) is %ld (1 or 3 supported)", p->name,
                           p->spp);
    if (p->ba != 1 && p->ba != 8 && p->ba != 16 && p->ba != 32)
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: BitsAllocated (0028,0100) is %ld (1, 8, 16, 32 supported)",
                           p->name, p->ba);
    if (p->bs < 1 || p->bs > p->ba)
        return dolor_error(DOLOR_EFORMAT, "%s: BitsStored (0028,0101) is %ld with BitsAllocated %ld", p->name, p->bs,
                           p->ba);
    if (p->pr != 0 && p->pr != 1)
        return dolor_error(DOLOR_EFORMAT, "%s: PixelRepresentation (0028,0103) is %ld", p->name, p->pr);
    if (p->frames > 1000000)
        return dolor_error(DOLOR_EFORMAT, "%s: NumberOfFrames (0028,0008) is %ld", p->name, p->frames);
    static const char *pis[] = {"MONOCHROME1", "MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422", "PALETTE COLOR",
                                "YBR_ICT", "YBR_RCT"};
    int known = 0;
    for (size_t i = 0; i < sizeof pis / sizeof *pis; i++)
        known |= !strcmp(p->pi, pis[i]);
    if (!known)
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: PhotometricInterpretation (0028,0004) '%s' is not supported",
                           p->name, p->pi);
    if ((p->spp == 3) != (!strcmp(p->pi, "RGB") || !strncmp(p->pi, "YBR", 3)))
        return dolor_error(DOLOR_EFORMAT, "%s: PhotometricInterpretation '%s' with SamplesPerPixel %ld", p->name,
                           p->pi, p->spp);
    switch (p->ba) {
    case 1: p->dtype = DOLOR_U8; break;
    case 8: p->dtype = p->pr ? DOLOR_I8 : DOLOR_U8; break;
    case 16: p->dtype = p->pr ? DOLOR_I16 : DOLOR_U16; break;
    default: p->dtype = p->pr ? DOLOR_I32 : DOLOR_U32; break;
    }
    p->esize = dolor_dtype_size(p->dtype);
    p->frame_elems = (size_t)p->rows * (size_t)p->cols * (size_t)p->spp;
    if (p->frame_elems * (size_t)p->frames * p->esize > MAX_PIXEL_BYTES)
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: %ld x %ld x %ld frames x %ld samples exceeds the %zu-byte limit",
                           p->name, p->cols, p->rows, p->frames, p->spp, MAX_PIXEL_BYTES);
    return DOLOR_OK;
}

dolor_status dolor_dicom_read_image(const dolor_dicom *d, dolor_image **out)
{
    *out = NULL;
    if (!d)
        return dolor_error(DOLOR_EINVAL, "dolor_dicom_read_image: NULL handle");
    const dcm_elem *e = dcm_find(&d->ds, 0x7FE00010u);
    if (!e) {
        if (dcm_find(&d->ds, 0x7FE00008u) || dcm_find(&d->ds, 0x7FE00009u))
            return dolor_error(DOLOR_EUNSUPPORTED, "%s: Float/Double Float Pixel Data is not supported", d->name);
        char sop[80] = "";
        const dcm_elem *se = dcm_find(&d->ds, 0x00080016u);
        if (!se)
            se = dcm_find(&d->meta, 0x00020002u);
        if (se)
            dcm_elem_string(d, se, sop, sizeof sop);
        return dolor_error(DOLOR_ENOTFOUND, "%s: no Pixel Data (7FE0,0010): not an image (SOP class %s)", d->name,
                           sop[0] ? sop : "unknown");
    }
    pix p;
    dolor_status s = read_attrs(d, &p);
    if (s)
        return s;
    int native = e->nfrag == 0;
    int rle = is_ts(d, "1.2.840.10008.1.2.5");
    int jpeg = is_ts(d, "1.2.840.10008.1.2.4.50") || is_ts(d, "1.2.840.10008.1.2.4.51") ||
               is_ts(d, "1.2.840.10008.1.2.4.57") || is_ts(d, "1.2.840.10008.1.2.4.70");
    int j2k = is_ts(d, "1.2.840.10008.1.2.4.90") || is_ts(d, "1.2.840.10008.1.2.4.91");
    int jls = is_ts(d, "1.2.840.10008.1.2.4.80") || is_ts(d, "1.2.840.10008.1.2.4.81");
    int plain = is_ts(d, "1.2.840.10008.1.2") || is_ts(d, "1.2.840.10008.1.2.1") || is_ts(d, "1.2.840.10008.1.2.2") ||
                is_ts(d, "1.2.840.10008.1.2.1.99");
    if (native && !plain)
        return dolor_error(DOLOR_EFORMAT, "%s: transfer syntax %s (%s) needs encapsulated Pixel Data but it is native",
                           d->name, d->ts, dolor_dicom_ts_name(d->ts));
    if (!native && !(rle || jpeg || j2k || jls))
        return unsupported_ts(&p);
    if (native && e->len == DCM_UNDEFINED)
        return dolor_error(DOLOR_EFORMAT, "%s: Pixel Data has undefined length", d->name);
    if (!native && p.ba == 1)
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: encapsulated 1-bit pixel data", d->name);
    /* refuse before allocating what the data cannot hold (decompression bombs, truncated files) */
    size_t out_bytes = p.frame_elems * (size_t)p.frames * p.esize;
    if (native && p.ba > 1 && !(!strcmp(p.pi, "YBR_FULL_422") && p.spp == 3 && p.ba == 8) && e->len < out_bytes)
        return dolor_error(DOLOR_EFORMAT, "%s: Pixel Data (7FE0,0010) has %u bytes, %zu needed for %ld x %ld x %ld "
                           "frames x %ld samples of %ld bits", d->name, e->len, out_bytes, p.cols, p.rows, p.frames,
                           p.spp, p.ba);
    if (!native && (rle || jpeg)) {
        size_t enc = 0;
        for (int j = 1; j < e->nfrag; j++)
            enc += e->frag_len[j];
        size_t ratio = rle ? 65 : 1024; /* PackBits expands at most 64:1; 8-bit JPEG well under 1024:1 */
        if (out_bytes / ratio > enc)
            return dolor_error(DOLOR_EFORMAT, "%s: %zu bytes of %s data cannot hold %ld x %ld x %ld frames x %ld "
                               "samples (%zu bytes)", d->name, enc, dolor_dicom_ts_name(d->ts), p.cols, p.rows,
                               p.frames, p.spp, out_bytes);
    }
    int64_t size[3] = {p.cols, p.rows, p.frames};
    dolor_image *img = NULL;
    s = dolor_image_create(&img, p.dtype, (int)p.spp, p.frames > 1 ? 3 : 2, size);
    if (s)
        return s;
    if (native) {
        s = decode_native(&p, e, img->data);
    } else {
        int *first = malloc(sizeof(int) * (size_t)p.frames), *last = malloc(sizeof(int) * (size_t)p.frames);
        if (!first || !last)
            s = dolor_error(DOLOR_ENOMEM, "%s: out of memory", d->name);
        else
            s = frame_ranges(&p, e, first, last);
        for (long f = 0; !s && f < p.frames; f++) {
            frame_buf fb = {NULL, 0, 0};
            s = get_frame(&p, e, first[f], last[f], &fb);
            if (s)
                break;
            if (rle)
                s = decode_rle(&p, fb.data, fb.len, img->data, f);
            else if (jpeg)
                s = decode_jpeg(&p, fb.data, fb.len, img->data, f);
            else if (j2k)
                s = decode_j2k(&p, fb.data, fb.len, img->data, f);
            else
                s = decode_jls(&p, fb.data, fb.len, img->data, f);
            if (fb.owned)
                free(fb.data);
        }
        free(first);
        free(last);
    }
    if (s) {
        dolor_image_free(img);
        return s;
    }
    /* BitsStored: clear bits above HighBit, sign-extend signed values (PS3.5 8.1.1) */
    size_t nel = dolor_image_nvox(img) * (size_t)p.spp;
    if (p.ba > 1 && p.bs < p.ba) {
        uint64_t mask = ((uint64_t)1 << p.bs) - 1, sign = (uint64_t)1 << (p.bs - 1);
        for (size_t i = 0; i < nel; i++) {
            uint64_t u = (uint64_t)get_sample(img->data, p.dtype, i) & mask;
            int64_t v = (p.pr && (u & sign)) ? (int64_t)(u | ~mask) : (int64_t)u;
            put_sample(img->data, p.dtype, i, v);
        }
    }
    if (p.spp == 3 && !p.converted_rgb && (!strcmp(p.pi, "YBR_FULL") || !strcmp(p.pi, "YBR_FULL_422"))) {
        if (p.ba != 8) {
            dolor_image_free(img);
            return dolor_error(DOLOR_EUNSUPPORTED, "%s: %s with %ld bits", d->name, p.pi, p.ba);
        }
        ybr_to_rgb(img->data, dolor_image_nvox(img));
    }
    set_geometry(d, img, p.frames);
    *out = img;
    return DOLOR_OK;
}

dolor_status dolor_dicom_rescale(const dolor_dicom *d, const dolor_image *raw, dolor_image **out)
{
    *out = NULL;
    if (!d || !raw)
        return dolor_error(DOLOR_EINVAL, "dolor_dicom_rescale: NULL argument");
    if (raw->ncomp != 1)
        return dolor_error(DOLOR_EINVAL, "%s: rescale needs a single-component image (has %d)", d->name, raw->ncomp);
    double slope = 1, icpt = 0;
    dolor_status s;
    if (dolor_dicom_has(d, "RescaleSlope") && dolor_dicom_vm(d, "RescaleSlope") > 0 &&
        (s = dolor_dicom_get_number(d, "RescaleSlope", 0, &slope)))
        return s;
    if (dolor_dicom_has(d, "RescaleIntercept") && dolor_dicom_vm(d, "RescaleIntercept") > 0 &&
        (s = dolor_dicom_get_number(d, "RescaleIntercept", 0, &icpt)))
        return s;
    dolor_error_clear();
    dolor_image *f = NULL;
    s = dolor_image_create(&f, DOLOR_F32, 1, raw->ndim, raw->size);
    if (s)
        return s;
    dolor_image_copy_geometry(f, raw);
    size_t n = dolor_image_nvox(raw);
    float *o = f->data;
    for (size_t i = 0; i < n; i++)
        o[i] = (float)(dolor_image_get(raw, i) * slope + icpt);
    *out = f;
    return DOLOR_OK;
}
