/* Surface distances (HD95, ASSD) between two binary masks; see eval_priv.h. */
#include "eval_priv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FAR 1e30

/* Squared distance transform along one line (Felzenszwalb & Huttenlocher,
 * "Distance transforms of sampled functions", Theory of Computing 2012),
 * with sample positions q * sp: d[q] = min_p (sp (q - p))^2 + f[p].
 * v[n], z[n + 1] are scratch. */
static void edt1d(const double *f, double *d, int n, double sp, int *v, double *z)
{
    int k = 0;
    v[0] = 0;
    z[0] = -INFINITY;
    z[1] = INFINITY;
    for (int q = 1; q < n; q++) {
        const double xq = q * sp, fq = f[q] + xq * xq;
        double s;
        for (;;) {
            const double xv = v[k] * sp;
            s = (fq - (f[v[k]] + xv * xv)) / (2 * (xq - xv));
            if (s > z[k] || k == 0)
                break;
            k--;
        }
        if (s <= z[k]) { /* only when k == 0 and s is -inf: cannot happen for finite f */
            v[0] = q;
            continue;
        }
        k++;
        v[k] = q;
        z[k] = s;
        z[k + 1] = INFINITY;
    }
    k = 0;
    for (int q = 0; q < n; q++) {
        const double xq = q * sp;
        while (z[k + 1] < xq)
            k++;
        const double dx = xq - v[k] * sp;
        d[q] = dx * dx + f[v[k]];
    }
}

/* In place: g = squared distance to the nearest feature voxel (g == 0 at
 * features, FAR elsewhere on input). */
