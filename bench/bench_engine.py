#!/usr/bin/env python3
"""Engine benchmark: framepipe vs the ffmpeg rawvideo pipe, imageio-ffmpeg, MoviePy, and x264 alone.

Synthetic plot-like frames (smooth gradient background, grid, moving anti-aliased shapes, a curve)
are generated once with numpy into a raw rgb24 file (kept in the page cache), and every contender
streams them from it one frame at a time, in a fresh subprocess of this script, so that CPU time
(self + children, from getrusage) and peak RSS are per contender. Contenders alternate round by
round (the order rotates each round and reverses every other round); the report gives medians over
the runs that no other process disturbed, and medians of per-round ratios.

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
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "target" / "release" / "examples" / "encode_yuv"
GEN_VERSION = 2  # bump when the frame generator changes (names the cached source file)

# Run order within a round: framepipe sits between its two references (the ffmpeg pipe and x264
# alone) so that slow drifts of the machine's speed hit those pairs alike.
CONTENDERS = ["ffmpeg-pipe", "framepipe", "x264-alone", "ffmpeg-pipe-bt709", "imageio-ffmpeg", "moviepy", "read-only"]
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
    "-vf",
    "scale=out_color_matrix=bt709:out_range=tv",
    "-colorspace",
    "bt709",
    "-color_primaries",
    "bt709",
    "-color_trc",
    "bt709",
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
    for step, _size, axis in ((w / 10, w, 1), (h / 10, h, 0)):
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
            img[y0:y1, x0:x1] = (
                img[y0:y1, x0:x1] * (1 - a) + np.float32(0.84) * np.array([0.8, 0.1, 0.2], np.float32) * a
            )
            # The curve: a travelling damped wave, 2.5 px wide, anti-aliased by perpendicular distance.
            ph = 0.08 * i
            yc = h * (
                0.55 + 0.25 * np.sin(x / w * 6 * np.pi - ph) * np.exp(-x / w) + 0.05 * np.sin(x / w * 23 - 2 * ph)
            )
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
        exe,
        "-y",
        "-loglevel",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{a.w}x{a.h}",
        "-framerate",
        str(a.fps),
        "-i",
        "-",
        *extra,
        "-c:v",
        "libx264",
        "-preset",
        a.preset,
        "-crf",
        str(a.crf),
        "-pix_fmt",
        "yuv420p",
        "-profile:v",
        "high",
        "-movflags",
        "+faststart",
        a.out,
    ]


def worker(a) -> dict:
    """Run one contender once; return its measurements (timed region only)."""
    name, w, h, n = a.worker, a.w, a.h, a.frames
    info: dict = {}
    # Imports and set-up outside the timed region.
    if name != "x264-alone":
        import numpy  # noqa: F401  (imported before timing: every Python contender needs it)
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
            p = subprocess.Popen(
                _ffmpeg_cmd(a.ffmpeg, a, extra), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err
            )
            for i in range(n):
                p.stdin.write(memoryview(_read_frame(src, i, w, h)).cast("B"))
            p.stdin.close()
            if p.wait() != 0:
                raise RuntimeError(f"ffmpeg failed: {Path(err_path).read_text()[-2000:]}")
    elif name == "imageio-ffmpeg":
        gen = imageio_ffmpeg.write_frames(
            a.out,
            (w, h),
            fps=a.fps,
            codec="libx264",
            quality=None,
            pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p",
            macro_block_size=1,
            ffmpeg_log_level="error",
            output_params=["-crf", str(a.crf), "-preset", a.preset],
        )
        gen.send(None)
        for i in range(n):
            gen.send(_read_frame(src, i, w, h))
        gen.close()
    elif name == "moviepy":

        def frame_at(t):
            return _read_frame(src, min(int(round(t * a.fps)), n - 1), w, h)

        clip = (
            VideoClip(frame_function=frame_at, duration=n / a.fps)
            if mp2
            else VideoClip(make_frame=frame_at, duration=n / a.fps)
        )
        clip.write_videofile(
            a.out,
            fps=a.fps,
            codec="libx264",
            preset=a.preset,
            ffmpeg_params=["-crf", str(a.crf)],
            audio=False,
            logger=None,
        )
        clip.close()
    elif name == "x264-alone":
        r = subprocess.run(
            [
                a.example,
                "encode",
                "--size",
                f"{w}x{h}",
                "--fps",
                str(a.fps),
                "--crf",
                str(a.crf),
                "--preset",
                a.preset,
                "--frames",
                str(n),
                a.yuv_file,
                a.out,
            ],
            capture_output=True,
            text=True,
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
        "vmhwm_self_kb": _vmhwm_kb(),
        "wall_s": t1 - t0,
        "cpu_self_s": cpu(s0, s1),
        "cpu_children_s": cpu(c0, c1),
        "maxrss_self_kb": s1.ru_maxrss,
        "maxrss_children_kb": c1.ru_maxrss,
        "bytes": os.path.getsize(a.out) if os.path.exists(a.out) else 0,
    }
    res["cpu_s"] = res["cpu_self_s"] + res["cpu_children_s"]
    # Peak RSS of the processes doing the work: the Python process holding and feeding frames
    # (VmHWM) plus the encoder subprocess, if any (ru_maxrss of children; sum of the two peaks:
    # they run side by side). For the limit only the Rust binary counts (the Python process merely
    # launches it).
    if name == "x264-alone":
        res["rss_mb"] = c1.ru_maxrss / 1024
        res["encoder_wall_s"] = info["wall_s"]
        res["example"] = info
    else:
        res["rss_mb"] = (res["vmhwm_self_kb"] + c1.ru_maxrss) / 1024
    return res


def _vmhwm_kb() -> int:
    """This process's own peak RSS. (Linux carries ru_maxrss over an exec, so in a freshly spawned
    worker RUSAGE_SELF would report the parent's peak if that was higher; VmHWM is per address space.)"""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# --------------------------------------------------------------------------- analysis


