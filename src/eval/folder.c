/* dolor_seg_eval_folders: match label-map files by stem and evaluate them.
 *
 * Each case is reduced to its distinct voxel values and the pixel histogram
 * of (truth value, predicted value) pairs, so the files are read once and the
 * label-to-class mapping (given, or discovered over all files) is applied at
 * the end. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/eval.h"
#include "dolor/image.h"
#include "dolor/io.h"
#include "eval_priv.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_DISTINCT 256
#define MAX_DIST_VALUES 64 /* values per case that get surface distances */

static const char *const label_exts[] = {".nii.gz", ".nii", ".png", ".mha", ".mhd"};

/* Length of the stem of name if it has one of the extensions, else 0. */
static size_t stem_len(const char *name)
{
    return dolor_path_stem_len(name, label_exts, (int)(sizeof label_exts / sizeof *label_exts), NULL);
}

typedef struct entry {
    char *stem;
    char *path;
} entry;

typedef struct listing {
    entry *e;
    size_t n;
} listing;

static void listing_free(listing *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->e[i].stem);
        free(l->e[i].path);
    }
    free(l->e);
    l->e = NULL;
    l->n = 0;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->stem, ((const entry *)b)->stem);
}

static dolor_status list_dir(const char *dir, listing *out)
{
    out->e = NULL;
    out->n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return dolor_error(DOLOR_ENOTFOUND, "%s: cannot open directory", dir);
    size_t cap = 0;
    struct dirent *de;
    dolor_status s = DOLOR_OK;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        size_t sl = stem_len(de->d_name);
        if (sl == 0)
            continue;
        size_t plen = strlen(dir) + strlen(de->d_name) + 2;
        char *path = malloc(plen);
        if (!path) {
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
            break;
        }
        snprintf(path, plen, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (out->n == cap) {
            cap = cap ? 2 * cap : 64;
            entry *e = realloc(out->e, cap * sizeof *e);
            if (!e) {
                free(path);
                s = dolor_error(DOLOR_ENOMEM, "out of memory");
                break;
            }
            out->e = e;
        }
        char *stem = strndup(de->d_name, sl);
        if (!stem) {
            free(path);
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
            break;
        }
        out->e[out->n].stem = stem;
        out->e[out->n].path = path;
        out->n++;
    }
    closedir(d);
    if (s) {
        listing_free(out);
        return s;
    }
    if (out->n)
        qsort(out->e, out->n, sizeof *out->e, cmp_entry);
    for (size_t i = 1; i < out->n; i++) {
        if (strcmp(out->e[i - 1].stem, out->e[i].stem) == 0) {
            s = dolor_error(DOLOR_EINVAL, "%s and %s: two label maps with the same stem '%s'", out->e[i - 1].path,
                            out->e[i].path, out->e[i].stem);
            listing_free(out);
            return s;
        }
    }
    return DOLOR_OK;
}

static const entry *find_stem(const listing *l, const char *stem)
{
    entry key = {(char *)stem, NULL};
    return l->n ? bsearch(&key, l->e, l->n, sizeof *l->e, cmp_entry) : NULL;
}

/* One case: distinct values (both files) and the pair histogram. */
typedef struct case_hist {
    const char *stem;
    int nv;
    int64_t vals[MAX_DISTINCT];
    uint64_t *hist; /* [nv][nv], rows = truth value index */
    double hd95[MAX_DISTINCT], assd[MAX_DISTINCT]; /* per value (mm, or pixels), NaN if absent from one file */
    int spacing_unknown;                           /* the truth file has no pixel size */
} case_hist;

/* Value table for one case: value -> local index. */
typedef struct value_map {
    int16_t lut[65536];
    int nv;
    int64_t vals[MAX_DISTINCT];
} value_map;

static int vm_index(value_map *vm, int64_t v)
{
    if (v < 65536 && vm->lut[v] >= 0)
        return vm->lut[v];
    if (v >= 65536)
        for (int i = 0; i < vm->nv; i++)
            if (vm->vals[i] == v)
                return i;
    if (vm->nv == MAX_DISTINCT)
        return -1;
    vm->vals[vm->nv] = v;
    if (v < 65536)
        vm->lut[v] = (int16_t)vm->nv;
    return vm->nv++;
}

static void vm_reset(value_map *vm)
{
    for (int i = 0; i < vm->nv; i++)
        if (vm->vals[i] < 65536)
            vm->lut[vm->vals[i]] = -1;
    vm->nv = 0;
}

static void size_str(const dolor_image *img, char *buf, size_t n)
{
    int len = snprintf(buf, n, "%lld", (long long)img->size[0]);
    for (int d = 1; d < img->ndim && len > 0 && (size_t)len < n; d++)
        len += snprintf(buf + len, n - (size_t)len, "x%lld", (long long)img->size[d]);
}

