"""A render's sound track: :func:`framepipe.render`'s ``audio=`` (a file, or an array with
``audio_fps=``), encoded once for the whole video in the calling process, before any frame is
rendered, and muxed beside the joined chunks (``_native.Concat(audio=...)``). Workers never see
it: AAC and Opus frames do not split at the video's chunk boundaries, and the chunks then depend
on the video alone (so a resumed render keeps them whatever the sound).

It is a :class:`~framepipe.VideoWriter`'s sound track: the same arguments and checks
(``_audio.open_track``), the same samples read (up to where a writer of all the frames stops
reading, ``_audio.lead_until``), the same engine checks, resampler and encoder
(``_native.SoundTrack``), the same length rule (the video's). The packets are therefore those a
VideoWriter writes for the same samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .. import _audio, _native
from ..errors import ParameterError, about

#: render()'s keywords that describe the sound track, taken out of the encoder options (the
#: workers' options hold none of them).
AUDIO_KEYWORDS = ("audio", "audio_fps", "audio_channels")
AUDIO_OPTIONS = ("audio_codec", "audio_bitrate")


@dataclass(frozen=True)
class Sound:
    """An encoded sound track (``track``, for Concat), what VideoResult reports of it, and the
    engine's warnings (clipping) for the caller to show: a render with ``workers=1`` leaves them
    to its VideoWriter, which reads the same sound and warns itself."""

    track: Any  # _native.SoundTrack, finished
    samples: int
    clipped: int
    rate: int
    warnings: tuple[str, ...]


def split_options(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the encoder options without the sound-track keywords, those keywords)."""
    video = {k: v for k, v in options.items() if k not in AUDIO_KEYWORDS}
    return video, {k: options.get(k) for k in AUDIO_KEYWORDS}


def video_only(options: dict[str, Any]) -> dict[str, Any]:
    """The options a worker encodes its chunk with: no sound-track options."""
    return {k: v for k, v in options.items() if k not in AUDIO_OPTIONS}


def encode(
    path: str, fps: Fraction, values: dict[str, Any], n_frames: int, audio: Any, audio_fps: Any, audio_channels: Any
) -> Sound | None:
    """Encode the sound track of a render of `n_frames` frames at `fps` into `path` (written with
    the checked writer options `values`), or None without ``audio=``. Errors as VideoWriter's."""
    src, fmt = _audio.open_track(
        audio, audio_fps, audio_channels, values.get("audio_codec"), values.get("audio_bitrate")
    )
    if fmt is None:
        return None
    if src is None:
        raise about(
            ParameterError(
                f"render takes its sound from audio= (a file, or an array with audio_fps=); audio_fps={audio_fps!r} "
                f"and audio_channels={audio_channels!r} alone declare a sound track fed with "
                f"VideoWriter.write_audio(), which render has no way to receive"
            ),
            argument="audio",
        )
    try:
        track = _native.SoundTrack(path, fps.numerator, fps.denominator, values, audio=fmt)
        want = _audio.samples_until(_audio.lead_until(n_frames, fps), src.rate)
        _audio.feed(src, track.write, 0, want)
    finally:
        src.close()
    warnings = tuple(track.take_warnings())
    samples, clipped = track.finish(n_frames, fps.numerator, fps.denominator)
    return Sound(track=track, samples=samples, clipped=clipped, rate=fmt[0], warnings=warnings)
