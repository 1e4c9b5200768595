/* Study config: YAML (libyaml's document API) checked against one schema table. */
#define _POSIX_C_SOURCE 200809L
#include "dolor/stats.h"
#include "dolor/nn.h"
#include "dolor/study.h"
#include "study_priv.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <yaml.h>

/* K_OPTMAP: a mapping of scalar options passed through to the architecture registry (nn.h), stored as its flat
 * JSON object; the registry checks the keys and ranges. */
typedef enum { K_MAP, K_SEQMAP, K_STR, K_CHOICE, K_INT, K_NUM, K_BOOL, K_STRLIST, K_INTLIST, K_NUMLIST, K_OPTMAP } kind;

/* One key. `off` is the field in dolor_study_config (top level) or dolor_study_model (models[].*);
 * lists have a count field at `off_n`. choices: '|'-separated. */
typedef struct key_def {
    const char *path;
    kind type;
    int required;
    const char *def;     /* default as YAML text (NULL: none) */
    double lo, hi;       /* range of numbers / list lengths */
    const char *choices;
    size_t off, off_n;
    const char *help;
} key_def;

#define C(f) offsetof(dolor_study_config, f)
#define M(f) offsetof(dolor_study_model, f)
#define NONE 0, 0
static const key_def schema[] = {
    {"study", K_MAP, 1, NULL, NONE, NULL, 0, 0, "what the study is"},
    {"study.name", K_STR, 1, NULL, NONE, NULL, C(name), 0, "name shown in tables and methods.md"},
    {"study.task", K_CHOICE, 0, "segmentation", NONE, "segmentation|classification", C(task), 0,
     "segmentation or classification (binary)"},
    {"dataset", K_MAP, 1, NULL, NONE, NULL, 0, 0, "the images"},
    {"dataset.images", K_STR, 0, NULL, NONE, NULL, C(images), 0,
     "segmentation: folder of images (PNG, JPEG, NIfTI) (required for segmentation)"},
    {"dataset.masks", K_STR, 0, NULL, NONE, NULL, C(masks), 0,
     "segmentation: folder of label maps matched to images by stem (required for segmentation)"},
    {"dataset.masks2", K_STR, 0, NULL, NONE, NULL, C(masks2), 0,
     "segmentation: a second annotator's label maps (same stems): ICC(2,1) of the areas"},
    {"dataset.csv", K_STR, 0, NULL, NONE, NULL, C(csv), 0,
     "classification: CSV listing image, label, patient (required for classification)"},
    {"dataset.image_column", K_STR, 0, "image", NONE, NULL, C(image_column), 0,
     "classification: column of image paths (relative to the CSV)"},
    {"dataset.label_column", K_STR, 0, "label", NONE, NULL, C(label_column), 0,
     "classification: column of class labels (the split is stratified on it)"},
    {"dataset.roi_column", K_STR, 0, NULL, NONE, NULL, C(roi_column), 0,
     "classification: column of a box x0,y0,z0,x1,y1,z1 where forest features are computed (absent: whole image)"},
    {"dataset.patients", K_STR, 0, NULL, NONE, NULL, C(patients), 0,
     "segmentation: CSV mapping each image stem to its patient ID (and stratum); absent: each image is its own "
     "patient"},
    {"dataset.stem_column", K_STR, 0, "case", NONE, NULL, C(stem_column), 0, "column of image stems in the CSV"},
    {"dataset.patient_column", K_STR, 0, "patient", NONE, NULL, C(patient_column), 0, "column of patient IDs"},
    {"dataset.stratum_column", K_STR, 0, NULL, NONE, NULL, C(stratum_column), 0,
     "column of a label or stratum: splits are stratified on it"},
    {"dataset.classes", K_STRLIST, 0, NULL, 1, DOLOR_STUDY_MAX_CLASSES, NULL, C(classes), C(n_classes),
     "segmentation: foreground class names (background is class 0; required); classification: [negative, positive]"},
    {"dataset.labels", K_INTLIST, 0, NULL, 1, DOLOR_STUDY_MAX_CLASSES, NULL, C(labels), C(n_labels),
     "mask value of each class (default 1..n)"},
    {"split", K_MAP, 1, NULL, NONE, NULL, 0, 0, "how cases are split, always by patient"},
    {"split.method", K_CHOICE, 0, "kfold", NONE, "kfold|holdout", C(split), 0, "kfold or holdout"},
    {"split.folds", K_INT, 0, "5", 2, 100, NULL, C(folds), 0, "k-fold: number of folds"},
    {"split.val_share", K_NUM, 0, "0.2", 0.01, 0.5, NULL, C(val_share), 0,
     "k-fold: share of each training fold's patients used for validation"},
    {"split.ratios", K_NUMLIST, 0, NULL, 3, 3, NULL, C(ratios), C(n_ratios),
     "holdout: train:val:test as three positive integers, e.g. [6, 2, 2] (required for holdout)"},
    {"split.seed", K_INT, 0, "42", 0, INT_MAX, NULL, C(split_seed), 0, "seed of the split"},
    {"models", K_SEQMAP, 1, NULL, 1, DOLOR_STUDY_MAX_MODELS, NULL, 0, 0, "models compared in every fold"},
    {"models[].name", K_STR, 1, NULL, NONE, NULL, M(name), 0, "model name (folder jobs/<name>)"},
    {"models[].arch", K_CHOICE, 0, "unet", NONE, "unet|resnet_unet|fastseg|resnet|forest", M(arch), 0,
     "unet, resnet_unet or fastseg (segmentation); resnet or forest (classification)"},
    {"models[].options", K_OPTMAP, 0, NULL, NONE, NULL, M(options), 0,
     "resnet_unet, fastseg: architecture options as a mapping, e.g. {encoder_depth: 18, triplet_attention: 1} "
     "(the keys of `dolor train --help`; in_channels and num_classes come from the data)"},
    {"models[].base", K_INT, 0, "16", 1, 512, NULL, M(base), 0, "U-Net channels at the first level; ResNet width"},
    {"models[].depth", K_INT, 0, "4", 1, 101, NULL, M(depth), 0,
     "U-Net number of downsamplings (1-7); ResNet depth (10, 18, 34, 50, 101)"},
    {"models[].upsample", K_CHOICE, 0, "transposed", NONE, "transposed|bilinear", M(upsample), 0,
     "decoder upsampling"},
    {"models[].size", K_INT, 0, "256", 16, 4096, NULL, M(size), 0, "segmentation input size, pixels (square)"},
    {"models[].shape", K_INTLIST, 0, NULL, 2, 3, NULL, M(shape), M(n_shape), "ResNet input [H, W] or [D, H, W]"},
    {"models[].epochs", K_INT, 0, "50", 1, 100000, NULL, M(epochs), 0, "training epochs"},
    {"models[].batch", K_INT, 0, "8", 1, 1024, NULL, M(batch), 0, "mini-batch size"},
    {"models[].warmup", K_INT, 0, "1", 0, 1000, NULL, M(warmup), 0, "warm-up epochs"},
    {"models[].lr", K_NUM, 0, "1e-3", 1e-8, 10, NULL, M(lr), 0, "peak learning rate"},
    {"models[].wd", K_NUM, 0, "1e-4", 0, 10, NULL, M(wd), 0, "weight decay"},
    {"models[].schedule", K_CHOICE, 0, "cosine", NONE, "cosine|poly|constant|step", M(schedule), 0,
     "learning-rate schedule (step: ResNet only)"},
    {"models[].optimizer", K_CHOICE, 0, "adamw", NONE, "adamw|adam|sgd", M(optimizer), 0,
     "ResNet optimizer (the U-Net uses AdamW)"},
    {"models[].momentum", K_NUM, 0, "0.9", 0, 0.999, NULL, M(momentum), 0, "ResNet, SGD: momentum"},
    {"models[].step_size", K_INT, 0, "10", 1, 100000, NULL, M(step_size), 0,
     "ResNet, schedule step: epochs between decays by 0.1"},
    {"models[].augment", K_BOOL, 0, "true", NONE, NULL, M(augment), 0, "rotation, flip, brightness/contrast/gamma"},
    {"models[].seed", K_INT, 0, "42", 0, INT_MAX, NULL, M(seed), 0, "seed of weights, batches, augmentation, trees"},
    {"models[].trees", K_INT, 0, "300", 1, 100000, NULL, M(trees), 0, "forest: number of trees"},
    {"models[].max_features", K_INT, 0, "0", 0, 1000000, NULL, M(max_features), 0,
     "forest: features tried per split (0 = sqrt of the count)"},
    {"models[].levels", K_INTLIST, 0, NULL, 1, 16, NULL, M(levels), M(n_levels),
     "forest: GLCM grey-level counts (default [16, 32])"},
    {"models[].distances", K_INTLIST, 0, NULL, 1, 16, NULL, M(distances), M(n_distances),
     "forest: GLCM distances in voxels (default [1, 2])"},
    {"models[].firstorder", K_BOOL, 0, "true", NONE, NULL, M(firstorder), 0, "forest: first-order features too"},
    {"models[].nakagami", K_BOOL, 0, "true", NONE, NULL, M(nakagami), 0, "forest: Nakagami m and Omega too"},
    {"stats", K_MAP, 0, NULL, NONE, NULL, 0, 0, "statistics of the tables"},
    {"stats.sd", K_CHOICE, 0, "sample", NONE, "sample|population", C(population_sd), 0,
     "SD definition: sample (n - 1) or population (n); labelled in every table"},
    {"stats.include_background", K_BOOL, 0, "false", NONE, NULL, C(include_background), 0,
     "report the background as a class too"},
    {"stats.conf", K_NUM, 0, "0.95", 0.5, 0.999, NULL, C(conf), 0, "confidence level of every CI"},
    {"stats.ci", K_CHOICE, 0, "clopper-pearson", NONE, "clopper-pearson|wilson|wilson-cc", C(ci_method), 0,
     "classification: binomial CI of sensitivity, specificity, PPV, NPV, accuracy"},
    {"stats.threshold", K_NUM, 0, "0.5", 0, 1, NULL, C(threshold), 0,
     "classification: a case is called positive at this probability or above"},
    {"run", K_MAP, 0, NULL, NONE, NULL, 0, 0, "how the study runs"},
    {"run.threads", K_INT, 0, "0", 0, 1024, NULL, C(threads), 0, "CPU threads (0 = all cores)"},
    {"run.quiet", K_BOOL, 0, "false", NONE, NULL, C(quiet), 0, "no progress bars"},
};
#undef C
#undef M
#define NKEYS ((int)(sizeof schema / sizeof *schema))

