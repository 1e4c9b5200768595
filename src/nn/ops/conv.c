/* Convolution and transposed convolution, 2D and 3D, with kernel, stride, padding, dilation and
 * groups per axis (torch.nn.ConvNd / ConvTransposeNd), on oneDNN. One convolution backward
 * (conv_bwd) serves convolution, transposed convolution, grouped/depthwise and 3D, and the 1x1
 * convolution inside the fast 2x2 stride-2 transposed convolution.
 *
 * Parameters stay in PyTorch layouts inside the flat buffers (conv weight [O, I/g, k...],
 * transposed [I, O/g, k...]); weights are reordered into the primitive's layout at the start of
 * each forward (and backward, when backward-data wants another layout), weight gradients are
 * reordered back into the flat gradient buffer. */
#include "../onnx.h"
#include "../plan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- geometry ---- */

typedef struct conv_geom {
    int deconv, nsp, groups;
    int wino; /* forward inference: ask for Winograd (conv_wino_ok) */
    dnnl_dims_t st, dil, pl, pr;
} conv_geom;

static int64_t conv_out(int64_t i, int k, int s, int p, int d, int op, int deconv)
{
    return deconv ? (i - 1) * s - 2 * p + (int64_t)d * (k - 1) + op + 1 : (i + 2 * p - (int64_t)d * (k - 1) - 1) / s + 1;
}

static dolor_status conv_infer(const nn_op *op, const nn_shape *in, nn_shape *out)
{
    const nn_conv_params *c = &op->p.conv;
    int deconv = op->kind == NN_OP_DECONV;
    const char *what = deconv ? "transposed convolution" : "convolution";
    char b[96];
    if (in[0].ndim != 4 && in[0].ndim != 5)
        return dolor_error(DOLOR_ESHAPE, "nn: %s %s: input %s must be [N, C, H, W] or [N, C, D, H, W]", what, op->name,
                           nn_shape_str(&in[0], b, sizeof b));
    int nsp = in[0].ndim - 2;
    int64_t cin = in[0].d[1];
    if (c->cout < 1 || c->groups < 1 || cin % c->groups || c->cout % c->groups)
        return dolor_error(DOLOR_EINVAL, "nn: %s %s: %lld input and %d output channels must be multiples of groups %d",
                           what, op->name, (long long)cin, c->cout, c->groups);
    *out = in[0];
    out->d[1] = c->cout;
    for (int a = 0; a < nsp; a++) {
        if (c->k[a] < 1 || c->stride[a] < 1 || c->pad[a] < 0 || c->dil[a] < 1 || c->out_pad[a] < 0 ||
            (c->out_pad[a] && (c->out_pad[a] >= c->stride[a] && c->out_pad[a] >= c->dil[a])))
            return dolor_error(DOLOR_EINVAL,
                               "nn: %s %s: axis %d: kernel %d, stride %d, padding %d, dilation %d, output padding %d invalid",
                               what, op->name, a, c->k[a], c->stride[a], c->pad[a], c->dil[a], c->out_pad[a]);
        int64_t o = conv_out(in[0].d[2 + a], c->k[a], c->stride[a], c->pad[a], c->dil[a], c->out_pad[a], deconv);
        if (o < 1 || (!deconv && in[0].d[2 + a] + 2 * c->pad[a] < (int64_t)c->dil[a] * (c->k[a] - 1) + 1))
            return dolor_error(DOLOR_ESHAPE, "nn: %s %s: input %s is too small for kernel %d (dilation %d, padding %d) on axis %d",
                               what, op->name, nn_shape_str(&in[0], b, sizeof b), c->k[a], c->dil[a], c->pad[a], a);
        out->d[2 + a] = o;
    }
    return DOLOR_OK;
}

static dolor_status conv_add_params(dolor_net *g, nn_op *op, const nn_shape *in)
{
    const nn_conv_params *c = &op->p.conv;
    int nsp = in[0].ndim - 2;
    int64_t ws[NN_MAX_DIMS];
    int64_t cin = in[0].d[1];
    if (op->kind == NN_OP_DECONV) {
        ws[0] = cin;
        ws[1] = c->cout / c->groups;
    } else {
        ws[0] = c->cout;
        ws[1] = cin / c->groups;
    }
    for (int a = 0; a < nsp; a++)
        ws[2 + a] = c->k[a];
    op->t[0] = nn_add_tensor(g, op->name, "weight", 2 + nsp, ws, 0);
    if (c->bias) {
        int64_t bs[1] = {c->cout};
        op->t[1] = nn_add_tensor(g, op->name, "bias", 1, bs, 0);
    }
    return DOLOR_OK;
}

/* torch: kaiming_uniform(a = sqrt(5)) = U(+-1/sqrt(fan_in)), fan_in = weight.size(1) * prod(k)
   ([O, I/g, k] for ConvNd, [I, O/g, k] for ConvTransposeNd); bias U(+-1/sqrt(fan_in)) */
static void conv_init(dolor_net *g, const nn_op *op, dolor_rng *rng)
{
    if (!rng)
        return;
    const nn_tensor_info *tw = &g->tensors[op->t[0]];
    double fan_in = (double)tw->shape[1];
    for (int a = 2; a < tw->ndim; a++)
        fan_in *= (double)tw->shape[a];
    double bound = 1.0 / sqrt(fan_in);
    for (size_t j = 0; j < tw->numel; j++)
        g->params[tw->offset + j] = (float)((2 * dolor_rng_uniform(rng) - 1) * bound);
    if (op->t[1] >= 0) {
        const nn_tensor_info *tb = &g->tensors[op->t[1]];
        for (size_t j = 0; j < tb->numel; j++)
            g->params[tb->offset + j] = (float)((2 * dolor_rng_uniform(rng) - 1) * bound);
    }
}

