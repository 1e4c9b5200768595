/* libFuzzer target: DICOM bytes -> dolor_dicom_open_memory, every attribute as
 * text, a sequence path, pixel decoding (all transfer syntaxes) and rescale.
 * Seed it with the sample files at run time (see docs/dicom.md). */
#include "dolor/io.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dolor_dicom *d = NULL;
    if (dolor_dicom_open_memory(data, size, "fuzz.dcm", &d) != DOLOR_OK)
        return 0;
    char buf[256], key[16];
    double v;
    for (int i = 0; i < dolor_dicom_count(d); i++) {
        uint32_t tag;
        char vr[3];
        dolor_dicom_attr(d, i, &tag, vr);
        snprintf(key, sizeof key, "(%04X,%04X)", (unsigned)(tag >> 16), (unsigned)(tag & 0xFFFF));
        dolor_dicom_get_string(d, key, buf, sizeof buf);
        dolor_dicom_get_number(d, key, 0, &v);
        (void)dolor_dicom_vm(d, key);
    }
    dolor_dicom_get_number(d, "SequenceOfUltrasoundRegions[0].PhysicalDeltaX", 0, &v);
    dolor_dicom_get_string(d, "ReferencedImageSequence[1].ReferencedSOPInstanceUID", buf, sizeof buf);
    dolor_image *img = NULL, *f = NULL;
    if (dolor_dicom_read_image(d, &img) == DOLOR_OK) {
        volatile double s = 0;
        size_t n = dolor_image_nvox(img) * (size_t)img->ncomp;
        for (size_t i = 0; i < n; i += 97)
            s += dolor_image_get(img, i);
        if (img->ncomp == 1 && dolor_dicom_rescale(d, img, &f) == DOLOR_OK)
            s += dolor_image_get(f, 0);
    }
    dolor_image_free(f);
    dolor_image_free(img);
    dolor_dicom_free(d);
    return 0;
}
