/*
 * dolor/nn.h - neural networks on the CPU with oneDNN: a general graph of 2D/3D
 * operations (convolution with stride/dilation/groups, transposed convolution,
 * batch norm, activations, pooling, upsampling, concat/slice, broadcast
 * add/mul, flatten, linear) with forward and backward passes, an architecture
 * registry with the U-Net (2D or 3D) as its first entry, softmax cross-entropy and soft
 * Dice losses, and AdamW. How the engine is organised and how to add an
 * operation: docs/nn.md.
 *
 * Layout: tensors handed in and out are plain row-major NCHW float32
 * (dolor_tensor). Inside a network, activations stay in oneDNN's preferred
 * blocked layouts (nChw16c on AVX-512); reorders happen only at the input and
 * the output. Activations, workspaces and primitives are planned once per
 * (N, H, W, training) and reused; a forward or backward call with an
 * already-planned shape allocates nothing. oneDNN threads with OpenMP
 * (OMP_NUM_THREADS).
 *
 * Parameters are kept in PyTorch's own layouts (conv weight [O, I, kh, kw],
 * transposed-conv weight [I, O, kh, kw]) in one flat float buffer, in the
 * order of the PyTorch state_dict of the reference model in
 * tools/gen_nn_fixtures.py (class UNet), so a checkpoint written from these
 * buffers loads into it with the same names.
 *
 * Networks are not thread-safe: use one dolor_net per thread.
 */
#ifndef DOLOR_NN_H
#define DOLOR_NN_H

#include "dolor/core.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dolor_net dolor_net; /* opaque */

typedef enum dolor_upsample {
    DOLOR_UP_TRANSPOSED = 0, /* ConvTranspose2d(C, C/2, kernel 2, stride 2) with bias */
    DOLOR_UP_BILINEAR = 1    /* Upsample(x2, bilinear, align_corners=False) + Conv2d(C, C/2, 1) with bias */
} dolor_upsample;

typedef struct dolor_unet_config {
    int in_channels;   /* input channels, e.g. 1 for B-mode grey */
    int num_classes;   /* output channels incl. background */
    int base_channels; /* channels at level 0, doubled at each level (default 16) */
    int depth;         /* number of 2x downsamplings (default 4) */
    dolor_upsample upsample;
    int spatial_dims;  /* 2: [N, C, H, W] images; 3: [N, C, D, H, W] volumes (default 2; 0 is taken as 2) */
} dolor_unet_config;

/* Defaults: in_channels 1, num_classes 2, base_channels 16, depth 4, transposed, spatial_dims 2. */
void dolor_unet_config_default(dolor_unet_config *cfg);

/* Build a U-Net (Ronneberger et al. 2015, with BatchNorm and padded convs):
 *   enc<l> (l = 0..depth-1): conv3x3(pad 1, no bias) -> BN -> ReLU, twice; C_l = base * 2^l
 *   2x2 max pool between levels
 *   bottleneck: the same double conv at C_depth = base * 2^depth
 *   up<l> (l = depth-1..0): transposed conv 2x2 stride 2 C_{l+1} -> C_l (or bilinear x2 + conv1x1)
 *   dec<l>: concat(skip enc<l>, up<l>) [2 C_l channels] -> double conv -> C_l
 *   head: conv1x1 with bias C_0 -> num_classes (logits).
 * Parameters are zero until dolor_net_init(); BN running stats are 0 / 1.
 * Errors: DOLOR_EINVAL (a config value < 1, depth > 8, upsample not in the enum, channel
 * counts too large, spatial_dims not 0, 2 or 3), DOLOR_EBACKEND (oneDNN engine), DOLOR_ENOMEM. */
dolor_status dolor_unet_create(const dolor_unet_config *cfg, dolor_net **out);
void dolor_net_free(dolor_net *net); /* NULL-safe */
/* The U-Net's config; NULL for a net that is not a U-Net (dolor_net_arch() is not "unet"). */
const dolor_unet_config *dolor_net_config(const dolor_net *net);

/* Trainable parameters live in ONE flat float buffer, their gradients in another of the same
 * size; non-trainable buffers (BatchNorm running_mean / running_var; num_batches_tracked is not
 * kept) in a third. The pointers stay valid for the life of the net. */
size_t dolor_net_num_params(const dolor_net *net);
float *dolor_net_params(dolor_net *net);
/* Inference reuses the weights it prepared (reordered into the primitives' blocked layouts, batch
 * norm folded into the convolution before it with its ReLU as a post-op) until the parameters may
 * have changed: after dolor_net_init(), a training-mode forward, or a call of dolor_net_params() or
 * dolor_net_buffers() (whose callers may write through the pointer). Call this after writing them
 * through a pointer obtained earlier. */
void dolor_net_params_changed(dolor_net *net);
/* While momentum is in [0, 1], every training-mode dolor_net_run updates the running statistics of every
 * batch norm with this momentum instead of the op's own (running = (1 - m) running + m batch, PyTorch's
 * rule); a momentum outside [0, 1] restores each op's own. Giving 1/k on the k-th of K batches leaves
 * the plain mean of their batch statistics: the running statistics re-estimated for the current weights
 * (PreciseBN; Wu and Johnson, "Rethinking 'batch' in BatchNorm", 2021). NULL-safe. */
