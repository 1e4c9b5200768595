/* dolor detect train|predict|eval|labels: YOLOv8 detection, instance segmentation and keypoints
 * (include/dolor/detect.h, dolor_det_train_run / dolor_det_predict in include/dolor/train.h;
 * docs/detection.md). Truth comes from YOLO label folders (boxes, polygons, keypoints) or from label
 * maps (instances = connected components of each value; keypoints optionally the 4 corners of each
 * instance's mask). */
#define _POSIX_C_SOURCE 200809L
#include "dolor/detect.h"
#include "dolor/io.h"
#include "dolor/nn.h"
#include "dolor/train.h"
#include "opts.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char *images, *yolo, *masks, *out, *model, *val_list, *init, *head, *scale, *optimizer, *keypoints, *patient_sep, *format;
    char **classes, **arch_kv, **values, **flip_idx;
    int nclasses, narch_kv, nvalues, nflip;
    long size, epochs, batch, warmup, close_mosaic, seed, threads, kdim, min_pixels, max_det;
    double lr, wd, lrf, momentum, mosaic, zoom, translate, hsv_v, fliplr, val_fraction, time_limit, conf, iou;
    int no_ema, no_augment, quiet, no_precise_bn;
} det_opts;

#define TRAIN "train"
static const dolor_opt_spec specs[] = {
    {"images", 'i', OPT_STR, "folder of images (PNG, JPEG, NIfTI, DICOM, MetaImage; grey)", .metavar = "DIR",
     .uses = "train,eval", DOLOR_OPT_AT(det_opts, images)},
    {"yolo-labels", 0, OPT_STR, "YOLO label folder (STEM.txt per image) as the truth", .metavar = "DIR",
     .uses = "train,eval", DOLOR_OPT_AT(det_opts, yolo)},
    {"masks", 0, OPT_STR, "label-map folder (matched by stem) as the truth: instances = connected components of "
                          "each value", .metavar = "DIR", .uses = "train,eval,labels", DOLOR_OPT_AT(det_opts, masks)},
    {"mask-values", 0, OPT_LIST, "label-map value of each class, e.g. 1,2; RGB masks: 0xRRGGBB (default: 1..n; one "
                                 "class: any non-zero value)", .metavar = "V,...", .uses = "train,eval,labels"},
    {"classes", 'c', OPT_LIST, "class names (their count is the number of classes)", .metavar = "A,B,...",
     .uses = "train,eval,labels"},
    {"head", 0, OPT_STR, "detect, segment or pose", .def = "detect", .uses = "train,eval,labels",
     DOLOR_OPT_AT(det_opts, head)},
    {"keypoints", 'k', OPT_STR, "pose: keypoints per object in the YOLO labels (N), or 'corners' (the 4 corners "
                                "of each label-map instance: top-left, top-right, bottom-right, bottom-left)",
     .metavar = "N|corners", .uses = "train,eval,labels", DOLOR_OPT_AT(det_opts, keypoints)},
    {"kdim", 0, OPT_INT, "pose: values per keypoint in the YOLO labels (2: x y, 3: x y visibility)", .def = "3",
     DOLOR_OPT_RANGE(2, 3), .uses = "train,eval,labels", DOLOR_OPT_AT(det_opts, kdim)},
    {"min-pixels", 0, OPT_INT, "label maps: drop components smaller than this", .def = "50",
     DOLOR_OPT_RANGE(1, 100000000), .uses = "train,eval,labels", DOLOR_OPT_AT(det_opts, min_pixels)},
    {"scale", 0, OPT_STR, "YOLOv8 scale n, s, m, l or x", .def = "n", .uses = TRAIN, DOLOR_OPT_AT(det_opts, scale)},
    {"arch-opt", 0, OPT_LIST, "more yolov8 options KEY=VALUE,... (e.g. width=0.25,depth=0.33 with scale=custom)",
     .uses = TRAIN},
    {"init", 0, OPT_STR, "start from the weights of this checkpoint (e.g. converted Ultralytics weights)",
     .metavar = "FILE", .uses = TRAIN, DOLOR_OPT_AT(det_opts, init)},
    {"size", 's', OPT_INT, "network input size (square, a multiple of 32)", .def = "512", DOLOR_OPT_RANGE(32, 4096),
     .uses = TRAIN, DOLOR_OPT_AT(det_opts, size)},
    {"epochs", 'e', OPT_INT, "epochs", .def = "100", DOLOR_OPT_RANGE(1, 100000), .uses = TRAIN,
     DOLOR_OPT_AT(det_opts, epochs)},
    {"batch", 'b', OPT_INT, "mini-batch size", .def = "16", DOLOR_OPT_RANGE(1, 1024), .uses = TRAIN,
     DOLOR_OPT_AT(det_opts, batch)},
    {"optimizer", 0, OPT_STR, "sgd (Nesterov), adam or adamw", .def = "adamw", .uses = TRAIN,
     DOLOR_OPT_AT(det_opts, optimizer)},
    {"lr", 0, OPT_NUM, "peak learning rate", .def = "0.002 x 5 / (4 + classes)", DOLOR_OPT_RANGE(1e-8, 10),
     .uses = TRAIN, DOLOR_OPT_AT(det_opts, lr)},
    {"lrf", 0, OPT_NUM, "final learning rate as a fraction of the peak (linear decay)", .def = "0.01",
     DOLOR_OPT_RANGE(1e-6, 1), .uses = TRAIN, DOLOR_OPT_AT(det_opts, lrf)},
    {"momentum", 0, OPT_NUM, "SGD momentum", .def = "0.937", DOLOR_OPT_RANGE(0, 0.999), .uses = TRAIN,
     DOLOR_OPT_AT(det_opts, momentum)},
    {"wd", 0, OPT_NUM, "weight decay", .def = "5e-4", DOLOR_OPT_RANGE(0, 10), .uses = TRAIN,
     DOLOR_OPT_AT(det_opts, wd)},
    {"warmup", 0, OPT_INT, "warm-up epochs (at least 100 steps, at most half of them)", .def = "3",
     DOLOR_OPT_RANGE(0, 1000), .uses = TRAIN, DOLOR_OPT_AT(det_opts, warmup)},
    {"mosaic", 0, OPT_NUM, "probability of a 4-image mosaic", .def = "1", DOLOR_OPT_RANGE(0, 1), .uses = TRAIN,
     DOLOR_OPT_AT(det_opts, mosaic)},
    {"close-mosaic", 0, OPT_INT, "no mosaic in the last N epochs", .def = "10", DOLOR_OPT_RANGE(0, 100000),
     .uses = TRAIN, DOLOR_OPT_AT(det_opts, close_mosaic)},
    {"zoom", 0, OPT_NUM, "random zoom 1 +/- Z (Ultralytics' scale)", .def = "0.5", DOLOR_OPT_RANGE(0, 0.95),
     .uses = TRAIN, DOLOR_OPT_AT(det_opts, zoom)},
    {"translate", 0, OPT_NUM, "random shift +/- T x size", .def = "0.1", DOLOR_OPT_RANGE(0, 0.5), .uses = TRAIN,
     DOLOR_OPT_AT(det_opts, translate)},
    {"hsv-v", 0, OPT_NUM, "intensity gain 1 +/- G", .def = "0.4", DOLOR_OPT_RANGE(0, 1), .uses = TRAIN,
     DOLOR_OPT_AT(det_opts, hsv_v)},
    {"fliplr", 0, OPT_NUM, "probability of a left-right flip (off: side matters)", .def = "0", DOLOR_OPT_RANGE(0, 1),
     .uses = TRAIN, DOLOR_OPT_AT(det_opts, fliplr)},
    {"flip-idx", 0, OPT_LIST, "pose + flip: keypoint each keypoint becomes on a flip, e.g. 1,0,3,2",
     .metavar = "J,...", .uses = TRAIN},
    {"no-augment", 0, OPT_FLAG, "no augmentation (plain letterbox)", .uses = TRAIN, DOLOR_OPT_AT(det_opts, no_augment)},
    {"no-precise-bn", 0, OPT_FLAG, "keep the running batch-norm statistics (default: re-estimated on the training "
                                   "images before each validation)", .uses = TRAIN, DOLOR_OPT_AT(det_opts, no_precise_bn)},
    {"no-ema", 0, OPT_FLAG, "validate and save the raw weights, not their moving average", .uses = TRAIN,
     DOLOR_OPT_AT(det_opts, no_ema)},
    {"val-fraction", 0, OPT_NUM, "fraction of images (or patients, --patient-sep) held out", .def = "0.2",
     DOLOR_OPT_RANGE(0, 0.9), .uses = TRAIN, DOLOR_OPT_AT(det_opts, val_fraction)},
    {"val-list", 0, OPT_STR, "text file of validation stems, one per line (train: held out; eval: only these)",
     .metavar = "FILE", .uses = "train,eval", DOLOR_OPT_AT(det_opts, val_list)},
    {"patient-sep", 0, OPT_STR, "the patient ID is the stem up to this character (split by patient)",
     .metavar = "CHAR", .uses = TRAIN, DOLOR_OPT_AT(det_opts, patient_sep)},
    {"seed", 0, OPT_INT, "random seed (split, weights, augmentation)", .def = "42", DOLOR_OPT_RANGE(0, 0x7fffffff),
     .uses = TRAIN, DOLOR_OPT_AT(det_opts, seed)},
    {"time-limit", 0, OPT_NUM, "stop after the epoch that passes this many minutes", .def = "none",
     DOLOR_OPT_RANGE(0, 1e6), .uses = TRAIN, DOLOR_OPT_AT(det_opts, time_limit)},
    {"model", 'm', OPT_STR, "checkpoint written by dolor detect train", .metavar = "FILE", .uses = "predict,eval",
     DOLOR_OPT_AT(det_opts, model)},
    {"conf", 0, OPT_NUM, "confidence threshold", .def = "0.25 (eval: 0.001 for mAP)", DOLOR_OPT_RANGE(0, 0.999),
     .uses = "predict,eval", DOLOR_OPT_AT(det_opts, conf)},
    {"iou", 0, OPT_NUM, "NMS IoU threshold", .def = "0.7", DOLOR_OPT_RANGE(0, 1), .uses = "predict,eval",
     DOLOR_OPT_AT(det_opts, iou)},
    {"max-det", 0, OPT_INT, "detections per image", .def = "300", DOLOR_OPT_RANGE(1, 100000), .uses = "predict,eval",
     DOLOR_OPT_AT(det_opts, max_det)},
    {"out", 'o', OPT_STR, "train: run folder; predict: output folder; eval: metrics CSV; labels: YOLO label folder",
     .metavar = "PATH", DOLOR_OPT_AT(det_opts, out)},
    {"format", 0, OPT_STR, "labels: yolo (label files) or labelmap (PNG label maps: class k+1 where its instances "
                           "lie, after --min-pixels; what dolor train reads)", .def = "yolo", .uses = "labels",
     DOLOR_OPT_AT(det_opts, format)},
    {"threads", 't', OPT_INT, "CPU threads", .def = "all cores", DOLOR_OPT_RANGE(1, 1024),
     DOLOR_OPT_AT(det_opts, threads)},
    {"quiet", 'q', OPT_FLAG, "no progress bar", DOLOR_OPT_AT(det_opts, quiet)},
    {"config", 0, OPT_STR, "JSON file with any of these options as keys", .metavar = "FILE.json"},
};

