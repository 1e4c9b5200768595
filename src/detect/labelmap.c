/* Label maps to instances: connected components per class (8-connectivity), their boxes, masks and
 * outer contours: pixel edges (crack following) or pixel centres (Moore-neighbour tracing, stopping when
 * its state repeats). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dolor/detect.h"
#include "dolor/image.h"

/* clockwise on screen (y down), starting west: W, NW, N, NE, E, SE, S, SW */
static const int DX[8] = {-1, -1, 0, 1, 1, 1, 0, -1};
static const int DY[8] = {0, -1, -1, -1, 0, 1, 1, 1};

static int dir_of(int dx, int dy)
{
    for (int d = 0; d < 8; d++)
        if (DX[d] == dx && DY[d] == dy)
            return d;
    return 0;
}

/* outer contour of the component marked comp[] == id, from its first pixel in raster order (sx, sy),
 * whose west neighbour is outside the component; vertices at pixel centres. The walk stops when a state
 * (pixel, backtrack direction) comes back: the walk is deterministic, so from there it would repeat.
 * Jacob's criterion as often stated (back on the start pixel with the initial west backtrack) can miss:
 * the start may be re-entered with another backtrack (from the south-east, backtrack south) and then
 * move on exactly as the first time, looping for ever (seen on a SPIDER vertebra). seen[] (N bytes, one
 * bit per direction) records the states. */
static dolor_status trace(const int32_t *comp, int32_t id, int h, int w, int sx, int sy, uint8_t *seen,
                          double **poly, int *np)
{
    size_t cap = 64, n = 0;
    double *p = malloc(cap * 2 * sizeof *p);
    if (!p)
        return dolor_error(DOLOR_ENOMEM, "dolor_det_from_labelmap: out of memory");
    int px = sx, py = sy, bx = sx - 1, by = sy; /* current pixel and its backtrack (background) neighbour */
    p[0] = sx + 0.5;
    p[1] = sy + 0.5;
    n = 1;
    size_t nvis = 0;
    size_t *visited = NULL, vcap = 0; /* pixels whose seen[] bits were set, to clear them afterwards */
    dolor_status st = DOLOR_OK;
    for (;;) {
        int bd = dir_of(bx - px, by - py), found = -1;
        for (int k = 1; k <= 8; k++) {
            int d = (bd + k) % 8, qx = px + DX[d], qy = py + DY[d];
            if (qx >= 0 && qy >= 0 && qx < w && qy < h && comp[(size_t)qy * w + qx] == id) {
                found = d;
                break;
            }
        }
        if (found < 0)
            break; /* a single pixel */
        int prev = (found + 7) % 8;
        int nbx = px + DX[prev], nby = py + DY[prev];
        px += DX[found];
        py += DY[found];
        bx = nbx;
        by = nby;
        size_t e = (size_t)py * w + px;
        uint8_t bit = (uint8_t)(1u << dir_of(bx - px, by - py));
        if (seen[e] & bit)
            break;
        if (!seen[e]) {
            if (nvis == vcap) {
                vcap = vcap ? 2 * vcap : 64;
                size_t *t = realloc(visited, vcap * sizeof *t);
                if (!t) {
                    st = dolor_error(DOLOR_ENOMEM, "dolor_det_from_labelmap: out of memory");
                    break;
                }
                visited = t;
            }
            visited[nvis++] = e;
        }
        seen[e] |= bit;
        if (n == cap) {
            cap *= 2;
            double *q = realloc(p, cap * 2 * sizeof *q);
            if (!q) {
                st = dolor_error(DOLOR_ENOMEM, "dolor_det_from_labelmap: out of memory");
                break;
            }
            p = q;
        }
        p[2 * n] = px + 0.5;
        p[2 * n + 1] = py + 0.5;
        n++;
    }
    for (size_t i = 0; i < nvis; i++)
        seen[visited[i]] = 0;
    free(visited);
    if (st != DOLOR_OK) {
        free(p);
        return st;
    }
    /* the walk comes back to the start before repeating its first move: drop that repeated start */
    if (n > 1 && p[2 * (n - 1)] == p[0] && p[2 * (n - 1) + 1] == p[1])
        n--;
    *poly = p;
    *np = (int)n;
    return DOLOR_OK;
}

/* pixel-edge boundary (crack following) of the component comp[] == id from the top-left corner of its
 * first pixel (sx, sy), heading east with the component on the right (below); at each lattice vertex,
 * with the pixels ahead-left AL and ahead-right AR: AL inside -> turn left (also across a diagonal, the
 * 8-connection), else AR inside -> straight, else turn right. Vertices where the direction changes. */
