/* Option tables shared by command-line parsing and JSON config files.
 * A config file {"epochs": 40, "classes": ["nerve", "vessel"], "augment": false}
 * is applied as if "--epochs 40 --classes nerve,vessel --no-augment" had been
 * given before the command-line options (which therefore override it).
 * Unknown keys, wrong JSON types and bad values are errors naming the file and key. */
#ifndef DOLOR_CLI_OPTS_H
#define DOLOR_CLI_OPTS_H

#include "cli.h"

typedef enum { OPT_STR, OPT_INT, OPT_NUM, OPT_LIST, OPT_FLAG } dolor_opt_type;

typedef struct dolor_opt_spec {
    const char *name;      /* long option name without "--", also the config key */
    int short_name;        /* 0 if none */
    dolor_opt_type type;
    const char *help;
} dolor_opt_spec;

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

/* Print "  --name VALUE   help" lines. */
void dolor_opts_print_help(FILE *fp, const dolor_opt_spec *specs, int nspecs);

#endif
