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
# The GPU as a target: refused where there is none (or no CUDA backend), bad spellings named.
if ! command -v nvidia-smi > /dev/null || ! nvidia-smi > /dev/null 2>&1; then
  expect_error "build: no GPU" "add_relu.onnx: building for the CUDA device, but (the CUDA runtime finds no GPU|this build of lowp has no CUDA backend)" \
    "$lowp" build --onnx add_relu.onnx --shapes x:2x4 --device cuda
  expect_error "run: no GPU" "add_relu.onnx: .*(finds no GPU|no CUDA backend)" "$lowp" run --onnx add_relu.onnx --shapes x:2x4 --device cuda:0
  expect_error "explain: no GPU" "lowp explain: error: .*(finds no GPU|no CUDA backend)" \
    "$lowp" explain --onnx add_relu.onnx --shapes x:2x4 --fp16 --device cuda
fi
expect_error "build: bad device" "--device must be cpu, cuda, cuda:N or N \(a GPU number\), not 'gpu'" \
  "$lowp" build --onnx add_relu.onnx --shapes x:2x4 --device gpu
expect_error "engine and model" "excludes" "$lowp" run --engine good.engine --onnx add_relu.onnx
expect_error "neither engine nor model" "give the model with --onnx FILE or an engine file with --engine FILE" "$lowp" run
expect_error "conformance: bad --filter" "--filter .\(\?i\)add. is not a regular expression" "$lowp" conformance . --filter "(?i)add"
expect_error "conformance: bad --device" "--device must be cpu, cuda, cuda:N or N \(a GPU number\), not .gpu." "$lowp" conformance . --device gpu

# Building: flags allow precisions, constraints bind by strength, bad options are refused.
expect_ok "build with fp16 and bf16 allowed" "$lowp" build --onnx add_relu.onnx --fp16 --bf16 --shapes=x:2x4 --dumpLayerInfo
expect_ok "build with --exactActivations (no approximating tactic on the CPU either way)" bash -c "'$lowp' build \
  --onnx add_relu.onnx --fp16 --exactActivations --shapes=x:2x4 --dumpLayerInfo | grep -q 'total measured layer time'"
expect_ok "layer report names every layer" bash -c "'$lowp' build --onnx add_relu.onnx --best --shapes=x:2x4 --dumpLayerInfo | grep -q 'total measured layer time'"
expect_error "obey without an implementation" "layer 'dql' \(DynamicQuantizeLinear\): precision fp16 is obeyed, but no fp16 implementation" \
  "$lowp" build --onnx dynamic_quantize.onnx --fp16 --precisionConstraints=obey --layerPrecisions=dql:fp16
expect_ok "prefer without an implementation builds" "$lowp" build --onnx dynamic_quantize.onnx --fp16 \
  --precisionConstraints=prefer --layerPrecisions=dql:fp16
expect_ok "prefer warns" bash -c "'$lowp' build --onnx dynamic_quantize.onnx --fp16 --precisionConstraints=prefer \
  --layerPrecisions=dql:fp16 2>&1 | grep -q \"layer 'dql': precision fp16 preferred\""
expect_error "unknown layer in --layerPrecisions" "no layer named 'conv9'" \
  "$lowp" build --onnx add_relu.onnx --layerPrecisions=conv9:fp16
expect_error "bad type in --layerPrecisions" "'int3' is not fp32, fp16, bf16, int8 or fp8" \
  "$lowp" build --onnx add_relu.onnx --layerPrecisions=relu:int3
expect_error "fp8 layer precision on the CPU" "precision fp8e4m3 is not one the CPU builder can choose" \
  "$lowp" build --onnx add_relu.onnx --layerPrecisions=relu:fp8
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

# ---- lowp exec: trtexec's command line, output lines and JSON files (docs/trtexec-format.md) ----
# Every run is short: no warm-up, exactly 10 (or 7) timed queries.
exec_quick=(--warmUp=0 --duration=0 --iterations=10)
expect_ok "exec: add_relu" bash -c "'$lowp' exec --onnx=add_relu.onnx --shapes=x:2x4 ${exec_quick[*]} > exec_add.log"
expect_ok "exec: configuration and summary lines" /usr/bin/python3 - <<'PY'
import re
log = open('exec_add.log').read()
assert log.startswith('&&&& RUNNING lowp.exec'), log[:200]
assert '\n&&&& PASSED lowp.exec' in log
prefix = r'^\[\d\d/\d\d/\d{4}-\d\d:\d\d:\d\d\] \[I\] '
for section in ['=== Model Options ===', '=== Build Options ===', '=== Inference Options ===',
                '=== Reporting Options ===', '=== Trace details ===', '=== Performance summary ===']:
    assert re.search(prefix + re.escape(section) + '$', log, re.M), section
