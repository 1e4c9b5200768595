/* Channel concatenation (torch.cat(xs, dim=1)), channel slicing (x[:, c0:c1], the pieces of a
 * torch.split along channels) and flattening (torch.flatten(x, 1)). Where the layouts allow it
 * (nnp_chan_block: channel blocks outermost after N, offsets on block boundaries) these are
 * copies of contiguous runs; otherwise oneDNN reorders through sub-memories. */
#include "../onnx.h"
#include "../plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- concat ---- */

static dolor_status concat_infer(const nn_op *op, const nn_shape *in, nn_shape *out)
{
    char b1[96], b2[96];
    *out = in[0];
    for (int k = 1; k < op->nin; k++) {
        int ok = in[k].ndim == in[0].ndim && in[0].ndim >= 2;
        for (int i = 0; ok && i < in[0].ndim; i++)
            ok = i == 1 || in[k].d[i] == in[0].d[i];
        if (!ok)
            return dolor_error(DOLOR_ESHAPE, "nn: concat: input %d has shape %s, input 0 has %s (only channels may differ)",
                               k, nn_shape_str(&in[k], b1, sizeof b1), nn_shape_str(&in[0], b2, sizeof b2));
        out->d[1] += in[k].d[1];
    }
    return DOLOR_OK;
}

/* block size of the fast path, 0 if not possible */
static int concat_block(const nn_plan *p, const nn_op *op)
{
    int b = nnp_chan_block(&p->v[op->in[0]].md);
    if (b <= 0)
        return 0;
    for (int k = 0; k < op->nin; k++) {
        const dnnl_memory_desc_t *m = &p->v[op->in[k]].md;
        if (nnp_chan_block(m) != b)
            return 0;
        if (k < op->nin - 1 && (m->dims[1] % b || m->padded_dims[1] != m->dims[1]))
            return 0;
    }
    return b;
}

static dolor_status plan_concat_fwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    int b = concat_block(p, op);
    if (b > 0) {
        const nn_pval *va = &p->v[op->in[0]];
        int nd = va->s.ndim;
        int64_t ct = p->v[op->out].s.d[1];
        dnnl_memory_desc_t md = va->md; /* same format, more channels */
        md.dims[1] = ct;
        md.padded_dims[1] = (ct + b - 1) / b * b;
        int64_t sp = 1;
        for (int k = 2; k < nd; k++)
            sp *= md.padded_dims[k];
        md.format_desc.blocking.strides[0] = md.padded_dims[1] * sp;
        TRY(nnp_set_value(p, op->out, &md));
        po->flag = b;
        size_t lo = (size_t)(md.padded_dims[1] * sp), off = 0;
        float *out = p->v[op->out].data;
        for (int k = 0; k < op->nin; k++) {
            const nn_pval *vi = &p->v[op->in[k]];
            size_t li = (size_t)(vi->md.padded_dims[1] * sp);
            TRY(nnp_chunks(&p->fwd, out + off, lo, vi->data, li, (size_t)p->N, li, 0));
            off += li;
        }
        return DOLOR_OK;
    }
    dnnl_memory_desc_t srcs[NN_OP_MAX_IN];
    for (int k = 0; k < op->nin; k++)
        srcs[k] = p->v[op->in[k]].md;
    DN(dnnl_concat_primitive_desc_create(&po->fpd, NULL, op->nin, 1, srcs, p->attr, p->eng));
    TRY(nnp_own_pd(p, po->fpd));
    TRY(nnp_set_value(p, op->out, dnnl_primitive_desc_query_md(po->fpd, dnnl_query_dst_md, 0)));
    nn_step *s = NULL;
    TRY(nnp_exec(p, &p->fwd, po->fpd, &s));
    for (int k = 0; k < op->nin; k++)
        nnp_arg(s, DNNL_ARG_MULTIPLE_SRC + k, p->v[op->in[k]].mem);
    nnp_arg(s, DNNL_ARG_DST, p->v[op->out].mem);
    return DOLOR_OK;
}

