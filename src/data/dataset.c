/* Datasets: list two folders, match images and masks by stem, load and preprocess everything into memory;
 * seeded hold-out splits. */
#define _GNU_SOURCE
#include "data_priv.h"
#include "dolor/io.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const known_ext[] = {".nii.gz", ".png", ".jpg", ".jpeg", ".nii"};
#define EXT_LIST ".png .jpg .jpeg .nii .nii.gz"

void dolor_dataset_config_default(dolor_dataset_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->num_classes = 2;
    cfg->height = 256;
    cfg->width = 256;
}

/* Length of the stem of name if it has one of the extensions, else 0. */
static size_t stem_len(const char *name)
{
    return dolor_path_stem_len(name, known_ext, (int)(sizeof known_ext / sizeof *known_ext), NULL);
}

typedef struct entry {
    char *stem;
    char *path;
} entry;

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->stem, ((const entry *)b)->stem);
}

static void free_entries(entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i].stem);
        free(e[i].path);
    }
    free(e);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    char *p = NULL;
    if (asprintf(&p, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name) < 0)
        return NULL;
    return p;
}

/* Sorted entries of dir with known extensions. Duplicate stems: DOLOR_EINVAL. */
static dolor_status list_dir(const char *dir, const char *what, entry **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    DIR *d = opendir(dir);
    if (!d)
        return dolor_error(DOLOR_ENOTFOUND, "%s folder %s: cannot open (%s)", what, dir, strerror(errno));
    entry *e = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        size_t sl = stem_len(de->d_name);
        if (!sl)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            entry *ne = realloc(e, cap * sizeof *e);
            if (!ne) {
                closedir(d);
                free_entries(e, n);
                return dolor_error(DOLOR_ENOMEM, "%s: out of memory listing files", dir);
            }
            e = ne;
        }
        e[n].stem = strndup(de->d_name, sl);
        e[n].path = join(dir, de->d_name);
        n++;
        if (!e[n - 1].stem || !e[n - 1].path) {
            closedir(d);
            free_entries(e, n);
            return dolor_error(DOLOR_ENOMEM, "%s: out of memory listing files", dir);
        }
    }
    closedir(d);
    if (n)
        qsort(e, n, sizeof *e, cmp_entry);
    for (size_t i = 1; i < n; i++)
        if (strcmp(e[i].stem, e[i - 1].stem) == 0) {
            dolor_status s = dolor_error(DOLOR_EINVAL, "%s folder %s: two files with the stem \"%s\": %s and %s", what,
                                         dir, e[i].stem, e[i - 1].path, e[i].path);
            free_entries(e, n);
            return s;
        }
    *out = e;
    *nout = n;
    return DOLOR_OK;
}

void dolor_dataset_free(dolor_dataset *ds)
{
    if (!ds)
        return;
    for (size_t i = 0; i < ds->n; i++) {
        if (ds->stems)
            free(ds->stems[i]);
        if (ds->image_paths)
            free(ds->image_paths[i]);
        if (ds->mask_paths)
            free(ds->mask_paths[i]);
    }
    if (ds->chan_paths)
        for (size_t i = 0; i < ds->n * DOLOR_MAX_CHANNELS; i++)
            free(ds->chan_paths[i]);
    free(ds->chan_paths);
    free(ds->nfiles);
    free(ds->stems);
    free(ds->image_paths);
    free(ds->mask_paths);
    free(ds->orig_w);
    free(ds->orig_h);
    dolor_free_aligned(ds->images);
    dolor_free_aligned(ds->masks);
    if (ds->class_names)
        for (int k = 0; k < ds->num_classes; k++)
            free(ds->class_names[k]);
    free(ds->class_names);
    free(ds->label_values);
    free(ds);
}

