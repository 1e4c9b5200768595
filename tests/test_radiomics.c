/* radiomics: GLCM against scikit-image (../shared/oracle/glcm.json, 1e-10 relative), Nakagami against the exact
 * maximum-likelihood values (../shared/oracle/nakagami.json, 1e-8 relative), first-order features against
 * NumPy/SciPy (tests/fixtures/radiomics/firstorder.json from tools/gen_radiomics_fixtures.py, 1e-10 relative),
 * 3D co-occurrence counts against a brute-force count written here, preprocessing and bad input. */
#define _GNU_SOURCE
#include "check.h"
#include "dolor/radiomics.h"

#include <ctype.h>
#include <stdint.h>

#include "json_fx.h"

/* flatten nested arrays of numbers into v (row-major); returns the count */
static int jflat(const jv *a, double *v, int k)
{
    if (!a)
        return k;
    if (a->t != J_ARR) {
        v[k] = a->num;
        return k + 1;
    }
    for (int i = 0; i < a->n; i++)
        k = jflat(a->items[i], v, k);
    return k;
}

static jv *load_json(const char *path)
{
    if (!DOLOR_TEST_NEED_DATA(path))
        return NULL;
    return json_load_file(path);
}

static const char *oracle_dir(void)
{
    const char *d = getenv("DOLOR_ORACLE");
    return d ? d : "../shared/oracle";
}

static double max_rel;
static int n_cmp;
/* relative 1e-10 (absolute 1e-13 where the reference is ~0) */
static void cmp_rel(const char *what, double got, double want, double rel)
{
    double d = fabs(got - want), r = want != 0 ? d / fabs(want) : d;
    n_cmp++;
    if (r > max_rel && fabs(want) > 1e-13)
        max_rel = r;
    CHECKF(d <= rel * fabs(want) || d <= 1e-13, "%s: got %.17g, reference %.17g (rel %.3g)", what, got, want, r);
}

/* ---------------- GLCM vs scikit-image ---------------- */
static const dolor_glcm_dir angles4[4] = {{0, 0, 1}, {0, 1, 1}, {0, 1, 0}, {0, 1, -1}}; /* 0, pi/4, pi/2, 3pi/4 */

static void test_directions(void)
{
    dolor_glcm_dir d[13];
    CHECK(dolor_glcm_directions(2, d) == 4);
    for (int k = 0; k < 4; k++)
        CHECK(d[k].dz == angles4[k].dz && d[k].dy == angles4[k].dy && d[k].dx == angles4[k].dx);
    CHECK(dolor_glcm_directions(3, d) == 13);
    /* 13 distinct, none the negative of another */
    int ok = 1;
    for (int a = 0; a < 13; a++)
        for (int b = 0; b < 13; b++) {
            if (a != b && d[a].dz == d[b].dz && d[a].dy == d[b].dy && d[a].dx == d[b].dx)
                ok = 0;
            if (d[a].dz == -d[b].dz && d[a].dy == -d[b].dy && d[a].dx == -d[b].dx)
                ok = 0;
        }
    CHECK(ok);
    int off[3];
    dolor_glcm_offset((dolor_glcm_dir){0, 1, 1}, 2, DOLOR_GLCM_CHEBYSHEV, off);
    CHECK(off[0] == 0 && off[1] == 2 && off[2] == 2);
    dolor_glcm_offset((dolor_glcm_dir){1, -1, 1}, 3, DOLOR_GLCM_ROUNDED, off); /* 3/sqrt(3) = 1.73 -> 2 */
    CHECK(off[0] == 2 && off[1] == -2 && off[2] == 2);
}

