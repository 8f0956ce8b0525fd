"""A MoviePy-style namespace: ``import framepipe.editor as mpy`` (or ``from framepipe.editor
import *``) in a script written for ``moviepy.editor`` (1.x) or ``moviepy`` (2.x).

MoviePy's module paths work under it too: ``from moviepy.video.fx import FadeIn`` is
``from framepipe.editor.video.fx import FadeIn`` (the table of paths: ``editor/_paths.py``).
The sound clips (``AudioClip``, ``afx``, ...) come from ``framepipe.clips.audio``, read when
first used.

``vfx`` holds the effect classes (``vfx.FadeIn``) and MoviePy 1.x's effect functions
(``clip.fx(vfx.mask_color, [255, 255, 255])``); ``transfx`` the transitions."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import types
from typing import Any

from .._keywords import checked
from ..clips import (
    BitmapClip,
    Clip,
    ColorClip,
    CompositeVideoClip,
    DataVideoClip,
    ImageClip,
    ImageSequenceClip,
    TextClip,
    UpdatedVideoClip,
    VideoClip,
    VideoFileClip,
    clips_array,
    concatenate,
    concatenate_videoclips,
    ffmpeg_tools,
    fx,
)
from ..clips.fx import Effect
from ..clips.tools import convert_to_seconds
from . import _paths

_paths.install()
sys.modules[__name__].__class__ = _paths.EditorModule


@checked
def figure_to_array(fig: Any, *, incremental: bool = True) -> Any:
    """A matplotlib Figure's pixels as (h, w, 3) uint8, drawing only what changed since the last
    call (see framepipe.matplotlib.figure_to_array; matplotlib is imported when first used)."""
    from ..matplotlib import figure_to_array as f

    return f(fig, incremental=incremental)


mplfig_to_npimage = figure_to_array


@checked(also=[VideoClip.display_in_notebook])
def display_in_notebook(clip: Any, **kwargs: Any) -> Any:
    """MoviePy's ``display_in_notebook(clip, ...)``: ``clip.display_in_notebook(...)``."""
    return clip.display_in_notebook(**kwargs)


def _function(effect: type, renames: dict[str, str] | None = None) -> Any:
    """A MoviePy 1.x effect function ``f(clip, *args, **kwargs)`` for an effect class, taking the
    effect's keywords and MoviePy 1.x's names for some of them (`renames`: old -> new)."""
    renames = renames or {}

    def f(clip: Any, *args: Any, **kwargs: Any) -> Any:
        kw = {renames.get(k, k): v for k, v in kwargs.items()}
        return effect(*args, **kw).apply(clip)

    # Its signature says which keywords it takes, for help() and for the misspelt-keyword check.
    params = [inspect.Parameter("clip", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += inspect.signature(effect).parameters.values()
    params += [inspect.Parameter(old, inspect.Parameter.KEYWORD_ONLY, default=None) for old in renames]
    f.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]  # read by inspect
    f.__name__ = effect.__name__
    f.__doc__ = f"MoviePy 1.x name of :class:`framepipe.clips.fx.{effect.__name__}`."
    return f


def _mask_color(
    clip: Any,
    color: Any = None,
    thr: float = 0,
    s: float = 1,
    *,
    threshold: float | None = None,
    stiffness: float | None = None,
) -> Any:
    return fx.MaskColor(
        color=(0, 0, 0) if color is None else color,
        threshold=thr if threshold is None else threshold,
        stiffness=s if stiffness is None else stiffness,
    ).apply(clip)


def _resize(
    clip: Any,
    newsize: Any = None,
    height: Any = None,
    width: Any = None,
    apply_to_mask: bool = True,
    *,
    new_size: Any = None,
) -> Any:
    size = newsize if new_size is None else new_size
    return fx.Resize(size, height=height, width=width, apply_to_mask=apply_to_mask).apply(clip)


def _margin(
    clip: Any,
    mar: Any = None,
    left: int = 0,
    right: int = 0,
    top: int = 0,
    bottom: int = 0,
    color: Any = (0, 0, 0),
    opacity: float = 1.0,
    *,
    margin_size: Any = None,
) -> Any:
    return fx.Margin(mar if margin_size is None else margin_size, left, right, top, bottom, color, opacity).apply(clip)


def _named(namespace: str, functions: dict[str, Any]) -> dict[str, Any]:
    """`functions` checked for misspelt keywords, named as the user calls them (``vfx.resize``)."""
    return {name: checked(f, name=f"{namespace}.{name}") for name, f in functions.items()}


vfx = types.SimpleNamespace(
    **{name: getattr(fx, name) for name in fx.__all__},
    **_named(
        "vfx",
        dict(
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
        ),
    ),
)

transfx = types.SimpleNamespace(
    **_named(
        "transfx",
        dict(
            crossfadein=_function(fx.CrossFadeIn),
            crossfadeout=_function(fx.CrossFadeOut),
            slide_in=_function(fx.SlideIn),
            slide_out=_function(fx.SlideOut),
        ),
    ),
    CrossFadeIn=fx.CrossFadeIn,
    CrossFadeOut=fx.CrossFadeOut,
    SlideIn=fx.SlideIn,
    SlideOut=fx.SlideOut,
)

__all__ = [
    "Clip",
    "VideoClip",
    "DataVideoClip",
    "UpdatedVideoClip",
    "ImageClip",
    "ColorClip",
    "TextClip",
    "BitmapClip",
    "ImageSequenceClip",
    "VideoFileClip",
    "CompositeVideoClip",
    "clips_array",
    "concatenate_videoclips",
    "concatenate",
    "Effect",
    "vfx",
    "transfx",
    "fx",
    "videotools",
    "ffmpeg_tools",
    "convert_to_seconds",
    "display_in_notebook",
    "mplfig_to_npimage",
    "figure_to_array",
]


def __getattr__(name: str) -> Any:
    """The sound clips (from framepipe.clips.audio) and ``videotools``, when first read."""
    if name in _LAZY:
        value = _paths.resolve(_LAZY[name], f"framepipe.editor.{name}")
    elif name == "videotools":
        value = importlib.import_module(f"{__name__}.video.tools")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


_LAZY = _paths.TOP

# ``from framepipe.editor import *`` takes the sound clips once framepipe has them.
if importlib.util.find_spec("framepipe.clips.audio") is not None:
    __all__ += list(_LAZY)