/* Mask image -> class indices at height x width, with the dataset's label values or threshold. */
static dolor_status mask_to_classes(const dolor_dataset *ds, const dolor_image *mask, int height, int width,
                                    uint8_t *out, const char *mp)
{
    if (ds->mask_threshold <= 0)
        return dolor_preprocess_mask(mask, ds->num_classes, ds->label_values, height, width, out, mp);
    for (int a = 2; a < mask->ndim; a++)
        if (mask->size[a] != 1)
            return dolor_error(DOLOR_ESHAPE, "%s: mask is not 2D", mp);
    size_t n = (size_t)mask->size[0] * mask->size[1];
    int64_t *vals = malloc(sizeof(int64_t) * n);
    dolor_image *bin = NULL;
    if (!vals)
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", mp);
    dolor_status s = dolor_data_mask_values(mask, vals, mp);
    if (!s)
        s = dolor_image_create2d(&bin, DOLOR_U8, 1, mask->size[0], mask->size[1]);
    if (!s) {
        uint8_t *b = bin->data;
        for (size_t k = 0; k < n; k++)
            b[k] = vals[k] >= ds->mask_threshold;
        s = dolor_preprocess_mask(bin, 2, NULL, height, width, out, mp);
    }
    free(vals);
    dolor_image_free(bin);
    return s;
}

dolor_status dolor_dataset_mask_orig(const dolor_dataset *ds, size_t i, uint8_t *out)
{
    dolor_image *mask = NULL;
    const char *mp = ds->mask_paths[i];
    dolor_status s = dolor_image_read(mp, &mask);
    if (s)
        return s;
    if (mask->size[0] != ds->orig_w[i] || mask->size[1] != ds->orig_h[i])
        s = dolor_error(DOLOR_ESHAPE, "%s: %lldx%lld but image is %dx%d (changed since the dataset was opened?)", mp,
                        (long long)mask->size[0], (long long)mask->size[1], ds->orig_w[i], ds->orig_h[i]);
    else
        s = mask_to_classes(ds, mask, ds->orig_h[i], ds->orig_w[i], out, mp);
    dolor_image_free(mask);
    return s;
}

/* Loads case i into ds; errors are left in this thread's message. */
static dolor_status load_case(dolor_dataset *ds, size_t i)
{
    dolor_image *img = NULL, *mask = NULL;
    const char *ip = ds->image_paths[i], *mp = ds->mask_paths[i];
    size_t hw = (size_t)ds->height * ds->width;
    dolor_status s = ds->chan_paths ? dolor_image_read_channels((const char *const *)ds->chan_paths +
                                                                    i * DOLOR_MAX_CHANNELS, ds->nfiles[i], &img)
                                    : dolor_image_read(ip, &img);
    if (s)
        return s;
    for (int a = 2; a < img->ndim; a++)
        if (img->size[a] != 1) {
            s = dolor_error(DOLOR_ESHAPE, "%s: image is %lldx%lldx%lld; 2D images only", ip, (long long)img->size[0],
                            (long long)img->size[1], (long long)img->size[2] * img->size[3]);
            goto done;
        }
    ds->orig_w[i] = (int)img->size[0];
    ds->orig_h[i] = (int)img->size[1];
    s = dolor_image_read(mp, &mask);
    if (s)
        goto done;
    if (mask->size[0] != img->size[0] || mask->size[1] != img->size[1] ||
        mask->size[2] != 1 || mask->size[3] != 1) {
        if (mask->size[2] != 1 || mask->size[3] != 1)
            s = dolor_error(DOLOR_ESHAPE, "%s: mask is %lldx%lldx%lld but image is %lldx%lld", mp,
                            (long long)mask->size[0], (long long)mask->size[1],
                            (long long)mask->size[2] * mask->size[3], (long long)img->size[0], (long long)img->size[1]);
        else
            s = dolor_error(DOLOR_ESHAPE, "%s: %lldx%lld but image is %lldx%lld", mp, (long long)mask->size[0],
                            (long long)mask->size[1], (long long)img->size[0], (long long)img->size[1]);
        goto done;
    }
    s = dolor_preprocess_channels(img, ds->channels, ds->height, ds->width, ds->images + i * hw * ds->channels);
    if (s) {
        dolor_error_prefix(s, "%s", ip);
        goto done;
    }
    s = mask_to_classes(ds, mask, ds->height, ds->width, ds->masks + i * hw, mp);
done:
    dolor_image_free(img);
    dolor_image_free(mask);
    return s;
}

