#!/usr/bin/env bash
# dolor phantom --kind axial-disc + dolor ldh:
#  - the phantom's true label maps and pose labels graded by dolor ldh agree with its truth.csv on every slice
#    (type, grade, zone and side), and so do its YOLO segment labels (the polygon round trip);
#  - the same seed gives the same files;
#  - agreement against a truth table with 4 changed rows: accuracy by hand, Cohen's kappa and its 95% CI against
#    R psych 2.2.9 cohen.kappa (unweighted, 18 types and 4 grades; the linear weighted kappa of the grades with
#    w = 1 - |i - j| / 3);
#  - --segment (predictions): a slice without a prediction is a failed row counted as wrong (kappa: R psych);
#  - bad input exits 2 naming the file and line.
set -u
. "$(dirname "$0")/lib.sh" ldhcli
P=$T/ph
if ! "$BIN" phantom --kind axial-disc -o "$P" -n 36 --seed 3 -q 2>"$T/err"; then
  bad "phantom --kind axial-disc: $(cat "$T/err")"
  finish
fi
[[ $(ls "$P/images" | wc -l) -eq 36 && $(ls "$P/labels/pose" | wc -l) -eq 36 && -f "$P/labels/detect/0035.txt" \
  && -f "$P/labels/segment/0035.txt" && -f "$P/masks/0035.png" ]] && ok || bad "phantom files: $(ls -R "$P" | head)"
# the 18 types twice each
[[ $(tail -n +2 "$P/truth.csv" | cut -d, -f5 | sort | uniq -c | awk '$1 == 2' | wc -l) -eq 18 ]] && ok \
  || bad "types not balanced: $(cut -d, -f5 "$P/truth.csv" | sort | uniq -c)"
