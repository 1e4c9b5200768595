/* phantom: determinism, label maps against the returned geometry, image
 * contrast where the model puts it (hyperechoic nerve, anechoic artery,
 * posterior enhancement, bone shadow), configuration errors and the dataset
 * writer (files read back with the PNG reader). */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "test_util.h"
#include "dolor/io.h"
#include "dolor/phantom.h"


#define NSEEDS 40
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static void test_determinism(void)
{
    dolor_phantom_config c;
    dolor_phantom_config_default(&c);
    dolor_image *i1 = NULL, *m1 = NULL, *i2 = NULL, *m2 = NULL, *i3 = NULL, *m3 = NULL;
    dolor_phantom_info f1, f2;
    CHECK_OK(dolor_phantom_generate(&c, 12345, &i1, &m1, &f1));
    CHECK_OK(dolor_phantom_generate(&c, 12345, &i2, &m2, &f2));
    CHECK_OK(dolor_phantom_generate(&c, 12346, &i3, &m3, NULL));
    CHECK(dolor_test_same_voxels(i1, i2));
    CHECK(dolor_test_same_voxels(m1, m2));
    CHECK(memcmp(&f1, &f2, sizeof f1) == 0 || (f1.nerve_cx == f2.nerve_cx && f1.vessel_r == f2.vessel_r));
    CHECK(i3 && !dolor_test_same_voxels(i1, i3));
    CHECK(m3 && !dolor_test_same_voxels(m1, m3));
    if (i1) {
        CHECK(i1->size[0] == 256 && i1->size[1] == 256 && i1->dtype == DOLOR_U8 && i1->ncomp == 1 &&
              i1->ndim == 2);
        CHECK_NEAR(i1->spacing[0], 38.4 / 256, 1e-12);
        CHECK_NEAR(i1->spacing[1], 38.4 / 256, 1e-12);
        CHECK_NEAR(m1->spacing[0], 38.4 / 256, 1e-12);
    }
    /* NULL config = defaults */
    dolor_image *i4 = NULL, *m4 = NULL;
    CHECK_OK(dolor_phantom_generate(NULL, 12345, &i4, &m4, NULL));
    CHECK(dolor_test_same_voxels(i1, i4));
    dolor_image_free(i1);
    dolor_image_free(m1);
    dolor_image_free(i2);
    dolor_image_free(m2);
    dolor_image_free(i3);
    dolor_image_free(m3);
    dolor_image_free(i4);
    dolor_image_free(m4);
    /* image seeds: distinct, reproducible */
    CHECK(dolor_phantom_image_seed(1, 0) == dolor_phantom_image_seed(1, 0));
    CHECK(dolor_phantom_image_seed(1, 0) != dolor_phantom_image_seed(1, 1));
    CHECK(dolor_phantom_image_seed(1, 0) != dolor_phantom_image_seed(2, 0));
}

static double mean_where(const uint8_t *img, const uint8_t *sel, size_t n)
{
    double s = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (sel[i]) {
            s += img[i];
            k++;
        }
    return k ? s / (double)k : NAN;
}

static double rho_nerve(const dolor_phantom_info *f, double x, double y)
{
    double dx = x - f->nerve_cx, dy = y - f->nerve_cy, c = cos(f->nerve_angle), s = sin(f->nerve_angle);
    double u = c * dx + s * dy, v = -s * dx + c * dy;
    return sqrt((u / f->nerve_a) * (u / f->nerve_a) + (v / f->nerve_b) * (v / f->nerve_b));
}

