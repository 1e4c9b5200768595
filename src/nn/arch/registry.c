/* The architecture registry: {name, help, config <-> JSON, build}. Add an architecture: its
 * builder file under arch/, an nn_arch entry there, one line in ARCHS below. */
#include "arch.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const nn_arch *const ARCHS[] = {&nn_arch_unet, &nn_arch_resnet, &nn_arch_resnet_unet, &nn_arch_fastseg,
                                       &nn_arch_yolov8};
#define NARCH ((int)(sizeof ARCHS / sizeof ARCHS[0]))

dolor_status nn_arch_finish(dolor_net *g, const void *cfg, size_t size, dolor_net **out)
{
    dolor_status s = dolor_graph_finalize(g);
    if (s == DOLOR_OK && size > sizeof g->arch_cfg)
        s = dolor_error(DOLOR_EINVAL, "nn: %s: a %zu-byte config does not fit the net's %zu bytes", g->arch, size,
                        sizeof g->arch_cfg);
    if (s) {
        dolor_net_free(g);
        return s;
    }
    memcpy(g->arch_cfg, cfg, size);
    *out = g;
    return DOLOR_OK;
}

int dolor_arch_count(void) { return NARCH; }
const char *dolor_arch_name(int i) { return i >= 0 && i < NARCH ? ARCHS[i]->name : NULL; }
const char *dolor_arch_help(int i) { return i >= 0 && i < NARCH ? ARCHS[i]->help : NULL; }

dolor_status dolor_arch_build(const char *name, const char *config_json, dolor_net **out)
{
    return dolor_arch_build_limited(name, config_json, 0, out);
}

dolor_status dolor_arch_build_limited(const char *name, const char *config_json, size_t max_param_bytes,
                                      dolor_net **out)
{
    if (!out)
        return dolor_error(DOLOR_EINVAL, "nn: arch_build: out is NULL");
    *out = NULL;
    const nn_arch *a = NULL;
    for (int i = 0; i < NARCH && name; i++)
        if (strcmp(ARCHS[i]->name, name) == 0)
            a = ARCHS[i];
    if (!a) {
        char known[256] = "";
        for (int i = 0; i < NARCH; i++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "", ARCHS[i]->name);
        return dolor_error(DOLOR_ENOTFOUND, "nn: architecture '%s' is not in the registry (known: %s)",
                           name ? name : "(null)", known);
    }
    nn_kv kv[32];
    int n = 0;
    if (config_json) {
        dolor_status s = nn_json_flat(config_json, kv, 32, &n);
        if (s)
            return dolor_error_prefix(s, "%s config", a->name);
    }
    nn_build_param_limit = max_param_bytes;
    dolor_status s = a->from_json(kv, n, out);
    nn_build_param_limit = 0;
    return s;
}

dolor_status dolor_net_config_json(const dolor_net *net, char *buf, size_t n)
{
    if (!net || !buf)
        return dolor_error(DOLOR_EINVAL, "nn: config_json: NULL argument");
    for (int i = 0; i < NARCH; i++)
        if (strcmp(ARCHS[i]->name, net->arch) == 0)
            return ARCHS[i]->to_json(net, buf, n);
    return dolor_error(DOLOR_EINVAL, "nn: the net was not built by the architecture registry (arch '%s')", net->arch);
}

/* ------------------------------------------------------------ flat JSON ---- */

static const char *ws(const char *p)
{
    while (isspace((unsigned char)*p))
        p++;
    return p;
}

static dolor_status jstr(const char *json, const char **pp, char *out, size_t cap)
{
    const char *p = *pp;
    if (*p != '"')
        return dolor_error(DOLOR_EINVAL, "JSON: a string expected at offset %td", p - json);
    p++;
    size_t k = 0;
    while (*p && *p != '"') {
        if (*p == '\\' || k + 1 >= cap)
            return dolor_error(DOLOR_EINVAL, "JSON: string at offset %td has an escape or is too long", p - json);
        out[k++] = *p++;
    }
    if (*p != '"')
        return dolor_error(DOLOR_EINVAL, "JSON: unterminated string at offset %td", p - json);
    out[k] = 0;
    *pp = p + 1;
    return DOLOR_OK;
}

dolor_status nn_json_flat(const char *json, nn_kv *kv, int cap, int *n)
{
    const char *p = ws(json);
    *n = 0;
    if (*p != '{')
        return dolor_error(DOLOR_EINVAL, "JSON: '{' expected at offset %td", p - json);
    p = ws(p + 1);
    if (*p == '}')
        return *ws(p + 1) ? dolor_error(DOLOR_EINVAL, "JSON: text after the object at offset %td", ws(p + 1) - json)
                          : DOLOR_OK;
    for (;;) {
        if (*n >= cap)
            return dolor_error(DOLOR_EINVAL, "JSON: more than %d keys", cap);
        nn_kv *e = &kv[*n];
        memset(e, 0, sizeof *e);
        dolor_status s = jstr(json, &p, e->key, sizeof e->key);
        if (s)
            return s;
        p = ws(p);
        if (*p != ':')
            return dolor_error(DOLOR_EINVAL, "JSON: ':' expected after \"%s\" at offset %td", e->key, p - json);
        p = ws(p + 1);
        if (*p == '"') {
            s = jstr(json, &p, e->str, sizeof e->str);
            if (s)
                return s;
            e->is_str = 1;
        } else {
            char *end;
            e->num = strtod(p, &end);
            if (end == p || !isfinite(e->num))
                return dolor_error(DOLOR_EINVAL, "JSON: value of \"%s\" at offset %td is not a number or a string",
                                   e->key, p - json);
            p = end;
        }
        (*n)++;
        p = ws(p);
        if (*p == ',') {
            p = ws(p + 1);
            continue;
        }
        if (*p == '}')
            break;
        return dolor_error(DOLOR_EINVAL, "JSON: ',' or '}' expected at offset %td", p - json);
    }
    p = ws(p + 1);
    if (*p)
        return dolor_error(DOLOR_EINVAL, "JSON: text after the object at offset %td", p - json);
    return DOLOR_OK;
}

static nn_kv *find(nn_kv *kv, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0)
            return &kv[i];
    return NULL;
}

dolor_status nn_kv_int(nn_kv *kv, int n, const char *arch, const char *key, int *v)
{
    nn_kv *e = find(kv, n, key);
    if (!e)
        return DOLOR_OK;
    e->used = 1;
    if (e->is_str || e->num != floor(e->num) || fabs(e->num) > 1e9)
        return dolor_error(DOLOR_EINVAL, "%s config: \"%s\" must be an integer (got %s%s%s)", arch, key,
                           e->is_str ? "\"" : "", e->is_str ? e->str : "a fraction or a huge number",
                           e->is_str ? "\"" : "");
    *v = (int)e->num;
    return DOLOR_OK;
}

dolor_status nn_kv_str(nn_kv *kv, int n, const char *arch, const char *key, const char **v)
{
    nn_kv *e = find(kv, n, key);
    if (!e)
        return DOLOR_OK;
    e->used = 1;
    if (!e->is_str)
        return dolor_error(DOLOR_EINVAL, "%s config: \"%s\" must be a string (got %g)", arch, key, e->num);
    *v = e->str;
    return DOLOR_OK;
}

dolor_status nn_kv_unused(const nn_kv *kv, int n, const char *arch)
{
    for (int i = 0; i < n; i++)
        if (!kv[i].used)
            return dolor_error(DOLOR_EINVAL, "%s config: unknown key \"%s\"", arch, kv[i].key);
    return DOLOR_OK;
}
