/* ITK-SNAP label description files ("Label Descriptions" export):
 *
 *   # comment lines
 *   IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL
 *     0     0    0    0     0    0   0  "Clear Label"
 *     1   255    0    0     1    1   1  "Label 1"
 */
#define _GNU_SOURCE
#include "dolor/io.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* dolor's one colour table (io.h): 0 black, 1..7 Okabe & Ito's colour-blind-safe palette, then hues
 * spread around the circle by the golden ratio. */
void dolor_label_colour(int index, uint8_t rgb[3])
{
    static const uint8_t first[8][3] = {{0, 0, 0},      {230, 159, 0}, {86, 180, 233}, {0, 158, 115},
                                        {240, 228, 66}, {0, 114, 178}, {213, 94, 0},   {204, 121, 167}};
    if (index < 8) {
        memcpy(rgb, first[index < 0 ? 0 : index], 3);
        return;
    }
    double h = fmod(index * 0.618033988749895, 1.0) * 6.0, s = 0.75, v = 0.95;
    int i = (int)h;
    double f = h - i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    double r, g, b;
    switch (i % 6) {
    case 0: r = v, g = t, b = p; break;
    case 1: r = q, g = v, b = p; break;
    case 2: r = p, g = v, b = t; break;
    case 3: r = p, g = q, b = v; break;
    case 4: r = t, g = p, b = v; break;
    default: r = v, g = p, b = q; break;
    }
    rgb[0] = (uint8_t)lround(r * 255);
    rgb[1] = (uint8_t)lround(g * 255);
    rgb[2] = (uint8_t)lround(b * 255);
}

void dolor_label_palette(const int *values, int n, uint8_t pal[256 * 3])
{
    for (int v = 0; v < 256; v++)
        dolor_label_colour(v, pal + 3 * v);
    for (int c = 0; values && c < n; c++)
        if (values[c] >= 0 && values[c] < 256)
            dolor_label_colour(c, pal + 3 * values[c]);
}

dolor_status dolor_label_table_create(int n, dolor_label_table **out)
{
    *out = NULL;
    if (n < 0 || n > 65536)
        return dolor_error(DOLOR_EINVAL, "label table: %d labels (must be 0..65536)", n);
    dolor_label_table *t = calloc(1, sizeof *t);
    if (!t)
        return dolor_error(DOLOR_ENOMEM, "label table: out of memory");
    t->labels = calloc((size_t)(n ? n : 1), sizeof *t->labels);
    if (!t->labels) {
        free(t);
        return dolor_error(DOLOR_ENOMEM, "label table: out of memory");
    }
    t->n = n;
    *out = t;
    return DOLOR_OK;
}

void dolor_label_table_free(dolor_label_table *t)
{
    if (!t)
        return;
    free(t->labels);
    free(t);
}

const dolor_label *dolor_label_table_find(const dolor_label_table *t, int index)
{
    if (!t)
        return NULL;
    for (int i = 0; i < t->n; i++)
        if (t->labels[i].index == index)
            return &t->labels[i];
    return NULL;
}

/* Parse one integer field; returns 0 and advances *p on success. */
static int next_token(const char **p, const char **tok, size_t *len)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s)
        return -1;
    *tok = s;
    while (*s && *s != ' ' && *s != '\t')
        s++;
    *len = (size_t)(s - *tok);
    *p = s;
    return 0;
}

static const char *const field_names[7] = {"IDX", "-R-", "-G-", "-B-", "-A--", "VIS", "MSH"};

static dolor_status parse_line(const char *name, int lineno, const char *line, dolor_label *lab)
{
    const char *p = line;
    double v[7];
    memset(lab, 0, sizeof *lab);
    for (int f = 0; f < 7; f++) {
        const char *tok;
        size_t len;
        if (next_token(&p, &tok, &len) != 0 || *tok == '"')
            return dolor_error(DOLOR_EFORMAT, "%s: line %d: field %s is missing (expected IDX -R- -G- -B- -A-- VIS MSH "
                               "\"LABEL\")", name, lineno, field_names[f]);
        char buf[64];
        if (len >= sizeof buf)
            return dolor_error(DOLOR_EFORMAT, "%s: line %d: field %s is too long", name, lineno, field_names[f]);
        memcpy(buf, tok, len);
        buf[len] = 0;
        char *end;
        errno = 0;
        if (f == 4) {
            v[f] = strtod(buf, &end);
        } else {
            long x = strtol(buf, &end, 10);
            v[f] = (double)x;
        }
        if (*end || errno || !isfinite(v[f]))
            return dolor_error(DOLOR_EFORMAT, "%s: line %d: field %s is '%s' (not a%s number)", name, lineno,
                               field_names[f], buf, f == 4 ? "" : "n integer");
        double lo = 0, hi = f == 0 ? 65535 : (f <= 3 ? 255 : (f == 4 ? 1 : 1));
        if (v[f] < lo || v[f] > hi)
            return dolor_error(DOLOR_EFORMAT, "%s: line %d: field %s is %s (must be %g..%g)", name, lineno,
                               field_names[f], buf, lo, hi);
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '"')
        return dolor_error(DOLOR_EFORMAT, "%s: line %d: field LABEL is missing or not quoted", name, lineno);
    const char *q = strrchr(p + 1, '"');
    if (!q)
        return dolor_error(DOLOR_EFORMAT, "%s: line %d: field LABEL has no closing quote", name, lineno);
    for (const char *r = q + 1; *r; r++)
        if (*r != ' ' && *r != '\t')
            return dolor_error(DOLOR_EFORMAT, "%s: line %d: text after the LABEL field", name, lineno);
    size_t nl = (size_t)(q - (p + 1));
    if (nl >= sizeof lab->name)
        return dolor_error(DOLOR_EFORMAT, "%s: line %d: field LABEL is %zu characters (at most %zu)", name, lineno, nl,
                           sizeof lab->name - 1);
    lab->index = (int)v[0];
    lab->rgb[0] = (uint8_t)v[1];
    lab->rgb[1] = (uint8_t)v[2];
    lab->rgb[2] = (uint8_t)v[3];
    lab->alpha = v[4];
    lab->visible = (int)v[5];
    lab->mesh_visible = (int)v[6];
    memcpy(lab->name, p + 1, nl);
    lab->name[nl] = 0;
    return DOLOR_OK;
}

