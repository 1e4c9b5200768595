/* Triplet attention (Misra, Nalamada, Arasanipalai & Hou, "Rotate to Attend: Convolutional
 * Triplet Attention Module", WACV 2021), as the authors' TripletAttention module: three
 * attention gates, each Z-pool -> conv 7x7 (2 -> 1, padding 3, no bias) -> BatchNorm -> sigmoid
 * -> x * gate, on x rotated so that the gate spans (C, W) ["cw": permute(0, 2, 1, 3)], (H, C)
 * ["hc": permute(0, 3, 2, 1)] and (H, W) ["hw": x itself]; the three outputs rotated back and
 * averaged. The rotations are never materialised: Z-pool reads the pooled axis of x in place and
 * one triplet_gate op applies the three gates (src/nn/ops/attention.c). Tensor names as the authors' module (<name>.cw.conv.conv.weight,
 * <name>.cw.conv.bn.weight, ...), with their BatchNorm momentum 0.01. */
#include "../nn_internal.h"

#include <stdio.h>

/* One branch: Z-pool over axis perm[1] of x (the other two kept in the order perm[2], perm[3], as
 * zpool(x.permute(perm)) without the permuted copy) -> conv 7x7 2 -> 1 -> BN -> sigmoid: the
 * branch's gate [N, 1, x.shape[perm[2]], x.shape[perm[3]]]. */
static int gate(dolor_net *g, const char *name, const char *branch, int x, const int perm[4])
{
    char n[96];
    nn_params zp = {0};
    for (int i = 0; i < 4; i++)
        zp.perm.perm[i] = perm[i];
    dolor_conv_params c = {.out_channels = 1, .kernel = {7, 7}, .padding = {3, 3}};
    snprintf(n, sizeof n, "%s%s%s.conv.conv", name && *name ? name : "", name && *name ? "." : "", branch);
    int v = dolor_graph_conv(g, n, nn_add_op(g, NN_OP_ZPOOL, NULL, &x, 1, &zp), &c);
    snprintf(n, sizeof n, "%s%s%s.conv.bn", name && *name ? name : "", name && *name ? "." : "", branch);
    return dolor_graph_activation(g, nn_add_bn_momentum(g, n, v, 0, 0.01f), DOLOR_ACT_SIGMOID, 0.f);
}

/* The authors' branches: cw = x.permute(0, 2, 1, 3) pooled over H, gate over (C, W); hc =
 * x.permute(0, 3, 2, 1) pooled over W, gate over (H, C); hw = x pooled over C, gate over (H, W).
 * x * gate rotated back and averaged is one triplet_gate op (ops/attention.c). */
int dolor_graph_triplet_attention(dolor_net *g, const char *name, int x)
{
    static const int p_cw[4] = {0, 2, 1, 3}, p_hc[4] = {0, 3, 2, 1}, p_hw[4] = {0, 1, 2, 3};
    int in[4] = {x};
    in[1] = gate(g, name, "cw", x, p_cw); /* one statement each: the tensors keep this order */
    in[2] = gate(g, name, "hc", x, p_hc);
    in[3] = gate(g, name, "hw", x, p_hw);
    return nn_add_op(g, NN_OP_TRIPLET_GATE, name, in, 4, NULL);
}
