"""MoviePy's ``moviepy.video.tools.drawing`` (``framepipe.editor.video.tools.drawing``): colour
gradients, splits and circles as numpy arrays (floats), for masks and backgrounds. Ported from
MoviePy 2.2.1 (MIT licence) with the same results; errors are ParameterErrors (ValueErrors)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._keywords import checked
from ..errors import ParameterError, noted


@checked
def color_gradient(
    size: Sequence[int],
    p1: Sequence[float],
    p2: Sequence[float] | None = None,
    vector: Sequence[float] | None = None,
    radius: float | None = None,
    color_1: Any = 0.0,
    color_2: Any = 1.0,
    shape: str = "linear",
    offset: float = 0,
) -> np.ndarray:
    """A (h, w) array (or (h, w, 3) for colours) going from `color_1` at `p1` to `color_2`:
    along `p2` - `p1` (or `vector`) for ``shape="linear"``, both ways for ``"bilinear"``, out to
    `radius` for ``"radial"``; `offset` (0-1) is where the change starts."""
    w, h = size
    c1 = np.array(color_1).astype(float)
    c2 = np.array(color_2).astype(float)
    if shape == "bilinear":
        if vector is None:
            if p2 is None:
                raise _no_direction(shape)
            vector = list(np.array(p2) - np.array(p1))
        m1, m2 = (
            color_gradient(size, p1, vector=v, color_1=1.0, color_2=0.0, shape="linear", offset=offset)
            for v in [vector, [-x for x in vector]]
        )
        arr = np.maximum(m1, m2)
        if c1.size > 1:
            arr = np.dstack(3 * [arr])
        return arr * c1 + (1 - arr) * c2
    start = np.array(p1[::-1]).astype(float)
    grid = np.dstack(np.meshgrid(range(w), range(h))[::-1]).astype(float)
    if shape == "linear":
        if vector is None:
            if p2 is None:
                raise _no_direction(shape)
            vec = np.array(p2[::-1]) - start
        else:
            vec = np.array(vector[::-1])
        norm = np.linalg.norm(vec)
        if norm == 0:
            raise ParameterError(
                f"color_gradient: the gradient's vector is zero (p1={p1!r}, p2={p2!r}, vector={vector!r})"
            )
        n_vec = vec / norm**2
        start = start + offset * vec
        arr = (grid - start).dot(n_vec) / (1 - offset)
        arr = np.minimum(1, np.maximum(0, arr))
        if c1.size > 1:
            arr = np.dstack(3 * [arr])
        return arr * c1 + (1 - arr) * c2
    if shape == "radial":
        if (radius or 0) == 0:
            arr = np.ones((h, w))
        else:
            assert radius is not None
            arr = np.sqrt(((grid - start) ** 2).sum(axis=2)) - offset * radius
            arr = arr / ((1 - offset) * radius)
            arr = np.minimum(1.0, np.maximum(0, arr))
        if c1.size > 1:
            arr = np.dstack(3 * [arr])
        return (1 - arr) * c1 + arr * c2
    raise noted(
        ParameterError("Invalid shape, should be either 'radial', 'linear' or 'bilinear'"),
        f"color_gradient: got shape={shape!r}; allowed: 'radial', 'linear', 'bilinear'",
    )


def _no_direction(shape: str) -> ParameterError:
    """MoviePy's error (its words) for a linear / bilinear gradient without p2 or vector."""
    return noted(
        ParameterError("You must provide either 'p2' or 'vector'"),
        f"color_gradient: shape={shape!r} needs a direction: give p2 (the end point) or vector; both were None",
    )


@checked
def color_split(
    size: Sequence[int],
    x: int | None = None,
    y: int | None = None,
    p1: Sequence[float] | None = None,
    p2: Sequence[float] | None = None,
    vector: Sequence[float] | None = None,
    color_1: Any = 0,
    color_2: Any = 1.0,
    gradient_width: float = 0,
) -> np.ndarray:
    """An array split in two colours: left of column `x`, above row `y`, or on either side of
    the line through `p1` and `p2` (or along `vector`), with a `gradient_width`-pixel blend."""
    if gradient_width or (x is None and y is None):
        if p2 is not None:
            if p1 is None:
                raise ParameterError("color_split: p2 needs p1")
            vec = np.array(p2) - np.array(p1)
        elif x is not None:
            vec, p1 = np.array([0, -1.0]), [x, 0]
        elif y is not None:
            vec, p1 = np.array([1.0, 0.0]), [0, y]
        elif vector is not None and p1 is not None:
            vec = np.array(vector, dtype=float)
        else:
            raise ParameterError("color_split: give x, y, p1 and p2, or p1 and vector")
        vx, vy = vec
        normal = np.array([vy, -vx]).astype("float")
        normal = max(0.1, gradient_width) * normal / np.linalg.norm(normal)
        return color_gradient(size, p1, vector=list(normal), color_1=color_1, color_2=color_2, shape="linear")
    w, h = size
    shape = (h, w) if np.isscalar(color_1) else (h, w, len(color_1))
    arr = np.zeros(shape)
    if x:
        arr[:, :x] = color_1
        arr[:, x:] = color_2
    elif y:
        arr[:y] = color_1
        arr[y:] = color_2
    return arr


@checked
def circle(
    screensize: Sequence[int],
    center: Sequence[float],
    radius: float,
    color: Any = 1.0,
    bg_color: Any = 0,
    blur: float = 1,
) -> np.ndarray:
    """A disc of `color` on `bg_color`, its edge blurred over `blur` pixels."""
    offset = 1.0 * (radius - blur) / radius if radius else 0
    return color_gradient(
        screensize, p1=center, radius=radius, color_1=color, color_2=bg_color, shape="radial", offset=offset
    )


__all__ = ["color_gradient", "color_split", "circle"]