static const dolor_subcmd_desc subs[] = {
    {"train", "--images DIR (--yolo-labels DIR | --masks DIR) --classes A,... [--head segment|pose] -o RUN [options]",
     "train a YOLOv8 detector, instance segmenter or keypoint model; best/last.safetensors, log.csv"},
    {"predict", "--model FILE IMAGE|DIR... -o OUT [--conf 0.25]",
     "detections as YOLO labels (OUT/labels), COCO results (OUT/detections.json), overlays (OUT/overlays) and "
     "keypoints in pixels and mm (OUT/keypoints.csv)"},
    {"eval", "--model FILE --images DIR (--yolo-labels DIR | --masks DIR) [--val-list FILE] [-o metrics.csv]",
     "COCO mAP50, mAP50:95 of boxes, masks and keypoints (OKS), precision, recall, F1, keypoint error (px, mm)"},
    {"labels", "--masks DIR --classes A,... [--head segment|pose] [--keypoints corners] -o DIR",
     "write YOLO label files from label maps (instances by connected components)"},
};

static const dolor_cmd_desc detect_cmd = {
    .name = "detect",
    .summary = "YOLOv8 (Ultralytics' architecture, losses and training recipe) for detection, instance\n"
               "segmentation and keypoints on grey images, and COCO's metrics. Side matters in medical images, so\n"
               "left-right flips are off unless asked for. docs/detection.md.",
    DOLOR_CMD_SPECS(specs),
    .subs = subs,
    .nsubs = (int)(sizeof subs / sizeof *subs),
};

static dolor_status apply(void *ctx, const dolor_opt_spec *sp, const char *v)
{
    det_opts *o = ctx;
    if (!strcmp(sp->name, "classes")) {
        dolor_cli_free_list(o->classes);
        return dolor_cli_split_list("--classes", v, &o->classes, &o->nclasses);
    }
    if (!strcmp(sp->name, "arch-opt")) {
        dolor_cli_free_list(o->arch_kv);
        return dolor_cli_split_list("--arch-opt", v, &o->arch_kv, &o->narch_kv);
    }
    if (!strcmp(sp->name, "mask-values")) {
        dolor_cli_free_list(o->values);
        return dolor_cli_split_list("--mask-values", v, &o->values, &o->nvalues);
    }
    if (!strcmp(sp->name, "flip-idx")) {
        dolor_cli_free_list(o->flip_idx);
        return dolor_cli_split_list("--flip-idx", v, &o->flip_idx, &o->nflip);
    }
    if (!strcmp(sp->name, "config"))
        return DOLOR_OK;
    return dolor_opt_bind(ctx, sp, v);
}

/* ---------------------------------------------------------------- data ---- */

typedef struct det_data {
    size_t n;
    char **paths, **names;
    float **pix;
    int *w, *h;
    double *row_mm, *col_mm;
    dolor_det_list *lists;
} det_data;

static void det_data_free(det_data *d)
{
    for (size_t i = 0; i < d->n; i++) {
        if (d->paths)
            free(d->paths[i]);
        if (d->names)
            free(d->names[i]);
        if (d->pix)
            free(d->pix[i]);
        if (d->lists)
            dolor_det_list_free(&d->lists[i]);
    }
    free(d->paths);
    free(d->names);
    free(d->pix);
    free(d->w);
    free(d->h);
    free(d->row_mm);
    free(d->col_mm);
    free(d->lists);
    memset(d, 0, sizeof *d);
}

static const char *const IMG_EXT[] = {".png", ".jpg", ".jpeg", ".nii", ".nii.gz", ".dcm", ".mha", ".mhd"};

