/* Detection training and inference for the YOLOv8 heads (detect, segment, pose), as Ultralytics'
 * DetectionTrainer / SegmentationTrainer / PoseTrainer do it with their defaults (ultralytics/engine/
 * trainer.py, models/yolo/): mosaic (off for the last close_mosaic epochs), scale, translate and
 * intensity jitter (detect_data.c), the v8 losses (dolor_yolo_loss_compute, src/nn/loss_yolo.c),
 * warm-up then a linear decay to lrf * lr, SGD (Nesterov) or AdamW, an exponential moving average of the
 * weights (ModelEMA: decay 0.9999 (1 - exp(-updates / 2000)) on parameters and batch-norm statistics) used
 * for validation and the saved checkpoints, and validation by COCO's mAP (dolor_det_evaluate).
 * Before each validation the batch-norm statistics are re-estimated for the (EMA) weights on the training
 * images (PreciseBN, dolor_net_set_bn_momentum): with tens of images the running statistics (momentum 0.03)
 * lag weights that change quickly, and the network in inference mode scores nothing (seen on SPIDER: box
 * mAP50 0 after 40 epochs while the training-mode outputs found the vertebrae).
 * A fresh net starts from Detect.bias_init (dolor_det_bias_init, which `dolor detect train` calls; this
 * function does not, since the net may be a checkpoint being continued).
 * Other differences from Ultralytics, on purpose or for now: no gradient accumulation to a nominal batch of 64,
 * weight decay on every parameter (Ultralytics spares biases and batch-norm weights), one warm-up for
 * every parameter group (no separate bias warm-up from 0.1), grey images. */
#include "detect_priv.h"
#include "textbuf.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dolor_det_train_config_default(dolor_det_train_config *c)
{
    memset(c, 0, sizeof *c);
    c->epochs = 100;
    c->batch_size = 16;
    c->imgsz = 512;
    c->optimizer = DOLOR_OPT_ADAMW;
    c->lr = 0; /* Ultralytics' optimizer=auto for short runs: AdamW at 0.002 * 5 / (4 + nc) */
    c->momentum = 0.937;
    c->weight_decay = 5e-4;
    c->lrf = 0.01;
    c->warmup_epochs = 3;
    c->augment = 1;
    c->aug.mosaic = 1.0;
    c->aug.close_mosaic = 10;
    c->aug.scale = 0.5;
    c->aug.translate = 0.1;
    c->aug.hsv_v = 0.4;
    c->aug.fliplr = 0;
    c->ema = 1;
    c->precise_bn = 1;
    c->val_conf = 0.001;
    c->val_iou = 0.7;
    c->seed = 42;
}

/* ------------------------------------------------------------- the head ---- */

dolor_status det_head_read(dolor_net *net, int imgsz, det_head *h)
{
    memset(h, 0, sizeof *h);
    const char *arch = dolor_net_arch(net);
    if (!arch || strcmp(arch, "yolov8"))
        return dolor_error(DOLOR_EINVAL, "detection: the net is '%s', not yolov8", arch ? arch : "?");
    char js[2048];
    dolor_status s = dolor_net_config_json(net, js, sizeof js);
    if (s)
        return s;
    cJSON *c = cJSON_Parse(js);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "task");
    const char *task = cJSON_IsString(t) ? t->valuestring : "detect";
    h->task = !strcmp(task, "segment") ? 1 : !strcmp(task, "pose") ? 2 : 0;
    const char *keys[] = {"num_classes", "reg_max", "num_masks", "num_keypoints", "keypoint_dims", "in_channels"};
    int *dst[] = {&h->nc, &h->reg_max, &h->nm, &h->nkpt, &h->kdim, &h->in_channels};
    for (int i = 0; i < 6; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, keys[i]);
        *dst[i] = cJSON_IsNumber(v) ? v->valueint : 0;
    }
    cJSON_Delete(c);
    if (h->task != 1)
        h->nm = 0;
    if (h->task != 2)
        h->nkpt = h->kdim = 0;
    h->nout = dolor_net_num_outputs(net);
    h->nmaps = 0;
    h->proto_out = -1;
    for (int l = 0; l < 8; l++)
        h->box_out[l] = h->aux_out[l] = -1;
    for (int k = 0; k < h->nout; k++) {
        const char *n = dolor_net_output_name(net, k);
        int lvl;
        if (sscanf(n, "box_cls_p%d", &lvl) == 1 && lvl >= 3 && lvl < 11) {
            h->box_out[lvl - 3] = k;
            h->nmaps = lvl - 2 > h->nmaps ? lvl - 2 : h->nmaps;
        } else if ((sscanf(n, "mask_coef_p%d", &lvl) == 1 || sscanf(n, "keypoints_p%d", &lvl) == 1) && lvl >= 3 &&
                   lvl < 11)
            h->aux_out[lvl - 3] = k;
        else if (!strcmp(n, "proto"))
            h->proto_out = k;
    }
    for (int l = 0; l < h->nmaps; l++) {
        h->strides[l] = 8 << l;
        if (h->box_out[l] < 0 || (h->task && h->aux_out[l] < 0))
            return dolor_error(DOLOR_EINVAL, "detection: the yolov8 net has no output for level P%d", l + 3);
    }
    if (h->nmaps < 1 || h->nc < 1 || h->reg_max < 1 || (h->task == 1 && (h->proto_out < 0 || h->nm < 1)) ||
        (h->task == 2 && h->nkpt < 1))
        return dolor_error(DOLOR_EINVAL, "detection: cannot read the yolov8 head (classes %d, reg_max %d, levels %d)",
                           h->nc, h->reg_max, h->nmaps);
    if (imgsz % (8 << (h->nmaps - 1)))
        return dolor_error(DOLOR_EINVAL, "detection: image size %d is not a multiple of %d", imgsz,
                           8 << (h->nmaps - 1));
    return DOLOR_OK;
}

