/*
 * dolor/detect.h - object detection, instance segmentation and keypoints:
 * detection lists, post-processing of decoded YOLOv8 candidates (confidence
 * threshold, class-aware non-maximum suppression, instance masks from
 * prototypes), COCO-style metrics (AP50, mAP50:95 for boxes, masks and
 * keypoints; precision, recall and F1 at a confidence; keypoint error in
 * pixels and mm), YOLO label and COCO JSON datasets, and label maps turned
 * into boxes and polygons. docs/detection.md describes the definitions and
 * what they were checked against.
 *
 * Coordinates are in pixels of the image: x along columns (0 at the left edge
 * of column 0), y along rows; boxes are xyxy (x1, y1, x2, y2) with x2 > x1
 * meaning a width of x2 - x1 pixels (the COCO and Ultralytics convention, no
 * "+1"). Masks are uint8 0/1, row-major [h, w] at the image's size.
 */
#ifndef DOLOR_DETECT_H
#define DOLOR_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "dolor/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DOLOR_DET_NIOU 10  /* IoU thresholds 0.50:0.05:0.95 (COCO) */
#define DOLOR_DET_NREC 101 /* recall thresholds 0:0.01:1 (COCO) */

/* One object of one image: ground truth (score 1) or a prediction. */
typedef struct dolor_det_object {
    int cls;          /* class index, 0..ncls-1 */
    double score;     /* confidence in [0, 1]; 1 for ground truth */
    double box[4];    /* x1, y1, x2, y2 in pixels */
    uint8_t *mask;    /* [list.h, list.w] 0/1, or NULL; owned by the list */
    double *kpt;      /* [list.nkpt, 3]: x, y in pixels, v (truth: 0 absent, 1 occluded, 2 visible; a
                       * prediction: its visibility score, unused by the metrics); NULL if none; owned */
    double area;      /* truth area in pixels^2 for OKS; <= 0: the mask's pixel count if there is a mask,
                       * else the box's w * h (COCO takes the annotation's area, the mask area) */
} dolor_det_object;

/* All objects of one image. h, w: the image size in pixels (the masks' size; 0 if unknown);
 * nkpt: keypoints per object (0 if none). Zero-initialise, or use dolor_det_list_init. */
typedef struct dolor_det_list {
    size_t n, cap;
    dolor_det_object *obj;
    int h, w;
    int nkpt;
} dolor_det_list;

void dolor_det_list_init(dolor_det_list *l, int h, int w, int nkpt);
/* Free the objects, their masks and keypoints; the list is left empty and reusable. NULL-safe. */
void dolor_det_list_free(dolor_det_list *l);
/* Append an object; mask ([h, w], nonzero = inside) and kpt ([nkpt, 3]) are copied when not NULL.
 * Errors: DOLOR_EINVAL (NULL list or box, cls < 0, a box coordinate not finite, a mask given while h
 * or w is 0, keypoints given while nkpt is 0), DOLOR_ENOMEM. */
dolor_status dolor_det_list_add(dolor_det_list *l, int cls, double score, const double box[4],
                                const uint8_t *mask, const double *kpt);

/* IoU of two xyxy boxes: intersection / union of their areas, 0 when they do not overlap or the union
 * is 0. Same arithmetic as pycocotools' bbIou (on x, y, w, h) and torchvision's box_iou. */
double dolor_det_box_iou(const double a[4], const double b[4]);
/* IoU of two [n] 0/1 masks (pixel counts); 0 when both are empty (as pycocotools' rleIou). */
double dolor_det_mask_iou(const uint8_t *a, const uint8_t *b, size_t n);
/* Object keypoint similarity (COCO, cocoeval.py computeOks) of predicted keypoints dt [nkpt, 3] to
 * the truth gt [nkpt, 3] (v > 0 visible) of area `area` (pixels^2) and box gt_box (xyxy):
 *   e_i = d_i^2 / (2 (2 sigma_i)^2 (area + eps)),  OKS = mean over visible i of exp(-e_i);
 * with no visible keypoint, d_i is the distance from the prediction to the box grown by its size
 * on each side and the mean is over all keypoints (COCO's rule; such truths are ignored in AP). */
