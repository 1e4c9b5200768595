/* Checkpoints as safetensors files (JSON header + raw little-endian float32). */
#define _POSIX_C_SOURCE 200809L
#include "dolor/train.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A tensor to write: name and source pointer. */
typedef struct {
    char name[160];
    int ndim;
    int64_t shape[5];
    size_t numel;
    const float *data;
} st_entry;

/* All extents of a tensor (1 past ndim). */
static void full_shape(const dolor_net_tensor *t, int64_t shape[5])
{
    for (int d = 0; d < 5; d++)
        shape[d] = d < t->ndim ? t->shape[d] : 1;
}

static dolor_status collect(dolor_net *net, const dolor_adamw *opt, st_entry **out, int *count)
{
    int nt = dolor_net_num_tensors(net);
    int total = nt + (opt ? 2 * nt : 0);
    st_entry *e = calloc((size_t)total, sizeof *e);
    if (!e)
        return dolor_error(DOLOR_ENOMEM, "checkpoint: out of memory");
    int k = 0;
    const float *params = dolor_net_params(net), *buffers = dolor_net_buffers(net);
    for (int pass = 0; pass < (opt ? 3 : 1); pass++) {
        for (int i = 0; i < nt; i++) {
            dolor_net_tensor t;
            dolor_status s = dolor_net_tensor_at(net, i, &t);
            if (s) {
                free(e);
                return s;
            }
            if (pass > 0 && t.is_buffer)
                continue;
            const char *prefix = pass == 0 ? "" : pass == 1 ? "optimizer.exp_avg." : "optimizer.exp_avg_sq.";
            snprintf(e[k].name, sizeof e[k].name, "%s%s", prefix, t.name);
            e[k].ndim = t.ndim;
            full_shape(&t, e[k].shape);
            e[k].numel = t.numel;
            if (pass == 0)
                e[k].data = (t.is_buffer ? buffers : params) + t.offset;
            else
                e[k].data = (pass == 1 ? opt->m : opt->v) + t.offset;
            k++;
        }
    }
    *out = e;
    *count = k;
    return DOLOR_OK;
}