/* geometry of op for the plan's shapes */
static void conv_geometry(const nn_plan *p, const nn_op *op, conv_geom *cg)
{
    const nn_conv_params *c = &op->p.conv;
    const nn_shape *si = &p->v[op->in[0]].s, *so = &p->v[op->out].s;
    memset(cg, 0, sizeof *cg);
    cg->deconv = op->kind == NN_OP_DECONV;
    cg->nsp = si->ndim - 2;
    cg->groups = c->groups;
    for (int a = 0; a < cg->nsp; a++) {
        int64_t small = cg->deconv ? si->d[2 + a] : so->d[2 + a], big = cg->deconv ? so->d[2 + a] : si->d[2 + a];
        int64_t dk = (int64_t)(c->k[a] - 1) * c->dil[a] + 1;
        cg->st[a] = c->stride[a];
        cg->dil[a] = c->dil[a] - 1; /* oneDNN counts the gaps */
        cg->pl[a] = c->pad[a];
        cg->pr[a] = (small - 1) * c->stride[a] + dk - big - c->pad[a];
    }
    /* Winograd F(4x4, 3x3) for the 3x3 stride-1 convolutions of inference (oneDNN's
       jit_avx512_core_f32_wino_conv_4x3: about 2.25x fewer multiplications; float error a few 1e-6
       relative); where oneDNN has no Winograd kernel the direct one is used. DOLOR_WINOGRAD=0 turns it
       off. */
    const char *env = getenv("DOLOR_WINOGRAD");
    cg->wino = !p->training && !cg->deconv && cg->nsp == 2 && c->groups == 1 && c->k[0] == 3 && c->k[1] == 3 &&
               c->stride[0] == 1 && c->stride[1] == 1 && c->dil[0] == 1 && c->dil[1] == 1 && !(env && !strcmp(env, "0"));
}

/* memory descriptors: src/dst/weights with format_tag_any, plain PyTorch weights, bias */
static void conv_mds(const nn_plan *p, const nn_op *op, dnnl_memory_desc_t *s_any, dnnl_memory_desc_t *w_any,
                     dnnl_memory_desc_t *b_md, dnnl_memory_desc_t *d_any, dnnl_memory_desc_t *w_plain)
{
    const nn_conv_params *c = &op->p.conv;
    const nn_shape *si = &p->v[op->in[0]].s, *so = &p->v[op->out].s;
    int nsp = si->ndim - 2, deconv = op->kind == NN_OP_DECONV, G = c->groups;
    nnp_md(s_any, si, dnnl_format_tag_any);
    nnp_md(d_any, so, dnnl_format_tag_any);
    int64_t wd[DNNL_MAX_NDIMS]; /* [G,] O/G, I/G, k...: 6 dims for grouped 3D, one more than an nn_shape holds */
    int i = 0;
    if (G > 1)
        wd[i++] = G;
    wd[i++] = so->d[1] / G;
    wd[i++] = si->d[1] / G;
    for (int a = 0; a < nsp; a++)
        wd[i++] = c->k[a];
    nnp_md_dims(w_any, i, wd, dnnl_format_tag_any);
    dnnl_format_tag_t tag;
    if (nsp == 2)
        tag = G > 1 ? (deconv ? dnnl_giohw : dnnl_goihw) : (deconv ? dnnl_iohw : dnnl_oihw);
    else
        tag = G > 1 ? (deconv ? dnnl_giodhw : dnnl_goidhw) : (deconv ? dnnl_iodhw : dnnl_oidhw);
    nnp_md_dims(w_plain, i, wd, tag);
    nnp_md1(b_md, so->d[1]);
}

/* which: 0 forward, 1 backward data, 2 backward weights */
static dolor_status conv_desc(const conv_geom *cg, int which, dnnl_prop_kind_t prop, const dnnl_memory_desc_t *s,
                              const dnnl_memory_desc_t *w, const dnnl_memory_desc_t *b, const dnnl_memory_desc_t *d,
                              void *desc)
{
    if (cg->deconv) {
        dnnl_deconvolution_desc_t *dd = desc;
        if (which == 0)
            DN(dnnl_dilated_deconvolution_forward_desc_init(dd, prop, dnnl_deconvolution_direct, s, w, b, d, cg->st,
                                                            cg->dil, cg->pl, cg->pr));
        else if (which == 1)
            DN(dnnl_dilated_deconvolution_backward_data_desc_init(dd, dnnl_deconvolution_direct, s, w, d, cg->st, cg->dil,
                                                                  cg->pl, cg->pr));
        else
            DN(dnnl_dilated_deconvolution_backward_weights_desc_init(dd, dnnl_deconvolution_direct, s, w, b, d, cg->st,
                                                                     cg->dil, cg->pl, cg->pr));
    } else {
        dnnl_convolution_desc_t *cd = desc;
        if (which == 0)
            DN(dnnl_dilated_convolution_forward_desc_init(cd, prop, cg->wino ? dnnl_convolution_winograd : dnnl_convolution_direct, s, w, b, d, cg->st, cg->dil,
                                                          cg->pl, cg->pr));
        else if (which == 1)
            DN(dnnl_dilated_convolution_backward_data_desc_init(cd, dnnl_convolution_direct, s, w, d, cg->st, cg->dil,
                                                                cg->pl, cg->pr));
        else
            DN(dnnl_dilated_convolution_backward_weights_desc_init(cd, dnnl_convolution_direct, s, w, b, d, cg->st,
                                                                   cg->dil, cg->pl, cg->pr));
    }
    return DOLOR_OK;
}

typedef union {
    dnnl_convolution_desc_t c;
    dnnl_deconvolution_desc_t d;
} conv_desc_u;

/* Try a forward pd for src/dst layouts s, d; in training also require fast backward kernels.
 * *pd NULL if not possible or only reference kernels. */
