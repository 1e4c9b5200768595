/* Upsampling by integer factors on oneDNN (torch.nn.Upsample(scale_factor, mode='nearest' or
 * 'bilinear' / 'trilinear', align_corners=False)), 2D and 3D. */
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
    for (int a = 0; a < in[0].ndim - 2; a++) {
        if (op->p.rs.scale[a] < 1 || op->p.rs.scale[a] > 64)
            return dolor_error(DOLOR_EINVAL, "nn: upsample: scale %d on axis %d not in 1..64", op->p.rs.scale[a], a);
        out->d[2 + a] = in[0].d[2 + a] * op->p.rs.scale[a];
    }
    return DOLOR_OK;
}

static dnnl_alg_kind_t rs_alg(const nn_op *op, float *f, int nsp)
{
    for (int a = 0; a < nsp; a++)
        f[a] = (float)op->p.rs.scale[a];
    return op->p.rs.mode == NN_RESAMPLE_NEAREST ? dnnl_resampling_nearest : dnnl_resampling_linear;
}

static dolor_status plan_rs_fwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]];
    float f[3];
    dnnl_alg_kind_t alg = rs_alg(op, f, vi->s.ndim - 2);
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

static dolor_status plan_rs_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]], *vo = &p->v[op->out];
    if (!vi->needs_diff)
        return DOLOR_OK;
    float f[3];
    dnnl_alg_kind_t alg = rs_alg(op, f, vi->s.ndim - 2);
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

const nn_op_def nn_op_upsample_def = {NN_OP_UPSAMPLE, "upsample", 1, 1, rs_infer, NULL, NULL, plan_rs_fwd, plan_rs_bwd};
