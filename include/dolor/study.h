/*
 * dolor/study.h - a whole study from one YAML config: patient-level splits,
 * training and evaluation of every (fold, model) job, and the study tables
 * (per fold, mean +/- SD, per class, one-way ANOVA with Bonferroni
 * comparisons), with methods.md stating which tests were used.
 *
 * Config (YAML, read with Debian's libyaml). Every key is declared once in a
 * schema table (src/study/config.c: key path, type, required, default, help;
 * dolor_study_schema_print() lists it). An unknown key, a missing required
 * key, a wrong type or an out-of-range value is DOLOR_EINVAL with the file
 * and the key's path, e.g.
 *   "study.yaml: split.folds: expected an integer, got \"five\"";
 * items of the model list are named models[0], models[1], ... Paths in the
 * config are relative to the config file's folder. Example:
 *
 *   study:   {name: phantom-quick, task: segmentation}
 *   dataset: {images: ph/images, masks: ph/masks, patients: ph/patients.csv,
 *             classes: [nerve, vessel], labels: [1, 2]}
 *   split:   {method: kfold, folds: 5, val_share: 0.2, seed: 42}
 *   models:  [{name: unet16, arch: unet, base: 16, depth: 4, size: 256, epochs: 40},
 *             {name: fastseg32, arch: fastseg, options: {width: 32}, size: 256, epochs: 40}]
 *   stats:   {sd: sample}
 *
 * Output folder (dolor_study_run):
 *   splits.csv                  fold,case,patient,stratum,set (set = train, val or test)
 *   jobs/<model>/fold<k>/       best/last.safetensors, log.csv of training; test_eval/ (per_case.csv,
 *                               summary.csv, confusion.csv of best.safetensors on the test fold at the
 *                               images' original size); test_pred/ (predicted label maps of the test cases,
 *                               palette PNG, or NIfTI for NIfTI images); job.txt (the settings the job was made with);
 *                               done.txt once the job is complete
 *   per_case.csv                model,fold,case,patient,class,iou,dice (every job's test cases)
 *   per_fold.csv, class_summary.csv, anova.csv, bonferroni.csv, methods.md  (dolor_study_tables)
 *   overlays/                   representative cases per model and class (IoU at the 90th, 75th, 50th, 25th,
 *                               10th percentile): reference | prediction overlay PNGs and index.csv
 *   report.html                 (dolor_study_report)
 * Every file is written to a temporary file and renamed, so a rerun of an
 * interrupted study skips the jobs with done.txt, resumes an unfinished one
 * from its last.safetensors (the training loop continues the seeded batch
 * sequence, see train.h) and recomputes the tables from the per-case files:
 * the tables equal those of an uninterrupted run.
 */
#ifndef DOLOR_STUDY_H
#define DOLOR_STUDY_H

#include "dolor/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DOLOR_STUDY_MAX_MODELS 16
#define DOLOR_STUDY_MAX_CLASSES 31 /* foreground classes */

typedef enum dolor_study_split_method {
    DOLOR_STUDY_KFOLD = 0,  /* k folds by patient; validation patients taken from each training fold */
    DOLOR_STUDY_HOLDOUT = 1 /* one train/validation/test split by patient in the ratios a:b:c */
} dolor_study_split_method;

/* One model to train in every fold: a U-Net, a ResNet-encoder U-Net or the fast segmenter (segmentation;
 * src/nn/arch/unet.c, resnet_unet.c, fastseg.c), a ResNet classifier (the registry's "resnet",
 * 2D or 3D) or a random forest on texture features (ml.h, radiomics.h) (classification). */
typedef struct dolor_study_model {
    char *name;        /* folder name under jobs/: letters, digits, '-', '_', '.' */
    char *arch;        /* segmentation: "unet", "resnet_unet" or "fastseg"; classification: "resnet" or "forest" */
    char *options;     /* resnet_unet, fastseg: registry options (nn.h) as a flat JSON object, or NULL */
    int base, depth;   /* U-Net: channels at level 0, number of downsamplings; ResNet: width, depth 10/18/34/50/101 */
    char *upsample;    /* "transposed" or "bilinear" */
    int size;          /* segmentation network input, square, pixels; U-Net: divisible by 2^depth */
    int epochs, batch, warmup;
    double lr, wd;
    char *schedule;    /* "cosine", "poly", "constant" */
    int augment;       /* 0/1 */
    int seed;          /* weights, batches and augmentation */
    int *shape;        /* ResNet input [H, W] (2D) or [D, H, W] (3D), n_shape entries */
    int n_shape;
    char *optimizer;   /* ResNet: "adamw" (default), "adam" or "sgd" */
    double momentum;   /* ResNet, SGD */
    int step_size;     /* ResNet, schedule "step": epochs between decays (factor 0.1) */
    int trees, max_features; /* forest: trees (300), features per split (0 = sqrt(p)) */
    int *levels, n_levels;   /* forest: GLCM grey-level counts (default 16, 32) */
    int *distances, n_distances; /* forest: GLCM distances (default 1, 2) */
    int firstorder, nakagami;    /* forest: first-order and Nakagami features too (default true) */
    unsigned long long given;    /* internal: bit k set when the k-th models[] key of the schema was in the file */
} dolor_study_model;

