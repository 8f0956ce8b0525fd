"""Sound and picture stay in sync over 10 minutes (issue 23).

Each file: 32x32 frames, black except the first frame that starts at or after every whole second
(white), and a mono sound track that is silent except a click (a 2 ms Hann-windowed 3 kHz burst)
starting at that frame's start time (sample round(n / fps * rate)). The file is decoded by ffmpeg:
the flash times are the presentation times ffprobe gives the white frames' packets; each click's
onset is where the cross-correlation of the decoded sound with the click (made at the decoded
rate) peaks, within 50 ms of where it should be. Every click must start within 1 ms of its flash,
from the first second to the last (so there is no drift either). Written with write_audio one
second at a time, after that second's frames.
"""

from __future__ import annotations

import math
import subprocess
import time
from fractions import Fraction

import framepipe
import numpy as np
import pytest
from audio_support import decode_ffmpeg
from conftest import FFMPEG, FFPROBE

SECONDS = 600
CLICK_SECONDS = 0.002


def click(rate: int) -> np.ndarray:
    n = round(CLICK_SECONDS * rate)
    t = np.arange(n) / rate
    return (0.8 * np.sin(2 * np.pi * 3000 * t) * np.hanning(n)).astype(np.float32)


def write(path, fps: Fraction, rate: int, codec: str) -> int:
    n_frames = round(SECONDS * fps)
    black, white = np.zeros((32, 32), np.uint8), np.full((32, 32), 255, np.uint8)
    c = click(rate)
    with framepipe.VideoWriter(
        path, fps, audio_fps=rate, audio_channels=1, audio_codec=codec, preset="ultrafast", keyint=600
    ) as w:
        frame = 0
        for k in range(SECONDS):
            flash = math.ceil(k * fps)
            end = min(math.ceil((k + 1) * fps), n_frames)
            for n in range(frame, end):
                w.write(white if n == flash else black)
            frame = end
            sound = np.zeros(rate, np.float32)
            at = round(Fraction(flash) / fps * rate) - k * rate
            sound[at : at + len(c)] = c[: rate - at]
            w.write_audio(sound)
    return n_frames


def flash_times(path) -> np.ndarray:
    raw = subprocess.run(
        [
            FFMPEG,
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            "0:v:0",
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "gray",
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    means = np.frombuffer(raw, np.uint8).reshape(-1, 32 * 32).mean(axis=1)
    pts = subprocess.run(
        [
            FFPROBE,
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time",
            "-of",
            "csv=p=0",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    times = np.sort(np.array([float(p) for p in pts]))
    assert len(times) == len(means)
    return times[means > 128]


def click_onsets(path, rate: int, expected: np.ndarray) -> np.ndarray:
    sound = decode_ffmpeg(path, 1)[:, 0]
    c = click(rate)
    out = []
    for t in expected:
        lo = max(int(round((t - 0.05) * rate)), 0)
        window = sound[lo : lo + int(0.1 * rate) + len(c)]
        corr = np.correlate(window, c, mode="valid")
        out.append((lo + int(np.argmax(corr))) / rate)
    return np.array(out)


RUNS = [
    (Fraction(24), 44100, "aac"),
    (Fraction(24), 48000, "aac"),
    (Fraction(30000, 1001), 44100, "aac"),
    (Fraction(30000, 1001), 48000, "aac"),
    (Fraction(60), 44100, "aac"),
    (Fraction(60), 48000, "aac"),
    (Fraction(30000, 1001), 44100, "opus"),  # resampled to 48 kHz
]


@pytest.mark.parametrize("fps,rate,codec", RUNS, ids=[f"{f}fps-{r}Hz-{c}" for f, r, c in RUNS])
def test_clicks_and_flashes_agree_for_10_minutes(tmp_path, fps, rate, codec):
    out = tmp_path / "sync.mp4"
    started = time.monotonic()
    n_frames = write(out, fps, rate, codec)
    written = time.monotonic() - started
    decoded_rate = 48000 if codec == "opus" else rate
    flashes = flash_times(out)
    assert len(flashes) == SECONDS
    expected = np.array([math.ceil(k * fps) / fps for k in range(SECONDS)], dtype=np.float64)
    assert np.abs(flashes - expected).max() < 1e-6, "the flashes are where the frames were written"
    onsets = click_onsets(out, decoded_rate, flashes)
    error = onsets - flashes
    worst = np.abs(error).max()
    print(
        f"{fps} fps {rate} Hz {codec}: {n_frames} frames written in {written:.1f} s; click - flash: "
        f"worst {worst * 1e3:.3f} ms, first {error[0] * 1e3:.3f} ms, last {error[-1] * 1e3:.3f} ms"
    )
    assert worst < 0.001, (worst, np.argmax(np.abs(error)))