static int in_comp(const int32_t *comp, int32_t id, int h, int w, int x, int y)
{
    return x >= 0 && y >= 0 && x < w && y < h && comp[(size_t)y * w + x] == id;
}

static dolor_status trace_edges(const int32_t *comp, int32_t id, int h, int w, int sx, int sy, double **poly,
                                int *np)
{
    static const int VX[4] = {1, 0, -1, 0}, VY[4] = {0, 1, 0, -1}; /* E, S, W, N: clockwise on screen */
    size_t cap = 64, n = 0;
    double *p = malloc(cap * 2 * sizeof *p);
    if (!p)
        return dolor_error(DOLOR_ENOMEM, "dolor_det_from_labelmap: out of memory");
    int vx = sx, vy = sy, d = 0;
    p[n * 2] = vx;
    p[n * 2 + 1] = vy;
    n++;
    vx++;
    size_t limit = 4 * ((size_t)h * w + (size_t)h + (size_t)w) + 8;
    for (size_t step = 0; step < limit; step++) {
        int dx = VX[d], dy = VY[d];
        /* quadrant offsets: ahead-left (d + left normal), ahead-right (d + right normal), right normal (-dy, dx) */
        int alx = dx + dy, aly = dy - dx, arx = dx - dy, ary = dy + dx;
        int al = in_comp(comp, id, h, w, vx + (alx < 0 ? -1 : 0), vy + (aly < 0 ? -1 : 0));
        int ar = in_comp(comp, id, h, w, vx + (arx < 0 ? -1 : 0), vy + (ary < 0 ? -1 : 0));
        int nd = al ? (d + 3) % 4 : (ar ? d : (d + 1) % 4);
        if (vx == sx && vy == sy && nd == 0)
            break;
        if (nd != d) {
            if (n == cap) {
                cap *= 2;
                double *q = realloc(p, cap * 2 * sizeof *q);
                if (!q) {
                    free(p);
                    return dolor_error(DOLOR_ENOMEM, "dolor_det_from_labelmap: out of memory");
                }
                p = q;
            }
            p[n * 2] = vx;
            p[n * 2 + 1] = vy;
            n++;
        }
        d = nd;
        vx += VX[d];
        vy += VY[d];
    }
    *poly = p;
    *np = (int)n;
    return DOLOR_OK;
}

void dolor_det_polys_free(double **polys, int *npts, size_t n)
{
    if (polys)
        for (size_t i = 0; i < n; i++)
            free(polys[i]);
    free(polys);
    free(npts);
}

