/* The two kernels of triplet attention (Misra, Nalamada, Arasanipalai & Hou, "Rotate to Attend:
 * Convolutional Triplet Attention Module", WACV 2021), written so that the attended tensor is never
 * rotated:
 *
 *  - Z-pool: the max and the mean over one axis, concatenated: [N, C, ...] -> [N, 2, ...]. With a
 *    permutation p it is zpool(x.permute(p)): the max and mean over axis p[1] of a 4-D x, the other
 *    two axes kept in the order p[2], p[3] ([N, 2, x.shape[p[2]], x.shape[p[3]]]), read straight
 *    from x's own layout; no permuted copy of x is made.
 *  - triplet gate: y = x * (g_cw + g_hc + g_hw) / 3 with the three branch gates broadcast back to
 *    x's axes: y[n,c,h,w] = x[n,c,h,w] * (g_cw[n,0,c,w] + g_hc[n,0,h,c] + g_hw[n,0,h,w]) / 3. This is
 *    the module's output (each branch's x_rot * gate rotated back, the three averaged) in one pass.
 *    The three products are summed in the authors' order ((x g_hw + x g_cw) + x g_hc) / 3: the
 *    reassociated x * ((g_cw + g_hc + g_hw) / 3) changes only float rounding, but it moved the
 *    gradients of the ill-conditioned width-4 ResNet-50 fixture (resnet_unet_50ta) by 1-3% on two
 *    threads, past the test's tolerance.
 *
 * Both read and write x-sized tensors in the plain layout or oneDNN's channel-blocked one
 * (nChw8c / nChw16c: what the convolutions before them chose), so the module costs two passes over
 * x forward instead of six reorders, three multiplications and two additions. Other layouts are
 * reordered to plain first. OpenMP over rows; backward gate gradients are summed per thread and
 * then reduced, so the result does not depend on scheduling beyond float summation order. */
#include "../onnx.h"
#include "../plan.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* x seen as [N, C, H, W] in the plain (b = 1) or channel-blocked (b = 8, 16) layout: element
 * (n, c, h, w) at offn[n] + offc[c] + offh[h] + offw[w]; offc covers the padded channels Cp. */
typedef struct att_view {
    int64_t N, C, Cp, H, W, b;
    int64_t *offn, *offc, *offh, *offw;
} att_view;

static dolor_status view_make(nn_plan *p, const nn_shape *s, int b, att_view *v)
{
    v->N = s->d[0];
    v->C = s->d[1];
    v->H = s->d[2];
    v->W = s->d[3];
    v->b = b;
    v->Cp = (v->C + b - 1) / b * b;
    size_t n = (size_t)(v->N + v->Cp + v->H + v->W);
    float *mem = NULL;
    TRY(nnp_alloc(p, n * sizeof(int64_t), &mem));
    v->offn = (int64_t *)mem;
    v->offc = v->offn + v->N;
    v->offh = v->offc + v->Cp;
    v->offw = v->offh + v->H;
    const int64_t S = v->H * v->W;
    for (int64_t i = 0; i < v->N; i++)
        v->offn[i] = i * v->Cp * S;
    for (int64_t c = 0; c < v->Cp; c++)
        v->offc[c] = c / b * b * S + c % b;
    for (int64_t h = 0; h < v->H; h++)
        v->offh[h] = h * v->W * b;
    for (int64_t w = 0; w < v->W; w++)
        v->offw[w] = w * b;
    return DOLOR_OK;
}

/* The padded channel slots of a blocked tensor are zero (oneDNN reads them). */
static void view_zero_padding(const att_view *v, float *y)
{
    if (v->Cp == v->C)
        return;
#pragma omp parallel for schedule(static)
    for (int64_t nh = 0; nh < v->N * v->H; nh++) {
        const int64_t n = nh / v->H, h = nh % v->H;
        for (int64_t c = v->C; c < v->Cp; c++)
            for (int64_t w = 0; w < v->W; w++)
                y[v->offn[n] + v->offc[c] + v->offh[h] + v->offw[w]] = 0.f;
    }
}

/* x's shape as the [N, C, H, W] of att_view: a 3-D or 5-D tensor has its spatial axes flattened
 * to [S, 1] (only the channel axis is then pooled over) */
static nn_shape view_shape(const nn_shape *s)
{
    nn_shape s4 = *s;
    if (s->ndim != 4) {
        s4.ndim = 4;
        s4.d[2] = nnp_spatial(s);
        s4.d[3] = 1;
    }
    return s4;
}

