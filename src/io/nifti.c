/* NIfTI-1 / NIfTI-2 reading and writing through Debian's libnifti (nifti2_io).
 *
 * libnifti trusts its input: a header with absurd dimensions, datatype or
 * offsets can make it allocate wildly or read past buffers. So every header is
 * first parsed and validated here (header_check), including, for single-file
 * .nii, the length of the voxel data, and only then handed to libnifti.
 *
 * Geometry: NIfTI's qform/sform map (i, j, k) to RAS+ millimetres; dolor keeps
 * LPS (image.h). With F = diag(-1, -1, 1): LPS = F * RAS, so the LPS affine is
 * the RAS affine with its first two rows negated (ITK does the same). */
#define _GNU_SOURCE
#include "dolor/io.h"

#include <errno.h>
#include <math.h>
#include <nifti2_io.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---------------------------------------------------------------- helpers */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static void quiet(void)
{
    nifti_set_debug_level(0);
}

static uint16_t bswap16(uint16_t v) { return (uint16_t)((v >> 8) | (v << 8)); }
static uint32_t bswap32(uint32_t v) { return __builtin_bswap32(v); }
static uint64_t bswap64(uint64_t v) { return __builtin_bswap64(v); }

static int16_t rd_i16(const unsigned char *p, int sw)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return (int16_t)(sw ? bswap16(v) : v);
}
static int32_t rd_i32(const unsigned char *p, int sw)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return (int32_t)(sw ? bswap32(v) : v);
}
static int64_t rd_i64(const unsigned char *p, int sw)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return (int64_t)(sw ? bswap64(v) : v);
}
static float rd_f32(const unsigned char *p, int sw)
{
    uint32_t v;
    float f;
    memcpy(&v, p, 4);
    if (sw)
        v = bswap32(v);
    memcpy(&f, &v, 4);
    return f;
}
static double rd_f64(const unsigned char *p, int sw)
{
    uint64_t v;
    double f;
    memcpy(&v, p, 8);
    if (sw)
        v = bswap64(v);
    memcpy(&f, &v, 8);
    return f;
}

/* NIfTI datatype -> dolor dtype and components; 0 if supported. */
static int map_datatype(int dt, dolor_dtype *t, int *ncomp, int *nbyper)
{
    *ncomp = 1;
    switch (dt) {
    case DT_UINT8: *t = DOLOR_U8; *nbyper = 1; return 0;
    case DT_INT8: *t = DOLOR_I8; *nbyper = 1; return 0;
    case DT_UINT16: *t = DOLOR_U16; *nbyper = 2; return 0;
    case DT_INT16: *t = DOLOR_I16; *nbyper = 2; return 0;
    case DT_UINT32: *t = DOLOR_U32; *nbyper = 4; return 0;
    case DT_INT32: *t = DOLOR_I32; *nbyper = 4; return 0;
    case DT_UINT64: *t = DOLOR_U64; *nbyper = 8; return 0;
    case DT_INT64: *t = DOLOR_I64; *nbyper = 8; return 0;
    case DT_FLOAT32: *t = DOLOR_F32; *nbyper = 4; return 0;
    case DT_FLOAT64: *t = DOLOR_F64; *nbyper = 8; return 0;
    case DT_RGB24: *t = DOLOR_U8; *ncomp = 3; *nbyper = 3; return 0;
    case DT_RGBA32: *t = DOLOR_U8; *ncomp = 4; *nbyper = 4; return 0;
    default: return -1;
    }
}

static int dtype_to_nifti(dolor_dtype t)
{
    switch (t) {
    case DOLOR_U8: return DT_UINT8;
    case DOLOR_I8: return DT_INT8;
    case DOLOR_U16: return DT_UINT16;
    case DOLOR_I16: return DT_INT16;
    case DOLOR_U32: return DT_UINT32;
    case DOLOR_I32: return DT_INT32;
    case DOLOR_U64: return DT_UINT64;
    case DOLOR_I64: return DT_INT64;
    case DOLOR_F32: return DT_FLOAT32;
    case DOLOR_F64: return DT_FLOAT64;
    }
    return DT_UNKNOWN;
}

