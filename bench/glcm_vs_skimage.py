#!/usr/bin/python3
"""The 7020-feature GLCM set on a 180x180x70 uint8 volume: dolor (bench_glcm) against scikit-image in one run.

Volume: ../shared/data/us3d-phantom/SpinePhantomFreehandReconstructed.mha (147x106x104 at 0.5 mm, a 3D ultrasound
of a spine phantom) resampled by linear interpolation (scipy.ndimage.zoom, order 1) to 180x180x70 voxels (x, y, z),
written as an uncompressed MetaImage.

Work (both): 9 grey-level counts {8,16,24,32,48,64,96,128,256} over [0, 256) (q = floor(v L / 256)) x distances 1..10
x the 13 directions (dz,dy,dx) with offset = distance x direction (IBSI), symmetric normalised GLCM, six properties.
scikit-image is 2D only, so each 3D direction is made an in-plane one: (0,dy,dx) in the z-slices; (1,0,dx) in the
(z,x) planes; (1,dy,0) in the (z,y) planes; (1,dy,dx) in the (z,x) planes of the volume sheared along y
(y' = y - dy z), which puts the pairs in one plane. The planes of a direction are stacked into one tall image,
separated by 10 rows of an extra pad level L (levels = L + 1, the pad row and column dropped afterwards), so that a
single graycomatrix call per (levels, direction) counts every voxel pair once (distances 1..10 in one call, at
angle 0/pi/2 with distance d or pi/4/3pi/4 with distance d*sqrt(2), whose rounded offset is (d, d)); then
graycoprops. This is the fastest way we found to drive scikit-image (one Cython loop per matrix family, no
per-plane Python calls); the features are compared with dolor's (max relative difference printed).

--volume PATH takes any uint8 MetaImage instead (e.g. a `dolor phantom --kind multifidus3d` volume, 180x180x70 with
speckle everywhere: dolor's count adds runs of 8 equal (v, v) pairs at once, which the spine phantom's zero
background (70% of its voxels) favours and a speckle volume does not).

usage: /usr/bin/python3 bench/glcm_vs_skimage.py BUILD_DIR [--threads 2] [--runs 3] [--skimage-runs 1] [--volume PATH]
"""
import argparse
import os
import subprocess
import sys
import shutil
import tempfile
import time
import zlib

import numpy as np
import scipy.ndimage
import skimage
from skimage.feature import graycomatrix, graycoprops

