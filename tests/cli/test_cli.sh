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

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