static dolor_status try_fwd_pd_attr(nn_plan *p, const_dnnl_primitive_attr_t attr, const conv_geom *cg,
                                    const dnnl_memory_desc_t *s, const dnnl_memory_desc_t *w_any,
                                    const dnnl_memory_desc_t *b, const dnnl_memory_desc_t *d, int allow_ref,
                                    dnnl_primitive_desc_t *pd)
{
    conv_desc_u cd;
    *pd = NULL;
    TRY(conv_desc(cg, 0, nnp_fwd_prop(p), s, w_any, b, d, &cd));
    if (dnnl_primitive_desc_create(pd, (const_dnnl_op_desc_t)&cd, attr, p->eng, NULL) != dnnl_success) {
        *pd = NULL;
        if (cg->wino) { /* no Winograd kernel for these layouts or post-ops: the direct one */
            conv_geom direct = *cg;
            direct.wino = 0;
            return try_fwd_pd_attr(p, attr, &direct, s, w_any, b, d, allow_ref, pd);
        }
        return DOLOR_OK;
    }
    int ok = allow_ref == 1 || !nnp_is_ref(*pd) || (allow_ref == 2 && p->training);
    if (ok && p->training && allow_ref != 1) { /* the backward kernels for these layouts must be fast too */
        dnnl_memory_desc_t sm = *dnnl_primitive_desc_query_md(*pd, dnnl_query_src_md, 0);
        dnnl_memory_desc_t dm = *dnnl_primitive_desc_query_md(*pd, dnnl_query_dst_md, 0);
        for (int which = 1; which <= 2 && ok; which++) {
            conv_desc_u bd;
            dnnl_primitive_desc_t bpd;
            TRY(conv_desc(cg, which, dnnl_backward_data, &sm, w_any, which == 2 ? b : NULL, &dm, &bd));
            if (dnnl_primitive_desc_create(&bpd, (const_dnnl_op_desc_t)&bd, p->attr, p->eng, *pd) != dnnl_success)
                ok = 0;
            else {
                ok = !nnp_is_ref(bpd);
                dnnl_primitive_desc_destroy(bpd);
            }
        }
    }
    if (!ok) {
        dnnl_primitive_desc_destroy(*pd);
        *pd = NULL;
        return DOLOR_OK;
    }
    return nnp_own_pd(p, *pd);
}

static dolor_status try_fwd_pd(nn_plan *p, const conv_geom *cg, const dnnl_memory_desc_t *s, const dnnl_memory_desc_t *w_any,
                               const dnnl_memory_desc_t *b, const dnnl_memory_desc_t *d, int allow_ref,
                               dnnl_primitive_desc_t *pd)
{
    return try_fwd_pd_attr(p, p->attr, cg, s, w_any, b, d, allow_ref, pd);
}

/* src of the primitive: the value's memory, or a reordered copy */
static dolor_status adapt_src(nn_plan *p, nn_pop *po, const nn_pval *vi)
{
    if (dnnl_memory_desc_equal(&po->src_md, &vi->md)) {
        po->src_mem = vi->mem;
        return DOLOR_OK;
    }
    po->src_adapted = 1;
    p->act_reorders++;
    TRY(nnp_buf_mem(p, &po->src_md, NULL, &po->src_mem));
    return nnp_reorder(p, &p->fwd, &vi->md, vi->mem, &po->src_md, po->src_mem);
}

static dolor_status plan_conv_fwd(dolor_net *g, nn_plan *p, int oi);

/* ------------------------------------------------------- shared backward ---- */

/* Backward of one convolution (or transposed convolution) primitive planned forward as po->fpd:
 *   d(weights) (+ d(bias)) into dw_plain (PyTorch layout) / dbias, from po->src_mem and ddst;
 *   d(src) into the gradient of value `in` (through po->src_md when the forward adapted it).
 * w_plain_md / w_plain: the weights in PyTorch layout (memory), used when backward-data wants
 * neither the forward's layout nor plain. */
static dolor_status conv_bwd(nn_plan *p, nn_pop *po, const conv_geom *cg, const dnnl_memory_desc_t *w_any,
                             const dnnl_memory_desc_t *b_md, const dnnl_memory_desc_t *ddst_md, dnnl_memory_t ddst,
                             const dnnl_memory_desc_t *w_plain_md, dnnl_memory_t dw_plain, dnnl_memory_t dbias, int in)
{
    nn_pval *vi = &p->v[in];
    conv_desc_u cd;
    dnnl_primitive_desc_t pd;
    nn_step *s = NULL;
    /* weights gradient (+ bias) */
    TRY(conv_desc(cg, 2, dnnl_backward_weights, &po->src_md, w_any, dbias ? b_md : NULL, ddst_md, &cd));
    TRY(nnp_pd(p, &pd, &cd, po->fpd));
    const dnnl_memory_desc_t *dwmd = dnnl_primitive_desc_query_md(pd, dnnl_query_diff_weights_md, 0);
    dnnl_memory_t dw = dw_plain;
    int dw_reorder = !dnnl_memory_desc_equal(dwmd, w_plain_md);
    if (dw_reorder)
        TRY(nnp_buf_mem(p, dwmd, NULL, &dw));
    TRY(nnp_exec(p, &p->bwd, pd, &s));
    nnp_arg(s, DNNL_ARG_SRC, po->src_mem);
    nnp_arg(s, DNNL_ARG_DIFF_DST, ddst);
    nnp_arg(s, DNNL_ARG_DIFF_WEIGHTS, dw);
    nnp_arg(s, DNNL_ARG_DIFF_BIAS, dbias);
    if (dw_reorder)
        TRY(nnp_reorder(p, &p->bwd, dwmd, dw, w_plain_md, dw_plain));
    /* data gradient */
    if (!vi->needs_diff)
        return DOLOR_OK;
    TRY(conv_desc(cg, 1, dnnl_backward_data, &po->src_md, w_any, NULL, ddst_md, &cd));
    TRY(nnp_pd(p, &pd, &cd, po->fpd));
    const dnnl_memory_desc_t *wbmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_memory_t wb;
    if (dnnl_memory_desc_equal(wbmd, &po->w_fwd_md)) {
        wb = po->w_fwd; /* still holds this step's weights from the forward */
    } else if (dnnl_memory_desc_equal(wbmd, w_plain_md)) {
        wb = po->w_plain;
    } else {
        TRY(nnp_buf_mem(p, wbmd, NULL, &wb));
        TRY(nnp_reorder(p, &p->bwd, w_plain_md, po->w_plain, wbmd, wb));
    }
    dnnl_memory_t dsrc;
    int accum = 0;
    if (po->src_adapted) {
        TRY(nnp_buf_mem(p, &po->src_md, NULL, &dsrc));
        p->act_reorders++;
    } else
        TRY(nnp_diff_target(p, in, &dsrc, &accum));
    TRY(nnp_exec(p, &p->bwd, pd, &s));
    nnp_arg(s, DNNL_ARG_DIFF_DST, ddst);
    nnp_arg(s, DNNL_ARG_WEIGHTS, wb);
    nnp_arg(s, DNNL_ARG_DIFF_SRC, dsrc);
    if (po->src_adapted) {
        dnnl_memory_t t;
        TRY(nnp_diff_target(p, in, &t, &accum));
        TRY(nnp_reorder(p, &p->bwd, &po->src_md, dsrc, &vi->md, t));
    }
    return nnp_diff_done(p, &p->bwd, in, accum);
}

