#!/usr/bin/env bash
# Installs everything (scripts/setup.sh) and renders the example animation to out/example.mp4.
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(scripts/setup.sh | tail -n 1)
mkdir -p out
"$python" examples/basic.py out/example.mp4
cargo run --release -q -p framepipe-cli -- probe out/example.mp4
