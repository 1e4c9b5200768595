/* Random forest classifier: bootstrap, random feature subsets per split, Gini, OOB, importances. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/ml.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define FEATURE_THRESHOLD 1e-7 /* scikit-learn's: values closer than this are not split apart */

typedef struct fnode {
    int feature; /* -1 = leaf */
    int left, right;
    double thr;
} fnode;

typedef struct ftree {
    int n_nodes, cap;
    fnode *nodes;
    double *value; /* [n_nodes * K] weighted class fractions */
    double *imp;   /* [p] impurity decrease, normalised to sum 1 (0s if the tree never split) */
} ftree;

struct dolor_forest {
    int p, K, T, bootstrap;
    ftree *trees;
    size_t n_train;
    uint8_t *inbag;      /* [T * n_train]: 1 if the row is in tree t's bootstrap sample */
    double *oob_proba;   /* [n_train * K] or NULL */
    double oob_error;
};

void dolor_forest_params_default(dolor_forest_params *prm)
{
    prm->n_trees = 100;
    prm->max_features = 0;
    prm->max_depth = 0;
    prm->min_samples_split = 2;
    prm->min_samples_leaf = 1;
    prm->bootstrap = 1;
    prm->seed = 1;
}

static void tree_free(ftree *t)
{
    free(t->nodes);
    free(t->value);
    free(t->imp);
}

void dolor_forest_free(dolor_forest *f)
{
    if (!f)
        return;
    for (int t = 0; f->trees && t < f->T; t++)
        tree_free(&f->trees[t]);
    free(f->trees);
    free(f->inbag);
    free(f->oob_proba);
    free(f);
}

int dolor_forest_n_features(const dolor_forest *f) { return f->p; }
int dolor_forest_n_classes(const dolor_forest *f) { return f->K; }
int dolor_forest_n_trees(const dolor_forest *f) { return f->T; }

static int tree_add_node(ftree *t, int K)
{
    if (t->n_nodes == t->cap) {
        int nc = t->cap ? t->cap * 2 : 64;
        fnode *nn = realloc(t->nodes, (size_t)nc * sizeof *nn);
        if (!nn)
            return -1;
        t->nodes = nn;
        double *nv = realloc(t->value, (size_t)nc * K * sizeof *nv);
        if (!nv)
            return -1;
        t->value = nv;
        t->cap = nc;
    }
    return t->n_nodes++;
}

typedef struct pair {
    double v;
    int row;
} pair;

static int cmp_pair(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->v < y->v)
        return -1;
    if (x->v > y->v)
        return 1;
    return (x->row > y->row) - (x->row < y->row);
}

typedef struct work {
    int *rows;    /* rows of the sample, partitioned in place by node */
    pair *pairs;  /* [n] */
    int *feat;    /* [p] feature order for sampling */
    double *cl, *cr, *cn;
    struct { int start, end, depth, node; } *stack;
} work;

static double gini(const double *c, int K, double W)
{
    double s = 0;
    for (int k = 0; k < K; k++)
        s += (c[k] / W) * (c[k] / W);
    return 1.0 - s;
}

