/* Dataset fingerprint and the 3D plan derived from it, as nnU-Net configures itself (Isensee et al.,
 * Nature Methods 18:203, 2021; the rules are in include/dolor/data.h). */
#define _GNU_SOURCE
#include "data_priv.h"
#include "dolor/io.h"
#include "dolor/stats.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dolor_fingerprint_free(dolor_fingerprint *fp)
{
    if (!fp)
        return;
    free(fp->case_ids);
    free(fp->spacing);
    free(fp->size);
    free(fp);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* numpy.percentile (linear interpolation) of sorted v[0..n-1], q in 0..100 */
static double percentile_sorted(const float *v, size_t n, double q)
{
    if (n == 0)
        return NAN;
    double pos = q / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
    double f = pos - (double)lo;
    return (double)v[lo] + f * ((double)v[hi] - (double)v[lo]);
}

/* numpy.percentile (linear) = R's quantile type 7 of v[0..n-1], q in 0..100; NaN when undefined */
static double percentile_d(const double *v, size_t n, double q)
{
    double r;
    if (dolor_stats_quantile(v, n, q / 100.0, DOLOR_QUANTILE_R7, &r) != DOLOR_OK) {
        dolor_error_clear();
        return NAN;
    }
    return r;
}

dolor_status dolor_fingerprint_compute(const char *dir, dolor_fingerprint **out)
{
    *out = NULL;
    dolor_nnunet_info *info = NULL;
    dolor_nnunet_case *cases = NULL;
    size_t n = 0;
    dolor_status s = dolor_nnunet_info_read(dir, &info);
    if (s)
        return s;
    if (info->nlabels > DOLOR_FP_MAX_CLASSES) {
        s = dolor_error(DOLOR_EINVAL, "%s/dataset.json: %d labels (at most %d)", dir, info->nlabels,
                        DOLOR_FP_MAX_CLASSES);
        dolor_nnunet_info_free(info);
        return s;
    }
    char idir[4096], path[4200];
    snprintf(idir, sizeof idir, "%s/imagesTr", dir);
    s = dolor_nnunet_list_cases(idir, info->file_ending, info->nchannels, &cases, &n);
    dolor_fingerprint *fp = calloc(1, sizeof *fp);
    float *fg[DOLOR_MAX_CHANNELS] = {0};
    size_t nfg = 0, capfg = 0;
    if (!s && !fp)
        s = dolor_error(DOLOR_ENOMEM, "fingerprint: out of memory");
    if (!s) {
        fp->ncases = n;
        fp->nchannels = info->nchannels;
        fp->nclasses = info->nlabels;
        snprintf(fp->file_ending, sizeof fp->file_ending, "%s", info->file_ending);
        for (int c = 0; c < info->nchannels; c++)
            snprintf(fp->channel_names[c], 64, "%s", info->channel_names[c]);
        for (int k = 0; k < info->nlabels; k++)
            snprintf(fp->class_names[k], 64, "%s", info->label_names[k]);
        fp->case_ids = calloc(n, sizeof *fp->case_ids);
        fp->spacing = calloc(n, sizeof *fp->spacing);
        fp->size = calloc(n, sizeof *fp->size);
        if (!fp->case_ids || !fp->spacing || !fp->size)
            s = dolor_error(DOLOR_ENOMEM, "fingerprint: out of memory for %zu cases", n);
    }
    for (size_t i = 0; !s && i < n; i++) {
        dolor_image *img = NULL, *lab = NULL;
        snprintf(fp->case_ids[i], 64, "%s", cases[i].id);
        s = dolor_image_read_channels((const char *const *)cases[i].channel_paths, cases[i].nfiles, &img);
        snprintf(path, sizeof path, "%s/labelsTr/%s%s", dir, cases[i].id, info->file_ending);
        if (!s)
            s = dolor_image_read(path, &lab);
        if (s == DOLOR_EIO || s == DOLOR_ENOTFOUND)
            s = dolor_error(DOLOR_ENOTFOUND, "%s: case %s has no readable label map (%s)", path, cases[i].id,
                            dolor_errmsg());
        if (!s && (img->ndim > 3 || lab->ndim > 3))
            s = dolor_error(DOLOR_EUNSUPPORTED, "%s: %dD image (2D or 3D only)", cases[i].channel_paths[0],
                            img->ndim > 3 ? img->ndim : lab->ndim);
        if (!s && (img->size[0] != lab->size[0] || img->size[1] != lab->size[1] ||
                   (img->ndim > 2 ? img->size[2] : 1) != (lab->ndim > 2 ? lab->size[2] : 1)))
            s = dolor_error(DOLOR_ESHAPE, "%s: %lldx%lldx%lld but image %s is %lldx%lldx%lld", path,
                            (long long)lab->size[0], (long long)lab->size[1],
                            (long long)(lab->ndim > 2 ? lab->size[2] : 1), cases[i].channel_paths[0],
                            (long long)img->size[0], (long long)img->size[1],
                            (long long)(img->ndim > 2 ? img->size[2] : 1));
        if (!s && img->ncomp != info->nchannels)
            s = dolor_error(DOLOR_ESHAPE, "%s: %d components, dataset.json has %d channels", cases[i].channel_paths[0],
                            img->ncomp, info->nchannels);
        if (!s) {
            for (int a = 0; a < 3; a++) {
                fp->spacing[i][a] = a < img->ndim ? img->spacing[a] : 1.0;
                fp->size[i][a] = a < img->ndim ? img->size[a] : 1;
            }
            size_t nv = dolor_image_nvox(img);
            for (size_t v = 0; !s && v < nv; v++) {
                double lv = dolor_image_get(lab, v * (size_t)lab->ncomp);
                if (!(lv >= 0 && lv < info->nlabels && lv == floor(lv))) {
                    s = dolor_error(DOLOR_EINVAL, "%s: label value %g at voxel %zu is not one of dataset.json's "
                                    "labels 0..%d", path, lv, v, info->nlabels - 1);
                    break;
                }
                fp->class_voxels[(int)lv]++;
                if (lv == 0)
                    continue;
                if (nfg == capfg) {
                    size_t nc = capfg ? 2 * capfg : (size_t)1 << 16;
                    for (int c = 0; c < info->nchannels && !s; c++) {
                        float *t = realloc(fg[c], nc * sizeof(float));
                        if (!t)
                            s = dolor_error(DOLOR_ENOMEM, "fingerprint: out of memory for %zu foreground voxels",
                                            nc);
                        else
                            fg[c] = t;
                    }
                    capfg = nc;
                }
                for (int c = 0; !s && c < info->nchannels; c++)
                    fg[c][nfg] = (float)dolor_image_get(img, v * (size_t)img->ncomp + (size_t)c);
                nfg++;
            }
        }
        if (s)
            dolor_error_prefix(s, "fingerprint of %s", cases[i].id);
        dolor_image_free(img);
        dolor_image_free(lab);
    }
    for (int c = 0; !s && c < info->nchannels; c++) {
        dolor_intensity_stats *st = &fp->intensity[c];
        double sum = 0, ss = 0;
        for (size_t v = 0; v < nfg; v++)
            sum += fg[c][v];
        st->n = (int64_t)nfg;
        st->mean = nfg ? sum / (double)nfg : NAN;
        for (size_t v = 0; v < nfg; v++)
            ss += ((double)fg[c][v] - st->mean) * ((double)fg[c][v] - st->mean);
        st->sd = nfg ? sqrt(ss / (double)nfg) : NAN;
        qsort(fg[c], nfg, sizeof(float), cmp_float);
        st->median = percentile_sorted(fg[c], nfg, 50);
        st->p00_5 = percentile_sorted(fg[c], nfg, 0.5);
        st->p99_5 = percentile_sorted(fg[c], nfg, 99.5);
        st->min = nfg ? fg[c][0] : NAN;
        st->max = nfg ? fg[c][nfg - 1] : NAN;
    }
    for (int c = 0; c < DOLOR_MAX_CHANNELS; c++)
        free(fg[c]);
    dolor_nnunet_cases_free(cases, n);
    dolor_nnunet_info_free(info);
    if (s) {
        dolor_fingerprint_free(fp);
        return s;
    }
    *out = fp;
    return DOLOR_OK;
}

void dolor_plan_opts_default(dolor_plan_opts *o)
{
    o->max_patch_voxels = 262144;
    o->memory_mb = 2048;
    o->base_channels = 16;
    o->batch_size = 2;
}

/* training memory estimate (MB) of a 3D U-Net on patch p (see data.h) */
static double est_memory_mb(const int p[3], int depth, int base, int batch)
{
    double vox = (double)p[0] * p[1] * p[2], vals = 0;
    for (int l = 0; l <= depth; l++)
        vals += vox / pow(8.0, l) * (double)(base << l) * 28.0;
    return (double)batch * vals * 4.0 / (1024.0 * 1024.0);
}

dolor_status dolor_plan_derive(const dolor_fingerprint *fp, const char *dataset, const dolor_plan_opts *o,
                               dolor_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    if (o->max_patch_voxels < 4096 || !(o->memory_mb > 0) || o->base_channels < 1 || o->base_channels > 64 ||
        o->batch_size < 1 || o->batch_size > 64)
        return dolor_error(DOLOR_EINVAL, "plan: max_patch_voxels %ld (>= 4096), memory_mb %g (> 0), base_channels %d "
                           "(1..64), batch_size %d (1..64)", o->max_patch_voxels, o->memory_mb, o->base_channels,
                           o->batch_size);
    if (!fp || fp->ncases == 0)
        return dolor_error(DOLOR_EINVAL, "plan: the fingerprint has no cases");
    size_t n = fp->ncases;
    double *col = malloc(n * sizeof *col);
    if (!col)
        return dolor_error(DOLOR_ENOMEM, "plan: out of memory");
    double target[3], msize[3];
    for (int a = 0; a < 3; a++) {
        for (size_t i = 0; i < n; i++)
            col[i] = fp->spacing[i][a];
        target[a] = percentile_d(col, n, 50);
        for (size_t i = 0; i < n; i++)
            col[i] = (double)fp->size[i][a];
        msize[a] = percentile_d(col, n, 50);
    }
    /* anisotropy (nnU-Net's threshold 3) */
    int worst = 0;
    for (int a = 1; a < 3; a++)
        if (target[a] > target[worst])
            worst = a;
    double other_sp = 0, other_sz = INFINITY;
    for (int a = 0; a < 3; a++)
        if (a != worst) {
            other_sp = fmax(other_sp, target[a]);
            other_sz = fmin(other_sz, msize[a]);
        }
    if (target[worst] > 3.0 * other_sp && msize[worst] * 3.0 < other_sz) {
        for (size_t i = 0; i < n; i++)
            col[i] = fp->spacing[i][worst];
        double t = percentile_d(col, n, 10);
        if (t < other_sp)
            t = fmax(other_sp, t) + 1e-5;
        target[worst] = t;
    }
    /* median size after resampling */
    double m[3];
    for (int a = 0; a < 3; a++) {
        for (size_t i = 0; i < n; i++)
            col[i] = nearbyint((double)fp->size[i][a] * fp->spacing[i][a] / target[a]);
        m[a] = percentile_d(col, n, 50);
    }
    free(col);
    for (int a = 0; a < 3; a++)
        if (m[a] < 8)
            return dolor_error(DOLOR_EINVAL, "plan: median size %g voxels along axis %c after resampling (a 3D "
                               "U-Net needs at least 8)", m[a], "xyz"[a]);
    double tmp[3], prod = 1;
    for (int a = 0; a < 3; a++) {
        tmp[a] = 1.0 / target[a];
        prod *= tmp[a];
    }
    double scale = cbrt((double)o->max_patch_voxels / prod);
    double p[3];
    for (int a = 0; a < 3; a++)
        p[a] = fmin(nearbyint(tmp[a] * scale), m[a]);
    int q[3], depth = 1;
    for (int guard = 0; guard < 100000; guard++) {
        double mn = fmin(p[0], fmin(p[1], p[2]));
        depth = (int)floor(log2(mn / 4.0));
        depth = depth < 1 ? 1 : depth > 5 ? 5 : depth;
        int f = 1 << depth;
        for (int a = 0; a < 3; a++)
            q[a] = (int)ceil(p[a] / f) * f;
        double vox = (double)q[0] * q[1] * q[2];
        if (vox <= (double)o->max_patch_voxels &&
            est_memory_mb(q, depth, o->base_channels, o->batch_size) <= o->memory_mb)
            break;
        int ax = -1; /* the axis with the largest p / m among those that stay >= 8 voxels */
        for (int a = 0; a < 3; a++)
            if (p[a] - f >= 8 && (ax < 0 || p[a] / m[a] > p[ax] / m[ax]))
                ax = a;
        if (ax < 0)
            return dolor_error(DOLOR_EINVAL, "plan: no patch of at least 8 voxels per axis fits %ld voxels and %g MB",
                               o->max_patch_voxels, o->memory_mb);
        p[ax] -= f;
    }
    snprintf(plan->dataset, sizeof plan->dataset, "%s", dataset ? dataset : "");
    plan->nchannels = fp->nchannels;
    plan->nclasses = fp->nclasses;
    for (int c = 0; c < fp->nchannels; c++) {
        snprintf(plan->channel_names[c], 64, "%s", fp->channel_names[c]);
        plan->ct[c] = strcasecmp(fp->channel_names[c], "CT") == 0;
        plan->ct_clip[c][0] = fp->intensity[c].p00_5;
        plan->ct_clip[c][1] = fp->intensity[c].p99_5;
        plan->ct_mean[c] = fp->intensity[c].mean;
        plan->ct_sd[c] = fp->intensity[c].sd;
    }
    for (int k = 0; k < fp->nclasses; k++)
        snprintf(plan->class_names[k], 64, "%s", fp->class_names[k]);
    for (int a = 0; a < 3; a++) {
        plan->target_spacing[a] = target[a];
        plan->patch[a] = q[a];
    }
    plan->batch_size = o->batch_size;
    plan->depth = depth;
    plan->base_channels = o->base_channels;
    plan->foreground_fraction = 1.0 / 3.0;
    plan->max_patch_voxels = o->max_patch_voxels;
    plan->memory_mb = o->memory_mb;
    plan->est_memory_mb = est_memory_mb(q, depth, o->base_channels, o->batch_size);
    return DOLOR_OK;
}

static void put_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.10g", v);
    else
        fputs("null", f);
}

