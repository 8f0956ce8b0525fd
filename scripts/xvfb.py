"""A virtual X display: Xvfb started on a display number nothing else uses, for what needs a
display without a screen (tests/test_preview.py's fixture, scripts/moviepy_suite.py's runs).

``with virtual_display() as display:`` gives ``":n"`` (set ``DISPLAY`` to it); the server is
stopped on leaving, and is sent SIGTERM if the process that started it dies first (Linux).
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

DEADLINE = 60.0  # seconds for Xvfb to start (normally well under one)


class XvfbError(RuntimeError):
    """Xvfb is missing, or did not start."""


def display_in_use(n: int) -> bool:
    """Whether X display :n has a server or a lock: its lock file, or its socket in the file
    system or in the abstract namespace (/proc/net/unix lists both, also those of servers in
    other sessions sharing this network namespace, whose /tmp may not be ours)."""
    if Path(f"/tmp/.X{n}-lock").exists() or Path(f"/tmp/.X11-unix/X{n}").exists():
        return True
    try:
        sockets = Path("/proc/net/unix").read_text(errors="replace")
    except OSError:
        return False
    return f"/tmp/.X11-unix/X{n}\n" in sockets


def _die_with_parent() -> None:
    """In the Xvfb child: SIGTERM when the starting process dies, so that no server is left behind."""
    import ctypes
    import signal

    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _read_line(fd: int, deadline: float) -> str:
    """A line from `fd` (to its end of file), waiting at most `deadline` seconds in all."""
    data, end = b"", time.monotonic() + deadline
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        chunk = os.read(fd, 64) if ready else b""
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()


def available() -> bool:
    return shutil.which("Xvfb") is not None


@contextlib.contextmanager
def virtual_display(screen: str = "640x480x24", deadline: float = DEADLINE) -> Iterator[str]:
    """Xvfb (black root window, -noreset: an X server resets when its last client leaves,
    refusing connections meanwhile) on the first free display number from 150; yields ":n"."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise XvfbError("Xvfb is not installed (Debian's xvfb; scripts/setup.sh installs it)")
    for n in (n for n in range(150, 400) if not display_in_use(n)):
        read, write = os.pipe()
        proc = subprocess.Popen(
            [xvfb, f":{n}", "-displayfd", str(write), "-screen", "0", screen] + ["-nolisten", "tcp", "-br", "-noreset"],
            pass_fds=[write],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        os.close(write)
        number = _read_line(read, deadline)  # Xvfb writes "n\n" once it listens (and fails if it cannot)
        if number == str(n):
            break
        os.close(read)
        proc.kill()
        err = proc.communicate()[1].decode(errors="replace")
        if proc.returncode is None or "already" not in err:  # not a race for the number: a failure
            raise XvfbError(f"Xvfb :{n} did not start within {deadline:g} s: {err[-2000:]}")
    else:
        raise XvfbError("no free X display number in 150-399")
    try:
        yield f":{n}"
    finally:
        proc.terminate()
        proc.wait(timeout=deadline)
        if proc.stderr is not None:
            proc.stderr.close()
        os.close(read)
