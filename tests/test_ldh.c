/* MSU grading (dolor_ldh_grade) on hand-built masks and keypoints whose grades follow from the rules in
 * docs/ldh.md by hand, at the boundaries (exactly 50 %, exactly on the intra-facet line, the focal threshold,
 * each zone border); the same slice turned by 90 degrees and mirrored; the type/region tables; errors; and
 * the axial-disc phantom graded from its true masks and keypoints. */
#include "check.h"
#include "dolor/io.h"
#include "dolor/ldh.h"
#include "dolor/phantom.h"

#define N 100

/* The hand frame (spacing 1 mm): FR (39.5, 59.5), FL (59.5, 59.5): W = 20, lateral s = x - 39 at a pixel
 * centre, so A is columns 44..54, B right 39..43, B left 55..59, C right <= 38, C left >= 60. The posterior disc
 * line DPR (24.5, 49.5) - DPL (74.5, 49.5): reference distance D = 10 mm, a pixel of row y is y - 49 mm behind
 * the line. Disc: rows 30..48 of columns 20..79 (all anterior of the line). */
static double K[9][3];
static uint8_t M[N * N];

static void frame(double conv)
{
    const double k[9][2] = {{49.5, 20}, {49.5, 49.5 + conv}, {24.5, 49.5}, {74.5, 49.5}, {39.5, 59.5},
                            {59.5, 59.5}, {49.5, 70}, {19.5, 35}, {80.5, 35}};
    for (int i = 0; i < 9; i++)
        K[i][0] = k[i][0], K[i][1] = k[i][1], K[i][2] = 2;
    memset(M, 0, sizeof M);
    for (int y = 30; y <= 48; y++)
        for (int x = 20; x < 80; x++)
            M[y * N + x] = 1;
}

