"""Sound, as MoviePy 2's ``moviepy.audio``: clips of samples as functions of time
(:class:`AudioClip`), from arrays and files, mixed (:class:`CompositeAudioClip`,
:func:`concatenate_audioclips`), with effects (:mod:`framepipe.clips.audio.fx`, also ``afx``),
written to WAV, AAC, MP3, Opus or FLAC, and carried by video clips (``clip.audio``)."""

from . import fx
from ._clip import AudioClip
from ._sources import AudioArrayClip, AudioFileClip, CompositeAudioClip, concatenate_audioclips

afx = fx

__all__ = [
    "AudioClip",
    "AudioArrayClip",
    "AudioFileClip",
    "CompositeAudioClip",
    "concatenate_audioclips",
    "fx",
    "afx",
]