dolor_status dolor_det_bias_init(dolor_net *net)
{
    if (!net)
        return dolor_error(DOLOR_EINVAL, "detection bias init: net NULL");
    det_head h;
    dolor_status s = det_head_read(net, 8 << 7, &h); /* any size that every stride divides */
    if (s)
        return s;
    float *P = dolor_net_params(net);
    for (int l = 0; l < h.nmaps; l++)
        for (int br = 0; br < 2; br++) {
            char want[64];
            snprintf(want, sizeof want, "model.22.%s.%d.2.bias", br ? "cv3" : "cv2", l);
            int n = dolor_net_num_tensors(net), found = 0;
            for (int i = 0; i < n && !found; i++) {
                dolor_net_tensor t;
                if ((s = dolor_net_tensor_at(net, i, &t)))
                    return s;
                if (t.is_buffer || strcmp(t.name, want))
                    continue;
                found = 1;
                double v = br ? log(5.0 / h.nc / pow(640.0 / h.strides[l], 2)) : 1.0;
                for (size_t k = 0; k < t.numel; k++)
                    P[t.offset + k] = (float)v;
            }
            if (!found)
                return dolor_error(DOLOR_EINVAL, "detection bias init: the net has no tensor '%s'", want);
        }
    dolor_net_params_changed(net);
    return DOLOR_OK;
}

/* output tensors of the net for batch B at size S */
static dolor_status make_outputs(dolor_net *net, const det_head *h, int B, int S, dolor_tensor **outs)
{
    for (int k = 0; k < h->nout; k++) {
        int nd;
        int64_t d[5];
        dolor_status s = dolor_net_output_shape(net, k, &nd, d);
        if (s)
            return s;
        int stride = 4;
        for (int l = 0; l < h->nmaps; l++)
            if (h->box_out[l] == k || h->aux_out[l] == k)
                stride = h->strides[l];
        if ((s = dolor_tensor_create4(&outs[k], B, d[1], S / stride, S / stride)))
            return s;
    }
    return DOLOR_OK;
}

/* ------------------------------------------------------------ inference ---- */

struct dolor_det_scratch {
    int S, B;
    det_head h;
    dolor_tensor *x, *outs[8];
    float *lb, *boxes, *scores, *coef, *kpt;
    size_t A;
};

void dolor_det_scratch_free(dolor_det_scratch *sc)
{
    if (!sc)
        return;
    dolor_tensor_free(sc->x);
    for (int k = 0; k < 8; k++)
        dolor_tensor_free(sc->outs[k]);
    free(sc->lb);
    free(sc->boxes);
    free(sc->scores);
    free(sc->coef);
    free(sc->kpt);
    free(sc);
}

static dolor_status scratch_get(dolor_net *net, int S, dolor_det_scratch **psc)
{
    dolor_det_scratch *sc = *psc;
    if (sc && sc->S == S)
        return DOLOR_OK;
    dolor_det_scratch_free(sc);
    *psc = NULL;
    sc = calloc(1, sizeof *sc);
    if (!sc)
        return dolor_error(DOLOR_ENOMEM, "detection: out of memory");
    dolor_status s = det_head_read(net, S, &sc->h);
    const det_head *h = &sc->h;
    size_t A = 0;
    for (int l = 0; l < h->nmaps; l++)
        A += (size_t)(S / h->strides[l]) * (size_t)(S / h->strides[l]);
    sc->S = S;
    sc->A = A;
    if (!s)
        s = dolor_tensor_create4(&sc->x, 1, h->in_channels, S, S);
    if (!s)
        s = make_outputs(net, h, 1, S, sc->outs);
    if (!s) {
        sc->lb = malloc((size_t)S * S * sizeof *sc->lb);
        sc->boxes = malloc(A * 4 * sizeof *sc->boxes);
        sc->scores = malloc(A * (size_t)h->nc * sizeof *sc->scores);
        sc->coef = h->nm ? malloc(A * (size_t)h->nm * sizeof *sc->coef) : NULL;
        sc->kpt = h->nkpt ? malloc(A * (size_t)h->nkpt * (size_t)h->kdim * sizeof *sc->kpt) : NULL;
        if (!sc->lb || !sc->boxes || !sc->scores || (h->nm && !sc->coef) || (h->nkpt && !sc->kpt))
            s = dolor_error(DOLOR_ENOMEM, "detection: out of memory for %zu anchors", A);
    }
    if (s) {
        dolor_det_scratch_free(sc);
        return s;
    }
    *psc = sc;
    return DOLOR_OK;
}

