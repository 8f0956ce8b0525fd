"""Memory stays flat however many frames: pixel data is released once encoded."""

from __future__ import annotations

import framepipe
import numpy as np
import psutil
from conftest import check_video, ffprobe


def test_ten_thousand_frames_memory_growth_under_20mb(out):
    proc = psutil.Process()
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (72, 96, 3), dtype=np.uint8)
    rss = {}
    with framepipe.VideoWriter(out, fps=60, preset="veryfast") as w:
        frame = base.copy()
        for i in range(10_000):
            frame[:, :, 0] = (base[:, :, 0].astype(np.uint16) + i) % 256  # every frame differs
            w.write(frame)
            if i + 1 in (1_000, 10_000):
                rss[i + 1] = proc.memory_info().rss
    growth = (rss[10_000] - rss[1_000]) / 1e6
    assert growth < 20, f"RSS grew {growth:.1f} MB between frame 1,000 and 10,000"
    info = check_video(out, frames=10_000, width=96, height=72, fps=60)
    assert info["nb_read_frames"] == 10_000
    assert abs(ffprobe(out)["duration"] - 10_000 / 60) < 1e-3
