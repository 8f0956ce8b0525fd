#!/usr/bin/env bash
# The wheel step of the test suite (scripts/test.sh runs it after the main suite, so CI does):
#   1. builds the wheel (scripts/build-wheel.sh: x264 from source, static, for manylinux_2_28)
#      and checks it (tests/wheel/inspect_wheel.py): the tag is manylinux_2_28 or older,
#      `auditwheel show`'s verdict agrees and names no external library, the extension needs only
#      glibc and has the pinned x264 inside, x264's COPYING and NOTICE (the pinned version and
#      its sha256), FFmpeg's AAC encoder compiled in with its LGPL and NOTICE, the Rust crates' licences (current: scripts/third-party-licenses.py --check)
#      and zig's, the GPL-2.0-or-later licence field and the console script are in it; prints
#      the wheel's size;
#   2. installs it into a new venv (numpy and cloudpickle from PyPI);
#   3. runs tests/wheel/smoke.py in a mount namespace (`unshare --mount`) in which every
#      libx264.so* and libclang*.so* on the system is covered by a bind mount of /dev/null, and
#      ~/.cargo and ~/.rustup by empty directories, with a PATH of the venv and /usr/bin:/bin:
#      the script asserts that they are hidden (reading each, dlopen of libx264.so.164, no cargo,
#      rustc or clang) and that the x264 encoding is the wheel's own version, then writes an MP4
#      and a GIF with the Python API and runs the venv's `framepipe` on raw frames from stdin and
#      on PNG files; outside the namespace (ffmpeg links libx264 itself) ffprobe and ffmpeg
#      decode every file and compare it with the source frames (the MP4 with sound joins here
#      with issue 23: see the hook in smoke.py);
#   4. runs the CLI's own tests (crates/framepipe-cli/tests/cli.rs) against the console script,
#      and the determinism tests (tests/test_determinism.py) with the wheel in its venv.
# Needs the test venv of scripts/setup.sh (.venv, for the checks with numpy outside the namespace).
# Usage: scripts/test-wheel.sh
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
py=.venv/bin/python

echo "== wheel: build"
# The Rust crates' licences the wheel carries are those Cargo.lock gives.
"$py" scripts/third-party-licenses.py --check
whl=$(scripts/build-wheel.sh | tail -n 1)
echo "== wheel: built in $(($(date +%s) - start)) s; inspect $(basename "$whl")"
# The x264 the wheel must contain: the pins of scripts/build-codecs.sh.
x264_version=$(sed -n 's/^x264_version=//p' scripts/build-codecs.sh)
x264_sha256=$(sed -n 's/^x264_sha256=//p' scripts/build-codecs.sh)
ffmpeg_version=$(sed -n 's/^ffmpeg_aac_version=//p' scripts/build-codecs.sh)
ffmpeg_sha256=$(sed -n 's/^ffmpeg_aac_sha256=//p' scripts/build-codecs.sh)
"$py" tests/wheel/inspect_wheel.py "$whl" "$(scripts/wheel-tools.sh)/bin/auditwheel" "$x264_version" "$x264_sha256" \
  "$ffmpeg_version" "$ffmpeg_sha256"

work=$(mktemp -d /tmp/framepipe-wheel.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "== wheel: install into a new venv"
# The interpreter of the test venv, outside any venv (a machine with nothing but Python).
base=$("$py" -c 'import sys; print(sys.base_prefix)')/bin/python3
"$base" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check "$whl"

echo "== wheel: smoke test with the system's libx264 (and libclang, Rust) hidden"
mapfile -t hidden < <(find /usr/lib /usr/lib64 /usr/local/lib /lib /lib64 -maxdepth 3 \
  \( -name 'libx264.so*' -o -name 'libclang*.so*' \) \( -type f -o -type l \) 2>/dev/null \
  | xargs -r readlink -f | sort -u)
mkdir -p "$work/out" "$work/empty"
# Everything runs in the new namespace: the bind mounts vanish with it. (Not root: in a user
# namespace of its own, where this process is root.)
userns=(); [ "$(id -u)" -eq 0 ] || userns=(--map-root-user)
unshare "${userns[@]}" --mount --propagation private bash -euc '
  work=$1; x264_version=$2; shift 2
  for f in "$@"; do mount --bind /dev/null "$f"; done
  for d in "$HOME/.cargo" "$HOME/.rustup"; do [ -d "$d" ] && mount --bind "$work/empty" "$d"; done
  cd "$work"
  exec env -i HOME="$HOME" PATH="$work/venv/bin:/usr/bin:/bin" LANG=C.UTF-8 \
    "$work/venv/bin/python" "$OLDPWD/tests/wheel/smoke.py" write "$work/out" "$x264_version" "$@"
' _ "$work" "${x264_version/+git/ }" "${hidden[@]}"
"$py" tests/wheel/smoke.py check "$work/out"

echo "== wheel: the CLI tests (crates/framepipe-cli/tests/cli.rs) against the console script"
FRAMEPIPE_CLI="$work/venv/bin/framepipe" cargo test --release -q -p framepipe-cli --test cli 2>&1

echo "== wheel: the determinism tests (tests/test_determinism.py) with the wheel's x264"
# In the wheel's venv (pytest added): same frames, same bytes, whatever the heap held; on a CPU
# with AVX-512 this is also the test that x264's AVX-512 code stays off (docs/packaging.md).
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check pytest
"$work/venv/bin/python" -c 'import framepipe, sys; assert framepipe.__file__.startswith(sys.prefix), framepipe.__file__'
"$work/venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_determinism.py

echo "== wheel: all checks passed in $(($(date +%s) - start)) s"
