/* The classification study: binary labels from dataset.csv, patient-level splits, and per (model, fold) job either
 * a ResNet trained with dolor_cls_train_run (checkpoint selected on the validation cases) or a random forest on
 * texture features (radiomics.h, ml.h); the test fold's probabilities of every job pooled into per_case.csv, then
 * dolor_study_cls_tables and the report. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/data.h"
#include "dolor/io.h"
#include "dolor/ml.h"
#include "dolor/nn.h"
#include "dolor/radiomics.h"
#include "dolor/stats.h"
#include "dolor/study.h"
#include "dolor/train.h"
#include "study_priv.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct cases {
    size_t n;
    char **stem;     /* image cell without its extension: the case name of splits.csv and per_case.csv */
    char **path;     /* image resolved against the CSV's folder */
    char **roi;      /* box text or NULL */
    int *y;          /* class index 0 (negative) or 1 (positive) */
    char *names[2];  /* class names */
} cases;

static void cases_free(cases *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->stem[i]);
        free(c->path[i]);
        free(c->roi ? c->roi[i] : NULL);
    }
    free(c->stem);
    free(c->path);
    free(c->roi);
    free(c->y);
    free(c->names[0]);
    free(c->names[1]);
    memset(c, 0, sizeof *c);
}

static int is_int(const char *s)
{
    char *e;
    if (!*s)
        return 0;
    (void)strtol(s, &e, 10);
    return !*e;
}

static int cmp_label(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    if (is_int(x) && is_int(y)) {
        long u = strtol(x, NULL, 10), v = strtol(y, NULL, 10);
        return (u > v) - (u < v);
    }
    return strcmp(x, y);
}

/* The listing: image, label and roi of every row; classes from dataset.classes, else the distinct labels sorted
 * (integers numerically). Exactly 2 classes. */
static dolor_status read_cases(const dolor_study_config *cfg, cases *c)
{
    memset(c, 0, sizeof *c);
    dolor_csv *t = NULL;
    dolor_status s = dolor_csv_read(cfg->csv, &t);
    if (s)
        return dolor_error_prefix(s, "dataset.csv");
    int ci = dolor_csv_column(t, cfg->image_column), cl = dolor_csv_column(t, cfg->label_column);
    int cr = cfg->roi_column ? dolor_csv_column(t, cfg->roi_column) : -1;
    const char *miss = ci < 0 ? "image_column" : cl < 0 ? "label_column" : cfg->roi_column && cr < 0 ? "roi_column"
                                                                                                    : NULL;
    if (miss) {
        s = dolor_error(DOLOR_ENOTFOUND, "%s: no column '%s' (dataset.%s)", cfg->csv,
                        ci < 0 ? cfg->image_column : cl < 0 ? cfg->label_column : cfg->roi_column, miss);
        dolor_csv_free(t);
        return s;
    }
    c->n = t->nrow;
    c->stem = calloc(c->n + 1, sizeof *c->stem);
    c->path = calloc(c->n + 1, sizeof *c->path);
    c->roi = cr >= 0 ? calloc(c->n + 1, sizeof *c->roi) : NULL;
    c->y = calloc(c->n + 1, sizeof *c->y);
    const char **lab = calloc(c->n + 1, sizeof *lab);
    if (!c->stem || !c->path || (cr >= 0 && !c->roi) || !c->y || !lab) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", cfg->csv);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[1] = '\0';
    else
        dir[0] = '\0';
    for (size_t r = 0; !s && r < t->nrow; r++) {
        const char *im = t->cells[r * t->ncol + ci], *lb = t->cells[r * t->ncol + cl];
        const char *ro = cr >= 0 ? t->cells[r * t->ncol + cr] : NULL;
        if (!im || !im[0] || !lb || !lb[0] || (cr >= 0 && (!ro || !ro[0]))) {
            s = dolor_error(DOLOR_EINVAL, "%s: line %zu: %s is empty", cfg->csv, t->line[r],
                            !im || !im[0] ? cfg->image_column : !lb || !lb[0] ? cfg->label_column : cfg->roi_column);
            break;
        }
        lab[r] = lb;
        size_t L = dolor_study_stem_len(im), pl = strlen(dir) + strlen(im) + 1;
        c->stem[r] = strndup(im, L);
        c->path[r] = malloc(pl);
        if (c->path[r])
            snprintf(c->path[r], pl, "%s%s", im[0] == '/' ? "" : dir, im);
        if (cr >= 0)
            c->roi[r] = strdup(ro);
        if (!c->stem[r] || !c->path[r] || (cr >= 0 && !c->roi[r]))
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    if (s)
        goto done;
    if (cfg->classes) {
        for (int k = 0; k < 2; k++)
            c->names[k] = strdup(cfg->classes[k]);
    } else {
        const char **d = calloc(c->n + 1, sizeof *d);
        size_t nd = 0;
        if (!d) {
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t r = 0; r < c->n; r++) {
            size_t j;
            for (j = 0; j < nd && strcmp(d[j], lab[r]); j++)
                ;
            if (j == nd)
                d[nd++] = lab[r];
        }
        qsort(d, nd, sizeof *d, cmp_label);
        if (nd != 2) {
            s = dolor_error(DOLOR_EINVAL, "%s: column '%s' holds %zu classes (%s%s%s%s); a classification study is "
                            "binary", cfg->csv, cfg->label_column, nd, nd ? d[0] : "", nd > 1 ? ", " : "",
                            nd > 1 ? d[1] : "", nd > 2 ? ", ..." : "");
            free(d);
            goto done;
        }
        c->names[0] = strdup(d[0]);
        c->names[1] = strdup(d[1]);
        free(d);
    }
    if (!c->names[0] || !c->names[1]) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t r = 0; r < c->n; r++) {
        c->y[r] = !strcmp(lab[r], c->names[1]) || (cfg->classes && !strcmp(lab[r], "1")) ? 1 : 0;
        if (c->y[r] == 0 && strcmp(lab[r], c->names[0]) && !(cfg->classes && !strcmp(lab[r], "0"))) {
            s = dolor_error(DOLOR_EINVAL, "%s: line %zu: label '%s' is not one of %s, %s (dataset.classes)", cfg->csv,
                            t->line[r], lab[r], c->names[0], c->names[1]);
            break;
        }
    }
done:
    free(lab);
    dolor_csv_free(t);
    if (s)
        cases_free(c);
    return s;
}

