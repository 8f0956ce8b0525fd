"""Animated GIF output. Every GIF is decoded by two independent decoders, Pillow and ffmpeg, and
checked against the source: frame count, size, per-frame delays, total duration, loop count, PSNR.
"""

from __future__ import annotations

import errno
import io
import json
import subprocess
from fractions import Fraction

import framepipe
import numpy as np
import psutil
import pytest
from conftest import FFMPEG, FFPROBE, ffmpeg_errors, psnr, smooth_frames
from PIL import Image, ImageSequence

# --------------------------------------------------------------------------- decoding helpers


def pil_decode(src) -> tuple[list[np.ndarray], list[int], int | None]:
    """Pillow: the composited picture of each GIF image, each image's duration (ms) and the
    NETSCAPE loop value (None when the file has no loop block, i.e. plays once)."""
    im = Image.open(io.BytesIO(src) if isinstance(src, bytes) else src)
    frames, durations = [], []
    for f in ImageSequence.Iterator(im):
        frames.append(np.asarray(f.convert("RGB")))
        durations.append(f.info["duration"])
    return frames, durations, im.info.get("loop")


def ff_decode(path) -> np.ndarray:
    """ffmpeg: every GIF image (one picture per image, not resampled to a rate), composited, RGB24."""
    info = ff_probe(path)
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
    return np.frombuffer(raw, np.uint8).reshape(-1, info["height"], info["width"], 3)


