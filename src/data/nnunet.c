/* nnU-Net v2 dataset folders (dataset.json, imagesTr/, labelsTr/, imagesTs/, CASE_XXXX channel files) and
 * multi-channel images: channel files stacked as components, preprocessed channel by channel. */
#define _GNU_SOURCE
#include "data_priv.h"
#include "dolor/io.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int dolor_nnunet_is_dataset(const char *dir)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/dataset.json", dir);
    return access(p, R_OK) == 0;
}

void dolor_nnunet_info_free(dolor_nnunet_info *info)
{
    if (!info)
        return;
    free(info->label_names);
    free(info->label_values);
    free(info);
}

static char *slurp(const char *path, dolor_status *st)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        *st = dolor_error(DOLOR_ENOTFOUND, "%s: cannot open (%s)", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 14, len = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        len += fread(buf + len, 1, cap - len, fp);
        if (len < cap)
            break;
        if (cap >= (size_t)16 << 20) {
            free(buf);
            fclose(fp);
            *st = dolor_error(DOLOR_EFORMAT, "%s: larger than 16 MB (not a dataset.json)", path);
            return NULL;
        }
        char *nb = realloc(buf, 2 * cap + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    fclose(fp);
    if (!buf) {
        *st = dolor_error(DOLOR_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    buf[len] = 0;
    *st = DOLOR_OK;
    return buf;
}

static int cmp_label(const void *a, const void *b, void *ctx)
{
    const int *v = ctx;
    int x = v[*(const int *)a], y = v[*(const int *)b];
    return (x > y) - (x < y);
}

dolor_status dolor_nnunet_info_read(const char *dir, dolor_nnunet_info **out)
{
    *out = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/dataset.json", dir);
    dolor_status s;
    char *text = slurp(path, &s);
    if (!text)
        return s;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return dolor_error(DOLOR_EFORMAT, "%s: not a JSON object", path);
    }
    dolor_nnunet_info *in = calloc(1, sizeof *in);
    if (!in) {
        cJSON_Delete(root);
        return dolor_error(DOLOR_ENOMEM, "out of memory");
    }
    s = DOLOR_OK;
    /* channel_names: {"0": "water", "1": "fat"} (nnU-Net v1's "modality" is accepted as the same) */
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(root, "channel_names");
    if (!ch)
        ch = cJSON_GetObjectItemCaseSensitive(root, "modality");
    const cJSON *lab = cJSON_GetObjectItemCaseSensitive(root, "labels");
    const cJSON *fe = cJSON_GetObjectItemCaseSensitive(root, "file_ending");
    const cJSON *nt = cJSON_GetObjectItemCaseSensitive(root, "numTraining");
    if (!cJSON_IsObject(ch))
        s = dolor_error(DOLOR_EFORMAT, "%s: key 'channel_names' is missing or not an object ({\"0\": \"CT\"})", path);
    else if (!cJSON_IsObject(lab))
        s = dolor_error(DOLOR_EFORMAT, "%s: key 'labels' is missing or not an object ({\"background\": 0, ...})",
                        path);
    else if (!cJSON_IsString(fe) || !fe->valuestring[0] || fe->valuestring[0] != '.' ||
             strlen(fe->valuestring) >= sizeof in->file_ending)
        s = dolor_error(DOLOR_EFORMAT, "%s: key 'file_ending' is missing or not a string such as \".nii.gz\"", path);
    else if (nt && !(cJSON_IsNumber(nt) && nt->valuedouble >= 0 && nt->valuedouble == (double)(long)nt->valuedouble))
        s = dolor_error(DOLOR_EFORMAT, "%s: key 'numTraining' must be a non-negative integer", path);
    if (!s) {
        snprintf(in->file_ending, sizeof in->file_ending, "%s", fe->valuestring);
        in->num_training = nt ? (long)nt->valuedouble : -1;
        int n = cJSON_GetArraySize(ch);
        if (n < 1 || n > DOLOR_MAX_CHANNELS)
            s = dolor_error(DOLOR_EUNSUPPORTED, "%s: 'channel_names' has %d entries (dolor reads 1..%d channels)", path,
                            n, DOLOR_MAX_CHANNELS);
        in->nchannels = n;
        for (int c = 0; !s && c < n; c++) {
            char key[16];
            snprintf(key, sizeof key, "%d", c);
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(ch, key);
            if (!cJSON_IsString(v))
                s = dolor_error(DOLOR_EFORMAT, "%s: channel_names has no string for channel \"%s\" (keys must be "
                                "\"0\"..\"%d\")", path, key, n - 1);
            else
                snprintf(in->channel_names[c], sizeof in->channel_names[c], "%s", v->valuestring);
        }
    }
    if (!s) {
        int n = cJSON_GetArraySize(lab);
        in->label_names = calloc((size_t)(n ? n : 1), sizeof *in->label_names);
        in->label_values = calloc((size_t)(n ? n : 1), sizeof *in->label_values);
        int *order = calloc((size_t)(n ? n : 1), sizeof *order);
        int *vals = calloc((size_t)(n ? n : 1), sizeof *vals);
        if (!in->label_names || !in->label_values || !order || !vals)
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
        if (!s && (n < 2 || n > 255))
            s = dolor_error(DOLOR_EFORMAT, "%s: 'labels' has %d entries (need background and 1..254 classes)", path, n);
        int k = 0;
        for (const cJSON *it = lab->child; !s && it; it = it->next, k++) {
            if (cJSON_IsArray(it))
                s = dolor_error(DOLOR_EUNSUPPORTED, "%s: labels.%s is a region (a list of labels); dolor trains one "
                                "class per label value", path, it->string);
            else if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 65535 ||
                     it->valuedouble != (double)(int)it->valuedouble)
                s = dolor_error(DOLOR_EFORMAT, "%s: labels.%s must be an integer label value 0..65535", path,
                                it->string);
            else if (strlen(it->string) >= sizeof in->label_names[0] || !it->string[0])
                s = dolor_error(DOLOR_EFORMAT, "%s: label name '%s' is empty or longer than 63 characters", path,
                                it->string);
            else {
                vals[k] = (int)it->valuedouble;
                order[k] = k;
            }
        }
        if (!s) {
            qsort_r(order, (size_t)n, sizeof *order, cmp_label, vals);
            const cJSON *items[256];
            k = 0;
            for (const cJSON *it = lab->child; it && k < 256; it = it->next)
                items[k++] = it;
            for (int i = 0; i < n; i++) {
                in->label_values[i] = vals[order[i]];
                snprintf(in->label_names[i], sizeof in->label_names[i], "%s", items[order[i]]->string);
                if (i && in->label_values[i] == in->label_values[i - 1])
                    s = dolor_error(DOLOR_EFORMAT, "%s: labels %s and %s have the same value %d", path,
                                    in->label_names[i - 1], in->label_names[i], in->label_values[i]);
            }
            if (!s && in->label_values[0] != 0)
                s = dolor_error(DOLOR_EFORMAT, "%s: no label with value 0 (nnU-Net's background)", path);
            for (int i = 1; !s && i < n; i++)
                if (in->label_values[i] != i)
                    s = dolor_error(DOLOR_EFORMAT, "%s: label values must be consecutive 0..%d (nnU-Net's rule); "
                                    "%s is %d", path, n - 1, in->label_names[i], in->label_values[i]);
            in->nlabels = n;
        }
        free(order);
        free(vals);
    }
    cJSON_Delete(root);
    if (s) {
        dolor_nnunet_info_free(in);
        return s;
    }
    *out = in;
    return DOLOR_OK;
}

void dolor_nnunet_cases_free(dolor_nnunet_case *c, size_t n)
{
    for (size_t i = 0; c && i < n; i++) {
        free(c[i].id);
        for (int k = 0; k < DOLOR_MAX_CHANNELS; k++)
            free(c[i].channel_paths[k]);
    }
    free(c);
}

static int cmp_case(const void *a, const void *b)
{
    return strcmp(((const dolor_nnunet_case *)a)->id, ((const dolor_nnunet_case *)b)->id);
}

/* "CASE_0001.nii.gz" with ending ".nii.gz" -> case length and channel 1; -1 when it is not a channel file. */
static int parse_channel_name(const char *name, const char *ending, size_t *case_len)
{
    size_t n = strlen(name), e = strlen(ending);
    if (n < e + 6 || strcmp(name + n - e, ending) != 0)
        return -1;
    const char *d = name + n - e - 4;
    if (d[-1] != '_')
        return -1;
    for (int k = 0; k < 4; k++)
        if (!isdigit((unsigned char)d[k]))
            return -1;
    *case_len = (size_t)(d - 1 - name);
    return *case_len ? atoi(d) : -1;
}

dolor_status dolor_nnunet_list_cases(const char *images_dir, const char *file_ending, int nchannels,
                                     dolor_nnunet_case **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (nchannels < 1 || nchannels > DOLOR_MAX_CHANNELS)
        return dolor_error(DOLOR_EINVAL, "%s: %d channels (1..%d)", images_dir, nchannels, DOLOR_MAX_CHANNELS);
    DIR *d = opendir(images_dir);
    if (!d)
        return dolor_error(DOLOR_ENOTFOUND, "%s: cannot open (%s)", images_dir, strerror(errno));
    dolor_nnunet_case *c = NULL;
    size_t n = 0, cap = 0;
    dolor_status s = DOLOR_OK;
    struct dirent *de;
    while (!s && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        size_t cl;
        int ch = parse_channel_name(de->d_name, file_ending, &cl);
        if (ch < 0) {
            size_t nl = strlen(de->d_name), el = strlen(file_ending);
            if (nl > el && !strcmp(de->d_name + nl - el, file_ending))
                s = dolor_error(DOLOR_EFORMAT, "%s/%s: not named CASE_XXXX%s (XXXX: the channel, 0000 for the first)",
                                images_dir, de->d_name, file_ending);
            continue;
        }
        if (ch >= nchannels) {
            s = dolor_error(DOLOR_EFORMAT, "%s/%s: channel %04d, but dataset.json names %d channel%s", images_dir,
                            de->d_name, ch, nchannels, nchannels > 1 ? "s" : "");
            break;
        }
        size_t i = 0;
        while (i < n && !(strlen(c[i].id) == cl && !strncmp(c[i].id, de->d_name, cl)))
            i++;
        if (i == n) {
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                dolor_nnunet_case *nc = realloc(c, cap * sizeof *nc);
                if (!nc) {
                    s = dolor_error(DOLOR_ENOMEM, "out of memory");
                    break;
                }
                c = nc;
            }
            memset(&c[n], 0, sizeof c[n]);
            c[n].id = strndup(de->d_name, cl);
            n++;
            if (!c[i].id) {
                s = dolor_error(DOLOR_ENOMEM, "out of memory");
                break;
            }
        }
        if (asprintf(&c[i].channel_paths[ch], "%s/%s", images_dir, de->d_name) < 0) {
            c[i].channel_paths[ch] = NULL;
            s = dolor_error(DOLOR_ENOMEM, "out of memory");
        }
    }
    closedir(d);
    if (!s && n == 0)
        s = dolor_error(DOLOR_ENOTFOUND, "%s: no CASE_0000%s files", images_dir, file_ending);
    if (!s)
        qsort(c, n, sizeof *c, cmp_case);
    /* one file for all channels (an RGB PNG for channel_names R, G, B, as nnU-Net's natural images) only
     * when every case is a single CASE_0000 file */
    int single = 1;
    for (size_t i = 0; !s && i < n; i++)
        for (int k = 1; k < nchannels; k++)
            single &= c[i].channel_paths[k] == NULL;
    for (size_t i = 0; !s && i < n; i++) {
        int have = 0;
        for (int k = 0; k < nchannels; k++)
            have += c[i].channel_paths[k] != NULL;
        c[i].nfiles = have;
        if (single && c[i].channel_paths[0])
            continue;
        for (int k = 0; k < nchannels; k++)
            if (!c[i].channel_paths[k]) {
                s = dolor_error(DOLOR_ENOTFOUND, "%s: case %s has no channel %04d (%s_%04d%s)", images_dir, c[i].id, k,
                                c[i].id, k, file_ending);
                break;
            }
    }
    if (s) {
        dolor_nnunet_cases_free(c, n);
        return s;
    }
    *out = c;
    *nout = n;
    return DOLOR_OK;
}

