/*
 * dolor/phantom.h - synthetic B-mode ultrasound images of a peripheral nerve
 * block scene, with label maps, for demos, smoke tests and benchmarks that
 * must run without real data.
 *
 * Label convention (the same as the real usgra-nerve data):
 *   0 background, 1 nerve, 2 vessel (artery).
 * A bone surface with its acoustic shadow and fascia lines are drawn in the
 * image but not labelled.
 *
 * Image model (per image, positions, sizes and intensities drawn from a
 * seeded generator):
 *   - a tissue echogenicity map: layers (subcutis, muscles) separated by
 *     curved fascia planes, muscle striation and slow texture variation; a
 *     hyperechoic "honeycomb" nerve (bright oval with dark round fascicles,
 *     bright epineurium); an anechoic round artery with a bright wall; a
 *     bone surface;
 *   - diffuse scatterers as circular complex Gaussian noise scaled by the
 *     square root of the echogenicity, plus coherent (specular) reflectors
 *     at fascia, epineurium, artery wall and bone surface;
 *   - the convolution model of B-mode speckle (Bamber & Dickinson 1980): the
 *     scatterer field convolved with a separable Gaussian point-spread
 *     function (axial sigma smaller than lateral, lateral widening away from
 *     the focal depth), envelope = magnitude, so speckle is Rayleigh
 *     distributed in homogeneous regions (multiplicative);
 *   - depth attenuation integrated along each beam (column), with less
 *     attenuation in blood (posterior acoustic enhancement below the artery)
 *     and near-total loss below the bone surface (acoustic shadow), then a
 *     time-gain compensation that undoes the tissue attenuation imperfectly;
 *   - log compression to 8 bits over a dynamic range of 60 dB (default), after a
 *     light lateral/axial smoothing of the envelope (the scanner's speckle reduction).
 * The nerve and artery never overlap and lie above the bone.
 */
#ifndef DOLOR_PHANTOM_H
#define DOLOR_PHANTOM_H

#include "dolor/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Label values in the masks. */
enum { DOLOR_PHANTOM_BACKGROUND = 0, DOLOR_PHANTOM_NERVE = 1, DOLOR_PHANTOM_VESSEL = 2 };

typedef struct dolor_phantom_config {
    int width;          /* pixels (lateral), 64..4096; default 256 */
    int height;         /* pixels (depth), 64..4096; default 256 */
    double depth_mm;    /* imaging depth (height) in mm, 10..150; default 38.4. Pixels are square,
                           spacing depth_mm / height, so structures keep their size in mm and a
                           larger height gives the same scene at a finer resolution */
    double vessel_prob; /* probability that an image contains the artery, 0..1; default 1 */
    double bone_prob;   /* probability that an image contains a bone surface, 0..1; default 0.8 */
    double dynamic_range_db; /* log-compression range in dB, 10..100; default 60 */
} dolor_phantom_config;

/* Fill cfg with the defaults above. */
void dolor_phantom_config_default(dolor_phantom_config *cfg);

/* Geometry of the labelled structures of one generated image (pixels, with
 * x to the right and y down = depth; pixel centres at integer coordinates). */
typedef struct dolor_phantom_info {
    double nerve_cx, nerve_cy;   /* centre */
    double nerve_a, nerve_b;     /* semi-axes along the rotated x and y axes */
    double nerve_angle;          /* rotation in radians */
    int nfascicles;              /* dark fascicles drawn inside the nerve */
    int has_vessel;
    double vessel_cx, vessel_cy, vessel_r; /* artery centre and radius */
    int has_bone;
    double bone_y_min;           /* shallowest depth of the bone surface (NaN without bone) */
    double bone_x0, bone_x1;     /* lateral extent of the bone (may reach past the image) */
} dolor_phantom_info;

/* Generate one image and its label map. Deterministic: the same config and
 * seed give bit-identical output (on a given platform and C library).
 *   *image: uint8, 1 component, width x height, spacing depth_mm / height (2D).
 *   *mask:  uint8, 1 component, same size and geometry; values 0, 1, 2.
 *   info:   optional (NULL) geometry of the labelled structures.
 * Errors: DOLOR_EINVAL (a config field out of range, naming it and its
 * value), DOLOR_ENOMEM. On error *image and *mask are NULL. */
