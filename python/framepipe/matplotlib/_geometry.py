"""Where artists draw: regions in display pixels, what overlaps what, and the order in which a
figure and its Axes draw their artists."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from operator import attrgetter

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.axis import Axis, Tick
from matplotlib.collections import Collection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

# Every part of the writer logs as framepipe.matplotlib (the name users configure).
_log = logging.getLogger("framepipe.matplotlib")

PAD = 2.0  # display pixels added around every region: anti-aliased edges reach one pixel out


# --------------------------------------------------------------------------------------- regions


@dataclass(frozen=True)
class Region:
    """A box in display pixels (x from the left, y from the bottom) that bounds every pixel an
    artist's draw() can touch. Where that cannot be bounded the functions here give None, which
    overlaps everything; EMPTY (an invisible artist) overlaps nothing."""

    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Region) -> bool:
        return self.x0 <= other.x1 and other.x0 <= self.x1 and self.y0 <= other.y1 and other.y0 <= self.y1


EMPTY = Region(math.inf, math.inf, -math.inf, -math.inf)


def overlap(a: Region | None, b: Region | None) -> bool:
    """Whether two regions can share a pixel (None, an unbounded region, shares every pixel)."""
    if a is None or b is None:
        return True
    return a.overlaps(b)


def union(regions: Iterable[Region | None]) -> Region | None:
    x0 = y0 = math.inf
    x1 = y1 = -math.inf
    for r in regions:
        if r is None:
            return None
        x0, y0, x1, y1 = min(x0, r.x0), min(y0, r.y0), max(x1, r.x1), max(y1, r.y1)
    return Region(x0, y0, x1, y1)


def bbox_region(bbox, pad: float, pad_y: float | None = None) -> Region | None:
    x0, y0, x1, y1 = (float(v) for v in bbox.extents)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        # A null Bbox (nothing drawn) has +inf/-inf corners; anything else non-finite is unknown.
        return EMPTY if x0 > x1 and y0 > y1 else None
    pad_y = pad if pad_y is None else pad_y
    return Region(min(x0, x1) - pad, min(y0, y1) - pad_y, max(x0, x1) + pad, max(y0, y1) + pad_y)


def region(a: Artist, renderer, dpi: float) -> Region | None:
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
        return bbox_region(a.get_clip_box(), 1.0)
    try:
        if isinstance(a, Line2D):
            ms = a.get_markersize() * px if a.get_marker() not in (None, "None", "none", "", " ") else 0.0
            pad = 2 * a.get_linewidth() * px + ms + a.get_markeredgewidth() * px + PAD
            return bbox_region(a.get_window_extent(renderer), pad)
        if isinstance(a, Patch):
            # Strokes reach half a line width out, miter joins further: pad by 4 widths.
            return bbox_region(a.get_window_extent(renderer), 4 * float(a.get_linewidth()) * px + PAD)
        if isinstance(a, Text):
            if a.get_bbox_patch() is not None or getattr(a, "arrow_patch", None) is not None:
                return None  # a box or an arrow (Annotation) drawn around or away from the text
            # Glyph ink reaches past the text's layout box: measured (DejaVu, mathtext, 4-110 px
            # fonts) up to 0.2 x the font size sideways (italic overhang) and 0.05 x + 1 px up or
            # down. Pad by more than that; rotated text by the larger pad both ways.
            size = float(a.get_fontsize()) * px
            pad_x, pad_y = PAD + 0.3 * size, 1.5 + 0.1 * size
            if a.get_rotation() % 180 != 0:
                pad_x = pad_y = max(pad_x, pad_y)
            return bbox_region(a.get_window_extent(renderer), pad_x, pad_y)
        if isinstance(a, AxesImage):
            return bbox_region(a.get_window_extent(renderer), PAD)
        if isinstance(a, Legend):
            if a.shadow:
                return None
            return bbox_region(a.get_window_extent(renderer), 4 * a.get_frame().get_linewidth() * px + PAD)
        if isinstance(a, Axis):
            return union(region(c, renderer, dpi) for c in (a.label, a.offsetText, *a.majorTicks, *a.minorTicks))
        if isinstance(a, Tick):
            return union(region(c, renderer, dpi) for c in a.get_children())
        if isinstance(a, Axes):
            parts = [region(c, renderer, dpi) for c in axes_draw_list(a)]
            parts.append(bbox_region(a.bbox, 1.0 + PAD))
            return union(parts)
    except Exception:  # noqa: BLE001 - an extent we cannot compute is an extent we do not know
        return None
    return None


def footprint(artist: Artist, renderer) -> Region:
    """The pixels artist.draw() changes, measured: the box of what it draws on a cleared canvas.

    Used for the artists that stay still (the moving ones can only be bounded, see region).
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
    return Region(cols[0] - 0.5, h - rows[-1] - 1.5, cols[-1] + 1.5, h - rows[0] + 0.5)