/* herniation: columns x0..x1, rows 49..y1 */
static void hern(int x0, int x1, int y1)
{
    for (int y = 49; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
            M[y * N + x] = 1;
}

static dolor_ldh_result grade(const double sp[2])
{
    dolor_ldh_result r;
    dolor_status s = dolor_ldh_grade(M, N, N, sp, &K[0][0], 3, NULL, &r);
    CHECKF(s == DOLOR_OK, "%s", dolor_errmsg());
    if (s)
        memset(&r, 0, sizeof r), r.type = -1, r.type_name = "?";
    return r;
}

static const double ONE[2] = {1, 1};

#define EXPECT(r, g, z, sd, tn)                                                                                    \
    CHECKF((r).grade == (g) && !strcmp((r).zone, (z)) && (r).side == (sd) && !strcmp((r).type_name, (tn)),         \
           "grade %d zone '%s' side %s type %s (expected %d '%s' %s %s)", (r).grade, (r).zone,                      \
           dolor_ldh_side_name((r).side), (r).type_name, (g), (z), dolor_ldh_side_name(sd), (tn))

static void test_sizes(void)
{
    dolor_ldh_result r;
    frame(0);
    r = grade(ONE);
    EXPECT(r, 0, "", DOLOR_LDH_SIDE_NONE, "normal");
    CHECK(r.herniated_px == 0 && r.ratio == 0 && r.convexity_mm == 0);
    CHECK_NEAR(r.if_width_mm, 20, 1e-12);
    CHECK_NEAR(r.canal_ap_mm, 20.5, 1e-12);
    CHECK_NEAR(r.disc_width_mm, 61, 1e-12);
    CHECK_NEAR(r.disc_ap_mm, 29.5, 1e-12);
    CHECK_NEAR(r.focal_max_mm, -1.0, 1e-12); /* row 48, 1 mm anterior of the line */
    /* row 49 is 0 mm behind the line, row 50 1 mm: not more than focal_mm = 1, so no herniation */
    hern(45, 50, 50);
    r = grade(ONE);
    EXPECT(r, 0, "", DOLOR_LDH_SIDE_NONE, "normal");
    CHECK_NEAR(r.focal_max_mm, 1.0, 1e-12);
    /* rows to 54: 5 mm of 10 = exactly 50 %: size 1 */
    frame(0), hern(45, 50, 54);
    r = grade(ONE);
    EXPECT(r, 1, "A", DOLOR_LDH_SIDE_CENTRAL, "1-A");
    CHECK(r.ratio == 0.5 && r.extent_mm == 5 && r.ref_mm == 10);
    CHECK(r.herniated_px == 6 * 4); /* rows 51..54 */
    /* rows to 55: 60 %: size 2 */
    frame(0), hern(45, 50, 55);
    r = grade(ONE);
    EXPECT(r, 2, "A", DOLOR_LDH_SIDE_CENTRAL, "2-A");
    CHECK_NEAR(r.ratio, 0.6, 1e-12);
    /* rows to 59: exactly on the intra-facet line (100 %): size 2 */
    frame(0), hern(45, 50, 59);
    r = grade(ONE);
    EXPECT(r, 2, "A", DOLOR_LDH_SIDE_CENTRAL, "2-A");
    CHECK(r.ratio == 1.0);
    /* one row beyond: size 3 */
    frame(0), hern(45, 50, 60);
    r = grade(ONE);
    EXPECT(r, 3, "A", DOLOR_LDH_SIDE_CENTRAL, "3-A");
    CHECK_NEAR(r.ratio, 1.1, 1e-12);
    /* anisotropic spacing (0.5 mm columns, 0.25 mm rows): row y is 0.25 (y - 49) mm behind the line, D = 2.5 mm;
     * rows to 53: 1.0 mm, not herniated; rows to 54: 1.25 mm = 50 % of 2.5 mm: size 1; rows to 55: 60 % */
    const double an[2] = {0.5, 0.25};
    frame(0), hern(45, 50, 53);
    r = grade(an);
    EXPECT(r, 0, "", DOLOR_LDH_SIDE_NONE, "normal");
    frame(0), hern(45, 50, 54);
    r = grade(an);
    EXPECT(r, 1, "A", DOLOR_LDH_SIDE_CENTRAL, "1-A");
    CHECK(r.ratio == 0.5 && r.extent_mm == 1.25 && r.ref_mm == 2.5 && r.herniated_px == 6);
    CHECK_NEAR(r.if_width_mm, 10, 1e-12);
    frame(0), hern(45, 50, 55);
    r = grade(an);
    EXPECT(r, 2, "A", DOLOR_LDH_SIDE_CENTRAL, "2-A");
}

static void test_zones(void)
{
    static const struct {
        int x0, x1;
        const char *zone;
        dolor_ldh_side side;
        const char *type;
    } c[] = {
        {44, 44, "A", DOLOR_LDH_SIDE_CENTRAL, "1-A"},  /* s = 5 = W/4: A (closed) */
        {54, 54, "A", DOLOR_LDH_SIDE_CENTRAL, "1-A"},  /* s = 15 = 3W/4: A */
        {44, 54, "A", DOLOR_LDH_SIDE_CENTRAL, "1-A"},
        {43, 43, "B", DOLOR_LDH_SIDE_RIGHT, "1-B"},    /* s = 4 */
        {55, 55, "B", DOLOR_LDH_SIDE_LEFT, "1-B"},     /* s = 16 */
        {39, 39, "B", DOLOR_LDH_SIDE_RIGHT, "1-B"},    /* s = 0: at the right facet, still B */
        {59, 59, "B", DOLOR_LDH_SIDE_LEFT, "1-B"},     /* s = 20 = W */
        {38, 38, "C", DOLOR_LDH_SIDE_RIGHT, "1-C"},    /* s = -1 */
        {60, 60, "C", DOLOR_LDH_SIDE_LEFT, "1-C"},     /* s = 21 */
        {43, 44, "AB", DOLOR_LDH_SIDE_RIGHT, "1-AB"},
        {54, 55, "AB", DOLOR_LDH_SIDE_LEFT, "1-AB"},
        {38, 39, "BC", DOLOR_LDH_SIDE_RIGHT, "1-BC"},
        {59, 60, "BC", DOLOR_LDH_SIDE_LEFT, "1-BC"},
        {38, 44, "ABC", DOLOR_LDH_SIDE_RIGHT, "ABC"},
        {43, 55, "AB", DOLOR_LDH_SIDE_BOTH, "1-AB"},   /* across the canal, both lateral quarters */
        {30, 70, "ABC", DOLOR_LDH_SIDE_BOTH, "ABC"},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        frame(0), hern(c[i].x0, c[i].x1, 52);
        dolor_ldh_result r = grade(ONE);
        CHECKF(r.grade == 1 && !strcmp(r.zone, c[i].zone) && r.side == c[i].side && !strcmp(r.type_name, c[i].type),
               "columns %d..%d: grade %d zone %s side %s type %s (expected %s %s %s)", c[i].x0, c[i].x1, r.grade,
               r.zone, dolor_ldh_side_name(r.side), r.type_name, c[i].zone, dolor_ldh_side_name(c[i].side),
               c[i].type);
    }
    /* A and C without B (two herniations): ABC */
    frame(0), hern(38, 38, 52), hern(46, 47, 56);
    dolor_ldh_result r = grade(ONE);
    EXPECT(r, 2, "ABC", DOLOR_LDH_SIDE_RIGHT, "ABC");
    CHECK(r.zones == (DOLOR_LDH_ZONE_A | DOLOR_LDH_ZONE_C));
    /* the size is the largest ratio over all herniated pixels: 2 mm in C, 7 mm in B -> 2 */
    frame(0), hern(60, 60, 51), hern(57, 58, 56);
    r = grade(ONE);
    EXPECT(r, 2, "BC", DOLOR_LDH_SIDE_LEFT, "2-BC");
    CHECK_NEAR(r.extent_mm, 7, 1e-12);
}

static void test_bulging(void)
{
    dolor_ldh_result r;
    /* DP 1.5 mm behind the posterior disc line: bulging (>= bulging_mm); 1.4 mm: normal */
    frame(1.5);
    r = grade(ONE);
    EXPECT(r, 0, "", DOLOR_LDH_SIDE_NONE, "bulging");
    CHECK(r.bulging == 1 && r.region == 1 && r.type == 1);
    CHECK_NEAR(r.convexity_mm, 1.5, 1e-12);
    frame(1.4);
    r = grade(ONE);
    EXPECT(r, 0, "", DOLOR_LDH_SIDE_NONE, "normal");
    /* a bulging disc whose mask follows its own contour b(s) = 3 (1 - ((s - 10) / 25)^2) (s = x + 0.5 - 39.5 at
     * a pixel centre) to within 0.9 mm is not herniated, although it reaches 3.5 mm behind the line */
    frame(3.0);
    for (int x = 25; x < 75; x++) {
        double s = x + 0.5 - 39.5, b = 3 * (1 - ((s - 10) / 25) * ((s - 10) / 25));
        for (int y = 49; y < N; y++)
            if (y + 0.5 - 49.5 <= b + 0.9)
                M[y * N + x] = 1;
    }
    r = grade(ONE);
    EXPECT(r, 0, "", DOLOR_LDH_SIDE_NONE, "bulging");
    CHECK(r.focal_max_mm <= 0.9 && r.focal_max_mm > 0.5);
    /* one pixel more behind the middle column (x = 49: b = 3 mm; row 53 is 4 mm behind the line, 1 mm past b;
     * row 54 2 mm past b): a herniation of 5 mm / 10 mm = size 1 in A */
    M[53 * N + 49] = 1;
    r = grade(ONE);
    EXPECT(r, 0, "", DOLOR_LDH_SIDE_NONE, "bulging");
    M[54 * N + 49] = 1;
    r = grade(ONE);
    EXPECT(r, 1, "A", DOLOR_LDH_SIDE_CENTRAL, "1-A");
    CHECK(r.bulging == 1 && r.extent_mm == 5 && r.herniated_px == 1);
}

/* the same slice turned by 90 degrees (posterior to the left) and mirrored (with the sides' keypoints swapped) */
static void test_pose(void)
{
    static uint8_t R[N * N];
    double KR[9][3];
    frame(0), hern(52, 56, 57);
    dolor_ldh_result r0 = grade(ONE);
    EXPECT(r0, 2, "AB", DOLOR_LDH_SIDE_LEFT, "2-AB");
    /* turn: pixel (x, y) -> (99 - y, x); a point (X, Y) -> (100 - Y, X) */
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++)
            R[x * N + (99 - y)] = M[y * N + x];
    for (int k = 0; k < 9; k++)
        KR[k][0] = 100 - K[k][1], KR[k][1] = K[k][0], KR[k][2] = 2;
    dolor_ldh_result r;
    CHECK_OK(dolor_ldh_grade(R, N, N, ONE, &KR[0][0], 3, NULL, &r));
    CHECK(r.grade == r0.grade && r.type == r0.type && r.side == r0.side && r.herniated_px == r0.herniated_px);
    CHECK_NEAR(r.ratio, r0.ratio, 1e-12);
    CHECK_NEAR(r.extent_mm, r0.extent_mm, 1e-12);
    /* mirror: x -> 99 - x, X -> 100 - X, and right <-> left keypoints: the herniation is on the right */
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++)
            R[y * N + (99 - x)] = M[y * N + x];
    for (int k = 0; k < 9; k++)
        KR[k][0] = 100 - K[dolor_ldh_flip_idx[k]][0], KR[k][1] = K[dolor_ldh_flip_idx[k]][1], KR[k][2] = 2;
    CHECK_OK(dolor_ldh_grade(R, N, N, ONE, &KR[0][0], 3, NULL, &r));
    EXPECT(r, 2, "AB", DOLOR_LDH_SIDE_RIGHT, "2-AB");
    CHECK_NEAR(r.ratio, r0.ratio, 1e-12);
    /* kdim 2 (no visibility) gives the same */
    double K2[9][2];
    for (int k = 0; k < 9; k++)
        K2[k][0] = K[k][0], K2[k][1] = K[k][1];
    CHECK_OK(dolor_ldh_grade(M, N, N, ONE, &K2[0][0], 2, NULL, &r));
    CHECK(r.type == r0.type && r.ratio == r0.ratio);
}