static int has_image_ext(const char *f)
{
    size_t n = strlen(f);
    for (size_t k = 0; k < sizeof IMG_EXT / sizeof *IMG_EXT; k++) {
        size_t e = strlen(IMG_EXT[k]);
        if (n > e && !strcasecmp(f + n - e, IMG_EXT[k]))
            return (int)e;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* image files of dir (sorted) or the given files */
static dolor_status list_images(char **args, int nargs, char ***paths, size_t *n)
{
    size_t cap = 16, m = 0;
    char **p = malloc(cap * sizeof *p);
    if (!p)
        return dolor_error(DOLOR_ENOMEM, "detect: out of memory");
    for (int a = 0; a < nargs; a++) {
        if (dolor_cli_is_dir(args[a])) {
            DIR *d = opendir(args[a]);
            struct dirent *e;
            size_t first = m;
            while (d && (e = readdir(d))) {
                if (e->d_name[0] == '.' || !has_image_ext(e->d_name))
                    continue;
                if (m == cap) {
                    char **q = realloc(p, (cap *= 2) * sizeof *p);
                    if (!q)
                        break;
                    p = q;
                }
                size_t L = strlen(args[a]) + strlen(e->d_name) + 2;
                if ((p[m] = malloc(L)))
                    snprintf(p[m++], L, "%s/%s", args[a], e->d_name);
            }
            if (d)
                closedir(d);
            qsort(p + first, m - first, sizeof *p, cmp_str);
        } else {
            if (m == cap) {
                char **q = realloc(p, (cap *= 2) * sizeof *p);
                if (!q)
                    break;
                p = q;
            }
            p[m++] = strdup(args[a]);
        }
    }
    if (m == 0) {
        free(p);
        return dolor_error(DOLOR_EINVAL, "detect: no images in %s", nargs ? args[0] : "(none given)");
    }
    *paths = p;
    *n = m;
    return DOLOR_OK;
}

static char *stem_of(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    char *s = strdup(b);
    if (!s)
        return NULL;
    int e = has_image_ext(s);
    if (e)
        s[strlen(s) - (size_t)e] = 0;
    return s;
}

/* grey 0..1: uint8 / 255, other types min-max over the image; several components averaged */
static dolor_status to_grey(const dolor_image *img, const char *path, float **out, int *w, int *h)
{
    if (img->size[2] > 1)
        return dolor_error(DOLOR_EINVAL, "%s: a %lldx%lldx%lld volume; detection takes 2D images", path,
                           (long long)img->size[0], (long long)img->size[1], (long long)img->size[2]);
    int W = (int)img->size[0], H = (int)img->size[1], nc = img->ncomp;
    float *g = malloc((size_t)W * H * sizeof *g);
    if (!g)
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
    double lo = INFINITY, hi = -INFINITY;
    for (size_t e = 0; e < (size_t)W * H; e++) {
        double v = 0;
        for (int c = 0; c < nc && c < 3; c++)
            v += dolor_image_get(img, e * (size_t)nc + (size_t)c);
        v /= nc < 3 ? nc : 3;
        g[e] = (float)v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    int u8 = img->dtype == DOLOR_U8;
    for (size_t e = 0; e < (size_t)W * H; e++)
        g[e] = u8 ? g[e] / 255.0f : hi > lo ? (float)((g[e] - lo) / (hi - lo)) : 0.0f;
    *out = g;
    *w = W;
    *h = H;
    return DOLOR_OK;
}

static dolor_status load_images(det_data *d, char **paths, size_t n)
{
    d->n = n;
    d->paths = paths;
    d->names = calloc(n, sizeof *d->names);
    d->pix = calloc(n, sizeof *d->pix);
    d->w = calloc(n, sizeof *d->w);
    d->h = calloc(n, sizeof *d->h);
    d->row_mm = calloc(n, sizeof *d->row_mm);
    d->col_mm = calloc(n, sizeof *d->col_mm);
    d->lists = calloc(n, sizeof *d->lists);
    if (!d->names || !d->pix || !d->w || !d->h || !d->row_mm || !d->col_mm || !d->lists)
        return dolor_error(DOLOR_ENOMEM, "detect: out of memory");
    for (size_t i = 0; i < n; i++) {
        dolor_image *img = NULL;
        dolor_status s = dolor_image_read(paths[i], &img);
        if (!s)
            s = to_grey(img, paths[i], &d->pix[i], &d->w[i], &d->h[i]);
        if (!s) {
            d->col_mm[i] = img->spacing[0];
            d->row_mm[i] = img->spacing[1];
        }
        dolor_image_free(img);
        if (!s && !(d->names[i] = stem_of(paths[i])))
            s = dolor_error(DOLOR_ENOMEM, "detect: out of memory");
        if (s)
            return s;
    }
    return DOLOR_OK;
}

static int head_of(const char *h) { return !h || !strcmp(h, "detect") ? 0 : !strcmp(h, "segment") ? 1 : 2; }

/* nkpt and kdim the truth carries */
static dolor_status kpt_spec(const det_opts *o, int *nkpt, int *corners)
{
    *nkpt = 0;
    *corners = 0;
    if (head_of(o->head) != 2) {
        if (o->keypoints)
            return dolor_error(DOLOR_EINVAL, "--keypoints is for --head pose");
        return DOLOR_OK;
    }
    if (!o->keypoints)
        return dolor_error(DOLOR_EINVAL, "--head pose needs --keypoints N (YOLO labels) or --keypoints corners");
    if (!strcmp(o->keypoints, "corners")) {
        *nkpt = 4;
        *corners = 1;
        return DOLOR_OK;
    }
    long k;
    dolor_status s = dolor_cli_parse_int("--keypoints", o->keypoints, 1, 256, &k);
    *nkpt = (int)k;
    return s;
}

/* the 4 corners of a mask: the pixels (centres) of least x + y, largest x - y, largest x + y, least x - y */
static void mask_corners(const uint8_t *m, int w, int h, double *kpt)
{
    double best[4] = {INFINITY, -INFINITY, -INFINITY, INFINITY};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (!m[(size_t)y * w + x])
                continue;
            double cx = x + 0.5, cy = y + 0.5, sum = cx + cy, dif = cx - cy;
            double key[4] = {sum, dif, sum, dif};
            for (int c = 0; c < 4; c++) {
                int better = c == 0 || c == 3 ? key[c] < best[c] : key[c] > best[c];
                if (better) {
                    best[c] = key[c];
                    kpt[3 * c] = cx;
                    kpt[3 * c + 1] = cy;
                    kpt[3 * c + 2] = 2;
                }
            }
        }
}

/* label value of each class: --mask-values, else 1..n; one class and no values: any non-zero (-1) */
static dolor_status class_values(const det_opts *o, long *vals)
{
    if (o->nvalues && o->nvalues != o->nclasses)
        return dolor_error(DOLOR_EINVAL, "--mask-values has %d values for %d classes", o->nvalues, o->nclasses);
    for (int k = 0; k < o->nclasses; k++) {
        if (o->nvalues) {
            char *end;
            vals[k] = strtol(o->values[k], &end, 0);
            if (*end || vals[k] < 1)
                return dolor_error(DOLOR_EINVAL, "--mask-values: '%s' is not a positive integer", o->values[k]);
        } else
            vals[k] = o->nclasses == 1 ? -1 : k + 1;
    }
    return DOLOR_OK;
}

/* objects of image i from its label map masks_dir/STEM.* */
static dolor_status truth_from_mask(const det_opts *o, det_data *d, size_t i, const long *vals, int nkpt,
                                    int corners)
{
    char path[4096];
    path[0] = 0;
    DIR *dir = opendir(o->masks);
    if (!dir)
        return dolor_error(DOLOR_EIO, "--masks %s: cannot open the folder", o->masks);
    struct dirent *e;
    size_t ls = strlen(d->names[i]);
    while ((e = readdir(dir)))
        if (!strncmp(e->d_name, d->names[i], ls) && e->d_name[ls] == '.' && has_image_ext(e->d_name) &&
            strlen(e->d_name) - (size_t)has_image_ext(e->d_name) == ls) {
            snprintf(path, sizeof path, "%s/%s", o->masks, e->d_name);
            break;
        }
    closedir(dir);
    if (!path[0])
        return dolor_error(DOLOR_EINVAL, "%s: no label map %s.* in %s", d->paths[i], d->names[i], o->masks);
    dolor_image *m = NULL;
    dolor_status s = dolor_image_read(path, &m);
    if (s)
        return s;
    int W = (int)m->size[0], H = (int)m->size[1], nc = m->ncomp;
    if (W != d->w[i] || H != d->h[i]) {
        dolor_image_free(m);
        return dolor_error(DOLOR_ESHAPE, "%s: %dx%d but the image %s is %dx%d", path, W, H, d->paths[i], d->w[i],
                           d->h[i]);
    }
    /* distinct values -> 1..nv (instances keep apart where two values touch), then classes */
    size_t N = (size_t)W * H;
    int32_t *lab = calloc(N, sizeof *lab);
    long vv[256];
    int nv = 0;
    if (!lab) {
        dolor_image_free(m);
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
    }
    for (size_t p = 0; p < N && !s; p++) {
        long v = 0;
        if (nc >= 3)
            for (int c = 0; c < 3; c++)
                v = v << 8 | (long)dolor_image_get(m, p * (size_t)nc + (size_t)c);
        else
            v = (long)dolor_image_get(m, p * (size_t)nc);
        if (!v)
            continue;
        int k = 0;
        while (k < nv && vv[k] != v)
            k++;
        if (k == nv) {
            if (nv == 256) {
                s = dolor_error(DOLOR_EINVAL, "%s: more than 256 distinct label values", path);
                break;
            }
            vv[nv++] = v;
        }
        lab[p] = k + 1;
    }
    dolor_image_free(m);
    dolor_det_list l;
    dolor_det_list_init(&l, 0, 0, 0);
    if (!s)
        s = dolor_det_from_labelmap(lab, H, W, nv > 0 ? nv : 1, (int)o->min_pixels, DOLOR_DET_CONTOUR_EDGES, &l, NULL,
                                    NULL);
    free(lab);
    dolor_det_list *out = &d->lists[i];
    dolor_det_list_init(out, H, W, nkpt);
    double kp[3 * 4];
    for (size_t j = 0; j < l.n && !s; j++) {
        long v = vv[l.obj[j].cls];
        int cls = -1;
        for (int k = 0; k < o->nclasses; k++)
            if (vals[k] == v || vals[k] == -1)
                cls = k;
        if (cls < 0)
            continue; /* a value that is no class */
        if (corners)
            mask_corners(l.obj[j].mask, W, H, kp);
        s = dolor_det_list_add(out, cls, 1.0, l.obj[j].box, l.obj[j].mask, corners ? kp : NULL);
    }
    dolor_det_list_free(&l);
    return s;
}

static dolor_status load_truth(const det_opts *o, det_data *d)
{
    int nkpt, corners;
    dolor_status s = kpt_spec(o, &nkpt, &corners);
    if (s)
        return s;
    if (!o->nclasses)
        return dolor_error(DOLOR_EINVAL, "--classes is required (the class names)");
    if (!!o->yolo == !!o->masks)
        return dolor_error(DOLOR_EINVAL, "give the truth as --yolo-labels DIR or --masks DIR (one of them)");
    if (o->yolo) {
        if (corners)
            return dolor_error(DOLOR_EINVAL, "--keypoints corners derives keypoints from --masks, not YOLO labels");
        dolor_det_yolo_config yc = {(dolor_det_yolo_kind)head_of(o->head), o->nclasses, nkpt, (int)o->kdim};
        char file[4096];
        for (size_t i = 0; i < d->n && !s; i++) {
            snprintf(file, sizeof file, "%s/%s.txt", o->yolo, d->names[i]);
            FILE *fp = fopen(file, "r");
            if (!fp) { /* an image without a label file has no objects */
                dolor_det_list_init(&d->lists[i], d->h[i], d->w[i], nkpt);
                continue;
            }
            fclose(fp);
            s = dolor_det_yolo_read(file, &yc, d->w[i], d->h[i], &d->lists[i]);
        }
        return s;
    }
    long vals[DOLOR_MAX_CLASSES];
    if (o->nclasses > DOLOR_MAX_CLASSES)
        return dolor_error(DOLOR_EINVAL, "--classes: %d classes (at most %d)", o->nclasses, DOLOR_MAX_CLASSES);
    if ((s = class_values(o, vals)))
        return s;
    for (size_t i = 0; i < d->n && !s; i++)
        s = truth_from_mask(o, d, i, vals, nkpt, corners);
    return s;
}

/* stems listed in a file, one per line */
static int in_list(char **list, int n, const char *stem)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(list[i], stem))
            return 1;
    return 0;
}