/* Split d(out) into the inputs: contiguous runs (fast path), or a reorder from a sub-memory of
 * d(out) per input. Blocked layouts only allow sub-memories at block-aligned channel offsets;
 * otherwise d(out) is first reordered to plain once. */
static dolor_status plan_concat_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pval *vo = &p->v[op->out];
    int nd = vo->s.ndim;
    if (p->ops[oi].flag > 0) {
        int64_t sp = nnp_spatial(&vo->s);
        size_t lo = (size_t)(vo->md.padded_dims[1] * sp), off = 0;
        for (int k = 0; k < op->nin; k++) {
            nn_pval *vi = &p->v[op->in[k]];
            size_t li = (size_t)(vi->md.padded_dims[1] * sp);
            if (vi->needs_diff) {
                TRY(nnp_chunks(&p->bwd, vi->diff, li, vo->diff + off, lo, (size_t)p->N, li, vi->diff_written));
                vi->diff_written = 1;
            }
            off += li;
        }
        return DOLOR_OK;
    }
    p->act_reorders += 2;
    dnnl_memory_desc_t sub[NN_OP_MAX_IN];
    int ok = 1;
    int64_t off = 0;
    for (int k = 0; k < op->nin; k++) {
        const nn_pval *vi = &p->v[op->in[k]];
        dnnl_dims_t dims, offs = {0};
        for (int i = 0; i < nd; i++)
            dims[i] = vi->s.d[i];
        offs[1] = off;
        if (dnnl_memory_desc_init_submemory(&sub[k], &vo->md, dims, offs) != dnnl_success)
            ok = 0;
        off += vi->s.d[1];
    }
    float *src_buf = vo->diff;
    if (!ok) {
        dnnl_memory_desc_t plain;
        nnp_md(&plain, &vo->s, nnp_plain_tag(nd));
        dnnl_memory_t pm;
        TRY(nnp_buf_mem(p, &plain, &src_buf, &pm));
        TRY(nnp_reorder(p, &p->bwd, &vo->md, vo->dmem, &plain, pm));
        off = 0;
        for (int k = 0; k < op->nin; k++) {
            const nn_pval *vi = &p->v[op->in[k]];
            dnnl_dims_t dims, offs = {0};
            for (int i = 0; i < nd; i++)
                dims[i] = vi->s.d[i];
            offs[1] = off;
            DN(dnnl_memory_desc_init_submemory(&sub[k], &plain, dims, offs));
            off += vi->s.d[1];
        }
    }
    for (int k = 0; k < op->nin; k++) {
        if (!p->v[op->in[k]].needs_diff)
            continue;
        dnnl_memory_t sm, dst;
        int accum;
        TRY(nnp_mem(p, &sub[k], src_buf, &sm));
        TRY(nnp_diff_target(p, op->in[k], &dst, &accum));
        TRY(nnp_reorder(p, &p->bwd, &sub[k], sm, &p->v[op->in[k]].md, dst));
        TRY(nnp_diff_done(p, &p->bwd, op->in[k], accum));
    }
    return DOLOR_OK;
}

/* ONNX Concat on axis 1. */
static dolor_status concat_export(const dolor_net *g, nn_onnx *ox, int oi)
{
    const nn_op *op = &g->ops[oi];
    const char *in[NN_OP_MAX_IN];
    for (int k = 0; k < op->nin; k++)
        in[k] = nn_onnx_value(ox, op->in[k]);
    nn_onnx_node *n = nn_onnx_add_node(ox, "Concat", in, op->nin, nn_onnx_value(ox, op->out));
    nn_onnx_attr_int(ox, n, "axis", 1);
    return nn_onnx_status(ox);
}

const nn_op_def nn_op_concat_def = {NN_OP_CONCAT, "concat", 2, NN_OP_MAX_IN, concat_infer, NULL, NULL, plan_concat_fwd,
                                    plan_concat_bwd, concat_export};

/* ----------------------------------------------------------------- slice ---- */

