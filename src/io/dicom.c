/* DICOM Part 10 parser (PS3.10 file format, PS3.5 data encoding), attribute access.
 * Strict: every length is checked against the end of its file, item or sequence
 * before anything is read; errors name the tag, its offset and its length. */
#include "dicom_priv.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_ELEMENTS 4000000u
#define MAX_INFLATED ((size_t)512 << 20)

uint16_t dcm_u16(const uint8_t *p, int big)
{
    return big ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

uint32_t dcm_u32(const uint8_t *p, int big)
{
    return big ? ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3])
               : ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]);
}

static const struct {
    const char *uid, *name;
} ts_names[] = {
    {"1.2.840.10008.1.2", "Implicit VR Little Endian"},
    {"1.2.840.10008.1.2.1", "Explicit VR Little Endian"},
    {"1.2.840.10008.1.2.1.98", "Encapsulated Uncompressed Explicit VR Little Endian"},
    {"1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian"},
    {"1.2.840.10008.1.2.2", "Explicit VR Big Endian"},
    {"1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)"},
    {"1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 and 4)"},
    {"1.2.840.10008.1.2.4.52", "JPEG Extended (Process 3 and 5)"},
    {"1.2.840.10008.1.2.4.53", "JPEG Spectral Selection, Non-Hierarchical (Process 6 and 8)"},
    {"1.2.840.10008.1.2.4.55", "JPEG Full Progression, Non-Hierarchical (Process 10 and 12)"},
    {"1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)"},
    {"1.2.840.10008.1.2.4.58", "JPEG Lossless, Non-Hierarchical (Process 15)"},
    {"1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])"},
    {"1.2.840.10008.1.2.4.80", "JPEG-LS Lossless Image Compression"},
    {"1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless) Image Compression"},
    {"1.2.840.10008.1.2.4.90", "JPEG 2000 Image Compression (Lossless Only)"},
    {"1.2.840.10008.1.2.4.91", "JPEG 2000 Image Compression"},
    {"1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)"},
    {"1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component Image Compression"},
    {"1.2.840.10008.1.2.4.94", "JPIP Referenced"},
    {"1.2.840.10008.1.2.4.95", "JPIP Referenced Deflate"},
    {"1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level"},
    {"1.2.840.10008.1.2.4.101", "MPEG2 Main Profile / High Level"},
    {"1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1"},
    {"1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1"},
    {"1.2.840.10008.1.2.4.107", "HEVC/H.265 Main Profile / Level 5.1"},
    {"1.2.840.10008.1.2.4.108", "HEVC/H.265 Main 10 Profile / Level 5.1"},
    {"1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Image Compression (Lossless Only)"},
    {"1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000 Image Compression"},
    {"1.2.840.10008.1.2.5", "RLE Lossless"},
};

const char *dolor_dicom_ts_name(const char *uid)
{
    if (uid)
        for (size_t i = 0; i < sizeof ts_names / sizeof *ts_names; i++)
            if (strcmp(uid, ts_names[i].uid) == 0)
                return ts_names[i].name;
    return "unknown transfer syntax";
}

const char *dolor_dicom_transfer_syntax(const dolor_dicom *d)
{
    return d ? d->ts : "";
}

/* ---------------- parsing ---------------- */

typedef struct parser {
    dolor_dicom *d;
    const uint8_t *b;
    size_t n;
} parser;

