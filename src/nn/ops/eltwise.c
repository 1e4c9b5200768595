/* Element-wise operations on oneDNN: activations (ReLU, LeakyReLU, sigmoid, tanh, SiLU) and the
 * binary add / multiply with broadcasting (residual additions, attention gates). */
#include "../onnx.h"
#include "../plan.h"

#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------- activations ---- */

static dolor_status same_infer(const nn_op *op, const nn_shape *in, nn_shape *out)
{
    (void)op;
    *out = in[0];
    return DOLOR_OK;
}

static dnnl_alg_kind_t act_alg(const nn_op *op, float *alpha)
{
    *alpha = 0.f;
    switch (op->kind) {
    case NN_OP_LEAKY_RELU: *alpha = op->p.act.alpha; return dnnl_eltwise_relu;
    case NN_OP_SIGMOID: return dnnl_eltwise_logistic;
    case NN_OP_TANH: return dnnl_eltwise_tanh;
    case NN_OP_SILU: *alpha = 1.f; return dnnl_eltwise_swish;
    case NN_OP_RELU: return dnnl_eltwise_relu;
    case NN_OP_SCALE: *alpha = op->p.act.alpha; return dnnl_eltwise_linear;
    case NN_OP_CONV: case NN_OP_DECONV: case NN_OP_BN: case NN_OP_MAXPOOL: case NN_OP_AVGPOOL: case NN_OP_GAP:
    case NN_OP_UPSAMPLE: case NN_OP_CONCAT: case NN_OP_SLICE: case NN_OP_ADD: case NN_OP_MUL: case NN_OP_FLATTEN:
    case NN_OP_LINEAR: case NN_OP_PERMUTE: case NN_OP_ZPOOL: case NN_OP_DROPOUT: case NN_OP_TRIPLET_GATE:
    case NN_OP_COUNT: break;
    }
    return dnnl_eltwise_relu; /* not reached: only activation kinds use this table entry */
}

static dolor_status plan_act_fwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]];
    if (!p->training && po->flag == 1) { /* a ReLU fused into the convolution before it (ops/conv.c) */
        nnp_alias_value(p, op->out, op->in[0]);
        return DOLOR_OK;
    }
    float alpha;
    dnnl_alg_kind_t alg = act_alg(op, &alpha);
    dnnl_eltwise_desc_t ed;
    DN(dnnl_eltwise_forward_desc_init(&ed, nnp_fwd_prop(p), alg, &vi->md, alpha, 0.f));
    TRY(nnp_pd(p, &po->fpd, &ed, NULL));
    TRY(nnp_set_value(p, op->out, dnnl_primitive_desc_query_md(po->fpd, dnnl_query_dst_md, 0)));
    nn_step *s = NULL;
    TRY(nnp_exec(p, &p->fwd, po->fpd, &s));
    nnp_arg(s, DNNL_ARG_SRC, vi->mem);
    nnp_arg(s, DNNL_ARG_DST, p->v[op->out].mem);
    return DOLOR_OK;
}

static dolor_status plan_act_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]], *vo = &p->v[op->out];
    if (!vi->needs_diff)
        return DOLOR_OK;
    float alpha;
    dnnl_alg_kind_t alg = act_alg(op, &alpha);
    dnnl_eltwise_desc_t ed;
    dnnl_primitive_desc_t pd;
    DN(dnnl_eltwise_backward_desc_init(&ed, alg, &vo->md, &vi->md, alpha, 0.f));
    TRY(nnp_pd(p, &pd, &ed, po->fpd));
    dnnl_memory_t dsrc;
    int accum;
    TRY(nnp_diff_target(p, op->in[0], &dsrc, &accum));
    nn_step *s = NULL;
    TRY(nnp_exec(p, &p->bwd, pd, &s));
    nnp_arg(s, DNNL_ARG_SRC, vi->mem);
    nnp_arg(s, DNNL_ARG_DIFF_DST, vo->dmem);
    nnp_arg(s, DNNL_ARG_DIFF_SRC, dsrc);
    return nnp_diff_done(p, &p->bwd, op->in[0], accum);
}

