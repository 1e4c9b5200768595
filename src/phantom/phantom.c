/* Synthetic B-mode nerve-block images (see dolor/phantom.h for the model). */
#include "dolor/phantom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define MAX_FASCIA 6
#define MAX_FASCICLES 12

void dolor_phantom_config_default(dolor_phantom_config *cfg)
{
    cfg->width = 256;
    cfg->height = 256;
    cfg->depth_mm = 38.4;
    cfg->vessel_prob = 1.0;
    cfg->bone_prob = 0.8;
    cfg->dynamic_range_db = 60.0;
}

uint64_t dolor_phantom_image_seed(uint64_t seed, int i)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * ((uint64_t)(uint32_t)i + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double unif(dolor_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * dolor_rng_uniform(r);
}

/* Two independent standard normals (Marsaglia polar method, both used). */
static void normal2(dolor_rng *r, double *a, double *b)
{
    double u, v, s;
    do {
        u = 2.0 * dolor_rng_uniform(r) - 1.0;
        v = 2.0 * dolor_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = sqrt(-2.0 * log(s) / s);
    *a = u * f;
    *b = v * f;
}

static double smoothstep(double e0, double e1, double x)
{
    double t = (x - e0) / (e1 - e0);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return t * t * (3 - 2 * t);
}

static double gauss(double d, double sigma)
{
    double t = d / sigma;
    return t * t > 40 ? 0.0 : exp(-0.5 * t * t);
}

typedef struct fascicle {
    double u, v, r; /* centre in the nerve's rotated frame (px), radius (px) */
} fascicle;

typedef struct scene {
    int w, h;
    double px_mm;  /* mm per pixel */
    /* fascia planes: depth per column */
    int nf;
    double *fy;    /* [nf][w] */
    double famp[MAX_FASCIA], fwid[MAX_FASCIA];
    double ffrag_k[MAX_FASCIA][2], ffrag_ph[MAX_FASCIA][2];
    /* layers between planes (nf + 1): echogenicity and striation (muscle fibres) */
    double lr[MAX_FASCIA + 1];
    double lst[MAX_FASCIA + 1], lkx[MAX_FASCIA + 1], lky[MAX_FASCIA + 1], lph[MAX_FASCIA + 1];
    double lwav[MAX_FASCIA + 1], lwk[MAX_FASCIA + 1], lwp[MAX_FASCIA + 1];
    /* slow texture: plane waves */
    double tkx[4], tky[4], tph[4], tamp;
    /* blobs: muscle bellies and fat lobules of other echogenicity */
    int nblob;
    double bcx[6], bcy[6], bra[6], brb[6], bfac[6];
    /* nerve */
    double ncx, ncy, na, nb, nang, ncos, nsin, nr, nepi, nepiw;
    int nfasc;
    fascicle fas[MAX_FASCICLES];
    double fasr, periamp, periw;
    /* artery */
    int has_art;
    double acx, acy, ar, awall, awallw;
    /* bone */
    int has_bone;
    double bx0, bx1, by, bdrop, btilt, bamp, bw, bfloor, bcortex;
    /* acoustics */
    double att, att_blood, att_bone; /* nepers per pixel (two-way amplitude) */
    double near_amp, near_w;
} scene;

/* Depth of the bone surface at column x (NAN where there is no bone). */
static double bone_y(const scene *s, double x)
{
    if (!s->has_bone || x < s->bx0 || x > s->bx1)
        return NAN;
    double half = 0.5 * (s->bx1 - s->bx0), mid = 0.5 * (s->bx0 + s->bx1);
    double t = (x - mid) / half;
    /* dome: shallowest in the middle, turning down towards the ends */
    double t4 = t * t * t * t;
    return s->by + s->bdrop * t * t + 0.4 * s->bdrop * t4 * t4 + s->btilt * (x - mid) + fabs(s->btilt) * half;
}

/* Nerve: normalised elliptic radius and rotated coordinates of (x, y). */
static double nerve_rho(const scene *s, double x, double y, double *u, double *v)
{
    double dx = x - s->ncx, dy = y - s->ncy;
    *u = s->ncos * dx + s->nsin * dy;
    *v = -s->nsin * dx + s->ncos * dy;
    return sqrt((*u / s->na) * (*u / s->na) + (*v / s->nb) * (*v / s->nb));
}

static void build_scene(scene *s, dolor_rng *r, const dolor_phantom_config *cfg, double *fybuf)
{
    const int w = cfg->width, h = cfg->height;
    const double mm = 1.0 / s->px_mm; /* pixels per mm */
    s->w = w;
    s->h = h;

    /* --- nerve and artery, side by side, never overlapping --- */
    s->has_art = dolor_rng_uniform(r) < cfg->vessel_prob;
    for (int attempt = 0;; attempt++) {
        s->na = unif(r, 2.8, 4.5) * mm;
        s->nb = s->na * unif(r, 0.55, 0.8);
        s->nang = unif(r, -0.4, 0.4);
        s->nr = s->na; /* bounding radius (na >= nb) */
        s->ncx = unif(r, 0.18, 0.82) * w;
        s->ncy = unif(r, 0.28, 0.55) * h;
        if (s->ncx - s->nr < 3 || s->ncx + s->nr > w - 4 || s->ncy - s->nr < 0.12 * h)
            continue;
        if (!s->has_art)
            break;
        s->ar = unif(r, 1.4, 2.6) * mm;
        double gap = unif(r, 0.6, 3.0) * mm;
        double side = dolor_rng_uniform(r) < 0.5 ? -1.0 : 1.0;
        double dy = unif(r, -0.6, 0.6) * (s->nb + s->ar);
        double dist = s->nr + s->ar + gap;
        double dx = sqrt(fmax(dist * dist - dy * dy, 0.0));
        s->acx = s->ncx + side * dx;
        s->acy = s->ncy + dy;
        int ok = s->acx - s->ar >= 3 && s->acx + s->ar <= w - 4 && s->acy - s->ar >= 0.12 * h &&
                 s->acy + s->ar <= 0.7 * h;
        if (!ok) {
            s->acx = s->ncx - side * dx;
            ok = s->acx - s->ar >= 3 && s->acx + s->ar <= w - 4 && s->acy - s->ar >= 0.12 * h &&
                 s->acy + s->ar <= 0.7 * h;
        }
        if (ok)
            break;
        if (attempt > 200) { /* a very narrow image: no artery */
            s->has_art = 0;
            break;
        }
    }
    s->ncos = cos(s->nang);
    s->nsin = sin(s->nang);
    s->nepi = unif(r, 1.4, 2.4);
    s->nepiw = fmax(0.6, 0.12 * mm);
    s->fasr = unif(r, 0.4, 1.0); /* nerve connective tissue echogenicity */
    s->periamp = unif(r, 0.2, 0.45);
    s->periw = fmax(0.45, 0.06 * mm);
    /* fascicles: dark discs inside the nerve, not touching each other or the rim */
    int want = 3 + (int)dolor_rng_below(r, 6);
    s->nfasc = 0;
    double minax = s->nb;
    for (int tries = 0; tries < 400 && s->nfasc < want; tries++) {
        double fr = unif(r, 0.22, 0.36) * minax;
        if (fr < 2.0)
            fr = 2.0;
        double ea = s->na - fr - 0.8 * s->nepiw - 0.5, eb = s->nb - fr - 0.8 * s->nepiw - 0.5;
        if (ea <= 0 || eb <= 0)
            continue;
        double u = unif(r, -ea, ea), v = unif(r, -eb, eb);
        if ((u / ea) * (u / ea) + (v / eb) * (v / eb) > 1)
            continue;
        int clash = 0;
        for (int j = 0; j < s->nfasc && !clash; j++) {
            double d = hypot(u - s->fas[j].u, v - s->fas[j].v);
            clash = d < fr + s->fas[j].r + 1.2;
        }
        if (clash)
            continue;
        s->fas[s->nfasc].u = u;
        s->fas[s->nfasc].v = v;
        s->fas[s->nfasc].r = fr;
        s->nfasc++;
    }
    if (s->has_art) {
        s->awall = unif(r, 1.0, 1.8);
        s->awallw = fmax(0.55, 0.1 * mm);
    }

    /* --- bone below both --- */
    double deepest = s->ncy + s->nr;
    if (s->has_art && s->acy + s->ar > deepest)
        deepest = s->acy + s->ar;
    s->has_bone = dolor_rng_uniform(r) < cfg->bone_prob;
    s->by = deepest + unif(r, 3.0, 8.0) * mm;
    if (s->by > 0.88 * h)
        s->has_bone = 0;
    double bwid = unif(r, 0.3, 0.65) * w;
    s->bx0 = unif(r, -0.15 * w, w - 0.85 * bwid);
    s->bx1 = s->bx0 + bwid;
    s->bdrop = unif(r, 0.3, 2.0) * mm;
    s->btilt = unif(r, -0.12, 0.12);
    s->bfloor = unif(r, 0.003, 0.01); /* what still comes back from below the bone (reverberation) */
    s->bamp = unif(r, 4.0, 6.5);
    s->bw = fmax(0.8, unif(r, 0.18, 0.28) * mm);

    /* --- fascia planes and layers --- */
    s->nf = 3 + (int)dolor_rng_below(r, 3);
    s->fy = fybuf;
    double base[MAX_FASCIA];
    base[0] = unif(r, 0.05, 0.13) * h;
    for (int i = 1; i < s->nf; i++)
        base[i] = unif(r, 0.16, 0.9) * h;
    for (int i = 1; i < s->nf; i++) /* insertion sort */
        for (int j = i; j > 1 && base[j] < base[j - 1]; j--) {
            double t = base[j];
            base[j] = base[j - 1];
            base[j - 1] = t;
        }
    for (int i = 0; i < s->nf; i++) {
        double amp = unif(r, 0.5, 3.5) * mm, per = unif(r, 0.8, 2.2) * w, ph = unif(r, 0, 2 * M_PI);
        double tilt = unif(r, -0.12, 0.12);
        for (int x = 0; x < w; x++) {
            double y = base[i] + amp * sin(2 * M_PI * x / per + ph) + tilt * (x - 0.5 * w);
            if (i > 0 && y < s->fy[(size_t)(i - 1) * w + x] + 1.0 * mm)
                y = s->fy[(size_t)(i - 1) * w + x] + 1.0 * mm;
            s->fy[(size_t)i * w + x] = y;
        }
        s->famp[i] = unif(r, 1.5, 3.5);
        s->fwid[i] = fmax(0.6, unif(r, 0.09, 0.2) * mm);
        for (int k = 0; k < 2; k++) {
            s->ffrag_k[i][k] = 2 * M_PI / (unif(r, 0.15, 0.6) * w);
            s->ffrag_ph[i][k] = unif(r, 0, 2 * M_PI);
        }
    }
    for (int i = 0; i <= s->nf; i++) {
        s->lr[i] = i == 0 ? unif(r, 0.03, 0.09) : unif(r, 0.015, 0.06);
        s->lst[i] = unif(r, 0.15, 0.45);
        double lam = unif(r, 0.8, 2.0) * mm, th = unif(r, -0.3, 0.3);
        s->lkx[i] = 2 * M_PI / lam * sin(th);
        s->lky[i] = 2 * M_PI / lam * cos(th);
        s->lph[i] = unif(r, 0, 2 * M_PI);
        s->lwav[i] = unif(r, 0.2, 1.0) * mm;
        s->lwk[i] = 2 * M_PI / (unif(r, 3.0, 10.0) * mm);
        s->lwp[i] = unif(r, 0, 2 * M_PI);
    }
    for (int k = 0; k < 4; k++) {
        double lam = unif(r, 4.0, 14.0) * mm, th = unif(r, 0, 2 * M_PI);
        s->tkx[k] = 2 * M_PI / lam * cos(th);
        s->tky[k] = 2 * M_PI / lam * sin(th);
        s->tph[k] = unif(r, 0, 2 * M_PI);
    }
    s->tamp = unif(r, 0.07, 0.14);
    s->nblob = (int)dolor_rng_below(r, 7);
    for (int k = 0; k < s->nblob; k++) {
        s->bra[k] = unif(r, 2.0, 8.0) * mm;
        s->brb[k] = s->bra[k] * unif(r, 0.3, 0.7);
        s->bcx[k] = unif(r, 0, w);
        s->bcy[k] = unif(r, 0.1, 1.0) * h;
        s->bfac[k] = dolor_rng_uniform(r) < 0.6 ? unif(r, 0.25, 0.6) : unif(r, 1.5, 2.2);
    }

    /* --- acoustics (per pixel, two-way amplitude) --- */
    s->att = unif(r, 0.12, 0.18) * s->px_mm;
    s->att_blood = 0.1 * s->att;
    s->bcortex = fmax(2.0, 1.0 * mm);
    s->att_bone = -log(s->bfloor) / s->bcortex;
    s->near_amp = unif(r, 1.0, 2.0);
    s->near_w = 0.5 * mm;
}

/* Separable blur of [h][w] buffers, lateral sigma per row, axial constant.
 * a, b: diffuse (energy-normalised kernel); c: specular (sum-normalised).
 * pad: scratch of 3 * (w + 64) floats. Edges are clamped. */
static void psf_blur(float *a, float *b, float *c, float *t0, float *t1, float *t2, float *pad, int w, int h,
                     const double *sigx_row, double sigy)
{
    float ke[64], ks[64];
    const int pw = w + 64;
    float *pa = pad, *pb = pad + pw, *pc = pad + 2 * pw;
    for (int y = 0; y < h; y++) {
        double sg = sigx_row[y];
        int rad = (int)ceil(3 * sg);
        if (rad > 31)
            rad = 31;
        double k[64], sum = 0, sum2 = 0;
        for (int j = -rad; j <= rad; j++) {
            k[j + rad] = exp(-0.5 * j * j / (sg * sg));
            sum += k[j + rad];
            sum2 += k[j + rad] * k[j + rad];
        }
        for (int j = 0; j <= 2 * rad; j++) {
            ke[j] = (float)(k[j] / sqrt(sum2));
            ks[j] = (float)(k[j] / sum);
        }
        const float *ra = a + (size_t)y * w, *rb = b + (size_t)y * w, *rc = c + (size_t)y * w;
        for (int x = -rad; x < w + rad; x++) {
            int xx = x < 0 ? 0 : x >= w ? w - 1 : x;
            pa[x + rad] = ra[xx];
            pb[x + rad] = rb[xx];
            pc[x + rad] = rc[xx];
        }
        float *oa = t0 + (size_t)y * w, *ob = t1 + (size_t)y * w, *oc = t2 + (size_t)y * w;
        memset(oa, 0, (size_t)w * sizeof *oa);
        memset(ob, 0, (size_t)w * sizeof *ob);
        memset(oc, 0, (size_t)w * sizeof *oc);
        for (int j = 0; j <= 2 * rad; j++) {
            const float kj = ke[j], sj = ks[j];
            const float *qa = pa + j, *qb = pb + j, *qc = pc + j;
            for (int x = 0; x < w; x++) {
                oa[x] += kj * qa[x];
                ob[x] += kj * qb[x];
                oc[x] += sj * qc[x];
            }
        }
    }
    int rad = (int)ceil(3 * sigy);
    if (rad > 31)
        rad = 31;
    double k[64], sum = 0, sum2 = 0;
    for (int j = -rad; j <= rad; j++) {
        k[j + rad] = exp(-0.5 * j * j / (sigy * sigy));
        sum += k[j + rad];
        sum2 += k[j + rad] * k[j + rad];
    }
    for (int j = 0; j <= 2 * rad; j++) {
        ke[j] = (float)(k[j] / sqrt(sum2));
        ks[j] = (float)(k[j] / sum);
    }
    for (int y = 0; y < h; y++) {
        float *oa = a + (size_t)y * w, *ob = b + (size_t)y * w, *oc = c + (size_t)y * w;
        memset(oa, 0, (size_t)w * sizeof *oa);
        memset(ob, 0, (size_t)w * sizeof *ob);
        memset(oc, 0, (size_t)w * sizeof *oc);
        for (int j = -rad; j <= rad; j++) {
            int yy = y + j;
            yy = yy < 0 ? 0 : yy >= h ? h - 1 : yy;
            const float *ia = t0 + (size_t)yy * w, *ib = t1 + (size_t)yy * w, *ic = t2 + (size_t)yy * w;
            const float kj = ke[j + rad], sj = ks[j + rad];
            for (int x = 0; x < w; x++) {
                oa[x] += kj * ia[x];
                ob[x] += kj * ib[x];
                oc[x] += sj * ic[x];
            }
        }
    }
}

static dolor_status check_config(const dolor_phantom_config *c)
{
    if (c->width < 64 || c->width > 4096)
        return dolor_error(DOLOR_EINVAL, "phantom: width is %d (must be 64..4096)", c->width);
    if (c->height < 64 || c->height > 4096)
        return dolor_error(DOLOR_EINVAL, "phantom: height is %d (must be 64..4096)", c->height);
    if (!(c->depth_mm >= 10 && c->depth_mm <= 150))
        return dolor_error(DOLOR_EINVAL, "phantom: depth_mm is %g (must be 10..150)", c->depth_mm);
    if (!(c->vessel_prob >= 0 && c->vessel_prob <= 1))
        return dolor_error(DOLOR_EINVAL, "phantom: vessel_prob is %g (must be 0..1)", c->vessel_prob);
    if (!(c->bone_prob >= 0 && c->bone_prob <= 1))
        return dolor_error(DOLOR_EINVAL, "phantom: bone_prob is %g (must be 0..1)", c->bone_prob);
    if (!(c->dynamic_range_db >= 10 && c->dynamic_range_db <= 100))
        return dolor_error(DOLOR_EINVAL, "phantom: dynamic_range_db is %g (must be 10..100)", c->dynamic_range_db);
    return DOLOR_OK;
}

dolor_status dolor_phantom_generate(const dolor_phantom_config *cfg, uint64_t seed, dolor_image **image,
                                    dolor_image **mask, dolor_phantom_info *info)
{
    *image = NULL;
    *mask = NULL;
    dolor_phantom_config def;
    if (!cfg) {
        dolor_phantom_config_default(&def);
        cfg = &def;
    }
    dolor_status st = check_config(cfg);
    if (st)
        return st;
    const int w = cfg->width, h = cfg->height;
    const size_t n = (size_t)w * (size_t)h;
    dolor_image *img = NULL, *msk = NULL;
    float *buf = malloc(6 * n * sizeof *buf);
    double *fy = malloc((size_t)MAX_FASCIA * (size_t)w * sizeof *fy);
    double *rowd = malloc((size_t)h * 2 * sizeof *rowd);
    double *cum = malloc((size_t)w * sizeof *cum);
    float *pad = malloc((size_t)3 * ((size_t)w + 64) * sizeof *pad);
    double *tab = malloc(((size_t)(8 + 2 * (MAX_FASCIA + 1) + 3) * (size_t)w +
                          (size_t)(8 + 2 * (MAX_FASCIA + 1) + 1) * (size_t)h) * sizeof *tab);
    if (!buf || !fy || !rowd || !cum || !tab || !pad || dolor_image_create2d(&img, DOLOR_U8, 1, w, h) ||
        dolor_image_create2d(&msk, DOLOR_U8, 1, w, h)) {
        free(buf);
        free(fy);
        free(rowd);
        free(cum);
        free(tab);
        free(pad);
        dolor_image_free(img);
        dolor_image_free(msk);
        return dolor_error(DOLOR_ENOMEM, "phantom: out of memory for a %dx%d image", w, h);
    }
    float *re = buf, *im = buf + n, *sp = buf + 2 * n, *t0 = buf + 3 * n, *t1 = buf + 4 * n, *t2 = buf + 5 * n;
    uint8_t *lab = msk->data;

    dolor_rng rng;
    dolor_rng_seed(&rng, seed);
    scene s;
    memset(&s, 0, sizeof s);
    s.px_mm = cfg->depth_mm / h;
    build_scene(&s, &rng, cfg, fy);
    const double mm = 1.0 / s.px_mm;
    const int nl = s.nf + 1;

    /* separable tables: cos(a + b) = cos a cos b - sin a sin b */
    double *wc = tab, *ws = tab + 4 * (size_t)w;                 /* texture, per x [4][w] */
    double *hc = tab + 8 * (size_t)w, *hs = hc + 4 * (size_t)h;  /* texture, per y [4][h] */
    double *lxc = hs + 4 * (size_t)h, *lxs = lxc + (size_t)nl * w; /* striation per layer, per x */
    double *lyc = lxs + (size_t)nl * w, *lys = lyc + (size_t)nl * h;
    double *bone = lys + (size_t)nl * h, *bah = bone + w, *baf = bah + w, *nearf = baf + w;
    for (int k = 0; k < 4; k++) {
        for (int x = 0; x < w; x++) {
            wc[k * w + x] = cos(s.tkx[k] * x);
            ws[k * w + x] = sin(s.tkx[k] * x);
        }
        for (int y = 0; y < h; y++) {
            hc[k * h + y] = cos(s.tky[k] * y + s.tph[k]);
            hs[k * h + y] = sin(s.tky[k] * y + s.tph[k]);
        }
    }
    for (int l = 0; l < nl; l++) {
        for (int x = 0; x < w; x++) {
            double a = s.lkx[l] * x + s.lky[l] * s.lwav[l] * sin(s.lwk[l] * x + s.lwp[l]);
            lxc[(size_t)l * w + x] = cos(a);
            lxs[(size_t)l * w + x] = sin(a);
        }
        for (int y = 0; y < h; y++) {
            lyc[(size_t)l * h + y] = cos(s.lky[l] * y + s.lph[l]);
            lys[(size_t)l * h + y] = sin(s.lky[l] * y + s.lph[l]);
        }
    }
    for (int x = 0; x < w; x++) {
        bone[x] = bone_y(&s, x);
        /* thinner, oblique bone at its ends lets more through: soft shadow edges */
        double half = 0.5 * (s.bx1 - s.bx0);
        double e = smoothstep(0.0, 0.12 * half, fmin(x - s.bx0, s.bx1 - x));
        bah[x] = exp(-0.5 * s.att_bone * (0.3 + 0.7 * e));
        baf[x] = exp(-s.att_bone * (0.3 + 0.7 * e));
    }
    for (int y = 0; y < h; y++)
        nearf[y] = s.near_amp * exp(-y / s.near_w);
    /* attenuation factors: half a pixel and a whole pixel for tissue, blood, bone */
    const double ah[3] = {exp(-0.5 * s.att), exp(-0.5 * s.att_blood), exp(-0.5 * s.att_bone)};
    const double af[3] = {exp(-s.att), exp(-s.att_blood), exp(-s.att_bone)};
    /* bounding boxes */
    const double nbr = 1.6 * s.nr + 2, abr = s.has_art ? s.ar + 1.5 * mm + 2 : 0;

    for (int x = 0; x < w; x++)
        cum[x] = 1.0;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            double R, S = nearf[y];
            int medium = 0; /* 0 tissue, 1 blood, 2 bone */
            uint8_t L = DOLOR_PHANTOM_BACKGROUND;
            int layer = 0;
            while (layer < s.nf && y > s.fy[(size_t)layer * w + x])
                layer++;
            double tex = 0;
            for (int k = 0; k < 4; k++)
                tex += wc[k * w + x] * hc[k * h + y] - ws[k * w + x] * hs[k * h + y];
            double stri = lxc[(size_t)layer * w + x] * lyc[(size_t)layer * h + y] -
                          lxs[(size_t)layer * w + x] * lys[(size_t)layer * h + y];
            double tf = 1 + s.tamp * tex;
            R = s.lr[layer] * (tf > 0.25 ? tf : 0.25) * (1 + s.lst[layer] * stri);
            for (int k = 0; k < s.nblob; k++) {
                double bu = (x - s.bcx[k]) / s.bra[k], bv = (y - s.bcy[k]) / s.brb[k];
                double q = bu * bu + bv * bv;
                if (q < 1.44)
                    R *= 1 + (s.bfac[k] - 1) * (1 - smoothstep(0.6, 1.44, q));
            }
            double keep = 1.0; /* fascia fade near the nerve and the artery */
            /* nerve */
            if (fabs(x - s.ncx) < nbr && fabs(y - s.ncy) < nbr) {
                double u, v;
                double rho = nerve_rho(&s, x, y, &u, &v);
                keep = smoothstep(1.15, 1.5, rho);
                if (rho < 1.6) {
                    double e = s.nepi * gauss((rho - 1.0) * s.nb, s.nepiw);
                    S += 0.6 * e;
                    if (rho < 1.0) {
                        L = DOLOR_PHANTOM_NERVE;
                        R = s.fasr * tf;
                        for (int f = 0; f < s.nfasc; f++) {
                            double du = u - s.fas[f].u, dv = v - s.fas[f].v;
                            double d = sqrt(du * du + dv * dv);
                            if (d < s.fas[f].r)
                                R = 0.02 * s.fasr;
                            S += s.periamp * gauss(d - s.fas[f].r, s.periw);
                        }
                    }
                    R += 0.5 * e * e;
                }
            }
            /* artery */
            if (s.has_art && fabs(x - s.acx) < abr && fabs(y - s.acy) < abr) {
                double dx = x - s.acx, dy = y - s.acy, d = sqrt(dx * dx + dy * dy);
                keep *= smoothstep(s.ar + 0.3 * mm, s.ar + 1.5 * mm, d);
                if (d < s.ar) {
                    L = DOLOR_PHANTOM_VESSEL;
                    R = 0.0002;
                    medium = 1;
                }
                if (d < s.ar + 4 * s.awallw) {
                    double c = d > 0 ? dy / d : 0;
                    S += s.awall * (0.3 + 0.7 * c * c) * gauss(d - s.ar - s.awallw, s.awallw);
                }
            }
            /* fascia planes */
            for (int f = 0; f < s.nf; f++) {
                double d = y - s.fy[(size_t)f * w + x];
                if (fabs(d) > 4 * s.fwid[f])
                    continue;
                double frag = 0.8 + 0.4 * sin(s.ffrag_k[f][0] * x + s.ffrag_ph[f][0]) +
                              0.25 * sin(s.ffrag_k[f][1] * x * 2.3 + s.ffrag_ph[f][1]);
                frag = frag < 0 ? 0 : frag > 1 ? 1 : frag;
                double e = keep * s.famp[f] * frag * gauss(d, s.fwid[f]);
                S += 0.55 * e;  /* coherent (specular) part */
                R += 0.6 * e * e; /* rough part: speckled */
            }
            /* bone surface and what lies below it */
            double by = bone[x];
            if (!isnan(by) && y > by - 4 * s.bw) {
                double d = y - by;
                double half = 0.5 * (s.bx1 - s.bx0);
                double edge = smoothstep(0.0, 0.25 * half, fmin(x - s.bx0, s.bx1 - x));
                S += s.bamp * (0.15 + 0.85 * edge) * gauss(d, s.bw);
                if (d > 0.5 * s.bw && d <= 0.5 * s.bw + s.bcortex)
                    medium = 2; /* the cortex lets bfloor of the amplitude through */
            }
            /* attenuation from the probe down to this depth (midpoint rule) */
            double A = cum[x] * (medium == 2 ? bah[x] : ah[medium]);
            cum[x] *= medium == 2 ? baf[x] : af[medium];
            double n1, n2;
            normal2(&rng, &n1, &n2);
            double amp = sqrt(R > 0 ? R : 0) * A * M_SQRT1_2;
            re[i] = (float)(amp * n1);
            im[i] = (float)(amp * n2);
            sp[i] = (float)(S * A);
            lab[i] = L;
        }
    }

    /* point-spread function: lateral sigma widens away from the focus */
    double focus = unif(&rng, 0.3, 0.55) * h;
    double sx0 = fmax(0.6, 0.25 * mm), sy = fmax(0.5, 0.12 * mm);
    double *sigx = rowd, *gain = rowd + h;
    for (int y = 0; y < h; y++)
        sigx[y] = sx0 * (1.0 + 0.8 * fabs(y - focus) / h);
    psf_blur(re, im, sp, t0, t1, t2, pad, w, h, sigx, sy);

    /* time-gain compensation (imperfect), electronic noise, log compression */
    double tgc = s.att * unif(&rng, 0.68, 0.88);
    double wob_a = unif(&rng, 0.0, 0.12), wob_k = 2 * M_PI * unif(&rng, 0.7, 1.8) / h, wob_p = unif(&rng, 0, 2 * M_PI);
    for (int y = 0; y < h; y++)
        gain[y] = exp(tgc * y) * (1 + wob_a * sin(wob_k * y + wob_p));
    double dr = cfg->dynamic_range_db;
    double g1 = unif(&rng, 125.0, 145.0); /* grey level of unit echogenicity */
    double top = dr * (1.0 - g1 / 255.0);
    /* receiver noise before TGC, reaching about -32 dB at the bottom */
    double noise = 0.025 / gain[h - 1];
    /* envelope (with TGC) */
    for (int y = 0; y < h; y++) {
        float gy = (float)gain[y];
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            uint64_t bits = dolor_rng_u64(&rng);
            /* receiver noise needs no exact Gaussian: sums of two 16-bit uniforms
             * (triangular), mean 0, variance 1 */
            const float k6 = (float)(2.449489742783178 / 65536.0);
            float n1 = (float)((int32_t)((bits & 0xffff) + ((bits >> 16) & 0xffff)) - 65535) * k6;
            float n2 = (float)((int32_t)(((bits >> 32) & 0xffff) + (bits >> 48)) - 65535) * k6;
            float fr = re[i] + sp[i] + (float)noise * n1, fi = im[i] + (float)noise * n2;
            t0[i] = gy * sqrtf(fr * fr + fi * fi);
        }
    }
    /* the scanner's speckle reduction: [1 4 6 4 1] / 16 across, [1 2 1] / 4 along, then log compression */
    for (int y = 0; y < h; y++) {
        const float *r0 = t0 + (size_t)y * w;
        float *o = t1 + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            int xm2 = x < 2 ? 0 : x - 2, xm1 = x < 1 ? 0 : x - 1;
            int xp1 = x + 1 < w ? x + 1 : w - 1, xp2 = x + 2 < w ? x + 2 : w - 1;
            o[x] = (r0[xm2] + 4 * r0[xm1] + 6 * r0[x] + 4 * r0[xp1] + r0[xp2]) * (1.0f / 16);
        }
    }
    const float gscale = (float)(255.0 * 20.0 / (dr * log(10.0))), goff = (float)(255.0 * (1.0 - top / dr));
    uint8_t *out = img->data;
    for (int y = 0; y < h; y++) {
        const float *up = t1 + (size_t)(y > 0 ? y - 1 : y) * w, *mid = t1 + (size_t)y * w,
                    *dn = t1 + (size_t)(y < h - 1 ? y + 1 : y) * w;
        for (int x = 0; x < w; x++) {
            float env = 0.25f * up[x] + 0.5f * mid[x] + 0.25f * dn[x] + 1e-10f;
            float g = gscale * logf(env) + goff; /* 255 (1 + (20 log10 env - top) / dr) */
            g = g < 0 ? 0 : g > 255 ? 255 : g;
            out[(size_t)y * w + x] = (uint8_t)lrintf(g);
        }
    }

    double spacing = s.px_mm;
    img->spacing[0] = img->spacing[1] = spacing;
    dolor_image_copy_geometry(msk, img);
    if (info) {
        memset(info, 0, sizeof *info);
        info->nerve_cx = s.ncx;
        info->nerve_cy = s.ncy;
        info->nerve_a = s.na;
        info->nerve_b = s.nb;
        info->nerve_angle = s.nang;
        info->nfascicles = s.nfasc;
        info->has_vessel = s.has_art;
        info->vessel_cx = s.has_art ? s.acx : NAN;
        info->vessel_cy = s.has_art ? s.acy : NAN;
        info->vessel_r = s.has_art ? s.ar : NAN;
        info->has_bone = s.has_bone;
        info->bone_y_min = s.has_bone ? s.by : NAN;
        info->bone_x0 = s.has_bone ? s.bx0 : NAN;
        info->bone_x1 = s.has_bone ? s.bx1 : NAN;
    }
    free(buf);
    free(fy);
    free(rowd);
    free(cum);
    free(tab);
    free(pad);
    *image = img;
    *mask = msk;
    return DOLOR_OK;
}
