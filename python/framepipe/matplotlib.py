"""matplotlib integration: the ``"framepipe"`` movie writer, blit-aware saving, HTML5 video.

``import framepipe`` registers :class:`FramepipeWriter` with matplotlib under the name
``"framepipe"`` (right away if ``matplotlib.animation`` is already imported, otherwise as soon as it
is), so an existing animation only needs::

    ani.save("out.mp4", writer="framepipe", fps=30)

or, with framepipe's own options::

    from framepipe.matplotlib import FramepipeWriter
    ani.save("out.mp4", writer=FramepipeWriter(fps=30, crf=20, preset="slow"))

What it does differently from matplotlib's ``"ffmpeg"`` writer:

* No ffmpeg process and no ``savefig`` per frame: each frame is drawn once with the figure's Agg
  canvas and its RGBA buffer is handed to the in-process x264 encoder without a copy (the
  ``draw_idle`` that ``Animation.save`` asks for after every frame is skipped while saving, since
  the writer draws the frame itself).
* **Blit-aware saving.** For a :class:`~matplotlib.animation.FuncAnimation` whose function returns
  the artists it changed (the ``blit=True`` contract, whether or not the animation was created
  with ``blit=True``), the figure is drawn once without those artists, the picture is kept, and
  each frame restores it and draws only the returned artists, plus any artist that is drawn after
  them (higher zorder) and could overlap them, so that the stacking order is the same as in a
  full redraw. Before every frame the writer checks that the kept picture is still right, and
  redraws the whole figure instead whenever it is not or cannot tell: an artist that was changed
  but not returned (matplotlib marks every artist changed through its setters as *stale*), axes
  limits, scales, positions or layout changed, the figure resized, artists added or removed
  (``ax.clear()`` included), a changed title, tick positions or tick labels (tick labels are
  formatted anew each frame and compared), a returned artist whose zorder or Axes changed, or one
  that starts to overlap an artist drawn above it. ``FramepipeWriter(blit=False)`` always redraws
  the whole figure. ``writer.stats`` tells how each frame was made.

  What cannot be seen, and needs ``blit=False``: changing an artist that is not returned behind
  matplotlib's back (writing into its data array in place, mutating a shared transform), which
  marks nothing stale; and ``draw_event`` callbacks, which only run on fully redrawn frames.
  Returned artists must be drawn directly by an ordinary (rectilinear) Axes of the figure, not
  by a polar/3D Axes, a legend, or the figure itself; otherwise every frame is redrawn.
* A path ending in ``.gif`` writes a GIF with framepipe's GIF encoder (``format`` follows the
  path as for :class:`framepipe.VideoWriter`).
* The frame is exactly figure size x dpi pixels; the figure is not nudged to an even size. H.264
  needs even sizes, so the engine repeats the last column/row of an odd-sized frame (logged at
  INFO level on the ``framepipe.matplotlib`` logger instead of framepipe's usual warning).
* Transparency: like matplotlib's writers for formats without alpha, ``Animation.save`` composites
  the figure facecolor over white; pixels that are still transparent (e.g.
  ``grab_frame(transparent=True)``, or a hidden figure patch) are composited over ``background``,
  white by default, so a transparent figure looks as it does on a white page.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import tempfile
import warnings
from collections import Counter
from collections.abc import Iterable
from operator import attrgetter
from pathlib import Path
from typing import Any

import matplotlib as mpl
import matplotlib.animation as _animation
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.axis import Axis, Tick
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import Collection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import NullLocator

from ._options import output_format
from .errors import FramepipeWarning, ParameterError, UnsupportedError
from .writer import VideoResult, VideoWriter

__all__ = ["FramepipeWriter", "save", "to_html5_video", "register", "render"]

_log = logging.getLogger(__name__)

_H264_NAMES = {"h264", "libx264", "x264", "avc", "avc1"}
_SAVEFIG_STYLE_KEYS = {"facecolor", "edgecolor", "transparent"}
_PAD = 2.0  # display pixels added around every region: anti-aliased edges reach one pixel out


# --------------------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _attrs(obj: Any, **values: Any):
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
def _props(artist: Artist, **values: Any):
    """Set artist properties through their setters for the block (what savefig does)."""
    old = {k: getattr(artist, f"get_{k}")() for k in values}
    artist.set(**values)
    try:
        yield
    finally:
        artist.set(**old)


def _noop(*args: Any, **kwargs: Any) -> None:
    return None


@contextlib.contextmanager
def _skip_draw(artist: Artist):
    """Make artist.draw() do nothing for the block (an instance attribute shadows the method)."""
    own = vars(artist)
    had, old = "draw" in own, own.get("draw")
    artist.draw = _noop
    try:
        yield
    finally:
        if had:
            artist.draw = old
        else:
            del artist.draw


def _parent_figure(artist: Artist):
    """The figure or subfigure directly holding `artist` (matplotlib < 3.10 has no `root=`)."""
    try:
        return artist.get_figure(root=False)
    except TypeError:
        return artist.figure


def _validate_grab_kwargs(kwargs: dict) -> None:
    """matplotlib's rules for grab_frame's savefig_kwargs, plus what an MP4 frame can honour."""
    if mpl.rcParams["savefig.bbox"] == "tight":
        raise ValueError(
            f"{mpl.rcParams['savefig.bbox']=} must not be 'tight' as it may cause frame size to vary, "
            "which is inappropriate for animation."
        )
    for k in ("dpi", "bbox_inches", "format"):
        if k in kwargs:
            raise TypeError(f"grab_frame got an unexpected keyword argument {k!r}")
    unknown = sorted(set(kwargs) - _SAVEFIG_STYLE_KEYS - {"orientation"})
    if unknown:
        raise TypeError(
            f"grab_frame got an unexpected keyword argument {unknown[0]!r}; the framepipe writer "
            f"takes facecolor, edgecolor and transparent"
        )


def _style_key(kwargs: dict) -> tuple:
    """A comparable summary of the savefig-style keywords that change pixels."""
    key = []
    for name in ("facecolor", "edgecolor"):
        c = kwargs.get(name, mpl.rcParams[f"savefig.{name}"])
        if isinstance(c, str) and c == "auto":
            key.append("auto")
        else:
            key.append(tuple(float(v) for v in to_rgba(c)))
    key.append(bool(mpl._val_or_rc(kwargs.get("transparent"), "savefig.transparent")))
    return tuple(key)


@contextlib.contextmanager
def _savefig_style(fig: Figure, kwargs: dict):
    """Apply facecolor / edgecolor / transparent for one frame exactly as Figure.savefig does.

    Setting and restoring the colours marks the patches stale; they are marked drawn again after.
    """
    try:
        with _savefig_style_props(fig, kwargs):
            yield
    finally:
        fig.patch.stale = False
        for sf in fig.subfigs:
            sf.patch.stale = False
        for ax in fig.axes:
            ax.patch.stale = False


@contextlib.contextmanager
def _savefig_style_props(fig: Figure, kwargs: dict):
    with contextlib.ExitStack() as stack:
        transparent = mpl._val_or_rc(kwargs.get("transparent"), "savefig.transparent")
        facecolor = kwargs.get("facecolor")
        edgecolor = kwargs.get("edgecolor")
        if transparent:
            facecolor = "none" if facecolor is None else facecolor
            edgecolor = "none" if edgecolor is None else edgecolor

            def subfig(sf):
                stack.enter_context(_props(sf.patch, facecolor="none", edgecolor="none"))
                for ax in sf.axes:
                    stack.enter_context(_props(ax.patch, facecolor="none", edgecolor="none"))
                for sub in sf.subfigs:
                    subfig(sub)

            def axes(ax):
                stack.enter_context(_props(ax.patch, facecolor="none", edgecolor="none"))
                for child in ax.child_axes:
                    stack.enter_context(_props(child.patch, facecolor="none", edgecolor="none"))
                for child in ax.child_axes:
                    axes(child)

            for sf in fig.subfigs:
                subfig(sf)
            for ax in fig.axes:
                axes(ax)
        for prop, color in (("facecolor", facecolor), ("edgecolor", edgecolor)):
            color = mpl._val_or_rc(color, f"savefig.{prop}")
            if not (isinstance(color, str) and color == "auto"):
                stack.enter_context(_props(fig, **{prop: color}))
        yield


def _calling_animations(fig: Figure) -> list | None:
    """The animations being saved, when the writer is used by ``Animation.save``.

    matplotlib does not hand the animation to its writer, so the writer finds the
    ``Animation.save`` call it is running under on the call stack (its ``all_anim`` list).
    """
    code = _animation.Animation.save.__code__
    frame = sys._getframe(1)
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


# --------------------------------------------------------------------------------------- regions
#
# A region is (x0, y0, x1, y1) in display pixels that bounds every pixel an artist's draw() can
# touch, or None when that cannot be bounded (then it is taken to overlap everything). EMPTY is a
# region that overlaps nothing (an invisible artist).

EMPTY = (math.inf, math.inf, -math.inf, -math.inf)


def _overlap(a, b) -> bool:
    if a is None or b is None:
        return True
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _union(regions: Iterable) -> tuple | None:
    x0 = y0 = math.inf
    x1 = y1 = -math.inf
    for r in regions:
        if r is None:
            return None
        x0, y0, x1, y1 = min(x0, r[0]), min(y0, r[1]), max(x1, r[2]), max(y1, r[3])
    return (x0, y0, x1, y1)


def _bbox_region(bbox, pad: float, pad_y: float | None = None):
    x0, y0, x1, y1 = (float(v) for v in bbox.extents)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        # A null Bbox (nothing drawn) has +inf/-inf corners; anything else non-finite is unknown.
        return EMPTY if x0 > x1 and y0 > y1 else None
    pad_y = pad if pad_y is None else pad_y
    return (min(x0, x1) - pad, min(y0, y1) - pad_y, max(x0, x1) + pad, max(y0, y1) + pad_y)


def _region(a: Artist, renderer, dpi: float):
    """Bound the pixels a.draw(renderer) can change (see above)."""
    if not a.get_visible():
        return EMPTY
    if a.get_path_effects() or a.get_sketch_params() is not None:
        return None  # shadows, strokes and wiggles reach outside the artist's own extent
    px = dpi / 72.0
    leaf = isinstance(a, (Line2D, Patch, Text, AxesImage, Collection))
    if isinstance(a, Text) and a.get_text() == "":
        return EMPTY
    if leaf and a.get_clip_on() and a.get_clip_box() is not None:
        # Agg clips these to their clip rectangle, rounded to whole pixels (so within half a pixel).
        return _bbox_region(a.get_clip_box(), 1.0)
    try:
        if isinstance(a, Line2D):
            ms = a.get_markersize() * px if a.get_marker() not in (None, "None", "none", "", " ") else 0.0
            pad = 2 * a.get_linewidth() * px + ms + a.get_markeredgewidth() * px + _PAD
            return _bbox_region(a.get_window_extent(renderer), pad)
        if isinstance(a, Patch):
            # Strokes reach half a line width out, miter joins further: pad by 4 widths.
            return _bbox_region(a.get_window_extent(renderer), 4 * a.get_linewidth() * px + _PAD)
        if isinstance(a, Text):
            if a.get_bbox_patch() is not None or getattr(a, "arrow_patch", None) is not None:
                return None  # a box or an arrow (Annotation) drawn around or away from the text
            # Glyph ink reaches past the text's layout box: measured (DejaVu, mathtext, 4-110 px
            # fonts) up to 0.2 x the font size sideways (italic overhang) and 0.05 x + 1 px up or
            # down. Pad by more than that; rotated text by the larger pad both ways.
            size = a.get_fontsize() * px
            pad_x, pad_y = _PAD + 0.3 * size, 1.5 + 0.1 * size
            if a.get_rotation() % 180 != 0:
                pad_x = pad_y = max(pad_x, pad_y)
            return _bbox_region(a.get_window_extent(renderer), pad_x, pad_y)
        if isinstance(a, AxesImage):
            return _bbox_region(a.get_window_extent(renderer), _PAD)
        if isinstance(a, Legend):
            if a.shadow:
                return None
            return _bbox_region(a.get_window_extent(renderer), 4 * a.get_frame().get_linewidth() * px + _PAD)
        if isinstance(a, Axis):
            return _union(_region(c, renderer, dpi) for c in (a.label, a.offsetText, *a.majorTicks, *a.minorTicks))
        if isinstance(a, Tick):
            return _union(_region(c, renderer, dpi) for c in a.get_children())
        if isinstance(a, Axes):
            parts = [_region(c, renderer, dpi) for c in _axes_draw_list(a)]
            parts.append(_bbox_region(a.bbox, 1.0 + _PAD))
            return _union(parts)
    except Exception:  # noqa: BLE001 - an extent we cannot compute is an extent we do not know
        return None
    return None


def _footprint(artist: Artist, renderer):
    """The pixels artist.draw() changes, measured: the box of what it draws on a cleared canvas.

    Used for the artists that stay still (the moving ones can only be bounded, see _region).
    """
    renderer.clear()
    artist.draw(renderer)
    alpha = np.asarray(renderer.buffer_rgba())[:, :, 3]
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return EMPTY
    cols = np.flatnonzero(alpha.any(axis=0))
    h = alpha.shape[0]
    # Pixel (row r, column c) covers display x in [c, c + 1] and y in [h - r - 1, h - r].
    return (cols[0] - 0.5, h - rows[-1] - 1.5, cols[-1] + 1.5, h - rows[0] + 0.5)


# ----------------------------------------------------------------------------------- draw order


def _axes_draw_list(ax: Axes) -> list:
    """The artists Axes.draw draws, in its order, while the canvas is saving."""
    arts = ax.get_children()
    arts.remove(ax.patch)
    frame = ax.axison and ax.get_frame_on()
    if not frame:
        for spine in ax.spines.values():
            arts.remove(spine)
    if not ax.axison:
        for axis in _axes_axes(ax):
            arts.remove(axis)
    arts = sorted(arts, key=attrgetter("zorder"))
    if frame:
        arts = [ax.patch] + arts
    return arts


def _axes_axes(ax: Axes) -> list:
    axis_map = getattr(ax, "_axis_map", None)
    if isinstance(axis_map, dict):
        return list(axis_map.values())
    return [ax.xaxis, ax.yaxis]


def _figure_draw_list(fig: Figure, expand: set[int]) -> list:
    """What Figure.draw draws, in order; the Axes in `expand` replaced by what they draw."""
    top = [fig.patch] + sorted(
        (a for a in fig.get_children() if a is not fig.patch and not a.get_animated()),
        key=lambda a: a.get_zorder(),
    )
    out = []
    for a in top:
        if id(a) in expand:
            out.extend(_axes_draw_list(a))
        else:
            out.append(a)
    return out


def _children(a: Artist) -> list:
    if isinstance(a, Axis):
        # Axis.get_children() would create tick objects; the ticks that exist are what was drawn.
        return [a.label, a.offsetText, *a.majorTicks, *a.minorTicks]
    return a.get_children()


_CONTAINERS = (Figure, Axes)


def _walk(fig: Figure, dynamic: set[int]):
    """(ids of every artist in tree order, the first non-dynamic artist marked stale or None)."""
    ids: list[int] = []
    stale: list = []
    try:
        from matplotlib.figure import SubFigure

        containers: tuple = (*_CONTAINERS, SubFigure)
    except ImportError:  # pragma: no cover - matplotlib < 3.4
        containers = _CONTAINERS

    def visit(a, dyn, in_tick):
        in_tick = in_tick or isinstance(a, Tick)
        if not in_tick:  # ticks are made by drawing, as many as the tick positions need
            ids.append(id(a))
        if not dyn and not stale and a.stale and not isinstance(a, containers):
            stale.append(a)
        for c in _children(a):
            visit(c, dyn or id(c) in dynamic, in_tick)

    visit(fig, False, False)
    return tuple(ids), (stale[0] if stale else None)


def _clear_stale(root: Artist) -> None:
    """Mark an artist tree as drawn (a full draw leaves e.g. hidden artists stale)."""
    stack = [root]
    while stack:
        a = stack.pop()
        a.stale = False
        stack.extend(_children(a))


def _describe(a: Artist) -> str:
    label = ""
    if isinstance(a, Text):
        label = f" {a.get_text()[:30]!r}"
    elif isinstance(a.get_label(), str) and a.get_label() and not a.get_label().startswith("_"):
        label = f" {a.get_label()!r}"
    return f"{type(a).__name__}{label}"


# ------------------------------------------------------------------------------- the frame maker


class _Background:
    """A kept picture of the figure without the dynamic artists, and what it depends on."""

    __slots__ = ("geom", "picture", "draw", "checks")

    def __init__(self, geom, picture, draw, checks):
        self.geom = geom  # the static state it was drawn in (see _Recorder._probe)
        self.picture = picture  # canvas.copy_from_bbox(fig.bbox)
        self.draw = draw  # artists drawn on top each frame, in draw order
        self.checks = checks  # [(returned artist, [(static artist, region) drawn after it])]


class _Recorder:
    """Draws the frames of one figure for one save: full redraws or restore-and-draw-changes."""

    def __init__(self, fig: Figure, dpi: float, anims: list | None, blit: bool) -> None:
        self.fig = fig
        self.dpi = dpi
        self.anims = anims
        self.blit = blit and anims is not None
        self._off_reason = "blit=False" if not blit else "not saving a FuncAnimation"
        self.stats: dict[str, Any] = {
            "frames": 0,
            "blit": 0,
            "full": 0,
            "backgrounds": 0,
            "reasons": Counter(),
            "modes": [],
        }
        self._restore = contextlib.ExitStack()
        self._bg: _Background | None = None
        self._candidate = None  # geometry of the last full draw (a background is built when it holds)
        self._sticky: set[int] = set()  # static artists once found overlapping: always drawn on top
        try:
            canvas = fig.canvas
            if not isinstance(canvas, FigureCanvasAgg):
                # e.g. a bare Figure() (FigureCanvasBase) or a vector backend: draw with Agg.
                original = canvas
                canvas = FigureCanvasAgg(fig)
                self._restore.callback(fig.set_canvas, original)
            self.canvas = canvas
            with _attrs(canvas, manager=None):  # no GUI window resizing
                if getattr(canvas, "_device_pixel_ratio", 1) != 1:
                    self._restore.enter_context(_attrs(canvas, _device_pixel_ratio=1))
                if fig.dpi != dpi:
                    old_dpi = fig.dpi
                    fig.dpi = dpi

                    def put_back_dpi():
                        with _attrs(canvas, manager=None):
                            fig.dpi = old_dpi

                    self._restore.callback(put_back_dpi)
            self.size_inches = tuple(float(v) for v in fig.get_size_inches())
            # Animation.save calls draw_idle() after each frame, which on Agg is a full draw; the
            # writer draws each frame itself, so that draw is skipped while saving.
            if "draw_idle" in vars(canvas):
                self._restore.enter_context(_attrs(canvas, draw_idle=_noop))
            else:
                canvas.draw_idle = _noop
                self._restore.callback(delattr, canvas, "draw_idle")
        except BaseException:
            self._restore.close()
            raise

    def close(self) -> None:
        self._bg = None
        self._restore.close()

    # -- one frame ---------------------------------------------------------------------------

    def frame(self, savefig_kwargs: dict) -> memoryview:
        """Draw the current state of the figure; returns the canvas's RGBA buffer (no copy)."""
        fig, canvas = self.fig, self.canvas
        forced = None
        if tuple(float(v) for v in fig.get_size_inches()) != self.size_inches or fig.dpi != self.dpi:
            # Every frame has the size the save started with (as matplotlib's writers do).
            with _attrs(canvas, manager=None):
                fig.set_size_inches(self.size_inches, forward=False)
                if fig.dpi != self.dpi:
                    fig.dpi = self.dpi
            forced = "the figure was resized"
            self._bg = self._candidate = None
        self.stats["frames"] += 1
        with _attrs(canvas, _is_saving=True):
            reason = forced or self._try_blit(savefig_kwargs)
            if reason is not None:
                self._full(savefig_kwargs, reason)
            self.stats["modes"].append("full" if reason is not None else "blit")
        return canvas.buffer_rgba()

    def _full(self, savefig_kwargs: dict, reason: str) -> None:
        self.stats["full"] += 1
        self.stats["reasons"][reason] += 1
        _log.debug("frame %d: full redraw (%s)", self.stats["frames"] - 1, reason)
        with _savefig_style(self.fig, savefig_kwargs):
            self.canvas.draw()
        if self.blit:
            _clear_stale(self.fig)

    def _returned(self):
        """The artists this frame's animation functions returned, or (None, why not)."""
        arts: list = []
        seen: set[int] = set()
        for anim in self.anims or ():
            if not isinstance(anim, _animation.FuncAnimation):
                return None, f"{type(anim).__name__} is not a FuncAnimation"
            drawn = getattr(anim, "_drawn_artists", None)
            if drawn is None:
                return None, "the animation function returned no artists"
            try:
                drawn = list(drawn)
            except TypeError:
                return None, "the animation function did not return a sequence of artists"
            if not drawn:
                return None, "the animation function returned no artists"
            for a in drawn:
                if not isinstance(a, Artist):
                    return None, "the animation function did not return a sequence of artists"
                if id(a) not in seen:
                    seen.add(id(a))
                    arts.append(a)
        return arts, None

    def _probe(self, returned: list):
        """Everything the kept background depends on, computed as a full draw would.

        Returns ((geometry, primary axes, what changed or None), None), or (None, why this figure
        cannot be blitted now).
        """
        fig = self.fig
        if type(fig).draw is not Figure.draw:
            return None, f"{type(fig).__name__} overrides Figure.draw"
        if fig.suppressComposite is False:
            return None, "the figure composites images"
        renderer = self.canvas.get_renderer()
        dynamic = {id(a) for a in returned}
        primary: dict[int, Axes] = {}
        children: dict[int, set] = {}
        for a in returned:
            ax = a.axes
            if isinstance(a, (Axes, Figure)) or ax is None or _parent_figure(ax) is not fig:
                return None, f"returned {_describe(a)} is not drawn by an Axes of the figure"
            if type(ax).draw is not Axes.draw:
                return None, f"{type(ax).__name__} draws itself in its own way"
            if ax.get_rasterization_zorder() is not None:
                return None, "the Axes has a rasterization zorder"
            if not ax.get_visible():
                return None, "the Axes of a returned artist is hidden"
            if id(ax) not in primary:
                primary[id(ax)] = ax
                children[id(ax)] = {id(c) for c in ax.get_children()}
            if id(a) not in children[id(ax)]:
                return None, f"returned {_describe(a)} is not drawn directly by its Axes"
        # First what the animation function changed (the steps below mark artists stale too).
        ids, stale = _walk(fig, dynamic)
        # What Figure.draw does before drawing anything: layout, then aspect.
        engine = fig.get_layout_engine()
        if fig.axes and engine is not None:
            try:
                engine.execute(fig)
            except ValueError:
                pass
        axes_geom = []
        for ax in fig.axes:
            view = ax.viewLim.bounds  # applies pending autoscaling, as Axes.draw does
            locator = ax.get_axes_locator()
            ax.apply_aspect(locator(ax, renderer) if locator else None)
            view = ax.viewLim.bounds
            (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
            ticks = []
            for axis in _axes_axes(ax):
                major = axis.get_majorticklocs()
                minor = () if isinstance(axis.get_minor_locator(), NullLocator) else axis.get_minorticklocs()
                ticks.append(
                    (
                        tuple(major),
                        tuple(axis.major.formatter.format_ticks(major)),
                        tuple(minor),
                        tuple(axis.minor.formatter.format_ticks(minor)),
                        axis.major.formatter.get_offset(),
                        axis.get_scale(),
                    )
                )
            axes_geom.append(
                (
                    id(ax),
                    ax.get_position(original=False).bounds,
                    view,
                    ax.get_zorder(),
                    ax.get_visible(),
                    ax.axison,
                    ax.get_frame_on(),
                    tuple(ticks),
                    tuple(map(tuple, ax.transData.transform([(x0, y0), (x1, y1), ((x0 + x1) / 2, (y0 + y1) / 2)]))),
                )
            )
        geom = (
            id(renderer),
            fig.bbox.bounds,
            fig.dpi,
            tuple(axes_geom),
            ids,
            tuple(sorted((id(a), a.get_zorder(), id(a.axes)) for a in returned)),  # order returned: irrelevant
        )
        changed = None
        if stale is not None:
            changed = "first frame" if self.stats["full"] == 0 else f"{_describe(stale)} changed but was not returned"
        return (geom, primary, changed), None

    def _try_blit(self, savefig_kwargs: dict) -> str | None:
        """Draw the frame over the kept background if that gives the full redraw's pixels.

        Returns None when the frame was drawn, else why it must be redrawn in full.
        """
        if not self.blit:
            return self._off_reason
        returned, why = self._returned()
        if returned is None:
            self._bg = None
            return why
        probed, why = self._probe(returned)
        if probed is None:
            self._bg = self._candidate = None
            return why
        geom, primary, changed = probed
        geom = (_style_key(savefig_kwargs), geom)
        if changed is not None:
            # Redraw this frame in full; if nothing else changes, the next frame keeps a background.
            self._bg = None
            self._candidate = geom
            return changed
        renderer = self.canvas.get_renderer()
        bg = self._bg
        if bg is not None and bg.geom != geom:
            bg = self._bg = None
            self._candidate = geom
            return "the figure's layout, limits, ticks or artists changed"
        if bg is None:
            if self._candidate != geom:
                self._candidate = geom
                return "first frame of a new layout"
            if self.stats["backgrounds"] >= 4 and self.stats["backgrounds"] * 8 > self.stats["frames"]:
                self.blit = False
                self._off_reason = "the kept background went stale too often"
                _log.info("framepipe: the kept background kept going stale; drawing full frames from now on")
                return self._off_reason
            bg, why = self._build(geom, primary, returned, savefig_kwargs, renderer)
            if bg is None:
                self._candidate = None
                return why
        else:
            # The returned artists moved: they must not reach an artist drawn above them that is in
            # the kept picture.
            for art, above in bg.checks:
                r = _region(art, renderer, self.fig.dpi)
                for static, sr in above:
                    if _overlap(r, sr):
                        self._sticky.add(id(static))
                        self._bg = None
                        self._candidate = geom
                        return f"{_describe(art)} reached {_describe(static)}, which is drawn above it"
        self.canvas.restore_region(bg.picture)
        with _savefig_style(self.fig, savefig_kwargs):
            for a in bg.draw:
                a.draw(renderer)
        _clear_stale(self.fig)
        self.stats["blit"] += 1
        return None

    def _build(self, geom, primary, returned, savefig_kwargs, renderer):
        """Draw and keep the background for `returned`: (background, None) or (None, why not)."""
        fig = self.fig
        order = _figure_draw_list(fig, set(primary))
        index = {id(a): i for i, a in enumerate(order)}
        for a in returned:
            if id(a) not in index:
                return None, f"returned {_describe(a)} is not drawn directly by its Axes"
        dyn = {id(a) for a in returned}
        first = min(index[i] for i in dyn)
        dpi = fig.dpi
        regions: dict[int, Any] = {}
        on_top: list = []  # drawn each frame, in draw order
        drawn_regions: list = []
        with _savefig_style(fig, savefig_kwargs):
            footprints = {id(a): _footprint(a, renderer) for a in order[first:] if id(a) not in dyn}
        for a in order[first:]:
            r = _region(a, renderer, dpi) if id(a) in dyn else footprints[id(a)]
            regions[id(a)] = r
            if id(a) in dyn or id(a) in self._sticky or any(_overlap(r, d) for d in drawn_regions):
                on_top.append(a)
                drawn_regions.append(r)
        on_ids = {id(a) for a in on_top}
        checks = []
        for a in returned:
            above = [(s, regions[id(s)]) for s in order[index[id(a)] + 1 :] if id(s) not in on_ids]
            checks.append((a, above))
        positions = [ax.get_position(original=False).bounds for ax in fig.axes]
        with contextlib.ExitStack() as stack:
            for a in on_top:
                # Skip their draw() rather than hide them: hiding changes what a draw computes
                # (e.g. Axes.draw places the title using the title's extent, empty when hidden).
                stack.enter_context(_skip_draw(a))
            if fig.get_layout_engine() is not None:
                # The layout was computed with every artist (in _probe); keep it.
                stack.enter_context(_props(fig, layout_engine="none"))
            with _savefig_style(fig, savefig_kwargs):
                self.canvas.draw()
        _clear_stale(fig)
        if positions != [ax.get_position(original=False).bounds for ax in fig.axes]:
            return None, "the layout depends on the returned artists"
        self.stats["backgrounds"] += 1
        picture = self.canvas.copy_from_bbox(fig.bbox)
        self._bg = _Background(geom, picture, on_top, checks)
        _log.debug(
            "frame %d: kept a background; drawing %s on top",
            self.stats["frames"] - 1,
            ", ".join(_describe(a) for a in on_top),
        )
        return self._bg, None


# -------------------------------------------------------------------------------------- progress


def _interactive() -> bool:
    """True in a terminal or a Jupyter kernel: where a progress bar is seen, not logged."""
    try:
        if sys.stderr is not None and sys.stderr.isatty():
            return True
    except (AttributeError, ValueError):
        pass
    ipython = sys.modules.get("IPython")
    if ipython is not None:
        try:
            shell = ipython.get_ipython()
        except Exception:  # noqa: BLE001
            return False
        return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"
    return False


def _progress_bar(total: int | None, desc: str, force: bool):
    try:
        if not force and "ipykernel" in sys.modules:
            try:
                import ipywidgets  # noqa: F401
                from tqdm.notebook import tqdm
            except ImportError:
                from tqdm import tqdm
        else:
            from tqdm import tqdm
    except ImportError:
        if force:
            warnings.warn("progress=True needs tqdm (pip install tqdm)", FramepipeWarning, stacklevel=4)
        return None
    return tqdm(total=total, desc=desc, unit="frame", leave=True, file=sys.stderr)


# ---------------------------------------------------------------------------------------- writer


class FramepipeWriter(_animation.AbstractMovieWriter):
    """A matplotlib movie writer that encodes with framepipe (x264 in-process), no ffmpeg.

    Use it by name, ``ani.save("out.mp4", writer="framepipe", fps=30)``, or as an instance::

        ani.save("out.mp4", writer=FramepipeWriter(fps=30, crf=20, preset="slow"))

    Args:
        fps: frames per second (int, float or Fraction; 29.97 is taken as 30000/1001).
        codec: only H.264 exists for MP4 (``"h264"``/``"libx264"``); another codec for an MP4 is
            refused. For a GIF it does not apply and is ignored.
        bitrate: kbit/s; ``None`` or ``-1`` (matplotlib's default) means constant quality (crf).
        extra_args: ignored: there is no command line to pass them to.
        metadata: MP4 tags, as for matplotlib's writers (``{"title": ..., "artist": ...}``);
            see :class:`framepipe.VideoWriter`. A GIF has no such fields.

    As with matplotlib's own writers, an argument that does not apply to the output format
    (``bitrate``, ``crf``, ``tune``, ``keyint``, ``metadata`` or ``codec`` for a GIF; ``colors``,
    ``dither``, ``loop`` for an MP4; ``extra_args``) is ignored, with an INFO message on the
    ``framepipe.matplotlib`` logger, so code written for ``writer="pillow"`` or ``"ffmpeg"`` works
    unchanged.
        crf, preset, tune, keyint, threads: as for :class:`framepipe.VideoWriter` (MP4).
        colors, dither, loop: GIF palette size, dithering and loop count, as for
            :class:`framepipe.VideoWriter`; ``loop`` defaults to forever when the animation
            repeats (``repeat=True``, matplotlib's default) and to once when it does not.
        background: RGB that transparent pixels are composited over (default white).
        blit: draw only what changed when the animation allows it (see the module docstring).
        progress: ``None`` shows a tqdm bar when tqdm is installed and stderr is a terminal or
            Jupyter; ``True`` always (if tqdm is installed); ``False`` never.

    After saving, ``writer.result`` is the :class:`framepipe.VideoResult` and ``writer.stats``
    counts the frames drawn over the kept background (``"blit"``) and in full (``"full"``, with
    their ``"reasons"``); ``"modes"`` lists ``"blit"``/``"full"`` frame by frame.
    """

    supported_formats = ["rgba"]

    def __init__(
        self,
        fps: Any = 5,
        codec: str | None = None,
        bitrate: int | None = None,
        extra_args: list[str] | None = None,
        metadata: dict[str, str] | None = None,
        *,
        crf: float | None = None,
        preset: str = "medium",
        tune: str | None = None,
        keyint: int | None = None,
        threads: int | None = None,
        background: tuple[int, int, int] = (255, 255, 255),
        blit: bool = True,
        progress: bool | None = None,
        colors: int | None = None,
        dither: str | None = None,
        loop: int | None = None,
    ) -> None:
        # Checked against the output format in setup(), once the file name is known.
        self.requested_codec = None if codec is None else str(codec)
        self.extra_args = list(extra_args) if extra_args else []
        super().__init__(fps=fps, metadata=metadata, codec="h264", bitrate=bitrate)
        if bitrate is not None and not isinstance(bitrate, (int, float)):
            raise ParameterError(f"bitrate must be a number of kbit/s, got {bitrate!r}")
        self.frame_format = "rgba"
        self.crf = crf
        self.preset = preset
        self.tune = tune
        self.keyint = keyint
        self.threads = threads
        self.background = background
        self.gif_options = {"colors": colors, "dither": dither, "loop": loop}
        self.blit = bool(blit)
        self.progress = progress
        self.result: VideoResult | None = None
        self.stats: dict[str, Any] = {}
        self._recorder: _Recorder | None = None
        self._video: VideoWriter | None = None
        self._bar = None
        self._total: int | None = None

    @classmethod
    def isAvailable(cls) -> bool:  # noqa: N802 - matplotlib's name
        """Always True: x264 is linked into framepipe, nothing else is needed."""
        return True

    def _encoder_options(self) -> dict:
        rate = self.bitrate if self.bitrate is not None and self.bitrate > 0 else None
        return dict(
            crf=self.crf,
            bitrate=None if rate is None else int(rate),
            preset=self.preset,
            tune=self.tune,
            keyint=self.keyint,
            threads=self.threads,
            background=self.background,
        )

    def _options_for(self, is_gif: bool, outfile: Any) -> dict:
        """The VideoWriter options for this output; what does not apply to it is logged (INFO)
        and dropped, as matplotlib's writers ignore what a format cannot use."""
        options = self._encoder_options()
        ignored = []
        codec = self.requested_codec
        if is_gif:
            mp4_only = ("crf", "bitrate", "tune", "keyint")
            ignored += [f"{k}={options.pop(k)!r}" for k in mp4_only if options[k] is not None]
            options.update({k: v for k, v in self.gif_options.items() if v is not None})
            if self.metadata:
                ignored.append(f"metadata={dict(self.metadata)!r}")
            if codec is not None and codec.lower() not in _H264_NAMES | {"gif"}:
                ignored.append(f"codec={codec!r}")
        else:
            if codec is not None and codec.lower() not in _H264_NAMES:
                raise UnsupportedError(
                    f"the framepipe writer encodes MP4 as H.264 only; codec {codec!r} is not available"
                )
            ignored += [f"{k}={v!r}" for k, v in self.gif_options.items() if v is not None]
            if self.metadata:
                options["metadata"] = dict(self.metadata)
        if self.extra_args:
            ignored.append(f"extra_args={self.extra_args!r} (framepipe runs no external program)")
        if ignored:
            _log.info(
                "framepipe: %s do%s not apply to %s output (%s); ignored",
                ", ".join(ignored),
                "es" if len(ignored) == 1 else "",
                "GIF" if is_gif else "MP4",
                os.fspath(outfile),
            )
        return options

    def setup(self, fig: Figure, outfile: Any, dpi: float | None = None) -> None:
        """Start writing `outfile` from `fig` at `dpi` (default: the figure's)."""
        super().setup(fig, outfile, dpi)  # checks the directory exists; sets fig, outfile, dpi
        self.result = None
        anims = _calling_animations(fig)
        is_gif = output_format(str(os.fspath(outfile)), None) == "gif"
        options = self._options_for(is_gif, outfile)
        if is_gif and self.gif_options["loop"] is None and anims:
            # Like to_html5_video: a GIF loops when the animation repeats, else plays once.
            options["loop"] = 0 if all(getattr(a, "_repeat", True) for a in anims) else 1
        recorder = _Recorder(fig, float(self.dpi), anims, self.blit)
        try:
            self._video = VideoWriter(outfile, fps=self.fps, **options)
        except BaseException:
            recorder.close()
            raise
        self._recorder = recorder
        self.stats = recorder.stats
        self._frames = 0
        self._total = None
        if anims is not None:
            counts = [getattr(a, "_save_count", None) for a in anims]
            if counts and None not in counts:
                self._total = int(min(counts))  # Animation.save zips the animations' frames
        self._bar = None
        if self.progress is not False and (self.progress or _interactive()):
            self._bar = _progress_bar(self._total, os.path.basename(os.fspath(outfile)), bool(self.progress))

    def grab_frame(self, **savefig_kwargs: Any) -> None:
        """Draw the figure and encode it as the next frame.

        ``facecolor``, ``edgecolor`` and ``transparent`` act as in ``savefig``; ``dpi``,
        ``bbox_inches`` and ``format`` are refused (as by matplotlib's writers).
        """
        _validate_grab_kwargs(savefig_kwargs)
        if self._recorder is None or self._video is None:
            raise ParameterError("grab_frame() before setup(): use writer.saving(fig, outfile, dpi)")
        buffer = self._recorder.frame(savefig_kwargs)
        self._emit(buffer)
        self._frames += 1
        if self._bar is not None:
            self._bar.update(1)

    def _emit(self, rgba: memoryview) -> None:
        """Hand one frame (the canvas's own RGBA buffer, HxWx4) to the encoder."""
        if self._frames == 0:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", FramepipeWarning)
                self._video.write(rgba)
            for w in caught:
                if issubclass(w.category, FramepipeWarning) and "is odd" in str(w.message):
                    _log.info("framepipe: %s", w.message)
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        else:
            self._video.write(rgba)

    def finish(self) -> None:
        """Finish the file (``writer.result`` then describes it) and restore the figure."""
        in_flight = sys.exc_info()[1]
        try:
            if self._video is not None:
                try:
                    self.result = self._video.close()
                except Exception as e:
                    if in_flight is None:
                        raise
                    in_flight.add_note(f"framepipe: finishing {self.outfile} also failed: {e}")
        finally:
            self._video = None
            if self._bar is not None:
                self._bar.close()
                self._bar = None
            if self._recorder is not None:
                self._recorder.close()
                self._recorder = None
                s = self.stats
                _log.debug(
                    "framepipe: %d frames, %d over a kept background, %d redrawn in full (%s)",
                    s["frames"],
                    s["blit"],
                    s["full"],
                    dict(s["reasons"]),
                )


def register() -> None:
    """Register :class:`FramepipeWriter` as matplotlib's movie writer ``"framepipe"``."""
    _animation.writers.register("framepipe")(FramepipeWriter)


register()


# ------------------------------------------------------------------------------- conveniences


def save(
    anim: _animation.Animation,
    path: Any,
    fps: Any = None,
    *,
    dpi: float | None = None,
    savefig_kwargs: dict | None = None,
    progress_callback: Any = None,
    extra_anim: list | None = None,
    **options: Any,
) -> VideoResult:
    """``anim.save(path, writer=FramepipeWriter(...))`` that returns the :class:`VideoResult`.

    `fps` defaults to the animation's interval; `options` are :class:`FramepipeWriter`'s. In
    Jupyter the result displays as the video.
    """
    if fps is None:
        fps = 1000.0 / getattr(anim, "_interval", 200)
    writer = FramepipeWriter(fps=fps, **options)
    anim.save(
        path,
        writer=writer,
        dpi=dpi,
        savefig_kwargs=savefig_kwargs,
        progress_callback=progress_callback,
        extra_anim=extra_anim,
    )
    return writer.result


def to_html5_video(anim: _animation.Animation, embed_limit: float | None = None, **options: Any) -> str:
    """The fast equivalent of ``anim.to_html5_video()``: an HTML5 ``<video>`` with the MP4 inline.

    Like matplotlib's, it uses the animation's interval as the frame rate, loops when the
    animation repeats, and returns ``"Video too large to embed."`` (logging a warning) when the
    base64 text is larger than `embed_limit` MB (default :rc:`animation.embed_limit`).
    `options` are :class:`FramepipeWriter`'s (``crf``, ``preset``, ``dpi``...).
    """
    from .display import Video

    limit = mpl._val_or_rc(embed_limit, "animation.embed_limit")
    dpi = options.pop("dpi", None)
    options.setdefault("progress", False)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "animation.mp4")
        result = save(anim, path, dpi=dpi, **options)
        video = Video(
            path,
            embed_limit=limit,
            loop=bool(getattr(anim, "_repeat", False)),
            width=result.width,
            height=result.height,
        )
        if not video.embeddable:
            _log.warning(
                "Animation movie is %s bytes, exceeding the limit of %s MB. Pass embed_limit= "
                "(or set the animation.embed_limit rc parameter) to embed it anyway.",
                video.embedded_size,
                limit,
            )
            return "Video too large to embed."
        return video.to_html()


def render(make_figure, update, frames, path, fps=30, **options):
    """Render a matplotlib animation on every core (or a Dask cluster) into one MP4.

    Each worker builds its own figure once with ``make_figure()`` (a Figure, or a tuple such as
    ``(fig, ax, line)``), then for each frame calls ``update(state, frame)``; ``frames`` is an int
    or a sequence of per-frame values, as for ``FuncAnimation``. Options are those of
    :func:`framepipe.render` (``workers``, ``executor``, ``chunk_frames``, ``progress``) and of
    :class:`framepipe.VideoWriter`. Each frame is a full redraw (blit-aware drawing is for
    :class:`FramepipeWriter`; workers here redraw their own figure).
    """
    from .render import render_figures

    return render_figures(make_figure, update, frames, path, fps=fps, **options)
