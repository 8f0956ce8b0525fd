"""Clips: MoviePy's composition model on framepipe's engine.

Clips are immutable descriptions of frames as functions of time — from a function
(:class:`VideoClip`), an image, a colour, text, an image sequence or a video file — that you
resize, crop, rotate, position, fade and stack (:class:`CompositeVideoClip`,
:func:`clips_array`, :func:`concatenate_videoclips`), then write with ``write_videofile`` or
``write_gif``, rendered on every core, with their sound (:mod:`framepipe.clips.audio`). The
names and semantics are MoviePy 2's (MoviePy 1.x's names are aliases); ``import
framepipe.editor as mpy`` gives a MoviePy-style namespace. The pixel work runs in the engine's
kernels (Lanczos resize, integer alpha-over only over the rectangle a layer covers, colour
tables, text from a bundled font).
"""

from . import audio, fx
from ._clip import VideoClip
from ._compose import CompositeVideoClip, clips_array, concatenate, concatenate_videoclips
from ._sources import ColorClip, ImageClip, ImageSequenceClip, TextClip, VideoFileClip
from .audio import AudioArrayClip, AudioClip, AudioFileClip, CompositeAudioClip, concatenate_audioclips

vfx = fx
afx = audio.fx

__all__ = [
    "VideoClip",
    "ImageClip",
    "ColorClip",
    "TextClip",
    "ImageSequenceClip",
    "VideoFileClip",
    "CompositeVideoClip",
    "clips_array",
    "concatenate_videoclips",
    "concatenate",
    "fx",
    "vfx",
    "audio",
    "afx",
    "AudioClip",
    "AudioFileClip",
    "AudioArrayClip",
    "CompositeAudioClip",
    "concatenate_audioclips",
]
