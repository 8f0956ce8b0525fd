"""A writer's sound track on the Python side: what ``audio=`` may be (a file PyAV reads, or an
array with ``audio_fps=``), samples converted to the engine's interleaved float32, and the
schedule that feeds them to the engine as the video advances (so a file of any length is read
with flat memory). The engine checks every sample (NaN and infinities refused, naming the sample;
values outside [-1, 1] clipped, counted, warned about once), resamples and encodes.

A source is read in order, once: :meth:`AudioSource.read` returns at most ``n`` sample frames
(an ``(k, channels)`` float32 C-contiguous array) or None at the end.
"""

from __future__ import annotations

import errno
import itertools
import math
import numbers
import os
from collections.abc import Callable, Generator
from fractions import Fraction
from typing import Any

import numpy as np

from ._pyav import import_av, libav_reason
from .errors import DecodeError, ParameterError, about

#: The engine's limits (crates/framepipe/src/audio/mod.rs).
MIN_RATE, MAX_RATE, MAX_CHANNELS = 1000, 768_000, 8
#: Seconds of sound fed ahead of the video's current time.
LEAD_SECONDS = 1
#: Sample frames per call into the engine.
CHUNK = 1 << 16


def check_rate(rate: Any, what: str = "audio_fps") -> int:
    """An int sample rate in the engine's range, else a ParameterError naming `what`."""
    whole = float(rate) if isinstance(rate, numbers.Real) and not isinstance(rate, bool) else math.nan
    if not whole.is_integer():
        raise about(ParameterError(f"{what} must be a whole number of Hz, got {rate!r}"), argument=what)
    if not MIN_RATE <= whole <= MAX_RATE:
        raise about(
            ParameterError(f"{what} must be from {MIN_RATE} to {MAX_RATE} Hz, got {rate!r}"),
            argument=what,
        )
    return int(whole)


def check_channels(channels: Any, what: str = "audio_channels") -> int:
    if isinstance(channels, bool) or not isinstance(channels, numbers.Integral):
        raise about(ParameterError(f"{what} must be an int from 1 to 8, got {channels!r}"), argument=what)
    if not 1 <= int(channels) <= MAX_CHANNELS:
        raise about(
            ParameterError(f"{what} must be from 1 to {MAX_CHANNELS} (mono to 7.1), got {channels}"), argument=what
        )
    return int(channels)


def as_samples(samples: Any, channels: int | None, what: str = "audio") -> np.ndarray:
    """`samples` as an ``(n, channels)`` array of float32 or of the integer type it has (int16,
    int32: converted per chunk by :func:`to_float32`). ``(n,)`` is mono. With `channels`, the
    shape must have that many."""
    arr = np.asarray(samples)
    if arr.dtype.kind == "f":
        if arr.dtype != np.float32 and arr.dtype != np.float64:
            arr = arr.astype(np.float32)
    elif arr.dtype not in (np.int16, np.int32):
        raise about(
            ParameterError(
                f"{what}: samples of dtype {arr.dtype} are not supported; give float32 or float64 in [-1, 1], "
                f"or int16 or int32 (full scale)"
            ),
            argument=what,
        )
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    elif arr.ndim != 2:
        raise about(
            ParameterError(f"{what}: samples must have shape (n,) or (n, channels), got {arr.shape}"), argument=what
        )
    if arr.shape[1] < 1 or arr.shape[1] > MAX_CHANNELS:
        raise about(
            ParameterError(
                f"{what}: shape {np.shape(samples)} has {arr.shape[1]} channels; allowed 1 to {MAX_CHANNELS} "
                f"(samples are (n,) or (n, channels): one row per instant)"
            ),
            argument=what,
        )
    if channels is not None and arr.shape[1] != channels:
        raise about(
            ParameterError(
                f"{what}: samples of shape {np.shape(samples)} have {arr.shape[1]} channel(s), but the sound track "
                f"has {channels}"
            ),
            argument=what,
        )
    return arr


def to_float32(arr: np.ndarray) -> np.ndarray:
    """A C-contiguous float32 copy or view of an (n, ch) chunk: integers scaled so that full
    scale is 1 (int16 / 32768, int32 / 2**31)."""
    if arr.dtype == np.int16:
        return np.ascontiguousarray(arr, dtype=np.float32) * np.float32(1 / 32768)
    if arr.dtype == np.int32:
        return (np.ascontiguousarray(arr, dtype=np.float64) * (1 / 2**31)).astype(np.float32)
    return np.ascontiguousarray(arr, dtype=np.float32)