static int exists(const char *p)
{
    return access(p, F_OK) == 0;
}

/* ---- texture features of every case for one forest model: jobs/<model>/features.csv ---- */
static dolor_status case_features(const dolor_study_model *md, const cases *c, size_t i, dolor_feature_set **out)
{
    dolor_image *img = NULL, *crop = NULL;
    double *x = NULL;
    dolor_status s = dolor_image_read(c->path[i], &img);
    if (!s && c->roi) {
        dolor_box b;
        s = dolor_box_parse(c->roi[i], &b);
        if (!s)
            s = dolor_image_crop(img, &b, "roi", &crop);
    }
    const dolor_image *use = crop ? crop : img;
    if (!s)
        s = dolor_image_to_double(use, &x);
    if (!s) {
        dolor_features_config fc;
        dolor_features_config_default(&fc);
        fc.n_levels = md->n_levels;
        for (int k = 0; k < md->n_levels; k++)
            fc.levels[k] = md->levels[k];
        fc.n_distances = md->n_distances;
        for (int k = 0; k < md->n_distances; k++)
            fc.distances[k] = md->distances[k];
        fc.per_direction = 0;
        fc.direction_mean = 1;
        fc.firstorder = md->firstorder;
        fc.nakagami = md->nakagami;
        int64_t size[3] = {use->size[0], use->size[1], use->size[2]};
        s = dolor_features_compute(x, size, NULL, &fc, out);
    }
    free(x);
    dolor_image_free(crop);
    dolor_image_free(img);
    return s ? dolor_error_prefix(s, "%s", c->path[i]) : DOLOR_OK;
}

