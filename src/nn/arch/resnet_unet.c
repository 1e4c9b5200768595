/* A segmentation network on a ResNet encoder with U-Net skips, as segmentation_models_pytorch's
 * Unet (Iakubovskii, 2019) on a torchvision ResNet, optionally with triplet attention in every
 * encoder block (Misra et al., WACV 2021: the sciatic-nerve ultrasound recipe uses ResNet-50 +
 * triplet attention):
 *   encoder.*: the ResNet trunk of arch/resnet.c (torchvision names under "encoder."), features at
 *     strides 2 (stem, after ReLU), 4, 8, 16, 32 (layer1..4)
 *   decoder.blocks.i (i = 0..4), channels decoder_base * {16, 8, 4, 2, 1}: resize to the next skip's
 *     size (the input's for block 4), concat the skip (layer3, layer2, layer1, stem; none for
 *     block 4), then twice conv 3x3 (no bias) -> BN -> ReLU ("conv1.0", "conv1.1", "conv2.0",
 *     "conv2.1", as smp's Conv2dReLU)
 *   segmentation_head.0: conv 3x3 with bias -> num_classes logits at the input's size.
 * Why U-Net skips and not an FCN / DeepLab head: the structures are small (a sciatic nerve is a
 * few hundred pixels of a 473x473 frame) and their boundaries are what the Dice rewards; the
 * stride-2 and stride-4 skips put full-resolution edges back, where DeepLabv3's output stride 8
 * and x8 bilinear blur them, and the dilated layer3/4 it needs cost about 4x the encoder FLOPs.
 * smp resizes with nearest x2, which only fits sizes divisible by 32; here each resize goes to the
 * skip's exact size (nearest-exact, equal to nearest x2 when the sizes divide), so 473x473 works.
 * Registry entry "resnet_unet". */
#include "arch.h"

#include <stdio.h>
#include <string.h>

typedef struct ru_cfg {
    int in_channels, num_classes, encoder_depth, width, triplet_attention, decoder_base, bilinear;
} ru_cfg;

static int conv_bn_relu(dolor_net *g, const char *pre, int x, int cout)
{
    char a[96], b[96];
    dolor_conv_params c = {.out_channels = cout, .kernel = {3, 3}, .padding = {1, 1}};
    snprintf(a, sizeof a, "%s.0", pre);
    snprintf(b, sizeof b, "%s.1", pre);
    return dolor_graph_batch_norm(g, b, dolor_graph_conv(g, a, x, &c), 1);
}

static dolor_status ru_create(const ru_cfg *c, dolor_net **out)
{
    if (c->encoder_depth != 18 && c->encoder_depth != 34 && c->encoder_depth != 50 && c->encoder_depth != 101 &&
        c->encoder_depth != 10)
        return dolor_error(DOLOR_EINVAL, "resnet_unet config: \"encoder_depth\" %d is not 10, 18, 34, 50 or 101",
                           c->encoder_depth);
    if (c->in_channels < 1 || c->in_channels > 64 || c->num_classes < 1 || c->num_classes > 256 || c->width < 1 ||
        c->width > 256 || c->decoder_base < 1 || c->decoder_base > 256 || (unsigned)c->triplet_attention > 1 ||
        (unsigned)c->bilinear > 1)
        return dolor_error(DOLOR_EINVAL,
                           "resnet_unet config: in_channels %d (1..64), num_classes %d (1..256), width %d (1..256), "
                           "decoder_base %d (1..256), triplet_attention %d (0 or 1) out of range",
                           c->in_channels, c->num_classes, c->width, c->decoder_base, c->triplet_attention);
    dolor_net *g;
    dolor_status s = nn_graph_create(&g);
    if (s)
        return s;
    snprintf(g->arch, sizeof g->arch, "resnet_unet");
    int64_t d[4] = {1, c->in_channels, 64, 64}; /* nominal; any size runs */
    int x = dolor_graph_input(g, 4, d), f[5];
    int y = nn_resnet_encoder(g, "encoder.", x, c->encoder_depth, c->width, 2, c->triplet_attention, f);
    for (int i = 0; i < 5; i++) {
        int skip = i < 4 ? f[3 - i] : -1;
        char pre[64];
        y = dolor_graph_upsample_to(g, y, i < 4 ? skip : x, c->bilinear);
        if (i < 4) {
            int cat[2] = {y, skip};
            y = dolor_graph_concat(g, cat, 2);
        }
        int ch = c->decoder_base << (4 - i);
        snprintf(pre, sizeof pre, "decoder.blocks.%d.conv1", i);
        y = conv_bn_relu(g, pre, y, ch);
        snprintf(pre, sizeof pre, "decoder.blocks.%d.conv2", i);
        y = conv_bn_relu(g, pre, y, ch);
    }
    dolor_conv_params h = {.out_channels = c->num_classes, .kernel = {3, 3}, .padding = {1, 1}, .bias = 1};
    y = dolor_graph_conv(g, "segmentation_head.0", y, &h);
    dolor_graph_output(g, y, "logits");
    return nn_arch_finish(g, c, sizeof *c, out);
}

