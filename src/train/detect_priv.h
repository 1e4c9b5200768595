/* Private to the detection training (src/train/detect*.c). */
#ifndef DOLOR_TRAIN_DETECT_PRIV_H
#define DOLOR_TRAIN_DETECT_PRIV_H

#include "dolor/detect.h"
#include "dolor/nn.h"
#include "dolor/train.h"

/* What a YOLOv8 net is, read off its config and outputs. */
typedef struct det_head {
    int task; /* dolor_yolo_task */
    int nc, reg_max, nm, nkpt, kdim, in_channels;
    int nmaps, strides[8];
    int nout;       /* net outputs */
    int box_out[8]; /* output index of "box_cls_p<l>" */
    int aux_out[8]; /* "mask_coef_p<l>" or "keypoints_p<l>" (-1 if none) */
    int proto_out;  /* "proto" or -1 */
} det_head;

#define det_head_read dolor_train__det_head_read
/* Fill h from net (yolov8 config JSON and output names/shapes) for input size imgsz. Errors: DOLOR_EINVAL
 * (not a yolov8 net, an output missing). */
dolor_status det_head_read(dolor_net *net, int imgsz, det_head *h);

/* One augmented sample: the image [S, S] and its objects in output pixels. */
typedef struct det_sample_obj {
    int cls;
    float box[4];
    float *kpt;      /* [nkpt, 3] or NULL (points into the sample's keypoint store) */
    int area4;       /* mask pixels at S/4 (segment) */
    uint8_t *mask4;  /* [S/4, S/4] (points into the sample's mask store) or NULL */
} det_sample_obj;

typedef struct det_sampler det_sampler;

#define det_sampler_create dolor_train__det_sampler_create
#define det_sampler_free dolor_train__det_sampler_free
#define det_sampler_make dolor_train__det_sampler_make
/* A sampler for batches of size S x S (S a multiple of 32) from data, nkpt keypoints, masks when seg. */
dolor_status det_sampler_create(const dolor_det_train_data *data, int S, int nkpt, int seg, det_sampler **out);
void det_sampler_free(det_sampler *s);
/* Make sample idx (mosaic when use_mosaic, random affine and intensity when aug is not NULL; the plain
 * centred letterbox otherwise) into img [S, S] (grey, 0..1); *objs and *nobj point into the sampler and
 * stay valid until the next call. rng drives every random choice. */
dolor_status det_sampler_make(det_sampler *s, size_t idx, const dolor_det_augment *aug, int use_mosaic,
                              dolor_rng *rng, float *img, det_sample_obj **objs, int *nobj);

#define det_letterbox dolor_train__det_letterbox
/* Centred letterbox of a grey image [h, w] into out [S, S] (bilinear, pad 114/255); gives the scale r and
 * pads so that out = in * r + pad. */
void det_letterbox(const float *in, int w, int h, int S, float *out, double *r, double *padx, double *pady);

#endif