static void test_glcm_oracle(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/glcm.json", oracle_dir());
    jv *root = load_json(path);
    if (!root)
        return;
    jv *cases = jget(root, "cases");
    CHECK(cases && cases->n == 5);
    double *buf = malloc(sizeof(double) * 2 * 4 * 32 * 32);
    int ncase = 0;
    for (int ci = 0; cases && ci < cases->n; ci++) {
        jv *c = cases->items[ci], *in = jget(c, "inputs"), *out = jget(c, "outputs");
        const char *name = jget(c, "name")->str;
        int L = (int)jget(in, "levels")->num;
        int64_t size[3] = {0, 0, 1};
        double *x = NULL;
        jv *img = jget(in, "image");
        if (img) {
            size[1] = img->n;
            size[0] = img->items[0]->n;
            x = malloc(sizeof(double) * (size_t)(size[0] * size[1]));
            jflat(img, x, 0);
        } else {
            snprintf(path, sizeof path, "%s/%s", oracle_dir(), jget(in, "image_file")->str);
            jv *shape = jget(in, "image_shape");
            size[1] = (int64_t)shape->items[0]->num;
            size[0] = (int64_t)shape->items[1]->num;
            x = malloc(sizeof(double) * (size_t)(size[0] * size[1]));
            char *txt = dolor_test_slurp(path, NULL);
            CHECKF(txt != NULL, "cannot read %s", path);
            size_t k = 0;
            for (char *p = txt; txt && *p && k < (size_t)(size[0] * size[1]);) {
                char *end;
                double v = strtod(p, &end);
                if (end == p) {
                    p++;
                    continue;
                }
                x[k++] = v;
                p = end;
            }
            CHECK(k == (size_t)(size[0] * size[1]));
            free(txt);
        }
        size_t n = (size_t)(size[0] * size[1]);
        uint16_t *q = malloc(n * sizeof *q);
        int symmetric = !strstr(name, "nonsymmetric");
        if (img) {
            for (size_t i = 0; i < n; i++)
                q[i] = (uint16_t)x[i];
        } else {
            /* the oracle's quantisation floor(v*L/256) = fixed bin count over [0, 256) */
            dolor_quant qz = {.mode = DOLOR_QUANT_BIN_COUNT, .levels = L, .range_set = 1, .lo = 0, .hi = 256};
            int lv;
            CHECK_OK(dolor_quantise(x, NULL, n, &qz, q, &lv));
            int shift = L == 8 ? 5 : 3, same = 1;
            for (size_t i = 0; i < n; i++)
                same &= q[i] == ((int)x[i] >> shift);
            CHECKF(same && lv == L, "%s: quantisation differs from v >> %d", name, shift);
        }
        /* offsets and counts */
        jv *offs = jget(out, "offsets_drow_dcol");
        jv *counts = jget(out, symmetric ? "glcm_counts_symmetric_d_a_i_j" : "glcm_counts_d_a_i_j");
        int nref = jflat(counts, buf, 0);
        CHECK(nref == 2 * 4 * L * L);
        double *P = malloc(sizeof(double) * (size_t)(L * L));
        int dists[2] = {1, 2};
        for (int di = 0; di < 2; di++)
            for (int a = 0; a < 4; a++) {
                int off[3];
                dolor_glcm_offset(angles4[a], dists[di], DOLOR_GLCM_ROUNDED, off);
                jv *o = offs->items[di]->items[a];
                CHECKF(off[0] == 0 && off[1] == (int)o->items[0]->num && off[2] == (int)o->items[1]->num,
                       "%s d=%d angle %d: offset (%d,%d) vs skimage (%g,%g)", name, dists[di], a, off[1], off[2],
                       o->items[0]->num, o->items[1]->num);
                CHECK_OK(dolor_glcm_counts(q, NULL, size, L, off, symmetric, P));
                int same = 1;
                for (int k = 0; k < L * L; k++)
                    same &= P[k] == buf[(di * 4 + a) * L * L + k];
                CHECKF(same, "%s d=%d angle %d: counts differ from graycomatrix", name, dists[di], a);
                if (!symmetric)
                    continue;
                double props[DOLOR_GLCM_NPROPS], props2[DOLOR_GLCM_NPROPS];
                CHECK_OK(dolor_glcm_props(P, L, props));
                CHECK_OK(dolor_glcm_props_region(q, NULL, size, L, off, 1, props2));
                for (int p = 0; p < DOLOR_GLCM_NPROPS; p++) {
                    char what[160];
                    double want = jget(out, dolor_glcm_prop_name(p))->items[di]->items[a]->num;
                    snprintf(what, sizeof what, "%s d=%d angle %d %s", name, dists[di], a, dolor_glcm_prop_name(p));
                    cmp_rel(what, props[p], want, 1e-10);
                    cmp_rel(what, props2[p], want, 1e-10);
                }
                /* the sparse path (levels > 4096) gives the same properties: unused levels add nothing */
                CHECK_OK(dolor_glcm_props_region(q, NULL, size, 5000, off, 1, props2));
                for (int p = 0; p < DOLOR_GLCM_NPROPS; p++)
                    cmp_rel("sparse path", props2[p], props[p], 1e-12);
            }
        /* the same through the feature set (integer fast path), named columns */
        if (symmetric) {
            dolor_features_config cfg;
            dolor_features_config_default(&cfg);
            cfg.firstorder = cfg.nakagami = 0;
            cfg.levels[0] = L;
            cfg.range_set = 1;
            cfg.range_lo = 0;
            cfg.range_hi = 256;
            cfg.n_distances = 2;
            cfg.distances[0] = 1;
            cfg.distances[1] = 2;
            cfg.offset_rule = DOLOR_GLCM_ROUNDED;
            for (int pass = 0; pass < 2; pass++) {
                /* pass 1: + 0.25 makes the values non-integer, so the general (quantise-first) path runs */
                double *xv = malloc(n * sizeof *xv);
                for (size_t i = 0; i < n; i++)
                    xv[i] = x[i] + (pass ? 0.25 : 0);
                dolor_feature_set *fs = NULL;
                CHECK_OK(dolor_features_compute(xv, size, NULL, &cfg, &fs));
                CHECK(fs && fs->n == 2 * (4 + 1) * 6);
                for (int k = 0; fs && k < fs->n; k++) {
                    int d, dz, dy, dx, L2;
                    char prop[32];
                    if (sscanf(fs->names[k], "glcm_L%d_d%d_dir(%d,%d,%d)_%31s", &L2, &d, &dz, &dy, &dx, prop) == 6) {
                        int a = -1;
                        for (int t = 0; t < 4; t++)
                            if (angles4[t].dy == dy && angles4[t].dx == dx && dz == 0)
                                a = t;
                        CHECK(a >= 0 && L2 == L);
                        if (a < 0)
                            continue;
                        double want = jget(out, prop)->items[d - 1]->items[a]->num;
                        cmp_rel(fs->names[k], fs->values[k], want, 1e-10);
                    } else if (sscanf(fs->names[k], "glcm_L%d_d%d_mean_%31s", &L2, &d, prop) == 3) {
                        double want = 0;
                        for (int t = 0; t < 4; t++)
                            want += jget(out, prop)->items[d - 1]->items[t]->num / 4;
                        cmp_rel(fs->names[k], fs->values[k], want, 1e-10);
                    } else {
                        CHECKF(0, "unexpected column %s", fs->names[k]);
                    }
                }
                if (fs && pass == 0 && L == 32 && size[1] == 64)
                    CHECKF(!strcmp(fs->names[7], "glcm_L32_d1_dir(0,1,1)_dissimilarity"), "%s", fs->names[7]);
                dolor_feature_set_free(fs);
                free(xv);
            }
        }
        ncase++;
        free(P);
        free(q);
        free(x);
    }
    CHECK(ncase == 5);
    printf("glcm.json: %d cases, %d values compared, max relative difference %.3g\n", ncase, n_cmp, max_rel);
    free(buf);
    jfree(root);
}

