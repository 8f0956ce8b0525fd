#!/usr/bin/env python3
"""matplotlib benchmark: saving a line animation with matplotlib's ffmpeg writer, MoviePy over the
figure, and framepipe's writer (blit-aware and full redraws).

The animation (issue 3): y = sinc(x²) + sin(x + 2πt/T) over x in [-2, 2], with title, labels and
grid, 640x480 (6.4 x 4.8 in at dpi 100), 300 frames at 30 fps. The update function returns the line
it changed (the blit=True contract). Every contender runs in a fresh subprocess of this script
(imports and figure creation untimed; the timed region is the save), in rounds whose order rotates
and reverses every other round; the report gives medians over undisturbed runs and medians of the
per-round ratios against ``writer="ffmpeg"``.

    .venv/bin/python bench/bench_matplotlib.py              # 300 frames, 3 rounds (~4 min idle)
    .venv/bin/python bench/bench_matplotlib.py --quick      # 30 frames, 1 round

Contenders (all H.264, crf 23, preset medium, yuv420p, x264 threads automatic):
  ffmpeg writer    ani.save(path, writer="ffmpeg", fps=30): matplotlib's FFMpegWriter, Debian's
                   ffmpeg (libx264 defaults: crf 23, medium); savefig per frame, untagged BT.601
  moviepy          VideoClip(frame_function) over the figure (update, canvas.draw(), RGB array:
                   MoviePy's mplfig_to_npimage recipe), write_videofile(codec="libx264",
                   preset="medium", ffmpeg_params=["-crf", "23"]) with imageio-ffmpeg's binary
  ffmpeg writer (BT.709)  the same with extra_args converting and tagging BT.709 as framepipe does
                   (the colour matrix alone moves PSNR and size a little: this row separates that)
  framepipe blit   ani.save(path, writer="framepipe", fps=30)
  framepipe full   ani.save(path, writer=FramepipeWriter(fps=30, blit=False))

Quality: the source frames are rendered once (untimed) through framepipe's full-redraw capture,
which tests/test_blit.py shows is pixel-identical to matplotlib's savefig; every output is decoded
by ffmpeg (with its stream's own colour tags) and compared over all frames (PSNR, RGB).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTENDERS = ["ffmpeg-writer", "framepipe-blit", "moviepy", "framepipe-full", "ffmpeg-writer-bt709"]
LABELS = {
    "ffmpeg-writer": 'ani.save(writer="ffmpeg")',
    "ffmpeg-writer-bt709": 'ani.save(writer="ffmpeg"), BT.709 like framepipe',
    "moviepy": "MoviePy VideoClip over the figure",
    "framepipe-blit": "framepipe writer (blit)",
    "framepipe-full": "framepipe writer (blit=False)",
}
# What framepipe does about colour, as ffmpeg arguments: BT.709 matrix, limited range, tagged.
BT709_ARGS = [
    "-vf",
    "scale=out_color_matrix=bt709:out_range=tv",
    "-colorspace",
    "bt709",
    "-color_primaries",
    "bt709",
    "-color_trc",
    "bt709",
]
FOREIGN_MAX_S = 0.5  # CPU s other processes may use during a run before it counts as disturbed


# ------------------------------------------------------------------------------ the animation


def build(frames: int, fps: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.animation import FuncAnimation

    x = np.linspace(-2, 2, 800)
    period = 5.0
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    (line,) = ax.plot(x, np.sinc(x**2), lw=2)
    ax.set(xlim=(-2, 2), ylim=(-1.2, 2.2), xlabel="x", ylabel="y", title="y = sinc(x²) + sin(x + 2πt/T)")
    ax.grid(True, alpha=0.3)

    def update(i):
        line.set_ydata(np.sinc(x**2) + np.sin(x + 2 * np.pi * (i / fps) / period))
        return (line,)

    ani = FuncAnimation(fig, update, frames=frames, interval=1000 / fps)
    return fig, ani, update


# ------------------------------------------------------------------------------ worker side


def worker(a) -> dict:
    name, out = a.worker, a.out
    fig, ani, update = build(a.frames, a.fps)
    info: dict = {}
    if name == "moviepy":
        import numpy as np

        try:
            from moviepy import VideoClip  # MoviePy 2

            mp2 = True
        except ImportError:  # MoviePy 1.x
            from moviepy.editor import VideoClip

            mp2 = False
        try:
            from moviepy.video.io.bindings import mplfig_to_npimage
        except ImportError:

            def mplfig_to_npimage(f):
                f.canvas.draw()
                return np.asarray(f.canvas.buffer_rgba())[:, :, :3].copy()
    elif name.startswith("framepipe"):
        from framepipe.matplotlib import FramepipeWriter

    s0, c0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    if name == "ffmpeg-writer":
        ani.save(out, writer="ffmpeg", fps=a.fps)
    elif name == "ffmpeg-writer-bt709":
        ani.save(out, writer="ffmpeg", fps=a.fps, extra_args=BT709_ARGS)
    elif name == "framepipe-blit":
        w = FramepipeWriter(fps=a.fps, progress=False)
        ani.save(out, writer=w)
    elif name == "framepipe-full":
        w = FramepipeWriter(fps=a.fps, blit=False, progress=False)
        ani.save(out, writer=w)
    elif name == "moviepy":

        def frame_at(t):
            update(min(int(round(t * a.fps)), a.frames - 1))
            return mplfig_to_npimage(fig)

        clip = (
            VideoClip(frame_function=frame_at, duration=a.frames / a.fps)
            if mp2
            else VideoClip(make_frame=frame_at, duration=a.frames / a.fps)
        )
        clip.write_videofile(
            out, fps=a.fps, codec="libx264", preset="medium", ffmpeg_params=["-crf", "23"], audio=False, logger=None
        )
    else:
        raise SystemExit(f"unknown contender {name}")
    wall = time.perf_counter() - t0
    s1, c1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (s1.ru_utime - s0.ru_utime + s1.ru_stime - s0.ru_stime) + (
        c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime
    )
    if name.startswith("framepipe"):
        info = {"blit": w.stats["blit"], "full": w.stats["full"]}
    return {"name": name, "wall_s": wall, "cpu_s": cpu, **info}


def render_source(a, path: Path) -> None:
    """The exact frames, untimed: framepipe's full-redraw capture (== savefig, see tests)."""
    from framepipe.matplotlib import FramepipeWriter

    class Capture(FramepipeWriter):
        def _emit(self, rgba):
            import numpy as np

            self._sink.write(np.asarray(rgba)[:, :, :3].tobytes())
            super()._emit(rgba)

    fig, ani, _ = build(a.frames, a.fps)
    w = Capture(fps=a.fps, blit=False, progress=False, crf=51, preset="ultrafast")  # file discarded
    with open(path, "wb") as sink:
        w._sink = sink
        ani.save(str(path) + ".mp4", writer=w)
    os.unlink(str(path) + ".mp4")