double dolor_det_oks(const double *dt, const double *gt, const double *sigmas, int nkpt, double area,
                     const double gt_box[4]);

struct dolor_image;
/* A point in dolor's pixel coordinates (x, y; 0 = the left / top edge of the first column / row) on
 * slice z of img, as a physical point xyz in mm (LPS) through the image's spacing, origin and direction:
 * the continuous index (x - 0.5, y - 0.5, z) (voxel centres at half-integers) through
 * dolor_image_index_to_point. For boxes and keypoints found on a resized network input, scale them to
 * the image's size first. NULL-safe (no output). */
void dolor_det_pixel_to_mm(const struct dolor_image *img, double x, double y, double z, double xyz[3]);

/* COCO's 17 person-keypoint sigmas (cocoeval.py), for callers without their own. */
extern const double dolor_det_coco_sigmas[17];

/* ---------------- post-processing (inference) ---------------- */

/* Decoded candidates of one image (dolor_yolo_decode_boxes / _keypoints in dolor/nn.h give them,
 * per image n = A anchors):
 *   boxes [n, 4] xyxy in input pixels; scores [n, nc] class probabilities (already sigmoid);
 *   coef [n, nm] mask coefficients and protos [nm, proto_h, proto_w] the prototype maps of the
 *   segment head (both NULL or nm 0 for no masks); kpt [n, nkpt, kdim] (kdim 2: x, y; 3: x, y,
 *   visibility) in input pixels, or NULL; img_h, img_w: the network input size in pixels. */
typedef struct dolor_det_candidates {
    size_t n;
    int nc;
    const float *boxes;
    const float *scores;
    int nm;
    const float *coef;
    const float *protos;
    int proto_h, proto_w;
    int nkpt, kdim;
    const float *kpt;
    int img_h, img_w;
} dolor_det_candidates;

/* Ultralytics' non_max_suppression defaults: conf 0.25, iou 0.7, max_det 300, max_nms 30000,
 * class-aware, one label per box. */
typedef struct dolor_det_nms_params {
    double conf;      /* keep a (box, class) whose score > conf */
    double iou;       /* suppress a box whose IoU with a kept, higher-scored box of its class is > iou */
    int max_det;      /* at most this many detections per image (>= 1) */
    int max_nms;      /* at most this many candidates enter NMS, the highest scored (>= 1) */
    int agnostic;     /* non-zero: boxes of different classes suppress each other too */
    int multi_label;  /* non-zero: every class with score > conf is a candidate (Ultralytics' validation,
                       * multi_label=True); zero: only the best class of each box */
} dolor_det_nms_params;

dolor_det_nms_params dolor_det_nms_defaults(void);

/* Post-process one image's candidates into out (re-initialised with h = img_h, w = img_w and nkpt), as
 * Ultralytics' non_max_suppression (ultralytics/utils/ops.py): candidates with score > conf, stable sort
 * by score (descending; ties by candidate, then class index), the first max_nms kept, greedy NMS per
 * class (across classes when agnostic; equivalent to Ultralytics' class offset of 7680 px for boxes
 * under that size), the first max_det kept; detections in descending score, boxes and scores as given
 * (float32 values). With masks (Ultralytics' process_mask with upsample=True, in float32): for each
 * kept detection m = sigmoid(coef . protos) on the prototype grid, zero outside the box scaled to that
 * grid (crop_mask: column c kept when x1 * pw / img_w <= c < x2 * pw / img_w, rows alike), upsampled
 * bilinearly with half-pixel centres (torch's align_corners=False) to img_h x img_w, > 0.5. Keypoints are
 * copied with their box (v = 2 when kdim is 2). Checked against a torch transcription
 * (tests/test_detect_nms.c). Errors: DOLOR_EINVAL (NULL, nc < 1, conf outside [0, 1), iou outside [0, 1],
 * max_det or max_nms < 1, masks without nm >= 1, coef, protos and a prototype size, keypoints without
 * nkpt >= 1 and kdim 2 or 3, an input size < 1), DOLOR_ENOMEM. */
