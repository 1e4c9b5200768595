#!/usr/bin/env bash
# dolor study run: bad configs and data (exit 2, message naming the key or row), a tiny end-to-end study on a
# 16-image phantom (2 folds by patient, 1 epoch at size 32), a rerun that skips finished jobs, and a study killed
# with SIGKILL mid-training that, run again, gives the same tables as an uninterrupted one.
set -u
. "$(dirname "$0")/lib.sh" study_cli

"$BIN" phantom -o "$T/ph" -n 16 --size 64 --seed 3 >/dev/null 2>&1 || bad "phantom failed"
# 8 patients with two images each; site A/B alternating by patient
{
  echo "case,patient,site"
  i=0
  for f in $(ls "$T/ph/images" | sort); do
    p=$((i / 2))
    echo "${f%.png},P$p,$([[ $((p % 2)) -eq 0 ]] && echo A || echo B)"
    i=$((i + 1))
  done
} > "$T/ph/patients.csv"

# write_cfg FILE EPOCHS [extra dataset lines] [split line]
write_cfg() {
  cat > "$1" <<EOF
study: {name: phantom-quick, task: segmentation}
dataset:
  images: ph/images
  masks: ph/masks
  patients: ${4:-ph/patients.csv}
  stratum_column: site
  classes: [${3:-nerve, vessel}]
split: {method: kfold, folds: ${5:-2}, val_share: 0.25, seed: 7}
models:
  - {name: unet8, base: 8, depth: 2, size: 32, epochs: $2, batch: 4, lr: 2e-3}
run: {quiet: true}
EOF
}

# ---- bad configs and data: exit 2, the key path or the row named ----
write_cfg "$T/ok.yaml" 1
expect_fail 0 "valid" -- "$BIN" study check "$T/ok.yaml"
sed 's/folds: 2/folds: five/' "$T/ok.yaml" > "$T/b1.yaml"
expect_fail 2 "b1.yaml: split.folds: expected an integer, got \"five\"" -- "$BIN" study run "$T/b1.yaml" -o "$T/o"
sed 's/val_share:/val_shar:/' "$T/ok.yaml" > "$T/b2.yaml"
expect_fail 2 "split.val_shar: unknown key" -- "$BIN" study run "$T/b2.yaml" -o "$T/o"
grep -v "images:" "$T/ok.yaml" > "$T/b3.yaml"
expect_fail 2 "dataset.images: missing" -- "$BIN" study run "$T/b3.yaml" -o "$T/o"
grep -v "^dataset:\|  images\|  masks\|  patients\|  stratum\|  classes" "$T/ok.yaml" > "$T/b4.yaml"
expect_fail 2 "dataset: missing" -- "$BIN" study run "$T/b4.yaml" -o "$T/o"
sed 's#images: ph/images#images: ph/nothing#' "$T/ok.yaml" > "$T/b5.yaml"
expect_fail 2 "ph/nothing" -- "$BIN" study run "$T/b5.yaml" -o "$T/o"
sed 's/^P3,/,/; s/,P3,/,,/' "$T/ph/patients.csv" > "$T/ph/p_missing.csv"
write_cfg "$T/b6.yaml" 1 "nerve, vessel" ph/p_missing.csv
expect_fail 2 "p_missing.csv: line 8: patient is empty for case" -- "$BIN" study run "$T/b6.yaml" -o "$T/o"
write_cfg "$T/b7.yaml" 1 "nerve, vessel" ph/patients.csv 9
expect_fail 2 "split.folds: 9 folds but only 8 patients" -- "$BIN" study run "$T/b7.yaml" -o "$T/o"
write_cfg "$T/b8.yaml" 1 "nerve, vessel, extra"
expect_fail 2 "class 'extra' (label 3) is absent from every mask of test fold 1" -- "$BIN" study run "$T/b8.yaml" -o "$T/o"
awk -F, 'NR==1 || $2!="P7" {print; next} {print $1","$2",Z"}' "$T/ph/patients.csv" \
  > "$T/ph/p_rare.csv"
write_cfg "$T/b9.yaml" 1 "nerve, vessel" ph/p_rare.csv 4
expect_fail 2 "site 'Z' is absent from test fold" -- "$BIN" study run "$T/b9.yaml" -o "$T/o"
expect_fail 2 "no-such.yaml" -- "$BIN" study run "$T/no-such.yaml" -o "$T/o"
expect_fail 2 "give an output folder" -- "$BIN" study run "$T/ok.yaml"
[[ ! -e "$T/o/per_case.csv" ]] && ok || bad "a failed study wrote per_case.csv"