dolor_status dolor_checkpoint_save(const char *path, dolor_net *net, const dolor_adamw *opt,
                                   const dolor_model_meta *meta)
{
    if (opt && opt->n != dolor_net_num_params(net))
        return dolor_error(DOLOR_EINVAL, "%s: optimizer holds %zu values but the network has %zu parameters", path,
                           opt->n, dolor_net_num_params(net));
    char cfg[1024];
    if (!dolor_net_arch(net)[0])
        return dolor_error(DOLOR_EINVAL, "%s: the network was not built by the architecture registry, so a checkpoint "
                           "could not rebuild it", path);
    dolor_status s = dolor_net_config_json(net, cfg, sizeof cfg);
    if (s)
        return dolor_error_prefix(s, "%s", path);
    st_entry *e = NULL;
    int n = 0;
    s = collect(net, opt, &e, &n);
    if (s)
        return s;
    cJSON *root = cJSON_CreateObject();
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "dtype", "F32");
        cJSON *shape = cJSON_AddArrayToObject(t, "shape");
        for (int d = 0; d < e[i].ndim; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)e[i].shape[d]));
        cJSON *offs = cJSON_AddArrayToObject(t, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        off += e[i].numel * sizeof(float);
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        cJSON_AddItemToObject(root, e[i].name, t);
    }
    cJSON *md = cJSON_AddObjectToObject(root, "__metadata__");
    char buf[256];
    cJSON_AddStringToObject(md, "format", "pt");
    cJSON_AddStringToObject(md, "dolor_version", DOLOR_VERSION_STRING);
    cJSON_AddStringToObject(md, "architecture", dolor_net_arch(net));
    cJSON_AddStringToObject(md, "config", cfg);
    cJSON *names = cJSON_CreateArray(), *values = cJSON_CreateArray();
    for (int c = 0; c < meta->num_classes; c++) {
        cJSON_AddItemToArray(names, cJSON_CreateString(meta->class_names[c]));
        cJSON_AddItemToArray(values, cJSON_CreateNumber(meta->label_values[c]));
    }
    char *ns = cJSON_PrintUnformatted(names), *vs = cJSON_PrintUnformatted(values);
    cJSON_AddStringToObject(md, "class_names", ns);
    cJSON_AddStringToObject(md, "label_values", vs);
    free(ns);
    free(vs);
    cJSON_Delete(names);
    cJSON_Delete(values);
    if (meta->depth > 0 && !strcmp(meta->task, "segmentation")) /* 3D segmentation: patches at the plan's spacing */
        snprintf(buf, sizeof buf,
                 "{\"depth\":%d,\"height\":%d,\"width\":%d,\"channels\":%d,\"resize\":\"to the plan's spacing\","
                 "\"normalize\":\"plan (train.plan)\",\"inference\":\"3D sliding windows\"}",
                 meta->depth, meta->height, meta->width, meta->in_channels);
    else if (meta->depth > 0) /* a 3D classifier: trilinear to depth x height x width */
        snprintf(buf, sizeof buf,
                 "{\"depth\":%d,\"height\":%d,\"width\":%d,\"grey\":\"bt601\",\"resize\":\"trilinear\",\"normalize\":\"zscore\"}",
                 meta->depth, meta->height, meta->width);
    else if (meta->in_channels > 1) /* dolor_preprocess_channels: each channel resized and z-scored on its own */
        snprintf(buf, sizeof buf,
                 "{\"height\":%d,\"width\":%d,\"channels\":%d,\"grey\":\"none\",\"resize\":\"bilinear\","
                 "\"normalize\":\"zscore per channel\"}",
                 meta->height, meta->width, meta->in_channels);
    else
        snprintf(buf, sizeof buf,
                 "{\"height\":%d,\"width\":%d,\"grey\":\"bt601\",\"resize\":\"bilinear\",\"normalize\":\"zscore\"}",
                 meta->height, meta->width);
    cJSON_AddStringToObject(md, "preprocessing", buf);
    if (meta->task[0])
        cJSON_AddStringToObject(md, "task", meta->task);
    snprintf(buf, sizeof buf, "%d", meta->epoch);
    cJSON_AddStringToObject(md, "epoch", buf);
    snprintf(buf, sizeof buf, "%.17g", meta->val_dice);
    cJSON_AddStringToObject(md, "val_dice", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)(opt ? opt->step : meta->opt_step));
    cJSON_AddStringToObject(md, "optimizer_step", buf);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)meta->seed);
    cJSON_AddStringToObject(md, "seed", buf);
    cJSON_AddStringToObject(md, "train", meta->train_json[0] ? meta->train_json : "{}");
    if (opt) {
        snprintf(buf, sizeof buf, "{\"beta1\":%.9g,\"beta2\":%.9g,\"eps\":%.9g,\"weight_decay\":%.9g}", opt->beta1,
                 opt->beta2, opt->eps, opt->weight_decay);
        cJSON_AddStringToObject(md, "optimizer", buf);
    }
    char *hdr = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!hdr) {
        free(e);
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory building header", path);
    }
    size_t hlen = strlen(hdr);
    size_t padded = (hlen + 7) & ~(size_t)7;
    dolor_outfile f;
    s = dolor_outfile_open(&f, path, 1);
    if (s) {
        free(hdr);
        free(e);
        return s;
    }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    int ok = fwrite(len8, 1, 8, f.fp) == 8 && fwrite(hdr, 1, hlen, f.fp) == hlen;
    for (size_t i = hlen; ok && i < padded; i++)
        ok = fputc(' ', f.fp) != EOF;
    for (int i = 0; ok && i < n; i++)
        ok = fwrite(e[i].data, sizeof(float), e[i].numel, f.fp) == e[i].numel; /* x86-64: little endian */
    free(hdr);
    free(e);
    if (!ok) {
        s = dolor_error(DOLOR_EIO, "%s: write failed (%s)", path, strerror(errno));
        dolor_outfile_abort(&f);
        return s;
    }
    return dolor_outfile_commit(&f);
}

/* ---- loading ---- */

