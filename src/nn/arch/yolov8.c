/* YOLOv8 (Jocher, Chaurasia and Qiu, Ultralytics 2023): a CSP-Darknet backbone with C2f blocks and
 * SPPF, a PAN-FPN neck and the decoupled anchor-free head (distribution focal loss, reg_max 16), with
 * the detect, segment (prototype masks + per-anchor mask coefficients) and pose (keypoints) heads.
 * The structure follows Ultralytics' yolov8.yaml / yolov8-seg.yaml / yolov8-pose.yaml and its
 * modules (written here from their definitions, no code taken):
 *   Conv(c, k, s)  = conv k x k stride s, padding k/2, no bias -> BatchNorm (eps 1e-3, momentum 0.03)
 *                    -> SiLU; tensors "<m>.conv.weight", "<m>.bn.{weight,bias,running_mean,running_var}"
 *   Bottleneck     = x + Conv(3)(Conv(3)(x)) (the addition only with shortcut), tensors "<m>.cv1", "<m>.cv2"
 *   C2f(c2, n, sc) = Conv(1) to 2c (c = c2 / 2), split in two halves, n Bottlenecks chained on the
 *                    second, concat of both halves and every Bottleneck output, Conv(1) to c2;
 *                    tensors "<m>.cv1", "<m>.m.<i>.cv1/cv2", "<m>.cv2"
 *   SPPF(c2)       = Conv(1) to c1/2, three chained max pools 5x5 stride 1 padding 2, concat of the four,
 *                    Conv(1) to c2
 * Layers (index i gives the names "model.<i>."; C(c) = the width-scaled channels, r(n) the depth-scaled
 * repeats, see below):
 *   0 Conv(C64, 3, 2)  1 Conv(C128, 3, 2)  2 C2f(C128, r3, shortcut)  3 Conv(C256, 3, 2)
 *   4 C2f(C256, r6, shortcut)  5 Conv(C512, 3, 2)  6 C2f(C512, r6, shortcut)  7 Conv(C1024, 3, 2)
 *   8 C2f(C1024, r3, shortcut)  9 SPPF(C1024)
 *   10 nearest x2, 11 concat with 6, 12 C2f(C512, r3), 13 nearest x2, 14 concat with 4, 15 C2f(C256, r3) -> P3
 *   16 Conv(C256, 3, 2), 17 concat with 12, 18 C2f(C512, r3) -> P4
 *   19 Conv(C512, 3, 2), 20 concat with 9, 21 C2f(C1024, r3) -> P5
 *   22 the head on (P3, P4, P5), strides 8, 16, 32, with ch0 = C256:
 *      cv2.<i> (box): Conv(c2, 3), Conv(c2, 3), conv 1x1 with bias to 4 reg_max; c2 = max(16, ch0/4, 4 reg_max)
 *      cv3.<i> (class): Conv(c3, 3), Conv(c3, 3), conv 1x1 with bias to nc; c3 = max(ch0, min(nc, 100))
 *      segment: proto (cv1 Conv(npr, 3), upsample = transposed conv 2x2 stride 2 with bias, cv2
 *               Conv(npr, 3), cv3 Conv(nm, 1)) on P3, and cv4.<i> (mask coefficients) as cv2 with
 *               c4 = max(ch0/4, nm) and nm outputs
 *      pose:    cv4.<i> (keypoints) as cv2 with c4 = max(ch0/4, K dims) and K dims outputs
 * Scaling (Ultralytics' parse_model): C(c) = ceil(min(c, max_channels) width / 8) 8, r(n) =
 * max(round(n depth), 1); the prototype channels npr = C(proto_channels); scales n/s/m/l/x are
 * depth/width/max_channels 0.33/0.25/1024, 0.33/0.5/1024, 0.67/0.75/768, 1/1/512, 1/1.25/512.
 * Outputs, the raw head maps (Ultralytics' training-mode outputs, one per scale, before decoding):
 *   "box_cls_p3", "box_cls_p4", "box_cls_p5": [N, 4 reg_max + nc, H/s, W/s] (the box side
 *     distributions, 4 x reg_max logits in the order left, top, right, bottom, then the class logits)
 *   segment: "mask_coef_p3..p5" [N, nm, H/s, W/s], then "proto" [N, nm, H/4, W/4]
 *   pose:    "keypoints_p3..p5" [N, K dims, H/s, W/s] (per keypoint x, y[, visibility] raw)
 * Input [N, in_channels, H, W] with H and W multiples of 32 (otherwise a concat of the neck fails with
 * both shapes in the message).
 * Tensor names are Ultralytics' state_dict names. Two differences from its state_dict: the order is
 * this builder's (forward) order, where Ultralytics lists a C2f's cv2 before its m.<i> (conversion is
 * by name, so the order does not matter), and "model.22.dfl.conv.weight" (a fixed 1x1 convolution
 * holding 0..reg_max-1, not trained) is not a tensor here: it belongs to the decoding of the box
 * distributions (expectation over the bins), which is post-processing of these raw outputs.
 * Registry entry "yolov8". */
