/* PNG reading and writing with libpng (1.6), errors caught with setjmp/longjmp.
 *
 * libpng reports fatal errors by calling our error function, which copies the
 * message into the per-call context and longjmps back to the setjmp point in
 * the reader/writer; there everything allocated so far is released and a
 * dolor_error naming the file and libpng's message is returned. Variables
 * changed between setjmp and a possible longjmp are volatile. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/io.h"

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct png_ctx {
    jmp_buf jb;
    char msg[256];
    char warn[128];       /* libpng's last warning: says why an IHDR error follows */
    FILE *fp;             /* reading from a file, or (fp NULL) from mem[0..mem_len) */
    const uint8_t *mem;
    size_t mem_len, mem_pos;
    const char *path;
} png_ctx;

static void ctx_error(png_structp png, png_const_charp msg)
{
    png_ctx *c = png_get_error_ptr(png);
    /* "Invalid IHDR data" alone does not say what is wrong; the warning before it does */
    int why = msg && c->warn[0] && strstr(msg, "IHDR");
    snprintf(c->msg, sizeof c->msg, "%s%s%s%s", msg ? msg : "unknown libpng error", why ? " (" : "", why ? c->warn : "",
             why ? ")" : "");
    longjmp(c->jb, 1);
}

static void ctx_warning(png_structp png, png_const_charp msg)
{
    /* benign on their own (e.g. unknown ancillary chunk, iCCP profile): kept only for a fatal error's message */
    png_ctx *c = png_get_error_ptr(png);
    snprintf(c->warn, sizeof c->warn, "%s", msg ? msg : "");
}

/* Read callback: a short read means the file was cut off. */
static void ctx_read(png_structp png, png_bytep data, size_t len)
{
    png_ctx *c = png_get_io_ptr(png);
    if (!c->fp) {
        if (len > c->mem_len - c->mem_pos)
            png_error(png, "data ends early (truncated)");
        memcpy(data, c->mem + c->mem_pos, len);
        c->mem_pos += len;
        return;
    }
    size_t got = fread(data, 1, len, c->fp);
    if (got != len)
        png_error(png, ferror(c->fp) ? "read error" : "file ends early (truncated)");
}

static int host_little_endian(void)
{
    uint16_t x = 1;
    return *(uint8_t *)&x == 1;
}

/* Largest width or height accepted (guards memory against hostile headers). */
#define PNG_MAX_EXTENT 65536u
/* Largest decoded size accepted (bytes of samples). */
#define PNG_MAX_BYTES 4e9

