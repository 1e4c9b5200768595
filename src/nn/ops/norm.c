/* Batch normalisation (torch.nn.BatchNorm2d / BatchNorm3d, eps 1e-5 or given, momentum 0.1 or given), optionally
 * fused with a ReLU, on oneDNN. Training normalises with the batch statistics (biased variance)
 * and updates the running statistics with the unbiased variance, as PyTorch does. */
#include "../onnx.h"
#include "../plan.h"

#include <stdlib.h>
#include <string.h>

static dolor_status bn_infer(const nn_op *op, const nn_shape *in, nn_shape *out)
{
    char b[96];
    if (!(op->p.bn.momentum >= 0.f && op->p.bn.momentum <= 1.f))
        return dolor_error(DOLOR_EINVAL, "nn: batch norm %s: momentum %g not in [0, 1]", op->name, op->p.bn.momentum);
    if (!(op->p.bn.eps >= 0.f && op->p.bn.eps < 1.f))
        return dolor_error(DOLOR_EINVAL, "nn: batch norm %s: eps %g not in [0, 1)", op->name, op->p.bn.eps);
    if (in[0].ndim < 3)
        return dolor_error(DOLOR_ESHAPE, "nn: batch norm %s: input %s must be [N, C, H, W] or [N, C, D, H, W]", op->name,
                           nn_shape_str(&in[0], b, sizeof b));
    *out = in[0];
    return DOLOR_OK;
}

static dolor_status bn_add_params(dolor_net *g, nn_op *op, const nn_shape *in)
{
    int64_t s[1] = {in[0].d[1]};
    op->t[0] = nn_add_tensor(g, op->name, "weight", 1, s, 0);
    op->t[1] = nn_add_tensor(g, op->name, "bias", 1, s, 0);
    op->t[2] = nn_add_tensor(g, op->name, "running_mean", 1, s, 1);
    op->t[3] = nn_add_tensor(g, op->name, "running_var", 1, s, 1);
    return DOLOR_OK;
}

/* weight 1, bias 0, running mean 0, running var 1 (with or without an rng) */
static void bn_init(dolor_net *g, const nn_op *op, dolor_rng *rng)
{
    (void)rng;
    const nn_tensor_info *t[4] = {&g->tensors[op->t[0]], &g->tensors[op->t[1]], &g->tensors[op->t[2]],
                                  &g->tensors[op->t[3]]};
    for (size_t j = 0; j < t[0]->numel; j++) {
        g->params[t[0]->offset + j] = 1.f;
        g->params[t[1]->offset + j] = 0.f;
        g->buffers[t[2]->offset + j] = 0.f;
        g->buffers[t[3]->offset + j] = 1.f;
    }
}

static unsigned bn_flags(const nn_op *op, int global)
{
    unsigned f = dnnl_use_scale | dnnl_use_shift;
    if (op->p.bn.relu)
        f |= dnnl_fuse_norm_relu;
    if (global)
        f |= dnnl_use_global_stats;
    return f;
}

static dolor_status plan_bn_fwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]];
    int64_t C = vi->s.d[1];
    if (!p->training && po->flag == 1) {
        /* folded into the convolution before it (ops/conv.c): the same memory, no step */
        nnp_alias_value(p, op->out, op->in[0]);
        return DOLOR_OK;
    }
    dnnl_batch_normalization_desc_t bd;
    DN(dnnl_batch_normalization_forward_desc_init(&bd, nnp_fwd_prop(p), &vi->md, NN_BN_EPS(op), bn_flags(op, !p->training)));
    TRY(nnp_pd(p, &po->fpd, &bd, NULL));
    TRY(nnp_set_value(p, op->out, dnnl_primitive_desc_query_md(po->fpd, dnnl_query_dst_md, 0)));
    dnnl_memory_desc_t c_md;
    nnp_md1(&c_md, C);
    TRY(nnp_mem(p, &c_md, g->params + g->tensors[op->t[0]].offset, &po->scale));
    TRY(nnp_mem(p, &c_md, g->params + g->tensors[op->t[1]].offset, &po->shift));
    float *rm = g->buffers + g->tensors[op->t[2]].offset, *rv = g->buffers + g->tensors[op->t[3]].offset;
    if (p->training) {
        TRY(nnp_buf_mem(p, &c_md, &po->mean_buf, &po->mean));
        TRY(nnp_buf_mem(p, &c_md, &po->var_buf, &po->var));
        if (op->p.bn.relu)
            TRY(nnp_buf_mem(p, dnnl_primitive_desc_query_md(po->fpd, dnnl_query_workspace_md, 0), NULL, &po->ws));
    } else {
        TRY(nnp_mem(p, &c_md, rm, &po->mean));
        TRY(nnp_mem(p, &c_md, rv, &po->var));
    }
    nn_step *s = NULL;
    TRY(nnp_exec(p, &p->fwd, po->fpd, &s));
    nnp_arg(s, DNNL_ARG_SRC, vi->mem);
    nnp_arg(s, DNNL_ARG_DST, p->v[op->out].mem);
    nnp_arg(s, DNNL_ARG_MEAN, po->mean);
    nnp_arg(s, DNNL_ARG_VARIANCE, po->var);
    nnp_arg(s, DNNL_ARG_SCALE, po->scale);
    nnp_arg(s, DNNL_ARG_SHIFT, po->shift);
    nnp_arg(s, DNNL_ARG_WORKSPACE, po->ws);
    if (p->training) {
        TRY(nnp_step(&p->fwd, &s));
        s->kind = STEP_BN_RUNNING;
        s->a = rm;
        s->b = rv;
        s->c = po->mean_buf;
        s->d = po->var_buf;
        s->n = (size_t)C;
        s->count = (double)p->N * (double)nnp_spatial(&vi->s);
        s->momentum = op->p.bn.momentum > 0 ? op->p.bn.momentum : BN_MOMENTUM;
    }
    return DOLOR_OK;
}