/* Grow one tree on rows with weight w[row] > 0. Returns 0 or -1 (out of memory). */
static int grow_tree(const double *X, int p, const int *y, int K, const double *w, int nrows, work *wk,
                     const dolor_forest_params *prm, int max_features, dolor_rng *rng, ftree *t)
{
    t->imp = calloc((size_t)p, sizeof *t->imp);
    if (!t->imp)
        return -1;
    int root = tree_add_node(t, K);
    if (root < 0)
        return -1;
    int sp = 0;
    wk->stack[sp].start = 0;
    wk->stack[sp].end = nrows;
    wk->stack[sp].depth = 0;
    wk->stack[sp].node = root;
    sp++;
    double Wroot = 0;
    while (sp > 0) {
        sp--;
        const int s = wk->stack[sp].start, e = wk->stack[sp].end, depth = wk->stack[sp].depth, node = wk->stack[sp].node;
        double *cn = wk->cn, W = 0;
        memset(cn, 0, (size_t)K * sizeof *cn);
        for (int i = s; i < e; i++) {
            int r = wk->rows[i];
            cn[y[r]] += w[r];
            W += w[r];
        }
        if (node == root)
            Wroot = W;
        double *val = t->value + (size_t)node * K;
        for (int k = 0; k < K; k++)
            val[k] = cn[k] / W;
        t->nodes[node].feature = -1;
        t->nodes[node].left = t->nodes[node].right = -1;
        t->nodes[node].thr = 0;
        double gn = gini(cn, K, W);
        const int m = e - s;
        if (gn <= 0 || W < prm->min_samples_split || m < 2 * prm->min_samples_leaf ||
            (prm->max_depth > 0 && depth >= prm->max_depth))
            continue;
        /* draw features until max_features non-constant ones were tried (or all were) */
        for (int j = 0; j < p; j++)
            wk->feat[j] = j;
        int best_f = -1, visited = 0;
        double best_proxy = -INFINITY, best_thr = 0;
        for (int drawn = 0; drawn < p && visited < max_features; drawn++) {
            int pick = drawn + (int)dolor_rng_below(rng, (uint64_t)(p - drawn));
            int f = wk->feat[pick];
            wk->feat[pick] = wk->feat[drawn];
            wk->feat[drawn] = f;
            pair *pr = wk->pairs;
            for (int i = 0; i < m; i++) {
                int r = wk->rows[s + i];
                pr[i].v = X[(size_t)r * p + f];
                pr[i].row = r;
            }
            qsort(pr, (size_t)m, sizeof *pr, cmp_pair);
            if (pr[m - 1].v <= pr[0].v + FEATURE_THRESHOLD)
                continue; /* constant in this node: does not count */
            visited++;
            double *cl = wk->cl, *cr = wk->cr, WL = 0;
            memset(cl, 0, (size_t)K * sizeof *cl);
            for (int i = 0; i + 1 < m; i++) {
                int r = pr[i].row;
                cl[y[r]] += w[r];
                WL += w[r];
                if (pr[i + 1].v <= pr[i].v + FEATURE_THRESHOLD)
                    continue;
                if (i + 1 < prm->min_samples_leaf || m - i - 1 < prm->min_samples_leaf)
                    continue;
                double WR = W - WL, sl = 0, sr = 0;
                for (int k = 0; k < K; k++) {
                    cr[k] = cn[k] - cl[k];
                    sl += cl[k] * cl[k];
                    sr += cr[k] * cr[k];
                }
                double proxy = sl / WL + sr / WR;
                if (proxy > best_proxy) {
                    best_proxy = proxy;
                    best_f = f;
                    double thr = pr[i].v / 2.0 + pr[i + 1].v / 2.0;
                    if (thr >= pr[i + 1].v || !isfinite(thr))
                        thr = pr[i].v;
                    best_thr = thr;
                }
            }
        }
        if (best_f < 0)
            continue;
        /* partition rows[s..e) by X[., best_f] <= best_thr */
        int a = s, b = e - 1;
        while (a <= b) {
            if (X[(size_t)wk->rows[a] * p + best_f] <= best_thr)
                a++;
            else {
                int tmp = wk->rows[a];
                wk->rows[a] = wk->rows[b];
                wk->rows[b] = tmp;
                b--;
            }
        }
        const int mid = a;
        if (mid == s || mid == e)
            continue; /* cannot happen with a valid threshold; stay a leaf */
        double *cl = wk->cl, WL = 0;
        memset(cl, 0, (size_t)K * sizeof *cl);
        for (int i = s; i < mid; i++) {
            cl[y[wk->rows[i]]] += w[wk->rows[i]];
            WL += w[wk->rows[i]];
        }
        double *cr = wk->cr, WR = W - WL;
        for (int k = 0; k < K; k++)
            cr[k] = cn[k] - cl[k];
        t->imp[best_f] += W * gn - WL * gini(cl, K, WL) - WR * gini(cr, K, WR);
        int L = tree_add_node(t, K), R = L >= 0 ? tree_add_node(t, K) : -1;
        if (L < 0 || R < 0)
            return -1;
        t->nodes[node].feature = best_f;
        t->nodes[node].thr = best_thr;
        t->nodes[node].left = L;
        t->nodes[node].right = R;
        /* push right then left so the left subtree is built first (node order = depth-first) */
        wk->stack[sp].start = mid;
        wk->stack[sp].end = e;
        wk->stack[sp].depth = depth + 1;
        wk->stack[sp].node = R;
        sp++;
        wk->stack[sp].start = s;
        wk->stack[sp].end = mid;
        wk->stack[sp].depth = depth + 1;
        wk->stack[sp].node = L;
        sp++;
    }
    double tot = 0;
    for (int j = 0; j < p; j++)
        tot += (t->imp[j] /= Wroot);
    if (tot > 0)
        for (int j = 0; j < p; j++)
            t->imp[j] /= tot;
    return 0;
}

