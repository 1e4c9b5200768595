/* io: NIfTI reading and writing, checked against nibabel's view of the same
 * files (tests/fixtures/nifti/ *.txt written by tools/gen_nifti_fixtures.py). */
#define _GNU_SOURCE
#include "check.h"
#include "test_util.h"
#include "dolor/io.h"

#include <dirent.h>
#include <stdint.h>
#include <unistd.h>

typedef struct sample {
    char file[512];
    char header[32];
    int ndim;
    int64_t shape[8];
    char dtype[16];
    int qcode, scode;
    double sform[12], qform[12], best[12];
    double sum;
    double slope, inter;
    int nvoxel;
    int64_t vidx[8][5]; /* i j k t c */
    int vlen[8];
    double vval[8];
} sample;

/* Read the blocks of a fixture description; returns the count. */
static int load_samples(const char *path, sample *out, int max)
{
    dolor_test_blocks b = dolor_test_blocks_open(path);
    while (dolor_test_blocks_next(&b, out, sizeof *out, max)) {
        sample *s = b.cur;
        if (!strcmp(b.key, "file")) {
            s->slope = s->inter = NAN;
            snprintf(s->file, sizeof s->file, "%s", b.val);
        } else if (!strcmp(b.key, "header")) {
            snprintf(s->header, sizeof s->header, "%s", b.val);
        } else if (!strcmp(b.key, "shape")) {
            double v[8];
            s->ndim = dolor_test_parse_nums(b.val, v, 8);
            for (int i = 0; i < s->ndim; i++)
                s->shape[i] = (int64_t)v[i];
        } else if (!strcmp(b.key, "dtype")) {
            snprintf(s->dtype, sizeof s->dtype, "%s", b.val);
        } else if (!strcmp(b.key, "codes")) {
            sscanf(b.val, "%d %d", &s->qcode, &s->scode);
        } else if (!strcmp(b.key, "sform")) {
            dolor_test_parse_nums(b.val, s->sform, 12);
        } else if (!strcmp(b.key, "qform")) {
            dolor_test_parse_nums(b.val, s->qform, 12);
        } else if (!strcmp(b.key, "best")) {
            dolor_test_parse_nums(b.val, s->best, 12);
        } else if (!strcmp(b.key, "sum")) {
            s->sum = strtod(b.val, NULL);
        } else if (!strcmp(b.key, "scl")) {
            double v[2];
            if (dolor_test_parse_nums(b.val, v, 2) == 2) {
                s->slope = v[0];
                s->inter = v[1];
            }
        } else if (!strcmp(b.key, "voxel") && s->nvoxel < 8) {
            double v[8];
            int k = dolor_test_parse_nums(b.val, v, 8);
            int m = s->nvoxel++;
            s->vlen[m] = k - 1; /* index..., component */
            for (int i = 0; i < k - 1; i++)
                s->vidx[m][i] = (int64_t)v[i];
            s->vval[m] = v[k - 1];
        }
    }
    return b.n;
}

/* dolor geometry -> RAS affine rows 0..2 (12 numbers). */
static void ras_affine(const dolor_image *img, double a[12])
{
    for (int r = 0; r < 3; r++) {
        double f = r < 2 ? -1.0 : 1.0;
        for (int c = 0; c < 3; c++)
            a[r * 4 + c] = f * img->direction[r * 3 + c] * img->spacing[c];
        a[r * 4 + 3] = f * img->origin[r];
    }
}

