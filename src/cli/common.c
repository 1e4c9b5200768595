#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int dolor_cli_fail(const char *cmd, dolor_status s)
{
    fprintf(stderr, "dolor %s: error: %s\n", cmd, dolor_errmsg()[0] ? dolor_errmsg() : dolor_status_name(s));
    switch (s) {
    case DOLOR_OK: return DOLOR_EXIT_OK;
    case DOLOR_EINVAL:
    case DOLOR_EFORMAT:
    case DOLOR_EUNSUPPORTED:
    case DOLOR_ESHAPE:
    case DOLOR_ENOTFOUND:
    case DOLOR_ENUMERIC: return DOLOR_EXIT_INPUT;
    default: return DOLOR_EXIT_FAIL;
    }
}

int dolor_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "dolor %s: error: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see 'dolor %s --help')\n", cmd);
    return DOLOR_EXIT_INPUT;
}

/* "--x: V is outside LO..HI", or "is less than LO" / "is more than HI" where the other side is open
 * (long double holds every long exactly) */
static dolor_status out_of_range(const char *opt, long double v, long double lo, long double hi, int is_int,
                                 int lo_open, int hi_open)
{
    char t[3][48];
    const long double x[3] = {v, lo, hi};
    for (int i = 0; i < 3; i++)
        snprintf(t[i], sizeof t[i], is_int ? "%.0Lf" : "%Lg", x[i]);
    if (hi_open && !lo_open)
        return dolor_error(DOLOR_EINVAL, "%s: %s is less than %s", opt, t[0], t[1]);
    if (lo_open && !hi_open)
        return dolor_error(DOLOR_EINVAL, "%s: %s is more than %s", opt, t[0], t[2]);
    return dolor_error(DOLOR_EINVAL, "%s: %s is outside %s..%s", opt, t[0], t[1], t[2]);
}

dolor_status dolor_cli_parse_int(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    if (!s || !*s)
        return dolor_error(DOLOR_EINVAL, "%s: missing value", opt);
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end != '\0' || errno)
        return dolor_error(DOLOR_EINVAL, "%s: '%s' is not an integer", opt, s);
    if (v < lo || v > hi)
        return out_of_range(opt, v, lo, hi, 1, lo == LONG_MIN, hi == LONG_MAX);
    *out = v;
    return DOLOR_OK;
}

dolor_status dolor_cli_parse_double(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    if (!s || !*s)
        return dolor_error(DOLOR_EINVAL, "%s: missing value", opt);
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0' || errno || !isfinite(v))
        return dolor_error(DOLOR_EINVAL, "%s: '%s' is not a number", opt, s);
    if (v < lo || v > hi)
        return out_of_range(opt, v, lo, hi, 0, isinf(lo), isinf(hi));
    *out = v;
    return DOLOR_OK;
}

dolor_status dolor_cli_split_list(const char *opt, const char *s, char ***items, int *n)
{
    *items = NULL;
    *n = 0;
    if (!s || !*s)
        return dolor_error(DOLOR_EINVAL, "%s: empty list", opt);
    int cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    char **v = calloc((size_t)cap + 1, sizeof *v);
    if (!v)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    const char *p = s;
    for (int i = 0; i < cap; i++) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0) {
            dolor_cli_free_list(v);
            return dolor_error(DOLOR_EINVAL, "%s: empty item %d in '%s'", opt, i + 1, s);
        }
        v[i] = strndup(p, len);
        if (!v[i]) {
            dolor_cli_free_list(v);
            return dolor_error(DOLOR_ENOMEM, "out of memory");
        }
        p = e ? e + 1 : p + len;
    }
    *items = v;
    *n = cap;
    return DOLOR_OK;
}

void dolor_cli_free_list(char **items)
{
    if (!items)
        return;
    for (char **p = items; *p; p++)
        free(*p);
    free(items);
}

int dolor_cli_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

cJSON *dolor_cli_kv_value(const char *v)
{
    char *end;
    double d = strtod(v, &end);
    if (end != v && !*end && isfinite(d))
        return cJSON_CreateNumber(d);
    if (!strcmp(v, "true") || !strcmp(v, "false"))
        return cJSON_CreateNumber(!strcmp(v, "true"));
    return cJSON_CreateString(v);
}

dolor_status dolor_cli_arch_json(const char *opt, char *const *kv, int n, char **json)
{
    *json = NULL;
    cJSON *c = cJSON_CreateObject();
    if (!c)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        if (!eq || eq == kv[i] || !eq[1]) {
            cJSON_Delete(c);
            return dolor_error(DOLOR_EINVAL, "%s: '%s' is not KEY=VALUE", opt, kv[i]);
        }
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(eq - kv[i]), kv[i]);
        cJSON_DeleteItemFromObjectCaseSensitive(c, key);
        cJSON_AddItemToObject(c, key, dolor_cli_kv_value(eq + 1));
    }
    *json = cJSON_PrintUnformatted(c);
    cJSON_Delete(c);
    return *json ? DOLOR_OK : dolor_error(DOLOR_ENOMEM, "out of memory");
}
