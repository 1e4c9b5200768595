/* OUTDIR/report.html: one self-contained page (no scripts, no external files) with the config, the split, the
 * tables and two kinds of inline SVG figures drawn here: per-class strip + box plots of per-case IoU and Dice,
 * and training / validation loss curves per fold from each job's log.csv. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/stats.h"
#include "dolor/study.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void esc(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '&': fputs("&amp;", fp); break;
        case '"': fputs("&quot;", fp); break;
        default: fputc(*s, fp);
        }
    }
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b) {
        size_t r = fread(b + n, 1, cap - n - 1, fp);
        n += r;
        if (r == 0)
            break;
        if (n + 1 >= cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
    }
    fclose(fp);
    if (b)
        b[n] = '\0';
    return b;
}

static const char *cell(const dolor_csv *t, size_t r, int c)
{
    return c >= 0 && t->cells[r * t->ncol + c] ? t->cells[r * t->ncol + c] : "";
}

/* A CSV as an HTML table (every column). */
static void html_table(FILE *fp, const char *dir, const char *name, const char *caption)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    dolor_csv *t = NULL;
    if (dolor_csv_read(p, &t) != DOLOR_OK) {
        dolor_error_clear();
        fprintf(fp, "<p>(%s: not written)</p>\n", name);
        return;
    }
    fprintf(fp, "<table><caption>");
    esc(fp, caption);
    fprintf(fp, " <span class=f>%s</span></caption>\n<tr>", name);
    for (int c = 0; c < t->ncol; c++) {
        fputs("<th>", fp);
        esc(fp, t->names[c]);
        fputs("</th>", fp);
    }
    fputs("</tr>\n", fp);
    for (size_t r = 0; r < t->nrow; r++) {
        fputs("<tr>", fp);
        for (int c = 0; c < t->ncol; c++) {
            const char *v = cell(t, r, c);
            char *end;
            double x = strtod(v, &end);
            fputs("<td>", fp);
            if (*v && !*end && strchr(v, '.'))
                fprintf(fp, "%.4g", x);
            else
                esc(fp, *v ? v : "NA");
            fputs("</td>", fp);
        }
        fputs("</tr>\n", fp);
    }
    fputs("</table>\n", fp);
    dolor_csv_free(t);
}

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
                                      "#17becf"};
#define NPAL 8

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Strip + box plot of a per-case metric: one box per (model, class), foreground classes. Box: P25-P75 (R type 7),
 * median line, whiskers to the furthest values within 1.5 IQR (Tukey); every case a point, spread sideways by
 * a fixed pattern. */
