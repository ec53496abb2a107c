#!/usr/bin/env bash
# Command-line tests: run `lowp` as a user would, on good and broken input, and check exit codes and
# messages. Usage: tests/cli/test_cli.sh path/to/lowp
set -uo pipefail
lowp=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$here/make_fixtures.py" "$work" || { echo "cli: fixture generation failed"; exit 1; }
cd "$work"

passed=0
failed=0
# expect_ok NAME CMD... : exit 0
expect_ok() {
  local name=$1; shift
  if out=$("$@" 2>&1); then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); echo "FAIL $name: exit $? from: $*"; echo "$out" | sed 's/^/    /'
  fi
}
# expect_error NAME PATTERN CMD... : non-zero exit (not a crash) and stderr matching PATTERN
expect_error() {
  local name=$1 pattern=$2; shift 2
  out=$("$@" 2>&1); code=$?
  if [ $code -eq 0 ]; then
    failed=$((failed + 1)); echo "FAIL $name: expected an error, got exit 0"
  elif [ $code -ge 128 ]; then
    failed=$((failed + 1)); echo "FAIL $name: crashed (exit $code)"; echo "$out" | sed 's/^/    /'
  elif ! grep -qE -- "$pattern" <<< "$out"; then
    failed=$((failed + 1)); echo "FAIL $name: message does not match '$pattern':"; echo "$out" | sed 's/^/    /'
  else
    passed=$((passed + 1))
  fi
}

# Good runs.
expect_ok "run with npy input" "$lowp" run --onnx add_relu.onnx --input x=x_2x4.npy --save-outputs out
expect_ok "outputs saved" test -f out/y.npy -a -f out/input_x.npy
expect_ok "saved output is right" /usr/bin/python3 -c "
import numpy as np
x = np.load('out/input_x.npy'); y = np.load('out/y.npy')
assert np.allclose(y, np.maximum(x + (np.arange(4) - 1.5), 0)), y"
expect_ok "run with random input" "$lowp" run --onnx add_relu.onnx --shapes x:3x4 --seed 7
expect_ok "external data" "$lowp" run --onnx external/external_ok.onnx --shapes x:1x4

# Bad models.
expect_error "truncated model" "truncated.onnx: not a valid ONNX model" "$lowp" run --onnx truncated.onnx --shapes x:1x4
expect_error "garbage model" "garbage.onnx: not a valid ONNX model" "$lowp" run --onnx garbage.onnx --shapes x:1x4
expect_error "empty model" "empty.onnx: the file is empty" "$lowp" run --onnx empty.onnx
expect_error "missing model" "File does not exist|no such file" "$lowp" run --onnx nonexistent.onnx
expect_error "unknown op" "unsupported.*FrobnicateRelu 'relu'.*unsupported operator FrobnicateRelu" \
  "$lowp" run --onnx unknown_op.onnx --shapes x:1x4
expect_error "unknown attribute" "Relu 'relu': unsupported attribute 'gain'" \
  "$lowp" run --onnx unknown_attribute.onnx --shapes x:1x4
expect_error "inconsistent shapes" "Add 'add'.*cannot be broadcast" "$lowp" run --onnx inconsistent_shapes.onnx --shapes x:1x4
expect_error "undefined input" "Relu 'relu': input 'nowhere' is not defined" "$lowp" run --onnx undefined_input.onnx --shapes x:1x4
expect_error "external escape" "escapes the model's folder" "$lowp" run --onnx external/external_escape.onnx --shapes x:1x4
expect_error "external past end" "past the end" "$lowp" run --onnx external/external_past_end.onnx --shapes x:1x4

expect_error "huge output" "Expand 'expand': an output of shape 1048576x1048576x1024 needs more memory" \
  "$lowp" run --onnx huge_expand.onnx --shapes x:1

# Bad inputs and options.
expect_error "wrong input shape" "input 'x' has shape 2x5, the model expects \[batchx4\]" \
  "$lowp" run --onnx add_relu.onnx --input x=x_2x5.npy
expect_error "wrong input type" "input 'x' has type fp64, the model expects fp32" \
  "$lowp" run --onnx add_relu.onnx --input x=x_f64.npy
expect_error "missing input shape" "input 'x' has dynamic dimension 'batch'" "$lowp" run --onnx add_relu.onnx
expect_error "unknown input name" "--input names 'z'" "$lowp" run --onnx add_relu.onnx --input z=x_2x4.npy --shapes x:1x4
expect_error "corrupt npy" "corrupt.npy" "$lowp" run --onnx add_relu.onnx --input x=corrupt.npy
expect_error "bad shapes option" "--shapes 'x:1xfour'" "$lowp" run --onnx add_relu.onnx --shapes x:1xfour
expect_error "unknown option" "--frobnicate" "$lowp" run --onnx add_relu.onnx --frobnicate
expect_error "no subcommand" "subcommand" "$lowp"

