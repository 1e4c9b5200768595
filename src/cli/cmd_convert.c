/* dolor convert: between DICOM, NIfTI, MetaImage and PNG, keeping geometry. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <unistd.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "opts.h"
#include "dolor/io.h"

static const dolor_opt_spec specs[] = {
    {"slices", 0, OPT_FLAG, "write PNG slices into the folder OUT (created if needed)"},
    {"prefix", 0, OPT_STR, "file-name prefix of the slices", .metavar = "NAME", .def = "slice"},
    {"window", 0, OPT_STR, "auto | full (min..max) | LO,HI (e.g. -160,240 for a CT soft-tissue window)",
     .metavar = "W", .def = "auto"},
    {"dtype", 0, OPT_STR, "convert voxels first: uint8, int8, uint16, int16, uint32, int32, uint64, int64, "
     "float32, float64 (rounded and clamped)", .metavar = "TYPE"},
    {"no-compress", 0, OPT_FLAG, "write MetaImage data uncompressed"},
    {"quiet", 'q', OPT_FLAG, "print nothing on success"},
};

static const dolor_cmd_desc convert_cmd = {
    .name = "convert",
    .usage = "[options] IN OUT",
    .summary = "Convert an image, keeping its geometry (spacing, origin, direction in LPS).\n"
               "IN:  .nii/.nii.gz/.hdr (NIfTI-1/2), .mha/.mhd (MetaImage), .png, .jpg, and DICOM\n"
               "     (a file or a folder holding one series) where this build reads DICOM.\n"
               "OUT: .nii, .nii.gz (NIfTI-1; qform and sform from the geometry), .mha, .mhd (MetaImage,\n"
               "     zlib-compressed unless --no-compress), .png (2D images), or a folder of PNG slices:\n"
               "     an OUT ending in '/' (or any OUT with --slices) gets one PNG per slice along z,\n"
               "     named PREFIX_0000.png, PREFIX_0001.png, ... (4D: PREFIX_t000_z0000.png, ...).\n"
               "\n"
               "PNG output is 8-bit unless the image already is uint8 (or uint16 for a single 2D PNG),\n"
               "which is written unchanged. Otherwise intensities are windowed to 0..255:\n"
               "  v8 = round(255 * (v - LO) / (HI - LO)), clamped to 0..255,\n"
               "with LO, HI from --window (default 'auto': the 0.5th and 99.5th percentiles of all\n"
               "voxels of the volume, type-7 quantiles, so every slice uses the same window).\n"
               "RGB/RGBA uint8 images stay colour PNGs. PNG keeps only the pixel spacing (pHYs).",
    DOLOR_CMD_SPECS(specs),
    .details = "examples:\n"
               "  dolor convert scan.mha scan.nii.gz\n"
               "  dolor convert TUM01_water.nii.gz slices/ --window auto\n"
               "  dolor convert series_folder/ ct.nii.gz\n"
               "\n"
               "exit codes: 0 success, 1 runtime failure (I/O), 2 bad input (options, unreadable or\n"
               "malformed input, an output format that cannot hold the image)\n",
};

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static int parse_dtype(const char *s, dolor_dtype *t)
{
    for (int i = DOLOR_U8; i <= DOLOR_F64; i++)
        if (!strcmp(s, dolor_dtype_name((dolor_dtype)i))) {
            *t = (dolor_dtype)i;
            return 0;
        }
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Type-7 quantile of sorted v[0..n). */
static double quantile7(const double *v, size_t n, double p)
{
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (h - (double)lo) * (v[hi] - v[lo]);
}

enum { WIN_AUTO, WIN_FULL, WIN_FIXED };

/* Window of the whole image (finite values only). Volumes above 2^21
 * elements are subsampled with a fixed stride for the percentiles. */
