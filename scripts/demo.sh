#!/usr/bin/env bash
# make demo: synthetic nerve-block ultrasound -> train a small U-Net -> evaluate on unseen images -> overlays.
# Usage: scripts/demo.sh [path/to/dolor]   (DEMO_OUT=folder, DEMO_MINUTES=training minutes)
set -euo pipefail
DOLOR=${1:-build/dolor}
OUT=${DEMO_OUT:-demo-out}
MIN=${DEMO_MINUTES:-4}
rm -rf "$OUT"
mkdir -p "$OUT"
echo "== 1/4 synthetic B-mode nerve-block images (dolor phantom)"
"$DOLOR" phantom -o "$OUT/train-set" -n 160 --size 128 --seed 1
"$DOLOR" phantom -o "$OUT/test-set" -n 24 --size 128 --seed 2
echo "== 2/4 training a small U-Net for up to $MIN minutes (dolor train)"
"$DOLOR" train --data "$OUT/train-set" --classes nerve,vessel --labels 1,2 -o "$OUT/run" \
  --size 128 --base 16 --depth 3 --batch 8 --epochs 30 --lr 2e-3 --time-limit "$MIN" --seed 7
echo "== 3/4 predicting unseen test images with overlays (dolor predict)"
"$DOLOR" predict --model "$OUT/run/best.safetensors" "$OUT/test-set/images" -o "$OUT/pred" --overlay | tail -n 2
echo "== 4/4 evaluating against the test masks (dolor eval)"
"$DOLOR" eval --pred "$OUT/pred" --truth "$OUT/test-set/masks" --classes nerve,vessel --labels 1,2 -o "$OUT/eval"
cat <<MSG

Demo finished. Outputs:
  $OUT/run/log.csv                 per-epoch loss, validation Dice per class, learning rate, seconds
  $OUT/run/best.safetensors        the trained model (loads in PyTorch with safetensors)
  $OUT/pred/overlays/*.png         test images with the nerve (orange) and vessel (sky blue) classes drawn in,
                                   a legend naming each class in its colour, and the case ID
  $OUT/eval/summary.csv            Dice, IoU, precision, recall, specificity per class on the unseen test set
MSG