static const char *kind_name(kind k)
{
    static const char *const n[] = {"a mapping", "a list of mappings", "a string", "a string", "an integer",
                                    "a number", "true or false", "a list of strings", "a list of integers",
                                    "a list of numbers", "a mapping"};
    _Static_assert(sizeof n / sizeof *n == K_OPTMAP + 1, "kind names");
    return n[k];
}

void dolor_study_schema_print(FILE *fp)
{
    for (int i = 0; i < NKEYS; i++) {
        const key_def *d = &schema[i];
        char t[64];
        if (d->type == K_CHOICE)
            snprintf(t, sizeof t, "%s", d->choices);
        else
            snprintf(t, sizeof t, "%s", kind_name(d->type));
        fprintf(fp, "  %-26s %-28s %-13s %s\n", d->path, t,
                d->required ? "required" : d->def ? d->def : "optional", d->help);
    }
}

/* ---- parsing ---- */
typedef struct ctx {
    const char *file;
    yaml_document_t *doc;
} ctx;

static dolor_status key_error(const ctx *c, const char *path, const yaml_node_t *n, const char *fmt, ...)
    DOLOR_PRINTF(4, 5);
static dolor_status key_error(const ctx *c, const char *path, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n)
        return dolor_error(DOLOR_EINVAL, "%s: %s: %s (line %lu)", c->file, path, msg,
                           (unsigned long)n->start_mark.line + 1);
    return dolor_error(DOLOR_EINVAL, "%s: %s: %s", c->file, path, msg);
}

