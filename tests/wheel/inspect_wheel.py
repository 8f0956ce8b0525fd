"""Checks a built wheel (scripts/test-wheel.sh): its tag is the manylinux policy auditwheel finds
it consistent with (manylinux_2_34, as the README says), auditwheel finds no external library
beyond that policy, libx264 is inside, and so are x264's licence and the GPL-2.0-or-later
licence field and the `framepipe` console script.

Usage: inspect_wheel.py WHEEL AUDITWHEEL
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

EXPECTED_PLATFORM = "manylinux_2_34_x86_64"  # README: glibc >= 2.34


def check(cond: bool, what: str) -> None:
    if not cond:
        raise SystemExit(f"inspect_wheel: FAILED: {what}")
    print(f"inspect_wheel: ok: {what}")


def main(wheel: Path, auditwheel: str) -> None:
    # framepipe-0.1.0-cp311-abi3-manylinux_2_34_x86_64.whl
    parts = wheel.name.removesuffix(".whl").split("-")
    check(len(parts) == 5 and parts[2:4] == ["cp311", "abi3"], f"{wheel.name}: abi3 wheel for CPython >= 3.11")
    platform = parts[4]
    check(platform == EXPECTED_PLATFORM, f"{wheel.name}: platform tag {platform}")

    show = subprocess.run([auditwheel, "show", str(wheel)], capture_output=True, text=True, check=True).stdout
    text = " ".join(show.split())
    print(show)
    m = re.search(r'is consistent with the following platform tag: "([a-z0-9_]+)"', text)
    check(m is not None and m.group(1) == platform, f"auditwheel show: consistent with {m and m.group(1)}")
    m = re.search(r'constrains the platform tag to "([a-z0-9_]+)"', text)
    check(m is not None and m.group(1) == platform, "auditwheel show: the symbol versions allow no older policy")
    check("external shared libraries" not in text, "auditwheel show: no external library beyond the policy")

    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        libs = [n for n in names if re.fullmatch(r"framepipe\.libs/libx264-[0-9a-f]+\.so\.164", n)]
        check(len(libs) == 1, f"libx264 is inside: {libs}")
        check(any(re.fullmatch(r"framepipe/_native\.abi3\.so", n) for n in names), "the extension is inside")
        dist = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        meta = z.read(f"{dist}/METADATA").decode()
        check("\nLicense-Expression: GPL-2.0-or-later\n" in meta, "METADATA: License-Expression: GPL-2.0-or-later")
        copying = z.read(f"{dist}/licenses/licenses/x264/COPYING").decode()
        check("GNU GENERAL PUBLIC LICENSE" in copying and "Version 2, June 1991" in copying, "x264's COPYING")
        check("License-File: licenses/x264/COPYING" in meta, "METADATA names x264's COPYING")
        entry = z.read(f"{dist}/entry_points.txt").decode()
        check("framepipe=framepipe._cli:main" in entry.replace(" ", ""), "the `framepipe` console script")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