static void test_tables(void)
{
    static const char *const names[18] = {"normal", "bulging", "1-A", "1-B", "1-AB", "1-C", "1-BC", "2-A", "2-B",
                                          "2-AB", "2-C", "2-BC", "3-A", "3-B", "3-AB", "3-C", "3-BC", "ABC"};
    for (int t = 0; t < 18; t++)
        CHECK(!strcmp(dolor_ldh_type_name(t), names[t]) && dolor_ldh_type_index(names[t]) == t);
    CHECK(dolor_ldh_type_name(18) == NULL && dolor_ldh_type_index("4-A") == -1 && dolor_ldh_type_index(NULL) == -1);
    CHECK(dolor_ldh_type_of(0, 0, 0) == 0 && dolor_ldh_type_of(0, 0, 1) == 1 && dolor_ldh_type_of(0, 1, 0) == -1);
    CHECK(dolor_ldh_type_of(2, DOLOR_LDH_ZONE_A | DOLOR_LDH_ZONE_B, 0) == 9);  /* 2-AB */
    CHECK(dolor_ldh_type_of(3, DOLOR_LDH_ZONE_B | DOLOR_LDH_ZONE_C, 1) == 16); /* 3-BC */
    CHECK(dolor_ldh_type_of(1, 7, 0) == 17 && dolor_ldh_type_of(3, 5, 0) == 17 && dolor_ldh_type_of(1, 0, 0) == -1);
    CHECK(dolor_ldh_type_of(4, 1, 0) == -1);
    CHECK(dolor_ldh_region_of(0, 0, 1) == 1 && dolor_ldh_region_of(3, 4, 0) == 5 && dolor_ldh_region_of(1, 7, 0) == 7);
    CHECK(!strcmp(dolor_ldh_region_name(6), "BC") && dolor_ldh_region_name(8) == NULL);
    CHECK(!strcmp(dolor_ldh_keypoint_name(4), "FR") && dolor_ldh_keypoint_name(9) == NULL);
}

