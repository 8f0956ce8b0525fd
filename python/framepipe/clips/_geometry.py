"""Sizes and position words, as clips take them. A leaf module: the clip classes, sources and
composition all use it."""

from __future__ import annotations

from typing import Any

from .. import _native
from ..errors import ParameterError

# A position word and the (x, y) words it stands for.
POS_WORDS = {
    "center": ("center", "center"),
    "left": ("left", "center"),
    "right": ("right", "center"),
    "top": ("center", "top"),
    "bottom": ("center", "bottom"),
}


def size_pair(size: Any, what: str) -> tuple[int, int]:
    """`size` as (width, height) in 1 to MAX_DIMENSION pixels, or a ParameterError naming
    `what` and the size."""
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ParameterError(f"{what}: size is (width, height), got {size!r}") from None
    if not (1 <= w <= _native.MAX_DIMENSION and 1 <= h <= _native.MAX_DIMENSION):
        raise ParameterError(f"{what}: width and height must be 1 to {_native.MAX_DIMENSION}, got {w}x{h}")
    return w, h
