/* libFuzzer target: PNG bytes -> dolor_png_decode (the in-memory form of the
 * PNG branch of dolor_image_read), then every sample and the spacing. */
#include "dolor/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dolor_image *img = NULL;
    if (dolor_png_decode(data, size, "fuzz.png", &img) == DOLOR_OK) {
        volatile double s = img->spacing[0] + img->spacing[1];
        size_t n = dolor_image_nvox(img) * (size_t)img->ncomp;
        for (size_t e = 0; e < n; e++)
            s += dolor_image_get(img, e);
        (void)s;
    }
    dolor_image_free(img);
    return 0;
}
