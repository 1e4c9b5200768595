/*
 * dolor/train.h - learning-rate schedules, safetensors checkpoints, the
 * training loop for 2D segmentation, and whole-image inference.
 *
 * A training run (dolor_train_run) goes over mini-batches with AdamW,
 * validates every epoch (mean Dice over foreground classes), keeps
 * best.safetensors and last.safetensors, writes log.csv, and can resume.
 * Losses and AdamW themselves are in nn.h; datasets and loaders in data.h;
 * metrics in eval.h.
 */
#ifndef DOLOR_TRAIN_H
#define DOLOR_TRAIN_H

#include "dolor/core.h"
#include "dolor/data.h"
#include "dolor/image.h"
#include "dolor/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Learning-rate schedules ---- */
typedef enum dolor_lr_schedule {
    DOLOR_LR_COSINE = 0,   /* base * 0.5 * (1 + cos(pi * t / T))  (torch CosineAnnealingLR, eta_min 0) */
    DOLOR_LR_POLY = 1,     /* base * (1 - t / T)^0.9  (nnU-Net's PolyLRScheduler) */
    DOLOR_LR_CONSTANT = 2,
    DOLOR_LR_STEP = 3      /* base * gamma^floor(t / step_size)  (torch StepLR); through dolor_lr_at:
                            * step_size ceil(T / 3), gamma 0.1; dolor_lr_at_step sets both */
} dolor_lr_schedule;

/* Learning rate at optimizer step `step` (0-based) of `total` steps, after a
 * linear warm-up over the first `warmup` steps (lr = base * (step+1)/warmup).
 * Returns base for total <= 0. */
double dolor_lr_at(dolor_lr_schedule s, double base, int64_t step, int64_t total, int64_t warmup);
/* StepLR after warm-up: base * (step+1)/warmup for step < warmup, then
 * base * gamma^floor((step - warmup) / step_size) (torch.optim.lr_scheduler.StepLR
 * counted in optimizer steps: pass step_size = epochs * steps per epoch for
 * torch's per-epoch stepping). step_size < 1 is taken as 1. */
double dolor_lr_at_step(double base, int64_t step, int64_t warmup, int64_t step_size, double gamma);
/* "cosine", "poly", "constant", "step" -> schedule; DOLOR_EINVAL naming the value otherwise. */
dolor_status dolor_lr_schedule_parse(const char *name, dolor_lr_schedule *out);
const char *dolor_lr_schedule_name(dolor_lr_schedule s);

/* ---- What a checkpoint says about its model ---- */
#define DOLOR_MAX_CLASSES 32
typedef struct dolor_model_meta {
    char arch_name[32];                   /* registry architecture (nn.h), e.g. "unet", "resnet_unet" */
    char arch_config[1024];               /* its config JSON (dolor_net_config_json), from the checkpoint */
    int in_channels;                      /* network input channels (1 for grey) */
    dolor_unet_config arch;               /* filled when arch_name is "unet" (arch.num_classes == num_classes) */
    int num_classes;                      /* incl. background */
    char class_names[DOLOR_MAX_CLASSES][64];
    int label_values[DOLOR_MAX_CLASSES];  /* mask value written for each class */
    int height, width;                    /* network input size (pixels) */
    int depth;                            /* 3D classifier: input depth (slices); 0 for 2D */
    char task[16];                        /* "" or "segmentation" (older files), "classification" or "detection";
                                             a classifier's num_classes counts classes (2 for one logit), a
                                             detector's its object classes (no background) */
    int epoch;                            /* epochs completed (1-based count) */
    double val_dice;                      /* mean foreground Dice at that epoch (NaN if none) */
    int64_t opt_step;                     /* AdamW step count */
    uint64_t seed;                        /* training seed */
    char train_json[1024];                /* training options as JSON, for resume */
} dolor_model_meta;

/* ---- Checkpoints: safetensors ----
 * File layout (huggingface safetensors): u64 little-endian header length,
 * a JSON header {"name": {"dtype": "F32", "shape": [...], "data_offsets":
 * [begin, end]}, ..., "__metadata__": {...strings...}}, then the tensor
 * bytes. Tensor names are the PyTorch state_dict names from nn.h; with an
 * optimizer, "optimizer.exp_avg.<name>" and "optimizer.exp_avg_sq.<name>"
 * follow. __metadata__ holds "format": "pt", "dolor_version", "architecture"
 * (the registry name of the net, dolor_net_arch()), "config" (its JSON,
 * dolor_net_config_json(), with "in_channels" and "num_classes"), "class_names" (JSON list), "label_values"
 * (JSON list), "preprocessing" (JSON: size, grey conversion, z-score),
 * "epoch", "val_dice", "optimizer_step", "seed", "train" (JSON); a classifier
 * (meta->task "classification") adds "task" and, in 3D, preprocessing "depth"
 * (resize "trilinear"); its class_names/label_values list the classes (2 for a
 * single-logit binary net), val_dice holds its validation AUC.
 * Written to a temporary file and renamed. Loads in PyTorch with
 * safetensors.torch.load_file(); best.safetensors (no optimizer state)
 * loads into the PyTorch U-Net with load_state_dict(strict=True),
 * last.safetensors needs strict=False (its optimizer.* entries).
 * Errors: DOLOR_EIO (write), DOLOR_EINVAL (opt->n differs from the
 * network's parameter count; a net not built by the architecture registry).
 * The architecture is taken from the net; meta's arch fields are not read. */
