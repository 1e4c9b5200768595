#!/usr/bin/env bash
# Encode the tracked 2D ultrasound sequence (PlusToolkit BoneUltrasound_L14.igs.mha, 21 frames 820x616) as an
# H.264 MP4 at 256x256, 30 frames/s, repeated 20 times (420 frames, 14 s): the streaming input of docs/video.md.
#   scripts/us-video.sh [OUT.mp4]      (DOLOR_DATA and DOLOR_BIN as for the tests; defaults ../shared/data, build/dolor)
set -euo pipefail
data=${DOLOR_DATA:-../shared/data}
bin=${DOLOR_BIN:-build/dolor}
out=${1:-us256.mp4}
"$bin" stream "$data/us3d-phantom/BoneUltrasound_L14.igs.mha" --size 256x256 --fps 30 --repeat 20 -o "$out" -q
echo "wrote $out"
