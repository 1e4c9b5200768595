/* Grey-level co-occurrence matrices and scikit-image's six properties. */
#include "dolor/radiomics.h"
#include "radiomics_priv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const dolor_glcm_dir dirs13[13] = {
    {0, 0, 1}, {0, 1, 1}, {0, 1, 0}, {0, 1, -1}, {1, 0, 0}, {1, 0, 1}, {1, 0, -1},
    {1, 1, 0}, {1, -1, 0}, {1, 1, 1}, {1, 1, -1}, {1, -1, 1}, {1, -1, -1},
};

int dolor_glcm_directions(int ndim, dolor_glcm_dir *dirs)
{
    int n = ndim == 2 ? 4 : ndim == 3 ? 13 : 0;
    if (dirs)
        memcpy(dirs, dirs13, (size_t)n * sizeof *dirs);
    return n;
}

/* C-style round half away from zero (skimage/_texture.pyx) */
static int round_away(double v) { return v > 0.0 ? (int)(v + 0.5) : (int)(v - 0.5); }

void dolor_glcm_offset(dolor_glcm_dir dir, int distance, dolor_glcm_offset_rule rule, int off[3])
{
    int u[3] = {dir.dz, dir.dy, dir.dx};
    if (rule == DOLOR_GLCM_ROUNDED) {
        double len = sqrt((double)(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]));
        for (int a = 0; a < 3; a++)
            off[a] = u[a] == 0 ? 0 : round_away(distance * (double)u[a] / len);
    } else {
        for (int a = 0; a < 3; a++)
            off[a] = distance * u[a];
    }
}

static const char *const prop_names[DOLOR_GLCM_NPROPS] = {"contrast", "dissimilarity", "homogeneity",
                                                          "energy",   "correlation",   "ASM"};

const char *dolor_glcm_prop_name(dolor_glcm_prop p)
{
    return (unsigned)p < DOLOR_GLCM_NPROPS ? prop_names[p] : "unknown";
}

/* Range of start coordinates along one axis so that both v and v + o lie in [0, n). */
static int axis_range(int64_t n, int o, int64_t *lo, int64_t *hi)
{
    *lo = o < 0 ? -o : 0;
    *hi = o > 0 ? n - o : n;
    return *hi > *lo;
}

dolor_status rad_offset_fits(const int64_t size[3], const int off[3])
{
    if (!off[0] && !off[1] && !off[2])
        return dolor_error(DOLOR_EINVAL, "GLCM offset (0,0,0): the distance must be at least 1");
    const int64_t n[3] = {size[2], size[1], size[0]};
    for (int a = 0; a < 3; a++)
        if (abs(off[a]) >= n[a])
            return dolor_error(DOLOR_ESHAPE,
                               "region %lldx%lldx%lld (x,y,z) is smaller than the GLCM offset (dz,dy,dx) = (%d,%d,%d): "
                               "no voxel pair fits; use a shorter distance or a larger region",
                               (long long)size[0], (long long)size[1], (long long)size[2], off[0], off[1], off[2]);
    return DOLOR_OK;
}

/* Count pairs into C (B x B uint32, zeroed by the caller), non-symmetric. */
void rad_count_pairs(const uint16_t *q, const uint8_t *mask, const int64_t size[3], int B, const int off[3],
                     uint32_t *C)
{
    const int64_t nx = size[0], ny = size[1], nz = size[2];
    int64_t z0, z1, y0, y1, x0, x1;
    if (!axis_range(nz, off[0], &z0, &z1) || !axis_range(ny, off[1], &y0, &y1) || !axis_range(nx, off[2], &x0, &x1))
        return;
    const int64_t step = ((int64_t)off[0] * ny + off[1]) * nx + off[2];
    for (int64_t z = z0; z < z1; z++)
        for (int64_t y = y0; y < y1; y++) {
            const int64_t row = (z * ny + y) * nx;
            const uint16_t *a = q + row, *b = q + row + step;
            if (mask) {
                const uint8_t *ma = mask + row, *mb = mask + row + step;
                for (int64_t x = x0; x < x1; x++)
                    if (ma[x] && mb[x])
                        C[(size_t)a[x] * B + b[x]]++;
            } else {
                for (int64_t x = x0; x < x1; x++)
                    C[(size_t)a[x] * B + b[x]]++;
            }
        }
}

