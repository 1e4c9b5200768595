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
/* The feature set's integer path (counts < 2^32: at most 2^31 - 1 voxels). Ordered pair counts: the code of
 * (a, b) is a << 8 | b in a table of 65536 cells (rad_count_codes8, 8-bit levels) or a * B + b in one of B x B
 * (rad_count_codes16). */
void rad_count_codes8(const uint8_t *q, const uint8_t *mask, const int64_t size[3], const int off[3], uint32_t *T);
void rad_count_codes16(const uint16_t *q, const uint8_t *mask, const int64_t size[3], int B, const int off[3],
                       uint32_t *T);
/* Copy the pair table T (row a at T + a * rstride) into the B x B matrix M and zero T. sym: M holds the upper
 * triangle (j >= i) of T + T^T (its diagonal is 2 T[i][i]); the lower triangle is not written. */
void rad_fold_codes(uint32_t *T, size_t rstride, int B, int sym, uint32_t *M);
/* M (L x L) = the Lp x Lp matrix Mp with its levels merged by map (non-decreasing, Lp entries, values < L);
 * sym: both are upper triangles as rad_fold_codes makes them. */
void rad_coarsen(const uint32_t *Mp, int Lp, const int *map, int L, int sym, uint32_t *M);
/* The six properties of an L x L count matrix (sym: upper triangle of a symmetric one), from exact integer sums;
 * w holds 3 L. Errors: DOLOR_ENUMERIC (no pair). */
dolor_status rad_props_counts(const uint32_t *M, int L, int sym, uint64_t *w, double props[DOLOR_GLCM_NPROPS]);
/* Quantise one value (the rule of dolor_quantise) given the region's bounds. */
int rad_quant_value(double x, const dolor_quant *qz, double lo, double hi, double low_edge);

#endif
