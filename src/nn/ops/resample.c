/* Upsampling on oneDNN, 2D and 3D: by integer factors (torch.nn.Upsample(scale_factor, mode='nearest'
 * or 'bilinear' / 'trilinear', align_corners=False)), or, with a second input, to that input's
 * spatial size (F.interpolate(x, size=ref.shape[2:], mode='nearest-exact' or '(bi/tri)linear',
 * align_corners=False): oneDNN's nearest takes source index floor((dst + 0.5) * in / out), which is
 * torch's 'nearest-exact'; for integer factors it equals 'nearest'). The reference only gives the
 * size: it receives no gradient. */
#include "../onnx.h"
#include "../plan.h"

#include <stdlib.h>
#include <string.h>

static dolor_status rs_infer(const nn_op *op, const nn_shape *in, nn_shape *out)
{
    char b[96];
    if (in[0].ndim != 4 && in[0].ndim != 5)
        return dolor_error(DOLOR_ESHAPE, "nn: upsample: input %s must be [N, C, H, W] or [N, C, D, H, W]",
                           nn_shape_str(&in[0], b, sizeof b));
    if (op->p.rs.mode != NN_RESAMPLE_NEAREST && op->p.rs.mode != NN_RESAMPLE_LINEAR)
        return dolor_error(DOLOR_EINVAL, "nn: upsample: mode %d is not nearest (0) or linear (1)", op->p.rs.mode);
    *out = in[0];
    if (op->nin == 2) {
        char b2[96];
        if (in[1].ndim != in[0].ndim)
            return dolor_error(DOLOR_ESHAPE, "nn: upsample: input %s and size reference %s differ in rank",
                               nn_shape_str(&in[0], b, sizeof b), nn_shape_str(&in[1], b2, sizeof b2));
        for (int a = 2; a < in[0].ndim; a++)
            out->d[a] = in[1].d[a];
        return DOLOR_OK;
    }
    for (int a = 0; a < in[0].ndim - 2; a++) {
        if (op->p.rs.scale[a] < 1 || op->p.rs.scale[a] > 64)
            return dolor_error(DOLOR_EINVAL, "nn: upsample: scale %d on axis %d not in 1..64", op->p.rs.scale[a], a);
        out->d[2 + a] = in[0].d[2 + a] * op->p.rs.scale[a];
    }
    return DOLOR_OK;
}

/* f: the factors, or NULL (to a reference's size: oneDNN takes them from the dims) */
static dnnl_alg_kind_t rs_alg(const nn_op *op, float **f, int nsp)
{
    if (op->nin == 2)
        *f = NULL;
    for (int a = 0; *f && a < nsp; a++)
        (*f)[a] = (float)op->p.rs.scale[a];
    return op->p.rs.mode == NN_RESAMPLE_NEAREST ? dnnl_resampling_nearest : dnnl_resampling_linear;
}

static dolor_status plan_rs_fwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]];
    float fb[3], *f = fb;
    dnnl_alg_kind_t alg = rs_alg(op, &f, vi->s.ndim - 2);
    dnnl_memory_desc_t d_any;
    nnp_md(&d_any, &p->v[op->out].s, dnnl_format_tag_any);
    dnnl_resampling_desc_t rd;
    DN(dnnl_resampling_forward_desc_init(&rd, nnp_fwd_prop(p), alg, f, &vi->md, &d_any));
    TRY(nnp_pd(p, &po->fpd, &rd, NULL));
    TRY(nnp_set_value(p, op->out, dnnl_primitive_desc_query_md(po->fpd, dnnl_query_dst_md, 0)));
    nn_step *s = NULL;
    TRY(nnp_exec(p, &p->fwd, po->fpd, &s));
    nnp_arg(s, DNNL_ARG_SRC, vi->mem);
    nnp_arg(s, DNNL_ARG_DST, p->v[op->out].mem);
    return DOLOR_OK;
}

typedef struct zero_ctx {
    float *p;
    size_t bytes;
} zero_ctx;

static void zero_fill(void *c)
{
    zero_ctx *z = c;
    memset(z->p, 0, z->bytes);
}

/* The size reference gets no gradient from here; if no other operation reads it, its gradient
 * buffer would be left unwritten for its producer's backward, so it is zeroed. */
