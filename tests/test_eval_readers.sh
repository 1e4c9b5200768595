#!/usr/bin/env bash
# dolor eval --readers (man-machine comparison) and --probs (study-style evaluation) end to end on phantom
# data: a reader identical to the truth has IoU = DSC = 1 on every image; the tests' statistics are checked
# against R in tests/test_stats_repeated.c, here their presence, ranges and the bad-input exits.
. "$(dirname "$0")/lib.sh" eval_readers
"$BIN" phantom -o "$T/a" -n 8 --size 64 --seed 3 >/dev/null 2>&1 || bad "phantom a"
"$BIN" phantom -o "$T/b" -n 8 --size 64 --seed 4 >/dev/null 2>&1 || bad "phantom b"
"$BIN" phantom -o "$T/c" -n 8 --size 64 --seed 5 >/dev/null 2>&1 || bad "phantom c"
if "$BIN" eval --readers "senior=$T/a/masks,junior=$T/b/masks,model=$T/c/masks" --truth "$T/a/masks" \
     --classes nerve,vessel -o "$T/r" > "$T/r.log" 2>&1; then ok; else bad "readers: $(cat "$T/r.log")"; fi
for f in readers_per_image.csv readers_summary.csv readers_tests.csv; do [[ -s "$T/r/$f" ]] && ok || bad "no $f"; done
# 8 images x 3 readers x 2 classes
[[ $(($(wc -l < "$T/r/readers_per_image.csv") - 1)) -eq 48 ]] && ok || bad "per-image rows: $(wc -l < "$T/r/readers_per_image.csv")"
awk -F, '$2=="senior" && ($4!=1 || $5!=1) {bad=1} END {exit bad}' "$T/r/readers_per_image.csv" && ok ||
  bad "the reader equal to the truth has IoU/DSC != 1"
grep -q '^senior,nerve,dice,8,1,0,1,1,1$' "$T/r/readers_summary.csv" && ok || bad "senior summary: $(grep '^senior,nerve,dice' "$T/r/readers_summary.csv")"
# one Friedman and one RM-ANOVA row and 3 post-hoc pairs per class and metric, p in [0, 1]
[[ $(grep -c ',friedman,' "$T/r/readers_tests.csv") -eq 4 && $(grep -c ',rm_anova,' "$T/r/readers_tests.csv") -eq 4 &&
   $(grep -c ',wilcoxon_bonferroni,' "$T/r/readers_tests.csv") -eq 12 ]] && ok || bad "tests table: $(cat "$T/r/readers_tests.csv")"
awk -F, 'NR>1 && $10!="NA" && ($10<0 || $10>1) {bad=1} END {exit bad}' "$T/r/readers_tests.csv" && ok || bad "p outside [0, 1]"
grep -q 'Friedman chi-squared = ' "$T/r.log" && grep -q 'repeated-measures ANOVA F(2, 14)' "$T/r.log" && ok ||
  bad "printed table: $(cat "$T/r.log")"
expect_fail 2 "is not NAME=DIR" -- "$BIN" eval --readers "senior" --truth "$T/a/masks" -o "$T/x"
expect_fail 2 "need at least 2 readers" -- "$BIN" eval --readers "senior=$T/a/masks" --truth "$T/a/masks" -o "$T/x"
expect_fail 2 "named twice" -- "$BIN" eval --readers "s=$T/a/masks,s=$T/b/masks" --truth "$T/a/masks" -o "$T/x"
mkdir -p "$T/short" && cp "$T/b/masks/0000.png" "$T/short/"
expect_fail 2 "reader short" -- "$BIN" eval --readers "s=$T/a/masks,short=$T/short" --truth "$T/a/masks" -o "$T/x"

# --probs: a tiny fastseg model's probabilities on the phantom images, against their masks
if "$BIN" train --data "$T/a" --classes nerve,vessel --arch fastseg --arch-opt width=8 --size 64 --epochs 1 \
     --batch 4 -o "$T/m" -q --no-final-eval > "$T/train.log" 2>&1; then ok; else bad "train: $(tail -3 "$T/train.log")"; fi
"$BIN" predict --model "$T/m/best.safetensors" "$T/a/images" -o "$T/p" --probs > "$T/p.log" 2>&1 && ok || bad "predict --probs: $(cat "$T/p.log")"
[[ $(ls "$T/p/probs" | grep -c '\.nii\.gz$') -eq 8 ]] && ok || bad "probability files: $(ls "$T/p/probs")"
if "$BIN" eval --probs "$T/p/probs" --truth "$T/a/masks" --classes nerve,vessel -o "$T/e" > "$T/e.log" 2>&1; then ok
else bad "eval --probs: $(cat "$T/e.log")"; fi
for f in roc.csv auc.csv roc.svg confusion.csv confusion_pct.csv confusion.svg class_metrics.csv per_case.csv; do
  [[ -s "$T/e/$f" ]] && ok || bad "eval --probs wrote no $f"
done
awk -F, 'NR>1 && $2!="NA" && ($2<0 || $2>1) {bad=1} END {exit bad || NR!=4}' "$T/e/auc.csv" && ok || bad "auc.csv: $(cat "$T/e/auc.csv")"
# the argmax of the probabilities is the label map predict wrote: the same confusion matrix as eval --pred
"$BIN" eval --pred "$T/p" --truth "$T/a/masks" --classes nerve,vessel -o "$T/e2" -q > /dev/null 2>&1
cmp -s "$T/e/confusion.csv" "$T/e2/confusion.csv" && ok || bad "confusion differs between --probs and --pred"
# row percentages sum to 100
awk -F, 'NR>1 {s=0; for(i=2;i<=NF;i++) s+=$i; if (s<99.999 || s>100.001) bad=1} END {exit bad}' "$T/e/confusion_pct.csv" &&
  ok || bad "confusion_pct rows: $(cat "$T/e/confusion_pct.csv")"
expect_fail 2 "--truth-threshold is used with --probs" -- "$BIN" eval --pred "$T/p" --truth "$T/a/masks" --truth-threshold 128
expect_fail 2 "no truth for '0001'" -- "$BIN" eval --probs "$T/p/probs" --truth "$T/short" -o "$T/x"
[[ ! -e "$T/x" ]] && ok || bad "failed evaluations left $T/x"
finish
