#ifndef DOLOR_CLI_LABELMAP_H
#define DOLOR_CLI_LABELMAP_H
#include "dolor/io.h"

/* Write lab (uint8 or uint16 label values) as DIR/STEM.nii.gz (nifti != 0,
 * keeps geometry) or DIR/STEM.png (palette PNG for uint8, 16-bit grey PNG
 * otherwise). Atomic. written (may be NULL) receives the path. */
dolor_status dolor_cli_write_labelmap(const char *dir, const char *stem, const dolor_image *lab, int nifti,
                                      char *written, size_t cap);
#endif
