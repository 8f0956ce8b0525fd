"""A MoviePy-style namespace: ``import framepipe.editor as mpy`` (or ``from framepipe.editor
import *``) in a script written for ``moviepy.editor`` (1.x) or ``moviepy`` (2.x).

``vfx`` holds the effect classes (``vfx.FadeIn``) and MoviePy 1.x's effect functions
(``clip.fx(vfx.mask_color, [255, 255, 255])``); ``transfx`` the transitions."""

from __future__ import annotations

import types
from typing import Any

from .clips import (
    ColorClip,
    CompositeVideoClip,
    ImageClip,
    ImageSequenceClip,
    TextClip,
    VideoClip,
    VideoFileClip,
    clips_array,
    concatenate,
    concatenate_videoclips,
    fx,
)


def figure_to_array(fig: Any, *, incremental: bool = True) -> Any:
    """A matplotlib Figure's pixels as (h, w, 3) uint8, drawing only what changed since the last
    call (see framepipe.matplotlib.figure_to_array; matplotlib is imported when first used)."""
    from .matplotlib import figure_to_array as f

    return f(fig, incremental=incremental)


mplfig_to_npimage = figure_to_array


def _function(effect: type, renames: dict[str, str] | None = None) -> Any:
    """A MoviePy 1.x effect function ``f(clip, *args, **kwargs)`` for an effect class."""
    renames = renames or {}

    def f(clip: Any, *args: Any, **kwargs: Any) -> Any:
        kw = {renames.get(k, k): v for k, v in kwargs.items()}
        return effect(*args, **kw).apply(clip)

    f.__name__ = effect.__name__
    f.__doc__ = f"MoviePy 1.x name of :class:`framepipe.clips.fx.{effect.__name__}`."
    return f


def _only(what: str, kw: dict, extra: tuple[str, ...], params: tuple[str, ...]) -> None:
    """A TypeError for a keyword in `kw` that is not one of `extra` (MoviePy 2's names these
    functions take too), naming the nearest valid keyword: a misspelt option is never ignored."""
    import difflib

    for name in kw:
        if name not in extra:
            valid = (*params, *extra)
            near = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise TypeError(
                f"vfx.{what}() got an unexpected keyword argument {name!r}{hint}; its keywords are {', '.join(valid)}"
            )


def _mask_color(clip: Any, color: Any = None, thr: float = 0, s: float = 1, **kw: Any) -> Any:
    _only("mask_color", kw, ("threshold", "stiffness"), ("color", "thr", "s"))
    return fx.MaskColor(
        color=(0, 0, 0) if color is None else color,
        threshold=kw.get("threshold", thr),
        stiffness=kw.get("stiffness", s),
    ).apply(clip)


def _resize(
    clip: Any, newsize: Any = None, height: Any = None, width: Any = None, apply_to_mask: bool = True, **kw: Any
) -> Any:
    _only("resize", kw, ("new_size",), ("newsize", "height", "width", "apply_to_mask"))
    return fx.Resize(kw.get("new_size", newsize), height=height, width=width, apply_to_mask=apply_to_mask).apply(clip)


def _margin(
    clip: Any,
    mar: Any = None,
    left: int = 0,
    right: int = 0,
    top: int = 0,
    bottom: int = 0,
    color: Any = (0, 0, 0),
    opacity: float = 1.0,
    **kw: Any,
) -> Any:
    _only("margin", kw, ("margin_size",), ("mar", "left", "right", "top", "bottom", "color", "opacity"))
    return fx.Margin(kw.get("margin_size", mar), left, right, top, bottom, color, opacity).apply(clip)


vfx = types.SimpleNamespace(
    **{name: getattr(fx, name) for name in fx.__all__},
    mask_color=_mask_color,
    blackwhite=_function(fx.BlackAndWhite),
    resize=_resize,
    crop=_function(fx.Crop),
    rotate=_function(fx.Rotate),
    mirror_x=_function(fx.MirrorX),
    mirror_y=_function(fx.MirrorY),
    invert_colors=_function(fx.InvertColors),
    gamma_corr=_function(fx.GammaCorrection),
    lum_contrast=_function(fx.LumContrast, {"contrast_thr": "contrast_threshold"}),
    colorx=_function(fx.MultiplyColor),
    multiply_color=_function(fx.MultiplyColor),
    fadein=_function(fx.FadeIn),
    fadeout=_function(fx.FadeOut),
    margin=_margin,
    loop=_function(fx.Loop),
    time_mirror=_function(fx.TimeMirror),
    time_symmetrize=_function(fx.TimeSymmetrize),
    speedx=_function(fx.MultiplySpeed),
    multiply_speed=_function(fx.MultiplySpeed),
    freeze=_function(fx.Freeze),
    accel_decel=_function(fx.AccelDecel),
    blink=_function(fx.Blink, {"d_on": "duration_on", "d_off": "duration_off"}),
    even_size=_function(fx.EvenSize),
    make_loopable=_function(fx.MakeLoopable, {"cross": "overlap_duration"}),
    scroll=_function(fx.Scroll),
    freeze_region=_function(fx.FreezeRegion),
    supersample=_function(fx.SuperSample, {"nframes": "n_frames"}),
    mask_and=_function(fx.MasksAnd),
    mask_or=_function(fx.MasksOr),
    headblur=_function(fx.HeadBlur, {"r_zone": "radius", "r_blur": "intensity"}),
    painting=_function(fx.Painting),
)

transfx = types.SimpleNamespace(
    crossfadein=_function(fx.CrossFadeIn),
    crossfadeout=_function(fx.CrossFadeOut),
    slide_in=_function(fx.SlideIn),
    slide_out=_function(fx.SlideOut),
    CrossFadeIn=fx.CrossFadeIn,
    CrossFadeOut=fx.CrossFadeOut,
    SlideIn=fx.SlideIn,
    SlideOut=fx.SlideOut,
)

__all__ = [
    "VideoClip",
    "ImageClip",
    "ColorClip",
    "TextClip",
    "ImageSequenceClip",
    "VideoFileClip",
    "CompositeVideoClip",
    "clips_array",
    "concatenate_videoclips",
    "concatenate",
    "vfx",
    "transfx",
    "fx",
    "mplfig_to_npimage",
    "figure_to_array",
]
