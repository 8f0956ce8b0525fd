"""Parallel rendering: frames rendered on every core, or on a Dask cluster, stitched into one
MP4 without re-encoding.

Workers render contiguous chunks of frames and encode each chunk with identical encoder settings
(every chunk starts with an IDR frame and its GOPs are closed); the parent appends the chunks'
samples in order into one MP4 (the engine's ``Concat``), rebasing timestamps. Nothing is encoded
twice. The result is written under a temporary name in the target's directory and renamed into
place only when complete, so no partial file ever sits under the target name.
"""

from __future__ import annotations

import contextlib
import math
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import weakref
from collections import deque
from concurrent.futures import Executor, Future
from fractions import Fraction
from multiprocessing.connection import Connection, wait
from typing import Any, Callable

from . import _native
from ._render_task import call_make_frame, run_chunk
from .errors import FramepipeError, ParameterError, RenderError
from .writer import FpsLike, VideoResult, VideoWriter, _fps_pair, _metadata_pairs, _output_format


@contextlib.contextmanager
def _atomic_output(path: str):
    """A temporary file beside `path` (same directory, so the final rename is atomic) that
    replaces `path` only if the block completes; on any error (or Ctrl-C) it is removed, so no
    partial file ever sits under the target name."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".part", dir=directory)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _close_quietly(sink: Any) -> None:
    """Close a writer after an error; the original error is the one worth raising."""
    if sink is not None:
        with contextlib.suppress(Exception):
            sink.close()


def _default_chunk_frames(n_frames: int, workers: int, fps: Fraction) -> int:
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


class _Progress:
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
                # running thread rules out forking, see _fork_is_safe).
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


# Backends that draw off-screen; any other (a GUI toolkit) must not be shared with a forked child.
_HEADLESS_BACKENDS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template",
                      "module://matplotlib_inline.backend_inline", "inline"}


def _fork_is_safe() -> bool:
    """Whether local workers may be forked from this process instead of started afresh.

    Forking skips the new interpreter's start-up and its imports of numpy, matplotlib and the
    user's modules (about 0.7 s of CPU per worker here, which on a few cores is time taken from
    rendering). It is used only where it is known to be safe:

    - on Linux (macOS system libraries are not fork-safe);
    - with no other Python thread running (a lock another thread holds at the moment of the fork,
      such as the import lock, would stay locked in the child for ever: Jupyter kernels and Dask
      clients run threads, so they get fresh processes). tqdm's monitor thread is allowed: it
      only ever takes tqdm's own lock, which a worker never uses;
    - with no native threads but OpenBLAS's pool (numpy's), which re-creates itself in the child.
      Any other native thread pool, e.g. GNU OpenMP's once a parallel region has run, leaves a
      forked child hanging at its next parallel region;
    - with no matplotlib GUI toolkit in use (its windows and event loop must not be shared).
    """
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    others = [t for t in threading.enumerate() if t is not threading.current_thread()]
    if any(type(t).__module__ != "tqdm._monitor" for t in others):
        return False
    if not _native_threads_known(python_threads=1 + len(others)):
        return False
    mpl = sys.modules.get("matplotlib")
    if mpl is not None and "matplotlib.pyplot" in sys.modules:
        backend = _matplotlib_backend(mpl)
        if backend is not None and backend.lower() not in _HEADLESS_BACKENDS:
            return False
    return True


def _matplotlib_backend(mpl: Any) -> str | None:
    """The chosen matplotlib backend, or None if not chosen yet (then the worker chooses)."""
    get = getattr(mpl.rcParams, "_get_backend_or_none", None)
    if get is not None:
        return get()
    backend = dict.__getitem__(mpl.rcParams, "backend")  # older matplotlib: may be a sentinel
    return backend if isinstance(backend, str) else None


def _native_threads_known(python_threads: int) -> bool:
    """True if every OS thread of this process can be a Python thread or an OpenBLAS pool
    worker. The pool may be smaller than its size (OpenBLAS stops it before a fork and starts it
    again at its next call), hence a range."""
    try:
        os_threads = len(os.listdir("/proc/self/task"))
    except OSError:
        return False
    pool = _openblas_pool_threads()
    return python_threads <= os_threads <= python_threads + (pool or 0)


def _openblas_pool_threads() -> int | None:
    """Worker threads of the OpenBLAS libraries loaded (numpy's wheels bundle one): a pthreads
    build keeps num_threads - 1 of them. None if a library cannot be asked or is an OpenMP build
    (whose threads do not survive a fork): then no thread is taken for OpenBLAS's."""
    import ctypes

    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line}
    except OSError:
        return None
    total = 0
    for path in paths:
        try:
            lib = ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | os.RTLD_LAZY)
        except OSError:
            return None
        # Symbol names differ between builds: scipy-openblas (numpy's wheels) adds a prefix,
        # 64-bit-integer builds a suffix.
        names = [(f"{pre}openblas_get_num_threads{suf}", f"{pre}openblas_get_parallel{suf}")
                 for pre in ("scipy_", "") for suf in ("64_", "")]
        found = next(((getattr(lib, t), getattr(lib, p)) for t, p in names if hasattr(lib, t) and hasattr(lib, p)),
                     None)
        if found is None:
            return None
        get_threads, get_parallel = found
        parallel = get_parallel()  # 0: single-threaded build, 1: pthreads pool, 2: OpenMP
        if parallel not in (0, 1):
            return None
        if parallel == 1:
            total += max(0, get_threads() - 1)
    return total


