#define _POSIX_C_SOURCE 200809L
#include "opts.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
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
        s = sp->has_range ? dolor_opt_check_value(sp, val) : DOLOR_OK;
        if (!s)
            s = apply(ctx, sp, val);
        if (s) {
            dolor_error_prefix(s, "%s", path);
            break;
        }
    }
    cJSON_Delete(root);
    return s;
}

/* dolor_opts_parse with the command's name for messages about options outside the table (NULL: the
 * original "unknown option '--x'"); subs: the command's sub-commands, to name "dolor forest predict" */
static dolor_status parse_argv(int argc, char **argv, const dolor_opt_spec *specs, int nspecs,
                               dolor_opt_apply_fn apply, void *ctx, int *help, char ***pos, int *npos,
                               const dolor_cmd_desc *cmd)
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
        if (!sp && !cmd)
            return dolor_error(DOLOR_EINVAL, "unknown option '%s'", a);
        if (!sp) {
            char full[256], opt[136];
            const char *sub = NULL;
            for (int k = 0; *npos > 0 && k < cmd->nsubs; k++)
                if (!strcmp(cmd->subs[k].name, (*pos)[0]))
                    sub = cmd->subs[k].name;
            snprintf(full, sizeof full, "dolor %s%s%s", cmd->name, sub ? " " : "", sub ? sub : "");
            const char *eq = strchr(a, '=');
            snprintf(opt, sizeof opt, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
            return dolor_error(DOLOR_EINVAL, "%s is not an option of %s (see %s --help)", opt, full, full);
        }
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
        dolor_status s = sp->has_range ? dolor_opt_check_value(sp, val) : DOLOR_OK;
        if (!s)
            s = apply(ctx, sp, val);
        if (s)
            return s;
    }
    return DOLOR_OK;
}

dolor_status dolor_opts_parse(int argc, char **argv, const dolor_opt_spec *specs, int nspecs,
                              dolor_opt_apply_fn apply, void *ctx, int *help, char ***pos, int *npos)
{
    return parse_argv(argc, argv, specs, nspecs, apply, ctx, help, pos, npos, NULL);
}

dolor_status dolor_opt_set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = v ? strdup(v) : NULL;
    return *dst || !v ? DOLOR_OK : dolor_error(DOLOR_ENOMEM, "out of memory");
}

dolor_status dolor_opt_bind(void *ctx, const dolor_opt_spec *sp, const char *v)
{
    if (!sp->bound)
        return dolor_error(DOLOR_EINVAL, "option --%s is not handled", sp->name);
    char *field = (char *)ctx + sp->offset;
    dolor_status s = dolor_opt_check_value(sp, v);
    if (s)
        return s;
    switch (sp->type) {
    case OPT_STR:
    case OPT_LIST: return dolor_opt_set_str((char **)(void *)field, v);
    case OPT_INT: *(long *)(void *)field = strtol(v, NULL, 10); break;
    case OPT_NUM: *(double *)(void *)field = strtod(v, NULL); break;
    case OPT_FLAG: *(int *)(void *)field = v == NULL; break;
    }
    return DOLOR_OK;
}

/* "1..256", "at least 0", "at most 10" (integers without a fraction) */
static void range_text(const dolor_opt_spec *sp, char *buf, size_t n)
{
    char lo[32], hi[32];
    snprintf(lo, sizeof lo, sp->type == OPT_INT ? "%.0f" : "%g", sp->min);
    snprintf(hi, sizeof hi, sp->type == OPT_INT ? "%.0f" : "%g", sp->max);
    int has_lo = isfinite(sp->min), has_hi = isfinite(sp->max);
    if (has_lo && has_hi)
        snprintf(buf, n, "%s..%s", lo, hi);
    else if (has_lo)
        snprintf(buf, n, "at least %s", lo);
    else if (has_hi)
        snprintf(buf, n, "at most %s", hi);
    else
        buf[0] = '\0';
}

