"""The blit recorder: keeps a picture of a figure without its moving artists and draws each
frame as that picture plus the artists that changed, checking before every frame that the
picture is still right (see the package docstring)."""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

import matplotlib.animation as _animation
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from ._geometry import (
    Region,
    axes_axes,
    clear_stale,
    describe,
    figure_draw_list,
    footprint,
    overlap,
    region,
    walk,
)
from ._style import attrs, noop, parent_figure, props, savefig_style, skip_draw, style_key

# Every part of the writer logs as framepipe.matplotlib (the name users configure).
_log = logging.getLogger("framepipe.matplotlib")


# ------------------------------------------------------------------------------- the frame maker


@dataclass(frozen=True)
class AxisTicks:
    """What one axis's ticks and their labels are: a change means the background is stale."""

    major: tuple[float, ...]
    major_labels: tuple[str, ...]
    minor: tuple[float, ...]
    minor_labels: tuple[str, ...]
    offset: str  # the formatter's offset text ("1e6", "+3.14")
    scale: str  # "linear", "log", ...


@dataclass(frozen=True)
class AxesLayout:
    """Where one Axes draws and what it shows, as a full draw computes it."""

    axes_id: int
    position: tuple[float, float, float, float]  # in figure fractions, after layout and aspect
    view: tuple[float, float, float, float]  # the data limits' bounds
    zorder: float
    visible: bool
    axis_on: bool
    frame_on: bool
    ticks: tuple[AxisTicks, ...]  # per axis (x, y; more for 3-D Axes)
    data_corners: tuple[tuple[float, float], ...]  # display pixels of the limits' corners, centre


@dataclass(frozen=True)
class Layout:
    """Everything the kept background depends on: two frames with equal layouts draw the same
    background (the returned artists aside)."""

    style: tuple  # the savefig style (facecolor, ...; see _style.style_key)
    renderer_id: int
    figure_bounds: tuple[float, float, float, float]  # display pixels
    dpi: float
    axes: tuple[AxesLayout, ...]
    artist_ids: tuple[int, ...]  # every artist in the figure, in tree order
    returned: tuple[tuple[int, float, int], ...]  # (id, zorder, id of its Axes), sorted


@dataclass(frozen=True)
class Check:
    """A returned artist and the kept artists drawn after it, with where they draw: if the
    returned artist moves into one of them, the kept picture is wrong there."""

    artist: Artist
    above: tuple[tuple[Artist, Region | None], ...]


@dataclass(slots=True)
class Background:
    """A kept picture of the figure without the dynamic artists, and what it depends on."""

    layout: Layout  # the state it was drawn in (see Recorder._probe)
    picture: Any  # canvas.copy_from_bbox(fig.bbox)
    draw: list[Artist]  # artists drawn on top each frame, in draw order
    checks: list[Check]


