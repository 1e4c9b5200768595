/* data: preprocessing against PyTorch F.interpolate (fixture from tools/gen_data_fixtures.py), mask mapping,
 * augmentation geometry and determinism, dataset strictness on temporary folders, splits, the batch loader,
 * and the real usgra-nerve / kvasir-seg folders when present. */
#include "check.h"
#include "test_util.h"
#include "dolor/data.h"
#include "dolor/io.h"

#include <math.h>
#include <unistd.h>

#define FIX DOLOR_TEST_FIXTURES "/data/"

/* ---------------- preprocessing vs PyTorch ---------------- */

static double *parse_nums(char *p, size_t *n)
{
    size_t cap = 256;
    double *v = malloc(cap * sizeof *v);
    *n = 0;
    for (;;) {
        char *end;
        double x = strtod(p, &end);
        if (end == p)
            break;
        p = end;
        if (*n == cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
        v[(*n)++] = x;
    }
    return v;
}

static void test_fixture(void)
{
    FILE *fp = fopen(FIX "resize.txt", "r");
    CHECK(fp != NULL);
    if (!fp)
        return;
    static char head[1024], lin[1 << 20], lout[1 << 20];
    int npre = 0, nbil = 0, nnear = 0;
    while (fgets(head, sizeof head, fp)) {
        if (head[0] == '#')
            continue;
        if (!fgets(lin, sizeof lin, fp) || !fgets(lout, sizeof lout, fp))
            break;
        size_t nin, nout;
        double *in = parse_nums(lin + 3, &nin), *out = parse_nums(lout + 4, &nout);
        char name[64];
        int c, bits, w, h, H, W;
        if (sscanf(head, "pre %63s %d %d %d %d %d %d", name, &c, &bits, &w, &h, &H, &W) == 7) {
            dolor_image *img = NULL;
            CHECK_OK(dolor_image_create2d(&img, bits == 16 ? DOLOR_U16 : DOLOR_U8, c, w, h));
            CHECK(nin == (size_t)w * h * c && nout == (size_t)H * W);
            for (size_t e = 0; e < nin; e++)
                dolor_image_set(img, e, in[e]);
            float *o = malloc(sizeof(float) * H * W);
            CHECK_OK(dolor_preprocess_image(img, H, W, o));
            double md = 0;
            for (size_t k = 0; k < nout; k++)
                md = fmax(md, fabs(o[k] - out[k]));
            CHECKF(md < 2e-5, "pre %s: max |dolor - torch| = %.3g (z units)", name, md);
            free(o);
            dolor_image_free(img);
            npre++;
        } else if (sscanf(head, "bil %d %d %d %d %d", &c, &h, &w, &H, &W) == 5) {
            float *src = malloc(sizeof(float) * nin), *dst = malloc(sizeof(float) * nout);
            for (size_t k = 0; k < nin; k++)
                src[k] = (float)in[k];
            dolor_resize_bilinear(src, c, h, w, dst, H, W);
            double md = 0;
            for (size_t k = 0; k < nout; k++)
                md = fmax(md, fabs(dst[k] - out[k]));
            CHECKF(nout == (size_t)c * H * W && md < 1e-5, "bil %dx%dx%d -> %dx%d: max diff %.3g", c, h, w, H, W, md);
            free(src);
            free(dst);
            nbil++;
        } else if (sscanf(head, "near %d %d %d %d %d", &w, &h, &H, &W, &c) == 5) {
            int lv[8] = {0};
            char *p = head;
            for (int k = 0; k < 6; k++) /* skip "near w h H W n" */
                p = strchr(p, ' ') + 1;
            for (int k = 0; k < c; k++)
                lv[k] = (int)strtol(p, &p, 10);
            dolor_image *m = NULL;
            CHECK_OK(dolor_image_create2d(&m, DOLOR_U8, 1, w, h));
            for (size_t e = 0; e < nin; e++)
                ((uint8_t *)m->data)[e] = (uint8_t)in[e];
            uint8_t *o = malloc((size_t)H * W);
            CHECK_OK(dolor_preprocess_mask(m, c, lv, H, W, o, "near.png"));
            size_t bad = 0;
            for (size_t k = 0; k < nout; k++)
                bad += o[k] != (uint8_t)out[k];
            CHECKF(bad == 0 && nout == (size_t)H * W, "near %dx%d -> %dx%d: %zu pixels differ from torch", w, h, W, H,
                   bad);
            free(o);
            dolor_image_free(m);
            nnear++;
        }
        free(in);
        free(out);
    }
    fclose(fp);
    CHECK(npre == 5 && nbil == 3 && nnear == 3);
}

static void test_zscore_and_mask_errors(void)
{
    dolor_image *img = NULL;
    CHECK_OK(dolor_image_create2d(&img, DOLOR_U8, 3, 40, 30));
    dolor_rng r;
    dolor_rng_seed(&r, 7);
    for (size_t e = 0; e < 40 * 30 * 3; e++)
        ((uint8_t *)img->data)[e] = (uint8_t)dolor_rng_below(&r, 256);
    float out[24 * 20];
    CHECK_OK(dolor_preprocess_image(img, 20, 24, out));
    double s = 0, ss = 0;
    for (int k = 0; k < 480; k++)
        s += out[k];
    for (int k = 0; k < 480; k++)
        ss += (out[k] - s / 480) * (out[k] - s / 480);
    CHECK_NEAR(s / 480, 0.0, 1e-6);
    CHECK_NEAR(sqrt(ss / 480), 1.0, 1e-5);
    /* a constant image: sd < 1e-6 -> divide by 1 -> all 0 */
    memset(img->data, 77, 40 * 30 * 3);
    CHECK_OK(dolor_preprocess_image(img, 20, 24, out));
    int allz = 1;
    for (int k = 0; k < 480; k++)
        allz &= out[k] == 0.0f;
    CHECK(allz);
    CHECK_ERR(dolor_preprocess_image(img, 0, 24, out), DOLOR_EINVAL, "0");
    dolor_image_free(img);
    int64_t sz3[3] = {4, 4, 3};
    CHECK_OK(dolor_image_create(&img, DOLOR_U8, 1, 3, sz3));
    CHECK_ERR(dolor_preprocess_image(img, 4, 4, out), DOLOR_ESHAPE, "2D");
    dolor_image_free(img);

    /* mask mapping: value 3 with 120 pixels is not listed */
    dolor_image *m = NULL;
    CHECK_OK(dolor_image_create2d(&m, DOLOR_U8, 1, 20, 20));
    uint8_t *d = m->data;
    for (int k = 0; k < 400; k++)
        d[k] = (uint8_t)(k % 3);
    for (int k = 0; k < 120; k++)
        d[k * 3] = 3;
    uint8_t mo[100];
    static const int lv012[3] = {0, 1, 2};
    CHECK_ERR(dolor_preprocess_mask(m, 3, lv012, 10, 10, mo, "masks/0007.png"), DOLOR_EINVAL,
              "masks/0007.png: label value 3 (120 pixels) is not one of 0,1,2");
    d[1] = 9;
    CHECK_ERR(dolor_preprocess_mask(m, 3, lv012, 10, 10, mo, "m.png"), DOLOR_EINVAL,
              "label value 3 (120 pixels) is not one of 0,1,2 (121 pixels");
    /* an unlisted value only where nearest sampling would skip it is still found */
    for (int k = 0; k < 400; k++)
        d[k] = 0;
    d[20 * 19 + 19] = 5; /* bottom-right corner; 20 -> 10 nearest takes even indices */
    CHECK_ERR(dolor_preprocess_mask(m, 3, lv012, 10, 10, mo, "m.png"), DOLOR_EINVAL, "label value 5 (1 pixels)");
    /* label values mapped to indices */
    for (int k = 0; k < 400; k++)
        d[k] = (uint8_t)((k % 20) < 10 ? 0 : 255);
    static const int lv0255[2] = {0, 255};
    CHECK_OK(dolor_preprocess_mask(m, 2, lv0255, 10, 10, mo, "m.png"));
    CHECK(mo[0] == 0 && mo[4] == 0 && mo[5] == 1 && mo[99] == 1);
    dolor_image_free(m);
    /* colour mask: 0xRRGGBB values */
    CHECK_OK(dolor_image_create2d(&m, DOLOR_U8, 3, 4, 1));
    uint8_t rgb[12] = {0, 0, 0, 255, 0, 0, 0, 255, 0, 255, 0, 0};
    memcpy(m->data, rgb, 12);
    static const int lvc[3] = {0, 0xFF0000, 0x00FF00};
    CHECK_OK(dolor_preprocess_mask(m, 3, lvc, 1, 4, mo, "c.png"));
    CHECK(mo[0] == 0 && mo[1] == 1 && mo[2] == 2 && mo[3] == 1);
    dolor_image_free(m);
}

/* ---------------- augmentation ---------------- */

static void test_augment(void)
{
    enum { H = 64, W = 80 };
    static float img[H * W], ref[H * W];
    static uint8_t mask[H * W], mref[H * W];
    void *work = dolor_alloc_aligned(dolor_augment_work_size(H, W));
    CHECK(dolor_augment_work_size(H, W) == (size_t)H * W * 5);
    /* an off-centre disc: image 1 inside, -1 outside; mask 1 inside */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int in = (x - 55) * (x - 55) + (y - 22) * (y - 22) <= 100;
            img[y * W + x] = in ? 1.0f : -1.0f;
            mask[y * W + x] = (uint8_t)in;
        }
    memcpy(ref, img, sizeof img);
    memcpy(mref, mask, sizeof mask);
    dolor_augment_config a;
    dolor_augment_config_default(&a);
    CHECK(a.rotate_deg == 15 && a.hflip == 1 && a.brightness == 0.1 && a.contrast == 0.2 && a.gamma == 0.2);
    a.rotate_deg = 40;
    a.brightness = a.contrast = a.gamma = 0; /* geometry only */
    dolor_rng r;
    dolor_rng_seed(&r, 99);
    int agree_ok = 1, centroid_ok = 1, nflip = 0;
    for (int t = 0; t < 20; t++) {
        memcpy(img, ref, sizeof img);
        memcpy(mask, mref, sizeof mask);
        dolor_rng r2 = r;
        dolor_augment_params p;
        dolor_augment_draw(&a, &r2, &p);
        nflip += p.flip;
        dolor_augment_apply(&a, &r, img, mask, H, W, work);
        /* image thresholded at 0 agrees with the mask except on the rim */
        int dis = 0, area = 0;
        double mx = 0, my = 0;
        for (int k = 0; k < H * W; k++) {
            dis += (img[k] > 0) != (mask[k] == 1);
            if (mask[k]) {
                area++;
                mx += k % W;
                my += k / W;
            }
        }
        agree_ok &= dis <= 12 && area > 290 && area < 340;
        /* the disc centre moves where the rotation (CCW on screen) and flip send it */
        double th = p.angle_deg * M_PI / 180, cx = (W - 1) / 2.0, cy = (H - 1) / 2.0;
        double dx = 55 - cx, dy = 22 - cy;
        double ex = cx + cos(th) * dx + sin(th) * dy, ey = cy - sin(th) * dx + cos(th) * dy;
        if (p.flip)
            ex = W - 1 - ex;
        centroid_ok &= fabs(mx / area - ex) < 0.5 && fabs(my / area - ey) < 0.5;
        if (fabs(mx / area - ex) >= 0.5 || fabs(my / area - ey) >= 0.5)
            fprintf(stderr, "  angle %.2f flip %d: centroid (%.2f, %.2f), expected (%.2f, %.2f)\n", p.angle_deg, p.flip,
                    mx / area, my / area, ex, ey);
    }
    CHECK(agree_ok);
    CHECK(centroid_ok);
    CHECK(nflip > 2 && nflip < 18);

    /* exact 90 degrees on a square: out[y][x] = in[x][n-1-y]; outside-fill never used */
    enum { N = 9 };
    float sq[N * N], sq0[N * N];
    uint8_t sm[N * N], sm0[N * N];
    for (int k = 0; k < N * N; k++) {
        sq0[k] = (float)k;
        sm0[k] = (uint8_t)k;
    }
    memcpy(sq, sq0, sizeof sq);
    memcpy(sm, sm0, sizeof sm);
    dolor_augment_params p90 = {90.0, 0, 0.0, 1.0, 1.0};
    dolor_augment_apply_params(&p90, sq, sm, N, N, work);
    int rot_ok = 1;
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++) {
            rot_ok &= fabsf(sq[y * N + x] - sq0[x * N + (N - 1 - y)]) < 1e-4f;
            rot_ok &= sm[y * N + x] == sm0[x * N + (N - 1 - y)];
        }
    CHECK(rot_ok);
    /* the right-hand middle pixel goes to the top (counter-clockwise on screen) */
    CHECK(sm[0 * N + 4] == sm0[4 * N + 8]);
    /* flip only: exact mirror */
    memcpy(sq, sq0, sizeof sq);
    memcpy(sm, sm0, sizeof sm);
    dolor_augment_params pf = {0.0, 1, 0.0, 1.0, 1.0};
    dolor_augment_apply_params(&pf, sq, sm, N, N, work);
    CHECK(sq[0] == sq0[N - 1] && sm[N * 3 + 2] == sm0[N * 3 + N - 3]);
    /* intensity: gamma on min-max normalised, then contrast, then brightness */
    float v[4] = {-1.0f, 0.0f, 1.0f, 3.0f};
    dolor_augment_params pi = {0.0, 0, 0.25, 1.5, 2.0};
    dolor_augment_apply_params(&pi, v, NULL, 1, 4, work);
    /* t = (x+1)/4; x' = -1 + 4 t^2; then *1.5 + 0.25 */
    CHECK_NEAR(v[0], -1.5 + 0.25, 1e-6);
    CHECK_NEAR(v[1], (-1 + 4 * 0.0625) * 1.5 + 0.25, 1e-6);
    CHECK_NEAR(v[2], (-1 + 4 * 0.25) * 1.5 + 0.25, 1e-6);
    CHECK_NEAR(v[3], 3 * 1.5 + 0.25, 1e-6);
    /* neutral parameters change nothing; zero ranges draw neutral values */
    dolor_augment_config z = {0, 0, 0, 0, 0};
    dolor_augment_params pz;
    dolor_rng_seed(&r, 3);
    dolor_augment_draw(&z, &r, &pz);
    CHECK(pz.angle_deg == 0 && pz.flip == 0 && pz.brightness == 0 && pz.contrast == 1 && pz.gamma == 1);
    memcpy(img, ref, sizeof img);
    dolor_augment_apply_params(&pz, img, NULL, H, W, work);
    CHECK(memcmp(img, ref, sizeof img) == 0);
    /* determinism: same seed, same result; different seed, different result */
    dolor_augment_config_default(&a);
    static float i1[H * W], i2[H * W];
    static uint8_t m1[H * W], m2[H * W];
    memcpy(i1, ref, sizeof img);
    memcpy(i2, ref, sizeof img);
    memcpy(m1, mref, sizeof mask);
    memcpy(m2, mref, sizeof mask);
    dolor_rng ra, rb;
    dolor_rng_seed(&ra, 1234);
    dolor_rng_seed(&rb, 1234);
    dolor_augment_apply(&a, &ra, i1, m1, H, W, work);
    dolor_augment_apply(&a, &rb, i2, m2, H, W, work);
    CHECK(memcmp(i1, i2, sizeof i1) == 0 && memcmp(m1, m2, sizeof m1) == 0);
    memcpy(i2, ref, sizeof img);
    dolor_rng_seed(&rb, 1235);
    dolor_augment_apply(&a, &rb, i2, m2, H, W, work);
    CHECK(memcmp(i1, i2, sizeof i1) != 0);
    dolor_free_aligned(work);
}