/* ONNX: Relu, LeakyRelu(alpha), Sigmoid, Tanh; SiLU as x * Sigmoid(x) (opset 17 has no SiLU); scale as
 * Mul by a float scalar constant. */
static dolor_status unary_export(const dolor_net *g, nn_onnx *ox, int oi, const char *op_type)
{
    const nn_op *op = &g->ops[oi];
    nn_onnx_unary(ox, op_type, nn_onnx_value(ox, op->in[0]), nn_onnx_value(ox, op->out));
    return nn_onnx_status(ox);
}
static dolor_status relu_export(const dolor_net *g, nn_onnx *ox, int oi) { return unary_export(g, ox, oi, "Relu"); }
static dolor_status sigmoid_export(const dolor_net *g, nn_onnx *ox, int oi) { return unary_export(g, ox, oi, "Sigmoid"); }
static dolor_status tanh_export(const dolor_net *g, nn_onnx *ox, int oi) { return unary_export(g, ox, oi, "Tanh"); }

static dolor_status leaky_export(const dolor_net *g, nn_onnx *ox, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_onnx_node *n = nn_onnx_unary(ox, "LeakyRelu", nn_onnx_value(ox, op->in[0]), nn_onnx_value(ox, op->out));
    nn_onnx_attr_float(ox, n, "alpha", op->p.act.alpha);
    return nn_onnx_status(ox);
}

static dolor_status silu_export(const dolor_net *g, nn_onnx *ox, int oi)
{
    const nn_op *op = &g->ops[oi];
    const char *x = nn_onnx_value(ox, op->in[0]), *sg = nn_onnx_tmp(ox);
    nn_onnx_unary(ox, "Sigmoid", x, sg);
    const char *in[2] = {x, sg};
    nn_onnx_add_node(ox, "Mul", in, 2, nn_onnx_value(ox, op->out));
    return nn_onnx_status(ox);
}

static dolor_status scale_export(const dolor_net *g, nn_onnx *ox, int oi)
{
    const nn_op *op = &g->ops[oi];
    const char *in[2] = {nn_onnx_value(ox, op->in[0]), nn_onnx_const_f32(ox, &op->p.act.alpha, 1, 1)};
    nn_onnx_add_node(ox, "Mul", in, 2, nn_onnx_value(ox, op->out));
    return nn_onnx_status(ox);
}

const nn_op_def nn_op_relu_def = {NN_OP_RELU, "relu", 1, 1, same_infer, NULL, NULL, plan_act_fwd, plan_act_bwd,
                                  relu_export};
const nn_op_def nn_op_leaky_relu_def = {NN_OP_LEAKY_RELU, "leaky_relu", 1, 1, same_infer, NULL, NULL, plan_act_fwd,
                                        plan_act_bwd, leaky_export};
const nn_op_def nn_op_sigmoid_def = {NN_OP_SIGMOID, "sigmoid", 1, 1, same_infer, NULL, NULL, plan_act_fwd, plan_act_bwd,
                                     sigmoid_export};
const nn_op_def nn_op_tanh_def = {NN_OP_TANH, "tanh", 1, 1, same_infer, NULL, NULL, plan_act_fwd, plan_act_bwd,
                                  tanh_export};
const nn_op_def nn_op_silu_def = {NN_OP_SILU, "silu", 1, 1, same_infer, NULL, NULL, plan_act_fwd, plan_act_bwd,
                                  silu_export};
const nn_op_def nn_op_scale_def = {NN_OP_SCALE, "scale", 1, 1, same_infer, NULL, NULL, plan_act_fwd, plan_act_bwd,
                                   scale_export};

/* ---------------------------------------------------------- add, multiply ---- */

/* Broadcasting as PyTorch, restricted to the case oneDNN's binary primitive runs: one operand has
 * the output's shape, the other has, per axis, the same extent or 1. */
static int covers(const nn_shape *a, const nn_shape *b) /* b broadcasts to a */
{
    for (int i = 0; i < a->ndim; i++)
        if (b->d[i] != a->d[i] && b->d[i] != 1)
            return 0;
    return 1;
}