assert re.search(prefix + r'Precision: FP32$', log, re.M)
assert re.search(prefix + r'Input inference shape: x=2x4$', log, re.M)
assert re.search(prefix + r'Timing trace has 10 queries over [0-9.e-]+ s$', log, re.M)
assert re.search(prefix + r'Throughput: [0-9.e+]+ qps$', log, re.M)
stat = r'min = [0-9.e-]+ ms, max = [0-9.e-]+ ms, mean = [0-9.e-]+ ms, median = [0-9.e-]+ ms, ' \
       r'percentile\(90%\) = [0-9.e-]+ ms, percentile\(95%\) = [0-9.e-]+ ms, percentile\(99%\) = [0-9.e-]+ ms$'
for metric in ['Latency', 'Enqueue Time', 'H2D Latency', 'GPU Compute Time', 'D2H Latency']:
    assert re.search(prefix + metric + ': ' + stat, log, re.M), metric
assert re.search(prefix + r'Total Host Walltime: [0-9.e-]+ s$', log, re.M)
assert re.search(prefix + r'Total GPU Compute Time: [0-9.e-]+ s$', log, re.M)
assert len(re.findall(r'Average on 10 runs - GPU latency: [0-9.e-]+ ms - Host latency: [0-9.e-]+ ms '
                      r'\(enqueue [0-9.e-]+ ms\)', log)) == 1
PY
expect_ok "exec: 7 queries with exported times" bash -c "'$lowp' exec --onnx=add_relu.onnx --shapes=x:2x4 \
  --warmUp=0 --duration=0 --iterations=7 --percentile=0,50,100 --exportTimes=exec_times.json > exec_times.log"
expect_ok "exec: latency = h2d + compute + d2h, statistics as trtexec computes them" /usr/bin/python3 - <<'PY'
import json, re
times = json.load(open('exec_times.json'))
assert len(times) == 7, len(times)
keys = ['startEnqMs', 'endEnqMs', 'startH2dMs', 'endH2dMs', 'startComputeMs', 'endComputeMs',
        'startD2hMs', 'endD2hMs', 'h2dMs', 'computeMs', 'd2hMs', 'latencyMs']
for t in times:
    assert list(t) == keys, list(t)
    assert abs(t['latencyMs'] - (t['h2dMs'] + t['computeMs'] + t['d2hMs'])) < 1e-9
    order = [t[k] for k in ['startH2dMs', 'endH2dMs', 'startComputeMs', 'endComputeMs', 'startD2hMs', 'endD2hMs']]
    assert order == sorted(order), t
log = open('exec_times.log').read()
m = re.search(r'GPU Compute Time: min = (\S+) ms, max = (\S+) ms, mean = \S+ ms, median = (\S+) ms, '
              r'percentile\(0%\) = (\S+) ms, percentile\(50%\) = (\S+) ms, percentile\(100%\) = (\S+) ms', log)
assert m, log
c = sorted(t['computeMs'] for t in times)
close = lambda text, v: abs(float(text) - v) <= 1e-5 * max(1.0, abs(v))
assert close(m[1], c[0]) and close(m[2], c[-1]) and close(m[3], c[3]), (m.groups(), c)
# percentile p is sorted[max(n - 1 - floor((1 - p/100) n), 0)]: 0% the minimum, 50% index 3 of 7, 100% the maximum
assert close(m[4], c[0]) and close(m[5], c[3]) and close(m[6], c[-1]), (m.groups(), c)
PY
expect_ok "exec: outputs of an npy input exported" "$lowp" exec --onnx=add_relu.onnx --loadInputs=x:x_2x4.npy \
  "${exec_quick[@]}" --exportOutput=exec_out.json
