"""MoviePy 2's audio effects. Gains are computed over whole arrays of times (one numpy
expression per chunk of samples). Applied to a video clip, an effect changes its sound (a clip
without sound is returned unchanged), as MoviePy's ``audio_video_effect``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ....errors import ParameterError
from ..._time import seconds, seconds_or_none
from ...fx._base import Effect, number
from .._clip import AudioClip
from .._sources import CompositeAudioClip, concatenate_audioclips


class AudioEffect(Effect):
    """An effect on sound: `apply_audio` on an audio clip, or on a video clip's ``audio``."""

    def apply(self, clip: Any) -> Any:
        if isinstance(clip, AudioClip):
            return self.apply_audio(clip)
        audio = getattr(clip, "audio", None)
        if audio is None:
            if not hasattr(clip, "with_audio"):
                raise ParameterError(f"{type(self).__name__}: {clip!r} is neither an audio nor a video clip")
            return clip.copy()
        return clip.with_audio(self.apply_audio(audio))

    def apply_audio(self, clip: AudioClip) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


def _gain(value: Any, what: str) -> float:
    return number(value, what, minimum=None, allowed="a finite number")


@dataclass
class MultiplyVolume(AudioEffect):
    """The volume multiplied by `factor` (between start_time and end_time only, if given:
    times as MoviePy, where a missing one is the clip's start or end)."""

    factor: float
    start_time: Any = None
    end_time: Any = None

    def __post_init__(self) -> None:
        self.factor = _gain(self.factor, "MultiplyVolume factor")
        self.start_time = seconds_or_none(self.start_time, "MultiplyVolume start_time")
        self.end_time = seconds_or_none(self.end_time, "MultiplyVolume end_time")

    def apply_audio(self, clip: AudioClip) -> Any:
        f = self.factor
        if self.start_time is None and self.end_time is None:
            return clip._scaled(f)
        a = clip.start if self.start_time is None else self.start_time
        b = clip.end if self.end_time is None else self.end_time
        if b is None:
            b = np.inf
        return clip._scaled(lambda tt: np.where((tt >= a) & (tt <= b), f, 1.0))


@dataclass
class MultiplyStereoVolume(AudioEffect):
    """Left (even) and right (odd) channels multiplied by `left` and `right`; a mono clip by
    `left`."""

    left: float = 1
    right: float = 1

    def __post_init__(self) -> None:
        self.left = _gain(self.left, "MultiplyStereoVolume left") if self.left is not None else None
        self.right = _gain(self.right, "MultiplyStereoVolume right") if self.right is not None else None

    def apply_audio(self, clip: AudioClip) -> Any:
        left = self.left if self.left is not None else self.right
        right = self.right if self.right is not None else self.left
        gains = np.array([left if i % 2 == 0 else right for i in range(clip.nchannels)], dtype=np.float64)
        if clip.nchannels == 1:
            gains = np.array([left], dtype=np.float64)
        return clip._scaled(lambda tt: gains[None, :])


def _fade_duration(value: Any, what: str) -> float:
    d = seconds(value, what)
    if not d > 0:
        raise ParameterError(f"{what} must be a number of seconds > 0, got {value!r}")
    return d


@dataclass
class AudioFadeIn(AudioEffect):
    """Silent at first, then the sound rises linearly to full over `duration` seconds."""

    duration: Any

    def __post_init__(self) -> None:
        self.duration = _fade_duration(self.duration, "AudioFadeIn duration")

    def apply_audio(self, clip: AudioClip) -> Any:
        clip._need_duration("AudioFadeIn")
        d = self.duration
        return clip._scaled(lambda tt: np.minimum(tt / d, 1.0))


@dataclass
class AudioFadeOut(AudioEffect):
    """The sound falls linearly to silence over the last `duration` seconds."""

    duration: Any

    def __post_init__(self) -> None:
        self.duration = _fade_duration(self.duration, "AudioFadeOut duration")

    def apply_audio(self, clip: AudioClip) -> Any:
        total = clip._need_duration("AudioFadeOut")
        d = self.duration
        return clip._scaled(lambda tt: np.minimum((total - tt) / d, 1.0))


@dataclass
class AudioLoop(AudioEffect):
    """The clip played `n_loops` times, or repeated for `duration` seconds."""

    n_loops: int | None = None
    duration: Any = None

    def __post_init__(self) -> None:
        n = self.n_loops
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
            raise ParameterError(f"AudioLoop: n_loops must be an int >= 1, got {n!r}")
        self.duration = seconds_or_none(self.duration, "AudioLoop duration")
        if self.duration is not None and not self.duration > 0:
            raise ParameterError(f"AudioLoop: duration must be > 0 seconds, got {self.duration!r}")
        if n is None and self.duration is None:
            raise ParameterError("AudioLoop: give n_loops (times to play) or duration (seconds)")

    def apply_audio(self, clip: AudioClip) -> Any:
        d = clip._need_duration("AudioLoop")
        if self.duration is not None:
            n = int(self.duration / d) + 1
            return concatenate_audioclips(n * [clip]).with_duration(self.duration)
        assert self.n_loops is not None
        return concatenate_audioclips(int(self.n_loops) * [clip])


@dataclass
class AudioNormalize(AudioEffect):
    """The volume scaled so that the loudest sample is at full scale (0 dB); silence is kept."""

    def apply_audio(self, clip: AudioClip) -> Any:
        peak = clip.max_volume()
        if peak == 0:
            return clip
        return MultiplyVolume(1 / peak).apply_audio(clip)


@dataclass
class AudioDelay(AudioEffect):
    """Echoes: the clip, then `n_repeats` copies each `offset` s after the last, their volumes
    going linearly from 1 to `decay`."""

    offset: float = 0.2
    n_repeats: int = 8
    decay: float = 1

    def __post_init__(self) -> None:
        self.offset = number(self.offset, "AudioDelay offset", allowed="a finite number of seconds >= 0")
        n = self.n_repeats
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ParameterError(f"AudioDelay: n_repeats must be an int >= 0, got {n!r}")
        self.decay = _gain(self.decay, "AudioDelay decay")

    def apply_audio(self, clip: AudioClip) -> Any:
        decays = np.linspace(1, max(0, self.decay), int(self.n_repeats) + 1)
        echoes = [
            MultiplyVolume(float(decays[i + 1])).apply_audio(clip.with_start((i + 1) * self.offset))
            for i in range(int(self.n_repeats))
        ]
        return CompositeAudioClip([clip.copy(), *echoes])
