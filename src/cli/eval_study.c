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
        long deflab[256]; /* without --labels: the classes are the values 1..K-1 */
        for (int c = 1; c < K && c < 256; c++)
            deflab[c - 1] = c;
        if ((s = truth_classes(tim, tpath, a->truth_threshold, a->nlabels ? a->labels : deflab,
                               a->nlabels ? a->nlabels : K - 1, tr, n)))
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

/* ---- man-machine comparison: several readers' label maps of the same images against one truth ---- */

#include "dolor/stats.h"

typedef struct {
    char name[64];
    const char *dir;
    dolor_seg_eval *ev;
} reader;

static void csv_num(FILE *fp, double v)
{
    if (isnan(v))
        fputs(",NA", fp);
    else
        fprintf(fp, ",%.10g", v);
}

int dolor_cli_eval_readers(const dolor_eval_readers_args *a)
{
    const char *cmd = "eval";
    reader rd[16];
    int k = 0, rc = DOLOR_EXIT_OK;
    dolor_status s = DOLOR_OK;
    memset(rd, 0, sizeof rd);
    /* "senior=DIR,junior=DIR,model=DIR" */
    const char *p = a->readers;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq || eq == p || (size_t)(eq - p) >= sizeof rd[0].name || eq + 1 == p + len) {
            rc = dolor_cli_usage_error(cmd, "--readers: '%.*s' is not NAME=DIR", (int)len, p);
            goto done;
        }
        if (k == 16) {
            rc = dolor_cli_usage_error(cmd, "--readers: more than 16 readers");
            goto done;
        }
        memcpy(rd[k].name, p, (size_t)(eq - p));
        rd[k].dir = strndup(eq + 1, len - (size_t)(eq - p) - 1);
        for (int j = 0; j < k; j++)
            if (!strcmp(rd[j].name, rd[k].name)) {
                k++;
                rc = dolor_cli_usage_error(cmd, "--readers: '%s' is named twice", rd[k - 1].name);
                goto done;
            }
        if (!rd[k].dir || !dolor_cli_is_dir(rd[k].dir)) {
            k++;
            rc = dolor_cli_usage_error(cmd, "--readers: %s: '%s' is not a directory", rd[k - 1].name,
                                       rd[k - 1].dir ? rd[k - 1].dir : "");
            goto done;
        }
        k++;
        p += len + (comma ? 1 : 0);
    }
    if (k < 2) {
        rc = dolor_cli_usage_error(cmd, "--readers: need at least 2 readers (NAME=DIR,NAME=DIR,...)");
        goto done;
    }
    for (int r = 0; r < k && !s; r++) {
        dolor_seg_folder_opts o = {0};
        o.pred_dir = rd[r].dir;
        o.truth_dir = a->truth;
        o.labels = a->labels;
        o.nlabels = a->nlabels;
        o.class_names = (const char *const *)a->names;
        o.nnames = a->nnames;
        o.warn = stderr;
        if ((s = dolor_seg_eval_folders(&o, &rd[r].ev)))
            dolor_error_prefix(s, "reader %s", rd[r].name);
    }
    size_t n = s ? 0 : dolor_seg_eval_count(rd[0].ev);
    int K = s ? 0 : dolor_seg_eval_num_classes(rd[0].ev);
    for (int r = 1; r < k && !s; r++) {
        if (dolor_seg_eval_count(rd[r].ev) != n || dolor_seg_eval_num_classes(rd[r].ev) != K)
            s = dolor_error(DOLOR_ESHAPE, "reader %s: %zu images and %d classes, reader %s: %zu and %d", rd[r].name,
                            dolor_seg_eval_count(rd[r].ev), dolor_seg_eval_num_classes(rd[r].ev), rd[0].name, n, K);
        for (size_t i = 0; i < n && !s; i++)
            if (strcmp(dolor_seg_eval_case_id(rd[r].ev, i), dolor_seg_eval_case_id(rd[0].ev, i)))
                s = dolor_error(DOLOR_ESHAPE, "readers %s and %s differ at image %zu ('%s' / '%s')", rd[0].name,
                                rd[r].name, i + 1, dolor_seg_eval_case_id(rd[0].ev, i), dolor_seg_eval_case_id(rd[r].ev, i));
    }
    if (s) {
        rc = dolor_cli_fail(cmd, s);
        goto done;
    }
    if ((s = dolor_mkdir_p(a->out))) {
        rc = dolor_cli_fail(cmd, s);
        goto done;
    }
    dolor_outfile f[3];
    int opened = 0;
    for (int i = 0; i < 3 && !s; i++, opened++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", a->out,
                 i == 0 ? "readers_per_image.csv" : i == 1 ? "readers_summary.csv" : "readers_tests.csv");
        s = dolor_outfile_open(&f[i], path, 1);
    }
    if (s) {
        for (int i = 0; i < opened - 1; i++)
            dolor_outfile_abort(&f[i]);
        rc = dolor_cli_fail(cmd, s);
        goto done;
    }
    fputs("image,reader,class,iou,dice\n", f[0].fp);
    for (size_t i = 0; i < n; i++)
        for (int r = 0; r < k; r++)
            for (int c = 1; c < K; c++) {
                dolor_csv_write_field(f[0].fp, dolor_seg_eval_case_id(rd[0].ev, i));
                fputc(',', f[0].fp);
                dolor_csv_write_field(f[0].fp, rd[r].name);
                fputc(',', f[0].fp);
                dolor_csv_write_field(f[0].fp, dolor_seg_eval_class_name(rd[0].ev, c));
                csv_num(f[0].fp, dolor_seg_eval_case_metric(rd[r].ev, i, c, DOLOR_SEG_IOU));
                csv_num(f[0].fp, dolor_seg_eval_case_metric(rd[r].ev, i, c, DOLOR_SEG_DICE));
                fputc('\n', f[0].fp);
            }
    fputs("reader,class,metric,n,mean,sd,median,p25,p75\n", f[1].fp);
    fputs("class,metric,test,reader_a,reader_b,n,statistic,df,df2,p\n", f[2].fp);
    double *y = malloc(n * (size_t)k * sizeof *y), *pp = malloc((size_t)(k * k) * sizeof *pp),
           *vv = malloc((size_t)(k * k) * sizeof *vv);
    if (!y || !pp || !vv)
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
    const dolor_seg_metric ms[2] = {DOLOR_SEG_IOU, DOLOR_SEG_DICE};
    for (int c = 1; c < K && !s; c++)
        for (int mi = 0; mi < 2 && !s; mi++) {
            const char *cn = dolor_seg_eval_class_name(rd[0].ev, c), *mn = mi ? "dice" : "iou";
            /* complete blocks: images where every reader's value is defined */
            size_t m = 0;
            for (size_t i = 0; i < n; i++) {
                int ok = 1;
                for (int r = 0; r < k; r++)
                    ok &= !isnan(dolor_seg_eval_case_metric(rd[r].ev, i, c, ms[mi]));
                if (!ok)
                    continue;
                for (int r = 0; r < k; r++)
                    y[m * (size_t)k + (size_t)r] = dolor_seg_eval_case_metric(rd[r].ev, i, c, ms[mi]);
                m++;
            }
            for (int r = 0; r < k; r++) {
                dolor_seg_summary su = dolor_seg_eval_summary(rd[r].ev, c, ms[mi]);
                dolor_csv_write_field(f[1].fp, rd[r].name);
                fputc(',', f[1].fp);
                dolor_csv_write_field(f[1].fp, cn);
                fprintf(f[1].fp, ",%s,%zu", mn, su.n);
                csv_num(f[1].fp, su.mean);
                csv_num(f[1].fp, su.sd);
                csv_num(f[1].fp, su.median);
                csv_num(f[1].fp, su.p25);
                csv_num(f[1].fp, su.p75);
                fputc('\n', f[1].fp);
            }
            dolor_test_result fr;
            dolor_rm_anova ra;
            dolor_status e1 = dolor_stats_friedman(y, m, k, &fr);
            const char *why1 = e1 ? strdup(dolor_errmsg()) : NULL;
            dolor_status e2 = dolor_stats_rm_anova(y, m, k, &ra);
            const char *why2 = e2 ? strdup(dolor_errmsg()) : NULL;
            dolor_status e3 = dolor_stats_pairwise_wilcoxon_paired(y, m, k, -1, 1, DOLOR_P_ADJUST_BONFERRONI, pp, vv);
            dolor_csv_write_field(f[2].fp, cn);
            fprintf(f[2].fp, ",%s,friedman,,,%zu", mn, m);
            csv_num(f[2].fp, e1 ? NAN : fr.statistic);
            csv_num(f[2].fp, e1 ? NAN : fr.df);
            fputs(",NA", f[2].fp);
            csv_num(f[2].fp, e1 ? NAN : fr.p);
            fputc('\n', f[2].fp);
            dolor_csv_write_field(f[2].fp, cn);
            fprintf(f[2].fp, ",%s,rm_anova,,,%zu", mn, m);
            csv_num(f[2].fp, e2 ? NAN : ra.F);
            csv_num(f[2].fp, e2 ? NAN : ra.df_conditions);
            csv_num(f[2].fp, e2 ? NAN : ra.df_error);
            csv_num(f[2].fp, e2 ? NAN : ra.p);
            fputc('\n', f[2].fp);
            for (int i = 1; i < k && !e3; i++)
                for (int j = 0; j < i; j++) {
                    dolor_csv_write_field(f[2].fp, cn);
                    fprintf(f[2].fp, ",%s,wilcoxon_bonferroni,", mn);
                    dolor_csv_write_field(f[2].fp, rd[j].name);
                    fputc(',', f[2].fp);
                    dolor_csv_write_field(f[2].fp, rd[i].name);
                    fprintf(f[2].fp, ",%zu", m);
                    csv_num(f[2].fp, vv[i * k + j]);
                    fputs(",NA,NA", f[2].fp);
                    csv_num(f[2].fp, pp[i * k + j]);
                    fputc('\n', f[2].fp);
                }
            if (!a->quiet) {
                printf("%s %s over %zu images (every reader defined):\n", cn, mi ? "DSC" : "IoU", m);
                for (int r = 0; r < k; r++) {
                    dolor_seg_summary su = dolor_seg_eval_summary(rd[r].ev, c, ms[mi]);
                    printf("  %-14s mean %.4f  SD %.4f  median %.4f [%.4f, %.4f]\n", rd[r].name, su.mean, su.sd,
                           su.median, su.p25, su.p75);
                }
                if (!e1)
                    printf("  Friedman chi-squared = %.4f, df = %.0f, p = %.4g\n", fr.statistic, fr.df, fr.p);
                else
                    printf("  Friedman: %s\n", why1);
                if (!e2)
                    printf("  repeated-measures ANOVA F(%.0f, %.0f) = %.4f, p = %.4g\n", ra.df_conditions, ra.df_error,
                           ra.F, ra.p);
                else
                    printf("  repeated-measures ANOVA: %s\n", why2);
                for (int i = 1; i < k && !e3; i++)
                    for (int j = 0; j < i; j++)
                        printf("  Wilcoxon signed rank %s vs %s: V = %g, p (Bonferroni, %d pairs) = %.4g\n", rd[j].name,
                               rd[i].name, vv[i * k + j], k * (k - 1) / 2, pp[i * k + j]);
            }
            free((void *)why1);
            free((void *)why2);
        }
    free(y);
    free(pp);
    free(vv);
    for (int i = 0; i < 3; i++) {
        dolor_status e = s ? (dolor_outfile_abort(&f[i]), DOLOR_OK) : dolor_outfile_commit(&f[i]);
        s = s ? s : e;
    }
    if (s)
        rc = dolor_cli_fail(cmd, s);
    else if (!a->quiet)
        printf("\nwrote %s/readers_per_image.csv, readers_summary.csv, readers_tests.csv\n", a->out);
done:
    for (int r = 0; r < k; r++) {
        free((void *)rd[r].dir);
        dolor_seg_eval_free(rd[r].ev);
    }
    return rc;
}
