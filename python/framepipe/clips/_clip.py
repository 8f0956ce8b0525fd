"""`VideoClip`: an immutable description of frames as a function of time (MoviePy's model).

Every ``with_*`` method returns a new clip. The class is built by concern: the core (state,
frame functions) in ``_clip_base``, then time (``_clip_timing``), space and transparency
(``_clip_layout``) and output (``_clip_output``); here, the class itself and MoviePy 1.x's
names."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from ._clip_output import ClipOutput
from ._time import seconds
from .fx._geometry import Rotate
from .fx._time import Loop


class VideoClip(ClipOutput):
    """A video clip: frames as a function of time ``t`` in seconds.

    ``VideoClip(frame_function, duration=2)`` where ``frame_function(t)`` returns an RGB frame
    (a uint8 HxWx3 array, floats 0-255, a PIL image or a matplotlib Figure), or for
    ``is_mask=True`` an HxW array of floats in [0, 1].
    """

    # ---- MoviePy 1.x names --------------------------------------------------------------------

    def set_duration(self, duration: float | None, change_end: bool = True) -> VideoClip:
        return self.with_duration(duration, change_end)

    def set_start(self, t: float, change_end: bool = True) -> VideoClip:
        return self.with_start(t, change_end)

    def set_end(self, t: float | None) -> VideoClip:
        return self.with_end(t)

    def set_position(self, pos: Any, relative: bool = False) -> VideoClip:
        return self.with_position(pos, relative)

    set_pos = set_position

    def set_opacity(self, opacity: float) -> VideoClip:
        return self.with_opacity(opacity)

    def set_mask(self, mask: VideoClip | None) -> VideoClip:
        return self.with_mask(mask)

    def set_fps(self, fps: float | None) -> VideoClip:
        return self.with_fps(fps)

    def set_layer(self, index: int) -> VideoClip:
        return self.with_layer_index(index)

    def subclip(self, t_start: float = 0, t_end: float | None = None) -> VideoClip:
        return self.subclipped(t_start, t_end)

    def resize(
        self, newsize: Any = None, height: Any = None, width: Any = None, apply_to_mask: bool = True
    ) -> VideoClip:
        return self.resized(newsize, height, width, apply_to_mask)

    def crop(
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
        return self.cropped(x1, y1, x2, y2, width, height, x_center, y_center)

    def rotate(
        self,
        angle: Any,
        unit: str = "deg",
        resample: str = "bicubic",
        expand: bool = True,
        center: Any = None,
        translate: Any = None,
        bg_color: Any = None,
    ) -> VideoClip:
        return self.rotated(angle, unit, resample, expand, center, translate, bg_color)

    def fl_image(self, image_func: Callable[[np.ndarray], Any], apply_to: Any = None) -> VideoClip:
        return self.image_transform(image_func, apply_to)

    def fl(self, func: Callable[..., Any], apply_to: Any = None, keep_duration: bool = True) -> VideoClip:
        return self.transform(func, apply_to, keep_duration)

    def fl_time(
        self, time_func: Callable[[float], float], apply_to: Any = None, keep_duration: bool = False
    ) -> VideoClip:
        return self.time_transform(time_func, apply_to, keep_duration)

    def cutout(self, ta: Any, tb: Any) -> VideoClip:
        return self.with_section_cut_out(ta, tb)

    def on_color(self, size: Any = None, color: Any = (0, 0, 0), pos: Any = None, col_opacity: Any = None) -> VideoClip:
        return self.with_background_color(size, color, pos, col_opacity)

    def subfx(self, fx: Callable[..., VideoClip], ta: Any = 0, tb: Any = None, **kwargs: Any) -> VideoClip:
        return self._on_part(lambda part: fx(part, **kwargs), ta, tb)

    def add_mask(self) -> VideoClip:
        return self.with_mask("auto")

    def is_playing(self, t: Any) -> Any:
        """Whether the clip plays at time t of its parent's timeline (``start <= t < end``);
        for an array of times, MoviePy's answer (False if none plays, else 1 where t is in
        ``[start, end]``). t may be "hh:mm:ss.ss" or (min, s)."""
        if isinstance(t, np.ndarray):
            if (self.end is not None and t.min() >= self.end) or t.max() < self.start:
                return False
            result = 1 * (t >= self.start)
            if self.end is not None:
                result *= t <= self.end
            return result
        t = seconds(t, f"{self._name}.is_playing: t")
        return t >= self.start and (self.end is None or t < self.end)

    # ---- MoviePy's operators --------------------------------------------------------------

    def __add__(self, other: Any) -> Any:
        """``a + b``: b after a (``concatenate_videoclips``; "compose" when the sizes differ)."""
        if not isinstance(other, VideoClip):
            return NotImplemented
        from ._compose import concatenate_videoclips

        same_size = tuple(self.size) == tuple(other.size)
        return concatenate_videoclips([self, other], method="chain" if same_size else "compose")

    def __or__(self, other: Any) -> Any:
        """``a | b``: side by side (``clips_array([[a, b]])``)."""
        if not isinstance(other, VideoClip):
            return NotImplemented
        from ._compose import clips_array

        return clips_array([[self, other]])

    def __truediv__(self, other: Any) -> Any:
        """``a / b``: a above b (``clips_array([[a], [b]])``)."""
        if not isinstance(other, VideoClip):
            return NotImplemented
        from ._compose import clips_array

        return clips_array([[self], [other]])

    def __mul__(self, n: Any) -> Any:
        """``clip * n``: played n times (``fx.Loop(n)``; n may be fractional)."""
        if isinstance(n, bool) or not isinstance(n, numbers.Real):
            return NotImplemented
        return self.with_effects([Loop(float(n))])

    def __matmul__(self, angle: Any) -> Any:
        """``clip @ angle``: rotated by `angle` degrees (``fx.Rotate(angle)``)."""
        if isinstance(angle, bool) or not isinstance(angle, numbers.Real):
            return NotImplemented
        return self.with_effects([Rotate(angle)])

    def __and__(self, mask: Any) -> Any:
        """``clip & mask``: ``clip.with_mask(mask)``."""
        return self.with_mask(mask)
