#!/usr/bin/python3
"""PyTorch twin of bench/bench_nn.c: the same U-Net (tools/gen_nn_fixtures.py: UNet, base 16,
depth 4, 2 classes, transposed up-convs), a training step (forward + CE + soft Dice + backward +
AdamW) at [8,1,256,256] and inference (eval, no_grad) at [1,1,256,256], with
torch.set_num_threads(2) (BENCH_THREADS overrides). Prints median and minimum wall time and the
mean process CPU time per run in ms.

Usage: /usr/bin/python3 bench/bench_torch_unet.py [train_iters (10)] [infer_iters (30)] [transposed|bilinear]
"""
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from gen_nn_fixtures import UNet, soft_dice  # noqa: E402


def report(what, t, cpu):
    t = sorted(t)
    print("%-32s median %8.1f ms   min %8.1f ms   cpu %8.1f ms/run   (%d runs)"
          % (what, t[len(t) // 2], t[0], cpu / len(t), len(t)))


def main():
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    train_iters = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    infer_iters = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    bilinear = len(sys.argv) > 3 and sys.argv[3] == "bilinear"
    torch.manual_seed(0)
    model = UNet(1, 2, 16, 4, bilinear=bilinear)
    print("torch %s, threads %d, U-Net %s: %d parameters" % (torch.__version__, torch.get_num_threads(),
          "bilinear" if bilinear else "transposed", sum(p.numel() for p in model.parameters())))
    x = torch.randn(8, 1, 256, 256)
    lab = (x[:, 0] > 0.5).long()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    model.train()
    t = []
    cpu = 0.0
    for it in range(train_iters + 2):
        c0 = time.process_time()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits, lab) + soft_dice(logits, lab, True, 1e-5)
        loss.backward()
        opt.step()
        if it >= 2:
            t.append((time.perf_counter() - t0) * 1e3)
            cpu += (time.process_time() - c0) * 1e3
    report("training step [8,1,256,256]", t, cpu)
    model.eval()
    x1 = x[:1].clone()
    t = []
    cpu = 0.0
    with torch.no_grad():
        for it in range(infer_iters + 2):
            c0 = time.process_time()
            t0 = time.perf_counter()
            model(x1)
            if it >= 2:
                t.append((time.perf_counter() - t0) * 1e3)
                cpu += (time.process_time() - c0) * 1e3
    report("inference [1,1,256,256]", t, cpu)


if __name__ == "__main__":
    main()
