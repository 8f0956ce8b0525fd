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
* ``figure_to_array(fig)`` (MoviePy's ``mplfig_to_npimage``; also what a clip's or a writer's
  frame that is a Figure goes through) uses the same machinery without an animation: the
  artists drawn directly by an Axes that matplotlib marks stale since the last call are drawn
  over a kept picture of the rest, with the same checks, so the pixels are a full draw's
  (see ``_arrays``); ``figure_to_array(fig, incremental=False)`` always draws in full.
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

from ._arrays import figure_stats, figure_to_array, mplfig_to_npimage
from ._writer import FramepipeWriter, register, render, save, to_html5_video

__all__ = [
    "FramepipeWriter",
    "save",
    "to_html5_video",
    "register",
    "render",
    "figure_to_array",
    "figure_stats",
    "mplfig_to_npimage",
]
