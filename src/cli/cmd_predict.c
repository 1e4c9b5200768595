/* dolor predict: apply a checkpoint to images or folders; write label maps and overlays. */
#define _GNU_SOURCE
#include "dolor/data.h"
#include "dolor/io.h"
#include "dolor/train.h"
#include "labelmap.h"
#include "opts.h"

#include <dirent.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef struct {
    char *model, *out, *truth, *tta_axes, *list;
    int overlay, probs, tta;
    long threads;
    double sliding; /* overlap of --sliding; NaN when not given */
} predict_opts;

#define MAX_MODELS 16

static const dolor_opt_spec specs[] = {
    {"model", 'm', OPT_STR, "checkpoint written by dolor train (best.safetensors), or several separated by commas: "
     "an ensemble averaging their softmax probabilities (same classes and input channels) (required)",
     .metavar = "CKPT[,CKPT...]", DOLOR_OPT_AT(predict_opts, model)},
    {"tta", 0, OPT_FLAG, "test-time augmentation: also segment the mirrored image(s) and average the probabilities",
     DOLOR_OPT_AT(predict_opts, tta)},
    {"tta-axes", 0, OPT_STR, "mirror axes of --tta: lr (left-right), ud (up-down) or lr,ud (all 4 combinations)",
     .metavar = "AXES", .def = "lr when every model was trained with horizontal flips, else give it",
     DOLOR_OPT_AT(predict_opts, tta_axes)},
    {"sliding", 0, OPT_NUM, "segment at native resolution with tiles of the network size overlapping by this "
     "fraction, blended with nnU-Net's Gaussian weights (sigma 1/8 of the tile; nnU-Net uses 0.5)", .metavar = "OVERLAP",
     DOLOR_OPT_RANGE(0, 0.95), DOLOR_OPT_AT(predict_opts, sliding)},
    {"list", 0, OPT_STR, "only the cases whose stems this file lists (one per line, '#' comments; the "
     "val_list.txt that dolor train writes)", .metavar = "FILE", DOLOR_OPT_AT(predict_opts, list)},
    {"out", 'o', OPT_STR, "output folder (required)", .metavar = "OUT", DOLOR_OPT_AT(predict_opts, out)},
    {"overlay", 0, OPT_FLAG, "also write OUT/overlays/<stem>.png: the image with coloured classes and outlines, "
     "a legend naming each class in its colour, and the case ID", DOLOR_OPT_AT(predict_opts, overlay)},
    {"truth", 0, OPT_STR, "ground-truth label maps (same stems, the model's label values): their contour is drawn "
     "dashed over each overlay (needs --overlay)", .metavar = "DIR", DOLOR_OPT_AT(predict_opts, truth)},
    {"probs", 0, OPT_FLAG, "also write OUT/probs/<stem>.nii.gz: the softmax probability of every class, float32 "
     "x, y, class (for dolor eval --probs: ROC curves)", DOLOR_OPT_AT(predict_opts, probs)},
    {"threads", 't', OPT_INT, "CPU threads", .def = "all cores", DOLOR_OPT_RANGE(1, 1024),
     DOLOR_OPT_AT(predict_opts, threads)},
    {"config", 0, OPT_STR, "JSON file with any of these options as keys", .metavar = "FILE.json"},
};

static const dolor_cmd_desc predict_cmd = {
    .name = "predict",
    .usage = "--model best.safetensors[,...] IMAGE|FOLDER... -o OUT [--overlay [--truth DIR]] [--probs] [--tta] "
             "[--list FILE]",
    .summary = "Segments each image with the checkpoint and writes OUT/<stem>.png (a palette PNG label map holding the\n"
               "label values the model was trained with, at the image's original size) or OUT/<stem>.nii.gz for\n"
               "NIfTI/MetaImage/DICOM inputs (same geometry, opens aligned in ITK-SNAP and 3D Slicer). Prints the time\n"
               "per image in milliseconds (preprocessing + network + resizing, without file I/O). OUT/labels.txt is an\n"
               "ITK-SNAP label description (names and colours) for the label maps.\n"
               "\n"
               "A folder in the nnU-Net layout (imagesTs/ or imagesTr/ of a dataset, CASE_XXXX channel files) gives one\n"
               "case per CASE, its channel files stacked, and OUT/CASE.png. With several models (--model a,b,...) and/or\n"
               "--tta the class map is the argmax of the mean softmax probability over every model and mirroring.\n"
               "Mirror left-right only where side does not matter (the models were trained with flips): not for\n"
               "labels such as left and right muscles.",
    DOLOR_CMD_SPECS(specs),
};

