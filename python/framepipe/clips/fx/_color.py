"""Colour and opacity effects, as MoviePy 2's of the same names. Per-pixel maps are 256-entry
tables run by the engine's LUT kernel, computed with MoviePy's own float formula and its final
``astype("uint8")``, so they give MoviePy's values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ...errors import ParameterError
from .. import _kernels, _pixels
from ._base import Effect, number

_V = np.arange(256, dtype=np.float64)


def _table(values: np.ndarray) -> bytes:
    return np.clip(values, 0, 255).astype(np.uint8).tobytes()


def _lut_clip(clip: Any, table: bytes, mask_table: bytes | None = None) -> Any:
    """`clip` with every uint8 value mapped through `table` (mask clips: `mask_table`, which
    maps alpha levels; default the same table)."""
    tab = mask_table if (clip.is_mask and mask_table is not None) else table
    return clip._pixel_op(lambda f: _kernels.lut(f, tab))


@dataclass
class InvertColors(Effect):
    """255 - value (a mask: 1 - value)."""

    def apply(self, clip: Any) -> Any:
        return _lut_clip(clip, _table(255 - _V))


@dataclass
class MultiplyColor(Effect):
    """Every channel times `factor` (capped at 255)."""

    factor: float

    def apply(self, clip: Any) -> Any:
        f = float(self.factor)
        if not np.isfinite(f) or f < 0:
            raise ParameterError(f"MultiplyColor: factor must be a non-negative number, got {self.factor!r}")
        return _lut_clip(clip, _table(np.minimum(255, f * _V)), _table(np.rint(np.minimum(255, f * _V))))


@dataclass
class GammaCorrection(Effect):
    """255 * (value / 255) ** gamma."""

    gamma: float

    def apply(self, clip: Any) -> Any:
        return _lut_clip(clip, _table(255 * (1.0 * _V / 255) ** float(self.gamma)))


@dataclass
class LumContrast(Effect):
    """value + lum + contrast * (value - contrast_threshold), clipped to 0..255."""

    lum: float = 0
    contrast: float = 0
    contrast_threshold: float = 127

    def apply(self, clip: Any) -> Any:
        v = _V + self.lum + self.contrast * (_V - float(self.contrast_threshold))
        return _lut_clip(clip, _table(v))


@dataclass
class BlackAndWhite(Effect):
    """Gray from weights `RGB` (default equal; "CRT_phosphor": 0.2125, 0.7154, 0.0721), divided
    by their sum when `preserve_luminosity`."""

    RGB: Any = None  # noqa: N815 (MoviePy's name)
    preserve_luminosity: bool = True

    def apply(self, clip: Any) -> Any:
        rgb = [1, 1, 1] if self.RGB is None else self.RGB
        if isinstance(rgb, str):
            if rgb != "CRT_phosphor":
                raise ParameterError(f"BlackAndWhite: RGB is three weights or 'CRT_phosphor', got {rgb!r}")
            rgb = [0.2125, 0.7154, 0.0721]
        w = np.asarray(rgb, dtype=np.float64)
        if w.shape != (3,) or not np.all(np.isfinite(w)):
            raise ParameterError(f"BlackAndWhite: RGB is three weights, got {self.RGB!r}")
        if self.preserve_luminosity:
            w = w / w.sum()
        weights = (float(w[0]), float(w[1]), float(w[2]))
        if clip.is_mask:
            return clip
        return clip._pixel_op(lambda f: _kernels.grayscale(f, weights))


@dataclass
class MaskColor(Effect):
    """A mask that hides pixels of `color`: 0 where the colour distance d is 0, else
    d**stiffness / (threshold**stiffness + d**stiffness) (with threshold 0: 1 wherever d > 0)."""

    color: Any = (0, 0, 0)
    threshold: float = 0
    stiffness: float = 1

    def apply(self, clip: Any) -> Any:
        color = _pixels.rgb(self.color, "MaskColor color")
        thr, stiff = float(self.threshold), float(self.stiffness)
        if not (np.isfinite(thr) and thr >= 0 and np.isfinite(stiff)):
            raise ParameterError(
                f"MaskColor: threshold must be >= 0 and stiffness finite, got {self.threshold!r}, {self.stiffness!r}"
            )
        src = clip
        mask = clip._derived(lambda t: _kernels.mask_color(src._get(t), color, thr, stiff))
        mask.is_mask, mask._mask, mask._opacity = True, None, 1.0
        return clip.with_mask(mask)


def _fade_table(fading: float, color: Any, channels: int) -> bytes:
    col = np.broadcast_to(np.asarray(color, dtype=np.float64), (channels,))
    return b"".join(_table(fading * _V + (1 - fading) * c) for c in col)


@dataclass
class FadeIn(Effect):
    """From `initial_color` (default black; 0 for a mask) to the clip over `duration` s."""

    duration: float
    initial_color: Any = None

    def apply(self, clip: Any) -> Any:
        d = number(self.duration, "FadeIn duration", allowed="a finite number of seconds >= 0")
        if clip.is_mask:
            color = [float(self.initial_color or 0) * 255]
        else:
            color = list(_pixels.rgb(self.initial_color, "FadeIn initial_color"))
        return _fade(clip, lambda t: t / d if t < d else None, color)


@dataclass
class FadeOut(Effect):
    """From the clip to `final_color` (default black) over its last `duration` s."""

    duration: float
    final_color: Any = None

    def apply(self, clip: Any) -> Any:
        if clip.duration is None:
            raise ParameterError("FadeOut needs a clip with a duration")
        d = number(self.duration, "FadeOut duration", allowed="a finite number of seconds >= 0")
        end = clip.duration
        if clip.is_mask:
            color = [float(self.final_color or 0) * 255]
        else:
            color = list(_pixels.rgb(self.final_color, "FadeOut final_color"))
        return _fade(clip, lambda t: (end - t) / d if (end - t) < d else None, color)


def _fade(clip: Any, fading_at: Any, color: list[float]) -> Any:
    src = clip
    channels = len(color)

    def frame(t: float) -> np.ndarray:
        f = src._get(t)
        fading = fading_at(t)
        if fading is None:
            return f
        return _kernels.lut(f, _fade_table(max(0.0, fading), color, channels))

    return clip._derived(frame, static=False, size=clip._size)


@dataclass
class CrossFadeIn(Effect):
    """The clip's mask fades in over `duration` s (over whatever is below it in a composite)."""

    duration: float

    def apply(self, clip: Any) -> Any:
        return _fade_mask(clip, FadeIn(self.duration), "CrossFadeIn")