static dolor_status read_list(const char *path, char ***out, int *n)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return dolor_error(DOLOR_EIO, "%s: cannot open", path);
    char line[4096];
    int cap = 16, m = 0;
    char **l = malloc((size_t)cap * sizeof *l);
    while (l && fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = 0;
        char *t = line;
        while (*t == ' ' || *t == '\t')
            t++;
        if (!*t)
            continue;
        int e = has_image_ext(t);
        if (e)
            t[strlen(t) - (size_t)e] = 0;
        const char *b = strrchr(t, '/');
        if (m == cap) {
            char **q = realloc(l, (size_t)(cap *= 2) * sizeof *l);
            if (!q)
                break;
            l = q;
        }
        l[m++] = strdup(b ? b + 1 : t);
    }
    fclose(fp);
    if (!l)
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
    *out = l;
    *n = m;
    return DOLOR_OK;
}

static void view_of(const det_data *d, const size_t *idx, size_t n, const float **pix, int *w, int *h,
                    dolor_det_list *lists, const char **names, dolor_det_train_data *v)
{
    for (size_t j = 0; j < n; j++) {
        pix[j] = d->pix[idx[j]];
        w[j] = d->w[idx[j]];
        h[j] = d->h[idx[j]];
        lists[j] = d->lists[idx[j]];
        names[j] = d->names[idx[j]];
    }
    v->n = n;
    v->pixels = pix;
    v->w = w;
    v->h = h;
    v->lists = lists;
    v->names = names;
}

/* ------------------------------------------------------------- commands ---- */

