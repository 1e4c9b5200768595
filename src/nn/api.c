/* The public graph API of include/dolor/nn.h: thin wrappers that fill the per-kind parameter
 * structs and call nn_add_op (graph.c). */
#include "nn_internal.h"

#include <stdio.h>
#include <string.h>

dolor_status dolor_graph_create(dolor_net **out)
{
    if (!out)
        return dolor_error(DOLOR_EINVAL, "nn: graph_create: out is NULL");
    return nn_graph_create(out);
}

int dolor_graph_input(dolor_net *g, int ndim, const int64_t *dims)
{
    if (!g || !dims)
        return -1;
    return nn_add_input_shape(g, ndim, dims);
}

static int conv_like(dolor_net *g, nn_op_kind kind, const char *name, int x, const dolor_conv_params *q)
{
    if (!g)
        return -1;
    if (!q)
        return nn_fail(g, DOLOR_EINVAL, "nn: %s: parameters are NULL", name ? name : "conv");
    nn_params p;
    memset(&p, 0, sizeof p);
    p.conv.cout = q->out_channels;
    for (int a = 0; a < 3; a++) {
        p.conv.k[a] = q->kernel[a];
        p.conv.stride[a] = q->stride[a] ? q->stride[a] : 1;
        p.conv.pad[a] = q->padding[a];
        p.conv.dil[a] = q->dilation[a] ? q->dilation[a] : 1;
        p.conv.out_pad[a] = q->output_padding[a];
    }
    p.conv.groups = q->groups ? q->groups : 1;
    p.conv.bias = q->bias != 0;
    p.conv.out_like = -1;
    return nn_add_op(g, kind, name, &x, 1, &p);
}

int dolor_graph_conv(dolor_net *g, const char *name, int x, const dolor_conv_params *p)
{
    return conv_like(g, NN_OP_CONV, name, x, p);
}

int dolor_graph_conv_transpose(dolor_net *g, const char *name, int x, const dolor_conv_params *p)
{
    return conv_like(g, NN_OP_DECONV, name, x, p);
}

int dolor_graph_batch_norm(dolor_net *g, const char *name, int x, int fuse_relu)
{
    return g ? nn_add_bn(g, name, x, fuse_relu != 0) : -1;
}

int dolor_graph_activation(dolor_net *g, int x, dolor_activation act, float alpha)
{
    if (!g)
        return -1;
    nn_params p;
    memset(&p, 0, sizeof p);
    p.act.alpha = alpha;
    nn_op_kind k;
    switch (act) {
    case DOLOR_ACT_RELU: k = NN_OP_RELU; break;
    case DOLOR_ACT_LEAKY_RELU: k = NN_OP_LEAKY_RELU; break;
    case DOLOR_ACT_SIGMOID: k = NN_OP_SIGMOID; break;
    case DOLOR_ACT_TANH: k = NN_OP_TANH; break;
    case DOLOR_ACT_SILU: k = NN_OP_SILU; break;
    default: return nn_fail(g, DOLOR_EINVAL, "nn: activation %d is not a dolor_activation", (int)act);
    }
    return nn_add_op(g, k, NULL, &x, 1, &p);
}

static int pool(dolor_net *g, nn_op_kind kind, int x, const dolor_pool_params *q)
{
    if (!g)
        return -1;
    if (!q)
        return nn_fail(g, DOLOR_EINVAL, "nn: pooling parameters are NULL");
    nn_params p;
    memset(&p, 0, sizeof p);
    for (int a = 0; a < 3; a++) {
        p.pool.k[a] = q->kernel[a];
        p.pool.stride[a] = q->stride[a] ? q->stride[a] : q->kernel[a];
        p.pool.pad[a] = q->padding[a];
    }
    p.pool.count_include_pad = q->count_include_pad != 0;
    return nn_add_op(g, kind, NULL, &x, 1, &p);
}

int dolor_graph_max_pool(dolor_net *g, int x, const dolor_pool_params *p) { return pool(g, NN_OP_MAXPOOL, x, p); }
int dolor_graph_avg_pool(dolor_net *g, int x, const dolor_pool_params *p) { return pool(g, NN_OP_AVGPOOL, x, p); }
int dolor_graph_global_avg_pool(dolor_net *g, int x) { return g ? nn_add_op(g, NN_OP_GAP, NULL, &x, 1, NULL) : -1; }

int dolor_graph_upsample(dolor_net *g, int x, int linear, const int scale[3])
{
    if (!g)
        return -1;
    if (!scale)
        return nn_fail(g, DOLOR_EINVAL, "nn: upsample: scale is NULL");
    nn_params p;
    memset(&p, 0, sizeof p);
    p.rs.mode = linear ? NN_RESAMPLE_LINEAR : NN_RESAMPLE_NEAREST;
    for (int a = 0; a < 3; a++)
        p.rs.scale[a] = scale[a];
    return nn_add_op(g, NN_OP_UPSAMPLE, NULL, &x, 1, &p);
}

int dolor_graph_upsample_to(dolor_net *g, int x, int ref, int linear)
{
    if (!g)
        return -1;
    nn_params p;
    memset(&p, 0, sizeof p);
    p.rs.mode = linear ? NN_RESAMPLE_LINEAR : NN_RESAMPLE_NEAREST;
    int in[2] = {x, ref};
    return nn_add_op(g, NN_OP_UPSAMPLE, NULL, in, 2, &p);
}

int dolor_graph_concat(dolor_net *g, const int *xs, int n)
{
    if (!g)
        return -1;
    if (!xs)
        return nn_fail(g, DOLOR_EINVAL, "nn: concat: inputs are NULL");
    return nn_add_op(g, NN_OP_CONCAT, NULL, xs, n, NULL);
}

