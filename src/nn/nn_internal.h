/*
 * Private: the network engine. struct dolor_net is a static graph of operations on values; the
 * architecture builders (arch/), the public graph API (include/dolor/nn.h) and the per-operation
 * tests (tests/test_nn.c, tests/test_nn_ops.c) build graphs, then nn_graph_finalize() allocates
 * the parameter buffers.
 *
 * Files, by job:
 *   graph.c      builder: values, operations, tensors, first-error bookkeeping, finalize, init
 *   plan.c       planner: per input shape, shapes of every value, oneDNN primitives and memory,
 *                the flat forward/backward step programs, the gradient-buffer planner
 *   step.c       step interpreter and the forward/backward entry points
 *   ops/NAME.c   one file per family of operations; each defines the nn_op_def of its kinds
 *   ops/table.c  the table of operation kinds (nn_op_defs), checked by a static_assert
 *   arch/NAME.c  architecture builders and their registry
 *
 * Values carry real shapes: ndim (2: [N, F], 4: [N, C, H, W], 5: [N, C, D, H, W]) and dims[5].
 * Shapes are inferred when an operation is added (a mismatch is an error naming the operation and
 * both shapes) from the nominal input shapes given to nn_add_input; a forward call with other
 * input shapes re-infers them for its plan. Graph inputs and outputs are plain row-major
 * (NCHW / NCDHW / NF); everything in between keeps the layout oneDNN chooses.
 */
#ifndef DOLOR_NN_INTERNAL_H
#define DOLOR_NN_INTERNAL_H

#include "dolor/core.h"
#include "dolor/nn.h"

#include <oneapi/dnnl/dnnl.h>

#include <assert.h>

#define NN_MAX_INPUTS 8  /* graph inputs */
#define NN_MAX_OUTPUTS 8 /* graph outputs */
#define NN_OP_MAX_IN 8   /* inputs of one operation (concat) */
#define NN_MAX_DIMS 5

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1

/* Operation kinds. Adding one: a new enumerator here, its nn_op_def in a file under ops/, one line
 * in ops/table.c (see docs/nn.md). */
typedef enum nn_op_kind {
    NN_OP_CONV = 0,   /* ConvNd (nn_conv_params) */
    NN_OP_DECONV,     /* ConvTransposeNd (nn_conv_params) */
    NN_OP_BN,         /* BatchNorm2d / 3d, optionally fused with ReLU (nn_bn_params) */
    NN_OP_RELU,       /* ReLU */
    NN_OP_LEAKY_RELU, /* LeakyReLU(negative_slope = alpha) (nn_act_params) */
    NN_OP_SIGMOID,    /* Sigmoid */
    NN_OP_TANH,       /* Tanh */
    NN_OP_SILU,       /* SiLU: x * sigmoid(x) */
    NN_OP_MAXPOOL,    /* MaxPoolNd(kernel, stride, padding) (nn_pool_params) */
    NN_OP_AVGPOOL,    /* AvgPoolNd(kernel, stride, padding, count_include_pad) (nn_pool_params) */
    NN_OP_GAP,        /* global average pooling: [N, C, ...] -> [N, C, 1, ...] */
    NN_OP_UPSAMPLE,   /* Upsample(scale, nearest or (bi/tri)linear, align_corners=False) (nn_resample_params) */
    NN_OP_CONCAT,     /* cat(inputs, dim=1) */
    NN_OP_SLICE,      /* x[:, c0:c1] (channel split) (nn_slice_params) */
    NN_OP_ADD,        /* a + b, b broadcast to a's shape (or a to b's) */
    NN_OP_MUL,        /* a * b, with the same broadcasting */
    NN_OP_FLATTEN,    /* [N, C, ...] -> [N, C * ...] (torch.flatten(x, 1)) */
    NN_OP_LINEAR,     /* Linear(F, O) on [N, F] (nn_linear_params) */
    NN_OP_PERMUTE,    /* x.permute(perm) with perm[0] = 0 (nn_permute_params) */
    NN_OP_ZPOOL,      /* Z-pool: cat([x.max(1), x.mean(1)], 1) -> [N, 2, ...] (triplet attention); with a
                         permutation p (nn_permute_params, all 0: none) zpool(x.permute(p)) of a 4-D x */
    NN_OP_SCALE,      /* alpha * x (nn_act_params) */
    NN_OP_DROPOUT,    /* Dropout(p): training x * mask / (1 - p), inference x (nn_dropout_params) */
    NN_OP_TRIPLET_GATE, /* x * (g_cw + g_hc + g_hw) / 3 on x [N, C, H, W] and gates [N, 1, C, W], [N, 1, H, C],
                           [N, 1, H, W]: triplet attention's three branches applied and averaged */
    NN_OP_COUNT
} nn_op_kind;