/* Map every voxel of img to a local index in vm, into idx[nvox]. */
static dolor_status index_voxels(const dolor_image *img, const char *path, value_map *vm, uint8_t *idx)
{
    size_t nvox = dolor_image_nvox(img);
    if (img->dtype == DOLOR_U8) {
        const uint8_t *p = img->data;
        for (size_t i = 0; i < nvox; i++) {
            int j = vm->lut[p[i]];
            if (j < 0)
                j = vm_index(vm, p[i]);
            if (j < 0)
                return dolor_error(DOLOR_EINVAL, "%s: more than %d distinct values (is it a label map?)", path,
                                   MAX_DISTINCT);
            idx[i] = (uint8_t)j;
        }
        return DOLOR_OK;
    }
    for (size_t i = 0; i < nvox; i++) {
        double v = dolor_image_get(img, i);
        if (!(v >= 0) || v != floor(v) || v > 9.0e15)
            return dolor_error(DOLOR_EINVAL, "%s: value %g at voxel %zu is not a label (a non-negative integer)", path,
                               v, i);
        int j = vm_index(vm, (int64_t)v);
        if (j < 0)
            return dolor_error(DOLOR_EINVAL, "%s: more than %d distinct values (is it a label map?)", path,
                               MAX_DISTINCT);
        idx[i] = (uint8_t)j;
    }
    return DOLOR_OK;
}

static dolor_status read_label_map(const char *path, dolor_image **img)
{
    dolor_status s = dolor_image_read(path, img);
    if (s)
        return s;
    if ((*img)->ncomp != 1) {
        s = dolor_error(DOLOR_EUNSUPPORTED, "%s: %d components per pixel; a label map needs 1 (palette or grey)", path,
                        (*img)->ncomp);
        dolor_image_free(*img);
        *img = NULL;
    }
    return s;
}