void dolor_net_set_bn_momentum(dolor_net *net, double momentum);
float *dolor_net_grads(dolor_net *net);
size_t dolor_net_num_buffers(const dolor_net *net);
float *dolor_net_buffers(dolor_net *net);

/* Named tensors, in a fixed order (PyTorch state_dict order), with PyTorch state_dict names,
 * e.g. "enc0.conv1.weight" [16,1,3,3], "enc0.bn1.running_mean" [16], "up3.weight" [256,128,2,2]
 * (transposed), "up3.conv.weight" (bilinear), "head.weight", "head.bias". */
typedef struct dolor_net_tensor {
    const char *name; /* valid for the life of the net */
    int ndim;
    int64_t shape[5]; /* ndim extents (a 3D convolution weight has 5) */
    int is_buffer;    /* 0: lives in params (and grads), 1: lives in buffers */
    size_t offset;    /* element offset into params or buffers */
    size_t numel;
} dolor_net_tensor;
int dolor_net_num_tensors(const dolor_net *net);
/* Errors: DOLOR_EINVAL if i is out of range (message gives i and the count). */
dolor_status dolor_net_tensor_at(const dolor_net *net, int i, dolor_net_tensor *out);

/* PyTorch default initialisation from our seeded RNG (values differ from torch's, the
 * distribution is the same): conv weights kaiming_uniform(a = sqrt(5)), i.e.
 * U(-1/sqrt(fan_in), +1/sqrt(fan_in)), biases U(+-1/sqrt(fan_in)), with fan_in = I*kh*kw for
 * Conv2d and O*kh*kw for ConvTranspose2d (torch's _calculate_fan_in_and_fan_out on [I,O,kh,kw]);
 * BN weight 1, bias 0, running mean 0, running var 1. Also zeroes the gradients. */
dolor_status dolor_net_init(dolor_net *net, uint64_t seed);

/* x: [N, in_channels, H, W] plain NCHW float; logits: [N, num_classes, H, W] plain NCHW,
 * caller-allocated. H and W must be divisible by 2^depth.
 * training=1: BatchNorm uses batch statistics (biased variance to normalise) and updates the
 * running stats (momentum 0.1, unbiased variance, like PyTorch), and keeps what backward needs;
 * training=0: running stats. The first call for a given (N, H, W, training) plans primitives and
 * memory (may allocate; one plan is kept for training and one for inference); later calls with
 * the same shape allocate no buffers (oneDNN itself builds a small argument map per primitive call).
 * Planning takes about a second for the default net; a change of N (a last, smaller batch)
 * re-plans, so training with a fixed batch size (dropping the last partial batch) is fastest.
 * x is copied in, so it may be reused before backward. Results are bit-identical for a given
 * thread count.
 * Errors: DOLOR_ESHAPE (x or logits shape wrong, H or W not divisible; the message gives the
 * sizes), DOLOR_ENOMEM, DOLOR_EBACKEND (oneDNN failed; message names the call). */
dolor_status dolor_net_forward(dolor_net *net, const dolor_tensor *x, dolor_tensor *logits, int training);

/* After a training forward: dlogits [N, num_classes, H, W] plain NCHW (dLoss/dlogits);
 * OVERWRITES dolor_net_grads() with dLoss/dparams. The activations of the last training forward
 * are used, so call it before the next training forward.
 * Errors: DOLOR_EINVAL (no training forward before), DOLOR_ESHAPE (dlogits shape differs from
 * the last training forward's logits), DOLOR_EBACKEND. */
dolor_status dolor_net_backward(dolor_net *net, const dolor_tensor *dlogits);

/* Bytes of memory held by the net's current plans (activations, gradients of activations,
 * workspaces, oneDNN scratchpad; not the parameter buffers). 0 before the first forward. */
size_t dolor_net_workspace_bytes(const dolor_net *net);
/* Activation memory of the current training (1) or inference (0) plan: *shared, the bytes its
 * value buffers take (inference shares one buffer between values that are not alive at the same
 * time: a value's buffer is free once its last reader has run); *unshared, what one buffer per
 * value would take. Both 0 if there is no such plan. Either pointer may be NULL. */
void dolor_net_activation_bytes(const dolor_net *net, int training, size_t *shared, size_t *unshared);

/* ---- General graphs ----
 * A network is a static graph of operations on values (int ids >= 0). Values have real shapes:
 * [N, F] (after flatten), [N, C, H, W] or [N, C, D, H, W], inferred when an operation is added;
 * the shapes given to dolor_graph_input are nominal: dolor_net_run() accepts other N and spatial
 * sizes (same ndim and channels), re-inferring every shape once per new input shape.
 * Builders keep the FIRST error: an operation on a value < 0 (a failed earlier call) returns -1
 * without a new message, so a network is written as a plain sequence of calls and checked once by
 * dolor_graph_finalize(), whose message names the first failing operation and its shapes, e.g.
 * "nn: add res: shapes [2, 4, 8, 8] and [2, 3, 6, 8] do not broadcast ...".
 * Parameter tensors are named "<name>.weight", "<name>.bias", "<name>.running_mean", ... in the
 * order the operations are added (PyTorch's state_dict order for a module tree built in forward
 * order); layouts are PyTorch's (conv [O, I/groups, k...], transposed conv [I, O/groups, k...],
 * linear [O, F]). Each operation is checked against PyTorch 1.13 forward and backward
 * (tests/test_nn_ops.c, tools/gen_nn_ops_fixtures.py).
 * Spatial per-axis arrays (kernel, stride, ...) are in tensor order: [H, W] in 2D, [D, H, W] in
 * 3D; unused entries are ignored. */