typedef struct dolor_study_config {
    char *path;        /* the YAML file as given */
    char *name, *task; /* study.name; study.task ("segmentation" or "classification") */
    int classification;/* task == "classification" */
    char *images, *masks;           /* segmentation: resolved against the config's folder */
    char *masks2;                   /* segmentation: a second annotator's masks (ICC), or NULL */
    char *csv;                      /* classification: CSV listing image, label, patient [, roi] */
    char *image_column, *label_column, *roi_column; /* classification: CSV columns (roi: box x0,y0,z0,x1,y1,z1) */
    char *patients;                 /* CSV stem -> patient [, stratum]; NULL: each image its own patient */
    char *stem_column, *patient_column, *stratum_column; /* stratum_column NULL or "" = not stratified */
    char **classes;    /* segmentation: [n_classes] foreground class names; classification: the 2 class names in order
                        * (negative, positive), NULL = the labels sorted (dolor_cls_dataset_open) */
    int n_classes;
    int *labels;       /* [n_classes] mask values; NULL = 1..n_classes */
    int n_labels;
    dolor_study_split_method split;
    int folds;         /* k-fold: k >= 2 */
    double val_share;  /* k-fold: share of each training fold's patients used for validation, (0, 0.5] */
    double *ratios;    /* hold-out: train:val:test, 3 positive integers */
    int n_ratios;
    int split_seed;
    dolor_study_model models[DOLOR_STUDY_MAX_MODELS];
    int n_models;
    int population_sd; /* stats.sd: "sample" (0, default) or "population" (1) */
    int include_background; /* stats.include_background: background as a class in the tables (default false) */
    double conf;       /* stats.conf: confidence level of every CI (0.95) */
    int ci_method;     /* stats.ci: dolor_ci_method of the binomial CIs (default Clopper-Pearson) */
    double threshold;  /* stats.threshold: probability at or above which a case is called positive (0.5) */
    int threads;       /* run.threads: 0 = all cores */
    int quiet;         /* run.quiet: no progress bars */
} dolor_study_config;

/* Read and validate a YAML study config against the schema, filling defaults
 * and resolving relative paths against the file's folder.
 * Errors: DOLOR_ENOTFOUND (no such file), DOLOR_EIO, DOLOR_EFORMAT (not YAML:
 * names the file, line and libyaml's problem), DOLOR_EINVAL (unknown key,
 * missing required key, wrong type, value out of range, classes/labels
 * counts differ, duplicate model names: names the file and the key path),
 * DOLOR_EUNSUPPORTED (a task that is declared but not built yet), DOLOR_ENOMEM. */
dolor_status dolor_study_config_load(const char *path, dolor_study_config **out);
void dolor_study_config_free(dolor_study_config *c); /* NULL-safe */

/* Print the schema: one line per key path with its type, required/default and help. */
void dolor_study_schema_print(FILE *fp);

/* ---- Patient-level splits ---- */
enum { DOLOR_SPLIT_TRAIN = 0, DOLOR_SPLIT_VAL = 1, DOLOR_SPLIT_TEST = 2 };

typedef struct dolor_study_split {
    size_t n;          /* cases (images), in the order given */
    int k;             /* jobs: folds (k-fold) or 1 (hold-out) */
    char **stem, **patient, **stratum; /* [n] each; stratum entries "" when not stratified */
    unsigned char *set;/* [k * n]: set[f * n + i] = DOLOR_SPLIT_TRAIN / VAL / TEST of case i in job f */
} dolor_study_split;

