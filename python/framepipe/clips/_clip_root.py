"""`Clip`: the name of MoviePy's base class (``moviepy.Clip.Clip``), the root of framepipe's
clip classes, so that ``isinstance(clip, Clip)`` holds for every clip; and MoviePy's ``==``
between clips (same frame count, same frames). A leaf module."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from .._keywords import KeywordsChecked


class Clip(KeywordsChecked):
    """The base class of every clip (MoviePy 2's ``Clip``); :class:`VideoClip` is what to use.

    ``clip == other`` is MoviePy's comparison: the same number of frames (``duration * fps``)
    and equal frames at the clip's fps. Clips stay hashable by identity (MoviePy's are not
    hashable): two equal clips are two keys of a dict."""

    __hash__ = object.__hash__

    # MoviePy's Clip attributes (framepipe keeps no last frame: ``memoize`` is only recorded).
    memoize = False
    memoized_t: Any = None
    memoized_frame: Any = None

    def __init__(self) -> None:
        """A bare clip, as MoviePy's ``Clip()``: no frames, start 0, no end or duration."""
        self.start: Any = 0.0
        self.end: Any = None
        self.duration: Any = None

    def copy(self) -> Any:
        """A shallow copy (MoviePy's ``clip.copy()``)."""
        return copy.copy(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Clip):
            return NotImplemented
        if self is other:
            return True
        a: Any = self
        b: Any = other
        if None in (a.duration, a.fps, b.duration, b.fps):
            return False  # MoviePy raises a TypeError (None * number); without frames, not equal
        if a.duration * a.fps != b.duration * b.fps:
            return False
        for f1, f2 in zip(a.iter_frames(), b.iter_frames()):
            if not np.array_equal(f1, f2):
                return False
        return True