/* Over many seeds: labels match the geometry, contrasts go the right way. */
static void test_structures(void)
{
    dolor_phantom_config c;
    dolor_phantom_config_default(&c);
    const int w = c.width, h = c.height;
    const size_t n = (size_t)w * (size_t)h;
    const double mm = h / c.depth_mm;
    uint8_t *sel = malloc(n);
    int bad_label = 0, bad_area = 0, overlap = 0, nerve_not_brighter = 0, artery_not_darker = 0;
    int no_vessel = 0, nbone = 0, bad_shadow = 0;
    double min_nerve_contrast = 1e9, min_artery_contrast = 1e9, enh_sum = 0, min_shadow_ratio = 1e9;
    double max_shadow_ratio = 0;
    int nenh = 0;
    size_t nerve_min = n, nerve_max = 0;
    for (int seed = 0; seed < NSEEDS; seed++) {
        dolor_image *img = NULL, *msk = NULL;
        dolor_phantom_info f;
        if (dolor_phantom_generate(&c, (uint64_t)seed * 7919u + 3, &img, &msk, &f) != DOLOR_OK) {
            CHECKF(0, "generate seed %d: %s", seed, dolor_errmsg());
            continue;
        }
        const uint8_t *I = img->data, *M = msk->data;
        no_vessel += !f.has_vessel;
        /* labels: exactly the geometric shapes at pixel centres */
        size_t an = 0, av = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                size_t i = (size_t)y * w + x;
                int in_n = rho_nerve(&f, x, y) < 1.0;
                int in_v = f.has_vessel && hypot(x - f.vessel_cx, y - f.vessel_cy) < f.vessel_r;
                overlap += in_n && in_v;
                int want = in_v ? 2 : in_n ? 1 : 0;
                bad_label += M[i] != want;
                an += M[i] == 1;
                av += M[i] == 2;
            }
        if (an < nerve_min)
            nerve_min = an;
        if (an > nerve_max)
            nerve_max = an;
        /* areas close to pi a b and pi r^2 (pixel sampling: within 6 %) */
        double ea = M_PI * f.nerve_a * f.nerve_b, ev = f.has_vessel ? M_PI * f.vessel_r * f.vessel_r : 0;
        if (fabs((double)an - ea) > 0.06 * ea || (f.has_vessel && fabs((double)av - ev) > 0.06 * ev))
            bad_area++;
        /* the nerve and artery keep a gap (closest boundary points) */
        if (f.has_vessel) {
            double dmin = 1e9;
            for (int k = 0; k < 720; k++) {
                double t = k * M_PI / 360, ca = cos(f.nerve_angle), sa = sin(f.nerve_angle);
                double u = f.nerve_a * cos(t), v = f.nerve_b * sin(t);
                double x = f.nerve_cx + ca * u - sa * v, y = f.nerve_cy + sa * u + ca * v;
                double d = hypot(x - f.vessel_cx, y - f.vessel_cy) - f.vessel_r;
                if (d < dmin)
                    dmin = d;
            }
            overlap += dmin < 0.5 * mm; /* gap >= 0.6 mm by construction */
        }
        /* nerve brighter than a ring around it (1.3..2.0 x its radius, not vessel) */
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double r = rho_nerve(&f, x, y);
                sel[(size_t)y * w + x] = r > 1.3 && r < 2.0 && M[(size_t)y * w + x] == 0;
            }
        double ring = mean_where(I, sel, n);
        for (size_t i = 0; i < n; i++)
            sel[i] = M[i] == 1;
        double nerve = mean_where(I, sel, n);
        if (!(nerve > ring + 10))
            nerve_not_brighter++;
        if (nerve - ring < min_nerve_contrast)
            min_nerve_contrast = nerve - ring;
        if (f.has_vessel) {
            for (size_t i = 0; i < n; i++)
                sel[i] = M[i] == 2;
            double art = mean_where(I, sel, n);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    sel[(size_t)y * w + x] = hypot(x - f.vessel_cx, y - f.vessel_cy) < 0.75 * f.vessel_r;
            double lumen = mean_where(I, sel, n);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    double d = hypot(x - f.vessel_cx, y - f.vessel_cy);
                    sel[(size_t)y * w + x] = d > f.vessel_r + 0.5 * mm && d < 2 * f.vessel_r + mm &&
                                             M[(size_t)y * w + x] == 0;
                }
            double aring = mean_where(I, sel, n);
            /* the labelled artery is darker than the tissue around it, its lumen much darker */
            if (!(art < aring - 5) || !(lumen < aring - 20) || !(lumen < 15) || !(art < nerve - 40)) {
                artery_not_darker++;
                fprintf(stderr, "seed %d: artery %.1f lumen %.1f ring %.1f nerve %.1f\n", seed, art, lumen, aring,
                        nerve);
            }
            if (aring - art < min_artery_contrast)
                min_artery_contrast = aring - art;
            /* posterior enhancement: band below the artery vs the same depths beside it */
            int y0 = (int)(f.vessel_cy + f.vessel_r + 0.5 * mm), y1 = (int)(f.vessel_cy + f.vessel_r + 3 * mm);
            double below = 0, beside = 0;
            size_t kb = 0, ks = 0;
            for (int y = y0; y < y1 && y < h; y++) {
                if (f.has_bone && y > f.bone_y_min - mm)
                    break;
                for (int x = 0; x < w; x++) {
                    double dx = fabs(x - f.vessel_cx);
                    int m = M[(size_t)y * w + x];
                    if (m)
                        continue;
                    if (dx < 0.5 * f.vessel_r) {
                        below += I[(size_t)y * w + x];
                        kb++;
                    } else if (dx > 1.6 * f.vessel_r && dx < 3.0 * f.vessel_r && rho_nerve(&f, x, y) > 1.5) {
                        beside += I[(size_t)y * w + x];
                        ks++;
                    }
                }
            }
            if (kb > 20 && ks > 20) {
                enh_sum += below / kb - beside / ks;
                nenh++;
            }
        }
        /* bone: shadow below the surface much darker than the tissue above it */
        if (f.has_bone) {
            double x0 = fmax(f.bone_x0, 0), x1 = fmin(f.bone_x1, w - 1);
            double xm0 = x0 + 0.3 * (x1 - x0), xm1 = x1 - 0.3 * (x1 - x0);
            double above = 0, under = 0;
            size_t ka = 0, ku = 0;
            for (int y = 0; y < h; y++)
                for (int x = (int)ceil(xm0); x <= (int)xm1; x++) {
                    size_t i = (size_t)y * w + x;
                    if (M[i])
                        continue;
                    double dy = y - f.bone_y_min;
                    if (dy < -1.5 * mm && dy > -5 * mm) {
                        above += I[i];
                        ka++;
                    } else if (dy > 4 * mm && dy < 9 * mm) {
                        under += I[i];
                        ku++;
                    }
                }
            if (ka > 50 && ku > 50) {
                nbone++;
                double ratio = (under / ku) / (above / ka);
                if (ratio < min_shadow_ratio)
                    min_shadow_ratio = ratio;
                if (ratio > max_shadow_ratio)
                    max_shadow_ratio = ratio;
                bad_shadow += !(ratio < 0.4);
            }
        }
        dolor_image_free(img);
        dolor_image_free(msk);
    }
    free(sel);
    CHECKF(bad_label == 0, "%d pixels disagree with the geometry", bad_label);
    CHECKF(bad_area == 0, "%d images with implausible areas", bad_area);
    CHECKF(overlap == 0, "nerve and artery overlap or touch in %d cases", overlap);
    CHECKF(no_vessel == 0, "%d images without the artery at vessel_prob 1", no_vessel);
    /* nerve 2.8..4.5 mm semi-axis at 0.15 mm/px: 0.5 % .. 6 % of the image */
    CHECKF(nerve_min > n / 200 && nerve_max < n * 6 / 100, "nerve areas %zu..%zu px", nerve_min, nerve_max);
    CHECKF(nerve_not_brighter == 0, "nerve not brighter than its surroundings in %d images (min contrast %.1f)",
           nerve_not_brighter, min_nerve_contrast);
    CHECKF(artery_not_darker == 0, "artery not darker in %d images (min contrast %.1f)", artery_not_darker,
           min_artery_contrast);
    CHECKF(nenh > NSEEDS / 2 && enh_sum / nenh > 5, "posterior enhancement %.1f grey levels over %d images",
           nenh ? enh_sum / nenh : NAN, nenh);
    CHECKF(nbone > NSEEDS / 3 && bad_shadow == 0, "bone shadow: %d images, %d without shadow (ratio %.2f..%.2f)",
           nbone, bad_shadow, min_shadow_ratio, max_shadow_ratio);
    fprintf(stderr, "phantom over %d seeds: nerve contrast >= %.1f, artery contrast >= %.1f, enhancement %.1f, "
                    "shadow ratio %.2f..%.2f (%d with bone)\n",
            NSEEDS, min_nerve_contrast, min_artery_contrast, nenh ? enh_sum / nenh : NAN, min_shadow_ratio,
            max_shadow_ratio, nbone);
}

