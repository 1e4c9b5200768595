/* A small CSV reader for one-row-per-patient tables (RFC 4180 quoting),
 * numeric columns with missing values, and factor levels in R's order. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_internal.h"

void dolor_csv_free(dolor_csv *t)
{
    if (!t)
        return;
    if (t->names)
        for (int j = 0; j < t->ncol; j++)
            free(t->names[j]);
    if (t->cells)
        for (size_t i = 0; i < t->nrow * (size_t)t->ncol; i++)
            free(t->cells[i]);
    free(t->names);
    free(t->cells);
    free(t->line);
    free(t->path);
    free(t);
}

void dolor_stats_free_strings(char **s)
{
    if (!s)
        return;
    for (char **p = s; *p; p++)
        free(*p);
    free(s);
}

typedef struct {
    char **f;
    int n, cap;
} fields;

static int push_field(fields *fs, const char *s, size_t len, int quoted)
{
    if (fs->n == fs->cap) {
        int nc = fs->cap ? fs->cap * 2 : 16;
        char **nf = realloc(fs->f, (size_t)nc * sizeof *nf);
        if (!nf)
            return -1;
        fs->f = nf;
        fs->cap = nc;
    }
    if (!quoted) { /* trim spaces and tabs around unquoted fields */
        while (len && (*s == ' ' || *s == '\t')) {
            s++;
            len--;
        }
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
    }
    char *c = NULL;
    if (quoted || (len > 0 && !(len == 2 && s[0] == 'N' && s[1] == 'A'))) {
        c = malloc(len + 1);
        if (!c)
            return -1;
        memcpy(c, s, len);
        c[len] = 0;
    }
    fs->f[fs->n++] = c; /* NULL = missing */
    return 0;
}

/* parse one record starting at *p; returns 0 ok, 1 end of data, -1 quote
 * error, -2 out of memory. *line is advanced by newlines consumed. */
static int parse_record(const char **pp, const char *end, fields *fs, size_t *line, char **buf, size_t *bcap)
{
    const char *p = *pp;
    fs->n = 0;
    if (p >= end)
        return 1;
    for (;;) {
        size_t len = 0;
        const char *q = p;
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        if (q < end && *q == '"') {
            p = q + 1;
            for (;;) {
                if (p >= end)
                    return -1;
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        p += 2;
                        if (len + 1 >= *bcap) {
                            char *nb = realloc(*buf, *bcap * 2);
                            if (!nb)
                                return -2;
                            *buf = nb;
                            *bcap *= 2;
                        }
                        (*buf)[len++] = '"';
                        continue;
                    }
                    p++;
                    break;
                }
                if (*p == '\n')
                    (*line)++;
                if (len + 1 >= *bcap) {
                    char *nb = realloc(*buf, *bcap * 2);
                    if (!nb)
                        return -2;
                    *buf = nb;
                    *bcap *= 2;
                }
                (*buf)[len++] = *p++;
            }
            while (p < end && (*p == ' ' || *p == '\t'))
                p++;
            if (p < end && *p != ',' && *p != '\n' && *p != '\r')
                return -1;
            if (push_field(fs, *buf, len, 1))
                return -2;
        } else {
            const char *s = p;
            while (p < end && *p != ',' && *p != '\n' && *p != '\r')
                p++;
            if (push_field(fs, s, (size_t)(p - s), 0))
                return -2;
        }
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        /* end of record */
        if (p < end && *p == '\r')
            p++;
        if (p < end && *p == '\n')
            p++;
        (*line)++;
        *pp = p;
        return 0;
    }
}

static int blank_record(const fields *fs)
{
    for (int i = 0; i < fs->n; i++)
        if (fs->f[i])
            return 0;
    return 1;
}