dolor_status dolor_image_read_channels(const char *const *paths, int n, dolor_image **out)
{
    *out = NULL;
    if (n < 1 || n > DOLOR_MAX_CHANNELS)
        return dolor_error(DOLOR_EINVAL, "read channels: %d files (1..%d)", n, DOLOR_MAX_CHANNELS);
    if (n == 1)
        return dolor_image_read(paths[0], out);
    dolor_image *ch[DOLOR_MAX_CHANNELS] = {0};
    dolor_status s = DOLOR_OK;
    for (int k = 0; !s && k < n; k++) {
        s = dolor_image_read(paths[k], &ch[k]);
        if (!s && ch[k]->ncomp != 1)
            s = dolor_error(DOLOR_EUNSUPPORTED, "%s: %d components per pixel; a channel file holds one", paths[k],
                            ch[k]->ncomp);
        for (int a = 0; !s && k > 0 && a < DOLOR_IMAGE_MAXDIM; a++)
            if (ch[k]->size[a] != ch[0]->size[a])
                s = dolor_error(DOLOR_ESHAPE, "%s: %lldx%lldx%lld but channel 0 (%s) is %lldx%lldx%lld", paths[k],
                                (long long)ch[k]->size[0], (long long)ch[k]->size[1], (long long)ch[k]->size[2],
                                paths[0], (long long)ch[0]->size[0], (long long)ch[0]->size[1],
                                (long long)ch[0]->size[2]);
    }
    if (!s)
        s = dolor_image_create(out, DOLOR_F32, n, ch[0]->ndim, ch[0]->size);
    if (!s) {
        dolor_image_copy_geometry(*out, ch[0]);
        size_t nv = dolor_image_nvox(ch[0]);
        float *o = (*out)->data;
        for (int k = 0; k < n; k++)
            for (size_t i = 0; i < nv; i++)
                o[i * (size_t)n + (size_t)k] = (float)dolor_image_get(ch[k], i);
    }
    for (int k = 0; k < n; k++)
        dolor_image_free(ch[k]);
    return s;
}

