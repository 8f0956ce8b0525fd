#!/usr/bin/env bash
# The whole test suite: installs what it needs (scripts/setup.sh), then runs the Rust tests
# (engine + CLI) and the Python tests. Every output is decoded back by ffmpeg/ffprobe or PyAV.
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(scripts/setup.sh | tail -n 1)

echo "== cargo test (engine, CLI)"
cargo test --release --workspace --exclude framepipe-py 2>&1

echo "== pytest"
"$python" -m pytest -q tests "$@"
