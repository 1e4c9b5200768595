/* MetaImage (.mha single file, .mhd header + raw data file): our own reader
 * and writer for the ITK MetaIO "Image" object.
 *
 * Header: text lines "Key = Value" ending at the ElementDataFile line; with
 * ElementDataFile = LOCAL the binary data start right after that line's
 * newline. Geometry in MetaIO is already LPS (ITK's physical space):
 *   physical = Offset + D * diag(ElementSpacing) * index
 * where TransformMatrix lists D column by column: its first NDims numbers are
 * the direction of index axis 0 (ITK MetaImageIO: SetDirection(i, axis) with
 * axis[j] = TransformMatrix[i * NDims + j]). */
#define _GNU_SOURCE
#include "dolor/io.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <zlib.h>

typedef struct mha {
    int ndims;
    int64_t dim[4];
    int ncomp;
    int dtype; /* dolor_dtype, -1 unset */
    int esize;
    double spacing[4];
    double origin[4];
    double tm[16];
    int has_tm;
    int msb;
    int compressed;
    int64_t csize;       /* CompressedDataSize, -1 if absent */
    int64_t header_size; /* HeaderSize, -2 if absent, -1 = data at end */
    int binary;
    char datafile[1024];
    size_t data_off;     /* LOCAL: offset of the data in the buffer */
} mha;

static const struct {
    const char *name;
    dolor_dtype t;
    int size;
} met_types[] = {
    {"MET_UCHAR", DOLOR_U8, 1},       {"MET_CHAR", DOLOR_I8, 1},       {"MET_USHORT", DOLOR_U16, 2},
    {"MET_SHORT", DOLOR_I16, 2},      {"MET_UINT", DOLOR_U32, 4},      {"MET_INT", DOLOR_I32, 4},
    {"MET_ULONG", DOLOR_U32, 4},      {"MET_LONG", DOLOR_I32, 4},      {"MET_ULONG_LONG", DOLOR_U64, 8},
    {"MET_LONG_LONG", DOLOR_I64, 8},  {"MET_FLOAT", DOLOR_F32, 4},     {"MET_DOUBLE", DOLOR_F64, 8},
};

static const char *met_name(dolor_dtype t)
{
    switch (t) {
    case DOLOR_U8: return "MET_UCHAR";
    case DOLOR_I8: return "MET_CHAR";
    case DOLOR_U16: return "MET_USHORT";
    case DOLOR_I16: return "MET_SHORT";
    case DOLOR_U32: return "MET_UINT";
    case DOLOR_I32: return "MET_INT";
    case DOLOR_U64: return "MET_ULONG_LONG";
    case DOLOR_I64: return "MET_LONG_LONG";
    case DOLOR_F32: return "MET_FLOAT";
    case DOLOR_F64: return "MET_DOUBLE";
    }
    return "MET_OTHER";
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* Parse exactly n numbers from v; returns the count found (up to 16). */
static int parse_list(const char *v, double *out, int max)
{
    int n = 0;
    const char *p = v;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        char *end;
        double x = strtod(p, &end);
        if (end == p)
            return -1; /* not a number */
        if (n < max)
            out[n] = x;
        n++;
        p = end;
    }
    return n;
}

static int parse_bool(const char *v, int *out)
{
    if (!strcasecmp(v, "True") || !strcmp(v, "1")) {
        *out = 1;
        return 0;
    }
    if (!strcasecmp(v, "False") || !strcmp(v, "0")) {
        *out = 0;
        return 0;
    }
    return -1;
}

/* Numbers of a vector field: exactly `need` finite values. */
static dolor_status field_numbers(const char *name, int line, const char *key, const char *v, int need, double *out,
                                  int positive)
{
    double tmp[16];
    int n = parse_list(v, tmp, 16);
    if (n < 0)
        return dolor_error(DOLOR_EFORMAT, "%s: line %d: %s '%.60s' is not a list of numbers", name, line, key, v);
    if (n != need)
        return dolor_error(DOLOR_EFORMAT, "%s: line %d: %s has %d values (%d expected from NDims)", name, line, key,
                           n, need);
    for (int i = 0; i < n; i++) {
        if (!isfinite(tmp[i]) || (positive && !(tmp[i] > 0)))
            return dolor_error(DOLOR_EFORMAT, "%s: line %d: %s value %d is %g", name, line, key, i + 1, tmp[i]);
        out[i] = tmp[i];
    }
    return DOLOR_OK;
}

