/* Segmentation metrics: per-case per-class counts, summaries, CSV and table
 * output. Definitions and the empty-case rules are documented in eval.h. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/eval.h"
#include "eval_priv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct dolor_seg_eval {
    int k;              /* classes including background */
    char **names;       /* [k] */
    size_t ncases, cap;
    char **ids;         /* [cap] */
    uint64_t *counts;   /* [cap][k][4]: tp, fp, fn, tn */
    double *dist;       /* [cap][k][2]: hd95, assd (mm), NaN when unknown */
    uint64_t *conf;     /* [k][k] pixel confusion, rows = truth */
    uint64_t *scratch;  /* [k][k] one case's confusion */
    int unit;           /* distances: 0 no case with geometry yet, 1 mm, 2 pixels (no pixel size) */
};

static const char *metric_names[DOLOR_SEG_NMETRICS] = {"iou",         "dice",     "precision", "recall",
                                                       "specificity", "accuracy", "hd95_mm",   "assd_mm"};

const char *dolor_seg_metric_name(dolor_seg_metric m)
{
    return (unsigned)m < DOLOR_SEG_NMETRICS ? metric_names[m] : "?";
}

const char *dolor_seg_eval_distance_unit(const dolor_seg_eval *ev)
{
    return ev && ev->unit == 2 ? "px" : "mm";
}

const char *dolor_seg_eval_metric_column(const dolor_seg_eval *ev, dolor_seg_metric m)
{
    if (ev && ev->unit == 2 && m == DOLOR_SEG_HD95)
        return "hd95_px";
    if (ev && ev->unit == 2 && m == DOLOR_SEG_ASSD)
        return "assd_px";
    return dolor_seg_metric_name(m);
}

dolor_status dolor_seg_eval_note_spacing(dolor_seg_eval *ev, const char *case_id, int spacing_unknown)
{
    int u = spacing_unknown ? 2 : 1;
    if (ev->unit && ev->unit != u)
        return dolor_error(DOLOR_EINVAL, "%s: the ground truth has %s pixel size, but earlier cases' truths have %s: "
                           "distances in mm and in pixels cannot be summarised together", case_id,
                           spacing_unknown ? "no" : "a", spacing_unknown ? "one" : "none");
    ev->unit = u;
    return DOLOR_OK;
}

