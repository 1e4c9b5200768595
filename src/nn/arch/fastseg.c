/* A lightweight real-time segmenter for endoscopic video: depthwise-separable convolutions
 * (MobileNet, Howard et al. 2017) in a four-stage encoder, an LR-ASPP-style global context gate
 * (MobileNetV3, Howard et al. 2019) and a decoder that adds projected skips back at strides 8, 4
 * and 2 (as FPN / LR-ASPP do, cheaper than concatenation), then bilinear resize of the logits to
 * the input's size. With w = width (default 32), on [N, in, H, W]:
 *   stem:   conv 3x3 stride 2 (in -> w, no bias) -> BN -> ReLU                       stride 2  (f1)
 *   enc1:   ds(w -> 2w, stride 2), ds(2w -> 2w)                                      stride 4  (f2)
 *   enc2:   ds(2w -> 4w, stride 2), ds(4w -> 4w)                                     stride 8  (f3)
 *   enc3:   ds(4w -> 8w, stride 2), ds(8w -> 8w, dilation 2), ds(8w -> 8w, dilation 4)  stride 16
 *   gate:   enc3 * sigmoid(conv 1x1 with bias (global average pool(enc3)))           (context)
 *   dec2:   resize(conv 1x1 (8w -> 4w) + BN) to f3, + f3, ds(4w -> 4w)
 *   dec1:   resize(conv 1x1 (4w -> 2w) + BN) to f2, + f2, ds(2w -> 2w)
 *   dec0:   resize(conv 1x1 (2w -> w) + BN) to f1, + f1, ds(w -> w)
 *   head:   conv 1x1 with bias (w -> num_classes), bilinear resize to the input's size
 * ds(a -> b, stride s, dilation d) = depthwise conv 3x3 (groups a) -> BN -> ReLU -> conv 1x1 (a -> b)
 * -> BN -> ReLU; tensor names "<stage>.<i>.dw.{0,1}", "<stage>.<i>.pw.{0,1}" (conv, BN).
 * At 256x256, width 32: 0.379 GFLOPs per frame (2 x the multiply-adds of its convolutions, counted on the
 * PyTorch twin) and 341,220 parameters.
 * Registry entry "fastseg". */
#include "arch.h"

#include <stdio.h>
#include <string.h>

typedef struct fs_cfg {
    int in_channels, num_classes, width;
} fs_cfg;

static int conv_bn(dolor_net *g, const char *pre, int x, int cout, int k, int stride, int dil, int groups, int relu)
{
    char a[96], b[96];
    dolor_conv_params c = {.out_channels = cout, .groups = groups};
    for (int i = 0; i < 2; i++) {
        c.kernel[i] = k;
        c.stride[i] = stride;
        c.dilation[i] = dil;
        c.padding[i] = dil * (k / 2);
    }
    snprintf(a, sizeof a, "%s.0", pre);
    snprintf(b, sizeof b, "%s.1", pre);
    return dolor_graph_batch_norm(g, b, dolor_graph_conv(g, a, x, &c), relu);
}

static int ds(dolor_net *g, const char *stage, int i, int x, int cin, int cout, int stride, int dil)
{
    char pre[64];
    snprintf(pre, sizeof pre, "%s.%d.dw", stage, i);
    x = conv_bn(g, pre, x, cin, 3, stride, dil, cin, 1);
    snprintf(pre, sizeof pre, "%s.%d.pw", stage, i);
    return conv_bn(g, pre, x, cout, 1, 1, 1, 1, 1);
}

/* resize(proj(x)) to skip's size, + skip, one ds block */
static int up_add(dolor_net *g, const char *stage, int x, int skip, int cout)
{
    char pre[64];
    snprintf(pre, sizeof pre, "%s.proj", stage);
    x = dolor_graph_upsample_to(g, conv_bn(g, pre, x, cout, 1, 1, 1, 1, 0), skip, 1);
    return ds(g, stage, 0, dolor_graph_add(g, x, skip), cout, cout, 1, 1);
}