static double max_diff12(const double *a, const double *b)
{
    double m = 0;
    for (int i = 0; i < 12; i++)
        m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

/* Sum of the voxel values, NaNs skipped (as numpy.nansum). */
static double image_sum(const dolor_image *img)
{
    double s = 0;
    size_t n = dolor_image_nvox(img) * (size_t)img->ncomp;
    for (size_t e = 0; e < n; e++) {
        double v = dolor_image_get(img, e);
        if (!isnan(v))
            s += v;
    }
    return s;
}

static const char *expect_dtype(const char *np)
{
    if (!strcmp(np, "rgb24") || !strcmp(np, "rgba32"))
        return "uint8";
    return np;
}

static char tmpdir[64];

/* Read, compare with nibabel, write (.nii.gz and .nii), re-read, compare. */
static void check_sample(const char *root, const sample *s)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, s->file);
    if (!DOLOR_TEST_NEED_DATA(path))
        return;
    dolor_image *img = NULL;
    dolor_status st = dolor_nifti_read(path, &img);
    CHECKF(st == DOLOR_OK, "%s: %s", path, dolor_errmsg());
    if (st)
        return;
    /* shape: trailing 1s of nibabel's shape beyond ndim are fine */
    for (int i = 0; i < s->ndim && i < 4; i++)
        CHECKF(img->size[i] == s->shape[i], "%s: size[%d] %lld vs nibabel %lld", s->file, i,
               (long long)img->size[i], (long long)s->shape[i]);
    CHECKF(img->ndim == (s->ndim < 2 ? 2 : s->ndim), "%s: ndim %d vs nibabel %d", s->file, img->ndim, s->ndim);
    CHECKF(!strcmp(dolor_dtype_name(img->dtype), expect_dtype(s->dtype)), "%s: dtype %s vs nibabel %s", s->file,
           dolor_dtype_name(img->dtype), s->dtype);
    int nc = !strcmp(s->dtype, "rgb24") ? 3 : !strcmp(s->dtype, "rgba32") ? 4 : 1;
    CHECKF(img->ncomp == nc, "%s: ncomp %d", s->file, img->ncomp);
    double sum = image_sum(img);
    CHECKF(fabs(sum - s->sum) <= 1e-9 * fmax(1.0, fabs(s->sum)), "%s: voxel sum %.17g vs nibabel %.17g", s->file, sum,
           s->sum);
    double a[12];
    ras_affine(img, a);
    double d = max_diff12(a, s->best);
    CHECKF(d <= 1e-4, "%s: RAS affine differs from nibabel's by %.3g mm", s->file, d);
    for (int v = 0; v < s->nvoxel; v++) {
        int64_t idx[4] = {0, 0, 0, 0};
        int ni = s->vlen[v] - 1;
        for (int i = 0; i < ni && i < 4; i++)
            idx[i] = s->vidx[v][i];
        int64_t c = s->vidx[v][ni];
        size_t e = (size_t)((((idx[3] * img->size[2] + idx[2]) * img->size[1] + idx[1]) * img->size[0] + idx[0]) *
                            img->ncomp + c);
        CHECKF(dolor_image_get(img, e) == s->vval[v], "%s: voxel %d = %.17g, nibabel %.17g", s->file, v,
               dolor_image_get(img, e), s->vval[v]);
    }
    /* round trip */
    const char *exts[2] = {".nii.gz", ".nii"};
    for (int x = 0; x < 2; x++) {
        char out[256];
        snprintf(out, sizeof out, "%s/rt%s", tmpdir, exts[x]);
        CHECK_OK(dolor_nifti_write(out, img));
        dolor_image *b = NULL;
        st = dolor_nifti_read(out, &b);
        CHECKF(st == DOLOR_OK, "%s reread: %s", s->file, dolor_errmsg());
        if (st)
            continue;
        CHECKF(dolor_test_same_voxels(img, b), "%s: voxels differ after a %s round trip", s->file, exts[x]);
        double g = 0;
        for (int i = 0; i < 3; i++) {
            g = fmax(g, fabs(img->origin[i] - b->origin[i]));
            g = fmax(g, fabs(img->spacing[i] - b->spacing[i]));
        }
        for (int i = 0; i < 9; i++)
            g = fmax(g, fabs(img->direction[i] - b->direction[i]));
        CHECKF(g <= 1e-4, "%s: geometry differs by %.3g after a %s round trip", s->file, g, exts[x]);
        if (img->ndim == 4)
            CHECK_NEAR(b->spacing[3], img->spacing[3], 1e-6 * img->spacing[3]);
        dolor_image_free(b);
        remove(out);
    }
    if (!isnan(s->slope)) {
        dolor_image *f = NULL;
        CHECK_OK(dolor_nifti_read_scaled(path, &f));
        if (f) {
            CHECK(f->dtype == DOLOR_F32);
            size_t n = dolor_image_nvox(img);
            double maxerr = 0;
            for (size_t e = 0; e < n; e++)
                maxerr = fmax(maxerr, fabs(dolor_image_get(f, e) -
                                           (float)(dolor_image_get(img, e) * s->slope + s->inter)));
            CHECKF(maxerr == 0, "%s: scaled voxels differ by %g", s->file, maxerr);
            dolor_image_free(f);
        }
    }
    dolor_image_free(img);
}