/* torch.nn.ConvNd / ConvTransposeNd. stride, dilation, groups: 0 means 1. Output size per axis:
 * conv (i + 2 p - d (k - 1) - 1) / s + 1; transposed (i - 1) s - 2 p + d (k - 1) + output_padding + 1. */
typedef struct dolor_conv_params {
    int out_channels;
    int kernel[3], stride[3], padding[3], dilation[3];
    int output_padding[3]; /* transposed only: < stride or < dilation, as torch */
    int groups;            /* in and out channels must be multiples; groups = in = out: depthwise */
    int bias;
} dolor_conv_params;

/* MaxPoolNd / AvgPoolNd (ceil_mode False): padding <= kernel / 2; stride 0 means kernel. */
typedef struct dolor_pool_params {
    int kernel[3], stride[3], padding[3];
    int count_include_pad; /* average pooling: torch's default is 1 */
} dolor_pool_params;

typedef enum dolor_activation {
    DOLOR_ACT_RELU = 0,
    DOLOR_ACT_LEAKY_RELU = 1, /* negative slope alpha */
    DOLOR_ACT_SIGMOID = 2,
    DOLOR_ACT_TANH = 3,
    DOLOR_ACT_SILU = 4        /* x * sigmoid(x) */
} dolor_activation;

/* An empty graph (then inputs, operations, outputs, dolor_graph_finalize). Errors: DOLOR_EBACKEND
 * (oneDNN engine), DOLOR_ENOMEM. Free with dolor_net_free(). */
dolor_status dolor_graph_create(dolor_net **out);
/* A graph input, plain row-major float, ndim 2, 4 or 5 (nominal dims, see above). */
int dolor_graph_input(dolor_net *g, int ndim, const int64_t *dims);
int dolor_graph_conv(dolor_net *g, const char *name, int x, const dolor_conv_params *p);
int dolor_graph_conv_transpose(dolor_net *g, const char *name, int x, const dolor_conv_params *p);
/* BatchNorm2d / 3d (eps 1e-5, momentum 0.1, affine, running stats), optionally fused with ReLU. */
int dolor_graph_batch_norm(dolor_net *g, const char *name, int x, int fuse_relu);
int dolor_graph_activation(dolor_net *g, int x, dolor_activation act, float alpha);
int dolor_graph_max_pool(dolor_net *g, int x, const dolor_pool_params *p);
int dolor_graph_avg_pool(dolor_net *g, int x, const dolor_pool_params *p);
/* [N, C, ...] -> [N, C, 1, ...] (AdaptiveAvgPoolNd(1)). */
int dolor_graph_global_avg_pool(dolor_net *g, int x);
/* Upsample by integer factors (per axis, 1..64): nearest, or (bi/tri)linear with
 * align_corners=False. */
int dolor_graph_upsample(dolor_net *g, int x, int linear, const int scale[3]);
/* Resize x to the spatial size of ref (any size, up or down; N and C from x):
 * F.interpolate(x, size=ref.shape[2:], mode=linear ? 'bilinear' / 'trilinear' : 'nearest-exact',
 * align_corners=False). ref gives only the size and receives no gradient; a decoder passes its skip
 * tensor, a segmenter its input, so odd sizes such as 473x473 come back exactly. */
int dolor_graph_upsample_to(dolor_net *g, int x, int ref, int linear);
/* torch.cat(xs, dim=1), 2 to 8 values equal except in channels. */
int dolor_graph_concat(dolor_net *g, const int *xs, int n);
/* x[:, c0:c1] (one piece of torch.split along channels). */
int dolor_graph_slice(dolor_net *g, int x, int c0, int c1);
/* a + b, a * b with broadcasting: one operand has the result's shape, the other the same rank
 * and per axis the same extent or 1 ([N, C, 1, 1] channel gates, [N, 1, H, W] spatial gates). */
int dolor_graph_add(dolor_net *g, int a, int b);
int dolor_graph_mul(dolor_net *g, int a, int b);
/* torch.flatten(x, 1): [N, C, ...] -> [N, C * ...]. */
int dolor_graph_flatten(dolor_net *g, int x);
/* torch.nn.Linear(F, out_features, bias) on [N, F]. */
int dolor_graph_linear(dolor_net *g, const char *name, int x, int out_features, int bias);
/* alpha * x. */
int dolor_graph_scale(dolor_net *g, int x, float alpha);
/* torch.nn.Dropout(p), p in [0, 1): in training each element is zeroed with probability p and the
 * rest scaled by 1 / (1 - p); in inference the identity. The mask is a counter-based hash of the
 * seed of dolor_net_init(), the call count and the element (reproducible, independent of the
 * thread count; not PyTorch's random stream). Errors (at finalize): DOLOR_EINVAL (p outside [0, 1)). */