static const char *long_vrs[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"};
static const char *short_vrs[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT",
                                  "PN", "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US"};

static int vr_is(const char *vr, const char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (vr[0] == list[i][0] && vr[1] == list[i][1])
            return 1;
    return 0;
}
static int vr_long(const char *vr) { return vr_is(vr, long_vrs, sizeof long_vrs / sizeof *long_vrs); }
static int vr_known(const char *vr)
{
    return vr_long(vr) || vr_is(vr, short_vrs, sizeof short_vrs / sizeof *short_vrs);
}

static void item_free(dcm_item *it)
{
    for (int i = 0; i < it->n; i++) {
        dcm_elem *e = &it->el[i];
        for (int k = 0; k < e->nitems; k++)
            item_free(&e->items[k]);
        free(e->items);
        free(e->frag_off);
        free(e->frag_len);
    }
    free(it->el);
    it->el = NULL;
    it->n = it->cap = 0;
}

static dcm_elem *item_push(parser *p, dcm_item *it)
{
    if (it->n == it->cap) {
        int cap = it->cap ? it->cap * 2 : 16;
        dcm_elem *el = realloc(it->el, (size_t)cap * sizeof *el);
        if (!el)
            return NULL;
        it->el = el;
        it->cap = cap;
    }
    dcm_elem *e = &it->el[it->n++];
    memset(e, 0, sizeof *e);
    return e;
}

#define TAGF "(%04X,%04X)"
#define TAGA(t) (unsigned)((t) >> 16), (unsigned)((t)&0xFFFF)

static dolor_status parse_dataset(parser *p, size_t pos, size_t end, int undef, int big, int expl,
                                  dcm_item *out, int depth, int meta, size_t *endpos);

/* Sequence of items starting at pos (after the SQ header); len may be undefined. */
static dolor_status parse_sequence(parser *p, dcm_elem *e, size_t pos, uint32_t len, int big, int expl,
                                   int depth, size_t *endpos)
{
    size_t end = len == DCM_UNDEFINED ? p->n : pos + len;
    int cap = 0;
    if (depth >= DCM_MAX_DEPTH)
        return dolor_error(DOLOR_EFORMAT, "%s: sequence " TAGF " at offset %zu: nested deeper than %d levels",
                           p->d->name, TAGA(e->tag), e->hdr, DCM_MAX_DEPTH);
    for (;;) {
        if (pos == end && len != DCM_UNDEFINED)
            break;
        if (end - pos < 8)
            return dolor_error(DOLOR_EFORMAT,
                               "%s: sequence " TAGF " at offset %zu: item header at offset %zu runs past the end "
                               "of the %s (%zu bytes)",
                               p->d->name, TAGA(e->tag), e->hdr, pos,
                               len == DCM_UNDEFINED ? "file" : "sequence", end);
        uint32_t tag = (uint32_t)dcm_u16(p->b + pos, big) << 16 | dcm_u16(p->b + pos + 2, big);
        uint32_t ilen = dcm_u32(p->b + pos + 4, big);
        if (tag == 0xFFFEE0DDu) {
            pos += 8;
            if (len != DCM_UNDEFINED && pos != end)
                return dolor_error(DOLOR_EFORMAT, "%s: sequence " TAGF ": sequence delimiter at offset %zu inside a "
                                   "defined-length sequence", p->d->name, TAGA(e->tag), pos - 8);
            break;
        }
        if (tag != 0xFFFEE000u)
            return dolor_error(DOLOR_EFORMAT,
                               "%s: sequence " TAGF " at offset %zu: expected an item (FFFE,E000) at offset %zu, "
                               "found " TAGF,
                               p->d->name, TAGA(e->tag), e->hdr, pos, TAGA(tag));
        pos += 8;
        if (ilen != DCM_UNDEFINED && ilen > end - pos)
            return dolor_error(DOLOR_EFORMAT,
                               "%s: item of sequence " TAGF " at offset %zu: length %u runs past the end of the %s "
                               "(%zu bytes left)",
                               p->d->name, TAGA(e->tag), pos - 8, ilen,
                               len == DCM_UNDEFINED ? "file" : "sequence", end - pos);
        if (e->nitems == cap) {
            int nc = cap ? cap * 2 : 4;
            dcm_item *items = realloc(e->items, (size_t)nc * sizeof *items);
            if (!items)
                return dolor_error(DOLOR_ENOMEM, "%s: out of memory", p->d->name);
            e->items = items;
            cap = nc;
        }
        dcm_item *it = &e->items[e->nitems++];
        memset(it, 0, sizeof *it);
        size_t ipos;
        dolor_status s = parse_dataset(p, pos, ilen == DCM_UNDEFINED ? end : pos + ilen, ilen == DCM_UNDEFINED,
                                       big, expl, it, depth + 1, 0, &ipos);
        if (s)
            return s;
        pos = ipos;
    }
    *endpos = pos;
    return DOLOR_OK;
}

/* Encapsulated pixel data: items (fragments), the first the Basic Offset Table. */
static dolor_status parse_fragments(parser *p, dcm_elem *e, size_t pos, int big, size_t *endpos)
{
    int cap = 0;
    for (;;) {
        if (p->n - pos < 8)
            return dolor_error(DOLOR_EFORMAT,
                               "%s: encapsulated Pixel Data (7FE0,0010) at offset %zu: fragment header at offset %zu "
                               "runs past the end of the file (%zu bytes)", p->d->name, e->hdr, pos, p->n);
        uint32_t tag = (uint32_t)dcm_u16(p->b + pos, big) << 16 | dcm_u16(p->b + pos + 2, big);
        uint32_t flen = dcm_u32(p->b + pos + 4, big);
        pos += 8;
        if (tag == 0xFFFEE0DDu)
            break;
        if (tag != 0xFFFEE000u)
            return dolor_error(DOLOR_EFORMAT,
                               "%s: encapsulated Pixel Data (7FE0,0010): expected a fragment item (FFFE,E000) at "
                               "offset %zu, found " TAGF, p->d->name, pos - 8, TAGA(tag));
        if (flen > p->n - pos)
            return dolor_error(DOLOR_EFORMAT,
                               "%s: encapsulated Pixel Data (7FE0,0010): fragment %d at offset %zu: length %u runs "
                               "past the end of the file (%zu bytes left)", p->d->name, e->nfrag, pos - 8, flen,
                               p->n - pos);
        if (e->nfrag == cap) {
            int nc = cap ? cap * 2 : 8;
            size_t *fo = realloc(e->frag_off, (size_t)nc * sizeof *fo);
            if (!fo)
                return dolor_error(DOLOR_ENOMEM, "%s: out of memory", p->d->name);
            e->frag_off = fo;
            uint32_t *fl = realloc(e->frag_len, (size_t)nc * sizeof *fl);
            if (!fl)
                return dolor_error(DOLOR_ENOMEM, "%s: out of memory", p->d->name);
            e->frag_len = fl;
            cap = nc;
        }
        e->frag_off[e->nfrag] = pos;
        e->frag_len[e->nfrag] = flen;
        e->nfrag++;
        pos += flen;
    }
    if (e->nfrag == 0)
        return dolor_error(DOLOR_EFORMAT, "%s: encapsulated Pixel Data (7FE0,0010) at offset %zu has no Basic "
                           "Offset Table item", p->d->name, e->hdr);
    *endpos = pos;
    return DOLOR_OK;
}

/* Parse elements from pos up to end (or up to an item delimiter when undef).
 * meta: stop before the first element whose group is not 0002. */
static dolor_status parse_dataset(parser *p, size_t pos, size_t end, int undef, int big, int expl,
                                  dcm_item *out, int depth, int meta, size_t *endpos)
{
    while (pos < end) {
        if (end - pos < 8)
            return dolor_error(DOLOR_EFORMAT, "%s: element header at offset %zu runs past the end of the %s "
                               "(%zu bytes left)", p->d->name, pos, depth ? "item" : "file", end - pos);
        uint16_t g = dcm_u16(p->b + pos, big), el = dcm_u16(p->b + pos + 2, big);
        uint32_t tag = DCM_TAG(g, el);
        if (meta && g != 0x0002)
            break;
        if (tag == 0 && depth == 0 && !meta) {
            /* trailing zero padding after the last element (seen in the wild): ignored if all zero */
            size_t k = pos;
            while (k < end && p->b[k] == 0)
                k++;
            if (k == end) {
                pos = end;
                break;
            }
        }
        size_t hdr = pos;
        if (tag == 0xFFFEE00Du) {
            if (!undef)
                return dolor_error(DOLOR_EFORMAT, "%s: item delimiter (FFFE,E00D) at offset %zu outside an "
                                   "undefined-length item", p->d->name, pos);
            *endpos = pos + 8;
            return DOLOR_OK;
        }
        if (g == 0xFFFE)
            return dolor_error(DOLOR_EFORMAT, "%s: unexpected delimiter " TAGF " at offset %zu in a data set",
                               p->d->name, TAGA(tag), pos);
        if (++p->d->nelem > MAX_ELEMENTS)
            return dolor_error(DOLOR_EFORMAT, "%s: more than %u elements", p->d->name, MAX_ELEMENTS);
        dcm_elem *e = item_push(p, out);
        if (!e)
            return dolor_error(DOLOR_ENOMEM, "%s: out of memory", p->d->name);
        e->tag = tag;
        e->hdr = hdr;
        e->big = big;
        uint32_t len;
        if (expl) {
            char vr[3] = {(char)p->b[pos + 4], (char)p->b[pos + 5], 0};
            if (!vr_known(vr)) {
                if (isupper((unsigned char)vr[0]) && isupper((unsigned char)vr[1]))
                    return dolor_error(DOLOR_EFORMAT, "%s: element " TAGF " at offset %zu: unknown VR '%s'",
                                       p->d->name, TAGA(tag), pos, vr);
                return dolor_error(DOLOR_EFORMAT, "%s: element " TAGF " at offset %zu: invalid VR bytes 0x%02X%02X",
                                   p->d->name, TAGA(tag), pos, p->b[pos + 4], p->b[pos + 5]);
            }
            memcpy(e->vr, vr, 3);
            if (vr_long(vr)) {
                if (end - pos < 12)
                    return dolor_error(DOLOR_EFORMAT, "%s: element " TAGF " at offset %zu: header runs past the end "
                                       "of the %s", p->d->name, TAGA(tag), pos, depth ? "item" : "file");
                len = dcm_u32(p->b + pos + 8, big);
                pos += 12;
            } else {
                len = dcm_u16(p->b + pos + 6, big);
                pos += 8;
            }
        } else {
            const dcm_dict_entry *de = dcm_dict_by_tag(tag);
            if (de)
                memcpy(e->vr, de->vr, 3);
            else if ((tag & 0xFFFF) == 0)
                memcpy(e->vr, "UL", 3); /* group length */
            else
                memcpy(e->vr, "UN", 3);
            len = dcm_u32(p->b + pos + 4, big);
            pos += 8;
        }
        e->len = len;
        e->off = pos;
        if (len == DCM_UNDEFINED) {
            size_t np;
            dolor_status s;
            if (tag == 0x7FE00010u) { /* top level or an icon image sequence */
                s = parse_fragments(p, e, pos, big, &np);
            } else if (!strcmp(e->vr, "SQ") || !strcmp(e->vr, "UN") || !expl) {
                /* PS3.5 6.2.2: UN of undefined length is an implicit VR little endian sequence */
                int un = !strcmp(e->vr, "UN");
                memcpy(e->vr, "SQ", 3);
                s = parse_sequence(p, e, pos, len, un ? 0 : big, un ? 0 : expl, depth, &np);
            } else {
                return dolor_error(DOLOR_EFORMAT, "%s: element " TAGF " at offset %zu: undefined length for VR %s",
                                   p->d->name, TAGA(tag), hdr, e->vr);
            }
            if (s)
                return s;
            if (np > end)
                return dolor_error(DOLOR_EFORMAT, "%s: element " TAGF " at offset %zu runs past the end of its item",
                                   p->d->name, TAGA(tag), hdr);
            pos = np;
            continue;
        }
        if (len > end - pos)
            return dolor_error(DOLOR_EFORMAT,
                               "%s: element " TAGF " at offset %zu: length %u runs past the end of the %s "
                               "(%zu bytes left)", p->d->name, TAGA(tag), hdr, len,
                               depth ? "item" : (meta ? "file meta information" : "file"), end - pos);
        if (!strcmp(e->vr, "SQ")) {
            size_t np;
            dolor_status s = parse_sequence(p, e, pos, len, big, expl, depth, &np);
            if (s)
                return s;
        }
        pos += len;
    }
    if (undef && !meta)
        return dolor_error(DOLOR_EFORMAT, "%s: undefined-length item has no item delimiter before the end of the file",
                           p->d->name);
    *endpos = pos;
    return DOLOR_OK;
}

static int valid_vr_at(const uint8_t *b)
{
    char vr[3] = {(char)b[0], (char)b[1], 0};
    return vr_known(vr);
}

/* Guess the encoding of a data set without transfer syntax (as pydicom does). */
static void guess_ts(const uint8_t *b, size_t n, dolor_dicom *d)
{
    d->big = 0;
    d->explicit_vr = 0;
    if (n < 8) {
        strcpy(d->ts, "1.2.840.10008.1.2");
        return;
    }
    uint16_t gle = dcm_u16(b, 0), gbe = dcm_u16(b, 1);
    int expl = valid_vr_at(b + 4);
    if (gbe < gle && gbe != 0 && expl) {
        d->big = 1;
        d->explicit_vr = 1;
        strcpy(d->ts, "1.2.840.10008.1.2.2");
    } else if (expl) {
        d->explicit_vr = 1;
        strcpy(d->ts, "1.2.840.10008.1.2.1");
    } else {
        strcpy(d->ts, "1.2.840.10008.1.2");
    }
    d->ts_guessed = 1;
}

static dolor_status inflate_rest(dolor_dicom *d, size_t start)
{
    size_t cap = (d->len - start) * 4 + 4096, n = 0;
    uint8_t *out = malloc(start + cap);
    if (!out)
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", d->name);
    memcpy(out, d->buf, start);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) {
        free(out);
        return dolor_error(DOLOR_ENOMEM, "%s: zlib init failed", d->name);
    }
    zs.next_in = d->buf + start;
    zs.avail_in = (uInt)(d->len - start);
    int rc;
    for (;;) {
        if (n == cap) {
            if (cap > MAX_INFLATED) {
                inflateEnd(&zs);
                free(out);
                return dolor_error(DOLOR_EFORMAT, "%s: deflated data set inflates to more than %zu bytes", d->name,
                                   MAX_INFLATED);
            }
            cap *= 2;
            uint8_t *o2 = realloc(out, start + cap);
            if (!o2) {
                inflateEnd(&zs);
                free(out);
                return dolor_error(DOLOR_ENOMEM, "%s: out of memory", d->name);
            }
            out = o2;
        }
        zs.next_out = out + start + n;
        zs.avail_out = (uInt)(cap - n > 0x40000000 ? 0x40000000 : cap - n);
        uInt before = zs.avail_out;
        rc = inflate(&zs, Z_NO_FLUSH);
        n += before - zs.avail_out;
        if (rc == Z_STREAM_END)
            break;
        if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
            inflateEnd(&zs);
            free(out);
            return dolor_error(DOLOR_EFORMAT, "%s: deflated data set is truncated (offset %zu)", d->name, start);
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            inflateEnd(&zs);
            free(out);
            return dolor_error(DOLOR_EFORMAT, "%s: deflated data set at offset %zu is corrupt (zlib: %s)", d->name,
                               start, zs.msg ? zs.msg : "error");
        }
    }
    inflateEnd(&zs);
    free(d->buf);
    d->buf = out;
    d->len = start + n;
    d->deflated = 1;
    return DOLOR_OK;
}