static void put_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", (unsigned char)*s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

dolor_status dolor_plan_write(const dolor_plan *pl, const dolor_fingerprint *fp, const char *path)
{
    dolor_outfile of;
    dolor_status s = dolor_outfile_open(&of, path, 1);
    if (s)
        return s;
    FILE *f = of.fp;
    fprintf(f, "{\n  \"dolor_plan\": 1,\n  \"source\": \"nnU-Net's rules (Isensee et al., Nature Methods 18:203, "
               "2021), include/dolor/data.h\",\n  \"dataset\": ");
    put_str(f, pl->dataset);
    fprintf(f, ",\n  \"configuration\": \"3d_fullres\",\n  \"channels\": [");
    for (int c = 0; c < pl->nchannels; c++) {
        fputs(c ? ", " : "", f);
        put_str(f, pl->channel_names[c]);
    }
    fprintf(f, "],\n  \"classes\": [");
    for (int k = 0; k < pl->nclasses; k++) {
        fputs(k ? ", " : "", f);
        put_str(f, pl->class_names[k]);
    }
    fprintf(f, "],\n  \"target_spacing_mm_xyz\": [");
    for (int a = 0; a < 3; a++) {
        fputs(a ? ", " : "", f);
        put_num(f, pl->target_spacing[a]);
    }
    fprintf(f, "],\n  \"patch_size_xyz\": [%d, %d, %d],\n  \"batch_size\": %d,\n", pl->patch[0], pl->patch[1],
            pl->patch[2], pl->batch_size);
    fprintf(f, "  \"architecture\": \"unet\",\n  \"arch_config\": {\"in_channels\": %d, \"num_classes\": %d, "
               "\"base_channels\": %d, \"depth\": %d, \"upsample\": \"transposed\", \"spatial_dims\": 3},\n",
            pl->nchannels, pl->nclasses, pl->base_channels, pl->depth);
    fprintf(f, "  \"normalization\": [");
    for (int c = 0; c < pl->nchannels; c++) {
        fputs(c ? ", " : "", f);
        if (pl->ct[c]) {
            fprintf(f, "{\"scheme\": \"ct\", \"clip\": [");
            put_num(f, pl->ct_clip[c][0]);
            fputs(", ", f);
            put_num(f, pl->ct_clip[c][1]);
            fputs("], \"mean\": ", f);
            put_num(f, pl->ct_mean[c]);
            fputs(", \"sd\": ", f);
            put_num(f, pl->ct_sd[c]);
            fputc('}', f);
        } else
            fprintf(f, "{\"scheme\": \"zscore\"}");
    }
    fprintf(f, "],\n  \"foreground_fraction\": ");
    put_num(f, pl->foreground_fraction);
    fprintf(f, ",\n  \"max_patch_voxels\": %ld,\n  \"memory_mb\": ", pl->max_patch_voxels);
    put_num(f, pl->memory_mb);
    fprintf(f, ",\n  \"est_memory_mb\": ");
    put_num(f, pl->est_memory_mb);
    if (fp) {
        fprintf(f, ",\n  \"fingerprint\": {\n    \"cases\": [");
        for (size_t i = 0; i < fp->ncases; i++) {
            fprintf(f, "%s\n      {\"id\": ", i ? "," : "");
            put_str(f, fp->case_ids[i]);
            fprintf(f, ", \"spacing_mm_xyz\": [");
            for (int a = 0; a < 3; a++) {
                fputs(a ? ", " : "", f);
                put_num(f, fp->spacing[i][a]);
            }
            fprintf(f, "], \"size_xyz\": [%lld, %lld, %lld]}", (long long)fp->size[i][0], (long long)fp->size[i][1],
                    (long long)fp->size[i][2]);
        }
        fprintf(f, "\n    ],\n    \"intensity_foreground\": [");
        for (int c = 0; c < fp->nchannels; c++) {
            const dolor_intensity_stats *st = &fp->intensity[c];
            fprintf(f, "%s\n      {\"channel\": ", c ? "," : "");
            put_str(f, fp->channel_names[c]);
            const char *k[] = {"mean", "sd", "median", "percentile_00_5", "percentile_99_5", "min", "max"};
            double v[] = {st->mean, st->sd, st->median, st->p00_5, st->p99_5, st->min, st->max};
            for (int j = 0; j < 7; j++) {
                fprintf(f, ", \"%s\": ", k[j]);
                put_num(f, v[j]);
            }
            fprintf(f, ", \"voxels\": %lld}", (long long)st->n);
        }
        int64_t tot = 0;
        for (int k = 0; k < fp->nclasses; k++)
            tot += fp->class_voxels[k];
        fprintf(f, "\n    ],\n    \"class_voxels\": {");
        for (int k = 0; k < fp->nclasses; k++) {
            fputs(k ? ", " : "", f);
            put_str(f, fp->class_names[k]);
            fprintf(f, ": %lld", (long long)fp->class_voxels[k]);
        }
        fprintf(f, "},\n    \"class_fraction\": {");
        for (int k = 0; k < fp->nclasses; k++) {
            fputs(k ? ", " : "", f);
            put_str(f, fp->class_names[k]);
            fputs(": ", f);
            put_num(f, tot ? (double)fp->class_voxels[k] / (double)tot : NAN);
        }
        fprintf(f, "}\n  }");
    }
    fprintf(f, "\n}\n");
    return dolor_outfile_commit(&of);
}