static void test_config(void)
{
    dolor_phantom_config c;
    dolor_image *img = NULL, *msk = NULL;
    dolor_phantom_config_default(&c);
    c.width = 10;
    CHECK_ERR(dolor_phantom_generate(&c, 1, &img, &msk, NULL), DOLOR_EINVAL, "width is 10");
    CHECK(img == NULL && msk == NULL);
    dolor_phantom_config_default(&c);
    c.height = 5000;
    CHECK_ERR(dolor_phantom_generate(&c, 1, &img, &msk, NULL), DOLOR_EINVAL, "height is 5000");
    dolor_phantom_config_default(&c);
    c.depth_mm = NAN;
    CHECK_ERR(dolor_phantom_generate(&c, 1, &img, &msk, NULL), DOLOR_EINVAL, "depth_mm is nan");
    dolor_phantom_config_default(&c);
    c.vessel_prob = 1.5;
    CHECK_ERR(dolor_phantom_generate(&c, 1, &img, &msk, NULL), DOLOR_EINVAL, "vessel_prob is 1.5");
    dolor_phantom_config_default(&c);
    c.bone_prob = -0.1;
    CHECK_ERR(dolor_phantom_generate(&c, 1, &img, &msk, NULL), DOLOR_EINVAL, "bone_prob is -0.1");
    dolor_phantom_config_default(&c);
    c.dynamic_range_db = 5;
    CHECK_ERR(dolor_phantom_generate(&c, 1, &img, &msk, NULL), DOLOR_EINVAL, "dynamic_range_db is 5");

    /* no vessel, no bone, non-square, another depth */
    dolor_phantom_config_default(&c);
    c.vessel_prob = 0;
    c.bone_prob = 0;
    c.width = 200;
    c.height = 128;
    c.depth_mm = 30;
    dolor_phantom_info f;
    CHECK_OK(dolor_phantom_generate(&c, 99, &img, &msk, &f));
    if (img) {
        CHECK(img->size[0] == 200 && img->size[1] == 128);
        CHECK_NEAR(img->spacing[0], 30.0 / 128, 1e-12);
        size_t n1 = 0, n2 = 0;
        const uint8_t *M = msk->data;
        for (size_t i = 0; i < 200 * 128; i++) {
            n1 += M[i] == 1;
            n2 += M[i] == 2;
        }
        CHECK(n1 > 0 && n2 == 0);
        CHECK(!f.has_vessel && !f.has_bone && isnan(f.bone_y_min));
        /* the nerve keeps its size in mm: area in mm^2 within 2.8..4.5 mm semi-axes */
        double px2 = (30.0 / 128) * (30.0 / 128), amm = (double)n1 * px2;
        CHECKF(amm > M_PI * 2.8 * 2.8 * 0.55 * 0.9 && amm < M_PI * 4.5 * 4.5 * 0.8 * 1.1, "nerve %.1f mm^2", amm);
    }
    dolor_image_free(img);
    dolor_image_free(msk);
    /* smallest and a large size work */
    dolor_phantom_config_default(&c);
    c.width = c.height = 64;
    CHECK_OK(dolor_phantom_generate(&c, 5, &img, &msk, &f));
    dolor_image_free(img);
    dolor_image_free(msk);
    c.width = c.height = 512;
    CHECK_OK(dolor_phantom_generate(&c, 5, &img, &msk, &f));
    if (msk) {
        size_t n1 = 0;
        for (size_t i = 0; i < 512 * 512; i++)
            n1 += ((uint8_t *)msk->data)[i] == 1;
        CHECK(n1 > 512 * 512 / 200);
    }
    dolor_image_free(img);
    dolor_image_free(msk);
}