static void test_errors(void)
{
    dolor_ldh_result r;
    frame(0);
    K[4][2] = 0;
    CHECK_ERR(dolor_ldh_grade(M, N, N, ONE, &K[0][0], 3, NULL, &r), DOLOR_EINVAL, "keypoint 4 (FR) is absent");
    frame(0);
    K[6][0] = NAN;
    CHECK_ERR(dolor_ldh_grade(M, N, N, ONE, &K[0][0], 3, NULL, &r), DOLOR_EINVAL, "keypoint 6 (CP) is not finite");
    frame(0);
    K[2][0] = 78; /* DPR to the left of DPL */
    CHECK_ERR(dolor_ldh_grade(M, N, N, ONE, &K[0][0], 3, NULL, &r), DOLOR_EINVAL, "keypoints DPR and DP out of order");
    frame(0);
    K[5][0] = K[4][0] + 0.5;
    CHECK_ERR(dolor_ldh_grade(M, N, N, ONE, &K[0][0], 3, NULL, &r), DOLOR_EINVAL, "FR and FL are 0.5 mm apart");
    frame(0);
    K[2][1] = K[3][1] = 59.2; /* posterior disc line 0.3 mm in front of the intra-facet line */
    CHECK_ERR(dolor_ldh_grade(M, N, N, ONE, &K[0][0], 3, NULL, &r), DOLOR_EINVAL, "need >= 0.5 mm");
    frame(0);
    K[0][1] = 59.5;
    CHECK_ERR(dolor_ldh_grade(M, N, N, ONE, &K[0][0], 3, NULL, &r), DOLOR_EINVAL, "DA lies on the intra-facet line");
    frame(0);
    memset(M, 0, sizeof M);
    CHECK_ERR(dolor_ldh_grade(M, N, N, ONE, &K[0][0], 3, NULL, &r), DOLOR_ENUMERIC, "mask is empty");
    frame(0);
    CHECK_ERR(dolor_ldh_grade(M, N, N, (double[2]){0, 1}, &K[0][0], 3, NULL, &r), DOLOR_EINVAL, "spacing 0 x 1");
    CHECK_ERR(dolor_ldh_grade(M, N, N, ONE, &K[0][0], 4, NULL, &r), DOLOR_EINVAL, "keypoint dimension 4");
    CHECK_ERR(dolor_ldh_grade(M, 0, N, ONE, &K[0][0], 3, NULL, &r), DOLOR_EINVAL, "mask size 0x100");
    CHECK_ERR(dolor_ldh_grade(M, N, N, ONE, &K[0][0], 3, &(dolor_ldh_params){-1, 1}, &r), DOLOR_EINVAL, "focal_mm -1");
    CHECK_ERR(dolor_ldh_grade(NULL, N, N, ONE, &K[0][0], 3, NULL, &r), DOLOR_EINVAL, "NULL");
    /* a smaller focal threshold finds the 1 mm extension of rows to 50 */
    frame(0), hern(45, 50, 50);
    CHECK_OK(dolor_ldh_grade(M, N, N, ONE, &K[0][0], 3, &(dolor_ldh_params){0.5, 1.5}, &r));
    CHECK(r.grade == 1 && r.herniated_px == 6);
}