/* Decode from the file or memory in *cx (positioned at the start); the caller closes the file. */
static dolor_status read_png(png_ctx *cx, dolor_image **out)
{
    *out = NULL;
    png_ctx ctx = *cx;
    const char *path = ctx.path;
    unsigned char sig[8];
    size_t nsig = 0;
    if (ctx.fp) {
        nsig = fread(sig, 1, 8, ctx.fp);
    } else if (ctx.mem_len >= 8) {
        memcpy(sig, ctx.mem, 8);
        nsig = 8;
        ctx.mem_pos = 8;
    }
    if (nsig != 8 || png_sig_cmp(sig, 0, 8) != 0)
        return dolor_error(DOLOR_EFORMAT, "%s: not a PNG file (bad signature)", path);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, ctx_error, ctx_warning);
    if (!png) {
        return dolor_error(DOLOR_ENOMEM, "%s: cannot create PNG reader", path);
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return dolor_error(DOLOR_ENOMEM, "%s: cannot create PNG reader", path);
    }
    dolor_image *volatile img = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(ctx.jb)) {
        free(rows);
        dolor_image_free(img);
        png_destroy_read_struct(&png, &info, NULL);
        return dolor_error(DOLOR_EFORMAT, "%s: corrupt or truncated PNG: %s", path, ctx.msg);
    }
    png_set_read_fn(png, &ctx, ctx_read);
    png_set_sig_bytes(png, 8);
    png_set_user_limits(png, PNG_MAX_EXTENT, PNG_MAX_EXTENT);
    png_read_info(png, info);

    png_uint_32 w = 0, h = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &w, &h, &bit_depth, &color_type, &interlace, NULL, NULL);

    int ncomp;
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: ncomp = 1; break;
    case PNG_COLOR_TYPE_PALETTE: ncomp = 1; break; /* indices, never expanded to colours */
    case PNG_COLOR_TYPE_GRAY_ALPHA: ncomp = 2; break;
    case PNG_COLOR_TYPE_RGB: ncomp = 3; break;
    case PNG_COLOR_TYPE_RGB_ALPHA: ncomp = 4; break;
    default: png_error(png, "unknown colour type"); return DOLOR_EFORMAT; /* not reached */
    }
    if (bit_depth < 8)
        png_set_packing(png); /* one byte per sample, values as stored (0..2^bits-1) */
    if (bit_depth == 16 && host_little_endian())
        png_set_swap(png); /* PNG stores big-endian */
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    dolor_dtype dt = bit_depth == 16 ? DOLOR_U16 : DOLOR_U8;
    size_t rowbytes = png_get_rowbytes(png, info);
    size_t want = (size_t)w * (size_t)ncomp * dolor_dtype_size(dt);
    if (rowbytes != want) {
        snprintf(ctx.msg, sizeof ctx.msg, "unexpected row size %zu (expected %zu)", rowbytes, want);
        longjmp(ctx.jb, 1);
    }
    if ((double)rowbytes * (double)h > PNG_MAX_BYTES) {
        png_destroy_read_struct(&png, &info, NULL);
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: %ux%u PNG needs %.1f GB (limit %.0f GB)", path, (unsigned)w,
                           (unsigned)h, (double)rowbytes * h / 1e9, PNG_MAX_BYTES / 1e9);
    }
    /* deflate expands at most 1032:1, so a header whose rows cannot fit in the file is a truncated or
     * hostile file: refuse it before allocating and zeroing the image (a 2 kB file claiming 20000x20000) */
    {
        double fsize = (double)ctx.mem_len;
        struct stat st;
        if (ctx.fp)
            fsize = fstat(fileno(ctx.fp), &st) == 0 && S_ISREG(st.st_mode) ? (double)st.st_size : INFINITY;
        if ((double)rowbytes * (double)h > fsize * 1032.0 + 65536.0) {
            png_destroy_read_struct(&png, &info, NULL);
            return dolor_error(DOLOR_EFORMAT, "%s: truncated: header says %ux%u (%.1f MB of samples) but the file "
                               "has only %.0f bytes", path, (unsigned)w, (unsigned)h, (double)rowbytes * h / 1e6,
                               fsize);
        }
    }
    dolor_image *im = NULL;
    if (dolor_image_create2d(&im, dt, ncomp, (int64_t)w, (int64_t)h) != DOLOR_OK) {
        png_destroy_read_struct(&png, &info, NULL);
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory for a %ux%u PNG", path, (unsigned)w, (unsigned)h);
    }
    img = im;
    rows = malloc((size_t)h * sizeof *rows);
    if (!rows) {
        dolor_image_free(im);
        png_destroy_read_struct(&png, &info, NULL);
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
    }
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = (png_bytep)im->data + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL); /* checks the CRCs of the chunks after the image data */

    png_uint_32 rx = 0, ry = 0;
    int unit = 0;
    if (png_get_pHYs(png, info, &rx, &ry, &unit) && unit == PNG_RESOLUTION_METER && rx > 0 && ry > 0) {
        im->spacing[0] = 1000.0 / (double)rx;
        im->spacing[1] = 1000.0 / (double)ry;
    } else {
        im->spacing_unknown = 1;
    }
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    *out = im;
    return DOLOR_OK;
}

dolor_status dolor_png_read(const char *path, dolor_image **out)
{
    *out = NULL;
    png_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.path = path;
    ctx.fp = fopen(path, "rb");
    if (!ctx.fp)
        return dolor_error(DOLOR_EIO, "%s: cannot open", path);
    dolor_status s = read_png(&ctx, out);
    fclose(ctx.fp);
    return s;
}

dolor_status dolor_png_decode(const uint8_t *buf, size_t len, const char *name, dolor_image **out)
{
    *out = NULL;
    png_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.path = name ? name : "PNG data";
    ctx.mem = buf;
    ctx.mem_len = buf ? len : 0;
    return read_png(&ctx, out);
}

/* Common checks for a 2D image (ndim 2, or 3/4 with singleton extents). */
static dolor_status check_2d(const char *path, const dolor_image *img)
{
    if (!img || !img->data)
        return dolor_error(DOLOR_EINVAL, "%s: no image to write", path);
    for (int i = 2; i < img->ndim; i++)
        if (img->size[i] != 1)
            return dolor_error(DOLOR_EINVAL, "%s: PNG holds 2D images only, but size[%d] is %lld", path, i,
                               (long long)img->size[i]);
    if (img->size[0] > PNG_MAX_EXTENT || img->size[1] > PNG_MAX_EXTENT)
        return dolor_error(DOLOR_EINVAL, "%s: image %lldx%lld is too large for PNG (max %u)", path,
                           (long long)img->size[0], (long long)img->size[1], PNG_MAX_EXTENT);
    return DOLOR_OK;
}

