"""Leaf helpers of the audio clips: sample rates checked, a sound function's result shaped."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ...errors import ParameterError


class LazyTimes:
    """The times ``base[a:b] - start`` (a mixed clip's local times), computed only if asked
    for (``times()``): a clip that slices an array at its own rate needs only their number."""

    __slots__ = ("base", "a", "b", "start")

    def __init__(self, base: np.ndarray, a: int, b: int, start: float):
        self.base, self.a, self.b, self.start = base, a, b, start

    @property
    def shape(self) -> tuple[int]:
        return (self.b - self.a,)

    def __call__(self) -> np.ndarray:
        return self.base[self.a : self.b] - self.start


def times(tt: Any) -> np.ndarray:
    """The array of times `tt` stands for (a LazyTimes computed)."""
    return tt() if isinstance(tt, LazyTimes) else tt


def check_fps(fps: Any, what: str) -> float:
    """A sample rate: a finite number > 0, else a ParameterError naming `what`."""
    ok = not isinstance(fps, bool) and isinstance(fps, numbers.Real) and math.isfinite(fps)
    if not ok or not float(fps) > 0:
        raise ParameterError(f"{what}: the sample rate (fps) must be a finite number of Hz > 0, got {fps!r}")
    return float(fps)


def shaped(out: Any, n: int, nchannels: int | None, where: str, layout: list[bool] | None = None) -> np.ndarray:
    """A sample function's result for n times as an (n, channels) float array. A result of
    shape (channels, n) (one row per channel, n != channels) is read as MoviePy's channels-first
    layout (transposed) and marked in `layout` (``layout[0] = True``)."""
    arr = np.asarray(out, dtype=np.float64)
    if arr.ndim == 0:
        return np.full((n, nchannels or 1), float(arr))
    if arr.ndim == 1:
        if arr.shape[0] == n and (nchannels in (None, 1) or n != nchannels):
            return arr.reshape(n, 1) if nchannels in (None, 1) else np.repeat(arr[:, None], nchannels, 1)
        return np.broadcast_to(arr, (n, arr.shape[0])).copy()  # one value per channel, at every time
    if arr.ndim == 2 and arr.shape[0] == n and (n != nchannels or layout is None or not layout[0]):
        return arr
    if arr.ndim == 2 and nchannels is not None and arr.shape == (nchannels, n):
        if layout is not None:
            layout[0] = True
        return arr.T  # channels first, as MoviePy's `lambda t: [np.sin(...)]` (one row per channel)
    raise ParameterError(
        f"{where}: the sound function gave shape {arr.shape} for {n} times; it must give (n,) for mono or "
        f"(n, channels), one row per time (e.g. np.array([left, right]).T), or (channels, n), one row per channel"
    )
