/* YOLOv8 training losses on the raw head maps of arch/yolov8.c: Ultralytics' v8DetectionLoss,
 * v8SegmentationLoss and v8PoseLoss with its TaskAlignedAssigner (Feng et al., TOOD, ICCV 2021),
 * written from the definitions of Ultralytics 8.1.0 (git tag v8.1.0, January 2024:
 * ultralytics/utils/loss.py, tal.py, metrics.py bbox_iou, ops.py crop_mask; no code taken), the
 * release family arch/yolov8.c follows; checked against the 8.1-era tal.py at commit 002217d4c575
 * and metrics.py at 000df7b31ef2 of ultralytics/ultralytics (the whole repository was too large to
 * fetch, and the tag's own loss.py was not stored: its definitions were compared with an 8.1 copy in
 * a fork and with a later loss.py at 00033e8fbb06). Per image b, with anchors a (level by level,
 * row-major, centre (j + 0.5, i + 0.5) grid units, stride s_a; pixel centre p_a = that times s_a)
 * and the image's ground-truth boxes g (pixels, in the order given):
 *   predictions  box P_a = (ax - l, ay - t, ax + r, ay + b) grid units, l.. the expectation of the
 *                softmax over reg_max bins (DFL); class probabilities sigmoid(logit)
 *   assigner     (no gradient) in(g, a) = min(p_a - (x1, y1), (x2, y2) - p_a) > 1e-9 (pixels);
 *                ov(g, a) = max(CIoU(g, P_a s_a), 0), metric(g, a) = score(a, cls g)^alpha ov^beta,
 *                both 0 where not in(g, a); the top-k anchors of each g by metric (over all anchors;
 *                ties at the k-th place: lower anchor index first, where torch.topk leaves the order
 *                unspecified) that are in(g, a) are its positives; an anchor positive for several g
 *                goes to the g of largest ov(g, a) over every g of the image (first on ties, as
 *                argmax); target score t(a, c) = [c = cls g] metric(g, a) max_a' ov(g, a') /
 *                (max_a' metric(g, a') + 1e-9), maxima over g's positives
 *   S            max(sum_{b, a, c} t(a, c), 1)
 *   cls          sum_{b, a, c} BCEWithLogits(logit, t) / S
 *   box          sum_fg (1 - CIoU(P_a, G / s_a)) w_a / S, w_a = sum_c t(a, c), CIoU with eps 1e-7 and
 *                its alpha = v / (v - IoU + 1 + eps) held constant (no gradient), as bbox_iou
 *   dfl          sum_fg w_a mean_sides [CE(bins, floor d) (floor d + 1 - d) + CE(bins, floor d + 1)
 *                (d - floor d)] / S, d = the target side distance (grid units) clamped to
 *                [0, reg_max - 1 - 0.01]
 *   seg          per fg anchor: BCEWithLogits(coef_a . proto_b, [mask_b == g + 1]) summed over the
 *                prototype pixels (c, r) with x1' <= c < x2', y1' <= r < y2' (the box at prototype
 *                scale: x' = x / W mw), divided by mw mh and by the box area normalised to the input
 *                (crop_mask, single_mask_loss); summed over the batch and divided by the number of fg
 *                anchors; gain box_gain (Ultralytics' "seg gain")
 *   pose         grid-unit keypoints: predicted x = 2 raw_x + ax - 0.5 (y likewise), target x / s_a;
 *                m_k = visibility != 0 (keypoint_dims 3; every keypoint with 2); per fg anchor
 *                K / (sum_k m_k + 1e-9) sum_k m_k (1 - exp(-e_k)), e_k = d_k^2 / ((2 sigma_k)^2 (area +
 *                1e-9) 2), area = the target box's w h in grid units, d_k the distance; mean over fg
 *                anchors x K (KeypointLoss)
 *   kobj         mean over fg anchors x K of BCEWithLogits(raw_v, m_k) (keypoint_dims 3 only)
 * Each part times its gain; the total = B sum(parts). Ultralytics' sigmas: its OKS_SIGMA for kpt_shape
 * [17, 3], else 1 / K each.
 * Differences from later Ultralytics releases (8.2, 8.3, the loss.py read at 00033e8):
 * DFLoss then clamps its own target (same value) and BboxLoss takes imgsz and stride (used only for
 * reg_max 1); the later segmentation loss resizes proto to the mask size instead of the
 * mask to proto and adds optional semantic and objectness terms; none of that is here.
 * Anything Ultralytics computes from normalised labels (batch["bboxes"] xywh in 0..1) is here given
 * in pixels directly; the float rounding of that round trip is the only numeric difference. */
#include "dolor/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define Y_EPS 1e-7   /* bbox_iou */
#define TAL_EPS 1e-9 /* TaskAlignedAssigner */

