#!/usr/bin/env bash
# CLI contract: bad input -> clear message + exit code 2 + no partial output;
# and a tiny end-to-end phantom -> train -> predict -> eval run.
set -u
. "$(dirname "$0")/lib.sh" cli

no_tmp_files() {
  if find "$1" -name '.*tmp*' 2>/dev/null | grep -q .; then bad "temporary files left in $1"; else ok; fi
}

# --- a small phantom set ---
"$BIN" phantom -o "$T/ph" -n 12 --size 64 --seed 3 >/dev/null 2>&1 || bad "phantom failed"
[[ -f "$T/ph/images/0000.png" && -f "$T/ph/masks/0000.png" ]] && ok || bad "phantom wrote no files"

# --- usage and option values ---
expect_fail 2 "'abc' is not an integer" -- "$BIN" train --data "$T/ph" --classes nerve,vessel -o "$T/o1" --epochs abc
expect_fail 2 "is not a number" -- "$BIN" train --data "$T/ph" --classes nerve,vessel -o "$T/o1" --lr fast
expect_fail 2 "--epoch is not an option of dolor train" -- "$BIN" train --data "$T/ph" --classes nerve -o "$T/o1" --epoch 3
expect_fail 2 "unknown command" -- "$BIN" trian
printf '{"classes": ["nerve", "vessel"], "epochs": "ten"}' > "$T/bad.json"
expect_fail 2 "key 'epochs' must be an integer" -- "$BIN" train --data "$T/ph" -o "$T/o1" --config "$T/bad.json"
printf '{"classes": ["nerve"], "epocs": 3}' > "$T/bad2.json"
expect_fail 2 "unknown key 'epocs'" -- "$BIN" train --data "$T/ph" -o "$T/o1" --config "$T/bad2.json"
printf '{"classes": ["nerve", ' > "$T/bad3.json"
expect_fail 2 "not a JSON object" -- "$BIN" train --data "$T/ph" -o "$T/o1" --config "$T/bad3.json"
[[ ! -e "$T/o1" ]] && ok || bad "failed train created its output folder"

# --- dataset problems ---
mk() { rm -rf "$T/$1"; cp -r "$T/ph" "$T/$1"; }
mk trunc
head -c 300 "$T/ph/images/0003.png" > "$T/trunc/images/0003.png"
expect_fail 2 "0003.png" -- "$BIN" train --data "$T/trunc" --classes nerve,vessel -o "$T/o2" --epochs 1
mk size
"$BIN" phantom -o "$T/other" -n 1 --size 96 --seed 9 >/dev/null 2>&1 || bad "phantom --size 96 failed"
cp "$T/other/masks/0000.png" "$T/size/masks/0005.png"
expect_fail 2 "0005.png" -- "$BIN" train --data "$T/size" --classes nerve,vessel -o "$T/o2" --epochs 1
expect_fail 2 "label value 2" -- "$BIN" train --data "$T/ph" --classes nerve --labels 1 -o "$T/o2" --epochs 1
mkdir -p "$T/nomask/images" "$T/nomask/masks"
cp "$T/ph/images/0000.png" "$T/nomask/images/a.png"
cp "$T/ph/masks/0001.png" "$T/nomask/masks/b.png"
expect_fail 2 "matching mask" -- "$BIN" train --data "$T/nomask" --classes nerve,vessel -o "$T/o2" --epochs 1
[[ ! -e "$T/o2" ]] && ok || bad "failed train created its output folder"

# --- tiny end-to-end run ---
# (DOLOR_PROGRESS=tty: bars drawn as on a terminal, so --quiet must be what silences them)
if DOLOR_PROGRESS=tty "$BIN" train --data "$T/ph" --classes nerve,vessel --labels 1,2 -o "$T/run" --size 32 --base 8 \
     --depth 2 --epochs 2 --batch 4 --quiet > "$T/train.log" 2>&1; then ok; else bad "train failed: $(tail -5 "$T/train.log")"; fi
grep -q "loading" "$T/train.log" && bad "--quiet still printed the loading bar: $(grep loading "$T/train.log")" || ok
for f in best.safetensors last.safetensors log.csv split.csv val_eval/summary.csv; do
  [[ -s "$T/run/$f" ]] && ok || bad "train did not write $f"