def run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def probe(path: Path) -> dict:
    r = run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_packets",
            "-show_entries",
            "stream=codec_name,profile,level,pix_fmt,width,height,color_range,color_space,color_transfer,"
            "color_primaries,refs,has_b_frames,nb_read_packets,avg_frame_rate",
            "-of",
            "json",
            str(path),
        ]
    )
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


SWS_FLAGS = "bicubic+accurate_rnd+full_chroma_int"


def decode_cmd(path: Path, tagged_bt709: bool) -> list[str]:
    """ffmpeg decoding an MP4 to rgb24 on stdout: BT.709 if tagged so, else ffmpeg's default (BT.601)."""
    vf = f"scale=in_color_matrix=bt709:in_range=tv:flags={SWS_FLAGS}" if tagged_bt709 else f"scale=flags={SWS_FLAGS}"
    return ["ffmpeg", "-v", "error", "-i", str(path), "-vf", vf, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]


def psnr(cmd: list[str], frames_file: Path, n: int, w: int, h: int, stdin=None) -> tuple[float, int, float]:
    """(PSNR over all frames in dB, decoded frame count, worst frame's PSNR) of the rgb24 frames
    `cmd` writes to stdout, against the source frames."""
    import numpy as np

    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=stdin)
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
    return (float(10 * np.log10(255**2 / mse)) if mse else 99.0), count, float(worst)


