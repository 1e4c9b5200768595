#!/usr/bin/env bash
# make bench: the network speed table of issue 8 (bench/bench_table.py): dolor, PyTorch and ONNX
# Runtime on the same networks and threads in one run, with ms, images/s, GFLOP/s, the fraction of
# the peak measured in the same run (bench/bench_peak.c) and dolor's time / each engine's; the
# table is also written as CSV to bench/results/nn_speed.csv, and where dolor misses the target an
# ONEDNN_VERBOSE profile to bench/results/nn_profile.txt.
# Usage: bench/run.sh [BUILD_DIR (build)] [bench_table.py options, e.g. --rows resnet18,unet32 --csv FILE]
# Environment: OMP_NUM_THREADS (2), BENCH_INFER_ITERS (20), BENCH_TRAIN_ITERS (5), BENCH_MAX_SECONDS
# (10 per engine and row), BENCH_ROWS, BENCH_PROFILE (1). About 10 minutes on 2 idle cores.
# Needs python3-torch (Debian) for the PyTorch column and the FLOP counts; bench/ort/ (README) for
# ONNX Runtime. The base-16 U-Net detail (phase times) is still bench_nn / bench_torch_unet.py.
set -euo pipefail
BUILD=${1:-build}
shift || true
HERE=$(cd "$(dirname "$0")" && pwd)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
cmake --build "$BUILD" --target bench_arch bench_peak -j "${JOBS:-2}" >/dev/null
exec /usr/bin/python3 "$HERE/bench_table.py" --build "$BUILD" "$@"
