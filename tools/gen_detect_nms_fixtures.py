#!/usr/bin/python3
"""Regenerate tests/fixtures/detect/nms_*.txt (run by hand, never by CI) with PyTorch (Debian's
python3-torch):

    /usr/bin/python3 tools/gen_detect_nms_fixtures.py

The reference follows Ultralytics' ultralytics/utils/ops.py (non_max_suppression, process_mask with
upsample=True, crop_mask), written here in torch: best class per box (or every class > conf with
multi_label), confidence > conf, sort by score, at most max_nms, boxes offset by class * 7680 (class-aware;
0 when agnostic), greedy NMS with torchvision.ops.nms's rule (suppress IoU > iou; torchvision is not
packaged here, so the greedy loop is written out on torch tensors), at most max_det; masks:
sigmoid(coef @ protos), crop_mask on the box scaled to the prototype grid, F.interpolate(bilinear,
align_corners=False) to the input size, > 0.5.

Seeded synthetic candidates: clusters of jittered boxes around a few centres, distinct scores.
Format (floats %.9g, exact for float32):
  nms n N nc C nm M ph PH pw PW nkpt K kdim D h H w W conf F iou I max_det X max_nms Y agnostic A multi_label L
  boxes v...  scores v...  [coef v...  protos v...]  [kpt v...]
  out n
  det cls score x1 y1 x2 y2 cand            (in output order)
  mask n r1 r2 ...                          (row-major runs from 0s, after each det when masks)
"""
import os

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "detect")


def box_iou(a, b):
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def nms(boxes, scores, thr):
    order = scores.argsort(descending=True)
    keep = []
    alive = torch.ones(len(order), dtype=torch.bool)
    ious = box_iou(boxes[order].double(), boxes[order].double())
    for i in range(len(order)):
        if not alive[i]:
            continue
        keep.append(int(order[i]))
        alive &= ~(ious[i] > thr)
        alive[i] = False
    return torch.tensor(keep, dtype=torch.long)


def reference(boxes, scores, conf, iou, max_det, max_nms, agnostic, multi_label):
    idx = torch.arange(len(boxes))
    if multi_label:
        i, j = (scores > conf).nonzero(as_tuple=False).T
        x = torch.cat((boxes[i], scores[i, j, None], j[:, None].float(), idx[i, None].float()), 1)
    else:
        c, j = scores.max(1, keepdim=True)
        x = torch.cat((boxes, c, j.float(), idx[:, None].float()), 1)[c.view(-1) > conf]
    x = x[x[:, 4].argsort(descending=True)[:max_nms]]
    off = x[:, 5:6] * (0 if agnostic else 7680)
    keep = nms(x[:, :4] + off, x[:, 4], iou)[:max_det]
    return x[keep]


def process_mask(protos, coef, bboxes, shape):
    c, mh, mw = protos.shape
    ih, iw = shape
    masks = (coef @ protos.float().view(c, -1)).sigmoid().view(-1, mh, mw)
    db = bboxes.clone()
    db[:, 0] *= mw / iw
    db[:, 2] *= mw / iw
    db[:, 3] *= mh / ih
    db[:, 1] *= mh / ih
    n, h, w = masks.shape
    x1, y1, x2, y2 = torch.chunk(db[:, :, None], 4, 1)
    r = torch.arange(w, dtype=x1.dtype)[None, None, :]
    cc = torch.arange(h, dtype=x1.dtype)[None, :, None]
    masks = masks * ((r >= x1) * (r < x2) * (cc >= y1) * (cc < y2))
    masks = F.interpolate(masks[None], shape, mode="bilinear", align_corners=False)[0]
    return masks.gt_(0.5)


def runs(m):
    flat = m.reshape(-1).to(torch.uint8).tolist()
    out, cur, n = [], 0, 0
    for v in flat:
        if v == cur:
            n += 1
        else:
            out.append(n)
            cur, n = v, 1
    out.append(n)
    return out


