/* dolor features: texture features (first order, Nakagami, GLCM) of 2D/3D images -> one CSV row per image. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/io.h"
#include "dolor/radiomics.h"
#include "opts.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *preset, *out, *crop, *bright, *dark, *bright_mask, *dark_mask, *offsets;
    char **masks;
    int nmasks;
    int levels[DOLOR_FEAT_MAX_LIST], nlevels;
    int distances[DOLOR_FEAT_MAX_LIST], ndistances;
    dolor_glcm_dir dirs[13];
    int ndirs;
    double bin_width, fo_bin_width, range[2];
    int range_set;
    int per_direction, direction_mean, firstorder, nakagami, glcm, glcm_ibsi, crop_to_mask; /* -1 = not given */
    int regions[DOLOR_FEAT_MAX_LIST], nregions, per_slice;
    double spacing[3];
    int spacing_set;
    long threads;
} feat_opts;

static const dolor_opt_spec specs[] = {
    {"out", 'o', OPT_STR, "output CSV: one row per image, one column per feature (required)",
     DOLOR_OPT_AT(feat_opts, out)},
    {"preset", 0, OPT_STR, "default | study7020 (the multifidus study's 7020 GLCM features; docs/radiomics.md)"},
    {"levels", 'L', OPT_LIST, "GLCM grey-level counts (fixed bin number), e.g. 8,16,32"},
    {"bin-width", 0, OPT_NUM, "GLCM on a fixed bin width instead of --levels (PyRadiomics binWidth)",
     DOLOR_OPT_RANGE(1e-300, INFINITY), DOLOR_OPT_AT(feat_opts, bin_width)},
    {"range", 0, OPT_LIST, "LO,HI: fixed quantisation range for --levels (default: each region's min..max)"},
    {"distances", 'd', OPT_LIST, "GLCM distances in voxels, e.g. 1,2,4"},
    {"directions", 0, OPT_LIST, "GLCM directions dz:dy:dx, e.g. 0:0:1,1:1:0 (default: all 4 in 2D, 13 in 3D)"},
    {"offsets", 0, OPT_STR, "chebyshev (IBSI, distance x direction) | rounded (scikit-image angles)"},
    {"per-direction", 0, OPT_FLAG, "a column per direction (default on)", DOLOR_OPT_AT(feat_opts, per_direction)},
    {"direction-mean", 0, OPT_FLAG, "a column averaged over the directions (default on; off in study7020)",
     DOLOR_OPT_AT(feat_opts, direction_mean)},
    {"glcm", 0, OPT_FLAG, "GLCM features (default on)", DOLOR_OPT_AT(feat_opts, glcm)},
    {"glcm-ibsi", 0, OPT_FLAG, "add IBSI's 20 other GLCM features (joint average ... information correlation 2; "
     "default off, also in study7020)", DOLOR_OPT_AT(feat_opts, glcm_ibsi)},
    {"firstorder", 0, OPT_FLAG, "first-order statistics (default on; off in study7020)",
     DOLOR_OPT_AT(feat_opts, firstorder)},
    {"fo-bin-width", 0, OPT_NUM, "bin width of the first-order entropy/uniformity histogram (default 25)",
     DOLOR_OPT_RANGE(1e-300, INFINITY), DOLOR_OPT_AT(feat_opts, fo_bin_width)},
    {"nakagami", 0, OPT_FLAG, "Nakagami m and Omega, ML and moments, zero voxels ignored (default on; off in study7020)",
     DOLOR_OPT_AT(feat_opts, nakagami)},
    {"mask", 'm', OPT_LIST, "mask file(s): one for every image, or one per image in order (non-zero = inside)"},
    {"regions", 'r', OPT_LIST, "mask label values, each its own region (a row per region), e.g. 1,2,3,4"},
    {"per-slice", 0, OPT_FLAG, "each z slice is a 2D region (a row per slice holding the region)",
     DOLOR_OPT_AT(feat_opts, per_slice)},
    {"crop", 0, OPT_STR, "crop box x0,y0,z0,x1,y1,z1 (voxels, end exclusive; 2D: x0,y0,x1,y1) before everything",
     DOLOR_OPT_AT(feat_opts, crop)},
    {"spacing", 0, OPT_LIST, "resample to this spacing in mm, SX,SY[,SZ] (trilinear; masks nearest), after the crop"},
    {"crop-to-mask", 0, OPT_FLAG, "crop to the mask's bounding box (same features, less work)",
     DOLOR_OPT_AT(feat_opts, crop_to_mask)},
    {"bright", 0, OPT_STR, "bright reference box for normalisation to 0..255 (with --dark)",
     DOLOR_OPT_AT(feat_opts, bright)},
    {"dark", 0, OPT_STR, "dark reference box (e.g. the acoustic shadow)", DOLOR_OPT_AT(feat_opts, dark)},
    {"bright-mask", 0, OPT_STR, "bright reference region as a mask file (instead of --bright)",
     DOLOR_OPT_AT(feat_opts, bright_mask)},
    {"dark-mask", 0, OPT_STR, "dark reference region as a mask file (instead of --dark)",
     DOLOR_OPT_AT(feat_opts, dark_mask)},
    {"threads", 't', OPT_INT, "CPU threads; over images, or inside a volume when fewer images", .def = "all cores",
     DOLOR_OPT_RANGE(1, 1024), DOLOR_OPT_AT(feat_opts, threads)},
    {"config", 0, OPT_STR, "JSON file with any of these options as keys", .metavar = "FILE.json"},
};