static dolor_status binary_infer(const nn_op *op, const nn_shape *in, nn_shape *out)
{
    char b1[96], b2[96];
    const char *what = op->kind == NN_OP_ADD ? "add" : "mul";
    if (in[0].ndim != in[1].ndim)
        return dolor_error(DOLOR_ESHAPE, "nn: %s %s: shapes %s and %s differ in rank", what, op->name,
                           nn_shape_str(&in[0], b1, sizeof b1), nn_shape_str(&in[1], b2, sizeof b2));
    if (covers(&in[0], &in[1]))
        *out = in[0];
    else if (covers(&in[1], &in[0]))
        *out = in[1];
    else
        return dolor_error(DOLOR_ESHAPE,
                           "nn: %s %s: shapes %s and %s do not broadcast (one must have the output's shape, the other "
                           "the same extent or 1 per axis)",
                           what, op->name, nn_shape_str(&in[0], b1, sizeof b1), nn_shape_str(&in[1], b2, sizeof b2));
    return DOLOR_OK;
}

/* big: the operand with the output's shape; small: the other (index into op->in) */
static void binary_roles(const nn_plan *p, const nn_op *op, int *big, int *small)
{
    const nn_shape *s0 = &p->v[op->in[0]].s, *so = &p->v[op->out].s;
    int first_full = 1;
    for (int i = 0; i < so->ndim; i++)
        first_full &= s0->d[i] == so->d[i];
    *big = first_full ? 0 : 1;
    *small = 1 - *big;
}

static dolor_status binary_step(nn_plan *p, nn_prog *prog, dnnl_alg_kind_t alg, const dnnl_memory_desc_t *m0,
                                dnnl_memory_t s0, const dnnl_memory_desc_t *m1, dnnl_memory_t s1,
                                const dnnl_memory_desc_t *md, dnnl_memory_t dst, dnnl_primitive_desc_t *pd_out)
{
    dnnl_binary_desc_t bd;
    dnnl_primitive_desc_t pd;
    DN(dnnl_binary_desc_init(&bd, alg, m0, m1, md));
    TRY(nnp_pd(p, &pd, &bd, NULL));
    nn_step *s = NULL;
    TRY(nnp_exec(p, prog, pd, &s));
    nnp_arg(s, DNNL_ARG_SRC_0, s0);
    nnp_arg(s, DNNL_ARG_SRC_1, s1);
    nnp_arg(s, DNNL_ARG_DST, dst);
    if (pd_out)
        *pd_out = pd;
    return DOLOR_OK;
}

/* The small operand in the big one's layout family (oneDNN 2.6 runs binary with broadcasting in
 * jit only when both operands have the same format tag; mixed tags, e.g. a plain [N, 1, H, W]
 * attention gate on an nChw16c tensor, fall to the reference kernel): its own memory if it already
 * is, else a copy reordered in `prog` (kept in the op's z_md / z_mem for backward). */
static dolor_status small_like_big(nn_plan *p, nn_prog *prog, nn_pop *po, const nn_pval *va, const nn_pval *vb)
{
    int nd = vb->s.ndim, cb = nnp_chan_block(&va->md);
    dnnl_memory_desc_t want, cl;
    if (cb >= 1) {
        nnp_md(&want, &vb->s, cb > 1 ? nnp_blocked_tag(nd, cb) : nnp_plain_tag(nd));
    } else {
        nnp_md(&cl, &va->s, nd == 4 ? dnnl_acdb : dnnl_acdeb);
        if (nd < 4 || !dnnl_memory_desc_equal(&cl, &va->md)) {
            po->z_md = vb->md;
            po->z_mem = vb->mem;
            return DOLOR_OK;
        }
        nnp_md(&want, &vb->s, nd == 4 ? dnnl_acdb : dnnl_acdeb);
    }
    if (dnnl_memory_desc_equal(&want, &vb->md)) {
        po->z_md = vb->md;
        po->z_mem = vb->mem;
        return DOLOR_OK;
    }
    po->z_md = want;
    TRY(nnp_buf_mem(p, &want, NULL, &po->z_mem));
    return nnp_reorder(p, prog, &vb->md, vb->mem, &want, po->z_mem);
}

