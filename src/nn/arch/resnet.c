/* ResNet classifiers (He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR
 * 2016), 2D with torchvision's module names and structure (v1.5: the stride of a bottleneck on
 * its 3x3 convolution), and 3D the same way (3D kernels, as MedicalNet's classification use of
 * Chen et al., "Med3D", 2019, with shortcut type B: 1x1 convolution + BN where the shape changes;
 * MedicalNet's segmentation variant with dilated layer3/4 is not built here):
 *   conv1 7x7 stride 2 pad 3 -> bn1 -> relu -> maxpool 3 stride 2 pad 1
 *   layer1..4: blocks of BasicBlock (depth 10/18/34) or Bottleneck (50/101), planes
 *   width * {1, 2, 4, 8}, stride 2 from layer2 on
 *   avgpool (global) -> flatten -> fc (num_classes)
 * Registry entry "resnet": {"depth", "in_channels", "num_classes", "spatial_dims", "width"}. */
#include "arch.h"

#include <stdio.h>
#include <string.h>

typedef struct rn_cfg {
    int depth, in_channels, num_classes, spatial_dims, width;
} rn_cfg;

static int conv(dolor_net *g, const char *name, int x, int cout, int k, int stride, int nsp)
{
    dolor_conv_params c = {.out_channels = cout, .groups = 1};
    for (int a = 0; a < nsp; a++) {
        c.kernel[a] = k;
        c.stride[a] = stride;
        c.padding[a] = k / 2;
    }
    return dolor_graph_conv(g, name, x, &c);
}

static int conv_bn(dolor_net *g, const char *pre, const char *cn, const char *bn, int x, int cout, int k, int stride,
                   int nsp, int relu)
{
    char a[96], b[96];
    snprintf(a, sizeof a, "%s.%s", pre, cn);
    snprintf(b, sizeof b, "%s.%s", pre, bn);
    return dolor_graph_batch_norm(g, b, conv(g, a, x, cout, k, stride, nsp), relu);
}

static int block(dolor_net *g, const char *pre, int x, int cin, int planes, int stride, int bottleneck, int nsp, int ta)
{
    int expansion = bottleneck ? 4 : 1, cout = planes * expansion, y;
    if (bottleneck) {
        y = conv_bn(g, pre, "conv1", "bn1", x, planes, 1, 1, nsp, 1);
        y = conv_bn(g, pre, "conv2", "bn2", y, planes, 3, stride, nsp, 1);
        y = conv_bn(g, pre, "conv3", "bn3", y, cout, 1, 1, nsp, 0);
    } else {
        y = conv_bn(g, pre, "conv1", "bn1", x, planes, 3, stride, nsp, 1);
        y = conv_bn(g, pre, "conv2", "bn2", y, planes, 3, 1, nsp, 0);
    }
    if (ta) {
        /* Misra et al.: in every block, on the residual branch before the addition */
        char n[96];
        snprintf(n, sizeof n, "%s.triplet_attention", pre);
        y = dolor_graph_triplet_attention(g, n, y);
    }
    int sc = x;
    if (stride != 1 || cin != cout)
        sc = conv_bn(g, pre, "downsample.0", "downsample.1", x, cout, 1, stride, nsp, 0);
    return dolor_graph_activation(g, dolor_graph_add(g, y, sc), DOLOR_ACT_RELU, 0.f);
}

static const int *blocks_of(int depth)
{
    static const int blocks10[4] = {1, 1, 1, 1}, blocks18[4] = {2, 2, 2, 2}, blocks34[4] = {3, 4, 6, 3},
                     blocks101[4] = {3, 4, 23, 3};
    switch (depth) {
    case 10: return blocks10;
    case 18: return blocks18;
    case 34: case 50: return blocks34;
    case 101: return blocks101;
    default: return NULL;
    }
}

int nn_resnet_channels(int depth, int width, int stage)
{
    return stage == 0 ? width : (width << (stage - 1)) * (depth >= 50 ? 4 : 1);
}

