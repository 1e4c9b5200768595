/* Pixel-level ROC per class (one against the rest) over all distinct scores, exact trapezoid AUC; the
 * study tables of a segmentation evaluation (confusion matrix in row percentages and as SVG, per-class
 * pooled metrics). */
#define _POSIX_C_SOURCE 200809L
#include "dolor/eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dolor_pixel_roc {
    int k;
    char **names;
    float *probs;    /* [k][cap] */
    uint8_t *truth;  /* [cap] */
    size_t n, cap;
};

void dolor_pixel_roc_free(dolor_pixel_roc *r)
{
    if (!r)
        return;
    for (int c = 0; r->names && c < r->k; c++)
        free(r->names[c]);
    free(r->names);
    free(r->probs);
    free(r->truth);
    free(r);
}

dolor_status dolor_pixel_roc_create(int num_classes, const char *const *class_names, dolor_pixel_roc **out)
{
    *out = NULL;
    if (num_classes < 2 || num_classes > 256)
        return dolor_error(DOLOR_EINVAL, "pixel ROC: num_classes %d (2..256)", num_classes);
    dolor_pixel_roc *r = calloc(1, sizeof *r);
    if (!r || !(r->names = calloc((size_t)num_classes, sizeof *r->names))) {
        free(r);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    r->k = num_classes;
    for (int c = 0; c < num_classes; c++) {
        char buf[32];
        const char *n = class_names && class_names[c] ? class_names[c] : NULL;
        if (!n) {
            snprintf(buf, sizeof buf, c ? "class%d" : "background", c);
            n = buf;
        }
        if (!(r->names[c] = strdup(n))) {
            dolor_pixel_roc_free(r);
            return dolor_error(DOLOR_ENOMEM, "out of memory");
        }
    }
    *out = r;
    return DOLOR_OK;
}

dolor_status dolor_pixel_roc_add(dolor_pixel_roc *r, const float *probs, const uint8_t *truth, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (truth[i] >= r->k)
            return dolor_error(DOLOR_EINVAL, "pixel ROC: truth value %d at pixel %zu is not a class (0..%d)", truth[i],
                               i, r->k - 1);
        for (int c = 0; c < r->k; c++) {
            float p = probs[(size_t)c * n + i];
            if (!(p >= 0.0f && p <= 1.0f))
                return dolor_error(DOLOR_EINVAL, "pixel ROC: probability of class %d at pixel %zu is %g (not in 0..1)",
                                   c, i, (double)p);
        }
    }
    if (r->n + n > r->cap) {
        size_t nc = r->cap ? r->cap : 1 << 16;
        while (nc < r->n + n)
            nc *= 2;
        float *np = malloc(nc * (size_t)r->k * sizeof *np);
        uint8_t *nt = malloc(nc);
        if (!np || !nt) {
            free(np);
            free(nt);
            return dolor_error(DOLOR_ENOMEM, "pixel ROC: out of memory for %zu pixels", r->n + n);
        }
        for (int c = 0; c < r->k; c++)
            if (r->n)
                memcpy(np + (size_t)c * nc, r->probs + (size_t)c * r->cap, r->n * sizeof *np);
        if (r->n)
            memcpy(nt, r->truth, r->n);
        free(r->probs);
        free(r->truth);
        r->probs = np;
        r->truth = nt;
        r->cap = nc;
    }
    for (int c = 0; c < r->k; c++)
        memcpy(r->probs + (size_t)c * r->cap + r->n, probs + (size_t)c * n, n * sizeof *probs);
    memcpy(r->truth + r->n, truth, n);
    r->n += n;
    return DOLOR_OK;
}

/* sort key: score descending; float bits made monotone so that a radix-free qsort on uint64 is exact */
typedef struct {
    float s;
    uint8_t pos;
} scored;

static int cmp_desc(const void *a, const void *b)
{
    float x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x < y) - (x > y);
}

void dolor_roc_curve_free(dolor_roc_curve *c)
{
    if (!c)
        return;
    free(c->fpr);
    free(c->tpr);
    free(c->threshold);
    c->fpr = c->tpr = c->threshold = NULL;
    c->n = 0;
}