static dolor_status plan_binary_fwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    int big, small;
    binary_roles(p, op, &big, &small);
    nn_pval *va = &p->v[op->in[big]], *vb = &p->v[op->in[small]];
    nn_pop *po = &p->ops[oi];
    if (!p->training && po->flag > 0) { /* a residual addition fused into the convolution (ops/conv.c) */
        nnp_alias_value(p, op->out, op->in[po->flag - 1]);
        return DOLOR_OK;
    }
    TRY(nnp_set_value(p, op->out, &va->md));
    TRY(small_like_big(p, &p->fwd, po, va, vb));
    return binary_step(p, &p->fwd, op->kind == NN_OP_ADD ? dnnl_binary_add : dnnl_binary_mul, &va->md, va->mem,
                       &po->z_md, po->z_mem, &va->md, p->v[op->out].mem, NULL);
}

/* Sum of a plain tensor over its broadcast axes into a plain tensor of the small shape (oneDNN 2.6's
 * reduction is a reference kernel in every layout): the two gate shapes have direct loops
 * ([N, 1, S]: over channels; [N, C, 1]: over space), anything else a generic index walk. */
typedef struct red_ctx {
    const float *src;
    float *dst;
    int ndim;
    int64_t big[NN_MAX_DIMS], small[NN_MAX_DIMS];
} red_ctx;

static void reduce_plain(void *c)
{
    red_ctx *r = c;
    int64_t N = r->big[0], C = r->big[1], S = 1, Ss = 1;
    for (int i = 2; i < r->ndim; i++) {
        S *= r->big[i];
        Ss *= r->small[i];
    }
    int same_n = r->small[0] == N;
    if (same_n && r->small[1] == 1 && Ss == S) { /* over channels */
#pragma omp parallel for schedule(static)
        for (int64_t n = 0; n < N; n++) {
            float *o = r->dst + n * S;
            const float *x = r->src + n * C * S;
            for (int64_t s = 0; s < S; s++)
                o[s] = x[s];
            for (int64_t ch = 1; ch < C; ch++)
                for (int64_t s = 0; s < S; s++)
                    o[s] += x[ch * S + s];
        }
        return;
    }
    if (same_n && r->small[1] == C && Ss == 1) { /* over space */
#pragma omp parallel for schedule(static)
        for (int64_t nc = 0; nc < N * C; nc++) {
            const float *x = r->src + nc * S;
            double acc = 0;
            for (int64_t s = 0; s < S; s++)
                acc += x[s];
            r->dst[nc] = (float)acc;
        }
        return;
    }
    int64_t total = 1, stotal = 1;
    for (int i = 0; i < r->ndim; i++) {
        total *= r->big[i];
        stotal *= r->small[i];
    }
    memset(r->dst, 0, (size_t)stotal * sizeof(float));
    for (int64_t i = 0; i < total; i++) {
        int64_t rem = i, off = 0, mul = 1;
        for (int a = r->ndim - 1; a >= 0; a--) {
            int64_t ia = rem % r->big[a];
            rem /= r->big[a];
            off += (r->small[a] == 1 ? 0 : ia) * mul;
            mul *= r->small[a];
        }
        r->dst[off] += r->src[i];
    }
}

/* d(operand k) from g (in the output's shape, layout gmd/gmem): copied or summed over the
 * broadcast axes into the operand's gradient */
