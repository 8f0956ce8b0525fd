"""Writing videos from Python: :class:`VideoWriter` and :func:`write_video`."""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal, Unpack

import numpy as np

from . import _audio, _native
from ._frames import FLOAT_NOTES, above_one, above_one_message, as_array, numbered
from ._keywords import KeywordsChecked, checked
from ._options import EncodeOptions, FpsLike, options_doc, writer_options
from ._warn import warn
from .display import Video, cannot_show_html
from .errors import FramepipeError, ParameterError, UnsupportedError, WriterClosedError, about


@dataclass(frozen=True)
class VideoResult(KeywordsChecked):
    """What a finished video holds. ``width`` and ``height`` are the file's picture size: for an
    MP4 of odd-sized frames, the even size they were padded to.

    With a sound track: ``audio_samples`` is the number of sample frames (one per channel, at
    ``audio_fps``, the rate of the samples given) that were given to the writer, and
    ``audio_clipped`` how many sample values outside [-1, 1] were clipped; both 0 without sound.
    The file's sound track has the video's duration whatever ``audio_samples`` is: the rest was
    cut, or silence added."""

    path: str | None
    frames: int
    bytes: int
    width: int
    height: int
    fps: Fraction
    data: builtins.bytes | None = None  # `bytes` in this class is the field above
    format: str = "mp4"
    audio_samples: int = 0
    audio_clipped: int = 0
    audio_fps: int | None = None

    @property
    def duration(self) -> float:
        """Duration in seconds: frames / fps."""
        return float(self.frames / self.fps)

    def _repr_html_(self) -> str:
        """Jupyter shows the video itself (see :class:`framepipe.Video`)."""
        try:
            return Video(self)._repr_html_()
        except OSError as e:  # the file was moved or deleted since
            return cannot_show_html(self.path, e)


