/*
 * dolor/eval.h - segmentation evaluation: predicted label maps against ground
 * truth, with the metrics and summaries clinicians and nnU-Net/MONAI users
 * expect.
 *
 * Use: create an evaluator for K classes (class 0 = background), add one case
 * at a time (a truth and a prediction class-index map of n pixels/voxels),
 * then read means, print a table or write CSV files.
 *
 * Per case and class c, with TP/FP/FN/TN counted one-vs-rest on the pixels
 * (truth == c, pred == c):
 *   IoU (Jaccard)        = TP / (TP + FP + FN)
 *   Dice (DSC, F1)       = 2 TP / (2 TP + FP + FN)
 *   precision (PPV)      = TP / (TP + FP)
 *   recall (sensitivity) = TP / (TP + FN)
 *   specificity          = TN / (TN + FP)
 *   accuracy             = (TP + TN) / n
 *
 * Surface distances (MONAI's definitions; only for cases whose geometry is
 * known: dolor_seg_eval_add_image and dolor_seg_eval_folders), in mm using
 * the truth's voxel spacing, or in pixels when the truth has no pixel size
 * (dolor_image.spacing_unknown: a PNG without pHYs, a JPEG without a
 * density; the unit is then "px" in the printed table and the CSV columns
 * are hd95_px, assd_px; one evaluator holds one unit: mixing truths with
 * and without a pixel size is an error), for foreground classes:
 *   surface of a mask = its voxels with a face neighbour outside the mask or
 *     on the array border (MONAI get_mask_edges: mask XOR binary erosion);
 *   d(A->B) = exact Euclidean distance from each surface voxel of A to the
 *     nearest surface voxel of B;
 *   HD95 = max(P95 of d(pred->truth), P95 of d(truth->pred)), P95 as R type 7
 *     / numpy.percentile (MONAI compute_hausdorff_distance, percentile=95);
 *   ASSD = mean of d(pred->truth) and d(truth->pred) pooled (MONAI
 *     compute_average_surface_distance, symmetric=True).
 *   Both are NaN when the class is absent from the truth or from the
 *   prediction (MONAI returns inf there), and always NaN for background.
 *
 * Empty cases (the nnU-Net v2 convention, compute_metrics.py):
 *   - class absent from BOTH truth and prediction: Dice and IoU are undefined
 *     (NaN); the case is excluded from that class's mean/SD/quantiles and
 *     counted in the summary as n_empty.
 *   - class absent from the truth but predicted: TP = 0, FP > 0, so Dice =
 *     IoU = 0 (a false-positive case, counted in the mean). Note MONAI's
 *     DiceMetric(ignore_empty=True) instead gives NaN whenever the truth is
 *     empty; dolor follows nnU-Net.
 *   - precision is NaN when nothing is predicted (TP + FP = 0), recall is NaN
 *     when the truth is empty (TP + FN = 0), specificity is NaN when the class
 *     covers every pixel of the truth (TN + FP = 0). Accuracy is always
 *     defined. NaN values are excluded from that metric's summary.
 *
 * Summaries (per class and metric, over the cases where the metric is
 * defined): n, mean, sample SD (n - 1 denominator; NaN when n < 2), median,
 * P25 and P75 as R's quantile(type = 7) (Hyndman & Fan 1996, definition 7:
 * h = (n - 1) p, x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]),
 * with x sorted and 0-based), and n_empty (cases where the class is absent
 * from both truth and prediction).
 *
 * The pixel confusion matrix (rows = truth class, columns = predicted class)
 * is summed over all cases.
 */
#ifndef DOLOR_EVAL_H
#define DOLOR_EVAL_H

#include "dolor/core.h"
#include "dolor/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================= segmentation ======================= */

/* An evaluator is not thread-safe: use one per thread (or lock) when adding
 * cases from several threads; reading functions may run concurrently with
 * each other but not with dolor_seg_eval_add. */
typedef struct dolor_seg_eval dolor_seg_eval;

/* Per-case metrics, in the column order of per_case.csv. */
typedef enum dolor_seg_metric {
    DOLOR_SEG_IOU = 0,
    DOLOR_SEG_DICE,
    DOLOR_SEG_PRECISION,
    DOLOR_SEG_RECALL,
    DOLOR_SEG_SPECIFICITY,
    DOLOR_SEG_ACCURACY,
    DOLOR_SEG_HD95,        /* mm or pixels (dolor_seg_eval_distance_unit); only for cases added with
                              dolor_seg_eval_add_image or from folders */
    DOLOR_SEG_ASSD,        /* idem */
    DOLOR_SEG_NMETRICS
} dolor_seg_metric;

/* Column name of a metric as in the CSV files ("iou", "dice", "precision",
 * "recall", "specificity", "accuracy", "hd95_mm", "assd_mm"); "?" for an
 * invalid value. */