dolor_status dolor_checkpoint_save(const char *path, dolor_net *net, const dolor_adamw *opt,
                                   const dolor_model_meta *meta);

/* Load a checkpoint: rebuilds the network through the architecture registry
 * from the stored name and config (checkpoints of every earlier dolor
 * version, which stored "unet", load unchanged) and fills
 * parameters and buffers; if opt != NULL and the file holds optimizer
 * state, creates *opt with it (else *opt = NULL).
 * Errors: DOLOR_ENOTFOUND (no such file), DOLOR_EIO (cannot read), DOLOR_EFORMAT (truncated, not a
 * safetensors file, malformed JSON, missing or mis-shaped tensor: the
 * message names the file and the tensor or key), DOLOR_EUNSUPPORTED
 * (architecture not in the registry, or a dtype dolor does not know). */
dolor_status dolor_checkpoint_load(const char *path, dolor_net **net, dolor_adamw **opt, dolor_model_meta *meta);

/* Read only the model description (header) of a checkpoint: cheap, builds
 * no network. Errors: as dolor_checkpoint_load (DOLOR_ENOTFOUND when the
 * file does not exist). */
dolor_status dolor_checkpoint_read_meta(const char *path, dolor_model_meta *meta);

/* ---- Training ---- */
/* Data-parallel training over `size` processes (dist.h gives these hooks under mpirun). Every rank loads the
 * same seeded global batch of batch_size cases and runs forward and backward on its share, cases
 * [rank * B / size, (rank + 1) * B / size) (batch_size must be divisible by size); the flat gradient buffer is
 * summed over the ranks (allreduce_sum) and divided by size before the optimizer step, so the weights stay
 * identical on every rank. Batch statistics (batch norm) and the soft Dice term are computed per rank over its
 * share (as PyTorch DistributedDataParallel without SyncBatchNorm), so the result is close to, not equal to, a
 * single-process run with the same batch. Validation runs whole on every rank; only rank 0 writes files. */
typedef struct dolor_train_dist {
    int rank, size;
    dolor_status (*allreduce_sum)(void *ctx, float *buf, size_t n);    /* in place, over the ranks */
    dolor_status (*allreduce_sum64)(void *ctx, double *buf, size_t n); /* the same for doubles */
    void *ctx;
} dolor_train_dist;

/* The optimizers of segmentation and classification training. */
typedef enum dolor_optimizer_kind {
    DOLOR_OPT_SGD = 0,  /* dolor_sgd: momentum, dampening 0, nesterov, coupled weight decay */
    DOLOR_OPT_ADAM = 1, /* dolor_adam_step: coupled L2 weight decay */
    DOLOR_OPT_ADAMW = 2 /* dolor_adamw_step: decoupled weight decay */
} dolor_optimizer_kind;
/* "sgd", "adam", "adamw"; DOLOR_EINVAL naming the value otherwise. */
dolor_status dolor_optimizer_parse(const char *name, dolor_optimizer_kind *out);
const char *dolor_optimizer_name(dolor_optimizer_kind k);

typedef struct dolor_train_config {
    const char *out_dir;          /* created if needed: best/last.safetensors, log.csv, val/ */
    int epochs;                   /* total epochs (default 50) */
    int batch_size;               /* default 8 */
    double lr;                    /* peak learning rate (default 1e-3) */
    double weight_decay;          /* AdamW decoupled decay; SGD and Adam: coupled L2 (default 1e-4) */
    dolor_optimizer_kind optimizer; /* default DOLOR_OPT_ADAMW; DOLOR_OPT_SGD with momentum 0.99 and Nesterov,
                                     * lr 1e-2 and the poly schedule is nnU-Net's (Isensee et al. 2021) */
    double momentum;              /* SGD momentum (default 0.99, nnU-Net's) */
    int nesterov;                 /* SGD with Nesterov momentum (default 1, as nnU-Net) */
    dolor_lr_schedule schedule;   /* default cosine */
    int warmup_epochs;            /* linear warm-up (default 1) */
    double ce_weight, dice_weight;/* loss = ce_weight * CE + dice_weight * soft Dice (default 1, 1) */
    int augment;                  /* 1: rotation, flip, brightness/contrast/gamma (default 1) */
    dolor_augment_config aug;
    uint64_t seed;                /* default 42 */
    double time_limit_min;        /* stop after the epoch that passes this many minutes (0 = none) */
    int quiet;                    /* 1: no progress bar (log lines only) */
    const dolor_train_dist *dist; /* NULL: one process (default); else data-parallel, see dolor_train_dist */
} dolor_train_config;

