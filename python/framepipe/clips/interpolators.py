"""``framepipe.editor.video.tools.interpolators`` (MoviePy's ``moviepy.video.tools.interpolators``
API): a value, or an (x, y) position, that goes in straight lines between given points in time,
e.g. for ``with_position``; trajectories are saved and loaded in MoviePy's text format (tab-separated
``t(ms) x y`` rows, whole numbers).

The numbers are numpy's: :func:`numpy.interp` between the points, arrays of times in one call."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import ParameterError

_Path = str | os.PathLike[str]


def _points(tt: Any, ss: Any, ttss: Any) -> tuple[np.ndarray, np.ndarray]:
    """(times, values) as float arrays from ``tt`` and ``ss`` or from ``ttss`` pairs; a clear
    ParameterError when they do not make at least one point."""
    if ttss is not None:
        try:
            table = np.array(ttss, dtype=float)
        except (TypeError, ValueError):
            table = np.empty((0, 0))
        if table.ndim != 2 or table.shape[0] == 0 or table.shape[1] != 2:
            raise ParameterError(f"Interpolator: ttss must be (t, value) pairs, at least one, got {ttss!r}")
        return table[:, 0], table[:, 1]
    if tt is None or ss is None:
        raise ParameterError(
            f"Interpolator: give tt and ss (the times and their values) or ttss (pairs); got tt={tt!r}, ss={ss!r}"
        )
    times, values = np.array(tt, dtype=float), np.array(ss, dtype=float)
    if times.ndim != 1 or values.ndim != 1 or len(times) == 0 or len(times) != len(values):
        raise ParameterError(
            f"Interpolator: tt and ss must be flat and of one length (at least one point); "
            f"got {times.size} times (shape {times.shape}) and {values.size} values (shape {values.shape})"
        )
    return times, values


class Interpolator:
    """A function of t that is ``ss[i]`` at ``tt[i]`` and linear in between (``tt`` increasing);
    before the first time it is `left`, after the last `right` (by default the first and the last
    value). ``ttss`` gives the points as ``[(t, value), ...]`` instead. ``t`` may be an array."""

    def __init__(
        self,
        tt: Any = None,
        ss: Any = None,
        ttss: Any = None,
        left: float | None = None,
        right: float | None = None,
    ):
        self.tt, self.ss = _points(tt, ss, ttss)
        self.left, self.right = left, right
        self.tmin, self.tmax = float(self.tt.min()), float(self.tt.max())

    def __call__(self, t: Any) -> Any:
        return np.interp(t, self.tt, self.ss, self.left, self.right)


class Trajectory:
    """Positions ``(xx[i], yy[i])`` at times ``tt[i]`` (seconds), linear in between:
    ``trajectory(t)`` is ``array([x, y])``. The arrays are checked (same length) when the
    trajectory is first evaluated, as MoviePy's, so ``addx`` / ``addy`` work on any arrays."""

    def __init__(self, tt: Any, xx: Any, yy: Any):
        self.tt = np.array(tt, dtype=float)
        self.xx = np.array(xx)
        self.yy = np.array(yy)
        self.update_interpolators()

    def update_interpolators(self) -> None:
        """Forget the interpolators (after ``tt``, ``xx`` or ``yy`` were changed in place); they are
        made again from the arrays at the next evaluation."""
        self._curves: tuple[Interpolator, Interpolator] | None = None

    def _interpolators(self) -> tuple[Interpolator, Interpolator]:
        if self._curves is None:
            lengths = {len(self.tt), len(self.xx), len(self.yy)}
            if len(lengths) != 1:
                raise ParameterError(
                    f"Trajectory: tt, xx and yy must be of one length to be evaluated, got "
                    f"{len(self.tt)} times, {len(self.xx)} x and {len(self.yy)} y"
                )
            self._curves = (Interpolator(self.tt, self.xx), Interpolator(self.tt, self.yy))
        return self._curves

    @property
    def xi(self) -> Interpolator:
        """x as a function of t."""
        return self._interpolators()[0]

    @property
    def yi(self) -> Interpolator:
        """y as a function of t."""
        return self._interpolators()[1]

    def __call__(self, t: Any) -> np.ndarray:
        x_of, y_of = self._interpolators()
        return np.array([x_of(t), y_of(t)])

    def addx(self, x: float) -> Trajectory:
        """The same trajectory moved by `x` pixels to the right."""
        return Trajectory(self.tt, self.xx + x, self.yy)

    def addy(self, y: float) -> Trajectory:
        """The same trajectory moved by `y` pixels down."""
        return Trajectory(self.tt, self.xx, self.yy + y)

    def txy(self, tms: bool = False) -> Iterator[tuple[Any, Any, Any]]:
        """The (t, x, y) points; t in milliseconds with ``tms=True``."""
        return zip(self.tt * (1000 if tms else 1), self.xx, self.yy)

    def _table(self) -> np.ndarray:
        """One row per point: t in ms, x, y."""
        return np.column_stack([self.tt * 1000, self.xx, self.yy])

    def to_file(self, filename: _Path) -> None:
        """Write the points as tab-separated whole numbers, one ``t(ms) x y`` row each."""
        np.savetxt(filename, self._table(), fmt="%d", delimiter="\t")

    @staticmethod
    def from_file(filename: _Path) -> Trajectory:
        """Read a trajectory written by :meth:`to_file` (lines starting with ``#`` are skipped)."""
        t_ms, x, y = np.loadtxt(filename, delimiter="\t", ndmin=2).T
        return Trajectory(t_ms / 1000, x, y)

    @staticmethod
    def save_list(trajs: Sequence[Trajectory], filename: _Path) -> None:
        """Write several trajectories side by side (three columns each, one header line); they
        must have the same number of points."""
        table = np.hstack([traj._table() for traj in trajs])
        np.savetxt(filename, table, fmt="%d", delimiter="\t", header="\t".join(["t(ms)", "x", "y"] * len(trajs)))

    @staticmethod
    def load_list(filename: _Path) -> list[Trajectory]:
        """The trajectories written by :meth:`save_list`."""
        columns = np.loadtxt(filename, delimiter="\t", ndmin=2).T
        groups = columns.reshape(-1, 3, columns.shape[1])
        return [Trajectory(t_ms / 1000, x, y) for t_ms, x, y in groups]


__all__ = ["Interpolator", "Trajectory"]