/* 1 if [s, e) holds only blanks and line ends */
static int blank_text(const char *s, const char *e)
{
    for (; s < e; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return 0;
    return 1;
}

static void clear_fields(fields *fs)
{
    for (int i = 0; i < fs->n; i++)
        free(fs->f[i]);
    fs->n = 0;
}

dolor_status dolor_csv_read(const char *path, dolor_csv **out)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return dolor_error(errno == ENOENT ? DOLOR_ENOTFOUND : DOLOR_EIO, "%s: cannot open: %s", path,
                           strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *data = malloc(cap);
    if (!data) {
        fclose(fp);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    for (;;) {
        if (len == cap) {
            char *nd = realloc(data, cap * 2);
            if (!nd) {
                free(data);
                fclose(fp);
                return dolor_error(DOLOR_ENOMEM, "out of memory");
            }
            data = nd;
            cap *= 2;
        }
        size_t got = fread(data + len, 1, cap - len, fp);
        len += got;
        if (got == 0)
            break;
    }
    int rerr = ferror(fp);
    fclose(fp);
    if (rerr) {
        free(data);
        return dolor_error(DOLOR_EIO, "%s: read error", path);
    }
    dolor_status s = dolor_csv_read_mem(data, len, path, out);
    free(data);
    return s;
}

dolor_status dolor_csv_read_mem(const char *data, size_t len, const char *path, dolor_csv **out)
{
    *out = NULL;
    if (!path)
        path = "CSV data";
    if (!data) {
        data = "";
        len = 0;
    }
    const char *p = data, *end = data + len;
    if (len >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF)
        p += 3; /* UTF-8 byte-order mark */
    dolor_csv *t = calloc(1, sizeof *t);
    fields fs = {0};
    size_t bcap = 256;
    char *buf = malloc(bcap);
    dolor_status s = DOLOR_OK;
    size_t line = 1, rcap = 0;
    if (!t || !buf || !(t->path = strdup(path))) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto fail;
    }
    /* header (skip leading blank lines) */
    int rc;
    for (;;) {
        size_t start = line;
        rc = parse_record(&p, end, &fs, &line, &buf, &bcap);
        if (rc == 1) {
            s = dolor_error(DOLOR_EFORMAT, "%s: empty file (no header row)", path);
            goto fail;
        }
        if (rc < 0) {
            s = rc == -2 ? dolor_error(DOLOR_ENOMEM, "out of memory")
                         : dolor_error(DOLOR_EFORMAT, "%s: line %zu: unterminated or misplaced quote", path, start);
            goto fail;
        }
        if (!blank_record(&fs))
            break;
        clear_fields(&fs);
    }
    t->ncol = fs.n;
    t->names = calloc((size_t)fs.n, sizeof *t->names);
    if (!t->names) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto fail;
    }
    for (int j = 0; j < fs.n; j++) {
        if (!fs.f[j]) {
            s = dolor_error(DOLOR_EFORMAT, "%s: header column %d has no name", path, j + 1);
            goto fail;
        }
        t->names[j] = fs.f[j];
        fs.f[j] = NULL;
    }
    fs.n = 0;
    for (;;) {
        size_t start = line;
        const char *rs = p;
        rc = parse_record(&p, end, &fs, &line, &buf, &bcap);
        if (rc == 1)
            break;
        if (rc < 0) {
            s = rc == -2 ? dolor_error(DOLOR_ENOMEM, "out of memory")
                         : dolor_error(DOLOR_EFORMAT, "%s: line %zu: unterminated or misplaced quote", path, start);
            goto fail;
        }
        /* a blank line is skipped (R's blank.lines.skip); a lone NA is a row with a missing value */
        if (blank_record(&fs) && ((fs.n <= 1 && blank_text(rs, p)) || p >= end)) {
            clear_fields(&fs);
            continue;
        }
        if (fs.n != t->ncol) {
            s = dolor_error(DOLOR_EFORMAT, "%s: line %zu has %d fields but the header has %d", path, start, fs.n,
                            t->ncol);
            goto fail;
        }
        if (t->nrow == rcap) {
            size_t nc = rcap ? rcap * 2 : 64;
            char **ncells = realloc(t->cells, nc * (size_t)t->ncol * sizeof *ncells);
            size_t *nl = ncells ? realloc(t->line, nc * sizeof *nl) : NULL;
            if (ncells)
                t->cells = ncells;
            if (!ncells || !nl) {
                s = dolor_error(DOLOR_ENOMEM, "out of memory");
                goto fail;
            }
            t->line = nl;
            rcap = nc;
        }
        for (int j = 0; j < t->ncol; j++) {
            t->cells[t->nrow * (size_t)t->ncol + (size_t)j] = fs.f[j];
            fs.f[j] = NULL;
        }
        t->line[t->nrow] = start;
        t->nrow++;
        fs.n = 0;
    }
    clear_fields(&fs);
    free(fs.f);
    free(buf);
    *out = t;
    return DOLOR_OK;
fail:
    clear_fields(&fs);
    free(fs.f);
    free(buf);
    dolor_csv_free(t);
    return s;
}

int dolor_csv_column(const dolor_csv *t, const char *name)
{
    for (int j = 0; t && j < t->ncol; j++)
        if (!strcmp(t->names[j], name))
            return j;
    return -1;
}

static int parse_num(const char *s, double *v)
{
    char *e;
    errno = 0;
    double d = strtod(s, &e);
    if (e == s || *e != 0 || !isfinite(d))
        return -1;
    *v = d;
    return 0;
}

dolor_status dolor_csv_numeric(const dolor_csv *t, const char *name, double **vals)
{
    *vals = NULL;
    int j = dolor_csv_column(t, name);
    if (j < 0)
        return dolor_error(DOLOR_ENOTFOUND, "%s: no column '%s'", t->path, name);
    double *v = malloc((t->nrow ? t->nrow : 1) * sizeof *v);
    if (!v)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    for (size_t i = 0; i < t->nrow; i++) {
        const char *c = t->cells[i * (size_t)t->ncol + (size_t)j];
        if (!c) {
            v[i] = NAN;
            continue;
        }
        if (parse_num(c, &v[i])) {
            dolor_status s = dolor_error(DOLOR_EFORMAT, "%s: column '%s', row %zu (line %zu): '%s' is not a number",
                                         t->path, name, i + 1, t->line[i], c);
            free(v);
            return s;
        }
    }
    *vals = v;
    return DOLOR_OK;
}