static dolor_status fs_create(const fs_cfg *c, dolor_net **out)
{
    if (c->in_channels < 1 || c->in_channels > 64 || c->num_classes < 1 || c->num_classes > 256 || c->width < 1 ||
        c->width > 256)
        return dolor_error(DOLOR_EINVAL, "fastseg config: in_channels %d (1..64), num_classes %d (1..256), width %d "
                           "(1..256) out of range", c->in_channels, c->num_classes, c->width);
    dolor_net *g;
    dolor_status s = nn_graph_create(&g);
    if (s)
        return s;
    snprintf(g->arch, sizeof g->arch, "fastseg");
    int w = c->width;
    int64_t d[4] = {1, c->in_channels, 64, 64}; /* nominal; any size runs */
    int x = dolor_graph_input(g, 4, d);
    int f1 = conv_bn(g, "stem", x, w, 3, 2, 1, 1, 1);
    int f2 = ds(g, "enc1", 1, ds(g, "enc1", 0, f1, w, 2 * w, 2, 1), 2 * w, 2 * w, 1, 1);
    int f3 = ds(g, "enc2", 1, ds(g, "enc2", 0, f2, 2 * w, 4 * w, 2, 1), 4 * w, 4 * w, 1, 1);
    int e = ds(g, "enc3", 0, f3, 4 * w, 8 * w, 2, 1);
    e = ds(g, "enc3", 1, e, 8 * w, 8 * w, 1, 2);
    e = ds(g, "enc3", 2, e, 8 * w, 8 * w, 1, 4);
    dolor_conv_params gc = {.out_channels = 8 * w, .kernel = {1, 1}, .bias = 1};
    int gate = dolor_graph_activation(g, dolor_graph_conv(g, "gate", dolor_graph_global_avg_pool(g, e), &gc),
                                      DOLOR_ACT_SIGMOID, 0.f);
    e = dolor_graph_mul(g, e, gate);
    int y = up_add(g, "dec2", e, f3, 4 * w);
    y = up_add(g, "dec1", y, f2, 2 * w);
    y = up_add(g, "dec0", y, f1, w);
    dolor_conv_params h = {.out_channels = c->num_classes, .kernel = {1, 1}, .bias = 1};
    y = dolor_graph_upsample_to(g, dolor_graph_conv(g, "head", y, &h), x, 1);
    dolor_graph_output(g, y, "logits");
    return nn_arch_finish(g, c, sizeof *c, out);
}

static dolor_status fs_from_json(nn_kv *kv, int n, dolor_net **out)
{
    fs_cfg c = {1, 4, 32};
    dolor_status s;
    if ((s = nn_kv_int(kv, n, "fastseg", "in_channels", &c.in_channels)) ||
        (s = nn_kv_int(kv, n, "fastseg", "num_classes", &c.num_classes)) ||
        (s = nn_kv_int(kv, n, "fastseg", "width", &c.width)) || (s = nn_kv_unused(kv, n, "fastseg")))
        return s;
    return fs_create(&c, out);
}

static dolor_status fs_to_json(const dolor_net *net, char *buf, size_t n)
{
    fs_cfg c;
    memcpy(&c, net->arch_cfg, sizeof c);
    int k = snprintf(buf, n, "{\"in_channels\": %d, \"num_classes\": %d, \"width\": %d}", c.in_channels, c.num_classes,
                     c.width);
    if (k < 0 || (size_t)k >= n)
        return dolor_error(DOLOR_EINVAL, "fastseg: config JSON needs %d bytes, the buffer has %zu", k + 1, n);
    return DOLOR_OK;
}

const nn_arch nn_arch_fastseg = {
    "fastseg",
    "lightweight real-time segmenter (depthwise-separable encoder, context gate, additive skips)\n"
    "  in_channels (1), num_classes (4), width (32: channels 32, 64, 128, 256 by stage)",
    fs_from_json, fs_to_json};
