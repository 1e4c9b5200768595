#!/usr/bin/python3
"""Random-forest fixture for tests/test_ml.c, from scikit-learn (Debian python3-sklearn).

Writes tests/fixtures/ml/forest_cv.csv: a generated two-class table (make_classification, 400 rows, 8 features,
4 informative) with a patient column (2 rows per patient), and tests/fixtures/ml/forest_cv_sklearn.json: the fold of
each row (as given to both implementations) and scikit-learn's RandomForestClassifier(n_estimators=200,
max_features="sqrt") cross-validated accuracy and pooled AUC, averaged over 10 seeds (so that the reference is the
method's value, not one random forest's).  Run by hand:  /usr/bin/python3 tools/gen_ml_fixtures.py
"""
import json
import os
import numpy as np
import sklearn
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score

D = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "ml")
os.makedirs(D, exist_ok=True)
X, y = make_classification(n_samples=400, n_features=8, n_informative=4, n_redundant=2, flip_y=0.08,
                           class_sep=0.8, random_state=11)
X = np.round(X, 6)
patient = np.arange(400) // 2
rng = np.random.default_rng(5)
# folds by patient, stratified on the first row's class of each patient (fixed here; the test reuses them)
fold_of_patient = np.zeros(200, dtype=int)
for c in (0, 1):
    ps = np.array([p for p in range(200) if y[2 * p] == c])
    rng.shuffle(ps)
    fold_of_patient[ps] = np.arange(len(ps)) % 5
fold = fold_of_patient[patient]
accs, aucs = [], []
for seed in range(10):
    pred = np.zeros(400)
    for f in range(5):
        tr, te = fold != f, fold == f
        rf = RandomForestClassifier(n_estimators=200, max_features="sqrt", random_state=seed, n_jobs=2)
        rf.fit(X[tr], y[tr])
        pred[te] = rf.predict_proba(X[te])[:, 1]
    accs.append(np.mean((pred > 0.5) == y))
    aucs.append(roc_auc_score(y, pred))
with open(os.path.join(D, "forest_cv.csv"), "w") as fp:
    fp.write("patient,fold," + ",".join(f"f{j}" for j in range(8)) + ",label\n")
    for i in range(400):
        fp.write(f"P{patient[i]:03d},{fold[i]}," + ",".join(f"{v:.6f}" for v in X[i]) + f",{'fat' if y[i] else 'lean'}\n")
with open(os.path.join(D, "forest_cv_sklearn.json"), "w") as fp:
    json.dump({"generator": "tools/gen_ml_fixtures.py", "sklearn": sklearn.__version__, "n_estimators": 200,
               "seeds": 10, "cv_accuracy_mean": float(np.mean(accs)), "cv_accuracy_sd": float(np.std(accs)),
               "pooled_auc_mean": float(np.mean(aucs)), "pooled_auc_sd": float(np.std(aucs))}, fp, indent=1)
print(np.mean(accs), np.std(accs), np.mean(aucs), np.std(aucs))
