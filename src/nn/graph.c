/* A static graph of layers executed with oneDNN 2.6 (C API).
 *
 * Planning (once per (N, H, W, training)): walk the ops in order, create each forward primitive
 * with format_tag_any for conv/deconv (and concat's destination) so oneDNN picks its blocked
 * layout, let BN/ReLU/pool/upsample take their input's layout, and record a flat program of
 * steps (primitive + arguments, or a small C kernel). Backward primitives are created in reverse
 * order with the forward primitive descriptors as hints. All buffers, memory objects and one
 * shared scratchpad (scratchpad_mode user) are allocated at planning; executing a program
 * allocates nothing.
 *
 * Parameters stay in PyTorch layouts inside the flat buffers; convolution weights are reordered
 * into the primitive's layout at the start of each forward (and backward, when backward-data
 * wants another layout), weight gradients are reordered back into the flat gradient buffer.
 */
#include "nn_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl_debug.h>

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1

#define DN(call)                                                                                   \
    do {                                                                                           \
        dnnl_status_t st_ = (call);                                                                \
        if (st_ != dnnl_success)                                                                   \
            return dolor_error(DOLOR_EBACKEND, "oneDNN: %s failed: %s (%s:%d)", #call,           \
                               dnnl_status2str(st_), __FILE__, __LINE__);                          \
    } while (0)
#define TRY(expr)                                                                                  \
    do {                                                                                           \
        dolor_status s_ = (expr);                                                                  \
        if (s_ != DOLOR_OK)                                                                        \
            return s_;                                                                             \
    } while (0)

/* ------------------------------------------------------------------ plans ---- */

enum { STEP_PRIM = 0, STEP_ADD, STEP_BN_RUNNING, STEP_CHUNKS, STEP_FN };

typedef struct nn_step {
    int kind;
    dnnl_primitive_t prim;
    int nargs;
    dnnl_exec_arg_t args[12];
    float *a, *b, *c, *d; /* ADD: a += b (b NULL: the plan's accumulation buffer);
                             BN_RUNNING: a running_mean, b running_var, c mean, d var */
    size_t n;
    double count;
    /* CHUNKS: for i < n: a[i*da .. +len] (+)= b[i*db .. +len]; accumulate if add */
    size_t len, da, db;
    int add;
    void (*fn)(void *ctx); /* FN: fn(ctx) */
    void *ctx;
} nn_step;

typedef struct nn_prog {
    nn_step *s;
    int n, cap;
} nn_prog;

typedef struct nn_pval {
    dnnl_memory_desc_t md;
    float *data, *diff;
    dnnl_memory_t mem, dmem;
    int64_t h, w;
    int needs_diff, diff_written;
} nn_pval;

typedef struct nn_pop {
    dnnl_primitive_desc_t fpd;
    dnnl_memory_desc_t src_md; /* conv/deconv: the primitive's src layout */
    dnnl_memory_t src_mem;     /* memory in src_md (the value's, or an adapted copy) */
    int src_adapted;
    dnnl_memory_desc_t w_fwd_md;
    dnnl_memory_t w_plain, w_fwd, bias, dw_plain, dbias;
    dnnl_memory_t ws, mean, var, scale, shift, dscale, dshift;
    float *mean_buf, *var_buf;
    struct nn_dc *dc; /* transposed conv run as a 1x1 conv + pixel shuffle, or NULL */
    dnnl_memory_desc_t z_md;
    dnnl_memory_t z_mem, dz_mem;
} nn_pop;

typedef struct nn_plan {
    dnnl_engine_t eng;
    int64_t N, H, W;
    int training;
    int nvals, nops;
    nn_pval *v;
    nn_pop *ops;
    dnnl_primitive_attr_t attr;
    void **bufs;
    int nbufs, capbufs;
    size_t bytes;
    dnnl_memory_t *mems;
    int nmems, capmems;
    dnnl_primitive_t *prims;
    int nprims, capprims;
    dnnl_primitive_desc_t *pds;
    int npds, cappds;
    dnnl_memory_t *scratch_mems;
    int nscratch, capscratch;
    size_t scratch_bytes;
    float *scratch;
    dnnl_memory_t *accum_mems;
    int naccum, capaccum;
    size_t accum_bytes;
    float *accum;
    dnnl_memory_t in_user[NN_MAX_INPUTS], out_user, dout_user;
    nn_prog fwd, bwd;
    int act_reorders;
} nn_plan;

#define GROW(arr, n, cap)                                                                          \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            int nc_ = (cap) ? 2 * (cap) : 16;                                                      \
            void *p_ = realloc((arr), (size_t)nc_ * sizeof *(arr));                                \
            if (!p_)                                                                               \
                return dolor_error(DOLOR_ENOMEM, "nn: out of memory");                             \
            (arr) = p_;                                                                            \
            (cap) = nc_;                                                                           \
        }                                                                                          \
    } while (0)

static void plan_free(nn_plan *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nprims; i++)
        dnnl_primitive_destroy(p->prims[i]);
    for (int i = 0; i < p->npds; i++)
        dnnl_primitive_desc_destroy(p->pds[i]);
    for (int i = 0; i < p->nmems; i++)
        dnnl_memory_destroy(p->mems[i]);
    for (int i = 0; i < p->nbufs; i++)
        dolor_free_aligned(p->bufs[i]);
    if (p->attr)
        dnnl_primitive_attr_destroy(p->attr);
    dolor_free_aligned(p->scratch);
    dolor_free_aligned(p->accum);
    free(p->prims);
    free(p->pds);
    free(p->mems);
    free(p->bufs);
    free(p->scratch_mems);
    free(p->accum_mems);
    free(p->fwd.s);
    free(p->bwd.s);
    free(p->v);
    free(p->ops);
    free(p);
}

static dolor_status p_alloc(nn_plan *p, size_t bytes, float **out)
{
    GROW(p->bufs, p->nbufs, p->capbufs);
    float *b = dolor_alloc_aligned(bytes);
    if (!b)
        return dolor_error(DOLOR_ENOMEM, "nn: out of memory for a %zu-byte activation buffer", bytes);
    p->bufs[p->nbufs++] = b;
    p->bytes += bytes;
    *out = b;
    return DOLOR_OK;
}

static dolor_status p_mem(nn_plan *p, const dnnl_memory_desc_t *md, void *handle, dnnl_memory_t *out)
{
    GROW(p->mems, p->nmems, p->capmems);
    DN(dnnl_memory_create(out, md, p->eng, handle));
    p->mems[p->nmems++] = *out;
    return DOLOR_OK;
}

/* A buffer of md's size with a memory object over it. */
static dolor_status p_buf_mem(nn_plan *p, const dnnl_memory_desc_t *md, float **buf, dnnl_memory_t *out)
{
    float *b = NULL;
    TRY(p_alloc(p, dnnl_memory_desc_get_size(md), &b));
    if (buf)
        *buf = b;
    return p_mem(p, md, b, out);
}

static dolor_status p_pd(nn_plan *p, dnnl_primitive_desc_t *pd, const void *op_desc, const_dnnl_primitive_desc_t hint)
{
    GROW(p->pds, p->npds, p->cappds);
    DN(dnnl_primitive_desc_create(pd, (const_dnnl_op_desc_t)op_desc, p->attr, p->eng, hint));
    p->pds[p->npds++] = *pd;
    return DOLOR_OK;
}

/* Track a pd created elsewhere (reorder, concat). */
static dolor_status p_own_pd(nn_plan *p, dnnl_primitive_desc_t pd)
{
    if (p->npds == p->cappds) {
        int nc = p->cappds ? 2 * p->cappds : 16;
        void *q = realloc(p->pds, (size_t)nc * sizeof *p->pds);
        if (!q) {
            dnnl_primitive_desc_destroy(pd);
            return dolor_error(DOLOR_ENOMEM, "nn: out of memory");
        }
        p->pds = q;
        p->cappds = nc;
    }
    p->pds[p->npds++] = pd;
    return DOLOR_OK;
}

/* Create the primitive and, if it needs one, a scratchpad memory (handle set after planning). */
static dolor_status p_prim(nn_plan *p, dnnl_primitive_desc_t pd, dnnl_primitive_t *prim, dnnl_memory_t *scratch)
{
    GROW(p->prims, p->nprims, p->capprims);
    DN(dnnl_primitive_create(prim, pd));
    p->prims[p->nprims++] = *prim;
    *scratch = NULL;
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t sz = smd ? dnnl_memory_desc_get_size(smd) : 0;
    if (sz > 0) {
        TRY(p_mem(p, smd, DNNL_MEMORY_NONE, scratch));
        GROW(p->scratch_mems, p->nscratch, p->capscratch);
        p->scratch_mems[p->nscratch++] = *scratch;
        if (sz > p->scratch_bytes)
            p->scratch_bytes = sz;
    }
    return DOLOR_OK;
}

static dolor_status prog_add(nn_prog *g, nn_step **out)
{
    GROW(g->s, g->n, g->cap);
    nn_step *s = &g->s[g->n++];
    memset(s, 0, sizeof *s);
    *out = s;
    return DOLOR_OK;
}

static void step_arg(nn_step *s, int arg, dnnl_memory_t m)
{
    if (!m)
        return;
    s->args[s->nargs].arg = arg;
    s->args[s->nargs].memory = m;
    s->nargs++;
}

static dolor_status prog_prim(nn_prog *g, dnnl_primitive_t prim, dnnl_memory_t scratch, nn_step **out)
{
    nn_step *s = NULL;
    TRY(prog_add(g, &s));
    s->kind = STEP_PRIM;
    s->prim = prim;
    step_arg(s, DNNL_ARG_SCRATCHPAD, scratch);
    *out = s;
    return DOLOR_OK;
}

