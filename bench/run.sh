#!/usr/bin/env bash
# make bench: time dolor's U-Net against PyTorch (and ONNX Runtime when installed) on this machine,
# in one run, and report the ratios. Usage: bench/run.sh [BUILD_DIR]
# Needs: python3-torch (Debian) for the PyTorch column; bench/ort/ set up (bench/ort/README) for ONNX Runtime.
set -euo pipefail
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
TRAIN_IT=${BENCH_TRAIN_ITERS:-10}
INFER_IT=${BENCH_INFER_ITERS:-30}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== dolor (oneDNN), $OMP_NUM_THREADS threads"
"$BUILD/bench/bench_nn" "$TRAIN_IT" "$INFER_IT" | tee "$out/dolor.txt"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "== PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'), $OMP_NUM_THREADS threads"
  /usr/bin/python3 "$HERE/bench_torch_unet.py" "$TRAIN_IT" "$INFER_IT" | tee "$out/torch.txt"
fi
if [[ -x "$HERE/ort/run.sh" ]]; then
  echo "== ONNX Runtime"
  "$HERE/ort/run.sh" "$INFER_IT" | tee "$out/ort.txt" || echo "(ONNX Runtime run failed)"
fi
# ratio table: other / dolor on the median, per line label
echo "== ratios (median time of the reference / median time of dolor; > 1 means dolor is faster)"
for ref in torch ort; do
  [[ -s "$out/$ref.txt" ]] || continue
  awk -v ref="$ref" '
    function median(   i) { for (i = 1; i < NF; i++) if ($i == "median") return $(i + 1); return 0 }
    FNR == NR { if ($0 ~ /median/) { key = $0; sub(/ +median.*/, "", key); d[key] = median() } next }
    $0 ~ /median/ { key = $0; sub(/ +median.*/, "", key); if ((key in d) && d[key] > 0) printf "%-40s %s/dolor = %.2f\n", key, ref, median() / d[key] }
  ' "$out/dolor.txt" "$out/$ref.txt"
done