static int cmd_train(det_opts *o)
{
    const char *cmd = "detect train";
    det_data d = {0};
    char **paths = NULL, **vlist = NULL, *imgdir = o->images;
    size_t n = 0;
    int nvl = 0, rc = DOLOR_EXIT_OK;
    dolor_net *net = NULL;
    size_t *tr = NULL, *va = NULL;
    const float **pix = NULL;
    int *ww = NULL, *hh = NULL, *flip = NULL;
    const char **names = NULL;
    dolor_det_list *lists = NULL;
    char *json = NULL;
    dolor_status s = DOLOR_OK;
    if (!o->images || !o->out)
        return dolor_cli_usage_error(cmd, "needs --images DIR, the truth (--yolo-labels or --masks) and -o RUN");
    if ((s = list_images(&imgdir, 1, &paths, &n)) || (s = load_images(&d, paths, n)) || (s = load_truth(o, &d)))
        goto fail;
    /* split: --val-list, else a seeded fraction of images or patients */
    tr = malloc(n * sizeof *tr);
    va = malloc(n * sizeof *va);
    if (!tr || !va) {
        s = dolor_error(DOLOR_ENOMEM, "detect: out of memory");
        goto fail;
    }
    size_t ntr = 0, nva = 0;
    if (o->val_list) {
        if ((s = read_list(o->val_list, &vlist, &nvl)))
            goto fail;
        for (size_t i = 0; i < n; i++) {
            if (in_list(vlist, nvl, d.names[i]))
                va[nva++] = i;
            else
                tr[ntr++] = i;
        }
    } else {
        /* groups: patients (stem up to --patient-sep) or images, shuffled with the seed, the first
         * round(fraction x groups) held out */
        char sep = o->patient_sep && o->patient_sep[0] ? o->patient_sep[0] : 0;
        char **gid = calloc(n, sizeof *gid);
        int *grp = calloc(n, sizeof *grp), ng = 0;
        if (!gid || !grp) {
            free(gid);
            free(grp);
            s = dolor_error(DOLOR_ENOMEM, "detect: out of memory");
            goto fail;
        }
        for (size_t i = 0; i < n; i++) {
            size_t L = sep && strchr(d.names[i], sep) ? (size_t)(strchr(d.names[i], sep) - d.names[i])
                                                      : strlen(d.names[i]);
            int g = -1;
            for (int k = 0; k < ng; k++)
                if (strlen(gid[k]) == L && !strncmp(gid[k], d.names[i], L))
                    g = k;
            if (g < 0) {
                gid[ng] = strndup(d.names[i], L);
                g = ng++;
            }
            grp[i] = g;
        }
        int *perm = malloc((size_t)ng * sizeof *perm);
        for (int k = 0; perm && k < ng; k++)
            perm[k] = k;
        dolor_rng r;
        dolor_rng_seed(&r, (uint64_t)o->seed * 2654435761u + 17);
        if (perm)
            dolor_rng_shuffle_int(&r, perm, (size_t)ng);
        int nvg = (int)floor(o->val_fraction * ng + 0.5);
        if (o->val_fraction > 0 && nvg == 0 && ng > 1)
            nvg = 1;
        for (size_t i = 0; perm && i < n; i++) {
            int held = 0;
            for (int k = 0; k < nvg; k++)
                held |= perm[k] == grp[i];
            if (held)
                va[nva++] = i;
            else
                tr[ntr++] = i;
        }
        for (int k = 0; k < ng; k++)
            free(gid[k]);
        free(gid);
        free(grp);
        if (!perm) {
            s = dolor_error(DOLOR_ENOMEM, "detect: out of memory");
            goto fail;
        }
        free(perm);
    }
    if (!ntr) {
        s = dolor_error(DOLOR_EINVAL, "detect train: no training images left after the validation split");
        goto fail;
    }
    /* the net */
    int nkpt, corners;
    if ((s = kpt_spec(o, &nkpt, &corners)))
        goto fail;
    dolor_model_meta meta;
    memset(&meta, 0, sizeof meta);
    if (o->init) {
        if ((s = dolor_checkpoint_load(o->init, &net, NULL, &meta)))
            goto fail;
    } else {
        size_t L = 512 + 64 * (size_t)o->narch_kv;
        for (int k = 0; k < o->narch_kv; k++)
            L += strlen(o->arch_kv[k]);
        json = malloc(L);
        if (!json) {
            s = dolor_error(DOLOR_ENOMEM, "detect: out of memory");
            goto fail;
        }
        int off = snprintf(json, L, "{\"task\":\"%s\",\"scale\":\"%s\",\"in_channels\":1,\"num_classes\":%d",
                           o->head ? o->head : "detect", o->scale ? o->scale : "n", o->nclasses);
        if (nkpt)
            off += snprintf(json + off, L - (size_t)off, ",\"num_keypoints\":%d,\"keypoint_dims\":3", nkpt);
        for (int k = 0; k < o->narch_kv; k++) {
            char *eq = strchr(o->arch_kv[k], '=');
            if (!eq) {
                s = dolor_error(DOLOR_EINVAL, "--arch-opt: '%s' is not KEY=VALUE", o->arch_kv[k]);
                goto fail;
            }
            char *end;
            strtod(eq + 1, &end);
            int num = end != eq + 1 && !*end;
            off += snprintf(json + off, L - (size_t)off, num ? ",\"%.*s\":%s" : ",\"%.*s\":\"%s\"",
                            (int)(eq - o->arch_kv[k]), o->arch_kv[k], eq + 1);
        }
        snprintf(json + off, L - (size_t)off, "}");
        if ((s = dolor_arch_build("yolov8", json, &net)) || (s = dolor_net_init(net, (uint64_t)o->seed)) ||
            (s = dolor_det_bias_init(net))) /* Ultralytics' Detect.bias_init */
            goto fail;
        snprintf(meta.arch_name, sizeof meta.arch_name, "yolov8");
        if ((s = dolor_net_config_json(net, meta.arch_config, sizeof meta.arch_config)))
            goto fail;
    }
    snprintf(meta.task, sizeof meta.task, "detection");
    meta.in_channels = 1;
    meta.num_classes = o->nclasses;
    for (int k = 0; k < o->nclasses && k < DOLOR_MAX_CLASSES; k++) {
        snprintf(meta.class_names[k], sizeof meta.class_names[k], "%s", o->classes[k]);
        meta.label_values[k] = k;
    }
    meta.height = meta.width = (int)o->size;
    meta.seed = (uint64_t)o->seed;
    meta.epoch = 0;
    dolor_det_train_config c;
    dolor_det_train_config_default(&c);
    c.out_dir = o->out;
    c.imgsz = (int)o->size;
    c.epochs = (int)o->epochs;
    c.batch_size = (int)o->batch;
    if (o->optimizer && (s = dolor_optimizer_parse(o->optimizer, &c.optimizer)))
        goto fail;
    c.lr = o->lr;
    c.lrf = o->lrf;
    c.momentum = o->momentum;
    c.weight_decay = o->wd;
    c.warmup_epochs = (int)o->warmup;
    c.augment = !o->no_augment;
    c.aug.mosaic = o->mosaic;
    c.aug.close_mosaic = (int)o->close_mosaic;
    c.aug.scale = o->zoom;
    c.aug.translate = o->translate;
    c.aug.hsv_v = o->hsv_v;
    c.aug.fliplr = o->fliplr;
    if (o->nflip) {
        if (o->nflip != nkpt) {
            s = dolor_error(DOLOR_EINVAL, "--flip-idx has %d entries for %d keypoints", o->nflip, nkpt);
            goto fail;
        }
        flip = malloc((size_t)nkpt * sizeof *flip);
        for (int j = 0; flip && j < nkpt; j++) {
            long v;
            if ((s = dolor_cli_parse_int("--flip-idx", o->flip_idx[j], 0, nkpt - 1, &v)))
                goto fail;
            flip[j] = (int)v;
        }
        c.aug.flip_idx = flip;
    } else if (corners) { /* corners swap left and right */
        static const int cflip[4] = {1, 0, 3, 2};
        c.aug.flip_idx = cflip;
    }
    c.ema = !o->no_ema;
    c.precise_bn = !o->no_precise_bn;
    c.seed = (uint64_t)o->seed;
    c.time_limit_min = o->time_limit;
    c.quiet = o->quiet;
    pix = calloc(n, sizeof *pix);
    ww = calloc(n, sizeof *ww);
    hh = calloc(n, sizeof *hh);
    lists = calloc(n, sizeof *lists);
    names = calloc(n, sizeof *names);
    if (!pix || !ww || !hh || !lists || !names) {
        s = dolor_error(DOLOR_ENOMEM, "detect: out of memory");
        goto fail;
    }
    dolor_det_train_data tv, vv;
    view_of(&d, tr, ntr, pix, ww, hh, lists, names, &tv);
    view_of(&d, va, nva, pix + ntr, ww + ntr, hh + ntr, lists + ntr, names + ntr, &vv);
    /* the split, for the reader and for dolor detect eval --val-list */
    if ((s = dolor_mkdir_p(o->out)))
        goto fail;
    char vpath[4096];
    snprintf(vpath, sizeof vpath, "%s/val_list.txt", o->out);
    dolor_outfile of;
    if ((s = dolor_outfile_open(&of, vpath, 1)))
        goto fail;
    for (size_t j = 0; j < nva; j++)
        fprintf(of.fp, "%s\n", d.names[va[j]]);
    if ((s = dolor_outfile_commit(&of)))
        goto fail;
    double best = NAN;
    s = dolor_det_train_run(&c, net, &tv, nva ? &vv : NULL, &meta, &best);
    if (s)
        goto fail;
    printf("best fitness %.4f (0.1 mAP50 + 0.9 mAP50:95); %s/best.safetensors, %s/log.csv, %s\n", best, o->out,
           o->out, vpath);
    goto done;
fail:
    rc = dolor_cli_fail(cmd, s);
done:
    for (int k = 0; k < nvl; k++)
        free(vlist[k]);
    free(vlist);
    free(tr);
    free(va);
    free(pix);
    free(ww);
    free(hh);
    free(lists); /* shallow copies of d.lists */
    free(names);
    free(flip);
    free(json);
    dolor_net_free(net);
    det_data_free(&d);
    return rc;
}

/* The outline of each instance mask of L (w x h, pixel edges, so the polygon fills back to the mask exactly):
 * (*polys)[j] with (*npts)[j] points, the largest connected component's when a mask has several, NULL for an empty
 * mask; free with dolor_det_polys_free(*polys, *npts, L->n). Errors: DOLOR_ENOMEM, those of dolor_det_from_labelmap. */