static const dolor_cmd_desc features_cmd = {
    .name = "features",
    .usage = "[--config F] [--preset study7020] IMAGE... -o features.csv",
    .summary = "Texture features of each 2D or 3D image (optionally inside a mask, after normalisation against a\n"
               "bright and a dark reference region and a crop): first-order statistics (IBSI), Nakagami m and Omega\n"
               "(ML and moments, zero voxels ignored) and GLCM contrast, dissimilarity, homogeneity, energy,\n"
               "correlation and ASM per level count, distance and direction (symmetric, normalised; scikit-image's\n"
               "definitions). Column names say it all: glcm_L32_d1_dir(0,1,1)_contrast = 32 grey levels, distance 1,\n"
               "direction (dz,dy,dx) = (0,1,1); glcm_L32_d1_mean_contrast = mean over the directions. The first\n"
               "column is the image path. Constant regions: correlation 1 (scikit-image's convention). See\n"
               "docs/radiomics.md.",
    DOLOR_CMD_SPECS(specs),
};

static dolor_status int_list(const char *opt, const char *v, long lo, long hi, int *dst, int *n)
{
    char **items;
    int k;
    dolor_status s = dolor_cli_split_list(opt, v, &items, &k);
    if (s)
        return s;
    if (k > DOLOR_FEAT_MAX_LIST) {
        dolor_cli_free_list(items);
        return dolor_error(DOLOR_EINVAL, "%s: %d values, at most %d", opt, k, DOLOR_FEAT_MAX_LIST);
    }
    for (int i = 0; i < k && !s; i++) {
        long x;
        s = dolor_cli_parse_int(opt, items[i], lo, hi, &x);
        dst[i] = (int)x;
    }
    dolor_cli_free_list(items);
    if (!s)
        *n = k;
    return s;
}