/* What header_check learnt. */
typedef struct nhdr {
    int version;          /* 1 or 2 (0 = Analyze 7.5) */
    int onefile;          /* n+1 / n+2 magic: header and data in one file */
    int64_t dim[8];
    int datatype;
    int64_t vox_offset;
    int64_t nvox;
    int nbyper;
    int64_t data_bytes;   /* nvox * nbyper */
} nhdr;

/* Read and check the header at the start of buf (len bytes available).
 * name is used in messages. */
static dolor_status header_parse(const unsigned char *buf, size_t len, const char *name, nhdr *h)
{
    memset(h, 0, sizeof *h);
    if (len < 348)
        return dolor_error(DOLOR_EFORMAT, "%s: not a NIfTI file (only %zu header bytes; a NIfTI-1 header has 348)",
                           name, len);
    int32_t sz = rd_i32(buf, 0);
    int sw = 0;
    if (sz != 348 && sz != 540) {
        int32_t s2 = rd_i32(buf, 1);
        if (s2 == 348 || s2 == 540) {
            sw = 1;
            sz = s2;
        } else {
            return dolor_error(DOLOR_EFORMAT, "%s: sizeof_hdr is %d (NIfTI-1: 348, NIfTI-2: 540): not a NIfTI file",
                               name, (int)sz);
        }
    }
    double pixdim[8];
    if (sz == 348) {
        const unsigned char *mg = buf + 344;
        if (!memcmp(mg, "n+1\0", 4)) {
            h->version = 1;
            h->onefile = 1;
        } else if (!memcmp(mg, "ni1\0", 4)) {
            h->version = 1;
        } else {
            h->version = 0; /* Analyze 7.5 */
        }
        for (int i = 0; i < 8; i++) {
            h->dim[i] = rd_i16(buf + 40 + 2 * i, sw);
            pixdim[i] = rd_f32(buf + 76 + 4 * i, sw);
        }
        h->datatype = rd_i16(buf + 70, sw);
        float vo = rd_f32(buf + 108, sw);
        if (!isfinite(vo) || vo < 0 || vo > 1e9f)
            return dolor_error(DOLOR_EFORMAT, "%s: vox_offset is %g", name, (double)vo);
        h->vox_offset = (int64_t)vo;
        if (h->onefile && h->vox_offset < 348)
            return dolor_error(DOLOR_EFORMAT, "%s: vox_offset is %lld (must be >= 348 in a single-file NIfTI-1)",
                               name, (long long)h->vox_offset);
    } else {
        if (len < 540)
            return dolor_error(DOLOR_EFORMAT, "%s: truncated NIfTI-2 header (%zu of 540 bytes)", name, len);
        const unsigned char *mg = buf + 4;
        if (!memcmp(mg, "n+2\0", 4))
            h->onefile = 1;
        else if (memcmp(mg, "ni2\0", 4))
            return dolor_error(DOLOR_EFORMAT, "%s: NIfTI-2 magic is not 'n+2' or 'ni2'", name);
        h->version = 2;
        h->datatype = rd_i16(buf + 12, sw);
        for (int i = 0; i < 8; i++) {
            h->dim[i] = rd_i64(buf + 16 + 8 * i, sw);
            pixdim[i] = rd_f64(buf + 104 + 8 * i, sw);
        }
        h->vox_offset = rd_i64(buf + 168, sw);
        if (h->vox_offset < (h->onefile ? 540 : 0) || h->vox_offset > (int64_t)1e12)
            return dolor_error(DOLOR_EFORMAT, "%s: vox_offset is %lld", name, (long long)h->vox_offset);
    }
    int64_t nd = h->dim[0];
    if (nd < 1 || nd > 7)
        return dolor_error(DOLOR_EFORMAT, "%s: dim[0] is %lld (must be 1..7)", name, (long long)nd);
    int64_t nvox = 1;
    for (int i = 1; i <= nd; i++) {
        if (h->dim[i] < 1)
            return dolor_error(DOLOR_EFORMAT, "%s: dim[%d] is %lld (must be >= 1)", name, i, (long long)h->dim[i]);
        if (h->dim[i] > (int64_t)1 << 40 || nvox > ((int64_t)1 << 46) / h->dim[i])
            return dolor_error(DOLOR_EFORMAT, "%s: image too large (dim[%d] = %lld)", name, i, (long long)h->dim[i]);
        nvox *= h->dim[i];
    }
    for (int i = (int)nd + 1; i < 8; i++)
        h->dim[i] = 1;
    for (int i = 1; i <= nd && i <= 4; i++)
        if (!isfinite(pixdim[i]))
            return dolor_error(DOLOR_EFORMAT, "%s: pixdim[%d] is %g", name, i, pixdim[i]);
    dolor_dtype t;
    int nc;
    if (map_datatype(h->datatype, &t, &nc, &h->nbyper) != 0) {
        const char *dn = nifti_datatype_is_valid(h->datatype, 1) ? nifti_datatype_to_string(h->datatype) : "unknown";
        return dolor_error(nifti_datatype_is_valid(h->datatype, 1) ? DOLOR_EUNSUPPORTED : DOLOR_EFORMAT,
                           "%s: datatype %d (%s) is not supported (uint8/16/32/64, int8/16/32/64, float32/64, RGB24, "
                           "RGBA32 are)", name, h->datatype, dn);
    }
    for (int i = 5; i <= nd; i++)
        if (h->dim[i] > 1)
            return dolor_error(DOLOR_EUNSUPPORTED,
                               "%s: dim[%d] is %lld: images with more than 4 dimensions (e.g. CIFTI, vector or "
                               "tensor fields) are not supported", name, i, (long long)h->dim[i]);
    h->nvox = nvox;
    h->data_bytes = nvox * h->nbyper;
    return DOLOR_OK;
}