done
[[ $(grep -c '^[0-9]' "$T/run/log.csv") -eq 2 ]] && ok || bad "log.csv does not have 2 epoch rows"
no_tmp_files "$T/run"
if "$BIN" predict --model "$T/run/best.safetensors" "$T/ph/images" -o "$T/pred" --overlay > "$T/pred.log" 2>&1; then ok
else bad "predict failed: $(tail -3 "$T/pred.log")"; fi
[[ -f "$T/pred/0000.png" && -f "$T/pred/overlays/0000.png" ]] && ok || bad "predict wrote no label map/overlay"
grep -q "ms" "$T/pred.log" && ok || bad "predict printed no timing"
if "$BIN" eval --pred "$T/pred" --truth "$T/ph/masks" --classes nerve,vessel --labels 1,2 -o "$T/ev" > "$T/ev.log" 2>&1
then ok; else bad "eval failed: $(tail -3 "$T/ev.log")"; fi
[[ -s "$T/ev/summary.csv" && -s "$T/ev/per_case.csv" && -s "$T/ev/confusion.csv" ]] && ok || bad "eval CSVs missing"

# --- val_eval/ (written by train) equals dolor eval on val_pred/ against the masks (issue 12) ---
"$BIN" eval --pred "$T/run/val_pred" --truth "$T/ph/masks" --classes nerve,vessel --labels 1,2 --allow-missing -q \
  -o "$T/veq" >/dev/null 2>&1 || bad "eval of val_pred failed"
for f in per_case.csv summary.csv confusion.csv; do
  cmp -s "$T/run/val_eval/$f" "$T/veq/$f" && ok || bad "val_eval/$f differs from dolor eval: $(diff "$T/run/val_eval/$f" "$T/veq/$f" | head -5)"
done
# the phantom's PNGs carry a pixel size (pHYs): HD95 in mm, with values (not NA) where a class is in both
head -1 "$T/run/val_eval/per_case.csv" | grep -q ',hd95_mm,assd_mm$' && ok || bad "val_eval per_case.csv header: $(head -1 "$T/run/val_eval/per_case.csv")"
awk -F, 'NR > 1 && $2 == "nerve" && $7 > 0 && $13 == "NA" { bad = 1 } NR > 1 && $2 == "nerve" && $13 != "NA" { n++ }
  END { exit bad || !n }' "$T/run/val_eval/per_case.csv" && ok || bad "val_eval has HD95 NA where the nerve is found"
grep -q "HD95 mm median" "$T/train.log" && ok || bad "train's validation table lacks 'HD95 mm': $(grep HD95 "$T/train.log")"

