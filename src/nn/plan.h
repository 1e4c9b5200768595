/*
 * Private: the plan of a graph for one set of input shapes and one mode (training or inference),
 * and the helpers the operations (files under ops/) use to append steps to it.
 *
 * Planning (once per input shapes and mode): infer the shape of every value, walk the ops in order
 * and let each op's plan_forward create its primitives (conv lets oneDNN pick its blocked layout,
 * element-wise ops take their input's layout) and append steps (a primitive with its arguments, or
 * a small C kernel) to the flat forward program; in training, allocate the gradient buffers of the
 * values (shared between values whose gradients are not alive at the same time, plan.c
 * plan_diffs) and walk the ops in reverse with plan_backward. All buffers, memory objects and one
 * shared scratchpad are allocated at planning; executing a program allocates nothing.
 */
#ifndef DOLOR_NN_PLAN_H
#define DOLOR_NN_PLAN_H

#include "nn_internal.h"

#include <oneapi/dnnl/dnnl_debug.h>

#include <stdint.h>

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

enum { STEP_PRIM = 0, STEP_ADD, STEP_BN_RUNNING, STEP_CHUNKS, STEP_FN, STEP_ZERO };

typedef struct nn_step {
    int kind;
    dnnl_primitive_t prim;
    int nargs;
    dnnl_exec_arg_t args[12];
    float *a, *b, *c, *d; /* ADD: a += b (b NULL: the plan's accumulation buffer); ZERO: a[0..n) = 0;
                             BN_RUNNING: a running_mean, b running_var, c mean, d var */
    size_t n;
    double count, momentum; /* BN_RUNNING */
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
    nn_shape s;
    dnnl_memory_desc_t md;
    float *data, *diff;
    dnnl_memory_t mem, dmem;
    int needs_diff, diff_written;
} nn_pval;

/* Per-op planning state; each op uses what it needs. */
typedef struct nn_pop {
    dnnl_primitive_desc_t fpd;
    dnnl_memory_desc_t src_md; /* conv: the primitive's src layout */
    dnnl_memory_t src_mem;     /* memory in src_md (the value's, or an adapted copy) */
    int src_adapted;
    dnnl_memory_desc_t w_fwd_md;
    dnnl_memory_t w_plain, w_fwd, bias;
    dnnl_memory_t ws, mean, var, scale, shift, dscale, dshift;
    float *mean_buf, *var_buf;
    void *ext;                 /* op-specific (the 1x1 deconvolution, ...) */
    dnnl_memory_desc_t z_md;
    dnnl_memory_t z_mem, dz_mem;
    int flag;
} nn_pop;

typedef struct nn_plan {
    dnnl_engine_t eng;
    nn_shape in_shape[NN_MAX_INPUTS];
    int64_t N;
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
    dnnl_memory_t in_user[NN_MAX_INPUTS], out_user[NN_MAX_OUTPUTS], dout_user[NN_MAX_OUTPUTS];
    nn_prog fwd, bwd;
    /* inference: weight preparation (reorders into the primitives' layouts, batch norm folded into
     * the preceding convolution), run before a forward only when the parameters may have changed
     * since (dolor_net.params_gen differs from prep_gen) */
    nn_prog prep;
    uint64_t prep_gen;
    int prep_done;
    dnnl_primitive_attr_t *attrs; /* per-primitive attributes (post-ops), freed with the plan */
    int nattrs, capattrs;
    int folded_bn;                /* batch norms folded into convolutions (inference) */
    int fused_add;                /* residual additions (+ ReLU) fused into convolutions as post-ops */
    /* inference: activation buffers shared between values not alive at the same time */
    int cur_op;                   /* the op being planned (-1: the input copies) */
    int *last_use;                /* per value: the last op reading it (nops: a graph output); NULL in training */
    int *buf_of;                  /* per value: its pool buffer */
    struct nn_actbuf {
        float *ptr;
        size_t size;
        int last; /* the last op reading any value in it */
    } *pool;
    int npool, cappool;
    size_t act_bytes, act_bytes_unshared;
    /* inference: one buffer for the folded plain weights of every convolution, which prep fills and
     * reorders one convolution at a time */
    dnnl_memory_t *fold_mems;
    float ***fold_ptrs; /* where each fold kernel keeps its pointer to that buffer */
    int nfold, capfold;
    size_t fold_bytes;
    float *fold_buf;
    int act_reorders;
} nn_plan;

/* Where weight preparation goes: the forward itself in training (weights change every step), the
 * cached prep program in inference. */
static inline nn_prog *nnp_wprog(nn_plan *p) { return p->training ? &p->fwd : &p->prep; }

