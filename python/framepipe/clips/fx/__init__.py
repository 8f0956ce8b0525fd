"""Effects, as MoviePy 2's ``moviepy.video.fx`` (``clip.with_effects([fx.FadeIn(1)])``)."""

from ._base import Effect
from ._color import (
    BlackAndWhite,
    Blink,
    CrossFadeIn,
    CrossFadeOut,
    FadeIn,
    FadeOut,
    GammaCorrection,
    InvertColors,
    LumContrast,
    MaskColor,
    MultiplyColor,
)
from ._geometry import Crop, EvenSize, Margin, MirrorX, MirrorY, Resize, Rotate, Scroll, SlideIn, SlideOut
from ._time import AccelDecel, Freeze, Loop, MakeLoopable, MultiplySpeed, TimeMirror, TimeSymmetrize

__all__ = [
    "Effect",
    "AccelDecel",
    "BlackAndWhite",
    "Blink",
    "Crop",
    "CrossFadeIn",
    "CrossFadeOut",
    "EvenSize",
    "FadeIn",
    "FadeOut",
    "Freeze",
    "GammaCorrection",
    "InvertColors",
    "Loop",
    "LumContrast",
    "MakeLoopable",
    "Margin",
    "MaskColor",
    "MirrorX",
    "MirrorY",
    "MultiplyColor",
    "MultiplySpeed",
    "Resize",
    "Rotate",
    "Scroll",
    "SlideIn",
    "SlideOut",
    "TimeMirror",
    "TimeSymmetrize",
]