static const char *md_string(cJSON *md, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(md, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Optional integer metadata: absent -> keep *out; present -> must be an integer in [lo, hi]. */
static dolor_status md_int(const char *path, cJSON *md, const char *key, long long lo, long long hi, long long *out)
{
    const char *s = md_string(md, key);
    if (!s)
        return DOLOR_OK;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return dolor_error(DOLOR_EFORMAT, "%s: __metadata__.%s is '%s' (expected an integer %lld..%lld)", path, key, s,
                           lo, hi);
    *out = v;
    return DOLOR_OK;
}

/* Integer-valued JSON number in [lo, hi]. */
static int json_int(cJSON *v, double lo, double hi)
{
    return cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble <= hi && v->valuedouble == (double)(long)v->valuedouble;
}

static dolor_status parse_meta(const char *path, cJSON *md, dolor_model_meta *meta)
{
    memset(meta, 0, sizeof *meta);
    meta->val_dice = NAN;
    if (!cJSON_IsObject(md))
        return dolor_error(DOLOR_EFORMAT, "%s: no __metadata__ (not a dolor checkpoint)", path);
    const char *arch = md_string(md, "architecture");
    if (!arch)
        return dolor_error(DOLOR_EFORMAT, "%s: __metadata__.architecture is missing", path);
    if (strlen(arch) >= sizeof meta->arch_name)
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: __metadata__.architecture '%.40s...' is not in the registry", path,
                           arch);
    snprintf(meta->arch_name, sizeof meta->arch_name, "%s", arch);
    const char *cfg = md_string(md, "config");
    cJSON *c = cfg ? cJSON_Parse(cfg) : NULL;
    if (!cJSON_IsObject(c)) {
        cJSON_Delete(c);
        return dolor_error(DOLOR_EFORMAT, "%s: __metadata__.config is missing or not a JSON object", path);
    }
    if (strlen(cfg) >= sizeof meta->arch_config) {
        cJSON_Delete(c);
        return dolor_error(DOLOR_EFORMAT, "%s: __metadata__.config is %zu bytes (at most %zu)", path, strlen(cfg),
                           sizeof meta->arch_config - 1);
    }
    snprintf(meta->arch_config, sizeof meta->arch_config, "%s", cfg);
    /* every architecture names its input channels and classes; the U-Net's own keys are also kept in meta->arch */
    int is_unet = strcmp(arch, "unet") == 0;
    const char *keys[] = {"in_channels", "num_classes", "base_channels", "depth"};
    int vals[4];
    for (int i = 0; i < (is_unet ? 4 : 2); i++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(c, keys[i]);
        if (!json_int(v, 1, 4096)) {
            cJSON_Delete(c);
            return dolor_error(DOLOR_EFORMAT, "%s: __metadata__.config.%s is missing or out of range", path, keys[i]);
        }
        vals[i] = v->valueint;
    }
    meta->in_channels = vals[0];
    meta->arch.in_channels = vals[0];
    meta->arch.num_classes = vals[1];
    if (is_unet) {
        cJSON *up = cJSON_GetObjectItemCaseSensitive(c, "upsample");
        if (!cJSON_IsString(up) || (strcmp(up->valuestring, "bilinear") && strcmp(up->valuestring, "transposed"))) {
            cJSON_Delete(c);
            return dolor_error(DOLOR_EFORMAT, "%s: __metadata__.config.upsample is not \"transposed\" or \"bilinear\"",
                               path);
        }
        meta->arch.base_channels = vals[2];
        meta->arch.depth = vals[3];
        meta->arch.upsample = strcmp(up->valuestring, "bilinear") == 0 ? DOLOR_UP_BILINEAR : DOLOR_UP_TRANSPOSED;
        /* absent in checkpoints from before the 3D U-Net: 2D */
        cJSON *sd = cJSON_GetObjectItemCaseSensitive(c, "spatial_dims");
        if (sd && !json_int(sd, 2, 3)) {
            cJSON_Delete(c);
            return dolor_error(DOLOR_EFORMAT, "%s: __metadata__.config.spatial_dims is not 2 or 3", path);
        }
        meta->arch.spatial_dims = sd ? sd->valueint : 2;
    }
    cJSON_Delete(c);
    meta->num_classes = meta->arch.num_classes;
    /* a classifier names its classes, which a single-logit binary net has 2 of */
    const char *task = md_string(md, "task");
    if (task && strcmp(task, "classification") && strcmp(task, "segmentation") && strcmp(task, "detection"))
        return dolor_error(DOLOR_EFORMAT,
                           "%s: __metadata__.task '%.40s' is not classification, segmentation or detection", path, task);
    if (task)
        snprintf(meta->task, sizeof meta->task, "%s", task);
    if (task && strcmp(task, "classification") == 0 && meta->num_classes == 1)
        meta->num_classes = 2;
    if (meta->num_classes > DOLOR_MAX_CLASSES)
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: %d classes (at most %d)", path, meta->num_classes,
                           DOLOR_MAX_CLASSES);
    const char *ns = md_string(md, "class_names"), *vs = md_string(md, "label_values");
    cJSON *names = ns ? cJSON_Parse(ns) : NULL, *values = vs ? cJSON_Parse(vs) : NULL;
    int ok = cJSON_IsArray(names) && cJSON_IsArray(values) && cJSON_GetArraySize(names) == meta->num_classes &&
             cJSON_GetArraySize(values) == meta->num_classes;
    for (int i = 0; ok && i < meta->num_classes; i++) {
        cJSON *n = cJSON_GetArrayItem(names, i), *v = cJSON_GetArrayItem(values, i);
        ok = cJSON_IsString(n) && json_int(v, 0, 65535);
        if (ok) {
            snprintf(meta->class_names[i], sizeof meta->class_names[i], "%s", n->valuestring);
            meta->label_values[i] = v->valueint;
        }
    }
    cJSON_Delete(names);
    cJSON_Delete(values);
    if (!ok)
        return dolor_error(DOLOR_EFORMAT, "%s: __metadata__.class_names/label_values missing or not %d entries", path,
                           meta->num_classes);
    const char *pp = md_string(md, "preprocessing");
    cJSON *p = pp ? cJSON_Parse(pp) : NULL;
    cJSON *h = cJSON_GetObjectItemCaseSensitive(p, "height"), *w = cJSON_GetObjectItemCaseSensitive(p, "width");
    if (!json_int(h, 8, 8192) || !json_int(w, 8, 8192)) {
        cJSON_Delete(p);
        return dolor_error(DOLOR_EFORMAT, "%s: __metadata__.preprocessing height/width missing or out of range", path);
    }
    meta->height = h->valueint;
    meta->width = w->valueint;
    cJSON *dp = cJSON_GetObjectItemCaseSensitive(p, "depth");
    if (dp && !json_int(dp, 1, 4096)) {
        cJSON_Delete(p);
        return dolor_error(DOLOR_EFORMAT, "%s: __metadata__.preprocessing depth out of range", path);
    }
    meta->depth = dp ? dp->valueint : 0;
    cJSON_Delete(p);
    long long epoch = 0, step = 0, seed = 0;
    dolor_status st = md_int(path, md, "epoch", 0, 1000000000LL, &epoch);
    if (!st)
        st = md_int(path, md, "optimizer_step", 0, (long long)1 << 62, &step);
    if (!st)
        st = md_int(path, md, "seed", 0, (long long)1 << 62, &seed);
    if (st)
        return st;
    meta->epoch = (int)epoch;
    meta->opt_step = step;
    meta->seed = (uint64_t)seed;
    const char *s;
    if ((s = md_string(md, "val_dice"))) {
        char *end;
        meta->val_dice = strtod(s, &end);
        if (!*s || *end)
            return dolor_error(DOLOR_EFORMAT, "%s: __metadata__.val_dice is '%s' (expected a number)", path, s);
    }
    if ((s = md_string(md, "train")))
        snprintf(meta->train_json, sizeof meta->train_json, "%s", s);
    return DOLOR_OK;
}