dolor_status dolor_det_predict(dolor_net *net, int imgsz, const float *pixels, int w, int h,
                               const dolor_det_nms_params *p, dolor_det_list *out, dolor_det_scratch **scratch)
{
    if (!net || !pixels || w < 1 || h < 1 || !p || !out || !scratch)
        return dolor_error(DOLOR_EINVAL, "dolor_det_predict: NULL argument or image %dx%d", w, h);
    dolor_status s = scratch_get(net, imgsz, scratch);
    if (s)
        return s;
    dolor_det_scratch *sc = *scratch;
    const det_head *hd = &sc->h;
    const int S = imgsz;
    double r, px, py;
    det_letterbox(pixels, w, h, S, sc->lb, &r, &px, &py);
    for (int c = 0; c < hd->in_channels; c++)
        memcpy(sc->x->data + (size_t)c * S * S, sc->lb, (size_t)S * S * sizeof(float));
    const dolor_tensor *ins[1] = {sc->x};
    if ((s = dolor_net_run(net, ins, sc->outs, 0)))
        return s;
    const dolor_tensor *maps[8], *aux[8];
    for (int l = 0; l < hd->nmaps; l++) {
        maps[l] = sc->outs[hd->box_out[l]];
        aux[l] = hd->aux_out[l] >= 0 ? sc->outs[hd->aux_out[l]] : NULL;
    }
    if ((s = dolor_yolo_decode_boxes(maps, hd->strides, hd->nmaps, hd->reg_max, hd->nc, sc->boxes, sc->scores)))
        return s;
    if (hd->nkpt && (s = dolor_yolo_decode_keypoints(aux, hd->strides, hd->nmaps, hd->nkpt, hd->kdim, sc->kpt)))
        return s;
    if (hd->nm) { /* coefficients per anchor, anchors level by level, row-major */
        size_t a = 0;
        for (int l = 0; l < hd->nmaps; l++) {
            const dolor_tensor *m = aux[l];
            size_t hw = (size_t)(m->shape[2] * m->shape[3]);
            for (size_t q = 0; q < hw; q++, a++)
                for (int j = 0; j < hd->nm; j++)
                    sc->coef[a * (size_t)hd->nm + (size_t)j] = m->data[(size_t)j * hw + q];
        }
    }
    dolor_det_candidates c = {0};
    c.n = sc->A;
    c.nc = hd->nc;
    c.boxes = sc->boxes;
    c.scores = sc->scores;
    c.img_h = c.img_w = S;
    if (hd->nm) {
        const dolor_tensor *pr = sc->outs[hd->proto_out];
        c.nm = hd->nm;
        c.coef = sc->coef;
        c.protos = pr->data;
        c.proto_h = (int)pr->shape[2];
        c.proto_w = (int)pr->shape[3];
    }
    if (hd->nkpt) {
        c.nkpt = hd->nkpt;
        c.kdim = hd->kdim;
        c.kpt = sc->kpt;
    }
    dolor_det_list lb;
    dolor_det_list_init(&lb, 0, 0, 0);
    if ((s = dolor_det_postprocess(&c, p, &lb))) {
        dolor_det_list_free(&lb);
        return s;
    }
    /* back to the image's pixels */
    dolor_det_list_free(out);
    dolor_det_list_init(out, hd->nm ? h : 0, hd->nm ? w : 0, hd->nkpt);
    uint8_t *m = hd->nm ? malloc((size_t)w * h) : NULL;
    double *kp = hd->nkpt ? malloc((size_t)hd->nkpt * 3 * sizeof *kp) : NULL;
    if ((hd->nm && !m) || (hd->nkpt && !kp))
        s = dolor_error(DOLOR_ENOMEM, "detection: out of memory");
    for (size_t i = 0; !s && i < lb.n; i++) {
        const dolor_det_object *o = &lb.obj[i];
        double b[4] = {(o->box[0] - px) / r, (o->box[1] - py) / r, (o->box[2] - px) / r, (o->box[3] - py) / r};
        b[0] = fmin(fmax(b[0], 0), w);
        b[2] = fmin(fmax(b[2], 0), w);
        b[1] = fmin(fmax(b[1], 0), h);
        b[3] = fmin(fmax(b[3], 0), h);
        if (m) { /* nearest sampling of the input-size mask, visiting only the image pixels over its extent */
            memset(m, 0, (size_t)w * h);
            int u0 = S, u1 = -1, v0 = S, v1 = -1;
            for (int v = 0; o->mask && v < S; v++)
                for (int u = 0; u < S; u++)
                    if (o->mask[(size_t)v * S + u]) {
                        u0 = u < u0 ? u : u0;
                        u1 = u > u1 ? u : u1;
                        v0 = v < v0 ? v : v0;
                        v1 = v;
                    }
            /* image pixel x samples input pixel floor((x + 0.5) r + px): those hitting u0..u1 */
            int x0 = (int)floor((u0 - px) / r - 0.5) - 1, x1 = (int)ceil((u1 + 1 - px) / r - 0.5) + 1;
            int y0 = (int)floor((v0 - py) / r - 0.5) - 1, y1 = (int)ceil((v1 + 1 - py) / r - 0.5) + 1;
            x0 = x0 < 0 ? 0 : x0;
            y0 = y0 < 0 ? 0 : y0;
            x1 = x1 > w ? w : x1;
            y1 = y1 > h ? h : y1;
            for (int y = y0; u1 >= 0 && y < y1; y++) {
                int v = (int)floor((y + 0.5) * r + py);
                v = v < 0 ? 0 : v >= S ? S - 1 : v;
                for (int x = x0; x < x1; x++) {
                    int u = (int)floor((x + 0.5) * r + px);
                    u = u < 0 ? 0 : u >= S ? S - 1 : u;
                    m[(size_t)y * w + x] = o->mask[(size_t)v * S + u];
                }
            }
        }
        if (kp)
            for (int j = 0; j < hd->nkpt; j++) {
                kp[3 * j] = (o->kpt[3 * j] - px) / r;
                kp[3 * j + 1] = (o->kpt[3 * j + 1] - py) / r;
                kp[3 * j + 2] = o->kpt[3 * j + 2];
            }
        s = dolor_det_list_add(out, o->cls, o->score, b, m, kp);
    }
    free(m);
    free(kp);
    dolor_det_list_free(&lb);
    return s;
}