int dolor_graph_dropout(dolor_net *g, int x, float p);
/* x.permute(perm): output axis i is input axis perm[i]; ndim entries, perm[0] = 0 (the batch
 * axis stays first). */
int dolor_graph_permute(dolor_net *g, int x, const int *perm, int ndim);
/* Z-pool: [N, C, ...] -> [N, 2, ...], channel 0 the max over C, channel 1 the mean. */
int dolor_graph_zpool(dolor_net *g, int x);
/* Triplet attention module (Misra et al., WACV 2021, src/nn/arch/triplet.c) on [N, C, H, W]:
 * same shape out; 3 gates of (conv 7x7 2->1 no bias + BatchNorm, momentum 0.01), tensors
 * "<name>.{cw,hc,hw}.conv.{conv,bn}.*" as the authors' TripletAttention. */
int dolor_graph_triplet_attention(dolor_net *g, const char *name, int x);
/* Mark v as an output named `name` (up to 8, in order: output k of dolor_net_run). */
int dolor_graph_output(dolor_net *g, int v, const char *name);
/* Errors: the first building error (DOLOR_EINVAL bad parameter, DOLOR_ESHAPE shapes that do not
 * fit; the message names the operation and the shapes), DOLOR_EINVAL (no input or output),
 * DOLOR_ENOMEM. Parameters are then zero (BN weight 1, running var 1) until dolor_net_init(). */
dolor_status dolor_graph_finalize(dolor_net *g);
/* Shape of value v at the nominal input shapes. Errors: DOLOR_EINVAL (v out of range). */
dolor_status dolor_graph_value_shape(const dolor_net *g, int v, int *ndim, int64_t dims[5]);

int dolor_net_num_outputs(const dolor_net *net);
/* Nominal shape of graph input i / output k (as built; dims past ndim are 1), e.g. to learn a
 * registry-built net's input channels (dims[1]). Errors: DOLOR_EINVAL (index out of range). */
dolor_status dolor_net_input_shape(const dolor_net *net, int i, int *ndim, int64_t dims[5]);
dolor_status dolor_net_output_shape(const dolor_net *net, int k, int *ndim, int64_t dims[5]);
const char *dolor_net_output_name(const dolor_net *net, int k); /* NULL if out of range */
/* Architecture name from the registry ("unet"), "" for a hand-built graph. */
const char *dolor_net_arch(const dolor_net *net);
/* Forward on all inputs (inputs[i] plain, shape of input i with any N and spatial sizes) into all
 * outputs (outputs[k] caller-allocated, the shape the plan infers: query it with a first call,
 * whose ESHAPE message gives it). Plans, training and allocation as dolor_net_forward.
 * Errors: DOLOR_ESHAPE (an input or output shape; a shape inference failure at these input
 * sizes), DOLOR_EINVAL (not finalized), DOLOR_ENOMEM, DOLOR_EBACKEND. */
dolor_status dolor_net_run(dolor_net *net, const dolor_tensor *const *inputs, dolor_tensor *const *outputs,
                           int training);
/* After a training dolor_net_run: doutputs[k] = dLoss/d(output k) for every output (all
 * required; pass zeros for an output without loss). OVERWRITES dolor_net_grads(). Errors as
 * dolor_net_backward. */
dolor_status dolor_net_backward_outputs(dolor_net *net, const dolor_tensor *const *doutputs);

/* ---- Architecture registry ----
 * Architectures are built by name from a JSON config (a flat object; missing keys take the
 * architecture's defaults, unknown keys are errors), and a net gives its config back as JSON, so
 * a checkpoint can store {name, config} and rebuild the net. Entries (src/nn/arch/registry.c):
 *   "unet": {"in_channels": 1, "num_classes": 2, "base_channels": 16, "depth": 4,
 *            "upsample": "transposed" | "bilinear", "spatial_dims": 2 | 3}  (dolor_unet_create;
 *            3: the 3D U-Net on [N, C, D, H, W], same tensor names; a config without the key is 2D)
 *   "resnet": {"depth": 18 (10, 18, 34, 50, 101), "in_channels": 3, "num_classes": 1000,
 *              "spatial_dims": 2 | 3, "width": 64}  (src/nn/arch/resnet.c: torchvision's
 *              names and structure; 3D as MedicalNet's classifier, shortcut B; output "logits") */
int dolor_arch_count(void);
const char *dolor_arch_name(int i); /* NULL if out of range */
/* One line per option, for --help. */
const char *dolor_arch_help(int i);
/* config_json NULL or "{}": defaults. Errors: DOLOR_ENOTFOUND (unknown name: the message lists
 * the known ones), DOLOR_EINVAL (malformed JSON, an unknown key, or a value out of range: the
 * message names it), those of the builder. */