/* X [n, p] of every case (computed once, kept in path; a rerun reads the file: %.17g round-trips exactly). */
static dolor_status forest_features(const dolor_study_model *md, const cases *c, const char *path, double **X,
                                    int *p)
{
    *X = NULL;
    *p = 0;
    if (exists(path)) {
        dolor_csv *t = NULL;
        dolor_status s = dolor_csv_read(path, &t);
        if (s)
            return s;
        if (t->nrow != c->n || t->ncol < 2) {
            s = dolor_error(DOLOR_EINVAL, "%s: %zu rows for %zu cases (remove it to recompute)", path, t->nrow, c->n);
            dolor_csv_free(t);
            return s;
        }
        *p = t->ncol - 1;
        *X = malloc(c->n * (size_t)*p * sizeof **X);
        if (!*X)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
        for (size_t r = 0; !s && r < c->n; r++) {
            if (strcmp(t->cells[r * t->ncol] ? t->cells[r * t->ncol] : "", c->stem[r]))
                s = dolor_error(DOLOR_EINVAL, "%s: row %zu is case '%s', not '%s' (remove it to recompute)", path,
                                r + 1, t->cells[r * t->ncol] ? t->cells[r * t->ncol] : "", c->stem[r]);
            for (int k = 0; !s && k < *p; k++) {
                const char *v = t->cells[r * t->ncol + k + 1];
                char *e;
                (*X)[r * (size_t)*p + (size_t)k] = v ? strtod(v, &e) : NAN;
                if (!v || *e)
                    s = dolor_error(DOLOR_EFORMAT, "%s: row %zu, column %d: not a number", path, r + 1, k + 2);
            }
        }
        dolor_csv_free(t);
        if (s) {
            free(*X);
            *X = NULL;
        }
        return s;
    }
    dolor_outfile o;
    dolor_status s = dolor_outfile_open(&o, path, 1);
    if (s)
        return s;
    dolor_progress *bar = dolor_progress_create("texture features", (int64_t)c->n);
    for (size_t i = 0; !s && i < c->n; i++) {
        dolor_feature_set *fs = NULL;
        s = case_features(md, c, i, &fs);
        if (!s && i == 0) {
            *p = fs->n;
            *X = malloc(c->n * (size_t)fs->n * sizeof **X);
            if (!*X)
                s = dolor_error(DOLOR_ENOMEM, "out of memory");
            fputs("case", o.fp);
            for (int k = 0; !s && k < fs->n; k++)
                fprintf(o.fp, ",%s", fs->names[k]);
            fputc('\n', o.fp);
        }
        if (!s && fs->n != *p)
            s = dolor_error(DOLOR_ESHAPE, "%s: %d features, the first case had %d", c->path[i], fs->n, *p);
        if (!s) {
            dolor_csv_write_field(o.fp, c->stem[i]);
            for (int k = 0; k < fs->n; k++) {
                (*X)[i * (size_t)*p + (size_t)k] = fs->values[k];
                fprintf(o.fp, ",%.17g", fs->values[k]);
            }
            fputc('\n', o.fp);
        }
        dolor_feature_set_free(fs);
        dolor_progress_update(bar, (int64_t)i + 1, NULL);
    }
    dolor_progress_finish(bar, s ? "failed" : NULL);
    if (s) {
        dolor_outfile_abort(&o);
        free(*X);
        *X = NULL;
        return s;
    }
    return dolor_outfile_commit(&o);
}

/* ---- one job ---- */
static dolor_status write_predictions(const char *jobdir, const cases *c, const dolor_study_split *sp,
                                      const size_t *te, size_t nte, const double *prob)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/test_predictions.csv", jobdir);
    dolor_outfile o;
    dolor_status s = dolor_outfile_open(&o, p, 1);
    if (s)
        return s;
    fprintf(o.fp, "case,patient,truth,label,prob\n");
    for (size_t i = 0; i < nte; i++) {
        dolor_csv_write_field(o.fp, c->stem[te[i]]);
        fputc(',', o.fp);
        dolor_csv_write_field(o.fp, sp->patient[te[i]]);
        fputc(',', o.fp);
        dolor_csv_write_field(o.fp, c->names[c->y[te[i]]]);
        fprintf(o.fp, ",%d,%.17g\n", c->y[te[i]], prob[i]);
    }
    return dolor_outfile_commit(&o);
}

