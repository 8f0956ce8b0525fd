#!/usr/bin/env python3
"""Engine benchmark: framepipe vs the ffmpeg rawvideo pipe, imageio-ffmpeg, MoviePy, and x264 alone.

Synthetic plot-like frames (smooth gradient background, grid, moving anti-aliased shapes, a curve)
are generated once with numpy into a raw rgb24 file (kept in the page cache), and every contender
streams them from it one frame at a time, in a fresh subprocess of this script, so that CPU time
(self + children, from getrusage) and peak RSS are per contender. Contenders alternate round by
round (the order rotates each round); the report gives medians.

    .venv/bin/python bench/bench_engine.py                  # 300 frames 1280x720, 3 rounds
    .venv/bin/python bench/bench_engine.py --quick          # smoke run: 30 small frames, 1 round

Contenders (crf 23, preset medium, x264 threads auto everywhere):
  framepipe            framepipe.VideoWriter(...).write(frame) per frame (in-process x264)
  ffmpeg pipe          `ffmpeg -f rawvideo -pix_fmt rgb24 ... -i - -c:v libx264 ...` fed from Python
                       (what matplotlib's FFMpegWriter does): untagged, BT.601 matrix
  ffmpeg pipe (bt709)  the same with BT.709 conversion and tags, as framepipe does
  imageio-ffmpeg       imageio_ffmpeg.write_frames (its own ffmpeg binary)
  moviepy              VideoClip(...).write_videofile (imageio-ffmpeg's binary)
  x264 alone           crates/framepipe/examples/encode_yuv: X264Encoder + Mp4Writer on yuv420p
                       pre-converted with framepipe's own converter: the limit
  read only            just reads the source frames (the cost every Python contender pays)
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "target" / "release" / "examples" / "encode_yuv"
GEN_VERSION = 2  # bump when the frame generator changes (names the cached source file)

CONTENDERS = ["framepipe", "ffmpeg-pipe", "ffmpeg-pipe-bt709", "imageio-ffmpeg", "moviepy", "x264-alone", "read-only"]
LABELS = {
    "framepipe": "framepipe (Python API)",
    "ffmpeg-pipe": "ffmpeg pipe",
    "ffmpeg-pipe-bt709": "ffmpeg pipe (bt709)",
    "imageio-ffmpeg": "imageio-ffmpeg",
    "moviepy": "moviepy",
    "x264-alone": "x264 alone (limit)",
    "read-only": "read frames only",
}
BT709_FLAGS = [
    "-vf", "scale=out_color_matrix=bt709:out_range=tv",
    "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
]


# --------------------------------------------------------------------------- frames


def generate_frames(path: Path, n: int, w: int, h: int) -> None:
    """Write n plot-like rgb24 frames to `path`; every frame differs."""
    import numpy as np

    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = xs / (w - 1), ys / (h - 1)
    # Smooth diagonal gradient, light like a plot's face.
    bg = np.stack([0.93 - 0.10 * v, 0.95 - 0.05 * u * v, 0.99 - 0.12 * u], axis=-1).astype(np.float32)
    # Faint grid every 1/10 of the frame, anti-aliased (1.2 px wide).
    for step, size, axis in ((w / 10, w, 1), (h / 10, h, 0)):
        coord = xs if axis == 1 else ys
        d = np.abs(((coord + step / 2) % step) - step / 2)
        a = np.clip(1.2 - d, 0, 1)[..., None] * 0.35
        bg = bg * (1 - a) + np.float32(0.75) * a
    bg = bg.astype(np.float32)
    x = np.arange(w, dtype=np.float32)
    scale = h / 720.0
    shapes = [  # (colour, radius, centre path)
        (np.array([0.12, 0.47, 0.71], np.float32), 60 * scale, (0.25, 0.50, 0.20, 0.25, 0.011, 0.017)),
        (np.array([1.00, 0.50, 0.05], np.float32), 40 * scale, (0.60, 0.40, 0.30, 0.30, 0.023, 0.013)),
        (np.array([0.17, 0.63, 0.17], np.float32), 25 * scale, (0.45, 0.65, 0.35, 0.20, 0.031, 0.027)),
    ]
    with open(path, "wb") as f:
        for i in range(n):
            img = bg.copy()
            # Moving discs, anti-aliased edges (coverage from the distance to the rim).
            for col, r, (cx0, cy0, ax, ay, fx, fy) in shapes:
                cx = (cx0 + ax * np.sin(2 * np.pi * fx * i)) * w
                cy = (cy0 + ay * np.cos(2 * np.pi * fy * i)) * h
                x0, x1 = max(int(cx - r - 2), 0), min(int(cx + r + 3), w)
                y0, y1 = max(int(cy - r - 2), 0), min(int(cy + r + 3), h)
                if x0 >= x1 or y0 >= y1:
                    continue
                d = np.hypot(xs[y0:y1, x0:x1] - cx, ys[y0:y1, x0:x1] - cy)
                a = np.clip(r - d + 0.5, 0, 1)[..., None] * 0.85
                img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - a) + col * a
            # A rotating square outline (anti-aliased signed distance to a rotated box).
            ang = 0.02 * i
            cx, cy, half = w * (0.78 - 0.1 * np.sin(0.01 * i)), h * 0.3, 50 * scale
            x0, x1 = max(int(cx - 1.5 * half), 0), min(int(cx + 1.5 * half), w)
            y0, y1 = max(int(cy - 1.5 * half), 0), min(int(cy + 1.5 * half), h)
            px, py = xs[y0:y1, x0:x1] - cx, ys[y0:y1, x0:x1] - cy
            qx = np.abs(np.cos(ang) * px + np.sin(ang) * py) - half
            qy = np.abs(-np.sin(ang) * px + np.cos(ang) * py) - half
            sd = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0)
            a = np.clip(2.0 - np.abs(sd), 0, 1)[..., None]
            img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - a) + np.float32(0.84) * np.array([0.8, 0.1, 0.2], np.float32) * a
            # The curve: a travelling damped wave, 2.5 px wide, anti-aliased by perpendicular distance.
            ph = 0.08 * i
            yc = h * (0.55 + 0.25 * np.sin(x / w * 6 * np.pi - ph) * np.exp(-x / w) + 0.05 * np.sin(x / w * 23 - 2 * ph))
            dy = np.gradient(yc)
            lo, hi = max(int(yc.min() - 6), 0), min(int(yc.max() + 7), h)
            dist = np.abs(ys[lo:hi] - yc[None, :]) / np.sqrt(1 + dy * dy)[None, :]
            a = np.clip(1.75 - dist, 0, 1)[..., None]
            img[lo:hi] = img[lo:hi] * (1 - a) + np.array([0.1, 0.1, 0.1], np.float32) * a
            f.write((img * 255 + 0.5).astype(np.uint8).tobytes())


# --------------------------------------------------------------------------- worker side


def _read_frame(f, i: int, w: int, h: int):
    import numpy as np

    fb = w * h * 3
    f.seek(i * fb)
    a = np.fromfile(f, np.uint8, fb)
    if a.size != fb:
        raise RuntimeError(f"source file ends before frame {i}")
    return a.reshape(h, w, 3)


def _ffmpeg_cmd(exe: str, a, extra: list[str]) -> list[str]:
    return [
        exe, "-y", "-loglevel", "error",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{a.w}x{a.h}", "-framerate", str(a.fps), "-i", "-",
        *extra,
        "-c:v", "libx264", "-preset", a.preset, "-crf", str(a.crf), "-pix_fmt", "yuv420p",
        "-profile:v", "high", "-movflags", "+faststart", a.out,
    ]


def worker(a) -> dict:
    """Run one contender once; return its measurements (timed region only)."""
    name, w, h, n = a.worker, a.w, a.h, a.frames
    info: dict = {}
    # Imports and set-up outside the timed region.
    if name in ("framepipe", "ffmpeg-pipe", "ffmpeg-pipe-bt709", "imageio-ffmpeg", "moviepy", "read-only"):
        import numpy as np  # noqa: F401
    if name == "framepipe":
        import framepipe
    elif name == "imageio-ffmpeg":
        import imageio_ffmpeg
    elif name == "moviepy":
        try:
            from moviepy import VideoClip  # MoviePy 2
            mp2 = True
        except ImportError:  # MoviePy 1.x
            from moviepy.editor import VideoClip
            mp2 = False
    src = open(a.frames_file, "rb")
    err_path = a.out + ".stderr.txt"

    s0, c0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    if name == "framepipe":
        vw = framepipe.VideoWriter(a.out, fps=a.fps, crf=a.crf, preset=a.preset)
        for i in range(n):
            vw.write(_read_frame(src, i, w, h))
        vw.close()
    elif name in ("ffmpeg-pipe", "ffmpeg-pipe-bt709"):
        extra = BT709_FLAGS if name == "ffmpeg-pipe-bt709" else []
        with open(err_path, "wb") as err:
            p = subprocess.Popen(_ffmpeg_cmd(a.ffmpeg, a, extra), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
            for i in range(n):
                p.stdin.write(memoryview(_read_frame(src, i, w, h)).cast("B"))
            p.stdin.close()
            if p.wait() != 0:
                raise RuntimeError(f"ffmpeg failed: {Path(err_path).read_text()[-2000:]}")
    elif name == "imageio-ffmpeg":
        gen = imageio_ffmpeg.write_frames(
            a.out, (w, h), fps=a.fps, codec="libx264", quality=None, pix_fmt_in="rgb24", pix_fmt_out="yuv420p",
            macro_block_size=1, ffmpeg_log_level="error", output_params=["-crf", str(a.crf), "-preset", a.preset],
        )
        gen.send(None)
        for i in range(n):
            gen.send(_read_frame(src, i, w, h))
        gen.close()
    elif name == "moviepy":
        def frame_at(t):
            return _read_frame(src, min(int(round(t * a.fps)), n - 1), w, h)

        clip = VideoClip(frame_function=frame_at, duration=n / a.fps) if mp2 else VideoClip(make_frame=frame_at, duration=n / a.fps)
        clip.write_videofile(a.out, fps=a.fps, codec="libx264", preset=a.preset, ffmpeg_params=["-crf", str(a.crf)],
                             audio=False, logger=None)
        clip.close()
    elif name == "x264-alone":
        r = subprocess.run(
            [a.example, "encode", "--size", f"{w}x{h}", "--fps", str(a.fps), "--crf", str(a.crf), "--preset", a.preset,
             "--frames", str(n), a.yuv_file, a.out],
            capture_output=True, text=True,
        )
        if r.returncode != 0:
            raise RuntimeError(f"encode_yuv failed: {r.stderr}")
        info = json.loads(r.stdout)
    elif name == "read-only":
        for i in range(n):
            _read_frame(src, i, w, h)
    else:
        raise SystemExit(f"unknown contender {name}")
    t1 = time.perf_counter()
    s1, c1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)

    def cpu(r0, r1):
        return (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)

    res = {
        "name": name,
        "wall_s": t1 - t0,
        "cpu_self_s": cpu(s0, s1),
        "cpu_children_s": cpu(c0, c1),
        "maxrss_self_kb": s1.ru_maxrss,
        "maxrss_children_kb": c1.ru_maxrss,
        "bytes": os.path.getsize(a.out) if os.path.exists(a.out) else 0,
    }
    res["cpu_s"] = res["cpu_self_s"] + res["cpu_children_s"]
    # Peak RSS of the processes doing the work: the Python process holding and feeding frames plus
    # the encoder subprocess, if any (sum of the two peaks: they run side by side). For the limit
    # only the Rust binary counts (the Python process merely launches it).
    if name == "x264-alone":
        res["rss_mb"] = c1.ru_maxrss / 1024
        res["encoder_wall_s"] = info["wall_s"]
        res["example"] = info
    else:
        res["rss_mb"] = (s1.ru_maxrss + c1.ru_maxrss) / 1024
    return res


# --------------------------------------------------------------------------- analysis


def run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def probe(path: Path) -> dict:
    r = run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries",
             "stream=codec_name,profile,level,pix_fmt,width,height,color_range,color_space,color_transfer,"
             "color_primaries,refs,has_b_frames,nb_read_packets,avg_frame_rate", "-of", "json", str(path)])
    s = json.loads(r.stdout)["streams"][0]
    # Top-level boxes: faststart means moov before mdat.
    order = []
    with open(path, "rb") as f:
        pos, end = 0, os.path.getsize(path)
        while pos + 8 <= end:
            f.seek(pos)
            hdr = f.read(16)
            size, typ = int.from_bytes(hdr[:4], "big"), hdr[4:8].decode("latin-1")
            if size == 1:
                size = int.from_bytes(hdr[8:16], "big")
            elif size == 0:
                size = end - pos
            order.append(typ)
            if size < 8:
                break
            pos += size
    s["faststart"] = "moov" in order and "mdat" in order and order.index("moov") < order.index("mdat")
    return s


def x264_sei(path: Path) -> str | None:
    """x264's options string from the SEI in the file, if the encoder wrote one."""
    with open(path, "rb") as f:
        data = f.read(4 << 20)
    i = data.find(b"x264 - core")
    if i < 0:
        return None
    j = data.find(b"\x00", i)
    return data[i:j].decode("latin-1", "replace").strip()


