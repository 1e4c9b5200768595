/*
 * dolor/radiomics.h - texture features of 2D and 3D regions: grey-level
 * co-occurrence matrices (GLCM), first-order statistics and Nakagami
 * parameters, plus the preprocessing they need (intensity normalisation
 * against two reference regions, crop, quantisation).
 *
 * Voxel layout everywhere: x fastest, then y, then z (as dolor_image):
 *   index(x, y, z) = (z*ny + y)*nx + x
 * A 2D image has nz = 1. "Rows" in scikit-image's sense are y, "columns" x.
 * Masks are arrays of nx*ny*nz bytes (non-zero = inside) or NULL (every
 * voxel inside); as images, any dtype with non-zero = inside.
 *
 * Definitions:
 *  - GLCM and its six properties follow scikit-image 0.19
 *    (skimage.feature.graycomatrix / graycoprops), which the tests check to
 *    1e-10 relative on every case of ../shared/oracle/glcm.json.
 *  - First-order statistics follow the Image Biomarker Standardisation
 *    Initiative (IBSI; Zwanenburg et al., Radiology 2020, section 3.3-3.4)
 *    and PyRadiomics (van Griethuysen et al., Cancer Res 2017), noted per
 *    feature below where they differ.
 *  - Nakagami m and Omega: maximum likelihood with loc = 0 (the equations
 *    SciPy's nakagami.fit(floc=0) approximates) and the moment estimator
 *    m = E[x^2]^2 / Var[x^2] (the inverse normalised variance of the
 *    intensity; Nakagami, 1960; Shankar, IEEE TUFFC 2000).
 */
#ifndef DOLOR_RADIOMICS_H
#define DOLOR_RADIOMICS_H

#include "dolor/core.h"
#include "dolor/image.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DOLOR_GLCM_MIN_LEVELS 2
#define DOLOR_GLCM_MAX_LEVELS 65536

/* ======================= quantisation ======================= */

typedef enum dolor_quant_mode {
    /* IBSI fixed bin number: q = floor(L * (x - lo) / (hi - lo)), clamped to
     * [0, L-1] (so x == hi falls in the top bin). lo/hi are the region's
     * minimum and maximum unless a fixed range is given (range_set = 1;
     * lo = 0, hi = 256, L = 32 gives floor(v*32/256), the oracle's
     * quantisation of 8-bit images). A constant region gives all zeros. */
    DOLOR_QUANT_BIN_COUNT = 0,
    /* PyRadiomics fixed bin width w (imageoperations.getBinEdges):
     * low = min - (min mod w) (floored modulo), q = floor((x - low) / w);
     * the number of levels is floor((max - low) / w) + 1. */
    DOLOR_QUANT_BIN_WIDTH = 1
} dolor_quant_mode;

typedef struct dolor_quant {
    dolor_quant_mode mode;
    int levels;          /* BIN_COUNT: L, 2..65536 */
    double bin_width;    /* BIN_WIDTH: w > 0 */
    int range_set;       /* BIN_COUNT: 1 = use [lo, hi) instead of the region's min/max */
    double lo, hi;       /* fixed range (hi > lo) */
} dolor_quant;

/* Quantise the n values x (mask: NULL or n bytes, non-zero = inside) into
 * q (n entries; voxels outside the mask get 0 and are never read by the
 * GLCM functions when the same mask is passed). *levels_out receives the
 * level count (L for BIN_COUNT, the derived count for BIN_WIDTH).
 * Errors: DOLOR_EINVAL (levels outside 2..65536, bin width <= 0 or not
 * finite, hi <= lo, a bin-width quantisation needing more than 65536
 * levels: message names the parameter and value), DOLOR_EINVAL (empty
 * mask), DOLOR_ENUMERIC (NaN or Inf inside the mask, names the index). */
dolor_status dolor_quantise(const double *x, const uint8_t *mask, size_t n, const dolor_quant *qz, uint16_t *q,
                            int *levels_out);

/* ======================= GLCM ======================= */