expect_ok "exec: exportOutput has trtexec's layout and the right values" /usr/bin/python3 - <<'PY'
import json, numpy as np
out = json.load(open('exec_out.json'))
assert [list(o) for o in out] == [['name', 'dimensions', 'values']], out
assert out[0]['name'] == 'y' and out[0]['dimensions'] == '2x4', out
x = np.load('x_2x4.npy')
expected = np.maximum(x + (np.arange(4) - 1.5).astype(np.float32), 0)
assert np.array_equal(np.array(out[0]['values'], np.float32).reshape(2, 4), expected), (out, expected)
PY
expect_ok "exec: an input that decides shapes is built on its --loadInputs data" "$lowp" exec \
  --onnx=resize_by_input.onnx --loadInputs=scales:scales_2x.npy "${exec_quick[@]}" --exportOutput=exec_resize.json
expect_ok "exec: the resize built on given scales has their shape" /usr/bin/python3 -c "
import json; out = json.load(open('exec_resize.json')); assert out[0]['dimensions'] == '1x2x6x8', out"
expect_error "exec: without the scales' values the build names the input and the way to give them" \
  "'scales' held random values or zeros.*setInputValues" "$lowp" exec --onnx=resize_by_input.onnx "${exec_quick[@]}"
expect_ok "build: an input that decides shapes is built on its --loadInputs data" "$lowp" build \
  --onnx resize_by_input.onnx --loadInputs=scales:scales_2x.npy
expect_error "build: --loadInputs naming no input" "values given for 'z', which is not a network input" \
  "$lowp" build --onnx resize_by_input.onnx --loadInputs=z:scales_2x.npy
expect_error "build: an unreadable --loadInputs file" "--loadInputs scales: .*missing.npy" \
  "$lowp" build --onnx resize_by_input.onnx --loadInputs=scales:missing.npy
expect_ok "compare: an input that decides shapes is built on its --loadInputs data" "$lowp" compare \
  --onnx=resize_by_input.onnx --loadInputs=scales:scales_2x.npy
expect_ok "exec: a quoted input name, as trtexec writes names holding ':'" bash -c "'$lowp' exec --onnx=add_relu.onnx \
  \"--loadInputs='x':x_2x4.npy\" ${exec_quick[*]} --exportOutput=exec_quoted.json > /dev/null && cmp exec_quoted.json exec_out.json"
/usr/bin/python3 -c "import numpy as np; np.load('x_2x4.npy').astype(np.float32).tofile('x_2x4.raw')"
expect_ok "exec: raw input file, no data transfers" bash -c "'$lowp' exec --onnx=add_relu.onnx --shapes=x:2x4 \
  --loadInputs=x:x_2x4.raw ${exec_quick[*]} --noDataTransfers --exportOutput=exec_raw.json > exec_nodt.log"
expect_ok "exec: raw input gives the npy input's outputs" /usr/bin/python3 -c "
import json
assert json.load(open('exec_raw.json')) == json.load(open('exec_out.json'))"
expect_ok "exec: noDataTransfers reports no copies" bash -c "grep -q 'x<-x_2x4.raw' exec_nodt.log &&
  grep -q 'Data transfers: Disabled' exec_nodt.log && grep -q 'H2D Latency: min = 0 ms, max = 0 ms' exec_nodt.log &&
  grep -q 'D2H Latency: min = 0 ms, max = 0 ms' exec_nodt.log"
expect_ok "exec: conv_net with profile and layer info" bash -c "'$lowp' exec --onnx=conv_net.onnx \
  --shapes=x:2x3x8x8 ${exec_quick[*]} --separateProfileRun --dumpProfile --exportProfile=exec_profile.json \
  --exportLayerInfo=exec_layers.json --dumpLayerInfo > exec_conv.log"
expect_ok "exec: profile as trtexec prints and exports it" /usr/bin/python3 - <<'PY'
import json, re
prof = json.load(open('exec_profile.json'))
assert prof[0] == {'count': 10}, prof[0]
assert len(prof) >= 2, prof
for rec in prof[1:]:
    assert list(rec) == ['name', 'timeMs', 'averageMs', 'medianMs', 'percentage'], rec
    assert rec['timeMs'] >= 0 and abs(rec['averageMs'] - rec['timeMs'] / 10) < 1e-9, rec