/* Read up to cap bytes of the (possibly gzip-compressed) file. */
static dolor_status read_head(const char *path, unsigned char *buf, size_t cap, size_t *got)
{
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return dolor_error(DOLOR_EIO, "%s: cannot open (%s)", path, strerror(errno ? errno : ENOENT));
    int n = gzread(gz, buf, (unsigned)cap);
    gzclose(gz);
    if (n < 0)
        return dolor_error(DOLOR_EFORMAT, "%s: corrupt gzip stream", path);
    *got = (size_t)n;
    return DOLOR_OK;
}

/* Decompressed length of a gzip (or plain) file, or -1 on a corrupt stream. */
static int64_t stream_length(const char *path, int64_t stop_after)
{
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return -1;
    static __thread unsigned char chunk[1 << 16];
    int64_t total = 0;
    for (;;) {
        int n = gzread(gz, chunk, sizeof chunk);
        if (n < 0) {
            total = -1;
            break;
        }
        if (n == 0)
            break;
        total += n;
        if (stop_after >= 0 && total >= stop_after)
            break;
    }
    gzclose(gz);
    return total;
}

static void fmt_bytes(char *s, size_t n, int64_t b)
{
    if (b >= 10 * 1000 * 1000)
        snprintf(s, n, "%.1f MB", (double)b / 1e6);
    else if (b >= 10000)
        snprintf(s, n, "%.1f kB", (double)b / 1e3);
    else
        snprintf(s, n, "%lld bytes", (long long)b);
}