void dolor_train_config_default(dolor_train_config *c);

/* Train net on ds: train_idx cases for optimisation, val_idx cases for
 * validation (Dice at network size each epoch). meta describes the model
 * (classes, size); meta->epoch / opt (if non-NULL, from a resumed
 * checkpoint) say where to continue. Writes out_dir/log.csv (epoch,
 * train_loss, val_loss, dice_<class>..., mean_dice, lr, seconds),
 * out_dir/last.safetensors every epoch and out_dir/best.safetensors when
 * mean foreground validation Dice improves on *best_dice. best_dice
 * (may be NULL) is in/out: the best mean foreground Dice so far (-1 or NaN
 * if none, e.g. from best.safetensors when resuming), then the best seen.
 * Errors: from nn, data and I/O. */
dolor_status dolor_train_run(const dolor_train_config *cfg, dolor_net *net, dolor_adamw *opt, dolor_dataset *ds,
                             const size_t *train_idx, size_t n_train, const size_t *val_idx, size_t n_val,
                             dolor_model_meta *meta, double *best_dice);

/* ---- Inference on one image ----
 * Segments a 2D image of any size: preprocess (grey, resize to the network
 * size, z-score; data.h), forward in inference mode, resize the class
 * logits back to the image's size (bilinear) and take the argmax.
 * *classes receives a uint8 class-index map (ncomp 1) with img's size and
 * geometry. scratch: optional state the caller keeps between calls (freed
 * with dolor_segment_scratch_free) so repeated calls do not allocate.
 * Errors: DOLOR_EINVAL (3D input), DOLOR_EUNSUPPORTED (a model with more
 * than one input channel), nn errors. */
typedef struct dolor_segment_scratch dolor_segment_scratch;
dolor_status dolor_segment_image(dolor_net *net, const dolor_model_meta *meta, const dolor_image *img,
                                 dolor_segment_scratch **scratch, dolor_image **classes);
void dolor_segment_scratch_free(dolor_segment_scratch *s);

/* As dolor_segment_image, and when probs is not NULL the softmax class probabilities at the image's size:
 * probs [K, H, W] (K = meta->num_classes, H x W the image's size; caller allocates K*H*W floats),
 * probs[c*H*W + y*W + x] = exp(l_c - max_j l_j) / sum_k exp(l_k - max_j l_j) of the bilinearly resized
 * logits l at that pixel, so the argmax of probs is *classes. Errors: as dolor_segment_image. */
dolor_status dolor_segment_image_probs(dolor_net *net, const dolor_model_meta *meta, const dolor_image *img,
                                       dolor_segment_scratch **scratch, dolor_image **classes, float *probs);

/* Test-time augmentation of dolor_segment_ensemble (zero-initialise = none). */
typedef struct dolor_segment_opts {
    int mirror_x; /* also segment the image mirrored left-right (x) and mirror the result back */
    int mirror_y; /* also mirrored up-down (y); with both, every combination (4 passes, as nnU-Net mirrors) */
} dolor_segment_opts;

/* Ensemble and test-time mirroring: for each of the nnets models and each mirroring of opts, the image is
 * preprocessed as for that model (dolor_preprocess_channels), mirrored, segmented, the logits mirrored
 * back and resized to the image's size (bilinear), and turned into softmax probabilities; the class map
 * is the argmax of the mean probability over all passes. (nnU-Net v2 averages logits instead; dolor
 * averages probabilities, so an over-confident member weighs no more than the others.) An ensemble of
 * one model without mirroring gives dolor_segment_image's classes (the argmax of softmax is that of the
 * logits). The models must agree on input channels, number of classes, and class names and label values;
 * their input sizes may differ. *classes: uint8 class map with img's size and geometry.
 * Errors: DOLOR_EINVAL (no model, 3D input, models that disagree: names the model and what differs),
 * DOLOR_EUNSUPPORTED (a model that does not take 1..4 channels in 2D), those of
 * dolor_preprocess_channels, nn errors, DOLOR_ENOMEM. */
dolor_status dolor_segment_ensemble(dolor_net *const *nets, const dolor_model_meta *metas, int nnets,
                                    const dolor_image *img, const dolor_segment_opts *opts,
                                    dolor_segment_scratch **scratch, dolor_image **classes);

