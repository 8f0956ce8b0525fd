"""What one worker does for :func:`framepipe.render`: render a contiguous chunk of frames and
encode it (or, for GIF output, return the raw frames). Importable on any worker — a local
subprocess or a Dask worker — so ``framepipe`` must be installed there."""

from __future__ import annotations

import hashlib
import pickle
import threading
import traceback
from fractions import Fraction
from typing import Any, Callable

import numpy as np

# Per worker thread: the unpickled payload and its setup() state, keyed by the payload's hash,
# so a worker that renders many chunks builds its state (a figure, a dataset) once. Per thread,
# not per process: an executor with several threads per process (a Dask worker with
# threads_per_worker > 1, a ThreadPoolExecutor) runs chunks at the same time, and one shared
# state (one figure drawn by two chunks at once) would mix their frames.
_LOCAL = threading.local()


def _load(payload: bytes) -> tuple[Callable, tuple[bool, Any], tuple[bool, Fraction]]:
    key = hashlib.sha1(payload).hexdigest()
    if getattr(_LOCAL, "key", None) != key:
        make_frame, setup, use_time, fps = pickle.loads(payload)
        _LOCAL.key, _LOCAL.loaded = None, None  # one render at a time per thread: drop the last
        state = setup() if setup is not None else None
        _LOCAL.loaded = (make_frame, (setup is not None, state), (use_time, Fraction(*fps)))
        _LOCAL.key = key
    return _LOCAL.loaded


def frame_argument(i: int, use_time: bool, fps: Fraction):
    """Frame i's argument to make_frame: the index, or t = i / fps seconds computed exactly
    from the integer index (never by accumulating 1/fps)."""
    return float(Fraction(i) / fps) if use_time else i


def call_make_frame(make_frame, has_state: bool, state, i: int, use_time: bool, fps: Fraction):
    arg = frame_argument(i, use_time, fps)
    return make_frame(arg, state) if has_state else make_frame(arg)


def run_chunk(payload: bytes, chunk: int, start: int, stop: int, options: dict, progress=None):
    """Render frames [start, stop). Returns ("done", chunk, data, frames) where data is an
    encoded MP4 (bytes) or, with options["raw"], a list of frames; or ("error", chunk,
    frame_index, traceback_text, pickled_exception_or_None)."""
    from .writer import VideoWriter, _as_array

    i = start
    try:
        make_frame, (has_state, state), (use_time, fps) = _load(payload)
        if options.get("raw"):
            frames = []
            for i in range(start, stop):
                arr, _ = _as_array(call_make_frame(make_frame, has_state, state, i, use_time, fps))
                frames.append(np.array(arr, copy=True))
                if progress and (i - start) % 8 == 7:
                    progress(i - start + 1)
            return ("done", chunk, frames, stop - start)
        enc = dict(options["encode"])
        w = VideoWriter(None, options["fps"], **enc)
        for i in range(start, stop):
            w.write(call_make_frame(make_frame, has_state, state, i, use_time, fps))
            if progress and (i - start) % 8 == 7:
                progress(i - start + 1)
        res = w.close()
        return ("done", chunk, res.data, res.frames)
    except BaseException as e:  # noqa: BLE001 - everything is reported to the parent
        tb = traceback.format_exc()
        try:
            exc = pickle.dumps(e)
        except Exception:  # noqa: BLE001
            exc = None
        return ("error", chunk, i, tb, exc)