dolor_status dolor_pixel_roc_curve(const dolor_pixel_roc *r, int c, int keep_all, dolor_roc_curve *out)
{
    memset(out, 0, sizeof *out);
    if (c < 0 || c >= r->k)
        return dolor_error(DOLOR_EINVAL, "pixel ROC: class %d out of range 0..%d", c, r->k - 1);
    size_t n = r->n;
    uint64_t P = 0;
    for (size_t i = 0; i < n; i++)
        P += r->truth[i] == c;
    out->n_pos = P;
    out->n_neg = n - P;
    if (P == 0 || P == n)
        return dolor_error(DOLOR_ENUMERIC, "pixel ROC: class '%s' has %s pixel in %zu (AUC undefined)", r->names[c],
                           P == 0 ? "no" : "no negative", n);
    scored *v = malloc(n * sizeof *v);
    size_t cap = 1024;
    out->fpr = malloc(cap * sizeof *out->fpr);
    out->tpr = malloc(cap * sizeof *out->tpr);
    out->threshold = malloc(cap * sizeof *out->threshold);
    if (!v || !out->fpr || !out->tpr || !out->threshold) {
        free(v);
        dolor_roc_curve_free(out);
        return dolor_error(DOLOR_ENOMEM, "pixel ROC: out of memory");
    }
    const float *pc = r->probs + (size_t)c * r->cap;
    for (size_t i = 0; i < n; i++) {
        v[i].s = pc[i];
        v[i].pos = r->truth[i] == c;
    }
    qsort(v, n, sizeof *v, cmp_desc);
    double Nn = (double)(n - P), Pp = (double)P;
    out->fpr[0] = out->tpr[0] = 0;
    out->threshold[0] = INFINITY;
    size_t m = 1;
    uint64_t tp = 0, fp = 0;
    double auc = 0, px = 0, py = 0;
    for (size_t i = 0; i < n;) {
        float s = v[i].s;
        for (; i < n && v[i].s == s; i++) {
            tp += v[i].pos;
            fp += !v[i].pos;
        }
        double x = (double)fp / Nn, y = (double)tp / Pp;
        auc += (x - px) * (y + py) * 0.5;
        px = x;
        py = y;
        /* drop_intermediate: the previous point lies on the segment from its predecessor to this one when
         * both came from runs of one kind only (x or y constant over the three points) */
        if (!keep_all && m >= 2 &&
            ((out->fpr[m - 2] == out->fpr[m - 1] && out->fpr[m - 1] == x) ||
             (out->tpr[m - 2] == out->tpr[m - 1] && out->tpr[m - 1] == y)))
            m--;
        if (m == cap) {
            cap *= 2;
            double *a = realloc(out->fpr, cap * sizeof *a);
            if (a)
                out->fpr = a;
            double *b = realloc(out->tpr, cap * sizeof *b);
            if (b)
                out->tpr = b;
            double *t = realloc(out->threshold, cap * sizeof *t);
            if (t)
                out->threshold = t;
            if (!a || !b || !t) {
                free(v);
                dolor_roc_curve_free(out);
                return dolor_error(DOLOR_ENOMEM, "pixel ROC: out of memory");
            }
        }
        out->fpr[m] = x;
        out->tpr[m] = y;
        out->threshold[m] = s;
        m++;
    }
    free(v);
    out->n = m;
    out->auc = auc;
    return DOLOR_OK;
}

static const char *const svg_colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                          "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};

static void svg_escape(FILE *fp, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", fp);
        else if (*s == '>')
            fputs("&gt;", fp);
        else if (*s == '&')
            fputs("&amp;", fp);
        else if (*s == '"')
            fputs("&quot;", fp);
        else
            fputc(*s, fp);
    }
}

static dolor_status open_out(dolor_outfile *f, const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return dolor_outfile_open(f, path, 1);
}