/* Parse the header held in buf[0..len). */
static dolor_status parse_header(const char *buf, size_t len, const char *name, mha *h)
{
    memset(h, 0, sizeof *h);
    h->ncomp = 1;
    h->dtype = -1;
    h->csize = -1;
    h->header_size = -2;
    h->binary = 1;
    for (int i = 0; i < 4; i++)
        h->spacing[i] = 1.0;
    size_t pos = 0;
    int line = 0, have_datafile = 0;
    /* deferred vector fields: parsed once NDims is known */
    char *dimsize = NULL, *spacing = NULL, *offset = NULL, *tm = NULL, *esz = NULL;
    int l_dims = 0, l_sp = 0, l_off = 0, l_tm = 0, l_esz = 0;
    dolor_status s = DOLOR_OK;
    char key[128];
    while (pos < len && !have_datafile) {
        line++;
        const char *start = buf + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - start) : len - pos;
        pos += ll + (nl ? 1 : 0);
        if (memchr(start, '\0', ll)) {
            s = dolor_error(DOLOR_EFORMAT, "%s: line %d: binary bytes in the header (no ElementDataFile line before "
                            "the data?)", name, line);
            break;
        }
        while (ll > 0 && (start[ll - 1] == '\r' || start[ll - 1] == ' ' || start[ll - 1] == '\t'))
            ll--;
        size_t a = 0;
        while (a < ll && (start[a] == ' ' || start[a] == '\t'))
            a++;
        if (a == ll)
            continue; /* blank line */
        const char *eq = memchr(start + a, '=', ll - a);
        if (!eq) {
            if (line == 1)
                s = dolor_error(DOLOR_EFORMAT, "%s: not a MetaImage file (line 1 has no 'Key = Value')", name);
            else
                s = dolor_error(DOLOR_EFORMAT, "%s: line %d: no '=' in '%.*s'", name, line, (int)(ll - a < 60 ? ll - a : 60),
                                start + a);
            break;
        }
        size_t kl = (size_t)(eq - (start + a));
        while (kl > 0 && (start[a + kl - 1] == ' ' || start[a + kl - 1] == '\t'))
            kl--;
        if (kl == 0 || kl >= sizeof key) {
            s = dolor_error(DOLOR_EFORMAT, "%s: line %d: empty or overlong key", name, line);
            break;
        }
        memcpy(key, start + a, kl);
        key[kl] = 0;
        const char *vs = eq + 1;
        const char *ve = start + ll;
        while (vs < ve && (*vs == ' ' || *vs == '\t'))
            vs++;
        size_t vl = (size_t)(ve - vs);
        char *val = strndup(vs, vl);
        if (!val) {
            s = dolor_error(DOLOR_ENOMEM, "%s: out of memory", name);
            break;
        }
        int keep = 0;
        if (!strcasecmp(key, "NDims")) {
            char *end;
            long n = strtol(val, &end, 10);
            if (*end || n < 2 || n > 4)
                s = dolor_error(n == 1 || n > 4 ? DOLOR_EUNSUPPORTED : DOLOR_EFORMAT,
                                "%s: line %d: NDims is '%s' (dolor reads 2, 3 or 4)", name, line, val);
            else
                h->ndims = (int)n;
        } else if (!strcasecmp(key, "ObjectType")) {
            if (strcasecmp(val, "Image"))
                s = dolor_error(DOLOR_EUNSUPPORTED, "%s: line %d: ObjectType is '%.40s' (only Image is read)", name,
                                line, val);
        } else if (!strcasecmp(key, "DimSize")) {
            free(dimsize);
            dimsize = val, keep = 1, l_dims = line;
        } else if (!strcasecmp(key, "ElementSpacing")) {
            free(spacing);
            spacing = val, keep = 1, l_sp = line;
        } else if (!strcasecmp(key, "ElementSize")) {
            free(esz);
            esz = val, keep = 1, l_esz = line;
        } else if (!strcasecmp(key, "Offset") || !strcasecmp(key, "Origin") || !strcasecmp(key, "Position")) {
            free(offset);
            offset = val, keep = 1, l_off = line;
        } else if (!strcasecmp(key, "TransformMatrix") || !strcasecmp(key, "Orientation") ||
                   !strcasecmp(key, "Rotation")) {
            free(tm);
            tm = val, keep = 1, l_tm = line;
        } else if (!strcasecmp(key, "ElementType")) {
            size_t n = strlen(val);
            if (n > 6 && !strcasecmp(val + n - 6, "_ARRAY"))
                val[n - 6] = 0;
            int found = 0;
            for (size_t i = 0; i < sizeof met_types / sizeof *met_types; i++)
                if (!strcasecmp(val, met_types[i].name)) {
                    h->dtype = (int)met_types[i].t;
                    h->esize = met_types[i].size;
                    found = 1;
                }
            if (!found)
                s = dolor_error(DOLOR_EUNSUPPORTED, "%s: line %d: ElementType '%.40s' is not supported", name, line,
                                val);
        } else if (!strcasecmp(key, "ElementNumberOfChannels")) {
            char *end;
            long n = strtol(val, &end, 10);
            if (*end || n < 1)
                s = dolor_error(DOLOR_EFORMAT, "%s: line %d: ElementNumberOfChannels is '%.40s'", name, line, val);
            else if (n > 4)
                s = dolor_error(DOLOR_EUNSUPPORTED, "%s: line %d: ElementNumberOfChannels is %ld (dolor holds 1..4)",
                                name, line, n);
            else
                h->ncomp = (int)n;
        } else if (!strcasecmp(key, "BinaryDataByteOrderMSB") || !strcasecmp(key, "ElementByteOrderMSB")) {
            if (parse_bool(val, &h->msb))
                s = dolor_error(DOLOR_EFORMAT, "%s: line %d: %s is '%.40s' (True/False)", name, line, key, val);
        } else if (!strcasecmp(key, "CompressedData")) {
            if (parse_bool(val, &h->compressed))
                s = dolor_error(DOLOR_EFORMAT, "%s: line %d: CompressedData is '%.40s' (True/False)", name, line, val);
        } else if (!strcasecmp(key, "BinaryData")) {
            if (parse_bool(val, &h->binary))
                s = dolor_error(DOLOR_EFORMAT, "%s: line %d: BinaryData is '%.40s' (True/False)", name, line, val);
        } else if (!strcasecmp(key, "CompressedDataSize")) {
            char *end;
            long long n = strtoll(val, &end, 10);
            if (*end || n < 0)
                s = dolor_error(DOLOR_EFORMAT, "%s: line %d: CompressedDataSize is '%.40s'", name, line, val);
            else
                h->csize = n;
        } else if (!strcasecmp(key, "HeaderSize")) {
            char *end;
            long long n = strtoll(val, &end, 10);
            if (*end || n < -1)
                s = dolor_error(DOLOR_EFORMAT, "%s: line %d: HeaderSize is '%.40s'", name, line, val);
            else
                h->header_size = n;
        } else if (!strcasecmp(key, "ElementDataFile")) {
            if (vl == 0 || vl >= sizeof h->datafile)
                s = dolor_error(DOLOR_EFORMAT, "%s: line %d: ElementDataFile is empty or too long", name, line);
            else
                snprintf(h->datafile, sizeof h->datafile, "%s", val);
            have_datafile = 1;
            h->data_off = pos;
        }
        /* other keys (Kinds, CenterOfRotation, AnatomicalOrientation, PLUS
         * Seq_Frame... fields, ...) are ignored */
        if (!keep)
            free(val);
        if (s)
            break;
    }
    if (!s && !have_datafile)
        s = dolor_error(DOLOR_EFORMAT, "%s: no ElementDataFile line in the header", name);
    if (!s && h->ndims == 0)
        s = dolor_error(DOLOR_EFORMAT, "%s: no NDims line in the header", name);
    if (!s && h->dtype < 0)
        s = dolor_error(DOLOR_EFORMAT, "%s: no ElementType line in the header", name);
    if (!s && !dimsize)
        s = dolor_error(DOLOR_EFORMAT, "%s: no DimSize line in the header", name);
    if (!s && !h->binary)
        s = dolor_error(DOLOR_EUNSUPPORTED, "%s: BinaryData = False (ASCII voxel data) is not supported", name);
    int nd = h->ndims;
    if (!s) {
        double d[4];
        s = field_numbers(name, l_dims, "DimSize", dimsize, nd, d, 1);
        for (int i = 0; !s && i < nd; i++) {
            if (d[i] != floor(d[i]) || d[i] > 1e9)
                s = dolor_error(DOLOR_EFORMAT, "%s: line %d: DimSize value %d is %g (must be an integer up to 1e9)",
                                name, l_dims, i + 1, d[i]);
            else
                h->dim[i] = (int64_t)d[i]; /* cast only once in range (UBSan: fuzz crash) */
        }
    }
    for (int i = nd; i < 4; i++)
        h->dim[i] = 1;
    if (!s && (spacing || esz))
        s = field_numbers(name, spacing ? l_sp : l_esz, spacing ? "ElementSpacing" : "ElementSize",
                          spacing ? spacing : esz, nd, h->spacing, 1);
    if (!s && offset)
        s = field_numbers(name, l_off, "Offset", offset, nd, h->origin, 0);
    if (!s && tm) {
        s = field_numbers(name, l_tm, "TransformMatrix", tm, nd * nd, h->tm, 0);
        h->has_tm = 1;
    }
    free(dimsize);
    free(spacing);
    free(offset);
    free(tm);
    free(esz);
    return s;
}

