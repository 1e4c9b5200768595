/* The planner: shapes, memory, primitives and the step programs of one plan (see plan.h). */
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- ownership ---- */

void nnp_plan_free(nn_plan *p)
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
    for (int i = 0; i < p->nattrs; i++)
        dnnl_primitive_attr_destroy(p->attrs[i]);
    free(p->attrs);
    free(p->prep.s);
    free(p->fold_mems);
    free(p->fold_ptrs);
    free(p->last_use);
    free(p->buf_of);
    free(p->pool);
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

dolor_status nnp_alloc(nn_plan *p, size_t bytes, float **out)
{
    GROW(p->bufs, p->nbufs, p->capbufs);
    float *b = dolor_alloc_aligned(bytes ? bytes : 1);
    if (!b)
        return dolor_error(DOLOR_ENOMEM, "nn: out of memory for a %zu-byte activation buffer", bytes);
    p->bufs[p->nbufs++] = b;
    p->bytes += bytes;
    *out = b;
    return DOLOR_OK;
}

dolor_status nnp_mem(nn_plan *p, const dnnl_memory_desc_t *md, void *handle, dnnl_memory_t *out)
{
    GROW(p->mems, p->nmems, p->capmems);
    DN(dnnl_memory_create(out, md, p->eng, handle));
    p->mems[p->nmems++] = *out;
    return DOLOR_OK;
}

dolor_status nnp_buf_mem(nn_plan *p, const dnnl_memory_desc_t *md, float **buf, dnnl_memory_t *out)
{
    float *b = NULL;
    TRY(nnp_alloc(p, dnnl_memory_desc_get_size(md), &b));
    if (buf)
        *buf = b;
    return nnp_mem(p, md, b, out);
}

dolor_status nnp_pd(nn_plan *p, dnnl_primitive_desc_t *pd, const void *op_desc, const_dnnl_primitive_desc_t hint)
{
    GROW(p->pds, p->npds, p->cappds);
    DN(dnnl_primitive_desc_create(pd, (const_dnnl_op_desc_t)op_desc, p->attr, p->eng, hint));
    p->pds[p->npds++] = *pd;
    return DOLOR_OK;
}

dolor_status nnp_own_pd(nn_plan *p, dnnl_primitive_desc_t pd)
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

dolor_status nnp_prim(nn_plan *p, dnnl_primitive_desc_t pd, dnnl_primitive_t *prim, dnnl_memory_t *scratch)
{
    GROW(p->prims, p->nprims, p->capprims);
    DN(dnnl_primitive_create(prim, pd));
    p->prims[p->nprims++] = *prim;
    *scratch = NULL;
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t sz = smd ? dnnl_memory_desc_get_size(smd) : 0;
    if (sz > 0) {
        TRY(nnp_mem(p, smd, DNNL_MEMORY_NONE, scratch));
        GROW(p->scratch_mems, p->nscratch, p->capscratch);
        p->scratch_mems[p->nscratch++] = *scratch;
        if (sz > p->scratch_bytes)
            p->scratch_bytes = sz;
    }
    return DOLOR_OK;
}

/* ----------------------------------------------------------------- steps ---- */

dolor_status nnp_step(nn_prog *g, nn_step **out)
{
    GROW(g->s, g->n, g->cap);
    nn_step *s = &g->s[g->n++];
    memset(s, 0, sizeof *s);
    *out = s;
    return DOLOR_OK;
}

void nnp_arg(nn_step *s, int arg, dnnl_memory_t m)
{
    if (!m)
        return;
    s->args[s->nargs].arg = arg;
    s->args[s->nargs].memory = m;
    s->nargs++;
}

dolor_status nnp_prog_prim(nn_prog *g, dnnl_primitive_t prim, dnnl_memory_t scratch, nn_step **out)
{
    nn_step *s = NULL;
    TRY(nnp_step(g, &s));
    s->kind = STEP_PRIM;
    s->prim = prim;
    nnp_arg(s, DNNL_ARG_SCRATCHPAD, scratch);
    *out = s;
    return DOLOR_OK;
}

