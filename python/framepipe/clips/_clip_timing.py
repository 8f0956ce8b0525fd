"""A clip's place in time: duration, start and end, parts, speed, frame rate, layer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Self, cast

from .._warn import warn
from ..errors import ParameterError
from ._clip_base import ClipBase
from ._time import T_SLACK, seconds, seconds_or_none
from .fx._time import MultiplySpeed

if TYPE_CHECKING:
    from ._clip import VideoClip


class ClipTiming(ClipBase):
    """The time methods of :class:`VideoClip`."""

    def with_duration(self, duration: float | None, change_end: bool = True) -> Self:
        new = self.copy()
        new.duration = seconds_or_none(duration, "duration")
        if new.duration is not None and new.duration < 0:
            raise ParameterError(f"duration must not be negative, got {duration!r}")
        if change_end:
            new.end = None if new.duration is None else new.start + new.duration
        else:
            if new.duration is None:
                raise ParameterError("with_duration(None, change_end=False) cannot move the start")
            if new.end is None:
                raise ParameterError(
                    f"{self._name}.with_duration(change_end=False) keeps the end and moves the start, "
                    f"but the clip has no end"
                )
            new.start = new.end - new.duration
        if new._mask is not None:
            new._mask = new._mask.with_duration(duration, change_end)
        return new

    def with_start(self, t: float, change_end: bool = True) -> Self:
        new = self.copy()
        new.start = seconds(t, "start")
        if new.duration is not None and change_end:
            new.end = new.start + new.duration
        elif new.end is not None:
            new.duration = new.end - new.start
        if new._mask is not None:
            new._mask = new._mask.with_start(t, change_end)
        return new

    def with_end(self, t: float | None) -> Self:
        new = self.copy()
        new.end = seconds_or_none(t, "end")
        if new.end is None:
            pass  # as MoviePy: no end, the duration kept
        elif new.start is None:
            if new.duration is not None:
                new.start = max(0.0, new.end - new.duration)
        else:
            new.duration = new.end - new.start
        if new._mask is not None:
            new._mask = new._mask.with_end(t)
        return new

    def subclipped(self, start_time: float = 0, end_time: float | None = None) -> Self:
        """The part from start_time to end_time (negative: from the end)."""
        start_time = seconds(start_time, "start_time")
        if start_time < 0:
            if self.duration is None:
                raise ParameterError("a negative start_time needs a clip with a duration")
            start_time = self.duration + start_time
        if self.duration is not None and start_time >= self.duration:
            raise ParameterError(f"start_time ({start_time:g} s) must be before the clip's end ({self.duration:g} s)")
        end = seconds_or_none(end_time, "end_time")
        if end is None:
            end = self.duration
        elif end < 0:
            if self.duration is None:
                raise ParameterError("a negative end_time needs a clip with a duration")
            end = self.duration + end
        if end is not None and self.duration is not None and end > self.duration + T_SLACK:
            _check_end_past(self, end)
        if end is not None and end <= start_time:
            raise ParameterError(f"end_time ({end:g} s) must be after start_time ({start_time:g} s)")
        new = self.time_transform(lambda t: t + start_time)
        new._static = self._static
        new.start = self.start  # as MoviePy: a subclip keeps its place on the timeline
        if end is not None:
            new = new.with_duration(end - start_time)
        return new

    def with_section_cut_out(self, start_time: Any, end_time: Any) -> Self:
        """The clip without its part from start_time to end_time: what follows moves up (the
        mask too). Times as for subclipped: seconds, (min, s) or "hh:mm:ss.ss"."""
        a, b = seconds(start_time, "start_time"), seconds(end_time, "end_time")
        if not 0 <= a < b or (self.duration is not None and b > self.duration + T_SLACK):
            end = "" if self.duration is None else f" <= the clip's duration ({self.duration:g} s)"
            raise ParameterError(f"with_section_cut_out needs 0 <= start_time < end_time{end}, got {a:g} and {b:g} s")
        cut = b - a
        new = self.time_transform(lambda t: t + cut if t >= a else t)
        new._static, new.start = self._static, self.start
        return new if self.duration is None else new.with_duration(self.duration - cut)

    def with_speed_scaled(self, factor: float | None = None, final_duration: float | None = None) -> VideoClip:
        """Played `factor` times faster, or stretched to `final_duration` s (fx.MultiplySpeed)."""
        return self.with_effects([MultiplySpeed(factor=factor, final_duration=final_duration)])

    def with_effects_on_subclip(self, effects: Sequence[Any], start_time: Any = 0, end_time: Any = None) -> VideoClip:
        """The effects applied to the part from start_time to end_time only; the parts before
        and after play unchanged around it (the result's duration follows the effects)."""
        return self._on_part(lambda part: part.with_effects(effects), start_time, end_time)

    def _on_part(self, change: Callable[[VideoClip], VideoClip], start_time: Any, end_time: Any) -> VideoClip:
        from ._compose import concatenate_videoclips

        a = seconds(start_time, "start_time")
        b = seconds_or_none(end_time, "end_time")
        # Self is a VideoClip (these methods are part of it), which the checker cannot know.
        clip = cast("VideoClip", self)
        parts = [clip.subclipped(0, a)] if a > 0 else []
        parts.append(change(clip.subclipped(a, b)))
        if b is not None and (self.duration is None or b < self.duration - T_SLACK):
            parts.append(clip.subclipped(b))
        return concatenate_videoclips(parts).with_start(self.start)

    def with_memoize(self, memoize: bool) -> Self:
        """A copy that remembers its last frame (MoviePy's memoize): ``get_frame`` at the same
        t again returns it without computing it (see ``get_frame``). Writing does not need it:
        framepipe computes each frame once per time when writing, static clips once in all."""
        new = self.copy()
        new.memoize = bool(memoize)
        return new

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
                    faster = clip.time_transform(lambda t: factor * t, keep_duration=True)
                    clip = faster.with_duration(None if d is None else d / factor)
                if key.step < 0:
                    if not self.fps:
                        raise ParameterError(f"{self._name}: playing backwards needs the clip's fps (with_fps)")
                    end = clip.duration
                    if end is None:
                        raise ParameterError(f"{self._name}: playing backwards needs a clip with a duration")
                    step = 1.0 / self.fps
                    clip = clip.time_transform(lambda t: max(0.0, end - t - step), keep_duration=True)
            return clip
        if isinstance(key, tuple):
            from ._compose import concatenate_videoclips

            return concatenate_videoclips([self[k] for k in key])
        return self.get_frame(key)

    def with_fps(self, fps: float | None, change_duration: bool = False) -> Self:
        new = self.copy()
        if change_duration and self.fps is not None and fps is not None and self.duration is not None:
            ratio = fps / self.fps
            new = new.time_transform(lambda t: ratio * t).with_duration(self.duration / ratio)
        new.fps = fps
        return new

    def with_layer_index(self, index: int) -> Self:
        new = self.copy()
        new.layer_index = index
        return new

    with_layer = with_layer_index


def _check_end_past(clip: Any, end: float) -> None:
    """An end_time after the clip's end raises, as MoviePy (a ParameterError is a ValueError).
    Less than one frame interval past it (1/fps) is allowed with a warning: readers round a
    file's duration differently (MoviePy reads the container's to 0.01 s, e.g. 2.38 s for a
    2.3798 s video), and there the clip's last frame shows."""
    past = end - clip.duration
    if clip.fps and past < 1 / clip.fps:
        warn(
            f"{clip._name}.subclipped: end_time ({end:g} s) is {past:.6g} s after the clip's end "
            f"({clip.duration:g} s), less than a frame at {clip.fps:g} fps: its last frame shows there"
        )
        return
    raise ParameterError(
        f"{clip._name}.subclipped: end_time ({end:g} s) is after the clip's end ({clip.duration:g} s); "
        f"allowed: at most the duration (or less than one frame, 1/fps, past it)"
    )
