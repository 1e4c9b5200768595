#!/usr/bin/env bash
# dolor study run, classification and agreement: a tiny classification study on the 3D multifidus phantom (16
# volumes, 8 patients, 2 folds: a random forest on texture features and a 3D ResNet-10), its tables and report;
# a rerun that gives the same tables; bad classification configs (exit 2 naming the key or row); and a
# segmentation study with a second annotator's masks (ICC table).
set -u
. "$(dirname "$0")/lib.sh" study_cls

"$BIN" phantom --kind multifidus3d -o "$T/mf" -n 16 --width 64 --height 64 --slices 16 --seed 5 >/dev/null 2>&1 ||
  bad "phantom failed"
write_cfg() {
  cat > "$1" <<EOF2
study: {name: mf-tiny, task: classification}
dataset: {csv: ${2:-mf/grades.csv}, image_column: volume, label_column: grade, roi_column: roi}
split: {method: kfold, folds: ${3:-2}, val_share: 0.25, seed: 3}
models:
  - {name: rf, arch: forest, trees: 50, levels: [8], distances: [1]}
  - {name: r10, arch: resnet, depth: 10, base: 4, shape: [16, 32, 32], epochs: 2, batch: 4, lr: 1e-3, warmup: 0}
stats: {ci: wilson}
run: {quiet: true}
EOF2
}
write_cfg "$T/ok.yaml"
expect_fail 0 "valid (classification, 2 models" -- "$BIN" study check "$T/ok.yaml"
# bad configs and data
sed 's/image_column: volume/image_column: vol/' "$T/ok.yaml" > "$T/b1.yaml"
expect_fail 2 "grades.csv: no column 'vol' (dataset.image_column)" -- "$BIN" study run "$T/b1.yaml" -o "$T/o"
sed 's/arch: forest,/arch: forest, shape: [1],/' "$T/ok.yaml" > "$T/b2.yaml"
expect_fail 2 "models[0].shape: 1 items (need 2 to 3)" -- "$BIN" study run "$T/b2.yaml" -o "$T/o"
sed 's#csv: mf/grades.csv#csv: mf/nothing.csv#' "$T/ok.yaml" > "$T/b3.yaml"
expect_fail 2 "mf/nothing.csv" -- "$BIN" study run "$T/b3.yaml" -o "$T/o"
awk -F, 'NR == 5 {sub(/P0001/, "")} {print}' "$T/mf/grades.csv" > "$T/mf/g_nopat.csv"
write_cfg "$T/b4.yaml" mf/g_nopat.csv
expect_fail 2 "g_nopat.csv: line 5: patient is empty for case 'volumes/0003'" -- "$BIN" study run "$T/b4.yaml" -o "$T/o"
write_cfg "$T/b5.yaml" mf/grades.csv 9
expect_fail 2 "split.folds: 9 folds but only 8 patients" -- "$BIN" study run "$T/b5.yaml" -o "$T/o"
awk -F, 'NR == 1 || NR > 3 {print; next} {sub(/,0,/, ",2,"); print}' "$T/mf/grades.csv" > "$T/mf/g_three.csv"
write_cfg "$T/b6.yaml" mf/g_three.csv
expect_fail 2 "column 'grade' holds 3 classes (0, 1, ...); a classification study is binary" -- \
  "$BIN" study run "$T/b6.yaml" -o "$T/o"
# a class on one patient only: absent from the other test fold
awk -F, 'NR == 1 {print; next} {$4 = ($2 == "P0000") ? 1 : 0; print}' OFS=, "$T/mf/grades.csv" > "$T/mf/g_rare.csv"
write_cfg "$T/b7.yaml" mf/g_rare.csv
expect_fail 2 "grade '1' is absent from test fold" -- "$BIN" study run "$T/b7.yaml" -o "$T/o"
printf 'study: {name: x, task: classification}\nsplit: {folds: 2}\nmodels: [{name: rf, arch: forest}]\n' > "$T/b8.yaml"
expect_fail 2 "dataset: missing" -- "$BIN" study run "$T/b8.yaml" -o "$T/o"

# ---- the tiny study ----
if "$BIN" study run "$T/ok.yaml" -o "$T/run" > "$T/run.log" 2>&1; then ok; else bad "study failed: $(tail -3 "$T/run.log")"; fi
for f in splits.csv per_case.csv per_fold.csv cls_summary.csv delong.csv roc.csv methods.md report.html \
         jobs/rf/features.csv jobs/rf/fold1/forest.txt jobs/r10/fold2/best.safetensors jobs/r10/fold1/log.csv; do
  [[ -s "$T/run/$f" ]] && ok || bad "missing $f"
done
# 16 cases x 2 models, every case once per model, each in the test fold of its patient
[[ $(($(wc -l < "$T/run/per_case.csv") - 1)) -eq 32 ]] && ok || bad "per_case.csv: $(wc -l < "$T/run/per_case.csv") lines"
n_twice=$(awk -F, 'NR>1 {c[$1","$3]++} END {for (k in c) if (c[k]!=1) m++; print m+0}' "$T/run/per_case.csv")
[[ $n_twice -eq 0 ]] && ok || bad "$n_twice cases not exactly once per model"
# the pooled numbers: recomputed here from per_case.csv (awk): counts, and Wilson's interval for sensitivity
read -r tp fn <<< "$(awk -F, '$1=="rf" && $6==1 {if ($7 >= 0.5) tp++; else fn++} END {print tp+0, fn+0}' "$T/run/per_case.csv")"
row=$(grep '^rf,sensitivity,' "$T/run/cls_summary.csv")
[[ "$row" == "rf,sensitivity,$tp,$((tp + fn)),"* ]] && ok || bad "rf sensitivity row '$row', want x $tp n $((tp + fn))"
want=$(awk -v x="$tp" -v n="$((tp + fn))" 'BEGIN {z = 1.959963984540054; p = x / n; d = 1 + z*z/n;
  c = (p + z*z/(2*n)) / d; h = z * sqrt(p*(1-p)/n + z*z/(4*n*n)) / d; printf "%.6f", c - h}')
