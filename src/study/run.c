/* dolor_study_run: split, then train/select/test every (model, fold) job through the train and eval modules, then
 * the tables. Each job's outputs are complete files (temp + rename); done.txt marks a finished job. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/data.h"
#include "dolor/eval.h"
#include "dolor/io.h"
#include "dolor/nn.h"
#include "dolor/stats.h"
#include "dolor/study.h"
#include "dolor/train.h"
#include "study_priv.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int exists(const char *p)
{
    return access(p, F_OK) == 0;
}

static dolor_status open_dataset(const dolor_study_config *cfg, int size, dolor_dataset **ds)
{
    const char *names[DOLOR_MAX_CLASSES];
    int values[DOLOR_MAX_CLASSES];
    names[0] = "background";
    values[0] = 0;
    for (int c = 0; c < cfg->n_classes; c++) {
        names[c + 1] = cfg->classes[c];
        values[c + 1] = cfg->labels ? cfg->labels[c] : c + 1;
    }
    dolor_dataset_config dc;
    dolor_dataset_config_default(&dc);
    dc.image_dir = cfg->images;
    dc.mask_dir = cfg->masks;
    dc.num_classes = cfg->n_classes + 1;
    dc.class_names = names;
    dc.label_values = values;
    dc.height = dc.width = size;
    dolor_status s = dolor_dataset_open(&dc, ds);
    return s ? dolor_error_prefix(s, "dataset") : DOLOR_OK;
}

/* Indices of the cases of job f in set `which`. */
/* Evaluate best.safetensors of a job on its test cases at original size -> jobdir/test_eval/. */
/* The second annotator's mask of case i: masks2/<the mask's file name>. */
static void mask2_path(const dolor_study_config *cfg, dolor_dataset *ds, size_t i, char *buf, size_t cap)
{
    const char *mp = dolor_dataset_mask_path(ds, i), *b = strrchr(mp, '/');
    snprintf(buf, cap, "%s/%s", cfg->masks2, b ? b + 1 : mp);
}

