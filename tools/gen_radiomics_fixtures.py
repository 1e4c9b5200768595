#!/usr/bin/python3
"""First-order feature fixtures for tests/test_radiomics.c, from NumPy/SciPy.

Writes tests/fixtures/radiomics/firstorder.json: cases of values x (flat, x fastest), an optional mask and
PyRadiomics' fixed bin width, with the expected IBSI / PyRadiomics first-order features computed here with
NumPy (percentiles: numpy.percentile, linear) and SciPy (scipy.stats.skew / kurtosis, biased, Fisher = excess).
Run by hand with Debian's python3-numpy and python3-scipy:  /usr/bin/python3 tools/gen_radiomics_fixtures.py
"""
import json
import os
import numpy as np
import scipy
import scipy.stats

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "radiomics", "firstorder.json")


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