class AudioSource:
    """Samples of a sound track, read in order: ``rate``, ``channels``, ``read(n)``."""

    rate: int
    channels: int
    description: str

    def read(self, n: int) -> np.ndarray | None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class ArraySource(AudioSource):
    """An array given whole (``audio=array, audio_fps=rate``)."""

    def __init__(self, samples: Any, rate: int) -> None:
        self._arr = as_samples(samples, None)
        self.rate = rate
        self.channels = self._arr.shape[1]
        self._pos = 0
        self.description = f"an array of {self._arr.shape[0]} samples"

    def read(self, n: int) -> np.ndarray | None:
        if self._pos >= self._arr.shape[0]:
            return None
        chunk = self._arr[self._pos : self._pos + n]
        self._pos += chunk.shape[0]
        return to_float32(chunk)


class FileSource(AudioSource):
    """The first audio stream of a file PyAV reads (WAV, MP3, FLAC, M4A, OGG, a video's sound
    track), decoded packet by packet as it is read: memory stays flat for any length. With
    `rate`, the samples are resampled to it (libav's resampler)."""

    def __init__(self, path: str | os.PathLike[str], rate: int | None = None) -> None:
        av = import_av("reading sound from a file")
        self._av = av
        rate_out = rate
        self.path = os.fsdecode(path)
        p = self.path
        if not os.path.exists(p):
            raise FileNotFoundError(errno.ENOENT, "No such audio file", p)
        if os.path.isdir(p):
            raise IsADirectoryError(errno.EISDIR, "Is a directory, not an audio file", p)
        try:
            self._container = av.open(p, mode="r", metadata_errors="replace")
        except PermissionError as e:
            raise PermissionError(errno.EACCES, "Permission denied reading the audio file", p) from e
        except av.error.FFmpegError as e:
            raise DecodeError(f"{p!r} is not a file libav can read sound from: {libav_reason(e)}") from e
        try:
            if not self._container.streams.audio:
                kinds = sorted({s.type for s in self._container.streams}) or ["nothing"]
                raise DecodeError(f"{p!r} has no audio stream (it holds: {', '.join(kinds)})")
            self._stream = self._container.streams.audio[0]
            # The format is the first decoded frame's: a stream's header can state another
            # (e.g. MP3s joined end to end carry the last part's rate in front).
            self._decoded_frames = self._decode_frames()
            self._first = next(self._decoded_frames, None)
            ctx = self._stream.codec_context
            layout = self._first.layout if self._first is not None else ctx.layout
            rate = self._first.sample_rate if self._first is not None else ctx.sample_rate
            channels = layout.nb_channels
            if not rate or not MIN_RATE <= rate <= MAX_RATE:
                raise DecodeError(f"{p!r}: its audio stream's sample rate {rate} Hz is not one framepipe encodes")
            if not 1 <= channels <= MAX_CHANNELS:
                raise about(
                    ParameterError(
                        f"{p!r} has {channels} audio channels; framepipe encodes 1 to {MAX_CHANNELS} (mono to 7.1)"
                    ),
                    argument="audio",
                )
            self._file_rate, self.channels = int(rate), int(channels)
            self.rate = self._file_rate if rate_out is None else check_rate(rate_out, "fps")
            self._resampler = av.AudioResampler(format="flt", layout=layout, rate=self.rate)
            self._decoded = 0  # sample frames decoded so far (for the time in messages)
            self._frames = self._decode()
            self._pending: list[np.ndarray] = []
            self._pending_n = 0
            self._ended = False
            self.description = p
        except BaseException:
            self._container.close()
            raise

    def _decode_frames(self) -> Generator[Any, None, None]:
        """The stream's decoded frames (PyAV AudioFrames)."""
        av = self._av
        try:
            for packet in self._container.demux(self._stream):
                yield from packet.decode()
        except av.error.FFmpegError as e:
            raise DecodeError(f"{self.path!r}: decoding its sound failed: libav says {libav_reason(e)}") from e

    def _decode(self) -> Generator[np.ndarray, None, None]:
        """The samples, as packed float arrays (samples, channels)."""
        if self._first is not None:
            frames = itertools.chain([self._first], self._decoded_frames)
            self._first = None
            for frame in frames:
                self._check_format(frame)
                for out in self._resampler.resample(frame):
                    yield self._interleaved(out)
        for out in self._resampler.resample(None):
            yield self._interleaved(out)

    def _check_format(self, frame: Any) -> None:
        """A decoded frame at another rate or channel count than the stream's start is a
        DecodeError (as the CLI's decoder says it): a soundtrack keeps one format."""
        rate, channels = frame.sample_rate, frame.layout.nb_channels
        if rate == self._file_rate and channels == self.channels:
            return
        at = f"{self._decoded / self.rate:.3f} s"
        if rate != self._file_rate:
            what = (
                f"the sample rate changes from {self._file_rate} Hz to {rate} Hz at {at}; a soundtrack must keep "
                f"one rate"
            )
        else:
            what = f"the channel count changes from {self.channels} to {channels} at {at}"
        raise DecodeError(f"{self.path}: {what}")

    def _interleaved(self, frame: Any) -> np.ndarray:
        data = frame.to_ndarray()  # packed float: (1, samples * channels)
        out = np.ascontiguousarray(data, dtype=np.float32).reshape(-1, self.channels)
        self._decoded += out.shape[0]
        return out

    def read(self, n: int) -> np.ndarray | None:
        while self._pending_n < n and not self._ended:
            chunk = next(self._frames, None)
            if chunk is None:
                self._ended = True
            elif chunk.shape[0]:
                self._pending.append(chunk)
                self._pending_n += chunk.shape[0]
        if not self._pending_n:
            return None
        whole = np.concatenate(self._pending) if len(self._pending) > 1 else self._pending[0]
        out, rest = whole[:n], whole[n:]
        self._pending = [rest] if rest.shape[0] else []
        self._pending_n = rest.shape[0]
        return np.ascontiguousarray(out)

    def close(self) -> None:
        self._frames.close()
        self._container.close()


