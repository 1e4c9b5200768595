/* JPEG decoding with libjpeg-turbo; fatal errors caught with setjmp/longjmp.
 *
 * libjpeg's default error_exit() calls exit(); ours formats the message and
 * longjmps back to the decoder, which releases everything and returns
 * DOLOR_EFORMAT naming the file. The "Premature end of JPEG file" warning
 * (libjpeg pads a truncated file with grey and carries on) is an error here
 * too: a truncated file must not silently give a half-grey image. */
#include "dolor/io.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct jpeg_ctx {
    struct jpeg_error_mgr pub; /* first member: libjpeg casts cinfo->err to this */
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
    int truncated;
} jpeg_ctx;

static void ctx_error_exit(j_common_ptr cinfo)
{
    jpeg_ctx *c = (jpeg_ctx *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, c->msg);
    longjmp(c->jb, 1);
}

static void ctx_emit_message(j_common_ptr cinfo, int level)
{
    jpeg_ctx *c = (jpeg_ctx *)cinfo->err;
    if (level < 0) {
        cinfo->err->num_warnings++;
        if (cinfo->err->msg_code == JWRN_JPEG_EOF)
            c->truncated = 1;
    }
}

static void ctx_output_message(j_common_ptr cinfo) { (void)cinfo; }

/* Decode from a stdio stream (fp != NULL) or from memory. */
static dolor_status decode(FILE *fp, const uint8_t *buf, size_t len, const char *name, dolor_image **out)
{
    *out = NULL;
    struct jpeg_decompress_struct cinfo;
    jpeg_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    cinfo.err = jpeg_std_error(&ctx.pub);
    ctx.pub.error_exit = ctx_error_exit;
    ctx.pub.emit_message = ctx_emit_message;
    ctx.pub.output_message = ctx_output_message;
    dolor_image *volatile img = NULL;
    if (setjmp(ctx.jb)) {
        int code = ctx.pub.msg_code;
        jpeg_destroy_decompress(&cinfo);
        dolor_image_free(img);
        /* valid JPEG that this libjpeg build cannot decode (12-bit, lossless, arithmetic, hierarchical) */
        if (code == JERR_BAD_PRECISION || code == JERR_SOF_UNSUPPORTED || code == JERR_NOT_COMPILED ||
            code == JERR_ARITH_NOTIMPL)
            return dolor_error(DOLOR_EUNSUPPORTED, "%s: JPEG not supported: %s", name, ctx.msg);
        return dolor_error(DOLOR_EFORMAT, "%s: corrupt or truncated JPEG: %s", name, ctx.msg);
    }
    jpeg_create_decompress(&cinfo);
    if (fp)
        jpeg_stdio_src(&cinfo, fp);
    else
        jpeg_mem_src(&cinfo, buf, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    int ncomp;
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo.out_color_space = JCS_GRAYSCALE;
        ncomp = 1;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo.out_color_space = JCS_RGB;
        ncomp = 3;
        break;
    default: {
        int cs = (int)cinfo.jpeg_color_space;
        jpeg_destroy_decompress(&cinfo);
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: JPEG colour space %s is not supported (grey and RGB/YCbCr are)",
                           name, cs == JCS_CMYK ? "CMYK" : cs == JCS_YCCK ? "YCCK" : "unknown");
    }
    }
    /* A few bytes can declare a huge image (found by fuzz_jpeg: 124 bytes declaring 17408x64267 pixels, a marker in
     * the entropy data, and libjpeg filling 1.1 GB with the missing blocks for over a minute). Even a flat image
     * needs about 2 bits per 8x8 block and component, so more than 1024 samples per byte of file is not a JPEG. */
    size_t have = len;
    struct stat st;
    if (fp)
        have = fstat(fileno(fp), &st) == 0 && st.st_size > 0 ? (size_t)st.st_size : 0;
    double samples = (double)cinfo.image_width * (double)cinfo.image_height * (double)ncomp;
    if (samples > 1024.0 * (double)have) {
        unsigned w = cinfo.image_width, h = cinfo.image_height;
        jpeg_destroy_decompress(&cinfo);
        return dolor_error(DOLOR_EFORMAT, "%s: corrupt JPEG: header declares %ux%u pixels but the data is only %zu "
                           "bytes", name, w, h, have);
    }
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != ncomp) {
        snprintf(ctx.msg, sizeof ctx.msg, "decoder gives %d components, expected %d", cinfo.output_components, ncomp);
        longjmp(ctx.jb, 1);
    }
    dolor_image *im = NULL;
    if (dolor_image_create2d(&im, DOLOR_U8, ncomp, cinfo.output_width, cinfo.output_height) != DOLOR_OK) {
        jpeg_destroy_decompress(&cinfo);
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory for a %ux%u JPEG", name, cinfo.output_width,
                           cinfo.output_height);
    }
    img = im;
    size_t stride = (size_t)cinfo.output_width * (size_t)ncomp;
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = (JSAMPROW)((uint8_t *)im->data + (size_t)cinfo.output_scanline * stride);
        jpeg_read_scanlines(&cinfo, &row, 1);
        if (ctx.truncated)
            break;
    }
    if (ctx.truncated) {
        unsigned got = cinfo.output_scanline, total = cinfo.output_height;
        jpeg_destroy_decompress(&cinfo);
        dolor_image_free(im);
        return dolor_error(DOLOR_EFORMAT, "%s: truncated JPEG: data ends near row %u of %u", name, got, total);
    }
    /* JFIF density in dots per cm gives the pixel spacing; dots per inch is usually a screen setting: ignored. */
    if (cinfo.saw_JFIF_marker && cinfo.density_unit == 2 && cinfo.X_density > 0 && cinfo.Y_density > 0) {
        im->spacing[0] = 10.0 / cinfo.X_density;
        im->spacing[1] = 10.0 / cinfo.Y_density;
    } else {
        im->spacing_unknown = 1;
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    *out = im;
    return DOLOR_OK;
}

dolor_status dolor_jpeg_read(const char *path, dolor_image **out)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return dolor_error(DOLOR_EIO, "%s: cannot open", path);
    dolor_status s = decode(fp, NULL, 0, path, out);
    fclose(fp);
    return s;
}

dolor_status dolor_jpeg_decode(const uint8_t *buf, size_t len, const char *name, dolor_image **out)
{
    *out = NULL;
    if (!name)
        name = "JPEG data";
    if (!buf || len < 4)
        return dolor_error(DOLOR_EFORMAT, "%s: JPEG data of %zu bytes is too short", name, len);
    return decode(NULL, buf, len, name, out);
}
