/* U-Net builder (Ronneberger, Fischer & Brox 2015, "U-Net: Convolutional Networks for Biomedical
 * Image Segmentation", with padded convolutions and BatchNorm), 2D or 3D (3D as Cicek et al. 2016,
 * "3D U-Net: Learning Dense Volumetric Segmentation from Sparse Annotation": the same graph with 3D
 * kernels), and the public dolor_net API. The module names match class UNet in
 * tools/gen_nn_fixtures.py, so the state_dict names agree. */
#include "arch.h"

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
    cfg->spatial_dims = 2;
}

/* conv3x3 (3x3x3 in 3D; no bias) -> BN -> ReLU, twice (BN and ReLU fused in one oneDNN primitive). */
static int double_conv(dolor_net *g, const char *name, int in, int c)
{
    char n[48];
    snprintf(n, sizeof n, "%s.conv1", name);
    int v = nn_add_conv(g, n, in, c, 3, 1, 0);
    snprintf(n, sizeof n, "%s.bn1", name);
    v = nn_add_bn(g, n, v, 1);
    snprintf(n, sizeof n, "%s.conv2", name);
    v = nn_add_conv(g, n, v, c, 3, 1, 0);
    snprintf(n, sizeof n, "%s.bn2", name);
    return nn_add_bn(g, n, v, 1);
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
    if (cfg->spatial_dims != 0 && cfg->spatial_dims != 2 && cfg->spatial_dims != 3)
        return dolor_error(DOLOR_EINVAL, "unet: spatial_dims %d is not 2 or 3", cfg->spatial_dims);
    if (cfg->upsample != DOLOR_UP_TRANSPOSED && cfg->upsample != DOLOR_UP_BILINEAR)
        return dolor_error(DOLOR_EINVAL, "unet: upsample %d is not DOLOR_UP_TRANSPOSED (0) or DOLOR_UP_BILINEAR (1)",
                           (int)cfg->upsample);
    dolor_net *g;
    dolor_status s = nn_graph_create(&g);
    if (s)
        return s;
    g->cfg = *cfg;
    if (g->cfg.spatial_dims == 0)
        g->cfg.spatial_dims = 2; /* a zero-initialised config from before the field existed */
    int nsp = g->cfg.spatial_dims;
    g->is_unet = 1;
    snprintf(g->arch, sizeof g->arch, "unet");
    int D = cfg->depth, skip[9];
    g->size_multiple = 1 << D;
    /* nominal input [1, C, 2^D, 2^D] ([1, C, 2^D, 2^D, 2^D] in 3D; the smallest the net takes);
       forward re-plans per shape. The ops take their dimensionality from the input, so the same
       calls build Conv3d / BatchNorm3d / MaxPool3d / ConvTranspose3d (or trilinear x2) in 3D.
       Builders keep the first error, so no checks between the calls. */
    int64_t dims[5] = {1, cfg->in_channels, (int64_t)1 << D, (int64_t)1 << D, (int64_t)1 << D};
    int v = nn_add_input_shape(g, 2 + nsp, dims);
    char name[32];
    for (int l = 0; l < D; l++) {
        snprintf(name, sizeof name, "enc%d", l);
        v = double_conv(g, name, v, cfg->base_channels << l);
        skip[l] = v;
        v = nn_add_pool(g, v);
    }
    v = double_conv(g, "bottleneck", v, cfg->base_channels << D);
    for (int l = D - 1; l >= 0; l--) {
        int c = cfg->base_channels << l;
        if (cfg->upsample == DOLOR_UP_TRANSPOSED) {
            snprintf(name, sizeof name, "up%d", l);
            v = nn_add_deconv(g, name, v, c, 1);
        } else {
            snprintf(name, sizeof name, "up%d.conv", l);
            v = nn_add_upsample(g, v);
            v = nn_add_conv(g, name, v, c, 1, 0, 1);
        }
        v = nn_add_concat(g, skip[l], v);
        snprintf(name, sizeof name, "dec%d", l);
        v = double_conv(g, name, v, c);
    }
    v = nn_add_conv(g, "head", v, cfg->num_classes, 1, 0, 1);
    nn_set_output(g, v, "logits");
    s = nn_graph_finalize(g, v);
    if (s) {
        dolor_net_free(g);
        return s;
    }
    *out = g;
    return DOLOR_OK;
}


/* ---- registry entry ---- */

static dolor_status unet_from_json(nn_kv *kv, int n, dolor_net **out)
{
    dolor_unet_config c;
    dolor_unet_config_default(&c);
    const char *up = NULL;
    dolor_status s;
    if ((s = nn_kv_int(kv, n, "unet", "in_channels", &c.in_channels)) ||
        (s = nn_kv_int(kv, n, "unet", "num_classes", &c.num_classes)) ||
        (s = nn_kv_int(kv, n, "unet", "base_channels", &c.base_channels)) ||
        (s = nn_kv_int(kv, n, "unet", "depth", &c.depth)) || (s = nn_kv_str(kv, n, "unet", "upsample", &up)) ||
        (s = nn_kv_int(kv, n, "unet", "spatial_dims", &c.spatial_dims)) ||
        (s = nn_kv_unused(kv, n, "unet")))
        return s;
    if (c.spatial_dims != 2 && c.spatial_dims != 3)
        return dolor_error(DOLOR_EINVAL, "unet config: \"spatial_dims\" %d is not 2 or 3", c.spatial_dims);
    if (up) {
        if (strcmp(up, "transposed") == 0)
            c.upsample = DOLOR_UP_TRANSPOSED;
        else if (strcmp(up, "bilinear") == 0)
            c.upsample = DOLOR_UP_BILINEAR;
        else
            return dolor_error(DOLOR_EINVAL, "unet config: \"upsample\" is \"%s\", not \"transposed\" or \"bilinear\"", up);
    }
    return dolor_unet_create(&c, out);
}

static dolor_status unet_to_json(const dolor_net *net, char *buf, size_t n)
{
    const dolor_unet_config *c = &net->cfg;
    int k = snprintf(buf, n, "{\"in_channels\": %d, \"num_classes\": %d, \"base_channels\": %d, \"depth\": %d, "
                             "\"upsample\": \"%s\", \"spatial_dims\": %d}",
                     c->in_channels, c->num_classes, c->base_channels, c->depth,
                     c->upsample == DOLOR_UP_BILINEAR ? "bilinear" : "transposed", c->spatial_dims);
    if (k < 0 || (size_t)k >= n)
        return dolor_error(DOLOR_EINVAL, "unet: config JSON needs %d bytes, the buffer has %zu", k + 1, n);
    return DOLOR_OK;
}

const nn_arch nn_arch_unet = {
    "unet",
    "U-Net (Ronneberger et al. 2015) with BatchNorm and padded convolutions\n"
    "  in_channels (1), num_classes (2), base_channels (16, doubled per level), depth (4, 2x downsamplings),\n"
    "  upsample (\"transposed\": ConvTranspose2d 2x2 stride 2, or \"bilinear\": x2 + conv 1x1),\n"
    "  spatial_dims (2, or 3: Conv3d / BatchNorm3d / MaxPool3d / ConvTranspose3d or trilinear, same names)",
    unet_from_json, unet_to_json};
