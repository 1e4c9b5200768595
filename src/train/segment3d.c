/* 3D segmentation from a plan (dolor plan; include/dolor/data.h): volumes resampled to the plan's target
 * spacing and normalised per channel, a 3D U-Net trained on random patches with a third of each batch
 * forced to hold foreground (nnU-Net, Isensee et al. 2021), and inference with 3D sliding windows
 * (dolor_sliding_window_nd) whose label map keeps the input's geometry. */
#define _GNU_SOURCE
#include "dolor/data.h"
#include "dolor/io.h"
#include "dolor/train.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a volume [C][z][y][x] (n[0] = x) with its labels [z][y][x] (class indices) or NULL */
typedef struct {
    int C;
    int64_t n[3];
    float *x;
    uint8_t *y;
    /* voxels of each class (for foreground sampling): idx[k][0..cnt[k]-1] */
    int64_t *idx[DOLOR_FP_MAX_CLASSES];
    int64_t cnt[DOLOR_FP_MAX_CLASSES];
} vol3;

static void vol_free(vol3 *v)
{
    free(v->x);
    free(v->y);
    for (int k = 0; k < DOLOR_FP_MAX_CLASSES; k++)
        free(v->idx[k]);
    memset(v, 0, sizeof *v);
}

static size_t nvox3(const int64_t n[3]) { return (size_t)n[0] * (size_t)n[1] * (size_t)n[2]; }

/* source coordinate of output voxel o along an axis resampled from n_in to n_out voxels (centres aligned) */
static double src_coord(int64_t o, int64_t n_in, int64_t n_out)
{
    double c = ((double)o + 0.5) * (double)n_in / (double)n_out - 0.5;
    return c < 0 ? 0 : c > (double)(n_in - 1) ? (double)(n_in - 1) : c;
}

static void resample_nearest(const uint8_t *in, const int64_t ni[3], uint8_t *out, const int64_t no[3])
{
    for (int64_t z = 0; z < no[2]; z++) {
        int64_t sz = (int64_t)nearbyint(src_coord(z, ni[2], no[2]));
        for (int64_t y = 0; y < no[1]; y++) {
            int64_t sy = (int64_t)nearbyint(src_coord(y, ni[1], no[1]));
            for (int64_t x = 0; x < no[0]; x++) {
                int64_t sx = (int64_t)nearbyint(src_coord(x, ni[0], no[0]));
                out[((size_t)z * (size_t)no[1] + (size_t)y) * (size_t)no[0] + (size_t)x] =
                    in[((size_t)sz * (size_t)ni[1] + (size_t)sy) * (size_t)ni[0] + (size_t)sx];
            }
        }
    }
}

/* the plan's normalisation of channel c, in place on v[0..n-1] */
static void normalise(const dolor_plan *pl, int c, float *v, size_t n)
{
    double mean, sd;
    if (pl->ct[c]) {
        for (size_t i = 0; i < n; i++)
            v[i] = v[i] < pl->ct_clip[c][0] ? (float)pl->ct_clip[c][0]
                   : v[i] > pl->ct_clip[c][1] ? (float)pl->ct_clip[c][1] : v[i];
        mean = pl->ct_mean[c];
        sd = pl->ct_sd[c];
    } else {
        double s = 0, ss = 0;
        for (size_t i = 0; i < n; i++)
            s += v[i];
        mean = s / (double)n;
        for (size_t i = 0; i < n; i++)
            ss += ((double)v[i] - mean) * ((double)v[i] - mean);
        sd = sqrt(ss / (double)n);
    }
    if (!(sd > 1e-8))
        sd = 1e-8;
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(((double)v[i] - mean) / sd);
}

/* img (C components, 2D or 3D) -> planes [C][z][y][x] at the plan's spacing, normalised; *resampled: 1 when
 * the grid changed. lab (or NULL): class indices, same grid as img, resampled by nearest neighbour. */
