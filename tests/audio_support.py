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


# ------------------------------------------------------------------------- the finished file's chunks


def _boxes(data: bytes, start: int = 0, end: int | None = None):
    """(type, body start, body end) of the boxes in data[start:end]."""
    end = len(data) if end is None else end
    i = start
    while i + 8 <= end:
        size = int.from_bytes(data[i : i + 4], "big")
        kind = data[i + 4 : i + 8].decode("latin-1")
        head = 8
        if size == 1:
            size, head = int.from_bytes(data[i + 8 : i + 16], "big"), 16
        elif size == 0:
            size = end - i
        yield kind, i + head, i + size
        i += size


def _child(data: bytes, start: int, end: int, kind: str) -> tuple[int, int] | None:
    for k, s, e in _boxes(data, start, end):
        if k == kind:
            return s, e
    return None


def _u32s(data: bytes, s: int, n: int) -> list[int]:
    return [int.from_bytes(data[s + 4 * k : s + 4 * k + 4], "big") for k in range(n)]


def chunks(path) -> list[dict]:
    """The chunks of a finished (non-fragmented) MP4, in file order, read from each track's
    stco/co64, stsc, stsz and stts: ``kind`` ("video"/"audio"), ``offset``, ``bytes``,
    ``samples``, ``start`` and ``seconds`` (media time of its first sample and its samples'
    summed duration, in seconds)."""
    from pathlib import Path

    data = Path(path).read_bytes()
    moov = _child(data, 0, len(data), "moov")
    assert moov is not None, "no moov"
    out = []
    for kind, s, e in _boxes(data, *moov):
        if kind != "trak":
            continue
        mdia = _child(data, s, e, "mdia")
        hdlr = _child(data, *mdia, "hdlr")
        handler = data[hdlr[0] + 8 : hdlr[0] + 12].decode("latin-1")
        mdhd = _child(data, *mdia, "mdhd")
        v1 = data[mdhd[0]] == 1
        timescale = int.from_bytes(data[mdhd[0] + (20 if v1 else 12) : mdhd[0] + (24 if v1 else 16)], "big")
        stbl = _child(data, *_child(data, *mdia, "minf"), "stbl")
        stts_s, _ = _child(data, *stbl, "stts")
        n = _u32s(data, stts_s + 4, 1)[0]
        durations = []
        for c, d in zip(*[iter(_u32s(data, stts_s + 8, 2 * n))] * 2):
            durations += [d] * c
        stsz_s, _ = _child(data, *stbl, "stsz")
        fixed, count = _u32s(data, stsz_s + 4, 2)
        sizes = [fixed] * count if fixed else _u32s(data, stsz_s + 12, count)
        stsc_s, _ = _child(data, *stbl, "stsc")
        n = _u32s(data, stsc_s + 4, 1)[0]
        runs = [tuple(_u32s(data, stsc_s + 8 + 12 * k, 3)[:2]) for k in range(n)]
        co = _child(data, *stbl, "stco")
        if co is not None:
            offsets = _u32s(data, co[0] + 8, _u32s(data, co[0] + 4, 1)[0])
        else:
            co = _child(data, *stbl, "co64")
            n = _u32s(data, co[0] + 4, 1)[0]
            offsets = [int.from_bytes(data[co[0] + 8 + 8 * k : co[0] + 16 + 8 * k], "big") for k in range(n)]
        per = []
        for k in range(len(offsets)):
            i = max(j for j, (first, _) in enumerate(runs) if first <= k + 1)
            per.append(runs[i][1])
        assert sum(per) == len(sizes), (handler, sum(per), len(sizes))
        sample = 0
        t = 0
        for off, m in zip(offsets, per):
            secs = sum(durations[sample : sample + m])
            out.append(
                dict(
                    kind={"vide": "video", "soun": "audio"}.get(handler, handler),
                    offset=off,
                    bytes=sum(sizes[sample : sample + m]),
                    samples=m,
                    start=t / timescale,
                    seconds=secs / timescale,
                )
            )
            t += secs
            sample += m
    return sorted(out, key=lambda c: c["offset"])


def check_interleaved(path, max_seconds: float = 1.05) -> list[dict]:
    """The finished file's chunks do not overlap, each holds at most `max_seconds` of media, both
    tracks have chunks, and they interleave: at every chunk boundary in file order, the media time
    the video chunks so far reach and the time the audio chunks reach differ by at most
    `max_seconds` (until a track's end), so a player reading the file from the start never needs
    more than about a second of one track to reach the other's samples of the same moment."""
    cs = chunks(path)
    for a, b in zip(cs, cs[1:]):
        assert a["offset"] + a["bytes"] <= b["offset"], (a, b)
    for c in cs:
        assert c["seconds"] <= max_seconds, c
    kinds = {c["kind"] for c in cs}
    assert kinds == {"video", "audio"}, kinds
    total = {k: sum(c["seconds"] for c in cs if c["kind"] == k) for k in kinds}
    end = min(total.values())
    reached = {k: 0.0 for k in kinds}
    for i, c in enumerate(cs):
        reached[c["kind"]] = c["start"] + c["seconds"]
        v, a = min(reached["video"], end), min(reached["audio"], end)
        assert abs(v - a) <= max_seconds + 1e-9, (i, c, reached)
    return cs