/* A direction (dz, dy, dx) of voxel steps. dolor_glcm_directions() lists the
 * unique directions: 2D (ndim 2, nz = 1): the 4 in-plane ones in
 * scikit-image's angle order 0, pi/4, pi/2, 3pi/4 =
 * (0,0,1), (0,1,1), (0,1,0), (0,1,-1), i.e. right, down-right, down,
 * down-left with y (rows) increasing downward; 3D: those 4 then the 9 with
 * dz = 1: (1,0,0), (1,0,1), (1,0,-1), (1,1,0), (1,-1,0), (1,1,1), (1,1,-1),
 * (1,-1,1), (1,-1,-1). Every other direction is the negative of one of these,
 * which a symmetric GLCM counts already. */
typedef struct dolor_glcm_dir {
    int dz, dy, dx;
} dolor_glcm_dir;

/* Fills up to 13 directions into dirs (may be NULL) and returns how many
 * exist for ndim (4 for 2, 13 for 3; 0 otherwise). */
int dolor_glcm_directions(int ndim, dolor_glcm_dir *dirs);

typedef enum dolor_glcm_offset_rule {
    /* IBSI / PyRadiomics: offset = distance * direction (Chebyshev distance:
     * (1,1,0) at distance 2 pairs voxels two steps along both axes). */
    DOLOR_GLCM_CHEBYSHEV = 0,
    /* scikit-image: offset component = round(distance * u / |u|), round half
     * away from zero; in 2D this is graycomatrix's (round(sin(a) d),
     * round(cos(a) d)), so the diagonal at distance 2 is still (1,1). */
    DOLOR_GLCM_ROUNDED = 1
} dolor_glcm_offset_rule;

/* The voxel offset (off[0] = dz, off[1] = dy, off[2] = dx) for a direction
 * and distance >= 1 under a rule. */
void dolor_glcm_offset(dolor_glcm_dir dir, int distance, dolor_glcm_offset_rule rule, int off[3]);

/* Co-occurrence counts of the quantised region q (values 0..levels-1,
 * size[0] = nx, size[1] = ny, size[2] = nz) for one offset (dz, dy, dx):
 * P[i*levels + j] = number of voxel pairs (v, v + offset), both inside the
 * volume and inside the mask, with q[v] = i and q[v + offset] = j
 * (scikit-image's P[i, j] for pixel (r, c) paired with (r + drow, c + dcol)).
 * symmetric = 1 adds the transpose (every pair counted both ways), as
 * graycomatrix(symmetric=True). P has levels*levels doubles (counts; divide
 * by their sum for the normalised matrix); dense, so levels <= 4096 here
 * (dolor_glcm_props_region handles any level count).
 * Errors: DOLOR_EINVAL (levels outside 2..4096, q value >= levels (names the
 * voxel), a zero offset), DOLOR_ESHAPE (the region is smaller than the
 * offset in some axis: message names region size and offset). A region that
 * fits the offset but whose mask leaves no pair gives an all-zero P (OK). */
dolor_status dolor_glcm_counts(const uint16_t *q, const uint8_t *mask, const int64_t size[3], int levels,
                               const int off[3], int symmetric, double *P);

/* Properties, in this order everywhere (names: dolor_glcm_prop_name). */
typedef enum dolor_glcm_prop {
    DOLOR_GLCM_CONTRAST = 0,      /* sum P(i,j) (i-j)^2 */
    DOLOR_GLCM_DISSIMILARITY,     /* sum P(i,j) |i-j| */
    DOLOR_GLCM_HOMOGENEITY,       /* sum P(i,j) / (1 + (i-j)^2)  (scikit-image; IBSI's "inverse difference moment") */
    DOLOR_GLCM_ENERGY,            /* sqrt(ASM) (scikit-image; IBSI calls ASM "energy") */
    DOLOR_GLCM_CORRELATION,       /* sum P (i-mu_i)(j-mu_j) / (sd_i sd_j); see below */
    DOLOR_GLCM_ASM,               /* sum P(i,j)^2, angular second moment */
    DOLOR_GLCM_NPROPS
} dolor_glcm_prop;

/* "contrast", "dissimilarity", "homogeneity", "energy", "correlation", "ASM". */
const char *dolor_glcm_prop_name(dolor_glcm_prop p);

