/* Writing a predicted label map in the format that fits it (shared by train and predict). */
#include "labelmap.h"

#include <stdio.h>

dolor_status dolor_cli_write_labelmap(const char *dir, const char *stem, const dolor_image *lab, int nifti,
                                      char *written, size_t cap)
{
    char path[4096];
    dolor_status s;
    if (nifti) {
        snprintf(path, sizeof path, "%s/%s.nii.gz", dir, stem);
        s = dolor_nifti_write(path, lab);
    } else {
        snprintf(path, sizeof path, "%s/%s.png", dir, stem);
        /* palette PNG when values fit 8 bits (viewers show colours), 16-bit grey otherwise */
        s = lab->dtype == DOLOR_U8 ? dolor_png_write_labels(path, lab, NULL, 0) : dolor_png_write(path, lab);
    }
    if (!s && written)
        snprintf(written, cap, "%s", path);
    return s;
}
