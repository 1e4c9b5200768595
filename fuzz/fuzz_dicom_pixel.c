/* libFuzzer target: the DICOM pixel decoders (RLE, JPEG baseline/extended/
 * lossless, JPEG-LS, JPEG 2000 and whatever else src/io/dicom_pixel.c decodes)
 * behind a fixed, valid header. The input is 5 parameter bytes followed by the
 * compressed data:
 *   [0] transfer syntax (index into tsx[], modulo its size)
 *   [1] columns - 1, [2] rows - 1 (1..256 each)
 *   [3] low nibble: bits allocated/stored/signed (index into bits[]);
 *       high nibble: photometric interpretation and samples (index into phot[]);
 *       bit 7 also sets planar configuration 1 for 3-sample images
 *   [4] bits 0-1: frames - 1; bit 2: two fragments per frame; bit 3: a basic
 *       offset table with the right offsets (else an empty one)
 *   [5..] the compressed frames: split evenly into frames x fragments.
 * tools/fuzz_corpus.py writes seeds in this layout from gdcmconv/opj_compress output. */
#include "dolor/io.h"

#include <stdlib.h>
#include <string.h>

static const char *const tsx[] = {
    "1.2.840.10008.1.2.5",      /* RLE Lossless */
    "1.2.840.10008.1.2.4.50",   /* JPEG Baseline */
    "1.2.840.10008.1.2.4.51",   /* JPEG Extended (12-bit) */
    "1.2.840.10008.1.2.4.57",   /* JPEG Lossless, process 14 */
    "1.2.840.10008.1.2.4.70",   /* JPEG Lossless, selection value 1 */
    "1.2.840.10008.1.2.4.80",   /* JPEG-LS lossless */
    "1.2.840.10008.1.2.4.81",   /* JPEG-LS near-lossless */
    "1.2.840.10008.1.2.4.90",   /* JPEG 2000 lossless */
    "1.2.840.10008.1.2.4.91",   /* JPEG 2000 */
    "1.2.840.10008.1.2.4.201",  /* HTJ2K lossless */
    "1.2.840.10008.1.2.4.202",  /* HTJ2K lossless RPCL */
    "1.2.840.10008.1.2.4.203",  /* HTJ2K */
};
static const struct { int alloc, stored, sign; } bits[] = {
    {8, 8, 0}, {16, 16, 0}, {16, 12, 0}, {16, 16, 1}, {16, 12, 1}, {8, 8, 1}, {32, 32, 0}, {1, 1, 0},
    {16, 10, 0}, {8, 6, 0}, {32, 24, 1}, {16, 8, 0},
};
static const struct { const char *name; int samples; } phot[] = {
    {"MONOCHROME2", 1}, {"MONOCHROME1", 1}, {"RGB", 3}, {"YBR_FULL", 3}, {"YBR_FULL_422", 3},
    {"YBR_ICT", 3}, {"YBR_RCT", 3}, {"PALETTE COLOR", 1},
};

typedef struct { uint8_t *b; size_t n, cap; } buf;

static void put(buf *o, const void *p, size_t n)
{
    if (o->n + n > o->cap) {
        size_t c = (o->n + n) * 2;
        uint8_t *nb = realloc(o->b, c);
        if (!nb)
            abort();
        o->b = nb;
        o->cap = c;
    }
    memcpy(o->b + o->n, p, n);
    o->n += n;
}
static void u16(buf *o, unsigned v) { uint8_t b[2] = {v & 255, v >> 8}; put(o, b, 2); }
static void u32(buf *o, uint32_t v) { uint8_t b[4] = {v & 255, v >> 8 & 255, v >> 16 & 255, v >> 24}; put(o, b, 4); }

/* explicit VR little endian element with a short (2-byte) length */
static void elem(buf *o, unsigned g, unsigned e, const char *vr, const void *val, size_t n, char pad)
{
    size_t len = n + (n & 1);
    u16(o, g);
    u16(o, e);
    put(o, vr, 2);
    u16(o, (unsigned)len);
    put(o, val, n);
    if (n & 1)
        put(o, &pad, 1);
}
static void str(buf *o, unsigned g, unsigned e, const char *vr, const char *s)
{
    elem(o, g, e, vr, s, strlen(s), strcmp(vr, "UI") ? ' ' : '\0');
}
static void us(buf *o, unsigned g, unsigned e, unsigned v)
{
    uint8_t b[2] = {v & 255, v >> 8};
    elem(o, g, e, "US", b, 2, 0);
}
static void item(buf *o, unsigned e, uint32_t len) { u16(o, 0xFFFE); u16(o, e); u32(o, len); }