struct dolor_yolo_loss {
    dolor_yolo_loss_config cfg;
    int batch, height, width;
    int nmaps, A, mh, mw, nout;
    int lh[8], lw[8];
    int64_t loff[8];
    float sigmas[DOLOR_YOLO_MAX_KEYPOINTS];
    double *ax, *ay, *as; /* [A] anchor centre (grid units) and stride */
    double *pbox;         /* [B, A, 4] predicted box, grid units */
    double *prob;         /* [B, A, 4, reg_max] bin probabilities */
    double *ov, *met;     /* [M, A] per image */
    uint8_t *pos;         /* [M, A] */
    int *cnt;             /* [A] */
    int *tgt;             /* [B, A] assigned instance (index into t->inst), -1 background */
    double *tnorm;        /* [B, A] target score of the assigned class */
    int *order;           /* [B, M] instances of each image */
    int *nimg;            /* [B] */
    double *pam, *pov;    /* [M] */
    double *psum;         /* [nmaps, B] partial sums of the classification loss (fixed order) */
    int *topi;            /* [topk] */
    double *topv;         /* [topk] */
};

static const float OKS17[17] = {.26f, .25f, .25f, .35f, .35f, .79f, .79f, .72f, .72f,
                                .62f, .62f, 1.07f, 1.07f, .87f, .87f, .89f, .89f};

void dolor_yolo_loss_config_default(dolor_yolo_loss_config *cfg, dolor_yolo_task task, int num_classes)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->task = (int)task;
    cfg->num_classes = num_classes;
    cfg->reg_max = 16;
    cfg->nmaps = 3;
    cfg->strides[0] = 8;
    cfg->strides[1] = 16;
    cfg->strides[2] = 32;
    cfg->num_masks = task == DOLOR_YOLO_SEGMENT ? 32 : 0;
    cfg->num_keypoints = task == DOLOR_YOLO_POSE ? 17 : 0;
    cfg->keypoint_dims = task == DOLOR_YOLO_POSE ? 3 : 0;
    cfg->keypoint_sigmas = NULL;
    cfg->topk = 10;
    cfg->alpha = 0.5f;
    cfg->beta = 6.0f;
    cfg->box_gain = 7.5f;
    cfg->cls_gain = 0.5f;
    cfg->dfl_gain = 1.5f;
    cfg->pose_gain = 12.0f;
    cfg->kobj_gain = 1.0f;
    cfg->max_instances = DOLOR_YOLO_DEFAULT_MAX_INSTANCES;
}

static const char *const PART_NAMES[3][5] = {{"box", "cls", "dfl"},
                                             {"box", "seg", "cls", "dfl"},
                                             {"box", "pose", "kobj", "cls", "dfl"}};

int dolor_yolo_loss_num_parts(dolor_yolo_task task)
{
    return task == DOLOR_YOLO_DETECT ? 3 : task == DOLOR_YOLO_SEGMENT ? 4 : task == DOLOR_YOLO_POSE ? 5 : 0;
}

const char *dolor_yolo_loss_part_name(dolor_yolo_task task, int i)
{
    if (i < 0 || i >= dolor_yolo_loss_num_parts(task))
        return NULL;
    return PART_NAMES[task][i];
}

void dolor_yolo_loss_free(dolor_yolo_loss *L)
{
    if (!L)
        return;
    free(L->ax);
    free(L->ay);
    free(L->as);
    free(L->pbox);
    free(L->prob);
    free(L->ov);
    free(L->met);
    free(L->pos);
    free(L->cnt);
    free(L->tgt);
    free(L->tnorm);
    free(L->order);
    free(L->nimg);
    free(L->pam);
    free(L->pov);
    free(L->psum);
    free(L->topi);
    free(L->topv);
    free(L);
}

