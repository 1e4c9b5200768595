/* The step interpreter: runs a plan's flat forward or backward program, and the entry points that
 * check the caller's tensors, pick (or build) the plan and run it. */
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dolor_status run_prog(dolor_net *g, nn_plan *p, nn_prog *prog)
{
    for (int i = 0; i < prog->n; i++) {
        nn_step *s = &prog->s[i];
        if (s->kind == STEP_PRIM) {
            DN(dnnl_primitive_execute(s->prim, g->stream, s->nargs, s->args));
            continue;
        }
        DN(dnnl_stream_wait(g->stream));
        switch (s->kind) {
        case STEP_ADD: {
            float *restrict a = s->a;
            const float *restrict b = s->b ? s->b : p->accum;
            ptrdiff_t n = (ptrdiff_t)s->n;
#pragma omp parallel for simd schedule(static)
            for (ptrdiff_t j = 0; j < n; j++)
                a[j] += b[j];
            break;
        }
        case STEP_ZERO:
            memset(s->a, 0, s->n * sizeof(float));
            break;
        case STEP_FN:
            s->fn(s->ctx);
            break;
        case STEP_CHUNKS: {
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
            break;
        }
        case STEP_BN_RUNNING: {
            double m = g->bn_override ? g->bn_momentum : s->momentum;
            double cnt = s->count, unb = cnt > 1 ? cnt / (cnt - 1) : 1.0;
            for (size_t c = 0; c < s->n; c++) {
                s->a[c] = (float)((1 - m) * s->a[c] + m * s->c[c]);
                s->b[c] = (float)((1 - m) * s->b[c] + m * s->d[c] * unb);
            }
            break;
        }
        case STEP_PRIM:
            break;
        }
    }
    DN(dnnl_stream_wait(g->stream));
    return DOLOR_OK;
}

static dolor_status check_shape(const dolor_tensor *t, const char *what, const nn_shape *s)
{
    char b1[96], b2[96];
    if (!t || !t->data)
        return dolor_error(DOLOR_EINVAL, "nn: %s is NULL", what);
    int ok = t->ndim == s->ndim;
    for (int i = 0; ok && i < s->ndim; i++)
        ok = t->shape[i] == s->d[i];
    if (!ok) {
        nn_shape ts = {.ndim = t->ndim};
        for (int i = 0; i < t->ndim && i < NN_MAX_DIMS; i++)
            ts.d[i] = t->shape[i];
        if (ts.ndim > NN_MAX_DIMS)
            ts.ndim = NN_MAX_DIMS;
        return dolor_error(DOLOR_ESHAPE, "nn: %s has shape %s (ndim %d), expected %s", what, nn_shape_str(&ts, b1, sizeof b1),
                           t->ndim, nn_shape_str(s, b2, sizeof b2));
    }
    return DOLOR_OK;
}