static dolor_status add_reorder(nn_plan *p, nn_prog *g, const dnnl_memory_desc_t *smd, dnnl_memory_t src,
                                const dnnl_memory_desc_t *dmd, dnnl_memory_t dst)
{
    dnnl_primitive_desc_t pd;
    DN(dnnl_reorder_primitive_desc_create(&pd, smd, p->eng, dmd, p->eng, p->attr));
    TRY(p_own_pd(p, pd));
    dnnl_primitive_t prim;
    dnnl_memory_t scr;
    TRY(p_prim(p, pd, &prim, &scr));
    nn_step *s = NULL;
    TRY(prog_prim(g, prim, scr, &s));
    step_arg(s, DNNL_ARG_FROM, src);
    step_arg(s, DNNL_ARG_TO, dst);
    return DOLOR_OK;
}

static dolor_status add_add(nn_prog *g, float *dst, size_t n)
{
    nn_step *s = NULL;
    TRY(prog_add(g, &s));
    s->kind = STEP_ADD;
    s->a = dst;
    s->b = NULL;
    s->n = n;
    return DOLOR_OK;
}

/* Where the backward of a consumer writes d/d(value): the value's diff if nothing wrote it yet
 * (in backward order), else the accumulation buffer followed by an add (call diff_done). */
static dolor_status diff_target(nn_plan *p, int vid, dnnl_memory_t *m, int *accum)
{
    nn_pval *pv = &p->v[vid];
    if (!pv->needs_diff || pv->diff_written) {
        size_t sz = dnnl_memory_desc_get_size(&pv->md);
        TRY(p_mem(p, &pv->md, DNNL_MEMORY_NONE, m));
        GROW(p->accum_mems, p->naccum, p->capaccum);
        p->accum_mems[p->naccum++] = *m;
        if (sz > p->accum_bytes)
            p->accum_bytes = sz;
        *accum = pv->needs_diff ? 1 : 2; /* 2: discarded */
    } else {
        *m = pv->dmem;
        pv->diff_written = 1;
        *accum = 0;
    }
    return DOLOR_OK;
}

static dolor_status diff_done(nn_plan *p, nn_prog *g, int vid, int accum)
{
    if (accum == 1)
        return add_add(g, p->v[vid].diff, dnnl_memory_desc_get_size(&p->v[vid].md) / sizeof(float));
    return DOLOR_OK;
}

static void md4(dnnl_memory_desc_t *md, int64_t n, int64_t c, int64_t h, int64_t w, dnnl_format_tag_t tag)
{
    dnnl_dims_t d = {n, c, h, w};
    dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, tag);
}

static void md1(dnnl_memory_desc_t *md, int64_t c)
{
    dnnl_dims_t d = {c};
    dnnl_memory_desc_init_by_tag(md, 1, d, dnnl_f32, dnnl_a);
}

static int64_t lvl_size(int64_t s, int level) { return level >= 0 ? s >> level : s << (-level); }

/* Output value: allocate data (and diff for training) in md. */
static dolor_status set_value(nn_plan *p, int vid, const dnnl_memory_desc_t *md)
{
    nn_pval *pv = &p->v[vid];
    pv->md = *md;
    TRY(p_buf_mem(p, md, &pv->data, &pv->mem));
    return DOLOR_OK; /* diffs: plan_diffs() */
}

/* Channel block of a dense [N, C, H, W] layout whose channel blocks are outermost after N
 * (plain nchw: 1, nChw16c: 16, nChw8c: 8); 0 for anything else (nhwc, offsets, ...). In such a
 * layout the channels [c0, c1) of one sample, c0 and c1 multiples of the block, are one
 * contiguous run of (c1 - c0) * H * W floats. */
static int chan_block(const dnnl_memory_desc_t *md)
{
    if (md->ndims != 4 || md->format_kind != dnnl_blocked || md->offset0 != 0 || md->data_type != dnnl_f32)
        return 0;
    const dnnl_blocking_desc_t *bd = &md->format_desc.blocking;
    int64_t b;
    if (bd->inner_nblks == 0)
        b = 1;
    else if (bd->inner_nblks == 1 && bd->inner_idxs[0] == 1)
        b = bd->inner_blks[0];
    else
        return 0;
    const dnnl_dim_t *pd = md->padded_dims;
    if (pd[0] != md->dims[0] || pd[2] != md->dims[2] || pd[3] != md->dims[3] || pd[1] % b)
        return 0;
    if (bd->strides[3] != b || bd->strides[2] != pd[3] * b || bd->strides[1] != pd[2] * pd[3] * b ||
        bd->strides[0] != pd[1] * pd[2] * pd[3])
        return 0;
    return (int)b;
}

/* ---------------------------------------------------------------- conv ---- */

/* a reference (slow, unoptimised) oneDNN implementation */
static int is_ref(const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    return dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl &&
           strncmp(impl, "ref", 3) == 0;
}

static dolor_status init_conv_desc(const nn_op *op, int deconv, dnnl_prop_kind_t prop, const dnnl_memory_desc_t *s,
                                   const dnnl_memory_desc_t *w, const dnnl_memory_desc_t *b,
                                   const dnnl_memory_desc_t *d, void *desc, int which)
{
    int st = deconv ? 2 : 1, pad = deconv ? 0 : op->pad;
    dnnl_dims_t strides = {st, st}, pl = {pad, pad}, pr = {pad, pad};
    if (deconv) {
        dnnl_deconvolution_desc_t *dd = desc;
        if (which == 0)
            DN(dnnl_deconvolution_forward_desc_init(dd, prop, dnnl_deconvolution_direct, s, w, b, d, strides, pl, pr));
        else if (which == 1)
            DN(dnnl_deconvolution_backward_data_desc_init(dd, dnnl_deconvolution_direct, s, w, d, strides, pl, pr));
        else
            DN(dnnl_deconvolution_backward_weights_desc_init(dd, dnnl_deconvolution_direct, s, w, b, d, strides, pl,
                                                             pr));
    } else {
        dnnl_convolution_desc_t *cd = desc;
        if (which == 0)
            DN(dnnl_convolution_forward_desc_init(cd, prop, dnnl_convolution_direct, s, w, b, d, strides, pl, pr));
        else if (which == 1)
            DN(dnnl_convolution_backward_data_desc_init(cd, dnnl_convolution_direct, s, w, d, strides, pl, pr));
        else
            DN(dnnl_convolution_backward_weights_desc_init(cd, dnnl_convolution_direct, s, w, b, d, strides, pl, pr));
    }
    return DOLOR_OK;
}

typedef union {
    dnnl_convolution_desc_t c;
    dnnl_deconvolution_desc_t d;
} conv_desc_u;

static void conv_mds(dolor_net *g, nn_plan *p, const nn_op *op, dnnl_memory_desc_t *s_any, dnnl_memory_desc_t *w_any,
                     dnnl_memory_desc_t *b_md, dnnl_memory_desc_t *d_any, dnnl_memory_desc_t *w_plain)
{
    int deconv = op->kind == NN_OP_DECONV;
    const nn_pval *vi = &p->v[op->in[0]];
    int64_t ho = deconv ? 2 * vi->h : vi->h + 2 * op->pad - op->k + 1;
    int64_t wo = deconv ? 2 * vi->w : vi->w + 2 * op->pad - op->k + 1;
    md4(s_any, p->N, op->cin, vi->h, vi->w, dnnl_format_tag_any);
    md4(d_any, p->N, op->cout, ho, wo, dnnl_format_tag_any);
    md4(w_any, op->cout, op->cin, op->k, op->k, dnnl_format_tag_any);
    md4(w_plain, op->cout, op->cin, op->k, op->k, deconv ? dnnl_iohw : dnnl_oihw);
    md1(b_md, op->cout);
}