dolor_status dolor_yolo_loss_create(const dolor_yolo_loss_config *cfg, int batch, int height, int width,
                                    dolor_yolo_loss **out)
{
    if (!cfg || !out)
        return dolor_error(DOLOR_EINVAL, "yolo loss: config or out NULL");
    *out = NULL;
    const dolor_yolo_loss_config *c = cfg;
    if (c->task < 0 || c->task > 2)
        return dolor_error(DOLOR_EINVAL, "yolo loss: task %d (0 detect, 1 segment, 2 pose)", c->task);
    if (c->num_classes < 1 || c->reg_max < 2 || c->reg_max > 64)
        return dolor_error(DOLOR_EINVAL, "yolo loss: num_classes %d (>= 1), reg_max %d (2..64)", c->num_classes,
                           c->reg_max);
    if (c->nmaps < 1 || c->nmaps > 8)
        return dolor_error(DOLOR_EINVAL, "yolo loss: nmaps %d (1..8)", c->nmaps);
    if (batch < 1 || height < 1 || width < 1)
        return dolor_error(DOLOR_EINVAL, "yolo loss: batch %d, height %d, width %d (each >= 1)", batch, height, width);
    for (int l = 0; l < c->nmaps; l++)
        if (c->strides[l] < 1 || height % c->strides[l] || width % c->strides[l])
            return dolor_error(DOLOR_EINVAL, "yolo loss: stride %d of map %d does not divide the input %dx%d",
                               c->strides[l], l, height, width);
    if (c->topk < 1 || c->topk > 64 || !(c->alpha >= 0) || !(c->beta >= 0))
        return dolor_error(DOLOR_EINVAL, "yolo loss: topk %d (1..64), alpha %g, beta %g (>= 0)", c->topk,
                           (double)c->alpha, (double)c->beta);
    if (!isfinite(c->box_gain) || !isfinite(c->cls_gain) || !isfinite(c->dfl_gain) || !isfinite(c->pose_gain) ||
        !isfinite(c->kobj_gain))
        return dolor_error(DOLOR_EINVAL, "yolo loss: a gain is not finite");
    int M = c->max_instances ? c->max_instances : DOLOR_YOLO_DEFAULT_MAX_INSTANCES;
    if (M < 1 || M > 65535)
        return dolor_error(DOLOR_EINVAL, "yolo loss: max_instances %d (1..65535 per image, 0 = %d)", M,
                           DOLOR_YOLO_DEFAULT_MAX_INSTANCES);
    if (c->task == DOLOR_YOLO_SEGMENT &&
        (c->num_masks < 1 || c->num_masks > DOLOR_YOLO_MAX_MASKS || height % 4 || width % 4))
        return dolor_error(DOLOR_EINVAL, "yolo loss: segment needs num_masks in 1..%d (%d) and an input divisible by 4 (%dx%d)",
                           DOLOR_YOLO_MAX_MASKS, c->num_masks, height, width);
    if (c->task == DOLOR_YOLO_POSE) {
        if (c->num_keypoints < 1 || c->num_keypoints > DOLOR_YOLO_MAX_KEYPOINTS ||
            (c->keypoint_dims != 2 && c->keypoint_dims != 3))
            return dolor_error(DOLOR_EINVAL, "yolo loss: num_keypoints %d (1..%d), keypoint_dims %d (2 or 3)",
                               c->num_keypoints, DOLOR_YOLO_MAX_KEYPOINTS, c->keypoint_dims);
        if (c->keypoint_sigmas)
            for (int k = 0; k < c->num_keypoints; k++)
                if (!(c->keypoint_sigmas[k] > 0) || !isfinite(c->keypoint_sigmas[k]))
                    return dolor_error(DOLOR_EINVAL, "yolo loss: keypoint sigma %d is %g (must be > 0)", k,
                                       (double)c->keypoint_sigmas[k]);
    }
    dolor_yolo_loss *L = calloc(1, sizeof *L);
    if (!L)
        return dolor_error(DOLOR_ENOMEM, "yolo loss: out of memory");
    L->cfg = *c;
    L->cfg.keypoint_sigmas = NULL;
    L->cfg.max_instances = M;
    L->batch = batch;
    L->height = height;
    L->width = width;
    L->nmaps = c->nmaps;
    int64_t A = 0;
    for (int l = 0; l < c->nmaps; l++) {
        L->lh[l] = height / c->strides[l];
        L->lw[l] = width / c->strides[l];
        L->loff[l] = A;
        A += (int64_t)L->lh[l] * L->lw[l];
    }
    L->A = (int)A;
    L->mh = height / 4;
    L->mw = width / 4;
    L->nout = c->nmaps + (c->task == DOLOR_YOLO_SEGMENT ? c->nmaps + 1 : c->task == DOLOR_YOLO_POSE ? c->nmaps : 0);
    if (c->task == DOLOR_YOLO_POSE)
        for (int k = 0; k < c->num_keypoints; k++)
            L->sigmas[k] = c->keypoint_sigmas                                ? c->keypoint_sigmas[k]
                           : c->num_keypoints == 17 && c->keypoint_dims == 3 ? OKS17[k] / 10.0f
                                                                             : 1.0f / (float)c->num_keypoints;
    size_t B = (size_t)batch, RA = (size_t)A, R = (size_t)c->reg_max;
    L->ax = malloc(RA * sizeof(double));
    L->ay = malloc(RA * sizeof(double));
    L->as = malloc(RA * sizeof(double));
    L->pbox = malloc(B * RA * 4 * sizeof(double));
    L->prob = malloc(B * RA * 4 * R * sizeof(double));
    L->ov = malloc((size_t)M * RA * sizeof(double));
    L->met = malloc((size_t)M * RA * sizeof(double));
    L->pos = malloc((size_t)M * RA);
    L->cnt = malloc(RA * sizeof(int));
    L->tgt = malloc(B * RA * sizeof(int));
    L->tnorm = malloc(B * RA * sizeof(double));
    L->order = malloc(B * (size_t)M * sizeof(int));
    L->nimg = malloc(B * sizeof(int));
    L->pam = malloc((size_t)M * sizeof(double));
    L->pov = malloc((size_t)M * sizeof(double));
    L->psum = malloc((size_t)c->nmaps * B * sizeof(double));
    L->topi = malloc((size_t)c->topk * sizeof(int));
    L->topv = malloc((size_t)c->topk * sizeof(double));
    if (!L->ax || !L->ay || !L->as || !L->pbox || !L->prob || !L->ov || !L->met || !L->pos || !L->cnt || !L->tgt ||
        !L->tnorm || !L->order || !L->nimg || !L->pam || !L->pov || !L->psum || !L->topi || !L->topv) {
        dolor_yolo_loss_free(L);
        return dolor_error(DOLOR_ENOMEM, "yolo loss: out of memory for %lld anchors x %d instances", (long long)A, M);
    }
    for (int l = 0; l < c->nmaps; l++)
        for (int i = 0; i < L->lh[l]; i++)
            for (int j = 0; j < L->lw[l]; j++) {
                int64_t a = L->loff[l] + (int64_t)i * L->lw[l] + j;
                L->ax[a] = j + 0.5;
                L->ay[a] = i + 0.5;
                L->as[a] = c->strides[l];
            }
    *out = L;
    return DOLOR_OK;
}

/* ---- CIoU (bbox_iou with CIoU=True, eps 1e-7) and its gradient with respect to box 1 ---- */

