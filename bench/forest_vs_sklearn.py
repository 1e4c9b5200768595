#!/usr/bin/python3
"""Random forest: dolor forest cv against scikit-learn's RandomForestClassifier on the same folds.

Tables (written to OUTDIR):
  dixon.csv      real: TUM01 of ../shared/data/lumbar-dixon-mri, one row per muscle region (labels 1-4) per slice;
                 texture features of the water image by `dolor features` (first order, Nakagami, GLCM 16/32 levels,
                 distances 1/2, 4 in-plane directions + means); label = fat fraction (mean fat / (mean fat + mean water)
                 of the region in that slice, also by `dolor features`) above its median. TUM02 has no label map in
                 the data folder, so it cannot contribute rows.
  generated.csv  sklearn.datasets.make_classification, 6000 rows, 20 features (6 informative), 2 rows per patient.
Folds: stratified 5-fold by patient (slice for Dixon: rows of a slice share a fold), fixed in a `fold` column and
given to both (`--fold-column fold`). Both use the same trees, sqrt(p) features per split, bootstrap, Gini; each is
run with S seeds and the mean CV accuracy (argmax) and pooled AUC are compared. Times: total fit and predict time
over the 5 folds, both on the same threads (n_jobs = --threads).

usage: /usr/bin/python3 bench/forest_vs_sklearn.py DOLOR_BIN OUTDIR [--seeds 5] [--trees 100] [--threads 2]
"""
import argparse
import csv
import os
import subprocess
import sys
import time

import numpy as np
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score

ap = argparse.ArgumentParser()
ap.add_argument("dolor")
ap.add_argument("outdir")
ap.add_argument("--seeds", type=int, default=5)
ap.add_argument("--trees", type=int, default=100)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--data", default=os.environ.get("DOLOR_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")))
a = ap.parse_args()
os.makedirs(a.outdir, exist_ok=True)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr}")
    return r.stdout + r.stderr


def folds_by_group(y, g, k, seed):
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(y), dtype=int)
    groups = np.unique(g)
    gcls = np.array([np.bincount(y[g == v], minlength=2).argmax() for v in groups])
    for c in (0, 1):
        gs = groups[gcls == c].copy()
        rng.shuffle(gs)
        for i, v in enumerate(gs):
            fold[g == v] = i % k
    return fold


def read_csv(path):
    with open(path) as f:
        r = csv.reader(f)
        head = next(r)
        rows = list(r)
    return head, rows


def write_table(path, names, X, y, group, fold):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["patient", "fold"] + list(names) + ["label"])
        for i in range(len(y)):
            w.writerow([group[i], fold[i]] + [repr(float(v)) for v in X[i]] + [int(y[i])])


tables = []
D = os.path.join(a.data, "lumbar-dixon-mri")
if os.path.exists(os.path.join(D, "TUM01_water_manual_label_segmentation_L2-L5.nii.gz")):
    lab = os.path.join(D, "TUM01_water_manual_label_segmentation_L2-L5.nii.gz")
    common = ["--per-slice", "--regions", "1,2,3,4", "--mask", lab, "-t", str(a.threads)]
    wcsv, fw, ww = (os.path.join(a.outdir, n) for n in ("dixon_water_texture.csv", "dixon_fat_mean.csv", "dixon_water_mean.csv"))
    run([a.dolor, "features", *common, "--levels", "16,32", "--distances", "1,2", os.path.join(D, "TUM01_water_img_img_L2-L5.nii.gz"), "-o", wcsv])
    for img, out in (("TUM01_fat_img_img_L2-L5.nii.gz", fw), ("TUM01_water_img_img_L2-L5.nii.gz", ww)):
        run([a.dolor, "features", *common, "--no-glcm", "--no-nakagami", os.path.join(D, img), "-o", out])
    head, rows = read_csv(wcsv)
    _, rf = read_csv(fw)
    _, rw = (read_csv(ww))
    im = head.index("firstorder_mean")
    ff = np.array([float(a_[im]) / (float(a_[im]) + float(b_[im])) for a_, b_ in zip(rf, rw)])
    y = (ff > np.median(ff)).astype(int)
    fcols = [j for j, h in enumerate(head) if h not in ("image", "slice")]
    X = np.array([[float(r[j]) for j in fcols] for r in rows])
    slice_ = np.array([int(r[1]) for r in rows])
    fold = folds_by_group(y, slice_, 5, 1)
    path = os.path.join(a.outdir, "dixon.csv")
    write_table(path, [head[j] for j in fcols], X, y, [f"S{v}" for v in slice_], fold)
    tables.append(("dixon (TUM01, %d region-slices, %d features)" % X.shape, path, X, y, fold))