dolor_status dolor_arch_build(const char *name, const char *config_json, dolor_net **out);
/* As dolor_arch_build, but refuses (DOLOR_ESHAPE, naming both sizes) before allocating anything a
 * network whose parameters and buffers would take more than max_param_bytes (0: no limit): a
 * checkpoint loader passes the size of the file's data section, so a small file cannot ask for a
 * huge allocation. */
dolor_status dolor_arch_build_limited(const char *name, const char *config_json, size_t max_param_bytes,
                                      dolor_net **out);
/* The config of a registry-built net as JSON into buf (NUL-terminated), e.g.
 * {"in_channels": 1, "num_classes": 2, "base_channels": 16, "depth": 4, "upsample": "transposed",
 * "spatial_dims": 2}.
 * Errors: DOLOR_EINVAL (not built by the registry, or n too small: the message gives the size). */
dolor_status dolor_net_config_json(const dolor_net *net, char *buf, size_t n);

/* ---- ONNX export (src/nn/onnx.c; the op mapping, limits and measured agreement: docs/onnx.md) ----
 * Writes net as an ONNX model for INFERENCE at ONE FIXED INPUT SHAPE: a ModelProto of IR version 8
 * with the default-domain opset 17 (ONNX 1.12), batch norm with its running statistics and epsilon,
 * dropout as the identity. Every value's shape is fixed at the export shape (graph input, outputs
 * and value_info, and the Resize sizes of an upsample-to-a-reference); run the model on another
 * size and export again.
 *   input_dims: the input shape, ndim entries: [N, C, H, W] or [N, C, D, H, W] ([N, F] for a net
 *     whose input is flat), C the net's input channels; NULL (ndim ignored): every graph input at its
 *     nominal shape (dolor_net_input_shape).
 *   Graph input "image" ("image0", "image1", ... for a net with several inputs), float32 of that
 *   shape; graph outputs the net's own names (dolor_net_output_name: "logits" for the segmenters
 *   and classifiers, YOLOv8's maps "box_cls_p3", ...) in the net's order, float32, the shapes
 *   dolor_net_run returns at that input. Initializers: every parameter and buffer tensor, in the
 *   order and with the PyTorch state_dict names of dolor_net_tensor_at (so their element count is
 *   dolor_net_num_params + dolor_net_num_buffers), float32. Metadata: "dolor_architecture" and
 *   "dolor_config" (dolor_net_config_json) for a registry net.
 * The file is written to a temporary file next to path and renamed onto it (dolor_outfile_open).
 * Each op kind maps to ONNX nodes through its own export callback in the op table (docs/nn.md).
 * ONNX Runtime 1.30 (CPU) computes the dolor outputs within 1e-4 * max(1, max |y|) on every registry
 * architecture (tests/test_nn_onnx.c).
 * Errors: DOLOR_EINVAL (net or path NULL or empty, net not finalized, an input dim < 1 or > 2^30),
 * DOLOR_ESHAPE (ndim or channels differ from the net's input; U-Net spatial sizes that are not
 * multiples of 2^depth; a shape the net's operations cannot take at this input, named by the
 * operation), DOLOR_EUNSUPPORTED (an input shape given for a net with several inputs; an operation
 * kind without an ONNX export, named with its index, module name and kind; a model over protobuf's
 * 2 GiB limit, since external data is not written), DOLOR_ENOMEM, DOLOR_EIO (the file cannot be
 * created, written or renamed; the message names it). */
dolor_status dolor_net_export_onnx(const dolor_net *net, const int64_t *input_dims, int ndim, const char *path);

/* ---- Losses ----
 * On logits [N, K, H, W] (plain NCHW) and labels uint8 [N, H, W] (values < K). Each returns the
 * loss in *loss and, if dlogits != NULL, ADDS weight * dLoss/dlogits into dlogits (same shape as
 * logits; the caller zeroes it), so CE and Dice can be combined. *loss is NOT multiplied by
 * weight. Errors: DOLOR_ESHAPE (logits not 4-D or dlogits shape differs), DOLOR_EINVAL (a label
 * >= K: the message names the value and its index; loss and dlogits are then untouched).
 * Softmax is computed with the maximum subtracted; sums are accumulated in double.
 * Workspace: each calling thread keeps one loss workspace, allocated at its first call and grown
 * only for a larger shape (or more OpenMP threads), so a training loop allocates nothing per
 * step; dolor_loss_release_workspace() frees the calling thread's (call it before a thread that
 * computed losses exits; DOLOR_ENOMEM if it cannot be allocated). */
void dolor_loss_release_workspace(void);

/* Mean over the N*H*W pixels of -log softmax(logits)[label] (torch.nn.CrossEntropyLoss with
 * reduction='mean'). Gradient: (softmax - onehot) / (N*H*W). */
dolor_status dolor_loss_cross_entropy(const dolor_tensor *logits, const uint8_t *labels, float weight,
                                      float *loss, dolor_tensor *dlogits);

/* Soft Dice (Milletari et al. 2016) as MONAI DiceLoss(softmax=True, to_onehot_y=True,
 * include_background, smooth_nr = smooth_dr = smooth, batch=False, reduction='mean'):
 * softmax probabilities p over all K channels, one-hot g; channel 0 dropped from both if
 * include_background == 0 (K must then be >= 2); per sample n and class k:
 *   1 - (2 * sum_hw(p*g) + smooth) / (sum_hw(p) + sum_hw(g) + smooth),
 * averaged over samples and the kept classes. */