static uint64_t total_bytes(const mha *h)
{
    /* saturates at 2^62 (dims are <= 1e9 each, so the product can overflow) */
    uint64_t n = (uint64_t)h->ncomp * (uint64_t)h->esize;
    for (int i = 0; i < 4; i++) {
        if (h->dim[i] > 0 && n > ((uint64_t)1 << 62) / (uint64_t)h->dim[i])
            return (uint64_t)1 << 62;
        n *= (uint64_t)h->dim[i];
    }
    return n;
}

/* Inflate src (zlib or gzip stream) into exactly want bytes of dst. */
static dolor_status inflate_all(const unsigned char *src, size_t srclen, unsigned char *dst, uint64_t want,
                                const char *name)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK)
        return dolor_error(DOLOR_ENOMEM, "%s: zlib init failed", name);
    uint64_t out = 0;
    size_t in = 0;
    int rc = Z_OK;
    while (out < want) {
        size_t ci = srclen - in;
        uint64_t co = want - out;
        z.next_in = (unsigned char *)src + in;
        z.avail_in = ci > (1u << 30) ? (1u << 30) : (unsigned)ci;
        z.next_out = dst + out;
        z.avail_out = co > (1u << 30) ? (1u << 30) : (unsigned)co;
        unsigned ai = z.avail_in, ao = z.avail_out;
        rc = inflate(&z, Z_NO_FLUSH);
        in += ai - z.avail_in;
        out += ao - z.avail_out;
        if (rc == Z_STREAM_END)
            break;
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            inflateEnd(&z);
            return dolor_error(DOLOR_EFORMAT, "%s: corrupt compressed voxel data (zlib: %s) after %llu of %llu bytes",
                               name, z.msg ? z.msg : "error", (unsigned long long)out, (unsigned long long)want);
        }
        if (ai == z.avail_in && ao == z.avail_out)
            break; /* no progress: input exhausted */
    }
    inflateEnd(&z);
    if (out < want)
        return dolor_error(DOLOR_EFORMAT, "%s: truncated: compressed data give %llu of the %llu bytes that DimSize "
                           "and ElementType need", name, (unsigned long long)out, (unsigned long long)want);
    return DOLOR_OK;
}

