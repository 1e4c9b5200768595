/* Shared by the nn tests: the DNF1 fixture reader (tools/gen_nn_fixtures.py) and the element-wise
 * comparison |dolor - torch| <= ATOL + RTOL |torch| that reports the worst element. Include after
 * check.h and dolor/nn.h; define ATOL and RTOL first. */
#ifndef DOLOR_TEST_NN_FX_H
#define DOLOR_TEST_NN_FX_H

#include <stdint.h>

/* ------------------------------------------------------------------ fixtures ---- */

typedef struct fx_rec {
    char name[64];
    int dtype, ndim;
    int64_t shape[5];
    size_t numel;
    void *data;
} fx_rec;

typedef struct fx_file {
    fx_rec *r;
    int n;
    char path[512];
} fx_file;

static inline void fx_free(fx_file *f)
{
    for (int i = 0; i < f->n; i++)
        free(f->r[i].data);
    free(f->r);
    f->r = NULL;
    f->n = 0;
}

static inline int fx_load(fx_file *f, const char *name)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s/nn/%s", DOLOR_TEST_FIXTURES, name);
    FILE *fp = fopen(f->path, "rb");
    CHECKF(fp != NULL, "cannot open fixture %s", f->path);
    if (!fp)
        return 0;
    char magic[4];
    uint32_t n = 0;
    int ok = fread(magic, 1, 4, fp) == 4 && memcmp(magic, "DNF1", 4) == 0 && fread(&n, 4, 1, fp) == 1 && n < 10000;
    if (ok) {
        f->r = calloc(n, sizeof *f->r);
        ok = f->r != NULL;
    }
    for (uint32_t i = 0; ok && i < n; i++) {
        fx_rec *r = &f->r[i];
        uint32_t len, dt, nd;
        ok = fread(&len, 4, 1, fp) == 1 && len < sizeof r->name && fread(r->name, 1, len, fp) == len &&
             fread(&dt, 4, 1, fp) == 1 && fread(&nd, 4, 1, fp) == 1 && nd <= 5;
        if (!ok)
            break;
        r->dtype = (int)dt;
        r->ndim = (int)nd;
        r->numel = 1;
        ok = nd == 0 || fread(r->shape, 8, nd, fp) == nd;
        for (uint32_t k = 0; ok && k < nd; k++)
            r->numel *= (size_t)r->shape[k];
        size_t bytes = r->numel * (dt == 0 ? 4 : 1);
        r->data = malloc(bytes ? bytes : 1);
        ok = ok && r->data && fread(r->data, 1, bytes, fp) == bytes;
        f->n = (int)i + 1;
    }
    fclose(fp);
    CHECKF(ok, "fixture %s is malformed", f->path);
    return ok;
}

static inline const fx_rec *fx_get(const fx_file *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->r[i].name, name) == 0)
            return &f->r[i];
    return NULL;
}

static inline const fx_rec *fx_getc(const fx_file *f, int c, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "c%d.%s", c, name);
    const fx_rec *r = fx_get(f, key);
    CHECKF(r != NULL, "%s: record %s missing", f->path, key);
    return r;
}

static inline const float *F32(const fx_rec *r) { return r ? (const float *)r->data : NULL; }

/* a tensor holding a copy of a record (float) */
static inline dolor_tensor *fx_tensor(const fx_rec *r)
{
    dolor_tensor *t = NULL;
    if (!r || dolor_tensor_create(&t, r->ndim, r->shape) != DOLOR_OK)
        return NULL;
    memcpy(t->data, r->data, r->numel * sizeof(float));
    return t;
}

/* ---------------------------------------------------------------- compare ---- */