/* brute-force 3D co-occurrence count with explicit coordinates, for all 13 directions */
static void test_glcm_3d(void)
{
    const int64_t size[3] = {7, 6, 5};
    const size_t n = 7 * 6 * 5;
    uint16_t q[7 * 6 * 5];
    uint8_t mask[7 * 6 * 5];
    dolor_rng r;
    dolor_rng_seed(&r, 99);
    for (size_t i = 0; i < n; i++) {
        q[i] = (uint16_t)dolor_rng_below(&r, 5);
        mask[i] = dolor_rng_uniform(&r) < 0.8;
    }
    dolor_glcm_dir dirs[13];
    dolor_glcm_directions(3, dirs);
    double P[25], R[25];
    int all_same = 1;
    for (int k = 0; k < 13; k++)
        for (int d = 1; d <= 2; d++) {
            int off[3];
            dolor_glcm_offset(dirs[k], d, DOLOR_GLCM_CHEBYSHEV, off);
            CHECK_OK(dolor_glcm_counts(q, mask, size, 5, off, 1, P));
            memset(R, 0, sizeof R);
            for (int z = 0; z < 5; z++)
                for (int y = 0; y < 6; y++)
                    for (int x = 0; x < 7; x++) {
                        int z2 = z + off[0], y2 = y + off[1], x2 = x + off[2];
                        if (z2 < 0 || z2 >= 5 || y2 < 0 || y2 >= 6 || x2 < 0 || x2 >= 7)
                            continue;
                        int a = (z * 6 + y) * 7 + x, b = (z2 * 6 + y2) * 7 + x2;
                        if (!mask[a] || !mask[b])
                            continue;
                        R[q[a] * 5 + q[b]] += 1;
                        R[q[b] * 5 + q[a]] += 1;
                    }
            for (int t = 0; t < 25; t++)
                all_same &= P[t] == R[t];
        }
    CHECK(all_same);
    /* the feature set (fast path) gives the properties of those matrices */
    double x[7 * 6 * 5];
    for (size_t i = 0; i < n; i++)
        x[i] = q[i];
    dolor_features_config cfg;
    dolor_features_config_default(&cfg);
    cfg.firstorder = cfg.nakagami = 0;
    cfg.levels[0] = 5;
    cfg.distances[0] = 2;
    dolor_feature_set *fs = NULL;
    CHECK_OK(dolor_features_compute(x, size, mask, &cfg, &fs));
    CHECK(fs && fs->n == 13 * 6 + 6);
    if (fs) {
        int off[3];
        dolor_glcm_offset(dirs[9], 2, DOLOR_GLCM_CHEBYSHEV, off); /* (1,1,1) */
        double props[6];
        CHECK_OK(dolor_glcm_props_region(q, mask, size, 5, off, 1, props));
        CHECKF(!strcmp(fs->names[9 * 6], "glcm_L5_d2_dir(1,1,1)_contrast"), "%s", fs->names[9 * 6]);
        for (int p = 0; p < 6; p++)
            cmp_rel(fs->names[9 * 6 + p], fs->values[9 * 6 + p], props[p], 1e-12);
        CHECKF(!strcmp(fs->names[13 * 6 + 4], "glcm_L5_d2_mean_correlation"), "%s", fs->names[13 * 6 + 4]);
    }
    dolor_feature_set_free(fs);
}

/* non-integer values, level counts whose common refinement exceeds 1024 classes: the quantise-first path */
static void test_glcm_general_path(void)
{
    const int64_t size[3] = {9, 8, 7};
    const size_t n = 9 * 8 * 7;
    double x[9 * 8 * 7];
    dolor_rng r;
    dolor_rng_seed(&r, 12);
    for (size_t i = 0; i < n; i++)
        x[i] = 1000 * dolor_rng_uniform(&r);
    dolor_features_config cfg;
    dolor_features_config_default(&cfg);
    cfg.firstorder = cfg.nakagami = 0;
    cfg.direction_mean = 0;
    cfg.n_levels = 2;
    cfg.levels[0] = 600;
    cfg.levels[1] = 700;
    dolor_feature_set *fs = NULL;
    CHECK_OK(dolor_features_compute(x, size, NULL, &cfg, &fs));
    uint16_t q[9 * 8 * 7];
    dolor_quant qz = {.mode = DOLOR_QUANT_BIN_COUNT, .levels = 700};
    int L;
    CHECK_OK(dolor_quantise(x, NULL, n, &qz, q, &L));
    dolor_glcm_dir dirs[13];
    dolor_glcm_directions(3, dirs);
    int off[3];
    dolor_glcm_offset(dirs[12], 1, DOLOR_GLCM_CHEBYSHEV, off);
    double props[6];
    CHECK_OK(dolor_glcm_props_region(q, NULL, size, 700, off, 1, props));
    if (fs) {
        int k0 = 13 * 6 + 12 * 6; /* L700, direction (1,-1,-1) */
        CHECKF(!strcmp(fs->names[k0], "glcm_L700_d1_dir(1,-1,-1)_contrast"), "%s", fs->names[k0]);
        for (int p = 0; p < 6; p++)
            cmp_rel(fs->names[k0 + p], fs->values[k0 + p], props[p], 1e-12);
    }
    dolor_feature_set_free(fs);
}

