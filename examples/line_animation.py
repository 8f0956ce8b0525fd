"""A matplotlib line animation saved with framepipe: y = sinc(x²) + sin(x + 2πt/T), x in [-2, 2].

The update function returns the line it changed (the blit=True contract), so framepipe's writer
draws the axes, ticks and labels once and only the line in each frame.

    python examples/line_animation.py [out.mp4]
"""

import sys

import matplotlib

matplotlib.use("Agg")
import framepipe  # noqa: E402, F401  (registers the "framepipe" writer with matplotlib)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.animation import FuncAnimation  # noqa: E402

path = sys.argv[1] if len(sys.argv) > 1 else "line_animation.mp4"
fps, seconds, period = 30, 10, 5.0  # 300 frames; the wave travels one period every 5 s

x = np.linspace(-2, 2, 800)
fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)  # 640x480
(line,) = ax.plot(x, np.sinc(x**2), lw=2)
ax.set(xlim=(-2, 2), ylim=(-1.2, 2.2), xlabel="x", ylabel="y", title="y = sinc(x²) + sin(x + 2πt/T)")
ax.grid(True, alpha=0.3)


def update(i):
    t = i / fps
    line.set_ydata(np.sinc(x**2) + np.sin(x + 2 * np.pi * t / period))
    return (line,)


ani = FuncAnimation(fig, update, frames=fps * seconds, interval=1000 / fps)
ani.save(path, writer="framepipe", fps=fps)
print(f"wrote {path}: {framepipe.probe(path)['frame_count']} frames")