/* Find the header entry for `name`, check dtype and shape, return data range. */
static dolor_status find_tensor(const char *path, cJSON *root, const char *name, int ndim, const int64_t *shape,
                                size_t numel, uint64_t data_len, uint64_t *begin)
{
    cJSON *t = cJSON_GetObjectItemCaseSensitive(root, name);
    if (!cJSON_IsObject(t))
        return dolor_error(DOLOR_EFORMAT, "%s: tensor '%s' is missing", path, name);
    cJSON *dt = cJSON_GetObjectItemCaseSensitive(t, "dtype");
    if (!cJSON_IsString(dt) || strcmp(dt->valuestring, "F32") != 0)
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: tensor '%s' has dtype %s (dolor reads F32)", path, name,
                           cJSON_IsString(dt) ? dt->valuestring : "?");
    cJSON *sh = cJSON_GetObjectItemCaseSensitive(t, "shape");
    int ok = cJSON_IsArray(sh) && cJSON_GetArraySize(sh) == ndim;
    for (int d = 0; ok && d < ndim; d++) {
        cJSON *v = cJSON_GetArrayItem(sh, d);
        ok = json_int(v, 0, 9.0e15) && (int64_t)v->valuedouble == shape[d]; /* range first: the cast of a huge double is UB */
    }
    if (!ok) {
        char want[96] = "";
        for (int d = 0; d < ndim; d++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", d ? "," : "", (long long)shape[d]);
        char *got = cJSON_PrintUnformatted(sh);
        dolor_status s = dolor_error(DOLOR_EFORMAT, "%s: tensor '%s' has shape %s but the model needs [%s]", path,
                                     name, got ? got : "?", want);
        free(got);
        return s;
    }
    cJSON *offs = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    cJSON *b = cJSON_GetArrayItem(offs, 0), *e = cJSON_GetArrayItem(offs, 1);
    if (!json_int(b, 0, 9.0e15) || !json_int(e, 0, 9.0e15) || e->valuedouble < b->valuedouble ||
        (uint64_t)e->valuedouble - (uint64_t)b->valuedouble != numel * sizeof(float))
        return dolor_error(DOLOR_EFORMAT, "%s: tensor '%s' has bad data_offsets", path, name);
    if ((uint64_t)e->valuedouble > data_len)
        return dolor_error(DOLOR_EFORMAT, "%s: truncated: tensor '%s' ends at byte %.0f of a %llu-byte data section",
                           path, name, e->valuedouble, (unsigned long long)data_len);
    *begin = (uint64_t)b->valuedouble;
    return DOLOR_OK;
}

