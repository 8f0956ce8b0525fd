"""Frames and child programs for tests/test_crash.py: a process that writes a video and is
killed from outside.

Run as ``python crashkit.py MODE OUTPUT``: MODE ``mp4`` or ``gif`` writes frames with
framepipe.VideoWriter until killed, printing ``given encoded on_disk`` after every frame (frames
written, frames the encoder gave out, and frames a reader of the file would find if the
process died now); ``render`` runs ``framepipe.render(workers=2, resume=True)`` of
``RENDER_FRAMES`` frames in chunks of ``CHUNK`` (``render-plain``: four times as many frames,
without resume)."""

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


def main(mode: str, out: str) -> None:
    import framepipe

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
