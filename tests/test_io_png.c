/* io: PNG and JPEG readers/writers.
 * References: tests/fixtures/png/ from tools/gen_png_fixtures.py (a minimal PNG encoder
 * written in Python, independent of libpng, and PIL decodes of real files). */
#include "check.h"
#include "test_util.h"
#include "dolor/io.h"

#include <png.h>
#include <unistd.h>

#define FIX DOLOR_TEST_FIXTURES "/png/"

/* Every synthetic file against the sample values its encoder wrote. */
static void test_synthetic(void)
{
    FILE *fp = fopen(FIX "expected.txt", "r");
    CHECK(fp != NULL);
    if (!fp)
        return;
    static char line[65536];
    int nfiles = 0;
    while (fgets(line, sizeof line, fp)) {
        if (line[0] == '#')
            continue;
        char name[64];
        int w, h, c, bits, off = 0;
        double sx, sy;
        if (sscanf(line, "%63s %d %d %d %d %lf %lf%n", name, &w, &h, &c, &bits, &sx, &sy, &off) != 7)
            continue;
        char path[512];
        snprintf(path, sizeof path, FIX "%s.png", name);
        dolor_image *img = NULL;
        dolor_status s = dolor_png_read(path, &img);
        CHECKF(s == DOLOR_OK, "%s: %s", name, dolor_errmsg());
        if (s) {
            continue;
        }
        nfiles++;
        CHECKF(img->ndim == 2 && img->size[0] == w && img->size[1] == h && img->ncomp == c, "%s: %lldx%lld x%d", name,
               (long long)img->size[0], (long long)img->size[1], img->ncomp);
        CHECKF(img->dtype == (bits == 16 ? DOLOR_U16 : DOLOR_U8), "%s: dtype %s", name, dolor_dtype_name(img->dtype));
        CHECK_NEAR(img->spacing[0], sx, 1e-6);
        CHECK_NEAR(img->spacing[1], sy, 1e-6);
        size_t n = (size_t)w * h * c, bad = 0, k = 0;
        char *p = line + off;
        for (; k < n; k++) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p)
                break;
            p = end;
            if (dolor_image_get(img, k) != (double)v)
                bad++;
        }
        CHECKF(k == n && bad == 0, "%s: %zu of %zu samples differ (parsed %zu)", name, bad, n, k);
        dolor_image_free(img);
    }
    fclose(fp);
    CHECKF(nfiles == 18, "read %d synthetic files", nfiles);
    /* dispatch by magic bytes gives the same */
    dolor_image *a = NULL;
    CHECK_OK(dolor_image_read(FIX "pal4.png", &a));
    CHECK(a && a->dtype == DOLOR_U8 && a->ncomp == 1);
    dolor_image_free(a);
}

