#!/usr/bin/env python3
"""The engine benchmark's framepipe contender with two x264 builds: Debian's shared libx264 (the
framepipe of the test venv, `maturin develop`) against the wheel's, built from source with zig cc
and linked statically (scripts/build-wheel.sh). Same frames, same options (bench_engine.py's
frames and worker: crf 23, preset medium, x264 threads auto), each run in a fresh process, the
two alternating round by round (the order reversed every other round); reports CPU time (self +
children, getrusage), wall time, bytes, the PSNR of ffmpeg's decode against the source, and how
many bytes of the two files differ.

    .venv/bin/python bench/bench_wheel_x264.py --wheel-python /tmp/wheel-venv/bin/python
        [--frames 300] [--size 1280x720] [--rounds 5] [--report bench/wheel_x264.md]

The wheel's venv needs only the wheel (and numpy, which it pulls in).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_engine as be  # noqa: E402  (the engine benchmark's frames, worker and PSNR)


def x264_of(python: str) -> str:
    code = "import framepipe; i = framepipe.build_info(); print(i['x264_version'])"
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel-python", required=True, help="python of a venv with the wheel installed")
    ap.add_argument("--debian-python", default=sys.executable, help="python of the venv linking Debian's x264")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out-dir", default="/tmp/framepipe-bench")
    ap.add_argument("--report", help="also write the markdown report here")
    a = ap.parse_args()
    w, h = map(int, a.size.split("x"))
    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frames_file = out / f"frames_v{be.GEN_VERSION}_{w}x{h}_{a.frames}.rgb"
    if not frames_file.exists() or frames_file.stat().st_size != a.frames * w * h * 3:
        be.generate_frames(frames_file.with_suffix(".tmp"), a.frames, w, h)
        frames_file.with_suffix(".tmp").rename(frames_file)

    builds = {"debian": a.debian_python, "source": a.wheel_python}
    version = {k: x264_of(py) for k, py in builds.items()}
    runs: dict[str, list[dict]] = {k: [] for k in builds}
    for r in range(a.rounds):
        order = list(builds) if r % 2 == 0 else list(builds)[::-1]
        for k in order:
            path = out / f"wheel_x264_{k}.mp4"
            cmd = [builds[k], str(HERE / "bench_engine.py"), "--worker", "framepipe", "--frames", str(a.frames),
                   "--size", a.size, "--fps", "30", "--crf", "23", "--preset", "medium",
                   "--frames-file", str(frames_file), "--out", str(path)]  # fmt: skip
            p = subprocess.run(cmd, capture_output=True, text=True, check=True)
            res = json.loads(p.stdout.strip().splitlines()[-1])
            runs[k].append(res)
            print(f"round {r + 1} {k}: cpu {res['cpu_s']:.2f} s, wall {res['wall_s']:.2f} s", file=sys.stderr)

    files = {k: (out / f"wheel_x264_{k}.mp4").read_bytes() for k in builds}
    quality = {
        k: be.psnr(be.decode_cmd(out / f"wheel_x264_{k}.mp4", True), frames_file, a.frames, w, h)[0] for k in builds
    }
    same_len = len(files["debian"]) == len(files["source"])
    differ = sum(x != y for x, y in zip(files["debian"], files["source"])) if same_len else None
    ratios = [s["cpu_s"] / d["cpu_s"] for d, s in zip(runs["debian"], runs["source"])]

    lines = [
        f"Engine benchmark, framepipe contender: {a.frames} frames of {a.size} (bench_engine.py's plot-like frames), "
        f"crf 23, preset medium, x264 threads auto; {a.rounds} rounds alternating, a fresh process per run.",
        "",
        "| x264 | version | CPU s (median) | CPU s (min) | wall s (median) | bytes | PSNR dB |",
        "|---|---|---|---|---|---|---|",
    ]
    label = {"debian": "Debian 12's libx264.so (shared)", "source": "wheel's, from source (zig cc, static)"}
    for k in builds:
        cpu = [x["cpu_s"] for x in runs[k]]
        wall = [x["wall_s"] for x in runs[k]]
        lines.append(
            f"| {label[k]} | {version[k]} | {statistics.median(cpu):.2f} | {min(cpu):.2f} | "
            f"{statistics.median(wall):.2f} | {len(files[k])} | {quality[k]:.3f} |"
        )
    lines += [
        "",
        f"CPU time, from source / Debian, median of per-round ratios: {statistics.median(ratios):.3f} "
        f"(rounds: {', '.join(f'{x:.3f}' for x in ratios)}).",
        f"The two files: {'the same length, ' + str(differ) + ' bytes differ' if same_len else 'different lengths'}.",
    ]
    report = "\n".join(lines)
    print(report)
    if a.report:
        Path(a.report).write_text(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