static dolor_status find_window(const dolor_image *img, int mode, double *lo, double *hi)
{
    if (mode == WIN_FIXED)
        return DOLOR_OK;
    size_t n = dolor_image_nvox(img) * (size_t)img->ncomp;
    size_t stride = n > ((size_t)1 << 21) ? n / ((size_t)1 << 21) : 1;
    size_t m = 0;
    double *v = malloc((n / stride + 1) * sizeof *v);
    if (!v)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    double mn = INFINITY, mx = -INFINITY;
    for (size_t e = 0; e < n; e++) {
        double x = dolor_image_get(img, e);
        if (!isfinite(x))
            continue;
        mn = x < mn ? x : mn;
        mx = x > mx ? x : mx;
        if (e % stride == 0)
            v[m++] = x;
    }
    if (m == 0) {
        free(v);
        *lo = 0;
        *hi = 1;
        return DOLOR_OK;
    }
    if (mode == WIN_FULL) {
        *lo = mn;
        *hi = mx;
    } else {
        qsort(v, m, sizeof *v, cmp_double);
        *lo = quantile7(v, m, 0.005);
        *hi = quantile7(v, m, 0.995);
    }
    free(v);
    if (!(*hi > *lo))
        *hi = *lo + 1; /* constant image: everything maps to 0 */
    return DOLOR_OK;
}

/* 2D uint8 image (ncomp kept) of slice (k, t) of img, windowed unless img is
 * already uint8. */
static dolor_status make_slice(const dolor_image *img, int64_t k, int64_t t, double lo, double hi,
                               dolor_image **out)
{
    dolor_status s = dolor_image_create2d(out, DOLOR_U8, img->ncomp, img->size[0], img->size[1]);
    if (s)
        return s;
    dolor_image *o = *out;
    o->spacing[0] = img->spacing[0];
    o->spacing[1] = img->spacing[1];
    size_t per = (size_t)(img->size[0] * img->size[1]) * (size_t)img->ncomp;
    size_t base = (size_t)((t * img->size[2] + k) * img->size[0] * img->size[1]) * (size_t)img->ncomp;
    uint8_t *d = o->data;
    if (img->dtype == DOLOR_U8) {
        memcpy(d, (const uint8_t *)img->data + base, per);
        return DOLOR_OK;
    }
    double scale = 255.0 / (hi - lo);
    for (size_t e = 0; e < per; e++) {
        double x = dolor_image_get(img, base + e);
        double y = isnan(x) ? 0.0 : (x - lo) * scale;
        d[e] = (uint8_t)(y <= 0 ? 0 : y >= 255 ? 255 : lround(y));
    }
    return DOLOR_OK;
}

static int write_slices(const char *cmd, const dolor_image *img, const char *dir, const char *prefix, int wmode,
                        double lo, double hi, int quiet)
{
    if (img->ncomp == 2)
        return dolor_cli_usage_error(cmd, "PNG slices cannot hold 2 components per voxel");
    dolor_status s = dolor_mkdir_p(dir);
    if (s)
        return dolor_cli_fail(cmd, s);
    if (img->dtype != DOLOR_U8 && (s = find_window(img, wmode, &lo, &hi)))
        return dolor_cli_fail(cmd, s);
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] == '/';
    int64_t nz = img->size[2], nt = img->ndim == 4 ? img->size[3] : 1;
    int written = 0;
    for (int64_t t = 0; t < nt; t++) {
        for (int64_t k = 0; k < nz; k++) {
            dolor_image *sl = NULL;
            if ((s = make_slice(img, k, t, lo, hi, &sl)))
                return dolor_cli_fail(cmd, s);
            char path[4096];
            if (nt > 1)
                snprintf(path, sizeof path, "%s%s%s_t%03lld_z%04lld.png", dir, slash ? "" : "/", prefix,
                         (long long)t, (long long)k);
            else
                snprintf(path, sizeof path, "%s%s%s_%04lld.png", dir, slash ? "" : "/", prefix, (long long)k);
            s = dolor_png_write(path, sl);
            dolor_image_free(sl);
            if (s)
                return dolor_cli_fail(cmd, s);
            written++;
        }
    }
    if (!quiet) {
        if (img->dtype == DOLOR_U8)
            printf("wrote %d PNG slices to %s (uint8, unchanged)\n", written, dir);
        else
            printf("wrote %d PNG slices to %s (window %g..%g -> 0..255)\n", written, dir, lo, hi);
    }
    return DOLOR_EXIT_OK;
}