static const double *tree_leaf(const ftree *t, const double *x, int K)
{
    int nd = 0;
    while (t->nodes[nd].feature >= 0)
        nd = x[t->nodes[nd].feature] <= t->nodes[nd].thr ? t->nodes[nd].left : t->nodes[nd].right;
    return t->value + (size_t)nd * K;
}

static uint64_t mix_seed(uint64_t seed, uint64_t t)
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (t + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static dolor_status check_X(const double *X, size_t n, int p)
{
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < p; j++)
            if (!isfinite(X[i * (size_t)p + j]))
                return dolor_error(DOLOR_ENUMERIC, "row %zu, feature %d is %g: the forest needs finite values", i + 1,
                                   j + 1, X[i * (size_t)p + j]);
    return DOLOR_OK;
}

dolor_status dolor_forest_fit(const double *X, size_t n, int p, const int *y, int K, const dolor_forest_params *prm,
                              dolor_forest **out)
{
    if (n < 2 || n > (size_t)INT32_MAX / 2)
        return dolor_error(DOLOR_EINVAL, "forest: %zu rows (need 2 or more)", n);
    if (p < 1)
        return dolor_error(DOLOR_EINVAL, "forest: %d features (need 1 or more)", p);
    if (K < 2)
        return dolor_error(DOLOR_EINVAL, "forest: %d classes (need 2 or more)", K);
    if (prm->n_trees < 1)
        return dolor_error(DOLOR_EINVAL, "forest: n_trees = %d (need 1 or more)", prm->n_trees);
    if (prm->max_features < 0 || prm->max_features > p)
        return dolor_error(DOLOR_EINVAL, "forest: max_features = %d (need 0 for sqrt(p), or 1..%d)", prm->max_features, p);
    if (prm->min_samples_split < 2 || prm->min_samples_leaf < 1 || prm->max_depth < 0)
        return dolor_error(DOLOR_EINVAL, "forest: min_samples_split = %d (>= 2), min_samples_leaf = %d (>= 1), "
                           "max_depth = %d (>= 0)", prm->min_samples_split, prm->min_samples_leaf, prm->max_depth);
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= K)
            return dolor_error(DOLOR_EINVAL, "forest: row %zu has class %d (need 0..%d)", i + 1, y[i], K - 1);
    dolor_status s = check_X(X, n, p);
    if (s)
        return s;
    int max_features = prm->max_features ? prm->max_features : (int)floor(sqrt((double)p));
    if (max_features < 1)
        max_features = 1;
    dolor_forest *f = calloc(1, sizeof *f);
    if (!f)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    f->p = p;
    f->K = K;
    f->T = prm->n_trees;
    f->bootstrap = prm->bootstrap;
    f->n_train = n;
    f->trees = calloc((size_t)f->T, sizeof *f->trees);
    f->inbag = calloc((size_t)f->T * n, 1);
    if (!f->trees || !f->inbag) {
        dolor_forest_free(f);
        return dolor_error(DOLOR_ENOMEM, "out of memory for %d trees", prm->n_trees);
    }
    int oom = 0;