@dataclass
class CrossFadeOut(Effect):
    """The clip's mask fades out over its last `duration` s."""

    duration: float

    def apply(self, clip: Any) -> Any:
        return _fade_mask(clip, FadeOut(self.duration), "CrossFadeOut")


def _fade_mask(clip: Any, fade: Effect, what: str) -> Any:
    """`clip` with `fade` applied to its mask (an opaque one if it has none)."""
    if clip.duration is None:
        raise ParameterError(f"{what} needs a clip with a duration")
    base = clip if clip._mask is not None else clip.with_mask()
    return base.with_mask(fade.apply(base._mask.with_duration(clip.duration)))


@dataclass
class Blink(Effect):
    """Visible for `duration_on` s, then hidden for `duration_off` s, and so on."""

    duration_on: float
    duration_off: float

    def apply(self, clip: Any) -> Any:
        on = number(self.duration_on, "Blink duration_on", allowed="a finite number of seconds >= 0")
        off = number(self.duration_off, "Blink duration_off", allowed="a finite number of seconds >= 0")
        if on + off <= 0:
            raise ParameterError(f"Blink: duration_on + duration_off must be more than 0 s, got {on:g} + {off:g}")
        period = on + off
        base = clip if clip._mask is not None else clip.with_mask()
        m = base._mask
        zero = np.zeros(1, np.uint8)
        blink = m._derived(
            lambda t: m._get(t) if (t % period) < on else np.broadcast_to(zero, m._get(t).shape).copy(), static=False
        )
        return base.with_mask(blink)


def _combine(clip: Any, other: Any, op: Any, what: str) -> Any:
    """`op(frame, other's frame)` at every t: `other` a clip or an array (ImageClip's ``img``
    in MoviePy), of the same shape as the frames (for masks: floats in [0, 1])."""

    def check(a: np.ndarray, f: np.ndarray) -> np.ndarray:
        if a.shape != f.shape:
            raise ParameterError(f"{what}: the other clip's frames have shape {a.shape}, this clip's {f.shape}")
        return a

    if isinstance(other, np.ndarray):
        return clip.image_transform(lambda f: op(f, check(other, f)))
    return clip.transform(lambda get_frame, t: (lambda f: op(f, check(other.get_frame(t), f)))(get_frame(t)))


@dataclass
class _Combination(Effect):
    other_clip: Any
    op: ClassVar[Any]

    def apply(self, clip: Any) -> Any:
        return _combine(clip, self.other_clip, type(self).op, type(self).__name__)


class MasksAnd(_Combination):
    """The smaller of this clip's and `other_clip`'s values at each pixel (for masks: the
    intersection). `other_clip` is a clip or an array of the frames' shape."""

    op = np.minimum


class MasksOr(_Combination):
    """The larger of this clip's and `other_clip`'s values at each pixel (for masks: the
    union). `other_clip` is a clip or an array of the frames' shape."""

    op = np.maximum
