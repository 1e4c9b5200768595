/*
 * dolor/data.h - 2D segmentation datasets: listing and loading image/mask
 * pairs, preprocessing, hold-out splits, augmentation and a prefetching
 * batch loader.
 *
 * Pipeline: dolor_dataset_open() reads every image and mask of two folders
 * into memory, each image converted to grey, resized to the network input
 * size (bilinear) and z-scored, each mask resized (nearest) and mapped from
 * label values to class indices 0..num_classes-1. dolor_dataset_split()
 * makes a seeded hold-out split; dolor_loader_*() serves shuffled,
 * augmented batches [N, 1, H, W] from one background thread.
 */
#ifndef DOLOR_DATA_H
#define DOLOR_DATA_H

#include "dolor/core.h"
#include "dolor/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================= datasets ======================= */

/* Most input channels a model or dataset takes (a dolor_image holds 1..4 components per voxel). */
#define DOLOR_MAX_CHANNELS 4

typedef struct dolor_dataset dolor_dataset;

typedef struct dolor_dataset_config {
    const char *image_dir;           /* images: .png .jpg .jpeg .nii .nii.gz (read with dolor_image_read) */
    const char *mask_dir;            /* masks matched by file stem ("0001.png" <-> "0001.png"/"0001.nii.gz") */
    int num_classes;                 /* incl. background (class 0); 2..255 */
    const char *const *class_names;  /* num_classes names, [0] = "background"; NULL = "background", "class1", ... */
    const int *label_values;         /* mask value of each class; label_values[0] is usually 0; NULL = 0..num_classes-1 */
    int height, width;               /* network input size, default (0) 256 x 256 */
    int mask_threshold;              /* > 0: binarise lossy masks (JPEG): value >= threshold -> label_values[1], else
                                        label_values[0] (needs num_classes == 2; Kvasir-SEG: 128). 0 = off */
    int channels;                    /* input channels per case (dolor_preprocess_channels): 0 = 1 with image_dir,
                                        dataset.json's channel count with nnunet_dir; 1 = grey (colour -> BT.601);
                                        2..4 = the image's components kept (3 with an RGB image: R, G, B) */
    const char *nnunet_dir;          /* an nnU-Net v2 dataset folder (dataset.json, imagesTr/CASE_XXXX<ending>,
                                        labelsTr/CASE<ending>) instead of image_dir/mask_dir (then both NULL) */
} dolor_dataset_config;

/* Fill cfg with defaults: no folders, num_classes 2, NULL names/values
 * (background/class1 with values 0/1), 256 x 256, no threshold, channels 0. */
void dolor_dataset_config_default(dolor_dataset_config *cfg);

/* Lists and loads every image and its mask into memory, preprocessed to
 * height x width (image: dolor_preprocess_image, float z-scored; mask:
 * dolor_preprocess_mask, class indices uint8), with a dolor_progress bar on
 * stderr ("loading"). Files are listed from both folders (names starting
 * with '.' and other extensions are ignored), matched by stem and sorted
 * by stem (strcmp). Images are decoded in parallel (OpenMP); the result does
 * not depend on the thread count.
 * Masks: 1 component (grey or palette indices); a 3/4-component mask whose
 * pixels are all grey (R == G == B) is read as grey, otherwise each pixel's
 * value is 0xRRGGBB (so label_values can name colours, e.g. 0xFF0000).
 * Errors, each naming the file (paths as dir/name):
 *   DOLOR_EINVAL  bad config (num_classes, height/width, duplicate label values,
 *                 mask_threshold); a mask value not in label_values
 *                 ("masks/0007.png: label value 3 (120 pixels) is not one of 0,1,2");
 *                 two files with the same stem in one folder ("0001.png" and "0001.jpg")
 *   DOLOR_ENOTFOUND a folder that cannot be opened; an empty folder ("X: no images
 *                 (.png .jpg .jpeg .nii .nii.gz)"); no image with a matching mask
 *                 ("no image in X has a matching mask in Y"); an image without a mask
 *                 ("images/0003.png: no mask 0003.* in masks"); a mask without an image
 *   DOLOR_ESHAPE  a mask whose size differs from its image
 *                 ("masks/0003.png: 534x512 but image is 512x512"); a 3D image
 *   and any error of dolor_image_read (DOLOR_EIO, DOLOR_EFORMAT, ...), DOLOR_ENOMEM.
 * When several cases fail, the error of the first one (in stem order) is reported. */
