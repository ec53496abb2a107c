#!/usr/bin/env bash
# Format check (clang-format) and static analysis (clang-tidy) of every C++ file the build compiles.
# Usage: scripts/lint.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}

mapfile -t files < <(git ls-files --cached --others --exclude-standard -- \
  'include/*.h' 'src/*.h' 'src/*.cpp' 'tools/*.h' 'tools/*.cpp' 'tests/*.h' 'tests/*.cpp' 'bench/*.cpp' | sort -u)

echo "lint: clang-format on ${#files[@]} files"
if ! clang-format --dry-run --Werror "${files[@]}"; then
  echo "lint: files above are not formatted; run 'make format'" >&2
  exit 1
fi

# clang-tidy reads the compile commands; tests and tools are checked with the library sources.
mapfile -t sources < <(printf '%s\n' "${files[@]}" | grep '\.cpp$')
echo "lint: clang-tidy on ${#sources[@]} sources"
log=$build_dir/clang-tidy.log
printf '%s\n' "${sources[@]}" |
  xargs -P "$(nproc)" -n 4 clang-tidy -p "$build_dir" --quiet --extra-arg=-Wno-unknown-warning-option \
    > "$log" 2> /dev/null || true
if grep -qE "(warning|error):" "$log"; then
  grep -E -A2 "(warning|error):" "$log"
  echo "lint: clang-tidy found the problems above (full log: $log)" >&2
  exit 1
fi
echo "lint: clean"
