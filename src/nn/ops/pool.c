/* Pooling on oneDNN: max and average pooling 2D/3D with any kernel, stride and padding
 * (torch.nn.MaxPoolNd / AvgPoolNd, ceil_mode=False, dilation 1; average pooling with
 * count_include_pad as torch), and global average pooling ([N, C, ...] -> [N, C, 1, ...], as
 * torch.nn.AdaptiveAvgPoolNd(1)). */
#include "../onnx.h"
#include "../plan.h"

#include <stdlib.h>
#include <string.h>

static dolor_status pool_infer(const nn_op *op, const nn_shape *in, nn_shape *out)
{
    char b[96];
    const char *what = op->kind == NN_OP_MAXPOOL ? "max pooling" : op->kind == NN_OP_AVGPOOL ? "average pooling"
                                                                                               : "global average pooling";
    if (in[0].ndim != 4 && in[0].ndim != 5)
        return dolor_error(DOLOR_ESHAPE, "nn: %s: input %s must be [N, C, H, W] or [N, C, D, H, W]", what,
                           nn_shape_str(&in[0], b, sizeof b));
    *out = in[0];
    if (op->kind == NN_OP_GAP) {
        for (int a = 2; a < in[0].ndim; a++)
            out->d[a] = 1;
        return DOLOR_OK;
    }
    const nn_pool_params *q = &op->p.pool;
    for (int a = 0; a < in[0].ndim - 2; a++) {
        if (q->k[a] < 1 || q->stride[a] < 1 || q->pad[a] < 0 || 2 * q->pad[a] > q->k[a])
            return dolor_error(DOLOR_EINVAL, "nn: %s: axis %d: kernel %d, stride %d, padding %d invalid (padding <= kernel / 2)",
                               what, a, q->k[a], q->stride[a], q->pad[a]);
        int64_t o = (in[0].d[2 + a] + 2 * q->pad[a] - q->k[a]) / q->stride[a] + 1;
        if (in[0].d[2 + a] + 2 * q->pad[a] < q->k[a] || o < 1)
            return dolor_error(DOLOR_ESHAPE, "nn: %s: input %s is smaller than kernel %d (padding %d) on axis %d", what,
                               nn_shape_str(&in[0], b, sizeof b), q->k[a], q->pad[a], a);
        out->d[2 + a] = o;
    }
    return DOLOR_OK;
}

typedef struct pool_geom {
    dnnl_alg_kind_t alg;
    dnnl_dims_t k, st, dil, pl, pr;
} pool_geom;

static void pool_geometry(const nn_plan *p, const nn_op *op, pool_geom *pg)
{
    const nn_shape *si = &p->v[op->in[0]].s, *so = &p->v[op->out].s;
    memset(pg, 0, sizeof *pg);
    int nsp = si->ndim - 2;
    if (op->kind == NN_OP_GAP) {
        pg->alg = dnnl_pooling_avg_exclude_padding;
        for (int a = 0; a < nsp; a++)
            pg->k[a] = pg->st[a] = si->d[2 + a];
        return;
    }
    const nn_pool_params *q = &op->p.pool;
    pg->alg = op->kind == NN_OP_MAXPOOL      ? dnnl_pooling_max
              : q->count_include_pad ? dnnl_pooling_avg_include_padding
                                     : dnnl_pooling_avg_exclude_padding;
    for (int a = 0; a < nsp; a++) {
        pg->k[a] = q->k[a];
        pg->st[a] = q->stride[a];
        pg->pl[a] = q->pad[a];
        pg->pr[a] = (so->d[2 + a] - 1) * q->stride[a] + q->k[a] - si->d[2 + a] - q->pad[a];
    }
}