static int box_plot(FILE *fp, const dolor_csv *t, const char *metric, int include_background)
{
    int cm = dolor_csv_column(t, "model"), cc = dolor_csv_column(t, "class"), cv = dolor_csv_column(t, metric);
    if (cm < 0 || cc < 0 || cv < 0)
        return 0;
    const char *models[64], *classes[64];
    int nm = 0, nc = 0;
    for (size_t r = 0; r < t->nrow; r++) {
        const char *m = cell(t, r, cm), *c = cell(t, r, cc);
        int i;
        for (i = 0; i < nm && strcmp(models[i], m); i++)
            ;
        if (i == nm && nm < 64)
            models[nm++] = m;
        for (i = 0; i < nc && strcmp(classes[i], c); i++)
            ;
        if (i == nc && nc < 64)
            classes[nc++] = c;
    }
    int c0 = include_background ? 0 : 1;
    int nbox = nm * (nc - c0);
    if (nbox <= 0)
        return 0;
    double W = 80 + 70.0 * nbox, H = 300, L = 50, T = 20, B = 60, ph = H - T - B;
    double *v = malloc((t->nrow + 1) * sizeof *v);
    if (!v)
        return 0;
    fprintf(fp, "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' viewBox='0 0 %.0f %.0f' "
                "class='fig' data-figure='box-%s'>\n", W, H, W, H, metric);
    for (int k = 0; k <= 4; k++) {
        double y = T + ph * (1 - k / 4.0);
        fprintf(fp, "<line x1='%.0f' x2='%.0f' y1='%.1f' y2='%.1f' stroke='#ddd'/><text x='%.0f' y='%.1f' "
                    "font-size='11' text-anchor='end'>%.2f</text>\n", L, W - 10, y, y, L - 4, y + 4, k / 4.0);
    }
    fprintf(fp, "<text x='14' y='%.0f' font-size='12' transform='rotate(-90 14 %.0f)' text-anchor='middle'>%s</text>\n",
            T + ph / 2, T + ph / 2, metric);
    int b = 0;
    for (int m = 0; m < nm; m++)
        for (int c = c0; c < nc; c++, b++) {
            size_t n = 0;
            for (size_t r = 0; r < t->nrow; r++)
                if (!strcmp(cell(t, r, cm), models[m]) && !strcmp(cell(t, r, cc), classes[c])) {
                    char *end;
                    const char *s = cell(t, r, cv);
                    double x = strtod(s, &end);
                    if (*s && !*end && isfinite(x))
                        v[n++] = x;
                }
            double cx = L + 40 + 70.0 * b;
            const char *col = palette[(c - c0) % NPAL];
            fprintf(fp, "<text x='%.1f' y='%.0f' font-size='11' text-anchor='middle'>", cx, H - B + 16);
            esc(fp, classes[c]);
            fprintf(fp, "</text><text x='%.1f' y='%.0f' font-size='10' fill='#666' text-anchor='middle'>", cx,
                    H - B + 30);
            esc(fp, models[m]);
            fprintf(fp, "</text><text x='%.1f' y='%.0f' font-size='10' fill='#666' text-anchor='middle'>n=%zu</text>\n",
                    cx, H - B + 43, n);
            if (!n)
                continue;
            qsort(v, n, sizeof *v, cmp_d);
            double q1, q2, q3;
            dolor_stats_quantile(v, n, 0.25, DOLOR_QUANTILE_R7, &q1);
            dolor_stats_quantile(v, n, 0.5, DOLOR_QUANTILE_R7, &q2);
            dolor_stats_quantile(v, n, 0.75, DOLOR_QUANTILE_R7, &q3);
            double iqr = q3 - q1, lo = v[0], hi = v[n - 1];
            for (size_t i = 0; i < n; i++)
                if (v[i] >= q1 - 1.5 * iqr) {
                    lo = v[i];
                    break;
                }
            for (size_t i = n; i-- > 0;)
                if (v[i] <= q3 + 1.5 * iqr) {
                    hi = v[i];
                    break;
                }
#define Y(x) (T + ph * (1 - (x < 0 ? 0 : x > 1 ? 1 : x)))
            fprintf(fp, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#333'/>", cx, cx, Y(lo), Y(hi));
            fprintf(fp, "<rect x='%.1f' y='%.1f' width='36' height='%.1f' fill='%s' fill-opacity='0.25' stroke='%s'/>",
                    cx - 18, Y(q3), Y(q1) - Y(q3) < 1 ? 1 : Y(q1) - Y(q3), col, col);
            fprintf(fp, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='%s' stroke-width='2'/>\n", cx - 18,
                    cx + 18, Y(q2), Y(q2), col);
            for (size_t i = 0; i < n; i++) {
                double dx = ((double)((i * 7919) % 29) / 28.0 - 0.5) * 30;
                fprintf(fp, "<circle cx='%.1f' cy='%.1f' r='2.2' fill='%s' fill-opacity='0.7'/>", cx + dx, Y(v[i]),
                        col);
            }
#undef Y
            fputc('\n', fp);
        }
    fputs("</svg>\n", fp);
    free(v);
    return 1;
}

/* Loss curves of one model: one colour per fold, training loss solid, validation loss dashed. */
static int loss_plot(FILE *fp, const char *dir, const char *model, int nfold)
{
    dolor_csv *logs[64] = {NULL};
    double ymax = -INFINITY, ymin = INFINITY, emax = 1;
    int any = 0;
    for (int f = 0; f < nfold && f < 64; f++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/jobs/%s/fold%d/log.csv", dir, model, f + 1);
        if (dolor_csv_read(p, &logs[f]) != DOLOR_OK) {
            dolor_error_clear();
            logs[f] = NULL;
            continue;
        }
        int ce = dolor_csv_column(logs[f], "epoch"), ct = dolor_csv_column(logs[f], "train_loss"),
            cv = dolor_csv_column(logs[f], "val_loss");
        for (size_t r = 0; r < logs[f]->nrow; r++) {
            double e = atof(cell(logs[f], r, ce)), a = atof(cell(logs[f], r, ct)), b = atof(cell(logs[f], r, cv));
            emax = e > emax ? e : emax;
            ymax = a > ymax ? a : ymax;
            ymax = b > ymax ? b : ymax;
            ymin = a < ymin ? a : ymin;
            ymin = b < ymin ? b : ymin;
            any = 1;
        }
    }
    if (any) {
        double W = 460, H = 260, L = 50, R = 110, T = 16, B = 36, pw = W - L - R, ph = H - T - B;
        /* the data range plus 5% either side */
        double pad = (ymax - ymin) * 0.05 + 1e-3 * fabs(ymax) + 1e-12;
        ymin -= pad;
        ymax += pad;
        fprintf(fp, "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' viewBox='0 0 %.0f %.0f' "
                    "class='fig' data-figure='loss-", W, H, W, H);
        esc(fp, model);
        fputs("'>\n", fp);
        for (int k = 0; k <= 4; k++) {
            double y = T + ph * (1 - k / 4.0);
            fprintf(fp, "<line x1='%.0f' x2='%.0f' y1='%.1f' y2='%.1f' stroke='#ddd'/><text x='%.0f' y='%.1f' "
                        "font-size='11' text-anchor='end'>%.3g</text>\n", L, L + pw, y, y, L - 4, y + 4,
                    ymin + (ymax - ymin) * k / 4);
        }
        fprintf(fp, "<text x='%.0f' y='%.0f' font-size='11' text-anchor='middle'>epoch (1..%.0f)</text>\n", L + pw / 2,
                H - 8, emax);
        for (int f = 0; f < nfold && f < 64; f++) {
            if (!logs[f])
                continue;
            const char *col = palette[f % NPAL];
            int ce = dolor_csv_column(logs[f], "epoch");
            const char *which[] = {"train_loss", "val_loss"};
            for (int w = 0; w < 2; w++) {
                int cy = dolor_csv_column(logs[f], which[w]);
                fprintf(fp, "<polyline fill='none' stroke='%s' stroke-width='1.6'%s points='", col,
                        w ? " stroke-dasharray='5 3'" : "");
                for (size_t r = 0; r < logs[f]->nrow; r++) {
                    double e = atof(cell(logs[f], r, ce)), y = atof(cell(logs[f], r, cy));
                    double x = L + (emax > 1 ? pw * (e - 1) / (emax - 1) : pw / 2);
                    fprintf(fp, "%.1f,%.1f ", x, T + ph * (1 - (y - ymin) / (ymax - ymin)));
                }
                fputs("'/>\n", fp);
                if (logs[f]->nrow == 1) {
                    double y = atof(cell(logs[f], 0, cy));
                    fprintf(fp, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'/>\n", L + pw / 2,
                            T + ph * (1 - (y - ymin) / (ymax - ymin)),
                            col);
                }
            }
            fprintf(fp, "<text x='%.0f' y='%.0f' font-size='11' fill='%s'>fold %d</text>\n", L + pw + 10,
                    T + 14.0 * (f + 1), col, f + 1);
        }
        fprintf(fp, "<text x='%.0f' y='%.0f' font-size='10' fill='#666'>solid: train</text><text x='%.0f' y='%.0f' "
                    "font-size='10' fill='#666'>dashed: val</text>\n</svg>\n",
                L + pw + 10, T + 14.0 * (nfold + 2), L + pw + 10, T + 14.0 * (nfold + 3));
    }
    for (int f = 0; f < 64; f++)
        dolor_csv_free(logs[f]);
    return any;
}

/* ROC curves of the pooled out-of-fold predictions (roc.csv), one per model, with the AUC and its CI from
 * cls_summary.csv in the legend; the chance diagonal dashed. x = 1 - specificity, y = sensitivity. */
static int roc_plot(FILE *fp, const char *dir)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/roc.csv", dir);
    dolor_csv *t = NULL, *cs = NULL;
    if (dolor_csv_read(p, &t) != DOLOR_OK) {
        dolor_error_clear();
        return 0;
    }
    snprintf(p, sizeof p, "%s/cls_summary.csv", dir);
    if (dolor_csv_read(p, &cs) != DOLOR_OK) {
        dolor_error_clear();
        cs = NULL;
    }
    int cm = dolor_csv_column(t, "model"), cse = dolor_csv_column(t, "sensitivity"),
        csp = dolor_csv_column(t, "specificity");
    const char *models[64];
    int nm = 0;
    for (size_t r = 0; r < t->nrow; r++) {
        int i;
        for (i = 0; i < nm && strcmp(models[i], cell(t, r, cm)); i++)
            ;
        if (i == nm && nm < 64)
            models[nm++] = cell(t, r, cm);
    }
    double W = 520, H = 400, L = 50, R = 190, T = 16, B = 40, pw = W - L - R, ph = H - T - B;
    if (pw > ph)
        pw = ph;
    fprintf(fp, "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' viewBox='0 0 %.0f %.0f' "
                "class='fig' data-figure='roc'>\n", W, H, W, H);
    for (int k = 0; k <= 4; k++) {
        double v = k / 4.0;
        fprintf(fp, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#eee'/><line x1='%.1f' x2='%.1f' "
                    "y1='%.1f' y2='%.1f' stroke='#eee'/><text x='%.1f' y='%.1f' font-size='11' text-anchor='end'>"
                    "%.2g</text><text x='%.1f' y='%.1f' font-size='11' text-anchor='middle'>%.2g</text>\n",
                L, L + pw, T + ph * (1 - v), T + ph * (1 - v), L + pw * v, L + pw * v, T, T + ph, L - 4,
                T + ph * (1 - v) + 4, v, L + pw * v, T + ph + 14, v);
    }
    fprintf(fp, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' stroke='#999'/>\n"
                "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#aaa' stroke-dasharray='4 3'/>\n"
                "<text x='%.1f' y='%.1f' font-size='11' text-anchor='middle'>1 - specificity</text>\n"
                "<text x='12' y='%.1f' font-size='11' text-anchor='middle' transform='rotate(-90 12 %.1f)'>"
                "sensitivity</text>\n",
            L, T, pw, ph, L, T + ph, L + pw, T, L + pw / 2, H - 8, T + ph / 2, T + ph / 2);
    for (int m = 0; m < nm; m++) {
        const char *col = palette[m % NPAL];
        fprintf(fp, "<polyline class='roc' fill='none' stroke='%s' stroke-width='2' points='", col);
        for (size_t r = 0; r < t->nrow; r++)
            if (!strcmp(cell(t, r, cm), models[m])) {
                double se = atof(cell(t, r, cse)), sp = atof(cell(t, r, csp));
                fprintf(fp, "%.1f,%.1f ", L + pw * (1 - sp), T + ph * (1 - se));
            }
        fputs("'/>\n", fp);
        char leg[256] = "";
        for (size_t r = 0; cs && r < cs->nrow; r++)
            if (!strcmp(cell(cs, r, dolor_csv_column(cs, "model")), models[m]) &&
                !strcmp(cell(cs, r, dolor_csv_column(cs, "metric")), "AUC"))
                snprintf(leg, sizeof leg, "AUC %.3f (%.3f-%.3f)", atof(cell(cs, r, dolor_csv_column(cs, "estimate"))),
                         atof(cell(cs, r, dolor_csv_column(cs, "ci_lo"))),
                         atof(cell(cs, r, dolor_csv_column(cs, "ci_hi"))));
        fprintf(fp, "<text x='%.1f' y='%.1f' font-size='12' fill='%s'>", L + pw + 12, T + 16.0 + 34.0 * m, col);
        esc(fp, models[m]);
        fprintf(fp, "</text><text x='%.1f' y='%.1f' font-size='11' fill='%s'>%s</text>\n", L + pw + 12,
                T + 30.0 + 34.0 * m, col, leg);
    }
    fputs("</svg>\n", fp);
    dolor_csv_free(t);
    dolor_csv_free(cs);
    return nm;
}

