/* dolor predict: apply a checkpoint to images or folders; write label maps and overlays. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/data.h"
#include "dolor/io.h"
#include "dolor/train.h"
#include "labelmap.h"
#include "opts.h"

#include <dirent.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char *model, *out;
    int overlay, probs;
    long threads;
} predict_opts;

static const dolor_opt_spec specs[] = {
    {"model", 'm', OPT_STR, "checkpoint written by dolor train (best.safetensors) (required)", .metavar = "CKPT",
     DOLOR_OPT_AT(predict_opts, model)},
    {"out", 'o', OPT_STR, "output folder (required)", .metavar = "OUT", DOLOR_OPT_AT(predict_opts, out)},
    {"overlay", 0, OPT_FLAG, "also write OUT/overlays/<stem>.png: the image with coloured classes and outlines",
     DOLOR_OPT_AT(predict_opts, overlay)},
    {"probs", 0, OPT_FLAG, "also write OUT/probs/<stem>.nii.gz: the softmax probability of every class, float32 "
     "x, y, class (for dolor eval --probs: ROC curves)", DOLOR_OPT_AT(predict_opts, probs)},
    {"threads", 't', OPT_INT, "CPU threads", .def = "all cores", DOLOR_OPT_RANGE(1, 1024),
     DOLOR_OPT_AT(predict_opts, threads)},
    {"config", 0, OPT_STR, "JSON file with any of these options as keys", .metavar = "FILE.json"},
};

static const dolor_cmd_desc predict_cmd = {
    .name = "predict",
    .usage = "--model best.safetensors IMAGE|FOLDER... -o OUT [--overlay] [--probs]",
    .summary = "Segments each image with the checkpoint and writes OUT/<stem>.png (a palette PNG label map holding the\n"
               "label values the model was trained with, at the image's original size) or OUT/<stem>.nii.gz for\n"
               "NIfTI/MetaImage/DICOM inputs (same geometry, opens aligned in ITK-SNAP and 3D Slicer). Prints the time\n"
               "per image in milliseconds (preprocessing + network + resizing, without file I/O). OUT/labels.txt is an\n"
               "ITK-SNAP label description (names and colours) for the label maps.",
    DOLOR_CMD_SPECS(specs),
};

/* Inputs predict reads; the first five keep 3D-capable geometry, so their label maps are NIfTI. */
static const char *const input_exts[] = {".nii.gz", ".nii", ".mha", ".mhd", ".dcm", ".png", ".jpg", ".jpeg"};
#define N_INPUT_EXTS ((int)(sizeof input_exts / sizeof *input_exts))
#define N_NIFTI_OUT 5

static int is_image_name(const char *n) { return dolor_path_stem_len(n, input_exts, N_INPUT_EXTS, NULL) > 0; }

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void free_list(char **v, size_t n)
{
    for (size_t j = 0; j < n; j++)
        free(v[j]);
    free(v);
}

/* Append a copy of "dir/name" (dir may be NULL) to the list. */
static int push(char ***v, size_t *k, size_t *cap, const char *dir, const char *name)
{
    if (*k == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        char **nv = realloc(*v, nc * sizeof **v);
        if (!nv)
            return -1;
        *v = nv;
        *cap = nc;
    }
    size_t len = (dir ? strlen(dir) + 1 : 0) + strlen(name) + 1;
    char *p = malloc(len);
    if (!p)
        return -1;
    if (dir)
        snprintf(p, len, "%s/%s", dir, name);
    else
        snprintf(p, len, "%s", name);
    (*v)[(*k)++] = p;
    return 0;
}