/* x's data as att_view can read it: the value itself when its layout is plain or channel-blocked
 * (*direct = 1), else a plain copy made by the forward (*direct = 0). */
static dolor_status view_input(nn_plan *p, const nn_pval *vi, att_view *v, const float **data, int *direct)
{
    nn_shape s4 = view_shape(&vi->s);
    int b = nnp_chan_block(&vi->md);
    *direct = b > 0;
    if (b > 0) {
        *data = vi->data;
        return view_make(p, &s4, b, v);
    }
    dnnl_memory_desc_t plain;
    nnp_md(&plain, &vi->s, nnp_plain_tag(vi->s.ndim));
    float *buf;
    dnnl_memory_t m;
    TRY(nnp_buf_mem(p, &plain, &buf, &m));
    TRY(nnp_reorder(p, &p->fwd, &vi->md, vi->mem, &plain, m));
    *data = buf;
    return view_make(p, &s4, 1, v);
}

/* Where a backward kernel writes d(loss)/d(x) (*dst, read when the kernel runs): with direct = 1
 * (the forward read x in place) x's own gradient or, when that already holds another consumer's
 * part, the plan's accumulation buffer, both in x's layout; with direct = 0 a plain buffer that
 * dx_end reorders into it. skip: x needs no gradient. */
typedef struct att_dx {
    float **dst;
    float *own;
    dnnl_memory_t own_mem, target;
    int accum, skip;
    dnnl_memory_desc_t plain;
} att_dx;

static dolor_status dx_begin(nn_plan *p, int vid, int direct, att_dx *d)
{
    nn_pval *vi = &p->v[vid];
    memset(d, 0, sizeof *d);
    if (!vi->needs_diff) {
        d->skip = 1;
        return DOLOR_OK;
    }
    TRY(nnp_diff_target(p, vid, &d->target, &d->accum));
    if (direct) {
        d->dst = d->accum == 1 ? &p->accum : &vi->diff;
        return DOLOR_OK;
    }
    nnp_md(&d->plain, &vi->s, nnp_plain_tag(vi->s.ndim));
    TRY(nnp_buf_mem(p, &d->plain, &d->own, &d->own_mem));
    float **pp = NULL;
    TRY(nnp_alloc(p, sizeof *pp, (float **)&pp));
    *pp = d->own;
    d->dst = pp;
    return DOLOR_OK;
}

static dolor_status dx_end(nn_plan *p, int vid, att_dx *d)
{
    if (d->skip)
        return DOLOR_OK;
    if (d->own)
        TRY(nnp_reorder(p, &p->bwd, &d->plain, d->own_mem, &p->v[vid].md, d->target));
    return nnp_diff_done(p, &p->bwd, vid, d->accum);
}

/* ---------------------------------------------------------------- Z-pool ---- */

static int zp_identity(const int *pm)
{
    for (int i = 0; i < NN_MAX_DIMS; i++)
        if (pm[i] != 0 && pm[i] != i)
            return 0;
    return 1;
}

static dolor_status zpool_infer(const nn_op *op, const nn_shape *in, nn_shape *out)
{
    char b[96];
    const int *pm = op->p.perm.perm;
    if (in[0].ndim < 3)
        return dolor_error(DOLOR_ESHAPE, "nn: z-pool: input %s must have spatial axes", nn_shape_str(&in[0], b, sizeof b));
    *out = in[0];
    out->d[1] = 2;
    if (zp_identity(pm))
        return DOLOR_OK;
    if (in[0].ndim != 4)
        return dolor_error(DOLOR_ESHAPE, "nn: z-pool over a permuted axis needs a 4-D input, not %s",
                           nn_shape_str(&in[0], b, sizeof b));
    int seen = 0;
    for (int i = 0; i < 4; i++) {
        if (pm[i] < 0 || pm[i] > 3 || (seen >> pm[i]) & 1 || pm[0] != 0)
            return dolor_error(DOLOR_EINVAL, "nn: z-pool: perm (%d, %d, %d, %d) is not a permutation of 4 axes keeping "
                               "the batch axis first", pm[0], pm[1], pm[2], pm[3]);
        seen |= 1 << pm[i];
    }
    out->d[2] = in[0].d[pm[2]];
    out->d[3] = in[0].d[pm[3]];
    return DOLOR_OK;
}