typedef struct {
    const char *s;
    double v;
} lvl;

static int cmp_lvl_num(const void *a, const void *b)
{
    double x = ((const lvl *)a)->v, y = ((const lvl *)b)->v;
    return (x > y) - (x < y);
}

static int cmp_lvl_str(const void *a, const void *b)
{
    return strcmp(((const lvl *)a)->s, ((const lvl *)b)->s);
}

dolor_status dolor_csv_factor(const dolor_csv *t, const char *name, char ***levels, int *nlevels, int **codes)
{
    *levels = NULL;
    *nlevels = 0;
    if (codes)
        *codes = NULL;
    int j = dolor_csv_column(t, name);
    if (j < 0)
        return dolor_error(DOLOR_ENOTFOUND, "%s: no column '%s'", t->path, name);
    lvl *L = malloc((t->nrow ? t->nrow : 1) * sizeof *L);
    int *cd = malloc((t->nrow ? t->nrow : 1) * sizeof *cd);
    if (!L || !cd) {
        free(L);
        free(cd);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    size_t nl = 0;
    int numeric = 1;
    for (size_t i = 0; i < t->nrow; i++) {
        const char *c = t->cells[i * (size_t)t->ncol + (size_t)j];
        if (!c)
            continue;
        size_t q;
        for (q = 0; q < nl; q++)
            if (!strcmp(L[q].s, c))
                break;
        if (q == nl) {
            L[nl].s = c;
            if (parse_num(c, &L[nl].v))
                numeric = 0;
            nl++;
        }
    }
    qsort(L, nl, sizeof *L, numeric ? cmp_lvl_num : cmp_lvl_str);
    char **out = calloc(nl + 1, sizeof *out);
    if (!out) {
        free(L);
        free(cd);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    for (size_t q = 0; q < nl; q++)
        if (!(out[q] = strdup(L[q].s))) {
            dolor_stats_free_strings(out);
            free(L);
            free(cd);
            return dolor_error(DOLOR_ENOMEM, "out of memory");
        }
    for (size_t i = 0; i < t->nrow; i++) {
        const char *c = t->cells[i * (size_t)t->ncol + (size_t)j];
        cd[i] = -1;
        if (!c)
            continue;
        for (size_t q = 0; q < nl; q++)
            if (!strcmp(out[q], c)) {
                cd[i] = (int)q;
                break;
            }
    }
    free(L);
    *levels = out;
    *nlevels = (int)nl;
    if (codes)
        *codes = cd;
    else
        free(cd);
    return DOLOR_OK;
}

dolor_status dolor_factor_reorder(char ***levels, int *nlevels, int *codes, size_t n, const char *const *want,
                                  int nwant, int keep_rest, const char *what, const char *column)
{
    int k = *nlevels, nn = 0;
    char **lev = *levels;
    int *map = malloc((size_t)(k + 1) * sizeof *map); /* old index -> new */
    char **nl = calloc((size_t)k + 1, sizeof *nl);
    dolor_status s = map && nl ? DOLOR_OK : dolor_error(DOLOR_ENOMEM, "out of memory");
    for (int j = 0; !s && j < k; j++)
        map[j] = -1;
    for (int w = 0; !s && w < nwant; w++) {
        int found = -1;
        for (int j = 0; j < k; j++)
            if (!strcmp(lev[j], want[w]))
                found = j;
        if (found < 0) {
            char list[512] = "";
            for (int j = 0; j < k; j++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", j ? ", " : "", lev[j]);
            s = dolor_error(DOLOR_EINVAL, "%s: column '%s' has no group '%s' (groups: %s)", what, column, want[w],
                            list);
        } else if (map[found] >= 0) {
            s = dolor_error(DOLOR_EINVAL, "%s: '%s' is given twice", what, want[w]);
        } else {
            map[found] = nn;
            nl[nn++] = lev[found];
        }
    }
    for (int j = 0; !s && keep_rest && j < k; j++)
        if (map[j] < 0) {
            map[j] = nn;
            nl[nn++] = lev[j];
        }
    if (!s) {
        for (int j = 0; j < k; j++)
            if (map[j] < 0)
                free(lev[j]);
        for (size_t i = 0; i < n; i++)
            codes[i] = codes[i] >= 0 ? map[codes[i]] : -1;
        free(lev);
        *levels = nl;
        *nlevels = nn;
        nl = NULL;
    }
    free(nl);
    free(map);
    return s;
}