def conversion_psnr(
    frames_file: Path, yuv_file: Path, tmp: Path, n: int, w: int, h: int, keep_bt709: Path | None = None
) -> dict[str, float]:
    """PSNR of RGB -> yuv420p -> RGB with no encoding: the ceiling each conversion path allows.
    `keep_bt709`: keep swscale's BT.709 yuv420p there (for encoding it with x264 alone)."""
    size = f"{w}x{h}"
    dec709 = ["-vf", f"scale=in_color_matrix=bt709:in_range=tv:flags={SWS_FLAGS}"]
    dec_default = ["-vf", f"scale=flags={SWS_FLAGS}"]
    out: dict[str, float] = {}
    paths = {"framepipe (yuv crate, BT.709)": (yuv_file, dec709)}
    for label, vf, dec in (
        ("ffmpeg swscale default (BT.601)", [], dec_default),
        ("ffmpeg swscale bt709", ["-vf", "scale=out_color_matrix=bt709:out_range=tv"], dec709),
    ):
        y = keep_bt709 if keep_bt709 and "bt709" in label else tmp / ("conv-" + re.sub(r"\W+", "_", label) + ".yuv")
        subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-y",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "rgb24",
                "-s",
                size,
                "-i",
                str(frames_file),
                *vf,
                "-pix_fmt",
                "yuv420p",
                "-f",
                "rawvideo",
                str(y),
            ],
            check=True,
        )
        paths[label] = (y, dec)
    for label, (y, dec) in paths.items():
        if not Path(y).exists():
            continue
        cmd = [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            "-s",
            size,
            "-i",
            str(y),
            *dec,
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ]
        out[label] = psnr(cmd, frames_file, n, w, h)[0]
        if Path(y) not in (yuv_file, keep_bt709):
            Path(y).unlink()
    return out


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


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, from /proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wait_idle(timeout: float, threshold: float = 0.25) -> float:
    """Wait (up to `timeout` s) until other processes use under `threshold` of a core; seconds waited."""
    t0 = time.time()
    while True:
        b0 = busy_seconds()
        time.sleep(0.5)
        load = (busy_seconds() - b0) / 0.5
        waited = time.time() - t0
        if load < threshold or waited >= timeout:
            if waited > 1:
                print(
                    f"  (waited {waited:.0f} s for the machine to go quiet; load now {load:.2f} cores)", file=sys.stderr
                )
            return waited