/* Build the image from a parsed header and its data bytes. */
static dolor_status make_image(const mha *h, const unsigned char *data, size_t avail, const char *name,
                               dolor_image **out)
{
    uint64_t need = total_bytes(h);
    if (need > ((uint64_t)1 << 40))
        return dolor_error(DOLOR_EFORMAT, "%s: DimSize gives an image of %llu bytes", name, (unsigned long long)need);
    if (!h->compressed) {
        if (h->header_size == -1 && avail >= need) {
            data += avail - need;
            avail = need;
        }
        if (avail < need)
            return dolor_error(DOLOR_EFORMAT, "%s: truncated: header says %lldx%lldx%lldx%lld x%d %s (%llu bytes) but "
                               "only %zu bytes of voxel data", name, (long long)h->dim[0], (long long)h->dim[1],
                               (long long)h->dim[2], (long long)h->dim[3], h->ncomp, met_name((dolor_dtype)h->dtype),
                               (unsigned long long)need, avail);
    } else {
        if (h->csize >= 0) {
            if ((uint64_t)h->csize > avail)
                return dolor_error(DOLOR_EFORMAT, "%s: truncated: CompressedDataSize is %lld but only %zu bytes follow "
                                   "the header", name, (long long)h->csize, avail);
            avail = (size_t)h->csize;
        }
        /* zlib cannot expand more than ~1032:1: refuse absurd sizes before
         * allocating */
        if (need / 1100 > (uint64_t)avail + 1024)
            return dolor_error(DOLOR_EFORMAT, "%s: truncated: %zu compressed bytes cannot hold the %llu bytes that "
                               "DimSize and ElementType need", name, avail, (unsigned long long)need);
    }
    int ndim = h->ndims;
    dolor_image *img = NULL;
    dolor_status s = dolor_image_create(&img, (dolor_dtype)h->dtype, h->ncomp, ndim, h->dim);
    if (s)
        return dolor_error_prefix(s, "%s", name);
    if (h->compressed)
        s = inflate_all(data, avail, img->data, need, name);
    else
        memcpy(img->data, data, need);
    if (s) {
        dolor_image_free(img);
        return s;
    }
    if (h->msb && h->esize > 1) {
        size_t n = need / (size_t)h->esize;
        unsigned char *p = img->data;
        for (size_t e = 0; e < n; e++, p += h->esize)
            for (int a = 0, b = h->esize - 1; a < b; a++, b--) {
                unsigned char t = p[a];
                p[a] = p[b];
                p[b] = t;
            }
    }
    int nsp = ndim < 3 ? ndim : 3;
    for (int i = 0; i < ndim; i++)
        img->spacing[i] = h->spacing[i];
    for (int i = 0; i < nsp; i++)
        img->origin[i] = h->origin[i];
    if (h->has_tm) {
        /* column-wise: axis c's direction is tm[c*nd .. c*nd+nd-1] */
        for (int c = 0; c < nsp; c++)
            for (int r = 0; r < nsp; r++)
                img->direction[r * 3 + c] = h->tm[c * ndim + r];
        double det = img->direction[0] * (img->direction[4] * img->direction[8] - img->direction[5] * img->direction[7]) -
                     img->direction[1] * (img->direction[3] * img->direction[8] - img->direction[5] * img->direction[6]) +
                     img->direction[2] * (img->direction[3] * img->direction[7] - img->direction[4] * img->direction[6]);
        if (!(fabs(det) > 1e-12)) {
            dolor_image_free(img);
            return dolor_error(DOLOR_EFORMAT, "%s: TransformMatrix is singular (determinant %g)", name, det);
        }
    }
    *out = img;
    return DOLOR_OK;
}

