"""Audio effects, as MoviePy 2's ``moviepy.audio.fx`` (``clip.with_effects([afx.AudioFadeIn(1)])``).
Each applies to an audio clip, or to a video clip's sound (its picture unchanged)."""

from ._effects import (
    AudioDelay,
    AudioFadeIn,
    AudioFadeOut,
    AudioLoop,
    AudioNormalize,
    MultiplyStereoVolume,
    MultiplyVolume,
)

__all__ = [
    "AudioDelay",
    "AudioFadeIn",
    "AudioFadeOut",
    "AudioLoop",
    "AudioNormalize",
    "MultiplyStereoVolume",
    "MultiplyVolume",
]
