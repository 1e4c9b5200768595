#!/usr/bin/env bash
# dolor forest train|predict|cv on the fixture table; bad tables (missing label, NaN, unknown column): exit 2 naming row/column.
set -u
. "$(dirname "$0")/lib.sh" forest
F=$SRC/tests/fixtures/ml/forest_cv.csv
"$BIN" forest cv "$F" --label label --group patient --exclude fold --trees 60 --positive fat -o "$T/cv.csv" \
  --predictions "$T/oof.csv" -t 2 >"$T/cv.txt" 2>&1 || bad "cv failed: $(cat "$T/cv.txt")"
[[ $(wc -l <"$T/cv.csv") -eq 7 ]] && ok || bad "cv.csv rows"
auc=$(awk -F, '$1 == "pooled" {print $12}' "$T/cv.csv")
awk -v a="$auc" 'BEGIN { exit !(a > 0.75 && a <= 1) }' && ok || bad "pooled AUC $auc"
# a patient's two rows share a fold
awk -F, 'NR > 1 { f[int((NR - 2) / 2)] = f[int((NR - 2) / 2)] " " $2 } END { for (p in f) { split(f[p], a, " "); if (a[1] != a[2]) exit 1 } }' \
  "$T/oof.csv" && ok || bad "patient rows split across folds"
# same seed, 1 thread: same metrics
"$BIN" forest cv "$F" --label label --group patient --exclude fold --trees 60 --positive fat -o "$T/cv1.csv" -t 1 >/dev/null 2>&1
cmp -s "$T/cv.csv" "$T/cv1.csv" && ok || bad "cv differs between 1 and 2 threads"
"$BIN" forest train "$F" --label label --exclude fold,patient --trees 50 -o "$T/m.txt" --importance "$T/imp.csv" >"$T/tr.txt" 2>&1 \
  && grep -q "OOB error" "$T/tr.txt" && ok || bad "train: $(cat "$T/tr.txt")"
[[ $(wc -l <"$T/imp.csv") -eq 9 ]] && ok || bad "importance rows"
"$BIN" forest predict "$F" --model "$T/m.txt" -o "$T/p.csv" 2>/dev/null && [[ $(wc -l <"$T/p.csv") -eq 401 ]] && ok || bad "predict"
head -1 "$T/p.csv" | grep -q "^row,p_fat,p_lean,predicted$" && ok || bad "predict header: $(head -1 "$T/p.csv")"

# folds from a column
"$BIN" forest cv "$F" --label label --exclude patient --fold-column fold --trees 30 -o "$T/cvf.csv" --predictions "$T/oofc.csv" >/dev/null 2>&1 || bad "fold-column cv"
paste -d, <(cut -d, -f2 "$F") <(cut -d, -f2 "$T/oofc.csv") | awk -F, 'NR > 1 && $1 + 1 != $2 { bad = 1 } END { exit bad }' && ok || bad "fold column not used"

# bad input
{ head -1 "$F"; sed -n 2,30p "$F"; sed -n 31p "$F" | awk -F, -v OFS=, '{ $11 = ""; print }'; sed -n 32,60p "$F"; } >"$T/nolabel.csv"
expect_fail 2 "label column 'label', row 30 (line 31) is missing" -- "$BIN" forest cv "$T/nolabel.csv" --label label --exclude fold,patient
{ head -1 "$F"; sed -n 2,10p "$F" | awk -F, -v OFS=, 'NR == 4 { $5 = "NaN" } { print }'; sed -n 11,60p "$F"; } >"$T/nan.csv"
expect_fail 2 "column 'f2', row 4 (line 5): 'NaN' is not a number" -- "$BIN" forest train "$T/nan.csv" --label label --exclude fold,patient
{ head -1 "$F"; sed -n 2,10p "$F" | awk -F, -v OFS=, 'NR == 2 { $6 = "" } { print }'; sed -n 11,60p "$F"; } >"$T/miss.csv"
expect_fail 2 "column 'f3', row 2 (line 3) is missing" -- "$BIN" forest train "$T/miss.csv" --label label --exclude fold,patient
expect_fail 2 "no column 'grade'" -- "$BIN" forest train "$F" --label grade
expect_fail 2 "no feature column 'f9'" -- "$BIN" forest train "$F" --label label --features f1,f9
expect_fail 2 "--positive 'obese' is not a class" -- "$BIN" forest cv "$F" --label label --positive obese --exclude fold,patient
expect_fail 2 "no feature column 'f7'" -- bash -c "cut -d, -f1-9,11 '$F' >'$T/short.csv'; '$BIN' forest predict '$T/short.csv' --model '$T/m.txt' -o '$T/x.csv'"
[[ ! -e "$T/x.csv" ]] && ok || bad "output written on error"
finish
