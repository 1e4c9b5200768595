#!/usr/bin/python3
"""Regenerate tests/fixtures/detect/coco_*.txt (run by hand, never by CI) with the reference COCO
evaluation code, pycocotools (cocodataset/cocoapi, PythonAPI), built OUTSIDE the repository:

    apt-get install cython3 python3-numpy python3-setuptools python3-dev
    git clone https://github.com/cocodataset/cocoapi /tmp/cocoapi
    cd /tmp/cocoapi/PythonAPI && /usr/bin/python3 setup.py build_ext --inplace
    PYTHONPATH=/tmp/cocoapi/PythonAPI /usr/bin/python3 tools/gen_detect_fixtures.py

Neither the project nor CI depends on pycocotools; it is not vendored.

Each fixture is a synthetic set (seeded): ground-truth boxes, polygons rasterised by pycocotools
(frPyObjects + decode) or keypoints; predictions that are jittered copies, misses, duplicates and
false positives with random scores, over several classes. Box coordinates are multiples of 1/8 pixel
so that x + w is exact in both implementations. The expected values are pycocotools' COCOeval
results (area range "all", maxDets as written): per class and IoU threshold the mean of
eval['precision'][t, :, k, 0, 0] (-1 -> nan), mAP as COCOeval.summarize computes it, and TP/FP/npos
at IoU 0.50 for score >= conf plus the keypoint error over those matches, both from evalImgs'
dtMatches / dtIgnore / gtIgnore.

For coco_box_a, coco_mask and coco_kpt the same sets are also written as COCO files: <set>_gt.json (the
ground truth as given to COCO(): polygons for masks) and <set>_dt.json (the results list as given to loadRes:
compressed RLE strings for masks), so that dolor's COCO readers are checked end to end.

Format (one record per line, numbers %.17g):
  set KIND ncls K nimg N h H w W nkpt P maxdets M conf C
  sigmas s1 .. sP                        (kpt sets)
  img i
  gt cls x1 y1 x2 y2 area A [kpt x y v ...] [mask n r1 r2 ... poly k x1 y1 ...]
  dt cls score x1 y1 x2 y2 [kpt x y s ...] [mask n r1 r2 ... poly k x1 y1 ...]
  ap k t value          (nan: no truth of class k)
  map t value           (mean over classes at threshold t)
  map5095 value
  umap50 value / umap5095 value   (Ultralytics' ap_per_class, numpy transcription, see ultralytics_ap)
  prf tp fp npos
  kerr n mean_px
Masks: row-major run lengths of the h x w 0/1 mask starting with a run of 0s (n runs), pycocotools'
rasterisation (frPyObjects + decode) of the polygon that follows (k vertices, pixels).
"""
import io
import json
import math
import os
import sys
import contextlib

import numpy as np

if not hasattr(np, "float"):  # cocoapi's cocoeval.py still says np.float (removed in NumPy 1.24)
    np.float = float
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "detect")


def q8(v):
    return round(v * 8) / 8.0


def rle_rowmajor(m):
    flat = m.reshape(-1).astype(np.uint8)
    runs, cur, n = [], 0, 0
    for v in flat:
        if v == cur:
            n += 1
        else:
            runs.append(n)
            cur, n = v, 1
    runs.append(n)
    return runs


def fmt(v):
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    return "%.17g" % v


def rand_box(rng, W, H, smin=6, smax=30):
    w = q8(rng.uniform(smin, smax))
    h = q8(rng.uniform(smin, smax))
    x = q8(rng.uniform(0, W - w))
    y = q8(rng.uniform(0, H - h))
    return [x, y, w, h]


def jitter_box(rng, b, s, W, H):
    x, y, w, h = b
    nx = q8(min(max(x + rng.normal(0, s * w), 0), W - 2))
    ny = q8(min(max(y + rng.normal(0, s * h), 0), H - 2))
    nw = q8(max(w * (1 + rng.normal(0, s)), 1.0))
    nh = q8(max(h * (1 + rng.normal(0, s)), 1.0))
    return [nx, ny, nw, nh]