dolor_status dolor_seg_eval_create(int num_classes, const char *const *class_names, dolor_seg_eval **out)
{
    *out = NULL;
    if (num_classes < 2 || num_classes > 256)
        return dolor_error(DOLOR_EINVAL, "seg eval: num_classes is %d (must be 2..256, background included)",
                           num_classes);
    dolor_seg_eval *ev = calloc(1, sizeof *ev);
    if (!ev)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    ev->k = num_classes;
    size_t kk = (size_t)num_classes * (size_t)num_classes;
    ev->names = calloc((size_t)num_classes, sizeof *ev->names);
    ev->conf = calloc(kk, sizeof *ev->conf);
    ev->scratch = calloc(kk, sizeof *ev->scratch);
    if (!ev->names || !ev->conf || !ev->scratch) {
        dolor_seg_eval_free(ev);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    for (int c = 0; c < num_classes; c++) {
        const char *nm = class_names ? class_names[c] : NULL;
        char buf[32];
        if (!nm) {
            if (c == 0)
                snprintf(buf, sizeof buf, "background");
            else
                snprintf(buf, sizeof buf, "class%d", c);
            nm = buf;
        }
        if (!*nm) {
            dolor_seg_eval_free(ev);
            return dolor_error(DOLOR_EINVAL, "seg eval: class %d has an empty name", c);
        }
        for (int j = 0; j < c; j++) {
            if (strcmp(ev->names[j], nm) == 0) {
                dolor_status s = dolor_error(DOLOR_EINVAL, "seg eval: classes %d and %d have the same name '%s'", j,
                                             c, nm);
                dolor_seg_eval_free(ev);
                return s;
            }
        }
        ev->names[c] = strdup(nm);
        if (!ev->names[c]) {
            dolor_seg_eval_free(ev);
            return dolor_error(DOLOR_ENOMEM, "out of memory");
        }
    }
    *out = ev;
    return DOLOR_OK;
}

void dolor_seg_eval_reset(dolor_seg_eval *ev)
{
    if (!ev)
        return;
    for (size_t i = 0; i < ev->ncases; i++) {
        free(ev->ids[i]);
        ev->ids[i] = NULL;
    }
    ev->ncases = 0;
    ev->unit = 0;
    memset(ev->conf, 0, (size_t)ev->k * (size_t)ev->k * sizeof *ev->conf);
}

void dolor_seg_eval_free(dolor_seg_eval *ev)
{
    if (!ev)
        return;
    for (size_t i = 0; i < ev->ncases; i++)
        free(ev->ids[i]);
    if (ev->names)
        for (int c = 0; c < ev->k; c++)
            free(ev->names[c]);
    free(ev->names);
    free(ev->ids);
    free(ev->counts);
    free(ev->dist);
    free(ev->conf);
    free(ev->scratch);
    free(ev);
}

/* Append a case from its k x k confusion matrix (cm may be ev->scratch). */
static dolor_status add_cm(dolor_seg_eval *ev, const char *case_id, const uint64_t *cm)
{
    const int k = ev->k;
    if (ev->ncases == ev->cap) {
        size_t cap = ev->cap ? 2 * ev->cap : 16;
        char **ids = realloc(ev->ids, cap * sizeof *ids);
        if (!ids)
            return dolor_error(DOLOR_ENOMEM, "out of memory");
        ev->ids = ids;
        uint64_t *cnt = realloc(ev->counts, cap * (size_t)k * 4 * sizeof *cnt);
        if (!cnt)
            return dolor_error(DOLOR_ENOMEM, "out of memory");
        ev->counts = cnt;
        double *dist = realloc(ev->dist, cap * (size_t)k * 2 * sizeof *dist);
        if (!dist)
            return dolor_error(DOLOR_ENOMEM, "out of memory");
        ev->dist = dist;
        ev->cap = cap;
    }
    char *id = strdup(case_id);
    if (!id)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    uint64_t n = 0;
    size_t kk = (size_t)k * (size_t)k;
    for (size_t i = 0; i < kk; i++)
        n += cm[i];
    uint64_t *cnt = ev->counts + ev->ncases * (size_t)k * 4;
    for (int c = 0; c < k; c++) {
        uint64_t row = 0, col = 0;
        for (int j = 0; j < k; j++) {
            row += cm[(size_t)c * (size_t)k + (size_t)j];
            col += cm[(size_t)j * (size_t)k + (size_t)c];
        }
        uint64_t tp = cm[(size_t)c * (size_t)k + (size_t)c];
        cnt[4 * c + 0] = tp;
        cnt[4 * c + 1] = col - tp;
        cnt[4 * c + 2] = row - tp;
        cnt[4 * c + 3] = n - row - col + tp;
    }
    for (size_t i = 0; i < kk; i++)
        ev->conf[i] += cm[i];
    double *dist = ev->dist + ev->ncases * (size_t)k * 2;
    for (int c = 0; c < 2 * k; c++)
        dist[c] = NAN;
    ev->ids[ev->ncases++] = id;
    return DOLOR_OK;
}

dolor_status dolor_seg_eval_add(dolor_seg_eval *ev, const char *case_id, const uint8_t *truth, const uint8_t *pred,
                                size_t n)
{
    char idbuf[32];
    if (!case_id) {
        snprintf(idbuf, sizeof idbuf, "case%zu", ev->ncases);
        case_id = idbuf;
    }
    if (n == 0)
        return dolor_error(DOLOR_EINVAL, "%s: empty case (0 pixels)", case_id);
    const int k = ev->k;
    /* validate first so that a bad case adds nothing */
    if (k < 256) {
        for (size_t i = 0; i < n; i++) {
            if (truth[i] >= k)
                return dolor_error(DOLOR_EINVAL, "%s: truth value %d at position %zu is not a class (0..%d)", case_id,
                                   truth[i], i, k - 1);
            if (pred[i] >= k)
                return dolor_error(DOLOR_EINVAL, "%s: pred value %d at position %zu is not a class (0..%d)", case_id,
                                   pred[i], i, k - 1);
        }
    }
    uint64_t *cm = ev->scratch;
    size_t kk = (size_t)k * (size_t)k;
    memset(cm, 0, kk * sizeof *cm);
    for (size_t i = 0; i < n; i++)
        cm[(size_t)truth[i] * (size_t)k + pred[i]]++;
    return add_cm(ev, case_id, cm);
}

dolor_status dolor_seg_eval_add_confusion(dolor_seg_eval *ev, const char *case_id, const uint64_t *cm)
{
    char idbuf[32];
    if (!case_id) {
        snprintf(idbuf, sizeof idbuf, "case%zu", ev->ncases);
        case_id = idbuf;
    }
    size_t kk = (size_t)ev->k * (size_t)ev->k;
    uint64_t n = 0;
    for (size_t i = 0; i < kk; i++)
        n += cm[i];
    if (n == 0)
        return dolor_error(DOLOR_EINVAL, "%s: empty case (confusion matrix is all zero)", case_id);
    return add_cm(ev, case_id, cm);
}

static void dims_str(const dolor_image *img, char *buf, size_t n)
{
    int len = snprintf(buf, n, "%lld", (long long)img->size[0]);
    for (int d = 1; d < img->ndim && len > 0 && (size_t)len < n; d++)
        len += snprintf(buf + len, n - (size_t)len, "x%lld", (long long)img->size[d]);
}

/* Class-index map of a label image; checks every value. */
static dolor_status to_classes(const dolor_image *img, int k, const char *id, const char *which, uint8_t *out)
{
    size_t n = dolor_image_nvox(img);
    if (img->dtype == DOLOR_U8) {
        const uint8_t *p = img->data;
        for (size_t i = 0; i < n; i++) {
            if (p[i] >= k)
                return dolor_error(DOLOR_EINVAL, "%s: %s value %d at voxel %zu is not a class (0..%d)", id, which,
                                   p[i], i, k - 1);
            out[i] = p[i];
        }
        return DOLOR_OK;
    }
    for (size_t i = 0; i < n; i++) {
        double v = dolor_image_get(img, i);
        if (!(v >= 0 && v < k) || v != floor(v))
            return dolor_error(DOLOR_EINVAL, "%s: %s value %g at voxel %zu is not a class (0..%d)", id, which, v, i,
                               k - 1);
        out[i] = (uint8_t)v;
    }
    return DOLOR_OK;
}

dolor_status dolor_seg_eval_add_image(dolor_seg_eval *ev, const char *case_id, const dolor_image *truth,
                                      const dolor_image *pred)
{
    char idbuf[32];
    if (!case_id) {
        snprintf(idbuf, sizeof idbuf, "case%zu", ev->ncases);
        case_id = idbuf;
    }
    if (truth->ncomp != 1 || pred->ncomp != 1)
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: label images need 1 component (truth has %d, pred %d)", case_id,
                           truth->ncomp, pred->ncomp);
    int same = 1;
    for (int d = 0; d < DOLOR_IMAGE_MAXDIM; d++)
        same &= truth->size[d] == pred->size[d];
    if (!same) {
        char a[96], b[96];
        dims_str(pred, a, sizeof a);
        dims_str(truth, b, sizeof b);
        return dolor_error(DOLOR_ESHAPE, "%s: pred is %s but truth is %s", case_id, a, b);
    }
    if (truth->size[3] > 1)
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: a 4D label image (%lld frames) is not supported", case_id,
                           (long long)truth->size[3]);
    size_t n = dolor_image_nvox(truth);
    uint8_t *t = malloc(n), *p = malloc(n), *a = malloc(n), *b = malloc(n);
    dolor_status s = DOLOR_OK;
    if (!t || !p || !a || !b)
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
    if (!s)
        s = to_classes(truth, ev->k, case_id, "truth", t);
    if (!s)
        s = to_classes(pred, ev->k, case_id, "pred", p);
    int unit_before = ev->unit;
    if (!s)
        s = dolor_seg_eval_note_spacing(ev, case_id, truth->spacing_unknown);
    if (!s)
        s = dolor_seg_eval_add(ev, case_id, t, p, n);
    if (s)
        ev->unit = unit_before;
    if (!s) {
        size_t ci = ev->ncases - 1;
        const int64_t dims[3] = {truth->size[0], truth->size[1], truth->size[2]};
        const double sp[3] = {truth->spacing[0], truth->spacing[1], truth->spacing[2]};
        for (int c = 1; c < ev->k && !s; c++) {
            dolor_seg_counts k = dolor_seg_eval_case_counts(ev, ci, c);
            if (k.tp + k.fn == 0 || k.tp + k.fp == 0)
                continue; /* absent from truth or prediction: NaN */
            for (size_t i = 0; i < n; i++) {
                a[i] = p[i] == c;
                b[i] = t[i] == c;
            }
            double hd, as;
            s = dolor_seg_surface_distances(a, b, dims, sp, &hd, &as);
            if (!s)
                dolor_seg_eval_set_distances(ev, ci, c, hd, as);
        }
        if (s) { /* roll the case back */
            ev->ncases--;
            free(ev->ids[ev->ncases]);
            ev->ids[ev->ncases] = NULL;
            /* the confusion matrix keeps no per-case copy: subtract it again */
            for (size_t i = 0; i < n; i++)
                ev->conf[(size_t)t[i] * (size_t)ev->k + p[i]]--;
        }
    }
    free(t);
    free(p);
    free(a);
    free(b);
    return s;
}

