/* Fully connected layer (torch.nn.Linear(F, O), weight [O, F], bias [O]) on [N, F] values, with
 * oneDNN's inner product. */
#include "../onnx.h"
#include "../plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static dolor_status lin_infer(const nn_op *op, const nn_shape *in, nn_shape *out)
{
    char b[96];
    if (in[0].ndim != 2)
        return dolor_error(DOLOR_ESHAPE, "nn: linear %s: input %s must be [N, F] (flatten first)", op->name,
                           nn_shape_str(&in[0], b, sizeof b));
    if (op->p.lin.out_features < 1)
        return dolor_error(DOLOR_EINVAL, "nn: linear %s: out_features %d < 1", op->name, op->p.lin.out_features);
    out->ndim = 2;
    out->d[0] = in[0].d[0];
    out->d[1] = op->p.lin.out_features;
    return DOLOR_OK;
}

static dolor_status lin_add_params(dolor_net *g, nn_op *op, const nn_shape *in)
{
    int64_t ws[2] = {op->p.lin.out_features, in[0].d[1]}, bs[1] = {op->p.lin.out_features};
    op->t[0] = nn_add_tensor(g, op->name, "weight", 2, ws, 0);
    if (op->p.lin.bias)
        op->t[1] = nn_add_tensor(g, op->name, "bias", 1, bs, 0);
    return DOLOR_OK;
}

/* torch: kaiming_uniform(a = sqrt(5)) = U(+-1/sqrt(F)), bias U(+-1/sqrt(F)) */
static void lin_init(dolor_net *g, const nn_op *op, dolor_rng *rng)
{
    if (!rng)
        return;
    const nn_tensor_info *tw = &g->tensors[op->t[0]];
    double bound = 1.0 / sqrt((double)tw->shape[1]);
    for (size_t j = 0; j < tw->numel; j++)
        g->params[tw->offset + j] = (float)((2 * dolor_rng_uniform(rng) - 1) * bound);
    if (op->t[1] >= 0) {
        const nn_tensor_info *tb = &g->tensors[op->t[1]];
        for (size_t j = 0; j < tb->numel; j++)
            g->params[tb->offset + j] = (float)((2 * dolor_rng_uniform(rng) - 1) * bound);
    }
}

static void lin_mds(const nn_plan *p, const nn_op *op, dnnl_memory_desc_t *w_any, dnnl_memory_desc_t *w_plain,
                    dnnl_memory_desc_t *b_md, dnnl_memory_desc_t *d_md)
{
    const nn_shape *si = &p->v[op->in[0]].s;
    nn_shape ws = {2, {op->p.lin.out_features, si->d[1]}};
    nnp_md(w_any, &ws, dnnl_format_tag_any);
    nnp_md(w_plain, &ws, dnnl_ab);
    nnp_md1(b_md, op->p.lin.out_features);
    nnp_md(d_md, &p->v[op->out].s, dnnl_ab);
}

static dolor_status plan_lin_fwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]];
    dnnl_memory_desc_t w_any, w_plain, b_md, d_md;
    lin_mds(p, op, &w_any, &w_plain, &b_md, &d_md);
    dnnl_inner_product_desc_t id;
    DN(dnnl_inner_product_forward_desc_init(&id, nnp_fwd_prop(p), &vi->md, &w_any, op->p.lin.bias ? &b_md : NULL, &d_md));
    TRY(nnp_pd(p, &po->fpd, &id, NULL));
    po->w_fwd_md = *dnnl_primitive_desc_query_md(po->fpd, dnnl_query_weights_md, 0);
    TRY(nnp_set_value(p, op->out, &d_md));
    TRY(nnp_mem(p, &w_plain, g->params + g->tensors[op->t[0]].offset, &po->w_plain));
    if (dnnl_memory_desc_equal(&po->w_fwd_md, &w_plain)) {
        po->w_fwd = po->w_plain;
    } else {
        TRY(nnp_buf_mem(p, &po->w_fwd_md, NULL, &po->w_fwd));
        TRY(nnp_reorder(p, nnp_wprog(p), &w_plain, po->w_plain, &po->w_fwd_md, po->w_fwd));
    }
    if (op->p.lin.bias)
        TRY(nnp_mem(p, &b_md, g->params + g->tensors[op->t[1]].offset, &po->bias));
    nn_step *s = NULL;
    TRY(nnp_exec(p, &p->fwd, po->fpd, &s));
    nnp_arg(s, DNNL_ARG_SRC, vi->mem);
    nnp_arg(s, DNNL_ARG_WEIGHTS, po->w_fwd);
    nnp_arg(s, DNNL_ARG_BIAS, po->bias);
    nnp_arg(s, DNNL_ARG_DST, p->v[op->out].mem);
    return DOLOR_OK;
}

