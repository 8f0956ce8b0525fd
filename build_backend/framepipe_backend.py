"""framepipe's PEP 517 build backend: maturin's, after one check of what compiling framepipe
from source needs besides Rust (pyproject.toml's ``backend-path``).

framepipe links x264, and x264-sys (the Rust binding) finds it with pkg-config and generates its
bindings with bindgen, which loads libclang. Where one of those is missing, ``pip install .``
would otherwise fail minutes into the cargo build with x264-sys's pkg-config panic or a bindgen
or linker error. The same for cmake (opusic-sys builds libopus with it) and, where FFmpeg's AAC
encoder must be built (below), nasm and curl. This check runs before maturin starts cargo, and
names the Debian packages.
(A cargo build script cannot do it: cargo schedules x264-sys's build script as early as any
other, and it often runs first.)

It also makes sure the static FFmpeg (libavcodec with the AAC encoder only, and libavutil) that
crates/framepipe/build.rs links exists: where ``FRAMEPIPE_FFMPEG_DIR`` is not set, it runs
``scripts/build-codecs.sh ffmpeg-aac`` (which reuses a cached build) and sets the variable to the
build it names, so ``pip install .`` from a checkout works as ``scripts/setup.sh`` does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import maturin
from maturin import build_sdist, get_requires_for_build_sdist

__all__ = [
    "build_wheel",
    "build_editable",
    "build_sdist",
    "get_requires_for_build_wheel",
    "get_requires_for_build_sdist",
    "prepare_metadata_for_build_wheel",
    "missing_build_packages",
]

INSTALL = "sudo apt install libx264-dev libclang-dev pkg-config cmake nasm curl"


def _is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def _libclang_dirs() -> list[Path]:
    """Where clang-sys (bindgen's loader of libclang) looks on Linux: LIBCLANG_PATH, `llvm-config
    --libdir`, the library directories and their multiarch and LLVM subdirectories."""
    dirs = []
    if os.environ.get("LIBCLANG_PATH"):
        dirs.append(Path(os.environ["LIBCLANG_PATH"]))
    llvm_config = shutil.which("llvm-config")
    if llvm_config:
        r = subprocess.run([llvm_config, "--libdir"], capture_output=True, text=True)
        if r.returncode == 0:
            dirs.append(Path(r.stdout.strip()))
    for base in map(Path, ["/usr/lib", "/usr/lib64", "/usr/local/lib", "/usr/local/lib64", "/lib", "/lib64"]):
        dirs.append(base)
        if base.is_dir():
            for sub in sorted(base.iterdir()):
                if not sub.is_dir():
                    continue
                if "-linux-" in sub.name:
                    dirs.append(sub)
                elif sub.name.startswith("llvm"):
                    dirs += [sub / "lib", sub / "lib64"]
    return dirs


def _has_libclang(d: Path) -> bool:
    """libclang.so, libclang-14.so, libclang.so.1, libclang-14.so.13 ... (a shared object) in d."""
    if d.is_file():  # LIBCLANG_PATH may name the library itself
        return _is_elf(d)
    if not d.is_dir():
        return False
    for p in d.glob("libclang*.so*"):
        rest = p.name[len("libclang") :]
        versioned = rest.startswith("-") and rest[1:2].isdigit()
        if (rest.startswith(".so") or versioned) and _is_elf(p):
            return True
    return False


def missing_build_packages() -> list[str]:
    """The Debian packages building framepipe needs and does not find, each with the reason."""
    missing = []
    # system-deps (x264-sys's probe) can be told where x264 is without pkg-config.
    if not os.environ.get("SYSTEM_DEPS_X264_NO_PKG_CONFIG"):
        pkg_config = shutil.which(os.environ.get("PKG_CONFIG", "pkg-config"))
        if pkg_config is None:
            missing.append("pkg-config (no pkg-config program to find x264 with)")
        elif subprocess.run([pkg_config, "--exists", "x264"], capture_output=True).returncode != 0:
            missing.append("libx264-dev (pkg-config finds no x264.pc)")
    if not any(_has_libclang(d) for d in _libclang_dirs()):
        missing.append("libclang-dev (no libclang shared library for bindgen)")
    if shutil.which(os.environ.get("CMAKE", "cmake")) is None:
        missing.append("cmake (opusic-sys builds libopus with it)")
    if not os.environ.get("FRAMEPIPE_FFMPEG_DIR"):
        # scripts/build-codecs.sh ffmpeg-aac downloads FFmpeg's pinned source and assembles with nasm.
        if shutil.which("nasm") is None:
            missing.append("nasm (the static FFmpeg build assembles with it)")
        if shutil.which("curl") is None:
            missing.append("curl (the static FFmpeg build downloads FFmpeg's pinned source with it)")
    return missing


def _check() -> None:
    missing = missing_build_packages()
    if missing:
        print(
            "framepipe: building from source links x264 (bindings generated with libclang), libopus (built with "
            "cmake) and FFmpeg's AAC encoder (built from source with nasm), and these "
            f"Debian packages are missing: {'; '.join(missing)}.\n"
            f"Install them with `{INSTALL}` (elsewhere: x264's development files, pkg-config, libclang, "
            "cmake, nasm and curl), "
            "then run pip again; or install a framepipe wheel, which has x264 inside (scripts/build-wheel.sh).",
            file=sys.stderr,
        )
        raise SystemExit(1)


def _ensure_ffmpeg() -> None:
    """FRAMEPIPE_FFMPEG_DIR set, or pointed at the checkout's build of scripts/build-codecs.sh."""
    if os.environ.get("FRAMEPIPE_FFMPEG_DIR"):
        return
    script = Path(__file__).resolve().parents[1] / "scripts" / "build-codecs.sh"
    if not script.is_file():
        print(
            "framepipe: building from source links a static build of FFmpeg's AAC encoder, and this source "
            f"has no {script} to make one: set FRAMEPIPE_FFMPEG_DIR to such a build (docs/packaging.md) "
            "or build from a framepipe checkout.",
            file=sys.stderr,
        )
        raise SystemExit(1)
    # Its log goes to stderr; stdout has "ffmpeg-aac PREFIX".
    out = subprocess.run([str(script), "ffmpeg-aac"], stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        print(f"framepipe: {script} ffmpeg-aac failed (exit {out.returncode}): see above", file=sys.stderr)
        raise SystemExit(1)
    # The link to that build, the same path .cargo/config.toml gives (no rebuild of build.rs
    # between `pip install .` and cargo commands in the checkout).
    os.environ["FRAMEPIPE_FFMPEG_DIR"] = str(script.parents[1] / "target" / "codecs" / "ffmpeg-aac")


def get_requires_for_build_wheel(config_settings=None):
    _check()
    return maturin.get_requires_for_build_wheel(config_settings)


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    _check()
    return maturin.prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _check()
    _ensure_ffmpeg()
    return maturin.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    _check()
    _ensure_ffmpeg()
    return maturin.build_editable(wheel_directory, config_settings, metadata_directory)