static dolor_status test_job(const dolor_study_config *cfg, const char *jobdir, dolor_dataset *ds, const size_t *te,
                             size_t nte)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/best.safetensors", jobdir);
    dolor_net *net = NULL;
    dolor_model_meta meta;
    dolor_status s = dolor_checkpoint_load(path, &net, NULL, &meta);
    if (s)
        return s;
    const char *names[DOLOR_MAX_CLASSES];
    for (int c = 0; c < meta.num_classes; c++)
        names[c] = meta.class_names[c];
    dolor_seg_eval *ev = NULL;
    dolor_segment_scratch *scratch = NULL;
    s = dolor_seg_eval_create(meta.num_classes, names, &ev);
    /* with a second annotator: per case and foreground class the areas (pixels) of both annotators and the model */
    dolor_outfile areas;
    int areas_open = 0;
    if (!s && cfg->masks2) {
        snprintf(path, sizeof path, "%s/test_eval", jobdir);
        s = dolor_mkdir_p(path);
        snprintf(path, sizeof path, "%s/test_eval/areas.csv", jobdir);
        if (!s)
            s = dolor_outfile_open(&areas, path, 1);
        if (!s) {
            areas_open = 1;
            fprintf(areas.fp, "case,class,area_ref,area_ann2,area_model\n");
        }
    }
    snprintf(path, sizeof path, "%s/test_pred", jobdir);
    if (!s)
        s = dolor_mkdir_p(path);
    if (!s)
        dolor_outfile_clean_stale(path);
    for (size_t i = 0; !s && i < nte; i++) {
        dolor_image *img = NULL, *cls = NULL;
        uint8_t *truth = NULL;
        s = dolor_image_read(dolor_dataset_image_path(ds, te[i]), &img);
        if (!s)
            s = dolor_segment_image(net, &meta, img, &scratch, &cls);
        if (!s && !(truth = malloc(dolor_image_nvox(cls))))
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
        if (!s)
            s = dolor_dataset_mask_orig(ds, te[i], truth);
        if (!s)
            s = dolor_seg_eval_add(ev, dolor_dataset_stem(ds, te[i]), truth, cls->data, dolor_image_nvox(cls));
        if (!s && areas_open) {
            char p2[4096];
            mask2_path(cfg, ds, te[i], p2, sizeof p2);
            dolor_image *m2 = NULL;
            uint8_t *c2 = malloc(dolor_image_nvox(cls));
            s = c2 ? dolor_image_read(p2, &m2) : dolor_error(DOLOR_ENOMEM, "out of memory");
            if (!s)
                s = dolor_preprocess_mask(m2, meta.num_classes, meta.label_values, (int)cls->size[1],
                                          (int)cls->size[0], c2, p2);
            if (!s && (m2->size[0] != cls->size[0] || m2->size[1] != cls->size[1]))
                s = dolor_error(DOLOR_ESHAPE, "%s: %lldx%lld but the image is %lldx%lld (dataset.masks2)", p2,
                                (long long)m2->size[0], (long long)m2->size[1], (long long)cls->size[0],
                                (long long)cls->size[1]);
            for (int c = 1; !s && c < meta.num_classes; c++) {
                size_t a[3] = {0, 0, 0};
                const uint8_t *pc = cls->data;
                for (size_t v = 0; v < dolor_image_nvox(cls); v++) {
                    a[0] += truth[v] == c;
                    a[1] += c2[v] == c;
                    a[2] += pc[v] == c;
                }
                dolor_csv_write_field(areas.fp, dolor_dataset_stem(ds, te[i]));
                fputc(',', areas.fp);
                dolor_csv_write_field(areas.fp, meta.class_names[c]);
                fprintf(areas.fp, ",%zu,%zu,%zu\n", a[0], a[1], a[2]);
            }
            free(c2);
            dolor_image_free(m2);
        }
        /* the predicted label map, with the image's geometry: NIfTI for NIfTI inputs, palette PNG otherwise */
        dolor_image *lab = NULL;
        if (!s)
            s = dolor_classes_to_labels(cls, &meta, &lab);
        if (!s) {
            const char *ip = dolor_dataset_image_path(ds, te[i]);
            size_t L = strlen(ip);
            int nii = (L > 4 && !strcmp(ip + L - 4, ".nii")) || (L > 7 && !strcmp(ip + L - 7, ".nii.gz"));
            snprintf(path, sizeof path, "%s/test_pred/%s.%s", jobdir, dolor_dataset_stem(ds, te[i]),
                     nii ? "nii.gz" : "png");
            s = nii || lab->dtype != DOLOR_U8 ? dolor_image_write(path, lab)
                                              : dolor_png_write_labels(path, lab, NULL, 0);
        }
        dolor_image_free(lab);
        free(truth);
        dolor_image_free(img);
        dolor_image_free(cls);
    }
    if (!s) {
        snprintf(path, sizeof path, "%s/test_eval", jobdir);
        s = dolor_seg_eval_write_csv(ev, path);
    }
    if (areas_open) {
        if (s)
            dolor_outfile_abort(&areas);
        else
            s = dolor_outfile_commit(&areas);
    }
    dolor_segment_scratch_free(scratch);
    dolor_seg_eval_free(ev);
    dolor_net_free(net);
    return s;
}

/* The settings a job is made with, one per line; stored as job.txt so that a rerun with a changed config refuses
 * the folder instead of mixing results. */
static void job_text(const dolor_study_config *cfg, const dolor_study_model *md, const dolor_study_split *sp, int f,
                     char *buf, size_t cap)
{
    size_t o = 0;
#define ADD(...) (o += (size_t)snprintf(buf + o, o < cap ? cap - o : 0, __VA_ARGS__))
    /* a registry segmenter's line is its options (base/depth/upsample are the U-Net's), so U-Net jobs keep the
     * job.txt they had before other architectures joined */
    if (dolor_study_model_is_registry_seg(md))
        ADD("model %s\narch %s\noptions %s\n", md->name, md->arch, md->options ? md->options : "{}");
    else
        ADD("model %s\narch %s\nbase %d\ndepth %d\nupsample %s\n", md->name, md->arch, md->base, md->depth,
            md->upsample);
    ADD("size %d\nepochs %d\nbatch %d\nwarmup %d\nlr %.17g\nwd %.17g\nschedule %s\naugment %d\nseed %d\nclasses",
        md->size, md->epochs, md->batch, md->warmup, md->lr, md->wd, md->schedule, md->augment, md->seed);
    for (int c = 0; c < cfg->n_classes; c++)
        ADD(" %s=%d", cfg->classes[c], cfg->labels ? cfg->labels[c] : c + 1);
    if (cfg->masks2)
        ADD("\nmasks2 %s", cfg->masks2);
    ADD("\nfold %d of %d\n", f + 1, sp->k);
    for (int w = 0; w < 3; w++) {
        ADD("%s", w == 0 ? "train" : w == 1 ? "val" : "test");
        for (size_t i = 0; i < sp->n; i++)
            if (sp->set[(size_t)f * sp->n + i] == w)
                ADD(" %s", sp->stem[i]);
        ADD("\n");
    }
#undef ADD
    if (o >= cap && cap)
        buf[cap - 1] = '\0';
}