/* the phantom's true mask and keypoints give the drawn type on every slice (two per type) */
static void test_phantom(void)
{
    dolor_axdisc_config c;
    dolor_axdisc_config_default(&c);
    int agree = 0, n = 0;
    for (int i = 0; i < 2 * DOLOR_LDH_NTYPE; i++) {
        dolor_image *img = NULL, *lab = NULL;
        dolor_axdisc_info in;
        int type = i % DOLOR_LDH_NTYPE;
        dolor_status s = dolor_phantom_axial_disc(&c, type, dolor_phantom_image_seed(11, i), &img, &lab, &in);
        CHECKF(s == DOLOR_OK, "%s", dolor_errmsg());
        if (s)
            continue;
        CHECK(img->size[0] == 512 && img->size[1] == 512 && img->spacing[0] == 0.4 && lab->spacing[1] == 0.4);
        const uint8_t *L = lab->data;
        static uint8_t disc[512 * 512];
        size_t ncanal = 0;
        for (size_t k = 0; k < 512 * 512; k++)
            disc[k] = L[k] == 1, ncanal += L[k] == 2;
        CHECK(ncanal > 500);
        double kp[9][2];
        memcpy(kp, in.kpt, sizeof kp);
        dolor_ldh_result r;
        CHECK_OK(dolor_ldh_grade(disc, 512, 512, img->spacing, &kp[0][0], 2, NULL, &r));
        n++;
        int ok = r.type == type && r.grade == in.grade && r.zones == in.zones && (int)r.side == in.side &&
                 r.bulging == in.bulging;
        agree += ok;
        CHECKF(ok, "slice %d: drawn %s grade %d zones %d side %d, graded %s grade %d zones %d side %d (ratio %.3f)", i,
               dolor_ldh_type_name(type), in.grade, in.zones, in.side, r.type_name, r.grade, r.zones, r.side, r.ratio);
        /* the measured ratio lies within a pixel (0.4 mm / D) below the drawn one */
        if (in.grade > 0)
            CHECKF(r.ratio <= in.ratio + 1e-9 && r.ratio > in.ratio - 0.6 / r.ref_mm, "slice %d: ratio %.4f drawn %.4f",
                   i, r.ratio, in.ratio);
        dolor_image_free(img);
        dolor_image_free(lab);
    }
    printf("phantom: %d/%d slices graded as drawn\n", agree, n);
    dolor_image *a = NULL, *b = NULL;
    CHECK_ERR(dolor_phantom_axial_disc(&c, 18, 1, &a, &b, NULL), DOLOR_EINVAL, "type 18");
    c.size = 100;
    CHECK_ERR(dolor_phantom_axial_disc(&c, 0, 1, &a, &b, NULL), DOLOR_EINVAL, "size 100");
    CHECK(a == NULL && b == NULL);
}

int main(void)
{
    test_sizes();
    test_zones();
    test_bulging();
    test_pose();
    test_tables();
    test_errors();
    test_phantom();
    return dolor_test_finish();
}