/* ---- the affine of a label map written by dolor, parsed from raw bytes ---- */
static float hf32(const unsigned char *h, int off)
{
    float f;
    memcpy(&f, h + off, 4);
    return f;
}
static int16_t hi16(const unsigned char *h, int off)
{
    int16_t v;
    memcpy(&v, h + off, 2);
    return v;
}

/* nifti1.h "method 2": R from the quaternion (b, c, d), a = sqrt(1-b2-c2-d2). */
static void qform_from_header(const unsigned char *h, double q[12])
{
    double b = hf32(h, 256), c = hf32(h, 260), d = hf32(h, 264);
    double qx = hf32(h, 268), qy = hf32(h, 272), qz = hf32(h, 276);
    double qfac = hf32(h, 76) < 0 ? -1.0 : 1.0;
    double dx = hf32(h, 80), dy = hf32(h, 84), dz = hf32(h, 88);
    double a = 1.0 - (b * b + c * c + d * d);
    a = a < 1e-7 ? 0.0 : sqrt(a);
    double R[3][3] = {{a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)},
                      {2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)},
                      {2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b}};
    double sc[3] = {dx, dy, dz * qfac};
    for (int r = 0; r < 3; r++) {
        for (int k = 0; k < 3; k++)
            q[r * 4 + k] = R[r][k] * sc[k];
    }
    q[3] = qx;
    q[7] = qy;
    q[11] = qz;
}

static void check_written_label_map(const sample *s, const char *fixtures)
{
    char path[1024], out[256];
    snprintf(path, sizeof path, "%s/nifti/%s", fixtures, s->file);
    snprintf(out, sizeof out, "%s/labels_written.nii", tmpdir);
    dolor_image *img = NULL;
    CHECK_OK(dolor_nifti_read(path, &img));
    if (!img)
        return;
    CHECK_OK(dolor_nifti_write(out, img));
    dolor_image_free(img);
    unsigned char h[352];
    FILE *fp = fopen(out, "rb");
    CHECK(fp && fread(h, 1, 352, fp) == 352);
    if (fp)
        fclose(fp);
    CHECK(!memcmp(h + 344, "n+1", 4));
    CHECKF(hi16(h, 252) == 1 && hi16(h, 254) == 1, "qform_code %d sform_code %d", hi16(h, 252), hi16(h, 254));
    double srow[12], q[12];
    for (int i = 0; i < 12; i++)
        srow[i] = hf32(h, 280 + 4 * i);
    qform_from_header(h, q);
    double ds = max_diff12(srow, s->sform), dq = max_diff12(q, s->qform);
    CHECKF(ds <= 1e-4, "%s written by dolor: sform differs from nibabel's by %.3g mm", s->file, ds);
    CHECKF(dq <= 1e-4, "%s written by dolor: qform differs from nibabel's by %.3g mm", s->file, dq);
    remove(out);
}