dolor_status dolor_dataset_open(const dolor_dataset_config *cfg, dolor_dataset **out)
{
    *out = NULL;
    if (!cfg || (!cfg->nnunet_dir && (!cfg->image_dir || !cfg->mask_dir)))
        return dolor_error(DOLOR_EINVAL, "dataset: image_dir and mask_dir (or nnunet_dir) are required");
    if (cfg->nnunet_dir && (cfg->image_dir || cfg->mask_dir))
        return dolor_error(DOLOR_EINVAL, "dataset: nnunet_dir %s replaces image_dir and mask_dir: give one or the "
                           "other", cfg->nnunet_dir);
    if (cfg->channels < 0 || cfg->channels > DOLOR_MAX_CHANNELS)
        return dolor_error(DOLOR_EINVAL, "dataset: %d channels (must be 0..%d)", cfg->channels, DOLOR_MAX_CHANNELS);
    int nc = cfg->num_classes;
    if (nc < 2 || nc > 255)
        return dolor_error(DOLOR_EINVAL, "dataset: num_classes is %d (must be 2..255, background included)", nc);
    int H = cfg->height ? cfg->height : 256, W = cfg->width ? cfg->width : 256;
    if (H < 1 || W < 1 || H > 16384 || W > 16384)
        return dolor_error(DOLOR_EINVAL, "dataset: input size %dx%d (width x height) must be 1..16384", W, H);
    if (cfg->mask_threshold < 0)
        return dolor_error(DOLOR_EINVAL, "dataset: mask_threshold is %d (must be >= 0)", cfg->mask_threshold);
    if (cfg->mask_threshold > 0 && nc != 2)
        return dolor_error(DOLOR_EINVAL, "dataset: mask_threshold needs num_classes 2, not %d", nc);
    if (cfg->label_values)
        for (int a = 0; a < nc; a++)
            for (int b = a + 1; b < nc; b++)
                if (cfg->label_values[a] == cfg->label_values[b])
                    return dolor_error(DOLOR_EINVAL, "dataset: classes %d and %d have the same label value %d", a, b,
                                       cfg->label_values[a]);

    entry *im = NULL, *mk = NULL;
    size_t nim = 0, nmk = 0, ncases = 0;
    dolor_nnunet_case *cases = NULL;
    int C = cfg->channels;
    char idir[4096], ldir[4096];
    dolor_dataset_config nn_cfg;
    dolor_status s = DOLOR_OK;
    if (cfg->nnunet_dir) {
        /* the nnU-Net layout, listed as the two folders imagesTr/ and labelsTr/ with the case IDs as stems */
        dolor_nnunet_info *info = NULL;
        s = dolor_nnunet_info_read(cfg->nnunet_dir, &info);
        if (s)
            return s;
        snprintf(idir, sizeof idir, "%s/imagesTr", cfg->nnunet_dir);
        snprintf(ldir, sizeof ldir, "%s/labelsTr", cfg->nnunet_dir);
        char probe[32];
        snprintf(probe, sizeof probe, "x%s", info->file_ending);
        if (stem_len(probe) != 1)
            s = dolor_error(DOLOR_EUNSUPPORTED, "%s/dataset.json: file_ending '%s' (dolor trains on " EXT_LIST ")",
                            cfg->nnunet_dir, info->file_ending);
        if (!s)
            s = dolor_nnunet_list_cases(idir, info->file_ending, info->nchannels, &cases, &ncases);
        if (!s && info->num_training >= 0 && (size_t)info->num_training != ncases)
            s = dolor_error(DOLOR_EFORMAT, "%s/dataset.json: numTraining is %ld but %s holds %zu cases",
                            cfg->nnunet_dir, info->num_training, idir, ncases);
        if (!C)
            C = info->nchannels;
        dolor_nnunet_info_free(info);
        if (!s) {
            im = calloc(ncases, sizeof *im);
            if (!im)
                s = dolor_error(DOLOR_ENOMEM, "out of memory");
            for (size_t i = 0; !s && i < ncases; i++, nim++) {
                im[i].stem = strdup(cases[i].id);
                im[i].path = strdup(cases[i].channel_paths[0]);
                if (!im[i].stem || !im[i].path)
                    s = dolor_error(DOLOR_ENOMEM, "out of memory");
            }
        }
        if (!s)
            s = list_dir(ldir, "label", &mk, &nmk);
        if (s) {
            free_entries(im, nim);
            dolor_nnunet_cases_free(cases, ncases);
            return s;
        }
        nn_cfg = *cfg;
        nn_cfg.image_dir = idir;
        nn_cfg.mask_dir = ldir;
        cfg = &nn_cfg;
    } else {
        if (!C)
            C = 1;
        s = list_dir(cfg->image_dir, "image", &im, &nim);
        if (s)
            return s;
        s = list_dir(cfg->mask_dir, "mask", &mk, &nmk);
        if (s) {
            free_entries(im, nim);
            return s;
        }
    }

    if (nim == 0 || nmk == 0) {
        s = dolor_error(DOLOR_ENOTFOUND, "%s: no %s (" EXT_LIST ")", nim == 0 ? cfg->image_dir : cfg->mask_dir,
                        nim == 0 ? "images" : "masks");
        goto fail_lists;
    }
    /* merge the two sorted lists */
    size_t a = 0, b = 0, nmatch = 0;
    const entry *lone_img = NULL, *lone_mask = NULL;
    while (a < nim || b < nmk) {
        int c = a >= nim ? 1 : b >= nmk ? -1 : strcmp(im[a].stem, mk[b].stem);
        if (c == 0) {
            nmatch++;
            a++;
            b++;
        } else if (c < 0) {
            if (!lone_img)
                lone_img = &im[a];
            a++;
        } else {
            if (!lone_mask)
                lone_mask = &mk[b];
            b++;
        }
    }
    if (nmatch == 0) {
        s = dolor_error(DOLOR_ENOTFOUND, "no image in %s has a matching mask in %s (e.g. %s; masks are matched by stem)",
                        cfg->image_dir, cfg->mask_dir, im[0].path);
        goto fail_lists;
    }
    if (lone_img) {
        s = dolor_error(DOLOR_ENOTFOUND, "%s: no mask %s.* in %s (%zu of %zu images have no mask)", lone_img->path,
                        lone_img->stem, cfg->mask_dir, nim - nmatch, nim);
        goto fail_lists;
    }
    if (lone_mask) {
        s = dolor_error(DOLOR_ENOTFOUND, "%s: no image %s.* in %s (%zu of %zu masks have no image)", lone_mask->path,
                        lone_mask->stem, cfg->image_dir, nmk - nmatch, nmk);
        goto fail_lists;
    }

    dolor_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) {
        s = dolor_error(DOLOR_ENOMEM, "dataset: out of memory");
        goto fail_lists;
    }
    size_t n = nim, hw = (size_t)H * W;
    ds->height = H;
    ds->width = W;
    ds->channels = C;
    ds->num_classes = nc;
    ds->mask_threshold = cfg->mask_threshold;
    ds->stems = calloc(n, sizeof(char *));
    ds->image_paths = calloc(n, sizeof(char *));
    ds->mask_paths = calloc(n, sizeof(char *));
    ds->orig_w = calloc(n, sizeof(int));
    ds->orig_h = calloc(n, sizeof(int));
    ds->images = dolor_alloc_aligned(n * hw * (size_t)C * sizeof(float));
    if (cases) {
        ds->chan_paths = calloc(n * DOLOR_MAX_CHANNELS, sizeof(char *));
        ds->nfiles = calloc(n, sizeof(int));
        for (size_t i = 0; ds->chan_paths && ds->nfiles && i < n; i++) { /* cases are in stem order, as im */
            ds->nfiles[i] = cases[i].nfiles;
            for (int k = 0; k < DOLOR_MAX_CHANNELS; k++) {
                ds->chan_paths[i * DOLOR_MAX_CHANNELS + (size_t)k] = cases[i].channel_paths[k];
                cases[i].channel_paths[k] = NULL;
            }
        }
    }
    ds->masks = dolor_alloc_aligned(n * hw);
    ds->class_names = calloc((size_t)nc, sizeof(char *));
    ds->label_values = malloc(sizeof(int) * (size_t)nc);
    int ok = ds->stems && ds->image_paths && ds->mask_paths && ds->orig_w && ds->orig_h && ds->images && ds->masks &&
             ds->class_names && ds->label_values && (!cases || (ds->chan_paths && ds->nfiles));
    dolor_nnunet_cases_free(cases, ncases);
    cases = NULL;
    if (ok)
        ds->n = n;
    for (size_t i = 0; ok && i < n; i++) { /* take ownership of the strings */
        ds->stems[i] = im[i].stem;
        ds->image_paths[i] = im[i].path;
        ds->mask_paths[i] = mk[i].path;
        im[i].stem = im[i].path = mk[i].path = NULL;
    }
    for (int k = 0; ok && k < nc; k++) {
        ds->label_values[k] = cfg->label_values ? cfg->label_values[k] : k;
        if (cfg->class_names && cfg->class_names[k])
            ds->class_names[k] = strdup(cfg->class_names[k]);
        else if (k == 0)
            ds->class_names[k] = strdup("background");
        else if (asprintf(&ds->class_names[k], "class%d", k) < 0)
            ds->class_names[k] = NULL;
        ok &= ds->class_names[k] != NULL;
    }
    free_entries(im, nim);
    free_entries(mk, nmk);
    if (!ok) {
        dolor_dataset_free(ds);
        return dolor_error(DOLOR_ENOMEM, "dataset: out of memory for %zu cases of %dx%d", n, W, H);
    }

    /* load in parallel; per-case status and message, the first failing case (stem order) is reported */
    dolor_status *st = calloc(n, sizeof *st);
    char **msg = calloc(n, sizeof *msg);
    if (!st || !msg) {
        free(st);
        free(msg);
        dolor_dataset_free(ds);
        return dolor_error(DOLOR_ENOMEM, "dataset: out of memory");
    }
    dolor_progress *pb = dolor_progress_create("loading", (int64_t)n);
    long done = 0;
