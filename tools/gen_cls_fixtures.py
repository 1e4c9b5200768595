#!/usr/bin/python3
"""Write the PyTorch fixtures for tests/test_nn_cls.c into tests/fixtures/cls/.

Run by hand with Debian's torch (1.13): /usr/bin/python3 tools/gen_cls_fixtures.py

File format: as tools/gen_nn_fixtures.py (b"DNF1" records, float32 or uint8).

loss.bin    classification losses on logits [N, K], computed in float64 with autograd:
              <case>.x (logits), .t (targets: 0/1 or soft floats; class indices for ce), .pw (pos_weight),
              .w (class weights), .par (alpha, gamma for focal), .loss, .dx (d loss / d logits)
            cases: bce (torch.nn.BCEWithLogitsLoss), bce_pw (with pos_weight [K]), ce (CrossEntropyLoss),
              ce_w (CrossEntropyLoss(weight=...), the weighted mean), focal (alpha 0.25, gamma 2), focal_na
              (alpha -1: no alpha term, gamma 1.5); focal follows torchvision.ops.sigmoid_focal_loss
              (torchvision is not in Debian: the function is written out below, reduction "mean").
optim.bin   optimizer steps in float32 on a vector of 37 parameters with 4 random gradients:
              p0, g<s> (s = 0..3), then per config <name>.par and <name>.p<s> (parameters after step s):
              sgd_nesterov (lr 0.05, momentum 0.9, nesterov, weight_decay 1e-2),
              sgd_damp (lr 0.1, momentum 0.8, dampening 0.25), sgd_plain (lr 0.2, weight_decay 0.05),
              adam (lr 0.01, betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2),
              adam_b (lr 0.03, betas (0.8, 0.99), eps 1e-6, weight_decay 0).
resnet_steps.bin  5 optimizer steps on the 3D ResNet-10 twin (class ResNet of gen_nn_ops_fixtures.py, depth 10,
              width 4, 1 input channel, 1 logit) with det_fill weights, input 2x1x32x64x64 by the det_input
              formula, targets [1, 0], BCE with logits, training mode; float64:
              sgd.loss (5 losses before each step; SGD lr 0.01, momentum 0.9, nesterov, weight_decay 1e-3),
              adam.loss (Adam lr 1e-3, weight_decay 1e-4).
              Not 2x1x16x32x32: there layer4 is 1x1x1 and its batch norm over 2 values makes the trajectory
              ill-conditioned (torch's own float32 run leaves its float64 one by 36% at Adam step 3); at
              32x64x64 torch float32 and float64 agree to 6 digits over the 5 steps.
resize.bin  trilinear resizing and z-score of a small volume (gen_resize).
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_nn_fixtures import Writer  # noqa: E402
from gen_nn_ops_fixtures import ResNet, det_fill  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "cls")


def writer(name):
    w = Writer(name)
    w.path = os.path.join(OUT, name)
    return w


def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0):
    """torchvision.ops.sigmoid_focal_loss (Lin et al. 2017), reduction "mean"."""
    p = torch.sigmoid(inputs)
    ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return loss.mean()


def gen_losses():
    w = writer("loss.bin")
    d = torch.float64

    def rec(name, x, t, loss, extra=None):
        loss.backward()
        w.add(name + ".x", x)
        w.add(name + ".t", t)
        w.add(name + ".loss", [loss.item()])
        w.add(name + ".dx", x.grad)
        for k, v in (extra or {}).items():
            w.add(name + "." + k, v)

    x = (torch.randn(6, 1, dtype=d) * 2).requires_grad_()
    t = torch.tensor([[1.0], [0.0], [1.0], [0.0], [0.3], [1.0]], dtype=d)
    rec("bce", x, t, torch.nn.BCEWithLogitsLoss()(x, t))
    x = (torch.randn(5, 3, dtype=d) * 3).requires_grad_()
    t = (torch.rand(5, 3, dtype=d) > 0.5).to(d)
    pw = torch.tensor([2.0, 0.5, 1.0], dtype=d)
    rec("bce_pw", x, t, torch.nn.BCEWithLogitsLoss(pos_weight=pw)(x, t), {"pw": pw})
    x = (torch.randn(7, 4, dtype=d) * 2).requires_grad_()
    lab = torch.tensor([0, 3, 1, 1, 2, 3, 0])
    rec("ce", x, lab.to(d), torch.nn.CrossEntropyLoss()(x, lab))
    x = (torch.randn(7, 4, dtype=d) * 2).requires_grad_()
    cw = torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=d)
    rec("ce_w", x, lab.to(d), torch.nn.CrossEntropyLoss(weight=cw)(x, lab), {"w": cw})
    x = (torch.randn(8, 1, dtype=d) * 2).requires_grad_()
    t = torch.tensor([[1.0], [0.0], [0.0], [1.0], [1.0], [0.0], [0.0], [1.0]], dtype=d)
    rec("focal", x, t, sigmoid_focal_loss(x, t, 0.25, 2.0), {"par": [0.25, 2.0]})
    x = (torch.randn(6, 2, dtype=d) * 2).requires_grad_()
    t = (torch.rand(6, 2, dtype=d) > 0.5).to(d)
    rec("focal_na", x, t, sigmoid_focal_loss(x, t, -1.0, 1.5), {"par": [-1.0, 1.5]})
    w.close()


OPTIM = [
    ("sgd_nesterov", "sgd", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2)),
    ("sgd_damp", "sgd", dict(lr=0.1, momentum=0.8, dampening=0.25)),
    ("sgd_plain", "sgd", dict(lr=0.2, weight_decay=0.05)),
    ("adam", "adam", dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)),
    ("adam_b", "adam", dict(lr=0.03, betas=(0.8, 0.99), eps=1e-6, weight_decay=0)),
]


def par_vector(kind, kw):
    if kind == "sgd":
        return [kw["lr"], kw.get("momentum", 0), kw.get("dampening", 0), kw.get("weight_decay", 0),
                1.0 if kw.get("nesterov") else 0.0]
    b1, b2 = kw["betas"]
    return [kw["lr"], b1, b2, kw["eps"], kw["weight_decay"]]


def gen_optim():
    w = writer("optim.bin")
    p0 = torch.randn(37)
    gs = [torch.randn(37) for _ in range(4)]
    w.add("p0", p0)
    for s, g in enumerate(gs):
        w.add("g%d" % s, g)
    for name, kind, kw in OPTIM:
        p = torch.nn.Parameter(p0.clone())
        opt = (torch.optim.SGD if kind == "sgd" else torch.optim.Adam)([p], **kw)
        w.add(name + ".par", par_vector(kind, kw))
        for s, g in enumerate(gs):
            p.grad = g.clone()
            opt.step()
            w.add(name + ".p%d" % s, p.detach())
    w.close()


def gen_resnet_steps():
    w = writer("resnet_steps.bin")
    xshape = (2, 1, 32, 64, 64)
    i = torch.arange(int(np.prod(xshape)), dtype=torch.float64)
    x = (1.5 * torch.sin(0.01 * i) + 0.5 * torch.sin(1.37 * i + 0.2)).reshape(xshape)
    t = torch.tensor([[1.0], [0.0]], dtype=torch.float64)
    for name, mk in (("sgd", lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-3)),
                     ("adam", lambda ps: torch.optim.Adam(ps, lr=1e-3, weight_decay=1e-4))):
        m = ResNet(depth=10, in_channels=1, num_classes=1, spatial_dims=3, width=4).double()
        det_fill(m)
        m.train()
        opt = mk(m.parameters())
        losses = []
        for _ in range(5):
            opt.zero_grad()
            loss = F.binary_cross_entropy_with_logits(m(x), t)
            loss.backward()
            losses.append(loss.item())
            opt.step()
        print(name, losses)
        w.add(name + ".loss", losses)
    w.close()


def gen_resize():
    """resize.bin for tests/test_data_cls.c: a volume [D, H, W] = [5, 4, 7] (v[z, y, x] = sin(0.9 i) + 0.1 z with i
    the flat index) resized with F.interpolate(mode="trilinear", align_corners=False) to [3, 6, 4] and to [8, 3, 9],
    then z-scored with the population sd: vol, out_a, out_b."""
    w = writer("resize.bin")
    i = torch.arange(5 * 4 * 7, dtype=torch.float64)
    v = torch.sin(0.9 * i).reshape(5, 4, 7) + 0.1 * torch.arange(5, dtype=torch.float64).reshape(5, 1, 1)
    w.add("vol", v)
    for name, size in (("out_a", (3, 6, 4)), ("out_b", (8, 3, 9))):
        r = F.interpolate(v[None, None], size=size, mode="trilinear", align_corners=False)[0, 0]
        r = (r - r.mean()) / r.std(unbiased=False)
        w.add(name, r)
    w.close()


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(11)
    gen_losses()
    gen_optim()
    gen_resnet_steps()
    gen_resize()


if __name__ == "__main__":
    sys.exit(main())