#pragma omp parallel
    {
        work wk = {0};
        double *w = malloc(n * sizeof *w);
        wk.rows = malloc(n * sizeof *wk.rows);
        wk.pairs = malloc(n * sizeof *wk.pairs);
        wk.feat = malloc((size_t)p * sizeof *wk.feat);
        wk.cl = malloc((size_t)K * 3 * sizeof *wk.cl);
        wk.stack = malloc((2 * n + 2) * sizeof *wk.stack);
        if (!w || !wk.rows || !wk.pairs || !wk.feat || !wk.cl || !wk.stack) {
#pragma omp atomic write
            oom = 1;
        } else {
            wk.cr = wk.cl + K;
            wk.cn = wk.cl + 2 * K;
        }
#pragma omp for schedule(dynamic, 1)
        for (int t = 0; t < f->T; t++) {
            if (oom)
                continue;
            dolor_rng rng;
            dolor_rng_seed(&rng, mix_seed(prm->seed, (uint64_t)t));
            if (prm->bootstrap) {
                memset(w, 0, n * sizeof *w);
                for (size_t i = 0; i < n; i++)
                    w[dolor_rng_below(&rng, n)] += 1;
            } else {
                for (size_t i = 0; i < n; i++)
                    w[i] = 1;
            }
            int nr = 0;
            for (size_t i = 0; i < n; i++)
                if (w[i] > 0) {
                    wk.rows[nr++] = (int)i;
                    f->inbag[(size_t)t * n + i] = 1;
                }
            if (grow_tree(X, p, y, K, w, nr, &wk, prm, max_features, &rng, &f->trees[t])) {
#pragma omp atomic write
                oom = 1;
            }
        }
        free(w);
        free(wk.rows);
        free(wk.pairs);
        free(wk.feat);
        free(wk.cl);
        free(wk.stack);
    }
    if (oom) {
        dolor_forest_free(f);
        return dolor_error(DOLOR_ENOMEM, "forest: out of memory while growing trees");
    }
    if (prm->bootstrap) {
        f->oob_proba = calloc(n * (size_t)K, sizeof *f->oob_proba);
        if (!f->oob_proba) {
            dolor_forest_free(f);
            return dolor_error(DOLOR_ENOMEM, "out of memory");
        }
        size_t wrong = 0, counted = 0;
#pragma omp parallel for reduction(+ : wrong, counted)
        for (size_t i = 0; i < n; i++) {
            double *pr = f->oob_proba + i * K;
            int c = 0;
            for (int t = 0; t < f->T; t++)
                if (!f->inbag[(size_t)t * n + i]) {
                    const double *v = tree_leaf(&f->trees[t], X + i * (size_t)p, K);
                    for (int k = 0; k < K; k++)
                        pr[k] += v[k];
                    c++;
                }
            if (!c) {
                for (int k = 0; k < K; k++)
                    pr[k] = NAN;
                continue;
            }
            int best = 0;
            for (int k = 0; k < K; k++) {
                pr[k] /= c;
                if (pr[k] > pr[best])
                    best = k;
            }
            counted++;
            wrong += best != y[i];
        }
        f->oob_error = counted ? (double)wrong / (double)counted : NAN;
    }
    *out = f;
    return DOLOR_OK;
}

