#!/usr/bin/env bash
# Builds what runs on the GPU test machine (docs: ../shared/docs/gpu-testing.md): the CUDA build without
# oneDNN in BUILD_DIR (default build-gpu), then BUILD_DIR/bin (stripped lowp_gpu_tests, lowp_gpu_ceilings,
# lowp) and BUILD_DIR/lib (the shared libraries they load that are neither the C/C++ runtime nor CUDA's:
# protobuf, ONNX's protos, ...). Those two folders are the bundle: carry them (run's carry: BUILD_DIR/bin and
# BUILD_DIR/lib) and run scripts/run-gpu-tests.sh there. cuBLASLt and cuDNN come from the GPU machine.
# Usage: scripts/gpu-bundle.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-gpu}

cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOWP_WITH_ONEDNN=OFF -DLOWP_WITH_CUDA=ON
cmake --build "$dir" -j "$(nproc)" --target lowp_gpu_tests lowp_gpu_ceilings lowp_cli lowp_bench

rm -rf "$dir/bin" "$dir/lib"
mkdir -p "$dir/bin" "$dir/lib"
for binary in tests/lowp_gpu_tests tests/lowp_gpu_ceilings lowp bench/lowp_bench; do
  strip -o "$dir/bin/$(basename "$binary")" "$dir/$binary"
done
ldd "$dir"/bin/* | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so* | libm.so* | libdl.so* | librt.so* | libpthread.so* | ld-linux* | libstdc++.so* | libgcc_s.so* | \
      libcuda.so* | libcudnn* | libcublas* | libnvrtc* | libz.so*)
      continue
      ;;
  esac
  cp -L "$lib" "$dir/lib/"
done
strip --strip-unneeded "$dir"/lib/*.so* 2> /dev/null || true
echo "gpu-bundle: $(du -sh "$dir/bin" | cut -f1) of programs, $(du -sh "$dir/lib" | cut -f1) of libraries:"
ls "$dir/lib"
