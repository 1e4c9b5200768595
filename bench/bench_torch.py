#!/usr/bin/python3
"""PyTorch side of one row of bench/bench_table.py: the PyTorch twin of a dolor registry
architecture (tools/export_onnx.py: twin_from_arch), timed for inference or a training step,
the same way as bench/bench_arch.c times dolor.

Usage: /usr/bin/python3 bench/bench_torch.py NAME CONFIG_JSON N,C,[D,]H,W infer|train ce ITERS MAX_SECONDS

  inference: model.eval(), torch.no_grad(), 2 warm-up runs;
  training step: model.train(), zero_grad(set_to_none) + forward + cross-entropy (over the classes
  of [N, K] logits, or per pixel of [N, K, H, W]) + backward + torch.optim.AdamW (lr 1e-3,
  defaults), 1 warm-up step.
  Timed runs: ITERS, fewer once MAX_SECONDS of timed runs have passed (at least 1).
  Threads: torch.set_num_threads(OMP_NUM_THREADS, default 2).

Prints
  FLOPS F    forward FLOPs of ONE image (2 x multiply-accumulates of every Conv*d, ConvTranspose*d
             and Linear module, counted with forward hooks on an eval forward at batch 1)
  RESULT median_ms M min_ms M cpu_ms M runs R params P
or "SKIP <why>" (exit 0) when the twin does not exist yet.
"""
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from export_onnx import TwinMissing, twin_from_arch  # noqa: E402

CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
DECONVS = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def count_flops(model, x):
    """2 x MACs of the convolutions, transposed convolutions and linear layers in one forward of x."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, CONVS):
            k = 1
            for d in m.kernel_size:
                k *= d
            total[0] += 2 * out.numel() * (m.in_channels // m.groups) * k
        elif isinstance(m, DECONVS):
            k = 1
            for d in m.kernel_size:
                k *= d
            total[0] += 2 * inp[0].numel() * (m.out_channels // m.groups) * k
        elif isinstance(m, nn.Linear):
            total[0] += 2 * out.numel() * m.in_features

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, CONVS + DECONVS + (nn.Linear,))]
    model.eval()
    with torch.no_grad():
        model(x)
    for h in hs:
        h.remove()
    return total[0]


def main():
    if len(sys.argv) != 8:
        print(__doc__, file=sys.stderr)
        return 2
    name, cfg, shape, mode = sys.argv[1], json.loads(sys.argv[2]), [int(v) for v in sys.argv[3].split(",")], sys.argv[4]
    iters, max_s = max(1, int(sys.argv[6])), float(sys.argv[7])
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    torch.manual_seed(0)
    try:
        model = twin_from_arch(name, cfg)
    except TwinMissing as e:
        print("SKIP %s" % e)
        return 0
    x = torch.randn(*shape)
    print("FLOPS %d" % count_flops(model, x[:1].clone()), flush=True)
    train = mode == "train"
    if train:
        model.eval()
        with torch.no_grad():
            y = model(x[:1])  # the output's shape (eval: leaves the BN statistics alone)
        model.train()
        k = y.shape[1]
        g = torch.Generator().manual_seed(7)
        lab = torch.randint(0, k, (shape[0],) + tuple(y.shape[2:]), generator=g)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    else:
        model.eval()
    t, cpu, spent = [], 0.0, 0.0
    warm = 1 if train else 2
    for it in range(iters + warm):
        c0 = time.process_time()
        t0 = time.perf_counter()
        if train:
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), lab)
            loss.backward()
            opt.step()
        else:
            with torch.no_grad():
                model(x)
        dt = time.perf_counter() - t0
        if it >= warm:
            t.append(dt * 1e3)
            cpu += (time.process_time() - c0) * 1e3
            spent += dt
            if spent > max_s:
                break
    t.sort()
    print("RESULT median_ms %.3f min_ms %.3f cpu_ms %.3f runs %d params %d"
          % (t[len(t) // 2], t[0], cpu / len(t), len(t), sum(p.numel() for p in model.parameters())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