def polygon_in_box(rng, b, nv=6):
    x, y, w, h = b
    cx, cy = x + w / 2, y + h / 2
    ang = np.sort(rng.uniform(0, 2 * np.pi, nv))
    rad = rng.uniform(0.5, 1.0, nv)
    pts = []
    for a, r in zip(ang, rad):
        pts += [q8(cx + r * w / 2 * np.cos(a)), q8(cy + r * h / 2 * np.sin(a))]
    return pts


def make_set(seed, kind, ncls, nimg, H, W, nkpt=0, maxdets=100, conf=0.3, sigmas=None):
    rng = np.random.default_rng(seed)
    images, gts, dts = [], [], []
    gid = 1
    for i in range(nimg):
        images.append({"id": i + 1, "width": W, "height": H, "file_name": "img%d.png" % i})
        for _ in range(rng.integers(0, 6)):
            c = int(rng.integers(0, ncls))
            b = rand_box(rng, W, H)
            ann = {"id": gid, "image_id": i + 1, "category_id": c + 1, "iscrowd": 0, "bbox": b}
            gid += 1
            if kind == "mask":
                poly = polygon_in_box(rng, b)
                ann["segmentation"] = [poly]
                rle = mask_utils.frPyObjects([poly], H, W)
                m = mask_utils.decode(mask_utils.merge(rle))
                ann["area"] = float(m.sum())
                ann["_mask"] = m
            else:
                ann["area"] = b[2] * b[3]
            if kind == "kpt":
                kp = []
                nvis = 0
                allhidden = rng.uniform() < 0.12
                for _k in range(nkpt):
                    if allhidden or rng.uniform() < 0.2:
                        kp += [0.0, 0.0, 0]
                    else:
                        kp += [q8(b[0] + rng.uniform(0, b[2])), q8(b[1] + rng.uniform(0, b[3])), int(rng.integers(1, 3))]
                        nvis += 1
                ann["keypoints"] = kp
                ann["num_keypoints"] = nvis
            gts.append(ann)
            # predictions of this truth: missed, one, or one plus duplicates
            r = rng.uniform()
            ncopies = 0 if r < 0.15 else (1 if r < 0.75 else int(rng.integers(2, 4)))
            for _c in range(ncopies):
                cc = c if rng.uniform() > 0.08 else int(rng.integers(0, ncls))
                jb = jitter_box(rng, b, rng.uniform(0.02, 0.25), W, H)
                d = {"image_id": i + 1, "category_id": cc + 1, "score": float(np.round(rng.uniform(0.05, 1.0), 3)),
                     "_box": jb}
                if kind == "mask":  # the truth's polygon shifted with the box, vertices jittered
                    poly = ann["segmentation"][0]
                    poly = [q8(min(max(v + (jb[j % 2] - b[j % 2]) + rng.normal(0, 0.8), 0), (W, H)[j % 2]))
                            for j, v in enumerate(poly)]
                    m = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([poly], H, W)))
                    d["_mask"] = m
                    d["_poly"] = poly
                if kind == "kpt":
                    kp = []
                    sd = rng.uniform(0.3, 2.5)
                    for k in range(nkpt):
                        gx, gy = ann["keypoints"][3 * k], ann["keypoints"][3 * k + 1]
                        if gx == 0 and gy == 0:
                            gx, gy = b[0] + b[2] / 2, b[1] + b[3] / 2
                        kp += [q8(gx + rng.normal(0, sd)), q8(gy + rng.normal(0, sd)), float(np.round(rng.uniform(), 3))]
                    d["keypoints"] = kp
                dts.append(d)
        # false positives
        for _ in range(rng.integers(0, 3)):
            c = int(rng.integers(0, ncls))
            jb = rand_box(rng, W, H)
            d = {"image_id": i + 1, "category_id": c + 1, "score": float(np.round(rng.uniform(0.05, 1.0), 3)), "_box": jb}
            if kind == "mask":
                poly = polygon_in_box(rng, jb)
                d["_mask"] = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([poly], H, W)))
                d["_poly"] = poly
            if kind == "kpt":
                d["keypoints"] = sum(([q8(jb[0] + rng.uniform(0, jb[2])), q8(jb[1] + rng.uniform(0, jb[3])), 0.5]
                                      for _k in range(nkpt)), [])
            dts.append(d)
    # tie scores on purpose: a few predictions share a score
    if len(dts) > 4:
        dts[3]["score"] = dts[1]["score"]
    return images, gts, dts