static void base64_file(FILE *fp, const char *path)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    FILE *in = fopen(path, "rb");
    if (!in)
        return;
    unsigned char b[3];
    size_t n;
    while ((n = fread(b, 1, 3, in)) > 0) {
        unsigned v = (unsigned)b[0] << 16 | (n > 1 ? (unsigned)b[1] << 8 : 0) | (n > 2 ? b[2] : 0);
        fputc(tab[v >> 18 & 63], fp);
        fputc(tab[v >> 12 & 63], fp);
        fputc(n > 1 ? tab[v >> 6 & 63] : '=', fp);
        fputc(n > 2 ? tab[v & 63] : '=', fp);
        if (n < 3)
            break;
    }
    fclose(in);
}

/* The representative-case grid from overlays/index.csv (written by dolor_study_run): one row per model and
 * class, five cases by IoU rank, each reference | prediction, embedded as PNG data. */
static void overlay_grid(FILE *fp, const char *dir)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/overlays/index.csv", dir);
    dolor_csv *t = NULL;
    if (dolor_csv_read(p, &t) != DOLOR_OK) {
        dolor_error_clear();
        return;
    }
    int cm = dolor_csv_column(t, "model"), cc = dolor_csv_column(t, "class"), cr = dolor_csv_column(t, "rank"),
        ck = dolor_csv_column(t, "case"), ci = dolor_csv_column(t, "iou"), cf = dolor_csv_column(t, "file");
    fputs("<h2>Representative cases</h2>\n<p>For each model and class, the test cases at the 90th, 75th, 50th, "
          "25th and 10th percentile of IoU; in each pair the reference (left) and the prediction (right).</p>\n"
          "<table class=grid>\n", fp);
    for (size_t r = 0; r < t->nrow; r++) {
        if (r == 0 || strcmp(cell(t, r, cm), cell(t, r - 1, cm)) || strcmp(cell(t, r, cc), cell(t, r - 1, cc))) {
            if (r)
                fputs("</tr>\n", fp);
            fputs("<tr><th>", fp);
            esc(fp, cell(t, r, cm));
            fputs("<br>", fp);
            esc(fp, cell(t, r, cc));
            fputs("</th>", fp);
        }
        fputs("<td><figure><img alt='overlay' src='data:image/png;base64,", fp);
        snprintf(p, sizeof p, "%s/overlays/%s", dir, cell(t, r, cf));
        base64_file(fp, p);
        fputs("'><figcaption>", fp);
        esc(fp, cell(t, r, cr));
        fputs(": ", fp);
        esc(fp, cell(t, r, ck));
        fprintf(fp, " (IoU %.3f)</figcaption></figure></td>", atof(cell(t, r, ci)));
    }
    if (t->nrow)
        fputs("</tr>\n", fp);
    fputs("</table>\n", fp);
    dolor_csv_free(t);
}