static dolor_status mask_outlines(const dolor_det_list *L, int w, int h, double ***polys, int **npts)
{
    *polys = calloc(L->n + 1, sizeof **polys);
    *npts = calloc(L->n + 1, sizeof **npts);
    int32_t *lab = malloc((size_t)w * h * sizeof *lab);
    dolor_status s = *polys && *npts && lab ? DOLOR_OK : dolor_error(DOLOR_ENOMEM, "out of memory");
    for (size_t j = 0; !s && j < L->n; j++) {
        for (size_t e = 0; e < (size_t)w * h; e++)
            lab[e] = L->obj[j].mask[e] != 0;
        dolor_det_list cl;
        dolor_det_list_init(&cl, 0, 0, 0);
        double **pp = NULL;
        int *nn = NULL;
        s = dolor_det_from_labelmap(lab, h, w, 1, 1, DOLOR_DET_CONTOUR_EDGES, &cl, &pp, &nn);
        if (!s && cl.n) {
            size_t bi = 0;
            double ba = -1;
            for (size_t q = 0; q < cl.n; q++) {
                double a = (cl.obj[q].box[2] - cl.obj[q].box[0]) * (cl.obj[q].box[3] - cl.obj[q].box[1]);
                if (a > ba) {
                    ba = a;
                    bi = q;
                }
            }
            (*polys)[j] = pp[bi];
            (*npts)[j] = nn[bi];
            pp[bi] = NULL;
        }
        if (pp)
            dolor_det_polys_free(pp, nn, cl.n);
        dolor_det_list_free(&cl);
    }
    free(lab);
    return s;
}

/* draw a detection list on a grey image: mask tint, box outline, keypoints */
static dolor_status write_overlay(const char *path, const float *pix, int w, int h, const dolor_det_list *l)
{
    dolor_image *o = NULL;
    dolor_status s = dolor_image_create2d(&o, DOLOR_U8, 3, w, h);
    if (s)
        return s;
    uint8_t *p = o->data;
    for (size_t e = 0; e < (size_t)w * h; e++) {
        float v = pix[e] < 0 ? 0 : pix[e] > 1 ? 1 : pix[e];
        p[3 * e] = p[3 * e + 1] = p[3 * e + 2] = (uint8_t)lrintf(v * 255);
    }
    for (size_t i = 0; i < l->n; i++) {
        const dolor_det_object *ob = &l->obj[i];
        uint8_t c[3];
        dolor_label_colour(ob->cls + 1, c); /* the class's colour in label maps, overlays and labels.txt */
        if (ob->mask && l->w == w && l->h == h)
            for (size_t e = 0; e < (size_t)w * h; e++)
                if (ob->mask[e])
                    for (int k = 0; k < 3; k++)
                        p[3 * e + k] = (uint8_t)((p[3 * e + k] + c[k]) / 2);
        int x1 = (int)ob->box[0], y1 = (int)ob->box[1], x2 = (int)ceil(ob->box[2]) - 1, y2 = (int)ceil(ob->box[3]) - 1;
        x1 = x1 < 0 ? 0 : x1;
        y1 = y1 < 0 ? 0 : y1;
        x2 = x2 >= w ? w - 1 : x2;
        y2 = y2 >= h ? h - 1 : y2;
        for (int x = x1; x <= x2; x++)
            for (int k = 0; k < 3; k++) {
                p[3 * ((size_t)y1 * w + x) + k] = c[k];
                p[3 * ((size_t)y2 * w + x) + k] = c[k];
            }
        for (int y = y1; y <= y2; y++)
            for (int k = 0; k < 3; k++) {
                p[3 * ((size_t)y * w + x1) + k] = c[k];
                p[3 * ((size_t)y * w + x2) + k] = c[k];
            }
        for (int j = 0; ob->kpt && j < l->nkpt; j++) {
            int kx = (int)ob->kpt[3 * j], ky = (int)ob->kpt[3 * j + 1];
            for (int dy = -2; dy <= 2; dy++)
                for (int dx = -2; dx <= 2; dx++) {
                    int x = kx + dx, y = ky + dy;
                    if (x >= 0 && y >= 0 && x < w && y < h) {
                        uint8_t *q = p + 3 * ((size_t)y * w + x);
                        q[0] = 255;
                        q[1] = 255;
                        q[2] = 255 * (j % 2);
                    }
                }
        }
    }
    s = dolor_png_write(path, o);
    dolor_image_free(o);
    return s;
}

/* the semantic label map of a list: class k + 1 where an object of class k has its mask (later objects over
 * earlier ones, so with predict's score order the most confident wins); objects below min_score are left out */
static dolor_status write_labelmap(const char *path, const dolor_det_list *l, int w, int h, double min_score)
{
    dolor_image *m = NULL;
    dolor_status s = dolor_image_create2d(&m, DOLOR_U8, 1, w, h);
    if (s)
        return s;
    uint8_t *p = m->data;
    for (size_t i = l->n; i-- > 0;) {
        const dolor_det_object *o = &l->obj[i];
        if (!o->mask || o->score < min_score || l->w != w || l->h != h)
            continue;
        for (size_t e = 0; e < (size_t)w * h; e++)
            if (o->mask[e])
                p[e] = (uint8_t)(o->cls + 1 > 255 ? 255 : o->cls + 1);
    }
    s = dolor_png_write_labels(path, m, NULL, 0);
    dolor_image_free(m);
    return s;
}

static dolor_status load_model(const det_opts *o, dolor_net **net, dolor_model_meta *meta)
{
    if (!o->model)
        return dolor_error(DOLOR_EINVAL, "--model FILE is required");
    dolor_status s = dolor_checkpoint_load(o->model, net, NULL, meta);
    if (!s && strcmp(meta->task, "detection"))
        s = dolor_error(DOLOR_EINVAL, "%s: a %s model, not a detection model (dolor detect train writes them)",
                        o->model, meta->task[0] ? meta->task : "segmentation");
    return s;
}