static dolor_status apply(void *ctx, const dolor_opt_spec *sp, const char *v)
{
    feat_opts *o = ctx;
    const char *n = sp->name;
    dolor_status s = DOLOR_OK;
    if (sp->bound)
        return dolor_opt_bind(ctx, sp, v);
    if (!strcmp(n, "preset")) {
        if (strcmp(v, "default") && strcmp(v, "study7020"))
            return dolor_error(DOLOR_EINVAL, "--preset: '%s' is not a preset (default, study7020)", v);
        return dolor_opt_set_str(&o->preset, v);
    }
    if (!strcmp(n, "levels")) {
        /* accept 1 and 65537 here, so that the library's message names levels outside 2..65536 */
        s = int_list("--levels", v, -1000000, 100000000, o->levels, &o->nlevels);
        for (int i = 0; !s && i < o->nlevels; i++)
            if (o->levels[i] < 2 || o->levels[i] > 65536)
                s = dolor_error(DOLOR_EINVAL, "--levels: %d is outside 2..65536 (grey-level counts)", o->levels[i]);
        return s;
    }
    if (!strcmp(n, "distances")) return int_list("--distances", v, 1, 100000, o->distances, &o->ndistances);
    if (!strcmp(n, "range")) {
        char **items;
        int k;
        if ((s = dolor_cli_split_list("--range", v, &items, &k)))
            return s;
        if (k != 2)
            s = dolor_error(DOLOR_EINVAL, "--range: '%s' must be LO,HI", v);
        for (int i = 0; !s && i < 2; i++)
            s = dolor_cli_parse_double("--range", items[i], -INFINITY, INFINITY, &o->range[i]);
        if (!s && !(o->range[1] > o->range[0]))
            s = dolor_error(DOLOR_EINVAL, "--range: HI (%g) must be greater than LO (%g)", o->range[1], o->range[0]);
        dolor_cli_free_list(items);
        o->range_set = !s;
        return s;
    }
    if (!strcmp(n, "directions")) {
        char **items;
        int k;
        if ((s = dolor_cli_split_list("--directions", v, &items, &k)))
            return s;
        if (k > 13)
            s = dolor_error(DOLOR_EINVAL, "--directions: %d given, at most 13", k);
        for (int i = 0; !s && i < k; i++) {
            int a, b, c, used = 0;
            if (sscanf(items[i], "%d:%d:%d%n", &a, &b, &c, &used) != 3 || items[i][used])
                s = dolor_error(DOLOR_EINVAL, "--directions: '%s' is not dz:dy:dx (e.g. 1:-1:0)", items[i]);
            o->dirs[i] = (dolor_glcm_dir){a, b, c};
        }
        if (!s)
            o->ndirs = k;
        dolor_cli_free_list(items);
        return s;
    }
    if (!strcmp(n, "offsets")) {
        if (strcmp(v, "chebyshev") && strcmp(v, "rounded"))
            return dolor_error(DOLOR_EINVAL, "--offsets: '%s' is not chebyshev or rounded", v);
        return dolor_opt_set_str(&o->offsets, v);
    }
    if (!strcmp(n, "mask")) {
        dolor_cli_free_list(o->masks);
        return dolor_cli_split_list("--mask", v, &o->masks, &o->nmasks);
    }
    if (!strcmp(n, "regions")) return int_list("--regions", v, 1, 255, o->regions, &o->nregions);
    if (!strcmp(n, "spacing")) {
        char **items;
        int k;
        if ((s = dolor_cli_split_list("--spacing", v, &items, &k)))
            return s;
        if (k != 2 && k != 3)
            s = dolor_error(DOLOR_EINVAL, "--spacing: '%s' must be SX,SY or SX,SY,SZ (mm)", v);
        o->spacing[2] = 0;
        for (int i = 0; i < k && !s; i++)
            s = dolor_cli_parse_double("--spacing", items[i], 1e-6, 1e6, &o->spacing[i]);
        dolor_cli_free_list(items);
        o->spacing_set = !s;
        return s;
    }
    return dolor_error(DOLOR_EINVAL, "option --%s is not handled", n);
}

