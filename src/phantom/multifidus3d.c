/* A 3D B-mode-like multifidus phantom at several fat-infiltration grades (dolor_phantom_multifidus3d). */
#define _POSIX_C_SOURCE 200809L
#include "dolor/io.h"
#include "dolor/phantom.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dolor_mf3d_config_default(dolor_mf3d_config *c)
{
    c->nx = 180;
    c->ny = 180;
    c->nz = 70;
    c->spacing_mm = 0.25;
    c->grades = 2;
    c->gain_sd = 0.25;
    c->dynamic_range_db = 50;
}

/* separable Gaussian blur of a [nz][ny][nx] float volume along one axis (0 = x, 1 = y, 2 = z), edges clamped */
static int blur_axis(float *v, const int n[3], int axis, double sigma)
{
    if (sigma <= 0)
        return 0;
    int r = (int)ceil(3 * sigma), len = n[axis];
    float *k = malloc((size_t)(2 * r + 1) * sizeof *k);
    if (!k)
        return -1;
    double s = 0;
    for (int i = -r; i <= r; i++)
        s += (k[i + r] = (float)exp(-0.5 * i * i / (sigma * sigma)));
    for (int i = 0; i <= 2 * r; i++)
        k[i] /= (float)s;
    const size_t stride = axis == 0 ? 1 : axis == 1 ? (size_t)n[0] : (size_t)n[0] * n[1];
    const size_t nlines = (size_t)n[0] * n[1] * n[2] / (size_t)len;
    int oom = 0;
#pragma omp parallel
    {
        float *buf = malloc((size_t)len * sizeof *buf);
        if (!buf)
            oom = 1;
#pragma omp for schedule(static)
        for (size_t l = 0; l < nlines; l++) {
            if (!buf)
                continue;
            size_t base;
            if (axis == 0)
                base = l * (size_t)n[0];
            else if (axis == 1)
                base = (l / n[0]) * (size_t)n[0] * n[1] + l % n[0];
            else
                base = l;
            for (int i = 0; i < len; i++) {
                double a = 0;
                for (int t = -r; t <= r; t++) {
                    int j = i + t < 0 ? 0 : i + t >= len ? len - 1 : i + t;
                    a += k[t + r] * v[base + (size_t)j * stride];
                }
                buf[i] = (float)a;
            }
            for (int i = 0; i < len; i++)
                v[base + (size_t)i * stride] = buf[i];
        }
        free(buf);
    }
    free(k);
    return oom ? -1 : 0;
}

static int blur3(float *v, const int n[3], double sx, double sy, double sz)
{
    return blur_axis(v, n, 0, sx) || blur_axis(v, n, 1, sy) || blur_axis(v, n, 2, sz);
}

static double bone_y(const dolor_mf3d_config *c, double x, double xb, double yb0)
{
    double t = x / xb;
    return yb0 + 0.04 * c->ny * t * t;
}

