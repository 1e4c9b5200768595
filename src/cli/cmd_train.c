/* dolor train: train a segmentation network (any 2D architecture of the registry, U-Net by default) on a
 * folder of images and a folder of masks; or, with --task classify, a classifier (ResNet by default, 2D or
 * 3D) on a CSV listing or class folders. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/data.h"
#include "dolor/dist.h"
#include "dolor/eval.h"
#include "dolor/io.h"
#include "dolor/nn.h"
#include "dolor/train.h"
#include "labelmap.h"
#include "opts.h"

#include <cjson/cJSON.h>

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char *images, *masks, *data, *out, *val_list, *resume, *arch, *init, *plan;
    long iterations;        /* --plan: iterations per epoch */
    char **classes, **arch_kv;
    int narch_kv;
    int nclasses;
    int labels[DOLOR_MAX_CLASSES];
    int nlabels;
    long size, base, depth, threads, mask_threshold;
    int channels;           /* --channels: input channels (0 = from the data) */
    double val_fraction;
    dolor_upsample upsample;
    dolor_train_config tc;
    int final_eval;
    unsigned arch_given;    /* bit i: arch_opts[i] was given (on resume it must equal the stored value) */
    /* --task classify */
    int classify;
    char *csv, *image_col, *label_col, *patient_col;
    long sz[3];             /* --size as given: 1 to 3 extents */
    int nsz;
    dolor_cls_train_config ct;
    float class_weights[DOLOR_MAX_CLASSES];
    int ncw;
    long kfold, fold;
    unsigned char given[64]; /* given[i]: specs[i] was given (command line or --config) */
} train_opts;

static const dolor_opt_spec specs[] = {
    {"data", 'd', OPT_STR, "dataset folder holding images/ and masks/ (sets --images and --masks), or an nnU-Net v2 "
     "dataset (dataset.json, imagesTr/, labelsTr/; classes and channels from dataset.json)",
     DOLOR_OPT_AT(train_opts, data)},
    {"channels", 0, OPT_STR, "input channels: grey (colour converted), rgb (R, G, B kept) or a count 1..4 (the "
     "images' components)", .metavar = "grey|rgb|N", .def = "grey; an nnU-Net dataset's channel_names"},
    {"images", 0, OPT_STR, "folder of images (PNG, JPEG, NIfTI)", DOLOR_OPT_AT(train_opts, images)},
    {"masks", 0, OPT_STR, "folder of label maps matched to images by file stem", DOLOR_OPT_AT(train_opts, masks)},
    {"classes", 'c', OPT_LIST, "foreground class names, e.g. nerve,vessel (background is class 0)"},
    {"labels", 'l', OPT_LIST, "mask value of each class, e.g. 1,2 (default 1..n)"},
    {"label-desc", 0, OPT_STR, "ITK-SNAP label description file giving class names and values (instead of --classes)"},
    {"arch", 'a', OPT_STR, "architecture from the registry (default unet; listed below with their options)",
     DOLOR_OPT_AT(train_opts, arch)},
    {"arch-opt", 0, OPT_LIST, "architecture options KEY=VALUE,..., e.g. encoder_depth=50,triplet_attention=1"},
    {"out", 'o', OPT_STR, "output folder: best/last.safetensors, log.csv, val_eval/ (required)",
     DOLOR_OPT_AT(train_opts, out)},
    {"size", 0, OPT_STR, "network input size: N (square; default 256, classify 224) or HxW; classify 3D: DxHxW "
                         "(default 64x128x128)"},
    {"epochs", 'e', OPT_INT, "epochs", .def = "50", DOLOR_OPT_RANGE(1, 100000)},
    {"batch", 'b', OPT_INT, "mini-batch size", .def = "8", DOLOR_OPT_RANGE(1, 1024)},
    {"lr", 0, OPT_NUM, "peak learning rate", .def = "1e-3", DOLOR_OPT_RANGE(1e-8, 10)},
    {"wd", 0, OPT_NUM, "weight decay (default 1e-4; AdamW decoupled, SGD/Adam L2)", DOLOR_OPT_RANGE(0, 10)},
    {"schedule", 0, OPT_STR, "learning-rate schedule: cosine, poly, constant, step (default cosine; classify step)"},
    {"warmup", 0, OPT_INT, "warm-up epochs", .def = "1", DOLOR_OPT_RANGE(0, 1000)},
    {"base", 0, OPT_INT, "unet only: channels at the first level (default 16; = --arch-opt base_channels=16)",
     DOLOR_OPT_RANGE(1, 512), DOLOR_OPT_AT(train_opts, base)},
    {"depth", 0, OPT_INT, "unet only: number of downsamplings (default 4; = --arch-opt depth=4)",
     DOLOR_OPT_RANGE(1, 7), DOLOR_OPT_AT(train_opts, depth)},
    {"upsample", 0, OPT_STR, "unet only: decoder upsampling, transposed or bilinear (default transposed)"},
    {"val-fraction", 0, OPT_NUM, "fraction of cases held out for validation", .def = "0.2", DOLOR_OPT_RANGE(0, 0.9),
     DOLOR_OPT_AT(train_opts, val_fraction)},
    {"val-list", 0, OPT_STR, "text file of validation stems, one per line (instead of --val-fraction)",
     DOLOR_OPT_AT(train_opts, val_list)},
    {"mask-threshold", 0, OPT_INT, "binarise lossy (JPEG) masks: value >= N is the one class, else background "
     "(one class only; Kvasir-SEG: 128)", .def = "off", DOLOR_OPT_RANGE(1, 65535),
     DOLOR_OPT_AT(train_opts, mask_threshold)},
    {"seed", 0, OPT_INT, "random seed for split, shuffling, augmentation and weights", .def = "42",
     DOLOR_OPT_RANGE(0, 0x7fffffff)},
    {"augment", 0, OPT_FLAG, "augmentation on (default); --no-augment turns it off"},
    {"rotate", 0, OPT_NUM, "augmentation: max rotation in degrees", .def = "15", DOLOR_OPT_RANGE(0, 180)},
    {"hflip", 0, OPT_FLAG, "augmentation: random horizontal flip (default on; --no-hflip)"},
    {"brightness", 0, OPT_NUM, "augmentation: brightness shift, z-score units", .def = "0.1", DOLOR_OPT_RANGE(0, 10)},
    {"contrast", 0, OPT_NUM, "augmentation: contrast factor range 1 +/- c", .def = "0.2", DOLOR_OPT_RANGE(0, 0.99)},
    {"gamma", 0, OPT_NUM, "augmentation: gamma range 1 +/- g", .def = "0.2", DOLOR_OPT_RANGE(0, 0.99)},
    {"ce-weight", 0, OPT_NUM, "weight of cross-entropy in the loss", .def = "1", DOLOR_OPT_RANGE(0, 100)},
    {"dice-weight", 0, OPT_NUM, "weight of soft Dice in the loss", .def = "1", DOLOR_OPT_RANGE(0, 100)},
    {"time-limit", 0, OPT_NUM, "stop after the epoch that passes this many minutes", .def = "none",
     DOLOR_OPT_RANGE(0, 1e6)},
    {"resume", 'r', OPT_STR, "continue from a checkpoint (e.g. OUT/last.safetensors)",
     DOLOR_OPT_AT(train_opts, resume)},
    {"init", 0, OPT_STR, "start from the weights of a checkpoint, e.g. PyTorch weights converted with "
                         "tools/torch_weights.py (the model comes from it)", DOLOR_OPT_AT(train_opts, init)},
    {"threads", 't', OPT_INT, "CPU threads (default: all cores)", DOLOR_OPT_RANGE(1, 1024),
     DOLOR_OPT_AT(train_opts, threads)},
    {"final-eval", 0, OPT_FLAG, "evaluate best.safetensors on the validation images at full size (default on)",
     DOLOR_OPT_AT(train_opts, final_eval)},
    {"quiet", 'q', OPT_FLAG, "no progress bar"},
    {"config", 0, OPT_STR, "JSON file with any of these options as keys (command line overrides it)"},
    {"task", 0, OPT_STR, "segment (default) or classify"},
    {"plan", 0, OPT_STR, "3D segmentation by a plan from dolor plan (nnU-Net dataset; patches, 3D U-Net; see below)",
     .metavar = "PLAN.json", DOLOR_OPT_AT(train_opts, plan)},
    {"iterations", 0, OPT_INT, "--plan: iterations (batches) per epoch", .def = "50", DOLOR_OPT_RANGE(1, 1000000),
     DOLOR_OPT_AT(train_opts, iterations)},
    {"csv", 0, OPT_STR, "classify: CSV listing image,label[,patient] (paths relative to its folder)",
     DOLOR_OPT_AT(train_opts, csv)},
    {"image-col", 0, OPT_STR, "classify: CSV column of the image paths (default image)",
     DOLOR_OPT_AT(train_opts, image_col)},
    {"label-col", 0, OPT_STR, "classify: CSV column of the labels (default label)",
     DOLOR_OPT_AT(train_opts, label_col)},
    {"patient-col", 0, OPT_STR, "classify: CSV column of the patient IDs (default patient, optional)",
     DOLOR_OPT_AT(train_opts, patient_col)},
    {"optimizer", 0, OPT_STR, "sgd, adam or adamw (default: segment adamw, classify sgd; --plan: adamw only)"},
    {"momentum", 0, OPT_NUM, "SGD momentum (default: segment 0.99 as nnU-Net, classify 0.9)", DOLOR_OPT_RANGE(0, 0.999)},
    {"nesterov", 0, OPT_FLAG, "SGD with Nesterov momentum (default: segment on as nnU-Net, --no-nesterov; classify off)"},
    {"loss", 0, OPT_STR, "classify: bce (1 logit), ce (1 logit per class) or focal (1 logit) (default bce)"},
    {"class-weights", 0, OPT_LIST, "classify, ce: weight per class, e.g. 1,3"},
    {"pos-weight", 0, OPT_NUM, "classify, bce: weight of the positive class", .def = "1", DOLOR_OPT_RANGE(0, 1e6)},
    {"focal-alpha", 0, OPT_NUM, "classify, focal: alpha (default 0.25; -1: none)", DOLOR_OPT_RANGE(-1, 1)},
    {"focal-gamma", 0, OPT_NUM, "classify, focal: gamma", .def = "2", DOLOR_OPT_RANGE(0, 20)},
    {"step-size", 0, OPT_INT, "classify, step schedule: epochs between decays", .def = "10",
     DOLOR_OPT_RANGE(1, 100000)},
    {"lr-gamma", 0, OPT_NUM, "classify, step schedule: decay factor", .def = "0.1", DOLOR_OPT_RANGE(1e-6, 1)},
    {"flip", 0, OPT_LIST, "classify augmentation: axes to flip at random, of w,h,d, or none (default w,h,d; 2D: w)"},
    {"kfold", 0, OPT_INT, "classify: k-fold cross-validation by patient, stratified (instead of --val-fraction)",
     DOLOR_OPT_RANGE(2, 1000), DOLOR_OPT_AT(train_opts, kfold)},
    {"fold", 0, OPT_INT, "classify: the validation fold of --kfold, 0..k-1", .def = "0", DOLOR_OPT_RANGE(0, 999),
     DOLOR_OPT_AT(train_opts, fold)},
};
#define NSPECS ((int)(sizeof specs / sizeof *specs))
/* name and table: typed values and "--x is not an option of dolor train" (help() prints the text) */
static const dolor_cmd_desc train_cmd = {.name = "train", .specs = specs, .nspecs = NSPECS};