typedef struct zp_ctx {
    int64_t N, R, I, J;
    const int64_t *tn, *tr, *ti, *tj; /* offset tables of the batch, pooled and kept axes */
    const float *x;
    float *y;      /* plain [N, 2, I, J] */
    int32_t *arg;  /* [N, I, J] index along the pooled axis of the max (training) */
    const float *dy;
    float **dx;    /* in x's layout */
    const att_view *v;
    int direct;    /* the forward read x in place (else a plain copy) */
} zp_ctx;

static void zp_fwd(void *c)
{
    const zp_ctx *z = c;
    const int64_t R = z->R, I = z->I, J = z->J;
    const float inv = 1.f / (float)R;
#pragma omp parallel for schedule(static)
    for (int64_t ni = 0; ni < z->N * I; ni++) {
        const int64_t n = ni / I, i = ni % I;
        const float *x = z->x + z->tn[n] + z->ti[i];
        float *mx = z->y + (n * 2 * I + i) * J, *mean = mx + I * J;
        int32_t *arg = z->arg ? z->arg + ni * J : NULL;
        for (int64_t j = 0; j < J; j++) {
            mx[j] = mean[j] = x[z->tr[0] + z->tj[j]];
            if (arg)
                arg[j] = 0;
        }
        for (int64_t r = 1; r < R; r++) {
            const float *xr = x + z->tr[r];
            for (int64_t j = 0; j < J; j++) {
                const float v = xr[z->tj[j]];
                if (v > mx[j]) {
                    mx[j] = v;
                    if (arg)
                        arg[j] = (int32_t)r;
                }
                mean[j] += v;
            }
        }
        for (int64_t j = 0; j < J; j++)
            mean[j] *= inv;
    }
}

static void zp_bwd(void *c)
{
    const zp_ctx *z = c;
    const int64_t R = z->R, I = z->I, J = z->J;
    const float inv = 1.f / (float)R;
    float *dx0 = *z->dx;
#pragma omp parallel for schedule(static)
    for (int64_t ni = 0; ni < z->N * I; ni++) {
        const int64_t n = ni / I, i = ni % I;
        const float *d0 = z->dy + (n * 2 * I + i) * J, *d1 = d0 + I * J;
        const int32_t *arg = z->arg + ni * J;
        float *dx = dx0 + z->tn[n] + z->ti[i];
        for (int64_t r = 0; r < R; r++) {
            float *dr = dx + z->tr[r];
            for (int64_t j = 0; j < J; j++)
                dr[z->tj[j]] = d1[j] * inv + (arg[j] == r ? d0[j] : 0.f);
        }
    }
    view_zero_padding(z->v, dx0);
}

static dolor_status plan_zpool_fwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pval *vi = &p->v[op->in[0]], *vo = &p->v[op->out];
    zp_ctx *z = NULL;
    att_view *v = NULL;
    TRY(nnp_alloc(p, sizeof *z, (float **)&z));
    TRY(nnp_alloc(p, sizeof *v, (float **)&v));
    p->ops[oi].ext = z;
    z->v = v;
    int pm[4] = {0, 1, 2, 3};
    if (vi->s.ndim == 4 && !zp_identity(op->p.perm.perm))
        memcpy(pm, op->p.perm.perm, sizeof pm);
    TRY(view_input(p, vi, v, &z->x, &z->direct));
    const int64_t *tab[4] = {v->offn, v->offc, v->offh, v->offw};
    const int64_t ext[4] = {v->N, v->C, v->H, v->W};
    z->N = v->N;
    z->tn = v->offn;
    z->tr = tab[pm[1]];
    z->R = ext[pm[1]];
    z->ti = tab[pm[2]];
    z->I = ext[pm[2]];
    z->tj = tab[pm[3]];
    z->J = ext[pm[3]];
    dnnl_memory_desc_t omd;
    nnp_md(&omd, &vo->s, nnp_plain_tag(vo->s.ndim));
    TRY(nnp_set_value(p, op->out, &omd));
    z->y = vo->data;
    if (p->training)
        TRY(nnp_alloc(p, (size_t)(z->N * z->I * z->J) * sizeof(int32_t), (float **)&z->arg));
    return nnp_fn(&p->fwd, zp_fwd, z);
}