/* The six properties of one co-occurrence matrix P (levels x levels counts
 * or probabilities; normalised here by its sum, as graycoprops does).
 * Correlation of a constant region (sd_i or sd_j below 1e-15, e.g. a region
 * of one grey level): it is 0/0, undefined; we return 1, scikit-image's
 * convention (graycoprops sets it to 1: a constant image is perfectly
 * predictable from its neighbour), so that tables compare column for column
 * with scikit-image and never hold NaN. IBSI leaves it undefined.
 * Errors: DOLOR_ENUMERIC (P sums to 0: no voxel pair in the region). */
dolor_status dolor_glcm_props(const double *P, int levels, double props[DOLOR_GLCM_NPROPS]);

/* IBSI's other GLCM features (Zwanenburg et al., Radiology 2020; IBSI reference manual section 3.6 and its
 * names), opt-in in the feature set (dolor_features_config.glcm_ibsi). p = P / sum P, grey levels numbered
 * i, j = 1..L as in IBSI (this matters for the averages and autocorrelation only), p_{x-y}(k) = sum of p over
 * |i - j| = k, p_{x+y}(k) over i + j = k, mu = joint average. Logarithms are base 2, over non-zero p only. */
typedef enum dolor_glcm_ibsi {
    DOLOR_GLCM_JOINT_MAXIMUM = 0,     /* max p */
    DOLOR_GLCM_JOINT_AVERAGE,         /* sum i p */
    DOLOR_GLCM_JOINT_VARIANCE,        /* sum (i - mu)^2 p */
    DOLOR_GLCM_JOINT_ENTROPY,         /* -sum p log2 p  (HXY) */
    DOLOR_GLCM_DIFF_AVERAGE,          /* sum k p_{x-y}(k) (= dissimilarity) */
    DOLOR_GLCM_DIFF_VARIANCE,         /* sum (k - difference average)^2 p_{x-y}(k) */
    DOLOR_GLCM_DIFF_ENTROPY,          /* -sum p_{x-y} log2 p_{x-y} */
    DOLOR_GLCM_SUM_AVERAGE,           /* sum k p_{x+y}(k), k = 2..2L */
    DOLOR_GLCM_SUM_VARIANCE,          /* sum (k - sum average)^2 p_{x+y}(k) */
    DOLOR_GLCM_SUM_ENTROPY,           /* -sum p_{x+y} log2 p_{x+y} */
    DOLOR_GLCM_INV_DIFF,              /* sum p_{x-y}(k) / (1 + k) */
    DOLOR_GLCM_INV_DIFF_NORM,         /* sum p_{x-y}(k) / (1 + k / L) */
    DOLOR_GLCM_INV_DIFF_MOM_NORM,     /* sum p_{x-y}(k) / (1 + (k / L)^2) */
    DOLOR_GLCM_INV_VARIANCE,          /* sum_{k >= 1} p_{x-y}(k) / k^2 */
    DOLOR_GLCM_AUTOCORRELATION,       /* sum i j p */
    DOLOR_GLCM_CLUSTER_TENDENCY,      /* sum (i + j - mu_i - mu_j)^2 p */
    DOLOR_GLCM_CLUSTER_SHADE,         /* ... ^3 */
    DOLOR_GLCM_CLUSTER_PROMINENCE,    /* ... ^4 */
    DOLOR_GLCM_IMC1,                  /* (HXY - HXY1) / max(HX, HY); 0 for a constant region (0/0) */
    DOLOR_GLCM_IMC2,                  /* sqrt(1 - exp(-2 (HXY2 - HXY))) */
    DOLOR_GLCM_IBSI_N
} dolor_glcm_ibsi;

/* Column names: "joint_maximum", ..., "information_correlation_1", "information_correlation_2". */
const char *dolor_glcm_ibsi_name(dolor_glcm_ibsi f);

/* The IBSI features of one dense levels x levels matrix P (counts or probabilities).
 * Errors: DOLOR_EINVAL (levels outside 2..4096), DOLOR_ENUMERIC (P sums to 0), DOLOR_ENOMEM. */
dolor_status dolor_glcm_ibsi_features(const double *P, int levels, double out[DOLOR_GLCM_IBSI_N]);

/* Counts and properties in one call for any levels 2..65536: dense matrix
 * for levels <= 4096, a sorted list of the non-zero (i, j) pairs above.
 * Errors: those of dolor_glcm_counts (levels range 2..65536) and
 * dolor_glcm_props. */