/* Options that describe the model: stored in the checkpoint, so on --resume they may only repeat it. */
static const char *const arch_opts[] = {"classes", "labels", "label-desc", "size", "base",
                                        "depth",   "upsample", "arch",      "arch-opt"};
enum {
    ARCH_CLASSES, ARCH_LABELS, ARCH_LABEL_DESC, ARCH_SIZE, ARCH_BASE, ARCH_DEPTH, ARCH_UPSAMPLE, ARCH_ARCH, ARCH_ARCH_OPT,
    ARCH_COUNT
};
_Static_assert(sizeof arch_opts / sizeof *arch_opts == ARCH_COUNT, "arch_opts and its enum differ");
_Static_assert(NSPECS <= 64, "train_opts.given holds 64 options");

/* Options of one task only: giving one to the other task is an error. */
static const char *const seg_only[] = {"images",  "masks", "labels",    "label-desc",  "base",      "depth",
                                       "upsample", "val-list", "mask-threshold", "hflip", "gamma", "ce-weight", "dice-weight",
                                       "final-eval", "init", "channels"};
static const char *const cls_only[] = {"csv",       "image-col",   "label-col",   "patient-col",
                                       "loss",        "class-weights", "pos-weight",
                                       "focal-alpha", "focal-gamma", "step-size", "lr-gamma",    "flip",
                                       "kfold",     "fold"};

static dolor_status apply(void *ctx, const dolor_opt_spec *sp, const char *v)
{
    train_opts *o = ctx;
    const char *n = sp->name;
    char opt[80];
    snprintf(opt, sizeof opt, "--%s", n);
    long iv;
    double dv;
    dolor_status s = DOLOR_OK;
    int on = v == NULL; /* flags */
    for (int i = 0; i < ARCH_COUNT; i++)
        if (!strcmp(n, arch_opts[i]))
            o->arch_given |= 1u << i;
    o->given[sp - specs] = 1;
    if (sp->bound)
        return dolor_opt_bind(ctx, sp, v);
    if (!strcmp(n, "task")) {
        if (strcmp(v, "segment") && strcmp(v, "classify"))
            return dolor_error(DOLOR_EINVAL, "--task: '%s' is not segment or classify", v);
        o->classify = !strcmp(v, "classify");
        return DOLOR_OK;
    }
    if (!strcmp(n, "optimizer")) return dolor_optimizer_parse(v, &o->tc.optimizer);
    if (!strcmp(n, "loss")) return dolor_cls_loss_parse(v, &o->ct.loss);
    if (!strcmp(n, "nesterov")) { o->tc.nesterov = on; return DOLOR_OK; }
    if (!strcmp(n, "size")) {
        /* N, HxW or DxHxW; the task decides which it accepts (checked once the task is known) */
        o->nsz = 0;
        const char *p = v;
        for (;;) {
            char *end;
            long x = strtol(p, &end, 10);
            if (end == p || x < 1 || x > 4096 || o->nsz == 3 || (*end && *end != 'x'))
                return dolor_error(DOLOR_EINVAL, "--size: '%s' is not N, HxW or DxHxW (each 1..4096)", v);
            o->sz[o->nsz++] = x;
            if (!*end)
                break;
            p = end + 1;
        }
        o->size = o->sz[0];
        return DOLOR_OK;
    }
    if (!strcmp(n, "flip")) { /* any of w, h, d (comma-separated), or none */
        o->ct.aug.flip_w = o->ct.aug.flip_h = o->ct.aug.flip_d = 0;
        if (!strcmp(v, "none"))
            return DOLOR_OK;
        for (const char *p = v;; p += 2) {
            if ((*p != 'w' && *p != 'h' && *p != 'd') || (p[1] && p[1] != ','))
                return dolor_error(DOLOR_EINVAL, "--flip: '%.*s' is not w, h, d or none", (int)strcspn(p, ","), p);
            *(*p == 'w' ? &o->ct.aug.flip_w : *p == 'h' ? &o->ct.aug.flip_h : &o->ct.aug.flip_d) = 1;
            if (!p[1])
                return DOLOR_OK;
        }
    }
    if (!strcmp(n, "class-weights")) {
        char **items;
        int cnt;
        s = dolor_cli_split_list(opt, v, &items, &cnt);
        if (s)
            return s;
        if (cnt > DOLOR_MAX_CLASSES)
            s = dolor_error(DOLOR_EINVAL, "--class-weights: %d values (at most %d)", cnt, DOLOR_MAX_CLASSES);
        for (int i = 0; !s && i < cnt; i++) {
            s = dolor_cli_parse_double(opt, items[i], 0, 1e6, &dv);
            o->class_weights[i] = (float)dv;
        }
        o->ncw = cnt;
        dolor_cli_free_list(items);
        return s;
    }
    if (!strcmp(n, "arch-opt")) {
        dolor_cli_free_list(o->arch_kv);
        s = dolor_cli_split_list(opt, v, &o->arch_kv, &o->narch_kv);
        for (int i = 0; !s && i < o->narch_kv; i++) {
            const char *eq = strchr(o->arch_kv[i], '=');
            if (!eq || eq == o->arch_kv[i] || !eq[1])
                s = dolor_error(DOLOR_EINVAL, "--arch-opt: '%s' is not KEY=VALUE", o->arch_kv[i]);
            else if (!strncmp(o->arch_kv[i], "in_channels=", 12) || !strncmp(o->arch_kv[i], "num_classes=", 12))
                s = dolor_error(DOLOR_EINVAL, "--arch-opt: '%s': input channels and classes come from the data and "
                                "--classes", o->arch_kv[i]);
        }
        return s;
    }
    if (!strcmp(n, "label-desc")) {
        dolor_label_table *t = NULL;
        char **names = NULL;
        int *values = NULL, cnt = 0;
        s = dolor_label_table_read(v, &t);
        if (!s)
            s = dolor_label_table_classes(t, 0, &names, &values, &cnt);
        if (!s && (cnt < 1 || cnt >= DOLOR_MAX_CLASSES))
            s = dolor_error(DOLOR_EINVAL, "%s: %d foreground labels (need 1..%d)", v, cnt, DOLOR_MAX_CLASSES - 1);
        if (!s) {
            dolor_cli_free_list(o->classes);
            o->classes = calloc((size_t)cnt + 1, sizeof *o->classes);
            if (!o->classes)
                s = dolor_error(DOLOR_ENOMEM, "out of memory");
            for (int i = 0; !s && i < cnt; i++) {
                o->classes[i] = strdup(names[i]);
                if (!o->classes[i])
                    s = dolor_error(DOLOR_ENOMEM, "out of memory");
                o->labels[i + 1] = values[i];
            }
            o->nclasses = o->nlabels = cnt;
        }
        dolor_label_names_free(names);
        free(values);
        dolor_label_table_free(t);
        return s;
    }
    if (!strcmp(n, "classes")) {
        dolor_cli_free_list(o->classes);
        s = dolor_cli_split_list(opt, v, &o->classes, &o->nclasses);
        if (!s && o->nclasses >= DOLOR_MAX_CLASSES)
            s = dolor_error(DOLOR_EINVAL, "--classes: %d classes (at most %d)", o->nclasses, DOLOR_MAX_CLASSES - 1);
        return s;
    }
    if (!strcmp(n, "labels")) {
        char **items;
        int cnt;
        s = dolor_cli_split_list(opt, v, &items, &cnt);
        if (s)
            return s;
        if (cnt >= DOLOR_MAX_CLASSES)
            s = dolor_error(DOLOR_EINVAL, "--labels: %d values (at most %d)", cnt, DOLOR_MAX_CLASSES - 1);
        for (int i = 0; !s && i < cnt; i++) {
            s = dolor_cli_parse_int(opt, items[i], 1, 65535, &iv);
            if (!s)
                o->labels[i + 1] = (int)iv;
        }
        o->nlabels = cnt;
        dolor_cli_free_list(items);
        return s;
    }
    if (!strcmp(n, "schedule")) return dolor_lr_schedule_parse(v, &o->tc.schedule);
    if (!strcmp(n, "upsample")) {
        if (!strcmp(v, "transposed")) o->upsample = DOLOR_UP_TRANSPOSED;
        else if (!strcmp(v, "bilinear")) o->upsample = DOLOR_UP_BILINEAR;
        else return dolor_error(DOLOR_EINVAL, "--upsample: '%s' is not transposed or bilinear", v);
        return DOLOR_OK;
    }
    if (!strcmp(n, "augment")) { o->tc.augment = on; return DOLOR_OK; }
    if (!strcmp(n, "hflip")) { o->tc.aug.hflip = on; return DOLOR_OK; }
    if (!strcmp(n, "quiet")) { o->tc.quiet = on; dolor_progress_set_enabled(!on); return DOLOR_OK; }
    if (!strcmp(n, "channels")) return dolor_cli_parse_channels(v, &o->channels);
    /* numbers: checked against the table's type and range before apply */
    struct { const char *name; int *dst; } ints[] = {
        {"epochs", &o->tc.epochs}, {"batch", &o->tc.batch_size}, {"warmup", &o->tc.warmup_epochs},
        {"step-size", &o->ct.step_size}};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        if (strcmp(n, ints[i].name))
            continue;
        *ints[i].dst = (int)strtol(v, NULL, 10);
        return DOLOR_OK;
    }
    if (!strcmp(n, "seed")) {
        o->tc.seed = (uint64_t)strtol(v, NULL, 10);
        return DOLOR_OK;
    }
    struct { const char *name; double *dst; } nums[] = {
        {"lr", &o->tc.lr}, {"wd", &o->tc.weight_decay},
        {"rotate", &o->tc.aug.rotate_deg}, {"brightness", &o->tc.aug.brightness}, {"contrast", &o->tc.aug.contrast},
        {"gamma", &o->tc.aug.gamma}, {"ce-weight", &o->tc.ce_weight}, {"dice-weight", &o->tc.dice_weight},
        {"time-limit", &o->tc.time_limit_min}, {"momentum", &o->tc.momentum}, {"pos-weight", &o->ct.pos_weight},
        {"focal-alpha", &o->ct.focal_alpha}, {"focal-gamma", &o->ct.focal_gamma}, {"lr-gamma", &o->ct.gamma}};
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
        if (strcmp(n, nums[i].name))
            continue;
        *nums[i].dst = strtod(v, NULL);
        return DOLOR_OK;
    }
    return dolor_error(DOLOR_EINVAL, "option --%s is not handled", n);
}