assert abs(sum(r['percentage'] for r in prof[1:]) - 100) < 1e-6
log = open('exec_conv.log').read()
assert re.search(r'\[I\] === Profile \(10 iterations \) ===$', log, re.M)
assert re.search(r'\[I\] +Layer   Time \(ms\)   Avg\. Time \(ms\)   Median Time \(ms\)   Time %$', log, re.M)
assert re.search(r'\[I\] +Total +[0-9.]+ +[0-9.]+ +[0-9.]+ +100\.0$', log, re.M)
assert 'Separate profiling: Enabled' in log and 'total measured layer time' in log
PY
expect_ok "exec: exportLayerInfo has the engine inspector's layout" /usr/bin/python3 - <<'PY'
import json
info = json.load(open('exec_layers.json'))
assert list(info) == ['Layers', 'Bindings'], list(info)
assert info['Bindings'] == ['x', 'y'], info['Bindings']
for layer in info['Layers']:
    for key in ['Name', 'LayerType', 'Inputs', 'Outputs', 'ParameterType', 'TacticName', 'TacticValue',
                'StreamId', 'Metadata']:
        assert key in layer, (key, layer)
    for t in layer['Inputs'] + layer['Outputs']:
        assert list(t) == ['Name', 'Location', 'Dimensions', 'Format/Datatype'], t
# The binding is read as given; the convolution reads it directly or through a reformat into the layout
# its timed tactic chose, whichever was faster on this machine.
readers = [l for l in info['Layers'] if any(t['Name'] == 'x' for t in l['Inputs'])]
assert len(readers) == 1, readers
x_in = next(t for t in readers[0]['Inputs'] if t['Name'] == 'x')
assert x_in['Dimensions'] == [2, 3, 8, 8] and x_in['Format/Datatype'] == 'Row major linear FP32', readers
conv = next(l for l in info['Layers'] if l['Name'] == 'conv')
assert conv['ParameterType'] == 'Convolution', conv
if readers[0] is not conv:
    assert readers[0]['Outputs'][0]['Name'] == conv['Inputs'][0]['Name'], (readers[0], conv)
assert conv['Inputs'][0]['Dimensions'] == [2, 3, 8, 8], conv
assert conv['Inputs'][1]['Dimensions'] == [8, 3, 3, 3], conv  # the weights: the engine's own shapes
assert conv['Outputs'][0]['Dimensions'] == [2, 8, 8, 8], conv
assert conv['TacticValue'].startswith('0x') and len(conv['TacticValue']) == 18, conv
assert conv['Metadata'].startswith('[ONNX Layer: conv]'), conv
PY
expect_ok "exec: save an engine" "$lowp" exec --onnx=conv_net.onnx --shapes=x:2x3x8x8 "${exec_quick[@]}" \
  --saveEngine=exec.engine
expect_ok "exec: load it; build flags are said to have no effect" bash -c "'$lowp' exec --loadEngine=exec.engine \
  --shapes=x:2x3x8x8 ${exec_quick[*]} --fp16 > exec_load.log && grep -q 'Engine deserialized in' exec_load.log &&
  grep -q '\[W\] build options .* have no effect with --loadEngine' exec_load.log"
expect_ok "exec: GPU-only options are accepted and said to be not applicable" bash -c "'$lowp' exec \
  --onnx=add_relu.onnx --shapes=x:2x4 ${exec_quick[*]} --useCudaGraph --useSpinWait --noTF32 > exec_gpu.log &&
  grep -q '\[W\] --useCudaGraph: not applicable on the CPU' exec_gpu.log &&
  grep -q '\[W\] --useSpinWait: not applicable on the CPU' exec_gpu.log &&
  grep -q '\[I\] --noTF32: no effect on the CPU' exec_gpu.log && grep -q 'CUDA Graph: Enabled (not applicable' exec_gpu.log"
expect_ok "exec: --exactActivations is shown in the settings" bash -c "'$lowp' exec --onnx=add_relu.onnx \
  --shapes=x:2x4 ${exec_quick[*]} --exactActivations > exec_exact.log &&
  grep -q 'Exact activations: Enabled (no effect on the CPU)' exec_exact.log"
expect_ok "exec: precision flags and constraints reach the builder" bash -c "'$lowp' exec --onnx=conv_net.onnx \
  --shapes=x:2x3x8x8 ${exec_quick[*]} --fp16 --bf16 --precisionConstraints=obey --layerPrecisions=conv:bf16 \
  --exportLayerInfo=exec_bf16.json > exec_bf16.log && grep -q 'Precision: FP32+FP16+BF16 (obey precision constraints)' exec_bf16.log"