/* ------------------------------------------------------------- forward ---- */

/* Inference: the batch norm that is the only reader of convolution oi's output (not a graph
 * output), which is then folded into it: w' = w * s, b' = beta + (b - running_mean) * s with
 * s = gamma / sqrt(running_var + eps) per output channel, its ReLU a post-op; -1 if none. */
static int folded_bn_of(const dolor_net *g, const nn_plan *p, int oi)
{
    if (p->training || g->ops[oi].kind != NN_OP_CONV)
        return -1;
    int v = g->ops[oi].out, bn = -1;
    for (int k = 0; k < g->noutputs; k++)
        if (g->outputs[k] == v)
            return -1;
    for (int j = 0; j < g->nops; j++)
        for (int i = 0; i < g->ops[j].nin; i++)
            if (g->ops[j].in[i] == v) {
                if (bn >= 0 || g->ops[j].kind != NN_OP_BN)
                    return -1;
                bn = j;
            }
    return bn;
}

typedef struct fold_ctx {
    const float *w, *b, *gamma, *beta, *rm, *rv;
    float *wf, *bf;
    float eps; /* the batch norm's */
    int64_t O, per; /* output channels, weights per output channel */
} fold_ctx;

static void fold_bn(void *c)
{
    fold_ctx *f = c;
    for (int64_t o = 0; o < f->O; o++) {
        float sc = f->gamma[o] / sqrtf(f->rv[o] + f->eps);
        const float *w = f->w + o * f->per;
        float *wf = f->wf + o * f->per;
        for (int64_t k = 0; k < f->per; k++)
            wf[k] = w[k] * sc;
        f->bf[o] = f->beta[o] + ((f->b ? f->b[o] : 0.f) - f->rm[o]) * sc;
    }
}

/* The only op reading value v (-1: none, several, or v is a graph output). */
static int only_reader(const dolor_net *g, int v)
{
    int r = -1;
    for (int k = 0; k < g->noutputs; k++)
        if (g->outputs[k] == v)
            return -1;
    for (int j = 0; j < g->nops; j++)
        for (int i = 0; i < g->ops[j].nin; i++)
            if (g->ops[j].in[i] == v) {
                if (r >= 0 && r != j)
                    return -1;
                r = j;
            }
    return r;
}

/* Inference, after a folded batch norm without ReLU (convolution oi): a residual addition that alone
 * reads it, of a value of the same shape planned before oi (a block's identity shortcut), fuses into
 * the convolution as a binary post-op, and a ReLU that alone reads the sum as an eltwise post-op. */
static void residual_of(const dolor_net *g, const nn_plan *p, int oi, int bn, int *add, int *other, int *relu)
{
    *add = *other = *relu = -1;
    if (g->ops[bn].p.bn.relu)
        return;
    int y = g->ops[bn].out, a = only_reader(g, y);
    if (a < 0 || g->ops[a].kind != NN_OP_ADD || g->ops[a].in[0] == g->ops[a].in[1])
        return;
    int o = g->ops[a].in[0] == y ? g->ops[a].in[1] : g->ops[a].in[0];
    if (g->vals[o].producer >= oi)
        return;
    const nn_shape *so = &p->v[o].s, *sy = &p->v[y].s;
    if (so->ndim != sy->ndim)
        return;
    for (int i = 0; i < so->ndim; i++)
        if (so->d[i] != sy->d[i])
            return;
    *add = a;
    *other = o;
    int r = only_reader(g, g->ops[a].out);
    if (r >= 0 && g->ops[r].kind == NN_OP_RELU)
        *relu = r;
}