static dolor_status dicom_parse(dolor_dicom *d)
{
    parser p = {d, d->buf, d->len};
    size_t pos = 0;
    if (d->len >= 132 && memcmp(d->buf + 128, "DICM", 4) == 0) {
        pos = 132;
    } else if (d->len >= 8) {
        /* no preamble: accept a file starting with a group 0002 or 0008 element */
        uint16_t gle = dcm_u16(d->buf, 0), gbe = dcm_u16(d->buf, 1);
        if (!(gle == 0x0002 || gle == 0x0008 || gbe == 0x0008))
            return dolor_error(DOLOR_EFORMAT, "%s: not a DICOM file (no 'DICM' at offset 128 and the first tag "
                               "(%04X,%04X) is not in group 0002 or 0008)", d->name, gle, dcm_u16(d->buf + 2, 0));
    } else {
        return dolor_error(DOLOR_EFORMAT, "%s: not a DICOM file (%zu bytes)", d->name, d->len);
    }
    size_t np = pos;
    if (d->len - pos >= 8 && dcm_u16(d->buf + pos, 0) == 0x0002) {
        dolor_status s = parse_dataset(&p, pos, d->len, 0, 0, 1, &d->meta, 0, 1, &np);
        if (s)
            return s;
    }
    pos = np;
    const dcm_elem *tse = dcm_find(&d->meta, 0x00020010u);
    if (tse) {
        char ts[80];
        dcm_elem_string(d, tse, ts, sizeof ts);
        if (strlen(ts) >= sizeof d->ts)
            return dolor_error(DOLOR_EFORMAT, "%s: TransferSyntaxUID (0002,0010) is too long", d->name);
        strcpy(d->ts, ts);
        if (!strcmp(ts, "1.2.840.10008.1.2")) {
            d->explicit_vr = 0;
        } else if (!strcmp(ts, "1.2.840.10008.1.2.2")) {
            d->explicit_vr = 1;
            d->big = 1;
        } else {
            d->explicit_vr = 1; /* every other transfer syntax is explicit VR little endian */
        }
        if (!strcmp(ts, "1.2.840.10008.1.2.1.99")) {
            dolor_status s = inflate_rest(d, pos);
            if (s)
                return s;
            p.b = d->buf;
            p.n = d->len;
        }
    } else {
        guess_ts(d->buf + pos, d->len - pos, d);
    }
    /* as pydicom: a data set whose first element contradicts the transfer syntax's VR encoding is read the
     * way its bytes are written (explicit <-> implicit) */
    if (d->len - pos >= 8 && !d->big) {
        int looks_explicit = valid_vr_at(d->buf + pos + 4);
        if (looks_explicit != d->explicit_vr) {
            d->explicit_vr = looks_explicit;
            d->vr_switched = 1;
        }
    }
    return parse_dataset(&p, pos, d->len, 0, d->big, d->explicit_vr, &d->ds, 0, 0, &np);
}

