/* U-Net builder (Ronneberger, Fischer & Brox 2015, "U-Net: Convolutional Networks for Biomedical
 * Image Segmentation", with padded convolutions and BatchNorm) and the public dolor_net API. The
 * module names match class UNet in tools/gen_nn_fixtures.py, so the state_dict names agree. */
#include "../nn_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void dolor_unet_config_default(dolor_unet_config *cfg)
{
    cfg->in_channels = 1;
    cfg->num_classes = 2;
    cfg->base_channels = 16;
    cfg->depth = 4;
    cfg->upsample = DOLOR_UP_TRANSPOSED;
}

/* conv3x3(no bias) -> BN -> ReLU, twice (BN and ReLU fused in one oneDNN primitive). */
static int double_conv(dolor_net *g, const char *name, int in, int c)
{
    char n[48];
    snprintf(n, sizeof n, "%s.conv1", name);
    int v = nn_add_conv(g, n, in, c, 3, 1, 0);
    snprintf(n, sizeof n, "%s.bn1", name);
    v = v < 0 ? -1 : nn_add_bn(g, n, v, 1);
    snprintf(n, sizeof n, "%s.conv2", name);
    v = v < 0 ? -1 : nn_add_conv(g, n, v, c, 3, 1, 0);
    snprintf(n, sizeof n, "%s.bn2", name);
    return v < 0 ? -1 : nn_add_bn(g, n, v, 1);
}

dolor_status dolor_unet_create(const dolor_unet_config *cfg, dolor_net **out)
{
    *out = NULL;
    if (!cfg)
        return dolor_error(DOLOR_EINVAL, "unet: config is NULL");
    if (cfg->in_channels < 1 || cfg->num_classes < 1 || cfg->base_channels < 1 || cfg->depth < 1)
        return dolor_error(DOLOR_EINVAL,
                           "unet: in_channels %d, num_classes %d, base_channels %d, depth %d must all be >= 1",
                           cfg->in_channels, cfg->num_classes, cfg->base_channels, cfg->depth);
    if (cfg->depth > 8)
        return dolor_error(DOLOR_EINVAL, "unet: depth %d > 8", cfg->depth);
    if ((int64_t)cfg->base_channels << cfg->depth > 65536 || cfg->in_channels > 65536 || cfg->num_classes > 65536)
        return dolor_error(DOLOR_EINVAL, "unet: base_channels %d * 2^depth %d too large", cfg->base_channels,
                           cfg->depth);
    if (cfg->upsample != DOLOR_UP_TRANSPOSED && cfg->upsample != DOLOR_UP_BILINEAR)
        return dolor_error(DOLOR_EINVAL, "unet: upsample %d is not DOLOR_UP_TRANSPOSED (0) or DOLOR_UP_BILINEAR (1)",
                           (int)cfg->upsample);
    dolor_net *g;
    dolor_status s = nn_graph_create(&g);
    if (s)
        return s;
    g->cfg = *cfg;
    g->is_unet = 1;
    int D = cfg->depth, skip[9];
    int v = nn_add_input(g, cfg->in_channels);
    char name[32];
    for (int l = 0; l < D && v >= 0; l++) {
        snprintf(name, sizeof name, "enc%d", l);
        v = double_conv(g, name, v, cfg->base_channels << l);
        skip[l] = v;
        v = v < 0 ? -1 : nn_add_pool(g, v);
    }
    v = v < 0 ? -1 : double_conv(g, "bottleneck", v, cfg->base_channels << D);
    for (int l = D - 1; l >= 0 && v >= 0; l--) {
        int c = cfg->base_channels << l;
        if (cfg->upsample == DOLOR_UP_TRANSPOSED) {
            snprintf(name, sizeof name, "up%d", l);
            v = nn_add_deconv(g, name, v, c, 1);
        } else {
            snprintf(name, sizeof name, "up%d.conv", l);
            v = nn_add_upsample(g, v);
            v = v < 0 ? -1 : nn_add_conv(g, name, v, c, 1, 0, 1);
        }
        v = v < 0 ? -1 : nn_add_concat(g, skip[l], v);
        snprintf(name, sizeof name, "dec%d", l);
        v = v < 0 ? -1 : double_conv(g, name, v, c);
    }
    v = v < 0 ? -1 : nn_add_conv(g, "head", v, cfg->num_classes, 1, 0, 1);
    s = nn_graph_finalize(g, v);
    if (s) {
        dolor_net_free(g);
        return s;
    }
    *out = g;
    return DOLOR_OK;
}

const dolor_unet_config *dolor_net_config(const dolor_net *net) { return &net->cfg; }
size_t dolor_net_num_params(const dolor_net *net) { return net->nparams; }
float *dolor_net_params(dolor_net *net) { return net->params; }
float *dolor_net_grads(dolor_net *net) { return net->grads; }
size_t dolor_net_num_buffers(const dolor_net *net) { return net->nbuffers; }
float *dolor_net_buffers(dolor_net *net) { return net->buffers; }
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
    for (int k = 0; k < t->ndim; k++)
        out->shape[k] = t->shape[k];
    out->is_buffer = t->is_buffer;
    out->offset = t->offset;
    out->numel = t->numel;
    return DOLOR_OK;
}

dolor_status dolor_net_init(dolor_net *net, uint64_t seed)
{
    dolor_rng rng;
    dolor_rng_seed(&rng, seed);
    for (int oi = 0; oi < net->nops; oi++) {
        const nn_op *op = &net->ops[oi];
        if (op->kind == NN_OP_CONV || op->kind == NN_OP_DECONV) {
            /* torch: fan_in = weight.size(1) * k * k ([O,I,k,k] for Conv2d, [I,O,k,k] for ConvTranspose2d) */
            const nn_tensor_info *tw = &net->tensors[op->t_w];
            double fan_in = (double)tw->shape[1] * op->k * op->k;
            double bound = 1.0 / sqrt(fan_in); /* kaiming_uniform(a=sqrt(5)): sqrt(6/((1+5) fan_in)) */
            for (size_t j = 0; j < tw->numel; j++)
                net->params[tw->offset + j] = (float)((2 * dolor_rng_uniform(&rng) - 1) * bound);
            if (op->t_b >= 0) {
                const nn_tensor_info *tb = &net->tensors[op->t_b];
                for (size_t j = 0; j < tb->numel; j++)
                    net->params[tb->offset + j] = (float)((2 * dolor_rng_uniform(&rng) - 1) * bound);
            }
        } else if (op->kind == NN_OP_BN) {
            const nn_tensor_info *t[4] = {&net->tensors[op->t_w], &net->tensors[op->t_b], &net->tensors[op->t_rm],
                                          &net->tensors[op->t_rv]};
            for (size_t j = 0; j < t[0]->numel; j++) {
                net->params[t[0]->offset + j] = 1.f;
                net->params[t[1]->offset + j] = 0.f;
                net->buffers[t[2]->offset + j] = 0.f;
                net->buffers[t[3]->offset + j] = 1.f;
            }
        }
    }
    memset(net->grads, 0, net->nparams * sizeof(float));
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