int nn_resnet_encoder(dolor_net *g, const char *prefix, int x, int depth, int width, int nsp, int ta, int feats[5])
{
    const int *nb = blocks_of(depth);
    for (int k = 0; k < 5; k++)
        feats[k] = -1;
    if (ta && nsp != 2)
        return nn_fail(g, DOLOR_EINVAL, "resnet: triplet attention is 2D only (spatial_dims %d)", nsp);
    if (!nb)
        return nn_fail(g, DOLOR_EINVAL, "resnet: depth %d is not 10, 18, 34, 50 or 101", depth);
    int bottleneck = depth >= 50;
    char n1[96], n2[96];
    snprintf(n1, sizeof n1, "%sconv1", prefix);
    snprintf(n2, sizeof n2, "%sbn1", prefix);
    x = dolor_graph_batch_norm(g, n2, conv(g, n1, x, width, 7, 2, nsp), 1);
    feats[0] = x;
    dolor_pool_params mp = {.kernel = {3, 3, 3}, .stride = {2, 2, 2}, .padding = {1, 1, 1}};
    x = dolor_graph_max_pool(g, x, &mp);
    int cin = width;
    for (int l = 0; l < 4; l++) {
        int planes = width << l;
        for (int b = 0; b < nb[l]; b++) {
            char pre[64];
            snprintf(pre, sizeof pre, "%slayer%d.%d", prefix, l + 1, b);
            x = block(g, pre, x, cin, planes, b == 0 && l > 0 ? 2 : 1, bottleneck, nsp, ta);
            cin = planes * (bottleneck ? 4 : 1);
        }
        feats[l + 1] = x;
    }
    return x;
}

static dolor_status resnet_create(const rn_cfg *c, dolor_net **out)
{
    if (!blocks_of(c->depth))
        return dolor_error(DOLOR_EINVAL, "resnet config: \"depth\" %d is not 10, 18, 34, 50 or 101", c->depth);
    if (c->spatial_dims != 2 && c->spatial_dims != 3)
        return dolor_error(DOLOR_EINVAL, "resnet config: \"spatial_dims\" %d is not 2 or 3", c->spatial_dims);
    if (c->in_channels < 1 || c->num_classes < 1 || c->width < 1 || c->in_channels > 4096 || c->num_classes > 100000 ||
        c->width > 1024)
        return dolor_error(DOLOR_EINVAL, "resnet config: in_channels %d, num_classes %d, width %d out of range",
                           c->in_channels, c->num_classes, c->width);
    dolor_net *g;
    dolor_status s = dolor_graph_create(&g);
    if (s)
        return s;
    snprintf(g->arch, sizeof g->arch, "resnet");
    int nsp = c->spatial_dims;
    int64_t d[5] = {1, c->in_channels, 64, 64, 64}; /* nominal */
    int x = dolor_graph_input(g, 2 + nsp, d);
    int feats[5];
    x = nn_resnet_encoder(g, "", x, c->depth, c->width, nsp, 0, feats);
    x = dolor_graph_linear(g, "fc", dolor_graph_flatten(g, dolor_graph_global_avg_pool(g, x)), c->num_classes, 1);
    dolor_graph_output(g, x, "logits");
    return nn_arch_finish(g, c, sizeof *c, out);
}

static dolor_status resnet_from_json(nn_kv *kv, int n, dolor_net **out)
{
    rn_cfg c = {18, 3, 1000, 2, 64};
    dolor_status s;
    if ((s = nn_kv_int(kv, n, "resnet", "depth", &c.depth)) ||
        (s = nn_kv_int(kv, n, "resnet", "in_channels", &c.in_channels)) ||
        (s = nn_kv_int(kv, n, "resnet", "num_classes", &c.num_classes)) ||
        (s = nn_kv_int(kv, n, "resnet", "spatial_dims", &c.spatial_dims)) ||
        (s = nn_kv_int(kv, n, "resnet", "width", &c.width)) || (s = nn_kv_unused(kv, n, "resnet")))
        return s;
    return resnet_create(&c, out);
}

static dolor_status resnet_to_json(const dolor_net *net, char *buf, size_t n)
{
    rn_cfg c;
    memcpy(&c, net->arch_cfg, sizeof c);
    int k = snprintf(buf, n, "{\"depth\": %d, \"in_channels\": %d, \"num_classes\": %d, \"spatial_dims\": %d, \"width\": %d}",
                     c.depth, c.in_channels, c.num_classes, c.spatial_dims, c.width);
    if (k < 0 || (size_t)k >= n)
        return dolor_error(DOLOR_EINVAL, "resnet: config JSON needs %d bytes, the buffer has %zu", k + 1, n);
    return DOLOR_OK;
}

const nn_arch nn_arch_resnet = {
    "resnet",
    "ResNet classifier (He et al. 2016; torchvision names; 3D as MedicalNet, shortcut B)\n"
    "  depth (18: 10, 18, 34 basic blocks; 50, 101 bottleneck), in_channels (3), num_classes (1000),\n"
    "  spatial_dims (2, or 3 for [N, C, D, H, W] volumes), width (64: channels of the stem and layer1)",
    resnet_from_json, resnet_to_json};