/* ---------------- integer counts for the feature set (features.c's fast path) ----------------
 * Pairs are counted in order (code a << 8 | b, or a * B + b) into one table; a symmetric matrix is then kept as its
 * upper triangle (i <= j) of C + C^T, the diagonal doubled, so it is coarsened and summed in half the cells.
 * Counting (min, max) codes straight into the triangle was slower (bench_glcm: the min/max costs more than the
 * transpose of one 256 x 256 table per offset). */

#if defined(__GNUC__)
#define RAD_INLINE static inline __attribute__((always_inline))
#else
#define RAD_INLINE static inline
#endif

/* One row of n pairs (a[x], b[x]) into the table T (row stride 256). Chunks of 8 pairs that all equal (v, v) (the
 * background of a reconstruction, a saturated or masked-to-zero region) add 8 to one cell, summed in a register
 * while the run lasts. One table, not one per x mod 4: with the runs taken out, a smaller table in cache beats
 * spreading the increments of one cell over several tables. */
RAD_INLINE void count_row8(const uint8_t *a, const uint8_t *b, int64_t n, uint32_t *T)
{
    unsigned rv = 0;
    uint32_t rn = 0;
    int64_t x = 0;
    for (; x + 8 <= n; x += 8) {
        uint64_t wa, wb;
        memcpy(&wa, a + x, 8);
        memcpy(&wb, b + x, 8);
        const unsigned v = a[x];
        const uint64_t pat = (uint64_t)v * 0x0101010101010101ull;
        if (!((wa ^ pat) | (wb ^ pat))) {
            if (v != rv) {
                T[rv * 257u] += rn;
                rv = v;
                rn = 0;
            }
            rn += 8;
            continue;
        }
        for (int k = 0; k < 8; k++)
            T[(unsigned)a[x + k] << 8 | b[x + k]]++;
    }
    T[rv * 257u] += rn;
    for (; x < n; x++)
        T[(unsigned)a[x] << 8 | b[x]]++;
}

void rad_count_codes8(const uint8_t *q, const uint8_t *mask, const int64_t size[3], const int off[3], uint32_t *T)
{
    const int64_t nx = size[0], ny = size[1], nz = size[2];
    int64_t z0, z1, y0, y1, x0, x1;
    if (!axis_range(nz, off[0], &z0, &z1) || !axis_range(ny, off[1], &y0, &y1) || !axis_range(nx, off[2], &x0, &x1))
        return;
    const int64_t step = ((int64_t)off[0] * ny + off[1]) * nx + off[2];
    for (int64_t z = z0; z < z1; z++)
        for (int64_t y = y0; y < y1; y++) {
            const int64_t row = (z * ny + y) * nx + x0;
            const uint8_t *a = q + row, *b = q + row + step;
            if (mask) {
                const uint8_t *ma = mask + row, *mb = mask + row + step;
                for (int64_t x = 0; x < x1 - x0; x++)
                    if (ma[x] && mb[x])
                        T[(unsigned)a[x] << 8 | b[x]]++;
            } else {
                count_row8(a, b, x1 - x0, T);
            }
        }
}

void rad_count_codes16(const uint16_t *q, const uint8_t *mask, const int64_t size[3], int B, const int off[3],
                       uint32_t *T)
{
    const int64_t nx = size[0], ny = size[1], nz = size[2];
    int64_t z0, z1, y0, y1, x0, x1;
    if (!axis_range(nz, off[0], &z0, &z1) || !axis_range(ny, off[1], &y0, &y1) || !axis_range(nx, off[2], &x0, &x1))
        return;
    const int64_t step = ((int64_t)off[0] * ny + off[1]) * nx + off[2];
    for (int64_t z = z0; z < z1; z++)
        for (int64_t y = y0; y < y1; y++) {
            const int64_t row = (z * ny + y) * nx;
            const uint16_t *a = q + row, *b = q + row + step;
            for (int64_t x = x0; x < x1; x++)
                if (!mask || (mask[row + x] && mask[row + step + x]))
                    T[(size_t)a[x] * B + b[x]]++;
        }
}

