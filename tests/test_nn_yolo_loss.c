/* nn: the YOLOv8 training losses (src/nn/loss_yolo.c) against their plain-torch twin
 * (tools/yolo_loss_twin.py, Ultralytics 8.1.0's definitions; fixtures from
 * tools/gen_yolo_loss_fixtures.py, float64):
 *   1. yolo_loss.bin: detect, segment and pose cases on head maps by formula, with several instances
 *      per image, an image without instances, a batch without any, boxes on the border, two identical
 *      boxes of different classes (anchors claimed by several boxes, equal overlaps), and zero maps
 *      with a centred box (exact metric ties at the k-th place, where the twin with torch.topk gives
 *      other gradients, so the tie rule is tested): every loss part and the total within
 *      1e-5 + 1e-5 |torch|, every element of d(total)/d(output) within 1e-6 + 1e-4 |torch|;
 *   2. yolo_train_*.bin: a tiny "yolov8" per task (the det_fill weights, batch 2, 64x64) run by
 *      dolor_net_run -> dolor_yolo_loss_compute -> dolor_net_backward_outputs -> dolor_sgd_step
 *      (lr 1e-3, momentum 0.9) for 5 steps: the first step's loss parts and parameter gradients
 *      (first 32 of each tensor within 2e-3 max|torch| + 1e-3 |torch|, sums of squares within
 *      1e-4 + 1e-3 |torch|, as test_nn_ops.c's architecture checks) and the 5 totals within
 *      1e-4 + 1e-3 |torch| (the float32 net against PyTorch's float64 twin);
 *   3. bad input: out-of-range class or image, degenerate box, wrong output shapes: the status and a
 *      message naming the instance or output. */
#include "check.h"
#include "dolor/nn.h"

#include <stdint.h>

#define ATOL 1e-4
#define RTOL 1e-3
#include "nn_fx.h"

static void cmp_tol(const char *what, const float *a, const float *b, size_t n, double atol, double rtol)
{
    int bad = 0;
    size_t wi = 0;
    double worst = -1e300, md = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]), ex = isfinite(d) ? d - atol - rtol * fabs((double)b[i]) : 1e300;
        md = fmax(md, d);
        bad += ex > 0;
        if (ex > worst) {
            worst = ex;
            wi = i;
        }
    }
    if (getenv("DOLOR_NN_VERBOSE"))
        fprintf(stderr, "%s: max |diff| %.3g over %zu\n", what, md, n);
    CHECKF(bad == 0, "%s: %d of %zu elements off (%g + %g |torch|); worst at %zu: dolor %.9g, torch %.9g", what, bad, n,
           atol, rtol, wi, n ? a[wi] : 0.f, n ? b[wi] : 0.f);
}

static const float MAP_AMP[4] = {2.5f, 1.0f, 1.0f, 0.8f}; /* box_cls, mask_coef, proto, keypoints */

typedef struct lcase {
    dolor_yolo_loss_config cfg;
    int B, H, W, nout;
    dolor_tensor *out[8], *d[8];
    dolor_yolo_instance *inst;
    dolor_yolo_targets t;
    uint16_t *masks;
    float *kp;
    float sig[32];
} lcase;

/* the output shapes of a task; kind[k] indexes MAP_AMP */
static int shapes_of(const dolor_yolo_loss_config *c, int B, int H, int W, int64_t sh[8][4], int kind[8])
{
    int n = 0;
    for (int l = 0; l < c->nmaps; l++, n++) {
        int64_t s[4] = {B, 4 * c->reg_max + c->num_classes, H / c->strides[l], W / c->strides[l]};
        memcpy(sh[n], s, sizeof s);
        kind[n] = 0;
    }
    if (c->task == DOLOR_YOLO_SEGMENT) {
        for (int l = 0; l < c->nmaps; l++, n++) {
            int64_t s[4] = {B, c->num_masks, H / c->strides[l], W / c->strides[l]};
            memcpy(sh[n], s, sizeof s);
            kind[n] = 1;
        }
        int64_t s[4] = {B, c->num_masks, H / 4, W / 4};
        memcpy(sh[n], s, sizeof s);
        kind[n++] = 2;
    } else if (c->task == DOLOR_YOLO_POSE) {
        for (int l = 0; l < c->nmaps; l++, n++) {
            int64_t s[4] = {B, c->num_keypoints * c->keypoint_dims, H / c->strides[l], W / c->strides[l]};
            memcpy(sh[n], s, sizeof s);
            kind[n] = 3;
        }
    }
    return n;
}