size_t dolor_seg_eval_count(const dolor_seg_eval *ev)
{
    return ev ? ev->ncases : 0;
}

int dolor_seg_eval_num_classes(const dolor_seg_eval *ev)
{
    return ev ? ev->k : 0;
}

const char *dolor_seg_eval_class_name(const dolor_seg_eval *ev, int c)
{
    return ev && c >= 0 && c < ev->k ? ev->names[c] : "?";
}

const char *dolor_seg_eval_case_id(const dolor_seg_eval *ev, size_t i)
{
    return ev && i < ev->ncases ? ev->ids[i] : NULL;
}

dolor_seg_counts dolor_seg_eval_case_counts(const dolor_seg_eval *ev, size_t i, int c)
{
    dolor_seg_counts r = {0, 0, 0, 0};
    if (!ev || i >= ev->ncases || c < 0 || c >= ev->k)
        return r;
    const uint64_t *p = ev->counts + (i * (size_t)ev->k + (size_t)c) * 4;
    r.tp = p[0];
    r.fp = p[1];
    r.fn = p[2];
    r.tn = p[3];
    return r;
}

static double ratio(double num, double den)
{
    return den > 0 ? num / den : NAN;
}

double dolor_seg_metric_from_counts(dolor_seg_counts k, dolor_seg_metric m)
{
    double tp = (double)k.tp, fp = (double)k.fp, fn = (double)k.fn, tn = (double)k.tn;
    switch (m) {
    case DOLOR_SEG_IOU: return ratio(tp, tp + fp + fn);
    case DOLOR_SEG_DICE: return ratio(2 * tp, 2 * tp + fp + fn);
    case DOLOR_SEG_PRECISION: return ratio(tp, tp + fp);
    case DOLOR_SEG_RECALL: return ratio(tp, tp + fn);
    case DOLOR_SEG_SPECIFICITY: return ratio(tn, tn + fp);
    case DOLOR_SEG_ACCURACY: return ratio(tp + tn, tp + fp + fn + tn);
    default: return NAN;
    }
}