dolor_status dolor_dataset_open(const dolor_dataset_config *cfg, dolor_dataset **out);
/* With cfg->nnunet_dir: the cases of imagesTr/ (see dolor_nnunet_list_cases), each with its label map
 * labelsTr/CASE<file_ending>, stems = case IDs; channel files stacked with dolor_image_read_channels.
 * Further errors: those of dolor_nnunet_info_read and dolor_nnunet_list_cases, DOLOR_ENOTFOUND (a case
 * without a label map, a label map without a case), DOLOR_EFORMAT (numTraining differs from the cases
 * found), DOLOR_ESHAPE (an image's components do not give cfg->channels). */
void dolor_dataset_free(dolor_dataset *ds); /* NULL-safe */

size_t dolor_dataset_count(const dolor_dataset *ds);
/* Stem ("0001"), image path and mask path of case i (0 <= i < count). */
const char *dolor_dataset_stem(const dolor_dataset *ds, size_t i);
const char *dolor_dataset_image_path(const dolor_dataset *ds, size_t i);
const char *dolor_dataset_mask_path(const dolor_dataset *ds, size_t i);
/* Size of the image file as read (pixels), before resizing. */
void dolor_dataset_orig_size(const dolor_dataset *ds, size_t i, int *width, int *height);
const float *dolor_dataset_image(const dolor_dataset *ds, size_t i);   /* [channels*height*width] preprocessed */
/* Input channels per case (1 for grey). dolor_dataset_image_path gives the first channel's file. */
int dolor_dataset_channels(const dolor_dataset *ds);
/* Case i's image as read (before preprocessing): its file, or its channel files stacked
 * (dolor_image_read_channels). Errors: those of dolor_image_read_channels. */
dolor_status dolor_dataset_read_image(const dolor_dataset *ds, size_t i, dolor_image **img);
const uint8_t *dolor_dataset_mask(const dolor_dataset *ds, size_t i);  /* [height*width] class indices */
int dolor_dataset_height(const dolor_dataset *ds);
int dolor_dataset_width(const dolor_dataset *ds);
int dolor_dataset_num_classes(const dolor_dataset *ds);
/* Class name and mask value of class k (0 <= k < num_classes). */
const char *dolor_dataset_class_name(const dolor_dataset *ds, int k);
int dolor_dataset_label_value(const dolor_dataset *ds, int k);
/* Mask of case i at its ORIGINAL size as class indices (read again from its file, mapped with the dataset's
   label values or mask_threshold), for evaluating predictions at full resolution. out: [orig_h*orig_w].
   Errors: as dolor_image_read and dolor_preprocess_mask; DOLOR_ESHAPE if the file changed size. */
dolor_status dolor_dataset_mask_orig(const dolor_dataset *ds, size_t i, uint8_t *out);
/* Fraction of pixels of each class over the given cases (idx NULL = all cases) in the resized masks;
   frac: [num_classes], sums to 1 (all 0 when n == 0). For class weights and sanity checks. */
void dolor_dataset_class_fractions(const dolor_dataset *ds, const size_t *idx, size_t n, double *frac);

/* ======================= nnU-Net v2 datasets and multi-channel images =======================
 * The layout of nnU-Net v2 (Isensee et al., Nature Methods 18:203, 2021; its documentation
 * "dataset_format.md"): DIR/dataset.json, DIR/imagesTr/CASE_XXXX<file_ending> (XXXX = the channel,
 * 0000 first), DIR/labelsTr/CASE<file_ending>, DIR/imagesTs/ for test cases. */

typedef struct dolor_nnunet_info {
    int nchannels;                           /* entries of channel_names, 1..DOLOR_MAX_CHANNELS */
    char channel_names[DOLOR_MAX_CHANNELS][64]; /* "0", "1", ... in order ("water", "fat") */
    int nlabels;                             /* entries of labels, background included (2..255) */
    char (*label_names)[64];                 /* [nlabels], in increasing order of value */
    int *label_values;                       /* [nlabels]: 0, 1, ..., nlabels - 1 */
    char file_ending[16];                    /* ".nii.gz", ".png", ... */
    long num_training;                       /* numTraining; -1 when absent */
} dolor_nnunet_info;

/* 1 when dir/dataset.json exists (readable), else 0. */
int dolor_nnunet_is_dataset(const char *dir);

/* Read dir/dataset.json (cJSON): channel_names (or v1's modality), labels (name -> value; values must be
 * 0..n-1 with 0 present, nnU-Net's rule), file_ending, numTraining (optional). Errors, each naming the
 * file and the key: DOLOR_ENOTFOUND (no file), DOLOR_EFORMAT (not JSON, a key missing or of the wrong
 * type, duplicate or non-consecutive label values), DOLOR_EUNSUPPORTED (regions: a label given as a
 * list; more than DOLOR_MAX_CHANNELS channels), DOLOR_ENOMEM. */