dolor_status dolor_glcm_props_region(const uint16_t *q, const uint8_t *mask, const int64_t size[3], int levels,
                                     const int off[3], int symmetric, double props[DOLOR_GLCM_NPROPS]);

/* ======================= first-order statistics ======================= */

typedef enum dolor_fo_feature {
    DOLOR_FO_MEAN = 0,      /* mean */
    DOLOR_FO_VARIANCE,      /* population variance, sum (x-mean)^2 / N (IBSI, PyRadiomics) */
    DOLOR_FO_SD,            /* sqrt(variance) */
    DOLOR_FO_SKEWNESS,      /* m3 / m2^1.5 (population moments); 0 when m2 == 0 (PyRadiomics) */
    DOLOR_FO_KURTOSIS,      /* m4 / m2^2 - 3, IBSI's excess kurtosis (PyRadiomics reports m4/m2^2, 3 more); 0 when m2 == 0 */
    DOLOR_FO_MIN,
    DOLOR_FO_P10,           /* 10th percentile: linear interpolation (numpy.percentile default) */
    DOLOR_FO_P25,
    DOLOR_FO_MEDIAN,
    DOLOR_FO_P75,
    DOLOR_FO_P90,
    DOLOR_FO_MAX,
    DOLOR_FO_RANGE,         /* max - min */
    DOLOR_FO_IQR,           /* P75 - P25 */
    DOLOR_FO_MAD,           /* mean absolute deviation from the mean */
    DOLOR_FO_RMAD,          /* robust MAD: MAD of the values with P10 <= x <= P90 (about their own mean) */
    DOLOR_FO_MEDAD,         /* median absolute deviation: mean |x - median| (IBSI 3.4.12) */
    DOLOR_FO_CV,            /* coefficient of variation SD / mean (IBSI 3.4.13); NaN when mean == 0 */
    DOLOR_FO_ENERGY,        /* sum x^2 (PyRadiomics energy with voxelArrayShift 0) */
    DOLOR_FO_RMS,           /* sqrt(energy / N) */
    DOLOR_FO_ENTROPY,       /* -sum p_k log2 p_k over the discretised histogram (PyRadiomics adds eps 2.2e-16 inside the log) */
    DOLOR_FO_UNIFORMITY,    /* sum p_k^2 over the discretised histogram */
    DOLOR_FO_N
} dolor_fo_feature;

/* "mean", "variance", "sd", "skewness", "kurtosis", "min", "p10", "p25",
 * "median", "p75", "p90", "max", "range", "iqr", "mad", "rmad", "medad",
 * "cv", "energy", "rms", "entropy", "uniformity". */
const char *dolor_fo_name(dolor_fo_feature f);

/* First-order features of the values x inside mask (NULL = all n). Entropy
 * and uniformity use the discretised values q (levels 0..levels-1, e.g. from
 * dolor_quantise; PyRadiomics uses bin width 25 by default); with q == NULL
 * they are NaN. out has DOLOR_FO_N entries.
 * Errors: DOLOR_EINVAL (empty mask), DOLOR_ENUMERIC (NaN/Inf inside the
 * mask), DOLOR_ENOMEM. */
dolor_status dolor_firstorder(const double *x, const uint8_t *mask, size_t n, const uint16_t *q, int levels,
                              double out[DOLOR_FO_N]);

/* ======================= Nakagami ======================= */

typedef struct dolor_nakagami {
    double m_ml, omega_ml;   /* maximum likelihood (loc 0): Omega = mean(x^2); m solves
                                log m - digamma(m) = log(mean x^2) - mean(log x^2) */
    double m_mom, omega_mom; /* moments: Omega = mean(x^2), m = Omega^2 / mean((x^2 - Omega)^2) */
    size_t n;                /* voxels used (non-zero, inside the mask) */
} dolor_nakagami;

/* Nakagami parameters of the envelope amplitudes x inside mask, ignoring
 * voxels equal to 0 (as the multifidus study did: zero is padding or a
 * shadow, and log 0 is undefined). The ML equation is solved by a
 * safeguarded Newton iteration on log m with R's digamma/trigamma (Rmath),
 * to a relative change below 1e-14.
 * Errors: DOLOR_EINVAL (a negative value, names the index; fewer than 2
 * non-zero voxels), DOLOR_ENUMERIC (NaN/Inf; all non-zero values equal, so
 * m is infinite). */
