/* Axis permutation (torch.Tensor.permute with the batch axis kept first) and Z-pool (Misra et
 * al., "Rotate to Attend: Convolutional Triplet Attention Module", WACV 2021: the max and the
 * mean over the channel axis, concatenated, [N, C, ...] -> [N, 2, ...]); with a permutation
 * first, Z-pool pools over any axis, as the three branches of triplet attention do. */
#include "../plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -------------------------------------------------------------- permute ---- */

static dolor_status permute_infer(const nn_op *op, const nn_shape *in, nn_shape *out)
{
    char b[96];
    const int *pm = op->p.perm.perm;
    int seen = 0, nd = in[0].ndim;
    for (int i = 0; i < nd; i++) {
        if (pm[i] < 0 || pm[i] >= nd || (seen >> pm[i]) & 1)
            return dolor_error(DOLOR_EINVAL, "nn: permute: perm is not a permutation of the %d axes of %s", nd,
                               nn_shape_str(&in[0], b, sizeof b));
        seen |= 1 << pm[i];
    }
    if (pm[0] != 0)
        return dolor_error(DOLOR_EINVAL, "nn: permute: the batch axis must stay first (perm[0] = %d)", pm[0]);
    out->ndim = nd;
    for (int i = 0; i < nd; i++)
        out->d[i] = in[0].d[pm[i]];
    return DOLOR_OK;
}

/* the output's plain buffer seen with the input's axes */
static dolor_status permute_view(const nn_op *op, const nn_pval *vo, dnnl_memory_desc_t *view)
{
    dnnl_memory_desc_t omd;
    nnp_md(&omd, &vo->s, nnp_plain_tag(vo->s.ndim));
    DN(dnnl_memory_desc_permute_axes(view, &omd, op->p.perm.perm));
    return DOLOR_OK;
}

static dolor_status plan_permute_fwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pval *vi = &p->v[op->in[0]], *vo = &p->v[op->out];
    dnnl_memory_desc_t omd, view;
    nnp_md(&omd, &vo->s, nnp_plain_tag(vo->s.ndim));
    TRY(nnp_set_value(p, op->out, &omd));
    TRY(permute_view(op, vo, &view));
    dnnl_memory_t vm;
    TRY(nnp_mem(p, &view, vo->data, &vm));
    return nnp_reorder(p, &p->fwd, &vi->md, vi->mem, &view, vm);
}

static dolor_status plan_permute_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pval *vi = &p->v[op->in[0]], *vo = &p->v[op->out];
    if (!vi->needs_diff)
        return DOLOR_OK;
    dnnl_memory_desc_t view;
    TRY(permute_view(op, vo, &view));
    dnnl_memory_t vm, t;
    int accum;
    TRY(nnp_mem(p, &view, vo->diff, &vm));
    TRY(nnp_diff_target(p, op->in[0], &t, &accum));
    TRY(nnp_reorder(p, &p->bwd, &view, vm, &vi->md, t));
    return nnp_diff_done(p, &p->bwd, op->in[0], accum);
}

const nn_op_def nn_op_permute_def = {NN_OP_PERMUTE, "permute", 1, 1, permute_infer, NULL, NULL, plan_permute_fwd,
                                     plan_permute_bwd};

/* ---------------------------------------------------------------- Z-pool ---- */

static dolor_status zpool_infer(const nn_op *op, const nn_shape *in, nn_shape *out)
{
    char b[96];
    if (in[0].ndim < 3)
        return dolor_error(DOLOR_ESHAPE, "nn: z-pool: input %s must have spatial axes", nn_shape_str(&in[0], b, sizeof b));
    *out = in[0];
    out->d[1] = 2;
    return DOLOR_OK;
}

typedef struct zp_ctx {
    int64_t N, C, S;
    const float *x; /* plain input */
    float *y;       /* plain [N, 2, S] */
    int32_t *arg;   /* [N, S] channel of the max (training) */
    const float *dy;
    float *dx;      /* plain [N, C, S] */
} zp_ctx;