dolor_status nnp_exec(nn_plan *p, nn_prog *g, dnnl_primitive_desc_t pd, nn_step **out)
{
    dnnl_primitive_t prim;
    dnnl_memory_t scr;
    TRY(nnp_prim(p, pd, &prim, &scr));
    return nnp_prog_prim(g, prim, scr, out);
}

dolor_status nnp_reorder(nn_plan *p, nn_prog *g, const dnnl_memory_desc_t *smd, dnnl_memory_t src,
                         const dnnl_memory_desc_t *dmd, dnnl_memory_t dst)
{
    dnnl_primitive_desc_t pd;
    DN(dnnl_reorder_primitive_desc_create(&pd, smd, p->eng, dmd, p->eng, p->attr));
    TRY(nnp_own_pd(p, pd));
    nn_step *s = NULL;
    TRY(nnp_exec(p, g, pd, &s));
    nnp_arg(s, DNNL_ARG_FROM, src);
    nnp_arg(s, DNNL_ARG_TO, dst);
    return DOLOR_OK;
}

dolor_status nnp_fn(nn_prog *g, void (*fn)(void *), void *ctx)
{
    nn_step *s = NULL;
    TRY(nnp_step(g, &s));
    s->kind = STEP_FN;
    s->fn = fn;
    s->ctx = ctx;
    return DOLOR_OK;
}

dolor_status nnp_zero(nn_prog *g, float *dst, size_t n)
{
    nn_step *s = NULL;
    TRY(nnp_step(g, &s));
    s->kind = STEP_ZERO;
    s->a = dst;
    s->n = n;
    return DOLOR_OK;
}

static dolor_status add_add(nn_prog *g, float *dst, size_t n)
{
    nn_step *s = NULL;
    TRY(nnp_step(g, &s));
    s->kind = STEP_ADD;
    s->a = dst;
    s->b = NULL;
    s->n = n;
    return DOLOR_OK;
}

