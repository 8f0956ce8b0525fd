#!/usr/bin/env bash
# The whole test suite: installs what it needs (scripts/setup.sh), runs the lint gates, then the
# Rust tests (engine + CLI) and the Python tests, then the wheel step (scripts/test-wheel.sh:
# builds the self-contained wheel and tests it installed in a new venv with the system's libx264
# hidden). Every output is decoded back by ffmpeg/ffprobe or PyAV.
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(scripts/setup.sh | tail -n 1)
venv_bin=$(dirname "$python")

echo "== lint: cargo fmt, clippy, ruff, mypy, stubtest"
cargo fmt --all -- --check
cargo clippy --release --workspace --all-targets -- -D warnings 2>&1
"$venv_bin/ruff" check .
"$venv_bin/ruff" format --check .
# The package type-checks ([tool.mypy] in pyproject.toml: python/framepipe).
"$python" -m mypy
# The type stubs match the compiled module (run outside the checkout, so the installed
# package is what is imported).
(cd / && "$python" -m mypy.stubtest framepipe._native)

echo "== cargo test (engine, CLI)"
cargo test --release --workspace --exclude framepipe-py 2>&1

echo "== pytest"
"$python" -m pytest -q tests "$@"

echo "== wheel"
scripts/test-wheel.sh