static dolor_status plan_conv_fwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    int deconv = op->kind == NN_OP_DECONV;
    nn_pval *vi = &p->v[op->in[0]];
    dnnl_memory_desc_t s_any, w_any, b_md, d_any, w_plain;
    conv_mds(g, p, op, &s_any, &w_any, &b_md, &d_any, &w_plain);
    conv_desc_u cd;
    dnnl_prop_kind_t prop = p->training ? dnnl_forward_training : dnnl_forward_inference;
    /* Layout choice. oneDNN picks with format_tag_any, but for N = 1 inference it picks nhwc for
       convolutions while deconvolution has no fast nhwc kernel (ref only), and mixed layouts make
       concat slow. So first ask for the blocked layout (the producer's, or nChw16c / the skip's
       for the output), and fall back to format_tag_any for both when that gives a reference
       (slow) implementation or none. */
    dnnl_memory_desc_t cand_s[4], cand_d[4];
    int ncand = 0, cb = chan_block(&vi->md);
    cand_s[0] = cb > 1 ? vi->md : s_any;
    if (op->out_like >= 0)
        cand_d[0] = p->v[op->out_like].md;
    else
        md4(&cand_d[0], d_any.dims[0], d_any.dims[1], d_any.dims[2], d_any.dims[3], cb == 8 ? dnnl_aBcd8b : dnnl_aBcd16b);
    ncand = 1;
    cand_s[ncand] = s_any;
    cand_d[ncand++] = d_any;
    for (int b = 0; b < 2; b++) {
        dnnl_format_tag_t tag = b ? dnnl_aBcd8b : dnnl_aBcd16b;
        md4(&cand_s[ncand], s_any.dims[0], s_any.dims[1], s_any.dims[2], s_any.dims[3], tag);
        md4(&cand_d[ncand++], d_any.dims[0], d_any.dims[1], d_any.dims[2], d_any.dims[3], tag);
    }
    po->fpd = NULL;
    for (int attempt = 0; attempt < ncand && !po->fpd; attempt++) {
        dnnl_primitive_desc_t pd;
        TRY(init_conv_desc(op, deconv, prop, &cand_s[attempt], &w_any, op->has_bias ? &b_md : NULL, &cand_d[attempt],
                           &cd, 0));
        if (dnnl_primitive_desc_create(&pd, (const_dnnl_op_desc_t)&cd, p->attr, p->eng, NULL) != dnnl_success)
            continue;
        int ok = !is_ref(pd);
        if (ok && p->training) { /* the backward kernels for these layouts must be fast too */
            dnnl_memory_desc_t sm = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
            dnnl_memory_desc_t dm = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
            for (int which = 1; which <= 2 && ok; which++) {
                conv_desc_u bd;
                dnnl_primitive_desc_t bpd;
                TRY(init_conv_desc(op, deconv, which == 1 ? dnnl_backward_data : dnnl_backward_weights, &sm, &w_any,
                                   which == 2 && op->has_bias ? &b_md : NULL, &dm, &bd, which));
                if (dnnl_primitive_desc_create(&bpd, (const_dnnl_op_desc_t)&bd, p->attr, p->eng, pd) != dnnl_success)
                    ok = 0;
                else {
                    ok = !is_ref(bpd);
                    dnnl_primitive_desc_destroy(bpd);
                }
            }
        }
        if (!ok) {
            dnnl_primitive_desc_destroy(pd);
            continue;
        }
        po->fpd = pd;
        TRY(p_own_pd(p, pd));
    }
    if (!po->fpd) { /* only slow kernels: let oneDNN choose */
        TRY(init_conv_desc(op, deconv, prop, &s_any, &w_any, op->has_bias ? &b_md : NULL, &d_any, &cd, 0));
        TRY(p_pd(p, &po->fpd, &cd, NULL));
    }
    po->src_md = *dnnl_primitive_desc_query_md(po->fpd, dnnl_query_src_md, 0);
    po->w_fwd_md = *dnnl_primitive_desc_query_md(po->fpd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *dmd = dnnl_primitive_desc_query_md(po->fpd, dnnl_query_dst_md, 0);
    TRY(set_value(p, op->out, dmd));
    /* src layout adaptation (only where the producer's layout differs) */
    if (dnnl_memory_desc_equal(&po->src_md, &vi->md)) {
        po->src_mem = vi->mem;
    } else {
        po->src_adapted = 1;
        p->act_reorders++;
        TRY(p_buf_mem(p, &po->src_md, NULL, &po->src_mem));
        TRY(add_reorder(p, &p->fwd, &vi->md, vi->mem, &po->src_md, po->src_mem));
    }
    /* weights: plain (PyTorch) in params -> primitive layout */
    TRY(p_mem(p, &w_plain, g->params + g->tensors[op->t_w].offset, &po->w_plain));
    if (dnnl_memory_desc_equal(&po->w_fwd_md, &w_plain)) {
        po->w_fwd = po->w_plain;
    } else {
        TRY(p_buf_mem(p, &po->w_fwd_md, NULL, &po->w_fwd));
        TRY(add_reorder(p, &p->fwd, &w_plain, po->w_plain, &po->w_fwd_md, po->w_fwd));
    }
    if (op->has_bias)
        TRY(p_mem(p, &b_md, g->params + g->tensors[op->t_b].offset, &po->bias));
    dnnl_primitive_t prim;
    dnnl_memory_t scr;
    TRY(p_prim(p, po->fpd, &prim, &scr));
    nn_step *s = NULL;
    TRY(prog_prim(&p->fwd, prim, scr, &s));
    step_arg(s, DNNL_ARG_SRC, po->src_mem);
    step_arg(s, DNNL_ARG_WEIGHTS, po->w_fwd);
    step_arg(s, DNNL_ARG_BIAS, po->bias);
    step_arg(s, DNNL_ARG_DST, p->v[op->out].mem);
    return DOLOR_OK;
}

static dolor_status plan_conv_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    int deconv = op->kind == NN_OP_DECONV;
    nn_pval *vi = &p->v[op->in[0]], *vo = &p->v[op->out];
    dnnl_memory_desc_t s_any, w_any, b_md, d_any, w_plain;
    conv_mds(g, p, op, &s_any, &w_any, &b_md, &d_any, &w_plain);
    /* weights gradient (+ bias) */
    conv_desc_u cd;
    TRY(init_conv_desc(op, deconv, dnnl_backward_weights, &po->src_md, &w_any, op->has_bias ? &b_md : NULL, &vo->md,
                       &cd, 2));
    dnnl_primitive_desc_t pd;
    TRY(p_pd(p, &pd, &cd, po->fpd));
    const dnnl_memory_desc_t *dwmd = dnnl_primitive_desc_query_md(pd, dnnl_query_diff_weights_md, 0);
    dnnl_memory_t dw_plain, dw, dbias = NULL;
    TRY(p_mem(p, &w_plain, g->grads + g->tensors[op->t_w].offset, &dw_plain));
    int dw_reorder = !dnnl_memory_desc_equal(dwmd, &w_plain);
    if (dw_reorder)
        TRY(p_buf_mem(p, dwmd, NULL, &dw));
    else
        dw = dw_plain;
    if (op->has_bias)
        TRY(p_mem(p, &b_md, g->grads + g->tensors[op->t_b].offset, &dbias));
    dnnl_primitive_t prim;
    dnnl_memory_t scr;
    TRY(p_prim(p, pd, &prim, &scr));
    nn_step *s = NULL;
    TRY(prog_prim(&p->bwd, prim, scr, &s));
    step_arg(s, DNNL_ARG_SRC, po->src_mem);
    step_arg(s, DNNL_ARG_DIFF_DST, vo->dmem);
    step_arg(s, DNNL_ARG_DIFF_WEIGHTS, dw);
    step_arg(s, DNNL_ARG_DIFF_BIAS, dbias);
    if (dw_reorder)
        TRY(add_reorder(p, &p->bwd, dwmd, dw, &w_plain, dw_plain));
    /* data gradient */
    if (!vi->needs_diff)
        return DOLOR_OK;
    TRY(init_conv_desc(op, deconv, dnnl_backward_data, &po->src_md, &w_any, NULL, &vo->md, &cd, 1));
    TRY(p_pd(p, &pd, &cd, po->fpd));
    const dnnl_memory_desc_t *wbmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_memory_t wb;
    if (dnnl_memory_desc_equal(wbmd, &po->w_fwd_md)) {
        wb = po->w_fwd; /* still holds this step's weights from the forward */
    } else if (dnnl_memory_desc_equal(wbmd, &w_plain)) {
        wb = po->w_plain;
    } else {
        TRY(p_buf_mem(p, wbmd, NULL, &wb));
        TRY(add_reorder(p, &p->bwd, &w_plain, po->w_plain, wbmd, wb));
    }
    TRY(p_prim(p, pd, &prim, &scr));
    dnnl_memory_t dsrc;
    int accum = 0;
    if (po->src_adapted)
    {
        TRY(p_buf_mem(p, &po->src_md, NULL, &dsrc));
        p->act_reorders++;
    } else
        TRY(diff_target(p, op->in[0], &dsrc, &accum));
    TRY(prog_prim(&p->bwd, prim, scr, &s));
    step_arg(s, DNNL_ARG_DIFF_DST, vo->dmem);
    step_arg(s, DNNL_ARG_WEIGHTS, wb);
    step_arg(s, DNNL_ARG_DIFF_SRC, dsrc);
    if (po->src_adapted) {
        dnnl_memory_t t;
        TRY(diff_target(p, op->in[0], &t, &accum));
        TRY(add_reorder(p, &p->bwd, &po->src_md, dsrc, &vi->md, t));
    }
    return diff_done(p, &p->bwd, op->in[0], accum);
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

static dolor_status add_fn(nn_prog *g, void (*fn)(void *), void *ctx)
{
    nn_step *s = NULL;
    TRY(prog_add(g, &s));
    s->kind = STEP_FN;
    s->fn = fn;
    s->ctx = ctx;
    return DOLOR_OK;
}

static void md_strides(const dnnl_memory_desc_t *md, int64_t *s)
{
    for (int k = 0; k < 4; k++)
        s[k] = md->format_desc.blocking.strides[k];
}

