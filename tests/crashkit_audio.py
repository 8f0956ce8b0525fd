"""A child process for tests/test_crash_audio.py: writes a video with sound until killed.

Run as ``python crashkit_audio.py MODE CODEC OUTPUT``:

- ``stream``: a :class:`framepipe.VideoWriter` with a sound track (``audio_codec=CODEC``), fed
  with ``write(frame)`` and ``write_audio(samples)`` in a seeded random interleaving (the sound
  up to a few frames ahead of or behind the picture, in pieces of random length), forever.
  It sleeps 8 ms after each frame (so a kill leaves seconds of media, not minutes).
  After every call it prints ``frames audio_samples on_disk``: frames and sample frames given
  so far, and the frames a reader of the file would find if the process died now.
- ``close``: the same for ``BIG_SECONDS`` of larger, noisy frames (so that close() takes a
  while), then prints ``closing FRAMES AUDIO ON_DISK``, closes and prints ``closed SECONDS``.

The picture is crashkit's frames; the sound is :func:`sound` (mono, 48 kHz): a repeated fast
chirp, so that a decoded stretch cross-correlates with the source at a single lag.
"""

from __future__ import annotations

import sys
import time

import crashkit
import numpy as np

RATE = 48000
FPS = crashkit.FPS
FRAGMENT_SECONDS = 0.5
#: ``close``: frames of noise at crf=1, so that the file is large (about 40 MB).
BIG_W, BIG_H, BIG_SECONDS = 320, 240, 5
SWEEP = 0.37


def sound(start: int, n: int) -> np.ndarray:
    """Samples start..start+n of the source (float32, mono, amplitude 0.5): a chirp sweeping
    from 200 Hz to 6 kHz every SWEEP seconds, its phase continuous (so any stretch is a clean
    signal, and a quarter of a second of it cross-correlates with the source at one lag)."""
    t = (start + np.arange(n, dtype=np.float64)) / RATE
    k, tau = np.divmod(t, SWEEP)
    f0, f1 = 200.0, 6000.0
    phase = k * SWEEP * (f0 + f1) / 2 + f0 * tau + (f1 - f0) * tau**2 / (2 * SWEEP)
    return (0.5 * np.sin(2 * np.pi * phase)).astype(np.float32)


def writer(out: str, codec: str, **kw):
    import framepipe

    return framepipe.VideoWriter(
        out,
        FPS,
        audio_fps=RATE,
        audio_channels=1,
        audio_codec=codec,
        audio_bitrate=192,
        preset="ultrafast",
        threads=2,
        fragment_seconds=FRAGMENT_SECONDS,
        **kw,
    )


def stream(w, frame, n_frames: int | None, report: bool, pace: float = 0.0) -> tuple[int, int]:
    """Feed `w` frames and the sound in a seeded random interleaving: before each frame, the
    sound up to a random target between 3 frames behind and 3 frames ahead of the video (in one
    or two calls). Returns (frames, sample frames) given."""
    rng = np.random.default_rng(11)
    i = a = 0
    while n_frames is None or i < n_frames:
        target = max(0, round((i + rng.integers(-3, 4)) * RATE / FPS))
        while a < target:
            k = min(target - a, int(rng.integers(200, 2400)))
            w.write_audio(sound(a, k))
            a += k
            if report:
                print(i, a, w.frames_on_disk, flush=True)
        w.write(frame(i))
        i += 1
        if pace:
            time.sleep(pace)
        if report:
            print(i, a, w.frames_on_disk, flush=True)
    # The sound to the video's end.
    end = round(i * RATE / FPS)
    if a < end:
        w.write_audio(sound(a, end - a))
        a = end
    return i, a


def big_frame(frames: list[np.ndarray], i: int) -> np.ndarray:
    f = frames[i % len(frames)].copy()
    f[:8] = i % 256
    return f


def main(mode: str, codec: str, out: str) -> None:
    if mode == "stream":
        w = writer(out, codec)
        print("started", flush=True)
        stream(w, crashkit.frame, None, True, pace=0.008)
        return
    rng = np.random.default_rng(7)
    frames = [rng.integers(0, 256, (BIG_H, BIG_W, 3), dtype=np.uint8) for _ in range(16)]
    w = writer(out, codec, crf=1)
    print("started", flush=True)
    n, a = stream(w, lambda i: big_frame(frames, i), BIG_SECONDS * FPS, False)
    print("closing", n, a, w.frames_on_disk, flush=True)
    t = time.perf_counter()
    w.close()
    print("closed", f"{time.perf_counter() - t:.4f}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
