/* dolor study: run a whole study from one YAML config (study.h). */
#define _POSIX_C_SOURCE 200809L
#include "dolor/study.h"
#include "cli.h"

#include <stdio.h>
#include <string.h>

static void help(FILE *fp)
{
    fprintf(fp,
            "usage: dolor study run STUDY.yaml -o OUTDIR   train, test and tabulate every (model, fold) job\n"
            "       dolor study check STUDY.yaml           validate the config only\n"
            "       dolor study schema                     list the config keys\n\n"
            "Splits are by patient (dataset.patients CSV), stratified when dataset.stratum_column is given,\n"
            "seeded, and written to OUTDIR/splits.csv. OUTDIR then holds jobs/<model>/fold<k>/ (checkpoints,\n"
            "log.csv, test_eval/, test_pred/), per_case.csv, per_fold.csv, class_summary.csv, anova.csv,\n"
            "bonferroni.csv, methods.md, overlays/ and report.html (one self-contained file). Running the same command again skips finished jobs and resumes an unfinished one.\n"
            "Exit codes: 0 success, 1 runtime failure, 2 bad config or data.\n\nkeys:\n");
    dolor_study_schema_print(fp);
}

int dolor_cmd_study(int argc, char **argv)
{
    const char *cmd = "study";
    if (argc < 2) {
        help(stderr);
        return DOLOR_EXIT_INPUT;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        help(stdout);
        return DOLOR_EXIT_OK;
    }
    if (!strcmp(sub, "schema")) {
        dolor_study_schema_print(stdout);
        return DOLOR_EXIT_OK;
    }
    if (strcmp(sub, "run") && strcmp(sub, "check"))
        return dolor_cli_usage_error(cmd, "unknown action '%s' (run, check, schema)", sub);
    const char *cfgpath = NULL, *out = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) {
            if (i + 1 >= argc)
                return dolor_cli_usage_error(cmd, "%s needs a folder", argv[i]);
            out = argv[++i];
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            help(stdout);
            return DOLOR_EXIT_OK;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return dolor_cli_usage_error(cmd, "unknown option %s", argv[i]);
        } else if (!cfgpath) {
            cfgpath = argv[i];
        } else {
            return dolor_cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
        }
    }
    if (!cfgpath)
        return dolor_cli_usage_error(cmd, "give the study config: dolor study %s STUDY.yaml%s", sub,
                                     strcmp(sub, "run") ? "" : " -o OUTDIR");
    if (!strcmp(sub, "run") && !out)
        return dolor_cli_usage_error(cmd, "give an output folder with -o OUTDIR");
    dolor_study_config *cfg = NULL;
    dolor_status s = dolor_study_config_load(cfgpath, &cfg);
    if (s) {
        /* a missing config file is bad input, like every config error */
        if (s == DOLOR_EIO)
            return dolor_cli_fail(cmd, s);
        fprintf(stderr, "dolor %s: error: %s\n", cmd, dolor_errmsg());
        return DOLOR_EXIT_INPUT;
    }
    int rc = DOLOR_EXIT_OK;
    if (!strcmp(sub, "check")) {
        printf("%s: valid (%s, %d model%s, %s)\n", cfgpath, cfg->task, cfg->n_models, cfg->n_models > 1 ? "s" : "",
               cfg->split == DOLOR_STUDY_KFOLD ? "k-fold" : "hold-out");
    } else {
        double t0 = dolor_time_ms();
        s = dolor_study_run(cfg, out);
        if (s)
            rc = dolor_cli_fail(cmd, s);
        else
            printf("study %s done in %.1f s: %s/report.html, per_fold.csv, class_summary.csv, anova.csv, "
                   "bonferroni.csv, methods.md\n",
                   cfg->name, (dolor_time_ms() - t0) / 1000.0, out);
    }
    dolor_study_config_free(cfg);
    return rc;
}