/* ---- Sliding-window inference (src/train/sliding.c), nnU-Net v2's definitions ----
 * (nnunetv2/inference/sliding_window_prediction.py; tools/gen_sliding_fixtures.py transcribes them). */

/* Tile origins along one axis: n = ceil((image - tile) / (tile * step_fraction)) + 1 tiles, origin i =
 * round(i * (image - tile) / (n - 1)) (half to even, as numpy), 0 for n == 1. Writes n <= cap values to
 * steps and returns n; -1 when image < tile, tile < 1, step_fraction outside (0, 1] or n > cap. */
int dolor_sliding_steps(int image, int tile, double step_fraction, int *steps, int cap);

/* Gaussian importance map [h, w] of a tile: a delta at (h/2, w/2) smoothed with sigma = sigma_scale *
 * (h, w) (nnU-Net: 1/8) and SciPy's truncation at 4 sigma, divided by its maximum (1 at the centre), its
 * zeros replaced by the smallest non-zero value: exp(-(dy^2/sy^2 + dx^2/sx^2) / 2) in float32. */
void dolor_gaussian_importance(int h, int w, double sigma_scale, float *out);

/* The same map for a tile of nsp (2 or 3) axes, tile[0] outermost ([d, h, w] in 3D; sigma = sigma_scale
 * * tile[a] on every axis, nnU-Net's compute_gaussian), out [tile[0], ..., tile[nsp-1]] row-major.
 * dolor_gaussian_importance is this with nsp 2. */
void dolor_gaussian_importance_nd(int nsp, const int *tile, double sigma_scale, float *out);

/* The logits [k, tile...] of the tile at origin[0..nsp-1] (outermost axis first; index counts tiles with
 * the outermost axis slowest). */
typedef dolor_status (*dolor_tile_nd_fn)(void *ctx, const int *origin, int index, float *logits);

/* Gaussian-weighted mean of tile logits over an image of nsp (2 or 3) axes, size[0] outermost ([D, H, W]
 * in 3D): tiles of `tile` at the origins of dolor_sliding_steps on every axis (step_fraction = 1 - overlap;
 * nnU-Net's tile_step_size 0.5), each logit weighted by the importance map (sigma 1/8 of the tile per
 * axis), summed in double and divided by the summed weights per voxel: out [k, size...]. The one
 * implementation of sliding windows (dolor_sliding_window is nsp 2). Errors: DOLOR_EINVAL (nsp not 2 or
 * 3, k < 1, an axis smaller than the tile, bad step: names both sizes x first), fn's errors,
 * DOLOR_ENOMEM. */
dolor_status dolor_sliding_window_nd(int nsp, const int *size, const int *tile, double step_fraction, int k,
                                     dolor_tile_nd_fn fn, void *ctx, float *out);

/* The logits [k, th, tw] of the tile with origin (y0, x0) (index counts tiles row by row). */
typedef dolor_status (*dolor_tile_fn)(void *ctx, int y0, int x0, int index, float *logits);

/* Gaussian-weighted mean of tile logits over an image of height x width: tiles of th x tw at the
 * origins of dolor_sliding_steps (rows outer, columns inner), each logit weighted by the importance map
 * (sigma 1/8 of the tile), summed in double and divided by the summed weights per pixel: out
 * [k, height, width]. Errors: DOLOR_EINVAL (image smaller than the tile, bad step), fn's errors,
 * DOLOR_ENOMEM. */
dolor_status dolor_sliding_window(int height, int width, int th, int tw, double step_fraction, int k,
                                  dolor_tile_fn fn, void *ctx, float *out);

/* Segment img at its native resolution with tiles of the network size (meta->height x meta->width):
 * each channel z-scored over the whole image (no resizing), padded with 0 (the mean) to at least one
 * tile, centred; tiles overlapping by `overlap` (0.5 = nnU-Net's tile_step_size 0.5) blended with
 * dolor_sliding_window; argmax. For models trained on patches at native resolution; a model trained on
 * resized whole images sees another scale here. *classes: uint8, img's size and geometry.
 * Errors: DOLOR_EINVAL (overlap outside [0, 1), 3D image), DOLOR_EUNSUPPORTED (model not 2D 1..4
 * channels), those of dolor_preprocess_channels, nn errors, DOLOR_ENOMEM. */
dolor_status dolor_segment_sliding(dolor_net *net, const dolor_model_meta *meta, const dolor_image *img,
                                   double overlap, dolor_image **classes);

