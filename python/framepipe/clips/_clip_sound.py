"""A video clip's sound (``clip.audio``, an :class:`~framepipe.clips.audio.AudioClip` or None),
carried through the clip's time changes exactly as its frames are (MoviePy's
``apply_to=["audio"]``): a part, a speed, a loop, a reversal, a cut, a new start or duration
change the sound the same way. Each method here runs the frames' method (``super()``), then
gives the result the sound of this clip transformed alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

from ..errors import ParameterError
from ._clip_layout import ClipLayout
from ._time import seconds, seconds_or_none
from .audio._clip import AudioClip
from .audio._sources import CompositeAudioClip
from .audio.fx._effects import AudioFadeIn, AudioFadeOut, AudioLoop, AudioNormalize, MultiplyVolume


class ClipSound(ClipLayout):
    """The sound methods of :class:`VideoClip`."""

    audio: AudioClip | None = None

    def _with_sound(self, new: Any, change: Callable[[AudioClip], AudioClip]) -> Any:
        """`new` (a clip derived from this one) with this clip's sound changed by `change`."""
        if self.audio is not None and isinstance(new, ClipSound):
            new.audio = change(self.audio)
        return new

    def _timed_sound(self, new: Any, time_func: Callable[[Any], Any]) -> Any:
        """`new` with this clip's sound played on `new`'s timeline: its sample at t is the
        sound's at ``time_func(t)`` (an array function), for `new`'s duration, from its start."""

        def change(audio: AudioClip) -> AudioClip:
            out = audio.time_transform(time_func).with_start(new.start)
            return out.with_duration(new.duration) if new.duration is not None else out

        return self._with_sound(new, change)

    # ---- sound --------------------------------------------------------------------------------

    def with_audio(self, audio: Any) -> Self:
        """This clip with the sound `audio` (an AudioClip; None removes it)."""
        if audio is not None and not isinstance(audio, AudioClip):
            raise ParameterError(
                f"{self._name}.with_audio: give an audio clip (AudioFileClip, AudioArrayClip, AudioClip, ...) "
                f"or None, got {type(audio).__name__}"
            )
        new = self.copy()
        new.audio = audio
        return new

    def without_audio(self) -> Self:
        """This clip without sound."""
        return self.with_audio(None)

    def with_volume_scaled(self, factor: float, start_time: Any = None, end_time: Any = None) -> Self:
        """The sound's volume multiplied by `factor` (afx.MultiplyVolume)."""
        return self.with_effects([MultiplyVolume(factor, start_time, end_time)])  # type: ignore[return-value]

    # ---- time, with the sound -----------------------------------------------------------------

    def with_duration(self, duration: Any, change_end: bool = True) -> Self:
        return self._with_sound(
            super().with_duration(duration, change_end), lambda a: a.with_duration(duration, change_end)
        )

    def with_start(self, t: Any, change_end: bool = True) -> Self:
        return self._with_sound(super().with_start(t, change_end), lambda a: a.with_start(t, change_end))

    def with_end(self, t: Any) -> Self:
        return self._with_sound(super().with_end(t), lambda a: a.with_end(t))

    def subclipped(self, start_time: Any = 0, end_time: Any = None) -> Self:
        new = super().subclipped(start_time, end_time)
        a = seconds(start_time, "start_time")
        if a < 0 and self.duration is not None:
            a += self.duration
        return self._timed_sound(new, lambda t: t + a)

    def with_section_cut_out(self, start_time: Any, end_time: Any) -> Self:
        new = super().with_section_cut_out(start_time, end_time)
        a, b = seconds(start_time, "start_time"), seconds(end_time, "end_time")
        return self._timed_sound(new, lambda t: t + (b - a) * (t >= a))

    def time_transform(
        self, time_func: Callable[[Any], Any], apply_to: Any = None, keep_duration: bool = False
    ) -> Self:
        """As MoviePy's: the sound follows with ``apply_to`` naming "audio" (then `time_func`
        must take arrays of times), and by default on a clip whose frames do not change with
        time (an image, a colour, text: MoviePy's ImageClip)."""
        new = super().time_transform(time_func, apply_to, keep_duration)
        if apply_to is None and self._static:
            apply_to = ["mask", "audio"]
        names = [apply_to] if isinstance(apply_to, str) else list(apply_to or [])
        if "audio" in names:
            return self._with_sound(new, lambda a: a.time_transform(time_func, keep_duration=keep_duration))
        return new

    def with_fps(self, fps: float | None, change_duration: bool = False) -> Self:
        new = super().with_fps(fps, change_duration)
        if change_duration and self.fps is not None and fps is not None and self.duration is not None:
            ratio = fps / self.fps
            return self._timed_sound(new, lambda t: ratio * t)
        return new

    def __getitem__(self, key: Any) -> Any:
        new = super().__getitem__(key)
        if not isinstance(key, slice) or self.audio is None:
            return new
        a = seconds(key.start or 0, "start_time")
        if a < 0 and self.duration is not None:
            a += self.duration
        factor = abs(key.step) if key.step else 1
        if key.step and key.step < 0:
            # As MoviePy's clip[::-1]: t -> duration - t - 1/fps, on the part at its speed.
            end = new.duration if new.duration is not None else 0.0
            step = 1.0 / float(self.fps or 1)
            return self._timed_sound(new, lambda t: a + factor * (end - t - step))
        return self._timed_sound(new, lambda t: a + factor * t)

    # ---- MoviePy 1.x names --------------------------------------------------------------------

    def set_audio(self, audio: Any) -> Self:
        return self.with_audio(audio)

    def volumex(self, factor: float) -> Self:
        return self.with_volume_scaled(factor)

    def audio_fadein(self, duration: Any) -> Self:
        return AudioFadeIn(duration).apply(self)

    def audio_fadeout(self, duration: Any) -> Self:
        return AudioFadeOut(duration).apply(self)

    def audio_loop(self, nloops: int | None = None, duration: Any = None) -> Self:
        return AudioLoop(nloops, seconds_or_none(duration, "duration")).apply(self)

    def audio_normalize(self) -> Self:
        return AudioNormalize().apply(self)


def mixed(clips: list[Any]) -> AudioClip | None:
    """The sound of layers played together, each from its start (None: no layer has sound)."""
    sounds = [c.audio.with_start(c.start) for c in clips if getattr(c, "audio", None) is not None]
    return CompositeAudioClip(sounds) if sounds else None
