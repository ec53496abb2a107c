#!/usr/bin/env bash
# The demo: runs the bundled default model on the CPU reference runtime and prints its output summary.
# Usage: scripts/demo.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
model=models/demo/mobilenet_v2_tiny.onnx
echo "lowp demo: $model (batch 1, random input, seed 1)"
"$build_dir/lowp" run --onnx "$model" --shapes input:1x3x224x224 --seed 1 --save-outputs "$build_dir/demo-outputs"
echo "lowp demo: outputs written to $build_dir/demo-outputs"
