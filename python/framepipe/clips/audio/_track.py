"""A video clip's sound for ``write_videofile``: MoviePy's audio parameters read, the clip's
sound mixed once in this process (no temporary file) into the array that
:func:`framepipe.render` encodes beside the frames (once, whatever the workers)."""

from __future__ import annotations

import numbers
import os
from typing import Any

import numpy as np

from ..._audio import check_rate
from ...errors import CodecError, ParameterError
from ._clip import AudioClip

# MoviePy's (ffmpeg's) audio codec names -> the engine's. MP4s carry AAC or Opus here.
CODECS = {None: None, "aac": "aac", "libfdk_aac": "aac", "libvo_aacenc": "aac", "opus": "opus", "libopus": "opus"}
# Accepted, with nothing to do: the sound is given to the encoder in memory.
UNUSED = ("audio_nbytes", "audio_bufsize", "temp_audiofile", "temp_audiofile_path", "remove_temp")


def audio_kbits(value: Any, what: str) -> int | None:
    """``audio_bitrate``: kbit/s as a number (framepipe's), or MoviePy's (ffmpeg's) string
    "128k" / "128000" (bit/s)."""
    if value is None:
        return None
    if isinstance(value, str):
        t = value.strip().lower()
        scale = {"k": 1.0, "m": 1000.0}.get(t[-1:], 0.001)
        try:
            kbits = float(t[:-1] if t[-1:] in "km" else t) * scale
        except ValueError:
            kbits = float("nan")
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        kbits = float(value)
    else:
        kbits = float("nan")
    if not 1 <= kbits < 1e7:  # NaN and infinity too; 10 Gbit/s is beyond any sound codec
        raise ParameterError(
            f"{what}: cannot read audio_bitrate={value!r}; give kbit/s as a number (128) or a string such as '128k'"
        )
    return int(round(kbits))


def sound_options(clip: Any, kwargs: dict[str, Any], what: str) -> dict[str, Any]:
    """Take MoviePy's audio keywords out of `kwargs`; return render's (``audio=``,
    ``audio_fps=``, ``audio_codec=``, ``audio_bitrate=``), empty when nothing is to be heard."""
    audio = kwargs.pop("audio", True)
    audio_fps = kwargs.pop("audio_fps", 44100)
    codec = kwargs.pop("audio_codec", None)
    bitrate = kwargs.pop("audio_bitrate", None)
    for name in UNUSED:
        kwargs.pop(name, None)
    if not isinstance(codec, (str, type(None))) or codec not in CODECS:
        # MoviePy's words (its test looks for them), then framepipe's: what was given, what is allowed.
        err = CodecError(
            "The video export failed because FFMPEG didn't find the specified codec for video or audio. "
            f"{what}: audio_codec={codec!r} is not one framepipe writes into an MP4"
        )
        err.add_note(
            f"framepipe: allowed audio_codec: {', '.join(repr(c) for c in CODECS if c)} (AAC, the default, or Opus)"
        )
        raise err
    out: dict[str, Any] = {}
    if CODECS[codec] is not None:
        out["audio_codec"] = CODECS[codec]
    kbits = audio_kbits(bitrate, what)
    if kbits is not None:
        out["audio_bitrate"] = kbits
    if isinstance(audio, (str, bytes, os.PathLike)):
        return {"audio": os.fsdecode(audio), **out}  # a file: its own rate
    if audio not in (True, False, None):
        raise ParameterError(f"{what}: audio must be True, False or a sound file's path, got {audio!r}")
    sound = clip.audio if audio else None
    if sound is None:
        return {}
    if not isinstance(sound, AudioClip):
        raise ParameterError(f"{what}: {clip._name}.audio is a {type(sound).__name__}, not an audio clip")
    rate = check_rate(audio_fps, "audio_fps")
    return {"audio": mix(sound, clip.duration, rate), "audio_fps": rate, **out}


def mix(sound: AudioClip, duration: float, rate: int) -> np.ndarray:
    """The sound's samples at `rate` over the video's `duration` (or its own, if shorter: the
    encoder pads the rest with silence), as float32 (n, channels), computed in chunks."""
    length = duration if sound.duration is None else min(duration, sound.duration)
    n = int(rate * length)
    out = np.empty((n, sound.nchannels), np.float32)
    step = 1 << 16
    for a in range(0, n, step):
        b = min(n, a + step)
        out[a:b] = sound._grid((1.0 / rate) * np.arange(a, b), a, rate)
    return out
