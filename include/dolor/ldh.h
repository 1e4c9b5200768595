/*
 * dolor/ldh.h - lumbar disc herniation (LDH) grading on an axial slice at the disc level, after the MSU
 * classification (Mysliwiec, Cunningham, Gawlik, Krebs, Gohar, Klein & Lieberman, "MSU classification for
 * herniated lumbar discs on MRI: toward developing objective criteria for surgical selection", Eur Spine J
 * 2010;19:1087-1093), from a disc mask (disc and herniation, as a YOLOv8-seg model or a label map gives it)
 * and 9 keypoints (as a YOLOv8-pose model gives them). Part of the detect module. docs/ldh.md has the
 * sketch, the rules and where they follow the paper and where they are dolor's choice.
 *
 * Coordinates: pixels as in dolor/detect.h (x along columns, 0 at the left edge of column 0; y along rows);
 * a mask pixel (x, y) counts at its centre (x + 0.5, y + 0.5). Distances are in mm: x times the column
 * spacing, y times the row spacing. Sides are the patient's (right = R, left = L), given by the keypoints'
 * identity, not by where they lie in the image (radiological display puts the patient's right on the left).
 */
#ifndef DOLOR_LDH_H
#define DOLOR_LDH_H

#include <stdint.h>

#include "dolor/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The 9 keypoints, in this order ([9, 2] x, y in pixels, or [9, 3] with a visibility > 0 for present). */
enum {
    DOLOR_LDH_KP_DA = 0,  /* anterior disc midpoint: the disc's anterior margin on the midline */
    DOLOR_LDH_KP_DP = 1,  /* posterior disc midpoint: the disc's own posterior margin on the midline, under
                           * any focal herniation (where the annulus would be without it) */
    DOLOR_LDH_KP_DPR = 2, /* right posterolateral disc corner: right end of the posterior disc line */
    DOLOR_LDH_KP_DPL = 3, /* left posterolateral disc corner */
    DOLOR_LDH_KP_FR = 4,  /* right facet medial point: the medial edge of the right facet joint */
    DOLOR_LDH_KP_FL = 5,  /* left facet medial point; FR-FL is the intra-facet line */
    DOLOR_LDH_KP_CP = 6,  /* canal posterior midpoint: the posterior wall of the canal on the midline
                           * (ligamentum flavum at the base of the spinous process) */
    DOLOR_LDH_KP_DLR = 7, /* right lateral disc point: the disc's widest extent to the right */
    DOLOR_LDH_KP_DLL = 8, /* left lateral disc point */
    DOLOR_LDH_NKPT = 9
};
/* Short names "DA", "DP", "DPR", ... (index 0..8); NULL outside. */
const char *dolor_ldh_keypoint_name(int k);
/* The keypoint each one becomes under a left-right flip of the image (Ultralytics' flip_idx): the sides swap,
 * {0, 1, 3, 2, 5, 4, 6, 8, 7}. A flip augmentation must apply it, or the sides of the grade swap. */
extern const int dolor_ldh_flip_idx[DOLOR_LDH_NKPT];

/* Zones (bit set): A central (the middle two quarters of the intra-facet line), B lateral quarters, C lateral
 * to the facet (foraminal / extraforaminal). */
enum { DOLOR_LDH_ZONE_A = 1, DOLOR_LDH_ZONE_B = 2, DOLOR_LDH_ZONE_C = 4 };
/* Side of a herniation: none (grade 0), central (zone A only), right, left, both. */
typedef enum dolor_ldh_side {
    DOLOR_LDH_SIDE_NONE = 0,
    DOLOR_LDH_SIDE_CENTRAL = 1,
    DOLOR_LDH_SIDE_RIGHT = 2,
    DOLOR_LDH_SIDE_LEFT = 3,
    DOLOR_LDH_SIDE_BOTH = 4
} dolor_ldh_side;
/* "none", "central", "right", "left", "both"; NULL outside. */
const char *dolor_ldh_side_name(dolor_ldh_side s);

/* The 8 regions: 0 normal, 1 bulging, 2 A, 3 B, 4 AB, 5 C, 6 BC, 7 ABC. */
#define DOLOR_LDH_NREGION 8
/* The 18 types: 0 normal, 1 bulging, then size 1..3 x zone A, B, AB, C, BC (2 + 5 (size - 1) + zone index:
 * 2 "1-A", 3 "1-B", 4 "1-AB", 5 "1-C", 6 "1-BC", 7 "2-A", ..., 16 "3-BC"), 17 "ABC" (a herniation that
 * reaches zone C from zone A, any size; its size is in the grade). */
#define DOLOR_LDH_NTYPE 18
const char *dolor_ldh_region_name(int region); /* "normal", "bulging", "A", "B", "AB", "C", "BC", "ABC" */
const char *dolor_ldh_type_name(int type);     /* "normal", "bulging", "1-A", ..., "3-BC", "ABC" */
/* Type index of a name (as dolor_ldh_type_name writes it, case-sensitive); -1 if none. */
int dolor_ldh_type_index(const char *name);
/* Type and region of a grade (0..3), zone set (DOLOR_LDH_ZONE_* bits; 0 with grade 0) and bulging flag
 * (used with grade 0 only); -1 for an inconsistent combination (grade 0 with zones, grade > 0 without). */
