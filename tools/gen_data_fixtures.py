#!/usr/bin/python3
"""Regenerate tests/fixtures/data/resize.txt for tests/test_data.c (run by hand, never by CI).

References from PyTorch (Debian python3-torch), float64:
  pre   grey conversion (BT.601 luma 0.299/0.587/0.114, alpha dropped), F.interpolate(mode='bilinear',
        align_corners=False) to H x W, z-score with the population sd (numpy ddof=0)
  bil   F.interpolate(mode='bilinear', align_corners=False) of C float planes
  near  F.interpolate(mode='nearest') of a label image after mapping label values to class indices

Usage: /usr/bin/python3 tools/gen_data_fixtures.py   (from the repository root)
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "data", "resize.txt")


def fmt(a, integer=False):
    a = np.asarray(a).reshape(-1)
    if integer:
        return " ".join(str(int(v)) for v in a)
    return " ".join(repr(float(v)) for v in a)


def bilinear(planes, H, W):
    t = torch.from_numpy(np.asarray(planes, dtype=np.float64))[None]
    return F.interpolate(t, size=(H, W), mode="bilinear", align_corners=False)[0].numpy()


def main():
    rng = np.random.default_rng(20261123)
    lines = ["# see tools/gen_data_fixtures.py"]
    # name, ncomp, bits, w, h, H, W
    for name, c, bits, w, h, H, W in [("rgb8_down_up", 3, 8, 13, 9, 10, 7), ("grey16_down", 1, 16, 20, 17, 8, 8),
                                      ("rgba8_up", 4, 8, 6, 5, 11, 12), ("greyalpha8_same", 2, 8, 5, 4, 4, 5),
                                      ("grey8_big_down", 1, 8, 61, 47, 16, 16)]:
        hi = 255 if bits == 8 else 65535
        img = rng.integers(0, hi + 1, size=(h, w, c))
        if c >= 3:
            grey = 0.299 * img[:, :, 0] + 0.587 * img[:, :, 1] + 0.114 * img[:, :, 2]
        else:
            grey = img[:, :, 0].astype(np.float64)
        r = bilinear(grey[None], H, W)[0]
        z = (r - r.mean()) / (r.std() if r.std() >= 1e-6 else 1.0)
        lines.append(f"pre {name} {c} {bits} {w} {h} {H} {W}")
        lines.append("in " + fmt(img, True))
        lines.append("out " + fmt(z))
    for c, sh, sw, dh, dw in [(2, 5, 6, 9, 4), (3, 8, 8, 3, 5), (1, 1, 4, 3, 2)]:
        x = rng.standard_normal((c, sh, sw))
        y = bilinear(x, dh, dw)
        lines.append(f"bil {c} {sh} {sw} {dh} {dw}")
        lines.append("in " + fmt(x))
        lines.append("out " + fmt(y))
    for w, h, H, W, values in [(11, 7, 5, 16, [0, 3, 7]), (9, 13, 4, 3, [0, 1, 2]), (6, 6, 17, 10, [0, 255])]:
        idx = rng.integers(0, len(values), size=(h, w))
        lab = np.array(values)[idx]
        t = torch.from_numpy(idx.astype(np.float64))[None, None]
        o = F.interpolate(t, size=(H, W), mode="nearest")[0, 0].numpy()
        lines.append(f"near {w} {h} {H} {W} {len(values)} " + " ".join(str(v) for v in values))
        lines.append("in " + fmt(lab, True))
        lines.append("out " + fmt(o, True))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