def ff_probe(path) -> dict:
    """ffprobe: size, codec, decoded frame count, each packet's duration (s), container duration."""
    out = subprocess.run(
        [
            FFPROBE,
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height,codec_name,nb_read_frames:packet=duration_time:format=duration",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    d = json.loads(out)
    s = d["streams"][0]
    return {
        "width": s["width"],
        "height": s["height"],
        "codec": s["codec_name"],
        "frames": int(s["nb_read_frames"]),
        "durations": [float(p["duration_time"]) for p in d["packets"]],
        "duration": float(d["format"]["duration"]),
    }


def display_frames(images: list[np.ndarray], delays_cs: list[int], n: int, fps) -> np.ndarray:
    """What is on screen during each of the n source frames (frame i starts at i / fps)."""
    starts = np.cumsum([0] + list(delays_cs))
    shown = []
    for i in range(n):
        t = int(Fraction(100 * i) / Fraction(fps))  # cs, as framepipe rounds (down)
        k = int(np.searchsorted(starts, t, side="right")) - 1
        shown.append(images[min(k, len(images) - 1)])
    return np.stack(shown)


def expected_delays(n: int, fps) -> list[int]:
    starts = [int(Fraction(100 * i) / Fraction(fps)) for i in range(n + 1)]
    return [b - a for a, b in zip(starts, starts[1:])]


def check_gif(path, src: np.ndarray, fps=30, *, min_psnr: float, loop: int | None = 0) -> dict:
    """The facts every GIF must have, from both decoders, for source frames that all differ."""
    n, h, w = src.shape[:3]
    data = open(path, "rb").read()
    assert data[:6] == b"GIF89a" and data[-1] == 0x3B, "a GIF ends with its trailer byte"
    delays = expected_delays(n, fps)
    # Pillow
    frames, durations, pil_loop = pil_decode(path)
    assert len(frames) == n
    assert frames[0].shape == (h, w, 3)
    assert durations == [10 * d for d in delays]
    assert pil_loop == loop
    p_pil = psnr(np.stack(frames), src)
    # ffmpeg
    info = ff_probe(path)
    assert (info["codec"], info["width"], info["height"], info["frames"]) == ("gif", w, h, n)
    assert info["durations"] == pytest.approx([d / 100 for d in delays])
    total = sum(delays) / 100
    assert total == pytest.approx(int(Fraction(100 * n) / Fraction(fps)) / 100)
    assert info["duration"] == pytest.approx(total, abs=0.011)
    assert ffmpeg_errors(path) == ""
    p_ff = psnr(ff_decode(path), src)
    assert p_pil >= min_psnr and p_ff >= min_psnr, (p_pil, p_ff)
    assert p_pil == p_ff or abs(p_pil - p_ff) < 0.5, "the two decoders agree"
    return {"psnr": p_ff, "bytes": len(data), "delays": delays}


def plot_frames(n: int, h: int = 120, w: int = 160) -> np.ndarray:
    """A matplotlib line animation (anti-aliased line, text, axes), RGB, every frame differs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(w / 100, h / 100), dpi=100)
    x = np.linspace(0, 2 * np.pi, 100)
    (line,) = ax.plot(x, np.sin(x))
    ax.set_ylim(-1.3, 1.3)
    out = []
    for i in range(n):
        line.set_ydata(np.sin(x + i / 8))
        fig.canvas.draw()
        out.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    plt.close(fig)
    return np.stack(out)


PLOT = plot_frames(24)
SMOOTH = smooth_frames(12, 48, 64)


# --------------------------------------------------------------------------- the format


def test_plot_animation_round_trips_nearly_lossless(tmp_path):
    out = tmp_path / "plot.gif"
    res = framepipe.write_video(out, PLOT, fps=30)
    assert (res.format, res.frames, res.width, res.height) == ("gif", 24, 160, 120)
    assert res.bytes == out.stat().st_size
    r = check_gif(out, PLOT, 30, min_psnr=55)
    assert r["delays"][:6] == [3, 3, 4, 3, 3, 4]  # carried rounding: exact total
    assert res.duration == pytest.approx(0.8)


@pytest.mark.parametrize("dither", ["none", "ordered", "floyd-steinberg"])
def test_photo_like_content_every_dither(tmp_path, dither):
    out = tmp_path / f"smooth-{dither}.gif"
    framepipe.write_video(out, SMOOTH, fps=25, dither=dither)
    check_gif(out, SMOOTH, 25, min_psnr=30)


@pytest.mark.parametrize("fps", [Fraction(30000, 1001), 24, 12.5, 50])
def test_delays_carry_rounding_at_any_rate(tmp_path, fps):
    out = tmp_path / "rate.gif"
    res = framepipe.write_video(out, PLOT[:20], fps=fps)
    assert res.fps == Fraction(fps)
    r = check_gif(out, PLOT[:20], fps, min_psnr=55)
    assert max(r["delays"]) - min(r["delays"]) <= 1 and min(r["delays"]) >= 2


def test_identical_frames_merge_into_longer_delays(tmp_path):
    out = tmp_path / "merge.gif"
    a, b, c = PLOT[0], PLOT[5], PLOT[9]
    src = np.stack([a, a, a, b, b, c])
    framepipe.write_video(out, src, fps=10)
    frames, durations, _ = pil_decode(out)
    assert durations == [300, 200, 100]
    info = ff_probe(out)
    assert info["frames"] == 3 and info["durations"] == pytest.approx([0.3, 0.2, 0.1])
    assert info["duration"] == pytest.approx(0.6, abs=0.011)
    shown_pil = display_frames(frames, [30, 20, 10], 6, 10)
    shown_ff = display_frames(list(ff_decode(out)), [30, 20, 10], 6, 10)
    assert psnr(shown_pil, src) >= 55 and psnr(shown_ff, src) >= 55


@pytest.mark.parametrize("loop, netscape", [(0, 0), (1, None), (2, 1), (5, 4)])
def test_loop_is_how_many_times_it_plays(tmp_path, loop, netscape):
    out = tmp_path / "loop.gif"
    framepipe.write_video(out, PLOT[:3], fps=10, loop=loop)
    _, _, pil_loop = pil_decode(out)
    assert pil_loop == netscape
    assert (b"NETSCAPE2.0" in out.read_bytes()) == (netscape is not None)
    assert ff_probe(out)["frames"] == 3


def test_colors_bound_the_palette(tmp_path):
    for colors in (2, 16, 64):
        out = tmp_path / f"c{colors}.gif"
        framepipe.write_video(out, SMOOTH[:3], fps=10, colors=colors, dither="none")
        first = ff_decode(out)[0].reshape(-1, 3)
        assert len(np.unique(first, axis=0)) <= colors
        assert psnr(ff_decode(out), SMOOTH[:3]) > (12 if colors == 2 else 24)
    # More colours, better fit.
    p16 = psnr(ff_decode(tmp_path / "c16.gif"), SMOOTH[:3])
    p64 = psnr(ff_decode(tmp_path / "c64.gif"), SMOOTH[:3])
    assert p64 > p16 + 3


def test_format_option_and_in_memory(tmp_path):
    # format= wins over the extension.
    out = tmp_path / "named.mp4"
    res = framepipe.write_video(out, PLOT[:6], fps=30, format="gif")
    assert res.format == "gif" and out.read_bytes()[:6] == b"GIF89a"
    check_gif(out, PLOT[:6], 30, min_psnr=55)
    # In memory.
    with framepipe.VideoWriter(None, fps=30, format="GIF") as w:
        assert w.format == "gif"
        for f in PLOT[:6]:
            w.write(f)
    res = w.close()
    assert res.data[:6] == b"GIF89a" and res.data[-1] == 0x3B and res.bytes == len(res.data)
    frames, durations, loop = pil_decode(res.data)
    assert len(frames) == 6 and durations == [30, 30, 40, 30, 30, 40] and loop == 0
    assert psnr(np.stack(frames), PLOT[:6]) >= 55
    # An MP4 stays the default for other names and in memory; names of other containers are
    # refused rather than given MP4 bytes.
    assert framepipe.VideoWriter(None).format == "mp4"
    assert framepipe.VideoWriter(tmp_path / "x.video").format == "mp4"
    with pytest.raises(framepipe.UnsupportedError, match=r"\.mkv file"):
        framepipe.VideoWriter(tmp_path / "x.mkv")
    assert framepipe.VideoWriter(tmp_path / "x.mkv", format="mp4").format == "mp4"


def test_odd_size_alpha_and_gray(tmp_path):
    # Odd sizes need no padding in a GIF; alpha is composited over the background, as for MP4.
    rgba = np.zeros((4, 33, 47, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 255
    rgba[:, :, 20:, 3] = 0  # transparent right part
    for i in range(4):
        rgba[i, 5 + i, 3, :] = (0, 255, 0, 255)  # every frame differs
    out = tmp_path / "alpha.gif"
    framepipe.write_video(out, rgba, fps=10, background=(0, 0, 255))
    expect = np.where(rgba[..., 3:] == 255, rgba[..., :3], np.array([0, 0, 255], np.uint8))
    check_gif(out, expect, 10, min_psnr=99)  # exact: three colours
    gray = (SMOOTH[:4].mean(axis=3)).astype(np.uint8)
    out = tmp_path / "gray.gif"
    framepipe.write_video(out, gray, fps=10)
    check_gif(out, np.repeat(gray[..., None], 3, axis=3), 10, min_psnr=40)


def test_above_50_fps_warns_and_keeps_the_duration(tmp_path):
    out = tmp_path / "fast.gif"
    with pytest.warns(framepipe.FramepipeWarning, match="50 fps"):
        framepipe.write_video(out, PLOT[:20], fps=60)
    frames, durations, _ = pil_decode(out)
    assert min(durations) >= 20 and sum(durations) == 330  # floor(100 * 20 / 60) cs
    assert ff_probe(out)["duration"] == pytest.approx(0.33, abs=0.011)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "opts, pattern",
    [
        (dict(colors=1), "colors must be between 2 and 256"),
        (dict(colors=257), "colors"),
        (dict(colors=2.5), "colors must be an integer"),
        (dict(dither="sierra"), 'unknown dither "sierra"; expected one of none, ordered, floyd-steinberg'),
        (dict(loop=-1), "loop"),
        (dict(loop=70000), "loop"),
        (dict(format="avi"), 'unknown format "avi"; expected one of mp4, gif'),
        (dict(crf=20), "crf applies to MP4"),
        (dict(bitrate=500, tune="film"), "bitrate, tune apply to MP4"),
    ],
)
def test_bad_gif_options_fail_early(tmp_path, opts, pattern):
    with pytest.raises(framepipe.ParameterError, match=pattern):
        framepipe.VideoWriter(tmp_path / "x.gif", fps=10, **opts)
    assert not (tmp_path / "x.gif").exists()


def test_gif_options_on_an_mp4_are_refused(tmp_path):
    with pytest.raises(framepipe.ParameterError, match="colors, loop apply to GIF output only"):
        framepipe.VideoWriter(tmp_path / "x.mp4", colors=16, loop=2)


def test_bad_frames_name_their_index_and_earlier_frames_stay(tmp_path):
    out = tmp_path / "bad.gif"
    with pytest.raises(RuntimeError, match="boom"):
        with framepipe.VideoWriter(out, fps=30) as w:
            for f in PLOT[:5]:
                w.write(f)
            with pytest.raises(framepipe.ParameterError, match=r"frame 5 .*\(60, 80, 3\)"):
                w.write(np.zeros((60, 80, 3), np.uint8))
            bad = PLOT[5] / 255.0
            bad[7, 9, 2] = np.nan
            with pytest.raises(framepipe.ParameterError, match="frame 5.*NaN at row 7, column 9"):
                w.write(bad)
            with pytest.raises(framepipe.UnsupportedError, match="dtype"):
                w.write(PLOT[5].astype(np.int64))
            w.write(PLOT[5])  # still usable
            raise RuntimeError("boom")
    check_gif(out, PLOT[:6], 30, min_psnr=55)


def test_no_frames_is_a_clear_error(tmp_path):
    with pytest.raises(framepipe.ParameterError, match="a GIF needs at least one frame"):
        framepipe.VideoWriter(tmp_path / "empty.gif").close()
    assert not (tmp_path / "empty.gif").exists()


def test_disk_full_keeps_earlier_frames_in_a_valid_gif(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    if (
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mnt)], capture_output=True).returncode
        != 0
    ):
        pytest.skip("needs root to mount a small tmpfs")  # CI runs as root
    try:
        out = mnt / "full.gif"
        rng = np.random.default_rng(0)
        noise = rng.integers(0, 255, (40, 96, 128, 3), dtype=np.uint8)  # ~13 KB per frame
        w = framepipe.VideoWriter(out, fps=20)
        with pytest.raises(framepipe.OutputError) as e:
            for i in range(1000):
                w.write(noise[i % 40])
        assert e.value.errno == errno.ENOSPC and "full.gif" in str(e.value)
        with pytest.raises(framepipe.OutputError) as again:
            w.write(noise[0])
        assert again.value.errno == errno.ENOSPC and "earlier error" in str(again.value)
        res = w.close()
        assert res.frames > 3
        kept = np.stack([noise[i % 40] for i in range(res.frames)])
        check_gif(out, kept, 20, min_psnr=8)  # noise: quantized hard, but every frame there
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


# --------------------------------------------------------------------------- memory


def test_five_thousand_frames_in_flat_memory(tmp_path):
    out = tmp_path / "long.gif"
    proc = psutil.Process()
    base = smooth_frames(1, 120, 160)[0]
    rss = {}
    with framepipe.VideoWriter(out, fps=50) as w:
        frame = base.copy()
        for i in range(5_000):
            frame[10:20, 10:40] = (i * 7) % 256  # a changing patch: every frame differs
            frame[30:60, (i % 100) : (i % 100) + 40] = (i * 13) % 256
            w.write(frame)
            if i + 1 in (500, 5_000):
                rss[i + 1] = proc.memory_info().rss
    growth = (rss[5_000] - rss[500]) / 1e6
    assert growth < 10, f"RSS grew {growth:.1f} MB between frame 500 and 5,000"
    info = ff_probe(out)
    assert info["frames"] == 5_000 and info["duration"] == pytest.approx(100.0, abs=0.011)
    assert ffmpeg_errors(out) == ""


# --------------------------------------------------------------------------- matplotlib


def test_matplotlib_writer_saves_a_gif(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.animation as animation
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.6, 1.2), dpi=100)
    x = np.linspace(0, 2 * np.pi, 100)
    (line,) = ax.plot(x, np.sin(x))
    src = []

    def update(i):
        line.set_ydata(np.sin(x + i / 5))
        return (line,)

    ani = animation.FuncAnimation(fig, update, frames=12, interval=40, blit=False)
    out = tmp_path / "ani.gif"
    ani.save(out, writer="framepipe")
    for i in range(12):  # the same frames, drawn again for comparison
        update(i)
        fig.canvas.draw()
        src.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    plt.close(fig)
    check_gif(out, np.stack(src), 25, min_psnr=50)