/* d min(u, v) / du as torch.minimum's backward (half on a tie) */
static double dmin_du(double u, double v) { return u < v ? 1.0 : u == v ? 0.5 : 0.0; }
static double dmax_du(double u, double v) { return u > v ? 1.0 : u == v ? 0.5 : 0.0; }

/* b1 = x1, y1, x2, y2; b2 likewise; g (NULL: value only) receives d CIoU / d b1 with alpha constant */
static double ciou(const double *b1, const double *b2, double *g)
{
    const double eps = Y_EPS;
    double w1 = b1[2] - b1[0], h1 = b1[3] - b1[1] + eps;
    double w2 = b2[2] - b2[0], h2 = b2[3] - b2[1] + eps;
    double ixr = fmin(b1[2], b2[2]) - fmax(b1[0], b2[0]), iyr = fmin(b1[3], b2[3]) - fmax(b1[1], b2[1]);
    double ix = ixr > 0 ? ixr : 0, iy = iyr > 0 ? iyr : 0;
    double inter = ix * iy;
    double uni = w1 * h1 + w2 * h2 - inter + eps;
    double iou = inter / uni;
    double cw = fmax(b1[2], b2[2]) - fmin(b1[0], b2[0]), ch = fmax(b1[3], b2[3]) - fmin(b1[1], b2[1]);
    double c2 = cw * cw + ch * ch + eps;
    double sx = b2[0] + b2[2] - b1[0] - b1[2], sy = b2[1] + b2[3] - b1[1] - b1[3];
    double rho2 = (sx * sx + sy * sy) / 4;
    const double k4 = 4.0 / (3.14159265358979323846 * 3.14159265358979323846);
    double at = atan(w2 / h2) - atan(w1 / h1);
    double v = k4 * at * at;
    double alpha = v / (v - iou + (1 + eps));
    double r = iou - (rho2 / c2 + v * alpha);
    if (g) {
        /* inter */
        double gix = ixr >= 0 ? iy : 0, giy = iyr >= 0 ? ix : 0; /* clamp(min 0) passes at 0, as torch */
        double di[4] = {-gix * dmax_du(b1[0], b2[0]), -giy * dmax_du(b1[1], b2[1]), gix * dmin_du(b1[2], b2[2]),
                        giy * dmin_du(b1[3], b2[3])};
        double da[4] = {-h1, -w1, h1, w1}; /* d(w1 h1) */
        double dc[4] = {-2 * cw * dmin_du(b1[0], b2[0]), -2 * ch * dmin_du(b1[1], b2[1]),
                        2 * cw * dmax_du(b1[2], b2[2]), 2 * ch * dmax_du(b1[3], b2[3])};
        double dr[4] = {-sx / 2, -sy / 2, -sx / 2, -sy / 2};
        double u = w1 / h1, q = 1.0 / (1.0 + u * u);
        double dat[4] = {-q / h1, q * w1 / (h1 * h1), q / h1, -q * w1 / (h1 * h1)}; /* d atan(w1 / h1) */
        for (int k = 0; k < 4; k++) {
            double dun = da[k] - di[k];
            double diou = (di[k] * uni - inter * dun) / (uni * uni);
            double dv = k4 * 2 * at * (-dat[k]);
            g[k] = diou - (dr[k] / c2 - rho2 * dc[k] / (c2 * c2)) - alpha * dv;
        }
    }
    return r;
}

/* BCEWithLogits(x, t) = max(x, 0) - x t + log(1 + exp(-|x|)); *sg (NULL: not wanted) = sigmoid(x) */
static double bce_logits_sig(double x, double t, double *sg)
{
    double e = exp(-fabs(x));
    if (sg)
        *sg = x >= 0 ? 1 / (1 + e) : e / (1 + e);
    return (x > 0 ? x : 0) - x * t + log1p(e);
}
static double bce_logits(double x, double t) { return bce_logits_sig(x, t, NULL); }
static double sigmoid(double x)
{
    double e = exp(-fabs(x));
    return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}

static dolor_status check_out(const dolor_yolo_loss *L, const char *what, int k, const dolor_tensor *t, int64_t C,
                              int64_t H, int64_t W)
{
    if (!t || !t->data || t->ndim != 4 || t->shape[0] != L->batch || t->shape[1] != C || t->shape[2] != H ||
        t->shape[3] != W)
        return dolor_error(DOLOR_ESHAPE, "yolo loss: %s %d is %s[%lld, %lld, %lld, %lld], expected [%d, %lld, %lld, %lld]",
                           what, k, t ? "" : "NULL ", t && t->ndim > 0 ? (long long)t->shape[0] : 0,
                           t && t->ndim > 1 ? (long long)t->shape[1] : 0, t && t->ndim > 2 ? (long long)t->shape[2] : 0,
                           t && t->ndim > 3 ? (long long)t->shape[3] : 0, L->batch, (long long)C, (long long)H,
                           (long long)W);
    return DOLOR_OK;
}

