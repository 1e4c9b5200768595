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
if "$BIN" train --data "$T/ph" --classes nerve,vessel --labels 1,2 -o "$T/run" --size 32 --base 8 --depth 2 \
     --epochs 2 --batch 4 --quiet > "$T/train.log" 2>&1; then ok; else bad "train failed: $(tail -5 "$T/train.log")"; fi
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

# --- eval with mismatched sizes ---
mkdir -p "$T/predbad"
cp "$T/pred/"0*.png "$T/predbad/" 2>/dev/null
true
cp "$T/other/masks/0000.png" "$T/predbad/0002.png"
expect_fail 2 "0002" -- "$BIN" eval --pred "$T/predbad" --truth "$T/ph/masks" --classes nerve,vessel --labels 1,2 -o "$T/ev2"

finish
