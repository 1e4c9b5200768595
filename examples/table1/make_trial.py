#!/usr/bin/python3
"""Writes trial.csv: a made-up two-arm randomised trial (no real patients).

Epidural steroid injection (ESI) versus pulsed radiofrequency (PRF) for
lumbar radicular pain, 82 patients, one row per patient. Run by hand:
    /usr/bin/python3 examples/table1/make_trial.py > examples/table1/trial.csv
"""
import numpy as np

rng = np.random.default_rng(20261123)
rows = []
pid = 1
for arm, n, vas_gain, odi_gain in (("ESI", 41, 2.4, 11.0), ("PRF", 41, 3.3, 15.0)):
    for _ in range(n):
        age = int(np.clip(rng.normal(54, 12), 22, 85))
        sex = "F" if rng.random() < 0.55 else "M"
        bmi = round(float(np.clip(rng.normal(27.5, 4.2), 18, 42)), 1)
        duration = round(float(rng.lognormal(np.log(8), 0.8)), 1)  # months, skewed
        vas0 = round(float(np.clip(rng.normal(7.1, 1.1), 4, 10)), 1)
        vas1 = round(float(np.clip(vas0 - vas_gain + rng.normal(0, 1.4), 0, 10)), 1)
        vas6 = round(float(np.clip(vas0 - vas_gain * 0.8 + rng.normal(0, 1.8), 0, 10)), 1)
        odi0 = int(np.clip(rng.normal(44, 10), 16, 80))
        odi1 = int(np.clip(odi0 - odi_gain + rng.normal(0, 8), 0, 80))
        odi6 = int(np.clip(odi0 - odi_gain * 0.9 + rng.normal(0, 10), 0, 80))
        u = rng.random()
        comp = "none" if u < 0.86 else ("minor" if u < 0.97 else "major")
        grade = int(rng.choice([2, 3, 4, 5], p=[0.15, 0.35, 0.35, 0.15]))
        # a few missing follow-ups and one missing BMI
        if rng.random() < 0.06:
            vas6, odi6 = "", ""
        if rng.random() < 0.02:
            bmi = ""
        rows.append([pid, arm, age, sex, bmi, duration, vas0, vas1, vas6, odi0, odi1, odi6, comp, grade])
        pid += 1
# randomised order of enrolment
order = rng.permutation(len(rows))
print("id,arm,age,sex,bmi,duration_months,vas_0,vas_1m,vas_6m,odi_0,odi_1m,odi_6m,complication,pfirrmann")
for k, i in enumerate(order):
    r = rows[i]
    r[0] = k + 1
    print(",".join(str(v) for v in r))