dolor_status dolor_phantom_multifidus3d(const dolor_mf3d_config *c, int grade, uint64_t seed, dolor_image **out,
                                        dolor_mf3d_info *info)
{
    *out = NULL;
    if (c->nx < 48 || c->ny < 48 || c->nz < 8 || c->nx > 1024 || c->ny > 1024 || c->nz > 1024)
        return dolor_error(DOLOR_EINVAL, "multifidus3d: size %dx%dx%d (x, y, z): need 48..1024 x 48..1024 x 8..1024",
                           c->nx, c->ny, c->nz);
    if (c->grades < 2 || c->grades > 5 || grade < 0 || grade >= c->grades)
        return dolor_error(DOLOR_EINVAL, "multifidus3d: grade %d of %d grades (need 2..5 grades, grade 0..grades-1)",
                           grade, c->grades);
    if (!(c->spacing_mm > 0) || !(c->dynamic_range_db >= 10 && c->dynamic_range_db <= 100) || !(c->gain_sd >= 0))
        return dolor_error(DOLOR_EINVAL, "multifidus3d: spacing %g mm (> 0), dynamic range %g dB (10..100), gain_sd %g "
                           "(>= 0)", c->spacing_mm, c->dynamic_range_db, c->gain_sd);
    const int n[3] = {c->nx, c->ny, c->nz};
    const size_t N = (size_t)c->nx * c->ny * c->nz;
    float *E = malloc(N * sizeof *E), *F = malloc(N * sizeof *F), *re = malloc(N * sizeof *re),
          *im = malloc(N * sizeof *im);
    dolor_status s = DOLOR_OK;
    if (!E || !F || !re || !im) {
        s = dolor_error(DOLOR_ENOMEM, "multifidus3d: out of memory for %zu voxels", N);
        goto done;
    }
    dolor_rng r;
    dolor_rng_seed(&r, seed);
    const double g = grade / (double)(c->grades - 1); /* 0 .. 1 */
    /* geometry (voxels): subcutis above y_sc, multifidus below it down to y_deep lateral of the spinous process */
    const double y_sc = c->ny * (0.10 + 0.04 * dolor_rng_uniform(&r)), y_deep = c->ny * (0.80 + 0.06 * dolor_rng_uniform(&r));
    const double xb = c->nx * (0.20 + 0.04 * dolor_rng_uniform(&r)), yb0 = c->ny * (0.28 + 0.05 * dolor_rng_uniform(&r));
    const double sc_tilt = 0.03 * (dolor_rng_uniform(&r) - 0.5) * c->ny / c->nx;
    /* fibrillar texture: white noise blurred far more along z (fibre axis) than across */
    for (size_t i = 0; i < N; i++)
        F[i] = (float)dolor_rng_normal(&r);
    if (blur3(F, n, 0.9, 0.6, 7.0)) {
        s = dolor_error(DOLOR_ENOMEM, "multifidus3d: out of memory");
        goto done;
    }
    double fsd = 0;
    for (size_t i = 0; i < N; i++)
        fsd += (double)F[i] * F[i];
    fsd = sqrt(fsd / N);
    /* septa: oblique intramuscular planes, blurred and fainter with fat */
    int nsep = 3 + (int)dolor_rng_below(&r, 3);
    double sep_y[8], sep_slope[8], sep_zs[8];
    for (int k = 0; k < nsep; k++) {
        sep_y[k] = y_sc + (y_deep - y_sc) * (k + 0.5 + 0.4 * (dolor_rng_uniform(&r) - 0.5)) / nsep;
        sep_slope[k] = 0.25 * (dolor_rng_uniform(&r) - 0.5);
        sep_zs[k] = 0.05 * (dolor_rng_uniform(&r) - 0.5);
    }
    const double sep_w = 0.7 + 1.6 * g, sep_a = 1.8 / (1 + 1.5 * g);
    const double fib = 0.9 * (1 - 0.55 * g), base = 0.45 * (1 + 0.6 * g);
    for (int z = 0; z < c->nz; z++)
        for (int y = 0; y < c->ny; y++)
            for (int x = 0; x < c->nx; x++) {
                size_t i = ((size_t)z * c->ny + y) * c->nx + x;
                double ysc = y_sc + sc_tilt * (x - c->nx / 2.0), e;
                if (y < ysc)
                    e = 0.30 * exp(0.25 * F[i] / fsd); /* subcutis: isotropic, fainter */
                else if (x < xb || y > y_deep)
                    e = 0.25 * exp(0.3 * F[i] / fsd);
                else {
                    e = base * exp(fib * F[i] / fsd);
                    for (int k = 0; k < nsep; k++) {
                        double d = y - (sep_y[k] + sep_slope[k] * (x - xb) + sep_zs[k] * z);
                        e += sep_a * exp(-0.5 * d * d / (sep_w * sep_w));
                    }
                }
                /* fascia planes: superficial (under the subcutis) and deep */
                double d1 = y - ysc, d2 = y - y_deep;
                e += 2.5 * exp(-0.5 * d1 * d1 / 0.8) + 1.5 * exp(-0.5 * d2 * d2 / 1.2);
                E[i] = (float)e;
            }
    /* fat: granular hyperechoic spots inside the muscle, density growing with the grade */
    {
        const double dens = 0.006 * g;
        const size_t nspots = (size_t)(dens * (c->nx - xb) * (y_deep - y_sc) * c->nz);
        for (size_t k = 0; k < nspots; k++) {
            double cx = xb + (c->nx - xb) * dolor_rng_uniform(&r), cy = y_sc + (y_deep - y_sc) * dolor_rng_uniform(&r);
            double cz = c->nz * dolor_rng_uniform(&r), amp = 1.5 + 2.0 * dolor_rng_uniform(&r);
            for (int dz = -2; dz <= 2; dz++)
                for (int dy = -2; dy <= 2; dy++)
                    for (int dx = -2; dx <= 2; dx++) {
                        int X = (int)cx + dx, Y = (int)cy + dy, Z = (int)cz + dz;
                        if (X < 0 || Y < 0 || Z < 0 || X >= c->nx || Y >= c->ny || Z >= c->nz)
                            continue;
                        double q = (X - cx) * (X - cx) + (Y - cy) * (Y - cy) + (Z - cz) * (Z - cz);
                        E[((size_t)Z * c->ny + Y) * c->nx + X] += (float)(amp * exp(-q / 1.4));
                    }
        }
    }
    /* spinous process: a bright curved bone surface lateral x < xb, acoustic shadow below it */
    for (int z = 0; z < c->nz; z++)
        for (int y = 0; y < c->ny; y++)
            for (int x = 0; x < c->nx; x++) {
                double yb = bone_y(c, x, xb, yb0), edge = x < xb ? 1.0 : exp(-0.5 * (x - xb) * (x - xb) / 2.0);
                size_t i = ((size_t)z * c->ny + y) * c->nx + x;
                double d = y - yb;
                if (edge > 1e-3)
                    E[i] += (float)(edge * 12.0 * exp(-0.5 * d * d / 1.5));
                if (y > yb + 2)
                    E[i] *= (float)(1.0 - 0.97 * edge);
            }
    /* speckle: complex Gaussian scatterers scaled by sqrt(echogenicity), convolved with the PSF */
    for (size_t i = 0; i < N; i++) {
        double a = sqrt(E[i]);
        re[i] = (float)(a * dolor_rng_normal(&r));
        im[i] = (float)(a * dolor_rng_normal(&r));
    }
    if (blur3(re, n, 1.2, 0.6, 1.5) || blur3(im, n, 1.2, 0.6, 1.5)) {
        s = dolor_error(DOLOR_ENOMEM, "multifidus3d: out of memory");
        goto done;
    }
    /* envelope, depth attenuation left after TGC, probe gain, log compression */
    const double gain = exp(c->gain_sd * dolor_rng_normal(&r));
    dolor_image *img = NULL;
    int64_t sz[3] = {c->nx, c->ny, c->nz};
    if ((s = dolor_image_create(&img, DOLOR_U8, 1, 3, sz)))
        goto done;
    for (int a = 0; a < 3; a++)
        img->spacing[a] = c->spacing_mm;
    uint8_t *o = img->data;
    const double aref = 0.9; /* amplitude shown at full white with gain 1 */
    for (int z = 0; z < c->nz; z++)
        for (int y = 0; y < c->ny; y++) {
            double att = exp(-0.7 * y / c->ny);
            for (int x = 0; x < c->nx; x++) {
                size_t i = ((size_t)z * c->ny + y) * c->nx + x;
                double A = gain * att * sqrt((double)re[i] * re[i] + (double)im[i] * im[i]) + 1e-9;
                double v = 255.0 * (1.0 + 20.0 * log10(A / aref) / c->dynamic_range_db);
                o[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lround(v));
            }
        }
    if (info) {
        int bx1 = (int)(0.45 * xb), by0 = (int)floor(yb0) - 1;
        info->bright = (dolor_mf3d_box){2, by0, 0, bx1 > 3 ? bx1 : 3, by0 + 3, c->nz};
        info->dark = (dolor_mf3d_box){2, (int)(yb0 + 0.15 * c->ny), 0, bx1 > 3 ? bx1 : 3, c->ny - 2, c->nz};
        info->roi = (dolor_mf3d_box){(int)ceil(xb) + 4, (int)ceil(y_sc) + 4, 0, c->nx - 2, (int)y_deep - 2, c->nz};
        info->gain = gain;
    }
    *out = img;
done:
    free(E);
    free(F);
    free(re);
    free(im);
    return s;
}

