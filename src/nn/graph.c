/* The graph builder: values with shapes, operations (through the table in ops/table.c), parameter
 * tensors, first-error bookkeeping, finalize, initialisation and the accessors of the public
 * dolor_net API. */
#include "plan.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *nn_shape_str(const nn_shape *s, char *buf, size_t n)
{
    size_t k = 0;
    k += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < s->ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)s->d[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

int64_t nn_shape_numel(const nn_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= s->d[i];
    return n;
}

_Thread_local size_t nn_build_param_limit;

dolor_status nn_graph_create(dolor_net **out)
{
    *out = NULL;
    dolor_net *g = calloc(1, sizeof *g);
    if (!g)
        return dolor_error(DOLOR_ENOMEM, "nn: out of memory");
    g->output = -1;
    g->param_limit = nn_build_param_limit;
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
    nnp_plan_free(g->plan[0]);
    nnp_plan_free(g->plan[1]);
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

int nn_fail(dolor_net *g, dolor_status st, const char *fmt, ...)
{
    if (g->err == DOLOR_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g->errmsg, sizeof g->errmsg, fmt, ap);
        va_end(ap);
        g->err = st;
    }
    return -1;
}

static int add_value(dolor_net *g, const nn_shape *s, int producer)
{
    if (g->nvals == g->cap_vals) {
        int nc = g->cap_vals ? 2 * g->cap_vals : 32;
        void *q = realloc(g->vals, (size_t)nc * sizeof *g->vals);
        if (!q)
            return nn_fail(g, DOLOR_ENOMEM, "nn: out of memory");
        g->vals = q;
        g->cap_vals = nc;
    }
    nn_value *v = &g->vals[g->nvals];
    v->s = *s;
    v->producer = producer;
    v->input_idx = -1;
    return g->nvals++;
}

int nn_add_tensor(dolor_net *g, const char *prefix, const char *suffix, int ndim, const int64_t *shape, int is_buffer)
{
    if (g->ntensors == g->cap_tensors) {
        int nc = g->cap_tensors ? 2 * g->cap_tensors : 64;
        void *q = realloc(g->tensors, (size_t)nc * sizeof *g->tensors);
        if (!q)
            return nn_fail(g, DOLOR_ENOMEM, "nn: out of memory");
        g->tensors = q;
        g->cap_tensors = nc;
    }
    nn_tensor_info *t = &g->tensors[g->ntensors];
    memset(t, 0, sizeof *t);
    if (prefix && *prefix)
        snprintf(t->name, sizeof t->name, "%s.%s", prefix, suffix);
    else
        snprintf(t->name, sizeof t->name, "%s", suffix);
    t->ndim = ndim;
    t->numel = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->numel *= (size_t)shape[i];
    }
    t->is_buffer = is_buffer;
    return g->ntensors++;
}

int nn_add_input_shape(dolor_net *g, int ndim, const int64_t *dims)
{
    if (g->err)
        return -1;
    if (g->finalized)
        return nn_fail(g, DOLOR_EINVAL, "nn: input added after finalize");
    if (g->ninputs >= NN_MAX_INPUTS)
        return nn_fail(g, DOLOR_EINVAL, "nn: more than %d graph inputs", NN_MAX_INPUTS);
    if (ndim != 2 && ndim != 4 && ndim != 5)
        return nn_fail(g, DOLOR_EINVAL, "nn: input %d: ndim %d is not 2 ([N, F]), 4 ([N, C, H, W]) or 5 ([N, C, D, H, W])",
                       g->ninputs, ndim);
    nn_shape s = {.ndim = ndim};
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 1 || dims[i] > ((int64_t)1 << 31))
            return nn_fail(g, DOLOR_EINVAL, "nn: input %d: extent %d is %lld", g->ninputs, i, (long long)dims[i]);
        s.d[i] = dims[i];
    }
    int v = add_value(g, &s, -1);
    if (v < 0)
        return -1;
    g->vals[v].input_idx = g->ninputs;
    g->inputs[g->ninputs++] = v;
    return v;
}