def evaluate(kind, ncls, images, gts, dts, maxdets, sigmas):
    gt = COCO()
    ds = {"images": images, "categories": [{"id": k + 1, "name": "c%d" % k} for k in range(ncls)],
          "annotations": [{k: v for k, v in a.items() if not k.startswith("_")} for a in gts]}
    gt.dataset = ds
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
    res = []
    for d in dts:
        r = {"image_id": d["image_id"], "category_id": d["category_id"], "score": d["score"]}
        if kind == "box":
            r["bbox"] = d["_box"]
        elif kind == "mask":
            rle = mask_utils.encode(np.asfortranarray(d["_mask"]))
            rle["counts"] = rle["counts"].decode("ascii")
            r["segmentation"] = rle
        else:
            r["keypoints"] = d["keypoints"]
        res.append(r)
    evaluate.last_json = (json.loads(json.dumps(ds)), json.loads(json.dumps(res)))  # before loadRes edits res
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(res) if res else COCO()
        ev = COCOeval(gt, dt, {"box": "bbox", "mask": "segm", "kpt": "keypoints"}[kind])
        ev.params.maxDets = [maxdets]
        if sigmas is not None:
            ev.params.kpt_oks_sigmas = np.array(sigmas)
        ev.evaluate()
        ev.accumulate()
    return ev, dt


def ultralytics_ap(kind, ncls, images, gts, dts, sigmas):
    """Ultralytics' DetectionValidator.match_predictions + ap_per_class + compute_ap, transcribed in numpy
    (ultralytics/engine/validator.py, ultralytics/utils/metrics.py) on pycocotools' IoU / OKS matrices.
    Ultralytics sorts with np.argsort(-conf) (not stable); a stable sort is used here, as in dolor."""
    ev, _ = evaluate(kind, ncls, images, gts, dts, 100000, sigmas)
    iouv = np.linspace(0.5, 0.95, 10)
    tps, confs, pcls, tcls = [], [], [], []
    for img in images:
        for k in range(ncls):
            key = (img["id"], k + 1)
            g = ev._gts[key]
            d = ev._dts[key]
            tcls += [k] * len(g)
            if not d:
                continue
            order = np.argsort([-x["score"] for x in d], kind="mergesort")
            d = [d[i] for i in order]
            correct = np.zeros((len(d), 10), dtype=bool)
            if g:
                iou = np.array(ev.ious[key]).T  # [ngt, ndt]
                for i, t in enumerate(iouv):
                    matches = np.array(np.nonzero(iou >= t)).T
                    if matches.shape[0]:
                        if matches.shape[0] > 1:
                            matches = matches[iou[matches[:, 0], matches[:, 1]].argsort()[::-1]]
                            matches = matches[np.unique(matches[:, 1], return_index=True)[1]]
                            matches = matches[np.unique(matches[:, 0], return_index=True)[1]]
                        correct[matches[:, 1].astype(int), i] = True
            tps.append(correct)
            confs += [x["score"] for x in d]
            pcls += [k] * len(d)
    tp = np.concatenate(tps, 0) if tps else np.zeros((0, 10), dtype=bool)
    conf = np.array(confs)
    pred_cls = np.array(pcls)
    i = np.argsort(-conf, kind="stable")
    tp, conf, pred_cls = tp[i], conf[i], pred_cls[i]
    unique_classes, nt = np.unique(np.array(tcls), return_counts=True)
    ap = np.zeros((len(unique_classes), 10))
    for ci, c in enumerate(unique_classes):
        i = pred_cls == c
        n_l, n_p = nt[ci], i.sum()
        if n_p == 0 or n_l == 0:
            continue
        fpc = (1 - tp[i]).cumsum(0)
        tpc = tp[i].cumsum(0)
        recall = tpc / (n_l + 1e-16)
        precision = tpc / (tpc + fpc)
        for j in range(10):
            mrec = np.concatenate(([0.0], recall[:, j], [1.0]))
            mpre = np.concatenate(([1.0], precision[:, j], [0.0]))
            mpre = np.flip(np.maximum.accumulate(np.flip(mpre)))
            x = np.linspace(0, 1, 101)
            ap[ci, j] = np.trapz(np.interp(x, mrec, mpre), x)
    return float(ap[:, 0].mean()), float(ap.mean())


