/* Axial lumbar T2-like slices at the disc level with herniations of known MSU type (dolor_phantom_axial_disc). */
#define _POSIX_C_SOURCE 200809L
#include "dolor/detect.h"
#include "dolor/io.h"
#include "dolor/ldh.h"
#include "dolor/phantom.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

void dolor_axdisc_config_default(dolor_axdisc_config *c)
{
    c->size = 512;
    c->spacing_mm = 0.4;
    c->noise = 0.04;
}

static double unif(dolor_rng *r, double lo, double hi) { return lo + (hi - lo) * dolor_rng_uniform(r); }

/* The drawn anatomy, local frame (p lateral, + = patient's left; q posterior), mm. */
typedef struct geom {
    double a, bq;        /* disc ellipse semi-axes */
    double qc, pc, c;    /* posterior disc line q = qc, corners at p = -+pc, convexity c (DP at qc + c) */
    double W, qif;       /* intra-facet line: FR (-W/2, qif), FL (W/2, qif) */
    double qcp;          /* canal posterior midpoint (0, qcp) */
    int her;             /* herniation drawn */
    double p1, p2, T;    /* herniation: flat top at q = qc + T for p in [p1, p2] */
} geom;

static double own_contour(const geom *g, double p) /* b(p), relative to the posterior disc line */
{
    return fabs(p) < g->pc ? g->c * (1 - p * p / (g->pc * g->pc)) : 0.0;
}

/* top of the herniation (q), or -inf where there is none */
static double hern_top(const geom *g, double p)
{
    if (!g->her)
        return -INFINITY;
    if (p >= g->p1 && p <= g->p2)
        return g->qc + g->T;
    double d = p < g->p1 ? g->p1 - p : p - g->p2;
    if (d < 1.0) /* a shoulder below the focal threshold (0.8 mm at the flank, 0 at 1 mm) */
        return g->qc + own_contour(g, p) + 0.8 * (1 - d);
    return -INFINITY;
}

static int in_disc(const geom *g, double p, double q)
{
    double e = (p / g->a) * (p / g->a) + (q / g->bq) * (q / g->bq);
    if (e <= 1 && (fabs(p) >= g->pc || q <= g->qc + own_contour(g, p)))
        return 1;
    /* the herniation sits on the posterior margin */
    if (fabs(p) < g->pc && q > g->qc + own_contour(g, p) - 0.3 && q <= hern_top(g, p))
        return 1;
    return 0;
}

static double ell(double p, double q, double cp, double cq, double ra, double rb)
{
    double x = (p - cp) / ra, y = (q - cq) / rb;
    return x * x + y * y;
}

