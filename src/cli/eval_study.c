/* dolor eval --probs: evaluation as a segmentation study reports it, from softmax probabilities written by
 * dolor predict --probs: per-class pixel ROC and AUC, confusion matrix in counts and row percentages,
 * accuracy, precision, recall, IoU and DSC per class and their means. */
#define _POSIX_C_SOURCE 200809L
#include "eval_study.h"

#include "dolor/eval.h"
#include "dolor/io.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static const char *const truth_exts[] = {".nii.gz", ".nii", ".mha", ".mhd", ".png", ".jpg", ".jpeg"};
#define N_TRUTH_EXTS ((int)(sizeof truth_exts / sizeof *truth_exts))

/* truth file of a stem: the first of the extensions that exists */
static int find_truth(const char *dir, const char *stem, char *path, size_t n)
{
    for (int i = 0; i < N_TRUTH_EXTS; i++) {
        snprintf(path, n, "%s/%s%s", dir, stem, truth_exts[i]);
        FILE *fp = fopen(path, "rb");
        if (fp) {
            fclose(fp);
            return 1;
        }
    }
    return 0;
}

/* truth image -> class indices: with threshold, first component >= threshold -> 1; otherwise value
 * labels[c - 1] -> c, 0 -> 0, anything else an error naming the pixel */
static dolor_status truth_classes(const dolor_image *t, const char *path, long threshold, const long *labels,
                                  int nlab, uint8_t *out, size_t n)
{
    int nc = t->ncomp;
    for (size_t i = 0; i < n; i++) {
        double v = dolor_image_get(t, i * (size_t)nc);
        if (threshold > 0) {
            out[i] = v >= (double)threshold;
            continue;
        }
        int c = -1;
        if (v == 0)
            c = 0;
        for (int j = 0; j < nlab && c < 0; j++)
            if (v == (double)labels[j])
                c = j + 1;
        if (c < 0)
            return dolor_error(DOLOR_EINVAL, "%s: value %g at pixel (%zu, %zu) is not a label of the classes (use "
                               "--labels, or --truth-threshold for lossy masks)", path, v, i % (size_t)t->size[0],
                               i / (size_t)t->size[0]);
        out[i] = (uint8_t)c;
    }
    return DOLOR_OK;
}

