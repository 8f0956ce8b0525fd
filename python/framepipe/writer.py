"""Writing videos from Python: :class:`VideoWriter` and :func:`write_video`."""

from __future__ import annotations

import math
import numbers
import os
import sys
import warnings
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterable, Mapping

import numpy as np

from . import _native
from .errors import FramepipeError, FramepipeWarning, ParameterError, UnsupportedError, WriterClosedError

FpsLike = int | float | Fraction | str
_NATIVE_ORDER = "<" if sys.byteorder == "little" else ">"
_FORMATS = ("mp4", "gif")
_DITHERS = ("none", "ordered", "floyd-steinberg")
# The engine's pixel formats (crates/framepipe/src/frame.rs) and the aliases it accepts.
_PIX_FMT_NAMES = ("rgb24", "bgr24", "rgba", "bgra", "argb", "gray8")
_PIX_FMTS = {*_PIX_FMT_NAMES, "rgb", "bgr", "gray", "grey", "grey8"}
_MP4_ONLY = ("crf", "bitrate", "tune", "keyint", "metadata")
_GIF_ONLY = ("colors", "dither", "loop")


def _output_format(path: str | None, format: str | None) -> str:
    """"mp4" or "gif": the explicit `format`, else the path's extension (.gif), else "mp4"."""
    if format is not None:
        if not isinstance(format, str) or format.strip().lower().lstrip(".") not in _FORMATS:
            raise ParameterError(f"format must be one of {', '.join(_FORMATS)}, got {format!r}")
        return format.strip().lower().lstrip(".")
    # The engine decides, by the extension; it refuses names of other formats (.webm, .png, ...).
    if path is None:
        return "mp4"
    try:
        return _native.output_format(path)
    except UnsupportedError as e:
        raise UnsupportedError(f"{e}, or pass format=\"mp4\" or format=\"gif\"") from None


def _fps_pair(fps: FpsLike) -> tuple[int, int]:
    """(num, den) for an int, float, Fraction or "30000/1001"; exact for NTSC rates."""
    if isinstance(fps, bool):
        raise ParameterError(f"fps must be a number, got {fps!r}")
    if isinstance(fps, int):
        if fps <= 0:
            raise ParameterError(f"fps must be positive, got {fps}")
        return fps, 1
    if isinstance(fps, str):
        text = fps.strip()
        try:
            # "30000/1001" is exact; a decimal such as "29.97" means what the float 29.97 does
            # (the NTSC rate 30000/1001), as for the CLI's --fps.
            fps = Fraction(text) if "/" in text else float(text)
        except (ValueError, ZeroDivisionError):
            raise ParameterError(f"cannot parse fps {text!r}") from None
    if isinstance(fps, Fraction):
        if fps <= 0:
            raise ParameterError(f"fps must be positive, got {fps}")
        return fps.numerator, fps.denominator
    if isinstance(fps, float) or hasattr(fps, "__float__"):
        return _native.rational_fps(float(fps))
    raise ParameterError(f"fps must be an int, float or Fraction, got {type(fps).__name__}")


@dataclass(frozen=True)
class VideoResult:
    """What a finished video holds. ``width`` and ``height`` are the file's picture size: for an
    MP4 of odd-sized frames, the even size they were padded to."""

    path: str | None
    frames: int
    bytes: int
    width: int
    height: int
    fps: Fraction
    data: bytes | None = None
    format: str = "mp4"

    @property
    def duration(self) -> float:
        """Duration in seconds: frames / fps."""
        return float(self.frames / self.fps)

    def _repr_html_(self) -> str:
        """Jupyter shows the video itself (see :class:`framepipe.Video`)."""
        from .display import Video, cannot_show_html

        try:
            return Video(self)._repr_html_()
        except OSError as e:  # the file was moved or deleted since
            return cannot_show_html(self.path, e)