/* ------------------------------------------------------------ validation ---- */

typedef struct det_val_result {
    double box_map50, box_map5095, box_p, box_r;
    double mask_map50, mask_map5095;
    double kpt_map50, kpt_map5095, kpt_err_px;
    double fitness;
} det_val_result;

static dolor_status det_validate(dolor_net *net, const dolor_det_train_config *cfg, const det_head *hd,
                                 const dolor_det_train_data *val, const double *sigmas, dolor_det_scratch **sc,
                                 dolor_det_list *preds, det_val_result *res)
{
    dolor_det_nms_params p = dolor_det_nms_defaults();
    p.conf = cfg->val_conf;
    p.iou = cfg->val_iou;
    p.multi_label = 1;
    p.max_det = 300;
    dolor_status s = DOLOR_OK;
    for (size_t i = 0; !s && i < val->n; i++)
        s = dolor_det_predict(net, cfg->imgsz, val->pixels[i], val->w[i], val->h[i], &p, &preds[i], sc);
    if (s)
        return s;
    memset(res, 0, sizeof *res);
    res->mask_map50 = res->mask_map5095 = res->kpt_map50 = res->kpt_map5095 = res->kpt_err_px = NAN;
    dolor_det_eval e = {0};
    dolor_det_eval_params ep = dolor_det_eval_defaults(hd->nc);
    if ((s = dolor_det_evaluate(val->lists, preds, val->n, &ep, &e)))
        return s;
    res->box_map50 = e.map50;
    res->box_map5095 = e.map5095;
    res->box_p = e.precision;
    res->box_r = e.recall;
    double fit = 0.1 * (isnan(e.map50) ? 0 : e.map50) + 0.9 * (isnan(e.map5095) ? 0 : e.map5095);
    dolor_det_eval_free(&e);
    if (hd->nm) {
        ep.kind = DOLOR_DET_MASK;
        memset(&e, 0, sizeof e);
        if ((s = dolor_det_evaluate(val->lists, preds, val->n, &ep, &e)))
            return s;
        res->mask_map50 = e.map50;
        res->mask_map5095 = e.map5095;
        fit += 0.1 * (isnan(e.map50) ? 0 : e.map50) + 0.9 * (isnan(e.map5095) ? 0 : e.map5095);
        dolor_det_eval_free(&e);
    }
    if (hd->nkpt) {
        ep.kind = DOLOR_DET_KPT;
        ep.sigmas = sigmas;
        ep.nkpt = hd->nkpt;
        ep.max_dets = 20;
        memset(&e, 0, sizeof e);
        if ((s = dolor_det_evaluate(val->lists, preds, val->n, &ep, &e)))
            return s;
        res->kpt_map50 = e.map50;
        res->kpt_map5095 = e.map5095;
        res->kpt_err_px = e.kpt_err_px;
        fit += 0.1 * (isnan(e.map50) ? 0 : e.map50) + 0.9 * (isnan(e.map5095) ? 0 : e.map5095);
        dolor_det_eval_free(&e);
    }
    res->fitness = fit;
    return DOLOR_OK;
}

/* -------------------------------------------------------------- training ---- */

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

typedef struct by_area {
    int i, area;
} by_area;

static int cmp_area_desc(const void *a, const void *b)
{
    const by_area *x = a, *y = b;
    return x->area != y->area ? (x->area < y->area ? 1 : -1) : (x->i > y->i) - (x->i < y->i);
}

/* PreciseBN: the batch-norm statistics of the current weights, the plain mean over up to 16 batches of
 * training images as validation sees them (centred letterbox, no augmentation). */
