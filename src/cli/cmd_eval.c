/* dolor eval: compare predicted label maps with ground truth. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dolor/eval.h"

static void eval_usage(FILE *fp)
{
    fprintf(fp,
            "usage: dolor eval --pred DIR --truth DIR [--classes NAMES] [--labels VALUES] [-o OUTDIR]\n"
            "\n"
            "Compare predicted label maps with ground truth, case by case and class by class:\n"
            "Dice (DSC), IoU (Jaccard), precision (PPV), recall (sensitivity), specificity, accuracy,\n"
            "HD95 and ASSD in mm (MONAI definitions; spacing from the truth file, 1 mm per pixel for a\n"
            "PNG without a pixel size), with mean +/- SD and median [P25, P75] per class and the pixel\n"
            "confusion matrix.\n"
            "\n"
            "Files are matched by stem: truth/case7.png goes with pred/case7.png or pred/case7.nii.gz.\n"
            "Label maps: .png (palette or grey), .nii, .nii.gz, .mha, .mhd; other files are ignored.\n"
            "\n"
            "options:\n"
            "  --pred DIR         predicted label maps\n"
            "  --truth DIR        ground-truth label maps\n"
            "  --labels 1,2       label values of the foreground classes (default: every non-zero\n"
            "                     value found in the files, in increasing order); values not listed\n"
            "                     count as background\n"
            "  --classes a,b      names of those classes (default: class<value>), e.g. nerve,vessel;\n"
            "                     without --labels the classes are the values 1, 2, ...\n"
            "  -o, --out OUTDIR   where per_case.csv, summary.csv and confusion.csv go\n"
            "                     (default: PRED/eval, a folder inside the prediction folder)\n"
            "  --allow-missing    skip truth files without a prediction (warning) instead of failing\n"
            "  -q, --quiet        do not print the table\n"
            "  -h, --help         this help\n"
            "\n"
            "Empty cases follow nnU-Net: a class absent from both truth and prediction has no Dice/IoU\n"
            "(excluded from the mean, counted as 'empty'); absent from the truth but predicted gives 0.\n"
            "A prediction without ground truth is ignored with a warning.\n"
            "\n"
            "exit codes: 0 success, 1 runtime failure (I/O), 2 bad input (options, missing\n"
            "predictions, size mismatch, malformed files)\n");
}

int dolor_cmd_eval(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"pred", required_argument, NULL, 'p'},     {"truth", required_argument, NULL, 't'},
        {"classes", required_argument, NULL, 'c'},  {"labels", required_argument, NULL, 'l'},
        {"out", required_argument, NULL, 'o'},      {"allow-missing", no_argument, NULL, 'm'},
        {"quiet", no_argument, NULL, 'q'},          {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "eval";
    const char *pred = NULL, *truth = NULL, *outdir = NULL, *classes = NULL, *labels_s = NULL;
    int allow_missing = 0, quiet = 0;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":o:qh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'p': pred = optarg; break;
        case 't': truth = optarg; break;
        case 'c': classes = optarg; break;
        case 'l': labels_s = optarg; break;
        case 'o': outdir = optarg; break;
        case 'm': allow_missing = 1; break;
        case 'q': quiet = 1; break;
        case 'h': eval_usage(stdout); return DOLOR_EXIT_OK;
        case ':': return dolor_cli_usage_error(cmd, "option %s needs a value", argv[optind - 1]);
        default: return dolor_cli_usage_error(cmd, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return dolor_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!pred || !truth)
        return dolor_cli_usage_error(cmd, "--pred and --truth are required");
    if (!dolor_cli_is_dir(pred))
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