static dolor_status truncated(const char *path, const nhdr *h, int64_t have)
{
    char a[32], b[32], dims[96];
    fmt_bytes(a, sizeof a, have < 0 ? 0 : have);
    fmt_bytes(b, sizeof b, h->data_bytes);
    int p = 0;
    for (int i = 1; i <= h->dim[0] && p < (int)sizeof dims - 24; i++)
        p += snprintf(dims + p, sizeof dims - (size_t)p, "%s%lld", i > 1 ? "x" : "", (long long)h->dim[i]);
    dolor_dtype t;
    int nc, nb;
    const char *tn = "?";
    if (map_datatype(h->datatype, &t, &nc, &nb) == 0)
        tn = nc == 3 ? "rgb24" : nc == 4 ? "rgba32" : dolor_dtype_name(t);
    return dolor_error(DOLOR_EFORMAT, "%s: truncated: header says %s %s (%s) but only %s of voxel data", path, dims,
                       tn, b, a);
}

/* Validate the header (and the data length of a single-file .nii). */
static dolor_status header_check(const char *path, nhdr *h)
{
    unsigned char buf[540];
    size_t got = 0;
    dolor_status s = read_head(path, buf, sizeof buf, &got);
    if (s)
        return s;
    if ((s = header_parse(buf, got, path, h)))
        return s;
    if (h->onefile) {
        /* plain .nii: the size must hold the data (a .gz is checked while
         * its data are read, see read_voxels) */
        int64_t need = h->vox_offset + h->data_bytes;
        if (!ends_with(path, ".gz") && got >= 2 && !(buf[0] == 0x1f && buf[1] == 0x8b)) {
            struct stat st;
            if (stat(path, &st) != 0)
                return dolor_error(DOLOR_EIO, "%s: cannot stat (%s)", path, strerror(errno));
            if ((int64_t)st.st_size < need)
                return truncated(path, h, (int64_t)st.st_size - h->vox_offset);
        }
        /* libnifti reads extensions between the header and vox_offset: check
         * their sizes so a bad esize cannot make it read past vox_offset. */
        if (h->version >= 1) {
            int64_t hsz = h->version == 2 ? 540 : 348;
            if (h->vox_offset >= hsz + 4) {
                size_t eg = 0;
                int64_t span = h->vox_offset - hsz;
                size_t cap = span < (1 << 20) ? (size_t)span : (size_t)1 << 20;
                /* re-read from the start: header + the first extension area */
                unsigned char *tmp = malloc((size_t)hsz + cap);
                if (!tmp)
                    return dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
                s = read_head(path, tmp, (size_t)hsz + cap, &eg);
                if (s == DOLOR_OK && eg >= (size_t)hsz + 4 && tmp[hsz] != 0) {
                    int sw = rd_i32(tmp, 0) != (int32_t)hsz;
                    int64_t pos = hsz + 4;
                    while (pos + 8 <= (int64_t)eg && pos + 8 <= h->vox_offset) {
                        int32_t esize = rd_i32(tmp + pos, sw);
                        if (esize < 16 || esize % 16 != 0 || pos + esize > h->vox_offset) {
                            s = dolor_error(DOLOR_EFORMAT, "%s: extension at byte %lld has esize %d (must be a "
                                            "multiple of 16, >= 16, ending before vox_offset %lld)", path,
                                            (long long)pos, (int)esize, (long long)h->vox_offset);
                            break;
                        }
                        pos += esize;
                    }
                }
                free(tmp);
                if (s)
                    return s;
            }
        }
    }
    return DOLOR_OK;
}

/* ---------------------------------------------------------------- reading */

/* Before allocating: the data file must be able to hold the voxels (plain:
 * its size; gzip: zlib cannot expand more than ~1032:1). */
static dolor_status check_data_size(const char *path, const nifti_image *nim, const nhdr *h)
{
    struct stat st;
    if (!nim->iname || stat(nim->iname, &st) != 0)
        return dolor_error(DOLOR_EIO, "%s: cannot open the voxel data file %s", path, nim->iname ? nim->iname : "?");
    int64_t fsize = (int64_t)st.st_size;
    unsigned char mg[2] = {0, 0};
    FILE *fp = fopen(nim->iname, "rb");
    if (fp) {
        if (fread(mg, 1, 2, fp) != 2)
            mg[0] = 0;
        fclose(fp);
    }
    int gz = mg[0] == 0x1f && mg[1] == 0x8b;
    if (!gz && fsize < nim->iname_offset + h->data_bytes)
        return truncated(path, h, fsize - nim->iname_offset);
    if (gz && h->data_bytes / 1100 > fsize + 1024)
        return truncated(path, h, fsize * 1032);
    return DOLOR_OK;
}