/* 1: planned the 1x1 way; 0: not possible here (caller uses the deconvolution primitive) */
static dolor_status plan_deconv1x1_fwd(dolor_net *g, nn_plan *p, int oi, int *done)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]];
    *done = 0;
    if (!op->has_bias)
        return DOLOR_OK;
    int64_t N = p->N, I = op->cin, O = op->cout, H = vi->h, W = vi->w;
    dnnl_memory_desc_t ymd;
    int cbi = chan_block(&vi->md);
    if (op->out_like >= 0)
        ymd = p->v[op->out_like].md;
    else
        md4(&ymd, N, O, 2 * H, 2 * W, cbi == 8 ? dnnl_aBcd8b : dnnl_aBcd16b);
    int b = chan_block(&ymd);
    if (b < 8 || b > 64 || O % b)
        return DOLOR_OK;
    dnnl_memory_desc_t s_md, z_md, w_any;
    if (cbi > 1)
        s_md = vi->md;
    else
        md4(&s_md, N, I, H, W, dnnl_format_tag_any);
    md4(&z_md, N, 4 * O, H, W, b == 8 ? dnnl_aBcd8b : dnnl_aBcd16b);
    md4(&w_any, 4 * O, I, 1, 1, dnnl_format_tag_any);
    dnnl_dims_t st = {1, 1}, pad = {0, 0};
    dnnl_convolution_desc_t cd;
    DN(dnnl_convolution_forward_desc_init(&cd, p->training ? dnnl_forward_training : dnnl_forward_inference,
                                          dnnl_convolution_direct, &s_md, &w_any, NULL, &z_md, st, pad, pad));
    dnnl_primitive_desc_t pd;
    if (dnnl_primitive_desc_create(&pd, (const_dnnl_op_desc_t)&cd, p->attr, p->eng, NULL) != dnnl_success)
        return DOLOR_OK;
    int ok = !is_ref(pd) && chan_block(dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0)) == b;
    if (ok && p->training) {
        dnnl_memory_desc_t sm = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
        for (int which = 1; which <= 2 && ok; which++) {
            dnnl_convolution_desc_t bd;
            dnnl_primitive_desc_t bpd;
            if (which == 1)
                DN(dnnl_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &sm, &w_any, &z_md, st, pad, pad));
            else
                DN(dnnl_convolution_backward_weights_desc_init(&bd, dnnl_convolution_direct, &sm, &w_any, NULL, &z_md, st,
                                                               pad, pad));
            if (dnnl_primitive_desc_create(&bpd, (const_dnnl_op_desc_t)&bd, p->attr, p->eng, pd) != dnnl_success)
                ok = 0;
            else {
                ok = !is_ref(bpd);
                dnnl_primitive_desc_destroy(bpd);
            }
        }
    }
    if (!ok) {
        dnnl_primitive_desc_destroy(pd);
        return DOLOR_OK;
    }
    po->fpd = pd;
    TRY(p_own_pd(p, pd));
    *done = 1;
    nn_dc *d = NULL;
    TRY(p_alloc(p, sizeof *d, (float **)&d));
    po->dc = d;
    d->N = N;
    d->I = I;
    d->O = O;
    d->H = H;
    d->W = W;
    d->b = b;
    po->src_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    po->w_fwd_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    po->z_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    TRY(p_buf_mem(p, &po->z_md, &d->z, &po->z_mem));
    TRY(set_value(p, op->out, &ymd));
    d->y = p->v[op->out].data;
    md_strides(&po->z_md, d->zs);
    md_strides(&ymd, d->ys);
    d->bias = g->params + g->tensors[op->t_b].offset;
    d->wp = g->params + g->tensors[op->t_w].offset;
    if (dnnl_memory_desc_equal(&po->src_md, &vi->md)) {
        po->src_mem = vi->mem;
    } else {
        po->src_adapted = 1;
        p->act_reorders++;
        TRY(p_buf_mem(p, &po->src_md, NULL, &po->src_mem));
        TRY(add_reorder(p, &p->fwd, &vi->md, vi->mem, &po->src_md, po->src_mem));
    }
    dnnl_memory_desc_t w1_plain;
    md4(&w1_plain, 4 * O, I, 1, 1, dnnl_oihw);
    TRY(p_buf_mem(p, &w1_plain, &d->w1, &po->w_plain));
    TRY(add_fn(&p->fwd, dc_perm_w, d));
    if (dnnl_memory_desc_equal(&po->w_fwd_md, &w1_plain)) {
        po->w_fwd = po->w_plain;
    } else {
        TRY(p_buf_mem(p, &po->w_fwd_md, NULL, &po->w_fwd));
        TRY(add_reorder(p, &p->fwd, &w1_plain, po->w_plain, &po->w_fwd_md, po->w_fwd));
    }
    dnnl_primitive_t prim;
    dnnl_memory_t scr;
    TRY(p_prim(p, pd, &prim, &scr));
    nn_step *s = NULL;
    TRY(prog_prim(&p->fwd, prim, scr, &s));
    step_arg(s, DNNL_ARG_SRC, po->src_mem);
    step_arg(s, DNNL_ARG_WEIGHTS, po->w_fwd);
    step_arg(s, DNNL_ARG_DST, po->z_mem);
    return add_fn(&p->fwd, dc_shuffle, d);
}

static dolor_status plan_deconv_fwd(dolor_net *g, nn_plan *p, int oi)
{
    int done = 0;
    TRY(plan_deconv1x1_fwd(g, p, oi, &done));
    return done ? DOLOR_OK : plan_conv_fwd(g, p, oi);
}

static dolor_status plan_deconv1x1_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_dc *d = po->dc;
    nn_pval *vi = &p->v[op->in[0]], *vo = &p->v[op->out];
    TRY(p_buf_mem(p, &po->z_md, &d->dz, &po->dz_mem));
    TRY(p_alloc(p, (size_t)(d->N * d->O) * sizeof(double), (float **)&d->part));
    d->dy = vo->diff;
    d->dbias = g->grads + g->tensors[op->t_b].offset;
    d->wg = g->grads + g->tensors[op->t_w].offset;
    TRY(add_fn(&p->bwd, dc_unshuffle, d));
    dnnl_memory_desc_t w_any, w1_plain;
    md4(&w_any, 4 * d->O, d->I, 1, 1, dnnl_format_tag_any);
    md4(&w1_plain, 4 * d->O, d->I, 1, 1, dnnl_oihw);
    dnnl_dims_t st = {1, 1}, pad = {0, 0};
    /* weights */
    dnnl_convolution_desc_t cd;
    DN(dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &po->src_md, &w_any, NULL, &po->z_md,
                                                   st, pad, pad));
    dnnl_primitive_desc_t pd;
    TRY(p_pd(p, &pd, &cd, po->fpd));
    const dnnl_memory_desc_t *dwmd = dnnl_primitive_desc_query_md(pd, dnnl_query_diff_weights_md, 0);
    dnnl_memory_t dw_plain, dw;
    TRY(p_buf_mem(p, &w1_plain, &d->dw1, &dw_plain));
    int dw_reorder = !dnnl_memory_desc_equal(dwmd, &w1_plain);
    if (dw_reorder)
        TRY(p_buf_mem(p, dwmd, NULL, &dw));
    else
        dw = dw_plain;
    dnnl_primitive_t prim;
    dnnl_memory_t scr;
    TRY(p_prim(p, pd, &prim, &scr));
    nn_step *s = NULL;
    TRY(prog_prim(&p->bwd, prim, scr, &s));
    step_arg(s, DNNL_ARG_SRC, po->src_mem);
    step_arg(s, DNNL_ARG_DIFF_DST, po->dz_mem);
    step_arg(s, DNNL_ARG_DIFF_WEIGHTS, dw);
    if (dw_reorder)
        TRY(add_reorder(p, &p->bwd, dwmd, dw, &w1_plain, dw_plain));
    TRY(add_fn(&p->bwd, dc_unperm_w, d));
    /* data */
    if (!vi->needs_diff)
        return DOLOR_OK;
    DN(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &po->src_md, &w_any, &po->z_md, st, pad,
                                                pad));
    TRY(p_pd(p, &pd, &cd, po->fpd));
    const dnnl_memory_desc_t *wbmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_memory_t wb;
    if (dnnl_memory_desc_equal(wbmd, &po->w_fwd_md)) {
        wb = po->w_fwd;
    } else if (dnnl_memory_desc_equal(wbmd, &w1_plain)) {
        wb = po->w_plain;
    } else {
        TRY(p_buf_mem(p, wbmd, NULL, &wb));
        TRY(add_reorder(p, &p->bwd, &w1_plain, po->w_plain, wbmd, wb));
    }
    TRY(p_prim(p, pd, &prim, &scr));
    dnnl_memory_t dsrc;
    int accum = 0;
    if (po->src_adapted)
        TRY(p_buf_mem(p, &po->src_md, NULL, &dsrc));
    else
        TRY(diff_target(p, op->in[0], &dsrc, &accum));
    TRY(prog_prim(&p->bwd, prim, scr, &s));
    step_arg(s, DNNL_ARG_DIFF_DST, po->dz_mem);
    step_arg(s, DNNL_ARG_WEIGHTS, wb);
    step_arg(s, DNNL_ARG_DIFF_SRC, dsrc);
    if (po->src_adapted) {
        dnnl_memory_t t;
        TRY(diff_target(p, op->in[0], &t, &accum));
        TRY(add_reorder(p, &p->bwd, &po->src_md, dsrc, &vi->md, t));
    }
    return diff_done(p, &p->bwd, op->in[0], accum);
}

/* ------------------------------------------------------------------ BN ---- */

static unsigned bn_flags(const nn_op *op, int global)
{
    unsigned f = dnnl_use_scale | dnnl_use_shift;
    if (op->relu)
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
    dnnl_batch_normalization_desc_t bd;
    DN(dnnl_batch_normalization_forward_desc_init(&bd, p->training ? dnnl_forward_training : dnnl_forward_inference,
                                                  &vi->md, BN_EPS, bn_flags(op, !p->training)));
    TRY(p_pd(p, &po->fpd, &bd, NULL));
    TRY(set_value(p, op->out, dnnl_primitive_desc_query_md(po->fpd, dnnl_query_dst_md, 0)));
    dnnl_memory_desc_t c_md;
    md1(&c_md, op->cout);
    TRY(p_mem(p, &c_md, g->params + g->tensors[op->t_w].offset, &po->scale));
    TRY(p_mem(p, &c_md, g->params + g->tensors[op->t_b].offset, &po->shift));
    float *rm = g->buffers + g->tensors[op->t_rm].offset, *rv = g->buffers + g->tensors[op->t_rv].offset;
    if (p->training) {
        TRY(p_buf_mem(p, &c_md, &po->mean_buf, &po->mean));
        TRY(p_buf_mem(p, &c_md, &po->var_buf, &po->var));
        if (op->relu)
            TRY(p_buf_mem(p, dnnl_primitive_desc_query_md(po->fpd, dnnl_query_workspace_md, 0), NULL, &po->ws));
    } else {
        TRY(p_mem(p, &c_md, rm, &po->mean));
        TRY(p_mem(p, &c_md, rv, &po->var));
    }
    dnnl_primitive_t prim;
    dnnl_memory_t scr;
    TRY(p_prim(p, po->fpd, &prim, &scr));
    nn_step *s = NULL;
    TRY(prog_prim(&p->fwd, prim, scr, &s));
    step_arg(s, DNNL_ARG_SRC, vi->mem);
    step_arg(s, DNNL_ARG_DST, p->v[op->out].mem);
    step_arg(s, DNNL_ARG_MEAN, po->mean);
    step_arg(s, DNNL_ARG_VARIANCE, po->var);
    step_arg(s, DNNL_ARG_SCALE, po->scale);
    step_arg(s, DNNL_ARG_SHIFT, po->shift);
    step_arg(s, DNNL_ARG_WORKSPACE, po->ws);
    if (p->training) {
        TRY(prog_add(&p->fwd, &s));
        s->kind = STEP_BN_RUNNING;
        s->a = rm;
        s->b = rv;
        s->c = po->mean_buf;
        s->d = po->var_buf;
        s->n = (size_t)op->cout;
        s->count = (double)p->N * (double)vi->h * (double)vi->w;
    }
    return DOLOR_OK;
}