void dolor_seg_eval_set_distances(dolor_seg_eval *ev, size_t i, int c, double hd95, double assd)
{
    if (!ev || i >= ev->ncases || c < 0 || c >= ev->k)
        return;
    double *d = ev->dist + (i * (size_t)ev->k + (size_t)c) * 2;
    d[0] = hd95;
    d[1] = assd;
}

double dolor_seg_eval_case_metric(const dolor_seg_eval *ev, size_t i, int c, dolor_seg_metric m)
{
    if (!ev || i >= ev->ncases || c < 0 || c >= ev->k)
        return NAN;
    if (m == DOLOR_SEG_HD95 || m == DOLOR_SEG_ASSD)
        return ev->dist[(i * (size_t)ev->k + (size_t)c) * 2 + (m == DOLOR_SEG_ASSD)];
    return dolor_seg_metric_from_counts(dolor_seg_eval_case_counts(ev, i, c), m);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* type 7 on sorted data */
static double q7_sorted(const double *x, size_t n, double p)
{
    double h = (double)(n - 1) * p;
    double fl = floor(h);
    size_t j = (size_t)fl;
    if (j + 1 >= n)
        return x[n - 1];
    return x[j] + (h - fl) * (x[j + 1] - x[j]);
}

double dolor_eval_quantile7(const double *x, size_t n, double p)
{
    if (n == 0 || !(p >= 0 && p <= 1))
        return NAN;
    double *s = malloc(n * sizeof *s);
    if (!s)
        return NAN;
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    double q = q7_sorted(s, n, p);
    free(s);
    return q;
}

dolor_seg_summary dolor_seg_eval_summary(const dolor_seg_eval *ev, int c, dolor_seg_metric m)
{
    dolor_seg_summary s = {0, 0, NAN, NAN, NAN, NAN, NAN};
    if (!ev || c < 0 || c >= ev->k || (unsigned)m >= DOLOR_SEG_NMETRICS || ev->ncases == 0)
        return s;
    double *v = malloc(ev->ncases * sizeof *v);
    if (!v)
        return s;
    size_t n = 0;
    for (size_t i = 0; i < ev->ncases; i++) {
        dolor_seg_counts k = dolor_seg_eval_case_counts(ev, i, c);
        if (k.tp + k.fp + k.fn == 0)
            s.n_empty++;
        double x = dolor_seg_eval_case_metric(ev, i, c, m);
        if (!isnan(x))
            v[n++] = x;
    }
    s.n = n;
    if (n > 0) {
        qsort(v, n, sizeof *v, cmp_double);
        double sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += v[i];
        double mean = sum / (double)n;
        s.mean = mean;
        if (n > 1) {
            double ss = 0;
            for (size_t i = 0; i < n; i++)
                ss += (v[i] - mean) * (v[i] - mean);
            s.sd = sqrt(ss / (double)(n - 1));
        }
        s.median = q7_sorted(v, n, 0.5);
        s.p25 = q7_sorted(v, n, 0.25);
        s.p75 = q7_sorted(v, n, 0.75);
    }
    free(v);
    return s;
}

static double mean_metric(const dolor_seg_eval *ev, int c, dolor_seg_metric m)
{
    if (!ev || c < 0 || c >= ev->k)
        return NAN;
    double sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < ev->ncases; i++) {
        double x = dolor_seg_eval_case_metric(ev, i, c, m);
        if (!isnan(x)) {
            sum += x;
            n++;
        }
    }
    return n ? sum / (double)n : NAN;
}

