"""Turning what a caller passes as a frame (numpy arrays of any layout and dtype, PIL images,
matplotlib Figures) into an array the engine converts."""

from __future__ import annotations

import contextvars
import sys
from typing import Any

import numpy as np

from . import _native
from .errors import ParameterError, UnsupportedError, about

_NATIVE_ORDER = "<" if sys.byteorder == "little" else ">"

# Where a VideoWriter reports a float frame with values above 1 instead of warning (the index,
# as it numbers its frames): a list set by render's chunks, which report it to the render with
# the frame's index in the whole video; None (the default): the writer warns.
FLOAT_NOTES: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("framepipe_float_notes", default=None)


def above_one(arr: np.ndarray) -> bool:
    """Whether a float frame has a finite value above 1 (0-255 data given as floats, which would
    come out white). A frame with NaN or infinity is not: the engine refuses it with its own
    error, naming the pixel."""
    if arr.dtype.kind != "f":
        return False
    top = arr.max(initial=-np.inf)
    return bool(np.isfinite(top) and top > 1)


def above_one_message(index: int) -> str:
    """The warning for frame `index`, a float frame with values above 1."""
    return (
        f"frame {index} is a float array with values above 1: float frames hold values in [0, 1] "
        f"(1.0 is full intensity) and everything above 1 is clipped to white. For 0-255 data, divide "
        f"by 255 (frame / 255) or pass uint8 (frame.astype(np.uint8)). Warned once per writer"
    )


def figure_array(fig: Any) -> np.ndarray:
    """Draw a matplotlib Figure and view its RGBA pixels without a copy. Drawn incrementally:
    only the artists changed since its last frame are drawn again, with the pixels of a full
    draw (see framepipe.matplotlib.figure_to_array)."""
    from matplotlib.figure import Figure

    if isinstance(fig, Figure):
        from .matplotlib._arrays import draw_figure

        return np.asarray(draw_figure(fig).buffer_rgba())
    canvas = fig.canvas  # e.g. a SubFigure: its figure's canvas, drawn in full
    if not hasattr(canvas, "buffer_rgba"):
        # A figure attached to a non-Agg canvas (e.g. a GUI backend without buffer_rgba).
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())


def pil_array(img: Any) -> np.ndarray:
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


def as_array(frame: Any) -> tuple[np.ndarray, str | None]:
    """Normalise any accepted frame to an array the engine converts, and its `kind`."""
    mod = type(frame).__module__
    if mod.startswith("matplotlib") and hasattr(frame, "canvas"):
        arr = figure_array(frame)
    elif mod.startswith("PIL.") and hasattr(frame, "mode"):
        arr = pil_array(frame)
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
    # The layout too, before a dtype conversion or a copy could expand a view of any shape.
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
        raise about(
            ParameterError(f"has shape {arr.shape}; expected HxW (gray), HxWx3 (RGB) or HxWx4 (RGBA)"),
            argument="shape",
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


def numbered(index: int, e: ParameterError | UnsupportedError) -> ParameterError | UnsupportedError:
    """`e` (from :func:`as_array`) as the same error about frame `index` (its ``frame``); a shape
    error (``argument == "shape"``) reads "frame 3 has shape ..."."""
    sep = " " if e.argument == "shape" else ": "
    return about(type(e)(f"frame {index}{sep}{e}"), frame=index, argument=e.argument)