/* The feature set's integer path (8-bit and 16-bit refinements, runs of equal pairs, non-symmetric, masked)
 * against quantise-first dolor_glcm_props_region (double matrices), every direction, 1e-12 relative. Rows of 37
 * voxels hold whole 8-pair chunks and a tail; the volume has a zero background, a constant 255 slab and a
 * constant patch, so the run-skipping count is exercised. */
static void test_glcm_fast_paths(void)
{
    const int64_t size[3] = {37, 11, 9};
    const size_t n = 37 * 11 * 9;
    double *x = malloc(n * sizeof *x);
    uint8_t *mask = malloc(n);
    uint16_t *q = malloc(n * sizeof *q);
    dolor_rng r;
    dolor_rng_seed(&r, 2027);
    dolor_glcm_dir dirs[13];
    dolor_glcm_directions(3, dirs);
    static const int lv8[4] = {8, 24, 256, 96}, lv16[2] = {16, 900}, lvf[2] = {8, 12};
    int n_case = 0;
    for (int kind = 0; kind < 3; kind++) /* 0: integers 0..255, 1: integers 0..899, 2: non-integer values */
        for (int sym = 0; sym < 2; sym++)
            for (int masked = 0; masked < 2; masked++) {
                for (size_t i = 0; i < n; i++) {
                    size_t xi = i % 37, yi = (i / 37) % 11, zi = i / (37 * 11);
                    double top = kind == 1 ? 900 : 256;
                    double v = floor(top * dolor_rng_uniform(&r));
                    if (xi < 20 && yi < 6)
                        v = 0; /* background */
                    else if (zi == 4)
                        v = top - 1; /* constant slab */
                    else if (xi >= 24 && yi >= 5)
                        v = 7; /* constant patch */
                    x[i] = kind == 2 ? v + 0.5 : v;
                    mask[i] = !masked || dolor_rng_uniform(&r) < 0.85 || (xi < 20 && yi < 6);
                }
                dolor_features_config cfg;
                dolor_features_config_default(&cfg);
                cfg.firstorder = cfg.nakagami = 0;
                cfg.direction_mean = 0;
                cfg.symmetric = sym;
                const int *lv = kind == 0 ? lv8 : kind == 1 ? lv16 : lvf;
                cfg.n_levels = kind == 0 ? 4 : 2;
                memcpy(cfg.levels, lv, (size_t)cfg.n_levels * sizeof *lv);
                cfg.range_set = kind == 0;
                cfg.range_lo = 0;
                cfg.range_hi = 256;
                cfg.n_distances = 2;
                cfg.distances[0] = 1;
                cfg.distances[1] = 3;
                dolor_feature_set *fs = NULL;
                CHECK_OK(dolor_features_compute(x, size, masked ? mask : NULL, &cfg, &fs));
                CHECK(fs && fs->n == cfg.n_levels * 2 * 13 * 6);
                for (int qi = 0; fs && qi < cfg.n_levels; qi++) {
                    dolor_quant qz = {.mode = DOLOR_QUANT_BIN_COUNT, .levels = lv[qi], .range_set = cfg.range_set,
                                      .lo = 0, .hi = 256};
                    int L = 0;
                    CHECK_OK(dolor_quantise(x, masked ? mask : NULL, n, &qz, q, &L));
                    for (int di = 0; di < 2; di++)
                        for (int k = 0; k < 13; k++) {
                            int off[3];
                            dolor_glcm_offset(dirs[k], cfg.distances[di], DOLOR_GLCM_CHEBYSHEV, off);
                            double props[6];
                            CHECK_OK(dolor_glcm_props_region(q, masked ? mask : NULL, size, L, off, sym, props));
                            int k0 = ((qi * 2 + di) * 13 + k) * 6;
                            for (int p = 0; p < 6; p++) {
                                char what[160];
                                snprintf(what, sizeof what, "kind %d sym %d mask %d %s", kind, sym, masked,
                                         fs->names[k0 + p]);
                                cmp_rel(what, fs->values[k0 + p], props[p], 1e-12);
                            }
                        }
                }
                dolor_feature_set_free(fs);
                n_case++;
            }
    CHECK(n_case == 12);
    free(x);
    free(mask);
    free(q);
}

/* IBSI's other GLCM features (glcm_ibsi) against NumPy on scikit-image's matrices
 * (tests/fixtures/radiomics/glcm_ibsi.json from tools/gen_radiomics_fixtures.py), 1e-10 relative: per direction
 * and direction means, on the integer path and (values + 0.25 beside a 1100-level count) on the quantise-first
 * path; the six properties keep their columns before them. */
