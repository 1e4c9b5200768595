/* Axis permutation (torch.Tensor.permute with the batch axis kept first). Z-pool, which pools over
 * any axis of a 4-D tensor without permuting it, is in ops/attention.c. */
#include "../onnx.h"
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

/* ONNX Transpose(perm): output axis i is input axis perm[i], as torch.permute. */
static dolor_status permute_export(const dolor_net *g, nn_onnx *ox, int oi)
{
    const nn_op *op = &g->ops[oi];
    int64_t perm[NN_MAX_DIMS];
    int nd = nn_onnx_shape(ox, op->in[0])->ndim;
    for (int i = 0; i < nd; i++)
        perm[i] = op->p.perm.perm[i];
    nn_onnx_node *n = nn_onnx_unary(ox, "Transpose", nn_onnx_value(ox, op->in[0]), nn_onnx_value(ox, op->out));
    nn_onnx_attr_ints(ox, n, "perm", perm, nd);
    return nn_onnx_status(ox);
}

const nn_op_def nn_op_permute_def = {NN_OP_PERMUTE, "permute", 1, 1, permute_infer, NULL, NULL, plan_permute_fwd,
                                     plan_permute_bwd, permute_export};
