#!/usr/bin/env bash
# The demo: the bundled models built in FP32, FP16, BF16, INT8 and --best, one table per model (latency,
# throughput, speedup over FP32, error against FP32, top-1 accuracy on the digits' held-back test split,
# precision mix), then why FP16 gives no speedup on this machine, and one HTML report of it all.
# Usage: scripts/demo.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
lowp=$build_dir/lowp
out=$build_dir/demo
rm -rf "$out" && mkdir -p "$out"
start=$SECONDS

digits=models/digits
echo "== The digits classifier (models/digits): 1000 held-back test images in batches of 100."
echo "   INT8 scales: entropy calibration on 256 training images."
"$lowp" precisions --onnx "$digits/digits.onnx" --calibData "$digits/calibration" \
  --loadInputs "input:$digits/test_images.npy" --labels "$digits/test_labels.npy" --batch 100 \
  --exportJson "$out/digits.json"

model=models/demo/mobilenet_v2_tiny.onnx
echo
echo "== MobileNetV2 at 224x224 ($model, random weights), batch 1, random inputs."
"$lowp" precisions --onnx "$model" --shapes input:1x3x224x224 --exportJson "$out/mobilenet.json"

echo
echo "== Why FP16 gives no speedup here (lowp explain --fp16, MobileNetV2, batch 1)."
"$lowp" explain --onnx "$model" --fp16 --shapes input:1x3x224x224 --batches 1 --exportJson "$out/explain.json"

echo
"$lowp" report "$out/digits.json" "$out/mobilenet.json" "$out/explain.json" --title "lowp demo" \
  --output "$out/report.html"
echo "lowp demo: done in $((SECONDS - start)) s; open $out/report.html in a browser"
