/* Feature sets: first order, Nakagami and GLCM over lists of levels, distances and directions. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/radiomics.h"
#include "radiomics_priv.h"

#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dolor_features_config_default(dolor_features_config *c)
{
    memset(c, 0, sizeof *c);
    c->glcm = 1;
    c->n_levels = 1;
    c->levels[0] = 32;
    c->n_distances = 1;
    c->distances[0] = 1;
    c->offset_rule = DOLOR_GLCM_CHEBYSHEV;
    c->per_direction = 1;
    c->direction_mean = 1;
    c->symmetric = 1;
    c->firstorder = 1;
    c->fo_bin_width = 25;
    c->nakagami = 1;
}

void dolor_features_config_study7020(dolor_features_config *c)
{
    static const int lv[9] = {8, 16, 24, 32, 48, 64, 96, 128, 256};
    dolor_features_config_default(c);
    c->n_levels = 9;
    memcpy(c->levels, lv, sizeof lv);
    c->range_set = 1;
    c->range_lo = 0;
    c->range_hi = 256;
    c->n_distances = 10;
    for (int d = 0; d < 10; d++)
        c->distances[d] = d + 1;
    c->direction_mean = 0;
    c->firstorder = 0;
    c->nakagami = 0;
}

void dolor_feature_set_free(dolor_feature_set *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n; i++)
        free(f->names[i]);
    free(f->names);
    free(f->values);
    free(f);
}

typedef struct {
    dolor_feature_set *f;
    int cap;
} builder;

static int add(builder *b, double v, const char *fmt, ...) DOLOR_PRINTF(3, 4);
static int add(builder *b, double v, const char *fmt, ...)
{
    if (b->f->n == b->cap) {
        int nc = b->cap ? b->cap * 2 : 256;
        char **nn = realloc(b->f->names, (size_t)nc * sizeof *nn);
        if (!nn)
            return -1;
        b->f->names = nn;
        double *nv = realloc(b->f->values, (size_t)nc * sizeof *nv);
        if (!nv)
            return -1;
        b->f->values = nv;
        b->cap = nc;
    }
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *s = strdup(buf);
    if (!s)
        return -1;
    b->f->names[b->f->n] = s;
    b->f->values[b->f->n] = v;
    b->f->n++;
    return 0;
}

static dolor_status check_config(const dolor_features_config *c, int is2d, dolor_glcm_dir *dirs, int *ndirs)
{
    if (!c->glcm)
        return DOLOR_OK;
    if (c->bin_width > 0) {
        if (!isfinite(c->bin_width))
            return dolor_error(DOLOR_EINVAL, "config: bin_width = %g must be a finite positive number", c->bin_width);
    } else {
        if (c->n_levels < 1 || c->n_levels > DOLOR_FEAT_MAX_LIST)
            return dolor_error(DOLOR_EINVAL, "config: levels: %d entries (need 1..%d)", c->n_levels, DOLOR_FEAT_MAX_LIST);
        for (int i = 0; i < c->n_levels; i++)
            if (c->levels[i] < DOLOR_GLCM_MIN_LEVELS || c->levels[i] > DOLOR_GLCM_MAX_LEVELS)
                return dolor_error(DOLOR_EINVAL, "config: levels[%d] = %d: grey-level counts must be 2..65536", i,
                                   c->levels[i]);
        if (c->range_set && !(c->range_hi > c->range_lo))
            return dolor_error(DOLOR_EINVAL, "config: range [%g, %g): hi must be greater than lo", c->range_lo,
                               c->range_hi);
    }
    if (c->n_distances < 1 || c->n_distances > DOLOR_FEAT_MAX_LIST)
        return dolor_error(DOLOR_EINVAL, "config: distances: %d entries (need 1..%d)", c->n_distances, DOLOR_FEAT_MAX_LIST);
    for (int i = 0; i < c->n_distances; i++)
        if (c->distances[i] < 1)
            return dolor_error(DOLOR_EINVAL, "config: distances[%d] = %d: a GLCM distance must be >= 1", i, c->distances[i]);
    if (!c->per_direction && !c->direction_mean)
        return dolor_error(DOLOR_EINVAL, "config: per_direction and direction_mean are both off: no GLCM column");
    if (c->n_dirs == 0) {
        *ndirs = dolor_glcm_directions(is2d ? 2 : 3, dirs);
    } else {
        if (c->n_dirs > 13)
            return dolor_error(DOLOR_EINVAL, "config: directions: %d entries (at most 13)", c->n_dirs);
        for (int i = 0; i < c->n_dirs; i++) {
            dolor_glcm_dir d = c->dirs[i];
            if (abs(d.dz) > 1 || abs(d.dy) > 1 || abs(d.dx) > 1 || (!d.dz && !d.dy && !d.dx))
                return dolor_error(DOLOR_EINVAL, "config: directions[%d] = (%d,%d,%d): components must be -1, 0 or 1, "
                                   "not all 0", i, d.dz, d.dy, d.dx);
            if (is2d && d.dz)
                return dolor_error(DOLOR_EINVAL, "config: directions[%d] = (%d,%d,%d) leaves the plane of a 2D region",
                                   i, d.dz, d.dy, d.dx);
            dirs[i] = d;
        }
        *ndirs = c->n_dirs;
    }
    return DOLOR_OK;
}

/* values per (levels, offset): the six properties, then the IBSI features when asked for */
static int rad_glcm_nvalues(const dolor_features_config *c)
{
    return DOLOR_GLCM_NPROPS + (c->glcm_ibsi ? DOLOR_GLCM_IBSI_N : 0);
}