dolor_status dolor_preprocess_channels(const dolor_image *img, int channels, int height, int width, float *out)
{
    if (channels <= 1)
        return dolor_preprocess_image(img, height, width, out);
    if (channels > DOLOR_MAX_CHANNELS)
        return dolor_error(DOLOR_EINVAL, "preprocess: %d channels (1..%d)", channels, DOLOR_MAX_CHANNELS);
    int nc = img->ncomp;
    /* grey replicated for an RGB model; RGBA's alpha dropped */
    if (!(nc == channels || (channels == 3 && (nc == 1 || nc == 4))))
        return dolor_error(DOLOR_ESHAPE, "preprocess: the image has %d component%s per pixel but the model takes %d "
                           "channels", nc, nc > 1 ? "s" : "", channels);
    for (int i = 2; i < img->ndim; i++)
        if (img->size[i] != 1)
            return dolor_error(DOLOR_ESHAPE, "preprocess: image is %dD (size[%d] = %lld); 2D images only", img->ndim,
                               i, (long long)img->size[i]);
    int sw = (int)img->size[0], sh = (int)img->size[1];
    size_t np = (size_t)sw * (size_t)sh;
    float *plane = malloc(sizeof(float) * np);
    if (!plane)
        return dolor_error(DOLOR_ENOMEM, "preprocess: out of memory for a %dx%d image", sw, sh);
    dolor_status s = DOLOR_OK;
    for (int c = 0; c < channels && !s; c++) {
        int src = nc == 1 ? 0 : c;
        for (size_t p = 0; p < np; p++) {
            double v = dolor_image_get(img, p * (size_t)nc + (size_t)src);
            if (!isfinite(v)) {
                s = dolor_error(DOLOR_ENUMERIC, "pixel (%zu, %zu) of channel %d is %g (NaN and Inf are not images)",
                                p % (size_t)sw, p / (size_t)sw, c, v);
                break;
            }
            plane[p] = (float)v;
        }
        if (s)
            break;
        float *o = out + (size_t)c * (size_t)height * (size_t)width;
        if (sw == width && sh == height)
            memcpy(o, plane, sizeof(float) * np);
        else
            dolor_resize_bilinear(plane, 1, sh, sw, o, height, width);
        dolor_data_zscore(o, (size_t)height * (size_t)width);
    }
    free(plane);
    return s;
}
