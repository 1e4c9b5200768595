/* dolor eval: compare predicted label maps with ground truth. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "eval_study.h"
#include "opts.h"
#include "dolor/eval.h"

typedef struct {
    char *pred, *truth, *outdir, *classes, *labels, *probs, *readers;
    long truth_threshold;
    int allow_missing, quiet;
} eval_opts;

static const dolor_opt_spec specs[] = {
    {"pred", 0, OPT_STR, "predicted label maps", .metavar = "DIR", DOLOR_OPT_AT(eval_opts, pred)},
    {"truth", 0, OPT_STR, "ground-truth label maps", .metavar = "DIR", DOLOR_OPT_AT(eval_opts, truth)},
    {"labels", 0, OPT_LIST, "label values of the foreground classes; values not listed count as background",
     .metavar = "1,2", .def = "every non-zero value found in the files, in increasing order",
     DOLOR_OPT_AT(eval_opts, labels)},
    {"classes", 0, OPT_LIST, "names of those classes, e.g. nerve,vessel; without --labels the classes are the "
     "values 1, 2, ...", .metavar = "a,b", .def = "class<value>", DOLOR_OPT_AT(eval_opts, classes)},
    {"out", 'o', OPT_STR, "where per_case.csv, summary.csv and confusion.csv go", .metavar = "OUTDIR",
     .def = "PRED/eval, a folder inside the prediction folder", DOLOR_OPT_AT(eval_opts, outdir)},
    {"allow-missing", 0, OPT_FLAG, "skip truth files without a prediction (warning) instead of failing",
     DOLOR_OPT_AT(eval_opts, allow_missing)},
    {"quiet", 'q', OPT_FLAG, "do not print the table", DOLOR_OPT_AT(eval_opts, quiet)},
    {"probs", 0, OPT_STR, "class probabilities from dolor predict --probs (OUT/probs): predictions are their argmax, "
     "and per-class pixel ROC/AUC, confusion row percentages and SVGs are added (--pred is not used)", .metavar = "DIR",
     DOLOR_OPT_AT(eval_opts, probs)},
    {"readers", 0, OPT_STR, "man-machine comparison: label maps of several readers of the same images, e.g. "
     "senior=DIR,junior=DIR,model=DIR: per-image IoU/DSC, Friedman test, repeated-measures ANOVA, Bonferroni "
     "Wilcoxon signed rank post hoc (--pred is not used)", .metavar = "NAME=DIR,...", DOLOR_OPT_AT(eval_opts, readers)},
    {"truth-threshold", 0, OPT_INT, "with --probs: truth value >= N is the foreground class (lossy JPEG masks; "
     "Kvasir-SEG: 128)", .def = "off", DOLOR_OPT_RANGE(1, 65535), DOLOR_OPT_AT(eval_opts, truth_threshold)},
};

static const dolor_cmd_desc eval_cmd = {
    .name = "eval",
    .usage = "--pred DIR | --probs DIR  --truth DIR [--classes NAMES] [--labels VALUES] [-o OUTDIR]",
    .summary = "Compare predicted label maps with ground truth, case by case and class by class:\n"
               "Dice (DSC), IoU (Jaccard), precision (PPV), recall (sensitivity), specificity, accuracy,\n"
               "HD95 and ASSD (MONAI definitions) in mm with the truth file's spacing, or in pixels (px:\n"
               "columns hd95_px, assd_px) when the truth files give no pixel size (a PNG without pHYs),\n"
               "with mean +/- SD and median [P25, P75] per class and the pixel confusion matrix.\n"
               "\n"
               "Files are matched by stem: truth/case7.png goes with pred/case7.png or pred/case7.nii.gz.\n"
               "Label maps: .png (palette or grey), .nii, .nii.gz, .mha, .mhd; other files are ignored.",
    DOLOR_CMD_SPECS(specs),
    .no_positionals = 1,
    .details = "Empty cases follow nnU-Net: a class absent from both truth and prediction has no Dice/IoU\n"
               "(excluded from the mean, counted as 'empty'); absent from the truth but predicted gives 0.\n"
               "A prediction without ground truth is ignored with a warning.\n"
               "\n"
               "exit codes: 0 success, 1 runtime failure (I/O), 2 bad input (options, missing\n"
               "predictions, size mismatch, malformed files)\n",
};

static int eval_run(const eval_opts *eo);

int dolor_cmd_eval(int argc, char **argv)
{
    eval_opts eo = {0};
    char **pos = NULL;
    int npos = 0;
    int rc = dolor_cmd_front(&eval_cmd, argc, argv, dolor_opt_bind, &eo, &pos, &npos, NULL);
    if (rc < 0)
        rc = eval_run(&eo);
    free(pos);
    free(eo.pred);
    free(eo.truth);
    free(eo.outdir);
    free(eo.classes);
    free(eo.labels);
    free(eo.probs);
    free(eo.readers);
    return rc;
}

static int eval_run(const eval_opts *eo)
{
    const char *cmd = "eval";
    const char *pred = eo->pred, *truth = eo->truth, *outdir = eo->outdir, *classes = eo->classes,
               *labels_s = eo->labels;
    int allow_missing = eo->allow_missing, quiet = eo->quiet;
    if (eo->readers && (pred || eo->probs))
        return dolor_cli_usage_error(cmd, "--readers compares readers' folders: give it without --pred and --probs");
    if (eo->probs && pred)
        return dolor_cli_usage_error(cmd, "--probs evaluates the argmax of the probabilities: give --pred or --probs");
    if (eo->truth_threshold && !eo->probs)
        return dolor_cli_usage_error(cmd, "--truth-threshold is used with --probs");
    if (!(pred || eo->probs || eo->readers) || !truth)
        return dolor_cli_usage_error(cmd, "--pred (or --probs, --readers) and --truth are required");
    if (pred && !dolor_cli_is_dir(pred))
        return dolor_cli_usage_error(cmd, "--pred: '%s' is not a directory", pred);
    if (!dolor_cli_is_dir(truth))
        return dolor_cli_usage_error(cmd, "--truth: '%s' is not a directory", truth);

    char **names = NULL, **lab = NULL;
    int nnames = 0, nlab = 0, rc = DOLOR_EXIT_OK;
    long *labels = NULL;
    char *outbuf = NULL;
    dolor_seg_eval *ev = NULL;
    dolor_status s;
    if (classes && (s = dolor_cli_split_list("--classes", classes, &names, &nnames))) {
        rc = dolor_cli_fail(cmd, s);
        goto done;
    }
    if (labels_s) {
        if ((s = dolor_cli_split_list("--labels", labels_s, &lab, &nlab))) {
            rc = dolor_cli_fail(cmd, s);
            goto done;
        }
        labels = calloc((size_t)nlab, sizeof *labels);
        if (!labels) {
            rc = dolor_cli_fail(cmd, dolor_error(DOLOR_ENOMEM, "out of memory"));
            goto done;
        }
        for (int i = 0; i < nlab; i++) {
            if ((s = dolor_cli_parse_int("--labels", lab[i], 1, 2147483647L, &labels[i]))) {
                rc = dolor_cli_fail(cmd, s);
                goto done;
            }
        }
    }
    if (labels && names && nnames != nlab) {
        rc = dolor_cli_usage_error(cmd, "--classes has %d names but --labels has %d values", nnames, nlab);
        goto done;
    }
    if (!labels && names) {
        /* names without values: classes 1..n */
        nlab = nnames;
        labels = calloc((size_t)nlab, sizeof *labels);
        if (!labels) {
            rc = dolor_cli_fail(cmd, dolor_error(DOLOR_ENOMEM, "out of memory"));
            goto done;
        }
        for (int i = 0; i < nlab; i++)
            labels[i] = i + 1;
    }
    if (eo->readers) {
        dolor_eval_readers_args ra = {.readers = eo->readers, .truth = truth, .out = outdir ? outdir : "readers_eval",
                                      .labels = labels, .nlabels = nlab, .names = names, .nnames = nnames,
                                      .quiet = quiet};
        rc = dolor_cli_eval_readers(&ra);
        goto done;
    }
    if (eo->probs) {
        size_t n = strlen(eo->probs) + 8;
        if (!outdir && (outbuf = malloc(n)))
            snprintf(outbuf, n, "%s/eval", eo->probs);
        dolor_eval_probs_args pa = {.probs = eo->probs, .truth = truth, .out = outdir ? outdir : outbuf,
                                    .labels = labels, .nlabels = nlab, .names = names, .nnames = nnames,
                                    .truth_threshold = eo->truth_threshold, .quiet = quiet};
        rc = pa.out ? dolor_cli_eval_probs(&pa) : dolor_cli_fail(cmd, dolor_error(DOLOR_ENOMEM, "out of memory"));
        goto done;
    }
    dolor_seg_folder_opts o = {0};
    o.pred_dir = pred;
    o.truth_dir = truth;
    o.labels = labels;
    o.nlabels = nlab;
    o.class_names = (const char *const *)names;
    o.nnames = nnames;
    o.allow_missing = allow_missing;
    o.warn = stderr;
    if ((s = dolor_seg_eval_folders(&o, &ev))) {
        rc = dolor_cli_fail(cmd, s);
        goto done;
    }
    if (!outdir) {
        size_t n = strlen(pred) + 8;
        outbuf = malloc(n);
        if (!outbuf) {
            rc = dolor_cli_fail(cmd, dolor_error(DOLOR_ENOMEM, "out of memory"));
            goto done;
        }
        snprintf(outbuf, n, "%s/eval", pred);
        outdir = outbuf;
    }
    if (!quiet)
        dolor_seg_eval_print(ev, stdout);
    if (dolor_outfile_clean_stale(outdir) > 0)
        fprintf(stderr, "removed temporary files left in %s by an interrupted run\n", outdir);
    if ((s = dolor_seg_eval_write_csv(ev, outdir))) {
        rc = dolor_cli_fail(cmd, s);
        goto done;
    }
    if (!quiet)
        printf("\nwrote %s/per_case.csv, summary.csv, confusion.csv\n", outdir);

done:
    dolor_seg_eval_free(ev);
    dolor_cli_free_list(names);
    dolor_cli_free_list(lab);
    free(labels);
    free(outbuf);
    return rc;
}
