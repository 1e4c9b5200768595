/* Private to the `dolor stats` subcommands (src/cli/cmd_stats.c and src/cli/stats_*.c).
 *
 * `dolor stats` is a table of subcommands (cmd_stats.c), each a stats_cmd: name, topic, usage, summary, its
 * options in the opts.h table style and a run function. cmd_stats.c parses argv through the subcommand's own
 * table (dolor_opts_parse), so an option the subcommand does not declare is an error (exit 2) naming the option
 * and the subcommand; it prints the subcommand's --help from the same table, and it owns the output: run
 * functions print R-style text to c->fp (a memory buffer) and record their results with the out_* calls; after
 * run returns successfully the buffer (text) or the records (--format csv|json) go to stdout or to --out FILE
 * (temporary file + rename). Nothing is written when run fails, so stdout never holds half a result. */
#ifndef DOLOR_CLI_STATS_H
#define DOLOR_CLI_STATS_H

#include <stdio.h>

#include "cli.h"
#include "dolor/stats.h"
#include "opts.h"

typedef enum { STATS_TEXT = 0, STATS_CSV, STATS_JSON, STATS_MARKDOWN } stats_format;

typedef struct stats_ctx stats_ctx;

typedef struct stats_cmd {
    const char *name;    /* "fisher" */
    const char *topic;   /* "contingency tables", ... (dolor stats --help groups by it) */
    const char *usage;   /* after "usage: dolor stats NAME " */
    const char *summary; /* one line: what it computes and the R function it matches */
    const char *details; /* more help text (may be NULL) */
    const dolor_opt_spec *opts;
    int nopts;
    int npos_min, npos_max; /* positional arguments (the CSV file, score's TYPE) */
    int formats;            /* bit mask of the stats_format values accepted besides text (1 << STATS_CSV ...) */
    int (*run)(stats_ctx *c);
} stats_cmd;

#define STATS_MAX_OPTS 40
#define STATS_MAX_REPEAT 256

struct stats_ctx {
    const stats_cmd *cmd;
    char name[64];           /* "stats fisher", for messages */
    char **pos;              /* positional arguments */
    int npos;
    const char *file;        /* pos[0] or NULL */
    const char *val[STATS_MAX_OPTS]; /* given value by index in cmd->opts; flags "1" / "0" (--no-NAME) */
    const char *rep[STATS_MAX_REPEAT]; /* values of the repeatable options (--label, --change), in order */
    int rep_opt[STATS_MAX_REPEAT];     /* their option index */
    int nrep;
    stats_format format;
    int digits;              /* --digits, or 0 (defaults: 4 significant digits for p, 5 for estimates; 17 in csv/json) */
    FILE *fp;                /* text output (memory buffer) */
    char *buf;
    size_t buflen;
    struct stats_records *rec; /* csv/json records and warnings */
    char **owned;            /* copies of the option values (a --config value does not outlive its parse) */
    int nowned;
};

/* ---- the subcommands, one descriptor each (defined in the topic files) ---- */
extern const stats_cmd stats_cmd_describe, stats_cmd_shapiro;                           /* stats_descriptive.c */
extern const stats_cmd stats_cmd_ttest, stats_cmd_mannwhitney, stats_cmd_wilcoxon, stats_cmd_levene,
    stats_cmd_anova, stats_cmd_kruskal, stats_cmd_pairwise, stats_cmd_cor;              /* stats_tests.c */
extern const stats_cmd stats_cmd_chisq, stats_cmd_fisher;                               /* stats_contingency.c */
extern const stats_cmd stats_cmd_kappa, stats_cmd_icc;                                  /* stats_agreement.c */
extern const stats_cmd stats_cmd_diag, stats_cmd_roc, stats_cmd_delong;                 /* stats_diagnostic.c */
extern const stats_cmd stats_cmd_samplesize, stats_cmd_randomise;                       /* stats_planning.c */
extern const stats_cmd stats_cmd_table;                                                 /* stats_table1.c */
extern const stats_cmd stats_cmd_score;                                                 /* stats_scores.c */
extern const stats_cmd stats_cmd_friedman, stats_cmd_rmanova;                           /* stats_repeated.c */

/* ---- options shared by many subcommands (designated initializers, so opts.h may grow fields) ---- */
#define STATS_OPT_FORMAT                                                                                      \
    {.name = "format", .type = OPT_STR, .metavar = "text|csv|json", .def = "text",                           \
     .help = "text as R prints it, or csv / json for machines"}
#define STATS_OPT_DIGITS                                                                                      \
    {.name = "digits", .type = OPT_INT, DOLOR_OPT_RANGE(1, 17),                                               \
     .help = "significant digits of p-values and estimates (text: 4 for p, 5 for estimates; csv/json: 17)"}
#define STATS_OPT_OUT                                                                                         \
    {.name = "out", .short_name = 'o', .type = OPT_STR, .metavar = "FILE",                                    \
     .help = "write the output to FILE (temporary file + rename) instead of stdout"}
#define STATS_OPT_CONF                                                                                        \
    {.name = "conf", .type = OPT_NUM, .metavar = "LEVEL", .def = "0.95", .help = "confidence level, 0 < conf < 1"}
