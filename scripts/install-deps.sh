#!/usr/bin/env bash
# Installs every Debian package that building, testing, benchmarking and the demo need.
# Idempotent: does nothing when all packages are present; runs `apt-get update` at most once.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build clang-format clang-tidy pkg-config
  # libraries
  libprotobuf-dev protobuf-compiler libonnx-dev libfmt-dev
  libdnnl-dev ocl-icd-opencl-dev libflatbuffers-dev flatbuffers-compiler
  libcli11-dev nlohmann-json3-dev libstb-dev pybind11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # model export, reference outputs and peers
  python3 python3-numpy python3-torch python3-torchvision python3-onnx python3-pil
  # the npm peer (ONNX Runtime CPU) is unpacked by bench/ with node's npm
  nodejs
  # the HTML report's test
  chromium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done

# Debian's nodejs ships npm separately; other nodejs builds carry their own.
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
