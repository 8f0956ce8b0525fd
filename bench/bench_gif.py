#!/usr/bin/env python3
"""Animated GIF: framepipe against the usual ways of writing one from Python, side by side.

Two contents, each encoded by every contender in a fresh subprocess (its own CPU time and peak
RSS), rounds alternating the order:

  plot  320x240, 100 frames of a matplotlib line animation (a sine wave travelling under fixed
        axes: anti-aliased line and text; every frame differs), 30 fps.
  photo 1280x720, 60 frames of plot content over smooth gradients (bench_engine.py's frames:
        gradient background, faint grid, moving anti-aliased discs, a rotating square, a
        travelling curve), 30 fps.

Contenders (frames are rendered once, untimed, into a raw file each run streams from):

  framepipe       framepipe.write_video(path, frames, fps=30)            (defaults)
  framepipe c128  ... colors=128                                          (photo only)
  pillow          what matplotlib's PillowWriter does: Image.frombuffer per frame, kept in a
                  list, then save(save_all=True, duration=int(1000/fps), loop=0)
  imageio         imageio.v3.imwrite(path, frames, extension=".gif", duration=1000/fps, loop=0)
  moviepy         ImageSequenceClip(frames, fps).write_gif(path)  (imageio's pillow plugin)
  ffmpeg 2-pass   ffmpeg palettegen (pass 1: raw frames in, palette.png out), then paletteuse
                  (pass 2: the frames again + the palette); both passes timed
  gifski q90      gifski --quality 90 on PNG frames (PNG writing untimed); only if a gifski
                  binary is given (--gifski PATH) or on PATH. AGPL: a peer, never a dependency.

Measured per run: wall and CPU time (user+sys of the worker and its children) of the timed region,
peak RSS (worker VmHWM + largest child), bytes. Quality (last round): every GIF decoded by ffmpeg,
one picture per GIF image, compared with the source over all frames: image by image when there is
one image per frame, else as shown at each frame's time (images expanded by their delays); also
the PSNR as shown (which counts timing errors, e.g. Pillow's 3 cs for 1/30 s) and the total
duration from the delays.

  .venv/bin/python bench/bench_gif.py                 # both contents, 3 rounds
  .venv/bin/python bench/bench_gif.py --quick         # 1 round, 30/20 frames
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FFMPEG = shutil.which("ffmpeg")
FFPROBE = shutil.which("ffprobe")

CONTENT = {
    "plot": dict(w=320, h=240, n=100, fps=30),
    "photo": dict(w=1280, h=720, n=60, fps=30),
}
PEERS = {
    "plot": ["framepipe", "pillow", "imageio", "moviepy", "ffmpeg 2-pass", "gifski q90"],
    "photo": ["framepipe", "framepipe c128", "pillow", "ffmpeg 2-pass", "gifski q90"],
}


# --------------------------------------------------------------------------- content


def make_plot_frames(path: Path, n: int, w: int, h: int) -> None:
    """A matplotlib line animation, rendered with Agg, as raw RGBA frames."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(w / 100, h / 100), dpi=100)
    x = np.linspace(0, 2 * np.pi, 200)
    (line,) = ax.plot(x, np.sin(x))
    ax.set_ylim(-1.2, 1.2)
    with open(path, "wb") as f:
        for i in range(n):
            line.set_ydata(np.sin(x + i / 10))
            fig.canvas.draw()
            f.write(bytes(fig.canvas.buffer_rgba()))
    plt.close(fig)


def make_photo_frames(path: Path, n: int, w: int, h: int) -> None:
    """bench_engine.py's plot-over-gradient frames (RGB), converted to RGBA like the plot ones."""
    import numpy as np

    sys.path.insert(0, str(HERE))
    from bench_engine import generate_frames

    rgb = path.with_suffix(".rgb")
    generate_frames(rgb, n, w, h)
    with open(rgb, "rb") as src, open(path, "wb") as dst:
        for _ in range(n):
            f = np.frombuffer(src.read(w * h * 3), np.uint8).reshape(h, w, 3)
            a = np.empty((h, w, 4), np.uint8)
            a[..., :3] = f
            a[..., 3] = 255
            dst.write(a.tobytes())
    rgb.unlink()


def frames_file(out_dir: Path, content: str, n: int) -> Path:
    c = CONTENT[content]
    path = out_dir / f"{content}-{c['w']}x{c['h']}-{n}.rgba"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        (make_plot_frames if content == "plot" else make_photo_frames)(tmp, n, c["w"], c["h"])
        tmp.rename(path)
    return path


def read_frames(path: Path, n: int, w: int, h: int):
    """Yield RGBA frames one at a time (a renderer producing them)."""
    import numpy as np

    with open(path, "rb") as f:
        for _ in range(n):
            yield np.frombuffer(f.read(w * h * 4), np.uint8).reshape(h, w, 4)


# --------------------------------------------------------------------------- worker side