def sei_options(sei: str | None) -> dict:
    if not sei or "options:" not in sei:
        return {}
    return dict(kv.split("=", 1) for kv in sei.split("options:", 1)[1].split() if "=" in kv)


def psnr(path: Path, frames_file: Path, n: int, w: int, h: int, tagged_bt709: bool) -> tuple[float, int, float]:
    """(PSNR over all frames in dB, decoded frame count, worst frame's PSNR) against the source."""
    import numpy as np

    vf = "scale=in_color_matrix=bt709:in_range=tv:flags=bicubic+accurate_rnd+full_chroma_int" if tagged_bt709 \
        else "scale=flags=bicubic+accurate_rnd+full_chroma_int"  # untagged: ffmpeg's default (BT.601) matrix
    p = subprocess.Popen(["ffmpeg", "-v", "error", "-i", str(path), "-vf", vf, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         stdout=subprocess.PIPE)
    fb = w * h * 3
    sse, count, worst = 0, 0, float("inf")
    with open(frames_file, "rb") as src:
        while True:
            buf = p.stdout.read(fb)
            if len(buf) < fb:
                break
            if count < n:
                ref = np.frombuffer(src.read(fb), np.uint8).astype(np.int32)
                d = np.frombuffer(buf, np.uint8).astype(np.int32) - ref
                e = int((d * d).sum())
                sse += e
                mse_f = e / fb
                worst = min(worst, 10 * np.log10(255**2 / mse_f) if mse_f else 99.0)
            count += 1
    p.wait()
    mse = sse / (fb * min(count, n)) if count else float("nan")
    return (10 * np.log10(255**2 / mse) if mse else 99.0), count, worst


def versions(imageio_exe: str | None) -> dict:
    v = {"python": platform.python_version(), "platform": platform.platform()}
    v["cpu"] = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    v["cores"] = os.cpu_count()
    v["ffmpeg"] = run(["ffmpeg", "-version"]).stdout.splitlines()[0]
    if imageio_exe:
        v["imageio_ffmpeg_binary"] = run([imageio_exe, "-version"]).stdout.splitlines()[0]
    r = run(["dpkg-query", "-W", "-f", "${Version}", "libx264-164"])
    v["libx264 (Debian, linked by framepipe)"] = r.stdout.strip() if r.returncode == 0 else "?"
    from importlib import metadata

    for dist in ("framepipe", "numpy", "imageio-ffmpeg", "moviepy"):
        try:
            v[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            v[dist] = "not installed"
    return v


def fmt_ratio(x: float) -> str:
    return f"{x:.2f}×"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--crf", type=int, default=23)
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--out-dir", default="/tmp/framepipe-bench")
    ap.add_argument("--only", default=",".join(CONTENDERS), help="comma-separated subset of: " + ",".join(CONTENDERS))
    ap.add_argument("--quick", action="store_true", help="smoke run: 30 frames of 640x360, 1 round")
    ap.add_argument("--no-build", action="store_true", help="don't run cargo build for the encode_yuv example")
    ap.add_argument("--report", default=None, help="also write the markdown report here")
    # Worker mode (internal).
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--frames-file", help=argparse.SUPPRESS)
    ap.add_argument("--yuv-file", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--ffmpeg", default="ffmpeg", help=argparse.SUPPRESS)
    ap.add_argument("--example", default=str(EXAMPLE), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.quick:
        a.frames, a.rounds, a.size = 30, 1, "640x360"
    a.w, a.h = map(int, a.size.lower().split("x"))
    if a.worker:
        print(json.dumps(worker(a)))
        return 0

    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = [c.strip() for c in a.only.split(",") if c.strip()]
    for c in names:
        if c not in CONTENDERS:
            ap.error(f"unknown contender {c}")
    try:
        import imageio_ffmpeg
        imageio_exe = imageio_ffmpeg.get_ffmpeg_exe()
    except ImportError:
        imageio_exe = None
        for c in ("imageio-ffmpeg", "moviepy"):
            if c in names:
                print(f"note: imageio-ffmpeg not installed, skipping {c} (pip install -r bench/requirements.txt)", file=sys.stderr)
                names.remove(c)

    t_start = time.time()
    if "x264-alone" in names and not a.no_build:
        print("building the encode_yuv example (cargo build --release --example encode_yuv -p framepipe)", file=sys.stderr)
        subprocess.run(["cargo", "build", "--release", "--example", "encode_yuv", "-p", "framepipe"], cwd=ROOT, check=True)

    frames_file = out / f"frames_v{GEN_VERSION}_{a.w}x{a.h}_{a.frames}.rgb"
    if not frames_file.exists() or frames_file.stat().st_size != a.frames * a.w * a.h * 3:
        print(f"generating {a.frames} frames of {a.w}x{a.h} -> {frames_file}", file=sys.stderr)
        t = time.time()
        generate_frames(frames_file.with_suffix(".tmp"), a.frames, a.w, a.h)
        frames_file.with_suffix(".tmp").rename(frames_file)
        print(f"  {time.time() - t:.1f} s", file=sys.stderr)
    yuv_file = frames_file.with_suffix(".yuv")
    if "x264-alone" in names:
        # framepipe's own BT.709 conversion, once, untimed: the limit encodes exactly the pictures
        # framepipe's pipeline hands x264.
        run([str(EXAMPLE), "convert", "--size", f"{a.w}x{a.h}", str(frames_file), str(yuv_file)], check=True)
    os.sync()  # no writeback of the sources during the timed runs
    for f in (frames_file, yuv_file):  # into the page cache
        if f.exists():
            with open(f, "rb") as fh:
                while fh.read(1 << 24):
                    pass

    results: dict[str, list[dict]] = {c: [] for c in names}
    for r in range(a.rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        rdir = out / f"round{r}"
        rdir.mkdir(exist_ok=True)
        for c in order:
            path = rdir / f"{c}.mp4"
            if path.exists():
                path.unlink()
            cmd = [sys.executable, __file__, "--worker", c, "--frames", str(a.frames), "--size", f"{a.w}x{a.h}",
                   "--fps", str(a.fps), "--crf", str(a.crf), "--preset", a.preset, "--frames-file", str(frames_file),
                   "--yuv-file", str(yuv_file), "--out", str(path if c != "read-only" else rdir / "read-only.none"),
                   "--example", str(EXAMPLE)]
            p = run(cmd, timeout=1800)
            if p.returncode != 0:
                print(f"round {r} {c} FAILED:\n{p.stderr[-3000:]}", file=sys.stderr)
                continue
            res = json.loads(p.stdout.strip().splitlines()[-1])
            res["round"], res["path"] = r, str(path)
            if c != "read-only":
                res["md5"] = hashlib.md5(path.read_bytes()).hexdigest()
                res["packets"] = int(probe(path).get("nb_read_packets", -1))
            results[c].append(res)
            print(f"round {r} {c:18s} wall {res['wall_s']:6.2f} s  cpu {res['cpu_s']:6.2f} s  "
                  f"rss {res['rss_mb']:6.0f} MB  bytes {res['bytes']}", file=sys.stderr)

    # Quality, frame count and effective settings from the last round's outputs.
    quality: dict[str, dict] = {}
    for c in names:
        if c == "read-only" or not results[c]:
            continue
        last = Path(results[c][-1]["path"])
        pr = probe(last)
        tagged = pr.get("color_space") == "bt709"
        db, count, worst = psnr(last, frames_file, a.frames, a.w, a.h, tagged)
        quality[c] = {"psnr_db": db, "worst_frame_psnr_db": worst, "decoded_frames": count, "probe": pr,
                      "sei": x264_sei(last), "same_bytes_every_round": len({x["md5"] for x in results[c]}) == 1}
        print(f"{c:18s} PSNR {db:.3f} dB ({count} frames, tagged bt709: {tagged})", file=sys.stderr)
    fp_sei = None
    if EXAMPLE.exists():
        r = run([str(EXAMPLE), "x264-options", "--size", f"{a.w}x{a.h}", "--fps", str(a.fps), "--crf", str(a.crf),
                 "--preset", a.preset])
        fp_sei = next((l for l in r.stdout.splitlines() if l.startswith("x264 - core")), None)
        for c in ("framepipe", "x264-alone"):
            if c in quality and not quality[c]["sei"]:
                quality[c]["sei"] = fp_sei
                quality[c]["sei_source"] = "encode_yuv x264-options (framepipe writes no version SEI)"

    report = make_report(a, names, results, quality, versions(imageio_exe), time.time() - t_start)
    print(report)
    (out / "results.md").write_text(report)
    (out / "results.json").write_text(json.dumps({"results": results, "quality": quality}, indent=1, default=str))
    if a.report:
        Path(a.report).write_text(report)
    return 0


def make_report(a, names, results, quality, vers, elapsed) -> str:
    med = {c: {k: statistics.median(r[k] for r in results[c]) for k in ("wall_s", "cpu_s", "rss_mb", "bytes")}
           for c in names if results[c]}
    for c in med:
        ws = [r["wall_s"] for r in results[c]]
        med[c]["wall_range"] = (min(ws), max(ws))
    lines = []
    cmdline = "bench/bench_engine.py " + " ".join(sys.argv[1:])
    lines += [f"Command: `.venv/bin/python {cmdline.strip()}`  ",
              f"Date: {_dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}; "
              f"{a.frames} frames {a.w}x{a.h} @ {a.fps} fps, crf {a.crf}, preset {a.preset}, "
              f"{a.rounds} round(s), order rotated each round; medians shown; total bench time {elapsed:.0f} s.", ""]
    base = "ffmpeg-pipe" if "ffmpeg-pipe" in med else None
    hdr = "| contender | wall s (min–max) | CPU s | bytes | PSNR dB | frames | peak RSS MB |"
    sep = "|---|---:|---:|---:|---:|---:|---:|"
    if base:
        hdr += " wall ×pipe | CPU ×pipe | bytes ×pipe | ΔPSNR dB | RSS ×pipe |"
        sep += "---:|---:|---:|---:|---:|"
    lines += [hdr, sep]
    for c in names:
        if c not in med:
            continue
        m, q = med[c], quality.get(c, {})
        ps = f"{q['psnr_db']:.3f}" if q else "–"
        fr = str(q.get("decoded_frames", "–")) if q else "–"
        by = f"{int(m['bytes']):,}" if c != "read-only" else "–"
        row = (f"| {LABELS[c]} | {m['wall_s']:.2f} ({m['wall_range'][0]:.2f}–{m['wall_range'][1]:.2f}) | "
               f"{m['cpu_s']:.2f} | {by} | {ps} | {fr} | {m['rss_mb']:.0f} |")
        if base:
            b, bq = med[base], quality.get(base, {})
            if c == "read-only":
                row += f" {fmt_ratio(m['wall_s'] / b['wall_s'])} | {fmt_ratio(m['cpu_s'] / b['cpu_s'])} | – | – | {fmt_ratio(m['rss_mb'] / b['rss_mb'])} |"
            else:
                dps = f"{q['psnr_db'] - bq['psnr_db']:+.3f}" if q and bq else "–"
                row += (f" {fmt_ratio(m['wall_s'] / b['wall_s'])} | {fmt_ratio(m['cpu_s'] / b['cpu_s'])} | "
                        f"{fmt_ratio(m['bytes'] / b['bytes'])} | {dps} | {fmt_ratio(m['rss_mb'] / b['rss_mb'])} |")
        lines.append(row)
    lines.append("")
    if "framepipe" in med and "x264-alone" in med:
        fp, lim = med["framepipe"], med["x264-alone"]
        enc = statistics.median(r["encoder_wall_s"] for r in results["x264-alone"])
        lines.append(f"framepipe wall / x264 alone: **{fp['wall_s'] / lim['wall_s']:.3f}×** "
                     f"(x264 alone: {lim['wall_s']:.2f} s measured around the subprocess, {enc:.2f} s inside it); "
                     f"CPU {fp['cpu_s'] / lim['cpu_s']:.3f}×.")
        if "framepipe" in quality and "x264-alone" in quality:
            same = results["framepipe"][-1]["md5"] == results["x264-alone"][-1]["md5"]
            lines.append(f"framepipe's MP4 is byte-identical to x264 alone's: {same}.")
        lines.append("")
    if "framepipe" in med and "ffmpeg-pipe-bt709" in med:
        fp, b9 = med["framepipe"], med["ffmpeg-pipe-bt709"]
        d = quality["framepipe"]["psnr_db"] - quality["ffmpeg-pipe-bt709"]["psnr_db"] if "framepipe" in quality and "ffmpeg-pipe-bt709" in quality else float("nan")
        lines.append(f"framepipe vs ffmpeg pipe (bt709): wall {fp['wall_s'] / b9['wall_s']:.2f}×, CPU {fp['cpu_s'] / b9['cpu_s']:.2f}×, "
                     f"bytes {fp['bytes'] / b9['bytes']:.3f}×, ΔPSNR {d:+.3f} dB, RSS {fp['rss_mb'] / b9['rss_mb']:.2f}×.")
        lines.append("")
    lines += ["CPU = user+sys of the contender's process and its children (getrusage deltas around the timed "
              "region). Peak RSS = ru_maxrss of the Python process plus that of its encoder subprocess (sum of "
              "peaks; for x264 alone the Rust binary only). PSNR: each output decoded with ffmpeg to rgb24 "
              "(BT.709 matrix if tagged bt709, else ffmpeg's default BT.601), over all frames against the "
              "source frames.", ""]
    lines += ["Per-round wall seconds:", ""]
    for c in names:
        if results[c]:
            lines.append(f"- {LABELS[c]}: " + ", ".join(f"r{r['round']} {r['wall_s']:.2f}" for r in results[c]))
    lines.append("")
    lines += ["Streams:", "", "| contender | profile | level | pix_fmt | colour (space/primaries/trc/range) | refs | faststart | same bytes each round |",
              "|---|---|---|---|---|---|---|---|"]
    for c in names:
        q = quality.get(c)
        if not q:
            continue
        p = q["probe"]
        col = "/".join(str(p.get(k, "?")) for k in ("color_space", "color_primaries", "color_transfer", "color_range"))
        lines.append(f"| {LABELS[c]} | {p.get('profile')} | {p.get('level')} | {p.get('pix_fmt')} | {col} | "
                     f"{p.get('refs')} | {p.get('faststart')} | {q['same_bytes_every_round']} |")
    lines.append("")
    # Effective x264 settings.
    ref = sei_options(quality.get("framepipe", {}).get("sei"))
    lines += ["x264 builds and settings (from each file's x264 SEI; framepipe writes none, so its string comes "
              "from `encode_yuv x264-options`, whose SPS/PPS are checked identical to framepipe's):", ""]
    for c in names:
        q = quality.get(c)
        if not q:
            continue
        sei = q.get("sei")
        build = re.search(r"core \d+( r\d+ \w+)?", sei or "")
        opts = sei_options(sei)
        diff = {k: (ref.get(k), v) for k, v in opts.items() if ref and ref.get(k) != v}
        missing = [k for k in ref if k not in opts] if opts else []
        d = ", ".join(f"{k}: framepipe {x} vs {y}" for k, (x, y) in diff.items()) or "none"
        if not opts:
            d = "(no x264 options string found)"
        if missing:
            d += f"; not in this string: {', '.join(missing)}"
        lines.append(f"- {LABELS[c]}: x264 {build.group(0) if build else '?'}; differences from framepipe: {d}")
    if ref:
        lines += ["", "framepipe's x264 options: `" + quality["framepipe"]["sei"].split("options:", 1)[1].strip() + "`"]
    lines.append("")
    lines += ["Versions:", ""] + [f"- {k}: {v}" for k, v in vers.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