const char *dolor_seg_metric_name(dolor_seg_metric m);

/* Unit of the evaluator's HD95 and ASSD: "px" when its cases' ground truth
 * has no pixel size (dolor_image.spacing_unknown), "mm" otherwise (also
 * before any case with geometry is added). */
const char *dolor_seg_eval_distance_unit(const dolor_seg_eval *ev);

/* Column name of a metric in this evaluator's CSV files: as
 * dolor_seg_metric_name, but "hd95_px" and "assd_px" when the unit is px. */
const char *dolor_seg_eval_metric_column(const dolor_seg_eval *ev, dolor_seg_metric m);

/* Summary of one metric for one class over the cases (see top of file). */
typedef struct dolor_seg_summary {
    size_t n;       /* cases where the metric is defined */
    size_t n_empty; /* cases where the class is absent from truth and prediction */
    double mean;    /* NaN when n == 0 */
    double sd;      /* sample SD; NaN when n < 2 */
    double median;  /* R type 7; NaN when n == 0 */
    double p25;
    double p75;
} dolor_seg_summary;

/* One case's counts for one class (one-vs-rest). */
typedef struct dolor_seg_counts {
    uint64_t tp, fp, fn, tn;
} dolor_seg_counts;

/* Create an evaluator. num_classes (2..256) includes the background (class
 * 0); class_names[num_classes] are copied (NULL array, or a NULL entry, gives
 * "background" for class 0 and "class<c>" otherwise). Names must be non-empty
 * and unique.
 * Errors: DOLOR_EINVAL (num_classes out of range, empty or duplicate name),
 * DOLOR_ENOMEM. */
dolor_status dolor_seg_eval_create(int num_classes, const char *const *class_names, dolor_seg_eval **out);
void dolor_seg_eval_free(dolor_seg_eval *ev); /* NULL-safe */
/* Forget every case (keeps classes and names). */
void dolor_seg_eval_reset(dolor_seg_eval *ev);

/* Add one case. truth and pred are class-index maps of n pixels (any layout,
 * the same for both; n >= 1), values < num_classes. case_id names the case in
 * tables and messages (copied; NULL gives "case<index>"); ids need not be
 * unique. Accumulates the case's per-class TP/FP/FN/TN and the pixel
 * confusion matrix. On error nothing is added.
 * Errors: DOLOR_EINVAL (n == 0, a value >= num_classes: the message names the
 * case, "truth" or "pred", the value and the position), DOLOR_ENOMEM. */
dolor_status dolor_seg_eval_add(dolor_seg_eval *ev, const char *case_id, const uint8_t *truth, const uint8_t *pred,
                                size_t n);

/* Add one case given its pixel confusion matrix cm[t * num_classes + p]
 * (rows = truth class t, columns = predicted class p), e.g. computed
 * elsewhere or pooled from patches. Same accounting as dolor_seg_eval_add.
 * Errors: DOLOR_EINVAL (every count is zero), DOLOR_ENOMEM. */
dolor_status dolor_seg_eval_add_confusion(dolor_seg_eval *ev, const char *case_id, const uint64_t *cm);

/* Add one case from label images, with surface distances. truth and pred:
 * 2D or 3D (nt == 1), one component, any integer or float dtype holding
 * integer class indices 0..num_classes-1, the same size; spacing is taken
 * from truth (mm, or pixels when truth->spacing_unknown). Same counts as dolor_seg_eval_add, plus HD95 and ASSD per
 * foreground class (see top of file).
 * Errors: DOLOR_ESHAPE (sizes differ, naming both), DOLOR_EUNSUPPORTED
 * (ncomp != 1, a 4th dimension), DOLOR_EINVAL (a value that is not a class:
 * names the case, "truth" or "pred", the value and the voxel index; a truth
 * whose spacing_unknown differs from earlier cases'),
 * DOLOR_ENOMEM. */
dolor_status dolor_seg_eval_add_image(dolor_seg_eval *ev, const char *case_id, const dolor_image *truth,
                                      const dolor_image *pred);

/* Number of cases added. */
size_t dolor_seg_eval_count(const dolor_seg_eval *ev);
int dolor_seg_eval_num_classes(const dolor_seg_eval *ev);
/* Class name ("?" when c is out of range). Never NULL. */
const char *dolor_seg_eval_class_name(const dolor_seg_eval *ev, int c);
/* Case id of case i (0-based, in order of addition); NULL when out of range. */
const char *dolor_seg_eval_case_id(const dolor_seg_eval *ev, size_t i);