void rad_fold_codes(uint32_t *T, size_t rstride, int B, int sym, uint32_t *M)
{
    for (int a = 0; a < B; a++) {
        uint32_t *out = M + (size_t)a * B;
        const uint32_t *t = T + (size_t)a * rstride;
        if (!sym) {
            memcpy(out, t, (size_t)B * sizeof *out);
            continue;
        }
        /* column a of T: B cache lines, reused by the next 15 values of a */
        out[a] = 2 * t[a];
        for (int b = a + 1; b < B; b++)
            out[b] = t[b] + T[(size_t)b * rstride + a];
    }
    for (int a = 0; a < B; a++)
        memset(T + (size_t)a * rstride, 0, (size_t)B * sizeof *T);
}

void rad_coarsen(const uint32_t *Mp, int Lp, const int *map, int L, int sym, uint32_t *M)
{
    for (int i = 0; i < L; i++)
        memset(M + (size_t)i * L + (sym ? i : 0), 0, (size_t)(L - (sym ? i : 0)) * sizeof *M);
    for (int a = 0; a < Lp; a++) {
        const uint32_t *pr = Mp + (size_t)a * Lp;
        uint32_t *row = M + (size_t)map[a] * L;
        if (!sym) {
            for (int b = 0; b < Lp; b++)
                row[map[b]] += pr[b];
            continue;
        }
        /* map is non-decreasing, so a <= b gives map[a] <= map[b]: the upper triangle maps into the upper
         * triangle; an off-diagonal cell (a, b) that lands on the diagonal stands for (a, b) and (b, a) */
        const int ia = map[a];
        row[ia] += pr[a];
        for (int b = a + 1; b < Lp; b++)
            row[map[b]] += map[b] == ia ? 2 * pr[b] : pr[b];
    }
}

dolor_status rad_props_counts(const uint32_t *M, int L, int sym, uint64_t *w, double props[DOLOR_GLCM_NPROPS])
{
    /* w: D[k] pair counts at |i - j| = k, row sums, column sums (3 L) */
    uint64_t *D = w, *rs = w + L, *cs = w + 2 * (size_t)L;
    memset(w, 0, 3 * (size_t)L * sizeof *w);
    uint64_t sq = 0, sij = 0;
    for (int i = 0; i < L; i++) {
        const uint32_t *row = M + (size_t)i * L;
        uint64_t r = 0, rj = 0, q2 = 0;
        if (!sym)
            for (int j = 0; j < i; j++) {
                const uint64_t v = row[j];
                r += v;
                rj += v * (uint64_t)j;
                q2 += v * v;
                cs[j] += v;
                D[i - j] += v;
            }
        for (int j = i; j < L; j++) {
            const uint64_t v = row[j];
            r += v;
            rj += v * (uint64_t)j;
            q2 += v * v;
            cs[j] += v;
            D[j - i] += v;
        }
        rs[i] = r;
        if (sym) { /* (i, j) and (j, i) for j > i */
            const uint64_t d = row[i];
            sq += 2 * q2 - d * d;
            sij += (uint64_t)i * (2 * rj - d * (uint64_t)i);
        } else {
            sq += q2;
            sij += (uint64_t)i * rj;
        }
    }
    uint64_t N = 0, con = 0, dis = 0;
    double hom = 0;
    for (int k = 0; k < L; k++) {
        const uint64_t dk = sym && k ? 2 * D[k] : D[k];
        N += dk;
        con += dk * (uint64_t)k * (uint64_t)k;
        dis += dk * (uint64_t)k;
        hom += (double)dk / (1.0 + (double)k * k);
    }
    if (!N)
        return dolor_error(DOLOR_ENUMERIC, "GLCM: no voxel pair in the region (the mask leaves no pair at this offset)");
    uint64_t si = 0, sii = 0, sj = 0, sjj = 0;
    for (int i = 0; i < L; i++) {
        /* symmetric: the marginal of row i is its upper row plus its upper column, the diagonal once */
        const uint64_t mi = sym ? rs[i] + cs[i] - M[(size_t)i * L + i] : rs[i], mj = sym ? mi : cs[i];
        si += mi * (uint64_t)i;
        sii += mi * (uint64_t)i * (uint64_t)i;
        sj += mj * (uint64_t)i;
        sjj += mj * (uint64_t)i * (uint64_t)i;
    }
    /* N^2 cov and N^2 var exactly (integers below 2^120), so correlation loses nothing to cancellation */
    const __int128 n128 = (__int128)N;
    const __int128 cov = n128 * (__int128)sij - (__int128)si * (__int128)sj;
    const __int128 vi = n128 * (__int128)sii - (__int128)si * (__int128)si;
    const __int128 vj = n128 * (__int128)sjj - (__int128)sj * (__int128)sj;
    const double dn = (double)N;
    props[DOLOR_GLCM_CONTRAST] = (double)con / dn;
    props[DOLOR_GLCM_DISSIMILARITY] = (double)dis / dn;
    props[DOLOR_GLCM_HOMOGENEITY] = hom / dn;
    props[DOLOR_GLCM_ASM] = (double)sq / (dn * dn);
    props[DOLOR_GLCM_ENERGY] = sqrt(props[DOLOR_GLCM_ASM]);
    /* a constant region has var = 0 exactly; otherwise sd >= 1/N, far above scikit-image's 1e-15 threshold */
    props[DOLOR_GLCM_CORRELATION] = (vi == 0 || vj == 0) ? 1.0 : (double)cov / (sqrt((double)vi) * sqrt((double)vj));
    return DOLOR_OK;
}

