"""Frames and child programs for tests/test_crash.py: a process that writes a video and is
killed from outside.

Run as ``python crashkit.py MODE OUTPUT``: MODE ``mp4`` or ``gif`` writes frames with
framepipe.VideoWriter until killed, printing ``given encoded on_disk`` after every frame (frames
written, frames the encoder gave out, and frames a reader of the file would find if the
process died now); ``close`` writes a large MP4 and closes it (the test kills it while it
closes), ``fragmented`` writes the same and exits before closing; ``render`` runs
``framepipe.render(workers=2, resume=True)`` of ``RENDER_FRAMES`` frames in chunks of
``CHUNK`` (``render-plain``: four times as many frames, without resume)."""

from __future__ import annotations

import sys

import numpy as np

W, H = 160, 96
FPS = 30
FRAGMENT_SECONDS = 0.5
RENDER_FRAMES = 600
CHUNK = 30
_y, _x = np.mgrid[0:H, 0:W]


def frame(i: int) -> np.ndarray:
    """Frame i: smooth moving triangle waves and a white square whose place depends on i (so a
    frame compared with its neighbour's source fails the PSNR check)."""
    r = np.abs((_x * 2 + 3 * i) % 512 - 256)
    g = np.abs((_y * 3 + 5 * i) % 512 - 256)
    b = np.abs((_x + _y + 7 * i) % 512 - 256)
    f = np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)
    x0 = (i * 13) % (W - 16)
    y0 = (i * 7) % (H - 16)
    f[y0 : y0 + 16, x0 : x0 + 16] = 255
    return f


def frames(n: int) -> np.ndarray:
    return np.stack([frame(i) for i in range(n)]) if n else np.zeros((0, H, W, 3), np.uint8)


def render(out: str, resume: bool, n_frames: int = RENDER_FRAMES, **kw) -> None:
    import framepipe

    return framepipe.render(frame, out, n_frames=n_frames, fps=FPS, workers=2, chunk_frames=CHUNK, resume=resume, **kw)


#: ``close`` and ``fragmented``: a large file (about 136 MB), so that close() takes a while.
BIG_W, BIG_H, BIG_FRAMES = 640, 480, 300


def big_frames() -> list[np.ndarray]:
    """Noise (so that x264 at crf=1 makes large frames): 16 frames, used in turn."""
    rng = np.random.default_rng(7)
    return [rng.integers(0, 256, (BIG_H, BIG_W, 3), dtype=np.uint8) for _ in range(16)]


def big_frame(frames: list[np.ndarray], i: int) -> np.ndarray:
    """Frame i of the large file: noise frame i % 16 with i burnt into its top rows (so no two
    frames are the same)."""
    f = frames[i % 16].copy()
    f[:8] = i % 256
    return f


def write_big(out: str, close: bool) -> None:
    """Write BIG_FRAMES frames; print ``closing ON_DISK`` (frames on disk) just before
    close(), then ``closed FRAMES SECONDS`` (what close took); without `close`, exit at once instead (a fragmented file,
    as a killed writer leaves it)."""
    import os
    import time

    import framepipe

    frames = big_frames()
    w = framepipe.VideoWriter(out, fps=FPS, preset="ultrafast", crf=1, fragment_seconds=FRAGMENT_SECONDS)
    print("started", flush=True)
    for i in range(BIG_FRAMES):
        w.write(big_frame(frames, i))
    if not close:
        # Wait until the encoder thread has written every fragment it can (x264's lookahead is
        # 0 at ultrafast; the last fragment stays in memory until close), then vanish.
        while w.frames_on_disk < BIG_FRAMES - 2 * round(FRAGMENT_SECONDS * FPS):
            time.sleep(0.01)
        print("fragmented", w.frames_on_disk, flush=True)
        os._exit(0)
    print("closing", w.frames_on_disk, flush=True)
    t = time.perf_counter()
    res = w.close()
    print("closed", res.frames, f"{time.perf_counter() - t:.4f}", flush=True)


def main(mode: str, out: str) -> None:
    import framepipe

    if mode in ("close", "fragmented"):
        write_big(out, mode == "close")
        return
    if mode.startswith("render"):
        print("started", flush=True)
        # render-plain runs longer: the test stops it with SIGTERM part way.
        n = RENDER_FRAMES if mode == "render" else 4 * RENDER_FRAMES
        render(out, mode == "render", n, progress_callback=lambda done, total: print(done, 0, 0, flush=True))
        print("finished", flush=True)
        return

    # Two encoder threads whatever the machine: x264's delay depends on its thread count.
    opts = {"fragment_seconds": FRAGMENT_SECONDS, "threads": 2} if mode == "mp4" else {}
    w = framepipe.VideoWriter(out, fps=FPS, **opts)
    print("started", flush=True)
    i = 0
    while True:
        w.write(frame(i))
        i += 1
        print(i, w.frames_encoded, w.frames_on_disk, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
