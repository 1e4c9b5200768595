#!/bin/bash
# dolor train --task classify end to end: a tiny multifidus3d phantom (dolor phantom --kind multifidus3d,
# its grades.csv as the listing: volume, patient, grade) trained 2 epochs with a 3D ResNet-10 (width 4,
# 16x32x32, SGD-Nesterov, BCE), outputs and checkpoint metadata checked; a folder-per-class 2D run with
# CE and AdamW; the option table shared with segmentation (an option of the other task is an error,
# exit 2); bad listings (exit 2, naming the file and line).
. "$(dirname "$0")/lib.sh" cli_classify

"$BIN" phantom --kind multifidus3d -o "$T/ph" -n 12 --width 64 --height 64 --slices 16 --seed 4 -q >/dev/null 2>&1 \
  || { bad "phantom --kind multifidus3d failed"; finish; }
[[ -f "$T/ph/grades.csv" ]] && ok || bad "no grades.csv"

CLS="--task classify --csv $T/ph/grades.csv --image-col volume --label-col grade"
if "$BIN" train $CLS --size 16x32x32 --arch-opt depth=10,width=4 --batch 4 --epochs 2 --optimizer sgd --nesterov \
     --lr 0.01 --loss bce --step-size 1 --lr-gamma 0.5 -o "$T/run" --quiet >"$T/out.txt" 2>"$T/err.txt"; then
  ok
else
  bad "train --task classify failed: $(cat "$T/err.txt")"
fi
grep -q "best validation AUC" "$T/out.txt" && ok || bad "no AUC line: $(cat "$T/out.txt")"
for f in best.safetensors last.safetensors log.csv split.csv val_predictions.csv; do
  [[ -s "$T/run/$f" ]] && ok || bad "missing $f"
done
[[ "$(head -1 "$T/run/log.csv")" == "epoch,train_loss,val_loss,accuracy,auc,sensitivity,specificity,lr,seconds" ]] && ok \
  || bad "log header: $(head -1 "$T/run/log.csv")"
[[ $(wc -l <"$T/run/log.csv") -eq 3 ]] && ok || bad "log rows: $(cat "$T/run/log.csv")"
# step schedule: epoch 2 at 0.01 * 0.5
[[ "$(sed -n 3p "$T/run/log.csv" | cut -d, -f8)" == "0.005" ]] && ok || bad "lr of epoch 2: $(sed -n 3p "$T/run/log.csv")"
# patients stay on one side of the split
dup=$(awk -F, 'NR > 1 { s[$2] = s[$2] " " $4 } END { for (p in s) if (s[p] ~ /train/ && s[p] ~ /val/) print p }' "$T/run/split.csv")
[[ -z "$dup" ]] && ok || bad "patients on both sides: $dup"
# the header says what the model is: a 3D classifier with two classes and one logit
hdr=$(head -c 20000 "$T/run/best.safetensors" | tr -d '\0')
[[ "$hdr" == *'"task":"classification"'* ]] && ok || bad "no task in the checkpoint"
[[ "$hdr" == *'\"depth\":16'* && "$hdr" == *trilinear* ]] && ok || bad "no 3D preprocessing in the checkpoint"
[[ "$hdr" == *'"class_names":"[\"0\",\"1\"]"'* ]] && ok || bad "class names: $(echo "$hdr" | grep -o '"class_names":"[^]]*]')"
[[ "$hdr" == *'\"num_classes\": 1'* || "$hdr" == *'\"num_classes\":1'* ]] && ok || bad "not one logit"

# --resume: 1 epoch, then on to 3, equals 3 epochs straight (AdamW: its moments are in last.safetensors)
R="$CLS --size 8x16x16 --arch-opt depth=10,width=4 --batch 4 --optimizer adamw --lr 1e-3 --quiet"
"$BIN" train $R --epochs 3 -o "$T/ra" >/dev/null 2>&1 || bad "3-epoch run failed"
"$BIN" train $R --epochs 1 -o "$T/rb" >/dev/null 2>&1 || bad "1-epoch run failed"
"$BIN" train $R --epochs 3 -o "$T/rb" --resume "$T/rb/last.safetensors" >/dev/null 2>"$T/err_r.txt" \
  || bad "resume failed: $(cat "$T/err_r.txt")"
grep -q "resuming from .* after epoch 1" "$T/err_r.txt" && ok || bad "no resume line"
[[ "$(cut -d, -f1-8 "$T/ra/log.csv")" == "$(cut -d, -f1-8 "$T/rb/log.csv")" ]] && ok \
  || bad "resumed log differs: $(cat "$T/ra/log.csv") vs $(cat "$T/rb/log.csv")"
cmp -s "$T/ra/val_predictions.csv" "$T/rb/val_predictions.csv" && ok || bad "resumed predictions differ"
expect_fail 2 "--size differs from 8x16x16 stored in" -- "$BIN" train $R --size 8x16x32 --epochs 4 -o "$T/rb" --resume "$T/rb/last.safetensors"
expect_fail 2 "already completed 3 epochs" -- "$BIN" train $R --epochs 3 -o "$T/rb" --resume "$T/rb/last.safetensors"

