/* Classification study tables: diagnostic accuracy with binomial CIs, AUC with DeLong CIs, the paired DeLong test
 * between models, per-fold values with mean and SD, the pooled ROC curves, and the methods paragraph. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/stats.h"
#include "dolor/study.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { SENS, SPEC, PPV, NPV, ACC, AUC, NMET };
static const char *const met_name[NMET] = {"sensitivity", "specificity", "PPV", "NPV", "accuracy", "AUC"};

typedef struct rows {
    size_t n;
    int *model, *fold, *label;
    double *prob;
    const char **cas;
} rows;

/* Counts and estimates of the cases idx[0..n-1]; value[m] NaN where undefined. */
typedef struct metrics {
    size_t x[NMET], d[NMET]; /* successes and denominators of the proportions */
    double value[NMET], lo[NMET], hi[NMET];
} metrics;

static dolor_status compute(const rows *R, const size_t *idx, size_t n, const dolor_study_table_opts *o, int with_ci,
                            metrics *out, dolor_roc **roc_out)
{
    size_t tp = 0, fp = 0, fn = 0, tn = 0;
    for (size_t i = 0; i < n; i++) {
        int pos = R->prob[idx[i]] >= o->threshold, y = R->label[idx[i]];
        tp += y && pos;
        fn += y && !pos;
        fp += !y && pos;
        tn += !y && !pos;
    }
    size_t x[5] = {tp, tn, tp, tn, tp + tn}, d[5] = {tp + fn, tn + fp, tp + fp, tn + fn, n};
    for (int m = 0; m < 5; m++) {
        out->x[m] = x[m];
        out->d[m] = d[m];
        out->value[m] = out->lo[m] = out->hi[m] = NAN;
        if (!d[m])
            continue;
        out->value[m] = (double)x[m] / (double)d[m];
        if (with_ci) {
            dolor_prop_ci ci;
            dolor_status s = dolor_prop_ci_compute(x[m], d[m], o->conf, (dolor_ci_method)o->ci_method, &ci);
            if (s)
                return s;
            out->lo[m] = ci.lower;
            out->hi[m] = ci.upper;
        }
    }
    out->x[AUC] = 0;
    out->d[AUC] = n;
    out->value[AUC] = out->lo[AUC] = out->hi[AUC] = NAN;
    if (roc_out)
        *roc_out = NULL;
    if (tp + fn >= 2 && tn + fp >= 2) {
        double *t = malloc(n * sizeof *t), *sc = malloc(n * sizeof *sc);
        if (!t || !sc) {
            free(t);
            free(sc);
            return dolor_error(DOLOR_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
            t[i] = R->label[idx[i]];
            sc[i] = R->prob[idx[i]];
        }
        dolor_roc *roc = NULL;
        dolor_status s = dolor_roc_create(t, sc, n, DOLOR_ROC_LT, &roc);
        free(t);
        free(sc);
        if (s)
            return s;
        out->value[AUC] = roc->auc;
        if (with_ci && (s = dolor_roc_ci(roc, o->conf, &out->lo[AUC], &out->hi[AUC]))) {
            dolor_roc_free(roc);
            return s;
        }
        if (roc_out)
            *roc_out = roc;
        else
            dolor_roc_free(roc);
    }
    return DOLOR_OK;
}

static void num(FILE *fp, double v)
{
    if (isnan(v))
        fputs("NA", fp);
    else
        fprintf(fp, "%.10g", v);
}

static int intern(const char **names, int *n, const char *s)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp(names[i], s))
            return i;
    names[*n] = s;
    return (*n)++;
}