static const char *glcm_value_name(int p)
{
    return p < DOLOR_GLCM_NPROPS ? dolor_glcm_prop_name(p) : dolor_glcm_ibsi_name(p - DOLOR_GLCM_NPROPS);
}

/* the GLCM part: props[((qi * nd + di) * ndir + k) * NP + p], NP = rad_glcm_nvalues(c) */
static dolor_status glcm_all(const double *x, const int64_t size[3], const uint8_t *mask,
                             const dolor_features_config *c, const dolor_glcm_dir *dirs, int ndir, int nq,
                             const dolor_quant *qz, double *props)
{
    const size_t n = (size_t)(size[0] * size[1] * size[2]);
    const int nd = c->n_distances, noff = nd * ndir, NP = rad_glcm_nvalues(c);
    int (*offs)[3] = malloc((size_t)noff * sizeof *offs);
    if (!offs)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    dolor_status s = DOLOR_OK;
    for (int di = 0; di < nd; di++)
        for (int k = 0; k < ndir; k++) {
            dolor_glcm_offset(dirs[k], c->distances[di], c->offset_rule, offs[di * ndir + k]);
            if ((s = rad_offset_fits(size, offs[di * ndir + k]))) {
                free(offs);
                return dolor_error_prefix(s, "distance %d, direction (%d,%d,%d)", c->distances[di], dirs[k].dz,
                                          dirs[k].dy, dirs[k].dx);
            }
        }
    /* region bounds, integer check */
    double mn = INFINITY, mx = -INFINITY;
    int integer = 1;
#pragma omp parallel for schedule(static) reduction(min : mn) reduction(max : mx) reduction(&& : integer)
    for (size_t i = 0; i < n; i++)
        if (!mask || mask[i]) {
            const double v = x[i];
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
            integer = integer && v == floor(v);
        }
    int levels[DOLOR_FEAT_MAX_LIST], maxL = 0;
    double lo_edge[DOLOR_FEAT_MAX_LIST];
    uint16_t *qbuf = NULL;
    for (int qi = 0; qi < nq; qi++) {
        if (qz[qi].mode == DOLOR_QUANT_BIN_WIDTH) {
            double w = qz[qi].bin_width, r = fmod(mn, w);
            if (r < 0)
                r += w;
            lo_edge[qi] = mn - r;
            double nl = floor((mx - lo_edge[qi]) / w) + 1;
            if (nl > DOLOR_GLCM_MAX_LEVELS) {
                free(offs);
                return dolor_error(DOLOR_EINVAL, "bin_width = %g over %g..%g gives %.0f grey levels: at most 65536", w,
                                   mn, mx, nl);
            }
            levels[qi] = nl < 2 ? 2 : (int)nl;
        } else {
            lo_edge[qi] = 0;
            levels[qi] = qz[qi].levels;
        }
        if (levels[qi] > maxL)
            maxL = levels[qi];
    }
    const double span = mx - mn + 1;
    int fail_off = -1, fail_q = -1;
    /* The quantisations are non-decreasing functions of the value, so S(x) = sum_i q_i(x) is too, and S(x) = S(y)
     * implies q_i(x) = q_i(y) for every i: S - min S indexes the common refinement of all the bin partitions
     * (at most sum(L_i - 1) + 1 classes). Raw integer values index a refinement too. */
    int64_t bsum = 1;
    for (int qi = 0; qi < nq; qi++)
        bsum += levels[qi] - 1;
    const int raw = integer && span <= 1024;
    /* integer counts below 2^32: N = 2 pairs <= 2 n */
    if ((raw || bsum <= 1024) && maxL <= 4096 && n <= (size_t)INT32_MAX) {
        /* fast path: count once per offset on the refinement, sum into each level count's bins */
        int smin = 0, smax = 0;
        if (!raw) {
            smin = INT32_MAX;
            smax = 0;
            for (size_t i = 0; i < n; i++)
                if (!mask || mask[i]) {
                    int sm = 0;
                    for (int qi = 0; qi < nq; qi++) {
                        double lo = qz[qi].range_set ? qz[qi].lo : mn, hi = qz[qi].range_set ? qz[qi].hi : mx;
                        sm += rad_quant_value(x[i], &qz[qi], lo, hi, lo_edge[qi]);
                    }
                    smin = sm < smin ? sm : smin;
                    smax = sm > smax ? sm : smax;
                }
        }
        const int B = raw ? (int)span : smax - smin + 1;
        const int small = B <= 256;
        uint16_t *q0 = small ? NULL : malloc(n * sizeof *q0);
        uint8_t *q8 = small ? malloc(n) : NULL;
        int *map = malloc((size_t)nq * B * sizeof *map);
        /* plan: each level count is summed from the coarsest already-built matrix whose bins nest in its own
         * (parent -1 = the raw values); pmap[qi] maps the parent's levels to qi's */
        int *order = malloc((size_t)nq * sizeof *order), *parent = malloc((size_t)nq * sizeof *parent);
        int **pmap = calloc((size_t)nq, sizeof *pmap);
        size_t *poff = malloc((size_t)nq * sizeof *poff), ptot = 0;
        int oom = !(q0 || q8) || !map || !order || !parent || !pmap || !poff;
        if (!oom && !raw)
            memset(map, 0xff, (size_t)nq * B * sizeof *map); /* -1: no voxel in that class */
        if (!oom && raw) {
#pragma omp parallel for schedule(static)
            for (size_t i = 0; i < n; i++) {
                const int v = !mask || mask[i] ? (int)(x[i] - mn) : 0;
                if (small)
                    q8[i] = (uint8_t)v;
                else
                    q0[i] = (uint16_t)v;
            }
        }
        for (size_t i = 0; !oom && !raw && i < n; i++) {
            int v = 0;
            if (!mask || mask[i]) {
                int qv[DOLOR_FEAT_MAX_LIST], sm = 0;
                for (int qi = 0; qi < nq; qi++) {
                    double lo = qz[qi].range_set ? qz[qi].lo : mn, hi = qz[qi].range_set ? qz[qi].hi : mx;
                    sm += qv[qi] = rad_quant_value(x[i], &qz[qi], lo, hi, lo_edge[qi]);
                }
                v = sm - smin;
                for (int qi = 0; qi < nq; qi++)
                    map[qi * B + v] = qv[qi];
            }
            if (small)
                q8[i] = (uint8_t)v;
            else
                q0[i] = (uint16_t)v;
        }
        for (int qi = 0; !oom && qi < nq; qi++) {
            double lo = qz[qi].range_set ? qz[qi].lo : mn, hi = qz[qi].range_set ? qz[qi].hi : mx;
            for (int v = 0; raw && v < B; v++)
                map[qi * B + v] = rad_quant_value(mn + v, &qz[qi], lo, hi, lo_edge[qi]);
            /* an empty class takes its lower neighbour's level, so that every map is non-decreasing (class 0,
             * the minimum, is never empty) */
            for (int v = 1; !raw && v < B; v++)
                if (map[qi * B + v] < 0)
                    map[qi * B + v] = map[qi * B + v - 1];
            order[qi] = qi;
            poff[qi] = ptot;
            ptot += (size_t)levels[qi] * levels[qi];
        }
        for (int a = 0; !oom && a < nq; a++) /* largest level count first */
            for (int b = a + 1; b < nq; b++)
                if (levels[order[b]] > levels[order[a]]) {
                    int t = order[a];
                    order[a] = order[b];
                    order[b] = t;
                }
        for (int oi = 0; !oom && oi < nq; oi++) {
            int qi = order[oi], best = -1, bestL = B;
            int *f = malloc((size_t)(levels[qi] > B ? levels[qi] : B) * sizeof *f);
            if (!f) {
                oom = 1;
                break;
            }
            for (int pj = 0; pj < oi; pj++) {
                int cand = order[pj], Lc = levels[cand], ok = 1;
                if (Lc >= bestL)
                    continue;
                for (int k = 0; k < Lc; k++)
                    f[k] = -1;
                for (int v = 0; v < B && ok; v++) {
                    int pc = map[cand * B + v], t = map[qi * B + v];
                    if (f[pc] < 0)
                        f[pc] = t;
                    else if (f[pc] != t)
                        ok = 0;
                }
                if (ok) {
                    best = cand;
                    bestL = Lc;
                }
            }
            parent[qi] = best;
            int Lp = best < 0 ? B : levels[best];
            pmap[qi] = malloc((size_t)Lp * sizeof **pmap);
            if (!pmap[qi]) {
                free(f);
                oom = 1;
                break;
            }
            if (best < 0) {
                memcpy(pmap[qi], map + qi * B, (size_t)B * sizeof *f);
            } else {
                for (int k = 0; k < Lp; k++)
                    pmap[qi][k] = -1;
                for (int v = 0; v < B; v++)
                    pmap[qi][map[best * B + v]] = map[qi * B + v];
                for (int k = 0, prev = 0; k < Lp; k++) /* unused parent levels: non-decreasing fill */
                    prev = pmap[qi][k] = pmap[qi][k] < 0 ? prev : pmap[qi][k];
            }
            free(f);
        }
        if (!oom) {
            const int sym = c->symmetric != 0;
#pragma omp parallel
            {
                uint32_t *T = calloc(small ? 65536 : (size_t)B * B, sizeof *T);
                uint32_t *Mb = malloc((size_t)B * B * sizeof *Mb), *Mall = malloc((ptot ? ptot : 1) * sizeof *Mall);
                uint64_t *scratch = malloc(3 * (size_t)maxL * sizeof *scratch);
                double *Pd = c->glcm_ibsi ? malloc((size_t)maxL * maxL * sizeof *Pd) : NULL;
                if (!T || !Mb || !Mall || !scratch || (c->glcm_ibsi && !Pd)) {
#pragma omp atomic write
                    oom = 1;
                }
#pragma omp for schedule(dynamic, 1)
                for (int o = 0; o < noff; o++) {
                    if (oom)
                        continue;
                    if (small)
                        rad_count_codes8(q8, mask, size, offs[o], T);
                    else
                        rad_count_codes16(q0, mask, size, B, offs[o], T);
                    rad_fold_codes(T, small ? 256 : (size_t)B, B, sym, Mb);
                    for (int oi = 0; oi < nq; oi++) {
                        const int qi = order[oi], L = levels[qi];
                        const int Lp = parent[qi] < 0 ? B : levels[parent[qi]];
                        const uint32_t *Mp = parent[qi] < 0 ? Mb : Mall + poff[parent[qi]];
                        uint32_t *M = Mall + poff[qi];
                        rad_coarsen(Mp, Lp, pmap[qi], L, sym, M);
                        double *out = props + ((size_t)qi * noff + o) * NP;
                        int bad = rad_props_counts(M, L, sym, scratch, out) != DOLOR_OK;
                        if (!bad && c->glcm_ibsi) {
                            for (int i = 0; i < L; i++)
                                for (int j = 0; j < L; j++)
                                    Pd[(size_t)i * L + j] = !sym || j >= i ? M[(size_t)i * L + j] : M[(size_t)j * L + i];
                            bad = dolor_glcm_ibsi_features(Pd, L, out + DOLOR_GLCM_NPROPS) != DOLOR_OK;
                        }
                        if (bad) {
#pragma omp critical(rad_fail)
                            if (fail_off < 0) {
                                fail_off = o;
                                fail_q = qi;
                            }
                        }
                    }
                }
                free(T);
                free(Pd);
                free(Mb);
                free(Mall);
                free(scratch);
            }
        }
        free(q0);
        free(q8);
        free(map);
        free(order);
        free(parent);
        for (int qi = 0; pmap && qi < nq; qi++)
            free(pmap[qi]);
        free(pmap);
        free(poff);
        if (oom)
            s = dolor_error(DOLOR_ENOMEM, "GLCM: out of memory for %d levels", maxL);
    } else {
        /* general path: quantise per level count, then one pass per (quantisation, offset) */
        qbuf = malloc(n * (size_t)nq * sizeof *qbuf);
        if (!qbuf) {
            free(offs);
            return dolor_error(DOLOR_ENOMEM, "out of memory for %zu voxels x %d quantisations", n, nq);
        }
        for (int qi = 0; qi < nq && !s; qi++) {
            s = dolor_quantise(x, mask, n, &qz[qi], qbuf + (size_t)qi * n, &levels[qi]);
            if (!s && c->glcm_ibsi && levels[qi] > 4096)
                s = dolor_error(DOLOR_EINVAL, "glcm_ibsi: %d grey levels; the IBSI GLCM features take at most 4096",
                                levels[qi]);
        }
        if (!s) {
#pragma omp parallel for schedule(dynamic, 1) collapse(2)
            for (int qi = 0; qi < nq; qi++)
                for (int o = 0; o < noff; o++) {
                    double *pr = props + ((size_t)qi * noff + o) * NP;
                    const uint16_t *qq = qbuf + (size_t)qi * n;
                    int bad = dolor_glcm_props_region(qq, mask, size, levels[qi], offs[o], c->symmetric, pr) != DOLOR_OK;
                    if (!bad && c->glcm_ibsi) {
                        const int L = levels[qi];
                        double *P = malloc((size_t)L * L * sizeof *P);
                        bad = !P || dolor_glcm_counts(qq, mask, size, L, offs[o], c->symmetric, P) ||
                              dolor_glcm_ibsi_features(P, L, pr + DOLOR_GLCM_NPROPS);
                        free(P);
                    }
                    if (bad) {
#pragma omp critical(rad_fail)
                        if (fail_off < 0) {
                            fail_off = o;
                            fail_q = qi;
                        }
                    }
                }
        }
        free(qbuf);
    }
    if (!s && fail_off >= 0) {
        const int *o = offs[fail_off];
        s = dolor_error(DOLOR_ESHAPE,
                        "GLCM levels %d, offset (dz,dy,dx) = (%d,%d,%d): the mask leaves no voxel pair at this "
                        "offset (region too thin for the distance) or the matrix could not be built",
                        levels[fail_q], o[0], o[1], o[2]);
    }
    free(offs);
    return s;
}