# ----------------------------------------------------------------------------------- draw order


def axes_draw_list(ax: Axes) -> list:
    """The artists Axes.draw draws, in its order, while the canvas is saving."""
    arts = ax.get_children()
    arts.remove(ax.patch)
    frame = ax.axison and ax.get_frame_on()
    if not frame:
        for spine in ax.spines.values():
            arts.remove(spine)
    if not ax.axison:
        for axis in axes_axes(ax):
            arts.remove(axis)
    arts = sorted(arts, key=attrgetter("zorder"))
    if frame:
        arts = [ax.patch] + arts
    return arts


def axes_axes(ax: Axes) -> list:
    axis_map = getattr(ax, "_axis_map", None)
    if isinstance(axis_map, dict):
        return list(axis_map.values())
    return [ax.xaxis, ax.yaxis]


def figure_draw_list(fig: Figure, expand: set[int]) -> list:
    """What Figure.draw draws, in order; the Axes in `expand` replaced by what they draw."""
    top = [fig.patch] + sorted(
        (a for a in fig.get_children() if a is not fig.patch and not a.get_animated()),
        key=lambda a: a.get_zorder(),
    )
    out = []
    for a in top:
        if isinstance(a, Axes) and id(a) in expand:
            out.extend(axes_draw_list(a))
        else:
            out.append(a)
    return out


def children(a: Artist) -> list:
    if isinstance(a, Axis):
        # Axis.get_children() would create tick objects; the ticks that exist are what was drawn.
        return [a.label, a.offsetText, *a.majorTicks, *a.minorTicks]
    return a.get_children()


CONTAINERS = (Figure, Axes)


def walk(fig: Figure, dynamic: set[int]):
    """(ids of every artist in tree order, the first non-dynamic artist marked stale or None)."""
    ids: list[int] = []
    stale: list = []
    try:
        from matplotlib.figure import SubFigure

        containers: tuple = (*CONTAINERS, SubFigure)
    except ImportError:  # pragma: no cover - matplotlib < 3.4
        containers = CONTAINERS

    def visit(a, dyn, in_tick):
        in_tick = in_tick or isinstance(a, Tick)
        if not in_tick:  # ticks are made by drawing, as many as the tick positions need
            ids.append(id(a))
        if not dyn and not stale and a.stale and not isinstance(a, containers):
            stale.append(a)
        for c in children(a):
            visit(c, dyn or id(c) in dynamic, in_tick)

    visit(fig, False, False)
    return tuple(ids), (stale[0] if stale else None)


def clear_stale(root: Artist) -> None:
    """Mark an artist tree as drawn (a full draw leaves e.g. hidden artists stale)."""
    stack = [root]
    while stack:
        a = stack.pop()
        a.stale = False
        stack.extend(children(a))


def describe(a: Artist) -> str:
    label, own = "", a.get_label()
    if isinstance(a, Text):
        label = f" {a.get_text()[:30]!r}"
    elif isinstance(own, str) and own and not own.startswith("_"):
        label = f" {own!r}"
    return f"{type(a).__name__}{label}"