typedef struct {
    char *prefix;
    int slices, compress, quiet, wmode, have_dtype;
    double lo, hi;
    dolor_dtype dtype;
} convert_opts;

static dolor_status apply(void *ctx, const dolor_opt_spec *sp, const char *v)
{
    convert_opts *o = ctx;
    const char *n = sp->name;
    if (!strcmp(n, "slices")) {
        o->slices = v == NULL;
    } else if (!strcmp(n, "no-compress")) {
        o->compress = v != NULL;
    } else if (!strcmp(n, "quiet")) {
        o->quiet = v == NULL;
    } else if (!strcmp(n, "prefix")) {
        if (!*v || strchr(v, '/'))
            return dolor_error(DOLOR_EINVAL, "--prefix: '%s' must be a non-empty name without '/'", v);
        return dolor_opt_set_str(&o->prefix, v);
    } else if (!strcmp(n, "dtype")) {
        if (parse_dtype(v, &o->dtype))
            return dolor_error(DOLOR_EINVAL, "--dtype: '%s' is not a data type (uint8, int16, float32, ...)", v);
        o->have_dtype = 1;
    } else if (!strcmp(n, "window")) {
        if (!strcmp(v, "auto") || !strcmp(v, "full")) {
            o->wmode = !strcmp(v, "auto") ? WIN_AUTO : WIN_FULL;
            return DOLOR_OK;
        }
        char **items = NULL;
        int k = 0;
        dolor_status s = dolor_cli_split_list("--window", v, &items, &k);
        if (s)
            return s;
        if (k != 2)
            s = dolor_error(DOLOR_EINVAL, "--window: '%s' is not auto, full or LO,HI", v);
        if (!s)
            s = dolor_cli_parse_double("--window LO", items[0], -1e300, 1e300, &o->lo);
        if (!s)
            s = dolor_cli_parse_double("--window HI", items[1], -1e300, 1e300, &o->hi);
        dolor_cli_free_list(items);
        if (!s && !(o->hi > o->lo))
            s = dolor_error(DOLOR_EINVAL, "--window: HI (%g) must be greater than LO (%g)", o->hi, o->lo);
        if (!s)
            o->wmode = WIN_FIXED;
        return s;
    } else {
        return dolor_error(DOLOR_EINVAL, "option --%s is not handled", n);
    }
    return DOLOR_OK;
}

static int convert_run(const convert_opts *o, char **pos, int npos);

int dolor_cmd_convert(int argc, char **argv)
{
    convert_opts o = {.compress = 1, .wmode = WIN_AUTO, .dtype = DOLOR_U8};
    char **pos = NULL;
    int npos = 0;
    int rc = dolor_cmd_front(&convert_cmd, argc, argv, apply, &o, &pos, &npos, NULL);
    if (rc < 0)
        rc = convert_run(&o, pos, npos);
    free(pos);
    free(o.prefix);
    return rc;
}