/* the shape output k must have; *name its role */
static void out_shape(const dolor_yolo_loss *L, int k, int64_t *C, int64_t *H, int64_t *W, const char **name)
{
    const dolor_yolo_loss_config *c = &L->cfg;
    int nm = L->nmaps, l = k % nm;
    if (k < nm) {
        *C = 4 * c->reg_max + c->num_classes;
        *name = "box_cls output";
    } else if (c->task == DOLOR_YOLO_SEGMENT && k == 2 * nm) {
        *C = c->num_masks;
        *H = L->mh;
        *W = L->mw;
        *name = "proto output";
        return;
    } else if (c->task == DOLOR_YOLO_SEGMENT) {
        *C = c->num_masks;
        *name = "mask_coef output";
    } else {
        *C = (int64_t)c->num_keypoints * c->keypoint_dims;
        *name = "keypoints output";
    }
    *H = L->lh[l];
    *W = L->lw[l];
}

/* element (b, channel ch) of anchor a in the level maps outs[base .. base + nmaps) */
static int64_t at_idx(const dolor_yolo_loss *L, int l, int64_t C, int b, int64_t ch, int64_t p)
{
    int64_t HW = (int64_t)L->lh[l] * L->lw[l];
    return ((int64_t)b * C + ch) * HW + p;
}

static int level_of(const dolor_yolo_loss *L, int a)
{
    int l = 0;
    while (l + 1 < L->nmaps && a >= L->loff[l + 1])
        l++;
    return l;
}

