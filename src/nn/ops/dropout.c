/* Dropout (Srivastava et al., JMLR 2014) as torch.nn.Dropout(p): in training each element is
 * zeroed with probability p and the others are scaled by 1 / (1 - p); in inference it is the
 * identity. The mask is a counter-based hash (splitmix64 of seed, call count and element index),
 * so it does not depend on the thread count and a run is reproducible from dolor_net_init's seed;
 * it differs from PyTorch's generator, so tests check the definition, not torch's draws.
 * Works on the input's own layout (element-wise; blocked padding stays zero). */
#include "../onnx.h"
#include "../plan.h"

#include <string.h>

typedef struct drop_ctx {
    nn_dropout_params *prm; /* the op's parameters: p, seed, call counter */
    const float *x, *dy;
    float *y, *mask; /* mask: 0 or 1 / (1 - p), kept for backward */
    dnnl_memory_t dx;
    size_t n;
} drop_ctx;

static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void drop_fwd(void *c)
{
    drop_ctx *d = c;
    const float p = d->prm->p, keep = 1.f / (1.f - p);
    const uint64_t key = mix(d->prm->seed ^ mix(d->prm->calls++));
    const uint64_t thr = (uint64_t)((double)p * 18446744073709551616.0 >= 18446744073709551615.0
                                        ? 18446744073709551615.0
                                        : (double)p * 18446744073709551616.0);
    const size_t n = d->n;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float m = mix(key + i) >= thr ? keep : 0.f;
        d->mask[i] = m;
        d->y[i] = d->x[i] * m;
    }
}

static void drop_copy(void *c)
{
    drop_ctx *d = c;
    memcpy(d->y, d->x, d->n * sizeof(float));
}

static void drop_bwd(void *c)
{
    drop_ctx *d = c;
    void *h = NULL;
    dnnl_memory_get_data_handle(d->dx, &h);
    float *dx = h;
    const size_t n = d->n;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        dx[i] = d->dy[i] * d->mask[i];
}

static dolor_status drop_infer(const nn_op *op, const nn_shape *in, nn_shape *out)
{
    if (!(op->p.drop.p >= 0.f && op->p.drop.p < 1.f))
        return dolor_error(DOLOR_EINVAL, "nn: dropout %s: p %g is not in [0, 1)", op->name, (double)op->p.drop.p);
    *out = in[0];
    return DOLOR_OK;
}

static void drop_init(dolor_net *g, const nn_op *op, dolor_rng *rng)
{
    (void)g;
    if (rng) {
        nn_op *w = (nn_op *)op; /* the seed lives in the op (g->ops), which the builder owns */
        w->p.drop.seed = dolor_rng_u64(rng);
        w->p.drop.calls = 0;
    }
}

static dolor_status plan_drop_fwd(dolor_net *g, nn_plan *p, int oi)
{
    nn_op *op = &g->ops[oi];
    nn_pop *po = &p->ops[oi];
    nn_pval *vi = &p->v[op->in[0]];
    drop_ctx *d;
    TRY(nnp_alloc(p, sizeof *d, (float **)&d));
    po->ext = d;
    TRY(nnp_set_value(p, op->out, &vi->md));
    d->prm = &op->p.drop;
    d->x = vi->data;
    d->y = p->v[op->out].data;
    d->n = dnnl_memory_desc_get_size(&vi->md) / sizeof(float);
    if (!p->training)
        return nnp_fn(&p->fwd, drop_copy, d);
    TRY(nnp_alloc(p, d->n * sizeof(float), &d->mask));
    return nnp_fn(&p->fwd, drop_fwd, d);
}

static dolor_status plan_drop_bwd(dolor_net *g, nn_plan *p, int oi)
{
    const nn_op *op = &g->ops[oi];
    drop_ctx *d = p->ops[oi].ext;
    if (!p->v[op->in[0]].needs_diff)
        return DOLOR_OK;
    int accum;
    d->dy = p->v[op->out].diff;
    TRY(nnp_diff_target(p, op->in[0], &d->dx, &accum));
    TRY(nnp_fn(&p->bwd, drop_bwd, d));
    return nnp_diff_done(p, &p->bwd, op->in[0], accum);
}

/* Inference: the identity (ONNX Identity; torch's exporter writes Dropout only for training). */
static dolor_status drop_export(const dolor_net *g, nn_onnx *ox, int oi)
{
    const nn_op *op = &g->ops[oi];
    nn_onnx_unary(ox, "Identity", nn_onnx_value(ox, op->in[0]), nn_onnx_value(ox, op->out));
    return nn_onnx_status(ox);
}

const nn_op_def nn_op_dropout_def = {NN_OP_DROPOUT, "dropout", 1, 1, drop_infer, NULL, drop_init, plan_drop_fwd,
                                     plan_drop_bwd, drop_export};
