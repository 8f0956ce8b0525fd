"""What clips hand to each other: uint8 frames. An RGB clip's frame is a C-contiguous
(h, w, 3) uint8 array; a mask clip's is an (h, w) uint8 array (0 transparent .. 255 opaque),
shown to users as floats in [0, 1] as MoviePy does. This module turns whatever a user's
function returns into those, and parses colours."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _frames
from .._alpha import without_alpha
from .._warn import warn
from ..errors import ParameterError, UnsupportedError, about

# CSS/X11 names MoviePy scripts use most (ImageMagick accepted these in 1.x).
_NAMED = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "red": (255, 0, 0),
    "green": (0, 128, 0),
    "lime": (0, 255, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "cyan": (0, 255, 255),
    "aqua": (0, 255, 255),
    "magenta": (255, 0, 255),
    "fuchsia": (255, 0, 255),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
    "darkgray": (169, 169, 169),
    "darkgrey": (169, 169, 169),
    "lightgray": (211, 211, 211),
    "lightgrey": (211, 211, 211),
    "silver": (192, 192, 192),
    "orange": (255, 165, 0),
    "purple": (128, 0, 128),
    "pink": (255, 192, 203),
    "brown": (165, 42, 42),
    "navy": (0, 0, 128),
    "teal": (0, 128, 128),
    "olive": (128, 128, 0),
    "maroon": (128, 0, 0),
    "gold": (255, 215, 0),
}


def rgba(color: Any, what: str = "color") -> tuple[int, int, int, int] | None:
    """A colour as an RGBA tuple of 0..255 ints: names ("white"), "#rgb", "#rrggbb",
    "#rrggbbaa", (r, g, b) or (r, g, b, a) numbers, a gray number; None and "transparent"
    give None."""
    if color is None:
        return None
    if isinstance(color, str):
        text = color.strip().lower()
        if text in ("transparent", "none"):
            return None
        if text in _NAMED:
            return (*_NAMED[text], 255)
        if text.startswith("#") and len(text) in (4, 7, 9):
            h = text[1:]
            if len(h) == 3:
                h = "".join(c * 2 for c in h)
            try:
                parts = [int(h[i : i + 2], 16) for i in range(0, len(h), 2)]
            except ValueError:
                pass
            else:
                return (parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 else 255)
        raise ParameterError(
            f"{what}: unknown colour {color!r}; give a name such as 'white', '#rrggbb' or an (r, g, b) tuple"
        )
    vals = np.asarray(color, dtype=np.float64).ravel()
    if vals.size == 1:
        vals = np.repeat(vals, 3)
    if vals.size not in (3, 4) or not np.all(np.isfinite(vals)) or not np.all((vals >= 0) & (vals <= 255)):
        raise ParameterError(f"{what}: expected (r, g, b) or (r, g, b, a) with values 0-255, got {color!r}")
    ints = [int(round(float(v))) for v in vals]
    return (ints[0], ints[1], ints[2], ints[3] if len(ints) == 4 else 255)


def rgb(color: Any, what: str = "color", default: tuple[int, int, int] = (0, 0, 0)) -> tuple[int, int, int]:
    c = rgba(color, what)
    return default if c is None else c[:3]


def mask_level(value: Any, what: str = "mask value") -> int:
    """A mask colour (a number in [0, 1]) as 0..255."""
    try:
        v = float(np.asarray(value, dtype=np.float64).ravel()[0])
    except (TypeError, ValueError, IndexError):
        raise ParameterError(f"{what}: expected a number in [0, 1], got {value!r}") from None
    if not np.isfinite(v):
        raise ParameterError(f"{what}: expected a number in [0, 1], got {value!r}")
    return int(round(min(1.0, max(0.0, v)) * 255))


def to_rgb(frame: Any, where: str, warn_state: list | None = None) -> np.ndarray:
    """A user's RGB frame (array, PIL image, matplotlib Figure) as (h, w, 3) uint8.

    Floats are 0-255 as in MoviePy (clipped, then truncated like its ``astype("uint8")``);
    bool is 0/255; uint16 is scaled to 0-255; gray is repeated; RGBA drops its alpha."""
    if isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3:
        if 0 in frame.shape:
            raise ParameterError(f"{where}: the frame is empty (shape {frame.shape})")
        return np.ascontiguousarray(frame)
    if isinstance(frame, (list, tuple)):
        frame = np.asarray(frame)
    if isinstance(frame, np.ndarray):
        if frame.dtype.kind not in "biuf":
            raise UnsupportedError(
                f"{where}: the frame has dtype {frame.dtype}; clips take uint8 (0-255), other integers "
                f"(clipped to 0-255), floats (0-255, as MoviePy), bool or uint16 arrays, PIL images and Figures"
            )
        if 0 in frame.shape:
            raise ParameterError(f"{where}: the frame is empty (shape {frame.shape})")
    frame = integers_to_u8(frame)
    try:
        arr, kind = _frames.as_array(frame)
    except (ParameterError, UnsupportedError) as e:
        text = f"{where}: the frame {e}" if e.argument == "shape" else f"{where}: {e}"
        raise about(type(e)(text), frame=e.frame, argument=e.argument) from None
    if kind == "bool":
        arr = arr * np.uint8(255)
    elif arr.dtype == np.uint16:
        arr = ((arr.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ParameterError(f"{where}: the frame has NaN or infinite values")
        if warn_state is not None and not warn_state and arr.size and 0 < float(arr.max()) <= 1.0:
            warn_state.append(True)
            warn(
                f"{where}: a float frame with every value in [0, 1]; clips take float frames as 0-255 "
                f"(as MoviePy does), so it is almost black. Multiply by 255 if the values are fractions.",
            )
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.shape[2] == 4:
        return without_alpha(arr)
    return np.ascontiguousarray(arr)


def integers_to_u8(frame: Any) -> Any:
    """Integer arrays other than uint8/uint16 (numpy arithmetic makes int64) as 0-255 uint8,
    clipped, as MoviePy's ``astype("uint8")`` would take them (without its wrap-around)."""
    if isinstance(frame, np.ndarray) and frame.dtype.kind in "iu" and frame.dtype not in (np.uint8, np.uint16):
        return np.clip(frame, 0, 255).astype(np.uint8)
    return frame


def to_alpha(frame: Any, where: str) -> np.ndarray:
    """A user's mask frame as (h, w) uint8: floats are 0..1 (as in MoviePy), uint8 0..255,
    bool 0/255; an RGB(A) frame gives its first channel."""
    arr = np.asarray(frame)
    if arr.size == 0 and arr.ndim in (2, 3):
        raise ParameterError(f"{where}: the mask frame is empty (shape {arr.shape})")
    if arr.dtype == object or arr.ndim not in (2, 3):
        raise ParameterError(f"{where}: a mask frame must be an HxW array of numbers in [0, 1], got shape {arr.shape}")
    if arr.ndim == 3:
        arr = arr[:, :, 0]
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * np.uint8(255)
    if arr.dtype.kind in "iu":
        return np.clip(arr, 0, 255).astype(np.uint8)
    if arr.dtype.kind != "f":
        raise UnsupportedError(f"{where}: mask frames must be floats in [0, 1], got dtype {arr.dtype}")
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"{where}: the mask frame has NaN or infinite values")
    return np.rint(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)


def alpha_to_float(alpha: np.ndarray) -> np.ndarray:
    return alpha.astype(np.float64) / 255.0