static int convert_run(const convert_opts *o, char **pos, int npos)
{
    const char *cmd = "convert";
    const char *prefix = o->prefix ? o->prefix : "slice";
    int slices = o->slices, compress = o->compress, quiet = o->quiet, wmode = o->wmode, have_dtype = o->have_dtype;
    double lo = o->lo, hi = o->hi;
    dolor_dtype dtype = o->dtype;
    if (npos != 2)
        return dolor_cli_usage_error(cmd, "expected IN and OUT, got %d argument%s", npos, npos == 1 ? "" : "s");
    const char *in = pos[0], *out = pos[1];
    size_t ol = strlen(out);
    int to_dir = slices || (ol > 0 && out[ol - 1] == '/');
    int to_png = ends_with(out, ".png");
    int to_vol = ends_with(out, ".nii") || ends_with(out, ".nii.gz") || ends_with(out, ".mha") ||
                 ends_with(out, ".mhd");
    if (!to_dir && !to_png && !to_vol)
        return dolor_cli_usage_error(cmd, "OUT '%s': unknown output format (use .nii, .nii.gz, .mha, .mhd, .png, or "
                                     "a folder ending in '/' for PNG slices)", out);

    if (access(in, R_OK) != 0)
        return dolor_cli_usage_error(cmd, "IN '%s': %s", in, strerror(errno));
    dolor_image *img = NULL;
    dolor_status s = dolor_image_read(in, &img);
    if (s)
        return dolor_cli_fail(cmd, s);
    if (have_dtype && img->dtype != dtype) {
        dolor_image *c = NULL;
        s = dolor_image_convert(img, dtype, &c);
        dolor_image_free(img);
        if (s)
            return dolor_cli_fail(cmd, s);
        img = c;
    }
    int rc = DOLOR_EXIT_OK;
    if (to_dir) {
        rc = write_slices(cmd, img, out, prefix, wmode, lo, hi, quiet);
    } else if (to_png) {
        if (img->ndim == 4 || img->size[2] > 1) {
            rc = dolor_cli_usage_error(cmd, "%s is %dD (%lldx%lldx%lld): a PNG holds one slice; use an OUT folder "
                                       "ending in '/' or --slices", in, img->ndim, (long long)img->size[0],
                                       (long long)img->size[1], (long long)img->size[2]);
        } else if ((img->dtype == DOLOR_U8 || (img->dtype == DOLOR_U16 && wmode == WIN_AUTO && !have_dtype)) &&
                   img->ncomp != 2) {
            dolor_image *flat = img;
            if (img->ndim != 2) {
                s = dolor_image_create2d(&flat, img->dtype, img->ncomp, img->size[0], img->size[1]);
                if (!s) {
                    dolor_image_copy_geometry(flat, img);
                    memcpy(flat->data, img->data,
                           dolor_image_nvox(img) * (size_t)img->ncomp * dolor_dtype_size(img->dtype));
                }
            }
            if (!s)
                s = dolor_png_write(out, flat);
            if (flat != img)
                dolor_image_free(flat);
            rc = s ? dolor_cli_fail(cmd, s) : DOLOR_EXIT_OK;
            if (!s && !quiet)
                printf("wrote %s (%s, unchanged)\n", out, dolor_dtype_name(img->dtype));
        } else if (img->ncomp == 2) {
            rc = dolor_cli_usage_error(cmd, "PNG cannot hold 2 components per voxel");
        } else {
            if (!(s = find_window(img, wmode, &lo, &hi))) {
                dolor_image *sl = NULL;
                if (!(s = make_slice(img, 0, 0, lo, hi, &sl)))
                    s = dolor_png_write(out, sl);
                dolor_image_free(sl);
            }
            rc = s ? dolor_cli_fail(cmd, s) : DOLOR_EXIT_OK;
            if (!s && !quiet)
                printf("wrote %s (window %g..%g -> 0..255)\n", out, lo, hi);
        }
    } else {
        if (ends_with(out, ".mha") || ends_with(out, ".mhd"))
            s = dolor_metaimage_write(out, img, compress);
        else
            s = dolor_image_write(out, img);
        rc = s ? dolor_cli_fail(cmd, s) : DOLOR_EXIT_OK;
        if (!s && !quiet)
            printf("wrote %s (%lldx%lldx%lld%s %s x%d, spacing %g x %g x %g mm)\n", out, (long long)img->size[0],
                   (long long)img->size[1], (long long)img->size[2], img->ndim == 4 ? "x..." : "",
                   dolor_dtype_name(img->dtype), img->ncomp, img->spacing[0], img->spacing[1], img->spacing[2]);
    }
    dolor_image_free(img);
    return rc;
}
