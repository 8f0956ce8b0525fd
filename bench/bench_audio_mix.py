#!/usr/bin/env python3
"""Mixing sound in clips: framepipe.clips.audio against MoviePy 2.2.1, in one run.

Ten stereo 44.1 kHz tracks of 60 s (AudioArrayClips of noise), each starting 3 s after the
last, some with a volume change or a fade, mixed with CompositeAudioClip and rendered whole with
``to_soundarray(fps=44100)`` (the work ``write_videofile`` does to get a clip's sound). The two
results are checked equal (the same float64 values) before the times are printed.

    python bench/bench_audio_mix.py [--tracks 10] [--seconds 60] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def build(m, afx, arrays, rate):
    clips = []
    for i, arr in enumerate(arrays):
        c = m.AudioArrayClip(arr, fps=rate).with_start(3.0 * i)
        if i % 3 == 1:
            c = c.with_effects([afx.MultiplyVolume(0.5)])
        elif i % 3 == 2:
            c = c.with_effects([afx.AudioFadeIn(2.0)])
        clips.append(c)
    return m.CompositeAudioClip(clips)


def timed(fn, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tracks", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rate = 44100
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(-0.1, 0.1, (int(args.seconds * rate), 2)) for _ in range(args.tracks)]

    import moviepy as mp
    from framepipe.clips import audio as fa
    from framepipe.clips.audio import afx
    from moviepy import afx as mafx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_fp, a = timed(lambda: build(fa, afx, arrays, rate).to_soundarray(fps=rate), args.repeat)
        t_mp, b = timed(lambda: build(mp, mafx, arrays, rate).to_soundarray(fps=rate), args.repeat)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_array_equal(a, b)
    total = args.tracks * args.seconds
    print(
        f"{args.tracks} tracks x {args.seconds:g} s stereo {rate} Hz, mix of {a.shape[0] / rate:g} s (best of {args.repeat})"
    )
    print(f"framepipe  {t_fp:8.3f} s   ({total / t_fp:8.0f} track-seconds/s)")
    print(f"moviepy    {t_mp:8.3f} s   ({total / t_mp:8.0f} track-seconds/s)")
    print(f"ratio      {t_mp / t_fp:8.1f}x  (samples equal)")


if __name__ == "__main__":
    main()
