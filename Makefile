# lowp: `make demo` sets up, builds and runs the main job; `make test` builds and runs every test.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test test-gpu lint format demo clean bench

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

configure: $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: deps
	@$(MAKE) --no-print-directory build
	@bash scripts/lint.sh $(BUILD_DIR)
	@bash scripts/run-tests.sh $(BUILD_DIR)

# GPU kernel tests against the CPU reference on this machine's NVIDIA GPU; a missing GPU is an error here
# (ctest, as in `make test`, skips them instead).
test-gpu: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target lowp_gpu_tests
	LOWP_REQUIRE_GPU=1 $(BUILD_DIR)/tests/lowp_gpu_tests

lint: configure
	@bash scripts/lint.sh $(BUILD_DIR)

format:
	@git ls-files '*.cpp' '*.h' | xargs clang-format -i

demo: deps
	@$(MAKE) --no-print-directory build
	@bash scripts/demo.sh $(BUILD_DIR)

# Benchmarks: lowp side by side with ONNX Runtime and PyTorch; writes docs/BENCHMARKS.md (see bench/).
# BENCH_ARGS passes options to bench/run_benchmarks.py, e.g. `make bench BENCH_ARGS=--quick`.
BENCH_BUILD_DIR ?= build-bench
BENCH_ARGS ?=
bench:
	@test -f $(BENCH_BUILD_DIR)/build.ninja || cmake -S . -B $(BENCH_BUILD_DIR) -G Ninja $(CMAKE_FLAGS)
	cmake --build $(BENCH_BUILD_DIR) -j $(JOBS) --target lowp_bench conv_kernel_bench lowp_cli
	/usr/bin/python3 bench/run_benchmarks.py --build-dir $(BENCH_BUILD_DIR) --no-build $(BENCH_ARGS)

clean:
	rm -rf $(BUILD_DIR)
