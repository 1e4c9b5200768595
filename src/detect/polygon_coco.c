/* Polygon rasterisation compatible with pycocotools (cocoapi common/maskApi.c, rleFrPoly), so that mask IoU on
 * COCO polygon annotations equals pycocotools'. Written from the algorithm, not copied: outline points on a 5x
 * grid, column-boundary crossings at pixel-centre columns become toggles, parity fill in column-major order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dolor/detect.h"

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

void dolor_det_polygon_fill_coco(const double *xy, int n, int h, int w, uint8_t *mask)
{
    if (!xy || n < 3 || h < 1 || w < 1 || !mask)
        return;
    const double S = 5.0;
    int *fx = malloc((size_t)(n + 1) * sizeof *fx), *fy = malloc((size_t)(n + 1) * sizeof *fy);
    if (!fx || !fy) {
        free(fx);
        free(fy);
        return;
    }
    for (int j = 0; j < n; j++) {
        fx[j] = (int)(S * xy[2 * j] + 0.5);
        fy[j] = (int)(S * xy[2 * j + 1] + 0.5);
    }
    fx[n] = fx[0];
    fy[n] = fy[0];
    size_t np = 0;
    for (int j = 0; j < n; j++) {
        int dx = abs(fx[j + 1] - fx[j]), dy = abs(fy[j + 1] - fy[j]);
        np += (size_t)(dx > dy ? dx : dy) + 1;
    }
    int *u = malloc(np * sizeof *u), *v = malloc(np * sizeof *v);
    long *tog = malloc((np + 1) * sizeof *tog);
    if (!u || !v || !tog)
        goto done;
    /* the outline, edge by edge, one point per step of the major axis, walked from the end with the smaller
     * major coordinate and stored in the edge's own direction */
    size_t m = 0;
    for (int j = 0; j < n; j++) {
        int xs = fx[j], xe = fx[j + 1], ys = fy[j], ye = fy[j + 1];
        int dx = abs(xe - xs), dy = abs(ye - ys);
        int major_x = dx >= dy;
        int flip = (major_x && xs > xe) || (!major_x && ys > ye);
        if (flip) {
            int t = xs;
            xs = xe;
            xe = t;
            t = ys;
            ys = ye;
            ye = t;
        }
        if (major_x) {
            double s = dx ? (double)(ye - ys) / dx : 0.0;
            for (int d = 0; d <= dx; d++) {
                int t = flip ? dx - d : d;
                u[m] = t + xs;
                v[m] = (int)(ys + s * t + 0.5);
                m++;
            }
        } else {
            double s = (double)(xe - xs) / dy;
            for (int d = 0; d <= dy; d++) {
                int t = flip ? dy - d : d;
                v[m] = t + ys;
                u[m] = (int)(xs + s * t + 0.5);
                m++;
            }
        }
    }
    /* crossings of the boundary between fine columns c and c + 1 where (c + 0.5) / 5 - 0.5 is a pixel column */
    size_t nt = 0;
    for (size_t j = 1; j < m; j++) {
        if (u[j] == u[j - 1])
            continue;
        double xd = (double)(u[j] < u[j - 1] ? u[j] : u[j] - 1);
        xd = (xd + 0.5) / S - 0.5;
        if (floor(xd) != xd || xd < 0 || xd > w - 1)
            continue;
        double yd = (double)(v[j] < v[j - 1] ? v[j] : v[j - 1]);
        yd = (yd + 0.5) / S - 0.5;
        yd = yd < 0 ? 0 : (yd > h ? h : yd);
        yd = ceil(yd);
        tog[nt++] = (long)xd * h + (long)yd;
    }
    qsort(tog, nt, sizeof *tog, cmp_long);
    /* a pixel (column-major index i) is inside when an odd number of toggles are <= i */
    size_t k = 0;
    int parity = 0;
    long N = (long)h * w;
    for (long i = 0; i < N; i++) {
        while (k < nt && tog[k] <= i) {
            parity ^= 1;
            k++;
        }
        if (parity)
            mask[(size_t)(i % h) * (size_t)w + (size_t)(i / h)] = 1;
    }
done:
    free(fx);
    free(fy);
    free(u);
    free(v);
    free(tog);
}