static dolor_status load_volume(const dolor_plan *pl, const dolor_image *img, const dolor_image *lab,
                                const char *name, vol3 *v, int *resampled)
{
    memset(v, 0, sizeof *v);
    if (img->ndim > 3)
        return dolor_error(DOLOR_EUNSUPPORTED, "%s: %dD image (3D only)", name, img->ndim);
    if (img->ncomp != pl->nchannels)
        return dolor_error(DOLOR_ESHAPE, "%s: %d channels, the plan has %d", name, img->ncomp, pl->nchannels);
    int64_t ni[3] = {img->size[0], img->size[1], img->ndim > 2 ? img->size[2] : 1}, no[3];
    int rs = 0;
    for (int a = 0; a < 3; a++) {
        double sp = a < img->ndim ? img->spacing[a] : pl->target_spacing[a];
        no[a] = (int64_t)nearbyint((double)ni[a] * sp / pl->target_spacing[a]);
        if (no[a] < 1)
            no[a] = 1;
        rs |= fabs(sp - pl->target_spacing[a]) > 1e-3 * pl->target_spacing[a] && no[a] != ni[a];
    }
    if (!rs)
        memcpy(no, ni, sizeof no);
    *resampled = rs;
    size_t nv = nvox3(ni), nvo = nvox3(no);
    float *raw = malloc(sizeof(float) * (size_t)img->ncomp * nv);
    v->C = img->ncomp;
    memcpy(v->n, no, sizeof no);
    v->x = rs ? malloc(sizeof(float) * (size_t)img->ncomp * nvo) : raw;
    if (!raw || !v->x) {
        if (rs)
            free(raw);
        vol_free(v);
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory for %zu voxels", name, nvo);
    }
    for (size_t i = 0; i < nv; i++)
        for (int c = 0; c < img->ncomp; c++)
            raw[(size_t)c * nv + i] = (float)dolor_image_get(img, i * (size_t)img->ncomp + (size_t)c);
    if (rs) {
        dolor_status s = dolor_resize_trilinear(raw, img->ncomp, (int)ni[2], (int)ni[1], (int)ni[0], v->x, (int)no[2],
                                                (int)no[1], (int)no[0]);
        free(raw);
        if (s) {
            vol_free(v);
            return dolor_error_prefix(s, "%s", name);
        }
    }
    for (int c = 0; c < v->C; c++)
        normalise(pl, c, v->x + (size_t)c * nvo, nvo);
    if (!lab)
        return DOLOR_OK;
    uint8_t *l = malloc(nv);
    v->y = rs ? malloc(nvo) : l;
    if (!l || !v->y) {
        if (rs)
            free(l);
        vol_free(v);
        return dolor_error(DOLOR_ENOMEM, "%s: out of memory", name);
    }
    for (size_t i = 0; i < nv; i++) {
        double lv = dolor_image_get(lab, i * (size_t)lab->ncomp);
        if (!(lv >= 0 && lv < pl->nclasses)) {
            if (rs)
                free(l);
            vol_free(v);
            return dolor_error(DOLOR_EINVAL, "%s: label value %g at voxel %zu is not a class 0..%d of the plan", name,
                               lv, i, pl->nclasses - 1);
        }
        l[i] = (uint8_t)lv;
    }
    if (rs) {
        resample_nearest(l, ni, v->y, no);
        free(l);
    }
    for (size_t i = 0; i < nvo; i++)
        v->cnt[v->y[i]]++;
    for (int k = 1; k < pl->nclasses; k++) {
        if (!v->cnt[k])
            continue;
        v->idx[k] = malloc(sizeof(int64_t) * (size_t)v->cnt[k]);
        if (!v->idx[k]) {
            vol_free(v);
            return dolor_error(DOLOR_ENOMEM, "%s: out of memory", name);
        }
        v->cnt[k] = 0;
    }
    for (size_t i = 0; i < nvo; i++)
        if (v->y[i])
            v->idx[v->y[i]][v->cnt[v->y[i]]++] = (int64_t)i;
    return DOLOR_OK;
}

/* copy the patch of size p (x, y, z) at origin o (may lie partly outside: zeros, background) into x [C][pz][py][px]
 * and y [pz][py][px] */