# one folder per class, 2D PNGs, cross-entropy with class weights, AdamW, 2-fold
"$BIN" phantom -o "$T/p2" -n 8 --size 64 --seed 5 -q >/dev/null 2>&1 || bad "phantom (2D) failed"
mkdir -p "$T/folders/nerve" "$T/folders/other"
for i in 0000 0001 0002 0003; do cp "$T/p2/images/$i.png" "$T/folders/nerve/$i.png"; done
for i in 0004 0005 0006 0007; do cp "$T/p2/masks/$i.png" "$T/folders/other/$i.png"; done
if "$BIN" train --task classify --data "$T/folders" --size 32 --arch-opt depth=10,width=4 --loss ce --class-weights 1,2 \
     --optimizer adamw --lr 1e-3 --schedule cosine --batch 3 --epochs 1 --kfold 2 --fold 1 -o "$T/run2" --quiet \
     >/dev/null 2>"$T/err2.txt"; then
  ok
else
  bad "2D folder run failed: $(cat "$T/err2.txt")"
fi
grep -q "3 classes\|2 classes" "$T/err2.txt" && ok || bad "no training line: $(cat "$T/err2.txt")"
[[ "$(head -1 "$T/run2/val_predictions.csv")" == "path,patient,label,prob_0,prob_1" ]] && ok || bad "val predictions header"

# options of the other task, and option combinations that do not fit
expect_fail 2 "--labels is a segmentation option" -- "$BIN" train $CLS --labels 1,2 -o "$T/x"
expect_fail 2 "--final-eval is a segmentation option" -- "$BIN" train $CLS --no-final-eval -o "$T/x"
expect_fail 2 "--loss is a classification option" -- "$BIN" train --data "$T/p2" --classes nerve --loss ce -o "$T/x"
expect_fail 2 "--csv is a classification option" -- "$BIN" train --data "$T/p2" --classes nerve --csv a.csv -o "$T/x"
expect_fail 2 "segmentation takes one square size" -- "$BIN" train --data "$T/p2" --classes nerve --size 16x32x32 -o "$T/x"
expect_fail 2 "--task: 'detect' is not segment or classify" -- "$BIN" train --task detect -o "$T/x"
expect_fail 2 "give --csv FILE or --data DIR" -- "$BIN" train --task classify -o "$T/x"
expect_fail 2 "--nesterov is for --optimizer sgd" -- "$BIN" train $CLS --optimizer adam --nesterov -o "$T/x"
expect_fail 2 "--class-weights is for --loss ce" -- "$BIN" train $CLS --class-weights 1,2 -o "$T/x"
expect_fail 2 "--step-size and --lr-gamma are for --schedule step" -- "$BIN" train $CLS --schedule cosine --step-size 3 -o "$T/x"
expect_fail 2 "--fold 2 is not in 0..1" -- "$BIN" train $CLS --kfold 2 --fold 2 -o "$T/x"
expect_fail 2 "'rmsprop' is not one of sgd, adam, adamw" -- "$BIN" train $CLS --optimizer rmsprop -o "$T/x"
expect_fail 2 "'hinge' is not one of bce, ce, focal" -- "$BIN" train $CLS --loss hinge -o "$T/x"
expect_fail 2 "--size: '16x32x' is not N, HxW or DxHxW" -- "$BIN" train $CLS --size 16x32x -o "$T/x"
expect_fail 2 "with --size N or HxW (2D)" -- "$BIN" train $CLS --size 32 --arch-opt spatial_dims=3 -o "$T/x"
expect_fail 2 "no column \"grades\"" -- "$BIN" train --task classify --csv "$T/ph/grades.csv" --image-col volume --label-col grades -o "$T/x"
printf 'image,label\nvolumes/0000.mha,0\nvolumes/0001.mha\n' >"$T/ph/short.csv"
expect_fail 2 "short.csv:3: 1 fields, the header has 2" -- "$BIN" train --task classify --csv "$T/ph/short.csv" -o "$T/x"
printf 'image,label\nvolumes/0000.mha,0\nvolumes/0001.mha,0\n' >"$T/ph/one.csv"
expect_fail 2 "1 class" -- "$BIN" train --task classify --csv "$T/ph/one.csv" --size 8x8x8 -o "$T/x"
printf 'image,label\nvolumes/0000.mha,0\nvolumes/none.mha,1\n' >"$T/ph/gone.csv"
expect_fail 2 "none.mha" -- "$BIN" train --task classify --csv "$T/ph/gone.csv" --size 8x8x8 -o "$T/x"
expect_fail 2 "a 3D volume" -- "$BIN" train --task classify --csv "$T/ph/grades.csv" --image-col volume --label-col grade --size 32 -o "$T/x"
"$BIN" train --help >"$T/help.txt" 2>&1
grep -q -- "--task classify" "$T/help.txt" && grep -q -- "--optimizer" "$T/help.txt" && grep -q "DxHxW" "$T/help.txt" && ok \
  || bad "train --help does not describe classification"
finish