static dolor_status plan_bn_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]], *vo = &p->v[op->out];
    dnnl_batch_normalization_desc_t bd;
    DN(dnnl_batch_normalization_backward_desc_init(&bd, dnnl_backward, &vo->md, &vi->md, NN_BN_EPS(op), bn_flags(op, 0)));
    dnnl_primitive_desc_t pd;
    TRY(nnp_pd(p, &pd, &bd, po->fpd));
    dnnl_memory_desc_t c_md;
    nnp_md1(&c_md, vi->s.d[1]);
    TRY(nnp_mem(p, &c_md, g->grads + g->tensors[op->t[0]].offset, &po->dscale));
    TRY(nnp_mem(p, &c_md, g->grads + g->tensors[op->t[1]].offset, &po->dshift));
    dnnl_memory_t dsrc;
    int accum;
    TRY(nnp_diff_target(p, op->in[0], &dsrc, &accum));
    nn_step *s = NULL;
    TRY(nnp_exec(p, &p->bwd, pd, &s));
    nnp_arg(s, DNNL_ARG_SRC, vi->mem);
    nnp_arg(s, DNNL_ARG_MEAN, po->mean);
    nnp_arg(s, DNNL_ARG_VARIANCE, po->var);
    nnp_arg(s, DNNL_ARG_DIFF_DST, vo->dmem);
    nnp_arg(s, DNNL_ARG_SCALE, po->scale);
    nnp_arg(s, DNNL_ARG_SHIFT, po->shift);
    nnp_arg(s, DNNL_ARG_WORKSPACE, po->ws);
    nnp_arg(s, DNNL_ARG_DIFF_SRC, dsrc);
    nnp_arg(s, DNNL_ARG_DIFF_SCALE, po->dscale);
    nnp_arg(s, DNNL_ARG_DIFF_SHIFT, po->dshift);
    return nnp_diff_done(p, &p->bwd, op->in[0], accum);
}

/* ONNX BatchNormalization (opset 15, inference: training_mode 0) with the running statistics and the op's
 * epsilon (torch's 1e-5 unless set), then Relu when the ReLU is fused. */
static dolor_status bn_export(const dolor_net *g, nn_onnx *ox, int oi)
{
    const nn_op *op = &g->ops[oi];
    const char *in[5] = {nn_onnx_value(ox, op->in[0]), nn_onnx_param(ox, op->t[0]), nn_onnx_param(ox, op->t[1]),
                         nn_onnx_param(ox, op->t[2]), nn_onnx_param(ox, op->t[3])};
    const char *out = nn_onnx_value(ox, op->out), *y = op->p.bn.relu ? nn_onnx_tmp(ox) : out;
    nn_onnx_node *n = nn_onnx_add_node(ox, "BatchNormalization", in, 5, y);
    nn_onnx_attr_float(ox, n, "epsilon", NN_BN_EPS(op));
    if (op->p.bn.relu)
        nn_onnx_unary(ox, "Relu", y, out);
    return nn_onnx_status(ox);
}

const nn_op_def nn_op_bn_def = {NN_OP_BN, "batch_norm", 1, 1, bn_infer, bn_add_params, bn_init, plan_bn_fwd, plan_bn_bwd,
                                bn_export};