static void test_glcm_ibsi(void)
{
    jv *root = load_json(DOLOR_TEST_FIXTURES "/radiomics/glcm_ibsi.json");
    if (!root)
        return;
    jv *cases = jget(root, "cases");
    int nc = 0;
    double worst = 0;
    for (int ci = 0; cases && ci < cases->n; ci++) {
        jv *c = cases->items[ci], *exp = jget(c, "expected_d_a");
        const int L = (int)jget(c, "levels")->num, H = (int)jget(c, "height")->num, W = (int)jget(c, "width")->num;
        const int64_t size[3] = {W, H, 1};
        double *x = malloc((size_t)W * H * sizeof *x);
        jflat(jget(c, "image"), x, 0);
        for (int pass = 0; pass < 2; pass++) {
            dolor_features_config cfg;
            dolor_features_config_default(&cfg);
            cfg.firstorder = cfg.nakagami = 0;
            cfg.glcm_ibsi = 1;
            cfg.symmetric = jget(c, "symmetric")->num != 0;
            cfg.n_levels = pass ? 2 : 1;
            cfg.levels[0] = L;
            cfg.levels[1] = 1100;
            cfg.range_set = 1;
            cfg.range_lo = 0;
            cfg.range_hi = L;
            cfg.n_distances = 2;
            cfg.distances[0] = 1;
            cfg.distances[1] = 2;
            cfg.offset_rule = DOLOR_GLCM_ROUNDED;
            double *xv = malloc((size_t)W * H * sizeof *xv);
            for (int i = 0; i < W * H; i++)
                xv[i] = x[i] + (pass ? 0.25 : 0);
            dolor_feature_set *fs = NULL;
            CHECK_OK(dolor_features_compute(xv, size, NULL, &cfg, &fs));
            const int per = DOLOR_GLCM_NPROPS + DOLOR_GLCM_IBSI_N;
            CHECK(fs && fs->n == cfg.n_levels * 2 * 5 * per);
            int seen = 0;
            for (int k = 0; fs && k < fs->n; k++) {
                int L2, d, dz, dy, dx;
                char name[64];
                double want;
                if (sscanf(fs->names[k], "glcm_L%d_d%d_dir(%d,%d,%d)_%63s", &L2, &d, &dz, &dy, &dx, name) == 6) {
                    int a = -1;
                    for (int t = 0; t < 4; t++)
                        if (angles4[t].dy == dy && angles4[t].dx == dx)
                            a = t;
                    jv *e = jget(exp, name);
                    if (L2 != L || !e || a < 0)
                        continue;
                    want = e->items[d - 1]->items[a]->num;
                } else if (sscanf(fs->names[k], "glcm_L%d_d%d_mean_%63s", &L2, &d, name) == 3) {
                    jv *e = jget(exp, name);
                    if (L2 != L || !e)
                        continue;
                    want = 0;
                    for (int t = 0; t < 4; t++)
                        want += e->items[d - 1]->items[t]->num / 4;
                } else {
                    continue;
                }
                char what[200];
                snprintf(what, sizeof what, "%s pass %d %s", jget(c, "name")->str, pass, fs->names[k]);
                double r = fabs(fs->values[k] - want) / (fabs(want) > 1e-13 ? fabs(want) : 1);
                worst = r > worst ? r : worst;
                cmp_rel(what, fs->values[k], want, 1e-10);
                seen++;
            }
            CHECKF(seen == 2 * 5 * DOLOR_GLCM_IBSI_N, "%s: %d IBSI columns compared", jget(c, "name")->str, seen);
            if (fs && pass == 0 && ci == 0)
                CHECKF(!strcmp(fs->names[6], "glcm_L16_d1_dir(0,0,1)_joint_maximum") &&
                           !strcmp(fs->names[per - 1], "glcm_L16_d1_dir(0,0,1)_information_correlation_2"),
                       "%s ... %s", fs->names[6], fs->names[per - 1]);
            dolor_feature_set_free(fs);
            free(xv);
        }
        free(x);
        nc++;
    }
    CHECK(nc == 4);
    printf("glcm_ibsi.json: %d cases x %d IBSI features, max relative difference %.3g\n", nc, DOLOR_GLCM_IBSI_N, worst);
    jfree(root);
    /* study7020 stays 7020 columns; glcm_ibsi off by default */
    dolor_features_config cfg;
    dolor_features_config_study7020(&cfg);
    CHECK(cfg.glcm_ibsi == 0);
}

