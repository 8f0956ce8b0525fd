"""The worker process of :func:`framepipe.render` (``python -m framepipe._render.worker R W``).

It is started as a plain subprocess, or forked from the caller where that is safe (see
``pool.fork_is_safe``), never through ``multiprocessing``: the user's ``__main__`` is never
re-imported (scripts without an ``if __name__ == "__main__"`` guard work), and Ctrl-C in the
terminal reaches only the parent, which stops the workers itself. It reads tasks from the pipe
``R`` and answers on ``W``; it exits when the parent closes its end or sends None.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import NoReturn

from .task import run_chunk


def main(read_fd: int, write_fd: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    inbox = Connection(read_fd, writable=False)
    outbox = Connection(write_fd, readable=False)
    while True:
        try:
            task = inbox.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if task is None:
            return
        payload, chunk, start, stop, options = task

        def progress(done: int, chunk=chunk) -> None:
            outbox.send(("progress", chunk, done))

        result = run_chunk(payload, chunk, start, stop, options, progress)
        try:
            outbox.send(result)
        except OSError:  # BrokenPipeError: the parent is gone (killed): nothing to say, leave
            return


def flush_std_streams() -> None:
    """Flush stdout and stderr (os._exit skips it, and a forked child would print a copy of
    what the parent had buffered)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed or broken stream has nothing to keep
            pass


def serve(read_fd: int, write_fd: int, prepare: Callable[[], None] | None = None) -> NoReturn:
    """A worker process's whole life: `prepare()`, then :func:`main`; an exception is printed
    (the parent sees the worker die); then flush and leave with ``os._exit``, never returning
    into the code that started the process (a forked child shares the caller's stack)."""
    code = 0
    try:
        if prepare is not None:
            prepare()
        main(read_fd, write_fd)
    except BaseException:  # noqa: BLE001 - say why, then leave
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        flush_std_streams()
        os._exit(code)


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
