/* Decoding of the raw YOLOv8 head maps of arch/yolov8.c into boxes, class scores and keypoints, as
 * Ultralytics' inference path does it (written from the definitions of its DFL module, make_anchors,
 * dist2bbox and Pose.kpts_decode; no code taken):
 *   anchors: level by level, row-major within a level, at grid points (j + 0.5, i + 0.5);
 *   boxes:   per side (left, top, right, bottom) a softmax over the reg_max bins and its expectation
 *            sum_b b p_b (the distribution focal loss's integral, Li et al. 2020): distances in grid
 *            units; (ax - l, ay - t, ax + r, ay + b) times the stride: x1, y1, x2, y2 in input pixels;
 *   scores:  sigmoid of the class logits;
 *   keypoints: x = (2 raw_x + ax - 0.5) stride, y likewise, visibility sigmoid(raw_v). */
#include "arch.h"

#include <math.h>
#include <string.h>

/* the map of each level: 4-D, one N, channels `ch` (0: any, returned through *ch_out) */
static dolor_status check_maps(const char *what, const dolor_tensor *const *maps, const int *strides, int nmaps, int ch,
                               int64_t *n_out, int64_t *anchors)
{
    if (!maps || !strides || nmaps < 1 || nmaps > NN_MAX_OUTPUTS)
        return dolor_error(DOLOR_EINVAL, "yolov8 %s: maps or strides NULL, or %d levels (1..%d)", what, nmaps,
                           NN_MAX_OUTPUTS);
    *anchors = 0;
    for (int l = 0; l < nmaps; l++) {
        const dolor_tensor *m = maps[l];
        if (!m || m->ndim != 4 || m->shape[1] != ch || (l && m->shape[0] != *n_out))
            return dolor_error(DOLOR_ESHAPE, "yolov8 %s: map %d is %s%dD [%lld, %lld, ...], expected [N%s, %d, H, W]",
                               what, l, m ? "" : "NULL, not ", m ? m->ndim : 0, m && m->ndim > 0 ? (long long)m->shape[0] : 0,
                               m && m->ndim > 1 ? (long long)m->shape[1] : 0, l ? " of map 0" : "", ch);
        if (strides[l] < 1)
            return dolor_error(DOLOR_EINVAL, "yolov8 %s: stride %d of map %d is not positive", what, strides[l], l);
        *n_out = m->shape[0];
        *anchors += m->shape[2] * m->shape[3];
    }
    return DOLOR_OK;
}

dolor_status dolor_yolo_decode_boxes(const dolor_tensor *const *maps, const int *strides, int nmaps, int reg_max,
                                     int num_classes, float *boxes, float *scores)
{
    if (reg_max < 1 || reg_max > 64 || num_classes < 1 || !boxes)
        return dolor_error(DOLOR_EINVAL, "yolov8 decode_boxes: reg_max %d (1..64), num_classes %d (>= 1), boxes %s",
                           reg_max, num_classes, boxes ? "given" : "NULL");
    int64_t N = 0, A = 0;
    dolor_status s = check_maps("decode_boxes", maps, strides, nmaps, 4 * reg_max + num_classes, &N, &A);
    if (s)
        return s;
    int64_t a0 = 0;
    for (int l = 0; l < nmaps; l++) {
        const dolor_tensor *m = maps[l];
        int64_t H = m->shape[2], W = m->shape[3], HW = H * W, C = m->shape[1];
        double st = strides[l];
#pragma omp parallel for collapse(2) schedule(static)
        for (int64_t n = 0; n < N; n++)
            for (int64_t p = 0; p < HW; p++) {
                const float *src = m->data + n * C * HW + p;
                double d[4], ax = (double)(p % W) + 0.5, ay = (double)(p / W) + 0.5;
                for (int side = 0; side < 4; side++) {
                    const float *b = src + (int64_t)side * reg_max * HW;
                    double mx = b[0], z = 0, e = 0;
                    for (int k = 1; k < reg_max; k++)
                        mx = fmax(mx, b[k * HW]);
                    for (int k = 0; k < reg_max; k++) {
                        double w = exp(b[k * HW] - mx);
                        z += w;
                        e += k * w;
                    }
                    d[side] = e / z;
                }
                float *o = boxes + (n * A + a0 + p) * 4;
                o[0] = (float)((ax - d[0]) * st);
                o[1] = (float)((ay - d[1]) * st);
                o[2] = (float)((ax + d[2]) * st);
                o[3] = (float)((ay + d[3]) * st);
                if (scores)
                    for (int c = 0; c < num_classes; c++) {
                        double x = src[(4 * (int64_t)reg_max + c) * HW];
                        scores[(n * A + a0 + p) * num_classes + c] = (float)(1.0 / (1.0 + exp(-x)));
                    }
            }
        a0 += HW;
    }
    return DOLOR_OK;
}

dolor_status dolor_yolo_decode_keypoints(const dolor_tensor *const *maps, const int *strides, int nmaps,
                                         int num_keypoints, int keypoint_dims, float *keypoints)
{
    if (num_keypoints < 1 || (keypoint_dims != 2 && keypoint_dims != 3) || !keypoints)
        return dolor_error(DOLOR_EINVAL, "yolov8 decode_keypoints: num_keypoints %d (>= 1), keypoint_dims %d (2 or 3), "
                           "keypoints %s", num_keypoints, keypoint_dims, keypoints ? "given" : "NULL");
    int64_t N = 0, A = 0;
    int nk = num_keypoints * keypoint_dims;
    dolor_status s = check_maps("decode_keypoints", maps, strides, nmaps, nk, &N, &A);
    if (s)
        return s;
    int64_t a0 = 0;
    for (int l = 0; l < nmaps; l++) {
        const dolor_tensor *m = maps[l];
        int64_t H = m->shape[2], W = m->shape[3], HW = H * W;
        double st = strides[l];
#pragma omp parallel for collapse(2) schedule(static)
        for (int64_t n = 0; n < N; n++)
            for (int64_t p = 0; p < HW; p++) {
                const float *src = m->data + n * nk * HW + p;
                float *o = keypoints + (n * A + a0 + p) * nk;
                double gx = (double)(p % W), gy = (double)(p / W); /* anchor - 0.5 */
                for (int k = 0; k < num_keypoints; k++) {
                    const float *r = src + (int64_t)k * keypoint_dims * HW;
                    o[k * keypoint_dims] = (float)((2.0 * r[0] + gx) * st);
                    o[k * keypoint_dims + 1] = (float)((2.0 * r[HW] + gy) * st);
                    if (keypoint_dims == 3)
                        o[k * keypoint_dims + 2] = (float)(1.0 / (1.0 + exp(-(double)r[2 * HW])));
                }
            }
        a0 += HW;
    }
    return DOLOR_OK;
}
