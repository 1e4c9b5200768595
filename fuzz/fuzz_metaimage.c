/* libFuzzer target: MetaImage bytes (header + LOCAL data) -> dolor_metaimage_read_mem. */
#include "dolor/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dolor_image *img = NULL;
    if (dolor_metaimage_read_mem(data, size, "fuzz.mha", &img) == DOLOR_OK) {
        volatile double s = 0;
        size_t n = dolor_image_nvox(img) * (size_t)img->ncomp;
        for (size_t e = 0; e < n; e++)
            s += dolor_image_get(img, e);
        double xyz[3], ijk[3] = {1, 1, 1};
        dolor_image_index_to_point(img, ijk, xyz);
        (void)s;
    }
    dolor_image_free(img);
    return 0;
}