dolor_status dolor_nakagami_fit(const double *x, const uint8_t *mask, size_t n, dolor_nakagami *out);

/* ======================= preprocessing on images ======================= */

/* Copy an image's voxels (ncomp 1, any dtype, 2D or 3D) into a new double
 * array of nvox values (*out, free()). Errors: DOLOR_EUNSUPPORTED (ncomp > 1
 * or 4D), DOLOR_ENOMEM. */
dolor_status dolor_image_to_double(const dolor_image *img, double **out);

/* A mask image as nvox bytes (non-zero -> 1), checked against img's size.
 * Errors: DOLOR_ESHAPE (size differs: names both sizes), DOLOR_EINVAL
 * (empty mask; name is used in the message, e.g. the mask's file name). */
dolor_status dolor_mask_from_image(const dolor_image *mask, const dolor_image *img, const char *name, uint8_t **out);

/* A box [x0, x1) x [y0, y1) x [z0, z1) in voxels (for 2D z0 = 0, z1 = 1). */
typedef struct dolor_box {
    int64_t x0, y0, z0, x1, y1, z1;
} dolor_box;

/* Parse "x0,y0,z0,x1,y1,z1" or "x0,y0,x1,y1" (2D). Errors: DOLOR_EINVAL. */
dolor_status dolor_box_parse(const char *s, dolor_box *out);

/* Crop img to box (which must lie inside the image and be non-empty),
 * keeping the geometry (origin moves to the box's first voxel).
 * Errors: DOLOR_EINVAL (box empty or outside: names box and image size;
 * what names the box in the message, e.g. "--crop"), DOLOR_ENOMEM. */
dolor_status dolor_image_crop(const dolor_image *img, const dolor_box *box, const char *what, dolor_image **out);

/* Bounding box of the non-zero voxels of mask (nvox bytes of an image of
 * size[3]). Errors: DOLOR_EINVAL (empty mask; what names it). */
dolor_status dolor_mask_bbox(const uint8_t *mask, const int64_t size[3], const char *what, dolor_box *out);

/* A reference region for normalisation: a box, or a mask (nvox bytes) when
 * mask != NULL. name is used in messages ("bright", "shadow.nii.gz"). */
typedef struct dolor_region {
    const uint8_t *mask;
    dolor_box box;
    const char *name;
} dolor_region;

/* Mean of x (an image of size[3] as nvox doubles) over a region.
 * Errors: DOLOR_EINVAL (empty region or box outside the image: names it). */
dolor_status dolor_region_mean(const double *x, const int64_t size[3], const dolor_region *r, double *mean);

/* Intensity normalisation against a bright and a dark reference region
 * (e.g. the spinous process echo and its acoustic shadow), so that the
 * probe's gain does not change the features: with b and d the regions'
 * means, x <- out_lo + (x - d) / (b - d) * (out_hi - out_lo), clamped to
 * [out_lo, out_hi] when clamp != 0. A linear gain and offset applied to the
 * whole volume therefore leave the result unchanged. x has nvox values of a
 * volume of size[3], changed in place.
 * Errors: those of dolor_region_mean; DOLOR_ENUMERIC (bright mean <= dark
 * mean: names both regions and means). */
dolor_status dolor_normalise_two_regions(double *x, const int64_t size[3], const dolor_region *bright,
                                         const dolor_region *dark, double out_lo, double out_hi, int clamp);

/* Resample a volume (nvox doubles, size[3] = nx, ny, nz, spacing sp_in[3] in mm) to the spacing sp_out[3]:
 * output size round(n * sp_in / sp_out) per axis (at least 1; an axis of extent 1 stays 1), voxel 0 at the same
 * place (same origin), output voxel i at input index i * sp_out / sp_in, values by trilinear interpolation
 * (edges clamped). *out (free()) receives the values and out_size the size. labels (may be NULL, nvox bytes)
 * is resampled by nearest neighbour into *out_labels (free()). Errors: DOLOR_EINVAL (a spacing <= 0 or not
 * finite, names the axis), DOLOR_ENOMEM. */
dolor_status dolor_resample_linear(const double *x, const uint8_t *labels, const int64_t size[3], const double sp_in[3],
                                   const double sp_out[3], double **out, uint8_t **out_labels, int64_t out_size[3]);