int nn_add_op(dolor_net *g, nn_op_kind kind, const char *name, const int *in, int nin, const nn_params *p)
{
    if (g->err)
        return -1;
    if ((int)kind < 0 || kind >= NN_OP_COUNT)
        return nn_fail(g, DOLOR_EINVAL, "nn: operation kind %d is not in the table", (int)kind);
    const nn_op_def *def = nn_op_defs[kind];
    if (g->finalized)
        return nn_fail(g, DOLOR_EINVAL, "nn: %s added after finalize", def->name);
    if (nin < def->min_inputs || nin > def->max_inputs || nin > NN_OP_MAX_IN)
        return nn_fail(g, DOLOR_EINVAL, "nn: %s%s%s takes %d to %d inputs, got %d", def->name, name ? " " : "",
                       name ? name : "", def->min_inputs, def->max_inputs, nin);
    for (int k = 0; k < nin; k++)
        if (in[k] < 0 || in[k] >= g->nvals)
            return nn_fail(g, DOLOR_EINVAL, "nn: %s%s%s: input %d is value %d (the graph has %d)", def->name,
                           name ? " " : "", name ? name : "", k, in[k], g->nvals);
    if (g->nops == g->cap_ops) {
        int nc = g->cap_ops ? 2 * g->cap_ops : 32;
        void *q = realloc(g->ops, (size_t)nc * sizeof *g->ops);
        if (!q)
            return nn_fail(g, DOLOR_ENOMEM, "nn: out of memory");
        g->ops = q;
        g->cap_ops = nc;
    }
    nn_op *op = &g->ops[g->nops];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->nin = nin;
    for (int k = 0; k < nin; k++)
        op->in[k] = in[k];
    if (p)
        op->p = *p;
    for (int k = 0; k < NN_MAX_OP_TENSORS; k++)
        op->t[k] = -1;
    snprintf(op->name, sizeof op->name, "%s", name ? name : "");
    nn_shape ins[NN_OP_MAX_IN], os;
    for (int k = 0; k < nin; k++)
        ins[k] = g->vals[in[k]].s;
    dolor_status st = def->infer_shape(op, ins, &os);
    if (st)
        return nn_fail(g, st, "%s", dolor_errmsg());
    if (def->add_params) {
        st = def->add_params(g, op, ins);
        if (st)
            return nn_fail(g, st, "%s", dolor_errmsg());
        if (g->err)
            return -1;
    }
    int v = add_value(g, &os, g->nops);
    if (v < 0)
        return -1;
    op->out = v;
    g->nops++;
    return v;
}

int nn_set_output(dolor_net *g, int v, const char *name)
{
    if (g->err || v < 0)
        return -1;
    if (v >= g->nvals)
        return nn_fail(g, DOLOR_EINVAL, "nn: output value %d invalid (the graph has %d)", v, g->nvals);
    if (g->noutputs >= NN_MAX_OUTPUTS)
        return nn_fail(g, DOLOR_EINVAL, "nn: more than %d outputs", NN_MAX_OUTPUTS);
    snprintf(g->out_names[g->noutputs], sizeof g->out_names[0], "%s", name && *name ? name : "out");
    g->outputs[g->noutputs++] = v;
    g->output = g->outputs[0];
    return v;
}