static void test_corrupt(void)
{
    static const char *names[] = {"bad_truncated.png", "bad_crc.png", "bad_signature.png", "bad_empty.png",
                                  "bad_header_only.png", "bad_huge.png", "bad_zlib.png"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[512];
        snprintf(path, sizeof path, FIX "%s", names[i]);
        dolor_image *img = (dolor_image *)1;
        dolor_status s = dolor_png_read(path, &img);
        CHECKF(s == DOLOR_EFORMAT && img == NULL && strstr(dolor_errmsg(), names[i]), "%s -> %s '%s'", names[i],
               dolor_status_name(s), dolor_errmsg());
        fprintf(stderr, "  %s: %s\n", names[i], dolor_errmsg());
    }
    CHECK_ERR(dolor_png_read(FIX "bad_truncated.png", &(dolor_image *){NULL}), DOLOR_EFORMAT, "truncated");
    CHECK_ERR(dolor_png_read(FIX "bad_crc.png", &(dolor_image *){NULL}), DOLOR_EFORMAT, "CRC");
    CHECK_ERR(dolor_png_read(FIX "bad_signature.png", &(dolor_image *){NULL}), DOLOR_EFORMAT, "not a PNG");
    CHECK_ERR(dolor_png_read(FIX "big_unsupported.png", &(dolor_image *){NULL}), DOLOR_EUNSUPPORTED, "limit");
    CHECK_ERR(dolor_png_read(FIX "nonexistent.png", &(dolor_image *){NULL}), DOLOR_EIO, "nonexistent.png");
    CHECK_ERR(dolor_jpeg_read(FIX "grey8.png", &(dolor_image *){NULL}), DOLOR_EFORMAT, "grey8.png");
    CHECK_ERR(dolor_jpeg_read(FIX "bad_truncated.jpg", &(dolor_image *){NULL}), DOLOR_EFORMAT, "truncated");
    CHECK_ERR(dolor_jpeg_read(FIX "cmyk.jpg", &(dolor_image *){NULL}), DOLOR_EUNSUPPORTED, "CMYK");
    CHECK_ERR(dolor_jpeg_read(FIX "nonexistent.jpg", &(dolor_image *){NULL}), DOLOR_EIO, "nonexistent.jpg");
    CHECK_ERR(dolor_jpeg_decode((const uint8_t *)"\xff\xd8\xff\xe0", 4, "mem.jpg", &(dolor_image *){NULL}),
              DOLOR_EFORMAT, "mem.jpg");

    /* Every prefix and many single-byte corruptions of a valid file: OK or DOLOR_EFORMAT, never a crash
       (run under AddressSanitizer this also proves nothing leaks on the error paths). */
    size_t len = 0;
    char *good = dolor_test_slurp(FIX "rgb16.png", &len);
    CHECK(good != NULL);
    if (!good)
        return;
    char tmp[] = "/tmp/dolor_png_XXXXXX";
    int fd = mkstemp(tmp);
    CHECK(fd >= 0);
    close(fd);
    int ok = 1, nok = 0;
    for (size_t cut = 0; cut <= len; cut++) {
        FILE *fp = fopen(tmp, "wb");
        fwrite(good, 1, cut, fp);
        fclose(fp);
        dolor_image *img = NULL;
        dolor_status s = dolor_png_read(tmp, &img);
        if (s == DOLOR_OK)
            nok++;
        ok &= (s == DOLOR_OK && img) || (s == DOLOR_EFORMAT && !img);
        dolor_image_free(img);
    }
    CHECKF(ok && nok == 1, "prefixes: only the full file reads (%d read)", nok);
    ok = 1;
    for (size_t pos = 0; pos < len; pos++) {
        for (int bit = 0; bit < 8; bit += 3) {
            char *b = malloc(len);
            memcpy(b, good, len);
            b[pos] ^= (char)(1 << bit);
            FILE *fp = fopen(tmp, "wb");
            fwrite(b, 1, len, fp);
            fclose(fp);
            free(b);
            dolor_image *img = NULL;
            dolor_status s = dolor_png_read(tmp, &img);
            ok &= (s == DOLOR_OK && img) || (s == DOLOR_EFORMAT && !img);
            dolor_image_free(img);
        }
    }
    CHECK(ok);
    free(good);
    good = dolor_test_slurp(FIX "tiny.jpg", &len);
    ok = 1;
    for (size_t cut = 0; good && cut <= len; cut++) {
        dolor_image *img = NULL;
        dolor_status s = dolor_jpeg_decode((const uint8_t *)good, cut, "cut.jpg", &img);
        ok &= (s == DOLOR_OK && img) || (s == DOLOR_EFORMAT && !img);
        dolor_image_free(img);
    }
    for (size_t pos = 0; good && pos < len; pos++) {
        char *b = malloc(len);
        memcpy(b, good, len);
        b[pos] ^= 0x5a;
        dolor_image *img = NULL;
        dolor_status s = dolor_jpeg_decode((const uint8_t *)b, len, "flip.jpg", &img);
        ok &= (s == DOLOR_OK && img) || ((s == DOLOR_EFORMAT || s == DOLOR_EUNSUPPORTED) && !img);
        dolor_image_free(img);
        free(b);
    }
    CHECK(ok);
    free(good);
    remove(tmp);
}

