/* Classification datasets: a CSV listing (image, label, patient) or one folder per class, 2D images or
 * 3D volumes preprocessed into memory (grey, bilinear / trilinear resize, z-score), patient-level
 * stratified splits, seeded 2D / 3D augmentation and batch assembly. */
#include "data_priv.h"
#include "dolor/io.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct dolor_cls_dataset {
    size_t n;
    int dims, depth, height, width, num_classes;
    char **paths, **patients;
    int *labels;
    char **class_names;
    float *images; /* [n, depth*height*width] */
};

void dolor_cls_config_default(dolor_cls_config *c)
{
    memset(c, 0, sizeof *c);
    c->spatial_dims = 2;
}

void dolor_cls_augment_default(dolor_cls_augment *a)
{
    a->flip_w = a->flip_h = a->flip_d = 1;
    a->rotate_deg = 10;
    a->scale = 0.1;
    a->shift = 0.1;
}

void dolor_cls_dataset_free(dolor_cls_dataset *ds)
{
    if (!ds)
        return;
    for (size_t i = 0; i < ds->n; i++) {
        free(ds->paths ? ds->paths[i] : NULL);
        free(ds->patients ? ds->patients[i] : NULL);
    }
    for (int k = 0; ds->class_names && k < ds->num_classes; k++)
        free(ds->class_names[k]);
    free(ds->paths);
    free(ds->patients);
    free(ds->labels);
    free(ds->class_names);
    dolor_free_aligned(ds->images);
    free(ds);
}

size_t dolor_cls_dataset_count(const dolor_cls_dataset *ds) { return ds->n; }
int dolor_cls_dataset_num_classes(const dolor_cls_dataset *ds) { return ds->num_classes; }
int dolor_cls_dataset_spatial_dims(const dolor_cls_dataset *ds) { return ds->dims; }
const char *dolor_cls_dataset_class_name(const dolor_cls_dataset *ds, int k)
{
    return k >= 0 && k < ds->num_classes ? ds->class_names[k] : NULL;
}
void dolor_cls_dataset_size(const dolor_cls_dataset *ds, int *d, int *h, int *w)
{
    *d = ds->depth;
    *h = ds->height;
    *w = ds->width;
}
int dolor_cls_dataset_label(const dolor_cls_dataset *ds, size_t i) { return i < ds->n ? ds->labels[i] : -1; }
const char *dolor_cls_dataset_path(const dolor_cls_dataset *ds, size_t i) { return i < ds->n ? ds->paths[i] : NULL; }
const char *dolor_cls_dataset_patient(const dolor_cls_dataset *ds, size_t i)
{
    return i < ds->n ? ds->patients[i] : NULL;
}
const float *dolor_cls_dataset_image(const dolor_cls_dataset *ds, size_t i)
{
    return i < ds->n ? ds->images + i * (size_t)ds->depth * ds->height * ds->width : NULL;
}

/* ------------------------------------------------------------------ listing ---- */

typedef struct listing {
    size_t n, cap;
    char **path, **label, **patient;
    int *line;
} listing;

static void listing_free(listing *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->path[i]);
        free(l->label[i]);
        free(l->patient[i]);
    }
    free(l->path);
    free(l->label);
    free(l->patient);
    free(l->line);
    memset(l, 0, sizeof *l);
}

static int listing_add(listing *l, char *path, char *label, char *patient, int line)
{
    if (!path || !label || !patient) {
        free(path);
        free(label);
        free(patient);
        return 0;
    }
    if (l->n == l->cap) {
        size_t c = l->cap ? 2 * l->cap : 64;
        char **a = realloc(l->path, c * sizeof *a);
        if (a)
            l->path = a;
        char **b = realloc(l->label, c * sizeof *b);
        if (b)
            l->label = b;
        char **d = realloc(l->patient, c * sizeof *d);
        if (d)
            l->patient = d;
        int *e = realloc(l->line, c * sizeof *e);
        if (e)
            l->line = e;
        if (!a || !b || !d || !e) {
            free(path);
            free(label);
            free(patient);
            return 0;
        }
        l->cap = c;
    }
    l->path[l->n] = path;
    l->label[l->n] = label;
    l->patient[l->n] = patient;
    l->line[l->n] = line;
    l->n++;
    return 1;
}