# ---- tiny end-to-end study ----
if "$BIN" study run "$T/ok.yaml" -o "$T/run1" > "$T/run1.log" 2>&1; then ok; else bad "study run failed: $(tail -3 "$T/run1.log")"; fi
for f in splits.csv per_case.csv per_fold.csv class_summary.csv anova.csv bonferroni.csv methods.md \
         jobs/unet8/fold1/best.safetensors jobs/unet8/fold2/log.csv jobs/unet8/fold2/test_eval/per_case.csv; do
  [[ -s "$T/run1/$f" ]] && ok || bad "missing $f"
done
[[ $(ls "$T/run1/jobs/unet8/fold1/test_pred" "$T/run1/jobs/unet8/fold2/test_pred" | grep -c '\.png$') -eq 16 ]] && ok ||
  bad "not 16 predicted label maps in test_pred/"
# splits: 2 folds x 16 cases; each case in one test fold; a patient never in two sets of a job
[[ $(grep -c ',test$' "$T/run1/splits.csv") -eq 16 ]] && ok || bad "not 16 test rows in splits.csv"
n_mixed=$(awk -F, 'NR>1 {k=$1","$3; if (k in s && s[k]!=$5) m++; s[k]=$5} END {print m+0}' "$T/run1/splits.csv")
[[ $n_mixed -eq 0 ]] && ok || bad "$n_mixed patients in two sets of one fold"
n_twice=$(awk -F, 'NR>1 && $5=="test" {c[$2]++} END {for (k in c) if (c[k]!=1) m++; print m+0}' "$T/run1/splits.csv")
[[ $n_twice -eq 0 ]] && ok || bad "$n_twice cases in more or fewer than one test fold"
# per-case rows: 16 test cases x 3 classes (background included there)
[[ $(($(wc -l < "$T/run1/per_case.csv") - 1)) -eq 48 ]] && ok || bad "per_case.csv has $(wc -l < "$T/run1/per_case.csv") lines"
grep -q '^unet8,sd,nerve,iou,2,.*,sample (n-1)$' "$T/run1/per_fold.csv" && ok || bad "per_fold.csv lacks the labelled sd row"
grep -q "pairwise two-sided t tests" "$T/run1/methods.md" && grep -q "sample standard deviation" "$T/run1/methods.md" && ok ||
  bad "methods.md does not name the tests and SD"

# report.html: self-contained (no scripts, no external files), three non-empty figures, the tables
R="$T/run1/report.html"
[[ -s "$R" ]] && ok || bad "no report.html"
[[ $(grep -c "<svg" "$R") -eq 3 ]] && ok || bad "report.html has $(grep -c "<svg" "$R") figures (want 3)"
for fig in box-iou box-dice loss-unet8; do
  n=$(awk -v f="data-figure='$fig'" 'index($0, f) {on=1} on && /<circle|<polyline/ {c++} on && /<\/svg>/ {on=0} END {print c+0}' "$R")
  [[ $n -ge 2 ]] && ok || bad "figure $fig has $n marks"
done
[[ $(($(wc -l < "$T/run1/overlays/index.csv") - 1)) -eq 10 ]] && ok || bad "overlays/index.csv: not 10 cases"
[[ $(grep -o "data:image/png;base64,iVBOR" "$R" | wc -l) -eq 10 ]] && ok || bad "report.html does not embed 10 overlays"
sed "s#src='data:image/png;base64,[A-Za-z0-9+/=]*'##g" "$R" | grep -q "<script\|src=\|href=" && bad "report.html refers to something outside it" || ok
grep -q "anova.csv" "$R" && grep -q "Pairwise t tests" "$R" && ok || bad "report.html lacks the tables"