/* The DICOM file for one input into *file (malloc'ed); its length, 0 if the input is too short. */
static size_t pixel_dicom(const uint8_t *data, size_t size, uint8_t **file)
{
    *file = NULL;
    if (size < 5)
        return 0;
    const char *ts = tsx[data[0] % (sizeof tsx / sizeof *tsx)];
    int cols = data[1] + 1, rows = data[2] + 1;
    int bi = (data[3] & 15) % (int)(sizeof bits / sizeof *bits);
    int pi = (data[3] >> 4 & 7) % (int)(sizeof phot / sizeof *phot);
    int planar = data[3] >> 7 & 1;
    int frames = (data[4] & 3) + 1, nfrag = data[4] >> 2 & 1 ? 2 : 1, bot = data[4] >> 3 & 1;
    const uint8_t *px = data + 5;
    size_t npx = size - 5;

    buf m = {0}, o = {0};
    /* meta group */
    static const uint8_t version[2] = {0, 1};
    u16(&m, 2); u16(&m, 1); put(&m, "OB\0\0", 4); u32(&m, 2); put(&m, version, 2);
    str(&m, 2, 2, "UI", "1.2.840.10008.5.1.4.1.1.7");
    str(&m, 2, 3, "UI", "1.2.3.4");
    str(&m, 2, 0x10, "UI", ts);
    uint8_t zero[128] = {0};
    put(&o, zero, 128);
    put(&o, "DICM", 4);
    uint8_t gl[4] = {m.n & 255, m.n >> 8 & 255, m.n >> 16 & 255, m.n >> 24};
    elem(&o, 2, 0, "UL", gl, 4, 0);
    put(&o, m.b, m.n);
    /* data set */
    str(&o, 8, 0x16, "UI", "1.2.840.10008.5.1.4.1.1.7");
    us(&o, 0x28, 2, (unsigned)phot[pi].samples);
    str(&o, 0x28, 4, "CS", phot[pi].name);
    if (phot[pi].samples == 3)
        us(&o, 0x28, 6, (unsigned)planar);
    char nf[8];
    snprintf(nf, sizeof nf, "%d", frames);
    str(&o, 0x28, 8, "IS", nf);
    us(&o, 0x28, 0x10, (unsigned)rows);
    us(&o, 0x28, 0x11, (unsigned)cols);
    us(&o, 0x28, 0x100, (unsigned)bits[bi].alloc);
    us(&o, 0x28, 0x101, (unsigned)bits[bi].stored);
    us(&o, 0x28, 0x102, (unsigned)bits[bi].stored - 1);
    us(&o, 0x28, 0x103, (unsigned)bits[bi].sign);
    /* encapsulated pixel data: frames x nfrag fragments of (even) lengths */
    u16(&o, 0x7FE0); u16(&o, 0x10); put(&o, "OB\0\0", 4); u32(&o, 0xFFFFFFFFu);
    int total = frames * nfrag;
    size_t per = npx / (size_t)total;
    size_t lens[8], off = 0;
    for (int k = 0; k < total; k++)
        lens[k] = k == total - 1 ? npx - per * (size_t)(total - 1) : per;
    if (bot) {
        item(&o, 0xE000, 4u * (uint32_t)frames);
        uint32_t at = 0;
        for (int f = 0; f < frames; f++) {
            u32(&o, at);
            for (int k = 0; k < nfrag; k++)
                at += 8 + (uint32_t)(lens[f * nfrag + k] + (lens[f * nfrag + k] & 1));
        }
    } else {
        item(&o, 0xE000, 0);
    }
    for (int k = 0; k < total; k++) {
        size_t n = lens[k];
        item(&o, 0xE000, (uint32_t)(n + (n & 1)));
        put(&o, px + off, n);
        if (n & 1)
            put(&o, zero, 1);
        off += n;
    }
    item(&o, 0xE0DD, 0);
    free(m.b);
    *file = o.b;
    return o.n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *file;
    size_t n = pixel_dicom(data, size, &file);
    if (!n)
        return 0;
    dolor_dicom *d = NULL;
    if (dolor_dicom_open_memory(file, n, "fuzz-pixel.dcm", &d) == DOLOR_OK) {
        dolor_image *img = NULL;
        if (dolor_dicom_read_image(d, &img) == DOLOR_OK) {
            volatile double s = 0;
            size_t nv = dolor_image_nvox(img) * (size_t)img->ncomp;
            for (size_t i = 0; i < nv; i++)
                s += dolor_image_get(img, i);
            (void)s;
        }
        dolor_image_free(img);
    }
    dolor_dicom_free(d);
    free(file);
    return 0;
}
