/* Private helpers shared by the dolor subcommands (src/cli/cmd_*.c). */
#ifndef DOLOR_CLI_H
#define DOLOR_CLI_H

#include "dolor/core.h"

/* Exit codes: 0 success, 1 internal/runtime failure (I/O, memory, backend),
 * 2 bad input (usage, option values, malformed files, mismatched data). */
enum { DOLOR_EXIT_OK = 0, DOLOR_EXIT_FAIL = 1, DOLOR_EXIT_INPUT = 2 };

/* Every subcommand: int dolor_cmd_NAME(int argc, char **argv), argv[0] is the
 * subcommand name. Defined (weakly referenced) in main.c's table. */
typedef int (*dolor_cmd_fn)(int argc, char **argv);

/* Print "dolor CMD: error: <dolor_errmsg()>" to stderr and return the exit
 * code for status s (2 for input errors, 1 otherwise). */
int dolor_cli_fail(const char *cmd, dolor_status s);

/* Print "dolor CMD: error: <formatted>" and return DOLOR_EXIT_INPUT. */
int dolor_cli_usage_error(const char *cmd, const char *fmt, ...) DOLOR_PRINTF(2, 3);

/* Strict option-value parsers: the whole string must be a number in
 * [lo, hi]. On failure they record an error naming the option and value
 * (e.g. "--epochs: 'abc' is not an integer", "--epochs: 0 is outside 1..100000";
 * with LONG_MAX / INFINITY as hi "--seed: -1 is less than 0", with LONG_MIN /
 * -INFINITY as lo "... is more than HI") and return DOLOR_EINVAL. */
dolor_status dolor_cli_parse_int(const char *opt, const char *s, long lo, long hi, long *out);
dolor_status dolor_cli_parse_double(const char *opt, const char *s, double lo, double hi, double *out);

/* Split a comma-separated list ("nerve,vessel") into a NULL-terminated
 * array of strdup'ed strings; *n receives the count. Free with
 * dolor_cli_free_list. Errors: DOLOR_EINVAL (empty item), DOLOR_ENOMEM. */
dolor_status dolor_cli_split_list(const char *opt, const char *s, char ***items, int *n);
void dolor_cli_free_list(char **items);

/* --arch-opt KEY=VALUE into a JSON value (a cJSON item, the caller owns it): a number if all of VALUE is one,
 * true/false as 1/0, else a string. */
struct cJSON *dolor_cli_kv_value(const char *v);
/* --arch-opt KEY=VALUE,... items kv[0..n) as one flat JSON object for dolor_arch_build (a later KEY replaces an
 * earlier one), values as dolor_cli_kv_value; *json malloc'ed (caller frees). Errors: DOLOR_EINVAL (an item that
 * is not KEY=VALUE; the message starts with opt), DOLOR_ENOMEM. */
dolor_status dolor_cli_arch_json(const char *opt, char *const *kv, int n, char **json);

/* 1 if path is an existing directory. */
int dolor_cli_is_dir(const char *path);

#endif