#include "arch.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { Y8_DETECT = 0, Y8_SEGMENT = 1, Y8_POSE = 2 };
static const char *const Y8_TASKS[] = {"detect", "segment", "pose"};

static const struct {
    const char *name;
    double depth, width;
    int max_channels;
} Y8_SCALES[] = {{"n", 0.33, 0.25, 1024}, {"s", 0.33, 0.50, 1024}, {"m", 0.67, 0.75, 768},
                 {"l", 1.00, 1.00, 512},  {"x", 1.00, 1.25, 512}};
#define Y8_NSCALES ((int)(sizeof Y8_SCALES / sizeof Y8_SCALES[0]))

typedef struct y8_cfg {
    double width, depth;
    int task, scale; /* scale: index into Y8_SCALES, or -1 (custom multipliers) */
    int max_channels, in_channels, num_classes, reg_max;
    int num_masks, proto_channels, num_keypoints, keypoint_dims;
} y8_cfg;

_Static_assert(sizeof(y8_cfg) <= sizeof(((dolor_net *)0)->arch_cfg), "y8_cfg must fit in dolor_net.arch_cfg");

/* Ultralytics' make_divisible(min(c, max_channels) * width, 8) */
static int y8_ch(const y8_cfg *c, int ch)
{
    double v = (double)(ch < c->max_channels ? ch : c->max_channels) * c->width;
    return (int)ceil(v / 8.0) * 8;
}

/* max(round(n * depth), 1), Python's round (half to even) */
static int y8_rep(const y8_cfg *c, int n)
{
    int r = (int)nearbyint((double)n * c->depth);
    return r > 1 ? r : 1;
}

/* Conv: conv (no bias) -> BN (eps 1e-3, momentum 0.03) -> SiLU */
static int y8_conv(dolor_net *g, const char *m, int x, int cout, int k, int stride)
{
    char a[96], b[96];
    dolor_conv_params c = {.out_channels = cout, .kernel = {k, k}, .stride = {stride, stride},
                           .padding = {k / 2, k / 2}};
    snprintf(a, sizeof a, "%s.conv", m);
    snprintf(b, sizeof b, "%s.bn", m);
    x = nn_add_bn_eps(g, b, dolor_graph_conv(g, a, x, &c), 0, 0.03f, 1e-3f);
    return dolor_graph_activation(g, x, DOLOR_ACT_SILU, 0.f);
}

