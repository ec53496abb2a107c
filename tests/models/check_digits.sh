#!/usr/bin/env bash
# The trained digits classifier (models/digits) through lowp: FP32 top-1 on the held-back test split, then
# INT8 engines calibrated on the training split (entropy and min-max; per-channel and per-tensor weight
# scales), against FP32.
# Usage: tests/models/check_digits.sh path/to/lowp WORK_DIR
set -euo pipefail
lowp=$(realpath "$1")
work=$2
digits=$(cd "$(dirname "$0")/../../models/digits" && pwd)
check=(/usr/bin/python3 "$digits/check_accuracy.py")
rm -rf "$work" && mkdir -p "$work"

"$lowp" run --onnx "$digits/digits.onnx" --input input="$digits/test_images.npy" --save-outputs "$work/fp32" >/dev/null
echo "fp32:"
"${check[@]}" "$work/fp32" --min-accuracy 0.98

# Entropy calibration (the default) and min-max, every layer that has an INT8 form in INT8 (preferred, so
# the others fall back to fp32 whatever the timings say): within half a point of FP32 with per-channel
# weight scales; per-tensor weight scales reported beside.
for algo in entropy minmax; do
  for weights in per-channel per-tensor; do
    engine=$work/int8_${algo}_$weights
    "$lowp" build --onnx "$digits/digits.onnx" --int8 --calibData "$digits/calibration" --calibAlgo "$algo" \
      --int8WeightScales "$weights" --shapes input:32x1x20x20 --layerPrecisions='*:int8' \
      --precisionConstraints=prefer --saveEngine "$engine.engine" --dumpLayerInfo 2>/dev/null |
      grep -c 'Quantized.* int8 ' | sed 's/^/int8 layers: /'
    "$lowp" run --engine "$engine.engine" --input input="$digits/test_images.npy" --save-outputs "$engine" >/dev/null
    echo "int8, $algo calibration, $weights weight scales:"
    if [ "$weights" = per-channel ]; then
      "${check[@]}" "$engine" --reference "$work/fp32" --max-drop 0.005
    else
      "${check[@]}" "$engine" --reference "$work/fp32"
    fi
  done
done