static void test_glcm_constant_and_errors(void)
{
    /* constant region: correlation 0/0 -> 1 (scikit-image) */
    uint16_t q[16] = {0};
    for (int i = 0; i < 16; i++)
        q[i] = 3;
    int64_t size[3] = {4, 4, 1};
    int off[3] = {0, 0, 1};
    double props[6];
    CHECK_OK(dolor_glcm_props_region(q, NULL, size, 8, off, 1, props));
    CHECK(props[DOLOR_GLCM_CORRELATION] == 1.0 && props[DOLOR_GLCM_CONTRAST] == 0 && props[DOLOR_GLCM_ASM] == 1.0);
    /* region smaller than the distance */
    int off5[3] = {0, 0, 5};
    CHECK_ERR(dolor_glcm_props_region(q, NULL, size, 8, off5, 1, props), DOLOR_ESHAPE, "smaller than the GLCM offset");
    /* levels outside 2..65536 */
    CHECK_ERR(dolor_glcm_props_region(q, NULL, size, 1, off, 1, props), DOLOR_EINVAL, "levels = 1");
    CHECK_ERR(dolor_glcm_props_region(q, NULL, size, 65537, off, 1, props), DOLOR_EINVAL, "levels = 65537");
    CHECK_ERR(dolor_glcm_props_region(q, NULL, size, 3, off, 1, props), DOLOR_EINVAL, "grey level 3");
    double x[16] = {0};
    dolor_quant qz = {.mode = DOLOR_QUANT_BIN_COUNT, .levels = 70000};
    CHECK_ERR(dolor_quantise(x, NULL, 16, &qz, q, NULL), DOLOR_EINVAL, "levels = 70000");
    uint8_t empty[16] = {0};
    qz.levels = 8;
    CHECK_ERR(dolor_quantise(x, empty, 16, &qz, q, NULL), DOLOR_EINVAL, "mask is empty");
    dolor_features_config cfg;
    dolor_features_config_default(&cfg);
    dolor_feature_set *fs = NULL;
    CHECK_ERR(dolor_features_compute(x, size, empty, &cfg, &fs), DOLOR_EINVAL, "mask is empty");
    cfg.distances[0] = 4;
    cfg.nakagami = 0;
    CHECK_ERR(dolor_features_compute(x, size, NULL, &cfg, &fs), DOLOR_ESHAPE, "distance 4, direction (0,0,1)");
    cfg.distances[0] = 1;
    cfg.levels[0] = 1;
    CHECK_ERR(dolor_features_compute(x, size, NULL, &cfg, &fs), DOLOR_EINVAL, "levels[0] = 1");
    cfg.levels[0] = 65537;
    CHECK_ERR(dolor_features_compute(x, size, NULL, &cfg, &fs), DOLOR_EINVAL, "levels[0] = 65537");
    /* constant region through the feature set: correlation 1, no NaN */
    cfg.levels[0] = 16;
    CHECK_OK(dolor_features_compute(x, size, NULL, &cfg, &fs));
    for (int k = 0; fs && k < fs->n; k++)
        if (strstr(fs->names[k], "correlation"))
            CHECKF(fs->values[k] == 1.0, "%s = %g", fs->names[k], fs->values[k]);
    dolor_feature_set_free(fs);
    /* Nakagami on a constant region is an error naming the cause */
    cfg.nakagami = 1;
    for (int i = 0; i < 16; i++)
        x[i] = 5;
    CHECK_ERR(dolor_features_compute(x, size, NULL, &cfg, &fs), DOLOR_ENUMERIC, "m is infinite");
    x[3] = NAN;
    CHECK_ERR(dolor_features_compute(x, size, NULL, &cfg, &fs), DOLOR_ENUMERIC, "voxel 3 (x=3, y=0, z=0)");
}

/* ---------------- Nakagami vs exact ML ---------------- */
static void test_nakagami(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/nakagami.json", oracle_dir());
    jv *root = load_json(path);
    if (!root)
        return;
    jv *cases = jget(root, "cases");
    int nc = 0;
    for (int ci = 0; cases && ci < cases->n; ci++) {
        jv *c = cases->items[ci], *out = jget(c, "outputs");
        jv *xs = jget(jget(c, "inputs"), "x");
        const char *name = jget(c, "name")->str;
        size_t n = (size_t)xs->n;
        double *x = malloc((n + 10) * sizeof *x);
        jflat(xs, x, 0);
        dolor_nakagami nk;
        CHECK_OK(dolor_nakagami_fit(x, NULL, n, &nk));
        char what[128];
        snprintf(what, sizeof what, "%s m_ml", name);
        cmp_rel(what, nk.m_ml, jget(out, "exact_mle_m")->num, 1e-8);
        snprintf(what, sizeof what, "%s omega_ml", name);
        cmp_rel(what, nk.omega_ml, jget(out, "exact_mle_omega")->num, 1e-8);
        snprintf(what, sizeof what, "%s m_moment", name);
        cmp_rel(what, nk.m_mom, jget(out, "moment_m_inverse_normalised_variance")->num, 1e-8);
        printf("nakagami %s: m_ml %.15g (exact %.15g), omega %.15g\n", name, nk.m_ml, jget(out, "exact_mle_m")->num,
               nk.omega_ml);
        /* zero voxels are ignored */
        for (int k = 0; k < 10; k++)
            x[n + k] = 0;
        dolor_nakagami nz;
        CHECK_OK(dolor_nakagami_fit(x, NULL, n + 10, &nz));
        CHECK(nz.m_ml == nk.m_ml && nz.omega_ml == nk.omega_ml && nz.n == n);
        /* a mask selects the voxels */
        uint8_t *mask = calloc(n, 1);
        for (size_t i = 0; i < n; i += 2)
            mask[i] = 1;
        double *half = malloc(n * sizeof *half);
        size_t h = 0;
        for (size_t i = 0; i < n; i += 2)
            half[h++] = x[i];
        dolor_nakagami a, b;
        CHECK_OK(dolor_nakagami_fit(x, mask, n, &a));
        CHECK_OK(dolor_nakagami_fit(half, NULL, h, &b));
        CHECK(a.m_ml == b.m_ml && a.n == h);
        x[1] = -1;
        CHECK_ERR(dolor_nakagami_fit(x, NULL, n, &nk), DOLOR_EINVAL, "voxel 1 is -1");
        free(mask);
        free(half);
        free(x);
        nc++;
    }
    CHECK(nc == 2);
    jfree(root);
}

