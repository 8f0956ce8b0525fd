"""What one worker does for :func:`framepipe.render`: render a contiguous chunk of frames and
encode it (or, for GIF output, return the raw frames). Importable on any worker — a local
subprocess or a Dask worker — so ``framepipe`` must be installed there."""

from __future__ import annotations

import hashlib
import pickle
import signal
import threading
import traceback
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from .._frames import FLOAT_NOTES, as_array, numbered
from ..errors import ParameterError, UnsupportedError
from ..writer import VideoWriter

# Per worker thread: the unpickled payload and its setup() state, keyed by the payload's hash,
# so a worker that renders many chunks builds its state (a figure, a dataset) once. Per thread,
# not per process: an executor with several threads per process (a Dask worker with
# threads_per_worker > 1, a ThreadPoolExecutor) runs chunks at the same time, and one shared
# state (one figure drawn by two chunks at once) would mix their frames.
_LOCAL = threading.local()


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived during a render (see ``pool.signals_unwind``): unwinds
    it like Ctrl-C (temporary files removed, workers stopped); the process then ends by that
    signal. ``signum`` is the signal."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signum)
        self.signum = signum


# The stop signal this render received (set by ``pool.signals_unwind``'s handler).
# CPython prints and drops an exception raised where it cannot propagate (inside os.fork()'s
# at-fork hooks, a __del__, a weakref callback); :func:`check_stop` raises it again at the next
# frame or chunk, so that a render never goes on after a stop signal.
STOPPED: list[int] = []


def check_stop() -> None:
    """Raise the stop this render was asked for, if any (KeyboardInterrupt for SIGINT,
    :class:`Terminated` for SIGTERM and SIGHUP)."""
    if STOPPED:
        if STOPPED[0] == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(STOPPED[0])


def _load(payload: bytes) -> tuple[Callable, tuple[bool, Any], tuple[bool, Fraction]]:
    key = hashlib.sha1(payload).hexdigest()
    if getattr(_LOCAL, "key", None) != key:
        make_frame, setup, use_time, fps = pickle.loads(payload)
        _LOCAL.key, _LOCAL.loaded = None, None  # one render at a time per thread: drop the last
        state = setup() if setup is not None else None
        _LOCAL.loaded = (make_frame, (setup is not None, state), (use_time, Fraction(*fps)))
        _LOCAL.key = key
    return _LOCAL.loaded


def use_originals(payload: bytes, make_frame: Callable, setup: Callable | None, use_time: bool, fps: Fraction) -> None:
    """Chunks of `payload` run in this thread use these objects, not unpickled copies (a render
    that runs its chunks in the caller's process: make_frame sees the caller's own state, as
    with workers=1)."""
    _LOCAL.key, _LOCAL.loaded = None, None
    state = setup() if setup is not None else None
    _LOCAL.loaded = (make_frame, (setup is not None, state), (use_time, fps))
    _LOCAL.key = hashlib.sha1(payload).hexdigest()


def frame_argument(i: int, use_time: bool, fps: Fraction):
    """Frame i's argument to make_frame: the index, or t = i / fps seconds computed exactly
    from the integer index (never by accumulating 1/fps)."""
    return float(Fraction(i) / fps) if use_time else i


def call_make_frame(make_frame, has_state: bool, state, i: int, use_time: bool, fps: Fraction):
    arg = frame_argument(i, use_time, fps)
    return make_frame(arg, state) if has_state else make_frame(arg)


def run_chunk(payload: bytes, chunk: int, start: int, stop: int, options: dict, progress=None):
    """Render frames [start, stop). Returns ("done", chunk, data, frames, shape, above_one) where
    data is an encoded MP4 (bytes) or, with options["raw"], a list of frames, shape the first
    frame's array shape and above_one the index of the first float frame with values above 1
    (None if none: see ``_frames.above_one``; the render warns once); or ("error", chunk,
    frame_index, traceback_text, pickled_exception_or_None, stage, shape) where stage is
    "render" (make_frame raised), "write" (the frame was refused) or "finish", and shape the
    chunk's first frame's shape if one was accepted, else None."""
    i, stage, w = start, "render", None
    try:
        make_frame, (has_state, state), (use_time, fps) = _load(payload)
        if options.get("raw"):
            frames = []
            for i in range(start, stop):
                check_stop()
                stage = "render"
                frame = call_make_frame(make_frame, has_state, state, i, use_time, fps)
                stage = "write"
                try:
                    arr, kind = as_array(frame)
                except (ParameterError, UnsupportedError) as e:
                    raise numbered(i, e) from None
                # A bool frame is kept as bool: its 0/1 bytes mean black/white, not 0/255 levels.
                frames.append(np.array(arr.view(np.bool_) if kind == "bool" else arr, copy=True))
                if progress and (i - start) % 8 == 7:
                    progress(i - start + 1)
            # Raw frames: the render's own writer checks them (and warns) as it encodes them.
            return ("done", chunk, frames, stop - start, frames[0].shape, None)
        enc = dict(options["encode"])
        w = VideoWriter(None, options["fps"], **enc)
        w._native.first_index = start  # its errors number frames in the whole video
        notes: list[int] = []  # the chunk's writer reports a float frame above 1 here (its index in the video)
        token = FLOAT_NOTES.set(notes)
        try:
            for i in range(start, stop):
                check_stop()
                stage = "render"
                frame = call_make_frame(make_frame, has_state, state, i, use_time, fps)
                stage = "write"
                w.write(frame)
                if progress and (i - start) % 8 == 7:
                    progress(i - start + 1)
        finally:
            FLOAT_NOTES.reset(token)
        stage = "finish"
        res = w.close()
        return ("done", chunk, res.data, res.frames, w.frame_shape, notes[0] if notes else None)
    except Terminated:
        raise  # a render running chunks in its own process was told to stop
    except BaseException as e:  # noqa: BLE001 - everything is reported to the parent
        tb = traceback.format_exc()
        try:
            exc = pickle.dumps(e)
        except Exception:  # noqa: BLE001
            exc = None
        return ("error", chunk, i, tb, exc, stage, w.frame_shape if w is not None else None)