/* ---- per-kind parameters ---- */
typedef struct nn_conv_params {
    int cout;
    int k[3], stride[3], pad[3], dil[3]; /* per spatial axis (D, H, W order; 2D uses [0..1]) */
    int out_pad[3];                      /* transposed convolution: output_padding */
    int groups, bias;
    int out_like; /* value whose layout the output should take (a concat partner), or -1 */
} nn_conv_params;

typedef struct nn_bn_params {
    int relu;       /* fuse a ReLU after the normalisation */
    float momentum; /* running statistics: (1 - m) old + m batch; 0 means torch's 0.1 */
    float eps;      /* added to the variance; 0 means torch's 1e-5 (Ultralytics' Conv uses 1e-3) */
} nn_bn_params;
#define NN_BN_EPS(op) ((op)->p.bn.eps > 0.f ? (op)->p.bn.eps : BN_EPS)

typedef struct nn_act_params {
    float alpha; /* LeakyReLU negative slope */
} nn_act_params;

typedef struct nn_pool_params {
    int k[3], stride[3], pad[3];
    int count_include_pad; /* avg pooling: torch's default 1 */
} nn_pool_params;

typedef enum nn_resample_mode { NN_RESAMPLE_NEAREST = 0, NN_RESAMPLE_LINEAR = 1 } nn_resample_mode;
typedef struct nn_resample_params {
    int mode;        /* nn_resample_mode; linear is bilinear in 2D, trilinear in 3D */
    int scale[3];    /* integer scale per spatial axis */
} nn_resample_params;

typedef struct nn_slice_params {
    int c0, c1; /* channels [c0, c1) */
} nn_slice_params;

typedef struct nn_linear_params {
    int out_features, bias;
} nn_linear_params;

typedef struct nn_permute_params {
    int perm[NN_MAX_DIMS]; /* output axis i is input axis perm[i] (torch.permute); perm[0] = 0 */
} nn_permute_params;

typedef struct nn_dropout_params {
    float p;       /* probability of zeroing an element, [0, 1) */
    uint64_t seed;  /* set by dolor_net_init(); the mask of call t is a hash of (seed, t, element) */
    uint64_t calls; /* training forwards so far (t) */
} nn_dropout_params;

typedef union nn_params {
    nn_conv_params conv;
    nn_bn_params bn;
    nn_act_params act;
    nn_pool_params pool;
    nn_resample_params rs;
    nn_slice_params slice;
    nn_linear_params lin;
    nn_permute_params perm;
    nn_dropout_params drop;
} nn_params;

typedef struct nn_shape {
    int ndim;
    int64_t d[NN_MAX_DIMS];
} nn_shape;

typedef struct nn_tensor_info {
    char name[96];
    int ndim;
    int64_t shape[NN_MAX_DIMS];
    int is_buffer;
    size_t offset, numel;
} nn_tensor_info;

#define NN_MAX_OP_TENSORS 4
typedef struct nn_op {
    nn_op_kind kind;
    int in[NN_OP_MAX_IN], nin, out;
    nn_params p;
    int t[NN_MAX_OP_TENSORS]; /* tensor indices (conv: weight, bias; BN: weight, bias, running mean, var), -1 if none */
    char name[64];            /* module name ("enc0.conv1"), may be empty */
} nn_op;