class VideoWriter(KeywordsChecked):
    """Encode frames to an H.264 MP4 in-process (x264, BT.709, faststart), or an animated GIF.

    Example::

        with framepipe.VideoWriter("out.mp4", fps=30, crf=23, preset="medium") as w:
            for frame in frames:      # numpy arrays, PIL images or matplotlib Figures
                w.write(frame)

    Args:
        path: output file; ``None`` encodes into memory (``close()`` returns the bytes).
        fps: frame rate: int, float (29.97 is taken as exactly 30000/1001), Fraction or "num/den".
        **options: the encoding options (:class:`framepipe.EncodeOptions`), listed at the end
            of this docstring from the engine's option table; docs/writing.md says more.
            ``audio_codec`` and ``audio_bitrate`` are among them (the sound track's).
        audio: MP4: a sound track. A path to a file PyAV reads (WAV, MP3, FLAC, M4A, OGG, a
            video's sound track: its first audio stream), decoded as the video advances (about a
            second ahead of it), so memory stays flat for any length; or an array of samples,
            shape ``(n,)`` (mono) or ``(n, channels)``, float in [-1, 1] or int16/int32 (full
            scale), with ``audio_fps``. Channels 1 to 8 (mono to 7.1, in WAV order).
        audio_fps: the samples' rate in Hz: required for an array and for ``write_audio``; for a
            file it is the file's (given, it must match).
        audio_channels: with ``audio_fps`` and no ``audio``: declares a sound track fed with
            :meth:`write_audio`, of this many channels.

    The video sets the file's length: a shorter sound track is padded with silence to the
    video's end, a longer one is cut there. The sound starts with the first frame. Samples
    outside [-1, 1] are clipped (a warning, once; the count is ``VideoResult.audio_clipped``);
    a NaN or infinite sample raises ``ParameterError`` naming its index. A GIF has no sound
    (``ParameterError``).

    A GIF has no crf/bitrate/tune/keyint/metadata/fragment_seconds/durable (they raise
    ``ParameterError``); ``preset`` and
    ``threads`` are ignored for it. Its frame delays are hundredths of a second, rounded so that
    the total duration stays exact (30 fps: 3, 3, 4, 3, 3, 4, ... cs); above 50 fps frames are
    dropped, since players show delays under 2 cs as 10 cs. Identical consecutive frames are
    stored once with a longer delay. Transparent pixels are composited over ``background``, as
    for MP4.

    The first frame fixes the size and channel count. Frames may be HxW (gray), HxWx3 (RGB) or
    HxWx4 (RGBA) arrays of uint8, bool, uint16 (full range) or float in [0, 1]; PIL images; or
    matplotlib Figures. An exception inside the ``with`` block still finishes the file with the
    frames written so far.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        fps: FpsLike = 30,
        audio: str | os.PathLike[str] | Any | None = None,
        audio_fps: int | None = None,
        audio_channels: int | None = None,
        **options: Unpack[EncodeOptions],
    ) -> None:
        audio_codec, audio_bitrate = options.get("audio_codec"), options.get("audio_bitrate")
        self._path = None if path is None else os.fsdecode(path)  # str, bytes or PathLike
        opts = writer_options(self._path, fps, **options)
        self._format = opts.format
        self._fps = opts.fps
        self._first_shape: tuple[int, ...] | None = None
        self._result: VideoResult | None = None
        self._close_error: FramepipeError | None = None
        self._floats_checked = False  # True once a float frame above 1 was warned about
        self._audio_source: _audio.AudioSource | None = None
        self._audio_format: tuple[int, int] | None = None  # (rate, channels) of the sound track
        self._audio_streamed = False  # True: samples come from write_audio
        self._audio_fed = 0  # sample frames given to the engine from the source
        self._audio_source, self._audio_format = _audio.open_track(
            audio, audio_fps, audio_channels, audio_codec, audio_bitrate
        )
        self._audio_streamed = self._audio_format is not None and self._audio_source is None
        try:
            self._native = _native.Writer(self._path, opts.fps_num, opts.fps_den, opts.values, audio=self._audio_format)
        except BaseException:
            if self._audio_source is not None:
                self._audio_source.close()
            raise

    @property
    def path(self) -> str | None:
        return self._path

    @property
    def fps(self) -> Fraction:
        return self._fps

    @property
    def format(self) -> str:
        """ "mp4" or "gif"."""
        return self._format

    @property
    def frame_shape(self) -> tuple[int, ...] | None:
        """The first frame's array shape (HxW or HxWxC), which every frame must have; None before
        the first frame."""
        return self._first_shape

    @property
    def frames_written(self) -> int:
        """Frames accepted so far (also the index of the next frame)."""
        return self._result.frames if self._result else self._native.frames_written

    @property
    def frames_on_disk(self) -> int:
        """Frames a reader of the file would find if this process died now: for an MP4 the
        frames of its whole fragments (x264 holds back some frames while it looks ahead, and
        the last fragment is written when it is complete), for a GIF every frame written."""
        return self._result.frames if self._result else self._native.frames_on_disk

    @property
    def frames_encoded(self) -> int:
        """Frames the encoder has given out so far (x264 holds some back while it looks ahead;
        all come out at ``close()``)."""
        return self._result.frames if self._result else self._native.frames_encoded

    @property
    def closed(self) -> bool:
        return self._native.closed

    def write(self, frame: Any) -> None:
        """Encode one frame (see the class docstring for what a frame may be)."""
        if self._native.closed:
            raise WriterClosedError(
                f"cannot write frame {self.frames_written}: the writer for {self._path or 'memory'} is closed"
            )
        index = self._native.frames_written + self._native.first_index
        try:
            arr, kind = as_array(frame)
        except (ParameterError, UnsupportedError) as e:
            raise numbered(index, e) from None
        shape = arr.shape
        if self._first_shape is None:
            if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
                raise about(
                    ParameterError(
                        f"frame {index} has shape {shape}; expected HxW (gray), HxWx3 (RGB) or HxWx4 (RGBA)"
                    ),
                    frame=index,
                    argument="shape",
                )
        elif shape != self._first_shape:
            raise about(
                ParameterError(
                    f"frame {index} has shape {shape}, but frame 0 had shape {self._first_shape}; "
                    f"every frame must have the first frame's size and channel count"
                ),
                frame=index,
                argument="shape",
            )
        if not self._floats_checked and above_one(arr):
            self._floats_checked = True  # once per writer
            notes = FLOAT_NOTES.get()
            if notes is None:
                warn(above_one_message(index))
            else:
                notes.append(index)
        self._native.write(arr, kind=kind)
        if self._first_shape is None:
            self._first_shape = shape
            for msg in self._native.take_warnings():
                warn(msg)
        if self._audio_source is not None:
            # The sound, up to a second past the end of the next frame.
            self._feed_audio(_audio.lead_until(self._native.frames_written, self._fps))

    @property
    def audio_fps(self) -> int | None:
        """The sound track's sample rate (of the samples given; the codec may resample), or None."""
        return self._audio_format[0] if self._audio_format else None

    @property
    def audio_channels(self) -> int | None:
        return self._audio_format[1] if self._audio_format else None

    def write_audio(self, samples: Any) -> None:
        """Add samples to the sound track declared with ``audio_fps=`` and ``audio_channels=``:
        an array of shape ``(n, channels)`` (or ``(n,)`` for mono), float in [-1, 1] or
        int16/int32 (full scale). Calls may interleave with :meth:`write` in any order: the
        sound runs from the first frame at its own rate (the file is the same whatever the
        interleaving). The whole call is checked before any of it is kept: a NaN or infinite
        sample raises ``ParameterError`` naming its index (counted from the first sample
        written) and the writer stays usable."""
        if self._native.closed:
            raise WriterClosedError(f"cannot write audio: the writer for {self._path or 'memory'} is closed")
        if self._audio_format is None or not self._audio_streamed:
            why = (
                "its sound comes from audio= (a file or an array), read as the video advances"
                if self._audio_format
                else "it has no sound track; declare one with audio_fps= and audio_channels="
            )
            raise about(ParameterError(f"write_audio: {why}"), argument="audio")
        arr = _audio.as_samples(samples, self._audio_format[1], "write_audio")
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            # All of it in one call: the engine names the sample and keeps none of it.
            self._native.write_audio(_audio.to_float32(arr))
            self._audio_warnings()
            return
        for start in range(0, arr.shape[0], _audio.CHUNK):
            self._native.write_audio(_audio.to_float32(arr[start : start + _audio.CHUNK]))
        self._audio_warnings()

    def _audio_warnings(self) -> None:
        for msg in self._native.take_warnings():
            warn(msg)

    def _feed_audio(self, until: Fraction) -> None:
        """Give the engine the source's samples up to `until` seconds (or to its end). A source
        that fails is closed (the track is then padded with silence) and its error raised."""
        src = self._audio_source
        assert src is not None
        want = _audio.samples_until(until, src.rate)
        try:
            self._audio_fed, ended = _audio.feed(src, self._native.write_audio, self._audio_fed, want)
            if ended:
                self._audio_source = None
                src.close()
        except BaseException:
            self._audio_source = None
            src.close()
            raise
        self._audio_warnings()

    def close(self) -> VideoResult:
        """Finish the file and return what it holds. Closing again returns the same result (or
        raises the same error, if finishing failed)."""
        return self._close()[0]

    def _close(self, hold_lock: bool = False) -> tuple[VideoResult, int | None]:
        """close(); with `hold_lock`, also a descriptor of the finished file that holds its
        flock lock (None for memory), which the caller closes: render keeps its temporary
        locked with it until the rename into place (see ``_output.atomic_output``)."""
        if self._result is not None:
            return self._result, None
        if self._close_error is not None:
            raise self._close_error
        feed_error: BaseException | None = None
        if self._audio_source is not None and not self._native.closed:
            # The rest of the sound, up to the video's end (the engine pads a shorter one).
            try:
                self._feed_audio(Fraction(self._native.frames_written) / self._fps)
            except Exception as e:  # noqa: BLE001 - raised after the file is finished
                feed_error = e
            finally:
                if self._audio_source is not None:
                    self._audio_source.close()
                    self._audio_source = None
        try:
            summary = self._native.close(hold_lock=hold_lock)
        except FramepipeError as e:
            if feed_error is not None:
                e.add_note(f"framepipe: reading the rest of the sound failed too: {feed_error}")
            self._close_error = e
            raise
        if summary is None:  # closed by another path already
            raise WriterClosedError("the writer was already closed")
        self._result = VideoResult(
            path=self._path,
            frames=summary["frames"],
            bytes=summary["bytes"],
            # What the file holds: an odd-sized MP4 is padded to even (coded) dimensions.
            width=summary.get("coded_width", summary["width"]),
            height=summary.get("coded_height", summary["height"]),
            fps=self._fps,
            data=summary.get("data"),
            format=self._format,
            audio_samples=summary.get("audio_samples", 0),
            audio_clipped=summary.get("audio_clipped", 0),
            audio_fps=self.audio_fps,
        )
        if feed_error is not None:
            # The file is finished (its sound padded with silence from where reading failed).
            feed_error.add_note(f"framepipe: {self._path or 'the video'} was finished with the sound read before it")
            raise feed_error
        return self._result, summary.get("lock_fd")

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> Literal[False]:
        if exc is None:
            self.close()
            return False
        # An exception (or Ctrl-C) inside the block: keep what was written, then re-raise it.
        try:
            self.close()
        except Exception as close_error:  # noqa: BLE001 - the original exception matters more
            exc.add_note(f"framepipe: finishing {self._path or 'the video'} also failed: {close_error}")
        return False

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self.frames_written} frames"
        return f"<framepipe.VideoWriter {self._path or '<memory>'} {self._format} {self._fps} fps, {state}>"


if VideoWriter.__doc__:  # None under python -OO
    VideoWriter.__doc__ += options_doc()


@checked(also=[VideoWriter])
def write_video(
    path: str | os.PathLike[str] | None,
    frames: Iterable[Any],
    fps: FpsLike = 30,
    audio: str | os.PathLike[str] | Any | None = None,
    audio_fps: int | None = None,
    **options: Unpack[EncodeOptions],
) -> VideoResult:
    """Encode every frame of an iterable (or the first axis of an array) to an MP4 or a GIF.

    ``audio`` (a sound file, or an array with ``audio_fps``) is the MP4's sound track, as for
    :class:`VideoWriter`. ``options`` are those of :class:`VideoWriter` (crf, bitrate, preset,
    tune, keyint, threads, background, pix_fmt, metadata; format, colors, dither, loop;
    audio_codec, audio_bitrate). Returns a :class:`VideoResult`.
    """
    with VideoWriter(path, fps, audio, audio_fps, **options) as w:
        for frame in frames:
            w.write(frame)
    return w.close()
