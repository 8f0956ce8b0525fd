"""A parallel-rendered MP4 (chunks joined without re-encoding) plays in a real browser: headless
Chromium decodes frames on both sides of every chunk join with the source colours."""

from __future__ import annotations

import browser
import framepipe
import numpy as np

FPS, N, H, W, CHUNK = 10, 30, 96, 128, 7
TOL = 12
POINTS = [(W // 4, H // 4), (3 * W // 4, H // 4), (W // 4, 3 * H // 4), (3 * W // 4, 3 * H // 4)]


def colours(i: int) -> list[tuple[int, int, int]]:
    return [(200, 40 + 6 * i, 30), (30, 190, 40 + 5 * i), (40, 50, 210), (8 * i, 8 * i, 8 * i)]


def quadrants(i: int) -> np.ndarray:
    c = colours(i)
    f = np.zeros((H, W, 3), np.uint8)
    f[: H // 2, : W // 2], f[: H // 2, W // 2 :] = c[0], c[1]
    f[H // 2 :, : W // 2], f[H // 2 :, W // 2 :] = c[2], c[3]
    return f


def test_parallel_file_plays_across_chunk_joins(chromium, tmp_path):
    out = tmp_path / "parallel.mp4"
    res = framepipe.render(quadrants, out, n_frames=N, fps=FPS, workers=2, chunk_frames=CHUNK)
    assert res.frames == N
    page = tmp_path / "page.html"
    page.write_text(browser.page(f"<video src='{out.name}' muted playsinline></video>"))
    chromium.get(page.as_uri())
    # Frames just before and after each join (7, 14, 21, 28), and the last one.
    sample = sorted({k for j in range(CHUNK, N, CHUNK) for k in (j - 1, j)} | {0, N - 1})
    got = chromium.execute_async_script(browser.PROBE_VIDEO, [(k + 0.5) / FPS for k in sample], POINTS, 1 / FPS)
    assert "error" not in got, got
    assert got["readyState"] >= 2
    assert abs(got["duration"] - N / FPS) < 0.5 / FPS, got["duration"]
    assert (got["width"], got["height"]) == (W, H)
    for k, pixels in zip(sample, got["frames"]):
        for want, px in zip(colours(k), pixels):
            assert max(abs(a - b) for a, b in zip(px, want)) <= TOL, (k, px, want)