dolor_status dolor_yolo_loss_compute(dolor_yolo_loss *L, const dolor_tensor *const *outputs, const dolor_yolo_targets *t,
                                     float *parts, float *total, dolor_tensor *const *doutputs)
{
    if (!L || !outputs || !t || !parts || !total || (t->n > 0 && !t->inst) || t->n < 0)
        return dolor_error(DOLOR_EINVAL, "yolo loss: NULL argument (loss, outputs, targets, parts, total or instances)");
    const dolor_yolo_loss_config *c = &L->cfg;
    const int B = L->batch, A = L->A, R = c->reg_max, NC = c->num_classes, M = c->max_instances;
    const int task = c->task, nm = L->nmaps;
    const int64_t CB = 4 * R + NC;
    for (int k = 0; k < L->nout; k++) {
        int64_t C, H, W;
        const char *nmk;
        out_shape(L, k, &C, &H, &W, &nmk);
        dolor_status s = check_out(L, nmk, k, outputs[k], C, H, W);
        if (!s && doutputs)
            s = check_out(L, "gradient of output", k, doutputs[k], C, H, W);
        if (s)
            return s;
    }
    /* instances */
    for (int b = 0; b < B; b++)
        L->nimg[b] = 0;
    for (int i = 0; i < t->n; i++) {
        const dolor_yolo_instance *in = &t->inst[i];
        const float *x = in->box;
        if (in->image < 0 || in->image >= B)
            return dolor_error(DOLOR_EINVAL, "yolo loss: instance %d: image %d outside the batch (0..%d)", i, in->image,
                               B - 1);
        if (in->cls < 0 || in->cls >= NC)
            return dolor_error(DOLOR_EINVAL, "yolo loss: instance %d: class %d outside 0..%d", i, in->cls, NC - 1);
        if (!(x[0] >= 0 && x[1] >= 0 && x[2] <= L->width && x[3] <= L->height && x[2] > x[0] && x[3] > x[1]))
            return dolor_error(DOLOR_EINVAL,
                               "yolo loss: instance %d: box (%g, %g, %g, %g) is degenerate or outside the %dx%d input "
                               "(0 <= x1 < x2 <= width, 0 <= y1 < y2 <= height)",
                               i, (double)x[0], (double)x[1], (double)x[2], (double)x[3], L->width, L->height);
        if (task == DOLOR_YOLO_POSE) {
            if (!in->keypoints)
                return dolor_error(DOLOR_EINVAL, "yolo loss: instance %d: keypoints NULL (pose)", i);
            for (int k = 0; k < 3 * c->num_keypoints; k++)
                if (!isfinite(in->keypoints[k]))
                    return dolor_error(DOLOR_EINVAL, "yolo loss: instance %d: keypoint value %d is not finite", i, k);
        }
        if (L->nimg[in->image] >= M)
            return dolor_error(DOLOR_EINVAL, "yolo loss: instance %d: image %d has more than max_instances = %d", i,
                               in->image, M);
        L->order[(size_t)in->image * M + L->nimg[in->image]++] = i;
    }
    if (task == DOLOR_YOLO_SEGMENT && t->n > 0 && !t->masks)
        return dolor_error(DOLOR_EINVAL, "yolo loss: segment targets without masks");

    /* predictions: bin probabilities and boxes (grid units) */
    for (int l = 0; l < nm; l++) {
        const dolor_tensor *o = outputs[l];
        int64_t HW = (int64_t)L->lh[l] * L->lw[l];
#pragma omp parallel for collapse(2) schedule(static)
        for (int b = 0; b < B; b++)
            for (int64_t p = 0; p < HW; p++) {
                int64_t a = L->loff[l] + p;
                double *pr = L->prob + (((size_t)b * A + a) * 4) * R, d[4];
                for (int sd = 0; sd < 4; sd++) {
                    const float *z = o->data + at_idx(L, l, CB, b, (int64_t)sd * R, p);
                    double mx = z[0], s = 0, e = 0;
                    for (int k = 1; k < R; k++)
                        mx = fmax(mx, z[k * HW]);
                    for (int k = 0; k < R; k++)
                        s += (pr[sd * R + k] = exp(z[k * HW] - mx));
                    for (int k = 0; k < R; k++) {
                        pr[sd * R + k] /= s;
                        e += k * pr[sd * R + k];
                    }
                    d[sd] = e;
                }
                double *pb = L->pbox + ((size_t)b * A + a) * 4;
                pb[0] = L->ax[a] - d[0];
                pb[1] = L->ay[a] - d[1];
                pb[2] = L->ax[a] + d[2];
                pb[3] = L->ay[a] + d[3];
            }
    }

    /* assigner, per image */
    int nfg = 0;
    double tsum = 0;
    for (int b = 0; b < B; b++) {
        int n = L->nimg[b];
        const int *ord = L->order + (size_t)b * M;
        int *tg = L->tgt + (size_t)b * A;
        double *tn = L->tnorm + (size_t)b * A;
        for (int a = 0; a < A; a++) {
            tg[a] = -1;
            tn[a] = 0;
        }
        if (n == 0)
            continue;
        for (int j = 0; j < n; j++) {
            const dolor_yolo_instance *in = &t->inst[ord[j]];
            double gb[4] = {in->box[0], in->box[1], in->box[2], in->box[3]};
            double *ov = L->ov + (size_t)j * A, *mt = L->met + (size_t)j * A;
            uint8_t *ps = L->pos + (size_t)j * A;
            for (int a = 0; a < A; a++) {
                double s = L->as[a], px = L->ax[a] * s, py = L->ay[a] * s;
                double dm = fmin(fmin(px - gb[0], py - gb[1]), fmin(gb[2] - px, gb[3] - py));
                ov[a] = mt[a] = 0;
                ps[a] = dm > TAL_EPS;
                if (!ps[a])
                    continue;
                const double *pb = L->pbox + ((size_t)b * A + a) * 4;
                double pp[4] = {pb[0] * s, pb[1] * s, pb[2] * s, pb[3] * s};
                double o = ciou(gb, pp, NULL);
                ov[a] = o > 0 ? o : 0;
                int l = level_of(L, a);
                double sc = sigmoid(outputs[l]->data[at_idx(L, l, CB, b, 4 * R + in->cls, a - L->loff[l])]);
                mt[a] = pow(sc, c->alpha) * pow(ov[a], c->beta);
            }
            /* top-k by metric over all anchors (ties: lower index first), kept where in the box */
            int K = c->topk < A ? c->topk : A, nk = 0;
            for (int a = 0; a < A; a++) {
                double v = mt[a];
                if (nk == K && !(v > L->topv[K - 1]))
                    continue;
                int q = nk < K ? nk++ : K - 1;
                while (q > 0 && v > L->topv[q - 1]) {
                    L->topv[q] = L->topv[q - 1];
                    L->topi[q] = L->topi[q - 1];
                    q--;
                }
                L->topv[q] = v;
                L->topi[q] = a;
            }
            /* ps = in-box; keep only the top-k among them */
            for (int q = 0; q < nk; q++)
                ps[L->topi[q]] |= 2;
            for (int a = 0; a < A; a++)
                ps[a] = ps[a] == 3;
        }
        /* an anchor positive for several instances: the one of largest overlap */
        for (int a = 0; a < A; a++) {
            int cnt = 0, first = -1;
            for (int j = 0; j < n; j++)
                if (L->pos[(size_t)j * A + a]) {
                    cnt++;
                    if (first < 0)
                        first = j;
                }
            if (cnt > 1) {
                int bj = 0;
                for (int j = 1; j < n; j++)
                    if (L->ov[(size_t)j * A + a] > L->ov[(size_t)bj * A + a])
                        bj = j;
                for (int j = 0; j < n; j++)
                    L->pos[(size_t)j * A + a] = j == bj;
                first = bj;
            }
            tg[a] = first; /* local index for now */
        }
        for (int j = 0; j < n; j++) {
            double pam = 0, pov = 0;
            for (int a = 0; a < A; a++)
                if (L->pos[(size_t)j * A + a]) {
                    pam = fmax(pam, L->met[(size_t)j * A + a]);
                    pov = fmax(pov, L->ov[(size_t)j * A + a]);
                }
            L->pam[j] = pam;
            L->pov[j] = pov;
        }
        for (int a = 0; a < A; a++) {
            int j = tg[a];
            if (j < 0)
                continue;
            tn[a] = L->met[(size_t)j * A + a] * L->pov[j] / (L->pam[j] + TAL_EPS);
            tsum += tn[a];
            tg[a] = ord[j];
            nfg++;
        }
    }
    const double S = tsum > 1 ? tsum : 1;
    const double G = (double)B;

    if (doutputs)
        for (int k = 0; k < L->nout; k++)
            memset(doutputs[k]->data, 0, doutputs[k]->numel * sizeof(float));

    /* classification over every anchor and class: one partial sum per (level, image), added in order */
    double lcls = 0;
    for (int l = 0; l < nm; l++) {
        int64_t HW = (int64_t)L->lh[l] * L->lw[l];
        float *dl = doutputs ? doutputs[l]->data : NULL;
        const float *xl = outputs[l]->data;
        const double gc = G * c->cls_gain / S;
#pragma omp parallel for schedule(static)
        for (int b = 0; b < B; b++) {
            double acc = 0;
            for (int64_t p = 0; p < HW; p++) {
                int64_t a = L->loff[l] + p;
                int i = L->tgt[(size_t)b * A + a];
                double tv = L->tnorm[(size_t)b * A + a];
                int tc = i >= 0 ? t->inst[i].cls : -1;
                for (int cc = 0; cc < NC; cc++) {
                    int64_t e = at_idx(L, l, CB, b, 4 * R + cc, p);
                    double x = xl[e], tt = cc == tc ? tv : 0, sg;
                    acc += bce_logits_sig(x, tt, dl ? &sg : NULL);
                    if (dl)
                        dl[e] = (float)(gc * (sg - tt));
                }
            }
            L->psum[(size_t)l * B + b] = acc;
        }
        for (int b = 0; b < B; b++)
            lcls += L->psum[(size_t)l * B + b];
    }
    lcls /= S;

    /* box (CIoU) and DFL over the fg anchors */
    double lbox = 0, ldfl = 0;
    const double dmax = (double)(R - 1) - 0.01;
    for (int b = 0; b < B; b++)
        for (int a = 0; a < A; a++) {
            int i = L->tgt[(size_t)b * A + a];
            if (i < 0)
                continue;
            double w = L->tnorm[(size_t)b * A + a], s = L->as[a];
            const float *gbx = t->inst[i].box;
            double tb[4] = {gbx[0] / s, gbx[1] / s, gbx[2] / s, gbx[3] / s}, gr[4];
            const double *pb = L->pbox + ((size_t)b * A + a) * 4;
            double ci = ciou(pb, tb, doutputs ? gr : NULL);
            lbox += (1 - ci) * w;
            double td[4] = {L->ax[a] - tb[0], L->ay[a] - tb[1], tb[2] - L->ax[a], tb[3] - L->ay[a]};
            const double *pr = L->prob + (((size_t)b * A + a) * 4) * R;
            int l = level_of(L, a);
            int64_t p = a - L->loff[l];
            /* d total / d (l, t, r, b) from the box term: x1 = ax - l, y1 = ay - t, x2 = ax + r, y2 = ay + b */
            double gbox = -G * c->box_gain * w / S;
            double dside[4] = {doutputs ? -gbox * gr[0] : 0, doutputs ? -gbox * gr[1] : 0, doutputs ? gbox * gr[2] : 0,
                               doutputs ? gbox * gr[3] : 0};
            double dfl = 0;
            for (int sd = 0; sd < 4; sd++) {
                double d = td[sd] < 0 ? 0 : td[sd] > dmax ? dmax : td[sd];
                int tl = (int)d;
                double wl = (tl + 1) - d, wr = 1 - wl;
                {   /* cross-entropies from the logits (log-sum-exp), finite where a probability underflows */
                    const float *z = outputs[l]->data + at_idx(L, l, CB, b, (int64_t)sd * R, p);
                    int64_t HWl = (int64_t)L->lh[l] * L->lw[l];
                    double mx = z[0], se = 0;
                    for (int k = 1; k < R; k++)
                        mx = fmax(mx, z[k * HWl]);
                    for (int k = 0; k < R; k++)
                        se += exp(z[k * HWl] - mx);
                    double lse = mx + log(se);
                    dfl += (lse - z[tl * HWl]) * wl + (lse - z[(tl + 1) * HWl]) * wr;
                }
                if (doutputs) {
                    double e = 0, gd = G * c->dfl_gain * w / (4 * S);
                    for (int k = 0; k < R; k++)
                        e += k * pr[sd * R + k];
                    float *dz = doutputs[l]->data + at_idx(L, l, CB, b, (int64_t)sd * R, p);
                    int64_t HW = (int64_t)L->lh[l] * L->lw[l];
                    for (int k = 0; k < R; k++) {
                        double pk = pr[sd * R + k];
                        double v = dside[sd] * pk * (k - e) + gd * (pk - (k == tl ? wl : 0) - (k == tl + 1 ? wr : 0));
                        dz[k * HW] += (float)v;
                    }
                }
            }
            ldfl += dfl / 4 * w;
        }
    lbox /= S;
    ldfl /= S;

    double lseg = 0, lpose = 0, lkobj = 0;
    if (task == DOLOR_YOLO_SEGMENT && nfg > 0) {
        const dolor_tensor *proto = outputs[2 * nm];
        const int NM = c->num_masks, mh = L->mh, mw = L->mw;
        const size_t MHW = (size_t)mh * mw;
        const double gs = G * c->box_gain / nfg;
        for (int b = 0; b < B; b++) {
            const float *pt = proto->data + (size_t)b * NM * MHW;
            float *dpt = doutputs ? doutputs[2 * nm]->data + (size_t)b * NM * MHW : NULL;
            const uint16_t *mk = t->masks + (size_t)b * MHW;
            for (int a = 0; a < A; a++) {
                int i = L->tgt[(size_t)b * A + a];
                if (i < 0)
                    continue;
                int j = 0; /* 1-based index of instance i within image b */
                for (const int *o = L->order + (size_t)b * M; *o != i; o++)
                    j++;
                j++;
                const float *bx = t->inst[i].box;
                double nx1 = bx[0] / (double)L->width, ny1 = bx[1] / (double)L->height;
                double nx2 = bx[2] / (double)L->width, ny2 = bx[3] / (double)L->height;
                double area = (nx2 - nx1) * (ny2 - ny1);
                double mx1 = nx1 * mw, my1 = ny1 * mh, mx2 = nx2 * mw, my2 = ny2 * mh;
                int c0 = (int)ceil(mx1), c1 = (int)ceil(mx2), r0 = (int)ceil(my1), r1 = (int)ceil(my2);
                c0 = c0 < 0 ? 0 : c0;
                r0 = r0 < 0 ? 0 : r0;
                c1 = c1 > mw ? mw : c1;
                r1 = r1 > mh ? mh : r1;
                int l = level_of(L, a);
                int64_t p = a - L->loff[l];
                const dolor_tensor *co = outputs[nm + l];
                double coef[DOLOR_YOLO_MAX_MASKS], dcoef[DOLOR_YOLO_MAX_MASKS] = {0};
                for (int k = 0; k < NM; k++)
                    coef[k] = co->data[at_idx(L, l, NM, b, k, p)];
                double sum = 0, scale = 1.0 / ((double)MHW * area);
                for (int r = r0; r < r1; r++)
                    for (int cc = c0; cc < c1; cc++) {
                        size_t q = (size_t)r * mw + cc;
                        double z = 0;
                        for (int k = 0; k < NM; k++)
                            z += coef[k] * pt[k * MHW + q];
                        double gt = mk[q] == j ? 1.0 : 0.0;
                        sum += bce_logits(z, gt);
                        if (doutputs) {
                            double dz = gs * scale * (sigmoid(z) - gt);
                            for (int k = 0; k < NM; k++) {
                                dcoef[k] += dz * pt[k * MHW + q];
                                dpt[k * MHW + q] += (float)(dz * coef[k]);
                            }
                        }
                    }
                lseg += sum * scale;
                if (doutputs)
                    for (int k = 0; k < NM; k++)
                        doutputs[nm + l]->data[at_idx(L, l, NM, b, k, p)] += (float)dcoef[k];
            }
        }
        lseg /= nfg;
    }
    if (task == DOLOR_YOLO_POSE && nfg > 0) {
        const int K = c->num_keypoints, KD = c->keypoint_dims;
        const double nk = (double)nfg * K;
        for (int b = 0; b < B; b++)
            for (int a = 0; a < A; a++) {
                int i = L->tgt[(size_t)b * A + a];
                if (i < 0)
                    continue;
                int l = level_of(L, a);
                int64_t p = a - L->loff[l];
                const dolor_tensor *ko = outputs[nm + l];
                double s = L->as[a];
                const float *bx = t->inst[i].box, *gk = t->inst[i].keypoints;
                double area = (bx[2] / s - bx[0] / s) * (bx[3] / s - bx[1] / s);
                int nvis = 0;
                for (int k = 0; k < K; k++)
                    nvis += KD == 2 || gk[3 * k + 2] != 0;
                double fac = K / (nvis + 1e-9);
                for (int k = 0; k < K; k++) {
                    int m = KD == 2 || gk[3 * k + 2] != 0;
                    int64_t ex = at_idx(L, l, (int64_t)K * KD, b, (int64_t)k * KD, p);
                    int64_t ey = at_idx(L, l, (int64_t)K * KD, b, (int64_t)k * KD + 1, p);
                    double px = 2.0 * ko->data[ex] + L->ax[a] - 0.5, py = 2.0 * ko->data[ey] + L->ay[a] - 0.5;
                    double dx = px - gk[3 * k] / s, dy = py - gk[3 * k + 1] / s;
                    double sg = 2.0 * L->sigmas[k];
                    double den = sg * sg * (area + 1e-9) * 2;
                    double e = (dx * dx + dy * dy) / (sg * sg) / (area + 1e-9) / 2; /* 8.1's order */
                    if (m) {
                        lpose += fac * (1 - exp(-e));
                        if (doutputs) {
                            double ge = G * c->pose_gain / nk * fac * exp(-e) / den;
                            doutputs[nm + l]->data[ex] += (float)(ge * 2 * dx * 2);
                            doutputs[nm + l]->data[ey] += (float)(ge * 2 * dy * 2);
                        }
                    }
                    if (KD == 3) {
                        int64_t ev = at_idx(L, l, (int64_t)K * KD, b, (int64_t)k * KD + 2, p);
                        double v = ko->data[ev];
                        lkobj += bce_logits(v, m);
                        if (doutputs)
                            doutputs[nm + l]->data[ev] += (float)(G * c->kobj_gain / nk * (sigmoid(v) - m));
                    }
                }
            }
        lpose /= nk;
        lkobj /= nk;
    }
    double pv[5];
    int np = 0;
    pv[np++] = lbox * c->box_gain;
    if (task == DOLOR_YOLO_SEGMENT)
        pv[np++] = lseg * c->box_gain;
    if (task == DOLOR_YOLO_POSE) {
        pv[np++] = lpose * c->pose_gain;
        pv[np++] = lkobj * c->kobj_gain;
    }
    pv[np++] = lcls * c->cls_gain;
    pv[np++] = ldfl * c->dfl_gain;
    double tot = 0;
    for (int k = 0; k < np; k++) {
        parts[k] = (float)pv[k];
        tot += pv[k];
    }
    *total = (float)(tot * G);
    return DOLOR_OK;
}