static cJSON *get(cJSON *o, const char *key, const char *path, dolor_status *s)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!*s && !v)
        *s = dolor_error(DOLOR_EFORMAT, "%s: key \"%s\" is missing", path, key);
    return v;
}

/* an array of n numbers in lo..hi */
static dolor_status nums(cJSON *o, const char *key, int n, double lo, double hi, double *out, const char *path)
{
    cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
        return dolor_error(DOLOR_EFORMAT, "%s: \"%s\" must be a list of %d numbers", path, key, n);
    for (int i = 0; i < n; i++) {
        cJSON *v = cJSON_GetArrayItem(a, i);
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi))
            return dolor_error(DOLOR_EFORMAT, "%s: \"%s\"[%d] must be a number in %g..%g", path, key, i, lo, hi);
        out[i] = v->valuedouble;
    }
    return DOLOR_OK;
}

static dolor_status num(cJSON *o, const char *key, double lo, double hi, int integer, double *out, const char *path)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi) ||
        (integer && v->valuedouble != floor(v->valuedouble)))
        return dolor_error(DOLOR_EFORMAT, "%s: \"%s\" must be %s in %g..%g", path, key,
                           integer ? "an integer" : "a number", lo, hi);
    *out = v->valuedouble;
    return DOLOR_OK;
}