static void zp_fwd(void *c)
{
    zp_ctx *z = c;
    const int64_t C = z->C, S = z->S;
    const float inv = 1.f / (float)C;
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < z->N; n++) {
        const float *x = z->x + n * C * S;
        float *mx = z->y + n * 2 * S, *mean = mx + S;
        int32_t *arg = z->arg ? z->arg + n * S : NULL;
        for (int64_t s = 0; s < S; s++) {
            mx[s] = x[s];
            mean[s] = x[s];
            if (arg)
                arg[s] = 0;
        }
        for (int64_t ch = 1; ch < C; ch++) {
            const float *xc = x + ch * S;
            for (int64_t s = 0; s < S; s++) {
                if (xc[s] > mx[s]) {
                    mx[s] = xc[s];
                    if (arg)
                        arg[s] = (int32_t)ch;
                }
                mean[s] += xc[s];
            }
        }
        for (int64_t s = 0; s < S; s++)
            mean[s] *= inv;
    }
}

static void zp_bwd(void *c)
{
    zp_ctx *z = c;
    const int64_t C = z->C, S = z->S;
    const float inv = 1.f / (float)C;
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < z->N; n++) {
        const float *d0 = z->dy + n * 2 * S, *d1 = d0 + S;
        const int32_t *arg = z->arg + n * S;
        for (int64_t ch = 0; ch < C; ch++) {
            float *dx = z->dx + (n * C + ch) * S;
            for (int64_t s = 0; s < S; s++)
                dx[s] = d1[s] * inv + (arg[s] == ch ? d0[s] : 0.f);
        }
    }
}

static dolor_status plan_zpool_fwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]], *vo = &p->v[op->out];
    zp_ctx *z = NULL;
    TRY(nnp_alloc(p, sizeof *z, (float **)&z));
    po->ext = z;
    z->N = vi->s.d[0];
    z->C = vi->s.d[1];
    z->S = nnp_spatial(&vi->s);
    dnnl_memory_desc_t plain, omd;
    nnp_md(&plain, &vi->s, nnp_plain_tag(vi->s.ndim));
    if (dnnl_memory_desc_equal(&plain, &vi->md)) {
        z->x = vi->data;
    } else {
        float *buf;
        dnnl_memory_t m;
        TRY(nnp_buf_mem(p, &plain, &buf, &m));
        TRY(nnp_reorder(p, &p->fwd, &vi->md, vi->mem, &plain, m));
        z->x = buf;
    }
    nnp_md(&omd, &vo->s, nnp_plain_tag(vo->s.ndim));
    TRY(nnp_set_value(p, op->out, &omd));
    z->y = vo->data;
    if (p->training)
        TRY(nnp_alloc(p, (size_t)(z->N * z->S) * sizeof(int32_t), (float **)&z->arg));
    return nnp_fn(&p->fwd, zp_fwd, z);
}

static dolor_status plan_zpool_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pval *vi = &p->v[op->in[0]], *vo = &p->v[op->out];
    zp_ctx *z = p->ops[oi].ext;
    if (!vi->needs_diff)
        return DOLOR_OK;
    dnnl_memory_desc_t plain;
    nnp_md(&plain, &vi->s, nnp_plain_tag(vi->s.ndim));
    dnnl_memory_t pm, t;
    TRY(nnp_buf_mem(p, &plain, &z->dx, &pm));
    z->dy = vo->diff;
    TRY(nnp_fn(&p->bwd, zp_bwd, z));
    int accum;
    TRY(nnp_diff_target(p, op->in[0], &t, &accum));
    TRY(nnp_reorder(p, &p->bwd, &plain, pm, &vi->md, t));
    return nnp_diff_done(p, &p->bwd, op->in[0], accum);
}

const nn_op_def nn_op_zpool_def = {NN_OP_ZPOOL, "zpool", 1, 1, zpool_infer, NULL, NULL, plan_zpool_fwd, plan_zpool_bwd};
