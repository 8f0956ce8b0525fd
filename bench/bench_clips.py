"""Clips: framepipe.clips against MoviePy 2.2.1 (PyPI) and MoviePy's current main, in one run.

1. **Per-frame operations** at 1280x720, encoding excluded: the seven of issue 11 (resize to
   half, a 2x1 clips_array of 640x360, background + 300x200 overlay with MaskColor and opacity
   0.4, background + TextClip, concatenate(method="compose") of 200 clips, background + 50
   overlays of 100x100, BlackAndWhite). Sources are time-varying VideoClips (a function of t
   returning one of four prepared frames), so nothing can be computed once and reused; the same
   scene is built with each library's own API and ``get_frame`` is timed over 48 distinct times.
2. **End to end**: ``write_videofile`` of (a) a matplotlib clip + a mask-coloured overlay at
   opacity 0.4 + a title, 10 s at 24 fps, and (b) a 2x2 clips_array of 640x360 numpy clips with
   titles; MoviePy (its ffmpeg pipe, libx264 preset medium, no audio) against framepipe with one
   worker and with ``workers=2``. The two-process ceiling is measured: the same video rendered as
   two halves by two framepipe processes (one worker each) started together; ``workers=2``
   reaches (serial time / its time) / (serial time / halves' time) of it.

Each library runs in its own subprocess (MoviePy main and 2.2.1 are both ``moviepy``), one after
the other, in the same run. Run:
``.venv/bin/python bench/bench_clips.py [--moviepy-main DIR] [--skip-e2e]``. ``--moviepy-main``
is a folder holding MoviePy main's ``moviepy`` package (e.g. ``git archive`` of
github.com/Zulko/moviepy); without it that column is left out.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FONT_CANDIDATES = [
    ROOT / "crates/framepipe/assets/fonts/DejaVuSans.ttf",
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
]
FONT = str(next(p for p in FONT_CANDIDATES if p.exists()))
W, H = 1280, 720
N_TIMES = 48

OPS = [
    "resized(0.5)",
    "clips_array 2x640x360",
    "overlay MaskColor+opacity",
    "background + TextClip",
    "concatenate 200 compose",
    "50 overlays 100x100",
    "BlackAndWhite",
]


def lib_of(name):
    if name == "framepipe":
        from framepipe import clips as lib
        from framepipe.clips import fx

        return lib, fx
    import moviepy as lib

    return lib, lib.vfx


def prepared(h, w, seed, noise=True):
    """Four plot-like frames; with `noise`, grain (sigma 4) so that no two pixels repeat."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    out = []
    for k in range(4):
        f = np.stack(
            [128 + 100 * np.sin(x / 37 + k), 128 + 100 * np.cos(y / 23 - k), 128 + 60 * np.sin((x + y) / 51)], 2
        )
        if noise:
            f += rng.normal(0, 4, f.shape)
        out.append(np.clip(f, 0, 255).astype(np.uint8))
    return out


def source(lib, h, w, seed, duration=10, noise=True):
    frames = prepared(h, w, seed, noise)
    return lib.VideoClip(lambda t: frames[int(t * 24) % 4], duration=duration)