got=$(echo "$row" | awk -F, '{printf "%.6f", $6}')
[[ "$got" == "$want" ]] && ok || bad "rf sensitivity Wilson lower bound $got, want $want"
grep -q "^rf,r10,16," "$T/run/delong.csv" && ok || bad "delong.csv lacks the paired rf vs r10 row"
grep -q "paired DeLong test" "$T/run/methods.md" && grep -q "Wilson score intervals" "$T/run/methods.md" && ok ||
  bad "methods.md does not name DeLong and Wilson"
R="$T/run/report.html"
n=$(awk 'index($0, "data-figure='"'"'roc'"'"'") {on=1} on && /<polyline class=.roc/ {c++} on && /<\/svg>/ {on=0} END {print c+0}' "$R")
[[ $n -eq 2 ]] && ok || bad "ROC figure has $n curves (want 2)"
grep -q "AUC [0-9.]* ([0-9.]*-[0-9.]*)" "$R" && ok || bad "ROC legend lacks AUC (CI)"
grep -q "data-figure='loss-r10'" "$R" && ok || bad "no loss curves of the ResNet"
# rerun: every job skipped, tables identical
mkdir -p "$T/keep" && cp "$T/run"/*.csv "$T/keep/"
"$BIN" study run "$T/ok.yaml" -o "$T/run" > "$T/rerun.log" 2>&1 || bad "rerun failed"
[[ $(grep -c "already done, skipped" "$T/rerun.log") -eq 4 ]] && ok || bad "rerun did not skip 4 jobs"
for f in per_case.csv per_fold.csv cls_summary.csv delong.csv roc.csv; do
  cmp -s "$T/keep/$f" "$T/run/$f" && ok || bad "rerun changed $f"
done

# ---- kill -9 while the ResNet trains, run again: the same tables as an uninterrupted run ----
sed 's/epochs: 2,/epochs: 4,/' "$T/ok.yaml" > "$T/long.yaml"
"$BIN" study run "$T/long.yaml" -o "$T/full" > "$T/full.log" 2>&1 || bad "uninterrupted run failed: $(tail -3 "$T/full.log")"
"$BIN" study run "$T/long.yaml" -o "$T/killed" > "$T/killed1.log" 2>&1 &
pid=$!
for _ in $(seq 1 3000); do
  [[ -e "$T/killed/jobs/r10/fold1/last.safetensors" ]] && break
  sleep 0.01
done
kill -9 "$pid" 2> /dev/null
wait "$pid" 2> /dev/null
[[ -e "$T/killed/jobs/r10/fold1/done.txt" ]] && echo "note: fold 1 of r10 finished before the kill" >&2
if "$BIN" study run "$T/long.yaml" -o "$T/killed" > "$T/killed2.log" 2>&1; then ok; else bad "resumed run failed: $(tail -3 "$T/killed2.log")"; fi
grep -q "resumes after epoch" "$T/killed2.log" && ok || bad "the rerun did not resume a ResNet job"
for f in per_case.csv per_fold.csv cls_summary.csv delong.csv roc.csv report.html; do
  cmp -s "$T/full/$f" "$T/killed/$f" && ok || bad "killed+resumed run differs in $f"
done

# ---- segmentation with a second annotator: ICC(2,1) of the areas ----
"$BIN" phantom -o "$T/ph" -n 8 --size 64 --seed 3 >/dev/null 2>&1 || bad "phantom failed"
mkdir -p "$T/ph/masks2"
files=($(ls "$T/ph/masks" | sort))
for ((i = 0; i < ${#files[@]}; i++)); do # annotator 2 disagrees on every third case (another case's mask)
  j=$i; ((i % 3 == 0)) && j=$(((i + 1) % ${#files[@]}))
  cp "$T/ph/masks/${files[$j]}" "$T/ph/masks2/${files[$i]}"
done
cat > "$T/icc.yaml" <<EOF2
study: {name: icc, task: segmentation}
dataset: {images: ph/images, masks: ph/masks, masks2: ph/masks2, classes: [nerve, vessel]}
split: {method: kfold, folds: 2, val_share: 0.25, seed: 7}
models:
  - {name: unet8, base: 8, depth: 2, size: 32, epochs: 1, batch: 4}
run: {quiet: true}
EOF2
if "$BIN" study run "$T/icc.yaml" -o "$T/icc" > "$T/icc.log" 2>&1; then ok; else bad "ICC study failed: $(tail -3 "$T/icc.log")"; fi
[[ $(($(wc -l < "$T/icc/icc.csv") - 1)) -eq 6 ]] && ok || bad "icc.csv: not 2 classes x 3 comparisons"
# annotators 1 and 2 agree on 5 of 8 cases: the ICC is below 1 and above 0 for both classes
n=$(awk -F, '$3=="annotator 1 vs annotator 2" && $5 > 0 && $5 < 1 {c++} END {print c+0}' "$T/icc/icc.csv")
[[ $n -eq 2 ]] && ok || bad "annotator ICC rows out of (0, 1): $(cat "$T/icc/icc.csv")"
grep -q "ICC(2,1)" "$T/icc/methods.md" && grep -q "icc.csv" "$T/icc/report.html" && ok || bad "ICC not in methods/report"
rm "$T/ph/masks2/${files[2]}"
expect_fail 2 "dataset.masks2: $T/ph/masks2/${files[2]}: no second annotation of case" -- \
  "$BIN" study run "$T/icc.yaml" -o "$T/icc2"

finish