dolor_status dolor_forest_predict_proba(const dolor_forest *f, const double *X, size_t n, int p, double *proba)
{
    if (p != f->p)
        return dolor_error(DOLOR_ESHAPE, "forest: the table has %d features but the forest was trained on %d", p, f->p);
    dolor_status s = check_X(X, n, p);
    if (s)
        return s;
    const int K = f->K;
    /* blocks of rows, tree by tree inside a block: a tree's nodes stay in cache for the whole block */
    const size_t B = 256, nb = (n + B - 1) / B;
#pragma omp parallel for schedule(static)
    for (size_t blk = 0; blk < nb; blk++) {
        const size_t i0 = blk * B, i1 = i0 + B < n ? i0 + B : n;
        for (size_t i = i0; i < i1; i++)
            for (int k = 0; k < K; k++)
                proba[i * K + k] = 0;
        for (int t = 0; t < f->T; t++)
            for (size_t i = i0; i < i1; i++) {
                const double *v = tree_leaf(&f->trees[t], X + i * (size_t)p, K);
                for (int k = 0; k < K; k++)
                    proba[i * K + k] += v[k];
            }
        for (size_t i = i0; i < i1; i++)
            for (int k = 0; k < K; k++)
                proba[i * K + k] /= f->T;
    }
    return DOLOR_OK;
}

dolor_status dolor_forest_oob(const dolor_forest *f, double *proba, double *error)
{
    if (!f->oob_proba)
        return dolor_error(DOLOR_EINVAL, "forest: no out-of-bag estimate without bootstrap samples");
    if (proba)
        memcpy(proba, f->oob_proba, f->n_train * (size_t)f->K * sizeof *proba);
    if (error)
        *error = f->oob_error;
    return DOLOR_OK;
}

void dolor_forest_importance_impurity(const dolor_forest *f, double *imp)
{
    double tot = 0;
    for (int j = 0; j < f->p; j++) {
        double s = 0;
        for (int t = 0; t < f->T; t++)
            s += f->trees[t].imp[j];
        imp[j] = s / f->T;
        tot += imp[j];
    }
    if (tot > 0)
        for (int j = 0; j < f->p; j++)
            imp[j] /= tot;
}

static int row_class(const dolor_forest *f, const double *x)
{
    double pr[64] = {0}, *pp = pr;
    double *heap = NULL;
    if (f->K > 64)
        pp = heap = calloc((size_t)f->K, sizeof *pp);
    if (!pp)
        return 0;
    for (int t = 0; t < f->T; t++) {
        const double *v = tree_leaf(&f->trees[t], x, f->K);
        for (int k = 0; k < f->K; k++)
            pp[k] += v[k];
    }
    int best = 0;
    for (int k = 1; k < f->K; k++)
        if (pp[k] > pp[best])
            best = k;
    free(heap);
    return best;
}

dolor_status dolor_forest_importance_permutation(const dolor_forest *f, const double *X, size_t n, int p,
                                                 const int *y, int n_repeats, uint64_t seed, double *mean,
                                                 double *sd)
{
    if (p != f->p)
        return dolor_error(DOLOR_ESHAPE, "forest: the table has %d features but the forest was trained on %d", p, f->p);
    if (n_repeats < 1)
        return dolor_error(DOLOR_EINVAL, "permutation importance: n_repeats = %d (need 1 or more)", n_repeats);
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= f->K)
            return dolor_error(DOLOR_EINVAL, "permutation importance: row %zu has class %d (need 0..%d)", i + 1, y[i],
                               f->K - 1);
    dolor_status s = check_X(X, n, p);
    if (s)
        return s;
    size_t base_ok = 0;
#pragma omp parallel for reduction(+ : base_ok)
    for (size_t i = 0; i < n; i++)
        base_ok += row_class(f, X + i * (size_t)p) == y[i];
    const double base = (double)base_ok / (double)n;
    int oom = 0;