#pragma omp parallel for schedule(dynamic, 1)
    for (long i = 0; i < (long)n; i++) {
        dolor_status si = load_case(ds, (size_t)i);
        if (si) {
            st[i] = si;
            msg[i] = strdup(dolor_errmsg());
        }
        long d;
#pragma omp atomic capture
        d = ++done;
#pragma omp critical(dolor_dataset_progress)
        dolor_progress_update(pb, d, NULL);
    }
    s = DOLOR_OK;
    for (size_t i = 0; i < n; i++)
        if (st[i]) {
            s = dolor_error(st[i], "%s", msg[i] ? msg[i] : "out of memory");
            break;
        }
    for (size_t i = 0; i < n; i++)
        free(msg[i]);
    free(msg);
    free(st);
    if (s) {
        dolor_progress_finish(pb, "failed");
        dolor_dataset_free(ds);
        return s;
    }
    char suffix[64];
    snprintf(suffix, sizeof suffix, "%zu cases at %dx%d", n, W, H);
    dolor_progress_finish(pb, suffix);
    *out = ds;
    return DOLOR_OK;

fail_lists:
    free_entries(im, nim);
    free_entries(mk, nmk);
    dolor_nnunet_cases_free(cases, ncases);
    return s;
}

size_t dolor_dataset_count(const dolor_dataset *ds) { return ds->n; }
const char *dolor_dataset_stem(const dolor_dataset *ds, size_t i) { return ds->stems[i]; }
const char *dolor_dataset_image_path(const dolor_dataset *ds, size_t i) { return ds->image_paths[i]; }
const char *dolor_dataset_mask_path(const dolor_dataset *ds, size_t i) { return ds->mask_paths[i]; }
void dolor_dataset_orig_size(const dolor_dataset *ds, size_t i, int *width, int *height)
{
    if (width)
        *width = ds->orig_w[i];
    if (height)
        *height = ds->orig_h[i];
}
const float *dolor_dataset_image(const dolor_dataset *ds, size_t i)
{
    return ds->images + i * (size_t)ds->channels * ds->height * ds->width;
}
int dolor_dataset_channels(const dolor_dataset *ds) { return ds->channels; }
dolor_status dolor_dataset_read_image(const dolor_dataset *ds, size_t i, dolor_image **img)
{
    if (!ds->chan_paths)
        return dolor_image_read(ds->image_paths[i], img);
    return dolor_image_read_channels((const char *const *)ds->chan_paths + i * DOLOR_MAX_CHANNELS, ds->nfiles[i], img);
}
const uint8_t *dolor_dataset_mask(const dolor_dataset *ds, size_t i)
{
    return ds->masks + i * (size_t)ds->height * ds->width;
}
int dolor_dataset_height(const dolor_dataset *ds) { return ds->height; }
int dolor_dataset_width(const dolor_dataset *ds) { return ds->width; }
int dolor_dataset_num_classes(const dolor_dataset *ds) { return ds->num_classes; }
const char *dolor_dataset_class_name(const dolor_dataset *ds, int k) { return ds->class_names[k]; }
int dolor_dataset_label_value(const dolor_dataset *ds, int k) { return ds->label_values[k]; }