/* ---------------- first order vs NumPy/SciPy ---------------- */
static void test_firstorder(void)
{
    jv *root = load_json(DOLOR_TEST_FIXTURES "/radiomics/firstorder.json");
    if (!root)
        return;
    jv *cases = jget(root, "cases");
    int nc = 0;
    double worst = 0;
    for (int ci = 0; cases && ci < cases->n; ci++) {
        jv *c = cases->items[ci], *exp = jget(c, "expected"), *xs = jget(c, "x"), *ms = jget(c, "mask");
        const char *name = jget(c, "name")->str;
        size_t n = (size_t)xs->n;
        double *x = malloc(n * sizeof *x), *mv = malloc(n * sizeof *mv);
        uint8_t *mask = NULL;
        jflat(xs, x, 0);
        if (ms && ms->t == J_ARR) {
            jflat(ms, mv, 0);
            mask = malloc(n);
            for (size_t i = 0; i < n; i++)
                mask[i] = mv[i] != 0;
        }
        dolor_quant qz = {.mode = DOLOR_QUANT_BIN_WIDTH, .bin_width = jget(c, "bin_width")->num};
        uint16_t *q = malloc(n * sizeof *q);
        int L = 0;
        CHECK_OK(dolor_quantise(x, mask, n, &qz, q, &L));
        /* PyRadiomics' 1-based top bin = our level count (a level above the maximum never occurs) */
        CHECKF(L == (int)jget(exp, "levels")->num, "%s: %d levels, PyRadiomics %g", name, L, jget(exp, "levels")->num);
        double fo[DOLOR_FO_N];
        CHECK_OK(dolor_firstorder(x, mask, n, q, L, fo));
        for (int k = 0; k < DOLOR_FO_N; k++) {
            char what[160];
            snprintf(what, sizeof what, "%s %s", name, dolor_fo_name(k));
            jv *w = jget(exp, dolor_fo_name(k));
            CHECKF(w != NULL, "fixture lacks %s", what);
            if (!w)
                continue;
            double d = fabs(fo[k] - w->num) / fmax(fabs(w->num), 1e-300);
            if (d > worst && fabs(w->num) > 1e-12)
                worst = d;
            CHECKF(fabs(fo[k] - w->num) <= 1e-10 * fabs(w->num) || fabs(fo[k] - w->num) < 1e-12,
                   "%s: got %.17g, NumPy/SciPy %.17g", what, fo[k], w->num);
        }
        free(x);
        free(mv);
        free(mask);
        free(q);
        nc++;
    }
    CHECK(nc == 5);
    printf("firstorder.json: %d cases x %d features, max relative difference %.3g\n", nc, DOLOR_FO_N, worst);
    double x[3] = {1, 2, 3};
    uint8_t none[3] = {0};
    double fo[DOLOR_FO_N];
    CHECK_ERR(dolor_firstorder(x, none, 3, NULL, 0, fo), DOLOR_EINVAL, "mask is empty");
    CHECK_OK(dolor_firstorder(x, NULL, 3, NULL, 0, fo));
    CHECK(isnan(fo[DOLOR_FO_ENTROPY]) && fo[DOLOR_FO_MEDIAN] == 2);
    jfree(root);
}

/* ---------------- preprocessing ---------------- */
static void test_preprocess(void)
{
    /* normalisation: gain and offset on the whole volume leave the result unchanged */
    const int64_t size[3] = {8, 6, 4};
    const size_t n = 8 * 6 * 4;
    double a[8 * 6 * 4], b[8 * 6 * 4];
    dolor_rng r;
    dolor_rng_seed(&r, 7);
    for (size_t i = 0; i < n; i++) {
        a[i] = 20 + 100 * dolor_rng_uniform(&r);
        b[i] = 3.5 * a[i] + 12;
    }
    for (int x = 0; x < 2; x++) /* bright box: x 0..1, y 0..1, z 0..1 */
        for (int y = 0; y < 2; y++)
            for (int z = 0; z < 2; z++)
                a[(z * 6 + y) * 8 + x] += 300, b[(z * 6 + y) * 8 + x] += 3.5 * 300;
    uint8_t darkmask[8 * 6 * 4] = {0};
    for (int x = 5; x < 8; x++)
        darkmask[(3 * 6 + 5) * 8 + x] = 1;
    dolor_region bright = {.box = {0, 0, 0, 2, 2, 2}, .name = "bright box"};
    dolor_region dark = {.mask = darkmask, .name = "shadow mask"};
    CHECK_OK(dolor_normalise_two_regions(a, size, &bright, &dark, 0, 255, 0));
    CHECK_OK(dolor_normalise_two_regions(b, size, &bright, &dark, 0, 255, 0));
    double md = 0, mb, mdk;
    for (size_t i = 0; i < n; i++)
        md = fmax(md, fabs(a[i] - b[i]));
    CHECKF(md < 1e-9, "gain changed the normalised volume by %g", md);
    CHECK_OK(dolor_region_mean(a, size, &bright, &mb));
    CHECK_OK(dolor_region_mean(a, size, &dark, &mdk));
    CHECK_NEAR(mb, 255, 1e-9);
    CHECK_NEAR(mdk, 0, 1e-9);
    CHECK_ERR(dolor_normalise_two_regions(a, size, &dark, &bright, 0, 255, 0), DOLOR_ENUMERIC, "not brighter");
    dolor_region outside = {.box = {0, 0, 0, 9, 2, 2}, .name = "--bright"};
    CHECK_ERR(dolor_normalise_two_regions(a, size, &outside, &dark, 0, 255, 0), DOLOR_EINVAL, "--bright: box");
    uint8_t zero[8 * 6 * 4] = {0};
    dolor_region emptyr = {.mask = zero, .name = "dark.nii.gz"};
    CHECK_ERR(dolor_normalise_two_regions(a, size, &bright, &emptyr, 0, 255, 0), DOLOR_EINVAL, "dark.nii.gz");
    /* crop and bounding box */
    dolor_image *img, *cr;
    int64_t is[3] = {8, 6, 4};
    CHECK_OK(dolor_image_create(&img, DOLOR_U8, 1, 3, is));
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)img->data)[i] = (uint8_t)i;
    img->spacing[0] = 0.5;
    dolor_box box;
    CHECK_OK(dolor_box_parse("2,1,1,5,4,3", &box));
    CHECK_OK(dolor_image_crop(img, &box, "--crop", &cr));
    CHECK(cr->size[0] == 3 && cr->size[1] == 3 && cr->size[2] == 2);
    CHECK(((uint8_t *)cr->data)[0] == (uint8_t)((1 * 6 + 1) * 8 + 2));
    CHECK(((uint8_t *)cr->data)[17] == (uint8_t)((2 * 6 + 3) * 8 + 4));
    CHECK_NEAR(cr->origin[0], 1.0, 1e-12);
    dolor_image_free(cr);
    CHECK_ERR(dolor_box_parse("1,2,3", &box), DOLOR_EINVAL, "expected x0,y0,x1,y1");
    box.x1 = 99;
    CHECK_ERR(dolor_image_crop(img, &box, "--crop", &cr), DOLOR_EINVAL, "--crop: box");
    dolor_image_free(img);
    dolor_box bb;
    CHECK_OK(dolor_mask_bbox(darkmask, size, "mask", &bb));
    CHECK(bb.x0 == 5 && bb.x1 == 8 && bb.y0 == 5 && bb.y1 == 6 && bb.z0 == 3 && bb.z1 == 4);
    CHECK_ERR(dolor_mask_bbox(zero, size, "roi.nii.gz", &bb), DOLOR_EINVAL, "roi.nii.gz: the mask is empty");
    /* bin-count quantisation over the data range: max falls in the top bin */
    double v[5] = {10, 12.5, 15, 17.5, 20};
    uint16_t q[5];
    dolor_quant qz = {.mode = DOLOR_QUANT_BIN_COUNT, .levels = 4};
    int L;
    CHECK_OK(dolor_quantise(v, NULL, 5, &qz, q, &L));
    CHECK(q[0] == 0 && q[1] == 1 && q[2] == 2 && q[3] == 3 && q[4] == 3 && L == 4);
    /* fixed bin width with a negative minimum: floored modulo, as PyRadiomics */
    double w[3] = {-7, 0, 6};
    qz = (dolor_quant){.mode = DOLOR_QUANT_BIN_WIDTH, .bin_width = 5};
    CHECK_OK(dolor_quantise(w, NULL, 3, &qz, q, &L));
    CHECK(q[0] == 0 && q[1] == 2 && q[2] == 3 && L == 4); /* low edge -10 */
    qz.bin_width = 1e-4;
    double wide[2] = {0, 1000};
    CHECK_ERR(dolor_quantise(wide, NULL, 2, &qz, q, &L), DOLOR_EINVAL, "bin_width");
}