static char *join_path(const char *dir, const char *name)
{
    if (name[0] == '/' || !dir || !dir[0])
        return strdup(name);
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static char *dir_of(const char *path)
{
    const char *s = strrchr(path, '/');
    if (!s)
        return strdup(".");
    size_t n = (size_t)(s - path);
    char *d = malloc(n + 2);
    if (!d)
        return NULL;
    if (n == 0)
        strcpy(d, "/");
    else {
        memcpy(d, path, n);
        d[n] = 0;
    }
    return d;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = 0;
    size_t i = 0;
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    if (i)
        memmove(s, s + i, n - i + 1);
}

/* One CSV record starting at *p (RFC 4180: fields separated by commas, optionally double-quoted with ""
 * escaping; a record ends at an unquoted newline). Fields are written NUL-terminated into buf (which
 * must hold the record), their starts into f[0..*nf-1] (at most maxf; more -> *nf = maxf + 1).
 * Returns 0 at end of input; *line counts newlines. */
static int csv_record(const char **p, const char *end, char *buf, char **f, int maxf, int *nf, int *line)
{
    const char *s = *p;
    if (s >= end)
        return 0;
    int n = 0, q = 0;
    char *o = buf;
    f[n++] = o;
    while (s < end) {
        char c = *s++;
        if (q) {
            if (c == '"') {
                if (s < end && *s == '"')
                    *o++ = *s++;
                else
                    q = 0;
            } else {
                if (c == '\n')
                    (*line)++;
                *o++ = c;
            }
        } else if (c == '"')
            q = 1;
        else if (c == ',') {
            *o++ = 0;
            if (n < maxf)
                f[n] = o;
            n++;
        } else if (c == '\n') {
            (*line)++;
            break;
        } else
            *o++ = c;
    }
    *o = 0;
    *p = s;
    *nf = n > maxf ? maxf + 1 : n;
    return 1;
}

static dolor_status read_csv(const dolor_cls_config *cfg, listing *l)
{
    const char *path = cfg->csv;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return dolor_error(errno == ENOENT ? DOLOR_ENOTFOUND : DOLOR_EIO, "%s: cannot open (%s)", path,
                           strerror(errno));
    char *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 65536 > cap) {
            char *d = realloc(data, cap = cap ? 2 * cap : 65536 * 2);
            if (!d) {
                free(data);
                fclose(fp);
                return dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
            }
            data = d;
        }
        size_t r = fread(data + len, 1, cap - len - 1, fp);
        len += r;
        if (r == 0)
            break;
    }
    fclose(fp);
    data[len] = 0;
    const char *p = data, *end = data + len;
    if (len >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF)
        p += 3; /* UTF-8 byte-order mark */
    enum { MAXF = 256 };
    char *f[MAXF], *buf = malloc(len + 2);
    char *base = dir_of(path);
    dolor_status st = DOLOR_OK;
    if (!buf || !base) {
        st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    int line = 1, nf = 0;
    while (csv_record(&p, end, buf, f, MAXF, &nf, &line) && nf == 1 && (trim(f[0]), !f[0][0]))
        ;
    if (nf == 0 || (nf == 1 && !f[0][0])) {
        st = dolor_error(DOLOR_EINVAL, "%s: empty (no header line)", path);
        goto done;
    }
    if (nf > MAXF) {
        st = dolor_error(DOLOR_EINVAL, "%s: more than %d columns", path, MAXF);
        goto done;
    }
    const char *want[3] = {cfg->image_col ? cfg->image_col : "image", cfg->label_col ? cfg->label_col : "label",
                           cfg->patient_col ? cfg->patient_col : "patient"};
    int col[3] = {-1, -1, -1}, ncol = nf;
    char cols[512] = "";
    for (int i = 0; i < nf; i++) {
        trim(f[i]);
        for (int k = 0; k < 3; k++)
            if (col[k] < 0 && strcmp(f[i], want[k]) == 0)
                col[k] = i;
        size_t cl = strlen(cols);
        snprintf(cols + cl, sizeof cols - cl, "%s%s", i ? ", " : "", f[i]);
    }
    for (int k = 0; k < 2; k++)
        if (col[k] < 0) {
            st = dolor_error(DOLOR_EINVAL, "%s: no column \"%s\" (columns: %s)", path, want[k], cols);
            goto done;
        }
    if (col[2] < 0 && cfg->patient_col) {
        st = dolor_error(DOLOR_EINVAL, "%s: no column \"%s\" (columns: %s)", path, want[2], cols);
        goto done;
    }
    for (;;) {
        int at = line;
        if (!csv_record(&p, end, buf, f, MAXF, &nf, &line))
            break;
        if (nf == 1)
            trim(f[0]);
        if (nf == 1 && !f[0][0])
            continue; /* blank line (also "\r" alone) */
        if (nf != ncol) {
            st = dolor_error(DOLOR_EINVAL, "%s:%d: %d fields, the header has %d", path, at, nf > MAXF ? MAXF : nf,
                             ncol);
            goto done;
        }
        for (int k = 0; k < 3; k++)
            if (col[k] >= 0)
                trim(f[col[k]]);
        if (!f[col[0]][0] || !f[col[1]][0]) {
            st = dolor_error(DOLOR_EINVAL, "%s:%d: empty %s", path, at, !f[col[0]][0] ? want[0] : want[1]);
            goto done;
        }
        char *img = join_path(base, f[col[0]]);
        char *pat = col[2] >= 0 && f[col[2]][0] ? strdup(f[col[2]]) : strdup(f[col[0]]);
        if (!listing_add(l, img, strdup(f[col[1]]), pat, at)) {
            st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
            goto done;
        }
    }
    if (l->n == 0)
        st = dolor_error(DOLOR_EINVAL, "%s: no cases after the header", path);
done:
    free(buf);
    free(base);
    free(data);
    return st;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* sorted names in a folder (no '.' names); *out caller-freed */
static dolor_status list_dir(const char *dir, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return dolor_error(errno == ENOENT ? DOLOR_ENOTFOUND : DOLOR_EIO, "%s: cannot open folder (%s)", dir,
                           strerror(errno));
    size_t cap = 0;
    char **v = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (*n == cap) {
            char **w = realloc(v, (cap = cap ? 2 * cap : 32) * sizeof *w);
            if (!w)
                break;
            v = w;
        }
        if (!(v[*n] = strdup(e->d_name)))
            break;
        (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(v, *n, sizeof *v, cmp_str);
    *out = v;
    return DOLOR_OK;
}

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static char *stem_of(const char *name)
{
    static const char *exts[] = {".nii.gz", ".nii", ".mha", ".mhd", ".png", ".jpg", ".jpeg", ".dcm"};
    size_t L = dolor_path_stem_len(name, exts, 8, NULL);
    char *s = strdup(name);
    if (s && L > 0 && L < strlen(name))
        s[L] = 0;
    return s;
}

static dolor_status read_dir(const char *root, listing *l)
{
    char **cls = NULL;
    size_t nc = 0;
    dolor_status st = list_dir(root, &cls, &nc);
    if (st)
        return st;
    for (size_t c = 0; c < nc && !st; c++) {
        char *cdir = join_path(root, cls[c]);
        if (!cdir) {
            st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", root);
            break;
        }
        if (!is_dir(cdir)) {
            free(cdir);
            continue; /* a file beside the class folders (a README, a CSV) */
        }
        char **files = NULL;
        size_t nfi = 0;
        st = list_dir(cdir, &files, &nfi);
        for (size_t i = 0; i < nfi && !st; i++)
            if (!listing_add(l, join_path(cdir, files[i]), strdup(cls[c]), stem_of(files[i]), 0))
                st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", root);
        for (size_t i = 0; i < nfi; i++)
            free(files[i]);
        free(files);
        free(cdir);
    }
    for (size_t c = 0; c < nc; c++)
        free(cls[c]);
    free(cls);
    if (!st && l->n == 0)
        st = dolor_error(DOLOR_EINVAL, "%s: no class folders with cases (expected %s/<class>/<case>)", root, root);
    return st;
}

/* label strings -> class indices and names */
static int parse_int(const char *s, long *v)
{
    char *e;
    errno = 0;
    *v = strtol(s, &e, 10);
    return e != s && !*e && errno == 0;
}

static dolor_status resolve_labels(const dolor_cls_config *cfg, const char *src, const listing *l,
                                   dolor_cls_dataset *ds)
{
    ds->labels = malloc(l->n * sizeof *ds->labels);
    if (!ds->labels)
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", src);
    int K = 0;
    char **names = NULL;
    if (cfg->class_names && cfg->num_classes > 0) {
        K = cfg->num_classes;
        names = calloc((size_t)K, sizeof *names);
        for (int k = 0; names && k < K; k++)
            names[k] = strdup(cfg->class_names[k] ? cfg->class_names[k] : "");
        char all[512] = "";
        for (int k = 0; names && k < K; k++) {
            size_t al = strlen(all);
            snprintf(all + al, sizeof all - al, "%s%s", k ? ", " : "", names[k]);
        }
        for (size_t i = 0; names && i < l->n; i++) {
            int found = -1;
            long v;
            for (int k = 0; k < K && found < 0; k++)
                if (names[k] && strcmp(names[k], l->label[i]) == 0)
                    found = k;
            if (found < 0 && parse_int(l->label[i], &v) && v >= 0 && v < K)
                found = (int)v;
            if (found < 0) {
                for (int k = 0; k < K; k++)
                    free(names[k]);
                free(names);
                if (l->line[i])
                    return dolor_error(DOLOR_EINVAL, "%s:%d: label \"%s\" is not one of %s", src, l->line[i],
                                       l->label[i], all);
                return dolor_error(DOLOR_EINVAL, "%s: label \"%s\" is not one of %s", l->path[i], l->label[i], all);
            }
            ds->labels[i] = found;
        }
    } else {
        int all_int = 1;
        long mx = -1, v;
        for (size_t i = 0; i < l->n && all_int; i++) {
            if (!parse_int(l->label[i], &v) || v < 0 || v > 254)
                all_int = 0;
            else if (v > mx)
                mx = v;
        }
        if (all_int) {
            K = (int)mx + 1;
            names = calloc((size_t)(K > 0 ? K : 1), sizeof *names);
            for (int k = 0; names && k < K; k++) {
                char b[16];
                snprintf(b, sizeof b, "%d", k);
                names[k] = strdup(b);
            }
            for (size_t i = 0; i < l->n; i++) {
                parse_int(l->label[i], &v);
                ds->labels[i] = (int)v;
            }
        } else {
            char **u = malloc(l->n * sizeof *u);
            if (!u)
                return dolor_error(DOLOR_ENOMEM, "%s: out of memory", src);
            memcpy(u, l->label, l->n * sizeof *u);
            qsort(u, l->n, sizeof *u, cmp_str);
            size_t nu = 0;
            for (size_t i = 0; i < l->n; i++)
                if (nu == 0 || strcmp(u[nu - 1], u[i]) != 0)
                    u[nu++] = u[i];
            if (nu > 255) {
                free(u);
                return dolor_error(DOLOR_EINVAL, "%s: %zu distinct labels (at most 255 classes)", src, nu);
            }
            K = (int)nu;
            names = calloc(nu, sizeof *names);
            for (size_t k = 0; names && k < nu; k++)
                names[k] = strdup(u[k]);
            for (size_t i = 0; names && i < l->n; i++) {
                size_t lo = 0, hi = nu;
                while (hi - lo > 1) {
                    size_t mid = (lo + hi) / 2;
                    if (strcmp(u[mid], l->label[i]) <= 0)
                        lo = mid;
                    else
                        hi = mid;
                }
                ds->labels[i] = (int)lo;
            }
            free(u);
        }
    }
    if (!names)
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", src);
    ds->class_names = names;
    ds->num_classes = K;
    for (int k = 0; k < K; k++)
        if (!names[k])
            return dolor_error(DOLOR_ENOMEM, "%s: out of memory", src);
    if (K < 2)
        return dolor_error(DOLOR_EINVAL, "%s: %d class%s (\"%s\"); a classifier needs at least 2", src, K,
                           K == 1 ? "" : "es", K ? names[0] : "");
    return DOLOR_OK;
}

/* ------------------------------------------------------------ preprocessing ---- */

/* grey volume [nz, ny, nx] of an image (first component, or BT.601 luma for RGB) */
static dolor_status grey_volume(const dolor_image *img, float *g, const char *name)
{
    size_t n = dolor_image_nvox(img);
    int c = img->ncomp;
    for (size_t i = 0; i < n; i++) {
        double v = c >= 3 ? 0.299 * dolor_image_get(img, i * c) + 0.587 * dolor_image_get(img, i * c + 1) +
                                0.114 * dolor_image_get(img, i * c + 2)
                          : dolor_image_get(img, i * c);
        if (!isfinite(v))
            return dolor_error(DOLOR_ENUMERIC, "%s: voxel %zu is %g", name, i, v);
        g[i] = (float)v;
    }
    return DOLOR_OK;
}

static dolor_status preprocess_3d(const dolor_image *img, int D, int H, int W, float *out, const char *name)
{
    if (img->ndim == 4 && img->size[3] != 1)
        return dolor_error(DOLOR_ESHAPE, "%s: %lld frames (a 4D series); one 3D volume per case", name,
                           (long long)img->size[3]);
    int nx = (int)img->size[0], ny = (int)img->size[1], nz = img->ndim >= 3 ? (int)img->size[2] : 1;
    size_t nv = (size_t)nx * ny * nz;
    float *g = malloc(nv * sizeof *g);
    dolor_status st = DOLOR_OK;
    if (!g)
        st = dolor_error(DOLOR_ENOMEM, "%s: out of memory resizing %dx%dx%d", name, nx, ny, nz);
    if (!st)
        st = grey_volume(img, g, name);
    if (!st && (st = dolor_resize_trilinear(g, 1, nz, ny, nx, out, D, H, W)))
        st = dolor_error_prefix(st, "%s", name);
    if (!st)
        dolor_data_zscore(out, (size_t)D * H * W);
    free(g);
    return st;
}

static dolor_status load_case(const dolor_cls_dataset *ds, const char *path, float *out)
{
    dolor_image *img = NULL;
    dolor_status st = dolor_image_read(path, &img);
    if (st)
        return dolor_error_prefix(st, "%s", path);
    if (ds->dims == 2 && img->ndim >= 3 && img->size[2] > 1)
        st = dolor_error(DOLOR_ESHAPE, "%s: a 3D volume (%lldx%lldx%lld) in a 2D dataset (a 3D network size, "
                         "depth x height x width, reads it)", path, (long long)img->size[0], (long long)img->size[1],
                         (long long)img->size[2]);
    else if (ds->dims == 2) {
        st = dolor_preprocess_image(img, ds->height, ds->width, out);
        if (st)
            st = dolor_error_prefix(st, "%s", path);
    } else
        st = preprocess_3d(img, ds->depth, ds->height, ds->width, out, path);
    dolor_image_free(img);
    return st;
}

dolor_status dolor_cls_dataset_open(const dolor_cls_config *cfg, dolor_cls_dataset **out)
{
    *out = NULL;
    if (!cfg || (!cfg->csv == !cfg->dir))
        return dolor_error(DOLOR_EINVAL, "classification dataset: give exactly one of a CSV listing and a folder");
    if (cfg->spatial_dims != 2 && cfg->spatial_dims != 3)
        return dolor_error(DOLOR_EINVAL, "classification dataset: spatial_dims %d is not 2 or 3", cfg->spatial_dims);
    int D = cfg->spatial_dims == 3 ? (cfg->depth ? cfg->depth : 64) : 1;
    int H = cfg->height ? cfg->height : (cfg->spatial_dims == 3 ? 128 : 224);
    int W = cfg->width ? cfg->width : (cfg->spatial_dims == 3 ? 128 : 224);
    if (D < 1 || H < 1 || W < 1 || D > 4096 || H > 16384 || W > 16384)
        return dolor_error(DOLOR_EINVAL, "classification dataset: network size %dx%dx%d out of range", D, H, W);
    if (cfg->num_classes < 0 || cfg->num_classes > 255 || (cfg->num_classes > 0 && !cfg->class_names))
        return dolor_error(DOLOR_EINVAL, "classification dataset: num_classes %d needs that many class_names",
                           cfg->num_classes);
    const char *src = cfg->csv ? cfg->csv : cfg->dir;
    listing l = {0};
    dolor_status st = cfg->csv ? read_csv(cfg, &l) : read_dir(cfg->dir, &l);
    dolor_cls_dataset *ds = NULL;
    if (!st) {
        ds = calloc(1, sizeof *ds);
        if (!ds)
            st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", src);
    }
    if (!st) {
        ds->dims = cfg->spatial_dims;
        ds->depth = D;
        ds->height = H;
        ds->width = W;
        st = resolve_labels(cfg, src, &l, ds);
    }
    size_t per = (size_t)D * H * W;
    if (!st) {
        ds->images = dolor_alloc_aligned(l.n * per * sizeof(float));
        if (!ds->images)
            st = dolor_error(DOLOR_ENOMEM, "%s: out of memory for %zu cases of %dx%dx%d", src, l.n, D, H, W);
    }
    if (!st) {
        /* the listing's strings move into the dataset */
        ds->n = l.n;
        ds->paths = l.path;
        ds->patients = l.patient;
        l.path = l.patient = NULL;
        for (size_t i = 0; i < l.n; i++)
            free(l.label[i]);
        free(l.label);
        free(l.line);
        l.label = NULL;
        l.line = NULL;
        l.n = 0;
        char **msg = calloc(ds->n, sizeof *msg);
        dolor_status *sts = calloc(ds->n, sizeof *sts);
        if (!msg || !sts) {
            free(msg);
            free(sts);
            st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", src);
        } else {
            dolor_progress *pb = dolor_progress_create("loading", (int64_t)ds->n);
            int64_t done = 0;
#pragma omp parallel for schedule(dynamic, 1)
            for (size_t i = 0; i < ds->n; i++) {
                sts[i] = load_case(ds, ds->paths[i], ds->images + i * per);
                if (sts[i])
                    msg[i] = strdup(dolor_errmsg());
                int64_t d;
#pragma omp atomic capture
                d = ++done;
#pragma omp critical(dolor_cls_progress)
                dolor_progress_update(pb, d, NULL);
            }
            for (size_t i = 0; i < ds->n && !st; i++)
                if (sts[i])
                    st = dolor_error(sts[i], "%s", msg[i] ? msg[i] : "cannot load");
            dolor_progress_finish(pb, st ? "failed" : NULL);
            for (size_t i = 0; i < ds->n; i++)
                free(msg[i]);
            free(msg);
            free(sts);
        }
    }
    listing_free(&l);
    if (st) {
        dolor_cls_dataset_free(ds);
        return st;
    }
    *out = ds;
    return DOLOR_OK;
}

/* ------------------------------------------------------------------- splits ---- */

typedef struct group {
    const char *patient;
    int label;
    size_t first;
} group;

static int cmp_group_patient(const void *a, const void *b)
{
    const group *x = a, *y = b;
    int c = strcmp(x->patient, y->patient);
    return c ? c : (x->first < y->first ? -1 : x->first > y->first);
}

/* patient groups (each labelled by its first case), then dealt class by class in seeded order: order[p] is
 * the group at position p; *cls_start[k] the first position of class k (k = 0..K) */
static dolor_status make_groups(const dolor_cls_dataset *ds, uint64_t seed, group **gout, size_t *ng, int **order,
                                size_t **cls_start)
{
    group *g = malloc(ds->n * sizeof *g);
    if (!g)
        return dolor_error(DOLOR_ENOMEM, "split: out of memory");
    for (size_t i = 0; i < ds->n; i++)
        g[i] = (group){ds->patients[i], ds->labels[i], i};
    qsort(g, ds->n, sizeof *g, cmp_group_patient);
    size_t n = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (n == 0 || strcmp(g[n - 1].patient, g[i].patient) != 0)
            g[n++] = g[i];
    /* groups in order of their first case (independent of patient-name sorting), then by class */
    int *ord = malloc(n * sizeof *ord);
    size_t *cs = calloc((size_t)ds->num_classes + 1, sizeof *cs);
    if (!ord || !cs) {
        free(g);
        free(ord);
        free(cs);
        return dolor_error(DOLOR_ENOMEM, "split: out of memory");
    }
    /* group indices by first case (so the order does not depend on how patient names sort) */
    size_t *byfirst = malloc(ds->n * sizeof *byfirst);
    if (!byfirst) {
        free(g);
        free(ord);
        free(cs);
        return dolor_error(DOLOR_ENOMEM, "split: out of memory");
    }
    for (size_t i = 0; i < ds->n; i++)
        byfirst[i] = (size_t)-1;
    for (size_t j = 0; j < n; j++)
        byfirst[g[j].first] = j;
    size_t p = 0;
    dolor_rng r;
    dolor_rng_seed(&r, seed);
    for (int k = 0; k < ds->num_classes; k++) {
        cs[k] = p;
        size_t start = p;
        for (size_t c = 0; c < ds->n; c++)
            if (byfirst[c] != (size_t)-1 && g[byfirst[c]].label == k)
                ord[p++] = (int)byfirst[c];
        dolor_rng_shuffle_int(&r, ord + start, p - start);
    }
    free(byfirst);
    cs[ds->num_classes] = p;
    *gout = g;
    *ng = n;
    *order = ord;
    *cls_start = cs;
    return DOLOR_OK;
}

/* cases of the groups with side[j] == 1 -> val, others -> train */
static dolor_status assign(const dolor_cls_dataset *ds, const group *g, size_t ng, const unsigned char *side,
                           size_t **train_idx, size_t *n_train, size_t **val_idx, size_t *n_val)
{
    unsigned char *cs = calloc(ds->n, 1);
    size_t *t = malloc(ds->n * sizeof *t), *v = malloc(ds->n * sizeof *v);
    if (!cs || !t || !v) {
        free(cs);
        free(t);
        free(v);
        return dolor_error(DOLOR_ENOMEM, "split: out of memory");
    }
    size_t nt = 0, nv = 0;
    for (size_t i = 0; i < ds->n; i++) {
        /* binary search the patient's group */
        size_t lo = 0, hi = ng;
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            if (strcmp(g[mid].patient, ds->patients[i]) <= 0)
                lo = mid;
            else
                hi = mid;
        }
        if (side[lo])
            v[nv++] = i;
        else
            t[nt++] = i;
    }
    free(cs);
    *train_idx = t;
    *n_train = nt;
    *val_idx = v;
    *n_val = nv;
    return DOLOR_OK;
}

dolor_status dolor_cls_dataset_split(const dolor_cls_dataset *ds, double val_fraction, uint64_t seed,
                                     size_t **train_idx, size_t *n_train, size_t **val_idx, size_t *n_val)
{
    *train_idx = *val_idx = NULL;
    *n_train = *n_val = 0;
    if (!(val_fraction > 0 && val_fraction < 1))
        return dolor_error(DOLOR_EINVAL, "split: validation fraction %g is not in (0, 1)", val_fraction);
    group *g;
    size_t ng, *cs;
    int *ord;
    dolor_status st = make_groups(ds, seed, &g, &ng, &ord, &cs);
    if (st)
        return st;
    if (ng < 2) {
        free(g);
        free(ord);
        free(cs);
        return dolor_error(DOLOR_EINVAL, "split: %zu patient%s; a split needs at least 2", ng, ng == 1 ? "" : "s");
    }
    unsigned char *side = calloc(ng, 1);
    if (!side) {
        free(g);
        free(ord);
        free(cs);
        return dolor_error(DOLOR_ENOMEM, "split: out of memory");
    }
    size_t nv = 0;
    for (int k = 0; k < ds->num_classes; k++) {
        size_t nk = cs[k + 1] - cs[k], take = (size_t)floor(val_fraction * (double)nk + 0.5);
        if (nk >= 2 && take == 0)
            take = 1; /* every class with 2 patients or more is validated */
        if (nk >= 2 && take == nk)
            take = nk - 1; /* and trained on */
        for (size_t j = 0; j < take; j++)
            side[ord[cs[k] + j]] = 1;
        nv += take;
    }
    if (nv == 0)
        side[ord[0]] = 1; /* at least one validation group */
    else if (nv == ng)
        side[ord[0]] = 0; /* and one training group */
    st = assign(ds, g, ng, side, train_idx, n_train, val_idx, n_val);
    free(side);
    free(g);
    free(ord);
    free(cs);
    return st;
}

dolor_status dolor_cls_dataset_kfold(const dolor_cls_dataset *ds, int k, int fold, uint64_t seed, size_t **train_idx,
                                     size_t *n_train, size_t **val_idx, size_t *n_val)
{
    *train_idx = *val_idx = NULL;
    *n_train = *n_val = 0;
    group *g;
    size_t ng, *cs;
    int *ord;
    dolor_status st = make_groups(ds, seed, &g, &ng, &ord, &cs);
    if (st)
        return st;
    unsigned char *side = NULL;
    if (k < 2 || (size_t)k > ng || fold < 0 || fold >= k)
        st = dolor_error(DOLOR_EINVAL, "k-fold: k %d, fold %d with %zu patients (need 2 <= k <= patients, 0 <= fold < k)",
                         k, fold, ng);
    else if (!(side = calloc(ng, 1)))
        st = dolor_error(DOLOR_ENOMEM, "k-fold: out of memory");
    if (!st) {
        for (size_t p = 0; p < ng; p++)
            side[ord[p]] = (int)(p % (size_t)k) == fold;
        st = assign(ds, g, ng, side, train_idx, n_train, val_idx, n_val);
    }
    free(side);
    free(g);
    free(ord);
    free(cs);
    return st;
}

/* ------------------------------------------------------------- augmentation ---- */

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* flips, axial rotation, intensity on one volume [D, H, W]; slice: H*W floats of scratch */
static void augment_3d(const dolor_cls_augment *a, dolor_rng *r, float *v, int D, int H, int W, float *slice)
{
    double u_fw = dolor_rng_uniform(r), u_fh = dolor_rng_uniform(r), u_fd = dolor_rng_uniform(r);
    double ang = (2 * dolor_rng_uniform(r) - 1) * a->rotate_deg;
    double sc = 1 + (2 * dolor_rng_uniform(r) - 1) * a->scale, sh = (2 * dolor_rng_uniform(r) - 1) * a->shift;
    int fw = a->flip_w && u_fw < 0.5, fh = a->flip_h && u_fh < 0.5, fd = a->flip_d && u_fd < 0.5;
    size_t HW = (size_t)H * W, n = HW * (size_t)D;
    if (fw)
        for (size_t row = 0; row < (size_t)D * H; row++) {
            float *p = v + row * W;
            for (int x = 0; x < W / 2; x++) {
                float t = p[x];
                p[x] = p[W - 1 - x];
                p[W - 1 - x] = t;
            }
        }
    if (fh)
        for (int z = 0; z < D; z++)
            for (int y = 0; y < H / 2; y++) {
                float *p = v + z * HW + (size_t)y * W, *q = v + z * HW + (size_t)(H - 1 - y) * W;
                for (int x = 0; x < W; x++) {
                    float t = p[x];
                    p[x] = q[x];
                    q[x] = t;
                }
            }
    if (fd)
        for (int z = 0; z < D / 2; z++) {
            float *p = v + z * HW, *q = v + (size_t)(D - 1 - z) * HW;
            for (size_t j = 0; j < HW; j++) {
                float t = p[j];
                p[j] = q[j];
                q[j] = t;
            }
        }
    if (ang != 0) {
        float mn = v[0];
        for (size_t j = 1; j < n; j++)
            mn = v[j] < mn ? v[j] : mn;
        /* output (x, y) samples the input at the inverse rotation about the slice centre */
        double th = ang * M_PI / 180.0, c = cos(th), s = sin(th), cx = (W - 1) / 2.0, cy = (H - 1) / 2.0;
        for (int z = 0; z < D; z++) {
            float *p = v + z * HW;
            memcpy(slice, p, HW * sizeof *slice);
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    double dx = x - cx, dy = y - cy;
                    double sx = c * dx - s * dy + cx, sy = s * dx + c * dy + cy;
                    int x0 = (int)floor(sx), y0 = (int)floor(sy);
                    double lx = sx - x0, ly = sy - y0, acc = 0;
                    for (int j = 0; j < 2; j++)
                        for (int i = 0; i < 2; i++) {
                            int xi = x0 + i, yj = y0 + j;
                            double w = (i ? lx : 1 - lx) * (j ? ly : 1 - ly);
                            float val = xi >= 0 && xi < W && yj >= 0 && yj < H ? slice[(size_t)yj * W + xi] : mn;
                            acc += w * val;
                        }
                    p[(size_t)y * W + x] = (float)acc;
                }
        }
    }
    if (sc != 1 || sh != 0)
        for (size_t j = 0; j < n; j++)
            v[j] = (float)(v[j] * sc + sh);
}

