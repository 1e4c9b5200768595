/* Shared by the tests that read JSON oracles and fixtures (../shared/oracle, tests/fixtures): a tiny JSON reader
 * (objects, arrays, numbers, strings with the escapes \" \\ \/ \n \t, true/false/null) and a file loader
 * (reading through test_util.h's dolor_test_slurp). Include after check.h. */
#ifndef DOLOR_TEST_JSON_FX_H
#define DOLOR_TEST_JSON_FX_H

#include "test_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;
typedef struct jv {
    jtype t;
    double num;
    char *str;
    int n;
    struct jv **items;
    char **keys;
} jv;

static inline void jskip(const char **p)
{
    while (isspace((unsigned char)**p))
        (*p)++;
}

static inline jv *jnew(jtype t)
{
    jv *v = calloc(1, sizeof *v);
    v->t = t;
    return v;
}

static inline char *jstring(const char **p)
{
    /* *p at opening quote; escapes limited to \" \\ \/ \n \t (enough here) */
    (*p)++;
    size_t cap = 16, len = 0;
    char *s = malloc(cap);
    while (**p && **p != '"') {
        char ch = **p;
        if (ch == '\\') {
            (*p)++;
            ch = **p == 'n' ? '\n' : **p == 't' ? '\t' : **p;
        }
        if (len + 2 > cap)
            s = realloc(s, cap *= 2);
        s[len++] = ch;
        (*p)++;
    }
    if (**p == '"')
        (*p)++;
    s[len] = 0;
    return s;
}

static inline jv *jparse(const char **p)
{
    jskip(p);
    jv *v;
    if (**p == '{' || **p == '[') {
        int obj = **p == '{';
        v = jnew(obj ? J_OBJ : J_ARR);
        (*p)++;
        int cap = 0;
        for (;;) {
            jskip(p);
            if (**p == (obj ? '}' : ']') || !**p) { /* end of text: a truncated file ends the container */
                if (**p)
                    (*p)++;
                break;
            }
            if (v->n == cap) {
                cap = cap ? cap * 2 : 8;
                v->items = realloc(v->items, (size_t)cap * sizeof *v->items);
                if (obj)
                    v->keys = realloc(v->keys, (size_t)cap * sizeof *v->keys);
            }
            if (obj) {
                v->keys[v->n] = jstring(p);
                jskip(p);
                (*p)++; /* ':' */
            }
            v->items[v->n++] = jparse(p);
            jskip(p);
            if (**p == ',')
                (*p)++;
        }
    } else if (**p == '"') {
        v = jnew(J_STR);
        v->str = jstring(p);
    } else if (!strncmp(*p, "true", 4) || !strncmp(*p, "false", 5)) {
        v = jnew(J_BOOL);
        v->num = **p == 't';
        *p += v->num ? 4 : 5;
    } else if (!strncmp(*p, "null", 4)) {
        v = jnew(J_NULL);
        v->num = NAN;
        *p += 4;
    } else {
        v = jnew(J_NUM);
        char *end;
        v->num = strtod(*p, &end);
        *p = end;
    }
    return v;
}

static inline void jfree(jv *v)
{
    if (!v)
        return;
    for (int i = 0; i < v->n; i++) {
        jfree(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

static inline jv *jget(const jv *o, const char *key)
{
    if (!o || o->t != J_OBJ)
        return NULL;
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->keys[i], key))
            return o->items[i];
    return NULL;
}

/* Parse a JSON file; NULL (with a failed check) when it cannot be read. */
static inline jv *json_load_file(const char *path)
{
    char *buf = dolor_test_slurp(path, NULL);
    CHECKF(buf != NULL, "cannot read %s", path);
    if (!buf)
        return NULL;
    const char *p = buf;
    jv *root = jparse(&p);
    free(buf);
    return root;
}

#endif
