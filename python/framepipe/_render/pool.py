"""Local worker processes for :func:`framepipe.render`: when forking is safe, the processes
themselves (forked, or a fresh ``python -m framepipe._render.worker``), and running chunks on them with
one retry for a worker that dies."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
import weakref
from multiprocessing.connection import Connection, wait
from typing import Any

from ..errors import RenderError
from .schedule import OrderedResults
from .task import STOPPED, Terminated

# Backends that draw off-screen; any other (a GUI toolkit) must not be shared with a forked child.
_HEADLESS_BACKENDS = {
    "agg",
    "cairo",
    "pdf",
    "pgf",
    "ps",
    "svg",
    "template",
    "module://matplotlib_inline.backend_inline",
    "inline",
}


def fork_is_safe() -> bool:
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
        names = [
            (f"{pre}openblas_get_num_threads{suf}", f"{pre}openblas_get_parallel{suf}")
            for pre in ("scipy_", "")
            for suf in ("64_", "")
        ]
        found = next(
            ((getattr(lib, t), getattr(lib, p)) for t, p in names if hasattr(lib, t) and hasattr(lib, p)), None
        )
        if found is None:
            return None
        get_threads, get_parallel = found
        parallel = get_parallel()  # 0: single-threaded build, 1: pthreads pool, 2: OpenMP
        if parallel not in (0, 1):
            return None
        if parallel == 1:
            total += max(0, get_threads() - 1)
    return total


# The signals that stop a render: Ctrl-C, kill's default and a terminal hang-up.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def signals_deferred():
    """Hold back SIGINT, SIGTERM and SIGHUP while the block runs (workers being forked or
    started, workers being stopped, a temporary file being made or removed): an exception
    raised inside os.fork()'s at-fork hooks is printed and dropped by CPython ("Exception
    ignored in ..."), so the render would go on; one raised between a fork and the worker's
    registration would orphan the child. The first signal held back is raised again once the
    block is done, to whatever handles it then."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        caught.append(signum)

    previous = {}
    try:
        for s in STOP_SIGNALS:
            if signal.getsignal(s) is not None:  # None: a handler set outside Python; left alone
                previous[s] = signal.signal(s, hold)
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if caught:
            signal.raise_signal(caught[0])  # handled now, as if it had just arrived


@contextlib.contextmanager
def signals_unwind():
    """While the block runs, SIGINT, SIGTERM and SIGHUP stop it by an exception that unwinds it,
    so that `finally` blocks clean up (temporary files removed, workers stopped): SIGINT raises
    KeyboardInterrupt, as Python's default handler does; SIGTERM and SIGHUP raise
    :class:`Terminated`, and once the block is left the signal is sent again with the default
    disposition, so the process ends by it as it would have (exit status 143 or 129 in a
    shell). Further stop signals during the clean-up are ignored. A stop that some code
    swallowed is raised again by ``check_stop()`` (called at every frame and chunk), and at the
    latest when the block is left. Only in the main thread, and only for signals whose handler
    is Python's default (a handler of the caller's own is left to do its job)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    defaults = {
        signal.SIGINT: signal.default_int_handler,
        signal.SIGTERM: signal.SIG_DFL,
        signal.SIGHUP: signal.SIG_DFL,
    }
    mine = {s: h for s, h in defaults.items() if signal.getsignal(s) is h}
    if not mine:
        yield
        return

    late: list[int] = []  # arrived while the handlers are being put back

    def on_signal(signum: int, frame: Any) -> None:
        if STOPPED:
            return  # stopping already: the clean-up must not be cut short
        if late:
            late.append(signum)
            return
        STOPPED.append(signum)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(signum)

    STOPPED.clear()
    failed = False
    try:
        for s in mine:
            signal.signal(s, on_signal)
        yield
    except BaseException:
        failed = True
        raise
    finally:
        # Blocked while the handlers are put back: a signal now waits, and is then handled as
        # it would have been before the render (SIGTERM and SIGHUP end the process).
        late.append(0)
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            stopped = STOPPED[0] if STOPPED else None
            STOPPED.clear()
            for s, handler in mine.items():
                signal.signal(s, handler)
            if stopped is not None and stopped != signal.SIGINT:
                signal.signal(stopped, signal.SIG_DFL)
                os.kill(os.getpid(), stopped)  # pending until unblocked below: it ends the process
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if stopped == signal.SIGINT and not failed:
            raise KeyboardInterrupt  # swallowed on the way and never raised again
        if stopped is None and late[1:]:
            signal.raise_signal(late[1])  # handled as it is outside a render


class ForkedProcess:
    """The parts of ``subprocess.Popen`` used here, for a forked child."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

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
            while self.returncode is None:
                self._waitpid(0)  # sets it (a blocking wait returns only once the child ended)
            return self.returncode
        deadline = time.monotonic() + timeout
        code = self.poll()
        while code is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout)
            time.sleep(0.01)
            code = self.poll()
        return code

    def kill(self) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