expect_ok "exec: the constrained layer runs in bf16" /usr/bin/python3 -c "
import json
conv = next(l for l in json.load(open('exec_bf16.json'))['Layers'] if l['Name'] == 'conv')
assert conv['Precision'] == 'bf16' and conv['RequestedPrecision'] == 'bf16', conv"
expect_ok "exec: verbose explains the metrics" bash -c "'$lowp' exec --onnx=add_relu.onnx --shapes=x:2x4 \
  ${exec_quick[*]} --verbose > exec_verbose.log && grep -q '\[V\] === Explanations of the performance metrics ===' exec_verbose.log"
head -c 200 exec.engine > exec_truncated.engine
expect_error "exec: unknown option" "--frobnicate" "$lowp" exec --onnx=add_relu.onnx --frobnicate
expect_error "exec: neither model nor engine" "give the model with --onnx=FILE or an engine file with --loadEngine=FILE" \
  "$lowp" exec --shapes=x:2x4
expect_error "exec: model and engine" "give the model with --onnx=FILE or an engine file" \
  "$lowp" exec --onnx=add_relu.onnx --loadEngine=exec.engine
expect_error "exec: --saveEngine with --loadEngine" "--saveEngine needs --onnx" \
  "$lowp" exec --loadEngine=exec.engine --saveEngine=again.engine
expect_error "exec: bad --percentile" "--percentile: '101' is not a percentage" \
  "$lowp" exec --onnx=add_relu.onnx --shapes=x:2x4 --percentile=90,101
expect_error "exec: bad --warmUp" "--warmUp: -5 ms is negative" "$lowp" exec --onnx=add_relu.onnx --warmUp=-5
expect_error "exec: bad --duration" "--duration: -1 s is negative" "$lowp" exec --onnx=add_relu.onnx --duration=-1
expect_error "exec: bad --iterations" "--iterations: 0 is not at least 1" "$lowp" exec --onnx=add_relu.onnx --iterations=0
expect_error "exec: bad --avgRuns" "--avgRuns: 0 is not at least 1" "$lowp" exec --onnx=add_relu.onnx --avgRuns=0
expect_error "exec: non-numeric --iterations" "--iterations" "$lowp" exec --onnx=add_relu.onnx --iterations=many
expect_error "exec: --loadInputs without a name" "--loadInputs: 'x_2x4.npy' is not of the form name:file" \
  "$lowp" exec --onnx=add_relu.onnx --loadInputs=x_2x4.npy
expect_error "exec: --loadInputs naming no input" "--loadInputs names 'z'" \
  "$lowp" exec --onnx=add_relu.onnx --shapes=x:2x4 --loadInputs=z:x_2x4.npy "${exec_quick[@]}"
expect_error "exec: raw input of the wrong size" "--loadInputs x: x_2x4.raw has 32 bytes, input 'x' \(fp32\[3x4\]\) needs 48" \
  "$lowp" exec --onnx=add_relu.onnx --shapes=x:3x4 --loadInputs=x:x_2x4.raw "${exec_quick[@]}"
expect_error "exec: npy input disagreeing with --shapes" "--loadInputs x: the file has shape 2x4, --shapes gives 3x4" \
  "$lowp" exec --onnx=add_relu.onnx --shapes=x:3x4 --loadInputs=x:x_2x4.npy "${exec_quick[@]}"
expect_error "exec: dynamic input without a shape" "input 'x' has dynamic dimension 'batch': give its shape with --shapes=x" \
  "$lowp" exec --onnx=add_relu.onnx
expect_error "exec: --shapes naming no input" "--shapes names 'q'" \
  "$lowp" exec --onnx=add_relu.onnx --shapes=x:2x4,q:1 "${exec_quick[@]}"
expect_error "exec: bad --precisionConstraints" "--precisionConstraints must be none, prefer or obey" \
  "$lowp" exec --onnx=add_relu.onnx --shapes=x:2x4 --precisionConstraints=always
expect_error "exec: unknown layer in --layerPrecisions" "no layer named 'conv9'" \
  "$lowp" exec --onnx=add_relu.onnx --shapes=x:2x4 --layerPrecisions=conv9:fp16
expect_error "exec: bad --memPoolSize" "--memPoolSize takes workspace:<MiB>" \
  "$lowp" exec --onnx=add_relu.onnx --shapes=x:2x4 --memPoolSize=huge
expect_error "exec: truncated engine" "exec_truncated.engine: truncated" \
  "$lowp" exec --loadEngine=exec_truncated.engine --shapes=x:2x3x8x8
expect_error "exec: unwritable export" "--exportProfile: cannot write nowhere/p.json" \
  "$lowp" exec --onnx=add_relu.onnx --shapes=x:2x4 "${exec_quick[@]}" --exportProfile=nowhere/p.json
