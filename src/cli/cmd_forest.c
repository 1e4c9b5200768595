/* dolor forest train|predict|cv: random forest on a CSV feature table. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/ml.h"
#include "dolor/stats.h"
#include "opts.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *label, *group, *positive, *out, *model, *importance, *predictions, *fold_column;
    char **features, **exclude;
    int nfeatures, nexclude;
    long trees, max_features, max_depth, min_split, min_leaf, folds, threads, repeats;
    double seed;
    int no_bootstrap;
} forest_opts;

static const dolor_opt_spec specs[] = {
    {"label", 'y', OPT_STR, "label column (class names or numbers; required)", .metavar = "COL", .uses = "train,cv",
     DOLOR_OPT_AT(forest_opts, label)},
    {"features", 'f', OPT_LIST, "feature columns (default: every numeric column but label, group and --exclude)",
     .metavar = "COL,...", .uses = "train,cv"},
    {"exclude", 0, OPT_LIST, "columns that are not features", .metavar = "COL,...", .uses = "train,cv"},
    {"group", 'g', OPT_STR, "patient column: cv keeps a patient's rows in one fold; predict copies it",
     .metavar = "COL", DOLOR_OPT_AT(forest_opts, group)},
    {"positive", 0, OPT_STR, "positive class for sensitivity, PPV, AUC", .metavar = "CLASS",
     .def = "the last in sorted order", .uses = "cv", DOLOR_OPT_AT(forest_opts, positive)},
    {"trees", 'n', OPT_INT, "number of trees", .def = "100", DOLOR_OPT_RANGE(1, 100000), .uses = "train,cv",
     DOLOR_OPT_AT(forest_opts, trees)},
    {"max-features", 0, OPT_INT, "features tried per split", .def = "floor(sqrt(p))", DOLOR_OPT_RANGE(1, 100000000),
     .uses = "train,cv", DOLOR_OPT_AT(forest_opts, max_features)},
    {"max-depth", 0, OPT_INT, "maximum tree depth", .def = "unlimited", DOLOR_OPT_RANGE(1, 100000),
     .uses = "train,cv", DOLOR_OPT_AT(forest_opts, max_depth)},
    {"min-samples-split", 0, OPT_INT, "smallest node that is split", .def = "2", DOLOR_OPT_RANGE(2, 100000000),
     .uses = "train,cv", DOLOR_OPT_AT(forest_opts, min_split)},
    {"min-samples-leaf", 0, OPT_INT, "smallest leaf", .def = "1", DOLOR_OPT_RANGE(1, 100000000), .uses = "train,cv",
     DOLOR_OPT_AT(forest_opts, min_leaf)},
    {"no-bootstrap", 0, OPT_FLAG, "every tree sees every row (no OOB estimate)", .uses = "train,cv",
     DOLOR_OPT_AT(forest_opts, no_bootstrap)},
    {"seed", 's', OPT_NUM, "random seed", .metavar = "S", .def = "1", DOLOR_OPT_RANGE(0, 9007199254740992.0),
     .uses = "train,cv", DOLOR_OPT_AT(forest_opts, seed)},
    {"folds", 'k', OPT_INT, "number of folds", .metavar = "K", .def = "5", DOLOR_OPT_RANGE(2, 1000), .uses = "cv",
     DOLOR_OPT_AT(forest_opts, folds)},
    {"fold-column", 0, OPT_STR, "take each row's fold from this column (any k distinct values) instead of drawing "
     "them", .metavar = "COL", .uses = "cv", DOLOR_OPT_AT(forest_opts, fold_column)},
    {"model", 'm', OPT_STR, "forest file written by train", .metavar = "FILE", .uses = "predict",
     DOLOR_OPT_AT(forest_opts, model)},
    {"out", 'o', OPT_STR, "train: forest file; predict: predictions CSV; cv: metrics CSV", .metavar = "FILE",
     DOLOR_OPT_AT(forest_opts, out)},
    {"importance", 0, OPT_STR, "write feature importances (impurity, permutation on the training table) CSV",
     .metavar = "FILE", .uses = "train", DOLOR_OPT_AT(forest_opts, importance)},
    {"repeats", 0, OPT_INT, "permutation importance repeats", .def = "5", DOLOR_OPT_RANGE(1, 1000), .uses = "train",
     DOLOR_OPT_AT(forest_opts, repeats)},
    {"predictions", 0, OPT_STR, "also write each row's out-of-fold probability", .metavar = "FILE", .uses = "cv",
     DOLOR_OPT_AT(forest_opts, predictions)},
    {"threads", 't', OPT_INT, "CPU threads", .def = "all cores", DOLOR_OPT_RANGE(1, 1024),
     DOLOR_OPT_AT(forest_opts, threads)},
    {"config", 0, OPT_STR, "JSON file with any of these options as keys", .metavar = "FILE.json"},
};

static const dolor_subcmd_desc subs[] = {
    {"train", "TABLE.csv --label COL [-o forest.txt] [--importance imp.csv] [options]",
     "fit a forest; prints the out-of-bag error"},
    {"predict", "TABLE.csv --model forest.txt -o predictions.csv [options]",
     "class probabilities of every row (the model's feature columns)"},
    {"cv", "TABLE.csv --label COL [--group PATIENT] [-k 5] [-o metrics.csv] [options]",
     "stratified k-fold by patient: accuracy, sensitivity, specificity, PPV, NPV, AUC per fold and pooled"},
};

static const dolor_cmd_desc forest_cmd = {
    .name = "forest",
    .summary = "Random forest classifier (bootstrap, sqrt(p) features per split, Gini; scikit-learn's\n"
               "RandomForestClassifier defaults). train prints the out-of-bag error; cv runs stratified k-fold by\n"
               "patient and reports accuracy, sensitivity, specificity, PPV, NPV and AUC per fold and pooled over\n"
               "the out-of-fold predictions (positive = --positive, default the last class in sorted order).\n"
               "A missing or NaN cell is an error naming the row and column. Deterministic for a seed.",
    DOLOR_CMD_SPECS(specs),
    .subs = subs,
    .nsubs = (int)(sizeof subs / sizeof *subs),
};

static dolor_status apply(void *ctx, const dolor_opt_spec *sp, const char *v)
{
    forest_opts *o = ctx;
    if (sp->bound)
        return dolor_opt_bind(ctx, sp, v);
    if (!strcmp(sp->name, "features")) {
        dolor_cli_free_list(o->features);
        return dolor_cli_split_list("--features", v, &o->features, &o->nfeatures);
    }
    if (!strcmp(sp->name, "exclude")) {
        dolor_cli_free_list(o->exclude);
        return dolor_cli_split_list("--exclude", v, &o->exclude, &o->nexclude);
    }
    return dolor_error(DOLOR_EINVAL, "option --%s is not handled", sp->name);
}

static int in_list(char **l, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(l[i], s))
            return 1;
    return 0;
}

static int is_numeric_cell(const char *c)
{
    char *end;
    if (!c)
        return 1;
    strtod(c, &end);
    return end != c && *end == 0;
}

/* The feature matrix X [nrow, p] from the table; names point into the table. Missing or NaN cells are errors. */
static dolor_status table_features(const dolor_csv *t, const forest_opts *o, const char *const *want, int nwant,
                                   double **Xo, int *po, char ***names)
{
    int *cols = malloc((size_t)t->ncol * sizeof *cols), p = 0;
    if (!cols)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    if (want) {
        for (int k = 0; k < nwant; k++) {
            int j = dolor_csv_column(t, want[k]);
            if (j < 0) {
                free(cols);
                return dolor_error(DOLOR_ENOTFOUND, "%s: no feature column '%s'", t->path, want[k]);
            }
            cols[p++] = j;
        }
    } else {
        for (int j = 0; j < t->ncol; j++) {
            const char *nm = t->names[j];
            if ((o->label && !strcmp(nm, o->label)) || (o->group && !strcmp(nm, o->group)) ||
                (o->fold_column && !strcmp(nm, o->fold_column)) ||
                in_list(o->exclude, o->nexclude, nm))
                continue;
            int num = 1;
            for (size_t i = 0; num && i < t->nrow; i++)
                num = is_numeric_cell(t->cells[i * t->ncol + j]);
            if (!num) {
                fprintf(stderr, "dolor forest: column '%s' is not numeric: not a feature\n", nm);
                continue;
            }
            cols[p++] = j;
        }
    }
    if (p == 0) {
        free(cols);
        return dolor_error(DOLOR_EINVAL, "%s: no feature column", t->path);
    }
    double *X = malloc(t->nrow * (size_t)p * sizeof *X);
    char **nm = calloc((size_t)p + 1, sizeof *nm);
    if (!X || !nm) {
        free(cols), free(X), free(nm);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    dolor_status s = DOLOR_OK;
    for (int k = 0; k < p && !s; k++) {
        double *v = NULL;
        const char *cn = t->names[cols[k]];
        nm[k] = t->names[cols[k]];
        if ((s = dolor_csv_numeric(t, cn, &v)))
            break;
        for (size_t i = 0; i < t->nrow; i++) {
            if (!isfinite(v[i])) {
                const char *c = t->cells[i * t->ncol + cols[k]];
                s = dolor_error(DOLOR_ENUMERIC, "%s: column '%s', row %zu (line %zu) is %s", t->path, cn, i + 1,
                                t->line[i], c ? c : "missing");
                break;
            }
            X[i * p + k] = v[i];
        }
        free(v);
    }
    free(cols);
    if (s) {
        free(X);
        free(nm);
        return s;
    }
    *Xo = X;
    *po = p;
    *names = nm;
    return DOLOR_OK;
}

static dolor_status table_labels(const dolor_csv *t, const char *label, char ***levels, int *K, int **y)
{
    dolor_status s = dolor_csv_factor(t, label, levels, K, y);
    if (s)
        return s;
    for (size_t i = 0; i < t->nrow; i++)
        if ((*y)[i] < 0)
            return dolor_error(DOLOR_EINVAL, "%s: label column '%s', row %zu (line %zu) is missing", t->path, label,
                               i + 1, t->line[i]);
    if (*K < 2)
        return dolor_error(DOLOR_EINVAL, "%s: label column '%s' has %d class(es); need 2 or more", t->path, label, *K);
    return DOLOR_OK;
}

static void params_from(const forest_opts *o, dolor_forest_params *prm)
{
    dolor_forest_params_default(prm);
    if (o->trees) prm->n_trees = (int)o->trees;
    if (o->max_features) prm->max_features = (int)o->max_features;
    if (o->max_depth) prm->max_depth = (int)o->max_depth;
    if (o->min_split) prm->min_samples_split = (int)o->min_split;
    if (o->min_leaf) prm->min_samples_leaf = (int)o->min_leaf;
    if (o->no_bootstrap) prm->bootstrap = 0;
    if (o->seed > 0) prm->seed = (uint64_t)o->seed;
}

typedef struct {
    size_t n;
    long tp, fp, fn, tn;
    double acc, sens, spec, ppv, npv, auc;
} fold_metrics;

static double ratio(long a, long b) { return b > 0 ? (double)a / (double)b : NAN; }

static void metrics(const double *score, const int *pos, const int *pred, size_t n, fold_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->n = n;
    double *truth = malloc((n ? n : 1) * sizeof *truth);
    for (size_t i = 0; i < n; i++) {
        truth[i] = pos[i];
        if (pos[i] && pred[i]) m->tp++;
        else if (!pos[i] && pred[i]) m->fp++;
        else if (pos[i]) m->fn++;
        else m->tn++;
    }
    m->acc = ratio(m->tp + m->tn, (long)n);
    m->sens = ratio(m->tp, m->tp + m->fn);
    m->spec = ratio(m->tn, m->tn + m->fp);
    m->ppv = ratio(m->tp, m->tp + m->fp);
    m->npv = ratio(m->tn, m->tn + m->fn);
    dolor_roc *roc = NULL;
    m->auc = NAN;
    if (truth && dolor_roc_create(truth, score, n, DOLOR_ROC_LT, &roc) == DOLOR_OK)
        m->auc = roc->auc;
    dolor_roc_free(roc);
    free(truth);
}

static void print_metrics(FILE *fp, const char *name, const fold_metrics *m, int csv)
{
    if (csv)
        fprintf(fp, "%s,%zu,%ld,%ld,%ld,%ld,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n", name, m->n, m->tp, m->fp, m->fn, m->tn,
                m->acc, m->sens, m->spec, m->ppv, m->npv, m->auc);
    else
        fprintf(fp, "%-7s %5zu  %6.3f  %6.3f  %6.3f  %6.3f  %6.3f  %6.3f\n", name, m->n, m->acc, m->sens, m->spec,
                m->ppv, m->npv, m->auc);
}

static int positive_index(const char *cmd, const forest_opts *o, char **levels, int K, int *pi)
{
    *pi = K - 1;
    if (o->positive) {
        *pi = -1;
        for (int k = 0; k < K; k++)
            if (!strcmp(levels[k], o->positive))
                *pi = k;
        if (*pi < 0)
            return dolor_cli_usage_error(cmd, "--positive '%s' is not a class of --label '%s'", o->positive, o->label);
    }
    return 0;
}

int dolor_cmd_forest(int argc, char **argv)
{
    forest_opts o = {0};
    int npos = 0, rc = DOLOR_EXIT_OK, K = 0, p = 0, *y = NULL;
    char **pos = NULL, **levels = NULL, **fnames = NULL, **mfeat = NULL, **mclass = NULL;
    dolor_csv *t = NULL;
    double *X = NULL;
    dolor_forest *f = NULL;
    int *group = NULL, *fold = NULL, *isp = NULL, *pred = NULL, *ytr = NULL, *idx = NULL;
    double *score = NULL, *Xtr = NULL, *pr = NULL;
    fold_metrics *fm = NULL;
    const char *cmd = "forest";
    dolor_status s = DOLOR_OK;
    int front = dolor_cmd_front(&forest_cmd, argc, argv, apply, &o, &pos, &npos, NULL);
    if (front >= 0) {
        rc = front;
        goto out;
    }
    if (npos != 2) {
        rc = dolor_cli_usage_error(cmd, "expected 'train', 'predict' or 'cv' and one CSV table");
        goto out;
    }
    const char *mode = pos[0], *table = pos[1];
    if (o.threads)
        omp_set_num_threads((int)o.threads);
    if ((s = dolor_csv_read(table, &t))) {
        rc = dolor_cli_fail(cmd, s);
        goto out;
    }
    dolor_forest_params prm;
    params_from(&o, &prm);
    if (!strcmp(mode, "predict")) {
        if (!o.model || !o.out) {
            rc = dolor_cli_usage_error(cmd, "predict needs --model FOREST and -o predictions.csv");
            goto out;
        }
        if ((s = dolor_forest_load(o.model, &f, &mfeat, &mclass))) {
            rc = dolor_cli_fail(cmd, s);
            goto out;
        }
        int pm = dolor_forest_n_features(f);
        if ((s = table_features(t, &o, (const char *const *)mfeat, pm, &X, &p, &fnames))) {
            rc = dolor_cli_fail(cmd, s);
            goto out;
        }
        K = dolor_forest_n_classes(f);
        pr = malloc(t->nrow * (size_t)K * sizeof *pr);
        if (!pr || (s = dolor_forest_predict_proba(f, X, t->nrow, p, pr))) {
            rc = dolor_cli_fail(cmd, pr ? s : dolor_error(DOLOR_ENOMEM, "out of memory"));
            goto out;
        }
        dolor_outfile of;
        if ((s = dolor_outfile_open(&of, o.out, 1))) {
            rc = dolor_cli_fail(cmd, s);
            goto out;
        }
        fputs("row", of.fp);
        if (o.group)
            fprintf(of.fp, ",%s", o.group);
        for (int k = 0; k < K; k++) {
            char nm[512];
            snprintf(nm, sizeof nm, "p_%s", mclass[k]);
            fputc(',', of.fp);
            dolor_csv_write_field(of.fp, nm);
        }
        fputs(",predicted\n", of.fp);
        int gj = o.group ? dolor_csv_column(t, o.group) : -1;
        for (size_t i = 0; i < t->nrow; i++) {
            fprintf(of.fp, "%zu", i + 1);
            if (o.group) {
                fputc(',', of.fp);
                const char *c = gj >= 0 ? t->cells[i * t->ncol + gj] : NULL;
                dolor_csv_write_field(of.fp, c ? c : "");
            }
            int best = 0;
            for (int k = 0; k < K; k++) {
                fprintf(of.fp, ",%.10g", pr[i * K + k]);
                if (pr[i * K + k] > pr[i * K + best])
                    best = k;
            }
            fputc(',', of.fp);
            dolor_csv_write_field(of.fp, mclass[best]);
            fputc('\n', of.fp);
        }
        if ((s = dolor_outfile_commit(&of)))
            rc = dolor_cli_fail(cmd, s);
        goto out;
    }
    if (!o.label) {
        rc = dolor_cli_usage_error(cmd, "%s needs --label COLUMN", mode);
        goto out;
    }
    if ((s = table_labels(t, o.label, &levels, &K, &y)) ||
        (s = table_features(t, &o, (const char *const *)o.features, o.nfeatures, &X, &p, &fnames))) {
        rc = dolor_cli_fail(cmd, s);
        goto out;
    }
    const size_t n = t->nrow;
    if (!strcmp(mode, "train")) {
        double t0 = dolor_time_ms();
        if ((s = dolor_forest_fit(X, n, p, y, K, &prm, &f))) {
            rc = dolor_cli_fail(cmd, s);
            goto out;
        }
        double t1 = dolor_time_ms(), oob = NAN;
        dolor_forest_oob(f, NULL, &oob);
        printf("forest: %d trees, %zu rows, %d features, %d classes; fit %.1f ms; OOB error %.4f\n", prm.n_trees, n, p,
               K, t1 - t0, oob);
        if (o.out && (s = dolor_forest_save(f, o.out, fnames, levels))) {
            rc = dolor_cli_fail(cmd, s);
            goto out;
        }
        if (o.importance) {
            double *imp = malloc((size_t)p * 3 * sizeof *imp);
            if (!imp) {
                rc = dolor_cli_fail(cmd, dolor_error(DOLOR_ENOMEM, "out of memory"));
                goto out;
            }
            dolor_forest_importance_impurity(f, imp);
            s = dolor_forest_importance_permutation(f, X, n, p, y, o.repeats ? (int)o.repeats : 5, prm.seed, imp + p,
                                                    imp + 2 * p);
            dolor_outfile of;
            if (!s)
                s = dolor_outfile_open(&of, o.importance, 1);
            if (!s) {
                fputs("feature,impurity_decrease,permutation_mean,permutation_sd\n", of.fp);
                for (int j = 0; j < p; j++) {
                    dolor_csv_write_field(of.fp, fnames[j]);
                    fprintf(of.fp, ",%.10g,%.10g,%.10g\n", imp[j], imp[p + j], imp[2 * p + j]);
                }
                s = dolor_outfile_commit(&of);
            }
            free(imp);
            if (s) {
                rc = dolor_cli_fail(cmd, s);
                goto out;
            }
        }
        goto out;
    }
    /* cv */
    if (K != 2) {
        rc = dolor_cli_fail(cmd, dolor_error(DOLOR_EINVAL, "cv reports two-class metrics; label '%s' has %d classes",
                                             o.label, K));
        goto out;
    }
    int pi;
    if ((rc = positive_index(cmd, &o, levels, K, &pi)))
        goto out;
    int k = o.folds ? (int)o.folds : 5;
    group = malloc(n * sizeof *group), fold = malloc(n * sizeof *fold), isp = calloc(n, sizeof *isp);
    pred = calloc(n, sizeof *pred), ytr = malloc(n * sizeof *ytr), idx = malloc(n * sizeof *idx);
    score = malloc(n * sizeof *score), Xtr = malloc(n * (size_t)p * sizeof *Xtr), pr = malloc(n * 2 * sizeof *pr);
    fm = calloc((size_t)k + 1, sizeof *fm);
    if (!group || !fold || !isp || !pred || !score || !Xtr || !pr || !ytr || !idx || !fm) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto cv_done;
    }
    if (o.group) {
        char **glev = NULL;
        int ng, *gc = NULL;
        if ((s = dolor_csv_factor(t, o.group, &glev, &ng, &gc)))
            goto cv_done;
        for (size_t i = 0; i < n && !s; i++) {
            if (gc[i] < 0)
                s = dolor_error(DOLOR_EINVAL, "%s: group column '%s', row %zu (line %zu) is missing", t->path, o.group,
                                i + 1, t->line[i]);
            group[i] = gc[i];
        }
        dolor_stats_free_strings(glev);
        free(gc);
        if (s)
            goto cv_done;
    }
    if (o.fold_column) {
        char **flev = NULL;
        int *fc = NULL;
        if ((s = dolor_csv_factor(t, o.fold_column, &flev, &k, &fc)))
            goto cv_done;
        for (size_t i = 0; i < n && !s; i++) {
            if (fc[i] < 0)
                s = dolor_error(DOLOR_EINVAL, "%s: fold column '%s', row %zu (line %zu) is missing", t->path,
                                o.fold_column, i + 1, t->line[i]);
            fold[i] = fc[i];
        }
        dolor_stats_free_strings(flev);
        free(fc);
        if (!s && k < 2)
            s = dolor_error(DOLOR_EINVAL, "%s: fold column '%s' holds %d fold(s); need 2 or more", t->path,
                            o.fold_column, k);
        free(fm);
        fm = s ? NULL : calloc((size_t)k + 1, sizeof *fm);
        if (!s && !fm)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
        if (s)
            goto cv_done;
    } else if ((s = dolor_stratified_group_kfold(y, o.group ? group : NULL, n, K, k, prm.seed, fold))) {
        goto cv_done;
    }
    double tfit = 0, tpred = 0;
    printf("fold        n   accur    sens    spec     PPV     NPV     AUC\n");
    for (int fi = 0; fi < k && !s; fi++) {
        size_t ntr = 0, nte = 0;
        for (size_t i = 0; i < n; i++) {
            if (fold[i] != fi) {
                memcpy(Xtr + ntr * p, X + i * p, (size_t)p * sizeof *X);
                ytr[ntr++] = y[i];
            }
        }
        double *Xte = malloc((n - ntr ? n - ntr : 1) * (size_t)p * sizeof *Xte);
        if (!Xte) {
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
            break;
        }
        for (size_t i = 0; i < n; i++)
            if (fold[i] == fi) {
                memcpy(Xte + nte * p, X + i * p, (size_t)p * sizeof *X);
                idx[nte++] = (int)i;
            }
        dolor_forest *ff = NULL;
        dolor_forest_params pf = prm;
        pf.seed = prm.seed + 1000003ULL * (uint64_t)(fi + 1);
        double t0 = dolor_time_ms();
        s = dolor_forest_fit(Xtr, ntr, p, ytr, K, &pf, &ff);
        double t1 = dolor_time_ms();
        if (!s)
            s = dolor_forest_predict_proba(ff, Xte, nte, p, pr);
        tfit += t1 - t0;
        tpred += dolor_time_ms() - t1;
        dolor_forest_free(ff);
        free(Xte);
        if (s)
            break;
        double *fs = malloc(nte * sizeof *fs);
        int *fp_ = malloc(nte * sizeof *fp_), *fpred = malloc(nte * sizeof *fpred);
        for (size_t j = 0; j < nte; j++) {
            int i = idx[j];
            score[i] = pr[2 * j + pi];
            isp[i] = y[i] == pi;
            /* argmax, ties to the lower class index (numpy.argmax, scikit-learn's predict) */
            pred[i] = (pr[2 * j + 1] > pr[2 * j] ? 1 : 0) == pi;
            fs[j] = score[i];
            fp_[j] = isp[i];
            fpred[j] = pred[i];
        }
        metrics(fs, fp_, fpred, nte, &fm[fi]);
        char nm[32];
        snprintf(nm, sizeof nm, "%d", fi + 1);
        print_metrics(stdout, nm, &fm[fi], 0);
        free(fs), free(fp_), free(fpred);
    }
    if (s)
        goto cv_done;
    metrics(score, isp, pred, n, &fm[k]);
    print_metrics(stdout, "pooled", &fm[k], 0);
    {
        double mean_auc = 0, mean_acc = 0;
        for (int fi = 0; fi < k; fi++)
            mean_auc += fm[fi].auc / k, mean_acc += fm[fi].acc / k;
        printf("mean of folds: accuracy %.4f, AUC %.4f; positive class '%s'; fit %.1f ms, predict %.1f ms (%d threads)\n",
               mean_acc, mean_auc, levels[pi], tfit, tpred, omp_get_max_threads());
    }
    if (o.out) {
        dolor_outfile of;
        if (!(s = dolor_outfile_open(&of, o.out, 1))) {
            fputs("fold,n,tp,fp,fn,tn,accuracy,sensitivity,specificity,ppv,npv,auc\n", of.fp);
            for (int fi = 0; fi < k; fi++) {
                char nm[32];
                snprintf(nm, sizeof nm, "%d", fi + 1);
                print_metrics(of.fp, nm, &fm[fi], 1);
            }
            print_metrics(of.fp, "pooled", &fm[k], 1);
            s = dolor_outfile_commit(&of);
        }
    }
    if (!s && o.predictions) {
        dolor_outfile of;
        if (!(s = dolor_outfile_open(&of, o.predictions, 1))) {
            fprintf(of.fp, "row,fold,truth,p_positive,predicted\n");
            for (size_t i = 0; i < n; i++)
                fprintf(of.fp, "%zu,%d,%d,%.10g,%d\n", i + 1, fold[i] + 1, isp[i], score[i], pred[i]);
            s = dolor_outfile_commit(&of);
        }
    }
cv_done:
    if (s)
        rc = dolor_cli_fail(cmd, s);
out:
    free(group), free(fold), free(isp), free(pred), free(score), free(Xtr), free(pr), free(ytr), free(idx), free(fm);
    dolor_forest_free(f);
    dolor_csv_free(t);
    dolor_stats_free_strings(levels);
    for (char **q = mfeat; q && *q; q++)
        free(*q);
    free(mfeat);
    for (char **q = mclass; q && *q; q++)
        free(*q);
    free(mclass);
    free(fnames);
    free(X);
    free(y);
    free(pos);
    free(o.label), free(o.group), free(o.positive), free(o.out), free(o.model), free(o.importance),
        free(o.predictions), free(o.fold_column);
    dolor_cli_free_list(o.features);
    dolor_cli_free_list(o.exclude);
    return rc;
}
