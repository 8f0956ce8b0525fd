"""Helpers for the sound-track tests: decoding a file's audio with ffmpeg and with PyAV (both
apply the MP4 edit list, so the encoder's priming is not in what they return), stream facts from
ffprobe, and the measurements the tests compare with the source (lag, SNR, tone frequency and
level)."""

from __future__ import annotations

import json
import subprocess

import numpy as np
from conftest import FFMPEG, FFPROBE


def streams(path) -> list[dict]:
    """ffprobe's streams (codec_type, codec_name, sample_rate, channels, duration, ...)."""
    out = subprocess.run(
        [FFPROBE, "-v", "error", "-show_entries", "stream", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)["streams"]


def decode_ffmpeg(path, channels: int) -> np.ndarray:
    """The first audio stream decoded by ffmpeg at its own rate, as (n, channels) float32."""
    raw = subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "f32le", "-c:a", "pcm_f32le", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.float32).reshape(-1, channels)


def decode_av(path) -> np.ndarray:
    """The first audio stream decoded by PyAV, as (n, channels) float32."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        parts = []
        for frame in c.decode(s):
            a = frame.to_ndarray()
            # planar (channels, n) or packed (1, n * channels)
            parts.append(a.T if frame.format.is_planar else a.reshape(-1, s.codec_context.channels))
    return np.concatenate(parts).astype(np.float32)


def assert_length(decoded: np.ndarray, n: int) -> None:
    """ffmpeg and PyAV skip the priming (the edit list's start) but decode the last packet whole,
    past the edit list's end: `n` samples, plus less than a packet (AAC 1024, Opus 960). The
    track's duration (ffprobe's, from the edit list) is checked separately."""
    assert n <= len(decoded) < n + 1024, (len(decoded), n)


def lag(decoded: np.ndarray, source: np.ndarray, max_lag: int = 2048) -> int:
    """The shift of `decoded` against `source` (mono, same rate) at the cross-correlation's peak:
    0 when the decoded sound starts where the source does."""
    n = min(len(decoded), len(source))
    a, b = decoded[:n].astype(np.float64), source[:n].astype(np.float64)
    best, best_lag = -np.inf, 0
    for k in range(-max_lag, max_lag + 1):
        c = np.dot(a[max(k, 0) : n + min(k, 0)], b[max(-k, 0) : n - max(k, 0)])
        if c > best:
            best, best_lag = c, k
    return best_lag


def snr_db(decoded: np.ndarray, source: np.ndarray) -> float:
    n = min(len(decoded), len(source))
    a, b = decoded[:n].astype(np.float64), source[:n].astype(np.float64)
    return float(10 * np.log10(np.sum(b**2) / max(np.sum((a - b) ** 2), 1e-30)))


def tone_frequency(x: np.ndarray, rate: int) -> float:
    """The frequency of a sine from its rising zero crossings (interpolated)."""
    x = x.astype(np.float64)
    i = np.nonzero((x[:-1] < 0) & (x[1:] >= 0))[0]
    t = i + x[i] / (x[i] - x[i + 1])
    return float((len(t) - 1) * rate / (t[-1] - t[0]))


def rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2))))


def tones(n: int, rate: int, channels: int, amplitude: float = 0.5) -> np.ndarray:
    """(n, channels) float64: channel c a sine of its own frequency (1 kHz on channel 0, 80 Hz on 5.1's LFE)."""
    t = np.arange(n) / rate
    freqs = [1000.0, 1500.0, 700.0, 80.0, 300.0, 1800.0, 900.0, 2600.0][:channels]
    return np.stack([amplitude * np.sin(2 * np.pi * f * t) for f in freqs], axis=1)


def chirp(n: int, rate: int, f0: float = 100.0, f1: float = 6000.0, amplitude: float = 0.5) -> np.ndarray:
    """A linear chirp (mono, float64): broadband, so the cross-correlation has one clear peak."""
    t = np.arange(n) / rate
    secs = n / rate
    return amplitude * np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * secs)))