static void extract(const vol3 *v, const int64_t o[3], const int p[3], float *x, uint8_t *y)
{
    size_t pv = (size_t)p[0] * p[1] * p[2], nv = nvox3(v->n);
    for (int z = 0; z < p[2]; z++)
        for (int yy = 0; yy < p[1]; yy++)
            for (int xx = 0; xx < p[0]; xx++) {
                int64_t sx = o[0] + xx, sy = o[1] + yy, sz = o[2] + z;
                size_t q = ((size_t)z * p[1] + yy) * p[0] + xx;
                int in = sx >= 0 && sy >= 0 && sz >= 0 && sx < v->n[0] && sy < v->n[1] && sz < v->n[2];
                size_t s = in ? ((size_t)sz * (size_t)v->n[1] + (size_t)sy) * (size_t)v->n[0] + (size_t)sx : 0;
                for (int c = 0; c < v->C; c++)
                    x[(size_t)c * pv + q] = in ? v->x[(size_t)c * nv + s] : 0.f;
                if (y)
                    y[q] = in ? v->y[s] : 0;
            }
}

void dolor_patch_origin(dolor_rng *r, int nd, const int64_t *size, const int *patch, const int *pad,
                        const int64_t *centre, int64_t *origin)
{
    for (int a = 0; a < nd; a++) {
        int64_t p = patch[a], t = pad ? pad[a] : p;
        if (t + size[a] < p) /* still smaller than the patch: pad more, on both sides */
            t = p - size[a];
        int64_t lo = -((t + 1) / 2), hi = size[a] + t / 2 + t % 2 - p; /* lo = floor(-t / 2) */
        if (centre) {
            int64_t o = centre[a] - p / 2;
            origin[a] = o < lo ? lo : o;
        } else
            origin[a] = lo + (int64_t)dolor_rng_below(r, (uint64_t)(hi - lo + 1));
    }
}

/* the plan's preprocessing as the checkpoint's "train" JSON (read back by plan_from_meta) */
static void plan_json(const dolor_plan *pl, const dolor_train3d_config *cfg, char *buf, size_t cap)
{
    int k = snprintf(buf, cap, "{\"plan\": {\"target_spacing_mm_xyz\": [%.10g, %.10g, %.10g], \"channels\": %d, "
                               "\"normalization\": [", pl->target_spacing[0], pl->target_spacing[1],
                     pl->target_spacing[2], pl->nchannels);
    for (int c = 0; c < pl->nchannels && k > 0 && (size_t)k < cap; c++)
        k += pl->ct[c] ? snprintf(buf + k, cap - (size_t)k, "%s{\"scheme\": \"ct\", \"clip\": [%.10g, %.10g], \"mean\": "
                                  "%.10g, \"sd\": %.10g}", c ? ", " : "", pl->ct_clip[c][0], pl->ct_clip[c][1],
                                  pl->ct_mean[c], pl->ct_sd[c])
                       : snprintf(buf + k, cap - (size_t)k, "%s{\"scheme\": \"zscore\"}", c ? ", " : "");
    if (k > 0 && (size_t)k < cap)
        snprintf(buf + k, cap - (size_t)k, "]}, \"epochs\": %d, \"iterations\": %d, \"lr\": %g, \"seed\": %llu}",
                 cfg->epochs, cfg->iters_per_epoch, cfg->lr, (unsigned long long)cfg->seed);
}

void dolor_train3d_config_default(dolor_train3d_config *c)
{
    memset(c, 0, sizeof *c);
    c->epochs = 50;
    c->iters_per_epoch = 50;
    c->lr = 1e-3;
    c->weight_decay = 1e-4;
    c->ce_weight = 1;
    c->dice_weight = 1;
    c->seed = 42;
}

