/* study module: config schema errors (paths in messages), patient-level splits, and the study tables against
 * R (tools/gen_study_stats_fixture.R -> tests/fixtures/study/). */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "test_util.h"
#include "dolor/stats.h"
#include "dolor/study.h"

#include <stdarg.h>
#include <unistd.h>

static char tmpdir[256];

static const char *write_file(const char *name, const char *fmt, ...)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *fp = fopen(path, "w");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(fp, fmt, ap);
    va_end(ap);
    fclose(fp);
    return path;
}

/* A valid config with one section replaced: the text after the models list. */
#define BASE_DATASET "dataset:\n  images: imgs\n  masks: msks\n  classes: [nerve, vessel]\n  labels: [1, 2]\n"
#define BASE_SPLIT "split:\n  method: kfold\n  folds: 5\n"
#define BASE_MODELS "models:\n  - name: a\n    size: 64\n  - name: b\n    epochs: 3\n"

static dolor_status load_text(const char *text, dolor_study_config **c)
{
    const char *p = write_file("study.yaml", "%s", text);
    return dolor_study_config_load(p, c);
}

static void test_config(void)
{
    dolor_study_config *c = NULL;
    CHECK_OK(load_text("study: {name: s1}\n" BASE_DATASET BASE_SPLIT BASE_MODELS, &c));
    if (c) {
        CHECK(c->folds == 5 && c->split == DOLOR_STUDY_KFOLD);
        CHECK_NEAR(c->val_share, 0.2, 0);
        CHECK(c->split_seed == 42);
        CHECK(c->n_models == 2 && !strcmp(c->models[1].name, "b"));
        CHECK(c->models[0].size == 64 && c->models[0].epochs == 50 && c->models[1].epochs == 3);
        CHECK(c->models[1].base == 16 && c->models[1].depth == 4 && !strcmp(c->models[1].schedule, "cosine"));
        CHECK(c->models[1].augment == 1);
        CHECK_NEAR(c->models[1].lr, 1e-3, 0);
        CHECK(c->n_classes == 2 && !strcmp(c->classes[1], "vessel") && c->labels[1] == 2);
        CHECK(c->population_sd == 0 && c->include_background == 0);
        CHECK(!strcmp(c->task, "segmentation"));
        char want[512];
        snprintf(want, sizeof want, "%s/imgs", tmpdir);
        CHECKF(!strcmp(c->images, want), "images resolved to %s", c->images);
        CHECK(!strcmp(c->stem_column, "case") && !strcmp(c->patient_column, "patient") && !c->stratum_column);
    }
    dolor_study_config_free(c);
    c = NULL;
    CHECK_OK(load_text("study: {name: s1}\n" BASE_DATASET
                       "split: {method: holdout, ratios: [6, 2, 2]}\n" BASE_MODELS "stats: {sd: population}\n",
                       &c));
    if (c) {
        CHECK(c->split == DOLOR_STUDY_HOLDOUT && c->n_ratios == 3 && c->ratios[0] == 6);
        CHECK(c->population_sd == 1);
    }
    dolor_study_config_free(c);

    struct { const char *text; dolor_status st; const char *needle; } bad[] = {
        {"study: {name: s1}\n" BASE_DATASET "split:\n  folds: five\n" BASE_MODELS, DOLOR_EINVAL,
         "study.yaml: split.folds: expected an integer, got \"five\""},
        {"study: {name: s1}\n" BASE_DATASET "split:\n  folds: 5\n  foldz: 3\n" BASE_MODELS, DOLOR_EINVAL,
         "split.foldz: unknown key"},
        {"study: {name: s1}\n" BASE_DATASET BASE_SPLIT BASE_MODELS "extra: 1\n", DOLOR_EINVAL, ": extra: unknown key"},
        {"study: {name: s1}\ndataset:\n  masks: m\n  classes: [nerve]\n" BASE_SPLIT BASE_MODELS, DOLOR_EINVAL,
         "dataset.images: missing"},
        {"study: {name: s1}\n" BASE_DATASET BASE_SPLIT, DOLOR_EINVAL, "models: missing"},
        {"study: {name: s1}\n" BASE_SPLIT BASE_MODELS, DOLOR_EINVAL, "dataset: missing"},
        {"study: {name: s1}\n" BASE_DATASET BASE_SPLIT "models:\n  - name: a\n  - name: b\n    epochs: ten\n",
         DOLOR_EINVAL, "models[1].epochs: expected an integer, got \"ten\""},
        {"study: {name: s1}\n" BASE_DATASET BASE_SPLIT "models:\n  - name: a\n  - epochs: 2\n", DOLOR_EINVAL,
         "models[1].name: missing"},
        {"study: {name: s1}\n" BASE_DATASET BASE_SPLIT "models:\n  - name: a\n    lr: fast\n", DOLOR_EINVAL,
         "models[0].lr: expected a number, got \"fast\""},
        {"study: {name: s1}\n" BASE_DATASET BASE_SPLIT "models:\n  - name: a\n    augment: maybe\n", DOLOR_EINVAL,
         "models[0].augment: expected true or false"},
        {"study: {name: s1}\n" BASE_DATASET BASE_SPLIT "models:\n  - name: a\n    depthh: 3\n", DOLOR_EINVAL,
         "models[0].depthh: unknown key"},
        {"study: {name: s1}\ndataset:\n  images: i\n  masks: m\n  classes: nerve\n" BASE_SPLIT BASE_MODELS,
         DOLOR_EINVAL, "dataset.classes: expected a list of strings, got \"nerve\""},
        {"study: {name: s1}\n" BASE_DATASET "split: {method: loo}\n" BASE_MODELS, DOLOR_EINVAL,
         "split.method: expected one of kfold|holdout, got \"loo\""},
        {"study: {name: s1}\n" BASE_DATASET "split: {folds: 1}\n" BASE_MODELS, DOLOR_EINVAL,
         "split.folds: 1 is out of range"},
        {"study: {name: s1}\n" BASE_DATASET "split: {folds: \"5\"}\n" BASE_MODELS, DOLOR_EINVAL,
         "split.folds: expected an integer, got \"5\""},
        {"study: {name: s1}\n" BASE_DATASET "split: {method: holdout}\n" BASE_MODELS, DOLOR_EINVAL,
         "split.ratios: missing (required for split.method holdout)"},
        {"study: {name: s1}\n" BASE_DATASET "split: {method: holdout, ratios: [6, 2]}\n" BASE_MODELS, DOLOR_EINVAL,
         "split.ratios: 2 items"},
        {"study: {name: s1}\n" BASE_DATASET "split: {method: holdout, ratios: [6, x, 2]}\n" BASE_MODELS, DOLOR_EINVAL,
         "split.ratios[1]: expected a number"},
        {"study: {name: s1}\ndataset:\n  images: i\n  masks: m\n  classes: [a, b]\n  labels: [1]\n" BASE_SPLIT
         BASE_MODELS, DOLOR_EINVAL, "dataset.labels: 1 values but dataset.classes has 2"},
        {"study: {name: s1}\n" BASE_DATASET BASE_SPLIT "models:\n  - name: a\n  - name: a\n", DOLOR_EINVAL,
         "models[1].name: \"a\" is also models[0].name"},
        {"study: {name: s1}\n" BASE_DATASET BASE_SPLIT "models:\n  - {name: a, size: 100, depth: 4}\n", DOLOR_EINVAL,
         "models[0].size: 100 is not divisible by 2^depth = 16"},
        {"study: {name: s1, task: classification}\n" BASE_DATASET BASE_SPLIT BASE_MODELS, DOLOR_EINVAL,
         "dataset.csv: missing (required for classification"},
        {"study: {name: s1, task: classification}\ndataset: {csv: c.csv, images: imgs}\n" BASE_SPLIT
         "models:\n  - {name: rf, arch: forest}\n", DOLOR_EINVAL,
         "dataset: images is for segmentation studies"},
        {"study: {name: s1, task: classification}\ndataset: {csv: c.csv}\n" BASE_SPLIT BASE_MODELS, DOLOR_EINVAL,
         "models[0].arch: unet is not a model for a classification study"},
        {"study: {name: s1, task: classification}\ndataset: {csv: c.csv, classes: [a, b, c]}\n" BASE_SPLIT
         "models:\n  - {name: rf, arch: forest}\n", DOLOR_EINVAL, "dataset.classes: 3 names; a classification study "
         "is binary"},
        {"study: {name: s1, task: classification}\ndataset: {csv: c.csv}\n" BASE_SPLIT
         "models:\n  - {name: r, arch: resnet, depth: 12, shape: [32, 32]}\n", DOLOR_EINVAL,
         "models[0].depth: 12: a ResNet has depth 10, 18, 34, 50 or 101"},
        {"study: {name: s1, task: classification}\ndataset: {csv: c.csv}\n" BASE_SPLIT
         "models:\n  - {name: r, arch: resnet, depth: 10}\n", DOLOR_EINVAL,
         "models[0].shape: missing (required for arch resnet"},
        {"study: {name: s1, task: classification}\ndataset: {csv: c.csv}\n" BASE_SPLIT
         "models:\n  - {name: rf, arch: forest, levels: [16, 1]}\n", DOLOR_EINVAL,
         "models[0].levels[1]: 1 is out of range [2, 4096]"},
        {"study: {name: s1}\n" BASE_DATASET BASE_SPLIT "models:\n  - {name: rf, arch: forest}\n", DOLOR_EINVAL,
         "models[0].arch: forest is not a model for a segmentation study (unet, resnet_unet or fastseg)"},
        {"study: {name: s1, task: classification}\ndataset: {csv: c.csv}\n" BASE_SPLIT
         "models:\n  - {name: rf, arch: forest, epochs: 5}\n", DOLOR_EINVAL,
         "models[0].epochs: not used by arch forest"},
        {"study: {name: s1, task: classification}\ndataset: {csv: c.csv}\n" BASE_SPLIT
         "models:\n  - {name: r, arch: resnet, shape: [32, 32], size: 64}\n", DOLOR_EINVAL,
         "models[0].size: not used by arch resnet"},
        {"study: {name: s1}\n" BASE_DATASET BASE_SPLIT "models:\n  - {name: u, trees: 10}\n", DOLOR_EINVAL,
         "models[0].trees: not used by arch unet"},
        {"study: {name: s1}\n" BASE_DATASET BASE_SPLIT "models:\n  - {name: u, schedule: step}\n", DOLOR_EINVAL,
         "models[0].schedule: step is for arch resnet"},
        {"study: {name: s1}\n" BASE_DATASET BASE_SPLIT "models:\n  - {name: u, depth: 10}\n", DOLOR_EINVAL,
         "models[0].depth: 10 is out of range [1, 7] for a U-Net"},
        {"study: {name: s1}\n" BASE_DATASET BASE_SPLIT "stats: {ci: agresti}\n" BASE_MODELS, DOLOR_EINVAL,
         "stats.ci: expected one of clopper-pearson|wilson|wilson-cc"},
        {"study: {name: s1}\n" BASE_DATASET BASE_SPLIT "models: {name: a}\n", DOLOR_EINVAL,
         "models: expected a list of mappings"},
        {"study: [1, 2\n", DOLOR_EFORMAT, "not valid YAML"},
        {"", DOLOR_EINVAL, "empty file"},
        {"study: {name: s1}\ndataset:\n  images:\n  masks: m\n  classes: [a]\n" BASE_SPLIT BASE_MODELS, DOLOR_EINVAL,
         "dataset.images: no value (expected a string"},
        {"study: {name: s1}\ndataset:\n  images: \"\"\n  masks: m\n  classes: [a]\n" BASE_SPLIT BASE_MODELS,
         DOLOR_EINVAL, "dataset.images: is empty"},
        {"study: {name: s1}\n" BASE_DATASET "split: {folds: ~}\n" BASE_MODELS, DOLOR_EINVAL,
         "split.folds: no value (expected an integer"},
        {"study: {name: s1}\n" BASE_DATASET BASE_SPLIT BASE_MODELS "split: {folds: 3}\n", DOLOR_EINVAL,
         "split: given twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        c = NULL;
        dolor_status s = load_text(bad[i].text, &c);
        CHECKF(s == bad[i].st && strstr(dolor_errmsg(), bad[i].needle) && !c, "case %zu: %s '%s' (want %s '%s')", i,
               dolor_status_name(s), dolor_errmsg(), dolor_status_name(bad[i].st), bad[i].needle);
        dolor_study_config_free(c);
    }
    c = NULL;
    char nf[512];
    snprintf(nf, sizeof nf, "%s/none.yaml", tmpdir);
    CHECK_ERR(dolor_study_config_load(nf, &c), DOLOR_ENOTFOUND, "none.yaml");
}

/* ---- splits ---- */
static char *stems[64];
static const size_t NS = 40; /* 20 patients x 2 images; strata A/B alternate by patient */

static dolor_study_config *split_cfg(const char *split_yaml, const char *csv_body)
{
    write_file("patients.csv", "%s", csv_body);
    char text[2048];
    snprintf(text, sizeof text,
             "study: {name: s}\ndataset:\n  images: i\n  masks: m\n  patients: patients.csv\n  stratum_column: site\n"
             "  classes: [nerve]\n%s" BASE_MODELS,
             split_yaml);
    dolor_study_config *c = NULL;
    dolor_status s = load_text(text, &c);
    CHECKF(s == DOLOR_OK, "%s", dolor_errmsg());
    return c;
}

static char csv_std[4096];

/* patients.csv for the stems: empty_row (0-based data row, -1 none) gets an empty patient; drop_last leaves the
 * last image out; c_last gives the last patient the stratum C. */
static void build_csv(char *buf, int empty_row, int drop_last, int c_last)
{
    char *p = buf;
    p += sprintf(p, "case,patient,site\n");
    for (size_t i = 0; i < NS - (drop_last ? 1 : 0); i++) {
        const char *site = (c_last && i / 2 == NS / 2 - 1) ? "C" : (i / 2) % 2 ? "B" : "A";
        if ((int)i == empty_row)
            p += sprintf(p, "%s.png,,%s\n", stems[i], site);
        else
            p += sprintf(p, "%s.png,P%02zu,%s\n", stems[i], i / 2, site);
    }
}

static void make_csv(void)
{
    build_csv(csv_std, -1, 0, 0);
}

static int patient_index(const dolor_study_split *sp, size_t i)
{
    return atoi(sp->patient[i] + 1);
}

static void test_split(void)
{
    for (size_t i = 0; i < NS; i++) {
        stems[i] = malloc(16);
        snprintf(stems[i], 16, "img%03zu", i);
    }
    make_csv();
    dolor_study_config *c = split_cfg("split: {folds: 5, val_share: 0.25, seed: 11}\n", csv_std);
    dolor_study_split *sp = NULL, *sp2 = NULL, *sp3 = NULL;
    if (c)
        CHECK_OK(dolor_study_split_make(c, stems, NS, &sp));
    if (sp) {
        CHECK(sp->k == 5 && sp->n == NS);
        int test_count[64] = {0};
        for (int f = 0; f < sp->k; f++) {
            int set_of_patient[20], nA = 0, nB = 0, nval = 0, ntest = 0;
            for (int p = 0; p < 20; p++)
                set_of_patient[p] = -1;
            int mixed = 0;
            for (size_t i = 0; i < NS; i++) {
                int p = patient_index(sp, i), st = sp->set[(size_t)f * NS + i];
                if (set_of_patient[p] >= 0 && set_of_patient[p] != st)
                    mixed = 1;
                set_of_patient[p] = st;
                if (st == DOLOR_SPLIT_TEST) {
                    test_count[i]++;
                    ntest++;
                    if (i % 2 == 0) {
                        if (sp->stratum[i][0] == 'A')
                            nA++;
                        else
                            nB++;
                    }
                }
                if (st == DOLOR_SPLIT_VAL)
                    nval++;
            }
            CHECKF(!mixed, "fold %d: a patient in two sets", f + 1);
            CHECKF(ntest == 8, "fold %d: %d test cases (want 8: 4 patients)", f + 1, ntest);
            CHECKF(nA == 2 && nB == 2, "fold %d: stratified: %d A and %d B test patients (want 2 and 2)", f + 1, nA,
                   nB);
            CHECKF(nval == 8, "fold %d: %d validation cases (want 8: 16 patients / round(1/0.25) = 4)", f + 1, nval);
        }
        int once = 1;
        for (size_t i = 0; i < NS; i++)
            once &= test_count[i] == 1;
        CHECKF(once, "every case in exactly one test fold");
        /* seeded */
        CHECK_OK(dolor_study_split_make(c, stems, NS, &sp2));
        CHECK(sp2 && !memcmp(sp->set, sp2->set, (size_t)sp->k * NS));
        c->split_seed = 12;
        CHECK_OK(dolor_study_split_make(c, stems, NS, &sp3));
        CHECK(sp3 && memcmp(sp->set, sp3->set, (size_t)sp->k * NS));
        char out[512];
        snprintf(out, sizeof out, "%s/splits.csv", tmpdir);
        CHECK_OK(dolor_study_split_write(sp, out));
        dolor_csv *t = NULL;
        CHECK_OK(dolor_csv_read(out, &t));
        if (t) {
            CHECK(t->nrow == 5 * NS && t->ncol == 5 && !strcmp(t->names[4], "set"));
            CHECK(!strcmp(t->cells[0], "1") && !strcmp(t->cells[1], "img000") && !strcmp(t->cells[2], "P00"));
        }
        dolor_csv_free(t);
    }
    dolor_study_split_free(sp);
    dolor_study_split_free(sp2);
    dolor_study_split_free(sp3);
    dolor_study_config_free(c);
    sp = NULL;

    /* hold-out 6:2:2 = 3:1:1 of 20 patients: 12 / 4 / 4 patients */
    c = split_cfg("split: {method: holdout, ratios: [6, 2, 2], seed: 3}\n", csv_std);
    if (c)
        CHECK_OK(dolor_study_split_make(c, stems, NS, &sp));
    if (sp) {
        int cnt[3] = {0, 0, 0};
        for (size_t i = 0; i < NS; i++)
            cnt[sp->set[i]]++;
        CHECKF(sp->k == 1 && cnt[0] == 24 && cnt[1] == 8 && cnt[2] == 8, "hold-out %d/%d/%d cases", cnt[0], cnt[1],
               cnt[2]);
    }
    dolor_study_split_free(sp);
    dolor_study_config_free(c);
    sp = NULL;

    /* errors naming the row or key */
    char csv[4096];
    build_csv(csv, 5, 0, 0); /* file line 7: img005 */
    c = split_cfg("split: {folds: 5}\n", csv);
    if (c)
        CHECK_ERR(dolor_study_split_make(c, stems, NS, &sp), DOLOR_EINVAL, "patients.csv: line 7: patient is empty");
    dolor_study_config_free(c);

    build_csv(csv, -1, 1, 0);
    c = split_cfg("split: {folds: 5}\n", csv);
    if (c)
        CHECK_ERR(dolor_study_split_make(c, stems, NS, &sp), DOLOR_EINVAL, "case 'img039'");
    dolor_study_config_free(c);

    c = split_cfg("split: {folds: 25}\n", csv_std);
    if (c)
        CHECK_ERR(dolor_study_split_make(c, stems, NS, &sp), DOLOR_EINVAL,
                  "split.folds: 25 folds but only 20 patients");
    dolor_study_config_free(c);

    build_csv(csv, -1, 0, 1);
    c = split_cfg("split: {folds: 5}\n", csv);
    if (c)
        CHECK_ERR(dolor_study_split_make(c, stems, NS, &sp), DOLOR_EINVAL, "site 'C' is absent from test fold");
    dolor_study_config_free(c);

    c = split_cfg("split: {folds: 5}\n", "case,pid,site\nimg000,P1,A\n");
    if (c)
        CHECK_ERR(dolor_study_split_make(c, stems, NS, &sp), DOLOR_ENOTFOUND, "no column 'patient'");
    dolor_study_config_free(c);
    for (size_t i = 0; i < NS; i++)
        free(stems[i]);
}

/* ---- tables against R ---- */
typedef struct { dolor_csv *t; } table;

static double lookup(dolor_csv *t, const char *const *keys, const int *cols, int nk, const char *valcol)
{
    int vc = dolor_csv_column(t, valcol);
    for (size_t r = 0; t && vc >= 0 && r < t->nrow; r++) {
        int ok = 1;
        for (int k = 0; k < nk && ok; k++)
            ok = t->cells[r * t->ncol + cols[k]] && !strcmp(t->cells[r * t->ncol + cols[k]], keys[k]);
        if (ok)
            return t->cells[r * t->ncol + vc] ? strtod(t->cells[r * t->ncol + vc], NULL) : NAN;
    }
    return NAN;
}

static int close_rel(double a, double b)
{
    return fabs(a - b) <= 1e-8 * fabs(b) + 1e-13;
}

static void test_tables(void)
{
    char per_case[512], ref_path[512], dir[512], p[600];
    snprintf(per_case, sizeof per_case, "%s/study/per_case_small.csv", DOLOR_TEST_FIXTURES);
    snprintf(ref_path, sizeof ref_path, "%s/study/r_reference.csv", DOLOR_TEST_FIXTURES);
    for (int pop = 0; pop < 2; pop++) {
        snprintf(dir, sizeof dir, "%s/tables%d", tmpdir, pop);
        dolor_study_table_opts o = {pop, 0, "study.yaml", NULL};
        CHECK_OK(dolor_study_tables(per_case, &o, dir));
        dolor_csv *ref = NULL, *fold = NULL, *cls = NULL, *an = NULL, *bo = NULL;
        CHECK_OK(dolor_csv_read(ref_path, &ref));
        snprintf(p, sizeof p, "%s/per_fold.csv", dir);
        CHECK_OK(dolor_csv_read(p, &fold));
        snprintf(p, sizeof p, "%s/class_summary.csv", dir);
        CHECK_OK(dolor_csv_read(p, &cls));
        snprintf(p, sizeof p, "%s/anova.csv", dir);
        CHECK_OK(dolor_csv_read(p, &an));
        snprintf(p, sizeof p, "%s/bonferroni.csv", dir);
        CHECK_OK(dolor_csv_read(p, &bo));
        snprintf(p, sizeof p, "%s/methods.md", dir);
        CHECK(access(p, R_OK) == 0);
        if (!ref || !fold || !cls || !an || !bo)
            goto next;
        CHECK(an->nrow == 4 && bo->nrow == 12);
        int compared = 0, wrong = 0;
        for (size_t r = 0; r < ref->nrow; r++) {
            const char *tab = ref->cells[r * 5], *model = ref->cells[r * 5 + 1], *metric = ref->cells[r * 5 + 2];
            const char *key = ref->cells[r * 5 + 3];
            double want = strtod(ref->cells[r * 5 + 4], NULL), got = NAN;
            char a[64], b[64];
            const char *colon = strchr(key, ':');
            if (colon) {
                snprintf(a, sizeof a, "%.*s", (int)(colon - key), key);
                snprintf(b, sizeof b, "%s", colon + 1);
            }
            if (!strcmp(tab, "anova")) {
                const char *keys[] = {model, metric};
                int cols[] = {0, 1};
                got = lookup(an, keys, cols, 2, key);
            } else if (!strcmp(tab, "bonferroni")) {
                const char *keys[] = {model, metric, a, b};
                int cols[] = {0, 1, 2, 3};
                got = lookup(bo, keys, cols, 4, "p_bonferroni");
            } else if (!strcmp(tab, "class")) {
                const char *keys[] = {model, a, metric};
                int cols[] = {0, 1, 2};
                if (!strcmp(b, "sd") && pop)
                    continue; /* R's sd() is the sample SD */
                got = lookup(cls, keys, cols, 3, b);
            } else if (!strcmp(tab, "per_fold")) {
                const char *fk = b;
                if (!strcmp(b, "sd_sample") || !strcmp(b, "sd_population")) {
                    if ((b[3] == 'p') != pop)
                        continue;
                    fk = "sd";
                }
                const char *keys[] = {model, fk, a, metric};
                int cols[] = {0, 1, 2, 3};
                got = lookup(fold, keys, cols, 4, "value");
            }
            compared++;
            if (!close_rel(got, want)) {
                wrong++;
                fprintf(stderr, "  %s %s %s %s: dolor %.12g, R %.12g\n", tab, model, metric, key, got, want);
            }
        }
        CHECKF(wrong == 0 && compared > 150, "sd %s: %d of %d values differ from R", pop ? "population" : "sample",
               wrong, compared);
        /* the SD definition is labelled */
        const char *keys[] = {"unetA", "sd", "nerve", "iou"};
        int cols[] = {0, 1, 2, 3};
        (void)keys;
        (void)cols;
        int col = dolor_csv_column(fold, "sd_definition"), labelled = 0;
        for (size_t r = 0; col >= 0 && r < fold->nrow; r++)
            if (!strcmp(fold->cells[r * fold->ncol + 1], "sd"))
                labelled += fold->cells[r * fold->ncol + col] &&
                            !strcmp(fold->cells[r * fold->ncol + col], pop ? "population (n)" : "sample (n-1)");
        CHECKF(labelled == 12, "%d sd rows labelled (want 12)", labelled);
    next:
        dolor_csv_free(ref);
        dolor_csv_free(fold);
        dolor_csv_free(cls);
        dolor_csv_free(an);
        dolor_csv_free(bo);
    }
    CHECK_ERR(dolor_study_tables("/nonexistent/per_case.csv", NULL, tmpdir), DOLOR_ENOTFOUND, "per_case.csv");
}

/* Classification and agreement tables against R (pROC, psych, binom.test, prop.test) on the same per-case numbers. */
static void test_cls_tables(void)
{
    char per_case[512], areas[512], ref_path[512], dir[512], p[600];
    snprintf(per_case, sizeof per_case, "%s/study/per_case_cls.csv", DOLOR_TEST_FIXTURES);
    snprintf(areas, sizeof areas, "%s/study/areas_small.csv", DOLOR_TEST_FIXTURES);
    snprintf(ref_path, sizeof ref_path, "%s/study/r_reference_cls.csv", DOLOR_TEST_FIXTURES);
    dolor_csv *ref = NULL;
    CHECK_OK(dolor_csv_read(ref_path, &ref));
    int compared = 0, wrong = 0;
    for (int method = 0; method < 2; method++) { /* Clopper-Pearson, then Wilson */
        snprintf(dir, sizeof dir, "%s/cls%d", tmpdir, method);
        dolor_study_table_opts o = {0, 0, "study.yaml", NULL, 0.95,
                                    method ? DOLOR_CI_WILSON : DOLOR_CI_CLOPPER_PEARSON, 0.5};
        CHECK_OK(dolor_study_cls_tables(per_case, &o, dir));
        dolor_csv *sum = NULL, *fold = NULL, *dl = NULL;
        snprintf(p, sizeof p, "%s/cls_summary.csv", dir);
        CHECK_OK(dolor_csv_read(p, &sum));
        snprintf(p, sizeof p, "%s/per_fold.csv", dir);
        CHECK_OK(dolor_csv_read(p, &fold));
        snprintf(p, sizeof p, "%s/delong.csv", dir);
        CHECK_OK(dolor_csv_read(p, &dl));
        for (size_t r = 0; ref && sum && fold && dl && r < ref->nrow; r++) {
            const char *tab = ref->cells[r * 5], *model = ref->cells[r * 5 + 1], *metric = ref->cells[r * 5 + 2];
            const char *key = ref->cells[r * 5 + 3];
            double want = strtod(ref->cells[r * 5 + 4], NULL), got = NAN;
            const char *keys[] = {model, metric};
            int cols[] = {0, 1};
            if (!strcmp(tab, "summary")) {
                const char *col = !strcmp(key, "cp_lo") || !strcmp(key, "wilson_lo") ? "ci_lo"
                                  : !strcmp(key, "cp_hi") || !strcmp(key, "wilson_hi") ? "ci_hi" : key;
                if (strcmp(metric, "AUC") && !strncmp(key, method ? "cp_" : "wilson_", method ? 3 : 7))
                    continue; /* the other CI method's bounds (the AUC's are DeLong's in both) */
                got = lookup(sum, keys, cols, 2, col);
            } else if (!strcmp(tab, "per_fold")) {
                const char *k3[] = {model, key, metric};
                int c3[] = {0, 1, 2};
                got = lookup(fold, k3, c3, 3, "value");
            } else if (!strcmp(tab, "delong")) {
                got = lookup(dl, keys, cols, 2, key);
            } else
                continue;
            compared++;
            if (!close_rel(got, want)) {
                wrong++;
                fprintf(stderr, "  %s %s %s %s: dolor %.12g, R %.12g\n", tab, model, metric, key, got, want);
            }
        }
        dolor_csv_free(sum);
        dolor_csv_free(fold);
        dolor_csv_free(dl);
    }
    CHECKF(compared == 2 * (2 * (5 * 5 + 3 + 7) + 2), "%d classification values compared", compared);
    CHECKF(wrong == 0, "%d of %d classification values differ from R", wrong, compared);
    /* ICC(2,1) */
    snprintf(dir, sizeof dir, "%s/icc", tmpdir);
    CHECK_OK(dolor_study_icc_table(areas, 0.95, dir));
    dolor_csv *ic = NULL;
    snprintf(p, sizeof p, "%s/icc.csv", dir);
    CHECK_OK(dolor_csv_read(p, &ic));
    compared = wrong = 0;
    for (size_t r = 0; ref && ic && r < ref->nrow; r++) {
        if (strcmp(ref->cells[r * 5], "icc"))
            continue;
        const char *metric = ref->cells[r * 5 + 2], *key = ref->cells[r * 5 + 3], *colon = strchr(key, ':');
        char cl[64];
        snprintf(cl, sizeof cl, "%.*s", (int)(colon - key), key);
        const char *keys[] = {"unet", cl, colon + 1};
        int cols[] = {0, 1, 2};
        double want = strtod(ref->cells[r * 5 + 4], NULL), got = lookup(ic, keys, cols, 3, metric);
        compared++;
        if (!(fabs(got - want) <= 1e-8 * fabs(want) + 1e-12)) {
            wrong++;
            fprintf(stderr, "  icc %s %s: dolor %.12g, R %.12g\n", key, metric, got, want);
        }
    }
    CHECKF(compared == 2 * 3 * 5 && wrong == 0, "%d of %d ICC values differ from R", wrong, compared);
    dolor_csv_free(ic);
    dolor_csv_free(ref);
    /* bad input: a label that is not 0/1, names the line */
    const char *bad = write_file("bad_cls.csv", "model,fold,case,label,prob\nm,1,a,1,0.3\nm,1,b,2,0.4\n");
    CHECK_ERR(dolor_study_cls_tables(bad, &(dolor_study_table_opts){0}, tmpdir), DOLOR_EFORMAT,
              "line 3: label '2' is not 0 or 1");
    bad = write_file("bad_cls2.csv", "model,fold,case,label,prob\nm,1,a,1,1.3\n");
    CHECK_ERR(dolor_study_cls_tables(bad, &(dolor_study_table_opts){0}, tmpdir), DOLOR_EFORMAT,
              "line 2: prob '1.3' is not a number in [0, 1]");
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dolor_study_XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    test_config();
    test_split();
    test_tables();
    test_cls_tables();
    dolor_test_rm_rf(tmpdir);
    return dolor_test_finish();
}
