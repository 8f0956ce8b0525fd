"""Helpers for drawing a figure the way ``savefig`` would without calling it: temporary
attributes and properties, the savefig style (facecolor, edgecolor, transparent), which
animations are saving a figure."""

from __future__ import annotations

import contextlib
import logging
import sys
from types import FrameType
from typing import Any

import matplotlib as mpl
import matplotlib.animation as _animation
from matplotlib.artist import Artist
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

# Every part of the writer logs as framepipe.matplotlib (the name users configure).
_log = logging.getLogger("framepipe.matplotlib")

SAVEFIG_STYLE_KEYS = {"facecolor", "edgecolor", "transparent"}


# --------------------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def attrs(obj: Any, **values: Any):
    """Set attributes (or properties) for the duration of the block, then put them back."""
    old = {k: getattr(obj, k) for k in values}
    try:
        for k, v in values.items():
            setattr(obj, k, v)
        yield
    finally:
        for k, v in old.items():
            setattr(obj, k, v)


@contextlib.contextmanager
def props(artist: Artist, **values: Any):
    """Set artist properties through their setters for the block (what savefig does)."""
    old = {k: getattr(artist, f"get_{k}")() for k in values}
    artist.set(**values)
    try:
        yield
    finally:
        artist.set(**old)


def noop(*args: Any, **kwargs: Any) -> None:
    return None


@contextlib.contextmanager
def skip_draw(artist: Artist):
    """Make artist.draw() do nothing for the block (an instance attribute shadows the method)."""
    own = vars(artist)
    had, old = "draw" in own, own.get("draw")
    own["draw"] = noop
    try:
        yield
    finally:
        if had:
            own["draw"] = old
        else:
            del own["draw"]


def parent_figure(artist: Artist):
    """The figure or subfigure directly holding `artist` (matplotlib < 3.10 has no `root=`)."""
    try:
        return artist.get_figure(root=False)
    except TypeError:
        return artist.figure


def validate_grab_kwargs(kwargs: dict) -> None:
    """matplotlib's rules for grab_frame's savefig_kwargs, plus what an MP4 frame can honour."""
    if mpl.rcParams["savefig.bbox"] == "tight":
        raise ValueError(
            f"{mpl.rcParams['savefig.bbox']=} must not be 'tight' as it may cause frame size to vary, "
            "which is inappropriate for animation."
        )
    for k in ("dpi", "bbox_inches", "format"):
        if k in kwargs:
            raise TypeError(f"grab_frame got an unexpected keyword argument {k!r}")
    unknown = sorted(set(kwargs) - SAVEFIG_STYLE_KEYS - {"orientation"})
    if unknown:
        raise TypeError(
            f"grab_frame got an unexpected keyword argument {unknown[0]!r}; the framepipe writer "
            f"takes facecolor, edgecolor and transparent"
        )


def style_key(kwargs: dict) -> tuple:
    """A comparable summary of the savefig-style keywords that change pixels."""
    key: list[object] = []
    for name in ("facecolor", "edgecolor"):
        c = kwargs.get(name, _savefig_rc(name))
        if isinstance(c, str) and c == "auto":
            key.append("auto")
        else:
            key.append(tuple(float(v) for v in to_rgba(c)))
    key.append(bool(_savefig_rc("transparent", kwargs.get("transparent"))))
    return tuple(key)


def _savefig_rc(name: str, value: Any = None) -> Any:
    """`value`, or when it is None the rc parameter ``savefig.<name>`` (facecolor, edgecolor or
    transparent), as savefig takes them."""
    if value is not None:
        return value
    if name == "facecolor":
        return mpl.rcParams["savefig.facecolor"]
    if name == "edgecolor":
        return mpl.rcParams["savefig.edgecolor"]
    return mpl.rcParams["savefig.transparent"]


@contextlib.contextmanager
def savefig_style(fig: Figure, kwargs: dict):
    """Apply facecolor / edgecolor / transparent for one frame exactly as Figure.savefig does.

    Setting and restoring the colours marks the patches stale; they are marked drawn again after.
    """
    try:
        with savefig_style_props(fig, kwargs):
            yield
    finally:
        fig.patch.stale = False
        for sf in fig.subfigs:
            sf.patch.stale = False
        for ax in fig.axes:
            ax.patch.stale = False


@contextlib.contextmanager
def savefig_style_props(fig: Figure, kwargs: dict):
    with contextlib.ExitStack() as stack:
        transparent = _savefig_rc("transparent", kwargs.get("transparent"))
        facecolor = kwargs.get("facecolor")
        edgecolor = kwargs.get("edgecolor")
        if transparent:
            facecolor = "none" if facecolor is None else facecolor
            edgecolor = "none" if edgecolor is None else edgecolor

            def subfig(sf):
                stack.enter_context(props(sf.patch, facecolor="none", edgecolor="none"))
                for ax in sf.axes:
                    stack.enter_context(props(ax.patch, facecolor="none", edgecolor="none"))
                for sub in sf.subfigs:
                    subfig(sub)

            def axes(ax):
                stack.enter_context(props(ax.patch, facecolor="none", edgecolor="none"))
                for child in ax.child_axes:
                    stack.enter_context(props(child.patch, facecolor="none", edgecolor="none"))
                for child in ax.child_axes:
                    axes(child)

            for sf in fig.subfigs:
                subfig(sf)
            for ax in fig.axes:
                axes(ax)
        for prop, color in (("facecolor", facecolor), ("edgecolor", edgecolor)):
            color = _savefig_rc(prop, color)
            if not (isinstance(color, str) and color == "auto"):
                stack.enter_context(props(fig, **{prop: color}))
        yield


def calling_animations(fig: Figure) -> list | None:
    """The animations being saved, when the writer is used by ``Animation.save``.

    matplotlib does not hand the animation to its writer, so the writer finds the
    ``Animation.save`` call it is running under on the call stack (its ``all_anim`` list).
    """
    code = _animation.Animation.save.__code__
    frame: FrameType | None = sys._getframe(1)
    for _ in range(32):
        if frame is None:
            break
        if frame.f_code is code:
            anims = frame.f_locals.get("all_anim")
            if anims and all(getattr(a, "_fig", None) is fig for a in anims):
                return list(anims)
            return None
        frame = frame.f_back
    return None