static dolor_status edt(double *g, const int64_t dims[3], const double sp[3])
{
    int64_t nmax = dims[0];
    if (dims[1] > nmax)
        nmax = dims[1];
    if (dims[2] > nmax)
        nmax = dims[2];
    double *f = malloc((size_t)nmax * sizeof *f), *d = malloc((size_t)nmax * sizeof *d);
    double *z = malloc(((size_t)nmax + 1) * sizeof *z);
    int *v = malloc((size_t)nmax * sizeof *v);
    if (!f || !d || !z || !v) {
        free(f);
        free(d);
        free(z);
        free(v);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    const int64_t nx = dims[0], ny = dims[1], nz = dims[2];
    for (int axis = 0; axis < 3; axis++) {
        int64_t n = dims[axis];
        if (n == 1)
            continue;
        int64_t stride = axis == 0 ? 1 : axis == 1 ? nx : nx * ny;
        int64_t lines = nx * ny * nz / n;
        for (int64_t l = 0; l < lines; l++) {
            /* start of line l along axis */
            int64_t base;
            if (axis == 0)
                base = l * nx;
            else if (axis == 1)
                base = (l / nx) * nx * ny + (l % nx);
            else
                base = l;
            double *p = g + base;
            for (int64_t q = 0; q < n; q++)
                f[q] = p[q * stride];
            edt1d(f, d, (int)n, sp[axis], v, z);
            for (int64_t q = 0; q < n; q++)
                p[q * stride] = d[q] > FAR ? FAR : d[q];
        }
    }
    free(f);
    free(d);
    free(z);
    free(v);
    return DOLOR_OK;
}

/* Surface voxels of m into e; returns their count. */
static size_t edges(const uint8_t *m, uint8_t *e, const int64_t dims[3])
{
    const int64_t nx = dims[0], ny = dims[1], nz = dims[2];
    size_t cnt = 0;
    for (int64_t z = 0; z < nz; z++)
        for (int64_t y = 0; y < ny; y++)
            for (int64_t x = 0; x < nx; x++) {
                size_t i = (size_t)((z * ny + y) * nx + x);
                uint8_t edge = 0;
                if (m[i]) {
                    edge = x == 0 || x == nx - 1 || y == 0 || y == ny - 1 || !m[i - 1] || !m[i + 1] ||
                           !m[i - (size_t)nx] || !m[i + (size_t)nx];
                    if (!edge && nz > 1)
                        edge = z == 0 || z == nz - 1 || !m[i - (size_t)(nx * ny)] || !m[i + (size_t)(nx * ny)];
                }
                e[i] = edge;
                cnt += edge;
            }
    return cnt;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double q95(double *x, size_t n)
{
    qsort(x, n, sizeof *x, cmp_double);
    double h = (double)(n - 1) * 0.95, fl = floor(h);
    size_t j = (size_t)fl;
    if (j + 1 >= n)
        return x[n - 1];
    return x[j] + (h - fl) * (x[j + 1] - x[j]);
}

/* Distances on masks already cropped to the bounding box of both. */
static dolor_status distances_cropped(const uint8_t *a, const uint8_t *b, const int64_t dims[3], const double sp[3],
                                      double *hd95, double *assd)
{
    size_t n = (size_t)(dims[0] * dims[1] * dims[2]);
    uint8_t *ea = malloc(n), *eb = malloc(n);
    double *g = malloc(n * sizeof *g);
    double *da = NULL, *db = NULL;
    dolor_status s = DOLOR_OK;
    if (!ea || !eb || !g) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    size_t na = edges(a, ea, dims), nb = edges(b, eb, dims);
    if (na == 0 || nb == 0)
        goto done;
    da = malloc(na * sizeof *da);
    db = malloc(nb * sizeof *db);
    if (!da || !db) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    /* a's surface -> nearest point of b's surface */
    for (size_t i = 0; i < n; i++)
        g[i] = eb[i] ? 0.0 : FAR;
    if ((s = edt(g, dims, sp)))
        goto done;
    size_t k = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        if (ea[i]) {
            da[k] = sqrt(g[i]);
            sum += da[k++];
        }
    for (size_t i = 0; i < n; i++)
        g[i] = ea[i] ? 0.0 : FAR;
    if ((s = edt(g, dims, sp)))
        goto done;
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (eb[i]) {
            db[k] = sqrt(g[i]);
            sum += db[k++];
        }
    *assd = sum / (double)(na + nb);
    double ha = q95(da, na), hb = q95(db, nb);
    *hd95 = ha > hb ? ha : hb;
done:
    free(ea);
    free(eb);
    free(g);
    free(da);
    free(db);
    return s;
}

dolor_status dolor_seg_surface_distances(const uint8_t *a, const uint8_t *b, const int64_t dims[3], const double sp[3],
                                         double *hd95, double *assd)
{
    *hd95 = NAN;
    *assd = NAN;
    const int64_t nx = dims[0], ny = dims[1], nz = dims[2];
    /* bounding box of both masks: features outside it do not exist, and a
     * voxel on its border that is in a mask has its outer neighbour outside
     * that mask, so surfaces and distances are those of the full arrays */
    int64_t lo[3] = {nx, ny, nz}, hi[3] = {-1, -1, -1};
    int any_a = 0, any_b = 0;
    for (int64_t z = 0; z < nz; z++)
        for (int64_t y = 0; y < ny; y++) {
            const uint8_t *ra = a + (z * ny + y) * nx, *rb = b + (z * ny + y) * nx;
            for (int64_t x = 0; x < nx; x++) {
                if (!ra[x] && !rb[x])
                    continue;
                any_a |= ra[x];
                any_b |= rb[x];
                if (x < lo[0])
                    lo[0] = x;
                if (x > hi[0])
                    hi[0] = x;
                if (y < lo[1])
                    lo[1] = y;
                if (y > hi[1])
                    hi[1] = y;
                if (z < lo[2])
                    lo[2] = z;
                if (z > hi[2])
                    hi[2] = z;
            }
        }
    if (!any_a || !any_b)
        return DOLOR_OK;
    const int64_t cd[3] = {hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1};
    size_t cn = (size_t)(cd[0] * cd[1] * cd[2]);
    uint8_t *ca = malloc(cn), *cb = malloc(cn);
    if (!ca || !cb) {
        free(ca);
        free(cb);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    size_t k = 0;
    for (int64_t z = lo[2]; z <= hi[2]; z++)
        for (int64_t y = lo[1]; y <= hi[1]; y++) {
            size_t off = (size_t)((z * ny + y) * nx + lo[0]);
            memcpy(ca + k, a + off, (size_t)cd[0]);
            memcpy(cb + k, b + off, (size_t)cd[0]);
            k += (size_t)cd[0];
        }
    /* a 2D neighbourhood stays 2D: edges() looks at z only when nz > 1, so a
     * 3D volume cropped to one slice must keep its z faces */
    dolor_status s;
    if (nz > 1 && cd[2] == 1) {
        /* pad one empty slice on each side so z faces count as surface */
        const int64_t pd[3] = {cd[0], cd[1], 3};
        size_t pn = cn * 3;
        uint8_t *pa = calloc(pn, 1), *pb = calloc(pn, 1);
        if (!pa || !pb) {
            free(pa);
            free(pb);
            free(ca);
            free(cb);
            return dolor_error(DOLOR_ENOMEM, "out of memory");
        }
        memcpy(pa + cn, ca, cn);
        memcpy(pb + cn, cb, cn);
        s = distances_cropped(pa, pb, pd, sp, hd95, assd);
        free(pa);
        free(pb);
    } else {
        s = distances_cropped(ca, cb, cd, sp, hd95, assd);
    }
    free(ca);
    free(cb);
    return s;
}