dolor_status dolor_det_postprocess(const dolor_det_candidates *c, const dolor_det_nms_params *p,
                                   dolor_det_list *out);

/* ---------------- metrics ---------------- */

typedef enum dolor_det_iou_kind {
    DOLOR_DET_BOX = 0,  /* box IoU */
    DOLOR_DET_MASK = 1, /* mask IoU on the pixel grid (every object needs a mask) */
    DOLOR_DET_KPT = 2   /* OKS (every object needs keypoints; sigmas required) */
} dolor_det_iou_kind;

typedef enum dolor_det_ap_style {
    DOLOR_DET_AP_COCO = 0,        /* pycocotools COCOeval (default) */
    DOLOR_DET_AP_ULTRALYTICS = 1  /* Ultralytics' ap_per_class over its match_predictions */
} dolor_det_ap_style;

typedef struct dolor_det_eval_params {
    dolor_det_iou_kind kind;
    dolor_det_ap_style style;
    int ncls;               /* classes 0..ncls-1 */
    int max_dets;           /* per image and class (COCO: maxDets 100; 20 for keypoints) */
    const double *sigmas;   /* [nkpt] for DOLOR_DET_KPT */
    int nkpt;
    double conf;            /* confidence for precision, recall, F1 and keypoint error (score >= conf) */
    double row_spacing_mm;  /* PixelSpacing[0]: distance between rows (y), mm; 0: no mm error */
    double col_spacing_mm;  /* PixelSpacing[1]: distance between columns (x), mm */
} dolor_det_eval_params;

/* Defaults: box IoU, COCO style, max_dets 100, conf 0.25, no spacing. */
dolor_det_eval_params dolor_det_eval_defaults(int ncls);

typedef struct dolor_det_eval {
    int ncls;
    double *ap;       /* [ncls, DOLOR_DET_NIOU] AP of class k at IoU threshold t; NaN: no truth of k */
    double *ap50;     /* [ncls] AP at IoU 0.50 */
    double *ap5095;   /* [ncls] mean AP over the 10 thresholds */
    size_t *npos;     /* [ncls] truths that count (not ignored) */
    double map50, map75, map5095; /* means over the classes with truth (NaN if none) */
    /* at IoU 0.50 and score >= conf (the same greedy matching): */
    size_t tp, fp, fn;            /* over all classes */
    double precision, recall, f1; /* from tp, fp, fn (NaN when a denominator is 0) */
    double *cls_precision, *cls_recall, *cls_f1; /* [ncls] */
    /* keypoints (objects with keypoints on both sides), over the matched pairs at IoU 0.50 and
     * score >= conf, the truth's visible keypoints (v > 0): mean Euclidean error */
    size_t kpt_n;                 /* keypoints averaged */
    double kpt_err_px, kpt_err_mm; /* NaN when kpt_n is 0; mm NaN without spacing */
} dolor_det_eval;

/* Evaluate the predictions dt[0..nimg-1] against the truth gt[0..nimg-1] (same image order).
 * COCO (cocoeval.py evaluateImg + accumulate), area range "all", crowd annotations not supported (every
 * truth counts; a keypoint truth without visible keypoints is ignored, as COCO does): per image and
 * class the predictions sorted by score (stable) and cut to max_dets; for each IoU threshold t, each
 * prediction in turn takes the unmatched truth of highest IoU >= t (ties: the first); over all images
 * the predictions of class k sorted by score (stable, image order for ties), cumulated TP/FP,
 * precision made non-increasing from the right, sampled at the 101 recall thresholds (first recall >=
 * r, 0 beyond the last), AP = their mean. Ultralytics style: see docs/detection.md.
 * Errors: DOLOR_EINVAL (NULL, nimg 0, ncls < 1, max_dets < 1, a class out of range (names image and
 * object), mask or keypoints missing for that kind, sigmas missing, masks of another size). */