/* T2-like intensity (0..~1) and label of the point (p, q); tex: a smooth texture value in about -1..1 */
static double tissue(const geom *g, double p, double q, double tex, int *label)
{
    *label = 0;
    const double ap = fabs(p);
    if (in_disc(g, p, q)) {
        *label = 1;
        double e = ell(p, q, 0, -1.0, 0.62 * g->a, 0.55 * g->bq);
        if (q > g->qc + own_contour(g, p) - 0.3 && ap < g->pc)
            return 0.42 + 0.05 * tex; /* herniated nucleus material */
        return e < 1 ? 0.40 + 0.12 * (1 - e) + 0.03 * tex : 0.12 + 0.03 * tex; /* nucleus, annulus */
    }
    /* body outline and subcutaneous fat */
    double body = ell(p, q, 0, 8, 150, 96);
    if (body > 1)
        return 0.0;
    double subc = ell(p, q, 0, 8, 139, 85);
    if (subc > 1)
        return 0.78 + 0.05 * tex;
    /* canal: from the disc margin back to CP; lateral recesses out to the facets */
    const double depth = g->qcp - g->qc;
    if (q > g->qc - 1.0 && q < g->qcp) {
        double u = (q - g->qc) / depth; /* 0 at the disc, 1 at CP */
        double hw = (g->W / 2 + 1.5) * (1 - pow(u < 0 ? 0 : u, 1.6)) + 1.0;
        if (ap < hw) {
            *label = 2;
            /* nerve roots: dark dots in the lateral recesses, cauda equina posteriorly */
            double r1 = ell(ap, q, g->W / 2 - 1.0, g->qc + 2.5, 1.3, 1.3);
            double r2 = ell(p, q, 0.25 * g->W * sin(3 * tex), g->qc + 0.65 * depth, 1.0, 1.0);
            if (r1 < 1 || r2 < 1)
                return 0.35;
            if (ap > hw - 0.9)
                return 0.15; /* dura and ligamentum flavum */
            return 0.95 + 0.03 * tex;
        }
    }
    /* facet joints: superior (anterior) and inferior articular processes with a bright joint line */
    double fp = g->W / 2 + 4.5, fq = g->qif + 1.0;
    double f1 = ell(ap, q, fp, fq - 2.2, 4.0, 3.0), f2 = ell(ap, q, fp + 0.8, fq + 2.6, 4.2, 3.2);
    if (f1 < 1 || f2 < 1) {
        if (f1 > 0.75 && f1 < 1 && f2 > 1.2)
            return 0.06; /* cortex */
        double jl = fabs((q - fq) - 0.2 * (ap - fp));
        if (jl < 0.45)
            return 0.7; /* joint fluid */
        return 0.30 + 0.04 * tex; /* marrow */
    }
    /* laminae and the spinous process */
    double lam = fabs(q - (g->qcp + 1.5 + 0.55 * (fp - ap)));
    if (ap < fp && lam < 1.8 && q > g->qcp - 1)
        return lam > 1.3 ? 0.05 : 0.28;
    if (ap < 2.2 && q > g->qcp + 1 && q < g->qcp + 30)
        return ap > 1.6 ? 0.05 : 0.30;
    /* back muscles: multifidus medially, erector spinae laterally, a fat plane between */
    if (q > g->qcp - 6 && q < g->qcp + 48 && ap < 45 && ell(ap, q, 24, g->qcp + 18, 24, 32) < 1) {
        double sep = fabs(ap - (14 + 0.25 * (q - g->qcp)));
        if (sep < 0.6)
            return 0.65;
        return 0.22 + 0.04 * tex;
    }
    /* psoas */
    if (ell(ap, q, g->a + 11, -2, 10, 14) < 1)
        return 0.24 + 0.04 * tex;
    /* aorta (left) and IVC (right) flow voids */
    if (ell(p, q, 11, -g->bq - 11, 9, 9) < 1 || ell(p, q, -15, -g->bq - 9, 11, 8) < 1)
        return 0.04;
    /* vertebral body rim / anterior longitudinal ligament just around the disc */
    if (ell(p, q, 0, 0, g->a + 1.5, g->bq + 1.5) < 1)
        return 0.10;
    /* bowel-like texture in the abdomen, fat around the spine */
    if (ell(p, q, 0, -g->bq - 50, 115, 45) < 1)
        return 0.45 + 0.18 * tex;
    return 0.72 + 0.06 * tex;
}

/* draw the herniation interval on side sg (+1 left, -1 right) for zone set idx 0 A, 1 B, 2 AB, 3 C, 4 BC, 5 ABC */
static void hern_interval(geom *g, int zi, double sg, dolor_rng *r)
{
    const double q1 = g->W / 4, h2 = g->W / 2, mg = 0.6;
    double m1, m2;
    switch (zi) {
    case 0: {
        double pm = unif(r, -(q1 - 2.2), q1 - 2.2);
        double hl = 1.5 + dolor_rng_uniform(r) * (q1 - fabs(pm) - mg - 1.5);
        g->p1 = pm - hl, g->p2 = pm + hl;
        return;
    }
    case 1: m1 = q1 + mg + unif(r, 0, 0.5), m2 = h2 - mg - unif(r, 0, 0.5); break;
    case 2: m1 = unif(r, -1, q1 - 1.5), m2 = unif(r, q1 + 1.5, h2 - mg); break;
    case 3: m1 = unif(r, h2 + mg, h2 + 1.2), m2 = m1 + 2.5 + dolor_rng_uniform(r) * (g->pc - 1 - m1 - 2.5); break;
    case 4: m1 = unif(r, q1 + mg, h2 - 1.5), m2 = unif(r, h2 + 1.5, g->pc - 1); break;
    default: /* 5: ABC */ m1 = unif(r, -1, q1 - 1.5), m2 = unif(r, h2 + 1.5, g->pc - 1); break;
    }
    if (sg > 0)
        g->p1 = m1, g->p2 = m2;
    else
        g->p1 = -m2, g->p2 = -m1;
}

/* a smooth random texture: a few random plane waves */
typedef struct waves {
    double kx[6], ky[6], ph[6];
} waves;