def open_source(audio: Any, audio_fps: Any) -> AudioSource:
    """The source for ``audio=`` (a path or an array) with ``audio_fps=`` (required for an
    array; for a file, if given, it must be the file's rate)."""
    if isinstance(audio, (str, bytes, os.PathLike)):
        src: AudioSource = FileSource(audio if not isinstance(audio, bytes) else os.fsdecode(audio))
        if audio_fps is not None and check_rate(audio_fps) != src.rate:
            src.close()
            raise about(
                ParameterError(
                    f"audio_fps={audio_fps} does not match {src.description!r}, whose sound is at {src.rate} Hz; "
                    f"leave audio_fps out for a file (its rate is the file's)"
                ),
                argument="audio_fps",
            )
        return src
    if audio_fps is None:
        raise about(
            ParameterError("audio_fps= (the samples' rate in Hz) is required when audio= is an array"),
            argument="audio_fps",
        )
    return ArraySource(audio, check_rate(audio_fps))


def samples_until(seconds: Fraction, rate: int) -> int:
    """Sample frames at `rate` up to `seconds`, rounded up."""
    return math.ceil(seconds * rate)


def lead_until(frames: int, fps: Fraction) -> Fraction:
    """How far into a source a writer has read once it holds `frames` frames: to a second
    past the end of the next frame. (:func:`framepipe.render` reads a whole sound track to
    where a writer of all its frames stops, so that both encode the same samples.)"""
    return (frames + 1) / fps + LEAD_SECONDS


def open_track(
    audio: Any, audio_fps: Any, audio_channels: Any, audio_codec: Any, audio_bitrate: Any
) -> tuple[AudioSource | None, tuple[int, int] | None]:
    """A writer's sound-track arguments, checked: the source of ``audio=`` (None without it) and
    the track's (rate, channels) (None without a track; with no source, a track fed with
    ``write_audio``, declared by ``audio_fps=`` and ``audio_channels=``)."""
    if audio is not None:
        src = open_source(audio, audio_fps)
        if audio_channels is not None and check_channels(audio_channels) != src.channels:
            src.close()
            raise about(
                ParameterError(
                    f"audio_channels={audio_channels} does not match the {src.channels} channel(s) of "
                    f"{src.description}; leave audio_channels out when audio= is given"
                ),
                argument="audio_channels",
            )
        return src, (src.rate, src.channels)
    if audio_fps is not None or audio_channels is not None:
        if audio_fps is None or audio_channels is None:
            raise about(
                ParameterError(
                    "a sound track fed with write_audio() is declared with both audio_fps= (Hz) and "
                    f"audio_channels=; got audio_fps={audio_fps!r}, audio_channels={audio_channels!r}"
                ),
                argument="audio_fps" if audio_fps is None else "audio_channels",
            )
        return None, (check_rate(audio_fps), check_channels(audio_channels))
    if audio_codec is not None or audio_bitrate is not None:
        raise about(
            ParameterError(
                "audio_codec and audio_bitrate apply to a sound track, and none was given: pass audio= "
                "(a file or an array with audio_fps=), or audio_fps= and audio_channels= for write_audio()"
            ),
            argument="audio_codec" if audio_codec is not None else "audio_bitrate",
        )
    return None, None


def feed(src: AudioSource, write: Callable[[np.ndarray], None], fed: int, want: int) -> tuple[int, bool]:
    """Give `write` the source's samples from sample frame `fed` up to `want`, in pieces of at
    most :data:`CHUNK`. Returns (sample frames given in all, whether the source ended)."""
    while fed < want:
        chunk = src.read(min(CHUNK, want - fed))
        if chunk is None:
            return fed, True
        write(chunk)
        fed += chunk.shape[0]
    return fed, False