dolor_status dolor_loss_soft_dice(const dolor_tensor *logits, const uint8_t *labels, int include_background,
                                  float smooth, float weight, float *loss, dolor_tensor *dlogits);

/* ---- AdamW (Loshchilov & Hutter 2019), exactly as torch.optim.AdamW (torch 1.13,
 * amsgrad=False, maximize=False):
 *   step += 1; p -= lr*weight_decay*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g;
 *   p -= (lr / (1 - b1^step)) * m / (sqrt(v) / sqrt(1 - b2^step) + eps).
 * m and v are flat buffers of n floats, zero at creation. torch defaults: betas (0.9, 0.999),
 * eps 1e-8, weight_decay 1e-2. */
typedef struct dolor_adamw {
    float beta1, beta2, eps, weight_decay;
    int64_t step;
    size_t n;
    float *m, *v;
} dolor_adamw;
/* Errors: DOLOR_EINVAL (n == 0, a beta outside [0, 1), eps or weight_decay negative), DOLOR_ENOMEM. */
dolor_status dolor_adamw_create(size_t n, float beta1, float beta2, float eps, float weight_decay, dolor_adamw **out);
/* One step over n params with their grads (OpenMP-parallel). */
void dolor_adamw_step(dolor_adamw *opt, float *params, const float *grads, float lr);
void dolor_adamw_free(dolor_adamw *opt); /* NULL-safe */

/* ---- Classification: SGD, Adam and losses on logits [N, K] (src/nn/optim.c, src/nn/loss_cls.c) ----
 * Checked against torch 1.13 (tests/test_nn_cls.c, tools/gen_cls_fixtures.py). */

/* SGD exactly as torch.optim.SGD (torch 1.13, maximize=False), per element:
 *   d = g + weight_decay * p;
 *   if momentum != 0: buf = d at the first step, else buf = momentum * buf + (1 - dampening) * d;
 *                     d = nesterov ? d + momentum * buf : buf;
 *   p -= lr * d.
 * buf is a flat buffer of n floats (allocated only when momentum != 0). torch defaults: momentum 0,
 * dampening 0, weight_decay 0, nesterov off. */
typedef struct dolor_sgd {
    float momentum, dampening, weight_decay;
    int nesterov;
    int64_t step;
    size_t n;
    float *buf; /* momentum buffer, NULL when momentum is 0 */
} dolor_sgd;
/* Errors: DOLOR_EINVAL (n == 0; momentum, dampening or weight_decay negative or not finite; nesterov
 * with momentum 0 or dampening != 0, as torch refuses), DOLOR_ENOMEM. */
dolor_status dolor_sgd_create(size_t n, float momentum, float dampening, float weight_decay, int nesterov,
                              dolor_sgd **out);
/* One step over n params with their grads (OpenMP-parallel, no allocation). */
void dolor_sgd_step(dolor_sgd *opt, float *params, const float *grads, float lr);
void dolor_sgd_free(dolor_sgd *opt); /* NULL-safe */

/* Adam (Kingma & Ba 2015) exactly as torch.optim.Adam (torch 1.13, amsgrad=False): the weight decay
 * is the classic coupled L2 term added to the gradient (AdamW above decouples it):
 *   step += 1; g += weight_decay * p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g;
 *   p -= (lr / (1 - b1^step)) * m / (sqrt(v) / sqrt(1 - b2^step) + eps).
 * The state has AdamW's layout (dolor_adamw: step, m, v), so dolor_checkpoint_save stores it the
 * same way. torch defaults: betas (0.9, 0.999), eps 1e-8, weight_decay 0.
 * Errors of create: as dolor_adamw_create. */
dolor_status dolor_adam_create(size_t n, float beta1, float beta2, float eps, float weight_decay, dolor_adamw **out);
void dolor_adam_step(dolor_adamw *opt, float *params, const float *grads, float lr);

/* Losses on logits [N, K] (ndim 2, plain row-major). As the segmentation losses above, each returns
 * the loss in *loss (not multiplied by weight) and, if dlogits != NULL, ADDS weight * dLoss/dlogits
 * into dlogits ([N, K], zeroed by the caller). Sums in double, no allocation, deterministic.
 * Errors: DOLOR_EINVAL (a NULL argument), DOLOR_ESHAPE (logits not 2-D, dlogits of another shape),
 * DOLOR_EINVAL (a target out of range or not finite, a negative or non-finite weight: the message
 * names the value and its index; nothing is written then). */

/* Sigmoid binary cross-entropy with logits, torch.nn.BCEWithLogitsLoss(pos_weight, reduction='mean'):
 * targets [N, K] in [0, 1] (K = 1 for a binary classifier; K > 1: independent labels), pos_weight
 * NULL (1) or K entries >= 0; per element, with s = sigmoid(x),
 *   l = -(pw * t * log s + (1 - t) * log(1 - s)), computed as (1-t) x + (1 + (pw-1) t) softplus(-x),
 * averaged over the N*K elements. Gradient: ((1-t) - (1 + (pw-1) t)(1 - s)) / (N K). */
