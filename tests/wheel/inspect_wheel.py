"""Checks a built wheel (scripts/test-wheel.sh): its tag is manylinux_2_28 or older, `auditwheel
show` finds it consistent with that tag and no external library beyond the policy, x264 is
compiled into the extension (no libx264 file, no dependency on one; the version the wheel pins),
the extension needs only glibc's libraries, x264's licence and a NOTICE naming the pinned
version and its source, FFmpeg's AAC encoder (libavcodec, LGPL-2.1-or-later) is compiled in with
its licence and a NOTICE naming the pinned version, its source and how to relink, the Rust
crates' licences and zig's are in .dist-info/licenses/, the
licence field is GPL-2.0-or-later, the `framepipe` console script is declared, and prints the
wheel's size.

Usage: inspect_wheel.py WHEEL AUDITWHEEL X264_VERSION X264_SHA256 FFMPEG_VERSION FFMPEG_SHA256
(the pins of scripts/build-codecs.sh, e.g. 0.164.3108+git31e19f9 and 7.1.5)
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLOOR = (2, 28)  # manylinux_2_28: glibc 2.28 (docs/packaging.md)
# What the extension may link dynamically: glibc's own libraries (all in every manylinux policy).
GLIBC_LIBS = {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "ld-linux-x86-64.so.2"}
# A size budget, to notice a codec or debug information creeping in (the wheel: ~2.9 MB with x264
# alone, before the audio encoders).
MAX_WHEEL_BYTES = 6_000_000


def check(cond: bool, what: str) -> None:
    if not cond:
        raise SystemExit(f"inspect_wheel: FAILED: {what}")
    print(f"inspect_wheel: ok: {what}")


def needed(elf: Path) -> set[str]:
    out = subprocess.run(["readelf", "-d", str(elf)], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))


def glibc_versions(elf: Path) -> set[tuple[int, ...]]:
    out = subprocess.run(["readelf", "-V", str(elf)], capture_output=True, text=True, check=True).stdout
    return {tuple(map(int, v.split("."))) for v in re.findall(r"Name: GLIBC_([0-9.]+)", out)}


# libavcodec's version for each FFmpeg release pinned (what the encoder writes into its streams).
LAVC_IDENT = {"7.1.5": "Lavc61.19.101"}


def main(wheel: Path, auditwheel: str, x264_version: str, x264_sha256: str, ff_version: str, ff_sha256: str) -> None:
    # framepipe-0.1.0-cp311-abi3-manylinux_2_28_x86_64.whl
    parts = wheel.name.removesuffix(".whl").split("-")
    check(len(parts) == 5 and parts[2:4] == ["cp311", "abi3"], f"{wheel.name}: abi3 wheel for CPython >= 3.11")
    platform = parts[4]
    m = re.fullmatch(r"manylinux_(\d+)_(\d+)_x86_64", platform)
    check(m is not None and (int(m[1]), int(m[2])) <= FLOOR, f"platform tag {platform}: manylinux_2_28 or older")

    show = subprocess.run([auditwheel, "show", str(wheel)], capture_output=True, text=True, check=True).stdout
    text = " ".join(show.split())
    print(show)
    m = re.search(r'is consistent with the following platform tag: "([a-z0-9_]+)"', text)
    check(m is not None and m.group(1) == platform, f"auditwheel show: consistent with {m and m.group(1)}")
    m = re.search(r'constrains the platform tag to "([a-z0-9_]+)"', text)
    check(m is not None and m.group(1) == platform, f"auditwheel show: the symbol versions allow {m and m.group(1)}")
    check("external shared libraries" not in text, "auditwheel show: no external library beyond the policy")

    size = wheel.stat().st_size
    with zipfile.ZipFile(wheel) as z, tempfile.TemporaryDirectory() as tmp:
        names = z.namelist()
        unpacked = sum(i.file_size for i in z.infolist())
        print(f"inspect_wheel: the wheel is {size / 1e6:.2f} MB ({size} bytes; {unpacked / 1e6:.2f} MB unpacked)")
        check(size <= MAX_WHEEL_BYTES, f"the wheel is at most {MAX_WHEEL_BYTES / 1e6:.0f} MB")
        check(not any("libx264" in n for n in names), "no libx264 file in the wheel (x264 is compiled in)")
        check("framepipe/_native.abi3.so" in names, "the extension is inside")
        native = Path(z.extract("framepipe/_native.abi3.so", tmp))
        print(f"inspect_wheel: framepipe/_native.abi3.so: {native.stat().st_size} bytes")
        libs = needed(native)
        check(libs <= GLIBC_LIBS, f"the extension needs only glibc's libraries: {sorted(libs)}")
        newest = max(glibc_versions(native))
        check(newest <= FLOOR, f"the newest glibc symbol version it uses is {'.'.join(map(str, newest))}")
        # x264's version as its library writes it into every stream ("0.164.3108 31e19f9").
        pointver = re.sub(r"\+git", " ", x264_version).encode()
        check(pointver in native.read_bytes(), f"x264 {pointver.decode()} is compiled into the extension")
        check(not any("libavcodec" in n or "libavutil" in n for n in names), "no libavcodec/libavutil file")
        ident = LAVC_IDENT.get(ff_version, "?")
        check(ident.encode() in native.read_bytes(), f"FFmpeg {ff_version}'s libavcodec ({ident}) is compiled in")

        dist = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        meta = z.read(f"{dist}/METADATA").decode()
        check("\nLicense-Expression: GPL-2.0-or-later\n" in meta, "METADATA: License-Expression: GPL-2.0-or-later")
        copying = z.read(f"{dist}/licenses/licenses/x264/COPYING").decode()
        check("GNU GENERAL PUBLIC LICENSE" in copying and "Version 2, June 1991" in copying, "x264's COPYING")
        check("License-File: licenses/x264/COPYING" in meta, "METADATA names x264's COPYING")
        notice = z.read(f"{dist}/licenses/licenses/x264/NOTICE").decode()
        check(
            x264_version in notice and x264_sha256 in notice,
            f"x264's NOTICE names the pinned version {x264_version} and its source's sha256",
        )
        lgpl = z.read(f"{dist}/licenses/licenses/ffmpeg/COPYING.LGPLv2.1").decode()
        check("GNU LESSER GENERAL PUBLIC LICENSE" in lgpl and "Version 2.1, February 1999" in lgpl, "FFmpeg's LGPL")
        check("License-File: licenses/ffmpeg/COPYING.LGPLv2.1" in meta, "METADATA names FFmpeg's licence")
        notice = z.read(f"{dist}/licenses/licenses/ffmpeg/NOTICE").decode()
        check(
            f"version {ff_version}" in notice and ff_sha256 in notice and "FRAMEPIPE_FFMPEG_DIR" in notice,
            f"FFmpeg's NOTICE names the pinned version {ff_version}, its source's sha256 and how to relink",
        )
        # The Rust crates compiled in: the file scripts/third-party-licenses.py --check found current.
        rust = z.read(f"{dist}/licenses/licenses/rust/THIRD-PARTY.txt").decode()
        ours = (ROOT / "licenses/rust/THIRD-PARTY.txt").read_text()
        check(rust == ours and "\npyo3 " in rust and "\nx264-sys " in rust, "the Rust crates' licences")
        zig = z.read(f"{dist}/licenses/licenses/zig/LICENSE").decode()
        check("Zig contributors" in zig and "Permission is hereby granted" in zig, "zig's licence (its runtime)")
        entry = z.read(f"{dist}/entry_points.txt").decode()
        check("framepipe=framepipe._cli:main" in entry.replace(" ", ""), "the `framepipe` console script")


if __name__ == "__main__":
    main(Path(sys.argv[1]), *sys.argv[2:7])