/* C2f of layer `layer` (n <= 6: the concat takes n + 2 <= 8 values) */
static int y8_c2f(dolor_net *g, int layer, int x, int cout, int n, int shortcut)
{
    char m[64];
    int c = cout / 2, parts[8];
    snprintf(m, sizeof m, "model.%d.cv1", layer);
    int y = y8_conv(g, m, x, 2 * c, 1, 1);
    parts[0] = dolor_graph_slice(g, y, 0, c);
    parts[1] = dolor_graph_slice(g, y, c, 2 * c);
    for (int i = 0; i < n; i++) {
        snprintf(m, sizeof m, "model.%d.m.%d.cv1", layer, i);
        int t = y8_conv(g, m, parts[i + 1], c, 3, 1);
        snprintf(m, sizeof m, "model.%d.m.%d.cv2", layer, i);
        t = y8_conv(g, m, t, c, 3, 1);
        parts[i + 2] = shortcut ? dolor_graph_add(g, parts[i + 1], t) : t;
    }
    snprintf(m, sizeof m, "model.%d.cv2", layer);
    return y8_conv(g, m, dolor_graph_concat(g, parts, n + 2), cout, 1, 1);
}

static int y8_sppf(dolor_net *g, int layer, int x, int cin, int cout)
{
    char m[64];
    dolor_pool_params p = {.kernel = {5, 5}, .stride = {1, 1}, .padding = {2, 2}};
    int y[4];
    snprintf(m, sizeof m, "model.%d.cv1", layer);
    y[0] = y8_conv(g, m, x, cin / 2, 1, 1);
    for (int i = 1; i < 4; i++)
        y[i] = dolor_graph_max_pool(g, y[i - 1], &p);
    snprintf(m, sizeof m, "model.%d.cv2", layer);
    return y8_conv(g, m, dolor_graph_concat(g, y, 4), cout, 1, 1);
}

static int y8_cat2(dolor_net *g, int a, int b)
{
    int v[2] = {a, b};
    return dolor_graph_concat(g, v, 2);
}

/* a head branch "model.22.<branch>.<i>": Conv(cm, 3), Conv(cm, 3), conv 1x1 with bias to cout */
static int y8_branch(dolor_net *g, const char *branch, int i, int x, int cm, int cout)
{
    char m[64];
    snprintf(m, sizeof m, "model.22.%s.%d.0", branch, i);
    x = y8_conv(g, m, x, cm, 3, 1);
    snprintf(m, sizeof m, "model.22.%s.%d.1", branch, i);
    x = y8_conv(g, m, x, cm, 3, 1);
    snprintf(m, sizeof m, "model.22.%s.%d.2", branch, i);
    dolor_conv_params c = {.out_channels = cout, .kernel = {1, 1}, .bias = 1};
    return dolor_graph_conv(g, m, x, &c);
}

static int imax(int a, int b) { return a > b ? a : b; }