expect_ok "exec: a failed run ends with FAILED" bash -c "'$lowp' exec --onnx=add_relu.onnx --iterations=0 2> /dev/null |
  grep -q '^&&&& FAILED lowp.exec'"
# ---- end of lowp exec ----

# ---- lowp compare: Polygraphy's elementwise rule, accuracy, per-layer attribution ----
digits=$here/../../models/digits
expect_ok "compare: fp32 engine against the FP32 reference" "$lowp" compare --onnx=add_relu.onnx --shapes=x:2x4
expect_ok "compare: against saved outputs" bash -c "'$lowp' run --onnx add_relu.onnx --input x=x_2x4.npy \
  --save-outputs cmp_ref > /dev/null && '$lowp' compare --onnx=add_relu.onnx --loadInputs=x:x_2x4.npy \
  --refOutputs=y:cmp_ref/y.npy | grep -q '^PASSED'"
expect_ok "compare: out of tolerance exits 1 with FAILED" bash -c "'$lowp' compare --onnx=add_relu.onnx \
  --loadInputs=x:x_2x4.npy --refOutputs=y:x_2x4.npy > cmp_fail.txt; [ \$? -eq 1 ] && grep -q '^FAILED' cmp_fail.txt"
expect_error "compare: engine without the model" "the FP32 reference needs the model too" \
  "$lowp" compare --loadEngine=exec_truncated.engine
expect_error "compare: unknown reference output" "--refOutputs names 'nope', which is not an output" \
  "$lowp" compare --onnx=add_relu.onnx --shapes=x:2x4 --refOutputs=nope:x_2x4.npy
expect_error "compare: reference of another shape" "output 'y' has shape 2x4, its reference 2x5" \
  "$lowp" compare --onnx=add_relu.onnx --loadInputs=x:x_2x4.npy --refOutputs=y:x_2x5.npy
expect_error "compare: bad error statistic" "--errorStat=mode: expected elemwise, max, mean or median" \
  "$lowp" compare --onnx=add_relu.onnx --shapes=x:2x4 --errorStat=mode
expect_error "compare: malformed input list" "--loadInputs: 'x' is not of the form name:file" \
  "$lowp" compare --onnx=add_relu.onnx --loadInputs=x
expect_error "compare: labels of another count" "--labels: .* has 1000 labels, output 'logits' has 32 rows" \
  "$lowp" compare --onnx="$digits/digits.onnx" --loadInputs=input:"$digits/calibration/batch_000.npy" \
  --labels="$digits/test_labels.npy"
expect_error "compare: --batch over inputs of different rows" "--batch: 'logits' has 1000 rows, 'input' has 32" \
  "$lowp" compare --onnx="$digits/digits.onnx" --loadInputs=input:"$digits/calibration/batch_000.npy" \
  --refOutputs=logits:"$digits/test_labels.npy" --batch=8
# The INT8 digits classifier: --per-layer names the layer costing the outputs the most; keeping it in fp32
# lowers the outputs' error.
cmp_int8=(compare --onnx="$digits/digits.onnx" --int8 --calibData="$digits/calibration" --calibAlgo=minmax
  --precisionConstraints=prefer --loadInputs=input:"$digits/test_images.npy" --labels="$digits/test_labels.npy"
  --batch=500 --errorStat=mean --atol=0.1 --rtol=0.1)
expect_ok "compare: int8 classifier per layer" "$lowp" "${cmp_int8[@]}" --layerPrecisions='*:int8' --per-layer \
  --exportJson=cmp_int8.json --report=cmp_int8.html
expect_ok "compare: the report is written" test -s cmp_int8.html
top_layer=$(/usr/bin/python3 -c "import json; print(json.load(open('cmp_int8.json'))['layerErrors']['layers'][0]['name'])" 2>/dev/null)
expect_ok "compare: keep the most costly layer ($top_layer) in fp32" "$lowp" "${cmp_int8[@]}" \
  --layerPrecisions="*:int8,$top_layer:fp32" --exportJson=cmp_int8_kept.json
