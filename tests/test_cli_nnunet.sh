#!/usr/bin/env bash
# nnU-Net v2 datasets (issue 12): dolor train --data DIR reads DIR/dataset.json, imagesTr/CASE_XXXX.png channel
# files and labelsTr/CASE.png; classes and channels come from dataset.json; a 2-channel U-Net trains; dolor
# predict takes imagesTs/ and writes CASE.png per case; bad layouts fail with exit 2 naming the file.
# The dataset is built here from a small phantom (no shared data is copied).
set -u
. "$(dirname "$0")/lib.sh" nnunet
export OMP_WAIT_POLICY=passive

"$BIN" phantom -o "$T/ph" -n 14 --size 64 --seed 5 -q >/dev/null 2>&1 || bad "phantom failed"
D=$T/Dataset001_Phantom
mkdir -p "$D/imagesTr" "$D/labelsTr" "$D/imagesTs"
# channel 0: the B-mode image; channel 1: another phantom image of the same size (an unrelated second channel)
for i in $(seq 0 11); do
  n=$(printf %04d "$i")
  o=$(printf %04d $(((i + 5) % 14)))
  cp "$T/ph/images/$n.png" "$D/imagesTr/nerve${n}_0000.png"
  cp "$T/ph/images/$o.png" "$D/imagesTr/nerve${n}_0001.png"
  cp "$T/ph/masks/$n.png" "$D/labelsTr/nerve${n}.png"
done
for i in 12 13; do
  n=$(printf %04d "$i")
  cp "$T/ph/images/$n.png" "$D/imagesTs/nerve${n}_0000.png"
  cp "$T/ph/images/0000.png" "$D/imagesTs/nerve${n}_0001.png"
done
cat >"$D/dataset.json" <<EOF
{
  "channel_names": {"0": "bmode", "1": "second"},
  "labels": {"background": 0, "nerve": 1, "vessel": 2},
  "numTraining": 12,
  "file_ending": ".png"
}
EOF

# --- train: classes and channels from dataset.json ---
if "$BIN" train --data "$D" -o "$T/run" --size 32 --base 8 --depth 2 --epochs 2 --batch 4 -q >"$T/train.log" 2>&1
then ok; else bad "train on the nnU-Net dataset failed: $(tail -5 "$T/train.log")"; fi
grep -q '"in_channels": 2' "$T/train.log" && ok || bad "the model does not take 2 channels: $(grep model: "$T/train.log")"
grep -q "classes: background=0 nerve=1 vessel=2" "$T/train.log" && ok || bad "classes not from dataset.json: $(grep classes: "$T/train.log")"
[[ -s "$T/run/best.safetensors" && -s "$T/run/val_eval/summary.csv" ]] && ok || bad "train wrote no checkpoint or val_eval"
# validation cases are named by case ID, and val_eval equals dolor eval on val_pred against labelsTr
ls "$T/run/val_pred" | grep -q '^nerve00[0-9][0-9]\.png$' && ok || bad "val_pred names: $(ls "$T/run/val_pred" | head -3)"
"$BIN" eval --pred "$T/run/val_pred" --truth "$D/labelsTr" --classes nerve,vessel --labels 1,2 --allow-missing -q \
  -o "$T/veq" >/dev/null 2>&1 || bad "eval of val_pred failed"
cmp -s "$T/run/val_eval/per_case.csv" "$T/veq/per_case.csv" && ok || bad "val_eval differs from dolor eval"
# the checkpoint's preprocessing says what predict must do with two channels
grep -aq 'zscore per channel' "$T/run/best.safetensors" && ok || bad "checkpoint preprocessing lacks the channels"

# --- predict on imagesTs/: one label map per case, named by the case ID ---
if "$BIN" predict --model "$T/run/best.safetensors" "$D/imagesTs" -o "$T/pred" --overlay >"$T/pred.log" 2>&1
then ok; else bad "predict on imagesTs failed: $(tail -3 "$T/pred.log")"; fi
[[ -s "$T/pred/nerve0012.png" && -s "$T/pred/nerve0013.png" && -s "$T/pred/overlays/nerve0012.png" ]] && ok \
  || bad "predict outputs: $(ls "$T/pred")"
[[ ! -e "$T/pred/nerve0012_0000.png" ]] && ok || bad "predict wrote a label map per channel file"
# a 2-channel model given one plain image: exit 2, the channel count named
expect_fail 2 "takes 2 channels" -- "$BIN" predict --model "$T/run/best.safetensors" "$T/ph/images/0000.png" -o "$T/p2"

