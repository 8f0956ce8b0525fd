"""Helpers for the matplotlib tests: capture the raw frames framepipe's writer encodes, and make an
independent reference with matplotlib's own ``savefig`` path (what its movie writers do)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from framepipe.matplotlib import FramepipeWriter  # noqa: E402
from matplotlib import animation  # noqa: E402


class CaptureWriter(FramepipeWriter):
    """FramepipeWriter that also keeps a copy of every RGBA frame it hands to the encoder."""

    def setup(self, fig, outfile, dpi=None):
        self.raw = []
        super().setup(fig, outfile, dpi)

    def _emit(self, rgba):
        self.raw.append(np.array(rgba, copy=True))
        super()._emit(rgba)


class SavefigWriter(animation.AbstractMovieWriter):
    """The reference: every frame through ``fig.savefig(format="rgba")``, exactly as matplotlib's
    pipe writers (ffmpeg, pillow) grab frames. Writes no file."""

    @classmethod
    def isAvailable(cls):
        return True

    def setup(self, fig, outfile, dpi=None):
        super().setup(fig, outfile, dpi)
        self.raw = []
        self._size = fig.get_size_inches().copy()

    def grab_frame(self, **savefig_kwargs):
        self.fig.set_size_inches(self._size)  # as MovieWriter.grab_frame does
        buf = io.BytesIO()
        self.fig.savefig(buf, format="rgba", dpi=self.dpi, **savefig_kwargs)
        w, h = self.frame_size
        self.raw.append(np.frombuffer(buf.getvalue(), np.uint8).reshape(h, w, 4).copy())

    def finish(self):
        pass


def record(make, writer, path, **save_kwargs):
    """Build a fresh animation with ``make()`` -> (fig, anim), save it with `writer`; return raw frames."""
    fig, anim = make()
    try:
        anim.save(str(path), writer=writer, **save_kwargs)
    finally:
        plt.close(fig)
    return np.stack(writer.raw)


def max_diff(a: np.ndarray, b: np.ndarray) -> int:
    assert a.shape == b.shape, (a.shape, b.shape)
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


def per_frame_diff(a: np.ndarray, b: np.ndarray) -> list[int]:
    assert a.shape == b.shape, (a.shape, b.shape)
    d = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return [int(x) for x in d.reshape(len(d), -1).max(axis=1)]


def over_white(rgba: np.ndarray) -> np.ndarray:
    """Composite straight-alpha RGBA frames over white, as the writer's default background."""
    a = rgba[..., 3:4].astype(np.float64) / 255
    return np.clip(rgba[..., :3] * a + 255 * (1 - a) + 0.5, 0, 255).astype(np.uint8)
