#!/usr/bin/env bash
# MPI (Open MPI's mpirun; skipped when it is not installed): `mpirun -np 2 dolor study run` spreads the (model,
# fold) jobs over the ranks and gives the same tables, byte for byte, as one process (segmentation with a second
# annotator, and classification); `mpirun -np 2 dolor train` trains data-parallel: it finishes, rank 0 alone
# writes the log and checkpoints, and the log has every epoch. One OpenMP thread per process in both runs (dolor's
# results are bit-identical for a given thread count).
set -u
. "$(dirname "$0")/lib.sh" study_mpi

if ! command -v mpirun > /dev/null; then
  echo "SKIP: mpirun not installed (scripts/install-deps.sh installs openmpi-bin)" >&2
  echo "0 passed, 0 failed, 1 skipped"
  exit 77
fi
export OMP_NUM_THREADS=1
MPI=(mpirun -np 2 --oversubscribe --allow-run-as-root -x OMP_NUM_THREADS)
if [[ "${DOLOR_ASAN:-0}" == 1 ]]; then
  # Open MPI's own plugins leave allocations at exit that LeakSanitizer reports (frames in "<unknown module>");
  # the ranks run without leak checks, address and UB checks stay on; the one-process runs below keep leak checks
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
  MPI+=(-x ASAN_OPTIONS)
  ONE=(env ASAN_OPTIONS=detect_leaks=1)
else
  ONE=()
fi

"$BIN" phantom -o "$T/ph" -n 8 --size 64 --seed 3 > /dev/null 2>&1 || bad "phantom failed"
mkdir -p "$T/ph/masks2"
files=($(ls "$T/ph/masks" | sort))
for ((i = 0; i < ${#files[@]}; i++)); do
  j=$i; ((i % 3 == 0)) && j=$(((i + 1) % ${#files[@]}))
  cp "$T/ph/masks/${files[$j]}" "$T/ph/masks2/${files[$i]}"
done
cat > "$T/seg.yaml" <<EOF2
study: {name: mpi-seg, task: segmentation}
dataset: {images: ph/images, masks: ph/masks, masks2: ph/masks2, classes: [nerve, vessel]}
split: {method: kfold, folds: 3, val_share: 0.25, seed: 7}
models:
  - {name: unet8, base: 8, depth: 2, size: 32, epochs: 2, batch: 2}
  - {name: unet8b, base: 8, depth: 2, upsample: bilinear, size: 32, epochs: 2, batch: 2}
run: {quiet: true}
EOF2
"$BIN" phantom --kind multifidus3d -o "$T/mf" -n 16 --width 64 --height 64 --slices 16 --seed 5 > /dev/null 2>&1 ||
  bad "phantom failed"
cat > "$T/cls.yaml" <<EOF2
study: {name: mpi-cls, task: classification}
dataset: {csv: mf/grades.csv, image_column: volume, label_column: grade, roi_column: roi}
split: {method: kfold, folds: 2, val_share: 0.25, seed: 3}
models:
  - {name: rf, arch: forest, trees: 50, levels: [8], distances: [1]}
  - {name: r10, arch: resnet, depth: 10, base: 4, shape: [16, 32, 32], epochs: 2, batch: 4, warmup: 0}
run: {quiet: true}
EOF2
for k in seg cls; do
  "${ONE[@]}" "$BIN" study run "$T/$k.yaml" -o "$T/${k}1" > "$T/${k}1.log" 2>&1 && ok || bad "$k: one process failed: $(tail -3 "$T/${k}1.log")"
  "${MPI[@]}" "$BIN" study run "$T/$k.yaml" -o "$T/${k}2" > "$T/${k}2.log" 2>&1 && ok ||
    bad "$k: mpirun -np 2 failed: $(tail -5 "$T/${k}2.log")"
  [[ $(grep -c "^study mpi-$k done" "$T/${k}2.log") -eq 1 ]] && ok || bad "$k: not one 'done' line (rank 0 only)"
  if [[ $k == seg ]]; then
    tabs="splits.csv per_case.csv per_fold.csv class_summary.csv anova.csv bonferroni.csv areas.csv icc.csv overlays/index.csv"
  else
    tabs="splits.csv per_case.csv per_fold.csv cls_summary.csv delong.csv roc.csv"
  fi
  for f in $tabs report.html; do
    cmp -s "$T/${k}1/$f" "$T/${k}2/$f" && ok || bad "$k: $f differs between one process and mpirun -np 2"
  done
done
# the jobs really were spread: each rank printed its own job lines
n=$(grep -c "^study: job" "$T/seg2.log")
[[ $n -eq 6 ]] && ok || bad "seg: $n job lines under mpirun (want 6)"

# ---- data-parallel training ----
A=(train --data "$T/ph" --size 32 --base 8 --depth 2 --epochs 2 --batch 4 --seed 5 --quiet --classes nerve,vessel --labels 1,2)
"${MPI[@]}" "$BIN" "${A[@]}" -o "$T/dp" > "$T/dp.log" 2>&1 && ok || bad "data-parallel train failed: $(tail -5 "$T/dp.log")"
grep -q "data-parallel on 2 ranks, 2 cases of each batch per rank" "$T/dp.log" && ok || bad "no data-parallel line"
[[ $(($(wc -l < "$T/dp/log.csv") - 1)) -eq 2 && -s "$T/dp/best.safetensors" && -s "$T/dp/last.safetensors" ]] && ok ||
  bad "data-parallel run: log or checkpoints missing"
[[ $(grep -c "^epoch 2/2" "$T/dp.log") -eq 1 ]] && ok || bad "epoch lines not from rank 0 alone"
expect_fail 2 "batch 3 is not divisible by the 2 data-parallel ranks" -- "${MPI[@]}" "$BIN" "${A[@]}" --batch 3 -o "$T/dp3"
finish