int dolor_ldh_type_of(int grade, int zones, int bulging);
int dolor_ldh_region_of(int grade, int zones, int bulging);

/* Thresholds, mm (dolor's choices; docs/ldh.md). */
typedef struct dolor_ldh_params {
    double focal_mm;   /* a mask pixel is herniated when it lies more than focal_mm posterior of the disc's own
                        * contour (default 1.0) */
    double bulging_mm; /* a disc without herniation is bulging when DP lies at least bulging_mm posterior of the
                        * posterior disc line (default 1.5) */
} dolor_ldh_params;
dolor_ldh_params dolor_ldh_params_default(void);

typedef struct dolor_ldh_result {
    int grade;           /* 0 (normal or bulging) or the MSU size 1, 2, 3 */
    int zones;           /* DOLOR_LDH_ZONE_* bits touched by herniated pixels; 0 with grade 0 */
    char zone[4];        /* "A", "B", "AB", "C", "BC", "ABC" (zones A and C without B: "ABC"); "" with grade 0 */
    dolor_ldh_side side;
    int bulging;         /* 1: DP at least bulging_mm posterior of the posterior disc line */
    int region;          /* 0..7, dolor_ldh_region_name */
    int type;            /* 0..17, dolor_ldh_type_name */
    const char *type_name;
    /* measurements (mm): */
    double extent_mm;    /* the herniation's maximal posterior extent beyond the posterior disc line, along the
                          * AP axis (at the pixel of largest ratio); 0 with grade 0 */
    double ref_mm;       /* distance from the posterior disc line to the intra-facet line at that pixel */
    double ratio;        /* extent_mm / ref_mm (size 1: <= 0.5, 2: <= 1, 3: > 1); 0 with grade 0 */
    double focal_max_mm; /* largest distance of a mask pixel posterior of the disc's own contour */
    double convexity_mm; /* DP's distance posterior of the posterior disc line (negative: concave margin) */
    double if_width_mm;  /* FR-FL, the intra-facet line's length */
    double canal_ap_mm;  /* from the posterior disc line to CP along the AP axis */
    double disc_width_mm;/* DLR-DLL along the intra-facet direction */
    double disc_ap_mm;   /* DA-DP along the AP axis */
    long herniated_px;   /* mask pixels counted as herniated */
} dolor_ldh_result;

/* Grade one slice. mask [h, w] row-major, nonzero = disc (the herniation included); spacing[2] = {column (x)
 * spacing, row (y) spacing} in mm; kpt [9, kdim] (kdim 2: x, y; 3: x, y, visibility, 0 = absent) in pixels in
 * the order above; params NULL for the defaults. The rules (docs/ldh.md):
 *   lateral axis v = unit(FL - FR); AP axis u = v turned 90 degrees, pointing away from DA (posterior);
 *   s(P) = (P - FR) . v, t(P) = (P - FR) . u (mm), W = s(FL);
 *   posterior disc line: the line DPR-DPL; at lateral position s it lies at tp(s) (the line's t there);
 *   reference distance D(s) = 0 - tp(s) (the intra-facet line is t = 0);
 *   the disc's own contour b(s): the parabola through DPR, DP, DPL in (s, t - tp(s)) between the corners, 0
 *   (the posterior disc line) lateral to them;
 *   a mask pixel P is herniated when t(P) - tp(s) - b(s) > focal_mm;
 *   its zone: A for W/4 <= s <= 3W/4, B for 0 <= s < W/4 (right) or 3W/4 < s <= W (left), C for s < 0 (right)
 *   or s > W (left);
 *   grade: no herniated pixel: 0 (bulging when convexity_mm >= bulging_mm); else the size of the largest ratio
 *   r = (t(P) - tp(s)) / D(s) over herniated pixels: r <= 0.5 size 1, r <= 1 size 2, r > 1 size 3 (MSU).
 * Errors: DOLOR_EINVAL (NULL, size < 1, spacing not finite > 0, kdim not 2 or 3, params not >= 0, a keypoint
 * not finite or absent (names it), FR and FL less than 1 mm apart, DA not anterior of the intra-facet line,
 * the keypoints out of order along the lateral axis (DLR < DPR < DP < DPL < DLL and DLR < FR < FL < DLL;
 * names the pair), the posterior disc line not at least 0.5 mm anterior of the intra-facet line at both facets,
 * DP not strictly between the corners), DOLOR_ENUMERIC (an empty mask). */
dolor_status dolor_ldh_grade(const uint8_t *mask, int w, int h, const double spacing[2], const double *kpt,
                             int kdim, const dolor_ldh_params *params, dolor_ldh_result *out);

#ifdef __cplusplus
}
#endif
#endif
