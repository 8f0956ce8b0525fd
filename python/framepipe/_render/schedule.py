"""The one scheduler of :func:`framepipe.render`'s parallel runs: which chunk starts next, what
the workers' answers mean, and appending finished chunks in order. Local worker processes
(``pool.run_local``) and executors (:func:`run_executor`) both drive it."""

from __future__ import annotations

import pickle
import sys
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

from .._frames import above_one_message
from .._warn import warn
from ..errors import FramepipeError, RenderError
from .task import check_stop, run_chunk

Chunk = tuple[int, int, int]  # (index, first frame, stop)


class Progress:
    """One progress display for all workers: tqdm when installed and stderr is a terminal, and
    the caller's ``progress_callback(done, total)``."""

    def __init__(self, total: int, progress: bool | None, callback: Callable[[int, int], None] | None):
        self.total, self.callback, self.bar = total, callback, None
        self.done_by_chunk: dict[int, int] = {}
        if progress is None:
            progress = sys.stderr.isatty()
        if progress:
            try:
                from tqdm.auto import tqdm

                # monitor_interval=0: no tqdm monitor thread, which would outlive the bar and
                # make later renders in this process start their workers the slow way (a
                # running thread rules out forking, see pool.fork_is_safe).
                bar_cls = type("_FramepipeBar", (tqdm,), {"monitor_interval": 0})
                self.bar = bar_cls(total=total, unit="frame", desc="framepipe.render")
            except ImportError:
                self.bar = None

    def update(self, chunk: int, done: int) -> None:
        before = sum(self.done_by_chunk.values())
        self.done_by_chunk[chunk] = max(done, self.done_by_chunk.get(chunk, 0))
        now = sum(self.done_by_chunk.values())
        if self.bar is not None and now > before:
            self.bar.update(now - before)
        if self.callback is not None and now > before:
            self.callback(now, self.total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class OrderedResults:
    """Chunks handed out in order and their results appended in order.

    At most ``window`` chunks are in flight or finished but waiting for an earlier one, which
    bounds the parent's memory. ``append(chunk, data, shape)`` receives each chunk's result (an
    encoded MP4, or raw frames for GIF output) and its first frame's shape; for a chunk that
    stopped at a refused frame it receives ``data=None`` (to check that first frame against
    frame 0) and the refusal is raised then, so the frame reported is the first refused one, as
    with one writer. A failure of make_frame is raised as soon as it arrives.
    """

    def __init__(
        self,
        chunks: list[Chunk],
        window: int,
        append: Callable[[int, Any, Any], object],  # what it returns is not used
        progress: Progress,
        on_done: Callable[[int, Any, Any], None] | None = None,
    ) -> None:
        """`on_done(chunk, data, shape)`, if given, receives each chunk's result as soon as it
        arrives, in any order (a resumable render keeps it then: a failure of a later chunk
        must not lose it)."""
        self._on_done = on_done
        self._warned_floats = False
        self.total = len(chunks)
        self._pending = deque(chunks)
        self._window = window
        self._append = append
        self._progress = progress
        self._done: dict[int, tuple] = {}
        self._next = 0

    @property
    def complete(self) -> bool:
        return self._next == self.total

    def can_start(self) -> bool:
        return bool(self._pending) and self._pending[0][0] < self._next + self._window

    def start(self) -> Chunk:
        return self._pending.popleft()

    def put_back(self, chunk: Chunk) -> None:
        """Run `chunk` again next (its worker died)."""
        self._pending.appendleft(chunk)

    def take(self, msg: tuple) -> bool:
        """A worker's message (see ``task.run_chunk``); True when it ends the chunk."""
        check_stop()
        kind = msg[0]
        if kind == "progress":
            self._progress.update(msg[1], msg[2])
            return False
        if kind == "error":
            if msg[5] == "render":
                raise_worker_error(msg)
            self._done[msg[1]] = ("error", msg, msg[6], None)
        else:
            _, c, data, frames, shape, above_one = msg
            if self._on_done is not None:
                self._on_done(c, data, shape)
                data = None  # kept by on_done; the in-order append checks the shape only
            self._done[c] = ("done", data, shape, above_one)
            self._progress.update(c, frames)
        while self._next in self._done:
            result, payload, shape, above_one = self._done.pop(self._next)
            if above_one is not None and not self._warned_floats:
                # Once per render (as once per writer), about the first such frame in the video.
                self._warned_floats = True
                warn(above_one_message(above_one))
            self._append(self._next, payload if result == "done" else None, shape)
            if result == "error":
                raise_worker_error(payload)
            self._next += 1
        return True


def raise_worker_error(msg: tuple) -> None:
    """Raise what a worker reported: a refused frame as the writer's own error (numbered in the
    whole video, as with ``workers=1``), a failure of make_frame as a RenderError with the
    frame index and the worker's traceback."""
    _, chunk, frame, tb, exc_bytes, stage, _ = msg
    cause = None
    if exc_bytes is not None:
        try:
            cause = pickle.loads(exc_bytes)
        except Exception:  # noqa: BLE001 - the traceback text still says what happened
            cause = None
    if isinstance(cause, KeyboardInterrupt):
        raise KeyboardInterrupt
    if stage != "render" and isinstance(cause, FramepipeError):
        raise cause
    err = RenderError(
        f"rendering frame {frame} failed in a worker: {type(cause).__name__ if cause else 'error'}"
        f"{': ' + str(cause) if cause else ''}\n\nWorker traceback:\n{tb}",
        frame=frame,
        worker_traceback=tb,
    )
    raise err from cause


def run_inline(payload: bytes, options: dict, results: OrderedResults) -> None:
    """Run the chunks one after another in this process (a resumable render with workers=1)."""
    while not results.complete:
        c, s, e = results.start()
        results.take(run_chunk(payload, c, s, e, options, lambda done, c=c: results.take(("progress", c, done))))


def run_executor(executor: Executor, workers: int, payload: bytes, options: dict, results: OrderedResults) -> None:
    """Run the chunks on a concurrent.futures Executor (e.g. Dask's): at most ``workers`` chunks
    submitted at a time, so an executor that queues tasks per worker (Dask does) cannot stack two
    chunks on one worker while another idles."""
    from concurrent.futures import FIRST_COMPLETED
    from concurrent.futures import wait as wait_futures

    inflight: set[Future] = set()
    try:
        while not results.complete:
            while len(inflight) < workers and results.can_start():
                c, s, e = results.start()
                inflight.add(executor.submit(run_chunk, payload, c, s, e, options))
            finished, _ = wait_futures(inflight, return_when=FIRST_COMPLETED)
            for f in finished:
                inflight.discard(f)
                results.take(f.result())
    finally:
        for f in inflight:
            f.cancel()