dolor_status dolor_dicom_open_memory(const uint8_t *buf, size_t len, const char *name, dolor_dicom **out)
{
    *out = NULL;
    dolor_dicom *d = calloc(1, sizeof *d);
    if (!d)
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", name);
    d->name = strdup(name ? name : "<memory>");
    d->buf = malloc(len ? len : 1);
    if (!d->name || !d->buf) {
        dolor_dicom_free(d);
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", name);
    }
    if (len)
        memcpy(d->buf, buf, len);
    d->len = len;
    dolor_status s = dicom_parse(d);
    if (s) {
        dolor_dicom_free(d);
        return s;
    }
    *out = d;
    return DOLOR_OK;
}

dolor_status dolor_dicom_open(const char *path, dolor_dicom **out)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return dolor_error(DOLOR_EIO, "%s: cannot open (%s)", path, strerror(errno));
    if (fseek(fp, 0, SEEK_END) != 0) {
        fclose(fp);
        return dolor_error(DOLOR_EIO, "%s: cannot seek", path);
    }
    long sz = ftell(fp);
    rewind(fp);
    if (sz < 0) {
        fclose(fp);
        return dolor_error(DOLOR_EIO, "%s: cannot tell its size (a folder?)", path);
    }
    uint8_t *buf = malloc(sz ? (size_t)sz : 1);
    if (!buf) {
        fclose(fp);
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory (%ld bytes)", path, sz);
    }
    if (fread(buf, 1, (size_t)sz, fp) != (size_t)sz) {
        fclose(fp);
        free(buf);
        return dolor_error(DOLOR_EIO, "%s: read error", path);
    }
    fclose(fp);
    dolor_dicom *d = calloc(1, sizeof *d);
    if (!d || !(d->name = strdup(path))) {
        free(d);
        free(buf);
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
    }
    d->buf = buf;
    d->len = (size_t)sz;
    dolor_status s = dicom_parse(d);
    if (s) {
        dolor_dicom_free(d);
        return s;
    }
    *out = d;
    return DOLOR_OK;
}

