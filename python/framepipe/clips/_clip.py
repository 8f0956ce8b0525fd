"""`VideoClip`: an immutable description of frames as a function of time (MoviePy's model).

Every ``with_*`` method returns a new clip. Internally a clip's frame function returns uint8
frames (see `_pixels`); ``get_frame(t)`` shows them as MoviePy does (RGB uint8; masks as floats
in [0, 1]). Clips whose frames do not depend on t (images, colours, text, and what is derived
from them without time) compute their frame once per process."""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import ParameterError, UnsupportedError
from . import _kernels, _pixels

Frame = np.ndarray
_POS_WORDS = {
    "center": ("center", "center"),
    "left": ("left", "center"),
    "right": ("right", "center"),
    "top": ("center", "top"),
    "bottom": ("center", "bottom"),
}
# A time may be this much past a clip's end (float sums of durations) and still be inside.
_T_SLACK = 1e-9


def _seconds(value: Any, what: str, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, str):
        value = _parse_timecode(value, what)
    elif isinstance(value, (tuple, list)):
        value = sum(float(v) * 60**i for i, v in enumerate(reversed(value)))
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ParameterError(f"{what} must be a finite number of seconds, got {value!r}")
    return float(value)


def _parse_timecode(text: str, what: str) -> float:
    try:
        return sum(float(part) * 60**i for i, part in enumerate(reversed(text.strip().split(":"))))
    except ValueError:
        raise ParameterError(f"{what}: cannot read {text!r} as seconds or 'hh:mm:ss.ss'") from None


