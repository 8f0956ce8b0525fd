"""MoviePy's ``moviepy.video.tools.interpolators`` (``framepipe.editor.video.tools.interpolators``):
values and (x, y) trajectories interpolated in time, e.g. for ``with_position``. Ported from
MoviePy 2.2.1 (MIT licence) with the same results and file format."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import ParameterError


class Interpolator:
    """A function of t through the points (``tt[i]``, ``ss[i]``) (or ``ttss``, a list of
    [t, value]), linear between them; `left` / `right` before the first / after the last (default:
    the first / last value)."""

    def __init__(
        self,
        tt: Any = None,
        ss: Any = None,
        ttss: Any = None,
        left: float | None = None,
        right: float | None = None,
    ):
        if ttss is not None:
            tt, ss = zip(*ttss)
        if tt is None or ss is None or len(tt) == 0 or len(tt) != len(ss):
            raise ParameterError("Interpolator: give tt and ss of one length (at least one point), or ttss")
        self.tt = 1.0 * np.array(tt)
        self.ss = 1.0 * np.array(ss)
        self.left, self.right = left, right
        self.tmin, self.tmax = min(tt), max(tt)

    def __call__(self, t: Any) -> Any:
        return np.interp(t, self.tt, self.ss, self.left, self.right)


class Trajectory:
    """(x, y) positions at times `tt`, interpolated: ``trajectory(t)`` is ``array([x, y])``.
    Saved and loaded as MoviePy's tab-separated text (times in ms)."""

    def __init__(self, tt: Any, xx: Any, yy: Any):
        self.tt = 1.0 * np.array(tt)
        self.xx = np.array(xx)
        self.yy = np.array(yy)
        self.update_interpolators()

    def __call__(self, t: Any) -> np.ndarray:
        return np.array([self.xi(t), self.yi(t)])

    def addx(self, x: float) -> Trajectory:
        return Trajectory(self.tt, self.xx + x, self.yy)

    def addy(self, y: float) -> Trajectory:
        return Trajectory(self.tt, self.xx, self.yy + y)

    def update_interpolators(self) -> None:
        self.xi = Interpolator(self.tt, self.xx)
        self.yi = Interpolator(self.tt, self.yy)

    def txy(self, tms: bool = False) -> Iterator[tuple[Any, Any, Any]]:
        return zip((1000 if tms else 1) * self.tt, self.xx, self.yy)

    def to_file(self, filename: str | os.PathLike[str]) -> None:
        np.savetxt(filename, np.array(list(self.txy(tms=True))), fmt="%d", delimiter="\t")

    @staticmethod
    def from_file(filename: str | os.PathLike[str]) -> Trajectory:
        arr = np.loadtxt(filename, delimiter="\t")
        tt, xx, yy = arr.T
        return Trajectory(1.0 * tt / 1000, xx, yy)

    @staticmethod
    def save_list(trajs: Sequence[Trajectory], filename: str | os.PathLike[str]) -> None:
        arr = np.hstack([np.array(list(t.txy(tms=True))) for t in trajs])
        header = "\t".join(len(trajs) * ["t(ms)", "x", "y"])
        np.savetxt(filename, arr, fmt="%d", delimiter="\t", header=header)

    @staticmethod
    def load_list(filename: str | os.PathLike[str]) -> list[Trajectory]:
        arr = np.loadtxt(filename, delimiter="\t").T
        return [Trajectory(tt=1.0 * a[0] / 1000, xx=a[1], yy=a[2]) for a in np.split(arr, arr.shape[0] // 3)]


__all__ = ["Interpolator", "Trajectory"]