dolor_status dolor_study_cls_tables(const char *per_case_csv, const dolor_study_table_opts *opts_in, const char *dir)
{
    dolor_study_table_opts o = *opts_in;
    if (!(o.conf > 0))
        o.conf = 0.95;
    if (!(o.threshold > 0))
        o.threshold = 0.5;
    dolor_csv *t = NULL;
    dolor_status s = dolor_csv_read(per_case_csv, &t);
    if (!s)
        s = dolor_mkdir_p(dir);
    if (s) {
        dolor_csv_free(t);
        return s;
    }
    int cm = dolor_csv_column(t, "model"), cf = dolor_csv_column(t, "fold"), cc = dolor_csv_column(t, "case"),
        cl = dolor_csv_column(t, "label"), cp = dolor_csv_column(t, "prob");
    if (cm < 0 || cf < 0 || cc < 0 || cl < 0 || cp < 0) {
        s = dolor_error(DOLOR_ENOTFOUND, "%s: no column '%s'", per_case_csv,
                        cm < 0 ? "model" : cf < 0 ? "fold" : cc < 0 ? "case" : cl < 0 ? "label" : "prob");
        dolor_csv_free(t);
        return s;
    }
    rows R = {t->nrow, NULL, NULL, NULL, NULL, NULL};
    size_t N = t->nrow + 1;
    R.model = malloc(N * sizeof *R.model);
    R.fold = malloc(N * sizeof *R.fold);
    R.label = malloc(N * sizeof *R.label);
    R.prob = malloc(N * sizeof *R.prob);
    R.cas = malloc(N * sizeof *R.cas);
    const char **models = malloc(N * sizeof *models), **folds = malloc(N * sizeof *folds);
    size_t *idx = malloc(N * sizeof *idx), *idx2 = malloc(N * sizeof *idx2);
    dolor_roc **rocs = NULL;
    int nm = 0, nf = 0;
    FILE *fp = NULL;
    dolor_outfile of;
    int open = 0;
    if (!R.model || !R.fold || !R.label || !R.prob || !R.cas || !models || !folds || !idx || !idx2) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t r = 0; r < t->nrow; r++) {
        const char *const *row = (const char *const *)t->cells + r * t->ncol;
        const char *lv = row[cl] ? row[cl] : "", *pv = row[cp] ? row[cp] : "";
        char *e;
        R.prob[r] = strtod(pv, &e);
        if (strcmp(lv, "0") && strcmp(lv, "1")) {
            s = dolor_error(DOLOR_EFORMAT, "%s: line %zu: label '%s' is not 0 or 1", per_case_csv, t->line[r], lv);
            goto done;
        }
        if (!*pv || *e || !(R.prob[r] >= 0 && R.prob[r] <= 1)) {
            s = dolor_error(DOLOR_EFORMAT, "%s: line %zu: prob '%s' is not a number in [0, 1]", per_case_csv,
                            t->line[r], pv);
            goto done;
        }
        R.label[r] = lv[0] == '1';
        R.model[r] = intern(models, &nm, row[cm] ? row[cm] : "");
        R.fold[r] = intern(folds, &nf, row[cf] ? row[cf] : "");
        R.cas[r] = row[cc] ? row[cc] : "";
    }
    const char *sdname = o.population_sd ? "population (n)" : "sample (n-1)";
    char p[4096];
    /* per_fold.csv */
    snprintf(p, sizeof p, "%s/per_fold.csv", dir);
    if ((s = dolor_outfile_open(&of, p, 1)))
        goto done;
    open = 1;
    fp = of.fp;
    fprintf(fp, "model,fold,metric,n,value,sd_definition\n");
    for (int m = 0; m < nm; m++) {
        double v[NMET][256];
        int nv[NMET] = {0};
        for (int f = 0; f < nf; f++) {
            size_t n = 0;
            for (size_t r = 0; r < R.n; r++)
                if (R.model[r] == m && R.fold[r] == f)
                    idx[n++] = r;
            if (!n)
                continue;
            metrics mt;
            if ((s = compute(&R, idx, n, &o, 0, &mt, NULL)))
                goto done;
            for (int k = 0; k < NMET; k++) {
                fprintf(fp, "%s,%s,%s,%zu,", models[m], folds[f], met_name[k], mt.d[k]);
                num(fp, mt.value[k]);
                fputs(",\n", fp);
                if (!isnan(mt.value[k]) && nv[k] < 256)
                    v[k][nv[k]++] = mt.value[k];
            }
        }
        for (int k = 0; k < NMET; k++) {
            double mean = nv[k] ? 0 : NAN, ss = 0;
            for (int i = 0; i < nv[k]; i++)
                mean += v[k][i] / nv[k];
            for (int i = 0; i < nv[k]; i++)
                ss += (v[k][i] - mean) * (v[k][i] - mean);
            int den = o.population_sd ? nv[k] : nv[k] - 1;
            double sd = den > 0 ? sqrt(ss / den) : NAN;
            fprintf(fp, "%s,mean,%s,%d,", models[m], met_name[k], nv[k]);
            num(fp, mean);
            fprintf(fp, ",%s\n%s,sd,%s,%d,", sdname, models[m], met_name[k], nv[k]);
            num(fp, sd);
            fprintf(fp, ",%s\n", sdname);
        }
    }
    open = 0;
    if ((s = dolor_outfile_commit(&of)))
        goto done;
    /* cls_summary.csv and roc.csv over the pooled cases */
    rocs = calloc((size_t)nm + 1, sizeof *rocs);
    if (!rocs) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    snprintf(p, sizeof p, "%s/cls_summary.csv", dir);
    if ((s = dolor_outfile_open(&of, p, 1)))
        goto done;
    open = 1;
    fp = of.fp;
    fprintf(fp, "model,metric,x,n,estimate,ci_lo,ci_hi,ci_method\n");
    for (int m = 0; m < nm; m++) {
        size_t n = 0;
        for (size_t r = 0; r < R.n; r++)
            if (R.model[r] == m)
                idx[n++] = r;
        metrics mt;
        if ((s = compute(&R, idx, n, &o, 1, &mt, &rocs[m])))
            goto done;
        for (int k = 0; k < NMET; k++) {
            fprintf(fp, "%s,%s,", models[m], met_name[k]);
            if (k == AUC)
                fputs("NA", fp);
            else
                fprintf(fp, "%zu", mt.x[k]);
            fprintf(fp, ",%zu,", mt.d[k]);
            num(fp, mt.value[k]);
            fputc(',', fp);
            num(fp, mt.lo[k]);
            fputc(',', fp);
            num(fp, mt.hi[k]);
            fprintf(fp, ",%s\n", k == AUC ? "DeLong" : dolor_ci_method_name((dolor_ci_method)o.ci_method));
        }
    }
    open = 0;
    if ((s = dolor_outfile_commit(&of)))
        goto done;
    snprintf(p, sizeof p, "%s/roc.csv", dir);
    if ((s = dolor_outfile_open(&of, p, 1)))
        goto done;
    open = 1;
    fp = of.fp;
    fprintf(fp, "model,threshold,sensitivity,specificity\n");
    for (int m = 0; m < nm; m++)
        for (size_t i = 0; rocs[m] && i < rocs[m]->n_thresholds; i++) {
            fprintf(fp, "%s,", models[m]);
            double th = rocs[m]->thresholds[i];
            if (isinf(th))
                fputs(th > 0 ? "Inf" : "-Inf", fp);
            else
                fprintf(fp, "%.10g", th);
            fprintf(fp, ",%.10g,%.10g\n", rocs[m]->sensitivity[i], rocs[m]->specificity[i]);
        }
    open = 0;
    if ((s = dolor_outfile_commit(&of)))
        goto done;
    /* delong.csv: paired on the pooled cases, matched by case name */
    if (nm >= 2) {
        snprintf(p, sizeof p, "%s/delong.csv", dir);
        if ((s = dolor_outfile_open(&of, p, 1)))
            goto done;
        open = 1;
        fp = of.fp;
        fprintf(fp, "model_a,model_b,n,auc_a,auc_b,difference,z,p,p_bonferroni\n");
        int pairs = nm * (nm - 1) / 2;
        for (int a = 0; a < nm; a++)
            for (int b = a + 1; b < nm; b++) {
                size_t na = 0, nb = 0;
                for (size_t r = 0; r < R.n; r++)
                    if (R.model[r] == a)
                        idx[na++] = r;
                for (size_t i = 0; i < na; i++) {
                    size_t hit = (size_t)-1;
                    for (size_t r = 0; r < R.n; r++)
                        if (R.model[r] == b && !strcmp(R.cas[r], R.cas[idx[i]])) {
                            hit = r;
                            break;
                        }
                    if (hit == (size_t)-1) {
                        s = dolor_error(DOLOR_EINVAL, "%s: case '%s' of model %s has no row for model %s (the "
                                        "DeLong test pairs the models' cases)", per_case_csv, R.cas[idx[i]],
                                        models[a], models[b]);
                        goto done;
                    }
                    idx2[nb++] = hit;
                }
                for (size_t r = 0, cnt = 0; r < R.n; r++)
                    if (R.model[r] == b && ++cnt > na) {
                        s = dolor_error(DOLOR_EINVAL, "%s: model %s has more cases than model %s", per_case_csv,
                                        models[b], models[a]);
                        goto done;
                    }
                if (!rocs[a] || !rocs[b]) {
                    fprintf(fp, "%s,%s,%zu,NA,NA,NA,NA,NA,NA\n", models[a], models[b], na);
                    continue;
                }
                dolor_roc *ra = NULL, *rb = NULL;
                double *tr = malloc(na * sizeof *tr), *sa = malloc(na * sizeof *sa), *sb = malloc(na * sizeof *sb);
                if (!tr || !sa || !sb)
                    s = dolor_error(DOLOR_ENOMEM, "out of memory");
                for (size_t i = 0; !s && i < na; i++) {
                    tr[i] = R.label[idx[i]];
                    sa[i] = R.prob[idx[i]];
                    sb[i] = R.prob[idx2[i]];
                    if (R.label[idx2[i]] != R.label[idx[i]])
                        s = dolor_error(DOLOR_EINVAL, "%s: case '%s' has label %d for model %s and %d for %s",
                                        per_case_csv, R.cas[idx[i]], R.label[idx[i]], models[a], R.label[idx2[i]],
                                        models[b]);
                }
                if (!s)
                    s = dolor_roc_create(tr, sa, na, DOLOR_ROC_LT, &ra);
                if (!s)
                    s = dolor_roc_create(tr, sb, na, DOLOR_ROC_LT, &rb);
                dolor_delong_test dt;
                if (!s)
                    s = dolor_roc_test_delong(ra, rb, 1, &dt);
                if (!s) {
                    fprintf(fp, "%s,%s,%zu,%.10g,%.10g,%.10g,", models[a], models[b], na, dt.auc1, dt.auc2,
                            dt.auc1 - dt.auc2);
                    num(fp, dt.z);
                    fputc(',', fp);
                    num(fp, dt.p_value);
                    fputc(',', fp);
                    num(fp, isnan(dt.p_value) ? NAN : fmin(1.0, dt.p_value * pairs));
                    fputc('\n', fp);
                }
                dolor_roc_free(ra);
                dolor_roc_free(rb);
                free(tr);
                free(sa);
                free(sb);
                if (s)
                    goto done;
            }
        open = 0;
        if ((s = dolor_outfile_commit(&of)))
            goto done;
    }
    /* methods.md */
    snprintf(p, sizeof p, "%s/methods.md", dir);
    if ((s = dolor_outfile_open(&of, p, 1)))
        goto done;
    open = 1;
    fp = of.fp;
    fprintf(fp, "# Statistical methods\n\n");
    if (o.split_desc)
        fprintf(fp, "%s\n\n", o.split_desc);
    const char *cim = o.ci_method == DOLOR_CI_CLOPPER_PEARSON ? "exact Clopper-Pearson intervals (R binom.test)"
                      : o.ci_method == DOLOR_CI_WILSON    ? "Wilson score intervals (R prop.test, correct = FALSE)"
                                                          : "Wilson score intervals with continuity correction (R "
                                                            "prop.test, correct = TRUE)";
    fprintf(fp,
            "Every test case was predicted by the model of the fold in which it was held out, and the out-of-fold "
            "predictions of all folds were pooled. A case was called positive when its predicted probability of the "
            "positive class was %g or more. Sensitivity, specificity, positive and negative predictive value (PPV, "
            "NPV) and accuracy are reported with %g%% %s. The area under the ROC curve (AUC, the Mann-Whitney "
            "estimate with ties counted one half) is reported with its %g%% DeLong confidence interval (DeLong, "
            "DeLong and Clarke-Pearson 1988; R pROC ci.auc(method = \"delong\")). AUCs of two models were compared "
            "with the two-sided paired DeLong test on the pooled out-of-fold predictions of the same cases (pROC "
            "roc.test(method = \"delong\", paired = TRUE)), p values Bonferroni-adjusted for the number of model "
            "pairs. Per-fold values are summarised as the mean and the %s standard deviation of the fold values.",
            o.threshold, 100 * o.conf, cim, 100 * o.conf, o.population_sd ? "population (divisor n)"
                                                                           : "sample (divisor n - 1)");
    if (o.config_path)
        fprintf(fp, " Configuration: %s.", o.config_path);
    fputc('\n', fp);
    open = 0;
    s = dolor_outfile_commit(&of);
done:
    if (open)
        dolor_outfile_abort(&of);
    for (int m = 0; rocs && m < nm; m++)
        dolor_roc_free(rocs[m]);
    free(rocs);
    free(R.model);
    free(R.fold);
    free(R.label);
    free(R.prob);
    free(R.cas);
    free(models);
    free(folds);
    free(idx);
    free(idx2);
    dolor_csv_free(t);
    return s;
}
