"""The machinery of :func:`framepipe.render` (frames rendered on every core or on an executor,
joined into one video without re-encoding).

- ``api``: :func:`render` itself (arguments checked, then in this process, in chunks on workers,
  or resumable) and ``render_figures`` (``framepipe.matplotlib.render``)
- ``plan``: how many workers, the chunks
- ``schedule``: the one scheduler (which chunk next, results in order, progress)
- ``pool``: local worker processes (forked or spawned), stop signals
- ``task``: what a worker runs for one chunk (importable on any worker, Dask's too)
- ``worker``: the spawned worker process's entry point, ``python -m framepipe._render.worker``;
  never imported by this package's ``__init__`` (runpy would warn that it is already imported)
- ``resume``: the kept chunks of ``resume=True``
- ``output``: the output file's rules (checked first, written to a locked temporary, renamed)

``framepipe.render`` is the function; there is no module of that name.
"""

from .api import RENDER_KEYWORDS, check_frame_count, render, render_figures
from .output import refuse_own_source

__all__ = ["RENDER_KEYWORDS", "check_frame_count", "refuse_own_source", "render", "render_figures"]