/* ---- 3D segmentation from a plan (src/train/segment3d.c; dolor plan, include/dolor/data.h) ----
 * Every training case of an nnU-Net dataset (imagesTr/, labelsTr/) is read, resampled to the plan's target
 * spacing where it differs by more than 0.1 % (trilinear for the channels, nearest for the labels; nnU-Net
 * uses third-order splines for images) and normalised per channel as the plan says (z-score over the case,
 * or CT clipping and the fingerprint's mean/sd). Each iteration draws plan->batch_size patches of
 * plan->patch voxels: cases uniformly; the last round(batch * foreground_fraction) patches of the batch
 * centred on a random voxel of a random foreground class present in the case (nnU-Net's oversampling), the
 * others anywhere; corners by dolor_patch_origin with pad = the patch, so patches reach up to half a patch
 * past every border (the normalised images padded with 0, the labels with background). Augmentation: per
 * channel scale 1 +/- 0.1 and shift +/- 0.1 (z-score units); no mirroring (left and right structures are
 * different classes). Loss: ce_weight * cross-entropy + dice_weight * soft Dice without background on the
 * logits [N, K, z, y, x] (viewed as [N, K, z*y, x]); AdamW with the poly schedule (nnU-Net's, with SGD
 * there). OUT/log.csv (epoch,loss,ce,dice,lr,seconds), OUT/last.safetensors after every epoch (with the
 * optimizer state) and OUT/best.safetensors at the end: without validation cases the final weights are the
 * model. The checkpoint's "train" JSON holds the plan's spacing and normalisation, and its preprocessing
 * the patch (depth = z, height = y, width = x) for dolor_segment_volume. */

/* The lower corner origin[a] (a < nd) of a patch of patch[a] voxels in a volume of size[a] voxels, by the
 * rule of nnU-Net v2's data loader (nnunetv2/training/dataloading/data_loader.py, get_bbox), which may put
 * a patch partly outside the volume (the caller pads): per axis the margin t = pad[a] (pad NULL: t =
 * patch[a]; nnU-Net's need_to_pad, its augmentation enlargement plus pad_sides), raised to
 * patch[a] - size[a] where the volume plus t is still smaller than the patch (padding on both sides);
 * lo = floor(-t / 2), hi = size[a] + floor(t / 2) + (t mod 2) - patch[a]. centre NULL: origin[a] uniform
 * on [lo, hi] (one dolor_rng_below(r, hi - lo + 1) per axis, axis 0 first); otherwise the patch is centred
 * on voxel centre[a], clamped only from below as nnU-Net does: origin[a] = max(lo, centre[a] -
 * floor(patch[a] / 2)), and r is not used. With t = patch[a] the random corners span [-ceil(p / 2),
 * size - floor(p / 2)] and a centred patch is never moved, so it holds its voxel at floor(p / 2).
 * Sizes and patches must be >= 1 and pad >= 0 (not checked). */
void dolor_patch_origin(dolor_rng *r, int nd, const int64_t *size, const int *patch, const int *pad,
                        const int64_t *centre, int64_t *origin);
typedef struct dolor_train3d_config {
    const char *data_dir;      /* the nnU-Net dataset */
    const char *out_dir;
    int epochs, iters_per_epoch;
    double lr, weight_decay, ce_weight, dice_weight;
    double time_limit_min;     /* > 0: stop after the epoch that passes it */
    uint64_t seed;
    int quiet;                 /* 1: no per-epoch lines on stderr */
} dolor_train3d_config;

/* epochs 50, iters_per_epoch 50, lr 1e-3, weight_decay 1e-4, ce and dice weights 1, seed 42. */
void dolor_train3d_config_default(dolor_train3d_config *c);

/* Train a 3D U-Net by the plan (see above); *last_loss (may be NULL): the mean loss of the last epoch.
 * Errors: DOLOR_EINVAL (config out of range, dataset.json's channels or labels differ from the plan's, no
 * foreground voxel, a label value outside the plan's classes), those of dolor_nnunet_info_read,
 * dolor_nnunet_list_cases, dolor_image_read_channels, dolor_image_read, DOLOR_ESHAPE (a label map of another
 * size, a case without the plan's channels), nn errors, DOLOR_EIO (outputs), DOLOR_ENOMEM. */
dolor_status dolor_train3d_run(const dolor_train3d_config *cfg, const dolor_plan *plan, float *last_loss);

/* Segment a volume img (in_channels components, 2D taken as one slice) with a 3D U-Net checkpoint of
 * dolor_train3d_run: resampled and normalised as in training, padded with 0 to at least one patch per axis
 * (centred), 3D sliding windows (dolor_sliding_window_nd; tiles of the patch, Gaussian weights sigma =
 * patch/8 per axis, step 1 - overlap), probabilities cropped and resampled back to img's grid
 * (trilinear), argmax. *classes: uint8 class indices [x, y, z], img's size, spacing, origin and direction,
 * so a NIfTI written from it has the input's affine. Errors: DOLOR_EUNSUPPORTED (not a 3D U-Net),
 * DOLOR_EINVAL (overlap outside [0, 1)), DOLOR_EFORMAT (no patch size or plan in the checkpoint),
 * DOLOR_ESHAPE (channels differ), nn errors, DOLOR_ENOMEM. */