static dolor_status build_config(const feat_opts *o, dolor_features_config *c)
{
    if (o->preset && !strcmp(o->preset, "study7020"))
        dolor_features_config_study7020(c);
    else
        dolor_features_config_default(c);
    if (o->nlevels) {
        c->n_levels = o->nlevels;
        memcpy(c->levels, o->levels, sizeof o->levels);
    }
    if (o->bin_width > 0)
        c->bin_width = o->bin_width;
    if (o->range_set) {
        c->range_set = 1;
        c->range_lo = o->range[0];
        c->range_hi = o->range[1];
    }
    if (o->ndistances) {
        c->n_distances = o->ndistances;
        memcpy(c->distances, o->distances, sizeof o->distances);
    }
    if (o->ndirs) {
        c->n_dirs = o->ndirs;
        memcpy(c->dirs, o->dirs, sizeof o->dirs);
    }
    if (o->offsets)
        c->offset_rule = !strcmp(o->offsets, "rounded") ? DOLOR_GLCM_ROUNDED : DOLOR_GLCM_CHEBYSHEV;
    if (o->per_direction >= 0) c->per_direction = o->per_direction;
    if (o->direction_mean >= 0) c->direction_mean = o->direction_mean;
    if (o->glcm >= 0) c->glcm = o->glcm;
    if (o->glcm_ibsi >= 0) c->glcm_ibsi = o->glcm_ibsi;
    if (o->firstorder >= 0) c->firstorder = o->firstorder;
    if (o->nakagami >= 0) c->nakagami = o->nakagami;
    if (o->fo_bin_width > 0) c->fo_bin_width = o->fo_bin_width;
    if (!c->glcm && !c->firstorder && !c->nakagami)
        return dolor_error(DOLOR_EINVAL, "--no-glcm, --no-firstorder and --no-nakagami leave no feature");
    if ((o->bright || o->bright_mask) != (o->dark || o->dark_mask))
        return dolor_error(DOLOR_EINVAL, "normalisation needs both a bright (--bright/--bright-mask) and a dark "
                                         "(--dark/--dark-mask) reference region");
    return DOLOR_OK;
}

static dolor_status read_mask(const char *path, const dolor_image *img, uint8_t **out)
{
    dolor_image *m = NULL;
    dolor_status s;
#pragma omp critical(features_io)
    s = dolor_image_read(path, &m);
    if (!s)
        s = dolor_mask_from_image(m, img, path, out);
    dolor_image_free(m);
    return s;
}

/* A mask as label values 0..255 (for --regions), checked against the image size. */
static dolor_status read_labels(const char *path, const dolor_image *img, uint8_t **out)
{
    dolor_image *m = NULL;
    dolor_status s;
#pragma omp critical(features_io)
    s = dolor_image_read(path, &m);
    if (s)
        return s;
    uint8_t *bin = NULL;
    s = dolor_mask_from_image(m, img, path, &bin); /* size check and empty check */
    free(bin);
    if (!s) {
        size_t n = dolor_image_nvox(img);
        uint8_t *v = malloc(n ? n : 1);
        if (!v)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
        for (size_t i = 0; v && i < n; i++) {
            double d = dolor_image_get(m, i * (size_t)m->ncomp);
            v[i] = d < 0 ? 0 : d > 255 ? 255 : (uint8_t)lround(d);
        }
        *out = v;
    }
    dolor_image_free(m);
    return s;
}

typedef struct img_rows {
    int n;
    dolor_feature_set **fs;
    int *slice, *region;
} img_rows;

static void img_rows_free(img_rows *r)
{
    for (int i = 0; i < r->n; i++)
        dolor_feature_set_free(r->fs[i]);
    free(r->fs);
    free(r->slice);
    free(r->region);
    memset(r, 0, sizeof *r);
}