dolor_status dolor_nnunet_info_read(const char *dir, dolor_nnunet_info **out);
void dolor_nnunet_info_free(dolor_nnunet_info *info); /* NULL-safe */

/* One case of an images folder: its ID and channel files. */
typedef struct dolor_nnunet_case {
    char *id;                                 /* "CASE" of CASE_0000<ending> */
    char *channel_paths[DOLOR_MAX_CHANNELS];  /* [nfiles] used */
    int nfiles;                               /* nchannels, or 1: a single CASE_0000 file holding every channel
                                                 as components (an RGB PNG for channels R, G, B; only when
                                                 every case of the folder is a single file) */
} dolor_nnunet_case;

/* The cases of images_dir (files CASE_XXXX<file_ending>; hidden files and other endings ignored),
 * sorted by ID. Errors: DOLOR_ENOTFOUND (no folder, no case, a case missing one of channels
 * 0..nchannels-1 when it has more than channel 0: names the file expected), DOLOR_EFORMAT (a file
 * with the ending not named CASE_XXXX, a channel number >= nchannels), DOLOR_ENOMEM. Free with
 * dolor_nnunet_cases_free. */
dolor_status dolor_nnunet_list_cases(const char *images_dir, const char *file_ending, int nchannels,
                                     dolor_nnunet_case **out, size_t *n);
void dolor_nnunet_cases_free(dolor_nnunet_case *cases, size_t n); /* NULL-safe */

/* Read n channel files (1..DOLOR_MAX_CHANNELS) as one image: n == 1 as dolor_image_read gives it; else
 * each file must hold one component and all the same size; the result is float32 with n components
 * (component k = file k) and the first file's geometry. Errors: those of dolor_image_read,
 * DOLOR_EUNSUPPORTED (a file with several components), DOLOR_ESHAPE (sizes differ: names both files). */
dolor_status dolor_image_read_channels(const char *const *paths, int n, dolor_image **out);

/* Network input of a model with `channels` inputs: channels <= 1: dolor_preprocess_image (grey). Else
 * each channel c (component c; a grey image is replicated for channels == 3, an RGBA image's alpha is
 * dropped) is resized to height x width (bilinear) and z-scored on its own (nnU-Net's per-channel
 * ZScoreNormalization): out [channels, height, width]. Errors: DOLOR_ESHAPE (components do not give
 * the channels; not 2D), DOLOR_ENUMERIC (NaN/Inf: names the pixel and channel), DOLOR_EINVAL,
 * DOLOR_ENOMEM. */
dolor_status dolor_preprocess_channels(const dolor_image *img, int channels, int height, int width, float *out);

/* Seeded hold-out split: fraction val_fraction (0 < f < 1; default 0.2) of
 * the cases go to validation: n_val = round(f * count), at least 1 and at
 * most count - 1; chosen by a Fisher-Yates shuffle of 0..count-1 with
 * dolor_rng seeded by seed (the first n_val shuffled cases). Or, if
 * val_list_path != NULL (val_fraction then ignored), the stems listed in
 * that text file (one per line; surrounding blanks, empty lines and lines
 * starting with '#' ignored; a known extension such as ".png" is removed).
 * Returns two caller-freed (free()) index arrays, each sorted ascending.
 * Errors: DOLOR_EINVAL (val_fraction out of (0, 1), fewer than 2 cases, a
 * list leaving no training or no validation case), DOLOR_EIO (list cannot be
 * read), DOLOR_ENOTFOUND (a listed stem that is not in the dataset: names
 * the stem, the list and the line), DOLOR_ENOMEM. */
dolor_status dolor_dataset_split(const dolor_dataset *ds, double val_fraction, uint64_t seed, const char *val_list_path,
                                 size_t **train_idx, size_t *n_train, size_t **val_idx, size_t *n_val);

/* Seeded k-fold cross-validation: cases are shuffled (Fisher-Yates, dolor_rng seeded by seed) and case at
 * shuffled position p goes to fold p % k, so fold sizes differ by at most 1 and every case is validated in
 * exactly one fold. Returns fold `fold` (0..k-1) as validation and the rest as training; caller-freed sorted
 * arrays. Errors: DOLOR_EINVAL (k < 2, k > count, fold out of 0..k-1), DOLOR_ENOMEM. */
dolor_status dolor_dataset_kfold(const dolor_dataset *ds, int k, int fold, uint64_t seed, size_t **train_idx,
                                 size_t *n_train, size_t **val_idx, size_t *n_val);

/* ======================= preprocessing ======================= */