static dolor_status plan_zpool_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pval *vi = &p->v[op->in[0]], *vo = &p->v[op->out];
    zp_ctx *z = p->ops[oi].ext;
    if (!vi->needs_diff)
        return DOLOR_OK;
    att_dx d;
    TRY(dx_begin(p, op->in[0], z->direct, &d));
    z->dy = vo->diff;
    z->dx = d.dst;
    TRY(nnp_fn(&p->bwd, zp_bwd, z));
    return dx_end(p, op->in[0], &d);
}

/* ONNX: Concat(ReduceMax, ReduceMean) over the pooled axis (keepdims 1, axis p[1]; opset 17 takes axes as an
 * attribute), then Transpose(p) when the op pools a permuted view: zpool(x.permute(p)) = the pooled pair with
 * the axes of x reordered by p, so x itself is never transposed. */
static dolor_status zpool_export(const dolor_net *g, nn_onnx *ox, int oi)
{
    const nn_op *op = &g->ops[oi];
    const int *pm = op->p.perm.perm;
    int ident = zp_identity(pm);
    int64_t axis = ident ? 1 : pm[1];
    const char *x = nn_onnx_value(ox, op->in[0]), *mx = nn_onnx_tmp(ox), *mean = nn_onnx_tmp(ox);
    const char *out = nn_onnx_value(ox, op->out), *cat = ident ? out : nn_onnx_tmp(ox);
    nn_onnx_node *n = nn_onnx_unary(ox, "ReduceMax", x, mx);
    nn_onnx_attr_ints(ox, n, "axes", &axis, 1);
    nn_onnx_attr_int(ox, n, "keepdims", 1);
    n = nn_onnx_unary(ox, "ReduceMean", x, mean);
    nn_onnx_attr_ints(ox, n, "axes", &axis, 1);
    nn_onnx_attr_int(ox, n, "keepdims", 1);
    const char *pair[2] = {mx, mean};
    n = nn_onnx_add_node(ox, "Concat", pair, 2, cat);
    nn_onnx_attr_int(ox, n, "axis", axis);
    if (!ident) {
        int64_t perm[4] = {pm[0], pm[1], pm[2], pm[3]};
        n = nn_onnx_unary(ox, "Transpose", cat, out);
        nn_onnx_attr_ints(ox, n, "perm", perm, 4);
    }
    return nn_onnx_status(ox);
}

const nn_op_def nn_op_zpool_def = {NN_OP_ZPOOL, "zpool", 1, 1, zpool_infer, NULL, NULL, plan_zpool_fwd, plan_zpool_bwd,
                                   zpool_export};

/* --------------------------------------------------------- triplet gate ---- */

static dolor_status tgate_infer(const nn_op *op, const nn_shape *in, nn_shape *out)
{
    (void)op;
    char b[4][96];
    const nn_shape *x = &in[0];
    int ok = x->ndim == 4;
    for (int k = 1; k < 4 && ok; k++)
        ok = in[k].ndim == 4 && in[k].d[0] == x->d[0] && in[k].d[1] == 1;
    ok = ok && in[1].d[2] == x->d[1] && in[1].d[3] == x->d[3]  /* g_cw [N, 1, C, W] */
         && in[2].d[2] == x->d[2] && in[2].d[3] == x->d[1]     /* g_hc [N, 1, H, C] */
         && in[3].d[2] == x->d[2] && in[3].d[3] == x->d[3];    /* g_hw [N, 1, H, W] */
    if (!ok)
        return dolor_error(DOLOR_ESHAPE, "nn: triplet gate: x %s needs gates [N, 1, C, W], [N, 1, H, C], [N, 1, H, W], "
                           "not %s, %s, %s", nn_shape_str(x, b[0], sizeof b[0]), nn_shape_str(&in[1], b[1], sizeof b[1]),
                           nn_shape_str(&in[2], b[2], sizeof b[2]), nn_shape_str(&in[3], b[3], sizeof b[3]));
    *out = *x;
    return DOLOR_OK;
}

typedef struct tg_ctx {
    const att_view *v;
    const float *x, *g[3]; /* g_cw, g_hc, g_hw, plain */
    float *y;              /* in the view's layout */
    const float *dy;       /* in the view's layout */
    float **dx;
    float *dg[3];          /* plain */
    float *acc;            /* [nthr][N * C * W]: per-thread partial sums of d(g_cw) */
    int nthr, direct;
} tg_ctx;

