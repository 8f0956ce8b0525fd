#!/usr/bin/env bash
# Installs everything framepipe needs to build and test, idempotently:
#   Debian packages: libx264-dev (the encoder), libclang-dev + pkg-config (x264-sys's bindgen step),
#                    nasm + curl (the wheel's x264, built from source by scripts/build-codecs.sh),
#                    cmake (opusic-sys builds the bundled libopus from source, statically),
#                    nasm + curl also for FFmpeg's AAC encoder (scripts/build-codecs.sh ffmpeg-aac,
#                    built below into target/codecs/ and linked by every framepipe build),
#                    ffmpeg (independent decoder for the tests and the benchmark's peers)
#                    chromium + chromium-driver (tests/test_browser.py plays the Jupyter HTML headless)
#                    xvfb + xauth (tests/test_preview.py opens clip.preview()'s window on a virtual X
#                    display; docs/preview.md runs a preview under xvfb-run, which needs xauth)
#   a Python venv in .venv with maturin, numpy and the test tools, and the framepipe package
#   built from this checkout (release mode) into it.
# Usage: source-free; run `scripts/setup.sh`. Prints the venv's python path on the last line.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for p in libx264-dev libclang-dev pkg-config nasm curl cmake ffmpeg chromium chromium-driver xvfb xauth; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing Debian packages: ${need[*]}" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PY" -m venv .venv >&2
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >&2
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt >&2

# FFmpeg's AAC encoder, which every framepipe build links: a minimal static libavcodec +
# libavutil built from FFmpeg's pinned source (cached per checkout in target/codecs/; a few
# minutes the first time). crates/framepipe/build.rs finds it through the link
# target/codecs/ffmpeg-aac (.cargo/config.toml); the wheel links the same build.
echo "setup: FFmpeg's AAC encoder (scripts/build-codecs.sh ffmpeg-aac)" >&2
JOBS=${JOBS:-2} scripts/build-codecs.sh ffmpeg-aac >/dev/null

echo "setup: building the framepipe Python package (release)" >&2
# maturin develop builds into the workspace's target/ (incremental) and installs into .venv.
VIRTUAL_ENV="$PWD/.venv" PATH="$PWD/.venv/bin:$PATH" .venv/bin/maturin develop --release -q >&2
echo "$PWD/.venv/bin/python"