dolor_status dolor_label_table_read_mem(const void *buf, size_t len, const char *name, dolor_label_table **out)
{
    *out = NULL;
    const char *s = buf;
    int cap = 16;
    dolor_label_table *t = NULL;
    dolor_status st = dolor_label_table_create(cap, &t);
    if (st)
        return st;
    t->n = 0;
    size_t pos = 0;
    int lineno = 0;
    char line[1024];
    while (pos < len) {
        lineno++;
        const char *nl = memchr(s + pos, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - (s + pos)) : len - pos;
        const char *start = s + pos;
        pos += ll + (nl ? 1 : 0);
        if (memchr(start, '\0', ll)) {
            st = dolor_error(DOLOR_EFORMAT, "%s: line %d: NUL byte (not a text file)", name, lineno);
            break;
        }
        while (ll > 0 && (start[ll - 1] == '\r' || start[ll - 1] == ' ' || start[ll - 1] == '\t'))
            ll--;
        size_t a = 0;
        while (a < ll && (start[a] == ' ' || start[a] == '\t'))
            a++;
        if (a == ll || start[a] == '#')
            continue;
        if (ll - a >= sizeof line) {
            st = dolor_error(DOLOR_EFORMAT, "%s: line %d: longer than %zu characters", name, lineno, sizeof line - 1);
            break;
        }
        memcpy(line, start + a, ll - a);
        line[ll - a] = 0;
        dolor_label lab;
        st = parse_line(name, lineno, line, &lab);
        if (st)
            break;
        if (dolor_label_table_find(t, lab.index)) {
            st = dolor_error(DOLOR_EFORMAT, "%s: line %d: field IDX %d appears twice", name, lineno, lab.index);
            break;
        }
        if (t->n == cap) {
            if (cap >= 65536) {
                st = dolor_error(DOLOR_EFORMAT, "%s: line %d: more than 65536 labels", name, lineno);
                break;
            }
            dolor_label *nlab = realloc(t->labels, (size_t)cap * 2 * sizeof *nlab);
            if (!nlab) {
                st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", name);
                break;
            }
            t->labels = nlab;
            cap *= 2;
        }
        t->labels[t->n++] = lab;
    }
    if (!st && t->n == 0)
        st = dolor_error(DOLOR_EFORMAT, "%s: no label lines (expected IDX -R- -G- -B- -A-- VIS MSH \"LABEL\")", name);
    if (st) {
        dolor_label_table_free(t);
        return st;
    }
    *out = t;
    return DOLOR_OK;
}

dolor_status dolor_label_table_read(const char *path, dolor_label_table **out)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return dolor_error(DOLOR_EIO, "%s: cannot open (%s)", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len, fp);
        len += n;
        if (len < cap)
            break;
        if (cap >= (size_t)64 << 20) {
            free(buf);
            fclose(fp);
            return dolor_error(DOLOR_EFORMAT, "%s: larger than 64 MB: not a label description file", path);
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int err = ferror(fp);
    fclose(fp);
    if (!buf)
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
    if (err) {
        free(buf);
        return dolor_error(DOLOR_EIO, "%s: read error", path);
    }
    dolor_status s = dolor_label_table_read_mem(buf, len, path, out);
    free(buf);
    return s;
}