# --- an nnU-Net dataset of RGB PNGs kept as three channels (one CASE_0000 file per case, R G B) ---
R=$T/Dataset002_Rgb
mkdir -p "$R/imagesTr" "$R/labelsTr"
for i in $(seq 0 5); do
  n=$(printf %04d "$i")
  cp "$T/ph/images/$n.png" "$R/imagesTr/c${n}_0000.png"
  cp "$T/ph/masks/$n.png" "$R/labelsTr/c${n}.png"
done
printf '{"channel_names": {"0": "R", "1": "G", "2": "B"}, "labels": {"background": 0, "nerve": 1, "vessel": 2},
 "numTraining": 6, "file_ending": ".png"}\n' >"$R/dataset.json"
# the phantom's PNGs are grey: a 3-channel model replicates grey (documented), so this trains
if "$BIN" train --data "$R" -o "$T/rgb" --size 32 --base 8 --depth 2 --epochs 1 --batch 2 -q --no-final-eval \
     >"$T/rgb.log" 2>&1; then ok; else bad "train on a 3-channel single-file dataset failed: $(tail -3 "$T/rgb.log")"; fi
grep -q '"in_channels": 3' "$T/rgb.log" && ok || bad "3-channel model: $(grep model: "$T/rgb.log")"
# --channels grey on it: a 1-channel model
if "$BIN" train --data "$R" -o "$T/grey" --size 32 --base 8 --depth 2 --epochs 1 --batch 2 -q --no-final-eval \
     --channels grey >"$T/grey.log" 2>&1 && grep -q '"in_channels": 1' "$T/grey.log"; then ok
else bad "--channels grey: $(tail -3 "$T/grey.log")"; fi
expect_fail 2 "--channels: 'five' is not grey, rgb or a count 1..4" -- "$BIN" train --data "$R" -o "$T/x" --channels five

# --- bad layouts: exit 2, the file and the fault named, nothing written ---
mkbad() { rm -rf "$T/bad"; cp -r "$D" "$T/bad"; }
mkbad
rm "$T/bad/imagesTr/nerve0003_0001.png"
expect_fail 2 "case nerve0003 has no channel 0001 (nerve0003_0001.png)" -- "$BIN" train --data "$T/bad" -o "$T/o" --epochs 1
mkbad
rm "$T/bad/labelsTr/nerve0004.png"
expect_fail 2 "nerve0004" -- "$BIN" train --data "$T/bad" -o "$T/o" --epochs 1
mkbad
sed -i 's/"numTraining": 12/"numTraining": 13/' "$T/bad/dataset.json"
expect_fail 2 "numTraining is 13 but" -- "$BIN" train --data "$T/bad" -o "$T/o" --epochs 1
mkbad
sed -i 's/"vessel": 2/"vessel": 5/' "$T/bad/dataset.json"
expect_fail 2 "label values must be consecutive" -- "$BIN" train --data "$T/bad" -o "$T/o" --epochs 1
mkbad
sed -i 's/"vessel": 2/"vessel": [1, 2]/' "$T/bad/dataset.json"
expect_fail 2 "labels.vessel is a region" -- "$BIN" train --data "$T/bad" -o "$T/o" --epochs 1
mkbad
sed -i '/file_ending/d; s/"numTraining": 12,/"numTraining": 12/' "$T/bad/dataset.json"
expect_fail 2 "key 'file_ending' is missing" -- "$BIN" train --data "$T/bad" -o "$T/o" --epochs 1
mkbad
cp "$T/bad/imagesTr/nerve0001_0000.png" "$T/bad/imagesTr/stray.png"
expect_fail 2 "stray.png: not named CASE_XXXX.png" -- "$BIN" train --data "$T/bad" -o "$T/o" --epochs 1
mkbad
cp "$T/bad/imagesTr/nerve0001_0000.png" "$T/bad/imagesTr/nerve0001_0002.png"
expect_fail 2 "channel 0002, but dataset.json names 2 channels" -- "$BIN" train --data "$T/bad" -o "$T/o" --epochs 1
mkbad
"$BIN" phantom -o "$T/big" -n 1 --size 96 --seed 9 -q >/dev/null 2>&1
cp "$T/big/images/0000.png" "$T/bad/imagesTr/nerve0002_0001.png"
expect_fail 2 "nerve0002_0001.png: 96x96x1 but channel 0" -- "$BIN" train --data "$T/bad" -o "$T/o" --epochs 1
[[ ! -e "$T/o" ]] && ok || bad "a failed train created its output folder"
finish
