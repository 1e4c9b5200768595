#!/usr/bin/python3
"""Regenerate tests/fixtures/eval/ (run by hand, never by CI):

    /usr/bin/python3 tools/gen_eval_fixtures.py

Writes small ground-truth and predicted label maps (palette PNG via PIL, one
prediction as int16 NIfTI via nibabel), and the expected results computed
independently of dolor:
  - per-case counts and metrics with NumPy boolean masks,
  - per-class summaries (n, mean, sample SD, R type-7 median/P25/P75) with R
    (Rscript: mean, sd, quantile(type = 7)),
  - the pixel confusion matrix with NumPy,
  - HD95 and ASSD (mm) with SciPy following MONAI's recipe: surface = mask XOR
    scipy.ndimage.binary_erosion(mask) (face connectivity, zero border),
    distances = distance_transform_edt(~surface_other, sampling=spacing) at
    the surface voxels, HD95 = max of the two directed numpy.percentile(.., 95),
    ASSD = mean of both directed sets pooled; NaN when the class is absent
    from truth or prediction, and for background,
  - quantile7.csv: R quantile(type = 7) of a few vectors at several p.
Empty-case rules are those documented in include/dolor/eval.h (nnU-Net v2).
Needs: python3-numpy, python3-scipy, python3-pil, python3-nibabel, r-base-core.
"""
import csv
import os
import shutil
import subprocess
import tempfile