dolor_status nn_graph_finalize(dolor_net *g, int output)
{
    if (g->noutputs == 0 && !g->err && output >= 0)
        nn_set_output(g, output, "out");
    if (g->err) {
        /* errmsg is the graph's own buffer, so formatting it into the thread's message is safe */
        return dolor_error(g->err, "%s", g->errmsg);
    }
    if (g->noutputs == 0)
        return dolor_error(DOLOR_EINVAL, "nn: graph output value %d invalid", output);
    if (g->ninputs < 1)
        return dolor_error(DOLOR_EINVAL, "nn: graph has no input");
    if (g->finalized)
        return dolor_error(DOLOR_EINVAL, "nn: graph finalized twice");
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
    if (g->param_limit && (double)(np + nb) * sizeof(float) > (double)g->param_limit)
        return dolor_error(DOLOR_ESHAPE, "nn: the network has %zu parameters and %zu buffer values (%.0f bytes), more than "
                           "the limit of %zu bytes", np, nb, (double)(np + nb) * sizeof(float), g->param_limit);
    g->nparams = np;
    g->nbuffers = nb;
    g->params = dolor_alloc_aligned((np ? np : 1) * sizeof(float));
    g->grads = dolor_alloc_aligned((np ? np : 1) * sizeof(float));
    g->buffers = dolor_alloc_aligned((nb ? nb : 1) * sizeof(float));
    if (!g->params || !g->grads || !g->buffers)
        return dolor_error(DOLOR_ENOMEM, "nn: out of memory for %zu parameters", np);
    for (int i = 0; i < g->nops; i++)
        if (nn_op_defs[g->ops[i].kind]->init_params)
            nn_op_defs[g->ops[i].kind]->init_params(g, &g->ops[i], NULL);
    g->finalized = 1;
    return DOLOR_OK;
}

/* ------------------------------------------------------ compat builders ---- */

int nn_add_input(dolor_net *g, int channels)
{
    if (channels < 1)
        return nn_fail(g, DOLOR_EINVAL, "nn: input channels %d < 1", channels);
    int64_t d[4] = {1, channels, 256, 256};
    return nn_add_input_shape(g, 4, d);
}

int nn_add_conv(dolor_net *g, const char *name, int in, int cout, int k, int pad, int bias)
{
    nn_params p;
    memset(&p, 0, sizeof p);
    nn_conv_params *c = &p.conv;
    c->cout = cout;
    for (int i = 0; i < 3; i++) {
        c->k[i] = k;
        c->stride[i] = 1;
        c->pad[i] = pad;
        c->dil[i] = 1;
    }
    c->groups = 1;
    c->bias = bias;
    c->out_like = -1;
    return nn_add_op(g, NN_OP_CONV, name, &in, 1, &p);
}

int nn_add_deconv(dolor_net *g, const char *name, int in, int cout, int bias)
{
    nn_params p;
    memset(&p, 0, sizeof p);
    nn_conv_params *c = &p.conv;
    c->cout = cout;
    for (int i = 0; i < 3; i++) {
        c->k[i] = 2;
        c->stride[i] = 2;
        c->dil[i] = 1;
    }
    c->groups = 1;
    c->bias = bias;
    c->out_like = -1;
    return nn_add_op(g, NN_OP_DECONV, name, &in, 1, &p);
}

int nn_add_bn_eps(dolor_net *g, const char *name, int in, int relu, float momentum, float eps)
{
    nn_params p;
    memset(&p, 0, sizeof p);
    p.bn.relu = relu;
    p.bn.momentum = momentum;
    p.bn.eps = eps;
    return nn_add_op(g, NN_OP_BN, name, &in, 1, &p);
}

int nn_add_bn_momentum(dolor_net *g, const char *name, int in, int relu, float momentum)
{
    return nn_add_bn_eps(g, name, in, relu, momentum, 0.f);
}

int nn_add_bn(dolor_net *g, const char *name, int in, int relu) { return nn_add_bn_momentum(g, name, in, relu, 0.f); }

int nn_add_relu(dolor_net *g, int in) { return nn_add_op(g, NN_OP_RELU, NULL, &in, 1, NULL); }

int nn_add_pool(dolor_net *g, int in)
{
    nn_params p;
    memset(&p, 0, sizeof p);
    for (int i = 0; i < 3; i++)
        p.pool.k[i] = p.pool.stride[i] = 2;
    return nn_add_op(g, NN_OP_MAXPOOL, NULL, &in, 1, &p);
}