dolor_status dolor_loss_bce_logits(const dolor_tensor *logits, const float *targets, const float *pos_weight,
                                   float weight, float *loss, dolor_tensor *dlogits);

/* Softmax cross-entropy, torch.nn.CrossEntropyLoss(weight=class_weights, reduction='mean'):
 * labels [N] class indices in [0, K); class_weights NULL (all 1) or K entries >= 0; the weighted mean
 *   sum_i w[y_i] (-log softmax(x_i)[y_i]) / sum_i w[y_i]
 * (DOLOR_EINVAL when that denominator is 0). Gradient: w[y_i] (softmax(x_i) - onehot(y_i)) / sum w. */
dolor_status dolor_loss_cross_entropy_cls(const dolor_tensor *logits, const int *labels, const float *class_weights,
                                          float weight, float *loss, dolor_tensor *dlogits);

/* Sigmoid focal loss (Lin et al., ICCV 2017), torchvision.ops.sigmoid_focal_loss(reduction='mean'):
 * targets [N, K] in [0, 1]; p = sigmoid(x), ce = BCE with logits, p_t = p t + (1-p)(1-t),
 *   l = a_t * ce * (1 - p_t)^gamma, a_t = alpha t + (1 - alpha)(1 - t) if alpha >= 0, else 1,
 * averaged over the N*K elements; torchvision's defaults alpha 0.25, gamma 2 (gamma >= 0). */
dolor_status dolor_loss_focal(const dolor_tensor *logits, const float *targets, float alpha, float gamma,
                              float weight, float *loss, dolor_tensor *dlogits);

/* ---- YOLOv8 post-processing (src/nn/arch/yolov8_decode.c): the raw head maps of "yolov8" decoded
 * as Ultralytics' inference does (its DFL, make_anchors, dist2bbox and Pose.kpts_decode), checked
 * against the PyTorch twin (tests/test_nn_ops.c, tools/nn_twins.py y8_decode_*). maps[l] (l < nmaps,
 * at most 8) is level l's map, plain NCHW, of stride strides[l] (8, 16, 32 for P3..P5); the anchors
 * are numbered level by level, row-major within a level, A = sum_l H_l W_l, anchor point
 * (j + 0.5, i + 0.5) in grid units. Deterministic, no allocation. Errors: DOLOR_EINVAL (NULL, nmaps
 * outside 1..8, a stride < 1, a count out of range), DOLOR_ESHAPE (a map not [N, C, H, W] with the
 * expected C or with another N than map 0; the message names the map). */

/* maps "box_cls_p*" [N, 4 reg_max + num_classes, H_l, W_l]: per side (left, top, right, bottom) the
 * softmax over the reg_max bins and its expectation (distribution focal loss, Li et al. 2020) are
 * distances in grid units; boxes [N, A, 4] = (ax - l, ay - t, ax + r, ay + b) x stride: x1, y1, x2, y2
 * in input pixels; scores [N, A, num_classes] (NULL: not written) = sigmoid of the class logits. */
dolor_status dolor_yolo_decode_boxes(const dolor_tensor *const *maps, const int *strides, int nmaps, int reg_max,
                                     int num_classes, float *boxes, float *scores);
/* maps "keypoints_p*" [N, num_keypoints keypoint_dims, H_l, W_l] -> keypoints [N, A, num_keypoints
 * keypoint_dims]: x = (2 raw_x + j) stride, y = (2 raw_y + i) stride in input pixels, visibility
 * (keypoint_dims 3) sigmoid(raw_v). */
dolor_status dolor_yolo_decode_keypoints(const dolor_tensor *const *maps, const int *strides, int nmaps,
                                         int num_keypoints, int keypoint_dims, float *keypoints);

/* ---- YOLOv8 training losses (src/nn/loss_yolo.c): Ultralytics 8.1's v8DetectionLoss,
 * v8SegmentationLoss and v8PoseLoss with the task-aligned assigner (TOOD, Feng et al. ICCV 2021), on
 * the raw maps of "yolov8" (the formulas, in full, in the header comment of loss_yolo.c and in
 * docs/detection.md "Training losses"). Checked against a plain-torch transcription
 * (tests/test_nn_yolo_loss.c, tools/gen_yolo_loss_fixtures.py): every part and every element of
 * d(total)/d(output), and 5 SGD steps of a tiny yolov8 per task. */