dolor_status dolor_train3d_run(const dolor_train3d_config *cfg, const dolor_plan *pl, float *last_loss)
{
    if (cfg->epochs < 1 || cfg->iters_per_epoch < 1 || !(cfg->lr > 0) || !cfg->data_dir || !cfg->out_dir)
        return dolor_error(DOLOR_EINVAL, "train3d: epochs %d, iterations %d (>= 1), lr %g (> 0), data and out folders "
                           "needed", cfg->epochs, cfg->iters_per_epoch, cfg->lr);
    dolor_nnunet_info *info = NULL;
    dolor_nnunet_case *cases = NULL;
    size_t n = 0;
    vol3 *vols = NULL;
    dolor_net *net = NULL;
    dolor_adamw *opt = NULL;
    dolor_tensor *xb = NULL, *lg = NULL, *dl = NULL;
    uint8_t *yb = NULL;
    FILE *log = NULL;
    char path[4300], idir[4200];
    if (pl->nclasses < 2 || pl->nclasses > DOLOR_MAX_CLASSES || pl->nchannels < 1 || pl->nchannels > DOLOR_MAX_CHANNELS)
        return dolor_error(DOLOR_EINVAL, "train3d: the plan has %d classes (2..%d) and %d channels (1..%d)",
                           pl->nclasses, DOLOR_MAX_CLASSES, pl->nchannels, DOLOR_MAX_CHANNELS);
    dolor_status s = dolor_nnunet_info_read(cfg->data_dir, &info);
    if (!s && (info->nchannels != pl->nchannels || info->nlabels != pl->nclasses))
        s = dolor_error(DOLOR_EINVAL, "%s/dataset.json: %d channels and %d labels, the plan has %d and %d",
                        cfg->data_dir, info->nchannels, info->nlabels, pl->nchannels, pl->nclasses);
    snprintf(idir, sizeof idir, "%s/imagesTr", cfg->data_dir);
    if (!s)
        s = dolor_nnunet_list_cases(idir, info->file_ending, info->nchannels, &cases, &n);
    if (!s && !(vols = calloc(n, sizeof *vols)))
        s = dolor_error(DOLOR_ENOMEM, "train3d: out of memory");
    int64_t fg_total = 0;
    for (size_t i = 0; !s && i < n; i++) {
        dolor_image *img = NULL, *lab = NULL;
        int rs = 0;
        snprintf(path, sizeof path, "%s/labelsTr/%s%s", cfg->data_dir, cases[i].id, info->file_ending);
        s = dolor_image_read_channels((const char *const *)cases[i].channel_paths, cases[i].nfiles, &img);
        if (!s)
            s = dolor_image_read(path, &lab);
        if (!s && (lab->size[0] != img->size[0] || lab->size[1] != img->size[1] ||
                   (lab->ndim > 2 ? lab->size[2] : 1) != (img->ndim > 2 ? img->size[2] : 1)))
            s = dolor_error(DOLOR_ESHAPE, "%s: not the size of its image %s", path, cases[i].channel_paths[0]);
        if (!s)
            s = load_volume(pl, img, lab, cases[i].id, &vols[i], &rs);
        if (!s) {
            for (int k = 1; k < pl->nclasses; k++)
                fg_total += vols[i].cnt[k];
            if (!cfg->quiet)
                fprintf(stderr, "case %s: %lld x %lld x %lld%s\n", cases[i].id, (long long)vols[i].n[0],
                        (long long)vols[i].n[1], (long long)vols[i].n[2], rs ? " (resampled to the plan's spacing)" : "");
        }
        dolor_image_free(img);
        dolor_image_free(lab);
    }
    if (!s && fg_total == 0)
        s = dolor_error(DOLOR_EINVAL, "%s: no foreground voxel in any training case", cfg->data_dir);
    /* the network */
    char acfg[512];
    snprintf(acfg, sizeof acfg, "{\"in_channels\": %d, \"num_classes\": %d, \"base_channels\": %d, \"depth\": %d, "
                                "\"upsample\": \"transposed\", \"spatial_dims\": 3}",
             pl->nchannels, pl->nclasses, pl->base_channels, pl->depth);
    if (!s)
        s = dolor_arch_build("unet", acfg, &net);
    if (!s)
        s = dolor_net_init(net, cfg->seed);
    if (!s)
        s = dolor_adamw_create(dolor_net_num_params(net), 0.9f, 0.999f, 1e-8f, (float)cfg->weight_decay, &opt);
    const int B = pl->batch_size, C = pl->nchannels, K = pl->nclasses;
    const int *P = pl->patch;
    size_t pv = (size_t)P[0] * P[1] * P[2];
    int64_t xs[5] = {B, C, P[2], P[1], P[0]}, ls[5] = {B, K, P[2], P[1], P[0]};
    if (!s)
        s = dolor_tensor_create(&xb, 5, xs);
    if (!s)
        s = dolor_tensor_create(&lg, 5, ls);
    if (!s)
        s = dolor_tensor_create(&dl, 5, ls);
    if (!s && !(yb = malloc((size_t)B * pv)))
        s = dolor_error(DOLOR_ENOMEM, "train3d: out of memory");
    /* 4D views [B, K, z*y, x] of the logits for the losses (a mean over voxels either way) */
    dolor_tensor lg4 = {0}, dl4 = {0};
    if (!s) {
        lg4 = *lg;
        dl4 = *dl;
        lg4.ndim = dl4.ndim = 4;
        lg4.shape[2] = dl4.shape[2] = (int64_t)P[2] * P[1];
        lg4.shape[3] = dl4.shape[3] = P[0];
    }
    dolor_model_meta meta;
    memset(&meta, 0, sizeof meta);
    if (!s) {
        s = dolor_mkdir_p(cfg->out_dir);
        snprintf(meta.arch_name, sizeof meta.arch_name, "unet");
        dolor_net_config_json(net, meta.arch_config, sizeof meta.arch_config);
        meta.in_channels = C;
        meta.arch = *dolor_net_config(net);
        meta.num_classes = K;
        for (int k = 0; k < K && k < DOLOR_MAX_CLASSES; k++) {
            snprintf(meta.class_names[k], sizeof meta.class_names[k], "%s", pl->class_names[k]);
            meta.label_values[k] = k;
        }
        meta.width = P[0];
        meta.height = P[1];
        meta.depth = P[2];
        snprintf(meta.task, sizeof meta.task, "segmentation");
        meta.seed = cfg->seed;
        meta.val_dice = NAN;
        plan_json(pl, cfg, meta.train_json, sizeof meta.train_json);
    }
    if (!s) {
        snprintf(path, sizeof path, "%s/log.csv", cfg->out_dir);
        log = fopen(path, "w");
        if (!log)
            s = dolor_error(DOLOR_EIO, "%s: cannot write", path);
        else
            fprintf(log, "epoch,loss,ce,dice,lr,seconds\n");
    }
    if (!s && !cfg->quiet)
        fprintf(stderr, "model: unet %s, %zu parameters, patch %d x %d x %d (x, y, z), batch %d, %d epochs x %d "
                        "iterations\n", meta.arch_config, dolor_net_num_params(net), P[0], P[1], P[2], B, cfg->epochs,
                cfg->iters_per_epoch);
    dolor_rng rng;
    dolor_rng_seed(&rng, cfg->seed ^ 0x3d3d3d3dULL);
    int64_t total = (int64_t)cfg->epochs * cfg->iters_per_epoch, step = 0;
    int nforce = B - (int)nearbyint((double)B * (1.0 - pl->foreground_fraction)); /* nnU-Net: the last third */
    double t0 = dolor_time_ms() / 1000.0;
    float loss = NAN;
    for (int ep = 1; !s && ep <= cfg->epochs; ep++) {
        double sum = 0, sce = 0, sdc = 0, lr = 0;
        for (int it = 0; !s && it < cfg->iters_per_epoch; it++, step++) {
            for (int b = 0; b < B; b++) {
                const vol3 *v = &vols[dolor_rng_below(&rng, n)];
                int64_t o[3];
                int force = b >= B - nforce;
                int k = 0;
                if (force) { /* a random foreground class present in the case, a random voxel of it at the centre */
                    int present[DOLOR_FP_MAX_CLASSES], np = 0;
                    for (int c = 1; c < K; c++)
                        if (v->cnt[c])
                            present[np++] = c;
                    k = np ? present[dolor_rng_below(&rng, (uint64_t)np)] : 0;
                }
                if (k) {
                    int64_t vi = v->idx[k][dolor_rng_below(&rng, (uint64_t)v->cnt[k])];
                    int64_t c3[3] = {vi % v->n[0], vi / v->n[0] % v->n[1], vi / (v->n[0] * v->n[1])};
                    dolor_patch_origin(&rng, 3, v->n, P, NULL, c3, o);
                } else
                    dolor_patch_origin(&rng, 3, v->n, P, NULL, NULL, o);
                float *xp = xb->data + (size_t)b * C * pv;
                extract(v, o, P, xp, yb + (size_t)b * pv);
                /* intensity augmentation per channel (z-score units): scale 1 +/- 0.1, shift +/- 0.1; no mirroring
                   (left and right muscles are different classes) */
                for (int c = 0; c < C; c++) {
                    float sc = (float)(0.9 + 0.2 * dolor_rng_uniform(&rng)), sh = (float)(0.2 * dolor_rng_uniform(&rng) - 0.1);
                    for (size_t q = 0; q < pv; q++)
                        xp[(size_t)c * pv + q] = xp[(size_t)c * pv + q] * sc + sh;
                }
            }
            float lce = 0, ldc = 0;
            s = dolor_net_forward(net, xb, lg, 1);
            if (!s) {
                memset(dl->data, 0, dl->numel * sizeof(float));
                s = dolor_loss_cross_entropy(&lg4, yb, (float)cfg->ce_weight, &lce, &dl4);
            }
            if (!s)
                s = dolor_loss_soft_dice(&lg4, yb, 0, 1e-5f, (float)cfg->dice_weight, &ldc, &dl4);
            if (!s)
                s = dolor_net_backward(net, dl);
            if (!s) {
                lr = dolor_lr_at(DOLOR_LR_POLY, cfg->lr, step, total, 0);
                dolor_adamw_step(opt, dolor_net_params(net), dolor_net_grads(net), (float)lr);
                dolor_net_params_changed(net);
                sum += cfg->ce_weight * lce + cfg->dice_weight * ldc;
                sce += lce;
                sdc += ldc;
            }
        }
        if (s)
            break;
        double el = dolor_time_ms() / 1000.0 - t0, I = cfg->iters_per_epoch;
        loss = (float)(sum / I);
        fprintf(log, "%d,%.6f,%.6f,%.6f,%.6g,%.1f\n", ep, sum / I, sce / I, sdc / I, lr, el);
        fflush(log);
        if (!cfg->quiet)
            fprintf(stderr, "epoch %d/%d: loss %.4f (ce %.4f, dice %.4f), lr %.3g, %.0f s\n", ep, cfg->epochs, sum / I,
                    sce / I, sdc / I, lr, el);
        meta.epoch = ep;
        meta.opt_step = opt->step;
        snprintf(path, sizeof path, "%s/last.safetensors", cfg->out_dir);
        s = dolor_checkpoint_save(path, net, opt, &meta);
        if (!s && cfg->time_limit_min > 0 && el > 60.0 * cfg->time_limit_min) {
            if (!cfg->quiet)
                fprintf(stderr, "time limit %.1f min reached after epoch %d\n", cfg->time_limit_min, ep);
            break;
        }
    }
    if (!s) { /* no validation cases here: the final weights are the model */
        snprintf(path, sizeof path, "%s/best.safetensors", cfg->out_dir);
        s = dolor_checkpoint_save(path, net, NULL, &meta);
    }
    if (last_loss)
        *last_loss = loss;
    if (log)
        fclose(log);
    for (size_t i = 0; vols && i < n; i++)
        vol_free(&vols[i]);
    free(vols);
    free(yb);
    dolor_tensor_free(xb);
    dolor_tensor_free(lg);
    dolor_tensor_free(dl);
    dolor_net_free(net);
    dolor_adamw_free(opt);
    dolor_nnunet_cases_free(cases, n);
    dolor_nnunet_info_free(info);
    return s;
}