int nn_add_upsample(dolor_net *g, int in)
{
    nn_params p;
    memset(&p, 0, sizeof p);
    p.rs.mode = NN_RESAMPLE_LINEAR;
    for (int i = 0; i < 3; i++)
        p.rs.scale[i] = 2;
    return nn_add_op(g, NN_OP_UPSAMPLE, NULL, &in, 1, &p);
}

int nn_add_concat(dolor_net *g, int a, int b)
{
    int in[2] = {a, b};
    int v = nn_add_op(g, NN_OP_CONCAT, NULL, in, 2, NULL);
    /* let the op producing b (an up-convolution) write in the layout of a (the skip), so the
       concat sees one layout */
    if (v >= 0) {
        int pb = g->vals[b].producer;
        if (pb >= 0 && (g->ops[pb].kind == NN_OP_CONV || g->ops[pb].kind == NN_OP_DECONV) &&
            g->vals[b].s.d[1] == g->vals[a].s.d[1])
            g->ops[pb].p.conv.out_like = a;
    }
    return v;
}

/* ------------------------------------------------------------ accessors ---- */

const dolor_unet_config *dolor_net_config(const dolor_net *net) { return net && net->is_unet ? &net->cfg : NULL; }
size_t dolor_net_num_params(const dolor_net *net) { return net->nparams; }
float *dolor_net_params(dolor_net *net)
{
    net->params_gen++; /* the caller may write them: inference re-prepares its weights */
    return net->params;
}
void dolor_net_params_changed(dolor_net *net)
{
    if (net)
        net->params_gen++;
}
float *dolor_net_grads(dolor_net *net) { return net->grads; }
size_t dolor_net_num_buffers(const dolor_net *net) { return net->nbuffers; }
float *dolor_net_buffers(dolor_net *net)
{
    net->params_gen++;
    return net->buffers;
}
int dolor_net_num_tensors(const dolor_net *net) { return net->ntensors; }

dolor_status dolor_net_tensor_at(const dolor_net *net, int i, dolor_net_tensor *out)
{
    if (i < 0 || i >= net->ntensors)
        return dolor_error(DOLOR_EINVAL, "nn: tensor index %d out of range (the net has %d tensors)", i,
                           net->ntensors);
    const nn_tensor_info *t = &net->tensors[i];
    memset(out, 0, sizeof *out);
    out->name = t->name;
    out->ndim = t->ndim;
    for (int k = 0; k < t->ndim && k < 5; k++)
        out->shape[k] = t->shape[k];
    out->is_buffer = t->is_buffer;
    out->offset = t->offset;
    out->numel = t->numel;
    return DOLOR_OK;
}

dolor_status dolor_net_init(dolor_net *net, uint64_t seed)
{
    if (!net || !net->finalized)
        return dolor_error(DOLOR_EINVAL, "nn: init: network not finalized");
    dolor_rng rng;
    dolor_rng_seed(&rng, seed);
    for (int oi = 0; oi < net->nops; oi++)
        if (nn_op_defs[net->ops[oi].kind]->init_params)
            nn_op_defs[net->ops[oi].kind]->init_params(net, &net->ops[oi], &rng);
    memset(net->grads, 0, net->nparams * sizeof(float));
    net->params_gen++;
    return DOLOR_OK;
}

dolor_status dolor_net_forward(dolor_net *net, const dolor_tensor *x, dolor_tensor *logits, int training)
{
    if (!net || !x || !logits)
        return dolor_error(DOLOR_EINVAL, "nn: forward: NULL argument");
    const dolor_tensor *in[1] = {x};
    return nn_graph_forward(net, in, logits, training);
}

dolor_status dolor_net_backward(dolor_net *net, const dolor_tensor *dlogits)
{
    if (!net || !dlogits)
        return dolor_error(DOLOR_EINVAL, "nn: backward: NULL argument");
    return nn_graph_backward(net, dlogits);
}

size_t dolor_net_workspace_bytes(const dolor_net *net) { return net ? nn_graph_plan_bytes(net) : 0; }