expect_ok "compare: keeping it in fp32 lowers the error" /usr/bin/python3 -c "
import json
base, kept = (json.load(open(f)) for f in ('cmp_int8.json', 'cmp_int8_kept.json'))
layers = base['layerErrors']['layers']
assert layers[0]['outputs'] >= max(l['outputs'] for l in layers), layers
assert all(l['accumulated'] >= 0 and l['local'] >= 0 for l in layers)
e0, e1 = base['outputs'][0]['relativeL2'], kept['outputs'][0]['relativeL2']
print(f'relative L2 of the logits: all int8 {e0:.5f}, {layers[0][\"name\"]} in fp32 {e1:.5f}')
assert e1 < 0.97 * e0, (e0, e1)
assert base['accuracy']['referenceTop1'] >= 0.98 and base['accuracy']['engineTop1'] >= 0.975, base['accuracy']"
# ---- end of lowp compare ----

# ---- lowp explain ----
explain_quick=(--warmUp=0 --duration=0 --iterations=3)
expect_ok "explain: a run with constraints, JSON and HTML" bash -c "'$lowp' explain --onnx=conv_net.onnx --fp16 \
  --shapes=x:2x3x8x8 --batches=1,2 ${explain_quick[*]} --precisionConstraints=obey --layerPrecisions=conv:fp16 \
  --exportJson=explain.json --report=explain.html > explain.log && grep -q 'findings, ranked by the time they explain' explain.log"
expect_ok "explain: every check once, ranked by the time it explains" /usr/bin/python3 -c "
import json
d = json.load(open('explain.json'))
checks = [f['check'] for f in d['findings']]
assert sorted(checks) == sorted(['native-arithmetic', 'batch-size', 'precision-fallback', 'memory-bound',
    'forced-precision', 'conversions', 'host-overhead', 'library-versions', 'profile']), checks
ms = [f['explainsMs'] for f in d['findings']]
assert ms == sorted(ms, reverse=True) and all(m >= 0 for m in ms), ms
assert all(f['finding'] and f['action'] for f in d['findings'])
assert [p['batch'] for p in d['batchSweep']] == [1, 2] and all(p['speedup'] > 0 for p in d['batchSweep'])
assert [e['label'] for e in d['runs']] == ['fp32', 'fp16', 'fp16 unforced'], d['runs']
assert d['rates']['matmul']['fp32']['measured'] and d['rates']['matmul']['fp32']['gflops'] > 0
assert d['rates']['bandwidthGBs'] > 0 and d['device']['fingerprint'].startswith('cpu=')"
expect_ok "explain: the forced layer runs in fp16 and the forced-precision check compares the engines" /usr/bin/python3 -c "
import json
d = json.load(open('explain.json'))
forced_layers = {l['name']: l['precision'] for l in d['runs'][1]['layers']}
free_layers = {l['name']: l['precision'] for l in d['runs'][2]['layers']}
assert forced_layers['conv'] == 'fp16', forced_layers
differ = [n for n, p in forced_layers.items() if p and n in free_layers and free_layers[n] != p and
          not any(l['name'] == n and l['reason'].startswith('conversion: ') for l in d['runs'][1]['layers'])]
f = next(f for f in d['findings'] if f['check'] == 'forced-precision')
assert f['measured']['forcedMs'] == d['runs'][1]['medianMs'] and f['measured']['unforcedMs'] == d['runs'][2]['medianMs']
assert f['measured']['layersDiffering'] == len(differ), (f['measured'], differ)
assert abs(f['explainsMs'] - max(0, f['measured']['forcedMs'] - f['measured']['unforcedMs'])) < 1e-9, f"
expect_ok "explain: fp16 arithmetic is what the CPU has, and the finding says so" /usr/bin/python3 -c "
import json
d = json.load(open('explain.json'))
flags = next(l for l in open('/proc/cpuinfo') if l.startswith('flags')).split()
native = 'avx512_fp16' in flags or 'amx_fp16' in flags
assert d['device']['arithmetic']['fp16']['arithmetic'] == ('native' if native else 'storage only'), d['device']
f = next(f for f in d['findings'] if f['check'] == 'native-arithmetic')
assert f['measured']['fp16']['arithmetic'] == d['device']['arithmetic']['fp16']['arithmetic']
assert native or 'fp16 is storage only here' in f['finding'], f['finding']"
expect_ok "explain: the HTML report holds the findings" bash -c "test -s explain.html && grep -q 'native-arithmetic' explain.html"
expect_ok "explain: int8 reports the conversions it needs" bash -c "'$lowp' explain --onnx=conv_net.onnx --int8 \
  --shapes=x:2x3x8x8 --batches=2 ${explain_quick[*]} --exportJson=explain_int8.json > /dev/null 2>&1 &&
  /usr/bin/python3 -c \"