dolor_status dolor_segment_volume(dolor_net *net, const dolor_model_meta *meta, const dolor_image *img,
                                  double overlap, dolor_image **classes);

/* Class-index map -> label-value map (meta->label_values), same geometry. */
dolor_status dolor_classes_to_labels(const dolor_image *classes, const dolor_model_meta *meta, dolor_image **labels);

/* Colour overlay for display: grey (or RGB) img blended with class colours
 * (alpha 0.45) and class outlines, as uint8 RGB of img's size. colours:
 * 3 bytes per class (NULL = dolor_label_colour, io.h: the colours of the
 * label-map palettes and labels.txt). Errors: DOLOR_EINVAL (classes not
 * uint8 x1), DOLOR_ESHAPE (sizes differ), DOLOR_ENOMEM. */
dolor_status dolor_overlay_make(const dolor_image *img, const dolor_image *classes, int num_classes,
                                const uint8_t *colours, dolor_image **rgb);

/* What a readable overlay shows besides the prediction (zero-initialise). */
typedef struct dolor_overlay_opts {
    const char *const *class_names; /* [num_classes] (0 = background, not shown): a legend line per
                                       foreground class, a swatch in its colour and its name; NULL = none */
    const char *case_id;            /* first legend line (the case's stem); NULL = none */
    const dolor_image *truth;       /* ground truth as a uint8 class-index map of the same size, or NULL:
                                       its class boundaries drawn dashed white/black over the prediction
                                       (and a "truth" legend line) */
    const uint8_t *colours;         /* 3 bytes per class; NULL = dolor_label_colour */
} dolor_overlay_opts;

/* dolor_overlay_make plus what opts asks for: the truth contour, and a
 * legend box at the top-left (black, white text in a built-in 5x7 font,
 * upper case; scaled 2x when the image's smaller side is at least 384
 * pixels). opts NULL = dolor_overlay_make. Errors: those of
 * dolor_overlay_make, DOLOR_EINVAL (num_classes outside
 * 1..DOLOR_MAX_CLASSES), DOLOR_ESHAPE (truth not uint8 x1 of the same
 * size). */
dolor_status dolor_overlay_render(const dolor_image *img, const dolor_image *classes, int num_classes,
                                  const dolor_overlay_opts *opts, dolor_image **rgb);

/* ---- Classification training (src/train/classify.c) ----
 * A classifier (a registry net with one [N, K] output, e.g. "resnet") trained on a
 * dolor_cls_dataset (data.h): seeded shuffled mini-batches of a fixed size (the last
 * partial batch dropped; a training set smaller than the batch makes one batch of
 * all), optional augmentation (dolor_cls_augment), one of three optimizers and
 * three losses, a schedule with warm-up; after every epoch validation one case at
 * a time in inference mode, with accuracy, AUC, sensitivity and specificity
 * (dolor_cls_metrics), out_dir/log.csv, last.safetensors every epoch and
 * best.safetensors when the validation AUC improves (accuracy when the AUC is
 * undefined), and out_dir/val_predictions.csv (path, patient, label, one
 * probability per class) at the best epoch. */

typedef enum dolor_cls_loss {
    DOLOR_CLS_LOSS_BCE = 0,   /* dolor_loss_bce_logits: 1 logit, 2 classes, target = class index */
    DOLOR_CLS_LOSS_CE = 1,    /* dolor_loss_cross_entropy_cls: K logits for K classes, class weights */
    DOLOR_CLS_LOSS_FOCAL = 2  /* dolor_loss_focal: 1 logit, 2 classes */
} dolor_cls_loss;
/* "bce", "ce", "focal"; DOLOR_EINVAL naming the value otherwise. */
dolor_status dolor_cls_loss_parse(const char *name, dolor_cls_loss *out);
const char *dolor_cls_loss_name(dolor_cls_loss l);