# ------------------------------------------------------------------------------ measuring


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, /proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wait_idle(timeout: float, threshold: float = 0.3) -> float:
    """Wait (up to `timeout` s) until the machine uses under `threshold` cores; returns the load."""
    t0 = time.time()
    while True:
        b0 = busy_seconds()
        time.sleep(1.0)
        load = busy_seconds() - b0
        if load < threshold or time.time() - t0 >= timeout:
            return load


def probe(path: Path) -> dict:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height,nb_read_frames,color_space,pix_fmt,profile",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)["streams"][0]


def psnr(path: Path, source: Path, n: int, w: int, h: int) -> float:
    """PSNR (RGB, all frames) of `path` decoded by ffmpeg (its own colour tags) against `source`."""
    import numpy as np

    fb = w * h * 3
    p = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], stdout=subprocess.PIPE
    )
    se, count = 0.0, 0
    with open(source, "rb") as src:
        for _ in range(n):
            got = p.stdout.read(fb)
            if len(got) < fb:
                break
            ref = np.frombuffer(src.read(fb), np.uint8).astype(np.float64)
            se += float(((np.frombuffer(got, np.uint8) - ref) ** 2).sum())
            count += 1
    p.stdout.close()
    p.wait()
    if count != n:
        raise RuntimeError(f"{path}: decoded {count} frames, expected {n}")
    mse = se / (count * fb)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="30 frames, 1 round")
    ap.add_argument("--only", default=",".join(CONTENDERS))
    ap.add_argument("--out-dir", default="/tmp/framepipe-bench-mpl")
    ap.add_argument("--idle-timeout", type=float, default=60.0)
    ap.add_argument("--report", help="also write the Markdown report here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(worker(a)))
        return
    if a.quick:
        a.frames, a.rounds = 30, 1
    names = [c for c in CONTENDERS if c in a.only.split(",")]
    out_dir = Path(a.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    w, h = 640, 480

    print(f"rendering the {a.frames} source frames (untimed)...", file=sys.stderr)
    source = out_dir / f"source-{a.frames}.rgb"
    render_source(a, source)

    results: list[dict] = []
    for r in range(a.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        if r % 2:
            order = order[::-1]
        for name in order:
            path = out_dir / f"{name}.mp4"
            if path.exists():
                path.unlink()
            load = wait_idle(a.idle_timeout)
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                name,
                "--frames",
                str(a.frames),
                "--fps",
                str(a.fps),
                "--out",
                str(path),
            ]
            b0, c0 = busy_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
            b1, c1 = busy_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
            if p.returncode != 0:
                raise SystemExit(f"{name} failed:\n{p.stderr[-3000:]}")
            res = json.loads(p.stdout.strip().splitlines()[-1])
            own = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
            res.update(round=r, load_before=load, foreign_cpu_s=max(0.0, (b1 - b0) - own), bytes=path.stat().st_size)
            if r == a.rounds - 1:
                info = probe(path)
                res["frames_out"] = int(info["nb_read_frames"])
                res["size"] = f"{info['width']}x{info['height']}"
                res["colour"] = info.get("color_space", "untagged")
                res["psnr"] = psnr(path, source, a.frames, w, h)
            results.append(res)
            print(
                f"round {r} {name:15s} wall {res['wall_s']:7.2f} s  cpu {res['cpu_s']:7.2f} s  "
                f"{res['bytes']:>9} B  other processes {res['foreign_cpu_s']:.2f} CPU s",
                file=sys.stderr,
            )

    report = make_report(a, names, results)
    print(report)
    if a.report:
        Path(a.report).write_text(report)


def make_report(a, names: list[str], results: list[dict]) -> str:
    def runs(name):
        rs = [r for r in results if r["name"] == name]
        clean = [r for r in rs if r["foreign_cpu_s"] <= FOREIGN_MAX_S]
        return clean if len(clean) >= max(1, len(rs) // 2) else rs

    med = {n: {k: statistics.median(r[k] for r in runs(n)) for k in ("wall_s", "cpu_s", "bytes")} for n in names}
    last = {r["name"]: r for r in results if r["round"] == a.rounds - 1}
    base = "ffmpeg-writer"

    def paired_to(name, other, key="wall_s"):
        ratios = []
        for r in range(a.rounds):
            x = [q for q in results if q["round"] == r and q["name"] == name]
            b = [q for q in results if q["round"] == r and q["name"] == other]
            if x and b:
                ratios.append(b[0][key] / x[0][key])
        return statistics.median(ratios) if ratios else float("nan")

    def paired(name, key):
        return paired_to(name, base, key)

    L = [
        f"Command: `.venv/bin/python bench/bench_matplotlib.py{' --quick' if a.quick else ''}`  ",
        f"{_dt.date.today()}, {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{a.frames} frames 640x480 at {a.fps} fps, {a.rounds} round(s), order rotating.",
        "",
        "| contender | wall s (median) | CPU s | speed-up vs ffmpeg writer (wall, per-round median) | bytes | PSNR dB | frames | colour | runs disturbed |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for n in names:
        m, l = med[n], last.get(n, {})
        dist = sum(1 for r in results if r["name"] == n and r["foreign_cpu_s"] > FOREIGN_MAX_S)
        sp = "1.00×" if n == base else f"{paired(n, 'wall_s'):.2f}×"
        extra = f" ({l['blit']} blitted)" if "blit" in l and n == "framepipe-blit" else ""
        L.append(
            f"| {LABELS[n]}{extra} | {m['wall_s']:.2f} | {m['cpu_s']:.2f} | {sp} | {int(m['bytes'])} | "
            f"{l.get('psnr', float('nan')):.2f} | {l.get('frames_out', '?')} | {l.get('colour', '?')} | "
            f"{dist}/{a.rounds} |"
        )
    L.append("")
    if base in med:
        for n, goal in (("framepipe-blit", 10.0), ("framepipe-full", 1.6)):
            if n not in med or n not in last or base not in last:
                continue
            sp = paired(n, "wall_s")
            dp = last[n]["psnr"] - last[base]["psnr"]
            sz = med[n]["bytes"] / med[base]["bytes"]
            L.append(
                f"- {LABELS[n]}: {sp:.2f}× faster than the ffmpeg writer (goal ≥ {goal:g}×: "
                f"{'met' if sp >= goal else 'MISSED'}); size {sz:.3f}× ; PSNR {dp:+.2f} dB "
                f"(goal within 0.2 dB: {'met' if abs(dp) <= 0.2 else 'MISSED'})."
            )
    if "ffmpeg-writer-bt709" in last:
        ref = last["ffmpeg-writer-bt709"]
        for n in ("framepipe-blit",):
            if n in last:
                L.append(
                    f"- Against the ffmpeg writer converting to BT.709 as framepipe does: {LABELS[n]} is "
                    f"{paired_to(n, 'ffmpeg-writer-bt709'):.2f}× faster, size "
                    f"{med[n]['bytes'] / med['ffmpeg-writer-bt709']['bytes']:.3f}×, PSNR "
                    f"{last[n]['psnr'] - ref['psnr']:+.2f} dB."
                )
    L.append(
        f"- Disturbed = other processes used more than {FOREIGN_MAX_S} CPU s during the run (/proc/stat); "
        "medians use undisturbed runs when at least half are."
    )
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