#pragma omp parallel
    {
        double *row = malloc((size_t)p * sizeof *row);
        int *perm = malloc(n * sizeof *perm);
        if (!row || !perm) {
#pragma omp atomic write
            oom = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int j = 0; j < p; j++) {
            if (oom)
                continue;
            dolor_rng rng;
            dolor_rng_seed(&rng, mix_seed(seed, (uint64_t)j));
            double s1 = 0, s2 = 0;
            for (int r = 0; r < n_repeats; r++) {
                for (size_t i = 0; i < n; i++)
                    perm[i] = (int)i;
                dolor_rng_shuffle_int(&rng, perm, n);
                size_t okc = 0;
                for (size_t i = 0; i < n; i++) {
                    memcpy(row, X + i * (size_t)p, (size_t)p * sizeof *row);
                    row[j] = X[(size_t)perm[i] * p + j];
                    okc += row_class(f, row) == y[i];
                }
                double d = base - (double)okc / (double)n;
                s1 += d;
                s2 += d * d;
            }
            mean[j] = s1 / n_repeats;
            if (sd) {
                double v = s2 / n_repeats - mean[j] * mean[j];
                sd[j] = v > 0 ? sqrt(v) : 0;
            }
        }
        free(row);
        free(perm);
    }
    if (oom)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    return DOLOR_OK;
}

/* ---------------- save / load ---------------- */
dolor_status dolor_forest_save(const dolor_forest *f, const char *path, char *const *feature_names,
                               char *const *class_names)
{
    dolor_outfile of;
    dolor_status s = dolor_outfile_open(&of, path, 1);
    if (s)
        return s;
    FILE *fp = of.fp;
    fprintf(fp, "dolor-forest 1\nclasses %d\nfeatures %d\n", f->K, f->p);
    for (int j = 0; j < f->p; j++)
        fprintf(fp, "feature %s\n", feature_names && feature_names[j] ? feature_names[j] : "");
    for (int k = 0; k < f->K; k++)
        fprintf(fp, "class %s\n", class_names && class_names[k] ? class_names[k] : "");
    fprintf(fp, "trees %d\n", f->T);
    for (int t = 0; t < f->T; t++) {
        const ftree *tr = &f->trees[t];
        fprintf(fp, "tree %d\nimportance", tr->n_nodes);
        for (int j = 0; j < f->p; j++)
            fprintf(fp, " %.17g", tr->imp[j]);
        fputc('\n', fp);
        for (int i = 0; i < tr->n_nodes; i++) {
            const fnode *nd = &tr->nodes[i];
            fprintf(fp, "%d %.17g %d %d", nd->feature, nd->thr, nd->left, nd->right);
            for (int k = 0; k < f->K; k++)
                fprintf(fp, " %.17g", tr->value[(size_t)i * f->K + k]);
            fputc('\n', fp);
        }
    }
    if (ferror(fp)) {
        dolor_outfile_abort(&of);
        return dolor_error(DOLOR_EIO, "%s: write failed", path);
    }
    return dolor_outfile_commit(&of);
}

static char *get_line(FILE *fp, char **buf, size_t *cap, long *lineno)
{
    size_t len = 0;
    int c;
    while ((c = fgetc(fp)) != EOF && c != '\n') {
        if (len + 2 > *cap) {
            size_t nc = *cap ? *cap * 2 : 256;
            char *nb = realloc(*buf, nc);
            if (!nb)
                return NULL;
            *buf = nb;
            *cap = nc;
        }
        (*buf)[len++] = (char)c;
    }
    if (c == EOF && len == 0)
        return NULL;
    (*buf)[len] = 0;
    (*lineno)++;
    return *buf;
}

static char **names_alloc(int n)
{
    return calloc((size_t)n + 1, sizeof(char *));
}

static void names_free(char **v)
{
    for (char **p = v; v && *p; p++)
        free(*p);
    free(v);
}

dolor_status dolor_forest_load(const char *path, dolor_forest **out, char ***feature_names, char ***class_names)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return dolor_error(errno == ENOENT ? DOLOR_ENOTFOUND : DOLOR_EIO, "%s: cannot open forest (%s)", path,
                           strerror(errno));
    char *buf = NULL, **fn = NULL, **cn = NULL;
    size_t cap = 0;
    long ln = 0;
    dolor_status s = DOLOR_OK;
    dolor_forest *f = calloc(1, sizeof *f);