dolor_status rad_check_levels(const uint16_t *q, const uint8_t *mask, size_t n, int levels)
{
    for (size_t i = 0; i < n; i++)
        if ((!mask || mask[i]) && q[i] >= levels)
            return dolor_error(DOLOR_EINVAL, "GLCM: voxel %zu has grey level %d but levels = %d (values must be 0..%d)", i,
                               q[i], levels, levels - 1);
    return DOLOR_OK;
}

dolor_status dolor_glcm_counts(const uint16_t *q, const uint8_t *mask, const int64_t size[3], int levels,
                               const int off[3], int symmetric, double *P)
{
    if (levels < DOLOR_GLCM_MIN_LEVELS || levels > 4096)
        return dolor_error(DOLOR_EINVAL, "GLCM levels = %d: dolor_glcm_counts takes 2..4096 (dense matrix)", levels);
    dolor_status s = rad_offset_fits(size, off);
    if (s)
        return s;
    size_t n = (size_t)(size[0] * size[1] * size[2]);
    if ((s = rad_check_levels(q, mask, n, levels)))
        return s;
    size_t LL = (size_t)levels * levels;
    uint32_t *C = calloc(LL, sizeof *C);
    if (!C)
        return dolor_error(DOLOR_ENOMEM, "GLCM: out of memory for %d levels", levels);
    rad_count_pairs(q, mask, size, levels, off, C);
    for (int i = 0; i < levels; i++)
        for (int j = 0; j < levels; j++)
            P[(size_t)i * levels + j] =
                (double)C[(size_t)i * levels + j] + (symmetric ? (double)C[(size_t)j * levels + i] : 0.0);
    free(C);
    return DOLOR_OK;
}

/* Properties from the non-zero entries (i, j, value) of a matrix; the same
 * sums as graycoprops, in row-major order of (i, j). */