/* ---------------- datasets on temporary folders ---------------- */

static char root[] = "/tmp/dolor_data_XXXXXX";

static void path_in(char *buf, size_t n, const char *sub, const char *name)
{
    snprintf(buf, n, "%s/%s/%s", root, sub, name);
}

/* grey image w x h with a gradient + case number; mask with values from lv (0..2 pattern) */
static void write_case(const char *sub_img, const char *sub_mask, const char *stem, int w, int h, int mw, int mh,
                       const int *lv, int bad_value)
{
    char p[512], name[64];
    dolor_image *img = NULL, *m = NULL;
    dolor_image_create2d(&img, DOLOR_U8, 1, w, h);
    for (int k = 0; k < w * h; k++)
        ((uint8_t *)img->data)[k] = (uint8_t)((k * 37 + atoi(stem) * 11) % 256);
    if (sub_img) {
        snprintf(name, sizeof name, "%s.png", stem);
        path_in(p, sizeof p, sub_img, name);
        CHECK_OK(dolor_png_write(p, img));
    }
    dolor_image_create2d(&m, DOLOR_U8, 1, mw, mh);
    for (int y = 0; y < mh; y++)
        for (int x = 0; x < mw; x++)
            ((uint8_t *)m->data)[y * mw + x] = (uint8_t)lv[(x * 3 / mw) % 3];
    if (bad_value >= 0)
        for (int k = 0; k < 5; k++)
            ((uint8_t *)m->data)[k] = (uint8_t)bad_value;
    if (sub_mask) {
        snprintf(name, sizeof name, "%s.png", stem);
        path_in(p, sizeof p, sub_mask, name);
        CHECK_OK(dolor_png_write_labels(p, m, NULL, 0));
    }
    dolor_image_free(img);
    dolor_image_free(m);
}