/* Read the voxel data of nim (already validated as h) into dst, swapping
 * bytes to the machine order. */
static dolor_status read_voxels(const char *path, const nifti_image *nim, const nhdr *h, void *dst)
{
    gzFile gz = gzopen(nim->iname, "rb");
    if (!gz)
        return dolor_error(DOLOR_EIO, "%s: cannot open the voxel data file %s (%s)", path, nim->iname,
                           strerror(errno ? errno : ENOENT));
    gzbuffer(gz, 1 << 17);
    if (nim->iname_offset > 0 && gzseek(gz, (z_off_t)nim->iname_offset, SEEK_SET) != (z_off_t)nim->iname_offset) {
        gzclose(gz);
        return truncated(path, h, 0);
    }
    int64_t got = 0;
    unsigned char *d = dst;
    while (got < h->data_bytes) {
        int64_t want = h->data_bytes - got;
        if (want > (1 << 30))
            want = 1 << 30;
        int n = gzread(gz, d + got, (unsigned)want);
        if (n < 0) {
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            dolor_status s = dolor_error(DOLOR_EFORMAT, "%s: corrupt compressed data after %lld bytes of voxels (%s)",
                                         path, (long long)got, msg ? msg : "zlib error");
            gzclose(gz);
            return s;
        }
        if (n == 0)
            break;
        got += n;
    }
    gzclose(gz);
    if (got < h->data_bytes)
        return truncated(path, h, got);
    if (nim->byteorder != nifti_short_order() && nim->swapsize > 1)
        nifti_swap_Nbytes(h->data_bytes / nim->swapsize, nim->swapsize, dst);
    return DOLOR_OK;
}

/* Fill img geometry from the 4x4 RAS affine (rows 0..2 used). */
static void geometry_from_ras(dolor_image *img, const double a[3][4], int ncols)
{
    for (int c = 0; c < 3; c++) {
        double col[3];
        for (int r = 0; r < 3; r++)
            col[r] = (r < 2 ? -1.0 : 1.0) * a[r][c];
        double n = sqrt(col[0] * col[0] + col[1] * col[1] + col[2] * col[2]);
        if (c >= ncols || n == 0.0 || !isfinite(n)) {
            /* degenerate column: keep the pixdim spacing set by the caller and
             * use the LPS-flipped axis so the matrix stays invertible */
            for (int r = 0; r < 3; r++)
                img->direction[r * 3 + c] = (r == c) ? (r < 2 ? -1.0 : 1.0) : 0.0;
            continue;
        }
        img->spacing[c] = n;
        for (int r = 0; r < 3; r++)
            img->direction[r * 3 + c] = col[r] / n + 0.0;
    }
    for (int r = 0; r < 3; r++)
        img->origin[r] = (r < 2 ? -1.0 : 1.0) * a[r][3] + 0.0;
}

static double space_scale(int xyz_units)
{
    switch (xyz_units) {
    case NIFTI_UNITS_METER: return 1000.0;
    case NIFTI_UNITS_MICRON: return 0.001;
    default: return 1.0;
    }
}

static double time_scale_ms(int time_units)
{
    switch (time_units) {
    case NIFTI_UNITS_SEC: return 1000.0;
    case NIFTI_UNITS_USEC: return 0.001;
    default: return 1.0; /* ms or unknown */
    }
}

