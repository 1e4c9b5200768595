/*
 * Private: a small static graph of layers run with oneDNN. struct dolor_net is such a graph; the
 * U-Net builder (arch/unet.c) and the per-layer tests (tests/test_nn.c) build graphs with the
 * nn_add_* functions, then nn_graph_finalize() allocates the parameter buffers.
 *
 * Values are activations (ids from nn_add_*). Every op's output is a new value. Inputs are plain
 * NCHW; the output is returned plain NCHW; everything in between keeps the layout oneDNN chooses.
 * Spatial size of a value = input size * 2^-level (pool: level+1; deconv/upsample: level-1).
 */
#ifndef DOLOR_NN_INTERNAL_H
#define DOLOR_NN_INTERNAL_H

#include "dolor/core.h"
#include "dolor/nn.h"

#include <oneapi/dnnl/dnnl.h>

#define NN_MAX_INPUTS 4

typedef enum nn_op_kind {
    NN_OP_CONV = 0,  /* Conv2d(cin, cout, k, stride 1, padding pad, bias) */
    NN_OP_DECONV,    /* ConvTranspose2d(cin, cout, 2, stride 2, bias) */
    NN_OP_BN,        /* BatchNorm2d(c) (eps 1e-5, momentum 0.1), optionally fused with ReLU */
    NN_OP_RELU,      /* ReLU */
    NN_OP_POOL,      /* MaxPool2d(2, 2) */
    NN_OP_UPSAMPLE,  /* Upsample(scale 2, bilinear, align_corners=False) */
    NN_OP_CONCAT     /* cat([a, b], dim=1) */
} nn_op_kind;

typedef struct nn_tensor_info {
    char name[64];
    int ndim;
    int64_t shape[4];
    int is_buffer;
    size_t offset, numel;
} nn_tensor_info;

typedef struct nn_op {
    nn_op_kind kind;
    int in[2], nin, out;
    int cin, cout, k, pad, has_bias, relu;
    int out_like; /* conv/deconv feeding a concat: value whose layout the output should take, or -1 */
    int t_w, t_b, t_rm, t_rv; /* tensor indices, -1 if none */
} nn_op;

typedef struct nn_value {
    int c, level;
    int producer;  /* op index, -1 for a graph input */
    int input_idx; /* index among graph inputs, or -1 */
} nn_value;

struct nn_plan;

struct dolor_net {
    dolor_unet_config cfg;
    int is_unet;
    nn_op *ops;
    int nops, cap_ops;
    nn_value *vals;
    int nvals, cap_vals;
    int inputs[NN_MAX_INPUTS], ninputs;
    int output;
    int need_input_grad; /* layer tests: compute d(loss)/d(inputs) too */
    int max_level;
    nn_tensor_info *tensors;
    int ntensors, cap_tensors;
    size_t nparams, nbuffers;
    float *params, *grads, *buffers;
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    struct nn_plan *plan[2]; /* [0] inference, [1] training */
    int trained_ready;       /* a training forward ran and backward may follow */
};

/* Graph building. Each returns the new value id, or -1 on allocation failure / bad argument
 * (the error is recorded; nn_graph_finalize then fails). name is the module name for the
 * tensors (e.g. "enc0.conv1" -> "enc0.conv1.weight"). */
dolor_status nn_graph_create(dolor_net **out);
int nn_add_input(dolor_net *g, int channels);
int nn_add_conv(dolor_net *g, const char *name, int in, int cout, int k, int pad, int bias);
int nn_add_deconv(dolor_net *g, const char *name, int in, int cout, int bias);
int nn_add_bn(dolor_net *g, const char *name, int in, int relu);
int nn_add_relu(dolor_net *g, int in);
int nn_add_pool(dolor_net *g, int in);
int nn_add_upsample(dolor_net *g, int in);
int nn_add_concat(dolor_net *g, int a, int b);
/* Sets the output value and allocates params/grads/buffers (zeroed; BN running_var 1). */
dolor_status nn_graph_finalize(dolor_net *g, int output);

/* Generic forward/backward on plain NCHW tensors: inputs[i] is [N, C_i, H_i, W_i] (all at the
 * size of level 0: H_i = H), out [N, C_out, H_out, W_out]. */
dolor_status nn_graph_forward(dolor_net *g, const dolor_tensor *const *inputs, dolor_tensor *out, int training);
dolor_status nn_graph_backward(dolor_net *g, const dolor_tensor *dout);
/* After backward with need_input_grad = 1: d(loss)/d(input i), plain NCHW, NULL if none. */
const float *nn_graph_input_grad(const dolor_net *g, int i);

/* Bytes held by the current plans (activations, diffs, workspaces, scratchpad). */
size_t nn_graph_plan_bytes(const dolor_net *g);
/* Number of reorders of activations in the current training (1) or inference (0) plan, besides
 * the input copies and the output / output-gradient reorders; -1 if no such plan. */
int nn_graph_activation_reorders(const dolor_net *g, int training);
/* The oneDNN memory descriptor of value v in the current plan (NULL if none). */
const dnnl_memory_desc_t *nn_graph_value_md(const dolor_net *g, int training, int v);

#endif