/* Preprocessing, also used by predict on new images (2D; ndim 3/4 only with
 * singleton extra extents):
 * 1. grey: 1 component as is; 2 (grey+alpha): the grey one; 3/4 (RGB/RGBA):
 *    ITU-R BT.601 luma 0.299 R + 0.587 G + 0.114 B (alpha dropped). Any dtype.
 * 2. bilinear resize to height x width with PyTorch
 *    F.interpolate(mode='bilinear', align_corners=False) semantics (see
 *    dolor_resize_bilinear).
 * 3. z-score over the resized image: (v - mean) / sd with the population sd
 *    (divide by N); sd < 1e-6 -> divide by 1.
 * out: [height*width] row-major. Errors: DOLOR_EINVAL (height/width < 1,
 * ncomp not 1..4), DOLOR_ESHAPE (3D image), DOLOR_ENUMERIC (a NaN or Inf
 * pixel, "pixel (30, 20) is nan ..."; callers prefix the file name), DOLOR_ENOMEM. */
dolor_status dolor_preprocess_image(const dolor_image *img, int height, int width, float *out);

/* Nearest-neighbour resize of a label image to height x width, mapping
 * label values to class indices (value label_values[k] -> k; NULL
 * label_values = identity 0..num_classes-1). Nearest follows PyTorch
 * F.interpolate(mode='nearest'): source index floor(dst * in / out).
 * Every pixel of the ORIGINAL mask is checked, not only those sampled.
 * Multi-component masks: see dolor_dataset_open. name is used in messages.
 * Errors: DOLOR_EINVAL (a value not listed: names name, the smallest such
 * value, its pixel count and the allowed values, e.g. "masks/0007.png: label
 * value 3 (120 pixels) is not one of 0,1,2"; float values that are not
 * integers), DOLOR_ESHAPE (3D), DOLOR_ENOMEM. */
dolor_status dolor_preprocess_mask(const dolor_image *mask, int num_classes, const int *label_values,
                                   int height, int width, uint8_t *out, const char *name);

/* Bilinear resize of C planes [C, sh, sw] -> [C, dh, dw] with PyTorch
 * F.interpolate(mode='bilinear', align_corners=False) semantics: the source
 * coordinate of output index o is (o + 0.5) * s_in / s_out - 0.5, clamped
 * below at 0, then linear interpolation between floor() and floor()+1
 * (the last index repeated at the far edge). Used to bring class
 * probabilities back to an image's original size. src and dst must not
 * overlap. */
void dolor_resize_bilinear(const float *src, int c, int sh, int sw, float *dst, int dh, int dw);
/* Bilinear sample of one plane im [h, w] at (x, y) in pixel-index coordinates (pixel centres at integers),
 * clamped to [0, w - 1] x [0, h - 1] (the edge pixels repeated beyond them): the interpolation of
 * dolor_augment_apply's rotation and of the detection letterbox and mosaic (which pass x - 0.5, y - 0.5
 * for coordinates measured from the pixel edges, as cv2.warpAffine's INTER_LINEAR). */
float dolor_bilinear_at(const float *im, int w, int h, double x, double y);
/* Trilinear resize of C volumes [C, sd, sh, sw] -> [C, dd, dh, dw] with PyTorch
 * F.interpolate(mode='trilinear', align_corners=False) semantics: separable, each axis as
 * dolor_resize_bilinear's (source (o + 0.5) * s_in / s_out - 0.5, clamped below at 0). src and dst
 * must not overlap. Errors: DOLOR_ENOMEM (two intermediate buffers). */
dolor_status dolor_resize_trilinear(const float *src, int c, int sd, int sh, int sw, float *dst, int dd, int dh,
                                    int dw);

/* ======================= augmentation ======================= */

typedef struct dolor_augment_config {
    double rotate_deg;     /* uniform in [-rotate_deg, +rotate_deg], default 15 */
    int hflip;             /* flip left-right with probability 0.5, default 1 */
    double brightness;     /* add uniform [-b, b] (in z-score units), default 0.1 */
    double contrast;       /* multiply by uniform [1-c, 1+c], default 0.2 */
    double gamma;          /* gamma uniform in [1-g, 1+g] applied on the min-max normalised image, then rescaled back,
                              default 0.2 */
} dolor_augment_config;
void dolor_augment_config_default(dolor_augment_config *a);

/* One draw of the random parameters. */
typedef struct dolor_augment_params {
    double angle_deg;  /* counter-clockwise on screen (x right, y down), as torchvision rotate */
    int flip;          /* 1: mirror left-right (after rotating) */
    double brightness; /* added */
    double contrast;   /* factor */
    double gamma;      /* exponent */
} dolor_augment_params;

/* Draw parameters from rng: exactly five dolor_rng_uniform() calls in the
 * order angle, flip, brightness, contrast, gamma, whatever the config
 * (a zero range gives the neutral value), so streams stay aligned. */