double dolor_seg_eval_mean_dice(const dolor_seg_eval *ev, int c)
{
    return mean_metric(ev, c, DOLOR_SEG_DICE);
}

double dolor_seg_eval_mean_iou(const dolor_seg_eval *ev, int c)
{
    return mean_metric(ev, c, DOLOR_SEG_IOU);
}

double dolor_seg_eval_mean_fg_dice(const dolor_seg_eval *ev)
{
    if (!ev)
        return NAN;
    double sum = 0;
    int n = 0;
    for (int c = 1; c < ev->k; c++) {
        double d = dolor_seg_eval_mean_dice(ev, c);
        if (!isnan(d)) {
            sum += d;
            n++;
        }
    }
    return n ? sum / n : NAN;
}

uint64_t dolor_seg_eval_confusion(const dolor_seg_eval *ev, int t, int p)
{
    if (!ev || t < 0 || p < 0 || t >= ev->k || p >= ev->k)
        return 0;
    return ev->conf[(size_t)t * (size_t)ev->k + (size_t)p];
}

double dolor_seg_eval_global_dice(const dolor_seg_eval *ev, int c)
{
    if (!ev || c < 0 || c >= ev->k)
        return NAN;
    double tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < ev->ncases; i++) {
        dolor_seg_counts k = dolor_seg_eval_case_counts(ev, i, c);
        tp += (double)k.tp;
        fp += (double)k.fp;
        fn += (double)k.fn;
    }
    return ratio(2 * tp, 2 * tp + fp + fn);
}