static dolor_status slice_infer(const nn_op *op, const nn_shape *in, nn_shape *out)
{
    char b[96];
    const nn_slice_params *q = &op->p.slice;
    if (in[0].ndim < 2 || q->c0 < 0 || q->c1 <= q->c0 || q->c1 > in[0].d[1])
        return dolor_error(DOLOR_ESHAPE, "nn: channel slice [%d, %d) of input %s is empty or out of range", q->c0, q->c1,
                           nn_shape_str(&in[0], b, sizeof b));
    *out = in[0];
    out->d[1] = q->c1 - q->c0;
    return DOLOR_OK;
}

static dolor_status plan_slice_fwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]];
    const nn_slice_params *q = &op->p.slice;
    int nd = vi->s.ndim, b = nnp_chan_block(&vi->md);
    const nn_shape *so = &p->v[op->out].s;
    int64_t sp = nnp_spatial(&vi->s);
    if (b > 0 && q->c0 % b == 0 && (q->c1 % b == 0 || q->c1 == vi->s.d[1])) {
        dnnl_memory_desc_t md;
        nnp_md(&md, so, nnp_blocked_tag(nd, b));
        if (nnp_chan_block(&md) == b) {
            po->flag = b;
            TRY(nnp_set_value(p, op->out, &md));
            size_t li = (size_t)(vi->md.padded_dims[1] * sp), lo = (size_t)(md.padded_dims[1] * sp);
            return nnp_chunks(&p->fwd, p->v[op->out].data, lo, vi->data + (size_t)q->c0 * sp, li, (size_t)p->N, lo, 0);
        }
    }
    /* general: reorder a sub-memory of the input (of a plain copy if the layout does not allow one) */
    dnnl_memory_desc_t plain, sub, omd;
    nnp_md(&omd, so, nnp_plain_tag(nd));
    TRY(nnp_set_value(p, op->out, &omd));
    dnnl_dims_t dims, offs = {0};
    for (int i = 0; i < nd; i++)
        dims[i] = so->d[i];
    offs[1] = q->c0;
    float *src = vi->data;
    if (dnnl_memory_desc_init_submemory(&sub, &vi->md, dims, offs) != dnnl_success) {
        nnp_md(&plain, &vi->s, nnp_plain_tag(nd));
        dnnl_memory_t pm;
        TRY(nnp_buf_mem(p, &plain, &src, &pm));
        TRY(nnp_reorder(p, &p->fwd, &vi->md, vi->mem, &plain, pm));
        DN(dnnl_memory_desc_init_submemory(&sub, &plain, dims, offs));
    }
    dnnl_memory_t sm;
    TRY(nnp_mem(p, &sub, src, &sm));
    return nnp_reorder(p, &p->fwd, &sub, sm, &omd, p->v[op->out].mem);
}

static dolor_status plan_slice_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pval *vi = &p->v[op->in[0]], *vo = &p->v[op->out];
    const nn_slice_params *q = &op->p.slice;
    if (!vi->needs_diff)
        return DOLOR_OK;
    int nd = vi->s.ndim;
    int64_t sp = nnp_spatial(&vi->s);
    if (p->ops[oi].flag > 0) {
        size_t li = (size_t)(vi->md.padded_dims[1] * sp), lo = (size_t)(vo->md.padded_dims[1] * sp);
        if (!vi->diff_written)
            TRY(nnp_zero(&p->bwd, vi->diff, dnnl_memory_desc_get_size(&vi->md) / sizeof(float)));
        TRY(nnp_chunks(&p->bwd, vi->diff + (size_t)q->c0 * sp, li, vo->diff, lo, (size_t)p->N, lo, vi->diff_written));
        vi->diff_written = 1;
        return DOLOR_OK;
    }
    /* plain full-size buffer: zero, d(out) into its sub-memory, then into the input's gradient */
    dnnl_memory_desc_t plain, sub;
    nnp_md(&plain, &vi->s, nnp_plain_tag(nd));
    float *buf;
    dnnl_memory_t pm, sm, t;
    TRY(nnp_buf_mem(p, &plain, &buf, &pm));
    dnnl_dims_t dims, offs = {0};
    for (int i = 0; i < nd; i++)
        dims[i] = vo->s.d[i];
    offs[1] = q->c0;
    DN(dnnl_memory_desc_init_submemory(&sub, &plain, dims, offs));
    TRY(nnp_mem(p, &sub, buf, &sm));
    TRY(nnp_zero(&p->bwd, buf, dnnl_memory_desc_get_size(&plain) / sizeof(float)));
    TRY(nnp_reorder(p, &p->bwd, &vo->md, vo->dmem, &sub, sm));
    int accum;
    TRY(nnp_diff_target(p, op->in[0], &t, &accum));
    TRY(nnp_reorder(p, &p->bwd, &plain, pm, &vi->md, t));
    return nnp_diff_done(p, &p->bwd, op->in[0], accum);
}