static double wave_at(const waves *w, double x, double y)
{
    double v = 0;
    for (int i = 0; i < 6; i++)
        v += sin(w->kx[i] * x + w->ky[i] * y + w->ph[i]);
    return v / 2.5;
}

dolor_status dolor_phantom_axial_disc(const dolor_axdisc_config *cfg, int type, uint64_t seed, dolor_image **image,
                                      dolor_image **labels, dolor_axdisc_info *info)
{
    *image = NULL, *labels = NULL;
    if (cfg->size < 128 || cfg->size > 2048)
        return dolor_error(DOLOR_EINVAL, "axial-disc: size %d (need 128..2048)", cfg->size);
    if (!(cfg->spacing_mm >= 0.1 && cfg->spacing_mm <= 2))
        return dolor_error(DOLOR_EINVAL, "axial-disc: spacing %g mm (need 0.1..2)", cfg->spacing_mm);
    if (!(cfg->noise >= 0 && cfg->noise <= 0.5))
        return dolor_error(DOLOR_EINVAL, "axial-disc: noise %g (need 0..0.5)", cfg->noise);
    if (type < 0 || type >= DOLOR_LDH_NTYPE)
        return dolor_error(DOLOR_EINVAL, "axial-disc: type %d (need 0..%d)", type, DOLOR_LDH_NTYPE - 1);
    const int n = cfg->size;
    const double sp = cfg->spacing_mm, fov = n * sp;
    dolor_rng r;
    dolor_rng_seed(&r, seed);
    /* type -> grade, zone set, bulging */
    int grade, zi = -1, bulging = type == 1;
    if (type <= 1)
        grade = 0;
    else if (type == 17)
        grade = 1 + (int)dolor_rng_below(&r, 3), zi = 5;
    else
        grade = 1 + (type - 2) / 5, zi = (type - 2) % 5;
    static const int zone_bits[6] = {1, 2, 3, 4, 6, 7};
    /* pose and anatomy */
    const double k = unif(&r, 0.9, 1.1), th = unif(&r, -12, 12) * M_PI / 180;
    const double fovk = fov / 204.8 < 1 ? fov / 204.8 : 1; /* keep the spine inside small fields of view */
    const double cx = fov / 2 + unif(&r, -10, 10) * fovk, cy = fov * 0.48 + unif(&r, -10, 10) * fovk;
    geom g = {0};
    g.a = 21 * k * unif(&r, 0.95, 1.05);
    g.bq = 15 * k * unif(&r, 0.95, 1.05);
    g.qc = g.bq * unif(&r, 0.62, 0.70);
    g.pc = g.a * sqrt(1 - (g.qc / g.bq) * (g.qc / g.bq));
    g.W = k * unif(&r, 16, 19);
    g.qif = g.qc + unif(&r, 9, 12);
    g.qcp = g.qif + unif(&r, 4, 6);
    if (type == 0)
        g.c = unif(&r, -1.5, 0.8);
    else if (type == 1)
        g.c = unif(&r, 2.0, 3.2);
    else
        g.c = unif(&r, -1.0, 0.5);
    double sg = dolor_rng_uniform(&r) < 0.5 ? -1 : 1;
    if (grade > 0) {
        g.her = 1;
        hern_interval(&g, zi, sg, &r);
        const double dif = g.qif - g.qc;
        double lo, hi;
        if (grade == 1)
            lo = (1.0 + 1.2 + (g.c > 0 ? g.c : 0)) / dif, hi = 0.42;
        else if (grade == 2)
            lo = 0.62, hi = 0.9;
        else
            lo = 1.12, hi = 1.5;
        g.T = dif * unif(&r, lo, hi);
    }
    waves wv;
    for (int i = 0; i < 6; i++) {
        double f = unif(&r, 0.15, 0.6), a = unif(&r, 0, 2 * M_PI);
        wv.kx[i] = f * cos(a), wv.ky[i] = f * sin(a), wv.ph[i] = unif(&r, 0, 2 * M_PI);
    }
    waves bias;
    for (int i = 0; i < 6; i++) {
        double f = unif(&r, 0.004, 0.012), a = unif(&r, 0, 2 * M_PI);
        bias.kx[i] = f * cos(a), bias.ky[i] = f * sin(a), bias.ph[i] = unif(&r, 0, 2 * M_PI);
    }
    const double bias_amp = unif(&r, 0.08, 0.2), gain = unif(&r, 0.85, 1.1);
    dolor_image *img = NULL, *lab = NULL;
    float *buf = malloc((size_t)n * n * sizeof *buf), *tmp = malloc((size_t)n * n * sizeof *tmp);
    dolor_status s = DOLOR_OK;
    if (!buf || !tmp) {
        s = dolor_error(DOLOR_ENOMEM, "axial-disc: out of memory");
        goto fail;
    }
    if ((s = dolor_image_create2d(&img, DOLOR_U8, 1, n, n)) || (s = dolor_image_create2d(&lab, DOLOR_U8, 1, n, n)))
        goto fail;
    img->spacing[0] = img->spacing[1] = lab->spacing[0] = lab->spacing[1] = sp;
    const double ct = cos(th), st = sin(th);
    uint8_t *L = lab->data;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            double dx = (x + 0.5) * sp - cx, dy = (y + 0.5) * sp - cy;
            double p = dx * ct + dy * st, q = -dx * st + dy * ct;
            int l;
            double v = tissue(&g, p, q, wave_at(&wv, p, q), &l);
            L[(size_t)y * n + x] = (uint8_t)l;
            buf[(size_t)y * n + x] = (float)v;
        }
    /* light blur (partial volume), bias field, Rician noise */
    for (int pass = 0; pass < 2; pass++)
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++) {
                const float *src = pass ? tmp : buf;
                float *dst = pass ? buf : tmp;
                int a0 = pass ? (y > 0 ? y - 1 : 0) : (x > 0 ? x - 1 : 0);
                int a1 = pass ? (y < n - 1 ? y + 1 : y) : (x < n - 1 ? x + 1 : x);
                double c0 = src[(size_t)y * n + x];
                double m0 = pass ? src[(size_t)a0 * n + x] : src[(size_t)y * n + a0];
                double m1 = pass ? src[(size_t)a1 * n + x] : src[(size_t)y * n + a1];
                dst[(size_t)y * n + x] = (float)(0.25 * m0 + 0.5 * c0 + 0.25 * m1);
            }
    uint8_t *I = img->data;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            double b = gain * exp(bias_amp * wave_at(&bias, x * sp, y * sp));
            double v = b * buf[(size_t)y * n + x];
            double re = v + cfg->noise * dolor_rng_normal(&r), im = cfg->noise * dolor_rng_normal(&r);
            double m = 255.0 * sqrt(re * re + im * im) / 1.15;
            I[(size_t)y * n + x] = (uint8_t)(m > 255 ? 255 : lround(m));
        }
    if (info) {
        memset(info, 0, sizeof *info);
        info->type = type, info->grade = grade, info->bulging = bulging;
        info->zones = zi >= 0 ? zone_bits[zi] : 0;
        if (grade == 0)
            info->side = DOLOR_LDH_SIDE_NONE;
        else if (zi == 0)
            info->side = DOLOR_LDH_SIDE_CENTRAL;
        else
            info->side = sg > 0 ? DOLOR_LDH_SIDE_LEFT : DOLOR_LDH_SIDE_RIGHT;
        info->ratio = g.her ? g.T / (g.qif - g.qc) : 0;
        const double loc[9][2] = {{0, -g.bq}, {0, g.qc + g.c}, {-g.pc, g.qc}, {g.pc, g.qc}, {-g.W / 2, g.qif},
                                  {g.W / 2, g.qif}, {0, g.qcp}, {-g.a, 0}, {g.a, 0}};
        for (int kk = 0; kk < 9; kk++) {
            double p = loc[kk][0], q = loc[kk][1];
            info->kpt[kk][0] = (cx + p * ct - q * st) / sp;
            info->kpt[kk][1] = (cy + p * st + q * ct) / sp;
        }
        int x0 = n, y0 = n, x1 = -1, y1 = -1;
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++)
                if (L[(size_t)y * n + x] == 1) {
                    x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
                    y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
                }
        info->box[0] = x0, info->box[1] = y0, info->box[2] = x1 + 1, info->box[3] = y1 + 1;
    }
    free(buf), free(tmp);
    *image = img, *labels = lab;
    return DOLOR_OK;