static dolor_status y8_create(const y8_cfg *c, dolor_net **out)
{
    if (!(c->width > 0 && c->width <= 4) || !(c->depth > 0 && c->depth <= 1) || c->max_channels < 8 ||
        c->max_channels > 4096)
        return dolor_error(DOLOR_EINVAL,
                           "yolov8 config: width %g (0..4], depth %g (0..1], max_channels %d (8..4096) out of range",
                           c->width, c->depth, c->max_channels);
    if (c->in_channels < 1 || c->in_channels > 64 || c->num_classes < 1 || c->num_classes > 1000 || c->reg_max < 1 ||
        c->reg_max > 64)
        return dolor_error(DOLOR_EINVAL,
                           "yolov8 config: in_channels %d (1..64), num_classes %d (1..1000), reg_max %d (1..64) out "
                           "of range", c->in_channels, c->num_classes, c->reg_max);
    if (c->task == Y8_SEGMENT && (c->num_masks < 1 || c->num_masks > 256 || c->proto_channels < 1 ||
                                  c->proto_channels > 1024))
        return dolor_error(DOLOR_EINVAL, "yolov8 config: num_masks %d (1..256), proto_channels %d (1..1024) out of range",
                           c->num_masks, c->proto_channels);
    if (c->task == Y8_POSE && (c->num_keypoints < 1 || c->num_keypoints > 100 ||
                               (c->keypoint_dims != 2 && c->keypoint_dims != 3)))
        return dolor_error(DOLOR_EINVAL, "yolov8 config: num_keypoints %d (1..100) or keypoint_dims %d (2 or 3) out of "
                           "range", c->num_keypoints, c->keypoint_dims);
    dolor_net *g;
    dolor_status s = nn_graph_create(&g);
    if (s)
        return s;
    snprintf(g->arch, sizeof g->arch, "yolov8");
    int64_t d[4] = {1, c->in_channels, 64, 64}; /* nominal; any multiple of 32 runs */
    int x = dolor_graph_input(g, 4, d);
    int c64 = y8_ch(c, 64), c128 = y8_ch(c, 128), c256 = y8_ch(c, 256), c512 = y8_ch(c, 512), c1024 = y8_ch(c, 1024);
    int r3 = y8_rep(c, 3), r6 = y8_rep(c, 6);
    /* backbone */
    int v = y8_conv(g, "model.0", x, c64, 3, 2);
    v = y8_conv(g, "model.1", v, c128, 3, 2);
    v = y8_c2f(g, 2, v, c128, r3, 1);
    v = y8_conv(g, "model.3", v, c256, 3, 2);
    int l4 = y8_c2f(g, 4, v, c256, r6, 1);
    v = y8_conv(g, "model.5", l4, c512, 3, 2);
    int l6 = y8_c2f(g, 6, v, c512, r6, 1);
    v = y8_conv(g, "model.7", l6, c1024, 3, 2);
    v = y8_c2f(g, 8, v, c1024, r3, 1);
    int l9 = y8_sppf(g, 9, v, c1024, c1024);
    /* neck */
    const int two[3] = {2, 2, 2};
    v = y8_cat2(g, dolor_graph_upsample(g, l9, 0, two), l6);
    int l12 = y8_c2f(g, 12, v, c512, r3, 0);
    v = y8_cat2(g, dolor_graph_upsample(g, l12, 0, two), l4);
    int p3 = y8_c2f(g, 15, v, c256, r3, 0);
    v = y8_cat2(g, y8_conv(g, "model.16", p3, c256, 3, 2), l12);
    int p4 = y8_c2f(g, 18, v, c512, r3, 0);
    v = y8_cat2(g, y8_conv(g, "model.19", p4, c512, 3, 2), l9);
    int p5 = y8_c2f(g, 21, v, c1024, r3, 0);
    /* head, in Ultralytics' module order: cv2 (box), cv3 (class), proto, cv4 */
    int feats[3] = {p3, p4, p5}, box[3], cls[3], extra[3] = {-1, -1, -1}, proto = -1;
    int ch0 = c256;
    int c2 = imax(imax(16, ch0 / 4), 4 * c->reg_max), c3 = imax(ch0, c->num_classes < 100 ? c->num_classes : 100);
    for (int i = 0; i < 3; i++)
        box[i] = y8_branch(g, "cv2", i, feats[i], c2, 4 * c->reg_max);
    for (int i = 0; i < 3; i++)
        cls[i] = y8_branch(g, "cv3", i, feats[i], c3, c->num_classes);
    if (c->task == Y8_SEGMENT) {
        int npr = y8_ch(c, c->proto_channels), nm = c->num_masks;
        v = y8_conv(g, "model.22.proto.cv1", p3, npr, 3, 1);
        dolor_conv_params up = {.out_channels = npr, .kernel = {2, 2}, .stride = {2, 2}, .bias = 1};
        v = dolor_graph_conv_transpose(g, "model.22.proto.upsample", v, &up);
        v = y8_conv(g, "model.22.proto.cv2", v, npr, 3, 1);
        proto = y8_conv(g, "model.22.proto.cv3", v, nm, 1, 1);
        for (int i = 0; i < 3; i++)
            extra[i] = y8_branch(g, "cv4", i, feats[i], imax(ch0 / 4, nm), nm);
    } else if (c->task == Y8_POSE) {
        int nk = c->num_keypoints * c->keypoint_dims;
        for (int i = 0; i < 3; i++)
            extra[i] = y8_branch(g, "cv4", i, feats[i], imax(ch0 / 4, nk), nk);
    }
    char on[32];
    for (int i = 0; i < 3; i++) {
        snprintf(on, sizeof on, "box_cls_p%d", i + 3);
        dolor_graph_output(g, y8_cat2(g, box[i], cls[i]), on);
    }
    for (int i = 0; i < 3 && c->task != Y8_DETECT; i++) {
        snprintf(on, sizeof on, "%s_p%d", c->task == Y8_SEGMENT ? "mask_coef" : "keypoints", i + 3);
        dolor_graph_output(g, extra[i], on);
    }
    if (c->task == Y8_SEGMENT)
        dolor_graph_output(g, proto, "proto");
    return nn_arch_finish(g, c, sizeof *c, out);
}

