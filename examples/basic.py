"""Render a 4-second animation of moving gradients and a circle to an MP4 with framepipe."""

import sys

import framepipe
import numpy as np

path = sys.argv[1] if len(sys.argv) > 1 else "example.mp4"
h, w, fps, seconds = 360, 640, 30, 4
y, x = np.mgrid[0:h, 0:w].astype(np.float32)

with framepipe.VideoWriter(path, fps=fps, crf=23, preset="medium") as video:
    for i in range(fps * seconds):
        t = i / fps
        frame = np.empty((h, w, 3), np.float32)
        frame[..., 0] = 0.5 + 0.5 * np.sin(x / 60 + 2 * t)
        frame[..., 1] = 0.5 + 0.5 * np.sin(y / 45 - 3 * t)
        frame[..., 2] = 0.5 + 0.5 * np.cos((x + y) / 90 + t)
        cx, cy = w / 2 + 200 * np.cos(t * 1.5), h / 2 + 100 * np.sin(t * 1.5)
        frame[(x - cx) ** 2 + (y - cy) ** 2 < 40**2] = 1.0  # float frames in [0, 1]
        video.write(frame)

result = video.close()
print(
    f"wrote {result.path}: {result.frames} frames, {result.width}x{result.height}, "
    f"{result.duration:.2f} s, {result.bytes / 1e6:.2f} MB"
)