static dolor_status to_operand(nn_plan *p, int vid, const dnnl_memory_desc_t *gmd, dnnl_memory_t gmem)
{
    nn_pval *v = &p->v[vid];
    if (!v->needs_diff)
        return DOLOR_OK;
    dnnl_memory_t t;
    int accum;
    TRY(nnp_diff_target(p, vid, &t, &accum));
    int same = 1;
    for (int i = 0; i < v->s.ndim; i++)
        same &= v->s.d[i] == gmd->dims[i];
    if (same) {
        TRY(nnp_reorder(p, &p->bwd, gmd, gmem, &v->md, t));
    } else {
        red_ctx *r;
        TRY(nnp_alloc(p, sizeof *r, (float **)&r));
        r->ndim = v->s.ndim;
        for (int i = 0; i < r->ndim; i++) {
            r->big[i] = gmd->dims[i];
            r->small[i] = v->s.d[i];
        }
        dnnl_memory_desc_t gplain, splain;
        nn_shape gs = v->s;
        for (int i = 0; i < r->ndim; i++)
            gs.d[i] = gmd->dims[i];
        nnp_md(&gplain, &gs, nnp_plain_tag(r->ndim));
        nnp_md(&splain, &v->s, nnp_plain_tag(r->ndim));
        dnnl_memory_t gm = gmem, sm;
        if (!dnnl_memory_desc_equal(&gplain, gmd)) {
            float *buf;
            TRY(nnp_buf_mem(p, &gplain, &buf, &gm));
            TRY(nnp_reorder(p, &p->bwd, gmd, gmem, &gplain, gm));
            r->src = buf;
        } else {
            void *h = NULL;
            dnnl_memory_get_data_handle(gmem, &h); /* a plan buffer: set at planning */
            r->src = h;
        }
        TRY(nnp_buf_mem(p, &splain, &r->dst, &sm));
        TRY(nnp_fn(&p->bwd, reduce_plain, r));
        TRY(nnp_reorder(p, &p->bwd, &splain, sm, &v->md, t));
    }
    return nnp_diff_done(p, &p->bwd, vid, accum);
}

static dolor_status plan_binary_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    int big, small;
    binary_roles(p, op, &big, &small);
    int ia = op->in[big], ib = op->in[small];
    nn_pval *va = &p->v[ia], *vb = &p->v[ib], *vo = &p->v[op->out];
    if (op->kind == NN_OP_ADD) {
        TRY(to_operand(p, ia, &vo->md, vo->dmem));
        return to_operand(p, ib, &vo->md, vo->dmem);
    }
    /* y = a * b: da = dy * b (b broadcast), db = sum over broadcast axes of dy * a */
    nn_pop *po = &p->ops[oi];
    if (va->needs_diff) {
        float *buf;
        dnnl_memory_t m;
        TRY(nnp_buf_mem(p, &vo->md, &buf, &m));
        TRY(binary_step(p, &p->bwd, dnnl_binary_mul, &vo->md, vo->dmem, &po->z_md, po->z_mem, &vo->md, m, NULL));
        TRY(to_operand(p, ia, &vo->md, m));
    }
    if (vb->needs_diff) {
        float *buf;
        dnnl_memory_t m;
        TRY(nnp_buf_mem(p, &vo->md, &buf, &m));
        TRY(binary_step(p, &p->bwd, dnnl_binary_mul, &vo->md, vo->dmem, &va->md, va->mem, &vo->md, m, NULL));
        TRY(to_operand(p, ib, &vo->md, m));
    }
    return DOLOR_OK;
}

/* ONNX Add / Mul: their multidirectional (numpy) broadcasting covers dolor's same-rank extent-1 axes. */
static dolor_status binary_export(const dolor_net *g, nn_onnx *ox, int oi, const char *op_type)
{
    const nn_op *op = &g->ops[oi];
    const char *in[2] = {nn_onnx_value(ox, op->in[0]), nn_onnx_value(ox, op->in[1])};
    nn_onnx_add_node(ox, op_type, in, 2, nn_onnx_value(ox, op->out));
    return nn_onnx_status(ox);
}
static dolor_status add_export(const dolor_net *g, nn_onnx *ox, int oi) { return binary_export(g, ox, oi, "Add"); }
static dolor_status mul_export(const dolor_net *g, nn_onnx *ox, int oi) { return binary_export(g, ox, oi, "Mul"); }

const nn_op_def nn_op_add_def = {NN_OP_ADD, "add", 2, 2, binary_infer, NULL, NULL, plan_binary_fwd, plan_binary_bwd,
                                 add_export};
const nn_op_def nn_op_mul_def = {NN_OP_MUL, "mul", 2, 2, binary_infer, NULL, NULL, plan_binary_fwd, plan_binary_bwd,
                                 mul_export};