/* Expand inputs (files or folders) into a sorted list of image paths. */
static dolor_status collect_inputs(char **pos, int npos, char ***files, size_t *n)
{
    size_t cap = 0, k = 0;
    char **v = NULL;
    for (int i = 0; i < npos; i++) {
        if (dolor_cli_is_dir(pos[i])) {
            DIR *d = opendir(pos[i]);
            if (!d) {
                free_list(v, k);
                return dolor_error(DOLOR_EIO, "%s: cannot open folder", pos[i]);
            }
            size_t first = k;
            struct dirent *e;
            while ((e = readdir(d))) {
                if (e->d_name[0] == '.' || !is_image_name(e->d_name))
                    continue;
                if (push(&v, &k, &cap, pos[i], e->d_name) != 0) {
                    closedir(d);
                    free_list(v, k);
                    return dolor_error(DOLOR_ENOMEM, "out of memory");
                }
            }
            closedir(d);
            if (k == first) {
                free_list(v, k);
                return dolor_error(DOLOR_ENOTFOUND, "%s: no images (.png .jpg .nii .nii.gz .mha .dcm) in folder", pos[i]);
            }
            qsort(v + first, k - first, sizeof *v, cmp_str);
        } else if (push(&v, &k, &cap, NULL, pos[i]) != 0) {
            free_list(v, k);
            return dolor_error(DOLOR_ENOMEM, "out of memory");
        }
    }
    *files = v;
    *n = k;
    return DOLOR_OK;
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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int dolor_cmd_predict(int argc, char **argv)
{
    predict_opts o = {0};
    int npos = 0, rc = DOLOR_EXIT_OK;
    char **pos = NULL, **files = NULL;
    size_t nfiles = 0;
    dolor_net *net = NULL;
    dolor_segment_scratch *scratch = NULL;
    double *frame_ms = NULL; /* read + segment + write, per input */
    dolor_model_meta meta;
    dolor_status s = DOLOR_OK;
    if ((rc = dolor_cmd_front(&predict_cmd, argc, argv, dolor_opt_bind, &o, &pos, &npos, NULL)) >= 0)
        goto out;
    rc = DOLOR_EXIT_OK;
    if (!o.model || !o.out || npos == 0) {
        rc = dolor_cli_usage_error("predict", "need --model CKPT, -o OUT and at least one image or folder");
        goto out;
    }
    if (o.threads)
        omp_set_num_threads((int)o.threads);
    s = dolor_checkpoint_load(o.model, &net, NULL, &meta);
    if (!s)
        s = collect_inputs(pos, npos, &files, &nfiles);
    /* two inputs with one stem would overwrite each other's label map */
    for (size_t i = 0; !s && i < nfiles; i++) {
        char si[1024], sj[1024];
        int ni, nj;
        stem_of(files[i], si, sizeof si, &ni);
        for (size_t j = i + 1; !s && j < nfiles; j++) {
            stem_of(files[j], sj, sizeof sj, &nj);
            if (strcmp(si, sj) == 0)
                s = dolor_error(DOLOR_EINVAL, "%s and %s have the same stem '%s' (their label maps would collide)",
                                files[i], files[j], si);
        }
    }
    /* every input is read and checked first (decoding, 2D, no NaN/Inf: what segmenting needs), so that
     * a bad image anywhere in the list fails before any label map in OUT is written or replaced */
    if (!s) {
        float *chk = malloc(sizeof(float) * (size_t)meta.height * (size_t)meta.width);
        if (!chk)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
        for (size_t i = 0; !s && i < nfiles; i++) {
            dolor_image *img = NULL;
            s = dolor_image_read(files[i], &img);
            if (!s)
                s = dolor_preprocess_image(img, meta.height, meta.width, chk);
            dolor_image_free(img);
            if (s && !strstr(dolor_errmsg(), files[i]))
                dolor_error_prefix(s, "%s", files[i]);
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
        char stem[1024], path[4096];
        int nifti = 0;
        stem_of(files[i], stem, sizeof stem, &nifti);
        s = dolor_image_read(files[i], &img);
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
            s = dolor_segment_image_probs(net, &meta, img, &scratch, &cls, pim ? pim->data : NULL);
        double ms = dolor_time_ms() - t0;
        if (!s)
            s = dolor_classes_to_labels(cls, &meta, &lab);
        /* errors so far concern this input; those below name the output file or folder */
        if (s && !strstr(dolor_errmsg(), files[i]))
            dolor_error_prefix(s, "%s", files[i]);
        if (!s && i == 0) {
            s = dolor_mkdir_p(o.out); /* only once there is a result to write */
            snprintf(path, sizeof path, "%s/overlays", o.out);
            if (!s && dolor_outfile_clean_stale(o.out) + dolor_outfile_clean_stale(path) > 0)
                fprintf(stderr, "removed temporary files left in %s by an interrupted run\n", o.out);
        }
        if (!s)
            s = dolor_cli_write_labelmap(o.out, stem, lab, nifti, NULL, 0);
        if (!s && o.overlay) {
            s = dolor_overlay_make(img, cls, meta.num_classes, NULL, &ov);
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
        printf("%s  %.1f ms\n", files[i], ms);
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
            memcpy(lt->labels[c].rgb, dolor_class_colours() + 3 * c, 3);
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
    for (size_t i = 0; i < nfiles; i++)
        free(files[i]);
    free(files);
    free(pos);
    dolor_segment_scratch_free(scratch);
    dolor_net_free(net);
    free(o.model);
    free(o.out);
    return rc;
}
