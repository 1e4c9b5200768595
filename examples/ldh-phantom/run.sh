#!/usr/bin/env bash
# End to end on the axial-disc phantom (docs/ldh.md "End to end on the phantom"): train a YOLOv8-seg (disc) and a
# YOLOv8-pose (disc, 9 keypoints) model on phantom slices, predict on held-out slices of another seed, grade the
# PREDICTED polygons and keypoints with dolor ldh and compare with the phantom's truth.csv (accuracy, kappa, CI).
#
#   examples/ldh-phantom/run.sh [OUT]          # the documented run (sizes below; hours on 2 busy cores)
#   QUICK=1 examples/ldh-phantom/run.sh [OUT]  # a smoke run: few slices, few epochs (minutes; numbers meaningless)
#
# Every size is a variable: NTRAIN=360 SIZE=512 EPOCHS2_SEG=40 EPOCHS2_POSE=40 examples/ldh-phantom/run.sh /tmp/ldh
set -euo pipefail
OUT=${1:-/tmp/dolor-ldh-phantom}
DOLOR=${DOLOR:-$(cd "$(dirname "$0")/../.." && pwd)/build/dolor}
if [[ -n ${QUICK:-} ]]; then
  : "${NTRAIN:=36}" "${NTEST:=18}" "${EPOCHS1:=2}" "${EPOCHS2_SEG:=0}" "${EPOCHS2_POSE:=0}" "${BATCH:=4}"
fi
NTRAIN=${NTRAIN:-180}          # training slices (18 MSU types x 10); 10 % of them validate (best.safetensors)
NTEST=${NTEST:-90}             # held-out slices (18 x 5), another seed
SIZE=${SIZE:-256}              # network input (the 512 x 512 slices are letterboxed to SIZE)
SCALE=${SCALE:-n}              # YOLOv8 scale
BATCH=${BATCH:-8}
# two stages, as in the documented run: a short first run (check that log.csv moves), then each model continued
# from its best checkpoint (--init) for more epochs (0: no second stage)
EPOCHS1=${EPOCHS1:-5}
EPOCHS2_SEG=${EPOCHS2_SEG:-9}
EPOCHS2_POSE=${EPOCHS2_POSE:-14}
MOSAIC=${MOSAIC:-0}            # short schedules: no mosaic (the held-out slices are plain); zoom/translate/HSV stay
TIME_LIMIT2_SEG=${TIME_LIMIT2_SEG:-13} TIME_LIMIT2_POSE=${TIME_LIMIT2_POSE:-15}  # minutes (empty: none)
THREADS=${THREADS:-}           # CPU threads per model, empty: all cores
SEED_TRAIN=${SEED_TRAIN:-11} SEED_TEST=${SEED_TEST:-99}
export OMP_WAIT_POLICY=passive
run() { echo "+ $*" >&2; nice "$@"; }
common=(--classes disc --size "$SIZE" --scale "$SCALE" --batch "$BATCH" --warmup 1 --mosaic "$MOSAIC"
        --close-mosaic 0 --val-fraction 0.1 -q)
[[ -n $THREADS ]] && common+=(-t "$THREADS")
seg=(--yolo-labels "$OUT/train/labels/segment" --head segment)
pose=(--yolo-labels "$OUT/train/labels/pose" --head pose --keypoints 9 --kdim 3)
mkdir -p "$OUT"
SECONDS=0
run "$DOLOR" phantom --kind axial-disc -o "$OUT/train" -n "$NTRAIN" --seed "$SEED_TRAIN" -q
run "$DOLOR" phantom --kind axial-disc -o "$OUT/test" -n "$NTEST" --seed "$SEED_TEST" -q
# the two models (left-right flip stays off: side matters); in parallel, each on its share of the cores
T=(detect train --images "$OUT/train/images")
run "$DOLOR" "${T[@]}" "${seg[@]}" "${common[@]}" --epochs "$EPOCHS1" -o "$OUT/seg1" &
run "$DOLOR" "${T[@]}" "${pose[@]}" "${common[@]}" --epochs "$EPOCHS1" -o "$OUT/pose1" &
wait %1 && wait %2
ln -sfn seg1 "$OUT/seg" && ln -sfn pose1 "$OUT/pose"
if (( EPOCHS2_SEG > 0 )); then
  run "$DOLOR" "${T[@]}" "${seg[@]}" "${common[@]}" --epochs "$EPOCHS2_SEG" --init "$OUT/seg1/best.safetensors" \
    ${TIME_LIMIT2_SEG:+--time-limit "$TIME_LIMIT2_SEG"} -o "$OUT/seg2" && ln -sfn seg2 "$OUT/seg" &
fi
if (( EPOCHS2_POSE > 0 )); then
  run "$DOLOR" "${T[@]}" "${pose[@]}" "${common[@]}" --epochs "$EPOCHS2_POSE" --init "$OUT/pose1/best.safetensors" \
    ${TIME_LIMIT2_POSE:+--time-limit "$TIME_LIMIT2_POSE"} -o "$OUT/pose2" && ln -sfn pose2 "$OUT/pose" &
fi
wait
echo "training: ${SECONDS} s" >&2
# held-out metrics of each head (mask mAP; keypoint error in px and mm)
run "$DOLOR" detect eval --model "$OUT/seg/best.safetensors" --images "$OUT/test/images" \
  --yolo-labels "$OUT/test/labels/segment" --classes disc --head segment -o "$OUT/seg_eval.csv"
run "$DOLOR" detect eval --model "$OUT/pose/best.safetensors" --images "$OUT/test/images" \
  --yolo-labels "$OUT/test/labels/pose" --classes disc --head pose --keypoints 9 --kdim 3 -o "$OUT/pose_eval.csv"
# predictions on the held-out slices: dolor ldh grades the first (highest-score) object of each, so --max-det 1
# (it also saves the mask assembly of the other detections: minutes on 90 slices)
run "$DOLOR" detect predict --model "$OUT/seg/best.safetensors" "$OUT/test/images" -o "$OUT/pred_seg" --max-det 1 -q
run "$DOLOR" detect predict --model "$OUT/pose/best.safetensors" "$OUT/test/images" -o "$OUT/pred_pose" --max-det 1 -q
# grading from the predicted polygons and keypoints; a slice without a prediction is a 'failed' row (wrong)
run "$DOLOR" ldh --segment "$OUT/pred_seg/labels" --images "$OUT/test/images" --pose "$OUT/pred_pose/labels" \
  --truth "$OUT/test/truth.csv" -o "$OUT/graded.csv" --agreement "$OUT/agreement.csv" | tee "$OUT/agreement.txt"
# the same slices from the true masks and keypoints: exact
run "$DOLOR" ldh --masks "$OUT/test/masks" --pose "$OUT/test/labels/pose" --truth "$OUT/test/truth.csv" \
  -o "$OUT/graded_truth.csv" | grep accuracy
echo "total: ${SECONDS} s" >&2
