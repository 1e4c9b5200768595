/* Detection training samples (src/train/detect_data.c): the letterbox by hand, and under mosaic, zoom and
 * shift every returned box holding its bright object and every bright pixel lying in a returned box. */
#include "check.h"
#include "test_util.h"
#include "train/detect_priv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* one image w x h, black, with bright rectangles rects[k] = x1, y1, x2, y2 (pixels), each an object of
 * class k % 2 with its mask and 4 keypoints at its corners (pixel centres) */
typedef struct synth {
    int w, h;
    float *pix;
    dolor_det_list l;
} synth;

static void synth_make(synth *s, int w, int h, const int (*rects)[4], int n)
{
    s->w = w;
    s->h = h;
    s->pix = calloc((size_t)w * h, sizeof *s->pix);
    dolor_det_list_init(&s->l, h, w, 4);
    uint8_t *m = malloc((size_t)w * h);
    for (int k = 0; k < n; k++) {
        memset(m, 0, (size_t)w * h);
        const int *r = rects[k];
        for (int y = r[1]; y < r[3]; y++)
            for (int x = r[0]; x < r[2]; x++) {
                m[(size_t)y * w + x] = 1;
                s->pix[(size_t)y * w + x] = 1.0f;
            }
        double box[4] = {r[0], r[1], r[2], r[3]};
        double kp[12] = {r[0] + 0.5, r[1] + 0.5, 2, r[2] - 0.5, r[1] + 0.5, 2,
                         r[2] - 0.5, r[3] - 0.5, 2, r[0] + 0.5, r[3] - 0.5, 2};
        CHECK_OK(dolor_det_list_add(&s->l, k % 2, 1.0, box, m, kp));
    }
    free(m);
}

static void test_letterbox(void)
{
    static const int rects[1][4] = {{10, 4, 30, 12}};
    synth sy;
    synth_make(&sy, 64, 32, rects, 1);
    const float *pix[1] = {sy.pix};
    int w[1] = {64}, h[1] = {32};
    dolor_det_train_data d = {1, pix, w, h, &sy.l, NULL};
    det_sampler *sm = NULL;
    CHECK_OK(det_sampler_create(&d, 64, 4, 1, &sm));
    float img[64 * 64];
    det_sample_obj *o;
    int n = -1;
    dolor_rng r;
    dolor_rng_seed(&r, 1);
    CHECK_OK(det_sampler_make(sm, 0, NULL, 0, &r, img, &o, &n));
    CHECK(n == 1);
    if (n == 1) {
        /* scale 1, 16 rows of padding above: the box moves down by 16 */
        CHECK(o[0].box[0] == 10 && o[0].box[1] == 20 && o[0].box[2] == 30 && o[0].box[3] == 28);
        CHECK_NEAR(o[0].kpt[0], 10.5, 1e-6);
        CHECK_NEAR(o[0].kpt[1], 20.5, 1e-6);
        CHECK_NEAR(o[0].kpt[7], 27.5, 1e-6);
        /* prototype-grid cells with centres 4U + 2 in x 10..29 (U = 2..6) and y 20..27 (V = 5, 6) */
        CHECK(o[0].area4 == 10);
        CHECK(o[0].mask4[5 * 16 + 2] == 1 && o[0].mask4[6 * 16 + 6] == 1 && o[0].mask4[4 * 16 + 2] == 0);
    }
    /* pixels: the image one to one, pad 114/255 above and below */
    CHECK_NEAR(img[20 * 64 + 10], 1.0, 1e-6);
    CHECK_NEAR(img[19 * 64 + 10], 0.0, 1e-6);
    CHECK_NEAR(img[5 * 64 + 10], 114.0 / 255.0, 1e-6);
    CHECK_NEAR(img[50 * 64 + 40], 114.0 / 255.0, 1e-6);
    det_sampler_free(sm);
    dolor_det_list_free(&sy.l);
    free(sy.pix);
}