dolor_status dolor_study_check_job_text(const char *jobdir, const char *want)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/job.txt", jobdir);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        dolor_outfile o;
        dolor_status s = dolor_mkdir_p(jobdir);
        if (!s)
            s = dolor_outfile_open(&o, path, 1);
        if (s)
            return s;
        fputs(want, o.fp);
        return dolor_outfile_commit(&o);
    }
    size_t cap = strlen(want) + 2;
    char *have = malloc(cap);
    if (!have) {
        fclose(fp);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    size_t n = fread(have, 1, cap - 1, fp);
    fclose(fp);
    have[n] = '\0';
    dolor_status s = DOLOR_OK;
    if (strcmp(have, want)) {
        const char *a = have, *b = want;
        while (*a && *a == *b) {
            a++;
            b++;
        }
        while (a > have && a[-1] != '\n') {
            a--;
            b--;
        }
        s = dolor_error(DOLOR_EINVAL, "%s was made with other settings (\"%.*s\", now \"%.*s\"); use a new output "
                        "folder, or remove that job folder to redo it", path, (int)strcspn(a, "\n"), a,
                        (int)strcspn(b, "\n"), b);
    }
    free(have);
    return s;
}

/* Train (or resume) one job, then test it; its done.txt line into done_line. */
static dolor_status run_job(const dolor_study_config *cfg, const dolor_study_model *md, const char *jobdir,
                            dolor_dataset *ds, const dolor_study_split *sp, int f, size_t *tr, size_t *va, size_t *te,
                            char *done_line, size_t done_cap)
{
    size_t ntr = dolor_study_job_cases(sp, f, DOLOR_SPLIT_TRAIN, tr), nva = dolor_study_job_cases(sp, f, DOLOR_SPLIT_VAL, va);
    size_t nte = dolor_study_job_cases(sp, f, DOLOR_SPLIT_TEST, te);
    dolor_status s = dolor_mkdir_p(jobdir);
    if (s)
        return s;
    dolor_outfile_clean_stale(jobdir);
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/test_eval", jobdir);
    dolor_outfile_clean_stale(sub);

    dolor_train_config tc;
    dolor_train_config_default(&tc);
    tc.out_dir = jobdir;
    tc.epochs = md->epochs;
    tc.batch_size = md->batch;
    tc.lr = md->lr;
    tc.weight_decay = md->wd;
    tc.warmup_epochs = md->warmup;
    tc.augment = md->augment;
    tc.seed = (uint64_t)md->seed;
    tc.quiet = cfg->quiet;
    s = dolor_lr_schedule_parse(md->schedule, &tc.schedule);
    if (s)
        return s;

    dolor_net *net = NULL;
    dolor_adamw *opt = NULL;
    dolor_model_meta meta;
    memset(&meta, 0, sizeof meta);
    double best = -1.0;
    char last[4096], bestp[4096];
    snprintf(last, sizeof last, "%s/last.safetensors", jobdir);
    snprintf(bestp, sizeof bestp, "%s/best.safetensors", jobdir);
    if (exists(last)) {
        s = dolor_checkpoint_load(last, &net, &opt, &meta);
        if (s)
            return dolor_error_prefix(s, "resuming %s", jobdir);
        char *want = NULL;
        s = dolor_study_model_arch_json(cfg, md, &want);
        dolor_net *fresh = NULL;
        char wantcfg[sizeof meta.arch_config], havecfg[sizeof meta.arch_config];
        if (!s)
            s = dolor_arch_build(md->arch, want, &fresh);
        if (!s)
            s = dolor_net_config_json(fresh, wantcfg, sizeof wantcfg);
        /* the loaded net's config as this version writes it (a key added since, at its default, is not a change) */
        if (!s)
            s = dolor_net_config_json(net, havecfg, sizeof havecfg);
        dolor_net_free(fresh);
        free(want);
        if (!s && (meta.height != md->size || strcmp(meta.arch_name, md->arch) || strcmp(havecfg, wantcfg)))
            s = dolor_error(DOLOR_EINVAL, "%s: holds a %s %s model of size %d but the config says %s %s, size %d (use a "
                            "new output folder when the models change)", last, meta.arch_name, havecfg,
                            meta.height, md->arch, wantcfg, md->size);
        if (s) {
            dolor_net_free(net);
            dolor_adamw_free(opt);
            return s;
        }
        dolor_model_meta bm;
        if (dolor_checkpoint_read_meta(bestp, &bm) == DOLOR_OK && !isnan(bm.val_dice))
            best = bm.val_dice;
        dolor_error_clear();
        fprintf(stderr, "study: %s resumes after epoch %d\n", jobdir, meta.epoch);
    } else {
        meta.num_classes = cfg->n_classes + 1;
        snprintf(meta.class_names[0], sizeof meta.class_names[0], "background");
        for (int c = 1; c < meta.num_classes; c++) {
            snprintf(meta.class_names[c], sizeof meta.class_names[c], "%s", cfg->classes[c - 1]);
            meta.label_values[c] = cfg->labels ? cfg->labels[c - 1] : c;
        }
        meta.height = meta.width = md->size;
        meta.seed = (uint64_t)md->seed;
        meta.val_dice = NAN;
        meta.in_channels = 1;
        char *js = NULL;
        s = dolor_study_model_arch_json(cfg, md, &js);
        if (!s)
            s = dolor_arch_build(md->arch, js, &net);
        free(js);
        if (!s)
            s = dolor_net_config_json(net, meta.arch_config, sizeof meta.arch_config);
        if (!s) {
            snprintf(meta.arch_name, sizeof meta.arch_name, "%s", md->arch);
            if (dolor_net_config(net))
                meta.arch = *dolor_net_config(net);
        }
        if (!s)
            s = dolor_net_init(net, (uint64_t)md->seed);
        if (s) {
            dolor_net_free(net);
            return s;
        }
    }
    snprintf(meta.train_json, sizeof meta.train_json,
             "{\"study\":\"%s\",\"model\":\"%s\",\"fold\":%d,\"epochs\":%d,\"batch\":%d,\"lr\":%.17g}", cfg->name,
             md->name, f + 1, md->epochs, md->batch, md->lr);
    if (meta.epoch < md->epochs)
        s = dolor_train_run(&tc, net, opt, ds, tr, ntr, va, nva, &meta, &best);
    dolor_net_free(net);
    dolor_adamw_free(opt);
    if (!s)
        s = test_job(cfg, jobdir, ds, te, nte);
    if (!s)
        snprintf(done_line, done_cap, "model %s fold %d: %zu train, %zu val, %zu test cases; best validation mean "
                 "Dice %.6f", md->name, f + 1, ntr, nva, nte, best);
    return s;
}