static dolor_status forest_job(const dolor_study_model *md, const char *jobdir, const cases *c,
                               const dolor_study_split *sp, int f, const double *X, int p, size_t *idx)
{
    /* the forest has no checkpoint to choose: it grows on the training and validation cases together */
    size_t nfit = dolor_study_job_cases(sp, f, DOLOR_SPLIT_TRAIN, idx);
    nfit += dolor_study_job_cases(sp, f, DOLOR_SPLIT_VAL, idx + nfit);
    double *Xf = malloc((nfit + 1) * (size_t)p * sizeof *Xf), *Xt = NULL, *pr = NULL, *prob = NULL;
    int *y = malloc((nfit + 1) * sizeof *y);
    dolor_forest *fo = NULL;
    dolor_status s = Xf && y ? DOLOR_OK : dolor_error(DOLOR_ENOMEM, "out of memory");
    for (size_t i = 0; !s && i < nfit; i++) {
        memcpy(Xf + i * (size_t)p, X + idx[i] * (size_t)p, (size_t)p * sizeof *X);
        y[i] = c->y[idx[i]];
    }
    dolor_forest_params prm;
    dolor_forest_params_default(&prm);
    prm.n_trees = md->trees;
    prm.max_features = md->max_features;
    prm.seed = (uint64_t)md->seed + (uint64_t)f;
    if (!s)
        s = dolor_forest_fit(Xf, nfit, p, y, 2, &prm, &fo);
    size_t nte = s ? 0 : dolor_study_job_cases(sp, f, DOLOR_SPLIT_TEST, idx);
    if (!s) {
        Xt = malloc((nte + 1) * (size_t)p * sizeof *Xt);
        pr = malloc((nte + 1) * 2 * sizeof *pr);
        prob = malloc((nte + 1) * sizeof *prob);
        if (!Xt || !pr || !prob)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    for (size_t i = 0; !s && i < nte; i++)
        memcpy(Xt + i * (size_t)p, X + idx[i] * (size_t)p, (size_t)p * sizeof *X);
    if (!s)
        s = dolor_forest_predict_proba(fo, Xt, nte, p, pr);
    for (size_t i = 0; !s && i < nte; i++)
        prob[i] = pr[2 * i + 1];
    if (!s) {
        char fp[4096];
        snprintf(fp, sizeof fp, "%s/forest.txt", jobdir);
        s = dolor_forest_save(fo, fp, NULL, c->names);
    }
    if (!s)
        s = write_predictions(jobdir, c, sp, idx, nte, prob);
    dolor_forest_free(fo);
    free(Xf);
    free(Xt);
    free(pr);
    free(prob);
    free(y);
    return s;
}

static dolor_status open_cls(const dolor_study_config *cfg, const cases *c, const dolor_study_model *md,
                             dolor_cls_dataset **ds)
{
    dolor_cls_config dc;
    dolor_cls_config_default(&dc);
    dc.csv = cfg->csv;
    dc.image_col = cfg->image_column;
    dc.label_col = cfg->label_column;
    dc.patient_col = cfg->patient_column;
    dc.spatial_dims = md->n_shape == 3 ? 3 : 2;
    dc.depth = md->n_shape == 3 ? md->shape[0] : 1;
    dc.height = md->shape[md->n_shape - 2];
    dc.width = md->shape[md->n_shape - 1];
    dc.num_classes = 2;
    dc.class_names = (const char *const *)c->names;
    dolor_status s = dolor_cls_dataset_open(&dc, ds);
    if (s)
        return dolor_error_prefix(s, "dataset");
    if (dolor_cls_dataset_count(*ds) != c->n)
        return dolor_error(DOLOR_EINVAL, "%s: %zu cases read as images, %zu rows", cfg->csv,
                           dolor_cls_dataset_count(*ds), c->n);
    for (size_t i = 0; i < c->n; i++)
        if (dolor_cls_dataset_label(*ds, i) != c->y[i])
            return dolor_error(DOLOR_EINVAL, "%s: case %zu: class %d, the listing says %d", cfg->csv, i + 1,
                               dolor_cls_dataset_label(*ds, i), c->y[i]);
    return DOLOR_OK;
}

/* best.safetensors on the test cases, one at a time in inference mode: probability of the positive class. */
static dolor_status cnn_test(const char *jobdir, const dolor_cls_dataset *ds, const size_t *te, size_t nte,
                             double *prob)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/best.safetensors", jobdir);
    dolor_net *net = NULL;
    dolor_model_meta meta;
    dolor_status s = dolor_checkpoint_load(p, &net, NULL, &meta);
    if (s)
        return s;
    int D, H, W;
    dolor_cls_dataset_size(ds, &D, &H, &W);
    int dims = dolor_cls_dataset_spatial_dims(ds);
    int64_t xs5[5] = {1, 1, D, H, W}, xs4[4] = {1, 1, H, W}, ls[2] = {1, 1};
    dolor_tensor *x = NULL, *l = NULL;
    s = dims == 3 ? dolor_tensor_create(&x, 5, xs5) : dolor_tensor_create(&x, 4, xs4);
    if (!s)
        s = dolor_tensor_create(&l, 2, ls);
    for (size_t i = 0; !s && i < nte; i++) {
        memcpy(x->data, dolor_cls_dataset_image(ds, te[i]), (size_t)D * H * W * sizeof(float));
        const dolor_tensor *ins[1] = {x};
        dolor_tensor *outs[1] = {l};
        s = dolor_net_run(net, ins, outs, 0);
        if (!s)
            prob[i] = 1.0 / (1.0 + exp(-(double)l->data[0]));
    }
    dolor_tensor_free(x);
    dolor_tensor_free(l);
    dolor_net_free(net);
    return s;
}