static void test_augmented(void)
{
    static const int ra[3][4] = {{8, 8, 40, 30}, {60, 10, 90, 50}, {20, 50, 70, 75}};
    static const int rb[2][4] = {{5, 5, 25, 60}, {40, 20, 75, 45}};
    synth a, b;
    synth_make(&a, 100, 80, ra, 3);
    synth_make(&b, 80, 64, rb, 2);
    const float *pix[2] = {a.pix, b.pix};
    int w[2] = {100, 80}, h[2] = {80, 64};
    dolor_det_list lists[2] = {a.l, b.l};
    dolor_det_train_data d = {2, pix, w, h, lists, NULL};
    const int S = 96;
    det_sampler *sm = NULL;
    CHECK_OK(det_sampler_create(&d, S, 4, 1, &sm));
    dolor_det_augment aug = {1.0, 0, 0.5, 0.1, 0.0, 0.5, NULL};
    static const int fl[4] = {1, 0, 3, 2};
    aug.flip_idx = fl;
    float img[96 * 96];
    int bad_inside = 0, bad_outside = 0, total = 0, flips_checked = 0;
    for (int t = 0; t < 40; t++) {
        dolor_rng r;
        dolor_rng_seed(&r, 100 + (uint64_t)t);
        det_sample_obj *o;
        int n;
        CHECK_OK(det_sampler_make(sm, (size_t)(t % 2), &aug, t % 4 != 3, &r, img, &o, &n));
        for (int i = 0; i < n; i++) {
            CHECK(o[i].box[0] >= 0 && o[i].box[1] >= 0 && o[i].box[2] <= S && o[i].box[3] <= S &&
                  o[i].box[2] - o[i].box[0] > 2 && o[i].box[3] - o[i].box[1] > 2);
            /* the box's interior (1 px in from its edge) is the bright object */
            double sum = 0;
            int cnt = 0;
            for (int y = (int)o[i].box[1] + 1; y < (int)o[i].box[3] - 1; y++)
                for (int x = (int)o[i].box[0] + 1; x < (int)o[i].box[2] - 1; x++) {
                    sum += img[y * S + x];
                    cnt++;
                }
            bad_inside += cnt && sum / cnt < 0.97;
            /* a visible corner keypoint sits on the object near a box corner, left-right order kept */
            if (o[i].kpt[2] > 0 && o[i].kpt[5] > 0) {
                CHECK(o[i].kpt[0] < o[i].kpt[3]);
                flips_checked++;
            }
            /* the mask at S/4 lies inside the box (cell centres 4U + 2 are pixel corners: 1 px slack) */
            for (int V = 0; V < S / 4; V++)
                for (int U = 0; U < S / 4; U++)
                    if (o[i].mask4[V * (S / 4) + U])
                        bad_inside += !(4 * U + 2 >= o[i].box[0] - 1 && 4 * U + 2 <= o[i].box[2] + 1 &&
                                        4 * V + 2 >= o[i].box[1] - 1 && 4 * V + 2 <= o[i].box[3] + 1);
            total++;
        }
        /* every clearly bright pixel belongs to some returned box, except the remains of objects dropped
         * for keeping under 10% of their zoomed box: each such 4-connected remnant is below 10% of the
         * largest zoomed object (50 x 25 px of the first image at 0.96 or 35 x 25 of the second at 1.2,
         * times zoom 1.5 squared: 2835 px) */
        static uint8_t out_px[96 * 96];
        static int stack[96 * 96];
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                int in = img[y * S + x] < 0.9f;
                for (int i = 0; i < n && !in; i++)
                    in = x + 0.5 >= o[i].box[0] && x + 0.5 < o[i].box[2] && y + 0.5 >= o[i].box[1] &&
                         y + 0.5 < o[i].box[3];
                out_px[y * S + x] = !in;
            }
        int worst = 0;
        for (int p0 = 0; p0 < S * S; p0++) {
            if (!out_px[p0])
                continue;
            int sp = 0, size = 0;
            stack[sp++] = p0;
            out_px[p0] = 0;
            while (sp) {
                int q = stack[--sp], x = q % S, y = q / S;
                size++;
                const int nb[4] = {x > 0 ? q - 1 : -1, x < S - 1 ? q + 1 : -1, y > 0 ? q - S : -1,
                                   y < S - 1 ? q + S : -1};
                for (int k = 0; k < 4; k++)
                    if (nb[k] >= 0 && out_px[nb[k]]) {
                        out_px[nb[k]] = 0;
                        stack[sp++] = nb[k];
                    }
            }
            worst = size > worst ? size : worst;
        }
        bad_outside += worst > 284;
    }
    CHECKF(total > 60, "%d objects over 40 samples", total);
    CHECKF(bad_inside == 0, "%d boxes or masks not on their object", bad_inside);
    CHECKF(bad_outside == 0, "%d samples with a bright region outside every box", bad_outside);
    CHECK(flips_checked > 10);
    det_sampler_free(sm);
    dolor_det_list_free(&a.l);
    dolor_det_list_free(&b.l);
    free(a.pix);
    free(b.pix);
}