typedef enum { DOLOR_YOLO_DETECT = 0, DOLOR_YOLO_SEGMENT = 1, DOLOR_YOLO_POSE = 2 } dolor_yolo_task;
#define DOLOR_YOLO_DEFAULT_MAX_INSTANCES 256 /* per image */
#define DOLOR_YOLO_MAX_MASKS 256
#define DOLOR_YOLO_MAX_KEYPOINTS 256
typedef struct dolor_yolo_loss_config {
    int task;                         /* dolor_yolo_task */
    int num_classes, reg_max;         /* reg_max 16 (2..64) */
    int nmaps, strides[8];            /* 3: 8, 16, 32 (each must divide the input size) */
    int num_masks;                    /* segment: 32 (1..DOLOR_YOLO_MAX_MASKS) */
    int num_keypoints, keypoint_dims; /* pose: K (1..DOLOR_YOLO_MAX_KEYPOINTS), 2 or 3 */
    const float *keypoint_sigmas;     /* pose: K OKS sigmas (> 0), copied at create; NULL = Ultralytics'
                                         default: COCO's OKS_SIGMA for K 17 with keypoint_dims 3, else 1/K */
    int topk;
    float alpha, beta;                /* task-aligned assigner: 10, 0.5, 6.0 */
    float box_gain, cls_gain, dfl_gain, pose_gain, kobj_gain; /* Ultralytics hyp: 7.5, 0.5, 1.5, 12.0, 1.0
                                                                 (seg uses box_gain, as Ultralytics) */
    int max_instances;                /* most instances of one image (workspace size): 256; 0 = 256 */
} dolor_yolo_loss_config;
/* The defaults above for a task; num_masks 32 (segment), num_keypoints 17 and keypoint_dims 3 (pose). */
void dolor_yolo_loss_config_default(dolor_yolo_loss_config *cfg, dolor_yolo_task task, int num_classes);
typedef struct dolor_yolo_instance { /* one ground-truth object */
    int image, cls;                  /* index in the batch, class 0..nc-1 */
    float box[4];                    /* x1, y1, x2, y2 in network-input pixels: 0 <= x1 < x2 <= width,
                                        0 <= y1 < y2 <= height */
    const float *keypoints;          /* pose: [K, 3] x, y (input pixels), visibility (0 = not labelled;
                                        ignored with keypoint_dims 2, where every keypoint counts, as
                                        Ultralytics' kpt_shape [K, 2]); else NULL */
} dolor_yolo_instance;
typedef struct dolor_yolo_targets {
    const dolor_yolo_instance *inst; /* n instances, any image order */
    int n;
    const uint16_t *masks; /* segment: [N, H/4, W/4] instance map at the prototype resolution: 0 background,
                              k = the k-th instance (1-based) of that image in inst order (Ultralytics'
                              overlap_mask); NULL allowed when n == 0 */
} dolor_yolo_targets;
typedef struct dolor_yolo_loss dolor_yolo_loss; /* workspace for one batch size and input size */
/* Workspace for batch N and input H x W (pixels): (32 reg_max + 44) N A + 17 max_instances A bytes,
 * A = sum_l (H/s_l)(W/s_l) anchors (8400 at 640x640: 111 MB for N 16, reg_max 16, 256 instances).
 * Errors: DOLOR_EINVAL (a config
 * value out of the ranges above, a stride that does not divide H or W; segment: H or W not divisible
 * by 4), DOLOR_ENOMEM. */
dolor_status dolor_yolo_loss_create(const dolor_yolo_loss_config *cfg, int batch, int height, int width,
                                    dolor_yolo_loss **out);
/* outputs: the net's outputs in the order of its outputs (plain NCHW float tensors as dolor_net_run
 * returns them): box_cls_l [N, 4 reg_max + nc, H/s_l, W/s_l] (l < nmaps); segment: then mask_coef_l
 * [N, num_masks, H/s_l, W/s_l] and proto [N, num_masks, H/4, W/4]; pose: then keypoints_l
 * [N, K keypoint_dims, H/s_l, W/s_l].
 * parts[]: the loss items Ultralytics reports, in its order (detect: box, cls, dfl; segment: box, seg,
 * cls, dfl; pose: box, pose, kobj, cls, dfl; dolor_yolo_loss_num_parts), already multiplied by their
 * gains; *total = sum(parts) * N (Ultralytics' returned loss); doutputs (NULL = loss only):
 * d(total)/d(output), same shapes, written (not accumulated). No allocation; sums in double;
 * OpenMP over the images for the bin softmax and the classification term, with partial sums added
 * in a fixed order, so results are bit-identical for any thread count (0.35 s of one core at
 * 640x640, N 16, 80 classes, 50 instances per image, gradients included). The assigner's top-k breaks ties at the k-th place by the lower anchor index.
 * Errors (nothing is written to doutputs then): DOLOR_EINVAL (a NULL argument; instance i with an
 * image outside 0..N-1, a class outside 0..nc-1, a box degenerate or outside the input, pose keypoints
 * NULL or not finite; more than max_instances in one image; segment masks NULL with instances: the
 * message names the instance), DOLOR_ESHAPE (an output or gradient of another shape: the message names
 * it, its shape and the expected one). */
dolor_status dolor_yolo_loss_compute(dolor_yolo_loss *L, const dolor_tensor *const *outputs, const dolor_yolo_targets *t,
                                     float *parts, float *total, dolor_tensor *const *doutputs);
/* 3, 4 or 5 (0 for an unknown task). */
int dolor_yolo_loss_num_parts(dolor_yolo_task task);
/* "box", "cls", "dfl", "seg", "pose", "kobj" as in parts[]; NULL out of range. */
const char *dolor_yolo_loss_part_name(dolor_yolo_task task, int i);
void dolor_yolo_loss_free(dolor_yolo_loss *L); /* NULL-safe */

#ifdef __cplusplus
}
#endif
#endif