static dolor_status cnn_job(const dolor_study_config *cfg, const dolor_study_model *md, const char *jobdir,
                            const cases *c, const dolor_study_split *sp, int f, const dolor_cls_dataset *ds,
                            size_t *tr, size_t *va, size_t *te)
{
    size_t ntr = dolor_study_job_cases(sp, f, DOLOR_SPLIT_TRAIN, tr), nva = dolor_study_job_cases(sp, f, DOLOR_SPLIT_VAL, va);
    size_t nte = dolor_study_job_cases(sp, f, DOLOR_SPLIT_TEST, te);
    dolor_cls_train_config ct;
    dolor_cls_train_config_default(&ct);
    ct.out_dir = jobdir;
    ct.epochs = md->epochs;
    ct.batch_size = md->batch;
    ct.lr = md->lr;
    ct.momentum = md->momentum;
    ct.weight_decay = md->wd;
    ct.warmup_epochs = md->warmup;
    ct.step_size = md->step_size;
    ct.loss = DOLOR_CLS_LOSS_BCE;
    ct.augment = md->augment;
    ct.seed = (uint64_t)md->seed;
    ct.quiet = cfg->quiet;
    int dims = md->n_shape == 3 ? 3 : 2;
    if (dims == 2)
        ct.aug.flip_h = ct.aug.flip_d = 0;
    dolor_status s = dolor_optimizer_parse(md->optimizer, &ct.optimizer);
    if (!s)
        s = dolor_lr_schedule_parse(md->schedule, &ct.schedule);
    if (s)
        return s;
    dolor_net *net = NULL;
    dolor_adamw *opt = NULL;
    dolor_model_meta meta;
    memset(&meta, 0, sizeof meta);
    double best = -1;
    char last[4096], bestp[4096];
    snprintf(last, sizeof last, "%s/last.safetensors", jobdir);
    snprintf(bestp, sizeof bestp, "%s/best.safetensors", jobdir);
    if (exists(last)) {
        s = dolor_checkpoint_load(last, &net, &opt, &meta);
        if (s)
            return dolor_error_prefix(s, "resuming %s", jobdir);
        dolor_model_meta bm;
        if (dolor_checkpoint_read_meta(bestp, &bm) == DOLOR_OK && !isnan(bm.val_dice))
            best = bm.val_dice;
        dolor_error_clear();
        fprintf(stderr, "study: %s resumes after epoch %d\n", jobdir, meta.epoch);
    } else {
        char js[256];
        snprintf(js, sizeof js, "{\"in_channels\":1,\"num_classes\":1,\"spatial_dims\":%d,\"depth\":%d,\"width\":%d}",
                 dims, md->depth, md->base);
        s = dolor_arch_build("resnet", js, &net);
        if (!s)
            s = dolor_net_config_json(net, meta.arch_config, sizeof meta.arch_config);
        if (!s)
            s = dolor_net_init(net, (uint64_t)md->seed);
        if (s) {
            dolor_net_free(net);
            return s;
        }
        snprintf(meta.task, sizeof meta.task, "classification");
        snprintf(meta.arch_name, sizeof meta.arch_name, "resnet");
        meta.in_channels = 1;
        meta.num_classes = 2;
        for (int k = 0; k < 2; k++) {
            snprintf(meta.class_names[k], sizeof meta.class_names[k], "%s", c->names[k]);
            meta.label_values[k] = k;
        }
        meta.depth = dims == 3 ? md->shape[0] : 0;
        meta.height = md->shape[md->n_shape - 2];
        meta.width = md->shape[md->n_shape - 1];
        meta.seed = (uint64_t)md->seed;
        meta.val_dice = NAN;
    }
    snprintf(meta.train_json, sizeof meta.train_json,
             "{\"study\":\"%s\",\"model\":\"%s\",\"fold\":%d,\"epochs\":%d,\"batch\":%d,\"optimizer\":\"%s\","
             "\"lr\":%.17g}", cfg->name, md->name, f + 1, md->epochs, md->batch, md->optimizer, md->lr);
    if (meta.epoch < md->epochs)
        s = dolor_cls_train_run(&ct, net, opt, ds, tr, ntr, va, nva, &meta, &best);
    dolor_net_free(net);
    dolor_adamw_free(opt);
    double *prob = s ? NULL : malloc((nte + 1) * sizeof *prob);
    if (!s && !prob)
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
    if (!s)
        s = cnn_test(jobdir, ds, te, nte, prob);
    if (!s)
        s = write_predictions(jobdir, c, sp, te, nte, prob);
    free(prob);
    return s;
}

