"""A clip's place in space and its transparency: size, position, mask, opacity, and the
geometry transforms (the engine's kernels, through the effects of ``fx``)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self, cast

import numpy as np

from ..errors import ParameterError
from . import _kernels
from ._clip_base import ClipBase, Frame
from ._clip_timing import ClipTiming
from ._geometry import POS_WORDS
from .fx._geometry import Crop, Resize, Rotate

if TYPE_CHECKING:
    from ._clip import VideoClip


class ClipLayout(ClipTiming):
    """The size, position, mask and geometry methods of :class:`VideoClip`."""

    # ---- geometry -------------------------------------------------------------------------

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        if self._size is None:
            frame = self._get(0.0)
            self._size = (int(frame.shape[1]), int(frame.shape[0]))
        return self._size

    @property
    def w(self) -> int:
        return self.size[0]

    @property
    def h(self) -> int:
        return self.size[1]

    @property
    def aspect_ratio(self) -> float:
        return self.w / self.h

    def pos(self, t: float) -> Any:
        """The position spec at time t (as MoviePy's ``clip.pos(t)``)."""
        return self._pos(t) if callable(self._pos) else self._pos

    def _xy(self, t: float, bg_w: int, bg_h: int, w: int, h: int) -> tuple[int, int]:
        """Top-left corner on a background of bg_w x bg_h, as MoviePy computes it (words,
        fractions when relative, then int())."""
        pos = self.pos(t)
        pos = list(POS_WORDS[pos]) if isinstance(pos, str) else list(pos)
        if len(pos) != 2:
            raise ParameterError(f"{self._name}: a position is (x, y), got {pos!r}")
        if self.relative_pos:
            for i, dim in enumerate((bg_w, bg_h)):
                if not isinstance(pos[i], str):
                    pos[i] = dim * pos[i]
        words = (
            {"left": 0, "center": (bg_w - w) / 2, "right": bg_w - w},
            {"top": 0, "center": (bg_h - h) / 2, "bottom": bg_h - h},
        )
        for i in range(2):
            if isinstance(pos[i], str):
                if pos[i] not in words[i]:
                    raise ParameterError(f"{self._name}: unknown position {pos[i]!r}; use {', '.join(words[i])}")
                pos[i] = words[i][pos[i]]
            elif isinstance(pos[i], bool) or not isinstance(pos[i], numbers.Real) or not math.isfinite(pos[i]):
                raise ParameterError(
                    f"{self._name} at t={t:g} s: its position {self.pos(t)!r} has {'xy'[i]}={pos[i]!r}; "
                    f"a position is a finite number of pixels (a fraction with relative=True) or a word"
                )
        # Anything further out than the background's size is off-screen: the same there, and
        # within the integers the compositing kernel takes.
        return (
            int(min(max(pos[0], -w - 1), bg_w + 1)),
            int(min(max(pos[1], -h - 1), bg_h + 1)),
        )

    def with_is_mask(self, is_mask: bool) -> Self:
        if bool(is_mask) == self.is_mask:
            return self.copy()
        return self.to_mask() if is_mask else self.to_RGB()

    # ---- masks, opacity, position ------------------------------------------------------------

    @property
    def mask(self) -> VideoClip | None:
        """The mask clip (None: opaque); with an opacity below 1 it includes the opacity."""
        if self._opacity == 1.0 or self.is_mask:
            return self._mask
        base = self._mask if self._mask is not None else self._full_mask()
        return base._pixel_op(lut_scale(self._opacity))

    @mask.setter
    def mask(self, value: VideoClip | None) -> None:
        if value is not None and (not isinstance(value, ClipBase) or not value.is_mask):
            raise ParameterError("a mask must be a clip with is_mask=True (e.g. clip.to_mask())")
        self._mask = value

    def _full_mask(self) -> VideoClip:
        from ._sources import ColorClip

        return ColorClip(self.size, 1.0, is_mask=True, duration=self.duration)

    def with_mask(self, mask: VideoClip | str | None = "auto") -> Self:
        """This clip with `mask` (a mask clip; "auto": fully opaque; None: no mask)."""
        new = self.copy()
        if isinstance(mask, str):
            if mask != "auto":
                raise ParameterError(f"with_mask: expected a mask clip, 'auto' or None, got {mask!r}")
            mask = self._full_mask()
        new.mask = mask
        return new

    def without_mask(self) -> Self:
        return self.with_mask(None)

    def with_opacity(self, opacity: float) -> Self:
        if isinstance(opacity, bool) or not isinstance(opacity, numbers.Real) or not 0 <= opacity <= 1:
            raise ParameterError(f"opacity must be a number in [0, 1], got {opacity!r}")
        new = self.copy()
        new._opacity = self._opacity * float(opacity)
        return new

    def with_position(self, pos: Any, relative: bool = False) -> Self:
        """Where the clip goes in a composite: (x, y) in pixels (fractions with relative=True),
        words ("center", ("center", "top"), "left", ...), or a function of t giving either."""
        if not callable(pos) and not isinstance(pos, str):
            try:
                if len(pos) != 2:
                    raise TypeError
            except TypeError:
                raise ParameterError(
                    f"a position is (x, y), a word such as 'center', or a function of t, got {pos!r}"
                ) from None
        elif isinstance(pos, str) and pos not in POS_WORDS:
            raise ParameterError(f"unknown position {pos!r}; use one of {', '.join(POS_WORDS)}")
        if not callable(pos) and not isinstance(pos, str):
            for axis, v in zip("xy", pos):
                if isinstance(v, str):
                    continue
                if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                    raise ParameterError(
                        f"{self._name}.with_position: {axis}={v!r} in {pos!r}; a position is a finite number "
                        f"of pixels (a fraction with relative=True) or a word such as 'center'"
                    )
        new = self.copy()
        new._pos = pos
        new.relative_pos = relative
        if new._mask is not None:
            new._mask = new._mask.copy()
            new._mask._pos = pos
            new._mask.relative_pos = relative
        return new

    def to_mask(self, canal: int = 0) -> Self:
        """A mask clip made of one channel of this clip's frames (0-255 → 0-1)."""
        if self.is_mask:
            return self
        new = self._pixel_op(lambda f: np.ascontiguousarray(f[:, :, canal]))
        new.is_mask = True
        new._mask = None
        new._opacity = 1.0
        return new

    def to_RGB(self) -> Self:  # noqa: N802 (MoviePy's name)
        if not self.is_mask:
            return self
        new = self._pixel_op(lambda a: np.repeat(a[:, :, None], 3, axis=2))
        new.is_mask = False
        return new

    # ---- geometry transforms (fast kernels) ----------------------------------------------------

    def resized(
        self,
        new_size: Any = None,
        height: Any = None,
        width: Any = None,
        apply_to_mask: bool = True,
        filter: str | None = None,
    ) -> VideoClip:
        """Resized: a scale factor, (w, h), width= or height= (keeping the aspect ratio), or a
        function of t returning any of those (area average when shrinking, Lanczos when
        enlarging, or `filter`; see :class:`fx.Resize`)."""
        return Resize(new_size, height=height, width=width, apply_to_mask=apply_to_mask, filter=filter).apply(self)

    def cropped(
        self,
        x1: Any = None,
        y1: Any = None,
        x2: Any = None,
        y2: Any = None,
        width: Any = None,
        height: Any = None,
        x_center: Any = None,
        y_center: Any = None,
    ) -> VideoClip:
        return Crop(x1, y1, x2, y2, width, height, x_center, y_center).apply(self)

    def rotated(
        self,
        angle: Any,
        unit: str = "deg",
        resample: str = "bicubic",
        expand: bool = True,
        center: Any = None,
        translate: Any = None,
        bg_color: Any = None,
    ) -> VideoClip:
        return Rotate(angle, unit, resample, expand, center, translate, bg_color).apply(self)

    def with_background_color(
        self, size: Any = None, color: Any = (0, 0, 0), pos: Any = None, opacity: float | None = None
    ) -> VideoClip:
        """The clip over a plain colour of `size` (default: its own; flattens transparency) at
        `pos` (default "center"); with `opacity`, the colour is that transparent, as MoviePy."""
        from ._compose import CompositeVideoClip
        from ._sources import ColorClip

        size = self.size if size is None else size
        # Self is a VideoClip (these methods are part of it), which the checker cannot know.
        placed = cast("VideoClip", self).with_position("center" if pos is None else pos)
        if opacity is None:
            return CompositeVideoClip([placed], size=size, bg_color=color)
        background = ColorClip(size, color=color, duration=self.duration).with_opacity(opacity)
        return CompositeVideoClip([background, placed])


def lut_scale(factor: float) -> Callable[[Frame], Frame]:
    """Multiply uint8 values by factor (rounded; alpha and opacity arithmetic)."""
    table = np.clip(np.rint(np.arange(256) * factor), 0, 255).astype(np.uint8).tobytes()
    return lambda a: _kernels.lut(a, table)