dolor_status dolor_det_evaluate(const dolor_det_list *gt, const dolor_det_list *dt, size_t nimg,
                                const dolor_det_eval_params *p, dolor_det_eval *out);
void dolor_det_eval_free(dolor_det_eval *e); /* NULL-safe */

/* ---------------- datasets ---------------- */

/* What a YOLO label file holds: boxes "c cx cy w h", polygons "c x1 y1 x2 y2 ...", pose "c cx cy w h
 * px1 py1 [v1] ..." (kdim 2 or 3, nkpt keypoints per line). All coordinates normalised to 0..1. */
typedef enum dolor_det_yolo_kind {
    DOLOR_DET_YOLO_DETECT = 0,
    DOLOR_DET_YOLO_SEGMENT = 1,
    DOLOR_DET_YOLO_POSE = 2
} dolor_det_yolo_kind;

typedef struct dolor_det_yolo_config {
    dolor_det_yolo_kind kind;
    int ncls;          /* classes 0..ncls-1 */
    int nkpt, kdim;    /* pose: keypoints per object and 2 or 3 values each */
} dolor_det_yolo_config;

/* Fill mask [h, w] (set to 1, other pixels untouched) with the pixels whose centre (x + 0.5, y + 0.5)
 * lies inside the polygon xy [n, 2] (pixels; even-odd rule, scanline). This is not pycocotools'
 * rasteriser (frPyObjects upsamples the outline 5x and walks its edges), so a pixel the outline cuts
 * may differ; docs/detection.md. n < 3 fills nothing. */
void dolor_det_polygon_fill(const double *xy, int n, int h, int w, uint8_t *mask);

/* Fill mask [h, w] (row-major; set to 1, other pixels untouched) with the polygon xy [n, 2] (pixels)
 * rasterised as pycocotools' frPyObjects does (cocoapi maskApi.c rleFrPoly, implemented anew): the
 * vertices scaled 5x and rounded, the outline walked one step per unit of its major axis, a column
 * boundary crossed between fine columns 5x + 2 and 5x + 3 toggles column x from the row ceil((min fine
 * row + 0.5) / 5 - 0.5) down (clamped to 0..h), and a pixel is inside when an odd number of toggles
 * precede it in column-major order. Checked pixel for pixel against pycocotools (tests/test_detect_metrics.c).
 * The COCO reader uses it for polygon segmentations. n < 3 fills nothing. */
void dolor_det_polygon_fill_coco(const double *xy, int n, int h, int w, uint8_t *mask);

/* Read one YOLO label file of an image of img_w x img_h pixels (both >= 1) into out (re-initialised
 * with h = img_h, w = img_w; a missing file is an error, an empty file no objects). Boxes become
 * pixels; a polygon gives its box (the vertices' extent) and a mask (dolor_det_polygon_fill); pose
 * keypoints become pixels, v = 2 when kdim is 2, and a keypoint written as 0 0 [0] is v = 0. A line
 * with 5 values in a segment file is a box (its mask the box's pixels). Boxes need w, h > 0.
 * Errors name the file and line (and value): DOLOR_EIO (cannot open), DOLOR_EFORMAT (a number that does
 * not parse, a class out of range or not an integer, a coordinate outside 0..1, a box line that has not 5
 * values, an odd polygon coordinate count or fewer than 3 vertices, a pose line with another keypoint
 * count than the config), DOLOR_EINVAL (config). */
dolor_status dolor_det_yolo_read(const char *path, const dolor_det_yolo_config *cfg, int img_w, int img_h,
                                 dolor_det_list *out);

