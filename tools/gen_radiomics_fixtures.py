#!/usr/bin/python3
"""First-order and IBSI GLCM feature fixtures for tests/test_radiomics.c, from NumPy/SciPy/scikit-image.

Writes tests/fixtures/radiomics/firstorder.json: cases of values x (flat, x fastest), an optional mask and
PyRadiomics' fixed bin width, with the expected IBSI / PyRadiomics first-order features computed here with
NumPy (percentiles: numpy.percentile, linear) and SciPy (scipy.stats.skew / kurtosis, biased, Fisher = excess).

Writes tests/fixtures/radiomics/glcm_ibsi.json: 2D images of grey levels 0..L-1, the co-occurrence matrices of
scikit-image's graycomatrix (distances 1 and 2, angles 0, pi/4, pi/2, 3pi/4, symmetric or not) and IBSI's other
GLCM features of each (Zwanenburg et al. 2020, IBSI reference manual 3.6: joint maximum ... information
correlation 2, grey levels numbered 1..L) computed here with NumPy from those matrices.
Run by hand with Debian's python3-numpy, python3-scipy and python3-skimage:
/usr/bin/python3 tools/gen_radiomics_fixtures.py
"""
import json
import os
import numpy as np
import scipy
import scipy.stats

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "radiomics", "firstorder.json")
OUT_IBSI = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "radiomics", "glcm_ibsi.json")


def pyradiomics_bins(x, w):
    # radiomics.imageoperations.getBinEdges / binImage (fixed bin width)
    low = x.min() - (x.min() % w)
    high = x.max() + 2 * w
    edges = np.arange(low, high, w)
    return np.digitize(x, edges)  # 1-based


def features(x, w):
    n = x.size
    mean = x.mean()
    var = x.var()
    p10, p25, med, p75, p90 = (np.percentile(x, p) for p in (10, 25, 50, 75, 90))
    r = x[(x >= p10) & (x <= p90)]
    q = pyradiomics_bins(x, w)
    counts = np.bincount(q)
    p = counts[counts > 0] / n
    eps = np.spacing(1)
    return {
        "mean": mean, "variance": var, "sd": np.sqrt(var),
        "skewness": scipy.stats.skew(x), "kurtosis": scipy.stats.kurtosis(x, fisher=True),
        "min": x.min(), "p10": p10, "p25": p25, "median": med, "p75": p75, "p90": p90, "max": x.max(),
        "range": x.max() - x.min(), "iqr": p75 - p25,
        "mad": np.mean(np.abs(x - mean)), "rmad": np.mean(np.abs(r - r.mean())),
        "medad": np.mean(np.abs(x - med)), "cv": np.sqrt(var) / mean,
        "energy": np.sum(x ** 2), "rms": np.sqrt(np.mean(x ** 2)),
        "entropy": -np.sum(p * np.log2(p + eps)), "uniformity": np.sum(p ** 2),
        "levels": int(q.max()),
    }


rng = np.random.default_rng(20261201)
cases = []


def add(name, x, mask, w):
    x = np.asarray(x, dtype=np.float64)
    sel = x if mask is None else x[np.asarray(mask, dtype=bool)]
    f = {k: (float(v) if k != "levels" else v) for k, v in features(sel, w).items()}
    cases.append({"name": name, "x": x.tolist(), "mask": None if mask is None else [int(m) for m in mask],
                  "bin_width": w, "expected": f})


add("normal_mean100_sd20_n500", np.round(rng.normal(100, 20, 500), 3), None, 25.0)
add("normal_mean0_sd30_n301_negative", np.round(rng.normal(0, 30, 301), 3), None, 10.0)
vol = rng.integers(0, 256, size=6 * 9 * 10)
mask = (rng.uniform(size=vol.size) < 0.6).astype(int)
add("uint8_volume_10x9x6_masked", vol, mask, 25.0)
add("ties_small", [3, 3, 3, 5, 5, 9, 1, 1], None, 2.0)
add("gamma_skewed_n400", np.round(rng.gamma(1.5, 40.0, 400), 4), None, 25.0)

with open(OUT, "w") as f:
    json.dump({"generator": "tools/gen_radiomics_fixtures.py", "numpy": np.__version__, "scipy": scipy.__version__,
               "cases": cases}, f, indent=0)
print(OUT)