else:
    print("lumbar-dixon-mri not found: real table skipped", file=sys.stderr)

Xg, yg = make_classification(n_samples=6000, n_features=20, n_informative=6, n_redundant=4, flip_y=0.05,
                             class_sep=0.7, random_state=3)
gg = np.arange(6000) // 2
fg = folds_by_group(yg, gg, 5, 2)
path = os.path.join(a.outdir, "generated.csv")
write_table(path, [f"x{j}" for j in range(20)], Xg, yg, [f"P{v}" for v in gg], fg)
tables.append(("generated (6000 rows, 20 features)", path, Xg, yg, fg))

print(f"trees {a.trees}, max_features sqrt(p), 5 folds fixed, {a.seeds} seeds each, {a.threads} threads")
print(f"{'table':40s} {'impl':8s} {'accuracy':>9s} {'AUC':>7s} {'fit s':>8s} {'predict s':>10s}")
for name, path, X, y, fold in tables:
    res = {}
    for impl in ("dolor", "sklearn"):
        accs, aucs, tf, tp = [], [], 0.0, 0.0
        for seed in range(1, a.seeds + 1):
            if impl == "dolor":
                pred = os.path.join(a.outdir, "oof.csv")
                out = run([a.dolor, "forest", "cv", path, "--label", "label", "--exclude", "patient", "--fold-column", "fold",
                           "--trees", str(a.trees), "--seed", str(seed), "--positive", "1", "-t", str(a.threads),
                           "--predictions", pred])
                line = [l for l in out.splitlines() if l.startswith("mean of folds")][0]
                tf += float(line.split("fit ")[1].split(" ms")[0]) / 1000
                tp += float(line.split("predict ")[1].split(" ms")[0]) / 1000
                _, pr = read_csv(pred)
                p = np.array([float(r[3]) for r in pr])
                yy = np.array([int(r[2]) for r in pr])
                pd = np.array([int(r[4]) for r in pr])
            else:
                p = np.zeros(len(y))
                for f in range(5):
                    tr, te = fold != f, fold == f
                    m = RandomForestClassifier(n_estimators=a.trees, max_features="sqrt", random_state=seed, n_jobs=a.threads)
                    t0 = time.perf_counter()
                    m.fit(X[tr], y[tr])
                    t1 = time.perf_counter()
                    p[te] = m.predict_proba(X[te])[:, 1]
                    tp += time.perf_counter() - t1
                    tf += t1 - t0
                yy, pd = y, (p > 0.5).astype(int)
            accs.append(np.mean(pd == yy))
            aucs.append(roc_auc_score(yy, p))
        res[impl] = (np.mean(accs), np.mean(aucs))
        print(f"{name:40s} {impl:8s} {np.mean(accs):9.4f} {np.mean(aucs):7.4f} {tf / a.seeds:8.3f} {tp / a.seeds:10.3f}")
    da, du = res["dolor"][0] - res["sklearn"][0], res["dolor"][1] - res["sklearn"][1]
    print(f"{'':40s} {'diff':8s} {da:+9.4f} {du:+7.4f}   {'within 0.02' if abs(da) <= 0.02 and abs(du) <= 0.02 else 'NOT within 0.02'}")