/* ONNX Slice (opset 13: starts, ends, axes as int64 inputs): channels [c0, c1) of axis 1. */
static dolor_status slice_export(const dolor_net *g, nn_onnx *ox, int oi)
{
    const nn_op *op = &g->ops[oi];
    int64_t c0 = op->p.slice.c0, c1 = op->p.slice.c1, axis = 1;
    const char *in[4] = {nn_onnx_value(ox, op->in[0]), nn_onnx_const_i64(ox, &c0, 1), nn_onnx_const_i64(ox, &c1, 1),
                         nn_onnx_const_i64(ox, &axis, 1)};
    nn_onnx_add_node(ox, "Slice", in, 4, nn_onnx_value(ox, op->out));
    return nn_onnx_status(ox);
}

const nn_op_def nn_op_slice_def = {NN_OP_SLICE, "slice", 1, 1, slice_infer, NULL, NULL, plan_slice_fwd, plan_slice_bwd,
                                   slice_export};

/* --------------------------------------------------------------- flatten ---- */

static dolor_status flatten_infer(const nn_op *op, const nn_shape *in, nn_shape *out)
{
    (void)op;
    out->ndim = 2;
    out->d[0] = in[0].d[0];
    out->d[1] = nn_shape_numel(&in[0]) / in[0].d[0];
    return DOLOR_OK;
}

static dolor_status plan_flatten_fwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pval *vi = &p->v[op->in[0]];
    dnnl_memory_desc_t omd, view;
    nnp_md(&omd, &p->v[op->out].s, dnnl_ab);
    TRY(nnp_set_value(p, op->out, &omd));
    nnp_md(&view, &vi->s, nnp_plain_tag(vi->s.ndim)); /* the output's buffer seen with the input's shape */
    dnnl_memory_t vm;
    TRY(nnp_mem(p, &view, p->v[op->out].data, &vm));
    return nnp_reorder(p, &p->fwd, &vi->md, vi->mem, &view, vm);
}

static dolor_status plan_flatten_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pval *vi = &p->v[op->in[0]], *vo = &p->v[op->out];
    if (!vi->needs_diff)
        return DOLOR_OK;
    dnnl_memory_desc_t view;
    nnp_md(&view, &vi->s, nnp_plain_tag(vi->s.ndim));
    dnnl_memory_t vm, t;
    int accum;
    TRY(nnp_mem(p, &view, vo->diff, &vm));
    TRY(nnp_diff_target(p, op->in[0], &t, &accum));
    TRY(nnp_reorder(p, &p->bwd, &view, vm, &vi->md, t));
    return nnp_diff_done(p, &p->bwd, op->in[0], accum);
}

/* ONNX Flatten(axis 1): [N, C, ...] -> [N, C * ...], row-major as torch.flatten(x, 1). */
static dolor_status flatten_export(const dolor_net *g, nn_onnx *ox, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_onnx_node *n = nn_onnx_unary(ox, "Flatten", nn_onnx_value(ox, op->in[0]), nn_onnx_value(ox, op->out));
    nn_onnx_attr_int(ox, n, "axis", 1);
    return nn_onnx_status(ox);
}

const nn_op_def nn_op_flatten_def = {NN_OP_FLATTEN, "flatten", 1, 1, flatten_infer, NULL, NULL, plan_flatten_fwd,
                                     plan_flatten_bwd, flatten_export};