static void test_errors(const char *fixtures)
{
    char p[1024];
    dolor_image *img = (dolor_image *)1;
    snprintf(p, sizeof p, "%s/nifti/truncated.nii", fixtures);
    CHECK_ERR(dolor_nifti_read(p, &img), DOLOR_EFORMAT, "truncated: header says 10x10x10 int16");
    CHECK(img == NULL);
    CHECK_ERR(dolor_nifti_read("/nonexistent/x.nii", &img), DOLOR_EIO, "/nonexistent/x.nii");
    snprintf(p, sizeof p, "%s/nifti/small_files.txt", fixtures);
    CHECK_ERR(dolor_nifti_read(p, &img), DOLOR_EFORMAT, "sizeof_hdr");
    char cifti[1024];
    snprintf(cifti, sizeof cifti, "%s/formats/nifti/nibabel/row_major.dconn.nii", dolor_data_dir());
    if (DOLOR_TEST_NEED_DATA(cifti))
        CHECK_ERR(dolor_nifti_read(cifti, &img), DOLOR_EUNSUPPORTED, "dim[5] is 10");

    /* a .hdr/.img pair whose .img is short, then missing */
    {
        char src[1024], hdr[256], img2[256];
        snprintf(src, sizeof src, "%s/nifti/hdr_pair.hdr", fixtures);
        snprintf(hdr, sizeof hdr, "%s/pair.hdr", tmpdir);
        snprintf(img2, sizeof img2, "%s/pair.img", tmpdir);
        FILE *in = fopen(src, "rb"), *o = fopen(hdr, "wb");
        unsigned char h[348];
        CHECK(in && o && fread(h, 1, 348, in) == 348 && fwrite(h, 1, 348, o) == 348);
        if (in)
            fclose(in);
        if (o)
            fclose(o);
        o = fopen(img2, "wb");
        CHECK(o && fwrite(h, 1, 20, o) == 20);
        if (o)
            fclose(o);
        CHECK_ERR(dolor_nifti_read(hdr, &img), DOLOR_EFORMAT, "header says 3x2x2 float32 (48 bytes) but only 20 bytes");
        remove(img2);
        CHECK_ERR(dolor_nifti_read(hdr, &img), DOLOR_EIO, "pair.img");
        remove(hdr);
    }

    /* header fields damaged in memory */
    snprintf(p, sizeof p, "%s/nifti/dt_int8.nii", fixtures);
    FILE *fp = fopen(p, "rb");
    unsigned char buf[1024];
    size_t n = fp ? fread(buf, 1, sizeof buf, fp) : 0;
    if (fp)
        fclose(fp);
    CHECK(n > 352);
    unsigned char bad[1024];
    memcpy(bad, buf, n);
    int16_t v = 9;
    memcpy(bad + 40, &v, 2); /* dim[0] = 9 */
    CHECK_ERR(dolor_nifti_read_mem(bad, n, "damaged.nii", &img), DOLOR_EFORMAT, "damaged.nii: dim[0] is 9");
    memcpy(bad, buf, n);
    v = -3;
    memcpy(bad + 44, &v, 2); /* dim[2] = -3 */
    CHECK_ERR(dolor_nifti_read_mem(bad, n, "damaged.nii", &img), DOLOR_EFORMAT, "dim[2] is -3");
    memcpy(bad, buf, n);
    v = 32; /* complex64 */
    memcpy(bad + 70, &v, 2);
    CHECK_ERR(dolor_nifti_read_mem(bad, n, "damaged.nii", &img), DOLOR_EUNSUPPORTED, "datatype 32");
    memcpy(bad, buf, n);
    v = 77;
    memcpy(bad + 70, &v, 2);
    CHECK_ERR(dolor_nifti_read_mem(bad, n, "damaged.nii", &img), DOLOR_EFORMAT, "datatype 77");
    memcpy(bad, buf, n);
    float fo = 1e8f;
    memcpy(bad + 108, &fo, 4); /* vox_offset past the end */
    CHECK_ERR(dolor_nifti_read_mem(bad, n, "damaged.nii", &img), DOLOR_EFORMAT, "truncated");
    memcpy(bad, buf, 352); /* extension flag with a bad esize, data moved to 368 */
    memset(bad + 352, 0, 16);
    memcpy(bad + 368, buf + 352, n - 352);
    bad[348] = 1;
    int32_t es = 7;
    memcpy(bad + 352, &es, 4);
    fo = 368;
    memcpy(bad + 108, &fo, 4);
    CHECK_ERR(dolor_nifti_read_mem(bad, n + 16, "damaged.nii", &img), DOLOR_EFORMAT, "esize 7");
    es = 16; /* a valid empty extension: reads */
    memcpy(bad + 352, &es, 4);
    CHECK_OK(dolor_nifti_read_mem(bad, n + 16, "ext.nii", &img));
    if (img)
        CHECK(((int8_t *)img->data)[0] == ((int8_t *)buf)[352]);
    dolor_image_free(img);
    img = NULL;
    CHECK_OK(dolor_nifti_read_mem(buf, n, "good.nii", &img));
    if (img)
        CHECK(img->size[0] == 3 && img->dtype == DOLOR_I8);
    dolor_image_free(img);

    /* writer errors and atomicity */
    dolor_image *two = NULL;
    int64_t sz[3] = {4, 3, 2};
    CHECK_OK(dolor_image_create(&two, DOLOR_F32, 2, 3, sz));
    snprintf(p, sizeof p, "%s/two.nii", tmpdir);
    CHECK_ERR(dolor_nifti_write(p, two), DOLOR_EINVAL, "2 components");
    CHECK(access(p, F_OK) != 0);
    dolor_image_free(two);
    dolor_image *one = NULL;
    CHECK_OK(dolor_image_create(&one, DOLOR_U8, 1, 3, sz));
    CHECK_ERR(dolor_nifti_write("/nonexistent-dir/x.nii.gz", one), DOLOR_EIO, "/nonexistent-dir/x.nii.gz");
    snprintf(p, sizeof p, "%s/x.png", tmpdir);
    CHECK_ERR(dolor_nifti_write(p, one), DOLOR_EINVAL, ".nii");
    dolor_image_free(one);
    /* no temporary files left behind */
    DIR *d = opendir(tmpdir);
    int left = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        left += e->d_name[0] == '.' && strstr(e->d_name, ".tmp") != NULL;
    if (d)
        closedir(d);
    CHECK(left == 0);
}