# The parent's ends of every live local worker's pipes, so a newly forked worker can close its
# copies of them (otherwise a sibling holding a pipe open would hide a worker's death).
_LIVE_WORKERS: weakref.WeakSet[Worker] = weakref.WeakSet()


class Worker:
    """A local worker process and its two pipes: forked from this process when
    :func:`fork_is_safe` (fast start), else a fresh ``python -m framepipe._render.worker``."""

    proc: ForkedProcess | subprocess.Popen[bytes]

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
        self.task: tuple[int, int, int] | None = None  # (chunk, start, stop) being rendered
        _LIVE_WORKERS.add(self)

    def _start(self, fork: bool, r_task: int, w_task: int, r_res: int, w_res: int) -> None:
        if fork:
            self.proc = self._fork(r_task, w_task, r_res, w_res)
        else:
            env = dict(os.environ)
            # The worker must import the same framepipe as the parent: the folder that holds the
            # package (this file is framepipe/_render/pool.py).
            here = os.path.abspath(__file__)
            pkg_parent = os.path.dirname(os.path.dirname(os.path.dirname(here)))
            env["PYTHONPATH"] = os.pathsep.join([pkg_parent, *sys.path])
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "framepipe._render.worker", str(r_task), str(w_res)],
                pass_fds=(r_task, w_res),
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # Ctrl-C reaches the parent only; it stops the workers
            )

    @staticmethod
    def _fork(r_task: int, w_task: int, r_res: int, w_res: int) -> ForkedProcess:
        # Imported here, not at the top: `python -m framepipe._render.worker` (the spawn path) must not
        # find the module imported already by the package.
        from .worker import flush_std_streams, serve

        flush_std_streams()  # or the child would print the parent's buffered output again
        with warnings.catch_warnings():
            # Python >= 3.12 warns about fork() whenever the process has more than one OS thread,
            # which numpy's OpenBLAS pool alone makes true. Such native pools re-create their
            # threads after a fork (pthread_atfork); the hazard the warning is about, another
            # Python thread holding a lock, is ruled out by fork_is_safe().
            warnings.filterwarnings("ignore", r"This process .* is multi-threaded, use of fork\(\)", DeprecationWarning)
            pid = os.fork()
        if pid:
            return ForkedProcess(pid)

        def prepare() -> None:  # in the child: what a fresh `python -m framepipe._render.worker` has
            os.setsid()  # like start_new_session: Ctrl-C reaches the parent only
            # The parent's handlers (holding signals back, or unwinding its render) are not the
            # worker's: like a fresh `python -m framepipe._render.worker`, SIGTERM and SIGHUP end it
            # quietly and Ctrl-C is the parent's business.
            STOPPED.clear()
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGHUP, signal.SIG_DFL)
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


def run_local(fork: bool, workers: int, payload: bytes, options: dict, results: OrderedResults) -> None:
    """Run the chunks on local worker processes (forked, or fresh interpreters), in the order
    and within the window ``results`` allows. A worker that dies has its chunk retried once on a
    fresh worker; a second death raises."""
    pool: list[Worker] = []
    attempts: dict[int, int] = {}
    try:
        with signals_deferred():
            for _ in range(min(workers, results.total)):
                pool.append(Worker(fork))
        while not results.complete:
            for w in pool:
                if w.task is None and results.can_start():
                    w.task = results.start()
                    c, s, e = w.task
                    w.tasks.send((payload, c, s, e, options))
            busy = [(w, w.task) for w in pool if w.task is not None]
            ready = wait([w.results for w, _ in busy])
            for w, task in busy:
                if w.results not in ready:
                    continue
                try:
                    msg = w.results.recv()
                except (EOFError, OSError):
                    msg = None
                if msg is None:  # the worker died mid-chunk
                    code = w.proc.wait()
                    c, s, e = task
                    attempts[c] = attempts.get(c, 0) + 1
                    w.stop(kill=True)
                    with signals_deferred():
                        pool[pool.index(w)] = Worker(fork)
                    if attempts[c] > 1:
                        raise RenderError(
                            f"a worker process died twice while rendering frames {s}..{e - 1} "
                            f"(exit code {code}); giving up",
                            frame=s,
                        )
                    results.put_back((c, s, e))
                    continue
                if results.take(msg):
                    w.task = None
    finally:
        with signals_deferred():  # a stop signal now must not leave a worker running
            for w in pool:
                w.stop(kill=not results.complete)