/* job.txt of a classification job: the model's settings and the job's cases. */
static char *job_text(const dolor_study_config *cfg, const dolor_study_model *md, const cases *c,
                      const dolor_study_split *sp, int f)
{
    size_t cap = 4096;
    for (size_t i = 0; i < sp->n; i++)
        cap += strlen(sp->stem[i]) + 1;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    size_t o = 0;
#define ADD(...) (o += (size_t)snprintf(buf + o, o < cap ? cap - o : 0, __VA_ARGS__))
    ADD("model %s\narch %s\n", md->name, md->arch);
    if (!strcmp(md->arch, "resnet")) {
        ADD("depth %d\nwidth %d\nshape", md->depth, md->base);
        for (int i = 0; i < md->n_shape; i++)
            ADD(" %d", md->shape[i]);
        ADD("\nepochs %d\nbatch %d\nwarmup %d\noptimizer %s\nlr %.17g\nmomentum %.17g\nwd %.17g\nschedule %s\n"
            "step_size %d\naugment %d\nseed %d\n", md->epochs, md->batch, md->warmup, md->optimizer, md->lr,
            md->momentum, md->wd, md->schedule, md->step_size, md->augment, md->seed);
    } else {
        ADD("trees %d\nmax_features %d\nseed %d\nlevels", md->trees, md->max_features, md->seed);
        for (int i = 0; i < md->n_levels; i++)
            ADD(" %d", md->levels[i]);
        ADD("\ndistances");
        for (int i = 0; i < md->n_distances; i++)
            ADD(" %d", md->distances[i]);
        ADD("\nfirstorder %d\nnakagami %d\nroi %s\n", md->firstorder, md->nakagami,
            cfg->roi_column ? cfg->roi_column : "(whole image)");
    }
    ADD("classes %s %s\nfold %d of %d\n", c->names[0], c->names[1], f + 1, sp->k);
    for (int w = 0; w < 3; w++) {
        ADD("%s", w == 0 ? "train" : w == 1 ? "val" : "test");
        for (size_t i = 0; i < sp->n; i++)
            if (sp->set[(size_t)f * sp->n + i] == w)
                ADD(" %s", sp->stem[i]);
        ADD("\n");
    }
#undef ADD
    return buf;
}