/* Append a job's test_eval/per_case.csv rows to the study's per_case.csv. */
static dolor_status collect(FILE *fp, const char *jobdir, const char *model, int fold, const dolor_study_split *sp)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/test_eval/per_case.csv", jobdir);
    dolor_csv *t = NULL;
    dolor_status s = dolor_csv_read(p, &t);
    if (s)
        return s;
    const char *cols[] = {"case", "class", "iou", "dice", "precision", "recall"};
    int ci[6];
    for (int i = 0; i < 6; i++)
        if ((ci[i] = dolor_csv_column(t, cols[i])) < 0) {
            s = dolor_error(DOLOR_EFORMAT, "%s: no column '%s'", p, cols[i]);
            dolor_csv_free(t);
            return s;
        }
    for (size_t r = 0; r < t->nrow; r++) {
        const char *cs = t->cells[r * t->ncol + ci[0]];
        const char *pat = "";
        for (size_t i = 0; cs && i < sp->n; i++)
            if (!strcmp(sp->stem[i], cs)) {
                pat = sp->patient[i];
                break;
            }
        fprintf(fp, "%s,%d,%s,%s,%s", model, fold, cs ? cs : "", pat,
                t->cells[r * t->ncol + ci[1]] ? t->cells[r * t->ncol + ci[1]] : "");
        for (int i = 2; i < 6; i++) {
            const char *v = t->cells[r * t->ncol + ci[i]];
            fprintf(fp, ",%s", v ? v : "NA");
        }
        fputc('\n', fp);
    }
    dolor_csv_free(t);
    return DOLOR_OK;
}