/* post-ops: ReLU (the batch norm's), or add src1 (md; then ReLU if relu_after) */
static dolor_status fold_attr(nn_plan *p, int relu, const dnnl_memory_desc_t *add_md, int relu_after,
                              dnnl_primitive_attr_t *out)
{
    GROW(p->attrs, p->nattrs, p->capattrs);
    DN(dnnl_primitive_attr_create(out));
    p->attrs[p->nattrs++] = *out;
    DN(dnnl_primitive_attr_set_scratchpad_mode(*out, dnnl_scratchpad_mode_user));
    if (relu || add_md) {
        dnnl_post_ops_t po;
        DN(dnnl_post_ops_create(&po));
        dnnl_status_t st = dnnl_success;
        if (add_md)
            st = dnnl_post_ops_append_binary(po, dnnl_binary_add, add_md);
        if (st == dnnl_success && (relu || relu_after))
            st = dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_relu, 0.f, 0.f);
        if (st == dnnl_success)
            st = dnnl_primitive_attr_set_post_ops(*out, po);
        dnnl_post_ops_destroy(po);
        DN(st);
    }
    return DOLOR_OK;
}

static dolor_status plan_conv_fwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    const nn_conv_params *c = &op->p.conv;
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]];
    const nn_shape *so = &p->v[op->out].s;
    int nd = vi->s.ndim;
    dnnl_memory_desc_t s_any, w_any, b_md, d_any, w_plain;
    conv_mds(p, op, &s_any, &w_any, &b_md, &d_any, &w_plain);
    conv_geom cg;
    conv_geometry(p, op, &cg);
    /* Winograd only where x is already channel-blocked and both channel counts fill whole 16-blocks:
       elsewhere its kernel would ask for layouts of its own and add reorders between layers */
    if (cg.wino && !(nnp_chan_block(&vi->md) == 16 && vi->s.d[1] % 16 == 0 && so->d[1] % 16 == 0))
        cg.wino = 0;
    const dnnl_memory_desc_t *bmd = c->bias ? &b_md : NULL;
    int bn = folded_bn_of(g, p, oi), add = -1, other = -1, relu = -1;
    const_dnnl_primitive_attr_t attr = p->attr;
    if (bn >= 0)
        residual_of(g, p, oi, bn, &add, &other, &relu);
    if (bn >= 0) {
        dnnl_primitive_attr_t a;
        TRY(fold_attr(p, g->ops[bn].p.bn.relu, add >= 0 ? &p->v[other].md : NULL, relu >= 0, &a));
        attr = a;
        bmd = &b_md; /* the folded shift */
    }
    /* Layout choice. oneDNN picks with format_tag_any, but for N = 1 inference it picks nhwc for
       convolutions while deconvolution has no fast nhwc kernel (ref only), and mixed layouts make
       concat slow. So first ask for the blocked layout (the producer's, or nChw16c / the skip's
       for the output), and fall back to format_tag_any for both when that gives a reference
       (slow) implementation or none. */
    dnnl_memory_desc_t cand_s[5], cand_d[5];
    int ncand = 0, cb = nnp_chan_block(&vi->md);
    cand_s[0] = cb > 1 ? vi->md : s_any;
    if (c->out_like >= 0)
        cand_d[0] = p->v[c->out_like].md;
    else
        nnp_md(&cand_d[0], so, nnp_blocked_tag(nd, cb == 8 ? 8 : 16));
    ncand = 1;
    cand_s[ncand] = s_any;
    cand_d[ncand++] = d_any;
    for (int b = 0; b < 2; b++) {
        nnp_md(&cand_s[ncand], &vi->s, nnp_blocked_tag(nd, b ? 8 : 16));
        nnp_md(&cand_d[ncand++], so, nnp_blocked_tag(nd, b ? 8 : 16));
    }
    /* plain layout: gemm kernels for forward and both backward passes where the blocked ones fall to
       reference code, e.g. the weight gradient of 3D ResNet's layer4 (512 -> 512, 3x3x3 on 2x4x4; 3D only: in
       2D the blocked kernels cover these cases). A
       convolution on very few channels (triplet attention's 7x7 2 -> 1 gates) has no fast forward in any
       layout; plain still has fast (gemm) backward kernels, whose cost dominates, so there a reference
       forward is accepted. */
    int gate = vi->s.d[1] <= 2 && so->d[1] == 1, ncand_strict = gate ? ncand : -1;
    if (gate || nd == 5) {
        nnp_md(&cand_s[ncand], &vi->s, nnp_plain_tag(nd));
        nnp_md(&cand_d[ncand++], so, nnp_plain_tag(nd));
    }
    po->fpd = NULL;
    for (int attempt = 0; attempt < ncand && !po->fpd; attempt++)
        TRY(try_fwd_pd_attr(p, attr, &cg, &cand_s[attempt], &w_any, bmd, &cand_d[attempt], attempt == ncand_strict ? 2 : 0,
                            &po->fpd));
    if (!po->fpd) /* only slow kernels: let oneDNN choose */
        TRY(try_fwd_pd_attr(p, attr, &cg, &s_any, &w_any, bmd, &d_any, 1, &po->fpd));
    if (add >= 0 && (!po->fpd || nnp_is_ref(po->fpd) ||
                     !dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(po->fpd, dnnl_query_dst_md, 0),
                                             &p->v[other].md))) {
        /* the residual post-op only where the sum keeps the shortcut's layout and a fast kernel: else unfused */
        dnnl_primitive_attr_t a;
        TRY(fold_attr(p, g->ops[bn].p.bn.relu, NULL, 0, &a));
        attr = a;
        add = other = relu = -1;
        po->fpd = NULL;
        for (int attempt = 0; attempt < ncand && !po->fpd; attempt++)
            TRY(try_fwd_pd_attr(p, attr, &cg, &cand_s[attempt], &w_any, bmd, &cand_d[attempt],
                                attempt == ncand_strict ? 2 : 0, &po->fpd));
        if (!po->fpd)
            TRY(try_fwd_pd_attr(p, attr, &cg, &s_any, &w_any, bmd, &d_any, 1, &po->fpd));
    }
    if (!po->fpd)
        return dolor_error(DOLOR_EBACKEND, "oneDNN: no %s implementation for %s", cg.deconv ? "deconvolution" : "convolution",
                           op->name);
    if (add >= 0) {
        p->ops[add].flag = g->ops[add].in[0] == g->ops[bn].out ? 1 : 2; /* the sum is input (flag - 1)'s memory */
        if (relu >= 0)
            p->ops[relu].flag = 1;
        p->fused_add++;
    }
    po->src_md = *dnnl_primitive_desc_query_md(po->fpd, dnnl_query_src_md, 0);
    po->w_fwd_md = *dnnl_primitive_desc_query_md(po->fpd, dnnl_query_weights_md, 0);
    TRY(nnp_set_value(p, op->out, dnnl_primitive_desc_query_md(po->fpd, dnnl_query_dst_md, 0)));
    TRY(adapt_src(p, po, vi));
    /* weights: plain (PyTorch) in params -> primitive layout (in inference once per parameter change,
     * with the batch norm folded in first) */
    const float *wsrc = g->params + g->tensors[op->t[0]].offset;
    if (bn >= 0) {
        const nn_op *b = &g->ops[bn];
        fold_ctx *f;
        TRY(nnp_alloc(p, sizeof *f, (float **)&f));
        f->O = so->d[1];
        f->per = (int64_t)(g->tensors[op->t[0]].numel / (size_t)f->O);
        f->w = wsrc;
        f->b = c->bias ? g->params + g->tensors[op->t[1]].offset : NULL;
        f->gamma = g->params + g->tensors[b->t[0]].offset;
        f->beta = g->params + g->tensors[b->t[1]].offset;
        f->rm = g->buffers + g->tensors[b->t[2]].offset;
        f->rv = g->buffers + g->tensors[b->t[3]].offset;
        f->eps = NN_BN_EPS(b);
        TRY(nnp_alloc(p, (size_t)f->O * sizeof(float), &f->bf));
        TRY(nnp_fn(&p->prep, fold_bn, f));
        TRY(nnp_fold_mem(p, &w_plain, &f->wf, &po->w_plain));
        TRY(nnp_mem(p, &b_md, f->bf, &po->bias));
        p->ops[bn].flag = 1; /* the batch norm's output is this convolution's */
        p->folded_bn++;
    } else {
        TRY(nnp_mem(p, &w_plain, (void *)wsrc, &po->w_plain));
        if (c->bias)
            TRY(nnp_mem(p, &b_md, g->params + g->tensors[op->t[1]].offset, &po->bias));
    }
    if (dnnl_memory_desc_equal(&po->w_fwd_md, &w_plain) && bn < 0) {
        po->w_fwd = po->w_plain;
    } else { /* (folded weights live in the shared fold buffer only until the next fold: always copied) */
        TRY(nnp_buf_mem(p, &po->w_fwd_md, NULL, &po->w_fwd));
        TRY(nnp_reorder(p, nnp_wprog(p), &w_plain, po->w_plain, &po->w_fwd_md, po->w_fwd));
    }
    nn_step *s = NULL;
    TRY(nnp_exec(p, &p->fwd, po->fpd, &s));
    nnp_arg(s, DNNL_ARG_SRC, po->src_mem);
    nnp_arg(s, DNNL_ARG_WEIGHTS, po->w_fwd);
    nnp_arg(s, DNNL_ARG_BIAS, po->bias);
    nnp_arg(s, DNNL_ARG_DST, p->v[op->out].mem);
    if (add >= 0)
        nnp_arg(s, DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, p->v[other].mem);
    return DOLOR_OK;
}