static void help(void)
{
    printf("usage: dolor train [--data DIR | --images DIR --masks DIR] --classes A,B [--labels 1,2] -o OUT [options]\n\n"
           "Trains a 2D segmentation network (U-Net by default, --arch; oneDNN, CPU) with AdamW (or --optimizer sgd:\n"
           "nnU-Net's SGD is --optimizer sgd --lr 0.01 --schedule poly --wd 3e-5, momentum 0.99 with Nesterov by\n"
           "default) on images and label maps matched by file stem, validating\n"
           "every epoch on a seeded hold-out split (mean Dice over foreground classes). Writes OUT/best.safetensors,\n"
           "OUT/last.safetensors, OUT/log.csv (per-epoch loss, Dice per class, lr, seconds), OUT/split.csv and,\n"
           "at the end, OUT/val_eval/ (per-case and summary metrics of best.safetensors on the validation images\n"
           "at their original size) and OUT/val_pred/ (predicted label maps).\n\noptions:\n");
    dolor_opts_print_help(stdout, specs, NSPECS);
    printf("\narchitectures (--arch NAME --arch-opt KEY=VALUE,...; in_channels and num_classes are set from the data):\n");
    for (int i = 0; i < dolor_arch_count(); i++) {
        printf("  %s: ", dolor_arch_name(i));
        for (const char *h = dolor_arch_help(i); *h; h++)
            fputs(*h == '\n' ? "\n      " : (char[2]){*h, 0}, stdout);
        printf("\n");
    }
    printf("\nexample (usgra-nerve):\n  dolor train --data ../shared/data/usgra-nerve --classes nerve,vessel --labels 1,2 "
           "-o runs/usgra --epochs 40\n");
    printf("\n3D segmentation by a plan (--plan PLAN.json from dolor plan; docs/nnunet.md):\n"
           "  dolor train --plan PLAN.json [--data DIR] -o OUT [--epochs E --iterations I --lr --wd --seed ...]\n"
           "Trains the plan's 3D U-Net on every case of the nnU-Net dataset's imagesTr/ (resampled to the plan's\n"
           "spacing, normalised per channel as the plan says) with random patches, a third of each batch centred on\n"
           "foreground (nnU-Net's oversampling), CE + soft Dice, AdamW with the poly schedule. No validation split:\n"
           "hold cases out in imagesTs/ and run dolor predict + dolor eval. OUT/best.safetensors (final weights),\n"
           "OUT/last.safetensors (with optimizer state), OUT/log.csv. dolor predict segments volumes with 3D sliding\n"
           "windows and writes NIfTI label maps with the input's affine.\n");
    printf("\nclassification (--task classify; docs/classification.md):\n"
           "  dolor train --task classify (--csv FILE | --data DIR) -o OUT [--size N | HxW | DxHxW] [options]\n"
           "Trains a classifier (--arch resnet by default: --arch-opt depth=10|18|34|50|101, width=64; 3D with a\n"
           "DxHxW --size) on a CSV listing image,label[,patient] (--image-col, --label-col, --patient-col; paths\n"
           "relative to the CSV's folder; PNG/JPEG, NIfTI, MetaImage or a DICOM series folder) or on DIR/<class>/<case>\n"
           "folders. Images are made grey, resized (bilinear, 3D trilinear) and z-scored; augmentation: --flip,\n"
           "--rotate (degrees, axial), --contrast (intensity scale), --brightness (intensity shift). The split is by\n"
           "patient and stratified (--val-fraction, or --kfold K --fold F). Labels are class indices or names\n"
           "(--classes fixes the order; default: integers 0..max, else names sorted). --loss bce or focal train one\n"
           "logit for 2 classes, ce one per class. Validation each epoch: accuracy, AUC, sensitivity, specificity\n"
           "(log.csv); best.safetensors (best AUC), last.safetensors, val_predictions.csv, split.csv. --resume\n"
           "OUT/last.safetensors continues a run (the model, classes, size and seed come from it; SGD momentum\n"
           "restarts, Adam/AdamW continue exactly).\n"
           "Options only for segmentation: --images --masks --labels --label-desc --base --depth --upsample\n"
           "--val-list --hflip --gamma --ce-weight --dice-weight --final-eval; only for classify: --csv\n"
           "--image-col --label-col --patient-col --loss --class-weights\n"
           "--pos-weight --focal-alpha --focal-gamma --step-size --lr-gamma --flip --kfold --fold.\n"
           "example (Med3D recipe, examples/multifidus-3d-resnet18.json):\n"
           "  dolor train --task classify --csv cases.csv --size 64x128x128 --arch-opt depth=18 --batch 4 \\\n"
           "      --optimizer sgd --momentum 0.9 --lr 0.001 --loss bce -o runs/cls3d\n");
}

/* Evaluate the best checkpoint on validation images at full size. */
static dolor_status final_eval(const char *out, dolor_dataset *ds, const size_t *val, size_t nval)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/best.safetensors", out);
    dolor_net *net = NULL;
    dolor_model_meta meta;
    dolor_status s = dolor_checkpoint_load(path, &net, NULL, &meta);
    if (s)
        return s;
    const char *names[DOLOR_MAX_CLASSES];
    for (int c = 0; c < meta.num_classes; c++)
        names[c] = meta.class_names[c];
    dolor_seg_eval *ev = NULL;
    dolor_segment_scratch *scratch = NULL;
    s = dolor_seg_eval_create(meta.num_classes, names, &ev);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/val_pred", out);
    if (!s)
        s = dolor_mkdir_p(dir);
    double ms = 0;
    for (size_t i = 0; !s && i < nval; i++) {
        dolor_image *img = NULL, *cls = NULL, *lab = NULL;
        uint8_t *truth = NULL;
        s = dolor_dataset_read_image(ds, val[i], &img);
        double t0 = dolor_time_ms();
        if (!s)
            s = dolor_segment_image(net, &meta, img, &scratch, &cls);
        ms += dolor_time_ms() - t0;
        if (!s) {
            truth = malloc(dolor_image_nvox(cls));
            if (!truth)
                s = dolor_error(DOLOR_ENOMEM, "out of memory");
        }
        /* the mask at the image's original size, by the dataset's own label rules */
        if (!s)
            s = dolor_dataset_mask_orig(ds, val[i], truth);
        /* with the mask file's geometry, so HD95/ASSD and their unit are those of dolor eval on val_pred/ */
        if (!s)
            s = dolor_cli_eval_add_truth(ev, ds, val[i], truth, cls);
        if (!s)
            s = dolor_classes_to_labels(cls, &meta, &lab);
        if (!s)
            s = dolor_cli_write_labelmap(dir, dolor_dataset_stem(ds, val[i]), lab, 0, meta.label_values,
                                         meta.num_classes, NULL, 0);
        free(truth);
        dolor_image_free(img);
        dolor_image_free(cls);
        dolor_image_free(lab);
    }
    if (!s) {
        snprintf(dir, sizeof dir, "%s/val_eval", out);
        s = dolor_seg_eval_write_csv(ev, dir);
    }
    if (!s) {
        printf("\nvalidation (%zu images, original size, best.safetensors epoch %d, %.1f ms/image):\n", nval, meta.epoch,
               nval ? ms / (double)nval : 0.0);
        dolor_seg_eval_print(ev, stdout);
        printf("mean foreground Dice: %.4f\nwritten: %s/val_eval/ and %s/val_pred/\n", dolor_seg_eval_mean_fg_dice(ev),
               out, out);
    }
    dolor_segment_scratch_free(scratch);
    dolor_seg_eval_free(ev);
    dolor_net_free(net);
    return s;
}