static const key_def *find_key(const char *schema_path)
{
    for (int i = 0; i < NKEYS; i++)
        if (!strcmp(schema[i].path, schema_path))
            return &schema[i];
    return NULL;
}

/* The node's text for messages: a scalar quoted, else its kind. */
static void describe(const yaml_node_t *n, char *buf, size_t cap)
{
    if (n->type == YAML_SCALAR_NODE)
        snprintf(buf, cap, "\"%.*s\"", (int)(n->data.scalar.length > 60 ? 60 : n->data.scalar.length),
                 (const char *)n->data.scalar.value);
    else
        snprintf(buf, cap, "%s", n->type == YAML_MAPPING_NODE ? "a mapping" : "a list");
}

static int parse_long(const char *s, long *v)
{
    char *end;
    errno = 0;
    *v = strtol(s, &end, 10);
    return *s && !*end && !errno;
}

static int parse_num(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return *s && !*end && !errno && isfinite(*v);
}

static int parse_bool(const char *s, int *v)
{
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "yes")) return *v = 1, 1;
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "no")) return *v = 0, 1;
    return 0;
}

static int is_plain(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* Store one scalar of type t from text (a YAML scalar or a default) at dst. */
static dolor_status store_scalar(const ctx *c, const key_def *d, const char *path, const yaml_node_t *n,
                                 const char *text, kind t, void *dst)
{
    char got[96];
    if (n)
        describe(n, got, sizeof got);
    else
        snprintf(got, sizeof got, "\"%s\"", text);
    long iv;
    double dv;
    int bv;
    switch (t) {
    case K_STR: {
        char *s = strdup(text);
        if (!s)
            return dolor_error(DOLOR_ENOMEM, "out of memory");
        free(*(char **)dst);
        *(char **)dst = s;
        return DOLOR_OK;
    }
    case K_CHOICE: {
        /* the index of the choice is stored for enum-like int fields (split, population_sd), the text otherwise */
        const char *p = d->choices;
        int idx = 0;
        size_t len = strlen(text);
        while (p) {
            const char *bar = strchr(p, '|');
            size_t l = bar ? (size_t)(bar - p) : strlen(p);
            if (l == len && !strncmp(p, text, l))
                break;
            p = bar ? bar + 1 : NULL;
            idx++;
        }
        if (!p)
            return key_error(c, path, n, "expected one of %s, got %s", d->choices, got);
        if (!strcmp(d->path, "split.method") || !strcmp(d->path, "stats.sd")) {
            *(int *)dst = idx;
            return DOLOR_OK;
        }
        if (!strcmp(d->path, "stats.ci")) {
            static const int ci[] = {DOLOR_CI_CLOPPER_PEARSON, DOLOR_CI_WILSON, DOLOR_CI_WILSON_CC};
            *(int *)dst = ci[idx];
            return DOLOR_OK;
        }
        return store_scalar(c, d, path, n, text, K_STR, dst);
    }
    case K_INT:
        if ((n && !is_plain(n)) || !parse_long(text, &iv))
            return key_error(c, path, n, "expected an integer, got %s", got);
        if (iv < (long)d->lo || iv > (long)d->hi)
            return key_error(c, path, n, "%ld is out of range [%g, %g]", iv, d->lo, d->hi);
        *(int *)dst = (int)iv;
        return DOLOR_OK;
    case K_NUM:
        if ((n && !is_plain(n)) || !parse_num(text, &dv))
            return key_error(c, path, n, "expected a number, got %s", got);
        if (d->type == K_NUM && (dv < d->lo || dv > d->hi))
            return key_error(c, path, n, "%g is out of range [%g, %g]", dv, d->lo, d->hi);
        *(double *)dst = dv;
        return DOLOR_OK;
    case K_BOOL:
        if ((n && !is_plain(n)) || !parse_bool(text, &bv))
            return key_error(c, path, n, "expected true or false, got %s", got);
        *(int *)dst = bv;
        return DOLOR_OK;
    default:
        return key_error(c, path, n, "internal: bad scalar kind");
    }
}

static dolor_status store_list(const ctx *c, const key_def *d, const char *path, const yaml_node_t *n, void *base)
{
    char got[96];
    describe(n, got, sizeof got);
    if (n->type != YAML_SEQUENCE_NODE)
        return key_error(c, path, n, "expected %s, got %s", kind_name(d->type), got);
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (cnt < d->lo || cnt > d->hi)
        return key_error(c, path, n, "%zu items (need %g to %g)", cnt, d->lo, d->hi);
    kind it = d->type == K_STRLIST ? K_STR : d->type == K_INTLIST ? K_INT : K_NUM;
    size_t esz = it == K_STR ? sizeof(char *) : it == K_INT ? sizeof(int) : sizeof(double);
    void *arr = calloc(cnt + 1, esz);
    if (!arr)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    /* free what a previous value left */
    void **slot = (void **)((char *)base + d->off);
    if (d->type == K_STRLIST && *slot)
        for (char **p = *slot; *p; p++)
            free(*p);
    free(*slot);
    *slot = arr;
    *(int *)((char *)base + d->off_n) = (int)cnt;
    key_def item = *d;
    item.type = it;
    item.lo = d->type == K_INTLIST ? 0 : -1e300;
    item.hi = d->type == K_INTLIST ? 65535 : 1e300;
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *e = yaml_document_get_node(c->doc, n->data.sequence.items.start[i]);
        char ipath[256];
        snprintf(ipath, sizeof ipath, "%s[%zu]", path, i);
        if (!e || e->type != YAML_SCALAR_NODE) {
            char g2[96];
            if (e)
                describe(e, g2, sizeof g2);
            return key_error(c, ipath, e, "expected %s, got %s", kind_name(it), e ? g2 : "nothing");
        }
        dolor_status s = store_scalar(c, &item, ipath, e, (const char *)e->data.scalar.value, it,
                                      (char *)arr + i * esz);
        if (s)
            return s;
    }
    return DOLOR_OK;
}