void dolor_dataset_class_fractions(const dolor_dataset *ds, const size_t *idx, size_t n, double *frac)
{
    size_t hw = (size_t)ds->height * ds->width, cnt[256] = {0};
    if (!idx)
        n = ds->n;
    for (size_t j = 0; j < n; j++) {
        const uint8_t *m = dolor_dataset_mask(ds, idx ? idx[j] : j);
        for (size_t p = 0; p < hw; p++)
            cnt[m[p]]++;
    }
    double tot = (double)n * (double)hw;
    for (int k = 0; k < ds->num_classes; k++)
        frac[k] = tot > 0 ? (double)cnt[k] / tot : 0.0;
}

/* ---- split ---- */

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static dolor_status read_val_list(const dolor_dataset *ds, const char *path, char *is_val)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return dolor_error(DOLOR_EIO, "%s: cannot open validation list (%s)", path, strerror(errno));
    char line[4096];
    int lineno = 0;
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        size_t len = strlen(p);
        while (len && isspace((unsigned char)p[len - 1]))
            p[--len] = '\0';
        if (!len || p[0] == '#')
            continue;
        size_t sl = stem_len(p);
        if (sl)
            p[sl] = '\0';
        /* binary search: stems are sorted by strcmp */
        size_t lo = 0, hi = ds->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = strcmp(ds->stems[mid], p);
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo >= ds->n || strcmp(ds->stems[lo], p) != 0) {
            fclose(fp);
            return dolor_error(DOLOR_ENOTFOUND, "%s:%d: case \"%s\" is not in the dataset", path, lineno, p);
        }
        is_val[lo] = 1;
    }
    int err = ferror(fp);
    fclose(fp);
    if (err)
        return dolor_error(DOLOR_EIO, "%s: read error", path);
    return DOLOR_OK;
}