static void test_write(void)
{
    char dir[] = "/tmp/dolor_pngw_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[512];
    for (int dt = 0; dt < 2; dt++) {
        for (int c = 1; c <= 4; c++) {
            dolor_image *img = NULL, *back = NULL;
            CHECK_OK(dolor_image_create2d(&img, dt ? DOLOR_U16 : DOLOR_U8, c, 13, 6));
            size_t n = 13 * 6 * (size_t)c;
            for (size_t e = 0; e < n; e++)
                dolor_image_set(img, e, dt ? (double)((e * 7919 + 3) % 65536) : (double)((e * 31 + 7) % 256));
            img->spacing[0] = 0.4;
            img->spacing[1] = 0.25;
            snprintf(path, sizeof path, "%s/w_%d_%d.png", dir, dt, c);
            CHECK_OK(dolor_png_write(path, img));
            CHECK_OK(dolor_image_read(path, &back));
            if (back) {
                CHECK(back->dtype == img->dtype && back->ncomp == c && back->size[0] == 13 && back->size[1] == 6);
                CHECK(memcmp(back->data, img->data, n * dolor_dtype_size(img->dtype)) == 0);
                CHECK_NEAR(back->spacing[0], 0.4, 1e-9);
                CHECK_NEAR(back->spacing[1], 0.25, 1e-9);
            }
            dolor_image_free(img);
            dolor_image_free(back);
        }
    }
    /* 16-bit byte order in the file: big-endian per the PNG spec (checked on the raw bytes via libpng
       without swapping) */
    {
        dolor_image *img = NULL;
        CHECK_OK(dolor_image_create2d(&img, DOLOR_U16, 1, 2, 1));
        ((uint16_t *)img->data)[0] = 0x1234;
        ((uint16_t *)img->data)[1] = 0xabcd;
        snprintf(path, sizeof path, "%s/be.png", dir);
        CHECK_OK(dolor_png_write(path, img));
        dolor_image_free(img);
        FILE *fp = fopen(path, "rb");
        png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
        png_infop info = png_create_info_struct(png);
        png_init_io(png, fp);
        png_read_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
        png_bytepp rows = png_get_rows(png, info);
        CHECK(rows[0][0] == 0x12 && rows[0][1] == 0x34 && rows[0][2] == 0xab && rows[0][3] == 0xcd);
        png_destroy_read_struct(&png, &info, NULL);
        fclose(fp);
    }
    /* labels: palette PNG, indices come back, palette colours as given (rest default) */
    {
        dolor_image *lab = NULL, *back = NULL;
        CHECK_OK(dolor_image_create2d(&lab, DOLOR_U8, 1, 9, 4));
        uint8_t *d = lab->data;
        for (int i = 0; i < 36; i++)
            d[i] = (uint8_t)(i % 3);
        d[35] = 7;
        const uint8_t pal[6] = {0, 0, 0, 10, 20, 30};
        snprintf(path, sizeof path, "%s/labels.png", dir);
        CHECK_OK(dolor_png_write_labels(path, lab, pal, 2));
        CHECK_OK(dolor_png_read(path, &back));
        CHECK(back && back->dtype == DOLOR_U8 && back->ncomp == 1 && memcmp(back->data, lab->data, 36) == 0);
        dolor_image_free(back);
        FILE *fp = fopen(path, "rb");
        png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
        png_infop info = png_create_info_struct(png);
        png_init_io(png, fp);
        png_read_info(png, info);
        png_colorp plte = NULL;
        int npal = 0;
        CHECK(png_get_color_type(png, info) == PNG_COLOR_TYPE_PALETTE);
        CHECK(png_get_PLTE(png, info, &plte, &npal) && npal == 8);
        CHECK(plte && plte[1].red == 10 && plte[1].green == 20 && plte[1].blue == 30 && plte[0].red == 0);
        CHECK(plte && (plte[2].red | plte[2].green | plte[2].blue) != 0); /* default colour, not black */
        png_destroy_read_struct(&png, &info, NULL);
        fclose(fp);
        /* int32 label map with values in range converts; 300 does not fit */
        dolor_image *l32 = NULL;
        CHECK_OK(dolor_image_convert(lab, DOLOR_I32, &l32));
        snprintf(path, sizeof path, "%s/labels32.png", dir);
        CHECK_OK(dolor_png_write_labels(path, l32, NULL, 0));
        CHECK_OK(dolor_png_read(path, &back));
        CHECK(back && memcmp(back->data, lab->data, 36) == 0);
        dolor_image_free(back);
        ((int32_t *)l32->data)[5] = 300;
        CHECK_ERR(dolor_png_write_labels(path, l32, NULL, 0), DOLOR_EINVAL, "300");
        dolor_image_free(l32);
        CHECK_ERR(dolor_png_write_labels(path, lab, pal, 0), DOLOR_EINVAL, "palette");
        dolor_image_free(lab);
    }
    /* writer errors, and a failed write leaves nothing behind */
    {
        dolor_image *f = NULL;
        CHECK_OK(dolor_image_create2d(&f, DOLOR_F32, 1, 4, 4));
        snprintf(path, sizeof path, "%s/f.png", dir);
        CHECK_ERR(dolor_png_write(path, f), DOLOR_EINVAL, "float32");
        CHECK(access(path, F_OK) != 0);
        dolor_image_free(f);
        int64_t sz[3] = {4, 4, 2};
        CHECK_OK(dolor_image_create(&f, DOLOR_U8, 1, 3, sz));
        CHECK_ERR(dolor_png_write(path, f), DOLOR_EINVAL, "2D");
        dolor_image_free(f);
        CHECK_OK(dolor_image_create2d(&f, DOLOR_U8, 1, 4, 4));
        CHECK_ERR(dolor_png_write("/nonexistent-dir/x.png", f), DOLOR_EIO, "/nonexistent-dir/x.png");
        dolor_image_free(f);
    }
    CHECK(dolor_test_rm_rf(dir) == 0);
}