# ---------------- IBSI GLCM features from scikit-image's matrices ----------------
import skimage
from skimage.feature import graycomatrix


def h2(p):
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def ibsi(P):
    """IBSI 3.6 features of one co-occurrence matrix (counts), grey levels 1..L."""
    L = P.shape[0]
    p = P / P.sum()
    i, j = np.meshgrid(np.arange(1, L + 1), np.arange(1, L + 1), indexing="ij")
    px, py = p.sum(1), p.sum(0)
    mu_i, mu_j = (i * p).sum(), (j * p).sum()
    k = np.abs(i - j)
    pd = np.bincount(k.ravel(), weights=p.ravel(), minlength=L)
    ps = np.bincount((i + j).ravel(), weights=p.ravel(), minlength=2 * L + 1)  # index = i + j, 2..2L used
    kd, ks = np.arange(L), np.arange(2 * L + 1)
    da, sa = (kd * pd).sum(), (ks * ps).sum()
    hx, hy, hxy = h2(px), h2(py), h2(p)
    q = np.outer(px, py)
    nz = q > 0
    hxy1 = float(-(p[nz] * np.log2(q[nz])).sum())
    hxy2 = float(-(q[nz] * np.log2(q[nz])).sum())
    t = i + j - mu_i - mu_j
    return {
        "joint_maximum": p.max(), "joint_average": mu_i, "joint_variance": (((i - mu_i) ** 2) * p).sum(),
        "joint_entropy": hxy, "difference_average": da, "difference_variance": (((kd - da) ** 2) * pd).sum(),
        "difference_entropy": h2(pd), "sum_average": sa, "sum_variance": (((ks - sa) ** 2) * ps).sum(),
        "sum_entropy": h2(ps), "inverse_difference": (pd / (1 + kd)).sum(),
        "normalised_inverse_difference": (pd / (1 + kd / L)).sum(),
        "normalised_inverse_difference_moment": (pd / (1 + (kd / L) ** 2)).sum(),
        "inverse_variance": (pd[1:] / kd[1:] ** 2).sum(), "autocorrelation": (i * j * p).sum(),
        "cluster_tendency": (t ** 2 * p).sum(), "cluster_shade": (t ** 3 * p).sum(),
        "cluster_prominence": (t ** 4 * p).sum(),
        "information_correlation_1": (hxy - hxy1) / max(hx, hy) if max(hx, hy) > 0 else 0.0,
        "information_correlation_2": float(np.sqrt(max(0.0, 1 - np.exp(-2 * (hxy2 - hxy))))),
    }


rng = np.random.default_rng(20261202)
icases = []


def add_ibsi(name, img, L, symmetric):
    img = np.asarray(img, dtype=np.uint8)
    angles = [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4]
    P = graycomatrix(img, [1, 2], angles, levels=L, symmetric=symmetric, normed=False).astype(np.float64)
    feats = {}
    for di in range(2):
        for a in range(4):
            for kname, v in ibsi(P[:, :, di, a]).items():
                feats.setdefault(kname, [[None] * 4 for _ in range(2)])[di][a] = float(v)
    icases.append({"name": name, "levels": L, "symmetric": symmetric, "height": img.shape[0], "width": img.shape[1],
                   "image": img.ravel().tolist(), "distances": [1, 2], "expected_d_a": feats})


# smooth texture (a blurred random field) so that the matrices are not uniform
f = rng.normal(size=(40, 37))
f = (f + np.roll(f, 1, 0) + np.roll(f, 1, 1) + np.roll(f, (1, 1), (0, 1))) / 4
add_ibsi("smooth_40x37_levels16_symmetric", np.clip((f - f.min()) / (f.max() - f.min()) * 16, 0, 15), 16, True)
add_ibsi("uniform_24x31_levels8_asymmetric", rng.integers(0, 8, size=(24, 31)), 8, False)
img = rng.integers(0, 5, size=(30, 30))
img[:10, :] = 0  # a background band
add_ibsi("band_30x30_levels5_symmetric", img, 5, True)
add_ibsi("constant_9x9_levels4", np.full((9, 9), 2), 4, True)
with open(OUT_IBSI, "w") as fo:
    json.dump({"generator": "tools/gen_radiomics_fixtures.py", "numpy": np.__version__,
               "skimage": skimage.__version__, "cases": icases}, fo, indent=0)
print(OUT_IBSI)
