"""Planning :func:`framepipe.render`'s parallel runs: how many workers, how many frames in a
chunk, and the chunks."""

from __future__ import annotations

import contextlib
import math
import os
from concurrent.futures import Executor
from fractions import Fraction

from ..errors import ParameterError

# GIF chunks come back as raw frames, which the parent holds until it encodes them (up to
# workers + 1 chunks): short chunks keep that small (a GIF chunk has no keyframe or lookahead to
# pay for). 32 frames of 1280x720 are 88 MB.
GIF_CHUNK_FRAMES = 32


def default_chunk_frames(n_frames: int, workers: int, fps: Fraction) -> int:
    """Chunk size: the frames split evenly into k chunks per worker (so every worker gets the
    same share and none idles at the end), with the largest k <= 4 (more chunks balance uneven
    frame costs) that keeps chunks at least ~2 s long (each chunk starts with a keyframe and x264
    needs some frames of lookahead, so tiny chunks cost bytes); at most 600 frames per chunk,
    which bounds the parent's memory: it holds at most workers + 1 encoded chunks."""
    lo = max(16, round(2 * fps))
    size = math.ceil(n_frames / workers)
    for k in (4, 3, 2):
        if math.ceil(n_frames / (workers * k)) >= lo:
            size = math.ceil(n_frames / (workers * k))
            break
    return max(1, min(size, 600, n_frames))


def chunks(
    n_frames: int, workers: int, fps: Fraction, chunk_frames: int | None, gif: bool
) -> list[tuple[int, int, int]]:
    """The chunks as (index, first frame, stop), in order."""
    if chunk_frames is None:
        chunk_frames = default_chunk_frames(n_frames, workers, fps)
        if gif:
            chunk_frames = min(chunk_frames, GIF_CHUNK_FRAMES)
    if not isinstance(chunk_frames, int) or isinstance(chunk_frames, bool) or chunk_frames < 1:
        raise ParameterError(f"chunk_frames must be a positive integer, got {chunk_frames!r}")
    return [(c, s, min(s + chunk_frames, n_frames)) for c, s in enumerate(range(0, n_frames, chunk_frames))]


def executor_slots(executor: Executor) -> int:
    """How many tasks an executor runs at once: a Dask cluster's total threads, a standard
    pool's max_workers; else this machine's core count."""
    client = getattr(executor, "_client", None)  # dask.distributed's ClientExecutor
    if client is not None and hasattr(client, "nthreads"):
        with contextlib.suppress(Exception):
            n = sum(client.nthreads().values())
            if n > 0:
                return n
    n = getattr(executor, "_max_workers", None)
    if isinstance(n, int) and n > 0:
        return n
    return os.cpu_count() or 1