import json
d = json.load(open('explain_int8.json'))
f = next(f for f in d['findings'] if f['check'] == 'conversions')
layers = d['runs'][1]['layers']
conversions = [l for l in layers if l['reason'].startswith('conversion: ')]
assert f['measured']['conversions'] == len(conversions), (f['measured'], len(conversions))
assert d['rates']['matmul']['int8']['tactic'] != '' or d['rates']['matmul']['int8']['error'] != ''
\""
/usr/bin/python3 -c "
import onnx
from onnx import helper, TensorProto
x = helper.make_tensor_value_info('x', TensorProto.FLOAT, [2, 4])
y = helper.make_tensor_value_info('y', TensorProto.FLOAT, [2, 4])
g = helper.make_graph([helper.make_node('Relu', ['x'], ['y'], name='relu')], 'static', [x], [y])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)]), 'static_batch.onnx')"
expect_ok "explain: a batch the model cannot take is reported, not fatal" bash -c "'$lowp' explain \
  --onnx=static_batch.onnx --bf16 --batches=1,2 ${explain_quick[*]} --exportJson=explain_static.json > /dev/null 2>&1 &&
  /usr/bin/python3 -c \"
import json
sweep = json.load(open('explain_static.json'))['batchSweep']
assert sweep[0]['batch'] == 1 and sweep[0]['error'] != '' and sweep[1]['error'] == '', sweep
\""
expect_error "explain: no precision" "give the precision to explain: --fp16, --bf16, --int8, --fp8 or --best" \
  "$lowp" explain --onnx=conv_net.onnx --shapes=x:2x3x8x8
expect_error "explain: strongly typed" "--stronglyTyped: a strongly typed network runs in its own types" \
  "$lowp" explain --onnx=conv_net.onnx --shapes=x:2x3x8x8 --fp16 --stronglyTyped
expect_error "explain: dynamic input without a shape" "input 'x' has dynamic dimension 'batch': give its shape with --shapes=x" \
  "$lowp" explain --onnx=conv_net.onnx --fp16
expect_error "explain: --shapes naming no input" "--shapes names 'q'" \
  "$lowp" explain --onnx=conv_net.onnx --fp16 --shapes=x:2x3x8x8,q:1
expect_error "explain: bad --batches" "--batches: '0' is not a batch size" \
  "$lowp" explain --onnx=conv_net.onnx --fp16 --shapes=x:2x3x8x8 --batches=1,0
expect_error "explain: non-numeric --batches" "--batches: 'eight' is not a batch size" \
  "$lowp" explain --onnx=conv_net.onnx --fp16 --shapes=x:2x3x8x8 --batches=eight
expect_error "explain: bad --iterations" "--iterations: 0 is not at least 1" \
  "$lowp" explain --onnx=conv_net.onnx --fp16 --shapes=x:2x3x8x8 --iterations=0
expect_error "explain: bad --duration" "--duration: -1.00 s is negative" \
  "$lowp" explain --onnx=conv_net.onnx --fp16 --shapes=x:2x3x8x8 --duration=-1
expect_error "explain: bad --warmUp" "--warmUp: -5 ms is negative" \
  "$lowp" explain --onnx=conv_net.onnx --fp16 --shapes=x:2x3x8x8 --warmUp=-5
expect_error "explain: unknown layer in --layerPrecisions" "no layer named 'conv9'" \
  "$lowp" explain --onnx=conv_net.onnx --fp16 --shapes=x:2x3x8x8 --layerPrecisions=conv9:fp16
expect_error "explain: unwritable --exportJson" "--exportJson: cannot write nowhere/e.json" \
  "$lowp" explain --onnx=conv_net.onnx --fp16 --shapes=x:2x3x8x8 --exportJson=nowhere/e.json
expect_error "explain: unwritable --report" "--report: cannot write nowhere/e.html" \
  "$lowp" explain --onnx=conv_net.onnx --fp16 --shapes=x:2x3x8x8 --report=nowhere/e.html
expect_error "explain: unknown option" "--frobnicate" "$lowp" explain --onnx=conv_net.onnx --fp16 --frobnicate
expect_error "explain: bad model" "truncated.onnx: not a valid ONNX model" "$lowp" explain --onnx=truncated.onnx --fp16
# ---- end of lowp explain ----

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
