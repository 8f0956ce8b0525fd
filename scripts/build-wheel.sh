#!/usr/bin/env bash
# Builds the self-contained Linux x86_64 wheel: framepipe with x264 compiled in, for any machine
# with glibc >= 2.28 and CPython >= 3.11 (no x264, Rust or clang needed there). Nothing native in
# it comes from this machine's libraries:
#   1. scripts/build-codecs.sh builds x264 from its pinned, checksum-verified source (Debian's
#      archive) with `zig cc` for glibc 2.28, as a static library with its nasm assembly
#      (cached in target/codecs/ by checksum and recipe);
#   2. maturin builds the extension (abi3) with `--zig --compatibility manylinux_2_28`: Rust's
#      code linked by `zig cc -target x86_64-linux-gnu.2.28` against glibc 2.28's symbols, with
#      x264 linked in statically (x264-sys finds it with pkg-config: PKG_CONFIG_LIBDIR is the
#      static build's, so the system's x264.pc is never seen; SYSTEM_DEPS_X264_LINK=static), and
#      maturin's own audit (--auditwheel check) refusing anything the policy does not allow;
#   3. tests/wheel/inspect_wheel.py (scripts/test-wheel.sh) then checks the tag, `auditwheel
#      show`, the licences and the size.
# FFmpeg's AAC encoder (issue 23) is built in step 1 too (`scripts/build-codecs.sh ffmpeg-aac`: a
# static libavcodec with only the aac encoder, and libavutil, from FFmpeg's pinned source with the
# same zig cc) and linked in step 2 by crates/framepipe/build.rs (FRAMEPIPE_FFMPEG_DIR: that build,
# the same one development builds link). libopus comes from opusic-sys's bundled source (cmake).
# The wheel goes to dist/; its path is printed on the last line. Needs Rust, libclang-dev (x264-sys
# generates its bindings with bindgen), nasm and curl (scripts/setup.sh installs them); the
# build tools (maturin, zig, auditwheel: scripts/wheel-tools.sh) go into .venv-wheel.
# Usage: scripts/build-wheel.sh
set -euo pipefail
cd "$(dirname "$0")/.."

policy=manylinux_2_28  # glibc 2.28: RHEL/Rocky/Alma 8, Debian 10, Ubuntu 18.10+ (docs/packaging.md)
tools=$(scripts/wheel-tools.sh)
codecs=(x264 ffmpeg-aac)
declare -A prefix
while read -r name dir; do prefix[$name]=$dir; done < <(scripts/build-codecs.sh "${codecs[@]}")

# The interpreter maturin builds against (the wheel is abi3: any CPython >= 3.11 loads it).
py=${PYTHON:-}
if [ -z "$py" ]; then
  if [ -x .venv/bin/python ]; then py=.venv/bin/python; else py=$(command -v python3); fi
fi

# zig's C headers for the target, for bindgen (x264-sys generates its bindings of x264.h with
# libclang): maturin (cargo-zigbuild) gives bindgen -nostdinc and the include directories `zig cc
# -v` lists, but zig 0.17 lists them relative to the current directory, which bindgen (run in
# x264-sys's directory) does not find; the same directories made absolute come first here
# (BINDGEN_EXTRA_CLANG_ARGS, to which cargo-zigbuild appends its own).
zig=$("$tools/bin/python" -c 'import os, ziglang; print(os.path.abspath(os.path.join(os.path.dirname(ziglang.__file__), "zig")))')
mapfile -t zig_includes < <("$zig" cc -target x86_64-linux-gnu.2.28 -E -v -xc /dev/null -o /dev/null 2>&1 |
  sed -n '/#include <...> search starts here:/,/End of search list./p' | sed '1d;$d;s/^ *//')
[ ${#zig_includes[@]} -gt 0 ] || { echo "build-wheel: no include directories from zig cc -v" >&2; exit 1; }
bindgen_args="-D__GLIBC_MINOR__=28"
for d in "${zig_includes[@]}"; do
  d=$(realpath -e "$d") || { echo "build-wheel: zig cc -v lists a missing include directory" >&2; exit 1; }
  bindgen_args+=" -isystem $d"
done

pc_path=""
for name in "${codecs[@]}"; do pc_path+="${pc_path:+:}${prefix[$name]}/lib/pkgconfig"; done

raw=target/wheels/raw
rm -rf "$raw"
echo "build-wheel: maturin build --release --zig --compatibility $policy" >&2
PATH="$PWD/$tools/bin:$PATH" PKG_CONFIG_LIBDIR="$pc_path" PKG_CONFIG_PATH="" SYSTEM_DEPS_X264_LINK=static \
  BINDGEN_EXTRA_CLANG_ARGS="$bindgen_args" FRAMEPIPE_FFMPEG_DIR="${prefix[ffmpeg-aac]}" \
  "$tools/bin/maturin" build --release --zig --compatibility "$policy" --auditwheel check --strip -i "$py" -o "$raw" >&2
whl=$(ls "$raw"/framepipe-*.whl)

mkdir -p dist
rm -f dist/framepipe-*.whl
cp "$whl" dist/
out=dist/$(basename "$whl")
echo "build-wheel: wrote $out ($(stat -c %s "$out") bytes, sha256 $(sha256sum "$out" | cut -c1-64))" >&2
echo "$PWD/$out"