/* Read one truth/pred pair into h. */
static dolor_status read_case(const char *tpath, const char *ppath, value_map *vm, case_hist *h)
{
    dolor_image *ti = NULL, *pi = NULL;
    uint8_t *tidx = NULL, *pidx = NULL;
    dolor_status s = read_label_map(tpath, &ti);
    if (!s)
        s = read_label_map(ppath, &pi);
    if (!s) {
        int same = 1;
        for (int d = 0; d < DOLOR_IMAGE_MAXDIM; d++)
            same &= ti->size[d] == pi->size[d];
        if (!same) {
            char a[96], b[96];
            size_str(pi, a, sizeof a);
            size_str(ti, b, sizeof b);
            s = dolor_error(DOLOR_ESHAPE, "%s is %s but %s is %s", ppath, a, tpath, b);
        }
    }
    size_t nvox = 0;
    if (!s) {
        nvox = dolor_image_nvox(ti);
        tidx = malloc(nvox);
        pidx = malloc(nvox);
        if (!tidx || !pidx)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    vm_reset(vm);
    if (!s)
        s = index_voxels(ti, tpath, vm, tidx);
    if (!s)
        s = index_voxels(pi, ppath, vm, pidx);
    if (!s) {
        h->nv = vm->nv;
        memcpy(h->vals, vm->vals, (size_t)vm->nv * sizeof *vm->vals);
        h->hist = calloc((size_t)vm->nv * (size_t)vm->nv, sizeof *h->hist);
        if (!h->hist)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    if (!s)
        for (size_t i = 0; i < nvox; i++)
            h->hist[(size_t)tidx[i] * (size_t)h->nv + pidx[i]]++;
    /* surface distances per non-zero value present in both files */
    uint8_t *ma = NULL, *mb = NULL;
    if (!s) {
        ma = malloc(nvox);
        mb = malloc(nvox);
        if (!ma || !mb)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    int ndist = 0;
    h->spacing_unknown = ti ? ti->spacing_unknown : 0;
    for (int j = 0; !s && j < h->nv; j++) {
        h->hd95[j] = h->assd[j] = NAN;
        if (h->vals[j] == 0 || ndist >= MAX_DIST_VALUES || ti->size[3] > 1)
            continue;
        uint64_t in_t = 0, in_p = 0;
        for (int b = 0; b < h->nv; b++) {
            in_t += h->hist[(size_t)j * (size_t)h->nv + (size_t)b];
            in_p += h->hist[(size_t)b * (size_t)h->nv + (size_t)j];
        }
        if (!in_t || !in_p)
            continue;
        for (size_t i = 0; i < nvox; i++) {
            ma[i] = pidx[i] == j;
            mb[i] = tidx[i] == j;
        }
        const int64_t dims[3] = {ti->size[0], ti->size[1], ti->size[2]};
        const double sp[3] = {ti->spacing[0], ti->spacing[1], ti->spacing[2]};
        s = dolor_seg_surface_distances(ma, mb, dims, sp, &h->hd95[j], &h->assd[j]);
        ndist++;
    }
    free(ma);
    free(mb);
    free(tidx);
    free(pidx);
    dolor_image_free(ti);
    dolor_image_free(pi);
    return s;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Class of label value v: 1 + index in labels[], or 0. */
static int class_of(const int64_t *labels, int nlabels, int64_t v)
{
    const int64_t *p = bsearch(&v, labels, (size_t)nlabels, sizeof *labels, cmp_i64);
    return p ? (int)(p - labels) + 1 : 0;
}

dolor_status dolor_seg_eval_folders(const dolor_seg_folder_opts *o, dolor_seg_eval **out)
{
    *out = NULL;
    if (!o || !o->pred_dir || !o->truth_dir)
        return dolor_error(DOLOR_EINVAL, "seg eval: pred_dir and truth_dir are required");
    if (o->labels && (o->nlabels < 1 || o->nlabels > 255))
        return dolor_error(DOLOR_EINVAL, "seg eval: %d labels given (must be 1..255)", o->nlabels);
    if (o->labels && o->class_names && o->nnames != o->nlabels)
        return dolor_error(DOLOR_EINVAL, "seg eval: %d class names for %d labels", o->nnames, o->nlabels);
    for (int i = 0; o->labels && i < o->nlabels; i++) {
        if (o->labels[i] <= 0)
            return dolor_error(DOLOR_EINVAL, "seg eval: label value %ld is not a foreground label (must be > 0)",
                               o->labels[i]);
        for (int j = 0; j < i; j++)
            if (o->labels[j] == o->labels[i])
                return dolor_error(DOLOR_EINVAL, "seg eval: label value %ld given twice", o->labels[i]);
    }

    listing truth = {0}, pred = {0};
    dolor_status s = list_dir(o->truth_dir, &truth);
    if (s)
        return s;
    if ((s = list_dir(o->pred_dir, &pred))) {
        listing_free(&truth);
        return s;
    }
    case_hist *cases = NULL;
    size_t ncases = 0;
    value_map *vm = NULL;
    int64_t *labels = NULL;
    int nlabels = 0;
    char **names = NULL;
    dolor_seg_eval *ev = NULL;
    uint64_t *cm = NULL;

    if (truth.n == 0) {
        s = dolor_error(DOLOR_ENOTFOUND, "%s: no label maps (.png, .nii, .nii.gz, .mha, .mhd)", o->truth_dir);
        goto done;
    }
    /* matching */
    size_t nmissing = 0;
    const char *first_missing = NULL;
    for (size_t i = 0; i < truth.n; i++) {
        if (!find_stem(&pred, truth.e[i].stem)) {
            if (!nmissing)
                first_missing = truth.e[i].path;
            nmissing++;
            if (o->allow_missing && o->warn)
                fprintf(o->warn, "warning: %s has no prediction in %s; skipped\n", truth.e[i].path, o->pred_dir);
        }
    }
    if (nmissing && !o->allow_missing) {
        s = dolor_error(DOLOR_ENOTFOUND, "%s has no prediction in %s (%zu of %zu truth files lack one)", first_missing,
                        o->pred_dir, nmissing, truth.n);
        goto done;
    }
    if (nmissing == truth.n) {
        s = dolor_error(DOLOR_ENOTFOUND, "%s: no prediction matches a truth file in %s", o->pred_dir, o->truth_dir);
        goto done;
    }
    for (size_t i = 0; i < pred.n && o->warn; i++)
        if (!find_stem(&truth, pred.e[i].stem))
            fprintf(o->warn, "warning: %s has no ground truth in %s; ignored\n", pred.e[i].path, o->truth_dir);

    cases = calloc(truth.n, sizeof *cases);
    vm = malloc(sizeof *vm);
    if (!cases || !vm) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    memset(vm->lut, 0xff, sizeof vm->lut);
    vm->nv = 0;
    for (size_t i = 0; i < truth.n; i++) {
        const entry *pe = find_stem(&pred, truth.e[i].stem);
        if (!pe)
            continue;
        cases[ncases].stem = truth.e[i].stem;
        s = read_case(truth.e[i].path, pe->path, vm, &cases[ncases]);
        if (s)
            goto done;
        ncases++;
    }

    /* label values -> classes */
    labels = malloc(255 * sizeof *labels);
    if (!labels) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    if (o->labels) {
        nlabels = o->nlabels;
        for (int i = 0; i < nlabels; i++)
            labels[i] = o->labels[i];
    } else {
        /* union of the non-zero values over all cases */
        size_t cap = 256;
        int64_t *all = malloc(cap * sizeof *all);
        size_t nall = 0;
        if (!all) {
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < ncases; i++) {
            for (int j = 0; j < cases[i].nv; j++) {
                int64_t v = cases[i].vals[j];
                if (v == 0)
                    continue;
                int seen = 0;
                for (size_t a = 0; a < nall && !seen; a++)
                    seen = all[a] == v;
                if (seen)
                    continue;
                if (nall == 255) {
                    free(all);
                    s = dolor_error(DOLOR_EINVAL, "%s, %s: more than 255 distinct non-zero label values",
                                    o->truth_dir, o->pred_dir);
                    goto done;
                }
                all[nall++] = v;
            }
        }
        qsort(all, nall, sizeof *all, cmp_i64);
        for (size_t a = 0; a < nall; a++)
            labels[a] = all[a];
        nlabels = (int)nall;
        free(all);
        if (nlabels == 0) {
            if (o->warn)
                fprintf(o->warn, "warning: no non-zero label in any file; evaluating label 1\n");
            labels[0] = 1;
            nlabels = 1;
        }
        if (o->class_names && o->nnames != nlabels) {
            char list[256];
            int len = 0;
            for (int a = 0; a < nlabels && len < 200; a++)
                len += snprintf(list + len, sizeof list - (size_t)len, "%s%lld", a ? "," : "", (long long)labels[a]);
            s = dolor_error(DOLOR_EINVAL, "%d class names given but %d label values found (%s); give --labels too",
                            o->nnames, nlabels, list);
            goto done;
        }
    }
    /* classes in the order given; a sorted copy for lookup */
    int64_t sorted[255];
    int order[255];
    memcpy(sorted, labels, (size_t)nlabels * sizeof *labels);
    qsort(sorted, (size_t)nlabels, sizeof *sorted, cmp_i64);
    for (int i = 0; i < nlabels; i++)
        for (int j = 0; j < nlabels; j++)
            if (sorted[j] == labels[i])
                order[j] = i + 1;

    if (nlabels < 1 || nlabels > 255) { /* cannot happen: checked above */
        s = dolor_error(DOLOR_EINVAL, "seg eval: %d labels", nlabels);
        goto done;
    }
    int k = nlabels + 1;
    names = calloc((size_t)k, sizeof *names);
    if (!names) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    names[0] = strdup("background");
    for (int c = 1; c < k && names[0]; c++) {
        if (o->class_names) {
            names[c] = strdup(o->class_names[c - 1]);
        } else {
            char buf[40];
            snprintf(buf, sizeof buf, "class%lld", (long long)labels[c - 1]);
            names[c] = strdup(buf);
        }
        if (!names[c])
            break;
    }
    for (int c = 0; c < k; c++)
        if (!names[c]) {
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
            goto done;
        }
    if ((s = dolor_seg_eval_create(k, (const char *const *)names, &ev)))
        goto done;
    cm = malloc((size_t)k * (size_t)k * sizeof *cm);
    if (!cm) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    int warned_bg = 0;
    for (size_t i = 0; i < ncases; i++) {
        case_hist *h = &cases[i];
        int cls[MAX_DISTINCT];
        for (int j = 0; j < h->nv; j++) {
            int c = class_of(sorted, nlabels, h->vals[j]);
            cls[j] = c ? order[c - 1] : 0;
            if (!c && h->vals[j] != 0 && o->warn && warned_bg < 10) {
                fprintf(o->warn, "warning: %s: label value %lld is not in --labels; counted as background\n", h->stem,
                        (long long)h->vals[j]);
                warned_bg++;
            }
        }
        memset(cm, 0, (size_t)k * (size_t)k * sizeof *cm);
        for (int a = 0; a < h->nv; a++)
            for (int b = 0; b < h->nv; b++)
                cm[(size_t)cls[a] * (size_t)k + (size_t)cls[b]] += h->hist[(size_t)a * (size_t)h->nv + (size_t)b];
        if ((s = dolor_seg_eval_note_spacing(ev, h->stem, h->spacing_unknown)))
            goto done;
        if ((s = dolor_seg_eval_add_confusion(ev, h->stem, cm)))
            goto done;
        for (int j = 0; j < h->nv; j++) {
            int c = class_of(sorted, nlabels, h->vals[j]);
            if (c)
                dolor_seg_eval_set_distances(ev, dolor_seg_eval_count(ev) - 1, order[c - 1], h->hd95[j],
                                             h->assd[j]);
        }
    }

done:
    if (s) {
        dolor_seg_eval_free(ev);
        ev = NULL;
    }
    *out = ev;
    free(cm);
    if (names)
        for (int c = 0; c < nlabels + 1; c++)
            free(names[c]);
    free(names);
    free(labels);
    for (size_t i = 0; i < ncases; i++)
        free(cases[i].hist);
    free(cases);
    free(vm);
    listing_free(&truth);
    listing_free(&pred);
    return s;
}