static dolor_status ru_from_json(nn_kv *kv, int n, dolor_net **out)
{
    ru_cfg c = {3, 2, 50, 64, 0, 16, 0};
    const char *up = NULL;
    dolor_status s;
    if ((s = nn_kv_int(kv, n, "resnet_unet", "in_channels", &c.in_channels)) ||
        (s = nn_kv_int(kv, n, "resnet_unet", "num_classes", &c.num_classes)) ||
        (s = nn_kv_int(kv, n, "resnet_unet", "encoder_depth", &c.encoder_depth)) ||
        (s = nn_kv_int(kv, n, "resnet_unet", "width", &c.width)) ||
        (s = nn_kv_int(kv, n, "resnet_unet", "triplet_attention", &c.triplet_attention)) ||
        (s = nn_kv_int(kv, n, "resnet_unet", "decoder_base", &c.decoder_base)) ||
        (s = nn_kv_str(kv, n, "resnet_unet", "upsample", &up)) || (s = nn_kv_unused(kv, n, "resnet_unet")))
        return s;
    if (up && strcmp(up, "nearest") && strcmp(up, "bilinear"))
        return dolor_error(DOLOR_EINVAL, "resnet_unet config: \"upsample\" \"%s\" is not \"nearest\" or \"bilinear\"", up);
    c.bilinear = up && !strcmp(up, "bilinear");
    return ru_create(&c, out);
}

static dolor_status ru_to_json(const dolor_net *net, char *buf, size_t n)
{
    ru_cfg c;
    memcpy(&c, net->arch_cfg, sizeof c);
    int k = snprintf(buf, n,
                     "{\"in_channels\": %d, \"num_classes\": %d, \"encoder_depth\": %d, \"width\": %d, "
                     "\"triplet_attention\": %d, \"decoder_base\": %d, \"upsample\": \"%s\"}",
                     c.in_channels, c.num_classes, c.encoder_depth, c.width, c.triplet_attention, c.decoder_base,
                     c.bilinear ? "bilinear" : "nearest");
    if (k < 0 || (size_t)k >= n)
        return dolor_error(DOLOR_EINVAL, "resnet_unet: config JSON needs %d bytes, the buffer has %zu", k + 1, n);
    return DOLOR_OK;
}

const nn_arch nn_arch_resnet_unet = {
    "resnet_unet",
    "segmentation on a ResNet encoder with U-Net skips (smp Unet names; any input size)\n"
    "  in_channels (3), num_classes (2), encoder_depth (50: 10, 18, 34, 50, 101), width (64),\n"
    "  triplet_attention (0; 1: in every encoder block, Misra et al. 2021), decoder_base (16: decoder\n"
    "  channels 256, 128, 64, 32, 16), upsample (\"nearest\" or \"bilinear\", to each skip's size)",
    ru_from_json, ru_to_json};
