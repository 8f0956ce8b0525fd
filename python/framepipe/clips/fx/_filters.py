"""Effects made of Pillow's image filters, as MoviePy 2 makes them (the same Pillow calls, so
the same pixels): HeadBlur and Painting. Pillow is needed only when one is used."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ParameterError, UnsupportedError
from ._base import Effect, number


def _pil() -> Any:
    try:
        from PIL import Image, ImageDraw, ImageFilter
    except ImportError:
        raise UnsupportedError("HeadBlur and Painting need Pillow (pip install pillow)") from None
    return Image, ImageDraw, ImageFilter


@dataclass
class HeadBlur(Effect):
    """A blurred disc of `radius` pixels that follows (fx(t), fy(t)) (to hide a face);
    `intensity` is the Gaussian blur's radius (default 2/3 of `radius`)."""

    fx: Any
    fy: Any
    radius: float
    intensity: float | None = None

    def apply(self, clip: Any) -> Any:
        Image, ImageDraw, ImageFilter = _pil()
        if clip.is_mask:
            raise ParameterError("HeadBlur applies to colour clips, not masks")
        fx, fy = self.fx, self.fy
        r = number(self.radius, "HeadBlur radius", allowed="a finite number of pixels >= 0")
        r = int(r) if r == int(r) else r
        intensity = int(2 * r / 3) if self.intensity is None else self.intensity
        number(intensity, "HeadBlur intensity", allowed="a finite blur radius >= 0")
        name = clip._name

        def blur(get_frame: Any, t: float) -> np.ndarray:
            im = get_frame(t)
            h, w = im.shape[:2]
            cx, cy = fx(t), fy(t)
            try:
                x, y = int(cx), int(cy)
            except (TypeError, ValueError, OverflowError):
                raise ParameterError(
                    f"HeadBlur on {name} at t={t:g} s: the centre ({cx!r}, {cy!r}) is not a finite number of pixels"
                ) from None
            if max(0, x - r) > min(x + r, w) or max(0, y - r) > min(y + r, h):
                return im  # the disc is wholly outside the frame: nothing to blur
            image = Image.fromarray(im)
            disc = Image.new("L", image.size)
            ImageDraw.Draw(disc).ellipse([max(0, x - r), max(0, y - r), min(x + r, w), min(y + r, h)], fill=255)
            blurred = np.asarray(image.filter(ImageFilter.GaussianBlur(radius=intensity)))
            return np.where(np.asarray(disc)[:, :, None] > 0, blurred, im)

        return clip.transform(blur)


@dataclass
class Painting(Effect):
    """A painting-like picture: edges enhanced and drawn dark (`black`), colours multiplied
    by `saturation`."""

    saturation: float = 1.4
    black: float = 0.006

    def apply(self, clip: Any) -> Any:
        Image, _, ImageFilter = _pil()
        if clip.is_mask:
            raise ParameterError("Painting applies to colour clips, not masks")
        saturation, black = float(self.saturation), float(self.black)

        def paint(im: np.ndarray) -> np.ndarray:
            image = Image.fromarray(im).filter(ImageFilter.EDGE_ENHANCE_MORE)
            edges = np.asarray(image.convert("L").filter(ImageFilter.FIND_EDGES))
            darkening = black * (255 * np.dstack(3 * [edges]))
            painted = saturation * np.asarray(image) - darkening
            return np.clip(painted, 0, 255).astype(np.uint8)

        return clip.image_transform(paint)