/* Representative cases as the sciatic-nerve paper shows them: for each model and foreground class, the test cases
 * at the 90th, 75th, 50th, 25th and 10th percentile of IoU (rank round(q (n - 1)) of the sorted defined values),
 * each as reference | prediction overlays side by side: OUTDIR/overlays/<model>-<class>-<k>.png, listed in
 * OUTDIR/overlays/index.csv (model,class,rank,case,fold,iou,file) for the report. */
static dolor_status overlay_grid(const dolor_study_config *cfg, dolor_dataset *ds, const char *out_dir)
{
    static const double qs[] = {0.9, 0.75, 0.5, 0.25, 0.1};
    static const char *const qn[] = {"best 10%", "Q3", "median", "Q1", "worst 10%"};
    char p[4096];
    snprintf(p, sizeof p, "%s/per_case.csv", out_dir);
    dolor_csv *t = NULL;
    dolor_status s = dolor_csv_read(p, &t);
    if (s)
        return s;
    int cm = dolor_csv_column(t, "model"), cf = dolor_csv_column(t, "fold"), cc = dolor_csv_column(t, "case"),
        ccl = dolor_csv_column(t, "class"), ci = dolor_csv_column(t, "iou");
    snprintf(p, sizeof p, "%s/overlays", out_dir);
    s = dolor_mkdir_p(p);
    if (s) {
        dolor_csv_free(t);
        return s;
    }
    dolor_outfile_clean_stale(p);
    snprintf(p, sizeof p, "%s/overlays/index.csv", out_dir);
    dolor_outfile idx;
    s = dolor_outfile_open(&idx, p, 1);
    if (s) {
        dolor_csv_free(t);
        return s;
    }
    fprintf(idx.fp, "model,class,rank,case,fold,iou,file\n");
    size_t *rows = malloc((t->nrow + 1) * sizeof *rows);
    if (!rows)
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
    int K = cfg->n_classes + 1;
    for (int m = 0; !s && m < cfg->n_models; m++)
        for (int c = 1; !s && c < K; c++) {
            size_t n = 0;
            for (size_t r = 0; r < t->nrow; r++) {
                const char *mv = t->cells[r * t->ncol + cm], *cv = t->cells[r * t->ncol + ccl];
                const char *iv = t->cells[r * t->ncol + ci];
                if (mv && cv && iv && !strcmp(mv, cfg->models[m].name) && !strcmp(cv, cfg->classes[c - 1]) &&
                    strcmp(iv, "NA"))
                    rows[n++] = r;
            }
            /* sort by IoU (insertion sort: test sets are small), ties by case name */
            for (size_t a = 1; a < n; a++)
                for (size_t b = a; b > 0; b--) {
                    double x = atof(t->cells[rows[b - 1] * t->ncol + ci]), y = atof(t->cells[rows[b] * t->ncol + ci]);
                    if (x < y || (x == y && strcmp(t->cells[rows[b - 1] * t->ncol + cc],
                                                   t->cells[rows[b] * t->ncol + cc]) <= 0))
                        break;
                    size_t tmp = rows[b];
                    rows[b] = rows[b - 1];
                    rows[b - 1] = tmp;
                }
            for (int q = 0; !s && n && q < 5; q++) {
                size_t r = rows[(size_t)lround(qs[q] * (double)(n - 1))];
                const char *stem = t->cells[r * t->ncol + cc], *fold = t->cells[r * t->ncol + cf];
                size_t di = (size_t)-1;
                for (size_t i = 0; i < dolor_dataset_count(ds); i++)
                    if (!strcmp(dolor_dataset_stem(ds, i), stem)) {
                        di = i;
                        break;
                    }
                if (di == (size_t)-1)
                    continue;
                dolor_image *img = NULL, *pred = NULL, *truth = NULL, *ov[2] = {NULL, NULL}, *both = NULL;
                s = dolor_image_read(dolor_dataset_image_path(ds, di), &img);
                if (!s) {
                    const char *ip = dolor_dataset_image_path(ds, di);
                    size_t L = strlen(ip);
                    int nii = (L > 4 && !strcmp(ip + L - 4, ".nii")) || (L > 7 && !strcmp(ip + L - 7, ".nii.gz"));
                    snprintf(p, sizeof p, "%s/jobs/%s/fold%s/test_pred/%s.%s", out_dir, cfg->models[m].name, fold,
                             stem, nii ? "nii.gz" : "png");
                    s = dolor_image_read(p, &pred);
                }
                if (!s)
                    s = dolor_image_create2d(&truth, DOLOR_U8, 1, img->size[0], img->size[1]);
                if (!s)
                    s = dolor_dataset_mask_orig(ds, di, truth->data);
                if (!s && dolor_image_nvox(pred) != dolor_image_nvox(truth))
                    s = dolor_error(DOLOR_ESHAPE, "%s: size differs from its image", p);
                if (!s) {
                    /* label values -> class indices */
                    uint8_t *pc = truth ? malloc(dolor_image_nvox(pred)) : NULL;
                    dolor_image *pcls = NULL;
                    if (!pc)
                        s = dolor_error(DOLOR_ENOMEM, "out of memory");
                    for (size_t v = 0; !s && v < dolor_image_nvox(pred); v++) {
                        int lv = (int)dolor_image_get(pred, v), k = 0;
                        for (int cc2 = 1; cc2 < K; cc2++)
                            if (lv == (cfg->labels ? cfg->labels[cc2 - 1] : cc2))
                                k = cc2;
                        pc[v] = (uint8_t)k;
                    }
                    if (!s)
                        s = dolor_image_create2d(&pcls, DOLOR_U8, 1, img->size[0], img->size[1]);
                    if (!s) {
                        memcpy(pcls->data, pc, dolor_image_nvox(pred));
                        s = dolor_overlay_make(img, truth, K, NULL, &ov[0]);
                    }
                    if (!s)
                        s = dolor_overlay_make(img, pcls, K, NULL, &ov[1]);
                    free(pc);
                    dolor_image_free(pcls);
                }
                int64_t w = img ? img->size[0] : 0, h = img ? img->size[1] : 0, gap = 4;
                if (!s)
                    s = dolor_image_create2d(&both, DOLOR_U8, 3, 2 * w + gap, h);
                if (!s) {
                    uint8_t *d = both->data;
                    memset(d, 255, (size_t)(2 * w + gap) * (size_t)h * 3);
                    for (int64_t y = 0; y < h; y++)
                        for (int side = 0; side < 2; side++)
                            memcpy(d + ((size_t)y * (size_t)(2 * w + gap) + (size_t)(side * (w + gap))) * 3,
                                   (uint8_t *)ov[side]->data + (size_t)y * (size_t)w * 3, (size_t)w * 3);
                    snprintf(p, sizeof p, "%s/overlays/%s-%s-%d.png", out_dir, cfg->models[m].name,
                             cfg->classes[c - 1], q + 1);
                    s = dolor_image_write(p, both);
                }
                if (!s)
                    fprintf(idx.fp, "%s,%s,%s,%s,%s,%s,%s-%s-%d.png\n", cfg->models[m].name, cfg->classes[c - 1],
                            qn[q], stem, fold, t->cells[r * t->ncol + ci], cfg->models[m].name,
                            cfg->classes[c - 1], q + 1);
                dolor_image_free(img);
                dolor_image_free(pred);
                dolor_image_free(truth);
                dolor_image_free(ov[0]);
                dolor_image_free(ov[1]);
                dolor_image_free(both);
            }
        }
    free(rows);
    dolor_csv_free(t);
    if (s) {
        dolor_outfile_abort(&idx);
        return s;
    }
    return dolor_outfile_commit(&idx);
}