/* Shared reader. slope/inter receive scl_slope/scl_inter when non-NULL. */
static dolor_status nifti_read_impl(const char *path, dolor_image **out, double *slope, double *inter)
{
    *out = NULL;
    quiet();
    nhdr h;
    dolor_status s = header_check(path, &h);
    if (s)
        return s;
    /* libnifti parses the header and computes the affines; the voxels are
     * read here (libnifti would silently replace NaN/Inf floats by 0). */
    nifti_image *nim = nifti_image_read(path, 0);
    if (!nim)
        return dolor_error(DOLOR_EFORMAT, "%s: libnifti could not read the header", path);
    dolor_dtype t;
    int ncomp, nbyper;
    if (map_datatype(nim->datatype, &t, &ncomp, &nbyper) != 0 || nim->nbyper != nbyper ||
        nim->nvox != h.nvox || !nim->iname) {
        s = dolor_error(DOLOR_EFORMAT, "%s: libnifti's reading of the header disagrees with its content", path);
        nifti_image_free(nim);
        return s;
    }
    int64_t nd = nim->dim[0];
    int ndim = nd <= 2 ? 2 : (nd == 3 ? 3 : 4);
    int64_t size[4] = {nim->dim[1], nd >= 2 ? nim->dim[2] : 1, nd >= 3 ? nim->dim[3] : 1, nd >= 4 ? nim->dim[4] : 1};
    s = check_data_size(path, nim, &h);
    if (s) {
        nifti_image_free(nim);
        return s;
    }
    dolor_image *img = NULL;
    s = dolor_image_create(&img, t, ncomp, ndim, size);
    if (s) {
        nifti_image_free(nim);
        return dolor_error_prefix(s, "%s", path);
    }
    s = read_voxels(path, nim, &h, img->data);
    if (s) {
        nifti_image_free(nim);
        dolor_image_free(img);
        return s;
    }

    /* geometry */
    double ss = space_scale(nim->xyz_units);
    for (int i = 0; i < 3; i++) {
        double p = fabs(nim->pixdim[i + 1]);
        img->spacing[i] = (p > 0 && isfinite(p)) ? p * ss : 1.0;
    }
    if (ndim == 4) {
        double p = fabs(nim->pixdim[4]);
        img->spacing[3] = (p > 0 && isfinite(p)) ? p * time_scale_ms(nim->time_units) : 1.0;
    }
    double a[3][4];
    const nifti_dmat44 *m = NULL;
    if (nim->sform_code > 0)
        m = &nim->sto_xyz;
    else if (nim->qform_code > 0)
        m = &nim->qto_xyz;
    if (m) {
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++)
                a[r][c] = m->m[r][c] * ss;
    } else {
        /* NIfTI "method 1" (no qform, no sform; also Analyze 7.5):
         * x = pixdim[1] * i, y = pixdim[2] * j, z = pixdim[3] * k in RAS. */
        memset(a, 0, sizeof a);
        for (int r = 0; r < 3; r++)
            a[r][r] = img->spacing[r];
    }
    int ok = 1;
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            ok &= isfinite(a[r][c]);
    if (!ok) {
        const char *which = m == &nim->sto_xyz ? "sform" : "qform";
        s = dolor_error(DOLOR_EFORMAT, "%s: %s affine has non-finite entries", path, which);
        nifti_image_free(nim);
        dolor_image_free(img);
        return s;
    }
    geometry_from_ras(img, a, 3);
    if (slope)
        *slope = nim->scl_slope;
    if (inter)
        *inter = nim->scl_inter;
    nifti_image_free(nim);
    *out = img;
    return DOLOR_OK;
}

dolor_status dolor_nifti_read(const char *path, dolor_image **out)
{
    return nifti_read_impl(path, out, NULL, NULL);
}