def vals(t):
    return " ".join("%.9g" % v for v in t.reshape(-1).tolist())


def make(seed, n, nc, H, W, nm=0, ph=0, pw=0, nkpt=0, kdim=3):
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(5, 2, generator=g) * torch.tensor([W, H])
    sizes = 6 + torch.rand(5, 2, generator=g) * 18
    k = torch.randint(0, 5, (n,), generator=g)
    ctr = centres[k] + torch.randn(n, 2, generator=g) * 2.5
    wh = sizes[k] * (1 + 0.15 * torch.randn(n, 2, generator=g)).clamp(min=0.3)
    boxes = torch.cat((ctr - wh / 2, ctr + wh / 2), 1).float()
    scores = torch.rand(n, nc, generator=g).pow(2).float()
    coef = torch.randn(n, nm, generator=g).float() * 2 if nm else None
    protos = torch.randn(nm, ph, pw, generator=g).float() if nm else None
    kpt = torch.rand(n, nkpt, kdim, generator=g).float() * W if nkpt else None
    return boxes, scores, coef, protos, kpt


def write(f, seed, n, nc, H, W, conf, iou, max_det, max_nms, agnostic, multi_label, nm=0, ph=0, pw=0, nkpt=0, kdim=3):
    boxes, scores, coef, protos, kpt = make(seed, n, nc, H, W, nm, ph, pw, nkpt, kdim)
    f.write("nms n %d nc %d nm %d ph %d pw %d nkpt %d kdim %d h %d w %d conf %.9g iou %.9g max_det %d max_nms %d "
            "agnostic %d multi_label %d\n" % (n, nc, nm, ph, pw, nkpt, kdim, H, W, conf, iou, max_det, max_nms,
                                              agnostic, multi_label))
    f.write("boxes %s\nscores %s\n" % (vals(boxes), vals(scores)))
    if nm:
        f.write("coef %s\nprotos %s\n" % (vals(coef), vals(protos)))
    if nkpt:
        f.write("kpt %s\n" % vals(kpt))
    x = reference(boxes, scores, conf, iou, max_det, max_nms, agnostic, multi_label)
    f.write("out %d\n" % len(x))
    masks = process_mask(protos, coef[x[:, 6].long()], x[:, :4], (H, W)) if nm and len(x) else None
    for r in range(len(x)):
        f.write("det %d %.9g %s %d\n" % (int(x[r, 5]), float(x[r, 4]), vals(x[r, :4]), int(x[r, 6])))
        if masks is not None:
            rr = runs(masks[r])
            f.write("mask %d %s\n" % (len(rr), " ".join(str(v) for v in rr)))
    return len(x)


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = [
        ("nms_class_aware.txt", dict(seed=1, n=60, nc=3, H=64, W=64, conf=0.25, iou=0.5, max_det=300, max_nms=30000,
                                     agnostic=0, multi_label=0, nm=4, ph=16, pw=16, nkpt=3, kdim=3)),
        ("nms_agnostic.txt", dict(seed=2, n=60, nc=3, H=64, W=80, conf=0.2, iou=0.45, max_det=300, max_nms=30000,
                                  agnostic=1, multi_label=0, nm=4, ph=16, pw=20)),
        ("nms_multi_label.txt", dict(seed=3, n=50, nc=3, H=64, W=64, conf=0.3, iou=0.6, max_det=300, max_nms=30000,
                                     agnostic=0, multi_label=1, nkpt=2, kdim=2)),
        ("nms_limits.txt", dict(seed=4, n=80, nc=2, H=96, W=96, conf=0.1, iou=0.7, max_det=7, max_nms=40,
                                agnostic=0, multi_label=0)),
    ]
    for fname, kw in cases:
        path = os.path.join(OUT, fname)
        with open(path, "w") as f:
            k = write(f, **kw)
        print("%s: %d detections, %d bytes" % (fname, k, os.path.getsize(path)))


if __name__ == "__main__":
    main()