typedef struct dolor_cls_train_config {
    const char *out_dir;            /* created if needed */
    int epochs;                     /* default 20 */
    int batch_size;                 /* default 4 */
    dolor_optimizer_kind optimizer; /* default SGD */
    double lr;                      /* peak learning rate, default 1e-3 (MedicalNet's) */
    double momentum;                /* SGD, default 0.9 */
    int nesterov;                   /* SGD, default 0 */
    double weight_decay;            /* default 1e-4 (SGD/Adam: L2 in the gradient; AdamW: decoupled) */
    dolor_lr_schedule schedule;     /* default DOLOR_LR_STEP */
    int warmup_epochs;              /* linear warm-up, default 0 */
    int step_size;                  /* step schedule: epochs between decays, default 10 */
    double gamma;                   /* step schedule: factor, default 0.1 */
    dolor_cls_loss loss;            /* default BCE */
    const float *class_weights;     /* CE: NULL or num_classes weights (copied before use) */
    double pos_weight;              /* BCE: weight of the positive class, default 1 */
    double focal_alpha, focal_gamma;/* focal: default 0.25, 2 */
    int augment;                    /* default 1 */
    dolor_cls_augment aug;          /* dolor_cls_augment_default */
    uint64_t seed;                  /* default 42 */
    double time_limit_min;          /* stop after the epoch that passes it (0: none) */
    int quiet;                      /* no progress bar */
} dolor_cls_train_config;
void dolor_cls_train_config_default(dolor_cls_train_config *c);

/* Validation metrics from class probabilities prob [n, K] (K >= 2; row i sums to 1) and true
 * class indices. K == 2 (binary, positive = class 1): accuracy at prob >= 0.5, AUC = Mann-Whitney
 * estimate of P(score of a positive > score of a negative), ties 1/2, sensitivity = TP / P and
 * specificity = TN / N at 0.5. K > 2: accuracy of the argmax; AUC, sensitivity and specificity
 * macro-averaged one-vs-rest over the classes present (argmax decisions). Undefined values
 * (no positive or no negative) are NaN. */
typedef struct dolor_cls_metrics {
    double accuracy, auc, sensitivity, specificity;
} dolor_cls_metrics;
void dolor_cls_metrics_compute(const float *prob, const int *labels, size_t n, int K, dolor_cls_metrics *out);

/* Train net (one output [N, K]: K = 1 with BCE or focal on a 2-class dataset, K = num_classes
 * with CE) on ds. meta: classes and sizes (meta->task "classification", class_names of the
 * dataset, depth/height/width); meta->epoch > 0 continues from that epoch (a resumed run; the
 * optimizer state starts fresh unless opt is given: an Adam/AdamW state from last.safetensors).
 * log.csv columns: epoch, train_loss, val_loss, accuracy, auc, sensitivity, specificity, lr,
 * seconds. best_auc (may be NULL): in/out as dolor_train_run's best_dice.
 * Errors: DOLOR_EINVAL (bad config: loss and logits that do not fit the classes, class weights,
 * batch size, no training cases), DOLOR_ESHAPE (the net's output is not [N, K]), DOLOR_ENUMERIC
 * (the loss became NaN or Inf: lower the learning rate), and those of nn, data and I/O. */
dolor_status dolor_cls_train_run(const dolor_cls_train_config *cfg, dolor_net *net, dolor_adamw *opt,
                                 const dolor_cls_dataset *ds, const size_t *train_idx, size_t n_train,
                                 const size_t *val_idx, size_t n_val, dolor_model_meta *meta, double *best_auc);

/* ---------------- detection training (YOLOv8 detect, segment, pose; src/train/detect*.c) ----------------
 * docs/detection.md "Training". Images are grey, 0..1, in their own pixels; objects are dolor_det_object
 * (include/dolor/detect.h) in those pixels: box, mask [h, w] (segment head), keypoints [nkpt, 3] (pose head). */
struct dolor_det_list;
struct dolor_det_nms_params;

/* Augmentation, Ultralytics' names and YOLOv8 defaults (ultralytics/cfg/default.yaml), without rotation,
 * shear, perspective or colour (grey images); left-right flip off by default because side matters. */
typedef struct dolor_det_augment {
    double mosaic;       /* probability of a 4-image mosaic (1.0) */
    int close_mosaic;    /* no mosaic in the last this many epochs (10) */
    double scale;        /* random zoom 1 +- scale (0.5) */
    double translate;    /* random shift +- translate x size, per axis (0.1) */
    double hsv_v;        /* intensity gain 1 +- hsv_v (0.4) */
    double fliplr;       /* probability of a left-right flip (0) */
    const int *flip_idx; /* [nkpt]: keypoint j takes keypoint flip_idx[j] on a flip (NULL: none swapped) */
} dolor_det_augment;