dolor_status dolor_opt_check_value(const dolor_opt_spec *sp, const char *v)
{
    char opt[136];
    snprintf(opt, sizeof opt, "--%s", sp->name);
    int r = sp->has_range;
    if (sp->type == OPT_INT) {
        /* the table's bounds as longs; beyond the range of long a side is open */
        long lo = r && sp->min > (double)LONG_MIN ? (long)ceil(sp->min) : LONG_MIN;
        long hi = r && sp->max < (double)LONG_MAX ? (long)floor(sp->max) : LONG_MAX, x;
        return dolor_cli_parse_int(opt, v, lo, hi, &x);
    }
    if (sp->type == OPT_NUM) {
        double x;
        return dolor_cli_parse_double(opt, v, r ? sp->min : -INFINITY, r ? sp->max : INFINITY, &x);
    }
    return DOLOR_OK;
}

/* "--name METAVAR" and the help with its "(default D; LO..HI)" */
static void print_spec(FILE *fp, const dolor_opt_spec *sp, const char *tag)
{
    char left[96], extra[200] = "", r[80] = "";
    const char *arg = sp->metavar ? sp->metavar :
                      sp->type == OPT_FLAG ? "" : sp->type == OPT_LIST ? "A,B,..." :
                      sp->type == OPT_STR ? "VALUE" : "N";
    if (sp->short_name)
        snprintf(left, sizeof left, "-%c, --%s%s%s", sp->short_name, sp->name, *arg ? " " : "", arg);
    else
        snprintf(left, sizeof left, "    --%s%s%s", sp->name, *arg ? " " : "", arg);
    if (sp->has_range)
        range_text(sp, r, sizeof r);
    if (sp->def || r[0])
        snprintf(extra, sizeof extra, " (%s%s%s%s)", sp->def ? "default " : "", sp->def ? sp->def : "",
                 sp->def && r[0] ? "; " : "", r);
    if (strlen(left) > 28)
        fprintf(fp, "  %s\n  %-28s %s%s%s\n", left, "", sp->help, extra, tag ? tag : "");
    else
        fprintf(fp, "  %-28s %s%s%s\n", left, sp->help, extra, tag ? tag : "");
}

void dolor_opts_print_help(FILE *fp, const dolor_opt_spec *specs, int nspecs)
{
    for (int i = 0; i < nspecs; i++)
        print_spec(fp, &specs[i], NULL);
}

/* 1 if the comma-separated list holds word */
static int list_has(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, word, n))
            return 1;
        p = e ? e + 1 : p + len;
    }
    return 0;
}

static int spec_applies(const dolor_opt_spec *sp, const char *sub)
{
    return !sp->uses || !sub || list_has(sp->uses, sub);
}