/* Rows of one image: the whole region, or one per --regions value and/or per slice (empty ones skipped). */
static dolor_status region_rows(const feat_opts *o, const dolor_features_config *cfg, const double *x,
                                const int64_t size[3], const uint8_t *labels, img_rows *rows)
{
    const int nreg = o->nregions ? o->nregions : 1, nsl = o->per_slice ? (int)size[2] : 1;
    const size_t plane = (size_t)(size[0] * size[1]), nv = o->per_slice ? plane : plane * (size_t)size[2];
    int cap = nreg * nsl;
    rows->fs = calloc((size_t)cap, sizeof *rows->fs);
    rows->slice = calloc((size_t)cap, sizeof *rows->slice);
    rows->region = calloc((size_t)cap, sizeof *rows->region);
    uint8_t *m = malloc(nv);
    if (!rows->fs || !rows->slice || !rows->region || !m) {
        free(m);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    dolor_status s = DOLOR_OK;
    for (int r = 0; r < nreg && !s; r++)
        for (int z = 0; z < nsl && !s; z++) {
            const size_t off = o->per_slice ? (size_t)z * plane : 0;
            size_t cnt = 0;
            for (size_t i = 0; i < nv; i++) {
                uint8_t l = labels ? labels[off + i] : 1;
                m[i] = o->nregions ? l == o->regions[r] : l != 0;
                cnt += m[i];
            }
            if (!cnt) {
                if (!o->per_slice)
                    s = dolor_error(DOLOR_EINVAL, "region %d: the mask is empty (no voxel with this label)",
                                    o->regions[r]);
                continue;
            }
            int64_t sz[3] = {size[0], size[1], o->per_slice ? 1 : size[2]};
            s = dolor_features_compute(x + off, sz, m, cfg, &rows->fs[rows->n]);
            if (s) {
                if (o->per_slice && o->nregions)
                    dolor_error_prefix(s, "slice %d, region %d", z, o->regions[r]);
                else if (o->per_slice)
                    dolor_error_prefix(s, "slice %d", z);
                else if (o->nregions)
                    dolor_error_prefix(s, "region %d", o->regions[r]);
                break;
            }
            rows->slice[rows->n] = z;
            rows->region[rows->n] = o->nregions ? o->regions[r] : 0;
            rows->n++;
        }
    free(m);
    if (!s && rows->n == 0)
        s = dolor_error(DOLOR_EINVAL, "the mask is empty in every slice and region");
    return s;
}

/* One image: read, normalise, crop, mask, features. */
static dolor_status one_image(const feat_opts *o, const dolor_features_config *cfg, const char *path,
                              const char *mask_path, img_rows *rows)
{
    dolor_image *img = NULL, *tmp = NULL;
    double *x = NULL;
    uint8_t *mask = NULL, *bm = NULL, *dm = NULL;
    dolor_status s;
#pragma omp critical(features_io)
    s = dolor_image_read(path, &img);
    if (s)
        goto out;
    int64_t size[3] = {img->size[0], img->ndim > 1 ? img->size[1] : 1, img->ndim > 2 ? img->size[2] : 1};
    if ((s = dolor_image_to_double(img, &x)))
        goto out;
    if (o->bright || o->bright_mask) {
        dolor_region br = {.name = o->bright ? "--bright" : o->bright_mask}, dk = {.name = o->dark ? "--dark" : o->dark_mask};
        if (o->bright) s = dolor_box_parse(o->bright, &br.box);
        else s = read_mask(o->bright_mask, img, &bm);
        if (!s && o->dark) s = dolor_box_parse(o->dark, &dk.box);
        else if (!s) s = read_mask(o->dark_mask, img, &dm);
        br.mask = bm;
        dk.mask = dm;
        if (!s)
            s = dolor_normalise_two_regions(x, size, &br, &dk, 0, 255, 1);
        if (s)
            goto out;
    }
    if (mask_path && (s = o->nregions ? read_labels(mask_path, img, &mask) : read_mask(mask_path, img, &mask)))
        goto out;
    dolor_box box = {0, 0, 0, size[0], size[1], size[2]};
    int crop = 0;
    if (o->crop) {
        if ((s = dolor_box_parse(o->crop, &box)))
            goto out;
        crop = 1;
    } else if (o->crop_to_mask && mask) {
        if ((s = dolor_mask_bbox(mask, size, mask_path, &box)))
            goto out;
        crop = 1;
    }
    if (crop) {
        /* crop the (normalised) values and the mask through a float64 image */
        dolor_image *xi = NULL, *mi = NULL;
        int64_t sz[3] = {size[0], size[1], size[2]};
        if ((s = dolor_image_create(&xi, DOLOR_F64, 1, 3, sz)))
            goto out;
        memcpy(xi->data, x, sizeof(double) * (size_t)(sz[0] * sz[1] * sz[2]));
        s = dolor_image_crop(xi, &box, o->crop ? "--crop" : mask_path, &tmp);
        dolor_image_free(xi);
        if (s)
            goto out;
        if (mask) {
            if (!(s = dolor_image_create(&mi, DOLOR_U8, 1, 3, sz))) {
                memcpy(mi->data, mask, (size_t)(sz[0] * sz[1] * sz[2]));
                dolor_image *mc = NULL;
                s = dolor_image_crop(mi, &box, "mask", &mc);
                dolor_image_free(mi);
                if (!s) {
                    size_t nn = dolor_image_nvox(mc);
                    memcpy(mask, mc->data, nn);
                }
                dolor_image_free(mc);
            }
            if (s)
                goto out;
        }
        size[0] = box.x1 - box.x0;
        size[1] = box.y1 - box.y0;
        size[2] = box.z1 - box.z0;
        memcpy(x, tmp->data, sizeof(double) * (size_t)(size[0] * size[1] * size[2]));
    }
    if (o->spacing_set) {
        const double sp_in[3] = {img->spacing[0], img->spacing[1], img->ndim > 2 ? img->spacing[2] : 1};
        const double sp_out[3] = {o->spacing[0], o->spacing[1], o->spacing[2] > 0 ? o->spacing[2] : sp_in[2]};
        double *xr = NULL;
        uint8_t *mr = NULL;
        int64_t rs[3];
        if ((s = dolor_resample_linear(x, mask, size, sp_in, sp_out, &xr, &mr, rs)))
            goto out;
        free(x);
        free(mask);
        x = xr;
        mask = mr;
        memcpy(size, rs, sizeof rs);
    }
    if (o->nregions && !mask)
        s = dolor_error(DOLOR_EINVAL, "--regions needs --mask (a label map)");
    else
        s = region_rows(o, cfg, x, size, mask, rows);
out:
    if (s)
        dolor_error_prefix(s, "%s", path);
    dolor_image_free(img);
    dolor_image_free(tmp);
    free(x);
    free(mask);
    free(bm);
    free(dm);
    return s;
}

int dolor_cmd_features(int argc, char **argv)
{
    feat_opts o = {.per_direction = -1, .direction_mean = -1, .firstorder = -1, .nakagami = -1, .glcm = -1, .glcm_ibsi = -1,
                   .crop_to_mask = -1};
    int npos = 0, rc = DOLOR_EXIT_OK;
    char **pos = NULL;
    img_rows *fs = NULL;
    dolor_status *st = NULL;
    char (*msg)[1024] = NULL;
    dolor_features_config cfg;
    dolor_status s = DOLOR_OK;
    if ((rc = dolor_cmd_front(&features_cmd, argc, argv, apply, &o, &pos, &npos, NULL)) >= 0)
        goto out;
    rc = DOLOR_EXIT_OK;
    if ((s = build_config(&o, &cfg))) {
        rc = dolor_cli_usage_error("features", "%s", dolor_errmsg());
        goto out;
    }
    if (!o.out || npos == 0) {
        rc = dolor_cli_usage_error("features", "need -o features.csv and at least one image");
        goto out;
    }
    if (o.nmasks > 1 && o.nmasks != npos) {
        rc = dolor_cli_usage_error("features", "--mask: %d masks for %d images (give one, or one per image)", o.nmasks,
                                   npos);
        goto out;
    }
    if (o.threads)
        omp_set_num_threads((int)o.threads);
    int nthreads = omp_get_max_threads();
    fs = calloc((size_t)npos, sizeof *fs);
    st = calloc((size_t)npos, sizeof *st);
    msg = calloc((size_t)npos, sizeof *msg);
    if (!fs || !st || !msg) {
        rc = dolor_cli_fail("features", dolor_error(DOLOR_ENOMEM, "out of memory"));
        goto out;
    }
    double t0 = dolor_time_ms();
    /* over images when there are enough of them; otherwise the library runs in parallel inside each volume */
    int outer = npos >= nthreads && nthreads > 1;
#pragma omp parallel for schedule(dynamic, 1) if (outer)
    for (int i = 0; i < npos; i++) {
        const char *mp = o.nmasks == 0 ? NULL : o.nmasks == 1 ? o.masks[0] : o.masks[i];
        st[i] = one_image(&o, &cfg, pos[i], mp, &fs[i]);
        if (st[i])
            snprintf(msg[i], sizeof msg[i], "%s", dolor_errmsg());
    }
    double t1 = dolor_time_ms();
    for (int i = 0; i < npos; i++)
        if (st[i]) {
            dolor_error(st[i], "%s", msg[i]);
            rc = dolor_cli_fail("features", st[i]);
            goto out;
        }
    const dolor_feature_set *f0 = fs[0].fs[0];
    for (int i = 0; i < npos; i++)
        for (int r = 0; r < fs[i].n; r++) {
        const dolor_feature_set *fr = fs[i].fs[r];
        int same = fr->n == f0->n;
        for (int k = 0; same && k < f0->n; k++)
            same = !strcmp(fr->names[k], f0->names[k]);
        if (!same) {
            rc = dolor_cli_fail("features", dolor_error(DOLOR_ESHAPE,
                                                        "%s gives other feature columns than %s (2D and 3D images "
                                                        "mixed?); run them separately", pos[i], pos[0]));
            goto out;
        }
        }
    dolor_outfile of;
    if ((s = dolor_outfile_open(&of, o.out, 1))) {
        rc = dolor_cli_fail("features", s);
        goto out;
    }
    fputs(o.per_slice ? "image,slice" : "image", of.fp);
    if (o.nregions)
        fputs(",region", of.fp);
    for (int k = 0; k < f0->n; k++) {
        fputc(',', of.fp);
        dolor_csv_write_field(of.fp, f0->names[k]);
    }
    fputc('\n', of.fp);
    int nrows = 0;
    for (int i = 0; i < npos; i++)
        for (int r = 0; r < fs[i].n; r++) {
            dolor_csv_write_field(of.fp, pos[i]);
            if (o.per_slice)
                fprintf(of.fp, ",%d", fs[i].slice[r]);
            if (o.nregions)
                fprintf(of.fp, ",%d", fs[i].region[r]);
            for (int k = 0; k < f0->n; k++)
                fprintf(of.fp, ",%.17g", fs[i].fs[r]->values[k]);
            fputc('\n', of.fp);
            nrows++;
        }
    if ((s = dolor_outfile_commit(&of))) {
        rc = dolor_cli_fail("features", s);
        goto out;
    }
    fprintf(stderr, "dolor features: %d image(s), %d row(s) x %d features -> %s in %.1f ms (%d threads)\n", npos, nrows,
            f0->n, o.out, t1 - t0, nthreads);
out:
    for (int i = 0; fs && i < npos; i++)
        img_rows_free(&fs[i]);
    free(fs);
    free(st);
    free(msg);
    free(pos);
    free(o.preset);
    free(o.out);
    free(o.crop);
    free(o.bright);
    free(o.dark);
    free(o.bright_mask);
    free(o.dark_mask);
    free(o.offsets);
    dolor_cli_free_list(o.masks);
    return rc;
}