static dolor_status write_split(const char *out, dolor_dataset *ds, const size_t *tr, size_t ntr, const size_t *va,
                                size_t nva)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/split.csv", out);
    dolor_outfile f;
    dolor_status s = dolor_outfile_open(&f, path, 1);
    if (s)
        return s;
    fprintf(f.fp, "case,set\n");
    for (size_t i = 0; i < ntr; i++)
        fprintf(f.fp, "%s,train\n", dolor_dataset_stem(ds, tr[i]));
    for (size_t i = 0; i < nva; i++)
        fprintf(f.fp, "%s,val\n", dolor_dataset_stem(ds, va[i]));
    s = dolor_outfile_commit(&f);
    if (s)
        return s;
    snprintf(path, sizeof path, "%s/val_list.txt", out);
    s = dolor_outfile_open(&f, path, 1);
    if (s)
        return s;
    for (size_t i = 0; i < nva; i++)
        fprintf(f.fp, "%s\n", dolor_dataset_stem(ds, va[i]));
    return dolor_outfile_commit(&f);
}

static void opts_init(train_opts *o)
{
    memset(o, 0, sizeof *o);
    dolor_train_config_default(&o->tc);
    dolor_cls_train_config_default(&o->ct);
    o->size = 256;
    o->base = 16;
    o->depth = 4;
    o->val_fraction = 0.2;
    o->final_eval = 1;
    o->upsample = DOLOR_UP_TRANSPOSED;
    o->iterations = 50;
}

static void opts_release(train_opts *o)
{
    free(o->images);
    free(o->masks);
    free(o->data);
    free(o->out);
    free(o->val_list);
    free(o->resume);
    free(o->init);
    free(o->plan);
    free(o->arch);
    free(o->csv);
    free(o->image_col);
    free(o->label_col);
    free(o->patient_col);
    dolor_cli_free_list(o->classes);
    dolor_cli_free_list(o->arch_kv);
}

/* The training options as JSON keyed by option name, stored in checkpoints so
 * that --resume continues with them (command-line options still override). */
static void opts_to_json(const train_opts *o, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "{\"epochs\":%d,\"batch\":%d,\"lr\":%.17g,\"wd\":%.17g,\"schedule\":\"%s\",\"warmup\":%d,"
             "\"augment\":%s,\"rotate\":%.17g,\"hflip\":%s,\"brightness\":%.17g,\"contrast\":%.17g,\"gamma\":%.17g,"
             "\"ce-weight\":%.17g,\"dice-weight\":%.17g,\"seed\":%llu,\"val-fraction\":%.17g,\"optimizer\":\"%s\"",
             o->tc.epochs, o->tc.batch_size, o->tc.lr, o->tc.weight_decay, dolor_lr_schedule_name(o->tc.schedule),
             o->tc.warmup_epochs, o->tc.augment ? "true" : "false", o->tc.aug.rotate_deg,
             o->tc.aug.hflip ? "true" : "false", o->tc.aug.brightness, o->tc.aug.contrast, o->tc.aug.gamma,
             o->tc.ce_weight, o->tc.dice_weight, (unsigned long long)o->tc.seed, o->val_fraction,
             dolor_optimizer_name(o->tc.optimizer));
    size_t n = strlen(buf);
    if (o->tc.optimizer == DOLOR_OPT_SGD) /* momentum and Nesterov belong to SGD only */
        snprintf(buf + n, cap - n, ",\"momentum\":%.17g,\"nesterov\":%s}", o->tc.momentum,
                 o->tc.nesterov ? "true" : "false");
    else
        snprintf(buf + n, cap - n, "}");
}

static int spec_given(const train_opts *o, const char *name);

/* Checks --optimizer, --momentum and --nesterov for segmentation (dolor_train_config_default: AdamW; SGD with
 * momentum 0.99 and Nesterov, nnU-Net's; classification copies them where given). 0 or a usage error. */
static int seg_optimizer(const train_opts *o)
{
    if (o->tc.optimizer != DOLOR_OPT_SGD && (spec_given(o, "momentum") || spec_given(o, "nesterov")))
        return dolor_cli_usage_error("train", "--momentum and --nesterov are for --optimizer sgd (now %s; Adam's "
                                     "betas are 0.9, 0.999)", dolor_optimizer_name(o->tc.optimizer));
    if (o->tc.optimizer == DOLOR_OPT_SGD && o->tc.nesterov && !(o->tc.momentum > 0))
        return dolor_cli_usage_error("train", "Nesterov needs --momentum > 0 (or --no-nesterov)");
    return 0;
}