/* Split cases stems[n] by patient. Patients (and strata) come from cfg->patients
 * (columns cfg->stem_column, cfg->patient_column, cfg->stratum_column; a stem
 * may carry an image extension; rows naming no case are ignored), else every
 * case is its own patient.
 * k-fold: dolor_stratified_group_kfold (ml.h) deals patients to k test folds
 * (stratified by stratum when given, seeded by split_seed); in job f the
 * validation patients are, from the other folds' patients, test fold 0 of a
 * second stratified group k-fold with round(1 / val_share) folds (seed
 * split_seed + 1 + f); the rest train. Hold-out a:b:c (divided by their gcd):
 * one stratified group k-fold into a + b + c parts, the first a parts train,
 * the next b validation, the last c test.
 * No patient is ever in two sets of one job, nor in two test folds.
 * Errors (DOLOR_EINVAL, naming the file, row or key): a case without a row in
 * the CSV, a row with an empty patient ID (or stratum) ("patients.csv: line 7:
 * patient is empty"), a stem listed twice, fewer patients than folds
 * ("split.folds: 5 folds but only 3 patients"), too few patients for the
 * validation share, a stratum absent from a test fold ("split: stratum 'B' is
 * absent from test fold 2"), a missing column (DOLOR_ENOTFOUND).
 * Free with dolor_study_split_free. */
dolor_status dolor_study_split_make(const dolor_study_config *cfg, char *const *stems, size_t n,
                                    dolor_study_split **out);
void dolor_study_split_free(dolor_study_split *s); /* NULL-safe */
/* Write path: fold,case,patient,stratum,set, one row per job and case (fold 1-based), atomically.
 * Errors: DOLOR_EIO. */
dolor_status dolor_study_split_write(const dolor_study_split *s, const char *path);

/* ---- Tables ---- */
typedef struct dolor_study_table_opts {
    int population_sd;      /* 0: sample SD (n - 1), 1: population SD (n) */
    int include_background; /* 0: the first class (background) is left out of the tables */
    const char *config_path;/* named in methods.md (may be NULL) */
    const char *split_desc; /* one sentence on the split for methods.md (may be NULL) */
    double conf;            /* classification: confidence level of the CIs (0 = 0.95) */
    int ci_method;          /* classification: dolor_ci_method of the binomial CIs (0 = Wilson) */
    double threshold;       /* classification: called positive at prob >= threshold (0 = 0.5) */
} dolor_study_table_opts;

/* From a per-case CSV (columns model, fold, case, class, iou, dice; other
 * columns ignored; NA = undefined, e.g. a class absent from both truth and
 * prediction, left out of that metric) write into dir:
 *   per_fold.csv      model,fold,class,metric,n,value,sd_definition: per fold the mean of its cases' values
 *                     (n = cases), then for each model, class and metric the rows fold = "mean" and fold = "sd"
 *                     (mean and SD of the fold means, n = folds; SD sample or population as chosen, named in
 *                     sd_definition: "sample (n-1)" or "population (n)")
 *   class_summary.csv model,class,metric,n,n_undefined,mean,sd,sd_definition,ci95_lo,ci95_hi,median,p25,p75 over
 *                     the pooled out-of-fold cases (n_undefined: NA values left out); CI of the mean by the
 *                     t distribution (R t.test), quartiles R type 7
 *   anova.csv         model,metric,k,n,df_between,df_within,ss_between,ss_within,F,p: one-way ANOVA of the
 *                     per-case values on class (R summary(aov(y ~ class))); needs 2+ classes
 *   bonferroni.csv    model,metric,class_a,class_b,t,p_bonferroni: pairwise t tests with the pooled SD and
 *                     Bonferroni adjustment (R pairwise.t.test(y, class, p.adjust.method = "bonferroni"))
 *   methods.md        a paragraph naming these tests, the SD definition, the CI and the quantile type
 * Models, folds and classes keep their order of first appearance.
 * Errors: those of dolor_csv_read; DOLOR_ENOTFOUND (missing column); DOLOR_EFORMAT (a non-numeric value);
 * DOLOR_EIO. */
dolor_status dolor_study_tables(const char *per_case_csv, const dolor_study_table_opts *opts, const char *dir);