int dolor_graph_slice(dolor_net *g, int x, int c0, int c1)
{
    if (!g)
        return -1;
    nn_params p;
    memset(&p, 0, sizeof p);
    p.slice.c0 = c0;
    p.slice.c1 = c1;
    return nn_add_op(g, NN_OP_SLICE, NULL, &x, 1, &p);
}

int dolor_graph_add(dolor_net *g, int a, int b)
{
    int in[2] = {a, b};
    return g ? nn_add_op(g, NN_OP_ADD, NULL, in, 2, NULL) : -1;
}

int dolor_graph_mul(dolor_net *g, int a, int b)
{
    int in[2] = {a, b};
    return g ? nn_add_op(g, NN_OP_MUL, NULL, in, 2, NULL) : -1;
}

int dolor_graph_flatten(dolor_net *g, int x) { return g ? nn_add_op(g, NN_OP_FLATTEN, NULL, &x, 1, NULL) : -1; }

int dolor_graph_linear(dolor_net *g, const char *name, int x, int out_features, int bias)
{
    if (!g)
        return -1;
    nn_params p;
    memset(&p, 0, sizeof p);
    p.lin.out_features = out_features;
    p.lin.bias = bias != 0;
    return nn_add_op(g, NN_OP_LINEAR, name, &x, 1, &p);
}

int dolor_graph_output(dolor_net *g, int v, const char *name) { return g ? nn_set_output(g, v, name) : -1; }

dolor_status dolor_graph_finalize(dolor_net *g)
{
    if (!g)
        return dolor_error(DOLOR_EINVAL, "nn: finalize: graph is NULL");
    return nn_graph_finalize(g, -1);
}

dolor_status dolor_graph_value_shape(const dolor_net *g, int v, int *ndim, int64_t dims[5])
{
    if (!g || v < 0 || v >= g->nvals)
        return dolor_error(DOLOR_EINVAL, "nn: value %d out of range (the graph has %d)", v, g ? g->nvals : 0);
    *ndim = g->vals[v].s.ndim;
    for (int i = 0; i < 5; i++)
        dims[i] = i < g->vals[v].s.ndim ? g->vals[v].s.d[i] : 1;
    return DOLOR_OK;
}

int dolor_net_num_outputs(const dolor_net *net) { return net ? net->noutputs : 0; }

const char *dolor_net_output_name(const dolor_net *net, int k)
{
    return net && k >= 0 && k < net->noutputs ? net->out_names[k] : NULL;
}

const char *dolor_net_arch(const dolor_net *net) { return net ? net->arch : ""; }

dolor_status dolor_net_run(dolor_net *net, const dolor_tensor *const *inputs, dolor_tensor *const *outputs, int training)
{
    if (!net || !inputs || !outputs)
        return dolor_error(DOLOR_EINVAL, "nn: run: NULL argument");
    return nn_graph_run(net, inputs, outputs, training);
}

dolor_status dolor_net_backward_outputs(dolor_net *net, const dolor_tensor *const *doutputs)
{
    if (!net || !doutputs)
        return dolor_error(DOLOR_EINVAL, "nn: backward: NULL argument");
    return nn_graph_backward_all(net, doutputs);
}

int dolor_graph_scale(dolor_net *g, int x, float alpha)
{
    if (!g)
        return -1;
    nn_params p;
    memset(&p, 0, sizeof p);
    p.act.alpha = alpha;
    return nn_add_op(g, NN_OP_SCALE, NULL, &x, 1, &p);
}

int dolor_graph_permute(dolor_net *g, int x, const int *perm, int ndim)
{
    if (!g)
        return -1;
    if (!perm || ndim < 2 || ndim > NN_MAX_DIMS)
        return nn_fail(g, DOLOR_EINVAL, "nn: permute: perm NULL or ndim %d not in 2..5", ndim);
    if (x >= 0 && x < g->nvals && g->vals[x].s.ndim != ndim)
        return nn_fail(g, DOLOR_EINVAL, "nn: permute: perm has %d axes, the value has %d", ndim, g->vals[x].s.ndim);
    nn_params p;
    memset(&p, 0, sizeof p);
    for (int i = 0; i < ndim; i++)
        p.perm.perm[i] = perm[i];
    return nn_add_op(g, NN_OP_PERMUTE, NULL, &x, 1, &p);
}

int dolor_graph_zpool(dolor_net *g, int x) { return g ? nn_add_op(g, NN_OP_ZPOOL, NULL, &x, 1, NULL) : -1; }

dolor_status dolor_net_input_shape(const dolor_net *net, int i, int *ndim, int64_t dims[5])
{
    if (!net || i < 0 || i >= net->ninputs)
        return dolor_error(DOLOR_EINVAL, "nn: input %d out of range (the net has %d)", i, net ? net->ninputs : 0);
    return dolor_graph_value_shape(net, net->inputs[i], ndim, dims);
}

dolor_status dolor_net_output_shape(const dolor_net *net, int k, int *ndim, int64_t dims[5])
{
    if (!net || k < 0 || k >= net->noutputs)
        return dolor_error(DOLOR_EINVAL, "nn: output %d out of range (the net has %d)", k, net ? net->noutputs : 0);
    return dolor_graph_value_shape(net, net->outputs[k], ndim, dims);
}

int dolor_graph_dropout(dolor_net *g, int x, float p)
{
    if (!g)
        return -1;
    nn_params prm;
    memset(&prm, 0, sizeof prm);
    prm.drop.p = p;
    return nn_add_op(g, NN_OP_DROPOUT, NULL, &x, 1, &prm);
}

void dolor_net_set_bn_momentum(dolor_net *net, double momentum)
{
    if (!net)
        return;
    net->bn_override = momentum >= 0 && momentum <= 1;
    net->bn_momentum = net->bn_override ? momentum : 0;
}