static dolor_status ref_no_grad(dolor_net *g, nn_plan *p, int oi)
{
    int ref = g->ops[oi].in[1];
    nn_pval *vr = &p->v[ref];
    if (!vr->needs_diff || vr->diff_written)
        return DOLOR_OK;
    for (int k = 0; k < g->nops; k++)
        for (int j = 0; j < g->ops[k].nin; j++)
            if (k != oi && g->ops[k].in[j] == ref)
                return DOLOR_OK; /* another reader writes it */
    zero_ctx *z;
    TRY(nnp_alloc(p, sizeof *z, (float **)&z));
    dnnl_memory_t m;
    int accum;
    TRY(nnp_diff_target(p, ref, &m, &accum));
    z->p = vr->diff;
    z->bytes = dnnl_memory_desc_get_size(&vr->md);
    return nnp_fn(&p->bwd, zero_fill, z);
}

static dolor_status plan_rs_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]], *vo = &p->v[op->out];
    if (op->nin == 2)
        TRY(ref_no_grad(g, p, oi));
    if (!vi->needs_diff)
        return DOLOR_OK;
    float fb[3], *f = fb;
    dnnl_alg_kind_t alg = rs_alg(op, &f, vi->s.ndim - 2);
    dnnl_resampling_desc_t rd;
    dnnl_primitive_desc_t pd;
    DN(dnnl_resampling_backward_desc_init(&rd, alg, f, &vi->md, &vo->md));
    TRY(nnp_pd(p, &pd, &rd, po->fpd));
    dnnl_memory_t dsrc;
    int accum;
    TRY(nnp_diff_target(p, op->in[0], &dsrc, &accum));
    nn_step *s = NULL;
    TRY(nnp_exec(p, &p->bwd, pd, &s));
    nnp_arg(s, DNNL_ARG_DIFF_DST, vo->dmem);
    nnp_arg(s, DNNL_ARG_DIFF_SRC, dsrc);
    return nnp_diff_done(p, &p->bwd, op->in[0], accum);
}

/* ONNX Resize (opset 13 semantics, unchanged to 17), with the source coordinate of each mode as torch's:
 *  - integer factors, nearest (torch 'nearest': src = floor(dst / s)): scales, asymmetric + floor;
 *  - to a reference's size, nearest (torch 'nearest-exact': src = floor((dst + 0.5) in / out)): sizes fixed at
 *    the export shape, half_pixel + round_prefer_ceil (round((dst + 0.5) in / out - 0.5), halves up);
 *  - linear, align_corners=False (src = (dst + 0.5) / s - 0.5, clamped at the edges): half_pixel linear, by
 *    scales or by sizes. */
static dolor_status rs_export(const dolor_net *g, nn_onnx *ox, int oi)
{
    const nn_op *op = &g->ops[oi];
    const nn_shape *so = nn_onnx_shape(ox, op->out);
    int nearest = op->p.rs.mode == NN_RESAMPLE_NEAREST, to_size = op->nin == 2;
    const char *in[4] = {nn_onnx_value(ox, op->in[0]), "", "", ""};
    if (to_size) {
        in[3] = nn_onnx_const_i64(ox, so->d, so->ndim);
    } else {
        float f[NN_MAX_DIMS] = {1.f, 1.f};
        for (int a = 2; a < so->ndim; a++)
            f[a] = (float)op->p.rs.scale[a - 2];
        in[2] = nn_onnx_const_f32(ox, f, so->ndim, 0);
    }
    nn_onnx_node *n = nn_onnx_add_node(ox, "Resize", in, to_size ? 4 : 3, nn_onnx_value(ox, op->out));
    nn_onnx_attr_string(ox, n, "mode", nearest ? "nearest" : "linear");
    nn_onnx_attr_string(ox, n, "coordinate_transformation_mode", nearest && !to_size ? "asymmetric" : "half_pixel");
    if (nearest)
        nn_onnx_attr_string(ox, n, "nearest_mode", to_size ? "round_prefer_ceil" : "floor");
    return nn_onnx_status(ox);
}

const nn_op_def nn_op_upsample_def = {NN_OP_UPSAMPLE, "upsample", 1, 2, rs_infer, NULL, NULL, plan_rs_fwd, plan_rs_bwd,
                                      rs_export};