/* Geometry written by dolor survives with a negative-determinant, oblique
 * direction and a 4D spacing. */
static void test_synthetic_geometry(void)
{
    dolor_image *img = NULL;
    int64_t sz[4] = {5, 4, 3, 2};
    CHECK_OK(dolor_image_create(&img, DOLOR_I16, 1, 4, sz));
    if (!img)
        return;
    double c = cos(0.3), s = sin(0.3);
    double dir[9] = {c, -s, 0, s, c, 0, 0, 0, -1}; /* det -1 */
    memcpy(img->direction, dir, sizeof dir);
    img->spacing[0] = 0.7;
    img->spacing[1] = 0.8;
    img->spacing[2] = 3.3;
    img->spacing[3] = 1500;
    img->origin[0] = -12.5;
    img->origin[1] = 30.25;
    img->origin[2] = 99;
    for (size_t e = 0; e < dolor_image_nvox(img); e++)
        dolor_image_set(img, e, (double)e * 7 - 300);
    char p[256];
    snprintf(p, sizeof p, "%s/syn.nii.gz", tmpdir);
    CHECK_OK(dolor_nifti_write(p, img));
    dolor_image *b = NULL;
    CHECK_OK(dolor_nifti_read(p, &b));
    if (b) {
        CHECK(dolor_test_same_voxels(img, b));
        for (int i = 0; i < 9; i++)
            CHECK_NEAR(b->direction[i], dir[i], 1e-6);
        for (int i = 0; i < 3; i++)
            CHECK_NEAR(b->origin[i], img->origin[i], 1e-5);
        CHECK_NEAR(b->spacing[2], 3.3, 1e-6);
        CHECK_NEAR(b->spacing[3], 1500, 1e-3);
        dolor_image_free(b);
        b = NULL;
        /* the qform alone must give the same geometry (qfac = -1): write .nii,
         * zero sform_code in the bytes, read again */
        char q[256];
        snprintf(q, sizeof q, "%s/syn.nii", tmpdir);
        CHECK_OK(dolor_nifti_write(q, img));
        FILE *fp = fopen(q, "r+b");
        CHECK(fp != NULL);
        if (fp) {
            int16_t zero = 0;
            fseek(fp, 254, SEEK_SET);
            fwrite(&zero, 2, 1, fp);
            fclose(fp);
        }
        CHECK_OK(dolor_nifti_read(q, &b));
        if (b) {
            for (int i = 0; i < 9; i++)
                CHECK_NEAR(b->direction[i], dir[i], 1e-6);
            for (int i = 0; i < 3; i++)
                CHECK_NEAR(b->origin[i], img->origin[i], 1e-5);
        }
        remove(q);
    }
    dolor_image_free(b);
    dolor_image_free(img);
    remove(p);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dolor_nifti_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    const char *fixtures = DOLOR_TEST_FIXTURES;
    char p[1024];
    static sample samples[64];
    snprintf(p, sizeof p, "%s/nifti/nibabel_samples.txt", fixtures);
    int n = load_samples(p, samples, 64);
    CHECK(n >= 12);
    for (int i = 0; i < n; i++)
        check_sample(dolor_data_dir(), &samples[i]);
    snprintf(p, sizeof p, "%s/nifti/small_files.txt", fixtures);
    char root[1024];
    snprintf(root, sizeof root, "%s/nifti", fixtures);
    n = load_samples(p, samples, 64);
    CHECK(n >= 17);
    for (int i = 0; i < n; i++) {
        check_sample(root, &samples[i]);
        if (!strcmp(samples[i].file, "oblique_labels.nii.gz") || !strcmp(samples[i].file, "flipped_labels.nii"))
            check_written_label_map(&samples[i], fixtures);
    }
    test_errors(fixtures);
    test_synthetic_geometry();
    dolor_test_rm_rf(tmpdir);
    return dolor_test_finish();
}