def _check_number(name: str, value: Any, lo: float, hi: float, *, integer: bool = True, allowed: str = "") -> None:
    """Raise ParameterError unless value is None or a number (an int if `integer`) in [lo, hi].
    `allowed` describes the valid values when the engine checks the range itself."""
    if value is None:
        return
    ok_type = isinstance(value, numbers.Integral) if integer else isinstance(value, numbers.Real)
    if ok_type and not integer and not math.isfinite(value):
        allowed = allowed or f"a number from {lo} to {hi}"
        raise ParameterError(f"{name} must be {allowed}, got {value!r}")
    if not ok_type or isinstance(value, bool):
        kind = "an integer" if integer else "a number"
        raise ParameterError(f"{name} must be {kind}, got {value!r}")
    if not lo <= value <= hi:
        raise ParameterError(f"{name} must be between {lo} and {hi}, got {value!r}")


def _figure_array(fig: Any) -> np.ndarray:
    """Draw a matplotlib Figure and view its RGBA pixels without a copy."""
    canvas = fig.canvas
    if not hasattr(canvas, "buffer_rgba"):
        # A figure attached to a non-Agg canvas (e.g. a GUI backend without buffer_rgba).
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())


def _pil_array(img: Any) -> np.ndarray:
    mode = img.mode
    if mode in ("RGB", "RGBA", "L"):
        return np.asarray(img)
    if mode == "1":
        return np.asarray(img.convert("L"))
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(img).astype(np.uint16, copy=False)
    if mode in ("LA", "PA", "P", "RGBa", "La") or "A" in img.getbands():
        return np.asarray(img.convert("RGBA"))
    return np.asarray(img.convert("RGB"))


def _as_array(frame: Any) -> tuple[np.ndarray, str | None]:
    """Normalise any accepted frame to an array the engine converts, and its `kind`."""
    mod = type(frame).__module__
    if mod.startswith("matplotlib") and hasattr(frame, "canvas"):
        arr = _figure_array(frame)
    elif mod.startswith("PIL.") and hasattr(frame, "mode"):
        arr = _pil_array(frame)
    else:
        if frame is None:
            raise ParameterError("got None; expected a numpy array, a PIL image or a matplotlib Figure")
        arr = np.asarray(frame)
        if arr.dtype == object:
            raise UnsupportedError(
                f"got a {type(frame).__name__} that is not an array of numbers (numpy made dtype object of "
                f"it); expected a numpy array, a PIL image or a matplotlib Figure"
            )
    # Sizes are checked before anything below copies or converts (a broadcast view can claim
    # any size); the engine checks them again.
    if arr.ndim in (2, 3) and max(arr.shape[:2]) > _native.MAX_DIMENSION:
        h, w = arr.shape[:2]
        raise ParameterError(
            f"a frame is at most {_native.MAX_DIMENSION}x{_native.MAX_DIMENSION} pixels (width x height), "
            f"got {w}x{h} (shape {arr.shape})"
        )
    kind = None
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    dt = arr.dtype
    if dt.byteorder not in ("=", "|") and dt.byteorder != _NATIVE_ORDER:
        arr = arr.astype(dt.newbyteorder("="))  # big-endian (or foreign) data: swap once
        dt = arr.dtype
    if dt == np.bool_:
        arr, kind = arr.view(np.uint8), "bool"
    elif dt == np.float16 or (dt.kind == "f" and dt.itemsize > 8):
        arr = arr.astype(np.float32 if dt == np.float16 else np.float64)
    elif dt not in (np.uint8, np.uint16, np.float32, np.float64):
        raise UnsupportedError(
            f"frames must be uint8, uint16, bool or float (values in [0, 1]); got dtype {dt}. "
            f"Convert first, e.g. frame.astype(np.uint8) for 0-255 integers"
        )
    if any(s < 0 for s in arr.strides):
        arr = np.ascontiguousarray(arr)
    elif not arr.flags.aligned:
        arr = np.require(arr, requirements="A")  # e.g. np.frombuffer(buf, offset=1)
    return arr, kind


