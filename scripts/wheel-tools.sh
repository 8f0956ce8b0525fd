#!/usr/bin/env bash
# Makes (once) the venv of the wheel's build tools, .venv-wheel, and prints its path. Shared by
# scripts/build-codecs.sh and scripts/build-wheel.sh. The versions are pinned: the compiler that
# builds x264 and the extension is part of what the wheel is.
#   maturin     builds the wheel (its --zig mode links the extension with zig cc);
#   ziglang     zig, whose `zig cc` (clang with glibc stubs of any version) compiles and links for
#               glibc 2.28 from this machine: the manylinux_2_28 floor (MIT);
#   auditwheel  checks the result (`auditwheel show`): which manylinux policy it meets.
# A change of the pins below re-creates the venv.
# Usage: scripts/wheel-tools.sh   (prints the venv's directory, relative to the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."

tools=.venv-wheel
pins=("maturin==1.16.0" "ziglang==0.17.1" "auditwheel==6.8.2")
if [ ! -x "$tools/bin/python" ] || [ "$(cat "$tools/pins" 2>/dev/null)" != "${pins[*]}" ]; then
  echo "wheel-tools: creating $tools (${pins[*]})" >&2
  rm -rf "$tools"
  "${PYTHON:-python3}" -m venv "$tools" >&2
  "$tools/bin/python" -m pip install -q --disable-pip-version-check "${pins[@]}" >&2
  echo "${pins[*]}" >"$tools/pins"
fi
echo "$tools"
