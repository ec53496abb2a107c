#!/usr/bin/env bash
# Runs every test suite against a build: unit tests, ONNX conformance, model tests against PyTorch, and the
# command-line tests. Usage: scripts/run-tests.sh BUILD_DIR
set -uo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
lowp=$build_dir/lowp
shared=${LOWP_SHARED_DIR:-$(cd .. && pwd)/shared}
passed=0
failed=0

suite() {
  local name=$1; shift
  echo "== $name"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1)); echo "== $name: ok ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1)); echo "== $name: FAILED ($((SECONDS - start)) s)"
  fi
}

suite "unit tests" ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" --timeout 600

conformance_dirs=()
for d in node simple pytorch-operator pytorch-converted; do
  [ -d "$shared/onnx-backend-tests/$d" ] && conformance_dirs+=("$shared/onnx-backend-tests/$d")
done
if [ ${#conformance_dirs[@]} -eq 0 ]; then
  echo "== conformance: the ONNX backend test data is missing (looked in $shared/onnx-backend-tests)"
  failed=$((failed + 1))
else
  suite "conformance" "$lowp" conformance "${conformance_dirs[@]}" --quiet \
    --expected tests/conformance/expected_pass.txt
fi

# Model tests: PyTorch exports with PyTorch's own outputs; lowp must match within 1e-4 relative L2.
models_dir=$build_dir/models
if [ ! -f "$models_dir/.complete" ]; then
  rm -rf "$models_dir"
  /usr/bin/python3 tests/models/export_models.py "$models_dir" && touch "$models_dir/.complete"
fi
suite "models vs PyTorch" "$lowp" conformance "$models_dir" --max-rel-l2 1e-4 --jobs 1 --timeout 600
# The same models built by the builder (tactics timed at batch 1, then run at batch 1 and 4): FP32 engines
# within 1e-5, engines allowed bf16 within 2e-2.
suite "built fp32 models vs PyTorch" "$lowp" conformance "$models_dir" --build --max-rel-l2 1e-5 --jobs 1 \
  --timeout 600
suite "built bf16 models vs PyTorch" "$lowp" conformance "$models_dir" --bf16 --max-rel-l2 2e-2 --jobs 1 \
  --timeout 600
# INT8 engines, scales from the builder's run on random normal inputs (the test inputs' distribution):
# within 5e-2.
suite "built int8 models vs PyTorch" "$lowp" conformance "$models_dir" --int8 --max-rel-l2 5e-2 --jobs 1 \
  --timeout 600

# An explicitly quantized model in ONNX Runtime's QDQ layout, against a NumPy computation of its Q/DQ graph.
suite "QDQ model vs NumPy" /usr/bin/python3 tests/models/make_qdq_models.py "$build_dir/qdq_models" --lowp "$lowp"

# The trained digits classifier on its held-back test split: FP32 top-1, INT8 against FP32.
suite "digits classifier, fp32 and int8" bash tests/models/check_digits.sh "$lowp" "$build_dir/digits"

suite "HTML report in headless Chromium" bash tests/cli/check_report.sh "$lowp" "$build_dir/report"
suite "command line" bash tests/cli/test_cli.sh "$lowp"

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