dolor_status dolor_study_report(const char *dir, const char *config_path, const char *title)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/per_case.csv", dir);
    dolor_csv *pc = NULL, *sp = NULL;
    dolor_status s = dolor_csv_read(p, &pc);
    if (s)
        return s;
    snprintf(p, sizeof p, "%s/splits.csv", dir);
    s = dolor_csv_read(p, &sp);
    if (s) {
        dolor_csv_free(pc);
        return s;
    }
    snprintf(p, sizeof p, "%s/report.html", dir);
    dolor_outfile o;
    s = dolor_outfile_open(&o, p, 1);
    if (s) {
        dolor_csv_free(pc);
        dolor_csv_free(sp);
        return s;
    }
    FILE *fp = o.fp;
    fputs("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>", fp);
    esc(fp, title);
    fputs("</title>\n<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
          "table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;"
          "text-align:right}th{background:#f3f3f3}caption{text-align:left;font-weight:bold;padding:4px 0}"
          ".f{font-weight:normal;color:#888;font-size:11px}pre{background:#f7f7f7;padding:8px;font-size:12px;"
          "overflow:auto}svg.fig{border:1px solid #eee;margin:4px}figure{margin:0;text-align:center;font-size:11px}"
          ".grid{width:100%;table-layout:fixed}.grid th{width:10%}.grid img{width:100%;height:auto;"
          "image-rendering:pixelated}</style></head><body>\n<h1>",
          fp);
    esc(fp, title);
    fputs("</h1>\n", fp);
    /* data summary: cases and patients per fold and set */
    int cf = dolor_csv_column(sp, "fold"), cs = dolor_csv_column(sp, "set"), cpat = dolor_csv_column(sp, "patient");
    int nfold = 0;
    for (size_t r = 0; r < sp->nrow; r++) {
        int f = atoi(cell(sp, r, cf));
        nfold = f > nfold ? f : nfold;
    }
    fputs("<h2>Data and split</h2>\n<table><caption>Cases (patients) per fold and set <span class=f>splits.csv"
          "</span></caption><tr><th>fold</th><th>train</th><th>val</th><th>test</th></tr>\n", fp);
    static const char *const sets[] = {"train", "val", "test"};
    for (int f = 1; f <= nfold; f++) {
        fprintf(fp, "<tr><td>%d</td>", f);
        for (int w = 0; w < 3; w++) {
            size_t cases = 0, pats = 0;
            const char *seen[4096];
            for (size_t r = 0; r < sp->nrow; r++)
                if (atoi(cell(sp, r, cf)) == f && !strcmp(cell(sp, r, cs), sets[w])) {
                    cases++;
                    size_t j;
                    for (j = 0; j < pats && strcmp(seen[j], cell(sp, r, cpat)); j++)
                        ;
                    if (j == pats && pats < 4096)
                        seen[pats++] = cell(sp, r, cpat);
                }
            fprintf(fp, "<td>%zu (%zu)</td>", cases, pats);
        }
        fputs("</tr>\n", fp);
    }
    fputs("</table>\n", fp);
    /* figures */
    int fc = dolor_csv_column(pc, "model");
    const char *models[64];
    int nm = 0;
    for (size_t r = 0; r < pc->nrow; r++) {
        int i;
        for (i = 0; i < nm && strcmp(models[i], cell(pc, r, fc)); i++)
            ;
        if (i == nm && nm < 64)
            models[nm++] = cell(pc, r, fc);
    }
    int include_bg = 0;
    {
        /* the tables say whether background was reported: class_summary.csv lists it then */
        char q[4096];
        snprintf(q, sizeof q, "%s/class_summary.csv", dir);
        dolor_csv *cl = NULL;
        if (dolor_csv_read(q, &cl) == DOLOR_OK) {
            int c = dolor_csv_column(cl, "class");
            for (size_t r = 0; r < cl->nrow; r++)
                include_bg |= !strcmp(cell(cl, r, c), "background");
        }
        dolor_error_clear();
        dolor_csv_free(cl);
    }
    if (dolor_csv_column(pc, "prob") >= 0) {
        /* a classification study */
        fputs("<h2>Diagnostic accuracy (pooled out-of-fold test cases)</h2>\n<p>ROC curves of the pooled "
              "out-of-fold probabilities; AUC with its DeLong CI.</p>\n", fp);
        roc_plot(fp, dir);
        html_table(fp, dir, "cls_summary.csv", "Sensitivity, specificity, PPV, NPV, accuracy and AUC with CIs");
        html_table(fp, dir, "delong.csv", "Paired DeLong tests between models (pooled out-of-fold cases)");
        fputs("<h2>Per fold</h2>\n", fp);
        html_table(fp, dir, "per_fold.csv", "Fold values, then mean and SD of the fold values");
        goto training;
    }
    fputs("<h2>Per-class results (out-of-fold test cases)</h2>\n<p>Boxes: P25 to P75 with the median; whiskers to "
          "the furthest case within 1.5 IQR; every test case a point.</p>\n", fp);
    box_plot(fp, pc, "iou", include_bg);
    box_plot(fp, pc, "dice", include_bg);
    html_table(fp, dir, "class_summary.csv", "Per class over pooled test cases");
    html_table(fp, dir, "anova.csv", "One-way ANOVA between classes");
    html_table(fp, dir, "bonferroni.csv", "Pairwise t tests (pooled SD), Bonferroni-adjusted");
    {
        snprintf(p, sizeof p, "%s/icc.csv", dir);
        FILE *ic = fopen(p, "rb");
        if (ic) {
            fclose(ic);
            html_table(fp, dir, "icc.csv", "ICC(2,1) of per-case areas: annotators and model");
        }
    }
    overlay_grid(fp, dir);
    fputs("<h2>Per fold</h2>\n", fp);
    html_table(fp, dir, "per_fold.csv", "Fold means, then mean and SD of the fold means");