/* the plan's preprocessing from a checkpoint's "train" JSON */
static dolor_status plan_from_meta(const dolor_model_meta *meta, dolor_plan *pl)
{
    memset(pl, 0, sizeof *pl);
    cJSON *o = cJSON_Parse(meta->train_json), *p = cJSON_GetObjectItemCaseSensitive(o, "plan");
    cJSON *ts = cJSON_GetObjectItemCaseSensitive(p, "target_spacing_mm_xyz");
    cJSON *nz = cJSON_GetObjectItemCaseSensitive(p, "normalization");
    dolor_status s = DOLOR_OK;
    if (!cJSON_IsArray(ts) || cJSON_GetArraySize(ts) != 3 || !cJSON_IsArray(nz) ||
        cJSON_GetArraySize(nz) != meta->in_channels || meta->in_channels < 1 || meta->in_channels > DOLOR_MAX_CHANNELS)
        s = dolor_error(DOLOR_EFORMAT, "model: the checkpoint's train.plan (spacing, normalisation of %d channels) is "
                        "missing or malformed: not a 3D model from dolor train --plan", meta->in_channels);
    for (int a = 0; !s && a < 3; a++) {
        cJSON *v = cJSON_GetArrayItem(ts, a);
        if (!cJSON_IsNumber(v) || !(v->valuedouble > 0))
            s = dolor_error(DOLOR_EFORMAT, "model: train.plan.target_spacing_mm_xyz[%d] is not a positive number", a);
        else
            pl->target_spacing[a] = v->valuedouble;
    }
    pl->nchannels = meta->in_channels;
    pl->nclasses = meta->num_classes;
    for (int c = 0; !s && c < pl->nchannels; c++) {
        cJSON *e = cJSON_GetArrayItem(nz, c), *sc = cJSON_GetObjectItemCaseSensitive(e, "scheme");
        pl->ct[c] = cJSON_IsString(sc) && !strcmp(sc->valuestring, "ct");
        if (pl->ct[c]) {
            cJSON *cl = cJSON_GetObjectItemCaseSensitive(e, "clip"), *m = cJSON_GetObjectItemCaseSensitive(e, "mean"),
                  *sd = cJSON_GetObjectItemCaseSensitive(e, "sd");
            if (!cJSON_IsArray(cl) || cJSON_GetArraySize(cl) != 2 || !cJSON_IsNumber(m) || !cJSON_IsNumber(sd))
                s = dolor_error(DOLOR_EFORMAT, "model: train.plan.normalization[%d] (ct) lacks clip, mean or sd", c);
            else {
                pl->ct_clip[c][0] = cJSON_GetArrayItem(cl, 0)->valuedouble;
                pl->ct_clip[c][1] = cJSON_GetArrayItem(cl, 1)->valuedouble;
                pl->ct_mean[c] = m->valuedouble;
                pl->ct_sd[c] = sd->valuedouble;
            }
        }
    }
    cJSON_Delete(o);
    return s;
}