/* Classification tables from a per-case CSV (columns model, fold, case, label (0/1 truth, 1 = positive), prob
 * (probability of the positive class); other columns ignored) into dir. A case is called positive when
 * prob >= threshold. Pooled means: the out-of-fold test cases of every fold together.
 *   per_fold.csv    model,fold,metric,n,value,sd_definition: per fold sensitivity, specificity, PPV, NPV,
 *                   accuracy and AUC (n = cases, NA where undefined), then per model and metric the rows
 *                   fold = "mean" and fold = "sd" over the folds where the value is defined (n = those folds)
 *   cls_summary.csv model,metric,x,n,estimate,ci_lo,ci_hi,ci_method over the pooled cases: the five proportions
 *                   x / n with the binomial CI of opts->ci_method (stats.h dolor_prop_ci_compute: Clopper-Pearson
 *                   = R binom.test, Wilson = R prop.test(correct = FALSE)); the AUC (Mann-Whitney, ties 1/2) with
 *                   its DeLong CI (pROC ci.auc(method = "delong"); x = NA, n = cases); NA where undefined
 *                   (e.g. PPV with no case called positive)
 *   delong.csv      model_a,model_b,n,auc_a,auc_b,difference,z,p,p_bonferroni: the paired DeLong test of every
 *                   pair of models on the pooled cases, matched by case name (pROC roc.test(method = "delong",
 *                   paired = TRUE)); p_bonferroni = min(1, p x pairs). Written when 2+ models share their cases.
 *   roc.csv         model,threshold,sensitivity,specificity: the pooled ROC curve of each model (stats.h
 *                   dolor_roc_create, direction "<": a higher probability means positive)
 *   methods.md      a paragraph naming these definitions, the CI methods and the SD definition
 * Errors: those of dolor_csv_read; DOLOR_ENOTFOUND (missing column); DOLOR_EFORMAT (a label not 0/1, a
 * probability not a number in [0, 1], naming the row); DOLOR_EINVAL (a model whose cases differ from the first
 * model's, for the DeLong test: names both); DOLOR_EIO. */
dolor_status dolor_study_cls_tables(const char *per_case_csv, const dolor_study_table_opts *opts, const char *dir);

/* ICC(2,1) of per-case areas between a reference annotator, a second annotator and the model (segmentation
 * studies with dataset.masks2). areas_csv: columns model, case, class, area_ref, area_ann2, area_model (pixels);
 * writes dir/icc.csv: model,class,comparison,n,icc,ci_lo,ci_hi,F,df1,df2,p for the comparisons "annotator 1 vs
 * annotator 2", "annotator 1 vs model", "annotator 2 vs model": two-way random effects, absolute agreement,
 * single rater (Shrout & Fleiss 1979 ICC(2,1), McGraw & Wong 1996 ICC(A,1); stats.h dolor_icc_compute =
 * psych::ICC's ICC2 row) with its conf CI.
 * Errors: those of dolor_csv_read; DOLOR_ENOTFOUND (missing column); DOLOR_EFORMAT (not a number, names the row);
 * DOLOR_EIO. */
dolor_status dolor_study_icc_table(const char *areas_csv, double conf, const char *dir);

/* ---- Report ---- */
/* Write dir/report.html from the files of a study folder (per_case.csv, splits.csv, the tables, methods.md,
 * jobs/<model>/fold<k>/log.csv): one self-contained HTML file (no scripts, no external resources) with the data
 * and split summary, strip + box plots of per-case IoU and Dice per class and model (boxes P25-P75 (R type 7)
 * with the median, whiskers to the furthest case within 1.5 IQR, Tukey), the tables, training and validation
 * loss curves per fold, the representative-case grid of overlays/ (embedded as PNG data, when
 * overlays/index.csv exists), methods.md and the config file (config_path, may be NULL). Figures are inline SVG drawn
 * by this module (a few lines per figure; no plotting library needed). title: the page title.
 * Errors: those of dolor_csv_read for per_case.csv and splits.csv; DOLOR_EIO. */
dolor_status dolor_study_report(const char *dir, const char *config_path, const char *title);

/* ---- The whole study ---- */
/* Run cfg into out_dir (created): split (splits.csv), then every (model,
 * fold) job: train (dolor_train_run) on the job's training cases, validate
 * every epoch on its validation cases (best.safetensors = best mean
 * foreground validation Dice), segment the test cases with
 * best.safetensors at their original size and evaluate them (eval.h); then
 * per_case.csv, dolor_study_tables, the overlays and dolor_study_report. Jobs with jobs/<model>/fold<k>/done.txt
 * are skipped; a job with last.safetensors but no done.txt resumes from it.
 * Progress (job, epoch, ETA) goes to stderr.
 * Errors: those of the split, dataset, training and tables; DOLOR_EINVAL
 * (a foreground class absent from every mask of a test fold: names the
 * class and the fold; a size not divisible by 2^depth: names the model). */
dolor_status dolor_study_run(const dolor_study_config *cfg, const char *out_dir);

#ifdef __cplusplus
}
#endif
#endif
