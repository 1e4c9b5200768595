/* Private: the architecture registry (registry.c) and the flat JSON objects its configs use. */
#ifndef DOLOR_NN_ARCH_H
#define DOLOR_NN_ARCH_H

#include "../nn_internal.h"

/* One registry entry. from_json: build from a parsed flat config (missing keys: defaults);
 * to_json: the config of a net it built. */
typedef struct nn_kv {
    char key[48];
    char str[64]; /* string value, or "" */
    double num;   /* number value */
    int is_str, used;
} nn_kv;

typedef struct nn_arch {
    const char *name;
    const char *help;
    dolor_status (*from_json)(nn_kv *kv, int n, dolor_net **out);
    dolor_status (*to_json)(const dolor_net *net, char *buf, size_t n);
} nn_arch;

/* Parse {"key": number | "string", ...} (no nesting, strings without escapes). Errors:
 * DOLOR_EINVAL naming the offset and what was expected, or too many keys. */
dolor_status nn_json_flat(const char *json, nn_kv *kv, int cap, int *n);
/* Integer value of key (absent: *v unchanged). Errors: DOLOR_EINVAL (a string, or not an integer). */
dolor_status nn_kv_int(nn_kv *kv, int n, const char *arch, const char *key, int *v);
/* String value of key (absent: *v unchanged). */
dolor_status nn_kv_str(nn_kv *kv, int n, const char *arch, const char *key, const char **v);
/* The common end of a registry builder: finalize g (on error free it and return the error), keep
 * its config (cfg, size bytes, at most sizeof g->arch_cfg) for to_json, and hand it to *out. */
dolor_status nn_arch_finish(dolor_net *g, const void *cfg, size_t size, dolor_net **out);
/* DOLOR_EINVAL naming the first key no getter used. */
dolor_status nn_kv_unused(const nn_kv *kv, int n, const char *arch);

/* The ResNet trunk of arch/resnet.c (conv1 7x7/2 -> bn1 + ReLU -> max pool 3/2 -> layer1..4) on x with
 * tensor names "<prefix>conv1.weight", "<prefix>layer1.0.conv1.weight", ... (torchvision's); ta: a
 * triplet-attention module in every block (2D only). feats[0] = the stem (stride 2, after ReLU),
 * feats[1..4] = layer1..4 (strides 4, 8, 16, 32). Returns layer4 (or -1, the error kept in g). */
int nn_resnet_encoder(dolor_net *g, const char *prefix, int x, int depth, int width, int nsp, int ta, int feats[5]);
/* Channels of feats[stage] of that trunk. */
int nn_resnet_channels(int depth, int width, int stage);

extern const nn_arch nn_arch_unet, nn_arch_resnet, nn_arch_resnet_unet, nn_arch_fastseg;
extern const nn_arch nn_arch_yolov8; /* arch/yolov8.c */

#endif