static dolor_status names(cJSON *o, const char *key, int lo, int hi, char (*dst)[64], int *n, const char *path)
{
    cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    int k = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (k < lo || k > hi)
        return dolor_error(DOLOR_EFORMAT, "%s: \"%s\" must be a list of %d..%d names", path, key, lo, hi);
    for (int i = 0; i < k; i++) {
        cJSON *v = cJSON_GetArrayItem(a, i);
        if (!cJSON_IsString(v) || strlen(v->valuestring) >= 64)
            return dolor_error(DOLOR_EFORMAT, "%s: \"%s\"[%d] must be a name (< 64 bytes)", path, key, i);
        snprintf(dst[i], 64, "%s", v->valuestring);
    }
    *n = k;
    return DOLOR_OK;
}

dolor_status dolor_plan_read(const char *path, dolor_plan *pl)
{
    memset(pl, 0, sizeof *pl);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return dolor_error(DOLOR_ENOTFOUND, "%s: cannot open (%s)", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            if (cap >= (size_t)64 << 20) {
                free(buf);
                fclose(fp);
                return dolor_error(DOLOR_EFORMAT, "%s: larger than 64 MB (not a plan)", path);
            }
            char *t = realloc(buf, (cap ? 2 * cap : 65536) + 1);
            if (!t) {
                free(buf);
                fclose(fp);
                return dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
            }
            buf = t;
            cap = cap ? 2 * cap : 65536;
        }
        size_t r = fread(buf + len, 1, cap - len, fp);
        len += r;
        if (r == 0)
            break;
    }
    fclose(fp);
    buf[len] = 0;
    cJSON *o = cJSON_Parse(buf);
    free(buf);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return dolor_error(DOLOR_EFORMAT, "%s: not a JSON object", path);
    }
    dolor_status s = DOLOR_OK;
    double v, t3[3];
    cJSON *d = get(o, "dolor_plan", path, &s);
    if (!s && (!cJSON_IsNumber(d) || d->valuedouble != 1))
        s = dolor_error(DOLOR_EFORMAT, "%s: \"dolor_plan\" is not 1 (a plan of another version)", path);
    cJSON *ds = get(o, "dataset", path, &s);
    if (!s && (!cJSON_IsString(ds) || strlen(ds->valuestring) >= sizeof pl->dataset))
        s = dolor_error(DOLOR_EFORMAT, "%s: \"dataset\" must be a path", path);
    if (!s)
        snprintf(pl->dataset, sizeof pl->dataset, "%s", ds->valuestring);
    cJSON *cf = get(o, "configuration", path, &s);
    if (!s && (!cJSON_IsString(cf) || strcmp(cf->valuestring, "3d_fullres")))
        s = dolor_error(DOLOR_EFORMAT, "%s: \"configuration\" must be \"3d_fullres\"", path);
    if (!s)
        s = names(o, "channels", 1, DOLOR_MAX_CHANNELS, pl->channel_names, &pl->nchannels, path);
    if (!s)
        s = names(o, "classes", 2, DOLOR_FP_MAX_CLASSES, pl->class_names, &pl->nclasses, path);
    if (!s)
        s = nums(o, "target_spacing_mm_xyz", 3, 1e-6, 1e6, pl->target_spacing, path);
    if (!s)
        s = nums(o, "patch_size_xyz", 3, 8, 4096, t3, path);
    for (int a = 0; !s && a < 3; a++) {
        if (t3[a] != floor(t3[a]))
            s = dolor_error(DOLOR_EFORMAT, "%s: \"patch_size_xyz\"[%d] must be an integer", path, a);
        pl->patch[a] = (int)t3[a];
    }
    if (!s && !(s = num(o, "batch_size", 1, 64, 1, &v, path)))
        pl->batch_size = (int)v;
    cJSON *ar = get(o, "architecture", path, &s);
    if (!s && (!cJSON_IsString(ar) || strcmp(ar->valuestring, "unet")))
        s = dolor_error(DOLOR_EFORMAT, "%s: \"architecture\" must be \"unet\"", path);
    cJSON *ac = get(o, "arch_config", path, &s);
    if (!s && !cJSON_IsObject(ac))
        s = dolor_error(DOLOR_EFORMAT, "%s: \"arch_config\" must be an object", path);
    if (!s && !(s = num(ac, "base_channels", 1, 64, 1, &v, path)))
        pl->base_channels = (int)v;
    if (!s && !(s = num(ac, "depth", 1, 5, 1, &v, path)))
        pl->depth = (int)v;
    if (!s) /* the channels and classes named above; a 3D U-Net */
        s = num(ac, "in_channels", pl->nchannels, pl->nchannels, 1, &v, path);
    if (!s)
        s = num(ac, "num_classes", pl->nclasses, pl->nclasses, 1, &v, path);
    if (!s)
        s = num(ac, "spatial_dims", 3, 3, 1, &v, path);
    for (int a = 0; !s && a < 3; a++)
        if (pl->patch[a] % (1 << pl->depth))
            s = dolor_error(DOLOR_EFORMAT, "%s: \"patch_size_xyz\"[%d] = %d is not a multiple of 2^depth = %d", path, a,
                            pl->patch[a], 1 << pl->depth);
    cJSON *nz = get(o, "normalization", path, &s);
    if (!s && (!cJSON_IsArray(nz) || cJSON_GetArraySize(nz) != pl->nchannels))
        s = dolor_error(DOLOR_EFORMAT, "%s: \"normalization\" must be a list of %d objects (one per channel)", path,
                        pl->nchannels);
    for (int c = 0; !s && c < pl->nchannels; c++) {
        cJSON *e = cJSON_GetArrayItem(nz, c), *sc = cJSON_GetObjectItemCaseSensitive(e, "scheme");
        if (!cJSON_IsString(sc) || (strcmp(sc->valuestring, "zscore") && strcmp(sc->valuestring, "ct"))) {
            s = dolor_error(DOLOR_EFORMAT, "%s: \"normalization\"[%d].scheme must be \"zscore\" or \"ct\"", path, c);
            break;
        }
        pl->ct[c] = !strcmp(sc->valuestring, "ct");
        if (pl->ct[c] && !(s = nums(e, "clip", 2, -1e30, 1e30, pl->ct_clip[c], path)) &&
            !(s = num(e, "mean", -1e30, 1e30, 0, &pl->ct_mean[c], path)))
            s = num(e, "sd", 1e-12, 1e30, 0, &pl->ct_sd[c], path);
    }
    if (!s)
        s = num(o, "foreground_fraction", 0, 1, 0, &pl->foreground_fraction, path);
    if (!s && !(s = num(o, "max_patch_voxels", 0, 1e12, 1, &v, path)))
        pl->max_patch_voxels = (long)v;
    if (!s)
        s = num(o, "memory_mb", 0, 1e12, 0, &pl->memory_mb, path);
    if (!s)
        s = num(o, "est_memory_mb", 0, 1e12, 0, &pl->est_memory_mb, path);
    cJSON_Delete(o);
    return s;
}
