"""The worker process of :func:`framepipe.render` (``python -m framepipe._worker R W``).

It is started as a plain subprocess, or forked from the caller where that is safe (see
``render._fork_is_safe``), never through ``multiprocessing``: the user's ``__main__`` is never
re-imported (scripts without an ``if __name__ == "__main__"`` guard work), and Ctrl-C in the
terminal reaches only the parent, which stops the workers itself. It reads tasks from the pipe
``R`` and answers on ``W``; it exits when the parent closes its end or sends None.
"""

from __future__ import annotations

import os
import signal
import sys
from multiprocessing.connection import Connection

from ._render_task import run_chunk


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

        outbox.send(run_chunk(payload, chunk, start, stop, options, progress))


if __name__ == "__main__":
    code = 0
    try:
        main(int(sys.argv[1]), int(sys.argv[2]))
    except BaseException:  # noqa: BLE001 - say why, then leave; the parent sees the death
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):  # what make_frame printed (os._exit skips it)
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(code)