static void test_resample(void)
{
    /* a linear ramp stays a ramp: v = 2x + 3y - z at 1 mm, resampled to 0.5 x 2 x 1 mm */
    const int64_t size[3] = {6, 5, 4};
    double x[6 * 5 * 4];
    uint8_t lab[6 * 5 * 4];
    for (int z = 0; z < 4; z++)
        for (int y = 0; y < 5; y++)
            for (int xx = 0; xx < 6; xx++) {
                x[(z * 5 + y) * 6 + xx] = 2 * xx + 3 * y - z;
                lab[(z * 5 + y) * 6 + xx] = (uint8_t)(xx >= 3);
            }
    const double si[3] = {1, 1, 1}, so[3] = {0.5, 2, 1};
    double *o = NULL;
    uint8_t *ol = NULL;
    int64_t os[3];
    CHECK_OK(dolor_resample_linear(x, lab, size, si, so, &o, &ol, os));
    CHECK(os[0] == 12 && os[1] == 3 && os[2] == 4);
    if (o) {
        /* output (i, j, k) sits at input (0.5 i, 2 j, k), clamped to the last voxel */
        double worst = 0;
        for (int k = 0; k < 4; k++)
            for (int j = 0; j < 3; j++)
                for (int i = 0; i < 12; i++) {
                    double fx = fmin(0.5 * i, 5), fy = fmin(2.0 * j, 4);
                    worst = fmax(worst, fabs(o[(k * 3 + j) * 12 + i] - (2 * fx + 3 * fy - k)));
                }
        CHECKF(worst < 1e-12, "ramp off by %g", worst);
        CHECK(ol[4] == 0 && ol[5] == 1); /* nearest: x = 2.0 -> 2 (label 0), 2.5 -> 3 (llround, label 1) */
    }
    free(o);
    free(ol);
    const double bad[3] = {1, 0, 1};
    CHECK_ERR(dolor_resample_linear(x, NULL, size, si, bad, &o, NULL, os), DOLOR_EINVAL, "spacing along y");
}

static void test_study_preset(void)
{
    dolor_features_config cfg;
    dolor_features_config_study7020(&cfg);
    const int64_t size[3] = {24, 22, 14};
    size_t n = 24 * 22 * 14;
    double *x = malloc(n * sizeof *x);
    dolor_rng r;
    dolor_rng_seed(&r, 3);
    for (size_t i = 0; i < n; i++)
        x[i] = (double)dolor_rng_below(&r, 256);
    dolor_feature_set *fs = NULL;
    CHECK_OK(dolor_features_compute(x, size, NULL, &cfg, &fs));
    CHECKF(fs && fs->n == 7020, "study preset: %d features", fs ? fs->n : -1);
    dolor_feature_set_free(fs);
    free(x);
}

int main(void)
{
    test_directions();
    test_glcm_oracle();
    test_glcm_3d();
    test_glcm_general_path();
    test_glcm_fast_paths();
    test_glcm_ibsi();
    test_glcm_constant_and_errors();
    test_nakagami();
    test_firstorder();
    test_preprocess();
    test_resample();
    test_study_preset();
    return dolor_test_finish();
}