static dolor_status plan_bn_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]], *vo = &p->v[op->out];
    dnnl_batch_normalization_desc_t bd;
    DN(dnnl_batch_normalization_backward_desc_init(&bd, dnnl_backward, &vo->md, &vi->md, BN_EPS, bn_flags(op, 0)));
    dnnl_primitive_desc_t pd;
    TRY(p_pd(p, &pd, &bd, po->fpd));
    dnnl_memory_desc_t c_md;
    md1(&c_md, op->cout);
    TRY(p_mem(p, &c_md, g->grads + g->tensors[op->t_w].offset, &po->dscale));
    TRY(p_mem(p, &c_md, g->grads + g->tensors[op->t_b].offset, &po->dshift));
    dnnl_primitive_t prim;
    dnnl_memory_t scr, dsrc;
    int accum;
    TRY(p_prim(p, pd, &prim, &scr));
    TRY(diff_target(p, op->in[0], &dsrc, &accum));
    nn_step *s = NULL;
    TRY(prog_prim(&p->bwd, prim, scr, &s));
    step_arg(s, DNNL_ARG_SRC, vi->mem);
    step_arg(s, DNNL_ARG_MEAN, po->mean);
    step_arg(s, DNNL_ARG_VARIANCE, po->var);
    step_arg(s, DNNL_ARG_DIFF_DST, vo->dmem);
    step_arg(s, DNNL_ARG_SCALE, po->scale);
    step_arg(s, DNNL_ARG_SHIFT, po->shift);
    step_arg(s, DNNL_ARG_WORKSPACE, po->ws);
    step_arg(s, DNNL_ARG_DIFF_SRC, dsrc);
    step_arg(s, DNNL_ARG_DIFF_SCALE, po->dscale);
    step_arg(s, DNNL_ARG_DIFF_SHIFT, po->dshift);
    return diff_done(p, &p->bwd, op->in[0], accum);
}

/* ------------------------------------------- ReLU, max pool, bilinear x2 ---- */

static dolor_status plan_simple_fwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]];
    dnnl_prop_kind_t prop = p->training ? dnnl_forward_training : dnnl_forward_inference;
    dnnl_memory_desc_t d_any;
    if (op->kind == NN_OP_RELU) {
        dnnl_eltwise_desc_t ed;
        DN(dnnl_eltwise_forward_desc_init(&ed, prop, dnnl_eltwise_relu, &vi->md, 0.f, 0.f));
        TRY(p_pd(p, &po->fpd, &ed, NULL));
    } else if (op->kind == NN_OP_POOL) {
        md4(&d_any, p->N, op->cout, vi->h / 2, vi->w / 2, dnnl_format_tag_any);
        dnnl_dims_t st = {2, 2}, ker = {2, 2}, dil = {0, 0}, pad = {0, 0};
        dnnl_pooling_v2_desc_t pdsc;
        DN(dnnl_pooling_v2_forward_desc_init(&pdsc, prop, dnnl_pooling_max, &vi->md, &d_any, st, ker, dil, pad, pad));
        TRY(p_pd(p, &po->fpd, &pdsc, NULL));
    } else {
        md4(&d_any, p->N, op->cout, vi->h * 2, vi->w * 2, dnnl_format_tag_any);
        float f[2] = {2.f, 2.f};
        dnnl_resampling_desc_t rd;
        DN(dnnl_resampling_forward_desc_init(&rd, prop, dnnl_resampling_linear, f, &vi->md, &d_any));
        TRY(p_pd(p, &po->fpd, &rd, NULL));
    }
    TRY(set_value(p, op->out, dnnl_primitive_desc_query_md(po->fpd, dnnl_query_dst_md, 0)));
    if (op->kind == NN_OP_POOL && p->training)
        TRY(p_buf_mem(p, dnnl_primitive_desc_query_md(po->fpd, dnnl_query_workspace_md, 0), NULL, &po->ws));
    dnnl_primitive_t prim;
    dnnl_memory_t scr;
    TRY(p_prim(p, po->fpd, &prim, &scr));
    nn_step *s = NULL;
    TRY(prog_prim(&p->fwd, prim, scr, &s));
    step_arg(s, DNNL_ARG_SRC, vi->mem);
    step_arg(s, DNNL_ARG_DST, p->v[op->out].mem);
    step_arg(s, DNNL_ARG_WORKSPACE, po->ws);
    return DOLOR_OK;
}

static dolor_status plan_simple_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]], *vo = &p->v[op->out];
    if (!vi->needs_diff)
        return DOLOR_OK;
    dnnl_primitive_desc_t pd;
    if (op->kind == NN_OP_RELU) {
        dnnl_eltwise_desc_t ed;
        DN(dnnl_eltwise_backward_desc_init(&ed, dnnl_eltwise_relu, &vo->md, &vi->md, 0.f, 0.f));
        TRY(p_pd(p, &pd, &ed, po->fpd));
    } else if (op->kind == NN_OP_POOL) {
        dnnl_dims_t st = {2, 2}, ker = {2, 2}, dil = {0, 0}, pad = {0, 0};
        dnnl_pooling_v2_desc_t pdsc;
        DN(dnnl_pooling_v2_backward_desc_init(&pdsc, dnnl_pooling_max, &vi->md, &vo->md, st, ker, dil, pad, pad));
        TRY(p_pd(p, &pd, &pdsc, po->fpd));
    } else {
        float f[2] = {2.f, 2.f};
        dnnl_resampling_desc_t rd;
        DN(dnnl_resampling_backward_desc_init(&rd, dnnl_resampling_linear, f, &vi->md, &vo->md));
        TRY(p_pd(p, &pd, &rd, po->fpd));
    }
    dnnl_primitive_t prim;
    dnnl_memory_t scr, dsrc;
    int accum;
    TRY(p_prim(p, pd, &prim, &scr));
    TRY(diff_target(p, op->in[0], &dsrc, &accum));
    nn_step *s = NULL;
    TRY(prog_prim(&p->bwd, prim, scr, &s));
    step_arg(s, DNNL_ARG_SRC, vi->mem);
    step_arg(s, DNNL_ARG_DIFF_DST, vo->dmem);
    step_arg(s, DNNL_ARG_WORKSPACE, po->ws);
    step_arg(s, DNNL_ARG_DIFF_SRC, dsrc);
    return diff_done(p, &p->bwd, op->in[0], accum);
}

/* -------------------------------------------------------------- concat ---- */

/* concat/split by contiguous runs when the layouts allow it (see chan_block) */
static int concat_fast(const nn_plan *p, const nn_op *op)
{
    const dnnl_memory_desc_t *ma = &p->v[op->in[0]].md, *mb = &p->v[op->in[1]].md, *mo = &p->v[op->out].md;
    int b = chan_block(mo);
    return b > 0 && chan_block(ma) == b && chan_block(mb) == b && ma->dims[1] % b == 0 && ma->padded_dims[1] == ma->dims[1] &&
           mo->padded_dims[1] == ma->dims[1] + mb->padded_dims[1];
}

static dolor_status add_chunks(nn_prog *g, float *dst, size_t da, const float *src, size_t db, size_t n, size_t len,
                               int add)
{
    nn_step *s = NULL;
    TRY(prog_add(g, &s));
    s->kind = STEP_CHUNKS;
    s->a = dst;
    s->b = (float *)src;
    s->da = da;
    s->db = db;
    s->n = n;
    s->len = len;
    s->add = add;
    return DOLOR_OK;
}

static dolor_status plan_concat_fast_fwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    const nn_pval *va = &p->v[op->in[0]], *vb = &p->v[op->in[1]];
    int b = chan_block(&va->md);
    int64_t ct = va->md.dims[1] + vb->md.dims[1];
    dnnl_memory_desc_t md = va->md; /* same format, more channels */
    md.dims[1] = ct;
    md.padded_dims[1] = (ct + b - 1) / b * b;
    for (int k = 0; k < 4; k++)
        md.format_desc.blocking.strides[k] = va->md.format_desc.blocking.strides[k];
    md.format_desc.blocking.strides[0] = md.padded_dims[1] * md.padded_dims[2] * md.padded_dims[3];
    TRY(set_value(p, op->out, &md));
    size_t hw = (size_t)(va->h * va->w), lo = (size_t)md.padded_dims[1] * hw;
    size_t la = (size_t)va->md.padded_dims[1] * hw, lb = (size_t)vb->md.padded_dims[1] * hw;
    float *out = p->v[op->out].data;
    TRY(add_chunks(&p->fwd, out, lo, va->data, la, (size_t)p->N, la, 0));
    TRY(add_chunks(&p->fwd, out + la, lo, vb->data, lb, (size_t)p->N, lb, 0));
    return DOLOR_OK;
}

static dolor_status plan_concat_fast_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    const nn_pval *vo = &p->v[op->out];
    size_t hw = (size_t)(vo->h * vo->w), lo = (size_t)vo->md.padded_dims[1] * hw, off = 0;
    for (int i = 0; i < 2; i++) {
        nn_pval *vi = &p->v[op->in[i]];
        size_t li = (size_t)vi->md.padded_dims[1] * hw;
        if (vi->needs_diff) {
            TRY(add_chunks(&p->bwd, vi->diff, li, vo->diff + off, lo, (size_t)p->N, li, vi->diff_written));
            vi->diff_written = 1;
        }
        off += li;
    }
    return DOLOR_OK;
}