static void lcase_free(lcase *lc)
{
    for (int k = 0; k < 8; k++) {
        dolor_tensor_free(lc->out[k]);
        dolor_tensor_free(lc->d[k]);
    }
    free(lc->inst);
    free(lc->masks);
    free(lc->kp);
}

/* instances, keypoints and masks from the records inst, kpts, masks (prefix p) */
static void read_targets(const fx_file *f, const char *p, lcase *lc)
{
    char key[64];
    snprintf(key, sizeof key, "%sinst", p);
    const fx_rec *ir = fx_get(f, key);
    int n = ir ? (int)(ir->numel / 6) : 0;
    lc->inst = calloc((size_t)n + 1, sizeof *lc->inst);
    int K = lc->cfg.num_keypoints;
    snprintf(key, sizeof key, "%skpts", p);
    const fx_rec *kr = fx_get(f, key);
    if (K && kr) {
        lc->kp = malloc((kr->numel + 1) * sizeof(float));
        memcpy(lc->kp, kr->data, kr->numel * sizeof(float));
    }
    for (int i = 0; i < n; i++) {
        const float *v = F32(ir) + 6 * i;
        lc->inst[i].image = (int)v[0];
        lc->inst[i].cls = (int)v[1];
        memcpy(lc->inst[i].box, v + 2, 4 * sizeof(float));
        lc->inst[i].keypoints = lc->kp ? lc->kp + (size_t)i * K * 3 : NULL;
    }
    snprintf(key, sizeof key, "%smasks", p);
    const fx_rec *mr = fx_get(f, key);
    if (mr) {
        lc->masks = malloc(mr->numel * sizeof(uint16_t));
        for (size_t i = 0; i < mr->numel; i++)
            lc->masks[i] = (uint16_t)F32(mr)[i];
    }
    lc->t.inst = lc->inst;
    lc->t.n = n;
    lc->t.masks = lc->masks;
}

static void test_loss_cases(void)
{
    fx_file f;
    if (!fx_load(&f, "yolo_loss.bin"))
        return;
    int count = (int)F32(fx_get(&f, "count"))[0];
    CHECK(count >= 6);
    for (int ci = 0; ci < count; ci++) {
        lcase lc;
        memset(&lc, 0, sizeof lc);
        const fx_rec *cfr = fx_getc(&f, ci, "cfg");
        const float *cf = F32(cfr);
        if (!cf || cfr->numel < 11)
            continue;
        double scale = cf[10];
        int task = (int)cf[0];
        dolor_yolo_loss_config_default(&lc.cfg, (dolor_yolo_task)task, (int)cf[1]);
        lc.cfg.reg_max = (int)cf[2];
        lc.cfg.num_masks = (int)cf[3];
        lc.cfg.num_keypoints = (int)cf[4];
        lc.cfg.keypoint_dims = (int)cf[5];
        lc.B = (int)cf[6];
        lc.H = (int)cf[7];
        lc.W = (int)cf[8];
        if (cf[9] != 0) {
            const fx_rec *sr = fx_getc(&f, ci, "sigmas");
            memcpy(lc.sig, sr->data, sr->numel * sizeof(float));
            lc.cfg.keypoint_sigmas = lc.sig;
        }
        int64_t sh[8][4];
        int kind[8];
        lc.nout = shapes_of(&lc.cfg, lc.B, lc.H, lc.W, sh, kind);
        for (int k = 0; k < lc.nout; k++) {
            CHECK_OK(dolor_tensor_create(&lc.out[k], 4, sh[k]));
            CHECK_OK(dolor_tensor_create(&lc.d[k], 4, sh[k]));
            for (size_t i = 0; lc.out[k] && i < lc.out[k]->numel; i++)
                lc.out[k]->data[i] =
                    (float)(scale * MAP_AMP[kind[k]] * sin(0.7311 * (double)i + 1.3 * k + 0.37 * ci + 0.2));
        }
        char p[16];
        snprintf(p, sizeof p, "c%d.", ci);
        read_targets(&f, p, &lc);
        dolor_yolo_loss *L = NULL;
        CHECK_OK(dolor_yolo_loss_create(&lc.cfg, lc.B, lc.H, lc.W, &L));
        float parts[5] = {0}, total = 0;
        char what[160];
        if (L) {
            CHECK_OK(dolor_yolo_loss_compute(L, (const dolor_tensor *const *)lc.out, &lc.t, parts, &total, lc.d));
            int np = dolor_yolo_loss_num_parts((dolor_yolo_task)task);
            const fx_rec *pr = fx_getc(&f, ci, "parts");
            CHECKF(pr && (int)pr->numel == np, "case %d: %d parts, torch %zu", ci, np, pr ? pr->numel : 0);
            for (int k = 0; pr && k < np && k < (int)pr->numel; k++) {
                snprintf(what, sizeof what, "case %d (task %d): part %s", ci, task,
                         dolor_yolo_loss_part_name((dolor_yolo_task)task, k));
                cmp_tol(what, &parts[k], F32(pr) + k, 1, 1e-5, 1e-5);
            }
            snprintf(what, sizeof what, "case %d (task %d): total", ci, task);
            cmp_tol(what, &total, F32(fx_getc(&f, ci, "total")), 1, 1e-5, 1e-5);
            for (int k = 0; k < lc.nout; k++) {
                snprintf(what, sizeof what, "d%d", k);
                const fx_rec *dr = fx_getc(&f, ci, what);
                snprintf(what, sizeof what, "case %d (task %d): d(total)/d(output %d)", ci, task, k);
                CHECKF(dr && dr->numel == lc.d[k]->numel, "%s: size", what);
                if (dr && dr->numel == lc.d[k]->numel)
                    cmp_tol(what, lc.d[k]->data, F32(dr), dr->numel, 1e-6, 1e-4);
            }
            /* loss only (doutputs NULL) gives the same values */
            float p2[5] = {0}, t2 = 0;
            CHECK_OK(dolor_yolo_loss_compute(L, (const dolor_tensor *const *)lc.out, &lc.t, p2, &t2, NULL));
            CHECKF(t2 == total && memcmp(p2, parts, sizeof p2) == 0, "case %d: loss without gradients %g, with %g", ci,
                   t2, total);
        }
        dolor_yolo_loss_free(L);
        lcase_free(&lc);
    }
    fx_free(&f);
}