ap = argparse.ArgumentParser()
ap.add_argument("build")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--skimage-runs", type=int, default=1)
ap.add_argument("--volume", help="a uint8 MetaImage to use instead of the resampled spine phantom")
ap.add_argument("--data", default=os.environ.get("DOLOR_DATA", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data")))
a = ap.parse_args()

LEVELS = [8, 16, 24, 32, 48, 64, 96, 128, 256]
DIST = list(range(1, 11))
DIRS = [(0, 0, 1), (0, 1, 1), (0, 1, 0), (0, 1, -1), (1, 0, 0), (1, 0, 1), (1, 0, -1),
        (1, 1, 0), (1, -1, 0), (1, 1, 1), (1, 1, -1), (1, -1, 1), (1, -1, -1)]
PROPS = ["contrast", "dissimilarity", "homogeneity", "energy", "correlation", "ASM"]


def read_mha(path):
    raw = open(path, "rb").read()
    hdr, pos = {}, 0
    while True:
        end = raw.index(b"\n", pos)
        line = raw[pos:end].decode()
        pos = end + 1
        k, v = (s.strip() for s in line.split("=", 1))
        hdr[k] = v
        if k == "ElementDataFile":
            break
    dims = [int(v) for v in hdr["DimSize"].split()]
    data = raw[pos:]
    if hdr.get("CompressedData", "False").lower() == "true":
        data = zlib.decompress(data)
    assert hdr["ElementType"] == "MET_UCHAR"
    return np.frombuffer(data, dtype=np.uint8).reshape(dims[::-1])  # [z, y, x]


def write_mha(path, v):
    nz, ny, nx = v.shape
    with open(path, "wb") as f:
        f.write(f"ObjectType = Image\nNDims = 3\nDimSize = {nx} {ny} {nz}\nElementSpacing = 1 1 1\n"
                f"ElementType = MET_UCHAR\nElementDataFile = LOCAL\n".encode())
        f.write(np.ascontiguousarray(v).tobytes())


def planes(q, d, pad):
    """2D planes holding direction d = (dz, dy, dx) and the in-plane unit step (row, col)."""
    dz, dy, dx = d
    nz, ny, nx = q.shape
    if dz == 0:
        return [q[z] for z in range(nz)], (dy, dx)
    if dy == 0:
        return [q[:, y, :] for y in range(ny)], (1, dx)
    if dx == 0:
        return [q[:, :, x] for x in range(nx)], (1, dy)
    c = nz - 1 if dy == 1 else 0
    w = np.full((nz, ny + nz - 1, nx), pad, dtype=q.dtype)
    for z in range(nz):
        w[z, c - dy * z: c - dy * z + ny, :] = q[z]
    return [w[:, y, :] for y in range(w.shape[1])], (1, dx)


def skimage_features(v):
    out = {}
    for L in LEVELS:
        q = (v.astype(np.int64) * L // 256).astype(np.uint8 if L < 256 else np.uint16)
        for d in DIRS:
            pl, (sr, sc) = planes(q, d, L)
            sep = np.full((10, pl[0].shape[1]), L, dtype=q.dtype)
            tall = np.concatenate([x for p in pl for x in (p, sep)][:-1], axis=0)
            angle = {(0, 1): 0.0, (1, 1): np.pi / 4, (1, 0): np.pi / 2, (1, -1): 3 * np.pi / 4}[(sr, sc)]
            dist = DIST if sr == 0 or sc == 0 else [k * np.sqrt(2) for k in DIST]
            P = graycomatrix(tall, dist, [angle], levels=L + 1, symmetric=True, normed=False)[:L, :L, :, :]
            P = P.astype(np.float64)
            for p in PROPS:
                vals = graycoprops(P, p)[:, 0]
                for k, dd in enumerate(DIST):
                    out[f"glcm_L{L}_d{dd}_dir({d[0]},{d[1]},{d[2]})_{p}"] = float(vals[k])
    return out


if a.volume:
    v = read_mha(a.volume)
else:
    src = os.path.join(a.data, "us3d-phantom", "SpinePhantomFreehandReconstructed.mha")
    if not os.path.exists(src):
        sys.exit(f"{src} not found")
    v0 = read_mha(src)
    v = scipy.ndimage.zoom(v0.astype(np.float64), (70 / v0.shape[0], 180 / v0.shape[1], 180 / v0.shape[2]), order=1)
    v = np.clip(np.round(v), 0, 255).astype(np.uint8)
    assert v.shape == (70, 180, 180)
print(f"volume {v.shape[2]}x{v.shape[1]}x{v.shape[0]} (x,y,z) {'from ' + a.volume if a.volume else 'resampled spine phantom'}: "
      f"{100 * np.mean(v == 0):.1f}% zero voxels, mean {v.mean():.1f}; load average {os.getloadavg()[0]:.2f}")
tmp = tempfile.mkdtemp()
vol = os.path.join(tmp, "volume.mha")
write_mha(vol, v)
bench = os.path.join(a.build, "bench", "bench_glcm")
feat = os.path.join(tmp, "dolor.txt")
res = {}
for th in sorted({1, a.threads}):
    r = subprocess.run([bench, vol, str(a.runs), str(th), feat], capture_output=True, text=True, check=True)
    print(r.stdout.strip())
    res[th] = (float(r.stdout.split("median")[1].split("ms")[0]), float(r.stdout.split("cpu")[1].split("ms")[0]))
dolor = {}
for line in open(feat):
    k, val = line.split()
    dolor[k] = float(val)
ts, tc = [], []
for r in range(a.skimage_runs):
    t0, c0 = time.perf_counter(), time.process_time()
    sk = skimage_features(v)
    ts.append(time.perf_counter() - t0)
    tc.append(time.process_time() - c0)
tsk, csk = sorted(ts)[len(ts) // 2] * 1000, sorted(tc)[len(tc) // 2] * 1000
print(f"scikit-image {skimage.__version__} graycomatrix/graycoprops, same 7020 features (1 thread)   "
      f"median {tsk:9.1f} ms   cpu {csk:9.1f} ms/run   ({a.skimage_runs} runs)")
assert set(sk) == set(dolor), "feature names differ"
rel = max(abs(dolor[k] - sk[k]) / max(abs(sk[k]), 1e-300) for k in sk if abs(sk[k]) > 1e-12)
print(f"features compared: {len(sk)}, max relative difference {rel:.3g}")
for th, (t, c) in sorted(res.items()):
    print(f"speed-up, wall time: scikit-image / dolor ({th} thread{'s' if th > 1 else ''}) = {tsk / t:.1f}x")
# on a shared, loaded machine wall times mostly measure the other processes; CPU time measures the work. With 2
# threads on an idle machine the wall time of dolor is about its CPU time / 2 (the offsets are independent).
c1 = res[min(res)][1]
print(f"speed-up, CPU time: scikit-image / dolor (1 thread) = {csk / c1:.1f}x; "
      f"idle-machine estimate for 2 threads (CPU / 2) = {2 * csk / c1:.1f}x")
print(f"load average at the end {os.getloadavg()[0]:.2f}")
shutil.rmtree(tmp, ignore_errors=True)