def logo(h, w):
    import numpy as np

    img = np.full((h, w, 3), 255, np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    img[(xx - w / 2) ** 2 / (w / 2.2) ** 2 + (yy - h / 2) ** 2 / (h / 2.2) ** 2 < 1] = (30, 90, 200)
    return img


def build(op, lib, vfx):
    if op == "resized(0.5)":
        return source(lib, H, W, 1).resized(0.5)
    if op == "clips_array 2x640x360":
        return lib.clips_array([[source(lib, 360, 640, 1), source(lib, 360, 640, 2)]])
    if op == "overlay MaskColor+opacity":
        frames = [logo(200, 300)] * 2
        over = lib.VideoClip(lambda t: frames[int(t * 24) % 2], duration=10)
        over = over.with_effects([vfx.MaskColor(color=[255, 255, 255], threshold=20, stiffness=4)]).with_opacity(0.4)
        return lib.CompositeVideoClip([source(lib, H, W, 1), over.with_position("center")])
    if op == "background + TextClip":
        txt = lib.TextClip(font=FONT, text="Elevation in y=0", font_size=48, color="white").with_duration(10)
        return lib.CompositeVideoClip([source(lib, H, W, 1), txt.with_position(("center", "top"))])
    if op == "concatenate 200 compose":
        frames = prepared(H, W, 1)
        parts = [lib.VideoClip(lambda t, k=k: frames[k % 4], duration=0.05) for k in range(200)]
        return lib.concatenate_videoclips(parts, method="compose")
    if op == "50 overlays 100x100":
        layers = [source(lib, H, W, 1)]
        for k in range(50):
            layers.append(source(lib, 100, 100, 10 + k % 4).with_position(((k * 97) % (W - 100), (k * 53) % (H - 100))))
        return lib.CompositeVideoClip(layers)
    if op == "BlackAndWhite":
        return source(lib, H, W, 1).with_effects([vfx.BlackAndWhite()])
    raise ValueError(op)


def run_ops(name):
    lib, vfx = lib_of(name)
    res = {}
    for op in OPS:
        clip = build(op, lib, vfx)
        dur = clip.duration
        times = [(i * 0.2071) % (dur * 0.999) for i in range(N_TIMES)]
        clip.get_frame(times[0])
        clip.get_frame(times[1])
        samples = []
        for t in times:
            t0 = time.perf_counter()
            clip.get_frame(t)
            samples.append(time.perf_counter() - t0)
        res[op] = 1000 * statistics.median(samples)
    return res


# ---- end to end -----------------------------------------------------------------------------


def mpl_clip(lib, duration=10.0):
    """A 1280x720 matplotlib figure whose line moves. MoviePy 2 has no mplfig_to_npimage, so its
    user draws the canvas and takes its buffer (what MoviePy 1.x's mplfig_to_npimage did);
    framepipe's user calls framepipe.matplotlib.figure_to_array, the same thing by name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(W / 100, H / 100), dpi=100, facecolor="white")
    xx = np.linspace(-2, 2, 400)
    ax.set_ylim(-1.5, 2.5)
    (line,) = ax.plot(xx, np.sinc(xx**2) + np.sin(xx), lw=3)

    if lib.__name__.startswith("framepipe"):
        from framepipe.matplotlib import figure_to_array
    else:

        def figure_to_array(fig):
            fig.canvas.draw()
            return np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()

    def make_frame(t):
        line.set_ydata(np.sinc(xx**2) + np.sin(xx + 2 * np.pi * t / duration))
        return figure_to_array(fig)

    return lib.VideoClip(make_frame, duration=duration)


def scene(which, lib, vfx):
    if which == "composite":
        base = mpl_clip(lib)
        over = (
            lib.ImageClip(logo(300, 450), duration=10)
            .with_effects([vfx.MaskColor(color=[255, 255, 255], threshold=20, stiffness=4)])
            .with_opacity(0.4)
            .resized(height=0.85 * H)
            .with_position("center")
        )
        title = lib.TextClip(font=FONT, text="Elevation in y=0", font_size=40, color="black").with_duration(10)
        return lib.CompositeVideoClip([base, over, title.with_position(("center", "top"))])
    cells = []
    for r in range(2):
        row = []
        for c in range(2):
            k = 2 * r + c
            t = lib.TextClip(font=FONT, text=f"Panel {k}", font_size=28, color="white").with_duration(10)
            # clean (noise-free) panels, as plots are: x264's time depends on the content
            panel = source(lib, 360, 640, k, noise=False)
            row.append(lib.CompositeVideoClip([panel, t.with_position(("center", "top"))]))
        cells.append(row)
    return lib.clips_array(cells)


def run_e2e(name, which, out, mode):
    lib, vfx = lib_of(name)
    clip = scene(which, lib, vfx)
    if mode == "encode":
        # The floor: the same frames, made beforehand, encoded alone (x264 preset medium).
        import framepipe

        frames = [clip.get_frame(n / 24) for n in range(240)]
        t0 = time.perf_counter()
        with framepipe.VideoWriter(out, fps=24, preset="medium") as w:
            for f in frames:
                w.write(f)
        return time.perf_counter() - t0
    t0 = time.perf_counter()
    if name == "framepipe":
        if mode == "half0":
            clip = clip.subclipped(0, 5)
        elif mode == "half1":
            clip = clip.subclipped(5, 10)
        workers = 2 if mode == "workers2" else 1
        clip.write_videofile(out, fps=24, workers=workers, logger=None, preset="medium")
    else:
        clip.write_videofile(out, fps=24, codec="libx264", preset="medium", audio=False, logger=None)
    return time.perf_counter() - t0


# ---- driver -----------------------------------------------------------------------------------


def child(args):
    if args.moviepy_path:
        sys.path.insert(0, args.moviepy_path)
    if args.child == "ops":
        print(json.dumps(run_ops(args.lib)))
    else:
        which, mode, out = args.child.split(":")
        print(json.dumps(run_e2e(args.lib, which, out, mode)))


def spawn(lib, what, moviepy_path=None, wait=True):
    cmd = [sys.executable, __file__, "--child", what, "--lib", lib]
    if moviepy_path:
        cmd += ["--moviepy-path", moviepy_path]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, cwd=tempfile.gettempdir())
    if not wait:
        return p
    out, _ = p.communicate()
    if p.returncode:
        raise SystemExit(f"{lib} {what} failed")
    return json.loads(out.splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--moviepy-main")
    ap.add_argument("--skip-e2e", action="store_true")
    ap.add_argument("--child")
    ap.add_argument("--lib")
    ap.add_argument("--moviepy-path")
    args = ap.parse_args()
    if args.child:
        return child(args)
    libs = [("framepipe", None), ("moviepy 2.2.1", None)]
    if args.moviepy_main:
        libs.append(("moviepy main", args.moviepy_main))
    ops = {}
    for label, path in libs:
        ops[label] = spawn("framepipe" if label == "framepipe" else "moviepy", "ops", path)
    print("\n## Per-frame operations at 1280x720 (ms per frame, median of 48 distinct times)\n")
    head = (
        "| operation | "
        + " | ".join(l for l, _ in libs)
        + " | framepipe / 2.2.1 |"
        + (" framepipe / main |" if args.moviepy_main else "")
    )
    print(head)
    print("|" + " --- |" * (head.count("|") - 1))
    for op in OPS:
        fpms = ops["framepipe"][op]
        cells = [f"{ops[l][op]:.2f}" for l, _ in libs]
        ratios = [f"{fpms / ops['moviepy 2.2.1'][op]:.3f}"]
        if args.moviepy_main:
            ratios.append(f"{fpms / ops['moviepy main'][op]:.3f}")
        print(f"| {op} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    if args.skip_e2e:
        return
    with tempfile.TemporaryDirectory() as d:
        print("\n## End to end: write_videofile, 10 s at 24 fps, 1280x720 (seconds)\n")
        print(
            "| scene | MoviePy 2.2.1 | framepipe 1 worker | speed-up | framepipe workers=2 "
            "| two halves in parallel (ceiling) | workers=2 / ceiling | x264 alone on the frames |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for which in ("composite", "array"):
            mp = spawn("moviepy", f"{which}:full:{d}/mp.mp4")
            one = spawn("framepipe", f"{which}:serial:{d}/one.mp4")
            two = spawn("framepipe", f"{which}:workers2:{d}/two.mp4")
            ps = [spawn("framepipe", f"{which}:half{k}:{d}/h{k}.mp4", wait=False) for k in (0, 1)]
            # each half reports its own write_videofile time; they ran at once, so the slower
            # one is the time two processes need for the whole video (start-up excluded, as for
            # the other columns)
            halves = max(json.loads(p.communicate()[0].splitlines()[-1]) for p in ps)
            ceiling = one / halves
            achieved = one / two
            enc = spawn("framepipe", f"{which}:encode:{d}/enc.mp4")
            print(
                f"| {which} | {mp:.1f} | {one:.1f} | {mp / one:.1f}x | {two:.1f} | {halves:.1f} "
                f"| {achieved / ceiling:.2f} | {enc:.1f} |"
            )


if __name__ == "__main__":
    main()