static dolor_status plan_concat_fwd(dolor_net *g, nn_plan *p, int oi)
{
    {
        const dnnl_memory_desc_t *ma = &p->v[g->ops[oi].in[0]].md, *mb = &p->v[g->ops[oi].in[1]].md;
        int b = chan_block(ma);
        if (b > 0 && chan_block(mb) == b && ma->dims[1] % b == 0 && ma->padded_dims[1] == ma->dims[1])
            return plan_concat_fast_fwd(g, p, oi);
    }
    const nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    dnnl_memory_desc_t srcs[2] = {p->v[op->in[0]].md, p->v[op->in[1]].md};
    DN(dnnl_concat_primitive_desc_create(&po->fpd, NULL, 2, 1, srcs, p->attr, p->eng));
    TRY(p_own_pd(p, po->fpd));
    TRY(set_value(p, op->out, dnnl_primitive_desc_query_md(po->fpd, dnnl_query_dst_md, 0)));
    dnnl_primitive_t prim;
    dnnl_memory_t scr;
    TRY(p_prim(p, po->fpd, &prim, &scr));
    nn_step *s = NULL;
    TRY(prog_prim(&p->fwd, prim, scr, &s));
    step_arg(s, DNNL_ARG_MULTIPLE_SRC + 0, p->v[op->in[0]].mem);
    step_arg(s, DNNL_ARG_MULTIPLE_SRC + 1, p->v[op->in[1]].mem);
    step_arg(s, DNNL_ARG_DST, p->v[op->out].mem);
    return DOLOR_OK;
}

/* Split d(out) into the inputs: a reorder from a sub-memory of d(out) per input. Blocked
 * layouts only allow sub-memories at block-aligned channel offsets; otherwise d(out) is first
 * reordered to plain NCHW once. */
static dolor_status plan_concat_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    if (concat_fast(p, op))
        return plan_concat_fast_bwd(g, p, oi);
    p->act_reorders += 2;
    nn_pval *vo = &p->v[op->out];
    dnnl_memory_desc_t sub[2];
    int ok = 1;
    int64_t off = 0;
    for (int i = 0; i < 2; i++) {
        const nn_pval *vi = &p->v[op->in[i]];
        dnnl_dims_t dims = {p->N, g->vals[op->in[i]].c, vi->h, vi->w}, offs = {0, off, 0, 0};
        if (dnnl_memory_desc_init_submemory(&sub[i], &vo->md, dims, offs) != dnnl_success)
            ok = 0;
        off += g->vals[op->in[i]].c;
    }
    float *src_buf = vo->diff;
    if (!ok) {
        dnnl_memory_desc_t plain;
        md4(&plain, p->N, op->cout, vo->h, vo->w, dnnl_nchw);
        dnnl_memory_t pm;
        TRY(p_buf_mem(p, &plain, &src_buf, &pm));
        TRY(add_reorder(p, &p->bwd, &vo->md, vo->dmem, &plain, pm));
        off = 0;
        for (int i = 0; i < 2; i++) {
            const nn_pval *vi = &p->v[op->in[i]];
            dnnl_dims_t dims = {p->N, g->vals[op->in[i]].c, vi->h, vi->w}, offs = {0, off, 0, 0};
            DN(dnnl_memory_desc_init_submemory(&sub[i], &plain, dims, offs));
            off += g->vals[op->in[i]].c;
        }
    }
    for (int i = 0; i < 2; i++) {
        if (!p->v[op->in[i]].needs_diff)
            continue;
        dnnl_memory_t sm, dst;
        int accum;
        TRY(p_mem(p, &sub[i], src_buf, &sm));
        TRY(diff_target(p, op->in[i], &dst, &accum));
        TRY(add_reorder(p, &p->bwd, &sub[i], sm, &p->v[op->in[i]].md, dst));
        TRY(diff_done(p, &p->bwd, op->in[i], accum));
    }
    return DOLOR_OK;
}

/* ---------------------------------------------------------------- plan ---- */

/* Gradients of activations share buffers: in the backward pass (ops in reverse order, step
 * t = nops-1-op) the gradient of value v is first written at the step of its last consumer and
 * last read at the step of its producer, so buffers whose value is dead before another's first
 * write are reused (best fit by size). */
static dolor_status plan_diffs(dolor_net *g, nn_plan *p)
{
    int nv = g->nvals, nops = g->nops;
    int *tw = malloc((size_t)nv * sizeof *tw), *tr = malloc((size_t)nv * sizeof *tr), *ord = malloc((size_t)nv * sizeof *ord);
    int *owner = malloc((size_t)nv * sizeof *owner); /* value whose diff lives in slot i */
    float **slot = malloc((size_t)nv * sizeof *slot);
    size_t *slot_sz = malloc((size_t)nv * sizeof *slot_sz);
    dolor_status st = DOLOR_OK;
    if (!tw || !tr || !ord || !owner || !slot || !slot_sz) {
        st = dolor_error(DOLOR_ENOMEM, "nn: out of memory");
        goto out;
    }
    for (int v = 0; v < nv; v++) {
        int last = -1;
        for (int oi = 0; oi < nops; oi++)
            for (int k = 0; k < g->ops[oi].nin; k++)
                if (g->ops[oi].in[k] == v && oi > last)
                    last = oi;
        tw[v] = v == g->output ? -1 : last >= 0 ? nops - 1 - last : nops;
        tr[v] = g->vals[v].producer >= 0 ? nops - 1 - g->vals[v].producer : nops; /* inputs: kept */
        ord[v] = v;
    }
    /* order by first write (insertion sort; graphs are small) */
    for (int i = 1; i < nv; i++)
        for (int j = i; j > 0 && tw[ord[j]] < tw[ord[j - 1]]; j--) {
            int t = ord[j];
            ord[j] = ord[j - 1];
            ord[j - 1] = t;
        }
    int nslots = 0;
    for (int i = 0; i < nv; i++) {
        int v = ord[i];
        nn_pval *pv = &p->v[v];
        if (!pv->needs_diff)
            continue;
        size_t sz = dnnl_memory_desc_get_size(&pv->md);
        int best = -1;
        for (int k = 0; k < nslots; k++)
            if (owner[k] < 0 || tr[owner[k]] < tw[v]) {
                if (slot_sz[k] >= sz && (best < 0 || slot_sz[k] < slot_sz[best]))
                    best = k;
            }
        if (best < 0) {
            /* grow the largest free slot, else a new one */
            for (int k = 0; k < nslots; k++)
                if ((owner[k] < 0 || tr[owner[k]] < tw[v]) && (best < 0 || slot_sz[k] > slot_sz[best]))
                    best = k;
            if (best < 0)
                best = nslots++;
            slot_sz[best] = sz;
            slot[best] = NULL;
        }
        owner[best] = v;
        if (!slot[best]) {
            /* allocated below once sizes are final */
        }
        pv->diff = (float *)(intptr_t)(best + 1); /* slot id for now */
    }
    for (int k = 0; k < nslots; k++) {
        st = p_alloc(p, slot_sz[k], &slot[k]);
        if (st)
            goto out;
    }
    for (int v = 0; v < nv; v++) {
        nn_pval *pv = &p->v[v];
        if (!pv->needs_diff)
            continue;
        pv->diff = slot[(intptr_t)pv->diff - 1];
        st = p_mem(p, &pv->md, pv->diff, &pv->dmem);
        if (st)
            goto out;
    }
out:
    free(tw);
    free(tr);
    free(ord);
    free(owner);
    free(slot);
    free(slot_sz);
    return st;
}

static dolor_status plan_build(dolor_net *g, nn_plan *p)
{
    DN(dnnl_primitive_attr_create(&p->attr));
    DN(dnnl_primitive_attr_set_scratchpad_mode(p->attr, dnnl_scratchpad_mode_user));
    p->v = calloc((size_t)g->nvals, sizeof *p->v);
    p->ops = calloc((size_t)g->nops + 1, sizeof *p->ops);
    if (!p->v || !p->ops)
        return dolor_error(DOLOR_ENOMEM, "nn: out of memory");
    p->nvals = g->nvals;
    p->nops = g->nops;
    for (int i = 0; i < g->nvals; i++) {
        p->v[i].h = lvl_size(p->H, g->vals[i].level);
        p->v[i].w = lvl_size(p->W, g->vals[i].level);
        p->v[i].needs_diff = p->training && (g->vals[i].input_idx < 0 || g->need_input_grad);
    }
    /* inputs: plain NCHW copies (so the caller's x may change before backward) */
    for (int k = 0; k < g->ninputs; k++) {
        int vid = g->inputs[k];
        dnnl_memory_desc_t md;
        md4(&md, p->N, g->vals[vid].c, p->v[vid].h, p->v[vid].w, dnnl_nchw);
        TRY(set_value(p, vid, &md));
        TRY(p_mem(p, &md, DNNL_MEMORY_NONE, &p->in_user[k]));
        TRY(add_reorder(p, &p->fwd, &md, p->in_user[k], &md, p->v[vid].mem));
    }
    for (int oi = 0; oi < g->nops; oi++) {
        switch (g->ops[oi].kind) {
        case NN_OP_CONV: TRY(plan_conv_fwd(g, p, oi)); break;
        case NN_OP_DECONV: TRY(plan_deconv_fwd(g, p, oi)); break;
        case NN_OP_BN: TRY(plan_bn_fwd(g, p, oi)); break;
        case NN_OP_CONCAT: TRY(plan_concat_fwd(g, p, oi)); break;
        default: TRY(plan_simple_fwd(g, p, oi)); break;
        }
    }
    nn_pval *vo = &p->v[g->output];
    dnnl_memory_desc_t plain;
    md4(&plain, p->N, g->vals[g->output].c, vo->h, vo->w, dnnl_nchw);
    TRY(p_mem(p, &plain, DNNL_MEMORY_NONE, &p->out_user));
    TRY(add_reorder(p, &p->fwd, &vo->md, vo->mem, &plain, p->out_user));
    if (p->training) {
        TRY(plan_diffs(g, p));
        TRY(p_mem(p, &plain, DNNL_MEMORY_NONE, &p->dout_user));
        dnnl_memory_t t;
        int accum;
        TRY(diff_target(p, g->output, &t, &accum));
        TRY(add_reorder(p, &p->bwd, &plain, p->dout_user, &vo->md, t));
        for (int oi = g->nops - 1; oi >= 0; oi--) {
            switch (g->ops[oi].kind) {
            case NN_OP_CONV: TRY(plan_conv_bwd(g, p, oi)); break;
            case NN_OP_DECONV: TRY(p->ops[oi].dc ? plan_deconv1x1_bwd(g, p, oi) : plan_conv_bwd(g, p, oi)); break;
            case NN_OP_BN: TRY(plan_bn_bwd(g, p, oi)); break;
            case NN_OP_CONCAT: TRY(plan_concat_bwd(g, p, oi)); break;
            default: TRY(plan_simple_bwd(g, p, oi)); break;
            }
        }
    }
    /* shared scratchpad and accumulation buffers */
    if (p->scratch_bytes) {
        p->scratch = dolor_alloc_aligned(p->scratch_bytes);
        if (!p->scratch)
            return dolor_error(DOLOR_ENOMEM, "nn: out of memory for a %zu-byte scratchpad", p->scratch_bytes);
        p->bytes += p->scratch_bytes;
        for (int i = 0; i < p->nscratch; i++)
            DN(dnnl_memory_set_data_handle(p->scratch_mems[i], p->scratch));
    }
    if (p->accum_bytes) {
        p->accum = dolor_alloc_aligned(p->accum_bytes);
        if (!p->accum)
            return dolor_error(DOLOR_ENOMEM, "nn: out of memory for a %zu-byte buffer", p->accum_bytes);
        p->bytes += p->accum_bytes;
        for (int i = 0; i < p->naccum; i++)
            DN(dnnl_memory_set_data_handle(p->accum_mems[i], p->accum));
    }
    return DOLOR_OK;
}

