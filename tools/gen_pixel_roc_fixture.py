#!/usr/bin/python3
"""Reference for dolor's pixel-level ROC (src/eval/roc_pixel.c): scikit-learn's roc_auc_score and roc_curve
(drop_intermediate=False) one class against the rest, on 3-class probabilities with many ties.
Writes tests/fixtures/eval/pixel_roc.txt. Run by hand: /usr/bin/python3 tools/gen_pixel_roc_fixture.py"""
import os
import numpy as np
import sklearn
from sklearn.metrics import roc_auc_score, roc_curve

rng = np.random.default_rng(11)
n, K = 3000, 3
truth = rng.choice(K, size=n, p=[0.6, 0.25, 0.15])
logits = rng.normal(size=(n, K)) + 1.3 * np.eye(K)[truth]
p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
p = np.round(p * 64) / 64  # multiples of 1/64: exact in float32, and many ties
out = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "eval", "pixel_roc.txt")
with open(out, "w") as f:
    f.write(f"# scikit-learn {sklearn.__version__}: n K, then n rows 'truth p0 p1 p2', then 'auc c value',\n")
    f.write("# then 'curve c m' and m rows 'fpr tpr' of roc_curve(truth == c, p[:, c], drop_intermediate=False)\n")
    f.write(f"{n} {K}\n")
    for t, row in zip(truth, p):
        f.write(f"{t} " + " ".join(f"{v:.6f}" for v in row) + "\n")
    for c in range(K):
        f.write(f"auc {c} {roc_auc_score(truth == c, p[:, c]):.17g}\n")
    for c in range(K):
        fpr, tpr, _ = roc_curve(truth == c, p[:, c], drop_intermediate=False)
        f.write(f"curve {c} {len(fpr)}\n")
        for a, b in zip(fpr, tpr):
            f.write(f"{a:.17g} {b:.17g}\n")
print("wrote", out)
