"""Shared helpers: every output is decoded back by independent decoders (ffmpeg/ffprobe from
Debian's packages, PyAV from PyPI) and compared with the source frames."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

# The signal tests send a real SIGINT to child processes and expect Python's KeyboardInterrupt.
# A suite started with SIGINT ignored (nohup, `bash -c '...' &`) passes the ignored disposition
# on through exec, and Python then never installs its handler. A handler here (rather than
# SIG_IGN) is reset to the default by exec, so the children behave as under a terminal.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

FFMPEG = shutil.which("ffmpeg")
FFPROBE = shutil.which("ffprobe")
if not (FFMPEG and FFPROBE):  # the test setup (scripts/setup.sh) installs them
    raise RuntimeError("ffmpeg/ffprobe are required by the tests; run scripts/setup.sh")


def ffprobe(path) -> dict:
    """Stream and format facts from ffprobe, with the frame count from actually decoding."""
    out = subprocess.run(
        [
            FFPROBE,
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height,nb_read_frames,r_frame_rate,avg_frame_rate,codec_name,profile,pix_fmt,"
            "color_primaries,color_transfer,color_space,color_range,duration:format=duration,format_name",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    data = json.loads(out)
    s = data["streams"][0]
    s["nb_read_frames"] = int(s["nb_read_frames"])
    s["format_duration"] = float(data["format"]["duration"])
    s["duration"] = float(s.get("duration", "nan"))
    return s


def format_tags(path) -> dict:
    """The container's metadata tags (title, artist, encoder, ...) as ffprobe reads them."""
    out = subprocess.run(
        [FFPROBE, "-v", "error", "-show_entries", "format_tags", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)["format"].get("tags", {})


def ffmpeg_errors(path) -> str:
    """What ffmpeg's decoder complains about while decoding the whole file (empty = clean)."""
    r = subprocess.run([FFMPEG, "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True)
    return (r.stderr + ("" if r.returncode == 0 else f" (exit {r.returncode})")).strip()


def decode_rgb(path) -> np.ndarray:
    """Decode with ffmpeg to RGB24 using the stream's own colour tags (BT.709-aware)."""
    info = ffprobe(path)
    w, h = info["width"], info["height"]
    raw = subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def decode_av(path) -> np.ndarray:
    """Decode with PyAV (libavcodec through another binding) to RGB24, BT.709 limited range."""
    import av

    frames = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            frames.append(f.to_ndarray(format="rgb24", src_colorspace="ITU709", dst_colorspace="ITU709"))
    return np.stack(frames)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def smooth_frames(n: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """Plot-like smooth content: moving gradients and a soft moving disc, uint8 RGB."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.empty((n, h, w, 3), np.uint8)
    for i in range(n):
        t = i / 10 + seed
        r = 0.5 + 0.4 * np.sin(x / (w / 3.1) + t)
        g = 0.5 + 0.4 * np.sin(y / (h / 2.3) - 0.7 * t)
        b = 0.5 + 0.4 * np.cos((x + y) / (w / 2.7) + 0.5 * t)
        cx, cy = w * (0.5 + 0.3 * np.cos(t)), h * (0.5 + 0.3 * np.sin(t))
        d = np.sqrt((x - cx) ** 2 + (y - cy) ** 2)
        disc = np.clip((min(h, w) / 6 - d) / 3, 0, 1)
        rgb = np.stack([r, g, b], -1) * (1 - disc[..., None]) + disc[..., None] * np.array([0.95, 0.9, 0.2])
        out[i] = np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)
    return out


def top_level_boxes(path) -> list[str]:
    """The MP4's top-level box types in file order."""
    data = Path(path).read_bytes()
    boxes, i = [], 0
    while i + 8 <= len(data):
        size = int.from_bytes(data[i : i + 4], "big")
        kind = data[i + 4 : i + 8].decode("latin-1")
        if size == 1:
            size = int.from_bytes(data[i + 8 : i + 16], "big")
        elif size == 0:
            size = len(data) - i
        boxes.append(kind)
        i += size
    return boxes


def check_video(path, *, frames: int, width: int, height: int, fps=Fraction(30)) -> dict:
    """The facts every output must have: exact count, size, rate, duration, clean decode."""
    info = ffprobe(path)
    assert info["codec_name"] == "h264"
    assert info["nb_read_frames"] == frames
    assert (info["width"], info["height"]) == (width, height)
    assert Fraction(info["r_frame_rate"]) == Fraction(fps)
    expected = frames / Fraction(fps)
    assert abs(info["format_duration"] - float(expected)) < 0.0015, (info["format_duration"], float(expected))
    assert abs(info["duration"] - float(expected)) < 0.0015, (info["duration"], float(expected))
    assert ffmpeg_errors(path) == ""
    return info


@pytest.fixture
def out(tmp_path):
    return tmp_path / "out.mp4"


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium (Debian's, via tests/browser.py) shared by the browser tests."""
    import browser

    driver = browser.start()
    yield driver
    browser.stop(driver)


@pytest.fixture(scope="module")
def dask_client():
    """A real Dask LocalCluster (two worker processes) and its client, per test module."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()