fail:
    free(buf), free(tmp);
    dolor_image_free(img), dolor_image_free(lab);
    return s;
}

static dolor_status write_labels(const char *dir, const char *stem, const dolor_image *lab,
                                 const dolor_axdisc_info *in, double sp)
{
    const int n = (int)lab->size[0];
    char path[4096];
    int32_t *disc = malloc((size_t)n * n * sizeof *disc);
    if (!disc)
        return dolor_error(DOLOR_ENOMEM, "axial-disc: out of memory");
    const uint8_t *L = lab->data;
    for (size_t i = 0; i < (size_t)n * n; i++)
        disc[i] = L[i] == 1;
    dolor_det_list l = {0};
    double **polys = NULL;
    int *npts = NULL;
    dolor_status s = dolor_det_from_labelmap(disc, n, n, 1, 1, DOLOR_DET_CONTOUR_EDGES, &l, &polys, &npts);
    free(disc);
    if (s)
        return s;
    /* one disc: the largest component (the disc is one component by construction) */
    size_t best = 0;
    for (size_t i = 1; i < l.n; i++)
        if (npts[i] > npts[best])
            best = i;
    if (l.n == 0) {
        s = dolor_error(DOLOR_ENUMERIC, "axial-disc: %s: empty disc", stem);
        goto done;
    }
    dolor_det_list one = {0};
    dolor_det_list_init(&one, n, n, 0);
    if ((s = dolor_det_list_add(&one, 0, 1.0, in->box, NULL, NULL)))
        goto done1;
    dolor_det_yolo_config c = {.kind = DOLOR_DET_YOLO_DETECT, .ncls = 1};
    snprintf(path, sizeof path, "%s/labels/detect/%s.txt", dir, stem);
    if ((s = dolor_det_yolo_write(path, &one, &c, n, n, NULL, NULL)))
        goto done1;
    c.kind = DOLOR_DET_YOLO_SEGMENT;
    snprintf(path, sizeof path, "%s/labels/segment/%s.txt", dir, stem);
    const double *pp[1] = {polys[best]};
    int np[1] = {npts[best]};
    if ((s = dolor_det_yolo_write(path, &one, &c, n, n, pp, np)))
        goto done1;
    /* pose: the box of the disc and the keypoints, padded 2 mm */
    dolor_det_list_free(&one);
    dolor_det_list_init(&one, n, n, 9);
    double box[4] = {in->box[0], in->box[1], in->box[2], in->box[3]}, kp[27];
    for (int k = 0; k < 9; k++) {
        kp[3 * k] = in->kpt[k][0], kp[3 * k + 1] = in->kpt[k][1], kp[3 * k + 2] = 2;
        box[0] = fmin(box[0], in->kpt[k][0]), box[1] = fmin(box[1], in->kpt[k][1]);
        box[2] = fmax(box[2], in->kpt[k][0]), box[3] = fmax(box[3], in->kpt[k][1]);
    }
    const double pad = 2.0 / sp;
    box[0] = fmax(0, box[0] - pad), box[1] = fmax(0, box[1] - pad);
    box[2] = fmin(n, box[2] + pad), box[3] = fmin(n, box[3] + pad);
    if ((s = dolor_det_list_add(&one, 0, 1.0, box, NULL, kp)))
        goto done1;
    c = (dolor_det_yolo_config){.kind = DOLOR_DET_YOLO_POSE, .ncls = 1, .nkpt = 9, .kdim = 3};
    snprintf(path, sizeof path, "%s/labels/pose/%s.txt", dir, stem);
    s = dolor_det_yolo_write(path, &one, &c, n, n, NULL, NULL);
done1:
    dolor_det_list_free(&one);
done:
    dolor_det_polys_free(polys, npts, l.n);
    dolor_det_list_free(&l);
    return s;
}