void dolor_dicom_free(dolor_dicom *d)
{
    if (!d)
        return;
    item_free(&d->meta);
    item_free(&d->ds);
    free(d->buf);
    free(d->name);
    free(d);
}

/* ---------------- attribute access ---------------- */

const dcm_elem *dcm_find(const dcm_item *it, uint32_t tag)
{
    /* elements are normally sorted; a linear scan also copes with files that are not */
    for (int i = 0; i < it->n; i++)
        if (it->el[i].tag == tag)
            return &it->el[i];
    return NULL;
}

static int text_vr(const char *vr)
{
    static const char *t[] = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN",
                              "SH", "ST", "TM", "UC", "UI", "UR", "UT"};
    return vr_is(vr, t, sizeof t / sizeof *t);
}

static size_t bin_size(const char *vr)
{
    if (!strcmp(vr, "US") || !strcmp(vr, "SS"))
        return 2;
    if (!strcmp(vr, "UL") || !strcmp(vr, "SL") || !strcmp(vr, "FL") || !strcmp(vr, "AT"))
        return 4;
    if (!strcmp(vr, "FD") || !strcmp(vr, "SV") || !strcmp(vr, "UV"))
        return 8;
    return 0;
}

static double bin_value(const dcm_elem *e, const uint8_t *p)
{
    const char *vr = e->vr;
    if (!strcmp(vr, "US"))
        return dcm_u16(p, e->big);
    if (!strcmp(vr, "SS"))
        return (int16_t)dcm_u16(p, e->big);
    if (!strcmp(vr, "UL") || !strcmp(vr, "AT"))
        return dcm_u32(p, e->big);
    if (!strcmp(vr, "SL"))
        return (int32_t)dcm_u32(p, e->big);
    if (!strcmp(vr, "FL")) {
        uint32_t u = dcm_u32(p, e->big);
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    uint64_t hi = dcm_u32(p, e->big), lo = dcm_u32(p + 4, e->big);
    uint64_t u = e->big ? (hi << 32 | lo) : (lo << 32 | hi);
    if (!strcmp(vr, "FD")) {
        double f;
        memcpy(&f, &u, 8);
        return f;
    }
    if (!strcmp(vr, "SV"))
        return (double)(int64_t)u;
    return (double)u;
}

static int is_defined_value(const dcm_elem *e)
{
    return e->len != DCM_UNDEFINED && e->nfrag == 0 && strcmp(e->vr, "SQ") != 0;
}

int dcm_elem_string(const dolor_dicom *d, const dcm_elem *e, char *buf, size_t cap)
{
    if (!cap)
        return 0;
    buf[0] = 0;
    if (!strcmp(e->vr, "SQ")) {
        snprintf(buf, cap, "<SQ, %d items>", e->nitems);
        return 1;
    }
    if (!is_defined_value(e)) {
        snprintf(buf, cap, "<%s, encapsulated, %d fragments>", e->vr, e->nfrag);
        return 1;
    }
    const uint8_t *v = d->buf + e->off;
    size_t sz = bin_size(e->vr);
    if (sz) {
        size_t n = e->len / sz, k = 0;
        for (size_t i = 0; i < n && k + 1 < cap; i++) {
            double x = bin_value(e, v + i * sz);
            int w;
            if (!strcmp(e->vr, "AT")) {
                uint32_t t = (uint32_t)dcm_u16(v + i * sz, e->big) << 16 | dcm_u16(v + i * sz + 2, e->big);
                w = snprintf(buf + k, cap - k, "%s(%04X,%04X)", i ? "\\" : "", TAGA(t));
            } else {
                w = snprintf(buf + k, cap - k, "%s%.17g", i ? "\\" : "", x);
            }
            if (w < 0 || (size_t)w >= cap - k)
                break;
            k += (size_t)w;
        }
        return 1;
    }
    if (!text_vr(e->vr)) {
        snprintf(buf, cap, "<%s, %u bytes>", e->vr, e->len);
        return 1;
    }
    size_t a = 0, b = e->len;
    while (b > a && (v[b - 1] == ' ' || v[b - 1] == 0))
        b--;
    while (a < b && v[a] == ' ')
        a++;
    size_t n = b - a < cap - 1 ? b - a : cap - 1;
    for (size_t i = 0; i < n; i++)
        buf[i] = v[a + i] ? (char)v[a + i] : ' ';
    buf[n] = 0;
    return 1;
}

/* i-th backslash-separated component of a text value, trimmed */
static int text_component(const dolor_dicom *d, const dcm_elem *e, int idx, char *buf, size_t cap)
{
    const uint8_t *v = d->buf + e->off;
    size_t start = 0;
    int k = 0;
    for (size_t i = 0; i <= e->len; i++) {
        if (i == e->len || v[i] == '\\') {
            if (k == idx) {
                size_t a = start, b = i;
                while (a < b && (v[a] == ' ' || v[a] == 0))
                    a++;
                while (b > a && (v[b - 1] == ' ' || v[b - 1] == 0))
                    b--;
                size_t n = b - a < cap - 1 ? b - a : cap - 1;
                memcpy(buf, v + a, n);
                buf[n] = 0;
                return 1;
            }
            k++;
            start = i + 1;
        }
    }
    return 0;
}

static int elem_vm(const dolor_dicom *d, const dcm_elem *e)
{
    if (!strcmp(e->vr, "SQ"))
        return e->nitems;
    if (!is_defined_value(e))
        return 1;
    if (e->len == 0)
        return 0;
    size_t sz = bin_size(e->vr);
    if (sz)
        return (int)(e->len / sz);
    if (!text_vr(e->vr))
        return 1;
    int n = 1;
    for (size_t i = 0; i < e->len; i++)
        n += d->buf[e->off + i] == '\\';
    return n;
}

/* returns 1 ok, 0 missing, -1 not a number */
int dcm_elem_number(const dolor_dicom *d, const dcm_elem *e, int i, double *out)
{
    if (!is_defined_value(e) || i < 0)
        return 0;
    size_t sz = bin_size(e->vr);
    if (sz) {
        if ((size_t)i >= e->len / sz)
            return 0;
        if (!strcmp(e->vr, "AT"))
            return -1;
        *out = bin_value(e, d->buf + e->off + (size_t)i * sz);
        return 1;
    }
    if (!text_vr(e->vr) && strcmp(e->vr, "UN") != 0)
        return -1;
    char tmp[96];
    if (!text_component(d, e, i, tmp, sizeof tmp))
        return 0;
    if (!tmp[0])
        return 0;
    char *endp;
    errno = 0;
    double v = strtod(tmp, &endp);
    if (endp == tmp || *endp || errno == ERANGE)
        return -1;
    *out = v;
    return 1;
}

long dcm_int(const dolor_dicom *d, uint32_t tag, long dflt)
{
    const dcm_elem *e = dcm_find(&d->ds, tag);
    double v;
    if (!e || dcm_elem_number(d, e, 0, &v) != 1 || !(v > -2147483648.0 && v < 2147483648.0))
        return dflt;
    return (long)v;
}

/* parse one path component: keyword or tag, optional [index] */
static dolor_status parse_key(const char *s, size_t n, uint32_t *tag, int *index)
{
    char name[96];
    *index = -1;
    const char *br = memchr(s, '[', n);
    size_t nl = br ? (size_t)(br - s) : n;
    if (nl == 0 || nl >= sizeof name)
        return dolor_error(DOLOR_EINVAL, "DICOM key '%.*s': empty or too long", (int)n, s);
    memcpy(name, s, nl);
    name[nl] = 0;
    if (br) {
        char *endp;
        long v = strtol(br + 1, &endp, 10);
        if (endp == br + 1 || *endp != ']' || (size_t)(endp + 1 - s) != n || v < 0 || v > 1000000)
            return dolor_error(DOLOR_EINVAL, "DICOM key '%.*s': bad item index", (int)n, s);
        *index = (int)v;
    }
    unsigned g, e;
    char c;
    if ((nl == 11 && sscanf(name, "(%4x,%4x%c", &g, &e, &c) == 3 && c == ')') ||
        (nl == 8 && strspn(name, "0123456789abcdefABCDEF") == 8 && sscanf(name, "%4x%4x", &g, &e) == 2)) {
        *tag = DCM_TAG(g, e);
        return DOLOR_OK;
    }
    const dcm_dict_entry *de = dcm_dict_by_keyword(name);
    if (!de)
        return dolor_error(DOLOR_ENOTFOUND, "DICOM key '%s': unknown keyword (use a tag such as (0028,0030))", name);
    *tag = de->tag;
    return DOLOR_OK;
}

static dolor_status find_path(const dolor_dicom *d, const char *key, const dcm_elem **out)
{
    *out = NULL;
    if (!d || !key)
        return dolor_error(DOLOR_EINVAL, "dolor_dicom: NULL argument");
    const dcm_item *it = &d->ds;
    const char *s = key;
    int top = 1;
    for (;;) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        uint32_t tag = 0;
        int index = -1;
        dolor_status st = parse_key(s, n, &tag, &index);
        if (st)
            return st;
        const dcm_elem *e = dcm_find(it, tag);
        if (!e && top)
            e = dcm_find(&d->meta, tag);
        if (!e)
            return dolor_error(DOLOR_ENOTFOUND, "%s: no attribute %s " TAGF, d->name, key, TAGA(tag));
        if (!dot) {
            if (index >= 0)
                return dolor_error(DOLOR_EINVAL, "%s: %s: an item index must be followed by '.Attribute'", d->name,
                                   key);
            *out = e;
            return DOLOR_OK;
        }
        if (strcmp(e->vr, "SQ") != 0)
            return dolor_error(DOLOR_EINVAL, "%s: %s: " TAGF " is not a sequence", d->name, key, TAGA(tag));
        if (index < 0)
            index = 0;
        if (index >= e->nitems)
            return dolor_error(DOLOR_ENOTFOUND, "%s: %s: item %d of " TAGF " does not exist (%d items)", d->name,
                               key, index, TAGA(tag), e->nitems);
        it = &e->items[index];
        s = dot + 1;
        top = 0;
    }
}