static dolor_status run_prog(dolor_net *g, nn_plan *p, nn_prog *prog)
{
    for (int i = 0; i < prog->n; i++) {
        nn_step *s = &prog->s[i];
        if (s->kind == STEP_PRIM) {
            DN(dnnl_primitive_execute(s->prim, g->stream, s->nargs, s->args));
            continue;
        }
        DN(dnnl_stream_wait(g->stream));
        if (s->kind == STEP_ADD) {
            float *restrict a = s->a;
            const float *restrict b = s->b ? s->b : p->accum;
            ptrdiff_t n = (ptrdiff_t)s->n;
#pragma omp parallel for simd schedule(static)
            for (ptrdiff_t j = 0; j < n; j++)
                a[j] += b[j];
        } else if (s->kind == STEP_FN) {
            s->fn(s->ctx);
        } else if (s->kind == STEP_CHUNKS) {
            const ptrdiff_t n = (ptrdiff_t)s->n, len = (ptrdiff_t)s->len;
            const ptrdiff_t piece = 16384, pieces = (len + piece - 1) / piece;
            float *a = s->a;
            const float *b = s->b;
            const size_t da = s->da, db = s->db;
            const int add = s->add;
#pragma omp parallel for schedule(static)
            for (ptrdiff_t t = 0; t < n * pieces; t++) {
                ptrdiff_t i = t / pieces, j0 = (t % pieces) * piece, j1 = j0 + piece < len ? j0 + piece : len;
                float *restrict d = a + (size_t)i * da;
                const float *restrict q = b + (size_t)i * db;
                if (add) {
                    for (ptrdiff_t j = j0; j < j1; j++)
                        d[j] += q[j];
                } else {
                    memcpy(d + j0, q + j0, (size_t)(j1 - j0) * sizeof(float));
                }
            }
        } else if (s->kind == STEP_BN_RUNNING) {
            double m = BN_MOMENTUM, cnt = s->count, unb = cnt > 1 ? cnt / (cnt - 1) : 1.0;
            for (size_t c = 0; c < s->n; c++) {
                s->a[c] = (float)((1 - m) * s->a[c] + m * s->c[c]);
                s->b[c] = (float)((1 - m) * s->b[c] + m * s->d[c] * unb);
            }
        }
    }
    DN(dnnl_stream_wait(g->stream));
    return DOLOR_OK;
}

/* -------------------------------------------------------- public-ish ---- */

static dolor_status get_plan(dolor_net *g, int64_t N, int64_t H, int64_t W, int training, nn_plan **out)
{
    nn_plan *p = g->plan[training];
    if (p && p->N == N && p->H == H && p->W == W) {
        *out = p;
        return DOLOR_OK;
    }
    plan_free(p);
    g->plan[training] = NULL;
    if (training)
        g->trained_ready = 0;
    p = calloc(1, sizeof *p);
    if (!p)
        return dolor_error(DOLOR_ENOMEM, "nn: out of memory");
    p->eng = g->engine;
    p->N = N;
    p->H = H;
    p->W = W;
    p->training = training;
    dolor_status s = plan_build(g, p);
    if (s != DOLOR_OK) {
        plan_free(p);
        return s;
    }
    g->plan[training] = p;
    *out = p;
    return DOLOR_OK;
}

static dolor_status check_shape(const dolor_tensor *t, const char *what, int64_t n, int64_t c, int64_t h, int64_t w)
{
    if (!t || !t->data)
        return dolor_error(DOLOR_EINVAL, "nn: %s is NULL", what);
    if (t->ndim != 4 || t->shape[0] != n || t->shape[1] != c || t->shape[2] != h || t->shape[3] != w)
        return dolor_error(DOLOR_ESHAPE, "nn: %s has shape [%lld, %lld, %lld, %lld] (ndim %d), expected [%lld, %lld, %lld, %lld]",
                           what, (long long)t->shape[0], (long long)t->shape[1], (long long)t->shape[2],
                           (long long)t->shape[3], t->ndim, (long long)n, (long long)c, (long long)h, (long long)w);
    return DOLOR_OK;
}

dolor_status nn_graph_forward(dolor_net *g, const dolor_tensor *const *inputs, dolor_tensor *out, int training)
{
    training = training ? 1 : 0;
    if (!g || !g->params)
        return dolor_error(DOLOR_EINVAL, "nn: network not finalized");
    const dolor_tensor *x = inputs[0];
    if (!x || x->ndim != 4)
        return dolor_error(DOLOR_ESHAPE, "nn: input must be 4-D [N, C, H, W] (ndim is %d)", x ? x->ndim : 0);
    int64_t N = x->shape[0], H = x->shape[2], W = x->shape[3];
    int64_t f = (int64_t)1 << g->max_level;
    if (H % f || W % f || H < f || W < f)
        return dolor_error(DOLOR_ESHAPE, "nn: input H x W = %lld x %lld must be positive multiples of %lld (2^depth)",
                           (long long)H, (long long)W, (long long)f);
    for (int k = 0; k < g->ninputs; k++) {
        char what[32];
        snprintf(what, sizeof what, "input %d", k);
        TRY(check_shape(inputs[k], what, N, g->vals[g->inputs[k]].c, H, W));
    }
    int lo = g->vals[g->output].level;
    TRY(check_shape(out, "output (logits)", N, g->vals[g->output].c, lvl_size(H, lo), lvl_size(W, lo)));
    nn_plan *p = NULL;
    TRY(get_plan(g, N, H, W, training, &p));
    for (int k = 0; k < g->ninputs; k++)
        DN(dnnl_memory_set_data_handle(p->in_user[k], inputs[k]->data));
    DN(dnnl_memory_set_data_handle(p->out_user, out->data));
    if (training)
        g->trained_ready = 0;
    TRY(run_prog(g, p, &p->fwd));
    if (training)
        g->trained_ready = 1;
    return DOLOR_OK;
}

dolor_status nn_graph_backward(dolor_net *g, const dolor_tensor *dout)
{
    nn_plan *p = g ? g->plan[1] : NULL;
    if (!p || !g->trained_ready)
        return dolor_error(DOLOR_EINVAL, "nn: backward needs a training forward first");
    int lo = g->vals[g->output].level;
    TRY(check_shape(dout, "output gradient (dlogits)", p->N, g->vals[g->output].c, lvl_size(p->H, lo), lvl_size(p->W, lo)));
    DN(dnnl_memory_set_data_handle(p->dout_user, dout->data));
    for (int i = 0; i < p->nvals; i++)
        p->v[i].diff_written = 0;
    return run_prog(g, p, &p->bwd);
}

const float *nn_graph_input_grad(const dolor_net *g, int i)
{
    const nn_plan *p = g->plan[1];
    if (!p || i < 0 || i >= g->ninputs)
        return NULL;
    return p->v[g->inputs[i]].diff;
}

int nn_graph_activation_reorders(const dolor_net *g, int training)
{
    const nn_plan *p = g->plan[training ? 1 : 0];
    return p ? p->act_reorders : -1;
}

const dnnl_memory_desc_t *nn_graph_value_md(const dolor_net *g, int training, int v)
{
    const nn_plan *p = g->plan[training ? 1 : 0];
    return p && v >= 0 && v < p->nvals ? &p->v[v].md : NULL;
}

size_t nn_graph_plan_bytes(const dolor_net *g)
{
    size_t b = 0;
    for (int i = 0; i < 2; i++)
        if (g->plan[i])
            b += g->plan[i]->bytes;
    return b;
}

/* ------------------------------------------------------------ building ---- */