/* Open a safetensors file and parse its header; checks that the data section
 * holds every listed tensor. On success the caller owns *fp and *root. */
static dolor_status open_header(const char *path, FILE **fp_out, cJSON **root_out, uint64_t *data_start,
                                uint64_t *data_len)
{
    *fp_out = NULL;
    *root_out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return dolor_error(errno == ENOENT ? DOLOR_ENOTFOUND : DOLOR_EIO, "%s: cannot open (%s)", path,
                           strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) != 0) {
        fclose(fp);
        return dolor_error(DOLOR_EIO, "%s: cannot stat", path);
    }
    uint64_t fsize = (uint64_t)st.st_size;
    uint8_t len8[8];
    if (fsize < 10 || fread(len8, 1, 8, fp) != 8) {
        fclose(fp);
        return dolor_error(DOLOR_EFORMAT, "%s: not a safetensors file (only %llu bytes)", path,
                           (unsigned long long)fsize);
    }
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++)
        hlen |= (uint64_t)len8[i] << (8 * i);
    if (hlen < 2 || hlen > 100000000ULL) {
        fclose(fp);
        return dolor_error(DOLOR_EFORMAT, "%s: not a safetensors file (header length %llu)", path,
                           (unsigned long long)hlen);
    }
    if (hlen > fsize - 8) {
        fclose(fp);
        return dolor_error(DOLOR_EFORMAT, "%s: truncated: header of %llu bytes but file has %llu", path,
                           (unsigned long long)hlen, (unsigned long long)fsize);
    }
    char *hdr = malloc(hlen + 1);
    if (!hdr) {
        fclose(fp);
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
    }
    if (fread(hdr, 1, hlen, fp) != hlen) {
        free(hdr);
        fclose(fp);
        return dolor_error(DOLOR_EIO, "%s: read failed", path);
    }
    hdr[hlen] = '\0';
    cJSON *root = hdr[0] == '{' ? cJSON_Parse(hdr) : NULL;
    free(hdr);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        fclose(fp);
        return dolor_error(DOLOR_EFORMAT, "%s: not a safetensors file (header is not a JSON object)", path);
    }
    *data_start = 8 + hlen;
    *data_len = fsize - *data_start;
    /* the data section must hold every tensor the header lists, read or not */
    double need = 0;
    cJSON *it;
    cJSON_ArrayForEach(it, root)
    {
        cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(it, "data_offsets"), 1);
        if (cJSON_IsNumber(e) && e->valuedouble > need)
            need = e->valuedouble;
    }
    if (need > (double)*data_len) {
        cJSON_Delete(root);
        fclose(fp);
        return dolor_error(DOLOR_EFORMAT, "%s: truncated: tensors need %.0f bytes of data but the file has %llu", path,
                           need, (unsigned long long)*data_len);
    }
    *fp_out = fp;
    *root_out = root;
    return DOLOR_OK;
}

dolor_status dolor_checkpoint_read_meta(const char *path, dolor_model_meta *meta)
{
    FILE *fp;
    cJSON *root;
    uint64_t start, len;
    dolor_status s = open_header(path, &fp, &root, &start, &len);
    if (s)
        return s;
    s = parse_meta(path, cJSON_GetObjectItemCaseSensitive(root, "__metadata__"), meta);
    cJSON_Delete(root);
    fclose(fp);
    return s;
}