static int cmd_predict(det_opts *o, char **args, int nargs)
{
    const char *cmd = "detect predict";
    det_data d = {0};
    char **paths = NULL;
    size_t n = 0;
    int rc = DOLOR_EXIT_OK;
    dolor_net *net = NULL;
    dolor_det_scratch *sc = NULL;
    dolor_det_list *pred = NULL;
    dolor_model_meta meta;
    dolor_status s = DOLOR_OK;
    FILE *kf = NULL;
    dolor_outfile of = {0};
    if (!o->out || nargs < 1)
        return dolor_cli_usage_error(cmd, "needs --model FILE, images or folders, and -o OUT");
    if ((s = load_model(o, &net, &meta)) || (s = list_images(args, nargs, &paths, &n)) ||
        (s = load_images(&d, paths, n)))
        goto fail;
    pred = calloc(n, sizeof *pred);
    if (!pred) {
        s = dolor_error(DOLOR_ENOMEM, "detect: out of memory");
        goto fail;
    }
    dolor_det_nms_params p = dolor_det_nms_defaults();
    p.conf = o->conf > 0 ? o->conf : 0.25;
    p.iou = o->iou > 0 ? o->iou : 0.7;
    p.max_det = o->max_det ? (int)o->max_det : 300;
    char dir[4096], path[4400];
    snprintf(dir, sizeof dir, "%s/labels", o->out);
    if ((s = dolor_mkdir_p(dir)))
        goto fail;
    snprintf(dir, sizeof dir, "%s/overlays", o->out);
    if ((s = dolor_mkdir_p(dir)))
        goto fail;
    if (strstr(meta.arch_config, "segment")) {
        snprintf(dir, sizeof dir, "%s/labelmaps", o->out);
        if ((s = dolor_mkdir_p(dir)))
            goto fail;
    }
    int nkpt = 0;
    snprintf(path, sizeof path, "%s/keypoints.csv", o->out);
    dolor_progress *bar = o->quiet ? NULL : dolor_progress_create("detect", (int64_t)n);
    for (size_t i = 0; i < n && !s; i++) {
        double t0 = dolor_time_ms();
        s = dolor_det_predict(net, meta.height, d.pix[i], d.w[i], d.h[i], &p, &pred[i], &sc);
        if (s)
            break;
        nkpt = pred[i].nkpt;
        dolor_det_yolo_config yc = {pred[i].w ? DOLOR_DET_YOLO_SEGMENT : nkpt ? DOLOR_DET_YOLO_POSE : DOLOR_DET_YOLO_DETECT,
                                    meta.num_classes, nkpt, 3};
        double **polys = NULL;
        int *npts = NULL;
        if (pred[i].w) /* polygons of the masks */
            s = mask_outlines(&pred[i], d.w[i], d.h[i], &polys, &npts);
        snprintf(path, sizeof path, "%s/labels/%s.txt", o->out, d.names[i]);
        if (!s)
            s = dolor_det_yolo_write(path, &pred[i], &yc, d.w[i], d.h[i], (const double *const *)polys, npts);
        if (polys)
            dolor_det_polys_free(polys, npts, pred[i].n);
        else
            free(npts);
        snprintf(path, sizeof path, "%s/overlays/%s.png", o->out, d.names[i]);
        if (!s)
            s = write_overlay(path, d.pix[i], d.w[i], d.h[i], &pred[i]);
        if (!s && pred[i].w) {
            snprintf(path, sizeof path, "%s/labelmaps/%s.png", o->out, d.names[i]);
            s = write_labelmap(path, &pred[i], d.w[i], d.h[i], p.conf);
        }
        char suf[64];
        snprintf(suf, sizeof suf, "%zu objects, %.0f ms", pred[i].n, dolor_time_ms() - t0);
        dolor_progress_update(bar, (int64_t)i + 1, suf);
    }
    dolor_progress_finish(bar, s ? "failed" : NULL);
    if (s)
        goto fail;
    snprintf(path, sizeof path, "%s/detections.json", o->out);
    double *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; ids && i < n; i++)
        ids[i] = (double)(i + 1);
    s = ids ? dolor_det_coco_write_results(path, pred, n, ids, NULL) : dolor_error(DOLOR_ENOMEM, "out of memory");
    free(ids);
    if (s)
        goto fail;
    if (nkpt) { /* keypoints in pixels and, through the image's geometry, in mm */
        snprintf(path, sizeof path, "%s/keypoints.csv", o->out);
        if ((s = dolor_outfile_open(&of, path, 1)))
            goto fail;
        kf = of.fp;
        fprintf(kf, "image,object,class,score,keypoint,x_px,y_px,visibility,x_mm,y_mm,z_mm\n");
        for (size_t i = 0; i < n; i++) {
            dolor_image *img = NULL;
            int geo = dolor_image_read(d.paths[i], &img) == DOLOR_OK;
            for (size_t j = 0; j < pred[i].n; j++)
                for (int k = 0; k < nkpt; k++) {
                    const double *q = pred[i].obj[j].kpt + 3 * k;
                    double xyz[3] = {NAN, NAN, NAN};
                    if (geo)
                        dolor_det_pixel_to_mm(img, q[0], q[1], 0, xyz);
                    fprintf(kf, "%s,%zu,%s,%.4f,%d,%.2f,%.2f,%.3f,%.3f,%.3f,%.3f\n", d.names[i], j + 1,
                            meta.class_names[pred[i].obj[j].cls], pred[i].obj[j].score, k + 1, q[0], q[1], q[2], xyz[0],
                            xyz[1], xyz[2]);
                }
            dolor_image_free(img);
        }
        if ((s = dolor_outfile_commit(&of)))
            goto fail;
    }
    size_t tot = 0;
    for (size_t i = 0; i < n; i++)
        tot += pred[i].n;
    printf("%zu images, %zu detections: %s/labels, %s/overlays, %s/detections.json%s\n", n, tot, o->out, o->out, o->out,
           nkpt ? ", keypoints.csv" : pred[0].w ? ", labelmaps/" : "");
    goto done;
fail:
    rc = dolor_cli_fail(cmd, s);
done:
    for (size_t i = 0; pred && i < n; i++)
        dolor_det_list_free(&pred[i]);
    free(pred);
    dolor_det_scratch_free(sc);
    dolor_net_free(net);
    det_data_free(&d);
    return rc;
}

static int cmd_eval(det_opts *o)
{
    const char *cmd = "detect eval";
    det_data d = {0};
    char **paths = NULL, **vlist = NULL, *imgdir = o->images;
    size_t n = 0;
    int nvl = 0, rc = DOLOR_EXIT_OK;
    dolor_net *net = NULL;
    dolor_det_scratch *sc = NULL;
    dolor_det_list *pred = NULL, *gt = NULL;
    dolor_model_meta meta;
    dolor_status s = DOLOR_OK;
    if (!o->images)
        return dolor_cli_usage_error(cmd, "needs --model FILE, --images DIR and the truth (--yolo-labels or --masks)");
    if ((s = load_model(o, &net, &meta)))
        goto fail;
    { /* the head is the model's */
        cJSON *c = cJSON_Parse(meta.arch_config);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "task");
        const char *mt = cJSON_IsString(t) ? t->valuestring : "detect";
        if (o->head && strcmp(o->head, mt))
            s = dolor_error(DOLOR_EINVAL, "--head %s but %s is a %s model", o->head, o->model, mt);
        else if (!o->head && !(o->head = strdup(mt)))
            s = dolor_error(DOLOR_ENOMEM, "detect: out of memory");
        cJSON_Delete(c);
        if (s)
            goto fail;
    }
    if ((s = list_images(&imgdir, 1, &paths, &n)) || (s = load_images(&d, paths, n)) || (s = load_truth(o, &d)))
        goto fail;
    if (o->nclasses != meta.num_classes) {
        s = dolor_error(DOLOR_EINVAL, "--classes gives %d classes; %s has %d", o->nclasses, o->model, meta.num_classes);
        goto fail;
    }
    if (o->val_list && (s = read_list(o->val_list, &vlist, &nvl)))
        goto fail;
    pred = calloc(n, sizeof *pred);
    gt = calloc(n, sizeof *gt);
    if (!pred || !gt) {
        s = dolor_error(DOLOR_ENOMEM, "detect: out of memory");
        goto fail;
    }
    dolor_det_nms_params p = dolor_det_nms_defaults();
    p.conf = o->conf > 0 ? o->conf : 0.001;
    p.iou = o->iou > 0 ? o->iou : 0.7;
    p.max_det = o->max_det ? (int)o->max_det : 300;
    p.multi_label = 1;
    size_t m = 0;
    double row_mm = 0, col_mm = 0;
    for (size_t i = 0; i < n && !s; i++) {
        if (vlist && !in_list(vlist, nvl, d.names[i]))
            continue;
        s = dolor_det_predict(net, meta.height, d.pix[i], d.w[i], d.h[i], &p, &pred[m], &sc);
        gt[m] = d.lists[i];
        row_mm = d.row_mm[i];
        col_mm = d.col_mm[i];
        m++;
    }
    if (s)
        goto fail;
    if (!m) {
        s = dolor_error(DOLOR_EINVAL, "detect eval: no image of --images is in --val-list %s", o->val_list);
        goto fail;
    }
    int nkpt = pred[0].nkpt, seg = pred[0].w > 0;
    double *sig = nkpt ? malloc((size_t)nkpt * sizeof *sig) : NULL;
    for (int k = 0; k < nkpt && sig; k++)
        sig[k] = 1.0 / nkpt;
    FILE *out = stdout;
    dolor_outfile of = {0};
    if (o->out && (s = dolor_outfile_open(&of, o->out, 1)))
        goto fail;
    if (o->out)
        out = of.fp;
    fprintf(out, "kind,images,map50,map75,map50_95,precision,recall,f1,kpt_error_px,kpt_error_mm,dice,iou\n");
    for (int kind = 0; kind < 3 && !s; kind++) {
        if ((kind == 1 && !seg) || (kind == 2 && !nkpt))
            continue;
        dolor_det_eval_params ep = dolor_det_eval_defaults(meta.num_classes);
        ep.kind = (dolor_det_iou_kind)kind;
        ep.sigmas = sig;
        ep.nkpt = nkpt;
        if (kind == 2)
            ep.max_dets = 20;
        ep.row_spacing_mm = row_mm;
        ep.col_spacing_mm = col_mm;
        dolor_det_eval e = {0};
        s = dolor_det_evaluate(gt, pred, m, &ep, &e);
        if (!s)
            fprintf(out, "%s,%zu,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.4f,%.4f,nan,nan\n",
                    kind == 0 ? "box" : kind == 1 ? "mask" : "keypoints", m, e.map50, e.map75, e.map5095, e.precision,
                    e.recall, e.f1, e.kpt_err_px, e.kpt_err_mm);
        dolor_det_eval_free(&e);
    }
    /* segment models: the semantic view, as a U-Net is judged: per image and class, the union of the
     * detections with score >= 0.25 against the union of the truth's masks; Dice and IoU averaged over the
     * (image, class) pairs where either has pixels */
    for (int k = 0; seg && !s && k < meta.num_classes; k++) {
        double sd = 0, si = 0;
        int cnt = 0;
        for (size_t i = 0; i < m && !s; i++) {
            size_t N = (size_t)gt[i].w * gt[i].h, inter = 0, a = 0, b = 0;
            if (!N || pred[i].w != gt[i].w || pred[i].h != gt[i].h)
                continue;
            uint8_t *ua = calloc(N, 1), *ub = calloc(N, 1);
            if (!ua || !ub) {
                free(ua);
                free(ub);
                s = dolor_error(DOLOR_ENOMEM, "detect eval: out of memory");
                break;
            }
            for (size_t j = 0; j < pred[i].n; j++)
                if (pred[i].obj[j].cls == k && pred[i].obj[j].score >= 0.25 && pred[i].obj[j].mask)
                    for (size_t e = 0; e < N; e++)
                        ua[e] |= pred[i].obj[j].mask[e] != 0;
            for (size_t j = 0; j < gt[i].n; j++)
                if (gt[i].obj[j].cls == k && gt[i].obj[j].mask)
                    for (size_t e = 0; e < N; e++)
                        ub[e] |= gt[i].obj[j].mask[e] != 0;
            for (size_t e = 0; e < N; e++) {
                a += ua[e];
                b += ub[e];
                inter += (size_t)(ua[e] & ub[e]);
            }
            free(ua);
            free(ub);
            if (!a && !b)
                continue;
            sd += 2.0 * (double)inter / (double)(a + b);
            si += (double)inter / (double)(a + b - inter);
            cnt++;
        }
        if (!s)
            fprintf(out, "semantic_%s,%zu,nan,nan,nan,nan,nan,nan,nan,nan,%.6f,%.6f\n", meta.class_names[k], m,
                    cnt ? sd / cnt : NAN, cnt ? si / cnt : NAN);
    }
    free(sig);
    if (o->out && !s)
        s = dolor_outfile_commit(&of);
    else if (o->out)
        dolor_outfile_abort(&of);
    if (s)
        goto fail;
    goto done;