def write_set(f, name, seed, kind, ncls, nimg, H, W, nkpt=0, maxdets=100, conf=0.3, sigmas=None, json_prefix=None):
    images, gts, dts = make_set(seed, kind, ncls, nimg, H, W, nkpt, maxdets, conf, sigmas)
    ev, cdt = evaluate(kind, ncls, images, gts, dts, maxdets, sigmas)
    if json_prefix:
        gt_json, dt_json = evaluate.last_json
        for suffix, obj in (("_gt.json", gt_json), ("_dt.json", dt_json)):
            with open(os.path.join(OUT, json_prefix + suffix), "w") as jf:
                json.dump(obj, jf, separators=(",", ":"))
    f.write("set %s ncls %d nimg %d h %d w %d nkpt %d maxdets %d conf %s\n" % (kind, ncls, nimg, H, W, nkpt, maxdets,
                                                                              fmt(conf)))
    if sigmas is not None:
        f.write("sigmas " + " ".join(fmt(s) for s in sigmas) + "\n")
    for i in range(nimg):
        f.write("img %d\n" % i)
        for a in gts:
            if a["image_id"] != i + 1:
                continue
            x, y, w, h = a["bbox"]
            line = "gt %d %s %s %s %s area %s" % (a["category_id"] - 1, fmt(x), fmt(y), fmt(x + w), fmt(y + h),
                                                 fmt(float(a["area"])))
            if kind == "kpt":
                line += " kpt " + " ".join(fmt(v) for v in a["keypoints"])
            if kind == "mask":
                runs = rle_rowmajor(a["_mask"])
                line += " mask %d %s" % (len(runs), " ".join(str(r) for r in runs))
                poly = a["segmentation"][0]
                line += " poly %d %s" % (len(poly) // 2, " ".join(fmt(v) for v in poly))
            f.write(line + "\n")
        for d in dts:
            if d["image_id"] != i + 1:
                continue
            x, y, w, h = d["_box"]
            line = "dt %d %s %s %s %s %s" % (d["category_id"] - 1, fmt(d["score"]), fmt(x), fmt(y), fmt(x + w),
                                            fmt(y + h))
            if kind == "kpt":
                line += " kpt " + " ".join(fmt(v) for v in d["keypoints"])
            if kind == "mask":
                runs = rle_rowmajor(d["_mask"])
                line += " mask %d %s" % (len(runs), " ".join(str(r) for r in runs))
                line += " poly %d %s" % (len(d["_poly"]) // 2, " ".join(fmt(v) for v in d["_poly"]))
            f.write(line + "\n")
    prec = ev.eval["precision"]  # [T, R, K, A, M]
    for k in range(ncls):
        for t in range(10):
            p = prec[t, :, k, 0, 0]
            f.write("ap %d %d %s\n" % (k, t, fmt(float(np.mean(p)) if np.all(p > -1) else float("nan"))))
    for t in range(10):
        p = prec[t, :, :, 0, 0]
        f.write("map %d %s\n" % (t, fmt(float(np.mean(p[p > -1])) if np.any(p > -1) else float("nan"))))
    p = prec[:, :, :, 0, 0]
    f.write("map5095 %s\n" % fmt(float(np.mean(p[p > -1])) if np.any(p > -1) else float("nan")))
    # TP / FP / npos at IoU 0.50, score >= conf, and the keypoint error of those matches
    tp = fp = npos = 0
    kn, ksum = 0, 0.0
    all_rng = ev.params.areaRng[0]
    for e in ev.evalImgs:
        if e is None or e["aRng"] != all_rng:
            continue
        npos += int(np.sum(np.logical_not(e["gtIgnore"])))
        for j, s in enumerate(e["dtScores"]):
            if s < conf or e["dtIgnore"][0, j]:
                continue
            m = int(e["dtMatches"][0, j])
            if m == 0:
                fp += 1
                continue
            tp += 1
            if kind == "kpt":
                g = ev.cocoGt.anns[m]
                dd = cdt.anns[int(e["dtIds"][j])]
                for q in range(nkpt):
                    if g["keypoints"][3 * q + 2] > 0:
                        ksum += math.hypot(dd["keypoints"][3 * q] - g["keypoints"][3 * q],
                                           dd["keypoints"][3 * q + 1] - g["keypoints"][3 * q + 1])
                        kn += 1
    u50, u = ultralytics_ap(kind, ncls, images, gts, dts, sigmas)
    f.write("umap50 %s\numap5095 %s\n" % (fmt(u50), fmt(u)))
    f.write("prf %d %d %d\n" % (tp, fp, npos))
    f.write("kerr %d %s\n" % (kn, fmt(ksum / kn if kn else float("nan"))))
    return ev


def write_polygons(path, seed=1305, count=80):
    """Random polygons (3 to 12 vertices, convex and not, some past the image edges) and pycocotools'
    rasterisation: lines "poly h w k x1 y1 ... mask n r1 r2 ..." (row-major runs as above)."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        for i in range(count):
            H, W = int(rng.integers(8, 33)), int(rng.integers(8, 33))
            k = int(rng.integers(3, 13))
            if i % 2:
                ang = np.sort(rng.uniform(0, 2 * np.pi, k))
                rad = rng.uniform(0.2, 0.7, k) * min(H, W)
                cx, cy = rng.uniform(0, W), rng.uniform(0, H)
                pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1)
            else:
                pts = np.stack([rng.uniform(-1, W + 1, k), rng.uniform(-1, H + 1, k)], 1)
            poly = [float(v) for v in np.round(pts.reshape(-1), 3)]
            m = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([poly], H, W)))
            runs = rle_rowmajor(m)
            f.write("poly %d %d %d %s mask %d %s\n" % (H, W, k, " ".join(fmt(v) for v in poly), len(runs),
                                                      " ".join(str(r) for r in runs)))


def main():
    os.makedirs(OUT, exist_ok=True)
    write_polygons(os.path.join(OUT, "coco_polygons.txt"))
    sets = [
        ("coco_box_a.txt", dict(seed=1301, kind="box", ncls=3, nimg=10, H=96, W=128, json_prefix="coco_box_a")),
        ("coco_box_b.txt", dict(seed=1302, kind="box", ncls=2, nimg=12, H=64, W=64, maxdets=3, conf=0.5)),
        ("coco_mask.txt", dict(seed=1303, kind="mask", ncls=2, nimg=6, H=40, W=48, json_prefix="coco_mask")),
        ("coco_kpt.txt", dict(seed=1304, kind="kpt", ncls=2, nimg=10, H=96, W=96, nkpt=5, maxdets=20,
                              sigmas=[0.025, 0.035, 0.05, 0.072, 0.107], json_prefix="coco_kpt")),
    ]
    for fname, kw in sets:
        path = os.path.join(OUT, fname)
        with open(path, "w") as f:
            ev = write_set(f, fname, **kw)
        p = ev.eval["precision"][:, :, :, 0, 0]
        print("%s: mAP50:95 %.4f, %d bytes" % (fname, float(np.mean(p[p > -1])), os.path.getsize(path)))


if __name__ == "__main__":
    sys.exit(main())