static void test_errors(void)
{
    dolor_yolo_loss_config c;
    dolor_yolo_loss_config_default(&c, DOLOR_YOLO_DETECT, 2);
    CHECK(c.topk == 10 && c.reg_max == 16 && c.nmaps == 3 && c.strides[2] == 32 && c.box_gain == 7.5f &&
          c.cls_gain == 0.5f && c.dfl_gain == 1.5f && c.pose_gain == 12.0f && c.kobj_gain == 1.0f);
    CHECK(dolor_yolo_loss_num_parts(DOLOR_YOLO_DETECT) == 3 && dolor_yolo_loss_num_parts(DOLOR_YOLO_SEGMENT) == 4 &&
          dolor_yolo_loss_num_parts(DOLOR_YOLO_POSE) == 5);
    CHECK(strcmp(dolor_yolo_loss_part_name(DOLOR_YOLO_POSE, 2), "kobj") == 0 &&
          strcmp(dolor_yolo_loss_part_name(DOLOR_YOLO_SEGMENT, 1), "seg") == 0 &&
          dolor_yolo_loss_part_name(DOLOR_YOLO_DETECT, 3) == NULL);
    dolor_yolo_loss *L = NULL;
    CHECK_ERR(dolor_yolo_loss_create(&c, 2, 60, 64, &L), DOLOR_EINVAL, "stride 8 of map 0");
    CHECK(L == NULL);
    c.num_classes = 0;
    CHECK_ERR(dolor_yolo_loss_create(&c, 2, 64, 64, &L), DOLOR_EINVAL, "num_classes 0");
    c.num_classes = 2;
    CHECK_OK(dolor_yolo_loss_create(&c, 2, 64, 64, &L));
    if (!L)
        return;
    dolor_tensor *o[3] = {0}, *bad = NULL;
    for (int l = 0; l < 3; l++)
        CHECK_OK(dolor_tensor_create4(&o[l], 2, 66, 64 >> (3 + l), 64 >> (3 + l)));
    CHECK_OK(dolor_tensor_create4(&bad, 2, 65, 4, 4));
    dolor_yolo_instance in[2] = {{0, 1, {1, 2, 30, 40}, NULL}, {1, 0, {0, 0, 64, 64}, NULL}};
    dolor_yolo_targets t = {in, 2, NULL};
    float parts[3], total;
    CHECK_OK(dolor_yolo_loss_compute(L, (const dolor_tensor *const *)o, &t, parts, &total, NULL));
    CHECK(isfinite(total) && total > 0);
    /* logits of +-800 (exp overflows and underflows in double): loss and gradients stay finite */
    dolor_tensor *g3[3] = {0};
    for (int l = 0; l < 3; l++) {
        CHECK_OK(dolor_tensor_create4(&g3[l], 2, 66, 64 >> (3 + l), 64 >> (3 + l)));
        for (size_t i = 0; i < o[l]->numel; i++)
            o[l]->data[i] = (float)(800 * sin(0.37 * (double)i + l));
    }
    CHECK_OK(dolor_yolo_loss_compute(L, (const dolor_tensor *const *)o, &t, parts, &total, g3));
    int fin = isfinite(total);
    for (int l = 0; l < 3; l++)
        for (size_t i = 0; g3[l] && i < g3[l]->numel; i++)
            fin = fin && isfinite(g3[l]->data[i]);
    CHECKF(fin && total > 1000, "huge logits: total %g, gradients %s", total, fin ? "finite" : "not finite");
    for (int l = 0; l < 3; l++) {
        dolor_tensor_free(g3[l]);
        memset(o[l]->data, 0, o[l]->numel * sizeof(float));
    }
    in[1].cls = 2;
    CHECK_ERR(dolor_yolo_loss_compute(L, (const dolor_tensor *const *)o, &t, parts, &total, NULL), DOLOR_EINVAL,
              "instance 1: class 2 outside 0..1");
    in[1].cls = 0;
    in[1].image = 2;
    CHECK_ERR(dolor_yolo_loss_compute(L, (const dolor_tensor *const *)o, &t, parts, &total, NULL), DOLOR_EINVAL,
              "instance 1: image 2 outside the batch");
    in[1].image = -1;
    CHECK_ERR(dolor_yolo_loss_compute(L, (const dolor_tensor *const *)o, &t, parts, &total, NULL), DOLOR_EINVAL,
              "instance 1: image -1");
    in[1].image = 1;
    in[0].box[2] = in[0].box[0];
    CHECK_ERR(dolor_yolo_loss_compute(L, (const dolor_tensor *const *)o, &t, parts, &total, NULL), DOLOR_EINVAL,
              "instance 0: box (1, 2, 1, 40) is degenerate");
    in[0].box[2] = 65;
    CHECK_ERR(dolor_yolo_loss_compute(L, (const dolor_tensor *const *)o, &t, parts, &total, NULL), DOLOR_EINVAL,
              "outside the 64x64 input");
    in[0].box[2] = NAN;
    CHECK_ERR(dolor_yolo_loss_compute(L, (const dolor_tensor *const *)o, &t, parts, &total, NULL), DOLOR_EINVAL,
              "instance 0: box");
    in[0].box[2] = 30;
    dolor_tensor *o2[3] = {o[0], bad, o[2]};
    CHECK_ERR(dolor_yolo_loss_compute(L, (const dolor_tensor *const *)o2, &t, parts, &total, NULL), DOLOR_ESHAPE,
              "box_cls output 1 is [2, 65, 4, 4], expected [2, 66, 4, 4]");
    CHECK_ERR(dolor_yolo_loss_compute(L, (const dolor_tensor *const *)o, &t, parts, &total, o2), DOLOR_ESHAPE,
              "gradient of output 1 is [2, 65, 4, 4]");
    dolor_yolo_loss_free(L);
    dolor_yolo_loss_free(NULL);
    /* the workspace's instance limit (0 = the default) */
    in[1].image = 0;
    c.max_instances = 1;
    CHECK_OK(dolor_yolo_loss_create(&c, 2, 64, 64, &L));
    if (L)
        CHECK_ERR(dolor_yolo_loss_compute(L, (const dolor_tensor *const *)o, &t, parts, &total, NULL), DOLOR_EINVAL,
                  "instance 1: image 0 has more than max_instances = 1");
    dolor_yolo_loss_free(L);
    c.max_instances = 0;
    CHECK_OK(dolor_yolo_loss_create(&c, 2, 64, 64, &L));
    if (L)
        CHECK_OK(dolor_yolo_loss_compute(L, (const dolor_tensor *const *)o, &t, parts, &total, NULL));
    dolor_yolo_loss_free(L);
    in[1].image = 1;
    /* pose without keypoints, segment without masks */
    dolor_yolo_loss_config_default(&c, DOLOR_YOLO_POSE, 1);
    c.num_keypoints = 2;
    CHECK_OK(dolor_yolo_loss_create(&c, 2, 64, 64, &L));
    dolor_tensor *po[6] = {0};
    for (int l = 0; l < 3; l++) {
        CHECK_OK(dolor_tensor_create4(&po[l], 2, 65, 64 >> (3 + l), 64 >> (3 + l)));
        CHECK_OK(dolor_tensor_create4(&po[3 + l], 2, 6, 64 >> (3 + l), 64 >> (3 + l)));
    }
    in[1].cls = 0;
    in[0].cls = 0;
    if (L)
        CHECK_ERR(dolor_yolo_loss_compute(L, (const dolor_tensor *const *)po, &t, parts, &total, NULL), DOLOR_EINVAL,
                  "instance 0: keypoints NULL");
    dolor_yolo_loss_free(L);
    L = NULL;
    dolor_yolo_loss_config_default(&c, DOLOR_YOLO_SEGMENT, 1);
    c.num_masks = 6;
    CHECK_OK(dolor_yolo_loss_create(&c, 2, 64, 64, &L));
    dolor_tensor *pr = NULL, *so[7] = {po[0], po[1], po[2], po[3], po[4], po[5], NULL};
    CHECK_OK(dolor_tensor_create4(&pr, 2, 6, 16, 16));
    so[6] = pr;
    if (L) {
        CHECK_ERR(dolor_yolo_loss_compute(L, (const dolor_tensor *const *)so, &t, parts, &total, NULL), DOLOR_EINVAL,
                  "without masks");
        so[6] = po[5];
        CHECK_ERR(dolor_yolo_loss_compute(L, (const dolor_tensor *const *)so, &t, parts, &total, NULL), DOLOR_ESHAPE,
                  "proto output 6");
    }
    dolor_yolo_loss_free(L);
    for (int k = 0; k < 6; k++)
        dolor_tensor_free(po[k]);
    dolor_tensor_free(pr);
    for (int l = 0; l < 3; l++)
        dolor_tensor_free(o[l]);
    dolor_tensor_free(bad);
}

