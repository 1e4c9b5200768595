/* Private helpers shared by the radiomics sources. */
#ifndef DOLOR_RADIOMICS_PRIV_H
#define DOLOR_RADIOMICS_PRIV_H

#include "dolor/radiomics.h"

/* one non-zero GLCM entry */
typedef struct rad_entry {
    uint32_t i, j;
    double v;
} rad_entry;

/* DOLOR_ESHAPE unless the offset (dz,dy,dx) fits inside the region (size = nx,ny,nz). */
dolor_status rad_offset_fits(const int64_t size[3], const int off[3]);
/* DOLOR_EINVAL if a voxel inside the mask has q >= levels. */
dolor_status rad_check_levels(const uint16_t *q, const uint8_t *mask, size_t n, int levels);
/* Add the non-symmetric pair counts at offset off into C (B x B). */
void rad_count_pairs(const uint16_t *q, const uint8_t *mask, const int64_t size[3], int B, const int off[3],
                     uint32_t *C);
/* Properties of a dense levels x levels matrix; scratch holds 5 * levels doubles. */
dolor_status rad_props_dense(const double *P, int levels, double *scratch, double props[DOLOR_GLCM_NPROPS]);
/* Pair counts of 8-bit levels into C (256 x 256, index a << 8 | b); without a mask, x mod 4 = 1, 2, 3 go to the
 * three tables C2, C2 + 65536, C2 + 131072 (add them to C). */
void rad_count_pairs8(const uint8_t *q, const uint8_t *mask, const int64_t size[3], const int off[3], uint32_t *C,
                      uint32_t *C2);
/* Quantise one value (the rule of dolor_quantise) given the region's bounds. */
int rad_quant_value(double x, const dolor_quant *qz, double lo, double hi, double low_edge);

#endif