static dolor_status calibrate_bn(dolor_net *net, const dolor_det_train_data *d, int S, int C, int B, dolor_tensor *x,
                                 dolor_tensor **outs, float *img)
{
    size_t nb = (d->n + (size_t)B - 1) / (size_t)B;
    nb = nb > 16 ? 16 : nb;
    dolor_status s = DOLOR_OK;
    for (size_t k = 0; k < nb && !s; k++) {
        for (int j = 0; j < B; j++) {
            size_t i = (k * (size_t)B + (size_t)j) % d->n;
            double r, px, py;
            det_letterbox(d->pixels[i], d->w[i], d->h[i], S, img, &r, &px, &py);
            for (int c = 0; c < C; c++)
                memcpy(x->data + ((size_t)j * C + c) * S * S, img, (size_t)S * S * sizeof *img);
        }
        dolor_net_set_bn_momentum(net, 1.0 / (double)(k + 1));
        const dolor_tensor *ins[1] = {x};
        s = dolor_net_run(net, ins, outs, 1);
    }
    dolor_net_set_bn_momentum(net, -1);
    dolor_net_params_changed(net);
    return s;
}

static void ema_swap(float *a, float *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float t = a[i];
        a[i] = b[i];
        b[i] = t;
    }
}

dolor_status dolor_det_train_run(const dolor_det_train_config *cfg, dolor_net *net, const dolor_det_train_data *train,
                                 const dolor_det_train_data *val, dolor_model_meta *meta, double *best_fitness)
{
    if (!cfg || !net || !train || !meta)
        return dolor_error(DOLOR_EINVAL, "detection training: NULL argument");
    if (!cfg->out_dir || !cfg->out_dir[0])
        return dolor_error(DOLOR_EINVAL, "detection training: no output folder");
    if (train->n == 0)
        return dolor_error(DOLOR_EINVAL, "detection training: no training images");
    if (cfg->epochs < 1 || cfg->batch_size < 1 || !(cfg->lr >= 0) || !(cfg->weight_decay >= 0) ||
        cfg->warmup_epochs < 0 || !(cfg->lrf > 0 && cfg->lrf <= 1))
        return dolor_error(DOLOR_EINVAL,
                           "detection training: epochs %d, batch %d, lr %g, weight decay %g, warm-up %d, lrf %g (need "
                           ">= 1, >= 1, >= 0, >= 0, >= 0, in (0, 1])",
                           cfg->epochs, cfg->batch_size, cfg->lr, cfg->weight_decay, cfg->warmup_epochs, cfg->lrf);
    det_head hd;
    dolor_status s = det_head_read(net, cfg->imgsz, &hd);
    if (s)
        return s;
    if (hd.in_channels != 1 && hd.in_channels != 3)
        return dolor_error(DOLOR_EINVAL, "detection training: the net takes %d input channels (grey images: 1 or 3)",
                           hd.in_channels);
    for (size_t i = 0; i < train->n; i++)
        for (size_t j = 0; j < train->lists[i].n; j++) {
            const dolor_det_object *o = &train->lists[i].obj[j];
            if (o->cls >= hd.nc)
                return dolor_error(DOLOR_EINVAL, "detection training: %s: object %zu has class %d; the net has %d",
                                   train->names ? train->names[i] : "image", j + 1, o->cls, hd.nc);
            if (hd.nkpt && !o->kpt)
                return dolor_error(DOLOR_EINVAL, "detection training: %s: object %zu has no keypoints (pose head)",
                                   train->names ? train->names[i] : "image", j + 1);
            if (hd.nm && !o->mask)
                return dolor_error(DOLOR_EINVAL, "detection training: %s: object %zu has no mask (segment head)",
                                   train->names ? train->names[i] : "image", j + 1);
        }
    if ((s = dolor_mkdir_p(cfg->out_dir)))
        return s;
    char path_log[4096], path_best[4096], path_last[4096];
    snprintf(path_log, sizeof path_log, "%s/log.csv", cfg->out_dir);
    snprintf(path_best, sizeof path_best, "%s/best.safetensors", cfg->out_dir);
    snprintf(path_last, sizeof path_last, "%s/last.safetensors", cfg->out_dir);

    const int S = cfg->imgsz, S4 = S / 4, C = hd.in_channels;
    int B = cfg->batch_size;
    if ((size_t)B > train->n)
        B = (int)train->n;
    const int64_t spe = (int64_t)(train->n / (size_t)B);
    const int nparts = dolor_yolo_loss_num_parts((dolor_yolo_task)hd.task);
    double lr0 = cfg->lr > 0 ? cfg->lr : round(0.002 * 5 / (4 + hd.nc) * 1e6) / 1e6;

    det_sampler *smp = NULL;
    dolor_yolo_loss *L = NULL;
    dolor_tensor *x = NULL, *outs[8] = {0}, *douts[8] = {0};
    dolor_det_scratch *vsc = NULL;
    dolor_det_list *preds = NULL;
    dolor_yolo_instance *inst = NULL;
    float *kstore = NULL, *img = NULL, *ema_p = NULL, *ema_b = NULL;
    uint16_t *masks = NULL;
    int *order = NULL;
    by_area *ord = NULL;
    double *sigmas = NULL;
    dolor_sgd *sgd = NULL;
    dolor_adamw *adam = NULL;
    strbuf log = {0};
    const size_t np = dolor_net_num_params(net), nb = dolor_net_num_buffers(net);
    double best = best_fitness && !isnan(*best_fitness) ? *best_fitness : -1;

    s = det_sampler_create(train, S, hd.nkpt, hd.nm > 0, &smp);
    int cap = 0;
    if (!s) {
        size_t most = 0;
        for (size_t i = 0; i < train->n; i++)
            most = train->lists[i].n > most ? train->lists[i].n : most;
        cap = (int)(4 * most + 1) * B;
    }
    dolor_yolo_loss_config lc;
    float sigf[64];
    if (!s) {
        dolor_yolo_loss_config_default(&lc, (dolor_yolo_task)hd.task, hd.nc);
        lc.reg_max = hd.reg_max;
        lc.nmaps = hd.nmaps;
        for (int l = 0; l < hd.nmaps; l++)
            lc.strides[l] = hd.strides[l];
        lc.num_masks = hd.nm;
        lc.num_keypoints = hd.nkpt;
        lc.keypoint_dims = hd.kdim;
        lc.keypoint_sigmas = NULL;
        if (cfg->kpt_sigmas && hd.nkpt <= 64) {
            for (int j = 0; j < hd.nkpt; j++)
                sigf[j] = (float)cfg->kpt_sigmas[j];
            lc.keypoint_sigmas = sigf;
        }
        s = dolor_yolo_loss_create(&lc, B, S, S, &L);
    }
    if (!s)
        s = dolor_tensor_create4(&x, B, C, S, S);
    if (!s)
        s = make_outputs(net, &hd, B, S, outs);
    if (!s)
        s = make_outputs(net, &hd, B, S, douts);
    if (s)
        goto done;
    inst = calloc((size_t)cap + 1, sizeof *inst);
    kstore = hd.nkpt ? calloc((size_t)cap * (size_t)hd.nkpt * 3 + 1, sizeof *kstore) : NULL;
    masks = hd.nm ? calloc((size_t)B * S4 * S4, sizeof *masks) : NULL;
    img = malloc((size_t)S * S * sizeof *img);
    order = malloc(train->n * sizeof *order);
    ord = malloc(((size_t)cap + 1) * sizeof *ord);
    preds = val && val->n ? calloc(val->n, sizeof *preds) : NULL;
    sigmas = hd.nkpt ? malloc((size_t)hd.nkpt * sizeof *sigmas) : NULL;
    if (cfg->ema) {
        ema_p = malloc((np + 1) * sizeof *ema_p);
        ema_b = malloc((nb + 1) * sizeof *ema_b);
    }
    if (!inst || (hd.nkpt && (!kstore || !sigmas)) || (hd.nm && !masks) || !img || !order || !ord ||
        (val && val->n && !preds) || (cfg->ema && (!ema_p || !ema_b))) {
        s = dolor_error(DOLOR_ENOMEM, "detection training: out of memory");
        goto done;
    }
    for (int j = 0; j < hd.nkpt; j++)
        sigmas[j] = cfg->kpt_sigmas ? cfg->kpt_sigmas[j] : 1.0 / hd.nkpt;
    if (cfg->ema) {
        memcpy(ema_p, dolor_net_params(net), np * sizeof *ema_p);
        memcpy(ema_b, dolor_net_buffers(net), nb * sizeof *ema_b);
    }
    if (cfg->optimizer == DOLOR_OPT_SGD)
        s = dolor_sgd_create(np, (float)cfg->momentum, 0, (float)cfg->weight_decay, 1, &sgd);
    else if (cfg->optimizer == DOLOR_OPT_ADAM)
        s = dolor_adam_create(np, 0.9f, 0.999f, 1e-8f, (float)cfg->weight_decay, &adam);
    else
        s = dolor_adamw_create(np, 0.9f, 0.999f, 1e-8f, (float)cfg->weight_decay, &adam);
    if (s)
        goto done;

    if (sb_add(&log, "epoch")) {
        s = dolor_error(DOLOR_ENOMEM, "detection training: out of memory for the log");
        goto done;
    }
    for (int k = 0; k < nparts; k++) {
        char col[64];
        snprintf(col, sizeof col, ",train_%s_loss", dolor_yolo_loss_part_name((dolor_yolo_task)hd.task, k));
        sb_add(&log, col);
    }
    sb_add(&log, ",box_precision,box_recall,box_map50,box_map50_95,mask_map50,mask_map50_95,kpt_map50,kpt_map50_95,"
                 "kpt_error_px,fitness,lr,seconds\n");
    const int64_t total = spe * cfg->epochs;
    int64_t nw = cfg->warmup_epochs > 0 ? (int64_t)cfg->warmup_epochs * spe : 0;
    if (nw && nw < 100)
        nw = 100;
    if (nw > total / 2)
        nw = total / 2;
    int64_t step = 0, updates = 0;
    fprintf(stderr,
            "detection training (%s): %zu images (%zu validation), %d classes, size %d, batch %d, %lld steps/epoch, %d "
            "epochs, %s lr %.3g, mosaic %.2f (off for the last %d epochs), EMA %s\n",
            hd.task == 1 ? "segment" : hd.task == 2 ? "pose" : "detect", train->n, val ? val->n : 0, hd.nc, S, B,
            (long long)spe, cfg->epochs, dolor_optimizer_name(cfg->optimizer), lr0,
            cfg->augment ? cfg->aug.mosaic : 0, cfg->aug.close_mosaic, cfg->ema ? "on" : "off");
    double t_start = dolor_time_ms();
    for (int epoch = 0; epoch < cfg->epochs; epoch++) {
        double t0 = dolor_time_ms();
        for (size_t i = 0; i < train->n; i++)
            order[i] = (int)i;
        dolor_rng r;
        dolor_rng_seed(&r, mix64(cfg->seed ^ mix64(0x444554ULL + (uint64_t)epoch)));
        dolor_rng_shuffle_int(&r, order, train->n);
        int mosaic_on = cfg->augment && cfg->aug.mosaic > 0 && epoch < cfg->epochs - cfg->aug.close_mosaic;
        char label[64], suffix[160];
        snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, cfg->epochs);
        dolor_progress *bar = cfg->quiet ? NULL : dolor_progress_create(label, spe);
        double psum[8] = {0}, lr = lr0;
        for (int64_t b = 0; b < spe && !s; b++) {
            int ni = 0;
            size_t kused = 0;
            if (masks)
                memset(masks, 0, (size_t)B * S4 * S4 * sizeof *masks);
            for (int j = 0; j < B && !s; j++) {
                dolor_rng rs;
                dolor_rng_seed(&rs, mix64(cfg->seed ^ mix64(((uint64_t)epoch << 32) + (uint64_t)(b * B + j) + 1)));
                int mos = mosaic_on && dolor_rng_uniform(&rs) < cfg->aug.mosaic;
                det_sample_obj *so;
                int no;
                s = det_sampler_make(smp, (size_t)order[b * B + j], cfg->augment ? &cfg->aug : NULL, mos, &rs, img,
                                     &so, &no);
                if (s)
                    break;
                for (int c = 0; c < C; c++)
                    memcpy(x->data + ((size_t)j * C + c) * S * S, img, (size_t)S * S * sizeof *img);
                for (int q = 0; q < no; q++) {
                    ord[q].i = q;
                    ord[q].area = hd.nm ? so[q].area4 : 0;
                }
                if (hd.nm) /* larger instances first, so smaller ones are painted over them (overlap_mask) */
                    qsort(ord, (size_t)no, sizeof *ord, cmp_area_desc);
                int first = ni;
                for (int q = 0; q < no && ni < cap; q++) {
                    const det_sample_obj *o = &so[ord[q].i];
                    dolor_yolo_instance *in = &inst[ni++];
                    in->image = j;
                    in->cls = o->cls;
                    memcpy(in->box, o->box, sizeof in->box);
                    in->keypoints = NULL;
                    if (hd.nkpt) {
                        float *k = kstore + kused;
                        memcpy(k, o->kpt, (size_t)hd.nkpt * 3 * sizeof *k);
                        kused += (size_t)hd.nkpt * 3;
                        in->keypoints = k;
                    }
                    if (hd.nm) {
                        uint16_t *mj = masks + (size_t)j * S4 * S4;
                        uint16_t id = (uint16_t)(ni - first);
                        for (size_t e = 0; e < (size_t)S4 * S4; e++)
                            if (o->mask4[e])
                                mj[e] = id;
                    }
                }
            }
            if (s)
                break;
            dolor_yolo_targets tg = {inst, ni, masks};
            const dolor_tensor *ins[1] = {x};
            float parts[8] = {0}, tot = 0;
            s = dolor_net_run(net, ins, outs, 1);
            if (!s)
                s = dolor_yolo_loss_compute(L, (const dolor_tensor *const *)outs, &tg, parts, &tot, douts);
            if (!s)
                s = dolor_net_backward_outputs(net, (const dolor_tensor *const *)douts);
            if (!s && !isfinite(tot))
                s = dolor_error(DOLOR_ENUMERIC, "detection training: loss is %g at epoch %d step %lld; lower --lr (now "
                                                "%g)",
                                tot, epoch + 1, (long long)step + 1, lr0);
            if (s)
                break;
            double lf = (1.0 - (double)epoch / cfg->epochs) * (1.0 - cfg->lrf) + cfg->lrf;
            lr = lr0 * lf;
            if (step < nw)
                lr *= (double)(step + 1) / (double)nw;
            float *P = dolor_net_params(net);
            const float *G = dolor_net_grads(net);
            if (sgd)
                dolor_sgd_step(sgd, P, G, (float)lr);
            else if (cfg->optimizer == DOLOR_OPT_ADAM)
                dolor_adam_step(adam, P, G, (float)lr);
            else
                dolor_adamw_step(adam, P, G, (float)lr);
            step++;
            if (cfg->ema) {
                updates++;
                float dcy = (float)(0.9999 * (1.0 - exp(-(double)updates / 2000.0)));
                const float *bf = dolor_net_buffers(net);
                for (size_t i = 0; i < np; i++)
                    ema_p[i] = dcy * ema_p[i] + (1 - dcy) * P[i];
                for (size_t i = 0; i < nb; i++)
                    ema_b[i] = dcy * ema_b[i] + (1 - dcy) * bf[i];
            }
            for (int k = 0; k < nparts; k++)
                psum[k] += parts[k];
            snprintf(suffix, sizeof suffix, "loss %.3f lr %.2e",
                     (psum[0] + psum[1] + (nparts > 2 ? psum[2] : 0) + (nparts > 3 ? psum[3] : 0) +
                      (nparts > 4 ? psum[4] : 0)) / (double)(b + 1),
                     lr);
            dolor_progress_update(bar, b + 1, suffix);
        }
        if (s) {
            dolor_progress_finish(bar, "failed");
            goto done;
        }
        dolor_progress_finish(bar, NULL);
        /* validation and checkpoints with the averaged weights */
        if (cfg->ema) {
            ema_swap(dolor_net_params(net), ema_p, np);
            ema_swap(dolor_net_buffers(net), ema_b, nb);
            dolor_net_params_changed(net);
        }
        if (cfg->precise_bn && (s = calibrate_bn(net, train, S, C, B, x, outs, img)))
            goto done;
        det_val_result vr;
        memset(&vr, 0, sizeof vr);
        vr.box_map50 = vr.box_map5095 = vr.box_p = vr.box_r = vr.mask_map50 = vr.mask_map5095 = NAN;
        vr.kpt_map50 = vr.kpt_map5095 = vr.kpt_err_px = vr.fitness = NAN;
        if (val && val->n)
            s = det_validate(net, cfg, &hd, val, sigmas, &vsc, preds, &vr);
        double secs = (dolor_time_ms() - t0) / 1000.0;
        meta->epoch = epoch + 1;
        meta->val_dice = vr.fitness;
        meta->opt_step = step;
        int improved = !s && val && val->n && !isnan(vr.fitness) && vr.fitness > best;
        char line[1024];
        int o = snprintf(line, sizeof line, "%d", epoch + 1);
        for (int k = 0; k < nparts; k++)
            o += snprintf(line + o, sizeof line - (size_t)o, ",%.6f", psum[k] / (double)spe);
        snprintf(line + o, sizeof line - (size_t)o, ",%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.4f,%.6f,%.6g,%.2f\n",
                 vr.box_p, vr.box_r, vr.box_map50, vr.box_map5095, vr.mask_map50, vr.mask_map5095, vr.kpt_map50,
                 vr.kpt_map5095, vr.kpt_err_px, vr.fitness, lr, secs);
        if (!s && sb_add(&log, line))
            s = dolor_error(DOLOR_ENOMEM, "detection training: out of memory for the log");
        if (!s)
            s = write_text(path_log, log.buf);
        if (!s && (improved || ((!val || !val->n) && epoch + 1 == cfg->epochs)))
            s = dolor_checkpoint_save(path_best, net, NULL, meta);
        if (!s)
            s = dolor_checkpoint_save(path_last, net, NULL, meta);
        if (cfg->ema) {
            ema_swap(dolor_net_params(net), ema_p, np);
            ema_swap(dolor_net_buffers(net), ema_b, nb);
            dolor_net_params_changed(net);
        }
        if (s)
            goto done;
        if (improved)
            best = vr.fitness;
        fprintf(stderr, "epoch %d/%d  loss", epoch + 1, cfg->epochs);
        for (int k = 0; k < nparts; k++)
            fprintf(stderr, " %s %.3f", dolor_yolo_loss_part_name((dolor_yolo_task)hd.task, k), psum[k] / (double)spe);
        fprintf(stderr, "  box mAP50 %.3f mAP50-95 %.3f", vr.box_map50, vr.box_map5095);
        if (hd.nm)
            fprintf(stderr, "  mask mAP50 %.3f mAP50-95 %.3f", vr.mask_map50, vr.mask_map5095);
        if (hd.nkpt)
            fprintf(stderr, "  kpt mAP50-95 %.3f err %.2f px", vr.kpt_map5095, vr.kpt_err_px);
        fprintf(stderr, "  lr %.2e  %.1f s%s\n", lr, secs, improved ? "  [best]" : "");
        if (cfg->time_limit_min > 0 && (dolor_time_ms() - t_start) / 60000.0 >= cfg->time_limit_min &&
            epoch + 1 < cfg->epochs) {
            fprintf(stderr, "time limit of %.1f min reached after epoch %d; stopping\n", cfg->time_limit_min, epoch + 1);
            break;
        }
    }
    if (cfg->ema) { /* the net handed back holds the averaged weights, as the checkpoints do */
        ema_swap(dolor_net_params(net), ema_p, np);
        ema_swap(dolor_net_buffers(net), ema_b, nb);
        dolor_net_params_changed(net);
    }
    if (best_fitness)
        *best_fitness = best;
done:
    det_sampler_free(smp);
    dolor_yolo_loss_free(L);
    dolor_tensor_free(x);
    for (int k = 0; k < 8; k++) {
        dolor_tensor_free(outs[k]);
        dolor_tensor_free(douts[k]);
    }
    dolor_det_scratch_free(vsc);
    if (preds)
        for (size_t i = 0; i < val->n; i++)
            dolor_det_list_free(&preds[i]);
    free(preds);
    free(inst);
    free(kstore);
    free(masks);
    free(img);
    free(order);
    free(ord);
    free(sigmas);
    free(ema_p);
    free(ema_b);
    dolor_sgd_free(sgd);
    dolor_adamw_free(adam);
    free(log.buf);
    return s;
}