dolor_status dolor_label_table_write(const char *path, const dolor_label_table *t)
{
    if (!t)
        return dolor_error(DOLOR_EINVAL, "%s: no label table", path);
    for (int i = 0; i < t->n; i++) {
        const dolor_label *l = &t->labels[i];
        if (l->index < 0 || l->index > 65535 || !(l->alpha >= 0 && l->alpha <= 1) ||
            strpbrk(l->name, "\"\n\r"))
            return dolor_error(DOLOR_EINVAL, "%s: label %d ('%s'): index must be 0..65535, alpha 0..1, and the name "
                               "without quotes or newlines", path, l->index, l->name);
    }
    dolor_outfile f;
    dolor_status s = dolor_outfile_open(&f, path, 1);
    if (s)
        return s;
    fputs("################################################\n"
          "# ITK-SnAP Label Description File\n"
          "# File format: \n"
          "# IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL\n"
          "# Fields: \n"
          "#    IDX:   Zero-based index \n"
          "#    -R-:   Red color component (0..255)\n"
          "#    -G-:   Green color component (0..255)\n"
          "#    -B-:   Blue color component (0..255)\n"
          "#    -A-:   Label transparency (0.00 .. 1.00)\n"
          "#    VIS:   Label visibility (0 or 1)\n"
          "#    IDX:   Label mesh visibility (0 or 1)\n"
          "#  LABEL:   Label description \n"
          "################################################\n",
          f.fp);
    for (int i = 0; i < t->n; i++) {
        const dolor_label *l = &t->labels[i];
        fprintf(f.fp, "%5d %5d %4d %4d %8.6g %2d %2d    \"%s\"\n", l->index, l->rgb[0], l->rgb[1], l->rgb[2],
                l->alpha, l->visible ? 1 : 0, l->mesh_visible ? 1 : 0, l->name);
    }
    return dolor_outfile_commit(&f);
}

dolor_status dolor_label_table_from_classes(const char *const *names, int n, dolor_label_table **out)
{
    *out = NULL;
    if (!names || n < 1 || n > 65536)
        return dolor_error(DOLOR_EINVAL, "label table: %d class names (must be 1..65536)", n);
    dolor_label_table *t = NULL;
    dolor_status s = dolor_label_table_create(n, &t);
    if (s)
        return s;
    for (int i = 0; i < n; i++) {
        dolor_label *l = &t->labels[i];
        if (!names[i] || strlen(names[i]) >= sizeof l->name || strpbrk(names[i], "\"\n\r")) {
            dolor_label_table_free(t);
            return dolor_error(DOLOR_EINVAL, "label table: class name %d is empty, too long or holds quotes/newlines",
                               i);
        }
        l->index = i;
        dolor_label_colour(i, l->rgb);
        l->alpha = i == 0 ? 0.0 : 1.0;
        l->visible = i != 0;
        l->mesh_visible = i != 0;
        snprintf(l->name, sizeof l->name, "%s", names[i]);
    }
    *out = t;
    return DOLOR_OK;
}

static int cmp_index(const void *a, const void *b)
{
    const dolor_label *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

dolor_status dolor_label_table_classes(const dolor_label_table *t, int include_clear, char ***names, int **values,
                                       int *n)
{
    *names = NULL;
    *values = NULL;
    *n = 0;
    if (!t)
        return dolor_error(DOLOR_EINVAL, "label table: NULL");
    dolor_label *sorted = malloc((size_t)(t->n ? t->n : 1) * sizeof *sorted);
    if (!sorted)
        return dolor_error(DOLOR_ENOMEM, "label table: out of memory");
    memcpy(sorted, t->labels, (size_t)t->n * sizeof *sorted);
    qsort(sorted, (size_t)t->n, sizeof *sorted, cmp_index);
    char **nm = calloc((size_t)t->n + 1, sizeof *nm);
    int *vals = calloc((size_t)t->n + 1, sizeof *vals);
    if (!nm || !vals) {
        free(sorted);
        free(nm);
        free(vals);
        return dolor_error(DOLOR_ENOMEM, "label table: out of memory");
    }
    int k = 0;
    for (int i = 0; i < t->n; i++) {
        if (sorted[i].index == 0 && !include_clear)
            continue;
        nm[k] = strdup(sorted[i].name);
        if (!nm[k]) {
            free(sorted);
            dolor_label_names_free(nm);
            free(vals);
            return dolor_error(DOLOR_ENOMEM, "label table: out of memory");
        }
        vals[k++] = sorted[i].index;
    }
    free(sorted);
    *names = nm;
    *values = vals;
    *n = k;
    return DOLOR_OK;
}

void dolor_label_names_free(char **names)
{
    if (!names)
        return;
    for (char **p = names; *p; p++)
        free(*p);
    free(names);
}

/* "<dir>/<stem>" of an image path, without .nii.gz/.nii/.mha/.mhd/.png/... */
static size_t stem_len(const char *path)
{
    static const char *exts[] = {".nii.gz", ".nii", ".mha", ".mhd", ".png", ".jpg", ".jpeg", ".dcm"};
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof exts / sizeof *exts; i++) {
        size_t m = strlen(exts[i]);
        if (n > m && strcasecmp(path + n - m, exts[i]) == 0)
            return n - m;
    }
    return n;
}

dolor_status dolor_label_table_write_beside(const char *image_path, const dolor_label_table *t, char *written,
                                             size_t cap)
{
    size_t sl = stem_len(image_path);
    size_t need = sl + sizeof "_labels.txt";
    char *p = malloc(need);
    if (!p)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    snprintf(p, need, "%.*s_labels.txt", (int)sl, image_path);
    dolor_status s = dolor_label_table_write(p, t);
    if (!s && written && cap)
        snprintf(written, cap, "%s", p);
    free(p);
    return s;
}