@contextlib.contextmanager
def _sigint_deferred():
    """Hold back Ctrl-C while workers are forked: a KeyboardInterrupt raised inside os.fork()'s
    at-fork hooks is swallowed by CPython ("Exception ignored in ..."), and one raised between
    the fork and the worker's registration would orphan the child. The interrupt is raised once
    the block is done."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught and callable(previous):
            previous(signal.SIGINT, None)  # Python's default handler raises KeyboardInterrupt
        elif caught and previous == signal.SIG_DFL:
            raise KeyboardInterrupt


class _ForkedProcess:
    """The parts of ``subprocess.Popen`` used here, for a forked child."""

    def __init__(self, pid: int) -> None:
        self.pid, self.returncode = pid, None

    def _waitpid(self, flags: int) -> None:
        try:
            pid, status = os.waitpid(self.pid, flags)
        except ChildProcessError:
            # Reaped elsewhere (SIGCHLD ignored, or a handler reaping all children): its status
            # is gone. Like subprocess.Popen, call it exit code 0.
            self.returncode = 0
            return
        if pid:
            self.returncode = os.waitstatus_to_exitcode(status)

    def poll(self) -> int | None:
        if self.returncode is None:
            self._waitpid(os.WNOHANG)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if timeout is None:
            if self.returncode is None:
                self._waitpid(0)
            return self.returncode
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout)
            time.sleep(0.01)
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


# The parent's ends of every live local worker's pipes, so a newly forked worker can close its
# copies of them (otherwise a sibling holding a pipe open would hide a worker's death).
_LIVE_WORKERS: "weakref.WeakSet[_Worker]" = weakref.WeakSet()


class _Worker:
    """A local worker process and its two pipes: forked from this process when
    :func:`_fork_is_safe` (fast start), else a fresh ``python -m framepipe._worker``."""

    def __init__(self, fork: bool) -> None:
        r_task, w_task = os.pipe()
        r_res, w_res = os.pipe()
        try:
            self._start(fork, r_task, w_task, r_res, w_res)
        except BaseException:
            for fd in (r_task, w_task, r_res, w_res):
                with contextlib.suppress(OSError):
                    os.close(fd)
            raise
        os.close(r_task)
        os.close(w_res)
        self.tasks = Connection(w_task, readable=False)
        self.results = Connection(r_res, writable=False)
        self.chunk: int | None = None
        self.task: tuple[int, int, int] | None = None
        _LIVE_WORKERS.add(self)

    def _start(self, fork: bool, r_task: int, w_task: int, r_res: int, w_res: int) -> None:
        if fork:
            self.proc = self._fork(r_task, w_task, r_res, w_res)
        else:
            env = dict(os.environ)
            # The worker must import the same framepipe as the parent.
            pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            env["PYTHONPATH"] = os.pathsep.join([pkg_parent, *sys.path])
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "framepipe._worker", str(r_task), str(w_res)],
                pass_fds=(r_task, w_res), stdin=subprocess.DEVNULL, env=env,
                start_new_session=True,  # Ctrl-C reaches the parent only; it stops the workers
            )

    @staticmethod
    def _fork(r_task: int, w_task: int, r_res: int, w_res: int) -> _ForkedProcess:
        # Imported here, not at the top: `python -m framepipe._worker` (the spawn path) must not
        # find the module imported already by the package.
        from ._worker import flush_std_streams, serve

        flush_std_streams()  # or the child would print the parent's buffered output again
        with warnings.catch_warnings():
            # Python >= 3.12 warns about fork() whenever the process has more than one OS thread,
            # which numpy's OpenBLAS pool alone makes true. Such native pools re-create their
            # threads after a fork (pthread_atfork); the hazard the warning is about, another
            # Python thread holding a lock, is ruled out by _fork_is_safe().
            warnings.filterwarnings("ignore", r"This process .* is multi-threaded, use of fork\(\)",
                                    DeprecationWarning)
            pid = os.fork()
        if pid:
            return _ForkedProcess(pid)

        def prepare() -> None:  # in the child: what a fresh `python -m framepipe._worker` has
            os.setsid()  # like start_new_session: Ctrl-C reaches the parent only
            os.close(w_task)
            os.close(r_res)
            for sibling in list(_LIVE_WORKERS):
                sibling.tasks.close()
                sibling.results.close()
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.close(devnull)
            np_mod = sys.modules.get("numpy")
            if np_mod is not None:
                np_mod.random.seed()  # fresh entropy, as a new process would have

        serve(r_task, w_res, prepare)  # never returns

    def stop(self, kill: bool = False) -> None:
        _LIVE_WORKERS.discard(self)
        try:
            if kill:
                self.proc.kill()
            else:
                self.tasks.send(None)
        except (OSError, ValueError):
            pass
        for c in (self.tasks, self.results):
            try:
                c.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _executor_slots(executor: Executor) -> int:
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


def _take_result(msg: tuple, done: dict) -> int:
    """Keep a chunk's result (or a refused frame's error) for appending in order; returns the
    chunk. A failure of make_frame is raised at once."""
    if msg[0] == "error":
        if msg[5] == "render":
            _raise_worker_error(msg)
        done[msg[1]] = ("error", msg, msg[6])
    else:
        _, c, data, _, shape = msg
        done[c] = ("done", data, shape)
    return msg[1]


def _deliver(append: Callable, c: int, entry: tuple) -> None:
    """Append chunk c in order: its frames, or, for a chunk that stopped at a refused frame, the
    check of its first frame (an earlier frame unlike frame 0 is the one to report) and then
    that error, so the frame reported is the first refused one, as with one writer."""
    kind, payload, shape = entry
    append(c, payload if kind == "done" else None, shape)
    if kind == "error":
        _raise_worker_error(payload)


def _raise_worker_error(msg: tuple) -> None:
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
        # The frame was refused (NaN, a shape unlike the first frame's): the same error a
        # VideoWriter raises, numbered in the whole video, as with workers=1.
        raise cause
    err = RenderError(
        f"rendering frame {frame} failed in a worker: {type(cause).__name__ if cause else 'error'}"
        f"{': ' + str(cause) if cause else ''}\n\nWorker traceback:\n{tb}",
        frame=frame,
        worker_traceback=tb,
    )
    raise err from cause


def render(
    make_frame: Callable[..., Any],
    path: str | os.PathLike[str],
    n_frames: int | None = None,
    fps: FpsLike = 30,
    *,
    duration: float | Fraction | None = None,
    workers: int | None = None,
    executor: Executor | None = None,
    setup: Callable[[], Any] | None = None,
    chunk_frames: int | None = None,
    progress: bool | None = None,
    progress_callback: Callable[[int, int], None] | None = None,
    start_method: str | None = None,
    **encode_options: Any,
) -> VideoResult:
    """Render ``make_frame(i)`` for every frame, in parallel, into one video.

    Args:
        make_frame: returns frame ``i`` (anything ``VideoWriter.write`` accepts). With
            ``duration=`` instead of ``n_frames`` it receives ``t = i / fps`` in seconds
            (computed exactly from the integer index). With ``setup``, it is called as
            ``make_frame(i, state)``.
        path: the output file (.mp4, or .gif when GIF output is available).
        n_frames: how many frames.
        fps: frame rate (int, float, Fraction or "num/den").
        duration: length in seconds, instead of ``n_frames`` (n_frames = round(duration * fps)).
        workers: worker processes (default: all cores; with ``executor``, the executor's size:
            a Dask cluster's total threads). ``workers=1`` renders in this process with no
            pickling.
        executor: any ``concurrent.futures.Executor`` to run the chunks on instead of local
            processes, e.g. ``dask.distributed.Client(...).get_executor()``. Functions and
            closures are shipped with cloudpickle; chunks come back as encoded bytes, so no
            shared filesystem is needed; framepipe must be installed on the workers.
        setup: run once per worker; its result is passed to ``make_frame(i, state)`` — build a
            figure or load data once per worker, not per frame.
        chunk_frames: frames per chunk (default: see ``_default_chunk_frames``).
        progress: show a tqdm bar (default: when stderr is a terminal and tqdm is installed).
        progress_callback: called as ``progress_callback(frames_done, n_frames)``.
        start_method: how local worker processes start: ``"fork"`` (a copy of this process:
            no interpreter start-up, no re-imports; Linux only), ``"spawn"`` (a fresh
            ``python -m framepipe._worker``), or None (the default): fork where that is safe
            (Linux, no other Python thread running, no matplotlib GUI backend in use), else
            spawn. Either way scripts need no ``if __name__ == "__main__"`` guard.
        encode_options: as for :class:`VideoWriter` (crf, preset, tune, keyint, threads, ...).
            Workers encode with ``threads=1`` unless ``threads`` is given, since the cores are
            busy rendering.

    Raises:
        RenderError: ``make_frame`` raised (with the frame index and the worker's traceback), or
            a worker process died twice on the same chunk.
    """
    fps_frac = Fraction(*_fps_pair(fps))
    if (n_frames is None) == (duration is None):
        raise ParameterError("give exactly one of n_frames and duration")
    use_time = duration is not None
    if use_time:
        if isinstance(duration, bool) or not isinstance(duration, (int, float, Fraction)) or not (
                math.isfinite(duration) and duration > 0):
            raise ParameterError(f"duration must be a positive, finite number of seconds, got {duration!r}")
        n_frames = round(Fraction(duration) * fps_frac)
        if n_frames < 1:
            raise ParameterError(f"duration {duration} s at {fps_frac} fps is less than one frame")
    if not isinstance(n_frames, int) or isinstance(n_frames, bool) or n_frames < 1:
        raise ParameterError(f"n_frames must be a positive integer, got {n_frames!r}")
    if workers is None:
        workers = _executor_slots(executor) if executor is not None else (os.cpu_count() or 1)
    if not isinstance(workers, int) or workers < 1:
        raise ParameterError(f"workers must be a positive integer, got {workers!r}")
    if start_method not in (None, "fork", "spawn"):
        raise ParameterError(f"start_method must be 'fork', 'spawn' or None, got {start_method!r}")
    if start_method == "fork" and not hasattr(os, "fork"):
        raise ParameterError("start_method='fork' is not available on this platform")
    path = os.fsdecode(path)
    # Encoder options are checked here, before anything is rendered (a worker would report
    # them as a failure of make_frame), with the same rules as for a VideoWriter.
    fmt = _output_format(path, encode_options.get("format"))
    VideoWriter(None, fps_frac, **{**encode_options, "format": fmt})  # checks them; writes nothing
    is_gif = fmt == "gif"

    if workers == 1 and executor is None:
        return _render_serial(make_frame, path, n_frames, fps_frac, use_time, setup, progress,
                              progress_callback, encode_options)

    import cloudpickle

    payload = cloudpickle.dumps((make_frame, setup, use_time, (fps_frac.numerator, fps_frac.denominator)))
    if chunk_frames is None:
        chunk_frames = _default_chunk_frames(n_frames, workers, fps_frac)
        if is_gif:
            # GIF chunks come back as raw frames, which the parent holds until it encodes them
            # (up to workers + 1 chunks): short chunks keep that small (a GIF chunk has no
            # keyframe or lookahead to pay for). 32 frames of 1280x720 are 88 MB.
            chunk_frames = min(chunk_frames, 32)
    if not isinstance(chunk_frames, int) or chunk_frames < 1:
        raise ParameterError(f"chunk_frames must be a positive integer, got {chunk_frames!r}")
    chunks = [(c, s, min(s + chunk_frames, n_frames)) for c, s in enumerate(range(0, n_frames, chunk_frames))]
    enc = dict(encode_options)
    enc.setdefault("threads", 1)
    # Identical settings in every chunk, and a full keyframe interval inside each.
    options = {"fps": f"{fps_frac.numerator}/{fps_frac.denominator}", "encode": enc, "raw": is_gif}

    # Decided before the progress bar exists (tqdm may start a thread).
    fork = executor is None and (_fork_is_safe() if start_method is None else start_method == "fork")
    prog = _Progress(n_frames, progress, progress_callback)
    sink: Any = None
    try:
        with _atomic_output(path) as tmp:
            try:
                if is_gif:
                    # GIF chunks are not joined by the engine: workers render raw frames in
                    # parallel and this process encodes them in order (GIF encoding is cheap next
                    # to rendering), so its writer checks every frame against frame 0. The
                    # temporary name has no .gif suffix: say the format.
                    sink = VideoWriter(tmp, fps_frac, **{**encode_options, "format": "gif"})

                    def append(c: int, frames: list | None, shape: tuple | None) -> None:
                        for f in frames or ():
                            sink.write(f)
                else:
                    sink = _native.Concat(tmp, metadata=_metadata_pairs(encode_options.get("metadata")))
                    first_shape: list[tuple] = []

                    def append(c: int, data: bytes | None, shape: tuple | None) -> None:
                        # Each chunk's writer held its frames to its own first frame; hold each
                        # chunk's first frame to frame 0, as one VideoWriter would.
                        if shape is None:
                            return
                        if first_shape and shape != first_shape[0]:
                            raise ParameterError(
                                f"frame {chunks[c][1]} has shape {shape}, but frame 0 had shape {first_shape[0]}; "
                                f"every frame must have the first frame's size and channel count"
                            )
                        if not first_shape:
                            first_shape.append(shape)
                        if data is not None:
                            sink.append(data)
                if executor is not None:
                    _run_executor(executor, workers, payload, chunks, options, append, prog)
                else:
                    _run_local(fork, workers, payload, chunks, options, append, prog)
                if is_gif:
                    res = sink.close()
                    frames, size, dims = res.frames, res.bytes, (res.width, res.height)
                else:
                    frames = sink.close()
                    size = os.path.getsize(tmp)
                sink = None
            except BaseException:
                _close_quietly(sink)
                raise
    finally:
        prog.close()
    if not is_gif:
        info = _native.probe(path)
        dims = (info["width"], info["height"])
    return VideoResult(path=path, frames=frames, bytes=size, width=dims[0], height=dims[1], fps=fps_frac,
                       format="gif" if is_gif else "mp4")


def _render_serial(make_frame, path, n_frames, fps, use_time, setup, progress, callback, options) -> VideoResult:
    """workers=1: everything in this process, no pickling; still written under a temporary
    name and renamed when complete."""
    fmt = options.pop("format", None)
    if fmt is None and path.lower().endswith(".gif"):
        fmt = "gif"
    if fmt is not None:
        options["format"] = fmt  # the temporary name has no .gif suffix
    prog = _Progress(n_frames, progress, callback)
    w = None
    try:
        with _atomic_output(path) as tmp:
            try:
                state = setup() if setup is not None else None
                w = VideoWriter(tmp, fps, **options)
                for i in range(n_frames):
                    try:
                        frame = call_make_frame(make_frame, setup is not None, state, i, use_time, fps)
                    except Exception as e:
                        raise RenderError(f"rendering frame {i} failed: {type(e).__name__}: {e}", frame=i) from e
                    w.write(frame)
                    prog.update(0, i + 1)
                res = w.close()
            except BaseException:
                _close_quietly(w)
                raise
    finally:
        prog.close()
    return VideoResult(path=path, frames=res.frames, bytes=res.bytes, width=res.width, height=res.height, fps=fps,
                       format=res.format)


def _run_local(fork: bool, workers, payload, chunks, options, append, prog) -> None:
    """Run the chunks on local worker processes (forked, or fresh interpreters). A worker that
    dies has its chunk retried once on a fresh worker; a second death raises. At most
    workers + 1 chunks are in flight or waiting to be appended, which bounds memory."""
    n_workers = min(workers, len(chunks))
    pool: list[_Worker] = []
    pending = deque(chunks)
    attempts: dict[int, int] = {}
    done: dict[int, Any] = {}
    next_append = 0
    try:
        with _sigint_deferred():
            for _ in range(n_workers):
                pool.append(_Worker(fork))
        while next_append < len(chunks):
            for w in pool:
                if w.chunk is None and pending and pending[0][0] < next_append + workers + 1:
                    c, s, e = pending.popleft()
                    w.chunk = c
                    w.task = (c, s, e)
                    w.tasks.send((payload, c, s, e, options))
            busy = [w for w in pool if w.chunk is not None]
            ready = wait([w.results for w in busy])
            for w in busy:
                if w.results not in ready:
                    continue
                try:
                    msg = w.results.recv()
                except (EOFError, OSError):
                    msg = None
                if msg is None:  # the worker died mid-chunk
                    code = w.proc.wait()
                    c, s, e = w.task
                    attempts[c] = attempts.get(c, 0) + 1
                    w.stop(kill=True)
                    with _sigint_deferred():
                        pool[pool.index(w)] = _Worker(fork)
                    if attempts[c] > 1:
                        raise RenderError(
                            f"a worker process died twice while rendering frames {s}..{e - 1} "
                            f"(exit code {code}); giving up", frame=s)
                    pending.appendleft((c, s, e))
                    continue
                if msg[0] == "progress":
                    prog.update(msg[1], msg[2])
                    continue
                c = _take_result(msg, done)
                if msg[0] == "done":
                    prog.update(c, msg[3])
                w.chunk = None
            while next_append in done:
                _deliver(append, next_append, done.pop(next_append))
                next_append += 1
    finally:
        for w in pool:
            w.stop(kill=next_append < len(chunks))


def _run_executor(executor: Executor, workers, payload, chunks, options, append, prog) -> None:
    """Run the chunks on a concurrent.futures Executor (e.g. Dask's): at most ``workers`` chunks
    submitted at a time, so an executor that queues tasks per worker (Dask does) cannot stack two
    chunks on one worker while another idles; and at most workers + 1 chunks in flight or waiting
    to be appended."""
    from concurrent.futures import FIRST_COMPLETED
    from concurrent.futures import wait as wait_futures

    pending = deque(chunks)
    inflight: dict[Future, int] = {}
    done: dict[int, Any] = {}
    next_append = 0
    try:
        while next_append < len(chunks):
            while pending and len(inflight) < workers and pending[0][0] < next_append + workers + 1:
                c, s, e = pending.popleft()
                inflight[executor.submit(run_chunk, payload, c, s, e, options)] = c
            finished, _ = wait_futures(list(inflight), return_when=FIRST_COMPLETED)
            for f in finished:
                inflight.pop(f)
                msg = f.result()
                c = _take_result(msg, done)
                if msg[0] == "done":
                    prog.update(c, msg[3])
            while next_append in done:
                _deliver(append, next_append, done.pop(next_append))
                next_append += 1
    finally:
        for f in inflight:
            f.cancel()


def _figure_of(state: Any) -> Any:
    """The matplotlib Figure in a make_figure() result: the Figure itself, the first Figure in a
    tuple/list (e.g. ``(fig, ax)``), or ``state.figure``."""
    if hasattr(state, "canvas") and hasattr(state, "savefig"):
        return state
    if isinstance(state, (tuple, list)):
        for s in state:
            if hasattr(s, "canvas") and hasattr(s, "savefig"):
                return s
    fig = getattr(state, "figure", None)
    if fig is not None:
        return fig
    raise ParameterError(
        f"make_figure() must return a matplotlib Figure, a tuple starting with one (e.g. (fig, ax)), "
        f"or an object with a .figure; got {type(state).__name__}")


def render_figures(
    make_figure: Callable[[], Any],
    update: Callable[[Any, Any], Any],
    frames: Any,
    path: str | os.PathLike[str],
    fps: FpsLike = 30,
    **options: Any,
) -> VideoResult:
    """Parallel rendering of a matplotlib animation (``framepipe.matplotlib.render``).

    Each worker builds its own figure once with ``make_figure()`` (a Figure, or e.g.
    ``(fig, ax, artists)``), then for each frame calls ``update(state, frame)`` and captures the
    figure. ``frames`` is an int (frames 0..n-1) or a sequence of per-frame values, as for
    ``FuncAnimation``. Other options are those of :func:`render` (workers, executor,
    chunk_frames, progress, encoder options).
    """
    values = list(range(frames)) if isinstance(frames, int) else list(frames)
    if not values:
        raise ParameterError("frames is empty")

    def setup():
        import matplotlib

        if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
            matplotlib.use("Agg")  # workers have no display
        return make_figure()

    def make_frame(i, state):
        update(state, values[i])
        return _figure_of(state)

    # Transparent figure parts over white, as matplotlib's writers and FramepipeWriter do.
    options.setdefault("background", (255, 255, 255))
    return render(make_frame, path, n_frames=len(values), fps=fps, setup=setup, **options)