#define STATS_OPT_COL(what) {.name = "col", .type = OPT_STR, .metavar = "COL", .help = what}
#define STATS_OPT_BY {.name = "by", .type = OPT_STR, .metavar = "COL", .help = "group column"}
#define STATS_OPT_REF_GROUP                                                                                   \
    {.name = "ref-group", .type = OPT_STR, .metavar = "NAME",                                                 \
     .help = "group that comes first (x in R; W and one-sided p refer to it); default: R's factor order"}
#define STATS_OPT_LEVELS                                                                                      \
    {.name = "levels", .type = OPT_LIST, .metavar = "A,B",                                                    \
     .help = "the groups to compare, in this order (rows of other groups are left out)"}
#define STATS_OUTPUT_OPTS STATS_OPT_FORMAT, STATS_OPT_DIGITS, STATS_OPT_OUT
#define STATS_FORMATS ((1 << STATS_CSV) | (1 << STATS_JSON))

/* ---- option values (run functions call these; errors are recorded and the status returned) ---- */
/* The text of option NAME, or NULL when not given. NAME must be in the subcommand's table (checked). */
const char *stats_str(const stats_ctx *c, const char *name);
/* 1/0 if the flag was given as --NAME / --no-NAME, else def. */
int stats_flag(const stats_ctx *c, const char *name, int def);
/* Number in lo..hi (open bounds when lo_open / hi_open) or def when not given. Error names the option:
 * "--power: 1 must be below 1 (0 < power < 1)". */
dolor_status stats_num(const stats_ctx *c, const char *name, double def, double lo, double hi, int lo_open,
                       int hi_open, double *out);
dolor_status stats_long(const stats_ctx *c, const char *name, long def, long lo, long hi, long *out);
/* --conf in (0, 1), default 0.95 */
dolor_status stats_conf(const stats_ctx *c, double *conf);
/* An error naming the first of the options (NULL-terminated names) that was given although the mode the
 * other options chose does not use it: "--by is not used with --paired". NULL names: DOLOR_OK. */
dolor_status stats_reject(const stats_ctx *c, const char *mode, ...);
/* The values of a repeatable option (--label, --change) in order; returns their count. */
int stats_repeated(const stats_ctx *c, const char *name, const char **out, int cap);

/* ---- formatting as R prints (digits from --digits) ---- */
const char *fmt_est(double v); /* %.5g; NA, Inf, -Inf */
const char *fmt_p(double p);   /* %.4g; "< 2.2e-16" below R's eps */
/* Numbers of the fixed-layout tables (kappa, icc, diag, roc, samplesize): "%.*f" with `decimals`, or "%.*g"
 * with `sig` significant digits; --digits N replaces both by N significant digits. */
const char *fmt_fixed(double v, int decimals);
const char *fmt_sig(double v, int sig);
void stats_print_one_sided(stats_ctx *c, const dolor_test_result *r);

/* ---- records for --format csv|json: one record per row of results ---- */
void out_record(stats_ctx *c);                               /* start a new record (row) */
void out_num(stats_ctx *c, const char *key, double v);       /* estimate (NaN -> null / empty) */
void out_pval(stats_ctx *c, const char *key, double p);      /* p-value */
void out_int(stats_ctx *c, const char *key, long v);
void out_str(stats_ctx *c, const char *key, const char *s);
/* Every defined field of a test result (method, statistic, df, df2, p, p_less, p_greater, estimate, ci_lo,
 * ci_hi, se, z, sigma, exact, n) into the current record. */
void out_test(stats_ctx *c, const dolor_test_result *r);
/* A warning where R warns: printed at once to stderr as "dolor stats NAME: warning: ..." and kept for the
 * JSON ("warnings": [...]). */
void out_warn(stats_ctx *c, const char *fmt, ...) DOLOR_PRINTF(2, 3);

/* ---- data access shared by the subcommands on a CSV ---- */
typedef struct {
    dolor_csv *csv;
    char **glev; /* group levels in the order used (after --levels / --ref-group) */
    int k;
    int *gcode;  /* [nrow] group index or -1 (missing or a group left out by --levels) */
} stats_data;

void stats_data_free(stats_data *d);
/* Read c->file; with need_by the --by column as groups, ordered by --levels / --ref-group when the subcommand
 * has them. */
dolor_status stats_load(const stats_ctx *c, stats_data *d, int need_by);
/* Non-missing values of col with a group: y[n], g[n], cnt[k]; each group must hold a value. */
dolor_status stats_grouped(const stats_data *d, const char *col, double **y, int **g, size_t *n, size_t **cnt,
                           int min_groups);
/* The two groups' values (exactly 2 groups). */
dolor_status stats_two_groups(const stats_data *d, const char *col, double **a, size_t *na, double **b,
                              size_t *nb);
/* Complete pairs of two numeric columns. */
dolor_status stats_pairs(const stats_data *d, const char *ca, const char *cb, double **a, double **b, size_t *n);
/* A numeric column with every cell required (blank / NA is an error naming the row). */
dolor_status stats_column_complete(const dolor_csv *t, const char *name, double **out);
/* Free d (may be NULL) and return the exit code for s (printing the error). */
int stats_done(stats_ctx *c, dolor_status s, stats_data *d);
/* "column 'X': " in front of an error unless the message already names the column. */
dolor_status stats_prefix_column(dolor_status s, const char *col);

#endif