/* ---------------------------------------------------------------- CSV ---- */

static void csv_str(FILE *fp, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', fp);
        fputc(*p, fp);
    }
    fputc('"', fp);
}

static void csv_num(FILE *fp, double v)
{
    if (isnan(v))
        fputs("NA", fp);
    else
        fprintf(fp, "%.10g", v);
}

static dolor_status open_csv(dolor_outfile *f, const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = malloc(len);
    if (!path)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    snprintf(path, len, "%s/%s", dir, name);
    dolor_status s = dolor_outfile_open(f, path, 1);
    free(path);
    return s;
}

static dolor_status finish_csv(dolor_outfile *f)
{
    if (ferror(f->fp)) {
        dolor_status s = dolor_error(DOLOR_EIO, "%s: write error", f->path);
        dolor_outfile_abort(f);
        return s;
    }
    return dolor_outfile_commit(f);
}

dolor_status dolor_seg_eval_write_csv(const dolor_seg_eval *ev, const char *dir)
{
    dolor_status s = dolor_mkdir_p(dir);
    if (s)
        return s;
    const int k = ev->k;
    dolor_outfile f;

    if ((s = open_csv(&f, dir, "per_case.csv")))
        return s;
    fputs("case,class,tp,fp,fn,tn", f.fp);
    for (int m = 0; m < DOLOR_SEG_NMETRICS; m++)
        fprintf(f.fp, ",%s", dolor_seg_eval_metric_column(ev, (dolor_seg_metric)m));
    fputc('\n', f.fp);
    for (size_t i = 0; i < ev->ncases; i++) {
        for (int c = 0; c < k; c++) {
            dolor_seg_counts cnt = dolor_seg_eval_case_counts(ev, i, c);
            csv_str(f.fp, ev->ids[i]);
            fputc(',', f.fp);
            csv_str(f.fp, ev->names[c]);
            fprintf(f.fp, ",%llu,%llu,%llu,%llu", (unsigned long long)cnt.tp, (unsigned long long)cnt.fp,
                    (unsigned long long)cnt.fn, (unsigned long long)cnt.tn);
            for (int m = 0; m < DOLOR_SEG_NMETRICS; m++) {
                fputc(',', f.fp);
                csv_num(f.fp, dolor_seg_eval_case_metric(ev, i, c, (dolor_seg_metric)m));
            }
            fputc('\n', f.fp);
        }
    }
    if ((s = finish_csv(&f)))
        return s;

    if ((s = open_csv(&f, dir, "summary.csv")))
        return s;
    fputs("class,metric,n,mean,sd,median,p25,p75,n_empty\n", f.fp);
    for (int c = 0; c < k; c++) {
        for (int m = 0; m < DOLOR_SEG_NMETRICS; m++) {
            dolor_seg_summary sm = dolor_seg_eval_summary(ev, c, (dolor_seg_metric)m);
            csv_str(f.fp, ev->names[c]);
            fprintf(f.fp, ",%s,%zu,", dolor_seg_eval_metric_column(ev, (dolor_seg_metric)m), sm.n);
            csv_num(f.fp, sm.mean);
            fputc(',', f.fp);
            csv_num(f.fp, sm.sd);
            fputc(',', f.fp);
            csv_num(f.fp, sm.median);
            fputc(',', f.fp);
            csv_num(f.fp, sm.p25);
            fputc(',', f.fp);
            csv_num(f.fp, sm.p75);
            fprintf(f.fp, ",%zu\n", sm.n_empty);
        }
    }
    if ((s = finish_csv(&f)))
        return s;

    if ((s = open_csv(&f, dir, "confusion.csv")))
        return s;
    fputs("truth\\pred", f.fp);
    for (int c = 0; c < k; c++) {
        fputc(',', f.fp);
        csv_str(f.fp, ev->names[c]);
    }
    fputc('\n', f.fp);
    for (int t = 0; t < k; t++) {
        csv_str(f.fp, ev->names[t]);
        for (int p = 0; p < k; p++)
            fprintf(f.fp, ",%llu", (unsigned long long)ev->conf[(size_t)t * (size_t)k + (size_t)p]);
        fputc('\n', f.fp);
    }
    return finish_csv(&f);
}