/* Store a mapping of scalar options as a flat JSON object: a plain scalar that reads as a number is a number,
 * true/false are 1/0, anything else a string. The registry checks the keys when the study is checked. */
static dolor_status store_optmap(const ctx *c, const char *path, const yaml_node_t *v, char **dst)
{
    char got[96];
    describe(v, got, sizeof got);
    if (v->type != YAML_MAPPING_NODE)
        return key_error(c, path, v, "expected a mapping of architecture options, got %s", got);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key), *e = yaml_document_get_node(c->doc, p->value);
        char kp[256];
        snprintf(kp, sizeof kp, "%s.%s", path, k && k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value
                                                                              : "?");
        dolor_status s = DOLOR_OK;
        if (!k || k->type != YAML_SCALAR_NODE || !e)
            s = key_error(c, path, k, "keys must be plain strings");
        else if (e->type != YAML_SCALAR_NODE) {
            describe(e, got, sizeof got);
            s = key_error(c, kp, e, "expected a number or a string, got %s", got);
        } else if (cJSON_GetObjectItemCaseSensitive(o, (const char *)k->data.scalar.value))
            s = key_error(c, kp, k, "given twice");
        else if (!strcmp((const char *)k->data.scalar.value, "in_channels") ||
                 !strcmp((const char *)k->data.scalar.value, "num_classes"))
            s = key_error(c, kp, k, "comes from the data (dataset.classes, the images), not from options");
        if (s) {
            cJSON_Delete(o);
            return s;
        }
        const char *t = (const char *)e->data.scalar.value;
        double dv;
        int bv;
        cJSON *item = is_plain(e) && parse_num(t, &dv)    ? cJSON_CreateNumber(dv)
                      : is_plain(e) && parse_bool(t, &bv) ? cJSON_CreateNumber(bv)
                                                          : cJSON_CreateString(t);
        if (!item || !cJSON_AddItemToObject(o, (const char *)k->data.scalar.value, item)) {
            cJSON_Delete(item);
            cJSON_Delete(o);
            return dolor_error(DOLOR_ENOMEM, "out of memory");
        }
    }
    char *js = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!js)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    free(*dst);
    *dst = strdup(js);
    cJSON_free(js);
    return *dst ? DOLOR_OK : dolor_error(DOLOR_ENOMEM, "out of memory");
}

/* Check and store a mapping node: prefix is the schema prefix ("", "split", "models[]"), shown is the path
 * used in messages ("models[1]"); base is where its fields go. */
static dolor_status walk_map(const ctx *c, const yaml_node_t *map, const char *prefix, const char *shown, void *base,
                             dolor_study_config *cfg);