typedef struct nn_value {
    nn_shape s;    /* at the nominal input shapes */
    int producer;  /* op index, -1 for a graph input */
    int input_idx; /* index among graph inputs, or -1 */
} nn_value;

struct nn_plan;
struct nn_onnx; /* an ONNX graph being written (onnx.h, onnx.c) */

/* One entry per operation kind (ops/table.c). Shapes: infer_shape computes the output shape from
 * the input shapes (an error names the operation and the shapes). add_params declares the op's
 * parameter tensors (at build time, input shapes known); init_params fills them with PyTorch's
 * default initialisation (rng != NULL) or the neutral values a new graph starts with (rng NULL).
 * plan_forward / plan_backward append the op's steps to the plan's programs. export_onnx appends
 * the ONNX nodes that compute the op in inference (through the builder of onnx.h; the last node
 * writes nn_onnx_value(ox, op->out)). NULL add_params / init_params: no parameters; NULL
 * plan_backward: no input gradient (never NULL today); NULL export_onnx: dolor_net_export_onnx
 * refuses the net with DOLOR_EUNSUPPORTED naming the kind (never NULL today). */
typedef struct nn_op_def {
    nn_op_kind kind;
    const char *name;
    int min_inputs, max_inputs;
    dolor_status (*infer_shape)(const nn_op *op, const nn_shape *in, nn_shape *out);
    dolor_status (*add_params)(dolor_net *g, nn_op *op, const nn_shape *in);
    void (*init_params)(dolor_net *g, const nn_op *op, dolor_rng *rng);
    dolor_status (*plan_forward)(dolor_net *g, struct nn_plan *p, int oi);
    dolor_status (*plan_backward)(dolor_net *g, struct nn_plan *p, int oi);
    dolor_status (*export_onnx)(const dolor_net *g, struct nn_onnx *ox, int oi);
} nn_op_def;

extern const nn_op_def *const nn_op_defs[];

struct dolor_net {
    uint64_t params_gen;  /* bumped whenever the parameters may change (inference plans re-prepare) */
    size_t param_limit;   /* finalize refuses more than this many bytes of params + buffers (0: no limit) */
    int bn_override;      /* 1: every batch norm's running statistics use bn_momentum (dolor_net_set_bn_momentum) */
    double bn_momentum;
    char arch[32];        /* registry name ("unet"), "" for a hand-built graph */
    dolor_unet_config cfg; /* the U-Net's config (arch "unet") */
    int arch_cfg[16];      /* other registry architectures: their config struct (ints) */
    int is_unet;
    int size_multiple;    /* input H, W (and D) must be multiples of this (U-Net: 2^depth); 0: any */
    nn_op *ops;
    int nops, cap_ops;
    nn_value *vals;
    int nvals, cap_vals;
    int inputs[NN_MAX_INPUTS], ninputs;
    int outputs[NN_MAX_OUTPUTS], noutputs;
    char out_names[NN_MAX_OUTPUTS][32];
    int output;          /* outputs[0] */
    int need_input_grad; /* layer tests: compute d(loss)/d(inputs) too */
    nn_tensor_info *tensors;
    int ntensors, cap_tensors;
    size_t nparams, nbuffers;
    float *params, *grads, *buffers;
    dolor_status err;    /* first building error (its message in errmsg), DOLOR_OK if none */
    char errmsg[512];
    int finalized;
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    struct nn_plan *plan[2]; /* [0] inference, [1] training */
    int trained_ready;       /* a training forward ran and backward may follow */
};

/* ------------------------------------------------------------- builder (graph.c) ---- */

dolor_status nn_graph_create(dolor_net **out);
/* Record a building error (the first one is kept; later ones are ignored) and return -1. */
int nn_fail(dolor_net *g, dolor_status st, const char *fmt, ...) DOLOR_PRINTF(3, 4);
/* Graph input with a nominal shape (ndim 2, 4 or 5). */
int nn_add_input_shape(dolor_net *g, int ndim, const int64_t *dims);
/* Add an operation of `kind` on inputs in[0..nin) with parameters p (copied; NULL: zero), module
 * name (may be NULL). Infers the output shape, declares the parameter tensors. Returns the output
 * value, or -1 (error kept in the graph; an input id < 0 means an earlier failure and returns -1
 * without a new message). */
