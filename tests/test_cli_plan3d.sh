#!/usr/bin/env bash
# 3D segmentation by a plan (issue 12): dolor plan on the tiny nnU-Net fixture (tests/fixtures/plan, three 3D
# cases at different spacings, two channels), dolor train --plan (a few iterations), dolor predict with 3D
# sliding windows writing one NIfTI label map per case on the input's grid; the usage errors exit 2.
set -u
. "$(dirname "$0")/lib.sh" plan3d
export OMP_WAIT_POLICY=passive
D=$SRC/tests/fixtures/plan/Dataset900_Tiny

# --- plan ---
if "$BIN" plan "$D" -o "$T/plan.json" --base 2 >"$T/plan.log" 2>&1; then ok; else bad "plan failed: $(cat "$T/plan.log")"; fi
grep -q '"patch_size_xyz": \[40, 38, 12\]' "$T/plan.json" && ok || bad "plan patch: $(grep patch "$T/plan.json")"
grep -q '"scheme": "ct"' "$T/plan.json" && grep -q '"percentile_99_5"' "$T/plan.json" && ok \
  || bad "plan lacks the CT normalisation or the fingerprint"
grep -q "target spacing mm (x, y, z): 0.8 0.8 2.84" "$T/plan.log" && ok || bad "plan summary: $(cat "$T/plan.log")"
expect_fail 2 "no DATASET folder" -- "$BIN" plan
expect_fail 2 "dataset.json" -- "$BIN" plan "$T"
expect_fail 2 "is not an option of dolor plan" -- "$BIN" plan "$D" --epochs 3

# --- train --plan ---
if "$BIN" train --plan "$T/plan.json" -o "$T/run" --epochs 1 --iterations 2 -q >"$T/train.log" 2>&1; then ok
else bad "train --plan failed: $(tail -5 "$T/train.log")"; fi
[[ -s "$T/run/best.safetensors" && -s "$T/run/last.safetensors" ]] && ok || bad "train wrote no checkpoints"
[[ $(wc -l <"$T/run/log.csv") -eq 2 ]] && ok || bad "log.csv: $(cat "$T/run/log.csv")"
grep -aq 'spatial_dims[^0-9]*3' "$T/run/best.safetensors" && grep -aq 'target_spacing_mm_xyz' "$T/run/best.safetensors" \
  && ok || bad "the checkpoint lacks the 3D config or the plan"
expect_fail 2 "--batch is not used with --plan" -- "$BIN" train --plan "$T/plan.json" -o "$T/r2" --batch 4
expect_fail 2 "--iterations is a --plan option" -- "$BIN" train --data "$D" -o "$T/r3" --iterations 4
expect_fail 2 "cannot open" -- "$BIN" train --plan "$T/nope.json" -o "$T/r4"

# --- predict: 3D sliding windows, a label map on each input's grid ---
mkdir -p "$T/in"
for c in c1 c2; do ln -s "$D/imagesTr/${c}_0000.nii.gz" "$D/imagesTr/${c}_0001.nii.gz" "$T/in/"; done
if "$BIN" predict --model "$T/run/best.safetensors" "$T/in" -o "$T/pred" --sliding 0.25 >"$T/pred.log" 2>&1; then ok
else bad "predict failed: $(tail -3 "$T/pred.log")"; fi
for c in c1 c2; do
  "$BIN" info "$D/labelsTr/$c.nii.gz" | grep -v -e format -e dtype -e '^/' >"$T/want_$c"
  "$BIN" info "$T/pred/$c.nii.gz" 2>&1 | grep -v -e format -e dtype -e '^/' >"$T/got_$c"
  cmp -s "$T/want_$c" "$T/got_$c" && ok || bad "$c: prediction geometry differs: $(diff "$T/want_$c" "$T/got_$c")"
done
expect_fail 2 "3D model" -- "$BIN" predict --model "$T/run/best.safetensors" "$T/in" -o "$T/p2" --overlay
finish