/* How many of the n pairs DIR/images/NNNN.png, DIR/masks/NNNN.png differ from dolor_phantom_generate
 * with config c and base seed; *spacing0 receives the first image's x spacing (pHYs). */
static int written_pairs_differ(const char *dir, const dolor_phantom_config *c, uint64_t seed, int n,
                                double *spacing0)
{
    int bad = 0;
    char p[700];
    for (int i = 0; i < n; i++) {
        dolor_image *gi = NULL, *gm = NULL, *ri = NULL, *rm = NULL;
        CHECK_OK(dolor_phantom_generate(c, dolor_phantom_image_seed(seed, i), &gi, &gm, NULL));
        snprintf(p, sizeof p, "%s/images/%04d.png", dir, i);
        CHECK_OK(dolor_png_read(p, &ri));
        snprintf(p, sizeof p, "%s/masks/%04d.png", dir, i);
        CHECK_OK(dolor_png_read(p, &rm));
        bad += !dolor_test_same_voxels(gi, ri) || !dolor_test_same_voxels(gm, rm);
        if (i == 0 && spacing0)
            *spacing0 = ri ? ri->spacing[0] : NAN;
        dolor_image_free(gi);
        dolor_image_free(gm);
        dolor_image_free(ri);
        dolor_image_free(rm);
    }
    return bad;
}

