"""The core of a clip (`ClipBase`): its state, its frame function and what derives new frame
functions from it; the rest of :class:`VideoClip` is built on it by concern (``_clip_timing``,
``_clip_layout``, ``_clip_output``, ``_clip``).

Every ``with_*`` method returns a new clip. Internally a clip's frame function returns uint8
frames (see `_pixels`); ``get_frame(t)`` shows them as MoviePy does (RGB uint8; masks as floats
in [0, 1]). Clips whose frames do not depend on t (images, colours, text, and what is derived
from them without time) compute their frame once per process."""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from ..errors import ParameterError
from . import _pixels
from ._clip_root import Clip
from ._time import T_SLACK, seconds, seconds_or_none

if TYPE_CHECKING:
    from ._clip import VideoClip

Frame = np.ndarray


class ClipBase(Clip):
    """A clip's state and frame function (see :class:`VideoClip`, which is what to use). A
    misspelt keyword to any clip's constructor or method names the nearest one (``_keywords``)."""

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
        self.duration: float | None = seconds_or_none(duration, "duration")
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
        self._cache: tuple[Callable[[float], Frame], Frame] | None = None  # (its _fn, the static frame)
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

    def with_updated_frame_function(self, frame_function: Callable[[float], Any]) -> Self:
        """This clip (size, timing, mask, position) with frames from another function of t."""
        if not callable(frame_function):
            raise ParameterError(f"frame_function must be a function of t, got {type(frame_function).__name__}")
        new = self._derived(self._user_function(frame_function), static=False)
        return new

    def _user_function(self, fn: Callable[[float], Any]) -> Callable[[float], Frame]:
        """Wrap a user's frame function so that it returns this clip's uint8 frames."""
        is_mask, name = self.is_mask, self._name
        warned: list[bool] = []  # to_rgb's: whether this function's frames were warned about

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
        if self._fn is None:
            raise ParameterError(f"{self._name} has no frame function")
        if self._static:
            # The cache names the function it came from: a copy shares it until its _fn changes.
            if self._cache is None or self._cache[0] is not self._fn:
                frame = self._fn(0.0)
                frame.flags.writeable = False
                self._cache = (self._fn, frame)
            return self._cache[1]
        return self._fn(t)

    def _check_t(self, t: Any) -> float:
        if isinstance(t, (str, tuple, list)):
            # MoviePy's time forms ("00:01:02.5", (min, s), (h, min, s)) wherever a time t is
            # taken (get_frame, save_frame, to_ImageClip, is_playing, clip[t]).
            t = seconds(t, f"{self._name}: t")
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or not math.isfinite(t):
            raise ParameterError(f"{self._name}: t must be a finite number of seconds, got {t!r}")
        t = float(t)
        if t < 0 or (self.duration is not None and t > self.duration + T_SLACK):
            end = "" if self.duration is None else f" to {self.duration:g}"
            raise ParameterError(f"{self._name}: t={t:g} s is outside the clip (0{end} s)")
        return t

    def get_frame(self, t: float) -> np.ndarray:
        """The frame at time t (seconds from the clip's start): RGB uint8 (h, w, 3), or for a
        mask clip floats in [0, 1] (h, w). Not a copy: the frame of a clip that does not change
        with t (an image, text) is the same read-only array each time (copy it to modify it).

        With ``memoize`` on (``with_memoize(True)``), as MoviePy: asked again for the time it was
        last asked for (``memoized_t``), the clip returns ``memoized_frame`` unchecked; another
        time is computed (and checked) and remembered."""
        if self.memoize and np.ndim(t) == 0 and self.memoized_t is not None and t == self.memoized_t:
            return self.memoized_frame
        frame = self._get(self._check_t(t))
        frame = _pixels.alpha_to_float(frame) if self.is_mask else frame
        if self.memoize:
            self.memoized_t, self.memoized_frame = t, frame
        return frame

    def _alpha(self, t: float, hw: tuple[int, int] | None = None) -> Frame | None:
        """The uint8 alpha at local time t (None: opaque), opacity not applied, fitted to the
        frame's height and width `hw` (default: those of the frame at t)."""
        if self._mask is None:
            return None
        a = self._mask._get(t)
        h, w = self._get(t).shape[:2] if hw is None else hw
        if a.shape[:2] != (h, w):
            # A mask of another size covers what it covers from the top-left corner; the rest of
            # the clip is transparent (as in MoviePy).
            out = np.zeros((h, w), np.uint8)
            mh, mw = min(h, a.shape[0]), min(w, a.shape[1])
            out[:mh, :mw] = a[:mh, :mw]
            a = out
        return a

    # ---- copies ---------------------------------------------------------------------------

    def __copy__(self) -> Self:
        """MoviePy's copy: a new clip with every attribute of this one (the same values, set
        attributes included), the mask and sound shared (framepipe never changes a clip in place)."""
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def copy(self) -> Self:
        """A copy (``copy.copy(clip)``), as MoviePy's ``clip.copy()``."""
        return self.__copy__()

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        """Every attribute deep-copied (``__getstate__``, for pickling, drops the cached frame)."""
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        new.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return new

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_cache"] = None  # recomputed in the worker; not shipped
        return state

    def _derived(self, fn: Callable[[float], Frame], *, static: bool | None = None, size: Any = "unknown") -> Self:
        new = self.copy()
        new._fn = fn
        new._static = self._static if static is None else static
        if size != "unknown":
            new._size = size
        else:
            new._size = None
        return new

    # ---- new frame functions ------------------------------------------------------------------

    def transform(
        self, func: Callable[[Callable[[float], Any], float], Any], apply_to: Any = None, keep_duration: bool = True
    ) -> Self:
        """A clip whose frame at t is ``func(self.get_frame, t)``."""
        src, is_mask, name = self, self.is_mask, self._name
        warned: list[bool] = []

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
    ) -> Self:
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

    def image_transform(self, image_func: Callable[[np.ndarray], Any], apply_to: Any = None) -> Self:
        """A clip whose frames are ``image_func(frame)``. On a clip whose frames do not depend
        on t (an image, a colour, text) it runs once, as MoviePy's ImageClip does."""
        src, is_mask, name = self, self.is_mask, self._name
        warned: list[bool] = []

        def frame(t: float) -> Frame:
            out = image_func(src._public_frame(t))
            where = f"{name} (image_transform) at t={t:g} s"
            return _pixels.to_alpha(out, where) if is_mask else _pixels.to_rgb(out, where, warned)

        new = self._derived(frame)
        if new._mask is not None and "mask" in _names(apply_to):
            new._mask = new._mask.image_transform(image_func)
        return new

    def _pixel_op(self, op: Callable[[Frame], Frame], mask_op: Callable[[Frame], Frame] | None = None) -> Self:
        """A clip whose uint8 frames are ``op(frame)`` (framepipe's own kernels); the mask
        gets ``mask_op`` when given."""
        src = self
        new = self._derived(lambda t: op(src._get(t)))
        if mask_op is not None and new._mask is not None:
            new._mask = new._mask._pixel_op(mask_op)
        return new

    def with_effects(self, effects: Sequence[Any]) -> VideoClip:
        """Apply MoviePy 2-style effects (``framepipe.clips.fx``) in order."""
        clip: Any = self
        for effect in effects:
            if not hasattr(effect, "apply"):
                raise ParameterError(f"with_effects: {effect!r} is not an effect (an object with .apply(clip))")
            clip = effect.copy().apply(clip) if hasattr(effect, "copy") else effect.apply(clip)
        return clip

    def fx(self, func: Callable[..., VideoClip], *args: Any, **kwargs: Any) -> VideoClip:
        """MoviePy 1.x: ``clip.fx(vfx.mask_color, [255, 255, 255])`` is ``func(clip, ...)``."""
        return func(self, *args, **kwargs)

    def close(self) -> None:
        """Release files held by the clip (file clips close their reader)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        size = f"{self._size[0]}x{self._size[1]}" if self._size else "size unknown"
        dur = "no duration" if self.duration is None else f"{self.duration:g} s"
        return f"<{self._name}: {size}, {dur}{', mask' if self.is_mask else ''}>"


def _names(apply_to: Any) -> list[str]:
    if apply_to is None:
        return []
    return [apply_to] if isinstance(apply_to, str) else list(apply_to)
