#!/usr/bin/env bash
# Fetches OpenCV's handwritten digits sample (digits.png: 5000 digits of 20x20 pixels, 50 rows of 100, each
# class 0-9 filling 5 consecutive rows) from Debian's opencv-doc package, without installing the package:
# `apt-get download` fetches the .deb, `dpkg-deb -x` unpacks it into a temporary folder, and only the image
# (and the package's copyright file, which states its licence) are kept.
# Idempotent: a cached image with the recorded checksum is reused. Prints the image's path on stdout.
# Usage: scripts/fetch_digits.sh [CACHE_DIR]   (default: build/data under the repository root)
set -euo pipefail

# The image as shipped by opencv-doc 4.6.0+dfsg-12 (Debian 12); later packages carrying the same file match.
readonly expected_sha256=60c917758ef97cc090f35cd8e293e4de691ef942847da0ff80dedab33d57c662
readonly expected_size=721129
readonly path_in_package=usr/share/doc/opencv-doc/examples/data/digits.png
readonly copyright_in_package=usr/share/doc/opencv-doc/copyright

repo_root=$(cd "$(dirname "$0")/.." && pwd)
cache_dir=${1:-$repo_root/build/data}
target=$cache_dir/digits.png

log() { echo "fetch_digits: $*" >&2; }
fail() {
  log "error: $*"
  exit 1
}

# Returns 0 when FILE has the recorded size and checksum.
verify() {
  local file=$1
  [ -f "$file" ] || return 1
  [ "$(stat -c %s "$file")" = "$expected_size" ] || return 1
  [ "$(sha256sum "$file" | cut -d' ' -f1)" = "$expected_sha256" ]
}

if verify "$target"; then
  log "cached $target (sha256 verified)"
  echo "$target"
  exit 0
fi
if [ -e "$target" ]; then log "$target does not match the recorded checksum; fetching it again"; fi

for tool in apt-get dpkg-deb sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || fail "'$tool' not found: this script needs Debian's apt and dpkg"
done

mkdir -p "$cache_dir" || fail "cannot create cache folder $cache_dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# apt drops privileges to _apt while downloading; it needs to write into the folder.
chmod 755 "$work"
mkdir "$work/deb"
chmod 777 "$work/deb"

download() { (cd "$work/deb" && apt-get download opencv-doc) >"$work/apt.log" 2>&1; }

log "downloading opencv-doc with apt-get (about 96 MB)"
if ! download; then
  # A machine whose package lists were never fetched (or were purged) cannot locate the package.
  if [ "$(id -u)" -eq 0 ] && grep -q "Unable to locate package" "$work/apt.log"; then
    log "package lists lack opencv-doc; running apt-get update once"
    apt-get update -qq >>"$work/apt.log" 2>&1 || true
    download || true
  fi
fi
deb=$(find "$work/deb" -maxdepth 1 -name 'opencv-doc_*.deb' | head -n 1)
if [ -z "$deb" ]; then
  cat "$work/apt.log" >&2
  fail "'apt-get download opencv-doc' failed (see apt's output above): check the network and the package" \
    "sources, and run 'apt-get update' as root if the package lists are missing"
fi

log "unpacking $(basename "$deb")"
dpkg-deb -x "$deb" "$work/unpacked" || fail "dpkg-deb could not unpack $deb"
[ -f "$work/unpacked/$path_in_package" ] || fail "$(basename "$deb") has no /$path_in_package"
verify "$work/unpacked/$path_in_package" ||
  fail "/$path_in_package in $(basename "$deb") does not have the recorded size $expected_size and" \
    "sha256 $expected_sha256"

cp "$work/unpacked/$copyright_in_package" "$cache_dir/opencv-doc.copyright"
# Copy then rename, so that an interrupted run never leaves a partial image under the final name.
cp "$work/unpacked/$path_in_package" "$target.partial"
mv "$target.partial" "$target"
log "wrote $target (sha256 verified) and $cache_dir/opencv-doc.copyright"
echo "$target"