static void test_dataset(void)
{
    char dir[64];
    if (!dolor_test_tmpdir(dir, sizeof dir, "phantom"))
        return;
    char out[512], p[700];
    snprintf(out, sizeof out, "%s/ds", dir);
    dolor_phantom_config c;
    dolor_phantom_config_default(&c);
    c.width = 128;
    c.height = 96;
    CHECK_ERR(dolor_phantom_write_dataset(out, 0, &c, 7, 0), DOLOR_EINVAL, "count is 0");
    c.bone_prob = 2;
    CHECK_ERR(dolor_phantom_write_dataset(out, 3, &c, 7, 0), DOLOR_EINVAL, "bone_prob is 2");
    CHECK(access(out, F_OK) != 0); /* nothing written for a bad config */
    c.bone_prob = 0.8;
    CHECK_OK(dolor_phantom_write_dataset(out, 5, &c, 7, 0));
    double sp0 = NAN;
    int bad = written_pairs_differ(out, &c, 7, 5, &sp0);
    CHECK_NEAR(sp0, 38.4 / 96, 1e-6); /* pHYs round trip */
    CHECKF(bad == 0, "%d of 5 written pairs differ from dolor_phantom_generate", bad);
    snprintf(p, sizeof p, "%s/images/0005.png", out);
    CHECK(access(p, F_OK) != 0);
    snprintf(p, sizeof p, "%s/README.txt", out);
    char *txt = dolor_test_slurp(p, NULL);
    CHECKF(txt && strstr(txt, "1 nerve") && strstr(txt, "2 vessel") && strstr(txt, "0 background") &&
               strstr(txt, "NOT labelled") && strstr(txt, "--seed 7"),
           "README:\n%s", txt);
    free(txt);
    snprintf(p, sizeof p, "%s/phantom.csv", out);
    txt = dolor_test_slurp(p, NULL);
    int lines = 0;
    for (char *q = txt; q && *q; q++)
        lines += *q == '\n';
    CHECKF(lines == 6 && strncmp(txt, "file,seed,nerve_cx", 18) == 0 && strstr(txt, "\n0004.png,"),
           "phantom.csv:\n%s", txt);
    free(txt);
    /* the palette is the usgra one: reading the mask as indices gave labels above;
     * the same files again with a different count: image 2 unchanged */
    snprintf(out, sizeof out, "%s/ds2", dir);
    CHECK_OK(dolor_phantom_write_dataset(out, 3, &c, 7, 0));
    snprintf(p, sizeof p, "%s/ds/images/0002.png", dir);
    char *a = dolor_test_slurp(p, NULL);
    snprintf(p, sizeof p, "%s/ds2/images/0002.png", dir);
    char *b = dolor_test_slurp(p, NULL);
    CHECK(a && b && strcmp(a, b) == 0);
    free(a);
    free(b);
    /* unwritable target */
    CHECK_ERR(dolor_phantom_write_dataset("/proc/dolor-no/ds", 1, &c, 7, 0), DOLOR_EIO, "/proc/dolor-no");
    dolor_test_rm_rf(dir);
}

/* `dolor phantom` through the program (when DOLOR_BIN points at it). */
static void test_cli(void)
{
    if (!dolor_test_bin("dolor phantom checks"))
        return;
    char dir[64], p[700], *so = NULL, *se = NULL;
    if (!dolor_test_tmpdir(dir, sizeof dir, "phcli"))
        return;
    CHECK(dolor_test_run(NULL, NULL, "phantom -o %s/ds -n 3 --size 96 --seed 5 --bone-prob 0 -q", dir) == 0);
    dolor_phantom_config c;
    dolor_phantom_config_default(&c);
    c.width = c.height = 96;
    c.bone_prob = 0;
    snprintf(p, sizeof p, "%s/ds", dir);
    int bad = written_pairs_differ(p, &c, 5, 3, NULL);
    CHECKF(bad == 0, "%d CLI-written pairs differ from the library", bad);
    CHECK(dolor_test_run(&so, NULL, "phantom --help") == 0);
    CHECKF(so && strstr(so, "--vessel-prob") && strstr(so, "--count N"), "help: %s", so);
    free(so);
    static const char *const bad_args[][2] = {
        {"-n 3", "-o DIR is required"},
        {"-o %s/x -n 0", "--count: 0 is outside 1..1000000"},
        {"-o %s/x --size 32", "--size: 32 is outside 64..4096"},
        {"-o %s/x --vessel-prob 2", "--vessel-prob: 2 is outside 0..1"},
        {"-o %s/x --seed abc", "--seed: 'abc' is not an integer"},
    };
    for (size_t i = 0; i < sizeof bad_args / sizeof *bad_args; i++) {
        char args[256];
        snprintf(args, sizeof args, bad_args[i][0], dir);
        CHECKF(dolor_test_run(NULL, &se, "phantom %s", args) == 2, "phantom %s", args);
        CHECKF(se && strstr(se, bad_args[i][1]), "phantom %s: stderr %s (expected '%s')", args, se, bad_args[i][1]);
        free(se);
    }
    snprintf(p, sizeof p, "%s/x", dir);
    CHECK(access(p, F_OK) != 0);
    dolor_test_rm_rf(dir);
}

int main(void)
{
    test_determinism();
    test_structures();
    test_config();
    test_dataset();
    test_cli();
    return dolor_test_finish();
}
