/* dolor eval's study-style evaluations (src/cli/eval_study.c). */
#ifndef DOLOR_CLI_EVAL_STUDY_H
#define DOLOR_CLI_EVAL_STUDY_H
#include "cli.h"

typedef struct dolor_eval_probs_args {
    const char *probs, *truth, *out;   /* probability volumes (predict --probs), truth label maps, output folder */
    const long *labels;                /* truth values of the foreground classes (NULL: 1..K-1) */
    int nlabels;
    char **names;                      /* foreground class names (NULL: class<c>) */
    int nnames;
    long truth_threshold;              /* > 0: truth (first component) >= threshold is class 1 (lossy JPEG masks) */
    int quiet;
} dolor_eval_probs_args;

/* Run the evaluation and print/write it; returns the exit code. */
int dolor_cli_eval_probs(const dolor_eval_probs_args *a);
typedef struct dolor_eval_readers_args {
    const char *readers;               /* "senior=DIR,junior=DIR,model=DIR" */
    const char *truth, *out;
    const long *labels;
    int nlabels;
    char **names;
    int nnames;
    int quiet;
} dolor_eval_readers_args;

/* Man-machine comparison: each reader's per-image IoU/DSC per class against the truth, then per class and
 * metric over the images where every reader's value is defined: Friedman test, repeated-measures ANOVA and
 * Bonferroni-adjusted paired Wilcoxon signed rank tests between readers. Returns the exit code. */
int dolor_cli_eval_readers(const dolor_eval_readers_args *a);
#endif
