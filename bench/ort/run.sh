#!/usr/bin/env bash
# ONNX Runtime column of bench/run.sh: inference of dolor's U-Net (exported from its PyTorch twin)
# in onnxruntime-node, CPU execution provider, OMP_NUM_THREADS (or 2) intra-op threads.
# Usage: bench/ort/run.sh [ITERS (30)]
# Environment: DOLOR_ORT_MODEL=FILE.onnx times that model instead of bench/ort/unet.onnx (which is
# exported here when missing or older than tools/export_onnx.py).
# Prints one "inference [1,1,256,256]  median ... ms   min ... ms   (N runs)" line. When node, npm,
# the npm package or PyTorch is unavailable it says why and exits 0 (the column is then absent).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ITERS=${1:-30}
PY=${PYTHON:-/usr/bin/python3}

skip() { echo "ONNX Runtime column skipped: $*"; exit 0; }

command -v node >/dev/null 2>&1 || skip "node not found (Debian: apt-get install nodejs npm)"
if [[ ! -f "$HERE/node_modules/onnxruntime-node/package.json" ]]; then
  command -v npm >/dev/null 2>&1 || skip "npm not found (Debian: apt-get install npm)"
  echo "installing onnxruntime-node into $HERE/node_modules (about 300 MB) ..." >&2
  # The post-install step would try to download GPU libraries; the CPU binaries ship in the package.
  if ! (cd "$HERE" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund >&2); then
    skip "'npm install' failed in $HERE (no registry access?); see bench/ort/README.md"
  fi
fi

MODEL=${DOLOR_ORT_MODEL:-$HERE/unet.onnx}
if [[ -z "${DOLOR_ORT_MODEL:-}" ]] && [[ ! -s "$MODEL" || "$ROOT/tools/export_onnx.py" -nt "$MODEL" ]]; then
  "$PY" -c 'import torch' 2>/dev/null || skip "$PY cannot import torch (Debian: apt-get install python3-torch), needed to export $MODEL"
  echo "exporting the U-Net to $MODEL ..." >&2
  "$PY" "$ROOT/tools/export_onnx.py" -o "$MODEL" >&2
fi
[[ -s "$MODEL" ]] || { echo "ONNX Runtime: model $MODEL not found" >&2; exit 1; }

exec node "$HERE/bench.js" "$MODEL" "$ITERS"