typedef struct dolor_det_train_config {
    const char *out_dir;            /* created if needed: best/last.safetensors (EMA weights), log.csv */
    int epochs;                     /* 100 */
    int batch_size;                 /* 16 */
    int imgsz;                      /* network input, square, a multiple of 32 (512) */
    dolor_optimizer_kind optimizer; /* AdamW */
    double lr;                      /* peak; 0 = Ultralytics' auto rule 0.002 x 5 / (4 + classes), rounded to 1e-6 */
    double momentum;                /* SGD (Nesterov) momentum, 0.937 */
    double weight_decay;            /* 5e-4, on every parameter */
    double lrf;                     /* final lr = lr x lrf, linear decay per epoch (0.01) */
    int warmup_epochs;              /* linear warm-up over max(this many epochs, 100 steps), at most half the
                                     * steps (3) */
    int augment;                    /* 1: aug below; 0: plain letterbox */
    dolor_det_augment aug;
    int ema;                        /* 1: validate and save the exponential moving average of the weights */
    int precise_bn;                 /* 1: before each validation, batch-norm statistics re-estimated on up to 16
                                     * batches of training images (letterboxed) for the weights validated and
                                     * saved (PreciseBN; Ultralytics does not) */
    double val_conf, val_iou;       /* validation NMS: 0.001, 0.7, multi-label, 300 detections */
    const double *kpt_sigmas;       /* [nkpt] OKS sigmas for the pose loss and mAP; NULL: 1/nkpt each */
    uint64_t seed;                  /* 42 */
    double time_limit_min;          /* stop after the epoch that passes it (0: none) */
    int quiet;                      /* no progress bar */
} dolor_det_train_config;
void dolor_det_train_config_default(dolor_det_train_config *c);

/* A detection dataset in memory: n images, pixels[i] grey [h[i], w[i]] in 0..1 (row-major), lists[i] their
 * objects (names[i] for messages; may be NULL). */
typedef struct dolor_det_train_data {
    size_t n;
    const float *const *pixels;
    const int *w, *h;
    const struct dolor_det_list *lists;
    const char *const *names;
} dolor_det_train_data;

/* Ultralytics' Detect.bias_init (ultralytics/nn/modules/head.py, 8.1) on a freshly initialised yolov8 net
 * of any task: the last 1x1 convolution of each box branch ("model.22.cv2.<i>.2.bias") set to 1.0 and of
 * each class branch ("model.22.cv3.<i>.2.bias") to log(5 / nc / (640 / s_i)^2), s_i the level's stride
 * (8, 16, 32): a prior of about 5 objects per 640 x 640 image spread over nc classes, so that at the start
 * every anchor scores ~1e-3 and the background's classification loss does not swamp the rest (without it
 * the loss starts at hundreds and the first epochs go to lowering every score). Errors: DOLOR_EINVAL (NULL,
 * not a yolov8 net, a bias tensor missing). */
dolor_status dolor_det_bias_init(dolor_net *net);

/* Train the yolov8 net (registry "yolov8", any task) on train, validating on val (may be NULL or empty)
 * after every epoch with COCO's mAP50 and mAP50:95 of boxes, masks (segment) and keypoints (pose, OKS),
 * precision and recall at conf 0.25 and the mean keypoint error in pixels; best.safetensors is the
 * epoch of highest fitness (Ultralytics': 0.1 mAP50 + 0.9 mAP50:95, summed over boxes, masks and
 * keypoints), last.safetensors the last; both hold the EMA weights, and so does net on return. meta:
 * what the checkpoints store (arch, classes, task "detection", size); its epoch is set. best_fitness: in
 * the best so far (or NaN), out the best. No resume. Errors: DOLOR_EINVAL (config, not a yolov8 net,
 * input channels other than 1 or 3, an object whose class the net lacks or without the mask or
 * keypoints its head needs: names the image and object), DOLOR_ENUMERIC (the loss became NaN or Inf),
 * and those of nn, detect and I/O. */
dolor_status dolor_det_train_run(const dolor_det_train_config *cfg, dolor_net *net, const dolor_det_train_data *train,
                                 const dolor_det_train_data *val, dolor_model_meta *meta, double *best_fitness);

/* Detections of one grey image pixels [h, w] (0..1) with a yolov8 net at input size imgsz (centred
 * letterbox, pad 114/255, Ultralytics' LetterBox): raw outputs decoded (dolor_yolo_decode_boxes /
 * _keypoints), dolor_det_postprocess with p, then boxes, keypoints and masks mapped back to the image's
 * pixels (out re-initialised: masks [h, w] for the segment head, nkpt keypoints for pose). scratch:
 * *scratch NULL the first time, reused while imgsz stays, freed with dolor_det_scratch_free. Errors:
 * DOLOR_EINVAL (NULL, not a yolov8 net, imgsz not a multiple of 32), those of nn and detect. */
typedef struct dolor_det_scratch dolor_det_scratch;
dolor_status dolor_det_predict(dolor_net *net, int imgsz, const float *pixels, int w, int h,
                               const struct dolor_det_nms_params *p, struct dolor_det_list *out,
                               dolor_det_scratch **scratch);
void dolor_det_scratch_free(dolor_det_scratch *s); /* NULL-safe */

#ifdef __cplusplus
}
#endif
#endif