/* Real files in place, against PIL's decode (tests/fixtures/png/real.txt). */
static void test_real(void)
{
    FILE *fp = fopen(FIX "real.txt", "r");
    CHECK(fp != NULL);
    if (!fp)
        return;
    char line[4096];
    while (fgets(line, sizeof line, fp)) {
        if (line[0] == '#')
            continue;
        char rel[256];
        int w, h, c, off = 0;
        long long sum, sumsq;
        if (sscanf(line, "%255s %d %d %d %lld %lld%n", rel, &w, &h, &c, &sum, &sumsq, &off) != 6)
            continue;
        char path[1024];
        if (strncmp(rel, "FIXTURE:", 8) == 0)
            snprintf(path, sizeof path, FIX "%s", rel + 8);
        else
            snprintf(path, sizeof path, "%s/%s", dolor_data_dir(), rel);
        if (!DOLOR_TEST_NEED_DATA(path))
            continue;
        int is_jpeg = strstr(rel, ".jpg") != NULL;
        dolor_image *img = NULL;
        dolor_status s = dolor_image_read(path, &img);
        CHECKF(s == DOLOR_OK, "%s: %s", rel, dolor_errmsg());
        if (s)
            continue;
        CHECKF(img->size[0] == w && img->size[1] == h && img->ncomp == c && img->dtype == DOLOR_U8,
               "%s: %lldx%lld x%d", rel, (long long)img->size[0], (long long)img->size[1], img->ncomp);
        if (img->size[0] != w || img->size[1] != h || img->ncomp != c) {
            dolor_image_free(img);
            continue;
        }
        size_t n = (size_t)w * h * c;
        long long s1 = 0, s2 = 0;
        const uint8_t *d = img->data;
        for (size_t e = 0; e < n; e++) {
            s1 += d[e];
            s2 += (long long)d[e] * d[e];
        }
        /* same IDCT (libjpeg-turbo islow) as PIL: exact; allow 1e-4 relative for another libjpeg build */
        double tol = is_jpeg ? 1e-4 : 0.0;
        CHECKF(llabs(s1 - sum) <= tol * (double)sum, "%s: sum %lld, PIL %lld", rel, s1, sum);
        CHECKF(llabs(s2 - sumsq) <= tol * (double)sumsq, "%s: sumsq %lld, PIL %lld", rel, s2, sumsq);
        char *p = line + off;
        int npts = 0, bad = 0;
        while (*p) {
            int x, y, nc = 0;
            if (sscanf(p, " %d,%d:%n", &x, &y, &nc) != 2)
                break;
            p += nc;
            for (int k = 0; k < c; k++) {
                char *end;
                long v = strtol(p, &end, 10);
                p = end;
                if (*p == ',')
                    p++;
                int got = d[((size_t)y * w + x) * c + k];
                if (labs(got - v) > (is_jpeg ? 1 : 0))
                    bad++;
            }
            npts++;
        }
        CHECKF(npts >= 3 && bad == 0, "%s: %d of %d pixel samples differ from PIL", rel, bad, npts);
        dolor_image_free(img);
    }
    fclose(fp);

    /* the JPEG memory decoder gives the same pixels as the file decoder */
    size_t len;
    char *buf = dolor_test_slurp(FIX "tiny.jpg", &len);
    dolor_image *a = NULL, *b = NULL;
    CHECK_OK(dolor_jpeg_read(FIX "tiny.jpg", &a));
    CHECK_OK(dolor_jpeg_decode((const uint8_t *)buf, len, "tiny.jpg", &b));
    CHECK(a && b && a->ncomp == 3 && memcmp(a->data, b->data, 16 * 16 * 3) == 0);
    dolor_image_free(a);
    dolor_image_free(b);
    free(buf);
}