static dolor_status plan_lin_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]], *vo = &p->v[op->out];
    dnnl_memory_desc_t w_any, w_plain, b_md, d_md;
    lin_mds(p, op, &w_any, &w_plain, &b_md, &d_md);
    dnnl_inner_product_desc_t id;
    dnnl_primitive_desc_t pd;
    nn_step *s = NULL;
    DN(dnnl_inner_product_backward_weights_desc_init(&id, &vi->md, &w_any, op->p.lin.bias ? &b_md : NULL, &vo->md));
    TRY(nnp_pd(p, &pd, &id, po->fpd));
    const dnnl_memory_desc_t *dwmd = dnnl_primitive_desc_query_md(pd, dnnl_query_diff_weights_md, 0);
    dnnl_memory_t dw_plain, dw, dbias = NULL;
    TRY(nnp_mem(p, &w_plain, g->grads + g->tensors[op->t[0]].offset, &dw_plain));
    int dw_reorder = !dnnl_memory_desc_equal(dwmd, &w_plain);
    dw = dw_plain;
    if (dw_reorder)
        TRY(nnp_buf_mem(p, dwmd, NULL, &dw));
    if (op->p.lin.bias)
        TRY(nnp_mem(p, &b_md, g->grads + g->tensors[op->t[1]].offset, &dbias));
    TRY(nnp_exec(p, &p->bwd, pd, &s));
    nnp_arg(s, DNNL_ARG_SRC, vi->mem);
    nnp_arg(s, DNNL_ARG_DIFF_DST, vo->dmem);
    nnp_arg(s, DNNL_ARG_DIFF_WEIGHTS, dw);
    nnp_arg(s, DNNL_ARG_DIFF_BIAS, dbias);
    if (dw_reorder)
        TRY(nnp_reorder(p, &p->bwd, dwmd, dw, &w_plain, dw_plain));
    if (!vi->needs_diff)
        return DOLOR_OK;
    DN(dnnl_inner_product_backward_data_desc_init(&id, &vi->md, &w_any, &vo->md));
    TRY(nnp_pd(p, &pd, &id, po->fpd));
    const dnnl_memory_desc_t *wbmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_memory_t wb;
    if (dnnl_memory_desc_equal(wbmd, &po->w_fwd_md))
        wb = po->w_fwd;
    else if (dnnl_memory_desc_equal(wbmd, &w_plain))
        wb = po->w_plain;
    else {
        TRY(nnp_buf_mem(p, wbmd, NULL, &wb));
        TRY(nnp_reorder(p, &p->bwd, &w_plain, po->w_plain, wbmd, wb));
    }
    dnnl_memory_t dsrc;
    int accum;
    TRY(nnp_diff_target(p, op->in[0], &dsrc, &accum));
    TRY(nnp_exec(p, &p->bwd, pd, &s));
    nnp_arg(s, DNNL_ARG_DIFF_DST, vo->dmem);
    nnp_arg(s, DNNL_ARG_WEIGHTS, wb);
    nnp_arg(s, DNNL_ARG_DIFF_SRC, dsrc);
    return nnp_diff_done(p, &p->bwd, op->in[0], accum);
}

/* ONNX Gemm(x, W, b, transB 1): x W^T + b with torch's weight [O, F]; without a bias, C is left out. */
static dolor_status lin_export(const dolor_net *g, nn_onnx *ox, int oi)
{
    const nn_op *op = &g->ops[oi];
    const char *in[3] = {nn_onnx_value(ox, op->in[0]), nn_onnx_param(ox, op->t[0]),
                         op->p.lin.bias ? nn_onnx_param(ox, op->t[1]) : NULL};
    nn_onnx_node *n = nn_onnx_add_node(ox, "Gemm", in, op->p.lin.bias ? 3 : 2, nn_onnx_value(ox, op->out));
    nn_onnx_attr_int(ox, n, "transB", 1);
    return nn_onnx_status(ox);
}

const nn_op_def nn_op_linear_def = {NN_OP_LINEAR, "linear", 1, 1, lin_infer, lin_add_params, lin_init, plan_lin_fwd,
                                    plan_lin_bwd, lin_export};