dolor_status dolor_phantom_write_axial_disc(const char *dir, int count, const dolor_axdisc_config *cfg,
                                            uint64_t seed, int show_progress)
{
    if (count < 1 || count > 100000)
        return dolor_error(DOLOR_EINVAL, "axial-disc: count is %d (must be 1..100000)", count);
    dolor_axdisc_config probe = *cfg;
    probe.size = 128;
    if (cfg->size < 128 || cfg->size > 2048)
        return dolor_error(DOLOR_EINVAL, "axial-disc: size %d (need 128..2048)", cfg->size);
    dolor_image *a = NULL, *b = NULL;
    dolor_status s = dolor_phantom_axial_disc(&probe, 0, 0, &a, &b, NULL);
    dolor_image_free(a), dolor_image_free(b);
    if (s)
        return s;
    size_t dl = strlen(dir) + 64;
    char *p = malloc(dl);
    dolor_axdisc_info *inf = calloc((size_t)count, sizeof *inf);
    if (!p || !inf) {
        free(p), free(inf);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    static const char *const sub[] = {"images", "masks", "labels/detect", "labels/segment", "labels/pose"};
    for (int i = 0; i < 5 && !s; i++) {
        snprintf(p, dl, "%s/%s", dir, sub[i]);
        s = dolor_mkdir_p(p);
    }
    if (s)
        goto done;
    static const uint8_t palette[9] = {0, 0, 0, 0, 128, 0, 0, 160, 255};
    dolor_progress *pg = show_progress ? dolor_progress_create("axial-disc", count) : NULL;
    for (int i = 0; i < count && !s; i++) {
        dolor_image *img = NULL, *lab = NULL;
        char stem[32], path[4096];
        snprintf(stem, sizeof stem, "%04d", i);
        s = dolor_phantom_axial_disc(cfg, i % DOLOR_LDH_NTYPE, dolor_phantom_image_seed(seed, i), &img, &lab, &inf[i]);
        if (!s) {
            snprintf(path, sizeof path, "%s/images/%s.png", dir, stem);
            s = dolor_png_write(path, img);
        }
        if (!s) {
            snprintf(path, sizeof path, "%s/masks/%s.png", dir, stem);
            s = dolor_png_write_labels(path, lab, palette, 3);
        }
        if (!s)
            s = write_labels(dir, stem, lab, &inf[i], cfg->spacing_mm);
        dolor_image_free(img), dolor_image_free(lab);
        dolor_progress_update(pg, i + 1, NULL);
    }
    dolor_progress_finish(pg, s ? "failed" : NULL);
    if (s)
        goto done;
    snprintf(p, dl, "%s/truth.csv", dir);
    dolor_outfile of;
    if ((s = dolor_outfile_open(&of, p, 1)))
        goto done;
    fprintf(of.fp, "slice,grade,zone,side,type,region,bulging,ratio,seed\n");
    static const char *const zs[8] = {"", "A", "B", "AB", "C", "ABC", "BC", "ABC"};
    for (int i = 0; i < count; i++) {
        const dolor_axdisc_info *in = &inf[i];
        fprintf(of.fp, "%04d,%d,%s,%s,%s,%s,%d,%.4f,%llu\n", i, in->grade, zs[in->zones & 7],
                dolor_ldh_side_name((dolor_ldh_side)in->side), dolor_ldh_type_name(in->type),
                dolor_ldh_region_name(dolor_ldh_region_of(in->grade, in->zones, in->bulging)), in->bulging,
                in->ratio, (unsigned long long)dolor_phantom_image_seed(seed, i));
    }
    if ((s = dolor_outfile_commit(&of)))
        goto done;
    snprintf(p, dl, "%s/README.txt", dir);
    if ((s = dolor_outfile_open(&of, p, 1)))
        goto done;
    fprintf(of.fp,
            "Synthetic axial lumbar T2-like slices at the disc level with herniations of known MSU type (dolor %s)\n\n"
            "images/NNNN.png          8-bit grey, %dx%d pixels, %.4f mm per pixel (pHYs); patient's right on the left\n"
            "masks/NNNN.png           label maps: 0 background, 1 disc (herniation included), 2 spinal canal\n"
            "labels/detect/NNNN.txt   YOLO: class 0 disc, its box\n"
            "labels/segment/NNNN.txt  YOLO: the disc's polygon (pixel-edge contour of the mask)\n"
            "labels/pose/NNNN.txt     YOLO pose: box + 9 keypoints x y v: DA DP DPR DPL FR FL CP DLR DLL\n"
            "truth.csv                slice, grade (0..3), zone, side, type (18 types), region (8), bulging,\n"
            "                         drawn ratio (herniation top / distance posterior disc line to intra-facet line)\n\n"
            "Slice i has type i mod 18 and seed dolor_phantom_image_seed(%llu, i). docs/ldh.md defines the keypoints,\n"
            "the grading and the types. Made with: dolor phantom --kind axial-disc -o DIR -n %d --size %d\n"
            "--spacing-mm %g --seed %llu. Synthetic data: no patient information.\n",
            DOLOR_VERSION_STRING, cfg->size, cfg->size, cfg->spacing_mm, (unsigned long long)seed, count, cfg->size,
            cfg->spacing_mm, (unsigned long long)seed);
    s = dolor_outfile_commit(&of);
done:
    free(p);
    free(inf);
    return s;
}