/* Writes rows (already in PNG sample layout, host byte order) to path atomically. */
static dolor_status write_png(const char *path, const dolor_image *img, int color_type, int bit_depth,
                              const png_color *palette, int npal, const uint8_t *data8)
{
    png_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.path = path;
    dolor_outfile f;
    dolor_status s = dolor_outfile_open(&f, path, 1);
    if (s)
        return s;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, ctx_error, ctx_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        dolor_outfile_abort(&f);
        return dolor_error(DOLOR_ENOMEM, "%s: cannot create PNG writer", path);
    }
    uint32_t w = (uint32_t)img->size[0], h = (uint32_t)img->size[1];
    png_bytep *volatile rows = malloc((size_t)h * sizeof(png_bytep));
    if (!rows) {
        png_destroy_write_struct(&png, &info);
        dolor_outfile_abort(&f);
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
    }
    if (setjmp(ctx.jb)) {
        free(rows);
        png_destroy_write_struct(&png, &info);
        dolor_outfile_abort(&f);
        return dolor_error(DOLOR_EIO, "%s: cannot write PNG: %s", path, ctx.msg);
    }
    png_init_io(png, f.fp);
    png_set_IHDR(png, info, w, h, bit_depth, color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (palette)
        png_set_PLTE(png, info, palette, npal);
    /* Physical size: pHYs in pixels per metre, only when the spacing is not the 1 mm default. */
    double sx = img->spacing[0], sy = img->spacing[1];
    if (!img->spacing_unknown && (sx != 1.0 || sy != 1.0) && sx > 0 && sy > 0 && isfinite(sx) && isfinite(sy)) {
        double rx = nearbyint(1000.0 / sx), ry = nearbyint(1000.0 / sy);
        if (rx >= 1 && ry >= 1 && rx < 2147483647.0 && ry < 2147483647.0)
            png_set_pHYs(png, info, (png_uint_32)rx, (png_uint_32)ry, PNG_RESOLUTION_METER);
    }
    png_write_info(png, info);
    if (bit_depth == 16 && host_little_endian())
        png_set_swap(png);
    size_t rowbytes = (size_t)w * (size_t)img->ncomp * (bit_depth == 16 ? 2 : 1);
    const uint8_t *base = data8 ? data8 : (const uint8_t *)img->data;
    for (uint32_t y = 0; y < h; y++)
        rows[y] = (png_bytep)(base + (size_t)y * rowbytes);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    free(rows);
    png_destroy_write_struct(&png, &info);
    if (fflush(f.fp) != 0 || ferror(f.fp)) {
        dolor_outfile_abort(&f);
        return dolor_error(DOLOR_EIO, "%s: write failed", path);
    }
    return dolor_outfile_commit(&f);
}

dolor_status dolor_png_write(const char *path, const dolor_image *img)
{
    dolor_status s = check_2d(path, img);
    if (s)
        return s;
    if (img->dtype != DOLOR_U8 && img->dtype != DOLOR_U16)
        return dolor_error(DOLOR_EINVAL, "%s: PNG stores uint8 or uint16 samples, not %s (convert first)", path,
                           dolor_dtype_name(img->dtype));
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                 PNG_COLOR_TYPE_RGB_ALPHA};
    if (img->ncomp < 1 || img->ncomp > 4)
        return dolor_error(DOLOR_EINVAL, "%s: %d components per pixel (PNG holds 1..4)", path, img->ncomp);
    return write_png(path, img, types[img->ncomp], img->dtype == DOLOR_U16 ? 16 : 8, NULL, 0, NULL);
}

dolor_status dolor_png_write_labels(const char *path, const dolor_image *labels, const uint8_t *palette, int ncolors)
{
    dolor_status s = check_2d(path, labels);
    if (s)
        return s;
    if (labels->ncomp != 1)
        return dolor_error(DOLOR_EINVAL, "%s: a label map has 1 component per pixel, not %d", path, labels->ncomp);
    if (palette && (ncolors < 1 || ncolors > 256))
        return dolor_error(DOLOR_EINVAL, "%s: palette has %d colours (must be 1..256)", path, ncolors);
    size_t n = (size_t)labels->size[0] * (size_t)labels->size[1];
    uint8_t *conv = NULL;
    const uint8_t *d = labels->data;
    if (labels->dtype != DOLOR_U8) {
        if (labels->dtype == DOLOR_F32 || labels->dtype == DOLOR_F64)
            return dolor_error(DOLOR_EINVAL, "%s: label map must have an integer type, not %s", path,
                               dolor_dtype_name(labels->dtype));
        conv = malloc(n ? n : 1);
        if (!conv)
            return dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
        for (size_t i = 0; i < n; i++) {
            double v = dolor_image_get(labels, i);
            if (v < 0 || v > 255) {
                free(conv);
                return dolor_error(DOLOR_EINVAL, "%s: label value %.0f at pixel %zu does not fit a palette PNG (0..255)",
                                   path, v, i);
            }
            conv[i] = (uint8_t)v;
        }
        d = conv;
    }
    int maxv = 0;
    for (size_t i = 0; i < n; i++)
        if (d[i] > maxv)
            maxv = d[i];
    int npal = maxv + 1;
    if (palette && ncolors > npal)
        npal = ncolors;
    png_color pal[256];
    for (int v = 0; v < npal; v++) {
        if (palette && v < ncolors) {
            pal[v].red = palette[3 * v];
            pal[v].green = palette[3 * v + 1];
            pal[v].blue = palette[3 * v + 2];
        } else {
            uint8_t rgb[3];
            dolor_label_colour(v, rgb);
            pal[v].red = rgb[0];
            pal[v].green = rgb[1];
            pal[v].blue = rgb[2];
        }
    }
    dolor_image hdr = *labels;
    hdr.ncomp = 1;
    s = write_png(path, &hdr, PNG_COLOR_TYPE_PALETTE, 8, pal, npal, d);
    free(conv);
    return s;
}