/* -------------------------------------------------------------- table ---- */

static void fmt3(char *buf, size_t n, double v)
{
    if (isnan(v))
        snprintf(buf, n, "NA");
    else
        snprintf(buf, n, "%.3f", v);
}

static void fmt_mean_sd(char *buf, size_t n, const dolor_seg_summary *s)
{
    char a[16], b[16];
    fmt3(a, sizeof a, s->mean);
    fmt3(b, sizeof b, s->sd);
    snprintf(buf, n, "%s +/- %s", a, b);
}

static void fmt_median(char *buf, size_t n, const dolor_seg_summary *s)
{
    char a[16], b[16], c[16];
    fmt3(a, sizeof a, s->median);
    fmt3(b, sizeof b, s->p25);
    fmt3(c, sizeof c, s->p75);
    snprintf(buf, n, "%s [%s, %s]", a, b, c);
}

void dolor_seg_eval_print(const dolor_seg_eval *ev, FILE *fp)
{
    if (!ev || !fp)
        return;
    const int k = ev->k;
    int w = 10;
    for (int c = 0; c < k; c++) {
        int l = (int)strlen(ev->names[c]);
        if (l > w)
            w = l;
    }
    if (w > 24)
        w = 24;
    fprintf(fp, "Segmentation: %zu case%s, %d classes (background included)\n", ev->ncases,
            ev->ncases == 1 ? "" : "s", k);
    int have_hd = 0;
    for (size_t i = 0; i < ev->ncases && !have_hd; i++)
        for (int c = 1; c < k && !have_hd; c++)
            have_hd = !isnan(dolor_seg_eval_case_metric(ev, i, c, DOLOR_SEG_HD95));
    fprintf(fp, "%-*s %5s %5s  %-20s %-24s %-20s %-24s %9s %9s %11s", w, "class", "n", "empty", "Dice mean +/- SD",
            "Dice median [P25, P75]", "IoU mean +/- SD", "IoU median [P25, P75]", "precision", "recall",
            "specificity");
    if (have_hd)
        fprintf(fp, "  HD95 %s median [P25, P75] (n)", ev->unit == 2 ? "px" : "mm");
    fputc('\n', fp);
    for (int c = 0; c < k; c++) {
        dolor_seg_summary d = dolor_seg_eval_summary(ev, c, DOLOR_SEG_DICE);
        dolor_seg_summary j = dolor_seg_eval_summary(ev, c, DOLOR_SEG_IOU);
        char dm[48], dq[48], jm[48], jq[48], pr[16], re[16], sp[16];
        fmt_mean_sd(dm, sizeof dm, &d);
        fmt_median(dq, sizeof dq, &d);
        fmt_mean_sd(jm, sizeof jm, &j);
        fmt_median(jq, sizeof jq, &j);
        fmt3(pr, sizeof pr, mean_metric(ev, c, DOLOR_SEG_PRECISION));
        fmt3(re, sizeof re, mean_metric(ev, c, DOLOR_SEG_RECALL));
        fmt3(sp, sizeof sp, mean_metric(ev, c, DOLOR_SEG_SPECIFICITY));
        fprintf(fp, "%-*.*s %5zu %5zu  %-20s %-24s %-20s %-24s %9s %9s %11s", w, w, ev->names[c], d.n, d.n_empty,
                dm, dq, jm, jq, pr, re, sp);
        if (have_hd && c > 0) {
            dolor_seg_summary hd = dolor_seg_eval_summary(ev, c, DOLOR_SEG_HD95);
            char hq[64];
            if (hd.n) {
                snprintf(hq, sizeof hq, "%.2f [%.2f, %.2f] (%zu)", hd.median, hd.p25, hd.p75, hd.n);
            } else {
                snprintf(hq, sizeof hq, "NA");
            }
            fprintf(fp, "  %s", hq);
        }
        fputc('\n', fp);
    }
    char fg[16];
    fmt3(fg, sizeof fg, dolor_seg_eval_mean_fg_dice(ev));
    fprintf(fp, "mean foreground Dice (mean of the class means): %s\n", fg);
    fprintf(fp, "(n = cases where Dice is defined; empty = class absent from truth and prediction, excluded;\n"
                " precision/recall/specificity are means over the cases where each is defined%s)\n",
            have_hd ? (ev->unit == 2 ? ";\n HD95 = 95th-percentile Hausdorff distance, over cases with the class in truth and "
                                       "prediction,\n in pixels (px): the ground truth has no pixel size"
                                     : ";\n HD95 = 95th-percentile Hausdorff distance, over cases with the class in truth and "
                                       "prediction,\n in mm (the ground truth's pixel spacing)")
                    : "");

    fprintf(fp, "\nPixel confusion matrix (rows = truth, columns = prediction): counts\n");
    fprintf(fp, "%-*s", w, "truth\\pred");
    for (int c = 0; c < k; c++)
        fprintf(fp, " %14.14s", ev->names[c]);
    fputc('\n', fp);
    for (int t = 0; t < k; t++) {
        fprintf(fp, "%-*.*s", w, w, ev->names[t]);
        for (int p = 0; p < k; p++)
            fprintf(fp, " %14llu", (unsigned long long)ev->conf[(size_t)t * (size_t)k + (size_t)p]);
        fputc('\n', fp);
    }
    fprintf(fp, "row %% (share of each truth class predicted as each class)\n");
    fprintf(fp, "%-*s", w, "truth\\pred");
    for (int c = 0; c < k; c++)
        fprintf(fp, " %14.14s", ev->names[c]);
    fputc('\n', fp);
    for (int t = 0; t < k; t++) {
        uint64_t row = 0;
        for (int p = 0; p < k; p++)
            row += ev->conf[(size_t)t * (size_t)k + (size_t)p];
        fprintf(fp, "%-*.*s", w, w, ev->names[t]);
        for (int p = 0; p < k; p++) {
            if (row)
                fprintf(fp, " %13.2f%%", 100.0 * (double)ev->conf[(size_t)t * (size_t)k + (size_t)p] / (double)row);
            else
                fprintf(fp, " %14s", "NA");
        }
        fputc('\n', fp);
    }
}
