/* Private helpers shared by the eval sources (src/eval). */
#ifndef DOLOR_EVAL_PRIV_H
#define DOLOR_EVAL_PRIV_H

#include "dolor/eval.h"

/* Surface distances between binary masks a and b (values 0/1) of
 * dims[0] x dims[1] x dims[2] voxels (x fastest) with spacing sp[3] in mm.
 * Surfaces are the mask voxels with a face neighbour outside the mask (or on
 * the array border), as MONAI's get_mask_edges (binary erosion XOR mask);
 * for dims[2] == 1 the neighbourhood is 2D. Distances are exact Euclidean
 * (Felzenszwalb & Huttenlocher 2012 squared EDT, anisotropic).
 *   hd95 = max(P95 of the distances from a's surface to b's, P95 from b's to
 *          a's), P95 as numpy.percentile (R type 7) - MONAI
 *          compute_hausdorff_distance(percentile=95);
 *   assd = mean of both sets of directed distances together - MONAI
 *          compute_average_surface_distance(symmetric=True).
 * Both are NaN when a or b is empty. Errors: DOLOR_ENOMEM. */
dolor_status dolor_seg_surface_distances(const uint8_t *a, const uint8_t *b, const int64_t dims[3], const double sp[3],
                                         double *hd95, double *assd);

/* Record the distance unit of a case with geometry (spacing_unknown: its truth has no pixel size, so
 * distances are in pixels). Errors: DOLOR_EINVAL when it differs from earlier cases' (names case_id). */
dolor_status dolor_seg_eval_note_spacing(dolor_seg_eval *ev, const char *case_id, int spacing_unknown);

/* Store the surface distances of case i, class c (from the folder reader). */
void dolor_seg_eval_set_distances(dolor_seg_eval *ev, size_t i, int c, double hd95, double assd);

#endif