static dolor_status walk_value(const ctx *c, const key_def *d, const char *shown, const yaml_node_t *v, void *base,
                               dolor_study_config *cfg)
{
    char got[96];
    describe(v, got, sizeof got);
    switch (d->type) {
    case K_MAP:
        if (v->type != YAML_MAPPING_NODE)
            return key_error(c, shown, v, "expected a mapping, got %s", got);
        return walk_map(c, v, d->path, shown, base, cfg);
    case K_SEQMAP: {
        if (v->type != YAML_SEQUENCE_NODE)
            return key_error(c, shown, v, "expected a list of mappings, got %s", got);
        size_t cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
        if (cnt < d->lo || cnt > d->hi)
            return key_error(c, shown, v, "%zu models (need %g to %g)", cnt, d->lo, d->hi);
        for (size_t i = 0; i < cnt; i++) {
            yaml_node_t *e = yaml_document_get_node(c->doc, v->data.sequence.items.start[i]);
            char ip[128], sp[128];
            snprintf(ip, sizeof ip, "%s[%zu]", shown, i);
            snprintf(sp, sizeof sp, "%s[]", d->path);
            if (!e || e->type != YAML_MAPPING_NODE) {
                if (e)
                    describe(e, got, sizeof got);
                return key_error(c, ip, e, "expected a mapping, got %s", e ? got : "nothing");
            }
            dolor_status s = walk_map(c, e, sp, ip, &cfg->models[i], cfg);
            if (s)
                return s;
            cfg->n_models = (int)i + 1;
        }
        return DOLOR_OK;
    }
    case K_STRLIST:
    case K_INTLIST:
    case K_NUMLIST:
        return store_list(c, d, shown, v, base);
    case K_OPTMAP:
        return store_optmap(c, shown, v, (char **)((char *)base + d->off));
    default:
        if (v->type != YAML_SCALAR_NODE)
            return key_error(c, shown, v, "expected %s, got %s", d->type == K_CHOICE ? d->choices : kind_name(d->type),
                             got);
        if (is_plain(v) && (!strcmp((const char *)v->data.scalar.value, "~") ||
                            !strcmp((const char *)v->data.scalar.value, "null") || v->data.scalar.length == 0))
            return key_error(c, shown, v, "no value (expected %s; leave the key out for its default)",
                             d->type == K_CHOICE ? d->choices : kind_name(d->type));
        if (d->type == K_STR && v->data.scalar.length == 0)
            return key_error(c, shown, v, "is empty");
        return store_scalar(c, d, shown, v, (const char *)v->data.scalar.value, d->type, (char *)base + d->off);
    }
}

static dolor_status walk_map(const ctx *c, const yaml_node_t *map, const char *prefix, const char *shown, void *base,
                             dolor_study_config *cfg)
{
    size_t plen = strlen(prefix);
    int found[NKEYS];
    memset(found, 0, sizeof found);
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        if (!k || k->type != YAML_SCALAR_NODE || !v)
            return key_error(c, *shown ? shown : "(top)", k, "keys must be plain strings");
        char sp[256], show[256];
        snprintf(sp, sizeof sp, "%s%s%s", prefix, plen ? "." : "", (const char *)k->data.scalar.value);
        snprintf(show, sizeof show, "%s%s%s", shown, *shown ? "." : "", (const char *)k->data.scalar.value);
        const key_def *d = find_key(sp);
        if (!d)
            return key_error(c, show, k, "unknown key (dolor study schema lists the keys)");
        int di = (int)(d - schema);
        if (found[di])
            return key_error(c, show, k, "given twice");
        found[di] = 1;
        /* top-level sections write into cfg, models[] entries into their model */
        void *dst = strncmp(d->path, "models[]", 8) ? (void *)cfg : base;
        if (dst == base && base != (void *)cfg) {
            int first = (int)(find_key("models[].name") - schema);
            if (di - first >= 0 && di - first < 64)
                ((dolor_study_model *)base)->given |= 1ull << (di - first);
        }
        dolor_status s = walk_value(c, d, show, v, dst, cfg);
        if (s)
            return s;
    }
    /* direct children not given: required -> error, default -> stored */
    for (int i = 0; i < NKEYS; i++) {
        const key_def *d = &schema[i];
        if (found[i] || strncmp(d->path, prefix, plen) || (plen && d->path[plen] != '.'))
            continue;
        const char *rest = d->path + plen + (plen ? 1 : 0);
        if (strchr(rest, '.') || strstr(rest, "[]."))
            continue;
        char show[256];
        snprintf(show, sizeof show, "%s%s%s", shown, *shown ? "." : "", rest);
        if (d->required)
            return key_error(c, show, NULL, "missing (required: %s)", d->help);
        if (d->type == K_MAP) {
            /* an absent optional section: its children take their defaults */
            yaml_node_t empty;
            memset(&empty, 0, sizeof empty);
            empty.type = YAML_MAPPING_NODE;
            dolor_status s = walk_map(c, &empty, d->path, show, cfg, cfg);
            if (s)
                return s;
            continue;
        }
        if (!d->def)
            continue;
        void *dst = strncmp(d->path, "models[]", 8) ? (void *)cfg : base;
        dolor_status s = store_scalar(c, d, show, NULL, d->def, d->type, (char *)dst + d->off);
        if (s)
            return s;
    }
    return DOLOR_OK;
}