/* a tiny yolov8, 5 SGD steps on the loss against the twin */
static void test_train(const char *file)
{
    fx_file f;
    if (!fx_load(&f, file))
        return;
    char js[512], what[192];
    const fx_rec *cr = fx_get(&f, "config"), *xr = fx_get(&f, "xshape"), *l5 = fx_get(&f, "losses5");
    const fx_rec *p0 = fx_get(&f, "parts0"), *gh = fx_get(&f, "ghead"), *gs = fx_get(&f, "gsq");
    const fx_rec *lrr = fx_get(&f, "lr"), *mor = fx_get(&f, "momentum");
    if (!cr || !xr || !l5 || !p0 || !gh || !gs || !lrr || !mor || cr->numel >= sizeof js) {
        CHECKF(0, "%s: a record is missing", file);
        fx_free(&f);
        return;
    }
    memcpy(js, cr->data, cr->numel);
    js[cr->numel] = 0;
    dolor_net *g = NULL;
    CHECK_OK(dolor_arch_build("yolov8", js, &g));
    if (!g) {
        fx_free(&f);
        return;
    }
    fx_det_fill(g);
    int task = strstr(js, "\"segment\"") ? 1 : strstr(js, "\"pose\"") ? 2 : 0;
    lcase lc;
    memset(&lc, 0, sizeof lc);
    int64_t od[5];
    int nd;
    dolor_net_output_shape(g, 0, &nd, od);
    int nc = (int)od[1] - 64;
    dolor_yolo_loss_config_default(&lc.cfg, (dolor_yolo_task)task, nc);
    if (task == 2) {
        dolor_net_output_shape(g, 3, &nd, od);
        lc.cfg.num_keypoints = (int)od[1] / 3;
        lc.cfg.keypoint_dims = 3;
    }
    int64_t xs[4];
    for (int k = 0; k < 4; k++)
        xs[k] = (int64_t)F32(xr)[k];
    lc.B = (int)xs[0];
    lc.H = (int)xs[2];
    lc.W = (int)xs[3];
    int64_t sh[8][4];
    int kind[8];
    lc.nout = shapes_of(&lc.cfg, lc.B, lc.H, lc.W, sh, kind);
    CHECKF(lc.nout == dolor_net_num_outputs(g), "%s: %d outputs, the loss expects %d", file,
           dolor_net_num_outputs(g), lc.nout);
    for (int k = 0; k < lc.nout; k++) {
        CHECK_OK(dolor_tensor_create(&lc.out[k], 4, sh[k]));
        CHECK_OK(dolor_tensor_create(&lc.d[k], 4, sh[k]));
    }
    read_targets(&f, "", &lc);
    dolor_tensor *x = NULL;
    CHECK_OK(dolor_tensor_create(&x, 4, xs));
    for (size_t k = 0; x && k < x->numel; k++)
        x->data[k] = (float)(1.5 * sin(0.01 * (double)k) + 0.5 * sin(1.37 * (double)k + 0.2));
    dolor_yolo_loss *L = NULL;
    dolor_sgd *opt = NULL;
    CHECK_OK(dolor_yolo_loss_create(&lc.cfg, lc.B, lc.H, lc.W, &L));
    CHECK_OK(dolor_sgd_create(dolor_net_num_params(g), F32(mor)[0], 0.f, 0.f, 0, &opt));
    float losses[5] = {0}, parts[5] = {0};
    const dolor_tensor *ins[1] = {x};
    for (int it = 0; it < 5 && L && opt && x; it++) {
        CHECK_OK(dolor_net_run(g, ins, lc.out, 1));
        CHECK_OK(dolor_yolo_loss_compute(L, (const dolor_tensor *const *)lc.out, &lc.t, parts, &losses[it], lc.d));
        CHECK_OK(dolor_net_backward_outputs(g, (const dolor_tensor *const *)lc.d));
        if (it == 0) {
            int np = dolor_yolo_loss_num_parts((dolor_yolo_task)task);
            snprintf(what, sizeof what, "%s: loss parts of step 1", file);
            CHECKF((int)p0->numel == np, "%s: %d, torch %zu", what, np, p0->numel);
            cmp_tol(what, parts, F32(p0), p0->numel < 5 ? p0->numel : 5, 1e-4, 1e-3);
            /* parameter gradients of step 1: first 32 of each tensor, sum of squares */
            const float *gr = dolor_net_grads(g);
            int pi = 0;
            for (int ti = 0; ti < dolor_net_num_tensors(g); ti++) {
                dolor_net_tensor tt;
                dolor_net_tensor_at(g, ti, &tt);
                if (tt.is_buffer)
                    continue;
                if ((size_t)pi >= gs->numel)
                    break;
                const float *gt = gr + tt.offset, *ref = F32(gh) + 32 * pi;
                size_t n = tt.numel < 32 ? tt.numel : 32;
                double mx = 0, sq = 0;
                for (size_t k = 0; k < n; k++)
                    mx = fmax(mx, fabs((double)ref[k]));
                for (size_t k = 0; k < tt.numel; k++)
                    sq += (double)gt[k] * gt[k];
                snprintf(what, sizeof what, "%s: step-1 gradient of %s (first 32)", file, tt.name);
                cmp_tol(what, gt, ref, n, 2e-3 * mx, 1e-3);
                float sqf = (float)sq;
                snprintf(what, sizeof what, "%s: |step-1 gradient of %s|^2", file, tt.name);
                cmp_tol(what, &sqf, F32(gs) + pi, 1, 1e-4, 1e-3);
                pi++;
            }
            CHECKF((size_t)pi == gs->numel, "%s: %d parameter tensors, torch has %zu", file, pi, gs->numel);
        }
        dolor_sgd_step(opt, dolor_net_params(g), dolor_net_grads(g), F32(lrr)[0]);
    }
    snprintf(what, sizeof what, "%s: YOLO loss over 5 SGD steps (lr %g, momentum %g)", file, (double)F32(lrr)[0],
             (double)F32(mor)[0]);
    cmp_tol(what, losses, F32(l5), 5, 1e-4, 1e-3);
    if (getenv("DOLOR_NN_VERBOSE"))
        fprintf(stderr, "%s: losses %.7g %.7g %.7g %.7g %.7g (torch %.7g ... %.7g)\n", file, losses[0], losses[1],
                losses[2], losses[3], losses[4], F32(l5)[0], F32(l5)[4]);
    dolor_sgd_free(opt);
    dolor_yolo_loss_free(L);
    dolor_tensor_free(x);
    lcase_free(&lc);
    dolor_net_free(g);
    fx_free(&f);
}

int main(void)
{
    test_errors();
    test_loss_cases();
    test_train("yolo_train_detect.bin");
    test_train("yolo_train_segment.bin");
    test_train("yolo_train_pose.bin");
    return dolor_test_finish();
}