int dolor_dicom_has(const dolor_dicom *d, const char *key)
{
    const dcm_elem *e;
    return find_path(d, key, &e) == DOLOR_OK;
}

dolor_status dolor_dicom_get_string(const dolor_dicom *d, const char *key, char *buf, size_t cap)
{
    const dcm_elem *e;
    if (cap)
        buf[0] = 0;
    dolor_status s = find_path(d, key, &e);
    if (s)
        return s;
    dcm_elem_string(d, e, buf, cap);
    return DOLOR_OK;
}

dolor_status dolor_dicom_get_number(const dolor_dicom *d, const char *key, int index, double *out)
{
    const dcm_elem *e;
    dolor_status s = find_path(d, key, &e);
    if (s)
        return s;
    int r = dcm_elem_number(d, e, index, out);
    if (r == 1)
        return DOLOR_OK;
    if (r == 0)
        return dolor_error(DOLOR_ENOTFOUND, "%s: %s has no value number %d (VM %d)", d->name, key, index,
                           elem_vm(d, e));
    char tmp[64];
    dcm_elem_string(d, e, tmp, sizeof tmp);
    if (dolor_dicom_tag_is_phi(e->tag, e->vr)) /* never put identifying values into messages or logs */
        snprintf(tmp, sizeof tmp, "<hidden>");
    return dolor_error(DOLOR_EFORMAT, "%s: %s value %d is not a number ('%s', VR %s)", d->name, key, index, tmp,
                       e->vr);
}