void dolor_cmd_print_help(FILE *fp, const dolor_cmd_desc *cmd, const char *sub)
{
    const dolor_subcmd_desc *one = NULL;
    for (int k = 0; sub && k < cmd->nsubs; k++)
        if (!strcmp(cmd->subs[k].name, sub))
            one = &cmd->subs[k];
    if (one) {
        fprintf(fp, "usage: dolor %s %s%s%s\n\n%s\n", cmd->name, one->name, one->usage[0] ? " " : "", one->usage,
                one->summary);
    } else if (cmd->nsubs) {
        for (int k = 0; k < cmd->nsubs; k++)
            fprintf(fp, "%s dolor %s %s%s%s\n", k ? "      " : "usage:", cmd->name, cmd->subs[k].name,
                    cmd->subs[k].usage[0] ? " " : "", cmd->subs[k].usage);
        fprintf(fp, "\n%s\n\n", cmd->summary);
        for (int k = 0; k < cmd->nsubs; k++)
            fprintf(fp, "  %-10s %s\n", cmd->subs[k].name, cmd->subs[k].summary);
        fprintf(fp, "\n(dolor %s SUBCOMMAND --help lists the options of one)\n", cmd->name);
    } else {
        fprintf(fp, "usage: dolor %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->summary);
    }
    fprintf(fp, "\noptions:\n");
    int has_config = 0;
    for (int i = 0; i < cmd->nspecs; i++) {
        const dolor_opt_spec *sp = &cmd->specs[i];
        has_config |= !strcmp(sp->name, "config");
        if (!spec_applies(sp, one ? one->name : NULL))
            continue;
        char tag[160] = "";
        if (!one && sp->uses)
            snprintf(tag, sizeof tag, " [%s]", sp->uses);
        print_spec(fp, sp, tag);
    }
    if (!has_config)
        fprintf(fp, "  %-28s %s\n", "    --config FILE.json",
                "JSON object with any of these options as keys (the command line overrides it)");
    fprintf(fp, "  %-28s %s\n", "-h, --help", "print this help");
    if (cmd->details)
        fprintf(fp, "\n%s", cmd->details);
    if (cmd->more_help)
        cmd->more_help(fp);
}

/* apply through the table: values checked, options given recorded (for the sub-command check) */
typedef struct {
    const dolor_cmd_desc *cmd;
    dolor_opt_apply_fn apply;
    void *ctx;
    unsigned char *given;
} cmd_apply_ctx;

static dolor_status cmd_apply(void *vctx, const dolor_opt_spec *sp, const char *value)
{
    cmd_apply_ctx *c = vctx;
    c->given[sp - c->cmd->specs] = 1;
    dolor_status s = dolor_opt_check_value(sp, value);
    return s ? s : c->apply(c->ctx, sp, value);
}

dolor_status dolor_cmd_parse(const dolor_cmd_desc *cmd, int argc, char **argv, dolor_opt_apply_fn apply, void *ctx,
                             int *help, char ***pos, int *npos, const dolor_subcmd_desc **sub)
{
    if (sub)
        *sub = NULL;
    cmd_apply_ctx c = {cmd, apply, ctx, calloc((size_t)cmd->nspecs + 1, 1)};
    if (!c.given) {
        *help = 0;
        *npos = 0;
        *pos = NULL;
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    dolor_status s = parse_argv(argc, argv, cmd->specs, cmd->nspecs, cmd_apply, &c, help, pos, npos, cmd);
    if (!s && !*help && cmd->no_positionals && *npos > 0)
        s = dolor_error(DOLOR_EINVAL, "unexpected argument '%s'", (*pos)[0]);
    if (s || !cmd->nsubs)
        goto done;
    const dolor_subcmd_desc *one = NULL;
    for (int k = 0; *npos > 0 && k < cmd->nsubs; k++)
        if (!strcmp(cmd->subs[k].name, (*pos)[0]))
            one = &cmd->subs[k];
    if (sub)
        *sub = one;
    if (*help)
        goto done;
    if (!one) {
        char names[256] = "";
        for (int k = 0; k < cmd->nsubs; k++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "", cmd->subs[k].name);
        if (*npos == 0)
            s = dolor_error(DOLOR_EINVAL, "give a sub-command: %s (see dolor %s --help)", names, cmd->name);
        else
            s = dolor_error(DOLOR_EINVAL, "'%s' is not a sub-command of dolor %s (%s)", (*pos)[0], cmd->name, names);
        goto done;
    }
    for (int i = 0; i < cmd->nspecs; i++)
        if (c.given[i] && !spec_applies(&cmd->specs[i], one->name)) {
            s = dolor_error(DOLOR_EINVAL, "--%s is not an option of dolor %s %s (see dolor %s %s --help)",
                            cmd->specs[i].name, cmd->name, one->name, cmd->name, one->name);
            break;
        }
done:
    free(c.given);
    return s;
}

int dolor_cmd_front(const dolor_cmd_desc *cmd, int argc, char **argv, dolor_opt_apply_fn apply, void *ctx,
                    char ***pos, int *npos, const dolor_subcmd_desc **sub)
{
    const dolor_subcmd_desc *one = NULL;
    int help = 0;
    dolor_status s = dolor_cmd_parse(cmd, argc, argv, apply, ctx, &help, pos, npos, &one);
    if (sub)
        *sub = one;
    if (!s && !help)
        return -1;
    if (s)
        fprintf(stderr, "dolor %s%s%s: error: %s\n", cmd->name, one ? " " : "", one ? one->name : "",
                dolor_errmsg()[0] ? dolor_errmsg() : dolor_status_name(s));
    else
        dolor_cmd_print_help(stdout, cmd, one ? one->name : NULL);
    free(*pos);
    *pos = NULL;
    return !s ? DOLOR_EXIT_OK : s == DOLOR_ENOMEM ? DOLOR_EXIT_FAIL : DOLOR_EXIT_INPUT;
}