/* Inputs predict reads; the first five keep 3D-capable geometry, so their label maps are NIfTI. */
static const char *const input_exts[] = {".nii.gz", ".nii", ".mha", ".mhd", ".dcm", ".png", ".jpg", ".jpeg"};
#define N_INPUT_EXTS ((int)(sizeof input_exts / sizeof *input_exts))
#define N_NIFTI_OUT 5

static int is_image_name(const char *n) { return dolor_path_stem_len(n, input_exts, N_INPUT_EXTS, NULL) > 0; }

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* One input case: its channel files (one for an image, several for an nnU-Net case) and its stem. */
typedef struct {
    char *paths[DOLOR_MAX_CHANNELS];
    int nfiles;
    char stem[1024];
    int nifti; /* the label map is NIfTI (3D-capable geometry) */
} pred_input;

static void free_inputs(pred_input *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        for (int k = 0; k < DOLOR_MAX_CHANNELS; k++)
            free(v[i].paths[k]);
    free(v);
}

/* Stem (file name without its extension) and whether the output should be NIfTI. */
static void stem_of(const char *path, char *stem, size_t n, int *nifti_out)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    int which;
    size_t len = dolor_path_stem_len(b, input_exts, N_INPUT_EXTS, &which);
    snprintf(stem, n, "%.*s", (int)(len ? len : strlen(b)), b);
    *nifti_out = which >= 0 && which < N_NIFTI_OUT;
}

static int push(pred_input **v, size_t *k, size_t *cap)
{
    if (*k == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        pred_input *nv = realloc(*v, nc * sizeof **v);
        if (!nv)
            return -1;
        *v = nv;
        *cap = nc;
    }
    memset(&(*v)[*k], 0, sizeof **v);
    (*k)++;
    return 0;
}

/* The file ending of an nnU-Net images folder (imagesTs/, imagesTr/, or any folder beside a dataset.json,
 * or any folder for a multi-channel model) whose image files are all CASE_XXXX<ending>; NULL otherwise. */
static const char *nnunet_ending(const char *dir, char **names, size_t n, int channels)
{
    const char *b = NULL;
    char parent[4096];
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    for (size_t i = dl; i > 0 && !b; i--)
        if (dir[i - 1] == '/')
            b = dir + i;
    if (!b)
        b = dir;
    snprintf(parent, sizeof parent, "%.*s", (int)(b - dir), dir);
    int named = !strncmp(b, "imagesTs", 8) || !strncmp(b, "imagesTr", 8) ||
                dolor_nnunet_is_dataset(parent[0] ? parent : ".") || channels > 1;
    if (!named || !n)
        return NULL;
    int which = -1;
    for (size_t i = 0; i < n; i++) {
        int w;
        size_t sl = dolor_path_stem_len(names[i], input_exts, N_INPUT_EXTS, &w);
        if (sl < 6 || names[i][sl - 5] != '_' || (i && w != which))
            return NULL;
        for (size_t q = sl - 4; q < sl; q++)
            if (names[i][q] < '0' || names[i][q] > '9')
                return NULL;
        which = w;
    }
    return input_exts[which];
}