static dolor_status slurp(const char *path, unsigned char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return dolor_error(DOLOR_EIO, "%s: cannot open (%s)", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(fp);
        return dolor_error(DOLOR_EIO, "%s: not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *b = malloc(n + 1);
    if (!b) {
        fclose(fp);
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory for %zu bytes", path, n);
    }
    size_t got = fread(b, 1, n, fp);
    int err = ferror(fp);
    fclose(fp);
    if (err || got != n) {
        free(b);
        return dolor_error(DOLOR_EIO, "%s: read error", path);
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return DOLOR_OK;
}

static dolor_status read_impl(const unsigned char *buf, size_t len, const char *name, const char *path,
                              dolor_image **out)
{
    mha h;
    dolor_status s = parse_header((const char *)buf, len, name, &h);
    if (s)
        return s;
    if (!strcasecmp(h.datafile, "LOCAL"))
        return make_image(&h, buf + h.data_off, len - h.data_off, name, out);
    if (!strcasecmp(h.datafile, "LIST") || strchr(h.datafile, '%') || strchr(h.datafile, ' '))
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: ElementDataFile '%.200s' (a list or pattern of files) is not "
                           "supported: use LOCAL or one data file", name, h.datafile);
    if (!path)
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: ElementDataFile '%.200s' cannot be read from memory", name,
                           h.datafile);
    /* data file relative to the header's folder */
    char dpath[4096];
    const char *slash = strrchr(path, '/');
    if (h.datafile[0] == '/' || !slash)
        snprintf(dpath, sizeof dpath, "%s", h.datafile);
    else
        snprintf(dpath, sizeof dpath, "%.*s/%s", (int)(slash - path), path, h.datafile);
    unsigned char *data = NULL;
    size_t dlen = 0;
    s = slurp(dpath, &data, &dlen);
    if (s)
        return dolor_error_prefix(s, "%s: ElementDataFile", name);
    size_t skip = h.header_size > 0 ? (size_t)h.header_size : 0;
    if (skip > dlen) {
        free(data);
        return dolor_error(DOLOR_EFORMAT, "%s: HeaderSize %zu is larger than %s (%zu bytes)", name, skip, dpath, dlen);
    }
    s = make_image(&h, data + skip, dlen - skip, name, out);
    free(data);
    return s;
}

dolor_status dolor_metaimage_read(const char *path, dolor_image **out)
{
    *out = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    dolor_status s = slurp(path, &buf, &len);
    if (s)
        return s;
    s = read_impl(buf, len, path, path, out);
    free(buf);
    return s;
}

dolor_status dolor_metaimage_read_mem(const void *buf, size_t len, const char *name, dolor_image **out)
{
    *out = NULL;
    return read_impl(buf, len, name, NULL, out);
}

/* ---------------------------------------------------------------- writing */

/* ITK's orientation letters: for each axis, the side it comes FROM, given by
 * the largest LPS component of its direction (identity = "RAI"). */
static void orientation_code(const dolor_image *img, char code[4])
{
    static const char from_pos[3] = {'R', 'A', 'I'}, from_neg[3] = {'L', 'P', 'S'};
    for (int c = 0; c < 3; c++) {
        int k = 0;
        for (int r = 1; r < 3; r++)
            if (fabs(img->direction[r * 3 + c]) > fabs(img->direction[k * 3 + c]))
                k = r;
        code[c] = img->direction[k * 3 + c] >= 0 ? from_pos[k] : from_neg[k];
    }
    code[3] = 0;
}

static void put_list(FILE *fp, const char *key, const double *v, int n)
{
    fprintf(fp, "%s =", key);
    for (int i = 0; i < n; i++)
        fprintf(fp, " %.17g", v[i] + 0.0);
    fputc('\n', fp);
}

static int write_header(FILE *fp, const dolor_image *img, int compressed, uint64_t csize, const char *datafile)
{
    int nd = img->ndim;
    double tm[16], off[4], sp[4];
    for (int c = 0; c < nd; c++)
        for (int r = 0; r < nd; r++)
            tm[c * nd + r] = (r < 3 && c < 3) ? img->direction[r * 3 + c] : (double)(r == c);
    for (int i = 0; i < nd; i++) {
        off[i] = i < 3 ? img->origin[i] : 0.0;
        sp[i] = img->spacing[i];
    }
    fprintf(fp, "ObjectType = Image\nNDims = %d\nBinaryData = True\nBinaryDataByteOrderMSB = False\n", nd);
    fprintf(fp, "CompressedData = %s\n", compressed ? "True" : "False");
    if (compressed)
        fprintf(fp, "CompressedDataSize = %llu\n", (unsigned long long)csize);
    put_list(fp, "TransformMatrix", tm, nd * nd);
    put_list(fp, "Offset", off, nd);
    double zero[4] = {0, 0, 0, 0};
    put_list(fp, "CenterOfRotation", zero, nd);
    if (nd == 3) {
        char code[4];
        orientation_code(img, code);
        fprintf(fp, "AnatomicalOrientation = %s\n", code);
    }
    put_list(fp, "ElementSpacing", sp, nd);
    fprintf(fp, "DimSize =");
    for (int i = 0; i < nd; i++)
        fprintf(fp, " %lld", (long long)img->size[i]);
    fputc('\n', fp);
    if (img->ncomp > 1)
        fprintf(fp, "ElementNumberOfChannels = %d\n", img->ncomp);
    fprintf(fp, "ElementType = %s\nElementDataFile = %s\n", met_name(img->dtype), datafile);
    return ferror(fp) ? -1 : 0;
}

dolor_status dolor_metaimage_write(const char *path, const dolor_image *img, int compress)
{
    if (!img || !img->data)
        return dolor_error(DOLOR_EINVAL, "%s: no image to write", path);
    int mhd = ends_with(path, ".mhd");
    if (!mhd && !ends_with(path, ".mha"))
        return dolor_error(DOLOR_EINVAL, "%s: MetaImage output must end in .mha or .mhd", path);
    if (img->ndim < 2 || img->ndim > 4 || img->ncomp < 1 || img->ncomp > 4)
        return dolor_error(DOLOR_EINVAL, "%s: ndim %d / ncomp %d cannot be written", path, img->ndim, img->ncomp);
    size_t nbytes = dolor_image_nvox(img) * (size_t)img->ncomp * dolor_dtype_size(img->dtype);
    unsigned char *cbuf = NULL;
    uLongf clen = 0;
    if (compress) {
        uLong bound = compressBound((uLong)nbytes);
        cbuf = malloc(bound ? bound : 1);
        if (!cbuf)
            return dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
        clen = bound;
        if (compress2(cbuf, &clen, img->data, (uLong)nbytes, Z_DEFAULT_COMPRESSION) != Z_OK) {
            free(cbuf);
            return dolor_error(DOLOR_ENOMEM, "%s: zlib compression failed", path);
        }
    }
    const void *payload = compress ? (const void *)cbuf : img->data;
    size_t plen = compress ? (size_t)clen : nbytes;
    dolor_status s;
    if (!mhd) {
        dolor_outfile f;
        s = dolor_outfile_open(&f, path, 1);
        if (s) {
            free(cbuf);
            return s;
        }
        if (write_header(f.fp, img, compress, clen, "LOCAL") != 0 || fwrite(payload, 1, plen, f.fp) != plen) {
            dolor_outfile_abort(&f);
            free(cbuf);
            return dolor_error(DOLOR_EIO, "%s: write failed (%s)", path, strerror(errno));
        }
        free(cbuf);
        return dolor_outfile_commit(&f);
    }
    /* .mhd + .raw/.zraw next to it */
    size_t n = strlen(path);
    char *dpath = malloc(n + 8);
    if (!dpath) {
        free(cbuf);
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
    }
    snprintf(dpath, n + 8, "%.*s%s", (int)(n - 4), path, compress ? ".zraw" : ".raw");
    const char *dbase = strrchr(dpath, '/');
    dbase = dbase ? dbase + 1 : dpath;
    dolor_outfile fd, fh;
    s = dolor_outfile_open(&fd, dpath, 1);
    if (!s) {
        if (fwrite(payload, 1, plen, fd.fp) != plen) {
            dolor_outfile_abort(&fd);
            s = dolor_error(DOLOR_EIO, "%s: write failed (%s)", dpath, strerror(errno));
        }
    }
    if (!s) {
        s = dolor_outfile_open(&fh, path, 1);
        if (s) {
            dolor_outfile_abort(&fd);
        } else if (write_header(fh.fp, img, compress, clen, dbase) != 0) {
            dolor_outfile_abort(&fd);
            dolor_outfile_abort(&fh);
            s = dolor_error(DOLOR_EIO, "%s: write failed (%s)", path, strerror(errno));
        } else {
            s = dolor_outfile_commit(&fd);
            if (s)
                dolor_outfile_abort(&fh);
            else
                s = dolor_outfile_commit(&fh);
        }
    }
    free(dpath);
    free(cbuf);
    return s;
}
