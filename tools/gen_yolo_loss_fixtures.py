#!/usr/bin/python3
"""Fixtures of tests/test_nn_yolo_loss.c: the YOLOv8 training losses of src/nn/loss_yolo.c against
their plain-torch twin tools/yolo_loss_twin.py (Ultralytics 8.1.0's definitions, no ultralytics
import), in float64.

Run by hand with Debian's torch (1.13): /usr/bin/python3 tools/gen_yolo_loss_fixtures.py
Writes tests/fixtures/nn/yolo_loss.bin (DNF1 records, tools/gen_nn_fixtures.py):
  count                 number of loss cases
  c<i>.cfg              task (0 detect, 1 segment, 2 pose), nc, reg_max, num_masks, K, keypoint_dims,
                        batch, height, width, sigmas_given (0: the default), map scale (0: zero maps)
  (the head maps by formula, formula_map: not stored)
  c<i>.inst             [n, 6] image, class, x1, y1, x2, y2 (pixels)
  c<i>.kpts             pose: [n, K, 3]; c<i>.sigmas pose with sigmas_given
  c<i>.masks            segment: [B, H/4, W/4] instance map (as float)
  c<i>.parts, c<i>.total  the loss items (gain-multiplied) and sum(parts) * B
  c<i>.d<k>             d(total) / d(out k)
and tests/fixtures/nn/yolo_train_{detect,segment,pose}.bin: a tiny "yolov8" (tools/nn_twins.py, the
det_fill weights of gen_nn_ops_fixtures.py, the formula input of gen_nn_arch_fixtures.py) trained 5
steps with torch.optim.SGD on this loss:
  arch, config, xshape, inst, kpts / masks as above, lr, momentum
  parts0                loss items of the first step
  ghead, gsq, dx_sample, dx_sq  gradients of the first step (gen_nn_ops_fixtures.add_grads)
  losses5               the 5 totals
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_nn_fixtures import Writer  # noqa: E402
from gen_nn_ops_fixtures import add_grads, det_fill  # noqa: E402
from gen_nn_arch_fixtures import Y8_TINY, config_json, det_input  # noqa: E402
import nn_twins  # noqa: E402
import yolo_loss_twin as T  # noqa: E402

TASKS = {"detect": 0, "segment": 1, "pose": 2}


def f32(t):
    return t.float().double()


MAP_AMP = {"box_cls": 2.5, "mask_coef": 1.0, "proto": 1.0, "keypoints": 0.8}


def formula_map(shape, amp, k, ci, scale=1.0):
    """the head maps by formula (tests/test_nn_yolo_loss.c computes the same): output k of case ci,
    element i (flat NCHW) = amp sin(0.7311 i + 1.3 k + 0.37 ci + 0.2), rounded to float32"""
    i = torch.arange(int(np.prod(shape)), dtype=torch.float64)
    return f32(scale * amp * torch.sin(0.7311 * i + 1.3 * k + 0.37 * ci + 0.2)).reshape(shape)


def formula_maps(task, ci, B, H, W, nc, R=16, nm=0, kdim=0, scale=1.0):
    shapes = [("box_cls", (B, 4 * R + nc, H // s, W // s)) for s in (8, 16, 32)]
    if task == "segment":
        shapes += [("mask_coef", (B, nm, H // s, W // s)) for s in (8, 16, 32)] + [("proto", (B, nm, H // 4, W // 4))]
    if task == "pose":
        shapes += [("keypoints", (B, kdim, H // s, W // s)) for s in (8, 16, 32)]
    return [formula_map(sh, MAP_AMP[kind], k, ci, scale) for k, (kind, sh) in enumerate(shapes)]


def paint_masks(inst, B, H, W):
    """instance map at H/4 x W/4: each instance an ellipse in its box, later instances on top"""
    mh, mw = H // 4, W // 4
    m = torch.zeros(B, mh, mw, dtype=torch.int64)
    yy, xx = torch.meshgrid(torch.arange(mh, dtype=torch.float64) + 0.5, torch.arange(mw, dtype=torch.float64) + 0.5,
                            indexing="ij")
    k = [0] * B
    for t in inst:
        b = t["image"]
        k[b] += 1
        x1, y1, x2, y2 = [v / 4.0 for v in t["box"]]
        cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, max((x2 - x1) / 2, 0.5), max((y2 - y1) / 2, 0.5)
        inside = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0
        m[b][inside] = k[b]
    return m


def rand_kpts(box, K, g):
    x1, y1, x2, y2 = box
    k = torch.zeros(K, 3, dtype=torch.float64)
    k[:, 0] = x1 + (x2 - x1) * torch.rand(K, generator=g, dtype=torch.float64)
    k[:, 1] = y1 + (y2 - y1) * torch.rand(K, generator=g, dtype=torch.float64)
    k[:, 2] = (torch.rand(K, generator=g, dtype=torch.float64) > 0.3).double() * 2.0
    return f32(k)


def instances(B, H, W, nc, K, g, which):
    """several per image, one image without, boxes on the border, two identical boxes (overlap ties)"""
    boxes = {
        0: [(0, 5.5, 0.0, 0.0, 21.25, 30.5),        # touches the top-left corner
            (0, 1 % nc, 10.75, 12.0, 44.5, 50.25),
            (0, 2 % nc, 10.75, 12.0, 44.5, 50.25),  # identical box, other class
            (0, 0, 30.0, 33.5, W, H),               # touches the bottom-right corner
            (0, 1 % nc, 3.0, 40.0, 9.5, 47.0)],     # small
        1: [],
        2: [(2, 0, 5.0, 2.5, W - 3.0, H - 1.5),     # nearly the whole image
            (2, 1 % nc, 20.25, 18.0, 33.0, 29.75)],
        3: [(3, 0, 0.0, 0.0, W, H)],                 # the whole image (with zero maps: exact metric ties)
    }
    out = []
    for b in range(B):
        for (img, c, x1, y1, x2, y2) in boxes[which[b]]:
            t = {"image": b, "cls": int(c) % nc, "box": [float(np.float32(v)) for v in (x1, y1, x2, y2)]}
            if K:
                t["kpts"] = rand_kpts(t["box"], K, g)
            out.append(t)
    return out


# task, B, H, W, nc, nm, K, KD, image kinds, explicit sigmas[, map scale]
LOSS_CASES = [
    ("detect", 2, 64, 64, 3, 0, 0, 0, [0, 1], False),
    ("detect", 1, 32, 32, 1, 0, 0, 0, [1], False),           # no instance at all
    ("segment", 2, 64, 64, 2, 4, 0, 0, [0, 2], False),
    ("pose", 2, 64, 64, 1, 0, 17, 3, [2, 0], False),         # COCO's OKS sigmas
    ("pose", 2, 64, 64, 2, 0, 4, 2, [0, 2], True),           # keypoint_dims 2, given sigmas
    ("detect", 1, 32, 32, 1, 0, 0, 0, [3], False, 0.0),      # zero maps, a centred box: ties at the k-th place
]


def inst_rec(inst):
    return torch.tensor([[t["image"], t["cls"]] + t["box"] for t in inst], dtype=torch.float64).reshape(-1, 6)


def gen_losses():
    torch.manual_seed(13)
    g = torch.Generator().manual_seed(7)
    w = Writer("yolo_loss.bin")
    w.add("count", [len(LOSS_CASES)])
    for ci, case in enumerate(LOSS_CASES):
        task, B, H, W, nc, nm, K, KD, which, given = case[:10]
        scale = case[10] if len(case) > 10 else 1.0
        outs = formula_maps(task, ci, B, H, W, nc, 16, nm, K * KD, scale)
        inst = instances(B, H, W, nc, K, g, which)
        masks = paint_masks(inst, B, H, W) if task == "segment" else None
        sig = f32(0.02 + 0.1 * torch.rand(K, generator=g, dtype=torch.float64)) if given else None
        for o in outs:
            o.requires_grad_()
        total, parts = T.yolo_loss(task, outs, inst, masks, nc, kpt_shape=(K, KD) if K else None, sigmas=sig)
        total.backward()
        T.TORCH_TOPK = True
        o2 = [o.detach().clone().requires_grad_() for o in outs]
        t2 = T.yolo_loss(task, o2, inst, masks, nc, kpt_shape=(K, KD) if K else None, sigmas=sig)[0]
        t2.backward()
        T.TORCH_TOPK = False
        gd = max(float((a.grad - b.grad).abs().max()) if a.grad is not None else 0.0 for a, b in zip(o2, outs))
        print("  with torch.topk instead of the stable sort: total differs by %.3g, gradients by %.3g" %
              (t2.item() - total.item(), gd))
        p = "c%d." % ci
        w.add(p + "cfg", [TASKS[task], nc, 16, nm, K, KD, B, H, W, int(given), scale])
        for k, o in enumerate(outs):
            w.add(p + "d%d" % k, o.grad if o.grad is not None else torch.zeros_like(o))
        w.add(p + "inst", inst_rec(inst))
        if K:
            w.add(p + "kpts", torch.stack([t["kpts"] for t in inst]) if inst else torch.zeros(0, K, 3))
        if given:
            w.add(p + "sigmas", sig)
        if masks is not None:
            w.add(p + "masks", masks.double())
        w.add(p + "parts", [float(v) for v in parts])
        w.add(p + "total", [total.item()])
        print(task, "fg anchors", T.LAST_FG, "on several boxes", T.LAST_MULTI, "parts", ["%.5f" % float(v) for v in parts], "total %.5f" % total.item())
    w.close()


SEG_LR = 1e-5  # the tiny segmenter is chaotic in float32 at 1e-4 (PyTorch float32 leaves float64 by 0.14 in 5 steps; 4e-5 at 1e-5)
TRAIN = [
    ("yolo_train_detect.bin", dict(task="detect", **Y8_TINY, in_channels=1, num_classes=2, reg_max=16), 1, 0, 0, 1e-3),
    ("yolo_train_segment.bin", dict(task="segment", **Y8_TINY, in_channels=3, num_classes=3, reg_max=16, num_masks=32,
                                    proto_channels=256), 3, 0, 0, SEG_LR),
    ("yolo_train_pose.bin", dict(task="pose", **Y8_TINY, in_channels=1, num_classes=1, reg_max=16, num_keypoints=9,
                                 keypoint_dims=3), 1, 9, 3, 1e-3),
]
TRAIN_MOMENTUM = 0.9


def train_targets(task, nc, K):
    g = torch.Generator().manual_seed(11)
    inst = [{"image": 0, "cls": 0, "box": [4.0, 6.5, 30.25, 40.0]},
            {"image": 0, "cls": 1 % nc, "box": [28.5, 20.0, 64.0, 58.75]},
            {"image": 1, "cls": (2 % nc), "box": [0.0, 10.0, 50.5, 64.0]}]
    if K:
        for t in inst:
            t["kpts"] = rand_kpts(t["box"], K, g)
    masks = paint_masks(inst, 2, 64, 64) if task == "segment" else None
    return inst, masks


def run_steps(cfg, inst, masks, xshape, dtype, lr, w=None):
    task, nc = cfg["task"], cfg["num_classes"]
    K, KD = cfg.get("num_keypoints", 0), cfg.get("keypoint_dims", 0)
    m = nn_twins.build("yolov8", cfg).to(dtype)
    names = det_fill(m)
    m.train()
    opt = torch.optim.SGD(m.parameters(), lr=lr, momentum=TRAIN_MOMENTUM)
    x = det_input(xshape).to(dtype).requires_grad_()
    losses = []
    for it in range(5):
        opt.zero_grad()
        if x.grad is not None:
            x.grad = None
        outs = m(x)
        total, parts = T.yolo_loss(task, outs, inst, masks, nc, kpt_shape=(K, KD) if task == "pose" else None)
        losses.append(total.item())
        total.backward()
        if it == 0 and w is not None:
            w.add("names", np.frombuffer("\n".join(names).encode(), dtype=np.uint8))
            w.add("parts0", [float(v) for v in parts])
            add_grads(w, m, x)
        opt.step()
    return losses


def gen_train():
    for fname, cfg, cin, K, KD, lr in TRAIN:
        inst, masks = train_targets(cfg["task"], cfg["num_classes"], K)
        xshape = (2, cin, 64, 64)
        w = Writer(fname)
        w.add("arch", np.frombuffer(b"yolov8", dtype=np.uint8))
        w.add("config", np.frombuffer(config_json(cfg).encode(), dtype=np.uint8))
        w.add("xshape", list(xshape))
        w.add("inst", inst_rec(inst))
        if K:
            w.add("kpts", torch.stack([t["kpts"] for t in inst]))
        if masks is not None:
            w.add("masks", masks.double())
        w.add("lr", [lr])
        w.add("momentum", [TRAIN_MOMENTUM])
        l64 = run_steps(cfg, inst, masks, xshape, torch.float64, lr, w)
        l32 = run_steps(cfg, inst, masks, xshape, torch.float32, lr)
        print(fname, "losses float64", ["%.6f" % v for v in l64], "float32 - float64 max %.2g" %
              max(abs(a - b) for a, b in zip(l32, l64)))
        w.add("losses5", l64)
        w.close()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or "loss" in argv:
        gen_losses()
    if not argv or "train" in argv:
        gen_train()


if __name__ == "__main__":
    sys.exit(main())