#define BAD(...)                                                                                                       \
    do {                                                                                                               \
        s = dolor_error(DOLOR_EFORMAT, __VA_ARGS__);                                                                  \
        goto done;                                                                                                     \
    } while (0)
    if (!f)
        BAD("out of memory");
    if (!get_line(fp, &buf, &cap, &ln) || strcmp(buf, "dolor-forest 1"))
        BAD("%s: line 1: not a dolor forest (expected 'dolor-forest 1')", path);
    if (!get_line(fp, &buf, &cap, &ln) || sscanf(buf, "classes %d", &f->K) != 1 || f->K < 2 || f->K > 1 << 20)
        BAD("%s: line %ld: expected 'classes K'", path, ln);
    if (!get_line(fp, &buf, &cap, &ln) || sscanf(buf, "features %d", &f->p) != 1 || f->p < 1 || f->p > 1 << 24)
        BAD("%s: line %ld: expected 'features P'", path, ln);
    fn = names_alloc(f->p);
    cn = names_alloc(f->K);
    if (!fn || !cn)
        BAD("out of memory");
    for (int j = 0; j < f->p; j++) {
        if (!get_line(fp, &buf, &cap, &ln) || strncmp(buf, "feature ", 8))
            BAD("%s: line %ld: expected 'feature NAME'", path, ln);
        fn[j] = strdup(buf + 8);
    }
    for (int k = 0; k < f->K; k++) {
        if (!get_line(fp, &buf, &cap, &ln) || strncmp(buf, "class ", 6))
            BAD("%s: line %ld: expected 'class NAME'", path, ln);
        cn[k] = strdup(buf + 6);
    }
    if (!get_line(fp, &buf, &cap, &ln) || sscanf(buf, "trees %d", &f->T) != 1 || f->T < 1 || f->T > 1 << 20)
        BAD("%s: line %ld: expected 'trees T'", path, ln);
    f->trees = calloc((size_t)f->T, sizeof *f->trees);
    if (!f->trees)
        BAD("out of memory");
    for (int t = 0; t < f->T; t++) {
        ftree *tr = &f->trees[t];
        int nn;
        if (!get_line(fp, &buf, &cap, &ln) || sscanf(buf, "tree %d", &nn) != 1 || nn < 1)
            BAD("%s: line %ld: expected 'tree N'", path, ln);
        tr->imp = calloc((size_t)f->p, sizeof *tr->imp);
        tr->nodes = malloc((size_t)nn * sizeof *tr->nodes);
        tr->value = malloc((size_t)nn * f->K * sizeof *tr->value);
        if (!tr->imp || !tr->nodes || !tr->value)
            BAD("out of memory");
        tr->n_nodes = tr->cap = nn;
        if (!get_line(fp, &buf, &cap, &ln) || strncmp(buf, "importance", 10))
            BAD("%s: line %ld: expected 'importance ...'", path, ln);
        char *p = buf + 10, *end;
        for (int j = 0; j < f->p; j++, p = end) {
            tr->imp[j] = strtod(p, &end);
            if (end == p)
                BAD("%s: line %ld: %d importances expected", path, ln, f->p);
        }
        for (int i = 0; i < nn; i++) {
            if (!get_line(fp, &buf, &cap, &ln))
                BAD("%s: line %ld: tree %d ends after %d of %d nodes", path, ln, t, i, nn);
            fnode *nd = &tr->nodes[i];
            p = buf;
            nd->feature = (int)strtol(p, &end, 10);
            if (end == p)
                BAD("%s: line %ld: bad node", path, ln);
            nd->thr = strtod(p = end, &end);
            nd->left = (int)strtol(p = end, &end, 10);
            nd->right = (int)strtol(p = end, &end, 10);
            for (int k = 0; k < f->K; k++) {
                tr->value[(size_t)i * f->K + k] = strtod(p = end, &end);
                if (end == p)
                    BAD("%s: line %ld: bad node (%d class values expected)", path, ln, f->K);
            }
            if (nd->feature >= f->p || (nd->feature >= 0 && (nd->left <= i || nd->right <= i || nd->left >= nn ||
                                                             nd->right >= nn)))
                BAD("%s: line %ld: node %d of tree %d points outside the tree", path, ln, i, t);
        }
    }