static dolor_status collect(FILE *fp, const char *jobdir, const char *model, int fold, double threshold)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/test_predictions.csv", jobdir);
    dolor_csv *t = NULL;
    dolor_status s = dolor_csv_read(p, &t);
    if (s)
        return s;
    int cc = dolor_csv_column(t, "case"), cp = dolor_csv_column(t, "patient"), ct = dolor_csv_column(t, "truth"),
        cl = dolor_csv_column(t, "label"), cpr = dolor_csv_column(t, "prob");
    if (cc < 0 || cp < 0 || ct < 0 || cl < 0 || cpr < 0) {
        dolor_csv_free(t);
        return dolor_error(DOLOR_EFORMAT, "%s: needs columns case, patient, truth, label, prob", p);
    }
    for (size_t r = 0; r < t->nrow; r++) {
        const char *const *row = (const char *const *)t->cells + r * t->ncol;
        fprintf(fp, "%s,%d,", model, fold);
        dolor_csv_write_field(fp, row[cc] ? row[cc] : "");
        fputc(',', fp);
        dolor_csv_write_field(fp, row[cp] ? row[cp] : "");
        fputc(',', fp);
        dolor_csv_write_field(fp, row[ct] ? row[ct] : "");
        double pr = row[cpr] ? atof(row[cpr]) : NAN;
        fprintf(fp, ",%s,%s,%d\n", row[cl] ? row[cl] : "", row[cpr] ? row[cpr] : "NA", pr >= threshold);
    }
    dolor_csv_free(t);
    return DOLOR_OK;
}

/* The classification study's jobs for dolor_study_run_jobs; the CNN dataset is reopened when a model's input
 * shape differs. */
typedef struct cls_jobs {
    const dolor_study_config *cfg;
    const cases *c;
    const dolor_study_split *sp;
    double **X; /* forest features per model */
    int *P;
    dolor_cls_dataset *ds;
    const dolor_study_model *ds_model;
    size_t *tr, *va, *te;
} cls_jobs;

static char *cls_job_text(void *ctx, int m, int f)
{
    const cls_jobs *j = ctx;
    return job_text(j->cfg, &j->cfg->models[m], j->c, j->sp, f);
}

static dolor_status cls_job_run(void *ctx, int m, int f, const char *jobdir, char *done_line, size_t done_cap)
{
    cls_jobs *j = ctx;
    const dolor_study_model *md = &j->cfg->models[m];
    dolor_status s = DOLOR_OK;
    dolor_outfile_clean_stale(jobdir);
    if (!strcmp(md->arch, "forest"))
        s = forest_job(md, jobdir, j->c, j->sp, f, j->X[m], j->P[m], j->tr);
    else {
        if (!j->ds || j->ds_model->n_shape != md->n_shape ||
            memcmp(j->ds_model->shape, md->shape, (size_t)md->n_shape * sizeof *md->shape)) {
            dolor_cls_dataset_free(j->ds);
            j->ds = NULL;
            s = open_cls(j->cfg, j->c, md, &j->ds);
            j->ds_model = md;
        }
        if (!s)
            s = cnn_job(j->cfg, md, jobdir, j->c, j->sp, f, j->ds, j->tr, j->va, j->te);
    }
    if (!s)
        snprintf(done_line, done_cap, "model %s fold %d: done", md->name, f + 1);
    return s;
}

