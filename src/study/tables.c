/* Study tables from a per-case CSV: per fold, mean +/- SD over folds, per class over pooled out-of-fold cases,
 * one-way ANOVA between classes and Bonferroni-adjusted pairwise t tests; methods.md. Statistics: stats.h. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/stats.h"
#include "dolor/study.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const metric_col[] = {"iou", "dice"};
static const char *const metric_label[] = {"IoU", "Dice"};
#define NMETRIC 2

typedef struct levels {
    const char **v;
    int n;
} levels;

static int level_of(levels *l, const char *s)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], s))
            return i;
    l->v[l->n] = s;
    return l->n++;
}

static void num(FILE *fp, double x)
{
    if (isnan(x))
        fputs("NA", fp);
    else
        fprintf(fp, "%.10g", x);
}

typedef struct outs {
    dolor_outfile fold, cls, anova, pair;
    int open;
} outs;

static dolor_status open_all(outs *o, const char *dir)
{
    char p[4096];
    dolor_outfile *f[] = {&o->fold, &o->cls, &o->anova, &o->pair};
    const char *names[] = {"per_fold.csv", "class_summary.csv", "anova.csv", "bonferroni.csv"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        dolor_status s = dolor_outfile_open(f[i], p, 1);
        if (s) {
            for (int j = 0; j < i; j++)
                dolor_outfile_abort(f[j]);
            return s;
        }
    }
    o->open = 1;
    fprintf(o->fold.fp, "model,fold,class,metric,n,value,sd_definition\n");
    fprintf(o->cls.fp, "model,class,metric,n,n_undefined,mean,sd,sd_definition,ci95_lo,ci95_hi,median,p25,p75\n");
    fprintf(o->anova.fp, "model,metric,k,n,df_between,df_within,ss_between,ss_within,F,p\n");
    fprintf(o->pair.fp, "model,metric,class_a,class_b,t,p_bonferroni\n");
    return DOLOR_OK;
}

static dolor_status commit_all(outs *o)
{
    dolor_outfile *f[] = {&o->fold, &o->cls, &o->anova, &o->pair};
    dolor_status s = DOLOR_OK;
    for (int i = 0; i < 4; i++) {
        if (!s)
            s = dolor_outfile_commit(f[i]);
        else
            dolor_outfile_abort(f[i]);
    }
    return s;
}

static void abort_all(outs *o)
{
    if (!o->open)
        return;
    dolor_outfile_abort(&o->fold);
    dolor_outfile_abort(&o->cls);
    dolor_outfile_abort(&o->anova);
    dolor_outfile_abort(&o->pair);
}

static dolor_status write_methods(const char *dir, const dolor_study_table_opts *op, int any_anova)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/methods.md", dir);
    dolor_outfile f;
    dolor_status s = dolor_outfile_open(&f, p, 1);
    if (s)
        return s;
    const char *sd = op->population_sd ? "population standard deviation (denominator n)"
                                       : "sample standard deviation (denominator n - 1)";
    fprintf(f.fp, "# Statistical methods\n\n");
    if (op->config_path)
        fprintf(f.fp, "Study configuration: `%s`.\n\n", op->config_path);
    if (op->split_desc)
        fprintf(f.fp, "%s\n\n", op->split_desc);
    fprintf(f.fp,
            "Segmentation performance was measured per test case and class as the intersection over union "
            "(IoU, Jaccard index, TP / (TP + FP + FN)) and the Dice similarity coefficient (2 TP / (2 TP + FP + FN), "
            "equal to F1), computed on the pixels of the predicted label map at the image's original size against the "
            "reference mask. A class absent from both the reference and the prediction of a case leaves that case's "
            "value undefined and excluded from the class's statistics; a class predicted but absent from the reference "
            "scores 0. %s"
            "Per fold, the mean over that fold's test cases is reported; across folds, the mean of the fold means "
            "and their %s. Over the pooled out-of-fold test cases, each class is summarised as mean and %s with a "
            "two-sided 95%% confidence interval of the mean from the t distribution (mean +/- t(0.975, n - 1) SD / "
            "sqrt(n), with the sample SD, as R's t.test), and as median with the 25th and 75th percentiles "
            "(Hyndman and Fan type 7, R's default quantile()). ",
            op->include_background ? "The background is reported as a class. " :
                                     "The background class is not reported. ",
            sd, sd);
    if (any_anova)
        fprintf(f.fp,
                "Differences between classes were tested with a one-way analysis of variance of the per-case values "
                "on class (F test, R summary(aov(y ~ class))), followed by pairwise two-sided t tests between "
                "classes using the pooled standard deviation of all classes (df = n - k) with Bonferroni correction "
                "for the k(k - 1)/2 comparisons (adjusted p = min(1, m p); R pairwise.t.test(y, class, "
                "p.adjust.method = \"bonferroni\")). ");
    else
        fprintf(f.fp, "With fewer than two reported classes, no test between classes was made. ");
    fprintf(f.fp, "Statistical significance was set at a two-sided alpha of 0.05. Computations: dolor %s (C; R's "
                  "nmath library for distribution functions).\n",
            DOLOR_VERSION_STRING);
    return dolor_outfile_commit(&f);
}

dolor_status dolor_study_tables(const char *per_case_csv, const dolor_study_table_opts *op, const char *dir)
{
    dolor_study_table_opts dflt = {0};
    if (!op)
        op = &dflt;
    dolor_csv *t = NULL;
    dolor_status s = dolor_csv_read(per_case_csv, &t);
    if (s)
        return s;
    const char *need[] = {"model", "fold", "case", "class"};
    int col[4];
    for (int i = 0; i < 4; i++) {
        col[i] = dolor_csv_column(t, need[i]);
        if (col[i] < 0) {
            s = dolor_error(DOLOR_ENOTFOUND, "%s: no column '%s'", per_case_csv, need[i]);
            dolor_csv_free(t);
            return s;
        }
    }
    size_t n = t->nrow;
    double *val[NMETRIC] = {NULL, NULL};
    int *mi = malloc((n + 1) * sizeof *mi), *fi = malloc((n + 1) * sizeof *fi), *ci = malloc((n + 1) * sizeof *ci);
    levels lm = {calloc(n + 1, sizeof(char *)), 0}, lf = {calloc(n + 1, sizeof(char *)), 0},
           lc = {calloc(n + 1, sizeof(char *)), 0};
    double *y = malloc((n + 1) * sizeof *y), *fm = malloc((n + 1) * sizeof *fm);
    int *g = malloc((n + 1) * sizeof *g);
    outs o = {0};
    int any_anova = 0;
    if (!mi || !fi || !ci || !lm.v || !lf.v || !lc.v || !y || !fm || !g) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    for (int m = 0; !s && m < NMETRIC; m++)
        s = dolor_csv_numeric(t, metric_col[m], &val[m]);
    if (s)
        goto done;
    for (size_t r = 0; r < n; r++) {
        for (int i = 0; i < 4; i++)
            if (!t->cells[r * t->ncol + col[i]]) {
                s = dolor_error(DOLOR_EFORMAT, "%s: line %zu: %s is empty", per_case_csv, t->line[r], need[i]);
                goto done;
            }
        mi[r] = level_of(&lm, t->cells[r * t->ncol + col[0]]);
        fi[r] = level_of(&lf, t->cells[r * t->ncol + col[1]]);
        ci[r] = level_of(&lc, t->cells[r * t->ncol + col[3]]);
    }
    s = dolor_mkdir_p(dir);
    if (!s)
        s = open_all(&o, dir);
    if (s)
        goto done;
    const char *sdname = op->population_sd ? "population (n)" : "sample (n-1)";
    int c0 = op->include_background ? 0 : 1;
    for (int m = 0; !s && m < lm.n; m++) {
        for (int k = 0; !s && k < NMETRIC; k++) {
            const double *v = val[k];
            /* per fold and class, then mean and SD of the fold means */
            for (int c = c0; c < lc.n; c++) {
                int nf = 0;
                for (int f = 0; f < lf.n; f++) {
                    size_t cnt = 0;
                    double sum = 0;
                    int present = 0;
                    for (size_t r = 0; r < n; r++)
                        if (mi[r] == m && fi[r] == f && ci[r] == c) {
                            present = 1;
                            if (!isnan(v[r])) {
                                sum += v[r];
                                cnt++;
                            }
                        }
                    if (!present)
                        continue;
                    double mean = cnt ? sum / (double)cnt : NAN;
                    fprintf(o.fold.fp, "%s,", lm.v[m]);
                    dolor_csv_write_field(o.fold.fp, lf.v[f]);
                    fputc(',', o.fold.fp);
                    dolor_csv_write_field(o.fold.fp, lc.v[c]);
                    fprintf(o.fold.fp, ",%s,%zu,", metric_col[k], cnt);
                    num(o.fold.fp, mean);
                    fprintf(o.fold.fp, ",\n");
                    if (cnt)
                        fm[nf++] = mean;
                }
                double mean = NAN, sd = NAN;
                if (nf) {
                    dolor_describe d;
                    if (dolor_stats_describe(fm, (size_t)nf, op->population_sd, DOLOR_QUANTILE_R7, &d) == DOLOR_OK) {
                        mean = d.mean;
                        sd = d.sd;
                    }
                }
                for (int w = 0; w < 2; w++) {
                    fprintf(o.fold.fp, "%s,%s,", lm.v[m], w ? "sd" : "mean");
                    dolor_csv_write_field(o.fold.fp, lc.v[c]);
                    fprintf(o.fold.fp, ",%s,%d,", metric_col[k], nf);
                    num(o.fold.fp, w ? sd : mean);
                    fprintf(o.fold.fp, ",%s\n", w ? sdname : "");
                }
            }
            /* pooled out-of-fold cases per class; y/g for the ANOVA */
            size_t ny = 0;
            int kk = 0;
            int gmap[256];
            const char *gname[256];
            for (int c = c0; c < lc.n && c - c0 < 256; c++) {
                size_t cnt = 0, und = 0;
                for (size_t r = 0; r < n; r++)
                    if (mi[r] == m && ci[r] == c) {
                        if (isnan(v[r]))
                            und++;
                        else
                            fm[cnt++] = v[r];
                    }
                dolor_describe d = {0};
                double lo = NAN, hi = NAN;
                d.mean = d.sd = d.median = d.p25 = d.p75 = NAN;
                if (cnt) {
                    dolor_stats_describe(fm, cnt, op->population_sd, DOLOR_QUANTILE_R7, &d);
                    dolor_test_result tr;
                    if (cnt >= 2 && dolor_stats_ttest_one(fm, cnt, 0.0, 0.95, &tr) == DOLOR_OK) {
                        lo = tr.ci_lo;
                        hi = tr.ci_hi;
                    }
                    dolor_error_clear();
                }
                fprintf(o.cls.fp, "%s,", lm.v[m]);
                dolor_csv_write_field(o.cls.fp, lc.v[c]);
                fprintf(o.cls.fp, ",%s,%zu,%zu,", metric_col[k], cnt, und);
                double xs[] = {d.mean, d.sd};
                for (int q = 0; q < 2; q++) {
                    num(o.cls.fp, xs[q]);
                    fputc(',', o.cls.fp);
                }
                fprintf(o.cls.fp, "%s", sdname);
                double ys[] = {lo, hi, d.median, d.p25, d.p75};
                for (int q = 0; q < 5; q++) {
                    fputc(',', o.cls.fp);
                    num(o.cls.fp, ys[q]);
                }
                fputc('\n', o.cls.fp);
                if (cnt) {
                    gmap[kk] = c;
                    gname[kk] = lc.v[c];
                    for (size_t r = 0; r < n; r++)
                        if (mi[r] == m && ci[r] == c && !isnan(v[r])) {
                            y[ny] = v[r];
                            g[ny++] = kk;
                        }
                    kk++;
                }
            }
            (void)gmap;
            if (kk < 2 || ny <= (size_t)kk)
                continue;
            dolor_anova a;
            if (dolor_stats_anova(y, g, ny, kk, &a, NULL, NULL) != DOLOR_OK) {
                dolor_error_clear();
                continue;
            }
            any_anova = 1;
            fprintf(o.anova.fp, "%s,%s,%d,%zu,", lm.v[m], metric_col[k], kk, ny);
            double as[] = {a.df_between, a.df_within, a.ss_between, a.ss_within, a.F, a.p};
            for (int q = 0; q < 6; q++) {
                num(o.anova.fp, as[q]);
                fputc(q < 5 ? ',' : '\n', o.anova.fp);
            }
            double *pp = malloc((size_t)kk * kk * sizeof *pp), *tt = malloc((size_t)kk * kk * sizeof *tt);
            if (!pp || !tt) {
                free(pp);
                free(tt);
                s = dolor_error(DOLOR_ENOMEM, "out of memory");
                break;
            }
            if (dolor_stats_pairwise_t(y, g, ny, kk, 1, DOLOR_P_ADJUST_BONFERRONI, pp, tt) == DOLOR_OK) {
                for (int i = 1; i < kk; i++)
                    for (int j = 0; j < i; j++) {
                        fprintf(o.pair.fp, "%s,%s,", lm.v[m], metric_col[k]);
                        dolor_csv_write_field(o.pair.fp, gname[i]);
                        fputc(',', o.pair.fp);
                        dolor_csv_write_field(o.pair.fp, gname[j]);
                        fputc(',', o.pair.fp);
                        num(o.pair.fp, tt[i * kk + j]);
                        fputc(',', o.pair.fp);
                        num(o.pair.fp, pp[i * kk + j]);
                        fputc('\n', o.pair.fp);
                    }
            }
            dolor_error_clear();
            free(pp);
            free(tt);
        }
    }
    (void)metric_label;
    if (!s) {
        s = commit_all(&o);
        o.open = 0;
    }
    if (!s)
        s = write_methods(dir, op, any_anova);
done:
    abort_all(&o);
    for (int m = 0; m < NMETRIC; m++)
        free(val[m]);
    free(mi);
    free(fi);
    free(ci);
    free(lm.v);
    free(lf.v);
    free(lc.v);
    free(y);
    free(fm);
    free(g);
    dolor_csv_free(t);
    return s;
}