/* The segmentation study's jobs for dolor_study_run_jobs; ds is reopened when a model's input size differs. */
typedef struct seg_jobs {
    const dolor_study_config *cfg;
    const dolor_study_split *sp;
    dolor_dataset *ds;
    int ds_size;
    size_t *tr, *va, *te;
} seg_jobs;

static char *seg_job_text(void *ctx, int m, int f)
{
    const seg_jobs *j = ctx;
    size_t cap = 64 + 64 * (j->sp->n + 16) + 4096;
    char *jt = malloc(cap);
    if (jt)
        job_text(j->cfg, &j->cfg->models[m], j->sp, f, jt, cap);
    return jt;
}

static dolor_status seg_job_run(void *ctx, int m, int f, const char *jobdir, char *done_line, size_t done_cap)
{
    seg_jobs *j = ctx;
    const dolor_study_model *md = &j->cfg->models[m];
    if (md->size != j->ds_size) {
        dolor_dataset_free(j->ds);
        j->ds = NULL;
        dolor_status s = open_dataset(j->cfg, md->size, &j->ds);
        if (s)
            return s;
        j->ds_size = md->size;
    }
    return run_job(j->cfg, md, jobdir, j->ds, j->sp, f, j->tr, j->va, j->te, done_line, done_cap);
}