static dolor_status plan_conv_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vo = &p->v[op->out];
    dnnl_memory_desc_t s_any, w_any, b_md, d_any, w_plain;
    conv_mds(p, op, &s_any, &w_any, &b_md, &d_any, &w_plain);
    conv_geom cg;
    conv_geometry(p, op, &cg);
    dnnl_memory_t dw_plain, dbias = NULL;
    TRY(nnp_mem(p, &w_plain, g->grads + g->tensors[op->t[0]].offset, &dw_plain));
    if (op->p.conv.bias)
        TRY(nnp_mem(p, &b_md, g->grads + g->tensors[op->t[1]].offset, &dbias));
    return conv_bwd(p, po, &cg, &w_any, &b_md, &vo->md, vo->dmem, &w_plain, dw_plain, dbias, op->in[0]);
}

/* ------------------------------------- transposed conv as 1x1 conv + shuffle ---- */

/* ConvTranspose2d(I, O, 2, stride 2): y[n, o, 2h+i, 2w+j] = b[o] + sum_c x[n, c, h, w] W[c, o, i, j].
 * oneDNN's strided deconvolution kernel is slow; a 1x1 convolution to 4*O channels
 * z[n, g*O + o, h, w] (g = 2i + j) followed by a pixel shuffle (adding the bias) is the same sum,
 * at 1x1-convolution speed. Used when y and z share a channel-blocked layout with O a multiple
 * of the block. */
typedef struct nn_dc {
    int64_t N, I, O, H, W, b;
    int64_t zs[4], ys[4];
    float *z, *y, *dz, *dy, *dbias, *w1, *wg, *dw1;
    const float *bias, *wp;
    double *part;
} nn_dc;

static void dc_perm_w(void *ctx)
{
    nn_dc *d = ctx;
    for (int64_t c = 0; c < d->I; c++)
        for (int64_t o = 0; o < d->O; o++)
            for (int g = 0; g < 4; g++)
                d->w1[(g * d->O + o) * d->I + c] = d->wp[(c * d->O + o) * 4 + g];
}

static void dc_unperm_w(void *ctx)
{
    nn_dc *d = ctx;
    for (int64_t c = 0; c < d->I; c++)
        for (int64_t o = 0; o < d->O; o++)
            for (int g = 0; g < 4; g++)
                d->wg[(c * d->O + o) * 4 + g] = d->dw1[(g * d->O + o) * d->I + c];
}