/* Expand inputs (files or folders) into cases: a folder's images in stem order, or its nnU-Net cases. */
static dolor_status collect_inputs(char **pos, int npos, int channels, pred_input **out, size_t *n)
{
    size_t cap = 0, k = 0;
    pred_input *v = NULL;
    dolor_status s = DOLOR_OK;
    for (int i = 0; !s && i < npos; i++) {
        if (!dolor_cli_is_dir(pos[i])) {
            if (push(&v, &k, &cap) || !(v[k - 1].paths[0] = strdup(pos[i]))) {
                s = dolor_error(DOLOR_ENOMEM, "out of memory");
                break;
            }
            v[k - 1].nfiles = 1;
            stem_of(pos[i], v[k - 1].stem, sizeof v[k - 1].stem, &v[k - 1].nifti);
            continue;
        }
        DIR *d = opendir(pos[i]);
        if (!d) {
            s = dolor_error(DOLOR_EIO, "%s: cannot open folder", pos[i]);
            break;
        }
        char **names = NULL;
        size_t nn = 0, ncap = 0;
        struct dirent *e;
        while (!s && (e = readdir(d))) {
            if (e->d_name[0] == '.' || !is_image_name(e->d_name))
                continue;
            if (nn == ncap) {
                ncap = ncap ? 2 * ncap : 64;
                char **nv = realloc(names, ncap * sizeof *names);
                if (!nv) {
                    s = dolor_error(DOLOR_ENOMEM, "out of memory");
                    break;
                }
                names = nv;
            }
            if (!(names[nn] = strdup(e->d_name)))
                s = dolor_error(DOLOR_ENOMEM, "out of memory");
            else
                nn++;
        }
        closedir(d);
        if (!s && nn == 0)
            s = dolor_error(DOLOR_ENOTFOUND, "%s: no images (.png .jpg .nii .nii.gz .mha .dcm) in folder", pos[i]);
        if (!s)
            qsort(names, nn, sizeof *names, cmp_str);
        const char *ending = s ? NULL : nnunet_ending(pos[i], names, nn, channels);
        if (ending) {
            dolor_nnunet_case *cases = NULL;
            size_t nc = 0;
            s = dolor_nnunet_list_cases(pos[i], ending, channels, &cases, &nc);
            for (size_t c = 0; !s && c < nc; c++) {
                if (push(&v, &k, &cap)) {
                    s = dolor_error(DOLOR_ENOMEM, "out of memory");
                    break;
                }
                pred_input *p = &v[k - 1];
                p->nfiles = cases[c].nfiles;
                for (int q = 0; q < DOLOR_MAX_CHANNELS; q++) {
                    p->paths[q] = cases[c].channel_paths[q];
                    cases[c].channel_paths[q] = NULL;
                }
                snprintf(p->stem, sizeof p->stem, "%s", cases[c].id);
                int w;
                dolor_path_stem_len(p->paths[0], input_exts, N_INPUT_EXTS, &w);
                p->nifti = w >= 0 && w < N_NIFTI_OUT;
            }
            dolor_nnunet_cases_free(cases, nc);
        } else {
            for (size_t j = 0; !s && j < nn; j++) {
                if (push(&v, &k, &cap) || asprintf(&v[k - 1].paths[0], "%s/%s", pos[i], names[j]) < 0) {
                    if (k)
                        v[k - 1].paths[0] = NULL;
                    s = dolor_error(DOLOR_ENOMEM, "out of memory");
                    break;
                }
                v[k - 1].nfiles = 1;
                stem_of(names[j], v[k - 1].stem, sizeof v[k - 1].stem, &v[k - 1].nifti);
            }
        }
        for (size_t j = 0; j < nn; j++)
            free(names[j]);
        free(names);
    }
    if (s) {
        free_inputs(v, k);
        return s;
    }
    *out = v;
    *n = k;
    return DOLOR_OK;
}

/* The ground truth of one case for its overlay: DIR/<stem> with a label-map extension, its label values
 * mapped to the model's classes (values the model does not know count as background). */