dolor_status dolor_nifti_read_scaled(const char *path, dolor_image **out)
{
    *out = NULL;
    double slope = 0, inter = 0;
    dolor_image *raw = NULL;
    dolor_status s = nifti_read_impl(path, &raw, &slope, &inter);
    if (s)
        return s;
    int apply = raw->ncomp == 1 && slope != 0.0 && isfinite(slope) && isfinite(inter);
    if (!apply) {
        slope = 1.0;
        inter = 0.0;
    }
    dolor_image *f = NULL;
    s = dolor_image_create(&f, DOLOR_F32, raw->ncomp, raw->ndim, raw->size);
    if (s) {
        dolor_image_free(raw);
        return s;
    }
    dolor_image_copy_geometry(f, raw);
    size_t n = dolor_image_nvox(raw) * (size_t)raw->ncomp;
    float *d = f->data;
    for (size_t e = 0; e < n; e++)
        d[e] = (float)(dolor_image_get(raw, e) * slope + inter);
    dolor_image_free(raw);
    *out = f;
    return DOLOR_OK;
}

dolor_status dolor_nifti_read_mem(const void *buf, size_t len, const char *name, dolor_image **out)
{
    *out = NULL;
    const unsigned char *b = buf;
    int gz = len >= 2 && b[0] == 0x1f && b[1] == 0x8b;
    char tmpl[64];
    snprintf(tmpl, sizeof tmpl, "/tmp/dolor_nifti_XXXXXX%s", gz ? ".nii.gz" : ".nii");
    int fd = mkstemps(tmpl, gz ? 7 : 4);
    if (fd < 0)
        return dolor_error(DOLOR_EIO, "%s: cannot create a temporary file (%s)", name, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, b + off, len - off);
        if (w <= 0) {
            close(fd);
            unlink(tmpl);
            return dolor_error(DOLOR_EIO, "%s: cannot write a temporary file", name);
        }
        off += (size_t)w;
    }
    close(fd);
    dolor_status s = dolor_nifti_read(tmpl, out);
    unlink(tmpl);
    if (s) {
        /* replace the temporary name by the caller's name in the message */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", dolor_errmsg());
        size_t tl = strlen(tmpl);
        const char *rest = strncmp(msg, tmpl, tl) == 0 ? msg + tl : msg;
        return dolor_error(s, "%s%s%s", name, rest == msg ? ": " : "", rest);
    }
    return DOLOR_OK;
}

/* ---------------------------------------------------------------- writing */

static dolor_status verify_written(const char *tmp, const char *path, int64_t need)
{
    int64_t have;
    if (ends_with(tmp, ".gz")) {
        have = stream_length(tmp, -1);
    } else {
        struct stat st;
        have = stat(tmp, &st) == 0 ? (int64_t)st.st_size : -1;
    }
    if (have < need)
        return dolor_error(DOLOR_EIO, "%s: write failed (libnifti wrote %lld of %lld bytes; disk full?)", path,
                           (long long)(have < 0 ? 0 : have), (long long)need);
    return DOLOR_OK;
}