/* Write l as a YOLO label file (temporary file + rename): kind DETECT boxes, SEGMENT polygons (polys
 * [n] with npts[n] vertices, xy pairs in pixels; NULL, or an object with fewer than 3 vertices: its
 * box's 4 corners), POSE boxes + keypoints (kdim values; v = 0 written as 0 0 [0]). Coordinates
 * normalised by img_w, img_h, clamped to 0..1, printed with 6 decimals. Errors: DOLOR_EINVAL (config,
 * size, POSE without keypoints), DOLOR_EIO. */
dolor_status dolor_det_yolo_write(const char *path, const dolor_det_list *l, const dolor_det_yolo_config *cfg,
                                  int img_w, int img_h, const double *const *polys, const int *npts);

/* A dataset: nimg images, names[i] (file name) and lists[i] (their objects). */
typedef struct dolor_det_dataset {
    size_t nimg;
    char **names;
    dolor_det_list *lists;
    int ncls;
    int nkpt;
    double *image_ids; /* [nimg] COCO image ids (NULL for YOLO folders) */
} dolor_det_dataset;

void dolor_det_dataset_free(dolor_det_dataset *d); /* NULL-safe */

/* Read a YOLO label folder for the images names[0..nimg-1] (file names such as "case1.png" of
 * images of sizes w[i] x h[i]): the labels of "case1.png" are labels_dir/case1.txt; an image
 * without a label file has no objects. Errors: DOLOR_EINVAL (an empty image list), those of
 * dolor_det_yolo_read. */
dolor_status dolor_det_yolo_read_folder(const char *labels_dir, const char *const *names, const int *w,
                                        const int *h, size_t nimg, const dolor_det_yolo_config *cfg,
                                        dolor_det_dataset *out);

/* Read a COCO JSON file: images (id, file_name, width, height), annotations (image_id, category_id,
 * bbox [x, y, w, h] in pixels, optional segmentation, optional keypoints [x, y, v] * nkpt, optional
 * area), categories (id, name). A segmentation is polygons [[x1, y1, ...], ...] (their union, rasterised
 * with dolor_det_polygon_fill_coco, so masks equal pycocotools' annToMask) or RLE {"size": [h, w],
 * "counts": [...] or "string"}: column-major runs from background, uncompressed or in COCO's compressed
 * string (6-bit characters from '0', 5 data bits and a continuation bit, sign from the last group's
 * 0x10, each count after the second coded against the one two before, as maskApi.c rleFrString).
 * Category ids are mapped to classes 0..ncls-1 in increasing id order (cat_ids[k] gives the id back; may
 * be NULL). nkpt: the keypoints per object expected (0: none read). Errors name the file, the array
 * index and the field: DOLOR_EIO, DOLOR_EFORMAT (not JSON, a missing or mistyped field, an unknown image
 * or category id, a repeated id, a keypoint count that differs from nkpt, an odd polygon, RLE of another
 * size or not covering the image), DOLOR_EUNSUPPORTED (iscrowd 1), DOLOR_EINVAL (no images). */
dolor_status dolor_det_coco_read(const char *path, int nkpt, dolor_det_dataset *out, int **cat_ids);

/* Read a COCO results file (a JSON array of {image_id, category_id, score, and bbox [x, y, w, h] |
 * segmentation (as above) | keypoints [x, y, s] * gt->nkpt}) against the truth gt read by
 * dolor_det_coco_read with its cat_ids: out[i] (an array of gt->nimg lists, malloc'ed, each freed with
 * dolor_det_list_free, then free(out)) holds image i's predictions in file order. As pycocotools'
 * loadRes: a mask gives the box of its pixels, keypoints the box of their extent. Errors (file, index,
 * field): DOLOR_EIO, DOLOR_EFORMAT (not a JSON array, a field missing or mistyped, an image or category
 * id not in the truth, a keypoint count other than gt->nkpt), DOLOR_EINVAL (gt not from a COCO file). */
dolor_status dolor_det_coco_read_results(const char *path, const dolor_det_dataset *gt, const int *cat_ids,
                                         dolor_det_list **out);

