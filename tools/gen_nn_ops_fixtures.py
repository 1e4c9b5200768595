#!/usr/bin/python3
"""Write the per-operation PyTorch fixtures for tests/test_nn_ops.c into tests/fixtures/nn/ops.bin.

Run by hand with Debian's torch (1.13): /usr/bin/python3 tools/gen_nn_ops_fixtures.py
Also graph.bin: a small two-output network built with the public graph API (class TinyTwin).

One table of cases {op, params, input shapes} (the model is ggml's test-backend-ops); each case is
run in float64 with a random output gradient dy and stores the inputs, parameters, output and all
gradients as float32. tests/test_nn_ops.c builds the same one-operation graph from the op name and
the parameter vector, and checks forward and backward against these records and, separately, the
input gradients against central finite differences of sum(y * dy).

File format: as tools/gen_nn_fixtures.py (b"DNF1" records). Per case i:
  c<i>.op     the op name (uint8 bytes)
  c<i>.par    parameter vector (float32), by op:
                conv / deconv: nsp, cout, k[3], stride[3], pad[3], dil[3], out_pad[3], groups, bias
                max_pool / avg_pool: nsp, k[3], stride[3], pad[3], count_include_pad
                batch_norm: relu;  leaky_relu, scale: alpha;  upsample: mode (0 nearest, 1 linear), scale[3] (all 0: to input 1's size)
                slice: c0, c1;  linear: out_features, bias;  permute, zpool: perm[5] (unused 0; zpool
                without a permutation: all 0)
                others: (empty, one 0)
              (spatial axes in tensor order: D, H, W for 3D, H, W for 2D)
  c<i>.x<k>   input k;  c<i>.w, c<i>.b (parameters, BN: weight, bias, plus rm, rv running stats)
  c<i>.y, c<i>.dy, c<i>.dx<k>, c<i>.dw, c<i>.db
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_nn_fixtures import OUT, Writer  # noqa: E402


def rnd(*shape):
    return torch.randn(*shape, dtype=torch.float64)


def t3(v, nsp):
    v = list(v) if isinstance(v, (tuple, list)) else [v] * nsp
    return v + [0] * (3 - len(v))


# (op, params, input shapes)
CASES = [
    ("conv", dict(cout=8, k=3, s=2, p=1), [(2, 4, 9, 10)]),
    ("conv", dict(cout=5, k=3, s=1, p=2, d=2, bias=0), [(1, 3, 8, 7)]),
    ("conv", dict(cout=8, k=3, s=1, p=1, g=8), [(2, 8, 6, 6)]),                  # depthwise
    ("conv", dict(cout=6, k=(3, 1), s=(1, 2), p=(1, 0), g=2), [(1, 4, 7, 9)]),   # groups, anisotropic
    ("conv", dict(cout=16, k=1, s=2, p=0, bias=0), [(2, 8, 8, 8)]),              # ResNet downsample
    ("conv", dict(cout=8, k=7, s=2, p=3, bias=0), [(1, 3, 15, 16)]),             # ResNet stem
    ("conv", dict(cout=4, k=3, s=1, p=1), [(2, 2, 5, 6, 7)]),                    # 3D
    ("conv", dict(cout=5, k=3, s=2, p=1, bias=0), [(1, 3, 7, 8, 6)]),
    ("conv", dict(cout=4, k=(1, 3, 3), s=(1, 2, 2), p=(0, 1, 1), d=(1, 2, 1), g=2), [(1, 4, 3, 9, 8)]),
    ("conv", dict(cout=16, k=7, s=2, p=3, bias=0), [(1, 1, 9, 10, 11)]),         # MedicalNet stem
    ("deconv", dict(cout=3, k=3, s=2, p=1, op=1), [(1, 4, 5, 5)]),
    ("deconv", dict(cout=4, k=2, s=2, g=2), [(2, 4, 3, 4)]),
    ("deconv", dict(cout=2, k=2, s=2), [(1, 4, 3, 3, 3)]),                       # 3D
    ("batch_norm", dict(relu=0), [(2, 4, 3, 4, 5)]),
    ("batch_norm", dict(relu=1), [(2, 3, 2, 3, 3)]),
    ("leaky_relu", dict(alpha=0.1), [(2, 5, 4, 6)]),
    ("sigmoid", {}, [(2, 5, 4, 6)]),
    ("tanh", {}, [(1, 3, 2, 3, 4)]),
    ("silu", {}, [(2, 5, 4, 6)]),
    ("silu", {}, [(1, 2, 3, 3, 3)]),
    ("max_pool", dict(k=3, s=2, p=1), [(2, 3, 9, 9)]),                          # ResNet stem pool
    ("max_pool", dict(k=3, s=1, p=0), [(1, 2, 6, 7)]),
    ("max_pool", dict(k=2, s=2), [(1, 2, 4, 6, 6)]),
    ("max_pool", dict(k=3, s=2, p=1), [(1, 2, 5, 6, 7)]),
    ("avg_pool", dict(k=3, s=2, p=1, cip=1), [(2, 3, 9, 8)]),
    ("avg_pool", dict(k=3, s=2, p=1, cip=0), [(1, 2, 7, 7)]),
    ("avg_pool", dict(k=2, s=2), [(1, 2, 4, 6, 6)]),
    ("global_avg_pool", {}, [(2, 6, 5, 7)]),
    ("global_avg_pool", {}, [(2, 3, 3, 4, 5)]),
    ("upsample", dict(mode=0, scale=2), [(1, 3, 4, 5)]),
    ("upsample", dict(mode=0, scale=2), [(1, 2, 2, 3, 3)]),
    ("upsample", dict(mode=1, scale=2), [(1, 2, 2, 3, 3)]),                     # trilinear
    ("upsample", dict(mode=1, size=1), [(2, 3, 4, 5), (2, 1, 7, 12)]),          # to a size: bilinear x1.75 / x2.4
    ("upsample", dict(mode=1, size=1), [(1, 2, 15, 15), (1, 1, 30, 30)]),       # 473-style odd ladder
    ("upsample", dict(mode=1, size=1), [(1, 2, 9, 8), (1, 1, 5, 6)]),           # down
    ("upsample", dict(mode=0, size=1), [(1, 3, 4, 5), (1, 2, 7, 9)]),           # nearest-exact
    ("upsample", dict(mode=1, size=1), [(1, 2, 2, 3, 4), (1, 1, 3, 5, 7)]),     # trilinear to a size
    ("add", {}, [(2, 4, 5, 5), (2, 4, 5, 5)]),
    ("add", {}, [(2, 4, 5, 5), (2, 4, 1, 1)]),
    ("add", {}, [(1, 3, 1, 1, 1), (1, 3, 2, 3, 4)]),
    ("mul", {}, [(2, 4, 5, 6), (2, 1, 5, 6)]),                                  # spatial gate
    ("mul", {}, [(2, 4, 5, 6), (2, 4, 1, 1)]),                                  # channel gate
    ("mul", {}, [(1, 3, 2, 3, 4), (1, 3, 2, 3, 4)]),
    ("concat", {}, [(2, 3, 4, 4), (2, 5, 4, 4), (2, 2, 4, 4)]),
    ("concat", {}, [(1, 2, 2, 3, 3), (1, 3, 2, 3, 3)]),
    ("slice", dict(c0=2, c1=5), [(2, 8, 4, 4)]),
    ("slice", dict(c0=0, c1=3), [(1, 6, 2, 3, 3)]),
    ("flatten", {}, [(2, 3, 4, 5)]),
    ("linear", dict(out=7), [(3, 20)]),
    ("linear", dict(out=4, bias=0), [(2, 9)]),
    ("permute", dict(perm=(0, 2, 1, 3)), [(2, 3, 4, 5)]),                       # triplet attention: C <-> H
    ("permute", dict(perm=(0, 3, 2, 1)), [(1, 3, 4, 5)]),                       # C <-> W
    ("permute", dict(perm=(0, 2, 4, 3, 1)), [(1, 2, 3, 4, 2)]),
    ("zpool", {}, [(2, 5, 4, 6)]),
    ("zpool", {}, [(1, 3, 2, 3, 4)]),
    ("scale", dict(alpha=1 / 3), [(2, 3, 4, 5)]),
]
# The triplet-attention kernels (src/nn/ops/attention.c), drawn from their own seed after CASES so that
# adding them left every other fixture unchanged. zpool with a permutation: zpool(x.permute(perm));
# triplet_gate: the authors' three x * gate products rotated back and averaged, on given gates.
ATTENTION_CASES = [
    ("zpool", dict(perm=(0, 2, 1, 3)), [(2, 5, 4, 6)]),                         # cw branch: over H
    ("zpool", dict(perm=(0, 3, 2, 1)), [(1, 3, 4, 5)]),                         # hc branch: over W
    ("zpool", dict(perm=(0, 1, 3, 2)), [(2, 3, 5, 4)]),                         # over C, (W, H) kept
    ("triplet_gate", {}, [(2, 5, 4, 6), (2, 1, 5, 6), (2, 1, 4, 5), (2, 1, 4, 6)]),
    ("triplet_gate", {}, [(1, 3, 7, 5), (1, 1, 3, 5), (1, 1, 7, 3), (1, 1, 7, 5)]),
]


def run_case(w, i, op, prm, shapes):
    xs = [rnd(*s).requires_grad_() for s in shapes]
    x = xs[0]
    nsp = len(shapes[0]) - 2
    p = "c%d." % i
    par, mod = [0.0], None
    if op in ("conv", "deconv"):
        k, s, pd = prm.get("k"), prm.get("s", 1), prm.get("p", 0)
        d, opad, g, bias = prm.get("d", 1), prm.get("op", 0), prm.get("g", 1), prm.get("bias", 1)
        ks = tuple(t3(k, nsp)[:nsp])
        kw = dict(stride=tuple(t3(s, nsp)[:nsp]), padding=tuple(t3(pd, nsp)[:nsp]), dilation=tuple(t3(d, nsp)[:nsp]),
                  groups=g, bias=bool(bias))
        if op == "conv":
            mod = (nn.Conv2d if nsp == 2 else nn.Conv3d)(shapes[0][1], prm["cout"], ks, **kw)
        else:
            mod = (nn.ConvTranspose2d if nsp == 2 else nn.ConvTranspose3d)(
                shapes[0][1], prm["cout"], ks, output_padding=tuple(t3(opad, nsp)[:nsp]), **kw)
        mod = mod.double()
        y = mod(x)
        par = [nsp, prm["cout"]] + t3(k, nsp) + t3(s, nsp) + t3(pd, nsp) + t3(d, nsp) + t3(opad, nsp) + [g, bias]
    elif op == "batch_norm":
        c = shapes[0][1]
        mod = (nn.BatchNorm2d if nsp == 2 else nn.BatchNorm3d)(c).double()
        with torch.no_grad():
            mod.weight.copy_(1 + 0.3 * rnd(c))
            mod.bias.copy_(0.5 * rnd(c))
            mod.running_mean.copy_(0.2 * rnd(c))
            mod.running_var.copy_(1 + 0.5 * torch.rand(c, dtype=torch.float64))
        w.add(p + "rm", mod.running_mean)
        w.add(p + "rv", mod.running_var)
        y = mod(x)
        if prm["relu"]:
            y = F.relu(y)
        par = [prm["relu"]]
    elif op == "leaky_relu":
        y = F.leaky_relu(x, prm["alpha"])
        par = [prm["alpha"]]
    elif op == "scale":
        y = x * prm["alpha"]
        par = [prm["alpha"]]
    elif op == "sigmoid":
        y = torch.sigmoid(x)
    elif op == "tanh":
        y = torch.tanh(x)
    elif op == "silu":
        y = F.silu(x)
    elif op in ("max_pool", "avg_pool"):
        k, s, pd, cip = prm["k"], prm["s"], prm.get("p", 0), prm.get("cip", 1)
        if op == "max_pool":
            y = (F.max_pool2d if nsp == 2 else F.max_pool3d)(x, k, s, pd)
        else:
            y = (F.avg_pool2d if nsp == 2 else F.avg_pool3d)(x, k, s, pd, count_include_pad=bool(cip))
        par = [nsp] + t3(k, nsp) + t3(s, nsp) + t3(pd, nsp) + [cip]
    elif op == "global_avg_pool":
        y = (F.adaptive_avg_pool2d if nsp == 2 else F.adaptive_avg_pool3d)(x, 1)
    elif op == "upsample" and prm.get("size"):
        mode = "nearest-exact" if prm["mode"] == 0 else ("bilinear" if nsp == 2 else "trilinear")
        kw = {} if prm["mode"] == 0 else dict(align_corners=False)
        y = F.interpolate(x, size=tuple(xs[1].shape[2:]), mode=mode, **kw)
        par = [prm["mode"], 0, 0, 0]  # scale 0: to the size of input 1
    elif op == "upsample":
        mode = "nearest" if prm["mode"] == 0 else ("bilinear" if nsp == 2 else "trilinear")
        kw = {} if prm["mode"] == 0 else dict(align_corners=False)
        y = F.interpolate(x, scale_factor=prm["scale"], mode=mode, **kw)
        par = [prm["mode"]] + t3(prm["scale"], nsp)
    elif op == "add":
        y = xs[0] + xs[1]
    elif op == "mul":
        y = xs[0] * xs[1]
    elif op == "concat":
        y = torch.cat(xs, dim=1)
    elif op == "slice":
        y = x[:, prm["c0"]:prm["c1"]]
        par = [prm["c0"], prm["c1"]]
    elif op == "flatten":
        y = torch.flatten(x, 1)
    elif op == "permute":
        y = x.permute(*prm["perm"])
        par = list(prm["perm"]) + [0] * (5 - len(prm["perm"]))
    elif op == "zpool":
        xp = x.permute(*prm["perm"]) if "perm" in prm else x
        y = torch.cat([xp.max(1, keepdim=True)[0], xp.mean(1, keepdim=True)], dim=1)
        par = list(prm["perm"]) + [0] if "perm" in prm else [0] * 5
    elif op == "triplet_gate":
        g_cw, g_hc, g_hw = xs[1], xs[2], xs[3]
        a = (x.permute(0, 2, 1, 3) * g_cw).permute(0, 2, 1, 3)
        b = (x.permute(0, 3, 2, 1) * g_hc).permute(0, 3, 2, 1)
        y = 1 / 3 * (x * g_hw + a + b)
    elif op == "linear":
        bias = prm.get("bias", 1)
        mod = nn.Linear(shapes[0][1], prm["out"], bias=bool(bias)).double()
        y = mod(x)
        par = [prm["out"], bias]
    else:
        raise ValueError(op)
    dy = rnd(*y.shape)
    y.backward(dy)
    w.add(p + "op", np.frombuffer(op.encode(), dtype=np.uint8))
    w.add(p + "par", par)
    for k, xk in enumerate(xs):
        w.add(p + "x%d" % k, xk)
        w.add(p + "dx%d" % k, xk.grad if xk.grad is not None else torch.zeros_like(xk))  # a size reference
    if mod is not None:
        w.add(p + "w", mod.weight)
        w.add(p + "dw", mod.weight.grad)
        if mod.bias is not None:
            w.add(p + "b", mod.bias)
            w.add(p + "db", mod.bias.grad)
    w.add(p + "y", y)
    w.add(p + "dy", dy)


class TinyTwin(nn.Module):
    """PyTorch twin of the graph built with the public API in tests/test_nn_ops.c (test_graph_api):
    strided stem, fused BN+ReLU, max pool, a depthwise-separable residual block with a 1x1
    shortcut, a squeeze-excitation style channel gate, and two named outputs: "seg" (nearest x2,
    concat with the stem, 1x1 head) and "cls" (global pool, flatten, linear)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.c1 = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.c2 = nn.Conv2d(8, 16, 1)
        self.down = nn.Conv2d(8, 16, 1, bias=False)
        self.seg = nn.Conv2d(24, 3, 1)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        s = F.relu(self.bn(self.stem(x)))
        p = F.max_pool2d(s, 3, 2, 1)
        y = self.c2(F.silu(self.c1(p))) + self.down(p)
        y = y * torch.sigmoid(F.adaptive_avg_pool2d(y, 1))
        seg = self.seg(torch.cat([F.interpolate(y, scale_factor=2, mode="nearest"), s], dim=1))
        cls = self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))
        return seg, cls


class BasicConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 7, padding=3, bias=False)
        self.bn = nn.BatchNorm2d(1, momentum=0.01)  # as the authors

    def forward(self, x):
        return self.bn(self.conv(x))


class AttentionGate(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = BasicConv()

    def forward(self, x):
        z = torch.cat([x.max(1, keepdim=True)[0], x.mean(1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(z))


class TripletAttention(nn.Module):
    """As the authors' module (Misra et al., WACV 2021)."""

    def __init__(self):
        super().__init__()
        self.cw = AttentionGate()
        self.hc = AttentionGate()
        self.hw = AttentionGate()

    def forward(self, x):
        a = self.cw(x.permute(0, 2, 1, 3)).permute(0, 2, 1, 3)
        b = self.hc(x.permute(0, 3, 2, 1)).permute(0, 3, 2, 1)
        return 1 / 3 * (self.hw(x) + a + b)


def gen_triplet():
    w = Writer("triplet.bin")
    m = TripletAttention().double()
    with torch.no_grad():
        for g in (m.cw, m.hc, m.hw):
            g.conv.bn.weight.copy_(1 + 0.3 * rnd(1))
            g.conv.bn.bias.copy_(0.3 * rnd(1))
    x = rnd(2, 6, 9, 7).requires_grad_()
    for name, t in m.state_dict().items():
        if not name.endswith("num_batches_tracked"):
            w.add("p.ta." + name, t)
    y = m(x)
    dy = rnd(*y.shape)
    y.backward(dy)
    w.add("x", x)
    w.add("y", y)
    w.add("dy", dy)
    w.add("dx", x.grad)
    for name, t in m.named_parameters():
        w.add("g.ta." + name, t.grad)
    for name, t in m.state_dict().items():
        if "running" in name:
            w.add("r.ta." + name, t)
    w.close()


class Block(nn.Module):
    def __init__(self, conv, bn, cin, planes, stride, bottleneck):
        super().__init__()
        exp = 4 if bottleneck else 1
        self.bottleneck = bottleneck
        if bottleneck:
            self.conv1, self.bn1 = conv(cin, planes, 1, bias=False), bn(planes)
            self.conv2, self.bn2 = conv(planes, planes, 3, stride=stride, padding=1, bias=False), bn(planes)
            self.conv3, self.bn3 = conv(planes, planes * exp, 1, bias=False), bn(planes * exp)
        else:
            self.conv1, self.bn1 = conv(cin, planes, 3, stride=stride, padding=1, bias=False), bn(planes)
            self.conv2, self.bn2 = conv(planes, planes, 3, padding=1, bias=False), bn(planes)
        self.downsample = None
        if stride != 1 or cin != planes * exp:
            self.downsample = nn.Sequential(conv(cin, planes * exp, 1, stride=stride, bias=False), bn(planes * exp))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        if self.bottleneck:
            y = self.bn3(self.conv3(F.relu(self.bn2(self.conv2(y)))))
        else:
            y = self.bn2(self.conv2(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class ResNet(nn.Module):
    """torchvision's ResNet (v1.5) structure and names, 2D or 3D; twin of the "resnet" registry entry."""

    BLOCKS = {10: [1, 1, 1, 1], 18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3]}

    def __init__(self, depth=18, in_channels=3, num_classes=1000, spatial_dims=2, width=64):
        super().__init__()
        conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
        bn = nn.BatchNorm2d if spatial_dims == 2 else nn.BatchNorm3d
        self.pool = F.max_pool2d if spatial_dims == 2 else F.max_pool3d
        bott = depth >= 50
        self.conv1 = conv(in_channels, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = bn(width)
        cin = width
        for l, nb in enumerate(self.BLOCKS[depth]):
            blocks = []
            for b in range(nb):
                blocks.append(Block(conv, bn, cin, width << l, 2 if b == 0 and l > 0 else 1, bott))
                cin = (width << l) * (4 if bott else 1)
            setattr(self, "layer%d" % (l + 1), nn.Sequential(*blocks))
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        for l in range(4):
            x = getattr(self, "layer%d" % (l + 1))(x)
        return self.fc(torch.flatten(x.mean(dim=tuple(range(2, x.dim()))), 1))


def det_fill(model):
    """Deterministic weights, the same formula as tests/test_nn_ops.c det_fill: tensor t (state_dict
    order without num_batches_tracked), element i, v = sin(0.7 i + 0.3 t + 0.1):
    weights and biases of conv / linear v / sqrt(fan_in); BN weight 1 + 0.2 v, bias 0.1 v,
    running mean 0.1 v, running var 1 + 0.5 |v|."""
    names = []
    with torch.no_grad():
        t = 0
        fan = 1.0
        for name, p in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            v = torch.sin(0.7 * torch.arange(p.numel(), dtype=torch.float64) + 0.3 * t + 0.1).reshape(p.shape)
            is_bn = p.dim() == 1 and not name.startswith("fc")
            if name.endswith("weight") and p.dim() > 1:
                fan = float(p[0].numel())
                p.copy_(v / fan ** 0.5)
            elif name.endswith("bias") and not is_bn:
                p.copy_(v / fan ** 0.5)
            elif name.endswith("running_mean"):
                p.copy_(0.1 * v)
            elif name.endswith("running_var"):
                p.copy_(1 + 0.5 * v.abs())
            elif name.endswith("weight"):
                p.copy_(1 + 0.2 * v)
            else:
                p.copy_(0.1 * v)
            names.append(name)
            t += 1
    return names


def add_grads(w, m, x):
    """The gradient records tests/test_nn_ops.c cmp_grads reads, after a backward: per parameter
    its first 32 elements (ghead, zero-padded) and its sum of squares (gsq), so the files stay
    small; every 97th element of d/dx (dx_sample) and its sum of squares (dx_sq)."""
    heads, sq = [], []
    for name, p in m.named_parameters():
        g = p.grad.reshape(-1)
        heads.append(torch.cat([g[:32], torch.zeros(max(0, 32 - g.numel()), dtype=g.dtype)]))
        sq.append((g * g).sum().reshape(1))
    w.add("ghead", torch.stack(heads))
    w.add("gsq", torch.cat(sq))
    dx = x.grad.reshape(-1)
    w.add("dx_sample", dx[::97])
    w.add("dx_sq", [(dx * dx).sum().item()])


def gen_resnet(fname, cfg, xshape, steps5=True):
    w = Writer(fname)
    m = ResNet(**cfg).double()
    names = det_fill(m)
    w.add("cfg", [cfg["depth"], cfg["in_channels"], cfg["num_classes"], cfg["spatial_dims"], cfg["width"]])
    w.add("names", np.frombuffer("\n".join(names).encode(), dtype=np.uint8))
    # input by formula too (tests/test_nn_ops.c det_input): x[i] = 1.5 sin(0.01 i) + 0.5 sin(1.37 i + 0.2)
    i = torch.arange(int(np.prod(xshape)), dtype=torch.float64)
    x = (1.5 * torch.sin(0.01 * i) + 0.5 * torch.sin(1.37 * i + 0.2)).reshape(xshape).requires_grad_()
    m.train()
    y = m(x)
    dy = rnd(*y.shape)
    y.backward(dy)
    w.add("xshape", list(xshape))
    w.add("y", y)
    w.add("dy", dy)
    add_grads(w, m, x)
    m.eval()
    with torch.no_grad():
        w.add("y_eval", m(x))
    # 5 AdamW steps with cross-entropy on labels (i * 7 // 11) mod K from the same weights (as
    # tools/gen_nn_arch_fixtures.py; tests/test_nn_ops.c five_steps)
    if not steps5:
        w.close()
        return
    k = y.shape[1]
    labels = (torch.arange(xshape[0]) * 7 // 11) % k
    w.add("labels", labels.double())
    m = ResNet(**cfg).double()
    det_fill(m)
    m.train()
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)
    xs = x.detach()
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = F.cross_entropy(m(xs), labels)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    w.add("losses5", losses)
    w.close()


def gen_graph():
    w = Writer("graph.bin")
    m = TinyTwin().double()
    x = rnd(2, 3, 16, 16).requires_grad_()
    for name, t in m.state_dict().items():
        if not name.endswith("num_batches_tracked"):
            w.add("p." + name, t)
    m.train()
    seg, cls = m(x)
    dseg, dcls = rnd(*seg.shape), rnd(*cls.shape)
    torch.autograd.backward([seg, cls], [dseg, dcls])
    w.add("x", x)
    w.add("seg", seg)
    w.add("cls", cls)
    w.add("dseg", dseg)
    w.add("dcls", dcls)
    w.add("dx", x.grad)
    for name, t in m.named_parameters():
        w.add("g." + name, t.grad)
    w.add("bn_rm1", m.bn.running_mean)
    w.add("bn_rv1", m.bn.running_var)
    w.close()


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(8)
    w = Writer("ops.bin")
    for i, (op, prm, shapes) in enumerate(CASES):
        run_case(w, i, op, prm, shapes)
    state = torch.get_rng_state()
    torch.manual_seed(9)
    for i, (op, prm, shapes) in enumerate(ATTENTION_CASES):
        run_case(w, len(CASES) + i, op, prm, shapes)
    torch.set_rng_state(state)
    w.add("count", [len(CASES) + len(ATTENTION_CASES)])
    w.close()
    gen_graph()
    gen_triplet()
    gen_resnet("resnet18.bin", dict(depth=18, in_channels=3, num_classes=10, spatial_dims=2, width=8), (2, 3, 64, 64))
    # 96x96: at 64x64 the width-4 ResNet-50 is ill-conditioned (PyTorch float32 vs float64 differ by 17% in d/dx)
    # no 5-step check: this width-4 ResNet-50 is so ill-conditioned that PyTorch's own float32 losses leave its
    # float64 ones by 3-5% from step 3 on
    gen_resnet("resnet50.bin", dict(depth=50, in_channels=3, num_classes=5, spatial_dims=2, width=4), (2, 3, 96, 96),
               steps5=False)
    gen_resnet("resnet3d10.bin", dict(depth=10, in_channels=1, num_classes=2, spatial_dims=3, width=4), (2, 1, 32, 64, 64))


if __name__ == "__main__":
    sys.exit(main())
