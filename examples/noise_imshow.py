"""Random noise shown with imshow and updated with set_data, saved with framepipe.

python examples/noise_imshow.py [out.mp4]
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from framepipe.matplotlib import FramepipeWriter  # noqa: E402
from matplotlib.animation import FuncAnimation  # noqa: E402

path = sys.argv[1] if len(sys.argv) > 1 else "noise_imshow.mp4"
rng = np.random.default_rng(0)
fps, frames = 25, 100

fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
im = ax.imshow(rng.random((60, 80)), cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
fig.colorbar(im, ax=ax, label="value")
ax.set_title("uniform noise, 60x80")


def update(i):
    im.set_data(rng.random((60, 80)))
    return (im,)


ani = FuncAnimation(fig, update, frames=frames, interval=1000 / fps)
writer = FramepipeWriter(fps=fps, crf=18)  # noise is hard to compress: a lower crf keeps it crisp
ani.save(path, writer=writer)
r = writer.result
print(
    f"wrote {r.path}: {r.frames} frames, {r.width}x{r.height}, {r.bytes / 1e6:.2f} MB; "
    f"{writer.stats['blit']} frames drawn over the kept background, {writer.stats['full']} in full"
)