dolor_status dolor_features_compute(const double *x, const int64_t size[3], const uint8_t *mask,
                                    const dolor_features_config *c, dolor_feature_set **out)
{
    const int is2d = size[2] == 1;
    dolor_glcm_dir dirs[13];
    int ndir = 0;
    dolor_status s = check_config(c, is2d, dirs, &ndir);
    if (s)
        return s;
    const size_t n = (size_t)(size[0] * size[1] * size[2]);
    size_t cnt = 0, bad = n;
#pragma omp parallel for schedule(static) reduction(+ : cnt) reduction(min : bad)
    for (size_t i = 0; i < n; i++)
        if (!mask || mask[i]) {
            if (!isfinite(x[i]) && i < bad)
                bad = i; /* the first one, whatever the thread count */
            cnt++;
        }
    if (bad < n)
        return dolor_error(DOLOR_ENUMERIC, "voxel %zu (x=%zu, y=%zu, z=%zu) is %g: features need finite values", bad,
                           bad % (size_t)size[0], (bad / (size_t)size[0]) % (size_t)size[1],
                           bad / (size_t)(size[0] * size[1]), x[bad]);
    if (!cnt)
        return dolor_error(DOLOR_EINVAL, "the mask is empty (no voxel inside the region)");
    builder b = {calloc(1, sizeof *b.f), 0};
    if (!b.f)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    int oom = 0;
    if (c->firstorder) {
        dolor_quant qz = {.mode = DOLOR_QUANT_BIN_WIDTH, .bin_width = c->fo_bin_width > 0 ? c->fo_bin_width : 25};
        uint16_t *q = malloc(n * sizeof *q);
        double fo[DOLOR_FO_N];
        int L = 0;
        if (!q)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
        if (!s)
            s = dolor_quantise(x, mask, n, &qz, q, &L);
        if (!s)
            s = dolor_firstorder(x, mask, n, q, L, fo);
        free(q);
        for (int k = 0; !s && k < DOLOR_FO_N; k++)
            oom |= add(&b, fo[k], "firstorder_%s", dolor_fo_name(k));
    }
    if (!s && c->nakagami) {
        dolor_nakagami nk;
        s = dolor_nakagami_fit(x, mask, n, &nk);
        if (!s) {
            oom |= add(&b, nk.m_ml, "nakagami_m_ml");
            oom |= add(&b, nk.omega_ml, "nakagami_omega_ml");
            oom |= add(&b, nk.m_mom, "nakagami_m_moment");
            oom |= add(&b, nk.omega_mom, "nakagami_omega_moment");
        }
    }
    if (!s && c->glcm) {
        dolor_quant qz[DOLOR_FEAT_MAX_LIST];
        int nq = c->bin_width > 0 ? 1 : c->n_levels;
        for (int qi = 0; qi < nq; qi++) {
            qz[qi] = (dolor_quant){.mode = c->bin_width > 0 ? DOLOR_QUANT_BIN_WIDTH : DOLOR_QUANT_BIN_COUNT,
                                   .levels = c->bin_width > 0 ? 0 : c->levels[qi],
                                   .bin_width = c->bin_width,
                                   .range_set = c->range_set,
                                   .lo = c->range_lo,
                                   .hi = c->range_hi};
        }
        const int nd = c->n_distances;
        const int NP = rad_glcm_nvalues(c);
        double *props = malloc((size_t)nq * nd * ndir * NP * sizeof *props);
        if (!props)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
        if (!s)
            s = glcm_all(x, size, mask, c, dirs, ndir, nq, qz, props);
        for (int qi = 0; !s && qi < nq; qi++) {
            char qname[32];
            if (c->bin_width > 0)
                snprintf(qname, sizeof qname, "W%g", c->bin_width);
            else
                snprintf(qname, sizeof qname, "L%d", c->levels[qi]);
            for (int di = 0; di < nd; di++) {
                const double *pb = props + ((size_t)qi * nd + di) * ndir * NP;
                if (c->per_direction)
                    for (int k = 0; k < ndir; k++)
                        for (int p = 0; p < NP; p++)
                            oom |= add(&b, pb[k * NP + p], "glcm_%s_d%d_dir(%d,%d,%d)_%s", qname, c->distances[di],
                                       dirs[k].dz, dirs[k].dy, dirs[k].dx, glcm_value_name(p));
                if (c->direction_mean)
                    for (int p = 0; p < NP; p++) {
                        double m = 0;
                        for (int k = 0; k < ndir; k++)
                            m += pb[k * NP + p];
                        oom |= add(&b, m / ndir, "glcm_%s_d%d_mean_%s", qname, c->distances[di], glcm_value_name(p));
                    }
            }
        }
        free(props);
    }
    if (!s && oom)
        s = dolor_error(DOLOR_ENOMEM, "out of memory for feature names");
    if (s) {
        dolor_feature_set_free(b.f);
        return s;
    }
    *out = b.f;
    return DOLOR_OK;
}