def worker(a) -> dict:
    c = CONTENT[a.content]
    n, w, h, fps = a.frames, c["w"], c["h"], c["fps"]
    src, out = Path(a.src), Path(a.out)
    name = a.worker
    pngs = None
    if name == "gifski q90":  # gifski reads PNG files: write them before the clock starts
        import numpy as np
        from PIL import Image

        pngs = out.parent / f"png-{a.content}"
        pngs.mkdir(exist_ok=True)
        for i, f in enumerate(read_frames(src, n, w, h)):
            Image.fromarray(np.ascontiguousarray(f[..., :3])).save(pngs / f"{i:05d}.png", compress_level=1)
    # Import what the contender needs before timing (imports are not encoding).
    if name.startswith("framepipe"):
        import framepipe
    elif name == "pillow":
        from PIL import Image
    elif name == "imageio":
        import imageio.v3 as iio
        import numpy as np
    elif name == "moviepy":
        import numpy as np
        from moviepy import ImageSequenceClip

    r0, c0, t0 = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
        time.perf_counter(),
    )
    if name == "framepipe":
        framepipe.write_video(out, read_frames(src, n, w, h), fps=fps)
    elif name == "framepipe c128":
        framepipe.write_video(out, read_frames(src, n, w, h), fps=fps, colors=128)
    elif name == "pillow":
        # matplotlib.animation.PillowWriter: grab_frame keeps an RGBA Image per frame; finish saves.
        frames = [Image.frombuffer("RGBA", (w, h), bytes(f), "raw", "RGBA", 0, 1) for f in read_frames(src, n, w, h)]
        frames[0].save(out, save_all=True, append_images=frames[1:], duration=int(1000 / fps), loop=0)
    elif name == "imageio":
        iio.imwrite(out, np.stack(list(read_frames(src, n, w, h))), extension=".gif", duration=1000 / fps, loop=0)
    elif name == "moviepy":
        frames = [np.array(f[..., :3]) for f in read_frames(src, n, w, h)]
        ImageSequenceClip(frames, fps=fps).write_gif(str(out), fps=fps, logger=None)
    elif name == "ffmpeg 2-pass":
        palette = out.with_suffix(".palette.png")
        raw_in = ["-f", "rawvideo", "-pix_fmt", "rgba", "-s", f"{w}x{h}", "-framerate", str(fps), "-i", "-"]
        for args in (
            raw_in + ["-vf", "palettegen", str(palette)],
            raw_in + ["-i", str(palette), "-lavfi", "paletteuse", str(out)],
        ):
            p = subprocess.Popen([FFMPEG, "-v", "error", "-y", *args], stdin=subprocess.PIPE)
            for f in read_frames(src, n, w, h):
                p.stdin.write(f.tobytes())
            p.stdin.close()
            if p.wait() != 0:
                raise RuntimeError("ffmpeg failed")
    elif name == "gifski q90":
        files = sorted(str(p) for p in pngs.glob("*.png"))[:n]
        subprocess.run(
            [
                a.gifski,
                "--quiet",
                "--fps",
                str(fps),
                "--quality",
                "90",
                "--width",
                str(w),
                "--height",
                str(h),
                "-o",
                str(out),
                *files,
            ],
            check=True,
        )
    else:
        raise SystemExit(f"unknown contender {name}")
    t1, r1, c1 = (
        time.perf_counter(),
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    cpu = (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) + (
        c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime
    )
    hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
    return {"wall": t1 - t0, "cpu": cpu, "rss_mb": (hwm + c1.ru_maxrss) / 1024, "bytes": out.stat().st_size}


# --------------------------------------------------------------------------- measuring


def quality(path: Path, src: Path, n: int, w: int, h: int, fps: int) -> dict:
    """ffmpeg-decoded GIF images, expanded to display frames by their delays, against the source."""
    import numpy as np

    probe = json.loads(
        subprocess.run(
            [
                FFPROBE,
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                "packet=duration_time",
                "-of",
                "json",
                str(path),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    delays = [float(p["duration_time"]) for p in probe["packets"]]
    raw = subprocess.run(
        [
            FFMPEG,
            "-v",
            "error",
            "-i",
            str(path),
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    images = np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)
    starts = np.cumsum([0.0] + delays)
    sse = sse_img = 0.0
    for i, f in enumerate(read_frames(src, n, w, h)):
        t = (i + 0.5) / fps  # the middle of frame i: robust to either rounding of the delays
        k = min(int(np.searchsorted(starts, t, side="right")) - 1, len(images) - 1)
        sse += float(((images[k].astype(np.float64) - f[..., :3]) ** 2).sum())
        if len(images) == n:
            sse_img += float(((images[i].astype(np.float64) - f[..., :3]) ** 2).sum())
    db = lambda e: 99.0 if e == 0 else 10 * np.log10(255.0**2 / (e / (n * h * w * 3)))  # noqa: E731
    # Image by image when there is one image per frame (picture quality alone); else what is on
    # screen at each frame's time (then timing errors count too).
    return {
        "psnr": db(sse_img) if len(images) == n else db(sse),
        "psnr_shown": db(sse),
        "images": len(images),
        "duration": sum(delays),
    }


def load() -> float:
    return float(open("/proc/loadavg").read().split()[0])


def busy_seconds() -> float:
    """CPU seconds all processes used so far (from /proc/stat)."""
    f = open("/proc/stat").readline().split()[1:]
    ticks = sum(int(x) for x in f[:3]) + sum(int(x) for x in f[5:8])
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_idle(timeout: float) -> float:
    """Wait (up to timeout s) until the 1-minute load is below 0.7; returns it."""
    end = time.time() + timeout
    while load() >= 0.7 and time.time() < end:
        time.sleep(2)
    return load()


def run_one(a, name: str, content: str, src: Path, out: Path) -> dict | None:
    b0 = busy_seconds()
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        name,
        "--content",
        content,
        "--src",
        str(src),
        "--out",
        str(out),
        "--frames",
        str(a.frames_for[content]),
        "--gifski",
        a.gifski or "",
    ]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        print(f"  {name}: failed: {p.stderr.strip()[-500:]}", file=sys.stderr)
        return None
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r["others_cpu"] = max(busy_seconds() - b0 - r["cpu"], 0.0)  # CPU other processes used meanwhile
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--content", choices=list(CONTENT), help=argparse.SUPPRESS)
    ap.add_argument("--src", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--frames", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--only-content", choices=list(CONTENT), help="run one content only")
    ap.add_argument("--only", help="comma-separated contenders")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="1 round, 30 (plot) / 20 (photo) frames")
    ap.add_argument("--out-dir", default="/tmp/framepipe-bench-gif")
    ap.add_argument("--gifski", default=shutil.which("gifski"), help="a gifski binary (a peer only)")
    ap.add_argument("--idle-timeout", type=float, default=60)
    ap.add_argument("--report", help="also write the markdown report here")
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(worker(a)))
        return 0

    out_dir = Path(a.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rounds = 1 if a.quick else a.rounds
    a.frames_for = {"plot": 30 if a.quick else 100, "photo": 20 if a.quick else 60}
    contents = [a.only_content] if a.only_content else list(CONTENT)
    only = set(a.only.split(",")) if a.only else None
    lines = [
        f"# GIF benchmark ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, {rounds} round(s))",
        "",
        f"Command: `{' '.join([Path(sys.executable).name, *sys.argv])}`",
        "",
    ]
    raw = {}
    for content in contents:
        c = CONTENT[content]
        n = a.frames_for[content]
        src = frames_file(out_dir, content, n)
        names = [p for p in PEERS[content] if (only is None or p in only) and (p != "gifski q90" or a.gifski)]
        results = {p: [] for p in names}
        for r in range(rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            if r % 2:
                order.reverse()
            for name in order:
                ld = wait_idle(a.idle_timeout)
                out = out_dir / f"{content}-{name.replace(' ', '_')}.gif"
                res = run_one(a, name, content, src, out)
                if res:
                    res["load"] = ld
                    results[name].append(res)
                    print(
                        f"{content} round {r + 1} {name}: {res['wall']:.2f} s wall, {res['cpu']:.2f} s CPU, "
                        f"{res['bytes'] / 1e3:.0f} kB, load {ld:.2f}, others {res['others_cpu']:.2f} CPU s",
                        file=sys.stderr,
                    )
        q = {}
        for name in names:
            out = out_dir / f"{content}-{name.replace(' ', '_')}.gif"
            if results[name]:
                q[name] = quality(out, src, n, c["w"], c["h"], c["fps"])
        raw[content] = {"results": results, "quality": q}
        base = results.get("framepipe")
        med = lambda name, k, results=results: statistics.median(x[k] for x in results[name])  # noqa: E731
        lines += [
            f"## {content}: {c['w']}x{c['h']}, {n} frames, {c['fps']} fps",
            "",
            "| contender | wall s | CPU s | peak RSS MB | bytes | PSNR dB | PSNR as shown | images | duration s | wall vs framepipe | CPU vs framepipe |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name in names:
            if not results[name]:
                lines.append(f"| {name} | failed | | | | | | | | | |")
                continue
            rw, rc = (
                (
                    f"{med(name, 'wall') / med('framepipe', 'wall'):.1f}x",
                    f"{med(name, 'cpu') / med('framepipe', 'cpu'):.1f}x",
                )
                if base
                else ("", "")
            )
            lines.append(
                f"| {name} | {med(name, 'wall'):.2f} | {med(name, 'cpu'):.2f} | {med(name, 'rss_mb'):.0f} | "
                f"{int(med(name, 'bytes')):,} | {q[name]['psnr']:.2f} | {q[name]['psnr_shown']:.2f} | {q[name]['images']} | "
                f"{q[name]['duration']:.2f} | {rw} | {rc} |"
            )
        loads = [x["load"] for v in results.values() for x in v]
        others = [x["others_cpu"] for v in results.values() for x in v]
        lines += [
            "",
            f"Expected duration {n / c['fps']:.2f} s. Load before runs: {min(loads):.2f}–{max(loads):.2f}; CPU used by other processes during a run: "
            f"median {statistics.median(others):.2f} s, max {max(others):.2f} s.",
            "",
        ]
    (out_dir / "results.json").write_text(json.dumps(raw, indent=1))
    report = "\n".join(lines)
    print(report)
    if a.report:
        Path(a.report).write_text(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