# --- HD95 units follow the spacing: the same label maps without a pixel size (pHYs removed) -> pixels ---
strip_phys() { # copy PNG $1 to $2 without its pHYs chunk (length 9: 4 + 4 + 9 + 4 bytes)
  local off
  off=$(grep -obUa pHYs "$1" | head -1 | cut -d: -f1)
  if [[ -z "$off" ]]; then bad "$1 has no pHYs chunk"; return; fi
  { head -c $((off - 4)) "$1"; tail -c +$((off + 18)) "$1"; } >"$2"
}
mkdir -p "$T/nopx/pred" "$T/nopx/truth"
for f in "$T"/run/val_pred/*.png; do
  b=$(basename "$f")
  strip_phys "$f" "$T/nopx/pred/$b"
  strip_phys "$T/ph/masks/$b" "$T/nopx/truth/$b"
done
"$BIN" info "$T/nopx/truth/$b" 2>&1 | grep -q "spacing     unknown" && ok || bad "pHYs not removed: $("$BIN" info "$T/nopx/truth/$b" 2>&1 | grep -i spacing)"
"$BIN" eval --pred "$T/nopx/pred" --truth "$T/nopx/truth" --classes nerve,vessel --labels 1,2 -o "$T/nopx/ev" \
  > "$T/nopx.log" 2>&1 || bad "eval without pixel size failed: $(tail -2 "$T/nopx.log")"
grep -q "HD95 px median" "$T/nopx.log" && ! grep -q "HD95 mm" "$T/nopx.log" && ok || bad "no pixel size, yet: $(grep HD95 "$T/nopx.log")"
head -1 "$T/nopx/ev/per_case.csv" | grep -q ',hd95_px,assd_px$' && ok || bad "per_case.csv header without pixel size: $(head -1 "$T/nopx/ev/per_case.csv")"
grep -q '^nerve,hd95_px,' "$T/nopx/ev/summary.csv" && ok || bad "summary.csv lacks nerve,hd95_px"

# --- one colour table: labels.txt, the label-map PNG palette and the overlay legend agree (Okabe-Ito 1, 2) ---
awk '$1 == 1 && $2 == 230 && $3 == 159 && $4 == 0 && $8 == "\"nerve\"" { a = 1 }
     $1 == 2 && $2 == 86 && $3 == 180 && $4 == 233 && $8 == "\"vessel\"" { b = 1 } END { exit !(a && b) }' \
  "$T/pred/labels.txt" && ok || bad "labels.txt colours: $(tail -3 "$T/pred/labels.txt")"
plte() { # the first N palette entries of a PNG as "r g b r g b ..."
  local off
  off=$(grep -obUa PLTE "$1" | head -1 | cut -d: -f1)
  [[ -n "$off" ]] && od -An -tu1 -j $((off + 4)) -N $((3 * $2)) "$1" | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'
}
[[ "$(plte "$T/pred/0000.png" 3)" == "0 0 0 230 159 0 86 180 233" ]] && ok || bad "label-map palette: $(plte "$T/pred/0000.png" 3)"
[[ "$(plte "$T/run/val_pred/$(ls "$T/run/val_pred" | head -1)" 3)" == "0 0 0 230 159 0 86 180 233" ]] && ok || bad "val_pred palette"
# overlays with the ground-truth contour; --truth without --overlay, or a missing truth file: exit 2
if "$BIN" predict --model "$T/run/best.safetensors" "$T/ph/images/0000.png" -o "$T/predt" --overlay --truth "$T/ph/masks" \
     > "$T/predt.log" 2>&1 && [[ -s "$T/predt/overlays/0000.png" ]]; then ok; else bad "predict --truth failed: $(tail -2 "$T/predt.log")"; fi
expect_fail 2 "--truth draws the ground truth on the overlays" -- "$BIN" predict --model "$T/run/best.safetensors" \
  "$T/ph/images/0000.png" -o "$T/predt2" --truth "$T/ph/masks"
mkdir -p "$T/emptytruth"
expect_fail 2 "no label map for '0000'" -- "$BIN" predict --model "$T/run/best.safetensors" "$T/ph/images/0000.png" \
  -o "$T/predt3" --overlay --truth "$T/emptytruth"

# --- ensembles, test-time mirroring and the validation list (issue 12) ---
if "$BIN" predict --model "$T/run/best.safetensors,$T/run/best.safetensors" "$T/ph/images" -o "$T/ens" > "$T/ens.log" 2>&1
then ok; else bad "predict with an ensemble failed: $(tail -2 "$T/ens.log")"; fi
nd=0
for f in "$T"/pred/*.png; do cmp -s "$f" "$T/ens/$(basename "$f")" || nd=$((nd + 1)); done
((nd == 0)) && ok || bad "an ensemble of the model with itself differs from the model on $nd label maps"
# --tta: mirrored left-right by default (the model was trained with horizontal flips)
if "$BIN" predict --model "$T/run/best.safetensors" "$T/ph/images" -o "$T/tta" --tta > "$T/tta.log" 2>&1 &&
   [[ -s "$T/tta/0000.png" ]]; then ok; else bad "predict --tta failed: $(tail -2 "$T/tta.log")"; fi
expect_fail 2 "--tta-axes chooses the mirrorings of --tta" -- "$BIN" predict --model "$T/run/best.safetensors" \
  "$T/ph/images/0000.png" -o "$T/x1" --tta-axes ud
expect_fail 2 "--tta-axes: 'diag' is not lr, ud or lr,ud" -- "$BIN" predict --model "$T/run/best.safetensors" \
  "$T/ph/images/0000.png" -o "$T/x1" --tta --tta-axes diag
# a model with other classes, trained without flips
"$BIN" phantom -o "$T/phn" -n 12 --size 64 --seed 4 --vessel-prob 0 -q >/dev/null 2>&1
if "$BIN" train --data "$T/phn" --classes nerve --labels 1 -o "$T/run1" --size 32 --base 8 --depth 2 --epochs 1 \
     --batch 4 --no-hflip --no-final-eval -q > "$T/run1.log" 2>&1; then ok; else bad "train 1 class: $(tail -2 "$T/run1.log")"; fi
expect_fail 2 "checkpoint 2 of the ensemble" -- "$BIN" predict --model "$T/run/best.safetensors,$T/run1/best.safetensors" \
  "$T/ph/images/0000.png" -o "$T/x2"
expect_fail 2 "checkpoint 1 was not trained with horizontal flips" -- "$BIN" predict --model "$T/run1/best.safetensors" \
  "$T/ph/images/0000.png" -o "$T/x3" --tta
if "$BIN" predict --model "$T/run1/best.safetensors" "$T/ph/images/0000.png" -o "$T/x4" --tta --tta-axes ud \
     > "$T/x4.log" 2>&1; then ok; else bad "--tta --tta-axes ud: $(tail -2 "$T/x4.log")"; fi
[[ ! -e "$T/x1" && ! -e "$T/x2" && ! -e "$T/x3" ]] && ok || bad "a rejected predict wrote its output folder"
# --list: the validation list that train wrote selects the cases
if "$BIN" predict --model "$T/run/best.safetensors" "$T/ph/images" -o "$T/vl" --list "$T/run/val_list.txt" \
     > "$T/vl.log" 2>&1; then ok; else bad "predict --list failed: $(tail -2 "$T/vl.log")"; fi
[[ "$(ls "$T/vl" | grep -c '\.png$')" -eq "$(grep -cv '^#' "$T/run/val_list.txt")" ]] && ok || bad "--list: $(ls "$T/vl")"
for st in $(grep -v '^#' "$T/run/val_list.txt"); do cmp -s "$T/vl/$st.png" "$T/pred/$st.png" || bad "--list: $st differs"; done
printf '0001\nnot_a_case\n' > "$T/badlist.txt"
expect_fail 2 "line 2: no input image for 'not_a_case'" -- "$BIN" predict --model "$T/run/best.safetensors" \
  "$T/ph/images" -o "$T/x5" --list "$T/badlist.txt"

# --sliding: native resolution (64x64 images, 32x32 tiles overlapping by half: 3 x 3 tiles)
if "$BIN" predict --model "$T/run/best.safetensors" "$T/ph/images/0000.png" -o "$T/sl" --sliding 0.5 > "$T/sl.log" 2>&1 &&
   "$BIN" info "$T/sl/0000.png" 2>&1 | grep -q "size        64 x 64"; then ok; else bad "predict --sliding: $(tail -2 "$T/sl.log")"; fi
expect_fail 2 "--sliding: 0.99 is outside 0..0.95" -- "$BIN" predict --model "$T/run/best.safetensors" \
  "$T/ph/images/0000.png" -o "$T/x6" --sliding 0.99
expect_fail 2 "--sliding takes one model" -- "$BIN" predict --model "$T/run/best.safetensors,$T/run/best.safetensors" \
  "$T/ph/images/0000.png" -o "$T/x6" --sliding 0.5

# --- bad checkpoints and images for predict ---
head -c 2000 "$T/run/best.safetensors" > "$T/trunc.safetensors"
expect_fail 2 "truncated" -- "$BIN" predict --model "$T/trunc.safetensors" "$T/ph/images/0000.png" -o "$T/p2"
expect_fail 2 "not a safetensors file" -- "$BIN" predict --model "$T/ph/images/0000.png" "$T/ph/images/0000.png" -o "$T/p2"
[[ ! -e "$T/p2" ]] && ok || bad "failed predict created output"
expect_fail 2 "0003.png" -- "$BIN" predict --model "$T/run/best.safetensors" "$T/trunc/images/0003.png" -o "$T/p3"
[[ ! -e "$T/p3" ]] && ok || bad "failed predict created its output folder"
mkdir -p "$T/dup"
cp "$T/ph/images/0000.png" "$T/dup/a.png"
cp "$T/ph/images/0001.png" "$T/dup/a.nii.gz" 2>/dev/null
expect_fail 2 "same stem 'a'" -- "$BIN" predict --model "$T/run/best.safetensors" "$T/dup/a.png" "$T/dup/a.nii.gz" -o "$T/p4"
expect_fail 2 "No such file" -- "$BIN" predict --model "$T/run/nothere.safetensors" "$T/ph/images/0000.png" -o "$T/p5"

# --- resume: continues with the stored options and split; refuses what cannot change ---
expect_fail 2 "already completed 2 epochs" -- "$BIN" train --data "$T/ph" -o "$T/run" --resume "$T/run/last.safetensors"
expect_fail 2 "cannot be changed on --resume" -- "$BIN" train --data "$T/ph" -o "$T/run" --resume "$T/run/last.safetensors" --size 64
expect_fail 2 "no optimizer state" -- "$BIN" train --data "$T/ph" -o "$T/run" --resume "$T/run/best.safetensors" --epochs 3
cp "$T/run/split.csv" "$T/split.before"
if "$BIN" train --data "$T/ph" -o "$T/run" --resume "$T/run/last.safetensors" --epochs 3 --quiet > "$T/resume.log" 2>&1
then ok; else bad "resume failed: $(tail -3 "$T/resume.log")"; fi
[[ $(grep -c '^[0-9]' "$T/run/log.csv") -eq 3 ]] && ok || bad "resumed log.csv does not have 3 epoch rows"
cmp -s "$T/split.before" "$T/run/split.csv" && ok || bad "resume changed the train/validation split"
grep -q "batch 4" "$T/resume.log" && ok || bad "resume did not keep --batch 4 from the checkpoint"

# --- other architectures of the registry: train, predict, resume with the same --arch-opt ---
for a in "fastseg --arch-opt width=4" "resnet_unet --arch-opt encoder_depth=18,width=4,triplet_attention=1,decoder_base=2"; do
  name=${a%% *}
  if "$BIN" train --data "$T/ph" --classes nerve,vessel --labels 1,2 -o "$T/r_$name" --size 48 --epochs 1 --batch 4 \
       --quiet --no-final-eval --arch $a > "$T/r_$name.log" 2>&1
  then ok; else bad "train --arch $name failed: $(tail -3 "$T/r_$name.log")"; fi
  grep -q "model: $name" "$T/r_$name.log" && ok || bad "train --arch $name did not report its model"
  if "$BIN" predict --model "$T/r_$name/best.safetensors" "$T/ph/images/0001.png" -o "$T/p_$name" > "$T/p_$name.log" 2>&1 &&
     [[ -s "$T/p_$name/0001.png" ]]; then ok; else bad "predict with a $name checkpoint failed: $(tail -2 "$T/p_$name.log")"; fi
  if "$BIN" train --data "$T/ph" -o "$T/r_$name" --resume "$T/r_$name/last.safetensors" --epochs 2 --quiet \
       --no-final-eval --arch $a > "$T/r2_$name.log" 2>&1
  then ok; else bad "resume of --arch $name failed: $(tail -3 "$T/r2_$name.log")"; fi
done

# --- SGD for segmentation (nnU-Net's optimizer): stored in the checkpoint, continued on --resume ---
expect_fail 2 "--momentum and --nesterov are for --optimizer sgd" -- "$BIN" train --data "$T/ph" --classes nerve,vessel \
  -o "$T/sgdx" --momentum 0.9
expect_fail 2 "--plan trains with AdamW" -- "$BIN" train --data "$T/ph" -o "$T/sgdx" --plan "$T/none.json" --optimizer sgd
if "$BIN" train --data "$T/ph" --classes nerve,vessel -o "$T/sgd" --size 32 --base 4 --depth 2 --epochs 1 --batch 4 \
     --optimizer sgd --lr 0.01 --schedule poly --quiet --no-final-eval > "$T/sgd.log" 2>&1
then ok; else bad "train --optimizer sgd failed: $(tail -3 "$T/sgd.log")"; fi
grep -q "sgd (momentum 0.99, Nesterov), poly lr 0.01" "$T/sgd.log" && ok || bad "SGD defaults not reported: $(grep training: "$T/sgd.log")"
if "$BIN" train --data "$T/ph" -o "$T/sgd" --resume "$T/sgd/last.safetensors" --epochs 2 --quiet --no-final-eval \
     > "$T/sgd2.log" 2>&1
then ok; else bad "resume of an SGD run failed: $(tail -3 "$T/sgd2.log")"; fi
grep -q "momentum buffer is not stored" "$T/sgd2.log" && grep -q "sgd (momentum 0.99, Nesterov)" "$T/sgd2.log" && ok ||
  bad "the resumed run did not continue with SGD: $(cat "$T/sgd2.log")"
[[ $(grep -c '^[0-9]' "$T/sgd/log.csv") -eq 2 ]] && ok || bad "the resumed SGD log.csv does not have 2 epoch rows"

# --- eval with mismatched sizes ---
mkdir -p "$T/predbad"
cp "$T/pred/"0*.png "$T/predbad/" 2>/dev/null
true
cp "$T/other/masks/0000.png" "$T/predbad/0002.png"
expect_fail 2 "0002" -- "$BIN" eval --pred "$T/predbad" --truth "$T/ph/masks" --classes nerve,vessel --labels 1,2 -o "$T/ev2"

finish