static void join_names(char *buf, size_t cap, const char *const *names, int n)
{
    buf[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", i ? "," : "", names[i]);
}

static void join_ints(char *buf, size_t cap, const int *v, int first, int n)
{
    buf[0] = '\0';
    for (int i = first; i < n; i++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%d", i > first ? "," : "", v[i]);
}

static int is_unet(const train_opts *o) { return !o->arch || !strcmp(o->arch, "unet"); }

/* The architecture config of a new model: in_channels and num_classes from the data, the U-Net's
 * --base/--depth/--upsample, then --arch-opt on top. Caller frees *json. */
static dolor_status model_config(const train_opts *o, int num_classes, char **json)
{
    cJSON *c = cJSON_CreateObject();
    if (!c)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    cJSON_AddNumberToObject(c, "in_channels", o->channels > 0 ? o->channels : 1);
    cJSON_AddNumberToObject(c, "num_classes", num_classes);
    if (is_unet(o)) {
        cJSON_AddNumberToObject(c, "base_channels", (double)o->base);
        cJSON_AddNumberToObject(c, "depth", (double)o->depth);
        cJSON_AddStringToObject(c, "upsample", o->upsample == DOLOR_UP_BILINEAR ? "bilinear" : "transposed");
    }
    for (int i = 0; i < o->narch_kv; i++) {
        char key[64];
        const char *eq = strchr(o->arch_kv[i], '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - o->arch_kv[i]), o->arch_kv[i]);
        cJSON_DeleteItemFromObjectCaseSensitive(c, key);
        cJSON_AddItemToObject(c, key, dolor_cli_kv_value(eq + 1));
    }
    *json = cJSON_PrintUnformatted(c);
    cJSON_Delete(c);
    return *json ? DOLOR_OK : dolor_error(DOLOR_ENOMEM, "out of memory");
}

/* --arch-opt items given again on --resume must repeat the stored config: 1 with the first that does not. */
static int arch_opt_conflict(const train_opts *o, const dolor_model_meta *m, char *given, char *stored, size_t cap)
{
    cJSON *c = cJSON_Parse(m->arch_config);
    int bad = 0;
    for (int i = 0; !bad && i < o->narch_kv; i++) {
        char key[64];
        const char *eq = strchr(o->arch_kv[i], '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - o->arch_kv[i]), o->arch_kv[i]);
        cJSON *sv = cJSON_GetObjectItemCaseSensitive(c, key), *gv = dolor_cli_kv_value(eq + 1);
        bad = !sv || (cJSON_IsNumber(gv) != cJSON_IsNumber(sv)) ||
              (cJSON_IsNumber(gv) ? gv->valuedouble != sv->valuedouble
                                  : !cJSON_IsString(sv) || strcmp(gv->valuestring, sv->valuestring));
        if (bad) {
            snprintf(given, cap, "%s", o->arch_kv[i]);
            char *t = sv ? cJSON_PrintUnformatted(sv) : NULL;
            snprintf(stored, cap, "%s=%s", key, t ? t : "(absent)");
            free(t);
        }
        cJSON_Delete(gv);
    }
    cJSON_Delete(c);
    return bad;
}

/* On --resume the model options come from the checkpoint m: an option given
 * again (command line or --config) must repeat the stored value. Returns 0, or
 * 1 with "--size 128 differs from 64 stored in CKPT" in msg. */
static int resume_conflict(const train_opts *o, const dolor_model_meta *m, const char *ckpt, char *msg, size_t cap)
{
    char given[1024], stored[1024];
    const char *opt = NULL;
    unsigned g = o->arch_given;
    int by_desc = (g >> ARCH_LABEL_DESC) & 1u;
    if ((g & (1u << ARCH_CLASSES | 1u << ARCH_LABEL_DESC)) && o->classes) {
        const char *names[DOLOR_MAX_CLASSES];
        for (int c = 1; c < m->num_classes; c++)
            names[c - 1] = m->class_names[c];
        join_names(given, sizeof given, (const char *const *)o->classes, o->nclasses);
        join_names(stored, sizeof stored, names, m->num_classes - 1);
        if (strcmp(given, stored))
            opt = by_desc ? "label-desc (classes)" : "classes";
    }
    if (!opt && (g & (1u << ARCH_LABELS | 1u << ARCH_LABEL_DESC)) && o->nlabels) {
        join_ints(given, sizeof given, o->labels, 1, o->nlabels + 1);
        join_ints(stored, sizeof stored, m->label_values, 1, m->num_classes);
        if (strcmp(given, stored))
            opt = by_desc ? "label-desc (labels)" : "labels";
    }
    if (!opt && (g >> ARCH_ARCH & 1u) && strcmp(o->arch ? o->arch : "unet", m->arch_name)) {
        opt = "arch";
        snprintf(given, sizeof given, "%s", o->arch ? o->arch : "unet");
        snprintf(stored, sizeof stored, "%s", m->arch_name);
    }
    if (!opt && (g >> ARCH_ARCH_OPT & 1u) && arch_opt_conflict(o, m, given, stored, sizeof given))
        opt = "arch-opt";
    int stored_unet = !strcmp(m->arch_name, "unet");
    for (int b = ARCH_BASE; !opt && !stored_unet && b <= ARCH_UPSAMPLE; b++)
        if (g >> b & 1u) {
            snprintf(msg, cap, "--%s is a unet option and %s holds a %s model", arch_opts[b], ckpt, m->arch_name);
            return 1;
        }
    struct { int bit; long given, stored; } nums[] = {{ARCH_SIZE, o->size, m->height},
                                                      {ARCH_BASE, o->base, m->arch.base_channels},
                                                      {ARCH_DEPTH, o->depth, m->arch.depth}};
    for (size_t i = 0; !opt && i < sizeof nums / sizeof *nums; i++)
        if ((g >> nums[i].bit & 1u) && nums[i].given != nums[i].stored) {
            opt = arch_opts[nums[i].bit];
            snprintf(given, sizeof given, "%ld", nums[i].given);
            snprintf(stored, sizeof stored, "%ld", nums[i].stored);
        }
    if (!opt && (g >> ARCH_UPSAMPLE & 1u) && o->upsample != m->arch.upsample) {
        opt = "upsample";
        snprintf(given, sizeof given, "%s", o->upsample == DOLOR_UP_BILINEAR ? "bilinear" : "transposed");
        snprintf(stored, sizeof stored, "%s", m->arch.upsample == DOLOR_UP_BILINEAR ? "bilinear" : "transposed");
    }
    if (!opt)
        return 0;
    snprintf(msg, cap, "--%s %s differs from %s stored in %s (the model's options cannot be changed on --resume)", opt,
             given, stored, ckpt);
    return 1;
}

static int spec_given(const train_opts *o, const char *name)
{
    for (int i = 0; i < NSPECS; i++)
        if (!strcmp(specs[i].name, name))
            return o->given[i];
    return 0;
}

/* dolor train --task classify */
static int train_classify(train_opts *o)
{
    int rc = DOLOR_EXIT_OK;
    dolor_status s = DOLOR_OK;
    dolor_cls_dataset *ds = NULL;
    dolor_net *net = NULL;
    dolor_adamw *opt = NULL;
    size_t *tr = NULL, *va = NULL, ntr = 0, nva = 0;
    char *cfgjs = NULL;
    dolor_cls_train_config ct = o->ct;
    /* the options both tasks share, where given */
    if (spec_given(o, "epochs")) ct.epochs = o->tc.epochs;
    if (spec_given(o, "batch")) ct.batch_size = o->tc.batch_size;
    if (spec_given(o, "lr")) ct.lr = o->tc.lr;
    if (spec_given(o, "wd")) ct.weight_decay = o->tc.weight_decay;
    if (spec_given(o, "schedule")) ct.schedule = o->tc.schedule;
    if (spec_given(o, "warmup")) ct.warmup_epochs = o->tc.warmup_epochs;
    if (spec_given(o, "optimizer")) ct.optimizer = o->tc.optimizer;
    if (spec_given(o, "momentum")) ct.momentum = o->tc.momentum;
    if (spec_given(o, "nesterov")) ct.nesterov = o->tc.nesterov;
    if (spec_given(o, "augment")) ct.augment = o->tc.augment;
    if (spec_given(o, "rotate")) ct.aug.rotate_deg = o->tc.aug.rotate_deg;
    if (spec_given(o, "brightness")) ct.aug.shift = o->tc.aug.brightness;
    if (spec_given(o, "contrast")) ct.aug.scale = o->tc.aug.contrast;
    ct.time_limit_min = o->tc.time_limit_min;
    ct.quiet = o->tc.quiet;
    ct.seed = o->tc.seed;
    if (!o->out)
        return dolor_cli_usage_error("train", "give an output folder with -o OUT");
    if (!o->csv == !o->data)
        return dolor_cli_usage_error("train", "--task classify: give --csv FILE or --data DIR (a folder per class), "
                                              "not %s", o->csv ? "both" : "neither");
    if (ct.nesterov && ct.optimizer != DOLOR_OPT_SGD)
        return dolor_cli_usage_error("train", "--nesterov is for --optimizer sgd");
    if (spec_given(o, "momentum") && ct.optimizer != DOLOR_OPT_SGD)
        return dolor_cli_usage_error("train", "--momentum is for --optimizer sgd (Adam's betas are 0.9, 0.999)");
    if (ct.nesterov && !(ct.momentum > 0))
        return dolor_cli_usage_error("train", "--nesterov needs --momentum > 0");
    if ((spec_given(o, "step-size") || spec_given(o, "lr-gamma")) && ct.schedule != DOLOR_LR_STEP)
        return dolor_cli_usage_error("train", "--step-size and --lr-gamma are for --schedule step (now %s)",
                                     dolor_lr_schedule_name(ct.schedule));
    if (o->ncw && ct.loss != DOLOR_CLS_LOSS_CE)
        return dolor_cli_usage_error("train", "--class-weights is for --loss ce (bce has --pos-weight)");
    if (spec_given(o, "pos-weight") && ct.loss != DOLOR_CLS_LOSS_BCE)
        return dolor_cli_usage_error("train", "--pos-weight is for --loss bce");
    if ((spec_given(o, "focal-alpha") || spec_given(o, "focal-gamma")) && ct.loss != DOLOR_CLS_LOSS_FOCAL)
        return dolor_cli_usage_error("train", "--focal-alpha and --focal-gamma are for --loss focal");
    if (spec_given(o, "fold") && !o->kfold)
        return dolor_cli_usage_error("train", "--fold needs --kfold K");
    if (o->kfold && o->fold >= o->kfold)
        return dolor_cli_usage_error("train", "--fold %ld is not in 0..%ld", o->fold, o->kfold - 1);
    if (o->kfold && spec_given(o, "val-fraction"))
        return dolor_cli_usage_error("train", "give --kfold or --val-fraction, not both");
    const char *an = o->arch ? o->arch : "resnet";
    dolor_model_meta meta;
    memset(&meta, 0, sizeof meta);
    const char *rnames[DOLOR_MAX_CLASSES];
    double best = -1;
    if (o->resume) {
        /* the model, its classes, size and seed come from the checkpoint; given again, they must repeat it */
        s = dolor_checkpoint_load(o->resume, &net, &opt, &meta);
        if (s)
            goto fail;
        char given[1024], stored[1024];
        if (strcmp(meta.task, "classification")) {
            rc = dolor_cli_usage_error("train", "%s holds a segmentation model; --task classify resumes a classifier",
                                       o->resume);
            goto out;
        }
        if (o->arch && strcmp(o->arch, meta.arch_name)) {
            rc = dolor_cli_usage_error("train", "--arch %s differs from %s stored in %s", o->arch, meta.arch_name,
                                       o->resume);
            goto out;
        }
        if (arch_opt_conflict(o, &meta, given, stored, sizeof given)) {
            rc = dolor_cli_usage_error("train", "--arch-opt %s differs from %s stored in %s", given, stored, o->resume);
            goto out;
        }
        long want[3] = {meta.depth, meta.height, meta.width};
        int nw = meta.depth ? 3 : 2, same = !o->nsz || o->nsz == nw || (o->nsz == 1 && nw == 2);
        for (int i = 0; same && o->nsz && i < nw; i++)
            same = o->sz[o->nsz == 1 ? 0 : i] == want[meta.depth ? i : i + 1];
        if (!same) {
            char st[64];
            if (meta.depth)
                snprintf(st, sizeof st, "%dx%dx%d", meta.depth, meta.height, meta.width);
            else
                snprintf(st, sizeof st, "%dx%d", meta.height, meta.width);
            rc = dolor_cli_usage_error("train", "--size differs from %s stored in %s (the model's options cannot be "
                                       "changed on --resume)", st, o->resume);
            goto out;
        }
        for (int k = 0; k < meta.num_classes; k++)
            rnames[k] = meta.class_names[k];
        if (o->classes) {
            join_names(given, sizeof given, (const char *const *)o->classes, o->nclasses);
            join_names(stored, sizeof stored, rnames, meta.num_classes);
            if (strcmp(given, stored)) {
                rc = dolor_cli_usage_error("train", "--classes %s differs from %s stored in %s", given, stored,
                                           o->resume);
                goto out;
            }
        }
        if (spec_given(o, "seed") && ct.seed != meta.seed) {
            rc = dolor_cli_usage_error("train", "--seed %llu differs from %llu stored in %s",
                                       (unsigned long long)ct.seed, (unsigned long long)meta.seed, o->resume);
            goto out;
        }
        ct.seed = meta.seed;
        if (meta.epoch >= ct.epochs) {
            fprintf(stderr, "dolor train: %s already completed %d epochs (--epochs %d); raise --epochs to continue\n",
                    o->resume, meta.epoch, ct.epochs);
            rc = DOLOR_EXIT_INPUT;
            goto out;
        }
        if (ct.optimizer != DOLOR_OPT_SGD && !opt) {
            rc = dolor_cli_usage_error("train", "%s holds no optimizer state; resume from last.safetensors", o->resume);
            goto out;
        }
        char bp[4096];
        snprintf(bp, sizeof bp, "%s/best.safetensors", o->out);
        dolor_model_meta bm;
        if (dolor_checkpoint_read_meta(bp, &bm) == DOLOR_OK && !isnan(bm.val_dice))
            best = bm.val_dice;
        dolor_error_clear();
        fprintf(stderr, "resuming from %s after epoch %d (best validation AUC so far %.4f)%s\n", o->resume, meta.epoch,
                best, ct.optimizer == DOLOR_OPT_SGD ? "; SGD momentum restarts from zero" : "");
    }
    /* spatial dims: a DxHxW size, or the architecture option */
    int dims = o->nsz == 3 ? 3 : 2;
    for (int i = 0; i < o->narch_kv; i++)
        if (!strncmp(o->arch_kv[i], "spatial_dims=", 13)) {
            int d = atoi(o->arch_kv[i] + 13);
            if (o->nsz && (d == 3) != (o->nsz == 3))
                return dolor_cli_usage_error("train", "--arch-opt %s with --size %s", o->arch_kv[i],
                                             o->nsz == 3 ? "DxHxW (3D)" : "N or HxW (2D)");
            dims = d == 3 ? 3 : 2;
        }
    int D = 1, H, W;
    if (o->resume) {
        dims = meta.depth ? 3 : 2;
        D = meta.depth ? meta.depth : 1;
        H = meta.height;
        W = meta.width;
    } else if (dims == 3) {
        D = o->nsz ? (int)o->sz[0] : 64;
        H = o->nsz ? (int)o->sz[1] : 128;
        W = o->nsz ? (int)o->sz[2] : 128;
    } else {
        H = o->nsz ? (int)o->sz[0] : 224;
        W = o->nsz == 2 ? (int)o->sz[1] : H;
    }
    if (o->threads)
        omp_set_num_threads((int)o->threads);
    dolor_outfile_clean_stale(o->out);

    dolor_cls_config dc;
    dolor_cls_config_default(&dc);
    dc.csv = o->csv;
    dc.dir = o->csv ? NULL : o->data;
    dc.image_col = o->image_col;
    dc.label_col = o->label_col;
    dc.patient_col = o->patient_col;
    dc.spatial_dims = dims;
    dc.depth = D;
    dc.height = H;
    dc.width = W;
    dc.num_classes = o->resume ? meta.num_classes : o->classes ? o->nclasses : 0;
    dc.class_names = o->resume ? rnames : (const char *const *)o->classes;
    if (dims == 2)
        ct.aug.flip_h = ct.aug.flip_d = 0;
    s = dolor_cls_dataset_open(&dc, &ds);
    if (s)
        goto fail;
    int K = dolor_cls_dataset_num_classes(ds);
    if (K > DOLOR_MAX_CLASSES) {
        rc = dolor_cli_usage_error("train", "%d classes (at most %d)", K, DOLOR_MAX_CLASSES);
        goto out;
    }
    if (ct.loss != DOLOR_CLS_LOSS_CE && K != 2) {
        rc = dolor_cli_usage_error("train", "--loss %s needs 2 classes, the data has %d: use --loss ce",
                                   dolor_cls_loss_name(ct.loss), K);
        goto out;
    }
    if (o->ncw && o->ncw != K) {
        rc = dolor_cli_usage_error("train", "--class-weights has %d values for %d classes", o->ncw, K);
        goto out;
    }
    if (o->ncw)
        ct.class_weights = o->class_weights;
    s = o->kfold ? dolor_cls_dataset_kfold(ds, (int)o->kfold, (int)o->fold, ct.seed, &tr, &ntr, &va, &nva)
                 : dolor_cls_dataset_split(ds, o->val_fraction, ct.seed, &tr, &ntr, &va, &nva);
    if (s)
        goto fail;
    if (o->resume)
        goto model_ready;
    /* the model: in_channels 1, one logit (bce, focal) or K (ce), the dataset's spatial dims, then --arch-opt */
    {
        cJSON *c = cJSON_CreateObject();
        if (!c) {
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
            goto fail;
        }
        cJSON_AddNumberToObject(c, "in_channels", 1);
        cJSON_AddNumberToObject(c, "num_classes", ct.loss == DOLOR_CLS_LOSS_CE ? K : 1);
        if (!strcmp(an, "resnet"))
            cJSON_AddNumberToObject(c, "spatial_dims", dims);
        for (int i = 0; i < o->narch_kv; i++) {
            char key[64];
            const char *eq = strchr(o->arch_kv[i], '=');
            snprintf(key, sizeof key, "%.*s", (int)(eq - o->arch_kv[i]), o->arch_kv[i]);
            cJSON_DeleteItemFromObjectCaseSensitive(c, key);
            cJSON_AddItemToObject(c, key, dolor_cli_kv_value(eq + 1));
        }
        cfgjs = cJSON_PrintUnformatted(c);
        cJSON_Delete(c);
    }
    s = cfgjs ? dolor_arch_build(an, cfgjs, &net) : dolor_error(DOLOR_ENOMEM, "out of memory");
    if (s == DOLOR_ENOTFOUND || s == DOLOR_EINVAL) {
        rc = dolor_cli_usage_error("train", "--arch %s: %s", an, dolor_errmsg());
        goto out;
    }
    if (s)
        goto fail;
    {
        int ond = 0;
        int64_t od[5];
        if (dolor_net_output_shape(net, 0, &ond, od) || ond != 2) {
            rc = dolor_cli_usage_error("train", "--arch %s is not a classifier (its output has %d dims, not [N, K])", an,
                                       ond);
            goto out;
        }
    }
    snprintf(meta.task, sizeof meta.task, "classification");
    snprintf(meta.arch_name, sizeof meta.arch_name, "%s", an);
    s = dolor_net_config_json(net, meta.arch_config, sizeof meta.arch_config);
    if (s)
        goto fail;
    meta.in_channels = 1;
    meta.num_classes = K;
    for (int k = 0; k < K; k++) {
        snprintf(meta.class_names[k], sizeof meta.class_names[k], "%s", dolor_cls_dataset_class_name(ds, k));
        meta.label_values[k] = k;
    }
    meta.depth = dims == 3 ? D : 0;
    meta.height = H;
    meta.width = W;
    meta.seed = ct.seed;
    meta.val_dice = NAN;
    s = dolor_net_init(net, ct.seed);
    if (s)
        goto fail;
model_ready:
    snprintf(meta.train_json, sizeof meta.train_json,
             "{\"task\":\"classify\",\"epochs\":%d,\"batch\":%d,\"optimizer\":\"%s\",\"lr\":%.17g,\"momentum\":%.17g,"
             "\"nesterov\":%s,\"wd\":%.17g,\"schedule\":\"%s\",\"warmup\":%d,\"step-size\":%d,\"lr-gamma\":%.17g,"
             "\"loss\":\"%s\",\"augment\":%s,\"seed\":%llu}",
             ct.epochs, ct.batch_size, dolor_optimizer_name(ct.optimizer), ct.lr, ct.momentum,
             ct.nesterov ? "true" : "false", ct.weight_decay, dolor_lr_schedule_name(ct.schedule), ct.warmup_epochs,
             ct.step_size, ct.gamma, dolor_cls_loss_name(ct.loss), ct.augment ? "true" : "false",
             (unsigned long long)ct.seed);
    s = dolor_mkdir_p(o->out);
    if (!s) { /* split.csv: every case, its patient, class and side */
        char path[4096];
        snprintf(path, sizeof path, "%s/split.csv", o->out);
        dolor_outfile f;
        s = dolor_outfile_open(&f, path, 1);
        if (!s) {
            fprintf(f.fp, "path,patient,label,set\n");
            for (int side = 0; side < 2; side++) {
                const size_t *ix = side ? va : tr;
                for (size_t i = 0; i < (side ? nva : ntr); i++) {
                    dolor_csv_write_field(f.fp, dolor_cls_dataset_path(ds, ix[i]));
                    fputc(',', f.fp);
                    dolor_csv_write_field(f.fp, dolor_cls_dataset_patient(ds, ix[i]));
                    fputc(',', f.fp);
                    dolor_csv_write_field(f.fp, dolor_cls_dataset_class_name(ds, dolor_cls_dataset_label(ds, ix[i])));
                    fprintf(f.fp, ",%s\n", side ? "val" : "train");
                }
            }
            s = dolor_outfile_commit(&f);
        }
    }
    if (s)
        goto fail;
    if (dims == 3)
        fprintf(stderr, "model: %s %s, %zu parameters, input %dx%dx%d (DxHxW), classes:", meta.arch_name,
                meta.arch_config, dolor_net_num_params(net), D, H, W);
    else
        fprintf(stderr, "model: %s %s, %zu parameters, input %dx%d, classes:", meta.arch_name, meta.arch_config,
                dolor_net_num_params(net), H, W);
    for (int k = 0; k < K; k++)
        fprintf(stderr, " %d=%s", k, meta.class_names[k]);
    fprintf(stderr, "\n");
    ct.out_dir = o->out;
    s = dolor_cls_train_run(&ct, net, opt, ds, tr, ntr, va, nva, &meta, &best);
    if (s)
        goto fail;
    printf("best validation AUC: %.4f (accuracy where the AUC is undefined; %zu training, %zu validation cases)\n"
           "checkpoints: %s/best.safetensors, "
           "%s/last.safetensors\nlog: %s/log.csv\n",
           best, ntr, nva, o->out, o->out, o->out);
    goto out;
fail:
    rc = dolor_cli_fail("train", s);
out:
    free(cfgjs);
    free(tr);
    free(va);
    dolor_net_free(net);
    dolor_adamw_free(opt);
    dolor_cls_dataset_free(ds);
    return rc;
}

/* Options --plan takes; any other is an error (the plan gives the model, patch, batch and preprocessing). */
static const char *const plan_ok[] = {"data", "out", "epochs", "lr", "wd", "seed", "threads", "quiet", "time-limit",
                                      "ce-weight", "dice-weight", "plan", "iterations", "config"};

static int train_plan(train_opts *o)
{
    for (int i = 0; i < NSPECS; i++) {
        if (!o->given[i])
            continue;
        int ok = 0;
        for (size_t j = 0; j < sizeof plan_ok / sizeof *plan_ok; j++)
            ok |= !strcmp(specs[i].name, plan_ok[j]);
        if (!ok)
            return dolor_cli_usage_error("train", "--%s is not used with --plan (the plan gives the model, patch, batch "
                                         "and preprocessing; edit the plan instead)", specs[i].name);
    }
    dolor_plan pl;
    dolor_status s = dolor_plan_read(o->plan, &pl);
    if (s)
        return dolor_cli_usage_error("train", "%s", dolor_errmsg());
    if (!o->out)
        return dolor_cli_usage_error("train", "give an output folder with -o OUT");
    const char *data = o->data ? o->data : pl.dataset;
    if (!dolor_nnunet_is_dataset(data))
        return dolor_cli_usage_error("train", "%s: not an nnU-Net dataset (no dataset.json)%s", data,
                                     o->data ? "" : "; the plan's \"dataset\" (give --data DIR)");
    if (o->threads)
        omp_set_num_threads((int)o->threads);
    dolor_train3d_config c;
    dolor_train3d_config_default(&c);
    c.data_dir = data;
    c.out_dir = o->out;
    c.epochs = o->tc.epochs;
    c.iters_per_epoch = (int)o->iterations;
    c.lr = o->tc.lr;
    if (spec_given(o, "wd"))
        c.weight_decay = o->tc.weight_decay;
    c.ce_weight = o->tc.ce_weight;
    c.dice_weight = o->tc.dice_weight;
    c.time_limit_min = o->tc.time_limit_min;
    c.seed = o->tc.seed;
    c.quiet = o->tc.quiet;
    float loss = NAN;
    s = dolor_train3d_run(&c, &pl, &loss);
    if (s)
        return dolor_cli_fail("train", s);
    printf("final training loss %.4f (no validation cases: the final weights are the model)\ncheckpoints: "
           "%s/best.safetensors, %s/last.safetensors\nlog: %s/log.csv\n", loss, o->out, o->out, o->out);
    return DOLOR_EXIT_OK;
}

int dolor_cmd_train(int argc, char **argv)
{
    train_opts o;
    opts_init(&o);
    int want_help = 0, npos = 0, rc = DOLOR_EXIT_OK;
    char **pos = NULL;
    dolor_status s = dolor_cmd_parse(&train_cmd, argc, argv, apply, &o, &want_help, &pos, &npos, NULL);
    if (!s && !want_help && o.resume && !o.classify) {
        /* resume: the checkpoint's options first, then the command line again on top;
         * the model's own options may be repeated (README: "the same command plus --resume") */
        dolor_model_meta rm;
        char msg[3072];
        s = dolor_checkpoint_read_meta(o.resume, &rm);
        if (!s && resume_conflict(&o, &rm, o.resume, msg, sizeof msg)) {
            rc = dolor_cli_usage_error("train", "%s", msg);
            free(pos);
            opts_release(&o);
            return rc;
        }
        if (!s) {
            char *ckpt = o.resume;
            o.resume = NULL;
            opts_release(&o);
            opts_init(&o);
            o.resume = ckpt;
            /* the stored model, so checks below see it whether or not the options are repeated */
            o.size = rm.height;
            o.base = rm.arch.base_channels;
            o.depth = rm.arch.depth;
            o.upsample = rm.arch.upsample;
            free(pos);
            pos = NULL;
            s = dolor_opts_apply_json(rm.train_json, o.resume, specs, NSPECS, apply, &o);
            if (!s)
                s = dolor_cmd_parse(&train_cmd, argc, argv, apply, &o, &want_help, &pos, &npos, NULL);
        }
        if (s) {
            rc = dolor_cli_fail("train", s);
            free(pos);
            opts_release(&o);
            return rc;
        }
    }
    dolor_dataset *ds = NULL;
    dolor_net *net = NULL;
    dolor_adamw *opt = NULL;
    size_t *tr = NULL, *va = NULL, ntr = 0, nva = 0;
    char imgdir[4096], maskdir[4096];
    if (s) {
        rc = dolor_cli_usage_error("train", "%s", dolor_errmsg());
        goto out;
    }
    if (want_help) {
        help();
        goto out;
    }
    if (npos > 0) {
        rc = dolor_cli_usage_error("train", "unexpected argument '%s'", pos[0]);
        goto out;
    }
    for (int i = 0; i < NSPECS; i++) {
        if (!o.given[i])
            continue;
        const char *const *other = o.classify ? seg_only : cls_only;
        size_t nother = o.classify ? sizeof seg_only / sizeof *seg_only : sizeof cls_only / sizeof *cls_only;
        for (size_t j = 0; j < nother; j++)
            if (!strcmp(specs[i].name, other[j])) {
                rc = dolor_cli_usage_error("train", "--%s is a %s option; --task %s does not use it", specs[i].name,
                                           o.classify ? "segmentation" : "classification",
                                           o.classify ? "classify" : "segment (the default)");
                goto out;
            }
    }
    if (!o.plan && spec_given(&o, "iterations")) {
        rc = dolor_cli_usage_error("train", "--iterations is a --plan option (2D training counts epochs over the images)");
        goto out;
    }
    if (o.plan) {
        if (o.classify || o.resume) {
            rc = dolor_cli_usage_error("train", "--plan trains 3D segmentation from scratch: not with --task classify "
                                       "or --resume");
            goto out;
        }
        if (spec_given(&o, "optimizer") || spec_given(&o, "momentum") || spec_given(&o, "nesterov")) {
            rc = dolor_cli_usage_error("train", "--plan trains with AdamW: --optimizer, --momentum and --nesterov are "
                                       "2D segmentation and classification options");
            goto out;
        }
        rc = train_plan(&o);
        goto out;
    }
    if (o.classify && dolor_dist_size() > 1) {
        rc = dolor_cli_usage_error("train", "--task classify does not run data-parallel yet (run it without mpirun)");
        goto out;
    }
    if (o.classify) {
        rc = train_classify(&o);
        goto out;
    }
    if ((rc = seg_optimizer(&o)) != 0)
        goto out;
    if (o.nsz && (o.nsz != 1 || o.size < 16)) {
        rc = dolor_cli_usage_error("train", "--size %ld%s: segmentation takes one square size N (16..4096)", o.sz[0],
                                   o.nsz > 1 ? "x..." : "");
        goto out;
    }
    if (o.data) {
        snprintf(imgdir, sizeof imgdir, "%s/images", o.data);
        snprintf(maskdir, sizeof maskdir, "%s/masks", o.data);
    }
    /* an nnU-Net v2 dataset: classes (when not given) and channels from its dataset.json */
    int nnunet = o.data && !o.images && !o.masks && dolor_nnunet_is_dataset(o.data);
    if (nnunet && (s = dolor_cli_nnunet_defaults(o.data, !o.classes && !o.resume && !o.init, &o.classes, &o.nclasses,
                                                 o.labels, &o.nlabels, &o.channels))) {
        rc = dolor_cli_usage_error("train", "%s", dolor_errmsg());
        goto out;
    }
    if (o.images)
        snprintf(imgdir, sizeof imgdir, "%s", o.images);
    if (o.masks)
        snprintf(maskdir, sizeof maskdir, "%s", o.masks);
    if (!o.data && (!o.images || !o.masks)) {
        rc = dolor_cli_usage_error("train", "give --data DIR or both --images DIR and --masks DIR");
        goto out;
    }
    if (!o.out) {
        rc = dolor_cli_usage_error("train", "give an output folder with -o OUT");
        goto out;
    }
    if (o.init && (o.resume || (o.arch_given & (1u << ARCH_BASE | 1u << ARCH_DEPTH | 1u << ARCH_UPSAMPLE |
                                                1u << ARCH_ARCH | 1u << ARCH_ARCH_OPT)))) {
        rc = dolor_cli_usage_error("train", "--init %s gives the model: do not combine it with --resume, --arch, "
                                   "--arch-opt, --base, --depth or --upsample", o.init);
        goto out;
    }
    if (!o.classes && !o.resume && !o.init) {
        rc = dolor_cli_usage_error("train", "give the foreground classes, e.g. --classes nerve,vessel --labels 1,2");
        goto out;
    }
    if (o.classes && o.nlabels && o.nlabels != o.nclasses) {
        rc = dolor_cli_usage_error("train", "--classes has %d names but --labels has %d values", o.nclasses,
                                   o.nlabels);
        goto out;
    }
    if (!o.resume && !is_unet(&o) && (o.arch_given >> ARCH_BASE & 7u)) {
        rc = dolor_cli_usage_error("train", "--base, --depth and --upsample are unet options; give --arch-opt KEY=VALUE "
                                   "for --arch %s (dolor train --help lists its options)", o.arch);
        goto out;
    }
    if (is_unet(&o) && !o.resume && !o.init && o.size % (1L << o.depth)) {
        rc = dolor_cli_usage_error("train", "--size %ld is not divisible by 2^depth = %ld", o.size, 1L << o.depth);
        goto out;
    }
    if (o.threads)
        omp_set_num_threads((int)o.threads);
    {
        /* hidden temporary files of a run killed mid-write (never read as outputs) */
        char sub[4096];
        int gone = dolor_outfile_clean_stale(o.out);
        snprintf(sub, sizeof sub, "%s/val_pred", o.out);
        gone += dolor_outfile_clean_stale(sub);
        snprintf(sub, sizeof sub, "%s/val_eval", o.out);
        gone += dolor_outfile_clean_stale(sub);
        if (gone)
            fprintf(stderr, "removed %d temporary file%s left in %s by an interrupted run\n", gone,
                    gone > 1 ? "s" : "", o.out);
    }

    dolor_model_meta meta;
    memset(&meta, 0, sizeof meta);
    double best = -1.0;
    if (o.resume) {
        s = dolor_checkpoint_load(o.resume, &net, &opt, &meta);
        if (s)
            goto fail;
        if (!opt && o.tc.optimizer != DOLOR_OPT_SGD) {
            rc = dolor_cli_usage_error("train", "%s holds no optimizer state; resume from last.safetensors", o.resume);
            goto out;
        }
        if (o.tc.optimizer == DOLOR_OPT_SGD)
            fprintf(stderr, "resuming SGD: the momentum buffer is not stored in checkpoints and restarts from zero\n");
        if (meta.epoch >= o.tc.epochs) {
            fprintf(stderr, "dolor train: %s already completed %d epochs (--epochs %d); raise --epochs to continue\n",
                    o.resume, meta.epoch, o.tc.epochs);
            rc = DOLOR_EXIT_INPUT;
            goto out;
        }
        /* the same validation cases as before, unless a list is given */
        char vl[4096];
        snprintf(vl, sizeof vl, "%s/val_list.txt", o.out);
        if (!o.val_list && access(vl, R_OK) == 0)
            o.val_list = strdup(vl);
        char bp[4096];
        snprintf(bp, sizeof bp, "%s/best.safetensors", o.out);
        dolor_model_meta bm;
        if (dolor_checkpoint_read_meta(bp, &bm) == DOLOR_OK && !isnan(bm.val_dice))
            best = bm.val_dice;
        dolor_error_clear();
        fprintf(stderr, "resuming from %s after epoch %d (best mean Dice so far %.4f)\n", o.resume, meta.epoch, best);
    } else if (o.init) {
        /* the model and its weights from a checkpoint; a fresh optimizer from epoch 0 */
        s = dolor_checkpoint_load(o.init, &net, NULL, &meta);
        if (s)
            goto fail;
        int ind = 0;
        int64_t idm[5];
        if (!strcmp(meta.task, "classification") || dolor_net_output_shape(net, 0, &ind, idm) || ind != 4) {
            rc = dolor_cli_usage_error("train", "--init %s holds a classifier; this run segments", o.init);
            goto out;
        }
        if (o.classes && o.nclasses + 1 != meta.num_classes) {
            rc = dolor_cli_usage_error("train", "--classes gives %d classes but --init %s has %d", o.nclasses, o.init,
                                       meta.num_classes - 1);
            goto out;
        }
        for (int c = 1; o.classes && c < meta.num_classes; c++) {
            snprintf(meta.class_names[c], sizeof meta.class_names[c], "%s", o.classes[c - 1]);
            meta.label_values[c] = o.nlabels ? o.labels[c] : c;
        }
        if (o.arch_given >> ARCH_SIZE & 1u)
            meta.height = meta.width = (int)o.size;
        meta.epoch = 0;
        meta.opt_step = 0;
        meta.val_dice = NAN;
        meta.seed = o.tc.seed;
        fprintf(stderr, "starting from the weights of %s\n", o.init);
    } else {
        meta.num_classes = o.nclasses + 1;
        snprintf(meta.class_names[0], sizeof meta.class_names[0], "background");
        meta.label_values[0] = 0;
        for (int c = 1; c < meta.num_classes; c++) {
            snprintf(meta.class_names[c], sizeof meta.class_names[c], "%s", o.classes[c - 1]);
            meta.label_values[c] = o.nlabels ? o.labels[c] : c;
        }
        meta.height = meta.width = (int)o.size;
        meta.seed = o.tc.seed;
        meta.val_dice = NAN;
        char *cfg = NULL;
        const char *an = o.arch ? o.arch : "unet";
        s = model_config(&o, meta.num_classes, &cfg);
        if (!s)
            s = dolor_arch_build(an, cfg, &net);
        free(cfg);
        if (s == DOLOR_ENOTFOUND || s == DOLOR_EINVAL) {
            rc = dolor_cli_usage_error("train", "--arch %s: %s", an, dolor_errmsg());
            goto out;
        }
        int ond = 0;
        int64_t od[5];
        if (!s && (dolor_net_output_shape(net, 0, &ond, od) || ond != 4)) {
            rc = dolor_cli_usage_error("train", "--arch %s does not segment 2D images (its output has %d dims, not [N, K, H, "
                                       "W])", an, ond);
            goto out;
        }
        if (!s)
            s = dolor_net_config_json(net, meta.arch_config, sizeof meta.arch_config);
        if (!s) {
            snprintf(meta.arch_name, sizeof meta.arch_name, "%s", an);
            meta.in_channels = o.channels > 0 ? o.channels : 1;
            if (dolor_net_config(net))
                meta.arch = *dolor_net_config(net);
            s = dolor_net_init(net, o.tc.seed);
        }
        if (s)
            goto fail;
    }
    opts_to_json(&o, meta.train_json, sizeof meta.train_json);

    {
        const char *names[DOLOR_MAX_CLASSES];
        for (int c = 0; c < meta.num_classes; c++)
            names[c] = meta.class_names[c];
        dolor_dataset_config dc = {imgdir, maskdir, meta.num_classes, names, meta.label_values, meta.height,
                                   meta.width, (int)o.mask_threshold};
        dc.channels = meta.in_channels > 0 ? meta.in_channels : 1;
        if (nnunet) {
            dc.nnunet_dir = o.data;
            dc.image_dir = dc.mask_dir = NULL;
        }
        s = dolor_dataset_open(&dc, &ds);
        if (s)
            goto fail;
    }
    s = dolor_dataset_split(ds, o.val_fraction, o.tc.seed, o.val_list, &tr, &ntr, &va, &nva);
    if (!s)
        s = dolor_mkdir_p(o.out);
    if (!s && dolor_dist_rank() == 0)
        s = write_split(o.out, ds, tr, ntr, va, nva);
    if (s)
        goto fail;
    o.tc.out_dir = o.out;
    o.tc.dist = dolor_dist_train_hooks(); /* under mpirun: data-parallel (train.h dolor_train_dist) */
    fprintf(stderr, "model: %s %s, %zu parameters, input %dx%d, classes:", meta.arch_name, meta.arch_config,
            dolor_net_num_params(net), meta.width, meta.height);
    for (int c = 0; c < meta.num_classes; c++)
        fprintf(stderr, " %s=%d", meta.class_names[c], meta.label_values[c]);
    fprintf(stderr, "\n");
    s = dolor_train_run(&o.tc, net, opt, ds, tr, ntr, va, nva, &meta, &best);
    if (s)
        goto fail;
    printf("best mean foreground Dice (validation, %dx%d): %.4f\ncheckpoints: %s/best.safetensors, %s/last.safetensors\n"
           "log: %s/log.csv\n",
           meta.width, meta.height, best, o.out, o.out, o.out);
    if (o.final_eval && nva && dolor_dist_rank() == 0) {
        s = final_eval(o.out, ds, va, nva);
        if (s)
            goto fail;
    }
    goto out;
fail:
    rc = dolor_cli_fail("train", s);
out:
    free(pos);
    dolor_dataset_free(ds);
    dolor_net_free(net);
    dolor_adamw_free(opt);
    free(tr);
    free(va);
    opts_release(&o);
    return rc;
}