/* dolor_det_train_run on 4 synthetic images with a tiny yolov8 (segment head): the training loss falls,
 * the checkpoints and the log are written, and a class the net lacks is refused naming the image */
static void test_train_run(void)
{
    static const int r0[2][4] = {{8, 8, 30, 28}, {36, 30, 60, 58}}, r1[1][4] = {{16, 20, 48, 44}};
    static const int r2[2][4] = {{4, 36, 28, 60}, {34, 6, 58, 26}}, r3[1][4] = {{20, 10, 44, 54}};
    synth sy[4];
    synth_make(&sy[0], 64, 64, r0, 2);
    synth_make(&sy[1], 64, 64, r1, 1);
    synth_make(&sy[2], 64, 64, r2, 2);
    synth_make(&sy[3], 64, 64, r3, 1);
    const float *pix[4];
    int w[4], h[4];
    dolor_det_list lists[4];
    for (int i = 0; i < 4; i++) {
        pix[i] = sy[i].pix;
        w[i] = h[i] = 64;
        lists[i] = sy[i].l;
    }
    dolor_det_train_data d = {4, pix, w, h, lists, NULL};
    dolor_net *net = NULL;
    CHECK_OK(dolor_arch_build("yolov8", "{\"task\":\"segment\",\"scale\":\"custom\",\"width\":0.125,\"depth\":0.33,"
                                        "\"max_channels\":256,\"in_channels\":1,\"num_classes\":2,\"num_masks\":8,"
                                        "\"proto_channels\":32}",
                              &net));
    if (!net)
        return;
    CHECK_OK(dolor_net_init(net, 3));
    char dir[256];
    if (!dolor_test_tmpdir(dir, sizeof dir, "train_detect"))
        return;
    dolor_det_train_config c;
    dolor_det_train_config_default(&c);
    c.out_dir = dir;
    c.imgsz = 64;
    c.epochs = 12;
    c.batch_size = 2;
    c.lr = 0.01;
    c.warmup_epochs = 0;
    c.augment = 0;
    c.ema = 0;
    c.quiet = 1;
    dolor_model_meta meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.arch_name, sizeof meta.arch_name, "yolov8");
    CHECK_OK(dolor_net_config_json(net, meta.arch_config, sizeof meta.arch_config));
    snprintf(meta.task, sizeof meta.task, "detection");
    meta.in_channels = 1;
    meta.num_classes = 2;
    snprintf(meta.class_names[0], sizeof meta.class_names[0], "a");
    snprintf(meta.class_names[1], sizeof meta.class_names[1], "b");
    meta.label_values[1] = 1;
    meta.height = meta.width = 64;
    double best = NAN;
    CHECK_OK(dolor_det_train_run(&c, net, &d, &d, &meta, &best));
    char path[512];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    char *log = dolor_test_slurp(path, NULL);
    CHECK(log != NULL);
    if (log) {
        /* the first and the last epoch's summed training loss (columns 2..5: box, seg, cls, dfl) */
        double first = -1, last = -1;
        int rows = 0;
        for (char *line = strchr(log, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
            double v[5];
            if (sscanf(line + 1, "%lf,%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2], &v[3], &v[4]) == 5) {
                double sum = v[1] + v[2] + v[3] + v[4];
                if (first < 0)
                    first = sum;
                last = sum;
                rows++;
            }
        }
        CHECKF(rows == 12, "%d log rows", rows);
        CHECKF(last < 0.7 * first, "training loss %g -> %g", first, last);
        free(log);
    }
    snprintf(path, sizeof path, "%s/best.safetensors", dir);
    dolor_net *back = NULL;
    dolor_model_meta m2;
    CHECK_OK(dolor_checkpoint_load(path, &back, NULL, &m2));
    CHECK(!strcmp(m2.task, "detection") && m2.num_classes == 2);
    dolor_net_free(back);
    /* an object of class 2 in a 2-class net */
    sy[1].l.obj[0].cls = 2;
    CHECK_ERR(dolor_det_train_run(&c, net, &d, NULL, &meta, &best), DOLOR_EINVAL, "object 1 has class 2");
    sy[1].l.obj[0].cls = 0;
    dolor_net_free(net);
    dolor_test_rm_rf(dir);
    for (int i = 0; i < 4; i++) {
        dolor_det_list_free(&sy[i].l);
        free(sy[i].pix);
    }
}

/* dolor_det_bias_init (Ultralytics' Detect.bias_init): the last bias of each box branch is 1, of each class
 * branch log(5 / nc / (640 / s)^2) (nc 2: -7.8478 at stride 8, -6.4615 at 16, -5.0752 at 32, by hand), nothing
 * else moves; and what it is for: the classification loss of one batch from the fresh net, which without it
 * is the BCE of ~0.69 per anchor and class summed over every background anchor (hundreds), is then small. */
static void test_bias_init(void)
{
    static const char *const tasks[3] = {"detect", "segment", "pose"};
    static const double want_cls[3] = {-7.847766, -6.461472, -5.075177};
    for (int task = 0; task < 3; task++) {
        char js[512];
        snprintf(js, sizeof js,
                 "{\"task\":\"%s\",\"scale\":\"custom\",\"width\":0.125,\"depth\":0.33,\"max_channels\":256,"
                 "\"in_channels\":1,\"num_classes\":2%s}",
                 tasks[task], task == 1 ? ",\"num_masks\":8,\"proto_channels\":32" : task == 2 ? ",\"num_keypoints\":4" : "");
        dolor_net *net = NULL;
        CHECK_OK(dolor_arch_build("yolov8", js, &net));
        if (!net)
            return;
        CHECK_OK(dolor_net_init(net, 5));
        const size_t np = dolor_net_num_params(net);
        float *before = malloc(np * sizeof *before);
        if (!before)
            return;
        memcpy(before, dolor_net_params(net), np * sizeof *before);
        /* one 64 x 64 batch of 2 with an object each; the class loss part before and after */
        const int B = 2, S = 64;
        dolor_tensor *x = NULL, *outs[8] = {0};
        CHECK_OK(dolor_tensor_create4(&x, B, 1, S, S));
        const int nout = dolor_net_num_outputs(net);
        for (int k = 0; k < nout; k++) {
            int nd;
            int64_t d[5];
            CHECK_OK(dolor_net_output_shape(net, k, &nd, d));
            int stride = k < 6 ? 8 << (k % 3) : 4; /* box_cls, mask_coef or keypoints per level; proto */
            CHECK_OK(dolor_tensor_create4(&outs[k], B, d[1], S / stride, S / stride));
        }
        for (size_t i = 0; i < x->numel; i++) {
            int c = (int)(i % S), r = (int)(i / S % S);
            x->data[i] = c >= 16 && c < 40 && r >= 20 && r < 44 ? 0.9f : 0.1f;
        }
        float kp[2][12];
        uint16_t *masks = calloc((size_t)B * (S / 4) * (S / 4), sizeof *masks);
        dolor_yolo_instance in[2];
        for (int b = 0; b < B; b++) {
            in[b] = (dolor_yolo_instance){.image = b, .cls = b, .box = {16, 20, 40, 44}, .keypoints = NULL};
            for (int k = 0; k < 4; k++) {
                kp[b][3 * k] = k == 0 || k == 3 ? 16.5f : 39.5f;
                kp[b][3 * k + 1] = k < 2 ? 20.5f : 43.5f;
                kp[b][3 * k + 2] = 2;
            }
            if (task == 2)
                in[b].keypoints = kp[b];
            for (int r = 5; r < 11; r++)
                for (int c = 4; c < 10; c++)
                    masks[(size_t)b * 256 + r * 16 + c] = 1;
        }
        dolor_yolo_targets tg = {in, 2, masks};
        dolor_yolo_loss_config lc;
        dolor_yolo_loss_config_default(&lc, (dolor_yolo_task)task, 2);
        lc.num_masks = task == 1 ? 8 : 0;
        lc.num_keypoints = task == 2 ? 4 : 0;
        lc.keypoint_dims = task == 2 ? 3 : 0;
        dolor_yolo_loss *L = NULL;
        CHECK_OK(dolor_yolo_loss_create(&lc, B, S, S, &L));
        const int icls = task == 0 ? 1 : task == 1 ? 2 : 3; /* the parts: box, [seg | pose, kobj], cls, dfl */
        float parts[2][8], tot;
        const dolor_tensor *ins[1] = {x};
        for (int pass = 0; pass < 2 && L; pass++) {
            if (pass == 1)
                CHECK_OK(dolor_det_bias_init(net));
            CHECK_OK(dolor_net_run(net, ins, outs, 1));
            CHECK_OK(dolor_yolo_loss_compute(L, (const dolor_tensor *const *)outs, &tg, parts[pass], &tot, NULL));
        }
        if (getenv("DOLOR_TEST_VERBOSE"))
            fprintf(stderr, "%s: class loss %g -> %g\n", tasks[task], (double)parts[0][icls], (double)parts[1][icls]);
        CHECKF(parts[0][icls] > 20, "%s: class loss without the bias init %g (expected hundreds)", tasks[task],
               (double)parts[0][icls]);
        CHECKF(parts[1][icls] < 2, "%s: class loss with the bias init %g (expected ~1)", tasks[task],
               (double)parts[1][icls]);
        /* the tensors */
        const float *P = dolor_net_params(net);
        int nbox = 0, ncls = 0;
        size_t moved = 0;
        for (int i = 0; i < dolor_net_num_tensors(net); i++) {
            dolor_net_tensor t;
            CHECK_OK(dolor_net_tensor_at(net, i, &t));
            if (t.is_buffer)
                continue;
            int lvl = -1, end = 0, is_box = 0, is_cls = 0; /* end: the whole name matched */
            if (sscanf(t.name, "model.22.cv2.%d.2.bias%n", &lvl, &end) == 1 && end && !t.name[end])
                is_box = 1;
            else if ((end = 0, sscanf(t.name, "model.22.cv3.%d.2.bias%n", &lvl, &end)) == 1 && end && !t.name[end])
                is_cls = 1;
            for (size_t k = 0; k < t.numel; k++) {
                float v = P[t.offset + k];
                if (is_box)
                    nbox += v == 1.0f;
                else if (is_cls)
                    ncls += fabs(v - want_cls[lvl]) < 1e-5;
                else
                    moved += v != before[t.offset + k];
            }
        }
        CHECKF(nbox == 3 * 64 && ncls == 3 * 2 && moved == 0, "%s: %d box biases 1 (of 192), %d class biases (of 6), %zu "
               "other values moved", tasks[task], nbox, ncls, moved);
        dolor_yolo_loss_free(L);
        dolor_tensor_free(x);
        for (int k = 0; k < 8; k++)
            dolor_tensor_free(outs[k]);
        free(masks);
        free(before);
        dolor_net_free(net);
    }
    CHECK_ERR(dolor_det_bias_init(NULL), DOLOR_EINVAL, "NULL");
    dolor_unet_config uc;
    dolor_unet_config_default(&uc);
    dolor_net *un = NULL;
    CHECK_OK(dolor_unet_create(&uc, &un));
    CHECK_ERR(dolor_det_bias_init(un), DOLOR_EINVAL, "not yolov8");
    dolor_net_free(un);
}

/* the segment head's box and class maps are the detect head's: with the same weights (copied by name) and the
 * same batch, the gradients reaching the box and class branches (model.22.cv2, cv3) are identical in detect
 * and segment mode, and the shared backbone's differ (the mask loss reaches it through proto and cv4) */
static void test_segment_box_grads(void)
{
    const int B = 2, S = 64;
    dolor_net *net[2] = {NULL, NULL};
    for (int t = 0; t < 2; t++) {
        char js[512];
        snprintf(js, sizeof js,
                 "{\"task\":\"%s\",\"scale\":\"custom\",\"width\":0.125,\"depth\":0.33,\"max_channels\":256,"
                 "\"in_channels\":1,\"num_classes\":1%s}",
                 t ? "segment" : "detect", t ? ",\"num_masks\":8,\"proto_channels\":32" : "");
        CHECK_OK(dolor_arch_build("yolov8", js, &net[t]));
        if (!net[t])
            return;
        CHECK_OK(dolor_net_init(net[t], 11 + (uint64_t)t));
        CHECK_OK(dolor_det_bias_init(net[t]));
    }
    /* every tensor of the detect net into the segment net */
    int copied = 0, missing = 0;
    for (int i = 0; i < dolor_net_num_tensors(net[0]); i++) {
        dolor_net_tensor a, b;
        CHECK_OK(dolor_net_tensor_at(net[0], i, &a));
        int found = 0;
        for (int j = 0; j < dolor_net_num_tensors(net[1]) && !found; j++) {
            if (dolor_net_tensor_at(net[1], j, &b))
                break;
            found = !strcmp(a.name, b.name) && a.numel == b.numel && a.is_buffer == b.is_buffer;
        }
        if (!found) {
            missing++;
            continue;
        }
        float *src = a.is_buffer ? dolor_net_buffers(net[0]) : dolor_net_params(net[0]);
        float *dst = b.is_buffer ? dolor_net_buffers(net[1]) : dolor_net_params(net[1]);
        memcpy(dst + b.offset, src + a.offset, a.numel * sizeof *dst);
        copied++;
    }
    dolor_net_params_changed(net[1]);
    CHECKF(missing == 0 && copied > 100, "%d tensors copied, %d missing", copied, missing);
    dolor_tensor *x = NULL;
    CHECK_OK(dolor_tensor_create4(&x, B, 1, S, S));
    for (size_t i = 0; i < x->numel; i++) {
        int c = (int)(i % S), r = (int)(i / S % S);
        x->data[i] = c >= 12 && c < 44 && r >= 18 && r < 46 ? 0.85f : 0.1f + 0.05f * sinf((float)i * 0.37f);
    }
    uint16_t masks[2 * 16 * 16] = {0};
    dolor_yolo_instance in[2];
    for (int b = 0; b < B; b++) {
        in[b] = (dolor_yolo_instance){.image = b, .cls = 0, .box = {12, 18, 44, 46}, .keypoints = NULL};
        for (int r = 18 / 4; r < 46 / 4; r++)
            for (int c = 12 / 4; c < 44 / 4; c++)
                masks[b * 256 + r * 16 + c] = 1;
    }
    dolor_yolo_targets tg = {in, 2, masks};
    float parts[2][8], tot;
    for (int t = 0; t < 2; t++) {
        dolor_tensor *o[8] = {0}, *d[8] = {0};
        const int no = dolor_net_num_outputs(net[t]);
        for (int k = 0; k < no; k++) {
            int nd;
            int64_t dd[5];
            CHECK_OK(dolor_net_output_shape(net[t], k, &nd, dd));
            int st = k < 6 ? 8 << (k % 3) : 4;
            CHECK_OK(dolor_tensor_create4(&o[k], B, dd[1], S / st, S / st));
            CHECK_OK(dolor_tensor_create4(&d[k], B, dd[1], S / st, S / st));
        }
        dolor_yolo_loss_config lc;
        dolor_yolo_loss_config_default(&lc, (dolor_yolo_task)t, 1);
        lc.num_masks = t ? 8 : 0;
        dolor_yolo_loss *L = NULL;
        CHECK_OK(dolor_yolo_loss_create(&lc, B, S, S, &L));
        const dolor_tensor *ins[1] = {x};
        CHECK_OK(dolor_net_run(net[t], ins, o, 1));
        CHECK_OK(dolor_yolo_loss_compute(L, (const dolor_tensor *const *)o, &tg, parts[t], &tot, d));
        CHECK_OK(dolor_net_backward_outputs(net[t], (const dolor_tensor *const *)d));
        dolor_yolo_loss_free(L);
        for (int k = 0; k < 8; k++) {
            dolor_tensor_free(o[k]);
            dolor_tensor_free(d[k]);
        }
    }
    /* the parts box, cls, dfl (detect) and box, seg, cls, dfl (segment) */
    CHECKF(parts[0][0] == parts[1][0] && parts[0][1] == parts[1][2] && parts[0][2] == parts[1][3] && parts[1][1] > 0,
           "detect box %g cls %g dfl %g, segment box %g seg %g cls %g dfl %g", (double)parts[0][0], (double)parts[0][1],
           (double)parts[0][2], (double)parts[1][0], (double)parts[1][1], (double)parts[1][2], (double)parts[1][3]);
    double head_diff = 0, head_norm = 0, bb_diff = 0;
    const float *g0 = dolor_net_grads(net[0]), *g1 = dolor_net_grads(net[1]);
    for (int i = 0; i < dolor_net_num_tensors(net[0]); i++) {
        dolor_net_tensor a, b;
        CHECK_OK(dolor_net_tensor_at(net[0], i, &a));
        if (a.is_buffer)
            continue;
        for (int j = 0; j < dolor_net_num_tensors(net[1]); j++)
            if (!dolor_net_tensor_at(net[1], j, &b) && !strcmp(a.name, b.name))
                break;
        int head = !strncmp(a.name, "model.22.cv2.", 13) || !strncmp(a.name, "model.22.cv3.", 13);
        for (size_t k = 0; k < a.numel; k++) {
            double u = g0[a.offset + k], v = g1[b.offset + k];
            if (head) {
                head_diff = fmax(head_diff, fabs(u - v));
                head_norm += u * u;
            } else if (!strncmp(a.name, "model.0.", 8))
                bb_diff = fmax(bb_diff, fabs(u - v));
        }
    }
    CHECKF(head_diff == 0 && head_norm > 0, "box/class branch gradients differ by %g (norm %g)", head_diff,
           sqrt(head_norm));
    CHECKF(bb_diff > 0, "the backbone gradient is the same with and without the mask loss");
    dolor_tensor_free(x);
    dolor_net_free(net[0]);
    dolor_net_free(net[1]);
}

static void test_errors(void)
{
    det_sampler *sm = NULL;
    dolor_det_train_data d = {0};
    CHECK_ERR(det_sampler_create(&d, 64, 0, 0, &sm), DOLOR_EINVAL, "0 images");
    float p[4] = {0};
    const float *pix[1] = {p};
    int w[1] = {2}, h[1] = {2};
    dolor_det_list l;
    dolor_det_list_init(&l, 2, 2, 0);
    dolor_det_train_data d1 = {1, pix, w, h, &l, NULL};
    CHECK_ERR(det_sampler_create(&d1, 100, 0, 0, &sm), DOLOR_EINVAL, "multiple of 32");
    CHECK(sm == NULL);
}

int main(void)
{
    test_letterbox();
    test_augmented();
    test_train_run();
    test_bias_init();
    test_segment_box_grads();
    test_errors();
    return dolor_test_finish();
}