dolor_status dolor_checkpoint_load(const char *path, dolor_net **net_out, dolor_adamw **opt_out,
                                   dolor_model_meta *meta)
{
    *net_out = NULL;
    if (opt_out)
        *opt_out = NULL;
    FILE *fp;
    cJSON *root;
    uint64_t data_start, data_len;
    dolor_status s = open_header(path, &fp, &root, &data_start, &data_len);
    if (s)
        return s;
    s = parse_meta(path, cJSON_GetObjectItemCaseSensitive(root, "__metadata__"), meta);
    dolor_net *net = NULL;
    dolor_adamw *opt = NULL;
    if (!s) {
        /* The registry refuses, before allocating, a network whose weights would not fit in the data section: a
         * 4 KB file (found by fuzz_safetensors) claiming base_channels 2048 and depth 5 asked for a 509 GB
         * allocation. With this limit what is allocated stays within a few times the file size. */
        s = dolor_arch_build_limited(meta->arch_name, meta->arch_config, (size_t)data_len, &net);
        if (s == DOLOR_ENOTFOUND)
            s = dolor_error_prefix(DOLOR_EUNSUPPORTED, "%s", path);
        else if (s == DOLOR_ESHAPE)
            s = dolor_error_prefix(DOLOR_EFORMAT, "%s: truncated (%llu bytes of tensor data)", path,
                                   (unsigned long long)data_len);
        else if (s)
            s = dolor_error_prefix(s, "%s: %s %s", path, meta->arch_name, meta->arch_config);
    }
    if (s)
        goto fail;
    /* optimizer state is present if the first parameter tensor has an exp_avg entry */
    int has_opt = 0;
    for (int i = 0; opt_out && i < dolor_net_num_tensors(net); i++) {
        dolor_net_tensor t0;
        dolor_net_tensor_at(net, i, &t0);
        if (t0.is_buffer)
            continue;
        char nm[200];
        snprintf(nm, sizeof nm, "optimizer.exp_avg.%s", t0.name);
        has_opt = cJSON_GetObjectItemCaseSensitive(root, nm) != NULL;
        break;
    }
    if (has_opt) {
        cJSON *md = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
        const char *os = md_string(md, "optimizer");
        cJSON *o = os ? cJSON_Parse(os) : NULL;
        const char *keys[4] = {"beta1", "beta2", "eps", "weight_decay"};
        float hp[4];
        for (int k = 0; k < 4 && !s; k++) {
            cJSON *v = cJSON_GetObjectItemCaseSensitive(o, keys[k]);
            if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 10)
                s = dolor_error(DOLOR_EFORMAT, "%s: __metadata__.optimizer.%s is missing or out of range", path,
                                keys[k]);
            else
                hp[k] = (float)v->valuedouble;
        }
        cJSON_Delete(o);
        if (!s)
            s = dolor_adamw_create(dolor_net_num_params(net), hp[0], hp[1], hp[2], hp[3], &opt);
        if (s)
            goto fail;
        opt->step = meta->opt_step;
    }
    int nt = dolor_net_num_tensors(net);
    float *params = dolor_net_params(net), *buffers = dolor_net_buffers(net);
    for (int pass = 0; pass < (has_opt ? 3 : 1) && !s; pass++) {
        for (int i = 0; i < nt && !s; i++) {
            dolor_net_tensor t;
            dolor_net_tensor_at(net, i, &t);
            if (pass > 0 && t.is_buffer)
                continue;
            char nm[200];
            const char *prefix = pass == 0 ? "" : pass == 1 ? "optimizer.exp_avg." : "optimizer.exp_avg_sq.";
            snprintf(nm, sizeof nm, "%s%s", prefix, t.name);
            uint64_t begin = 0;
            int64_t shp[5];
            full_shape(&t, shp);
            s = find_tensor(path, root, nm, t.ndim, shp, t.numel, data_len, &begin);
            if (s)
                break;
            float *dst = pass == 0 ? (t.is_buffer ? buffers : params) + t.offset : (pass == 1 ? opt->m : opt->v) + t.offset;
            if (fseeko(fp, (off_t)(data_start + begin), SEEK_SET) != 0 || fread(dst, sizeof(float), t.numel, fp) != t.numel)
                s = dolor_error(DOLOR_EFORMAT, "%s: truncated while reading tensor '%s'", path, nm);
        }
    }
    if (s)
        goto fail;
    cJSON_Delete(root);
    fclose(fp);
    *net_out = net;
    if (opt_out)
        *opt_out = opt;
    return DOLOR_OK;
fail:
    cJSON_Delete(root);
    fclose(fp);
    dolor_net_free(net);
    dolor_adamw_free(opt);
    return s;
}