# ---- rerun: finished jobs are skipped, the tables are the same ----
mkdir -p "$T/keep"
cp "$T/run1"/*.csv "$T/keep/"
if "$BIN" study run "$T/ok.yaml" -o "$T/run1" > "$T/rerun.log" 2>&1; then ok; else bad "rerun failed"; fi
[[ $(grep -c "already done, skipped" "$T/rerun.log") -eq 2 ]] && ok || bad "rerun did not skip both jobs: $(cat "$T/rerun.log")"
for f in per_case.csv per_fold.csv class_summary.csv anova.csv bonferroni.csv; do
  cmp -s "$T/keep/$f" "$T/run1/$f" && ok || bad "rerun changed $f"
done

# a changed config does not reuse the finished jobs
write_cfg "$T/changed.yaml" 2
expect_fail 2 "was made with other settings (\"epochs 1\", now \"epochs 2\")" -- "$BIN" study run "$T/changed.yaml" -o "$T/run1"

# ---- a second architecture from the registry: fastseg with its options ----
sed 's/^run:/  - {name: fast8, arch: fastseg, options: {width: 8}, size: 32, epochs: 1, batch: 4, lr: 2e-3}\nrun:/' \
  "$T/ok.yaml" > "$T/two.yaml"
expect_fail 0 "valid (segmentation, 2 models" -- "$BIN" study check "$T/two.yaml"
sed 's/options: {width: 8}/options: {widht: 8}/' "$T/two.yaml" > "$T/c1.yaml"
expect_fail 2 "models[1].options: arch fastseg: fastseg config: unknown key \"widht\"" -- "$BIN" study run "$T/c1.yaml" -o "$T/o"
sed 's/options: {width: 8}/options: {width: 8, num_classes: 3}/' "$T/two.yaml" > "$T/c2.yaml"
expect_fail 2 "models[1].options.num_classes: comes from the data" -- "$BIN" study run "$T/c2.yaml" -o "$T/o"
sed 's/options: {width: 8}/options: {width: 8}, base: 8/' "$T/two.yaml" > "$T/c3.yaml"
expect_fail 2 "models[1].base: not used by arch fastseg (give it in options" -- "$BIN" study run "$T/c3.yaml" -o "$T/o"
sed 's/{name: unet8, base: 8,/{name: unet8, options: {width: 8}, base: 8,/' "$T/two.yaml" > "$T/c4.yaml"
expect_fail 2 "models[0].options: not used by arch unet" -- "$BIN" study run "$T/c4.yaml" -o "$T/o"
sed 's/options: {width: 8}/options: [8]/' "$T/two.yaml" > "$T/c5.yaml"
expect_fail 2 "models[1].options: expected a mapping of architecture options" -- "$BIN" study run "$T/c5.yaml" -o "$T/o"
if "$BIN" study run "$T/two.yaml" -o "$T/two" > "$T/two.log" 2>&1; then ok; else bad "two-model study failed: $(tail -3 "$T/two.log")"; fi
# the same unet8 jobs as run1 (same split and seed), plus 16 fastseg test cases x 3 classes
[[ $(grep -c '^fast8,' "$T/two/per_case.csv") -eq 48 ]] && ok || bad "per_case.csv: not 48 fast8 rows"
cmp -s <(grep '^unet8,' "$T/run1/per_case.csv") <(grep '^unet8,' "$T/two/per_case.csv") && ok ||
  bad "unet8's results changed when a second model joined the study"
grep -a -q -F '"architecture":"fastseg"' "$T/two/jobs/fast8/fold1/best.safetensors" &&
  grep -a -q -F '\"width\": 8}' "$T/two/jobs/fast8/fold2/best.safetensors" &&
  ok || bad "fast8's checkpoint does not hold a fastseg of width 8"
for fig in loss-unet8 loss-fast8; do
  grep -q "data-figure='$fig'" "$T/two/report.html" && ok || bad "report.html lacks figure $fig"
done
sed 's/options: {width: 8}/options: {width: 16}/' "$T/two.yaml" > "$T/c6.yaml"
expect_fail 2 "was made with other settings (\"options {\"width\":8}\", now \"options {\"width\":16}\")" -- \
  "$BIN" study run "$T/c6.yaml" -o "$T/two"

# ---- kill -9 mid-training, run again: same tables as an uninterrupted run ----
write_cfg "$T/long.yaml" 3
"$BIN" study run "$T/long.yaml" -o "$T/full" > "$T/full.log" 2>&1 || bad "uninterrupted run failed: $(tail -3 "$T/full.log")"
"$BIN" study run "$T/long.yaml" -o "$T/killed" > "$T/killed1.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  [[ -e "$T/killed/jobs/unet8/fold1/last.safetensors" ]] && break
  sleep 0.01
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
if [[ -e "$T/killed/jobs/unet8/fold1/done.txt" ]]; then
  echo "note: the study finished fold 1 before it was killed; the resume path of fold 1 was not exercised" >&2
fi
if "$BIN" study run "$T/long.yaml" -o "$T/killed" > "$T/killed2.log" 2>&1; then ok; else bad "resumed run failed: $(tail -3 "$T/killed2.log")"; fi
grep -q "resumes after epoch" "$T/killed2.log" && echo "resumed: $(grep -m1 'resumes after' "$T/killed2.log")" >&2
for f in per_case.csv per_fold.csv class_summary.csv anova.csv bonferroni.csv overlays/index.csv report.html; do
  cmp -s "$T/full/$f" "$T/killed/$f" && ok || bad "killed+resumed run differs in $f"
done

finish
