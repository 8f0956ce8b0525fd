"""The clips' pixel work, done by the engine's kernels (crates/framepipe/src/kernels/, GIL
released): these wrappers allocate the outputs and keep arrays C-contiguous."""

from __future__ import annotations

import numpy as np

from .. import _native


def contiguous(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.uint8)


def resize(src: np.ndarray, width: int, height: int, filter: str = "lanczos3") -> np.ndarray:
    """`src` (h, w[, c]) uint8 resized to width x height."""
    src = contiguous(src)
    if src.shape[1] == width and src.shape[0] == height:
        return src
    dst = np.empty((height, width, *src.shape[2:]), np.uint8)
    _native.resize(src, dst, filter=filter)
    return dst


def composite(dst: np.ndarray, src: np.ndarray, x: int, y: int, alpha: np.ndarray | None, opacity: float) -> None:
    """`src` over `dst` (in place) at (x, y): only the overlap is touched."""
    _native.composite(
        dst, contiguous(src), int(x), int(y), alpha=None if alpha is None else contiguous(alpha), opacity=opacity
    )


def composite_alpha(dst: np.ndarray, src_alpha: np.ndarray, x: int, y: int, opacity: float) -> None:
    _native.composite_alpha(dst, contiguous(src_alpha), int(x), int(y), opacity=opacity)


def lut(src: np.ndarray, table: bytes | np.ndarray) -> np.ndarray:
    src = contiguous(src)
    dst = np.empty_like(src)
    _native.lut(src, dst, bytes(np.asarray(table, np.uint8)) if not isinstance(table, bytes) else table)
    return dst


def grayscale(src: np.ndarray, weights: tuple[float, float, float]) -> np.ndarray:
    src = contiguous(src)
    dst = np.empty_like(src)
    _native.grayscale(src, dst, weights=tuple(float(w) for w in weights))
    return dst


def mask_color(src: np.ndarray, color: tuple[int, int, int], threshold: float, stiffness: float) -> np.ndarray:
    src = contiguous(src)
    dst = np.empty(src.shape[:2], np.uint8)
    _native.mask_color(src, dst, color=color, threshold=float(threshold), stiffness=float(stiffness))
    return dst


def rotate(src: np.ndarray, angle: float, filter: str, bg: tuple[int, ...] | None) -> np.ndarray:
    """`src` (h, w[, c]) rotated counter-clockwise by `angle` degrees, enlarged to hold it all;
    `bg` fills the corners (one value per channel)."""
    flat = src.ndim == 2
    src = contiguous(src[:, :, None] if flat else src)
    h, w, c = src.shape
    ww, hh = _native.rotated_size(w, h, float(angle))
    dst = np.empty((hh, ww, c), np.uint8)
    _native.rotate(src, dst, float(angle), filter=filter, bg=None if bg is None else tuple(bg[:c]))
    return dst[:, :, 0] if flat else dst
