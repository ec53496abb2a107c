#!/usr/bin/env bash
# Runs the GPU bundle of scripts/gpu-bundle.sh on a machine with an NVIDIA GPU: every CUDA kernel against the
# CPU reference (lowp_gpu_tests; a missing GPU fails), then the device's measured ceilings
# (lowp_gpu_ceilings: fp16 / bf16 GEMM TFLOP/s, copy GB/s). Exits non-zero if either fails.
# Usage: scripts/run-gpu-tests.sh [BUNDLE_DIR] [gtest arguments...]   (BUNDLE_DIR defaults to build-gpu)
set -uo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-gpu}
shift || true
# The bundle's own libraries first; cuBLASLt and cuDNN from the CUDA toolkit or the system.
export LD_LIBRARY_PATH="$PWD/$dir/lib:/usr/local/cuda/lib64:/usr/local/cuda/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
status=0
echo "== lowp_gpu_tests"
LOWP_REQUIRE_GPU=1 "$dir/bin/lowp_gpu_tests" "$@" || status=1
echo "== lowp_gpu_ceilings"
"$dir/bin/lowp_gpu_ceilings" || status=1
exit $status