int nn_add_op(dolor_net *g, nn_op_kind kind, const char *name, const int *in, int nin, const nn_params *p);
int nn_add_tensor(dolor_net *g, const char *prefix, const char *suffix, int ndim, const int64_t *shape, int is_buffer);
/* Mark v as a graph output (named; several allowed, in order). */
int nn_set_output(dolor_net *g, int v, const char *name);
/* Set by dolor_arch_build_limited() around a registry build: graphs created on this thread take it as
 * their param_limit. */
extern _Thread_local size_t nn_build_param_limit;

/* Shapes of every value (vs[nvals]) for the graph inputs' shapes in_shapes[ninputs]. Errors: the
 * first operation whose shape inference fails (DOLOR_ESHAPE / DOLOR_EINVAL, named by its message). */
dolor_status nn_graph_infer_shapes(const dolor_net *g, const nn_shape *in_shapes, nn_shape *vs);

/* Fails with the first building error, else allocates params/grads/buffers (neutral init). If no
 * output was set, `output` is used (compat with the single-output callers). */
dolor_status nn_graph_finalize(dolor_net *g, int output);
/* "[2, 16, 8, 8]" */
const char *nn_shape_str(const nn_shape *s, char *buf, size_t n);
int64_t nn_shape_numel(const nn_shape *s);

/* Compat builders used by the U-Net and the layer tests (2D): */
int nn_add_input(dolor_net *g, int channels); /* nominal [1, channels, 256, 256] */
int nn_add_conv(dolor_net *g, const char *name, int in, int cout, int k, int pad, int bias);
int nn_add_deconv(dolor_net *g, const char *name, int in, int cout, int bias); /* 2x2 stride 2 */
int nn_add_bn(dolor_net *g, const char *name, int in, int relu);
int nn_add_bn_momentum(dolor_net *g, const char *name, int in, int relu, float momentum);
int nn_add_bn_eps(dolor_net *g, const char *name, int in, int relu, float momentum, float eps); /* eps > 0 */
int nn_add_relu(dolor_net *g, int in);
int nn_add_pool(dolor_net *g, int in);     /* MaxPool2d(2, 2) */
int nn_add_upsample(dolor_net *g, int in); /* bilinear x2 */
int nn_add_concat(dolor_net *g, int a, int b);

/* ------------------------------------------------------ forward/backward (step.c) ---- */

/* Generic forward/backward on plain tensors: inputs[i] has the ndim and channels of graph input
 * i; outs[k] the shape of output k. */
dolor_status nn_graph_run(dolor_net *g, const dolor_tensor *const *inputs, dolor_tensor *const *outs, int training);
/* douts[k]: d(loss)/d(output k), NULL for zero. */
dolor_status nn_graph_backward_all(dolor_net *g, const dolor_tensor *const *douts);
/* single-output forms */
dolor_status nn_graph_forward(dolor_net *g, const dolor_tensor *const *inputs, dolor_tensor *out, int training);
dolor_status nn_graph_backward(dolor_net *g, const dolor_tensor *dout);
/* After backward with need_input_grad = 1: d(loss)/d(input i), plain, NULL if none. */
const float *nn_graph_input_grad(const dolor_net *g, int i);
/* Shape of value v in the current training (1) / inference (0) plan; NULL if none. */
const nn_shape *nn_graph_plan_shape(const dolor_net *g, int training, int v);

/* Bytes held by the current plans (activations, diffs, workspaces, scratchpad). */
size_t nn_graph_plan_bytes(const dolor_net *g);
/* Number of reorders of activations in the current training (1) or inference (0) plan, besides
 * the input copies and the output / output-gradient reorders; -1 if no such plan. */
int nn_graph_activation_reorders(const dolor_net *g, int training);
/* The oneDNN memory descriptor of value v in the current plan (NULL if none). */
const dnnl_memory_desc_t *nn_graph_value_md(const dolor_net *g, int training, int v);

#endif