dolor_status dolor_phantom_generate(const dolor_phantom_config *cfg, uint64_t seed, dolor_image **image,
                                    dolor_image **mask, dolor_phantom_info *info);

/* Seed of image i of a dataset generated with seed (splitmix64 of seed and
 * i), so image i is the same whatever the count. */
uint64_t dolor_phantom_image_seed(uint64_t seed, int i);

/* Write a dataset of count images (1..1000000) into dir (created with parents):
 *   dir/images/NNNN.png  8-bit grey B-mode images (NNNN = 0000.., wider when
 *                        count > 10000)
 *   dir/masks/NNNN.png   palette PNG label maps (0 black background,
 *                        1 nerve red (128,0,0), 2 vessel green (0,128,0): the
 *                        LabelMe/VOC palette used by usgra-nerve)
 *   dir/README.txt       the classes, the label values and how it was made
 *   dir/phantom.csv      per image: file, seed, nerve and artery geometry,
 *                        bone presence, nerve and vessel pixel counts
 * Image i uses dolor_phantom_image_seed(seed, i). Images are generated in
 * parallel (OpenMP); the output does not depend on the thread count. Every
 * file is written atomically. show_progress != 0 draws a progress bar on stderr.
 * Errors: DOLOR_EINVAL (count < 1, bad config), DOLOR_EIO, DOLOR_ENOMEM. */
dolor_status dolor_phantom_write_dataset(const char *dir, int count, const dolor_phantom_config *cfg, uint64_t seed,
                                         int show_progress);

/* ---- multifidus3d: 3D B-mode-like volumes of the lumbar multifidus at fat-infiltration grades ----
 * Axes: x lateral, y depth (down), z elevation = the muscle's fibre direction. Echogenicity model: subcutis
 * above a superficial fascia plane; lateral to a spinous process (a bright curved bone surface with an acoustic
 * shadow below it) the multifidus: fibrillar texture (noise smoothed along z, sigma 7 voxels, against 0.6-0.9
 * across), 3-5 oblique intramuscular septa and a deep fascia plane. Fat infiltration grade g of G (t = g/(G-1)):
 * granular hyperechoic spots (density 0.006 t per voxel), brighter muscle (x (1 + 0.6 t)), weaker fibrillar texture
 * (x (1 - 0.55 t)), septa blurred (sigma 0.7 + 1.6 t) and fainter. Then speckle (complex Gaussian scatterers scaled
 * by sqrt(echogenicity), convolved with a Gaussian PSF), depth attenuation, a random probe gain
 * (exp(N(0, gain_sd))) and log compression to 8 bits. A synthetic stand-in for the study's volumes, not a model
 * fitted to them. */
typedef struct dolor_mf3d_config {
    int nx, ny, nz;          /* voxels; default 180 x 180 x 70 (the study's crop) */
    double spacing_mm;       /* isotropic voxel size, default 0.25 */
    int grades;              /* number of fat-infiltration grades, 2..5; default 2 */
    double gain_sd;          /* SD of the log probe gain, default 0.25 */
    double dynamic_range_db; /* default 50 */
} dolor_mf3d_config;
void dolor_mf3d_config_default(dolor_mf3d_config *cfg);

/* A box [x0, x1) x [y0, y1) x [z0, z1) in voxels. */
typedef struct dolor_mf3d_box {
    int x0, y0, z0, x1, y1, z1;
} dolor_mf3d_box;

typedef struct dolor_mf3d_info {
    dolor_mf3d_box bright; /* inside the spinous-process echo (normalisation reference) */
    dolor_mf3d_box dark;   /* inside its acoustic shadow */
    dolor_mf3d_box roi;    /* inside the multifidus */
    double gain;           /* probe gain drawn for the volume */
} dolor_mf3d_info;

/* One volume (uint8, nx x ny x nz, spacing_mm) of fat grade 0..grades-1. Deterministic for a seed.
 * Errors: DOLOR_EINVAL (size, grade or a config field out of range, named), DOLOR_ENOMEM. */
dolor_status dolor_phantom_multifidus3d(const dolor_mf3d_config *cfg, int grade, uint64_t seed, dolor_image **vol,
                                        dolor_mf3d_info *info);