/* a number (integer or not) of key; absent: *v unchanged */
static dolor_status y8_num(nn_kv *kv, int n, const char *key, double *v, int *given)
{
    for (int i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0) {
            kv[i].used = 1;
            if (kv[i].is_str)
                return dolor_error(DOLOR_EINVAL, "yolov8 config: \"%s\" must be a number (got \"%s\")", key, kv[i].str);
            *v = kv[i].num;
            *given = 1;
            return DOLOR_OK;
        }
    return DOLOR_OK;
}

static int y8_has(const nn_kv *kv, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0)
            return 1;
    return 0;
}

static dolor_status y8_from_json(nn_kv *kv, int n, dolor_net **out)
{
    const char *task = "detect", *scale = "n";
    dolor_status s;
    if ((s = nn_kv_str(kv, n, "yolov8", "task", &task)) || (s = nn_kv_str(kv, n, "yolov8", "scale", &scale)))
        return s;
    y8_cfg c = {.task = -1, .scale = -1, .in_channels = 3, .reg_max = 16, .num_masks = 32, .proto_channels = 256,
                .num_keypoints = 17, .keypoint_dims = 3};
    for (int i = 0; i < 3; i++)
        if (strcmp(task, Y8_TASKS[i]) == 0)
            c.task = i;
    if (c.task < 0)
        return dolor_error(DOLOR_EINVAL, "yolov8 config: \"task\" \"%s\" is not \"detect\", \"segment\" or \"pose\"", task);
    c.num_classes = c.task == Y8_POSE ? 1 : 80;
    int named = -1;
    for (int i = 0; i < Y8_NSCALES; i++)
        if (strcmp(scale, Y8_SCALES[i].name) == 0)
            named = i;
    if (named < 0 && strcmp(scale, "custom") != 0)
        return dolor_error(DOLOR_EINVAL, "yolov8 config: \"scale\" \"%s\" is not n, s, m, l, x or custom", scale);
    int gw = 0, gd = 0, gm = 0;
    double mc = 0;
    if (named >= 0) {
        c.width = Y8_SCALES[named].width;
        c.depth = Y8_SCALES[named].depth;
        mc = Y8_SCALES[named].max_channels;
    }
    if ((s = y8_num(kv, n, "width", &c.width, &gw)) || (s = y8_num(kv, n, "depth", &c.depth, &gd)) ||
        (s = y8_num(kv, n, "max_channels", &mc, &gm)))
        return s;
    if (named < 0 && !(gw && gd && gm))
        return dolor_error(DOLOR_EINVAL, "yolov8 config: \"scale\" \"custom\" needs \"width\", \"depth\" and "
                           "\"max_channels\"");
    if (mc != floor(mc) || fabs(mc) > 1e6)
        return dolor_error(DOLOR_EINVAL, "yolov8 config: \"max_channels\" must be an integer (got %g)", mc);
    c.max_channels = (int)mc;
    /* the scale whose multipliers these are, else custom */
    for (int i = 0; i < Y8_NSCALES; i++)
        if (c.width == Y8_SCALES[i].width && c.depth == Y8_SCALES[i].depth && c.max_channels == Y8_SCALES[i].max_channels)
            c.scale = i;
    if ((s = nn_kv_int(kv, n, "yolov8", "in_channels", &c.in_channels)) ||
        (s = nn_kv_int(kv, n, "yolov8", "num_classes", &c.num_classes)) ||
        (s = nn_kv_int(kv, n, "yolov8", "reg_max", &c.reg_max)))
        return s;
    static const char *const seg_keys[] = {"num_masks", "proto_channels"}, *const pose_keys[] = {"num_keypoints",
                                                                                                  "keypoint_dims"};
    for (int i = 0; i < 2; i++) {
        if (c.task != Y8_SEGMENT && y8_has(kv, n, seg_keys[i]))
            return dolor_error(DOLOR_EINVAL, "yolov8 config: \"%s\" is for task \"segment\" (task is \"%s\")", seg_keys[i],
                               task);
        if (c.task != Y8_POSE && y8_has(kv, n, pose_keys[i]))
            return dolor_error(DOLOR_EINVAL, "yolov8 config: \"%s\" is for task \"pose\" (task is \"%s\")", pose_keys[i],
                               task);
    }
    if ((s = nn_kv_int(kv, n, "yolov8", "num_masks", &c.num_masks)) ||
        (s = nn_kv_int(kv, n, "yolov8", "proto_channels", &c.proto_channels)) ||
        (s = nn_kv_int(kv, n, "yolov8", "num_keypoints", &c.num_keypoints)) ||
        (s = nn_kv_int(kv, n, "yolov8", "keypoint_dims", &c.keypoint_dims)) || (s = nn_kv_unused(kv, n, "yolov8")))
        return s;
    return y8_create(&c, out);
}