dolor_status dolor_nifti_write(const char *path, const dolor_image *img)
{
    quiet();
    if (!img || !img->data)
        return dolor_error(DOLOR_EINVAL, "%s: no image to write", path);
    if (!(ends_with(path, ".nii") || ends_with(path, ".nii.gz")))
        return dolor_error(DOLOR_EINVAL, "%s: NIfTI output must end in .nii or .nii.gz", path);
    int dt;
    if (img->ncomp == 1)
        dt = dtype_to_nifti(img->dtype);
    else if (img->ncomp == 3 && img->dtype == DOLOR_U8)
        dt = DT_RGB24;
    else if (img->ncomp == 4 && img->dtype == DOLOR_U8)
        dt = DT_RGBA32;
    else
        return dolor_error(DOLOR_EINVAL, "%s: NIfTI cannot hold %d components of %s (only 1 component, or 3/4 "
                           "components of uint8 as RGB24/RGBA32)", path, img->ncomp, dolor_dtype_name(img->dtype));
    if (dt == DT_UNKNOWN)
        return dolor_error(DOLOR_EINVAL, "%s: dtype %d cannot be written", path, (int)img->dtype);
    if (img->ndim < 2 || img->ndim > 4)
        return dolor_error(DOLOR_EINVAL, "%s: ndim %d (must be 2..4)", path, img->ndim);

    int64_t dims[8] = {img->ndim, 1, 1, 1, 1, 1, 1, 1};
    int big = 0;
    for (int i = 0; i < img->ndim; i++) {
        dims[i + 1] = img->size[i];
        big |= img->size[i] > 32767;
    }
    nifti_image *nim = nifti_make_new_nim(dims, dt, 0);
    if (!nim)
        return dolor_error(DOLOR_ENOMEM, "%s: libnifti could not create the header", path);
    free(nim->data);
    nim->data = NULL;

    /* RAS affine A = F * [D*diag(s) | o], F = diag(-1, -1, 1) */
    nifti_dmat44 A;
    memset(&A, 0, sizeof A);
    for (int r = 0; r < 3; r++) {
        double f = r < 2 ? -1.0 : 1.0;
        for (int c = 0; c < 3; c++)
            A.m[r][c] = f * img->direction[r * 3 + c] * img->spacing[c];
        A.m[r][3] = f * img->origin[r];
    }
    A.m[3][3] = 1.0;
    nim->sform_code = NIFTI_XFORM_SCANNER_ANAT;
    nim->sto_xyz = A;
    nim->sto_ijk = nifti_dmat44_inverse(A);
    double qb, qc, qd, qx, qy, qz, dx, dy, dz, qfac;
    nifti_dmat44_to_quatern(A, &qb, &qc, &qd, &qx, &qy, &qz, &dx, &dy, &dz, &qfac);
    nim->qform_code = NIFTI_XFORM_SCANNER_ANAT;
    nim->quatern_b = qb;
    nim->quatern_c = qc;
    nim->quatern_d = qd;
    nim->qoffset_x = qx;
    nim->qoffset_y = qy;
    nim->qoffset_z = qz;
    nim->qfac = qfac;
    nim->qto_xyz = nifti_quatern_to_dmat44(qb, qc, qd, qx, qy, qz, img->spacing[0], img->spacing[1],
                                           img->spacing[2], qfac);
    nim->qto_ijk = nifti_dmat44_inverse(nim->qto_xyz);
    nim->pixdim[0] = qfac;
    nim->dx = nim->pixdim[1] = img->spacing[0];
    nim->dy = nim->pixdim[2] = img->spacing[1];
    nim->dz = nim->pixdim[3] = img->spacing[2];
    if (img->ndim == 4)
        nim->dt = nim->pixdim[4] = img->spacing[3];
    nim->xyz_units = NIFTI_UNITS_MM;
    nim->time_units = img->ndim == 4 ? NIFTI_UNITS_MSEC : NIFTI_UNITS_UNKNOWN;
    nim->scl_slope = 0.0;
    nim->scl_inter = 0.0;
    snprintf(nim->descrip, sizeof nim->descrip, "dolor %s", DOLOR_VERSION_STRING);

    dolor_outfile f;
    /* open (create) the temporary file ourselves first, so an unwritable
     * folder is our error message rather than libnifti's stderr chatter */
    dolor_status s = dolor_outfile_open(&f, path, 1);
    if (s) {
        nifti_image_free(nim);
        return s;
    }
    fclose(f.fp);
    f.fp = NULL;
    free(nim->fname);
    free(nim->iname);
    nim->fname = nifti_strdup(f.tmp);
    nim->iname = nifti_strdup(f.tmp);
    nim->nifti_type = big ? NIFTI_FTYPE_NIFTI2_1 : NIFTI_FTYPE_NIFTI1_1;
    nifti_set_iname_offset(nim, big ? 2 : 1);
    nim->data = img->data; /* borrowed: detached before nifti_image_free */
    errno = 0;
    nifti_image_write(nim);
    int64_t need = nim->iname_offset + nim->nvox * nim->nbyper;
    nim->data = NULL;
    nifti_image_free(nim);
    s = verify_written(f.tmp, path, need);
    if (s) {
        dolor_outfile_abort(&f);
        return s;
    }
    return dolor_outfile_commit(&f);
}
