#!/usr/bin/env bash
# dolor phantom --kind multifidus3d -> dolor features (normalised against each volume's bright and dark
# reference boxes, cropped to the muscle) -> dolor forest cv by patient: the grades separate better than chance.
set -u
BIN=${DOLOR_BIN:-./dolor}
T=$(mktemp -d /tmp/dolor_mf3d_XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
"$BIN" phantom --kind multifidus3d -o "$T/ph" -n 16 --width 64 --height 64 --slices 16 --seed 3 -q || bad "phantom failed"
[[ -f "$T/ph/volumes/0015.mha" && $(wc -l <"$T/ph/grades.csv") -eq 17 ]] && ok || bad "phantom files"
"$BIN" info "$T/ph/volumes/0000.mha" | grep -q "64 x 64 x 16" && ok || bad "volume size"
"$BIN" phantom --kind multifidus3d -o "$T/ph2" -n 2 --width 64 --height 64 --slices 16 --seed 3 -q
cmp -s "$T/ph/volumes/0001.mha" "$T/ph2/volumes/0001.mha" && ok || bad "not deterministic"
out=$("$BIN" phantom --kind multifidus3d -o "$T/x" -n 2 --grades 7 2>&1); [[ $? -eq 2 && "$out" == *"--grades"* ]] && ok || bad "grades 7: $out"
cd "$T/ph" || exit 1
tail -n +2 grades.csv | while IFS= read -r line; do
  vol=$(echo "$line" | cut -d, -f1)
  br=$(echo "$line" | cut -d'"' -f2); dk=$(echo "$line" | cut -d'"' -f4); roi=$(echo "$line" | cut -d'"' -f6)
  "$BIN" features --bright "$br" --dark "$dk" --crop "$roi" --levels 16 --distances 1 --no-per-direction "$vol" \
    -o "${vol%.mha}.csv" 2>/dev/null || echo "features failed: $vol" >&2
done
{ head -1 volumes/0000.csv | sed 's/^/grade,patient,/'
  tail -n +2 grades.csv | while IFS=, read -r vol pat side grade rest; do echo "$grade,$pat,$(tail -1 "${vol%.mha}.csv")"; done; } >table.csv
[[ $(wc -l <table.csv) -eq 17 ]] && ok || bad "table rows"
"$BIN" forest cv table.csv --label grade --group patient --exclude image -k 4 --trees 100 --positive 1 -o cv.csv >/dev/null 2>&1 || bad "cv failed"
auc=$(awk -F, '$1 == "pooled" {print $12}' cv.csv)
acc=$(awk -F, '$1 == "pooled" {print $7}' cv.csv)
echo "multifidus3d phantom, 2 grades, 16 volumes / 8 patients: pooled CV accuracy $acc, AUC $auc"
awk -v a="$auc" -v c="$acc" 'BEGIN { exit !(a > 0.8 && c > 0.7) }' && ok || bad "grades not separated: AUC $auc, accuracy $acc"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
