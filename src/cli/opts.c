#define _POSIX_C_SOURCE 200809L
#include "opts.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const dolor_opt_spec *find_spec(const dolor_opt_spec *specs, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(specs[i].name, name) == 0)
            return &specs[i];
    return NULL;
}

static const char *type_name(dolor_opt_type t)
{
    switch (t) {
    case OPT_STR: return "a string";
    case OPT_INT: return "an integer";
    case OPT_NUM: return "a number";
    case OPT_LIST: return "a list";
    case OPT_FLAG: return "true or false";
    }
    return "?";
}

dolor_status dolor_opts_apply_config(const char *path, const dolor_opt_spec *specs, int nspecs,
                                     dolor_opt_apply_fn apply, void *ctx)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return dolor_error(DOLOR_EIO, "%s: cannot open config (%s)", path, strerror(errno));
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    if (len < 0 || len > 1 << 20) {
        fclose(fp);
        return dolor_error(DOLOR_EFORMAT, "%s: config is larger than 1 MiB", path);
    }
    char *text = malloc((size_t)len + 1);
    if (!text || fread(text, 1, (size_t)len, fp) != (size_t)len) {
        free(text);
        fclose(fp);
        return dolor_error(DOLOR_EIO, "%s: cannot read config", path);
    }
    fclose(fp);
    text[len] = '\0';
    dolor_status s = dolor_opts_apply_json(text, path, specs, nspecs, apply, ctx);
    free(text);
    return s;
}

dolor_status dolor_opts_apply_json(const char *text, const char *name, const dolor_opt_spec *specs, int nspecs,
                                   dolor_opt_apply_fn apply, void *ctx)
{
    const char *path = name;
    const char *err_at = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &err_at, 1);
    if (!cJSON_IsObject(root)) {
        long line = 1;
        for (const char *p = text; err_at && p < err_at; p++)
            line += *p == '\n';
        cJSON_Delete(root);
        return dolor_error(DOLOR_EFORMAT, "%s: not a JSON object (syntax error near line %ld)", path, line);
    }
    dolor_status s = DOLOR_OK;
    cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        const char *key = item->string;
        const dolor_opt_spec *sp = strcmp(key, "config") ? find_spec(specs, nspecs, key) : NULL;
        if (!sp) {
            s = dolor_error(DOLOR_EINVAL, "%s: unknown key '%s'", path, key);
            break;
        }
        char buf[4096];
        const char *val = buf;
        int ok = 1;
        switch (sp->type) {
        case OPT_STR: /* a number stands for its text ("size": 256 as --size 256) */
            ok = cJSON_IsString(item) || cJSON_IsNumber(item);
            if (cJSON_IsNumber(item))
                snprintf(buf, sizeof buf, "%.17g", item->valuedouble);
            else
                val = ok ? item->valuestring : NULL;
            break;
        case OPT_INT:
        case OPT_NUM:
            ok = cJSON_IsNumber(item);
            if (ok)
                snprintf(buf, sizeof buf, "%.17g", item->valuedouble);
            break;
        case OPT_FLAG:
            ok = cJSON_IsBool(item);
            val = ok && cJSON_IsTrue(item) ? NULL : "false";
            break;
        case OPT_LIST:
            if (cJSON_IsString(item)) {
                val = item->valuestring;
            } else if (cJSON_IsArray(item) && cJSON_GetArraySize(item) > 0) {
                buf[0] = '\0';
                cJSON *e;
                cJSON_ArrayForEach(e, item)
                {
                    char one[512];
                    if (cJSON_IsString(e))
                        snprintf(one, sizeof one, "%s", e->valuestring);
                    else if (cJSON_IsNumber(e))
                        snprintf(one, sizeof one, "%.17g", e->valuedouble);
                    else
                        ok = 0;
                    if (!ok)
                        break;
                    snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", buf[0] ? "," : "", one);
                }
            } else {
                ok = 0;
            }
            break;
        }
        if (!ok) {
            s = dolor_error(DOLOR_EINVAL, "%s: key '%s' must be %s", path, key, type_name(sp->type));
            break;
        }
        s = apply(ctx, sp, val);
        if (s) {
            dolor_error_prefix(s, "%s", path);
            break;
        }
    }
    cJSON_Delete(root);
    return s;
}

dolor_status dolor_opts_parse(int argc, char **argv, const dolor_opt_spec *specs, int nspecs,
                              dolor_opt_apply_fn apply, void *ctx, int *help, char ***pos, int *npos)
{
    *help = 0;
    *npos = 0;
    *pos = calloc((size_t)argc + 1, sizeof **pos);
    if (!*pos)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    /* config first */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 || strncmp(argv[i], "--config=", 9) == 0) {
            const char *v = argv[i][8] == '=' ? argv[i] + 9 : (i + 1 < argc ? argv[i + 1] : NULL);
            if (!v)
                return dolor_error(DOLOR_EINVAL, "--config: missing file name");
            dolor_status s = dolor_opts_apply_config(v, specs, nspecs, apply, ctx);
            if (s)
                return s;
        }
    }
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *help = 1;
            return DOLOR_OK;
        }
        if (strcmp(a, "--") == 0) {
            while (++i < argc)
                (*pos)[(*npos)++] = argv[i];
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            (*pos)[(*npos)++] = a;
            continue;
        }
        if (strcmp(a, "--config") == 0) {
            i++;
            continue;
        }
        if (strncmp(a, "--config=", 9) == 0)
            continue;
        const dolor_opt_spec *sp = NULL;
        const char *inline_val = NULL;
        int negated = 0;
        if (a[1] == '-') {
            char name[128];
            const char *eq = strchr(a + 2, '=');
            size_t n = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
            snprintf(name, sizeof name, "%.*s", (int)n, a + 2);
            inline_val = eq ? eq + 1 : NULL;
            sp = find_spec(specs, nspecs, name);
            if (!sp && strncmp(name, "no-", 3) == 0) {
                sp = find_spec(specs, nspecs, name + 3);
                negated = sp && sp->type == OPT_FLAG;
                if (!negated)
                    sp = NULL;
            }
        } else if (a[2] == '\0') {
            for (int k = 0; k < nspecs; k++)
                if (specs[k].short_name == a[1])
                    sp = &specs[k];
        }
        if (!sp)
            return dolor_error(DOLOR_EINVAL, "unknown option '%s'", a);
        const char *val = NULL;
        if (sp->type == OPT_FLAG) {
            if (inline_val)
                return dolor_error(DOLOR_EINVAL, "--%s takes no value", sp->name);
            val = negated ? "false" : NULL;
        } else {
            val = inline_val ? inline_val : (i + 1 < argc ? argv[++i] : NULL);
            if (!val)
                return dolor_error(DOLOR_EINVAL, "--%s: missing value", sp->name);
        }
        dolor_status s = apply(ctx, sp, val);
        if (s)
            return s;
    }
    return DOLOR_OK;
}

void dolor_opts_print_help(FILE *fp, const dolor_opt_spec *specs, int nspecs)
{
    for (int i = 0; i < nspecs; i++) {
        char left[64];
        const char *arg = specs[i].type == OPT_FLAG ? "" : specs[i].type == OPT_LIST ? " A,B,..." :
                          specs[i].type == OPT_STR ? " VALUE" : " N";
        if (specs[i].short_name)
            snprintf(left, sizeof left, "-%c, --%s%s", specs[i].short_name, specs[i].name, arg);
        else
            snprintf(left, sizeof left, "    --%s%s", specs[i].name, arg);
        fprintf(fp, "  %-28s %s\n", left, specs[i].help);
    }
}