class VideoWriter:
    """Encode frames to an H.264 MP4 in-process (x264, BT.709, faststart), or an animated GIF.

    Example::

        with framepipe.VideoWriter("out.mp4", fps=30, crf=23, preset="medium") as w:
            for frame in frames:      # numpy arrays, PIL images or matplotlib Figures
                w.write(frame)

    Args:
        path: output file; ``None`` encodes into memory (``close()`` returns the bytes).
        fps: frame rate: int, float (29.97 is taken as exactly 30000/1001), Fraction or "num/den".
        crf: constant quality, 1-51 (default 23; lower is better and larger; 0, lossless, needs a
            profile browsers do not play and is refused).
        bitrate: average bitrate in kbit/s, instead of crf.
        preset: x264 preset, "ultrafast" ... "placebo" (default "medium").
        tune: None, "animation", "stillimage", "film" or "grain".
        keyint: maximum frames between keyframes (default 250).
        threads: encoder threads (default: all cores).
        background: RGB colour that transparent pixels are composited over (default black).
        pix_fmt: byte order of 3/4-channel uint8 frames when not RGB/RGBA: "bgr24", "bgra", "argb".
        format: "mp4" or "gif"; default: from the path's extension (".gif" is GIF, anything else
            MP4), MP4 in memory.
        colors: GIF palette size, 2-256 (default 256; one entry is kept for transparency).
        dither: GIF dithering: "none", "ordered" or "floyd-steinberg" (default; colours the
            palette holds almost exactly are left undithered, so plots stay clean).
        loop: how many times a GIF plays: 0 = forever (default), 1 = once, n = n times.
        metadata: MP4 tags, e.g. ``{"title": ..., "artist": ..., "comment": ...}``; the keys
            ffmpeg knows (title, artist, album_artist, album, composer, date, encoder, comment,
            genre, copyright, grouping, lyrics, description, synopsis, show) become the iTunes
            tags players show, any other key a freeform tag. Keys use ``A-Za-z0-9_.-``; values
            are converted with ``str()``. ``encoder`` defaults to "framepipe <version>".

    A GIF has no crf/bitrate/tune/keyint/metadata (they raise ``ParameterError``); ``preset`` and
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
        *,
        crf: float | None = None,
        bitrate: int | None = None,
        preset: str = "medium",
        tune: str | None = None,
        keyint: int | None = None,
        threads: int | None = None,
        background: tuple[int, int, int] = (0, 0, 0),
        pix_fmt: str | None = None,
        queue_frames: int = 4,
        format: str | None = None,
        colors: int | None = None,
        dither: str | None = None,
        loop: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self._path = None if path is None else os.fsdecode(path)  # str, bytes or PathLike
        if self._path is not None and "\0" in self._path:
            raise ParameterError(f"the output path contains a NUL character: {self._path!r}")
        if pix_fmt is not None and (not isinstance(pix_fmt, str) or pix_fmt.strip().lower() not in _PIX_FMTS):
            raise ParameterError(f"unknown pix_fmt {pix_fmt!r}; expected one of {', '.join(sorted(_PIX_FMT_NAMES))}")
        self._format = _output_format(self._path, format)
        given = {"crf": crf, "bitrate": bitrate, "tune": tune, "keyint": keyint,
                 "colors": colors, "dither": dither, "loop": loop, "metadata": metadata or None}
        wrong = [k for k in (_MP4_ONLY if self._format == "gif" else _GIF_ONLY) if given[k] is not None]
        if wrong:
            verb = "applies" if len(wrong) == 1 else "apply"
            if self._format == "gif":
                raise ParameterError(
                    f"{', '.join(wrong)} {verb} to MP4 (H.264) output; a GIF's size and quality are set by "
                    f"colors= and dither="
                )
            raise ParameterError(f"{', '.join(wrong)} {verb} to GIF output only (this writer writes MP4)")
        _check_number("colors", colors, 2, 256)
        _check_number("loop", loop, 0, 65536)
        if dither is not None:
            d = dither.strip().lower().replace("_", "-").replace(" ", "-") if isinstance(dither, str) else None
            if d not in _DITHERS:
                raise ParameterError(f"dither must be one of {', '.join(_DITHERS)}, got {dither!r}")
            dither = d
        self._fps = Fraction(*_fps_pair(fps))
        if self._fps.numerator >= 2**32 or self._fps.denominator >= 2**32:
            raise ParameterError(f"fps {self._fps} has a numerator or denominator too large (max 2**32 - 1)")
        # The engine checks the range (and explains crf 0); NaN and infinity are refused here.
        _check_number("crf", crf, -math.inf, math.inf, integer=False, allowed="a number from 1 to 51")
        _check_number("bitrate", bitrate, 1, 2**31 - 1)
        _check_number("keyint", keyint, 1, 2**31 - 1)
        _check_number("threads", threads, 1, 1024)
        _check_number("queue_frames", queue_frames, 1, 1 << 16)
        for name, value in (("preset", preset), ("tune", tune), ("pix_fmt", pix_fmt)):
            if value is not None and not isinstance(value, str):
                raise ParameterError(f"{name} must be a string, got {value!r}")
        try:
            background = tuple(int(c) for c in background)
        except (TypeError, ValueError):
            raise ParameterError(f"background must be an (r, g, b) tuple of ints, got {background!r}") from None
        if len(background) != 3 or not all(0 <= c <= 255 for c in background):
            raise ParameterError(f"background must be 3 values from 0 to 255, got {background!r}")
        self._pix_fmt = pix_fmt
        self._first_shape: tuple[int, ...] | None = None
        self._result: VideoResult | None = None
        self._close_error: FramepipeError | None = None
        self._native = _native.Writer(
            self._path,
            fps_num=self._fps.numerator,
            fps_den=self._fps.denominator,
            crf=crf,
            bitrate=bitrate,
            preset=preset,
            tune=tune,
            keyint=keyint,
            threads=threads,
            background=background,
            queue_frames=queue_frames,
            format=self._format,
            colors=256 if colors is None else colors,
            dither="floyd-steinberg" if dither is None else dither,
            loop_count=0 if loop is None else loop,
            metadata=_metadata_pairs(metadata),
        )

    @property
    def path(self) -> str | None:
        return self._path

    @property
    def fps(self) -> Fraction:
        return self._fps

    @property
    def format(self) -> str:
        """"mp4" or "gif"."""
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
    def closed(self) -> bool:
        return self._native.closed

    def write(self, frame: Any) -> None:
        """Encode one frame (see the class docstring for what a frame may be)."""
        if self._native.closed:
            raise WriterClosedError(
                f"cannot write frame {self.frames_written}: the writer for {self._path or 'memory'} is closed"
            )
        index = self._native.frames_written
        try:
            arr, kind = _as_array(frame)
        except (ParameterError, UnsupportedError) as e:
            raise type(e)(f"frame {index}: {e}") from None
        shape = arr.shape
        if self._first_shape is None:
            if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
                raise ParameterError(
                    f"frame {index} has shape {shape}; expected HxW (gray), HxWx3 (RGB) or HxWx4 (RGBA)"
                )
        elif shape != self._first_shape:
            raise ParameterError(
                f"frame {index} has shape {shape}, but frame 0 had shape {self._first_shape}; "
                f"every frame must have the first frame's size and channel count"
            )
        self._native.write(arr, pix_fmt=self._pix_fmt, kind=kind)
        if self._first_shape is None:
            self._first_shape = shape
            for msg in self._native.take_warnings():
                warnings.warn(msg, FramepipeWarning, stacklevel=2)

    def close(self) -> VideoResult:
        """Finish the file and return what it holds. Closing again returns the same result (or
        raises the same error, if finishing failed)."""
        if self._result is not None:
            return self._result
        if self._close_error is not None:
            raise self._close_error
        try:
            summary = self._native.close()
        except FramepipeError as e:
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
        )
        return self._result

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
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


def _metadata_pairs(metadata: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """A metadata mapping as (key, str(value)) pairs for the engine, which checks the keys."""
    if metadata is None:
        return []
    if not isinstance(metadata, Mapping):
        raise ParameterError(f"metadata must be a mapping of str to values, got {type(metadata).__name__}")
    pairs = []
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise ParameterError(f"metadata keys must be strings, got {key!r}")
        pairs.append((key, value if isinstance(value, str) else str(value)))
    return pairs


def write_video(path: str | os.PathLike[str] | None, frames: Iterable[Any], fps: FpsLike = 30, **options: Any) -> VideoResult:
    """Encode every frame of an iterable (or the first axis of an array) to an MP4 or a GIF.

    ``options`` are those of :class:`VideoWriter` (crf, bitrate, preset, tune, keyint, threads,
    background, pix_fmt, metadata; format, colors, dither, loop). Returns a :class:`VideoResult`.
    """
    with VideoWriter(path, fps, **options) as w:
        for frame in frames:
            w.write(frame)
    return w.close()