/* The whole usgra-nerve folder: every image and mask reads, sizes agree, masks hold 0/1/2 only. */
static void test_usgra_all(void)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/usgra-nerve/masks", dolor_data_dir());
    if (!DOLOR_TEST_NEED_DATA(dir))
        return;
    int nread = 0, bad_size = 0, bad_val = 0, with_vessel = 0;
    double t0 = dolor_time_ms(), bytes = 0;
    for (int i = 0; i < 400; i++) {
        char ip[1100], mp[1100];
        snprintf(ip, sizeof ip, "%s/usgra-nerve/images/%04d.png", dolor_data_dir(), i);
        snprintf(mp, sizeof mp, "%s/usgra-nerve/masks/%04d.png", dolor_data_dir(), i);
        if (access(ip, F_OK) != 0)
            continue;
        dolor_image *im = NULL, *m = NULL;
        dolor_status s1 = dolor_png_read(ip, &im), s2 = dolor_png_read(mp, &m);
        CHECKF(s1 == DOLOR_OK && s2 == DOLOR_OK, "%04d: %s", i, dolor_errmsg());
        if (!s1 && !s2) {
            nread++;
            bytes += (double)dolor_image_nvox(im) * im->ncomp + (double)dolor_image_nvox(m);
            if (im->size[0] != m->size[0] || im->size[1] != m->size[1] || m->ncomp != 1 || m->dtype != DOLOR_U8)
                bad_size++;
            const uint8_t *d = m->data;
            int has2 = 0;
            for (size_t k = 0; k < dolor_image_nvox(m); k++) {
                if (d[k] > 2)
                    bad_val++;
                has2 |= d[k] == 2;
            }
            with_vessel += has2;
        }
        dolor_image_free(im);
        dolor_image_free(m);
    }
    double ms = dolor_time_ms() - t0;
    CHECKF(nread == 204, "read %d pairs", nread);
    CHECK(bad_size == 0 && bad_val == 0);
    CHECKF(with_vessel == 183, "%d masks with a vessel (dataset README: 183)", with_vessel);
    fprintf(stderr, "  usgra-nerve: %d image/mask pairs decoded in %.0f ms (%.1f MB/s of samples)\n", nread, ms,
            bytes / 1e6 / (ms / 1000.0));
}

int main(void)
{
    test_synthetic();
    test_corrupt();
    test_write();
    test_real();
    test_usgra_all();
    return dolor_test_finish();
}