/* |a - b| <= ATOL + RTOL |b| for all n; on failure report the worst element. */
static inline void cmp(const char *what, const float *a, const float *b, size_t n)
{
    if (!a || !b) {
        CHECKF(0, "%s: missing data", what);
        return;
    }
    double worst = -1e300;
    size_t wi = 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]), lim = ATOL + RTOL * fabs((double)b[i]);
        double ex = isfinite(d) ? d - lim : 1e300;
        if (ex > worst) {
            worst = ex;
            wi = i;
        }
        if (ex > 0)
            bad++;
    }
    if (getenv("DOLOR_NN_VERBOSE")) {
        double md = 0, mb = 0;
        for (size_t i = 0; i < n; i++) {
            md = fmax(md, fabs((double)a[i] - (double)b[i]));
            mb = fmax(mb, fabs((double)b[i]));
        }
        fprintf(stderr, "%s: max|diff| / max|ref| = %.3g / %.3g = %.3g\n", what, md, mb, md / mb);
    }
    CHECKF(bad == 0, "%s: %d of %zu elements off; worst at index %zu: dolor %.9g, torch %.9g (|diff| %.3g)", what, bad,
           n, wi, a[wi], b[wi], fabs((double)a[wi] - (double)b[wi]));
}

static inline void cmp_rec(const char *what, const float *a, const fx_rec *r)
{
    if (!r) {
        CHECKF(0, "%s: reference missing", what);
        return;
    }
    cmp(what, a, F32(r), r->numel);
}

/* Compare a flat params/grads (is_buffer 0) or buffers (1) array tensor by tensor, so a failure
 * names the tensor. */
static inline void cmp_flat(const dolor_net *net, const char *what, const float *a, const fx_rec *r, int is_buffer)
{
    if (!r) {
        CHECKF(0, "%s: reference missing", what);
        return;
    }
    size_t total = 0;
    for (int i = 0; i < dolor_net_num_tensors(net); i++) {
        dolor_net_tensor t;
        dolor_net_tensor_at(net, i, &t);
        if (t.is_buffer != is_buffer)
            continue;
        total += t.numel;
        if (t.offset + t.numel > r->numel)
            break;
        char w[192];
        snprintf(w, sizeof w, "%s, %s", what, t.name);
        cmp(w, a + t.offset, F32(r) + t.offset, t.numel);
    }
    CHECKF(total == r->numel, "%s: %zu values, torch has %zu", what, total, r->numel);
}


/* The deterministic weights of tools/gen_nn_ops_fixtures.py det_fill, through the public API: tensor t
 * (state_dict order), element i, v = sin(0.7 i + 0.3 t + 0.1); conv / linear weights and biases
 * v / sqrt(fan_in), BN weight 1 + 0.2 v, bias 0.1 v, running mean 0.1 v, running var 1 + 0.5 |v|. */
static inline void fx_det_fill(dolor_net *g)
{
    double fan = 1;
    for (int t = 0; t < dolor_net_num_tensors(g); t++) {
        dolor_net_tensor ti;
        dolor_net_tensor_at(g, t, &ti);
        float *dst = (ti.is_buffer ? dolor_net_buffers(g) : dolor_net_params(g)) + ti.offset;
        const char *nm = ti.name;
        size_t L = strlen(nm);
        int is_w = L > 6 && strcmp(nm + L - 6, "weight") == 0, is_bn = ti.ndim == 1 && strncmp(nm, "fc", 2) != 0;
        if (is_w && ti.ndim > 1)
            fan = (double)(ti.numel / (size_t)ti.shape[0]);
        for (size_t i = 0; i < ti.numel; i++) {
            double v = sin(0.7 * (double)i + 0.3 * t + 0.1), o;
            if (is_w && ti.ndim > 1)
                o = v / sqrt(fan);
            else if (strstr(nm, ".bias") && !is_bn)
                o = v / sqrt(fan);
            else if (strstr(nm, "running_mean"))
                o = 0.1 * v;
            else if (strstr(nm, "running_var"))
                o = 1 + 0.5 * fabs(v);
            else if (is_w)
                o = 1 + 0.2 * v;
            else
                o = 0.1 * v;
            dst[i] = (float)o;
        }
    }
}

#endif
