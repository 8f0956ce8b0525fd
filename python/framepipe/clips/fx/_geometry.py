"""Geometry effects, as MoviePy 2's: resizing (the engine's Lanczos kernel), cropping,
rotation, mirrors, margins, slides and scrolling. The mask follows the frames."""

from __future__ import annotations

import decimal
import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import _native
from ...errors import ParameterError, noted
from .. import _kernels, _pixels
from ._base import Effect, number


def _int_size(size: Any, what: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ParameterError(f"{what}: a size is (width, height), got {size!r}") from None
    if not (1 <= w <= _native.MAX_DIMENSION and 1 <= h <= _native.MAX_DIMENSION):
        raise ParameterError(f"{what}: the new size must be 1 to {_native.MAX_DIMENSION} pixels a side, got {w}x{h}")
    return w, h


_FILTERS = ("nearest", "box", "bilinear", "bicubic", "lanczos3")


@dataclass
class Resize(Effect):
    """Resize to `new_size` ((w, h), a scale factor, or a function of t giving either), or to
    `width` or `height` keeping the aspect ratio (sizes truncated to integers, as MoviePy).

    `filter` None (the default) averages the source pixels each output pixel covers when
    shrinking ("box", as MoviePy main's OpenCV INTER_AREA; exact block means for whole-number
    factors such as 0.5) and uses Lanczos when enlarging ("lanczos3", as MoviePy 2.2.1's PIL);
    or name one: "nearest", "box", "bilinear", "bicubic", "lanczos3"."""

    new_size: Any = None
    height: Any = None
    width: Any = None
    apply_to_mask: bool = True
    filter: str | None = None

    def _size_at(self, clip: Any) -> Any:
        w, h = clip.size
        if self.new_size is not None:
            ns = self.new_size

            def translate(v: Any) -> tuple[int, int]:
                # Any real number, as MoviePy's numbers.Number: Decimal too (not a numbers.Real).
                if isinstance(v, numbers.Real | decimal.Decimal):
                    if not (math.isfinite(float(v)) and float(v) > 0):
                        raise ParameterError(f"Resize: a scale must be a positive number, got {v!r}")
                    return _int_size((v * w, v * h), "Resize")
                return _int_size(v, "Resize")

            return (lambda t: translate(ns(t))) if callable(ns) else translate(ns)
        if self.height is not None:
            hh = self.height
            if callable(hh):

                def by_height(t: float) -> tuple[int, int]:
                    v = int(number(hh(t), f"Resize height at t={t:g} s", allowed="a finite number of pixels > 0"))
                    return _int_size((w * v / h, v), "Resize")

                return by_height
            return _int_size((w * hh / h, hh), "Resize")
        if self.width is not None:
            ww = self.width
            if callable(ww):

                def by_width(t: float) -> tuple[int, int]:
                    v = number(ww(t), f"Resize width at t={t:g} s", allowed="a finite number of pixels > 0")
                    return _int_size((v, h * v / w), "Resize")

                return by_width
            return _int_size((ww, h * ww / w), "Resize")
        raise ParameterError("Resize: give new_size, height or width")

    def apply(self, clip: Any) -> Any:
        if self.filter not in (None, *_FILTERS):
            raise ParameterError(f"Resize: filter must be one of {', '.join(_FILTERS)} or None, got {self.filter!r}")
        size = self._size_at(clip)
        chosen = self.filter

        def resize(frame: np.ndarray, w: int, h: int) -> np.ndarray:
            shrink = w <= frame.shape[1] and h <= frame.shape[0]
            return _kernels.resize(frame, w, h, chosen or ("box" if shrink else "lanczos3"))

        src = clip
        if callable(size):
            new = clip._derived(lambda t: resize(src._get(t), *size(t)), static=False)
        else:
            new = clip._derived(lambda t: resize(src._get(t), *size), size=size)
        if clip._mask is not None:
            if self.apply_to_mask:
                m = clip._mask
                if callable(size):
                    new._mask = m._derived(lambda t: resize(m._get(t), *size(t)), static=False)
                else:
                    new._mask = m._derived(lambda t: resize(m._get(t), *size), size=size)
        return new


@dataclass
class Crop(Effect):
    """The rectangle x1..x2, y1..y2 (or given by width/height and a corner or a centre)."""

    x1: Any = None
    y1: Any = None
    x2: Any = None
    y2: Any = None
    width: Any = None
    height: Any = None
    x_center: Any = None
    y_center: Any = None

    def apply(self, clip: Any) -> Any:
        x1, y1, x2, y2, width, height = self.x1, self.y1, self.x2, self.y2, self.width, self.height
        if width and x1 is not None:
            x2 = x1 + width
        elif width and x2 is not None:
            x1 = x2 - width
        if height and y1 is not None:
            y2 = y1 + height
        elif height and y2 is not None:
            y1 = y2 - height
        if self.x_center:
            x1, x2 = self.x_center - width / 2, self.x_center + width / 2
        if self.y_center:
            y1, y2 = self.y_center - height / 2, self.y_center + height / 2
        w, h = clip.size
        x1, y1, x2, y2 = int(x1 or 0), int(y1 or 0), int(x2 or w), int(y2 or h)
        x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
        if x2 <= x1 or y2 <= y1:
            raise ParameterError(f"Crop: the rectangle x {x1}..{x2}, y {y1}..{y2} is empty inside the {w}x{h} clip")

        def op(f: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(f[y1:y2, x1:x2])

        src = clip
        new = clip._derived(lambda t: op(src._get(t)), size=(x2 - x1, y2 - y1))
        if new._mask is not None:
            m = new._mask
            new._mask = m._derived(lambda t: op(m._get(t)), size=(x2 - x1, y2 - y1))
        return new


def _flip(clip: Any, axis: int, apply_to: Any) -> Any:
    def op(f: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.flip(f, axis))

    src = clip
    new = clip._derived(lambda t: op(src._get(t)), size=clip._size)
    if new._mask is not None and "mask" in ([apply_to] if isinstance(apply_to, str) else list(apply_to or [])):
        m = new._mask
        new._mask = m._derived(lambda t: op(m._get(t)), size=m._size)
    return new


@dataclass
class MirrorX(Effect):
    """Flipped left to right."""

    apply_to: Any = "mask"

    def apply(self, clip: Any) -> Any:
        return _flip(clip, 1, self.apply_to)


@dataclass
class MirrorY(Effect):
    """Flipped top to bottom."""

    apply_to: Any = "mask"

    def apply(self, clip: Any) -> Any:
        return _flip(clip, 0, self.apply_to)


_RESAMPLE = {"nearest": "nearest", "bilinear": "bilinear", "bicubic": "bicubic"}


@dataclass
class Rotate(Effect):
    """Rotated counter-clockwise by `angle` (degrees, or radians with unit="rad"; a function of
    t too). Multiples of 90° are exact; other angles are resampled (bicubic by default) with
    the frame enlarged to hold the whole picture (expand=True), the corners transparent."""

    angle: Any
    unit: str = "deg"
    resample: str = "bicubic"
    expand: bool = True
    center: Any = None
    translate: Any = None
    bg_color: Any = None

    def apply(self, clip: Any) -> Any:
        if self.resample not in _RESAMPLE:
            raise noted(
                ParameterError("'resample' argument must be either 'bilinear', 'nearest' or 'bicubic'"),
                f"Rotate: got resample={self.resample!r}; allowed: {', '.join(map(repr, _RESAMPLE))}",
            )
        if self.unit not in ("deg", "rad"):
            raise ParameterError(f"Rotate: unit must be 'deg' or 'rad', got {self.unit!r}")
        if not self.expand or self.center is not None or self.translate is not None:
            return _pil_rotate(self, clip)
        angle_of = self.angle if callable(self.angle) else (lambda t, a=self.angle: a)
        to_deg = (lambda a: math.degrees(a)) if self.unit == "rad" else (lambda a: a)
        static_angle = None if callable(self.angle) else to_deg(float(self.angle))
        bg = _pixels.rgb(self.bg_color, "Rotate bg_color")
        if (
            not (static_angle is not None and static_angle % 90 == 0)
            and clip._mask is None
            and not clip.is_mask
            and self.bg_color is None
        ):
            clip = clip.with_mask()
        filt = _RESAMPLE[self.resample]
        name = clip._name

        def op(f: np.ndarray, t: float, fill: tuple) -> np.ndarray:
            a = to_deg(float(angle_of(t))) % 360
            if a % 90 == 0:
                return np.ascontiguousarray(np.rot90(f, int(a // 90)))
            _rotated_size(f, a, name, t)
            return _kernels.rotate(f, a, filt, fill if f.ndim == 3 else (0,))

        src = clip
        static = clip._static and static_angle is not None
        new = clip._derived(lambda t: op(src._get(t), t, bg), static=static)
        if new._mask is not None:
            m = new._mask
            new._mask = m._derived(lambda t: op(m._get(t), t, (0,)), static=m._static and static_angle is not None)
        return new


def _rotated_size(f: np.ndarray, angle: float, name: str, t: float) -> None:
    """Refuse, before allocating it, a rotated frame (enlarged to hold the whole picture)
    larger than the largest frame."""
    h, w = f.shape[:2]
    rw, rh = _native.rotated_size(w, h, float(angle))
    if max(rw, rh) > _native.MAX_DIMENSION:
        raise ParameterError(
            f"Rotate: {name} at t={t:g} s is {w}x{h}; rotated by {angle:g} degrees it would be {rw}x{rh}, "
            f"over the {_native.MAX_DIMENSION}-pixel limit of a frame"
        )


def _pil_rotate(effect: Rotate, clip: Any) -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise ParameterError(
            "Rotate with expand=False, center or translate needs Pillow (pip install pillow)"
        ) from None
    modes = {
        "nearest": Image.Resampling.NEAREST,
        "bilinear": Image.Resampling.BILINEAR,
        "bicubic": Image.Resampling.BICUBIC,
    }

    name = clip._name

    def op(f: np.ndarray, t: float, fill: Any) -> np.ndarray:
        a = effect.angle(t) if callable(effect.angle) else effect.angle
        a = math.degrees(a) if effect.unit == "rad" else a
        if effect.expand:
            _rotated_size(f, a, name, t)
        img = Image.fromarray(f).rotate(
            a,
            resample=modes[effect.resample],
            expand=effect.expand,
            center=effect.center,
            translate=effect.translate,
            fillcolor=fill,
        )
        return np.ascontiguousarray(np.asarray(img))

    bg = _pixels.rgb(effect.bg_color, "Rotate bg_color")
    if clip._mask is None and not clip.is_mask and effect.bg_color is None:
        clip = clip.with_mask()
    src = clip
    new = clip._derived(lambda t: op(src._get(t), t, bg), static=False)
    if new._mask is not None:
        m = new._mask
        new._mask = m._derived(lambda t: op(m._get(t), t, 0), static=False)
    return new


@dataclass
class Margin(Effect):
    """A border of `color` (and, for a mask or with `opacity` < 1, of that opacity)."""

    margin_size: Any = None
    left: int = 0
    right: int = 0
    top: int = 0
    bottom: int = 0
    color: Any = (0, 0, 0)
    opacity: float = 1.0

    def apply(self, clip: Any) -> Any:
        sizes = {"left": self.left, "right": self.right, "top": self.top, "bottom": self.bottom}
        if self.margin_size is not None:
            sizes = dict.fromkeys(sizes, self.margin_size)
        allowed = f"a number of pixels from 0 to {_native.MAX_DIMENSION}"
        for side, v in sizes.items():
            what = f"Margin {'margin_size' if self.margin_size is not None else side} (on {clip._name})"
            sizes[side] = int(number(v, what, allowed=allowed))
            if sizes[side] > _native.MAX_DIMENSION:
                raise ParameterError(f"{what} must be {allowed}, got {v!r}")
        left, right, top, bottom = sizes["left"], sizes["right"], sizes["top"], sizes["bottom"]
        if clip._size is not None:
            _margined_size(clip._size[0], clip._size[1], left, right, top, bottom, clip._name, None)
        name = clip._name
        if self.opacity != 1.0 and clip._mask is None and not clip.is_mask:
            clip = clip.with_mask()
        fill = (
            _pixels.mask_level(self.opacity, "Margin opacity")
            if clip.is_mask
            else _pixels.rgb(self.color, "Margin color")
        )

        def op(f: np.ndarray, value: Any, t: float) -> np.ndarray:
            h, w = f.shape[:2]
            _margined_size(w, h, left, right, top, bottom, name, t)
            out = np.empty((h + top + bottom, w + left + right, *f.shape[2:]), np.uint8)
            out[:] = value
            out[top : top + h, left : left + w] = f
            return out

        src = clip
        size = None if clip._size is None else (clip._size[0] + left + right, clip._size[1] + top + bottom)
        new = clip._derived(lambda t: op(src._get(t), fill, t), size=size)
        if new._mask is not None:
            m = new._mask
            level = _pixels.mask_level(self.opacity, "Margin opacity")
            new._mask = m._derived(lambda t: op(m._get(t), level, t), size=size)
        return new


def _margined_size(w: int, h: int, left: int, right: int, top: int, bottom: int, name: str, t: float | None) -> None:
    """Refuse, before allocating it, a frame with margins larger than the largest frame."""
    mw, mh = w + left + right, h + top + bottom
    if max(mw, mh) > _native.MAX_DIMENSION:
        at = "" if t is None else f" at t={t:g} s"
        raise ParameterError(
            f"Margin: {name}{at} is {w}x{h}; with margins left={left}, right={right}, top={top}, "
            f"bottom={bottom} it would be {mw}x{mh}, over the {_native.MAX_DIMENSION}-pixel limit of a frame"
        )


@dataclass
class EvenSize(Effect):
    """Cropped by a pixel where needed so that width and height are even."""

    def apply(self, clip: Any) -> Any:
        w, h = clip.size
        return Crop(x2=w - w % 2, y2=h - h % 2).apply(clip) if (w % 2 or h % 2) else clip


@dataclass
class SlideIn(Effect):
    """Enters from `side` ("left", "right", "top", "bottom") over `duration` s (in a composite)."""

    duration: float
    side: str

    def apply(self, clip: Any) -> Any:
        w, h = clip.size
        d = float(self.duration)
        pos = {
            "left": lambda t: (min(0, w * (t / d - 1)), "center"),
            "right": lambda t: (max(0, w * (1 - t / d)), "center"),
            "top": lambda t: ("center", min(0, h * (t / d - 1))),
            "bottom": lambda t: ("center", max(0, h * (1 - t / d))),
        }
        if self.side not in pos:
            raise ParameterError(f"SlideIn: side must be one of {', '.join(pos)}, got {self.side!r}")
        return clip.with_position(pos[self.side])


@dataclass
class SlideOut(Effect):
    """Leaves towards `side` over its last `duration` s (in a composite)."""

    duration: float
    side: str

    def apply(self, clip: Any) -> Any:
        if clip.duration is None:
            raise ParameterError("SlideOut needs a clip with a duration")
        w, h = clip.size
        d = float(self.duration)
        ts = clip.duration - d
        pos = {
            "left": lambda t: (min(0, w * (-(t - ts) / d)), "center"),
            "right": lambda t: (max(0, w * ((t - ts) / d)), "center"),
            "top": lambda t: ("center", min(0, h * (-(t - ts) / d))),
            "bottom": lambda t: ("center", max(0, h * ((t - ts) / d))),
        }
        if self.side not in pos:
            raise ParameterError(f"SlideOut: side must be one of {', '.join(pos)}, got {self.side!r}")
        return clip.with_position(pos[self.side])


@dataclass
class Scroll(Effect):
    """A w x h window moving over the clip at x_speed, y_speed pixels per second."""

    w: Any = None
    h: Any = None
    x_speed: float = 0
    y_speed: float = 0
    x_start: float = 0
    y_start: float = 0
    apply_to: Any = "mask"

    def apply(self, clip: Any) -> Any:
        W, H = clip.size  # noqa: N806
        w = W if self.w is None else int(self.w)
        h = H if self.h is None else int(self.h)
        xs, ys, x0, y0 = self.x_speed, self.y_speed, self.x_start, self.y_start

        def op(f: np.ndarray, t: float) -> np.ndarray:
            x = int(max(0, min(x0 + round(xs * t), W - w)))
            y = int(max(0, min(y0 + round(ys * t), H - h)))
            return np.ascontiguousarray(f[y : y + h, x : x + w])

        src = clip
        new = clip._derived(lambda t: op(src._get(t), t), static=False, size=(w, h))
        if new._mask is not None:
            m = new._mask
            new._mask = m._derived(lambda t: op(m._get(t), t), static=False, size=(w, h))
        return new
