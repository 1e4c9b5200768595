/* Option tables shared by command-line parsing and JSON config files.
 * A config file {"epochs": 40, "classes": ["nerve", "vessel"], "augment": false}
 * is applied as if "--epochs 40 --classes nerve,vessel --no-augment" had been
 * given before the command-line options (which therefore override it).
 * Unknown keys, wrong JSON types and bad values are errors naming the file and key. */
#ifndef DOLOR_CLI_OPTS_H
#define DOLOR_CLI_OPTS_H

#include "cli.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>

typedef enum { OPT_STR, OPT_INT, OPT_NUM, OPT_LIST, OPT_FLAG } dolor_opt_type;

typedef struct dolor_opt_spec {
    const char *name;      /* long option name without "--", also the config key */
    int short_name;        /* 0 if none */
    dolor_opt_type type;
    const char *help;
    /* Operation metadata (libvips style), all optional: tables written as {"name", 'x', OPT_INT, "help"}
     * keep working, the fields below set with designated initializers, e.g.
     *   {"threads", 't', OPT_INT, "CPU threads", .metavar = "N", .def = "all cores", DOLOR_OPT_RANGE(1, 256)} */
    const char *metavar;   /* value name in help ("N", "DIR"); NULL: N, VALUE or A,B,... by type */
    const char *def;       /* default shown in help as "(default DEF)"; NULL: none shown */
    int has_range;         /* OPT_INT/OPT_NUM: the parser rejects values outside min..max */
    double min, max;       /* inclusive; -INFINITY / INFINITY leave a side open */
    const char *uses;      /* sub-commands that take it, comma-separated ("train,cv"); NULL: all of them */
    int bound;             /* 1: dolor_opt_bind stores the value at offset in the options struct */
    size_t offset;
} dolor_opt_spec;

/* .has_range = 1, .min = LO, .max = HI in a spec initializer. */
#define DOLOR_OPT_RANGE(lo, hi) .has_range = 1, .min = (lo), .max = (hi)

/* Bind the option to FIELD of the options struct TYPE (see dolor_opt_bind for the field's C type). */
#define DOLOR_OPT_AT(type, field) .bound = 1, .offset = offsetof(type, field)

/* Called for each option: value is the text (NULL for flags; for a flag given
 * in a config as false, value is "false"). Return DOLOR_OK or an error. */
typedef dolor_status (*dolor_opt_apply_fn)(void *ctx, const dolor_opt_spec *spec, const char *value);

/* Apply a JSON config file through the table. Errors: DOLOR_EIO,
 * DOLOR_EFORMAT (not JSON), DOLOR_EINVAL (unknown key, wrong type). */
dolor_status dolor_opts_apply_config(const char *path, const dolor_opt_spec *specs, int nspecs,
                                     dolor_opt_apply_fn apply, void *ctx);

/* The same for JSON text already in memory; name is used in messages. */
dolor_status dolor_opts_apply_json(const char *text, const char *name, const dolor_opt_spec *specs, int nspecs,
                                   dolor_opt_apply_fn apply, void *ctx);

/* Parse argv (argv[0] = command name) through the table; "--config FILE" is
 * applied first wherever it appears; "--help" prints help and sets *help = 1.
 * Positional arguments are returned in *pos (argv pointers, caller frees the
 * array) and *npos. Errors are already recorded (dolor_errmsg). */
dolor_status dolor_opts_parse(int argc, char **argv, const dolor_opt_spec *specs, int nspecs,
                              dolor_opt_apply_fn apply, void *ctx, int *help, char ***pos, int *npos);

/* Print "  --name VALUE   help" lines (with "(default DEF; LO..HI)" where the spec gives them). */
void dolor_opts_print_help(FILE *fp, const dolor_opt_spec *specs, int nspecs);

/* Check a value against its spec: an OPT_INT must be a whole integer, an OPT_NUM a finite number, and either
 * within min..max when has_range is set. Other types always pass. Errors (DOLOR_EINVAL) name the option
 * and the value: "--threads: 'abc' is not an integer", "--threads: 0 is outside 1..256". */
dolor_status dolor_opt_check_value(const dolor_opt_spec *spec, const char *value);

