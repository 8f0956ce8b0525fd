"""Writing videos from Python: :class:`VideoWriter` and :func:`write_video`."""

from __future__ import annotations

import numbers
import os
import sys
import warnings
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterable

import numpy as np

from . import _native
from .errors import FramepipeWarning, ParameterError, UnsupportedError, WriterClosedError

FpsLike = int | float | Fraction | str
_NATIVE_ORDER = "<" if sys.byteorder == "little" else ">"


def _fps_pair(fps: FpsLike) -> tuple[int, int]:
    """(num, den) for an int, float, Fraction or "30000/1001"; exact for NTSC rates."""
    if isinstance(fps, bool):
        raise ParameterError(f"fps must be a number, got {fps!r}")
    if isinstance(fps, int):
        if fps <= 0:
            raise ParameterError(f"fps must be positive, got {fps}")
        return fps, 1
    if isinstance(fps, str):
        try:
            fps = Fraction(fps.strip())
        except (ValueError, ZeroDivisionError):
            raise ParameterError(f"cannot parse fps {fps!r}") from None
    if isinstance(fps, Fraction):
        if fps <= 0:
            raise ParameterError(f"fps must be positive, got {fps}")
        return fps.numerator, fps.denominator
    if isinstance(fps, float) or hasattr(fps, "__float__"):
        return _native.rational_fps(float(fps))
    raise ParameterError(f"fps must be an int, float or Fraction, got {type(fps).__name__}")


@dataclass(frozen=True)
class VideoResult:
    """What a finished video holds."""

    path: str | None
    frames: int
    bytes: int
    width: int
    height: int
    fps: Fraction
    data: bytes | None = None

    @property
    def duration(self) -> float:
        """Duration in seconds: frames / fps."""
        return float(self.frames / self.fps)


def _check_number(name: str, value: Any, lo: float, hi: float, *, integer: bool = True) -> None:
    """Raise ParameterError unless value is None or a number (an int if `integer`) in [lo, hi]."""
    if value is None:
        return
    ok_type = isinstance(value, numbers.Integral) if integer else isinstance(value, numbers.Real)
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
        arr = np.asarray(frame)
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
    """Encode frames to an H.264 MP4 in-process (x264, BT.709, faststart).

    Example::

        with framepipe.VideoWriter("out.mp4", fps=30, crf=23, preset="medium") as w:
            for frame in frames:      # numpy arrays, PIL images or matplotlib Figures
                w.write(frame)

    Args:
        path: output file; ``None`` encodes into memory (``close()`` returns the bytes).
        fps: frame rate: int, float (29.97 is taken as exactly 30000/1001), Fraction or "num/den".
        crf: constant quality, 0-51 (default 23; lower is better and larger).
        bitrate: average bitrate in kbit/s, instead of crf.
        preset: x264 preset, "ultrafast" ... "placebo" (default "medium").
        tune: None, "animation", "stillimage", "film" or "grain".
        keyint: maximum frames between keyframes (default 250).
        threads: encoder threads (default: all cores).
        background: RGB colour that transparent pixels are composited over (default black).
        pix_fmt: byte order of 3/4-channel uint8 frames when not RGB/RGBA: "bgr24", "bgra", "argb".

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
    ) -> None:
        self._path = None if path is None else os.fspath(path)
        self._fps = Fraction(*_fps_pair(fps))
        if self._fps.numerator >= 2**32 or self._fps.denominator >= 2**32:
            raise ParameterError(f"fps {self._fps} has a numerator or denominator too large (max 2**32 - 1)")
        _check_number("crf", crf, 0, 51, integer=False)
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
        )

    @property
    def path(self) -> str | None:
        return self._path

    @property
    def fps(self) -> Fraction:
        return self._fps

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
        arr, kind = _as_array(frame)
        shape = arr.shape
        index = self._native.frames_written
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
        """Finish the file and return what it holds. Closing again returns the same result."""
        if self._result is not None:
            return self._result
        summary = self._native.close()
        if summary is None:  # closed by another path already
            raise WriterClosedError("the writer was already closed")
        self._result = VideoResult(
            path=self._path,
            frames=summary["frames"],
            bytes=summary["bytes"],
            width=summary["width"],
            height=summary["height"],
            fps=self._fps,
            data=summary.get("data"),
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
        return f"<framepipe.VideoWriter {self._path or '<memory>'} {self._fps} fps, {state}>"


def write_video(path: str | os.PathLike[str] | None, frames: Iterable[Any], fps: FpsLike = 30, **options: Any) -> VideoResult:
    """Encode every frame of an iterable (or the first axis of an array) to an MP4.

    ``options`` are those of :class:`VideoWriter` (crf, bitrate, preset, tune, keyint, threads,
    background, pix_fmt). Returns a :class:`VideoResult`.
    """
    with VideoWriter(path, fps, **options) as w:
        for frame in frames:
            w.write(frame)
    return w.close()