/* Counts of case i for class c; all zero when out of range. */
dolor_seg_counts dolor_seg_eval_case_counts(const dolor_seg_eval *ev, size_t i, int c);
/* Metric m of case i for class c (NaN when undefined or out of range). */
double dolor_seg_eval_case_metric(const dolor_seg_eval *ev, size_t i, int c, dolor_seg_metric m);
/* The metric from counts alone (same rules; n = tp+fp+fn+tn). */
double dolor_seg_metric_from_counts(dolor_seg_counts k, dolor_seg_metric m);

/* Summary of metric m for class c over the cases (all NaN / 0 when c or m is
 * out of range or there are no cases). */
dolor_seg_summary dolor_seg_eval_summary(const dolor_seg_eval *ev, int c, dolor_seg_metric m);

/* Mean Dice / IoU of class c over the cases where it is defined; NaN if none
 * (or c out of range). */
double dolor_seg_eval_mean_dice(const dolor_seg_eval *ev, int c);
double dolor_seg_eval_mean_iou(const dolor_seg_eval *ev, int c);
/* Mean over the foreground classes 1..K-1 of the per-class mean Dice,
 * skipping classes whose mean is NaN (no case defines it); NaN if all are.
 * (nnU-Net's "foreground_mean" takes np.mean and so is NaN as soon as one
 * class never occurs; dolor skips such classes.) */
double dolor_seg_eval_mean_fg_dice(const dolor_seg_eval *ev);
/* Dice of class c pooled over all pixels of all cases (2 sum TP / (2 sum TP +
 * sum FP + sum FN), the "global" or micro Dice); NaN if the class never occurs. */
double dolor_seg_eval_global_dice(const dolor_seg_eval *ev, int c);

/* Pixel confusion count: truth class t, predicted class p (0 if out of range). */
uint64_t dolor_seg_eval_confusion(const dolor_seg_eval *ev, int t, int p);

/* Write into dir (created with parents if needed), each file atomically:
 *   per_case.csv  case,class,tp,fp,fn,tn,iou,dice,precision,recall,specificity,accuracy,
 *                 hd95_mm,assd_mm (hd95_px,assd_px when the unit is px)
 *                 one row per case and class (background included), in order
 *                 of addition; undefined values are written as NA.
 *   summary.csv   class,metric,n,mean,sd,median,p25,p75,n_empty
 *                 one row per class and metric; NA for undefined values.
 *   confusion.csv first column "truth\pred" then one column per class name;
 *                 one row per truth class with pixel counts.
 * Strings containing a comma, quote or newline are quoted (RFC 4180). Numbers
 * are printed with %.10g.
 * Errors: DOLOR_EIO (cannot create dir or write). */
dolor_status dolor_seg_eval_write_csv(const dolor_seg_eval *ev, const char *dir);

/* Print a readable table to fp: per class the number of cases (and empty
 * cases), Dice and IoU as mean +/- SD and median [P25, P75], mean precision,
 * recall and specificity, HD95 as median [P25, P75] in mm when any case has
 * it, the mean foreground Dice, then the confusion matrix as counts and as
 * row percentages. */
void dolor_seg_eval_print(const dolor_seg_eval *ev, FILE *fp);

/* R type-7 quantile of x[0..n-1] (need not be sorted; not modified) at
 * probability p in [0, 1]. NaN if n == 0, p is outside [0, 1] or NaN, or
 * on allocation failure. NaN values in x are not allowed (the caller
 * filters them). */
double dolor_eval_quantile7(const double *x, size_t n, double p);

/* ======================= pixel-level ROC (one class against the rest) ======================= */

/* Collects per-pixel class probabilities and truth classes over many images, then gives for each class c
 * the ROC curve of "pixel is class c" scored by the probability of c (one against the rest), over ALL
 * distinct scores (no fixed grid), and its AUC by the exact trapezoid rule over those points, which equals
 * scikit-learn's roc_auc_score(truth == c, prob[:, c]) and the Mann-Whitney estimate with ties counted 1/2.
 * Memory: 4 bytes per class and 1 byte per pixel added. Not thread-safe. */
typedef struct dolor_pixel_roc dolor_pixel_roc;

/* num_classes 2..256 incl. background; names as dolor_seg_eval_create. Errors: DOLOR_EINVAL, DOLOR_ENOMEM. */
dolor_status dolor_pixel_roc_create(int num_classes, const char *const *class_names, dolor_pixel_roc **out);
void dolor_pixel_roc_free(dolor_pixel_roc *r); /* NULL-safe */

/* Add n pixels: probs [K, n] (plane c holds every pixel's probability of class c, K = num_classes), truth [n]
 * class indices. Errors: DOLOR_EINVAL (a truth value >= K or a probability that is NaN or outside [0, 1],
 * naming the pixel), DOLOR_ENOMEM. On error nothing is added. */
dolor_status dolor_pixel_roc_add(dolor_pixel_roc *r, const float *probs, const uint8_t *truth, size_t n);