typedef struct {
    dolor_net *net;
    const vol3 *v;
    const int *P;
    dolor_tensor *in, *out;
} tile3_ctx;

static dolor_status tile3(void *ctx, const int *origin, int index, float *logits)
{
    (void)index;
    tile3_ctx *t = ctx;
    const int64_t o[3] = {origin[2], origin[1], origin[0]}; /* origin is z, y, x */
    extract(t->v, o, t->P, t->in->data, NULL);
    dolor_status s = dolor_net_forward(t->net, t->in, t->out, 0);
    if (!s)
        memcpy(logits, t->out->data, t->out->numel * sizeof(float));
    return s;
}

dolor_status dolor_segment_volume(dolor_net *net, const dolor_model_meta *meta, const dolor_image *img, double overlap,
                                  dolor_image **classes)
{
    *classes = NULL;
    const dolor_unet_config *uc = dolor_net_config(net);
    if (!uc || uc->spatial_dims != 3)
        return dolor_error(DOLOR_EUNSUPPORTED, "segment: model (%s) is not a 3D U-Net", dolor_net_arch(net));
    if (!(overlap >= 0 && overlap < 1))
        return dolor_error(DOLOR_EINVAL, "sliding window: overlap %g (must be 0 <= overlap < 1)", overlap);
    if (meta->depth < 1 || meta->height < 1 || meta->width < 1)
        return dolor_error(DOLOR_EFORMAT, "model: no 3D patch size (depth %d, height %d, width %d)", meta->depth,
                           meta->height, meta->width);
    if (img->ncomp != meta->in_channels)
        return dolor_error(DOLOR_ESHAPE, "segment: the image has %d channels, the model takes %d", img->ncomp,
                           meta->in_channels);
    dolor_plan pl;
    dolor_status s = plan_from_meta(meta, &pl);
    if (s)
        return s;
    vol3 v;
    int rs = 0;
    s = load_volume(&pl, img, NULL, "segment", &v, &rs);
    if (s)
        return s;
    const int P[3] = {meta->width, meta->height, meta->depth}, K = meta->num_classes;
    /* pad to at least one patch per axis, centred (0 is the mean after z-scoring) */
    int64_t N[3], pad[3];
    for (int a = 0; a < 3; a++) {
        N[a] = v.n[a] > P[a] ? v.n[a] : P[a];
        pad[a] = (N[a] - v.n[a]) / 2;
    }
    vol3 pv = {.C = v.C, .n = {N[0], N[1], N[2]}};
    size_t nvp = nvox3(N), nv = nvox3(v.n);
    pv.x = calloc((size_t)v.C * nvp, sizeof(float));
    float *prob = malloc(sizeof(float) * (size_t)K * nvp), *back = NULL;
    tile3_ctx tc = {net, &pv, P, NULL, NULL};
    if (!pv.x || !prob)
        s = dolor_error(DOLOR_ENOMEM, "segment: out of memory for %zu voxels", nvp);
    for (int c = 0; !s && c < v.C; c++)
        for (int64_t z = 0; z < v.n[2]; z++)
            for (int64_t y = 0; y < v.n[1]; y++)
                memcpy(pv.x + (size_t)c * nvp + ((size_t)(z + pad[2]) * N[1] + (size_t)(y + pad[1])) * N[0] + pad[0],
                       v.x + (size_t)c * nv + ((size_t)z * v.n[1] + (size_t)y) * v.n[0], sizeof(float) * v.n[0]);
    int64_t is[5] = {1, v.C, P[2], P[1], P[0]}, os[5] = {1, K, P[2], P[1], P[0]};
    if (!s)
        s = dolor_tensor_create(&tc.in, 5, is);
    if (!s)
        s = dolor_tensor_create(&tc.out, 5, os);
    const int size[3] = {(int)N[2], (int)N[1], (int)N[0]}, tile[3] = {P[2], P[1], P[0]};
    if (!s)
        s = dolor_sliding_window_nd(3, size, tile, 1.0 - overlap, K, tile3, &tc, prob);
    /* crop the padding, back to the input grid when resampled, argmax */
    int64_t ni[3] = {img->size[0], img->size[1], img->ndim > 2 ? img->size[2] : 1};
    size_t nvi = nvox3(ni);
    float *crop = NULL;
    if (!s && !(crop = malloc(sizeof(float) * (size_t)K * nv)))
        s = dolor_error(DOLOR_ENOMEM, "segment: out of memory");
    for (int k = 0; !s && k < K; k++)
        for (int64_t z = 0; z < v.n[2]; z++)
            for (int64_t y = 0; y < v.n[1]; y++)
                memcpy(crop + (size_t)k * nv + ((size_t)z * v.n[1] + (size_t)y) * v.n[0],
                       prob + (size_t)k * nvp + ((size_t)(z + pad[2]) * N[1] + (size_t)(y + pad[1])) * N[0] + pad[0],
                       sizeof(float) * v.n[0]);
    if (!s && rs) {
        if (!(back = malloc(sizeof(float) * (size_t)K * nvi)))
            s = dolor_error(DOLOR_ENOMEM, "segment: out of memory");
        else
            s = dolor_resize_trilinear(crop, K, (int)v.n[2], (int)v.n[1], (int)v.n[0], back, (int)ni[2], (int)ni[1],
                                       (int)ni[0]);
    }
    const float *pr = rs ? back : crop;
    if (!s)
        s = dolor_image_create(classes, DOLOR_U8, 1, img->ndim < 3 ? 3 : img->ndim, ni);
    if (!s) {
        dolor_image_copy_geometry(*classes, img);
        uint8_t *o = (*classes)->data;
        for (size_t i = 0; i < nvi; i++) {
            int best = 0;
            for (int k = 1; k < K; k++)
                if (pr[(size_t)k * nvi + i] > pr[(size_t)best * nvi + i])
                    best = k;
            o[i] = (uint8_t)best;
        }
    }
    dolor_tensor_free(tc.in);
    dolor_tensor_free(tc.out);
    free(pv.x);
    free(prob);
    free(crop);
    free(back);
    vol_free(&v);
    return s;
}