def fmt_opt(x: float | None, digits: int = 2) -> str:
    return "n/a (no round where both ran undisturbed)" if x is None else f"{x:.{digits}f}×"


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
    ap.add_argument(
        "--rd-crfs",
        default="22,24",
        help="extra CRFs for framepipe (untimed) to compare bytes at equal PSNR; '' to skip",
    )
    ap.add_argument("--no-conversion-psnr", action="store_true", help="skip the RGB->YUV->RGB (no encoding) PSNR")
    ap.add_argument(
        "--idle-timeout",
        type=float,
        default=30,
        help="before each run wait up to this many seconds for other processes to go quiet",
    )
    # Worker mode (internal).
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--frames-file", help=argparse.SUPPRESS)
    ap.add_argument("--yuv-file", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--ffmpeg", default="ffmpeg", help=argparse.SUPPRESS)
    ap.add_argument("--example", default=str(EXAMPLE), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.quick:
        a.frames, a.rounds, a.size, a.idle_timeout = 30, 1, "640x360", 5
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
                print(
                    f"note: imageio-ffmpeg not installed, skipping {c} (pip install -r bench/requirements.txt)",
                    file=sys.stderr,
                )
                names.remove(c)

    t_start = time.time()
    if "x264-alone" in names and not a.no_build:
        print(
            "building the encode_yuv example (cargo build --release --example encode_yuv -p framepipe)", file=sys.stderr
        )
        subprocess.run(
            ["cargo", "build", "--release", "--example", "encode_yuv", "-p", "framepipe"], cwd=ROOT, check=True
        )

    frames_file = out / f"frames_v{GEN_VERSION}_{a.w}x{a.h}_{a.frames}.rgb"
    if not frames_file.exists() or frames_file.stat().st_size != a.frames * a.w * a.h * 3:
        print(f"generating {a.frames} frames of {a.w}x{a.h} -> {frames_file}", file=sys.stderr)
        t = time.time()
        generate_frames(frames_file.with_suffix(".tmp"), a.frames, a.w, a.h)
        frames_file.with_suffix(".tmp").rename(frames_file)
        print(f"  {time.time() - t:.1f} s", file=sys.stderr)
    yuv_file = frames_file.with_suffix(".yuv")
    convert_s = None
    if "x264-alone" in names:
        # framepipe's own BT.709 conversion, once, untimed: the limit encodes exactly the pictures
        # framepipe's pipeline hands x264.
        conv_run = run([str(EXAMPLE), "convert", "--size", f"{a.w}x{a.h}", str(frames_file), str(yuv_file)], check=True)
        convert_s = json.loads(conv_run.stdout).get("convert_s")
    os.sync()  # no writeback of the sources during the timed runs
    for f in (frames_file, yuv_file):  # into the page cache
        if f.exists():
            with open(f, "rb") as fh:
                while fh.read(1 << 24):
                    pass

    def launch(c: str, path: Path, crf: int, yuv: Path | None = None) -> dict | None:
        """Run contender `c` once in a fresh worker process; its metrics plus the CPU time other
        processes used on the machine meanwhile (`foreign_cpu_s`, from /proc/stat)."""
        if path.exists():
            path.unlink()
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            c,
            "--frames",
            str(a.frames),
            "--size",
            f"{a.w}x{a.h}",
            "--fps",
            str(a.fps),
            "--crf",
            str(crf),
            "--preset",
            a.preset,
            "--frames-file",
            str(frames_file),
            "--yuv-file",
            str(yuv or yuv_file),
            "--out",
            str(path),
            "--example",
            str(EXAMPLE),
        ]
        waited = wait_idle(a.idle_timeout)
        c0, b0 = resource.getrusage(resource.RUSAGE_CHILDREN), busy_seconds()
        p = run(cmd, timeout=1800)
        b1, c1 = busy_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode != 0:
            print(f"{c} FAILED:\n{p.stderr[-3000:]}", file=sys.stderr)
            return None
        res = json.loads(p.stdout.strip().splitlines()[-1])
        worker_cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
        res["foreign_cpu_s"] = max(0.0, (b1 - b0) - worker_cpu)
        res["waited_for_idle_s"] = waited
        res["path"] = str(path)
        if c != "read-only":
            res["md5"] = hashlib.md5(path.read_bytes()).hexdigest()
            res["packets"] = int(probe(path).get("nb_read_packets", -1))
        return res

    results: dict[str, list[dict]] = {c: [] for c in names}
    for r in range(a.rounds):
        # Rotate the order each round, and reverse it every other round, so that no contender
        # always runs first or always follows the same neighbour.
        order = names[r % len(names) :] + names[: r % len(names)]
        if r % 2:
            order.reverse()
        rdir = out / f"round{r}"
        rdir.mkdir(exist_ok=True)
        for c in order:
            res = launch(c, rdir / (f"{c}.mp4" if c != "read-only" else "read-only.none"), a.crf)
            if res is None:
                continue
            res["round"] = r
            results[c].append(res)
            print(
                f"round {r} {c:18s} wall {res['wall_s']:6.2f} s  cpu {res['cpu_s']:6.2f} s  "
                f"rss {res['rss_mb']:6.0f} MB  bytes {res['bytes']}  foreign cpu {res['foreign_cpu_s']:.2f} s",
                file=sys.stderr,
            )

    # Quality, frame count and effective settings from the last round's outputs.
    quality: dict[str, dict] = {}
    for c in names:
        if c == "read-only" or not results[c]:
            continue
        last = Path(results[c][-1]["path"])
        pr = probe(last)
        tagged = pr.get("color_space") == "bt709"
        db, count, worst = psnr(decode_cmd(last, tagged), frames_file, a.frames, a.w, a.h)
        quality[c] = {
            "psnr_db": db,
            "worst_frame_psnr_db": worst,
            "decoded_frames": count,
            "probe": pr,
            "sei": x264_sei(last),
            "same_bytes_every_round": len({x["md5"] for x in results[c]}) == 1,
        }
        print(f"{c:18s} PSNR {db:.3f} dB ({count} frames, tagged bt709: {tagged})", file=sys.stderr)
    # Rate-distortion: framepipe at neighbouring CRFs (untimed), to compare bytes at equal PSNR.
    rd: dict[int, tuple[int, float]] = {}
    if "framepipe" in quality and a.rd_crfs:
        rd[a.crf] = (results["framepipe"][-1]["bytes"], quality["framepipe"]["psnr_db"])
        for crf in (int(x) for x in a.rd_crfs.split(",") if x.strip()):
            path = out / f"rd-framepipe-crf{crf}.mp4"
            res = launch("framepipe", path, crf)
            if res:
                rd[crf] = (res["bytes"], psnr(decode_cmd(path, True), frames_file, a.frames, a.w, a.h)[0])
                print(f"rd framepipe crf {crf}: {res['bytes']} bytes, {rd[crf][1]:.3f} dB", file=sys.stderr)
    conv: dict[str, float] = {}
    sws_enc: dict = {}
    if not a.no_conversion_psnr and yuv_file.exists():
        sws_yuv = out / "swscale-bt709.yuv"
        conv = conversion_psnr(frames_file, yuv_file, out, a.frames, a.w, a.h, keep_bt709=sws_yuv)
        print(f"conversion-only PSNR: {conv}", file=sys.stderr)
        # The same encoder on swscale's BT.709 pictures: separates conversion from encoding.
        if sws_yuv.exists() and "x264-alone" in names:
            path = out / "x264-alone-on-swscale-bt709.mp4"
            res = launch("x264-alone", path, a.crf, yuv=sws_yuv)
            if res:
                sws_enc = {
                    "bytes": res["bytes"],
                    "psnr_db": psnr(decode_cmd(path, True), frames_file, a.frames, a.w, a.h)[0],
                }
                print(f"x264 alone on swscale bt709 yuv: {sws_enc}", file=sys.stderr)
            sws_yuv.unlink()

    fp_sei = None
    if EXAMPLE.exists():
        r = run(
            [
                str(EXAMPLE),
                "x264-options",
                "--size",
                f"{a.w}x{a.h}",
                "--fps",
                str(a.fps),
                "--crf",
                str(a.crf),
                "--preset",
                a.preset,
            ]
        )
        fp_sei = next((l for l in r.stdout.splitlines() if l.startswith("x264 - core")), None)
        for c in ("framepipe", "x264-alone"):
            if c in quality and not quality[c]["sei"]:
                quality[c]["sei"] = fp_sei
                quality[c]["sei_source"] = "encode_yuv x264-options (the file carried no x264 SEI)"

    report = make_report(
        a, names, results, quality, rd, conv, sws_enc, convert_s, versions(imageio_exe), time.time() - t_start
    )
    print(report)
    (out / "results.md").write_text(report)
    (out / "results.json").write_text(
        json.dumps(
            {
                "results": results,
                "quality": quality,
                "rd": rd,
                "conversion_psnr": conv,
                "x264_alone_on_swscale_bt709": sws_enc,
                "framepipe_convert_s": convert_s,
            },
            indent=1,
            default=str,
        )
    )
    if a.report:
        Path(a.report).write_text(report)
    return 0


def bytes_at_psnr(rd: dict[int, tuple[int, float]], target: float) -> float | None:
    """framepipe's bytes at PSNR `target`, interpolating log(bytes) linearly in PSNR between the
    two nearest RD points (extrapolating from the end pair if outside)."""
    import math

    pts = sorted((q, b) for b, q in rd.values())
    if len(pts) < 2:
        return None
    lo = max((p for p in pts if p[0] <= target), default=pts[0], key=lambda p: p[0])
    hi = min((p for p in pts if p[0] >= target), default=pts[-1], key=lambda p: p[0])
    if lo == hi:
        i = pts.index(lo)
        lo, hi = (pts[i - 1], pts[i]) if i > 0 else (pts[0], pts[1])
    (q0, b0), (q1, b1) = lo, hi
    t = (target - q0) / (q1 - q0)
    return math.exp(math.log(b0) + t * (math.log(b1) - math.log(b0)))


FOREIGN_MAX_S = 0.25  # a run during which other processes used more CPU than this is "disturbed"


def clean_runs(runs: list[dict]) -> list[dict]:
    """The undisturbed runs, if at least two; else all runs."""
    ok = [r for r in runs if r["foreign_cpu_s"] <= FOREIGN_MAX_S]
    return ok if len(ok) >= 2 else runs


def paired_ratio(results, c: str, base: str, key: str) -> float | None:
    """Median over rounds of c's `key` divided by base's in the same round, over rounds where
    neither run was disturbed (cancels slow drifts of the machine's speed, which on a shared VM
    are larger than the differences measured)."""
    b = {r["round"]: r[key] for r in results.get(base, []) if r["foreign_cpu_s"] <= FOREIGN_MAX_S}
    rs = [
        r[key] / b[r["round"]]
        for r in results.get(c, [])
        if r["round"] in b and b[r["round"]] and r["foreign_cpu_s"] <= FOREIGN_MAX_S
    ]
    return statistics.median(rs) if rs else None


def make_report(a, names, results, quality, rd, conv, sws_enc, convert_s, vers, elapsed) -> str:
    keys = ("wall_s", "cpu_s", "rss_mb", "bytes", "foreign_cpu_s")
    med = {c: {k: statistics.median(r[k] for r in clean_runs(results[c])) for k in keys} for c in names if results[c]}
    for c in med:
        ws = [r["wall_s"] for r in clean_runs(results[c])]
        med[c]["wall_range"] = (min(ws), max(ws))
        med[c]["n"] = f"{len(clean_runs(results[c]))}/{len(results[c])}"
    L = []
    cmdline = "bench/bench_engine.py " + " ".join(sys.argv[1:])
    L += [
        f"Command: `.venv/bin/python {cmdline.strip()}`  ",
        f"Date: {_dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}; "
        f"{a.frames} frames {a.w}x{a.h} @ {a.fps} fps, crf {a.crf}, preset {a.preset}, x264 threads auto; "
        f"{a.rounds} round(s), order rotated each round; medians over the undisturbed runs (other processes "
        f"used ≤ {FOREIGN_MAX_S} CPU s during the run; all runs if fewer than two were); whole run {elapsed:.0f} s.",
        "",
    ]
    base = "ffmpeg-pipe" if "ffmpeg-pipe" in med else None
    hdr = "| contender | wall s (min–max) | CPU s | bytes | PSNR dB | frames | peak RSS MB |"
    sep = "|---|---:|---:|---:|---:|---:|---:|"
    if base:
        hdr += " wall ×pipe | CPU ×pipe | bytes ×pipe | ΔPSNR dB | RSS ×pipe |"
        sep += "---:|---:|---:|---:|---:|"
    hdr += " runs used |"
    sep += "---:|"
    L += [hdr, sep]
    for c in names:
        if c not in med:
            continue
        m, q = med[c], quality.get(c, {})
        ps = f"{q['psnr_db']:.3f}" if q else "–"
        fr = str(q.get("decoded_frames", "–")) if q else "–"
        by = f"{int(m['bytes']):,}" if c != "read-only" else "–"
        row = (
            f"| {LABELS[c]} | {m['wall_s']:.2f} ({m['wall_range'][0]:.2f}–{m['wall_range'][1]:.2f}) | "
            f"{m['cpu_s']:.2f} | {by} | {ps} | {fr} | {m['rss_mb']:.0f} |"
        )
        if base:
            b, bq = med[base], quality.get(base, {})
            if c == "read-only":
                row += f" {fmt_ratio(m['wall_s'] / b['wall_s'])} | {fmt_ratio(m['cpu_s'] / b['cpu_s'])} | – | – | {fmt_ratio(m['rss_mb'] / b['rss_mb'])} |"
            else:
                dps = f"{q['psnr_db'] - bq['psnr_db']:+.3f}" if q and bq else "–"
                row += (
                    f" {fmt_ratio(m['wall_s'] / b['wall_s'])} | {fmt_ratio(m['cpu_s'] / b['cpu_s'])} | "
                    f"{m['bytes'] / b['bytes']:.3f}× | {dps} | {fmt_ratio(m['rss_mb'] / b['rss_mb'])} |"
                )
        row += f" {m['n']} |"
        L.append(row)
    L += [
        "",
        "CPU = user+sys of the contender's process and its children (getrusage deltas around the timed "
        "region). Peak RSS = the Python process's VmHWM plus ru_maxrss of its encoder subprocess (sum of the "
        "two peaks; for x264 alone the Rust binary only). PSNR: each output decoded by ffmpeg to rgb24 "
        "(BT.709 matrix if tagged bt709, else ffmpeg's default BT.601; bicubic+accurate_rnd+full_chroma_int), "
        "over all frames against the source. Runs used: undisturbed runs / all runs, where disturbed means other "
        f"processes on the machine used more than {FOREIGN_MAX_S} CPU s during the run (from /proc/stat; before "
        "each run the bench also waits up to --idle-timeout s for the machine to go quiet).",
        "",
    ]

    # Goals.
    if "framepipe" in med:
        fp = med["framepipe"]
        L += [
            "Goals (issue: wall and CPU ≤ 0.9× the ffmpeg pipe, bytes ≤ 1.0× at equal PSNR, framepipe within "
            "5% of the encoder alone):",
            "",
        ]
        for bname in ("ffmpeg-pipe", "ffmpeg-pipe-bt709"):
            if bname not in med:
                continue
            b = med[bname]
            wr, cr = fp["wall_s"] / b["wall_s"], fp["cpu_s"] / b["cpu_s"]
            pw, pc = (
                paired_ratio(results, "framepipe", bname, "wall_s"),
                paired_ratio(results, "framepipe", bname, "cpu_s"),
            )
            L.append(
                f"- vs {LABELS[bname]}: wall {wr:.2f}× ({'met' if wr <= 0.9 else 'MISSED'}), "
                f"CPU {cr:.2f}× ({'met' if cr <= 0.9 else 'MISSED'}); median of per-round ratios: "
                f"wall {fmt_opt(pw)}, CPU {fmt_opt(pc)}"
            )
            if bname in quality and "framepipe" in quality:
                tq, tb = quality[bname]["psnr_db"], b["bytes"]
                dq = quality["framepipe"]["psnr_db"] - tq
                eq = bytes_at_psnr(rd, tq)
                s = f"  - bytes {fp['bytes'] / tb:.3f}× at crf {a.crf} (ΔPSNR {dq:+.3f} dB)"
                if eq:
                    s += (
                        f"; at equal PSNR ({tq:.3f} dB, interpolated over framepipe crf "
                        f"{','.join(str(k) for k in sorted(rd))}): {eq / tb:.3f}× "
                        f"({'met' if eq / tb <= 1.0 else 'MISSED'})"
                    )
                L.append(s)
        if "x264-alone" in med:
            lim = med["x264-alone"]
            enc = statistics.median(r["encoder_wall_s"] for r in clean_runs(results["x264-alone"]))
            wr = fp["wall_s"] / lim["wall_s"]
            pw = paired_ratio(results, "framepipe", "x264-alone", "wall_s")
            L.append(
                f"- vs x264 alone: wall {wr:.3f}× ({'met' if wr <= 1.05 else 'MISSED'}; x264 alone "
                f"{lim['wall_s']:.2f} s around the subprocess, {enc:.2f} s inside it), CPU "
                f"{fp['cpu_s'] / lim['cpu_s']:.3f}×; median of per-round ratios: wall {fmt_opt(pw, 3)}"
            )
            same = results["framepipe"][-1].get("md5") == results["x264-alone"][-1].get("md5")
            L.append(
                f"  - framepipe's MP4 is byte-identical to x264 alone's: {same}"
                + (
                    ""
                    if same
                    else " (they should be: was framepipe rebuilt with a different converter "
                    "than the encode_yuv example?)"
                )
            )
            if convert_s is not None:
                L.append(
                    f"  - framepipe's RGB→YUV conversion alone (encode_yuv convert, one thread): {convert_s:.3f} s "
                    f"for {a.frames} frames ({1000 * convert_s / a.frames:.2f} ms/frame)"
                )
        L.append("")
    if rd:
        L += [
            "framepipe rate-distortion points (untimed): "
            + "; ".join(f"crf {k}: {b:,} bytes, {q:.3f} dB" for k, (b, q) in sorted(rd.items())),
            "",
        ]
    if sws_enc and "ffmpeg-pipe-bt709" in quality:
        b9, q9 = med["ffmpeg-pipe-bt709"], quality["ffmpeg-pipe-bt709"]
        L += [
            f"Same encoder, swscale's pictures: x264 alone on ffmpeg's BT.709 yuv420p (untimed): "
            f"{sws_enc['bytes']:,} bytes, {sws_enc['psnr_db']:.3f} dB — vs ffmpeg pipe (bt709) "
            f"{int(b9['bytes']):,} bytes, {q9['psnr_db']:.3f} dB: bytes {sws_enc['bytes'] / b9['bytes']:.4f}×, "
            f"ΔPSNR {sws_enc['psnr_db'] - q9['psnr_db']:+.3f} dB.",
            "",
        ]
    if conv:
        L += [
            "Conversion only (RGB → yuv420p → RGB, no encoding; the PSNR ceiling of each path): "
            + "; ".join(f"{k}: {v:.3f} dB" for k, v in conv.items()),
            "",
        ]

    L += ["Per-round wall seconds (CPU s other processes used meanwhile; * = disturbed, left out):", ""]
    for c in names:
        if results[c]:
            L.append(
                f"- {LABELS[c]}: "
                + ", ".join(
                    f"r{r['round']} {r['wall_s']:.2f} ({r['foreign_cpu_s']:.2f}){'*' if r['foreign_cpu_s'] > FOREIGN_MAX_S else ''}"
                    for r in results[c]
                )
            )
    L.append("")
    L += [
        "Streams:",
        "",
        "| contender | profile | level | pix_fmt | colour (space/primaries/trc/range) | refs | "
        "faststart | same bytes each round |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in names:
        q = quality.get(c)
        if not q:
            continue
        p = q["probe"]
        col = "/".join(
            str(p.get(k, "unset")) for k in ("color_space", "color_primaries", "color_transfer", "color_range")
        )
        L.append(
            f"| {LABELS[c]} | {p.get('profile')} | {p.get('level')} | {p.get('pix_fmt')} | {col} | "
            f"{p.get('refs')} | {p.get('faststart')} | {q['same_bytes_every_round']} |"
        )
    L.append("")
    ref = sei_options(quality.get("framepipe", {}).get("sei"))
    L += [
        "x264 builds and effective settings (each file's x264 SEI; framepipe writes none, so its string comes "
        "from `encode_yuv x264-options`, whose SPS/PPS are checked identical to framepipe's):",
        "",
    ]
    for c in names:
        q = quality.get(c)
        if not q:
            continue
        sei = q.get("sei")
        build = re.search(r"core \d+( r\d+ \w+)?", sei or "")
        opts = sei_options(sei)
        diff = {k: (ref.get(k), v) for k, v in opts.items() if ref and ref.get(k) != v}
        d = ", ".join(f"{k}: framepipe {x} vs {y}" for k, (x, y) in diff.items()) or "none"
        missing = [k for k in ref if k not in opts] if opts else []
        if missing:
            d += f"; not in this string: {', '.join(missing)}"
        if not opts:
            d = "(no x264 options string found)"
        L.append(f"- {LABELS[c]}: x264 {build.group(0) if build else '?'}; option differences from framepipe: {d}")
    if ref:
        L += ["", "framepipe's x264 options: `" + quality["framepipe"]["sei"].split("options:", 1)[1].strip() + "`"]
    L.append("")
    L += ["Versions:", ""] + [f"- {k}: {v}" for k, v in vers.items()]
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    sys.exit(main())