int dolor_dicom_vm(const dolor_dicom *d, const char *key)
{
    const dcm_elem *e;
    if (find_path(d, key, &e))
        return 0;
    return elem_vm(d, e);
}

dolor_status dolor_dicom_tag_of(const char *keyword, uint32_t *tag)
{
    const dcm_dict_entry *de = keyword ? dcm_dict_by_keyword(keyword) : NULL;
    if (!de)
        return dolor_error(DOLOR_ENOTFOUND, "unknown DICOM keyword '%s'", keyword ? keyword : "(null)");
    *tag = de->tag;
    return DOLOR_OK;
}

const char *dolor_dicom_keyword_of(uint32_t tag)
{
    const dcm_dict_entry *de = dcm_dict_by_tag(tag);
    return de ? de->keyword : NULL;
}

int dolor_dicom_tag_is_phi(uint32_t tag, const char *vr)
{
    static const uint32_t phi[] = {
        0x00080014, /* InstanceCreatorUID */
        0x00080050, /* AccessionNumber */
        0x00080080, /* InstitutionName */
        0x00080081, /* InstitutionAddress */
        0x00080082, /* InstitutionCodeSequence */
        0x00080090, /* ReferringPhysicianName */
        0x00080092, /* ReferringPhysicianAddress */
        0x00080094, /* ReferringPhysicianTelephoneNumbers */
        0x00080096, /* ReferringPhysicianIdentificationSequence */
        0x00081010, /* StationName */
        0x00081040, /* InstitutionalDepartmentName */
        0x00081048, /* PhysiciansOfRecord */
        0x00081050, /* PerformingPhysicianName */
        0x00081060, /* NameOfPhysiciansReadingStudy */
        0x00081070, /* OperatorsName */
        0x00081080, /* AdmittingDiagnosesDescription */
        0x00081120, /* ReferencedPatientSequence */
        0x00081030, /* StudyDescription */
        0x0008103E, /* SeriesDescription */
        0x00081084, /* AdmittingDiagnosesCodeSequence */
        0x00082111, /* DerivationDescription */
        0x00180010, /* ContrastBolusAgent */
        0x00181000, /* DeviceSerialNumber */
        0x00181030, /* ProtocolName (may contain names) */
        0x00200010, /* StudyID */
        0x00204000, /* ImageComments */
        0x00321032, /* RequestingPhysician */
        0x00321060, /* RequestedProcedureDescription */
        0x00380010, /* AdmissionID */
        0x00380300, /* CurrentPatientLocation */
        0x00380400, /* PatientInstitutionResidence */
        0x00400006, /* ScheduledPerformingPhysicianName */
        0x00400244, /* PerformedProcedureStepStartDate */
        0x00400253, /* PerformedProcedureStepID */
        0x00401001, /* RequestedProcedureID */
        0x0040A124, /* UID */
        0x00402016, /* PlacerOrderNumberImagingServiceRequest */
        0x00402017, /* FillerOrderNumberImagingServiceRequest */
        0x00400275, /* RequestAttributesSequence */
        0x00080021, 0x00080022, 0x00080023, 0x00080020, 0x0008002A, /* dates */
        0x00080030, 0x00080031, 0x00080032, 0x00080033,             /* times */
    };
    if ((tag >> 16) == 0x0010 || (tag >> 16) == 0x1010)
        return 1;
    if (vr && (!strcmp(vr, "PN") || !strcmp(vr, "DA") || !strcmp(vr, "DT") || !strcmp(vr, "TM")))
        return 1;
    for (size_t i = 0; i < sizeof phi / sizeof *phi; i++)
        if (phi[i] == tag)
            return 1;
    if (!vr) {
        const dcm_dict_entry *de = dcm_dict_by_tag(tag);
        if (de && (!strcmp(de->vr, "PN") || !strcmp(de->vr, "DA") || !strcmp(de->vr, "DT") || !strcmp(de->vr, "TM")))
            return 1;
    }
    return 0;
}

int dolor_dicom_count(const dolor_dicom *d)
{
    return d ? d->meta.n + d->ds.n : 0;
}

void dolor_dicom_attr(const dolor_dicom *d, int index, uint32_t *tag, char vr[3])
{
    const dcm_elem *e = index < d->meta.n ? &d->meta.el[index] : &d->ds.el[index - d->meta.n];
    *tag = e->tag;
    memcpy(vr, e->vr, 3);
}
