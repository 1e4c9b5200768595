#!/usr/bin/python3
"""Fixtures for dolor's dataset fingerprint and plan (src/data/plan.c; tests/test_data.c test_plan): a tiny
nnU-Net v2 dataset of three 3D cases with different spacings (one axis anisotropic), two channels ("T2",
"CT") and three classes, written with nibabel into tests/fixtures/plan/Dataset900_Tiny/, and the values
a NumPy transcription of nnU-Net's rules gives (Isensee et al., Nature Methods 2021; the v2
ExperimentPlanner's fingerprint, target spacing and patch-size rules as include/dolor/data.h states them)
in tests/fixtures/plan/expected.txt, one record per line:

  case ID sx sy sz nx ny nz
  intensity C mean sd median p00_5 p99_5 min max n      (foreground voxels of all cases pooled)
  class K voxels
  plan NAME max_patch_voxels memory_mb base batch tx ty tz px py pz depth   (target mm, patch voxels, x y z)

and tests/fixtures/plan/oblique_qform.nii (tests/test_train.c test_volume_affine): a 12 x 10 x 6 uint16 volume
with an oblique affine (rotated 20 degrees about z and 10 about x, spacing 0.9 x 1.1 x 3.3 mm, an
origin off zero) stored as a qform only (sform_code 0, as the Dixon water volumes are), uncompressed.

Run by hand: /usr/bin/python3 tools/gen_plan_fixtures.py
"""
import json
import math
import os

import nibabel as nib
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "plan")
DS = os.path.join(OUT, "Dataset900_Tiny")
CASES = [("c0", (40, 36, 10), (0.8, 0.8, 3.0)), ("c1", (44, 40, 12), (0.75, 0.75, 3.2)),
         ("c2", (36, 40, 9), (0.9, 0.9, 2.8))]
PLANS = [("default", 262144, 2048, 16, 2), ("small", 8192, 1000, 4, 2), ("memory", 262144, 12, 8, 2)]


def save(a, spacing, path):
    aff = np.diag(list(spacing) + [1.0])
    img = nib.Nifti1Image(a, aff)
    img.set_qform(aff, 1)
    img.set_sform(aff, 1)
    nib.save(img, path)


def make():
    for d in ("imagesTr", "labelsTr"):
        os.makedirs(os.path.join(DS, d), exist_ok=True)
    rng = np.random.default_rng(12)
    for cid, size, sp in CASES:
        x, y, z = np.meshgrid(*[np.arange(n, dtype=float) for n in size], indexing="ij")
        lab = np.zeros(size, np.uint8)
        lab[(x - size[0] * 0.35) ** 2 + (y - size[1] * 0.5) ** 2 < 40] = 1
        lab[((x - size[0] * 0.7) ** 2 + (y - size[1] * 0.45) ** 2 < 25) & (z > 2)] = 2
        t2 = (300 + 100 * lab + rng.normal(0, 30, size)).clip(0, 2000).astype(np.uint16)
        ct = (np.round(4 * (-50 + 40 * lab + 10 * np.sin(0.3 * z) + rng.normal(0, 20, size))) / 4).astype(np.float32)
        save(t2, sp, os.path.join(DS, "imagesTr", cid + "_0000.nii.gz"))
        save(ct, sp, os.path.join(DS, "imagesTr", cid + "_0001.nii.gz"))
        save(lab, sp, os.path.join(DS, "labelsTr", cid + ".nii.gz"))
    with open(os.path.join(DS, "dataset.json"), "w") as f:
        json.dump({"channel_names": {"0": "T2", "1": "CT"}, "labels": {"background": 0, "a": 1, "b": 2},
                   "numTraining": 3, "file_ending": ".nii.gz"}, f, indent=2)