void dolor_augment_draw(const dolor_augment_config *a, dolor_rng *rng, dolor_augment_params *p);

/* Bytes of scratch that dolor_augment_apply needs: h*w*sizeof(float) + h*w. */
size_t dolor_augment_work_size(int h, int w);

/* Apply given parameters in place on one image [h*w] and its class mask [h*w]
 * (mask may be NULL). Order: (1) rotation about the centre ((w-1)/2, (h-1)/2)
 * and flip, one resampling: bilinear for the image, nearest for the mask;
 * samples from outside the image -> the image minimum / class 0 (background);
 * (2) gamma: v = mn + (mx - mn) * ((v - mn) / (mx - mn))^gamma with mn, mx the
 * image's min and max (skipped when mx - mn < 1e-12); (3) contrast: v *= c;
 * (4) brightness: v += b. work: caller scratch of at least
 * dolor_augment_work_size(h, w) bytes, aligned for float (h*w floats followed
 * by h*w bytes). */
void dolor_augment_apply_params(const dolor_augment_params *p, float *img, uint8_t *mask, int h, int w, void *work);

/* dolor_augment_draw + dolor_augment_apply_params. */
void dolor_augment_apply(const dolor_augment_config *a, dolor_rng *rng, float *img, uint8_t *mask, int h, int w,
                         void *work);

/* ======================= batch loader ======================= */

/* Batch loader with ONE background thread preparing the next batch while the
 * caller trains on the current one. indices: the cases (copied). shuffle:
 * reshuffle each epoch (Fisher-Yates with dolor_rng seeded from seed and the
 * epoch number). aug: NULL = no augmentation (copied). drop_last: skip a final
 * partial batch (training) or not (validation). Deterministic for a given
 * seed: the augmentation rng of a sample is seeded from (seed, epoch, case),
 * never from thread timing.
 * Errors: DOLOR_EINVAL (batch_size < 1, n == 0, an index >= count, drop_last
 * with n < batch_size: no batch at all), DOLOR_ENOMEM, DOLOR_EBACKEND (thread
 * creation failed). */
typedef struct dolor_loader dolor_loader;
dolor_status dolor_loader_create(const dolor_dataset *ds, const size_t *indices, size_t n, int batch_size, int shuffle,
                                 int drop_last, const dolor_augment_config *aug, uint64_t seed, dolor_loader **out);
/* The same, starting at epoch first_epoch (0-based) of the seeded sequence, so
 * a resumed training run gets exactly the batches and augmentations an
 * uninterrupted run would have had from that epoch on. */
dolor_status dolor_loader_create_at(const dolor_dataset *ds, const size_t *indices, size_t n, int batch_size,
                                    int shuffle, int drop_last, const dolor_augment_config *aug, uint64_t seed,
                                    int first_epoch, dolor_loader **out);

/* Fills images [batch_size, 1, H, W] (caller-allocated dolor_tensor; shape[0]
 * >= batch_size; only the first *count samples are valid, the rest are set
 * to 0), labels [batch_size*H*W] class indices (may be NULL; unused tail 0),
 * case indices [batch_size] (may be NULL; dataset indices; unused tail
 * (size_t)-1). The copy out of the staging buffer is a memcpy; a batch of
 * 8 x 256 x 256 takes well under a millisecond to hand over. *count == 0 marks the end of an epoch; the
 * next call starts the next epoch. Errors: DOLOR_ESHAPE (tensor shape is not
 * [>= batch_size, 1, H, W]). */
dolor_status dolor_loader_next(dolor_loader *ld, dolor_tensor *images, uint8_t *labels, size_t *cases, int *count);
size_t dolor_loader_batches_per_epoch(const dolor_loader *ld);
/* Epoch of the batch returned last (0-based). */
int dolor_loader_epoch(const dolor_loader *ld);
void dolor_loader_free(dolor_loader *ld); /* NULL-safe; stops and joins the thread */