dolor_status dolor_phantom_write_multifidus3d(const char *dir, int count, const dolor_mf3d_config *c, uint64_t seed,
                                              int show_progress)
{
    if (count < 1 || count > 100000)
        return dolor_error(DOLOR_EINVAL, "multifidus3d: count is %d (must be 1..100000)", count);
    dolor_image *probe = NULL;
    dolor_mf3d_config pc = *c;
    pc.nx = pc.nx >= 48 && pc.nx <= 1024 ? 48 : pc.nx;
    pc.ny = pc.ny >= 48 && pc.ny <= 1024 ? 48 : pc.ny;
    pc.nz = pc.nz >= 8 && pc.nz <= 1024 ? 8 : pc.nz;
    dolor_status s = dolor_phantom_multifidus3d(&pc, 0, 0, &probe, NULL);
    dolor_image_free(probe);
    if (s)
        return s;
    size_t dl = strlen(dir) + 64;
    char *p = malloc(dl);
    dolor_mf3d_info *inf = calloc((size_t)count, sizeof *inf);
    int *grade = malloc((size_t)count * sizeof *grade);
    if (!p || !inf || !grade) {
        free(p), free(inf), free(grade);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    snprintf(p, dl, "%s/volumes", dir);
    if ((s = dolor_mkdir_p(p)))
        goto done;
    /* two volumes (left and right side) per patient, one grade per patient, grades balanced */
    for (int i = 0; i < count; i++)
        grade[i] = (i / 2) % c->grades;
    dolor_progress *pg = show_progress ? dolor_progress_create("multifidus3d", count) : NULL;
    for (int i = 0; i < count && !s; i++) {
        dolor_image *v = NULL;
        s = dolor_phantom_multifidus3d(c, grade[i], dolor_phantom_image_seed(seed, i), &v, &inf[i]);
        if (!s) {
            snprintf(p, dl, "%s/volumes/%04d.mha", dir, i);
            s = dolor_image_write(p, v);
        }
        dolor_image_free(v);
        dolor_progress_update(pg, i + 1, NULL);
    }
    dolor_progress_finish(pg, NULL);
    if (s)
        goto done;
    snprintf(p, dl, "%s/grades.csv", dir);
    dolor_outfile of;
    if ((s = dolor_outfile_open(&of, p, 1)))
        goto done;
    fprintf(of.fp, "volume,patient,side,grade,gain,bright,dark,roi\n");
    for (int i = 0; i < count; i++) {
        const dolor_mf3d_box *b = &inf[i].bright, *d = &inf[i].dark, *r = &inf[i].roi;
        fprintf(of.fp, "volumes/%04d.mha,P%04d,%s,%d,%.4f,\"%d,%d,%d,%d,%d,%d\",\"%d,%d,%d,%d,%d,%d\",\"%d,%d,%d,%d,%d,%d\"\n",
                i, i / 2, i % 2 ? "right" : "left", grade[i], inf[i].gain, b->x0, b->y0, b->z0, b->x1, b->y1, b->z1,
                d->x0, d->y0, d->z0, d->x1, d->y1, d->z1, r->x0, r->y0, r->z0, r->x1, r->y1, r->z1);
    }
    s = dolor_outfile_commit(&of);
done:
    free(p);
    free(inf);
    free(grade);
    return s;
}