static char *resolve(const char *dir, const char *p)
{
    if (!p)
        return NULL;
    if (p[0] == '/' || !dir[0])
        return strdup(p);
    size_t n = strlen(dir) + strlen(p) + 2;
    char *r = malloc(n);
    if (r)
        snprintf(r, n, "%s/%s", dir, p);
    return r;
}

static dolor_status resolve_in_place(const char *dir, char **p)
{
    if (!*p)
        return DOLOR_OK;
    char *r = resolve(dir, *p);
    if (!r)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    free(*p);
    *p = r;
    return DOLOR_OK;
}

void dolor_study_config_free(dolor_study_config *c)
{
    if (!c)
        return;
    free(c->path);
    free(c->name);
    free(c->task);
    free(c->images);
    free(c->masks);
    free(c->masks2);
    free(c->csv);
    free(c->image_column);
    free(c->label_column);
    free(c->roi_column);
    free(c->patients);
    free(c->stem_column);
    free(c->patient_column);
    free(c->stratum_column);
    if (c->classes)
        for (char **p = c->classes; *p; p++)
            free(*p);
    free(c->classes);
    free(c->labels);
    free(c->ratios);
    for (int i = 0; i < DOLOR_STUDY_MAX_MODELS; i++) {
        free(c->models[i].name);
        free(c->models[i].arch);
        free(c->models[i].options);
        free(c->models[i].upsample);
        free(c->models[i].schedule);
        free(c->models[i].shape);
        free(c->models[i].optimizer);
        free(c->models[i].levels);
        free(c->models[i].distances);
    }
    free(c);
}

int dolor_study_model_is_registry_seg(const dolor_study_model *md)
{
    return md->arch && (!strcmp(md->arch, "resnet_unet") || !strcmp(md->arch, "fastseg"));
}