import nibabel as nib
import numpy as np
from PIL import Image
from scipy import ndimage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "eval")
NAMES = ["background", "nerve", "vessel"]
PALETTE = [0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * (256 * 3 - 9)
rng = np.random.default_rng(20261123)


def disc(h, w, cy, cx, r):
    yy, xx = np.mgrid[0:h, 0:w]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def jitter(mask, p):
    """Flip the boundary-ish pixels of a mask with probability p."""
    m = mask.copy()
    flip = rng.random(m.shape) < p
    edge = np.zeros_like(m)
    edge[1:, :] |= m[1:, :] != m[:-1, :]
    edge[:-1, :] |= m[1:, :] != m[:-1, :]
    edge[:, 1:] |= m[:, 1:] != m[:, :-1]
    edge[:, :-1] |= m[:, 1:] != m[:, :-1]
    m[flip & edge] = ~m[flip & edge]
    return m


def label_map(h, w, nerve, vessel):
    a = np.zeros((h, w), np.uint8)
    if nerve is not None:
        a[nerve] = 1
    if vessel is not None:
        a[vessel] = 2
    return a


def make_cases():
    cases = {}
    H, W = 20, 24
    # c01..c05: both classes, predictions with shifted/jittered shapes
    for i in range(1, 6):
        cy, cx, r = 6 + i % 3, 7 + i, 3 + i % 2
        vy, vx, vr = 13, 16 - i % 2, 3
        t = label_map(H, W, disc(H, W, cy, cx, r), disc(H, W, vy, vx, vr))
        pn = jitter(disc(H, W, cy + (i % 2), cx - (i % 3 == 0), r), 0.3)
        pv = jitter(disc(H, W, vy, vx + 1, vr - (i == 3)), 0.3)
        p = label_map(H, W, pn, pv)
        cases["c%02d" % i] = (t, p)
    # c06: vessel absent in truth and prediction -> vessel Dice undefined (empty)
    t = label_map(H, W, disc(H, W, 8, 9, 4), None)
    p = label_map(H, W, disc(H, W, 9, 9, 4), None)
    cases["c06"] = (t, p)
    # c07: vessel absent in truth but predicted -> vessel Dice 0; nerve missed entirely
    #      (precision NaN for nerve); stored as int16 NIfTI for the prediction
    t = label_map(H, W, disc(H, W, 10, 12, 3), None)
    p = label_map(H, W, None, disc(H, W, 4, 4, 2))
    cases["c07"] = (t, p)
    # c08: another size; truth is all nerve (background empty in truth, nerve
    #      specificity undefined), prediction half nerve half background
    t = np.ones((5, 6), np.uint8)
    p = np.ones((5, 6), np.uint8)
    p[:, :3] = 0
    cases["c08"] = (t, p)
    return cases


def counts(t, p, c):
    tc, pc = t == c, p == c
    tp = int(np.sum(tc & pc))
    fp = int(np.sum(~tc & pc))
    fn = int(np.sum(tc & ~pc))
    tn = int(np.sum(~tc & ~pc))
    return tp, fp, fn, tn


def div(a, b):
    return a / b if b > 0 else float("nan")


def metrics(tp, fp, fn, tn):
    return [div(tp, tp + fp + fn), div(2 * tp, 2 * tp + fp + fn), div(tp, tp + fp), div(tp, tp + fn),
            div(tn, tn + fp), div(tp + tn, tp + fp + fn + tn)]


METRICS = ["iou", "dice", "precision", "recall", "specificity", "accuracy", "hd95_mm", "assd_mm"]


def surface(m):
    return m ^ ndimage.binary_erosion(m, border_value=0)


def surface_distances(pred, truth, spacing):
    """MONAI-style HD95 and ASSD between boolean masks (NaN if either is empty)."""
    if not pred.any() or not truth.any():
        return float("nan"), float("nan")
    ep, et = surface(pred), surface(truth)
    d_pt = ndimage.distance_transform_edt(~et, sampling=spacing)[ep]
    d_tp = ndimage.distance_transform_edt(~ep, sampling=spacing)[et]
    hd95 = max(np.percentile(d_pt, 95), np.percentile(d_tp, 95))
    assd = np.concatenate([d_pt, d_tp]).mean()
    return float(hd95), float(assd)


def fmt(v):
    return "NA" if v != v else repr(float(v))


def r_summaries(groups):
    """groups: list of (key, values) -> {key: (n, mean, sd, median, p25, p75)} computed by R."""
    with tempfile.TemporaryDirectory() as d:
        inp = os.path.join(d, "in.csv")
        with open(inp, "w") as f:
            f.write("key,value\n")
            for key, vals in groups:
                for v in vals:
                    f.write("%s,%r\n" % (key, float(v)))
        outp = os.path.join(d, "out.csv")
        script = r"""
x <- read.csv("%s", stringsAsFactors = FALSE)
keys <- unique(x$key)
f <- function(v) sprintf("%%.17g", v)
out <- data.frame(key = keys)
for (i in seq_along(keys)) {
  v <- x$value[x$key == keys[i]]
  q <- quantile(v, c(0.5, 0.25, 0.75), type = 7, names = FALSE)
  out$n[i] <- length(v); out$mean[i] <- f(mean(v))
  out$sd[i] <- if (length(v) > 1) f(sd(v)) else "NA"
  out$median[i] <- f(q[1]); out$p25[i] <- f(q[2]); out$p75[i] <- f(q[3])
}
write.csv(out, "%s", row.names = FALSE, quote = FALSE)
""" % (inp, outp)
        subprocess.run(["Rscript", "-e", script], check=True)
        res = {}
        with open(outp) as f:
            for row in csv.DictReader(f):
                res[row["key"]] = (int(row["n"]), row["mean"], row["sd"], row["median"], row["p25"], row["p75"])
        return res


def r_quantiles(vectors, probs):
    with tempfile.TemporaryDirectory() as d:
        rows = []
        for vi, v in enumerate(vectors):
            vec = "c(" + ",".join(repr(float(x)) for x in v) + ")"
            pr = "c(" + ",".join(repr(p) for p in probs) + ")"
            script = 'cat(sprintf("%%.17g", quantile(%s, %s, type = 7, names = FALSE)), sep = "\\n")' % (vec, pr)
            out = subprocess.run(["Rscript", "-e", script], check=True, capture_output=True, text=True).stdout
            for p, q in zip(probs, out.split()):
                rows.append((vi, p, q))
        return rows


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for sub in ("truth", "pred"):
        os.makedirs(os.path.join(OUT, sub))
    cases = make_cases()
    for cid, (t, p) in cases.items():
        im = Image.fromarray(t, mode="P")
        im.putpalette(PALETTE)
        im.save(os.path.join(OUT, "truth", cid + ".png"))
        if cid == "c07":
            # NIfTI stores x fastest: data[x, y] = a[y, x]
            img = nib.Nifti1Image(p.T.astype(np.int16), np.diag([0.5, 0.5, 1.0, 1.0]))
            nib.save(img, os.path.join(OUT, "pred", cid + ".nii.gz"))
        else:
            im = Image.fromarray(p, mode="P")
            im.putpalette(PALETTE)
            im.save(os.path.join(OUT, "pred", cid + ".png"))
    # a prediction without ground truth (warning, ignored) and a non-image file (ignored)
    extra = Image.fromarray(np.zeros((4, 4), np.uint8), mode="L")
    extra.save(os.path.join(OUT, "pred", "z_extra.png"))
    with open(os.path.join(OUT, "pred", "notes.txt"), "w") as f:
        f.write("not a label map\n")

    # expected per-case table
    per_case = []
    conf = np.zeros((3, 3), np.int64)
    for cid in sorted(cases):
        t, p = cases[cid]
        for a in range(3):
            for b in range(3):
                conf[a, b] += int(np.sum((t == a) & (p == b)))
        for c in range(3):
            k = counts(t, p, c)
            # PNG truth files carry no pHYs: 1 mm pixels; arrays are [y, x]
            hd = surface_distances(p == c, t == c, (1.0, 1.0)) if c > 0 else (float("nan"), float("nan"))
            per_case.append((cid, NAMES[c], k, metrics(*k) + list(hd)))
    with open(os.path.join(OUT, "expected_per_case.csv"), "w") as f:
        f.write("case,class,tp,fp,fn,tn," + ",".join(METRICS) + "\n")
        for cid, name, k, m in per_case:
            f.write("%s,%s,%d,%d,%d,%d,%s\n" % (cid, name, *k, ",".join(fmt(v) for v in m)))

    # expected summary: R over the defined values
    groups = []
    n_empty = {}
    for c, name in enumerate(NAMES):
        rows = [r for r in per_case if r[1] == name]
        n_empty[name] = sum(1 for r in rows if r[2][0] + r[2][1] + r[2][2] == 0)
        for mi, m in enumerate(METRICS):
            vals = [r[3][mi] for r in rows if r[3][mi] == r[3][mi]]
            groups.append(("%s/%s" % (name, m), vals))
    rs = r_summaries(groups)
    with open(os.path.join(OUT, "expected_summary.csv"), "w") as f:
        f.write("class,metric,n,mean,sd,median,p25,p75,n_empty\n")
        for name in NAMES:
            for m in METRICS:
                n, mean, sd, med, p25, p75 = rs.get("%s/%s" % (name, m), (0, "NA", "NA", "NA", "NA", "NA"))
                f.write("%s,%s,%d,%s,%s,%s,%s,%s,%d\n" % (name, m, n, mean, sd, med, p25, p75, n_empty[name]))

    with open(os.path.join(OUT, "expected_confusion.csv"), "w") as f:
        f.write("truth\\pred," + ",".join(NAMES) + "\n")
        for a in range(3):
            f.write(NAMES[a] + "," + ",".join(str(int(v)) for v in conf[a]) + "\n")

    # 3D NIfTI pair with anisotropic spacing (x 0.8, y 1.2, z 2.5 mm): surface distances
    for sub in ("truth3d", "pred3d"):
        os.makedirs(os.path.join(OUT, sub))
    sp3 = (0.8, 1.2, 2.5)
    zz, yy, xx = np.meshgrid(np.arange(7), np.arange(12), np.arange(14), indexing="ij")
    rows3 = []
    for vi in range(2):
        t = np.zeros((7, 12, 14), np.uint8)  # [z, y, x]
        t[((xx - 6) * 0.8) ** 2 + ((yy - 5) * 1.2) ** 2 + ((zz - 3) * 2.5) ** 2 <= 16] = 1
        t[(xx >= 10) & (yy >= 8 - vi) & (zz >= 1) & (zz <= 4)] = 2
        p = np.zeros_like(t)
        p[((xx - 7 + vi) * 0.8) ** 2 + ((yy - 5) * 1.2) ** 2 + ((zz - 3) * 2.5) ** 2 <= 20] = 1
        p[(xx >= 11) & (yy >= 7) & (zz >= 2) & (zz <= 5)] = 2
        p[0, 0, 0] = 2  # a stray voxel far away
        aff = np.diag([-sp3[0], -sp3[1], sp3[2], 1.0])  # LPS-aligned axes; spacing is what matters
        for sub, a in (("truth3d", t), ("pred3d", p)):
            nib.save(nib.Nifti1Image(np.transpose(a, (2, 1, 0)).astype(np.uint8), aff),
                     os.path.join(OUT, sub, "v%d.nii.gz" % vi))
        for c in (1, 2):
            # arrays are [z, y, x]: sampling (z, y, x); NIfTI stores pixdim as float32
            spf = [float(np.float32(v)) for v in sp3]
            hd = surface_distances(p == c, t == c, (spf[2], spf[1], spf[0]))
            k = counts(t, p, c)
            rows3.append(("v%d" % vi, NAMES[c], k, hd))
    with open(os.path.join(OUT, "expected_3d.csv"), "w") as f:
        f.write("case,class,tp,fp,fn,tn,hd95_mm,assd_mm\n")
        for cid, name, k, hd in rows3:
            f.write("%s,%s,%d,%d,%d,%d,%s,%s\n" % (cid, name, *k, fmt(hd[0]), fmt(hd[1])))

    # R type-7 quantiles of a few vectors
    vectors = [[0.7], [0.2, 0.9], [3.0, 1.0, 2.0], [0.91, 0.85, 0.62, 0.77, 0.88],
               list(np.round(rng.random(10), 6)), list(np.round(rng.normal(0.8, 0.1, 17), 6)), [1, 1, 2, 2, 2, 5]]
    probs = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]
    with open(os.path.join(OUT, "quantile7_vectors.csv"), "w") as f:
        f.write("vector,value\n")
        for vi, v in enumerate(vectors):
            for x in v:
                f.write("%d,%r\n" % (vi, float(x)))
    with open(os.path.join(OUT, "quantile7_expected.csv"), "w") as f:
        f.write("vector,p,q\n")
        for vi, p, q in r_quantiles(vectors, probs):
            f.write("%d,%r,%s\n" % (vi, p, q))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