static void dc_shuffle(void *ctx)
{
    const nn_dc *d = ctx;
    const int64_t b = d->b, nb = d->O / b, H = d->H, W = d->W;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < d->N; n++)
        for (int64_t h = 0; h < H; h++)
            for (int g = 0; g < 4; g++) {
                int i = g >> 1, j = g & 1;
                for (int64_t cb = 0; cb < nb; cb++) {
                    const float *restrict zr = d->z + n * d->zs[0] + (g * nb + cb) * d->zs[1] + h * d->zs[2];
                    float *restrict yr = d->y + n * d->ys[0] + cb * d->ys[1] + (2 * h + i) * d->ys[2] + j * d->ys[3];
                    const float *restrict bb = d->bias + cb * b;
                    for (int64_t w = 0; w < W; w++)
                        for (int64_t ob = 0; ob < b; ob++)
                            yr[2 * w * b + ob] = zr[w * b + ob] + bb[ob];
                }
            }
}

static void dc_unshuffle(void *ctx)
{
    nn_dc *d = ctx;
    const int64_t b = d->b, nb = d->O / b, H = d->H, W = d->W;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < d->N; n++)
        for (int64_t h = 0; h < H; h++)
            for (int g = 0; g < 4; g++) {
                int i = g >> 1, j = g & 1;
                for (int64_t cb = 0; cb < nb; cb++) {
                    float *restrict zr = d->dz + n * d->zs[0] + (g * nb + cb) * d->zs[1] + h * d->zs[2];
                    const float *restrict yr =
                        d->dy + n * d->ys[0] + cb * d->ys[1] + (2 * h + i) * d->ys[2] + j * d->ys[3];
                    for (int64_t w = 0; w < W; w++)
                        for (int64_t ob = 0; ob < b; ob++)
                            zr[w * b + ob] = yr[2 * w * b + ob];
                }
            }
    /* bias gradient: per (n, channel block) partial sums, then over n in order */
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < d->N; n++)
        for (int64_t cb = 0; cb < nb; cb++) {
            double acc[64] = {0};
            for (int64_t yy = 0; yy < 2 * H; yy++) {
                const float *yr = d->dy + n * d->ys[0] + cb * d->ys[1] + yy * d->ys[2];
                for (int64_t xx = 0; xx < 2 * W; xx++)
                    for (int64_t ob = 0; ob < b; ob++)
                        acc[ob] += yr[xx * b + ob];
            }
            for (int64_t ob = 0; ob < b; ob++)
                d->part[n * d->O + cb * b + ob] = acc[ob];
        }
    for (int64_t o = 0; o < d->O; o++) {
        double s = 0;
        for (int64_t n = 0; n < d->N; n++)
            s += d->part[n * d->O + o];
        d->dbias[o] = (float)s;
    }
}

static void md_strides(const dnnl_memory_desc_t *md, int64_t *s)
{
    for (int k = 0; k < 4; k++)
        s[k] = md->format_desc.blocking.strides[k];
}

static int dc_applies(const nn_op *op, const nn_pval *vi)
{
    const nn_conv_params *c = &op->p.conv;
    if (vi->s.ndim != 4 || !c->bias || c->groups != 1)
        return 0;
    for (int a = 0; a < 2; a++)
        if (c->k[a] != 2 || c->stride[a] != 2 || c->pad[a] != 0 || c->dil[a] != 1 || c->out_pad[a] != 0)
            return 0;
    return 1;
}

static void dc_geom(conv_geom *cg)
{
    memset(cg, 0, sizeof *cg);
    cg->nsp = 2;
    cg->groups = 1;
    cg->st[0] = cg->st[1] = 1;
}

/* *done 1: planned the 1x1 way; 0: not possible here (caller uses the deconvolution primitive) */
static dolor_status plan_deconv1x1_fwd(dolor_net *g, nn_plan *p, int oi, int *done)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]];
    *done = 0;
    if (!dc_applies(op, vi))
        return DOLOR_OK;
    int64_t N = p->N, I = vi->s.d[1], O = op->p.conv.cout, H = vi->s.d[2], W = vi->s.d[3];
    dnnl_memory_desc_t ymd;
    int cbi = nnp_chan_block(&vi->md);
    if (op->p.conv.out_like >= 0)
        ymd = p->v[op->p.conv.out_like].md;
    else
        nnp_md(&ymd, &p->v[op->out].s, cbi == 8 ? dnnl_aBcd8b : dnnl_aBcd16b);
    int b = nnp_chan_block(&ymd);
    if (b < 8 || b > 64 || O % b)
        return DOLOR_OK;
    dnnl_memory_desc_t s_md, z_md, w_any;
    nn_shape zs = {4, {N, 4 * O, H, W}}, ws = {4, {4 * O, I, 1, 1}};
    if (cbi > 1)
        s_md = vi->md;
    else
        nnp_md(&s_md, &vi->s, dnnl_format_tag_any);
    nnp_md(&z_md, &zs, b == 8 ? dnnl_aBcd8b : dnnl_aBcd16b);
    nnp_md(&w_any, &ws, dnnl_format_tag_any);
    conv_geom cg;
    dc_geom(&cg);
    dnnl_primitive_desc_t pd;
    TRY(try_fwd_pd(p, &cg, &s_md, &w_any, NULL, &z_md, 0, &pd));
    if (!pd)
        return DOLOR_OK;
    if (nnp_chan_block(dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0)) != b)
        return DOLOR_OK; /* pd stays owned by the plan, unused */
    po->fpd = pd;
    *done = 1;
    nn_dc *d = NULL;
    TRY(nnp_alloc(p, sizeof *d, (float **)&d));
    po->ext = d;
    d->N = N;
    d->I = I;
    d->O = O;
    d->H = H;
    d->W = W;
    d->b = b;
    po->src_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    po->w_fwd_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    po->z_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    TRY(nnp_buf_mem(p, &po->z_md, &d->z, &po->z_mem));
    TRY(nnp_set_value(p, op->out, &ymd));
    d->y = p->v[op->out].data;
    md_strides(&po->z_md, d->zs);
    md_strides(&ymd, d->ys);
    d->bias = g->params + g->tensors[op->t[1]].offset;
    d->wp = g->params + g->tensors[op->t[0]].offset;
    TRY(adapt_src(p, po, vi));
    dnnl_memory_desc_t w1_plain;
    nnp_md(&w1_plain, &ws, dnnl_oihw);
    TRY(nnp_buf_mem(p, &w1_plain, &d->w1, &po->w_plain));
    TRY(nnp_fn(nnp_wprog(p), dc_perm_w, d));
    if (dnnl_memory_desc_equal(&po->w_fwd_md, &w1_plain)) {
        po->w_fwd = po->w_plain;
    } else {
        TRY(nnp_buf_mem(p, &po->w_fwd_md, NULL, &po->w_fwd));
        TRY(nnp_reorder(p, nnp_wprog(p), &w1_plain, po->w_plain, &po->w_fwd_md, po->w_fwd));
    }
    nn_step *s = NULL;
    TRY(nnp_exec(p, &p->fwd, pd, &s));
    nnp_arg(s, DNNL_ARG_SRC, po->src_mem);
    nnp_arg(s, DNNL_ARG_WEIGHTS, po->w_fwd);
    nnp_arg(s, DNNL_ARG_DST, po->z_mem);
    return nnp_fn(&p->fwd, dc_shuffle, d);
}