/* ======================= classification datasets (src/data/classify.c) =======================
 * A listing of cases with one class label each, 2D images or 3D volumes, every case preprocessed into
 * memory at the network size:
 *   2D: dolor_preprocess_image (grey, bilinear resize to height x width, z-score);
 *   3D: grey (first component; RGB as BT.601 luma), trilinear resize to depth x height x width with
 *       PyTorch F.interpolate(mode='trilinear', align_corners=False) semantics (separable linear per
 *       axis, source index (o + 0.5) in / out - 0.5 clamped at 0), then z-score over the volume
 *       (population sd; sd < 1e-6 -> 1). A volume's (x, y, z) = (i, j, k) index order maps to the tensor's
 *       [D, H, W] = [k, j, i] (W fastest, as the file's voxels). A 2D file in a 3D dataset is a volume of
 *       one slice.
 * Sources (exactly one):
 *   csv: a CSV file (RFC 4180: a header line, commas, optional double quotes) with columns named
 *        image_col (default "image"), label_col ("label") and, optionally, patient_col ("patient"); other
 *        columns are ignored. Image paths are relative to the CSV's folder (absolute paths as they are) and
 *        name anything dolor_image_read reads: PNG, JPEG, NIfTI, MetaImage, a DICOM file or a folder
 *        holding one DICOM series. A case without a patient (no column or an empty cell) is its own patient.
 *   dir: a folder with one sub-folder per class (sorted by name, strcmp: they are the class names), every
 *        file or sub-sub-folder in them a case (names starting with '.' skipped); patient = the case's stem.
 * Labels: with class_names given, a label is one of those names or its index; otherwise, if every label
 * is an integer, classes are 0..max (named "0", "1", ...); else the distinct label strings sorted by
 * strcmp. At least 2 classes. */

typedef struct dolor_cls_dataset dolor_cls_dataset;

typedef struct dolor_cls_config {
    const char *csv;                /* CSV listing, or NULL */
    const char *dir;                /* folder of class folders, or NULL */
    const char *image_col, *label_col, *patient_col; /* CSV header names; NULL: "image", "label", "patient" */
    int spatial_dims;               /* 2 or 3 (default 2) */
    int depth, height, width;       /* network size: default 64 x 128 x 128 (3D), 224 x 224 (2D) */
    int num_classes;                /* 0: discovered from the labels; else the count of class_names */
    const char *const *class_names; /* NULL or num_classes names fixing the class order */
} dolor_cls_config;

void dolor_cls_config_default(dolor_cls_config *c);

/* Reads and preprocesses every case (in listing order; dir: class by class, files sorted), with a
 * progress bar on stderr.
 * Errors, naming the CSV and its line, or the file:
 *   DOLOR_EINVAL    bad config (no or two sources, sizes < 1, spatial_dims not 2 or 3); a CSV without the
 *                   named columns ("cases.csv: no column \"label\" (columns: image, y)"), a line with
 *                   another number of fields, an empty image or label cell, a label not in class_names
 *                   ("cases.csv:7: label \"maybe\" is not one of no, yes"), fewer than 2 classes, more
 *                   than 255, no cases
 *   DOLOR_ENOTFOUND the CSV, the folder, or an image that does not exist
 *   DOLOR_ESHAPE    a 3D volume (size[2] > 1) in a 2D dataset; a 4D image with more than one frame
 *   and the errors of dolor_image_read, DOLOR_ENUMERIC (a NaN or Inf voxel), DOLOR_ENOMEM. */
dolor_status dolor_cls_dataset_open(const dolor_cls_config *cfg, dolor_cls_dataset **out);
void dolor_cls_dataset_free(dolor_cls_dataset *ds); /* NULL-safe */

size_t dolor_cls_dataset_count(const dolor_cls_dataset *ds);
int dolor_cls_dataset_num_classes(const dolor_cls_dataset *ds);
const char *dolor_cls_dataset_class_name(const dolor_cls_dataset *ds, int k);
int dolor_cls_dataset_spatial_dims(const dolor_cls_dataset *ds);
/* Network size of every case: depth is 1 for a 2D dataset. */
void dolor_cls_dataset_size(const dolor_cls_dataset *ds, int *depth, int *height, int *width);
int dolor_cls_dataset_label(const dolor_cls_dataset *ds, size_t i);      /* class index */
const char *dolor_cls_dataset_path(const dolor_cls_dataset *ds, size_t i);    /* as resolved */
const char *dolor_cls_dataset_patient(const dolor_cls_dataset *ds, size_t i); /* patient ID */
const float *dolor_cls_dataset_image(const dolor_cls_dataset *ds, size_t i);  /* [depth*height*width] */

/* Patient-level, stratified splits: cases are grouped by patient (every case of a patient lands on one
 * side), each group labelled by its first case's class; the groups of each class are shuffled
 * (Fisher-Yates, dolor_rng seeded by seed) and dealt out in turn, class after class.
 * Hold-out: of each class's groups round(val_fraction * n_class) go to validation, but at least 1 and
 * at most n_class - 1 for a class of 2 groups or more, with at least one group on each side overall. k-fold: the group at position p of the dealt sequence (over all classes)
 * goes to fold p % k, so every fold gets about 1/k of each class; fold `fold` is validation.
 * Returns caller-freed (free()) index arrays sorted ascending.
 * Errors: DOLOR_EINVAL (val_fraction outside (0, 1); fewer than 2 patients; k < 2 or more than the
 * patients; fold outside 0..k-1), DOLOR_ENOMEM. */