dolor_status dolor_pixel_roc_write(const dolor_pixel_roc *r, const char *dir)
{
    dolor_status s = dolor_mkdir_p(dir);
    if (s)
        return s;
    dolor_roc_curve *cv = calloc((size_t)r->k, sizeof *cv);
    int *ok = calloc((size_t)r->k, sizeof *ok);
    if (!cv || !ok) {
        free(cv);
        free(ok);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    for (int c = 0; c < r->k && !s; c++) {
        dolor_status e = dolor_pixel_roc_curve(r, c, 0, &cv[c]);
        if (e == DOLOR_ENUMERIC)
            continue; /* written as NA */
        s = e;
        ok[c] = !e;
    }
    dolor_outfile f[3];
    int opened = 0;
    for (int i = 0; i < 3 && !s; i++, opened++)
        s = open_out(&f[i], dir, i == 0 ? "roc.csv" : i == 1 ? "auc.csv" : "roc.svg");
    if (!s) {
        fprintf(f[0].fp, "class,threshold,fpr,tpr\n");
        fprintf(f[1].fp, "class,auc,n_pos,n_neg\n");
        for (int c = 0; c < r->k; c++) {
            if (ok[c]) {
                /* thinned for the file: a point is written when it is 1e-4 or more from the last one written in
                 * fpr or tpr (and the last point always); the AUC uses every point */
                double lx = -1, ly = -1;
                for (size_t i = 0; i < cv[c].n; i++) {
                    if (i + 1 < cv[c].n && fabs(cv[c].fpr[i] - lx) < 1e-4 && fabs(cv[c].tpr[i] - ly) < 1e-4)
                        continue;
                    lx = cv[c].fpr[i];
                    ly = cv[c].tpr[i];
                    dolor_csv_write_field(f[0].fp, r->names[c]);
                    if (isinf(cv[c].threshold[i]))
                        fprintf(f[0].fp, ",Inf,%.10g,%.10g\n", cv[c].fpr[i], cv[c].tpr[i]);
                    else
                        fprintf(f[0].fp, ",%.9g,%.10g,%.10g\n", cv[c].threshold[i], cv[c].fpr[i], cv[c].tpr[i]);
                }
            }
            dolor_csv_write_field(f[1].fp, r->names[c]);
            if (ok[c])
                fprintf(f[1].fp, ",%.10g,%llu,%llu\n", cv[c].auc, (unsigned long long)cv[c].n_pos,
                        (unsigned long long)cv[c].n_neg);
            else
                fprintf(f[1].fp, ",NA,%llu,%llu\n", (unsigned long long)cv[c].n_pos, (unsigned long long)cv[c].n_neg);
        }
        /* SVG: 480 x 480 plot area at (60, 20) */
        FILE *g = f[2].fp;
        fprintf(g, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"600\" height=\"560\" viewBox=\"0 0 600 560\" "
                   "font-family=\"sans-serif\" font-size=\"13\">\n<rect width=\"600\" height=\"560\" fill=\"white\"/>\n"
                   "<rect x=\"60\" y=\"20\" width=\"480\" height=\"480\" fill=\"none\" stroke=\"black\"/>\n"
                   "<line x1=\"60\" y1=\"500\" x2=\"540\" y2=\"20\" stroke=\"#999\" stroke-dasharray=\"4 4\"/>\n");
        for (int t = 0; t <= 10; t += 2) {
            double x = 60 + 48.0 * t, y = 500 - 48.0 * t;
            fprintf(g, "<text x=\"%.0f\" y=\"518\" text-anchor=\"middle\">%.1f</text>\n", x, t / 10.0);
            fprintf(g, "<text x=\"52\" y=\"%.0f\" text-anchor=\"end\" dominant-baseline=\"middle\">%.1f</text>\n", y,
                    t / 10.0);
        }
        fprintf(g, "<text x=\"300\" y=\"545\" text-anchor=\"middle\">1 - specificity (false-positive rate)</text>\n"
                   "<text x=\"16\" y=\"260\" text-anchor=\"middle\" transform=\"rotate(-90 16 260)\">sensitivity "
                   "(true-positive rate)</text>\n");
        int li = 0;
        for (int c = 1; c < r->k; c++) {
            if (!ok[c])
                continue;
            const char *col = svg_colours[(c - 1) % 10];
            fprintf(g, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
            /* at most ~2000 vertices: a pixel of the plot is 1/480 */
            double lx = -1, ly = -1;
            for (size_t i = 0; i < cv[c].n; i++) {
                double x = 60 + 480 * cv[c].fpr[i], y = 500 - 480 * cv[c].tpr[i];
                if (i + 1 < cv[c].n && fabs(x - lx) < 0.25 && fabs(y - ly) < 0.25)
                    continue;
                fprintf(g, "%.2f,%.2f ", x, y);
                lx = x;
                ly = y;
            }
            fprintf(g, "\"/>\n<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"4\" fill=\"%s\"/>"
                       "<text x=\"%d\" y=\"%d\">", 330, 420 + 20 * li, col, 350, 426 + 20 * li);
            svg_escape(g, r->names[c]);
            fprintf(g, " (AUC %.3f)</text>\n", cv[c].auc);
            li++;
        }
        fprintf(g, "</svg>\n");
        for (int i = 0; i < 3; i++) {
            dolor_status e = dolor_outfile_commit(&f[i]);
            s = s ? s : e;
        }
    } else {
        for (int i = 0; i < opened - 1; i++) /* the last one attempted failed to open */
            dolor_outfile_abort(&f[i]);
    }
    for (int c = 0; c < r->k; c++)
        dolor_roc_curve_free(&cv[c]);
    free(cv);
    free(ok);
    return s;
}

dolor_status dolor_seg_eval_write_study(const dolor_seg_eval *ev, const char *dir)
{
    dolor_status s = dolor_mkdir_p(dir);
    if (s)
        return s;
    int k = dolor_seg_eval_num_classes(ev);
    dolor_outfile f[3];
    int opened = 0;
    for (int i = 0; i < 3 && !s; i++, opened++)
        s = open_out(&f[i], dir, i == 0 ? "confusion_pct.csv" : i == 1 ? "confusion.svg" : "class_metrics.csv");
    if (s) {
        for (int i = 0; i < opened - 1; i++)
            dolor_outfile_abort(&f[i]);
        return s;
    }
    FILE *p = f[0].fp, *g = f[1].fp, *m = f[2].fp;
    double total = 0;
    for (int t = 0; t < k; t++)
        for (int q = 0; q < k; q++)
            total += (double)dolor_seg_eval_confusion(ev, t, q);
    fputs("truth\\pred", p);
    for (int q = 0; q < k; q++) {
        fputc(',', p);
        dolor_csv_write_field(p, dolor_seg_eval_class_name(ev, q));
    }
    fputc('\n', p);
    int cell = 110, ox = 130, oy = 60;
    fprintf(g, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
               "font-size=\"13\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
               "<text x=\"%d\" y=\"20\" text-anchor=\"middle\">predicted</text>\n"
               "<text x=\"16\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 16 %d)\">truth</text>\n",
            ox + k * cell + 20, oy + k * cell + 20, ox + k * cell / 2, oy + k * cell / 2, oy + k * cell / 2);
    for (int q = 0; q < k; q++) {
        fprintf(g, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", ox + q * cell + cell / 2, oy - 8);
        svg_escape(g, dolor_seg_eval_class_name(ev, q));
        fprintf(g, "</text>\n<text x=\"%d\" y=\"%d\" text-anchor=\"end\" dominant-baseline=\"middle\">", ox - 8,
                oy + q * cell + cell / 2);
        svg_escape(g, dolor_seg_eval_class_name(ev, q));
        fputs("</text>\n", g);
    }
    for (int t = 0; t < k; t++) {
        double row = 0;
        for (int q = 0; q < k; q++)
            row += (double)dolor_seg_eval_confusion(ev, t, q);
        dolor_csv_write_field(p, dolor_seg_eval_class_name(ev, t));
        for (int q = 0; q < k; q++) {
            uint64_t cnt = dolor_seg_eval_confusion(ev, t, q);
            double pct = row > 0 ? 100.0 * (double)cnt / row : NAN;
            if (isnan(pct))
                fputs(",NA", p);
            else
                fprintf(p, ",%.6f", pct);
            int shade = isnan(pct) ? 255 : (int)(255 - 2.0 * pct);
            fprintf(g, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,255)\" stroke=\"#666\"/>\n"
                       "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">%.1f%%</text>\n"
                       "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\" fill=\"%s\">%llu</text>\n",
                    ox + q * cell, oy + t * cell, cell, cell, shade, shade, ox + q * cell + cell / 2,
                    oy + t * cell + cell / 2 - 4, pct > 55 ? "white" : "black", isnan(pct) ? 0.0 : pct,
                    ox + q * cell + cell / 2, oy + t * cell + cell / 2 + 14, pct > 55 ? "white" : "black",
                    (unsigned long long)cnt);
        }
        fputc('\n', p);
    }
    fputs("</svg>\n", g);
    fputs("class,accuracy,precision,recall,iou,dsc,mean_case_iou,mean_case_dsc\n", m);
    double sum[7] = {0};
    int nsum[7] = {0};
    for (int c = 0; c < k; c++) {
        double tp = (double)dolor_seg_eval_confusion(ev, c, c), fp = 0, fn = 0;
        for (int j = 0; j < k; j++)
            if (j != c) {
                fp += (double)dolor_seg_eval_confusion(ev, j, c);
                fn += (double)dolor_seg_eval_confusion(ev, c, j);
            }
        double tn = total - tp - fp - fn;
        double v[7] = {total > 0 ? (tp + tn) / total : NAN, tp + fp > 0 ? tp / (tp + fp) : NAN,
                       tp + fn > 0 ? tp / (tp + fn) : NAN, tp + fp + fn > 0 ? tp / (tp + fp + fn) : NAN,
                       tp + fp + fn > 0 ? 2 * tp / (2 * tp + fp + fn) : NAN, dolor_seg_eval_mean_iou(ev, c),
                       dolor_seg_eval_mean_dice(ev, c)};
        dolor_csv_write_field(m, dolor_seg_eval_class_name(ev, c));
        for (int j = 0; j < 7; j++) {
            if (isnan(v[j]))
                fputs(",NA", m);
            else
                fprintf(m, ",%.10g", v[j]);
            if (c > 0 && !isnan(v[j])) {
                sum[j] += v[j];
                nsum[j]++;
            }
        }
        fputc('\n', m);
    }
    fputs("mean (foreground)", m);
    for (int j = 0; j < 7; j++)
        if (nsum[j])
            fprintf(m, ",%.10g", sum[j] / nsum[j]);
        else
            fputs(",NA", m);
    fputc('\n', m);
    for (int i = 0; i < 3; i++) {
        dolor_status e = dolor_outfile_commit(&f[i]);
        s = s ? s : e;
    }
    return s;
}