static dolor_status read_truth(const char *dir, const char *stem, const dolor_model_meta *meta,
                               const dolor_image *cls, dolor_image **out)
{
    static const char *const exts[] = {".png", ".nii.gz", ".nii", ".mha", ".mhd"};
    *out = NULL;
    char path[4096];
    int found = 0;
    for (size_t e = 0; e < sizeof exts / sizeof *exts && !found; e++) {
        snprintf(path, sizeof path, "%s/%s%s", dir, stem, exts[e]);
        found = access(path, R_OK) == 0;
    }
    if (!found)
        return dolor_error(DOLOR_ENOTFOUND, "--truth %s: no label map for '%s' (%s.png, .nii.gz, .nii, .mha, .mhd)",
                           dir, stem, stem);
    dolor_image *t = NULL;
    dolor_status s = dolor_image_read(path, &t);
    if (!s && (t->ncomp != 1 || t->size[0] != cls->size[0] || t->size[1] != cls->size[1] ||
               dolor_image_nvox(t) != dolor_image_nvox(cls)))
        s = dolor_error(DOLOR_ESHAPE, "%s: %lldx%lld with %d component(s), but the image is %lldx%lld", path,
                        (long long)t->size[0], (long long)t->size[1], t->ncomp, (long long)cls->size[0],
                        (long long)cls->size[1]);
    if (!s)
        s = dolor_image_create(out, DOLOR_U8, 1, cls->ndim, cls->size);
    for (size_t i = 0; !s && i < dolor_image_nvox(cls); i++) {
        double v = dolor_image_get(t, i);
        uint8_t c = 0;
        for (int k = 1; k < meta->num_classes; k++)
            if (v == meta->label_values[k])
                c = (uint8_t)k;
        ((uint8_t *)(*out)->data)[i] = c;
    }
    dolor_image_free(t);
    return s;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Keep only the inputs whose stems FILE lists (blank lines and '#' lines skipped, a known image extension
 * stripped); a listed stem without an input is an error. */
static dolor_status filter_by_list(const char *path, pred_input *v, size_t *n)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return dolor_error(DOLOR_ENOTFOUND, "--list %s: cannot open", path);
    char *keep = calloc(*n ? *n : 1, 1);
    if (!keep) {
        fclose(fp);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    char line[4096];
    int lineno = 0, listed = 0;
    dolor_status s = DOLOR_OK;
    while (!s && fgets(line, sizeof line, fp)) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        size_t len = strlen(p);
        while (len && (p[len - 1] == '\n' || p[len - 1] == '\r' || p[len - 1] == ' ' || p[len - 1] == '\t'))
            p[--len] = 0;
        if (!len || p[0] == '#')
            continue;
        size_t sl = dolor_path_stem_len(p, input_exts, N_INPUT_EXTS, NULL);
        if (sl)
            p[sl] = 0;
        listed++;
        int found = 0;
        for (size_t i = 0; i < *n; i++)
            if (!strcmp(v[i].stem, p))
                found = keep[i] = 1;
        if (!found)
            s = dolor_error(DOLOR_ENOTFOUND, "--list %s: line %d: no input image for '%s'", path, lineno, p);
    }
    fclose(fp);
    if (!s && !listed)
        s = dolor_error(DOLOR_EINVAL, "--list %s: lists no case", path);
    if (!s) {
        size_t k = 0;
        for (size_t i = 0; i < *n; i++) {
            if (keep[i]) {
                v[k++] = v[i];
            } else {
                for (int q = 0; q < DOLOR_MAX_CHANNELS; q++)
                    free(v[i].paths[q]);
            }
        }
        *n = k;
    }
    free(keep);
    return s;
}

/* "lr", "ud", "lr,ud" (or "ud,lr"; "x", "y" accepted) -> mirror flags. */
static dolor_status parse_axes(const char *v, dolor_segment_opts *so)
{
    so->mirror_x = so->mirror_y = 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "lr") || !strcmp(t, "x"))
            so->mirror_x = 1;
        else if (!strcmp(t, "ud") || !strcmp(t, "y"))
            so->mirror_y = 1;
        else
            return dolor_error(DOLOR_EINVAL, "--tta-axes: '%s' is not lr, ud or lr,ud", v);
    }
    if (!so->mirror_x && !so->mirror_y)
        return dolor_error(DOLOR_EINVAL, "--tta-axes: '%s' names no axis (lr, ud or lr,ud)", v);
    return DOLOR_OK;
}

/* 1 when the checkpoint's training options had augmentation with horizontal flips. */
static int trained_with_hflip(const dolor_model_meta *m)
{
    return strstr(m->train_json, "\"augment\":true") && strstr(m->train_json, "\"hflip\":true");
}