dolor_status dolor_cls_dataset_batch(const dolor_cls_dataset *ds, const size_t *cases, int n,
                                     const dolor_cls_augment *aug, uint64_t seed, int epoch, float *out)
{
    for (int b = 0; b < n; b++)
        if (cases[b] >= ds->n)
            return dolor_error(DOLOR_EINVAL, "batch: case %zu out of range (%zu cases)", cases[b], ds->n);
    const int D = ds->depth, H = ds->height, W = ds->width;
    const size_t per = (size_t)D * H * W;
    void *work = NULL;
    size_t wsz = 0;
    if (aug) {
        wsz = ds->dims == 2 ? dolor_augment_work_size(H, W) : (size_t)H * W * sizeof(float);
        wsz = (wsz + 63) & ~(size_t)63;
        work = dolor_alloc_aligned(wsz * (size_t)(n > 0 ? n : 1));
        if (!work)
            return dolor_error(DOLOR_ENOMEM, "batch: out of memory for augmentation scratch");
    }
#pragma omp parallel for schedule(static)
    for (int b = 0; b < n; b++) {
        float *o = out + (size_t)b * per;
        memcpy(o, ds->images + cases[b] * per, per * sizeof *o);
        if (!aug)
            continue;
        dolor_rng r;
        dolor_rng_seed(&r, mix64(seed ^ mix64(((uint64_t)(unsigned)epoch << 32) ^ (uint64_t)cases[b])));
        void *w = (char *)work + (size_t)b * wsz;
        if (ds->dims == 3)
            augment_3d(aug, &r, o, D, H, W, w);
        else {
            dolor_augment_config ac = {.rotate_deg = aug->rotate_deg, .hflip = aug->flip_w,
                                       .brightness = aug->shift, .contrast = aug->scale, .gamma = 0};
            dolor_augment_apply(&ac, &r, o, NULL, H, W, w);
        }
    }
    dolor_free_aligned(work);
    return DOLOR_OK;
}