dolor_status dolor_study_model_arch_json(const dolor_study_config *c, const dolor_study_model *md, char **json)
{
    *json = NULL;
    cJSON *o = md->options ? cJSON_Parse(md->options) : cJSON_CreateObject();
    if (!o)
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    if (!cJSON_AddNumberToObject(o, "in_channels", 1) ||
        !cJSON_AddNumberToObject(o, "num_classes", c->n_classes + 1)) {
        cJSON_Delete(o);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    if (!strcmp(md->arch, "unet")) {
        cJSON_AddNumberToObject(o, "base_channels", md->base);
        cJSON_AddNumberToObject(o, "depth", md->depth);
        cJSON_AddStringToObject(o, "upsample", md->upsample);
    }
    char *js = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (js) {
        *json = strdup(js);
        cJSON_free(js);
    }
    return *json ? DOLOR_OK : dolor_error(DOLOR_ENOMEM, "out of memory");
}

static dolor_status check_config(const ctx *cx, dolor_study_config *c)
{
    c->classification = !strcmp(c->task, "classification");
    /* keys required by one task only, and keys of the other task */
    static const char *const seg_keys[] = {"images", "masks", "classes"};
    static const char *const seg_help[] = {"folder of images (PNG, JPEG, NIfTI)",
                                           "folder of label maps matched to images by stem",
                                           "foreground class names"};
    if (c->classification) {
        if (!c->csv)
            return key_error(cx, "dataset.csv", NULL, "missing (required for classification: CSV listing image, "
                             "label, patient)");
        const char *other = c->images ? "images" : c->masks ? "masks" : c->masks2 ? "masks2" : c->patients ?
                            "patients" : c->stratum_column ? "stratum_column" : c->labels ? "labels" : NULL;
        if (other)
            return key_error(cx, "dataset", NULL, "%s is for segmentation studies (classification reads "
                             "dataset.csv)", other);
        if (c->classes && c->n_classes != 2)
            return key_error(cx, "dataset.classes", NULL, "%d names; a classification study is binary: give "
                             "[negative, positive]", c->n_classes);
    } else {
        char *const *have[] = {(char *const *)&c->images, (char *const *)&c->masks, (char *const *)c->classes};
        for (int i = 0; i < 3; i++)
            if (!have[i] || (i < 2 && !*have[i])) {
                char p[64];
                snprintf(p, sizeof p, "dataset.%s", seg_keys[i]);
                return key_error(cx, p, NULL, "missing (required: %s)", seg_help[i]);
            }
        if (c->csv || c->roi_column)
            return key_error(cx, "dataset", NULL, "%s is for classification studies (segmentation reads "
                             "dataset.images and dataset.masks)", c->csv ? "csv" : "roi_column");
    }
    if (c->labels && c->n_labels != c->n_classes)
        return key_error(cx, "dataset.labels", NULL, "%d values but dataset.classes has %d names", c->n_labels,
                         c->n_classes);
    for (int i = 0; i < c->n_classes; i++) {
        if (!c->classes[i][0])
            return key_error(cx, "dataset.classes", NULL, "item %d is empty", i);
        for (int j = 0; j < i; j++)
            if (!strcmp(c->classes[i], c->classes[j]))
                return key_error(cx, "dataset.classes", NULL, "\"%s\" is listed twice", c->classes[i]);
    }
    for (int i = 0; c->labels && i < c->n_labels; i++)
        if (c->labels[i] < 1)
            return key_error(cx, "dataset.labels", NULL, "value %d is not a foreground label (1..65535)",
                             c->labels[i]);
    if (c->split == DOLOR_STUDY_HOLDOUT) {
        if (!c->ratios)
            return key_error(cx, "split.ratios", NULL, "missing (required for split.method holdout), e.g. [6, 2, 2]");
        for (int i = 0; i < 3; i++)
            if (c->ratios[i] < 1 || c->ratios[i] > 100 || c->ratios[i] != floor(c->ratios[i]))
                return key_error(cx, "split.ratios", NULL, "item %d is %g (need an integer 1..100)", i, c->ratios[i]);
    }
    for (int m = 0; m < c->n_models; m++) {
        dolor_study_model *md = &c->models[m];
        char p[64];
        snprintf(p, sizeof p, "models[%d].name", m);
        for (const char *q = md->name; *q; q++)
            if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '-' ||
                  *q == '_' || *q == '.'))
                return key_error(cx, p, NULL, "\"%s\": use letters, digits, '-', '_' and '.' only", md->name);
        if (!md->name[0] || md->name[0] == '.')
            return key_error(cx, p, NULL, "\"%s\" is not a folder name", md->name);
        for (int j = 0; j < m; j++)
            if (!strcmp(c->models[j].name, md->name))
                return key_error(cx, p, NULL, "\"%s\" is also models[%d].name", md->name, j);
        int unet = !strcmp(md->arch, "unet"), registry_seg = dolor_study_model_is_registry_seg(md);
        int seg = unet || registry_seg;
        /* a key the model's architecture does not use is an error, not a silent no-op */
        {
            static const char *const only_unet[] = {"upsample", NULL};
            static const char *const only_seg[] = {"size", NULL};
            static const char *const only_registry_seg[] = {"options", NULL};
            static const char *const unet_or_resnet[] = {"base", "depth", NULL};
            static const char *const only_resnet[] = {"shape", "optimizer", "momentum", "step_size", NULL};
            static const char *const nets[] = {"epochs", "batch", "warmup", "lr", "wd", "schedule", "augment", NULL};
            static const char *const only_forest[] = {"trees", "max_features", "levels", "distances", "firstorder",
                                                      "nakagami", NULL};
            int forest = !strcmp(md->arch, "forest"), resnet = !strcmp(md->arch, "resnet");
            const char *const *lists[] = {unet ? NULL : only_unet,       seg ? NULL : only_seg,
                                          registry_seg ? NULL : only_registry_seg,
                                          unet || resnet ? NULL : unet_or_resnet, resnet ? NULL : only_resnet,
                                          forest ? nets : NULL,          forest ? NULL : only_forest};
            int first = (int)(find_key("models[].name") - schema);
            for (size_t l = 0; l < sizeof lists / sizeof *lists; l++)
                for (int k = 0; lists[l] && lists[l][k]; k++) {
                    char kp[64];
                    snprintf(kp, sizeof kp, "models[].%s", lists[l][k]);
                    const key_def *kd = find_key(kp);
                    int bit = kd ? (int)(kd - schema) - first : -1;
                    if (bit >= 0 && bit < 64 && (md->given >> bit & 1)) {
                        snprintf(p, sizeof p, "models[%d].%s", m, lists[l][k]);
                        return key_error(cx, p, NULL, "not used by arch %s (%sdolor study schema says which keys "
                                         "each architecture takes)", md->arch,
                                         registry_seg && l == 3 ? "give it in options; " : "");
                    }
                }
            if (!strcmp(md->schedule, "step") && !resnet) {
                snprintf(p, sizeof p, "models[%d].schedule", m);
                return key_error(cx, p, NULL, "step is for arch resnet (segmentation takes cosine, poly, constant)");
            }
        }
        if (seg == c->classification) {
            snprintf(p, sizeof p, "models[%d].arch", m);
            return key_error(cx, p, NULL, "%s is not a model for a %s study (%s)", md->arch, c->task,
                             c->classification ? "resnet or forest" : "unet, resnet_unet or fastseg");
        }
        if (registry_seg) {
            /* build the network once, so that a wrong option is reported now with its key, not after hours */
            char *js = NULL;
            dolor_status s = dolor_study_model_arch_json(c, md, &js);
            dolor_net *net = NULL;
            if (!s)
                s = dolor_arch_build(md->arch, js, &net);
            int ond = 0;
            int64_t od[5];
            if (!s && (dolor_net_num_outputs(net) != 1 || dolor_net_output_shape(net, 0, &ond, od) || ond != 4))
                s = dolor_error(DOLOR_EINVAL, "does not segment 2D images (its output is not [N, K, H, W])");
            dolor_net_free(net);
            free(js);
            if (s == DOLOR_ENOMEM)
                return s;
            if (s) {
                char msg[512];
                snprintf(msg, sizeof msg, "%s", dolor_errmsg());
                snprintf(p, sizeof p, "models[%d].options", m);
                return key_error(cx, p, NULL, "arch %s: %s", md->arch, msg);
            }
            continue;
        }
        if (!strcmp(md->arch, "resnet")) {
            int d = md->depth;
            if (d != 10 && d != 18 && d != 34 && d != 50 && d != 101) {
                snprintf(p, sizeof p, "models[%d].depth", m);
                return key_error(cx, p, NULL, "%d: a ResNet has depth 10, 18, 34, 50 or 101", d);
            }
            if (!md->shape) {
                snprintf(p, sizeof p, "models[%d].shape", m);
                return key_error(cx, p, NULL, "missing (required for arch resnet: [H, W] or [D, H, W])");
            }
            for (int i = 0; i < md->n_shape; i++)
                if (md->shape[i] < 8 || md->shape[i] > 4096) {
                    snprintf(p, sizeof p, "models[%d].shape[%d]", m, i);
                    return key_error(cx, p, NULL, "%d is out of range [8, 4096]", md->shape[i]);
                }
            continue;
        }
        if (!strcmp(md->arch, "forest")) {
            static const int dl[] = {16, 32}, dd[] = {1, 2};
            if (!md->levels) {
                if (!(md->levels = malloc(sizeof dl)))
                    return dolor_error(DOLOR_ENOMEM, "out of memory");
                memcpy(md->levels, dl, sizeof dl);
                md->n_levels = 2;
            }
            if (!md->distances) {
                if (!(md->distances = malloc(sizeof dd)))
                    return dolor_error(DOLOR_ENOMEM, "out of memory");
                memcpy(md->distances, dd, sizeof dd);
                md->n_distances = 2;
            }
            for (int i = 0; i < md->n_levels; i++)
                if (md->levels[i] < 2 || md->levels[i] > 4096) {
                    snprintf(p, sizeof p, "models[%d].levels[%d]", m, i);
                    return key_error(cx, p, NULL, "%d is out of range [2, 4096]", md->levels[i]);
                }
            for (int i = 0; i < md->n_distances; i++)
                if (md->distances[i] < 1 || md->distances[i] > 64) {
                    snprintf(p, sizeof p, "models[%d].distances[%d]", m, i);
                    return key_error(cx, p, NULL, "%d is out of range [1, 64]", md->distances[i]);
                }
            continue;
        }
        if (md->depth > 7) {
            snprintf(p, sizeof p, "models[%d].depth", m);
            return key_error(cx, p, NULL, "%d is out of range [1, 7] for a U-Net", md->depth);
        }
        if (md->size % (1 << md->depth)) {
            snprintf(p, sizeof p, "models[%d].size", m);
            return key_error(cx, p, NULL, "%d is not divisible by 2^depth = %d", md->size, 1 << md->depth);
        }
    }
    if (c->stratum_column && !c->stratum_column[0]) {
        free(c->stratum_column);
        c->stratum_column = NULL;
    }
    if (c->stratum_column && !c->patients)
        return key_error(cx, "dataset.stratum_column", NULL, "needs dataset.patients (the CSV holding it)");
    return DOLOR_OK;
}