class Recorder:
    """Draws the frames of one figure for one save: full redraws or restore-and-draw-changes."""

    def __init__(self, fig: Figure, dpi: float, anims: list | None, blit: bool) -> None:
        self.fig = fig
        self.dpi = dpi
        self.anims = anims
        self.blit = blit and anims is not None
        self._off_reason = "blit=False" if not blit else "not saving a FuncAnimation"
        self._init_state()
        self._restore = contextlib.ExitStack()
        try:
            canvas = fig.canvas
            if not isinstance(canvas, FigureCanvasAgg):
                # e.g. a bare Figure() (FigureCanvasBase) or a vector backend: draw with Agg.
                original = canvas
                canvas = FigureCanvasAgg(fig)
                self._restore.callback(fig.set_canvas, original)
            self.canvas = canvas
            with attrs(canvas, manager=None):  # no GUI window resizing
                if getattr(canvas, "_device_pixel_ratio", 1) != 1:
                    self._restore.enter_context(attrs(canvas, _device_pixel_ratio=1))
                if fig.dpi != dpi:
                    old_dpi = fig.dpi
                    fig.dpi = dpi

                    def put_back_dpi():
                        with attrs(canvas, manager=None):
                            fig.dpi = old_dpi

                    self._restore.callback(put_back_dpi)
            width, height = fig.get_size_inches()
            self.size_inches = (float(width), float(height))
            # Animation.save calls draw_idle() after each frame, which on Agg is a full draw; the
            # writer draws each frame itself, so that draw is skipped while saving.
            if "draw_idle" in vars(canvas):
                self._restore.enter_context(attrs(canvas, draw_idle=noop))
            else:
                vars(canvas)["draw_idle"] = noop  # an instance attribute shadows the method
                self._restore.callback(delattr, canvas, "draw_idle")
        except BaseException:
            self._restore.close()
            raise

    def _init_state(self) -> None:
        self.stats: dict[str, Any] = {
            "frames": 0,
            "blit": 0,
            "full": 0,
            "backgrounds": 0,
            "reasons": Counter(),
            "modes": [],
        }
        self._bg: Background | None = None
        self._candidate: Layout | None = None  # of the last full draw (a background is kept when it holds)
        self._sticky: set[int] = set()  # static artists once found overlapping: always drawn on top

    def close(self) -> None:
        self._bg = None
        self._restore.close()

    # -- hooks for a drawer that is not saving (see _arrays.IncrementalDrawer) -----------------

    def _style(self, savefig_kwargs: dict):
        """The context every draw runs in: the savefig style of the frame."""
        return savefig_style(self.fig, savefig_kwargs)

    def _style_key(self, savefig_kwargs: dict) -> tuple:
        return style_key(savefig_kwargs)

    def _too_stale(self) -> bool:
        """Whether kept pictures go stale so often that drawing each frame in full is cheaper
        (a new picture costs a draw of its own): more than one picture per 8 frames of the save."""
        return self.stats["backgrounds"] >= 4 and self.stats["backgrounds"] * 8 > self.stats["frames"]

    # -- one frame ---------------------------------------------------------------------------

    def frame(self, savefig_kwargs: dict) -> memoryview:
        """Draw the current state of the figure; returns the canvas's RGBA buffer (no copy)."""
        fig, canvas = self.fig, self.canvas
        forced = None
        if tuple(float(v) for v in fig.get_size_inches()) != self.size_inches or fig.dpi != self.dpi:
            # Every frame has the size the save started with (as matplotlib's writers do).
            with attrs(canvas, manager=None):
                fig.set_size_inches(self.size_inches, forward=False)
                if fig.dpi != self.dpi:
                    fig.dpi = self.dpi
            forced = "the figure was resized"
            self._bg = self._candidate = None
        self.stats["frames"] += 1
        with attrs(canvas, _is_saving=True):
            reason = forced or self._try_blit(savefig_kwargs)
            if reason is not None:
                self._full(savefig_kwargs, reason)
            self.stats["modes"].append("full" if reason is not None else "blit")
        return canvas.buffer_rgba()

    def _full(self, savefig_kwargs: dict, reason: str) -> None:
        self.stats["full"] += 1
        self.stats["reasons"][reason] += 1
        _log.debug("frame %d: full redraw (%s)", self.stats["frames"] - 1, reason)
        with self._style(savefig_kwargs):
            self.canvas.draw()
        if self.blit:
            clear_stale(self.fig)

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

    def _probe(self, returned: list, style: tuple):
        """Everything the kept background depends on, computed as a full draw would.

        Returns ((layout, primary axes, what changed or None), None), or (None, why this figure
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
            if isinstance(a, (Axes, Figure)) or ax is None or parent_figure(ax) is not fig:
                return None, f"returned {describe(a)} is not drawn by an Axes of the figure"
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
                return None, f"returned {describe(a)} is not drawn directly by its Axes"
        # First what the animation function changed (the steps below mark artists stale too).
        ids, stale = walk(fig, dynamic)
        # What Figure.draw does before drawing anything: layout, then aspect.
        engine = fig.get_layout_engine()
        if fig.axes and engine is not None:
            try:
                engine.execute(fig)
            except ValueError:
                pass
        axes_layouts = []
        for ax in fig.axes:
            view = ax.viewLim.bounds  # applies pending autoscaling, as Axes.draw does
            locator = ax.get_axes_locator()
            # matplotlib's stub says an Axes always has a locator; it has none by default.
            ax.apply_aspect(locator(ax, renderer) if locator else None)  # type: ignore[truthy-function]
            view = ax.viewLim.bounds
            (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
            ticks = []
            for axis in axes_axes(ax):
                major = axis.get_majorticklocs()
                minor = () if isinstance(axis.get_minor_locator(), NullLocator) else axis.get_minorticklocs()
                ticks.append(
                    AxisTicks(
                        major=tuple(major),
                        major_labels=tuple(axis.major.formatter.format_ticks(major)),
                        minor=tuple(minor),
                        minor_labels=tuple(axis.minor.formatter.format_ticks(minor)),
                        offset=axis.major.formatter.get_offset(),
                        scale=axis.get_scale(),
                    )
                )
            corners = ax.transData.transform([(x0, y0), (x1, y1), ((x0 + x1) / 2, (y0 + y1) / 2)])
            axes_layouts.append(
                AxesLayout(
                    axes_id=id(ax),
                    position=ax.get_position(original=False).bounds,
                    view=view,
                    zorder=ax.get_zorder(),
                    visible=ax.get_visible(),
                    axis_on=ax.axison,
                    frame_on=ax.get_frame_on(),
                    ticks=tuple(ticks),
                    data_corners=tuple(map(tuple, corners)),
                )
            )
        layout = Layout(
            style=style,
            renderer_id=id(renderer),
            figure_bounds=fig.bbox.bounds,
            dpi=fig.dpi,
            axes=tuple(axes_layouts),
            artist_ids=ids,
            # The order the artists were returned in does not matter.
            returned=tuple(sorted((id(a), a.get_zorder(), id(a.axes)) for a in returned)),
        )
        changed = None
        if stale is not None:
            changed = "first frame" if self.stats["full"] == 0 else f"{describe(stale)} changed but was not returned"
        return (layout, primary, changed), None

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
        probed, why = self._probe(returned, self._style_key(savefig_kwargs))
        if probed is None:
            self._bg = self._candidate = None
            return why
        layout, primary, changed = probed
        if changed is not None:
            # Redraw this frame in full; if nothing else changes, the next frame keeps a background.
            self._bg = None
            self._candidate = layout
            return changed
        renderer = self.canvas.get_renderer()
        bg = self._bg
        if bg is not None and bg.layout != layout:
            bg = self._bg = None
            self._candidate = layout
            return "the figure's layout, limits, ticks or artists changed"
        if bg is None:
            if self._candidate != layout:
                self._candidate = layout
                return "first frame of a new layout"
            if self._too_stale():
                self.blit = False
                self._off_reason = "the kept background went stale too often"
                _log.info("framepipe: the kept background kept going stale; drawing full frames from now on")
                return self._off_reason
            bg, why = self._build(layout, primary, returned, savefig_kwargs, renderer)
            if bg is None:
                self._candidate = None
                return why
        else:
            # The returned artists moved: they must not reach an artist drawn above them that is in
            # the kept picture.
            for check in bg.checks:
                r = region(check.artist, renderer, self.fig.dpi)
                for static, sr in check.above:
                    if overlap(r, sr):
                        self._sticky.add(id(static))
                        self._bg = None
                        self._candidate = layout
                        return f"{describe(check.artist)} reached {describe(static)}, which is drawn above it"
        self.canvas.restore_region(bg.picture)
        with self._style(savefig_kwargs):
            for a in bg.draw:
                a.draw(renderer)
        clear_stale(self.fig)
        self.stats["blit"] += 1
        return None

    def _build(self, layout: Layout, primary, returned, savefig_kwargs, renderer):
        """Draw and keep the background for `returned`: (background, None) or (None, why not)."""
        fig = self.fig
        order = figure_draw_list(fig, set(primary))
        index = {id(a): i for i, a in enumerate(order)}
        for a in returned:
            if id(a) not in index:
                return None, f"returned {describe(a)} is not drawn directly by its Axes"
        dyn = {id(a) for a in returned}
        first = min(index[i] for i in dyn)
        dpi = fig.dpi
        regions: dict[int, Region | None] = {}
        on_top: list[Artist] = []  # drawn each frame, in draw order
        drawn_regions: list[Region | None] = []
        with self._style(savefig_kwargs):
            footprints = {id(a): footprint(a, renderer) for a in order[first:] if id(a) not in dyn}
        for a in order[first:]:
            r = region(a, renderer, dpi) if id(a) in dyn else footprints[id(a)]
            regions[id(a)] = r
            if id(a) in dyn or id(a) in self._sticky or any(overlap(r, d) for d in drawn_regions):
                on_top.append(a)
                drawn_regions.append(r)
        on_ids = {id(a) for a in on_top}
        checks = []
        for a in returned:
            above = tuple((s, regions[id(s)]) for s in order[index[id(a)] + 1 :] if id(s) not in on_ids)
            checks.append(Check(a, above))
        positions = [ax.get_position(original=False).bounds for ax in fig.axes]
        with contextlib.ExitStack() as stack:
            for a in on_top:
                # Skip their draw() rather than hide them: hiding changes what a draw computes
                # (e.g. Axes.draw places the title using the title's extent, empty when hidden).
                stack.enter_context(skip_draw(a))
            if fig.get_layout_engine() is not None:
                # The layout was computed with every artist (in _probe); keep it.
                stack.enter_context(props(fig, layout_engine="none"))
            with self._style(savefig_kwargs):
                self.canvas.draw()
        clear_stale(fig)
        if positions != [ax.get_position(original=False).bounds for ax in fig.axes]:
            return None, "the layout depends on the returned artists"
        self.stats["backgrounds"] += 1
        picture = self.canvas.copy_from_bbox(fig.bbox)
        self._bg = Background(layout, picture, on_top, checks)
        _log.debug(
            "frame %d: kept a background; drawing %s on top",
            self.stats["frames"] - 1,
            ", ".join(describe(a) for a in on_top),
        )
        return self._bg, None