def fingerprint():
    spacing, sizes, fg, counts = [], [], [[], []], np.zeros(3, np.int64)
    for cid, _, _ in CASES:
        i0 = nib.load(os.path.join(DS, "imagesTr", cid + "_0000.nii.gz"))
        i1 = nib.load(os.path.join(DS, "imagesTr", cid + "_0001.nii.gz"))
        lab = np.asarray(nib.load(os.path.join(DS, "labelsTr", cid + ".nii.gz")).dataobj)
        spacing.append([float(np.float32(v)) for v in i0.header.get_zooms()])
        sizes.append(list(i0.shape))
        m = lab > 0
        fg[0].append(np.asarray(i0.dataobj, dtype=np.float64)[m])
        fg[1].append(np.asarray(i1.dataobj).astype(np.float32).astype(np.float64)[m])
        counts += np.bincount(lab.reshape(-1), minlength=3)
    fg = [np.concatenate(v) for v in fg]
    return np.array(spacing), np.array(sizes, float), fg, counts


def plan(spacing, sizes, max_vox, memory_mb, base, batch):
    """nnU-Net's target spacing and patch rules as dolor states them (include/dolor/data.h)."""
    target = np.percentile(spacing, 50, axis=0)
    msize = np.percentile(sizes, 50, axis=0)
    worst = int(np.argmax(target))
    others = [a for a in range(3) if a != worst]
    osp, osz = max(target[a] for a in others), min(msize[a] for a in others)
    if target[worst] > 3 * osp and msize[worst] * 3 < osz:
        t = np.percentile(spacing[:, worst], 10)
        if t < osp:
            t = max(osp, t) + 1e-5
        target[worst] = t
    m = np.percentile(np.round(sizes * spacing / target), 50, axis=0)
    tmp = 1.0 / target
    p = np.minimum(np.round(tmp * (max_vox / np.prod(tmp)) ** (1.0 / 3)), m)

    def mem(q, depth):
        vox = float(np.prod(q))
        return batch * sum(vox / 8.0 ** l * (base << l) * 28.0 for l in range(depth + 1)) * 4 / 2 ** 20

    while True:
        depth = int(min(5, max(1, math.floor(math.log2(p.min() / 4)))))
        f = 2 ** depth
        q = np.ceil(p / f) * f
        if np.prod(q) <= max_vox and mem(q, depth) <= memory_mb:
            return target, q.astype(int), depth
        r = np.where(p - f >= 8, p / m, -1.0)  # only axes that stay >= 8 voxels may shrink
        assert r.max() >= 0, "no patch fits"
        p[int(np.argmax(r))] -= f


def oblique():
    a, b = np.radians(20), np.radians(10)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    aff = np.eye(4)
    aff[:3, :3] = rz @ rx @ np.diag([0.9, 1.1, 3.3])
    aff[:3, 3] = [-31.5, 12.25, 40.0]
    x, y, z = np.meshgrid(np.arange(12), np.arange(10), np.arange(6), indexing="ij")
    data = (100 + 10 * x + 3 * y + 50 * (z > 2)).astype(np.uint16)
    img = nib.Nifti1Image(data, None)
    img.set_qform(aff, 1)
    img.set_sform(None, 0)
    nib.save(img, os.path.join(OUT, "oblique_qform.nii"))


def main():
    make()
    oblique()
    spacing, sizes, fg, counts = fingerprint()
    with open(os.path.join(OUT, "expected.txt"), "w") as f:
        for (cid, _, _), sp, sz in zip(CASES, spacing, sizes):
            f.write("case %s %.9g %.9g %.9g %d %d %d\n" % (cid, *sp, *sz))
        for c, v in enumerate(fg):
            f.write("intensity %d %.12g %.12g %.12g %.12g %.12g %.12g %.12g %d\n" % (
                c, v.mean(), v.std(), np.percentile(v, 50), np.percentile(v, 0.5), np.percentile(v, 99.5), v.min(),
                v.max(), v.size))
        for k, n in enumerate(counts):
            f.write("class %d %d\n" % (k, n))
        for name, mv, mm, base, batch in PLANS:
            t, q, d = plan(spacing, sizes, mv, mm, base, batch)
            f.write("plan %s %d %g %d %d %.9g %.9g %.9g %d %d %d %d\n" % (name, mv, mm, base, batch, *t, *q, d))
    print(open(os.path.join(OUT, "expected.txt")).read())


if __name__ == "__main__":
    main()
