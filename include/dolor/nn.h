/*
 * dolor/nn.h - neural networks on the CPU with oneDNN: a 2D U-Net builder
 * (conv 3x3 + BatchNorm + ReLU, 2x2 max pooling, transposed convolution or
 * bilinear upsampling, skip concatenation, 1x1 head), forward and backward
 * passes, softmax cross-entropy and soft Dice losses, and AdamW.
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
} dolor_unet_config;

/* Defaults: in_channels 1, num_classes 2, base_channels 16, depth 4, transposed. */
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
 * counts too large), DOLOR_EBACKEND (oneDNN engine), DOLOR_ENOMEM. */
dolor_status dolor_unet_create(const dolor_unet_config *cfg, dolor_net **out);
void dolor_net_free(dolor_net *net); /* NULL-safe */
const dolor_unet_config *dolor_net_config(const dolor_net *net);

/* Trainable parameters live in ONE flat float buffer, their gradients in another of the same
 * size; non-trainable buffers (BatchNorm running_mean / running_var; num_batches_tracked is not
 * kept) in a third. The pointers stay valid for the life of the net. */
size_t dolor_net_num_params(const dolor_net *net);
float *dolor_net_params(dolor_net *net);
float *dolor_net_grads(dolor_net *net);
size_t dolor_net_num_buffers(const dolor_net *net);
float *dolor_net_buffers(dolor_net *net);

/* Named tensors, in a fixed order (PyTorch state_dict order), with PyTorch state_dict names,
 * e.g. "enc0.conv1.weight" [16,1,3,3], "enc0.bn1.running_mean" [16], "up3.weight" [256,128,2,2]
 * (transposed), "up3.conv.weight" (bilinear), "head.weight", "head.bias". */
typedef struct dolor_net_tensor {
    const char *name; /* valid for the life of the net */
    int ndim;
    int64_t shape[4];
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

/* ---- Losses ----
 * On logits [N, K, H, W] (plain NCHW) and labels uint8 [N, H, W] (values < K). Each returns the
 * loss in *loss and, if dlogits != NULL, ADDS weight * dLoss/dlogits into dlogits (same shape as
 * logits; the caller zeroes it), so CE and Dice can be combined. *loss is NOT multiplied by
 * weight. Errors: DOLOR_ESHAPE (logits not 4-D or dlogits shape differs), DOLOR_EINVAL (a label
 * >= K: the message names the value and its index; loss and dlogits are then untouched).
 * Softmax is computed with the maximum subtracted; sums are accumulated in double. */

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

#ifdef __cplusplus
}
#endif
#endif
