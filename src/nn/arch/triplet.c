/* Triplet attention (Misra, Nalamada, Arasanipalai & Hou, "Rotate to Attend: Convolutional
 * Triplet Attention Module", WACV 2021), as the authors' TripletAttention module: three
 * attention gates, each Z-pool -> conv 7x7 (2 -> 1, padding 3, no bias) -> BatchNorm -> sigmoid
 * -> x * gate, on x rotated so that the gate spans (C, W) ["cw": permute(0, 2, 1, 3)], (H, C)
 * ["hc": permute(0, 3, 2, 1)] and (H, W) ["hw": x itself]; the three outputs rotated back and
 * averaged. Tensor names as the authors' module (<name>.cw.conv.conv.weight,
 * <name>.cw.conv.bn.weight, ...), with their BatchNorm momentum 0.01. */
#include "../nn_internal.h"

#include <stdio.h>

static int gate(dolor_net *g, const char *name, const char *branch, int x)
{
    char n[96];
    dolor_conv_params c = {.out_channels = 1, .kernel = {7, 7}, .padding = {3, 3}};
    snprintf(n, sizeof n, "%s%s%s.conv.conv", name && *name ? name : "", name && *name ? "." : "", branch);
    int v = dolor_graph_conv(g, n, dolor_graph_zpool(g, x), &c);
    snprintf(n, sizeof n, "%s%s%s.conv.bn", name && *name ? name : "", name && *name ? "." : "", branch);
    v = dolor_graph_activation(g, nn_add_bn_momentum(g, n, v, 0, 0.01f), DOLOR_ACT_SIGMOID, 0.f);
    return dolor_graph_mul(g, x, v);
}

int dolor_graph_triplet_attention(dolor_net *g, const char *name, int x)
{
    static const int p1[4] = {0, 2, 1, 3}, p2[4] = {0, 3, 2, 1};
    int a = dolor_graph_permute(g, gate(g, name, "cw", dolor_graph_permute(g, x, p1, 4)), p1, 4);
    int b = dolor_graph_permute(g, gate(g, name, "hc", dolor_graph_permute(g, x, p2, 4)), p2, 4);
    int c = gate(g, name, "hw", x);
    return dolor_graph_scale(g, dolor_graph_add(g, dolor_graph_add(g, c, a), b), 1.f / 3.f);
}