static dolor_status props_entries(const rad_entry *e, size_t ne, double props[DOLOR_GLCM_NPROPS])
{
    double sum = 0;
    for (size_t k = 0; k < ne; k++)
        sum += e[k].v;
    if (!(sum > 0))
        return dolor_error(DOLOR_ENUMERIC, "GLCM: no voxel pair in the region (the mask leaves no pair at this offset)");
    double con = 0, dis = 0, hom = 0, asm_ = 0, mi = 0, mj = 0;
    for (size_t k = 0; k < ne; k++) {
        double p = e[k].v / sum, d = (double)e[k].i - (double)e[k].j;
        con += p * d * d;
        dis += p * fabs(d);
        hom += p / (1.0 + d * d);
        asm_ += p * p;
        mi += p * e[k].i;
        mj += p * e[k].j;
    }
    double vi = 0, vj = 0, cov = 0;
    for (size_t k = 0; k < ne; k++) {
        double p = e[k].v / sum, di = e[k].i - mi, dj = e[k].j - mj;
        vi += p * di * di;
        vj += p * dj * dj;
        cov += p * di * dj;
    }
    double si = sqrt(vi), sj = sqrt(vj);
    props[DOLOR_GLCM_CONTRAST] = con;
    props[DOLOR_GLCM_DISSIMILARITY] = dis;
    props[DOLOR_GLCM_HOMOGENEITY] = hom;
    props[DOLOR_GLCM_ASM] = asm_;
    props[DOLOR_GLCM_ENERGY] = sqrt(asm_);
    /* scikit-image: correlation := 1 when either sd < 1e-15 (constant region) */
    props[DOLOR_GLCM_CORRELATION] = (si < 1e-15 || sj < 1e-15) ? 1.0 : cov / (si * sj);
    return DOLOR_OK;
}

dolor_status rad_props_dense(const double *P, int L, double *scratch, double props[DOLOR_GLCM_NPROPS])
{
    /* scratch: rowsum [L], colsum [L], di [L], dj [L], hom weight by |i-j| [L] */
    double *rs = scratch, *cs = scratch + L, *di = scratch + 2 * L, *dj = scratch + 3 * L, *hw = scratch + 4 * L;
    memset(rs, 0, 2 * (size_t)L * sizeof *rs);
    for (int k = 0; k < L; k++)
        hw[k] = 1.0 / (1.0 + (double)k * k);
    double sum = 0;
    for (int i = 0; i < L; i++) {
        const double *row = P + (size_t)i * L;
        double r = 0;
        for (int j = 0; j < L; j++) {
            r += row[j];
            cs[j] += row[j];
        }
        rs[i] = r;
        sum += r;
    }
    if (!(sum > 0))
        return dolor_error(DOLOR_ENUMERIC, "GLCM: no voxel pair in the region (the mask leaves no pair at this offset)");
    const double inv = 1.0 / sum;
    double con = 0, dis = 0, hom = 0, asm_ = 0, mi = 0, mj = 0;
    for (int i = 0; i < L; i++) {
        mi += i * (rs[i] * inv);
        mj += i * (cs[i] * inv);
    }
    double vi = 0, vj = 0;
    for (int i = 0; i < L; i++) {
        di[i] = i - mi;
        dj[i] = i - mj;
        vi += rs[i] * inv * di[i] * di[i];
        vj += cs[i] * inv * dj[i] * dj[i];
    }
    double cov = 0;
    for (int i = 0; i < L; i++) {
        const double *row = P + (size_t)i * L;
        double c = 0, d1 = 0, h = 0, a2 = 0, cv = 0;
        for (int j = 0; j < L; j++) {
            double v = row[j];
            if (v == 0)
                continue;
            double pp = v * inv;
            int k = i > j ? i - j : j - i;
            c += pp * ((double)k * k);
            d1 += pp * k;
            h += pp * hw[k];
            a2 += pp * pp;
            cv += pp * dj[j];
        }
        con += c;
        dis += d1;
        hom += h;
        asm_ += a2;
        cov += di[i] * cv;
    }
    double si = sqrt(vi), sj = sqrt(vj);
    props[DOLOR_GLCM_CONTRAST] = con;
    props[DOLOR_GLCM_DISSIMILARITY] = dis;
    props[DOLOR_GLCM_HOMOGENEITY] = hom;
    props[DOLOR_GLCM_ASM] = asm_;
    props[DOLOR_GLCM_ENERGY] = sqrt(asm_);
    /* scikit-image: correlation := 1 when either sd < 1e-15 (constant region) */
    props[DOLOR_GLCM_CORRELATION] = (si < 1e-15 || sj < 1e-15) ? 1.0 : cov / (si * sj);
    return DOLOR_OK;
}