dolor_status nn_graph_run(dolor_net *g, const dolor_tensor *const *inputs, dolor_tensor *const *outs, int training)
{
    training = training ? 1 : 0;
    if (!g || !g->finalized)
        return dolor_error(DOLOR_EINVAL, "nn: network not finalized");
    nn_shape in_shapes[NN_MAX_INPUTS];
    for (int k = 0; k < g->ninputs; k++) {
        const dolor_tensor *x = inputs[k];
        const nn_shape *ns = &g->vals[g->inputs[k]].s;
        if (!x || !x->data)
            return dolor_error(DOLOR_EINVAL, "nn: input %d is NULL", k);
        if (x->ndim != ns->ndim || x->shape[1] != ns->d[1])
            return dolor_error(DOLOR_ESHAPE, "nn: input %d must be %d-D with %lld channels (ndim %d, %lld channels)", k,
                               ns->ndim, (long long)ns->d[1], x->ndim, (long long)(x->ndim > 1 ? x->shape[1] : 0));
        in_shapes[k].ndim = x->ndim;
        for (int i = 0; i < x->ndim; i++)
            in_shapes[k].d[i] = x->shape[i];
        if (k > 0 && x->shape[0] != inputs[0]->shape[0])
            return dolor_error(DOLOR_ESHAPE, "nn: input %d has batch %lld, input 0 has %lld", k, (long long)x->shape[0],
                               (long long)inputs[0]->shape[0]);
    }
    if (g->size_multiple > 1) {
        const dolor_tensor *x = inputs[0];
        int64_t f = g->size_multiple;
        int bad = 0;
        for (int i = 2; i < x->ndim; i++)
            bad |= x->shape[i] % f != 0 || x->shape[i] < f;
        if (bad && x->ndim == 4)
            return dolor_error(DOLOR_ESHAPE, "nn: input H x W = %lld x %lld must be positive multiples of %lld (2^depth)",
                               (long long)x->shape[2], (long long)x->shape[3], (long long)f);
        if (bad)
            return dolor_error(DOLOR_ESHAPE, "nn: input spatial sizes must be positive multiples of %lld", (long long)f);
    }
    nn_plan *p = NULL;
    TRY(nnp_get_plan(g, in_shapes, training, &p));
    for (int k = 0; k < g->noutputs; k++) {
        char what[64];
        if (g->noutputs == 1 && g->is_unet)
            snprintf(what, sizeof what, "output (logits)");
        else
            snprintf(what, sizeof what, "output %d (%s)", k, g->out_names[k]);
        TRY(check_shape(outs[k], what, &p->v[g->outputs[k]].s));
    }
    for (int k = 0; k < g->ninputs; k++)
        DN(dnnl_memory_set_data_handle(p->in_user[k], inputs[k]->data));
    for (int k = 0; k < g->noutputs; k++)
        DN(dnnl_memory_set_data_handle(p->out_user[k], outs[k]->data));
    if (training) {
        g->trained_ready = 0;
        g->params_gen++; /* batch statistics and the optimizer step that follows change them */
    } else if (p->prep.n && (!p->prep_done || p->prep_gen != g->params_gen)) {
        TRY(run_prog(g, p, &p->prep));
        p->prep_gen = g->params_gen;
        p->prep_done = 1;
    }
    TRY(run_prog(g, p, &p->fwd));
    if (training)
        g->trained_ready = 1;
    return DOLOR_OK;
}

dolor_status nn_graph_backward_all(dolor_net *g, const dolor_tensor *const *douts)
{
    nn_plan *p = g ? g->plan[1] : NULL;
    if (!p || !g->trained_ready)
        return dolor_error(DOLOR_EINVAL, "nn: backward needs a training forward first");
    for (int k = 0; k < g->noutputs; k++) {
        char what[64];
        if (g->noutputs == 1 && g->is_unet)
            snprintf(what, sizeof what, "output gradient (dlogits)");
        else
            snprintf(what, sizeof what, "gradient of output %d (%s)", k, g->out_names[k]);
        if (!douts[k])
            return dolor_error(DOLOR_EINVAL, "nn: %s is NULL", what);
        TRY(check_shape(douts[k], what, &p->v[g->outputs[k]].s));
        DN(dnnl_memory_set_data_handle(p->dout_user[k], douts[k]->data));
    }
    for (int i = 0; i < p->nvals; i++)
        p->v[i].diff_written = 0;
    return run_prog(g, p, &p->bwd);
}

dolor_status nn_graph_forward(dolor_net *g, const dolor_tensor *const *inputs, dolor_tensor *out, int training)
{
    dolor_tensor *outs[1] = {out};
    if (g && g->noutputs != 1)
        return dolor_error(DOLOR_EINVAL, "nn: the graph has %d outputs, not 1", g->noutputs);
    return nn_graph_run(g, inputs, outs, training);
}

dolor_status nn_graph_backward(dolor_net *g, const dolor_tensor *dout)
{
    const dolor_tensor *d[1] = {dout};
    return nn_graph_backward_all(g, d);
}

void dolor_net_activation_bytes(const dolor_net *net, int training, size_t *shared, size_t *unshared)
{
    const nn_plan *p = net ? net->plan[training ? 1 : 0] : NULL;
    if (shared)
        *shared = p ? p->act_bytes : 0;
    if (unshared)
        *unshared = p ? p->act_bytes_unshared : 0;
}

const float *nn_graph_input_grad(const dolor_net *g, int i)
{
    const nn_plan *p = g->plan[1];
    if (!p || i < 0 || i >= g->ninputs)
        return NULL;
    return p->v[g->inputs[i]].diff;
}

const nn_shape *nn_graph_plan_shape(const dolor_net *g, int training, int v)
{
    const nn_plan *p = g->plan[training ? 1 : 0];
    return p && v >= 0 && v < p->nvals ? &p->v[v].s : NULL;
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