/* ROC of class c. Points run from (0, 0) (threshold +Inf) to (1, 1) (the lowest score): at threshold t a pixel
 * is called class c when its probability >= t. With keep_all == 0, points on a straight segment between
 * their neighbours are left out (scikit-learn's drop_intermediate): the AUC is the same.
 * Errors: DOLOR_EINVAL (c out of range), DOLOR_ENUMERIC (the class has no positive or no negative pixel:
 * AUC undefined), DOLOR_ENOMEM. */
typedef struct dolor_roc_curve {
    size_t n;                  /* points */
    double *fpr, *tpr;         /* [n] false-positive rate (1 - specificity), true-positive rate (sensitivity) */
    double *threshold;         /* [n] probability threshold, +Inf first */
    double auc;
    uint64_t n_pos, n_neg;     /* pixels of the class and of the rest */
} dolor_roc_curve;
dolor_status dolor_pixel_roc_curve(const dolor_pixel_roc *r, int c, int keep_all, dolor_roc_curve *out);
void dolor_roc_curve_free(dolor_roc_curve *c); /* frees the arrays; NULL-safe */

/* Write dir/roc.csv (class,threshold,fpr,tpr: the curve without intermediate points, thinned to points 1e-4 or
 * more apart in fpr or tpr, so 20000 rows at most per class; the AUC is computed on every point),
 * dir/auc.csv (class,auc,n_pos,n_neg;
 * NA where undefined) and dir/roc.svg (one curve per foreground class, AUC in the legend), each atomically.
 * Errors: DOLOR_EIO, DOLOR_ENOMEM. */
dolor_status dolor_pixel_roc_write(const dolor_pixel_roc *r, const char *dir);

/* Write the pixel confusion matrix of ev as dir/confusion_pct.csv (row percentages: each truth row sums to
 * 100), dir/confusion.svg (counts and row percentages, shaded by the percentage) and dir/class_metrics.csv:
 * per class the pooled pixel accuracy, precision, recall, IoU and DSC from the summed confusion matrix
 * (one class against the rest) and the mean over cases of IoU and DSC, then a row "mean" of the foreground
 * classes. Errors: DOLOR_EIO. */
dolor_status dolor_seg_eval_write_study(const dolor_seg_eval *ev, const char *dir);

/* ======================= folders of label maps ======================= */

/* Options for dolor_seg_eval_folders (zero-initialise, then set). */
typedef struct dolor_seg_folder_opts {
    const char *pred_dir;   /* predicted label maps */
    const char *truth_dir;  /* ground-truth label maps */
    /* Label values of the foreground classes (class c = labels[c - 1]); NULL
     * = every non-zero value found in the truth and prediction files, in
     * increasing order. Values not listed count as background. */
    const long *labels;
    int nlabels;
    /* Foreground class names [nlabels] (or, with labels NULL, as many names as
     * values found); NULL = "class<value>". Background is "background". */
    const char *const *class_names;
    int nnames;
    /* 0: a truth file without a prediction is an error (nnU-Net's default);
     * 1: it is skipped with a warning (nnU-Net's --chill). */
    int allow_missing;
    /* Where warnings go (prediction without truth, missing predictions with
     * allow_missing, label values counted as background); NULL = none. */
    FILE *warn;
} dolor_seg_folder_opts;

/* Evaluate every ground-truth file in truth_dir against the prediction with
 * the same stem in pred_dir. Files are label maps readable by
 * dolor_image_read (extensions .png, .nii, .nii.gz, .mha, .mhd, matched
 * case-insensitively; other files, such as lossy .jpg, and hidden files are
 * ignored); the stem is the file name
 * without that extension, so "case1.png" matches "case1.nii.gz". Cases are
 * added in increasing (strcmp) order of stem, with surface distances
 * (spacing from the truth file) for the label values of the classes (at
 * most 64 distinct non-zero values per case get distances). Voxel values must be integers
 * (any integer or float dtype, one component).
 * *out receives a new evaluator (free with dolor_seg_eval_free).
 * Errors: DOLOR_ENOTFOUND (a directory is missing, no truth files, a truth
 * file has no prediction: names it), DOLOR_ESHAPE (sizes differ: names both
 * files and both sizes), DOLOR_EINVAL (bad options, two files with the
 * same stem in one folder, a non-integer or negative value (names the file,
 * value and voxel index), a file with more than 256 distinct values, more
 * than 255 foreground labels, a name count that differs from the class
 * count), DOLOR_EUNSUPPORTED (more than one component), any status of
 * dolor_image_read, DOLOR_ENOMEM. */
dolor_status dolor_seg_eval_folders(const dolor_seg_folder_opts *opts, dolor_seg_eval **out);

#ifdef __cplusplus
}
#endif
#endif