dolor_status nnp_chunks(nn_prog *g, float *dst, size_t da, const float *src, size_t db, size_t n, size_t len, int add)
{
    nn_step *s = NULL;
    TRY(nnp_step(g, &s));
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

/* ---------------------------------------------------------------- values ---- */

dolor_status nnp_set_value(nn_plan *p, int vid, const dnnl_memory_desc_t *md)
{
    nn_pval *pv = &p->v[vid];
    pv->md = *md;
    size_t need = dnnl_memory_desc_get_size(md);
    if (!p->last_use) { /* training: every activation is kept for backward */
        p->act_bytes += need;
        p->act_bytes_unshared += need;
        return nnp_buf_mem(p, md, &pv->data, &pv->mem); /* gradients: plan_diffs() */
    }
    /* inference: the smallest free buffer that fits (free: every value in it read for the last time by an
     * earlier op), else a new one */
    p->act_bytes_unshared += need;
    int best = -1;
    for (int k = 0; k < p->npool; k++)
        if (p->pool[k].last < p->cur_op && p->pool[k].size >= need && (best < 0 || p->pool[k].size < p->pool[best].size))
            best = k;
    if (best < 0) {
        GROW(p->pool, p->npool, p->cappool);
        best = p->npool++;
        TRY(nnp_alloc(p, need ? need : sizeof(float), &p->pool[best].ptr));
        p->pool[best].size = need;
        p->act_bytes += need;
    }
    p->pool[best].last = p->last_use[vid];
    p->buf_of[vid] = best;
    pv->data = p->pool[best].ptr;
    return nnp_mem(p, md, pv->data, &pv->mem);
}

dolor_status nnp_fold_mem(nn_plan *p, const dnnl_memory_desc_t *md, float **ptr, dnnl_memory_t *out)
{
    size_t sz = dnnl_memory_desc_get_size(md);
    TRY(nnp_mem(p, md, DNNL_MEMORY_NONE, out));
    if (p->nfold == p->capfold) {
        int nc = p->capfold ? 2 * p->capfold : 16;
        void *a = realloc(p->fold_mems, (size_t)nc * sizeof *p->fold_mems);
        if (!a)
            return dolor_error(DOLOR_ENOMEM, "nn: out of memory");
        p->fold_mems = a;
        void *b = realloc(p->fold_ptrs, (size_t)nc * sizeof *p->fold_ptrs);
        if (!b)
            return dolor_error(DOLOR_ENOMEM, "nn: out of memory");
        p->fold_ptrs = b;
        p->capfold = nc;
    }
    p->fold_mems[p->nfold] = *out;
    p->fold_ptrs[p->nfold++] = ptr;
    if (sz > p->fold_bytes)
        p->fold_bytes = sz;
    return DOLOR_OK;
}

void nnp_alias_value(nn_plan *p, int vid, int src)
{
    nn_pval *pv = &p->v[vid], *ps = &p->v[src];
    pv->md = ps->md;
    pv->data = ps->data;
    pv->mem = ps->mem;
    if (p->last_use) {
        int b = p->buf_of[src];
        p->buf_of[vid] = b;
        if (p->last_use[vid] > p->pool[b].last)
            p->pool[b].last = p->last_use[vid];
    }
}

dolor_status nnp_diff_target(nn_plan *p, int vid, dnnl_memory_t *m, int *accum)
{
    nn_pval *pv = &p->v[vid];
    if (!pv->needs_diff || pv->diff_written) {
        size_t sz = dnnl_memory_desc_get_size(&pv->md);
        TRY(nnp_mem(p, &pv->md, DNNL_MEMORY_NONE, m));
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

dolor_status nnp_diff_done(nn_plan *p, nn_prog *g, int vid, int accum)
{
    if (accum == 1)
        return add_add(g, p->v[vid].diff, dnnl_memory_desc_get_size(&p->v[vid].md) / sizeof(float));
    return DOLOR_OK;
}

/* ------------------------------------------------------------------- mds ---- */

void nnp_md_dims(dnnl_memory_desc_t *md, int ndim, const int64_t *dims, dnnl_format_tag_t tag)
{
    dnnl_dims_t d;
    for (int i = 0; i < ndim; i++)
        d[i] = dims[i];
    dnnl_memory_desc_init_by_tag(md, ndim, d, dnnl_f32, tag);
}

void nnp_md(dnnl_memory_desc_t *md, const nn_shape *s, dnnl_format_tag_t tag)
{
    nnp_md_dims(md, s->ndim, s->d, tag);
}

void nnp_md1(dnnl_memory_desc_t *md, int64_t c)
{
    dnnl_dims_t d = {c};
    dnnl_memory_desc_init_by_tag(md, 1, d, dnnl_f32, dnnl_a);
}

dnnl_format_tag_t nnp_plain_tag(int ndim)
{
    return ndim == 1 ? dnnl_a : ndim == 2 ? dnnl_ab : ndim == 3 ? dnnl_abc : ndim == 4 ? dnnl_abcd : dnnl_abcde;
}

dnnl_format_tag_t nnp_blocked_tag(int ndim, int blk)
{
    if (blk < 2 || ndim < 3)
        return nnp_plain_tag(ndim);
    if (ndim == 3)
        return blk == 8 ? dnnl_aBc8b : dnnl_aBc16b;
    if (ndim == 4)
        return blk == 8 ? dnnl_aBcd8b : dnnl_aBcd16b;
    return blk == 8 ? dnnl_aBcde8b : dnnl_aBcde16b;
}

int64_t nnp_spatial(const nn_shape *s)
{
    int64_t n = 1;
    for (int i = 2; i < s->ndim; i++)
        n *= s->d[i];
    return n;
}

int nnp_chan_block(const dnnl_memory_desc_t *md)
{
    int nd = md->ndims;
    if (nd < 2 || md->format_kind != dnnl_blocked || md->offset0 != 0 || md->data_type != dnnl_f32)
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
    if (pd[0] != md->dims[0] || pd[1] % b)
        return 0;
    for (int k = 2; k < nd; k++)
        if (pd[k] != md->dims[k])
            return 0;
    /* strides: innermost spatial b, then each outer one the product of the inner extents */
    int64_t st = b;
    for (int k = nd - 1; k >= 2; k--) {
        if (bd->strides[k] != st)
            return 0;
        st *= pd[k];
    }
    if (bd->strides[1] != st || bd->strides[0] != st / b * pd[1])
        return 0;
    return (int)b;
}

int nnp_is_ref(const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    return dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl &&
           strncmp(impl, "ref", 3) == 0;
}

dnnl_prop_kind_t nnp_fwd_prop(const nn_plan *p) { return p->training ? dnnl_forward_training : dnnl_forward_inference; }

/* ------------------------------------------------------- gradient buffers ---- */

/* Gradients of activations share buffers: in the backward pass (ops in reverse order, step
 * t = nops-1-op) the gradient of value v is first written at the step of its last consumer and
 * last read at the step of its producer, so buffers whose value is dead before another's first
 * write are reused (best fit by size). Outputs are written first (t = -1). */
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
        int last = -1, is_out = 0;
        for (int oi = 0; oi < nops; oi++)
            for (int k = 0; k < g->ops[oi].nin; k++)
                if (g->ops[oi].in[k] == v && oi > last)
                    last = oi;
        for (int k = 0; k < g->noutputs; k++)
            is_out |= g->outputs[k] == v;
        tw[v] = is_out ? -1 : last >= 0 ? nops - 1 - last : nops;
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
        pv->diff = (float *)(intptr_t)(best + 1); /* slot id for now */
    }
    for (int k = 0; k < nslots; k++) {
        st = nnp_alloc(p, slot_sz[k], &slot[k]);
        if (st)
            goto out;
    }
    for (int v = 0; v < nv; v++) {
        nn_pval *pv = &p->v[v];
        if (!pv->needs_diff)
            continue;
        pv->diff = slot[(intptr_t)pv->diff - 1];
        st = nnp_mem(p, &pv->md, pv->diff, &pv->dmem);
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

/* --------------------------------------------------------------- shapes ---- */

/* Shapes of all values for the given input shapes (the builder checked them at the nominal ones;
 * other input sizes can still fail here, e.g. a concat of a pooled odd size). */
dolor_status nn_graph_infer_shapes(const dolor_net *g, const nn_shape *in_shapes, nn_shape *vs)
{
    for (int k = 0; k < g->ninputs; k++)
        vs[g->inputs[k]] = in_shapes[k];
    for (int oi = 0; oi < g->nops; oi++) {
        const nn_op *op = &g->ops[oi];
        nn_shape ins[NN_OP_MAX_IN];
        for (int k = 0; k < op->nin; k++)
            ins[k] = vs[op->in[k]];
        TRY(nn_op_defs[op->kind]->infer_shape(op, ins, &vs[op->out]));
    }
    return DOLOR_OK;
}

/* ------------------------------------------------------------------ build ---- */

static dolor_status plan_build(dolor_net *g, nn_plan *p)
{
    DN(dnnl_primitive_attr_create(&p->attr));
    DN(dnnl_primitive_attr_set_scratchpad_mode(p->attr, dnnl_scratchpad_mode_user));
    p->v = calloc((size_t)g->nvals, sizeof *p->v);
    p->ops = calloc((size_t)g->nops + 1, sizeof *p->ops);
    nn_shape *vs = calloc((size_t)g->nvals, sizeof *vs);
    if (!p->v || !p->ops || !vs) {
        free(vs);
        return dolor_error(DOLOR_ENOMEM, "nn: out of memory");
    }
    p->nvals = g->nvals;
    p->nops = g->nops;
    p->cur_op = -1;
    if (!p->training) {
        p->last_use = calloc((size_t)g->nvals, sizeof *p->last_use);
        p->buf_of = calloc((size_t)g->nvals, sizeof *p->buf_of);
        if (!p->last_use || !p->buf_of) {
            free(vs);
            return dolor_error(DOLOR_ENOMEM, "nn: out of memory");
        }
        for (int v = 0; v < g->nvals; v++)
            p->last_use[v] = g->vals[v].producer; /* read by nobody: free after its own op */
        for (int oi = 0; oi < g->nops; oi++)
            for (int k = 0; k < g->ops[oi].nin; k++)
                if (oi > p->last_use[g->ops[oi].in[k]])
                    p->last_use[g->ops[oi].in[k]] = oi;
        for (int k = 0; k < g->noutputs; k++)
            p->last_use[g->outputs[k]] = g->nops; /* read by the output reorder at the end */
    }
    dolor_status st = nn_graph_infer_shapes(g, p->in_shape, vs);
    for (int i = 0; i < g->nvals; i++) {
        p->v[i].s = vs[i];
        p->v[i].needs_diff = p->training && (g->vals[i].input_idx < 0 || g->need_input_grad);
    }
    free(vs);
    TRY(st);
    /* inputs: plain copies (so the caller's x may change before backward) */
    for (int k = 0; k < g->ninputs; k++) {
        int vid = g->inputs[k];
        dnnl_memory_desc_t md;
        nnp_md(&md, &p->v[vid].s, nnp_plain_tag(p->v[vid].s.ndim));
        TRY(nnp_set_value(p, vid, &md));
        TRY(nnp_mem(p, &md, DNNL_MEMORY_NONE, &p->in_user[k]));
        TRY(nnp_reorder(p, &p->fwd, &md, p->in_user[k], &md, p->v[vid].mem));
    }
    for (int oi = 0; oi < g->nops; oi++) {
        p->cur_op = oi;
        TRY(nn_op_defs[g->ops[oi].kind]->plan_forward(g, p, oi));
    }
    p->cur_op = g->nops;
    for (int k = 0; k < g->noutputs; k++) {
        nn_pval *vo = &p->v[g->outputs[k]];
        dnnl_memory_desc_t plain;
        nnp_md(&plain, &vo->s, nnp_plain_tag(vo->s.ndim));
        TRY(nnp_mem(p, &plain, DNNL_MEMORY_NONE, &p->out_user[k]));
        TRY(nnp_reorder(p, &p->fwd, &vo->md, vo->mem, &plain, p->out_user[k]));
    }
    if (p->training) {
        TRY(plan_diffs(g, p));
        for (int k = 0; k < g->noutputs; k++) {
            nn_pval *vo = &p->v[g->outputs[k]];
            dnnl_memory_desc_t plain;
            nnp_md(&plain, &vo->s, nnp_plain_tag(vo->s.ndim));
            TRY(nnp_mem(p, &plain, DNNL_MEMORY_NONE, &p->dout_user[k]));
            dnnl_memory_t t;
            int accum;
            TRY(nnp_diff_target(p, g->outputs[k], &t, &accum));
            TRY(nnp_reorder(p, &p->bwd, &plain, p->dout_user[k], &vo->md, t));
            TRY(nnp_diff_done(p, &p->bwd, g->outputs[k], accum));
        }
        for (int oi = g->nops - 1; oi >= 0; oi--)
            TRY(nn_op_defs[g->ops[oi].kind]->plan_backward(g, p, oi));
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
    if (p->fold_bytes) {
        TRY(nnp_alloc(p, p->fold_bytes, &p->fold_buf));
        for (int i = 0; i < p->nfold; i++) {
            DN(dnnl_memory_set_data_handle(p->fold_mems[i], p->fold_buf));
            *p->fold_ptrs[i] = p->fold_buf;
        }
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

static int same_shape(const nn_shape *a, const nn_shape *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->d[i] != b->d[i])
            return 0;
    return 1;
}

dolor_status nnp_get_plan(dolor_net *g, const nn_shape *in_shapes, int training, nn_plan **out)
{
    nn_plan *p = g->plan[training];
    if (p) {
        int same = 1;
        for (int k = 0; k < g->ninputs && same; k++)
            same = same_shape(&p->in_shape[k], &in_shapes[k]);
        if (same) {
            *out = p;
            return DOLOR_OK;
        }
    }
    nnp_plan_free(p);
    g->plan[training] = NULL;
    if (training)
        g->trained_ready = 0;
    p = calloc(1, sizeof *p);
    if (!p)
        return dolor_error(DOLOR_ENOMEM, "nn: out of memory");
    p->eng = g->engine;
    for (int k = 0; k < g->ninputs; k++)
        p->in_shape[k] = in_shapes[k];
    p->N = in_shapes[0].d[0];
    p->training = training;
    dolor_status s = plan_build(g, p);
    if (s != DOLOR_OK) {
        nnp_plan_free(p);
        return s;
    }
    g->plan[training] = p;
    *out = p;
    return DOLOR_OK;
}
