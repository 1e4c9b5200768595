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
 * "epoch", "val_dice", "optimizer_step", "seed", "train" (JSON).
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
typedef struct dolor_train_config {
    const char *out_dir;          /* created if needed: best/last.safetensors, log.csv, val/ */
    int epochs;                   /* total epochs (default 50) */
    int batch_size;               /* default 8 */
    double lr;                    /* peak learning rate (default 1e-3) */
    double weight_decay;          /* AdamW decoupled decay (default 1e-4) */
    dolor_lr_schedule schedule;   /* default cosine */
    int warmup_epochs;            /* linear warm-up (default 1) */
    double ce_weight, dice_weight;/* loss = ce_weight * CE + dice_weight * soft Dice (default 1, 1) */
    int augment;                  /* 1: rotation, flip, brightness/contrast/gamma (default 1) */
    dolor_augment_config aug;
    uint64_t seed;                /* default 42 */
    double time_limit_min;        /* stop after the epoch that passes this many minutes (0 = none) */
    int quiet;                    /* 1: no progress bar (log lines only) */
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

/* Class-index map -> label-value map (meta->label_values), same geometry. */
dolor_status dolor_classes_to_labels(const dolor_image *classes, const dolor_model_meta *meta, dolor_image **labels);

/* Colour overlay for display: grey (or RGB) img blended with class colours
 * (alpha 0.45) and class outlines, as uint8 RGB of img's size. colours:
 * 3 bytes per class (NULL = dolor's default table: nerve yellow, vessel
 * red, then green, blue, ...). */
dolor_status dolor_overlay_make(const dolor_image *img, const dolor_image *classes, int num_classes,
                                const uint8_t *colours, dolor_image **rgb);
/* dolor's default class colour table (RGB, DOLOR_MAX_CLASSES entries, 0 = black). */
const uint8_t *dolor_class_colours(void);

#ifdef __cplusplus
}
#endif
#endif