dolor_status dolor_study_run_classification(const dolor_study_config *cfg, const char *out_dir)
{
    if (cfg->threads)
        omp_set_num_threads(cfg->threads);
    dolor_study_ranks rk;
    dolor_study_ranks_get(&rk);
    dolor_status s = dolor_mkdir_p(out_dir);
    if (s)
        return s;
    if (rk.rank == 0)
        dolor_outfile_clean_stale(out_dir);
    cases c;
    s = read_cases(cfg, &c);
    if (s)
        return s;
    dolor_study_split *sp = NULL;
    size_t *tr = malloc((c.n + 1) * sizeof *tr), *va = malloc((c.n + 1) * sizeof *va),
           *te = malloc((c.n + 1) * sizeof *te);
    double **X = calloc((size_t)cfg->n_models, sizeof *X);
    int *P = calloc((size_t)cfg->n_models, sizeof *P);
    dolor_cls_dataset *ds = NULL;
    if (!tr || !va || !te || !X || !P) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    {
        /* the split reads patients from the listing itself and is stratified on the label */
        dolor_study_config sc = *cfg;
        sc.patients = cfg->csv;
        sc.stem_column = cfg->image_column;
        sc.stratum_column = cfg->label_column;
        s = dolor_study_split_make(&sc, c.stem, c.n, &sp);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/splits.csv", out_dir);
    if (!s && rk.rank == 0)
        s = dolor_study_split_write(sp, path);
    s = dolor_study_status_all(s);
    if (s)
        goto done;
    /* texture features of the forest models, model m on rank m % size */
    for (int m = 0; m < cfg->n_models; m++) {
        const dolor_study_model *md = &cfg->models[m];
        if (strcmp(md->arch, "forest"))
            continue;
        snprintf(path, sizeof path, "%s/jobs/%s", out_dir, md->name);
        dolor_status s2 = dolor_mkdir_p(path);
        snprintf(path, sizeof path, "%s/jobs/%s/features.csv", out_dir, md->name);
        if (!s2 && m % rk.size == rk.rank)
            s2 = forest_features(md, &c, path, &X[m], &P[m]);
        if (!s && s2)
            s = dolor_error_prefix(s2, "model %s", md->name);
    }
    s = dolor_study_status_all(s);
    for (int m = 0; !s && m < cfg->n_models; m++)
        if (!strcmp(cfg->models[m].arch, "forest") && !X[m]) {
            snprintf(path, sizeof path, "%s/jobs/%s/features.csv", out_dir, cfg->models[m].name);
            s = forest_features(&cfg->models[m], &c, path, &X[m], &P[m]);
        }
    if (!s) {
        cls_jobs cj = {cfg, &c, sp, X, P, NULL, NULL, tr, va, te};
        static const dolor_study_job_ops ops = {cls_job_text, cls_job_run};
        s = dolor_study_run_jobs(cfg, out_dir, sp->k, &ops, &cj);
        ds = cj.ds;
    } else
        s = dolor_study_status_all(s); /* every rank stops together */
    if (s || rk.rank != 0)
        goto done;
    snprintf(path, sizeof path, "%s/per_case.csv", out_dir);
    {
        dolor_outfile o;
        s = dolor_outfile_open(&o, path, 1);
        if (s)
            goto done;
        fprintf(o.fp, "model,fold,case,patient,truth,label,prob,pred\n");
        for (int m = 0; !s && m < cfg->n_models; m++)
            for (int f = 0; !s && f < sp->k; f++) {
                char jobdir[4096];
                snprintf(jobdir, sizeof jobdir, "%s/jobs/%s/fold%d", out_dir, cfg->models[m].name, f + 1);
                s = collect(o.fp, jobdir, cfg->models[m].name, f + 1, cfg->threshold);
            }
        if (s) {
            dolor_outfile_abort(&o);
            goto done;
        }
        s = dolor_outfile_commit(&o);
        if (s)
            goto done;
    }
    {
        char desc[1200];
        if (cfg->split == DOLOR_STUDY_KFOLD)
            snprintf(desc, sizeof desc,
                     "Cases were split by patient (no patient in more than one fold) into %d folds stratified by "
                     "class, seeded (seed %d); in each fold a share of %.2g of the training patients was held out "
                     "for validation. Each CNN was evaluated on the test fold at the epoch with the best validation "
                     "AUC; each random forest was grown on the training and validation cases together. The split "
                     "is listed in splits.csv.",
                     cfg->folds, cfg->split_seed, cfg->val_share);
        else
            snprintf(desc, sizeof desc,
                     "Cases were split by patient into training, validation and test sets in the ratio %g:%g:%g, "
                     "stratified by class, seeded (seed %d). Each CNN was evaluated on the test set at the epoch "
                     "with the best validation AUC; each random forest was grown on the training and validation "
                     "cases together. The split is listed in splits.csv.",
                     cfg->ratios[0], cfg->ratios[1], cfg->ratios[2], cfg->split_seed);
        dolor_study_table_opts to = {cfg->population_sd, 0, cfg->path, desc, cfg->conf, cfg->ci_method,
                                     cfg->threshold};
        s = dolor_study_cls_tables(path, &to, out_dir);
    }
    if (!s)
        s = dolor_study_report(out_dir, cfg->path, cfg->name);
done:
    for (int m = 0; X && m < cfg->n_models; m++)
        free(X[m]);
    free(X);
    free(P);
    dolor_cls_dataset_free(ds);
    dolor_study_split_free(sp);
    cases_free(&c);
    free(tr);
    free(va);
    free(te);
    return s;
}