fail:
    rc = dolor_cli_fail(cmd, s);
done:
    for (size_t i = 0; pred && i < n; i++)
        dolor_det_list_free(&pred[i]);
    free(pred);
    free(gt); /* shallow copies of d.lists */
    for (int k = 0; k < nvl; k++)
        free(vlist[k]);
    free(vlist);
    dolor_det_scratch_free(sc);
    dolor_net_free(net);
    det_data_free(&d);
    return rc;
}

static int cmd_labels(det_opts *o)
{
    const char *cmd = "detect labels";
    det_data d = {0};
    char **paths = NULL, *mdir = o->masks;
    size_t n = 0;
    int rc = DOLOR_EXIT_OK;
    dolor_status s = DOLOR_OK;
    if (!o->masks || !o->out)
        return dolor_cli_usage_error(cmd, "needs --masks DIR, --classes and -o DIR");
    /* the label maps are their own images here (sizes and stems) */
    if ((s = list_images(&mdir, 1, &paths, &n)) || (s = load_images(&d, paths, n)) || (s = load_truth(o, &d)) ||
        (s = dolor_mkdir_p(o->out)))
        goto fail;
    int nkpt, corners;
    kpt_spec(o, &nkpt, &corners);
    int head = head_of(o->head);
    dolor_det_yolo_config yc = {(dolor_det_yolo_kind)head, o->nclasses, nkpt, 3};
    size_t tot = 0;
    int as_map = o->format && !strcmp(o->format, "labelmap");
    if (o->format && !as_map && strcmp(o->format, "yolo")) {
        s = dolor_error(DOLOR_EINVAL, "--format: '%s' is not yolo or labelmap", o->format);
        goto fail;
    }
    for (size_t i = 0; as_map && i < n && !s; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s.png", o->out, d.names[i]);
        s = write_labelmap(path, &d.lists[i], d.w[i], d.h[i], 0);
        tot += d.lists[i].n;
    }
    for (size_t i = 0; !as_map && i < n && !s; i++) {
        double **polys = NULL;
        int *npts = NULL;
        if (head == 1) /* outlines of each instance mask (pixel edges: filled back exactly) */
            s = mask_outlines(&d.lists[i], d.w[i], d.h[i], &polys, &npts);
        char path[4400];
        snprintf(path, sizeof path, "%s/%s.txt", o->out, d.names[i]);
        if (!s)
            s = dolor_det_yolo_write(path, &d.lists[i], &yc, d.w[i], d.h[i], (const double *const *)polys, npts);
        tot += d.lists[i].n;
        if (polys)
            dolor_det_polys_free(polys, npts, d.lists[i].n);
        else
            free(npts);
    }
    if (s)
        goto fail;
    printf("%zu label maps, %zu objects: %s\n", n, tot, o->out);
    goto done;
fail:
    rc = dolor_cli_fail(cmd, s);
done:
    det_data_free(&d);
    return rc;
}

int dolor_cmd_detect(int argc, char **argv)
{
    det_opts o = {0};
    o.kdim = 3;
    o.min_pixels = 50;
    o.size = 512;
    o.epochs = 100;
    o.batch = 16;
    o.warmup = 3;
    o.close_mosaic = 10;
    o.seed = 42;
    o.lrf = 0.01;
    o.momentum = 0.937;
    o.wd = 5e-4;
    o.mosaic = 1;
    o.zoom = 0.5;
    o.translate = 0.1;
    o.hsv_v = 0.4;
    o.val_fraction = 0.2;
    char **pos = NULL;
    int npos = 0, rc;
    const dolor_subcmd_desc *sub = NULL;
    int front = dolor_cmd_front(&detect_cmd, argc, argv, apply, &o, &pos, &npos, &sub);
    if (front >= 0) {
        rc = front;
        goto out;
    }
    if (o.threads)
        omp_set_num_threads((int)o.threads);
    if (o.head && strcmp(o.head, "detect") && strcmp(o.head, "segment") && strcmp(o.head, "pose")) {
        rc = dolor_cli_usage_error("detect", "--head: '%s' is not detect, segment or pose", o.head);
        goto out;
    }
    const char *mode = pos[0];
    if (strcmp(mode, "predict") && npos > 1) {
        rc = dolor_cli_usage_error("detect", "unexpected argument '%s'", pos[1]);
        goto out;
    }
    rc = !strcmp(mode, "train")     ? cmd_train(&o)
         : !strcmp(mode, "predict") ? cmd_predict(&o, pos + 1, npos - 1)
         : !strcmp(mode, "eval")    ? cmd_eval(&o)
                                    : cmd_labels(&o);
out:
    free(pos);
    free(o.images);
    free(o.yolo);
    free(o.masks);
    free(o.out);
    free(o.model);
    free(o.val_list);
    free(o.init);
    free(o.head);
    free(o.scale);
    free(o.optimizer);
    free(o.keypoints);
    free(o.patient_sep);
    free(o.format);
    dolor_cli_free_list(o.classes);
    dolor_cli_free_list(o.arch_kv);
    dolor_cli_free_list(o.values);
    dolor_cli_free_list(o.flip_idx);
    return rc;
}
