#!/usr/bin/env python3
"""Reference values for dolor's sliding-window inference (tests/test_train.c), transcribed from nnU-Net v2's
definitions (nnunetv2/inference/sliding_window_prediction.py: compute_gaussian, compute_steps_for_sliding_window)
with NumPy/SciPy; run by hand: /usr/bin/python3 tools/gen_sliding_fixtures.py

  gaussian_<h>x<w>.txt : the importance map of a h x w tile, one row per line (sigma = tile / 8)
  steps.csv            : image,tile,step_fraction,steps (space separated) per line
  blend.txt            : a 2-class blending case: image 20x13, tile 8x6, 50 % overlap; logits of tile at
                         (y0, x0) are  l0 = sin(0.3 (y0+y) + 0.2 (x0+x)) + 0.1 * tile_index, l1 = 0.05 (y0 + x);
                         the Gaussian-weighted mean logits (class 0 then 1, rows)
  gaussian_<d>x<h>x<w>.txt : the importance map of a d x h x w tile, one (z, y) row per line
  blend3d.txt          : a 2-class 3D case: volume 11x20x13 (D x H x W), tile 6x8x6, 40 % overlap (step 0.6);
                         logits of the tile at (z0, y0, x0): l0 = sin(0.3 (y0+y) + 0.2 (x0+x) - 0.25 (z0+z))
                         + 0.1 * tile_index, l1 = 0.05 (y0 + x) + 0.03 z0 (tiles counted z outer, x inner); the
                         Gaussian-weighted mean logits (class 0 then 1, z, then rows)
"""
import numpy as np
from scipy.ndimage import gaussian_filter
import os

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "sliding")


def compute_gaussian(tile, sigma_scale=1. / 8):
    tmp = np.zeros(tile)
    center = [i // 2 for i in tile]
    tmp[tuple(center)] = 1
    g = gaussian_filter(tmp, [i * sigma_scale for i in tile], 0, mode='constant', cval=0)
    g = g / np.max(g)
    g = g.astype(np.float32)
    g[g == 0] = np.min(g[g != 0])
    return g


def steps(image, tile, step):
    target = tile * step
    n = int(np.ceil((image - tile) / target)) + 1
    mx = image - tile
    actual = mx / (n - 1) if n > 1 else 99999999999
    return [int(np.round(actual * i)) for i in range(n)]


def main():
    os.makedirs(OUT, exist_ok=True)
    for h, w in [(8, 6), (16, 24), (64, 64)]:
        g = compute_gaussian((h, w))
        np.savetxt(os.path.join(OUT, "gaussian_%dx%d.txt" % (h, w)), g, fmt="%.9g")
    with open(os.path.join(OUT, "steps.csv"), "w") as f:
        f.write("image,tile,step_fraction,steps\n")
        for image, tile, st in [(512, 256, 0.5), (534, 256, 0.5), (761, 256, 0.5), (256, 256, 0.5), (300, 256, 0.5),
                                (632, 256, 0.25), (100, 64, 0.75), (20, 8, 0.5), (13, 6, 0.5), (1000, 128, 1.0)]:
            f.write("%d,%d,%g,%s\n" % (image, tile, st, " ".join(str(s) for s in steps(image, tile, st))))
    H, W, th, tw = 20, 13, 8, 6
    g = compute_gaussian((th, tw)).astype(np.float64)
    acc = np.zeros((2, H, W))
    cnt = np.zeros((H, W))
    t = 0
    for y0 in steps(H, th, 0.5):
        for x0 in steps(W, tw, 0.5):
            yy, xx = np.meshgrid(np.arange(th) + y0, np.arange(tw) + x0, indexing="ij")
            l0 = np.sin(0.3 * yy + 0.2 * xx) + 0.1 * t
            l1 = 0.05 * (yy + x0)
            acc[0, y0:y0 + th, x0:x0 + tw] += l0 * g
            acc[1, y0:y0 + th, x0:x0 + tw] += l1 * g
            cnt[y0:y0 + th, x0:x0 + tw] += g
            t += 1
    res = acc / cnt
    np.savetxt(os.path.join(OUT, "blend.txt"), res.reshape(2 * H, W), fmt="%.9g")
    # 3D: sigma = tile / 8 on every axis
    for tile in [(6, 8, 5), (16, 16, 16)]:
        g = compute_gaussian(tile)
        np.savetxt(os.path.join(OUT, "gaussian_%dx%dx%d.txt" % tile), g.reshape(-1, tile[2]), fmt="%.9g")
    D, H, W, td, th, tw, st = 11, 20, 13, 6, 8, 6, 0.6
    g = compute_gaussian((td, th, tw)).astype(np.float64)
    acc = np.zeros((2, D, H, W))
    cnt = np.zeros((D, H, W))
    t = 0
    for z0 in steps(D, td, st):
        for y0 in steps(H, th, st):
            for x0 in steps(W, tw, st):
                zz, yy, xx = np.meshgrid(np.arange(td) + z0, np.arange(th) + y0, np.arange(tw) + x0, indexing="ij")
                l0 = np.sin(0.3 * yy + 0.2 * xx - 0.25 * zz) + 0.1 * t
                l1 = 0.05 * (yy + x0) + 0.03 * z0
                acc[0, z0:z0 + td, y0:y0 + th, x0:x0 + tw] += l0 * g
                acc[1, z0:z0 + td, y0:y0 + th, x0:x0 + tw] += l1 * g
                cnt[z0:z0 + td, y0:y0 + th, x0:x0 + tw] += g
                t += 1
    res = acc / cnt
    np.savetxt(os.path.join(OUT, "blend3d.txt"), res.reshape(-1, W), fmt="%.9g")


if __name__ == "__main__":
    main()