dolor_status dolor_glcm_props(const double *P, int levels, double props[DOLOR_GLCM_NPROPS])
{
    if (levels < DOLOR_GLCM_MIN_LEVELS || levels > DOLOR_GLCM_MAX_LEVELS)
        return dolor_error(DOLOR_EINVAL, "GLCM levels = %d: must be 2..65536", levels);
    double *work = malloc(5 * (size_t)levels * sizeof *work);
    if (!work)
        return dolor_error(DOLOR_ENOMEM, "GLCM: out of memory for %d levels", levels);
    dolor_status s = rad_props_dense(P, levels, work, props);
    free(work);
    return s;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

dolor_status dolor_glcm_props_region(const uint16_t *q, const uint8_t *mask, const int64_t size[3], int levels,
                                     const int off[3], int symmetric, double props[DOLOR_GLCM_NPROPS])
{
    if (levels < DOLOR_GLCM_MIN_LEVELS || levels > DOLOR_GLCM_MAX_LEVELS)
        return dolor_error(DOLOR_EINVAL, "GLCM levels = %d: must be 2..65536", levels);
    if (levels <= 4096) {
        double *P = malloc((size_t)levels * levels * sizeof *P);
        if (!P)
            return dolor_error(DOLOR_ENOMEM, "GLCM: out of memory for %d levels", levels);
        dolor_status s = dolor_glcm_counts(q, mask, size, levels, off, symmetric, P);
        if (!s)
            s = dolor_glcm_props(P, levels, props);
        free(P);
        return s;
    }
    /* sparse: codes i*L + j of every pair (and j*L + i when symmetric), sorted, run-length counted */
    dolor_status s = rad_offset_fits(size, off);
    if (s)
        return s;
    const int64_t nx = size[0], ny = size[1], nz = size[2];
    size_t n = (size_t)(nx * ny * nz);
    if ((s = rad_check_levels(q, mask, n, levels)))
        return s;
    int64_t lo[3], hi[3];
    const int64_t ext[3] = {nz, ny, nx};
    for (int a = 0; a < 3; a++)
        axis_range(ext[a], off[a], &lo[a], &hi[a]);
    size_t cap = (size_t)((hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2])) * (symmetric ? 2 : 1);
    uint64_t *codes = malloc((cap ? cap : 1) * sizeof *codes);
    if (!codes)
        return dolor_error(DOLOR_ENOMEM, "GLCM: out of memory for %zu voxel pairs", cap);
    const int64_t step = ((int64_t)off[0] * ny + off[1]) * nx + off[2];
    size_t nc = 0;
    for (int64_t z = lo[0]; z < hi[0]; z++)
        for (int64_t y = lo[1]; y < hi[1]; y++)
            for (int64_t x = lo[2]; x < hi[2]; x++) {
                int64_t v = (z * ny + y) * nx + x;
                if (mask && !(mask[v] && mask[v + step]))
                    continue;
                uint64_t a = q[v], b = q[v + step];
                codes[nc++] = a * (uint64_t)levels + b;
                if (symmetric)
                    codes[nc++] = b * (uint64_t)levels + a;
            }
    qsort(codes, nc, sizeof *codes, cmp_u64);
    rad_entry *e = malloc((nc ? nc : 1) * sizeof *e);
    if (!e) {
        free(codes);
        return dolor_error(DOLOR_ENOMEM, "GLCM: out of memory");
    }
    size_t ne = 0;
    for (size_t k = 0; k < nc;) {
        size_t r = k;
        while (r < nc && codes[r] == codes[k])
            r++;
        e[ne].i = (uint32_t)(codes[k] / (uint64_t)levels);
        e[ne].j = (uint32_t)(codes[k] % (uint64_t)levels);
        e[ne].v = (double)(r - k);
        ne++;
        k = r;
    }
    free(codes);
    s = props_entries(e, ne, props);
    free(e);
    return s;
}