dolor_status dolor_cls_dataset_split(const dolor_cls_dataset *ds, double val_fraction, uint64_t seed,
                                     size_t **train_idx, size_t *n_train, size_t **val_idx, size_t *n_val);
dolor_status dolor_cls_dataset_kfold(const dolor_cls_dataset *ds, int k, int fold, uint64_t seed, size_t **train_idx,
                                     size_t *n_train, size_t **val_idx, size_t *n_val);

/* Augmentation of one preprocessed case, all draws from one dolor_rng:
 *   3D, in this order: flips (mirror W, H, D each with probability 0.5 when flip_w / flip_h / flip_d),
 *   a rotation of every axial slice (the H x W plane, about its centre) by an angle uniform in
 *   [-rotate_deg, rotate_deg] (bilinear; outside samples take the volume's minimum), then intensity
 *   v * U[1 - scale, 1 + scale] + U[-shift, shift] (z-score units). Exactly 6 dolor_rng_uniform() draws
 *   (flip_w, flip_h, flip_d, angle, scale, shift), whatever the config.
 *   2D: dolor_augment_apply with rotate_deg, flip_w as hflip, shift as brightness, scale as contrast
 *   and no gamma. */
typedef struct dolor_cls_augment {
    int flip_w, flip_h, flip_d; /* default 1, 1, 1 (2D: flip_w only) */
    double rotate_deg;          /* default 10 */
    double scale, shift;        /* default 0.1, 0.1 */
} dolor_cls_augment;
void dolor_cls_augment_default(dolor_cls_augment *a);

/* Copies cases[0..n-1] into out [n, 1, depth, height, width] (2D: [n, 1, height, width]); with aug != NULL
 * each sample augmented with an rng seeded from (seed, epoch, case index), so a batch does not depend on
 * the thread count or on which other cases share it. OpenMP over samples; with aug, allocates one
 * scratch slice (H x W) per sample for the call.
 * Errors: DOLOR_EINVAL (a case index out of range), DOLOR_ENOMEM. */
dolor_status dolor_cls_dataset_batch(const dolor_cls_dataset *ds, const size_t *cases, int n,
                                     const dolor_cls_augment *aug, uint64_t seed, int epoch, float *out);

/* ======================= Dataset fingerprint and plan (src/data/plan.c) =======================
 * nnU-Net's automatic configuration (Isensee, Jaeger, Kohl, Petersen & Maier-Hein, "nnU-Net: a
 * self-configuring method for deep learning-based biomedical image segmentation", Nature Methods
 * 18:203-211, 2021; the rules below follow its paper and its v2 ExperimentPlanner, re-derived here, not
 * copied), for the 3D full-resolution configuration on this machine's CPU:
 *   fingerprint: per case the spacing (mm) and size (voxels) of channel 0; per channel the mean, sd
 *     (population), median, 0.5 / 99.5 percentiles (numpy's linear interpolation), min and max of the
 *     intensities over foreground voxels (label > 0) of every training case pooled; the voxel count of
 *     every class.
 *   target spacing: the median spacing per axis; if the coarsest axis is anisotropic (its median spacing
 *     > 3 x the largest other and its median size x 3 < the smallest other size) it is the 10th
 *     percentile of that axis's spacings instead, at least the largest other spacing (+ 1e-5 when raised).
 *   patch: the median size after resampling m_a = median(size_a * spacing_a / target_a); a start
 *     p_a proportional to 1 / target_a with prod p = max_patch_voxels, rounded, at most m_a; then the
 *     U-Net depth d = floor(log2(min_a p_a / 4)) clamped to 1..5 (nnU-Net pools while a feature map stays
 *     >= 4 voxels), each axis rounded up to a multiple of 2^d, and while the patch holds more than
 *     max_patch_voxels or its estimated training memory exceeds memory_mb, the axis with the largest
 *     p_a / m_a among those that stay >= 8 voxels loses 2^d voxels. The estimate: batch x sum over levels of (voxels / 8^l) x base 2^l x 28
 *     float32 values (forward activations of the encoder and decoder blocks and their gradients), a
 *     planning figure, not a measurement. dolor's U-Net pools all axes together, where nnU-Net would stop
 *     pooling an axis whose spacing is over twice the finest: the depth is set by the shortest axis.
 *   normalisation per channel: "zscore" (mean and sd of the case, nnU-Net's ZScoreNormalization, for
 *     MRI and anything not named CT) or, for a channel named "CT" in dataset.json, "ct": clip to the
 *     fingerprint's 0.5 / 99.5 percentiles, then z-score with the fingerprint's mean and sd.
 *   batch size 2 (nnU-Net's minimum), a third of each batch forced to hold foreground. */