#undef BAD
done:
    fclose(fp);
    free(buf);
    if (s) {
        dolor_forest_free(f);
        names_free(fn);
        names_free(cn);
        return s;
    }
    if (feature_names)
        *feature_names = fn;
    else
        names_free(fn);
    if (class_names)
        *class_names = cn;
    else
        names_free(cn);
    *out = f;
    return DOLOR_OK;
}

/* ---------------- stratified group k-fold ---------------- */
typedef struct grp {
    long id;
    int cls, size;
    double key;
} grp;

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static int cmp_grp(const void *a, const void *b)
{
    const grp *x = a, *y = b;
    if (x->cls != y->cls)
        return x->cls - y->cls;
    if (x->size != y->size)
        return y->size - x->size;
    return (x->key > y->key) - (x->key < y->key);
}

dolor_status dolor_stratified_group_kfold(const int *y, const int *group, size_t n, int K, int k, uint64_t seed,
                                          int *fold)
{
    if (k < 2)
        return dolor_error(DOLOR_EINVAL, "k-fold: k = %d (need 2 or more)", k);
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= K)
            return dolor_error(DOLOR_EINVAL, "k-fold: row %zu has class %d (need 0..%d)", i + 1, y[i], K - 1);
    long *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        ids[i] = group ? group[i] : (long)i;
    qsort(ids, n, sizeof *ids, cmp_long);
    size_t G = 0;
    for (size_t i = 0; i < n; i++)
        if (!G || ids[G - 1] != ids[i])
            ids[G++] = ids[i];
    grp *g = calloc(G ? G : 1, sizeof *g);
    int *gof = malloc((n ? n : 1) * sizeof *gof), *cc = calloc(G * (size_t)K + 1, sizeof *cc);
    double *fc = calloc((size_t)k * K, sizeof *fc), *ft = calloc((size_t)k, sizeof *ft);
    int *gfold = malloc((G ? G : 1) * sizeof *gfold);
    dolor_status s = DOLOR_OK;
    if (!g || !gof || !cc || !fc || !ft || !gfold) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        long id = group ? group[i] : (long)i;
        long *hit = bsearch(&id, ids, G, sizeof *ids, cmp_long);
        gof[i] = (int)(hit - ids);
        cc[(size_t)gof[i] * K + y[i]]++;
    }
    dolor_rng rng;
    dolor_rng_seed(&rng, seed);
    for (size_t a = 0; a < G; a++) {
        int best = 0, sz = 0;
        for (int c = 0; c < K; c++) {
            sz += cc[a * K + c];
            if (cc[a * K + c] > cc[a * K + best])
                best = c;
        }
        g[a] = (grp){(long)a, best, sz, dolor_rng_uniform(&rng)};
    }
    qsort(g, G, sizeof *g, cmp_grp);
    for (size_t a = 0; a < G; a++) {
        int c = g[a].cls, bf = 0;
        for (int f = 1; f < k; f++)
            if (fc[f * K + c] < fc[bf * K + c] || (fc[f * K + c] == fc[bf * K + c] && ft[f] < ft[bf]))
                bf = f;
        gfold[g[a].id] = bf;
        fc[bf * K + c] += g[a].size;
        ft[bf] += g[a].size;
    }
    for (int f = 0; f < k; f++)
        if (ft[f] == 0) {
            s = dolor_error(DOLOR_EINVAL, "k-fold: %d folds but only %zu groups (patients): fold %d would be empty", k,
                            G, f + 1);
            goto done;
        }
    for (size_t i = 0; i < n; i++)
        fold[i] = gfold[gof[i]];
done:
    free(ids);
    free(g);
    free(gof);
    free(cc);
    free(fc);
    free(ft);
    free(gfold);
    return s;
}