static void tg_fwd(void *c)
{
    const tg_ctx *t = c;
    const att_view *v = t->v;
    const int64_t C = v->C, H = v->H, W = v->W;
    const float third = 1.f / 3.f;
#pragma omp parallel for schedule(static)
    for (int64_t nh = 0; nh < v->N * H; nh++) {
        const int64_t n = nh / H, h = nh % H;
        const float *ghc = t->g[1] + nh * C, *ghw = t->g[2] + nh * W;
        for (int64_t c = 0; c < C; c++) {
            const float *gcw = t->g[0] + (n * C + c) * W;
            const int64_t base = v->offn[n] + v->offc[c] + v->offh[h];
            const float gc = ghc[c];
            for (int64_t w = 0; w < W; w++) {
                const int64_t o = base + v->offw[w];
                const float xo = t->x[o];
                t->y[o] = ((xo * ghw[w] + xo * gcw[w]) + xo * gc) * third; /* the authors' order of the sum */
            }
        }
    }
    view_zero_padding(v, t->y);
}

static void tg_bwd(void *c)
{
    const tg_ctx *t = c;
    const att_view *v = t->v;
    const int64_t N = v->N, C = v->C, H = v->H, W = v->W, ncw = N * C * W;
    const float third = 1.f / 3.f;
    float *dx = t->dx ? *t->dx : NULL;
#pragma omp parallel num_threads(t->nthr)
    {
        const int tid = omp_get_thread_num();
        float *acc = t->acc + (size_t)tid * (size_t)ncw;
        memset(acc, 0, (size_t)ncw * sizeof *acc);
#pragma omp for schedule(static)
        for (int64_t nh = 0; nh < N * H; nh++) {
            const int64_t n = nh / H, h = nh % H;
            const float *ghc = t->g[1] + nh * C, *ghw = t->g[2] + nh * W;
            float *dhc = t->dg[1] + nh * C, *dhw = t->dg[2] + nh * W;
            for (int64_t w = 0; w < W; w++)
                dhw[w] = 0.f;
            for (int64_t c = 0; c < C; c++) {
                const float *gcw = t->g[0] + (n * C + c) * W;
                float *acw = acc + (n * C + c) * W;
                const int64_t base = v->offn[n] + v->offc[c] + v->offh[h];
                const float gc = ghc[c];
                float shc = 0.f;
                for (int64_t w = 0; w < W; w++) {
                    const int64_t o = base + v->offw[w];
                    const float d = t->dy[o];
                    const float s = d * t->x[o] * third;
                    if (dx)
                        dx[o] = d * ((gcw[w] + gc + ghw[w]) * third);
                    shc += s;
                    dhw[w] += s;
                    acw[w] += s;
                }
                dhc[c] = shc;
            }
        }
        /* implicit barrier: every thread's partial d(g_cw) is complete */
#pragma omp for schedule(static)
        for (int64_t k = 0; k < ncw; k++) {
            float s = 0.f;
            for (int r = 0; r < t->nthr; r++)
                s += t->acc[(size_t)r * (size_t)ncw + (size_t)k];
            t->dg[0][k] = s;
        }
    }
    if (dx)
        view_zero_padding(v, dx);
}

static dolor_status plan_tgate_fwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pval *vi = &p->v[op->in[0]], *vo = &p->v[op->out];
    tg_ctx *t = NULL;
    att_view *v = NULL;
    TRY(nnp_alloc(p, sizeof *t, (float **)&t));
    TRY(nnp_alloc(p, sizeof *v, (float **)&v));
    p->ops[oi].ext = t;
    t->v = v;
    TRY(view_input(p, vi, v, &t->x, &t->direct));
    for (int k = 0; k < 3; k++) {
        nn_pval *gk = &p->v[op->in[1 + k]];
        dnnl_memory_desc_t plain;
        nnp_md(&plain, &gk->s, nnp_plain_tag(4));
        if (dnnl_memory_desc_equal(&plain, &gk->md)) {
            t->g[k] = gk->data;
        } else {
            float *buf;
            dnnl_memory_t m;
            TRY(nnp_buf_mem(p, &plain, &buf, &m));
            TRY(nnp_reorder(p, &p->fwd, &gk->md, gk->mem, &plain, m));
            t->g[k] = buf;
        }
    }
    dnnl_memory_desc_t omd;
    if (t->direct)
        omd = vi->md;
    else
        nnp_md(&omd, &vi->s, nnp_plain_tag(4));
    TRY(nnp_set_value(p, op->out, &omd));
    t->y = vo->data;
    return nnp_fn(&p->fwd, tg_fwd, t);
}