dolor_status dolor_dataset_split(const dolor_dataset *ds, double val_fraction, uint64_t seed, const char *val_list_path,
                                 size_t **train_idx, size_t *n_train, size_t **val_idx, size_t *n_val)
{
    *train_idx = *val_idx = NULL;
    *n_train = *n_val = 0;
    size_t n = ds->n;
    if (n < 2)
        return dolor_error(DOLOR_EINVAL, "split: %zu case(s); need at least 2 for training and validation", n);
    char *is_val = calloc(n, 1);
    if (!is_val)
        return dolor_error(DOLOR_ENOMEM, "split: out of memory");
    dolor_status s = DOLOR_OK;
    if (val_list_path) {
        s = read_val_list(ds, val_list_path, is_val);
    } else {
        if (!(val_fraction > 0 && val_fraction < 1)) {
            free(is_val);
            return dolor_error(DOLOR_EINVAL, "split: validation fraction %g is not in (0, 1)", val_fraction);
        }
        size_t nv = (size_t)llround(val_fraction * (double)n);
        if (nv < 1)
            nv = 1;
        if (nv > n - 1)
            nv = n - 1;
        int *perm = malloc(sizeof(int) * n);
        if (!perm) {
            free(is_val);
            return dolor_error(DOLOR_ENOMEM, "split: out of memory");
        }
        for (size_t i = 0; i < n; i++)
            perm[i] = (int)i;
        dolor_rng r;
        dolor_rng_seed(&r, seed);
        dolor_rng_shuffle_int(&r, perm, n);
        for (size_t i = 0; i < nv; i++)
            is_val[perm[i]] = 1;
        free(perm);
    }
    size_t nv = 0;
    for (size_t i = 0; i < n; i++)
        nv += is_val[i] != 0;
    if (!s && (nv == 0 || nv == n))
        s = dolor_error(DOLOR_EINVAL, "split: %s leaves %s", val_list_path ? val_list_path : "fraction",
                        nv == 0 ? "no validation case" : "no training case");
    size_t *tr = NULL, *va = NULL;
    if (!s) {
        tr = malloc(sizeof(size_t) * (n - nv));
        va = malloc(sizeof(size_t) * nv);
        if (!tr || !va)
            s = dolor_error(DOLOR_ENOMEM, "split: out of memory");
    }
    if (s) {
        free(tr);
        free(va);
        free(is_val);
        return s;
    }
    size_t a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_val[i])
            va[b++] = i;
        else
            tr[a++] = i;
    }
    qsort(tr, a, sizeof *tr, cmp_size); /* already ascending; kept explicit */
    qsort(va, b, sizeof *va, cmp_size);
    free(is_val);
    *train_idx = tr;
    *n_train = a;
    *val_idx = va;
    *n_val = b;
    return DOLOR_OK;
}