# Engine files: a built engine runs without its model and gives the model's outputs; bad files are refused.
expect_ok "build engine" "$lowp" build --onnx add_relu.onnx --shapes x:2x4 --saveEngine good.engine
expect_ok "run engine" "$lowp" run --engine good.engine --input x=x_2x4.npy --save-outputs out_engine
expect_ok "engine output is the model's" /usr/bin/python3 -c "
import numpy as np
assert np.array_equal(np.load('out_engine/y.npy'), np.load('out/y.npy'))"
head -c 100 good.engine > truncated.engine
: > empty.engine
/usr/bin/python3 - <<'PY'
import struct
good = bytearray(open('good.engine', 'rb').read())
corrupt = bytearray(good)
corrupt[len(corrupt) // 2] ^= 0x40
open('corrupt.engine', 'wb').write(corrupt)
other = bytearray(good)
other[8:12] = struct.pack('<I', 2)
open('format2.engine', 'wb').write(other)
# Another device: change the fingerprint and store a checksum that fits, so only the fingerprint differs.
header = 16  # magic, format version, FlatBuffer size
root = header + struct.unpack_from("<I", good, header)[0]
vtable = root - struct.unpack_from('<i', good, root)[0]
field = lambda i: struct.unpack_from('<H', good, vtable + 4 + 2 * i)[0]
fp = root + field(1)
fp += struct.unpack_from('<I', good, fp)[0]
at = good.index(b'cpu=', fp)
good[at:at + 4] = b'CPU='
checksum = root + field(2)
good[checksum:checksum + 4] = bytes(4)
crc = 0xffffffff  # CRC-32C, bit by bit
for b in good:
    crc ^= b
    for _ in range(8):
        crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
good[checksum:checksum + 4] = struct.pack('<I', crc ^ 0xffffffff)
open('other_device.engine', 'wb').write(good)
PY
expect_error "engine: not an engine" "add_relu.onnx: not a lowp engine file" "$lowp" run --engine add_relu.onnx --shapes x:1x4
expect_error "engine: empty" "empty.engine: not a lowp engine file" "$lowp" run --engine empty.engine --shapes x:1x4
expect_error "engine: truncated" "truncated.engine: truncated" "$lowp" run --engine truncated.engine --shapes x:1x4
expect_error "engine: corrupt" "corrupt.engine: corrupt" "$lowp" run --engine corrupt.engine --shapes x:1x4
expect_error "engine: other format" "format2.engine: made by lowp [0-9.]+, format 2; this lowp \([0-9.]+\) reads format 1 — rebuild the engine" \
  "$lowp" run --engine format2.engine --shapes x:1x4
expect_error "engine: other device" "other_device.engine: built for another device.*\"CPU=.*this is \"cpu=" \
  "$lowp" run --engine other_device.engine --shapes x:1x4
expect_error "engine: missing" "File does not exist|no such file" "$lowp" run --engine nonexistent.engine
expect_error "engine and model" "excludes" "$lowp" run --engine good.engine --onnx add_relu.onnx
expect_error "neither engine nor model" "give the model with --onnx FILE or an engine file with --engine FILE" "$lowp" run

# Building: flags allow precisions, constraints bind by strength, bad options are refused.
expect_ok "build with fp16 and bf16 allowed" "$lowp" build --onnx add_relu.onnx --fp16 --bf16 --shapes=x:2x4 --dumpLayerInfo
expect_ok "layer report names every layer" bash -c "'$lowp' build --onnx add_relu.onnx --best --shapes=x:2x4 --dumpLayerInfo | grep -q 'total measured layer time'"
expect_error "obey without an implementation" "layer 'dql' \(DynamicQuantizeLinear\): precision fp16 is obeyed, but no fp16 implementation" \
  "$lowp" build --onnx dynamic_quantize.onnx --fp16 --precisionConstraints=obey --layerPrecisions=dql:fp16
expect_ok "prefer without an implementation builds" "$lowp" build --onnx dynamic_quantize.onnx --fp16 \
  --precisionConstraints=prefer --layerPrecisions=dql:fp16
expect_ok "prefer warns" bash -c "'$lowp' build --onnx dynamic_quantize.onnx --fp16 --precisionConstraints=prefer \
  --layerPrecisions=dql:fp16 2>&1 | grep -q \"layer 'dql': precision fp16 preferred\""
expect_error "unknown layer in --layerPrecisions" "no layer named 'conv9'" \
  "$lowp" build --onnx add_relu.onnx --layerPrecisions=conv9:fp16
expect_error "bad type in --layerPrecisions" "'int3' is not fp32, fp16, bf16 or int8" \
  "$lowp" build --onnx add_relu.onnx --layerPrecisions=relu:int3
expect_error "bad --precisionConstraints" "--precisionConstraints must be none, prefer or obey" \
  "$lowp" build --onnx add_relu.onnx --precisionConstraints=always
expect_error "bad --shapes for build" "does not fit its shape" "$lowp" build --onnx add_relu.onnx --shapes=x:2x5
expect_error "strongly typed with a flag" "strongly typed" "$lowp" build --onnx add_relu.onnx --stronglyTyped --fp16
expect_error "bad optimization level" "optimization level 9 is not in 0..5" \
  "$lowp" build --onnx add_relu.onnx --builderOptimizationLevel=9
expect_error "build of a corrupt model" "truncated.onnx: not a valid ONNX model" "$lowp" build --onnx truncated.onnx

# INT8: calibration data -> calibration cache (TensorRT's format) and a QDQ model; engines built from the cache.
expect_ok "calibrate" "$lowp" calibrate --onnx conv_net.onnx --calibData calib --calib conv.cache \
  --export-qdq conv_qdq.onnx
expect_ok "cache is TensorRT's format" bash -c "head -1 conv.cache | grep -q '^TRT-[0-9]*-EntropyCalibration2$' &&
  grep -qE '^x: [0-9a-f]{8}$' conv.cache"
expect_ok "QDQ export runs" "$lowp" run --onnx conv_qdq.onnx --shapes x:2x3x8x8
expect_ok "QDQ export has Q/DQ" /usr/bin/python3 -c "
import onnx; m = onnx.load('conv_qdq.onnx'); ops = [n.op_type for n in m.graph.node]
assert ops.count('QuantizeLinear') >= 2 and ops.count('DequantizeLinear') >= 3, ops"
expect_ok "int8 build from the cache" bash -c "'$lowp' build --onnx conv_net.onnx --int8 --calib conv.cache \
  --layerPrecisions=conv:int8,fc:int8 --precisionConstraints=obey --dumpLayerInfo | grep -E '^conv .*QuantizedConv.* int8 '"
expect_ok "int8 engine saved and run" bash -c "'$lowp' build --onnx conv_net.onnx --int8 --calib conv.cache \
  --saveEngine int8.engine && '$lowp' run --engine int8.engine --shapes x:2x3x8x8"
expect_ok "int8 without scales warns" bash -c "'$lowp' build --onnx conv_net.onnx --int8 2>&1 | grep -q 'accuracy is meaningless'"
expect_error "calibrate needs data" "--calibData is required" "$lowp" calibrate --onnx conv_net.onnx --calib c.cache
expect_error "bad --calibAlgo" "--calibAlgo: 'kl' is not entropy, minmax, percentile or mse" \
  "$lowp" calibrate --onnx conv_net.onnx --calibData calib --calib c.cache --calibAlgo kl
expect_error "bad --calibPercentile" "--calibPercentile: 0.0* is not in \(0, 100\]" \
  "$lowp" calibrate --onnx conv_net.onnx --calibData calib --calib c.cache --calibAlgo percentile --calibPercentile 0
expect_error "missing --calibData folder" "--calibData.*nowhere" \
  "$lowp" build --onnx conv_net.onnx --int8 --calibData nowhere
expect_error "calibration data of the wrong shape" "batch_0.npy" \
  "$lowp" calibrate --onnx add_relu.onnx --calibData calib --calib c.cache
expect_error "corrupt calibration cache" "corrupt.cache:2" "$lowp" build --onnx conv_net.onnx --int8 --calib corrupt.cache
printf '# ranges\nx: 3\nr: 0 6\n\np: 6\n' > ranges.txt
expect_ok "int8 from a dynamic-range file" bash -c "'$lowp' build --onnx conv_net.onnx --int8 --dynamicRanges ranges.txt \
  --layerPrecisions=conv:int8 --precisionConstraints=obey --dumpLayerInfo 2>&1 | grep -v meaningless | grep -q QuantizedConv"
printf 'x: 3\nnope: 1 2\n' > bad_ranges.txt
expect_error "dynamic-range file naming an unknown tensor" "bad_ranges.txt:2: .*no tensor 'nope'" \
  "$lowp" build --onnx conv_net.onnx --int8 --dynamicRanges bad_ranges.txt
expect_error "bad --int8WeightScales" "--int8WeightScales: 'per-row'" \
  "$lowp" build --onnx conv_net.onnx --int8 --int8WeightScales per-row

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