dolor_status dolor_det_from_labelmap(const int32_t *labels, int h, int w, int ncls, int min_pixels,
                                     dolor_det_contour contour, dolor_det_list *out, double ***polys,
                                     int **npts)
{
    if (contour != DOLOR_DET_CONTOUR_EDGES && contour != DOLOR_DET_CONTOUR_CENTRES)
        return dolor_error(DOLOR_EINVAL, "dolor_det_from_labelmap: unknown contour kind %d", (int)contour);
    if (!labels || !out || h < 1 || w < 1 || ncls < 1)
        return dolor_error(DOLOR_EINVAL, "dolor_det_from_labelmap: NULL argument or size %dx%d, ncls %d", w, h, ncls);
    const size_t N = (size_t)h * (size_t)w;
    for (size_t e = 0; e < N; e++)
        if (labels[e] < 0 || labels[e] > ncls)
            return dolor_error(DOLOR_EINVAL, "label map pixel (x %zu, y %zu): label %d outside 0..%d", e % (size_t)w,
                               e / (size_t)w, (int)labels[e], ncls);
    dolor_det_list_free(out);
    dolor_det_list_init(out, h, w, 0);
    if (polys)
        *polys = NULL;
    if (npts)
        *npts = NULL;
    int32_t *comp = calloc(N, sizeof *comp);
    size_t *stack = malloc(N * sizeof *stack);
    uint8_t *mask = malloc(N), *seen = polys && contour == DOLOR_DET_CONTOUR_CENTRES ? calloc(N, 1) : NULL;
    double **pl = NULL;
    int *pn = NULL;
    size_t pcap = 0, npl = 0;
    dolor_status st = DOLOR_OK;
    if (!comp || !stack || !mask || (polys && contour == DOLOR_DET_CONTOUR_CENTRES && !seen)) {
        st = dolor_error(DOLOR_ENOMEM, "dolor_det_from_labelmap: out of memory");
        goto done;
    }
    int32_t id = 0;
    for (size_t e0 = 0; e0 < N; e0++) {
        if (!labels[e0] || comp[e0])
            continue;
        int32_t lab = labels[e0];
        id++;
        size_t top = 0, count = 0;
        int x0 = w, y0 = h, x1 = -1, y1 = -1;
        stack[top++] = e0;
        comp[e0] = id;
        while (top) {
            size_t e = stack[--top];
            int x = (int)(e % (size_t)w), y = (int)(e / (size_t)w);
            count++;
            x0 = x < x0 ? x : x0;
            x1 = x > x1 ? x : x1;
            y0 = y < y0 ? y : y0;
            y1 = y > y1 ? y : y1;
            for (int d = 0; d < 8; d++) {
                int qx = x + DX[d], qy = y + DY[d];
                if (qx < 0 || qy < 0 || qx >= w || qy >= h)
                    continue;
                size_t q = (size_t)qy * w + qx;
                if (labels[q] == lab && !comp[q]) {
                    comp[q] = id;
                    stack[top++] = q;
                }
            }
        }
        if ((long)count < (long)min_pixels)
            continue;
        for (size_t e = 0; e < N; e++)
            mask[e] = comp[e] == id;
        double box[4] = {x0, y0, x1 + 1, y1 + 1};
        st = dolor_det_list_add(out, lab - 1, 1.0, box, mask, NULL);
        if (st != DOLOR_OK)
            goto done;
        if (polys) {
            if (out->n > pcap) {
                pcap = pcap ? 2 * pcap : 16;
                double **a = realloc(pl, pcap * sizeof *a);
                int *b = a ? realloc(pn, pcap * sizeof *b) : NULL;
                if (a)
                    pl = a;
                if (b)
                    pn = b;
                if (!a || !b) {
                    st = dolor_error(DOLOR_ENOMEM, "dolor_det_from_labelmap: out of memory");
                    goto done;
                }
            }
            pl[npl] = NULL;
            pn[npl] = 0;
            npl++;
            int sx = (int)(e0 % (size_t)w), sy = (int)(e0 / (size_t)w);
            st = contour == DOLOR_DET_CONTOUR_EDGES ? trace_edges(comp, id, h, w, sx, sy, &pl[npl - 1], &pn[npl - 1])
                                                    : trace(comp, id, h, w, sx, sy, seen, &pl[npl - 1], &pn[npl - 1]);
            if (st != DOLOR_OK)
                goto done;
        }
    }
done:
    free(comp);
    free(stack);
    free(mask);
    free(seen);
    if (st != DOLOR_OK) {
        dolor_det_polys_free(pl, pn, npl);
        dolor_det_list_free(out);
    } else if (polys) {
        *polys = pl;
        *npts = pn;
    } else {
        free(pl);
        free(pn);
    }
    return st;
}

dolor_status dolor_det_from_label_image(const dolor_image *img, const char *name, int z, int ncls,
                                        int min_pixels, dolor_det_contour contour, dolor_det_list *out,
                                        double ***polys, int **npts)
{
    const char *nm = name ? name : "label image";
    if (!img || !out)
        return dolor_error(DOLOR_EINVAL, "%s: NULL image or output", nm);
    if (img->ncomp != 1)
        return dolor_error(DOLOR_EINVAL, "%s: %d components per voxel, a label map has 1", nm, img->ncomp);
    int64_t nx = img->size[0], ny = img->size[1], nz = img->ndim >= 3 ? img->size[2] : 1;
    if (z < 0 || z >= nz)
        return dolor_error(DOLOR_EINVAL, "%s: slice %d outside 0..%lld", nm, z, (long long)nz - 1);
    if (nx > 65535 || ny > 65535)
        return dolor_error(DOLOR_EINVAL, "%s: slice of %lldx%lld is too large", nm, (long long)nx, (long long)ny);
    size_t n = (size_t)nx * (size_t)ny, off = (size_t)z * n;
    int32_t *lab = malloc(n * sizeof *lab);
    if (!lab)
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", nm);
    for (size_t e = 0; e < n; e++) {
        double v = dolor_image_get(img, off + e);
        if (!(v >= 0 && v <= ncls && v == floor(v))) {
            free(lab);
            return dolor_error(DOLOR_EINVAL, "%s: voxel (x %zu, y %zu, z %d): label %g is not an integer in 0..%d", nm,
                               e % (size_t)nx, e / (size_t)nx, z, v, ncls);
        }
        lab[e] = (int32_t)v;
    }
    dolor_status st = dolor_det_from_labelmap(lab, (int)ny, (int)nx, ncls, min_pixels, contour, out, polys, npts);
    free(lab);
    if (st != DOLOR_OK)
        return dolor_error_prefix(st, "%s", nm);
    return DOLOR_OK;
}
