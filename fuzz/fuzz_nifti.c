/* libFuzzer target: NIfTI bytes (plain or gzip) -> dolor_nifti_read_mem, which
 * validates the header itself before handing the file to libnifti. */
#include "dolor/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dolor_image *img = NULL;
    if (dolor_nifti_read_mem(data, size, "fuzz.nii", &img) == DOLOR_OK) {
        /* touch every voxel so out-of-bounds data would show */
        volatile double s = 0;
        size_t n = dolor_image_nvox(img) * (size_t)img->ncomp;
        for (size_t e = 0; e < n; e++)
            s += dolor_image_get(img, e);
        (void)s;
    }
    dolor_image_free(img);
    return 0;
}