int dolor_cmd_predict(int argc, char **argv)
{
    predict_opts o = {0};
    o.sliding = NAN;
    int npos = 0, rc = DOLOR_EXIT_OK;
    char **pos = NULL;
    pred_input *files = NULL;
    size_t nfiles = 0;
    dolor_net *net = NULL, *nets[MAX_MODELS] = {0};
    static dolor_model_meta metas[MAX_MODELS];
    int nmodels = 0;
    dolor_segment_opts so = {0};
    dolor_segment_scratch *scratch = NULL;
    double *frame_ms = NULL; /* read + segment + write, per input */
    dolor_model_meta meta = {0};
    dolor_status s = DOLOR_OK;
    if ((rc = dolor_cmd_front(&predict_cmd, argc, argv, dolor_opt_bind, &o, &pos, &npos, NULL)) >= 0)
        goto out;
    rc = DOLOR_EXIT_OK;
    if (!o.model || !o.out || npos == 0) {
        rc = dolor_cli_usage_error("predict", "need --model CKPT, -o OUT and at least one image or folder");
        goto out;
    }
    if (o.truth && !o.overlay) {
        rc = dolor_cli_usage_error("predict", "--truth draws the ground truth on the overlays: give --overlay too");
        goto out;
    }
    if (o.truth && !dolor_cli_is_dir(o.truth)) {
        rc = dolor_cli_usage_error("predict", "--truth: '%s' is not a folder", o.truth);
        goto out;
    }
    if (o.threads)
        omp_set_num_threads((int)o.threads);
    if (!isnan(o.sliding) && o.tta) {
        rc = dolor_cli_usage_error("predict", "--sliding and --tta cannot be combined yet");
        goto out;
    }
    if (o.tta_axes && !o.tta) {
        rc = dolor_cli_usage_error("predict", "--tta-axes chooses the mirrorings of --tta: give --tta too");
        goto out;
    }
    if (o.probs && (o.tta || !isnan(o.sliding) || (o.model && strchr(o.model, ',')))) {
        rc = dolor_cli_usage_error("predict", "--probs takes one model without --tta or --sliding (for now)");
        goto out;
    }
    if (o.tta_axes && (s = parse_axes(o.tta_axes, &so))) {
        rc = dolor_cli_usage_error("predict", "%s", dolor_errmsg());
        goto out;
    }
    {
        /* the models: one, or an ensemble given as CKPT,CKPT,... */
        char *list = strdup(o.model), *save = NULL;
        if (!list)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
        for (char *t = list ? strtok_r(list, ",", &save) : NULL; !s && t; t = strtok_r(NULL, ",", &save)) {
            if (nmodels == MAX_MODELS) {
                s = dolor_error(DOLOR_EINVAL, "--model: more than %d checkpoints", MAX_MODELS);
                break;
            }
            s = dolor_checkpoint_load(t, &nets[nmodels], NULL, &metas[nmodels]);
            if (!s)
                nmodels++;
        }
        free(list);
        for (int m = 1; !s && m < nmodels; m++) {
            const dolor_model_meta *a = &metas[0], *b = &metas[m];
            int same = a->num_classes == b->num_classes && a->in_channels == b->in_channels;
            for (int c = 0; same && c < a->num_classes; c++)
                same = a->label_values[c] == b->label_values[c] && !strcmp(a->class_names[c], b->class_names[c]);
            if (!same)
                s = dolor_error(DOLOR_EINVAL, "--model: checkpoint %d of the ensemble (%d input channels, %d classes) "
                                "does not match checkpoint 1 (%d input channels, %d classes) in input channels, "
                                "class names or label values", m + 1, b->in_channels, b->num_classes,
                                a->in_channels, a->num_classes);
        }
        if (!s && nmodels == 0)
            s = dolor_error(DOLOR_EINVAL, "--model: no checkpoint given");
        if (!s && nmodels > 1 && !isnan(o.sliding))
            s = dolor_error(DOLOR_EINVAL, "--sliding takes one model (ensembles with sliding windows are not built yet)");
        if (!s) {
            meta = metas[0];
            net = nets[0];
        }
    }
    if (!s && o.tta && !o.tta_axes) {
        for (int m = 0; m < nmodels; m++)
            if (!trained_with_hflip(&metas[m])) {
                rc = dolor_cli_usage_error("predict", "--tta: checkpoint %d was not trained with horizontal flips, so "
                                           "left-right may matter to it: choose the mirror axes with --tta-axes", m + 1);
                goto out;
            }
        so.mirror_x = 1;
    }
    /* a 3D U-Net from dolor train --plan: volumes, 3D sliding windows (overlap --sliding, default 0.5) */
    const int vol3d = !s && dolor_net_config(net) && dolor_net_config(net)->spatial_dims == 3;
    if (vol3d && (nmodels > 1 || o.tta || o.overlay || o.probs || o.truth)) {
        rc = dolor_cli_usage_error("predict", "a 3D model (%s) takes one --model without --tta, --overlay, --probs or "
                                   "--truth (for now)", o.model);
        goto out;
    }
    const double overlap3d = isnan(o.sliding) ? 0.5 : o.sliding;
    const int channels = meta.in_channels > 0 ? meta.in_channels : 1;
    if (!s)
        s = collect_inputs(pos, npos, channels, &files, &nfiles);
    if (!s && o.list)
        s = filter_by_list(o.list, files, &nfiles);
    /* two inputs with one stem would overwrite each other's label map */
    for (size_t i = 0; !s && i < nfiles; i++)
        for (size_t j = i + 1; !s && j < nfiles; j++)
            if (strcmp(files[i].stem, files[j].stem) == 0)
                s = dolor_error(DOLOR_EINVAL, "%s and %s have the same stem '%s' (their label maps would collide)",
                                files[i].paths[0], files[j].paths[0], files[i].stem);
    /* every input is read and checked first (decoding, 2D, no NaN/Inf: what segmenting needs), so that
     * a bad image anywhere in the list fails before any label map in OUT is written or replaced */
    if (!s) {
        float *chk = malloc(sizeof(float) * (size_t)channels * (size_t)meta.height * (size_t)meta.width);
        if (!chk)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
        for (size_t i = 0; !s && i < nfiles; i++) {
            dolor_image *img = NULL;
            s = dolor_image_read_channels((const char *const *)files[i].paths, files[i].nfiles, &img);
            if (!s && vol3d && img->ncomp != channels)
                s = dolor_error(DOLOR_ESHAPE, "%d channels, the model takes %d", img->ncomp, channels);
            else if (!s && !vol3d)
                s = dolor_preprocess_channels(img, channels, meta.height, meta.width, chk);
            dolor_image_free(img);
            if (s && !strstr(dolor_errmsg(), files[i].paths[0]))
                dolor_error_prefix(s, "%s", files[i].paths[0]);
        }
        free(chk);
    }
    if (s)
        goto fail;
    double total_ms = 0, first_ms = 0, wall0 = 0;
    frame_ms = malloc((nfiles ? nfiles : 1) * sizeof *frame_ms);
    if (!frame_ms) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < nfiles; i++) {
        double f0 = dolor_time_ms();
        if (i == 1)
            wall0 = f0;
        dolor_image *img = NULL, *cls = NULL, *lab = NULL, *ov = NULL, *pim = NULL;
        char path[4096];
        const char *stem = files[i].stem;
        int nifti = files[i].nifti;
        s = dolor_image_read_channels((const char *const *)files[i].paths, files[i].nfiles, &img);
        double t0 = dolor_time_ms();
        if (!s && o.probs) {
            int64_t psz[3] = {img->size[0], img->size[1], meta.num_classes};
            s = dolor_image_create(&pim, DOLOR_F32, 1, 3, psz);
            if (!s) {
                pim->spacing[0] = img->spacing[0];
                pim->spacing[1] = img->spacing[1];
            }
        }
        if (!s)
            s = vol3d               ? dolor_segment_volume(net, &meta, img, overlap3d, &cls)
                : !isnan(o.sliding) ? dolor_segment_sliding(net, &meta, img, o.sliding, &cls)
                : nmodels == 1 && !o.tta
                    ? dolor_segment_image_probs(net, &meta, img, &scratch, &cls, pim ? pim->data : NULL)
                    : dolor_segment_ensemble(nets, metas, nmodels, img, &so, &scratch, &cls);
        double ms = dolor_time_ms() - t0;
        if (!s)
            s = dolor_classes_to_labels(cls, &meta, &lab);
        /* errors so far concern this input; those below name the output file or folder */
        if (s && !strstr(dolor_errmsg(), files[i].paths[0]))
            dolor_error_prefix(s, "%s", files[i].paths[0]);
        if (!s && i == 0) {
            s = dolor_mkdir_p(o.out); /* only once there is a result to write */
            snprintf(path, sizeof path, "%s/overlays", o.out);
            if (!s && dolor_outfile_clean_stale(o.out) + dolor_outfile_clean_stale(path) > 0)
                fprintf(stderr, "removed temporary files left in %s by an interrupted run\n", o.out);
        }
        if (!s)
            s = dolor_cli_write_labelmap(o.out, stem, lab, nifti, meta.label_values, meta.num_classes, NULL, 0);
        if (!s && o.overlay) {
            dolor_image *tcls = NULL;
            if (o.truth)
                s = read_truth(o.truth, stem, &meta, cls, &tcls);
            const char *names[DOLOR_MAX_CLASSES];
            for (int c = 0; c < meta.num_classes; c++)
                names[c] = meta.class_names[c];
            dolor_overlay_opts oo = {.class_names = names, .case_id = stem, .truth = tcls};
            if (!s)
                s = dolor_overlay_render(img, cls, meta.num_classes, &oo, &ov);
            dolor_image_free(tcls);
            /* overlays in their own folder, so OUT holds only label maps (dolor eval reads it) */
            snprintf(path, sizeof path, "%s/overlays", o.out);
            if (!s && i == 0)
                s = dolor_mkdir_p(path);
            if (!s) {
                snprintf(path, sizeof path, "%s/overlays/%s.png", o.out, stem);
                s = dolor_png_write(path, ov);
            }
        }
        if (!s && pim) {
            snprintf(path, sizeof path, "%s/probs", o.out);
            if (i == 0)
                s = dolor_mkdir_p(path);
            if (!s) {
                snprintf(path, sizeof path, "%s/probs/%s.nii.gz", o.out, stem);
                s = dolor_image_write(path, pim);
            }
        }
        dolor_image_free(img);
        dolor_image_free(cls);
        dolor_image_free(lab);
        dolor_image_free(ov);
        dolor_image_free(pim);
        if (s)
            goto fail;
        if (i == 0)
            first_ms = ms;
        total_ms += ms;
        frame_ms[i] = dolor_time_ms() - f0;
        printf("%s  %.1f ms\n", files[i].nfiles > 1 ? files[i].stem : files[i].paths[0], ms);
    }
    double wall = nfiles > 1 ? dolor_time_ms() - wall0 : 0;
    {
        /* one ITK-SNAP label description for the folder, colours as in the overlays */
        const char *names[DOLOR_MAX_CLASSES];
        for (int c = 0; c < meta.num_classes; c++)
            names[c] = meta.class_names[c];
        dolor_label_table *lt = NULL;
        char lpath[4096];
        snprintf(lpath, sizeof lpath, "%s/labels.txt", o.out);
        s = dolor_label_table_from_classes(names, meta.num_classes, &lt);
        for (int c = 0; !s && c < meta.num_classes; c++) {
            lt->labels[c].index = meta.label_values[c];
            dolor_label_colour(c, lt->labels[c].rgb);
        }
        if (!s)
            s = dolor_label_table_write(lpath, lt);
        dolor_label_table_free(lt);
        if (s)
            goto fail;
    }
    if (nfiles > 1) {
        printf("%zu images: mean %.1f ms/image (%.1f ms excluding the first, which plans the network)\n", nfiles,
               total_ms / (double)nfiles, (total_ms - first_ms) / (double)(nfiles - 1));
        /* end to end per frame (read, segment, write the label map), the first (planning) left out */
        size_t m = nfiles - 1;
        qsort(frame_ms + 1, m, sizeof *frame_ms, cmp_double);
        printf("end to end (read, segment, write; %zu images after the first): %.1f images/s, latency p50 %.1f ms, "
               "p95 %.1f ms, max %.1f ms\n", m, wall > 0 ? 1000.0 * (double)m / wall : 0.0, frame_ms[1 + m / 2],
               frame_ms[1 + (size_t)(0.95 * (double)(m - 1) + 0.5)], frame_ms[nfiles - 1]);
    }
    printf("label maps written to %s/ (ITK-SNAP label description: %s/labels.txt)\n", o.out, o.out);
    goto out;
fail:
    rc = dolor_cli_fail("predict", s);
out:
    free(frame_ms);
    free_inputs(files, nfiles);
    free(pos);
    dolor_segment_scratch_free(scratch);
    for (int m = 0; m < nmodels; m++)
        dolor_net_free(nets[m]);
    free(o.model);
    free(o.tta_axes);
    free(o.list);
    free(o.out);
    free(o.truth);
    return rc;
}