static dolor_status plan_pool_fwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]];
    pool_geom pg;
    pool_geometry(p, op, &pg);
    dnnl_memory_desc_t d_any;
    nnp_md(&d_any, &p->v[op->out].s, dnnl_format_tag_any);
    dnnl_pooling_v2_desc_t pd;
    DN(dnnl_pooling_v2_forward_desc_init(&pd, nnp_fwd_prop(p), pg.alg, &vi->md, &d_any, pg.st, pg.k, pg.dil, pg.pl, pg.pr));
    TRY(nnp_pd(p, &po->fpd, &pd, NULL));
    TRY(nnp_set_value(p, op->out, dnnl_primitive_desc_query_md(po->fpd, dnnl_query_dst_md, 0)));
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(po->fpd, dnnl_query_workspace_md, 0);
    if (p->training && wmd && dnnl_memory_desc_get_size(wmd) > 0)
        TRY(nnp_buf_mem(p, wmd, NULL, &po->ws));
    nn_step *s = NULL;
    TRY(nnp_exec(p, &p->fwd, po->fpd, &s));
    nnp_arg(s, DNNL_ARG_SRC, vi->mem);
    nnp_arg(s, DNNL_ARG_DST, p->v[op->out].mem);
    nnp_arg(s, DNNL_ARG_WORKSPACE, po->ws);
    return DOLOR_OK;
}

static dolor_status plan_pool_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]], *vo = &p->v[op->out];
    if (!vi->needs_diff)
        return DOLOR_OK;
    pool_geom pg;
    pool_geometry(p, op, &pg);
    dnnl_pooling_v2_desc_t pdsc;
    dnnl_primitive_desc_t pd;
    DN(dnnl_pooling_v2_backward_desc_init(&pdsc, pg.alg, &vi->md, &vo->md, pg.st, pg.k, pg.dil, pg.pl, pg.pr));
    TRY(nnp_pd(p, &pd, &pdsc, po->fpd));
    dnnl_memory_t dsrc;
    int accum;
    TRY(nnp_diff_target(p, op->in[0], &dsrc, &accum));
    nn_step *s = NULL;
    TRY(nnp_exec(p, &p->bwd, pd, &s));
    nnp_arg(s, DNNL_ARG_SRC, vi->mem);
    nnp_arg(s, DNNL_ARG_DIFF_DST, vo->dmem);
    nnp_arg(s, DNNL_ARG_WORKSPACE, po->ws);
    nnp_arg(s, DNNL_ARG_DIFF_SRC, dsrc);
    return nnp_diff_done(p, &p->bwd, op->in[0], accum);
}

/* ONNX MaxPool / AveragePool (ceil_mode 0, torch's padding on both sides; count_include_pad as the op's) and
 * GlobalAveragePool. */
static dolor_status pool_export(const dolor_net *g, nn_onnx *ox, int oi)
{
    const nn_op *op = &g->ops[oi];
    const nn_pool_params *q = &op->p.pool;
    int nsp = nn_onnx_shape(ox, op->in[0])->ndim - 2;
    nn_onnx_node *n = nn_onnx_unary(ox, op->kind == NN_OP_MAXPOOL ? "MaxPool" : "AveragePool",
                                    nn_onnx_value(ox, op->in[0]), nn_onnx_value(ox, op->out));
    nn_onnx_attr_axes(ox, n, "kernel_shape", q->k, nsp);
    nn_onnx_attr_axes(ox, n, "strides", q->stride, nsp);
    nn_onnx_attr_pads(ox, n, q->pad, nsp);
    if (op->kind == NN_OP_AVGPOOL)
        nn_onnx_attr_int(ox, n, "count_include_pad", q->count_include_pad ? 1 : 0);
    return nn_onnx_status(ox);
}

static dolor_status gap_export(const dolor_net *g, nn_onnx *ox, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_onnx_unary(ox, "GlobalAveragePool", nn_onnx_value(ox, op->in[0]), nn_onnx_value(ox, op->out));
    return nn_onnx_status(ox);
}

const nn_op_def nn_op_maxpool_def = {NN_OP_MAXPOOL, "max_pool", 1, 1, pool_infer, NULL, NULL, plan_pool_fwd, plan_pool_bwd,
                                     pool_export};
const nn_op_def nn_op_avgpool_def = {NN_OP_AVGPOOL, "avg_pool", 1, 1, pool_infer, NULL, NULL, plan_pool_fwd, plan_pool_bwd,
                                     pool_export};
const nn_op_def nn_op_gap_def = {NN_OP_GAP, "global_avg_pool", 1, 1, pool_infer, NULL, NULL, plan_pool_fwd, plan_pool_bwd,
                                 gap_export};