static void mk(const char *sub)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, sub);
    CHECK_OK(dolor_mkdir_p(p));
}

static dolor_status open_dirs(const char *im, const char *ms, int nc, const int *lv, dolor_dataset **ds)
{
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/%s", root, im);
    snprintf(b, sizeof b, "%s/%s", root, ms);
    dolor_dataset_config cfg;
    dolor_dataset_config_default(&cfg);
    cfg.image_dir = a;
    cfg.mask_dir = b;
    cfg.num_classes = nc;
    cfg.label_values = lv;
    cfg.height = 8;
    cfg.width = 8;
    return dolor_dataset_open(&cfg, ds);
}

static void test_dataset_errors(void)
{
    static const int lv[3] = {0, 10, 20};
    dolor_dataset *ds = NULL;
    /* image without mask */
    mk("a/images");
    mk("a/masks");
    write_case("a/images", "a/masks", "0001", 8, 8, 8, 8, lv, -1);
    write_case("a/images", NULL, "0003", 8, 8, 8, 8, lv, -1);
    CHECK_ERR(open_dirs("a/images", "a/masks", 3, lv, &ds), DOLOR_ENOTFOUND, "a/images/0003.png: no mask 0003.*");
    CHECK(ds == NULL);
    /* mask without image */
    mk("b/images");
    mk("b/masks");
    write_case("b/images", "b/masks", "0001", 8, 8, 8, 8, lv, -1);
    write_case(NULL, "b/masks", "0002", 8, 8, 8, 8, lv, -1);
    CHECK_ERR(open_dirs("b/images", "b/masks", 3, lv, &ds), DOLOR_ENOTFOUND, "b/masks/0002.png: no image 0002.*");
    /* empty folder */
    mk("c/images");
    mk("c/masks");
    write_case(NULL, "c/masks", "0001", 8, 8, 8, 8, lv, -1);
    CHECK_ERR(open_dirs("c/images", "c/masks", 3, lv, &ds), DOLOR_ENOTFOUND, "c/images: no images");
    /* nothing matches */
    mk("d/images");
    mk("d/masks");
    write_case("d/images", NULL, "0001", 8, 8, 8, 8, lv, -1);
    write_case(NULL, "d/masks", "0002", 8, 8, 8, 8, lv, -1);
    CHECK_ERR(open_dirs("d/images", "d/masks", 3, lv, &ds), DOLOR_ENOTFOUND, "no image in ");
    CHECK(strstr(dolor_errmsg(), "has a matching mask in ") != NULL);
    /* size mismatch */
    mk("e/images");
    mk("e/masks");
    write_case("e/images", "e/masks", "0001", 8, 8, 8, 8, lv, -1);
    write_case("e/images", "e/masks", "0003", 12, 10, 14, 10, lv, -1);
    CHECK_ERR(open_dirs("e/images", "e/masks", 3, lv, &ds), DOLOR_ESHAPE, "e/masks/0003.png: 14x10 but image is 12x10");
    /* a mask value not in label_values */
    mk("f/images");
    mk("f/masks");
    write_case("f/images", "f/masks", "0001", 8, 8, 8, 8, lv, -1);
    write_case("f/images", "f/masks", "0007", 8, 8, 8, 8, lv, 3);
    CHECK_ERR(open_dirs("f/images", "f/masks", 3, lv, &ds), DOLOR_EINVAL,
              "f/masks/0007.png: label value 3 (5 pixels) is not one of 0,10,20");
    /* two files with one stem */
    mk("g/images");
    mk("g/masks");
    write_case("g/images", "g/masks", "0001", 8, 8, 8, 8, lv, -1);
    char p[512];
    path_in(p, sizeof p, "g/images", "0001.png");
    char q[512];
    path_in(q, sizeof q, "g/images", "0001.jpg");
    CHECK(link(p, q) == 0);
    CHECK_ERR(open_dirs("g/images", "g/masks", 3, lv, &ds), DOLOR_EINVAL, "0001");
    /* a missing folder; a corrupt image names the file */
    CHECK_ERR(open_dirs("nonexistent", "a/masks", 3, lv, &ds), DOLOR_ENOTFOUND, "nonexistent");
    mk("h/images");
    mk("h/masks");
    write_case("h/images", "h/masks", "0001", 8, 8, 8, 8, lv, -1);
    write_case(NULL, "h/masks", "0002", 8, 8, 8, 8, lv, -1);
    path_in(p, sizeof p, "h/images", "0002.png");
    FILE *fp = fopen(p, "wb");
    fwrite("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 1, 16, fp);
    fclose(fp);
    CHECK_ERR(open_dirs("h/images", "h/masks", 3, lv, &ds), DOLOR_EFORMAT, "h/images/0002.png");
    /* masks as NIfTI (.nii.gz) match images by stem */
    mk("n/images");
    mk("n/masks");
    write_case("n/images", NULL, "0001", 8, 6, 8, 6, lv, -1);
    write_case("n/images", NULL, "0002", 8, 6, 8, 6, lv, -1);
    for (int i = 1; i <= 2; i++) {
        dolor_image *m = NULL;
        CHECK_OK(dolor_image_create2d(&m, DOLOR_I16, 1, 8, 6));
        for (int k = 0; k < 48; k++)
            ((int16_t *)m->data)[k] = (int16_t)lv[(k + i) % 3];
        char name[32];
        snprintf(name, sizeof name, "000%d.nii.gz", i);
        path_in(p, sizeof p, "n/masks", name);
        CHECK_OK(dolor_image_write(p, m));
        dolor_image_free(m);
    }
    CHECK_OK(open_dirs("n/images", "n/masks", 3, lv, &ds));
    if (ds) {
        CHECK(dolor_dataset_count(ds) == 2 && strstr(dolor_dataset_mask_path(ds, 1), "0002.nii.gz") != NULL);
        /* 8x6 -> 8x8: rows repeat, columns are kept: column x of the mask holds class (x + 6 * row + 2) % 3 */
        const uint8_t *m = dolor_dataset_mask(ds, 1);
        CHECK(m[0] == 2 && m[1] == 0 && m[2] == 1);
        dolor_dataset_free(ds);
        ds = NULL;
    }
    /* config errors */
    CHECK_ERR(open_dirs("a/images", "a/masks", 1, lv, &ds), DOLOR_EINVAL, "num_classes");
    static const int dup[3] = {0, 10, 10};
    CHECK_ERR(open_dirs("a/images", "a/masks", 3, dup, &ds), DOLOR_EINVAL, "same label value 10");
}

#define NCASE 40

static dolor_dataset *make_good(void)
{
    static const int lv[3] = {0, 10, 20};
    mk("good/images");
    mk("good/masks");
    for (int i = 0; i < NCASE; i++) {
        char stem[16];
        snprintf(stem, sizeof stem, "%04d", 3 * i + 1);
        int w = 6 + i % 5, h = 5 + i % 3;
        write_case("good/images", "good/masks", stem, w, h, w, h, lv, -1);
    }
    /* other files are ignored */
    char p[512];
    path_in(p, sizeof p, "good/images", "notes.txt");
    FILE *fp = fopen(p, "w");
    fputs("x", fp);
    fclose(fp);
    dolor_dataset *ds = NULL;
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/good/images", root);
    snprintf(b, sizeof b, "%s/good/masks/", root);
    dolor_dataset_config cfg;
    dolor_dataset_config_default(&cfg);
    static const char *const names[3] = {"background", "nerve", "vessel"};
    cfg.image_dir = a;
    cfg.mask_dir = b;
    cfg.num_classes = 3;
    cfg.class_names = names;
    cfg.label_values = lv;
    cfg.height = 8;
    cfg.width = 12;
    CHECK_OK(dolor_dataset_open(&cfg, &ds));
    return ds;
}

static void test_dataset_good(dolor_dataset *ds)
{
    CHECK(dolor_dataset_count(ds) == NCASE);
    CHECK(dolor_dataset_height(ds) == 8 && dolor_dataset_width(ds) == 12 && dolor_dataset_num_classes(ds) == 3);
    CHECK(strcmp(dolor_dataset_class_name(ds, 2), "vessel") == 0 && dolor_dataset_label_value(ds, 1) == 10);
    int sorted = 1;
    for (size_t i = 1; i < NCASE; i++)
        sorted &= strcmp(dolor_dataset_stem(ds, i - 1), dolor_dataset_stem(ds, i)) < 0;
    CHECK(sorted);
    CHECK(strcmp(dolor_dataset_stem(ds, 0), "0001") == 0 && strcmp(dolor_dataset_stem(ds, 1), "0004") == 0);
    CHECK(strstr(dolor_dataset_image_path(ds, 1), "good/images/0004.png") != NULL);
    CHECK(strstr(dolor_dataset_mask_path(ds, 1), "good/masks/0004.png") != NULL &&
          strstr(dolor_dataset_mask_path(ds, 1), "//") == NULL);
    int w, h;
    dolor_dataset_orig_size(ds, 7, &w, &h);
    CHECK(w == 6 + 7 % 5 && h == 5 + 7 % 3);
    /* case 7 equals preprocessing its files directly */
    dolor_image *img = NULL, *m = NULL;
    CHECK_OK(dolor_image_read(dolor_dataset_image_path(ds, 7), &img));
    CHECK_OK(dolor_image_read(dolor_dataset_mask_path(ds, 7), &m));
    float f[96];
    uint8_t mi[96];
    static const int lv[3] = {0, 10, 20};
    CHECK_OK(dolor_preprocess_image(img, 8, 12, f));
    CHECK_OK(dolor_preprocess_mask(m, 3, lv, 8, 12, mi, "m"));
    CHECK(memcmp(f, dolor_dataset_image(ds, 7), sizeof f) == 0);
    CHECK(memcmp(mi, dolor_dataset_mask(ds, 7), sizeof mi) == 0);
    int maxc = 0;
    for (int k = 0; k < 96; k++)
        maxc = mi[k] > maxc ? mi[k] : maxc;
    CHECK(maxc == 2); /* values 10/20 became indices 1/2 */
    dolor_image_free(img);
    /* the original-size mask as class indices */
    uint8_t full[10 * 7];
    CHECK_OK(dolor_dataset_mask_orig(ds, 7, full));
    int same = 1;
    for (int k = 0; k < w * h; k++)
        same &= lv[full[k]] == ((uint8_t *)m->data)[k];
    CHECK(same);
    dolor_image_free(m);
    double fr[3];
    dolor_dataset_class_fractions(ds, NULL, 0, fr);
    CHECK_NEAR(fr[0] + fr[1] + fr[2], 1.0, 1e-12);
    CHECK(fr[0] > 0.2 && fr[1] > 0.2 && fr[2] > 0.2);
}

static void test_split(dolor_dataset *ds)
{
    size_t *tr = NULL, *va = NULL, nt = 0, nv = 0, *tr2 = NULL, *va2 = NULL, nt2, nv2;
    CHECK_OK(dolor_dataset_split(ds, 0.2, 42, NULL, &tr, &nt, &va, &nv));
    CHECK(nt == 32 && nv == 8);
    int sorted = 1, disjoint = 1;
    for (size_t i = 1; i < nt; i++)
        sorted &= tr[i - 1] < tr[i];
    for (size_t i = 1; i < nv; i++)
        sorted &= va[i - 1] < va[i];
    for (size_t i = 0; i < nt; i++)
        for (size_t j = 0; j < nv; j++)
            disjoint &= tr[i] != va[j];
    CHECK(sorted && disjoint);
    CHECK_OK(dolor_dataset_split(ds, 0.2, 42, NULL, &tr2, &nt2, &va2, &nv2));
    CHECK(nv2 == nv && memcmp(va, va2, nv * sizeof *va) == 0);
    free(tr2);
    free(va2);
    CHECK_OK(dolor_dataset_split(ds, 0.2, 43, NULL, &tr2, &nt2, &va2, &nv2));
    CHECK(nv2 == nv && memcmp(va, va2, nv * sizeof *va) != 0);
    free(tr2);
    free(va2);
    free(tr);
    free(va);
    /* rounding and bounds: 0.01 of 40 -> 1 (at least 1); 0.99 -> 39 */
    CHECK_OK(dolor_dataset_split(ds, 0.01, 1, NULL, &tr, &nt, &va, &nv));
    CHECK(nv == 1 && nt == 39);
    free(tr);
    free(va);
    CHECK_OK(dolor_dataset_split(ds, 0.999, 1, NULL, &tr, &nt, &va, &nv));
    CHECK(nv == 39 && nt == 1);
    free(tr);
    free(va);
    CHECK_ERR(dolor_dataset_split(ds, 1.0, 1, NULL, &tr, &nt, &va, &nv), DOLOR_EINVAL, "fraction");
    CHECK_ERR(dolor_dataset_split(ds, 0.0, 1, NULL, &tr, &nt, &va, &nv), DOLOR_EINVAL, "fraction");
    /* k-fold: every case validated exactly once over the folds; 7 folds of 40 cases hold 6 or 5 */
    {
        int seen[NCASE] = {0}, sizes_ok = 1, disjoint_ok = 1;
        for (int f = 0; f < 7; f++) {
            CHECK_OK(dolor_dataset_kfold(ds, 7, f, 9, &tr, &nt, &va, &nv));
            sizes_ok &= (nv == 6 || nv == 5) && nt + nv == NCASE;
            for (size_t i = 0; i < nv; i++)
                seen[va[i]]++;
            for (size_t i = 0; i < nt; i++)
                for (size_t j = 0; j < nv; j++)
                    disjoint_ok &= tr[i] != va[j];
            free(tr);
            free(va);
        }
        int once = 1;
        for (int i = 0; i < NCASE; i++)
            once &= seen[i] == 1;
        CHECK(sizes_ok && disjoint_ok && once);
        CHECK_ERR(dolor_dataset_kfold(ds, 1, 0, 9, &tr, &nt, &va, &nv), DOLOR_EINVAL, "k = 1");
        CHECK_ERR(dolor_dataset_kfold(ds, 5, 5, 9, &tr, &nt, &va, &nv), DOLOR_EINVAL, "fold 5");
    }
    /* --val-list */
    char p[512];
    snprintf(p, sizeof p, "%s/val.txt", root);
    FILE *fp = fopen(p, "w");
    fputs("# validation cases\n0004\n  0010.png  \n\n0118\n", fp);
    fclose(fp);
    CHECK_OK(dolor_dataset_split(ds, 0.5, 1, p, &tr, &nt, &va, &nv));
    CHECK(nv == 3 && nt == 37 && va && va[0] == 1 && va[1] == 3 && va[2] == 39);
    free(tr);
    free(va);
    fp = fopen(p, "a");
    fputs("0005\n", fp);
    fclose(fp);
    CHECK_ERR(dolor_dataset_split(ds, 0.5, 1, p, &tr, &nt, &va, &nv), DOLOR_ENOTFOUND, "val.txt:6: case \"0005\"");
    CHECK(tr == NULL && va == NULL);
    fp = fopen(p, "w");
    fclose(fp);
    CHECK_ERR(dolor_dataset_split(ds, 0.5, 1, p, &tr, &nt, &va, &nv), DOLOR_EINVAL, "no validation case");
    CHECK_ERR(dolor_dataset_split(ds, 0.5, 1, "/nonexistent/val.txt", &tr, &nt, &va, &nv), DOLOR_EIO,
              "/nonexistent/val.txt");
}

/* One epoch: returns cases seen (counts[]) and batch count; data copied to buf if non-NULL. */
static int run_epoch(dolor_loader *ld, dolor_tensor *t, uint8_t *lab, size_t *cases, int *counts, float *buf,
                     uint8_t *lbuf, int *nbatch, int bs, size_t hw)
{
    int total = 0, cnt;
    *nbatch = 0;
    for (;;) {
        if (dolor_loader_next(ld, t, lab, cases, &cnt) != DOLOR_OK)
            return -1;
        if (cnt == 0)
            break;
        if (buf) {
            memcpy(buf + (size_t)total * hw, t->data, (size_t)cnt * hw * sizeof(float));
            memcpy(lbuf + (size_t)total * hw, lab, (size_t)cnt * hw);
        }
        for (int k = 0; k < cnt; k++)
            counts[cases[k]]++;
        total += cnt;
        (*nbatch)++;
        if (*nbatch > 1000)
            return -1;
    }
    (void)bs;
    return total;
}

static void test_loader(dolor_dataset *ds)
{
    size_t idx[NCASE];
    for (size_t i = 0; i < NCASE; i++)
        idx[i] = i;
    int H = 8, W = 12, bs = 6;
    size_t hw = (size_t)H * W;
    dolor_tensor *t = NULL;
    CHECK_OK(dolor_tensor_create4(&t, bs, 1, H, W));
    uint8_t lab[6 * 96];
    size_t cases[6];
    int counts[NCASE], nb;
    dolor_loader *ld = NULL;
    /* validation style: no shuffle, keep the last partial batch, no augmentation: exact copies in order */
    CHECK_OK(dolor_loader_create(ds, idx, NCASE, bs, 0, 0, NULL, 5, &ld));
    CHECK(dolor_loader_batches_per_epoch(ld) == 7);
    memset(counts, 0, sizeof counts);
    static float b1[NCASE * 96 * 2], b2[NCASE * 96 * 2];
    static uint8_t l1[NCASE * 96 * 2], l2[NCASE * 96 * 2];
    CHECK(run_epoch(ld, t, lab, cases, counts, b1, l1, &nb, bs, hw) == NCASE && nb == 7);
    int once = 1, exact = 1;
    for (int i = 0; i < NCASE; i++) {
        once &= counts[i] == 1;
        exact &= memcmp(b1 + i * hw, dolor_dataset_image(ds, i), hw * sizeof(float)) == 0 &&
                 memcmp(l1 + i * hw, dolor_dataset_mask(ds, i), hw) == 0;
    }
    CHECK(once && exact);
    /* the last batch held 4 samples; the unused tail is zero */
    CHECK(t->data[4 * hw] == 0.0f && t->data[6 * hw - 1] == 0.0f && cases[4] == (size_t)-1);
    /* second epoch identical (no shuffle) */
    memset(counts, 0, sizeof counts);
    CHECK(run_epoch(ld, t, lab, cases, counts, b2, l2, &nb, bs, hw) == NCASE);
    CHECK(memcmp(b1, b2, NCASE * hw * sizeof(float)) == 0 && dolor_loader_epoch(ld) == 1);
    dolor_tensor *wrong = NULL;
    CHECK_OK(dolor_tensor_create4(&wrong, bs, 1, H + 1, W));
    int cnt;
    CHECK_ERR(dolor_loader_next(ld, wrong, lab, cases, &cnt), DOLOR_ESHAPE, "[6, 1, 8, 12]");
    dolor_tensor_free(wrong);
    dolor_loader_free(ld);

    /* training style: shuffle + drop_last + augmentation; every case at most once per epoch, 36 per epoch;
       two loaders with one seed give identical batches; a new epoch has a new order */
    dolor_augment_config aug;
    dolor_augment_config_default(&aug);
    dolor_loader *la = NULL, *lb = NULL;
    CHECK_OK(dolor_loader_create(ds, idx, NCASE, bs, 1, 1, &aug, 77, &la));
    CHECK_OK(dolor_loader_create(ds, idx, NCASE, bs, 1, 1, &aug, 77, &lb));
    CHECK(dolor_loader_batches_per_epoch(la) == 6);
    static size_t order_a[2][NCASE];
    int same = 1, atmost_once = 1;
    for (int e = 0; e < 2; e++) {
        int ca[NCASE] = {0}, cb[NCASE] = {0}, na = 0, nbb = 0, k = 0;
        for (;;) {
            int c1, c2;
            size_t cs1[6], cs2[6];
            uint8_t lb2[6 * 96];
            CHECK_OK(dolor_loader_next(la, t, lab, cs1, &c1));
            memcpy(b1, t->data, (size_t)bs * hw * sizeof(float));
            if (lb)
                CHECK_OK(dolor_loader_next(lb, t, lb2, cs2, &c2));
            same &= c1 == c2 && memcmp(b1, t->data, (size_t)bs * hw * sizeof(float)) == 0 &&
                    memcmp(lab, lb2, (size_t)bs * hw) == 0 && memcmp(cs1, cs2, sizeof(size_t) * (size_t)c1) == 0;
            if (c1 == 0)
                break;
            for (int j = 0; j < c1; j++) {
                ca[cs1[j]]++;
                cb[cs2[j]]++;
                order_a[e][k++] = cs1[j];
            }
            na += c1;
            nbb++;
        }
        for (int i = 0; i < NCASE; i++)
            atmost_once &= ca[i] <= 1;
        CHECK(na == 36 && nbb == 6);
    }
    CHECK(same);
    CHECK(atmost_once);
    CHECK(memcmp(order_a[0], order_a[1], 36 * sizeof(size_t)) != 0);
    dolor_loader_free(la);
    dolor_loader_free(lb);
    /* a loader freed mid-epoch joins its thread cleanly */
    CHECK_OK(dolor_loader_create(ds, idx, NCASE, bs, 1, 0, &aug, 1, &la));
    CHECK_OK(dolor_loader_next(la, t, lab, NULL, &cnt));
    CHECK(cnt == 6);
    dolor_loader_free(la);
    /* errors */
    CHECK_ERR(dolor_loader_create(ds, idx, 4, 6, 1, 1, NULL, 1, &la), DOLOR_EINVAL, "fewer than one batch");
    CHECK_ERR(dolor_loader_create(ds, idx, 0, 6, 1, 0, NULL, 1, &la), DOLOR_EINVAL, "no cases");
    size_t badidx[2] = {0, NCASE};
    CHECK_ERR(dolor_loader_create(ds, badidx, 2, 1, 0, 0, NULL, 1, &la), DOLOR_EINVAL, "case index 40");
    dolor_tensor_free(t);
}

/* ---------------- real data ---------------- */

static void test_usgra(void)
{
    char im[1024], ms[1024];
    snprintf(im, sizeof im, "%s/usgra-nerve/images", dolor_data_dir());
    snprintf(ms, sizeof ms, "%s/usgra-nerve/masks", dolor_data_dir());
    if (!DOLOR_TEST_NEED_DATA(im))
        return;
    static const char *const names[3] = {"background", "nerve", "vessel"};
    static const int lv[3] = {0, 1, 2};
    dolor_dataset_config cfg;
    dolor_dataset_config_default(&cfg);
    cfg.image_dir = im;
    cfg.mask_dir = ms;
    cfg.num_classes = 3;
    cfg.class_names = names;
    cfg.label_values = lv;
    dolor_dataset *ds = NULL;
    double t0 = dolor_time_ms();
    CHECK_OK(dolor_dataset_open(&cfg, &ds));
    double ms_open = dolor_time_ms() - t0;
    if (!ds)
        return;
    CHECK(dolor_dataset_count(ds) == 204 && dolor_dataset_height(ds) == 256 && dolor_dataset_width(ds) == 256);
    int sizes_ok = 1;
    for (size_t i = 0; i < dolor_dataset_count(ds); i++) {
        int w, h;
        dolor_dataset_orig_size(ds, i, &w, &h);
        sizes_ok &= (w == 534 && h == 512) || (w == 512 && h == 512) || (w == 761 && h == 632);
    }
    CHECK(sizes_ok);
    double fr[3];
    dolor_dataset_class_fractions(ds, NULL, 0, fr);
    fprintf(stderr, "  usgra-nerve: 204 cases opened in %.0f ms; class fractions background %.4f nerve %.4f vessel %.4f\n",
            ms_open, fr[0], fr[1], fr[2]);
    CHECK(fr[0] > 0.85 && fr[0] < 0.995);
    CHECK(fr[1] > 0.003 && fr[1] < 0.1);
    CHECK(fr[2] > 0.001 && fr[2] < 0.1);
    /* every mask still has a nerve after resizing */
    int nerve_all = 1;
    for (size_t i = 0; i < dolor_dataset_count(ds); i++) {
        const uint8_t *m = dolor_dataset_mask(ds, i);
        int has = 0;
        for (int k = 0; k < 256 * 256 && !has; k++)
            has = m[k] == 1;
        nerve_all &= has;
    }
    CHECK(nerve_all);
    /* z-scored */
    const float *x = dolor_dataset_image(ds, 100);
    double s = 0, ss = 0;
    for (int k = 0; k < 65536; k++) {
        s += x[k];
        ss += (double)x[k] * x[k];
    }
    CHECK_NEAR(s / 65536, 0.0, 1e-4);
    CHECK_NEAR(ss / 65536, 1.0, 1e-3);
    /* a training epoch through the loader with augmentation */
    size_t *tr, *va, nt, nv;
    CHECK_OK(dolor_dataset_split(ds, 0.2, 1, NULL, &tr, &nt, &va, &nv));
    CHECK(nt == 163 && nv == 41);
    dolor_augment_config aug;
    dolor_augment_config_default(&aug);
    dolor_loader *ld = NULL;
    CHECK_OK(dolor_loader_create(ds, tr, nt, 8, 1, 1, &aug, 1, &ld));
    dolor_tensor *t = NULL;
    CHECK_OK(dolor_tensor_create4(&t, 8, 1, 256, 256));
    uint8_t *lab = malloc(8 * 65536);
    int cnt, nb = 0;
    t0 = dolor_time_ms();
    do {
        CHECK_OK(dolor_loader_next(ld, t, lab, NULL, &cnt));
        nb += cnt > 0;
    } while (cnt > 0 && nb < 100);
    fprintf(stderr, "  usgra-nerve: one augmented epoch of %d batches of 8 at 256x256 in %.0f ms\n", nb,
            dolor_time_ms() - t0);
    CHECK(nb == 20);
    free(lab);
    dolor_tensor_free(t);
    dolor_loader_free(ld);
    free(tr);
    free(va);
    dolor_dataset_free(ds);

    /* strict matching on the real folders: Kvasir masks are lossy JPEGs; without a threshold they fail naming a file */
    snprintf(im, sizeof im, "%s/kvasir-seg/images", dolor_data_dir());
    snprintf(ms, sizeof ms, "%s/kvasir-seg/masks", dolor_data_dir());
    if (!DOLOR_TEST_NEED_DATA(im))
        return;
    static const int lvk[2] = {0, 255};
    cfg.image_dir = im;
    cfg.mask_dir = ms;
    cfg.num_classes = 2;
    cfg.class_names = NULL;
    cfg.label_values = lvk;
    cfg.height = cfg.width = 128;
    CHECK_ERR(dolor_dataset_open(&cfg, &ds), DOLOR_EINVAL, "kvasir-seg/masks/");
    cfg.label_values = NULL;
    cfg.mask_threshold = 128;
    t0 = dolor_time_ms();
    CHECK_OK(dolor_dataset_open(&cfg, &ds));
    if (!ds)
        return;
    dolor_dataset_class_fractions(ds, NULL, 0, fr);
    fprintf(stderr, "  kvasir-seg: %zu cases opened in %.0f ms; polyp fraction %.4f\n", dolor_dataset_count(ds),
            dolor_time_ms() - t0, fr[1]);
    CHECK(dolor_dataset_count(ds) == 60);
    CHECK(fr[1] > 0.03 && fr[1] < 0.5);
    {
        /* full-resolution mask of a case, thresholded like the dataset */
        int w, h;
        dolor_dataset_orig_size(ds, 0, &w, &h);
        uint8_t *full = malloc((size_t)w * h);
        CHECK_OK(dolor_dataset_mask_orig(ds, 0, full));
        dolor_image *m = NULL;
        CHECK_OK(dolor_image_read(dolor_dataset_mask_path(ds, 0), &m));
        size_t bad = 0;
        for (size_t k = 0; m && k < (size_t)w * h; k++)
            bad += full[k] != (((uint8_t *)m->data)[k] >= 128);
        CHECK(m && bad == 0);
        dolor_image_free(m);
        free(full);
    }
    CHECK(strcmp(dolor_dataset_class_name(ds, 1), "class1") == 0);
    dolor_dataset_free(ds);
}


/* ---------------- dataset fingerprint and plan vs a NumPy transcription (tools/gen_plan_fixtures.py) ---------------- */

static int close_to(double a, double b, double rel) { return fabs(a - b) <= rel * fmax(1.0, fabs(b)); }

static void test_plan(void)
{
    const char *ds = DOLOR_TEST_FIXTURES "/plan/Dataset900_Tiny";
    dolor_fingerprint *fp = NULL;
    CHECK_OK(dolor_fingerprint_compute(ds, &fp));
    FILE *f = fopen(DOLOR_TEST_FIXTURES "/plan/expected.txt", "r");
    CHECK(f != NULL);
    if (!fp || !f) {
        if (f)
            fclose(f);
        dolor_fingerprint_free(fp);
        return;
    }
    CHECK(fp->ncases == 3 && fp->nchannels == 2 && fp->nclasses == 3 && !strcmp(fp->channel_names[1], "CT"));
    char line[512], id[64], name[64];
    int ncase = 0, nint = 0, ncls = 0, nplan = 0;
    while (fgets(line, sizeof line, f)) {
        double v[12];
        long long iv[4];
        int c;
        if (sscanf(line, "case %63s %lf %lf %lf %lld %lld %lld", id, &v[0], &v[1], &v[2], &iv[0], &iv[1], &iv[2]) == 7) {
            CHECKF(!strcmp(fp->case_ids[ncase], id), "case %d is %s, NumPy has %s", ncase, fp->case_ids[ncase], id);
            for (int a = 0; a < 3; a++)
                CHECKF(close_to(fp->spacing[ncase][a], v[a], 1e-7) && fp->size[ncase][a] == iv[a],
                       "case %s axis %d: spacing %g size %lld, NumPy %g %lld", id, a, fp->spacing[ncase][a],
                       (long long)fp->size[ncase][a], v[a], iv[a]);
            ncase++;
        } else if (sscanf(line, "intensity %d %lf %lf %lf %lf %lf %lf %lf %lld", &c, &v[0], &v[1], &v[2], &v[3], &v[4],
                          &v[5], &v[6], &iv[0]) == 9 && c >= 0 && c < 2) {
            const dolor_intensity_stats *st = &fp->intensity[c];
            double got[7] = {st->mean, st->sd, st->median, st->p00_5, st->p99_5, st->min, st->max};
            for (int k = 0; k < 7; k++)
                CHECKF(close_to(got[k], v[k], 1e-9), "channel %d statistic %d: %.12g, NumPy %.12g", c, k, got[k], v[k]);
            CHECK(st->n == iv[0]);
            nint++;
        } else if (sscanf(line, "class %d %lld", &c, &iv[0]) == 2 && c >= 0 && c < 3) {
            CHECKF(fp->class_voxels[c] == iv[0], "class %d: %lld voxels, NumPy %lld", c,
                   (long long)fp->class_voxels[c], iv[0]);
            ncls++;
        } else if (sscanf(line, "plan %63s %lld %lf %lld %lld %lf %lf %lf %lf %lf %lf %lf", name, &iv[0], &v[0], &iv[1],
                          &iv[2], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 12) {
            dolor_plan_opts po = {.max_patch_voxels = (long)iv[0], .memory_mb = v[0], .base_channels = (int)iv[1],
                                  .batch_size = (int)iv[2]};
            dolor_plan pl;
            CHECK_OK(dolor_plan_derive(fp, ds, &po, &pl));
            for (int a = 0; a < 3; a++)
                CHECKF(close_to(pl.target_spacing[a], v[1 + a], 1e-7) && pl.patch[a] == (int)v[4 + a],
                       "plan %s axis %d: spacing %.9g patch %d, NumPy %.9g %d", name, a, pl.target_spacing[a],
                       pl.patch[a], v[1 + a], (int)v[4 + a]);
            CHECKF(pl.depth == (int)v[7], "plan %s: depth %d, NumPy %d", name, pl.depth, (int)v[7]);
            CHECK(!pl.ct[0] && pl.ct[1] && close_to(pl.ct_clip[1][0], fp->intensity[1].p00_5, 0));
            /* written and read back */
            char path[4200];
            snprintf(path, sizeof path, "%s/plan_%s.json", root, name);
            CHECK_OK(dolor_plan_write(&pl, fp, path));
            dolor_plan back;
            CHECK_OK(dolor_plan_read(path, &back));
            CHECK(back.patch[0] == pl.patch[0] && back.patch[2] == pl.patch[2] && back.depth == pl.depth &&
                  back.nclasses == 3 && back.ct[1] == 1 && close_to(back.ct_sd[1], pl.ct_sd[1], 1e-9) &&
                  close_to(back.target_spacing[2], pl.target_spacing[2], 1e-9) && !strcmp(back.class_names[2], "b"));
            nplan++;
        }
    }
    fclose(f);
    CHECK(ncase == 3 && nint == 2 && ncls == 3 && nplan == 3);
    /* errors: options out of range, a plan edited badly */
    dolor_plan pl;
    dolor_plan_opts po;
    dolor_plan_opts_default(&po);
    po.max_patch_voxels = 10;
    CHECK_ERR(dolor_plan_derive(fp, ds, &po, &pl), DOLOR_EINVAL, "max_patch_voxels 10");
    dolor_plan_opts_default(&po);
    po.memory_mb = 0.01;
    CHECK_ERR(dolor_plan_derive(fp, ds, &po, &pl), DOLOR_EINVAL, "no patch of at least 8 voxels");
    char path[4200];
    snprintf(path, sizeof path, "%s/bad_plan.json", root);
    FILE *b = fopen(path, "w");
    fprintf(b, "{\"dolor_plan\": 1, \"dataset\": \"x\", \"configuration\": \"3d_fullres\", \"channels\": [\"a\"], "
               "\"classes\": [\"bg\", \"fg\"], \"target_spacing_mm_xyz\": [1, 1, 1], \"patch_size_xyz\": [16, 16, 12], "
               "\"batch_size\": 2, \"architecture\": \"unet\", \"arch_config\": {\"in_channels\": 1, "
               "\"num_classes\": 2, \"base_channels\": 4, \"depth\": 3, \"spatial_dims\": 3}}");
    fclose(b);
    CHECK_ERR(dolor_plan_read(path, &pl), DOLOR_EFORMAT, "\"patch_size_xyz\"[2] = 12 is not a multiple of 2^depth = 8");
    CHECK_ERR(dolor_plan_read("/nonexistent/plan.json", &pl), DOLOR_ENOTFOUND, "cannot open");
    dolor_fingerprint *f2 = NULL;
    CHECK_ERR(dolor_fingerprint_compute(root, &f2), DOLOR_ENOTFOUND, "dataset.json");
    dolor_fingerprint_free(fp);
}

int main(void)
{
    test_fixture();
    test_zscore_and_mask_errors();
    test_augment();
    CHECK(mkdtemp(root) != NULL);
    test_dataset_errors();
    dolor_dataset *ds = make_good();
    if (ds) {
        test_dataset_good(ds);
        test_split(ds);
        test_loader(ds);
    }
    dolor_dataset_free(ds);
    test_plan();
    CHECK(dolor_test_rm_rf(root) == 0);
    test_usgra();
    return dolor_test_finish();
}