/* count volumes: dir/volumes/NNNN.mha (MetaImage with spacing) and dir/grades.csv (volume, patient, side, grade,
 * gain and the bright, dark and roi boxes as "x0,y0,z0,x1,y1,z1"); two volumes (left, right) per patient, one
 * grade per patient, grades in turn. Volume i uses dolor_phantom_image_seed(seed, i).
 * Errors: DOLOR_EINVAL, DOLOR_EIO, DOLOR_ENOMEM. */
dolor_status dolor_phantom_write_multifidus3d(const char *dir, int count, const dolor_mf3d_config *cfg, uint64_t seed,
                                              int show_progress);

/* ---- axial-disc: axial lumbar T2-like slices at the disc level with herniations of known MSU grade ----
 * A slice (radiological display: the patient's right on the image's left, anterior up) drawn in a local frame of
 * the disc (p lateral towards the patient's left, q posterior, mm) turned by a random angle (+-12 degrees),
 * shifted (+-10 mm) and scaled (0.9..1.1): an elliptical disc (dark annulus, brighter nucleus) whose posterior
 * margin between the posterolateral corners is the parabola that dolor_ldh_grade takes as the disc's own contour
 * (concave to flat, or convex for a bulging disc), a focal posterior herniation of a chosen MSU size and zone
 * (flat top at a chosen fraction of the distance from the posterior disc line to the intra-facet line, vertical
 * flanks at lateral positions a margin inside the chosen zones), the bright CSF canal with nerve roots, facet
 * joints, laminae, spinous process, ligamentum flavum, multifidus and erector spinae, psoas, aorta and IVC flow
 * voids, bright fat; Rician noise, a smooth bias field and a light blur. dolor_ldh_grade of the true mask and
 * keypoints gives the drawn type by construction (margins >= 0.5 mm against every threshold). docs/ldh.md. */
typedef struct dolor_axdisc_config {
    int size;          /* width = height in pixels, 128..2048; default 512 */
    double spacing_mm; /* pixel spacing, 0.1..2; default 0.4 (a 205 mm field of view at 512) */
    double noise;      /* Rician noise SD relative to the brightest tissue, 0..0.5; default 0.04 */
} dolor_axdisc_config;
void dolor_axdisc_config_default(dolor_axdisc_config *cfg);

/* The truth of one slice: the MSU type drawn (dolor/ldh.h indices and names) and the 9 keypoints in pixels. */
typedef struct dolor_axdisc_info {
    int type, grade, zones, bulging;
    int side;             /* dolor_ldh_side */
    double ratio;         /* the drawn herniation top / reference distance (0 without herniation) */
    double kpt[9][2];     /* DA, DP, DPR, DPL, FR, FL, CP, DLR, DLL: x, y in pixels */
    double box[4];        /* the disc's box (mask pixels), xyxy pixels */
} dolor_axdisc_info;

/* One slice of MSU type 0..17 (dolor_ldh_type_name): *image uint8 size x size, spacing_mm; *labels uint8 label
 * map (0 background, 1 disc with the herniation, 2 spinal canal). Deterministic for a seed.
 * Errors: DOLOR_EINVAL (a config field or the type out of range, named), DOLOR_ENOMEM. */
dolor_status dolor_phantom_axial_disc(const dolor_axdisc_config *cfg, int type, uint64_t seed, dolor_image **image,
                                      dolor_image **labels, dolor_axdisc_info *info);

/* count slices (1..100000), types balanced (slice i has type i mod 18), slice i from dolor_phantom_image_seed(seed,
 * i), written into dir:
 *   images/NNNN.png           8-bit grey slices (spacing in pHYs)
 *   masks/NNNN.png            palette label maps (0 background, 1 disc, 2 canal)
 *   labels/detect/NNNN.txt    YOLO box of the disc (class 0 disc)
 *   labels/segment/NNNN.txt   YOLO polygon of the disc (dolor_det_from_labelmap, pixel-edge contour)
 *   labels/pose/NNNN.txt      YOLO pose: the box of the disc and the 9 keypoints (padded 2 mm), x y v (v 2)
 *   truth.csv                 slice,grade,zone,side,type,region,bulging,ratio,seed
 *   README.txt
 * Errors: DOLOR_EINVAL, DOLOR_EIO, DOLOR_ENOMEM. */
dolor_status dolor_phantom_write_axial_disc(const char *dir, int count, const dolor_axdisc_config *cfg,
                                            uint64_t seed, int show_progress);

#ifdef __cplusplus
}
#endif
#endif
