/* ICC(2,1) of per-case areas between two annotators and the model (segmentation studies with dataset.masks2). */
#define _POSIX_C_SOURCE 200809L
#include "dolor/stats.h"
#include "dolor/study.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int intern(const char **names, int *n, const char *s)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp(names[i], s))
            return i;
    names[*n] = s;
    return (*n)++;
}

static void num(FILE *fp, double v)
{
    if (isnan(v))
        fputs(",NA", fp);
    else
        fprintf(fp, ",%.10g", v);
}

dolor_status dolor_study_icc_table(const char *areas_csv, double conf, const char *dir)
{
    if (!(conf > 0))
        conf = 0.95;
    dolor_csv *t = NULL;
    dolor_status s = dolor_csv_read(areas_csv, &t);
    if (!s)
        s = dolor_mkdir_p(dir);
    if (s) {
        dolor_csv_free(t);
        return s;
    }
    static const char *const cols[] = {"model", "case", "class", "area_ref", "area_ann2", "area_model"};
    int ci[6];
    for (int i = 0; i < 6; i++)
        if ((ci[i] = dolor_csv_column(t, cols[i])) < 0) {
            s = dolor_error(DOLOR_ENOTFOUND, "%s: no column '%s'", areas_csv, cols[i]);
            dolor_csv_free(t);
            return s;
        }
    size_t N = t->nrow + 1;
    const char **models = malloc(N * sizeof *models), **classes = malloc(N * sizeof *classes);
    int *rm = malloc(N * sizeof *rm), *rc = malloc(N * sizeof *rc), nm = 0, nc = 0;
    double *v = malloc(3 * N * sizeof *v), *rt = malloc(2 * N * sizeof *rt);
    if (!models || !classes || !rm || !rc || !v || !rt) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t r = 0; r < t->nrow; r++) {
        const char *const *row = (const char *const *)t->cells + r * t->ncol;
        rm[r] = intern(models, &nm, row[ci[0]] ? row[ci[0]] : "");
        rc[r] = intern(classes, &nc, row[ci[2]] ? row[ci[2]] : "");
        for (int k = 0; k < 3; k++) {
            const char *x = row[ci[3 + k]];
            char *e;
            v[3 * r + (size_t)k] = x ? strtod(x, &e) : NAN;
            if (!x || !*x || *e || !isfinite(v[3 * r + (size_t)k])) {
                s = dolor_error(DOLOR_EFORMAT, "%s: line %zu: %s '%s' is not a number", areas_csv, t->line[r],
                                cols[3 + k], x ? x : "");
                goto done;
            }
        }
    }
    char p[4096];
    snprintf(p, sizeof p, "%s/icc.csv", dir);
    dolor_outfile o;
    if ((s = dolor_outfile_open(&o, p, 1)))
        goto done;
    fprintf(o.fp, "model,class,comparison,n,icc,ci_lo,ci_hi,F,df1,df2,p\n");
    static const char *const cmp[3] = {"annotator 1 vs annotator 2", "annotator 1 vs model",
                                       "annotator 2 vs model"};
    static const int ca[3] = {0, 0, 1}, cb[3] = {1, 2, 2};
    for (int m = 0; m < nm; m++)
        for (int c = 0; c < nc; c++)
            for (int q = 0; q < 3; q++) {
                size_t n = 0;
                for (size_t r = 0; r < t->nrow; r++)
                    if (rm[r] == m && rc[r] == c) {
                        rt[2 * n] = v[3 * r + (size_t)ca[q]];
                        rt[2 * n + 1] = v[3 * r + (size_t)cb[q]];
                        n++;
                    }
                dolor_icc_result ir;
                dolor_status si = dolor_icc_compute(rt, n, 2, conf, &ir);
                fprintf(o.fp, "%s,%s,%s,%zu", models[m], classes[c], cmp[q], n);
                if (si) { /* too few cases, or no variation: undefined */
                    dolor_error_clear();
                    fputs(",NA,NA,NA,NA,NA,NA,NA\n", o.fp);
                    continue;
                }
                const dolor_icc_row *w = &ir.icc[DOLOR_ICC2];
                num(o.fp, w->icc);
                num(o.fp, w->ci_lower);
                num(o.fp, w->ci_upper);
                num(o.fp, w->f);
                num(o.fp, w->df1);
                num(o.fp, w->df2);
                num(o.fp, w->p_value);
                fputc('\n', o.fp);
            }
    s = dolor_outfile_commit(&o);
done:
    free(models);
    free(classes);
    free(rm);
    free(rc);
    free(v);
    free(rt);
    dolor_csv_free(t);
    return s;
}