/* Store value in the field of ctx (the options struct) that spec is bound to with DOLOR_OPT_AT: OPT_STR and
 * OPT_LIST a char * (a copy, the old one freed; the caller frees the last), OPT_INT a long, OPT_NUM a double
 * (both checked as dolor_opt_check_value does), OPT_FLAG an int (1; 0 for --no-NAME or false in a config).
 * Serves as the apply function of a table whose options are all bound. Errors: DOLOR_EINVAL (spec not bound,
 * bad number), DOLOR_ENOMEM. */
dolor_status dolor_opt_bind(void *ctx, const dolor_opt_spec *spec, const char *value);

/* Replace *dst (freed) by a copy of v, for apply functions: a value from a --config file does not outlive the
 * call. Errors: DOLOR_ENOMEM. */
dolor_status dolor_opt_set_str(char **dst, const char *v);

/* ---- commands declared as tables (libvips' operation metadata: nickname, description, arguments) ---- */

/* One sub-command of a command that has several ("forest train", "study run"). */
typedef struct dolor_subcmd_desc {
    const char *name;      /* "train" */
    const char *usage;     /* after "usage: dolor CMD ": "TABLE.csv --label COL [options]" */
    const char *summary;   /* one line */
} dolor_subcmd_desc;

/* A command: its name, usage, a one-line summary, its options and, where it has them, its sub-commands
 * (the first positional argument, selecting which options apply: dolor_opt_spec.uses). */
typedef struct dolor_cmd_desc {
    const char *name;      /* "eval" */
    const char *summary;   /* one line, printed under the usage */
    const char *usage;     /* after "usage: dolor NAME ", e.g. "--pred DIR --truth DIR [options]"; with
                              sub-commands NULL (each sub-command's own usage is printed) */
    const dolor_opt_spec *specs;
    int nspecs;
    const char *details;   /* text printed after the options (may be NULL) */
    void (*more_help)(FILE *fp); /* called after details, for generated text (may be NULL) */
    const dolor_subcmd_desc *subs;
    int nsubs;
    int no_positionals;    /* 1: any argument that is not an option is an error ("unexpected argument 'x'") */
} dolor_cmd_desc;

/* .specs = TABLE, .nspecs = its length, in a dolor_cmd_desc initializer (TABLE must be an array). */
#define DOLOR_CMD_SPECS(table) .specs = (table), .nspecs = (int)(sizeof(table) / sizeof *(table))

/* Print the help of cmd, or of its sub-command sub (NULL: all of them): "usage: dolor NAME USAGE", the
 * summary, "options:" with the options that apply (value names, defaults, ranges, and --config and --help),
 * then details and more_help. */
void dolor_cmd_print_help(FILE *fp, const dolor_cmd_desc *cmd, const char *sub);

/* Parse argv (argv[0] = the command's name) as dolor_opts_parse does, with these additions:
 *  - every OPT_INT/OPT_NUM value is checked by dolor_opt_check_value before apply sees it;
 *  - an option not in the table is "--epochs is not an option of dolor eval (see dolor eval --help)";
 *  - with sub-commands, the first positional argument must name one (it is left in pos[0]; *sub receives its
 *    table entry, NULL when there are no sub-commands or on --help without one) and every option given (on the
 *    command line or in --config) must be used by it: "--folds is not an option of dolor forest predict (see
 *    dolor forest predict --help)". sub may be NULL when cmd has no sub-commands.
 * "--help" sets *help (the caller prints dolor_cmd_print_help). Errors are recorded (dolor_errmsg) and are
 * DOLOR_EINVAL for usage errors, as dolor_opts_parse. */
dolor_status dolor_cmd_parse(const dolor_cmd_desc *cmd, int argc, char **argv, dolor_opt_apply_fn apply, void *ctx,
                             int *help, char ***pos, int *npos, const dolor_subcmd_desc **sub);

/* The whole front end of a command: dolor_cmd_parse, then on --help the help on stdout (returns DOLOR_EXIT_OK),
 * on an error "dolor NAME[ SUB]: error: MESSAGE" on stderr (returns DOLOR_EXIT_INPUT; DOLOR_EXIT_FAIL when out
 * of memory). In both cases *pos is freed and NULL. Returns -1 when the command should go on (the caller then
 * frees *pos). */
int dolor_cmd_front(const dolor_cmd_desc *cmd, int argc, char **argv, dolor_opt_apply_fn apply, void *ctx,
                    char ***pos, int *npos, const dolor_subcmd_desc **sub);

#endif