/* ======================= feature sets ======================= */

#define DOLOR_FEAT_MAX_LIST 64

/* What dolor_features_compute computes. Zero-initialise, then set. */
typedef struct dolor_features_config {
    /* GLCM: one quantisation per entry of levels[] (fixed bin count, over
     * [range_lo, range_hi) when range_set, else the region's min..max), or a
     * single fixed-bin-width one when bin_width > 0 (then levels[] is unused). */
    int glcm;                               /* 1 = compute GLCM features */
    int n_levels, levels[DOLOR_FEAT_MAX_LIST];
    double bin_width;
    int range_set;
    double range_lo, range_hi;
    int n_distances, distances[DOLOR_FEAT_MAX_LIST];
    int n_dirs;                             /* 0 = all unique directions of the region (4 in 2D, 13 in 3D) */
    dolor_glcm_dir dirs[13];
    dolor_glcm_offset_rule offset_rule;
    int per_direction;                      /* columns per direction */
    int direction_mean;                     /* columns averaged over the directions (mean of the property values) */
    int symmetric;                          /* 1 (default in presets): symmetric GLCM */
    int glcm_ibsi;                          /* 1: add IBSI's 20 other GLCM features (dolor_glcm_ibsi) after the six
                                             * properties of each (levels, distance, direction); at most 4096
                                             * levels. Off by default and in study7020 (which stays 7020). */
    /* first order: values as given; entropy/uniformity on a bin-width
     * discretisation (fo_bin_width, PyRadiomics default 25) */
    int firstorder;
    double fo_bin_width;
    int nakagami;
} dolor_features_config;

/* Defaults: GLCM levels {32}, distance {1}, all directions, Chebyshev,
 * per-direction and mean, symmetric; first order with bin width 25;
 * Nakagami. */
void dolor_features_config_default(dolor_features_config *cfg);

/* The multifidus study's 7020-feature GLCM set: 9 grey-level counts
 * {8, 16, 24, 32, 48, 64, 96, 128, 256} over the fixed range [0, 256)
 * (the volumes are normalised to 0..255) x 10 distances 1..10 x the 13 3D
 * directions = 1170 parameter sets x 6 properties, per direction, no means;
 * first order and Nakagami off (turn them on for 7020 + 26 columns). */
void dolor_features_config_study7020(dolor_features_config *cfg);

/* A computed feature vector: names[k] (e.g. "glcm_L32_d1_dir(0,1,1)_contrast",
 * "glcm_L32_d1_mean_contrast", "firstorder_mean", "nakagami_m_ml") and values[k]. */
typedef struct dolor_feature_set {
    int n;
    char **names;
    double *values;
} dolor_feature_set;
void dolor_feature_set_free(dolor_feature_set *f); /* NULL-safe */

/* Features of the region x (nvox doubles of a volume of size[3]; nz = 1
 * for 2D, which selects the 4 in-plane directions) inside mask (NULL = all).
 * Names depend only on cfg and on whether nz == 1, so every region of the
 * same dimensionality gives the same columns. GLCM work over
 * (distance, direction) pairs runs in parallel (OpenMP) unless called from
 * inside a parallel region. When the region holds integers spanning at most
 * 1024 values, or the level counts' bins have a common refinement of at most
 * 1024 classes (levels <= 4096, fewer than 2^31 voxels), the co-occurrences
 * are counted once per offset on that refinement, in integers, and summed
 * into each level count's bins (exactly the same counts as quantising first,
 * far fewer passes over the volume); the six properties then come from exact
 * integer sums (docs/radiomics.md, "Speed").
 * Errors: DOLOR_EINVAL (bad config: names the key and value; empty mask;
 * glcm_ibsi with more than 4096 grey levels),
 * DOLOR_ESHAPE (region smaller than a GLCM distance: names region size,
 * distance and direction), DOLOR_ENUMERIC (NaN/Inf voxel; Nakagami on a
 * constant region), DOLOR_ENOMEM. */
dolor_status dolor_features_compute(const double *x, const int64_t size[3], const uint8_t *mask,
                                    const dolor_features_config *cfg, dolor_feature_set **out);

#ifdef __cplusplus
}
#endif
#endif