dolor_status dolor_study_run(const dolor_study_config *cfg, const char *out_dir)
{
    if (cfg->classification)
        return dolor_study_run_classification(cfg, out_dir);
    if (cfg->threads)
        omp_set_num_threads(cfg->threads);
    dolor_study_ranks rk; /* under mpirun: job j runs on rank j % size; rank 0 writes the study's files */
    dolor_study_ranks_get(&rk);
    dolor_status s = dolor_mkdir_p(out_dir);
    if (s)
        return s;
    if (rk.rank == 0)
        dolor_outfile_clean_stale(out_dir);
    dolor_dataset *ds = NULL;
    dolor_study_split *sp = NULL;
    char **stems = NULL;
    size_t *tr = NULL, *va = NULL, *te = NULL;
    int ds_size = 0;
    s = open_dataset(cfg, cfg->models[0].size, &ds);
    if (s)
        return s;
    ds_size = cfg->models[0].size;
    size_t n = dolor_dataset_count(ds);
    stems = calloc(n + 1, sizeof *stems);
    tr = malloc((n + 1) * sizeof *tr);
    va = malloc((n + 1) * sizeof *va);
    te = malloc((n + 1) * sizeof *te);
    if (!stems || !tr || !va || !te) {
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        stems[i] = (char *)dolor_dataset_stem(ds, i);
    s = dolor_study_split_make(cfg, stems, n, &sp);
    if (s)
        goto done;
    char path[4096];
    snprintf(path, sizeof path, "%s/splits.csv", out_dir);
    if (rk.rank == 0)
        s = dolor_study_split_write(sp, path);
    if (s)
        goto done;
    /* every foreground class must occur in the masks of every test fold, or its per-fold statistics are empty */
    {
        int K = cfg->n_classes + 1;
        double frac[DOLOR_MAX_CLASSES];
        for (int f = 0; !s && f < sp->k; f++) {
            size_t nte = dolor_study_job_cases(sp, f, DOLOR_SPLIT_TEST, te);
            dolor_dataset_class_fractions(ds, te, nte, frac);
            for (int c = 1; c < K; c++)
                if (frac[c] == 0) {
                    s = dolor_error(DOLOR_EINVAL, "dataset.classes: class '%s' (label %d) is absent from every mask "
                                    "of test %s %d (%zu cases)", cfg->classes[c - 1],
                                    cfg->labels ? cfg->labels[c - 1] : c, sp->k > 1 ? "fold" : "set", f + 1, nte);
                    break;
                }
        }
        if (s)
            goto done;
    }
    for (size_t i = 0; cfg->masks2 && i < n; i++) {
        mask2_path(cfg, ds, i, path, sizeof path);
        if (!exists(path)) {
            s = dolor_error(DOLOR_ENOTFOUND, "dataset.masks2: %s: no second annotation of case '%s'", path,
                            dolor_dataset_stem(ds, i));
            goto done;
        }
    }
    seg_jobs sj = {cfg, sp, ds, ds_size, tr, va, te};
    static const dolor_study_job_ops ops = {seg_job_text, seg_job_run};
    s = dolor_study_run_jobs(cfg, out_dir, sp->k, &ops, &sj);
    ds = sj.ds;
    if (s || rk.rank != 0)
        goto done;
    /* per-case results of every job, then the tables */
    snprintf(path, sizeof path, "%s/per_case.csv", out_dir);
    {
        dolor_outfile o;
        s = dolor_outfile_open(&o, path, 1);
        if (s)
            goto done;
        fprintf(o.fp, "model,fold,case,patient,class,iou,dice,precision,recall\n");
        for (int m = 0; !s && m < cfg->n_models; m++)
            for (int f = 0; !s && f < sp->k; f++) {
                char jobdir[4096];
                snprintf(jobdir, sizeof jobdir, "%s/jobs/%s/fold%d", out_dir, cfg->models[m].name, f + 1);
                s = collect(o.fp, jobdir, cfg->models[m].name, f + 1, sp);
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
        char desc[1024];
        if (cfg->split == DOLOR_STUDY_KFOLD)
            snprintf(desc, sizeof desc,
                     "Cases were split by patient (no patient in more than one fold) into %d folds%s, seeded (seed "
                     "%d); in each fold a share of %.2g of the training patients was held out for validation, and the "
                     "checkpoint with the best mean foreground Dice on the validation cases was evaluated on the "
                     "test fold. The split is listed in splits.csv.",
                     cfg->folds, cfg->stratum_column ? " stratified by the stratum column" : "", cfg->split_seed,
                     cfg->val_share);
        else
            snprintf(desc, sizeof desc,
                     "Cases were split by patient (no patient in more than one set) into training, validation and "
                     "test sets in the ratio %g:%g:%g%s, seeded (seed %d); the checkpoint with the best mean "
                     "foreground Dice on the validation cases was evaluated on the test set. The split is listed in "
                     "splits.csv.",
                     cfg->ratios[0], cfg->ratios[1], cfg->ratios[2],
                     cfg->stratum_column ? ", stratified by the stratum column" : "", cfg->split_seed);
        dolor_study_table_opts to = {cfg->population_sd, cfg->include_background, cfg->path, desc, cfg->conf,
                                     cfg->ci_method, cfg->threshold};
        s = dolor_study_tables(path, &to, out_dir);
    }
    if (!s && cfg->masks2) {
        /* areas of every job's test cases -> areas.csv -> icc.csv */
        snprintf(path, sizeof path, "%s/areas.csv", out_dir);
        dolor_outfile o;
        s = dolor_outfile_open(&o, path, 1);
        if (!s)
            fprintf(o.fp, "model,fold,case,class,area_ref,area_ann2,area_model\n");
        for (int m = 0; !s && m < cfg->n_models; m++)
            for (int f = 0; !s && f < sp->k; f++) {
                char p2[4200];
                snprintf(p2, sizeof p2, "%s/jobs/%s/fold%d/test_eval/areas.csv", out_dir, cfg->models[m].name, f + 1);
                dolor_csv *t = NULL;
                s = dolor_csv_read(p2, &t);
                for (size_t r = 0; !s && r < t->nrow; r++) {
                    fprintf(o.fp, "%s,%d", cfg->models[m].name, f + 1);
                    for (int c = 0; c < t->ncol; c++) {
                        fputc(',', o.fp);
                        dolor_csv_write_field(o.fp, t->cells[r * t->ncol + c] ? t->cells[r * t->ncol + c] : "");
                    }
                    fputc('\n', o.fp);
                }
                dolor_csv_free(t);
            }
        if (s) {
            dolor_outfile_abort(&o);
            goto done;
        }
        s = dolor_outfile_commit(&o);
        if (!s)
            s = dolor_study_icc_table(path, cfg->conf, out_dir);
        if (!s) {
            /* the ICC sentence joins methods.md */
            snprintf(path, sizeof path, "%s/methods.md", out_dir);
            FILE *in = fopen(path, "rb");
            char *old = in ? malloc(1 << 16) : NULL;
            size_t len = old ? fread(old, 1, (1 << 16) - 1, in) : 0;
            if (in)
                fclose(in);
            dolor_outfile mo;
            s = old ? dolor_outfile_open(&mo, path, 1) : dolor_error(DOLOR_EIO, "%s: cannot read it back", path);
            if (!s) {
                FILE *fp = mo.fp;
                fwrite(old, 1, len, fp);
                fprintf(fp, "\nAgreement of the segmented area (pixels per case and class) between the two "
                            "annotators, and between each annotator and the model, is reported as ICC(2,1) "
                            "(two-way random effects, absolute agreement, single rater; Shrout and Fleiss 1979) with "
                            "its %g%% confidence interval (McGraw and Wong 1996; R psych::ICC, row ICC2).\n",
                        100 * (cfg->conf > 0 ? cfg->conf : 0.95));
                s = dolor_outfile_commit(&mo);
            }
            free(old);
        }
    }
    if (!s)
        s = overlay_grid(cfg, ds, out_dir);
    if (!s)
        s = dolor_study_report(out_dir, cfg->path, cfg->name);
done:
    dolor_dataset_free(ds);
    dolor_study_split_free(sp);
    free(stems);
    free(tr);
    free(va);
    free(te);
    return s;
}
