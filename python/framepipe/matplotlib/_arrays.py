"""A matplotlib Figure as an RGB array (MoviePy's ``mplfig_to_npimage``), drawn incrementally.

A frame function that changes a few artists of a figure and returns ``figure_to_array(fig)``
redraws the whole figure each time, though axes, ticks, labels and grid are the same from frame
to frame: at 1280x720 that full draw is most of a frame's cost. ``figure_to_array`` keeps, per
figure, a picture of the figure without the artists that change and draws only those over it,
with the blit recorder that the ``"framepipe"`` movie writer uses (``_recorder.Recorder``), so a
frame is drawn exactly as a full draw would draw it (the same pixels), or drawn in full.

What changed is what matplotlib marks *stale*: every setter (``set_data``, ``set_ydata``,
``set_text``, ``set_array``, ...) marks its artist stale. Artists drawn directly by an ordinary
(rectilinear) Axes that are stale are drawn on top of the kept picture, with everything drawn
after them that could overlap them; anything else marked stale (tick labels, a legend, an Axes'
limits, a figure-level text), a changed layout, size or dpi, or an artist added or removed means
a full draw. Nothing marked stale also means a full draw (the figure may have been changed behind
matplotlib's back). What cannot be seen: writing into an artist's data array in place while
another artist is changed through a setter; ``figure_to_array(fig, incremental=False)`` always
draws in full.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .._alpha import without_alpha
from .._keywords import checked
from ._geometry import CONTAINERS
from ._recorder import Recorder

#: How many frames an artist stays among the changed ones after it was last marked stale.
_RECENT = 4


class IncrementalDrawer(Recorder):
    """The recorder for plain ``canvas.draw()`` calls: no savefig style, nothing patched on the
    canvas or figure, and the changed artists found from their stale flags."""

    def __init__(self, fig: Figure, canvas: FigureCanvasAgg) -> None:
        # Not Recorder.__init__: nothing about the figure or its canvas is changed for a save.
        self.fig = fig
        self.canvas = canvas
        self.anims = None
        self.blit = True
        self._off_reason = ""
        self._init_state()
        self._restore = contextlib.ExitStack()
        self._recent: dict[int, tuple[Artist, int]] = {}  # id -> (artist, last frame it was stale)
        self._known: set[int] = set()  # ids of the Axes' children last frame
        self._built: list[int] = []  # the frames at which the last pictures were kept

    def _style(self, savefig_kwargs: dict):
        return contextlib.nullcontext()

    def _style_key(self, savefig_kwargs: dict) -> tuple:
        return ()

    def _too_stale(self) -> bool:
        # The figure may be drawn for ever (or for many movies): judged over the recent frames,
        # four pictures kept within 12 frames (a full draw and a new picture every few frames).
        self._built = [f for f in self._built if self.stats["frames"] - f < 12]
        return len(self._built) >= 4

    def _build(self, *args):
        self._built.append(self.stats["frames"])
        return super()._build(*args)

    def _returned(self):
        """The changed artists: those drawn directly by an Axes that are marked stale now or
        were in the last few frames (so that an artist changed every other frame does not make
        a new background every frame). An artist that was not there last frame is stale because
        it is new, which is a full draw anyway: it is not remembered as changing."""
        fig, frame = self.fig, self.stats["frames"]
        found: list[Artist] = []
        fresh = False
        known, self._known = self._known, set()
        for ax in fig.axes:
            for c in ax.get_children():
                self._known.add(id(c))
                if c is ax.patch or isinstance(c, (*CONTAINERS, Axis)):
                    continue  # changing these changes the whole Axes: a full draw
                if c.stale:
                    fresh = True
                    if id(c) in known:
                        self._recent[id(c)] = (c, frame)
                    found.append(c)
                elif id(c) in self._recent and frame - self._recent[id(c)][1] <= _RECENT:
                    found.append(c)
        self._recent = {k: v for k, v in self._recent.items() if frame - v[1] <= _RECENT}
        if not fresh:
            return None, "no artist drawn by an Axes was marked changed"
        return found, None

    def draw(self) -> None:
        self.stats["frames"] += 1
        reason = self._try_blit({})
        if reason is not None:
            self._full({}, reason)
        self.stats["modes"].append("full" if reason is not None else "blit")


# One drawer per figure, dropped with the figure (not pickled with it: the key is the figure).
_drawers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _agg_canvas(fig: Any) -> FigureCanvasAgg:
    canvas = fig.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        # e.g. a bare Figure() (FigureCanvasBase), a GUI canvas without buffer_rgba, a vector
        # backend: draw with Agg (this attaches the Agg canvas to the figure, as savefig would).
        canvas = FigureCanvasAgg(fig)
    return canvas


def draw_figure(fig: Any, incremental: bool = True) -> FigureCanvasAgg:
    """Draw `fig` (incrementally unless told not to) with an Agg canvas; returns the canvas,
    whose ``buffer_rgba()`` holds the pixels."""
    if not isinstance(fig, Figure):
        raise TypeError(f"figure_to_array takes a matplotlib Figure, got {type(fig).__name__}")
    canvas = _agg_canvas(fig)
    drawer = _drawers.get(fig)
    if not incremental:
        if drawer is not None:
            del _drawers[fig]
        canvas.draw()
    else:
        if drawer is None or drawer.canvas is not canvas:
            drawer = _drawers[fig] = IncrementalDrawer(fig, canvas)
        drawer.draw()
    return canvas


@checked
def figure_to_array(fig: Any, *, incremental: bool = True) -> np.ndarray:
    """Draw `fig` with an Agg canvas and return its pixels as a new (h, w, 3) uint8 array (the
    alpha is dropped, as MoviePy's ``mplfig_to_npimage`` does).

    With `incremental` (the default), the figure's unchanged part is kept from one call to the
    next and only the artists changed through matplotlib's setters are drawn again; the pixels
    are those of a full draw (see the module docstring for what is and is not seen as a change).
    ``incremental=False`` draws the whole figure every call.
    """
    return without_alpha(np.asarray(draw_figure(fig, incremental).buffer_rgba()))


@checked
def figure_stats(fig: Any) -> dict[str, Any]:
    """How `figure_to_array` drew `fig`'s frames so far: counts of ``"frames"``, ``"blit"``
    (drawn over the kept picture), ``"full"`` and ``"backgrounds"`` (pictures kept), the
    ``"reasons"`` for full draws, and each frame's mode in ``"modes"``."""
    drawer = _drawers.get(fig)
    if drawer is None:
        return {"frames": 0, "blit": 0, "full": 0, "backgrounds": 0, "reasons": {}, "modes": []}
    stats = dict(drawer.stats)
    stats["reasons"] = dict(stats["reasons"])
    stats["modes"] = list(stats["modes"])
    return stats


#: The name MoviePy 1.x users search for (``moviepy.video.io.bindings.mplfig_to_npimage``).
mplfig_to_npimage = figure_to_array
