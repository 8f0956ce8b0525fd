"""`pip install .` where the Debian packages that building framepipe needs are missing fails at
once, before cargo runs, naming them (build_backend/framepipe_backend.py), instead of a
bindgen, pkg-config or linker error minutes into the build."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def missing_in(env_updates: dict[str, str], prefix: list[str] | None = None, setup: str = "") -> list[str]:
    """framepipe_backend.missing_build_packages() in a fresh interpreter, with these variables."""
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT / 'build_backend')!r}); import framepipe_backend; "
        "print(repr(framepipe_backend.missing_build_packages()))"
    )
    cmd = [*(prefix or []), sys.executable, "-c", code]
    if setup:
        cmd = [*(prefix or []), "sh", "-euc", f'{setup}; exec "$0" "$@"', sys.executable, "-c", code]
    r = subprocess.run(cmd, env={**os.environ, **env_updates}, capture_output=True, text=True, check=True)
    return eval(r.stdout)


def test_nothing_is_missing_here():
    assert missing_in({}) == []


def test_pip_install_without_x264_fails_before_cargo(tmp_path):
    empty = tmp_path / "no-pkgconfig"
    empty.mkdir()
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
        "PKG_CONFIG_LIBDIR": str(empty),  # pkg-config finds no x264.pc
        "PKG_CONFIG_PATH": "",
        "CARGO_TARGET_DIR": str(tmp_path / "target"),
    }
    start = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--disable-pip-version-check",
         "-w", str(tmp_path / "out"), str(ROOT)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert "Debian packages are missing: libx264-dev (pkg-config finds no x264.pc)." in out, out
    assert "sudo apt install libx264-dev libclang-dev pkg-config" in out, out
    for later in ("Compiling", "x264-sys", "bindgen", "panicked", "Traceback"):
        assert later not in out, f"{later!r} in pip's output: {out}"
    assert not (tmp_path / "target").exists(), "cargo ran"
    assert time.monotonic() - start < 60


def test_no_pkg_config_program():
    missing = missing_in({"PKG_CONFIG": "/nonexistent/pkg-config"})
    assert missing == ["pkg-config (no pkg-config program to find x264 with)"]


def test_no_libclang():
    """In a mount namespace where every libclang shared library is /dev/null."""
    patterns = [f"{d}/{sub}libclang*.so*" for d in ("/usr/lib", "/usr/local/lib") for sub in ("", "*/", "*/*/")]
    libs = sorted({os.path.realpath(p) for pattern in patterns for p in glob.glob(pattern)})
    assert libs, "the test needs libclang installed (scripts/setup.sh)"
    prefix = ["unshare", "--mount", "--propagation", "private"]
    if os.getuid() != 0:
        prefix[1:1] = ["--map-root-user"]
    hide = "; ".join(f"mount --bind /dev/null '{p}'" for p in libs)
    assert missing_in({}, prefix, setup=hide) == ["libclang-dev (no libclang shared library for bindgen)"]


def test_no_cmake():
    missing = missing_in({"CMAKE": "/nonexistent/cmake"})
    assert missing == ["cmake (opusic-sys builds libopus with it)"]


def test_no_nasm_or_curl_when_ffmpeg_must_be_built(tmp_path):
    """A PATH with everything but nasm and curl: needed only where FFmpeg is not built yet."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("pkg-config", "cmake", "sh", "mount"):
        found = shutil.which(name)
        assert found, name
        (bin_dir / name).symlink_to(found)
    env = {"PATH": str(bin_dir), "FRAMEPIPE_FFMPEG_DIR": ""}
    assert missing_in(env) == [
        "nasm (the static FFmpeg build assembles with it)",
        "curl (the static FFmpeg build downloads FFmpeg's pinned source with it)",
    ]
    assert missing_in({**env, "FRAMEPIPE_FFMPEG_DIR": str(tmp_path)}) == []