/* ---- memory and primitives owned by the plan (freed with it) ---- */
dolor_status nnp_alloc(nn_plan *p, size_t bytes, float **out);
dolor_status nnp_mem(nn_plan *p, const dnnl_memory_desc_t *md, void *handle, dnnl_memory_t *out);
/* A buffer of md's size with a memory object over it (buf may be NULL). */
dolor_status nnp_buf_mem(nn_plan *p, const dnnl_memory_desc_t *md, float **buf, dnnl_memory_t *out);
dolor_status nnp_pd(nn_plan *p, dnnl_primitive_desc_t *pd, const void *op_desc, const_dnnl_primitive_desc_t hint);
/* Track a pd created elsewhere (reorder, concat); destroys it on failure. */
dolor_status nnp_own_pd(nn_plan *p, dnnl_primitive_desc_t pd);
/* Create the primitive and, if it needs one, a scratchpad memory (handle set after planning). */
dolor_status nnp_prim(nn_plan *p, dnnl_primitive_desc_t pd, dnnl_primitive_t *prim, dnnl_memory_t *scratch);

/* ---- steps ---- */
dolor_status nnp_step(nn_prog *g, nn_step **out);
void nnp_arg(nn_step *s, int arg, dnnl_memory_t m); /* m NULL: nothing */
/* A primitive step with its scratchpad (create the primitive from pd first with nnp_prim). */
dolor_status nnp_prog_prim(nn_prog *g, dnnl_primitive_t prim, dnnl_memory_t scratch, nn_step **out);
/* pd -> primitive -> step, in one call. */
dolor_status nnp_exec(nn_plan *p, nn_prog *g, dnnl_primitive_desc_t pd, nn_step **out);
dolor_status nnp_reorder(nn_plan *p, nn_prog *g, const dnnl_memory_desc_t *smd, dnnl_memory_t src,
                         const dnnl_memory_desc_t *dmd, dnnl_memory_t dst);
dolor_status nnp_fn(nn_prog *g, void (*fn)(void *), void *ctx);
dolor_status nnp_zero(nn_prog *g, float *dst, size_t n);
dolor_status nnp_chunks(nn_prog *g, float *dst, size_t da, const float *src, size_t db, size_t n, size_t len, int add);

/* ---- values ---- */
/* Output value vid: allocate its data in md (its gradient comes from plan_diffs). */
dolor_status nnp_set_value(nn_plan *p, int vid, const dnnl_memory_desc_t *md);
/* Value vid is value src's memory (an op folded into its producer, inference only). */
void nnp_alias_value(nn_plan *p, int vid, int src);
/* A memory object in md over the plan's shared fold buffer (inference weight preparation: valid
 * only until the next preparation step overwrites it); *ptr receives the buffer after planning. */
dolor_status nnp_fold_mem(nn_plan *p, const dnnl_memory_desc_t *md, float **ptr, dnnl_memory_t *out);
/* Where a backward step writes d/d(value vid): the value's gradient if nothing wrote it yet (in
 * backward order), else the shared accumulation buffer followed by an add (call nnp_diff_done
 * after the step). *accum: 0 direct, 1 accumulate, 2 discard (the value needs no gradient). */
dolor_status nnp_diff_target(nn_plan *p, int vid, dnnl_memory_t *m, int *accum);
dolor_status nnp_diff_done(nn_plan *p, nn_prog *g, int vid, int accum);

/* ---- memory descriptors ---- */
void nnp_md(dnnl_memory_desc_t *md, const nn_shape *s, dnnl_format_tag_t tag);
/* the same for up to DNNL_MAX_NDIMS dims, e.g. grouped 3D weights [G, O/G, I/G, kD, kH, kW] (6 > NN_MAX_DIMS) */
void nnp_md_dims(dnnl_memory_desc_t *md, int ndim, const int64_t *dims, dnnl_format_tag_t tag);
void nnp_md1(dnnl_memory_desc_t *md, int64_t c);
dnnl_format_tag_t nnp_plain_tag(int ndim);            /* ab, abcd, abcde */
dnnl_format_tag_t nnp_blocked_tag(int ndim, int blk); /* aBcd16b / aBcde8b ...; plain if blk < 2 */
/* Channel block of a dense layout whose channel blocks are outermost after N (plain: 1,
 * nChw16c: 16, nCdhw8c: 8); 0 for anything else. In such a layout the channels [c0, c1) of one
 * sample, c0 and c1 multiples of the block, are one contiguous run of (c1 - c0) * spatial floats. */
int nnp_chan_block(const dnnl_memory_desc_t *md);
int64_t nnp_spatial(const nn_shape *s); /* product of dims[2..] */
int nnp_is_ref(const_dnnl_primitive_desc_t pd); /* a reference (slow) oneDNN implementation */
dnnl_prop_kind_t nnp_fwd_prop(const nn_plan *p);

/* ---- plans (plan.c) ---- */
/* The plan for these input shapes and mode, built if the current one differs. */
dolor_status nnp_get_plan(dolor_net *g, const nn_shape *in_shapes, int training, nn_plan **out);
void nnp_plan_free(nn_plan *p);

#endif
