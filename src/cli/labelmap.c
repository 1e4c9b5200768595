/* Writing a predicted label map in the format that fits it (shared by train and predict). */
#include "labelmap.h"
#include "cli.h"
#include "dolor/train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dolor_status dolor_cli_write_labelmap(const char *dir, const char *stem, const dolor_image *lab, int nifti,
                                      const int *values, int nvalues, char *written, size_t cap)
{
    char path[4096];
    dolor_status s;
    if (nifti) {
        snprintf(path, sizeof path, "%s/%s.nii.gz", dir, stem);
        s = dolor_nifti_write(path, lab);
    } else {
        snprintf(path, sizeof path, "%s/%s.png", dir, stem);
        /* palette PNG when values fit 8 bits (viewers show colours, those of the overlays and labels.txt),
         * 16-bit grey otherwise */
        uint8_t pal[256 * 3];
        dolor_label_palette(values, nvalues, pal);
        s = lab->dtype == DOLOR_U8 ? dolor_png_write_labels(path, lab, pal, 256) : dolor_png_write(path, lab);
    }
    if (!s && written)
        snprintf(written, cap, "%s", path);
    return s;
}

dolor_status dolor_cli_eval_add_truth(dolor_seg_eval *ev, const dolor_dataset *ds, size_t i, const uint8_t *truth,
                                      const dolor_image *pred)
{
    dolor_image *file = NULL, *t = NULL;
    dolor_status s = dolor_image_read(dolor_dataset_mask_path(ds, i), &file);
    if (!s)
        s = dolor_image_create(&t, DOLOR_U8, 1, pred->ndim, pred->size);
    if (!s) {
        memcpy(t->data, truth, dolor_image_nvox(pred));
        dolor_image_copy_geometry(t, file);
        s = dolor_seg_eval_add_image(ev, dolor_dataset_stem(ds, i), t, pred);
    }
    dolor_image_free(file);
    dolor_image_free(t);
    return s;
}

dolor_status dolor_cli_parse_channels(const char *v, int *channels)
{
    if (!strcmp(v, "grey") || !strcmp(v, "gray")) {
        *channels = 1;
        return DOLOR_OK;
    }
    if (!strcmp(v, "rgb")) {
        *channels = 3;
        return DOLOR_OK;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (*v && !*end && n >= 1 && n <= DOLOR_MAX_CHANNELS) {
        *channels = (int)n;
        return DOLOR_OK;
    }
    return dolor_error(DOLOR_EINVAL, "--channels: '%s' is not grey, rgb or a count 1..%d", v, DOLOR_MAX_CHANNELS);
}

dolor_status dolor_cli_nnunet_defaults(const char *dir, int want_classes, char ***classes, int *nclasses, int *labels,
                                       int *nlabels, int *channels)
{
    dolor_nnunet_info *in = NULL;
    dolor_status s = dolor_nnunet_info_read(dir, &in);
    if (s)
        return s;
    if (!*channels)
        *channels = in->nchannels;
    if (want_classes) {
        int k = in->nlabels - 1;
        if (k >= DOLOR_MAX_CLASSES)
            s = dolor_error(DOLOR_EINVAL, "%s/dataset.json: %d classes (a model holds at most %d)", dir, k,
                            DOLOR_MAX_CLASSES - 1);
        char **names = s ? NULL : calloc((size_t)k + 1, sizeof *names);
        if (!s && !names)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
        for (int c = 0; !s && c < k; c++) {
            names[c] = strdup(in->label_names[c + 1]);
            if (!names[c])
                s = dolor_error(DOLOR_ENOMEM, "out of memory");
            labels[c + 1] = in->label_values[c + 1];
        }
        if (s) {
            dolor_cli_free_list(names);
        } else {
            dolor_cli_free_list(*classes);
            *classes = names;
            *nclasses = *nlabels = k;
        }
    }
    dolor_nnunet_info_free(in);
    return s;
}