training:
    fputs("<h2>Training</h2>\n<p>Loss per epoch for each fold (log.csv of each job; a random forest has none).</p>\n",
          fp);
    for (int m = 0; m < nm; m++) {
        fputs("<h3>", fp);
        esc(fp, models[m]);
        fputs("</h3>\n", fp);
        if (!loss_plot(fp, dir, models[m], nfold))
            fputs("<p>(no training log)</p>\n", fp);
    }
    fputs("<h2>Methods</h2>\n", fp);
    snprintf(p, sizeof p, "%s/methods.md", dir);
    char *txt = slurp(p);
    if (txt) {
        char *body = strstr(txt, "\n\n");
        for (char *para = body ? body + 2 : txt; para && *para;) {
            char *next = strstr(para, "\n\n");
            if (next)
                *next = '\0';
            fputs("<p>", fp);
            esc(fp, para);
            fputs("</p>\n", fp);
            para = next ? next + 2 : NULL;
        }
    }
    free(txt);
    if (config_path) {
        fputs("<h2>Configuration</h2>\n<pre>", fp);
        txt = slurp(config_path);
        esc(fp, txt ? txt : "(config file not readable)");
        free(txt);
        fputs("</pre>\n", fp);
    }
    fprintf(fp, "<p class=f>dolor %s. CSV files of every table and per-case result lie beside this file.</p>\n"
                "</body></html>\n", DOLOR_VERSION_STRING);
    dolor_csv_free(pc);
    dolor_csv_free(sp);
    return dolor_outfile_commit(&o);
}