int dolor_cli_eval_probs(const dolor_eval_probs_args *a)
{
    const char *cmd = "eval";
    DIR *d = opendir(a->probs);
    if (!d)
        return dolor_cli_usage_error(cmd, "--probs: cannot open folder '%s'", a->probs);
    char **stems = NULL;
    size_t ns = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l <= 7 || strcmp(e->d_name + l - 7, ".nii.gz"))
            continue;
        if (ns == cap) {
            cap = cap ? 2 * cap : 64;
            char **nv = realloc(stems, cap * sizeof *nv);
            if (!nv)
                break;
            stems = nv;
        }
        stems[ns] = strndup(e->d_name, l - 7);
        if (stems[ns])
            ns++;
    }
    closedir(d);
    int rc = DOLOR_EXIT_OK;
    dolor_status s = DOLOR_OK;
    dolor_seg_eval *ev = NULL;
    dolor_pixel_roc *roc = NULL;
    uint8_t *tr = NULL, *pr = NULL;
    dolor_image *pim = NULL, *tim = NULL;
    int K = 0;
    if (!ns) {
        rc = dolor_cli_usage_error(cmd, "--probs: no probability files (<stem>.nii.gz from dolor predict --probs) in %s",
                                   a->probs);
        goto done;
    }
    qsort(stems, ns, sizeof *stems, cmp_str);
    for (size_t i = 0; i < ns; i++) {
        char ppath[4096], tpath[4096];
        snprintf(ppath, sizeof ppath, "%s/%s.nii.gz", a->probs, stems[i]);
        if (!find_truth(a->truth, stems[i], tpath, sizeof tpath)) {
            s = dolor_error(DOLOR_ENOTFOUND, "%s: no truth for '%s' in %s (.png .jpg .nii.gz .mha ...)", ppath,
                            stems[i], a->truth);
            break;
        }
        if ((s = dolor_image_read(ppath, &pim)))
            break;
        if (pim->dtype != DOLOR_F32 || pim->ndim != 3 || pim->ncomp != 1 || pim->size[2] < 2) {
            s = dolor_error(DOLOR_EFORMAT, "%s: not a probability volume (float32 x, y, class with >= 2 classes)", ppath);
            break;
        }
        if (!K) {
            K = (int)pim->size[2];
            if (a->nlabels && a->nlabels != K - 1) {
                s = dolor_error(DOLOR_ESHAPE, "%s holds %d classes but %d foreground labels were given", ppath, K,
                                a->nlabels);
                break;
            }
            if (a->truth_threshold > 0 && K != 2) {
                s = dolor_error(DOLOR_EINVAL, "--truth-threshold needs one foreground class; %s holds %d", ppath, K);
                break;
            }
            const char *names[256] = {"background"};
            for (int c = 1; c < K && c < 256; c++)
                names[c] = a->names && c - 1 < a->nnames ? a->names[c - 1] : NULL;
            if ((s = dolor_seg_eval_create(K, names, &ev)) || (s = dolor_pixel_roc_create(K, names, &roc)))
                break;
        } else if (pim->size[2] != K) {
            s = dolor_error(DOLOR_ESHAPE, "%s holds %lld classes, the first file %d", ppath, (long long)pim->size[2], K);
            break;
        }
        if ((s = dolor_image_read(tpath, &tim)))
            break;
        if (tim->size[0] != pim->size[0] || tim->size[1] != pim->size[1] || (tim->ndim > 2 && tim->size[2] != 1)) {
            s = dolor_error(DOLOR_ESHAPE, "%s is %lldx%lld but %s is %lldx%lld", tpath, (long long)tim->size[0],
                            (long long)tim->size[1], ppath, (long long)pim->size[0], (long long)pim->size[1]);
            break;
        }
        size_t n = (size_t)pim->size[0] * (size_t)pim->size[1];
        free(tr);
        free(pr);
        tr = malloc(n);
        pr = malloc(n);
        if (!tr || !pr) {
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
            break;
        }
        long lab1[1] = {1};
        if ((s = truth_classes(tim, tpath, a->truth_threshold, a->nlabels ? a->labels : lab1, a->nlabels ? a->nlabels : 1,
                               tr, n)))
            break;
        const float *p = pim->data;
        for (size_t j = 0; j < n; j++) {
            int best = 0;
            for (int c = 1; c < K; c++)
                if (p[(size_t)c * n + j] > p[(size_t)best * n + j])
                    best = c;
            pr[j] = (uint8_t)best;
        }
        if ((s = dolor_seg_eval_add(ev, stems[i], tr, pr, n)) || (s = dolor_pixel_roc_add(roc, p, tr, n))) {
            dolor_error_prefix(s, "%s", ppath);
            break;
        }
        dolor_image_free(pim);
        dolor_image_free(tim);
        pim = tim = NULL;
    }
    if (!s) {
        if (!a->quiet)
            dolor_seg_eval_print(ev, stdout);
        if (!(s = dolor_seg_eval_write_csv(ev, a->out)) && !(s = dolor_seg_eval_write_study(ev, a->out)))
            s = dolor_pixel_roc_write(roc, a->out);
    }
    if (!s && !a->quiet) {
        printf("\npixel-level ROC, one class against the rest (%zu images):\n", ns);
        for (int c = 1; c < K; c++) {
            dolor_roc_curve cv;
            dolor_status cs = dolor_pixel_roc_curve(roc, c, 0, &cv);
            if (!cs)
                printf("  %-12s AUC %.4f  (%llu class pixels, %llu others, %zu curve points)\n",
                       dolor_seg_eval_class_name(ev, c), cv.auc, (unsigned long long)cv.n_pos,
                       (unsigned long long)cv.n_neg, cv.n);
            else
                printf("  %-12s AUC undefined (%s)\n", dolor_seg_eval_class_name(ev, c), dolor_errmsg());
            dolor_roc_curve_free(&cv);
        }
        printf("\nwrote %s/: per_case.csv summary.csv confusion.csv confusion_pct.csv confusion.svg class_metrics.csv "
               "roc.csv auc.csv roc.svg\n", a->out);
    }
    if (s)
        rc = dolor_cli_fail(cmd, s);
done:
    for (size_t i = 0; i < ns; i++)
        free(stems[i]);
    free(stems);
    free(tr);
    free(pr);
    dolor_image_free(pim);
    dolor_image_free(tim);
    dolor_seg_eval_free(ev);
    dolor_pixel_roc_free(roc);
    return rc;
}