#define DOLOR_FP_MAX_CLASSES 64

typedef struct dolor_intensity_stats {
    double mean, sd, median, p00_5, p99_5, min, max;
    int64_t n; /* foreground voxels counted */
} dolor_intensity_stats;

typedef struct dolor_fingerprint {
    size_t ncases;
    int nchannels, nclasses;
    char channel_names[DOLOR_MAX_CHANNELS][64];
    char class_names[DOLOR_FP_MAX_CLASSES][64];
    char file_ending[16];
    char (*case_ids)[64];    /* [ncases] */
    double (*spacing)[3];    /* [ncases] mm along x, y, z */
    int64_t (*size)[3];      /* [ncases] voxels along x, y, z */
    dolor_intensity_stats intensity[DOLOR_MAX_CHANNELS];
    int64_t class_voxels[DOLOR_FP_MAX_CLASSES];
} dolor_fingerprint;

/* Fingerprint of the nnU-Net dataset in dir (dataset.json, imagesTr/, labelsTr/; see above). Every case's
 * channels are read with dolor_image_read_channels and its label map must have the same size. Errors:
 * those of dolor_nnunet_info_read, dolor_nnunet_list_cases and dolor_image_read_channels,
 * DOLOR_ENOTFOUND (a case without a label map), DOLOR_ESHAPE (a label map of another size: names both),
 * DOLOR_EINVAL (a label value outside dataset.json's labels, more than DOLOR_FP_MAX_CLASSES classes),
 * DOLOR_EUNSUPPORTED (a 4D image), DOLOR_ENOMEM. Free with dolor_fingerprint_free. */
dolor_status dolor_fingerprint_compute(const char *dir, dolor_fingerprint **out);
void dolor_fingerprint_free(dolor_fingerprint *fp); /* NULL-safe */

typedef struct dolor_plan {
    char dataset[1024];          /* the dataset folder the plan was made from */
    int nchannels, nclasses;
    char channel_names[DOLOR_MAX_CHANNELS][64];
    char class_names[DOLOR_FP_MAX_CLASSES][64];
    double target_spacing[3];    /* mm along x, y, z */
    int patch[3];                /* voxels along x, y, z (tensor [N, C, z, y, x]) */
    int batch_size;
    int depth, base_channels;    /* the "unet" with spatial_dims 3 */
    int ct[DOLOR_MAX_CHANNELS];  /* 1: "ct" normalisation of that channel, 0: "zscore" */
    double ct_clip[DOLOR_MAX_CHANNELS][2], ct_mean[DOLOR_MAX_CHANNELS], ct_sd[DOLOR_MAX_CHANNELS];
    double foreground_fraction;  /* share of each batch forced to hold foreground (1/3) */
    long max_patch_voxels;
    double memory_mb;
    double est_memory_mb;        /* the estimate for the patch chosen */
} dolor_plan;

/* Plan limits: max_patch_voxels 4096.. (default 262144 = 2^18), memory_mb > 0 (default 2048), base_channels
 * 1..64 (default 16), batch_size 1..64 (default 2). */
typedef struct dolor_plan_opts {
    long max_patch_voxels;
    double memory_mb;
    int base_channels, batch_size;
} dolor_plan_opts;
void dolor_plan_opts_default(dolor_plan_opts *o);

/* Derive the 3D plan from a fingerprint by the rules above. Errors: DOLOR_EINVAL (an option out of range,
 * a fingerprint without cases, a dataset whose median size is under 8 voxels on an axis: too small for a
 * 3D U-Net). */
dolor_status dolor_plan_derive(const dolor_fingerprint *fp, const char *dataset, const dolor_plan_opts *o,
                               dolor_plan *plan);

/* Write the plan (and, when fp != NULL, its fingerprint) as JSON to path (temporary file, renamed); the
 * user may edit it and give it to dolor train --plan. Errors: DOLOR_EIO. */
dolor_status dolor_plan_write(const dolor_plan *plan, const dolor_fingerprint *fp, const char *path);

/* Read a plan JSON written by dolor_plan_write (the "fingerprint" object is not needed). Errors:
 * DOLOR_ENOTFOUND / DOLOR_EIO (no file), DOLOR_EFORMAT (not JSON, a key missing or of the wrong type, a
 * value out of range: names the key), DOLOR_ENOMEM. */
dolor_status dolor_plan_read(const char *path, dolor_plan *plan);

#ifdef __cplusplus
}
#endif
#endif
