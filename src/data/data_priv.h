/* Private helpers shared by the data module's files. */
#ifndef DOLOR_DATA_PRIV_H
#define DOLOR_DATA_PRIV_H

#include "dolor/data.h"

/* Grey plane [ny*nx] of a 2D image (see dolor_preprocess_image step 1). */
dolor_status dolor_data_grey(const dolor_image *img, float *grey);
/* In-place z-score with the population sd (sd < 1e-6 -> 1). */
void dolor_data_zscore(float *v, size_t n);
/* Per-pixel label value of a 2D mask (grey, palette index, or 0xRRGGBB for colour masks). */
dolor_status dolor_data_mask_values(const dolor_image *m, int64_t *vals, const char *name);
/* Nearest resize (PyTorch 'nearest') of a byte plane; tmp: dw + dh ints. */
void dolor_data_resize_nearest_u8(const uint8_t *src, int sh, int sw, uint8_t *dst, int dh, int dw, int *tmp);

struct dolor_dataset {
    size_t n;
    int height, width, num_classes, mask_threshold;
    char **stems, **image_paths, **mask_paths;
    int *orig_w, *orig_h;
    int channels;    /* input channels per case */
    char **chan_paths; /* [n * DOLOR_MAX_CHANNELS] channel files (nnU-Net layout), NULL: image_paths */
    int *nfiles;     /* [n] channel files per case (with chan_paths) */
    float *images;   /* [n, channels*height*width] */
    uint8_t *masks;  /* [n, height*width] */
    char **class_names;
    int *label_values;
};

#endif
