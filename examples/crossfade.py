"""A cross-fade between two images with imshow, saved with framepipe.

Two images are made with numpy (no files needed): a smooth radial pattern and a checkerboard of
soft blobs. Each frame shows (1 - a) * first + a * second, with a easing from 0 to 1 and back.

    python examples/crossfade.py [out.mp4]
"""

import sys

import matplotlib

matplotlib.use("Agg")
import framepipe.matplotlib  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.animation import FuncAnimation  # noqa: E402

path = sys.argv[1] if len(sys.argv) > 1 else "crossfade.mp4"
h, w = 360, 480
y, x = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
first = np.stack([0.5 + 0.5 * np.sin(12 * np.hypot(x - 0.5, y - 0.5)), x, 1 - y], -1)
second = np.stack([np.sin(9 * x) ** 2, np.cos(7 * y) ** 2, 0.5 * (np.sin(9 * x) * np.cos(7 * y)) ** 2 + 0.3], -1)
fps, frames = 30, 90

fig, ax = plt.subplots(figsize=(4.8, 3.6), dpi=100)
fig.subplots_adjust(0, 0, 1, 1)
ax.set_axis_off()
im = ax.imshow(first)
label = ax.text(0.02, 0.95, "", transform=ax.transAxes, color="w", fontsize=12, va="top")


def update(i):
    a = 0.5 - 0.5 * np.cos(2 * np.pi * i / frames)  # 0 -> 1 -> 0
    im.set_data((1 - a) * first + a * second)
    label.set_text(f"a = {a:.2f}")
    return im, label


ani = FuncAnimation(fig, update, frames=frames, interval=1000 / fps)
result = framepipe.matplotlib.save(ani, path, fps=fps)
print(f"wrote {result.path}: {result.frames} frames, {result.width}x{result.height}, {result.duration:.1f} s")
