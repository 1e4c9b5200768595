/*
 * dolor/ml.h - classical models on feature tables: a random forest classifier
 * (Breiman, Machine Learning 2001) with CART trees, and stratified k-fold
 * splits by patient.
 *
 * Data: X is row-major [n, p] doubles (n samples, p features), y holds class
 * indices 0..n_classes-1. The forest follows scikit-learn's
 * RandomForestClassifier (criterion "gini", max_features "sqrt",
 * bootstrap = True): each tree is grown on a bootstrap sample (n draws with
 * replacement; a row drawn k times has weight k), every split looks at a
 * fresh random subset of max_features features (more when the drawn ones
 * are constant in the node, as scikit-learn), picks the threshold (midpoint
 * of two consecutive distinct values) that most lowers the weighted Gini
 * impurity, and nodes split until pure or below min_samples_split; a leaf
 * holds its weighted class fractions and the forest's probability is their
 * mean over trees.
 *
 * Threads and determinism: trees are grown in parallel (OpenMP); tree t
 * draws from its own generator seeded from (seed, t), so a forest is
 * bit-identical for a given seed whatever the thread count.
 */
#ifndef DOLOR_ML_H
#define DOLOR_ML_H

#include "dolor/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dolor_forest_params {
    int n_trees;           /* default 100 */
    int max_features;      /* features tried per split; 0 = floor(sqrt(p)) (at least 1) */
    int max_depth;         /* 0 = unlimited */
    int min_samples_split; /* default 2 (rows of the bootstrap sample, counted with their weights) */
    int min_samples_leaf;  /* default 1 */
    int bootstrap;         /* 1 = bootstrap samples (default); 0 = every tree sees every row once */
    uint64_t seed;         /* default 1 */
} dolor_forest_params;

/* scikit-learn's defaults: 100 trees, sqrt(p), unlimited depth, 2, 1, bootstrap, seed 1. */
void dolor_forest_params_default(dolor_forest_params *prm);

typedef struct dolor_forest dolor_forest;

/* Grow a forest. X [n, p] (finite values), y [n] in 0..n_classes-1,
 * n_classes >= 2. Also computes the out-of-bag class probabilities when
 * bootstrap is on (dolor_forest_oob).
 * Errors: DOLOR_EINVAL (n < 2, p < 1, a class index outside 0..n_classes-1
 * (names the row), bad parameter (names it)), DOLOR_ENUMERIC (NaN or Inf,
 * names row and column), DOLOR_ENOMEM. */
dolor_status dolor_forest_fit(const double *X, size_t n, int p, const int *y, int n_classes,
                              const dolor_forest_params *prm, dolor_forest **out);
void dolor_forest_free(dolor_forest *f); /* NULL-safe */

int dolor_forest_n_features(const dolor_forest *f);
int dolor_forest_n_classes(const dolor_forest *f);
int dolor_forest_n_trees(const dolor_forest *f);

/* Class probabilities proba [n, n_classes] for the rows of X [n, p] (p must
 * be the training p). Runs in parallel over rows.
 * Errors: DOLOR_ESHAPE (p differs), DOLOR_ENUMERIC (NaN/Inf, names row and column). */
dolor_status dolor_forest_predict_proba(const dolor_forest *f, const double *X, size_t n, int p, double *proba);

/* Out-of-bag results of the training rows: proba [n, n_classes] (NaN rows for
 * a row that was in every tree's sample) and the OOB error (fraction of rows
 * with at least one OOB tree whose argmax class is wrong; ties go to the
 * lower class index, as numpy.argmax). proba may be NULL.
 * Errors: DOLOR_EINVAL (forest fitted without bootstrap). */
dolor_status dolor_forest_oob(const dolor_forest *f, double *proba, double *error);

/* Mean decrease in impurity per feature (imp [p]), scikit-learn's
 * feature_importances_: per tree, the weighted Gini decrease of every split
 * summed per feature and normalised to sum 1; then averaged over trees and
 * normalised again. */
void dolor_forest_importance_impurity(const dolor_forest *f, double *imp);

/* Permutation importance (Breiman 2001; sklearn.inspection.permutation_importance
 * with scoring "accuracy"): for each feature, the drop in accuracy on (X, y)
 * when that column is shuffled, n_repeats times with a generator seeded from
 * (seed, feature); mean [p] and sd [p] (population SD over the repeats, may be
 * NULL). Errors: those of dolor_forest_predict_proba; DOLOR_EINVAL (y out of
 * range, n_repeats < 1). */
dolor_status dolor_forest_importance_permutation(const dolor_forest *f, const double *X, size_t n, int p,
                                                 const int *y, int n_repeats, uint64_t seed, double *mean,
                                                 double *sd);

/* Save as a text file (header "dolor-forest 1", then every node with
 * thresholds at 17 significant digits; reloads bit-identical), written to a
 * temporary file and renamed. Feature names (p strings, may be NULL) and
 * class names (n_classes strings, may be NULL) are stored with it.
 * Errors: DOLOR_EIO. */
dolor_status dolor_forest_save(const dolor_forest *f, const char *path, char *const *feature_names,
                               char *const *class_names);
/* Load; *feature_names and *class_names (NULL-terminated string arrays,
 * free each and the array; either pointer may be NULL) receive the names.
 * Errors: DOLOR_ENOTFOUND, DOLOR_EIO, DOLOR_EFORMAT (names the line). */
dolor_status dolor_forest_load(const char *path, dolor_forest **out, char ***feature_names, char ***class_names);

/* Stratified k-fold by patient (group): rows of one group always share a
 * fold; groups are dealt to folds class by class (each group's class is its
 * rows' majority class, ties to the lower index) after a seeded shuffle,
 * largest groups first, each to the fold with fewest rows of that class,
 * so that every fold keeps the class proportions (as scikit-learn's
 * StratifiedGroupKFold aims to). group [n] holds any integer ids (NULL:
 * every row its own group); fold [n] receives 0..k-1.
 * Errors: DOLOR_EINVAL (k < 2, more folds than groups of some class gives an
 * empty fold: names k and the group count). */
dolor_status dolor_stratified_group_kfold(const int *y, const int *group, size_t n, int n_classes, int k,
                                          uint64_t seed, int *fold);

#ifdef __cplusplus
}
#endif
#endif