dolor_status dolor_dataset_kfold(const dolor_dataset *ds, int k, int fold, uint64_t seed, size_t **train_idx,
                                 size_t *n_train, size_t **val_idx, size_t *n_val)
{
    *train_idx = *val_idx = NULL;
    *n_train = *n_val = 0;
    size_t n = ds->n;
    if (k < 2 || (size_t)k > n)
        return dolor_error(DOLOR_EINVAL, "k-fold: k = %d with %zu cases (need 2 <= k <= cases)", k, n);
    if (fold < 0 || fold >= k)
        return dolor_error(DOLOR_EINVAL, "k-fold: fold %d is not in 0..%d", fold, k - 1);
    int *perm = malloc(sizeof(int) * n);
    char *is_val = calloc(n, 1);
    size_t nv = 0;
    for (size_t p = 0; p < n; p++)
        nv += (p % (size_t)k) == (size_t)fold;
    size_t *tr = malloc(sizeof(size_t) * (n - nv)), *va = malloc(sizeof(size_t) * nv);
    if (!perm || !is_val || !tr || !va) {
        free(perm);
        free(is_val);
        free(tr);
        free(va);
        return dolor_error(DOLOR_ENOMEM, "k-fold: out of memory");
    }
    for (size_t i = 0; i < n; i++)
        perm[i] = (int)i;
    dolor_rng r;
    dolor_rng_seed(&r, seed);
    dolor_rng_shuffle_int(&r, perm, n);
    for (size_t p = 0; p < n; p++)
        if ((p % (size_t)k) == (size_t)fold)
            is_val[perm[p]] = 1;
    size_t a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_val[i])
            va[b++] = i;
        else
            tr[a++] = i;
    }
    free(perm);
    free(is_val);
    *train_idx = tr;
    *n_train = a;
    *val_idx = va;
    *n_val = b;
    return DOLOR_OK;
}