dolor_status nn_graph_create(dolor_net **out)
{
    *out = NULL;
    dolor_net *g = calloc(1, sizeof *g);
    if (!g)
        return dolor_error(DOLOR_ENOMEM, "nn: out of memory");
    g->output = -1;
    if (dnnl_engine_create(&g->engine, dnnl_cpu, 0) != dnnl_success) {
        free(g);
        return dolor_error(DOLOR_EBACKEND, "oneDNN: cannot create the CPU engine");
    }
    if (dnnl_stream_create(&g->stream, g->engine, dnnl_stream_default_flags) != dnnl_success) {
        dnnl_engine_destroy(g->engine);
        free(g);
        return dolor_error(DOLOR_EBACKEND, "oneDNN: cannot create a CPU stream");
    }
    *out = g;
    return DOLOR_OK;
}

void dolor_net_free(dolor_net *g)
{
    if (!g)
        return;
    plan_free(g->plan[0]);
    plan_free(g->plan[1]);
    if (g->stream)
        dnnl_stream_destroy(g->stream);
    if (g->engine)
        dnnl_engine_destroy(g->engine);
    dolor_free_aligned(g->params);
    dolor_free_aligned(g->grads);
    dolor_free_aligned(g->buffers);
    free(g->ops);
    free(g->vals);
    free(g->tensors);
    free(g);
}

static int add_value(dolor_net *g, int c, int level, int producer)
{
    if (g->nvals == g->cap_vals) {
        int nc = g->cap_vals ? 2 * g->cap_vals : 32;
        void *q = realloc(g->vals, (size_t)nc * sizeof *g->vals);
        if (!q) {
            dolor_error(DOLOR_ENOMEM, "nn: out of memory");
            return -1;
        }
        g->vals = q;
        g->cap_vals = nc;
    }
    nn_value *v = &g->vals[g->nvals];
    v->c = c;
    v->level = level;
    v->producer = producer;
    v->input_idx = -1;
    if (level > g->max_level)
        g->max_level = level;
    return g->nvals++;
}

static int add_tensor(dolor_net *g, const char *prefix, const char *suffix, int ndim, const int64_t *shape,
                      int is_buffer)
{
    if (g->ntensors == g->cap_tensors) {
        int nc = g->cap_tensors ? 2 * g->cap_tensors : 64;
        void *q = realloc(g->tensors, (size_t)nc * sizeof *g->tensors);
        if (!q) {
            dolor_error(DOLOR_ENOMEM, "nn: out of memory");
            return -1;
        }
        g->tensors = q;
        g->cap_tensors = nc;
    }
    nn_tensor_info *t = &g->tensors[g->ntensors];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s.%s", prefix, suffix);
    t->ndim = ndim;
    t->numel = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->numel *= (size_t)shape[i];
    }
    t->is_buffer = is_buffer;
    return g->ntensors++;
}

static nn_op *new_op(dolor_net *g, nn_op_kind kind, int in0, int in1)
{
    if (in0 < 0 || in0 >= g->nvals || (in1 != -2 && (in1 < 0 || in1 >= g->nvals))) {
        dolor_error(DOLOR_EINVAL, "nn: op input value id out of range");
        return NULL;
    }
    if (g->nops == g->cap_ops) {
        int nc = g->cap_ops ? 2 * g->cap_ops : 32;
        void *q = realloc(g->ops, (size_t)nc * sizeof *g->ops);
        if (!q) {
            dolor_error(DOLOR_ENOMEM, "nn: out of memory");
            return NULL;
        }
        g->ops = q;
        g->cap_ops = nc;
    }
    nn_op *op = &g->ops[g->nops];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->in[0] = in0;
    op->nin = 1;
    if (in1 != -2) {
        op->in[1] = in1;
        op->nin = 2;
    }
    op->t_w = op->t_b = op->t_rm = op->t_rv = -1;
    op->out_like = -1;
    op->cin = g->vals[in0].c;
    op->cout = op->cin;
    return op;
}

static int finish_op(dolor_net *g, nn_op *op, int c, int level)
{
    int v = add_value(g, c, level, g->nops);
    if (v < 0)
        return -1;
    op->out = v;
    op->cout = c;
    g->nops++;
    return v;
}

int nn_add_input(dolor_net *g, int channels)
{
    if (g->ninputs >= NN_MAX_INPUTS || channels < 1) {
        dolor_error(DOLOR_EINVAL, "nn: too many inputs or channels %d < 1", channels);
        return -1;
    }
    int v = add_value(g, channels, 0, -1);
    if (v < 0)
        return -1;
    g->vals[v].input_idx = g->ninputs;
    g->inputs[g->ninputs++] = v;
    return v;
}

static int add_convlike(dolor_net *g, nn_op_kind kind, const char *name, int in, int cout, int k, int pad, int bias)
{
    nn_op *op = new_op(g, kind, in, -2);
    if (!op || cout < 1)
        return -1;
    op->k = k;
    op->pad = pad;
    op->has_bias = bias;
    int64_t ws[4] = {cout, op->cin, k, k};
    if (kind == NN_OP_DECONV) {
        ws[0] = op->cin;
        ws[1] = cout;
    }
    op->t_w = add_tensor(g, name, "weight", 4, ws, 0);
    if (bias) {
        int64_t bs[1] = {cout};
        op->t_b = add_tensor(g, name, "bias", 1, bs, 0);
    }
    if (op->t_w < 0 || (bias && op->t_b < 0))
        return -1;
    int level = g->vals[in].level + (kind == NN_OP_DECONV ? -1 : 0);
    return finish_op(g, op, cout, level);
}

int nn_add_conv(dolor_net *g, const char *name, int in, int cout, int k, int pad, int bias)
{
    if (k < 1 || pad < 0 || 2 * pad != k - 1) {
        dolor_error(DOLOR_EINVAL, "nn: conv %s: only 'same' convolutions (pad = (k-1)/2) are supported", name);
        return -1;
    }
    return add_convlike(g, NN_OP_CONV, name, in, cout, k, pad, bias);
}

int nn_add_deconv(dolor_net *g, const char *name, int in, int cout, int bias)
{
    return add_convlike(g, NN_OP_DECONV, name, in, cout, 2, 0, bias);
}

int nn_add_bn(dolor_net *g, const char *name, int in, int relu)
{
    nn_op *op = new_op(g, NN_OP_BN, in, -2);
    if (!op)
        return -1;
    op->relu = relu;
    int64_t s[1] = {op->cin};
    op->t_w = add_tensor(g, name, "weight", 1, s, 0);
    op->t_b = add_tensor(g, name, "bias", 1, s, 0);
    op->t_rm = add_tensor(g, name, "running_mean", 1, s, 1);
    op->t_rv = add_tensor(g, name, "running_var", 1, s, 1);
    if (op->t_w < 0 || op->t_b < 0 || op->t_rm < 0 || op->t_rv < 0)
        return -1;
    return finish_op(g, op, op->cin, g->vals[in].level);
}

int nn_add_relu(dolor_net *g, int in)
{
    nn_op *op = new_op(g, NN_OP_RELU, in, -2);
    return op ? finish_op(g, op, op->cin, g->vals[in].level) : -1;
}

int nn_add_pool(dolor_net *g, int in)
{
    nn_op *op = new_op(g, NN_OP_POOL, in, -2);
    return op ? finish_op(g, op, op->cin, g->vals[in].level + 1) : -1;
}

int nn_add_upsample(dolor_net *g, int in)
{
    nn_op *op = new_op(g, NN_OP_UPSAMPLE, in, -2);
    return op ? finish_op(g, op, op->cin, g->vals[in].level - 1) : -1;
}

int nn_add_concat(dolor_net *g, int a, int b)
{
    nn_op *op = new_op(g, NN_OP_CONCAT, a, b);
    if (!op)
        return -1;
    if (g->vals[a].level != g->vals[b].level) {
        dolor_error(DOLOR_EINVAL, "nn: concat of values at different resolutions");
        return -1;
    }
    /* let the op producing b (an up-convolution) write in the layout of a (the skip), so the
       concat sees one layout */
    int pb = g->vals[b].producer;
    if (pb >= 0 && (g->ops[pb].kind == NN_OP_CONV || g->ops[pb].kind == NN_OP_DECONV) && g->vals[b].c == g->vals[a].c)
        g->ops[pb].out_like = a;
    return finish_op(g, op, g->vals[a].c + g->vals[b].c, g->vals[a].level);
}

dolor_status nn_graph_finalize(dolor_net *g, int output)
{
    if (output < 0 || output >= g->nvals)
        return dolor_error(DOLOR_EINVAL, "nn: graph output value %d invalid (building failed: %s)", output,
                           dolor_errmsg());
    g->output = output;
    if (g->ninputs < 1)
        return dolor_error(DOLOR_EINVAL, "nn: graph has no input");
    int minlvl = 0;
    for (int i = 0; i < g->nvals; i++)
        if (g->vals[i].level < minlvl)
            minlvl = g->vals[i].level;
    (void)minlvl;
    size_t np = 0, nb = 0;
    for (int i = 0; i < g->ntensors; i++) {
        nn_tensor_info *t = &g->tensors[i];
        if (t->is_buffer) {
            t->offset = nb;
            nb += t->numel;
        } else {
            t->offset = np;
            np += t->numel;
        }
    }
    g->nparams = np;
    g->nbuffers = nb;
    g->params = dolor_alloc_aligned((np ? np : 1) * sizeof(float));
    g->grads = dolor_alloc_aligned((np ? np : 1) * sizeof(float));
    g->buffers = dolor_alloc_aligned((nb ? nb : 1) * sizeof(float));
    if (!g->params || !g->grads || !g->buffers)
        return dolor_error(DOLOR_ENOMEM, "nn: out of memory for %zu parameters", np);
    for (int i = 0; i < g->nops; i++)
        if (g->ops[i].kind == NN_OP_BN) {
            const nn_tensor_info *t = &g->tensors[g->ops[i].t_rv];
            for (size_t j = 0; j < t->numel; j++)
                g->buffers[t->offset + j] = 1.f;
            t = &g->tensors[g->ops[i].t_w];
            for (size_t j = 0; j < t->numel; j++)
                g->params[t->offset + j] = 1.f;
        }
    return DOLOR_OK;
}