class VideoClip:
    """A video clip: frames as a function of time ``t`` in seconds.

    ``VideoClip(frame_function, duration=2)`` where ``frame_function(t)`` returns an RGB frame
    (a uint8 HxWx3 array, floats 0-255, a PIL image or a matplotlib Figure), or for
    ``is_mask=True`` an HxW array of floats in [0, 1].
    """

    def __init__(
        self,
        frame_function: Callable[[float], Any] | None = None,
        is_mask: bool = False,
        duration: float | None = None,
        has_constant_size: bool = True,
        *,
        make_frame: Callable[[float], Any] | None = None,
        ismask: bool | None = None,
    ):
        fn = frame_function if frame_function is not None else make_frame
        if ismask is not None:
            is_mask = ismask
        self.is_mask = bool(is_mask)
        self.start: float = 0.0
        if isinstance(duration, str):
            # As MoviePy's constructors, which take numbers only (with_duration reads time codes).
            raise ParameterError(
                f"duration must be a number of seconds, got the string {duration!r} "
                f"(with_duration() also takes time codes such as '00:01:30.5')"
            )
        self.duration: float | None = _seconds(duration, "duration", allow_none=True)
        if self.duration is not None and self.duration < 0:
            raise ParameterError(f"duration must not be negative, got {duration!r}")
        self.end: float | None = self.duration
        self._mask: VideoClip | None = None
        self._pos: Any = (0, 0)
        self.relative_pos = False
        self.layer_index = 0
        self.fps: float | None = None
        self._opacity = 1.0
        self._static = False
        self._size: tuple[int, int] | None = None
        self._cache: Frame | None = None
        self._name = type(self).__name__
        self.has_constant_size = has_constant_size
        self._fn: Callable[[float], Frame] | None = None
        if fn is not None:
            if not callable(fn):
                raise ParameterError(f"frame_function must be a function of t, got {type(fn).__name__}")
            self._name = f"VideoClip({getattr(fn, '__name__', 'frame_function')})"
            self._fn = self._user_function(fn)

    # ---- frames ---------------------------------------------------------------------------

    @property
    def frame_function(self) -> Callable[[float], np.ndarray]:
        """MoviePy 2's name for the function t -> frame: :meth:`get_frame`."""
        return self.get_frame

    def with_updated_frame_function(self, frame_function: Callable[[float], Any]) -> VideoClip:
        """This clip (size, timing, mask, position) with frames from another function of t."""
        if not callable(frame_function):
            raise ParameterError(f"frame_function must be a function of t, got {type(frame_function).__name__}")
        new = self._derived(self._user_function(frame_function), static=False)
        return new

    def _user_function(self, fn: Callable[[float], Any]) -> Callable[[float], Frame]:
        """Wrap a user's frame function so that it returns this clip's uint8 frames."""
        is_mask, name, warned = self.is_mask, self._name, []

        def frame(t: float) -> Frame:
            try:
                out = fn(t)
            except Exception as e:
                e.add_note(f"framepipe: raised by the frame function of {name} at t={t:g} s")
                raise
            where = f"{name} at t={t:g} s"
            return _pixels.to_alpha(out, where) if is_mask else _pixels.to_rgb(out, where, warned)

        return frame

    def _get(self, t: float) -> Frame:
        """The uint8 frame at local time t (no range check; read-only for static clips)."""
        if self._static:
            if self._cache is None:
                frame = self._fn(0.0)
                frame.flags.writeable = False
                self._cache = frame
            return self._cache
        if self._fn is None:
            raise ParameterError(f"{self._name} has no frame function")
        return self._fn(t)

    def _check_t(self, t: Any) -> float:
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or not math.isfinite(t):
            raise ParameterError(f"{self._name}: t must be a finite number of seconds, got {t!r}")
        t = float(t)
        if t < 0 or (self.duration is not None and t > self.duration + _T_SLACK):
            end = "" if self.duration is None else f" to {self.duration:g}"
            raise ParameterError(f"{self._name}: t={t:g} s is outside the clip (0{end} s)")
        return t

    def get_frame(self, t: float) -> np.ndarray:
        """The frame at time t (seconds from the clip's start): RGB uint8 (h, w, 3), or for a
        mask clip floats in [0, 1] (h, w). Not a copy: the frame of a clip that does not change
        with t (an image, text) is the same read-only array each time (copy it to modify it)."""
        frame = self._get(self._check_t(t))
        return _pixels.alpha_to_float(frame) if self.is_mask else frame

    def _alpha(self, t: float) -> Frame | None:
        """The uint8 alpha at local time t (None: opaque), opacity not applied."""
        if self._mask is None:
            return None
        a = self._mask._get(t)
        h, w = self._get(t).shape[:2]
        if a.shape[:2] != (h, w):
            # A mask of another size covers what it covers from the top-left corner; the rest of
            # the clip is transparent (as in MoviePy).
            out = np.zeros((h, w), np.uint8)
            mh, mw = min(h, a.shape[0]), min(w, a.shape[1])
            out[:mh, :mw] = a[:mh, :mw]
            a = out
        return a

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
        pos = list(_POS_WORDS[pos]) if isinstance(pos, str) else list(pos)
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

    # ---- copies ---------------------------------------------------------------------------

    def copy(self) -> VideoClip:
        new = copy.copy(self)
        new._cache = None
        return new

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_cache"] = None  # recomputed in the worker; not shipped
        return state

    def _derived(self, fn: Callable[[float], Frame], *, static: bool | None = None, size: Any = "unknown") -> VideoClip:
        new = self.copy()
        new._fn = fn
        new._static = self._static if static is None else static
        if size != "unknown":
            new._size = size
        else:
            new._size = None
        return new

    # ---- time -----------------------------------------------------------------------------

    def with_duration(self, duration: float | None, change_end: bool = True) -> VideoClip:
        new = self.copy()
        new.duration = _seconds(duration, "duration", allow_none=True)
        if new.duration is not None and new.duration < 0:
            raise ParameterError(f"duration must not be negative, got {duration!r}")
        if change_end:
            new.end = None if new.duration is None else new.start + new.duration
        else:
            if new.duration is None:
                raise ParameterError("with_duration(None, change_end=False) cannot move the start")
            new.start = new.end - new.duration
        if new._mask is not None:
            new._mask = new._mask.with_duration(duration, change_end)
        return new

    def with_start(self, t: float, change_end: bool = True) -> VideoClip:
        new = self.copy()
        new.start = _seconds(t, "start")
        if new.duration is not None and change_end:
            new.end = new.start + new.duration
        elif new.end is not None:
            new.duration = new.end - new.start
        if new._mask is not None:
            new._mask = new._mask.with_start(t, change_end)
        return new

    def with_end(self, t: float | None) -> VideoClip:
        new = self.copy()
        new.end = _seconds(t, "end", allow_none=True)
        if new.end is None:
            new.duration = None
        elif new.start is None:
            new.start = new.end - new.duration
        else:
            new.duration = new.end - new.start
        if new._mask is not None:
            new._mask = new._mask.with_end(t)
        return new

    def transform(
        self, func: Callable[[Callable[[float], Any], float], Any], apply_to: Any = None, keep_duration: bool = True
    ) -> VideoClip:
        """A clip whose frame at t is ``func(self.get_frame, t)``."""
        src, is_mask = self, self.is_mask
        name, warned = self._name, []

        def frame(t: float) -> Frame:
            out = func(src._public_frame, t)
            where = f"{name} (transformed) at t={t:g} s"
            return _pixels.to_alpha(out, where) if is_mask else _pixels.to_rgb(out, where, warned)

        new = self._derived(frame, static=False)
        if not keep_duration:
            new.duration = new.end = None
        if new._mask is not None and "mask" in _names(apply_to):
            new._mask = new._mask.transform(func, keep_duration=keep_duration)
        return new

    def _public_frame(self, t: float) -> np.ndarray:
        frame = self._get(t)
        return _pixels.alpha_to_float(frame) if self.is_mask else frame

    def time_transform(
        self, time_func: Callable[[float], float], apply_to: Any = None, keep_duration: bool = False
    ) -> VideoClip:
        """A clip whose frame at t is this clip's frame at ``time_func(t)`` (the mask follows)."""
        src, name = self, self._name

        def frame(t: float) -> Frame:
            u = time_func(t)
            try:
                ok = not isinstance(u, bool) and math.isfinite(u)
            except TypeError:
                ok = False
            if not ok:
                raise ParameterError(
                    f"{name} (time_transform) at t={t:g} s: the time function gave {u!r}; "
                    f"a time must be a finite number of seconds"
                )
            return src._get(u)

        new = self._derived(frame)
        new._size = self._size
        if not keep_duration:
            new.duration = new.end = None
        if new._mask is not None:
            new._mask = new._mask.time_transform(time_func, keep_duration=keep_duration)
        return new

    def image_transform(self, image_func: Callable[[np.ndarray], Any], apply_to: Any = None) -> VideoClip:
        """A clip whose frames are ``image_func(frame)``. On a clip whose frames do not depend
        on t (an image, a colour, text) it runs once, as MoviePy's ImageClip does."""
        src, is_mask = self, self.is_mask
        name, warned = self._name, []

        def frame(t: float) -> Frame:
            out = image_func(src._public_frame(t))
            where = f"{name} (image_transform) at t={t:g} s"
            return _pixels.to_alpha(out, where) if is_mask else _pixels.to_rgb(out, where, warned)

        new = self._derived(frame)
        if new._mask is not None and "mask" in _names(apply_to):
            new._mask = new._mask.image_transform(image_func)
        return new

    def _pixel_op(self, op: Callable[[Frame], Frame], mask_op: Callable[[Frame], Frame] | None = None) -> VideoClip:
        """A clip whose uint8 frames are ``op(frame)`` (framepipe's own kernels); the mask
        gets ``mask_op`` when given."""
        src = self
        new = self._derived(lambda t: op(src._get(t)))
        if mask_op is not None and new._mask is not None:
            new._mask = new._mask._pixel_op(mask_op)
        return new

    def subclipped(self, start_time: float = 0, end_time: float | None = None) -> VideoClip:
        """The part from start_time to end_time (negative: from the end)."""
        start_time = _seconds(start_time, "start_time")
        if start_time < 0:
            if self.duration is None:
                raise ParameterError("a negative start_time needs a clip with a duration")
            start_time = self.duration + start_time
        if self.duration is not None and start_time >= self.duration:
            raise ParameterError(f"start_time ({start_time:g} s) must be before the clip's end ({self.duration:g} s)")
        end = _seconds(end_time, "end_time", allow_none=True)
        if end is None:
            end = self.duration
        elif end < 0:
            if self.duration is None:
                raise ParameterError("a negative end_time needs a clip with a duration")
            end = self.duration + end
        if end is not None and self.duration is not None and end > self.duration + _T_SLACK:
            raise ParameterError(f"end_time ({end:g} s) is after the clip's end ({self.duration:g} s)")
        if end is not None and end <= start_time:
            raise ParameterError(f"end_time ({end:g} s) must be after start_time ({start_time:g} s)")
        new = self.time_transform(lambda t: t + start_time)
        new._static = self._static
        new.start = self.start  # as MoviePy: a subclip keeps its place on the timeline
        if end is not None:
            new = new.with_duration(end - start_time)
        return new

    def with_section_cut_out(self, start_time: Any, end_time: Any) -> VideoClip:
        """The clip without its part from start_time to end_time: what follows moves up (the
        mask too). Times as for subclipped: seconds, (min, s) or "hh:mm:ss.ss"."""
        a, b = _seconds(start_time, "start_time"), _seconds(end_time, "end_time")
        if not 0 <= a < b or (self.duration is not None and b > self.duration + _T_SLACK):
            end = "" if self.duration is None else f" <= the clip's duration ({self.duration:g} s)"
            raise ParameterError(f"with_section_cut_out needs 0 <= start_time < end_time{end}, got {a:g} and {b:g} s")
        cut = b - a
        new = self.time_transform(lambda t: t + cut if t >= a else t)
        new._static, new.start = self._static, self.start
        return new if self.duration is None else new.with_duration(self.duration - cut)

    def with_speed_scaled(self, factor: float | None = None, final_duration: float | None = None) -> VideoClip:
        """Played `factor` times faster, or stretched to `final_duration` s (fx.MultiplySpeed)."""
        from .fx import MultiplySpeed

        return self.with_effects([MultiplySpeed(factor=factor, final_duration=final_duration)])

    def with_effects_on_subclip(self, effects: Sequence[Any], start_time: Any = 0, end_time: Any = None) -> VideoClip:
        """The effects applied to the part from start_time to end_time only; the parts before
        and after play unchanged around it (the result's duration follows the effects)."""
        return self._on_part(lambda part: part.with_effects(effects), start_time, end_time)

    def _on_part(self, change: Callable[[VideoClip], VideoClip], start_time: Any, end_time: Any) -> VideoClip:
        from ._compose import concatenate_videoclips

        a = _seconds(start_time, "start_time")
        b = _seconds(end_time, "end_time", allow_none=True)
        parts = [self.subclipped(0, a)] if a > 0 else []
        parts.append(change(self.subclipped(a, b)))
        if b is not None and (self.duration is None or b < self.duration - _T_SLACK):
            parts.append(self.subclipped(b))
        return concatenate_videoclips(parts).with_start(self.start)

    def with_background_color(
        self, size: Any = None, color: Any = (0, 0, 0), pos: Any = None, opacity: float | None = None
    ) -> VideoClip:
        """The clip over a plain colour of `size` (default: its own; flattens transparency) at
        `pos` (default "center"); with `opacity`, the colour is that transparent, as MoviePy."""
        from ._compose import CompositeVideoClip
        from ._sources import ColorClip

        size = self.size if size is None else size
        placed = self.with_position("center" if pos is None else pos)
        if opacity is None:
            return CompositeVideoClip([placed], size=size, bg_color=color)
        background = ColorClip(size, color=color, duration=self.duration).with_opacity(opacity)
        return CompositeVideoClip([background, placed])

    @property
    def n_frames(self) -> int:
        """The number of frames a write at the clip's fps makes: round(duration x fps)."""
        from ._write import clip_fps, frame_count

        return frame_count(self, clip_fps(self, None, "n_frames"))

    def with_memoize(self, memoize: bool) -> VideoClip:
        """Accepted for MoviePy scripts: framepipe computes each frame once per time asked for
        when writing, and static clips (images, text) once in all, so there is nothing to set."""
        return self.copy()

    def __getitem__(self, key: Any) -> Any:
        """``clip[a:b]`` is ``subclipped(a, b)``; ``clip[a:b:speed]`` also changes the speed
        (a negative speed plays backwards, as MoviePy's ``clip[::-1]``); ``clip[(s1, s2)]``
        concatenates parts; ``clip[t]`` is ``get_frame(t)``."""
        if isinstance(key, slice):
            clip = self.subclipped(key.start or 0, key.stop or self.duration)
            if key.step:
                factor = abs(key.step)
                if factor != 1:
                    d = clip.duration
                    clip = clip.time_transform(lambda t: factor * t, keep_duration=True).with_duration(d / factor)
                if key.step < 0:
                    if not self.fps:
                        raise ParameterError(f"{self._name}: playing backwards needs the clip's fps (with_fps)")
                    d, step = clip.duration, 1.0 / self.fps
                    clip = clip.time_transform(lambda t: max(0.0, d - t - step), keep_duration=True)
            return clip
        if isinstance(key, tuple):
            from ._compose import concatenate_videoclips

            return concatenate_videoclips([self[k] for k in key])
        return self.get_frame(key)

    def with_fps(self, fps: float | None, change_duration: bool = False) -> VideoClip:
        new = self.copy()
        if change_duration and self.fps is not None and fps is not None and self.duration is not None:
            ratio = fps / self.fps
            new = new.time_transform(lambda t: ratio * t).with_duration(self.duration / ratio)
        new.fps = fps
        return new

    def with_layer_index(self, index: int) -> VideoClip:
        new = self.copy()
        new.layer_index = index
        return new

    with_layer = with_layer_index

    def with_is_mask(self, is_mask: bool) -> VideoClip:
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
        return base._pixel_op(_lut_scale(self._opacity))

    @mask.setter
    def mask(self, value: VideoClip | None) -> None:
        if value is not None and (not isinstance(value, VideoClip) or not value.is_mask):
            raise ParameterError("a mask must be a clip with is_mask=True (e.g. clip.to_mask())")
        self._mask = value

    def _full_mask(self) -> VideoClip:
        from ._sources import ColorClip

        return ColorClip(self.size, 1.0, is_mask=True, duration=self.duration)

    def with_mask(self, mask: VideoClip | str | None = "auto") -> VideoClip:
        """This clip with `mask` (a mask clip; "auto": fully opaque; None: no mask)."""
        new = self.copy()
        if isinstance(mask, str):
            if mask != "auto":
                raise ParameterError(f"with_mask: expected a mask clip, 'auto' or None, got {mask!r}")
            mask = self._full_mask()
        new.mask = mask
        return new

    def without_mask(self) -> VideoClip:
        return self.with_mask(None)

    def with_opacity(self, opacity: float) -> VideoClip:
        if isinstance(opacity, bool) or not isinstance(opacity, numbers.Real) or not 0 <= opacity <= 1:
            raise ParameterError(f"opacity must be a number in [0, 1], got {opacity!r}")
        new = self.copy()
        new._opacity = self._opacity * float(opacity)
        return new

    def with_position(self, pos: Any, relative: bool = False) -> VideoClip:
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
        elif isinstance(pos, str) and pos not in _POS_WORDS:
            raise ParameterError(f"unknown position {pos!r}; use one of {', '.join(_POS_WORDS)}")
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

    def to_mask(self, canal: int = 0) -> VideoClip:
        """A mask clip made of one channel of this clip's frames (0-255 → 0-1)."""
        if self.is_mask:
            return self
        new = self._pixel_op(lambda f: np.ascontiguousarray(f[:, :, canal]))
        new.is_mask = True
        new._mask = None
        new._opacity = 1.0
        return new

    def to_RGB(self) -> VideoClip:  # noqa: N802 (MoviePy's name)
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
        from .fx import Resize

        return Resize(new_size, height=height, width=width, apply_to_mask=apply_to_mask, filter=filter).apply(self)

    def cropped(
        self, x1=None, y1=None, x2=None, y2=None, width=None, height=None, x_center=None, y_center=None
    ) -> VideoClip:
        from .fx import Crop

        return Crop(x1, y1, x2, y2, width, height, x_center, y_center).apply(self)

    def rotated(
        self,
        angle: Any,
        unit: str = "deg",
        resample: str = "bicubic",
        expand: bool = True,
        center=None,
        translate=None,
        bg_color=None,
    ) -> VideoClip:
        from .fx import Rotate

        return Rotate(angle, unit, resample, expand, center, translate, bg_color).apply(self)

    def with_effects(self, effects: Sequence[Any]) -> VideoClip:
        """Apply MoviePy 2-style effects (``framepipe.clips.fx``) in order."""
        clip = self
        for effect in effects:
            if not hasattr(effect, "apply"):
                raise ParameterError(f"with_effects: {effect!r} is not an effect (an object with .apply(clip))")
            clip = effect.copy().apply(clip) if hasattr(effect, "copy") else effect.apply(clip)
        return clip

    def fx(self, func: Callable[..., VideoClip], *args: Any, **kwargs: Any) -> VideoClip:
        """MoviePy 1.x: ``clip.fx(vfx.mask_color, [255, 255, 255])`` is ``func(clip, ...)``."""
        return func(self, *args, **kwargs)

    # ---- output ---------------------------------------------------------------------------

    def iter_frames(
        self, fps: float | None = None, with_times: bool = False, logger: Any = None, dtype: Any = None
    ) -> Iterator[Any]:
        """Every frame at `fps`: frame n at t = n / fps, round(duration * fps) of them."""
        from ._write import frame_times

        for _, t in frame_times(self, fps):
            frame = self.get_frame(t) if self.is_mask else self._get(t)
            if dtype is not None:
                frame = frame.astype(dtype)
            yield (t, frame) if with_times else frame

    def write_videofile(self, filename: Any, fps: float | None = None, *args: Any, **kwargs: Any) -> Any:
        from ._write import write_videofile

        return write_videofile(self, filename, fps, *args, **kwargs)

    def write_gif(self, filename: Any, fps: float | None = None, *args: Any, **kwargs: Any) -> Any:
        from ._write import write_gif

        return write_gif(self, filename, fps, *args, **kwargs)

    # ---- sound: framepipe writes video only ------------------------------------------------

    audio = None  # MoviePy scripts read clip.audio; a framepipe clip has none

    def without_audio(self) -> VideoClip:
        """This clip (it has no sound): MoviePy scripts call it before writing."""
        return self.copy()

    def with_audio(self, audio: Any) -> VideoClip:
        if audio is None:
            return self.copy()
        raise UnsupportedError(
            f"{self._name}.with_audio: framepipe writes video only; add the sound to the written "
            f"file afterwards (e.g. ffmpeg -i video.mp4 -i sound.wav -c:v copy out.mp4)"
        )

    def write_images_sequence(
        self, name_format: str, fps: float | None = None, with_mask: bool = True, logger: Any = "bar"
    ) -> list[str]:
        from ._write import write_images_sequence

        return write_images_sequence(self, name_format, fps, with_mask)

    def save_frame(self, filename: Any, t: float = 0, with_mask: bool = True) -> None:
        from ._write import save_frame

        save_frame(self, filename, t, with_mask)

    def to_ImageClip(self, t: float = 0, with_mask: bool = True, duration: float | None = None) -> VideoClip:  # noqa: N802
        from ._sources import ImageClip

        t = self._check_t(t)
        clip = ImageClip(self._get(t).copy(), is_mask=self.is_mask, duration=duration)
        if with_mask and self._mask is not None:
            clip = clip.with_mask(ImageClip(self._alpha(t).copy(), is_mask=True, duration=duration))
        return clip

    def _repr_html_(self) -> str:
        from ._write import html

        return html(self)

    def display_in_notebook(self, **kwargs: Any) -> Any:
        from ._write import display

        return display(self, **kwargs)

    def close(self) -> None:
        """Release files held by the clip (file clips close their reader)."""

    def __enter__(self) -> VideoClip:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        size = f"{self._size[0]}x{self._size[1]}" if self._size else "size unknown"
        dur = "no duration" if self.duration is None else f"{self.duration:g} s"
        return f"<{self._name}: {size}, {dur}{', mask' if self.is_mask else ''}>"

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

    def crop(self, *args: Any, **kwargs: Any) -> VideoClip:
        return self.cropped(*args, **kwargs)

    def rotate(self, *args: Any, **kwargs: Any) -> VideoClip:
        return self.rotated(*args, **kwargs)

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


def _names(apply_to: Any) -> list[str]:
    if apply_to is None:
        return []
    return [apply_to] if isinstance(apply_to, str) else list(apply_to)


def _lut_scale(factor: float) -> Callable[[Frame], Frame]:
    """Multiply uint8 values by factor (rounded; alpha and opacity arithmetic)."""
    table = np.clip(np.rint(np.arange(256) * factor), 0, 255).astype(np.uint8).tobytes()
    return lambda a: _kernels.lut(a, table)