/* %g, with ".0" when that prints an integer (as Python's json.dumps of a float) */
static void y8_fmt(char *b, size_t n, double v)
{
    snprintf(b, n, "%g", v);
    if (!strpbrk(b, ".eEn"))
        snprintf(b + strlen(b), n - strlen(b), ".0");
}

static dolor_status y8_to_json(const dolor_net *net, char *buf, size_t n)
{
    y8_cfg c;
    memcpy(&c, net->arch_cfg, sizeof c);
    char w[32], d[32], extra[96] = "";
    y8_fmt(w, sizeof w, c.width);
    y8_fmt(d, sizeof d, c.depth);
    if (c.task == Y8_SEGMENT)
        snprintf(extra, sizeof extra, ", \"num_masks\": %d, \"proto_channels\": %d", c.num_masks, c.proto_channels);
    else if (c.task == Y8_POSE)
        snprintf(extra, sizeof extra, ", \"num_keypoints\": %d, \"keypoint_dims\": %d", c.num_keypoints, c.keypoint_dims);
    int k = snprintf(buf, n,
                     "{\"task\": \"%s\", \"scale\": \"%s\", \"width\": %s, \"depth\": %s, \"max_channels\": %d, "
                     "\"in_channels\": %d, \"num_classes\": %d, \"reg_max\": %d%s}",
                     Y8_TASKS[c.task], c.scale >= 0 ? Y8_SCALES[c.scale].name : "custom", w, d, c.max_channels,
                     c.in_channels, c.num_classes, c.reg_max, extra);
    if (k < 0 || (size_t)k >= n)
        return dolor_error(DOLOR_EINVAL, "yolov8: config JSON needs %d bytes, the buffer has %zu", k + 1, n);
    return DOLOR_OK;
}

const nn_arch nn_arch_yolov8 = {
    "yolov8",
    "YOLOv8 detector / instance segmenter / keypoint model (Ultralytics' structure and state_dict names;\n"
    "  raw head outputs per stride 8, 16, 32; input sides multiples of 32)\n"
    "  task (\"detect\", \"segment\", \"pose\"), scale (\"n\": n, s, m, l, x, or \"custom\" with width, depth,\n"
    "  max_channels), width, depth (multipliers), max_channels, in_channels (3), num_classes (80; pose 1),\n"
    "  reg_max (16), segment: num_masks (32), proto_channels (256, before width); pose: num_keypoints (17),\n"
    "  keypoint_dims (3: x, y, visibility; or 2)",
    y8_from_json, y8_to_json};