static dolor_status plan_deconv1x1_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_dc *d = po->ext;
    nn_pval *vo = &p->v[op->out];
    TRY(nnp_buf_mem(p, &po->z_md, &d->dz, &po->dz_mem));
    TRY(nnp_alloc(p, (size_t)(d->N * d->O) * sizeof(double), (float **)&d->part));
    d->dy = vo->diff;
    d->dbias = g->grads + g->tensors[op->t[1]].offset;
    d->wg = g->grads + g->tensors[op->t[0]].offset;
    TRY(nnp_fn(&p->bwd, dc_unshuffle, d));
    dnnl_memory_desc_t w_any, w1_plain;
    nn_shape ws = {4, {4 * d->O, d->I, 1, 1}};
    nnp_md(&w_any, &ws, dnnl_format_tag_any);
    nnp_md(&w1_plain, &ws, dnnl_oihw);
    dnnl_memory_t dw_plain;
    TRY(nnp_buf_mem(p, &w1_plain, &d->dw1, &dw_plain));
    conv_geom cg;
    dc_geom(&cg);
    /* the 1x1 convolution's backward, then its weight gradient permuted into PyTorch's layout */
    TRY(conv_bwd(p, po, &cg, &w_any, NULL, &po->z_md, po->dz_mem, &w1_plain, dw_plain, NULL, op->in[0]));
    return nnp_fn(&p->bwd, dc_unperm_w, d);
}

static dolor_status plan_deconv_fwd(dolor_net *g, nn_plan *p, int oi)
{
    int done = 0;
    TRY(plan_deconv1x1_fwd(g, p, oi, &done));
    return done ? DOLOR_OK : plan_conv_fwd(g, p, oi);
}

static dolor_status plan_deconv_bwd(dolor_net *g, nn_plan *p, int oi)
{
    return p->ops[oi].ext ? plan_deconv1x1_bwd(g, p, oi) : plan_conv_bwd(g, p, oi);
}

/* ONNX Conv / ConvTranspose (opset 11 semantics, unchanged to 17): the weight in torch's layout is ONNX's
 * ([O, I/g, k...] / [I, O/g, k...]), pads = torch's padding on both sides of every axis. */
static dolor_status conv_export(const dolor_net *g, nn_onnx *ox, int oi)
{
    const nn_op *op = &g->ops[oi];
    const nn_conv_params *c = &op->p.conv;
    int nsp = nn_onnx_shape(ox, op->in[0])->ndim - 2, st[3], dil[3];
    for (int a = 0; a < 3; a++) {
        st[a] = c->stride[a] > 0 ? c->stride[a] : 1;
        dil[a] = c->dil[a] > 0 ? c->dil[a] : 1;
    }
    const char *in[3] = {nn_onnx_value(ox, op->in[0]), nn_onnx_param(ox, op->t[0]),
                         op->t[1] >= 0 ? nn_onnx_param(ox, op->t[1]) : NULL};
    int deconv = op->kind == NN_OP_DECONV;
    nn_onnx_node *n = nn_onnx_add_node(ox, deconv ? "ConvTranspose" : "Conv", in, c->bias ? 3 : 2,
                                       nn_onnx_value(ox, op->out));
    nn_onnx_attr_axes(ox, n, "kernel_shape", c->k, nsp);
    nn_onnx_attr_axes(ox, n, "strides", st, nsp);
    nn_onnx_attr_axes(ox, n, "dilations", dil, nsp);
    nn_onnx_attr_pads(ox, n, c->pad, nsp);
    nn_onnx_attr_int(ox, n, "group", c->groups > 0 ? c->groups : 1);
    if (deconv)
        nn_onnx_attr_axes(ox, n, "output_padding", c->out_pad, nsp);
    return nn_onnx_status(ox);
}

const nn_op_def nn_op_conv_def = {NN_OP_CONV, "conv", 1, 1, conv_infer, conv_add_params, conv_init, plan_conv_fwd,
                                  plan_conv_bwd, conv_export};
const nn_op_def nn_op_deconv_def = {NN_OP_DECONV, "deconv", 1, 1, conv_infer, conv_add_params, conv_init,
                                    plan_deconv_fwd, plan_deconv_bwd, conv_export};
