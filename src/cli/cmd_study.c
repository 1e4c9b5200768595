/* dolor study: run a whole study from one YAML config (study.h). */
#define _POSIX_C_SOURCE 200809L
#include "dolor/dist.h"
#include "dolor/study.h"
#include "opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *out;
} study_opts;

static const dolor_opt_spec specs[] = {
    {"out", 'o', OPT_STR, "output folder (jobs/, tables, methods.md, report.html)", .metavar = "OUTDIR",
     .uses = "run", DOLOR_OPT_AT(study_opts, out)},
};

static const dolor_subcmd_desc subs[] = {
    {"run", "STUDY.yaml -o OUTDIR", "train, test and tabulate every (model, fold) job"},
    {"check", "STUDY.yaml", "validate the config only"},
    {"schema", "", "list the config keys"},
};

static void schema_help(FILE *fp)
{
    fprintf(fp, "\nkeys:\n");
    dolor_study_schema_print(fp);
}

static const dolor_cmd_desc study_cmd = {
    .name = "study",
    .summary = "Run a whole study from one YAML config. Splits are by patient (dataset.patients CSV), stratified\n"
               "when dataset.stratum_column is given, seeded, and written to OUTDIR/splits.csv. OUTDIR then holds\n"
               "jobs/<model>/fold<k>/ (checkpoints, log.csv, test_eval/, test_pred/), per_case.csv, per_fold.csv,\n"
               "class_summary.csv, anova.csv, bonferroni.csv, methods.md, overlays/ and report.html (one\n"
               "self-contained file). Running the same command again skips finished jobs and resumes an\n"
               "unfinished one.",
    DOLOR_CMD_SPECS(specs),
    .details = "Exit codes: 0 success, 1 runtime failure, 2 bad config or data.\n",
    .more_help = schema_help,
    .subs = subs,
    .nsubs = (int)(sizeof subs / sizeof *subs),
};

static int study_run(const char *sub, const char *cfgpath, const char *out);

int dolor_cmd_study(int argc, char **argv)
{
    const char *cmd = "study";
    study_opts o = {NULL};
    char **pos = NULL;
    int npos = 0;
    const dolor_subcmd_desc *sub = NULL;
    /* "dolor study help" as "dolor study --help" */
    if (argc == 2 && !strcmp(argv[1], "help")) {
        dolor_cmd_print_help(stdout, &study_cmd, NULL);
        return DOLOR_EXIT_OK;
    }
    int rc = dolor_cmd_front(&study_cmd, argc, argv, dolor_opt_bind, &o, &pos, &npos, &sub);
    const char *out = o.out;
    if (rc >= 0) {
        free(o.out);
        return rc;
    }
    if (!strcmp(sub->name, "schema")) {
        rc = npos > 1 ? dolor_cli_usage_error(cmd, "unexpected argument '%s'", pos[1]) : DOLOR_EXIT_OK;
        if (!rc)
            dolor_study_schema_print(stdout);
    } else if (npos < 2) {
        rc = dolor_cli_usage_error(cmd, "give the study config: dolor study %s STUDY.yaml%s", sub->name,
                                   strcmp(sub->name, "run") ? "" : " -o OUTDIR");
    } else if (npos > 2) {
        rc = dolor_cli_usage_error(cmd, "unexpected argument '%s'", pos[2]);
    } else if (!strcmp(sub->name, "run") && !out) {
        rc = dolor_cli_usage_error(cmd, "give an output folder with -o OUTDIR");
    } else {
        rc = study_run(sub->name, pos[1], out);
    }
    free(pos);
    free(o.out);
    return rc;
}

static int study_run(const char *sub, const char *cfgpath, const char *out)
{
    const char *cmd = "study";
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
        else if (dolor_dist_rank() == 0) /* under mpirun: rank 0 wrote the tables */
            printf("study %s done in %.1f s: %s/report.html, per_fold.csv, %s, methods.md\n", cfg->name,
                   (dolor_time_ms() - t0) / 1000.0, out,
                   cfg->classification ? "cls_summary.csv, delong.csv, roc.csv"
                                       : cfg->masks2 ? "class_summary.csv, anova.csv, bonferroni.csv, icc.csv"
                                                     : "class_summary.csv, anova.csv, bonferroni.csv");
    }
    dolor_study_config_free(cfg);
    return rc;
}