/* COCO's compressed RLE string of mask [h, w] (row-major 0/1): column-major runs from background, coded
 * as maskApi.c rleToString (each count after the second as the difference to the count two before, 5-bit
 * groups low first, 0x20 = more, + '0'). Returns a malloc'ed string (free it), NULL when out of memory.
 * Checked against pycocotools' own strings (tests/test_detect_metrics.c). */
char *dolor_det_mask_to_coco_rle(const uint8_t *mask, int h, int w);

/* Write predictions lists[0..nimg-1] as a COCO results file (temporary file + rename): a JSON array of
 * {"image_id": image_ids[i], "category_id": cat_ids[cls], "score", "bbox": [x, y, w, h] (pixels), and
 * "segmentation": {"size": [h, w], "counts": compressed RLE} when the object has a mask, "keypoints":
 * [x, y, v] * nkpt when it has keypoints}, objects in list order, numbers with 17 significant digits
 * (pycocotools' loadRes reads it). cat_ids NULL: category_id = cls + 1. Errors: DOLOR_EINVAL (NULL,
 * nimg 0, a class < 0), DOLOR_ENOMEM, DOLOR_EIO. */
dolor_status dolor_det_coco_write_results(const char *path, const dolor_det_list *lists, size_t nimg,
                                          const double *image_ids, const int *cat_ids);

/* ---------------- label maps to instances ---------------- */

/* Outer contours of label-map instances (dolor_det_from_labelmap). */
typedef enum dolor_det_contour {
    /* pixel edges: the boundary of the component's pixels on the pixel-corner lattice (crack following,
     * the component on the right, a diagonal 8-connection passed through its shared corner), vertices at
     * the corners where it turns; dolor_det_polygon_fill of it gives back the component with its holes
     * filled, exactly */
    DOLOR_DET_CONTOUR_EDGES = 0,
    /* pixel centres: Moore-neighbour tracing of the boundary pixels, vertices at their centres (as
     * OpenCV's findContours); the polygon lies half a pixel inside the mask's outline */
    DOLOR_DET_CONTOUR_CENTRES = 1
} dolor_det_contour;

/* Instances of a 2D label map labels [h, w] (0 = background, 1..ncls classes): connected components of
 * each class with 8-connectivity, in raster order of their first pixel. For each: class (label - 1),
 * box (xyxy covering the component's pixels), mask, and (when polys is not NULL) the outer contour of
 * the kind asked, clockwise in image coordinates, starting at the first pixel (its top-left corner or
 * its centre). CENTRES: Moore-neighbour tracing from the first pixel with a west backtrack, stopping
 * when the tracing state (pixel, backtrack) repeats (Jacob's rule as usually stated, start pixel
 * re-entered with the initial backtrack, can loop for ever). polys[i] is malloc'ed [npts[i], 2] in
 * pixels, freed by the caller (dolor_det_polys_free). Components smaller than min_pixels are dropped.
 * Errors: DOLOR_EINVAL (label < 0 or > ncls, names the pixel; an unknown contour kind), DOLOR_ENOMEM. */
dolor_status dolor_det_from_labelmap(const int32_t *labels, int h, int w, int ncls, int min_pixels,
                                     dolor_det_contour contour, dolor_det_list *out, double ***polys,
                                     int **npts);
void dolor_det_polys_free(double **polys, int *npts, size_t n);

/* dolor_det_from_labelmap on slice z (0 for a 2D image) of a label image, as dolor_image_read gives a
 * PNG or NIfTI label map: one component of an integer dtype (a float image must hold integers), x along
 * size[0], y along size[1]. The name (may be NULL) prefixes errors. Errors: DOLOR_EINVAL (z outside
 * 0..size[2]-1, ncomp other than 1, a value that is not an integer in 0..ncls: names the voxel), and
 * those of dolor_det_from_labelmap. */
dolor_status dolor_det_from_label_image(const struct dolor_image *img, const char *name, int z, int ncls,
                                        int min_pixels, dolor_det_contour contour, dolor_det_list *out,
                                        double ***polys, int **npts);

#ifdef __cplusplus
}
#endif

#endif
