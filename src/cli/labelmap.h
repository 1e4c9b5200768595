#ifndef DOLOR_CLI_LABELMAP_H
#define DOLOR_CLI_LABELMAP_H
#include "dolor/data.h"
#include "dolor/eval.h"
#include "dolor/io.h"

/* Write lab (uint8 or uint16 label values) as DIR/STEM.nii.gz (nifti != 0,
 * keeps geometry) or DIR/STEM.png (palette PNG for uint8, 16-bit grey PNG
 * otherwise). values[nvalues]: the label value of each class (class c is
 * stored as values[c]), so the palette shows class c in
 * dolor_label_colour(c) as the overlays and labels.txt do (NULL: value v in
 * colour v). Atomic. written (may be NULL) receives the path. */
dolor_status dolor_cli_write_labelmap(const char *dir, const char *stem, const dolor_image *lab, int nifti,
                                      const int *values, int nvalues, char *written, size_t cap);

/* Add validation case i of ds to ev as dolor eval would score its label map against the mask file:
 * truth[nvox(pred)] holds the case's class indices at the original size (dolor_dataset_mask_orig),
 * pred the predicted class map; the surface distances use the mask file's spacing (or pixels when it
 * has none), as dolor_seg_eval_folders does. Errors: those of dolor_image_read (the mask file) and
 * dolor_seg_eval_add_image. */
dolor_status dolor_cli_eval_add_truth(dolor_seg_eval *ev, const dolor_dataset *ds, size_t i, const uint8_t *truth,
                                      const dolor_image *pred);

/* --channels VALUE: "grey" -> 1, "rgb" -> 3, or an integer 1..DOLOR_MAX_CHANNELS. Errors: DOLOR_EINVAL
 * naming the value. */
dolor_status dolor_cli_parse_channels(const char *v, int *channels);

/* Defaults from an nnU-Net v2 dataset's DIR/dataset.json: with want_classes, the foreground classes
 * (names, NULL-terminated list freed with dolor_cli_free_list) and their label values labels[1..n];
 * *channels (when 0) the number of channel_names. Errors: those of dolor_nnunet_info_read, DOLOR_EINVAL
 * (more classes than a model holds). */
dolor_status dolor_cli_nnunet_defaults(const char *dir, int want_classes, char ***classes, int *nclasses, int *labels,
                                       int *nlabels, int *channels);
#endif