# pose lines: class, box and 9 keypoints x y v
awk '{ if (NF != 32) exit 1 }' "$P"/labels/pose/*.txt && ok || bad "pose label lines are not 32 values"

# ---- grading the true masks and keypoints: 100 % ----
if "$BIN" ldh --masks "$P/masks" --pose "$P/labels/pose" -o "$T/out.csv" --truth "$P/truth.csv" \
  --agreement "$T/agree.csv" >"$T/stdout" 2>"$T/err"; then ok; else bad "dolor ldh: $(cat "$T/err")"; fi
grep -q "accuracy, 18 types: 36/36 = 1.0000" "$T/stdout" && grep -q "accuracy, 4 grades: 36/36 = 1.0000" "$T/stdout" \
  && grep -q "kappa, 18 types, unweighted: 1.0000" "$T/stdout" && grep -q "kappa, 4 grades, linear:     1.0000" "$T/stdout" \
  && ok || bad "agreement on the true masks: $(cat "$T/stdout")"
# slice, grade, zone, side, type: the same as the truth on every slice
if cmp -s <(cut -d, -f1-5 "$P/truth.csv") <(cut -d, -f1-5 "$T/out.csv"); then ok; else
  bad "graded != truth: $(diff <(cut -d, -f1-5 "$P/truth.csv") <(cut -d, -f1-5 "$T/out.csv") | head)"
fi
grep -q "^kappa_unweighted,types,36,36,1.000000,1.000000,1.000000$" "$T/agree.csv" && ok || bad "agree.csv: $(head -5 "$T/agree.csv")"
# from the YOLO segment polygons instead of the label maps
if "$BIN" ldh --segment "$P/labels/segment" --images "$P/images" --pose "$P/labels/pose" -o "$T/seg.csv" -q \
  2>"$T/err" && cmp -s <(cut -d, -f1-5 "$P/truth.csv") <(cut -d, -f1-5 "$T/seg.csv"); then ok; else
  bad "--segment: $(cat "$T/err") $(diff <(cut -d, -f1-5 "$P/truth.csv") <(cut -d, -f1-5 "$T/seg.csv") | head)"
fi
# a NIfTI label map (the spacing read from it) gives the same row
mkdir -p "$T/nii"
"$BIN" convert "$P/masks/0013.png" "$T/nii/0013.nii.gz" >/dev/null 2>&1
if "$BIN" ldh --masks "$T/nii" --pose "$P/labels/pose" -o "$T/nii.csv" -q 2>"$T/err" \
  && [[ "$(tail -1 "$T/nii.csv")" == "$(grep ^0013, "$T/out.csv")" ]]; then ok; else bad "NIfTI mask: $(cat "$T/err" "$T/nii.csv")"; fi
# the same seed, the same files
"$BIN" phantom --kind axial-disc -o "$T/ph2" -n 3 --seed 3 -q
cmp -s "$P/images/0002.png" "$T/ph2/images/0002.png" && cmp -s "$P/masks/0002.png" "$T/ph2/masks/0002.png" \
  && cmp -s "$P/labels/pose/0002.txt" "$T/ph2/labels/pose/0002.txt" && ok || bad "phantom not reproducible"

# ---- agreement with 4 truth rows changed: slice 0002 1-A -> 1-B, 0007 2-A -> 1-A, 0012 3-A -> 2-A, 0013 3-B -> 2-B.
# Types 32/36, grades 33/36. R: psych::cohen.kappa(data.frame(truth, dolor)) -> types 0.8823529 (CI 0.7738533 to
# 0.9908526), grades 0.8843683 (CI 0.7584911 to 1, clipped); cohen.kappa(grades, w = 1 - abs(outer(0:3, 0:3, "-"))
# / 3)$weighted.kappa = 0.9210526 (= (35/36 - pe) / (1 - pe) by hand)
awk -F, 'BEGIN { OFS = "," }
  $1 == "0002" { $3 = "B"; $5 = "1-B" }
  $1 == "0007" { $2 = 1; $5 = "1-A" }
  $1 == "0012" { $2 = 2; $5 = "2-A" }
  $1 == "0013" { $2 = 2; $5 = "2-B" }
  { print }' "$P/truth.csv" >"$T/truth4.csv"
if "$BIN" ldh --masks "$P/masks" --pose "$P/labels/pose" -o "$T/out4.csv" --truth "$T/truth4.csv" >"$T/stdout" 2>"$T/err"
then ok; else bad "dolor ldh --truth truth4.csv: $(cat "$T/err")"; fi
for want in "accuracy, 18 types: 32/36 = 0.8889" "accuracy, 4 grades: 33/36 = 0.9167" \
  "kappa, 18 types, unweighted: 0.8824 (95% CI 0.7739 to 0.9909)" \
  "kappa, 4 grades, unweighted: 0.8844 (95% CI 0.7585 to 1.0000)" "kappa, 4 grades, linear:     0.9211"; do
  grep -qF "$want" "$T/stdout" && ok || bad "agreement lacks '$want': $(cat "$T/stdout")"
done
# per type: 1-A truth {0007, 0020}, dolor {0002, 0020}: precision 0.5, recall 0.5; 3-A truth {0030}, dolor {0012, 0030}
grep -qE "^  1-A +2 +2 +0.5000 +0.5000 +0.5000$" "$T/stdout" && ok || bad "1-A row: $(grep ' 1-A ' "$T/stdout")"
grep -qE "^  3-A +1 +2 +0.5000 +1.0000 +0.6667$" "$T/stdout" && ok || bad "3-A row: $(grep ' 3-A ' "$T/stdout")"

# ---- predictions (--segment): a slice without a prediction is a 'failed' row, counted as wrong; the run goes on ----
F=$T/fail
mkdir -p "$F/seg" "$F/pose"
cp "$P"/labels/segment/*.txt "$F/seg/"
cp "$P"/labels/pose/*.txt "$F/pose/"
: >"$F/seg/0004.txt"   # no disc predicted (an empty mask)
: >"$F/pose/0010.txt"  # no keypoints predicted
rm "$F/pose/0021.txt"  # no pose file at all
# a lower-scored second object (a square in the canal, between DP and CP) after slice 0000's disc: not part of it
awk '{ x = ($9 + $24) / 2; y = ($10 + $25) / 2; d = 0.03
  printf "0 %f %f %f %f %f %f %f %f\n", x - d, y - d, x + d, y - d, x + d, y + d, x - d, y + d }' \
  "$P/labels/pose/0000.txt" >>"$F/seg/0000.txt"
if "$BIN" ldh --segment "$F/seg" --images "$P/images" --pose "$F/pose" -o "$T/fail.csv" --truth "$P/truth.csv" \
  --agreement "$T/fail_agree.csv" >"$T/stdout" 2>"$T/err"; then ok; else bad "--segment with failures: $(cat "$T/err")"; fi
[[ "$(grep -c ',failed,' "$T/fail.csv")" -eq 3 ]] && grep -q "^0004,,,,failed," "$T/fail.csv" \
  && grep -q "^0021,,,,failed," "$T/fail.csv" && ok || bad "failed rows: $(grep failed "$T/fail.csv")"
grep -q "slice 0010 not graded" "$T/err" && ok || bad "no note of the failed slice: $(cat "$T/err")"
[[ "$(grep ^0000, "$T/fail.csv" | cut -d, -f1-5)" == "$(grep ^0000, "$P/truth.csv" | cut -d, -f1-5)" ]] && ok \
  || bad "a second object changed slice 0000: $(grep ^0000, "$T/fail.csv" "$P/truth.csv")"
# 33/36 right. R: psych::cohen.kappa(data.frame(truth, dolor)) with the 3 slices rated 'failed' (a 19th category):
# types 0.9121951 (CI 0.8177411 to 1, clipped), grades (5 levels) 0.8884298 (CI 0.7711733 to 1); linear over the 33 graded slices: 1
for want in "accuracy, 18 types: 33/36 = 0.9167" "accuracy, 4 grades: 33/36 = 0.9167" "kappa, 18 types, unweighted: 0.9122 (95% CI 0.8177 to 1.0000)" "kappa, 4 grades, unweighted: 0.8884 (95% CI 0.7712 to 1.0000)" \
  "not graded: 3/36 slices"; do
  grep -qF "$want" "$T/stdout" && ok || bad "agreement lacks '$want': $(cat "$T/stdout")"
done
grep -q "^failed,slices,36,3,0.083333,,$" "$T/fail_agree.csv" && ok || bad "agree.csv: $(tail -3 "$T/fail_agree.csv")"
# --masks (the truth) keeps exit 2 for a missing pose file (below)

# ---- bad input: exit 2, the file (and line) named ----
B=$T/bad
mkdir -p "$B/masks" "$B/pose"
for s in 0000 0001 0002; do cp "$P/masks/$s.png" "$B/masks/"; cp "$P/labels/pose/$s.txt" "$B/pose/"; done
head -4 "$P/truth.csv" >"$B/truth.csv"
run_ldh() { "$BIN" ldh --masks "$B/masks" --pose "$B/pose" -o "$B/out.csv" "$@"; }
expect_fail 0 "graded 3 slices" -- run_ldh --truth "$B/truth.csv"
# a keypoint count other than 9
cp "$B/pose/0001.txt" "$T/keep.txt"
awk '{ NF = 29; print }' "$T/keep.txt" >"$B/pose/0001.txt"
expect_fail 2 "$B/pose/0001.txt:1" -- run_ldh
cp "$T/keep.txt" "$B/pose/0001.txt"
# an absent keypoint
awk '{ $18 = 0; $19 = 0; $20 = 0; print }' "$T/keep.txt" >"$B/pose/0001.txt"
expect_fail 2 "keypoint 4 (FR) is absent" -- run_ldh
cp "$T/keep.txt" "$B/pose/0001.txt"
# a slice without keypoints
rm "$B/pose/0001.txt"
expect_fail 2 "$B/pose/0001.txt: missing (slice 0001 has no keypoints)" -- run_ldh
cp "$T/keep.txt" "$B/pose/0001.txt"
# an empty pose file
: >"$B/pose/0001.txt"
expect_fail 2 "$B/pose/0001.txt: no object" -- run_ldh
cp "$T/keep.txt" "$B/pose/0001.txt"
# truth: an unknown grade, an unknown type, a grade that does not fit the type, a missing slice, an unknown slice
printf 'slice,grade,zone,side,type\n0000,0,,none,normal\n0001,4,,none,bulging\n0002,1,A,central,1-A\n' >"$B/t1.csv"
expect_fail 2 "$B/t1.csv:3: grade '4' is not 0, 1, 2 or 3" -- run_ldh --truth "$B/t1.csv"
printf 'slice,grade,zone,side,type\n0000,0,,none,normal\n0001,0,,none,bulging\n0002,1,A,central,1-D\n' >"$B/t2.csv"
expect_fail 2 "$B/t2.csv:4: type '1-D' is not one of the 18" -- run_ldh --truth "$B/t2.csv"
printf 'slice,grade,zone,side,type\n0000,0,,none,normal\n0001,0,,none,bulging\n0002,2,A,central,1-A\n' >"$B/t3.csv"
expect_fail 2 "$B/t3.csv:4: grade 2 does not fit type 1-A" -- run_ldh --truth "$B/t3.csv"
head -3 "$B/truth.csv" >"$B/t4.csv"
expect_fail 2 "$B/t4.csv: slice '0002' is missing" -- run_ldh --truth "$B/t4.csv"
{ cat "$B/truth.csv"; echo "0099,0,,none,normal,normal,0,0,1"; } >"$B/t5.csv"
expect_fail 2 "$B/t5.csv:5: slice '0099' has no mask and keypoints" -- run_ldh --truth "$B/t5.csv"
printf 'slice,type\n0000,normal\n' >"$B/t6.csv"
expect_fail 2 "needs the columns slice, grade and type" -- run_ldh --truth "$B/t6.csv"
# an empty disc mask (a label map without label 1)
"$BIN" ldh --masks "$B/masks" --pose "$B/pose" -o "$B/out.csv" --disc-label 7 >"$T/o" 2>&1
[[ $? -eq 2 ]] && grep -q "0000.png + .*0000.txt: ldh: the disc mask is empty" "$T/o" && ok || bad "empty mask: $(cat "$T/o")"
# usage
expect_fail 2 "give one of --masks DIR and --segment DIR" -- "$BIN" ldh --pose "$B/pose" -o "$B/out.csv"
expect_fail 2 "--segment needs --images" -- "$BIN" ldh --segment "$B/pose" --pose "$B/pose" -o "$B/out.csv"
expect_fail 2 "-o OUT.csv is required" -- "$BIN" ldh --masks "$B/masks" --pose "$B/pose"
expect_fail 2 "no image" -- "$BIN" ldh --masks "$B/pose" --pose "$B/pose" -o "$B/out.csv"
[[ ! -e "$B/out2.csv" ]] && ok || bad "a failed run wrote output"
finish