dolor_status dolor_study_config_load(const char *path, dolor_study_config **out)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return dolor_error(errno == ENOENT ? DOLOR_ENOTFOUND : DOLOR_EIO, "%s: %s", path, strerror(errno));
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        fclose(fp);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    yaml_parser_set_input_file(&parser, fp);
    if (!yaml_parser_load(&parser, &doc)) {
        dolor_status s = dolor_error(DOLOR_EFORMAT, "%s: line %lu: not valid YAML: %s%s%s", path,
                                     (unsigned long)parser.problem_mark.line + 1,
                                     parser.problem ? parser.problem : "parse error",
                                     parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        fclose(fp);
        return s;
    }
    yaml_parser_delete(&parser);
    fclose(fp);
    dolor_status s = DOLOR_OK;
    dolor_study_config *c = calloc(1, sizeof *c);
    ctx cx = {path, &doc};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!c)
        s = dolor_error(DOLOR_ENOMEM, "out of memory");
    else if (!root)
        s = dolor_error(DOLOR_EINVAL, "%s: empty file (a study config needs study, dataset, split, models)", path);
    else if (root->type != YAML_MAPPING_NODE)
        s = dolor_error(DOLOR_EINVAL, "%s: the top level must be a mapping (study:, dataset:, split:, models:)", path);
    if (!s)
        s = walk_map(&cx, root, "", "", c, c);
    if (!s)
        s = check_config(&cx, c);
    if (!s) {
        c->path = strdup(path);
        char *dir = strdup(path);
        if (!c->path || !dir)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
        if (!s) {
            char *slash = strrchr(dir, '/');
            if (slash)
                *slash = '\0';
            else
                dir[0] = '\0';
            s = resolve_in_place(dir, &c->images);
            if (!s)
                s = resolve_in_place(dir, &c->masks);
            if (!s)
                s = resolve_in_place(dir, &c->masks2);
            if (!s)
                s = resolve_in_place(dir, &c->csv);
            if (!s)
                s = resolve_in_place(dir, &c->patients);
        }
        free(dir);
    }
    yaml_document_delete(&doc);
    if (s) {
        dolor_study_config_free(c);
        return s;
    }
    *out = c;
    return DOLOR_OK;
}