static dolor_status plan_tgate_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pval *vo = &p->v[op->out];
    tg_ctx *t = p->ops[oi].ext;
    const att_view *v = t->v;
    int any = 0;
    for (int k = 0; k < 4; k++)
        any |= p->v[op->in[k]].needs_diff;
    if (!any)
        return DOLOR_OK;
    t->dy = vo->diff; /* the output's layout is the view's */
    att_dx d;
    TRY(dx_begin(p, op->in[0], t->direct, &d));
    t->dx = d.skip ? NULL : d.dst;
    dnnl_memory_t gm[3];
    dnnl_memory_desc_t gmd[3];
    for (int k = 0; k < 3; k++) {
        nnp_md(&gmd[k], &p->v[op->in[1 + k]].s, nnp_plain_tag(4));
        TRY(nnp_buf_mem(p, &gmd[k], &t->dg[k], &gm[k]));
    }
    t->nthr = omp_get_max_threads();
    if (t->nthr < 1)
        t->nthr = 1;
    TRY(nnp_alloc(p, (size_t)t->nthr * (size_t)(v->N * v->C * v->W) * sizeof(float), &t->acc));
    TRY(nnp_fn(&p->bwd, tg_bwd, t));
    TRY(dx_end(p, op->in[0], &d));
    for (int k = 0; k < 3; k++) {
        const int vid = op->in[1 + k];
        if (!p->v[vid].needs_diff)
            continue;
        dnnl_memory_t target;
        int accum;
        TRY(nnp_diff_target(p, vid, &target, &accum));
        TRY(nnp_reorder(p, &p->bwd, &gmd[k], gm[k], &p->v[vid].md, target));
        TRY(nnp_diff_done(p, &p->bwd, vid, accum));
    }
    return DOLOR_OK;
}

/* ONNX: the gates rotated back by Transpose (g_cw [N, 1, C, W] -> [N, C, 1, W] by (0, 2, 1, 3), g_hc
 * [N, 1, H, C] -> [N, C, H, 1] by (0, 3, 2, 1)) and broadcast by Mul, summed in the kernel's order
 * ((x g_hw + x g_cw) + x g_hc) * (1/3). */
static dolor_status tgate_export(const dolor_net *g, nn_onnx *ox, int oi)
{
    const nn_op *op = &g->ops[oi];
    static const int64_t p_cw[4] = {0, 2, 1, 3}, p_hc[4] = {0, 3, 2, 1};
    const char *x = nn_onnx_value(ox, op->in[0]), *gcw = nn_onnx_tmp(ox), *ghc = nn_onnx_tmp(ox);
    nn_onnx_attr_ints(ox, nn_onnx_unary(ox, "Transpose", nn_onnx_value(ox, op->in[1]), gcw), "perm", p_cw, 4);
    nn_onnx_attr_ints(ox, nn_onnx_unary(ox, "Transpose", nn_onnx_value(ox, op->in[2]), ghc), "perm", p_hc, 4);
    const char *a[2] = {x, nn_onnx_value(ox, op->in[3])}, *b[2] = {x, gcw}, *c[2] = {x, ghc};
    const char *xa = nn_onnx_tmp(ox), *xb = nn_onnx_tmp(ox), *xc = nn_onnx_tmp(ox), *s1 = nn_onnx_tmp(ox);
    const char *s2 = nn_onnx_tmp(ox);
    nn_onnx_add_node(ox, "Mul", a, 2, xa);
    nn_onnx_add_node(ox, "Mul", b, 2, xb);
    const char *ab[2] = {xa, xb};
    nn_onnx_add_node(ox, "Add", ab, 2, s1);
    nn_onnx_add_node(ox, "Mul", c, 2, xc);
    const char *abc[2] = {s1, xc};
    nn_onnx_add_node(ox, "Add", abc, 2, s2);
    const float third = 1.f / 3.f;
    const char *d[2] = {s2, nn_onnx_const_f32(ox, &third, 1, 1)};
    nn_onnx_add_node(ox, "Mul", d, 2, nn_onnx_value(ox, op->out));
    return nn_onnx_status(ox);
}

const nn_op_def nn_op_triplet_gate_def = {NN_OP_TRIPLET_GATE, "triplet_gate", 4, 4, tgate_infer, NULL, NULL,
                                          plan_tgate_fwd, plan_tgate_bwd, tgate_export};
