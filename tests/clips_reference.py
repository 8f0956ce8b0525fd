"""Independent numpy references for the clip kernels (integer alpha-over, tables, gray,
mask colour), written from their documented formulas; the tests compare framepipe with them."""

from __future__ import annotations

import numpy as np


def composite(dst, src, x, y, alpha=None, opacity=1.0):
    """src over dst at (x, y), in place: a = alpha * op / 255 (rounded), out = (src*a +
    dst*(255-a) + 127) // 255."""
    H, W = dst.shape[:2]  # noqa: N806
    h, w = src.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x0 >= x1 or y0 >= y1:
        return
    s = src[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.int64)
    a = (
        np.full((y1 - y0, x1 - x0), 255, np.int64)
        if alpha is None
        else alpha[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.int64)
    )
    op = int(round(opacity * 255))
    if op != 255:
        a = (a * op + 127) // 255
    d = dst[y0:y1, x0:x1].astype(np.int64)
    if d.ndim == 3:
        a = a[:, :, None]
        dst[y0:y1, x0:x1] = (s * a + d * (255 - a) + 127) // 255
    else:
        dst[y0:y1, x0:x1] = (a * 255 + d * (255 - a) + 127) // 255


def composite_alpha(dst, src_alpha, x, y, opacity=1.0):
    composite(dst, src_alpha, x, y, alpha=src_alpha, opacity=opacity)


def lut(src, dst, table):
    t = np.frombuffer(bytes(table), np.uint8)
    if t.size == 256:
        dst[...] = t[src]
    else:
        t = t.reshape(-1, 256)
        for c in range(src.shape[2]):
            dst[:, :, c] = t[c][src[:, :, c]]


def grayscale(src, dst, weights=(0.299, 0.587, 0.114)):
    g = np.clip(np.rint(src.astype(np.float64) @ np.asarray(weights, np.float64)), 0, 255).astype(np.uint8)
    dst[...] = g if dst.ndim == 2 else g[:, :, None]


def mask_color(src, dst, color=(0, 0, 0), threshold=0.0, stiffness=1.0):
    d = np.sqrt(((src.astype(np.float64) - np.asarray(color, np.float64)) ** 2).sum(axis=2))
    if threshold == 0:
        m = (d != 0).astype(np.float64)
    else:
        m = d**stiffness / (threshold**stiffness + d**stiffness)
    dst[...] = np.rint(255 * m).astype(np.uint8)


def resize(src, dst, filter="lanczos3"):
    from PIL import Image

    modes = {
        "lanczos3": Image.Resampling.LANCZOS,
        "bilinear": Image.Resampling.BILINEAR,
        "bicubic": Image.Resampling.BICUBIC,
        "nearest": Image.Resampling.NEAREST,
    }
    img = Image.fromarray(src.squeeze() if src.ndim == 3 and src.shape[2] == 1 else src)
    out = np.asarray(img.resize((dst.shape[1], dst.shape[0]), modes[filter]))
    dst[...] = out.reshape(dst.shape)


def rotated_size(w, h, angle):
    from PIL import Image

    return Image.new("L", (w, h)).rotate(angle, expand=True).size


def rotate(src, dst, angle, filter="bicubic", bg=None):
    from PIL import Image

    modes = {
        "bilinear": Image.Resampling.BILINEAR,
        "bicubic": Image.Resampling.BICUBIC,
        "nearest": Image.Resampling.NEAREST,
    }
    s = src[:, :, 0] if src.shape[2] == 1 else src
    fill = None if bg is None else (bg[0] if len(bg) == 1 else tuple(bg))
    out = np.asarray(Image.fromarray(s).rotate(angle, resample=modes[filter], expand=True, fillcolor=fill))
    dst[...] = out.reshape(dst.shape)
